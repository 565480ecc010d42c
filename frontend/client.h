/* SPDX-License-Identifier: MIT */
/*
 * The frontend's request client: turns one synchronous call from a FUSE
 * worker thread into one request on a shared ring, waits for the matching
 * response and hands back the output, which stays in the shared data area
 * until the caller releases the call.  Knows nothing about FUSE.
 *
 * Data area layout (data_pages pages, shared once at connect):
 *
 *   [ small buffers: one page per ring slot, nr_rings * nr_slots pages ]
 *   [ large buffers: nr_large buffers of XSH_MAX_IO bytes each          ]
 *   [ restore page: REOPEN inputs while reconnecting                   ]
 *
 * A request whose input or output fits one page uses the page that
 * belongs to its slot; anything larger (READ, WRITE, big READDIR, xattr
 * values, long symlinks) first takes a large buffer from a shared pool
 * and waits while none is free.
 *
 * Reconnect (params.reconnect_ms > 0 and a transport that can): when the
 * backend's connection goes away, calls wait instead of failing; the
 * client handshakes again over the same shared memory, restores the
 * session's nodes and open handles with REOPEN
 * (frontend/restore.h), puts the requests that were in flight back on
 * the rings with XSH_REQ_RESENT, and only then lets new requests through.
 * If no backend comes back within reconnect_ms, the backend is lost.
 *
 * Trust: the backend's indices, ids and lengths are checked (ring.c,
 * xsh_codec_check_rsp, and out_len against the capacity asked for); a
 * backend that breaks the protocol is treated as lost at once: every
 * waiting and later call fails with -EIO.
 */
#ifndef XSH_FRONT_CLIENT_H
#define XSH_FRONT_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/transport.h"
#include "protocol/xenshare_proto.h"

struct xsh_client;

struct xsh_client_params {
	const char *socket_path;	/* local transport, when !connect */
	/* Another transport: called with connect_arg and the sizes the
	 * layout needs; 0 and *out set, or -errno. */
	int (*connect)(void *arg, const struct xsh_front_params *fp,
		       struct xsh_tport **out);
	void *connect_arg;
	unsigned nr_rings;		/* 1..XSH_MAX_RINGS */
	unsigned ring_order;		/* 0..XSH_MAX_RING_ORDER */
	unsigned nr_large;		/* large buffers, >= 1 */
	uint64_t features;		/* wanted */
	int reconnect_ms;		/* wait this long for a lost backend
					 * to come back; 0: it is lost */
};

/* Data pages the layout above needs. */
unsigned xsh_client_data_pages(unsigned nr_rings, unsigned ring_order,
			      unsigned nr_large);

/* One request and, after xsh_client_call(), its answer. */
struct xsh_call {
	/* In: opcode, nodeid, fh, uid, gid, pid and a.* are the caller's;
	 * id and buf_* are filled by the client. */
	struct xsh_req req;
	const void *in;		/* first input segment (e.g. a name) */
	uint32_t in_len;
	const void *in2;	/* second segment (newname, value, data) */
	uint32_t in2_len;
	uint32_t out_cap;	/* output bytes wanted, <= XSH_MAX_IO */
	/* Out, valid after a 0 return until xsh_client_release(). */
	struct xsh_rsp rsp;
	const void *out;	/* rsp.out_len bytes in shared memory */
	/* Private to the client. */
	void *priv;
	int interrupted;	/* set by xsh_client_interrupt() */
};

/* Connect (local transport, or p->connect) and set up rings and buffers.
 * No threads yet (the caller may still fork).  0 or -errno. */
int xsh_client_connect(const struct xsh_client_params *p,
		      struct xsh_client **out);

/* Called once, from a completion thread, when the backend is lost. */
typedef void (*xsh_client_lost_fn)(void *arg, const char *reason);
void xsh_client_set_lost_handler(struct xsh_client *c, xsh_client_lost_fn fn,
				void *arg);

/* Where the client's own lines go (backend lost, reconnected), prio a
 * syslog level; default stderr with a "xenshare-front: " prefix. */
typedef void (*xsh_client_log_fn)(void *arg, int prio, const char *line);
void xsh_client_set_log_handler(struct xsh_client *c, xsh_client_log_fn fn,
			       void *arg);

/* Reconnects so far, and what the last one restored. */
struct xsh_client_stats {
	uint64_t reconnects;
	uint64_t nodes_restored;	/* last reconnect */
	uint64_t handles_restored;
	uint64_t nodes_stale;
	uint64_t handles_stale;
	uint64_t resent;
};
void xsh_client_get_stats(struct xsh_client *c, struct xsh_client_stats *out);

/* Start one completion thread per ring.  0 or -errno. */
int xsh_client_start(struct xsh_client *c);

/* Negotiated connection properties. */
const struct xsh_tport *xsh_client_tport(const struct xsh_client *c);

/* Send call->req with the input, wait for the response.  Returns 0 when
 * the backend answered with success, the backend's -errno, or -EIO when
 * the backend is lost.  After 0, call->rsp and call->out are valid and the
 * caller must xsh_client_release(call); after an error nothing is held
 * (xsh_client_release() is then a no-op). */
int xsh_client_call(struct xsh_client *c, struct xsh_call *call);
void xsh_client_release(struct xsh_call *call);

/* The caller of call (in xsh_client_call(), or about to be) was
 * interrupted; from any thread.  The call then returns -EINTR when its
 * request had not reached a ring yet, or changes nothing and hands out
 * nothing (GETATTR, READ, READDIR, FSYNC, ...: its tag comes back when the
 * answer does); anything else on a ring is CANCELed when the backend
 * offers it and returns the backend's real answer (EINTR when it took the
 * request back before starting it). */
void xsh_client_interrupt(struct xsh_client *c, struct xsh_call *call);

/* True once the backend was lost. */
bool xsh_client_lost(const struct xsh_client *c);
/* Declare the backend lost (also used by tests). */
void xsh_client_fail(struct xsh_client *c, const char *reason);

/* Stop completion threads (and a reconnect in progress), close the
 * transport, free everything.  No call may be in progress. */
void xsh_client_close(struct xsh_client *c);

#endif /* XSH_FRONT_CLIENT_H */
