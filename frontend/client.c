// SPDX-License-Identifier: MIT
/*
 * The frontend's request client (see client.h for the data area layout).
 *
 * Every ring has nr_slots waiters ("tags").  A caller takes a free tag,
 * which guarantees a free ring slot (a tag stays taken from submission
 * until its caller releases the output, longer than the ring slot is
 * used), fills the tag's private copy of the request, puts it on the ring
 * and sleeps on the tag's condition variable.  The request id names the
 * waiter:
 *
 *   id = ring << 48 | tag << 32 | sequence
 *
 * so responses that come back in any order wake the right thread, and a
 * stale or forged id is recognised (the sequence must match the one the
 * tag is waiting for).  One completion thread per ring drains responses,
 * checks each against the private copy of its request, wakes the waiter,
 * acknowledges the notification and checks the ring once more before it
 * sleeps (no lost wake-ups).
 *
 * Reconnect.  A hang-up of the connection moves the client from UP to
 * RECONNECTING and wakes the reconnect thread; callers keep waiting.  That
 * thread:
 *   1. stops the completion threads and takes the responses the old
 *      backend had already put on the rings (it is gone: nothing writes
 *      there any more);
 *   2. calls the transport's reconnect (same shared memory, ring headers
 *      reset) until a backend answers or reconnect_ms have passed;
 *   3. restores the session from the restore table (frontend/restore.h):
 *      REOPEN of every node, then of every open handle, in batches on ring
 *      0, with inputs in the restore page;
 *   4. under every ring lock, puts each in-flight waiter's request back on
 *      its ring (input copied again from the caller, which still waits;
 *      XSH_REQ_RESENT set), completes in-flight FORGET/RELEASE locally (the
 *      restore already reflects them), goes back to UP and opens the gate
 *      for callers that arrived meanwhile;
 *   5. restarts the completion threads.
 * A hang-up during 3 goes back to 2 within the same deadline.  When the
 * deadline passes, the client is lost as before.
 *
 * Trust: the backend's ring indices (ring.c), response ids, lengths and
 * error values (xsh_codec_check_rsp, out_len) are checked before use; a
 * violation is a lost backend, never a crash or a read outside our
 * buffers.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "protocol/codec.h"
#include "protocol/ring.h"
#include "transport/local.h"
#include "client.h"
#include "restore.h"

#define LARGE_SIZE	XSH_MAX_IO
/* REOPENs in flight at once: one input of XSH_HANDLE_MAX per slice of the
 * restore page. */
#define RESTORE_BATCH	(XSH_PAGE_SIZE / XSH_HANDLE_MAX)
/* The tag field of restore request ids: above every real tag. */
#define RESTORE_TAG	0xffffull
#define RETRY_MS	100
#define ATTEMPT_MS	1000
/* How long a caller watches its ring for the response before it sleeps
 * (on machines with more than one CPU): an answer within it is taken by
 * the caller itself, without the two wake-ups of the completion thread
 * and of the caller. */
#define SPIN_NS		50000L

enum wstate {
	W_FREE,		/* on the ring's free list */
	W_FILLING,	/* taken, request being written */
	W_INFLIGHT,	/* on the ring, response not consumed */
	W_DONE,		/* response in w->rsp, caller not yet woken */
	W_HELD,		/* caller reads the output */
};

enum cstate {
	C_UP,
	C_RECONNECTING,	/* calls wait at the gate; in-flight ones wait */
};

struct waiter {
	/* All fields: the ring's lock, except req/large/out_cap, which the
	 * owning caller writes in W_FILLING only. */
	struct xsh_req req;	/* private copy of the slot */
	struct xsh_rsp rsp;
	struct xsh_call *call;	/* the caller's input, for a resend */
	pthread_cond_t cond;
	enum wstate state;
	int large;		/* large buffer index, or -1 */
	uint32_t out_cap;
	uint32_t tag;
	bool orphan;		/* interrupted caller gone: free on answer */
	struct cring *ring;
};

struct cring {
	struct xsh_client *c;
	unsigned idx;
	pthread_mutex_t lock;	/* both sides of the ring, the waiters */
	pthread_cond_t tag_free;
	pthread_cond_t gate;	/* lock: the client is up again, or lost */
	struct xsh_ring ring;
	struct waiter *w;	/* nr_slots */
	uint32_t *free_tags;	/* stack of nr_free tags */
	unsigned nr_free;	/* written under lock, read as a hint */
	uint32_t seq;
	pthread_t thread;
	bool thread_started;	/* owned by whoever starts and joins */
};

struct xsh_client {
	struct xsh_tport *t;
	char *peer;		/* for messages: socket path or transport name */
	unsigned nr_rings;
	unsigned nr_slots;
	unsigned nr_large;
	size_t large_off;	/* where the large buffers start */
	size_t restore_off;	/* the restore page */
	struct cring ring[XSH_MAX_RINGS];

	pthread_mutex_t large_lock;	/* large_free, nr_large_free */
	pthread_cond_t large_cond;
	int *large_free;
	unsigned nr_large_free;

	int max_spinners;	/* callers watching for their response at
				 * once: one CPU fewer than there are (the
				 * backend needs one), 0 on one CPU */
	int spinners;		/* atomic */
	int stop_fd;		/* eventfd: completion threads exit */
	int lost;		/* atomic */
	int state;		/* atomic, enum cstate; back to C_UP only
				 * under every ring lock */
	unsigned next_ring;	/* atomic, round robin fallback */
	pthread_mutex_t lost_lock;	/* lost_fn, lost_arg, log_fn, log_arg */
	xsh_client_lost_fn lost_fn;
	void *lost_arg;
	xsh_client_log_fn log_fn;
	void *log_arg;

	struct xsh_restore *rs;
	int reconnect_ms;
	uint32_t max_io;	/* of the first connection */
	uint64_t features;

