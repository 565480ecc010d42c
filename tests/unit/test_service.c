// SPDX-License-Identifier: MIT
/*
 * Unit tests for the file service (backend/service/dispatch.c, fs.c, node.c,
 * handle.c, creds.c): a temporary export under /tmp, one in-process
 * session over a malloc'ed data area, and hand-built requests fed to
 * xsh_dispatch() exactly as the ring engine would.  The guest's side is
 * played by the test; the host's side is checked with plain syscalls on
 * the export directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "backend/service/service.h"
#include "backend/service/service_internal.h"
#include "protocol/codec.h"
#include "tap.h"

#define DATA_BYTES	(2u << 20)
#define ROOT		XSH_ROOT_NODEID
#define FATAL_RC	1000

static char dir[64], outside[64];
static struct xsh_export *export_;
static struct xsh_sess *sess;
static uint8_t *data;
static uint64_t next_id;
static uint32_t cur_uid, cur_gid;
static bool privileged;
static __thread uint32_t buf_base;	/* this thread's part of data */

/* ---- request helpers --------------------------------------------------- */

static struct xsh_req mkreq(uint16_t op, uint64_t nodeid)
{
	struct xsh_req r;

	memset(&r, 0, sizeof(r));
	r.opcode = op;
	r.nodeid = nodeid;
	r.uid = cur_uid;
	r.gid = cur_gid;
	return r;
}

/* Input at the start of the data area; output comes back there too.
 * Returns -errno from the response, or FATAL_RC. */
static int run(struct xsh_req *r, const void *in, uint32_t in_len,
	       uint32_t buf_len, struct xsh_rsp *rsp)
{
	struct xsh_rsp tmp;

	if (!rsp)
		rsp = &tmp;
	r->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	r->buf_off = buf_base;
	r->in_len = in_len;
	r->buf_len = buf_len > in_len ? buf_len : in_len;
	if (in_len)
		memcpy(data + buf_base, in, in_len);
	if (xsh_dispatch(sess, r, rsp))
		return FATAL_RC;
	if (rsp->id != r->id)
		return -9999;
	return -rsp->error;
}

static int op_lookup(uint64_t parent, const char *name, struct xsh_rsp_entry *e)
{
	struct xsh_req r = mkreq(XSH_OP_LOOKUP, parent);
	struct xsh_rsp rsp;
	int rc = run(&r, name, (uint32_t)strlen(name), 0, &rsp);

	if (e)
		*e = rsp.u.entry;
	return rc;
}

static int op_create(uint64_t parent, const char *name, uint32_t flags,
		     uint32_t mode, uint32_t umask_, struct xsh_rsp_entry *e)
{
	struct xsh_req r = mkreq(XSH_OP_CREATE, parent);
	struct xsh_rsp rsp;
	int rc;

	r.a.open.flags = flags | O_CREAT;
	r.a.open.mode = mode;
	r.a.open.umask = umask_;
	rc = run(&r, name, (uint32_t)strlen(name), 0, &rsp);
	if (e)
		*e = rsp.u.entry;
	return rc;
}

static int op_mknod(uint16_t op, uint64_t parent, const char *name,
		    uint32_t mode, uint32_t rdev, struct xsh_rsp_entry *e)
{
	struct xsh_req r = mkreq(op, parent);
	struct xsh_rsp rsp;
	int rc;

	r.a.mknod.mode = mode;
	r.a.mknod.rdev = rdev;
	rc = run(&r, name, (uint32_t)strlen(name), 0, &rsp);
	if (e)
		*e = rsp.u.entry;
	return rc;
}

static int op_mkdir(uint64_t parent, const char *name, uint32_t mode,
		    struct xsh_rsp_entry *e)
{
	return op_mknod(XSH_OP_MKDIR, parent, name, mode, 0, e);
}

static int op_symlink(uint64_t parent, const char *name, const char *target,
		      struct xsh_rsp_entry *e)
{
	struct xsh_req r = mkreq(XSH_OP_SYMLINK, parent);
	struct xsh_rsp rsp;
	char buf[512];
	int rc;

	r.a.symlink.name_len = (uint32_t)strlen(name);
	snprintf(buf, sizeof(buf), "%s%s", name, target);
	rc = run(&r, buf, (uint32_t)strlen(buf), 0, &rsp);
	if (e)
		*e = rsp.u.entry;
	return rc;
}

static int op_link(uint64_t node, uint64_t newparent, const char *name,
		   struct xsh_rsp_entry *e)
{
	struct xsh_req r = mkreq(XSH_OP_LINK, node);
	struct xsh_rsp rsp;
	int rc;

	r.a.link.newparent = newparent;
	rc = run(&r, name, (uint32_t)strlen(name), 0, &rsp);
	if (e)
		*e = rsp.u.entry;
	return rc;
}

static int op_remove(uint16_t op, uint64_t parent, const char *name)
{
	struct xsh_req r = mkreq(op, parent);

	return run(&r, name, (uint32_t)strlen(name), 0, NULL);
}

static int op_rename(uint64_t p, const char *name, uint64_t np,
		     const char *newname, uint32_t flags)
{
	struct xsh_req r = mkreq(XSH_OP_RENAME, p);
	char buf[600];

	r.a.rename.newparent = np;
	r.a.rename.name_len = (uint32_t)strlen(name);
	r.a.rename.flags = flags;
	snprintf(buf, sizeof(buf), "%s%s", name, newname);
	return run(&r, buf, (uint32_t)strlen(buf), 0, NULL);
}

static int op_open(uint16_t op, uint64_t node, uint32_t flags, uint64_t *fh)
{
	struct xsh_req r = mkreq(op, node);
	struct xsh_rsp rsp;
	int rc;

	r.a.open.flags = flags;
	rc = run(&r, NULL, 0, 0, &rsp);
	if (fh)
		*fh = rsp.u.fh;
	return rc;
}

static int op_release(uint16_t op, uint64_t node, uint64_t fh)
{
	struct xsh_req r = mkreq(op, node);

	r.fh = fh;
	return run(&r, NULL, 0, 0, NULL);
}

static int op_read(uint64_t node, uint64_t fh, uint64_t off, uint32_t size,
		   void *out, uint32_t *got)
{
	struct xsh_req r = mkreq(XSH_OP_READ, node);
	struct xsh_rsp rsp;
	int rc;

	r.fh = fh;
	r.a.io.offset = off;
	r.a.io.size = size;
	rc = run(&r, NULL, 0, size, &rsp);
	if (!rc) {
		memcpy(out, data + buf_base, rsp.out_len);
		*got = rsp.out_len;
	}
	return rc;
}

static int op_write(uint64_t node, uint64_t fh, uint64_t off,
		    const void *buf, uint32_t len, uint64_t *count)
{
	struct xsh_req r = mkreq(XSH_OP_WRITE, node);
	struct xsh_rsp rsp;
	int rc;

	r.fh = fh;
	r.a.io.offset = off;
	r.a.io.size = len;
	rc = run(&r, buf, len, 0, &rsp);
	if (count)
		*count = rsp.u.count;
	return rc;
}

static int op_getattr(uint64_t node, struct xsh_attr *a)
{
	struct xsh_req r = mkreq(XSH_OP_GETATTR, node);
	struct xsh_rsp rsp;
	int rc = run(&r, NULL, 0, 0, &rsp);

	if (a)
		*a = rsp.u.entry.attr;
	return rc;
}

static int op_setattr(uint64_t node, uint64_t fh,
		      const struct xsh_args_setattr *sa, struct xsh_attr *a)
{
	struct xsh_req r = mkreq(XSH_OP_SETATTR, node);
	struct xsh_rsp rsp;
	int rc;

	r.fh = fh;
	r.a.setattr = *sa;
	rc = run(&r, NULL, 0, 0, &rsp);
	if (a)
		*a = rsp.u.entry.attr;
	return rc;
}

static int op_forget(uint64_t node, uint64_t n)
{
	struct xsh_req r = mkreq(XSH_OP_FORGET, 0);
	struct xsh_forget_one f = { .nodeid = node, .nlookup = n };

	return run(&r, &f, sizeof(f), 0, NULL);
}

static int op_readdir(bool plus, uint64_t node, uint64_t fh, uint64_t cookie,
		      uint32_t size, uint32_t *out_len)
{
	struct xsh_req r = mkreq(plus ? XSH_OP_READDIRPLUS : XSH_OP_READDIR, node);
	struct xsh_rsp rsp;
	int rc;

	r.fh = fh;
	r.a.io.offset = cookie;
	r.a.io.size = size;
	rc = run(&r, NULL, 0, size, &rsp);
	*out_len = rsp.out_len;
	return rc;
}

static void set_policy(void (*edit)(struct xsh_policy *p))
{
	struct xsh_policy p;

	xsh_policy_default(&p);
	if (edit)
		edit(&p);
	xsh_export_set_policy(export_, &p);
}

static int host_stat(const char *rel, struct stat *st)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, st);
}

static char *host_path(const char *rel)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return p;
}

/* ---- tests ------------------------------------------------------------- */

static void test_basic_io(void)
{
	struct xsh_rsp_entry e = { 0 }, e2 = { 0 };
	struct xsh_attr a;
	char why[200] = "", buf[64];
	uint64_t count, fh;
	uint32_t got;
	struct stat st;
	int rc;

	rc = op_lookup(ROOT, "missing", NULL);
	CHECK(rc == -ENOENT, "lookup missing: %d", rc);
	rc = op_create(ROOT, "f", O_RDWR, 0666, 022, &e);
	CHECK(rc == 0, "create: %d", rc);
	CHECK(e.nodeid > ROOT && e.fh && S_ISREG(e.attr.mode) &&
		      (e.attr.mode & 07777) == 0644,
	      "create entry: node %llx fh %llx mode %o",
	      (unsigned long long)e.nodeid, (unsigned long long)e.fh,
	      e.attr.mode);
	rc = op_write(e.nodeid, e.fh, 0, "hello world", 11, &count);
	CHECK(rc == 0 && count == 11, "write: %d count %llu", rc,
	      (unsigned long long)count);
	rc = op_read(e.nodeid, e.fh, 6, 32, buf, &got);
	CHECK(rc == 0 && got == 5 && !memcmp(buf, "world", 5),
	      "read: %d got %u", rc, got);
	rc = op_read(e.nodeid, e.fh, 100, 32, buf, &got);
	CHECK(rc == 0 && got == 0, "read past EOF: %d got %u", rc, got);
	rc = op_getattr(e.nodeid, &a);
	CHECK(rc == 0 && a.size == 11 && a.nlink == 1, "getattr: %d size %llu",
	      rc, (unsigned long long)a.size);
	CHECK(host_stat("f", &st) == 0 && st.st_size == 11 &&
		      st.st_ino == a.ino,
	      "host file not as written");
	rc = op_lookup(ROOT, "f", &e2);
	CHECK(rc == 0 && e2.nodeid == e.nodeid && e2.generation == e.generation,
	      "second lookup: %d node %llx vs %llx", rc,
	      (unsigned long long)e2.nodeid, (unsigned long long)e.nodeid);
	rc = op_release(XSH_OP_RELEASE, e.nodeid, e.fh);
	CHECK(rc == 0, "release: %d", rc);
	rc = op_open(XSH_OP_OPEN, e.nodeid, O_RDONLY, &fh);
	CHECK(rc == 0, "open: %d", rc);
	rc = op_write(e.nodeid, fh, 0, "x", 1, NULL);
	CHECK(rc == -EBADF, "write to read-only handle: %d", rc);
	rc = op_release(XSH_OP_RELEASE, e.nodeid, fh);
	CHECK(rc == 0, "release: %d", rc);
	rc = op_forget(e.nodeid, 2);
	CHECK(rc == 0, "forget: %d", rc);
	rc = op_getattr(e.nodeid, NULL);
	CHECK(rc == -ESTALE, "getattr after forget: %d", rc);
out:
	result(!why[0], "create, write, read, lookup finds the same node",
	       "%s", why);
}

/* A dedup link (backend/service/dedup.h): the export's name and a store
 * name outside it share one marked inode.  A guest's chmod gives its name
 * a private copy; the node keeps its id, an open handle follows, and the
 * store's inode keeps its bytes and mode.  A hard link the guest makes
 * itself carries no mark and stays a hard link. */
