// SPDX-License-Identifier: MIT
/*
 * The local control channel (see control.h and the "Control connections"
 * section of protocol/xenshare_proto.h): "status" and "set KEY=VALUE...",
 * one SEQPACKET message each way, and the client that
 * xenstore-scripts/xenshare-ctl runs (xenshare-back --ctl).
 *
 * Trust: a control peer can change the policy, so only root or the
 * backend's own user may use it (SO_PEERCRED, checked before any command
 * runs).  Command text is bounded (XSH_CTL_MSG_MAX), split here, and every
 * value is checked by policy.c before anything changes; a request with
 * one bad key or value changes nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "transport/local.h"
#include "control.h"
#include "engine.h"
#include "snapshot.h"
#include "backend/service/policy.h"
#include "backend/service/quota.h"

#define MAX_WORDS	32

struct xsh_control {
	struct xsh_export *exp;		/* immutable, not owned; NULL in the
					 * supervisor */
	const struct xsh_snap_ctx *snap;	/* set before serving, or NULL */
	xsh_control_handoff_fn handoff;	/* set before serving, or NULL */
	void *handoff_arg;
	char *path;			/* immutable, escaped for status */
	pthread_mutex_t lock;		/* one policy change at a time */
	unsigned nr_conns;		/* lock */
};

/* The keys `set` may change while the export is served. */
static const char *const live_keys[] = {
	"mode", "quota-bytes", "quota-inodes", "quota-soft-percent",
};

static char *escape_path(const char *p)
{
	size_t i, n = 0;
	char *out;

	out = malloc(strlen(p) * 2 + 1);
	if (!out)
		return NULL;
	for (i = 0; p[i]; i++) {
		if (p[i] == '\\' || p[i] == '\n') {
			out[n++] = '\\';
			out[n++] = p[i] == '\n' ? 'n' : '\\';
		} else {
			out[n++] = p[i];
		}
	}
	out[n] = '\0';
	return out;
}

int xsh_control_new(struct xsh_export *e, const char *export_path,
		   struct xsh_control **out)
{
	struct xsh_control *ctl = calloc(1, sizeof(*ctl));
	char *abs;

	if (!ctl)
		return -ENOMEM;
	abs = realpath(export_path, NULL);
	ctl->path = escape_path(abs ? abs : export_path);
	free(abs);
	if (!ctl->path) {
		free(ctl);
		return -ENOMEM;
	}
	ctl->exp = e;
	pthread_mutex_init(&ctl->lock, NULL);
	*out = ctl;
	return 0;
}

void xsh_control_set_snapshots(struct xsh_control *ctl,
			       const struct xsh_snap_ctx *snap)
{
	ctl->snap = snap;
}

void xsh_control_set_handoff(struct xsh_control *ctl,
			     xsh_control_handoff_fn fn, void *arg)
{
	ctl->handoff = fn;
	ctl->handoff_arg = arg;
}

void xsh_control_free(struct xsh_control *ctl)
{
	if (!ctl)
		return;
	pthread_mutex_destroy(&ctl->lock);
	free(ctl->path);
	free(ctl);
}

/* ---- commands ------------------------------------------------------------ */

struct reply {
	char *buf;
	size_t cap;
	size_t len;
};

static void __attribute__((format(printf, 2, 3)))
put(struct reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->len + 1 >= r->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, r->cap - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len += (size_t)n < r->cap - r->len ? (size_t)n :
							r->cap - r->len - 1;
}

static int reply_error(struct reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int reply_error(struct reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->len = 0;
	put(r, "error: ");
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, r->cap - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len += (size_t)n < r->cap - r->len ? (size_t)n :
							r->cap - r->len - 1;
	put(r, "\n");
	return -1;
}

static void put_status(struct xsh_control *ctl, struct reply *r)
{
	struct xsh_quota_usage u;
	struct xsh_policy pol;
	char idmap[32];

	xsh_export_get_policy(ctl->exp, &pol);
	xsh_export_get_usage(ctl->exp, &u);
	xsh_policy_format_idmap(&pol, idmap, sizeof(idmap));
	put(r, "export=%s\n", ctl->path);
	put(r, "mode=%s\n", xsh_policy_mode_name(&pol));
	put(r, "id-map=%s\n", idmap);
	put(r, "quota-bytes=%" PRIu64 "\n", u.quota_bytes);
	put(r, "usage-bytes=%" PRIu64 "\n", u.usage_bytes);
	put(r, "quota-inodes=%" PRIu64 "\n", u.quota_inodes);
	put(r, "usage-inodes=%" PRIu64 "\n", u.usage_inodes);
	put(r, "quota-soft-percent=%u\n", u.soft_percent);
	put(r, "status=%s\n", xsh_quota_level_name(u.level));
	put(r, "restart-recovery=%s\n",
	    xsh_export_recovery_limit(ctl->exp) ? "by-name" : "handles");
}

static bool is_live_key(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++)
		if (!strcmp(key, live_keys[i]))
			return true;
	return false;
}

