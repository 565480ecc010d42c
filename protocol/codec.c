// SPDX-License-Identifier: MIT
/*
 * Request decoding and validation, response and directory-record encoding.
 *
 * Trust: everything in struct xsh_req and in the data area comes from the
 * frontend.  The slot arrives as a private copy; the input bytes are copied
 * out of the data area here, exactly once, and every check below runs on
 * the private copies.  The data area is written (never read) through
 * msg->out by the backend afterwards.
 *
 * No I/O, no allocation: this file is the fuzz target.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"

/* Linux uapi values, spelled out where libc hides them (O_LARGEFILE is 0
 * in 64-bit userspace, but the kernel sets it in every FUSE open) or
 * where the codec should not depend on kernel headers. */
#define WIRE_O_LARGEFILE	0100000u
#define WIRE_FALLOC_KEEP_SIZE	0x01u
#define WIRE_FALLOC_PUNCH_HOLE	0x02u
#define WIRE_FALLOC_ZERO_RANGE	0x10u
#define WIRE_RENAME_NOREPLACE	1u
#define WIRE_RENAME_EXCHANGE	2u
#define WIRE_XATTR_CREATE	1u
#define WIRE_XATTR_REPLACE	2u
#define WIRE_SEEK_DATA		3u
#define WIRE_SEEK_HOLE		4u

#define OFF_MAX ((uint64_t)INT64_MAX)

#define OPEN_FLAGS_ALLOWED                                                   \
	((uint32_t)(O_ACCMODE | O_APPEND | O_TRUNC | O_EXCL | O_CREAT |      \
		    O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT | O_NOATIME |   \
		    O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) |    \
	 WIRE_O_LARGEFILE)

/* One path component: 1..XSH_NAME_MAX bytes, no '/', no NUL, not "." or
 * "..".  s points into the private copy. */
static int check_name(const char *s, uint32_t len)
{
	if (len == 0)
		return -EINVAL;
	if (len > XSH_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(s, '\0', len) || memchr(s, '/', len))
		return -EINVAL;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return -EINVAL;
	return 0;
}

/* Extended attribute names: the errno Linux gives for bad ones. */
static int check_xname(const char *s, uint32_t len)
{
	if (len == 0 || len > XSH_XATTR_NAME_MAX)
		return -ERANGE;
	if (memchr(s, '\0', len))
		return -ERANGE;
	return 0;
}

static int check_target(const char *s, uint32_t len)
{
	if (len == 0)
		return -EINVAL;
	if (len > XSH_PATH_MAX)
		return -ENAMETOOLONG;
	if (memchr(s, '\0', len))
		return -EINVAL;
	return 0;
}

