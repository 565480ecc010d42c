// SPDX-License-Identifier: MIT
/*
 * A hostile frontend: connects to a running xenshare-back over the local
 * transport and breaks the protocol in one named way, the way a malicious
 * guest could.  It drives the rings itself (protocol/ring.c for the
 * ordinary moves, raw stores into the shared memory for the rest).
 *
 *   hostile ATTACK SOCKET
 *
 * ATTACK is one of the names in the attacks[] table at the end (or "all").
 * Each check prints `ok - ATTACK: what`, `not ok - ATTACK: what: detail`,
 * and the program ends with `N passed, N failed, N skipped`.  What counts
 * as right: a protocol error closes this connection and nothing else; a
 * bad argument gets an errno; nothing succeeds that should not; the
 * backend keeps serving other connections (a fresh connection is probed
 * after every attack).  What happened outside the protocol (files outside
 * the export, descriptors, the other clients) is tests/hostile/run.sh's
 * to check.
 *
 * Everything it creates in the export is named hx-* (double-fetch: any
 * mix of its names the race produced) and is removed afterwards.
 *
 * Trust: none needed; the backend is what is under test.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "protocol/codec.h"
#include "protocol/ring.h"
#include "transport/local.h"

#define WAIT_MS		5000	/* an answer we expect */
#define CLOSE_MS	5000	/* a close we expect */
#define DEF_PAGES	64u	/* data area: 256 KiB */

static const char *sock_path;
static const char *cur_attack;
static unsigned passed, failed, skipped;
static int call_timeout_ms = WAIT_MS;

