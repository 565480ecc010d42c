// SPDX-License-Identifier: MIT
/*
 * Tree copy and removal for snapshots (snapcopy.h).  A walk with
 * directory fds: each entry is one name from getdents, looked at with
 * fstatat(AT_SYMLINK_NOFOLLOW) and opened with O_NOFOLLOW; what is opened
 * is checked to be what was looked at (st_dev, st_ino), so a swap between
 * the two is refused rather than followed.
 *
 * Trust: see snapcopy.h.  Names, sizes, modes and xattrs are the
 * guest's; they are copied, bounded by the buffers here, never
 * interpreted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "snapcopy.h"

#define XATTR_LIST_MAX_BYTES	65536
#define XATTR_VALUE_MAX_BYTES	65536
#define COPY_CHUNK		(8u << 20)
#define BTRFS_SUBVOL_INO	256

struct link {
	dev_t dev;
	ino_t ino;
	int fd;				/* O_PATH of the copy */
};

struct walk {
	const char *name;
	bool reflink;
	dev_t dev;			/* the source tree's file system */
	struct xsh_copy_stats *st;
	struct link *links;
	unsigned nr_links;
	unsigned cap_links;
	long progress_ms;
	char *why;
	size_t why_len;
	char *xbuf;			/* XATTR_LIST_MAX_BYTES */
	char *vbuf;			/* XATTR_VALUE_MAX_BYTES */
};

static int fail(char *why, size_t len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	n = strlen(why);
	snprintf(why + n, len - n, ": %s", strerror(-rc));
	return rc;
}

bool xsh_tree_can_reflink(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf))
		return false;
	return sf.f_type == XFS_SUPER_MAGIC || sf.f_type == BTRFS_SUPER_MAGIC;
}

bool xsh_tree_is_subvolume(int fd)
{
	struct statfs sf;
	struct stat st;

	return !fstatfs(fd, &sf) && sf.f_type == BTRFS_SUPER_MAGIC &&
	       !fstat(fd, &st) && S_ISDIR(st.st_mode) &&
	       st.st_ino == BTRFS_SUBVOL_INO;
}

DIR *xsh_tree_opendir(int dir)
{
	int fd, err;
	DIR *d;

	fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		err = errno;
		close(fd);
		errno = err;
	}
	return d;
}

/* ---- copy ------------------------------------------------------------- */

static void progress(struct walk *w)
{
	long now = xsh_now_ms();

	if (now - w->progress_ms < XSH_COPY_PROGRESS_MS)
		return;
	w->progress_ms = now;
	xsh_log(LOG_INFO, "%s: snapshot: %llu files so far, %llu MiB copied, %llu reflinked",
		w->name, (unsigned long long)w->st->files,
		(unsigned long long)(w->st->data_bytes >> 20),
		(unsigned long long)w->st->reflinked);
}

/* user.* xattrs of src onto dst (both regular fds). */
static int copy_xattrs(struct walk *w, int src, int dst)
{
	ssize_t n, v;
	char *p;

	n = flistxattr(src, w->xbuf, XATTR_LIST_MAX_BYTES);
	if (n < 0)
		return errno == ENOTSUP ? 0 : -errno;
	for (p = w->xbuf; p < w->xbuf + n; p += strlen(p) + 1) {
		if (strncmp(p, "user.", 5))
			continue;
		v = fgetxattr(src, p, w->vbuf, XATTR_VALUE_MAX_BYTES);
		if (v < 0) {
			if (errno == ENODATA)
				continue;
			return -errno;
		}
		if (fsetxattr(dst, p, w->vbuf, (size_t)v, 0))
			return -errno;
	}
	return 0;
}

/* Owner, then mode (chown clears set-id bits), then times, of the entry
 * name in dir as st says. */