static void test_dedup_link(void)
{
	struct xsh_args_setattr sa = { .valid = XSH_SETATTR_MODE, .mode = 0600 };
	char why[200] = "", store[64], buf[16];
	struct xsh_rsp_entry e = { 0 }, h = { 0 };
	struct stat st, sst, hst;
	struct xsh_attr a;
	uint64_t fh = 0, wfh = 0;
	uint32_t got;
	int fd;

	snprintf(store, sizeof(store), "/tmp/xs-store-XXXXXX");
	fd = mkstemp(store);
	if (fd < 0 || write(fd, "shared", 6) != 6 || fchmod(fd, 0644) ||
	    fsetxattr(fd, "security.xenshare.dedup", "1", 1, 0) ||
	    link(store, host_path("dd"))) {
		skip("a guest's change breaks a dedup link", "no security xattrs "
		     "or no link from /tmp into the export");
		if (fd >= 0)
			close(fd);
		unlink(store);
		return;
	}
	close(fd);
	CHECK(op_lookup(ROOT, "dd", &e) == 0, "lookup dd");
	CHECK(op_open(XSH_OP_OPEN, e.nodeid, O_RDONLY, &fh) == 0, "open");
	CHECK(op_setattr(e.nodeid, 0, &sa, &a) == 0, "chmod");
	CHECK(host_stat("dd", &st) == 0 && stat(store, &sst) == 0, "stat");
	CHECK(st.st_ino != sst.st_ino && st.st_nlink == 1 && sst.st_nlink == 1,
	      "still linked: ino %lu/%lu nlink %lu", (unsigned long)st.st_ino,
	      (unsigned long)sst.st_ino, (unsigned long)st.st_nlink);
	CHECK((st.st_mode & 07777) == 0600 && (sst.st_mode & 07777) == 0644,
	      "modes %o (export) %o (store)", st.st_mode & 07777,
	      sst.st_mode & 07777);
	CHECK(a.ino == st.st_ino, "the node did not follow: ino %llu",
	      (unsigned long long)a.ino);
	CHECK(op_open(XSH_OP_OPEN, e.nodeid, O_WRONLY, &wfh) == 0, "open w");
	CHECK(op_write(e.nodeid, wfh, 0, "SH", 2, NULL) == 0, "write");
	CHECK(op_read(e.nodeid, fh, 0, sizeof(buf), buf, &got) == 0 &&
		      got == 6 && !memcmp(buf, "SHared", 6),
	      "the open handle did not follow: %.*s", (int)got, buf);
	fd = open(store, O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, 6) == 6 && !memcmp(buf, "shared", 6),
	      "the store's bytes changed");
	close(fd);
	/* The guest's own hard link: no mark, so a chmod keeps it. */
	CHECK(op_link(e.nodeid, ROOT, "dd2", &h) == 0, "link");
	sa.mode = 0640;
	CHECK(op_setattr(h.nodeid, 0, &sa, NULL) == 0, "chmod link");
	CHECK(host_stat("dd", &st) == 0 && host_stat("dd2", &hst) == 0 &&
		      st.st_ino == hst.st_ino && st.st_nlink == 2,
	      "the guest's hard link was split");
out:
	if (wfh)
		op_release(XSH_OP_RELEASE, e.nodeid, wfh);
	if (fh)
		op_release(XSH_OP_RELEASE, e.nodeid, fh);
	if (e.nodeid)
		op_forget(e.nodeid, 1);
	if (h.nodeid)
		op_forget(h.nodeid, 1);
	unlink(store);
	unlink(host_path("dd"));
	unlink(host_path("dd2"));
	result(!why[0], "a guest's change breaks a dedup link, not its own "
	       "hard link", "%s", why);
}

static void test_create_umask_excl(void)
{
	struct xsh_rsp_entry e = { 0 };
	char why[200] = "";
	struct stat st;
	int rc;

	rc = op_create(ROOT, "um", O_WRONLY | O_EXCL, 0777, 0, &e);
	CHECK(rc == 0, "create: %d", rc);
	CHECK(host_stat("um", &st) == 0 && (st.st_mode & 07777) == 0777,
	      "mode %o with umask 0", st.st_mode & 07777);
	op_release(XSH_OP_RELEASE, e.nodeid, e.fh);
	rc = op_create(ROOT, "um", O_WRONLY | O_EXCL, 0666, 0, NULL);
	CHECK(rc == -EEXIST, "O_EXCL on existing: %d", rc);
	rc = op_create(ROOT, "um", O_RDWR | O_TRUNC, 0666, 0, &e);
	CHECK(rc == 0 && e.fh, "create existing without O_EXCL: %d", rc);
	op_release(XSH_OP_RELEASE, e.nodeid, e.fh);
	op_forget(e.nodeid, 2);
	op_remove(XSH_OP_UNLINK, ROOT, "um");
out:
	result(!why[0], "create applies the guest umask only, O_EXCL honoured",
	       "%s", why);
}

static void test_link_rename_unlink(void)
{
	struct xsh_rsp_entry f = { 0 }, g = { 0 }, d = { 0 }, h = { 0 };
	char why[200] = "";
	struct stat st;
	struct xsh_attr a;
	int rc;

	rc = op_create(ROOT, "lf", O_WRONLY, 0644, 0, &f);
	CHECK(rc == 0, "create: %d", rc);
	op_release(XSH_OP_RELEASE, f.nodeid, f.fh);
	rc = op_link(f.nodeid, ROOT, "lg", &g);
	CHECK(rc == 0 && g.nodeid == f.nodeid && g.attr.nlink == 2,
	      "link: %d node %llx nlink %u", rc, (unsigned long long)g.nodeid,
	      g.attr.nlink);
	rc = op_mkdir(ROOT, "ld", 0755, &d);
	CHECK(rc == 0 && S_ISDIR(d.attr.mode), "mkdir: %d", rc);
	rc = op_rename(ROOT, "lg", d.nodeid, "lh", 0);
	CHECK(rc == 0, "rename: %d", rc);
	CHECK(host_stat("ld/lh", &st) == 0 && host_stat("lg", &st) != 0,
	      "host does not show the rename");
	rc = op_lookup(d.nodeid, "lh", &h);
	CHECK(rc == 0 && h.nodeid == f.nodeid, "lookup renamed: %d", rc);
	rc = op_rename(ROOT, "lf", d.nodeid, "lh", 1);
	CHECK(rc == -EEXIST, "rename NOREPLACE onto existing: %d", rc);
	rc = op_remove(XSH_OP_UNLINK, ROOT, "lf");
	CHECK(rc == 0 && host_stat("lf", &st) != 0, "unlink: %d", rc);
	rc = op_getattr(f.nodeid, &a);
	CHECK(rc == 0 && a.nlink == 1, "node after unlink: %d nlink %u", rc,
	      a.nlink);
	rc = op_remove(XSH_OP_RMDIR, ROOT, "ld");
	CHECK(rc == -ENOTEMPTY, "rmdir non-empty: %d", rc);
	rc = op_remove(XSH_OP_UNLINK, d.nodeid, "lh");
	CHECK(rc == 0, "unlink lh: %d", rc);
	rc = op_remove(XSH_OP_RMDIR, ROOT, "ld");
	CHECK(rc == 0, "rmdir: %d", rc);
	rc = op_remove(XSH_OP_UNLINK, ROOT, "nonexistent");
	CHECK(rc == -ENOENT, "unlink missing: %d", rc);
	rc = op_lookup(f.nodeid, "x", NULL);
	CHECK(rc == -ENOTDIR, "lookup under a file: %d", rc);
	op_forget(f.nodeid, 3);
	op_forget(d.nodeid, 1);
out:
	result(!why[0], "link finds the same node; rename, unlink, rmdir",
	       "%s", why);
}

static void test_readdir(void)
{
	const struct xsh_dirent *d;
	const struct xsh_direntplus *dp;
	struct xsh_rsp_entry sub = { 0 }, e = { 0 };
	char why[200] = "", name[32];
	uint8_t seen[40];
	uint64_t fh = 0, cookie = 0, first_node = 0, plus_ids[40];
	uint32_t len, pos, calls = 0;
	const char *nm;
	int rc, i, n, dots = 0, total = 0, plus_nodes = 0;

	rc = op_mkdir(ROOT, "rd", 0755, &sub);
	CHECK(rc == 0, "mkdir: %d", rc);
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "entry%02d", i);
		rc = op_create(sub.nodeid, name, O_WRONLY, 0644, 0, &e);
		CHECK(rc == 0, "create %s: %d", name, rc);
		op_release(XSH_OP_RELEASE, e.nodeid, e.fh);
		op_forget(e.nodeid, 1);
	}
	rc = op_open(XSH_OP_OPENDIR, sub.nodeid, O_RDONLY | O_DIRECTORY, &fh);
	CHECK(rc == 0, "opendir: %d", rc);

	/* small pages: many calls, every entry exactly once */
	memset(seen, 0, sizeof(seen));
	for (;;) {
		rc = op_readdir(false, sub.nodeid, fh, cookie, 100, &len);
		CHECK(rc == 0, "readdir: %d", rc);
		if (!len)
			break;
		CHECK(++calls < 200, "readdir does not end");
		for (pos = 0; (n = xsh_codec_next_dirent(data, len, pos, &d,
							&nm)) > 0;
		     pos += (uint32_t)n) {
			cookie = d->off;
			if ((d->namelen == 1 && nm[0] == '.') ||
			    (d->namelen == 2 && !memcmp(nm, "..", 2))) {
				dots++;
				continue;
			}
			CHECK(d->namelen == 7 && !memcmp(nm, "entry", 5),
			      "odd name");
			i = (nm[5] - '0') * 10 + (nm[6] - '0');
			CHECK(i >= 0 && i < 40 && !seen[i], "entry %d twice", i);
			seen[i] = 1;
			total++;
		}
		CHECK(n == 0, "malformed readdir output: %d", n);
	}
	CHECK(total == 40 && dots == 2 && calls > 5,
	      "readdir saw %d entries, %d dots in %u calls", total, dots,
	      calls);

	rc = op_readdir(false, sub.nodeid, fh, 0, 10, &len);
	CHECK(rc == -EINVAL, "readdir with no room for one record: %d", rc);

	/* rewind to 0 and read with readdirplus in one go */
	rc = op_readdir(true, sub.nodeid, fh, 0, 65536, &len);
	CHECK(rc == 0 && len > 0, "readdirplus: %d", rc);
	dots = total = 0;
	for (pos = 0; (n = xsh_codec_next_direntplus(data, len, pos, &dp,
						    &nm)) > 0;
	     pos += (uint32_t)n) {
		if ((dp->dirent.namelen == 1 && nm[0] == '.') ||
		    (dp->dirent.namelen == 2 && !memcmp(nm, "..", 2))) {
			CHECK(dp->entry.nodeid == 0, "dot with a node id");
			dots++;
			continue;
		}
		CHECK(dp->entry.nodeid > ROOT && S_ISREG(dp->entry.attr.mode) &&
			      dp->entry.attr.ino == dp->dirent.ino,
		      "readdirplus entry without attributes");
		if (!memcmp(nm, "entry00", 7))
			first_node = dp->entry.nodeid;
		else if (plus_nodes < 40)
			plus_ids[plus_nodes++] = dp->entry.nodeid;
		total++;
	}
	CHECK(n == 0 && total == 40 && dots == 2, "readdirplus saw %d/%d (%d)",
	      total, dots, n);
	/* each record counted one lookup: a lookup now finds the same node
	 * and one forget of 2 makes it stale */
	rc = op_lookup(sub.nodeid, "entry00", &e);
	CHECK(rc == 0 && e.nodeid == first_node, "lookup after readdirplus");
	op_forget(first_node, 1);
	CHECK(op_getattr(first_node, NULL) == 0,
	      "readdirplus did not count a lookup");
	op_forget(first_node, 1);
	CHECK(op_getattr(first_node, NULL) == -ESTALE,
	      "readdirplus counted more than one lookup");
	for (i = 0; i < plus_nodes; i++)
		op_forget(plus_ids[i], 1);

	/* an entry that vanishes between getdents and lookup is skipped */
	rc = op_readdir(true, sub.nodeid, fh, 0, 400, &len);
	CHECK(rc == 0, "readdirplus first page: %d", rc);
	for (pos = 0; (n = xsh_codec_next_direntplus(data, len, pos, &dp,
						    &nm)) > 0;
	     pos += (uint32_t)n) {
		cookie = dp->dirent.off;
		if (dp->entry.nodeid)
			op_forget(dp->entry.nodeid, 1);
	}
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "rd/entry%02d", i);
		unlink(host_path(name));
	}
	rc = op_readdir(true, sub.nodeid, fh, cookie, 65536, &len);
	CHECK(rc == 0, "readdirplus after unlink: %d", rc);
	for (pos = 0; (n = xsh_codec_next_direntplus(data, len, pos, &dp,
						    &nm)) > 0;
	     pos += (uint32_t)n)
		CHECK(dp->entry.nodeid == 0 && nm[0] == '.',
		      "vanished entry %.*s listed", dp->dirent.namelen, nm);

	rc = op_readdir(false, sub.nodeid, fh + 1, 0, 4096, &len);
	CHECK(rc == -EBADF, "readdir with a bad fh: %d", rc);
	rc = op_release(XSH_OP_RELEASEDIR, sub.nodeid, fh);
	CHECK(rc == 0, "releasedir: %d", rc);
	rc = op_readdir(false, sub.nodeid, fh, 0, 4096, &len);
	CHECK(rc == -EBADF, "readdir after releasedir: %d", rc);