static void result(bool good, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void result(bool good, const char *fmt, ...)
{
	va_list ap;

	printf("%s - %s: ", good ? "ok" : "not ok", cur_attack);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (good)
		passed++;
	else
		failed++;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	va_list ap;

	printf("# %s: ", cur_attack);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t rnd(void)
{
	static uint64_t s = 0x9e3779b97f4a7c15ull;

	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

static const char *err_name(int e)
{
	static char buf[32];

	switch (e) {
	case 0:
		return "success";
	case -ETIMEDOUT:
		return "no answer";
	case -EPIPE:
		return "connection closed by backend";
	default:
		break;
	}
	if (e > 0) {
		snprintf(buf, sizeof(buf), "errno %d (%s)", e, strerrorname_np(e) ?
			 strerrorname_np(e) : "?");
		return buf;
	}
	snprintf(buf, sizeof(buf), "local error %d", e);
	return buf;
}

/* ---- a client that drives its own ring ------------------------------------ */

struct hc {
	struct xsh_tport *t;
	struct xsh_ring r;
	uint64_t next_id;
	bool closed;
};

static int hc_connect(struct hc *c, unsigned data_pages)
{
	struct xsh_front_params p = {
		.nr_rings = 1, .ring_order = 0, .data_pages = data_pages,
		.features = XSH_FEAT_ALL,
	};
	int rc, tries;

	memset(c, 0, sizeof(*c));
	for (tries = 0; tries < 50; tries++) {
		rc = xsh_local_connect(sock_path, &p, &c->t);
		if (rc != -EBUSY)
			break;
		usleep(100 * 1000);
	}
	if (rc)
		return rc;
	xsh_ring_front_init(&c->r, c->t->ring_mem[0], c->t->ring_bytes);
	c->next_id = 1;
	return 0;
}

static void hc_close(struct hc *c)
{
	xsh_tport_close(c->t);
	c->t = NULL;
}

static uint8_t *hc_data(struct hc *c)
{
	return c->t->data;
}

/* Has the backend closed the connection? */
static bool hc_gone(struct hc *c, int ms)
{
	struct pollfd p = { .fd = c->t->conn_fd, .events = POLLIN | POLLRDHUP };
	char b;

	if (c->closed)
		return true;
	if (poll(&p, 1, ms) <= 0)
		return false;
	if (p.revents & (POLLHUP | POLLRDHUP | POLLERR) ||
	    recv(c->t->conn_fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) == 0)
		c->closed = true;
	return c->closed;
}

static void hc_push(struct hc *c)
{
	if (xsh_ring_front_push(&c->r))
		xsh_tport_notify(c->t, 0);
}

/* Queue one request as it is (buffer fields already set). */
static void hc_put(struct hc *c, struct xsh_req *req)
{
	req->id = c->next_id++;
	xsh_ring_front_put_req(&c->r, req);
}

/* One response: 1, -ETIMEDOUT, -EPIPE (closed), -EPROTO (bad ring). */
static int hc_wait(struct hc *c, struct xsh_rsp *rsp, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	struct pollfd p[2];
	int rc;

	for (;;) {
		rc = xsh_ring_front_get_rsp(&c->r, rsp);
		if (rc)
			return rc;
		if (xsh_ring_front_final_check(&c->r))
			continue;
		if (c->closed)
			return -EPIPE;
		if (now_ms() >= end)
			return -ETIMEDOUT;
		p[0] = (struct pollfd){ .fd = c->t->ring_fd[0], .events = POLLIN };
		p[1] = (struct pollfd){ .fd = c->t->conn_fd,
					.events = POLLIN | POLLRDHUP };
		rc = poll(p, 2, (int)(end - now_ms()) + 1);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (p[0].revents & POLLIN)
			xsh_tport_ack(c->t, 0);
		if (p[1].revents)
			hc_gone(c, 0);
	}
}

/* One request with input in and room for out_cap bytes of output at the
 * start of the data area.  The answer's errno (>= 0), or -ETIMEDOUT,
 * -EPIPE. */
static int hc_call(struct hc *c, struct xsh_req *req, const void *in,
		   uint32_t in_len, uint32_t out_cap, struct xsh_rsp *rsp)
{
	struct xsh_rsp local;
	uint64_t id;
	int rc;

	if (!rsp)
		rsp = &local;
	if (c->closed)
		return -EPIPE;
	req->buf_off = 0;
	req->in_len = in_len;
	req->buf_len = in_len > out_cap ? in_len : out_cap;
	if (in_len)
		memcpy(hc_data(c), in, in_len);
	hc_put(c, req);
	id = req->id;
	hc_push(c);
	for (;;) {
		rc = hc_wait(c, rsp, call_timeout_ms);
		if (rc < 0)
			return rc;
		if (rsp->id == id)
			return rsp->error;
	}
}

static struct xsh_req mkreq(uint16_t op, uint64_t nodeid)
{
	struct xsh_req r;

	memset(&r, 0, sizeof(r));
	r.opcode = op;
	r.nodeid = nodeid;
	return r;
}

static int name_op(struct hc *c, uint16_t op, uint64_t parent,
		   const char *name, struct xsh_rsp *rsp)
{
	struct xsh_req r = mkreq(op, parent);

	if (op == XSH_OP_MKDIR)
		r.a.mknod.mode = 0755;
	return hc_call(c, &r, name, (uint32_t)strlen(name), 0, rsp);
}

static int hx_lookup(struct hc *c, uint64_t parent, const char *name,
		     uint64_t *id)
{
	struct xsh_rsp rsp;
	int rc = name_op(c, XSH_OP_LOOKUP, parent, name, &rsp);

	if (!rc)
		*id = rsp.u.entry.nodeid;
	return rc;
}

/* Create (or open) a regular file under the root: node id and fh. */
static int hx_create(struct hc *c, const char *name, uint64_t *id,
		     uint64_t *fh)
{
	struct xsh_req r = mkreq(XSH_OP_CREATE, XSH_ROOT_NODEID);
	struct xsh_rsp rsp;
	int rc;

	r.a.open.flags = O_RDWR | O_CREAT;
	r.a.open.mode = S_IFREG | 0644;
	rc = hc_call(c, &r, name, (uint32_t)strlen(name), 0, &rsp);
	if (!rc) {
		*id = rsp.u.entry.nodeid;
		*fh = rsp.u.entry.fh;
	}
	return rc;
}

static int hx_getattr(struct hc *c, uint64_t id)
{
	struct xsh_req r = mkreq(XSH_OP_GETATTR, id);

	return hc_call(c, &r, NULL, 0, 0, NULL);
}

static int hx_forget(struct hc *c, const struct xsh_forget_one *f, unsigned n)
{
	struct xsh_req r = mkreq(XSH_OP_FORGET, 0);

	return hc_call(c, &r, f, n * (uint32_t)sizeof(*f), 0, NULL);
}

static int hx_release(struct hc *c, uint64_t id, uint64_t fh, bool dir)
{
	struct xsh_req r = mkreq(dir ? XSH_OP_RELEASEDIR : XSH_OP_RELEASE, id);

	r.fh = fh;
	return hc_call(c, &r, NULL, 0, 0, NULL);
}

static void hx_unlink(struct hc *c, const char *name)
{
	(void)name_op(c, XSH_OP_UNLINK, XSH_ROOT_NODEID, name, NULL);
}

/* A fresh, well-behaved connection must still be served. */
static void probe(const char *when)
{
	struct hc c;
	uint64_t t0 = now_ms();
	int rc = hc_connect(&c, 4);

	if (rc) {
		result(false, "backend serves a new connection %s: connect: %s",
		       when, strerror(-rc));
		return;
	}
	rc = hx_getattr(&c, XSH_ROOT_NODEID);
	result(rc == 0, "backend serves a new connection %s (%s, %llu ms)",
	       when, err_name(rc), (unsigned long long)(now_ms() - t0));
	hc_close(&c);
}

/* Expect the backend to close c within CLOSE_MS. */
static void expect_closed(struct hc *c, const char *what)
{
	uint64_t t0 = now_ms();
	struct xsh_rsp rsp;
	int rc, answered = -1;

	while (!c->closed && now_ms() - t0 < CLOSE_MS) {
		rc = hc_wait(c, &rsp, 100);
		if (rc == 1)
			answered = rsp.error;
		hc_gone(c, 0);
	}
	if (c->closed)
		result(answered != 0, "%s: connection closed by backend "
		       "after %llu ms%s", what,
		       (unsigned long long)(now_ms() - t0),
		       answered > 0 ? " (after an errno answer)" : "");
	else
		result(false, "%s: connection still open after %d ms%s", what,
		       CLOSE_MS, answered >= 0 ? ", request answered" : "");
}

/* ---- prod-overflow -------------------------------------------------------- */

static void attack_prod_overflow(void)
{
	static const struct {
		const char *what;
		int64_t delta;		/* from 0, or relative to nr_slots */
		bool rel;
	} cases[] = {
		{ "req_prod = nr_slots + 1", 1, true },
		{ "req_prod = nr_slots * 2", 0, true },
		{ "req_prod = 0x80000000", 0x80000000ll, false },
		{ "req_prod = 0xffffffff (behind)", 0xffffffffll, false },
	};
	struct hc c;
	struct xsh_rsp rsp;
	unsigned i, n;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t v;

		rc = hc_connect(&c, 4);
		if (rc) {
			result(false, "%s: connect: %s", cases[i].what,
			       strerror(-rc));
			continue;
		}
		if (cases[i].rel)
			v = cases[i].delta ? c.r.nr_slots + (uint32_t)cases[i].delta :
			    c.r.nr_slots * 2;
		else
			v = (uint32_t)cases[i].delta;
		__atomic_store_n(&c.r.hdr->req_prod, v, __ATOMIC_RELEASE);
		xsh_tport_notify(c.t, 0);
		expect_closed(&c, cases[i].what);
		hc_close(&c);
	}

	/* The boundary: exactly nr_slots outstanding is legal. */
	rc = hc_connect(&c, 4);
	if (rc) {
		result(false, "full ring: connect: %s", strerror(-rc));
		return;
	}
	for (i = 0; i < c.r.nr_slots; i++) {
		struct xsh_req r = mkreq(XSH_OP_GETATTR, XSH_ROOT_NODEID);

		hc_put(&c, &r);
	}
	hc_push(&c);
	for (n = 0; n < c.r.nr_slots; n++)
		if (hc_wait(&c, &rsp, WAIT_MS) != 1 || rsp.error)
			break;
	result(n == c.r.nr_slots && !hc_gone(&c, 0),
	       "exactly nr_slots (%u) requests outstanding are served (%u)",
	       c.r.nr_slots, n);
	hc_close(&c);
}

/* ---- buf-oob -------------------------------------------------------------- */

static void attack_buf_oob(void)
{
	const uint32_t area = 300 * XSH_PAGE_SIZE;	/* > XSH_MAX_BUF */
	struct {
		const char *what;
		uint32_t off, len, in;
	} cases[] = {
		{ "buf_off at the end of the data area", area, 1, 0 },
		{ "buffer straddling the end", area - 10, 20, 4 },
		{ "buf_off + buf_len wraps 32 bits", 0xfffff000u, 0x2000u, 4 },
		{ "buf_off = 0xffffffff", 0xffffffffu, 1, 1 },
		{ "buf_len = 0xffffffff", 0, 0xffffffffu, 4 },
		{ "buf_len = XSH_MAX_BUF + 1 (inside the area)", 0,
		  XSH_MAX_BUF + 1, 4 },
		{ "in_len > buf_len", 0, 4, 5 },
		{ "in_len = 0xffffffff", 0, 16, 0xffffffffu },
	};
	struct hc c;
	unsigned i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xsh_req r = mkreq(XSH_OP_LOOKUP, XSH_ROOT_NODEID);

		rc = hc_connect(&c, area / XSH_PAGE_SIZE);
		if (rc) {
			result(false, "%s: connect: %s", cases[i].what,
			       strerror(-rc));
			continue;
		}
		memcpy(hc_data(&c), "hx-a", 4);
		r.buf_off = cases[i].off;
		r.buf_len = cases[i].len;
		r.in_len = cases[i].in;
		hc_put(&c, &r);
		hc_push(&c);
		expect_closed(&c, cases[i].what);
		hc_close(&c);
	}
}

/* ---- huge-len ------------------------------------------------------------- */

static void expect_errno(struct hc *c, const char *what, int rc, int want)
{
	if (want)
		result(rc == want, "%s: %s", what, err_name(rc));
	else
		result(rc > 0, "%s: %s", what, err_name(rc));
}

static void attack_huge_len(void)
{
	static char big[70000];
	struct xsh_forget_one f[XSH_FORGET_MAX + 1];
	uint64_t id = 0, fh = 0, dfh = 0;
	struct xsh_rsp rsp;
	struct xsh_req r;
	struct hc c;
	int rc;

	memset(big, 'v', sizeof(big));
	memset(f, 0, sizeof(f));
	rc = hc_connect(&c, DEF_PAGES);
	if (rc) {
		result(false, "connect: %s", strerror(-rc));
		return;
	}
	rc = hx_create(&c, "hx-len", &id, &fh);
	if (rc) {
		result(false, "create hx-len: %s", err_name(rc));
		hc_close(&c);
		return;
	}

	r = mkreq(XSH_OP_WRITE, id);
	r.fh = fh;
	r.a.io.size = XSH_MAX_IO + 1;
	expect_errno(&c, "WRITE size XSH_MAX_IO + 1",
		     hc_call(&c, &r, big, 16, 0, NULL), EINVAL);
	r.a.io.size = 1000;
	expect_errno(&c, "WRITE size != in_len",
		     hc_call(&c, &r, big, 16, 0, NULL), EINVAL);
	r.a.io.size = 16;
	r.a.io.offset = 1ull << 63;
	expect_errno(&c, "WRITE offset 2^63",
		     hc_call(&c, &r, big, 16, 0, NULL), EINVAL);

	r = mkreq(XSH_OP_READ, id);
	r.fh = fh;
	r.a.io.size = XSH_MAX_IO + XSH_PAGE_SIZE;
	expect_errno(&c, "READ size > XSH_MAX_IO",
		     hc_call(&c, &r, NULL, 0, DEF_PAGES * XSH_PAGE_SIZE, NULL),
		     EINVAL);
	r.a.io.size = 8192;
	expect_errno(&c, "READ size > buf_len",
		     hc_call(&c, &r, NULL, 0, 4096, NULL), EINVAL);
	r.a.io.size = 16;
	r.a.io.offset = ~0ull;
	expect_errno(&c, "READ offset 2^64 - 1",
		     hc_call(&c, &r, NULL, 0, 16, NULL), EINVAL);

	r = mkreq(XSH_OP_OPENDIR, XSH_ROOT_NODEID);
	rc = hc_call(&c, &r, NULL, 0, 0, &rsp);
	dfh = rsp.u.fh;
	r = mkreq(XSH_OP_READDIR, XSH_ROOT_NODEID);
	r.fh = dfh;
	r.a.io.size = 0xffffffffu;
	expect_errno(&c, "READDIR size 0xffffffff",
		     rc ? rc : hc_call(&c, &r, NULL, 0, 4096, NULL), EINVAL);
	hx_release(&c, XSH_ROOT_NODEID, dfh, true);

	r = mkreq(XSH_OP_LISTXATTR, id);
	r.a.xattr.size = 0xffffffffu;
	expect_errno(&c, "LISTXATTR size 0xffffffff",
		     hc_call(&c, &r, NULL, 0, 64, NULL), EINVAL);
	r = mkreq(XSH_OP_GETXATTR, id);
	r.a.xattr.size = 1u << 20;
	expect_errno(&c, "GETXATTR size > buf_len",
		     hc_call(&c, &r, "user.x", 6, 64, NULL), EINVAL);
	r = mkreq(XSH_OP_SETXATTR, id);
	r.a.xattr.name_len = 6;
	memcpy(big, "user.x", 6);
	expect_errno(&c, "SETXATTR value of 65537 bytes",
		     hc_call(&c, &r, big, 6 + 65537, 0, NULL), E2BIG);
	memset(big, 'v', 6);
	r.a.xattr.name_len = 0xffffffffu;
	expect_errno(&c, "SETXATTR name_len 0xffffffff",
		     hc_call(&c, &r, big, 64, 0, NULL), 0);

	r = mkreq(XSH_OP_RENAME, XSH_ROOT_NODEID);
	r.a.rename.newparent = XSH_ROOT_NODEID;
	r.a.rename.name_len = 0xffffffffu;
	expect_errno(&c, "RENAME name_len 0xffffffff",
		     hc_call(&c, &r, "hx-lenhx-len2", 13, 0, NULL), EINVAL);
	r = mkreq(XSH_OP_SYMLINK, XSH_ROOT_NODEID);
	r.a.symlink.name_len = 6;
	memcpy(big, "hx-sym", 6);
	expect_errno(&c, "SYMLINK target of 5000 bytes",
		     hc_call(&c, &r, big, 6 + 5000, 0, NULL), ENAMETOOLONG);
	memset(big, 'v', 6);

	r = mkreq(XSH_OP_FORGET, 0);
	expect_errno(&c, "FORGET of 17 bytes", hc_call(&c, &r, f, 17, 0, NULL),
		     EINVAL);
	expect_errno(&c, "FORGET of XSH_FORGET_MAX + 1 entries",
		     hx_forget(&c, f, XSH_FORGET_MAX + 1), EINVAL);

	r = mkreq(XSH_OP_FALLOCATE, id);
	r.fh = fh;
	r.a.fallocate.length = 1ull << 63;
	expect_errno(&c, "FALLOCATE length 2^63",
		     hc_call(&c, &r, NULL, 0, 0, NULL), EINVAL);

	r = mkreq(XSH_OP_COPY_FILE_RANGE, id);
	r.fh = fh;
	r.a.copy.nodeid_out = id;
	r.a.copy.fh_out = fh;
	r.a.copy.off_out = 1u << 20;
	r.a.copy.len = ~0ull;
	rc = hc_call(&c, &r, NULL, 0, 0, &rsp);
	result(rc > 0 || (rc == 0 && rsp.u.count < (1u << 20)),
	       "COPY_FILE_RANGE len 2^64 - 1: %s, count %llu", err_name(rc),
	       (unsigned long long)(rc ? 0 : rsp.u.count));

	rc = hx_getattr(&c, id);
	result(rc == 0, "connection still served after the bad lengths (%s)",
	       err_name(rc));
	hx_release(&c, id, fh, false);
	hx_unlink(&c, "hx-len");

	/* in_len past buf_len is a protocol error, not an errno. */
	r = mkreq(XSH_OP_WRITE, id);
	r.fh = fh;
	r.a.io.size = 64;
	r.buf_len = 32;
	r.in_len = 64;
	hc_put(&c, &r);
	hc_push(&c);
	expect_closed(&c, "WRITE in_len 64 > buf_len 32");
	hc_close(&c);
}

/* ---- forged-node ---------------------------------------------------------- */

static void attack_forged_node(void)
{
	static const uint16_t ops[] = {
		XSH_OP_GETATTR, XSH_OP_LOOKUP, XSH_OP_OPEN, XSH_OP_OPENDIR,
		XSH_OP_READLINK, XSH_OP_MKDIR, XSH_OP_SETATTR, XSH_OP_ACCESS,
	};
	unsigned i, ok_answers = 0, bad = 0, estale = 0, other = 0;
	uint64_t id = 0, fh = 0, id2 = 0, bad_id = 0;
	struct xsh_forget_one f = { 0 };
	struct hc c;
	int rc;

	rc = hc_connect(&c, DEF_PAGES);
	if (rc) {
		result(false, "connect: %s", strerror(-rc));
		return;
	}
	for (i = 0; i < 2000; i++) {
		uint64_t v = rnd();
		struct xsh_req r;

		switch (i % 4) {
		case 0:
			break;
		case 1:
			v &= 0xffffull;			/* small index, gen 0 */
			break;
		case 2:
			v = (v & 0xffffffff00000000ull) | 1;	/* root index */
			break;
		default:
			v = (v << 32) | (v & 0x3f);	/* gen bumps */
			break;
		}
		if (v == XSH_ROOT_NODEID)
			continue;
		r = mkreq(ops[i % (sizeof(ops) / sizeof(ops[0]))], v);
		r.a.access.mask = 0;
		r.a.mknod.mode = 0755;
		rc = hc_call(&c, &r, "hx-fn", 5, 64, NULL);
		if (rc == 0) {
			ok_answers++;
			bad_id = v;
		} else if (rc == ESTALE) {
			estale++;
		} else if (rc > 0) {
			other++;
		} else {
			bad++;
			break;
		}
	}
	result(ok_answers == 0 && bad == 0,
	       "2000 requests on made-up node ids: %u ESTALE, %u other errno, "
	       "%u succeeded%s", estale, other, ok_answers,
	       ok_answers ? " (one was this id)" : "");
	if (ok_answers)
		note("id %#llx was accepted", (unsigned long long)bad_id);

	rc = hx_create(&c, "hx-node", &id, &fh);
	if (!rc)
		rc = hx_release(&c, id, fh, false);
	if (!rc)
		rc = hx_lookup(&c, XSH_ROOT_NODEID, "hx-node", &id2);
	if (rc || id2 != id) {
		result(false, "set-up: create + lookup hx-node: %s",
		       err_name(rc));
		hc_close(&c);
		return;
	}
	rc = hx_getattr(&c, id + (1ull << 32));
	expect_errno(&c, "GETATTR with the generation + 1", rc, ESTALE);
	f.nodeid = id;
	f.nlookup = 2;
	hx_forget(&c, &f, 1);
	rc = hx_getattr(&c, id);
	expect_errno(&c, "GETATTR on a forgotten node", rc, ESTALE);
	rc = hx_lookup(&c, XSH_ROOT_NODEID, "hx-node", &id2);
	result(rc == 0 && id2 != id, "a new lookup gets a new id (%#llx -> "
	       "%#llx)", (unsigned long long)id, (unsigned long long)id2);
	rc = hx_getattr(&c, id);
	expect_errno(&c, "the old id stays stale after its slot is reused",
		     rc, ESTALE);
	{
		struct xsh_req r = mkreq(XSH_OP_RENAME, XSH_ROOT_NODEID);

		r.a.rename.newparent = id;
		r.a.rename.name_len = 7;
		rc = hc_call(&c, &r, "hx-nodehx-x", 11, 0, NULL);
		expect_errno(&c, "RENAME into a stale newparent", rc, ESTALE);
		r = mkreq(XSH_OP_LINK, id2);
		r.a.link.newparent = 0xdead00000001ull;
		rc = hc_call(&c, &r, "hx-l", 4, 0, NULL);
		expect_errno(&c, "LINK into a made-up newparent", rc, ESTALE);
		r = mkreq(XSH_OP_GETATTR, 0);
		expect_errno(&c, "node id 0", hc_call(&c, &r, NULL, 0, 0, NULL),
			     ESTALE);
	}
	hx_unlink(&c, "hx-node");
	hc_close(&c);
}

/* ---- forged-fh ------------------------------------------------------------ */

static void attack_forged_fh(void)
{
	static const uint16_t ops[] = {
		XSH_OP_READ, XSH_OP_WRITE, XSH_OP_FLUSH, XSH_OP_FSYNC,
		XSH_OP_RELEASE, XSH_OP_READDIR, XSH_OP_RELEASEDIR, XSH_OP_LSEEK,
	};
	uint64_t id = 0, fh = 0, dfh = 0;
	unsigned i, good = 0, ebadf = 0, other = 0, lost = 0;
	struct xsh_rsp rsp;
	struct xsh_req r;
	struct hc c;
	int rc;

	rc = hc_connect(&c, DEF_PAGES);
	if (rc) {
		result(false, "connect: %s", strerror(-rc));
		return;
	}
	rc = hx_create(&c, "hx-fh", &id, &fh);
	if (rc) {
		result(false, "create hx-fh: %s", err_name(rc));
		hc_close(&c);
		return;
	}
	for (i = 0; i < 2000; i++) {
		uint64_t v = rnd();

		if (i % 3 == 1)
			v &= 0xffff;
		else if (i % 3 == 2)
			v = (v << 32) | (fh & 0xffffffffull);
		if (v == fh)
			continue;
		r = mkreq(ops[i % (sizeof(ops) / sizeof(ops[0]))], id);
		if (r.opcode == XSH_OP_READDIR || r.opcode == XSH_OP_RELEASEDIR)
			r.nodeid = XSH_ROOT_NODEID;
		r.fh = v;
		r.a.io.size = r.opcode == XSH_OP_WRITE ? 4 : 16;
		r.a.lseek.whence = 3;
		rc = hc_call(&c, &r, r.opcode == XSH_OP_WRITE ? "evil" : NULL,
			     r.opcode == XSH_OP_WRITE ? 4 : 0, 64, NULL);
		if (rc == 0)
			good++;
		else if (rc == EBADF)
			ebadf++;
		else if (rc > 0)
			other++;
		else {
			lost++;
			break;
		}
	}
	result(good == 0 && lost == 0,
	       "2000 requests on made-up fh values: %u EBADF, %u other errno, "
	       "%u succeeded", ebadf, other, good);

	r = mkreq(XSH_OP_READ, XSH_ROOT_NODEID);
	r.fh = fh;
	r.a.io.size = 16;
	expect_errno(&c, "a file's fh with another node id",
		     hc_call(&c, &r, NULL, 0, 16, NULL), EBADF);
	r = mkreq(XSH_OP_READDIR, id);
	r.fh = fh;
	r.a.io.size = 1024;
	expect_errno(&c, "a file's fh on READDIR",
		     hc_call(&c, &r, NULL, 0, 1024, NULL), 0);
	r = mkreq(XSH_OP_OPENDIR, XSH_ROOT_NODEID);
	rc = hc_call(&c, &r, NULL, 0, 0, &rsp);
	dfh = rsp.u.fh;
	r = mkreq(XSH_OP_READ, XSH_ROOT_NODEID);
	r.fh = dfh;
	r.a.io.size = 16;
	expect_errno(&c, "a directory fh on READ",
		     rc ? rc : hc_call(&c, &r, NULL, 0, 16, NULL), EBADF);
	hx_release(&c, XSH_ROOT_NODEID, dfh, true);
	expect_errno(&c, "RELEASEDIR twice",
		     hx_release(&c, XSH_ROOT_NODEID, dfh, true), EBADF);
	rc = hx_release(&c, id, fh, false);
	result(rc == 0, "RELEASE of the real fh (%s)", err_name(rc));
	expect_errno(&c, "RELEASE twice", hx_release(&c, id, fh, false), EBADF);
	r = mkreq(XSH_OP_WRITE, id);
	r.fh = fh;
	r.a.io.size = 4;
	expect_errno(&c, "WRITE after RELEASE",
		     hc_call(&c, &r, "evil", 4, 0, NULL), EBADF);
	r.fh = fh + (1ull << 32);
	expect_errno(&c, "WRITE with the fh generation + 1",
		     hc_call(&c, &r, "evil", 4, 0, NULL), EBADF);
	hx_unlink(&c, "hx-fh");
	hc_close(&c);
}

/* ---- forget-underflow ----------------------------------------------------- */

static void attack_forget_underflow(void)
{
	struct xsh_forget_one f[XSH_FORGET_MAX];
	uint64_t id = 0, fh = 0, id2 = 0, dir = 0;
	struct xsh_req r;
	struct hc c;
	unsigned i;
	int rc;

	rc = hc_connect(&c, DEF_PAGES);
	if (rc) {
		result(false, "connect: %s", strerror(-rc));
		return;
	}
	memset(f, 0, sizeof(f));

	rc = hx_create(&c, "hx-forget", &id, &fh);
	if (rc) {
		result(false, "create hx-forget: %s", err_name(rc));
		hc_close(&c);
		return;
	}
	f[0].nodeid = id;
	f[0].nlookup = 1000;
	rc = hx_forget(&c, f, 1);
	result(rc >= 0, "FORGET 1000 lookups of a node looked up once (%s)",
	       err_name(rc));
	expect_errno(&c, "GETATTR after the underflow", hx_getattr(&c, id),
		     ESTALE);
	r = mkreq(XSH_OP_WRITE, id);
	r.fh = fh;
	r.a.io.size = 4;
	rc = hc_call(&c, &r, "data", 4, 0, NULL);
	result(rc >= 0, "WRITE through an fh whose node was forgotten (%s)",
	       err_name(rc));
	hx_release(&c, id, fh, false);
	rc = hx_lookup(&c, XSH_ROOT_NODEID, "hx-forget", &id2);
	result(rc == 0 && id2 != id, "a new lookup works (%s)", err_name(rc));

	f[0].nodeid = XSH_ROOT_NODEID;
	f[0].nlookup = ~0ull;
	hx_forget(&c, f, 1);
	hx_forget(&c, f, 1);
	rc = hx_getattr(&c, XSH_ROOT_NODEID);
	result(rc == 0, "the root survives being forgotten 2^65 times (%s)",
	       err_name(rc));

	rc = name_op(&c, XSH_OP_MKDIR, XSH_ROOT_NODEID, "hx-fdir", NULL);
	if (rc == 0 || rc == EEXIST)
		rc = hx_lookup(&c, XSH_ROOT_NODEID, "hx-fdir", &dir);
	for (i = 0; i < XSH_FORGET_MAX; i++) {
		f[i].nodeid = i % 2 ? dir : id2;
		f[i].nlookup = 1ull << 63;
	}
	rc = hx_forget(&c, f, XSH_FORGET_MAX);
	result(rc >= 0, "FORGET %u entries naming two nodes, 2^63 each (%s)",
	       XSH_FORGET_MAX, err_name(rc));
	expect_errno(&c, "LOOKUP in a forgotten directory",
		     name_op(&c, XSH_OP_LOOKUP, dir, "x", NULL), ESTALE);
	expect_errno(&c, "MKDIR in a forgotten directory",
		     name_op(&c, XSH_OP_MKDIR, dir, "x", NULL), ESTALE);
	r = mkreq(XSH_OP_OPENDIR, dir);
	expect_errno(&c, "OPENDIR of a forgotten directory",
		     hc_call(&c, &r, NULL, 0, 0, NULL), ESTALE);
	for (i = 0; i < XSH_FORGET_MAX; i++) {
		f[i].nodeid = rnd();
		f[i].nlookup = rnd();
	}
	rc = hx_forget(&c, f, XSH_FORGET_MAX);
	result(rc >= 0, "FORGET of %u made-up ids (%s)", XSH_FORGET_MAX,
	       err_name(rc));
	rc = hx_getattr(&c, XSH_ROOT_NODEID);
	result(rc == 0, "connection still served (%s)", err_name(rc));
	name_op(&c, XSH_OP_RMDIR, XSH_ROOT_NODEID, "hx-fdir", NULL);
	hx_unlink(&c, "hx-forget");
	hc_close(&c);
}

/* ---- bad-names ------------------------------------------------------------ */

struct bad_name {
	const char *what;
	char buf[4096];
	uint32_t len;
};

static unsigned bad_names(struct bad_name *n)
{
	static const struct {
		const char *what;
		const char *s;
		uint32_t len;
	} fixed[] = {
		{ "\"/\"", "/", 1 },
		{ "\"..\"", "..", 2 },
		{ "\".\"", ".", 1 },
		{ "\"a/b\"", "a/b", 3 },
		{ "\"../../etc/passwd\"", "../../etc/passwd", 16 },
		{ "\"/etc\"", "/etc", 4 },
		{ "a name with a NUL", "hx-a\0b", 6 },
		{ "a lone NUL", "\0", 1 },
		{ "\"hx-n/\"", "hx-n/", 5 },
		{ "an empty name", "", 0 },
	};
	unsigned i, k = 0;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++, k++) {
		n[k].what = fixed[i].what;
		memcpy(n[k].buf, fixed[i].s, fixed[i].len);
		n[k].len = fixed[i].len;
	}
	n[k].what = "256 bytes";
	memset(n[k].buf, 'h', 256);
	n[k++].len = 256;
	n[k].what = "4 KiB of junk";
	for (i = 0; i < sizeof(n[k].buf); i++)
		n[k].buf[i] = (char)(rnd() | 1);
	n[k++].len = sizeof(n[k].buf);
	return k;
}

