// SPDX-License-Identifier: MIT
/*
 * xenshare-dedup: make identical regular files under export and template
 * directories share their storage (docs/dedup.md).
 *
 *   xenshare-dedup [--dry-run] [--store DIR] [--template DIR]... DIR...
 *
 * Candidates: regular files of the same size (first pass), the same
 * XXH3-128 hash (second pass), then the same bytes:
 *   - reflink mode, where the file system has FIDEDUPERANGE (XFS, btrfs):
 *     the kernel compares the bytes and shares the extents atomically; the
 *     inodes, their metadata and every open fd stay as they are.
 *   - link mode elsewhere (ext4), with --store: a file becomes a hard link
 *     to one inode in the content store, marked with XSH_DEDUP_XATTR so
 *     the backend makes the guest a private copy before any change.  Only
 *     files with one link, no extended attributes and the same owner,
 *     mode and mtime share an inode; template files are never replaced.
 *     Each replacement holds a write lease on the file (it fails while
 *     anyone has the file open, and breaks when someone opens it), swaps
 *     the names atomically, and swaps them back if the lease broke or any
 *     process still holds a descriptor on the old inode.
 *
 * Trust: the files are the guests' doing.  Directories are walked with
 * dirfds (openat, O_NOFOLLOW), symlinks are never followed, the walk stays
 * on the first directory's file system, and memory is bounded by
 * XSH_DEDUP_MAX_FILES and a fixed I/O buffer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "backend/service/dedup.h"
#include "lib/walk.h"

#define XSH_DEDUP_MAX_FILES	(4u << 20)
#define XSH_DEDUP_MAX_DEPTH	256
#define XSH_DEDUP_CHUNK		(16u << 20)	/* bytes per FIDEDUPERANGE */
#define XSH_DEDUP_BUF		(1u << 20)
#define XSH_DEDUP_MAX_DIRS	64

struct xsh_root {
	const char *path;
	int fd;
	bool tmpl;
};

struct xsh_ent {
	uint64_t size;
	uint64_t ino;
	XXH128_hash_t h;
	struct timespec mtime;
	uint32_t uid, gid, mode, nlink;
	uint32_t root;
	bool shared;		/* already a link to the store */
	bool done;
	char *path;		/* relative to its root */
};

enum xsh_skip {
	SKIP_NONE,		/* not skipped */
	SKIP_BUSY, SKIP_HARDLINK, SKIP_SYMLINK, SKIP_EMPTY, SKIP_SPECIAL,
	SKIP_OTHERFS, SKIP_CHANGED, SKIP_XATTR, SKIP_TEMPLATE, SKIP_META,
	SKIP_ERROR, SKIP_N
};

static const char *const skip_name[SKIP_N] = {
	"", "busy", "hardlinked", "symlinks", "empty", "special", "other fs",
	"changed", "with xattrs", "template (link mode)",
	"owner/mode/mtime differ", "errors",
};

static struct {
	bool dry, tty, reflink;
	struct xsh_root roots[XSH_DEDUP_MAX_DIRS];
	unsigned nroots;
	int store_fd;
	dev_t dev;
	struct xsh_ent *e;
	size_t n, cap;
	uint64_t skip[SKIP_N];
	uint64_t scanned, scanned_bytes, dirs;
	uint64_t groups, files, bytes, store_new;
	char *buf, *buf2;
	unsigned tmpseq;
} g = { .store_fd = -1 };

static volatile sig_atomic_t lease_broken;

static void on_lease_break(int sig)
{
	(void)sig;
	lease_broken = 1;
}

__attribute__((format(printf, 2, 3), noreturn))
static void die(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xenshare-dedup: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	exit(1);
}

static const char *human(uint64_t b, char out[32])
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	unsigned i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(out, 32, i ? "%.1f %s" : "%.0f %s", v, u[i]);
	return out;
}

static void progress(const char *what, uint64_t i, uint64_t n)
{
	if (g.tty)
		fprintf(stderr, "\r%s %llu/%llu\033[K", what,
			(unsigned long long)i, (unsigned long long)n);
}

static void progress_end(void)
{
	if (g.tty)
		fprintf(stderr, "\r\033[K");
}

/* ---- walking ----------------------------------------------------------- */

