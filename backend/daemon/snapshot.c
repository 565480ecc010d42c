// SPDX-License-Identifier: MIT
/*
 * Named snapshots in a snapshot directory (snapshot.h): taking one with
 * the device quiesced, listing, deleting, restoring.  The copying itself
 * is snapcopy.c's.
 *
 * Trust: see snapshot.h.  A name is checked before it reaches a system
 * call, and is then only ever one component relative to the snapshot
 * directory's fd.  The metadata files are ours (dot names, which no
 * snapshot can have), read back bounded and parsed strictly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/btrfs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "backend/service/quota.h"
#include "snapcopy.h"
#include "snapshot.h"

#define META_MAX	512
#define ANCESTORS_MAX	4096

static const char *const method_names[] = {
	[XSH_SNAP_BTRFS] = "btrfs-snapshot",
	[XSH_SNAP_REFLINK] = "reflink",
	[XSH_SNAP_FULL] = "full-copy",
};

const char *xsh_snap_method_name(enum xsh_snap_method m)
{
	return (unsigned)m < 3 ? method_names[m] : "unknown";
}

int xsh_snap_name_check(const char *name, char *why, size_t why_len)
{
	size_t i, n = strnlen(name, XSH_SNAP_NAME_MAX + 1);

	if (n == 0 || n > XSH_SNAP_NAME_MAX) {
		snprintf(why, why_len, "snapshot name must be 1 to %u characters",
			 XSH_SNAP_NAME_MAX);
		return -EINVAL;
	}
	if (name[0] == '.') {
		snprintf(why, why_len, "snapshot name '%s' starts with a dot", name);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-')) {
			snprintf(why, why_len, "snapshot name '%s': want A-Z a-z 0-9 . _ - only (one path component)",
				 name);
			return -EINVAL;
		}
	}
	return 0;
}

/* Whether inner is outer or below it: a walk up inner's "..". */
static int is_inside(int inner, int outer, bool *inside)
{
	struct stat o, cur, up;
	unsigned i;
	int fd, next, rc = 0;

	*inside = false;
	if (fstat(outer, &o))
		return -errno;
	fd = openat(inner, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (i = 0; i < ANCESTORS_MAX; i++) {
		if (fstat(fd, &cur)) {
			rc = -errno;
			break;
		}
		if (cur.st_dev == o.st_dev && cur.st_ino == o.st_ino) {
			*inside = true;
			break;
		}
		next = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (next < 0) {
			rc = -errno;
			break;
		}
		if (fstat(next, &up)) {
			rc = -errno;
			close(next);
			break;
		}
		close(fd);
		fd = next;
		if (up.st_dev == cur.st_dev && up.st_ino == cur.st_ino)
			break;	/* the root */
	}
	close(fd);
	return rc;
}

int xsh_snap_dir_check(int export_fd, int dir_fd, char *why, size_t why_len)
{
	bool in;
	int rc;

	rc = is_inside(dir_fd, export_fd, &in);
	if (!rc && in) {
		snprintf(why, why_len, "the snapshot directory is inside the export: the guest would see and change its snapshots");
		return -EINVAL;
	}
	if (!rc)
		rc = is_inside(export_fd, dir_fd, &in);
	if (!rc && in) {
		snprintf(why, why_len, "the export is inside the snapshot directory");
		return -EINVAL;
	}
	if (rc)
		snprintf(why, why_len, "checking the snapshot directory: %s",
			 strerror(-rc));
	return rc;
}

/* ---- metadata ------------------------------------------------------------ */

static void meta_name(char *buf, size_t len, const char *name,
		      const char *suffix)
{
	snprintf(buf, len, ".%s.%s", name, suffix);
}

static int write_meta(int dir, const struct xsh_snap_info *in)
{
	char tmp[XSH_SNAP_NAME_MAX + 16], fin[XSH_SNAP_NAME_MAX + 16];
	char text[META_MAX];
	int fd, n, rc = 0;

	n = snprintf(text, sizeof(text),
		     "time=%lld\nmethod=%s\nbytes=%" PRIu64 "\nfiles=%" PRIu64
		     "\npause-ms=%ld\n", (long long)in->time,
		     xsh_snap_method_name(in->method), in->bytes, in->files,
		     in->pause_ms);
	meta_name(tmp, sizeof(tmp), in->name, "snap.new");
	meta_name(fin, sizeof(fin), in->name, "snap");
	fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		    O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)n) != n || fsync(fd))
		rc = errno ? -errno : -EIO;
	close(fd);
	if (!rc && renameat(dir, tmp, dir, fin))
		rc = -errno;
	if (rc)
		unlinkat(dir, tmp, 0);
	return rc;
}

