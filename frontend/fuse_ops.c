// SPDX-License-Identifier: MIT
/*
 * The fuse_lowlevel_ops table: each FUSE request becomes one protocol
 * request (frontend/client.c), and the response becomes the FUSE reply.
 * FUSE inode numbers are the backend's node ids, unchanged; file handles
 * are the backend's handles, unchanged.
 *
 * Lookup counts: every reply that hands the kernel a node (lookup, mknod,
 * mkdir, symlink, link, create, readdirplus entries) carries one lookup
 * the backend counted.  When the kernel does not take it (the reply could
 * not be delivered, a readdirplus entry did not fit), it is given back at
 * once with FORGET, so the backend's counts stay equal to the
 * kernel's.
 *
 * Locks: none implemented (no getlk/setlk/flock): the guest kernel keeps
 * POSIX and flock locks itself, as for a local file system.
 *
 * Trust: the backend (dom0) is trusted to serve files, not to be correct:
 * directory records are copied out of shared memory and parsed by the
 * codec before use, and every length is bounded by what was asked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <syslog.h>

#include "lib/log.h"
#include "protocol/codec.h"
#include "protocol/transport.h"
#include "front.h"

/* The kernel's O_LARGEFILE, which 64-bit libc spells as 0. */
#define WIRE_O_LARGEFILE	0100000
#define OPEN_FLAGS_WIRE                                                      \
	(O_ACCMODE | O_APPEND | O_TRUNC | O_EXCL | O_NONBLOCK | O_DSYNC |    \
	 O_SYNC | O_DIRECT | O_NOATIME | O_DIRECTORY | O_NOFOLLOW |          \
	 O_CLOEXEC | WIRE_O_LARGEFILE)

/* struct fuse_entry_out + struct fuse_dirent: a readdirplus record of
 * the kernel ABI without its name. */
#define FUSE_DIRENTPLUS_BASE	152u

static struct xsh_front *front(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void call_init(struct xsh_call *call, fuse_req_t req, unsigned op,
		      fuse_ino_t ino)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	memset(call, 0, sizeof(*call));
	call->req.opcode = (uint16_t)op;
	call->req.nodeid = ino;
	call->req.uid = ctx->uid;
	call->req.gid = ctx->gid;
	call->req.pid = (uint32_t)ctx->pid;
}

static void call_name(struct xsh_call *call, const char *name)
{
	call->in = name;
	call->in_len = (uint32_t)strnlen(name, XSH_NAME_MAX + 1);
}

/* libfuse calls this when the kernel sends FUSE_INTERRUPT for req (the
 * calling process got a signal while it waited), under req's lock. */
static void on_interrupt(fuse_req_t req, void *data)
{
	xsh_client_interrupt(front(req)->client, data);
}

/* One request for req, interruptible (client.h says what an interrupt
 * does).  Unregistering takes req's lock, so a callback that runs is
 * done before c goes away. */
static int call(fuse_req_t req, struct xsh_call *c)
{
	int rc;

	fuse_req_interrupt_func(req, on_interrupt, c);
	rc = xsh_client_call(front(req)->client, c);
	fuse_req_interrupt_func(req, NULL, NULL);
	return rc;
}

/* For calls whose reply is only an errno. */
static void call_reply_err(fuse_req_t req, struct xsh_call *c)
{
	int rc = call(req, c);

	xsh_client_release(c);
	fuse_reply_err(req, -rc);
}

/* ---- conversions ------------------------------------------------------- */

static void attr_to_stat(const struct xsh_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	/* The wire's rdev is Linux's new_encode_dev(), which glibc's dev_t
	 * encoding equals for 32-bit values. */
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blksize = a->blksize;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_atim.tv_sec = a->atime;
	st->st_atim.tv_nsec = a->atime_nsec;
	st->st_mtim.tv_sec = a->mtime;
	st->st_mtim.tv_nsec = a->mtime_nsec;
	st->st_ctim.tv_sec = a->ctime;
	st->st_ctim.tv_nsec = a->ctime_nsec;
}