static void add(uint32_t root, const char *path, const struct stat *st)
{
	struct xsh_ent *x;

	if (g.n == XSH_DEDUP_MAX_FILES)
		die(0, "more than %s candidate files: run on fewer directories", "4194304");
	if (g.n == g.cap) {
		g.cap = g.cap ? 2 * g.cap : 1024;
		g.e = realloc(g.e, g.cap * sizeof(*g.e));
		if (!g.e)
			die(ENOMEM, "%s", "out of memory");
	}
	x = &g.e[g.n++];
	memset(x, 0, sizeof(*x));
	x->size = (uint64_t)st->st_size;
	x->ino = st->st_ino;
	x->mtime = st->st_mtim;
	x->uid = st->st_uid;
	x->gid = st->st_gid;
	x->mode = st->st_mode;
	x->nlink = (uint32_t)st->st_nlink;
	x->root = root;
	x->path = strdup(path);
	if (!x->path)
		die(ENOMEM, "%s", "out of memory");
}

static void walk(uint32_t root, int dfd, char *path, size_t plen, int depth)
{
	struct dirent *d;
	DIR *dir;

	if (depth > XSH_DEDUP_MAX_DEPTH) {
		g.skip[SKIP_ERROR]++;
		close(dfd);
		return;
	}
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		g.skip[SKIP_ERROR]++;
		return;
	}
	g.dirs++;
	while ((d = readdir(dir))) {
		size_t nl = strlen(d->d_name);
		struct stat st;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (plen + nl + 2 > PATH_MAX) {
			g.skip[SKIP_ERROR]++;
			continue;
		}
		if (fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			g.skip[SKIP_ERROR]++;
			continue;
		}
		if (st.st_dev != g.dev) {
			g.skip[SKIP_OTHERFS]++;
			continue;
		}
		snprintf(path + plen, PATH_MAX - plen, "%s%s", plen ? "/" : "",
			 d->d_name);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(dir), d->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						 O_CLOEXEC);
			if (sub < 0)
				g.skip[SKIP_ERROR]++;
			else
				walk(root, sub, path, plen + nl + !!plen,
				     depth + 1);
		} else if (S_ISLNK(st.st_mode)) {
			g.skip[SKIP_SYMLINK]++;
		} else if (!S_ISREG(st.st_mode)) {
			g.skip[SKIP_SPECIAL]++;
		} else if (!st.st_size) {
			g.skip[SKIP_EMPTY]++;
		} else {
			g.scanned++;
			g.scanned_bytes += (uint64_t)st.st_size;
			add(root, path, &st);
		}
		path[plen] = 0;
	}
	closedir(dir);
}

/* Open x's parent directory (O_PATH) and x itself, read-only, by walking
 * its path one component at a time without following symlinks; the file
 * must still be the inode the scan found.  name (NAME_MAX + 1) gets its
 * last component. */
static int open_ent(const struct xsh_ent *x, int *dirfd_out, char *name)
{
	struct stat st;
	int dfd, fd;

	dfd = xsh_walk_parent(g.roots[x->root].fd, x->path, name);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
				       O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_dev != g.dev || st.st_ino != x->ino) {
		int e = fd < 0 ? -errno : -ESTALE;

		if (fd >= 0)
			close(fd);
		close(dfd);
		return e;
	}
	*dirfd_out = dfd;
	return fd;
}

/* ---- hashing ------------------------------------------------------------ */

static int hash_fd(int fd, XXH128_hash_t *out)
{
	XXH3_state_t *s = XXH3_createState();
	ssize_t r;
	off_t off = 0;

	if (!s)
		return -ENOMEM;
	XXH3_128bits_reset(s);
	while ((r = pread(fd, g.buf, XSH_DEDUP_BUF, off)) > 0) {
		XXH3_128bits_update(s, g.buf, (size_t)r);
		off += r;
	}
	*out = XXH3_128bits_digest(s);
	XXH3_freeState(s);
	return r < 0 ? -errno : 0;
}