static void attack_bad_names(void)
{
	static const uint16_t ops[] = {
		XSH_OP_LOOKUP, XSH_OP_CREATE, XSH_OP_MKDIR, XSH_OP_MKNOD,
		XSH_OP_UNLINK, XSH_OP_RMDIR, XSH_OP_SYMLINK, XSH_OP_RENAME,
		XSH_OP_LINK,
	};
	static struct bad_name names[16];
	static char buf[9000];
	unsigned nn = bad_names(names), i, j, wrong = 0, total = 0;
	uint64_t id = 0, fh = 0, lid = 0;
	struct hc c;
	int rc;

	rc = hc_connect(&c, DEF_PAGES);
	if (rc) {
		result(false, "connect: %s", strerror(-rc));
		return;
	}
	rc = hx_create(&c, "hx-target", &id, &fh);
	if (!rc)
		hx_release(&c, id, fh, false);
	for (i = 0; i < nn; i++) {
		for (j = 0; j < sizeof(ops) / sizeof(ops[0]); j++) {
			struct xsh_req r = mkreq(ops[j], XSH_ROOT_NODEID);
			uint32_t len = names[i].len;

			memcpy(buf, names[i].buf, len);
			switch (ops[j]) {
			case XSH_OP_CREATE:
				r.a.open.flags = O_RDWR | O_CREAT;
				r.a.open.mode = S_IFREG | 0644;
				break;
			case XSH_OP_MKDIR:
				r.a.mknod.mode = 0755;
				break;
			case XSH_OP_MKNOD:
				r.a.mknod.mode = S_IFREG | 0644;
				break;
			case XSH_OP_SYMLINK:	/* bad name, good target */
				r.a.symlink.name_len = len;
				memcpy(buf + len, "hx-target", 9);
				len += 9;
				break;
			case XSH_OP_RENAME:	/* good name, bad new name */
				r.a.rename.newparent = XSH_ROOT_NODEID;
				r.a.rename.name_len = 9;
				memmove(buf + 9, buf, len);
				memcpy(buf, "hx-target", 9);
				len += 9;
				break;
			case XSH_OP_LINK:
				r.nodeid = id;
				r.a.link.newparent = XSH_ROOT_NODEID;
				break;
			default:
				break;
			}
			rc = hc_call(&c, &r, buf, len, 0, NULL);
			total++;
			if (rc <= 0) {
				wrong++;
				note("%s with %s: %s", xsh_op_name(ops[j]),
				     names[i].what, err_name(rc));
				if (rc < 0)
					goto out;
			}
		}
	}
	result(wrong == 0, "%u requests with bad names, each refused with "
	       "an errno (%u were not)", total, wrong);

	/* A symlink may point anywhere; it is never followed. */
	{
		struct xsh_req r = mkreq(XSH_OP_SYMLINK, XSH_ROOT_NODEID);

		r.a.symlink.name_len = 6;
		rc = hc_call(&c, &r, "hx-etc/etc/passwd", 17, 0, NULL);
		result(rc == 0 || rc == EEXIST,
		       "SYMLINK hx-etc -> /etc/passwd is just data (%s)",
		       err_name(rc));
		rc = hx_lookup(&c, XSH_ROOT_NODEID, "hx-etc", &lid);
		r = mkreq(XSH_OP_OPEN, lid);
		r.a.open.flags = O_RDWR;
		expect_errno(&c, "OPEN of it is refused",
			     rc ? rc : hc_call(&c, &r, NULL, 0, 0, NULL), 0);
		r = mkreq(XSH_OP_CREATE, XSH_ROOT_NODEID);
		r.a.open.flags = O_RDWR | O_CREAT | O_TRUNC;
		r.a.open.mode = S_IFREG | 0644;
		expect_errno(&c, "CREATE over it is refused",
			     hc_call(&c, &r, "hx-etc", 6, 0, NULL), 0);
		expect_errno(&c, "LOOKUP through it is refused",
			     rc ? rc : name_op(&c, XSH_OP_LOOKUP, lid, "passwd",
					       NULL), 0);
		r = mkreq(XSH_OP_SETATTR, lid);
		r.a.setattr.valid = XSH_SETATTR_MODE;
		r.a.setattr.mode = 0777;
		rc = hc_call(&c, &r, NULL, 0, 0, NULL);
		note("SETATTR mode on the symlink: %s", err_name(rc));
		hx_unlink(&c, "hx-etc");
	}
out:
	hx_unlink(&c, "hx-target");
	hc_close(&c);
}

