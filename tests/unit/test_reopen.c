// SPDX-License-Identifier: MIT
/*
 * Unit tests for restoring a session after a backend restart: SipHash-2-4
 * against the reference vectors, persistent handles (backend/service/phandle.c),
 * the state directory's key files (backend/daemon/state.c), XSH_OP_REOPEN and
 * resent requests (XSH_REQ_RESENT) through xsh_dispatch().
 *
 * A "restart" here is: free every session of an export, close it, open
 * the export again with the same key, start a new session and REOPEN
 * what the guest held.  The host's side is checked with plain syscalls.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/service/phandle.h"
#include "backend/service/service.h"
#include "backend/service/siphash.h"
#include "backend/daemon/state.h"
#include "protocol/codec.h"
#include "tap.h"

#define DATA_BYTES	(2u << 20)
#define XATTR_CREATE_FLAG	1u
#define BUF		4096u
#define ROOT		XSH_ROOT_NODEID

static char top[64], dir[96];
static struct xsh_export *exp_;
static struct xsh_sess *sess;
static uint8_t *data;
static uint64_t next_id;
static const uint8_t key_a[16] = "0123456789abcdef";
static const uint8_t key_b[16] = "fedcba9876543210";

/* ---- SipHash ------------------------------------------------------------ */

/* Reference vectors (SipHash paper, appendix; the authors' vectors.h):
 * key 00..0f, message 00..(n-1), output little-endian. */
static const uint8_t sip_vectors[16][8] = {
	{ 0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72 },
	{ 0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74 },
	{ 0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d },
	{ 0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85 },
	{ 0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf },
	{ 0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18 },
	{ 0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb },
	{ 0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab },
	{ 0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93 },
	{ 0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e },
	{ 0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a },
	{ 0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4 },
	{ 0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75 },
	{ 0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14 },
	{ 0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7 },
	{ 0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1 },
};

static void test_siphash(void)
{
	uint8_t key[16], msg[16];
	unsigned i, k, bad = 16;
	uint64_t h;

	for (i = 0; i < 16; i++)
		key[i] = msg[i] = (uint8_t)i;
	for (i = 0; i < 16 && bad == 16; i++) {
		h = xsh_siphash24(key, msg, i);
		for (k = 0; k < 8; k++)
			if ((uint8_t)(h >> (8 * k)) != sip_vectors[i][k])
				bad = i;
	}
	result(bad == 16, "siphash-2-4 reference vectors, lengths 0..15",
	       "length %u differs", bad);
}

/* ---- persistent handles --------------------------------------------------- */

static void test_phandle(void)
{
	struct xsh_phandle p = { .htype = 1, .hlen = 8 }, q;
	struct xsh_phandle_root root, other;
	uint8_t b[XSH_HANDLE_MAX];
	int len, rc;

	xsh_phandle_root(1, "rootroot", 8, &root);
	xsh_phandle_root(1, "rootRoot", 8, &other);
	memcpy(p.h, "\1\2\3\4\5\6\7\10", 8);
	len = xsh_phandle_make(key_a, &root, &p, b, sizeof(b));
	rc = len > 0 ? xsh_phandle_parse(key_a, &root, b, (uint32_t)len, &q) :
		       len;
	result(len == 24 && !rc && q.htype == 1 && q.hlen == 8 &&
		       !memcmp(q.h, p.h, 8),
	       "handle make/parse round trip", "len %d rc %d", len, rc);
	result(xsh_phandle_parse(key_b, &root, b, (uint32_t)len, &q) == -EPERM,
	       "handle signed with another export's key: EPERM", "accepted");
	result(xsh_phandle_parse(key_a, &other, b, (uint32_t)len, &q) == -EPERM,
	       "handle made under another export root: EPERM", "accepted");
	b[9] ^= 1;
	result(xsh_phandle_parse(key_a, &root, b, (uint32_t)len, &q) == -EPERM,
	       "handle with a changed byte: EPERM", "accepted");
	b[9] ^= 1;
	b[len - 1] ^= 0x80;
	result(xsh_phandle_parse(key_a, &root, b, (uint32_t)len, &q) == -EPERM,
	       "handle with a changed signature: EPERM", "accepted");
	b[len - 1] ^= 0x80;
	result(xsh_phandle_parse(key_a, &root, b, (uint32_t)len - 1, &q) ==
			       -EPERM &&
		       xsh_phandle_parse(key_a, &root, b, 5, &q) == -EPERM,
	       "truncated handle: EPERM", "accepted");
	result(xsh_phandle_parse(key_a, &root, b, 0, &q) == -ESTALE,
	       "empty handle: ESTALE", "not ESTALE");
	result(xsh_phandle_make(key_a, &root, &p, b, 23) == -ENOSPC,
	       "handle make: -ENOSPC when it does not fit", "wrong answer");
	p.hlen = XSH_PHANDLE_HMAX + 1;
	result(xsh_phandle_make(key_a, &root, &p, b, sizeof(b)) == -EINVAL,
	       "handle make: host handle too long", "wrong answer");
}