static int copy_attrs(int dir, const char *name, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (fchownat(dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (!S_ISLNK(st->st_mode) &&
	    fchmodat(dir, name, st->st_mode & 07777, 0))
		return -errno;
	if (utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

/* The data of src into dst, holes kept, without FICLONE. */
static int copy_data(struct walk *w, int src, int dst, off_t size)
{
	off_t data = 0, hole, pos;
	ssize_t n;

	while (data < size) {
		data = lseek(src, data, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				break;
			return -errno;
		}
		hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		for (pos = data; pos < hole; pos += n) {
			off_t in = pos, out = pos;
			size_t len = (size_t)(hole - pos) < COPY_CHUNK ?
				     (size_t)(hole - pos) : COPY_CHUNK;

			n = copy_file_range(src, &in, dst, &out, len, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL ||
				      errno == ENOSYS || errno == EOPNOTSUPP)) {
				char buf[65536];

				n = pread(src, buf, len < sizeof(buf) ?
					  len : sizeof(buf), pos);
				if (n > 0 && pwrite(dst, buf, (size_t)n, pos) != n)
					return errno ? -errno : -EIO;
			}
			if (n < 0)
				return -errno;
			if (n == 0)
				break;	/* shrank under us */
			w->st->data_bytes += (uint64_t)n;
			progress(w);
		}
		data = hole;
	}
	if (ftruncate(dst, size))
		return -errno;
	return 0;
}

static struct link *find_link(struct walk *w, const struct stat *st)
{
	unsigned i;

	for (i = 0; i < w->nr_links; i++)
		if (w->links[i].dev == st->st_dev &&
		    w->links[i].ino == st->st_ino)
			return &w->links[i];
	return NULL;
}

/* Remember the copy dir/name of a multiply-linked inode. */
static void keep_link(struct walk *w, const struct stat *st, int dir,
		      const char *name)
{
	struct link *l;
	int fd;

	if (w->nr_links == XSH_COPY_MAX_LINKS)
		return;
	if (w->nr_links == w->cap_links) {
		unsigned cap = w->cap_links ? w->cap_links * 2 : 64;

		l = realloc(w->links, cap * sizeof(*l));
		if (!l)
			return;
		w->links = l;
		w->cap_links = cap;
	}
	fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	w->links[w->nr_links++] = (struct link){ st->st_dev, st->st_ino, fd };
}

/* A new name for a copy already made: 0, or -errno. */
static int make_link(const struct link *l, int dir, const char *name)
{
	char proc[32];

	if (!linkat(l->fd, "", dir, name, AT_EMPTY_PATH))
		return 0;
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", l->fd);
	if (!linkat(AT_FDCWD, proc, dir, name, AT_SYMLINK_FOLLOW))
		return 0;
	return -errno;
}

static int copy_file(struct walk *w, int sdir, int ddir, const char *name,
		     const struct stat *st)
{
	struct stat now;
	int src, dst, rc = 0;

	src = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY |
		     O_CLOEXEC);
	if (src < 0)
		return errno == ENOENT ? 1 : -errno;
	if (fstat(src, &now) || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino || !S_ISREG(now.st_mode)) {
		close(src);
		return 1;	/* changed under us: skip */
	}
	dst = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		     O_CLOEXEC, 0600);
	if (dst < 0) {
		rc = -errno;
		close(src);
		return rc;
	}
	if (w->reflink && ioctl(dst, FICLONE, src) == 0) {
		w->st->reflinked++;
	} else {
		if (w->reflink && errno != EOPNOTSUPP && errno != EXDEV &&
		    errno != EINVAL && errno != ENOTTY)
			rc = -errno;
		if (!rc)
			rc = copy_data(w, src, dst, now.st_size);
	}
	if (!rc)
		rc = copy_xattrs(w, src, dst);
	close(src);
	close(dst);
	return rc;
}

static int copy_dir(struct walk *w, int src, int dst, unsigned depth);

/* One entry of sdir (as stat'ed: st) into ddir.  0, 1 (skipped), or
 * -errno. */
static int copy_entry(struct walk *w, int sdir, int ddir, const char *name,
		      const struct stat *st, unsigned depth)
{
	char target[PATH_MAX];
	struct link *l;
	ssize_t n;
	int rc, s, d;

	if (st->st_dev != w->dev)
		return 1;	/* a mount point: not ours to copy */
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		l = find_link(w, st);
		if (l) {
			rc = make_link(l, ddir, name);
			if (!rc) {
				w->st->links++;
				return 0;
			}
			return rc;
		}
	}
	switch (st->st_mode & S_IFMT) {
	case S_IFDIR:
		if (depth >= XSH_COPY_MAX_DEPTH)
			return -ELOOP;
		if (mkdirat(ddir, name, 0700))
			return -errno;
		s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			   O_CLOEXEC);
		if (s < 0)
			return errno == ENOENT ? 1 : -errno;
		d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			   O_CLOEXEC);
		if (d < 0) {
			rc = -errno;
			close(s);
			return rc;
		}
		rc = copy_dir(w, s, d, depth + 1);
		close(s);
		close(d);
		break;
	case S_IFREG:
		rc = copy_file(w, sdir, ddir, name, st);
		break;
	case S_IFLNK:
		n = readlinkat(sdir, name, target, sizeof(target) - 1);
		if (n < 0)
			return errno == ENOENT ? 1 : -errno;
		target[n] = '\0';
		rc = symlinkat(target, ddir, name) ? -errno : 0;
		break;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		rc = mknodat(ddir, name, st->st_mode & (S_IFMT | 0777),
			     st->st_rdev) ? -errno : 0;
		break;
	default:
		return 1;
	}
	if (rc)
		return rc;
	rc = copy_attrs(ddir, name, st);
	if (rc)
		return rc;
	w->st->files++;
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		if (w->nr_links < XSH_COPY_MAX_LINKS)
			keep_link(w, st, ddir, name);
		else
			w->st->links_copied++;
	}
	progress(w);
	return 0;
}

