// SPDX-License-Identifier: MIT
/*
 * The passthrough file operations: one handler per opcode, each working
 * on the host directory through the fds of the node and handle tables.
 *
 * Trust: arguments were validated by the codec (names are single
 * components, flags within the allowed sets, lengths bounded); node ids
 * and handles are checked by their tables.  Every guest-named file is
 * reached with an *at() call relative to a node's O_PATH fd, with
 * O_NOFOLLOW / AT_SYMLINK_NOFOLLOW: host symlinks are never followed, so
 * nothing outside the export can be reached.  Already-resolved files are
 * reopened through /proc/self/fd/<n> of our own fds, never by a name the
 * guest chose.  Host special files (FIFOs, sockets, devices) are never
 * opened.
 *
 * Permissions: the guest kernel checks them (the frontend mounts with
 * default_permissions) and the calls run with the thread's capabilities,
 * except for a caller the id map squashes (xsh_policy_host_checks()):
 * then each call that checks permissions on a local file system (name
 * resolution, open, create, remove, rename, chown, chmod, utimes,
 * truncate, xattrs) runs as that caller's host ids with no capabilities
 * (as_caller()), so that the host kernel decides what the squashed id may
 * do, as an NFS server does for squashed users.
 *
 * Quotas (backend/service/quota.h): every operation that can change usage
 * is one transaction.  xsh_quota_begin() reserves its worst case (EDQUOT,
 * or a short write, when it does not fit); then xsh_quota_commit() settles
 * the real st_blocks change of each inode it touched (removing a file's
 * last name uncharges it), or xsh_quota_abort() when it did nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "creds.h"
#include "service_internal.h"

#define DIRBUF_SIZE	8192u
#define COPY_MAX	(1ull << 30)
#define XATTR_USER	"user."
#define XATTR_LIST_SIZE	65536u

/* Open flags that are passed on to the host when reopening a file. */
#define HOST_OPEN_FLAGS                                                      \
	(O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_DSYNC | O_SYNC |    \
	 O_NOATIME | O_DIRECTORY)

/* ---- helpers ----------------------------------------------------------- */

static uint32_t limit(uint32_t v)
{
	return v ? v : UINT32_MAX;
}

static int get_node(struct xsh_ctx *c, uint64_t id, struct xsh_node **n)
{
	return xsh_node_get(c->s->nodes, id, n);
}

static void put_node(struct xsh_ctx *c, struct xsh_node *n)
{
	xsh_node_put(c->s->nodes, n);
}

static int get_dir_node(struct xsh_ctx *c, uint64_t id, struct xsh_node **n)
{
	int rc = get_node(c, id, n);

	if (rc)
		return rc;
	if ((*n)->type != S_IFDIR) {
		put_node(c, *n);
		*n = NULL;
		return -ENOTDIR;
	}
	return 0;
}

static int get_file(struct xsh_ctx *c, struct xsh_handle **h)
{
	return xsh_handle_get(c->s->handles, c->m->req.fh, c->m->req.nodeid,
			     false, h);
}

static int get_dir(struct xsh_ctx *c, struct xsh_handle **h)
{
	return xsh_handle_get(c->s->handles, c->m->req.fh, c->m->req.nodeid,
			     true, h);
}

static void put_handle(struct xsh_ctx *c, struct xsh_handle *h)
{
	xsh_handle_put(c->s->handles, h);
}

/* Reopen one of our own fds through /proc/self/fd. */
int xsh_fs_reopen_fd(struct xsh_ctx *c, int fd, int flags)
{
	char p[16];
	int r;

	snprintf(p, sizeof(p), "%d", fd);
	r = openat(c->s->exp->proc_fd, p, flags | O_CLOEXEC);
	return r < 0 ? -errno : r;
}

static void proc_name(char p[16], int fd)
{
	snprintf(p, 16, "%d", fd);
}

static uint32_t encode_dev(dev_t d)
{
	uint32_t ma = major(d), mi = minor(d);

	return (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & ~0xffu) << 12);
}

static dev_t decode_dev(uint32_t d)
{
	return makedev((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00));
}

static void fill_attr(const struct xsh_ctx *c, const struct stat *st,
		      struct xsh_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = st->st_atim.tv_sec;
	a->atime_nsec = (uint32_t)st->st_atim.tv_nsec;
	a->mtime = st->st_mtim.tv_sec;
	a->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctime = st->st_ctim.tv_sec;
	a->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = st->st_nlink > UINT32_MAX ? UINT32_MAX : (uint32_t)st->st_nlink;
	a->uid = xsh_policy_uid_out(&c->pol, st->st_uid);
	a->gid = xsh_policy_gid_out(&c->pol, st->st_gid);
	a->rdev = encode_dev(st->st_rdev);
	a->blksize = (uint32_t)st->st_blksize;
}

static int stat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ?
		       -errno : 0;
}

/* Count one lookup of the file at pathfd (O_PATH, consumed) and fill e. */
static int entry_from_fd(struct xsh_ctx *c, int pathfd, struct xsh_rsp_entry *e)
{
	struct stat st;
	uint64_t id;
	uint32_t gen;
	int rc;

	rc = stat_fd(pathfd, &st);
	if (rc) {
		close(pathfd);
		return rc;
	}
	rc = xsh_node_lookup_fd(c->s->nodes, pathfd, &st,
			       limit(c->pol.max_nodes), &id, &gen);
	if (rc)
		return rc;
	memset(e, 0, sizeof(*e));
	e->nodeid = id;
	e->generation = gen;
	fill_attr(c, &st, &e->attr);
	return 0;
}

static int lookup_at(struct xsh_ctx *c, int dirfd, const char *name,
		     struct xsh_rsp_entry *e)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return entry_from_fd(c, fd, e);
}

static int map_caller(struct xsh_ctx *c, uid_t *uid, gid_t *gid)
{
	uint32_t u, g;

	if (xsh_policy_uid_in(&c->pol, c->m->req.uid, &u) ||
	    xsh_policy_gid_in(&c->pol, c->m->req.gid, &g))
		return -EPERM;
	*uid = u;
	*gid = g;
	return 0;
}

/* For a caller whose permissions the backend checks: the calls up to
 * as_backend() run as its host ids, without capabilities.  0 or -EPERM. */
static int as_caller(struct xsh_ctx *c)
{
	return c->host_check ? xsh_creds_enter_strict(c->host_uid, c->host_gid) :
			       0;
}

static void as_backend(struct xsh_ctx *c)
{
	if (c->host_check)
		xsh_creds_leave();
}

