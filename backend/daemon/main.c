// SPDX-License-Identifier: MIT
/*
 * xenshare-back: serve one host directory to frontends that connect over
 * the local transport (a unix socket; see transport/local.h).
 *
 *   xenshare-back --local SOCKET EXPORT_DIR [options]
 *
 * Two processes.  The supervisor (this one) listens on the socket and
 * hands each accepted connection (SCM_RIGHTS over a socketpair) to the
 * worker, which serves the export inside a sandbox (backend/daemon/sandbox.h,
 * docs/security.md): there each socket gets a short-lived handshake
 * thread (the transport bounds the handshake in time), control
 * connections are served, and data connections are handed to the ring
 * engine (engine.c), which serves them on its own threads.  The number of
 * connections is bounded; one more is refused at the handshake with
 * EBUSY.  A worker that dies is restarted, at once the first time, then
 * with a growing delay while it keeps dying; its frontends see their
 * connection drop and reconnect.  --no-sandbox keeps the two processes
 * but not the sandbox.
 *
 * Trust: the command line is the administrator's.  Everything arriving on
 * the socket is the peer's: the handshake is checked by the transport (in
 * the worker), requests by the codec.  The supervisor reads nothing from
 * the peer; from the worker it takes only "ready", a refused system call's
 * number and the live-settable policy keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "control.h"
#include "engine.h"
#include "backend/service/policy.h"
#include "sandbox.h"
#include "backend/service/service.h"
#include "snapshot.h"
#include "state.h"
#include "supervisor.h"
#include "worker.h"
#include "xenbus.h"
#include "transport/local.h"

#define XSH_BACK_VERSION		"0.1"
#define REFUSE_TIMEOUT_MS	500
#define EXIT_USAGE		2
#define LOCAL_NAME		"local"	/* the export, in logs; its
					 * connections are "local.N" */

struct opts {
	bool xen;			/* no --local: every Xen device */
	const char *socket;
	const char *export_dir;
	const char *template_dir;	/* --template, or NULL */
	const char *state_dir;		/* NULL: XSH_STATE_DIR */
	bool foreground;
	bool debug;
	bool no_sandbox;
	const char *snapshot_dir;	/* NULL: no snapshots */
	unsigned quiesce_ms;
	struct xsh_policy pol;
	struct xsh_engine_params eng;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: xenshare-back --local SOCKET EXPORT_DIR [--template DIR] [options]\n"
"       xenshare-back [options]\n"
"\n"
"Without --local: serve every xenshare device of every Xen domain that\n"
"xenstore names (xenshare-ctl attach creates them).  Devices come and go\n"
"by xenstore watch; each device's policy is read from its backend nodes,\n"
"and policy options given here are the defaults those nodes override\n"
"(docs/xen.md).  Each connection is served by a sandboxed worker.\n"
"\n"
"Serve EXPORT_DIR to xenshare frontends connecting on the unix socket\n"
"SOCKET.\n"
"\n"
"  --local SOCKET        listen on this unix socket (a stale socket there\n"
"                        is replaced; any other file is not)\n"
"  -f                    stay in the foreground, log to stderr\n"
"  -d, --debug           log every request (implies -f)\n"
"  --threads N           worker threads per connection (1..%u, default 4)\n"
"  --max-conns N         connections served at once (default 64); more\n"
"                        are refused at the handshake\n"
"  --template DIR        build the export on this read-only template\n"
"                        directory: the guest sees the template merged\n"
"                        with EXPORT_DIR's private data, kept in\n"
"                        EXPORT_DIR/upper (overlay work: EXPORT_DIR/work);\n"
"                        the template is never written (docs/templates.md)\n"
"  --mode ro|rw          read-only or read-write export (default rw)\n"
"  --id-map MAP          passthrough (default), squash-root, squash-all,\n"
"                        or range:BASE (guest id N is host id BASE+N)\n"
"  --allow-setid         let the guest set set-uid/set-gid bits on files\n"
"                        (refused by default)\n"
"  --allow-devices       let the guest create device nodes (refused by\n"
"                        default)\n"
"  --quota-bytes N       allocated bytes the export may use (K, M, G, T\n"
"                        suffixes: powers of 1024; default 0 = no quota)\n"
"  --quota-inodes N      inodes the export may use (default 0 = no quota)\n"
"  --quota-soft-percent P\n"
"                        warn at P%% of a quota (0..100, default 90)\n"
"  --snapshot-dir DIR    keep snapshots of the export here (outside the\n"
"                        export; docs/snapshots.md)\n"
"  --quiesce-timeout MS  how long a snapshot waits for the requests in\n"
"                        flight (default %u)\n"
"  --state-dir DIR       keep what must survive a restart here, the key\n"
"                        that signs guests' node handles (default\n"
"                        " XSH_STATE_DIR ")\n"
"\n"
"       xenshare-back --ctl SOCKET status | set KEY=VALUE...\n"
"       xenshare-back --ctl SOCKET snapshot NAME\n"
"       xenshare-back --ctl SOCKET snapshots list|delete NAME|restore NAME\n"
"                        talk to a running backend (docs/quota.md,\n"
"                        docs/snapshots.md)\n"
"  --no-sandbox          serve without the worker's sandbox (for debugging\n"
"                        with gdb or valgrind; docs/security.md)\n"
"  -h, --help            this text\n"
"  -V, --version         version\n",
		XSH_ENGINE_MAX_WORKERS, XSH_SNAP_QUIESCE_MS);
}

