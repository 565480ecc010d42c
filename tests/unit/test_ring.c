// SPDX-License-Identifier: MIT
/*
 * Unit tests for protocol/ring.c over a malloc'ed ring area: both sides in
 * one thread for exact index scenarios, and across two threads with
 * eventfd notifications to prove that event suppression never loses a
 * wakeup.  Hostile cases (a frontend overflowing the producer index, a
 * backend lying about its response index) play the bad peer by writing
 * the shared header directly.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "protocol/ring.h"
#include "tap.h"

struct pair {
	void *mem;
	size_t bytes;
	struct xsh_ring f;	/* frontend view */
	struct xsh_ring b;	/* backend view */
};

/* A ring of 2^order pages whose indices all start at start. */
static int pair_init(struct pair *p, unsigned order, uint32_t start)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->bytes = (size_t)XSH_PAGE_SIZE << order;
	p->mem = aligned_alloc(XSH_PAGE_SIZE, p->bytes);
	if (!p->mem)
		return -ENOMEM;
	memset(p->mem, 0xa5, p->bytes);
	rc = xsh_ring_front_init(&p->f, p->mem, p->bytes);
	if (rc)
		return rc;
	if (start) {
		p->f.req_prod_pvt = start;
		p->f.rsp_cons = start;
		p->f.pushed = start;
		p->f.hdr->req_prod = start;
		p->f.hdr->rsp_prod = start;
		p->f.hdr->req_event = start + 1;
		p->f.hdr->rsp_event = start + 1;
	}
	return xsh_ring_back_attach(&p->b, p->mem, p->bytes);
}

static void pair_fini(struct pair *p)
{
	free(p->mem);
	p->mem = NULL;
}

static void mkreq(struct xsh_req *r, uint64_t id)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->opcode = XSH_OP_GETATTR;
	r->nodeid = id * 7 + 3;
	r->fh = ~id;
	memset(r->a.raw, (int)(id & 0xff), sizeof(r->a.raw));
}

static bool req_intact(const struct xsh_req *r)
{
	struct xsh_req want;

	mkreq(&want, r->id);
	return !memcmp(&want, r, sizeof(want));
}

static void mkrsp(struct xsh_rsp *rsp, const struct xsh_req *req)
{
	memset(rsp, 0, sizeof(*rsp));
	rsp->id = req->id;
	rsp->u.count = req->nodeid ^ 0x5a5a5a5a5a5a5a5aull;
}

static bool rsp_intact(const struct xsh_rsp *rsp)
{
	return rsp->error == 0 &&
	       rsp->u.count == ((rsp->id * 7 + 3) ^ 0x5a5a5a5a5a5a5a5aull);
}

static void test_nr_slots(void)
{
	static const uint32_t want[] = { 16, 32, 64, 128, 256 };
	struct xsh_ring r;
	char name[64];
	void *mem;
	unsigned order;
	int rc;

	for (order = 0; order <= XSH_MAX_RING_ORDER; order++) {
		size_t bytes = (size_t)XSH_PAGE_SIZE << order;
		uint32_t n = xsh_ring_nr_slots(bytes);

		snprintf(name, sizeof(name), "nr_slots for ring order %u", order);
		result(n == want[order] && (n & (n - 1)) == 0 &&
		       sizeof(struct xsh_ring_hdr) + (size_t)n * XSH_SLOT_SIZE <= bytes,
		       name, "got %" PRIu32 ", want %" PRIu32, n, want[order]);
	}
	result(xsh_ring_nr_slots(sizeof(struct xsh_ring_hdr) + 2 * XSH_SLOT_SIZE) == 2 &&
	       xsh_ring_nr_slots(sizeof(struct xsh_ring_hdr) + 64 * XSH_SLOT_SIZE) == 64 &&
	       xsh_ring_nr_slots(sizeof(struct xsh_ring_hdr) + 64 * XSH_SLOT_SIZE - 1) == 32,
	       "nr_slots of areas that fit a power of two exactly", "wrong count");
	result(xsh_ring_nr_slots(sizeof(struct xsh_ring_hdr) + XSH_SLOT_SIZE) == 1 &&
	       xsh_ring_nr_slots(sizeof(struct xsh_ring_hdr) + XSH_SLOT_SIZE - 1) == 0 &&
	       xsh_ring_nr_slots(0) == 0,
	       "nr_slots of tiny areas (one slot, none)", "wrong count");
	mem = calloc(1, 64);
	rc = mem ? xsh_ring_front_init(&r, mem, 64) : -ENOMEM;
	result(rc == -EINVAL, "front init refuses an area without a slot",
	       "rc %d", rc);
	rc = mem ? xsh_ring_back_attach(&r, mem, 64) : -ENOMEM;
	result(rc == -EINVAL, "back attach refuses an area without a slot",
	       "rc %d", rc);
	free(mem);
}

