// SPDX-License-Identifier: MIT
/*
 * Which merged files of a template device are still the template's
 * (backend/service/template.h).
 *
 * Trust: see template.h.  The check is one readlink of our own fd and one
 * openat2() beneath the read-only upper view; its answer only ever moves
 * charges of this device's own quota.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "template.h"

struct xsh_template {
	int upper_fd;		/* immutable */
	int proc_fd;		/* immutable number */
	size_t root_len;	/* immutable */
	char root[PATH_MAX];	/* immutable: the merged root's path */
};

/* Our fd's path as the kernel tells it, NUL-terminated; its length or -1. */
static ssize_t fd_path(int proc_fd, int fd, char *buf, size_t cap)
{
	char name[16];
	ssize_t n;

	snprintf(name, sizeof(name), "%d", fd);
	n = readlinkat(proc_fd, name, buf, cap - 1);
	if (n < 0 || (size_t)n >= cap - 1)
		return -1;
	buf[n] = '\0';
	return n;
}

int xsh_template_new(int root_fd, int proc_fd, int upper_fd,
		     struct xsh_template **out)
{
	struct xsh_template *t;
	ssize_t n;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(upper_fd);
		return -ENOMEM;
	}
	t->upper_fd = upper_fd;
	t->proc_fd = proc_fd;
	n = fd_path(proc_fd, root_fd, t->root, sizeof(t->root));
	if (n <= 0 || t->root[0] != '/') {
		xsh_template_free(t);
		return -EINVAL;
	}
	/* "/" would make every path its child: keep it without the slash. */
	t->root_len = n == 1 ? 0 : (size_t)n;
	*out = t;
	return 0;
}

void xsh_template_free(struct xsh_template *t)
{
	if (!t)
		return;
	close(t->upper_fd);
	free(t);
}

int xsh_template_upper(const struct xsh_template *t)
{
	return t->upper_fd;
}

int xsh_template_shared(void *arg, int fd)
{
	const struct xsh_template *t = arg;
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	char path[PATH_MAX];
	const char *rel;
	struct stat st;
	ssize_t n;
	int up, err;

	if (fstat(fd, &st))
		return -errno;
	/* A file with no name left is never copied up again. */
	if (st.st_nlink == 0)
		return 0;
	n = fd_path(t->proc_fd, fd, path, sizeof(path));
	if (n < 0)
		return -ENAMETOOLONG;
	if ((size_t)n < t->root_len || memcmp(path, t->root, t->root_len) ||
	    (path[t->root_len] && path[t->root_len] != '/'))
		return -ESTALE;		/* not below the merged root */
	rel = path + t->root_len;
	if (!rel[0])
		return 0;		/* the root is always the upper's */
	rel++;
	up = (int)syscall(SYS_openat2, t->upper_fd, rel, &how, sizeof(how));
	if (up < 0) {
		err = errno;
		/* Nothing there: the template's. */
		return err == ENOENT || err == ENOTDIR ? 1 : -err;
	}
	err = fstat(up, &st) ? -errno : 0;
	close(up);
	if (err)
		return err;
	return S_ISCHR(st.st_mode) && st.st_rdev == 0;
}