	pthread_mutex_t rc_lock;	/* rc_*, stats */
	pthread_cond_t rc_cond;
	bool rc_kick;
	bool rc_exit;
	char rc_reason[96];
	pthread_t rc_thread;
	bool rc_started;
	struct xsh_client_stats stats;
};

unsigned xsh_client_data_pages(unsigned nr_rings, unsigned ring_order,
			      unsigned nr_large)
{
	size_t slots = xsh_ring_nr_slots((size_t)XSH_PAGE_SIZE << ring_order);

	return (unsigned)(nr_rings * slots +
			  (size_t)nr_large * (LARGE_SIZE / XSH_PAGE_SIZE) + 1);
}

const struct xsh_tport *xsh_client_tport(const struct xsh_client *c)
{
	return c->t;
}

bool xsh_client_lost(const struct xsh_client *c)
{
	return __atomic_load_n(&c->lost, __ATOMIC_ACQUIRE);
}

static int cstate(const struct xsh_client *c)
{
	return __atomic_load_n(&c->state, __ATOMIC_ACQUIRE);
}

void xsh_client_set_lost_handler(struct xsh_client *c, xsh_client_lost_fn fn,
				void *arg)
{
	pthread_mutex_lock(&c->lost_lock);
	c->lost_fn = fn;
	c->lost_arg = arg;
	pthread_mutex_unlock(&c->lost_lock);
}

void xsh_client_set_log_handler(struct xsh_client *c, xsh_client_log_fn fn,
			       void *arg)
{
	pthread_mutex_lock(&c->lost_lock);
	c->log_fn = fn;
	c->log_arg = arg;
	pthread_mutex_unlock(&c->lost_lock);
}

