// SPDX-License-Identifier: MIT
/*
 * xenshare-front: mounts a directory shared by xenshare-back.
 *
 *   xenshare-front --local SOCKET MOUNTPOINT [-f] [-d] [-o opt,...]
 *
 * Connects to the backend first (no backend, no mount), then mounts with
 * libfuse's low-level API and serves until unmounted, signalled, or the
 * backend goes away for good.  When its connection goes away the client
 * waits up to --reconnect-timeout for a backend on the same socket and
 * carries on (client.c); requests wait meanwhile.  A backend that does not
 * come back is reported once, every call fails with EIO, the session ends
 * and the mount is removed (lazily, so busy files do not keep a dead
 * mount around); the exit status is then 1.
 *
 * Trust: command line and the local user only; the backend's answers are
 * checked in client.c and fuse_ops.c.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mount.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "lib/log.h"
#include "protocol/ring.h"
#include "protocol/transport.h"
#include "front.h"
#include "xenbus_front.h"

#define DEFAULT_LARGE_BUFS	8u
#define DEFAULT_RING_ORDER	1u
#define MAX_IDLE_THREADS	16u
#define MIN_THREADS		8u
#define MAX_THREADS		64u
#define KICK_INTERVAL_US	50000
#define DEFAULT_RECONNECT_S	60.0
#define MAX_RECONNECT_S		86400.0
#define UNSET			UINT_MAX

struct conf {
	char *socket_path;
	unsigned nr_rings;
	unsigned ring_order;
	unsigned nr_large;
	double timeout;
	double reconnect_timeout;
	char *nonopt[2];	/* TAG MOUNTPOINT (xen), or MOUNTPOINT */
	unsigned nr_nonopt;
};

#define CONF_OPT(t, p) { t, offsetof(struct conf, p), 0 }

/* "--opt VALUE" is joined into "--opt=VALUE" first (join_long_opts()):
 * fuse_opt's "--opt %s" form would also match "--opt=VALUE" and any
 * longer option that starts with "--opt". */
static const struct fuse_opt conf_opts[] = {
	CONF_OPT("--local=%s", socket_path),
	CONF_OPT("--rings=%u", nr_rings),
	CONF_OPT("--ring-order=%u", ring_order),
	CONF_OPT("--io-buffers=%u", nr_large),
	CONF_OPT("--reconnect-timeout=%lf", reconnect_timeout),
	CONF_OPT("xsh_timeout=%lf", timeout),
	/* What mount(8) may pass on from an fstab line. */
	FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_END
};

/* Non-options are taken out here (fuse_parse_cmdline() accepts one) and
 * the mount point is given back afterwards. */
static int conf_proc(void *data, const char *arg, int key,
		     struct fuse_args *outargs)
{
	struct conf *conf = data;

	(void)outargs;
	if (key != FUSE_OPT_KEY_NONOPT)
		return 1;
	if (conf->nr_nonopt >= 2) {
		fprintf(stderr, "xenshare-front: too many arguments: %s\n",
			arg);
		return -1;
	}
	conf->nonopt[conf->nr_nonopt] = strdup(arg);
	if (!conf->nonopt[conf->nr_nonopt])
		return -1;
	conf->nr_nonopt++;
	return 0;
}

static const char *const long_opts[] = {
	"--local", "--rings", "--ring-order", "--io-buffers",
	"--reconnect-timeout",
};

/* Build args from argv with our "--opt VALUE" pairs joined.  0 or -1. */
static int join_long_opts(int argc, char *argv[], struct fuse_args *args)
{
	char *joined;
	size_t k;
	int i;

	for (i = 0; i < argc; i++) {
		for (k = 0; k < sizeof(long_opts) / sizeof(long_opts[0]); k++)
			if (!strcmp(argv[i], long_opts[k]))
				break;
		if (k == sizeof(long_opts) / sizeof(long_opts[0]) ||
		    i + 1 == argc) {
			if (fuse_opt_add_arg(args, argv[i]))
				return -1;
			continue;
		}
		if (asprintf(&joined, "%s=%s", argv[i], argv[i + 1]) < 0)
			return -1;
		i++;
		if (fuse_opt_add_arg(args, joined)) {
			free(joined);
			return -1;
		}
		free(joined);
	}
	return 0;
}

/* Global: a detached kicker thread may still look at it while main()
 * returns. */
static struct xsh_front front_state;