static void entry_param(const struct xsh_front *f, const struct xsh_rsp_entry *e,
			struct fuse_entry_param *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->ino = e->nodeid;
	ep->generation = e->generation;
	attr_to_stat(&e->attr, &ep->attr);
	ep->attr_timeout = f->timeout;
	ep->entry_timeout = f->timeout;
}

/* ---- giving lookups back ----------------------------------------------- */

struct forget_batch {
	unsigned n;
	struct xsh_forget_one v[XSH_FORGET_MAX];
};

static void forget_flush(struct xsh_front *f, struct forget_batch *b)
{
	struct xsh_call c;

	if (!b->n)
		return;
	memset(&c, 0, sizeof(c));
	c.req.opcode = XSH_OP_FORGET;
	c.in = b->v;
	c.in_len = b->n * (uint32_t)sizeof(b->v[0]);
	/* Nothing to tell anyone if this fails: the backend drops every
	 * count of a session that ends. */
	xsh_client_call(f->client, &c);
	xsh_client_release(&c);
	b->n = 0;
}

static void forget_add(struct xsh_front *f, struct forget_batch *b,
		       uint64_t nodeid, uint64_t nlookup)
{
	if (!nodeid || !nlookup)
		return;
	b->v[b->n].nodeid = nodeid;
	b->v[b->n].nlookup = nlookup;
	if (++b->n == XSH_FORGET_MAX)
		forget_flush(f, b);
}

static void forget_one(struct xsh_front *f, uint64_t nodeid)
{
	struct forget_batch b = { 0 };

	forget_add(f, &b, nodeid, 1);
	forget_flush(f, &b);
}

static void release_fh(struct xsh_front *f, unsigned op, uint64_t nodeid,
		       uint64_t fh)
{
	struct xsh_call c;

	memset(&c, 0, sizeof(c));
	c.req.opcode = (uint16_t)op;
	c.req.nodeid = nodeid;
	c.req.fh = fh;
	xsh_client_call(f->client, &c);
	xsh_client_release(&c);
}

/* Give back a file the kernel never got (its reply failed). */
static void release_file(struct xsh_front *f, uint64_t nodeid, uint64_t fh)
{
	release_fh(f, XSH_OP_RELEASE, nodeid, fh);
}

/* Reply with the node of a successful entry call; give the lookup back if
 * the kernel did not get it. */
static void reply_entry(fuse_req_t req, struct xsh_call *c)
{
	struct xsh_front *f = front(req);
	struct fuse_entry_param e;

	entry_param(f, &c->rsp.u.entry, &e);
	xsh_client_release(c);
	if (fuse_reply_entry(req, &e) && e.ino)
		forget_one(f, e.ino);
}

static void entry_call(fuse_req_t req, struct xsh_call *c)
{
	int rc = call(req, c);

	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_entry(req, c);
}

/* ---- session ----------------------------------------------------------- */

static void want_if_capable(struct fuse_conn_info *conn, unsigned cap)
{
	if (conn->capable & cap)
		conn->want |= cap;
}

static void xsh_init(void *userdata, struct fuse_conn_info *conn)
{
	struct xsh_front *f = userdata;

	conn->max_write = f->max_io;
	conn->max_readahead = XSH_FRONT_READAHEAD;
	want_if_capable(conn, FUSE_CAP_PARALLEL_DIROPS);
	want_if_capable(conn, FUSE_CAP_ASYNC_DIO);
	want_if_capable(conn, FUSE_CAP_ASYNC_READ);
	if (f->features & XSH_FEAT_READDIRPLUS)
		want_if_capable(conn, FUSE_CAP_READDIRPLUS);
	else
		conn->want &= ~(unsigned)(FUSE_CAP_READDIRPLUS |
					  FUSE_CAP_READDIRPLUS_AUTO);
	/* Data goes to the backend on every write: the host sees it at
	 * once and the guest never holds dirty pages the host lacks. */
	conn->want &= ~(unsigned)(FUSE_CAP_WRITEBACK_CACHE |
				  FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
				  FUSE_CAP_SPLICE_MOVE);
}

/* ---- nodes ------------------------------------------------------------- */

static void lookup_init(struct xsh_call *c, fuse_req_t req,
			fuse_ino_t parent, const char *name)
{
	call_init(c, req, XSH_OP_LOOKUP, parent);
	call_name(c, name);
}