/* Creating as the caller's mapped ids (new files get the right owner);
 * capabilities kept unless the backend checks this caller. */
static int as_creator(struct xsh_ctx *c, uid_t uid, gid_t gid)
{
	return c->host_check ? xsh_creds_enter_strict(uid, gid) :
			       xsh_creds_enter(uid, gid);
}

/* openat(dirfd, name, O_PATH | O_NOFOLLOW) as the caller: -errno or fd. */
static int name_fd_as_caller(struct xsh_ctx *c, int dirfd, const char *name)
{
	int fd, rc = as_caller(c);

	if (rc)
		return rc;
	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	rc = fd < 0 ? -errno : fd;
	as_backend(c);
	return rc;
}

static int check_setid(const struct xsh_ctx *c, uint32_t mode, uint32_t type)
{
	return xsh_policy_check_mode(&c->pol, type, mode);
}

static bool is_reg_or_dir(uint32_t type)
{
	return type == S_IFREG || type == S_IFDIR;
}

/* ---- quota hooks -------------------------------------------------------- */

/* Each handler that can change usage runs one quota transaction: begin,
 * then commit or abort. */
static int quota_begin(struct xsh_ctx *c, struct xsh_quota_txn *t)
{
	return xsh_quota_begin(c->s->exp->quota, c->s->name, t);
}

static int name_fd(int dirfd, const char *name)
{
	return openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

/* On a device built on a template, fd for the transaction of an operation
 * that may copy the file up (its copy is charged before it is made,
 * backend/service/quota.h); -1 elsewhere, where such an operation
 * changes no usage. */
static int copyup_fd(const struct xsh_ctx *c, int fd)
{
	return c->s->exp->tpl ? fd : -1;
}

static int copyup_begin(struct xsh_ctx *c, int fd, struct xsh_quota_txn *t)
{
	memset(t, 0, sizeof(*t));
	t->kind = XSH_QUOTA_COPYUP;
	t->fd = copyup_fd(c, fd);
	return quota_begin(c, t);
}

/* Remove a name under dirfd with fn, uncharging the inode if that was its
 * last name. */
static int remove_charged(struct xsh_ctx *c, int dirfd, const char *name,
			  int (*fn)(struct xsh_ctx *c, void *arg), void *arg)
{
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_NAME };
	int rc;

	t.fd = name_fd(dirfd, name);
	rc = quota_begin(c, &t);
	if (!rc) {
		rc = fn(c, arg);
		if (rc)
			xsh_quota_abort(&t);
		else
			xsh_quota_commit(&t, NULL);
	}
	if (t.fd >= 0)
		close(t.fd);
	return rc;
}

/* ---- lookup and attributes ---------------------------------------------- */

int xsh_fs_lookup(struct xsh_ctx *c)
{
	struct xsh_node *p;
	int fd, rc;

	rc = get_dir_node(c, c->m->req.nodeid, &p);
	if (rc)
		return rc;
	fd = name_fd_as_caller(c, p->fd, c->m->name);
	rc = fd < 0 ? fd : entry_from_fd(c, fd, &c->rsp->u.entry);
	put_node(c, p);
	return rc;
}

int xsh_fs_forget(struct xsh_ctx *c)
{
	const uint8_t *p = c->m->data;
	struct xsh_forget_one f;
	uint32_t i, n = c->m->data_len / sizeof(f);

	for (i = 0; i < n; i++) {
		memcpy(&f, p + (size_t)i * sizeof(f), sizeof(f));
		xsh_node_forget(c->s->nodes, f.nodeid, f.nlookup);
	}
	return 0;
}

static int reply_attr(struct xsh_ctx *c, struct xsh_node *n)
{
	struct stat st;
	int rc = stat_fd(n->fd, &st);

	if (!rc)
		fill_attr(c, &st, &c->rsp->u.entry.attr);
	return rc;
}

int xsh_fs_getattr(struct xsh_ctx *c)
{
	struct xsh_node *n;
	int rc;

	rc = get_node(c, c->m->req.nodeid, &n);
	if (rc)
		return rc;
	rc = reply_attr(c, n);
	put_node(c, n);
	return rc;
}