static void usage(const char *prog)
{
	printf("usage: %s TAG MOUNTPOINT [options]\n"
	       "       %s --local SOCKET MOUNTPOINT [options]\n"
	       "\n"
	       "Mount the directory a xenshare backend serves: the Xen device of\n"
	       "this domain whose tag is TAG, or the backend listening on SOCKET\n"
	       "(local transport).  In /etc/fstab, with this program on PATH as\n"
	       "\"xenshare\" (docs/xen.md):\n"
	       "    TAG  /mnt  fuse.xenshare  defaults  0 0\n"
	       "\n"
	       "xenshare options:\n"
	       "    --local SOCKET         backend's unix socket (local transport)\n"
	       "    --rings N              request rings, 1..%u (default: CPUs, at most 4;\n"
	       "                           on Xen at most 2)\n"
	       "    --ring-order N         ring size 2^N pages, 0..%u (default %u: %u slots)\n"
	       "    --io-buffers N         1 MiB buffers for large requests (default %u;\n"
	       "                           on Xen 2, fewer if the grant limit needs it)\n"
	       "    --reconnect-timeout SEC  wait this long for a lost backend to come\n"
	       "                           back (default %.0f; 0: unmount at once)\n"
	       "    -o xsh_timeout=SEC      entry and attribute cache timeout (default %.1f)\n"
	       "\n"
	       "Worker threads: one per ring slot (%u..%u) unless -o max_threads is given;\n"
	       "%u idle threads are kept unless -o max_idle_threads is given.\n"
	       "\n"
	       "Always added: -o fsname=xenshare,subtype=xenshare (and allow_other\n"
	       "when run as root); -o default_permissions unless the backend checks\n"
	       "every caller's permissions itself (id-map squash-all).\n"
	       "\n",
	       prog, prog, XSH_MAX_RINGS, XSH_MAX_RING_ORDER, DEFAULT_RING_ORDER,
	       xsh_ring_nr_slots((size_t)XSH_PAGE_SIZE << DEFAULT_RING_ORDER),
	       DEFAULT_LARGE_BUFS, DEFAULT_RECONNECT_S, XSH_FRONT_TIMEOUT,
	       MIN_THREADS, MAX_THREADS,
	       MAX_IDLE_THREADS);
	printf("FUSE options:\n");
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

/* ---- losing the backend ------------------------------------------------ */

static void wake_handler(int sig)
{
	(void)sig;
}

/* Ends the session loop: the main thread sleeps in sem_wait()
 * (multi-threaded loop) or read() (single-threaded); a signal without
 * SA_RESTART makes it look at the exit flag.  Repeated until the loop has
 * returned, so the signal cannot slip in between the loop's check and its
 * sleep. */
static void *kick_main(void *arg)
{
	struct xsh_front *f = arg;

	while (!__atomic_load_n(&f->loop_done, __ATOMIC_ACQUIRE)) {
		pthread_kill(f->main_thread, SIGUSR1);
		usleep(KICK_INTERVAL_US);
	}
	return NULL;
}

/* Called once, from a completion thread or a FUSE worker (which must not
 * block here: the loop waits for its workers). */
static void on_lost(void *arg, const char *reason)
{
	struct xsh_front *f = arg;
	pthread_attr_t attr;
	pthread_t th;

	xsh_log(LOG_ERR, "lost connection to backend at %s: %s; "
		     "unmounting", f->socket_path, reason);
	__atomic_store_n(&f->lost, 1, __ATOMIC_RELEASE);
	fuse_session_exit(f->se);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, kick_main, f))
		pthread_kill(f->main_thread, SIGUSR1);
	pthread_attr_destroy(&attr);
}

static void on_client_log(void *arg, int prio, const char *line)
{
	(void)arg;
	xsh_log(prio, "%s", line);
}

static int set_wake_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	return sigaction(SIGUSR1, &sa, NULL);
}

/* ---- main -------------------------------------------------------------- */

static unsigned default_rings(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > 4 ? 4 : (unsigned)n;
}