static void xsh_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct xsh_call c;

	lookup_init(&c, req, parent, name);
	entry_call(req, &c);
}

static void xsh_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct xsh_front *f = front(req);
	struct forget_batch b = { 0 };

	fuse_reply_none(req);
	forget_add(f, &b, ino, nlookup);
	forget_flush(f, &b);
}

static void xsh_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct xsh_front *f = front(req);
	struct forget_batch *b = calloc(1, sizeof(*b));
	size_t i;

	fuse_reply_none(req);
	if (!b)
		return;
	for (i = 0; i < count; i++)
		forget_add(f, b, forgets[i].ino, forgets[i].nlookup);
	forget_flush(f, b);
	free(b);
}

static void xsh_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct xsh_call c;
	struct stat st;
	int rc;

	call_init(&c, req, XSH_OP_GETATTR, ino);
	rc = call(req, &c);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	attr_to_stat(&c.rsp.u.entry.attr, &st);
	xsh_client_release(&c);
	fuse_reply_attr(req, &st, front(req)->timeout);
}

static void xsh_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct xsh_call c;
	struct xsh_args_setattr *a = &c.req.a.setattr;
	struct stat st;
	int rc;

	call_init(&c, req, XSH_OP_SETATTR, ino);
	if (to_set & FUSE_SET_ATTR_MODE) {
		a->valid |= XSH_SETATTR_MODE;
		a->mode = attr->st_mode & 07777;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		a->valid |= XSH_SETATTR_UID;
		a->uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		a->valid |= XSH_SETATTR_GID;
		a->gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		a->valid |= XSH_SETATTR_SIZE;
		a->size = (uint64_t)attr->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
		a->valid |= XSH_SETATTR_ATIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_ATIME) {
		a->valid |= XSH_SETATTR_ATIME;
		a->atime = attr->st_atim.tv_sec;
		a->atime_nsec = (uint32_t)attr->st_atim.tv_nsec;
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		a->valid |= XSH_SETATTR_MTIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		a->valid |= XSH_SETATTR_MTIME;
		a->mtime = attr->st_mtim.tv_sec;
		a->mtime_nsec = (uint32_t)attr->st_mtim.tv_nsec;
	}
	if (to_set & FUSE_SET_ATTR_CTIME)
		a->valid |= XSH_SETATTR_CTIME;
#if defined(FUSE_SET_ATTR_KILL_SUID) && defined(FUSE_SET_ATTR_KILL_SGID)
	if (to_set & (FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID))
		a->valid |= XSH_SETATTR_KILL_SUIDGID;
#endif
	if (fi) {
		a->valid |= XSH_SETATTR_FH;
		c.req.fh = fi->fh;
	}
	rc = call(req, &c);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	attr_to_stat(&c.rsp.u.entry.attr, &st);
	xsh_client_release(&c);
	fuse_reply_attr(req, &st, front(req)->timeout);
}

static void xsh_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char target[XSH_PATH_MAX + 1];
	struct xsh_call c;
	int rc;

	call_init(&c, req, XSH_OP_READLINK, ino);
	c.out_cap = XSH_PATH_MAX;
	rc = call(req, &c);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	memcpy(target, c.out, c.rsp.out_len);
	target[c.rsp.out_len] = '\0';
	xsh_client_release(&c);
	fuse_reply_readlink(req, target);
}

static void xsh_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct xsh_call c;

	call_init(&c, req, XSH_OP_MKNOD, parent);
	call_name(&c, name);
	c.req.a.mknod.mode = mode;
	c.req.a.mknod.umask = fuse_req_ctx(req)->umask & 07777;
	c.req.a.mknod.rdev = (uint32_t)rdev;
	entry_call(req, &c);
}

static void xsh_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct xsh_call c;

	call_init(&c, req, XSH_OP_MKDIR, parent);
	call_name(&c, name);
	c.req.a.mknod.mode = S_IFDIR | (mode & 07777);
	c.req.a.mknod.umask = fuse_req_ctx(req)->umask & 07777;
	entry_call(req, &c);
}