static int read_meta(int dir, const char *name, struct xsh_snap_info *out)
{
	char file[XSH_SNAP_NAME_MAX + 16], text[META_MAX], *line, *save;
	unsigned long long v;
	ssize_t n;
	int fd, i;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->method = XSH_SNAP_FULL;
	meta_name(file, sizeof(file), name, "snap");
	fd = openat(dir, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	text[n] = '\0';
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "time=%llu", &v) == 1)
			out->time = (time_t)v;
		else if (sscanf(line, "bytes=%llu", &v) == 1)
			out->bytes = v;
		else if (sscanf(line, "files=%llu", &v) == 1)
			out->files = v;
		else if (sscanf(line, "pause-ms=%llu", &v) == 1)
			out->pause_ms = (long)v;
		else if (!strncmp(line, "method=", 7))
			for (i = 0; i < 3; i++)
				if (!strcmp(line + 7, method_names[i]))
					out->method = (enum xsh_snap_method)i;
	}
	return 0;
}

/* du -sB1 and du --inodes of dir's tree. */
static void measure(const char *name, int dir, uint64_t *bytes,
		    uint64_t *files)
{
	struct xsh_quota_usage u;
	struct xsh_quota *q;

	*bytes = *files = 0;
	if (xsh_quota_new(name, 4096, &q))
		return;
	if (!xsh_quota_scan(q, dir, NULL)) {
		xsh_quota_get(q, &u);
		*bytes = u.usage_bytes;
		*files = u.usage_inodes;
	}
	xsh_quota_free(q);
}

/* ---- taking ------------------------------------------------------------- */

static int open_dir(int at, const char *name)
{
	return openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		      O_CLOEXEC);
}

static int count_snapshots(int dir)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = xsh_tree_opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int btrfs_snapshot(int src, int dir, const char *name)
{
	struct btrfs_ioctl_vol_args_v2 args;

	memset(&args, 0, sizeof(args));
	args.fd = src;
	args.flags = BTRFS_SUBVOL_RDONLY;
	snprintf(args.name, sizeof(args.name), "%s", name);
	return ioctl(dir, BTRFS_IOC_SNAP_CREATE_V2, &args) ? -errno : 0;
}

/* The copy into dir/tmp, with the device held.  0 or -errno. */
static int make_copy(const struct xsh_snap_ctx *c, int src, int dir,
		     const char *tmp, const char *name,
		     enum xsh_snap_method *method, char *why, size_t why_len)
{
	struct xsh_copy_stats st;
	bool reflink;
	int dst, rc;

