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
 * Reconnect seam: each in-flight waiter keeps its request (w->req) and
 * its caller's input (w->call) in private memory, so a later reconnect can
 * re-share the rings, copy the input again and put the same requests back
 * on the new rings.  Today a lost backend fails every call with -EIO.
 *
 * Trust: the backend's ring indices (ring.c), response ids, lengths and
 * error values (xs_codec_check_rsp, out_len) are checked before use; a
 * violation is a lost backend, never a crash or a read outside our
 * buffers.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../protocol/codec.h"
#include "../protocol/ring.h"
#include "../protocol/transport.h"
#include "client.h"

#define LARGE_SIZE	XS_MAX_IO

enum wstate {
	W_FREE,		/* on the ring's free list */
	W_FILLING,	/* taken, request being written */
	W_INFLIGHT,	/* on the ring, response not consumed */
	W_DONE,		/* response in w->rsp, caller not yet woken */
	W_HELD,		/* caller reads the output */
};

struct waiter {
	/* All fields: the ring's lock, except req/large/out_cap, which the
	 * owning caller writes in W_FILLING only. */
	struct xs_req req;	/* private copy of the slot */
	struct xs_rsp rsp;
	struct xs_call *call;	/* the caller's input, for a resend */
	pthread_cond_t cond;
	enum wstate state;
	int large;		/* large buffer index, or -1 */
	uint32_t out_cap;
	uint32_t tag;
	struct cring *ring;
};

struct cring {
	struct xs_client *c;
	unsigned idx;
	pthread_mutex_t lock;	/* both sides of the ring, the waiters */
	pthread_cond_t tag_free;
	struct xs_ring ring;
	struct waiter *w;	/* nr_slots */
	uint32_t *free_tags;	/* stack of nr_free tags */
	unsigned nr_free;	/* written under lock, read as a hint */
	uint32_t seq;
	pthread_t thread;
	bool thread_started;
};

struct xs_client {
	struct xs_tport *t;
	char *peer;		/* for messages: socket path or transport name */
	unsigned nr_rings;
	unsigned nr_slots;
	unsigned nr_large;
	size_t large_off;	/* where the large buffers start */
	struct cring ring[XS_MAX_RINGS];

	pthread_mutex_t large_lock;	/* large_free, nr_large_free */
	pthread_cond_t large_cond;
	int *large_free;
	unsigned nr_large_free;

	int stop_fd;		/* eventfd: completion threads exit */
	int lost;		/* atomic */
	unsigned next_ring;	/* atomic, round robin fallback */
	pthread_mutex_t lost_lock;	/* lost_fn, lost_arg */
	xs_client_lost_fn lost_fn;
	void *lost_arg;
};

unsigned xs_client_data_pages(unsigned nr_rings, unsigned ring_order,
			      unsigned nr_large)
{
	size_t slots = xs_ring_nr_slots((size_t)XS_PAGE_SIZE << ring_order);

	return (unsigned)(nr_rings * slots +
			  (size_t)nr_large * (LARGE_SIZE / XS_PAGE_SIZE));
}

const struct xs_tport *xs_client_tport(const struct xs_client *c)
{
	return c->t;
}

bool xs_client_lost(const struct xs_client *c)
{
	return __atomic_load_n(&c->lost, __ATOMIC_ACQUIRE);
}

void xs_client_set_lost_handler(struct xs_client *c, xs_client_lost_fn fn,
				void *arg)
{
	pthread_mutex_lock(&c->lost_lock);
	c->lost_fn = fn;
	c->lost_arg = arg;
	pthread_mutex_unlock(&c->lost_lock);
}

