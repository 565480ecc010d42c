// SPDX-License-Identifier: MIT
/*
 * The backend's xenbus device manager (see xenbus.h): one xenstore watch
 * on the whole backend/xenshare tree, one on each device's frontend state,
 * one on @releaseDomain, and a state machine per device:
 *
 *   (new) --limits, InitWait--> INITWAIT --frontend Initialised,
 *         nodes valid, worker forked--> STARTING --worker mapped the
 *         rings and opened the export--> CONNECTED (state Connected)
 *   STARTING, CONNECTED --frontend leaves Initialised/Connected, offline,
 *         removed--> STOPPING --worker exited--> INITWAIT /
 *         OFFLINE (Closed) / freed
 *   STARTING --the worker cannot serve--> CLOSING (error node, Closing)
 *   CONNECTED --the worker exited on its own (the frontend broke the
 *         protocol, a ring failed, the worker crashed)--> CLOSING
 *   INITWAIT --frontend nodes malformed--> CLOSING
 *   CLOSING --frontend Initialising, Closed or gone--> INITWAIT
 *
 * Each connection is served by a worker process of its own (xendev.h):
 * this process never maps a guest's memory nor opens an export.  It runs
 * one thread, which alone uses the xenstore handle, reaps the workers and
 * reads what they say.
 *
 * Trust: the backend directory is written by dom0's tools and read as
 * the policy (still parsed strictly: a bad node refuses the device).
 * Every frontend node is the guest's: each is read once, must be a plain
 * decimal number in range with no junk, and only then used; the paths
 * are our own (never taken from a node the guest can write).  A guest
 * that gets anything wrong loses its own device (error node, Closing);
 * nothing it writes stops the daemon or another device.  A worker may be
 * running a guest's exploit: its messages are checked like guest input,
 * and it is killed when it does not stop in time.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "xenbus.h"

void xsh_xenbus_params_default(struct xsh_xenbus_params *p)
{
	memset(p, 0, sizeof(*p));
	xsh_engine_params_default(&p->eng);
	xsh_policy_default(&p->base);
	p->eng.max_conns = 1;
	p->max_rings = XSH_MAX_RINGS;
	p->max_ring_order = XSH_MAX_RING_ORDER;
	p->max_data_pages = 16384;	/* 64 MiB mapped per device */
	p->ready_fd = -1;
	p->chld_fd = -1;
}

#ifndef XSH_HAVE_XEN

int xsh_xenbus_serve(const struct xsh_xenbus_params *p, int sig_fd)
{
	(void)p;
	(void)sig_fd;
	xsh_log(LOG_ERR, "built without Xen libraries: only --local works");
	return -ENOSYS;
}

#else

#include <xenstore.h>

#include "transport/xen.h"
#include "transport/xen_store.h"
#include "protocol/codec.h"
#include "backend/service/policy.h"
#include "backend/service/quota.h"
#include "backend/service/service.h"
#include "state.h"
#include "supervisor.h"
#include "worker.h"
#include "xendev.h"

#define PATH_LEN	160
#define VALUE_MAX	4096
#define STOP_WAIT_MS	10000	/* a stopping worker is killed after this */
/* Reconnect pacing: a worker that lived less than 10 s is a quick one;
 * after 3 quick ones in a row each connection waits 1 s, doubling, up to
 * 30 s (a guest that keeps breaking or cycling its connection costs a
 * fork and an export scan each time). */
#define QUICK_LIFE_MS		10000
static const struct xsh_sup_pacing xen_pacing = {
	.quick_ms = QUICK_LIFE_MS,
	.free = 3,
	.first_ms = 1000,
	.max_shift = 6,
	.max_ms = 30000,
};
#define USAGE_MS	2000	/* usage-* and status published this often */
#define TOK_TREE	"xenshare-tree"
#define TOK_FRONT	"xenshare-front"
#define TOK_RELEASE	"xenshare-release"

enum dstate {
	D_NEW,
	D_INITWAIT,
	D_STARTING,
	D_CONNECTED,
	D_STOPPING,
	D_CLOSING,
	D_OFFLINE,
};

/* What to do once a transport we asked to stop is closed. */
enum after_stop {
	AFTER_INITWAIT,
	AFTER_OFFLINE,
	AFTER_FREE,
};

