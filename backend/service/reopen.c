// SPDX-License-Identifier: MIT
/*
 * Carrying a guest's session across a backend restart (protocol header,
 * "Persistent node handles"; docs/backend.md, "Restarts"):
 *
 *   - xsh_fs_put_handle(): the persistent handle in replies that count a
 *     lookup, and xsh_fs_node_handle() for READDIRPLUS records;
 *   - xsh_fs_reopen(): REOPEN, a node or an open file put back at
 *     exactly the id the guest holds;
 *   - xsh_fs_resend_fixup(): the answer to a resent request that a first
 *     execution before the restart would have changed (the resend column
 *     of protocol/ops.h says which case an opcode is);
 *   - xsh_fs_exchange_applied(): a resent RENAME_EXCHANGE the first
 *     execution already applied, which succeeds again and so needs its
 *     check before it runs.
 *
 * Trust: a handle comes from the guest and is used only after its
 * signature under the export's key matched (backend/service/phandle.c): that is
 * what keeps open_by_handle_at(), which checks no path, to files this
 * export's backend handed out.  Wanted ids are checked against the
 * session's limits by the tables.  Everything else was validated by the
 * codec.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "phandle.h"
#include "service_internal.h"

static uint32_t limit(uint32_t v)
{
	return v ? v : UINT32_MAX;
}

/* ---- handles in replies ------------------------------------------------- */

/* How the export's files are found again after a restart. */
enum recovery { NO_RECOVERY, BY_HANDLE, BY_NAME };

/* The identity handles are signed with, the export root's key (for the
 * root's mount id and device), and how files are found again. */
static enum recovery root_of(struct xsh_ctx *c, struct xsh_phandle_root *r,
			     struct xsh_nkey *rk)
{
	int mnt = xsh_nodes_root_mnt(c->s->nodes);
	uint64_t ino, fs_type;
	uint8_t b[8];

	if (xsh_node_key(c->s->nodes, XSH_ROOT_NODEID, rk))
		return NO_RECOVERY;
	if (xsh_nodes_name_root(c->s->nodes, &ino, &fs_type) == 0) {
		xsh_put_le64(b, ino);
		return xsh_phandle_root((uint32_t)fs_type, b, sizeof(b), r) ?
		       NO_RECOVERY : BY_NAME;
	}
	if (mnt < 0 || rk->kind != XSH_NKEY_HANDLE || rk->mnt_id != mnt ||
	    xsh_phandle_root(rk->htype, rk->h, rk->hlen, r))
		return NO_RECOVERY;
	return BY_HANDLE;
}

int xsh_fs_node_handle(struct xsh_ctx *c, const struct xsh_rsp_entry *e,
		      uint64_t parent, const char *name, uint32_t name_len,
		      void *out, uint32_t cap)
{
	struct xsh_phandle_root root;
	struct xsh_nkey rk, k, pk;
	struct xsh_phandle p;
	int rc;

	memset(&p, 0, sizeof(p));
	switch (root_of(c, &root, &rk)) {
	case BY_HANDLE:
		/* Files on other mounts under the export get none: a new
		 * session knows no mount but the root's. */
		if (xsh_node_key(c->s->nodes, e->nodeid, &k) ||
		    k.kind != XSH_NKEY_HANDLE || k.mnt_id != rk.mnt_id ||
		    !k.hlen || k.hlen > XSH_PHANDLE_HMAX)
			return 0;
		p.htype = k.htype;
		p.hlen = k.hlen;
		memcpy(p.h, k.h, k.hlen);
		break;
	case BY_NAME:
		/* Where it was found: its directory's inode and its name,
		 * on the root's device only. */
		if (xsh_node_key(c->s->nodes, e->nodeid, &k) ||
		    xsh_node_key(c->s->nodes, parent, &pk) ||
		    k.kind != XSH_NKEY_INODE || pk.kind != XSH_NKEY_INODE ||
		    k.dev != rk.dev || pk.dev != rk.dev || !name ||
		    !name_len || name_len > XSH_PHANDLE_NAME_MAX)
			return 0;
		p.version = XSH_PHANDLE_VERSION_NAME;
		p.htype = e->attr.mode & S_IFMT;
		p.hlen = XSH_PHANDLE_NAME_OFF + name_len;
		xsh_put_le64(p.h, k.ino);
		xsh_put_le64(p.h + 8, pk.ino);
		memcpy(p.h + XSH_PHANDLE_NAME_OFF, name, name_len);
		break;
	default:
		return 0;
	}
	rc = xsh_phandle_make(c->s->exp->handle_key, &root, &p, out, cap);
	return rc > 0 ? rc : 0;
}