static int cmp_size(const void *a, const void *b)
{
	const struct xsh_ent *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	if (x->h.high64 != y->h.high64)
		return x->h.high64 < y->h.high64 ? -1 : 1;
	if (x->h.low64 != y->h.low64)
		return x->h.low64 < y->h.low64 ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static bool same_hash(const struct xsh_ent *x, const struct xsh_ent *y)
{
	return x->size == y->size && XXH128_isEqual(x->h, y->h);
}

/* Hash every file whose size another inode shares; the rest are left
 * with a zero hash and never grouped. */
static void hash_all(void)
{
	size_t i, j, done = 0, todo = 0;

	qsort(g.e, g.n, sizeof(*g.e), cmp_size);
	for (i = 0; i < g.n; i = j) {
		for (j = i + 1; j < g.n && g.e[j].size == g.e[i].size; j++)
			;
		if (j - i > 1)
			todo += j - i;
	}
	for (i = 0; i < g.n; i = j) {
		for (j = i + 1; j < g.n && g.e[j].size == g.e[i].size; j++)
			;
		if (j - i < 2) {
			g.e[i].done = true;
			continue;
		}
		for (size_t k = i; k < j; k++) {
			char name[NAME_MAX + 1];
			int dfd, fd = open_ent(&g.e[k], &dfd, name);

			progress("hashing", ++done, todo);
			if (fd < 0) {
				g.e[k].done = true;
				g.skip[fd == -ESTALE ? SKIP_CHANGED : SKIP_ERROR]++;
				continue;
			}
			if (hash_fd(fd, &g.e[k].h)) {
				g.e[k].done = true;
				g.skip[SKIP_ERROR]++;
			}
			g.e[k].shared = xsh_dedup_mark_fd(fd) > 0;
			close(fd);
			close(dfd);
		}
	}
	progress_end();
	qsort(g.e, g.n, sizeof(*g.e), cmp_size);
}

/* ---- reflink mode ------------------------------------------------------- */

/* Share dst's extents with src's, chunk by chunk.  Bytes shared, or
 * -errno; -EBADE when the contents differ. */
static int64_t dedupe_range(int src, int dst, uint64_t size)
{
	struct {
		struct file_dedupe_range r;
		struct file_dedupe_range_info i;
	} a;
	uint64_t off = 0, shared = 0;

	while (off < size) {
		uint64_t len = size - off < XSH_DEDUP_CHUNK ? size - off :
							       XSH_DEDUP_CHUNK;

		memset(&a, 0, sizeof(a));
		a.r.src_offset = off;
		a.r.src_length = len;
		a.r.dest_count = 1;
		a.i.dest_fd = dst;
		a.i.dest_offset = off;
		if (ioctl(src, FIDEDUPERANGE, &a))
			return -errno;
		if (a.i.status == FILE_DEDUPE_RANGE_DIFFERS)
			return -EBADE;
		if (a.i.status < 0)
			return a.i.status;
		/* A partial dedupe: carry on from where it stopped. */
		if (!a.i.bytes_deduped)
			return -EAGAIN;
		off += a.i.bytes_deduped;
		shared += a.i.bytes_deduped;
	}
	return (int64_t)shared;
}

/* Does the file system share extents?  Probed on a candidate file: a
 * zero-length dedupe of a file with itself is a no-op where
 * FIDEDUPERANGE exists. */
static bool probe_reflink(void)
{
	for (size_t i = 0; i < g.n; i++) {
		struct {
			struct file_dedupe_range r;
			struct file_dedupe_range_info i;
		} a;
		char name[NAME_MAX + 1];
		int dfd, fd = open_ent(&g.e[i], &dfd, name), rc;

		if (fd < 0)
			continue;
		memset(&a, 0, sizeof(a));
		a.r.dest_count = 1;
		a.i.dest_fd = fd;
		rc = ioctl(fd, FIDEDUPERANGE, &a);
		close(fd);
		close(dfd);
		return rc == 0;
	}
	return false;
}

/* ---- link mode ---------------------------------------------------------- */

static bool same_meta(const struct xsh_ent *x, const struct xsh_ent *y)
{
	return x->uid == y->uid && x->gid == y->gid && x->mode == y->mode &&
	       x->mtime.tv_sec == y->mtime.tv_sec &&
	       x->mtime.tv_nsec == y->mtime.tv_nsec;
}

/* The store's name for content + metadata: 2 hex digits / 32 more. */
static void store_name(const struct xsh_ent *x, char dir[3], char name[40])
{
	struct {
		XXH128_hash_t h;
		uint64_t size, sec, nsec;
		uint32_t uid, gid, mode;
	} k;
	XXH128_hash_t s;

	memset(&k, 0, sizeof(k));
	k.h = x->h;
	k.size = x->size;
	k.sec = (uint64_t)x->mtime.tv_sec;
	k.nsec = (uint64_t)x->mtime.tv_nsec;
	k.uid = x->uid;
	k.gid = x->gid;
	k.mode = x->mode;
	s = XXH3_128bits(&k, sizeof(k));
	snprintf(dir, 3, "%02x", (unsigned)(s.high64 >> 56));
	snprintf(name, 40, "%016llx%016llx", (unsigned long long)s.high64,
		 (unsigned long long)s.low64);
}

static int same_bytes(int a, int b, uint64_t size)
{
	uint64_t off = 0;

	while (off < size) {
		ssize_t r1 = pread(a, g.buf, XSH_DEDUP_BUF, (off_t)off);
		ssize_t r2 = pread(b, g.buf2, XSH_DEDUP_BUF, (off_t)off);

		if (r1 < 0 || r2 < 0)
			return -errno;
		if (r1 != r2 || !r1 || memcmp(g.buf, g.buf2, (size_t)r1))
			return 0;
		off += (uint64_t)r1;
	}
	return 1;
}

/* The store's inode for x's content and metadata, opened read-only;
 * made from src (a member's fd) when it does not exist yet. */
static int store_get(const struct xsh_ent *x, int src, int *sdir)
{
	char dir[3], name[40], p[32];
	struct timespec ts[2];
	struct stat st;
	off_t in = 0, out = 0;
	int dfd, fd;

	store_name(x, dir, name);
	if (mkdirat(g.store_fd, dir, 0700) && errno != EEXIST)
		return -errno;
	dfd = openat(g.store_fd, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW |
					      O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size != x->size ||
		    xsh_dedup_mark_fd(fd) <= 0) {
			close(fd);
			close(dfd);
			return -EEXIST;
		}
		*sdir = dfd;
		return fd;
	}
	fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	while ((uint64_t)in < x->size) {
		ssize_t r = copy_file_range(src, &in, fd, &out,
					    x->size - (uint64_t)in, 0);
		if (r <= 0)
			goto fail;
	}
	ts[0] = x->mtime;
	ts[1] = x->mtime;
	if (fchown(fd, x->uid, x->gid) || fchmod(fd, x->mode & 07777) ||
	    fsetxattr(fd, XSH_DEDUP_XATTR, name, strlen(name), 0) ||
	    futimens(fd, ts) || fsync(fd))
		goto fail;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, p, dfd, name, AT_SYMLINK_FOLLOW))
		goto fail;
	fsync(dfd);
	g.store_new++;
	*sdir = dfd;
	return fd;