static void test_roundtrip(void)
{
	struct pair p;
	struct xsh_req req, got;
	struct xsh_rsp rsp, back;
	char why[160] = "";
	int rc;

	if (pair_init(&p, 0, 0)) {
		result(false, "single request round trip", "setup failed");
		return;
	}
	CHECK(xsh_ring_front_free_slots(&p.f) == p.f.nr_slots,
	      "fresh ring has %u free slots", xsh_ring_front_free_slots(&p.f));
	CHECK(xsh_ring_back_get_req(&p.b, &got) == 0, "empty ring gave a request");
	mkreq(&req, 42);
	xsh_ring_front_put_req(&p.f, &req);
	CHECK(xsh_ring_back_get_req(&p.b, &got) == 0,
	      "backend saw an unpublished request");
	xsh_ring_front_push(&p.f);
	rc = xsh_ring_back_get_req(&p.b, &got);
	CHECK(rc == 1 && req_intact(&got) && got.id == 42, "get_req rc %d", rc);
	CHECK(xsh_ring_back_get_req(&p.b, &got) == 0, "request delivered twice");
	mkrsp(&rsp, &got);
	xsh_ring_back_put_rsp(&p.b, &rsp);
	CHECK(xsh_ring_front_get_rsp(&p.f, &back) == 0,
	      "frontend saw an unpublished response");
	xsh_ring_back_push(&p.b);
	rc = xsh_ring_front_get_rsp(&p.f, &back);
	CHECK(rc == 1 && back.id == 42 && rsp_intact(&back), "get_rsp rc %d", rc);
	CHECK(xsh_ring_front_get_rsp(&p.f, &back) == 0, "response delivered twice");
	CHECK(xsh_ring_front_free_slots(&p.f) == p.f.nr_slots,
	      "slot not returned");
out:
	result(!why[0], "single request round trip", "%s", why);
	pair_fini(&p);
}

/* Several full laps of the ring with indices that cross 2^32. */
static void test_wrap(uint32_t start, const char *name)
{
	struct pair p;
	struct xsh_req req;
	struct xsh_rsp rsp;
	char why[160] = "";
	uint64_t next_id = 1, done = 0, total;
	bool crossed = false;
	int rc;

	if (pair_init(&p, 0, start)) {
		result(false, name, "setup failed");
		return;
	}
	total = (uint64_t)p.f.nr_slots * 5 + 3;
	while (done < total) {
		unsigned n = 0, k;

		while (xsh_ring_front_free_slots(&p.f) && next_id <= total &&
		       n < p.f.nr_slots - 1) {
			mkreq(&req, next_id++);
			xsh_ring_front_put_req(&p.f, &req);
			n++;
		}
		xsh_ring_front_push(&p.f);
		for (k = 0; k < n; k++) {
			rc = xsh_ring_back_get_req(&p.b, &req);
			CHECK(rc == 1 && req_intact(&req),
			      "get_req rc %d at req_cons %" PRIu32, rc,
			      p.b.req_cons);
			mkrsp(&rsp, &req);
			xsh_ring_back_put_rsp(&p.b, &rsp);
		}
		CHECK(xsh_ring_back_get_req(&p.b, &req) == 0, "extra request");
		xsh_ring_back_push(&p.b);
		for (k = 0; k < n; k++) {
			rc = xsh_ring_front_get_rsp(&p.f, &rsp);
			CHECK(rc == 1 && rsp.id == done + 1 && rsp_intact(&rsp),
			      "get_rsp rc %d id %" PRIu64 " want %" PRIu64
			      " at rsp_cons %" PRIu32, rc, rsp.id, done + 1,
			      p.f.rsp_cons);
			done++;
		}
		if (p.f.rsp_cons < start)
			crossed = true;
	}
	CHECK(crossed || start == 0, "indices never wrapped");
	CHECK(xsh_ring_front_free_slots(&p.f) == p.f.nr_slots,
	      "free slots %u after all answered",
	      xsh_ring_front_free_slots(&p.f));
out:
	result(!why[0], name, "%s", why);
	pair_fini(&p);
}

