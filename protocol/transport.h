/* SPDX-License-Identifier: MIT */
/*
 * The transport interface: what the ring engine, the codec and the file
 * service need from "shared memory plus notifications", and nothing else.
 * Two implementations: transport/local.{h,c} (memfd + eventfds over a
 * unix socket) and transport/xen*.c (grant tables + event channels +
 * xenstore, transport/xen.h).  Ring, codec and file service include no
 * transport's own header; who creates a transport picks its ops table
 * (xsh_local_front_ops, xsh_xen_back_ops, ...) and calls connect or
 * attach through it.
 *
 * A struct xsh_tport is one connection between one frontend and one
 * backend: nr_rings rings, each ring_bytes long, and one data area.  Each
 * ring has an fd that becomes readable when the peer notified it; after
 * draining the ring the owner calls ack() (consume the event, unmask) and
 * then checks the ring once more (xsh_ring_*_final_check).
 */
#ifndef XSH_TRANSPORT_H
#define XSH_TRANSPORT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "xenshare_proto.h"

struct xsh_tport;
struct xsh_front_params;		/* below */

/* Where a frontend connects. */
struct xsh_tport_addr {
	const char *socket_path;	/* local */
	unsigned devid;			/* xen: the device */
	int timeout_ms;			/* xen: wait this long for a backend,
					 * < 0 forever */
};

struct xsh_tport_ops {
	const char *name;		/* "local", "xen" */
	/* Frontend side (NULL on the backend's tables): share memory with
	 * the backend at a and handshake.  0 or -errno. */
	int (*connect)(const struct xsh_tport_addr *a,
		       const struct xsh_front_params *p, struct xsh_tport **out);
	/* Backend side (NULL on the frontend's tables): make a transport of
	 * what the caller's handshake settled; args is the transport's own
	 * (see its header).  0 or -errno. */
	int (*attach)(const void *args, struct xsh_tport **out);
	/* Tell the peer that ring i has new entries for it. */
	int (*notify)(struct xsh_tport *t, unsigned ring);
	/* Consume pending notifications of ring i (non-blocking). */
	int (*ack)(struct xsh_tport *t, unsigned ring);
	/* Frontend only (NULL on the backend side): after the connection was
	 * lost, wait up to timeout_ms for a backend and handshake again
	 * over the same shared memory, so buffers in the data area stay
	 * where they are.  Ring headers are re-initialised: the caller
	 * resets its ring state and resubmits.  0, -ETIMEDOUT, or -errno. */
	int (*reconnect)(struct xsh_tport *t, int timeout_ms);
	/* Unmap everything, close fds, free t. */
	void (*close)(struct xsh_tport *t);
};

struct xsh_tport {
	const struct xsh_tport_ops *ops;
	unsigned nr_rings;
	size_t ring_bytes;		/* per ring, 2^ring_order pages */
	void *ring_mem[XSH_MAX_RINGS];	/* shared */
	int ring_fd[XSH_MAX_RINGS];	/* readable when notified */
	void *data;			/* shared data area */
	size_t data_bytes;
	uint32_t version;		/* negotiated */
	uint64_t features;		/* negotiated */
	uint32_t max_io;		/* negotiated, <= XSH_MAX_IO */
	int conn_fd;			/* readable/hup when the peer goes away,
					 * -1 if the transport has none */
	char name[48];			/* for logs: "domid.devid", "local.N" */
};

static inline int xsh_tport_connect(const struct xsh_tport_ops *ops,
				    const struct xsh_tport_addr *a,
				    const struct xsh_front_params *p,
				    struct xsh_tport **out)
{
	return ops->connect ? ops->connect(a, p, out) : -ENOSYS;
}

static inline int xsh_tport_attach(const struct xsh_tport_ops *ops,
				   const void *args, struct xsh_tport **out)
{
	return ops->attach ? ops->attach(args, out) : -ENOSYS;
}

static inline int xsh_tport_notify(struct xsh_tport *t, unsigned ring)
{
	return t->ops->notify(t, ring);
}

static inline int xsh_tport_ack(struct xsh_tport *t, unsigned ring)
{
	return t->ops->ack(t, ring);
}

static inline int xsh_tport_reconnect(struct xsh_tport *t, int timeout_ms)
{
	return t->ops->reconnect ? t->ops->reconnect(t, timeout_ms) : -ENOSYS;
}

static inline void xsh_tport_close(struct xsh_tport *t)
{
	if (t)
		t->ops->close(t);
}

/* What a frontend asks for when it connects. */
struct xsh_front_params {
	unsigned nr_rings;		/* 1..XSH_MAX_RINGS */
	unsigned ring_order;		/* 0..XSH_MAX_RING_ORDER */
	unsigned data_pages;		/* 1..XSH_MAX_DATA_PAGES */
	uint64_t features;		/* wanted */
};

#endif /* XSH_TRANSPORT_H */