static void client_log(struct xsh_client *c, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void client_log(struct xsh_client *c, int prio, const char *fmt, ...)
{
	char line[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&c->lost_lock);
	if (c->log_fn)
		c->log_fn(c->log_arg, prio, line);
	else
		fprintf(stderr, "xenshare-front: %s\n", line);
	pthread_mutex_unlock(&c->lost_lock);
}

void xsh_client_get_stats(struct xsh_client *c, struct xsh_client_stats *out)
{
	pthread_mutex_lock(&c->rc_lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->rc_lock);
}

/* Wake every caller wherever it sleeps.  Callers test what they wait
 * for (c->lost, an interrupt) under the lock they sleep with, so taking
 * each lock before the broadcast loses no wake-up. */
static void wake_all(struct xsh_client *c)
{
	unsigned i, k;

	for (i = 0; i < c->nr_rings; i++) {
		struct cring *r = &c->ring[i];

		pthread_mutex_lock(&r->lock);
		pthread_cond_broadcast(&r->tag_free);
		pthread_cond_broadcast(&r->gate);
		for (k = 0; k < c->nr_slots; k++)
			pthread_cond_broadcast(&r->w[k].cond);
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_lock(&c->large_lock);
	pthread_cond_broadcast(&c->large_cond);
	pthread_mutex_unlock(&c->large_lock);
}

static bool interrupted(const struct xsh_call *call)
{
	return __atomic_load_n(&call->interrupted, __ATOMIC_ACQUIRE);
}

void xsh_client_interrupt(struct xsh_client *c, struct xsh_call *call)
{
	__atomic_store_n(&call->interrupted, 1, __ATOMIC_RELEASE);
	wake_all(c);
}

void xsh_client_fail(struct xsh_client *c, const char *reason)
{
	uint64_t one = 1;

	if (__atomic_exchange_n(&c->lost, 1, __ATOMIC_ACQ_REL))
		return;
	wake_all(c);
	if (write(c->stop_fd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow from one write per event. */
	}

	pthread_mutex_lock(&c->lost_lock);
	if (c->lost_fn)
		c->lost_fn(c->lost_arg, reason);
	else
		fprintf(stderr, "xenshare-front: lost connection to backend "
			"at %s: %s\n", c->peer, reason);
	pthread_mutex_unlock(&c->lost_lock);
}

/* The connection went away: reconnect if we may, else the backend is
 * lost.  From a completion thread, which then exits. */
static void conn_broken(struct xsh_client *c, const char *reason)
{
	int up = C_UP;

	if (!c->reconnect_ms || !c->t->ops->reconnect) {
		xsh_client_fail(c, reason);
		return;
	}
	if (!__atomic_compare_exchange_n(&c->state, &up, C_RECONNECTING,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&c->rc_lock);
	c->rc_kick = true;
	snprintf(c->rc_reason, sizeof(c->rc_reason), "%s", reason);
	pthread_cond_signal(&c->rc_cond);
	pthread_mutex_unlock(&c->rc_lock);
}

/* ---- large buffers ----------------------------------------------------- */

/* A large buffer; -EIO when the backend is lost, -EINTR when the call
 * was interrupted while none was free. */
static int large_get(struct xsh_client *c, const struct xsh_call *call)
{
	int idx = -EIO;

	pthread_mutex_lock(&c->large_lock);
	while (!xsh_client_lost(c) && c->nr_large_free == 0 &&
	       !interrupted(call))
		pthread_cond_wait(&c->large_cond, &c->large_lock);
	if (!xsh_client_lost(c))
		idx = c->nr_large_free ? c->large_free[--c->nr_large_free] :
					 -EINTR;
	pthread_mutex_unlock(&c->large_lock);
	return idx;
}

static void large_put(struct xsh_client *c, int idx)
{
	if (idx < 0)
		return;
	pthread_mutex_lock(&c->large_lock);
	c->large_free[c->nr_large_free++] = idx;
	pthread_cond_signal(&c->large_cond);
	pthread_mutex_unlock(&c->large_lock);
}

/* ---- tags -------------------------------------------------------------- */

static struct cring *pick_ring(struct xsh_client *c)
{
	unsigned i, first;
	int cpu;

	if (c->nr_rings == 1)
		return &c->ring[0];
	cpu = sched_getcpu();
	if (cpu >= 0)
		first = (unsigned)cpu % c->nr_rings;
	else
		first = __atomic_fetch_add(&c->next_ring, 1, __ATOMIC_RELAXED) %
			c->nr_rings;
	/* Prefer this CPU's ring; spill over to any ring with a free tag. */
	for (i = 0; i < c->nr_rings; i++) {
		struct cring *r = &c->ring[(first + i) % c->nr_rings];

		if (__atomic_load_n(&r->nr_free, __ATOMIC_RELAXED))
			return r;
	}
	return &c->ring[first];
}

/* Caller holds r->lock. */
static void tag_put(struct cring *r, struct waiter *w)
{
	w->state = W_FREE;
	w->call = NULL;
	r->free_tags[r->nr_free] = w->tag;
	__atomic_store_n(&r->nr_free, r->nr_free + 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&r->tag_free);
}

/* A free tag of r; NULL with *err -EIO (lost), -EINTR (interrupted
 * while none was free) or -EAGAIN (none free and nowait). */
static struct waiter *tag_get(struct cring *r, const struct xsh_call *call,
			      bool nowait, int *err)
{
	struct xsh_client *c = r->c;
	struct waiter *w = NULL;

	pthread_mutex_lock(&r->lock);
	while (!xsh_client_lost(c) && r->nr_free == 0 && !interrupted(call) &&
	       !nowait)
		pthread_cond_wait(&r->tag_free, &r->lock);
	*err = xsh_client_lost(c) ? -EIO : nowait ? -EAGAIN : -EINTR;
	if (!xsh_client_lost(c) && r->nr_free) {
		__atomic_store_n(&r->nr_free, r->nr_free - 1, __ATOMIC_RELAXED);
		w = &r->w[r->free_tags[r->nr_free]];
		w->state = W_FILLING;
	}
	pthread_mutex_unlock(&r->lock);
	return w;
}

/* ---- calls ------------------------------------------------------------- */

/* Caller holds r->lock.  The answer of an abandoned call came (or never
 * will): its tag and buffer come back now, once. */
static void orphan_free(struct cring *r, struct waiter *w)
{
	int large = w->large;

	w->orphan = false;
	w->large = -1;
	tag_put(r, w);
	large_put(r->c, large);
}

/* Requests that change nothing and hand out nothing: an interrupted
 * caller gets EINTR at once and leaves its tag to the answer. */
static bool may_abandon(const struct xsh_req *req)
{
	const struct xsh_op_desc *d = xsh_op_desc(req->opcode);

	return d && d->right == XSH_RIGHT_READ &&
	       !(d->flags & (XSH_OPF_ENTRY | XSH_OPF_OPENS |
			     XSH_OPF_OPENS_DIR | XSH_OPF_DIRENTS_PLUS |
			     XSH_OPF_FORGETS | XSH_OPF_RELEASES));
}

static const uint16_t cancel_op = XSH_OP_CANCEL;

static bool is_cancel(uint16_t opcode)
{
	return opcode == cancel_op;
}

static void waiter_release(struct waiter *w)
{
	struct cring *r = w->ring;
	int large = w->large;

	pthread_mutex_lock(&r->lock);
	w->large = -1;
	tag_put(r, w);
	pthread_mutex_unlock(&r->lock);
	large_put(r->c, large);
}

void xsh_client_release(struct xsh_call *call)
{
	if (!call->priv)
		return;
	waiter_release(call->priv);
	call->priv = NULL;
	call->out = NULL;
}

/* Replies that carry a persistent handle need room for it. */
static uint32_t out_cap_for(const struct xsh_call *call)
{
	if (!(xsh_op_flags(call->req.opcode) & XSH_OPF_ENTRY))
		return call->out_cap;
	return call->out_cap > XSH_HANDLE_MAX ? call->out_cap : XSH_HANDLE_MAX;
}

/* The caller's input, copied (again) into its buffer. */
static void copy_input(struct xsh_client *c, const struct waiter *w)
{
	uint8_t *buf = (uint8_t *)c->t->data + w->req.buf_off;
	const struct xsh_call *call = w->call;

	if (call->in_len)
		memcpy(buf, call->in, call->in_len);
	if (call->in2_len)
		memcpy(buf + call->in_len, call->in2, call->in2_len);
}

static int drain_locked(struct cring *r, const char **why);

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Watch ring r for up to SPIN_NS and take what arrives (the same as the
 * completion thread's drain; the completion thread still acknowledges
 * the notification and re-arms rsp_event, so no wake-up is lost).  Only
 * while the client is up: a reconnect owns the rings' responses. */
static void spin_wait(struct cring *r, struct waiter *w)
{
	struct xsh_client *c = r->c;
	long deadline = now_ns() + SPIN_NS;
	uint32_t seen = xsh_ring_front_rsp_prod(&r->ring) - 1;
	const char *why = NULL;
	bool done;
	int rc;

	for (;;) {
		uint32_t prod = xsh_ring_front_rsp_prod(&r->ring);

		if (prod != seen) {
			seen = prod;
			pthread_mutex_lock(&r->lock);
			rc = cstate(c) == C_UP ? drain_locked(r, &why) : 0;
			done = w->state != W_INFLIGHT || cstate(c) != C_UP;
			pthread_mutex_unlock(&r->lock);
			if (rc) {
				xsh_client_fail(c, why);
				return;
			}
			if (done)
				return;
		}
		if (now_ns() > deadline || xsh_client_lost(c))
			return;
		cpu_relax();
	}
}

static int call_on(struct xsh_client *c, struct xsh_call *call,
		   struct cring *ring);

/* Ask the backend to take back request id of ring r, which an
 * interrupted caller waits for; its answer comes to that caller.  Only
 * if a tag is free and the client is up: callers that wait here for a
 * tag could hold every tag of the ring. */
static void send_cancel(struct xsh_client *c, struct cring *r, uint64_t id)
{
	struct xsh_call k;

	memset(&k, 0, sizeof(k));
	k.req.opcode = cancel_op;
	k.req.a.cancel.id = id;
	call_on(c, &k, r);
	xsh_client_release(&k);
}

int xsh_client_call(struct xsh_client *c, struct xsh_call *call)
{
	return call_on(c, call, NULL);
}

/* xsh_client_call() on ring; NULL: the caller's ring, else without
 * waiting for a tag or the gate (-EAGAIN). */
static int call_on(struct xsh_client *c, struct xsh_call *call,
		   struct cring *ring)
{
	uint64_t in_total = (uint64_t)call->in_len + call->in2_len;
	uint32_t out_cap = out_cap_for(call);
	uint64_t need = in_total > out_cap ? in_total : out_cap;
	bool notify, intr_seen = false;
	struct waiter *w;
	struct cring *r;
	uint32_t off, len, seq;
	int large = -1, err;

	call->priv = NULL;
	call->out = NULL;
	if (need > LARGE_SIZE)
		return -EINVAL;
	if (xsh_client_lost(c))
		return -EIO;
	if (need > XSH_PAGE_SIZE) {
		large = large_get(c, call);
		if (large < 0)
			return large;
	}
	r = ring ? ring : pick_ring(c);
	w = tag_get(r, call, ring != NULL, &err);
	if (!w) {
		large_put(c, large);
		return err;
	}

	if (large >= 0) {
		off = (uint32_t)(c->large_off + (size_t)large * LARGE_SIZE);
		len = LARGE_SIZE;
	} else {
		off = (r->idx * c->nr_slots + w->tag) * XSH_PAGE_SIZE;
		len = XSH_PAGE_SIZE;
	}

	w->large = large;
	w->out_cap = out_cap;
	w->call = call;
	w->req = call->req;
	w->req.flags = 0;
	w->req.pad = 0;
	w->req.buf_off = off;
	w->req.buf_len = len;
	w->req.in_len = (uint32_t)in_total;
	copy_input(c, w);

	pthread_mutex_lock(&r->lock);
	while (cstate(c) == C_RECONNECTING && !xsh_client_lost(c) &&
	       !interrupted(call) && !ring)
		pthread_cond_wait(&r->gate, &r->lock);
	/* Not sent yet: an interrupt simply fails it. */
	if (xsh_client_lost(c) || interrupted(call) ||
	    cstate(c) == C_RECONNECTING) {
		err = xsh_client_lost(c) ? -EIO : ring ? -EAGAIN : -EINTR;
		w->large = -1;
		tag_put(r, w);
		pthread_mutex_unlock(&r->lock);
		large_put(c, large);
		return err;
	}
	seq = ++r->seq;
	w->req.id = (uint64_t)r->idx << 48 | (uint64_t)w->tag << 32 | seq;
	/* A taken tag implies a free slot (see the file comment). */
	if (!xsh_ring_front_free_slots(&r->ring))
		abort();
	xsh_restore_note_send(c->rs, &w->req, call->in, call->in_len);
	xsh_ring_front_put_req(&r->ring, &w->req);
	w->state = W_INFLIGHT;
	notify = xsh_ring_front_push(&r->ring);
	pthread_mutex_unlock(&r->lock);

	if (notify && xsh_tport_notify(c->t, r->idx) < 0)
		xsh_client_fail(c, "cannot notify the backend");
	if (c->max_spinners > 0) {
		if (__atomic_fetch_add(&c->spinners, 1, __ATOMIC_RELAXED) <
		    c->max_spinners)
			spin_wait(r, w);
		__atomic_fetch_sub(&c->spinners, 1, __ATOMIC_RELAXED);
	}

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (w->state == W_INFLIGHT && !xsh_client_lost(c) &&
		       (intr_seen || !interrupted(call)))
			pthread_cond_wait(&w->cond, &r->lock);
		if (w->state != W_INFLIGHT || xsh_client_lost(c))
			break;
		/* Interrupted on the ring.  What changes nothing ends now;
		 * anything else is the backend's to take back (CANCEL) or to
		 * finish, and its real answer is the caller's. */
		intr_seen = true;
		if (may_abandon(&w->req)) {
			w->orphan = true;
			w->call = NULL;
			pthread_mutex_unlock(&r->lock);
			return -EINTR;
		}
		if ((c->features & XSH_FEAT_CANCEL) && !is_cancel(w->req.opcode) &&
		    !(w->req.flags & XSH_REQ_RESENT)) {
			uint64_t id = w->req.id;

			pthread_mutex_unlock(&r->lock);
			send_cancel(c, r, id);
			pthread_mutex_lock(&r->lock);
		}
	}
	if (w->state != W_DONE) {
		w->large = -1;
		tag_put(r, w);
		pthread_mutex_unlock(&r->lock);
		large_put(c, large);
		return -EIO;
	}
	call->rsp = w->rsp;
	w->state = W_HELD;
	pthread_mutex_unlock(&r->lock);

	call->priv = w;
	if (call->rsp.error) {
		xsh_client_release(call);
		return -call->rsp.error;
	}
	call->out = (uint8_t *)c->t->data + off;
	return 0;
}

/* ---- completion -------------------------------------------------------- */

/* Account a successful reply in the restore table, from a private copy of
 * its output.  Caller holds the ring's lock. */
static void note_reply(struct xsh_client *c, const struct waiter *w,
		       const struct xsh_rsp *rsp)
{
	uint8_t small[XSH_HANDLE_MAX];
	struct xsh_rsp r = *rsp;
	void *copy = NULL;

	if (xsh_restore_wants_output(w->req.opcode) && r.out_len) {
		copy = r.out_len <= sizeof(small) ? small : malloc(r.out_len);
		if (copy)
			memcpy(copy, (const uint8_t *)c->t->data +
			       w->req.buf_off, r.out_len);
		else
			r.out_len = 0;
	}
	xsh_restore_note_reply(c->rs, &w->req, &r, copy);
	if (copy != small)
		free(copy);
}

/* Caller holds r->lock.  0, or -EPROTO with *why set. */
static int complete_one(struct cring *r, const struct xsh_rsp *rsp,
			const char **why)
{
	struct xsh_client *c = r->c;
	uint32_t tag = (uint32_t)(rsp->id >> 32) & 0xffff;
	struct waiter *w;

	if ((rsp->id >> 48) != r->idx || tag >= c->nr_slots) {
		*why = "response with an unknown id";
		return -EPROTO;
	}
	w = &r->w[tag];
	if (w->state != W_INFLIGHT || w->req.id != rsp->id) {
		*why = "response with an unknown id";
		return -EPROTO;
	}
	if (xsh_codec_check_rsp(&w->req, rsp)) {
		*why = "malformed response";
		return -EPROTO;
	}
	if (rsp->error == 0 && rsp->out_len > w->out_cap) {
		*why = "response longer than asked for";
		return -EPROTO;
	}
	if (w->orphan) {
		orphan_free(r, w);
		return 0;
	}
	if (rsp->error == 0)
		note_reply(c, w, rsp);
	w->rsp = *rsp;
	w->state = W_DONE;
	pthread_cond_signal(&w->cond);
	return 0;
}

/* Caller holds r->lock.  0, or an error with *why set. */
static int drain_locked(struct cring *r, const char **why)
{
	struct xsh_rsp rsp;
	int rc = 0, got;

	for (;;) {
		got = xsh_ring_front_get_rsp(&r->ring, &rsp);
		if (got < 0) {
			*why = "backend broke the ring protocol";
			rc = got;
			break;
		}
		if (got == 0)
			break;
		rc = complete_one(r, &rsp, why);
		if (rc)
			break;
	}
	return rc;
}

static int drain(struct cring *r, const char **why)
{
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = drain_locked(r, why);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static void *completion_main(void *arg)
{
	struct cring *r = arg;
	struct xsh_client *c = r->c;
	struct pollfd pfd[3];
	const char *why = NULL;
	char reason[96];
	bool more;
	int rc;

	pfd[0].fd = c->t->ring_fd[r->idx];
	pfd[0].events = POLLIN;
	pfd[1].fd = c->t->conn_fd;
	pfd[1].events = POLLIN | POLLRDHUP;
	pfd[2].fd = c->stop_fd;
	pfd[2].events = POLLIN;

	while (!xsh_client_lost(c)) {
		if (drain(r, &why)) {
			xsh_client_fail(c, why);
			break;
		}
		rc = xsh_tport_ack(c->t, r->idx);
		if (rc < 0) {
			snprintf(reason, sizeof(reason),
				 "ring %u notification: %s", r->idx,
				 strerror(-rc));
			xsh_client_fail(c, reason);
			break;
		}
		pthread_mutex_lock(&r->lock);
		more = xsh_ring_front_final_check(&r->ring);
		pthread_mutex_unlock(&r->lock);
		if (more)
			continue;

		rc = poll(pfd, 3, -1);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			snprintf(reason, sizeof(reason), "poll: %s",
				 strerror(errno));
			xsh_client_fail(c, reason);
			break;
		}
		if (pfd[2].revents)
			break;
		if (pfd[1].revents) {
			conn_broken(c, "backend closed the connection");
			break;
		}
		if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			xsh_client_fail(c, "ring notification channel broken");
			break;
		}
	}
	return NULL;
}

static int start_completion(struct xsh_client *c)
{
	unsigned i;
	int rc;

	for (i = 0; i < c->nr_rings; i++) {
		struct cring *r = &c->ring[i];

		rc = pthread_create(&r->thread, NULL, completion_main, r);
		if (rc)
			return -rc;
		r->thread_started = true;
	}
	return 0;
}

static void stop_completion(struct xsh_client *c)
{
	uint64_t v = 1;
	unsigned i;

	if (write(c->stop_fd, &v, sizeof(v)) < 0) {
		/* Threads also stop when the transport is lost. */
	}
	for (i = 0; i < XSH_MAX_RINGS; i++) {
		if (!c->ring[i].thread_started)
			continue;
		pthread_join(c->ring[i].thread, NULL);
		c->ring[i].thread_started = false;
	}
	/* Reset the eventfd, or new threads would stop at once. */
	if (read(c->stop_fd, &v, sizeof(v)) < 0) {
		/* Nothing was pending. */
	}
}

/* ---- reconnect ----------------------------------------------------------- */

static bool rc_exiting(struct xsh_client *c)
{
	bool e;

	pthread_mutex_lock(&c->rc_lock);
	e = c->rc_exit;
	pthread_mutex_unlock(&c->rc_lock);
	return e;
}

/* One REOPEN, its answer after reopen_batch(). */
struct reop {
	struct xsh_req req;
	const void *in;
	struct xsh_rsp rsp;
	bool done;
};

/* Wait until ring 0 has a response, the connection hangs up or the
 * deadline passes.  0, -EPIPE or -ETIMEDOUT. */
static int wait_ring0(struct xsh_client *c, long deadline)
{
	struct pollfd pfd[2] = {
		{ .fd = c->t->ring_fd[0], .events = POLLIN },
		{ .fd = c->t->conn_fd, .events = POLLIN | POLLRDHUP },
	};
	long left = deadline - xsh_now_ms();
	int rc;

	if (left <= 0)
		return -ETIMEDOUT;
	rc = poll(pfd, 2, left > INT_MAX ? INT_MAX : (int)left);
	if (rc < 0)
		return errno == EINTR ? 0 : -EPIPE;
	if (rc == 0)
		return -ETIMEDOUT;
	if (pfd[1].revents || (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)))
		return -EPIPE;
	return 0;
}

/* Put n (<= RESTORE_BATCH, <= nr_slots) REOPENs on the empty ring 0 and
 * collect their answers.  0; -EPIPE the connection went away; -ETIMEDOUT;
 * -EPROTO the backend broke the protocol. */
static int reopen_batch(struct xsh_client *c, struct reop *v, unsigned n,
			long deadline)
{
	struct cring *r = &c->ring[0];
	uint8_t *page = (uint8_t *)c->t->data + c->restore_off;
	unsigned i, got = 0;
	struct xsh_rsp rsp;
	bool notify, more;
	int rc;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < n; i++) {
		v[i].req.id = RESTORE_TAG << 32 | i;
		v[i].req.buf_off = (uint32_t)(c->restore_off + i * XSH_HANDLE_MAX);
		v[i].req.buf_len = XSH_HANDLE_MAX;
		if (v[i].req.in_len)
			memcpy(page + i * XSH_HANDLE_MAX, v[i].in,
			       v[i].req.in_len);
		v[i].done = false;
		xsh_ring_front_put_req(&r->ring, &v[i].req);
	}
	notify = xsh_ring_front_push(&r->ring);
	pthread_mutex_unlock(&r->lock);
	if (notify && xsh_tport_notify(c->t, 0) < 0)
		return -EPIPE;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		for (;;) {
			rc = xsh_ring_front_get_rsp(&r->ring, &rsp);
			if (rc <= 0)
				break;
			i = (unsigned)(rsp.id & 0xffffffffu);
			rc = -EPROTO;
			if (rsp.id >> 32 != RESTORE_TAG || i >= n || v[i].done ||
			    xsh_codec_check_rsp(&v[i].req, &rsp))
				break;
			v[i].rsp = rsp;
			v[i].done = true;
			got++;
		}
		pthread_mutex_unlock(&r->lock);
		if (rc < 0)
			return -EPROTO;
		if (got == n)
			return 0;
		/* Consume the notification, then look once more. */
		if (xsh_tport_ack(c->t, 0) < 0)
			return -EPIPE;
		pthread_mutex_lock(&r->lock);
		more = xsh_ring_front_final_check(&r->ring);
		pthread_mutex_unlock(&r->lock);
		if (more)
			continue;
		rc = wait_ring0(c, deadline);
		if (rc)
			return rc;
	}
}