static int parse_uint(const char *s, unsigned min, unsigned max,
		      unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

enum {
	OPT_LOCAL = 256,
	OPT_THREADS,
	OPT_MAX_CONNS,
	OPT_MODE,
	OPT_IDMAP,
	OPT_ALLOW_SETID,
	OPT_ALLOW_DEVICES,
	OPT_QUOTA_BYTES,
	OPT_QUOTA_INODES,
	OPT_QUOTA_SOFT,
	OPT_STATE_DIR,
	OPT_NO_SANDBOX,
	OPT_SNAPSHOT_DIR,
	OPT_QUIESCE_TIMEOUT,
	OPT_TEMPLATE,
};

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "local", required_argument, NULL, OPT_LOCAL },
		{ "debug", no_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "id-map", required_argument, NULL, OPT_IDMAP },
		{ "allow-setid", no_argument, NULL, OPT_ALLOW_SETID },
		{ "allow-devices", no_argument, NULL, OPT_ALLOW_DEVICES },
		{ "quota-bytes", required_argument, NULL, OPT_QUOTA_BYTES },
		{ "quota-inodes", required_argument, NULL, OPT_QUOTA_INODES },
		{ "quota-soft-percent", required_argument, NULL, OPT_QUOTA_SOFT },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
		{ "snapshot-dir", required_argument, NULL, OPT_SNAPSHOT_DIR },
		{ "quiesce-timeout", required_argument, NULL,
		  OPT_QUIESCE_TIMEOUT },
		{ "template", required_argument, NULL, OPT_TEMPLATE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	xsh_policy_default(&o->pol);
	xsh_engine_params_default(&o->eng);
	o->quiesce_ms = XSH_SNAP_QUIESCE_MS;
	while ((c = getopt_long(argc, argv, "fdhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LOCAL:
			o->socket = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'd':
			o->debug = true;
			o->foreground = true;
			break;
		case OPT_THREADS:
			if (parse_uint(optarg, 1, XSH_ENGINE_MAX_WORKERS,
				       &o->eng.nr_workers)) {
				fprintf(stderr, "xenshare-back: --threads: want 1..%u, got '%s'\n",
					XSH_ENGINE_MAX_WORKERS, optarg);
				exit(EXIT_USAGE);
			}
			break;
		case OPT_MAX_CONNS:
			if (parse_uint(optarg, 1, 4096, &o->eng.max_conns)) {
				fprintf(stderr, "xenshare-back: --max-conns: want 1..4096, got '%s'\n",
					optarg);
				exit(EXIT_USAGE);
			}
			break;
		case OPT_MODE:
			if (xsh_policy_set_key(&o->pol, "mode", optarg)) {
				fprintf(stderr, "xenshare-back: --mode: want ro or rw, got '%s'\n",
					optarg);
				exit(EXIT_USAGE);
			}
			break;
		case OPT_IDMAP:
			if (xsh_policy_parse_idmap(&o->pol, optarg)) {
				fprintf(stderr, "xenshare-back: --id-map: want passthrough, squash-root, squash-all or range:BASE, got '%s'\n",
					optarg);
				exit(EXIT_USAGE);
			}
			break;
		case OPT_ALLOW_SETID:
			xsh_policy_allow_setid(&o->pol);
			break;
		case OPT_ALLOW_DEVICES:
			xsh_policy_allow_devices(&o->pol);
			break;
		case OPT_STATE_DIR:
			o->state_dir = optarg;
			break;
		case OPT_NO_SANDBOX:
			o->no_sandbox = true;
			break;
		case OPT_SNAPSHOT_DIR:
			o->snapshot_dir = optarg;
			break;
		case OPT_QUIESCE_TIMEOUT:
			if (parse_uint(optarg, 100, XSH_WORKER_QUIESCE_MAX_MS,
				       &o->quiesce_ms)) {
				fprintf(stderr, "xenshare-back: --quiesce-timeout: want 100..%u ms, got '%s'\n",
					XSH_WORKER_QUIESCE_MAX_MS, optarg);
				exit(EXIT_USAGE);
			}
			break;
		case OPT_TEMPLATE:
			o->template_dir = optarg;
			break;
		case OPT_QUOTA_BYTES:
		case OPT_QUOTA_INODES:
		case OPT_QUOTA_SOFT: {
			const char *key = c == OPT_QUOTA_BYTES ? "quota-bytes" :
					  c == OPT_QUOTA_INODES ? "quota-inodes" :
					  "quota-soft-percent";

			if (xsh_policy_set_key(&o->pol, key, optarg)) {
				fprintf(stderr, "xenshare-back: --%s: want %s, got '%s'\n",
					key, c == OPT_QUOTA_SOFT ? "0..100" :
					"a number with an optional K, M, G or T suffix",
					optarg);
				exit(EXIT_USAGE);
			}
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("xenshare-back %s (protocol version %u)\n",
			       XSH_BACK_VERSION, XSH_PROTO_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (!o->socket) {
		o->xen = true;
		if (o->snapshot_dir) {
			fprintf(stderr, "xenshare-back: --snapshot-dir: snapshots of Xen devices are not built yet (docs/snapshots.md)\n");
			exit(EXIT_USAGE);
		}
		if (o->template_dir) {
			fprintf(stderr, "xenshare-back: --template goes with --local; a Xen device's template is its backend node template (xenshare-ctl attach --template)\n");
			exit(EXIT_USAGE);
		}
		if (optind == argc)
			return;
		fprintf(stderr, "xenshare-back: EXPORT_DIR goes with --local SOCKET; Xen devices are attached with xenshare-ctl\n");
		usage(stderr);
		exit(EXIT_USAGE);
	}
	if (o->snapshot_dir && o->template_dir) {
		/* The private directory alone is not the guest's tree. */
		fprintf(stderr, "xenshare-back: --snapshot-dir with --template: snapshots of a template device are not built yet (docs/snapshots.md)\n");
		exit(EXIT_USAGE);
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "xenshare-back: %s\n",
			"exactly one EXPORT_DIR is required");
		usage(stderr);
		exit(EXIT_USAGE);
	}
	o->export_dir = argv[optind];
}

/* The file service keeps an O_PATH fd per node it knows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		fprintf(stderr, "xenshare-back: raising RLIMIT_NOFILE: %s\n",
			strerror(errno));
}

/* The export's handle key from the state directory.  Without one the
 * export keeps the random key it was opened with: guests' nodes then go
 * stale when this daemon is restarted.  That is an error when the
 * directory was asked for, a warning when it is only the default. */
static int load_handle_key(const struct opts *o,
			   uint8_t key[XSH_SIPHASH_KEY_LEN], bool *have)
{
	const char *dir = o->state_dir ? o->state_dir : XSH_STATE_DIR;
	char err[256];

	*have = false;
	if (xsh_state_export_key(dir, o->export_dir, key, err, sizeof(err))) {
		fprintf(stderr, "xenshare-back: %s%s\n", err, o->state_dir ? "" :
			"; node handles will not survive a restart");
		return o->state_dir ? -1 : 0;
	}
	*have = true;
	return 0;
}

/* Replace a socket nobody listens on; never touch anything else. */
static int clear_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "xenshare-back: %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "xenshare-back: %s exists and is not a socket\n",
			path);
		return -EEXIST;
	}
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (rc == 0) {
		fprintf(stderr, "xenshare-back: %s: another backend is listening there\n",
			path);
		return -EADDRINUSE;
	}
	if (unlink(path) && errno != ENOENT) {
		fprintf(stderr, "xenshare-back: removing stale %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	return 0;
}

/* Where to unlink the socket at exit, valid after chdir("/"). */
static char *absolute_path(const char *path)
{
	char cwd[PATH_MAX];
	char *abs;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (asprintf(&abs, "%s/%s", cwd, path) < 0)
		return NULL;
	return abs;
}

/* The parent exits once the first worker serves (0) or failed (1):
 * *ready_fd is where the daemon says so. */
static int daemonize(int *ready_fd)
{
	pid_t pid;
	char c;
	int fd, p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) == 1)
			_exit(0);
		fprintf(stderr, "xenshare-back: the file service did not start (see the system log)\n");
		_exit(1);
	}
	close(p[0]);
	*ready_fd = p[1];
	if (setsid() < 0)
		return -errno;
	if (chdir("/"))
		return -errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

/* Over the limit: read the hello (closing the descriptors it carries) so
 * that the frontend reads our answer, then answer EBUSY. */
static void refuse(int fd, unsigned conn_no, int err)
{
	struct xsh_local_welcome w = { .magic = XSH_LOCAL_MAGIC, .error = err };
	struct xsh_local_hello hello;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * (1 + 2 * XSH_MAX_RINGS))];
	} cbuf;
	struct iovec iov = { .iov_base = &hello, .iov_len = sizeof(hello) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct cmsghdr *cm;

	xsh_log(LOG_WARNING, "local.%u: refused: %s", conn_no,
		      strerror(err));
	if (poll(&pfd, 1, REFUSE_TIMEOUT_MS) == 1 &&
	    recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) >= 0) {
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			size_t k, n;
			int one;

			if (cm->cmsg_level != SOL_SOCKET ||
			    cm->cmsg_type != SCM_RIGHTS)
				continue;
			n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (k = 0; k < n; k++) {
				memcpy(&one, CMSG_DATA(cm) + k * sizeof(int),
				       sizeof(int));
				close(one);
			}
		}
	}
	(void)send(fd, &w, sizeof(w), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* Control connections on the same socket (backend/daemon/control.c). */
static struct xsh_control *control;

static void policy_sync(void);

struct handshake {
	struct xsh_engine *eng;
	int fd;
	unsigned conn_no;
};

static uint64_t offered_features(void);

static void *handshake_main(void *arg)
{
	struct handshake *h = arg;
	struct xsh_tport *t;
	uint32_t kind;
	char name[32];
	int rc, ctl_fd;

	rc = xsh_local_accept_any(h->fd, offered_features(), XSH_MAX_IO,
				 h->conn_no, &kind, &t, &ctl_fd);
	if (rc) {
		xsh_log(LOG_WARNING, "local.%u: handshake failed: %s",
			      h->conn_no, strerror(-rc));
		xsh_engine_unreserve(h->eng);
	} else if (kind == XSH_LOCAL_KIND_CONTROL) {
		xsh_engine_unreserve(h->eng);
		snprintf(name, sizeof(name), "local.%u", h->conn_no);
		xsh_control_serve(control, ctl_fd, name);
		policy_sync();
	} else {
		xsh_engine_add(h->eng, t);
	}
	free(h);
	return NULL;
}

static void start_handshake(struct xsh_engine *eng, int fd, unsigned conn_no)
{
	struct handshake *h;
	pthread_attr_t attr;
	pthread_t thr;
	int rc;

	rc = xsh_engine_reserve(eng);
	if (rc) {
		refuse(fd, conn_no, -rc);
		return;
	}
	h = malloc(sizeof(*h));
	if (!h) {
		xsh_engine_unreserve(eng);
		refuse(fd, conn_no, ENOMEM);
		return;
	}
	*h = (struct handshake){ .eng = eng, .fd = fd, .conn_no = conn_no };
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&thr, &attr, handshake_main, h);
	pthread_attr_destroy(&attr);
	if (rc) {
		free(h);
		xsh_engine_unreserve(eng);
		refuse(fd, conn_no, rc);
	}
}

