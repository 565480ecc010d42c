// SPDX-License-Identifier: MIT
/*
 * Breaking dedup links (dedup.h, docs/dedup.md): before a guest changes a
 * file that xenshare-dedup made a link to the content store, the guest's
 * name gets a private copy with the same data, owner, mode, times and
 * user.* attributes, and the guest's node and open files follow it.
 *
 * The name: a node is an O_PATH fd with no name of its own, but the
 * kernel knows the directory entry the fd was opened through
 * (/proc/self/fd/N, kept up to date across renames).  That path, taken
 * below the export root, is walked again one component at a time with
 * O_NOFOLLOW, and used only if its last entry is still the node's inode.
 * Otherwise (the name was replaced meanwhile, or the node was reopened by
 * file handle through another of the inode's names) the change answers
 * ESTALE, and the guest kernel looks the name up again.
 *
 * The copy is made as an unnamed O_TMPFILE in the same directory,
 * fsync'ed, linked under a temporary name and renamed over the guest's
 * name, and the directory fsync'ed: a crash leaves either the link or the
 * complete copy.  The copy's space is not charged anew: the export's
 * usage already counts the file at its size, and the quota takes the new
 * inode as charged at that size (quota.h).
 *
 * Trust: nothing here comes from the guest but the node it names; the
 * mark cannot be set by a guest or by the worker (dedup.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/walk.h"
#include "creds.h"
#include "dedup.h"
#include "service_internal.h"

#define XATTR_LIST_SIZE	65536u
#define XATTR_VALUE_MAX	65536u

/* One break at a time in the process: they are rare, and two requests on
 * the same node must not both copy it. */
static pthread_mutex_t break_lock = PTHREAD_MUTEX_INITIALIZER;

static int proc_path(struct xsh_ctx *c, int fd, char *buf, size_t cap)
{
	char p[16];
	ssize_t r;

	snprintf(p, sizeof(p), "%d", fd);
	r = readlinkat(c->s->exp->proc_fd, p, buf, cap - 1);
	if (r < 0)
		return -errno;
	if ((size_t)r >= cap - 1)
		return -ENAMETOOLONG;
	buf[r] = 0;
	return 0;
}

