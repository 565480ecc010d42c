/* SPDX-License-Identifier: MIT */
/*
 * The ring engine: serves connected transports (struct xsh_tport) with the
 * file service.  Per connection: one session, one thread per ring that
 * drains requests, a bounded work queue and a pool of worker threads that
 * call xsh_dispatch() and put each response on the ring its request came
 * from.  A connection that breaks the protocol or hangs up is closed on
 * its own; nothing it does reaches another connection.
 *
 * Trust: ring indices and slots are the peer's (protocol/ring.c checks
 * them); request contents are checked by the codec inside xsh_dispatch().
 */
#ifndef XSH_ENGINE_H
#define XSH_ENGINE_H

#include <stdbool.h>

#include "protocol/transport.h"
#include "backend/service/service.h"

#define XSH_ENGINE_MAX_WORKERS	64u

struct xsh_engine_params {
	unsigned nr_workers;	/* per connection, 1..XSH_ENGINE_MAX_WORKERS */
	unsigned max_conns;	/* connections served at once, >= 1 */
	bool debug;		/* log every request */
};

struct xsh_engine;

void xsh_engine_params_default(struct xsh_engine_params *p);

/* An engine serving export e (not owned). 0 or -errno. */
int xsh_engine_new(struct xsh_export *e, const struct xsh_engine_params *p,
		  struct xsh_engine **out);

/* Reserve room for one connection before its handshake: -EBUSY when
 * max_conns are served or being set up, -ESHUTDOWN after shutdown. */
int xsh_engine_reserve(struct xsh_engine *eng);
/* Give back a reservation whose handshake failed. */
void xsh_engine_unreserve(struct xsh_engine *eng);

/* Serve t on a reservation (consumed whatever the outcome).  Takes
 * ownership of t: on error it is closed.  0 or -errno. */
int xsh_engine_add(struct xsh_engine *eng, struct xsh_tport *t);

/* Connections being served now. */
unsigned xsh_engine_nr_conns(struct xsh_engine *eng);

/* Quiesce: let the requests in flight finish and hold every new one
 * (they wait, nothing fails) until xsh_engine_resume(), which the same
 * thread must call.  0, or -ETIMEDOUT when the requests in flight did
 * not finish within timeout_ms (nothing is held then). */
int xsh_engine_quiesce(struct xsh_engine *eng, long timeout_ms);
void xsh_engine_resume(struct xsh_engine *eng);

/* Refuse new connections, close every connection and wait until all are
 * gone.  Reservations still in their handshake are not waited for; their
 * xsh_engine_add() closes the transport.  The engine stays valid. */
void xsh_engine_shutdown(struct xsh_engine *eng);

#endif /* XSH_ENGINE_H */