static void xsh_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct xsh_call c;

	call_init(&c, req, XSH_OP_SYMLINK, parent);
	call_name(&c, name);
	c.in2 = link;
	c.in2_len = (uint32_t)strnlen(link, XSH_PATH_MAX + 1);
	c.req.a.symlink.name_len = c.in_len;
	entry_call(req, &c);
}

static void xsh_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct xsh_call c;

	call_init(&c, req, XSH_OP_UNLINK, parent);
	call_name(&c, name);
	call_reply_err(req, &c);
}

static void xsh_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct xsh_call c;

	call_init(&c, req, XSH_OP_RMDIR, parent);
	call_name(&c, name);
	call_reply_err(req, &c);
}

/* The node at parent/name, with one lookup the caller gives back; 0 when
 * there is none. */
static uint64_t lookup_node(fuse_req_t req, fuse_ino_t parent,
			    const char *name)
{
	struct xsh_call c;
	uint64_t id = 0;

	lookup_init(&c, req, parent, name);
	if (!call(req, &c))
		id = c.rsp.u.entry.nodeid;
	xsh_client_release(&c);
	return id;
}

static void xsh_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct xsh_front *f = front(req);
	struct forget_batch b = { 0 };
	struct xsh_call c;

	call_init(&c, req, XSH_OP_RENAME, parent);
	call_name(&c, name);
	c.in2 = newname;
	c.in2_len = (uint32_t)strnlen(newname, XSH_NAME_MAX + 1);
	c.req.a.rename.newparent = newparent;
	c.req.a.rename.name_len = c.in_len;
	c.req.a.rename.flags = flags;
	/* An exchange names the files it expects, held until the reply, so
	 * that a resent copy is not applied twice (protocol header). */
	if (flags & RENAME_EXCHANGE) {
		c.req.a.rename.node = lookup_node(req, parent, name);
		c.req.a.rename.newnode = lookup_node(req, newparent, newname);
	}
	call_reply_err(req, &c);
	forget_add(f, &b, c.req.a.rename.node, 1);
	forget_add(f, &b, c.req.a.rename.newnode, 1);
	forget_flush(f, &b);
}

static void xsh_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct xsh_call c;

	call_init(&c, req, XSH_OP_LINK, ino);
	call_name(&c, newname);
	c.req.a.link.newparent = newparent;
	entry_call(req, &c);
}

static void xsh_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct xsh_call c;

	call_init(&c, req, XSH_OP_ACCESS, ino);
	c.req.a.access.mask = (uint32_t)mask;
	call_reply_err(req, &c);
}

static void xsh_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct xsh_call c;
	struct statvfs sv;
	const struct xsh_statfs *s;
	int rc;

	call_init(&c, req, XSH_OP_STATFS, ino);
	rc = call(req, &c);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	s = &c.rsp.u.statfs;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = s->bsize;
	sv.f_frsize = s->frsize;
	sv.f_blocks = s->blocks;
	sv.f_bfree = s->bfree;
	sv.f_bavail = s->bavail;
	sv.f_files = s->files;
	sv.f_ffree = s->ffree;
	sv.f_favail = s->favail;
	sv.f_namemax = s->namemax;
	sv.f_flag = (s->flags & XSH_STATFS_RDONLY) ? ST_RDONLY : 0;
	xsh_client_release(&c);
	fuse_reply_statfs(req, &sv);
}

/* ---- files ------------------------------------------------------------- */

static void xsh_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct xsh_front *f = front(req);
	struct xsh_call c;
	int rc;

	call_init(&c, req, XSH_OP_OPEN, ino);
	c.req.a.open.flags = (uint32_t)fi->flags & OPEN_FLAGS_WIRE &
			     ~(uint32_t)O_EXCL;
	rc = call(req, &c);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = c.rsp.u.fh;
	xsh_client_release(&c);
	if (fuse_reply_open(req, fi))
		release_file(f, ino, fi->fh);
}