/* ---- the worker: one process serving the export ---------------------- */

/* The worker's end of the channel to the supervisor, and what policy
 * changes made over control connections are read from. */
static int worker_chan = -1;
static struct xsh_export *worker_exp;
/* Kept until exit: handshake threads may still hold it then. */
static struct xsh_engine *worker_eng;
static pthread_mutex_t policy_sync_lock = PTHREAD_MUTEX_INITIALIZER;

/* What a frontend is offered under the export's policy. */
static uint64_t offered_features(void)
{
	struct xsh_policy pol;

	if (!worker_exp)
		return XSH_FEAT_ALL & ~XSH_FEAT_HOST_PERMS;
	xsh_export_get_policy(worker_exp, &pol);
	return xsh_policy_features(&pol, XSH_FEAT_ALL);
}

/* Tell the supervisor the policy in force, so that a restarted worker
 * starts with what the administrator set live. */
static void policy_sync(void)
{
	struct xsh_policy pol;

	if (worker_chan < 0 || !worker_exp)
		return;
	pthread_mutex_lock(&policy_sync_lock);
	xsh_export_get_policy(worker_exp, &pol);
	(void)xsh_worker_send(worker_chan, XSH_WMSG_POLICY, 0, &pol, sizeof(pol),
			     -1);
	pthread_mutex_unlock(&policy_sync_lock);
}

