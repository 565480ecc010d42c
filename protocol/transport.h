/* SPDX-License-Identifier: MIT */
/*
 * The transport interface: what the ring engine, the codec and the file
 * service need from "shared memory plus notifications", and nothing else.
 * Two implementations: transport/local.c (memfd + eventfds over a unix
 * socket) and transport/xen.c (grant tables + event channels + xenstore).
 * Nothing above this interface includes a transport's own headers.
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

struct xsh_tport_ops {
	const char *name;		/* "local", "xen" */
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

/* ---- local transport (transport/local.c) ------------------------------ */

/* Frontend: connect to SOCKET, share memory, handshake.  0 or -errno. */
int xsh_local_connect(const char *socket_path, const struct xsh_front_params *p,
		     struct xsh_tport **out);

/* Backend: a listening socket. */
int xsh_local_listen(const char *socket_path);
/* Backend: complete the handshake on an accepted socket (takes ownership
 * of fd).  The backend's supported features and max_io are offered; the
 * result holds the intersection.  0 or -errno (fd closed). */
int xsh_local_accept(int fd, uint64_t features, uint32_t max_io,
		    unsigned conn_no, struct xsh_tport **out);
/* Backend: as xsh_local_accept(), but a control connection
 * (XSH_LOCAL_KIND_CONTROL) is accepted too.  *kind tells which it was: for
 * data *out is set; for control the welcome has been sent and *ctl_fd is
 * the socket, now the caller's.  0 or -errno (fd closed). */
int xsh_local_accept_any(int fd, uint64_t features, uint32_t max_io,
			unsigned conn_no, uint32_t *kind,
			struct xsh_tport **out, int *ctl_fd);
/* Tools: open a control connection to SOCKET; the socket or -errno. */
int xsh_local_control_connect(const char *socket_path);

#endif /* XSH_TRANSPORT_H */