/* Version 2 handles (exports without file handles) carry the version
 * under the signature: one cannot pass for the other. */
static void test_phandle_by_name(void)
{
	struct xsh_phandle p = { .version = XSH_PHANDLE_VERSION_NAME,
				 .htype = S_IFREG }, q;
	struct xsh_phandle_root root;
	uint8_t b[XSH_HANDLE_MAX];
	int len, rc;

	xsh_phandle_root(0x65735546u, "\1\0\0\0\0\0\0\0", 8, &root);
	memcpy(p.h, "inode123parent45name", 20);
	p.hlen = 20;
	len = xsh_phandle_make(key_a, &root, &p, b, sizeof(b));
	rc = len > 0 ? xsh_phandle_parse(key_a, &root, b, (uint32_t)len, &q) :
		       len;
	result(len == 36 && !rc && q.version == XSH_PHANDLE_VERSION_NAME &&
		       q.htype == S_IFREG && q.hlen == 20 &&
		       !memcmp(q.h, p.h, 20),
	       "by-name handle make/parse round trip", "len %d rc %d", len, rc);
	b[0] = XSH_PHANDLE_VERSION;
	result(xsh_phandle_parse(key_a, &root, b, (uint32_t)len, &q) == -EPERM,
	       "by-name handle relabelled as a host handle: EPERM", "accepted");
	b[0] = XSH_PHANDLE_VERSION_NAME;
	b[30] ^= 1;
	result(xsh_phandle_parse(key_a, &root, b, (uint32_t)len, &q) == -EPERM,
	       "by-name handle with a changed name: EPERM", "accepted");
	b[30] ^= 1;
	b[0] = 3;
	result(xsh_phandle_parse(key_a, &root, b, (uint32_t)len, &q) == -EPERM,
	       "handle of an unknown version: EPERM", "accepted");
}

/* ---- state directory ------------------------------------------------------- */

static void test_state(void)
{
	uint8_t k1[16], k2[16], k3[16];
	char why[300] = "", sd[128], other[128], err[256];
	struct stat st;
	int rc;

	snprintf(sd, sizeof(sd), "%s/state", top);
	snprintf(other, sizeof(other), "%s/other", top);
	mkdir(other, 0755);
	rc = xsh_state_export_key(sd, dir, k1, err, sizeof(err));
	CHECK(rc == 0, "first start: %d %s", rc, err);
	CHECK(!stat(sd, &st) && (st.st_mode & 0777) == 0700,
	      "state dir mode %o", st.st_mode & 0777);
	rc = xsh_state_export_key(sd, dir, k2, err, sizeof(err));
	CHECK(rc == 0 && !memcmp(k1, k2, 16), "second start: %d, same key %d",
	      rc, !memcmp(k1, k2, 16));
	rc = xsh_state_export_key(sd, other, k3, err, sizeof(err));
	CHECK(rc == 0 && memcmp(k1, k3, 16), "another export: %d, same key %d",
	      rc, !memcmp(k1, k3, 16));
	rc = xsh_state_export_key(sd, dir, k2, err, sizeof(err));
	CHECK(rc == 0 && !memcmp(k1, k2, 16), "reread");
out:
	result(!why[0], "state: a key per export, made once, 0600, reused",
	       "%s", why);

	why[0] = '\0';
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "chmod 0644 %s/export-*.key", sd);
		CHECK(system(cmd) == 0, "chmod");
		rc = xsh_state_export_key(sd, dir, k2, err, sizeof(err));
		CHECK(rc == -EPERM, "readable by others: %d", rc);
		snprintf(cmd, sizeof(cmd), "chmod 0600 %s/export-*.key", sd);
		CHECK(system(cmd) == 0, "chmod back");
	}
	result(!why[0], "state: a key file others can read is refused", "%s",
	       why);
}

