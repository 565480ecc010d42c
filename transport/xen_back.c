// SPDX-License-Identifier: MIT
/*
 * The xen transport, backend (dom0) side (see xen.h): maps what the
 * (already validated) frontend nodes name and binds each ring's
 * interdomain event channel.  The ref directory is mapped read-only, its
 * refs are copied out once and it is unmapped before the data area is
 * mapped with the copy.  conn_fd is one end of a socketpair whose other
 * end the device manager holds: closing it makes the ring engine drop
 * the connection.  Also the list of ioctls an attached transport still
 * makes, for the worker's system call filter (backend/daemon/sandbox.c).
 *
 * Trust: numbers come from backend/daemon/xenbus.c, which parsed and
 * bounded them; grant refs and ports are the guest's and may be wrong,
 * in which case mapping or binding fails and the device is refused.
 * Grants a guest made cannot be revoked while mapped, so the mappings
 * cannot fault under the ring engine.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xen/xen.h>		/* domid_t, for the two below */
#include <xen/sys/evtchn.h>
#include <xen/sys/gntdev.h>

#include "xen_internal.h"

static void xen_back_close(struct xsh_tport *t)
{
	struct xen_tport *x = xsh_xen_tport(t);
	void (*fn)(void *);
	void *arg;
	unsigned i;

	if (!t)
		return;
	xsh_xen_close_evtchns(x);
	if (x->gt) {
		for (i = 0; i < XSH_MAX_RINGS; i++)
			if (t->ring_mem[i])
				xengnttab_unmap(x->gt, t->ring_mem[i],
						x->ring_pages);
		if (t->data)
			xengnttab_unmap(x->gt, t->data,
					t->data_bytes / XSH_PAGE_SIZE);
		xengnttab_close(x->gt);
	}
	if (t->conn_fd >= 0)
		close(t->conn_fd);
	fn = x->on_close;
	arg = x->close_arg;
	free(x);
	if (fn)
		fn(arg);
}

static int xen_attach_op(const void *args, struct xsh_tport **out);

const struct xsh_tport_ops xsh_xen_back_ops = {
	.name = "xen",
	.attach = xen_attach_op,
	.notify = xsh_xen_notify,
	.ack = xsh_xen_ack,
	.close = xen_back_close,
};

static int xen_attach_op(const void *args, struct xsh_tport **out)
{
	const struct xsh_xen_back_params *p = args;
	struct xen_tport *x;
	uint32_t *refs = NULL;
	void *dir;
	unsigned i;
	int sv[2], rc;

	xsh_xen_why_clear();
	if (p->nr_rings < 1 || p->nr_rings > XSH_MAX_RINGS ||
	    p->ring_order > XSH_MAX_RING_ORDER || p->data_pages < 1 ||
	    p->data_pages > XSH_MAX_DATA_PAGES ||
	    p->nr_refdir != (p->data_pages + XSH_XEN_REFS_PER_PAGE - 1) /
			    XSH_XEN_REFS_PER_PAGE) {
		xsh_xen_set_why("sizes out of range");
		return -EINVAL;
	}
	x = xsh_xen_alloc();
	if (!x)
		return -ENOMEM;
	x->t.ops = &xsh_xen_back_ops;
	x->backend = true;
	x->ring_pages = 1u << p->ring_order;
	x->gt = xengnttab_open(&xsh_xen_quiet_logger, 0);
	if (!x->gt) {
		rc = errno ? -errno : -EIO;
		xsh_xen_set_why("cannot open /dev/xen/gntdev: %s",
				strerror(-rc));
		goto fail;
	}

	/* The directory: read-only, copied out once. */
	dir = xengnttab_map_domain_grant_refs(x->gt, p->nr_refdir, p->domid,
					      (uint32_t *)p->refdir_ref,
					      PROT_READ);
	if (!dir) {
		rc = errno ? -errno : -EIO;
		xsh_xen_set_why("cannot map the data-ref-dir grants: %s",
				strerror(-rc));
		goto fail;
	}
	refs = malloc(p->data_pages * sizeof(uint32_t));
	if (refs)
		memcpy(refs, dir, p->data_pages * sizeof(uint32_t));
	xengnttab_unmap(x->gt, dir, p->nr_refdir);
	if (!refs) {
		rc = -ENOMEM;
		goto fail;
	}
	x->t.data = xengnttab_map_domain_grant_refs(x->gt, p->data_pages,
						    p->domid, refs,
						    PROT_READ | PROT_WRITE);
	free(refs);
	if (!x->t.data) {
		rc = errno ? -errno : -EIO;
		xsh_xen_set_why("cannot map the %u data area grants: %s",
				p->data_pages, strerror(-rc));
		goto fail;
	}
	x->t.data_bytes = (size_t)p->data_pages * XSH_PAGE_SIZE;

	for (i = 0; i < p->nr_rings; i++) {
		xenevtchn_port_or_error_t port;

		x->t.ring_mem[i] = xengnttab_map_domain_grant_refs(
			x->gt, x->ring_pages, p->domid,
			(uint32_t *)p->ring_ref[i], PROT_READ | PROT_WRITE);
		if (!x->t.ring_mem[i]) {
			rc = errno ? -errno : -EIO;
			xsh_xen_set_why("cannot map the grants of ring %u: %s",
					i, strerror(-rc));
			goto fail;
		}
		rc = xsh_xen_open_evtchn(x, i);
		if (rc) {
			xsh_xen_set_why("cannot open /dev/xen/evtchn: %s",
					strerror(-rc));
			goto fail;
		}
		port = xenevtchn_bind_interdomain(x->evh[i], p->domid,
						  p->port[i]);
		if (port < 0) {
			rc = errno ? -errno : -EIO;
			xsh_xen_set_why("cannot bind event-channel-%u (port %u): %s",
					i, p->port[i], strerror(-rc));
			goto fail;
		}
		x->lport[i] = (evtchn_port_t)port;
	}
	x->t.nr_rings = p->nr_rings;
	x->t.ring_bytes = (size_t)XSH_PAGE_SIZE << p->ring_order;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		xsh_xen_set_why("socketpair: %s", strerror(errno));
		goto fail;
	}
	x->t.conn_fd = sv[0];
	x->t.version = p->version;
	x->t.features = p->features;
	x->t.max_io = p->max_io;
	snprintf(x->t.name, sizeof(x->t.name), "%s", p->name);
	x->on_close = p->on_close;
	x->close_arg = p->close_arg;
	*p->ctl_fd = sv[1];
	*out = &x->t;
	return 0;

fail:
	xen_back_close(&x->t);
	return rc;
}

unsigned xsh_xen_back_ioctls(unsigned long *req, unsigned max)
{
	/* xenevtchn_notify(), xenevtchn_unbind(), xengnttab_unmap(). */
	static const unsigned long kept[] = {
		IOCTL_EVTCHN_NOTIFY,
		IOCTL_EVTCHN_UNBIND,
		IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR,
		IOCTL_GNTDEV_UNMAP_GRANT_REF,
	};
	unsigned i, n = sizeof(kept) / sizeof(kept[0]);

	for (i = 0; i < n && i < max; i++)
		req[i] = kept[i];
	return i;
}