static void xsh_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct xsh_front *f = front(req);
	struct fuse_entry_param e;
	struct xsh_call c;
	int rc;

	call_init(&c, req, XSH_OP_CREATE, parent);
	call_name(&c, name);
	c.req.a.open.flags = ((uint32_t)fi->flags & OPEN_FLAGS_WIRE) | O_CREAT;
	c.req.a.open.mode = S_IFREG | (mode & 07777);
	c.req.a.open.umask = fuse_req_ctx(req)->umask & 07777;
	rc = call(req, &c);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	entry_param(f, &c.rsp.u.entry, &e);
	fi->fh = c.rsp.u.entry.fh;
	xsh_client_release(&c);
	if (fuse_reply_create(req, &e, fi)) {
		release_file(f, e.ino, fi->fh);
		forget_one(f, e.ino);
	}
}

static void xsh_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct xsh_front *f = front(req);
	struct xsh_call c;
	int rc;

	if (size > f->max_io)
		size = f->max_io;
	call_init(&c, req, XSH_OP_READ, ino);
	c.req.fh = fi->fh;
	c.req.a.io.offset = (uint64_t)off;
	c.req.a.io.size = (uint32_t)size;
	c.out_cap = (uint32_t)size;
	rc = call(req, &c);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	/* Straight from the shared buffer to the kernel. */
	fuse_reply_buf(req, c.out, c.rsp.out_len);
	xsh_client_release(&c);
}

static void xsh_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct xsh_front *f = front(req);
	struct xsh_call c;
	uint64_t count;
	int rc;

	if (size > f->max_io) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	call_init(&c, req, XSH_OP_WRITE, ino);
	c.req.fh = fi->fh;
	c.req.a.io.offset = (uint64_t)off;
	c.req.a.io.size = (uint32_t)size;
	c.in = buf;
	c.in_len = (uint32_t)size;
	rc = call(req, &c);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	count = c.rsp.u.count;
	xsh_client_release(&c);
	if (count > size) {
		fuse_reply_err(req, EIO);
		return;
	}
	fuse_reply_write(req, (size_t)count);
}

static void fh_call(fuse_req_t req, unsigned op, fuse_ino_t ino,
		    struct fuse_file_info *fi)
{
	struct xsh_call c;

	call_init(&c, req, op, ino);
	c.req.fh = fi->fh;
	call_reply_err(req, &c);
}

static void xsh_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fh_call(req, XSH_OP_FLUSH, ino, fi);
}

static void xsh_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	fh_call(req, XSH_OP_RELEASE, ino, fi);
}

static void fsync_call(fuse_req_t req, unsigned op, fuse_ino_t ino,
		       int datasync, struct fuse_file_info *fi)
{
	struct xsh_call c;

	call_init(&c, req, op, ino);
	c.req.fh = fi->fh;
	c.req.a.fsync.datasync = datasync ? 1 : 0;
	call_reply_err(req, &c);
}

static void xsh_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	fsync_call(req, XSH_OP_FSYNC, ino, datasync, fi);
}

static void xsh_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			 off_t offset, off_t length, struct fuse_file_info *fi)
{
	struct xsh_call c;

	call_init(&c, req, XSH_OP_FALLOCATE, ino);
	c.req.fh = fi->fh;
	c.req.a.fallocate.offset = (uint64_t)offset;
	c.req.a.fallocate.length = (uint64_t)length;
	c.req.a.fallocate.mode = (uint32_t)mode;
	call_reply_err(req, &c);
}

static void xsh_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct xsh_call c;
	uint64_t res;
	int rc;

	call_init(&c, req, XSH_OP_LSEEK, ino);
	c.req.fh = fi->fh;
	c.req.a.lseek.offset = (uint64_t)off;
	c.req.a.lseek.whence = (uint32_t)whence;
	rc = call(req, &c);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	res = c.rsp.u.offset;
	xsh_client_release(&c);
	if (res > INT64_MAX) {
		fuse_reply_err(req, EIO);
		return;
	}
	fuse_reply_lseek(req, (off_t)res);
}