/* ---- requests ---------------------------------------------------------- */

static struct xsh_req mkreq(uint16_t op, uint64_t nodeid)
{
	struct xsh_req r;

	memset(&r, 0, sizeof(r));
	r.opcode = op;
	r.nodeid = nodeid;
	return r;
}

/* Input at the start of the data area, a page of buffer (room for the
 * handle); -errno of the response. */
static int run(struct xsh_req *r, const void *in, uint32_t in_len,
	       struct xsh_rsp *rsp)
{
	struct xsh_rsp tmp;

	if (!rsp)
		rsp = &tmp;
	r->id = ++next_id;
	r->buf_off = 0;
	r->in_len = in_len;
	r->buf_len = in_len > BUF ? in_len : BUF;
	if (in_len)
		memcpy(data, in, in_len);
	if (xsh_dispatch(sess, r, rsp))
		return -9999;
	return -rsp->error;
}

struct held {
	uint64_t id;
	uint32_t hlen;
	uint8_t h[XSH_HANDLE_MAX];
};

static int entry_op(struct xsh_req *r, const void *in, uint32_t in_len,
		    struct held *hd, struct xsh_rsp *out)
{
	struct xsh_rsp rsp;
	int rc = run(r, in, in_len, &rsp);

	if (!rc && hd) {
		hd->id = rsp.u.entry.nodeid;
		hd->hlen = rsp.out_len <= XSH_HANDLE_MAX ? rsp.out_len : 0;
		memcpy(hd->h, data, hd->hlen);
	}
	if (out)
		*out = rsp;
	return rc;
}

static int lookup(uint64_t parent, const char *name, struct held *hd)
{
	struct xsh_req r = mkreq(XSH_OP_LOOKUP, parent);

	return entry_op(&r, name, (uint32_t)strlen(name), hd, NULL);
}

static int open_(uint64_t node, uint32_t flags, uint64_t *fh)
{
	struct xsh_req r = mkreq(XSH_OP_OPEN, node);
	struct xsh_rsp rsp;
	int rc;

	r.a.open.flags = flags;
	rc = run(&r, NULL, 0, &rsp);
	*fh = rsp.u.fh;
	return rc;
}

static int write_(uint64_t node, uint64_t fh, uint64_t off, const char *s,
		  uint16_t flags)
{
	struct xsh_req r = mkreq(XSH_OP_WRITE, node);

	r.fh = fh;
	r.flags = flags;
	r.a.io.offset = off;
	r.a.io.size = (uint32_t)strlen(s);
	return run(&r, s, (uint32_t)strlen(s), NULL);
}

static int getattr(uint64_t node)
{
	struct xsh_req r = mkreq(XSH_OP_GETATTR, node);

	return run(&r, NULL, 0, NULL);
}

static int reopen_node(uint64_t id, uint64_t nlookup, const void *h,
		       uint32_t hlen, struct xsh_rsp *out)
{
	struct xsh_req r = mkreq(XSH_OP_REOPEN, 0);

	r.a.reopen.kind = XSH_REOPEN_NODE;
	r.a.reopen.id = id;
	r.a.reopen.nlookup = nlookup;
	return run(&r, h, hlen, out);
}

static int reopen_fh(uint32_t kind, uint64_t node, uint64_t fh,
		     uint32_t flags)
{
	struct xsh_req r = mkreq(XSH_OP_REOPEN, node);
	struct xsh_rsp rsp;
	int rc;

	r.a.reopen.kind = kind;
	r.a.reopen.id = fh;
	r.a.reopen.flags = flags;
	rc = run(&r, NULL, 0, &rsp);
	if (!rc && rsp.u.entry.fh != fh)
		rc = -9998;
	return rc;
}

