/* SPDX-License-Identifier: MIT */
/*
 * Private to the file service: per-thread credentials.
 *
 * Every thread that serves requests runs as root without supplementary
 * groups and without CAP_FSETID in its effective set (so the host kernel
 * clears set-id bits on write, truncate and chown as it would for an
 * unprivileged writer), with a private umask of 0 (the guest sends its
 * umask, applied here).  Around calls that create files the thread's
 * fsuid/fsgid become the caller's mapped host ids so new files get the
 * right owner and setgid directories are honoured; the DAC-override
 * capabilities stay on, because the guest kernel has already checked
 * permissions, except for callers the id map squashes, whose calls run
 * with xsh_creds_enter_strict() so that the host kernel checks them
 * (docs/id-maps.md).  All changes are per thread (raw syscalls, never the glibc
 * wrappers that broadcast to every thread).
 */
#ifndef XSH_CREDS_H
#define XSH_CREDS_H

#include <stdbool.h>
#include <sys/types.h>

/* Creation ops: fsuid/fsgid = uid/gid, capabilities kept.  0 or -EPERM. */
int xsh_creds_enter(uid_t uid, gid_t gid);
/* Permission checks (ACCESS): fsuid/fsgid = uid/gid and the
 * capabilities the kernel leaves a non-root fsuid. */
int xsh_creds_enter_strict(uid_t uid, gid_t gid);
/* Back to fsuid/fsgid 0 and the thread's base capabilities. */
void xsh_creds_leave(void);
/* Raise or drop CAP_FSETID in the effective set (chmod applies the mode
 * the guest asked for, set-id bits included). */
void xsh_creds_fsetid(bool on);

#endif /* XSH_CREDS_H */