static const char *value_help(const char *key)
{
	if (!strcmp(key, "mode"))
		return "rw or ro";
	if (!strcmp(key, "quota-soft-percent"))
		return "0..100";
	return "a number with an optional K, M, G or T suffix, 0 = none";
}

static int cmd_set(struct xsh_control *ctl, char **w, int nw, struct reply *r,
		   const char *who)
{
	struct xsh_policy pol;
	char *eq;
	int i, rc;

	if (nw < 2)
		return reply_error(r, "set needs KEY=VALUE (keys: mode, quota-bytes, quota-inodes, quota-soft-percent)");
	pthread_mutex_lock(&ctl->lock);
	xsh_export_get_policy(ctl->exp, &pol);
	for (i = 1; i < nw; i++) {
		eq = strchr(w[i], '=');
		if (!eq || eq == w[i]) {
			pthread_mutex_unlock(&ctl->lock);
			return reply_error(r, "'%s' is not KEY=VALUE; nothing changed",
				     w[i]);
		}
		*eq = '\0';
		if (!strcmp(w[i], "id-map")) {
			pthread_mutex_unlock(&ctl->lock);
			return reply_error(r, "id-map cannot change while the export is served; nothing changed");
		}
		if (!is_live_key(w[i])) {
			pthread_mutex_unlock(&ctl->lock);
			return reply_error(r, "unknown key '%s' (keys: mode, quota-bytes, quota-inodes, quota-soft-percent); nothing changed",
				     w[i]);
		}
		rc = xsh_policy_set_key(&pol, w[i], eq + 1);
		if (rc) {
			pthread_mutex_unlock(&ctl->lock);
			return reply_error(r, "bad value '%s' for %s (want %s); nothing changed",
				     eq + 1, w[i], value_help(w[i]));
		}
		*eq = '=';
	}
	xsh_export_set_policy(ctl->exp, &pol);
	pthread_mutex_unlock(&ctl->lock);
	for (i = 1; i < nw; i++)
		xsh_log(LOG_INFO, "%s: control: set %s", who, w[i]);
	put(r, "ok\n");
	put_status(ctl, r);
	return 0;
}