struct restore_result {
	uint64_t nodes, handles, nodes_stale, handles_stale;
};

/* REOPEN everything in the restore table.  0, -EPIPE, -ETIMEDOUT,
 * -EPROTO, -ENOMEM. */
static int restore_session(struct xsh_client *c, long deadline,
			   struct restore_result *res)
{
	struct xsh_restore_node *nodes = NULL;
	struct xsh_restore_fh *fhs = NULL;
	struct reop v[RESTORE_BATCH];
	unsigned batch = c->ring[0].ring.nr_slots, k;
	long nn, nf, i, done;
	int rc = 0;

	if (batch > RESTORE_BATCH)
		batch = RESTORE_BATCH;
	memset(res, 0, sizeof(*res));
	nn = xsh_restore_nodes(c->rs, &nodes);
	nf = xsh_restore_fhs(c->rs, &fhs);
	if (nn < 0 || nf < 0) {
		rc = -ENOMEM;
		goto out;
	}
	/* Every node before any handle: a handle is reopened on its node,
	 * and the backend serves a batch in any order. */
	for (done = 0; done < nn + nf && !rc; done += k) {
		long end = done < nn ? nn : nn + nf;

		memset(v, 0, sizeof(v));
		for (k = 0; k < batch && done + k < end; k++) {
			struct xsh_req *q = &v[k].req;

			i = done + k;
			q->opcode = XSH_OP_REOPEN;
			if (i < nn) {
				q->a.reopen.kind = XSH_REOPEN_NODE;
				q->a.reopen.id = nodes[i].id;
				q->a.reopen.nlookup = nodes[i].nlookup;
				q->in_len = nodes[i].hlen;
				v[k].in = nodes[i].h;
			} else {
				q->nodeid = fhs[i - nn].nodeid;
				q->a.reopen.kind = fhs[i - nn].kind;
				q->a.reopen.id = fhs[i - nn].fh;
				q->a.reopen.flags = fhs[i - nn].flags;
			}
		}
		rc = reopen_batch(c, v, k, deadline);
		/* What did not come back stays in the table: the guest still
		 * holds it, and every later session must refuse it too. */
		for (i = 0; i < (long)k && !rc; i++) {
			const struct xsh_rsp *p = &v[i].rsp;
			uint64_t want = v[i].req.a.reopen.id;

			if (done + i < nn) {
				if (!p->error && p->u.entry.nodeid == want)
					res->nodes++;
				else
					res->nodes_stale++;
			} else if (!p->error && p->u.entry.fh == want) {
				res->handles++;
			} else {
				res->handles_stale++;
			}
		}
	}
out:
	free(nodes);
	free(fhs);
	return rc;
}

