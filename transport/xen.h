/* SPDX-License-Identifier: MIT */
/*
 * The xen transport: rings and the data area in pages a guest grants
 * with gntalloc, one event channel per ring, and the xenbus handshake
 * whose nodes protocol/xenshare_proto.h documents.  transport/xen_front.c
 * is the domU side, transport/xen_back.c the dom0 side,
 * transport/xen_evtchn.c what both share, transport/xen_store.h the
 * xenstore helpers.
 *
 * Frontend (domU): connecting through xsh_xen_front_ops finds the device's nodes, waits for the backend's
 * InitWait, grants everything once, publishes it and waits for
 * Connected.  The transport's reconnect op repeats the handshake over the
 * same grants.
 *
 * Backend (dom0): the xenbus state machine (backend/daemon/xenbus.c) reads
 * and validates the frontend's nodes into a struct xsh_xen_back_params,
 * and attaching through xsh_xen_back_ops maps the grants and binds the
 * event channels.
 *
 * This header includes no Xen header (backend/daemon/sandbox.c uses it for
 * the ioctl list); only transport/xen*.c include them.
 */
#ifndef XSH_TRANSPORT_XEN_H
#define XSH_TRANSPORT_XEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/transport.h"

#define XSH_XEN_DEVICE_TYPE	"xenshare"
#define XSH_XEN_REFS_PER_PAGE	(XSH_PAGE_SIZE / sizeof(uint32_t))
#define XSH_XEN_MAX_REFDIR	\
	((XSH_MAX_DATA_PAGES + XSH_XEN_REFS_PER_PAGE - 1) / XSH_XEN_REFS_PER_PAGE)
#define XSH_XEN_GNTALLOC_LIMIT	"/sys/module/xen_gntalloc/parameters/limit"

/* XenbusState values (xen/io/xenbus.h). */
enum xsh_xenbus_state {
	XSH_XB_UNKNOWN = 0,
	XSH_XB_INITIALISING = 1,
	XSH_XB_INITWAIT = 2,
	XSH_XB_INITIALISED = 3,
	XSH_XB_CONNECTED = 4,
	XSH_XB_CLOSING = 5,
	XSH_XB_CLOSED = 6,
};

/* Pages a frontend grants for p: rings, data area, ref directory. */
unsigned xsh_xen_pages_needed(const struct xsh_front_params *p);

/* The domU's gntalloc limit in pages, or -errno. */
long xsh_xen_gntalloc_limit(void);
/* Whether gntalloc can grant pages pages to domid right now (the limit
 * is shared by every user in the domain): grants them and takes them
 * back.  0, -ENOSPC, or -errno. */
int xsh_xen_gntalloc_probe(unsigned domid, unsigned pages);

/* Why the last xsh_xen_* call of this thread failed, for messages. */
const char *xsh_xen_why(void);

/* ---- frontend ---------------------------------------------------------- */

/* connect: grant, publish and handshake for device a->devid; wait up to
 * a->timeout_ms for the backend.  The transport's conn_fd becomes
 * readable when the backend leaves Connected.  0 or -errno
 * (xsh_xen_why() says more). */
extern const struct xsh_tport_ops xsh_xen_front_ops;

/* What the backend of a device offers (its nodes). */
struct xsh_xen_limits {
	unsigned backend_id;		/* the backend's domid */
	unsigned max_rings;
	unsigned max_ring_order;
	unsigned max_data_pages;
	uint32_t max_io;
	uint64_t features;
};

/* The devid of this domain's xenshare device whose backend "tag" is tag.
 * 0, -ENOENT, or -errno. */
int xsh_xen_find_tag(const char *tag, unsigned *devid);

/* The backend's limits for device devid (waits up to timeout_ms for the
 * backend to publish them).  0 or -errno. */
int xsh_xen_read_limits(unsigned devid, int timeout_ms,
		       struct xsh_xen_limits *out);

/* ---- backend ----------------------------------------------------------- */

/* attach: a struct xsh_xen_back_params.  Maps what it names and binds its
 * event channels.  0 or -errno (xsh_xen_why() says more). */
extern const struct xsh_tport_ops xsh_xen_back_ops;

struct xsh_xen_back_params {
	unsigned domid;
	unsigned nr_rings;
	unsigned ring_order;
	uint32_t ring_ref[XSH_MAX_RINGS][1u << XSH_MAX_RING_ORDER];
	uint32_t port[XSH_MAX_RINGS];
	unsigned data_pages;
	unsigned nr_refdir;
	uint32_t refdir_ref[XSH_XEN_MAX_REFDIR];
	uint32_t version;
	uint64_t features;
	uint32_t max_io;
	const char *name;		/* "domid.devid" */
	/* Called once, from whichever thread closes the transport, after
	 * everything is unmapped and unbound. */
	void (*on_close)(void *arg);
	void *close_arg;
	/* Receives the other end of the transport's conn_fd: closing it
	 * makes the ring engine drop the connection. */
	int *ctl_fd;
};

/* The ioctl requests a backend transport still makes once attached
 * (notify; unbind and unmap at close), for a system call filter: up to
 * max of them in req, and their number. */
unsigned xsh_xen_back_ioctls(unsigned long *req, unsigned max);

#endif /* XSH_TRANSPORT_XEN_H */
