// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the codec and the file service: each input is a
 * policy byte and a short sequence of requests (slot bytes as a guest
 * would write them, plus input bytes), served by xsh_dispatch() on a fresh
 * session over a scratch export.  Layout: tests/fuzz/harness.h.
 *
 * The harness plays a guest that is mostly well-behaved, so that the fuzzer
 * gets deep: by default it places each payload in the data area and fills
 * buf_off/buf_len/in_len to match, and it can substitute node ids and file
 * handles that earlier responses returned.  Record flags turn each of
 * those helps off, so out-of-bounds buffers and forged ids are reached too.
 *
 * Besides the sanitizers, it checks after every request that:
 *   - a buffer outside the data area was refused as a protocol error;
 *   - nothing in the data area outside the request's buffer was written;
 *   - the response passes the frontend's own check (id, errno range,
 *     out_len <= buf_len) and directory records parse;
 * and after every input that no fd leaked and that nothing outside the
 * export changed (a sentinel directory next to it, reachable by symlinks
 * from inside; the export's parent; /etc).
 *
 * Safety: when it can (root), the harness moves into a private mount
 * namespace, mounts a size-limited nodev,nosuid tmpfs as its scratch
 * directory and makes /etc read-only there, so a path escape found by the
 * fuzzer lands in the sentinel instead of the host.  Without that, device
 * nodes are never allowed by the policy.  File offsets and sizes of writes
 * are clamped (XSH_FZ_FILE_CAP) and the export is rebuilt before any input
 * that follows one which may have changed it, so each input starts from the
 * same tree and a crash reproduces on its own.
 *
 * Trust: the input bytes are hostile by design; the export tree is the
 * harness's own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "backend/service/service.h"
#include "protocol/codec.h"
#include "harness.h"

#define MAX_IDS		32u
#define PATTERN		0xa5
#define OFF_MAX		((uint64_t)INT64_MAX)

static char base[256];		/* scratch root: export/ outside/ state/ */
static pid_t owner;		/* the process that made it removes it */
static char export_path[300];
static char dirty_path[300];
static bool trace;		/* XSH_FUZZ_TRACE=1: log every request */
static bool protected_ns;	/* private nodev tmpfs + read-only /etc */
static bool etc_ro;

struct canary {
	const char *what;
	char path[300];
	struct stat st;
};
static struct canary canaries[4];
static unsigned nr_canaries;

static uint8_t payload[XSH_FZ_DATA_BYTES];

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						      noreturn));

static void cleanup(void);

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_dispatch: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cleanup();
	abort();
}

/* ---- the scratch tree ---------------------------------------------------- */

static void write_file(int at, const char *name, const char *text,
		       size_t len)
{
	int fd = openat(at, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0644);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		die("cannot create %s", name);
	close(fd);
}

static void make_socket(const char *dir, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir,
			     name) < sizeof(sa.sun_path))
		(void)bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
}

/* The export every input starts from. */
static void build_export(void)
{
	static char big[8192];
	char target[400];
	int fd, dfd;
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	if (mkdir(export_path, 0755))
		die("mkdir %s", export_path);
	fd = open(export_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die("open %s", export_path);
	write_file(fd, "file", big, sizeof(big));
	(void)fsetxattr(fd, "user.seed", "v1", 2, 0);
	dfd = openat(fd, "file", O_RDONLY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsetxattr(dfd, "user.seed", "value", 5, 0);
		close(dfd);
	}
	write_file(fd, "empty", "", 0);
	if (mkdirat(fd, "dir", 0755) || mkdirat(fd, "dir/sub", 0700))
		die("mkdir in %s", export_path);
	write_file(fd, "dir/inner", "inner\n", 6);
	(void)symlinkat("file", fd, "link");
	(void)symlinkat("dir", fd, "dirlink");
	(void)symlinkat("../outside", fd, "escape");
	snprintf(target, sizeof(target), "%s/outside", base);
	(void)symlinkat(target, fd, "abs");
	if (etc_ro)
		(void)symlinkat("/etc", fd, "etc");
	(void)mkfifoat(fd, "fifo", 0644);
	(void)linkat(fd, "file", fd, "hard", 0);
	close(fd);
	make_socket(export_path, "sock");
}

static void rm_at(int at, const char *name)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW))
		return;
	if (!S_ISDIR(st.st_mode)) {
		(void)unlinkat(at, name, 0);
		return;
	}
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			rm_at(dirfd(d), de->d_name);
	closedir(d);
	(void)unlinkat(at, name, AT_REMOVEDIR);
}