static void xsh_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
			       off_t off_in, struct fuse_file_info *fi_in,
			       fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len,
			       int flags)
{
	struct xsh_call c;
	uint64_t count;
	int rc;

	if (!(front(req)->features & XSH_FEAT_COPY_FILE_RANGE)) {
		/* The kernel falls back to reading and writing. */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (len > XSH_FRONT_COPY_MAX)
		len = XSH_FRONT_COPY_MAX;
	call_init(&c, req, XSH_OP_COPY_FILE_RANGE, ino_in);
	c.req.fh = fi_in->fh;
	c.req.a.copy.off_in = (uint64_t)off_in;
	c.req.a.copy.nodeid_out = ino_out;
	c.req.a.copy.fh_out = fi_out->fh;
	c.req.a.copy.off_out = (uint64_t)off_out;
	c.req.a.copy.len = len;
	c.req.a.copy.flags = (uint32_t)flags;
	rc = call(req, &c);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	count = c.rsp.u.count;
	xsh_client_release(&c);
	if (count > len) {
		fuse_reply_err(req, EIO);
		return;
	}
	fuse_reply_write(req, (size_t)count);
}

/* ---- directories ------------------------------------------------------- */

static void xsh_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct xsh_front *f = front(req);
	struct xsh_call c;
	int rc;

	call_init(&c, req, XSH_OP_OPENDIR, ino);
	c.req.a.open.flags = (uint32_t)fi->flags & OPEN_FLAGS_WIRE &
			     ~(uint32_t)(O_EXCL | O_TRUNC | O_APPEND);
	rc = call(req, &c);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = c.rsp.u.fh;
	xsh_client_release(&c);
	if (fuse_reply_open(req, fi))
		release_fh(f, XSH_OP_RELEASEDIR, ino, fi->fh);
}

static bool is_dot(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..");
}

/* Fetch one batch of directory records into private memory. */
static int fetch_dir(fuse_req_t req, unsigned op, fuse_ino_t ino,
		     uint64_t fh, off_t off, uint32_t cap, void **buf,
		     uint32_t *len)
{
	struct xsh_call c;
	int rc;

	call_init(&c, req, op, ino);
	c.req.fh = fh;
	c.req.a.io.offset = (uint64_t)off;
	c.req.a.io.size = cap;
	c.out_cap = cap;
	rc = call(req, &c);
	if (rc)
		return rc;
	*len = c.rsp.out_len;
	/* malloc gives the 8-byte alignment the records need. */
	*buf = malloc(*len ? *len : 1);
	if (*buf)
		memcpy(*buf, c.out, *len);
	xsh_client_release(&c);
	return *buf ? 0 : -ENOMEM;
}

static void xsh_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct xsh_front *f = front(req);
	const struct xsh_dirent *d;
	const char *name;
	char nm[XSH_NAME_MAX + 1];
	uint32_t len, pos = 0;
	size_t used = 0, ent;
	void *recs = NULL;
	char *kbuf = NULL;
	struct stat st;
	int rc;

	if (size > f->max_io)
		size = f->max_io;
	/* Our records are exactly as large as the kernel's. */
	rc = fetch_dir(req, XSH_OP_READDIR, ino, fi->fh, off, (uint32_t)size,
		       &recs, &len);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	kbuf = malloc(size ? size : 1);
	if (!kbuf) {
		rc = -ENOMEM;
		goto out;
	}
	while ((rc = xsh_codec_next_dirent(recs, len, pos, &d, &name)) > 0) {
		pos += (uint32_t)rc;
		if (d->namelen > XSH_NAME_MAX) {
			rc = -EPROTO;
			break;
		}
		memcpy(nm, name, d->namelen);
		nm[d->namelen] = '\0';
		memset(&st, 0, sizeof(st));
		st.st_ino = d->ino;
		st.st_mode = (mode_t)d->type << 12;
		ent = fuse_add_direntry(req, kbuf + used, size - used, nm, &st,
					(off_t)d->off);
		if (ent > size - used)
			break;
		used += ent;
	}
	if (rc < 0) {
		xsh_log(LOG_ERR, "malformed directory records from the "
			     "backend");
		rc = -EIO;
		goto out;
	}
	rc = 0;
	if (!used && len)
		rc = -EINVAL;
out:
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, kbuf, used);
	free(kbuf);
	free(recs);
}