static int truncate_node(struct xsh_ctx *c, struct xsh_node *n, uint64_t size)
{
	struct xsh_handle *h = NULL;
	int fd, rc = 0;

	if (c->m->req.a.setattr.valid & XSH_SETATTR_FH) {
		rc = get_file(c, &h);
		if (rc)
			return rc;
		if (!ftruncate(h->fd, (off_t)size)) {
			put_handle(c, h);
			return 0;
		}
		rc = -errno;
		put_handle(c, h);
		/* A handle opened read-only cannot truncate: reopen below. */
		if (rc != -EINVAL && rc != -EBADF)
			return rc;
	}
	fd = xsh_fs_reopen_fd(c, n->fd, O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	rc = ftruncate(fd, (off_t)size) ? -errno : 0;
	close(fd);
	return rc;
}

static int set_times(struct xsh_ctx *c, struct xsh_node *n)
{
	const struct xsh_args_setattr *a = &c->m->req.a.setattr;
	struct timespec ts[2];
	char p[16];
	int r;

	ts[0].tv_sec = a->atime;
	ts[0].tv_nsec = a->atime_nsec;
	ts[1].tv_sec = a->mtime;
	ts[1].tv_nsec = a->mtime_nsec;
	if (a->valid & XSH_SETATTR_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (!(a->valid & XSH_SETATTR_ATIME))
		ts[0].tv_nsec = UTIME_OMIT;
	if (a->valid & XSH_SETATTR_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (!(a->valid & XSH_SETATTR_MTIME))
		ts[1].tv_nsec = UTIME_OMIT;

	if (n->type == S_IFLNK) {
		r = utimensat(n->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	} else {
		proc_name(p, n->fd);
		r = utimensat(c->s->exp->proc_fd, p, ts, 0);
	}
	return r ? -errno : 0;
}

static int setattr_txn(struct xsh_ctx *c, struct xsh_node *n, uint32_t u,
		       uint32_t g);

int xsh_fs_setattr(struct xsh_ctx *c)
{
	const struct xsh_args_setattr *a = &c->m->req.a.setattr;
	uint32_t v = a->valid, u = (uint32_t)-1, g = (uint32_t)-1;
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_CHANGE };
	struct xsh_node *n;
	int rc;

	rc = get_node(c, c->m->req.nodeid, &n);
	if (rc)
		return rc;
	if (v & (XSH_SETATTR_ALL & ~(XSH_SETATTR_FH | XSH_SETATTR_CTIME))) {
		rc = xsh_dedup_break(c, n);
		if (rc)
			goto out;
	}
	if (v & XSH_SETATTR_MODE) {
		rc = check_setid(c, a->mode, n->type);
		if (!rc && n->type == S_IFLNK)
			rc = -EOPNOTSUPP;
		if (rc)
			goto out;
	}
	if (v & XSH_SETATTR_SIZE) {
		if (n->type == S_IFDIR)
			rc = -EISDIR;
		else if (n->type != S_IFREG)
			rc = -EINVAL;
		if (rc)
			goto out;
	}
	if (v & XSH_SETATTR_UID)
		rc = xsh_policy_uid_chown(&c->pol, a->uid, &u);
	if (!rc && (v & XSH_SETATTR_GID))
		rc = xsh_policy_gid_chown(&c->pol, a->gid, &g);
	if (rc)
		goto out;
	/* One transaction: truncating up is sparse, only the real change is
	 * charged; any change copies a template's file up.  Charged as the
	 * backend, applied as the caller where the host checks it. */
	t.fd = v & XSH_SETATTR_SIZE ? n->fd : copyup_fd(c, n->fd);
	rc = quota_begin(c, &t);
	if (rc)
		goto out;
	rc = as_caller(c);
	if (!rc) {
		rc = setattr_txn(c, n, u, g);
		as_backend(c);
	}
	xsh_quota_commit(&t, NULL);
	if (rc)
		goto out;
	rc = reply_attr(c, n);
out:
	put_node(c, n);
	return rc;
}

/* chown, then truncate (both clear set-id bits), then the mode the guest
 * asked for, then times last since the others touch them. */
static int setattr_txn(struct xsh_ctx *c, struct xsh_node *n, uint32_t u,
		       uint32_t g)
{
	const struct xsh_args_setattr *a = &c->m->req.a.setattr;
	uint32_t v = a->valid;
	char p[16];
	int rc;

	if (v & (XSH_SETATTR_UID | XSH_SETATTR_GID)) {
		if (fchownat(n->fd, "", u, g,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			return -errno;
	}
	if (v & XSH_SETATTR_SIZE) {
		rc = truncate_node(c, n, a->size);
		if (rc)
			return rc;
	}
	if (v & XSH_SETATTR_MODE) {
		/* A checked caller has no CAP_FSETID to raise: the host
		 * kernel drops set-gid as it would for that id. */
		proc_name(p, n->fd);
		if (!c->host_check)
			xsh_creds_fsetid(true);
		rc = fchmodat(c->s->exp->proc_fd, p, a->mode & 07777, 0) ?
			     -errno : 0;
		if (!c->host_check)
			xsh_creds_fsetid(false);
		if (rc)
			return rc;
	}
	if (v & (XSH_SETATTR_ATIME | XSH_SETATTR_MTIME | XSH_SETATTR_ATIME_NOW |
		 XSH_SETATTR_MTIME_NOW))
		return set_times(c, n);
	return 0;
}

int xsh_fs_readlink(struct xsh_ctx *c)
{
	char buf[XSH_PATH_MAX + 1];
	struct xsh_node *n;
	ssize_t len;
	int rc;

	rc = get_node(c, c->m->req.nodeid, &n);
	if (rc)
		return rc;
	if (n->type != S_IFLNK) {
		rc = -EINVAL;
		goto out;
	}
	len = readlinkat(n->fd, "", buf, sizeof(buf));
	if (len < 0) {
		rc = -errno;
		goto out;
	}
	if ((size_t)len > XSH_PATH_MAX) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	if ((uint32_t)len > c->m->out_cap) {
		rc = -ERANGE;
		goto out;
	}
	if (len)
		memcpy(c->m->out, buf, (size_t)len);
	c->rsp->out_len = (uint32_t)len;
out:
	put_node(c, n);
	return rc;
}

/* ---- creating and removing names ---------------------------------------- */

/* Run a creation call as the caller's mapped host ids, then count a
 * lookup of the new name. */
enum mk_kind { MK_NOD, MK_DIR, MK_SYMLINK };

static int make_node(struct xsh_ctx *c, enum mk_kind kind, uint32_t mode,
		     dev_t rdev)
{
	/* One inode, a block for it (directory, long symlink) and one for
	 * the parent directory's growth. */
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_NAME, .fd = -1,
				   .blocks = 2, .inodes = 1 };
	const struct xsh_msg *m = c->m;
	struct xsh_quota_used u = { .new_fd = -1, .created = true, .fd = -1 };
	struct xsh_node *p;
	uid_t uid;
	gid_t gid;
	int rc, r;

	rc = map_caller(c, &uid, &gid);
	if (rc)
		return rc;
	rc = get_dir_node(c, m->req.nodeid, &p);
	if (rc)
		return rc;
	rc = quota_begin(c, &t);
	if (rc)
		goto out;
	rc = as_creator(c, uid, gid);
	if (rc) {
		xsh_quota_abort(&t);
		goto out;
	}
	switch (kind) {
	case MK_NOD:
		r = mknodat(p->fd, m->name, mode, rdev);
		break;
	case MK_DIR:
		r = mkdirat(p->fd, m->name, mode);
		break;
	default:
		r = symlinkat(m->name2, p->fd, m->name);
		break;
	}
	rc = r ? -errno : 0;
	xsh_creds_leave();
	if (rc) {
		xsh_quota_abort(&t);
		goto out;
	}
	u.new_fd = name_fd(p->fd, m->name);
	u.dir_fd = p->fd;
	xsh_quota_commit(&t, &u);
	if (u.new_fd >= 0)
		close(u.new_fd);
	rc = lookup_at(c, p->fd, m->name, &c->rsp->u.entry);
out:
	put_node(c, p);
	return rc;
}

int xsh_fs_mknod(struct xsh_ctx *c)
{
	const struct xsh_args_mknod *a = &c->m->req.a.mknod;
	uint32_t type = a->mode & S_IFMT;
	uint32_t perm = a->mode & 07777 & ~a->umask;
	int rc;

	rc = xsh_policy_check_mknod(&c->pol, type);
	if (!rc)
		rc = check_setid(c, perm, type);
	if (rc)
		return rc;
	return make_node(c, MK_NOD, type | perm,
			 type == S_IFCHR || type == S_IFBLK ?
				 decode_dev(a->rdev) : 0);
}

int xsh_fs_mkdir(struct xsh_ctx *c)
{
	const struct xsh_args_mknod *a = &c->m->req.a.mknod;

	return make_node(c, MK_DIR, a->mode & 07777 & ~a->umask, 0);
}

int xsh_fs_symlink(struct xsh_ctx *c)
{
	return make_node(c, MK_SYMLINK, 0, 0);
}

struct unlink_args {
	int dirfd;
	int flags;
};

static int do_unlink(struct xsh_ctx *c, void *arg)
{
	struct unlink_args *u = arg;
	int rc = as_caller(c);

	if (rc)
		return rc;
	rc = unlinkat(u->dirfd, c->m->name, u->flags) ? -errno : 0;
	as_backend(c);
	return rc;
}

static int remove_name(struct xsh_ctx *c, int flags)
{
	struct unlink_args u = { .flags = flags };
	struct xsh_node *p;
	int rc;

	rc = get_dir_node(c, c->m->req.nodeid, &p);
	if (rc)
		return rc;
	u.dirfd = p->fd;
	rc = remove_charged(c, p->fd, c->m->name, do_unlink, &u);
	put_node(c, p);
	return rc;
}

int xsh_fs_unlink(struct xsh_ctx *c)
{
	return remove_name(c, 0);
}

int xsh_fs_rmdir(struct xsh_ctx *c)
{
	return remove_name(c, AT_REMOVEDIR);
}

struct rename_args {
	int olddirfd;
	int newdirfd;
};

static int do_rename(struct xsh_ctx *c, void *arg)
{
	struct rename_args *r = arg;
	int rc = as_caller(c);

	if (rc)
		return rc;
	rc = renameat2(r->olddirfd, c->m->name, r->newdirfd, c->m->name2,
		       c->m->req.a.rename.flags) ? -errno : 0;
	as_backend(c);
	return rc;
}

int xsh_fs_rename(struct xsh_ctx *c)
{
	/* The new name may grow its directory by a block; a target it
	 * replaces is uncharged if that was its last name. */
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_NAME, .fd = -1,
				   .blocks = 1 };
	struct xsh_quota_used u = { .new_fd = -1, .fd = -1 };
	struct xsh_quota_txn cu;
	struct rename_args r;
	struct xsh_node *p, *np;
	int rc, src = -1;

	rc = get_dir_node(c, c->m->req.nodeid, &p);
	if (rc)
		return rc;
	rc = get_dir_node(c, c->m->req.a.rename.newparent, &np);
	if (rc)
		goto out;
	/* Renaming a template's file copies it up. */
	src = c->s->exp->tpl ? name_fd(p->fd, c->m->name) : -1;
	rc = copyup_begin(c, src, &cu);
	if (rc)
		goto out_t;
	if (!(c->m->req.a.rename.flags & RENAME_EXCHANGE))
		t.fd = name_fd(np->fd, c->m->name2);
	else if (xsh_fs_exchange_applied(c))
		goto out_t;	/* a resent copy: the first one exchanged */
	rc = quota_begin(c, &t);
	if (rc) {
		xsh_quota_abort(&cu);
		goto out_t;
	}
	r.olddirfd = p->fd;
	r.newdirfd = np->fd;
	rc = do_rename(c, &r);
	if (rc) {
		xsh_quota_abort(&t);
	} else {
		u.dir_fd = np->fd;
		xsh_quota_commit(&t, &u);
	}
	xsh_quota_commit(&cu, NULL);
out_t:
	if (src >= 0)
		close(src);
	if (t.fd >= 0)
		close(t.fd);
	put_node(c, np);
out:
	put_node(c, p);
	return rc;
}

int xsh_fs_link(struct xsh_ctx *c)
{
	/* No new inode; the directory may grow by a block. */
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_NAME, .fd = -1,
				   .blocks = 1 };
	struct xsh_quota_used u = { .new_fd = -1, .fd = -1 };
	struct xsh_quota_txn cu;
	struct xsh_node *n, *np;
	uid_t uid;
	gid_t gid;
	int rc;

	rc = map_caller(c, &uid, &gid);
	if (rc)
		return rc;
	rc = get_node(c, c->m->req.nodeid, &n);
	if (rc)
		return rc;
	rc = get_dir_node(c, c->m->req.a.link.newparent, &np);
	if (rc)
		goto out;
	if (n->type == S_IFDIR) {
		rc = -EPERM;
		goto out_np;
	}
	/* A new name changes the inode's link count and ctime; linking a
	 * template's file copies it up. */
	rc = xsh_dedup_break(c, n);
	if (rc)
		goto out_np;
	rc = copyup_begin(c, n->fd, &cu);
	if (rc)
		goto out_np;
	rc = quota_begin(c, &t);
	if (rc) {
		xsh_quota_abort(&cu);
		goto out_np;
	}
	rc = as_creator(c, uid, gid);
	if (!rc) {
		rc = linkat(n->fd, "", np->fd, c->m->name, AT_EMPTY_PATH) ?
			     -errno : 0;
		xsh_creds_leave();
	}
	xsh_quota_commit(&cu, NULL);
	if (rc) {
		xsh_quota_abort(&t);
		goto out_np;
	}
	u.dir_fd = np->fd;
	xsh_quota_commit(&t, &u);
	rc = lookup_at(c, np->fd, c->m->name, &c->rsp->u.entry);
out_np:
	put_node(c, np);
out:
	put_node(c, n);
	return rc;
}

/* ---- files -------------------------------------------------------------- */

static int host_flags(uint32_t wire)
{
	return (int)(wire & (uint32_t)HOST_OPEN_FLAGS);
}

/* Only regular files and directories are ever opened. */
static int openable(uint32_t type)
{
	if (type == S_IFLNK)
		return -ELOOP;
	if (!is_reg_or_dir(type))
		return -EACCES;
	return 0;
}

/* May an open with these flags change the file? */
static bool changes(uint32_t flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static int reopen_node(struct xsh_ctx *c, struct xsh_node *n, int flags)
{
	int fd = xsh_fs_reopen_fd(c, n->fd, flags);

	if (fd == -EPERM && (flags & O_NOATIME))
		fd = xsh_fs_reopen_fd(c, n->fd, flags & ~O_NOATIME);
	return fd;
}

int xsh_fs_open(struct xsh_ctx *c)
{
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_CHANGE };
	bool trunc = false;
	struct xsh_node *n;
	int fd, rc;

	rc = get_node(c, c->m->req.nodeid, &n);
	if (rc)
		return rc;
	rc = openable(n->type);
	if (!rc && changes(c->m->req.a.open.flags))
		rc = xsh_dedup_break(c, n);
	if (rc)
		goto out;
	if ((c->m->req.a.open.flags & O_TRUNC) && n->type == S_IFREG) {
		t.fd = n->fd;
		rc = quota_begin(c, &t);
		if (rc)
			goto out;
		trunc = true;
	} else if ((c->m->req.a.open.flags & O_ACCMODE) != O_RDONLY &&
		   n->type == S_IFREG) {
		rc = copyup_begin(c, n->fd, &t);
		if (rc)
			goto out;
		trunc = true;
	}
	fd = as_caller(c);
	if (!fd) {
		fd = reopen_node(c, n, host_flags(c->m->req.a.open.flags));
		as_backend(c);
	}
	if (trunc)
		xsh_quota_commit(&t, NULL);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = xsh_handle_add(c->s->handles, fd, xsh_node_id(n), false,
			   limit(c->pol.max_handles), &c->rsp->u.fh);
out:
	put_node(c, n);
	return rc;
}

/* Open an existing name for CREATE without O_EXCL: only a regular file,
 * never a special file, never through a symlink.  -ENOENT if it went. */
static int open_existing(struct xsh_ctx *c, struct xsh_node *p, int flags)
{
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_CHANGE };
	bool trunc = false;
	struct stat st;
	char name[16];
	int pfd, fd, rc;

	pfd = name_fd_as_caller(c, p->fd, c->m->name);
	if (pfd < 0)
		return pfd;
	rc = stat_fd(pfd, &st);
	if (!rc) {
		if (S_ISDIR(st.st_mode))
			rc = -EISDIR;
		else if (S_ISLNK(st.st_mode))
			rc = -ELOOP;
		else if (!S_ISREG(st.st_mode))
			rc = -EACCES;
	}
	if (!rc && changes((uint32_t)flags)) {
		rc = xsh_dedup_break_at(c, p->fd, c->m->name, pfd);
		if (!rc) {
			/* The name may hold the private copy now. */
			close(pfd);
			pfd = name_fd(p->fd, c->m->name);
			if (pfd < 0)
				return -errno;
		}
	}
	if (rc) {
		close(pfd);
		return rc;
	}
	if (flags & O_TRUNC) {
		t.fd = pfd;
		trunc = !quota_begin(c, &t);
	} else if ((flags & O_ACCMODE) != O_RDONLY) {
		rc = copyup_begin(c, pfd, &t);
		if (rc) {
			close(pfd);
			return rc;
		}
		trunc = true;
	}
	proc_name(name, pfd);
	rc = as_caller(c);
	if (!rc) {
		fd = openat(c->s->exp->proc_fd, name, flags | O_CLOEXEC);
		if (fd < 0 && errno == EPERM && (flags & O_NOATIME))
			fd = openat(c->s->exp->proc_fd, name,
				    (flags & ~O_NOATIME) | O_CLOEXEC);
		rc = fd < 0 ? -errno : fd;
		as_backend(c);
	}
	if (trunc)
		xsh_quota_commit(&t, NULL);
	close(pfd);
	return rc;
}

int xsh_fs_create(struct xsh_ctx *c)
{
	const struct xsh_args_open *a = &c->m->req.a.open;
	struct xsh_rsp_entry *e = &c->rsp->u.entry;
	/* A new inode and the parent directory's growth. */
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_NAME, .fd = -1,
				   .blocks = 1, .inodes = 1 };
	uint32_t perm = a->mode & 07777 & ~a->umask;
	int flags = host_flags(a->flags) & ~O_DIRECTORY;
	struct xsh_node *p;
	int fd = -1, pathfd, rc, qrc, tries;
	bool created = false;
	uid_t uid;
	gid_t gid;

	rc = check_setid(c, perm, S_IFREG);
	if (rc)
		return rc;
	rc = map_caller(c, &uid, &gid);
	if (rc)
		return rc;
	rc = get_dir_node(c, c->m->req.nodeid, &p);
	if (rc)
		return rc;
	/* Without room, an existing file may still be opened. */
	qrc = quota_begin(c, &t);
	for (tries = 0; tries < 8 && fd < 0; tries++) {
		if (qrc) {
			rc = qrc;
			if (a->flags & O_EXCL)
				break;
			fd = open_existing(c, p, flags);
			rc = fd == -ENOENT ? qrc : fd < 0 ? fd : 0;
			break;
		}
		rc = as_creator(c, uid, gid);
		if (rc) {
			xsh_quota_abort(&t);
			goto out;
		}
		fd = openat(p->fd, c->m->name,
			    flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    perm);
		rc = fd < 0 ? -errno : 0;
		xsh_creds_leave();
		if (fd == -1 && rc == -EPERM && (flags & O_NOATIME)) {
			flags &= ~O_NOATIME;
			continue;
		}
		created = fd >= 0;
		if (fd >= 0 || rc != -EEXIST || (a->flags & O_EXCL))
			break;
		fd = open_existing(c, p, flags);
		rc = fd < 0 ? fd : 0;
		if (rc && rc != -ENOENT)
			break;
	}
	if (created) {
		struct xsh_quota_used u = { .dir_fd = p->fd, .new_fd = fd,
					    .created = true, .fd = -1 };

		xsh_quota_commit(&t, &u);
	} else if (!qrc) {
		xsh_quota_abort(&t);
	}
	if (fd < 0)
		goto out;

	pathfd = xsh_fs_reopen_fd(c, fd, O_PATH);
	if (pathfd < 0) {
		rc = pathfd;
		close(fd);
		goto out;
	}
	rc = entry_from_fd(c, pathfd, e);
	if (rc) {
		close(fd);
		goto out;
	}
	rc = xsh_handle_add(c->s->handles, fd, e->nodeid, false,
			   limit(c->pol.max_handles), &e->fh);
	if (rc) {
		xsh_node_forget(c->s->nodes, e->nodeid, 1);
		memset(e, 0, sizeof(*e));
	}
out:
	put_node(c, p);
	return rc;
}