out:
	op_release(XSH_OP_RELEASEDIR, sub.nodeid, fh);
	op_remove(XSH_OP_RMDIR, ROOT, "rd");
	op_forget(sub.nodeid, 1);
	result(!why[0], "readdir pages, readdirplus counts lookups", "%s", why);
}

static void test_symlink_escape(void)
{
	struct xsh_rsp_entry l = { 0 }, lf = { 0 }, fifo = { 0 }, e = { 0 };
	struct xsh_args_setattr sa;
	struct xsh_req r;
	struct xsh_rsp rsp;
	char why[200] = "", buf[64];
	uint64_t fh;
	struct stat st;
	int rc, fd;

	CHECK(symlink("/etc", host_path("evil")) == 0, "symlink: %m");
	CHECK(symlink(outside, host_path("evilf")) == 0, "symlink: %m");
	CHECK(mkfifo(host_path("fifo"), 0666) == 0, "mkfifo: %m");

	rc = op_lookup(ROOT, "evil", &l);
	CHECK(rc == 0 && S_ISLNK(l.attr.mode), "lookup evil: %d mode %o", rc,
	      l.attr.mode);
	rc = op_lookup(l.nodeid, "passwd", NULL);
	CHECK(rc == -ENOTDIR || rc == -ELOOP,
	      "lookup under the symlink: %d", rc);
	rc = op_open(XSH_OP_OPEN, l.nodeid, O_RDONLY, &fh);
	CHECK(rc == -ELOOP, "open of the symlink: %d", rc);
	rc = op_open(XSH_OP_OPENDIR, l.nodeid, O_RDONLY, &fh);
	CHECK(rc == -ENOTDIR, "opendir of the symlink: %d", rc);
	r = mkreq(XSH_OP_READLINK, l.nodeid);
	rc = run(&r, NULL, 0, 4096, &rsp);
	CHECK(rc == 0 && rsp.out_len == 4 && !memcmp(data, "/etc", 4),
	      "readlink: %d", rc);
	r = mkreq(XSH_OP_READLINK, l.nodeid);
	rc = run(&r, NULL, 0, 2, &rsp);
	CHECK(rc == -ERANGE, "readlink into 2 bytes: %d", rc);
	r = mkreq(XSH_OP_GETXATTR, l.nodeid);
	rc = run(&r, "user.x", 6, 0, NULL);
	CHECK(rc == -ENODATA, "getxattr on symlink: %d", rc);
	r = mkreq(XSH_OP_SETXATTR, l.nodeid);
	r.a.xattr.name_len = 6;
	rc = run(&r, "user.xv", 7, 0, NULL);
	CHECK(rc == -EPERM, "setxattr on symlink: %d", rc);
	memset(&sa, 0, sizeof(sa));
	sa.valid = XSH_SETATTR_MODE;
	sa.mode = 0600;
	rc = op_setattr(l.nodeid, 0, &sa, NULL);
	CHECK(rc == -EOPNOTSUPP, "chmod of symlink: %d", rc);
	CHECK(stat("/etc", &st) == 0 && (st.st_mode & 07777) != 0600,
	      "chmod reached /etc");
	sa.valid = XSH_SETATTR_MTIME;
	sa.mtime = 12345;
	rc = op_setattr(l.nodeid, 0, &sa, NULL);
	CHECK(rc == 0 && host_stat("evil", &st) == 0 &&
		      st.st_mtim.tv_sec == 12345,
	      "utimes on symlink: %d", rc);

	rc = op_lookup(ROOT, "evilf", &lf);
	CHECK(rc == 0, "lookup evilf: %d", rc);
	rc = op_open(XSH_OP_OPEN, lf.nodeid, O_RDWR | O_TRUNC, &fh);
	CHECK(rc == -ELOOP, "open symlink to outside: %d", rc);
	rc = op_create(ROOT, "evilf", O_RDWR | O_TRUNC, 0644, 0, &e);
	CHECK(rc == -ELOOP, "create through symlink: %d", rc);
	sa.valid = XSH_SETATTR_SIZE;
	sa.size = 0;
	rc = op_setattr(lf.nodeid, 0, &sa, NULL);
	CHECK(rc == -EINVAL, "truncate symlink: %d", rc);
	fd = open(outside, O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 6, "outside file changed");
	close(fd);
	rc = op_link(lf.nodeid, ROOT, "evilf2", &e);
	CHECK(rc == 0 && e.nodeid == lf.nodeid && host_stat("evilf2", &st) == 0 &&
		      S_ISLNK(st.st_mode),
	      "link of a symlink links the symlink: %d", rc);
	op_forget(e.nodeid, 1);

	rc = op_lookup(ROOT, "fifo", &fifo);
	CHECK(rc == 0 && S_ISFIFO(fifo.attr.mode), "lookup fifo: %d", rc);
	rc = op_open(XSH_OP_OPEN, fifo.nodeid, O_RDONLY, &fh);
	CHECK(rc == -EACCES, "open fifo: %d", rc);
	rc = op_create(ROOT, "fifo", O_WRONLY, 0644, 0, &e);
	CHECK(rc == -EACCES, "create over a fifo: %d", rc);
	r = mkreq(XSH_OP_LISTXATTR, fifo.nodeid);
	rc = run(&r, NULL, 0, 0, &rsp);
	CHECK(rc == 0 && rsp.u.count == 0, "listxattr of fifo: %d", rc);
	rc = op_remove(XSH_OP_UNLINK, ROOT, "fifo");
	CHECK(rc == 0, "unlink fifo: %d", rc);

	op_forget(l.nodeid, 1);
	op_forget(lf.nodeid, 1);
	op_forget(fifo.nodeid, 1);
	op_remove(XSH_OP_UNLINK, ROOT, "evil");
	op_remove(XSH_OP_UNLINK, ROOT, "evilf");
	op_remove(XSH_OP_UNLINK, ROOT, "evilf2");
out:
	result(!why[0],
	       "host symlinks and special files are never followed or opened",
	       "%s", why);
}

static void test_guest_symlink(void)
{
	struct xsh_rsp_entry l = { 0 };
	char why[200] = "", buf[64];
	ssize_t n;
	int rc;

	rc = op_symlink(ROOT, "gl", "../../../etc/shadow", &l);
	CHECK(rc == 0 && S_ISLNK(l.attr.mode), "symlink: %d", rc);
	n = readlink(host_path("gl"), buf, sizeof(buf));
	CHECK(n == 19 && !memcmp(buf, "../../../etc/shadow", 19),
	      "host target wrong: %zd %.*s", n, (int)(n > 0 ? n : 0), buf);
	rc = op_lookup(l.nodeid, "x", NULL);
	CHECK(rc == -ENOTDIR, "lookup under guest symlink: %d", rc);
	op_forget(l.nodeid, 1);
	op_remove(XSH_OP_UNLINK, ROOT, "gl");
out:
	result(!why[0], "guest symlinks are stored, not followed", "%s", why);
}

static void test_stale(void)
{
	struct xsh_rsp_entry e = { 0 }, e2 = { 0 };
	char why[200] = "", buf[8];
	uint64_t fh, fh2;
	uint32_t got;
	int rc;

	rc = op_getattr(0, NULL);
	CHECK(rc == -ESTALE, "node 0: %d", rc);
	rc = op_getattr(0x12345678ull, NULL);
	CHECK(rc == -ESTALE, "unknown index: %d", rc);
	rc = op_getattr(((uint64_t)7 << 32) | ROOT, NULL);
	CHECK(rc == -ESTALE, "root index with a wrong generation: %d", rc);
	rc = op_lookup(0xdeadbeefull, "x", NULL);
	CHECK(rc == -ESTALE, "lookup under unknown parent: %d", rc);

	rc = op_create(ROOT, "st", O_RDWR, 0644, 0, &e);
	CHECK(rc == 0, "create: %d", rc);
	fh = e.fh;
	rc = op_read(e.nodeid, fh ^ (1ull << 32), 0, 8, buf, &got);
	CHECK(rc == -EBADF, "fh with a wrong generation: %d", rc);
	rc = op_read(e.nodeid, 0, 0, 8, buf, &got);
	CHECK(rc == -EBADF, "fh 0: %d", rc);
	rc = op_read(e.nodeid, 0xffffffffull, 0, 8, buf, &got);
	CHECK(rc == -EBADF, "fh index out of range: %d", rc);
	rc = op_read(ROOT, fh, 0, 8, buf, &got);
	CHECK(rc == -EBADF, "fh used with another node: %d", rc);
	rc = op_readdir(false, e.nodeid, fh, 0, 4096, &got);
	CHECK(rc == -EBADF, "file handle used as a directory: %d", rc);
	rc = op_release(XSH_OP_RELEASE, e.nodeid, fh);
	CHECK(rc == 0, "release: %d", rc);
	rc = op_read(e.nodeid, fh, 0, 8, buf, &got);
	CHECK(rc == -EBADF, "read after release: %d", rc);
	rc = op_release(XSH_OP_RELEASE, e.nodeid, fh);
	CHECK(rc == -EBADF, "double release: %d", rc);
	/* the slot is reused with a new generation */
	rc = op_open(XSH_OP_OPEN, e.nodeid, O_RDONLY, &fh2);
	CHECK(rc == 0 && fh2 != fh && (uint32_t)fh2 == (uint32_t)fh,
	      "reopen: %d fh %llx old %llx", rc, (unsigned long long)fh2,
	      (unsigned long long)fh);
	rc = op_read(e.nodeid, fh, 0, 8, buf, &got);
	CHECK(rc == -EBADF, "old fh on a reused slot: %d", rc);
	op_release(XSH_OP_RELEASE, e.nodeid, fh2);

	/* forget more than held: saturates at zero, node freed */
	rc = op_forget(e.nodeid, ~0ull);
	CHECK(rc == 0, "forget: %d", rc);
	rc = op_getattr(e.nodeid, NULL);
	CHECK(rc == -ESTALE, "getattr after forget: %d", rc);
	rc = op_forget(e.nodeid, 5);
	CHECK(rc == 0, "forget of a stale node: %d", rc);
	rc = op_lookup(ROOT, "st", &e2);
	CHECK(rc == 0 && e2.nodeid != e.nodeid &&
		      (uint32_t)e2.nodeid == (uint32_t)e.nodeid,
	      "relookup: %d node %llx old %llx", rc,
	      (unsigned long long)e2.nodeid, (unsigned long long)e.nodeid);
	rc = op_forget(e2.nodeid, 1);
	CHECK(op_getattr(e2.nodeid, NULL) == -ESTALE,
	      "count after relookup was not 1");
	rc = op_forget(ROOT, 1000);
	CHECK(op_getattr(ROOT, NULL) == 0, "root was forgotten");
	op_remove(XSH_OP_UNLINK, ROOT, "st");
out:
	result(!why[0], "stale node ids, stale handles, forget saturates",
	       "%s", why);
}

