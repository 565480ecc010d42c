// SPDX-License-Identifier: MIT
/*
 * The worker supervisor (supervisor.h): fork, channel, reaping, pacing,
 * stopping, and the checking of what workers say.
 *
 * worker.c stays apart as the worker-side half: what runs in the child
 * after the fork (entering the sandbox, opening the export, starting the
 * engine) and the channel's framing, which both ends use.  Everything
 * here runs in the supervising process only.
 *
 * Trust: the kinds' hooks and parameters are ours.  Everything read from
 * a channel is the worker's and may be an exploit's: a message is sized
 * by xsh_worker_recv(), its body checked here for its type (length,
 * range, printable text) before any hook sees it, and a round reads a
 * bounded number of them.  A worker's pid is ours (fork), never taken
 * from a message.
 */
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "sandbox.h"
#include "supervisor.h"
#include "worker.h"

void xsh_sup_worker_init(struct xsh_sup_worker *w, const char *name,
			 const struct xsh_sup_ops *ops, void *arg)
{
	memset(w, 0, sizeof(*w));
	w->name = name;
	w->ops = ops;
	w->arg = arg;
	w->chan = -1;
}

/* In the child (0) *chan is its end of a new channel, in the parent (the
 * child's pid) the parent's end; -errno on failure. */
static pid_t fork_worker(const char *name, bool no_sandbox, bool *pidns,
			 int *chan)
{
	int sv[2], err;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (no_sandbox) {
		*pidns = false;
		pid = fork();
	} else {
		pid = xsh_sandbox_fork(name, pidns);
	}
	err = errno;
	if (pid == 0) {
		close(sv[0]);
		*chan = sv[1];
		return 0;
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -err;
	}
	*chan = sv[0];
	return pid;
}

int xsh_sup_spawn(struct xsh_sup *s, struct xsh_sup_worker *w,
		  xsh_sup_child_fn child, void *arg)
{
	bool pidns = false;
	int chan = -1;
	pid_t pid;

	if (w->pid)
		return -EBUSY;
	pid = fork_worker(w->name, s->no_sandbox, &pidns, &chan);
	if (pid == 0) {
		child(arg, chan, pidns);
		_exit(1);
	}
	if (pid < 0)
		return (int)pid;
	w->pid = pid;
	w->chan = chan;
	w->ready = false;
	w->stopping = false;
	w->killed = false;
	w->started_ms = xsh_now_ms();
	w->next = s->live;
	s->live = w;
	return 0;
}

/* The sandbox stopped w's worker for system call nr. */
static void log_syscall(const struct xsh_sup_worker *w, unsigned nr)
{
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
						      (int)nr);

	xsh_log(LOG_ERR, "%s: worker %d: the sandbox refused system call %u (%s); the worker stops",
		w->name, (int)w->pid, nr, name ? name : "unknown");
	free(name);
}

static void close_chan(struct xsh_sup_worker *w)
{
	if (w->chan >= 0)
		close(w->chan);
	w->chan = -1;
	w->ready = false;
}

/* A worker's text, made printable. */
static void copy_text(char *dst, size_t cap, const char *src, size_t n)
{
	size_t i;

	if (n > cap - 1)
		n = cap - 1;
	for (i = 0; i < n; i++)
		dst[i] = src[i] >= ' ' && src[i] <= '~' ? src[i] : '?';
	dst[n] = '\0';
}

/* One message: 1, 0 if there was none, -1 once the channel is closed. */
static int read_one(struct xsh_sup_worker *w)
{
	const struct xsh_sup_ops *ops = w->ops;
	union {
		struct xsh_quota_usage u;
		struct xsh_policy p;
		char text[XSH_WMSG_BODY_MAX];
	} body;
	char why[XSH_WMSG_BODY_MAX + 1];
	struct xsh_wmsg m;
	ssize_t n;
	int fd;

	n = xsh_worker_recv(w->chan, &m, &body, sizeof(body), &fd);
	if (n >= 0 && fd >= 0 && (m.type != XSH_WMSG_CTL || !ops->on_ctl)) {
		close(fd);
		fd = -1;
	}
	if (n == -EAGAIN)
		return 0;
	if (n == -EBADMSG)
		return 1;
	if (n < 0) {
		/* Exiting: SIGCHLD follows. */
		close_chan(w);
		return -1;
	}
	switch (m.type) {
	case XSH_WMSG_READY:
		if (!ops->on_ready)
			break;
		w->ready = true;
		ops->on_ready(w);
		break;
	case XSH_WMSG_FAILED:
		if (!ops->on_failed)
			break;
		copy_text(why, sizeof(why), body.text, (size_t)n);
		ops->on_failed(w, why);
		break;
	case XSH_WMSG_USAGE:
		if (!ops->on_usage || (size_t)n != sizeof(body.u) ||
		    (unsigned)body.u.level > XSH_QUOTA_HARD)
			break;
		ops->on_usage(w, &body.u);
		break;
	case XSH_WMSG_POLICY:
		if (ops->on_policy && (size_t)n == sizeof(body.p))
			ops->on_policy(w, &body.p);
		break;
	case XSH_WMSG_SYSCALL:
		log_syscall(w, m.arg);
		break;
	case XSH_WMSG_QUIESCED:
		if (!w->quiesce_wait)
			break;
		w->quiesce_wait = false;
		w->quiesce_err = m.arg > 0 && m.arg < 4096 ? (int)m.arg :
				 m.arg ? EIO : 0;
		break;
	case XSH_WMSG_CTL:
		if (fd >= 0)
			ops->on_ctl(w, fd, body.text, (size_t)n);
		break;
	}
	return 1;
}

