/* SPDX-License-Identifier: MIT */
/*
 * The backend's xenbus device manager: serves every xenshare device of
 * every domain that xenstore names under
 * /local/domain/<self>/backend/xenshare/<domid>/<devid>/ (the nodes are
 * documented in protocol/xenshare_proto.h).  Devices appear and disappear
 * by xenstore watch; each connection of a device is served by a
 * sandboxed worker process of its own (xendev.h) on the device's export,
 * under the policy its backend nodes give.
 */
#ifndef XSH_XENBUS_H
#define XSH_XENBUS_H

#include "engine.h"
#include "backend/service/policy.h"

struct xsh_xenbus_params {
	struct xsh_engine_params eng;	/* per device (max_conns is 1) */
	struct xsh_policy base;		/* what the backend nodes override */
	unsigned max_rings;		/* published as max-rings */
	unsigned max_ring_order;	/* max-ring-page-order */
	unsigned max_data_pages;	/* max-data-pages */
	const char *state_dir;		/* export handle keys (state.h);
					 * NULL: XSH_STATE_DIR */
	int ready_fd;			/* one byte once serving, or -1 */
	int chld_fd;			/* a signalfd for SIGCHLD (blocked) */
	bool no_sandbox;		/* workers serve without the sandbox */
	bool use_syslog;		/* workers log to syslog */
};

void xsh_xenbus_params_default(struct xsh_xenbus_params *p);

/* Serve until a signal can be read from sig_fd (a signalfd).  Returns
 * the signal's number, or -errno when xenstore cannot be used (-ENOSYS
 * when built without Xen). */
int xsh_xenbus_serve(const struct xsh_xenbus_params *p, int sig_fd);

#endif /* XSH_XENBUS_H */
