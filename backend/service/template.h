/* SPDX-License-Identifier: MIT */
/*
 * A device built on a template (docs/templates.md): the export root is an
 * overlay of the read-only template and the device's private upper
 * directory, mounted by the worker in its own mount namespace
 * (backend/daemon/sandbox.h).  Overlay hides which merged files already
 * have a copy of their own in the upper directory; this module tells,
 * for quota (backend/service/quota.h): a file is the template's while the
 * upper directory has nothing, or a whiteout, at its path.
 *
 * Trust: the upper fd is the worker's read-only view of the upper
 * directory (a detached mount: ".." stays inside it).  Paths come from
 * the kernel (/proc/self/fd of our own fds) and are resolved beneath the
 * upper view only, never following a symlink: a guest can at most make
 * its own files look shared or private (docs/templates.md, races).
 */
#ifndef XSH_TEMPLATE_H
#define XSH_TEMPLATE_H

struct xsh_template;

/* root_fd: the merged export root; proc_fd: /proc/self/fd (the number
 * stays valid for the template's life); upper_fd: consumed.  0 or
 * -errno. */
int xsh_template_new(int root_fd, int proc_fd, int upper_fd,
		     struct xsh_template **out);
void xsh_template_free(struct xsh_template *t);
/* The upper view: what the startup usage scan walks. */
int xsh_template_upper(const struct xsh_template *t);
/* An xsh_quota_shared_fn (arg: the template): 1 when the merged file fd
 * refers to has no copy in the upper directory yet, 0 when it has,
 * -errno when that cannot be told (-ENAMETOOLONG: its path is longer
 * than PATH_MAX). */
int xsh_template_shared(void *arg, int fd);

#endif /* XSH_TEMPLATE_H */