void xs_client_fail(struct xs_client *c, const char *reason)
{
	uint64_t one = 1;
	unsigned i, k;

	if (__atomic_exchange_n(&c->lost, 1, __ATOMIC_ACQ_REL))
		return;
	/* Waiters test c->lost under the lock they sleep with, so taking
	 * each lock before the broadcast loses no wake-up. */
	for (i = 0; i < c->nr_rings; i++) {
		struct cring *r = &c->ring[i];

		pthread_mutex_lock(&r->lock);
		pthread_cond_broadcast(&r->tag_free);
		for (k = 0; k < c->nr_slots; k++)
			pthread_cond_broadcast(&r->w[k].cond);
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_lock(&c->large_lock);
	pthread_cond_broadcast(&c->large_cond);
	pthread_mutex_unlock(&c->large_lock);
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

/* ---- large buffers ----------------------------------------------------- */

static int large_get(struct xs_client *c)
{
	int idx = -EIO;

	pthread_mutex_lock(&c->large_lock);
	while (!xs_client_lost(c) && c->nr_large_free == 0)
		pthread_cond_wait(&c->large_cond, &c->large_lock);
	if (!xs_client_lost(c))
		idx = c->large_free[--c->nr_large_free];
	pthread_mutex_unlock(&c->large_lock);
	return idx;
}

static void large_put(struct xs_client *c, int idx)
{
	if (idx < 0)
		return;
	pthread_mutex_lock(&c->large_lock);
	c->large_free[c->nr_large_free++] = idx;
	pthread_cond_signal(&c->large_cond);
	pthread_mutex_unlock(&c->large_lock);
}

/* ---- tags -------------------------------------------------------------- */

static struct cring *pick_ring(struct xs_client *c)
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

static struct waiter *tag_get(struct cring *r)
{
	struct xs_client *c = r->c;
	struct waiter *w = NULL;

	pthread_mutex_lock(&r->lock);
	while (!xs_client_lost(c) && r->nr_free == 0)
		pthread_cond_wait(&r->tag_free, &r->lock);
	if (!xs_client_lost(c)) {
		__atomic_store_n(&r->nr_free, r->nr_free - 1, __ATOMIC_RELAXED);
		w = &r->w[r->free_tags[r->nr_free]];
		w->state = W_FILLING;
	}
	pthread_mutex_unlock(&r->lock);
	return w;
}

/* ---- calls ------------------------------------------------------------- */

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

void xs_client_release(struct xs_call *call)
{
	if (!call->priv)
		return;
	waiter_release(call->priv);
	call->priv = NULL;
	call->out = NULL;
}

int xs_client_call(struct xs_client *c, struct xs_call *call)
{
	uint64_t in_total = (uint64_t)call->in_len + call->in2_len;
	uint64_t need = in_total > call->out_cap ? in_total : call->out_cap;
	struct waiter *w;
	struct cring *r;
	uint8_t *buf;
	uint32_t off, len, seq;
	int large = -1;
	bool notify;

	call->priv = NULL;
	call->out = NULL;
	if (need > LARGE_SIZE)
		return -EINVAL;
	if (xs_client_lost(c))
		return -EIO;
	if (need > XS_PAGE_SIZE) {
		large = large_get(c);
		if (large < 0)
			return -EIO;
	}
	r = pick_ring(c);
	w = tag_get(r);
	if (!w) {
		large_put(c, large);
		return -EIO;
	}

	if (large >= 0) {
		off = (uint32_t)(c->large_off + (size_t)large * LARGE_SIZE);
		len = LARGE_SIZE;
	} else {
		off = (r->idx * c->nr_slots + w->tag) * XS_PAGE_SIZE;
		len = XS_PAGE_SIZE;
	}
	buf = (uint8_t *)c->t->data + off;
	if (call->in_len)
		memcpy(buf, call->in, call->in_len);
	if (call->in2_len)
		memcpy(buf + call->in_len, call->in2, call->in2_len);

	w->large = large;
	w->out_cap = call->out_cap;
	w->call = call;
	w->req = call->req;
	w->req.flags = 0;
	w->req.pad = 0;
	w->req.buf_off = off;
	w->req.buf_len = len;
	w->req.in_len = (uint32_t)in_total;

	pthread_mutex_lock(&r->lock);
	if (xs_client_lost(c)) {
		w->large = -1;
		tag_put(r, w);
		pthread_mutex_unlock(&r->lock);
		large_put(c, large);
		return -EIO;
	}
	seq = ++r->seq;
	w->req.id = (uint64_t)r->idx << 48 | (uint64_t)w->tag << 32 | seq;
	/* A taken tag implies a free slot (see the file comment). */
	if (!xs_ring_front_free_slots(&r->ring))
		abort();
	xs_ring_front_put_req(&r->ring, &w->req);
	w->state = W_INFLIGHT;
	notify = xs_ring_front_push(&r->ring);
	pthread_mutex_unlock(&r->lock);

	if (notify && xs_tport_notify(c->t, r->idx) < 0)
		xs_client_fail(c, "cannot notify the backend");

	pthread_mutex_lock(&r->lock);
	while (w->state == W_INFLIGHT && !xs_client_lost(c))
		pthread_cond_wait(&w->cond, &r->lock);
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
		xs_client_release(call);
		return -call->rsp.error;
	}
	call->out = buf;
	return 0;
}

/* ---- completion -------------------------------------------------------- */

/* Caller holds r->lock.  0, or -EPROTO with *why set. */
static int complete_one(struct cring *r, const struct xs_rsp *rsp,
			const char **why)
{
	struct xs_client *c = r->c;
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
	if (xs_codec_check_rsp(&w->req, rsp)) {
		*why = "malformed response";
		return -EPROTO;
	}
	if (rsp->error == 0 && rsp->out_len > w->out_cap) {
		*why = "response longer than asked for";
		return -EPROTO;
	}
	w->rsp = *rsp;
	w->state = W_DONE;
	pthread_cond_signal(&w->cond);
	return 0;
}

static int drain(struct cring *r, const char **why)
{
	struct xs_rsp rsp;
	int rc = 0, got;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		got = xs_ring_front_get_rsp(&r->ring, &rsp);
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
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static void *completion_main(void *arg)
{
	struct cring *r = arg;
	struct xs_client *c = r->c;
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

	while (!xs_client_lost(c)) {
		if (drain(r, &why)) {
			xs_client_fail(c, why);
			break;
		}
		rc = xs_tport_ack(c->t, r->idx);
		if (rc < 0) {
			snprintf(reason, sizeof(reason),
				 "ring %u notification: %s", r->idx,
				 strerror(-rc));
			xs_client_fail(c, reason);
			break;
		}
		pthread_mutex_lock(&r->lock);
		more = xs_ring_front_final_check(&r->ring);
		pthread_mutex_unlock(&r->lock);
		if (more)
			continue;

		rc = poll(pfd, 3, -1);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			snprintf(reason, sizeof(reason), "poll: %s",
				 strerror(errno));
			xs_client_fail(c, reason);
			break;
		}
		if (pfd[2].revents)
			break;
		if (pfd[1].revents) {
			xs_client_fail(c, "backend closed the connection");
			break;
		}
		if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			xs_client_fail(c, "ring notification channel broken");
			break;
		}
	}
	return NULL;
}