static int cmp_seq(const void *a, const void *b)
{
	const struct waiter *x = *(struct waiter *const *)a;
	const struct waiter *y = *(struct waiter *const *)b;
	int32_t d = (int32_t)((uint32_t)x->req.id - (uint32_t)y->req.id);

	return d < 0 ? -1 : d > 0;
}

/* Every ring lock held.  Put the in-flight requests of ring r back on it
 * in the order they were sent; complete FORGET and RELEASE(DIR) at once.
 * Returns the number resent; *notify if the backend must be told. */
static unsigned resend_ring(struct cring *r, bool *notify)
{
	struct xsh_client *c = r->c;
	struct waiter *list[512];
	unsigned k, n = 0, sent = 0;

	for (k = 0; k < c->nr_slots && n < sizeof(list) / sizeof(list[0]);
	     k++)
		if (r->w[k].state == W_INFLIGHT)
			list[n++] = &r->w[k];
	qsort(list, n, sizeof(list[0]), cmp_seq);
	for (k = 0; k < n; k++) {
		struct waiter *w = list[k];

		if (w->orphan) {
			orphan_free(r, w);
			continue;
		}
		/* A CANCEL is never resent: its target, resent, may have
		 * been applied by the old backend. */
		if (xsh_restore_send_only(w->req.opcode) ||
		    is_cancel(w->req.opcode)) {
			xsh_codec_rsp_init(&w->rsp, &w->req);
			if (is_cancel(w->req.opcode))
				w->rsp.error = ENOENT;
			w->state = W_DONE;
			pthread_cond_signal(&w->cond);
			continue;
		}
		copy_input(c, w);
		w->req.flags |= XSH_REQ_RESENT;
		xsh_ring_front_put_req(&r->ring, &w->req);
		sent++;
	}
	*notify = sent && xsh_ring_front_push(&r->ring);
	return sent;
}

