// SPDX-License-Identifier: MIT
/*
 * xenshare-back: serve one host directory to frontends that connect over
 * the local transport (a unix socket; see protocol/transport.h).
 *
 *   xenshare-back --local SOCKET EXPORT_DIR [options]
 *
 * The accept loop runs here; each accepted socket gets a short-lived
 * handshake thread (the transport bounds the handshake in time) and is
 * then handed to the ring engine (engine.c), which serves it on its own
 * threads.  The number of connections is bounded; one more is refused at
 * the handshake with EBUSY.
 *
 * Trust: the command line is the administrator's.  Everything arriving on
 * the socket is the peer's: the handshake is checked by the transport,
 * requests by the codec.
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
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "control.h"
#include "engine.h"
#include "policy.h"
#include "service.h"

#define XS_BACK_VERSION		"0.1"
#define REFUSE_TIMEOUT_MS	500
#define EXIT_USAGE		2

struct opts {
	const char *socket;
	const char *export_dir;
	bool foreground;
	bool debug;
	struct xs_policy pol;
	struct xs_engine_params eng;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: xenshare-back --local SOCKET EXPORT_DIR [options]\n"
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
"\n"
"       xenshare-back --ctl SOCKET status | set KEY=VALUE...\n"
"                        talk to a running backend (docs/quota.md)\n"
"  -h, --help            this text\n"
"  -V, --version         version\n",
		XS_ENGINE_MAX_WORKERS);
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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	xs_policy_default(&o->pol);
	xs_engine_params_default(&o->eng);
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
			if (parse_uint(optarg, 1, XS_ENGINE_MAX_WORKERS,
				       &o->eng.nr_workers)) {
				fprintf(stderr, "xenshare-back: --threads: want 1..%u, got '%s'\n",
					XS_ENGINE_MAX_WORKERS, optarg);
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
			if (!strcmp(optarg, "ro")) {
				o->pol.read_only = true;
			} else if (!strcmp(optarg, "rw")) {
				o->pol.read_only = false;
			} else {
				fprintf(stderr, "xenshare-back: --mode: want ro or rw, got '%s'\n",
					optarg);
				exit(EXIT_USAGE);
			}
			break;
		case OPT_IDMAP:
			if (xs_policy_parse_idmap(&o->pol, optarg)) {
				fprintf(stderr, "xenshare-back: --id-map: want passthrough, squash-root, squash-all or range:BASE, got '%s'\n",
					optarg);
				exit(EXIT_USAGE);
			}
			break;
		case OPT_ALLOW_SETID:
			o->pol.allow_setid = true;
			break;
		case OPT_ALLOW_DEVICES:
			o->pol.allow_devices = true;
			break;
		case OPT_QUOTA_BYTES:
		case OPT_QUOTA_INODES:
		case OPT_QUOTA_SOFT: {
			const char *key = c == OPT_QUOTA_BYTES ? "quota-bytes" :
					  c == OPT_QUOTA_INODES ? "quota-inodes" :
					  "quota-soft-percent";

			if (xs_policy_set_key(&o->pol, key, optarg)) {
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
			       XS_BACK_VERSION, XS_PROTO_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind + 1 != argc || !o->socket) {
		fprintf(stderr, "xenshare-back: %s\n", !o->socket ?
			"--local SOCKET is required" :
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

static int daemonize(void)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
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
	struct xs_local_welcome w = { .magic = XS_LOCAL_MAGIC, .error = err };
	struct xs_local_hello hello;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * (1 + 2 * XS_MAX_RINGS))];
	} cbuf;
	struct iovec iov = { .iov_base = &hello, .iov_len = sizeof(hello) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct cmsghdr *cm;

	xs_engine_log(LOG_WARNING, "local.%u: refused: %s", conn_no,
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

/* Control connections on the same socket (backend/control.c). */
static struct xs_control *control;

struct handshake {
	struct xs_engine *eng;
	int fd;
	unsigned conn_no;
};