	if (xsh_tree_is_subvolume(src)) {
		rc = btrfs_snapshot(src, dir, name);
		if (!rc) {
			*method = XSH_SNAP_BTRFS;
			return 0;
		}
		xsh_log(LOG_INFO, "%s: snapshot %s: no btrfs snapshot (%s): copying",
			c->name, name, strerror(-rc));
	}
	if (mkdirat(dir, tmp, 0700))
		return -errno;
	dst = open_dir(dir, tmp);
	if (dst < 0)
		return -errno;
	reflink = xsh_tree_can_reflink(dst);
	rc = xsh_tree_copy(src, dst, reflink, c->name, &st, why, why_len);
	close(dst);
	if (rc)
		return rc;
	*method = reflink && !st.data_bytes ? XSH_SNAP_REFLINK : XSH_SNAP_FULL;
	if (st.links_copied)
		xsh_log(LOG_WARNING, "%s: snapshot %s: %" PRIu64 " hard links past the first %u copied as files",
			c->name, name, st.links_copied, XSH_COPY_MAX_LINKS);
	if (renameat(dir, tmp, dir, name))
		return -errno;
	return 0;
}

int xsh_snap_take(const struct xsh_snap_ctx *c, const char *name,
		  struct xsh_snap_info *out, char *why, size_t why_len)
{
	char tmp[XSH_SNAP_NAME_MAX + 16], sub[200];
	struct stat st;
	long t0;
	int dir, src, snap, n, rc;

	why[0] = '\0';
	rc = xsh_snap_name_check(name, why, why_len);
	if (rc)
		return rc;
	dir = open_dir(c->dir_fd, ".");
	if (dir < 0) {
		rc = -errno;
		snprintf(why, why_len, "the snapshot directory: %s", strerror(-rc));
		return rc;
	}
	src = open_dir(c->export_fd, ".");
	if (src < 0) {
		rc = -errno;
		snprintf(why, why_len, "the export: %s", strerror(-rc));
		close(dir);
		return rc;
	}
	if (!fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW)) {
		snprintf(why, why_len, "snapshot '%s' exists", name);
		rc = -EEXIST;
		goto out;
	}
	n = count_snapshots(dir);
	if (n >= (int)XSH_SNAP_MAX) {
		snprintf(why, why_len, "%u snapshots already: delete one first",
			 XSH_SNAP_MAX);
		rc = -ENOSPC;
		goto out;
	}
	meta_name(tmp, sizeof(tmp), name, "tmp");
	if (!fstatat(dir, tmp, &st, AT_SYMLINK_NOFOLLOW))
		(void)xsh_tree_remove(dir, tmp, sub, sizeof(sub));

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	t0 = xsh_now_ms();
	rc = c->ops->quiesce(c->arg, why, why_len);
	if (rc)
		goto out;
	out->time = time(NULL);
	if (syncfs(src))
		xsh_log(LOG_WARNING, "%s: snapshot %s: syncfs: %s", c->name,
			name, strerror(errno));
	rc = make_copy(c, src, dir, tmp, name, &out->method, sub, sizeof(sub));
	c->ops->resume(c->arg);
	out->pause_ms = xsh_now_ms() - t0;
	if (rc) {
		snprintf(why, why_len, "snapshot '%s' failed: %s", name,
			 sub[0] ? sub : strerror(-rc));
		if (!fstatat(dir, tmp, &st, AT_SYMLINK_NOFOLLOW))
			(void)xsh_tree_remove(dir, tmp, sub, sizeof(sub));
		goto out;
	}
	snap = open_dir(dir, name);
	if (snap >= 0) {
		measure(c->name, snap, &out->bytes, &out->files);
		close(snap);
	}
	rc = write_meta(dir, out);
	if (rc)
		xsh_log(LOG_WARNING, "%s: snapshot %s: writing its metadata: %s",
			c->name, name, strerror(-rc));
	rc = 0;
	(void)syncfs(dir);
	xsh_log(LOG_INFO, "%s: snapshot %s taken (%s, %" PRIu64 " bytes, %" PRIu64 " files, device held %ld ms)",
		c->name, name, xsh_snap_method_name(out->method), out->bytes,
		out->files, out->pause_ms);
out:
	close(src);
	close(dir);
	return rc;
}

/* ---- the others ------------------------------------------------------ */