static void xsh_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	struct xsh_front *f = front(req);
	const struct xsh_direntplus *d;
	struct fuse_entry_param e;
	struct forget_batch *fb;
	const char *name;
	char nm[XSH_NAME_MAX + 1];
	uint32_t len, cap, pos = 0;
	uint64_t *added = NULL;
	size_t used = 0, ent, nadded = 0, i;
	void *recs = NULL;
	char *kbuf = NULL;
	bool full = false;
	int rc, n;

	if (size > f->max_io)
		size = f->max_io;
	/* Ask for no more records than the kernel's buffer holds: ours are
	 * 16 bytes smaller each, so this fraction of size always fits. */
	cap = (uint32_t)((uint64_t)size * sizeof(struct xsh_direntplus) /
			 FUSE_DIRENTPLUS_BASE);
	fb = calloc(1, sizeof(*fb));
	if (!fb) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = fetch_dir(req, XSH_OP_READDIRPLUS, ino, fi->fh, off, cap, &recs,
		       &len);
	if (rc) {
		free(fb);
		fuse_reply_err(req, -rc);
		return;
	}
	kbuf = malloc(size ? size : 1);
	added = calloc(len / sizeof(struct xsh_direntplus) + 1, sizeof(*added));
	if (!kbuf || !added) {
		rc = -ENOMEM;
		goto drop_rest;
	}
	while ((rc = xsh_codec_next_direntplus(recs, len, pos, &d, &name)) > 0) {
		uint64_t nodeid = d->entry.nodeid;

		pos += (uint32_t)rc;
		if (d->dirent.namelen > XSH_NAME_MAX) {
			rc = -EPROTO;
			forget_add(f, fb, nodeid, 1);
			break;
		}
		if (full) {
			forget_add(f, fb, nodeid, 1);
			continue;
		}
		memcpy(nm, name, d->dirent.namelen);
		nm[d->dirent.namelen] = '\0';
		entry_param(f, &d->entry, &e);
		if (!nodeid || is_dot(nm)) {
			/* No node for the kernel: only name, ino and type. */
			forget_add(f, fb, nodeid, 1);
			memset(&e, 0, sizeof(e));
			e.attr.st_ino = d->dirent.ino;
			e.attr.st_mode = (mode_t)d->dirent.type << 12;
			nodeid = 0;
		}
		ent = fuse_add_direntry_plus(req, kbuf + used, size - used, nm,
					     &e, (off_t)d->dirent.off);
		if (ent > size - used) {
			full = true;
			forget_add(f, fb, nodeid, 1);
			continue;
		}
		used += ent;
		if (nodeid)
			added[nadded++] = nodeid;
	}
	if (rc < 0) {
		xsh_log(LOG_ERR, "malformed directory records from the "
			     "backend");
		rc = -EIO;
		goto drop_rest;
	}
	if (!used && len) {
		rc = -EINVAL;
		goto drop_rest;
	}
	if (fuse_reply_buf(req, kbuf, used))
		for (i = 0; i < nadded; i++)
			forget_add(f, fb, added[i], 1);
	goto out;

drop_rest:
	/* The kernel gets none of these: give back every lookup. */
	for (i = 0; i < nadded; i++)
		forget_add(f, fb, added[i], 1);
	while ((n = xsh_codec_next_direntplus(recs, len, pos, &d, &name)) > 0) {
		pos += (uint32_t)n;
		forget_add(f, fb, d->entry.nodeid, 1);
	}
	fuse_reply_err(req, -rc);
out:
	forget_flush(f, fb);
	free(fb);
	free(added);
	free(kbuf);
	free(recs);
}

static void xsh_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	fh_call(req, XSH_OP_RELEASEDIR, ino, fi);
}

static void xsh_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	fsync_call(req, XSH_OP_FSYNCDIR, ino, datasync, fi);
}

/* ---- extended attributes ----------------------------------------------- */

static void xsh_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct xsh_call c;

	if (size > XSH_XATTR_SIZE_MAX) {
		fuse_reply_err(req, E2BIG);
		return;
	}
	call_init(&c, req, XSH_OP_SETXATTR, ino);
	c.in = name;
	c.in_len = (uint32_t)strnlen(name, XSH_XATTR_NAME_MAX + 1);
	c.in2 = value;
	c.in2_len = (uint32_t)size;
	c.req.a.xattr.name_len = c.in_len;
	c.req.a.xattr.flags = (uint32_t)flags;
	call_reply_err(req, &c);
}

