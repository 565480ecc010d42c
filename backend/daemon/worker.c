// SPDX-License-Identifier: MIT
/*
 * Worker processes and their channel to the supervisor (worker.h): the
 * worker-side half.  The supervising side (fork, reaping, checking what
 * a worker says) is supervisor.c; this file holds what runs in the
 * worker after the fork, and the channel's framing, which both ends use.
 *
 * Trust: in xsh_worker_start() the arguments are the administrator's (or
 * the supervisor's, from nodes the guest cannot write).  xsh_worker_recv()
 * is used on both ends; what it returns is only sized, never interpreted:
 * each caller checks the body of the types it accepts.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "worker.h"

void xsh_worker_prepare(bool use_syslog)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);	/* the supervisor is already gone */
	if (use_syslog)
		openlog("xenshare-back", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

static int failed(const char *name, char *why, size_t why_len, int rc,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* why is for the supervisor (a Xen device's error node): the log line
 * alone names the device. */
static int failed(const char *name, char *why, size_t why_len, int rc,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	xsh_log(LOG_ERR, "%s: %s", name, why);
	return rc;
}

/* One canonical path is the other or lies under it. */
static bool nested(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;

	if (memcmp(a, b, n))
		return false;
	return la == lb || (la < lb ? b[n] == '/' || n == 1 :
				      a[n] == '/' || n == 1);
}

int xsh_worker_start(const struct xsh_worker_args *a, struct xsh_export **exp,
		    struct xsh_engine **eng, char *why, size_t why_len)
{
	struct xsh_sandbox_opts sb = {
		.path = a->export_abs,
		.allow_mknod = xsh_policy_wants_mknod(a->pol),
		.xen = a->xen,
		.report_fd = a->chan,
		.name = a->name,
	};
	const char *st, *where;
	int rc, upper = -1;

	*exp = NULL;
	*eng = NULL;
	if (a->template_abs && nested(a->template_abs, a->export_abs)) {
		close(a->export_fd);
		return failed(a->name, why, why_len, -EINVAL, "template %s and private directory %s must not contain each other",
			      a->template_abs, a->export_abs);
	}
	sb.template = a->template_abs;
	sb.upper_fd = &upper;
	if (a->no_sandbox) {
		close(a->export_fd);
		/* Even so, the overlay is the worker's alone. */
		rc = a->template_abs ? xsh_sandbox_overlay_only(&sb) : 0;
		if (rc)
			return failed(a->name, why, why_len, rc, "cannot mount the template %s: %s",
				      a->template_abs, strerror(-rc));
	} else {
		st = getenv("XS_SANDBOX_SELFTEST");
		if (st && *st)
			sb.selftest = st[0] == '/' ? st : "/etc/passwd";
		st = getenv("XS_SANDBOX_SELFTEST_REFUSE");
		sb.selftest_refused = st && *st;
		if (!a->pidns)
			xsh_log(LOG_WARNING, "%s: worker: no PID namespace of its own: its /proc shows other processes",
				a->name);
		rc = xsh_sandbox_enter(a->export_fd, &sb);
		if (rc)
			return failed(a->name, why, why_len, rc, "cannot enter the sandbox: %s (--no-sandbox runs without it)",
				      strerror(-rc));
	}
	where = a->template_abs ? " on its template" : "";
	rc = xsh_export_open_template(a->export_abs, upper, a->pol, exp);
	if (rc)
		return failed(a->name, why, why_len, rc, "cannot export %s%s: %s",
			      a->export_abs, where, strerror(-rc));
	if (a->handle_key)
		xsh_export_set_handle_key(*exp, a->handle_key);
	st = xsh_export_recovery_limit(*exp);
	if (st)
		xsh_log(LOG_WARNING, "%s: %s: restart recovery is limited: %s; after a restart of the backend files are found again by the name they were looked up by, and files renamed or moved since may answer ESTALE",
			a->name, a->export_abs, st);
	rc = xsh_engine_new(*exp, a->eng, eng);
	if (rc) {
		xsh_export_close(*exp);
		*exp = NULL;
		return failed(a->name, why, why_len, rc, "starting the ring engine: %s",
			      strerror(-rc));
	}
	return 0;
}

bool xsh_worker_pause_msg(struct xsh_engine *eng, int chan,
			  const struct xsh_wmsg *m, const char *name)
{
	uint32_t ms = m->arg;
	int rc;

	const char *delay;

	switch (m->type) {
	case XSH_WMSG_QUIESCE:
		if (ms == 0 || ms > XSH_WORKER_QUIESCE_MAX_MS)
			ms = XSH_WORKER_QUIESCE_MAX_MS;
		/* Tests: a worker slow to answer (docs/robustness.md). */
		delay = getenv("XS_QUIESCE_DELAY_MS");
		if (delay && *delay)
			usleep((useconds_t)strtoul(delay, NULL, 10) * 1000);
		rc = xsh_engine_quiesce(eng, ms);
		if (rc)
			xsh_log(LOG_WARNING, "%s: requests in flight did not finish within %u ms: not quiesced",
				name, ms);
		else
			xsh_log(LOG_DEBUG, "%s: quiesced", name);
		(void)xsh_worker_send(chan, XSH_WMSG_QUIESCED, (uint32_t)-rc,
				      NULL, 0, -1);
		return true;
	case XSH_WMSG_RESUME:
		xsh_engine_resume(eng);
		xsh_log(LOG_DEBUG, "%s: resumed", name);
		return true;
	}
	return false;
}

int xsh_worker_send(int chan, uint32_t type, uint32_t arg, const void *body,
		   size_t len, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct xsh_wmsg m = { .type = type, .arg = arg };
	struct iovec iov[2] = {
		{ .iov_base = &m, .iov_len = sizeof(m) },
		{ .iov_base = (void *)body, .iov_len = len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	struct cmsghdr *cm;

	if (len > XSH_WMSG_BODY_MAX)
		return -EMSGSIZE;
	if (fd >= 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(chan, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

ssize_t xsh_worker_recv(int chan, struct xsh_wmsg *m, void *body, size_t cap,
		       int *fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} cbuf;
	char spill[XSH_WMSG_BODY_MAX];
	struct iovec iov[2] = {
		{ .iov_base = m, .iov_len = sizeof(*m) },
		{ .iov_base = cap ? body : spill, .iov_len = cap ? cap : sizeof(spill) },
	};
	struct msghdr mh = {
		.msg_iov = iov, .msg_iovlen = 2,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	if (fd)
		*fd = -1;
	n = recvmsg(chan, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -EPIPE;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k, nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int one;

		for (k = 0; cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_RIGHTS && k < nfd; k++) {
			memcpy(&one, CMSG_DATA(cm) + k * sizeof(int),
			       sizeof(one));
			if (fd && *fd < 0)
				*fd = one;
			else
				close(one);
		}
	}
	if (n == 0)
		return -EPIPE;
	if ((size_t)n < sizeof(*m)) {
		if (fd && *fd >= 0)
			close(*fd);
		if (fd)
			*fd = -1;
		return -EBADMSG;
	}
	n -= (ssize_t)sizeof(*m);
	return cap ? n : 0;
}