/* A snapshot command from a control connection: the supervisor serves
 * it, with the connection (the worker cannot reach the snapshots). */
static int handoff_ctl(void *arg, int fd, const char *cmd, size_t len)
{
	(void)arg;
	if (len > XSH_WMSG_BODY_MAX)
		return -EMSGSIZE;
	return xsh_worker_send(worker_chan, XSH_WMSG_CTL, 0, cmd, len, fd);
}

/* One connection from the supervisor; -1 when it hung up. */
static int worker_recv(struct xsh_engine *eng, int chan)
{
	struct xsh_wmsg m;
	ssize_t n;
	int fd;

	n = xsh_worker_recv(chan, &m, NULL, 0, &fd);
	if (n == -EPIPE)
		return -1;
	if (n >= 0 && fd < 0 && xsh_worker_pause_msg(eng, chan, &m, LOCAL_NAME))
		return 0;
	if (fd < 0)
		return 0;
	if (n != 0 || m.type != XSH_WMSG_CONN) {
		close(fd);
		return 0;
	}
	start_handshake(eng, fd, m.arg);
	return 0;
}

struct worker_args {
	const struct opts *o;
	int close_fds[4];		/* the supervisor's, -1 if none */
	struct xsh_worker_args w;	/* export_fd is the supervisor's; chan
					 * set in the worker */
};

