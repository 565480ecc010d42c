// SPDX-License-Identifier: MIT
/*
 * The backend's xenbus device manager (see xenbus.h): one xenstore watch
 * on the whole backend/xenshare tree, one on each device's frontend state,
 * one on @releaseDomain, and a state machine per device:
 *
 *   (new) --limits, InitWait--> INITWAIT --frontend Initialised,
 *         nodes valid, mapped--> CONNECTED (state Connected)
 *   CONNECTED --frontend leaves Initialised/Connected, offline, removed,
 *         policy broken--> STOPPING --transport closed--> INITWAIT /
 *         OFFLINE (Closed) / freed
 *   CONNECTED --the ring engine dropped the connection on its own
 *         (protocol violation)--> CLOSING (error node, state Closing)
 *   INITWAIT --frontend nodes malformed--> CLOSING
 *   CLOSING --frontend Initialising, Closed or gone--> INITWAIT
 *
 * Everything here runs on the main thread, which alone uses the xenstore
 * handle; the only other entry is dev_closed(), called by whichever engine
 * thread closes a device's transport, which flags the device and wakes
 * the main loop.
 *
 * Trust: the backend directory is written by dom0's tools and read as
 * the policy (still parsed strictly: a bad node refuses the device).
 * Every frontend node is the guest's: each is read once, must be a plain
 * decimal number in range with no junk, and only then used; the paths
 * are our own (never taken from a node the guest can write).  A guest
 * that gets anything wrong loses its own device (error node, Closing);
 * nothing it writes stops the daemon or another device.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "xenbus.h"

void xs_xenbus_params_default(struct xs_xenbus_params *p)
{
	memset(p, 0, sizeof(*p));
	xs_engine_params_default(&p->eng);
	xs_policy_default(&p->base);
	p->eng.max_conns = 1;
	p->max_rings = XS_MAX_RINGS;
	p->max_ring_order = XS_MAX_RING_ORDER;
	p->max_data_pages = 16384;	/* 64 MiB mapped per device */
	p->ready_fd = -1;
}

#ifndef XS_HAVE_XEN

int xs_xenbus_serve(const struct xs_xenbus_params *p, int sig_fd)
{
	xs_engine_log(LOG_ERR, "built without Xen libraries: only --local works");
	return -ENOSYS;
}

#else

#include <xenstore.h>

#include "../transport/xen.h"
#include "../protocol/codec.h"
#include "policy.h"
#include "quota.h"
#include "service.h"
#include "state.h"

#define PATH_LEN	160
#define VALUE_MAX	4096
#define STOP_WAIT_MS	10000
#define USAGE_MS	2000	/* usage-* and status published this often */
#define TOK_TREE	"xenshare-tree"
#define TOK_FRONT	"xenshare-front"
#define TOK_RELEASE	"xenshare-release"

enum dstate {
	D_NEW,
	D_INITWAIT,
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
	AFTER_ERROR,
};

struct dev {
	unsigned domid, devid;
	char name[24];			/* "domid.devid" */
	char be[PATH_LEN];
	char fe[PATH_LEN];
	enum dstate st;
	enum after_stop after;
	char after_error[200];
	bool fe_watched;
	int ctl_fd;			/* closing it stops the connection */
	bool closed;			/* g_lock: transport closed */
	struct xs_policy pol;
	bool pol_valid;
	char pol_warned[160];		/* last bad-policy message logged */
	char *exp_path;
	struct xs_export *exp;
	struct xs_engine *eng;
	struct xs_quota_usage usage;	/* last published */
	bool usage_valid;
	struct dev *next;
};