static int snapshot_exists(int dir, const char *name, char *why,
			   size_t why_len)
{
	struct stat st;
	int rc;

	rc = xsh_snap_name_check(name, why, why_len);
	if (rc)
		return rc;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) ||
	    !S_ISDIR(st.st_mode)) {
		snprintf(why, why_len, "no snapshot named '%s'", name);
		return -ENOENT;
	}
	return 0;
}

int xsh_snap_delete(const struct xsh_snap_ctx *c, const char *name,
		    char *why, size_t why_len)
{
	char meta[XSH_SNAP_NAME_MAX + 16], sub[200];
	int dir, rc;

	why[0] = '\0';
	dir = open_dir(c->dir_fd, ".");
	if (dir < 0)
		return -errno;
	rc = snapshot_exists(dir, name, why, why_len);
	if (!rc) {
		rc = xsh_tree_remove(dir, name, sub, sizeof(sub));
		if (rc)
			snprintf(why, why_len, "deleting snapshot '%s': %s",
				 name, sub);
	}
	if (!rc) {
		meta_name(meta, sizeof(meta), name, "snap");
		unlinkat(dir, meta, 0);
		(void)syncfs(dir);
		xsh_log(LOG_INFO, "%s: snapshot %s deleted", c->name, name);
	}
	close(dir);
	return rc;
}

int xsh_snap_restore(const struct xsh_snap_ctx *c, const char *name,
		     struct xsh_snap_info *out, char *why, size_t why_len)
{
	struct xsh_copy_stats st;
	char sub[200];
	int dir, snap = -1, exp = -1, rc;

	why[0] = '\0';
	dir = open_dir(c->dir_fd, ".");
	if (dir < 0)
		return -errno;
	rc = snapshot_exists(dir, name, why, why_len);
	if (rc)
		goto out_dir;
	read_meta(dir, name, out);
	snap = open_dir(dir, name);
	exp = open_dir(c->export_fd, ".");
	if (snap < 0 || exp < 0) {
		rc = -errno;
		snprintf(why, why_len, "restoring '%s': %s", name, strerror(-rc));
		goto out;
	}
	rc = c->ops->quiesce(c->arg, why, why_len);
	if (rc)
		goto out;
	rc = xsh_tree_clear(exp, sub, sizeof(sub));
	if (!rc)
		rc = xsh_tree_copy(snap, exp, xsh_tree_can_reflink(exp),
				   c->name, &st, sub, sizeof(sub));
	if (!rc && syncfs(exp))
		rc = -errno;
	/* Whatever the copy did, the worker's view of the tree is stale. */
	c->ops->restart(c->arg);
	if (rc) {
		snprintf(why, why_len, "restoring '%s' failed, the export is incomplete (restore again): %s",
			 name, sub[0] ? sub : strerror(-rc));
		xsh_log(LOG_ERR, "%s: %s", c->name, why);
		goto out;
	}
	xsh_log(LOG_INFO, "%s: snapshot %s restored (%" PRIu64 " files, %" PRIu64 " bytes copied, %" PRIu64 " reflinked)",
		c->name, name, st.files, st.data_bytes, st.reflinked);
out:
	if (snap >= 0)
		close(snap);
	if (exp >= 0)
		close(exp);
out_dir:
	close(dir);
	return rc;
}

static int by_time(const void *a, const void *b)
{
	const struct xsh_snap_info *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return strcmp(x->name, y->name);
}

int xsh_snap_list(const struct xsh_snap_ctx *c, struct xsh_snap_info *out,
		  unsigned cap)
{
	struct dirent *de;
	char why[8];
	unsigned n = 0;
	DIR *d;

	d = xsh_tree_opendir(c->dir_fd);
	if (!d)
		return -errno;
	while (n < cap && (de = readdir(d))) {
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (xsh_snap_name_check(de->d_name, why, sizeof(why)))
			continue;
		read_meta(dirfd(d), de->d_name, &out[n++]);
	}
	closedir(d);
	qsort(out, n, sizeof(*out), by_time);
	return (int)n;
}