fail:
	{
		int e = -errno;

		if (fd >= 0)
			close(fd);
		close(dfd);
		return e;
	}
}

/* Does any other process hold a descriptor (O_PATH included) on inode
 * ino?  Read from /proc/PID/fdinfo, which never touches the files (a
 * stat() through /proc/PID/fd could hang on a stuck FUSE mount).  Only
 * the inode number is compared: a match on another file system counts as
 * held, which only skips a file. */
static bool held_anywhere(uint64_t ino)
{
	DIR *proc = opendir("/proc");
	char self[24], want[32];
	struct dirent *p;
	bool found = false;

	if (!proc)
		return true;
	snprintf(self, sizeof(self), "%d", (int)getpid());
	snprintf(want, sizeof(want), "ino:\t%llu\n", (unsigned long long)ino);
	while (!found && (p = readdir(proc))) {
		char path[300], info[512];
		struct dirent *f;
		DIR *fds;

		if (p->d_name[0] < '0' || p->d_name[0] > '9' ||
		    !strcmp(p->d_name, self))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while (!found && (f = readdir(fds))) {
			ssize_t r;
			int fd;

			if (f->d_name[0] == '.')
				continue;
			fd = openat(dirfd(fds), f->d_name, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			r = read(fd, info, sizeof(info) - 1);
			close(fd);
			if (r <= 0)
				continue;
			info[r] = 0;
			found = strstr(info, want) != NULL;
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

/* Replace member x (open at fd, in dfd as name) by a link to the store's
 * inode (sdir/sname, open at sfd).  0, or the reason it was skipped. */
static int link_one(const struct xsh_ent *x, int fd, int dfd, const char *name,
		    int sfd, int sdir, const char *sname)
{
	char tmp[64];
	struct stat st;
	int rc = SKIP_BUSY, same;

	lease_broken = 0;
	if (fcntl(fd, F_SETLEASE, F_WRLCK))
		return errno == EAGAIN ? SKIP_BUSY : SKIP_ERROR;
	if (fstat(fd, &st) || st.st_nlink != 1 ||
	    (uint64_t)st.st_size != x->size ||
	    st.st_mtim.tv_sec != x->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != x->mtime.tv_nsec) {
		rc = SKIP_CHANGED;
		goto out;
	}
	same = same_bytes(fd, sfd, x->size);
	if (same <= 0) {
		rc = same < 0 ? SKIP_ERROR : SKIP_CHANGED;
		goto out;
	}
	snprintf(tmp, sizeof(tmp), ".xenshare-dedup.%d.%u", (int)getpid(),
		 g.tmpseq++);
	if (linkat(sdir, sname, dfd, tmp, 0)) {
		rc = SKIP_ERROR;
		goto out;
	}
	if (renameat2(dfd, tmp, dfd, name, RENAME_EXCHANGE)) {
		unlinkat(dfd, tmp, 0);
		rc = SKIP_ERROR;
		goto out;
	}
	/* name is the store's inode now, tmp the old one.  Anyone who
	 * opened the old inode meanwhile (the lease broke) or holds it
	 * (a backend's O_PATH node) keeps it: swap back. */
	if (lease_broken || fcntl(fd, F_GETLEASE) != F_WRLCK ||
	    held_anywhere(x->ino)) {
		renameat2(dfd, tmp, dfd, name, RENAME_EXCHANGE);
		unlinkat(dfd, tmp, 0);
		rc = SKIP_BUSY;
		goto out;
	}
	unlinkat(dfd, tmp, 0);
	fsync(dfd);
	rc = 0;
out:
	fcntl(fd, F_SETLEASE, F_UNLCK);
	return rc;
}

/* ---- groups ------------------------------------------------------------- */

static void count_share(uint64_t size)
{
	g.files++;
	g.bytes += size;
}

static void reflink_group(size_t i, size_t j)
{
	char name[NAME_MAX + 1];
	int sdir, src = -1;
	size_t k, first = i;
	bool any = false;

	for (k = i; k < j; k++) {
		char dn[NAME_MAX + 1];
		int ddir, dst;
		int64_t r;

		if (k > i && g.e[k].ino == g.e[k - 1].ino) {
			g.skip[SKIP_HARDLINK]++;
			continue;
		}
		if (src < 0) {
			src = open_ent(&g.e[k], &sdir, name);
			first = k;
			if (src < 0)
				g.skip[SKIP_CHANGED]++;
			continue;
		}
		if (g.dry) {
			count_share(g.e[k].size);
			any = true;
			continue;
		}
		dst = open_ent(&g.e[k], &ddir, dn);
		if (dst < 0) {
			g.skip[SKIP_CHANGED]++;
			continue;
		}
		r = dedupe_range(src, dst, g.e[first].size);
		if (r == -EBADE)
			g.skip[SKIP_CHANGED]++;
		else if (r == -ETXTBSY || r == -EAGAIN)
			g.skip[SKIP_BUSY]++;
		else if (r < 0)
			g.skip[SKIP_ERROR]++;
		else {
			count_share((uint64_t)r);
			any = true;
		}
		close(dst);
		close(ddir);
	}
	if (src >= 0) {
		close(src);
		close(sdir);
	}
	g.groups += any;
}

/* May x become a link to the store?  Counts why not. */
static bool linkable(struct xsh_ent *x)
{
	char name[NAME_MAX + 1];
	int dfd, fd;
	ssize_t r;

	x->done = true;
	if (g.roots[x->root].tmpl) {
		g.skip[SKIP_TEMPLATE]++;
		return false;
	}
	if (x->shared)
		return false;
	if (x->nlink > 1) {
		g.skip[SKIP_HARDLINK]++;
		return false;
	}
	fd = open_ent(x, &dfd, name);
	if (fd < 0) {
		g.skip[SKIP_CHANGED]++;
		return false;
	}
	r = flistxattr(fd, g.buf, XSH_DEDUP_BUF);
	close(fd);
	close(dfd);
	if (r != 0) {
		g.skip[r > 0 ? SKIP_XATTR : SKIP_ERROR]++;
		return false;
	}
	return true;
}

/* Has the store an inode for x's content and metadata already? */
static bool store_has(const struct xsh_ent *x)
{
	char dir[3], name[40], p[48];
	struct stat st;

	store_name(x, dir, name);
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return !fstatat(g.store_fd, p, &st, AT_SYMLINK_NOFOLLOW) &&
	       S_ISREG(st.st_mode);
}

/* Link the members m[0..n) (same bytes, owner, mode and mtime) to one
 * store inode, made from the first when the store has none yet (have:
 * it has). */
static void link_members(size_t *m, size_t n, bool have)
{
	int sfd = -1, sdir = -1, linked = 0;
	char dir[3], sname[40];

	for (size_t k = 0; k < n; k++) {
		struct xsh_ent *x = &g.e[m[k]];
		char name[NAME_MAX + 1];
		int dfd, fd, rc;

		if (g.dry) {
			if (k || have)
				count_share(x->size);
			continue;
		}
		fd = open_ent(x, &dfd, name);
		if (fd < 0) {
			g.skip[SKIP_CHANGED]++;
			continue;
		}
		if (sfd < 0) {
			store_name(x, dir, sname);
			sfd = store_get(x, fd, &sdir);
		}
		if (sfd < 0) {
			g.skip[SKIP_ERROR]++;
			rc = SKIP_NONE;
		} else {
			rc = link_one(x, fd, dfd, name, sfd, sdir, sname);
		}
		if (rc)
			g.skip[rc]++;
		else if (sfd >= 0) {
			count_share(x->size);
			linked++;
		}
		close(fd);
		close(dfd);
	}
	if (sfd >= 0) {
		close(sfd);
		close(sdir);
	}
	g.groups += linked > 0 || (g.dry && (n > 1 || have));
}

static void link_group(size_t i, size_t j)
{
	size_t *m = malloc((j - i) * sizeof(*m)), n;

	if (!m)
		die(ENOMEM, "%s", "out of memory");
	for (size_t k = i; k < j; k++)
		if (!linkable(&g.e[k]))
			m[k - i] = SIZE_MAX;
		else
			m[k - i] = k;
	/* Members with equal metadata share one inode: each pass takes the
	 * first left over and those like it.  A lone member is left alone
	 * (a store copy of it would save nothing). */
	for (size_t k = 0; k < j - i; k++) {
		size_t lead = m[k], *sub;
		bool have;

		if (lead == SIZE_MAX)
			continue;
		sub = malloc((j - i) * sizeof(*sub));
		if (!sub)
			die(ENOMEM, "%s", "out of memory");
		n = 0;
		for (size_t l = k; l < j - i; l++) {
			if (m[l] == SIZE_MAX || !same_meta(&g.e[lead], &g.e[m[l]]))
				continue;
			sub[n++] = m[l];
			m[l] = SIZE_MAX;
		}
		have = store_has(&g.e[sub[0]]);
		if (n > 1 || have)
			link_members(sub, n, have);
		free(sub);
	}
	free(m);
}

static void dedup_all(void)
{
	size_t i, j, ngroups = 0, done = 0;

	for (i = 0; i < g.n; i = j) {
		for (j = i + 1; j < g.n && same_hash(&g.e[i], &g.e[j]); j++)
			;
		ngroups += j - i > 1 && !g.e[i].done;
	}
	for (i = 0; i < g.n; i = j) {
		for (j = i + 1; j < g.n && same_hash(&g.e[i], &g.e[j]); j++)
			;
		if (j - i < 2 || g.e[i].done)
			continue;
		progress("sharing group", ++done, ngroups);
		if (g.reflink)
			reflink_group(i, j);
		else
			link_group(i, j);
	}
	progress_end();
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("usage: xenshare-dedup [--dry-run] [--store DIR] "
	      "[--template DIR]... DIR...\n"
	      "Share the storage of identical files under DIRs (exports) and\n"
	      "template directories, all on one file system: with\n"
	      "FIDEDUPERANGE where it has reflinks (XFS, btrfs), else (ext4)\n"
	      "as links to a content store DIR on the same file system,\n"
	      "outside every export.  --dry-run only says what it would save.\n",
	      f);
}

static bool inside(int fd_outer, int fd)
{
	struct stat top, st;
	int cur = openat(fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fstat(fd_outer, &top))
		return false;
	for (int depth = 0; cur >= 0 && depth < 4096; depth++) {
		int up;

		if (fstat(cur, &st))
			break;
		if (st.st_dev == top.st_dev && st.st_ino == top.st_ino) {
			close(cur);
			return true;
		}
		up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up >= 0) {
			struct stat us;

			if (!fstat(up, &us) && us.st_ino == st.st_ino &&
			    us.st_dev == st.st_dev) {
				close(up);
				up = -1;
			}
		}
		close(cur);
		cur = up;
	}
	if (cur >= 0)
		close(cur);
	return false;
}

static int open_dir(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		die(errno, "%s", path);
	if (fstat(fd, st))
		die(errno, "%s", path);
	return fd;
}

static void add_root(const char *path, bool tmpl)
{
	struct stat st;
	int fd;

	if (g.nroots == XSH_DEDUP_MAX_DIRS)
		die(0, "more than %s directories", "64");
	fd = open_dir(path, &st);
	if (!g.nroots)
		g.dev = st.st_dev;
	else if (st.st_dev != g.dev)
		die(0, "%s is on another file system than the first directory", path);
	g.roots[g.nroots].path = path;
	g.roots[g.nroots].fd = fd;
	g.roots[g.nroots].tmpl = tmpl;
	g.nroots++;
}

static void report(uint64_t freed)
{
	char a[32], b[32];
	bool first = true;

	printf("mode: %s\n", g.reflink ? "reflink (FIDEDUPERANGE)" :
					 "links to the content store");
	printf("scanned: %llu files in %llu directories, %s\n",
	       (unsigned long long)g.scanned, (unsigned long long)g.dirs,
	       human(g.scanned_bytes, a));
	printf("%s: %llu files in %llu groups, %s\n",
	       g.dry ? "would share" : "shared", (unsigned long long)g.files,
	       (unsigned long long)g.groups, human(g.bytes, b));
	if (!g.dry)
		printf("freed: %s on the file system\n", human(freed, a));
	printf("skipped:");
	for (int i = SKIP_NONE + 1; i < SKIP_N; i++) {
		if (!g.skip[i])
			continue;
		printf("%s %llu %s", first ? "" : ",",
		       (unsigned long long)g.skip[i], skip_name[i]);
		first = false;
	}
	printf("%s\n", first ? " none" : "");
	if (g.dry)
		printf("dry run: nothing changed\n");
}

int main(int argc, char **argv)
{
	const char *store = NULL;
	struct statvfs v0, v1;
	char path[PATH_MAX];
	struct sigaction sa;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--dry-run") || !strcmp(argv[i], "-n")) {
			g.dry = true;
		} else if (!strcmp(argv[i], "--store") && i + 1 < argc) {
			store = argv[++i];
		} else if (!strcmp(argv[i], "--template") && i + 1 < argc) {
			add_root(argv[++i], true);
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else {
			fprintf(stderr, "xenshare-dedup: bad option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	for (; i < argc; i++)
		add_root(argv[i], false);
	if (!g.nroots) {
		usage(stderr);
		return 2;
	}
	if (store) {
		struct stat st;

		g.store_fd = open_dir(store, &st);
		if (st.st_dev != g.dev)
			die(0, "%s: the store is on another file system than the "
			    "directories", store);
		for (unsigned r = 0; r < g.nroots; r++)
			if (inside(g.roots[r].fd, g.store_fd) ||
			    inside(g.store_fd, g.roots[r].fd))
				die(0, "%s: the store and a directory contain one "
				    "another", store);
	}
	g.tty = isatty(2);
	g.buf = malloc(XSH_DEDUP_BUF);
	g.buf2 = malloc(XSH_DEDUP_BUF);
	if (!g.buf || !g.buf2)
		die(ENOMEM, "%s", "out of memory");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_lease_break;
	sigaction(SIGIO, &sa, NULL);

	for (unsigned r = 0; r < g.nroots; r++) {
		int fd = dup(g.roots[r].fd);

		path[0] = 0;
		if (fd < 0)
			die(errno, "%s", g.roots[r].path);
		walk(r, fd, path, 0, 0);
	}
	g.reflink = probe_reflink();
	if (!g.reflink && g.store_fd < 0 && g.n)
		die(0, "%s has no FIDEDUPERANGE (no reflinks): give --store DIR, "
		    "a content store on it, for link mode", g.roots[0].path);
	hash_all();
	fstatvfs(g.roots[0].fd, &v0);
	dedup_all();
	if (!g.dry)
		syncfs(g.roots[0].fd);
	fstatvfs(g.roots[0].fd, &v1);
	report(v1.f_bfree > v0.f_bfree ?
		       (uint64_t)(v1.f_bfree - v0.f_bfree) * v1.f_frsize : 0);
	return g.skip[SKIP_ERROR] ? 1 : 0;
}