static void pol_handles(struct xsh_policy *p)
{
	p->max_handles = 3;
	p->max_nodes = 4;
}

static void test_limits(void)
{
	struct xsh_rsp_entry e = { 0 }, n[5];
	char why[200] = "", name[8];
	uint64_t fh[4];
	int rc, i;

	rc = op_create(ROOT, "lim", O_RDWR, 0644, 0, &e);
	CHECK(rc == 0, "create: %d", rc);
	op_release(XSH_OP_RELEASE, e.nodeid, e.fh);
	set_policy(pol_handles);
	for (i = 0; i < 3; i++) {
		rc = op_open(XSH_OP_OPEN, e.nodeid, O_RDONLY, &fh[i]);
		CHECK(rc == 0, "open %d: %d", i, rc);
	}
	rc = op_open(XSH_OP_OPEN, e.nodeid, O_RDONLY, &fh[3]);
	CHECK(rc == -EMFILE, "open over max_handles: %d", rc);
	rc = op_open(XSH_OP_OPENDIR, ROOT, O_RDONLY, &fh[3]);
	CHECK(rc == -EMFILE, "opendir over max_handles: %d", rc);
	rc = op_create(ROOT, "lim2", O_RDWR, 0644, 0, NULL);
	CHECK(rc == -EMFILE, "create over max_handles: %d", rc);
	CHECK(op_lookup(ROOT, "lim2", &n[0]) == 0, "create left no file");
	op_forget(n[0].nodeid, 1);
	op_remove(XSH_OP_UNLINK, ROOT, "lim2");
	op_release(XSH_OP_RELEASE, e.nodeid, fh[0]);
	rc = op_open(XSH_OP_OPEN, e.nodeid, O_RDONLY, &fh[0]);
	CHECK(rc == 0, "open after release: %d", rc);
	for (i = 0; i < 3; i++)
		op_release(XSH_OP_RELEASE, e.nodeid, fh[i]);

	/* lim is node 1 of 4 */
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		rc = op_mkdir(ROOT, name, 0755, &n[i]);
		CHECK(rc == 0, "mkdir %s: %d", name, rc);
	}
	rc = op_mkdir(ROOT, "n3", 0755, &n[3]);
	CHECK(rc == -ENFILE, "node over max_nodes: %d", rc);
	rc = op_lookup(ROOT, "n0", &n[4]);
	CHECK(rc == 0 && n[4].nodeid == n[0].nodeid,
	      "lookup of a known node at the limit: %d", rc);
	op_forget(n[0].nodeid, 2);
	rc = op_lookup(ROOT, "n3", &n[3]);
	CHECK(rc == 0, "lookup after a forget: %d", rc);
	op_forget(n[3].nodeid, 1);
	op_forget(n[1].nodeid, 1);
	op_forget(n[2].nodeid, 1);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		op_remove(XSH_OP_RMDIR, ROOT, name);
	}
out:
	set_policy(NULL);
	op_forget(e.nodeid, 1);
	op_remove(XSH_OP_UNLINK, ROOT, "lim");
	result(!why[0], "max_handles gives EMFILE, max_nodes gives ENFILE",
	       "%s", why);
}

static void pol_ro(struct xsh_policy *p)
{
	p->read_only = true;
}

static void test_read_only(void)
{
	struct xsh_rsp_entry f = { 0 }, d = { 0 };
	struct xsh_req r;
	struct xsh_rsp rsp;
	char why[200] = "";
	uint64_t fh = 0, rfh;
	uint32_t got;
	char buf[8];
	int rc;
	struct {
		const char *what;
		uint16_t op;
		uint64_t node;
		const char *in;
		uint32_t name_len;
		int kind;	/* 0 plain, 1 needs fh, 2 args set below */
	} ops[] = {
		{ "setattr", XSH_OP_SETATTR, 0, NULL, 0, 2 },
		{ "setxattr", XSH_OP_SETXATTR, 0, "user.av", 6, 0 },
		{ "removexattr", XSH_OP_REMOVEXATTR, 0, "user.a", 0, 0 },
		{ "fallocate", XSH_OP_FALLOCATE, 0, NULL, 0, 1 },
		{ "copy_file_range", XSH_OP_COPY_FILE_RANGE, 0, NULL, 0, 1 },
		{ "mknod", XSH_OP_MKNOD, ROOT, "p", 0, 2 },
		{ "mkdir", XSH_OP_MKDIR, ROOT, "d2", 0, 0 },
		{ "symlink", XSH_OP_SYMLINK, ROOT, "sx", 1, 0 },
		{ "link", XSH_OP_LINK, 0, "l2", 0, 2 },
		{ "unlink", XSH_OP_UNLINK, ROOT, "rof", 0, 0 },
		{ "rmdir", XSH_OP_RMDIR, ROOT, "rod", 0, 0 },
		{ "rename", XSH_OP_RENAME, ROOT, "rofx", 3, 2 },
		{ "write", XSH_OP_WRITE, 0, "x", 0, 1 },
		{ "create", XSH_OP_CREATE, ROOT, "new", 0, 2 },
		{ "open O_WRONLY", XSH_OP_OPEN, 0, NULL, O_WRONLY, 3 },
		{ "open O_RDWR", XSH_OP_OPEN, 0, NULL, O_RDWR, 3 },
		{ "open O_RDONLY|O_TRUNC", XSH_OP_OPEN, 0, NULL,
		  O_RDONLY | O_TRUNC, 3 },
	};
	size_t i;

	rc = op_create(ROOT, "rof", O_RDWR, 0644, 0, &f);
	CHECK(rc == 0, "create: %d", rc);
	fh = f.fh;
	rc = op_write(f.nodeid, fh, 0, "data", 4, NULL);
	CHECK(rc == 0, "write: %d", rc);
	rc = op_mkdir(ROOT, "rod", 0755, &d);
	CHECK(rc == 0, "mkdir: %d", rc);
	set_policy(pol_ro);

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		uint32_t in_len = ops[i].in ? (uint32_t)strlen(ops[i].in) : 0;

		r = mkreq(ops[i].op, ops[i].node ? ops[i].node : f.nodeid);
		if (ops[i].kind == 1) {
			r.fh = fh;
			r.a.io.size = in_len;
			if (ops[i].op == XSH_OP_FALLOCATE)
				r.a.fallocate.length = 10;
			if (ops[i].op == XSH_OP_COPY_FILE_RANGE) {
				r.a.copy.nodeid_out = f.nodeid;
				r.a.copy.fh_out = fh;
				r.a.copy.off_out = 100;
				r.a.copy.len = 4;
			}
		}
		switch (ops[i].op) {
		case XSH_OP_SETATTR:
			r.a.setattr.valid = XSH_SETATTR_MODE;
			r.a.setattr.mode = 0600;
			break;
		case XSH_OP_MKNOD:
			r.a.mknod.mode = S_IFIFO | 0644;
			break;
		case XSH_OP_SETXATTR:
			r.a.xattr.name_len = ops[i].name_len;
			break;
		case XSH_OP_SYMLINK:
			r.a.symlink.name_len = ops[i].name_len;
			break;
		case XSH_OP_LINK:
			r.a.link.newparent = ROOT;
			break;
		case XSH_OP_RENAME:
			r.a.rename.newparent = ROOT;
			r.a.rename.name_len = ops[i].name_len;
			break;
		case XSH_OP_CREATE:
			r.a.open.flags = O_CREAT | O_RDONLY;
			r.a.open.mode = 0644;
			break;
		case XSH_OP_OPEN:
			r.a.open.flags = ops[i].name_len;
			break;
		}
		rc = run(&r, ops[i].in, in_len, 0, &rsp);
		CHECK(rc == -EROFS, "%s: %d", ops[i].what, rc);
	}
	CHECK(host_stat("rof", &(struct stat){ 0 }) == 0 &&
		      host_stat("rod", &(struct stat){ 0 }) == 0 &&
		      host_stat("new", &(struct stat){ 0 }) != 0,
	      "host changed under read-only");

	r = mkreq(XSH_OP_ACCESS, f.nodeid);
	r.a.access.mask = W_OK;
	rc = run(&r, NULL, 0, 0, NULL);
	CHECK(rc == -EROFS, "access W_OK: %d", rc);
	r.a.access.mask = R_OK;
	rc = run(&r, NULL, 0, 0, NULL);
	CHECK(rc == 0, "access R_OK: %d", rc);
	rc = op_open(XSH_OP_OPEN, f.nodeid, O_RDONLY, &rfh);
	CHECK(rc == 0, "read-only open: %d", rc);
	rc = op_read(f.nodeid, rfh, 0, 8, buf, &got);
	CHECK(rc == 0 && got == 4, "read: %d", rc);
	op_release(XSH_OP_RELEASE, f.nodeid, rfh);
	CHECK(op_lookup(ROOT, "rof", NULL) == 0, "lookup refused");
	op_forget(f.nodeid, 1);
	r = mkreq(XSH_OP_STATFS, ROOT);
	rc = run(&r, NULL, 0, 0, &rsp);
	CHECK(rc == 0 && (rsp.u.statfs.flags & XSH_STATFS_RDONLY) &&
		      rsp.u.statfs.blocks > 0 && rsp.u.statfs.namemax == 255,
	      "statfs: %d flags %u", rc, rsp.u.statfs.flags);
	set_policy(NULL);
	r = mkreq(XSH_OP_STATFS, ROOT);
	rc = run(&r, NULL, 0, 0, &rsp);
	CHECK(rc == 0 && !(rsp.u.statfs.flags & XSH_STATFS_RDONLY),
	      "statfs read-write: %d flags %u", rc, rsp.u.statfs.flags);
out:
	set_policy(NULL);
	op_release(XSH_OP_RELEASE, f.nodeid, fh);
	op_forget(f.nodeid, 1);
	op_forget(d.nodeid, 1);
	op_remove(XSH_OP_UNLINK, ROOT, "rof");
	op_remove(XSH_OP_RMDIR, ROOT, "rod");
	result(!why[0], "read-only policy: EROFS for every write op", "%s",
	       why);
}

static void pol_nosetid(struct xsh_policy *p)
{
	p->allow_setid = false;
	p->allow_devices = false;
}

static void pol_setid(struct xsh_policy *p)
{
	p->allow_setid = true;
}

