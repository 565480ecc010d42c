/* SPDX-License-Identifier: MIT */
/*
 * The opcode table: one row per opcode says everything the code needs to
 * know about it apart from its handler.  xenshare_proto.h builds enum
 * xsh_op from it, so the numbers here are the wire ABI; every other place
 * reads the columns through xsh_op_desc() (protocol/ops.c).
 *
 * Trust: none needed; constants only.  xsh_op_desc() checks its argument,
 * which may come from the guest.
 *
 * Columns of X(name, number, in, right, inl, resend, flags):
 *   name    XSH_OP_<name>; xsh_op_name() prints it
 *   number  the opcode on the wire; never change or reuse one
 *   in      layout of the input bytes (enum xsh_op_in)
 *   right   what the export must allow (enum xsh_op_right; decided by
 *           backend/service/policy.c before the handler runs)
 *   inl     whether a ring thread may serve it itself (enum xsh_op_inline)
 *   resend  what an error on an XSH_REQ_RESENT copy means (enum
 *           xsh_op_resend, backend/service/reopen.c)
 *   flags   XSH_OPF_*: reply carries an entry; what the frontend's restore
 *           bookkeeping records
 * Per-opcode arguments and input, in the comment after each row.
 *
 * Adding an opcode: one row here with the next free number, one handler
 * (backend/service/fs.c, in dispatch.c's handler table; argument checks in
 * codec.c's check_args() if it has arguments), the frontend call, and one
 * test (tests/unit/test_service.c, plus a codec case if it has input).
 */
#ifndef XSH_OPS_H
#define XSH_OPS_H

#include <stdint.h>

/* How the input bytes are laid out; two parts split at the name_len of
 * the op's arguments. */
enum xsh_op_in {
	XSH_IN_NONE,		/* in_len must be 0 */
	XSH_IN_NAME,		/* one file name */
	XSH_IN_XNAME,		/* one xattr name */
	XSH_IN_DATA,		/* raw bytes, checked by the op */
	XSH_IN_NAME_TARGET,	/* name, then symlink target */
	XSH_IN_NAME_NAME,	/* name, then new name */
	XSH_IN_XNAME_VALUE,	/* xattr name, then value */
};

enum xsh_op_right {
	XSH_RIGHT_READ,
	XSH_RIGHT_WRITE,
	XSH_RIGHT_OPEN_MODE,	/* WRITE if it opens for writing or truncates */
};

/* Which requests a ring thread may serve itself (backend/daemon/engine.c). */
enum xsh_op_inline {
	XSH_INLINE_NEVER,
	XSH_INLINE_ALWAYS,
	XSH_INLINE_NO_TRUNCATE,	/* unless it sets the size */
	XSH_INLINE_SMALL_IO,	/* if a.io.size is small */
};

/* What an error on a resent request may mean: the first copy was applied. */
enum xsh_op_resend {
	XSH_RESEND_NONE,	/* idempotent, or nothing to tell */
	XSH_RESEND_MADE_DIR,	/* EEXIST: our directory; answer a lookup */
	XSH_RESEND_MADE_NODE,	/* EEXIST: a node of a.mknod's type we made */
	XSH_RESEND_MADE_LINK,	/* EEXIST: our symlink, same target */
	XSH_RESEND_MADE_FILE,	/* EEXIST, O_EXCL: our empty file; open it */
	XSH_RESEND_GONE,	/* ENOENT: removed */
	XSH_RESEND_MOVED,	/* ENOENT: the new name exists */
	XSH_RESEND_LINKED,	/* EEXIST: the new name is the same file */
	XSH_RESEND_XATTR_SET,	/* EEXIST with XATTR_CREATE: same value */
	XSH_RESEND_XATTR_GONE,	/* ENODATA: removed */
};

#define XSH_OPF_ENTRY		(1u << 0)	/* reply: entry and handle */
#define XSH_OPF_OPENS		(1u << 1)	/* reply: a file handle */
#define XSH_OPF_OPENS_DIR	(1u << 2)	/* reply: a directory handle */
#define XSH_OPF_DIRENTS_PLUS	(1u << 3)	/* reply: direntplus records */
#define XSH_OPF_FORGETS		(1u << 4)	/* in: xsh_forget_one[] */
#define XSH_OPF_RELEASES	(1u << 5)	/* drops fh, nobody waits */