void xsh_fs_put_handle(struct xsh_ctx *c)
{
	const struct xsh_req *r = &c->m->req;
	uint8_t b[XSH_HANDLE_MAX];
	int len;

	c->rsp->out_len = 0;
	len = xsh_fs_node_handle(c, &c->rsp->u.entry,
				 r->opcode == XSH_OP_LINK ? r->a.link.newparent :
							    r->nodeid,
				 c->m->name, c->m->name_len, b, sizeof(b));
	if (len > 0 && (uint32_t)len <= c->m->out_cap) {
		memcpy(c->m->out, b, (size_t)len);
		c->rsp->out_len = (uint32_t)len;
	}
}

const char *xsh_export_recovery_limit(struct xsh_export *e)
{
	const char *why;

	return xsh_nodes_recovery(e->root_fd, &why) ? NULL : why;
}

/* ---- REOPEN --------------------------------------------------------------- */

/* A dedup link (dedup.h) reopened by handle may be a file this export
 * replaced by a private copy before the restart, or reached through
 * another export's name: unless its name here checks out, the node is
 * dropped and the guest told ESTALE, so that it looks the name up again
 * and finds its own copy. */
static int reopen_dedup_check(struct xsh_ctx *c, uint64_t id, uint64_t nlookup)
{
	struct xsh_node *n;
	int rc;

	if (xsh_node_get(c->s->nodes, id, &n))
		return 0;
	rc = xsh_dedup_check_name(c, n);
	xsh_node_put(c->s->nodes, n);
	if (rc == -ESTALE)
		xsh_node_forget(c->s->nodes, id, nlookup);
	return rc == -ESTALE ? rc : 0;
}

/* Restore a node from a version 2 (by name) handle p, signed by us. */
static int restore_by_name(struct xsh_ctx *c, const struct xsh_phandle *p,
			   struct stat *st)
{
	const struct xsh_args_reopen *a = &c->m->req.a.reopen;
	struct xsh_npath path;
	uint32_t len;

	if (p->hlen <= XSH_PHANDLE_NAME_OFF || !p->htype ||
	    (p->htype & ~(uint32_t)S_IFMT))
		return -ESTALE;
	len = p->hlen - XSH_PHANDLE_NAME_OFF;
	memset(&path, 0, sizeof(path));
	path.parent_ino = xsh_load_le64(p->h + 8);
	path.name_len = len;
	memcpy(path.name, p->h + XSH_PHANDLE_NAME_OFF, len);
	return xsh_node_restore_name(c->s->nodes, &path, p->htype,
				     xsh_load_le64(p->h), a->id, a->nlookup,
				     limit(c->pol.max_nodes), st);
}

static int reopen_node(struct xsh_ctx *c)
{
	const struct xsh_args_reopen *a = &c->m->req.a.reopen;
	struct xsh_rsp_entry *e = &c->rsp->u.entry;
	struct xsh_phandle_root root;
	struct xsh_phandle p;
	struct xsh_nkey k, rk;
	enum recovery how;
	struct stat st;
	int rc;

	how = root_of(c, &root, &rk);
	rc = how == NO_RECOVERY ? -ESTALE :
	     xsh_phandle_parse(c->s->exp->handle_key, &root, c->m->data,
			      c->m->data_len, &p);
	if (!rc && how == BY_NAME) {
		rc = p.version == XSH_PHANDLE_VERSION_NAME ?
		     restore_by_name(c, &p, &st) : -ESTALE;
	} else if (!rc) {
		memset(&k, 0, sizeof(k));
		k.kind = XSH_NKEY_HANDLE;
		k.mnt_id = rk.mnt_id;
		k.htype = p.htype;
		k.hlen = p.hlen;
		memcpy(k.h, p.h, p.hlen);
		rc = p.version == XSH_PHANDLE_VERSION ?
		     xsh_node_restore(c->s->nodes, &k, a->id, a->nlookup,
				      limit(c->pol.max_nodes), &st) : -ESTALE;
	}
	if (!rc)
		rc = reopen_dedup_check(c, a->id, a->nlookup);
	if (rc) {
		if (rc != -EINVAL && rc != -EEXIST)
			xsh_node_retire(c->s->nodes, a->id,
				       limit(c->pol.max_nodes));
		return rc;
	}
	memset(e, 0, sizeof(*e));
	e->nodeid = a->id;
	e->generation = (uint32_t)(a->id >> 32);
	xsh_fs_fill_attr(c, &st, &e->attr);
	return 0;
}