static int run_loop(struct fuse_session *se, struct fuse_cmdline_opts *opts,
		    unsigned total_slots)
{
	struct fuse_loop_config *cfg;
	unsigned max_threads;
	int rc;

	if (opts->singlethread)
		return fuse_session_loop(se);
	/* libfuse's own defaults mean "not given on the command line". */
	max_threads = opts->max_threads != 10 ? opts->max_threads :
		      total_slots;
	if (max_threads < MIN_THREADS)
		max_threads = MIN_THREADS;
	if (max_threads > MAX_THREADS)
		max_threads = MAX_THREADS;
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_idle_threads(cfg, opts->max_idle_threads != UINT_MAX ?
					    opts->max_idle_threads :
					    MAX_IDLE_THREADS);
	fuse_loop_cfg_set_max_threads(cfg, max_threads);
	rc = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return rc;
}

/* A read-only export: make the mount itself read-only, so the guest's
 * statfs and /proc/mounts say so (the kernel fills f_flag from the mount,
 * not from the file system's answer) and writes fail before a round trip.
 * Needs root; without it the backend's EROFS answers still hold. */
static void mark_read_only(struct xsh_client *c, const char *mountpoint)
{
	struct xsh_call call;

	memset(&call, 0, sizeof(call));
	call.req.opcode = XSH_OP_STATFS;
	call.req.nodeid = XSH_ROOT_NODEID;
	if (xsh_client_call(c, &call))
		return;
	if (call.rsp.u.statfs.flags & XSH_STATFS_RDONLY) {
		if (mount(NULL, mountpoint, NULL, MS_REMOUNT | MS_BIND |
			  MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
			xsh_log(LOG_WARNING, "read-only export, but the "
				     "mount could not be made read-only: %s",
				     strerror(errno));
	}
	xsh_client_release(&call);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct conf conf = {
		.nr_rings = UNSET,
		.ring_order = UNSET,
		.nr_large = UNSET,
		.timeout = XSH_FRONT_TIMEOUT,
		.reconnect_timeout = DEFAULT_RECONNECT_S,
	};
	struct xsh_front_xen_sizes xsz = { 0 };
	struct xsh_front_xen xen;
	const char *tag = NULL;
	int ready_fd = -1;
	struct fuse_cmdline_opts opts;
	struct xsh_client_params cp = { 0 };
	struct xsh_front *fs = &front_state;
	struct fuse_session *se = NULL;
	const struct xsh_tport *t;
	unsigned total_slots;
	int rc, status = 1;

	xsh_log_setup("xenshare-front", false, true);

	memset(&opts, 0, sizeof(opts));
	if (join_long_opts(argc, argv, &args) ||
	    fuse_opt_parse(&args, &conf, conf_opts, conf_proc) < 0)
		goto out_args;
	/* TAG MOUNTPOINT (xen), or --local SOCKET MOUNTPOINT. */
	if (conf.nr_nonopt == 2 && !conf.socket_path)
		tag = conf.nonopt[0];
	if (conf.nr_nonopt >= 1 &&
	    fuse_opt_add_arg(&args, conf.nonopt[conf.nr_nonopt - 1]) < 0)
		goto out_args;
	xsz.rings_given = conf.nr_rings != UNSET;
	xsz.order_given = conf.ring_order != UNSET;
	xsz.large_given = conf.nr_large != UNSET;
	if (conf.nr_rings == UNSET)
		conf.nr_rings = default_rings();
	if (conf.ring_order == UNSET)
		conf.ring_order = DEFAULT_RING_ORDER;
	if (conf.nr_large == UNSET)
		conf.nr_large = DEFAULT_LARGE_BUFS;
	/* Before fuse_parse_cmdline(), which would add its own subtype. */
	if (fuse_opt_add_arg(&args, "-ofsname=xenshare,subtype=xenshare") < 0 ||
	    (geteuid() == 0 && fuse_opt_add_arg(&args, "-oallow_other") < 0))
		goto out_args;
	if (fuse_parse_cmdline(&args, &opts) < 0)
		goto out_args;
	if (opts.show_help) {
		usage(argv[0]);
		status = 0;
		goto out_args;
	}
	if (opts.show_version) {
		printf("xenshare-front %s, protocol %u\n", XSH_FRONT_VERSION,
		       XSH_PROTO_VERSION);
		fflush(stdout);
		fuse_lowlevel_version();
		status = 0;
		goto out_args;
	}
	if ((!conf.socket_path && !tag) || !opts.mountpoint ||
	    (conf.socket_path && conf.nr_nonopt != 1)) {
		fprintf(stderr, "usage: %s TAG MOUNTPOINT [options]\n"
			"       %s --local SOCKET MOUNTPOINT [options]  "
			"(--help for more)\n", argv[0], argv[0]);
		goto out_args;
	}
	if (conf.nr_rings < 1 || conf.nr_rings > XSH_MAX_RINGS ||
	    conf.ring_order > XSH_MAX_RING_ORDER || conf.nr_large < 1 ||
	    !(conf.timeout >= 0.0) || !(conf.reconnect_timeout >= 0.0) ||
	    conf.reconnect_timeout > MAX_RECONNECT_S) {
		fprintf(stderr, "xenshare-front: --rings must be 1..%u, "
			"--ring-order 0..%u, --io-buffers >= 1, "
			"--reconnect-timeout 0..%.0f, xsh_timeout >= 0\n",
			XSH_MAX_RINGS, XSH_MAX_RING_ORDER, MAX_RECONNECT_S);
		goto out_args;
	}

	if (tag) {
		/* Xen: daemonize now, before libxenstore starts threads. */
		if (!opts.foreground) {
			rc = xsh_front_daemon_start(&ready_fd);
			if (rc) {
				fprintf(stderr, "xenshare-front: fork: %s\n",
					strerror(-rc));
				goto out_args;
			}
		}
		xsz.nr_rings = conf.nr_rings;
		xsz.ring_order = conf.ring_order;
		xsz.nr_large = conf.nr_large;
		if (xsh_front_xen_setup(&xen, tag, &xsz))
			goto out_args;
		conf.nr_rings = xsz.nr_rings;
		conf.ring_order = xsz.ring_order;
		conf.nr_large = xsz.nr_large;
		cp.connect = xsh_front_xen_connect;
		cp.connect_arg = &xen;
		cp.socket_path = xen.name;
	} else {
		cp.socket_path = conf.socket_path;
	}
	cp.nr_rings = conf.nr_rings;
	cp.ring_order = conf.ring_order;
	cp.nr_large = conf.nr_large;
	cp.features = XSH_FEAT_ALL;
	cp.reconnect_ms = (int)(conf.reconnect_timeout * 1000.0);
	rc = xsh_client_connect(&cp, &fs->client);
	if (rc) {
		fprintf(stderr, "xenshare-front: cannot connect to backend "
			"at %s: %s\n", cp.socket_path, strerror(-rc));
		goto out_args;
	}
	t = xsh_client_tport(fs->client);
	fs->socket_path = cp.socket_path;
	fs->timeout = conf.timeout;
	fs->features = t->features;
	fs->max_io = t->max_io;
	/* The guest kernel checks permissions, unless the backend does it
	 * for every caller (squash-all). */
	if (!(t->features & XSH_FEAT_HOST_PERMS) &&
	    fuse_opt_add_arg(&args, "-odefault_permissions") < 0)
		goto out_client;
	total_slots = conf.nr_rings *
		      xsh_ring_nr_slots((size_t)XSH_PAGE_SIZE << conf.ring_order);

	se = fuse_session_new(&args, &xsh_front_ops, sizeof(xsh_front_ops), fs);
	if (!se)
		goto out_client;
	fs->se = se;
	if (fuse_set_signal_handlers(se) || set_wake_handler())
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint))
		goto out_signals;
	if (fuse_daemonize(opts.foreground || tag))
		goto out_unmount;
	xsh_front_daemon_ready(ready_fd, 0);
	if (!opts.foreground) {
		xsh_log_setup("xenshare-front", true, true);
	}

	/* Threads only now: fuse_daemonize() forks. */
	fs->main_thread = pthread_self();
	xsh_client_set_lost_handler(fs->client, on_lost, fs);
	xsh_client_set_log_handler(fs->client, on_client_log, NULL);
	rc = xsh_client_start(fs->client);
	if (rc) {
		xsh_log(LOG_ERR, "cannot start: %s", strerror(-rc));
		goto out_loop_done;
	}
	mark_read_only(fs->client, opts.mountpoint);
	rc = run_loop(se, &opts, total_slots);
	status = rc < 0 ? 1 : 0;

out_loop_done:
	__atomic_store_n(&fs->loop_done, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&fs->lost, __ATOMIC_ACQUIRE))
		status = 1;
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_client:
	__atomic_store_n(&fs->loop_done, 1, __ATOMIC_RELEASE);
	xsh_client_close(fs->client);
out_args:
	free(opts.mountpoint);
	free(conf.socket_path);
	free(conf.nonopt[0]);
	free(conf.nonopt[1]);
	fuse_opt_free_args(&args);
	return status;
}