int xsh_fs_read(struct xsh_ctx *c)
{
	const struct xsh_args_io *a = &c->m->req.a.io;
	struct xsh_handle *h;
	ssize_t r = 0;
	int rc;

	rc = get_file(c, &h);
	if (rc)
		return rc;
	if (a->size)
		r = pread(h->fd, c->m->out, a->size, (off_t)a->offset);
	if (r < 0)
		rc = -errno;
	else
		c->rsp->out_len = (uint32_t)r;
	put_handle(c, h);
	return rc;
}

/* A resent WRITE on an O_APPEND file goes to the offset the guest sent
 * (its end of file when it first sent it), so that a write the old backend
 * already applied is not appended twice: through a second descriptor
 * without O_APPEND (*tmp, closed by the caller).  Anything else: fd. */
static int resent_append_fd(struct xsh_ctx *c, int fd, int *tmp)
{
	int fl;

	if (!(c->m->req.flags & XSH_REQ_RESENT))
		return fd;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || !(fl & O_APPEND))
		return fd;
	*tmp = xsh_fs_reopen_fd(c, fd, O_WRONLY | (fl & (O_DSYNC | O_SYNC)));
	if (*tmp < 0) {
		*tmp = -1;
		return fd;
	}
	return *tmp;
}

int xsh_fs_write(struct xsh_ctx *c)
{
	const struct xsh_args_io *a = &c->m->req.a.io;
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_WRITE };
	struct xsh_handle *h;
	ssize_t r = 0;
	int rc, wfd = -1;

	rc = get_file(c, &h);
	if (rc)
		return rc;
	if (a->size) {
		t.fd = h->fd;
		t.off = a->offset;
		t.len = a->size;
		rc = quota_begin(c, &t);
		if (rc)
			goto out;
		r = pwrite(resent_append_fd(c, h->fd, &wfd), c->m->data, t.len,
			   (off_t)a->offset);
		if (r < 0)
			rc = -errno;
		if (wfd >= 0)
			close(wfd);
		xsh_quota_commit(&t, NULL);
	}
	if (!rc)
		c->rsp->u.count = (uint64_t)r;