/* ---- double-fetch --------------------------------------------------------- */

/* What the flipper writes: each variant is a complete slot + input; some
 * are valid, some hostile.  Whatever single copy the backend takes, it
 * must act on that copy alone. */
struct variant {
	struct xsh_req req;
	char in[64];
	uint32_t in_len;
};

static struct variant variants[12];
static unsigned nr_variants;

static void add_variant(uint16_t op, uint32_t buf_off, const char *in,
			uint32_t in_len, uint32_t split)
{
	struct variant *v = &variants[nr_variants++];

	memset(v, 0, sizeof(*v));
	v->req.opcode = op;
	v->req.nodeid = XSH_ROOT_NODEID;
	v->req.buf_off = buf_off;
	v->req.buf_len = 64;
	v->req.in_len = in_len;
	memcpy(v->in, in, in_len);
	v->in_len = in_len;
	switch (op) {
	case XSH_OP_MKDIR:
		v->req.a.mknod.mode = 0755;
		break;
	case XSH_OP_SYMLINK:
		v->req.a.symlink.name_len = split;
		break;
	case XSH_OP_RENAME:
		v->req.a.rename.name_len = split;
		v->req.a.rename.newparent = XSH_ROOT_NODEID;
		break;
	default:
		break;
	}
}

static void make_variants(void)
{
	nr_variants = 0;
	add_variant(XSH_OP_MKDIR, 0, "hx-dfA", 6, 0);
	add_variant(XSH_OP_MKDIR, 0, "../hx-esc", 9, 0);
	add_variant(XSH_OP_MKDIR, 0, "hx-dfB/../../x", 14, 0);
	add_variant(XSH_OP_SYMLINK, 0, "hx-dfCoutside", 13, 6);
	add_variant(XSH_OP_SYMLINK, 0, "..//etc/passwd", 14, 3);
	add_variant(XSH_OP_RENAME, 0, "hx-dfAhx-dfB", 12, 6);
	add_variant(XSH_OP_RENAME, 0, "hx-dfA../x", 10, 6);
	add_variant(XSH_OP_RENAME, 0, "hx-dfB..", 8, 6);
	add_variant(XSH_OP_RMDIR, 0, "hx-dfB", 6, 0);
	add_variant(XSH_OP_UNLINK, 0, "hx-dfC", 6, 0);
	add_variant(XSH_OP_MKDIR, 0, "hx-dfA", 6, 0);
	/* the same name, moved to the end of the data area (still valid) */
	add_variant(XSH_OP_MKDIR, DEF_PAGES * XSH_PAGE_SIZE - 64, "hx-dfB", 6, 0);
}