/* The restored session is up: resend, open the gate, restart the
 * completion threads.  Returns the number of requests resent. */
static unsigned resume(struct xsh_client *c)
{
	bool notify[XSH_MAX_RINGS];
	unsigned i, sent = 0;

	for (i = 0; i < c->nr_rings; i++)
		pthread_mutex_lock(&c->ring[i].lock);
	for (i = 0; i < c->nr_rings; i++)
		sent += resend_ring(&c->ring[i], &notify[i]);
	__atomic_store_n(&c->state, C_UP, __ATOMIC_RELEASE);
	for (i = 0; i < c->nr_rings; i++) {
		pthread_cond_broadcast(&c->ring[i].gate);
		pthread_mutex_unlock(&c->ring[i].lock);
	}
	for (i = 0; i < c->nr_rings; i++)
		if (notify[i] && xsh_tport_notify(c->t, i) < 0)
			break;
	if (start_completion(c))
		xsh_client_fail(c, "cannot restart completion threads");
	return sent;
}

/* Take the responses the old backend left on the rings: those requests
 * need no resend.  A malformed one ends the salvage of its ring. */
static void salvage(struct xsh_client *c)
{
	const char *why;
	unsigned i;

	for (i = 0; i < c->nr_rings; i++)
		drain(&c->ring[i], &why);
}

