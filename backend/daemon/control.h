/* SPDX-License-Identifier: MIT */
/*
 * The local control channel (protocol/xenshare_proto.h, "Control
 * connections"): text commands that show the export's policy and usage
 * and change policy keys while the export is served.  Policy changes go
 * through xsh_export_set_policy(), so they apply to the next request.
 *
 * Trust: the peer is checked (SO_PEERCRED: root or our own uid) before
 * any command runs; commands are parsed here, values by policy.c.
 */
#ifndef XSH_CONTROL_H
#define XSH_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include "backend/service/service.h"

#define XSH_CONTROL_MAX_CONNS	8u

struct xsh_control;
struct xsh_snap_ctx;

/* Hands a command the supervisor serves (snapshot, snapshots) and its
 * connection fd (still the caller's) over: 0 or -errno. */
typedef int (*xsh_control_handoff_fn)(void *arg, int fd, const char *cmd,
				      size_t len);

/* Control of export e (not owned), shown as export_path. */
int xsh_control_new(struct xsh_export *e, const char *export_path,
		   struct xsh_control **out);
void xsh_control_free(struct xsh_control *ctl);

/* Before serving: the snapshot commands run on snap (the supervisor's
 * control, whose export is NULL), or are handed over with fn (a local
 * worker's). */
void xsh_control_set_snapshots(struct xsh_control *ctl,
			       const struct xsh_snap_ctx *snap);
void xsh_control_set_handoff(struct xsh_control *ctl,
			     xsh_control_handoff_fn fn, void *arg);

/* The supervisor's end of a handoff: check the peer (root or our user,
 * and not the worker whose pid is worker, or 0), run cmd, reply, close
 * fd. */
void xsh_control_serve_one(struct xsh_control *ctl, int fd, const char *cmd,
			   size_t len, const char *name, pid_t worker);

/* Run one command (len bytes of text); the reply, NUL-terminated, goes to
 * reply (at most cap bytes, cap >= 64).  0 if the reply is "ok ...", -1 if
 * it is "error: ...". */
int xsh_control_exec(struct xsh_control *ctl, const char *cmd, size_t len,
		    char *reply, size_t cap, const char *who);

/* Serve one control connection (fd, after the welcome; taken over) until
 * the peer hangs up or stays idle for XSH_CTL_IDLE_S.  name: for logs. */
void xsh_control_serve(struct xsh_control *ctl, int fd, const char *name);

/* The client: `xenshare-back --ctl SOCKET COMMAND...`.  argv[0] is
 * "--ctl".  Prints the reply; exit status 0 (ok), 1 (error reply or no
 * connection), 2 (usage). */
int xsh_control_client_main(int argc, char **argv);

#endif /* XSH_CONTROL_H */
