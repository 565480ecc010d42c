// SPDX-License-Identifier: MIT
/*
 * The xen transport, frontend (domU) side (see xen.h and the xenstore
 * section of protocol/xenshare_proto.h).
 *
 * Every ring (2^ring_order pages) and the data area are granted once with
 * gntalloc, plus "ref directory" pages holding the data area's grant
 * refs, granted read-only; each ring gets its own event channel handle
 * (an unbound port the backend binds), so each ring has its own fd.
 * Reconnects reuse all of it: only the ring headers restart.  conn_fd is
 * the fd of a xenstore watch on the backend's state: it becomes readable
 * when the backend writes a new state (after Connected, that means it
 * left Connected).
 *
 * Trust: the backend's nodes (limits, state, error) are parsed and
 * bounded before use; the error text is made printable.  Our own nodes
 * are written in one transaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "protocol/codec.h"
#include "protocol/ring.h"
#include "xen_internal.h"
#include "xen_store.h"

#define VALUE_MAX	256	/* longest node value we accept */
#define WATCH_TOKEN	"xenshare-be-state"

static char *read_node(struct xs_handle *h, const char *dir, const char *node)
{
	return xsh_store_read(h, dir, node, VALUE_MAX);
}

static int read_u64(struct xs_handle *h, const char *dir, const char *node,
		    uint64_t max, uint64_t *out)
{
	return xsh_store_read_u64(h, dir, node, VALUE_MAX, max, out);
}

/* ---- the grant budget ---------------------------------------------------- */

unsigned xsh_xen_pages_needed(const struct xsh_front_params *p)
{
	return (p->nr_rings << p->ring_order) + p->data_pages +
	       (p->data_pages + XSH_XEN_REFS_PER_PAGE - 1) / XSH_XEN_REFS_PER_PAGE;
}