static void reconnect_run(struct xsh_client *c, const char *reason)
{
	long t0 = xsh_now_ms(), deadline = t0 + c->reconnect_ms, left;
	struct restore_result res = { 0 };
	const char *why = NULL;
	char msg[128];
	unsigned i, sent;
	int rc;

	client_log(c, LOG_WARNING, "lost connection to backend at %s: %s; "
		   "reconnecting for up to %d s", c->peer, reason,
		   (c->reconnect_ms + 999) / 1000);
	stop_completion(c);
	salvage(c);
	for (;;) {
		left = deadline - xsh_now_ms();
		if (xsh_client_lost(c))
			return;
		if (rc_exiting(c)) {
			xsh_client_fail(c, "shutting down while reconnecting");
			return;
		}
		if (left <= 0) {
			why = "no backend came back";
			break;
		}
		rc = xsh_tport_reconnect(c->t, left < ATTEMPT_MS ? (int)left :
					ATTEMPT_MS);
		if (rc == -ENOSYS) {
			why = "the transport cannot reconnect";
			break;
		}
		if (rc) {
			if (rc != -ETIMEDOUT)
				usleep(RETRY_MS * 1000);
			continue;
		}
		if (c->t->max_io < c->max_io ||
		    (c->t->features & c->features) != c->features) {
			why = "the backend came back with fewer features";
			break;
		}
		for (i = 0; i < c->nr_rings; i++) {
			struct cring *r = &c->ring[i];

			pthread_mutex_lock(&r->lock);
			xsh_ring_front_init(&r->ring, c->t->ring_mem[i],
					   c->t->ring_bytes);
			pthread_mutex_unlock(&r->lock);
		}
		rc = restore_session(c, deadline, &res);
		if (rc == -EPIPE || rc == -ETIMEDOUT)
			continue;
		if (rc) {
			why = rc == -EPROTO ? "the backend broke the protocol "
					      "while restoring" :
					      "out of memory while restoring";
			break;
		}
		sent = resume(c);
		pthread_mutex_lock(&c->rc_lock);
		c->stats.reconnects++;
		c->stats.nodes_restored = res.nodes;
		c->stats.handles_restored = res.handles;
		c->stats.nodes_stale = res.nodes_stale;
		c->stats.handles_stale = res.handles_stale;
		c->stats.resent = sent;
		pthread_mutex_unlock(&c->rc_lock);
		msg[0] = '\0';
		if (res.nodes_stale || res.handles_stale)
			snprintf(msg, sizeof(msg), " (%llu nodes and %llu "
				 "open files gone: ESTALE)",
				 (unsigned long long)res.nodes_stale,
				 (unsigned long long)res.handles_stale);
		client_log(c, LOG_NOTICE, "reconnected to backend at %s after "
			   "%.1f s: %llu nodes and %llu open files restored, "
			   "%u requests resent%s", c->peer,
			   (xsh_now_ms() - t0) / 1000.0,
			   (unsigned long long)res.nodes,
			   (unsigned long long)res.handles, sent, msg);
		return;
	}
	snprintf(msg, sizeof(msg), "%s within %d s (%s)", why,
		 (c->reconnect_ms + 999) / 1000, reason);
	xsh_client_fail(c, msg);
}

static void *reconnect_main(void *arg)
{
	struct xsh_client *c = arg;
	char reason[sizeof(c->rc_reason)];

	pthread_mutex_lock(&c->rc_lock);
	for (;;) {
		while (!c->rc_kick && !c->rc_exit)
			pthread_cond_wait(&c->rc_cond, &c->rc_lock);
		if (c->rc_exit)
			break;
		c->rc_kick = false;
		memcpy(reason, c->rc_reason, sizeof(reason));
		pthread_mutex_unlock(&c->rc_lock);
		reconnect_run(c, reason);
		pthread_mutex_lock(&c->rc_lock);
	}
	pthread_mutex_unlock(&c->rc_lock);
	return NULL;
}

/* ---- setup ------------------------------------------------------------- */