static void put_snap(struct reply *r, const struct xsh_snap_info *in)
{
	struct tm tm;
	char when[32];

	gmtime_r(&in->time, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	put(r, "%s\t%s\t%" PRIu64 "\t%s\n", in->name, when, in->bytes,
	    xsh_snap_method_name(in->method));
}

/* A list line: name, a 20-character time, a 20-digit size, a method of
 * at most 14 characters, tabs and the newline. */
_Static_assert(3 + XSH_SNAP_MAX * (XSH_SNAP_NAME_MAX + 20 + 20 + 14 + 4) <
	       XSH_CTL_MSG_MAX, "the snapshot list fits one reply");

#define SNAP_USAGE "snapshot NAME, snapshots list|delete NAME|restore NAME"

static int cmd_snapshot(struct xsh_control *ctl, char **w, int nw,
			struct reply *r, const char *who)
{
	struct xsh_snap_info in[XSH_SNAP_MAX];
	char why[320];
	const char *op = nw > 1 ? w[1] : "";
	int i, n, rc;

	if (!ctl->snap)
		return reply_error(r, "snapshots are off: start the backend with --snapshot-dir DIR");
	if (!strcmp(w[0], "snapshot")) {
		if (nw != 2)
			return reply_error(r, "usage: " SNAP_USAGE);
		xsh_log(LOG_INFO, "%s: control: snapshot %s", who, w[1]);
		rc = xsh_snap_take(ctl->snap, w[1], &in[0], why, sizeof(why));
		if (rc)
			return reply_error(r, "%s", why);
		put(r, "ok\n");
		put(r, "snapshot=%s\ntime=%lld\nmethod=%s\nbytes=%" PRIu64
		    "\nfiles=%" PRIu64 "\npause-ms=%ld\n", in[0].name,
		    (long long)in[0].time, xsh_snap_method_name(in[0].method),
		    in[0].bytes, in[0].files, in[0].pause_ms);
		return 0;
	}
	if (!strcmp(op, "list") && nw == 2) {
		n = xsh_snap_list(ctl->snap, in, XSH_SNAP_MAX);
		if (n < 0)
			return reply_error(r, "listing snapshots: %s", strerror(-n));
		put(r, "ok\n");
		for (i = 0; i < n; i++)
			put_snap(r, &in[i]);
		return 0;
	}
	if (nw != 3 || (strcmp(op, "delete") && strcmp(op, "restore")))
		return reply_error(r, "usage: " SNAP_USAGE);
	xsh_log(LOG_INFO, "%s: control: snapshots %s %s", who, op, w[2]);
	if (!strcmp(op, "delete"))
		rc = xsh_snap_delete(ctl->snap, w[2], why, sizeof(why));
	else
		rc = xsh_snap_restore(ctl->snap, w[2], &in[0], why, sizeof(why));
	if (rc)
		return reply_error(r, "%s", why[0] ? why : strerror(-rc));
	put(r, "ok\n");
	return 0;
}

/* Commands the supervisor serves (a local worker hands them over). */
static bool is_snapshot_cmd(const char *w0)
{
	return !strcmp(w0, "snapshot") || !strcmp(w0, "snapshots");
}

int xsh_control_exec(struct xsh_control *ctl, const char *cmd, size_t len,
		    char *reply, size_t cap, const char *who)
{
	struct reply r = { .buf = reply, .cap = cap };
	char buf[XSH_CTL_MSG_MAX + 1];
	char *w[MAX_WORDS], *save, *tok;
	int nw = 0;
	size_t i;

	reply[0] = '\0';
	if (len > XSH_CTL_MSG_MAX)
		return reply_error(&r, "command longer than %u bytes", XSH_CTL_MSG_MAX);
	memcpy(buf, cmd, len);
	buf[len] = '\0';
	for (i = 0; i < len; i++)
		if (!buf[i] || (buf[i] < ' ' && buf[i] != '\n' &&
				buf[i] != '\t'))
			return reply_error(&r, "command is not text");
	for (tok = strtok_r(buf, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (nw == MAX_WORDS)
			return reply_error(&r, "more than %d words", MAX_WORDS);
		w[nw++] = tok;
	}
	if (!nw)
		return reply_error(&r, "empty command (commands: status, set KEY=VALUE..., " SNAP_USAGE ")");
	if (is_snapshot_cmd(w[0]))
		return cmd_snapshot(ctl, w, nw, &r, who ? who : "control");
	if (!ctl->exp)
		return reply_error(&r, "'%s' is not served here", w[0]);
	if (!strcmp(w[0], "status")) {
		if (nw > 1)
			return reply_error(&r, "status takes no arguments");
		put(&r, "ok\n");
		put_status(ctl, &r);
		return 0;
	}
	if (!strcmp(w[0], "set"))
		return cmd_set(ctl, w, nw, &r, who ? who : "control");
	return reply_error(&r, "unknown command '%s' (commands: status, set KEY=VALUE..., " SNAP_USAGE ")",
		     w[0]);
}

/* ---- connections --------------------------------------------------------- */

static bool peer_allowed(int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) ||
	    len != sizeof(uc))
		return false;
	return uc.uid == 0 || uc.uid == geteuid();
}

/* Our own PID namespace: a worker without one of its own shares it. */
static const char *self_pidns(void)
{
	static char ns[64];
	ssize_t n;

	if (!ns[0]) {
		n = readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);
		ns[n > 0 ? n : 0] = '\0';
	}
	return ns;
}

static void send_text(int fd, const char *s)
{
	(void)send(fd, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* The first word of a command is a snapshot command's. */
static bool wants_supervisor(const char *in, size_t n)
{
	char w0[16];
	size_t i = 0, k = 0;

	while (i < n && (in[i] == ' ' || in[i] == '\t' || in[i] == '\n'))
		i++;
	while (i < n && k < sizeof(w0) - 1 && in[i] != ' ' && in[i] != '\t' &&
	       in[i] != '\n')
		w0[k++] = in[i++];
	w0[k] = '\0';
	return is_snapshot_cmd(w0);
}

/* A peer of the supervisor's that a worker handed over: the kernel's
 * word on who connected, and not the worker itself (nor a process in
 * its PID namespace) posing as a client over a socketpair. */
static bool peer_not_worker(int fd, pid_t worker)
{
	char a[64], b[64], p[48];
	struct ucred uc;
	socklen_t len = sizeof(uc);
	ssize_t na, nb;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) ||
	    len != sizeof(uc) || uc.pid <= 0)
		return false;
	if (worker <= 0)
		return true;
	if (uc.pid == worker)
		return false;
	snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)uc.pid);
	na = readlink(p, a, sizeof(a) - 1);
	snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)worker);
	nb = readlink(p, b, sizeof(b) - 1);
	if (na <= 0 || nb <= 0)
		return false;
	a[na] = b[nb] = '\0';
	return strcmp(a, b) != 0 || !strcmp(a, self_pidns());
}