struct dev {
	unsigned domid, devid;
	char name[24];			/* "domid.devid" */
	char be[PATH_LEN];
	char fe[PATH_LEN];
	enum dstate st;
	enum after_stop after;
	bool fe_watched;
	struct xsh_sup_worker w;	/* the connection's worker; closing
					 * its channel stops it */
	bool connect_pending;		/* one waits for the pacing */
	char fail_why[XSH_WMSG_BODY_MAX + 1];	/* the worker's FAILED */
	struct xsh_policy pol;
	bool pol_valid;
	char pol_warned[160];		/* last bad-policy message logged */
	struct xsh_quota_usage wusage;	/* the worker's last USAGE */
	bool wusage_valid;
	struct xsh_quota_usage usage;	/* last published */
	bool usage_valid;
	struct dev *next;
};

struct mgr {
	const struct xsh_xenbus_params *p;
	struct xs_handle *xsh;
	unsigned self;
	char root[96];
	struct dev *devs;
	struct xsh_sup sup;
	bool shutting_down;		/* no new connections */
};

static const struct xsh_sup_ops xen_ops;

static struct dev *dev_of(struct xsh_sup_worker *w)
{
	return (struct dev *)((char *)w - offsetof(struct dev, w));
}

/* ---- xenstore helpers --------------------------------------------------- */

static char *xread(struct mgr *m, const char *dir, const char *node)
{
	return xsh_store_read(m->xsh, dir, node, VALUE_MAX);
}