/* GETXATTR and LISTXATTR: size 0 asks for the size only.  Replies, and
 * returns the backend's answer. */
static int xattr_get(fuse_req_t req, struct xsh_call *c, size_t size)
{
	int rc;

	if (size > XSH_XATTR_SIZE_MAX)
		size = XSH_XATTR_SIZE_MAX;
	c->req.a.xattr.size = (uint32_t)size;
	c->out_cap = (uint32_t)size;
	rc = call(req, c);
	if (rc) {
		fuse_reply_err(req, -rc);
		return rc;
	}
	if (size == 0) {
		uint64_t count = c->rsp.u.count;

		xsh_client_release(c);
		if (count > XSH_XATTR_SIZE_MAX) {
			fuse_reply_err(req, E2BIG);
			return 0;
		}
		fuse_reply_xattr(req, (size_t)count);
		return 0;
	}
	fuse_reply_buf(req, c->out, c->rsp.out_len);
	xsh_client_release(c);
	return 0;
}

/* The kernel asks for security.capability before every write; once the
 * backend has said one of these namespaces is not supported, later gets
 * in it are answered here.  ("user." is left alone: its support can
 * differ between host file systems under one export.) */
static unsigned xattr_ns_bit(const char *name)
{
	static const char *const ns[] = { "security.", "system.",
					   "trusted." };
	unsigned i;

	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		if (!strncmp(name, ns[i], strlen(ns[i])))
			return 1u << i;
	return 0;
}

static void xsh_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct xsh_front *f = front(req);
	unsigned bit = xattr_ns_bit(name);
	struct xsh_call c;
	int rc;

	if (__atomic_load_n(&f->xattr_ns_off, __ATOMIC_RELAXED) & bit) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	call_init(&c, req, XSH_OP_GETXATTR, ino);
	c.in = name;
	c.in_len = (uint32_t)strnlen(name, XSH_XATTR_NAME_MAX + 1);
	rc = xattr_get(req, &c, size);
	if (rc == -EOPNOTSUPP)
		__atomic_fetch_or(&f->xattr_ns_off, bit, __ATOMIC_RELAXED);
}

static void xsh_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct xsh_call c;

	call_init(&c, req, XSH_OP_LISTXATTR, ino);
	xattr_get(req, &c, size);
}

static void xsh_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct xsh_call c;

	call_init(&c, req, XSH_OP_REMOVEXATTR, ino);
	c.in = name;
	c.in_len = (uint32_t)strnlen(name, XSH_XATTR_NAME_MAX + 1);
	call_reply_err(req, &c);
}

const struct fuse_lowlevel_ops xsh_front_ops = {
	.init = xsh_init,
	.lookup = xsh_lookup,
	.forget = xsh_forget,
	.forget_multi = xsh_forget_multi,
	.getattr = xsh_getattr,
	.setattr = xsh_setattr,
	.readlink = xsh_readlink,
	.mknod = xsh_mknod,
	.mkdir = xsh_mkdir,
	.unlink = xsh_unlink,
	.rmdir = xsh_rmdir,
	.symlink = xsh_symlink,
	.rename = xsh_rename,
	.link = xsh_link,
	.open = xsh_open,
	.read = xsh_read,
	.write = xsh_write,
	.flush = xsh_flush,
	.release = xsh_release,
	.fsync = xsh_fsync,
	.opendir = xsh_opendir,
	.readdir = xsh_readdir,
	.releasedir = xsh_releasedir,
	.fsyncdir = xsh_fsyncdir,
	.statfs = xsh_statfs,
	.setxattr = xsh_setxattr,
	.getxattr = xsh_getxattr,
	.listxattr = xsh_listxattr,
	.removexattr = xsh_removexattr,
	.access = xsh_access,
	.create = xsh_create,
	.fallocate = xsh_fallocate,
	.readdirplus = xsh_readdirplus,
	.copy_file_range = xsh_copy_file_range,
	.lseek = xsh_lseek,
};
