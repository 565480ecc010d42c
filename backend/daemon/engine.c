// SPDX-License-Identifier: MIT
/*
 * The ring engine (see engine.h).  Per connection:
 *
 *   ring thread (one per ring)   polls the ring's notification fd (ring 0
 *                                also the connection fd), takes requests
 *                                off the ring, each copied once, and
 *                                queues them; a request that arrives
 *                                alone, finds no work queued and cannot
 *                                wait long (inline_ok()) it serves itself,
 *                                which saves a thread wake-up on the
 *                                round trip of a lone caller; a
 *                                CANCEL it always serves itself
 *   work queue                   bounded by the total number of ring
 *                                slots: a ring never has more requests
 *                                outstanding than it has slots
 *   workers                      xsh_dispatch() each request and put the
 *                                response on the ring it came from
 *   supervisor                   starts the others, waits for the
 *                                connection to stop, joins everything and
 *                                frees the session and the transport
 *
 * One gate for the whole engine (a writer-first rwlock): every dispatch
 * holds it for reading; xsh_engine_quiesce() takes it for writing, so the
 * requests in flight finish and the next ones wait (the guest sees a
 * pause) until xsh_engine_resume().  Snapshots use it (docs/snapshots.md).
 *
 * Trust: shared ring indices go through protocol/ring.c, which refuses a
 * producer index that runs past the ring (-EPROTO); requests go through
 * xsh_dispatch(), which tells us when one breaks the protocol.  Either
 * closes this connection and nothing else.
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
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "protocol/codec.h"
#include "protocol/ring.h"
#include "engine.h"

struct work {
	struct xsh_req req;
	unsigned ring;
	bool cancelled;		/* conn lock: answer EINTR, do nothing */
};

struct conn;

struct conn_ring {
	struct conn *c;
	unsigned idx;
	/* Request side (req_cons) belongs to the ring thread; the response
	 * side and xsh_ring_back_get_req(), which reads rsp_prod_pvt, run
	 * under lock. */
	struct xsh_ring r;
	pthread_mutex_t lock;
	pthread_t thread;
	bool started;
};

struct conn {
	struct xsh_engine *eng;
	struct xsh_tport *t;
	struct xsh_sess *sess;
	char name[sizeof(((struct xsh_tport *)0)->name)];
	struct conn_ring rings[XSH_MAX_RINGS];
	unsigned nr_rings;
	pthread_t workers[XSH_ENGINE_MAX_WORKERS];
	unsigned nr_workers;		/* started */
	int stop_efd;			/* readable once stopping */

	pthread_mutex_t lock;
	pthread_cond_t work_cond;	/* lock: queue not empty, or stopping */
	pthread_cond_t space_cond;	/* lock: queue not full, or stopping */
	pthread_cond_t stop_cond;	/* lock: stopping */
	bool stopping;			/* lock */
	int reason_prio;		/* lock */
	char reason[160];		/* lock */
	struct work *q;			/* lock: q_cap entries */
	unsigned q_cap, q_head, q_len;	/* lock */

	struct conn *next;		/* eng->lock */
};

struct xsh_engine {
	struct xsh_export *exp;
	struct xsh_engine_params p;
	/* Held for reading around each request's dispatch, for writing
	 * while the engine is quiesced (writers first: a quiesce waits only
	 * for the requests already in flight). */
	pthread_rwlock_t gate;
	bool quiesced;			/* the thread that quiesced only */
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* lock: nr_conns dropped */
	bool stopping;			/* lock */
	unsigned nr_conns;		/* lock */
	unsigned nr_reserved;		/* lock */
	struct conn *conns;		/* lock */
};

/* ---- stopping a connection --------------------------------------------- */