static void canary_add(const char *what, const char *path)
{
	struct canary *c = &canaries[nr_canaries++];

	c->what = what;
	snprintf(c->path, sizeof(c->path), "%s", path);
	if (lstat(c->path, &c->st))
		die("cannot stat %s", c->path);
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_mode == b->st_mode &&
	       a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       a->st_nlink == b->st_nlink && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The scratch root changes when the export is rebuilt, possibly in
 * another process (the replay driver forks): check what it holds. */
static void check_root(void)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(base, &st) || st.st_mode != canaries[0].st.st_mode ||
	    st.st_uid != canaries[0].st.st_uid ||
	    st.st_gid != canaries[0].st.st_gid)
		die("ESCAPE: %s changed", base);
	d = opendir(base);
	if (!d)
		die("cannot open %s", base);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "export") &&
		    strcmp(de->d_name, "outside") &&
		    strcmp(de->d_name, "state"))
			die("ESCAPE: %s/%s appeared next to the export", base,
			    de->d_name);
	closedir(d);
}

static void check_canaries(void)
{
	struct stat st;
	unsigned i;

	check_root();
	for (i = 1; i < nr_canaries; i++) {
		if (lstat(canaries[i].path, &st) ||
		    !same_stat(&st, &canaries[i].st))
			die("ESCAPE: %s changed outside the export",
			    canaries[i].path);
	}
}

/* Rebuild the export if the last input may have changed it. */
static void reset_if_dirty(void)
{
	int fd;

	if (access(dirty_path, F_OK))
		return;
	fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die("open %s", base);
	rm_at(fd, "export");
	close(fd);
	build_export();
	if (unlink(dirty_path))
		die("unlink %s", dirty_path);
}

static void mark_dirty(void)
{
	int fd = open(dirty_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		die("cannot create %s", dirty_path);
	close(fd);
}

static void cleanup(void)
{
	int fd;

	if (!base[0] || getpid() != owner)
		return;
	if (protected_ns)
		(void)umount2(base, MNT_DETACH);
	fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		rm_at(fd, "export");
		rm_at(fd, "outside");
		rm_at(fd, "state");
		close(fd);
	}
	(void)rmdir(base);
	base[0] = '\0';
}

/* Private mount namespace: the scratch directory becomes a small nodev
 * tmpfs and /etc read-only.  Needs root; the harness works without. */
static void protect(void)
{
	if (unshare(CLONE_NEWNS))
		return;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return;
	if (mount("xs-fuzz", base, "tmpfs", MS_NODEV | MS_NOSUID | MS_NOEXEC,
		  "size=256m,nr_inodes=20000,mode=0755"))
		return;
	protected_ns = true;
	if (mount("/etc", "/etc", NULL, MS_BIND | MS_REC, NULL) == 0 &&
	    mount(NULL, "/etc", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) ==
		    0)
		etc_ro = true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("XS_FUZZ_TMPDIR");
	char path[300];
	int rc;

	if (!tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(base, sizeof(base), "%s/xs-fuzz.XXXXXX", tmp);
	if (!mkdtemp(base))
		die("mkdtemp in %s", tmp);
	owner = getpid();
	protect();
	atexit(cleanup);
	snprintf(export_path, sizeof(export_path), "%s/export", base);
	snprintf(path, sizeof(path), "%s/state", base);
	if (mkdir(path, 0700))
		die("mkdir %s", path);
	snprintf(dirty_path, sizeof(dirty_path), "%s/state/dirty", base);
	snprintf(path, sizeof(path), "%s/outside", base);
	if (mkdir(path, 0755))
		die("mkdir %s", path);
	snprintf(path, sizeof(path), "%s/outside/secret", base);
	{
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0 || write(fd, "secret\n", 7) != 7)
			die("cannot create %s", path);
		close(fd);
	}
	build_export();

	canary_add("scratch root", base);
	snprintf(path, sizeof(path), "%s/outside", base);
	canary_add("sentinel dir", path);
	snprintf(path, sizeof(path), "%s/outside/secret", base);
	canary_add("sentinel file", path);
	canary_add("/etc", "/etc");

	trace = getenv("XS_FUZZ_TRACE") != NULL;
	rc = xsh_service_thread_init();
	if (rc)
		fprintf(stderr, "fuzz_dispatch: thread init: %s\n",
			strerror(-rc));
	return 0;
}

