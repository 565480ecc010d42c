// SPDX-License-Identifier: MIT
/*
 * The xen transport's common part (see xen_internal.h): event channels,
 * which both sides use the same way once bound, and the "why" text.
 *
 * Trust: nothing from a peer is read here; a port is what the side's own
 * binding returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "xen_internal.h"

static __thread char why_buf[256];

static void quiet_vmessage(struct xentoollog_logger *l, xentoollog_level lv,
			   int errnoval, const char *context,
			   const char *format, va_list al)
{
}

struct xentoollog_logger xsh_xen_quiet_logger = {
	.vmessage = quiet_vmessage,
};

const char *xsh_xen_why(void)
{
	return why_buf[0] ? why_buf : "no details";
}

void xsh_xen_why_clear(void)
{
	why_buf[0] = '\0';
}

bool xsh_xen_why_empty(void)
{
	return why_buf[0] == '\0';
}

void xsh_xen_set_why(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
	va_end(ap);
}

int xsh_xen_notify(struct xsh_tport *t, unsigned ring)
{
	struct xen_tport *x = xsh_xen_tport(t);

	if (ring >= t->nr_rings)
		return -EINVAL;
	if (xenevtchn_notify(x->evh[ring], x->lport[ring]) < 0)
		return -errno;
	return 0;
}

/* The event channel driver masks a port when it fires: consume every
 * pending port (only ours) and unmask it. */
int xsh_xen_ack(struct xsh_tport *t, unsigned ring)
{
	struct xen_tport *x = xsh_xen_tport(t);
	xenevtchn_port_or_error_t port;

	if (ring >= t->nr_rings)
		return -EINVAL;
	for (;;) {
		port = xenevtchn_pending(x->evh[ring]);
		if (port < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (xenevtchn_unmask(x->evh[ring], (evtchn_port_t)port) < 0)
			return -errno;
	}
}

int xsh_xen_open_evtchn(struct xen_tport *x, unsigned i)
{
	int fd, fl;

	x->evh[i] = xenevtchn_open(&xsh_xen_quiet_logger, 0);
	if (!x->evh[i])
		return -errno;
	fd = xenevtchn_fd(x->evh[i]);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	x->t.ring_fd[i] = fd;
	return 0;
}

void xsh_xen_close_evtchns(struct xen_tport *x)
{
	unsigned i;

	for (i = 0; i < XSH_MAX_RINGS; i++) {
		if (!x->evh[i])
			continue;
		if (x->lport[i])
			xenevtchn_unbind(x->evh[i], x->lport[i]);
		xenevtchn_close(x->evh[i]);
		x->evh[i] = NULL;
		x->lport[i] = 0;
		x->t.ring_fd[i] = -1;
	}
}

struct xen_tport *xsh_xen_alloc(void)
{
	struct xen_tport *x = calloc(1, sizeof(*x));
	unsigned i;

	if (!x)
		return NULL;
	x->t.conn_fd = -1;
	for (i = 0; i < XSH_MAX_RINGS; i++)
		x->t.ring_fd[i] = -1;
	return x;
}