void xsh_control_serve_one(struct xsh_control *ctl, int fd, const char *cmd,
			   size_t len, const char *name, pid_t worker)
{
	char *out = malloc(XSH_CTL_MSG_MAX);

	if (!peer_allowed(fd) || !peer_not_worker(fd, worker)) {
		xsh_log(LOG_WARNING, "%s: control command refused: the peer is not an administrator's",
			name);
		send_text(fd, "error: permission denied\n");
	} else if (!out) {
		send_text(fd, "error: out of memory\n");
	} else {
		xsh_control_exec(ctl, cmd, len, out, XSH_CTL_MSG_MAX, name);
		send_text(fd, out);
	}
	free(out);
	close(fd);
}

void xsh_control_serve(struct xsh_control *ctl, int fd, const char *name)
{
	char *in = NULL, *out = NULL;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	bool allowed, busy;
	ssize_t n;
	int rc;

	pthread_mutex_lock(&ctl->lock);
	busy = ctl->nr_conns >= XSH_CONTROL_MAX_CONNS;
	if (!busy)
		ctl->nr_conns++;
	pthread_mutex_unlock(&ctl->lock);
	allowed = peer_allowed(fd);
	if (!allowed)
		xsh_log(LOG_WARNING, "%s: control connection refused: peer is neither root nor our user",
			      name);
	in = malloc(XSH_CTL_MSG_MAX + 1);
	out = malloc(XSH_CTL_MSG_MAX);
	while (in && out) {
		do
			rc = poll(&p, 1, (int)XSH_CTL_IDLE_S * 1000);
		while (rc < 0 && errno == EINTR);
		if (rc <= 0 || !(p.revents & POLLIN))
			break;
		n = recv(fd, in, XSH_CTL_MSG_MAX + 1, MSG_DONTWAIT);
		if (n <= 0)
			break;
		if (busy) {
			send_text(fd, "error: too many control connections\n");
			break;
		}
		if (!allowed) {
			send_text(fd, "error: permission denied\n");
			break;
		}
		if (ctl->handoff && wants_supervisor(in, (size_t)n)) {
			if (ctl->handoff(ctl->handoff_arg, fd, in, (size_t)n))
				send_text(fd, "error: the supervisor cannot take the command\n");
			break;
		}
		xsh_control_exec(ctl, in, (size_t)n, out, XSH_CTL_MSG_MAX, name);
		send_text(fd, out);
	}
	free(in);
	free(out);
	close(fd);
	if (!busy) {
		pthread_mutex_lock(&ctl->lock);
		ctl->nr_conns--;
		pthread_mutex_unlock(&ctl->lock);
	}
}

/* ---- client -------------------------------------------------------------- */

int xsh_control_client_main(int argc, char **argv)
{
	char cmd[XSH_CTL_MSG_MAX + 1], reply[XSH_CTL_MSG_MAX + 1];
	struct pollfd p;
	size_t len = 0, l;
	ssize_t n;
	int fd, i;

	if (argc < 3) {
		fprintf(stderr, "usage: xenshare-back --ctl SOCKET status\n"
				"       xenshare-back --ctl SOCKET set KEY=VALUE [KEY=VALUE...]\n"
				"       xenshare-back --ctl SOCKET snapshot NAME\n"
				"       xenshare-back --ctl SOCKET snapshots list|delete NAME|restore NAME\n");
		return 2;
	}
	for (i = 2; i < argc; i++) {
		l = strlen(argv[i]);
		if (len + l + 1 > XSH_CTL_MSG_MAX) {
			fprintf(stderr, "xenshare-back --ctl: command too long\n");
			return 2;
		}
		if (len)
			cmd[len++] = ' ';
		memcpy(cmd + len, argv[i], l);
		len += l;
	}
	fd = xsh_local_control_connect(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "xenshare-back --ctl: cannot connect to backend at %s: %s\n",
			argv[1], strerror(-fd));
		return 1;
	}
	if (send(fd, cmd, len, MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "xenshare-back --ctl: %s: %s\n", argv[1],
			strerror(errno));
		close(fd);
		return 1;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	/* A snapshot takes as long as its copy: no bound on the wait. */
	if (poll(&p, 1, wants_supervisor(cmd, len) ? -1 : 10000) != 1 ||
	    (n = recv(fd, reply, XSH_CTL_MSG_MAX, 0)) <= 0) {
		fprintf(stderr, "xenshare-back --ctl: %s: no reply from the backend\n",
			argv[1]);
		close(fd);
		return 1;
	}
	close(fd);
	reply[n] = '\0';
	if (!strncmp(reply, "ok", 2) && (reply[2] == '\n' || !reply[2])) {
		fputs(reply, stdout);
		return 0;
	}
	fputs(reply, stderr);
	if (reply[n - 1] != '\n')
		fputc('\n', stderr);
	return 1;
}