static int reopen_handle(struct xsh_ctx *c)
{
	const struct xsh_args_reopen *a = &c->m->req.a.reopen;
	struct xsh_rsp_entry *e = &c->rsp->u.entry;
	bool dir = a->kind == XSH_REOPEN_DIR;
	struct xsh_node *n = NULL;
	struct stat st;
	int flags, fd, rc;

	rc = xsh_node_get(c->s->nodes, c->m->req.nodeid, &n);
	if (rc)
		goto fail;
	if (dir) {
		flags = O_RDONLY | O_DIRECTORY;
		rc = n->type == S_IFDIR ? 0 : -ENOTDIR;
	} else {
		flags = xsh_fs_host_flags(a->flags) & ~(O_TRUNC | O_DIRECTORY);
		rc = n->type == S_IFREG ? 0 :
		     n->type == S_IFDIR ? -EISDIR : -EACCES;
		if (!rc)
			rc = xsh_policy_check(&c->pol,
					      xsh_policy_open_right(flags));
	}
	if (rc)
		goto fail;
	fd = xsh_fs_reopen_node(c, n, flags);
	if (fd < 0) {
		rc = fd;
		goto fail;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		close(fd);
		goto fail;
	}
	rc = xsh_handle_restore(c->s->handles, fd, xsh_node_id(n), dir, a->id,
			       limit(c->pol.max_handles));
	if (rc)
		goto fail;
	memset(e, 0, sizeof(*e));
	e->nodeid = xsh_node_id(n);
	e->generation = n->gen;
	e->fh = a->id;
	xsh_fs_fill_attr(c, &st, &e->attr);
	xsh_node_put(c->s->nodes, n);
	return 0;

fail:
	if (rc != -EINVAL && rc != -EEXIST)
		xsh_handle_retire(c->s->handles, a->id,
				 limit(c->pol.max_handles));
	xsh_node_put(c->s->nodes, n);
	return rc;
}

int xsh_fs_reopen(struct xsh_ctx *c)
{
	if (c->m->req.a.reopen.kind == XSH_REOPEN_NODE)
		return reopen_node(c);
	return reopen_handle(c);
}

/* ---- resent requests ----------------------------------------------------- */

/* The name under the parent dir node looks like what a first execution of
 * this request made: type, owner (the caller's mapped id, or ours when we
 * cannot take the caller's), for SYMLINK the target, for CREATE empty. */
static bool made_by_us(struct xsh_ctx *c, uint64_t parent, const char *name,
		       uint32_t type)
{
	struct xsh_node *p;
	struct stat st;
	char target[XSH_PATH_MAX + 1];
	uint32_t uid;
	ssize_t len;
	bool ok;

	if (xsh_node_get(c->s->nodes, parent, &p))
		return false;
	ok = !fstatat(p->fd, name, &st, AT_SYMLINK_NOFOLLOW) &&
	     (st.st_mode & S_IFMT) == type;
	if (ok && !xsh_policy_uid_in(&c->pol, c->m->req.uid, &uid))
		ok = st.st_uid == uid || st.st_uid == geteuid();
	if (ok && type == S_IFLNK) {
		len = readlinkat(p->fd, name, target, sizeof(target));
		ok = len >= 0 && (uint32_t)len == c->m->name2_len &&
		     !memcmp(target, c->m->name2, (size_t)len);
	}
	if (ok && xsh_op_desc(c->m->req.opcode)->resend == XSH_RESEND_MADE_FILE)
		ok = st.st_size == 0;
	xsh_node_put(c->s->nodes, p);
	return ok;
}

/* Same file at node id and at parent/name. */
static bool same_file(struct xsh_ctx *c, uint64_t id, uint64_t parent,
		      const char *name)
{
	struct xsh_node *n, *p;
	struct stat a, b;
	bool same = false;

	if (xsh_node_get(c->s->nodes, id, &n))
		return false;
	if (!xsh_node_get(c->s->nodes, parent, &p)) {
		same = !fstatat(n->fd, "", &a, AT_EMPTY_PATH |
				AT_SYMLINK_NOFOLLOW) &&
		       !fstatat(p->fd, name, &b, AT_SYMLINK_NOFOLLOW) &&
		       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
		xsh_node_put(c->s->nodes, p);
	}
	xsh_node_put(c->s->nodes, n);
	return same;
}

static bool name_exists(struct xsh_ctx *c, uint64_t parent, const char *name)
{
	struct xsh_node *p;
	struct stat st;
	bool ok;

	if (xsh_node_get(c->s->nodes, parent, &p))
		return false;
	ok = !fstatat(p->fd, name, &st, AT_SYMLINK_NOFOLLOW);
	xsh_node_put(c->s->nodes, p);
	return ok;
}