static void xwrite(struct mgr *m, struct dev *d, const char *node,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void xwrite(struct mgr *m, struct dev *d, const char *node,
		   const char *fmt, ...)
{
	char val[256];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	rc = xsh_store_write(m->xsh, XBT_NULL, d->be, node, "%s", val);
	if (rc)
		xsh_log(LOG_ERR, "%s: writing %s: %s", d->name, node,
			      strerror(-rc));
}

static void xrm(struct mgr *m, const char *dir, const char *node)
{
	xsh_store_rm(m->xsh, dir, node);
}

static bool be_exists(struct mgr *m, struct dev *d)
{
	return xsh_store_exists(m->xsh, d->be, NULL);
}

/* Read dir/node as a number in [min, max].  0, -ENOENT, -EINVAL, -ERANGE. */
static int read_num(struct mgr *m, const char *dir, const char *node,
		    uint64_t min, uint64_t max, uint64_t *out)
{
	int rc = xsh_store_read_u64(m->xsh, dir, node, VALUE_MAX, max, out);

	/* xenstore reads never fail with ERANGE: that one is the parser's. */
	if (rc && rc != -ENOENT && rc != -ERANGE)
		rc = -EINVAL;
	if (!rc && *out < min)
		rc = -ERANGE;
	return rc;
}

/* The frontend's state: 0..6, -1 when its node or directory is gone, -2
 * when it holds anything else. */
static int fe_state(struct mgr *m, struct dev *d)
{
	uint64_t v;
	int rc = read_num(m, d->fe, "state", 0, XSH_XB_CLOSED, &v);

	if (rc == -ENOENT)
		return -1;
	return rc ? -2 : (int)v;
}

static void set_state(struct mgr *m, struct dev *d, int st)
{
	uint64_t cur;

	if (!read_num(m, d->be, "state", 0, XSH_XB_CLOSED, &cur) &&
	    cur == (uint64_t)st)
		return;
	xwrite(m, d, "state", "%d", st);
}

/* ---- device list -------------------------------------------------------- */

static struct dev *dev_find(struct mgr *m, unsigned domid, unsigned devid)
{
	struct dev *d;

	for (d = m->devs; d; d = d->next)
		if (d->domid == domid && d->devid == devid)
			return d;
	return NULL;
}

static struct dev *dev_new(struct mgr *m, unsigned domid, unsigned devid)
{
	struct dev *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->domid = domid;
	d->devid = devid;
	snprintf(d->name, sizeof(d->name), "%u.%u", domid, devid);
	xsh_sup_worker_init(&d->w, d->name, &xen_ops, m);
	snprintf(d->be, sizeof(d->be), "%s/%u/%u", m->root, domid, devid);
	snprintf(d->fe, sizeof(d->fe), "/local/domain/%u/device/%s/%u", domid,
		 XSH_XEN_DEVICE_TYPE, devid);
	d->st = D_NEW;
	d->next = m->devs;
	m->devs = d;
	return d;
}

/* Only once its worker is reaped. */
static void dev_free(struct mgr *m, struct dev *d)
{
	struct dev **pp;

	for (pp = &m->devs; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	if (d->fe_watched)
		xsh_store_unwatch(m->xsh, d->fe, "state", TOK_FRONT);
	xsh_log(LOG_INFO, "%s: device removed", d->name);
	free(d);
}

/* ---- policy ------------------------------------------------------------- */

static bool tag_ok(const char *t)
{
	size_t n = strlen(t), i;

	if (n < 1 || n > 63)
		return false;
	for (i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '.' ||
		      t[i] == '_' || t[i] == '-'))
			return false;
	return true;
}

/* The policy keys xsh_policy_set_key() knows, by their node names. */
static const char *const policy_keys[] = {
	"mode", "id-map", "quota-bytes", "quota-inodes", "quota-soft-percent",
};

/* The policy, export path and template (NULL: none) from the backend
 * nodes.  0, or -EINVAL with why filled. */
static int read_policy(struct mgr *m, struct dev *d, struct xsh_policy *pol,
		       char **path, char **tmpl, char *why, size_t whylen)
{
	unsigned i;
	char *s;
	int rc;

	*pol = m->p->base;
	for (i = 0; i < sizeof(policy_keys) / sizeof(policy_keys[0]); i++) {
		s = xread(m, d->be, policy_keys[i]);
		if (!s)
			continue;
		rc = xsh_policy_set_key(pol, policy_keys[i], s);
		free(s);
		if (rc) {
			snprintf(why, whylen, "backend node %s has a bad value",
				 policy_keys[i]);
			return -EINVAL;
		}
	}
	/* A device built on a template (docs/templates.md); read once, at
	 * connect. */
	s = xread(m, d->be, "template");
	if (s && s[0] && (s[0] != '/' || strlen(s) >= PATH_MAX)) {
		snprintf(why, whylen, "backend node template must name an absolute directory");
		free(s);
		return -EINVAL;
	}
	if (tmpl && s && s[0]) {
		*tmpl = s;
		s = NULL;
	}
	free(s);
	s = xread(m, d->be, "tag");
	if (s && !tag_ok(s)) {
		snprintf(why, whylen, "backend node tag must be 1 to 63 of [A-Za-z0-9._-]");
		free(s);
		return -EINVAL;
	}
	free(s);
	if (path) {
		s = xread(m, d->be, "path");
		if (!s || s[0] != '/' || strlen(s) >= PATH_MAX) {
			snprintf(why, whylen, "backend node path must name an absolute directory");
			free(s);
			return -EINVAL;
		}
		*path = s;
	}
	return 0;
}

/* Feed a changed policy to a running export. */
static void policy_refresh(struct mgr *m, struct dev *d)
{
	struct xsh_policy pol;
	char why[160];
	int rc;

	if (read_policy(m, d, &pol, NULL, NULL, why, sizeof(why))) {
		if (strcmp(why, d->pol_warned)) {
			xsh_log(LOG_WARNING, "%s: %s; keeping the policy in force",
				      d->name, why);
			snprintf(d->pol_warned, sizeof(d->pol_warned), "%s",
				 why);
		}
		return;
	}
	d->pol_warned[0] = '\0';
	if (d->pol_valid && xsh_policy_equal(&pol, &d->pol))
		return;
	if (d->w.chan >= 0) {
		rc = xsh_worker_send(d->w.chan, XSH_WMSG_POLICY, 0, &pol,
				    sizeof(pol), -1);
		if (rc) {
			xsh_log(LOG_ERR, "%s: passing the new policy to the worker: %s",
				      d->name, strerror(-rc));
			return;
		}
		xsh_log(LOG_INFO, "%s: policy now %s, quota %" PRIu64
			      " bytes / %" PRIu64 " inodes", d->name,
			      xsh_policy_mode_name(&pol), pol.quota_bytes,
			      pol.quota_inodes);
	}
	d->pol = pol;
	d->pol_valid = true;
}

/* ---- state transitions -------------------------------------------------- */

static void refuse(struct mgr *m, struct dev *d, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void refuse(struct mgr *m, struct dev *d, const char *fmt, ...)
{
	char msg[200], *cur;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cur = xread(m, d->be, "error");
	if (!cur || strcmp(cur, msg)) {
		xsh_log(LOG_WARNING, "%s: closing the device: %s",
			      d->name, msg);
		xwrite(m, d, "error", "%s", msg);
	}
	free(cur);
	set_state(m, d, XSH_XB_CLOSING);
	d->st = D_CLOSING;
}

static void publish_limits(struct mgr *m, struct dev *d)
{
	const struct xsh_xenbus_params *p = m->p;
	struct xsh_policy pol;
	char why[160];

	/* The features follow the device's policy as it is now. */
	if (read_policy(m, d, &pol, NULL, NULL, why, sizeof(why)))
		xsh_policy_default(&pol);

	xwrite(m, d, "versions", "%u", XSH_PROTO_VERSION);
	xwrite(m, d, "max-rings", "%u", p->max_rings);
	xwrite(m, d, "max-ring-page-order", "%u", p->max_ring_order);
	xwrite(m, d, "max-data-pages", "%u", p->max_data_pages);
	xwrite(m, d, "max-io", "%u", XSH_MAX_IO);
	xwrite(m, d, "feature-flags", "%llu",
	       (unsigned long long)xsh_policy_features(&pol, XSH_FEAT_ALL));
}

static void to_initwait(struct mgr *m, struct dev *d)
{
	publish_limits(m, d);
	set_state(m, d, XSH_XB_INITWAIT);
	d->st = D_INITWAIT;
}

/* Ask the worker to stop: it drops the connection and exits; one still
 * starting has nothing to finish and is killed. */
static void stop(struct mgr *m, struct dev *d, enum after_stop after,
		 const char *reason)
{
	xsh_log(LOG_INFO, "%s: disconnecting: %s", d->name, reason);
	d->after = after;
	xsh_sup_stop(&m->sup, &d->w, d->st == D_STARTING ? SIGKILL : 0);
	d->st = D_STOPPING;
}

/* Read and check every frontend node into p.  0, or -EINVAL with why. */
static int read_frontend(struct mgr *m, struct dev *d,
			 struct xsh_xen_back_params *p, char *why, size_t wl)
{
	const struct xsh_xenbus_params *lim = m->p;
	char node[48];
	uint64_t v;
	unsigned i, j;
	int rc;

#define NUM(name, lo, hi)						\
	do {								\
		rc = read_num(m, d->fe, name, lo, hi, &v);		\
		if (rc) {						\
			snprintf(why, wl, "frontend node %s: %s", name,	\
				 rc == -ENOENT ? "missing" :		\
				 rc == -ERANGE ? "out of range" :	\
				 "not a plain decimal number");		\
			return -EINVAL;					\
		}							\
	} while (0)

	memset(p, 0, sizeof(*p));
	p->domid = d->domid;
	NUM("version", XSH_PROTO_VERSION, XSH_PROTO_VERSION);
	p->version = (uint32_t)v;
	NUM("num-rings", 1, lim->max_rings);
	p->nr_rings = (unsigned)v;
	NUM("ring-page-order", 0, lim->max_ring_order);
	p->ring_order = (unsigned)v;
	for (i = 0; i < p->nr_rings; i++) {
		for (j = 0; j < 1u << p->ring_order; j++) {
			snprintf(node, sizeof(node), "ring-ref%u-%u", i, j);
			NUM(node, 0, UINT32_MAX);
			p->ring_ref[i][j] = (uint32_t)v;
		}
		snprintf(node, sizeof(node), "event-channel-%u", i);
		NUM(node, 1, UINT32_MAX);
		p->port[i] = (uint32_t)v;
		for (j = 0; j < i; j++) {
			if (p->port[j] == p->port[i]) {
				snprintf(why, wl, "frontend node %s: port used twice",
					 node);
				return -EINVAL;
			}
		}
	}
	NUM("data-pages", 1, lim->max_data_pages);
	p->data_pages = (unsigned)v;
	p->nr_refdir = (p->data_pages + XSH_XEN_REFS_PER_PAGE - 1) /
		       XSH_XEN_REFS_PER_PAGE;
	for (i = 0; i < p->nr_refdir; i++) {
		snprintf(node, sizeof(node), "data-ref-dir-%u", i);
		NUM(node, 0, UINT32_MAX);
		p->refdir_ref[i] = (uint32_t)v;
	}
	NUM("feature-flags", 0, UINT64_MAX);
	p->features = v & XSH_FEAT_ALL;
	p->max_io = XSH_MAX_IO;
#undef NUM
	return 0;
}

static void xen_child(void *arg, int chan, bool pidns)
{
	xsh_xendev_main(arg, chan, pidns);
}

/* Fork the worker that maps the frontend's rings and serves the export;
 * Connected follows its READY. */
static void dev_connect(struct mgr *m, struct dev *d)
{
	struct xsh_xendev_args *a;
	char why[200], err[256], *path = NULL, *tmpl = NULL;
	int rc;

	if (xsh_sup_wait_ms(&d->w)) {
		d->connect_pending = true;	/* connect_due() comes back */
		return;
	}
	d->connect_pending = false;
	a = calloc(1, sizeof(*a));
	if (!a) {
		refuse(m, d, "out of memory");
		return;
	}
	if (read_frontend(m, d, &a->xp, why, sizeof(why)) ||
	    read_policy(m, d, &a->pol, &path, &tmpl, why, sizeof(why))) {
		refuse(m, d, "%s", why);
		goto out;
	}
	a->xp.name = d->name;
	a->path = path;
	a->template = tmpl;
	a->eng = m->p->eng;
	a->eng.max_conns = 1;
	a->no_sandbox = m->p->no_sandbox;
	a->use_syslog = m->p->use_syslog;
	/* Persistent node handles survive a restart of this daemon only
	 * with the export's key from the state directory. */
	if (xsh_state_export_key(m->p->state_dir ? m->p->state_dir :
				XSH_STATE_DIR, path, a->key, err, sizeof(err)))
		xsh_log(LOG_WARNING, "%s: %s; node handles will not survive a restart",
			      d->name, err);
	else
		a->have_key = true;
	rc = xsh_sup_spawn(&m->sup, &d->w, xen_child, a);
	if (rc) {
		refuse(m, d, "cannot start the device's worker: %s",
		       strerror(-rc));
		goto out;
	}
	d->fail_why[0] = '\0';
	d->pol = a->pol;
	d->pol_valid = true;
	d->st = D_STARTING;
	xsh_log(LOG_INFO, "%s: worker %d exporting %s%s%s (%s, id-map %d, quota %" PRIu64
		      " bytes / %" PRIu64 " inodes)", d->name, (int)d->w.pid, path,
		      tmpl ? " on template " : "", tmpl ? tmpl : "",
		      xsh_policy_mode_name(&a->pol), (int)a->pol.idmap,
		      a->pol.quota_bytes, a->pol.quota_inodes);
out:
	free(tmpl);
	free(path);
	free(a);
}

static bool watch_front(struct mgr *m, struct dev *d)
{
	int rc;

	if (d->fe_watched)
		return true;
	rc = xsh_store_watch(m->xsh, d->fe, "state", TOK_FRONT);
	if (rc) {
		xsh_log(LOG_ERR, "%s: cannot watch %s/state: %s", d->name,
			      d->fe, strerror(-rc));
		return false;
	}
	d->fe_watched = true;
	return true;
}

/* The tools' nodes must name this device's own frontend. */
static bool tools_ok(struct mgr *m, struct dev *d)
{
	char expect[16], *s;
	bool ok;

	snprintf(expect, sizeof(expect), "%u", d->domid);
	s = xread(m, d->be, "frontend-id");
	ok = s && !strcmp(s, expect);
	free(s);
	if (!ok) {
		refuse(m, d, "backend node frontend-id must be %u", d->domid);
		return false;
	}
	s = xread(m, d->be, "frontend");
	ok = s && !strcmp(s, d->fe);
	free(s);
	if (!ok) {
		refuse(m, d, "backend node frontend must be %s", d->fe);
		return false;
	}
	return true;
}

/* Bring device (domid, devid) in line with xenstore. */
static void reconcile(struct mgr *m, unsigned domid, unsigned devid)
{
	struct dev *d = dev_find(m, domid, devid);
	uint64_t v;
	bool exists, online;
	int fst;

	if (d && d->st == D_STOPPING)
		return;		/* again once its transport is closed */
	{
		char be[PATH_LEN];

		snprintf(be, sizeof(be), "%s/%u/%u", m->root, domid, devid);
		exists = xsh_store_exists(m->xsh, be, NULL);
		if (!exists && !d)
			return;
	}
	if (!d) {
		d = dev_new(m, domid, devid);
		if (!d) {
			xsh_log(LOG_ERR, "%u.%u: out of memory", domid,
				      devid);
			return;
		}
		xsh_log(LOG_INFO, "%s: new device", d->name);
	}
	if (!exists) {
		if (d->w.pid)
			stop(m, d, AFTER_FREE, "device removed");
		else
			dev_free(m, d);
		return;
	}
	online = !read_num(m, d->be, "online", 0, 1, &v) && v == 1;
	if (!online) {
		if (d->w.pid) {
			stop(m, d, AFTER_OFFLINE, "device set offline");
		} else if (d->st != D_OFFLINE) {
			set_state(m, d, XSH_XB_CLOSED);
			d->st = D_OFFLINE;
		}
		return;
	}
	if (d->st == D_NEW || d->st == D_OFFLINE) {
		if (!tools_ok(m, d))
			return;
		watch_front(m, d);
		to_initwait(m, d);
	}
	policy_refresh(m, d);

	fst = fe_state(m, d);
	switch (d->st) {
	case D_INITWAIT:
		if (fst == XSH_XB_INITIALISED)
			dev_connect(m, d);
		break;
	case D_STARTING:
	case D_CONNECTED:
		if (fst != XSH_XB_INITIALISED && fst != XSH_XB_CONNECTED) {
			char why[64];

			if (fst == -1)
				snprintf(why, sizeof(why), "frontend gone");
			else if (fst == -2)
				snprintf(why, sizeof(why), "frontend state malformed");
			else
				snprintf(why, sizeof(why), "frontend state %d", fst);
			stop(m, d, AFTER_INITWAIT, why);
		}
		break;
	case D_CLOSING:
		if ((fst == XSH_XB_INITIALISING || fst == XSH_XB_CLOSED ||
		     fst == -1) && tools_ok(m, d)) {
			watch_front(m, d);
			to_initwait(m, d);
		}
		break;
	default:
		break;
	}
}

static const char *xen_exit_code_text(int code)
{
	return code == XSH_XENDEV_EXIT_DROPPED ?
	       "connection dropped (ring protocol violation or ring failure)" :
	       NULL;
}

static void xen_on_ready(struct xsh_sup_worker *w)
{
	struct dev *d = dev_of(w);
	struct mgr *m = w->arg;

	if (d->st != D_STARTING)
		return;
	d->st = D_CONNECTED;
	xrm(m, d->be, "error");
	set_state(m, d, XSH_XB_CONNECTED);
	xsh_log(LOG_INFO, "%s: connected", d->name);
}

static void xen_on_failed(struct xsh_sup_worker *w, const char *why)
{
	struct dev *d = dev_of(w);

	snprintf(d->fail_why, sizeof(d->fail_why), "%s", why);
}

static void xen_on_usage(struct xsh_sup_worker *w,
			 const struct xsh_quota_usage *u)
{
	struct dev *d = dev_of(w);

	d->wusage = *u;
	d->wusage_valid = true;
}

/* Its worker is gone: the device's next state. */
static int xen_on_exit(struct xsh_sup_worker *w, int status,
		       const char *how, long delay)
{
	struct dev *d = dev_of(w);
	struct mgr *m = w->arg;
	unsigned domid = d->domid, devid = d->devid;

	(void)status;
	if (delay)
		xsh_log(LOG_WARNING, "%s: %u connections in a row ended within %d s: the next one waits %ld ms",
			d->name, w->quick, QUICK_LIFE_MS / 1000, delay);
	switch (d->st) {
	case D_STARTING:
		if (d->fail_why[0])
			refuse(m, d, "%s", d->fail_why);
		else
			refuse(m, d, "the device's worker %s before serving; see the backend's log",
			       how);
		return 0;
	case D_CONNECTED:
		refuse(m, d, "the device's worker %s; see the backend's log",
		       how);
		return 0;
	case D_STOPPING:
		break;
	default:
		return 0;
	}
	if (d->after == AFTER_FREE || !be_exists(m, d)) {
		dev_free(m, d);
		return 0;
	}
	if (m->shutting_down) {
		d->st = D_OFFLINE;
		return 0;
	}
	/* Start over from the nodes as they are now. */
	d->st = D_NEW;
	reconcile(m, domid, devid);
	return 0;
}

static const struct xsh_sup_ops xen_ops = {
	.on_ready = xen_on_ready,
	.on_failed = xen_on_failed,
	.on_usage = xen_on_usage,
	.on_exit = xen_on_exit,
	.exit_code_text = xen_exit_code_text,
	.exit_prio = LOG_WARNING,
};

/* Connections held back by the pacing whose time has come; the poll
 * timeout until the next one (at most max_ms). */
static int connect_due(struct mgr *m, int max_ms)
{
	struct dev *d;
	long next = max_ms;

again:
	for (d = m->devs; d; d = d->next) {
		if (!d->connect_pending)
			continue;
		if (!xsh_sup_wait_ms(&d->w)) {
			d->connect_pending = false;
			reconcile(m, d->domid, d->devid);
			goto again;	/* the list may have changed */
		}
		if (xsh_sup_wait_ms(&d->w) < next)
			next = xsh_sup_wait_ms(&d->w);
	}
	return (int)next;
}

/* ---- scanning ----------------------------------------------------------- */

static bool parse_id(const char *s, unsigned max, unsigned *out)
{
	uint64_t v;

	if (xsh_codec_parse_u64(s, max, &v))
		return false;
	*out = (unsigned)v;
	return true;
}

static void scan_domain(struct mgr *m, unsigned domid)
{
	char path[PATH_LEN];
	unsigned n = 0, i, devid;
	char **ents;
	struct dev *d, *next;

	snprintf(path, sizeof(path), "%s/%u", m->root, domid);
	ents = xs_directory(m->xsh, XBT_NULL, path, &n);
	for (i = 0; ents && i < n; i++)
		if (parse_id(ents[i], 0xffff, &devid))
			reconcile(m, domid, devid);
	free(ents);
	/* Known devices the listing no longer holds. */
	for (d = m->devs; d; d = next) {
		next = d->next;
		if (d->domid == domid)
			reconcile(m, d->domid, d->devid);
	}
}

static void scan_all(struct mgr *m)
{
	unsigned n = 0, i, domid;
	char **ents;
	struct dev *d, *next;

	ents = xs_directory(m->xsh, XBT_NULL, m->root, &n);
	for (i = 0; ents && i < n; i++)
		if (parse_id(ents[i], 0x7fef, &domid))
			scan_domain(m, domid);
	free(ents);
	for (d = m->devs; d; d = next) {
		next = d->next;
		reconcile(m, d->domid, d->devid);
	}
}

/* Domains that are gone leave backend directories nobody else removes
 * (the toolstack does not know this device type). */
static void reap_domains(struct mgr *m)
{
	char path[PATH_LEN];
	unsigned n = 0, i, domid;
	char **ents;

	ents = xs_directory(m->xsh, XBT_NULL, m->root, &n);
	for (i = 0; ents && i < n; i++) {
		if (!parse_id(ents[i], 0x7fef, &domid) ||
		    xs_is_domain_introduced(m->xsh, domid))
			continue;
		snprintf(path, sizeof(path), "%s/%u", m->root, domid);
		xsh_log(LOG_INFO, "domain %u is gone: removing %s",
			      domid, path);
		xs_rm(m->xsh, XBT_NULL, path);
	}
	free(ents);
}

static void handle_event(struct mgr *m, const char *path, const char *token)
{
	size_t rl = strlen(m->root);
	unsigned domid, devid;
	char buf[PATH_LEN], *a, *b;

	if (!strcmp(token, TOK_RELEASE)) {
		reap_domains(m);
		return;
	}
	if (!strcmp(token, TOK_FRONT)) {
		/* /local/domain/<domid>/device/xenshare/<devid>/state */
		if (sscanf(path, "/local/domain/%u/device/" XSH_XEN_DEVICE_TYPE
			   "/%u/state", &domid, &devid) == 2 &&
		    dev_find(m, domid, devid))
			reconcile(m, domid, devid);
		return;
	}
	if (strncmp(path, m->root, rl) || (path[rl] && path[rl] != '/') ||
	    strlen(path) >= sizeof(buf)) {
		scan_all(m);
		return;
	}
	if (!path[rl] || !path[rl + 1]) {
		scan_all(m);
		return;
	}
	strcpy(buf, path + rl + 1);
	a = buf;
	b = strchr(a, '/');
	if (b)
		*b++ = '\0';
	if (!parse_id(a, 0x7fef, &domid))
		return;
	if (!b || !*b) {
		scan_domain(m, domid);
		return;
	}
	a = b;
	b = strchr(a, '/');
	if (b)
		*b = '\0';
	if (parse_id(a, 0xffff, &devid))
		reconcile(m, domid, devid);
}

static void handle_watches(struct mgr *m)
{
	char **ev;

	while ((ev = xs_check_watch(m->xsh))) {
		handle_event(m, ev[XS_WATCH_PATH], ev[XS_WATCH_TOKEN]);
		free(ev);
	}
}

/* usage-bytes, usage-inodes and status of every exported device, when
 * they changed. */
static void publish_usage(struct mgr *m)
{
	struct xsh_quota_usage u;
	struct dev *d;

	for (d = m->devs; d; d = d->next) {
		if (!d->wusage_valid || d->st == D_STOPPING ||
		    !be_exists(m, d))
			continue;
		u = d->wusage;
		if (!d->usage_valid || u.usage_bytes != d->usage.usage_bytes)
			xwrite(m, d, "usage-bytes", "%" PRIu64, u.usage_bytes);
		if (!d->usage_valid || u.usage_inodes != d->usage.usage_inodes)
			xwrite(m, d, "usage-inodes", "%" PRIu64,
			       u.usage_inodes);
		if (!d->usage_valid || u.level != d->usage.level)
			xwrite(m, d, "status", "%s",
			       xsh_quota_level_name(u.level));
		d->usage = u;
		d->usage_valid = true;
	}
}

/* ---- main loop ---------------------------------------------------------- */

static void shutdown_all(struct mgr *m)
{
	struct dev *d;

	m->shutting_down = true;
	for (d = m->devs; d; d = d->next)
		if (d->w.pid && d->st != D_STOPPING)
			stop(m, d, AFTER_OFFLINE, "daemon shutting down");
	xsh_sup_stop_all(&m->sup, 0);
	/* Nobody serves these devices now. */
	for (d = m->devs; d; d = d->next)
		if (be_exists(m, d))
			set_state(m, d, XSH_XB_CLOSED);
	while (m->devs)
		dev_free(m, m->devs);
}

/* The poll set: xenstore, signals, workers' exits, every channel. */
static struct pollfd *poll_set(struct mgr *m, int sig_fd, struct pollfd *pfd,
			       unsigned *cap, unsigned *n)
{
	unsigned want = 3 + xsh_sup_nr_chans(&m->sup);

	if (want > *cap) {
		struct pollfd *p = realloc(pfd, want * 2 * sizeof(*p));

		if (!p)
			return pfd;	/* the channels wait for a later round */
		pfd = p;
		*cap = want * 2;
	}
	pfd[0] = (struct pollfd){ .fd = xs_fileno(m->xsh), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = m->p->chld_fd, .events = POLLIN };
	*n = 3 + xsh_sup_poll_set(&m->sup, pfd + 3, *cap - 3);
	return pfd;
}

int xsh_xenbus_serve(const struct xsh_xenbus_params *p, int sig_fd)
{
	struct mgr m = {
		.p = p,
		.sup = {
			.pacing = &xen_pacing,
			.stop_timeout_ms = STOP_WAIT_MS,
			.chld_fd = p->chld_fd,
			.no_sandbox = p->no_sandbox,
		},
	};
	struct signalfd_siginfo si;
	struct pollfd *pfd = NULL;
	unsigned cap = 0, n;
	long last_usage = 0;
	uint64_t v;
	int sig = 0, rc, timeout;

	if (p->chld_fd < 0)
		return -EINVAL;
	m.xsh = xs_open(0);
	if (!m.xsh) {
		rc = errno ? -errno : -EIO;
		xsh_log(LOG_ERR, "cannot open xenstore: %s (is this a Xen domain with xenstored running?)",
			      strerror(-rc));
		return rc;
	}
	m.self = !xsh_store_read_u64(m.xsh, NULL, "domid", 0, 0x7fef, &v) ?
		 (unsigned)v : 0;
	snprintf(m.root, sizeof(m.root), "/local/domain/%u/backend/%s",
		 m.self, XSH_XEN_DEVICE_TYPE);
	if (!xs_watch(m.xsh, m.root, TOK_TREE) ||
	    !xs_watch(m.xsh, "@releaseDomain", TOK_RELEASE)) {
		rc = errno ? -errno : -EIO;
		xsh_log(LOG_ERR, "cannot watch %s: %s", m.root,
			      strerror(-rc));
		goto out;
	}
	xsh_log(LOG_INFO, "serving xenshare devices under %s (%s)",
		      m.root, p->no_sandbox ? "no sandbox" :
		      "a sandboxed worker per device");
	reap_domains(&m);
	scan_all(&m);
	if (p->ready_fd >= 0) {
		if (write(p->ready_fd, "", 1) < 0) {
			/* The parent is gone: nobody to tell. */
		}
		close(p->ready_fd);
	}

	for (;;) {
		if (xsh_now_ms() - last_usage >= USAGE_MS) {
			publish_usage(&m);
			last_usage = xsh_now_ms();
		}
		xsh_sup_kill_late(&m.sup);
		timeout = connect_due(&m, USAGE_MS);
		pfd = poll_set(&m, sig_fd, pfd, &cap, &n);
		if (!pfd) {
			rc = -ENOMEM;
			break;
		}
		rc = poll(pfd, n, timeout);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			xsh_log(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents) {
			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				sig = (int)si.ssi_signo;
				break;
			}
		}
		/* Messages before exits: a worker's last words explain its
		 * exit. */
		xsh_sup_poll_done(&m.sup, pfd + 3, n - 3);
		if (pfd[2].revents)
			(void)xsh_sup_reap(&m.sup);
		if (pfd[0].revents)
			handle_watches(&m);
	}
	rc = sig;
out:
	shutdown_all(&m);
	free(pfd);
	xs_close(m.xsh);
	return rc;
}

#endif /* XSH_HAVE_XEN */