static char *host(const char *rel)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return p;
}

static int host_put(const char *rel, const char *s)
{
	int fd = open(host(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

static int host_get(const char *rel, char *buf, size_t len)
{
	int fd = open(host(rel), O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return n < 0 ? -EIO : 0;
}

/* The backend "restarts": the session and export go, the same export
 * comes back with key, a new session starts. */
static int restart(const uint8_t *key)
{
	int rc;

	xsh_sess_free(sess);
	sess = NULL;
	xsh_export_close(exp_);
	exp_ = NULL;
	rc = xsh_export_open(dir, NULL, &exp_);
	if (rc)
		return rc;
	xsh_export_set_handle_key(exp_, key);
	return xsh_sess_new(exp_, data, DATA_BYTES, "test", &sess);
}

static void test_reopen(void)
{
	struct held f = { 0 }, d = { 0 }, g = { 0 }, gone = { 0 };
	char why[300] = "", buf[64];
	struct xsh_rsp rsp;
	uint64_t fh, dfh;
	int rc;

	rc = host_put("f", "hello");
	CHECK(!rc && !mkdir(host("d"), 0755) && !host_put("d/g", "g") &&
	      !host_put("gone", "x"), "host files");
	CHECK(!lookup(ROOT, "f", &f) && !lookup(ROOT, "f", NULL) &&
	      !lookup(ROOT, "d", &d) && !lookup(d.id, "g", &g) &&
	      !lookup(ROOT, "gone", &gone), "lookups");
	CHECK(f.hlen > XSH_PHANDLE_OVERHEAD && d.hlen && g.hlen,
	      "no handles in replies (f %u d %u g %u)", f.hlen, d.hlen, g.hlen);
	CHECK(!open_(f.id, O_RDWR, &fh), "open f");
	{
		struct xsh_req r = mkreq(XSH_OP_OPENDIR, d.id);
		struct xsh_rsp o;

		CHECK(!run(&r, NULL, 0, &o), "opendir d");
		dfh = o.u.fh;
	}

	CHECK(!restart(key_a), "restart");
	unlink(host("gone"));
	CHECK(getattr(f.id) == -ESTALE, "f known before REOPEN");
	rc = reopen_node(f.id, 2, f.h, f.hlen, &rsp);
	CHECK(!rc && rsp.u.entry.nodeid == f.id &&
	      rsp.u.entry.generation == (uint32_t)(f.id >> 32) &&
	      rsp.u.entry.attr.size == 5, "reopen f: %d", rc);
	CHECK(!reopen_node(d.id, 1, d.h, d.hlen, NULL), "reopen d");
	CHECK(!reopen_node(g.id, 1, g.h, g.hlen, NULL), "reopen d/g");
	CHECK(!getattr(f.id) && !getattr(g.id), "getattr after reopen");
	CHECK(!reopen_fh(XSH_REOPEN_FILE, f.id, fh, O_RDWR | O_CREAT | O_TRUNC),
	      "reopen fh");
	CHECK(!write_(f.id, fh, 5, " world", 0), "write through the old fh");
	CHECK(!host_get("f", buf, sizeof(buf)) && !strcmp(buf, "hello world"),
	      "host has '%s'", buf);
	CHECK(reopen_fh(XSH_REOPEN_DIR, d.id, dfh, O_RDONLY | O_DIRECTORY) == 0,
	      "reopen dir fh");
	rc = reopen_node(gone.id, 1, gone.h, gone.hlen, NULL);
	CHECK(rc == -ESTALE, "file deleted while down: %d", rc);
	CHECK(getattr(gone.id) == -ESTALE, "its id stays stale");
	/* Two lookups were restored for f: one forget leaves it. */
	{
		struct xsh_req r = mkreq(XSH_OP_FORGET, 0);
		struct xsh_forget_one fo = { .nodeid = f.id, .nlookup = 1 };

		CHECK(!run(&r, &fo, sizeof(fo), NULL), "forget");
		CHECK(!getattr(f.id), "f gone after one of two forgets");
		CHECK(!run(&r, &fo, sizeof(fo), NULL), "forget");
		CHECK(getattr(f.id) == -ESTALE, "f alive after its forgets");
	}
out:
	result(!why[0], "reopen: nodes and open files at their old ids after "
	       "a restart", "%s", why);
}

static void test_reopen_refused(void)
{
	struct held f = { 0 }, h2 = { 0 };
	struct xsh_rsp rsp;
	char why[300] = "";
	uint8_t forged[XSH_HANDLE_MAX];
	uint64_t taken;
	int rc;

	CHECK(!restart(key_a), "restart");
	CHECK(!lookup(ROOT, "f", &f) && f.hlen, "lookup f");
	CHECK(!host_put("h2", "2") && !lookup(ROOT, "h2", &h2), "lookup h2");
	taken = h2.id;
	CHECK(!restart(key_a), "restart");
	CHECK(!reopen_node(taken, 1, h2.h, h2.hlen, NULL), "reopen h2");

	memcpy(forged, f.h, f.hlen);
	forged[9] ^= 0x55;
	rc = reopen_node(f.id, 1, forged, f.hlen, NULL);
	CHECK(rc == -EPERM, "forged handle: %d", rc);
	CHECK(getattr(f.id) == -ESTALE, "forged id is stale");
	rc = reopen_node(f.id + (1ull << 32), 1, f.h, f.hlen, NULL);
	CHECK(rc == 0, "the same file at a later generation: %d", rc);
	rc = reopen_node(taken, 1, f.h, f.hlen, NULL);
	CHECK(rc == -EEXIST, "an id taken by another node: %d", rc);
	rc = reopen_node((1ull << 32) | 0x7fffffffu, 1, f.h, f.hlen, NULL);
	CHECK(rc == -EINVAL, "an index past the node limit: %d", rc);
	rc = reopen_node(ROOT, 1, f.h, f.hlen, NULL);
	CHECK(rc == -EINVAL, "the root: %d", rc);
	rc = reopen_node(77, 1, NULL, 0, NULL);
	CHECK(rc == -ESTALE && getattr(77) == -ESTALE, "no handle: %d", rc);
	rc = reopen_fh(XSH_REOPEN_FILE, 77, 5, O_RDONLY);
	CHECK(rc == -ESTALE, "fh on an unknown node: %d", rc);

	CHECK(!restart(key_b), "restart with another key");
	rc = reopen_node(f.id, 1, f.h, f.hlen, &rsp);
	CHECK(rc == -EPERM, "handle of another export key: %d", rc);
out:
	result(!why[0], "reopen: forged, foreign, taken and out-of-range ids "
	       "refused", "%s", why);
}

static void test_readdirplus_handles(void)
{
	const struct xsh_direntplus *dp;
	struct xsh_direntplus hdr;
	char why[300] = "", copy[BUF];
	struct held d = { 0 }, g = { 0 };
	const char *name;
	uint32_t pos = 0, len;
	uint64_t dfh;
	int n, rc;

	CHECK(!restart(key_a), "restart");
	CHECK(!lookup(ROOT, "d", &d), "lookup d");
	{
		struct xsh_req r = mkreq(XSH_OP_OPENDIR, d.id);
		struct xsh_rsp o;

		CHECK(!run(&r, NULL, 0, &o), "opendir");
		dfh = o.u.fh;
		r = mkreq(XSH_OP_READDIRPLUS, d.id);
		r.fh = dfh;
		r.a.io.size = BUF;
		CHECK(!run(&r, NULL, 0, &o), "readdirplus");
		len = o.out_len;
		memcpy(copy, data, len);
	}
	while ((n = xsh_codec_next_direntplus(copy, len, pos, &dp, &name)) > 0) {
		pos += (uint32_t)n;
		memcpy(&hdr, dp, sizeof(hdr));
		if (hdr.dirent.namelen == 1 && name[0] == 'g') {
			g.id = hdr.entry.nodeid;
			g.hlen = hdr.dirent.handle_len;
			memcpy(g.h, name + 1, g.hlen);
		} else if (hdr.dirent.handle_len) {
			CHECK(0, "'.' or '..' with a handle");
		}
	}
	CHECK(n == 0 && g.id && g.hlen, "record for g: n %d id %llu hlen %u",
	      n, (unsigned long long)g.id, g.hlen);
	CHECK(!restart(key_a), "restart");
	rc = reopen_node(g.id, 1, g.h, g.hlen, NULL);
	CHECK(!rc && !getattr(g.id), "reopen from a readdirplus handle: %d", rc);
out:
	result(!why[0], "readdirplus records carry handles REOPEN takes", "%s",
	       why);
}

/* ---- resent requests -------------------------------------------------------- */

static int resent_mk(uint16_t op, const char *name, uint32_t mode,
		     uint16_t flags, struct xsh_rsp *out)
{
	struct xsh_req r = mkreq(op, ROOT);

	r.flags = flags;
	r.a.mknod.mode = mode;
	return entry_op(&r, name, (uint32_t)strlen(name), NULL, out);
}

static int resent_symlink(const char *name, const char *target,
			  uint16_t flags)
{
	struct xsh_req r = mkreq(XSH_OP_SYMLINK, ROOT);
	char buf[256];

	r.flags = flags;
	r.a.symlink.name_len = (uint32_t)strlen(name);
	snprintf(buf, sizeof(buf), "%s%s", name, target);
	return run(&r, buf, (uint32_t)strlen(buf), NULL);
}

static int resent_create(const char *name, uint16_t flags, struct xsh_rsp *o)
{
	struct xsh_req r = mkreq(XSH_OP_CREATE, ROOT);

	r.flags = flags;
	r.a.open.flags = O_RDWR | O_CREAT | O_EXCL;
	r.a.open.mode = S_IFREG | 0644;
	return entry_op(&r, name, (uint32_t)strlen(name), NULL, o);
}

static int resent_remove(uint16_t op, const char *name, uint16_t flags)
{
	struct xsh_req r = mkreq(op, ROOT);

	r.flags = flags;
	return run(&r, name, (uint32_t)strlen(name), NULL);
}

static int resent_exchange(const char *a, const char *b, uint64_t na,
			   uint64_t nb, uint16_t flags)
{
	struct xsh_req r = mkreq(XSH_OP_RENAME, ROOT);
	char buf[256];

	r.flags = flags;
	r.a.rename.newparent = ROOT;
	r.a.rename.name_len = (uint32_t)strlen(a);
	r.a.rename.flags = 2;	/* RENAME_EXCHANGE */
	r.a.rename.node = na;
	r.a.rename.newnode = nb;
	snprintf(buf, sizeof(buf), "%s%s", a, b);
	return run(&r, buf, (uint32_t)strlen(buf), NULL);
}

/* Host files a and b hold "want_a" and "want_b". */
static bool host_is(const char *a, const char *want_a, const char *b,
		    const char *want_b)
{
	char x[64], y[64];

	return !host_get(a, x, sizeof(x)) && !strcmp(x, want_a) &&
	       !host_get(b, y, sizeof(y)) && !strcmp(y, want_b);
}

static int resent_rename(const char *a, const char *b, uint16_t flags)
{
	struct xsh_req r = mkreq(XSH_OP_RENAME, ROOT);
	char buf[256];

	r.flags = flags;
	r.a.rename.newparent = ROOT;
	r.a.rename.name_len = (uint32_t)strlen(a);
	snprintf(buf, sizeof(buf), "%s%s", a, b);
	return run(&r, buf, (uint32_t)strlen(buf), NULL);
}

static int resent_link(uint64_t node, const char *name, uint16_t flags,
		       struct xsh_rsp *o)
{
	struct xsh_req r = mkreq(XSH_OP_LINK, node);

	r.flags = flags;
	r.a.link.newparent = ROOT;
	return entry_op(&r, name, (uint32_t)strlen(name), NULL, o);
}

static void test_resent(void)
{
	const uint16_t R = XSH_REQ_RESENT;
	char why[300] = "", buf[64];
	struct xsh_rsp o;
	struct held f = { 0 };
	uint64_t fh;
	int rc;

	CHECK(!restart(key_a), "restart");
	CHECK(!resent_mk(XSH_OP_MKDIR, "m", S_IFDIR | 0755, 0, NULL), "mkdir");
	rc = resent_mk(XSH_OP_MKDIR, "m", S_IFDIR | 0755, 0, NULL);
	CHECK(rc == -EEXIST, "mkdir again, not resent: %d", rc);
	rc = resent_mk(XSH_OP_MKDIR, "m", S_IFDIR | 0755, R, &o);
	CHECK(rc == 0 && o.u.entry.nodeid && o.out_len,
	      "mkdir resent after it was applied: %d", rc);
	rc = resent_mk(XSH_OP_MKDIR, "f", S_IFDIR | 0755, R, NULL);
	CHECK(rc == -EEXIST, "mkdir resent over a file: %d", rc);
	CHECK(!resent_mk(XSH_OP_MKNOD, "fifo", S_IFIFO | 0644, 0, NULL) &&
	      !resent_mk(XSH_OP_MKNOD, "fifo", S_IFIFO | 0644, R, NULL),
	      "mknod resent");
	CHECK(!resent_symlink("sl", "target", 0) &&
	      !resent_symlink("sl", "target", R), "symlink resent");
	rc = resent_symlink("sl", "other", R);
	CHECK(rc == -EEXIST, "symlink resent, another target: %d", rc);

	CHECK(!resent_create("c", 0, &o), "create");
	rc = resent_create("c", R, &o);
	CHECK(rc == 0 && o.u.entry.fh && o.u.entry.nodeid,
	      "O_EXCL create resent after it was applied: %d", rc);
	rc = resent_create("f", R, &o);
	CHECK(rc == -EEXIST, "O_EXCL create resent over a file with data: %d",
	      rc);

	CHECK(!resent_remove(XSH_OP_UNLINK, "c", 0), "unlink");
	CHECK(!resent_remove(XSH_OP_UNLINK, "c", R), "unlink resent");
	CHECK(resent_remove(XSH_OP_UNLINK, "c", 0) == -ENOENT,
	      "unlink again, not resent");
	CHECK(!resent_remove(XSH_OP_RMDIR, "m", 0) &&
	      !resent_remove(XSH_OP_RMDIR, "m", R), "rmdir resent");

	CHECK(!host_put("r1", "r"), "host r1");
	CHECK(!resent_rename("r1", "r2", 0) && !resent_rename("r1", "r2", R),
	      "rename resent");
	rc = resent_rename("r1", "r3", R);
	CHECK(rc == -ENOENT, "rename resent, new name missing: %d", rc);

	{
		struct held xa = { 0 }, xb = { 0 };

		CHECK(!host_put("xa", "A") && !host_put("xb", "B") &&
		      !lookup(ROOT, "xa", &xa) && !lookup(ROOT, "xb", &xb),
		      "host xa, xb");
		CHECK(!resent_exchange("xa", "xb", xa.id, xb.id, 0) &&
		      host_is("xa", "B", "xb", "A"), "exchange");
		rc = resent_exchange("xa", "xb", xa.id, xb.id, R);
		CHECK(rc == 0 && host_is("xa", "B", "xb", "A"),
		      "exchange resent after it was applied: %d, applied again",
		      rc);
		/* Not applied before the restart: the files are where the
		 * request expects them, so it is applied now. */
		rc = resent_exchange("xa", "xb", xb.id, xa.id, R);
		CHECK(rc == 0 && host_is("xa", "A", "xb", "B"),
		      "exchange resent, not applied before: %d", rc);
		/* Without the expected nodes there is nothing to tell. */
		CHECK(!resent_exchange("xa", "xb", 0, 0, R) &&
		      host_is("xa", "B", "xb", "A"),
		      "exchange resent without nodes is applied");
		rc = resent_exchange("xa", "xb", xa.id, 0x7777ull << 32 | 99,
				     R);
		CHECK(rc == 0 && host_is("xa", "A", "xb", "B"),
		      "exchange resent with an unknown node: %d", rc);
		rc = resent_rename("xa", "xc", 0);
		CHECK(rc == 0, "plain rename: %d", rc);
		{
			struct xsh_req r = mkreq(XSH_OP_RENAME, ROOT);

			r.a.rename.newparent = ROOT;
			r.a.rename.name_len = 2;
			r.a.rename.node = xa.id;
			rc = run(&r, "xcxa", 4, NULL);
			CHECK(rc == -EINVAL,
			      "plain rename naming a node: %d", rc);
		}
	}

	CHECK(!lookup(ROOT, "f", &f), "lookup f");
	CHECK(!resent_link(f.id, "fl", 0, NULL), "link");
	rc = resent_link(f.id, "fl", R, &o);
	CHECK(rc == 0 && o.u.entry.nodeid == f.id, "link resent: %d", rc);
	rc = resent_link(f.id, "r2", R, NULL);
	CHECK(rc == -EEXIST, "link resent over another file: %d", rc);

	{
		struct xsh_req r = mkreq(XSH_OP_SETXATTR, f.id);
		char in[64];
		int n = snprintf(in, sizeof(in), "user.k%s", "v1");

		r.a.xattr.name_len = 6;
		r.a.xattr.flags = XATTR_CREATE_FLAG;
		CHECK(!run(&r, in, (uint32_t)n, NULL), "setxattr create");
		r.flags = R;
		rc = run(&r, in, (uint32_t)n, NULL);
		CHECK(rc == 0, "setxattr create resent: %d", rc);
		n = snprintf(in, sizeof(in), "user.k%s", "v2");
		rc = run(&r, in, (uint32_t)n, NULL);
		CHECK(rc == -EEXIST, "setxattr create resent, other value: %d",
		      rc);
		r = mkreq(XSH_OP_REMOVEXATTR, f.id);
		CHECK(!run(&r, "user.k", 6, NULL), "removexattr");
		rc = run(&r, "user.k", 6, NULL);
		CHECK(rc == -ENODATA, "removexattr again, not resent: %d", rc);
		r.flags = R;
		rc = run(&r, "user.k", 6, NULL);
		CHECK(rc == 0, "removexattr resent: %d", rc);
	}

	CHECK(!host_put("ap", "0123") && !lookup(ROOT, "ap", &f), "host ap");
	CHECK(!open_(f.id, O_WRONLY | O_APPEND, &fh), "open O_APPEND");
	CHECK(!write_(f.id, fh, 4, "abc", 0), "append");
	CHECK(!write_(f.id, fh, 4, "abc", R), "append resent");
	CHECK(!host_get("ap", buf, sizeof(buf)) && !strcmp(buf, "0123abc"),
	      "resent append duplicated: '%s'", buf);
	CHECK(!write_(f.id, fh, 4, "xyz", 0), "append, not resent");
	CHECK(!host_get("ap", buf, sizeof(buf)) && !strcmp(buf, "0123abcxyz"),
	      "plain append went to '%s'", buf);
out:
	result(!why[0], "resent requests: applied once, answered as if once",
	       "%s", why);
}

/* ---- main ---------------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *f)
{
	return remove(p);
}

int main(void)
{
	int rc;

	test_siphash();
	test_phandle();
	test_phandle_by_name();

	snprintf(top, sizeof(top), "/tmp/xenshare-reopen.XXXXXX");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/export", top);
	mkdir(dir, 0755);
	test_state();

	data = calloc(1, DATA_BYTES);
	rc = data ? xsh_export_open(dir, NULL, &exp_) : -ENOMEM;
	if (!rc) {
		xsh_export_set_handle_key(exp_, key_a);
		rc = xsh_sess_new(exp_, data, DATA_BYTES, "test", &sess);
	}
	if (rc) {
		result(false, "session", "%s", strerror(-rc));
	} else if (geteuid() != 0) {
		skip("reopen", "open_by_handle_at needs CAP_DAC_READ_SEARCH");
	} else {
		xsh_service_thread_init();
		test_reopen();
		test_reopen_refused();
		test_readdirplus_handles();
		test_resent();
	}
	xsh_sess_free(sess);
	xsh_export_close(exp_);
	xsh_service_thread_exit();
	free(data);
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_summary();
}
