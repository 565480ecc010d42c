// SPDX-License-Identifier: MIT
/*
 * Writes the hand-made seed inputs of the fuzz corpus (seed-* files): for
 * every opcode a short, valid request sequence against the harness's
 * export (tests/fuzz/fuzz_dispatch.c builds it: file, empty, dir/,
 * dir/inner, dir/sub/, link -> file, dirlink -> dir, escape -> ../outside,
 * abs -> <scratch>/outside, etc -> /etc, fifo, hard (link to file), sock),
 * plus a few hostile ones, so fuzzing starts deep.
 *
 *   gen_seeds DIR
 *
 * Node and handle arguments use the harness's substitution (node 0 is the
 * root, then every node id and fh a response returned, in order).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/service/policy.h"
#include "protocol/xenshare_proto.h"
#include "harness.h"

struct seed {
	uint8_t buf[8192];
	size_t len;
	uint64_t next_id;
};

static const char *out_dir;
static unsigned written;

static void begin(struct seed *s, uint8_t pol)
{
	memset(s, 0, sizeof(*s));
	s->buf[0] = pol;
	s->len = 1;
	s->next_id = 1;
}

static struct xsh_req mkreq(uint16_t op)
{
	struct xsh_req r;

	memset(&r, 0, sizeof(r));
	r.opcode = op;
	r.nodeid = XSH_ROOT_NODEID;
	return r;
}

/* Append one record; node/fh selectors < 0 mean "as written". */
static void add(struct seed *s, struct xsh_req r, int node, int fh, int node2,
		int fh2, uint8_t out_kib, const void *in, size_t in_len)
{
	struct xsh_fz_rec_hdr h;

	memset(&h, 0, sizeof(h));
	r.id = s->next_id++;
	if (node >= 0) {
		h.flags |= XSH_FZ_NODE;
		h.node_sel = (uint8_t)node;
	}
	if (fh >= 0) {
		h.flags |= XSH_FZ_FH;
		h.fh_sel = (uint8_t)fh;
	}
	if (node2 >= 0) {
		h.flags |= XSH_FZ_NODE2;
		h.node2_sel = (uint8_t)node2;
	}
	if (fh2 >= 0) {
		h.flags |= XSH_FZ_FH2;
		h.fh2_sel = (uint8_t)fh2;
	}
	h.out_kib = out_kib;
	h.in_len = (uint16_t)in_len;
	if (s->len + sizeof(h) + sizeof(r) + in_len > sizeof(s->buf)) {
		fprintf(stderr, "gen_seeds: seed too long\n");
		exit(1);
	}
	memcpy(s->buf + s->len, &h, sizeof(h));
	s->len += sizeof(h);
	memcpy(s->buf + s->len, &r, sizeof(r));
	s->len += sizeof(r);
	if (in_len)
		memcpy(s->buf + s->len, in, in_len);
	s->len += in_len;
}

/* Append a record whose buffer fields are taken as written. */
static void add_raw(struct seed *s, struct xsh_req r, const void *in,
		    size_t in_len)
{
	add(s, r, -1, -1, -1, -1, 0, in, in_len);
	/* flags byte of the record just added */
	s->buf[s->len - in_len - sizeof(r) - sizeof(struct xsh_fz_rec_hdr)] |=
		XSH_FZ_RAW;
}