static int check_open_flags(uint32_t flags, int create)
{
	if (flags & ~OPEN_FLAGS_ALLOWED)
		return -EINVAL;
	if ((flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	if (!create && (flags & O_CREAT))
		return -EINVAL;
	return 0;
}

static int check_perm_mode(uint32_t mode, uint32_t type_allowed)
{
	uint32_t type = mode & S_IFMT;

	if (mode & ~(uint32_t)(S_IFMT | 07777))
		return -EINVAL;
	if (type && type != type_allowed)
		return -EINVAL;
	return 0;
}

static int check_mknod(const struct xsh_args_mknod *a)
{
	if (a->mode & ~(uint32_t)(S_IFMT | 07777))
		return -EINVAL;
	if (a->umask & ~07777u)
		return -EINVAL;
	switch (a->mode & S_IFMT) {
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR:
	case S_IFBLK:
		return 0;
	default:
		return -EINVAL;
	}
}

static int check_setattr(const struct xsh_args_setattr *a)
{
	if (a->valid & ~XSH_SETATTR_ALL)
		return -EINVAL;
	if ((a->valid & XSH_SETATTR_MODE) && (a->mode & ~07777u))
		return -EINVAL;
	if ((a->valid & XSH_SETATTR_SIZE) && a->size > OFF_MAX)
		return -EINVAL;
	if ((a->valid & XSH_SETATTR_ATIME) && a->atime_nsec >= 1000000000u)
		return -EINVAL;
	if ((a->valid & XSH_SETATTR_MTIME) && a->mtime_nsec >= 1000000000u)
		return -EINVAL;
	return 0;
}

static int check_fallocate(const struct xsh_args_fallocate *a)
{
	switch (a->mode) {
	case 0:
	case WIRE_FALLOC_KEEP_SIZE:
	case WIRE_FALLOC_PUNCH_HOLE | WIRE_FALLOC_KEEP_SIZE:
	case WIRE_FALLOC_ZERO_RANGE:
	case WIRE_FALLOC_ZERO_RANGE | WIRE_FALLOC_KEEP_SIZE:
		break;
	default:
		return -EINVAL;
	}
	if (a->offset > OFF_MAX || a->length > OFF_MAX)
		return -EINVAL;
	return 0;
}

/* Ids are (generation << 32 | index) with index 0 never used. */
static int check_reopen(const struct xsh_req *r)
{
	const struct xsh_args_reopen *a = &r->a.reopen;

	if (r->in_len > XSH_HANDLE_MAX || (uint32_t)a->id == 0)
		return -EINVAL;
	switch (a->kind) {
	case XSH_REOPEN_NODE:
		if (a->id == XSH_ROOT_NODEID || a->nlookup == 0 || a->flags)
			return -EINVAL;
		return 0;
	case XSH_REOPEN_FILE:
	case XSH_REOPEN_DIR:
		if (r->in_len || a->nlookup)
			return -EINVAL;
		return check_open_flags(a->flags, 1);
	default:
		return -EINVAL;
	}
}

/* Argument checks that need no input bytes. */
static int check_args(const struct xsh_req *r)
{
	const struct xsh_args_io *io = &r->a.io;

	switch (r->opcode) {
	case XSH_OP_SETATTR:
		return check_setattr(&r->a.setattr);
	case XSH_OP_MKNOD:
		return check_mknod(&r->a.mknod);
	case XSH_OP_MKDIR:
		if (r->a.mknod.umask & ~07777u)
			return -EINVAL;
		return check_perm_mode(r->a.mknod.mode, S_IFDIR);
	case XSH_OP_RENAME:
		if (r->a.rename.flags & ~(WIRE_RENAME_NOREPLACE |
					  WIRE_RENAME_EXCHANGE))
			return -EINVAL;
		if (r->a.rename.flags == (WIRE_RENAME_NOREPLACE |
					  WIRE_RENAME_EXCHANGE))
			return -EINVAL;
		/* Expected nodes belong to an exchange only. */
		if (!(r->a.rename.flags & WIRE_RENAME_EXCHANGE) &&
		    (r->a.rename.node || r->a.rename.newnode))
			return -EINVAL;
		return 0;
	case XSH_OP_OPEN:
	case XSH_OP_OPENDIR:
		return check_open_flags(r->a.open.flags, 0);
	case XSH_OP_CREATE:
		if (r->a.open.umask & ~07777u)
			return -EINVAL;
		if (check_perm_mode(r->a.open.mode, S_IFREG))
			return -EINVAL;
		return check_open_flags(r->a.open.flags, 1);
	case XSH_OP_READ:
		if (io->offset > OFF_MAX)
			return -EINVAL;
		/* fall through */
	case XSH_OP_READDIR:
	case XSH_OP_READDIRPLUS:
		if (io->size > XSH_MAX_IO || io->size > r->buf_len)
			return -EINVAL;
		return 0;
	case XSH_OP_WRITE:
		if (io->size > XSH_MAX_IO || r->in_len != io->size)
			return -EINVAL;
		if (io->offset > OFF_MAX)
			return -EINVAL;
		return 0;
	case XSH_OP_SETXATTR:
		if (r->a.xattr.flags & ~(WIRE_XATTR_CREATE | WIRE_XATTR_REPLACE))
			return -EINVAL;
		return 0;
	case XSH_OP_GETXATTR:
	case XSH_OP_LISTXATTR:
		if (r->a.xattr.size > r->buf_len)
			return -EINVAL;
		return 0;
	case XSH_OP_ACCESS:
		if (r->a.access.mask & ~7u)
			return -EINVAL;
		return 0;
	case XSH_OP_FALLOCATE:
		return check_fallocate(&r->a.fallocate);
	case XSH_OP_LSEEK:
		if (r->a.lseek.whence != WIRE_SEEK_DATA &&
		    r->a.lseek.whence != WIRE_SEEK_HOLE)
			return -EINVAL;
		if (r->a.lseek.offset > OFF_MAX)
			return -EINVAL;
		return 0;
	case XSH_OP_COPY_FILE_RANGE:
		if (r->a.copy.flags)
			return -EINVAL;
		if (r->a.copy.off_in > OFF_MAX || r->a.copy.off_out > OFF_MAX)
			return -EINVAL;
		return 0;
	case XSH_OP_FORGET:
		if (r->in_len == 0 || r->in_len % sizeof(struct xsh_forget_one) ||
		    r->in_len / sizeof(struct xsh_forget_one) > XSH_FORGET_MAX)
			return -EINVAL;
		return 0;
	case XSH_OP_REOPEN:
		return check_reopen(r);
	default:
		return 0;
	}
}

/* Where the first part of a two-part input ends. */
static uint32_t split_len(const struct xsh_req *r, enum xsh_op_in in)
{
	switch (in) {
	case XSH_IN_NAME_TARGET:
		return r->a.symlink.name_len;
	case XSH_IN_NAME_NAME:
		return r->a.rename.name_len;
	default:
		return r->a.xattr.name_len;
	}
}

/* Check both parts of a two-part input already in msg. */
static int check_two(const struct xsh_msg *m, enum xsh_op_in in)
{
	int rc;

	switch (in) {
	case XSH_IN_NAME_TARGET:
		rc = check_name(m->name, m->name_len);
		return rc ? rc : check_target(m->name2, m->name2_len);
	case XSH_IN_NAME_NAME:
		rc = check_name(m->name, m->name_len);
		return rc ? rc : check_name(m->name2, m->name2_len);
	default:	/* XSH_IN_XNAME_VALUE */
		rc = check_xname(m->name, m->name_len);
		if (rc)
			return rc;
		return m->data_len > XSH_XATTR_SIZE_MAX ? -E2BIG : 0;
	}
}

int xsh_codec_decode(const struct xsh_req *raw, void *data, size_t data_bytes,
		    uint8_t *scratch, struct xsh_msg *msg)
{
	const struct xsh_op_desc *d;
	const struct xsh_req *r;
	uint32_t n1;
	int rc;

	memset(msg, 0, sizeof(*msg));
	memcpy(&msg->req, raw, sizeof(msg->req));
	msg->scratch = scratch;
	r = &msg->req;

	/* Ring protocol: the buffer must lie inside the data area. */
	if (r->buf_len > XSH_MAX_BUF || r->in_len > r->buf_len)
		return XSH_CODEC_FATAL;
	if ((uint64_t)r->buf_off + r->buf_len > (uint64_t)data_bytes)
		return XSH_CODEC_FATAL;
	if (r->buf_len && !data)
		return XSH_CODEC_FATAL;

	d = xsh_op_desc(r->opcode);
	if (!d)
		return -ENOSYS;

	if (r->buf_len) {
		msg->out = (uint8_t *)data + r->buf_off;
		msg->out_cap = r->buf_len;
	}

	rc = check_args(r);
	if (rc)
		return rc;

	/* The one read of the input bytes. */
	if (r->in_len)
		memcpy(scratch, (const uint8_t *)data + r->buf_off, r->in_len);

	switch (d->in) {
	case XSH_IN_NONE:
		return r->in_len ? -EINVAL : 0;
	case XSH_IN_NAME:
		scratch[r->in_len] = '\0';
		msg->name = (const char *)scratch;
		msg->name_len = r->in_len;
		return check_name(msg->name, msg->name_len);
	case XSH_IN_XNAME:
		scratch[r->in_len] = '\0';
		msg->name = (const char *)scratch;
		msg->name_len = r->in_len;
		return check_xname(msg->name, msg->name_len);
	case XSH_IN_DATA:
		msg->data = scratch;
		msg->data_len = r->in_len;
		return 0;
	case XSH_IN_NAME_TARGET:
	case XSH_IN_NAME_NAME:
	case XSH_IN_XNAME_VALUE:
		n1 = split_len(r, d->in);
		if (n1 > r->in_len)
			return -EINVAL;
		/* name NUL second-part NUL */
		memmove(scratch + n1 + 1, scratch + n1, r->in_len - n1);
		scratch[n1] = '\0';
		scratch[r->in_len + 1] = '\0';
		msg->name = (const char *)scratch;
		msg->name_len = n1;
		if (d->in == XSH_IN_XNAME_VALUE) {
			msg->data = scratch + n1 + 1;
			msg->data_len = r->in_len - n1;
		} else {
			msg->name2 = (const char *)scratch + n1 + 1;
			msg->name2_len = r->in_len - n1;
		}
		return check_two(msg, d->in);
	}
	return -EINVAL;
}

void xsh_codec_rsp_init(struct xsh_rsp *rsp, const struct xsh_req *req)
{
	memset(rsp, 0, sizeof(*rsp));
	rsp->id = req->id;
}

int xsh_codec_check_rsp(const struct xsh_req *req, const struct xsh_rsp *rsp)
{
	if (rsp->id != req->id)
		return -EPROTO;
	if (rsp->error < 0 || rsp->error > 4095)
		return -EPROTO;
	if (rsp->out_len > req->buf_len)
		return -EPROTO;
	return 0;
}

/* ---- directory records ----------------------------------------------- */

static uint32_t pad8(uint32_t n)
{
	return (n + 7u) & ~7u;
}

static int put_record(void *buf, uint32_t cap, uint32_t *len,
		      const void *hdr, uint32_t hdr_len,
		      const char *name, uint16_t namelen,
		      const void *tail, uint32_t tail_len)
{
	uint32_t used = hdr_len + namelen + tail_len;
	uint32_t rec = pad8(used);
	uint8_t *p;

	if (*len > cap || rec > cap - *len)
		return -ENOSPC;
	p = (uint8_t *)buf + *len;
	memcpy(p, hdr, hdr_len);
	memcpy(p + hdr_len, name, namelen);
	if (tail_len)
		memcpy(p + hdr_len + namelen, tail, tail_len);
	memset(p + used, 0, rec - used);
	*len += rec;
	return 0;
}

int xsh_codec_put_dirent(void *buf, uint32_t cap, uint32_t *len,
			uint64_t ino, uint64_t off, uint8_t type,
			const char *name, uint16_t namelen)
{
	struct xsh_dirent d;

	memset(&d, 0, sizeof(d));
	d.ino = ino;
	d.off = off;
	d.namelen = namelen;
	d.type = type;
	return put_record(buf, cap, len, &d, sizeof(d), name, namelen, NULL, 0);
}

int xsh_codec_put_direntplus_h(void *buf, uint32_t cap, uint32_t *len,
			      const struct xsh_rsp_entry *e, uint64_t off,
			      uint8_t type, const char *name, uint16_t namelen,
			      const void *handle, uint32_t handle_len)
{
	struct xsh_direntplus d;

	if (handle_len > XSH_HANDLE_MAX)
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	d.entry = *e;
	d.dirent.ino = e->attr.ino;
	d.dirent.off = off;
	d.dirent.namelen = namelen;
	d.dirent.type = type;
	d.dirent.handle_len = (uint8_t)handle_len;
	return put_record(buf, cap, len, &d, sizeof(d), name, namelen, handle,
			  handle_len);
}

int xsh_codec_put_direntplus(void *buf, uint32_t cap, uint32_t *len,
			    const struct xsh_rsp_entry *e, uint64_t off,
			    uint8_t type, const char *name, uint16_t namelen)
{
	return xsh_codec_put_direntplus_h(buf, cap, len, e, off, type, name,
					 namelen, NULL, 0);
}

/* A record at pos: header of hdr_len whose dirent sits at dirent_off. */
static int next_record(const void *buf, uint32_t len, uint32_t pos,
		       uint32_t hdr_len, uint32_t dirent_off, bool plus,
		       const void **rec, const char **name)
{
	const uint8_t *p;
	struct xsh_dirent d;
	uint32_t reclen;

	if (pos == len)
		return 0;
	if (pos > len || pos % 8)
		return -EPROTO;
	if (len - pos < hdr_len)
		return -EPROTO;
	p = (const uint8_t *)buf + pos;
	memcpy(&d, p + dirent_off, sizeof(d));
	if (d.namelen == 0 || d.namelen > XSH_NAME_MAX)
		return -EPROTO;
	if (d.handle_len > (plus ? XSH_HANDLE_MAX : 0))
		return -EPROTO;
	reclen = pad8(hdr_len + d.namelen + d.handle_len);
	if (reclen > len - pos)
		return -EPROTO;
	if (memchr(p + hdr_len, '\0', d.namelen) ||
	    memchr(p + hdr_len, '/', d.namelen))
		return -EPROTO;
	*rec = p;
	*name = (const char *)p + hdr_len;
	return (int)reclen;
}

int xsh_codec_next_dirent(const void *buf, uint32_t len, uint32_t pos,
			 const struct xsh_dirent **d, const char **name)
{
	const void *rec = NULL;
	int rc;

	rc = next_record(buf, len, pos, sizeof(struct xsh_dirent), 0, false,
			 &rec, name);
	if (rc > 0)
		*d = rec;
	return rc;
}

int xsh_codec_next_direntplus(const void *buf, uint32_t len, uint32_t pos,
			     const struct xsh_direntplus **d,
			     const char **name)
{
	const void *rec = NULL;
	int rc;

	rc = next_record(buf, len, pos, sizeof(struct xsh_direntplus),
			 offsetof(struct xsh_direntplus, dirent), true, &rec,
			 name);
	if (rc > 0)
		*d = rec;
	return rc;
}

int xsh_codec_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *c;

	if (!s || !*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*c - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}
