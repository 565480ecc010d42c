/* SPDX-License-Identifier: MIT */
/*
 * The file service: one exported directory (struct xs_export) and, per
 * connected frontend, a session (struct xs_sess) holding that frontend's
 * node table and open handles.  xs_dispatch() is the single entry point
 * from the ring engine (and the fuzz harness): decode, check policy,
 * perform, encode.
 *
 * Trust: requests come from the guest; they are decoded and validated by
 * protocol/codec.c before anything here looks at them.  Everything runs
 * on fds under the export root with openat-family calls.
 *
 * Threads: xs_dispatch() may run concurrently on several threads for the
 * same session.
 *
 * Answers worth knowing: unknown/forgotten node id ESTALE, unknown fh (or
 * an fh used with another node or kind) EBADF, more than max_nodes nodes
 * ENFILE, more than max_handles handles EMFILE (0 = no limit), more
 * handles than the process's descriptor budget (backend/handle.h) EMFILE,
 * a node whose file was deleted on the host while the node fd cache
 * (backend/node.h) had its fd closed ESTALE, every op
 * needing write access under a read-only policy EROFS (OPEN only when it
 * asks for write access or O_TRUNC; ACCESS with W_OK).  Host symlinks are
 * never followed: OPEN of one ELOOP, LOOKUP under one ENOTDIR.  Host
 * FIFOs, sockets and devices are never opened (EACCES).  Only "user."
 * extended attributes pass (others EOPNOTSUPP), on regular files and
 * directories only (GETXATTR on others ENODATA, SETXATTR/REMOVEXATTR
 * EPERM, LISTXATTR empty).  Set-id bits on non-directories and chr/blk
 * MKNOD are EPERM unless the policy allows them.
 */
#ifndef XS_SERVICE_H
#define XS_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/xenshare_proto.h"
#include "policy.h"

struct xs_export;
struct xs_sess;

/* Open the export root (a directory; symlinks not followed).  It keeps
 * /proc/self/fd open to reopen files; after a fork, the child's first
 * xs_sess_new() reopens that, so /proc must still be reachable then. */
int xs_export_open(const char *path, const struct xs_policy *pol,
		   struct xs_export **out);
void xs_export_close(struct xs_export *e);
/* The policy in force; xs_export_set_policy() swaps it atomically. */
void xs_export_get_policy(struct xs_export *e, struct xs_policy *out);
int xs_export_set_policy(struct xs_export *e, const struct xs_policy *pol);
/* The key that signs this export's persistent node handles
 * (backend/phandle.h).  xs_export_open() makes a random one, good for the
 * life of the process; a daemon that must honour handles across restarts
 * sets the one kept in its state directory (backend/state.h) before any
 * session starts. */
void xs_export_set_handle_key(struct xs_export *e, const uint8_t key[16]);
/* Quota limits, usage and level (backend/quota.h), rebuilt by a scan of
 * the export in xs_export_open() and kept live since. */
struct xs_quota_usage;
void xs_export_get_usage(struct xs_export *e, struct xs_quota_usage *out);

/* A session over a shared data area of data_bytes at data. */
int xs_sess_new(struct xs_export *e, void *data, size_t data_bytes,
		const char *name, struct xs_sess **out);
/* Release every node and handle of the session. */
void xs_sess_free(struct xs_sess *s);

/* Serve one request.  req is the private copy taken off the ring; rsp is
 * filled (it is zeroed first).  Returns 0, or XS_CODEC_FATAL when the
 * frontend broke the protocol and the connection must be closed. */
int xs_dispatch(struct xs_sess *s, const struct xs_req *req,
		struct xs_rsp *rsp);

/* Per-thread setup for threads that call xs_dispatch() (drops
 * supplementary groups for this thread).  0 or -errno.  Also drops
 * CAP_FSETID from the thread's effective set and gives the thread its own
 * fs_struct (unshare(CLONE_FS)) with umask 0, the guest's umask being
 * applied by the service: call it after the sandbox's chroot/chdir. */
int xs_service_thread_init(void);
/* Free this thread's request scratch now (threads that exit have it freed
 * anyway; this is for the main thread before it returns). */
void xs_service_thread_exit(void);

#endif /* XS_SERVICE_H */