out:
	put_handle(c, h);
	return rc;
}

int xsh_fs_flush(struct xsh_ctx *c)
{
	struct xsh_handle *h;
	int rc = get_file(c, &h);

	if (!rc)
		put_handle(c, h);
	return rc;
}

int xsh_fs_release(struct xsh_ctx *c)
{
	return xsh_handle_release(c->s->handles, c->m->req.fh, c->m->req.nodeid,
				 false);
}

static int do_fsync(struct xsh_ctx *c, bool dir)
{
	struct xsh_handle *h;
	int rc;

	rc = dir ? get_dir(c, &h) : get_file(c, &h);
	if (rc)
		return rc;
	if (c->m->req.a.fsync.datasync)
		rc = fdatasync(h->fd) ? -errno : 0;
	else
		rc = fsync(h->fd) ? -errno : 0;
	put_handle(c, h);
	return rc;
}

int xsh_fs_fsync(struct xsh_ctx *c)
{
	return do_fsync(c, false);
}

/* ---- directories -------------------------------------------------------- */

int xsh_fs_opendir(struct xsh_ctx *c)
{
	struct xsh_node *n;
	int fd, rc;

	rc = get_dir_node(c, c->m->req.nodeid, &n);
	if (rc)
		return rc;
	fd = as_caller(c);
	if (!fd) {
		fd = xsh_fs_reopen_fd(c, n->fd, O_RDONLY | O_DIRECTORY);
		as_backend(c);
	}
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = xsh_handle_add(c->s->handles, fd, xsh_node_id(n), true,
			   limit(c->pol.max_handles), &c->rsp->u.fh);
out:
	put_node(c, n);
	return rc;
}