static void test_full(uint32_t start, const char *name)
{
	struct pair p;
	struct xsh_req req;
	struct xsh_rsp rsp;
	char why[160] = "";
	unsigned i;
	int rc;

	if (pair_init(&p, 1, start)) {
		result(false, name, "setup failed");
		return;
	}
	for (i = 0; i < p.f.nr_slots; i++) {
		CHECK(xsh_ring_front_free_slots(&p.f) == p.f.nr_slots - i,
		      "free slots %u after %u puts",
		      xsh_ring_front_free_slots(&p.f), i);
		mkreq(&req, i + 1);
		xsh_ring_front_put_req(&p.f, &req);
	}
	CHECK(xsh_ring_front_free_slots(&p.f) == 0, "full ring shows %u free",
	      xsh_ring_front_free_slots(&p.f));
	xsh_ring_front_push(&p.f);
	for (i = 0; i < p.f.nr_slots; i++) {
		rc = xsh_ring_back_get_req(&p.b, &req);
		CHECK(rc == 1 && req.id == i + 1 && req_intact(&req),
		      "request %u: rc %d id %" PRIu64, i, rc, req.id);
	}
	rc = xsh_ring_back_get_req(&p.b, &req);
	CHECK(rc == 0, "backend consumed past nr_slots: rc %d", rc);
	CHECK(p.b.req_cons - p.b.rsp_prod_pvt == p.b.nr_slots,
	      "backend consumed %" PRIu32, p.b.req_cons - p.b.rsp_prod_pvt);
	/* One answer frees exactly one slot. */
	req.id = 1;
	mkreq(&req, 1);
	mkrsp(&rsp, &req);
	xsh_ring_back_put_rsp(&p.b, &rsp);
	xsh_ring_back_push(&p.b);
	CHECK(xsh_ring_front_free_slots(&p.f) == 0,
	      "slot freed before the frontend took the response");
	rc = xsh_ring_front_get_rsp(&p.f, &rsp);
	CHECK(rc == 1 && rsp.id == 1, "get_rsp rc %d", rc);
	CHECK(xsh_ring_front_free_slots(&p.f) == 1, "free slots %u, want 1",
	      xsh_ring_front_free_slots(&p.f));
	mkreq(&req, 1000);
	xsh_ring_front_put_req(&p.f, &req);
	xsh_ring_front_push(&p.f);
	rc = xsh_ring_back_get_req(&p.b, &req);
	CHECK(rc == 1 && req.id == 1000 && req_intact(&req),
	      "request after the ring drained one: rc %d", rc);
	CHECK(xsh_ring_back_get_req(&p.b, &req) == 0, "extra request");
out:
	result(!why[0], name, "%s", why);
	pair_fini(&p);
}