bool xsh_sup_read(struct xsh_sup *s, struct xsh_sup_worker *w, bool drain)
{
	unsigned k = 0;

	(void)s;
	while (w->chan >= 0 && (drain || k++ < XSH_SUP_MSGS_PER_ROUND) &&
	       read_one(w) > 0)
		;
	return w->chan >= 0;
}

unsigned xsh_sup_nr_chans(const struct xsh_sup *s)
{
	const struct xsh_sup_worker *w;
	unsigned n = 0;

	for (w = s->live; w; w = w->next)
		n += w->chan >= 0;
	return n;
}

unsigned xsh_sup_poll_set(struct xsh_sup *s, struct pollfd *pfd,
			  unsigned cap)
{
	struct xsh_sup_worker *w;
	unsigned n = 0;

	for (w = s->live; w && n < cap; w = w->next)
		if (w->chan >= 0)
			pfd[n++] = (struct pollfd){ .fd = w->chan,
						    .events = POLLIN };
	return n;
}

static struct xsh_sup_worker *by_chan(struct xsh_sup *s, int fd)
{
	struct xsh_sup_worker *w;

	for (w = s->live; w; w = w->next)
		if (w->chan == fd)
			return w;
	return NULL;
}

void xsh_sup_poll_done(struct xsh_sup *s, const struct pollfd *pfd,
		       unsigned n)
{
	struct xsh_sup_worker *w;
	unsigned i;

	/* Hooks may change the table: look each channel up. */
	for (i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		w = by_chan(s, pfd[i].fd);
		if (w)
			xsh_sup_read(s, w, false);
	}
}

