// SPDX-License-Identifier: MIT
/*
 * The worker process serving one connection of a Xen device (xendev.h).
 *
 * Trust: the arguments come from the device manager: the administrator's
 * backend nodes and frontend nodes it has already checked.  The grants
 * and rings they name are the guest's; the transport and the codec check
 * everything read from them.  Once in the sandbox, this process is
 * assumed to be running the guest's exploit: what it can reach is its
 * export, its own mappings and event channels, and its channel to the
 * manager.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <unistd.h>

#include "lib/log.h"
#include "backend/service/quota.h"
#include "worker.h"
#include "xendev.h"

#ifndef XSH_HAVE_XEN

void xsh_xendev_main(const struct xsh_xendev_args *a, int chan, bool pidns)
{
	(void)a;
	(void)chan;
	(void)pidns;
	_exit(1);
}

#else

static int close_efd = -1;

/* The transport is closed (by the engine, or because we stopped). */
static void on_close(void *arg)
{
	uint64_t one = 1;

	(void)arg;
	if (write(close_efd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow from one write */
	}
}

static int failed(int chan, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int failed(int chan, const char *fmt, ...)
{
	char why[XSH_WMSG_BODY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	(void)xsh_worker_send(chan, XSH_WMSG_FAILED, 0, why, strlen(why), -1);
	return 1;
}

/* Only stdio and the channel stay open: nothing of the manager's
 * (xenstore, other devices' channels) reaches the worker. */
static void close_others(int keep)
{
	if (keep > 3)
		close_range(3, (unsigned)keep - 1, 0);
	close_range((unsigned)keep + 1, ~0u, 0);
}

static bool usage_changed(const struct xsh_quota_usage *a,
			  const struct xsh_quota_usage *b)
{
	return a->usage_bytes != b->usage_bytes ||
	       a->usage_inodes != b->usage_inodes || a->level != b->level ||
	       a->quota_bytes != b->quota_bytes ||
	       a->quota_inodes != b->quota_inodes;
}

/* Serve until asked to stop (0) or the connection is dropped. */
static int serve(int chan, int sfd, struct xsh_export *exp, const char *name)
{
	struct xsh_quota_usage u, last = { 0 };
	struct xsh_policy pol;
	struct xsh_wmsg m;
	bool sent = false;
	ssize_t n;

	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = chan, .events = POLLIN },
			{ .fd = close_efd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};

		xsh_export_get_usage(exp, &u);
		if (!sent || usage_changed(&u, &last)) {
			if (!xsh_worker_send(chan, XSH_WMSG_USAGE, 0, &u,
					    sizeof(u), -1)) {
				last = u;
				sent = true;
			}
		}
		if (poll(pfd, 3, XSH_XENDEV_USAGE_MS) < 0 && errno != EINTR)
			return 1;
		if (pfd[1].revents)
			return XSH_XENDEV_EXIT_DROPPED;
		if (pfd[2].revents)
			return 0;
		if (!pfd[0].revents)
			continue;
		n = xsh_worker_recv(chan, &m, &pol, sizeof(pol), NULL);
		if (n == -EPIPE)
			return 0;
		if (n == (ssize_t)sizeof(pol) && m.type == XSH_WMSG_POLICY &&
		    xsh_export_set_policy(exp, &pol))
			xsh_log(LOG_ERR, "%s: applying the new policy failed",
				      name);
	}
}

static int xendev_main(const struct xsh_xendev_args *a, int chan, bool pidns)
{
	struct xsh_xen_back_params xp = a->xp;
	struct xsh_worker_args wa = {
		.name = a->xp.name,
		.pol = &a->pol,
		.handle_key = a->have_key ? a->key : NULL,
		.eng = &a->eng,
		.chan = chan,
		.no_sandbox = a->no_sandbox,
		.pidns = pidns,
		.xen = true,
	};
	struct xsh_export *exp;
	struct xsh_engine *eng;
	struct xsh_tport *t;
	char why[256], *abs;
	sigset_t set;
	int fd, ctl, sfd, rc;

	close_others(chan);
	xsh_worker_prepare(a->use_syslog);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	close_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sfd < 0 || close_efd < 0)
		return failed(chan, "worker: %s", strerror(errno));

	fd = open(a->path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	abs = fd >= 0 ? realpath(a->path, NULL) : NULL;
	if (!abs)
		return failed(chan, "cannot export %s: %s", a->path,
			      errno == ENOTDIR || errno == ELOOP ?
			      "not a directory" : strerror(errno));

	/* Everything the transport needs from /dev/xen, before the
	 * sandbox hides it. */
	xp.on_close = on_close;
	xp.close_arg = NULL;
	xp.ctl_fd = &ctl;
	rc = xsh_tport_attach(&xsh_xen_back_ops, &xp, &t);
	if (rc)
		return failed(chan, "%s", xsh_xen_why());

	wa.export_abs = abs;
	wa.export_fd = fd;
	if (a->template) {
		wa.template_abs = realpath(a->template, NULL);
		if (!wa.template_abs)
			return failed(chan, "template %s: %s", a->template,
				      strerror(errno));
	}
	if (xsh_worker_start(&wa, &exp, &eng, why, sizeof(why)))
		return failed(chan, "%s", why);
	rc = xsh_engine_reserve(eng);
	if (!rc)
		rc = xsh_engine_add(eng, t);
	if (rc)
		return failed(chan, "rings refused: %s", strerror(-rc));
	xsh_log(LOG_INFO, "%s: serving %s (%s)", a->xp.name, abs,
		      a->no_sandbox ? "no sandbox" : "sandboxed");
	if (xsh_worker_send(chan, XSH_WMSG_READY, 0, NULL, 0, -1))
		return 1;

	rc = serve(chan, sfd, exp, a->xp.name);
	close(ctl);
	xsh_engine_shutdown(eng);
	return rc;
}

void xsh_xendev_main(const struct xsh_xendev_args *a, int chan, bool pidns)
{
	_exit(xendev_main(a, chan, pidns));
}

#endif /* XSH_HAVE_XEN */