static void test_out_of_order(void)
{
	struct pair p;
	struct xsh_req reqs[XSH_PAGE_SIZE / XSH_SLOT_SIZE * 4];
	struct xsh_req req;
	struct xsh_rsp rsp;
	bool seen[XSH_PAGE_SIZE / XSH_SLOT_SIZE * 4 + 1];
	char why[160] = "";
	unsigned i, n;
	int rc;

	if (pair_init(&p, 2, 0xfffffff0u)) {
		result(false, "out-of-order completion", "setup failed");
		return;
	}
	n = p.f.nr_slots;
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++) {
		/* Ids a frontend might pick: sparse, not index-like. */
		mkreq(&req, 1000003ull * (i + 1));
		xsh_ring_front_put_req(&p.f, &req);
	}
	xsh_ring_front_push(&p.f);
	for (i = 0; i < n; i++) {
		rc = xsh_ring_back_get_req(&p.b, &reqs[i]);
		CHECK(rc == 1, "get_req %u rc %d", i, rc);
	}
	/* Answer in reverse, pushing after every other response. */
	for (i = n; i-- > 0;) {
		mkrsp(&rsp, &reqs[i]);
		xsh_ring_back_put_rsp(&p.b, &rsp);
		if (i % 2 == 0)
			xsh_ring_back_push(&p.b);
	}
	for (i = 0; i < n; i++) {
		uint64_t k;

		rc = xsh_ring_front_get_rsp(&p.f, &rsp);
		CHECK(rc == 1, "get_rsp %u rc %d", i, rc);
		CHECK(rsp.id % 1000003ull == 0 && rsp_intact(&rsp),
		      "response %u carries unknown id %" PRIu64, i, rsp.id);
		k = rsp.id / 1000003ull;
		CHECK(k >= 1 && k <= n && !seen[k], "id %" PRIu64 " %s", rsp.id,
		      k >= 1 && k <= n ? "answered twice" : "out of range");
		seen[k] = true;
		CHECK(k == n - i, "response %u is for request %" PRIu64
		      ", want %u (reverse order)", i, k, n - i);
	}
	CHECK(xsh_ring_front_get_rsp(&p.f, &rsp) == 0, "extra response");
	CHECK(xsh_ring_front_free_slots(&p.f) == n, "slots not all free");
out:
	result(!why[0], "out-of-order completion (reverse answers matched by id)",
	       "%s", why);
	pair_fini(&p);
}

/* A hostile frontend publishes a producer index the ring cannot hold. */
static void test_overflow(uint32_t start, uint32_t ahead, const char *name)
{
	struct pair p;
	struct xsh_req req;
	char why[160] = "";
	int rc;

	if (pair_init(&p, 0, start)) {
		result(false, name, "setup failed");
		return;
	}
	__atomic_store_n(&p.f.hdr->req_prod, start + ahead, __ATOMIC_RELEASE);
	rc = xsh_ring_back_get_req(&p.b, &req);
	CHECK(rc == -EPROTO, "get_req returned %d, want -EPROTO", rc);
	CHECK(p.b.req_cons == start, "backend consumed %" PRIu32
	      " slots of a lying ring", p.b.req_cons - start);
out:
	result(!why[0], name, "%s", why);
	pair_fini(&p);
}

/* Exactly nr_slots outstanding is legal; one more is not, even when the
 * backend already consumed the first nr_slots. */
static void test_overflow_after_full(void)
{
	struct pair p;
	struct xsh_req req;
	char why[160] = "";
	unsigned i;
	int rc;

	if (pair_init(&p, 0, UINT32_MAX - 3)) {
		result(false, "overflow after a full ring is -EPROTO",
		       "setup failed");
		return;
	}
	for (i = 0; i < p.f.nr_slots; i++) {
		mkreq(&req, i + 1);
		xsh_ring_front_put_req(&p.f, &req);
	}
	xsh_ring_front_push(&p.f);
	for (i = 0; i < p.f.nr_slots; i++) {
		rc = xsh_ring_back_get_req(&p.b, &req);
		CHECK(rc == 1, "legal request %u: rc %d", i, rc);
	}
	__atomic_store_n(&p.f.hdr->req_prod, p.f.req_prod_pvt + 1,
			 __ATOMIC_RELEASE);
	rc = xsh_ring_back_get_req(&p.b, &req);
	CHECK(rc == -EPROTO, "get_req returned %d, want -EPROTO", rc);
out:
	result(!why[0], "overflow after a full ring is -EPROTO", "%s", why);
	pair_fini(&p);
}