/* ---- setup ------------------------------------------------------------- */

static int ring_setup(struct xs_client *c, unsigned i)
{
	struct cring *r = &c->ring[i];
	unsigned k;
	int rc;

	r->c = c;
	r->idx = i;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->tag_free, NULL);
	rc = xs_ring_front_init(&r->ring, c->t->ring_mem[i], c->t->ring_bytes);
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
	pthread_cond_destroy(&r->tag_free);
	pthread_mutex_destroy(&r->lock);
}

int xs_client_connect(const struct xs_client_params *p,
		      struct xs_client **out)
{
	struct xs_front_params fp = { 0 };
	struct xs_client *c;
	unsigned i, slots;
	int rc;

	if (p->nr_rings < 1 || p->nr_rings > XS_MAX_RINGS ||
	    p->ring_order > XS_MAX_RING_ORDER || p->nr_large < 1)
		return -EINVAL;
	slots = xs_ring_nr_slots((size_t)XS_PAGE_SIZE << p->ring_order);
	if (!slots || slots > 0xffff)
		return -EINVAL;
	fp.nr_rings = p->nr_rings;
	fp.ring_order = p->ring_order;
	fp.data_pages = xs_client_data_pages(p->nr_rings, p->ring_order,
					     p->nr_large);
	fp.features = p->features;
	if (fp.data_pages > XS_MAX_DATA_PAGES)
		return -E2BIG;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->stop_fd = -1;
	pthread_mutex_init(&c->large_lock, NULL);
	pthread_cond_init(&c->large_cond, NULL);
	pthread_mutex_init(&c->lost_lock, NULL);
	c->nr_rings = p->nr_rings;
	c->nr_slots = slots;
	c->nr_large = p->nr_large;
	c->large_off = (size_t)p->nr_rings * slots * XS_PAGE_SIZE;
	c->large_free = calloc(p->nr_large, sizeof(*c->large_free));
	rc = -ENOMEM;
	if (!c->large_free)
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
		rc = xs_local_connect(p->socket_path, &fp, &c->t);
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
	    c->t->data_bytes < (size_t)fp.data_pages * XS_PAGE_SIZE)
		goto fail;
	for (i = 0; i < c->nr_rings; i++) {
		rc = ring_setup(c, i);
		if (rc)
			goto fail;
	}
	*out = c;
	return 0;

fail:
	xs_client_close(c);
	return rc;
}

int xs_client_start(struct xs_client *c)
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

void xs_client_close(struct xs_client *c)
{
	uint64_t one = 1;
	unsigned i;

	if (!c)
		return;
	if (c->stop_fd >= 0 && write(c->stop_fd, &one, sizeof(one)) < 0) {
		/* Threads also stop when the transport is lost. */
	}
	for (i = 0; i < XS_MAX_RINGS; i++)
		if (c->ring[i].thread_started)
			pthread_join(c->ring[i].thread, NULL);
	for (i = 0; i < XS_MAX_RINGS; i++)
		ring_teardown(&c->ring[i]);
	xs_tport_close(c->t);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	free(c->large_free);
	free(c->peer);
	pthread_cond_destroy(&c->large_cond);
	pthread_mutex_destroy(&c->large_lock);
	pthread_mutex_destroy(&c->lost_lock);
	free(c);
}