/* The worker process: sandbox, export, engine; serves until the
 * supervisor hangs up or a signal arrives on sfd.  Returns an exit
 * status. */
static int worker_main(const struct worker_args *a, int chan, int sfd)
{
	const struct opts *o = a->o;
	struct xsh_worker_args wa = a->w;
	struct xsh_export *exp;
	struct xsh_engine *eng;
	char why[256];
	unsigned i;
	int rc;

	for (i = 0; i < 4; i++)
		if (a->close_fds[i] >= 0)
			close(a->close_fds[i]);
	worker_chan = chan;
	wa.chan = chan;
	wa.name = LOCAL_NAME;
	xsh_worker_prepare(!o->foreground);
	if (xsh_worker_start(&wa, &exp, &eng, why, sizeof(why)))
		return 1;
	worker_exp = exp;
	worker_eng = eng;
	rc = xsh_control_new(exp, wa.export_abs, &control);
	if (rc) {
		xsh_log(LOG_ERR, "%s: starting: %s", wa.name, strerror(-rc));
		return 1;
	}
	xsh_control_set_handoff(control, handoff_ctl, NULL);
	if (xsh_worker_send(chan, XSH_WMSG_READY, 0, NULL, 0, -1))
		return 1;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = chan, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents && worker_recv(eng, chan) < 0)
			break;
	}
	xsh_engine_shutdown(worker_eng);
	return 0;
}

/* ---- the supervisor --------------------------------------------------- */

#define WORKER_STOP_MS	8000

/* A worker dying within 10 s "loops": from the second such death in a
 * row the restart waits 250 ms, doubling, up to 30 s. */
static const struct xsh_sup_pacing local_pacing = {
	.quick_ms = 10000,
	.free = 1,
	.first_ms = 250,
	.max_shift = 8,
	.max_ms = 30000,
	.slow_counts = true,
};

struct sup {
	struct worker_args wa;
	int lfd;
	int sfd;			/* SIGTERM, SIGINT, SIGHUP */
	int ready_fd;			/* daemon's parent waits on it, or -1 */
	struct xsh_policy pol;		/* what the next worker starts with */
	struct xsh_sup sup;
	struct xsh_sup_worker w;	/* the export's worker */
	bool ever_ready;
	unsigned conn_no;
	struct xsh_control *ctl;	/* the snapshot commands */
	struct xsh_snap_ctx snap;
	int ctl_fd;			/* a command to serve, or -1 */
	size_t ctl_len;
	char ctl_cmd[XSH_WMSG_BODY_MAX];
};

static void local_child(void *arg, int chan, bool pidns)
{
	struct sup *s = arg;

	s->wa.w.pidns = pidns;
	exit(worker_main(&s->wa, chan, s->sfd));
}

static int spawn_worker(struct sup *s)
{
	int rc;

	s->wa.w.pol = &s->pol;
	s->wa.close_fds[0] = s->lfd;
	s->wa.close_fds[1] = s->sup.chld_fd;
	s->wa.close_fds[2] = s->ready_fd;
	/* The snapshots are the administrator's, never the worker's. */
	s->wa.close_fds[3] = s->snap.ops ? s->snap.dir_fd : -1;
	rc = xsh_sup_spawn(&s->sup, &s->w, local_child, s);
	if (rc)
		return rc;
	xsh_log(LOG_DEBUG, "%s: worker %d started", s->w.name, (int)s->w.pid);
	return 0;
}

/* Only the keys that can be changed live; the rest stays the command
 * line's whatever a (possibly compromised) worker says. */
static void adopt_policy(struct sup *s, const struct xsh_policy *p)
{
	xsh_policy_adopt_live(&s->pol, p);
}

static void local_on_policy(struct xsh_sup_worker *w,
			    const struct xsh_policy *p)
{
	adopt_policy(w->arg, p);
}

