/* SPDX-License-Identifier: MIT */
/*
 * What the two sides of the xen transport share (transport/xen_evtchn.c):
 * the transport struct, event channels, and the per-thread "why" text
 * behind xsh_xen_why().  Only transport/xen*.c include this.
 */
#ifndef XSH_TRANSPORT_XEN_INTERNAL_H
#define XSH_TRANSPORT_XEN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xentoollog.h>

#include "xen.h"

#define XSH_XEN_PATH_LEN	256

/* One connection.  No lock: written while connecting, reconnecting and
 * closing, which its owner does with the rings idle; notify and ack only
 * read it. */
struct xen_tport {
	struct xsh_tport t;
	bool backend;
	xenevtchn_handle *evh[XSH_MAX_RINGS];
	evtchn_port_t lport[XSH_MAX_RINGS];
	unsigned ring_pages;

	/* frontend */
	struct xsh_front_params p;
	unsigned devid;
	unsigned be_domid;
	char fe[XSH_XEN_PATH_LEN];
	char be[XSH_XEN_PATH_LEN];
	struct xs_handle *xsh;
	bool watching;
	bool published;			/* our nodes are out, state 3 */
	xengntshr_handle *gs;
	uint32_t ring_ref[XSH_MAX_RINGS][1u << XSH_MAX_RING_ORDER];
	uint32_t *data_ref;
	void *refdir;
	unsigned nr_refdir;
	uint32_t refdir_ref[XSH_XEN_MAX_REFDIR];

	/* backend */
	xengnttab_handle *gt;
	void (*on_close)(void *arg);
	void *close_arg;
};

static inline struct xen_tport *xsh_xen_tport(struct xsh_tport *t)
{
	return (struct xen_tport *)t;
}

/* Hands to the Xen libraries: drops their own error lines, which would
 * only repeat what xsh_xen_why() says better. */
extern struct xentoollog_logger xsh_xen_quiet_logger;

void xsh_xen_why_clear(void);
bool xsh_xen_why_empty(void);
void xsh_xen_set_why(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* A zeroed transport with every fd -1, or NULL. */
struct xen_tport *xsh_xen_alloc(void);

/* The ops both sides share. */
int xsh_xen_notify(struct xsh_tport *t, unsigned ring);
int xsh_xen_ack(struct xsh_tport *t, unsigned ring);

/* A non-blocking event channel handle for ring i, its fd the ring's. */
int xsh_xen_open_evtchn(struct xen_tport *x, unsigned i);
/* Unbind and close every ring's event channel. */
void xsh_xen_close_evtchns(struct xen_tport *x);

#endif /* XSH_TRANSPORT_XEN_INTERNAL_H */