/* ---- one input ----------------------------------------------------------- */

struct ids {
	uint64_t node[MAX_IDS];
	unsigned nr_node;
	uint64_t fh[MAX_IDS];
	unsigned nr_fh;
};

static void remember(uint64_t *tab, unsigned *nr, uint64_t v)
{
	if (*nr < MAX_IDS)
		tab[(*nr)++] = v;
	else
		tab[1 + v % (MAX_IDS - 1)] = v;
}

static uint64_t pick(const uint64_t *tab, unsigned nr, uint8_t sel,
		     bool stale)
{
	uint64_t v = nr ? tab[sel % nr] : sel;

	return stale ? v + (1ull << 32) : v;
}

static void policy_from(uint8_t sel, struct xsh_policy *p)
{
	xsh_policy_default(p);
	p->read_only = sel & XSH_FZ_POL_RO;
	p->idmap = (enum xsh_idmap_mode)((sel >> XSH_FZ_POL_IDMAP_SHIFT) & 3);
	p->squash_uid = 65534;
	p->squash_gid = 65534;
	p->range_base = 100000;
	p->range_count = 65536;
	p->allow_devices = protected_ns && (sel & XSH_FZ_POL_DEVICES);
	p->allow_setid = sel & XSH_FZ_POL_SETID;
	if (sel & XSH_FZ_POL_TIGHT) {
		p->max_nodes = 6;
		p->max_handles = 3;
	}
	if (sel & XSH_FZ_POL_QUOTA) {
		/* the export starts at ~13 inodes and ~12 KiB */
		p->quota_bytes = 48 * 1024;
		p->quota_inodes = 20;
	}
}

static bool may_modify(const struct xsh_req *r)
{
	switch (r->opcode) {
	case XSH_OP_LOOKUP:
	case XSH_OP_FORGET:
	case XSH_OP_GETATTR:
	case XSH_OP_READLINK:
	case XSH_OP_READ:
	case XSH_OP_FLUSH:
	case XSH_OP_RELEASE:
	case XSH_OP_FSYNC:
	case XSH_OP_OPENDIR:
	case XSH_OP_READDIR:
	case XSH_OP_READDIRPLUS:
	case XSH_OP_RELEASEDIR:
	case XSH_OP_FSYNCDIR:
	case XSH_OP_STATFS:
	case XSH_OP_GETXATTR:
	case XSH_OP_LISTXATTR:
	case XSH_OP_ACCESS:
	case XSH_OP_LSEEK:
	case XSH_OP_REOPEN:
		return false;
	case XSH_OP_OPEN:
		return r->a.open.flags & O_TRUNC;
	default:
		return r->opcode < XSH_OP_MAX;
	}
}

static uint64_t clamp(uint64_t v)
{
	return v <= OFF_MAX ? v % XSH_FZ_FILE_CAP : v;
}

/* Keep the export small whatever the fuzzer asks for. */
static void clamp_sizes(struct xsh_req *r)
{
	switch (r->opcode) {
	case XSH_OP_WRITE:
		r->a.io.offset = clamp(r->a.io.offset);
		break;
	case XSH_OP_SETATTR:
		r->a.setattr.size = clamp(r->a.setattr.size);
		break;
	case XSH_OP_FALLOCATE:
		r->a.fallocate.offset = clamp(r->a.fallocate.offset);
		r->a.fallocate.length = clamp(r->a.fallocate.length);
		break;
	case XSH_OP_COPY_FILE_RANGE:
		r->a.copy.off_out = clamp(r->a.copy.off_out);
		if (r->a.copy.len > XSH_FZ_FILE_CAP && r->a.copy.len <= OFF_MAX)
			r->a.copy.len = XSH_FZ_FILE_CAP;
		break;
	default:
		break;
	}
}