static bool is_dot(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') ||
	       (len == 2 && name[0] == '.' && name[1] == '.');
}

static uint32_t rec_size(uint32_t hdr, size_t namelen)
{
	return (uint32_t)((hdr + namelen + 7) & ~(size_t)7);
}

/* Emit records from the stream until the output is full or the directory
 * ends.  ds.lock held.  Returns records written or -errno. */
static int fill_dir(struct xsh_ctx *c, struct xsh_handle *h, bool plus,
		    uint32_t cap, bool *full)
{
	struct xsh_dirstream *ds = &h->ds;
	struct xsh_rsp_entry e;
	struct dirent64 *d;
	uint32_t *len = &c->rsp->out_len;
	size_t namelen;
	ssize_t n;
	uint8_t handle[XSH_HANDLE_MAX];
	int count = 0, rc, hlen;

	for (;;) {
		if (ds->off >= ds->len) {
			n = getdents64(h->fd, ds->buf, DIRBUF_SIZE);
			if (n < 0)
				return count ? count : -errno;
			if (n == 0)
				return count;
			ds->len = (uint32_t)n;
			ds->off = 0;
		}
		d = (struct dirent64 *)(ds->buf + ds->off);
		if (ds->len - ds->off < offsetof(struct dirent64, d_name) ||
		    d->d_reclen <= offsetof(struct dirent64, d_name) ||
		    d->d_reclen > ds->len - ds->off) {
			ds->off = ds->len;
			continue;
		}
		namelen = strnlen(d->d_name,
				  d->d_reclen - offsetof(struct dirent64, d_name));
		if (namelen == 0 || namelen > XSH_NAME_MAX)
			goto next;

		if (!plus) {
			if (xsh_codec_put_dirent(c->m->out, cap, len, d->d_ino,
						(uint64_t)d->d_off, d->d_type,
						d->d_name, (uint16_t)namelen)) {
				*full = true;
				return count;
			}
		} else {
			/* Room for the longest handle, checked before the
			 * lookup is counted. */
			if (*len > cap ||
			    rec_size(sizeof(struct xsh_direntplus),
				     namelen + XSH_HANDLE_MAX) > cap - *len) {
				*full = true;
				return count;
			}
			memset(&e, 0, sizeof(e));
			hlen = 0;
			if (is_dot(d->d_name, namelen)) {
				e.attr.ino = d->d_ino;
			} else {
				rc = lookup_at(c, h->fd, d->d_name, &e);
				if (rc == -ENOENT)
					goto next;
				if (rc)
					return count ? count : rc;
				hlen = xsh_fs_node_handle(c, &e, h->nodeid,
							 d->d_name, namelen,
							 handle, sizeof(handle));
			}
			xsh_codec_put_direntplus_h(c->m->out, cap, len, &e,
						  (uint64_t)d->d_off, d->d_type,
						  d->d_name, (uint16_t)namelen,
						  handle, (uint32_t)hlen);
		}
		count++;
next:
		ds->pos = (uint64_t)d->d_off;
		ds->off += d->d_reclen;
	}
}