#define XSH_OPS(X)							\
	/* nodeid=parent, in: name */					\
	X(LOOKUP, 1, XSH_IN_NAME, XSH_RIGHT_READ, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_NONE, XSH_OPF_ENTRY)				\
	/* in: struct xsh_forget_one[], no nodeid */			\
	X(FORGET, 2, XSH_IN_DATA, XSH_RIGHT_READ, XSH_INLINE_NEVER,	\
	  XSH_RESEND_NONE, XSH_OPF_FORGETS)				\
	/* nodeid */							\
	X(GETATTR, 3, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_NONE, 0)						\
	/* nodeid, fh if XSH_SETATTR_FH, a.setattr */			\
	X(SETATTR, 4, XSH_IN_NONE, XSH_RIGHT_WRITE,			\
	  XSH_INLINE_NO_TRUNCATE, XSH_RESEND_NONE, 0)			\
	/* nodeid, out: target */					\
	X(READLINK, 5, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_NONE, 0)						\
	/* nodeid=parent, in: name then target */			\
	X(SYMLINK, 6, XSH_IN_NAME_TARGET, XSH_RIGHT_WRITE,		\
	  XSH_INLINE_ALWAYS, XSH_RESEND_MADE_LINK, XSH_OPF_ENTRY)	\
	/* nodeid=parent, in: name, a.mknod */				\
	X(MKNOD, 7, XSH_IN_NAME, XSH_RIGHT_WRITE, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_MADE_NODE, XSH_OPF_ENTRY)				\
	/* nodeid=parent, in: name, a.mknod */				\
	X(MKDIR, 8, XSH_IN_NAME, XSH_RIGHT_WRITE, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_MADE_DIR, XSH_OPF_ENTRY)				\
	/* nodeid=parent, in: name */					\
	X(UNLINK, 9, XSH_IN_NAME, XSH_RIGHT_WRITE, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_GONE, 0)						\
	/* nodeid=parent, in: name */					\
	X(RMDIR, 10, XSH_IN_NAME, XSH_RIGHT_WRITE, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_GONE, 0)						\
	/* nodeid=parent, in: name then newname, a.rename; a resent	\
	 * EXCHANGE is checked before it runs (reopen.c) */		\
	X(RENAME, 11, XSH_IN_NAME_NAME, XSH_RIGHT_WRITE,		\
	  XSH_INLINE_ALWAYS, XSH_RESEND_MOVED, 0)			\
	/* nodeid=target, in: newname, a.link */			\
	X(LINK, 12, XSH_IN_NAME, XSH_RIGHT_WRITE, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_LINKED, XSH_OPF_ENTRY)				\
	/* nodeid, a.open */						\
	X(OPEN, 13, XSH_IN_NONE, XSH_RIGHT_OPEN_MODE, XSH_INLINE_ALWAYS, \
	  XSH_RESEND_NONE, XSH_OPF_OPENS)				\
	/* nodeid=parent, in: name, a.open */				\
	X(CREATE, 14, XSH_IN_NAME, XSH_RIGHT_WRITE, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_MADE_FILE, XSH_OPF_ENTRY | XSH_OPF_OPENS)		\
	/* nodeid, fh, a.io, out: data */				\
	X(READ, 15, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_SMALL_IO,	\
	  XSH_RESEND_NONE, 0)						\
	/* nodeid, fh, a.io, in: data */				\
	X(WRITE, 16, XSH_IN_DATA, XSH_RIGHT_WRITE, XSH_INLINE_SMALL_IO, \
	  XSH_RESEND_NONE, 0)						\
	/* nodeid, fh */						\
	X(FLUSH, 17, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_NONE, 0)						\
	/* nodeid, fh */						\
	X(RELEASE, 18, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_NEVER,	\
	  XSH_RESEND_NONE, XSH_OPF_RELEASES)				\
	/* nodeid, fh, a.fsync */					\
	X(FSYNC, 19, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_NEVER,	\
	  XSH_RESEND_NONE, 0)						\
	/* nodeid, a.open */						\
	X(OPENDIR, 20, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_NONE, XSH_OPF_OPENS_DIR)				\
	/* nodeid, fh, a.io(offset=cookie,size), out: dirents */	\
	X(READDIR, 21, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_NONE, 0)						\
	/* as READDIR, out: xsh_direntplus records */			\
	X(READDIRPLUS, 22, XSH_IN_NONE, XSH_RIGHT_READ,		\
	  XSH_INLINE_ALWAYS, XSH_RESEND_NONE, XSH_OPF_DIRENTS_PLUS)	\
	/* nodeid, fh */						\
	X(RELEASEDIR, 23, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_NEVER, \
	  XSH_RESEND_NONE, XSH_OPF_RELEASES)				\
	/* nodeid, fh, a.fsync */					\
	X(FSYNCDIR, 24, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_NEVER,	\
	  XSH_RESEND_NONE, 0)						\
	/* nodeid */							\
	X(STATFS, 25, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_NONE, 0)						\
	/* nodeid, in: name then value, a.xattr */			\
	X(SETXATTR, 26, XSH_IN_XNAME_VALUE, XSH_RIGHT_WRITE,		\
	  XSH_INLINE_NEVER, XSH_RESEND_XATTR_SET, 0)			\
	/* nodeid, in: name, a.xattr(size), out: value */		\
	X(GETXATTR, 27, XSH_IN_XNAME, XSH_RIGHT_READ, XSH_INLINE_ALWAYS, \
	  XSH_RESEND_NONE, 0)						\
	/* nodeid, a.xattr(size), out: names */				\
	X(LISTXATTR, 28, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_ALWAYS, \
	  XSH_RESEND_NONE, 0)						\
	/* nodeid, in: name */						\
	X(REMOVEXATTR, 29, XSH_IN_XNAME, XSH_RIGHT_WRITE,		\
	  XSH_INLINE_NEVER, XSH_RESEND_XATTR_GONE, 0)			\
	/* nodeid, a.access */						\
	X(ACCESS, 30, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_NONE, 0)						\
	/* nodeid, fh, a.fallocate */					\
	X(FALLOCATE, 31, XSH_IN_NONE, XSH_RIGHT_WRITE, XSH_INLINE_NEVER, \
	  XSH_RESEND_NONE, 0)						\
	/* nodeid, fh, a.lseek */					\
	X(LSEEK, 32, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_NONE, 0)						\
	/* nodeid, fh (source), a.copy */				\
	X(COPY_FILE_RANGE, 33, XSH_IN_NONE, XSH_RIGHT_WRITE,		\
	  XSH_INLINE_NEVER, XSH_RESEND_NONE, 0)				\
	/* a.reopen, in: persistent handle (xenshare_proto.h) */	\
	X(REOPEN, 34, XSH_IN_DATA, XSH_RIGHT_READ, XSH_INLINE_NEVER,	\
	  XSH_RESEND_NONE, 0)						\
	/* a.cancel: a request of this ring (xenshare_proto.h, "Interrupts");	\
	 * the ring thread answers it at once, never queued */		\
	X(CANCEL, 35, XSH_IN_NONE, XSH_RIGHT_READ, XSH_INLINE_ALWAYS,	\
	  XSH_RESEND_NONE, 0)

struct xsh_op_desc {
	const char *name;
	enum xsh_op_in in;
	enum xsh_op_right right;
	enum xsh_op_inline inl;
	enum xsh_op_resend resend;
	unsigned flags;
};

/* The row of opcode op, or NULL if op is not one. */
const struct xsh_op_desc *xsh_op_desc(unsigned op);

/* Name of op without its prefix ("LOOKUP"); "?" if unknown. */
const char *xsh_op_name(unsigned op);

/* Flags of op; 0 for an unknown opcode. */
unsigned xsh_op_flags(unsigned op);

#endif