/* The value of SETXATTR is already there. */
static bool xattr_is(struct xsh_ctx *c)
{
	char buf[XSH_XATTR_SIZE_MAX];
	struct xsh_node *n;
	ssize_t len = -1;
	int fd;

	if (xsh_node_get(c->s->nodes, c->m->req.nodeid, &n))
		return false;
	fd = xsh_fs_reopen_node(c, n, n->type == S_IFDIR ?
			       O_RDONLY | O_DIRECTORY : O_RDONLY | O_NONBLOCK);
	if (fd >= 0) {
		len = fgetxattr(fd, c->m->name, buf, sizeof(buf));
		close(fd);
	}
	xsh_node_put(c->s->nodes, n);
	return len >= 0 && (uint32_t)len == c->m->data_len &&
	       !memcmp(buf, c->m->data, (size_t)len);
}

/* Run handler fn on a copy of the request at node id nodeid, as opcode
 * (0: the same) with open flags open_flags. */
static int run_as(struct xsh_ctx *c, uint16_t opcode, uint64_t nodeid,
		  uint32_t open_flags, xsh_op_fn fn)
{
	struct xsh_msg m = *c->m;
	struct xsh_ctx c2 = *c;

	if (opcode)
		m.req.opcode = opcode;
	else
		m.req.a.open.flags = open_flags;
	m.req.nodeid = nodeid;
	c2.m = &m;
	xsh_codec_rsp_init(c->rsp, &c->m->req);
	return fn(&c2);
}

/* The entry of parent/name, which the first copy made. */
static int lookup(struct xsh_ctx *c, uint64_t parent)
{
	return run_as(c, XSH_OP_LOOKUP, parent, 0, xsh_fs_lookup);
}

/* The answer of a request that had been applied: success, nothing else. */
static int done(struct xsh_ctx *c)
{
	xsh_codec_rsp_init(c->rsp, &c->m->req);
	return 0;
}

bool xsh_fs_exchange_applied(struct xsh_ctx *c)
{
	const struct xsh_req *r = &c->m->req;

	return (r->flags & XSH_REQ_RESENT) &&
	       (r->a.rename.flags & RENAME_EXCHANGE) && r->a.rename.node &&
	       r->a.rename.newnode &&
	       same_file(c, r->a.rename.newnode, r->nodeid, c->m->name) &&
	       same_file(c, r->a.rename.node, r->a.rename.newparent,
			 c->m->name2);
}

int xsh_fs_resend_fixup(struct xsh_ctx *c, int rc)
{
	const struct xsh_req *r = &c->m->req;
	const struct xsh_op_desc *d = xsh_op_desc(r->opcode);

	switch (d ? d->resend : XSH_RESEND_NONE) {
	case XSH_RESEND_MADE_DIR:
		if (rc == -EEXIST && made_by_us(c, r->nodeid, c->m->name,
						S_IFDIR))
			return lookup(c, r->nodeid);
		break;
	case XSH_RESEND_MADE_NODE:
		if (rc == -EEXIST && made_by_us(c, r->nodeid, c->m->name,
						r->a.mknod.mode & S_IFMT))
			return lookup(c, r->nodeid);
		break;
	case XSH_RESEND_MADE_LINK:
		if (rc == -EEXIST && made_by_us(c, r->nodeid, c->m->name,
						S_IFLNK))
			return lookup(c, r->nodeid);
		break;
	case XSH_RESEND_MADE_FILE:
		if (rc == -EEXIST && (r->a.open.flags & O_EXCL) &&
		    made_by_us(c, r->nodeid, c->m->name, S_IFREG))
			return run_as(c, 0, r->nodeid,
				      r->a.open.flags & ~(uint32_t)O_EXCL,
				      xsh_fs_create);
		break;
	case XSH_RESEND_GONE:
		if (rc == -ENOENT)
			return done(c);
		break;
	case XSH_RESEND_MOVED:
		if (rc == -ENOENT &&
		    name_exists(c, r->a.rename.newparent, c->m->name2))
			return done(c);
		break;
	case XSH_RESEND_LINKED:
		if (rc == -EEXIST &&
		    same_file(c, r->nodeid, r->a.link.newparent, c->m->name))
			return lookup(c, r->a.link.newparent);
		break;
	case XSH_RESEND_XATTR_SET:
		if (rc == -EEXIST && (r->a.xattr.flags & XATTR_CREATE) &&
		    xattr_is(c))
			return done(c);
		break;
	case XSH_RESEND_XATTR_GONE:
		if (rc == -ENODATA)
			return done(c);
		break;
	default:
		break;
	}
	return rc;
}