int xsh_fs_readdir(struct xsh_ctx *c)
{
	const struct xsh_args_io *a = &c->m->req.a.io;
	bool plus = xsh_op_flags(c->m->req.opcode) & XSH_OPF_DIRENTS_PLUS;
	struct xsh_dirstream *ds;
	struct xsh_handle *h;
	bool full = false;
	int rc;

	rc = get_dir(c, &h);
	if (rc)
		return rc;
	ds = &h->ds;
	pthread_mutex_lock(&ds->lock);
	if (!ds->buf) {
		ds->buf = malloc(DIRBUF_SIZE);
		if (!ds->buf) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (a->offset != ds->pos) {
		if (lseek(h->fd, (off_t)a->offset, SEEK_SET) < 0) {
			rc = -errno;
			goto out;
		}
		ds->pos = a->offset;
		ds->len = ds->off = 0;
	}
	rc = fill_dir(c, h, plus, a->size, &full);
	if (rc == 0 && full)
		rc = -EINVAL;	/* not even one record fits */
	if (rc > 0)
		rc = 0;
out:
	pthread_mutex_unlock(&ds->lock);
	put_handle(c, h);
	if (rc)
		c->rsp->out_len = 0;
	return rc;
}

int xsh_fs_releasedir(struct xsh_ctx *c)
{
	return xsh_handle_release(c->s->handles, c->m->req.fh, c->m->req.nodeid,
				 true);
}

int xsh_fs_fsyncdir(struct xsh_ctx *c)
{
	return do_fsync(c, true);
}

/* Under a quota the file system is as large as the quota and as full as
 * the usage, so that df in the guest tells the truth. */
static void statfs_quota(struct xsh_ctx *c, struct xsh_statfs *o)
{
	struct xsh_quota_usage u;
	uint64_t fr;

	xsh_quota_get(c->s->exp->quota, &u);
	if (u.quota_bytes) {
		if (!o->frsize)
			o->frsize = 4096;
		fr = o->frsize;
		o->blocks = u.quota_bytes / fr;
		o->bfree = u.usage_bytes < u.quota_bytes ?
				   (u.quota_bytes - u.usage_bytes) / fr : 0;
		o->bavail = o->bfree;
	} else if (c->s->exp->tpl) {
		/* A template device: used is its private data, free what
		 * the host has left. */
		fr = o->frsize ? o->frsize : 4096;
		o->bfree = o->bavail;
		o->blocks = u.usage_bytes / fr + o->bavail;
	}
	if (u.quota_inodes) {
		o->files = u.quota_inodes;
		o->ffree = u.usage_inodes < u.quota_inodes ?
				   u.quota_inodes - u.usage_inodes : 0;
		o->favail = o->ffree;
	} else if (c->s->exp->tpl) {
		o->ffree = o->favail;
		o->files = u.usage_inodes + o->favail;
	}
}

int xsh_fs_statfs(struct xsh_ctx *c)
{
	struct xsh_statfs *o = &c->rsp->u.statfs;
	struct xsh_node *n;
	struct statfs st;
	int rc;

	rc = get_node(c, c->m->req.nodeid, &n);
	if (rc)
		return rc;
	if (fstatfs(n->fd, &st)) {
		rc = -errno;
		goto out;
	}
	o->blocks = st.f_blocks;
	o->bfree = st.f_bfree;
	o->bavail = st.f_bavail;
	o->files = st.f_files;
	o->ffree = st.f_ffree;
	o->favail = st.f_ffree;
	o->bsize = (uint32_t)st.f_bsize;
	o->frsize = (uint32_t)(st.f_frsize ? st.f_frsize : st.f_bsize);
	o->namemax = st.f_namelen > (long)XSH_NAME_MAX ? XSH_NAME_MAX :
						       (uint32_t)st.f_namelen;
	if (xsh_policy_statfs_rdonly(&c->pol, st.f_flags & ST_RDONLY))
		o->flags |= XSH_STATFS_RDONLY;
	statfs_quota(c, o);
out:
	put_node(c, n);
	return rc;
}

/* ---- extended attributes ------------------------------------------------ */

static bool user_xattr(const char *name)
{
	return !strncmp(name, XATTR_USER, sizeof(XATTR_USER) - 1);
}

/* An fd on which f*xattr() may be called; only regular files and
 * directories.  -ENODATA / -EPERM style refusals are the caller's. */
static int xattr_fd(struct xsh_ctx *c, struct xsh_node *n)
{
	int fd = as_caller(c);

	if (fd)
		return fd;
	fd = xsh_fs_reopen_fd(c, n->fd,
			      n->type == S_IFDIR ? O_RDONLY | O_DIRECTORY :
						   O_RDONLY | O_NONBLOCK);
	as_backend(c);
	return fd;
}

int xsh_fs_setxattr(struct xsh_ctx *c)
{
	/* The value may need a block of its own. */
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_XATTR,
				   .len = c->m->data_len };
	struct xsh_quota_used u = { .dir_fd = -1, .new_fd = -1 };
	struct xsh_node *n;
	int fd, rc;

	if (!user_xattr(c->m->name))
		return -EOPNOTSUPP;
	rc = get_node(c, c->m->req.nodeid, &n);
	if (rc)
		return rc;
	if (!is_reg_or_dir(n->type)) {
		rc = -EPERM;
		goto out;
	}
	rc = xsh_dedup_break(c, n);
	if (rc)
		goto out;
	t.fd = copyup_fd(c, n->fd);
	rc = quota_begin(c, &t);
	if (rc)
		goto out;
	fd = xattr_fd(c, n);
	if (fd < 0) {
		xsh_quota_abort(&t);
		rc = fd;
		goto out;
	}
	rc = as_caller(c);
	if (!rc) {
		rc = fsetxattr(fd, c->m->name, c->m->data, c->m->data_len,
			       (int)c->m->req.a.xattr.flags) ? -errno : 0;
		as_backend(c);
	}
	u.fd = fd;
	xsh_quota_commit(&t, &u);
	close(fd);
out:
	put_node(c, n);
	return rc;
}

int xsh_fs_getxattr(struct xsh_ctx *c)
{
	uint32_t size = c->m->req.a.xattr.size;
	struct xsh_node *n;
	ssize_t r;
	int fd, rc;

	if (!user_xattr(c->m->name))
		return -EOPNOTSUPP;
	if (size > XSH_XATTR_SIZE_MAX)
		size = XSH_XATTR_SIZE_MAX;
	rc = get_node(c, c->m->req.nodeid, &n);
	if (rc)
		return rc;
	if (!is_reg_or_dir(n->type)) {
		rc = -ENODATA;
		goto out;
	}
	fd = xattr_fd(c, n);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	r = fgetxattr(fd, c->m->name, size ? c->m->out : NULL, size);
	if (r < 0)
		rc = -errno;
	else if (size)
		c->rsp->out_len = (uint32_t)r;
	else
		c->rsp->u.count = (uint64_t)r;
	close(fd);
out:
	put_node(c, n);
	return rc;
}