struct flipper {
	pthread_t th;
	uint8_t *slots;		/* shared */
	uint32_t nr_slots;
	uint8_t *data;		/* shared */
	int active;		/* atomic: 1 flip, 0 idle, -1 exit */
	int idle;		/* atomic: acknowledges active == 0 */
	uint64_t flips;
};

static void write_variant(struct flipper *f, uint32_t slot,
			  const struct variant *v, uint64_t id)
{
	struct xsh_req r = v->req;

	r.id = id;
	memcpy(f->data + v->req.buf_off, v->in, v->in_len);
	memcpy(f->slots + (size_t)slot * XSH_SLOT_SIZE, &r, sizeof(r));
}

static uint32_t flip_slot;
static uint64_t flip_id;

static void *flipper_main(void *arg)
{
	struct flipper *f = arg;
	uint64_t x = 0x1234567ull;
	int a;

	while ((a = __atomic_load_n(&f->active, __ATOMIC_ACQUIRE)) >= 0) {
		if (!a) {
			__atomic_store_n(&f->idle, 1, __ATOMIC_RELEASE);
			continue;
		}
		__atomic_store_n(&f->idle, 0, __ATOMIC_RELEASE);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		write_variant(f, __atomic_load_n(&flip_slot, __ATOMIC_RELAXED),
			      &variants[x % nr_variants],
			      __atomic_load_n(&flip_id, __ATOMIC_RELAXED));
		f->flips++;
	}
	return NULL;
}

static void flipper_pause(struct flipper *f)
{
	__atomic_store_n(&f->active, 0, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&f->idle, __ATOMIC_ACQUIRE))
		;
}

/* The names in the export root, one NUL-terminated name after another. */
struct listing {
	char names[64 * 1024];
	uint32_t len;
	unsigned count;
	bool ok;
};

static void list_root(struct hc *c, struct listing *l)
{
	struct xsh_req r = mkreq(XSH_OP_OPENDIR, XSH_ROOT_NODEID);
	struct xsh_rsp rsp;
	uint64_t dfh, cookie = 0;
	int rc, len = 0;

	memset(l, 0, sizeof(*l));
	rc = hc_call(c, &r, NULL, 0, 0, &rsp);
	if (rc)
		return;
	dfh = rsp.u.fh;
	for (;;) {
		const struct xsh_dirent *d;
		const char *name;
		uint32_t pos = 0;

		r = mkreq(XSH_OP_READDIR, XSH_ROOT_NODEID);
		r.fh = dfh;
		r.a.io.offset = cookie;
		r.a.io.size = 8192;
		rc = hc_call(c, &r, NULL, 0, 8192, &rsp);
		if (rc || !rsp.out_len)
			break;
		while ((len = xsh_codec_next_dirent(hc_data(c), rsp.out_len,
						   pos, &d, &name)) > 0) {
			uint16_t nl;

			memcpy(&nl, &d->namelen, sizeof(nl));
			memcpy(&cookie, &d->off, sizeof(cookie));
			pos += (uint32_t)len;
			if (l->len + nl + 1 > sizeof(l->names))
				continue;
			memcpy(l->names + l->len, name, nl);
			l->names[l->len + nl] = '\0';
			l->len += nl + 1u;
			l->count++;
		}
		if (len < 0)
			break;
	}
	hx_release(c, XSH_ROOT_NODEID, dfh, true);
	l->ok = rc == 0 && len == 0;
}

static bool listed(const struct listing *l, const char *name)
{
	uint32_t pos;

	for (pos = 0; pos < l->len; pos += (uint32_t)strlen(l->names + pos) + 1)
		if (!strcmp(l->names + pos, name))
			return true;
	return false;
}

/* Whatever the races produced are names of one component each (a mix of
 * variants' bytes is fine: the guest raced itself).  Remove them. */