static void substitute(struct xsh_req *r, const struct xsh_fz_rec_hdr *h,
		       const struct ids *ids, uint8_t *in, uint32_t in_len)
{
	bool stale = h->flags & XSH_FZ_STALE;
	uint64_t v;

	if (h->flags & XSH_FZ_NODE) {
		v = pick(ids->node, ids->nr_node, h->node_sel, stale);
		if (r->opcode == XSH_OP_FORGET) {
			if (in_len >= sizeof(v))
				memcpy(in, &v, sizeof(v));
		} else {
			r->nodeid = v;
		}
	}
	if (h->flags & XSH_FZ_FH)
		r->fh = pick(ids->fh, ids->nr_fh, h->fh_sel, stale);
	if (h->flags & XSH_FZ_NODE2) {
		v = pick(ids->node, ids->nr_node, h->node2_sel, stale);
		if (r->opcode == XSH_OP_RENAME)
			r->a.rename.newparent = v;
		else if (r->opcode == XSH_OP_LINK)
			r->a.link.newparent = v;
		else if (r->opcode == XSH_OP_COPY_FILE_RANGE)
			r->a.copy.nodeid_out = v;
	}
	if ((h->flags & XSH_FZ_FH2) && r->opcode == XSH_OP_COPY_FILE_RANGE)
		r->a.copy.fh_out = pick(ids->fh, ids->nr_fh, h->fh2_sel, stale);
}

static bool buf_in_bounds(const struct xsh_req *r)
{
	return r->buf_len <= XSH_MAX_BUF && r->in_len <= r->buf_len &&
	       (uint64_t)r->buf_off + r->buf_len <= XSH_FZ_DATA_BYTES;
}

/* Put the input bytes where the slot says, or (the usual case) choose a
 * buffer that fits and make the slot say so. */
static void place(struct xsh_req *r, const struct xsh_fz_rec_hdr *h,
		  uint8_t *data, const uint8_t *in, uint32_t in_len)
{
	uint32_t len, span;

	memset(data, PATTERN, XSH_FZ_DATA_BYTES);
	if (h->flags & XSH_FZ_RAW) {
		if (!buf_in_bounds(r))
			return;
		memcpy(data + r->buf_off, in,
		       in_len < r->buf_len ? in_len : r->buf_len);
		return;
	}
	len = in_len + (uint32_t)h->out_kib * 1024u;
	if (len > XSH_FZ_DATA_BYTES)
		len = XSH_FZ_DATA_BYTES;
	span = XSH_FZ_DATA_BYTES - len;
	r->buf_off = span ? r->buf_off % (span + 1) : 0;
	r->buf_len = len;
	r->in_len = in_len;
	memcpy(data + r->buf_off, in, in_len);
}

static bool all_pattern(const uint8_t *p, uint32_t len)
{
	static uint8_t ref[4096];
	uint32_t n;

	if (!ref[0])
		memset(ref, PATTERN, sizeof(ref));
	for (; len; p += n, len -= n) {
		n = len < sizeof(ref) ? len : sizeof(ref);
		if (memcmp(p, ref, n))
			return false;
	}
	return true;
}

static void check_untouched(const uint8_t *data, const struct xsh_req *r)
{
	uint32_t end = r->buf_off + r->buf_len;

	if (!all_pattern(data, r->buf_off))
		die("%s wrote before its buffer", xsh_op_name(r->opcode));
	if (!all_pattern(data + end, XSH_FZ_DATA_BYTES - end))
		die("%s wrote after its buffer", xsh_op_name(r->opcode));
}

static void check_dirents(const struct xsh_req *r, const struct xsh_rsp *rsp,
			  const uint8_t *out, struct ids *ids)
{
	const struct xsh_direntplus *dp;
	const struct xsh_dirent *d;
	const char *name;
	uint32_t pos = 0;
	int n;

	for (;;) {
		if (r->opcode == XSH_OP_READDIR)
			n = xsh_codec_next_dirent(out, rsp->out_len, pos, &d,
						 &name);
		else
			n = xsh_codec_next_direntplus(out, rsp->out_len, pos,
						     &dp, &name);
		if (n == 0)
			return;
		if (n < 0)
			die("%s produced a malformed record",
			    xsh_op_name(r->opcode));
		/* Records follow the guest's buf_off: maybe misaligned. */
		if (r->opcode == XSH_OP_READDIRPLUS) {
			uint64_t id;

			memcpy(&id, (const uint8_t *)dp +
			       offsetof(struct xsh_direntplus, entry.nodeid),
			       sizeof(id));
			if (id)
				remember(ids->node, &ids->nr_node, id);
		}
		pos += (uint32_t)n;
	}
}