int xsh_fs_listxattr(struct xsh_ctx *c)
{
	uint32_t size = c->m->req.a.xattr.size, out = 0;
	struct xsh_node *n;
	char *list = NULL;
	ssize_t r, i;
	size_t l;
	int fd, rc;

	rc = get_node(c, c->m->req.nodeid, &n);
	if (rc)
		return rc;
	if (!is_reg_or_dir(n->type))
		goto reply;	/* no user.* names on other files */
	list = malloc(XATTR_LIST_SIZE);
	if (!list) {
		rc = -ENOMEM;
		goto out;
	}
	fd = xattr_fd(c, n);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	r = flistxattr(fd, list, XATTR_LIST_SIZE);
	rc = r < 0 ? -errno : 0;
	close(fd);
	if (rc)
		goto out;
	/* Keep the user.* names, compacted in place. */
	for (i = 0; i < r; i += (ssize_t)l + 1) {
		l = strnlen(list + i, (size_t)(r - i));
		if ((ssize_t)l == r - i)
			break;	/* unterminated tail */
		if (!user_xattr(list + i))
			continue;
		memmove(list + out, list + i, l + 1);
		out += (uint32_t)l + 1;
	}
reply:
	if (!size) {
		c->rsp->u.count = out;
	} else if (out > size) {
		rc = -ERANGE;
	} else {
		if (out)
			memcpy(c->m->out, list, out);
		c->rsp->out_len = out;
	}
out:
	free(list);
	put_node(c, n);
	return rc;
}

int xsh_fs_removexattr(struct xsh_ctx *c)
{
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_CHANGE };
	struct xsh_quota_used u = { .dir_fd = -1, .new_fd = -1 };
	struct xsh_node *n;
	int fd, rc;

	if (!user_xattr(c->m->name))
		return -EOPNOTSUPP;
	rc = get_node(c, c->m->req.nodeid, &n);
	if (rc)
		return rc;
	if (!is_reg_or_dir(n->type)) {
		rc = -EPERM;
		goto out;
	}
	rc = xsh_dedup_break(c, n);
	if (rc)
		goto out;
	fd = xattr_fd(c, n);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	t.fd = copyup_fd(c, n->fd);
	rc = quota_begin(c, &t);
	if (!rc) {
		rc = as_caller(c);
		if (!rc) {
			rc = fremovexattr(fd, c->m->name) ? -errno : 0;
			as_backend(c);
		}
		if (rc) {
			xsh_quota_abort(&t);
		} else {
			u.fd = fd;
			xsh_quota_commit(&t, &u);
		}
	}
	close(fd);
out:
	put_node(c, n);
	return rc;
}

/* ---- the rest ----------------------------------------------------------- */

int xsh_fs_access(struct xsh_ctx *c)
{
	struct xsh_node *n;
	char p[16];
	uid_t uid;
	gid_t gid;
	int rc;

	if (map_caller(c, &uid, &gid))
		return -EACCES;
	if (c->m->req.a.access.mask & W_OK) {
		rc = xsh_policy_check(&c->pol, XSH_RIGHT_WRITE);
		if (rc)
			return rc;
	}
	rc = get_node(c, c->m->req.nodeid, &n);
	if (rc)
		return rc;
	proc_name(p, n->fd);
	rc = xsh_creds_enter_strict(uid, gid);
	if (!rc) {
		rc = faccessat(c->s->exp->proc_fd, p, (int)c->m->req.a.access.mask,
			       AT_EACCESS) ? -errno : 0;
		xsh_creds_leave();
	}
	put_node(c, n);
	return rc;
}

int xsh_fs_fallocate(struct xsh_ctx *c)
{
	const struct xsh_args_fallocate *a = &c->m->req.a.fallocate;
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_RANGE };
	struct xsh_handle *h;
	int rc;

	rc = get_file(c, &h);
	if (rc)
		return rc;
	/* Everything but punching a hole may allocate the whole range. */
	t.fd = h->fd;
	t.off = a->offset;
	if (!(a->mode & FALLOC_FL_PUNCH_HOLE))
		t.len = a->length;
	rc = quota_begin(c, &t);
	if (!rc) {
		rc = fallocate(h->fd, (int)a->mode, (off_t)a->offset,
			       (off_t)a->length) ? -errno : 0;
		xsh_quota_commit(&t, NULL);
	}
	put_handle(c, h);
	return rc;
}

int xsh_fs_lseek(struct xsh_ctx *c)
{
	const struct xsh_args_lseek *a = &c->m->req.a.lseek;
	struct xsh_handle *h;
	off_t r;
	int rc;

	rc = get_file(c, &h);
	if (rc)
		return rc;
	r = lseek(h->fd, (off_t)a->offset, (int)a->whence);
	if (r < 0)
		rc = -errno;
	else
		c->rsp->u.offset = (uint64_t)r;
	put_handle(c, h);
	return rc;
}

int xsh_fs_copy_file_range(struct xsh_ctx *c)
{
	const struct xsh_args_copy *a = &c->m->req.a.copy;
	struct xsh_handle *in, *out;
	off_t off_in = (off_t)a->off_in, off_out = (off_t)a->off_out;
	uint64_t len = a->len > COPY_MAX ? COPY_MAX : a->len;
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_WRITE };
	ssize_t r;
	int rc;

	rc = get_file(c, &in);
	if (rc)
		return rc;
	rc = xsh_handle_get(c->s->handles, a->fh_out, a->nodeid_out, false,
			   &out);
	if (rc)
		goto out_in;
	if (len) {
		t.fd = out->fd;
		t.off = a->off_out;
		t.len = len;
		rc = quota_begin(c, &t);
		if (rc)
			goto out_out;
		len = t.len;
	}
	r = copy_file_range(in->fd, &off_in, out->fd, &off_out, (size_t)len,
			    0);
	if (r < 0)
		rc = -errno;
	else
		c->rsp->u.count = (uint64_t)r;
	if (len)
		xsh_quota_commit(&t, NULL);
out_out:
	put_handle(c, out);
out_in:
	put_handle(c, in);
	return rc;
}

/* CANCEL: the file service holds no request waiting, so it has none to
 * take back; the ring engine answers for the ones it queues
 * (backend/daemon/engine.c). */
int xsh_fs_cancel(struct xsh_ctx *c)
{
	return -ENOENT;
}

/* ---- for backend/service/reopen.c ---------------------------------------------- */

void xsh_fs_fill_attr(const struct xsh_ctx *c, const struct stat *st,
		     struct xsh_attr *a)
{
	fill_attr(c, st, a);
}

int xsh_fs_host_flags(uint32_t wire)
{
	return host_flags(wire);
}

int xsh_fs_reopen_node(struct xsh_ctx *c, struct xsh_node *n, int flags)
{
	return reopen_node(c, n, flags);
}