static void test_owner(void)
{
	struct xsh_rsp_entry f = { 0 }, d = { 0 }, s = { 0 }, p = { 0 };
	struct xsh_rsp_entry sg = { 0 }, sf = { 0 }, sd = { 0 };
	struct xsh_args_setattr sa;
	char why[200] = "";
	struct stat st;
	int rc;

	if (!privileged) {
		skip("creation runs as the caller's uid/gid", "not root");
		return;
	}
	cur_uid = 1000;
	cur_gid = 1000;
	rc = op_create(ROOT, "own", O_WRONLY, 0644, 0, &f);
	CHECK(rc == 0, "create: %d", rc);
	op_release(XSH_OP_RELEASE, f.nodeid, f.fh);
	CHECK(host_stat("own", &st) == 0 && st.st_uid == 1000 &&
		      st.st_gid == 1000 && f.attr.uid == 1000,
	      "file owner %u:%u", st.st_uid, st.st_gid);
	rc = op_mkdir(ROOT, "ownd", 0755, &d);
	CHECK(rc == 0 && host_stat("ownd", &st) == 0 && st.st_uid == 1000,
	      "mkdir owner: %d %u", rc, st.st_uid);
	rc = op_symlink(ROOT, "owns", "t", &s);
	CHECK(rc == 0 && host_stat("owns", &st) == 0 && st.st_uid == 1000,
	      "symlink owner: %d %u", rc, st.st_uid);
	rc = op_mknod(XSH_OP_MKNOD, ROOT, "ownp", S_IFIFO | 0600, 0, &p);
	CHECK(rc == 0 && host_stat("ownp", &st) == 0 && st.st_uid == 1000 &&
		      S_ISFIFO(st.st_mode),
	      "mknod owner: %d %u", rc, st.st_uid);

	/* a setgid directory owned by another group, like ext4 */
	cur_uid = cur_gid = 0;
	rc = op_mkdir(ROOT, "sgid", 0777, &sg);
	CHECK(rc == 0, "mkdir sgid: %d", rc);
	memset(&sa, 0, sizeof(sa));
	sa.valid = XSH_SETATTR_GID | XSH_SETATTR_MODE;
	sa.gid = 2000;
	sa.mode = 02777;
	rc = op_setattr(sg.nodeid, 0, &sa, NULL);
	CHECK(rc == 0 && host_stat("sgid", &st) == 0 &&
		      (st.st_mode & 07777) == 02777 && st.st_gid == 2000,
	      "setgid dir: %d mode %o gid %u", rc, st.st_mode & 07777,
	      st.st_gid);
	cur_uid = cur_gid = 1000;
	set_policy(pol_setid);
	rc = op_create(sg.nodeid, "f", O_WRONLY, 02755, 0, &sf);
	set_policy(NULL);
	CHECK(rc == 0, "create in sgid dir: %d", rc);
	op_release(XSH_OP_RELEASE, sf.nodeid, sf.fh);
	CHECK(host_stat("sgid/f", &st) == 0 && st.st_gid == 2000 &&
		      st.st_uid == 1000 && !(st.st_mode & S_ISGID),
	      "file in sgid dir: %u:%u mode %o (set-gid for a group the "
	      "caller is not in must be dropped)",
	      st.st_uid, st.st_gid, st.st_mode & 07777);
	rc = op_mkdir(sg.nodeid, "d", 0755, &sd);
	CHECK(rc == 0 && host_stat("sgid/d", &st) == 0 && st.st_gid == 2000 &&
		      (st.st_mode & S_ISGID),
	      "dir in sgid dir: %d gid %u mode %o", rc, st.st_gid,
	      st.st_mode & 07777);
out:
	cur_uid = cur_gid = 0;
	result(!why[0], "creation runs as the caller's uid/gid", "%s", why);
	unlink(host_path("own"));
	rmdir(host_path("ownd"));
	unlink(host_path("owns"));
	unlink(host_path("ownp"));
	unlink(host_path("sgid/f"));
	rmdir(host_path("sgid/d"));
	rmdir(host_path("sgid"));
	op_forget(f.nodeid, 1);
	op_forget(d.nodeid, 1);
	op_forget(s.nodeid, 1);
	op_forget(p.nodeid, 1);
	op_forget(sg.nodeid, 1);
	op_forget(sf.nodeid, 1);
	op_forget(sd.nodeid, 1);
}

static void pol_range(struct xsh_policy *p)
{
	xsh_policy_parse_idmap(p, "range:100000");
}

static void test_idmap(void)
{
	struct xsh_rsp_entry f = { 0 };
	struct xsh_args_setattr sa;
	struct xsh_attr a;
	char why[200] = "";
	struct stat st;
	int rc;

	if (!privileged) {
		skip("id map range:100000", "not root");
		return;
	}
	set_policy(pol_range);
	cur_uid = cur_gid = 1000;
	rc = op_create(ROOT, "mapped", O_WRONLY, 0644, 0, &f);
	CHECK(rc == 0, "create: %d", rc);
	op_release(XSH_OP_RELEASE, f.nodeid, f.fh);
	CHECK(host_stat("mapped", &st) == 0 && st.st_uid == 101000 &&
		      st.st_gid == 101000,
	      "host owner %u:%u", st.st_uid, st.st_gid);
	CHECK(f.attr.uid == 1000 && f.attr.gid == 1000, "attr shows %u:%u",
	      f.attr.uid, f.attr.gid);
	memset(&sa, 0, sizeof(sa));
	sa.valid = XSH_SETATTR_UID;
	sa.uid = 2000;
	rc = op_setattr(f.nodeid, 0, &sa, &a);
	CHECK(rc == 0 && a.uid == 2000 && host_stat("mapped", &st) == 0 &&
		      st.st_uid == 102000,
	      "chown: %d attr %u host %u", rc, a.uid, st.st_uid);
	sa.uid = 70000;
	rc = op_setattr(f.nodeid, 0, &sa, &a);
	CHECK(rc == -EINVAL, "chown to an unmapped id: %d", rc);
	CHECK(chown(host_path("mapped"), 5, 5) == 0, "host chown");
	rc = op_getattr(f.nodeid, &a);
	CHECK(rc == 0 && a.uid == 65534, "host id outside the range: %u",
	      a.uid);
	cur_uid = 70000;
	rc = op_create(ROOT, "mapped2", O_WRONLY, 0644, 0, NULL);
	CHECK(rc == -EPERM, "create by an unmapped caller: %d", rc);
out:
	cur_uid = cur_gid = 0;
	set_policy(NULL);
	op_forget(f.nodeid, 1);
	unlink(host_path("mapped"));
	result(!why[0], "id map range:100000 in and out", "%s", why);
}

static void pol_squash_all(struct xsh_policy *p)
{
	xsh_policy_parse_idmap(p, "squash-all");
}

static void pol_squash_root(struct xsh_policy *p)
{
	xsh_policy_parse_idmap(p, "squash-root");
}

/* A squashed caller is checked on the host as the squashed id: every
 * guest user owns what any of them made; host root's files are used as
 * the squashed id may. */
static void test_idmap_squash(void)
{
	struct xsh_rsp_entry d = { 0 }, f = { 0 }, h = { 0 };
	struct xsh_args_setattr sa;
	struct xsh_attr a;
	char why[200] = "";
	uint64_t fh;
	int fd, rc;

	if (!privileged) {
		skip("id map squash-all, squash-root: owners", "not root");
		return;
	}
	CHECK(mkdir(host_path("sq"), 0755) == 0 &&
		      chmod(host_path("sq"), 01777) == 0, "host mkdir");
	fd = open(host_path("sq/rootf"), O_WRONLY | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0, "host file");
	close(fd);
	CHECK(op_lookup(ROOT, "sq", &d) == 0 &&
		      op_lookup(d.nodeid, "rootf", &h) == 0, "lookups");

	set_policy(pol_squash_all);
	cur_uid = cur_gid = 1000;
	rc = op_create(d.nodeid, "mine", O_WRONLY, 0644, 0, &f);
	CHECK(rc == 0 && f.attr.uid == 65534, "create: %d, owner %u", rc,
	      f.attr.uid);
	op_release(XSH_OP_RELEASE, f.nodeid, f.fh);
	cur_uid = cur_gid = 2000;
	rc = op_open(XSH_OP_OPEN, f.nodeid, O_WRONLY, &fh);
	CHECK(rc == 0, "another guest user opens it for writing: %d", rc);
	op_release(XSH_OP_RELEASE, f.nodeid, fh);
	memset(&sa, 0, sizeof(sa));
	sa.valid = XSH_SETATTR_MODE;
	sa.mode = 0600;
	rc = op_setattr(f.nodeid, 0, &sa, &a);
	CHECK(rc == 0 && (a.mode & 07777) == 0600, "chmod it: %d", rc);
	rc = op_open(XSH_OP_OPEN, h.nodeid, O_WRONLY, &fh);
	CHECK(rc == -EACCES, "open a host root file for writing: %d", rc);
	rc = op_setattr(h.nodeid, 0, &sa, &a);
	CHECK(rc == -EPERM, "chmod a host root file: %d", rc);
	rc = op_remove(XSH_OP_UNLINK, d.nodeid, "rootf");
	CHECK(rc == -EPERM, "unlink a host root file in a sticky dir: %d", rc);
	sa.valid = XSH_SETATTR_UID;
	sa.uid = 1000;
	rc = op_setattr(f.nodeid, 0, &sa, &a);
	CHECK(rc == -EPERM, "chown to another id: %d", rc);
	sa.uid = 65534;
	rc = op_setattr(f.nodeid, 0, &sa, &a);
	CHECK(rc == 0, "chown to the squash id itself: %d", rc);

	set_policy(pol_squash_root);
	cur_uid = cur_gid = 0;
	rc = op_open(XSH_OP_OPEN, h.nodeid, O_WRONLY, &fh);
	CHECK(rc == -EACCES, "squash-root: guest root writes a host root file: %d",
	      rc);
	rc = op_open(XSH_OP_OPEN, f.nodeid, O_WRONLY, &fh);
	CHECK(rc == 0, "squash-root: guest root writes the squashed id's file: %d",
	      rc);
	op_release(XSH_OP_RELEASE, f.nodeid, fh);
	cur_uid = cur_gid = 1000;
	rc = op_open(XSH_OP_OPEN, h.nodeid, O_RDONLY, &fh);
	CHECK(rc == 0, "squash-root: a guest user is checked by its guest: %d",
	      rc);
	op_release(XSH_OP_RELEASE, h.nodeid, fh);
out:
	cur_uid = cur_gid = 0;
	set_policy(NULL);
	op_forget(f.nodeid, 1);
	op_forget(h.nodeid, 1);
	op_forget(d.nodeid, 1);
	unlink(host_path("sq/mine"));
	unlink(host_path("sq/rootf"));
	rmdir(host_path("sq"));
	result(!why[0], "id map squash-all, squash-root: owners checked on the host",
	       "%s", why);
}

static void test_setid(void)
{
	struct xsh_rsp_entry f = { 0 }, d = { 0 }, s = { 0 };
	struct xsh_args_setattr sa;
	char why[200] = "";
	struct stat st;
	int rc;

	set_policy(pol_nosetid);
	rc = op_create(ROOT, "su", O_RDWR, 0755, 0, &f);
	CHECK(rc == 0, "create: %d", rc);
	rc = op_mkdir(ROOT, "sud", 0755, &d);
	CHECK(rc == 0, "mkdir: %d", rc);
	memset(&sa, 0, sizeof(sa));
	sa.valid = XSH_SETATTR_MODE;
	sa.mode = 04755;
	rc = op_setattr(f.nodeid, 0, &sa, NULL);
	CHECK(rc == -EPERM, "chmod u+s: %d", rc);
	sa.mode = 02755;
	rc = op_setattr(f.nodeid, 0, &sa, NULL);
	CHECK(rc == -EPERM, "chmod g+s with g+x: %d", rc);
	sa.mode = 02745;
	rc = op_setattr(f.nodeid, 0, &sa, NULL);
	CHECK(rc == 0, "chmod g+s without g+x (mandatory-lock bit): %d", rc);
	sa.mode = 02755;
	rc = op_setattr(d.nodeid, 0, &sa, NULL);
	CHECK(rc == 0 && host_stat("sud", &st) == 0 && (st.st_mode & S_ISGID),
	      "chmod g+s on a directory: %d", rc);
	rc = op_create(ROOT, "su2", O_RDWR, 04755, 0, NULL);
	CHECK(rc == -EPERM, "create u+s: %d", rc);
	rc = op_mknod(XSH_OP_MKNOD, ROOT, "dev", S_IFCHR | 0600,
		      (1 << 8) | 3, NULL);
	CHECK(rc == -EPERM, "mknod chr without allow_devices: %d", rc);
	rc = op_mknod(XSH_OP_MKNOD, ROOT, "blk", S_IFBLK | 0600, 0, NULL);
	CHECK(rc == -EPERM, "mknod blk without allow_devices: %d", rc);
	rc = op_mknod(XSH_OP_MKNOD, ROOT, "sock", S_IFSOCK | 0600, 0, &s);
	CHECK(rc == 0 && S_ISSOCK(s.attr.mode), "mknod socket: %d", rc);
	op_forget(s.nodeid, 1);
	unlink(host_path("sock"));

	if (!privileged)
		goto out;
	set_policy(pol_setid);
	sa.mode = 04755;
	rc = op_setattr(f.nodeid, 0, &sa, NULL);
	CHECK(rc == 0 && host_stat("su", &st) == 0 && (st.st_mode & S_ISUID),
	      "chmod u+s allowed: %d mode %o", rc, st.st_mode & 07777);
	rc = op_write(f.nodeid, f.fh, 0, "x", 1, NULL);
	CHECK(rc == 0 && host_stat("su", &st) == 0 && !(st.st_mode & S_ISUID),
	      "write kept the set-uid bit: %d mode %o", rc,
	      st.st_mode & 07777);
out:
	set_policy(NULL);
	op_release(XSH_OP_RELEASE, f.nodeid, f.fh);
	op_forget(f.nodeid, 1);
	op_forget(d.nodeid, 1);
	unlink(host_path("su"));
	rmdir(host_path("sud"));
	result(!why[0], "set-id and device policy; write clears set-uid",
	       "%s", why);
}