static int ring_setup(struct xsh_client *c, unsigned i)
{
	struct cring *r = &c->ring[i];
	unsigned k;
	int rc;

	r->c = c;
	r->idx = i;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->tag_free, NULL);
	pthread_cond_init(&r->gate, NULL);
	rc = xsh_ring_front_init(&r->ring, c->t->ring_mem[i], c->t->ring_bytes);
	if (rc)
		return rc;
	if (r->ring.nr_slots != c->nr_slots)
		return -EPROTO;
	r->w = calloc(c->nr_slots, sizeof(*r->w));
	r->free_tags = calloc(c->nr_slots, sizeof(*r->free_tags));
	if (!r->w || !r->free_tags)
		return -ENOMEM;
	for (k = 0; k < c->nr_slots; k++) {
		struct waiter *w = &r->w[k];

		pthread_cond_init(&w->cond, NULL);
		w->tag = k;
		w->ring = r;
		w->large = -1;
		/* Lowest tags on top: small pages are reused warm. */
		r->free_tags[k] = c->nr_slots - 1 - k;
	}
	r->nr_free = c->nr_slots;
	return 0;
}

static void ring_teardown(struct cring *r)
{
	unsigned k;

	if (!r->c)
		return;
	if (r->w)
		for (k = 0; k < r->c->nr_slots; k++)
			pthread_cond_destroy(&r->w[k].cond);
	free(r->w);
	free(r->free_tags);
	pthread_cond_destroy(&r->gate);
	pthread_cond_destroy(&r->tag_free);
	pthread_mutex_destroy(&r->lock);
}

int xsh_client_connect(const struct xsh_client_params *p,
		      struct xsh_client **out)
{
	struct xsh_front_params fp = { 0 };
	struct xsh_client *c;
	unsigned i, slots;
	int rc;

	if (p->nr_rings < 1 || p->nr_rings > XSH_MAX_RINGS ||
	    p->ring_order > XSH_MAX_RING_ORDER || p->nr_large < 1 ||
	    p->reconnect_ms < 0)
		return -EINVAL;
	slots = xsh_ring_nr_slots((size_t)XSH_PAGE_SIZE << p->ring_order);
	if (!slots || slots > 0xffff)
		return -EINVAL;
	fp.nr_rings = p->nr_rings;
	fp.ring_order = p->ring_order;
	fp.data_pages = xsh_client_data_pages(p->nr_rings, p->ring_order,
					     p->nr_large);
	fp.features = p->features;
	if (fp.data_pages > XSH_MAX_DATA_PAGES)
		return -E2BIG;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->stop_fd = -1;
	pthread_mutex_init(&c->large_lock, NULL);
	pthread_cond_init(&c->large_cond, NULL);
	pthread_mutex_init(&c->lost_lock, NULL);
	pthread_mutex_init(&c->rc_lock, NULL);
	pthread_cond_init(&c->rc_cond, NULL);
	c->nr_rings = p->nr_rings;
	c->nr_slots = slots;
	c->nr_large = p->nr_large;
	c->reconnect_ms = p->reconnect_ms;
	c->max_spinners = getenv("XS_FRONT_NO_SPIN") ? 0 :
			  (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	c->large_off = (size_t)p->nr_rings * slots * XSH_PAGE_SIZE;
	c->restore_off = c->large_off + (size_t)p->nr_large * LARGE_SIZE;
	c->large_free = calloc(p->nr_large, sizeof(*c->large_free));
	rc = -ENOMEM;
	if (!c->large_free || xsh_restore_new(&c->rs))
		goto fail;
	for (i = 0; i < p->nr_large; i++)
		c->large_free[i] = (int)(p->nr_large - 1 - i);
	c->nr_large_free = p->nr_large;
	c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->stop_fd < 0) {
		rc = -errno;
		goto fail;
	}

	if (p->connect)
		rc = p->connect(p->connect_arg, &fp, &c->t);
	else if (p->socket_path)
		rc = xsh_tport_connect(&xsh_local_front_ops,
				       &(struct xsh_tport_addr){
					       .socket_path = p->socket_path },
				       &fp, &c->t);
	else
		rc = -EINVAL;
	if (rc)
		goto fail;
	c->peer = strdup(p->connect ? c->t->name : p->socket_path);
	rc = -ENOMEM;
	if (!c->peer)
		goto fail;
	rc = -EPROTO;
	if (c->t->nr_rings != p->nr_rings ||
	    c->t->data_bytes < (size_t)fp.data_pages * XSH_PAGE_SIZE)
		goto fail;
	c->max_io = c->t->max_io;
	c->features = c->t->features;
	for (i = 0; i < c->nr_rings; i++) {
		rc = ring_setup(c, i);
		if (rc)
			goto fail;
	}
	*out = c;
	return 0;

fail:
	xsh_client_close(c);
	return rc;
}

int xsh_client_start(struct xsh_client *c)
{
	int rc;

	if (c->reconnect_ms) {
		rc = pthread_create(&c->rc_thread, NULL, reconnect_main, c);
		if (rc)
			return -rc;
		c->rc_started = true;
	}
	return start_completion(c);
}

void xsh_client_close(struct xsh_client *c)
{
	unsigned i;

	if (!c)
		return;
	if (c->rc_started) {
		pthread_mutex_lock(&c->rc_lock);
		c->rc_exit = true;
		pthread_cond_signal(&c->rc_cond);
		pthread_mutex_unlock(&c->rc_lock);
		pthread_join(c->rc_thread, NULL);
	}
	if (c->stop_fd >= 0)
		stop_completion(c);
	for (i = 0; i < XSH_MAX_RINGS; i++)
		ring_teardown(&c->ring[i]);
	xsh_tport_close(c->t);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	xsh_restore_free(c->rs);
	free(c->large_free);
	free(c->peer);
	pthread_cond_destroy(&c->rc_cond);
	pthread_mutex_destroy(&c->rc_lock);
	pthread_cond_destroy(&c->large_cond);
	pthread_mutex_destroy(&c->large_lock);
	pthread_mutex_destroy(&c->lost_lock);
	free(c);
}
