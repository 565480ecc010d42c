/* SPDX-License-Identifier: MIT */
/*
 * The supervisor of xenshare-back's worker processes: one table of the
 * live workers, whatever they serve (the one worker of a local export,
 * main.c; one worker per connection of a Xen device, xenbus.c).  It forks
 * a worker with its channel (worker.h), reads and checks what the worker
 * says, reaps it, paces the next start after quick deaths, and stops it:
 * a hangup (and a signal, if asked), then SIGKILL when it does not exit
 * in time.  What each event means is the kind's, through its hooks.
 *
 * A worker is assumed hostile once forked: only the messages of
 * sandbox.h come through, each sized and checked before a hook sees it,
 * at most XSH_SUP_MSGS_PER_ROUND of them per channel per round, and only
 * the kinds' hooks that exist accept their type.
 *
 * One thread uses a struct xsh_sup and its workers: no locks.
 */
#ifndef XSH_SUPERVISOR_H
#define XSH_SUPERVISOR_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "backend/service/policy.h"
#include "backend/service/quota.h"

#define XSH_SUP_MSGS_PER_ROUND	16

struct xsh_sup_worker;

/* A kind's answers to its workers' events; any hook may be NULL, and a
 * message whose hook is NULL is dropped. */
struct xsh_sup_ops {
	void (*on_ready)(struct xsh_sup_worker *w);
	/* why: the worker's text, made printable; it exits next. */
	void (*on_failed)(struct xsh_sup_worker *w, const char *why);
	/* u: level checked. */
	void (*on_usage)(struct xsh_sup_worker *w,
			 const struct xsh_quota_usage *u);
	/* p: of the right size, otherwise unchecked. */
	void (*on_policy)(struct xsh_sup_worker *w, const struct xsh_policy *p);
	/* Reaped and logged; w is out of the table, its channel closed.
	 * how: the exit status in words; delay_ms: how long the pacing
	 * holds back the next start (0: none).  Its return value is
	 * xsh_sup_reap()'s. */
	int (*on_exit)(struct xsh_sup_worker *w, int status, const char *how,
		       long delay_ms);
	/* A control command for the supervisor (text, n bytes, not
	 * NUL-terminated) with its connection fd, which the hook owns. */
	void (*on_ctl)(struct xsh_sup_worker *w, int fd, const char *text,
		       size_t n);
	/* Words for an exit code of the kind's own, or NULL. */
	const char *(*exit_code_text)(int code);
	int exit_prio;			/* the exit line of a worker not asked
					 * to stop */
};

/* Quick deaths: a worker that lived less than quick_ms is one.  After
 * free of them in a row each start waits first_ms, doubling at most
 * max_shift times, at most max_ms.  slow_counts: a death that is not
 * quick starts a new row at 1 (else at 0). */
struct xsh_sup_pacing {
	long quick_ms;
	unsigned free;
	long first_ms;
	unsigned max_shift;
	long max_ms;
	bool slow_counts;
};

/* One worker of a kind, inside the kind's own object (arg for the
 * hooks).  The kind sets name, ops and arg; the supervisor the rest. */
struct xsh_sup_worker {
	const char *name;		/* for logs: "local", "domid.devid" */
	const struct xsh_sup_ops *ops;
	void *arg;
	pid_t pid;			/* 0 if none */
	int chan;			/* to the worker, -1 if none */
	bool ready;			/* said READY, channel still open */
	bool stopping;			/* asked to stop */
	bool killed;
	long started_ms;
	long stop_ms;
	unsigned quick;			/* quick deaths in a row */
	bool quiesce_wait;		/* xsh_sup_quiesce() waits for it */
	int quiesce_err;		/* what it answered */
	long start_at_ms;		/* the pacing: no start before this */
	struct xsh_sup_worker *next;	/* in the table while pid != 0 */
};

struct xsh_sup {
	const struct xsh_sup_pacing *pacing;
	long stop_timeout_ms;		/* a stopping worker is killed after */
	int chld_fd;			/* a signalfd for SIGCHLD (blocked) */
	bool no_sandbox;
	struct xsh_sup_worker *live;	/* the table */
};

/* In the child: the channel's end and whether it got a PID namespace of
 * its own.  Must not return (it exits). */
typedef void (*xsh_sup_child_fn)(void *arg, int chan, bool pidns);

void xsh_sup_worker_init(struct xsh_sup_worker *w, const char *name,
			 const struct xsh_sup_ops *ops, void *arg);

/* Fork w's worker, which runs child(arg, ...).  0 or -errno. */
int xsh_sup_spawn(struct xsh_sup *s, struct xsh_sup_worker *w,
		  xsh_sup_child_fn child, void *arg);

/* Read up to XSH_SUP_MSGS_PER_ROUND messages of w's (all of them when
 * drain); false once its channel is closed. */
bool xsh_sup_read(struct xsh_sup *s, struct xsh_sup_worker *w, bool drain);

/* Channels to poll: up to cap entries from pfd; their number. */
unsigned xsh_sup_poll_set(struct xsh_sup *s, struct pollfd *pfd,
			  unsigned cap);
unsigned xsh_sup_nr_chans(const struct xsh_sup *s);

/* The messages of every channel that poll marked in pfd[0..n). */
void xsh_sup_poll_done(struct xsh_sup *s, const struct pollfd *pfd,
		       unsigned n);

/* Reap what exited, each after its last messages; the first non-zero
 * on_exit() return, else 0. */
int xsh_sup_reap(struct xsh_sup *s);

/* Ask w's worker to stop: hang up its channel, send sig (0: none). */
void xsh_sup_stop(struct xsh_sup *s, struct xsh_sup_worker *w, int sig);

/* Kill the stopping workers that outlived stop_timeout_ms. */
void xsh_sup_kill_late(struct xsh_sup *s);

/* Stop every worker with sig and reap them for up to stop_timeout_ms;
 * kill and wait for what is left (no on_exit for those). */
void xsh_sup_stop_all(struct xsh_sup *s, int sig);

/* Quiesce w's worker (engine.h): 0 once it holds new requests, else
 * -ETIMEDOUT (no answer within timeout_ms and a second), -EPIPE (it
 * died), or the worker's -errno.  Other messages are handled meanwhile.
 * Whatever the answer, xsh_sup_resume() must follow. */
int xsh_sup_quiesce(struct xsh_sup *s, struct xsh_sup_worker *w,
		    long timeout_ms);
void xsh_sup_resume(struct xsh_sup *s, struct xsh_sup_worker *w);

/* xsh_sup_stop(), then reap w (killing it after stop_timeout_ms). */
void xsh_sup_stop_wait(struct xsh_sup *s, struct xsh_sup_worker *w, int sig);

/* The pacing: ms until w may start again (0: now). */
long xsh_sup_wait_ms(const struct xsh_sup_worker *w);

#endif /* XSH_SUPERVISOR_H */
