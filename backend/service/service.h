/* SPDX-License-Identifier: MIT */
/*
 * The file service: one exported directory (struct xsh_export) and, per
 * connected frontend, a session (struct xsh_sess) holding that frontend's
 * node table and open handles.  xsh_dispatch() is the single entry point
 * from the ring engine (and the fuzz harness): decode, check policy,
 * perform, encode.
 *
 * Trust: requests come from the guest; they are decoded and validated by
 * protocol/codec.c before anything here looks at them.  Everything runs
 * on fds under the export root with openat-family calls.
 *
 * Threads: xsh_dispatch() may run concurrently on several threads for the
 * same session.
 *
 * Answers worth knowing: unknown/forgotten node id ESTALE, unknown fh (or
 * an fh used with another node or kind) EBADF, more than max_nodes nodes
 * ENFILE, more than max_handles handles EMFILE (0 = no limit), more
 * handles than the process's descriptor budget (backend/service/handle.h) EMFILE,
 * a node whose file was deleted on the host while the node fd cache
 * (backend/service/node.h) had its fd closed ESTALE, every op
 * needing write access under a read-only policy EROFS (OPEN only when it
 * asks for write access or O_TRUNC; ACCESS with W_OK).  Host symlinks are
 * never followed: OPEN of one ELOOP, LOOKUP under one ENOTDIR.  Host
 * FIFOs, sockets and devices are never opened (EACCES).  Only "user."
 * extended attributes pass (others EOPNOTSUPP), on regular files and
 * directories only (GETXATTR on others ENODATA, SETXATTR/REMOVEXATTR
 * EPERM, LISTXATTR empty).  Set-id bits on non-directories and chr/blk
 * MKNOD are EPERM unless the policy allows them.
 */
#ifndef XSH_SERVICE_H
#define XSH_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/xenshare_proto.h"
#include "policy.h"

struct xsh_export;
struct xsh_sess;

/* Open the export root (a directory; symlinks not followed).  It keeps
 * /proc/self/fd open to reopen files; after a fork, the child's first
 * xsh_sess_new() reopens that, so /proc must still be reachable then. */
int xsh_export_open(const char *path, const struct xsh_policy *pol,
		   struct xsh_export **out);
/* The same for a device built on a template (docs/templates.md): path
 * is the merged overlay, upper_fd (consumed) the read-only view of its
 * upper directory that decides what is charged (backend/service/template.h);
 * -1 is xsh_export_open(). */
int xsh_export_open_template(const char *path, int upper_fd,
			     const struct xsh_policy *pol,
			     struct xsh_export **out);
void xsh_export_close(struct xsh_export *e);
/* The policy in force; xsh_export_set_policy() swaps it atomically. */
void xsh_export_get_policy(struct xsh_export *e, struct xsh_policy *out);
int xsh_export_set_policy(struct xsh_export *e, const struct xsh_policy *pol);
/* The key that signs this export's persistent node handles
 * (backend/service/phandle.h).  xsh_export_open() makes a random one, good for the
 * life of the process; a daemon that must honour handles across restarts
 * sets the one kept in its state directory (backend/daemon/state.h) before any
 * session starts. */
void xsh_export_set_handle_key(struct xsh_export *e, const uint8_t key[16]);
/* NULL when the export's files are found again by file handle after a
 * restart; else why not (a static string): then they are found again by
 * the name they were last looked up by (docs/backend.md, "Exports
 * without file handles"). */
const char *xsh_export_recovery_limit(struct xsh_export *e);
/* Quota limits, usage and level (backend/service/quota.h), rebuilt by a scan of
 * the export in xsh_export_open() and kept live since. */
struct xsh_quota_usage;
void xsh_export_get_usage(struct xsh_export *e, struct xsh_quota_usage *out);

/* A session over a shared data area of data_bytes at data. */
int xsh_sess_new(struct xsh_export *e, void *data, size_t data_bytes,
		const char *name, struct xsh_sess **out);
/* Release every node and handle of the session. */
void xsh_sess_free(struct xsh_sess *s);

/* Serve one request.  req is the private copy taken off the ring; rsp is
 * filled (it is zeroed first).  Returns 0, or XSH_CODEC_FATAL when the
 * frontend broke the protocol and the connection must be closed. */
int xsh_dispatch(struct xsh_sess *s, const struct xsh_req *req,
		struct xsh_rsp *rsp);

/* Per-thread setup for threads that call xsh_dispatch() (drops
 * supplementary groups for this thread).  0 or -errno.  Also drops
 * CAP_FSETID from the thread's effective set and gives the thread its own
 * fs_struct (unshare(CLONE_FS)) with umask 0, the guest's umask being
 * applied by the service: call it after the sandbox's chroot/chdir. */
int xsh_service_thread_init(void);
/* Free this thread's request scratch now (threads that exit have it freed
 * anyway; this is for the main thread before it returns). */
void xsh_service_thread_exit(void);

#endif /* XSH_SERVICE_H */