static void *handshake_main(void *arg)
{
	struct handshake *h = arg;
	struct xs_tport *t;
	uint32_t kind;
	char name[32];
	int rc, ctl_fd;

	rc = xs_local_accept_any(h->fd, XS_FEAT_ALL, XS_MAX_IO, h->conn_no,
				 &kind, &t, &ctl_fd);
	if (rc) {
		xs_engine_log(LOG_WARNING, "local.%u: handshake failed: %s",
			      h->conn_no, strerror(-rc));
		xs_engine_unreserve(h->eng);
	} else if (kind == XS_LOCAL_KIND_CONTROL) {
		xs_engine_unreserve(h->eng);
		snprintf(name, sizeof(name), "local.%u", h->conn_no);
		xs_control_serve(control, ctl_fd, name);
	} else {
		xs_engine_add(h->eng, t);
	}
	free(h);
	return NULL;
}

static void start_handshake(struct xs_engine *eng, int fd, unsigned conn_no)
{
	struct handshake *h;
	pthread_attr_t attr;
	pthread_t thr;
	int rc;

	rc = xs_engine_reserve(eng);
	if (rc) {
		refuse(fd, conn_no, -rc);
		return;
	}
	h = malloc(sizeof(*h));
	if (!h) {
		xs_engine_unreserve(eng);
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
		xs_engine_unreserve(eng);
		refuse(fd, conn_no, rc);
	}
}

/* Returns the signal that ended the loop. */
static int accept_loop(struct xs_engine *eng, int lfd, int sfd)
{
	struct pollfd pfd[2] = {
		{ .fd = lfd, .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};
	struct signalfd_siginfo si;
	unsigned conn_no = 0;
	int fd;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			xs_engine_log(LOG_ERR, "poll: %s", strerror(errno));
			return 0;
		}
		if (pfd[1].revents) {
			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				return (int)si.ssi_signo;
			continue;
		}
		if (!pfd[0].revents)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == ECONNABORTED)
				continue;
			/* EMFILE and friends: back off instead of spinning. */
			xs_engine_log(LOG_ERR, "accept: %s", strerror(errno));
			poll(NULL, 0, 100);
			continue;
		}
		start_handshake(eng, fd, ++conn_no);
	}
}

int main(int argc, char **argv)
{
	struct xs_export *exp;
	struct xs_engine *eng;
	struct stat sock_st;
	struct opts o;
	sigset_t set;
	char *sock_abs;
	int lfd, sfd, rc, sig;

	if (argc > 1 && !strcmp(argv[1], "--ctl"))
		return xs_control_client_main(argc - 1, argv + 1);
	parse_args(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

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

	rc = xs_export_open(o.export_dir, &o.pol, &exp);
	if (rc) {
		fprintf(stderr, "xenshare-back: cannot export %s: %s\n",
			o.export_dir, rc == -ENOTDIR || rc == -ELOOP ?
			"not a directory" : strerror(-rc));
		return 1;
	}
	rc = xs_control_new(exp, o.export_dir, &control);
	if (rc) {
		fprintf(stderr, "xenshare-back: %s\n", strerror(-rc));
		return 1;
	}
	sock_abs = absolute_path(o.socket);
	if (!sock_abs) {
		fprintf(stderr, "xenshare-back: %s: %s\n", o.socket,
			strerror(errno));
		return 1;
	}
	if (clear_stale_socket(o.socket))
		return 1;
	lfd = xs_local_listen(o.socket);
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
		rc = daemonize();
		if (rc) {
			fprintf(stderr, "xenshare-back: daemonizing: %s\n",
				strerror(-rc));
			unlink(sock_abs);
			return 1;
		}
	}
	xs_engine_log_setup(!o.foreground, o.debug);

	rc = xs_engine_new(exp, &o.eng, &eng);
	if (rc) {
		xs_engine_log(LOG_ERR, "starting: %s", strerror(-rc));
		unlink(sock_abs);
		return 1;
	}
	xs_engine_log(LOG_DEBUG, "serving %s on %s (%s, %u workers per connection, at most %u connections)",
		      o.export_dir, o.socket, o.pol.read_only ? "ro" : "rw",
		      o.eng.nr_workers, o.eng.max_conns);

	sig = accept_loop(eng, lfd, sfd);
	close(lfd);
	/* Unlink only the socket we bound: a newer daemon may own the path. */
	{
		struct stat now;

		if (!stat(sock_abs, &now) && now.st_dev == sock_st.st_dev &&
		    now.st_ino == sock_st.st_ino)
			unlink(sock_abs);
	}
	if (sig)
		xs_engine_log(LOG_INFO, "signal %d (%s): shutting down", sig,
			      strsignal(sig));
	xs_engine_shutdown(eng);
	free(sock_abs);
	return sig ? 0 : 1;
}
