/* SPDX-License-Identifier: MIT */
/*
 * The frontend's xen mode (xenshare-front TAG MOUNTPOINT): finding the
 * device by tag, sizing rings and buffers to the domain's grant budget
 * and the backend's limits, connecting the request client over the xen
 * transport, and daemonizing before any of that (libxenstore's watch
 * thread would not survive the fork libfuse's daemonizing does later).
 */
#ifndef XSH_FRONT_XENBUS_H
#define XSH_FRONT_XENBUS_H

#include <stdbool.h>

#include "protocol/transport.h"

#define XSH_FRONT_XEN_TIMEOUT_MS	30000	/* waiting for a backend */
#define XSH_FRONT_XEN_MAX_RINGS	2u	/* default: rings per device */
#define XSH_FRONT_XEN_LARGE	2u	/* default: 1 MiB buffers */

struct xsh_front_xen {
	char tag[64];
	unsigned devid;
	int timeout_ms;
	char name[96];			/* for messages */
};

/* Sizes asked for on the command line (given) or defaults to fit. */
struct xsh_front_xen_sizes {
	unsigned nr_rings;
	bool rings_given;
	unsigned ring_order;
	bool order_given;
	unsigned nr_large;
	bool large_given;
};

/* Find the device tagged tag, read its backend's limits and fit sizes
 * within them and within the domain's gntalloc limit.  Prints what is
 * wrong to stderr.  0 or -errno. */
int xsh_front_xen_setup(struct xsh_front_xen *x, const char *tag,
		       struct xsh_front_xen_sizes *s);

/* For struct xsh_client_params.connect; arg is a struct xsh_front_xen. */
int xsh_front_xen_connect(void *arg, const struct xsh_front_params *fp,
			 struct xsh_tport **out);

/* Fork now; the parent waits for xsh_front_daemon_ready() and exits with
 * the status given there (1 if the child dies first).  Returns in the
 * child with *ready_fd set.  0 or -errno (no fork happened). */
int xsh_front_daemon_start(int *ready_fd);
/* In the child: status 0 detaches (setsid, chdir /, stdio to /dev/null)
 * and lets the parent exit 0; anything else lets it exit with that. */
void xsh_front_daemon_ready(int ready_fd, int status);

#endif /* XSH_FRONT_XENBUS_H */