struct mgr {
	const struct xs_xenbus_params *p;
	struct xs_handle *xsh;
	unsigned self;
	char root[96];
	int wake_fd;
	struct dev *devs;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_wake_fd = -1;

/* ---- xenstore helpers --------------------------------------------------- */

static char *xread(struct mgr *m, const char *dir, const char *node)
{
	char path[PATH_LEN + 64];
	unsigned len;
	char *v;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	v = xs_read(m->xsh, XBT_NULL, path, &len);
	if (!v)
		return NULL;
	if (len > VALUE_MAX || strlen(v) != len) {
		free(v);
		errno = EINVAL;
		return NULL;
	}
	return v;
}

static void xwrite(struct mgr *m, struct dev *d, const char *node,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void xwrite(struct mgr *m, struct dev *d, const char *node,
		   const char *fmt, ...)
{
	char path[PATH_LEN + 64], val[256];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", d->be, node);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (!xs_write(m->xsh, XBT_NULL, path, val, strlen(val)))
		xs_engine_log(LOG_ERR, "%s: writing %s: %s", d->name, node,
			      strerror(errno));
}

static void xrm(struct mgr *m, const char *dir, const char *node)
{
	char path[PATH_LEN + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	xs_rm(m->xsh, XBT_NULL, path);
}

static bool be_exists(struct mgr *m, struct dev *d)
{
	char *s = xs_read(m->xsh, XBT_NULL, d->be, NULL);

	free(s);
	return s != NULL;
}

/* Read dir/node as a number in [min, max].  0, -ENOENT, -EINVAL, -ERANGE. */
static int read_num(struct mgr *m, const char *dir, const char *node,
		    uint64_t min, uint64_t max, uint64_t *out)
{
	char *v = xread(m, dir, node);
	int rc;

	if (!v)
		return errno == ENOENT ? -ENOENT : -EINVAL;
	rc = xs_codec_parse_u64(v, max, out);
	free(v);
	if (!rc && *out < min)
		rc = -ERANGE;
	return rc;
}

/* The frontend's state: 0..6, -1 when its node or directory is gone, -2
 * when it holds anything else. */
static int fe_state(struct mgr *m, struct dev *d)
{
	uint64_t v;
	int rc = read_num(m, d->fe, "state", 0, XS_XB_CLOSED, &v);

	if (rc == -ENOENT)
		return -1;
	return rc ? -2 : (int)v;
}

static void set_state(struct mgr *m, struct dev *d, int st)
{
	uint64_t cur;

	if (!read_num(m, d->be, "state", 0, XS_XB_CLOSED, &cur) &&
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
	d->ctl_fd = -1;
	snprintf(d->name, sizeof(d->name), "%u.%u", domid, devid);
	snprintf(d->be, sizeof(d->be), "%s/%u/%u", m->root, domid, devid);
	snprintf(d->fe, sizeof(d->fe), "/local/domain/%u/device/%s/%u", domid,
		 XS_XEN_DEVICE_TYPE, devid);
	d->st = D_NEW;
	d->next = m->devs;
	m->devs = d;
	return d;
}

static void dev_release_export(struct dev *d)
{
	if (d->eng) {
		/* No connection is left; the engine refuses new ones. */
		xs_engine_shutdown(d->eng);
		d->eng = NULL;
	}
	if (d->exp)
		xs_export_close(d->exp);
	d->exp = NULL;
	free(d->exp_path);
	d->exp_path = NULL;
}

static void dev_free(struct mgr *m, struct dev *d)
{
	struct dev **pp;
	char path[PATH_LEN + 8];

	for (pp = &m->devs; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	if (d->fe_watched) {
		snprintf(path, sizeof(path), "%s/state", d->fe);
		xs_unwatch(m->xsh, path, TOK_FRONT);
	}
	dev_release_export(d);
	xs_engine_log(LOG_INFO, "%s: device removed", d->name);
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

/* The policy keys xs_policy_set_key() knows, by their node names. */
static const char *const policy_keys[] = {
	"mode", "id-map", "quota-bytes", "quota-inodes", "quota-soft-percent",
};

/* The policy and export path from the backend nodes.  0, or -EINVAL (or
 * -EOPNOTSUPP for a template) with why filled. */
static int read_policy(struct mgr *m, struct dev *d, struct xs_policy *pol,
		       char **path, char *why, size_t whylen)
{
	unsigned i;
	char *s;
	int rc;

	*pol = m->p->base;
	for (i = 0; i < sizeof(policy_keys) / sizeof(policy_keys[0]); i++) {
		s = xread(m, d->be, policy_keys[i]);
		if (!s)
			continue;
		rc = xs_policy_set_key(pol, policy_keys[i], s);
		free(s);
		if (rc) {
			snprintf(why, whylen, "backend node %s has a bad value",
				 policy_keys[i]);
			return -EINVAL;
		}
	}
	/* Templates are not built yet: refuse rather than serve the device
	 * without the template the administrator asked for. */
	s = xread(m, d->be, "template");
	if (s && s[0]) {
		snprintf(why, whylen, "backend node template: template "
			 "directories are not supported yet");
		free(s);
		return -EOPNOTSUPP;
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

static bool policy_equal(const struct xs_policy *a, const struct xs_policy *b)
{
	return a->read_only == b->read_only && a->idmap == b->idmap &&
	       a->squash_uid == b->squash_uid &&
	       a->squash_gid == b->squash_gid &&
	       a->range_base == b->range_base &&
	       a->range_count == b->range_count &&
	       a->allow_devices == b->allow_devices &&
	       a->allow_setid == b->allow_setid &&
	       a->quota_bytes == b->quota_bytes &&
	       a->quota_inodes == b->quota_inodes &&
	       a->quota_soft_percent == b->quota_soft_percent &&
	       a->max_nodes == b->max_nodes && a->max_handles == b->max_handles;
}

/* Feed a changed policy to a running export. */
static void policy_refresh(struct mgr *m, struct dev *d)
{
	struct xs_policy pol;
	char why[160];
	int rc;

	if (read_policy(m, d, &pol, NULL, why, sizeof(why))) {
		if (strcmp(why, d->pol_warned)) {
			xs_engine_log(LOG_WARNING, "%s: %s; keeping the policy in force",
				      d->name, why);
			snprintf(d->pol_warned, sizeof(d->pol_warned), "%s",
				 why);
		}
		return;
	}
	d->pol_warned[0] = '\0';
	if (d->pol_valid && policy_equal(&pol, &d->pol))
		return;
	if (d->exp) {
		rc = xs_export_set_policy(d->exp, &pol);
		if (rc) {
			xs_engine_log(LOG_ERR, "%s: applying the new policy: %s",
				      d->name, strerror(-rc));
			return;
		}
		xs_engine_log(LOG_INFO, "%s: policy now %s, quota %" PRIu64
			      " bytes / %" PRIu64 " inodes", d->name,
			      pol.read_only ? "ro" : "rw", pol.quota_bytes,
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
		xs_engine_log(LOG_WARNING, "%s: closing the device: %s",
			      d->name, msg);
		xwrite(m, d, "error", "%s", msg);
	}
	free(cur);
	set_state(m, d, XS_XB_CLOSING);
	d->st = D_CLOSING;
}

static void publish_limits(struct mgr *m, struct dev *d)
{
	const struct xs_xenbus_params *p = m->p;

	xwrite(m, d, "versions", "%u", XS_PROTO_VERSION);
	xwrite(m, d, "max-rings", "%u", p->max_rings);
	xwrite(m, d, "max-ring-page-order", "%u", p->max_ring_order);
	xwrite(m, d, "max-data-pages", "%u", p->max_data_pages);
	xwrite(m, d, "max-io", "%u", XS_MAX_IO);
	xwrite(m, d, "feature-flags", "%llu",
	       (unsigned long long)XS_FEAT_ALL);
}

static void to_initwait(struct mgr *m, struct dev *d)
{
	publish_limits(m, d);
	set_state(m, d, XS_XB_INITWAIT);
	d->st = D_INITWAIT;
}

/* Called by an engine thread (or by us, inside xs_engine_add()). */
static void dev_closed(void *arg)
{
	struct dev *d = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&g_lock);
	d->closed = true;
	pthread_mutex_unlock(&g_lock);
	if (write(g_wake_fd, &one, sizeof(one)) < 0)
		xs_engine_log(LOG_ERR, "%s: waking the device manager: %s",
			      d->name, strerror(errno));
}

static void stop(struct dev *d, enum after_stop after, const char *reason)
{
	xs_engine_log(LOG_INFO, "%s: disconnecting: %s", d->name, reason);
	d->after = after;
	d->st = D_STOPPING;
	if (d->ctl_fd >= 0)
		close(d->ctl_fd);
	d->ctl_fd = -1;
}

/* Read and check every frontend node into p.  0, or -EINVAL with why. */
static int read_frontend(struct mgr *m, struct dev *d,
			 struct xs_xen_back_params *p, char *why, size_t wl)
{
	const struct xs_xenbus_params *lim = m->p;
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
	NUM("version", XS_PROTO_VERSION, XS_PROTO_VERSION);
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
	p->nr_refdir = (p->data_pages + XS_XEN_REFS_PER_PAGE - 1) /
		       XS_XEN_REFS_PER_PAGE;
	for (i = 0; i < p->nr_refdir; i++) {
		snprintf(node, sizeof(node), "data-ref-dir-%u", i);
		NUM(node, 0, UINT32_MAX);
		p->refdir_ref[i] = (uint32_t)v;
	}
	NUM("feature-flags", 0, UINT64_MAX);
	p->features = v & XS_FEAT_ALL;
	p->max_io = XS_MAX_IO;
#undef NUM
	return 0;
}

static int ensure_export(struct mgr *m, struct dev *d, char *why, size_t wl)
{
	struct xs_engine_params ep = m->p->eng;
	struct xs_policy pol;
	char *path = NULL;
	int rc;

	if (read_policy(m, d, &pol, &path, why, wl))
		return -EINVAL;
	if (d->exp && !strcmp(d->exp_path, path)) {
		free(path);
		policy_refresh(m, d);
		return 0;
	}
	dev_release_export(d);
	rc = xs_export_open(path, &pol, &d->exp);
	if (rc) {
		snprintf(why, wl, "cannot export %s: %s", path,
			 rc == -ENOTDIR || rc == -ELOOP ? "not a directory" :
			 strerror(-rc));
		free(path);
		d->exp = NULL;
		return rc;
	}
	/* Persistent node handles survive a restart of this daemon only
	 * with the export's key from the state directory. */
	{
		uint8_t key[XS_SIPHASH_KEY_LEN];
		char err[256];

		if (xs_state_export_key(m->p->state_dir ? m->p->state_dir :
					XS_STATE_DIR, path, key, err,
					sizeof(err)))
			xs_engine_log(LOG_WARNING, "%s: %s; node handles will not survive a restart",
				      d->name, err);
		else
			xs_export_set_handle_key(d->exp, key);
	}
	ep.max_conns = 1;
	rc = xs_engine_new(d->exp, &ep, &d->eng);
	if (rc) {
		snprintf(why, wl, "starting the ring engine: %s",
			 strerror(-rc));
		xs_export_close(d->exp);
		d->exp = NULL;
		free(path);
		return rc;
	}
	d->exp_path = path;
	d->pol = pol;
	d->pol_valid = true;
	xs_engine_log(LOG_INFO, "%s: exporting %s (%s, id-map %d, quota %" PRIu64
		      " bytes / %" PRIu64 " inodes)", d->name, path,
		      pol.read_only ? "ro" : "rw", (int)pol.idmap,
		      pol.quota_bytes, pol.quota_inodes);
	return 0;
}

static void dev_connect(struct mgr *m, struct dev *d)
{
	struct xs_xen_back_params p;
	struct xs_tport *t;
	char why[200];
	int rc, ctl;

	if (read_frontend(m, d, &p, why, sizeof(why))) {
		refuse(m, d, "%s", why);
		return;
	}
	if (ensure_export(m, d, why, sizeof(why))) {
		refuse(m, d, "%s", why);
		return;
	}
	rc = xs_engine_reserve(d->eng);
	if (rc) {
		refuse(m, d, "ring engine busy: %s", strerror(-rc));
		return;
	}
	p.name = d->name;
	p.on_close = dev_closed;
	p.close_arg = d;
	rc = xs_xen_back_attach(&p, &ctl, &t);
	if (rc) {
		xs_engine_unreserve(d->eng);
		refuse(m, d, "%s", xs_xen_why());
		return;
	}
	rc = xs_engine_add(d->eng, t);
	if (rc) {
		/* The engine closed t: not a stop we must react to. */
		pthread_mutex_lock(&g_lock);
		d->closed = false;
		pthread_mutex_unlock(&g_lock);
		close(ctl);
		refuse(m, d, "rings refused: %s", strerror(-rc));
		return;
	}
	d->ctl_fd = ctl;
	d->st = D_CONNECTED;
	xrm(m, d->be, "error");
	set_state(m, d, XS_XB_CONNECTED);
}

static bool watch_front(struct mgr *m, struct dev *d)
{
	char path[PATH_LEN + 8];

	if (d->fe_watched)
		return true;
	snprintf(path, sizeof(path), "%s/state", d->fe);
	if (!xs_watch(m->xsh, path, TOK_FRONT)) {
		xs_engine_log(LOG_ERR, "%s: cannot watch %s: %s", d->name,
			      path, strerror(errno));
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
	char *s;
	uint64_t v;
	bool exists, online;
	int fst;

	if (d && d->st == D_STOPPING)
		return;		/* again once its transport is closed */
	{
		char be[PATH_LEN];

		snprintf(be, sizeof(be), "%s/%u/%u", m->root, domid, devid);
		s = xs_read(m->xsh, XBT_NULL, be, NULL);
		exists = s != NULL;
		free(s);
		if (!exists && !d)
			return;
	}
	if (!d) {
		d = dev_new(m, domid, devid);
		if (!d) {
			xs_engine_log(LOG_ERR, "%u.%u: out of memory", domid,
				      devid);
			return;
		}
		xs_engine_log(LOG_INFO, "%s: new device", d->name);
	}
	if (!exists) {
		if (d->st == D_CONNECTED)
			stop(d, AFTER_FREE, "device removed");
		else
			dev_free(m, d);
		return;
	}
	online = !read_num(m, d->be, "online", 0, 1, &v) && v == 1;
	if (!online) {
		if (d->st == D_CONNECTED) {
			stop(d, AFTER_OFFLINE, "device set offline");
		} else if (d->st != D_OFFLINE) {
			set_state(m, d, XS_XB_CLOSED);
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
		if (fst == XS_XB_INITIALISED)
			dev_connect(m, d);
		break;
	case D_CONNECTED:
		if (fst != XS_XB_INITIALISED && fst != XS_XB_CONNECTED) {
			char why[64];

			if (fst == -1)
				snprintf(why, sizeof(why), "frontend gone");
			else if (fst == -2)
				snprintf(why, sizeof(why), "frontend state malformed");
			else
				snprintf(why, sizeof(why), "frontend state %d", fst);
			stop(d, AFTER_INITWAIT, why);
		}
		break;
	case D_CLOSING:
		if ((fst == XS_XB_INITIALISING || fst == XS_XB_CLOSED ||
		     fst == -1) && tools_ok(m, d)) {
			watch_front(m, d);
			to_initwait(m, d);
		}
		break;
	default:
		break;
	}
}

/* A transport we or the engine closed. */
static void handle_closed(struct mgr *m, struct dev *d)
{
	unsigned domid = d->domid, devid = d->devid;

	if (d->st == D_CONNECTED) {
		/* The engine dropped it on its own: the frontend broke
		 * the ring protocol or a ring failed. */
		if (d->ctl_fd >= 0)
			close(d->ctl_fd);
		d->ctl_fd = -1;
		d->st = D_STOPPING;
		d->after = AFTER_ERROR;
		snprintf(d->after_error, sizeof(d->after_error),
			 "connection dropped (ring protocol violation or ring failure; see the backend's log)");
	}
	if (d->st != D_STOPPING)
		return;
	if (d->after == AFTER_FREE || !be_exists(m, d)) {
		dev_free(m, d);
		return;
	}
	if (d->after == AFTER_ERROR) {
		refuse(m, d, "%s", d->after_error);
		return;
	}
	/* Start over from the nodes as they are now. */
	d->st = D_NEW;
	reconcile(m, domid, devid);
}

static void handle_wake(struct mgr *m)
{
	struct dev *d;
	uint64_t n;
	bool again = true;

	if (read(m->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		xs_engine_log(LOG_ERR, "wake: %s", strerror(errno));
	while (again) {
		again = false;
		for (d = m->devs; d; d = d->next) {
			bool c;

			pthread_mutex_lock(&g_lock);
			c = d->closed;
			d->closed = false;
			pthread_mutex_unlock(&g_lock);
			if (c) {
				handle_closed(m, d);
				again = true;	/* the list may have changed */
				break;
			}
		}
	}
}

/* ---- scanning ----------------------------------------------------------- */

static bool parse_id(const char *s, unsigned max, unsigned *out)
{
	uint64_t v;

	if (xs_codec_parse_u64(s, max, &v))
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
		xs_engine_log(LOG_INFO, "domain %u is gone: removing %s",
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
		if (sscanf(path, "/local/domain/%u/device/" XS_XEN_DEVICE_TYPE
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
	struct xs_quota_usage u;
	struct dev *d;

	for (d = m->devs; d; d = d->next) {
		if (!d->exp || d->st == D_STOPPING || !be_exists(m, d))
			continue;
		xs_export_get_usage(d->exp, &u);
		if (!d->usage_valid || u.usage_bytes != d->usage.usage_bytes)
			xwrite(m, d, "usage-bytes", "%" PRIu64, u.usage_bytes);
		if (!d->usage_valid || u.usage_inodes != d->usage.usage_inodes)
			xwrite(m, d, "usage-inodes", "%" PRIu64,
			       u.usage_inodes);
		if (!d->usage_valid || u.level != d->usage.level)
			xwrite(m, d, "status", "%s",
			       xs_quota_level_name(u.level));
		d->usage = u;
		d->usage_valid = true;
	}
}

/* ---- main loop ---------------------------------------------------------- */

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void shutdown_all(struct mgr *m)
{
	struct pollfd pfd = { .fd = m->wake_fd, .events = POLLIN };
	struct dev *d;
	int waited = 0;
	bool busy;

	for (d = m->devs; d; d = d->next)
		if (d->st == D_CONNECTED)
			stop(d, AFTER_OFFLINE, "daemon shutting down");
	for (;;) {
		busy = false;
		for (d = m->devs; d; d = d->next)
			busy |= d->st == D_STOPPING;
		if (!busy || waited >= STOP_WAIT_MS)
			break;
		if (poll(&pfd, 1, 100) > 0)
			handle_wake(m);
		waited += 100;
	}
	/* Nobody serves these devices now. */
	for (d = m->devs; d; d = d->next)
		if (be_exists(m, d))
			set_state(m, d, XS_XB_CLOSED);
	while (m->devs) {
		d = m->devs;
		if (d->st == D_STOPPING)
			m->devs = d->next;	/* engine still busy: leave it */
		else
			dev_free(m, d);
	}
}

int xs_xenbus_serve(const struct xs_xenbus_params *p, int sig_fd)
{
	struct mgr m = { .p = p, .wake_fd = -1 };
	struct signalfd_siginfo si;
	struct pollfd pfd[3];
	long last_usage = 0;
	uint64_t v;
	int sig = 0, rc;

	m.xsh = xs_open(0);
	if (!m.xsh) {
		rc = errno ? -errno : -EIO;
		xs_engine_log(LOG_ERR, "cannot open xenstore: %s (is this a Xen domain with xenstored running?)",
			      strerror(-rc));
		return rc;
	}
	{
		char *s = xs_read(m.xsh, XBT_NULL, "domid", NULL);

		m.self = s && !xs_codec_parse_u64(s, 0x7fef, &v) ? (unsigned)v : 0;
		free(s);
	}
	snprintf(m.root, sizeof(m.root), "/local/domain/%u/backend/%s",
		 m.self, XS_XEN_DEVICE_TYPE);
	m.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m.wake_fd < 0) {
		rc = -errno;
		xs_close(m.xsh);
		return rc;
	}
	g_wake_fd = m.wake_fd;
	if (!xs_watch(m.xsh, m.root, TOK_TREE) ||
	    !xs_watch(m.xsh, "@releaseDomain", TOK_RELEASE)) {
		rc = errno ? -errno : -EIO;
		xs_engine_log(LOG_ERR, "cannot watch %s: %s", m.root,
			      strerror(-rc));
		goto out;
	}
	xs_engine_log(LOG_INFO, "serving xenshare devices under %s", m.root);
	reap_domains(&m);
	scan_all(&m);
	if (p->ready_fd >= 0) {
		if (write(p->ready_fd, "", 1) < 0) {
			/* The parent is gone: nobody to tell. */
		}
		close(p->ready_fd);
	}

	pfd[0] = (struct pollfd){ .fd = xs_fileno(m.xsh), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = m.wake_fd, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
	for (;;) {
		if (mono_ms() - last_usage >= USAGE_MS) {
			publish_usage(&m);
			last_usage = mono_ms();
		}
		rc = poll(pfd, 3, USAGE_MS);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			xs_engine_log(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[2].revents) {
			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				sig = (int)si.ssi_signo;
				break;
			}
		}
		if (pfd[1].revents)
			handle_wake(&m);
		if (pfd[0].revents)
			handle_watches(&m);
	}
	rc = sig;
out:
	shutdown_all(&m);
	xs_close(m.xsh);
	g_wake_fd = -1;
	close(m.wake_fd);
	return rc;
}

#endif /* XS_HAVE_XEN */