static void test_notify(void)
{
	struct pair p;
	struct xsh_req req;
	struct xsh_rsp rsp;
	char why[160] = "";
	bool n;

	if (pair_init(&p, 0, UINT32_MAX - 1)) {
		result(false, "notification suppression", "setup failed");
		return;
	}
	/* Requests. */
	mkreq(&req, 1);
	xsh_ring_front_put_req(&p.f, &req);
	n = xsh_ring_front_push(&p.f);
	CHECK(n, "first request on an armed ring did not ask to notify");
	mkreq(&req, 2);
	xsh_ring_front_put_req(&p.f, &req);
	n = xsh_ring_front_push(&p.f);
	CHECK(!n, "second request notified though the backend is not armed");
	CHECK(!xsh_ring_front_push(&p.f), "empty push asked to notify");
	CHECK(xsh_ring_back_get_req(&p.b, &req) == 1 &&
	      xsh_ring_back_get_req(&p.b, &req) == 1 &&
	      xsh_ring_back_get_req(&p.b, &req) == 0, "drain failed");
	CHECK(!xsh_ring_back_final_check(&p.b),
	      "final_check on a drained ring reported more");
	mkreq(&req, 3);
	xsh_ring_front_put_req(&p.f, &req);
	mkreq(&req, 4);
	xsh_ring_front_put_req(&p.f, &req);
	n = xsh_ring_front_push(&p.f);
	CHECK(n, "batch after the backend re-armed did not notify");
	/* The race final_check exists for: requests published after the
	 * backend drained but before it re-armed. */
	CHECK(xsh_ring_back_get_req(&p.b, &req) == 1 &&
	      xsh_ring_back_get_req(&p.b, &req) == 1, "drain failed");
	mkreq(&req, 5);
	xsh_ring_front_put_req(&p.f, &req);
	n = xsh_ring_front_push(&p.f);
	CHECK(!n, "notified a backend that is still draining");
	CHECK(xsh_ring_back_final_check(&p.b),
	      "final_check missed a request published while draining");
	CHECK(xsh_ring_back_get_req(&p.b, &req) == 1 && req.id == 5,
	      "request 5 not delivered");
	CHECK(!xsh_ring_back_final_check(&p.b), "final_check reported phantom");

	/* Responses: the frontend armed rsp_event at start + 1. */
	mkrsp(&rsp, &(struct xsh_req){ .id = 1, .nodeid = 10 });
	xsh_ring_back_put_rsp(&p.b, &rsp);
	n = xsh_ring_back_push(&p.b);
	CHECK(n, "first response did not ask to notify");
	xsh_ring_back_put_rsp(&p.b, &rsp);
	n = xsh_ring_back_push(&p.b);
	CHECK(!n, "second response notified an unarmed frontend");
	CHECK(!xsh_ring_back_push(&p.b), "empty push asked to notify");
	CHECK(xsh_ring_front_get_rsp(&p.f, &rsp) == 1 &&
	      xsh_ring_front_get_rsp(&p.f, &rsp) == 1 &&
	      xsh_ring_front_get_rsp(&p.f, &rsp) == 0, "response drain failed");
	CHECK(!xsh_ring_front_final_check(&p.f),
	      "frontend final_check on a drained ring reported more");
	xsh_ring_back_put_rsp(&p.b, &rsp);
	n = xsh_ring_back_push(&p.b);
	CHECK(n, "response after the frontend re-armed did not notify");
	CHECK(xsh_ring_front_get_rsp(&p.f, &rsp) == 1, "response lost");
	xsh_ring_back_put_rsp(&p.b, &rsp);
	n = xsh_ring_back_push(&p.b);
	CHECK(!n, "notified a frontend that is still draining");
	CHECK(xsh_ring_front_final_check(&p.f),
	      "frontend final_check missed a response");
	CHECK(xsh_ring_front_get_rsp(&p.f, &rsp) == 1, "response lost");
	CHECK(xsh_ring_front_get_rsp(&p.f, &rsp) == 0, "extra response");
out:
	result(!why[0], "notification suppression and final_check", "%s", why);
	pair_fini(&p);
}

/* A broken backend publishes more responses than requests outstanding,
 * or moves rsp_prod backwards. */