static void df_clean_export(const struct listing *before)
{
	static struct listing after;
	unsigned added = 0;
	uint32_t pos;
	struct hc c;
	int rc;

	rc = hc_connect(&c, DEF_PAGES);
	if (rc) {
		result(false, "listing the export: connect: %s", strerror(-rc));
		return;
	}
	list_root(&c, &after);
	result(after.ok, "export listing after the race is well-formed (%u "
	       "entries)", after.count);
	for (pos = 0; pos < after.len;
	     pos += (uint32_t)strlen(after.names + pos) + 1) {
		const char *nm = after.names + pos;

		if (listed(before, nm) || !strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		added++;
		if (name_op(&c, XSH_OP_RMDIR, XSH_ROOT_NODEID, nm, NULL))
			hx_unlink(&c, nm);
	}
	note("%u entries made by the racing requests, removed", added);
	hc_close(&c);
}

static void attack_double_fetch(void)
{
	static struct listing before;
	uint64_t t0 = now_ms();
	unsigned rounds = 0, answers = 0, closes = 0, reconnects = 0;
	struct flipper f;
	struct hc c;
	int rc;

	make_variants();
	memset(&f, 0, sizeof(f));
	rc = hc_connect(&c, DEF_PAGES);
	if (rc) {
		result(false, "connect: %s", strerror(-rc));
		return;
	}
	list_root(&c, &before);
	if (!before.ok) {
		result(false, "listing the export before the race failed");
		hc_close(&c);
		return;
	}
	while (now_ms() - t0 < 4000 && rounds < 20000) {
		struct xsh_rsp rsp;
		uint32_t prod;

		if (c.closed) {
			if (f.th) {
				__atomic_store_n(&f.active, -1,
						 __ATOMIC_RELEASE);
				pthread_join(f.th, NULL);
				f.th = 0;
			}
			hc_close(&c);
			closes++;
			rc = hc_connect(&c, DEF_PAGES);
			if (rc) {
				result(false, "reconnect: %s", strerror(-rc));
				return;
			}
			reconnects++;
		}
		if (!f.th) {
			f.slots = c.r.slots;
			f.nr_slots = c.r.nr_slots;
			f.data = hc_data(&c);
			f.active = 0;
			f.idle = 0;
			if (pthread_create(&f.th, NULL, flipper_main, &f)) {
				result(false, "thread: %s", strerror(errno));
				hc_close(&c);
				return;
			}
			flipper_pause(&f);
		}
		/* Publish a valid request, then let the flipper rewrite the
		 * slot and its input until the backend answers. */
		__atomic_store_n(&flip_slot, c.r.req_prod_pvt &
				 (c.r.nr_slots - 1), __ATOMIC_RELAXED);
		__atomic_store_n(&flip_id, c.next_id, __ATOMIC_RELAXED);
		write_variant(&f, c.r.req_prod_pvt & (c.r.nr_slots - 1),
			      &variants[rounds % nr_variants], c.next_id);
		c.next_id++;
		c.r.req_prod_pvt++;
		__atomic_store_n(&f.active, 1, __ATOMIC_RELEASE);
		hc_push(&c);
		prod = c.r.rsp_cons + 1;
		while (__atomic_load_n(&c.r.hdr->rsp_prod, __ATOMIC_ACQUIRE) !=
		       prod && !hc_gone(&c, 0) && now_ms() - t0 < 10000)
			;
		flipper_pause(&f);
		rc = hc_wait(&c, &rsp, 100);
		if (rc == 1)
			answers++;
		rounds++;
	}
	if (f.th) {
		__atomic_store_n(&f.active, -1, __ATOMIC_RELEASE);
		pthread_join(f.th, NULL);
	}
	hc_close(&c);
	result(answers > 0, "%u requests rewritten while being "
	       "served (%llu rewrites): %u answered, %u connections closed by "
	       "the backend", rounds, (unsigned long long)f.flips, answers,
	       closes);
	df_clean_export(&before);
}

/* ---- notify-flood --------------------------------------------------------- */

static void attack_notify_flood(void)
{
	const unsigned total = 3000000;
	uint64_t t0 = now_ms();
	unsigned i, eagain = 0;
	struct hc c;
	int rc;

	rc = hc_connect(&c, 4);
	if (rc) {
		result(false, "connect: %s", strerror(-rc));
		return;
	}
	for (i = 0; i < total && now_ms() - t0 < 10000; i++) {
		if (xsh_tport_notify(c.t, 0) == -EAGAIN)
			eagain++;
		if (i % 100000 == 0 && hc_gone(&c, 0))
			break;
	}
	note("%u kicks with nothing on the ring in %llu ms (%u found the "
	     "counter full)", i, (unsigned long long)(now_ms() - t0), eagain);
	if (hc_gone(&c, 0)) {
		result(true, "backend closed the flooding connection");
	} else {
		rc = hx_getattr(&c, XSH_ROOT_NODEID);
		result(rc == 0, "the flooding connection is still served "
		       "correctly afterwards (%s)", err_name(rc));
	}
	hc_close(&c);
}

/* ---- connect-loop --------------------------------------------------------- */

static int raw_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* Send a hello with nfds descriptors. */
static int send_hello(int fd, const void *msg, size_t len, const int *fds,
		      unsigned nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 253)];
	} cbuf;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nfds) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* A memfd for rings + data, sealed unless told not to, and eventfds. */
struct hello_fds {
	int fds[1 + 2 * XSH_MAX_RINGS];
	unsigned n;
};