static void conn_stop(struct conn *c, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conn_stop(struct conn *c, int prio, const char *fmt, ...)
{
	uint64_t one = 1;
	va_list ap;

	pthread_mutex_lock(&c->lock);
	if (c->stopping) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	c->stopping = true;
	c->reason_prio = prio;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	pthread_cond_broadcast(&c->work_cond);
	pthread_cond_broadcast(&c->space_cond);
	pthread_cond_broadcast(&c->stop_cond);
	pthread_mutex_unlock(&c->lock);
	if (write(c->stop_efd, &one, sizeof(one)) < 0)
		xsh_log(LOG_ERR, "%s: waking ring threads: %s", c->name,
			      strerror(errno));
}

/* ---- work queue -------------------------------------------------------- */

static int enqueue(struct conn *c, const struct work *w)
{
	pthread_mutex_lock(&c->lock);
	while (!c->stopping && c->q_len == c->q_cap)
		pthread_cond_wait(&c->space_cond, &c->lock);
	if (c->stopping) {
		pthread_mutex_unlock(&c->lock);
		return -ESHUTDOWN;
	}
	c->q[(c->q_head + c->q_len) % c->q_cap] = *w;
	c->q_len++;
	pthread_cond_signal(&c->work_cond);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static int dequeue(struct conn *c, struct work *w)
{
	pthread_mutex_lock(&c->lock);
	while (!c->stopping && c->q_len == 0)
		pthread_cond_wait(&c->work_cond, &c->lock);
	if (c->stopping) {
		pthread_mutex_unlock(&c->lock);
		return -ESHUTDOWN;
	}
	*w = c->q[c->q_head];
	c->q_head = (c->q_head + 1) % c->q_cap;
	c->q_len--;
	pthread_cond_signal(&c->space_cond);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* ---- ring threads ------------------------------------------------------ */

/* Requests the ring thread may serve itself when one arrives alone and
 * no work is queued (the inline column of protocol/ops.h): those that do
 * not wait for the disk by their nature (a cold cache may still make
 * them), and that a caller waits for.
 * Syncs, truncation, preallocation, copies, transfers over INLINE_IO_MAX,
 * and FORGET and RELEASE (nobody waits for them, and closing the last
 * descriptor of an unlinked file frees its blocks) go to the workers, so
 * that they never hold up the requests behind them on the ring.  An
 * unlink usually leaves the freeing to that last close, as the node
 * table holds the file's descriptor.  req is the private copy: a guest
 * that lies here only changes which thread serves its own request. */
#define INLINE_IO_MAX	(128u * 1024)

static bool inline_ok(const struct xsh_req *req)
{
	const struct xsh_op_desc *d = xsh_op_desc(req->opcode);

	switch (d ? d->inl : XSH_INLINE_NEVER) {
	case XSH_INLINE_ALWAYS:
		return true;
	case XSH_INLINE_NO_TRUNCATE:
		return !(req->a.setattr.valid & XSH_SETATTR_SIZE);
	case XSH_INLINE_SMALL_IO:
		return req->a.io.size <= INLINE_IO_MAX;
	default:
		return false;
	}
}

/* CANCEL is served by the ring thread as it arrives: behind its target
 * in the queue it would come too late. */
static bool is_cancel(const struct xsh_req *req)
{
	return req->opcode == XSH_OP_CANCEL;
}

/* Take request id of ring out of the queue if it waits there and is
 * not a resent copy (which an earlier backend may have applied): a
 * worker then answers it EINTR without serving it.  The id is the
 * guest's; a repeated one cancels its first waiting copy only. */
static bool cancel_queued(struct conn *c, unsigned ring, uint64_t id)
{
	bool found = false;
	unsigned i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->q_len && !found; i++) {
		struct work *w = &c->q[(c->q_head + i) % c->q_cap];

		if (w->ring == ring && w->req.id == id && !w->cancelled &&
		    !(w->req.flags & XSH_REQ_RESENT) && !is_cancel(&w->req)) {
			w->cancelled = true;
			found = true;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

static bool queue_empty(struct conn *c)
{
	bool empty;

	pthread_mutex_lock(&c->lock);
	empty = c->q_len == 0;
	pthread_mutex_unlock(&c->lock);
	return empty;
}

static int serve_one(struct conn *c, const struct work *w);

/* Take everything the ring holds, then ack and look once more. */
static int drain(struct conn_ring *cr)
{
	struct conn *c = cr->c;
	struct work w;
	bool more, alone;
	int rc;

	w.ring = cr->idx;
	w.cancelled = false;
	do {
		for (;;) {
			pthread_mutex_lock(&cr->lock);
			rc = xsh_ring_back_get_req(&cr->r, &w.req);
			alone = rc == 1 && !xsh_ring_back_pending(&cr->r);
			pthread_mutex_unlock(&cr->lock);
			if (rc == 0)
				break;
			if (rc < 0) {
				conn_stop(c, LOG_WARNING,
					  "ring %u: producer index out of range (protocol violation)",
					  cr->idx);
				return rc;
			}
			if (is_cancel(&w.req) ||
			    (alone && inline_ok(&w.req) && queue_empty(c))) {
				if (serve_one(c, &w))
					return -1;
				continue;
			}
			rc = enqueue(c, &w);
			if (rc)
				return rc;
		}
		rc = xsh_tport_ack(c->t, cr->idx);
		if (rc) {
			conn_stop(c, LOG_ERR, "ring %u: ack: %s", cr->idx,
				  strerror(-rc));
			return rc;
		}
		pthread_mutex_lock(&cr->lock);
		more = xsh_ring_back_final_check(&cr->r);
		pthread_mutex_unlock(&cr->lock);
	} while (more);
	return 0;
}

/* The connection fd became readable or hung up.  Nothing may arrive on
 * it after the handshake. */
static int check_conn_fd(struct conn *c, short revents)
{
	char b;
	ssize_t n;

	if (revents & (POLLHUP | POLLRDHUP | POLLERR)) {
		conn_stop(c, LOG_INFO, "peer hung up");
		return -EPIPE;
	}
	if (revents & POLLNVAL) {
		conn_stop(c, LOG_ERR, "connection fd invalid");
		return -EBADF;
	}
	n = recv(c->t->conn_fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);
	if (n == 0) {
		conn_stop(c, LOG_INFO, "peer hung up");
		return -EPIPE;
	}
	if (n > 0) {
		conn_stop(c, LOG_WARNING,
			  "unexpected message on the connection socket (protocol violation)");
		return -EPROTO;
	}
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	conn_stop(c, LOG_INFO, "connection socket: %s", strerror(errno));
	return -errno;
}

static void *ring_main(void *arg)
{
	struct conn_ring *cr = arg;
	struct conn *c = cr->c;
	struct pollfd pfd[3];
	nfds_t nfds = 2;
	int rc;

	rc = xsh_service_thread_init();
	if (rc) {
		conn_stop(c, LOG_ERR, "ring %u setup: %s", cr->idx, strerror(-rc));
		return NULL;
	}
	pfd[0] = (struct pollfd){ .fd = c->t->ring_fd[cr->idx], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = c->stop_efd, .events = POLLIN };
	if (cr->idx == 0 && c->t->conn_fd >= 0)
		pfd[nfds++] = (struct pollfd){ .fd = c->t->conn_fd,
					       .events = POLLIN | POLLRDHUP };
	for (;;) {
		/* Requests may be waiting from before we started, or the
		 * notification fd fired. */
		if (drain(cr))
			break;
		rc = poll(pfd, nfds, -1);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			conn_stop(c, LOG_ERR, "ring %u: poll: %s", cr->idx,
				  strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents & (POLLERR | POLLNVAL)) {
			conn_stop(c, LOG_ERR, "ring %u: notification fd failed",
				  cr->idx);
			break;
		}
		if (nfds == 3 && pfd[2].revents &&
		    check_conn_fd(c, pfd[2].revents))
			break;
	}
	return NULL;
}

/* ---- workers ----------------------------------------------------------- */

/* Serve one request and put its response on its ring.  0, or -1 when the
 * connection must stop (already asked for). */
static int serve_one(struct conn *c, const struct work *w)
{
	struct conn_ring *cr = &c->rings[w->ring];
	struct xsh_rsp rsp;
	bool notify;
	int rc;

	if (w->cancelled) {
		xsh_codec_rsp_init(&rsp, &w->req);
		rsp.error = EINTR;
		rc = 0;
	} else {
		pthread_rwlock_rdlock(&c->eng->gate);
		rc = xsh_dispatch(c->sess, &w->req, &rsp);
		pthread_rwlock_unlock(&c->eng->gate);
	}
	/* The service has nothing waiting (ENOENT); we may. */
	if (!rc && is_cancel(&w->req) && rsp.error == ENOENT &&
	    cancel_queued(c, w->ring, w->req.a.cancel.id))
		rsp.error = 0;
	if (rc == XSH_CODEC_FATAL) {
		conn_stop(c, LOG_WARNING,
			  "ring %u: malformed %s request id %" PRIu64
			  " (protocol violation)", w->ring,
			  xsh_op_name(w->req.opcode), w->req.id);
		return -1;
	}
	if (rc) {
		/* Outside the service's contract: answer anyway. */
		xsh_log(LOG_ERR, "%s: ring %u: %s id %" PRIu64
			      ": dispatch returned %d", c->name, w->ring,
			      xsh_op_name(w->req.opcode), w->req.id, rc);
		rsp.id = w->req.id;
		if (!rsp.error)
			rsp.error = EIO;
	}
	xsh_log(LOG_DEBUG, "%s: ring %u: %s id %" PRIu64
		      " node %" PRIu64 ": error %d, %u bytes out",
		      c->name, w->ring, xsh_op_name(w->req.opcode),
		      w->req.id, w->req.nodeid, rsp.error, rsp.out_len);
	pthread_mutex_lock(&cr->lock);
	xsh_ring_back_put_rsp(&cr->r, &rsp);
	notify = xsh_ring_back_push(&cr->r);
	pthread_mutex_unlock(&cr->lock);
	if (notify) {
		rc = xsh_tport_notify(c->t, w->ring);
		if (rc) {
			conn_stop(c, LOG_ERR, "ring %u: notify: %s", w->ring,
				  strerror(-rc));
			return -1;
		}
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct conn *c = arg;
	struct work w;
	int rc;

	rc = xsh_service_thread_init();
	if (rc) {
		conn_stop(c, LOG_ERR, "worker setup: %s", strerror(-rc));
		return NULL;
	}
	while (!dequeue(c, &w))
		if (serve_one(c, &w))
			break;
	return NULL;
}

/* ---- connection lifecycle ---------------------------------------------- */

static void conn_free(struct conn *c)
{
	unsigned i;

	if (c->sess)
		xsh_sess_free(c->sess);
	xsh_tport_close(c->t);
	for (i = 0; i < c->nr_rings; i++)
		pthread_mutex_destroy(&c->rings[i].lock);
	if (c->stop_efd >= 0)
		close(c->stop_efd);
	pthread_cond_destroy(&c->work_cond);
	pthread_cond_destroy(&c->space_cond);
	pthread_cond_destroy(&c->stop_cond);
	pthread_mutex_destroy(&c->lock);
	free(c->q);
	free(c);
}

/* Take c off the list (shutdown stops waking it), free it, and only then
 * let xsh_engine_shutdown() see the count drop. */
static void engine_remove(struct xsh_engine *eng, struct conn *c)
{
	struct conn **pp;

	pthread_mutex_lock(&eng->lock);
	for (pp = &eng->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&eng->lock);
	conn_free(c);
	pthread_mutex_lock(&eng->lock);
	eng->nr_conns--;
	pthread_cond_broadcast(&eng->cond);
	pthread_mutex_unlock(&eng->lock);
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct xsh_engine *eng = c->eng;
	unsigned i;
	int rc = 0;

	for (i = 0; i < eng->p.nr_workers && !rc; i++) {
		rc = pthread_create(&c->workers[i], NULL, worker_main, c);
		if (!rc)
			c->nr_workers++;
	}
	for (i = 0; i < c->nr_rings && !rc; i++) {
		rc = pthread_create(&c->rings[i].thread, NULL, ring_main,
				    &c->rings[i]);
		c->rings[i].started = !rc;
	}
	if (rc)
		conn_stop(c, LOG_ERR, "starting threads: %s", strerror(rc));

	pthread_mutex_lock(&c->lock);
	while (!c->stopping)
		pthread_cond_wait(&c->stop_cond, &c->lock);
	pthread_mutex_unlock(&c->lock);

	for (i = 0; i < c->nr_rings; i++)
		if (c->rings[i].started)
			pthread_join(c->rings[i].thread, NULL);
	for (i = 0; i < c->nr_workers; i++)
		pthread_join(c->workers[i], NULL);
	xsh_log(c->reason_prio, "%s: closing: %s", c->name, c->reason);
	engine_remove(eng, c);
	return NULL;
}

static int conn_setup(struct xsh_engine *eng, struct conn *c)
{
	struct xsh_tport *t = c->t;
	unsigned i;
	int rc;

	if (t->nr_rings < 1 || t->nr_rings > XSH_MAX_RINGS)
		return -EINVAL;
	for (i = 0; i < t->nr_rings; i++) {
		pthread_mutex_init(&c->rings[i].lock, NULL);
		c->nr_rings++;
		c->rings[i].c = c;
		c->rings[i].idx = i;
		rc = xsh_ring_back_attach(&c->rings[i].r, t->ring_mem[i],
					 t->ring_bytes);
		if (rc)
			return rc;
		c->q_cap += c->rings[i].r.nr_slots;
	}
	c->q = calloc(c->q_cap, sizeof(*c->q));
	if (!c->q)
		return -ENOMEM;
	c->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->stop_efd < 0)
		return -errno;
	return xsh_sess_new(eng->exp, t->data, t->data_bytes, c->name,
			   &c->sess);
}

int xsh_engine_add(struct xsh_engine *eng, struct xsh_tport *t)
{
	pthread_attr_t attr;
	pthread_t thr;
	struct conn *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c) {
		xsh_log(LOG_ERR, "%s: refused: out of memory", t->name);
		xsh_tport_close(t);
		xsh_engine_unreserve(eng);
		return -ENOMEM;
	}
	c->eng = eng;
	c->t = t;
	c->stop_efd = -1;
	snprintf(c->name, sizeof(c->name), "%s", t->name);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->work_cond, NULL);
	pthread_cond_init(&c->space_cond, NULL);
	pthread_cond_init(&c->stop_cond, NULL);

	rc = conn_setup(eng, c);
	if (rc) {
		xsh_log(LOG_ERR, "%s: refused: %s", c->name,
			      strerror(-rc));
		conn_free(c);
		xsh_engine_unreserve(eng);
		return rc;
	}

	pthread_mutex_lock(&eng->lock);
	eng->nr_reserved--;
	if (eng->stopping) {
		pthread_mutex_unlock(&eng->lock);
		xsh_log(LOG_INFO, "%s: refused: shutting down", c->name);
		conn_free(c);
		return -ESHUTDOWN;
	}
	c->next = eng->conns;
	eng->conns = c;
	eng->nr_conns++;
	pthread_mutex_unlock(&eng->lock);

	xsh_log(LOG_INFO, "%s: connected: %u ring%s of %u slots, "
		      "%zu KiB data, %u workers, features %#" PRIx64,
		      c->name, c->nr_rings, c->nr_rings == 1 ? "" : "s",
		      c->rings[0].r.nr_slots, t->data_bytes / 1024,
		      eng->p.nr_workers, t->features);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&thr, &attr, conn_main, c);
	pthread_attr_destroy(&attr);
	if (rc) {
		xsh_log(LOG_ERR, "%s: closing: starting threads: %s",
			      c->name, strerror(rc));
		engine_remove(eng, c);
		return -rc;
	}
	return 0;
}

/* ---- engine ------------------------------------------------------------ */

void xsh_engine_params_default(struct xsh_engine_params *p)
{
	memset(p, 0, sizeof(*p));
	p->nr_workers = 4;
	p->max_conns = 64;
}

int xsh_engine_new(struct xsh_export *e, const struct xsh_engine_params *p,
		  struct xsh_engine **out)
{
	pthread_rwlockattr_t ra;
	struct xsh_engine *eng;

	if (p->nr_workers < 1 || p->nr_workers > XSH_ENGINE_MAX_WORKERS ||
	    p->max_conns < 1)
		return -EINVAL;
	eng = calloc(1, sizeof(*eng));
	if (!eng)
		return -ENOMEM;
	eng->exp = e;
	eng->p = *p;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&eng->gate, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&eng->lock, NULL);
	pthread_cond_init(&eng->cond, NULL);
	*out = eng;
	return 0;
}

int xsh_engine_reserve(struct xsh_engine *eng)
{
	int rc = 0;

	pthread_mutex_lock(&eng->lock);
	if (eng->stopping)
		rc = -ESHUTDOWN;
	else if (eng->nr_conns + eng->nr_reserved >= eng->p.max_conns)
		rc = -EBUSY;
	else
		eng->nr_reserved++;
	pthread_mutex_unlock(&eng->lock);
	return rc;
}

void xsh_engine_unreserve(struct xsh_engine *eng)
{
	pthread_mutex_lock(&eng->lock);
	eng->nr_reserved--;
	pthread_mutex_unlock(&eng->lock);
}

unsigned xsh_engine_nr_conns(struct xsh_engine *eng)
{
	unsigned n;

	pthread_mutex_lock(&eng->lock);
	n = eng->nr_conns;
	pthread_mutex_unlock(&eng->lock);
	return n;
}

int xsh_engine_quiesce(struct xsh_engine *eng, long timeout_ms)
{
	struct timespec ts;
	int rc;

	if (eng->quiesced)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	rc = pthread_rwlock_clockwrlock(&eng->gate, CLOCK_MONOTONIC, &ts);
	if (rc)
		return -rc;
	eng->quiesced = true;
	return 0;
}

void xsh_engine_resume(struct xsh_engine *eng)
{
	if (!eng->quiesced)
		return;
	eng->quiesced = false;
	pthread_rwlock_unlock(&eng->gate);
}

void xsh_engine_shutdown(struct xsh_engine *eng)
{
	struct conn *c;

	xsh_engine_resume(eng);
	pthread_mutex_lock(&eng->lock);
	eng->stopping = true;
	for (c = eng->conns; c; c = c->next)
		conn_stop(c, LOG_INFO, "daemon shutting down");
	while (eng->nr_conns)
		pthread_cond_wait(&eng->cond, &eng->lock);
	pthread_mutex_unlock(&eng->lock);
}