static void local_on_ready(struct xsh_sup_worker *w)
{
	struct sup *s = w->arg;

	xsh_log(LOG_INFO, "%s: worker %d serving %s%s%s (%s)", w->name,
		(int)w->pid, s->wa.w.export_abs,
		s->wa.w.template_abs ? " on template " : "",
		s->wa.w.template_abs ? s->wa.w.template_abs : "",
		s->wa.o->no_sandbox ? "no sandbox" : "sandboxed");
	if (!s->ever_ready && s->ready_fd >= 0) {
		(void)write(s->ready_fd, "", 1);
		close(s->ready_fd);
		s->ready_fd = -1;
	}
	s->ever_ready = true;
}

/* -1 when the first worker died before serving: the daemon exits. */
static int local_on_exit(struct xsh_sup_worker *w, int status,
			 const char *how, long delay_ms)
{
	struct sup *s = w->arg;

	(void)status;
	(void)how;
	if (w->stopping)
		return 0;
	if (!s->ever_ready)
		return -1;
	if (delay_ms)
		xsh_log(LOG_WARNING, "%s: the worker keeps dying: restarting it in %ld ms",
			w->name, delay_ms);
	else
		xsh_log(LOG_WARNING, "%s: restarting the worker", w->name);
	return 0;
}

/* One command at a time: it is served from the loop, after the read. */
static void local_on_ctl(struct xsh_sup_worker *w, int fd, const char *text,
			 size_t n)
{
	struct sup *s = w->arg;

	if (s->ctl_fd >= 0 || n > sizeof(s->ctl_cmd)) {
		(void)send(fd, "error: another snapshot command is running\n",
			   43, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	memcpy(s->ctl_cmd, text, n);
	s->ctl_len = n;
	s->ctl_fd = fd;
}

static void serve_ctl(struct sup *s)
{
	int fd = s->ctl_fd;

	s->ctl_fd = -1;
	xsh_control_serve_one(s->ctl, fd, s->ctl_cmd, s->ctl_len,
			      LOCAL_NAME ".ctl",
			      s->wa.o->no_sandbox ? 0 : s->w.pid);
}

/* ---- the hooks of snapshots (snapshot.h) ------------------------------- */

static int snap_quiesce(void *arg, char *why, size_t len)
{
	struct sup *s = arg;
	int rc = xsh_sup_quiesce(&s->sup, &s->w, (long)s->wa.o->quiesce_ms);

	if (!rc)
		return 0;
	xsh_sup_resume(&s->sup, &s->w);
	if (rc == -ETIMEDOUT)
		snprintf(why, len, "the worker did not quiesce within %u ms: no snapshot taken, the device goes on",
			 s->wa.o->quiesce_ms);
	else if (rc == -EPIPE || rc == -ENOTCONN)
		snprintf(why, len, "the worker is not serving (it died or is restarting): no snapshot taken");
	else
		snprintf(why, len, "the worker could not quiesce: %s: no snapshot taken",
			 strerror(-rc));
	xsh_log(LOG_WARNING, "%s: %s", s->w.name, why);
	return rc;
}

static void snap_resume(void *arg)
{
	struct sup *s = arg;

	xsh_sup_resume(&s->sup, &s->w);
}

/* SIGKILL: a worker asked to stop would serve what it holds first, on
 * nodes of the tree that is gone; killed, it serves nothing and its
 * frontends resend to the next worker, which the loop starts. */
static void snap_restart(void *arg)
{
	struct sup *s = arg;

	xsh_log(LOG_INFO, "%s: snapshot restored: replacing the held worker",
		s->w.name);
	xsh_sup_stop_wait(&s->sup, &s->w, SIGKILL);
}

static const struct xsh_snap_ops snap_ops = {
	.quiesce = snap_quiesce,
	.resume = snap_resume,
	.restart = snap_restart,
};

static const struct xsh_sup_ops local_ops = {
	.on_ready = local_on_ready,
	.on_policy = local_on_policy,
	.on_ctl = local_on_ctl,
	.on_exit = local_on_exit,
	.exit_prio = LOG_ERR,
};

/* Hand an accepted socket to the worker, which does the handshake. */
static void pass_conn(struct sup *s, int fd)
{
	int rc = xsh_worker_send(s->w.chan, XSH_WMSG_CONN, ++s->conn_no, NULL,
				 0, fd);

	if (rc)
		xsh_log(LOG_WARNING, "local.%u: cannot hand to the worker: %s",
			      s->conn_no, strerror(-rc));
	close(fd);
}

/* Returns the signal that ended the loop, or 0 on a fatal error. */
static int supervise(struct sup *s)
{
	struct signalfd_siginfo si;
	int fd;

	int rc = spawn_worker(s);

	if (rc) {
		xsh_log(LOG_ERR, "starting the worker: %s", strerror(-rc));
		return 0;
	}
	for (;;) {
		struct pollfd pfd[4];
		int n = 0, i_chan = -1, i_lfd = -1, timeout = -1;

		pfd[n++] = (struct pollfd){ .fd = s->sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = s->sup.chld_fd,
					    .events = POLLIN };
		if (s->w.chan >= 0) {
			i_chan = n;
			pfd[n++] = (struct pollfd){ .fd = s->w.chan,
						    .events = POLLIN };
		}
		if (s->w.ready) {
			i_lfd = n;
			pfd[n++] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
		}
		if (!s->w.pid)
			timeout = (int)xsh_sup_wait_ms(&s->w);
		if (poll(pfd, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			xsh_log(LOG_ERR, "poll: %s", strerror(errno));
			return 0;
		}
		if (pfd[0].revents &&
		    read(s->sfd, &si, sizeof(si)) == sizeof(si))
			return (int)si.ssi_signo;
		if (pfd[1].revents && xsh_sup_reap(&s->sup))
			return 0;
		if (i_chan >= 0 && pfd[i_chan].revents && s->w.chan >= 0)
			(void)xsh_sup_read(&s->sup, &s->w, false);
		if (s->ctl_fd >= 0)
			serve_ctl(s);
		if (i_lfd >= 0 && pfd[i_lfd].revents && s->w.ready) {
			fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0) {
				pass_conn(s, fd);
			} else if (errno != EINTR && errno != EAGAIN &&
				   errno != ECONNABORTED) {
				/* EMFILE and friends: back off, don't spin. */
				xsh_log(LOG_ERR, "accept: %s",
					      strerror(errno));
				poll(NULL, 0, 100);
			}
		}
		if (!s->w.pid && !xsh_sup_wait_ms(&s->w)) {
			rc = spawn_worker(s);
			if (rc) {
				xsh_log(LOG_ERR, "starting the worker: %s",
					      strerror(-rc));
				s->w.start_at_ms = xsh_now_ms() +
						   local_pacing.max_ms;
			}
		}
	}
}

/* --snapshot-dir: the directory, checked, and the supervisor's control
 * for the snapshot commands.  0, or -1 with the reason told. */
static int open_snapshots(const struct opts *o, struct sup *s, int export_fd)
{
	char why[200];
	int fd, rc;

	rc = xsh_control_new(NULL, o->export_dir, &s->ctl);
	if (rc) {
		xsh_log(LOG_ERR, "starting: %s", strerror(-rc));
		return -1;
	}
	if (!o->snapshot_dir)
		return 0;
	fd = open(o->snapshot_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		xsh_log(LOG_ERR, "--snapshot-dir %s: %s", o->snapshot_dir,
			strerror(errno));
		goto fail;
	}
	if (xsh_snap_dir_check(export_fd, fd, why, sizeof(why))) {
		xsh_log(LOG_ERR, "--snapshot-dir %s refused: %s",
			o->snapshot_dir, why);
		close(fd);
		goto fail;
	}
	s->snap = (struct xsh_snap_ctx){
		.name = LOCAL_NAME,
		.export_fd = export_fd,
		.dir_fd = fd,
		.ops = &snap_ops,
		.arg = s,
	};
	xsh_control_set_snapshots(s->ctl, &s->snap);
	return 0;
fail:
	xsh_control_free(s->ctl);
	s->ctl = NULL;
	return -1;
}

/* Xen: every device xenstore names, until a signal (backend/daemon/xenbus.c). */
static int xen_main(const struct opts *o)
{
	struct xsh_xenbus_params xp;
	sigset_t set;
	int sfd, cfd, rc, ready_fd = -1;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return 1;
	sigdelset(&set, SIGCHLD);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	cfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 || cfd < 0) {
		fprintf(stderr, "xenshare-back: signalfd: %s\n", strerror(errno));
		return 1;
	}
	if (!o->foreground) {
		rc = daemonize(&ready_fd);
		if (rc) {
			fprintf(stderr, "xenshare-back: daemonizing: %s\n",
				strerror(-rc));
			return 1;
		}
	}
	xsh_log_setup("xenshare-back", !o->foreground, o->debug);
	xsh_xenbus_params_default(&xp);
	xp.eng = o->eng;
	xp.base = o->pol;
	xp.state_dir = o->state_dir;
	xp.ready_fd = ready_fd;
	xp.chld_fd = cfd;
	xp.no_sandbox = o->no_sandbox;
	xp.use_syslog = !o->foreground;
	rc = xsh_xenbus_serve(&xp, sfd);
	if (rc > 0)
		xsh_log(LOG_INFO, "signal %d (%s): shut down", rc,
			      strsignal(rc));
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint8_t handle_key[XSH_SIPHASH_KEY_LEN];
	struct stat sock_st;
	struct sup sup;
	struct opts o;
	sigset_t set;
	char *sock_abs, *export_abs, *template_abs = NULL;
	bool have_key;
	int lfd, sfd, cfd, rc, sig, export_fd, ready_fd = -1;

	xsh_log_setup("xenshare-back", false, false);
	if (argc > 1 && !strcmp(argv[1], "--ctl"))
		return xsh_control_client_main(argc - 1, argv + 1);
	parse_args(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (o.xen)
		return xen_main(&o);

	/* SIGTERM and SIGINT arrive through a signalfd in the accept loop;
	 * every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return 1;
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "xenshare-back: signalfd: %s\n", strerror(errno));
		return 1;
	}

	export_fd = open(o.export_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW |
			 O_CLOEXEC);
	export_abs = export_fd >= 0 ? realpath(o.export_dir, NULL) : NULL;
	if (!export_abs) {
		fprintf(stderr, "xenshare-back: cannot export %s: %s\n",
			o.export_dir, errno == ENOTDIR || errno == ELOOP ?
			"not a directory" : strerror(errno));
		return 1;
	}
	if (o.template_dir) {
		struct stat tst;

		template_abs = realpath(o.template_dir, NULL);
		if (!template_abs || stat(template_abs, &tst) ||
		    !S_ISDIR(tst.st_mode)) {
			fprintf(stderr, "xenshare-back: template %s: %s\n",
				o.template_dir, template_abs ?
				"not a directory" : strerror(errno));
			return 1;
		}
	}
	if (load_handle_key(&o, handle_key, &have_key))
		return 1;
	sock_abs = absolute_path(o.socket);
	if (!sock_abs) {
		fprintf(stderr, "xenshare-back: %s: %s\n", o.socket,
			strerror(errno));
		return 1;
	}
	if (clear_stale_socket(o.socket))
		return 1;
	lfd = xsh_local_listen(o.socket);
	if (lfd < 0) {
		fprintf(stderr, "xenshare-back: listening on %s: %s\n",
			o.socket, strerror(-lfd));
		return 1;
	}
	if (stat(o.socket, &sock_st)) {
		fprintf(stderr, "xenshare-back: %s: %s\n", o.socket,
			strerror(errno));
		return 1;
	}

	if (!o.foreground) {
		rc = daemonize(&ready_fd);
		if (rc) {
			fprintf(stderr, "xenshare-back: daemonizing: %s\n",
				strerror(-rc));
			unlink(sock_abs);
			return 1;
		}
	}
	xsh_log_setup("xenshare-back", !o.foreground, o.debug);

	/* Worker deaths, for the supervisor only. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return 1;
	cfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (cfd < 0) {
		xsh_log(LOG_ERR, "signalfd: %s", strerror(errno));
		unlink(sock_abs);
		return 1;
	}
	sup = (struct sup){
		.wa = {
			.o = &o,
			.w = {
				.export_abs = export_abs,
				.template_abs = template_abs,
				.export_fd = export_fd,
				.handle_key = have_key ? handle_key : NULL,
				.eng = &o.eng,
				.no_sandbox = o.no_sandbox,
			},
		},
		.lfd = lfd,
		.sfd = sfd,
		.ready_fd = ready_fd,
		.pol = o.pol,
		.sup = {
			.pacing = &local_pacing,
			.stop_timeout_ms = WORKER_STOP_MS,
			.chld_fd = cfd,
			.no_sandbox = o.no_sandbox,
		},
	};
	xsh_sup_worker_init(&sup.w, LOCAL_NAME, &local_ops, &sup);
	sup.ctl_fd = -1;
	if (open_snapshots(&o, &sup, export_fd)) {
		unlink(sock_abs);
		free(sock_abs);
		free(export_abs);
		return 1;
	}
	xsh_log(LOG_DEBUG, "serving %s on %s (%s, %u workers per connection, at most %u connections)",
		      o.export_dir, o.socket, xsh_policy_mode_name(&o.pol),
		      o.eng.nr_workers, o.eng.max_conns);

	sig = supervise(&sup);
	close(lfd);
	/* Unlink only the socket we bound: a newer daemon may own the path. */
	{
		struct stat now;

		if (!stat(sock_abs, &now) && now.st_dev == sock_st.st_dev &&
		    now.st_ino == sock_st.st_ino)
			unlink(sock_abs);
	}
	if (sig)
		xsh_log(LOG_INFO, "signal %d (%s): shutting down", sig,
			      strsignal(sig));
	xsh_sup_stop_all(&sup.sup, SIGTERM);
	if (sup.ctl_fd >= 0)
		close(sup.ctl_fd);
	if (sup.snap.ops)
		close(sup.snap.dir_fd);
	xsh_control_free(sup.ctl);
	free(sock_abs);
	free(export_abs);
	return sig ? 0 : 1;
}