static void test_rsp_lies(void)
{
	static const struct { int32_t delta; const char *what; } cases[] = {
		{ 3, "one more response than outstanding" },
		{ 1000, "rsp_prod far ahead" },
		{ -1, "rsp_prod moved backwards" },
		{ INT32_MIN, "rsp_prod half the index space away" },
	};
	struct pair p;
	struct xsh_req req;
	struct xsh_rsp rsp;
	char name[128], why[160];
	unsigned i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = 0;
		snprintf(name, sizeof(name),
			 "broken backend response index is -EPROTO (%s)",
			 cases[i].what);
		if (pair_init(&p, 0, UINT32_MAX)) {
			result(false, name, "setup failed");
			continue;
		}
		mkreq(&req, 1);
		xsh_ring_front_put_req(&p.f, &req);
		mkreq(&req, 2);
		xsh_ring_front_put_req(&p.f, &req);
		xsh_ring_front_push(&p.f);
		__atomic_store_n(&p.f.hdr->rsp_prod,
				 p.f.rsp_cons + (uint32_t)cases[i].delta,
				 __ATOMIC_RELEASE);
		rc = xsh_ring_front_get_rsp(&p.f, &rsp);
		CHECK(rc == -EPROTO, "get_rsp returned %d", rc);
		CHECK(p.f.rsp_cons == UINT32_MAX, "frontend consumed a lie");
out:
		result(!why[0], name, "%s", why);
		pair_fini(&p);
	}
	/* Exactly the outstanding count is fine. */
	why[0] = 0;
	if (pair_init(&p, 0, 0)) {
		result(false, "backend answering all outstanding is accepted",
		       "setup failed");
		return;
	}
	mkreq(&req, 1);
	xsh_ring_front_put_req(&p.f, &req);
	xsh_ring_front_push(&p.f);
	__atomic_store_n(&p.f.hdr->rsp_prod, 1, __ATOMIC_RELEASE);
	rc = xsh_ring_front_get_rsp(&p.f, &rsp);
	result(rc == 1, "backend answering all outstanding is accepted",
	       "get_rsp returned %d", rc);
	pair_fini(&p);
}

/* ---- two threads ------------------------------------------------------ */

#define THREAD_OPS	200000u
#define WAIT_MS		5000

struct duo {
	struct pair p;
	int req_efd;	/* frontend -> backend */
	int rsp_efd;	/* backend -> frontend */
	uint64_t total;
	char err[160];	/* first failure, set by either thread */
	pthread_mutex_t lock;
	uint64_t notifies[2];
};

static void duo_fail(struct duo *d, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&d->lock);
	if (!d->err[0]) {
		va_start(ap, fmt);
		vsnprintf(d->err, sizeof(d->err), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&d->lock);
}

static bool duo_failed(struct duo *d)
{
	bool f;

	pthread_mutex_lock(&d->lock);
	f = d->err[0] != 0;
	pthread_mutex_unlock(&d->lock);
	return f;
}

static int wait_efd(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t v;
	int rc;

	rc = poll(&pfd, 1, WAIT_MS);
	if (rc <= 0)
		return rc < 0 ? -errno : -ETIMEDOUT;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return -EIO;
	return 0;
}

static void kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static void *back_thread(void *arg)
{
	struct duo *d = arg;
	struct xsh_req *batch;
	struct xsh_rsp rsp;
	uint64_t answered = 0;
	unsigned n, i;
	int rc;

	batch = calloc(d->p.b.nr_slots, sizeof(*batch));
	if (!batch) {
		duo_fail(d, "out of memory");
		return NULL;
	}
	while (answered < d->total && !duo_failed(d)) {
		n = 0;
		while ((rc = xsh_ring_back_get_req(&d->p.b, &batch[n])) == 1) {
			if (!req_intact(&batch[n])) {
				duo_fail(d, "torn request id %" PRIu64,
					 batch[n].id);
				goto out;
			}
			if (++n == d->p.b.nr_slots)
				break;
		}
		if (rc < 0) {
			duo_fail(d, "backend get_req %d", rc);
			break;
		}
		if (n) {
			for (i = n; i-- > 0;) {
				mkrsp(&rsp, &batch[i]);
				xsh_ring_back_put_rsp(&d->p.b, &rsp);
			}
			if (xsh_ring_back_push(&d->p.b)) {
				d->notifies[1]++;
				kick(d->rsp_efd);
			}
			answered += n;
			continue;
		}
		if (xsh_ring_back_final_check(&d->p.b))
			continue;
		rc = wait_efd(d->req_efd);
		if (rc) {
			duo_fail(d, "backend lost a wakeup after %" PRIu64
				 " answers (%d)", answered, rc);
			break;
		}
	}
out:
	free(batch);
	return NULL;
}