static void unlink_live(struct xsh_sup *s, struct xsh_sup_worker *w)
{
	struct xsh_sup_worker **pp;

	for (pp = &s->live; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	w->next = NULL;
}

static void exit_text(const struct xsh_sup_worker *w, int status, char *buf,
		      size_t len)
{
	const char *t = NULL;

	if (WIFSIGNALED(status)) {
		snprintf(buf, len, "killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
		return;
	}
	if (WEXITSTATUS(status) == XSH_SANDBOX_EXIT_SYSCALL)
		t = "stopped by the sandbox's system call filter";
	else if (w->ops->exit_code_text)
		t = w->ops->exit_code_text(WEXITSTATUS(status));
	if (t)
		snprintf(buf, len, "%s", t);
	else
		snprintf(buf, len, "exited with status %d",
			 WEXITSTATUS(status));
}

/* The pacing's delay for w's next start, its row of quick deaths
 * counted. */
static long pace(const struct xsh_sup *s, struct xsh_sup_worker *w)
{
	const struct xsh_sup_pacing *p = s->pacing;
	unsigned shift;
	long delay;

	if (xsh_now_ms() - w->started_ms < p->quick_ms)
		w->quick++;
	else
		w->quick = p->slow_counts ? 1 : 0;
	if (w->quick <= p->free)
		return 0;
	shift = w->quick - p->free - 1;
	if (shift > p->max_shift)
		shift = p->max_shift;
	delay = p->first_ms << shift;
	return delay > p->max_ms ? p->max_ms : delay;
}

static int exited(struct xsh_sup *s, struct xsh_sup_worker *w, int status)
{
	bool asked = w->stopping;
	pid_t pid = w->pid;
	char how[96];
	long delay;

	exit_text(w, status, how, sizeof(how));
	xsh_log(asked && !WIFSIGNALED(status) && WEXITSTATUS(status) == 0 ?
		LOG_INFO : w->ops->exit_prio, "%s: worker %d %s", w->name,
		(int)pid, how);
	delay = pace(s, w);
	w->start_at_ms = xsh_now_ms() + delay;
	unlink_live(s, w);
	close_chan(w);
	w->pid = 0;
	w->killed = false;
	return w->ops->on_exit ? w->ops->on_exit(w, status, how, delay) : 0;
}

static struct xsh_sup_worker *by_pid(struct xsh_sup *s, pid_t pid)
{
	struct xsh_sup_worker *w;

	for (w = s->live; w; w = w->next)
		if (w->pid == pid)
			return w;
	return NULL;
}

int xsh_sup_reap(struct xsh_sup *s)
{
	struct signalfd_siginfo si;
	struct xsh_sup_worker *w;
	int status, rc, ret = 0;
	pid_t pid;

	while (read(s->chld_fd, &si, sizeof(si)) == sizeof(si))
		;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		w = by_pid(s, pid);
		if (!w)
			continue;
		/* What it said last (a refused system call, why it failed)
		 * explains its exit. */
		xsh_sup_read(s, w, true);
		rc = exited(s, w, status);
		if (rc && !ret)
			ret = rc;
	}
	return ret;
}

void xsh_sup_stop(struct xsh_sup *s, struct xsh_sup_worker *w, int sig)
{
	(void)s;
	if (!w->pid)
		return;
	close_chan(w);
	if (sig && !w->killed) {
		kill(w->pid, sig);
		w->killed = sig == SIGKILL;
	}
	if (!w->stopping) {
		w->stopping = true;
		w->stop_ms = xsh_now_ms();
	}
}

static void kill_one(struct xsh_sup_worker *w)
{
	xsh_log(LOG_ERR, "%s: worker %d did not stop: killing it", w->name,
		(int)w->pid);
	kill(w->pid, SIGKILL);
	w->killed = true;
}

void xsh_sup_kill_late(struct xsh_sup *s)
{
	struct xsh_sup_worker *w;

	for (w = s->live; w; w = w->next)
		if (w->stopping && !w->killed &&
		    xsh_now_ms() - w->stop_ms >= s->stop_timeout_ms)
			kill_one(w);
}

void xsh_sup_stop_all(struct xsh_sup *s, int sig)
{
	struct pollfd pfd = { .fd = s->chld_fd, .events = POLLIN };
	long deadline = xsh_now_ms() + s->stop_timeout_ms;
	struct xsh_sup_worker *w;

	for (w = s->live; w; w = w->next)
		if (!w->stopping)
			xsh_sup_stop(s, w, sig);
	while (s->live && xsh_now_ms() < deadline) {
		if (poll(&pfd, 1, 100) > 0)
			xsh_sup_reap(s);
	}
	while ((w = s->live)) {
		kill_one(w);
		waitpid(w->pid, NULL, 0);
		unlink_live(s, w);
		close_chan(w);
		w->pid = 0;
	}
}

int xsh_sup_quiesce(struct xsh_sup *s, struct xsh_sup_worker *w,
		    long timeout_ms)
{
	long deadline = xsh_now_ms() + timeout_ms + 1000, left;
	struct pollfd pfd;
	int rc;

	if (!w->pid || w->chan < 0 || !w->ready)
		return -ENOTCONN;
	w->quiesce_wait = true;
	rc = xsh_worker_send(w->chan, XSH_WMSG_QUIESCE, (uint32_t)timeout_ms,
			     NULL, 0, -1);
	if (rc) {
		w->quiesce_wait = false;
		return rc;
	}
	while (w->quiesce_wait) {
		left = deadline - xsh_now_ms();
		if (left <= 0) {
			w->quiesce_wait = false;
			return -ETIMEDOUT;
		}
		pfd = (struct pollfd){ .fd = w->chan, .events = POLLIN };
		if (poll(&pfd, 1, (int)left) > 0 && !xsh_sup_read(s, w, false)) {
			w->quiesce_wait = false;
			return -EPIPE;
		}
	}
	return w->quiesce_err ? -w->quiesce_err : 0;
}

void xsh_sup_resume(struct xsh_sup *s, struct xsh_sup_worker *w)
{
	(void)s;
	if (w->chan >= 0)
		(void)xsh_worker_send(w->chan, XSH_WMSG_RESUME, 0, NULL, 0, -1);
}

void xsh_sup_stop_wait(struct xsh_sup *s, struct xsh_sup_worker *w, int sig)
{
	struct pollfd pfd = { .fd = s->chld_fd, .events = POLLIN };

	xsh_sup_stop(s, w, sig);
	while (w->pid) {
		if (!w->killed && xsh_now_ms() - w->stop_ms >= s->stop_timeout_ms)
			kill_one(w);
		if (poll(&pfd, 1, 100) >= 0)
			(void)xsh_sup_reap(s);
	}
}

long xsh_sup_wait_ms(const struct xsh_sup_worker *w)
{
	long d = w->start_at_ms - xsh_now_ms();

	return d < 0 ? 0 : d;
}