static void test_setattr(void)
{
	struct xsh_rsp_entry f = { 0 };
	struct xsh_args_setattr sa;
	struct xsh_attr a;
	char why[200] = "";
	struct stat st;
	int rc;

	rc = op_create(ROOT, "sa", O_RDWR, 0644, 0, &f);
	CHECK(rc == 0, "create: %d", rc);
	memset(&sa, 0, sizeof(sa));
	sa.valid = XSH_SETATTR_SIZE | XSH_SETATTR_FH;
	sa.size = 1000;
	rc = op_setattr(f.nodeid, f.fh, &sa, &a);
	CHECK(rc == 0 && a.size == 1000, "truncate via fh: %d size %llu", rc,
	      (unsigned long long)a.size);
	sa.valid = XSH_SETATTR_SIZE;
	sa.size = 10;
	rc = op_setattr(f.nodeid, 0, &sa, &a);
	CHECK(rc == 0 && a.size == 10, "truncate by node: %d", rc);
	sa.valid = XSH_SETATTR_SIZE | XSH_SETATTR_FH;
	rc = op_setattr(f.nodeid, f.fh + 1, &sa, &a);
	CHECK(rc == -EBADF, "truncate with a bad fh: %d", rc);
	sa.valid = XSH_SETATTR_SIZE;
	rc = op_setattr(ROOT, 0, &sa, &a);
	CHECK(rc == -EISDIR, "truncate a directory: %d", rc);
	sa.valid = XSH_SETATTR_ATIME | XSH_SETATTR_MTIME;
	sa.atime = 1000;
	sa.atime_nsec = 5;
	sa.mtime = 2000;
	sa.mtime_nsec = 6;
	rc = op_setattr(f.nodeid, 0, &sa, &a);
	CHECK(rc == 0 && a.atime == 1000 && a.atime_nsec == 5 &&
		      a.mtime == 2000 && a.mtime_nsec == 6,
	      "times: %d", rc);
	sa.valid = XSH_SETATTR_MTIME_NOW;
	rc = op_setattr(f.nodeid, 0, &sa, &a);
	CHECK(rc == 0 && a.atime == 1000 && a.mtime > 2000,
	      "mtime now, atime omitted: %d", rc);
	sa.valid = XSH_SETATTR_MODE;
	sa.mode = 0600;
	rc = op_setattr(f.nodeid, 0, &sa, &a);
	CHECK(rc == 0 && (a.mode & 07777) == 0600 && S_ISREG(a.mode) &&
		      host_stat("sa", &st) == 0 && (st.st_mode & 07777) == 0600,
	      "chmod: %d", rc);
out:
	op_release(XSH_OP_RELEASE, f.nodeid, f.fh);
	op_forget(f.nodeid, 1);
	unlink(host_path("sa"));
	result(!why[0], "setattr: size, times, mode", "%s", why);
}

static void test_xattr(void)
{
	struct xsh_rsp_entry f = { 0 };
	struct xsh_req r;
	struct xsh_rsp rsp;
	char why[200] = "";
	int rc;

	rc = op_create(ROOT, "xa", O_RDWR, 0644, 0, &f);
	CHECK(rc == 0, "create: %d", rc);
	op_release(XSH_OP_RELEASE, f.nodeid, f.fh);
	r = mkreq(XSH_OP_SETXATTR, f.nodeid);
	r.a.xattr.name_len = 6;
	rc = run(&r, "user.avalue", 11, 0, NULL);
	if (rc == -EOPNOTSUPP) {
		skip("user xattrs", "host file system has none");
		goto done;
	}
	CHECK(rc == 0, "setxattr: %d", rc);
	r = mkreq(XSH_OP_SETXATTR, f.nodeid);
	r.a.xattr.name_len = 9;
	rc = run(&r, "trusted.av", 10, 0, NULL);
	CHECK(rc == -EOPNOTSUPP, "setxattr trusted.*: %d", rc);
	CHECK(lsetxattr(host_path("xa"), "trusted.secret", "s", 1, 0) == 0,
	      "host trusted xattr: %m");
	r = mkreq(XSH_OP_GETXATTR, f.nodeid);
	rc = run(&r, "user.a", 6, 0, &rsp);
	CHECK(rc == 0 && rsp.u.count == 5, "getxattr size: %d %llu", rc,
	      (unsigned long long)rsp.u.count);
	r = mkreq(XSH_OP_GETXATTR, f.nodeid);
	r.a.xattr.size = 100;
	rc = run(&r, "user.a", 6, 100, &rsp);
	CHECK(rc == 0 && rsp.out_len == 5 && !memcmp(data, "value", 5),
	      "getxattr: %d", rc);
	r = mkreq(XSH_OP_GETXATTR, f.nodeid);
	r.a.xattr.size = 2;
	rc = run(&r, "user.a", 6, 100, &rsp);
	CHECK(rc == -ERANGE, "getxattr small buffer: %d", rc);
	r = mkreq(XSH_OP_GETXATTR, f.nodeid);
	rc = run(&r, "trusted.secret", 14, 0, &rsp);
	CHECK(rc == -EOPNOTSUPP, "getxattr trusted.*: %d", rc);
	r = mkreq(XSH_OP_LISTXATTR, f.nodeid);
	rc = run(&r, NULL, 0, 0, &rsp);
	CHECK(rc == 0 && rsp.u.count == 7, "listxattr size: %d %llu", rc,
	      (unsigned long long)rsp.u.count);
	r = mkreq(XSH_OP_LISTXATTR, f.nodeid);
	r.a.xattr.size = 100;
	rc = run(&r, NULL, 0, 100, &rsp);
	CHECK(rc == 0 && rsp.out_len == 7 && !memcmp(data, "user.a", 7),
	      "listxattr: %d len %u", rc, rsp.out_len);
	r = mkreq(XSH_OP_LISTXATTR, f.nodeid);
	r.a.xattr.size = 3;
	rc = run(&r, NULL, 0, 100, &rsp);
	CHECK(rc == -ERANGE, "listxattr small buffer: %d", rc);
	r = mkreq(XSH_OP_REMOVEXATTR, f.nodeid);
	rc = run(&r, "user.a", 6, 0, NULL);
	CHECK(rc == 0, "removexattr: %d", rc);
	r = mkreq(XSH_OP_GETXATTR, f.nodeid);
	rc = run(&r, "user.a", 6, 0, &rsp);
	CHECK(rc == -ENODATA, "getxattr after remove: %d", rc);
out:
	result(!why[0], "user.* xattrs only", "%s", why);
done:
	op_forget(f.nodeid, 1);
	unlink(host_path("xa"));
}

static void test_access(void)
{
	struct xsh_rsp_entry f = { 0 };
	struct xsh_req r;
	char why[200] = "";
	int rc;

	if (!privileged) {
		skip("access checks as the caller", "not root");
		return;
	}
	rc = op_create(ROOT, "ac", O_RDWR, 0640, 0, &f);
	CHECK(rc == 0, "create: %d", rc);
	op_release(XSH_OP_RELEASE, f.nodeid, f.fh);
	r = mkreq(XSH_OP_ACCESS, f.nodeid);
	r.a.access.mask = W_OK;
	rc = run(&r, NULL, 0, 0, NULL);
	CHECK(rc == 0, "root W_OK: %d", rc);
	cur_uid = cur_gid = 1000;
	r = mkreq(XSH_OP_ACCESS, f.nodeid);
	r.a.access.mask = R_OK;
	rc = run(&r, NULL, 0, 0, NULL);
	CHECK(rc == -EACCES, "uid 1000 R_OK on 0640 root file: %d", rc);
	r = mkreq(XSH_OP_ACCESS, f.nodeid);
	r.a.access.mask = F_OK;
	rc = run(&r, NULL, 0, 0, NULL);
	CHECK(rc == 0, "uid 1000 F_OK: %d", rc);
	cur_gid = 0;
	r = mkreq(XSH_OP_ACCESS, f.nodeid);
	r.a.access.mask = R_OK;
	rc = run(&r, NULL, 0, 0, NULL);
	CHECK(rc == 0, "gid 0 R_OK on 0640 file: %d", rc);
out:
	cur_uid = cur_gid = 0;
	op_forget(f.nodeid, 1);
	unlink(host_path("ac"));
	result(!why[0], "access checks as the caller", "%s", why);
}

static void test_file_ops(void)
{
	struct xsh_rsp_entry f = { 0 }, g = { 0 };
	struct xsh_req r;
	struct xsh_rsp rsp;
	char why[200] = "", buf[16];
	uint32_t got;
	int rc;

	rc = op_create(ROOT, "fo", O_RDWR, 0644, 0, &f);
	CHECK(rc == 0, "create: %d", rc);
	rc = op_create(ROOT, "fo2", O_RDWR, 0644, 0, &g);
	CHECK(rc == 0, "create: %d", rc);
	rc = op_write(f.nodeid, f.fh, 1 << 20, "tail", 4, NULL);
	CHECK(rc == 0, "write: %d", rc);

	r = mkreq(XSH_OP_LSEEK, f.nodeid);
	r.fh = f.fh;
	r.a.lseek.whence = 3;	/* SEEK_DATA */
	rc = run(&r, NULL, 0, 0, &rsp);
	CHECK(rc == 0 && rsp.u.offset <= (1u << 20), "lseek SEEK_DATA: %d", rc);
	r = mkreq(XSH_OP_FALLOCATE, f.nodeid);
	r.fh = f.fh;
	r.a.fallocate.offset = 0;
	r.a.fallocate.length = 4096;
	r.a.fallocate.mode = 0x01;	/* KEEP_SIZE */
	rc = run(&r, NULL, 0, 0, NULL);
	CHECK(rc == 0 || rc == -EOPNOTSUPP, "fallocate: %d", rc);

	r = mkreq(XSH_OP_COPY_FILE_RANGE, f.nodeid);
	r.fh = f.fh;
	r.a.copy.off_in = 1 << 20;
	r.a.copy.nodeid_out = g.nodeid;
	r.a.copy.fh_out = g.fh;
	r.a.copy.off_out = 2;
	r.a.copy.len = ~0ull;
	rc = run(&r, NULL, 0, 0, &rsp);
	CHECK(rc == 0 && rsp.u.count == 4, "copy_file_range: %d count %llu",
	      rc, (unsigned long long)rsp.u.count);
	rc = op_read(g.nodeid, g.fh, 0, 16, buf, &got);
	CHECK(rc == 0 && got == 6 && !memcmp(buf + 2, "tail", 4),
	      "copied data: %d %u", rc, got);
	r.a.copy.fh_out = g.fh + 1;
	rc = run(&r, NULL, 0, 0, &rsp);
	CHECK(rc == -EBADF, "copy_file_range to a bad fh: %d", rc);

	r = mkreq(XSH_OP_FSYNC, f.nodeid);
	r.fh = f.fh;
	r.a.fsync.datasync = 1;
	rc = run(&r, NULL, 0, 0, NULL);
	CHECK(rc == 0, "fdatasync: %d", rc);
	r = mkreq(XSH_OP_FLUSH, f.nodeid);
	r.fh = f.fh;
	rc = run(&r, NULL, 0, 0, NULL);
	CHECK(rc == 0, "flush: %d", rc);
	/* REOPEN without a kind (tests/unit/test_reopen.c does the rest) */
	r = mkreq(XSH_OP_REOPEN, 0);
	rc = run(&r, NULL, 0, 0, NULL);
	CHECK(rc == -EINVAL, "reopen: %d", rc);
	r = mkreq(XSH_OP_OPEN, ROOT);
	r.a.open.flags = O_RDONLY | O_DIRECT;
	rc = run(&r, NULL, 0, 0, &rsp);
	CHECK(rc == 0, "open a directory O_DIRECT: %d", rc);
	op_release(XSH_OP_RELEASE, ROOT, rsp.u.fh);
out:
	op_release(XSH_OP_RELEASE, f.nodeid, f.fh);
	op_release(XSH_OP_RELEASE, g.nodeid, g.fh);
	op_forget(f.nodeid, 1);
	op_forget(g.nodeid, 1);
	unlink(host_path("fo"));
	unlink(host_path("fo2"));
	result(!why[0], "lseek, fallocate, copy_file_range, fsync, flush",
	       "%s", why);
}