static void check_rsp(const struct xsh_req *r, const struct xsh_rsp *rsp,
		      const uint8_t *data, struct ids *ids)
{
	if (xsh_codec_check_rsp(r, rsp))
		die("%s: response fails the frontend's check",
		    xsh_op_name(r->opcode));
	check_untouched(data, r);
	if (rsp->error)
		return;
	switch (r->opcode) {
	case XSH_OP_CREATE:
		remember(ids->fh, &ids->nr_fh, rsp->u.entry.fh);
		/* fall through */
	case XSH_OP_LOOKUP:
	case XSH_OP_MKNOD:
	case XSH_OP_MKDIR:
	case XSH_OP_SYMLINK:
	case XSH_OP_LINK:
	case XSH_OP_REOPEN:
		if (!rsp->u.entry.nodeid)
			die("%s succeeded without a node id",
			    xsh_op_name(r->opcode));
		remember(ids->node, &ids->nr_node, rsp->u.entry.nodeid);
		break;
	case XSH_OP_OPEN:
	case XSH_OP_OPENDIR:
		remember(ids->fh, &ids->nr_fh, rsp->u.fh);
		break;
	case XSH_OP_READDIR:
	case XSH_OP_READDIRPLUS:
		check_dirents(r, rsp, data + r->buf_off, ids);
		break;
	case XSH_OP_READLINK:
		if (rsp->out_len > XSH_PATH_MAX)
			die("%s: target longer than XSH_PATH_MAX", "READLINK");
		break;
	default:
		break;
	}
}

/* Open descriptors of this process. */
static int fd_count(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t size)
{
	struct xsh_export *e;
	struct xsh_sess *s;
	struct xsh_policy pol;
	struct ids ids = { .node = { XSH_ROOT_NODEID }, .nr_node = 1 };
	uint8_t *data;
	size_t pos = 1;
	unsigned nrec;
	bool dirty = false;
	int fd0, fd1, rc;

	if (size < 1)
		return 0;
	reset_if_dirty();
	policy_from(buf[0], &pol);
	fd0 = fd_count();
	rc = xsh_export_open(export_path, &pol, &e);
	if (rc)
		die("cannot open the export %s", export_path);
	data = malloc(XSH_FZ_DATA_BYTES);
	if (!data)
		die("%s", "out of memory");
	rc = xsh_sess_new(e, data, XSH_FZ_DATA_BYTES, "fuzz", &s);
	if (rc)
		die("cannot create a session on %s", export_path);

	for (nrec = 0; nrec < XSH_FZ_MAX_RECS; nrec++) {
		struct xsh_fz_rec_hdr h;
		struct xsh_req req;
		struct xsh_rsp rsp;
		uint32_t in_len;
		bool sane;

		if (size - pos < sizeof(h) + sizeof(req))
			break;
		memcpy(&h, buf + pos, sizeof(h));
		memcpy(&req, buf + pos + sizeof(h), sizeof(req));
		pos += sizeof(h) + sizeof(req);
		in_len = h.in_len;
		if (in_len > size - pos)
			in_len = (uint32_t)(size - pos);
		if (in_len > XSH_FZ_DATA_BYTES)
			in_len = XSH_FZ_DATA_BYTES;
		memcpy(payload, buf + pos, in_len);
		pos += in_len;

		substitute(&req, &h, &ids, payload, in_len);
		clamp_sizes(&req);
		place(&req, &h, data, payload, in_len);
		if (!dirty && may_modify(&req)) {
			mark_dirty();
			dirty = true;
		}
		sane = buf_in_bounds(&req);
		rc = xsh_dispatch(s, &req, &rsp);
		if (trace)
			fprintf(stderr, "[%u] %s node %#llx fh %#llx buf %u+%u "
				"in %u -> %s error %d out %u node %#llx\n",
				nrec, xsh_op_name(req.opcode),
				(unsigned long long)req.nodeid,
				(unsigned long long)req.fh, req.buf_off,
				req.buf_len, req.in_len,
				rc == XSH_CODEC_FATAL ? "FATAL" : "ok",
				rsp.error, rsp.out_len,
				(unsigned long long)rsp.u.entry.nodeid);
		if (rc == XSH_CODEC_FATAL)
			break;
		if (rc)
			die("%s: xsh_dispatch returned neither 0 nor FATAL",
			    xsh_op_name(req.opcode));
		if (!sane)
			die("%s: buffer outside the data area accepted",
			    xsh_op_name(req.opcode));
		check_rsp(&req, &rsp, data, &ids);
	}

	xsh_sess_free(s);
	free(data);
	xsh_export_close(e);
	fd1 = fd_count();
	if (fd1 != fd0)
		die("fd leak: %d open descriptors before the input, %d after",
		    fd0, fd1);
	check_canaries();
	return 0;
}