static void save(const struct seed *s, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%s", out_dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f)) {
		fprintf(stderr, "gen_seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	written++;
}

#define S(str) str, sizeof(str) - 1

static void lookup(struct seed *s, int parent, const char *name)
{
	add(s, mkreq(XSH_OP_LOOKUP), parent, -1, -1, -1, 0, name, strlen(name));
}

static struct xsh_req io_req(uint16_t op, uint64_t off, uint32_t size)
{
	struct xsh_req r = mkreq(op);

	r.a.io.offset = off;
	r.a.io.size = size;
	return r;
}

static struct xsh_req open_req(uint16_t op, uint32_t flags, uint32_t mode)
{
	struct xsh_req r = mkreq(op);

	r.a.open.flags = flags;
	r.a.open.mode = mode;
	r.a.open.umask = 022;
	return r;
}

static struct xsh_req mknod_req(uint16_t op, uint32_t mode, uint32_t rdev)
{
	struct xsh_req r = mkreq(op);

	r.a.mknod.mode = mode;
	r.a.mknod.umask = 022;
	r.a.mknod.rdev = rdev;
	return r;
}

static struct xsh_req xattr_req(uint16_t op, uint32_t name_len, uint32_t size,
			       uint32_t flags)
{
	struct xsh_req r = mkreq(op);

	r.a.xattr.name_len = name_len;
	r.a.xattr.size = size;
	r.a.xattr.flags = flags;
	return r;
}

static void gen_names(void)
{
	struct seed s;
	struct xsh_req r;
	char big[300];

	begin(&s, 0);
	lookup(&s, 0, "file");
	lookup(&s, 0, "dir");
	lookup(&s, 2, "inner");
	lookup(&s, 2, "sub");
	lookup(&s, 0, "nonexistent");
	lookup(&s, 0, "hard");
	save(&s, "lookup");

	begin(&s, 0);
	lookup(&s, 0, "file");
	add(&s, mkreq(XSH_OP_GETATTR), 1, -1, -1, -1, 0, NULL, 0);
	add(&s, mkreq(XSH_OP_GETATTR), 0, -1, -1, -1, 0, NULL, 0);
	save(&s, "getattr");

	begin(&s, 0);
	lookup(&s, 0, "file");
	r = mkreq(XSH_OP_SETATTR);
	r.a.setattr.valid = XSH_SETATTR_MODE | XSH_SETATTR_SIZE |
			    XSH_SETATTR_ATIME | XSH_SETATTR_MTIME_NOW;
	r.a.setattr.mode = 0600;
	r.a.setattr.size = 100;
	r.a.setattr.atime = 1000000;
	add(&s, r, 1, -1, -1, -1, 0, NULL, 0);
	r = mkreq(XSH_OP_SETATTR);
	r.a.setattr.valid = XSH_SETATTR_UID | XSH_SETATTR_GID;
	r.a.setattr.uid = 1000;
	r.a.setattr.gid = 1000;
	add(&s, r, 1, -1, -1, -1, 0, NULL, 0);
	save(&s, "setattr");

	begin(&s, 0);
	lookup(&s, 0, "link");
	add(&s, mkreq(XSH_OP_READLINK), 1, -1, -1, -1, 4, NULL, 0);
	save(&s, "readlink");

	begin(&s, 0);
	r = mkreq(XSH_OP_SYMLINK);
	r.a.symlink.name_len = 2;
	add(&s, r, 0, -1, -1, -1, 0, S("slfile"));
	add(&s, mkreq(XSH_OP_READLINK), 1, -1, -1, -1, 4, NULL, 0);
	save(&s, "symlink");

	begin(&s, 0);
	add(&s, mknod_req(XSH_OP_MKNOD, S_IFREG | 0644, 0), 0, -1, -1, -1, 0,
	    S("nod"));
	add(&s, mknod_req(XSH_OP_MKNOD, S_IFIFO | 0644, 0), 0, -1, -1, -1, 0,
	    S("pipe"));
	add(&s, mknod_req(XSH_OP_MKNOD, S_IFSOCK | 0644, 0), 0, -1, -1, -1, 0,
	    S("sk"));
	add(&s, open_req(XSH_OP_OPEN, O_RDONLY, 0), 2, -1, -1, -1, 0, NULL, 0);
	save(&s, "mknod");

	begin(&s, XSH_FZ_POL_DEVICES);
	add(&s, mknod_req(XSH_OP_MKNOD, S_IFCHR | 0600, (1 << 8) | 3), 0, -1,
	    -1, -1, 0, S("null"));
	add(&s, open_req(XSH_OP_OPEN, O_RDWR, 0), 1, -1, -1, -1, 0, NULL, 0);
	save(&s, "mknod-device");

	begin(&s, 0);
	add(&s, mknod_req(XSH_OP_MKDIR, 0755, 0), 0, -1, -1, -1, 0, S("newdir"));
	add(&s, mknod_req(XSH_OP_MKDIR, 02775, 0), 1, -1, -1, -1, 0, S("deeper"));
	save(&s, "mkdir");

	begin(&s, 0);
	add(&s, mkreq(XSH_OP_UNLINK), 0, -1, -1, -1, 0, S("hard"));
	add(&s, mkreq(XSH_OP_UNLINK), 0, -1, -1, -1, 0, S("dir"));
	save(&s, "unlink");

	begin(&s, 0);
	add(&s, mknod_req(XSH_OP_MKDIR, 0755, 0), 0, -1, -1, -1, 0, S("gone"));
	add(&s, mkreq(XSH_OP_RMDIR), 0, -1, -1, -1, 0, S("gone"));
	add(&s, mkreq(XSH_OP_RMDIR), 0, -1, -1, -1, 0, S("dir"));
	save(&s, "rmdir");

	begin(&s, 0);
	lookup(&s, 0, "dir");
	r = mkreq(XSH_OP_RENAME);
	r.a.rename.name_len = 4;
	add(&s, r, 0, -1, 1, -1, 0, S("filemoved"));
	r.a.rename.name_len = 5;
	r.a.rename.flags = 2;	/* RENAME_EXCHANGE */
	add(&s, r, 0, -1, 0, -1, 0, S("emptyhard"));
	r.a.rename.name_len = 4;
	r.a.rename.flags = 1;	/* RENAME_NOREPLACE */
	add(&s, r, 0, -1, 0, -1, 0, S("harddir"));
	save(&s, "rename");

	begin(&s, 0);
	lookup(&s, 0, "file");
	lookup(&s, 0, "dir");
	add(&s, mkreq(XSH_OP_LINK), 1, -1, 2, -1, 0, S("l2"));
	save(&s, "link");

	memset(big, 'n', sizeof(big));
	begin(&s, 0);
	lookup(&s, 0, ".");
	lookup(&s, 0, "..");
	lookup(&s, 0, "a/b");
	add(&s, mkreq(XSH_OP_LOOKUP), 0, -1, -1, -1, 0, S("fi\0le"));
	add(&s, mkreq(XSH_OP_LOOKUP), 0, -1, -1, -1, 0, big, sizeof(big));
	add(&s, mkreq(XSH_OP_LOOKUP), 0, -1, -1, -1, 0, "/", 1);
	add(&s, mkreq(XSH_OP_LOOKUP), 0, -1, -1, -1, 0, "", 0);
	save(&s, "bad-names");
}

static void gen_files(void)
{
	struct seed s;
	struct xsh_req r;
	static char data[4096];

	memset(data, 'w', sizeof(data));
	begin(&s, 0);
	lookup(&s, 0, "file");
	add(&s, open_req(XSH_OP_OPEN, O_RDWR, 0), 1, -1, -1, -1, 0, NULL, 0);
	add(&s, io_req(XSH_OP_READ, 0, 4096), 1, 0, -1, -1, 4, NULL, 0);
	add(&s, io_req(XSH_OP_WRITE, 100, 5), 1, 0, -1, -1, 0, S("hello"));
	add(&s, io_req(XSH_OP_WRITE, 8000, sizeof(data)), 1, 0, -1, -1, 0,
	    data, sizeof(data));
	add(&s, mkreq(XSH_OP_FLUSH), 1, 0, -1, -1, 0, NULL, 0);
	add(&s, mkreq(XSH_OP_FSYNC), 1, 0, -1, -1, 0, NULL, 0);
	r = mkreq(XSH_OP_FALLOCATE);
	r.a.fallocate.offset = 0;
	r.a.fallocate.length = 65536;
	r.a.fallocate.mode = 1;
	add(&s, r, 1, 0, -1, -1, 0, NULL, 0);
	r = mkreq(XSH_OP_LSEEK);
	r.a.lseek.offset = 0;
	r.a.lseek.whence = 4;	/* SEEK_HOLE */
	add(&s, r, 1, 0, -1, -1, 0, NULL, 0);
	r = mkreq(XSH_OP_SETATTR);
	r.a.setattr.valid = XSH_SETATTR_SIZE | XSH_SETATTR_FH;
	r.a.setattr.size = 10;
	add(&s, r, 1, 0, -1, -1, 0, NULL, 0);
	add(&s, mkreq(XSH_OP_RELEASE), 1, 0, -1, -1, 0, NULL, 0);
	add(&s, io_req(XSH_OP_READ, 0, 16), 1, 0, -1, -1, 1, NULL, 0);
	save(&s, "open-io");

	begin(&s, 0);
	add(&s, open_req(XSH_OP_CREATE, O_RDWR | O_CREAT, S_IFREG | 0644), 0, -1,
	    -1, -1, 0, S("new"));
	add(&s, io_req(XSH_OP_WRITE, 0, 11), 1, 0, -1, -1, 0, S("new content"));
	add(&s, io_req(XSH_OP_READ, 0, 64), 1, 0, -1, -1, 1, NULL, 0);
	add(&s, mkreq(XSH_OP_RELEASE), 1, 0, -1, -1, 0, NULL, 0);
	add(&s, open_req(XSH_OP_CREATE, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0,
	    -1, -1, -1, 0, S("file"));
	add(&s, open_req(XSH_OP_CREATE, O_WRONLY | O_CREAT | O_EXCL, 0644), 0,
	    -1, -1, -1, 0, S("file"));
	save(&s, "create");

	begin(&s, 0);
	add(&s, open_req(XSH_OP_OPENDIR, O_RDONLY | O_DIRECTORY, 0), 0, -1, -1,
	    -1, 0, NULL, 0);
	add(&s, io_req(XSH_OP_READDIR, 0, 4096), 0, 0, -1, -1, 4, NULL, 0);
	add(&s, io_req(XSH_OP_READDIR, 3, 100), 0, 0, -1, -1, 1, NULL, 0);
	add(&s, io_req(XSH_OP_READDIRPLUS, 0, 4096), 0, 0, -1, -1, 4, NULL, 0);
	add(&s, mkreq(XSH_OP_FSYNCDIR), 0, 0, -1, -1, 0, NULL, 0);
	add(&s, mkreq(XSH_OP_RELEASEDIR), 0, 0, -1, -1, 0, NULL, 0);
	save(&s, "readdir");

	begin(&s, 0);
	lookup(&s, 0, "dir");
	add(&s, open_req(XSH_OP_OPENDIR, O_RDONLY, 0), 1, -1, -1, -1, 0, NULL,
	    0);
	add(&s, io_req(XSH_OP_READDIRPLUS, 0, 8192), 1, 0, -1, -1, 8, NULL, 0);
	add(&s, mkreq(XSH_OP_GETATTR), 2, -1, -1, -1, 0, NULL, 0);
	add(&s, mkreq(XSH_OP_RELEASEDIR), 1, 0, -1, -1, 0, NULL, 0);
	save(&s, "readdirplus");

	begin(&s, 0);
	add(&s, mkreq(XSH_OP_STATFS), 0, -1, -1, -1, 0, NULL, 0);
	save(&s, "statfs");

	begin(&s, 0);
	lookup(&s, 0, "file");
	add(&s, xattr_req(XSH_OP_SETXATTR, 8, 0, 0), 1, -1, -1, -1, 0,
	    S("user.newvalue"));
	add(&s, xattr_req(XSH_OP_GETXATTR, 0, 0, 0), 1, -1, -1, -1, 0,
	    S("user.seed"));
	add(&s, xattr_req(XSH_OP_GETXATTR, 0, 64, 0), 1, -1, -1, -1, 1,
	    S("user.seed"));
	add(&s, xattr_req(XSH_OP_LISTXATTR, 0, 0, 0), 1, -1, -1, -1, 0, NULL,
	    0);
	add(&s, xattr_req(XSH_OP_LISTXATTR, 0, 256, 0), 1, -1, -1, -1, 1, NULL,
	    0);
	add(&s, xattr_req(XSH_OP_REMOVEXATTR, 0, 0, 0), 1, -1, -1, -1, 0,
	    S("user.new"));
	add(&s, xattr_req(XSH_OP_SETXATTR, 13, 0, 1), 0, -1, -1, -1, 0,
	    S("trusted.evilx"));
	save(&s, "xattr");

	begin(&s, 0);
	lookup(&s, 0, "file");
	r = mkreq(XSH_OP_ACCESS);
	r.a.access.mask = 6;
	add(&s, r, 1, -1, -1, -1, 0, NULL, 0);
	r.uid = 1000;
	r.gid = 1000;
	add(&s, r, 1, -1, -1, -1, 0, NULL, 0);
	save(&s, "access");

	begin(&s, 0);
	lookup(&s, 0, "file");
	add(&s, open_req(XSH_OP_OPEN, O_RDONLY, 0), 1, -1, -1, -1, 0, NULL, 0);
	add(&s, open_req(XSH_OP_CREATE, O_RDWR | O_CREAT, 0644), 0, -1, -1, -1,
	    0, S("dst"));
	r = mkreq(XSH_OP_COPY_FILE_RANGE);
	r.a.copy.off_in = 0;
	r.a.copy.off_out = 10;
	r.a.copy.len = 4096;
	add(&s, r, 1, 0, 2, 1, 0, NULL, 0);
	save(&s, "copy-file-range");

	begin(&s, 0);
	add(&s, mkreq(XSH_OP_REOPEN), 0, -1, -1, -1, 0, S("\x08\0\0\0\1\0\0\0"));
	save(&s, "reopen");
}

static void gen_hostile(void)
{
	struct seed s;
	struct xsh_req r;
	struct xsh_forget_one f[2];

	memset(f, 0, sizeof(f));
	f[0].nlookup = 1;
	begin(&s, 0);
	lookup(&s, 0, "file");
	add(&s, mkreq(XSH_OP_FORGET), 1, -1, -1, -1, 0, f, sizeof(f[0]));
	add(&s, mkreq(XSH_OP_GETATTR), 1, -1, -1, -1, 0, NULL, 0);
	save(&s, "forget");

	f[0].nlookup = 1000;
	f[1].nodeid = XSH_ROOT_NODEID;
	f[1].nlookup = ~0ull;
	begin(&s, 0);
	lookup(&s, 0, "dir");
	lookup(&s, 1, "inner");
	add(&s, mkreq(XSH_OP_FORGET), 1, -1, -1, -1, 0, f, sizeof(f));
	lookup(&s, 1, "sub");
	add(&s, open_req(XSH_OP_OPENDIR, O_RDONLY, 0), 1, -1, -1, -1, 0, NULL,
	    0);
	add(&s, mkreq(XSH_OP_GETATTR), 0, -1, -1, -1, 0, NULL, 0);
	save(&s, "forget-underflow");

	begin(&s, 0);
	lookup(&s, 0, "escape");
	lookup(&s, 1, "secret");
	add(&s, open_req(XSH_OP_OPENDIR, O_RDONLY, 0), 1, -1, -1, -1, 0, NULL,
	    0);
	add(&s, open_req(XSH_OP_CREATE, O_RDWR | O_CREAT, 0644), 1, -1, -1, -1,
	    0, S("x"));
	add(&s, mknod_req(XSH_OP_MKDIR, 0755, 0), 1, -1, -1, -1, 0, S("y"));
	lookup(&s, 0, "abs");
	add(&s, open_req(XSH_OP_OPEN, O_RDWR, 0), 2, -1, -1, -1, 0, NULL, 0);
	lookup(&s, 0, "dirlink");
	lookup(&s, 3, "inner");
	r = mkreq(XSH_OP_RENAME);
	r.a.rename.name_len = 1;
	add(&s, r, 1, -1, 0, -1, 0, S("zz"));
	save(&s, "escape");

	begin(&s, 0);
	lookup(&s, 0, "fifo");
	add(&s, open_req(XSH_OP_OPEN, O_RDONLY, 0), 1, -1, -1, -1, 0, NULL, 0);
	add(&s, open_req(XSH_OP_OPEN, O_WRONLY, 0), 1, -1, -1, -1, 0, NULL, 0);
	add(&s, open_req(XSH_OP_CREATE, O_RDONLY | O_CREAT, 0644), 0, -1, -1,
	    -1, 0, S("fifo"));
	add(&s, open_req(XSH_OP_CREATE, O_RDWR | O_CREAT, 0644), 0, -1, -1, -1,
	    0, S("sock"));
	add(&s, open_req(XSH_OP_CREATE, O_RDWR | O_CREAT, 0644), 0, -1, -1, -1,
	    0, S("link"));
	lookup(&s, 0, "sock");
	add(&s, open_req(XSH_OP_OPEN, O_RDONLY, 0), 2, -1, -1, -1, 0, NULL, 0);
	add(&s, open_req(XSH_OP_OPENDIR, O_RDONLY, 0), 1, -1, -1, -1, 0, NULL,
	    0);
	save(&s, "special-files");

	begin(&s, 0);
	lookup(&s, 0, "file");
	add(&s, mkreq(XSH_OP_GETATTR), 1, -1, -1, -1, 0, NULL, 0);
	add(&s, mkreq(XSH_OP_GETATTR), 1, -1, -1, -1, 0, NULL, 0);
	/* stale generation, then made-up ids and handles */
	s.buf[s.len - sizeof(struct xsh_req) - sizeof(struct xsh_fz_rec_hdr)] |=
		XSH_FZ_STALE;
	r = mkreq(XSH_OP_GETATTR);
	r.nodeid = 0xffffffffull;
	add(&s, r, -1, -1, -1, -1, 0, NULL, 0);
	r.nodeid = 0;
	add(&s, r, -1, -1, -1, -1, 0, NULL, 0);
	r = io_req(XSH_OP_READ, 0, 16);
	r.fh = 0x100000001ull;
	add(&s, r, 1, -1, -1, -1, 1, NULL, 0);
	add(&s, open_req(XSH_OP_OPENDIR, O_RDONLY, 0), 0, -1, -1, -1, 0, NULL,
	    0);
	add(&s, io_req(XSH_OP_READ, 0, 16), 0, 0, -1, -1, 1, NULL, 0);
	add(&s, mkreq(XSH_OP_RELEASE), 1, 0, -1, -1, 0, NULL, 0);
	save(&s, "forged-ids");

	begin(&s, 0);
	r = mkreq(XSH_OP_LOOKUP);
	r.buf_off = XSH_FZ_DATA_BYTES - 4;
	r.buf_len = 100;
	r.in_len = 4;
	add_raw(&s, r, S("file"));
	save(&s, "raw-oob");

	/* Output at an odd offset: records are not 8-aligned in memory. */
	begin(&s, 0);
	add(&s, open_req(XSH_OP_OPENDIR, O_RDONLY, 0), 0, -1, -1, -1, 0, NULL,
	    0);
	r = io_req(XSH_OP_READDIRPLUS, 0, 4096);
	r.buf_off = 3;
	add(&s, r, 0, 0, -1, -1, 4, NULL, 0);
	save(&s, "readdirplus-unaligned");

	/* Raw buffer fields with more payload than the buffer holds. */
	begin(&s, 0);
	r = mkreq(XSH_OP_LOOKUP);
	r.buf_off = 100;
	r.buf_len = 4;
	r.in_len = 4;
	add_raw(&s, r, S("fileXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"));
	save(&s, "raw-short-buffer");

	begin(&s, 0);
	r = mkreq(XSH_OP_READ);
	r.buf_off = 0xfffff000u;
	r.buf_len = 0x2000;
	add_raw(&s, r, NULL, 0);
	save(&s, "raw-wrap");

	begin(&s, 0);
	lookup(&s, 0, "file");
	add(&s, open_req(XSH_OP_OPEN, O_RDWR, 0), 1, -1, -1, -1, 0, NULL, 0);
	r = io_req(XSH_OP_WRITE, 0, XSH_MAX_IO + 1);
	add(&s, r, 1, 0, -1, -1, 0, S("x"));
	r = io_req(XSH_OP_READ, 0, XSH_MAX_IO);
	add(&s, r, 1, 0, -1, -1, 1, NULL, 0);
	r = io_req(XSH_OP_READ, ~0ull, 16);
	add(&s, r, 1, 0, -1, -1, 1, NULL, 0);
	r = mkreq(XSH_OP_LISTXATTR);
	r.a.xattr.size = 1u << 30;
	add(&s, r, 1, -1, -1, -1, 0, NULL, 0);
	save(&s, "huge-len");

	begin(&s, XSH_FZ_POL_RO);
	add(&s, open_req(XSH_OP_CREATE, O_RDWR | O_CREAT, 0644), 0, -1, -1, -1,
	    0, S("new"));
	lookup(&s, 0, "file");
	add(&s, open_req(XSH_OP_OPEN, O_RDWR, 0), 1, -1, -1, -1, 0, NULL, 0);
	add(&s, open_req(XSH_OP_OPEN, O_RDONLY | O_TRUNC, 0), 1, -1, -1, -1, 0,
	    NULL, 0);
	add(&s, mkreq(XSH_OP_STATFS), 0, -1, -1, -1, 0, NULL, 0);
	save(&s, "read-only");

	begin(&s, XSH_FZ_POL_TIGHT);
	lookup(&s, 0, "file");
	lookup(&s, 0, "dir");
	lookup(&s, 0, "empty");
	lookup(&s, 0, "link");
	lookup(&s, 0, "fifo");
	lookup(&s, 0, "sock");
	lookup(&s, 0, "dirlink");
	lookup(&s, 2, "inner");
	add(&s, open_req(XSH_OP_OPEN, O_RDONLY, 0), 1, -1, -1, -1, 0, NULL, 0);
	add(&s, open_req(XSH_OP_OPEN, O_RDONLY, 0), 1, -1, -1, -1, 0, NULL, 0);
	add(&s, open_req(XSH_OP_OPEN, O_RDONLY, 0), 1, -1, -1, -1, 0, NULL, 0);
	add(&s, open_req(XSH_OP_OPEN, O_RDONLY, 0), 1, -1, -1, -1, 0, NULL, 0);
	save(&s, "limits");

	begin(&s, (XSH_IDMAP_SQUASH_ALL << XSH_FZ_POL_IDMAP_SHIFT) |
		  XSH_FZ_POL_QUOTA);
	r = open_req(XSH_OP_CREATE, O_RDWR | O_CREAT, 0644);
	r.uid = 1000;
	r.gid = 1000;
	add(&s, r, 0, -1, -1, -1, 0, S("squashed"));
	r = io_req(XSH_OP_WRITE, 0, 4096);
	{
		static char blk[4096];

		add(&s, r, 1, 0, -1, -1, 0, blk, sizeof(blk));
	}
	r = mkreq(XSH_OP_GETATTR);
	add(&s, r, 1, -1, -1, -1, 0, NULL, 0);
	r = mkreq(XSH_OP_SETATTR);
	r.a.setattr.valid = XSH_SETATTR_MODE;
	r.a.setattr.mode = 04755;
	add(&s, r, 1, -1, -1, -1, 0, NULL, 0);
	add(&s, open_req(XSH_OP_CREATE, O_RDWR | O_CREAT, 04755), 0, -1, -1, -1,
	    0, S("suid"));
	save(&s, "squash-quota");

	begin(&s, (XSH_IDMAP_RANGE << XSH_FZ_POL_IDMAP_SHIFT) | XSH_FZ_POL_SETID);
	r = mknod_req(XSH_OP_MKDIR, 02755, 0);
	r.uid = 70000;
	add(&s, r, 0, -1, -1, -1, 0, S("range"));
	r.uid = 5;
	add(&s, r, 0, -1, -1, -1, 0, S("range2"));
	save(&s, "idmap-range");

	begin(&s, 0);
	r = mkreq(XSH_OP_MAX);
	add(&s, r, -1, -1, -1, -1, 0, NULL, 0);
	r = mkreq(0);
	add(&s, r, -1, -1, -1, -1, 0, NULL, 0);
	r = mkreq(XSH_OP_GETATTR);
	r.flags = 0xffff;
	r.pad = 0xffffffffu;
	add(&s, r, -1, -1, -1, -1, 0, S("junk"));
	save(&s, "bad-opcodes");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	if (mkdir(out_dir, 0755) && errno != EEXIST) {
		perror(out_dir);
		return 1;
	}
	gen_names();
	gen_files();
	gen_hostile();
	printf("%u seeds written to %s\n", written, out_dir);
	return 0;
}
