/* SPDX-License-Identifier: MIT */
/*
 * The local transport (transport/local.c): rings and data area in one
 * sealed memfd passed over a unix socket, eventfds for notifications.
 * The hello/welcome messages are in protocol/xenshare_proto.h.
 */
#ifndef XSH_TRANSPORT_LOCAL_H
#define XSH_TRANSPORT_LOCAL_H

#include <stdint.h>

#include "protocol/transport.h"

/* connect: a->socket_path. */
extern const struct xsh_tport_ops xsh_local_front_ops;
/* attach: a struct xsh_local_attach_args. */
extern const struct xsh_tport_ops xsh_local_back_ops;

struct xsh_local_attach_args {
	int fd;				/* accepted socket, taken over */
	uint64_t features;		/* offered */
	uint32_t max_io;		/* offered */
	unsigned conn_no;
};

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

#endif /* XSH_TRANSPORT_LOCAL_H */