static void *front_thread(void *arg)
{
	struct duo *d = arg;
	struct xsh_req req;
	struct xsh_rsp rsp;
	uint64_t sent = 0, got = 0, sum_ids = 0;
	uint8_t *seen;
	bool progress;
	int rc;

	seen = calloc(d->total + 1, 1);
	if (!seen) {
		duo_fail(d, "out of memory");
		return NULL;
	}
	while (got < d->total && !duo_failed(d)) {
		progress = false;
		while (sent < d->total && xsh_ring_front_free_slots(&d->p.f)) {
			mkreq(&req, ++sent);
			xsh_ring_front_put_req(&d->p.f, &req);
			progress = true;
		}
		if (xsh_ring_front_push(&d->p.f)) {
			d->notifies[0]++;
			kick(d->req_efd);
		}
		while ((rc = xsh_ring_front_get_rsp(&d->p.f, &rsp)) == 1) {
			if (!rsp.id || rsp.id > sent || seen[rsp.id] ||
			    !rsp_intact(&rsp)) {
				duo_fail(d, "bad response id %" PRIu64, rsp.id);
				goto out;
			}
			seen[rsp.id] = 1;
			sum_ids += rsp.id;
			got++;
			progress = true;
		}
		if (rc < 0) {
			duo_fail(d, "frontend get_rsp %d", rc);
			break;
		}
		if (progress || xsh_ring_front_final_check(&d->p.f))
			continue;
		rc = wait_efd(d->rsp_efd);
		if (rc) {
			duo_fail(d, "frontend lost a wakeup after %" PRIu64
				 " responses (%d)", got, rc);
			break;
		}
	}
	if (!duo_failed(d) && sum_ids != d->total * (d->total + 1) / 2)
		duo_fail(d, "id sum mismatch");
out:
	free(seen);
	return NULL;
}

static void test_threads(unsigned order, uint32_t start, const char *name)
{
	struct duo d;
	pthread_t ft, bt;

	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.lock, NULL);
	d.total = THREAD_OPS;
	d.req_efd = eventfd(0, EFD_CLOEXEC);
	d.rsp_efd = eventfd(0, EFD_CLOEXEC);
	if (d.req_efd < 0 || d.rsp_efd < 0 || pair_init(&d.p, order, start)) {
		result(false, name, "setup failed");
		goto out;
	}
	if (pthread_create(&bt, NULL, back_thread, &d)) {
		result(false, name, "pthread_create failed");
		goto out;
	}
	if (pthread_create(&ft, NULL, front_thread, &d)) {
		duo_fail(&d, "pthread_create failed");
		pthread_join(bt, NULL);
		result(false, name, "pthread_create failed");
		goto out;
	}
	pthread_join(ft, NULL);
	pthread_join(bt, NULL);
	result(!d.err[0], name, "%s", d.err);
	if (!d.err[0])
		printf("# %s: %" PRIu64 " ops, %" PRIu64 " request and %"
		       PRIu64 " response notifications\n", name, d.total,
		       d.notifies[0], d.notifies[1]);
out:
	pair_fini(&d.p);
	if (d.req_efd >= 0)
		close(d.req_efd);
	if (d.rsp_efd >= 0)
		close(d.rsp_efd);
	pthread_mutex_destroy(&d.lock);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_nr_slots();
	test_roundtrip();
	test_wrap(0, "five laps from index 0");
	test_wrap(UINT32_MAX - 20, "wrap-around past 2^32 (start near UINT32_MAX)");
	test_wrap(UINT32_MAX, "wrap-around starting at UINT32_MAX");
	test_full(0, "full ring: no free slots, backend stops at nr_slots");
	test_full(UINT32_MAX - 5,
		  "full ring across 2^32: no free slots, backend stops at nr_slots");
	test_out_of_order();
	test_overflow(0, 17, "producer index nr_slots + 1 ahead is -EPROTO");
	test_overflow(UINT32_MAX - 2, 1u << 31,
		      "producer index 2^31 ahead (wrapping) is -EPROTO");
	test_overflow(100, (uint32_t)-1, "producer index moved backwards is -EPROTO");
	test_overflow_after_full();
	test_notify();
	test_rsp_lies();
	test_threads(0, UINT32_MAX - 1000,
		     "two threads, 16-slot ring across 2^32, no lost wakeup");
	test_threads(2, 0, "two threads, 64-slot ring, no lost wakeup");
	return tap_summary();
}