/* Is the file at pathfd (O_PATH) a marked link?  st gets its attributes. */
static int is_link(struct xsh_ctx *c, int pathfd, struct stat *st)
{
	int fd, rc;

	if (fstatat(pathfd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (!S_ISREG(st->st_mode) || st->st_nlink < 2)
		return 0;
	fd = xsh_fs_reopen_fd(c, pathfd, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fd;
	rc = xsh_dedup_mark_fd(fd);
	close(fd);
	return rc;
}

/* The directory (O_PATH, returned) and name under which node n is in the
 * export; -ESTALE when that cannot be made sure of. */
static int name_of(struct xsh_ctx *c, struct xsh_node *n, const struct stat *st,
		   char name[NAME_MAX + 1])
{
	char root[PATH_MAX], path[PATH_MAX];
	const char *rel;
	struct stat cur;
	size_t rl;
	int dfd;

	if (proc_path(c, c->s->exp->root_fd, root, sizeof(root)) ||
	    proc_path(c, n->fd, path, sizeof(path)))
		return -ESTALE;
	rl = strlen(root);
	if (rl == 1)
		rl = 0;		/* the root is "/" in a sandbox */
	if (strncmp(path, root, rl) || path[rl] != '/')
		return -ESTALE;
	rel = path + rl + 1;
	dfd = xsh_walk_parent(c->s->exp->root_fd, rel, name);
	if (dfd < 0)
		return -ESTALE;
	if (fstatat(dfd, name, &cur, AT_SYMLINK_NOFOLLOW) ||
	    cur.st_dev != st->st_dev || cur.st_ino != st->st_ino)
	{
		close(dfd);
		return -ESTALE;
	}
	return dfd;
}

static int copy_data(int from, int to, uint64_t size)
{
	off_t in = 0, out = 0;

	while ((uint64_t)in < size) {
		ssize_t r = copy_file_range(from, &in, to, &out,
					    size - (uint64_t)in, 0);
		if (r < 0)
			return -errno;
		if (!r)
			break;
	}
	return 0;
}

/* The guest's own attributes (user.*) go along; the mark does not. */
static int copy_xattrs(int from, int to)
{
	char *list = malloc(XATTR_LIST_SIZE), *val = malloc(XATTR_VALUE_MAX);
	ssize_t len, i;
	int rc = 0;

	if (!list || !val) {
		rc = -ENOMEM;
		goto out;
	}
	len = flistxattr(from, list, XATTR_LIST_SIZE);
	if (len < 0) {
		rc = errno == ENOTSUP ? 0 : -errno;
		goto out;
	}
	for (i = 0; i < len; i += (ssize_t)strlen(list + i) + 1) {
		ssize_t v;

		if (strncmp(list + i, "user.", 5))
			continue;
		v = fgetxattr(from, list + i, val, XATTR_VALUE_MAX);
		if (v < 0 || fsetxattr(to, list + i, val, (size_t)v, 0)) {
			rc = -errno;
			break;
		}
	}
out:
	free(list);
	free(val);
	return rc;
}

struct follow {
	struct xsh_ctx *c;
	int fd;
};

static int follow_reopen(void *arg, int flags)
{
	struct follow *f = arg;

	return xsh_fs_reopen_fd(f->c, f->fd, flags);
}

/* Make the private copy of the marked link at pathfd (attributes st)
 * under its name in dfd; node n, if not NULL, and its open files follow.
 * 0 or -errno, and nothing changed if the copy could not be made. */
static int make_private(struct xsh_ctx *c, struct xsh_node *n, int pathfd,
			const struct stat *st, int dfd, const char *name)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	char tmp[48], p[16];
	struct follow f = { c, -1 };
	int src, fd, pfd = -1, rc;

	src = xsh_fs_reopen_fd(c, pathfd, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (src < 0)
		return src;
	fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = copy_data(src, fd, (uint64_t)st->st_size);
	if (!rc)
		rc = copy_xattrs(src, fd);
	/* The *at() forms: the worker's system call filter allows those. */
	snprintf(p, sizeof(p), "%d", fd);
	if (!rc && fchownat(fd, "", st->st_uid, st->st_gid, AT_EMPTY_PATH))
		rc = -errno;
	if (!rc) {
		xsh_creds_fsetid(true);
		rc = fchmodat(c->s->exp->proc_fd, p, st->st_mode & 07777, 0) ?
			     -errno : 0;
		xsh_creds_fsetid(false);
	}
	if (!rc && (utimensat(c->s->exp->proc_fd, p, ts, 0) || fsync(fd)))
		rc = -errno;
	if (rc)
		goto out;
	snprintf(tmp, sizeof(tmp), ".xenshare-private.%d.%lx", (int)getpid(),
		 (unsigned long)st->st_ino);
	if (linkat(c->s->exp->proc_fd, p, dfd, tmp, AT_SYMLINK_FOLLOW)) {
		rc = -errno;
		goto out;
	}
	if (renameat(dfd, tmp, dfd, name)) {
		rc = -errno;
		unlinkat(dfd, tmp, 0);
		goto out;
	}
	fsync(dfd);
	if (!n)
		goto out;
	/* From here on the guest's name is the copy: follow it. */
	pfd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		rc = -errno;
	if (!rc)
		rc = xsh_node_rekey(c->s->nodes, n, pfd);
	f.fd = fd;
	if (!rc)
		rc = xsh_handles_follow(c->s->handles, xsh_node_id(n),
					follow_reopen, &f);
	if (rc)
		xsh_log(LOG_ERR, "%s: dedup: following the private copy of "
			"inode %lu: %s", c->s->name, (unsigned long)st->st_ino,
			strerror(-rc));
out:
	if (pfd >= 0)
		close(pfd);
	if (fd >= 0)
		close(fd);
	close(src);
	return rc;
}

/* The directory (O_PATH) and name of node n if it is a dedup link; 0 if
 * it is none, -errno. */
static int find_link(struct xsh_ctx *c, struct xsh_node *n, struct stat *st,
		     char name[NAME_MAX + 1])
{
	int rc;

	if (n->type != S_IFREG)
		return 0;
	rc = is_link(c, n->fd, st);
	return rc <= 0 ? rc : name_of(c, n, st, name);
}

int xsh_dedup_break(struct xsh_ctx *c, struct xsh_node *n)
{
	char name[NAME_MAX + 1];
	struct stat st;
	int dfd, rc;

	pthread_mutex_lock(&break_lock);
	dfd = find_link(c, n, &st, name);
	rc = dfd > 0 ? make_private(c, n, n->fd, &st, dfd, name) : dfd;
	if (dfd > 0)
		close(dfd);
	pthread_mutex_unlock(&break_lock);
	return rc;
}

int xsh_dedup_break_at(struct xsh_ctx *c, int dirfd, const char *name,
		       int pathfd)
{
	struct stat st;
	int rc;

	pthread_mutex_lock(&break_lock);
	rc = is_link(c, pathfd, &st);
	if (rc > 0)
		rc = make_private(c, NULL, pathfd, &st, dirfd, name);
	pthread_mutex_unlock(&break_lock);
	return rc;
}

int xsh_dedup_check_name(struct xsh_ctx *c, struct xsh_node *n)
{
	char name[NAME_MAX + 1];
	struct stat st;
	int dfd = find_link(c, n, &st, name);

	if (dfd > 0)
		close(dfd);
	return dfd > 0 ? 0 : dfd;
}
