/* SPDX-License-Identifier: MIT */
/*
 * The sandbox a device's worker process serves its export in
 * (docs/security.md says what it does and what it does not stop):
 *
 *   - a PID namespace of its own (xsh_sandbox_fork()): the worker sees and
 *     can signal no other process;
 *   - a mount namespace whose root is a small read-only tmpfs holding only
 *     the export, bound at its host path (for a device built on a
 *     template, an overlay of the template and the export's private
 *     upper directory instead, docs/templates.md), and a read-only procfs of the
 *     worker's PID namespace limited to process directories
 *     (subset=pid), for the /proc/self/fd reopening the file service does;
 *     the host's tree is detached (pivot_root; chroot where pivot_root
 *     fails);
 *   - no capabilities but those the file service uses, in the effective,
 *     permitted and bounding sets; nothing inheritable or ambient;
 *     NO_NEW_PRIVS; not dumpable;
 *   - a seccomp filter allowing the system calls the worker makes, some
 *     only with the arguments it uses.  Any other call stops the worker:
 *     it reports the call's number to its supervisor and exits with
 *     XSH_SANDBOX_EXIT_SYSCALL.
 *
 * Trust: the export path and the options are the administrator's.  After
 * xsh_sandbox_enter() the process is assumed hostile: nothing it could do
 * reaches outside its export except through what it already holds (its
 * sockets, and file handles; see docs/security.md).
 */
#ifndef XSH_SANDBOX_H
#define XSH_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit status of a worker stopped by the system call filter. */
#define XSH_SANDBOX_EXIT_SYSCALL	159

/* Messages between the supervisor and a worker (SOCK_SEQPACKET, one
 * struct per message). */
enum {
	XSH_WMSG_CONN = 1,	/* sup -> worker: arg conn_no, one fd */
	XSH_WMSG_READY,		/* worker -> sup: serving */
	XSH_WMSG_SYSCALL,	/* worker -> sup: arg refused system call */
	XSH_WMSG_POLICY,		/* a struct xsh_policy follows: the policy in
				 * force (local worker -> sup), or the one to
				 * apply (sup -> Xen device worker) */
	XSH_WMSG_USAGE,		/* worker -> sup: a struct xsh_quota_usage */
	XSH_WMSG_FAILED,		/* worker -> sup: why it cannot serve, text
				 * (not NUL-terminated); it exits next */
	XSH_WMSG_QUIESCE,	/* sup -> worker: arg a bound in ms; hold new
				 * requests once those in flight finished */
	XSH_WMSG_QUIESCED,	/* worker -> sup: arg 0 (held) or an errno */
	XSH_WMSG_RESUME,		/* sup -> worker: serve again */
	XSH_WMSG_CTL,		/* local worker -> sup: a control command the
				 * supervisor serves (text) and its
				 * connection (one fd) */
};

struct xsh_wmsg {
	uint32_t type;
	uint32_t arg;
};

struct xsh_sandbox_opts {
	const char *name;	/* the device, for logs: "local", "domid.devid" */
	/* Where the export appears inside the sandbox: its absolute host
	 * path, without "." or ".." components ("/" and /proc refused). */
	const char *path;
	/* A template device (docs/templates.md): the read-only template
	 * directory (absolute, as path), merged under path/upper with an
	 * overlay (work directory path/work) that is mounted at path in
	 * the worker's mount namespace only.  NULL: none. */
	const char *template;
	/* For a template device: set to a read-only, detached mount of
	 * path/upper (an fd whose ".." stays inside it), what the file
	 * service checks copy-ups against; -1 otherwise. */
	int *upper_fd;
	bool allow_mknod;	/* keep CAP_MKNOD (policy allows devices) */
	/* The worker holds a Xen device's grant mappings and event
	 * channels: the filter lets it notify, and unbind and unmap what
	 * it holds (ioctl on /dev/xen/evtchn and gntdev, those requests
	 * only); it maps and binds nothing new. */
	bool xen;
	bool no_seccomp;	/* everything but the system call filter */
	/* Where a refused system call is reported (a struct xsh_wmsg), or -1
	 * for a line on stderr. */
	int report_fd;
	/* Test hook: after entering, try to reach this host file (absolute
	 * path) every way the worker could, and print one line per attempt
	 * to stderr ("NAME: sandbox selftest: HOW: refused (ERROR)" or
	 * "...: OPENED").  NULL: no probes. */
	const char *selftest;
	/* Test hook: then make a call the filter refuses (ptrace). */
	bool selftest_refused;
};

/* fork() into a new PID namespace (a plain fork() where the kernel does
 * not allow one, *pidns then false).  Returns as fork() does; who names
 * the device in logs. */
pid_t xsh_sandbox_fork(const char *who, bool *pidns);

/* Enter the sandbox.  export_fd: the export directory (any kind of fd;
 * closed on return, whatever the outcome: it reaches outside).  Call it
 * before the process starts threads (capabilities are per thread) and
 * before it opens the export by o->path.  0 or -errno; on error the
 * process is in an unknown state and must exit. */
int xsh_sandbox_enter(int export_fd, const struct xsh_sandbox_opts *o);

/* Without the sandbox, for a template device: a mount namespace of the
 * process's own with the overlay of o->template and o->path mounted at
 * o->path, and *o->upper_fd set as above; nothing of it is visible
 * outside the process, and it goes when the process does.  0 or -errno. */
int xsh_sandbox_overlay_only(const struct xsh_sandbox_opts *o);

#endif /* XSH_SANDBOX_H */