static void test_protocol_errors(void)
{
	struct xsh_req r;
	struct xsh_rsp rsp;
	char why[200] = "";
	int rc;

	r = mkreq(XSH_OP_GETATTR, ROOT);
	r.id = 5;
	r.buf_off = DATA_BYTES - 10;
	r.buf_len = 11;
	rc = xsh_dispatch(sess, &r, &rsp);
	CHECK(rc == XSH_CODEC_FATAL, "buffer past the data area: %d", rc);
	r.buf_off = 0;
	r.buf_len = 0;
	r.opcode = 200;
	rc = xsh_dispatch(sess, &r, &rsp);
	CHECK(rc == 0 && rsp.error == ENOSYS && rsp.id == 5,
	      "unknown opcode: %d %d", rc, rsp.error);
	r = mkreq(XSH_OP_LOOKUP, ROOT);
	rc = run(&r, "..", 2, 0, &rsp);
	CHECK(rc == -EINVAL, "lookup ..: %d", rc);
	rc = run(&r, "a/b", 3, 0, &rsp);
	CHECK(rc == -EINVAL, "lookup a/b: %d", rc);
	CHECK(rsp.u.entry.nodeid == 0 && rsp.out_len == 0,
	      "error reply carries data");
out:
	result(!why[0], "protocol errors: fatal and ENOSYS", "%s", why);
}

static void test_export_open(void)
{
	struct xsh_export *e2 = NULL;
	char why[200] = "", p[128];
	int rc;

	snprintf(p, sizeof(p), "%s-link", dir);
	CHECK(symlink(dir, p) == 0, "symlink: %m");
	rc = xsh_export_open(p, NULL, &e2);
	CHECK(rc == -ENOTDIR, "export through a symlink: %d", rc);
	rc = xsh_export_open(outside, NULL, &e2);
	CHECK(rc == -ENOTDIR, "export of a file: %d", rc);
	rc = xsh_export_open("/nonexistent/xenshare", NULL, &e2);
	CHECK(rc == -ENOENT, "export of a missing dir: %d", rc);
out:
	unlink(p);
	result(!why[0], "export root must be a real directory", "%s", why);
}

#define CC_THREADS	4
#define CC_ROUNDS	3000

static int cc_fail[CC_THREADS];
static unsigned cc_stale;
static pthread_barrier_t cc_barrier;

static void *cc_worker(void *arg)
{
	int id = (int)(intptr_t)arg, i, rc;
	struct xsh_rsp_entry e;
	char buf[16];
	uint32_t got;
	uint64_t fh;

	buf_base = (uint32_t)(id + 1) * (256u << 10);
	if (privileged && xsh_service_thread_init())
		cc_fail[id] = -1;
	pthread_barrier_wait(&cc_barrier);
	for (i = 0; i < CC_ROUNDS && !cc_fail[id]; i++) {
		rc = op_lookup(ROOT, "cc", &e);
		if (rc) {
			cc_fail[id] = 1000 + rc;
			break;
		}
		rc = op_open(XSH_OP_OPEN, e.nodeid, O_RDONLY, &fh);
		if (!rc) {
			rc = op_read(e.nodeid, fh, 0, 8, buf, &got);
			if (!rc && (got != 2 || memcmp(buf, "cc", 2)))
				rc = -EIO;
			op_release(XSH_OP_RELEASE, e.nodeid, fh);
		}
		/* thread 0's big forgets make ESTALE a correct answer */
		if (rc == -ESTALE)
			__atomic_add_fetch(&cc_stale, 1, __ATOMIC_RELAXED);
		else if (rc)
			cc_fail[id] = 2000 + rc;
		/* a forget racing the other threads' use of the node */
		op_forget(e.nodeid, 1);
		if (id == 0 && (i % 50) == 0)
			op_forget(e.nodeid, ~0ull);
	}
	return NULL;
}

static void test_concurrent(void)
{
	pthread_t t[CC_THREADS];
	struct xsh_rsp_entry e = { 0 };
	char why[200] = "";
	int i, rc;

	rc = op_create(ROOT, "cc", O_RDWR, 0644, 0, &e);
	CHECK(rc == 0, "create: %d", rc);
	op_write(e.nodeid, e.fh, 0, "cc", 2, NULL);
	op_release(XSH_OP_RELEASE, e.nodeid, e.fh);
	op_forget(e.nodeid, 1);
	pthread_barrier_init(&cc_barrier, NULL, CC_THREADS);
	for (i = 0; i < CC_THREADS; i++)
		pthread_create(&t[i], NULL, cc_worker, (void *)(intptr_t)i);
	for (i = 0; i < CC_THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&cc_barrier);
	for (i = 0; i < CC_THREADS; i++)
		CHECK(!cc_fail[i], "thread %d: %d", i, cc_fail[i]);
	/* lookups that raced a forget of ~0 may leave counts behind */
	while (op_lookup(ROOT, "cc", &e) == 0 && op_forget(e.nodeid, ~0ull) == 0 &&
	       op_getattr(e.nodeid, NULL) == 0)
		;
out:
	unlink(host_path("cc"));
	result(!why[0], "lookups, opens, reads and forgets from 4 threads",
	       "%s", why);
}

/* A session made in a child after fork reopens files through the
 * child's own /proc/self/fd. */
static void test_fork(void)
{
	struct xsh_rsp_entry e = { 0 };
	char why[200] = "", buf[8];
	struct xsh_sess *parent = sess;
	int status = -1, rc, pfd[2] = { -1, -1 };
	char verdict = 0;
	uint32_t got;
	pid_t pid;

	rc = op_create(ROOT, "fk", O_RDWR, 0644, 0, &e);
	CHECK(rc == 0, "create: %d", rc);
	op_write(e.nodeid, e.fh, 0, "fork", 4, NULL);
	op_release(XSH_OP_RELEASE, e.nodeid, e.fh);
	op_forget(e.nodeid, 1);
	CHECK(pipe(pfd) == 0, "pipe: %m");
	pid = fork();
	CHECK(pid >= 0, "fork: %m");
	if (pid == 0) {
		verdict = 'y';
		if (xsh_sess_new(export_, data, DATA_BYTES, "child", &sess))
			verdict = '1';
		else if (op_lookup(ROOT, "fk", &e) ||
			 op_open(XSH_OP_OPEN, e.nodeid, O_RDONLY, &e.fh) ||
			 op_read(e.nodeid, e.fh, 0, 8, buf, &got) || got != 4 ||
			 memcmp(buf, "fork", 4))
			verdict = '2';
		if (write(pfd[1], &verdict, 1) != 1)
			verdict = 0;
		/* leave nothing for a leak checker following the child */
		if (verdict != '1')
			xsh_sess_free(sess);
		xsh_sess_free(parent);
		xsh_export_close(export_);
		xsh_service_thread_exit();
		free(data);
		_exit(0);
	}
	close(pfd[1]);
	pfd[1] = -1;
	if (read(pfd[0], &verdict, 1) != 1)
		verdict = '?';
	waitpid(pid, &status, 0);
	CHECK(verdict == 'y', "child says %c", verdict);
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	sess = parent;
	unlink(host_path("fk"));
	result(!why[0], "a session in a forked child reopens through its own /proc",
	       "%s", why);
}

/* ---- node fd cache ------------------------------------------------------ */

#define FDC_FILES	500
#define FDC_BUDGET	16u
#define FDC_SLACK	8	/* pinned nodes, mount fds, transient fds */

static uint64_t fdc_dir;
static uint64_t fdc_node[FDC_FILES];

