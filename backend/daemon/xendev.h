/* SPDX-License-Identifier: MIT */
/*
 * One connection of a Xen device, served by a worker process of its own
 * (worker.h).  The device manager (xenbus.c) reads and checks the
 * frontend's nodes and the device's policy, then has the supervisor
 * (supervisor.h) fork the worker.  The
 * worker maps the grants and binds the event channels, enters the sandbox
 * holding only its export, opens the export (the quota scan), starts the
 * ring engine and says XSH_WMSG_READY; only then does the manager write
 * Connected.  A worker that cannot serve says XSH_WMSG_FAILED with the
 * reason (for the device's error node) and exits 1.
 *
 * Channel, manager -> worker: XSH_WMSG_POLICY (a changed policy, applied at
 * once); hanging up asks the worker to drop the connection and exit 0.
 * Worker -> manager: READY, FAILED, USAGE (the quota usage, every
 * XSH_XENDEV_USAGE_MS while it changes), SYSCALL (sandbox.h).
 *
 * Exit status: 0 asked to stop; XSH_XENDEV_EXIT_DROPPED the ring engine
 * dropped the connection on its own (the frontend broke the protocol, or
 * a ring failed); 1 could not serve; XSH_SANDBOX_EXIT_SYSCALL stopped by
 * the system call filter.
 */
#ifndef XSH_XENDEV_H
#define XSH_XENDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "transport/xen.h"
#include "engine.h"
#include "backend/service/policy.h"
#include "backend/service/siphash.h"

#define XSH_XENDEV_EXIT_DROPPED	3
#define XSH_XENDEV_USAGE_MS	1000

struct xsh_xendev_args {
	struct xsh_xen_back_params xp;	/* checked frontend nodes, name set;
					 * on_close is the worker's own */
	const char *path;		/* the backend's path node */
	const char *template;		/* its template node, or NULL */
	struct xsh_policy pol;
	struct xsh_engine_params eng;
	bool have_key;
	uint8_t key[XSH_SIPHASH_KEY_LEN];	/* the export's handle key */
	bool no_sandbox;
	bool use_syslog;
};

/* The worker for a, in the child its supervisor forked (supervisor.h):
 * chan is its end of the channel, pidns whether it has a PID namespace
 * of its own.  Exits with the status above. */
void xsh_xendev_main(const struct xsh_xendev_args *a, int chan, bool pidns)
	__attribute__((noreturn));

#endif /* XSH_XENDEV_H */
