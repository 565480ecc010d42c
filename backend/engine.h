/* SPDX-License-Identifier: MIT */
/*
 * The ring engine: serves connected transports (struct xs_tport) with the
 * file service.  Per connection: one session, one thread per ring that
 * drains requests, a bounded work queue and a pool of worker threads that
 * call xs_dispatch() and put each response on the ring its request came
 * from.  A connection that breaks the protocol or hangs up is closed on
 * its own; nothing it does reaches another connection.
 *
 * Trust: ring indices and slots are the peer's (protocol/ring.c checks
 * them); request contents are checked by the codec inside xs_dispatch().
 */
#ifndef XS_ENGINE_H
#define XS_ENGINE_H

#include <stdbool.h>

#include "../protocol/transport.h"
#include "service.h"

#define XS_ENGINE_MAX_WORKERS	64u

struct xs_engine_params {
	unsigned nr_workers;	/* per connection, 1..XS_ENGINE_MAX_WORKERS */
	unsigned max_conns;	/* connections served at once, >= 1 */
	bool debug;		/* log every request */
};

struct xs_engine;

void xs_engine_params_default(struct xs_engine_params *p);

/* An engine serving export e (not owned). 0 or -errno. */
int xs_engine_new(struct xs_export *e, const struct xs_engine_params *p,
		  struct xs_engine **out);

/* Reserve room for one connection before its handshake: -EBUSY when
 * max_conns are served or being set up, -ESHUTDOWN after shutdown. */
int xs_engine_reserve(struct xs_engine *eng);
/* Give back a reservation whose handshake failed. */
void xs_engine_unreserve(struct xs_engine *eng);

/* Serve t on a reservation (consumed whatever the outcome).  Takes
 * ownership of t: on error it is closed.  0 or -errno. */
int xs_engine_add(struct xs_engine *eng, struct xs_tport *t);

/* Connections being served now. */
unsigned xs_engine_nr_conns(struct xs_engine *eng);

/* Refuse new connections, close every connection and wait until all are
 * gone.  Reservations still in their handshake are not waited for; their
 * xs_engine_add() closes the transport.  The engine stays valid. */
void xs_engine_shutdown(struct xs_engine *eng);

/* Logging for the whole daemon: to stderr (prefixed "xenshare-back: ")
 * or to syslog.  LOG_DEBUG lines only when debug is set. */
void xs_engine_log_setup(bool use_syslog, bool debug);
void xs_engine_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* XS_ENGINE_H */