static int copy_dir(struct walk *w, int src, int dst, unsigned depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	d = xsh_tree_opendir(src);
	if (!d)
		return -errno;
	while (!rc) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			rc = errno ? -errno : 0;
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(src, de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			if (errno == ENOENT) {
				w->st->skipped++;
				continue;
			}
			rc = -errno;
			break;
		}
		rc = copy_entry(w, src, dst, de->d_name, &st, depth);
		if (rc == 1) {
			w->st->skipped++;
			rc = 0;
		} else if (rc < 0 && !w->why[0]) {
			fail(w->why, w->why_len, rc, "copying '%s'",
			     de->d_name);
		}
	}
	closedir(d);
	if (rc && !w->why[0])
		fail(w->why, w->why_len, rc, "reading a directory");
	return rc;
}

int xsh_tree_copy(int src, int dst, bool reflink, const char *name,
		  struct xsh_copy_stats *st, char *why, size_t why_len)
{
	struct walk w = {
		.name = name,
		.reflink = reflink,
		.st = st,
		.progress_ms = xsh_now_ms(),
		.why = why,
		.why_len = why_len,
	};
	struct timespec ts[2];
	struct stat root;
	unsigned i;
	int rc;

	memset(st, 0, sizeof(*st));
	why[0] = '\0';
	if (fstat(src, &root))
		return fail(why, why_len, -errno, "the tree to copy");
	w.dev = root.st_dev;
	w.xbuf = malloc(XATTR_LIST_MAX_BYTES);
	w.vbuf = malloc(XATTR_VALUE_MAX_BYTES);
	if (!w.xbuf || !w.vbuf) {
		rc = fail(why, why_len, -ENOMEM, "copying");
		goto out;
	}
	rc = copy_dir(&w, src, dst, 0);
	if (rc)
		goto out;
	rc = copy_xattrs(&w, src, dst);
	if (!rc && (fchown(dst, root.st_uid, root.st_gid) ||
		    fchmod(dst, root.st_mode & 07777)))
		rc = -errno;
	ts[0] = root.st_atim;
	ts[1] = root.st_mtim;
	if (!rc && futimens(dst, ts))
		rc = -errno;
	if (rc)
		fail(why, why_len, rc, "the attributes of the tree's root");
out:
	for (i = 0; i < w.nr_links; i++)
		close(w.links[i].fd);
	free(w.links);
	free(w.xbuf);
	free(w.vbuf);
	return rc;
}

/* ---- removal ---------------------------------------------------------- */

static int destroy_subvolume(int dir, const char *name)
{
	struct btrfs_ioctl_vol_args args;

	memset(&args, 0, sizeof(args));
	if (strlen(name) >= sizeof(args.name))
		return -ENAMETOOLONG;
	strcpy(args.name, name);
	return ioctl(dir, BTRFS_IOC_SNAP_DESTROY, &args) ? -errno : 0;
}

static int clear_dir(int dir, dev_t dev, unsigned depth, char *why,
		     size_t why_len);

static int remove_entry(int dir, const char *name, dev_t dev,
			unsigned depth, char *why, size_t why_len)
{
	struct stat st;
	int fd, rc;

	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dir, name, 0) && errno != ENOENT ? -errno : 0;
	if (depth >= XSH_COPY_MAX_DEPTH)
		return -ELOOP;
	fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (xsh_tree_is_subvolume(fd)) {
		close(fd);
		return destroy_subvolume(dir, name);
	}
	if (st.st_dev != dev) {
		close(fd);
		snprintf(why, why_len, "'%s' is a mount point: not removed",
			 name);
		return -EXDEV;
	}
	rc = clear_dir(fd, dev, depth + 1, why, why_len);
	close(fd);
	if (rc)
		return rc;
	return unlinkat(dir, name, AT_REMOVEDIR) ? -errno : 0;
}

static int clear_dir(int dir, dev_t dev, unsigned depth, char *why,
		     size_t why_len)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = xsh_tree_opendir(dir);
	if (!d)
		return -errno;
	while (!rc && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rc = remove_entry(dir, de->d_name, dev, depth, why, why_len);
		if (rc && !why[0])
			fail(why, why_len, rc, "removing '%s'", de->d_name);
	}
	if (!rc && errno)
		rc = -errno;
	closedir(d);
	return rc;
}

int xsh_tree_clear(int dir, char *why, size_t why_len)
{
	struct stat st;
	int rc;

	why[0] = '\0';
	if (fstat(dir, &st))
		return fail(why, why_len, -errno, "clearing a tree");
	rc = clear_dir(dir, st.st_dev, 0, why, why_len);
	if (rc && !why[0])
		fail(why, why_len, rc, "clearing a tree");
	return rc;
}

int xsh_tree_remove(int dir, const char *name, char *why, size_t why_len)
{
	struct stat st;
	int rc;

	why[0] = '\0';
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW))
		return fail(why, why_len, -errno, "removing '%s'", name);
	rc = remove_entry(dir, name, st.st_dev, 0, why, why_len);
	if (rc && !why[0])
		fail(why, why_len, rc, "removing '%s'", name);
	return rc;
}