static int make_hello_fds(struct hello_fds *h, unsigned nr_rings,
			  size_t bytes, bool seal)
{
	unsigned i;

	h->n = 0;
	h->fds[h->n] = memfd_create("hx", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (h->fds[h->n] < 0)
		return -errno;
	if (ftruncate(h->fds[h->n], (off_t)bytes) < 0)
		return -errno;
	if (seal && fcntl(h->fds[h->n], F_ADD_SEALS, F_SEAL_SHRINK |
			  F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	h->n++;
	for (i = 0; i < 2 * nr_rings; i++) {
		h->fds[h->n] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (h->fds[h->n] < 0)
			return -errno;
		h->n++;
	}
	return 0;
}

static void close_hello_fds(struct hello_fds *h)
{
	unsigned i;

	for (i = 0; i < h->n; i++)
		close(h->fds[i]);
	h->n = 0;
}

static struct xsh_local_hello good_hello(unsigned pages)
{
	struct xsh_local_hello h = {
		.magic = XSH_LOCAL_MAGIC, .kind = XSH_LOCAL_KIND_DATA,
		.version = XSH_PROTO_VERSION, .nr_rings = 1, .ring_order = 0,
		.data_pages = pages, .features = 0,
	};
	return h;
}

/* A well-behaved frontend may publish its first request as soon as the
 * welcome arrives, before the backend has taken the ring over: it must
 * get a real answer (the backend once started at whatever req_prod said
 * and answered in the request's own slot). */
static void immediate_requests(void)
{
	unsigned i, right = 0, echoed = 0, lost = 0, other = 0;
	struct xsh_rsp rsp;
	struct hc c;
	int rc;

	call_timeout_ms = 300;	/* a skipped slot is never notified */
	for (i = 0; i < 200; i++) {
		struct xsh_req r = mkreq(XSH_OP_GETATTR, XSH_ROOT_NODEID);

		if (hc_connect(&c, 4))
			continue;
		rc = hc_call(&c, &r, NULL, 0, 0, &rsp);
		if (rc == 0 && rsp.u.entry.attr.mode)
			right++;
		else if (rc == XSH_OP_GETATTR)
			echoed++;	/* our own request read back */
		else if (rc < 0)
			lost++;
		else
			other++;
		hc_close(&c);
	}
	call_timeout_ms = WAIT_MS;
	result(right == 200, "GETATTR published right after the welcome, 200 "
	       "times: %u answered, %u slots skipped by the backend and read "
	       "back as their own answer, %u unanswered, %u other", right,
	       echoed, lost, other);
}

static void attack_connect_loop(void)
{
	unsigned i, full = 0, served = 0, silent = 0, partial = 0,
		 abandoned = 0, busy = 0, errors = 0;
	uint64_t t0 = now_ms();

	for (i = 0; i < 1000; i++) {
		unsigned kind = i % 20;

		if (kind < 14) {		/* full connect, maybe a request */
			struct hc c;
			int rc = hc_connect(&c, 4);

			if (rc == -EBUSY) {
				busy++;
				continue;
			}
			if (rc) {
				errors++;
				note("connect %u: %s", i, strerror(-rc));
				continue;
			}
			full++;
			if (kind % 2 && hx_getattr(&c, XSH_ROOT_NODEID) == 0)
				served++;
			if (kind == 13) {	/* leave a request unanswered */
				struct xsh_req r = mkreq(XSH_OP_GETATTR, 1);

				hc_put(&c, &r);
				hc_push(&c);
			}
			hc_close(&c);
		} else if (kind < 17) {		/* connect, say nothing */
			int fd = raw_socket();

			if (fd >= 0) {
				silent++;
				close(fd);
			}
		} else if (kind < 19) {		/* half a hello */
			int fd = raw_socket();
			struct xsh_local_hello h = good_hello(4);

			if (fd >= 0) {
				partial++;
				send_hello(fd, &h, 10, NULL, 0);
				close(fd);
			}
		} else {			/* hello with fds, then gone */
			int fd = raw_socket();
			struct xsh_local_hello h = good_hello(4);
			struct hello_fds hf;

			if (fd >= 0 && !make_hello_fds(&hf, 1,
						       5 * XSH_PAGE_SIZE, true)) {
				abandoned++;
				send_hello(fd, &h, sizeof(h), hf.fds, hf.n);
				close_hello_fds(&hf);
			}
			if (fd >= 0)
				close(fd);
		}
	}
	result(errors == 0, "1000 cycles in %llu ms: %u full connects (%u "
	       "served a request), %u silent, %u half hellos, %u abandoned "
	       "after the hello, %u refused busy, %u errors",
	       (unsigned long long)(now_ms() - t0), full, served, silent,
	       partial, abandoned, busy, errors);
	immediate_requests();
}

/* ---- cancels ---------------------------------------------------------------- */

#define CW_N	12u		/* writes queued at once */
#define CW_SIZE	(16u * 1024)

static struct xsh_req cancel_req(uint64_t target)
{
	struct xsh_req r = mkreq(XSH_OP_CANCEL, 0);

	r.a.cancel.id = target;
	return r;
}

/* Put CW_N writes of CW_SIZE bytes of 'w' (write k at offset k * CW_SIZE,
 * buffer k) to nodeid/fh on c's ring, unpushed; their ids in ids[]. */
static void put_writes(struct hc *c, uint64_t nodeid, uint64_t fh,
		       uint64_t *ids)
{
	unsigned k;

	for (k = 0; k < CW_N; k++) {
		struct xsh_req r = mkreq(XSH_OP_WRITE, nodeid);

		r.fh = fh;
		r.a.io.offset = (uint64_t)k * CW_SIZE;
		r.a.io.size = CW_SIZE;
		r.buf_off = k * CW_SIZE;
		r.buf_len = r.in_len = CW_SIZE;
		memset(hc_data(c) + r.buf_off, 'w', CW_SIZE);
		hc_put(c, &r);
		ids[k] = r.id;
	}
}

/* Collect n answers for ids[]: errno (or -1: none, -2: twice) in err[]. */
static void collect(struct hc *c, const uint64_t *ids, int *err, unsigned n)
{
	struct xsh_rsp rsp;
	unsigned k, got = 0;

	for (k = 0; k < n; k++)
		err[k] = -1;
	while (got < n && hc_wait(c, &rsp, WAIT_MS) > 0) {
		for (k = 0; k < n; k++) {
			if (rsp.id != ids[k])
				continue;
			err[k] = err[k] == -1 ? rsp.error : -2;
			got++;
			break;
		}
	}
}

static void attack_cancels(void)
{
	struct hc c, b;
	struct xsh_req r;
	struct xsh_rsp rsp;
	uint64_t id, fh, bid, bfh, ids[CW_N + 2], bids[CW_N];
	int err[CW_N + 2], berr[CW_N], rc;
	unsigned k, bad;
	char *back;

	if (hc_connect(&c, DEF_PAGES)) {
		result(false, "connect");
		return;
	}
	r = cancel_req(0);
	expect_errno(&c, "CANCEL of id 0", hc_call(&c, &r, NULL, 0, 0, NULL),
		     ENOENT);
	r = cancel_req(~0ull);
	expect_errno(&c, "CANCEL of an id never used",
		     hc_call(&c, &r, NULL, 0, 0, NULL), ENOENT);
	r = cancel_req(c.next_id);
	expect_errno(&c, "CANCEL of its own id",
		     hc_call(&c, &r, NULL, 0, 0, NULL), ENOENT);
	hx_getattr(&c, XSH_ROOT_NODEID);
	r = cancel_req(c.next_id - 1);
	expect_errno(&c, "CANCEL of a request already answered",
		     hc_call(&c, &r, NULL, 0, 0, NULL), ENOENT);
	r = cancel_req(1);
	rc = hc_call(&c, &r, "junk", 4, 0, NULL);
	result(rc > 0 && !hc_gone(&c, 100),
	       "CANCEL with input: an errno, connection kept (%s)",
	       err_name(rc));

	if (hx_create(&c, "hx-cancel", &id, &fh) ||
	    hc_connect(&b, DEF_PAGES)) {
		result(false, "create hx-cancel, second connection");
		hc_close(&c);
		return;
	}
	/* Own queue: writes, then CANCELs of the last one (twice) and a
	 * CANCEL of that CANCEL, all published at once. */
	put_writes(&c, id, fh, ids);
	r = cancel_req(ids[CW_N - 1]);
	hc_put(&c, &r);
	ids[CW_N] = r.id;
	r = cancel_req(ids[CW_N]);
	hc_put(&c, &r);
	ids[CW_N + 1] = r.id;
	hc_push(&c);
	collect(&c, ids, err, CW_N + 2);
	for (bad = 0, k = 0; k < CW_N + 2; k++)
		bad += err[k] < 0;
	result(!bad, "queued writes and CANCELs: each answered exactly once "
	       "(%u not)", bad);
	result(err[CW_N + 1] == ENOENT, "CANCEL of a CANCEL: ENOENT (%s)",
	       err_name(err[CW_N + 1]));
	result((err[CW_N] == 0 && err[CW_N - 1] == EINTR) ||
	       (err[CW_N] == ENOENT && err[CW_N - 1] == 0),
	       "CANCEL of a queued write: 0 and the write EINTR, or ENOENT "
	       "and the write done (cancel %s, write %s)",
	       err_name(err[CW_N]), err_name(err[CW_N - 1]));
	note("cancel of the last queued write: %s", err_name(err[CW_N]));
	r = mkreq(XSH_OP_READ, id);
	r.fh = fh;
	r.a.io.offset = (uint64_t)(CW_N - 1) * CW_SIZE;
	r.a.io.size = CW_SIZE;
	rc = hc_call(&c, &r, NULL, 0, CW_SIZE, &rsp);
	back = (char *)hc_data(&c);
	result(!rc && (err[CW_N - 1] == EINTR ? rsp.out_len == 0 :
		       rsp.out_len == CW_SIZE && back[0] == 'w' &&
		       back[CW_SIZE - 1] == 'w'),
	       "the cancelled write left nothing, a done one all (%s, %u "
	       "bytes)", err_name(rc), rsp.out_len);

	/* Foreign: CANCELs on c naming b's queued ids touch nothing of b. */
	if (hx_create(&b, "hx-cancel-b", &bid, &bfh)) {
		result(false, "create hx-cancel-b");
	} else {
		put_writes(&b, bid, bfh, bids);
		for (k = 0; k < CW_N; k++) {
			r = cancel_req(bids[k]);
			hc_put(&c, &r);
			ids[k] = r.id;
		}
		hc_push(&b);
		hc_push(&c);
		collect(&c, ids, err, CW_N);
		collect(&b, bids, berr, CW_N);
		for (bad = 0, k = 0; k < CW_N; k++)
			bad += err[k] != ENOENT || berr[k] != 0;
		result(!bad, "CANCELs of another connection's ids: ENOENT, "
		       "its writes all done (%u not)", bad);
		hx_release(&b, bid, bfh, false);
		hx_unlink(&b, "hx-cancel-b");
	}
	hx_release(&c, id, fh, false);
	hx_unlink(&c, "hx-cancel");
	result(!hc_gone(&c, 100) && !hc_gone(&b, 0),
	       "both connections still served");
	hc_close(&b);
	hc_close(&c);
}

/* ---- no-consume ----------------------------------------------------------- */

static void attack_no_consume(void)
{
	const unsigned pages = 256, chunk = 64 * 1024;
	static char buf[64 * 1024];
	uint64_t id = 0, fh = 0, t0;
	unsigned i;
	struct xsh_req r;
	struct hc c;
	int rc;

	rc = hc_connect(&c, pages);
	if (rc) {
		result(false, "connect: %s", strerror(-rc));
		return;
	}
	memset(buf, 'n', sizeof(buf));
	rc = hx_create(&c, "hx-nc", &id, &fh);
	if (!rc) {
		r = mkreq(XSH_OP_WRITE, id);
		r.fh = fh;
		r.a.io.size = chunk;
		rc = hc_call(&c, &r, buf, chunk, 0, NULL);
	}
	if (rc) {
		result(false, "set-up: %s", err_name(rc));
		hc_close(&c);
		return;
	}
	/* Fill every slot with a 64 KiB read and never take a response. */
	for (i = 0; i < c.r.nr_slots; i++) {
		r = mkreq(XSH_OP_READ, id);
		r.fh = fh;
		r.a.io.size = chunk;
		r.buf_off = (i * chunk) % (pages * XSH_PAGE_SIZE);
		r.buf_len = chunk;
		hc_put(&c, &r);
	}
	hc_push(&c);
	__atomic_store_n(&c.r.hdr->rsp_event, c.r.rsp_cons + 0x40000000u,
			 __ATOMIC_RELEASE);
	t0 = now_ms();
	probe("while a full ring goes unconsumed");
	while (now_ms() - t0 < 5000) {
		xsh_tport_notify(c.t, 0);
		if (hc_gone(&c, 100))
			break;
	}
	if (c.closed)
		result(true, "backend closed the connection that never "
		       "consumed (after %llu ms)",
		       (unsigned long long)(now_ms() - t0));
	else
		result(true, "stayed connected 5 s with %u responses never "
		       "consumed (backend published %u)", c.r.nr_slots,
		       __atomic_load_n(&c.r.hdr->rsp_prod, __ATOMIC_ACQUIRE));
	probe("after 5 s of a full ring");
	hc_close(&c);
	rc = hc_connect(&c, 4);
	if (!rc) {
		hx_unlink(&c, "hx-nc");
		hc_close(&c);
	}
}

/* ---- bad-hello ------------------------------------------------------------ */

/* Read the welcome: its error (>= 0), -EPIPE if closed without one,
 * -ETIMEDOUT. */
static int read_welcome(int fd, int ms, struct xsh_local_welcome *w)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return -ETIMEDOUT;
	n = recv(fd, w, sizeof(*w), MSG_DONTWAIT);
	if (n <= 0)
		return -EPIPE;
	if (n != sizeof(*w) || w->magic != XSH_LOCAL_MAGIC)
		return -EPROTO;
	return w->error;
}

enum hello_case {
	HC_EMPTY, HC_ONE_BYTE, HC_BIG, HC_MAGIC, HC_KIND, HC_RINGS0, HC_RINGS9,
	HC_ORDER, HC_PAGES0, HC_PAGES_MAX, HC_NO_FDS, HC_FEW_FDS, HC_MANY_FDS,
	HC_UNSEALED, HC_SMALL, HC_PIPE, HC_MEMFD_AS_EVENTFD, HC_DIR,
	HC_SPLIT, HC_COUNT
};

static const char *const hello_names[HC_COUNT] = {
	[HC_EMPTY] = "empty message",
	[HC_ONE_BYTE] = "one byte",
	[HC_BIG] = "64 KiB message",
	[HC_MAGIC] = "wrong magic",
	[HC_KIND] = "wrong kind",
	[HC_RINGS0] = "nr_rings 0",
	[HC_RINGS9] = "nr_rings 9",
	[HC_ORDER] = "ring_order 5",
	[HC_PAGES0] = "data_pages 0",
	[HC_PAGES_MAX] = "data_pages XSH_MAX_DATA_PAGES + 1",
	[HC_NO_FDS] = "no descriptors",
	[HC_FEW_FDS] = "nr_rings 3 with the fds of one ring",
	[HC_MANY_FDS] = "200 descriptors",
	[HC_UNSEALED] = "memfd not sealed",
	[HC_SMALL] = "sealed memfd too small",
	[HC_PIPE] = "a pipe for an eventfd",
	[HC_MEMFD_AS_EVENTFD] = "the memfd for an eventfd",
	[HC_DIR] = "a directory for the memfd",
	[HC_SPLIT] = "hello split in two messages",
};

static void bad_hello_one(enum hello_case k)
{
	static char big[65536];
	struct xsh_local_hello h = good_hello(4);
	struct xsh_local_welcome w;
	struct hello_fds hf = { .n = 0 };
	int fds[200], extra[2] = { -1, -1 };
	size_t bytes = 5 * XSH_PAGE_SIZE;
	int fd, rc, i;

	fd = raw_socket();
	if (fd < 0) {
		result(false, "%s: connect: %s", hello_names[k], strerror(-fd));
		return;
	}
	if (k == HC_SMALL)
		bytes = XSH_PAGE_SIZE;
	rc = make_hello_fds(&hf, 1, bytes,
			    k != HC_UNSEALED);
	if (rc) {
		result(false, "%s: set-up: %s", hello_names[k], strerror(-rc));
		close(fd);
		return;
	}
	switch (k) {
	case HC_EMPTY:
		rc = send_hello(fd, &h, 0, NULL, 0);
		break;
	case HC_ONE_BYTE:
		rc = send_hello(fd, "x", 1, NULL, 0);
		break;
	case HC_BIG:
		memset(big, 0x5a, sizeof(big));
		memcpy(big, &h, sizeof(h));
		rc = send_hello(fd, big, sizeof(big), hf.fds, hf.n);
		break;
	case HC_MAGIC:
		h.magic ^= 1;
		rc = send_hello(fd, &h, sizeof(h), hf.fds, hf.n);
		break;
	case HC_KIND:
		h.kind = 7;
		rc = send_hello(fd, &h, sizeof(h), hf.fds, hf.n);
		break;
	case HC_RINGS0:
		h.nr_rings = 0;
		rc = send_hello(fd, &h, sizeof(h), hf.fds, 1);
		break;
	case HC_RINGS9:
		h.nr_rings = 9;
		rc = send_hello(fd, &h, sizeof(h), hf.fds, hf.n);
		break;
	case HC_ORDER:
		h.ring_order = XSH_MAX_RING_ORDER + 1;
		rc = send_hello(fd, &h, sizeof(h), hf.fds, hf.n);
		break;
	case HC_PAGES0:
		h.data_pages = 0;
		rc = send_hello(fd, &h, sizeof(h), hf.fds, hf.n);
		break;
	case HC_PAGES_MAX:
		h.data_pages = XSH_MAX_DATA_PAGES + 1;
		rc = send_hello(fd, &h, sizeof(h), hf.fds, hf.n);
		break;
	case HC_NO_FDS:
		rc = send_hello(fd, &h, sizeof(h), NULL, 0);
		break;
	case HC_FEW_FDS:
		h.nr_rings = 3;
		rc = send_hello(fd, &h, sizeof(h), hf.fds, hf.n);
		break;
	case HC_MANY_FDS:
		for (i = 0; i < 200; i++)
			fds[i] = hf.fds[i % hf.n];
		rc = send_hello(fd, &h, sizeof(h), fds, 200);
		break;
	case HC_UNSEALED:
	case HC_SMALL:
		rc = send_hello(fd, &h, sizeof(h), hf.fds, hf.n);
		break;
	case HC_PIPE:
		if (pipe2(extra, O_CLOEXEC)) {
			rc = -errno;
			break;
		}
		fds[0] = hf.fds[0];
		fds[1] = extra[0];
		fds[2] = extra[1];
		rc = send_hello(fd, &h, sizeof(h), fds, 3);
		break;
	case HC_MEMFD_AS_EVENTFD:
		fds[0] = hf.fds[0];
		fds[1] = hf.fds[0];
		fds[2] = hf.fds[1];
		rc = send_hello(fd, &h, sizeof(h), fds, 3);
		break;
	case HC_DIR:
		extra[0] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		fds[0] = extra[0];
		fds[1] = hf.fds[1];
		fds[2] = hf.fds[2];
		rc = send_hello(fd, &h, sizeof(h), fds, 3);
		break;
	case HC_SPLIT:
		rc = send_hello(fd, &h, 16, hf.fds, hf.n);
		if (!rc)
			rc = send_hello(fd, (char *)&h + 16, sizeof(h) - 16,
					NULL, 0);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	close_hello_fds(&hf);
	for (i = 0; i < 2; i++)
		if (extra[i] >= 0)
			close(extra[i]);
	if (rc) {
		/* The backend may have closed first: that is a refusal too. */
		note("%s: send: %s", hello_names[k], strerror(-rc));
	}
	rc = read_welcome(fd, 7000, &w);
	result(rc > 0 || rc == -EPIPE, "%s: %s", hello_names[k],
	       rc > 0 ? err_name(rc) : rc == -EPIPE ? "closed without a welcome" :
	       rc == 0 ? "ACCEPTED" : err_name(rc));
	close(fd);
}

static void attack_bad_hello(void)
{
	struct xsh_local_hello h = good_hello(4);
	struct xsh_local_welcome w;
	struct hello_fds hf;
	int silent[20], fd, rc, i;
	uint64_t t0;
	unsigned k;

	for (k = 0; k < HC_COUNT; k++)
		bad_hello_one((enum hello_case)k);

	/* Odd but acceptable: unknown features and a future version. */
	fd = raw_socket();
	if (fd >= 0 && !make_hello_fds(&hf, 1, 5 * XSH_PAGE_SIZE, true)) {
		h.features = ~0ull;
		h.version = 0xffffffffu;
		send_hello(fd, &h, sizeof(h), hf.fds, hf.n);
		close_hello_fds(&hf);
		rc = read_welcome(fd, 5000, &w);
		result(rc == 0 && w.version == XSH_PROTO_VERSION &&
		       !(w.features & ~XSH_FEAT_ALL),
		       "all feature bits and version 0xffffffff: %s, version "
		       "%u, features %#llx", err_name(rc), w.version,
		       (unsigned long long)w.features);
		/* Junk on an established connection. */
		if (!rc) {
			send_hello(fd, "junk", 4, NULL, 0);
			send_hello(fd, &h, sizeof(h), NULL, 0);
		}
		close(fd);
	}

	/* Silent peers must not hold up others: the handshake is bounded. */
	for (i = 0; i < 20; i++)
		silent[i] = raw_socket();
	probe("while 20 connections say nothing");
	t0 = now_ms();
	for (i = 0; i < 20; i++) {
		struct pollfd p = { .fd = silent[i], .events = POLLIN };
		int left = 15000 - (int)(now_ms() - t0);

		if (silent[i] < 0)
			continue;
		if (left < 1 || poll(&p, 1, left) <= 0)
			break;
	}
	result(i == 20, "20 silent connections closed by the backend within "
	       "%llu ms (%d closed)", (unsigned long long)(now_ms() - t0), i);
	for (i = 0; i < 20; i++)
		if (silent[i] >= 0)
			close(silent[i]);
}

/* ---- main ----------------------------------------------------------------- */

static const struct {
	const char *name;
	void (*fn)(void);
} attacks[] = {
	{ "prod-overflow", attack_prod_overflow },
	{ "buf-oob", attack_buf_oob },
	{ "huge-len", attack_huge_len },
	{ "forged-node", attack_forged_node },
	{ "forged-fh", attack_forged_fh },
	{ "forget-underflow", attack_forget_underflow },
	{ "bad-names", attack_bad_names },
	{ "double-fetch", attack_double_fetch },
	{ "notify-flood", attack_notify_flood },
	{ "connect-loop", attack_connect_loop },
	{ "no-consume", attack_no_consume },
	{ "bad-hello", attack_bad_hello },
	{ "cancels", attack_cancels },
};

#define NR_ATTACKS (sizeof(attacks) / sizeof(attacks[0]))

static void usage(FILE *f)
{
	unsigned i;

	fprintf(f, "usage: hostile ATTACK SOCKET\nattacks: all");
	for (i = 0; i < NR_ATTACKS; i++)
		fprintf(f, " %s", attacks[i].name);
	fputc('\n', f);
}

int main(int argc, char **argv)
{
	unsigned i, ran = 0;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (i = 0; i < NR_ATTACKS; i++)
			printf("%s\n", attacks[i].name);
		return 0;
	}
	if (argc != 3) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	sock_path = argv[2];
	for (i = 0; i < NR_ATTACKS; i++) {
		if (strcmp(argv[1], "all") && strcmp(argv[1], attacks[i].name))
			continue;
		cur_attack = attacks[i].name;
		attacks[i].fn();
		probe("afterwards");
		ran++;
	}
	if (!ran) {
		usage(stderr);
		return 2;
	}

	printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
