/* SPDX-License-Identifier: MIT */
/*
 * Worker processes of xenshare-back, and the channel between a worker and
 * its supervisor.  Every export is served by a worker of its own: the one
 * worker of a local export (main.c), or one worker per connection of a
 * Xen device (xendev.h).  A worker is forked by its supervisor
 * (supervisor.h), enters the sandbox, opens its export and starts the ring engine in
 * xsh_worker_start(), and from then on is assumed hostile: the supervisor
 * takes from it only the messages of sandbox.h, each checked.
 *
 * Messages are SOCK_SEQPACKET datagrams: a struct xsh_wmsg, then a body
 * whose layout the type gives, at most XSH_WMSG_BODY_MAX bytes, and at
 * most one descriptor.
 */
#ifndef XSH_WORKER_H
#define XSH_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine.h"
#include "backend/service/policy.h"
#include "sandbox.h"
#include "backend/service/service.h"

#define XSH_WMSG_BODY_MAX	256

/* What xsh_worker_start() needs. */
struct xsh_worker_args {
	const char *name;		/* for logs: "local", "domid.devid" */
	const char *export_abs;		/* canonical host path: the export,
					 * or a template device's private
					 * directory */
	const char *template_abs;	/* canonical template path, or NULL
					 * (docs/templates.md) */
	int export_fd;			/* O_PATH; closed by xsh_worker_start */
	const struct xsh_policy *pol;
	const uint8_t *handle_key;	/* XSH_SIPHASH_KEY_LEN bytes, or NULL
					 * for a random key */
	const struct xsh_engine_params *eng;
	int chan;			/* to the supervisor */
	bool no_sandbox;
	bool pidns;			/* from the supervisor's fork */
	bool xen;			/* holds Xen grant and event channel
					 * handles (sandbox.h) */
};

/* In a worker just forked, before it starts threads: die with the
 * supervisor, and open what the C library would otherwise open lazily
 * (the log, the time zone) while the files are still reachable. */
void xsh_worker_prepare(bool use_syslog);

/* The sandbox (unless no_sandbox), the export and the engine.  0, or
 * -errno with the reason logged and put in why. */
int xsh_worker_start(const struct xsh_worker_args *a, struct xsh_export **exp,
		    struct xsh_engine **eng, char *why, size_t why_len);

/* A quiesce or resume message of the supervisor's (sandbox.h) for eng:
 * true if m was one (handled, the answer sent), false if not.  The
 * bound a quiesce waits for requests in flight is the supervisor's, at
 * most XSH_WORKER_QUIESCE_MAX_MS.  Call it from one thread only. */
#define XSH_WORKER_QUIESCE_MAX_MS	60000u
bool xsh_worker_pause_msg(struct xsh_engine *eng, int chan,
			  const struct xsh_wmsg *m, const char *name);

/* One message: 0 or -errno.  fd (or -1) travels with it. */
int xsh_worker_send(int chan, uint32_t type, uint32_t arg, const void *body,
		   size_t len, int fd);

/* One message without waiting: the body's length (bytes beyond cap are
 * cut, and a message shorter than its header is -EBADMSG), -EAGAIN when
 * there is none, -EPIPE once the other end is closed.  *fd gets the
 * descriptor it carried, if fd is not NULL (any other is closed). */
ssize_t xsh_worker_recv(int chan, struct xsh_wmsg *m, void *body, size_t cap,
		       int *fd);

#endif /* XSH_WORKER_H */