static int count_fds(void)
{
	struct dirent *d;
	DIR *dp = opendir("/proc/self/fd");
	int n = 0;

	if (!dp)
		return -1;
	while ((d = readdir(dp)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dp);
	return n - 1;	/* the directory stream itself */
}

static int fdc_make_files(void)
{
	char p[300];
	int i, fd, len;

	snprintf(p, sizeof(p), "%s/fdc", dir);
	if (mkdir(p, 0755))
		return -errno;
	for (i = 0; i < FDC_FILES; i++) {
		snprintf(p, sizeof(p), "%s/fdc/f%d", dir, i);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			return -errno;
		len = (int)strlen(p);
		if (write(fd, p, (size_t)len) != len) {
			close(fd);
			return -EIO;
		}
		close(fd);
	}
	return 0;
}

/* Read node's whole file and compare it with its host path. */
static int fdc_check_content(uint64_t node, int i)
{
	char want[300], buf[300];
	uint64_t fh;
	uint32_t got;
	int rc;

	snprintf(want, sizeof(want), "%s/fdc/f%d", dir, i);
	rc = op_open(XSH_OP_OPEN, node, O_RDONLY, &fh);
	if (rc)
		return rc;
	rc = op_read(node, fh, 0, sizeof(buf), buf, &got);
	op_release(XSH_OP_RELEASE, node, fh);
	if (!rc && (got != strlen(want) || memcmp(buf, want, got)))
		rc = -EIO;
	return rc;
}

static void test_fd_cache(void)
{
	char why[200] = "", name[16];
	struct xsh_rsp_entry e = { 0 };
	int base, most = 0, now, i, rc;
	struct xsh_attr a;
	uint64_t fh;
	uint32_t got;

	if (!privileged) {
		skip("node fds past the budget are closed and reopened by file handle",
		     "open_by_handle_at needs CAP_DAC_READ_SEARCH");
		return;
	}
	rc = fdc_make_files();
	CHECK(rc == 0, "host files: %d", rc);
	xsh_nodes_set_fd_budget(FDC_BUDGET);
	base = count_fds();
	rc = op_lookup(ROOT, "fdc", &e);
	CHECK(rc == 0, "lookup fdc: %d", rc);
	fdc_dir = e.nodeid;
	for (i = 0; i < FDC_FILES; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		rc = op_lookup(fdc_dir, name, &e);
		CHECK(rc == 0, "lookup %s: %d", name, rc);
		fdc_node[i] = e.nodeid;
		now = count_fds();
		most = now > most ? now : most;
	}
	CHECK(xsh_nodes_count(sess->nodes) >= FDC_FILES + 1,
	      "only %u nodes", xsh_nodes_count(sess->nodes));
	CHECK(most - base <= (int)FDC_BUDGET + FDC_SLACK,
	      "%d fds open after lookups (%d before)", most, base);
	for (i = 0; i < FDC_FILES; i++) {
		rc = op_getattr(fdc_node[i], &a);
		CHECK(rc == 0 && S_ISREG(a.mode), "getattr f%d: %d", i, rc);
		rc = fdc_check_content(fdc_node[i], i);
		CHECK(rc == 0, "open and read f%d: %d", i, rc);
		now = count_fds();
		most = now > most ? now : most;
	}
	/* READDIRPLUS counts a lookup of every entry. */
	rc = op_open(XSH_OP_OPENDIR, fdc_dir, O_RDONLY, &fh);
	CHECK(rc == 0, "opendir: %d", rc);
	{
		uint64_t cookie = 0;
		uint32_t off;

		for (;;) {
			const struct xsh_direntplus *dp;

			rc = op_readdir(true, fdc_dir, fh, cookie, 65536, &got);
			if (rc || !got)
				break;
			for (off = 0; off < got;) {
				dp = (const void *)(data + buf_base + off);
				cookie = dp->dirent.off;
				if (dp->entry.nodeid)
					op_forget(dp->entry.nodeid, 1);
				off += (uint32_t)((sizeof(*dp) +
						   dp->dirent.namelen +
						   dp->dirent.handle_len + 7) &
						  ~7ul);
			}
			now = count_fds();
			most = now > most ? now : most;
		}
	}
	op_release(XSH_OP_RELEASEDIR, fdc_dir, fh);
	CHECK(rc == 0, "readdirplus: %d", rc);
	CHECK(most - base <= (int)FDC_BUDGET + FDC_SLACK,
	      "%d fds open at most (%d before, budget %u)", most, base,
	      FDC_BUDGET);
	CHECK(xsh_nodes_fds_open() <= FDC_BUDGET,
	      "%u node fds open, budget %u", xsh_nodes_fds_open(), FDC_BUDGET);
out:
	result(!why[0], "node fds past the budget are closed and reopened by file handle",
	       "%s", why);
}

/* Touch n other nodes so that the LRU evicts the ones used before. */
static void fdc_churn(int from, int n)
{
	int i;

	for (i = 0; i < n; i++)
		op_getattr(fdc_node[(from + i) % FDC_FILES], NULL);
}

static void test_fd_cache_stale(void)
{
	char why[200] = "";
	struct xsh_rsp_entry e = { 0 };
	int rc;

	if (!privileged || !fdc_dir) {
		skip("a file deleted on the host while its fd is evicted answers ESTALE",
		     "no fd cache test set");
		return;
	}
	rc = op_getattr(fdc_node[2], NULL);
	CHECK(rc == 0, "getattr f2: %d", rc);
	fdc_churn(100, 4 * FDC_BUDGET);
	CHECK(unlink(host_path("fdc/f2")) == 0, "host unlink: %m");
	rc = op_getattr(fdc_node[2], NULL);
	CHECK(rc == -ESTALE, "getattr of a deleted, evicted file: %d", rc);
	rc = op_open(XSH_OP_OPEN, fdc_node[2], O_RDONLY, NULL);
	CHECK(rc == -ESTALE, "open of a deleted, evicted file: %d", rc);
	rc = op_lookup(fdc_dir, "f2", NULL);
	CHECK(rc == -ENOENT, "lookup of the deleted name: %d", rc);
	/* a new file by that name is a new node */
	CHECK(close(open(host_path("fdc/f2"), O_WRONLY | O_CREAT, 0644)) == 0,
	      "host create: %m");
	rc = op_lookup(fdc_dir, "f2", &e);
	CHECK(rc == 0 && e.nodeid != fdc_node[2], "relookup: %d", rc);
	op_forget(e.nodeid, 1);
	rc = op_getattr(fdc_node[2], NULL);
	CHECK(rc == -ESTALE, "old node after a new file took the name: %d",
	      rc);
out:
	result(!why[0], "a file deleted on the host while its fd is evicted answers ESTALE",
	       "%s", why);
}

static void test_fd_cache_links(void)
{
	char why[200] = "";
	struct xsh_rsp_entry e = { 0 }, sub = { 0 }, l = { 0 };
	char from[256];
	struct stat st;
	int rc;

	if (!privileged || !fdc_dir) {
		skip("hard links to evicted nodes resolve to one node",
		     "no fd cache test set");
		return;
	}
	fdc_churn(10, 4 * FDC_BUDGET);
	snprintf(from, sizeof(from), "%s", host_path("fdc/f3"));
	CHECK(link(from, host_path("fdc/h3")) == 0, "host link: %m");
	rc = op_lookup(fdc_dir, "h3", &e);
	CHECK(rc == 0 && e.nodeid == fdc_node[3],
	      "host link: %d node %llx, f3 is %llx", rc,
	      (unsigned long long)e.nodeid, (unsigned long long)fdc_node[3]);
	op_forget(e.nodeid, 1);
	/* LINK of an evicted node, into an evicted directory */
	rc = op_mkdir(fdc_dir, "sub", 0755, &sub);
	CHECK(rc == 0, "mkdir: %d", rc);
	fdc_churn(200, 4 * FDC_BUDGET);
	rc = op_link(fdc_node[4], sub.nodeid, "l4", &l);
	CHECK(rc == 0 && l.nodeid == fdc_node[4], "link: %d", rc);
	CHECK(host_stat("fdc/sub/l4", &st) == 0 && st.st_nlink == 2,
	      "host sees no second name");
	op_forget(l.nodeid, 1);
	fdc_churn(300, 4 * FDC_BUDGET);
	rc = op_lookup(sub.nodeid, "l4", &l);
	CHECK(rc == 0 && l.nodeid == fdc_node[4], "lookup of l4: %d", rc);
	op_forget(l.nodeid, 1);
	rc = fdc_check_content(fdc_node[4], 4);
	CHECK(rc == 0, "read through the node: %d", rc);
	/* a directory reopened by handle still resolves names under it */
	fdc_churn(400, 4 * FDC_BUDGET);
	rc = op_remove(XSH_OP_UNLINK, sub.nodeid, "l4");
	CHECK(rc == 0, "unlink under an evicted directory: %d", rc);
	rc = op_remove(XSH_OP_RMDIR, fdc_dir, "sub");
	CHECK(rc == 0, "rmdir: %d", rc);
out:
	if (sub.nodeid)
		op_forget(sub.nodeid, 1);
	result(!why[0], "hard links to evicted nodes resolve to one node",
	       "%s", why);
}

#define FDC_THREADS	4
#define FDC_ROUNDS	2000

static int fdc_fail[FDC_THREADS];

static void *fdc_worker(void *arg)
{
	int id = (int)(intptr_t)arg, i, k, rc;
	unsigned seed = (unsigned)id * 7919u + 1;

	buf_base = (uint32_t)(id + 1) * (256u << 10);
	if (xsh_service_thread_init())
		fdc_fail[id] = -1;
	pthread_barrier_wait(&cc_barrier);
	for (i = 0; i < FDC_ROUNDS && !fdc_fail[id]; i++) {
		k = (int)(rand_r(&seed) % FDC_FILES);
		if (k == 2)
			continue;	/* deleted */
		rc = (i & 1) ? op_getattr(fdc_node[k], NULL) :
			       fdc_check_content(fdc_node[k], k);
		if (rc)
			fdc_fail[id] = 100000 * (k + 1) - rc;
	}
	return NULL;
}

static void test_fd_cache_threads(void)
{
	pthread_t t[FDC_THREADS];
	char why[200] = "";
	int i;

	if (!privileged || !fdc_dir) {
		skip("4 threads share 16 node fds over 500 nodes",
		     "no fd cache test set");
		return;
	}
	pthread_barrier_init(&cc_barrier, NULL, FDC_THREADS);
	for (i = 0; i < FDC_THREADS; i++)
		pthread_create(&t[i], NULL, fdc_worker, (void *)(intptr_t)i);
	for (i = 0; i < FDC_THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&cc_barrier);
	for (i = 0; i < FDC_THREADS; i++)
		CHECK(!fdc_fail[i], "thread %d: %d", i, fdc_fail[i]);
	CHECK(xsh_nodes_fds_open() <= FDC_BUDGET,
	      "%u node fds open, budget %u", xsh_nodes_fds_open(), FDC_BUDGET);
out:
	result(!why[0], "4 threads share 16 node fds over 500 nodes", "%s",
	       why);
}

static void test_fd_cache_done(void)
{
	char why[200] = "";
	uint32_t before;
	int i;

	if (!fdc_dir)
		return;
	for (i = 0; i < FDC_FILES; i++)
		op_forget(fdc_node[i], 1);
	op_forget(fdc_dir, 1);
	xsh_nodes_set_fd_budget(0);
	before = xsh_nodes_fds_open();
	CHECK(xsh_nodes_count(sess->nodes) == 0, "%u nodes left",
	      xsh_nodes_count(sess->nodes));
	CHECK(before <= 1, "%u node fds open with only the root", before);
	CHECK(xsh_nodes_fd_budget() > FDC_BUDGET, "default budget %u",
	      xsh_nodes_fd_budget());
out:
	result(!why[0], "forgotten nodes close their fds; the default budget comes back",
	       "%s", why);
}

static void test_handle_budget(void)
{
	struct xsh_rsp_entry e = { 0 };
	char why[200] = "";
	uint32_t saved = xsh_handles_fd_budget(), held;
	uint64_t fh[3] = { 0, 0, 0 }, extra;
	int rc, i;

	rc = op_create(ROOT, "hb", O_RDWR, 0644, 0, &e);
	CHECK(rc == 0, "create: %d", rc);
	op_release(XSH_OP_RELEASE, e.nodeid, e.fh);
	held = xsh_handles_fds_open();
	CHECK(held == 0, "%u handles open before", held);
	CHECK(saved >= 4, "default budget %u", saved);
	xsh_handles_set_fd_budget(3);
	for (i = 0; i < 3; i++) {
		rc = op_open(XSH_OP_OPEN, e.nodeid, O_RDONLY, &fh[i]);
		CHECK(rc == 0, "open %d: %d", i, rc);
	}
	rc = op_open(XSH_OP_OPEN, e.nodeid, O_RDONLY, &extra);
	CHECK(rc == -EMFILE, "open past the budget: %d", rc);
	rc = op_open(XSH_OP_OPENDIR, ROOT, O_RDONLY, &extra);
	CHECK(rc == -EMFILE, "opendir past the budget: %d", rc);
	rc = op_create(ROOT, "hb2", O_RDWR, 0644, 0, NULL);
	CHECK(rc == -EMFILE, "create past the budget: %d", rc);
	CHECK(xsh_nodes_count(sess->nodes) == 1, "create kept a lookup");
	op_release(XSH_OP_RELEASE, e.nodeid, fh[0]);
	fh[0] = 0;
	rc = op_open(XSH_OP_OPEN, e.nodeid, O_RDONLY, &fh[0]);
	CHECK(rc == 0, "open after a release: %d", rc);
out:
	for (i = 0; i < 3; i++)
		if (fh[i])
			op_release(XSH_OP_RELEASE, e.nodeid, fh[i]);
	xsh_handles_set_fd_budget(0);
	op_forget(e.nodeid, 1);
	unlink(host_path("hb"));
	unlink(host_path("hb2"));
	result(!why[0] && xsh_handles_fds_open() == 0,
	       "past the process's handle budget OPEN, OPENDIR and CREATE answer EMFILE",
	       "%s (%u handles left)", why, xsh_handles_fds_open());
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(p);
}

int main(void)
{
	struct xsh_policy pol;
	int rc, fd;

	privileged = geteuid() == 0;
	rc = xsh_service_thread_init();
	if (rc) {
		skip("thread init", strerror(-rc));
		privileged = false;
	}
	snprintf(dir, sizeof(dir), "/tmp/xs-svc-XXXXXX");
	snprintf(outside, sizeof(outside), "/tmp/xs-outside-XXXXXX");
	if (!mkdtemp(dir) || (fd = mkstemp(outside)) < 0) {
		perror("mkdtemp");
		return 2;
	}
	if (write(fd, "secret", 6) != 6)
		return 2;
	close(fd);
	data = calloc(1, DATA_BYTES);
	xsh_policy_default(&pol);
	rc = xsh_export_open(dir, &pol, &export_);
	if (rc || !data) {
		fprintf(stderr, "export: %s\n", strerror(-rc));
		return 2;
	}
	rc = xsh_sess_new(export_, data, DATA_BYTES, "test", &sess);
	if (rc) {
		fprintf(stderr, "session: %s\n", strerror(-rc));
		return 2;
	}

	test_basic_io();
	test_create_umask_excl();
	test_link_rename_unlink();
	test_readdir();
	test_symlink_escape();
	test_guest_symlink();
	test_stale();
	test_limits();
	test_read_only();
	test_owner();
	test_idmap();
	test_idmap_squash();
	test_setid();
	test_setattr();
	test_dedup_link();
	test_xattr();
	test_access();
	test_file_ops();
	test_protocol_errors();
	test_export_open();
	test_concurrent();
	test_fork();
	test_fd_cache();
	test_fd_cache_stale();
	test_fd_cache_links();
	test_fd_cache_threads();
	test_fd_cache_done();
	test_handle_budget();
	result(xsh_nodes_count(sess->nodes) == 0 &&
		       xsh_handles_count(sess->handles) == 0,
	       "every lookup forgotten and every handle released",
	       "%u nodes, %u handles left", xsh_nodes_count(sess->nodes),
	       xsh_handles_count(sess->handles));

	xsh_sess_free(sess);
	xsh_export_close(export_);
	xsh_service_thread_exit();
	free(data);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	unlink(outside);
	return tap_summary();
}