long xsh_xen_gntalloc_limit(void)
{
	char buf[32];
	long v;
	ssize_t n;
	int fd;

	fd = open(XSH_XEN_GNTALLOC_LIMIT, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	return v > 0 ? v : -EIO;
}

int xsh_xen_gntalloc_probe(unsigned domid, unsigned pages)
{
	xengntshr_handle *gs;
	uint32_t *refs;
	void *mem;
	int rc = 0;

	refs = calloc(pages ? pages : 1, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	gs = xengntshr_open(&xsh_xen_quiet_logger, 0);
	if (!gs) {
		rc = errno ? -errno : -EIO;
		free(refs);
		return rc;
	}
	mem = xengntshr_share_pages(gs, domid, pages, refs, 0);
	if (mem)
		xengntshr_unshare(gs, mem, pages);
	else
		rc = errno ? -errno : -ENOSPC;
	xengntshr_close(gs);
	free(refs);
	return rc;
}

/* ---- frontend: finding the device --------------------------------------- */

static int my_domid(struct xs_handle *h, unsigned *domid)
{
	uint64_t v;
	char *s;
	int rc;

	s = xsh_store_read(h, NULL, "domid", 0);
	if (!s) {
		xsh_xen_set_why("cannot read this domain's id from xenstore: %s",
				strerror(errno));
		return -errno;
	}
	rc = xsh_codec_parse_u64(s, 0x7fef, &v);
	free(s);
	if (rc)
		return rc;
	*domid = (unsigned)v;
	return 0;
}

static int front_paths(struct xen_tport *x)
{
	unsigned dom = 0;
	uint64_t v;
	char *be;
	int rc;

	rc = my_domid(x->xsh, &dom);
	if (rc)
		return rc;
	snprintf(x->fe, sizeof(x->fe), "/local/domain/%u/device/%s/%u", dom,
		 XSH_XEN_DEVICE_TYPE, x->devid);
	be = read_node(x->xsh, x->fe, "backend");
	if (!be) {
		rc = -errno;
		xsh_xen_set_why("device %u: no %s/backend: %s", x->devid, x->fe,
				strerror(errno));
		return rc;
	}
	if (be[0] != '/' || strlen(be) >= sizeof(x->be)) {
		xsh_xen_set_why("device %u: malformed backend path", x->devid);
		free(be);
		return -EINVAL;
	}
	strcpy(x->be, be);
	free(be);
	rc = read_u64(x->xsh, x->fe, "backend-id", 0x7fef, &v);
	if (rc) {
		xsh_xen_set_why("device %u: malformed or missing backend-id",
				x->devid);
		return rc;
	}
	x->be_domid = (unsigned)v;
	return 0;
}

int xsh_xen_find_tag(const char *tag, unsigned *devid)
{
	char dir[64];
	struct xs_handle *h;
	unsigned n, i;
	char **ents;
	int rc = -ENOENT;

	xsh_xen_why_clear();
	h = xs_open(0);
	if (!h) {
		rc = errno ? -errno : -EIO;
		xsh_xen_set_why("cannot open xenstore: %s", strerror(-rc));
		return rc;
	}
	snprintf(dir, sizeof(dir), "device/%s", XSH_XEN_DEVICE_TYPE);
	ents = xs_directory(h, XBT_NULL, dir, &n);
	xsh_xen_set_why("no %s device has the tag '%s'", XSH_XEN_DEVICE_TYPE,
			tag);
	for (i = 0; ents && i < n; i++) {
		char fe[96], *be, *t;
		uint64_t id;

		if (xsh_codec_parse_u64(ents[i], 0xffff, &id))
			continue;
		snprintf(fe, sizeof(fe), "%s/%s", dir, ents[i]);
		be = read_node(h, fe, "backend");
		if (!be)
			continue;
		t = read_node(h, be, "tag");
		free(be);
		if (t && !strcmp(t, tag)) {
			*devid = (unsigned)id;
			rc = 0;
			free(t);
			break;
		}
		free(t);
	}
	free(ents);
	xs_close(h);
	return rc;
}

/* ---- frontend: waiting on the backend's state ---------------------------- */

static int be_state(struct xen_tport *x)
{
	uint64_t v;

	if (read_u64(x->xsh, x->be, "state", XSH_XB_CLOSED, &v))
		return XSH_XB_UNKNOWN;
	return (int)v;
}

static int watch_be(struct xen_tport *x)
{
	int rc;

	if (x->watching)
		return 0;
	rc = xsh_store_watch(x->xsh, x->be, "state", WATCH_TOKEN);
	if (rc) {
		xsh_xen_set_why("cannot watch %s/state: %s", x->be,
				strerror(-rc));
		return rc;
	}
	x->watching = true;
	x->t.conn_fd = xs_fileno(x->xsh);
	return 0;
}

/* Wait until the backend's state is one of the bits in want (1 << state);
 * deadline < 0: forever.  The state seen, or -ETIMEDOUT / -errno. */
static int wait_be(struct xen_tport *x, unsigned want, long deadline)
{
	struct pollfd pfd = { .fd = x->t.conn_fd, .events = POLLIN };
	long left;
	int st, rc;

	for (;;) {
		xsh_store_drain(x->xsh);
		st = be_state(x);
		if (want & (1u << st))
			return st;
		left = deadline < 0 ? -1 : deadline - xsh_now_ms();
		if (deadline >= 0 && left <= 0)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, deadline < 0 ? 1000 : (int)(left < 1000 ?
							       left : 1000));
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

/* Until our frontend directory and the backend's state exist. */
static int wait_device(struct xen_tport *x, long deadline)
{
	struct pollfd pfd = { .fd = x->t.conn_fd, .events = POLLIN };
	long left;
	char *v;

	for (;;) {
		xsh_store_drain(x->xsh);
		v = read_node(x->xsh, x->fe, "backend");
		if (v) {
			free(v);
			if (xsh_store_exists(x->xsh, x->be, "state"))
				return 0;
		}
		left = deadline < 0 ? 1000 : deadline - xsh_now_ms();
		if (left <= 0) {
			xsh_xen_set_why("device %u is gone (%s)", x->devid,
					x->fe);
			return -ENODEV;
		}
		if (poll(&pfd, 1, left < 1000 ? (int)left : 1000) < 0 &&
		    errno != EINTR)
			return -errno;
	}
}

static bool version_offered(const char *list)
{
	const char *c = list;

	while (*c) {
		char *end;
		unsigned long v;

		while (*c == ' ' || *c == ',')
			c++;
		if (!*c)
			break;
		errno = 0;
		v = strtoul(c, &end, 10);
		if (end == c)
			return false;
		if (!errno && v == XSH_PROTO_VERSION)
			return true;
		c = end;
	}
	return false;
}

static int read_limits(struct xs_handle *h, const char *be,
		       struct xsh_xen_limits *l)
{
	uint64_t v;
	char *vers;
	int rc;

	vers = read_node(h, be, "versions");
	if (!vers)
		return -errno;
	rc = version_offered(vers) ? 0 : -EPROTONOSUPPORT;
	free(vers);
	if (rc) {
		xsh_xen_set_why("the backend does not speak protocol version %u",
				XSH_PROTO_VERSION);
		return rc;
	}
	if ((rc = read_u64(h, be, "max-rings", 0xffffffffu, &v)))
		return rc;
	l->max_rings = v > XSH_MAX_RINGS ? XSH_MAX_RINGS : (unsigned)v;
	if ((rc = read_u64(h, be, "max-ring-page-order", 0xffffffffu, &v)))
		return rc;
	l->max_ring_order = v > XSH_MAX_RING_ORDER ? XSH_MAX_RING_ORDER :
			    (unsigned)v;
	if ((rc = read_u64(h, be, "max-data-pages", 0xffffffffu, &v)))
		return rc;
	l->max_data_pages = v > XSH_MAX_DATA_PAGES ? XSH_MAX_DATA_PAGES :
			    (unsigned)v;
	if ((rc = read_u64(h, be, "max-io", 0xffffffffu, &v)))
		return rc;
	l->max_io = v > XSH_MAX_IO ? XSH_MAX_IO : (uint32_t)v;
	if ((rc = read_u64(h, be, "feature-flags", UINT64_MAX, &v)))
		return rc;
	l->features = v;
	if (l->max_rings < 1 || l->max_data_pages < 1 ||
	    l->max_io < XSH_PAGE_SIZE) {
		xsh_xen_set_why("the backend's limits allow no connection");
		return -EPROTO;
	}
	return 0;
}

int xsh_xen_read_limits(unsigned devid, int timeout_ms,
		       struct xsh_xen_limits *out)
{
	long deadline = timeout_ms < 0 ? -1 : xsh_now_ms() + timeout_ms;
	struct xen_tport *x;
	int rc;

	xsh_xen_why_clear();
	x = xsh_xen_alloc();
	if (!x)
		return -ENOMEM;
	x->devid = devid;
	x->xsh = xs_open(0);
	if (!x->xsh) {
		rc = errno ? -errno : -EIO;
		xsh_xen_set_why("cannot open xenstore: %s", strerror(-rc));
		goto out;
	}
	rc = front_paths(x);
	if (rc)
		goto out;
	rc = watch_be(x);
	if (rc)
		goto out;
	/* Limits are there once a backend reached InitWait. */
	rc = wait_be(x, 1u << XSH_XB_INITWAIT | 1u << XSH_XB_CONNECTED |
		     1u << XSH_XB_CLOSING | 1u << XSH_XB_CLOSED, deadline);
	if (rc < 0) {
		xsh_xen_set_why(
		    "no backend for device %u (%s/state)%s", devid, x->be,
		    rc == -ETIMEDOUT
			? ": is xenshare-back running in the backend domain?"
			: "");
		goto out;
	}
	rc = read_limits(x->xsh, x->be, out);
	out->backend_id = x->be_domid;
	if (rc && xsh_xen_why_empty())
		xsh_xen_set_why("malformed backend limits under %s", x->be);
out:
	if (x->xsh)
		xs_close(x->xsh);
	free(x);
	return rc;
}

/* ---- frontend: grants ---------------------------------------------------- */

static void front_ungrant(struct xen_tport *x)
{
	unsigned i;

	xsh_xen_close_evtchns(x);
	if (!x->gs)
		return;
	for (i = 0; i < XSH_MAX_RINGS; i++)
		if (x->t.ring_mem[i])
			xengntshr_unshare(x->gs, x->t.ring_mem[i], x->ring_pages);
	if (x->t.data)
		xengntshr_unshare(x->gs, x->t.data, x->p.data_pages);
	if (x->refdir)
		xengntshr_unshare(x->gs, x->refdir, x->nr_refdir);
	xengntshr_close(x->gs);
	x->gs = NULL;
}

static int share_failed(struct xen_tport *x, const char *what)
{
	int err = errno ? errno : ENOMEM;
	long limit = xsh_xen_gntalloc_limit();

	if (err == ENOSPC || err == ENOMEM)
		xsh_xen_set_why("cannot grant the %s: %s; this device needs "
				"%u pages and the domain's grant limit is %ld "
				"pages in all (%s): raise it or ask for fewer "
				"or smaller buffers",
				what, strerror(err),
				xsh_xen_pages_needed(&x->p), limit,
				XSH_XEN_GNTALLOC_LIMIT);
	else
		xsh_xen_set_why("cannot grant the %s: %s", what, strerror(err));
	return -err;
}

static int front_grant(struct xen_tport *x)
{
	const struct xsh_front_params *p = &x->p;
	unsigned i;
	int rc;

	x->gs = xengntshr_open(&xsh_xen_quiet_logger, 0);
	if (!x->gs) {
		rc = errno ? -errno : -EIO;
		xsh_xen_set_why("cannot open /dev/xen/gntalloc: %s (is xen_gntalloc loaded?)",
				strerror(-rc));
		return rc;
	}
	x->ring_pages = 1u << p->ring_order;
	for (i = 0; i < p->nr_rings; i++) {
		x->t.ring_mem[i] = xengntshr_share_pages(x->gs, x->be_domid,
							 x->ring_pages,
							 x->ring_ref[i], 1);
		if (!x->t.ring_mem[i])
			return share_failed(x, "rings");
	}
	x->data_ref = calloc(p->data_pages, sizeof(uint32_t));
	if (!x->data_ref)
		return -ENOMEM;
	x->t.data = xengntshr_share_pages(x->gs, x->be_domid, p->data_pages,
					  x->data_ref, 1);
	if (!x->t.data)
		return share_failed(x, "data area");
	x->nr_refdir = (p->data_pages + XSH_XEN_REFS_PER_PAGE - 1) /
		       XSH_XEN_REFS_PER_PAGE;
	x->refdir = xengntshr_share_pages(x->gs, x->be_domid, x->nr_refdir,
					  x->refdir_ref, 0);
	if (!x->refdir)
		return share_failed(x, "ref directory");
	memcpy(x->refdir, x->data_ref, p->data_pages * sizeof(uint32_t));

	for (i = 0; i < p->nr_rings; i++) {
		xenevtchn_port_or_error_t port;

		rc = xsh_xen_open_evtchn(x, i);
		if (rc) {
			xsh_xen_set_why("cannot open /dev/xen/evtchn: %s",
					strerror(-rc));
			return rc;
		}
		port = xenevtchn_bind_unbound_port(x->evh[i], x->be_domid);
		if (port < 0) {
			rc = -errno;
			xsh_xen_set_why("cannot allocate an event channel: %s",
					strerror(errno));
			return rc;
		}
		x->lport[i] = (evtchn_port_t)port;
	}
	x->t.nr_rings = p->nr_rings;
	x->t.ring_bytes = (size_t)XSH_PAGE_SIZE << p->ring_order;
	x->t.data_bytes = (size_t)p->data_pages * XSH_PAGE_SIZE;
	return 0;
}

/* ---- frontend: handshake ------------------------------------------------- */

static int publish(struct xen_tport *x)
{
	const struct xsh_front_params *p = &x->p;
	xs_transaction_t xt;
	unsigned i, j, tries;
	char node[48];
	int rc;

	for (tries = 0; tries < 100; tries++) {
		xt = xs_transaction_start(x->xsh);
		if (xt == XBT_NULL)
			return -errno;
		rc = xsh_store_write(x->xsh, xt, x->fe, "version", "%u",
				     XSH_PROTO_VERSION);
		rc = rc ?: xsh_store_write(x->xsh, xt, x->fe, "num-rings", "%u",
					   p->nr_rings);
		rc = rc ?: xsh_store_write(x->xsh, xt, x->fe, "ring-page-order",
					   "%u", p->ring_order);
		for (i = 0; i < p->nr_rings && !rc; i++) {
			for (j = 0; j < x->ring_pages && !rc; j++) {
				snprintf(node, sizeof(node), "ring-ref%u-%u",
					 i, j);
				rc = xsh_store_write(x->xsh, xt, x->fe, node,
						     "%u", x->ring_ref[i][j]);
			}
			snprintf(node, sizeof(node), "event-channel-%u", i);
			rc = rc
				 ?: xsh_store_write(x->xsh, xt, x->fe, node,
						    "%u", x->lport[i]);
		}
		rc = rc
			 ?: xsh_store_write(x->xsh, xt, x->fe, "data-pages",
					    "%u", p->data_pages);
		for (i = 0; i < x->nr_refdir && !rc; i++) {
			snprintf(node, sizeof(node), "data-ref-dir-%u", i);
			rc = xsh_store_write(x->xsh, xt, x->fe, node, "%u",
					     x->refdir_ref[i]);
		}
		rc = rc
			 ?: xsh_store_write(x->xsh, xt, x->fe, "feature-flags",
					    "%llu",
					    (unsigned long long)p->features);
		rc = rc ?: xsh_store_write(x->xsh, xt, x->fe, "state", "%d",
					   XSH_XB_INITIALISED);
		if (rc) {
			xs_transaction_end(x->xsh, xt, true);
			return rc;
		}
		if (xs_transaction_end(x->xsh, xt, false))
			return 0;
		if (errno != EAGAIN)
			return -errno;
	}
	return -EAGAIN;
}

static void reset_rings(struct xen_tport *x)
{
	unsigned i;

	for (i = 0; i < x->t.nr_rings; i++) {
		struct xsh_ring r;

		xsh_ring_front_init(&r, x->t.ring_mem[i], x->t.ring_bytes);
		xsh_xen_ack(&x->t, i);
	}
}

static int set_state(struct xen_tport *x, int st)
{
	return xsh_store_write(x->xsh, XBT_NULL, x->fe, "state", "%d", st);
}

static int refused(struct xen_tport *x, int st)
{
	char *err = read_node(x->xsh, x->be, "error");
	size_t k;

	if (err)
		for (k = 0; err[k]; k++)
			if (err[k] < ' ' || err[k] > '~')
				err[k] = '?';
	xsh_xen_set_why("the backend refused the device (state %d): %s", st,
			err ? err : "no reason given");
	free(err);
	return -ECONNREFUSED;
}

/* One handshake over the grants we hold.  0, -EAGAIN (start over), or
 * an error. */
static int handshake_once(struct xen_tport *x, long deadline)
{
	struct xsh_xen_limits l;
	uint64_t v;
	int st, rc;

	/* After a hot-unplug the device comes back under the same paths
	 * (xenshare-ctl reuses the lowest free devid). */
	rc = wait_device(x, deadline);
	if (rc)
		return rc;
	x->t.version = 0;
	/* An earlier attempt published and the backend has not answered
	 * yet (its first connection to an export counts the export's
	 * usage, which takes a while): wait on rather than start over. */
	st = be_state(x);
	if (x->published && !read_u64(x->xsh, x->fe, "state", XSH_XB_CLOSED,
				      &v) && v == XSH_XB_INITIALISED &&
	    (st == XSH_XB_INITWAIT || st == XSH_XB_CONNECTED)) {
		rc = read_limits(x->xsh, x->be, &l);
		if (rc)
			return rc;
		goto wait_connected;
	}
	/* Initialising makes a backend that is still connected to an
	 * earlier frontend of this device (or to our own previous
	 * connection), or that refused us, reset to InitWait. */
	x->published = false;
	if (read_u64(x->xsh, x->fe, "state", XSH_XB_CLOSED, &v) ||
	    v != XSH_XB_INITIALISING) {
		rc = set_state(x, XSH_XB_INITIALISING);
		if (rc)
			return rc;
	}
	st = wait_be(x, 1u << XSH_XB_INITWAIT, deadline);
	if (st < 0) {
		xsh_xen_set_why("device %u: the backend did not reach InitWait (%s/state is %d)%s",
				x->devid, x->be, be_state(x), st == -ETIMEDOUT ?
				": is xenshare-back running in the backend domain?" : "");
		return st;
	}
	rc = read_limits(x->xsh, x->be, &l);
	if (rc)
		return rc;
	if (x->p.nr_rings > l.max_rings || x->p.ring_order > l.max_ring_order ||
	    x->p.data_pages > l.max_data_pages) {
		xsh_xen_set_why(
		    "the backend allows %u rings of order %u and %u data "
		    "pages; asked for %u of order %u and %u",
		    l.max_rings, l.max_ring_order, l.max_data_pages,
		    x->p.nr_rings, x->p.ring_order, x->p.data_pages);
		return -E2BIG;
	}
	reset_rings(x);
	rc = publish(x);
	if (rc) {
		xsh_xen_set_why("cannot write %s: %s", x->fe, strerror(-rc));
		return rc;
	}
	x->published = true;
wait_connected:
	st = wait_be(x, 1u << XSH_XB_CONNECTED | 1u << XSH_XB_CLOSING |
		     1u << XSH_XB_CLOSED, deadline);
	if (st == -ETIMEDOUT) {
		xsh_xen_set_why("device %u: the backend did not connect",
				x->devid);
		return st;
	}
	if (st < 0)
		return st;
	if (st != XSH_XB_CONNECTED) {
		x->published = false;
		return refused(x, st);
	}
	x->published = false;
	rc = set_state(x, XSH_XB_CONNECTED);
	if (rc)
		return rc;
	x->t.version = XSH_PROTO_VERSION;
	x->t.features = x->p.features & l.features;
	x->t.max_io = l.max_io;
	/* From here on, a new watch event means the backend moved. */
	xsh_store_drain(x->xsh);
	if (be_state(x) != XSH_XB_CONNECTED)
		return -EAGAIN;
	return 0;
}

static int handshake(struct xen_tport *x, long deadline)
{
	int rc;

	do
		rc = handshake_once(x, deadline);
	while (rc == -EAGAIN && (deadline < 0 || xsh_now_ms() < deadline));
	return rc;
}

static void xen_front_close(struct xsh_tport *t)
{
	struct xen_tport *x = xsh_xen_tport(t);

	if (!t)
		return;
	if (x->xsh) {
		if (x->fe[0])
			set_state(x, XSH_XB_CLOSED);
		xs_close(x->xsh);
	}
	front_ungrant(x);
	free(x->data_ref);
	free(x);
}

static int xen_front_reconnect(struct xsh_tport *t, int timeout_ms)
{
	struct xen_tport *x = xsh_xen_tport(t);

	return handshake(x, timeout_ms < 0 ? -1 : xsh_now_ms() + timeout_ms);
}

static int xen_connect(unsigned devid, const struct xsh_front_params *p,
		       int timeout_ms, struct xsh_tport **out);

static int xen_connect_op(const struct xsh_tport_addr *a,
			  const struct xsh_front_params *p,
			  struct xsh_tport **out)
{
	return xen_connect(a->devid, p, a->timeout_ms, out);
}

const struct xsh_tport_ops xsh_xen_front_ops = {
	.name = "xen",
	.connect = xen_connect_op,
	.notify = xsh_xen_notify,
	.ack = xsh_xen_ack,
	.reconnect = xen_front_reconnect,
	.close = xen_front_close,
};

static int xen_connect(unsigned devid, const struct xsh_front_params *p,
		       int timeout_ms, struct xsh_tport **out)
{
	long deadline = timeout_ms < 0 ? -1 : xsh_now_ms() + timeout_ms;
	struct xen_tport *x;
	long limit;
	int rc;

	xsh_xen_why_clear();
	if (p->nr_rings < 1 || p->nr_rings > XSH_MAX_RINGS ||
	    p->ring_order > XSH_MAX_RING_ORDER || p->data_pages < 1 ||
	    p->data_pages > XSH_MAX_DATA_PAGES) {
		xsh_xen_set_why("ring or data area size out of range");
		return -EINVAL;
	}
	limit = xsh_xen_gntalloc_limit();
	if (limit > 0 && xsh_xen_pages_needed(p) > (unsigned long)limit) {
		xsh_xen_set_why("this device needs %u granted pages (%u rings of %u pages, %u data pages, %u directory pages) but the domain's grant limit is %ld (%s): raise it or ask for fewer or smaller buffers",
				xsh_xen_pages_needed(p), p->nr_rings,
				1u << p->ring_order, p->data_pages,
				xsh_xen_pages_needed(p) -
				(p->nr_rings << p->ring_order) - p->data_pages,
				limit, XSH_XEN_GNTALLOC_LIMIT);
		return -ENOSPC;
	}

	x = xsh_xen_alloc();
	if (!x)
		return -ENOMEM;
	x->t.ops = &xsh_xen_front_ops;
	x->p = *p;
	x->devid = devid;
	x->xsh = xs_open(0);
	if (!x->xsh) {
		rc = errno ? -errno : -EIO;
		xsh_xen_set_why("cannot open xenstore: %s", strerror(-rc));
		goto fail;
	}
	rc = front_paths(x);
	if (rc)
		goto fail;
	rc = watch_be(x);
	if (rc)
		goto fail;
	rc = front_grant(x);
	if (rc)
		goto fail;
	rc = handshake(x, deadline);
	if (rc)
		goto fail;
	snprintf(x->t.name, sizeof(x->t.name), "xen:%u", devid);
	*out = &x->t;
	return 0;

fail:
	xen_front_close(&x->t);
	return rc;
}
