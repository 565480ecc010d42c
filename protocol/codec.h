/* SPDX-License-Identifier: MIT */
/*
 * Decode and validate requests; encode responses.  No I/O: this is the one
 * module that parses guest bytes, and the fuzz target.
 *
 * xsh_codec_decode() takes a private copy of a request slot (the ring
 * already copied it) and the shared data area, copies the request's input
 * bytes out of the data area exactly once into msg->in (private), and
 * checks everything that can be checked without the file system: opcode,
 * buffer bounds, lengths, name syntax (one component: no '/', no NUL, not
 * "." or "..", 1..XSH_NAME_MAX bytes), flags, reserved fields.
 *
 * Return values:
 *   0        msg is valid, dispatch it
 *   -errno   the request is well-formed on the ring but its arguments are
 *            wrong: answer it with that errno
 *   XSH_CODEC_FATAL  the request breaks the ring protocol (buffer outside
 *            the data area, length past XSH_MAX_BUF): close the connection
 */
#ifndef XSH_CODEC_H
#define XSH_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "xenshare_proto.h"

#define XSH_CODEC_FATAL 1

struct xsh_msg {
	struct xsh_req req;	/* the validated private copy */
	/* Input, copied out of the data area (private, NUL-terminated
	 * copies of names so they can be passed to *at() calls). */
	const char *name;	/* first name, or NULL */
	uint32_t name_len;
	const char *name2;	/* RENAME newname, SYMLINK target */
	uint32_t name2_len;
	const void *data;	/* WRITE data, SETXATTR value, FORGET array */
	uint32_t data_len;
	/* Where output goes: inside the shared data area, bounds checked.
	 * The backend only ever writes here. */
	void *out;
	uint32_t out_cap;
	/* Private storage the pointers above point into. */
	uint8_t *scratch;	/* XSH_MAX_BUF + 2 bytes, owned by the caller */
};

/* Per-op validation needs nothing but the message; the data area is
 * [data, data + data_bytes). */
int xsh_codec_decode(const struct xsh_req *raw, void *data, size_t data_bytes,
		    uint8_t *scratch, struct xsh_msg *msg);

/* Start a response to req in zeroed memory. */
void xsh_codec_rsp_init(struct xsh_rsp *rsp, const struct xsh_req *req);

/* Frontend side: check a response against the request it answers.
 * 0 or -EPROTO. */
int xsh_codec_check_rsp(const struct xsh_req *req, const struct xsh_rsp *rsp);

/* Append a READDIR / READDIRPLUS record to buf (cap bytes, *len used).
 * Returns 0, or -ENOSPC when it does not fit (nothing written). */
int xsh_codec_put_dirent(void *buf, uint32_t cap, uint32_t *len,
			uint64_t ino, uint64_t off, uint8_t type,
			const char *name, uint16_t namelen);
int xsh_codec_put_direntplus(void *buf, uint32_t cap, uint32_t *len,
			    const struct xsh_rsp_entry *e, uint64_t off,
			    uint8_t type, const char *name, uint16_t namelen);
/* As above, with the node's persistent handle after the name
 * (handle_len <= XSH_HANDLE_MAX, else -EINVAL). */
int xsh_codec_put_direntplus_h(void *buf, uint32_t cap, uint32_t *len,
			      const struct xsh_rsp_entry *e, uint64_t off,
			      uint8_t type, const char *name, uint16_t namelen,
			      const void *handle, uint32_t handle_len);

/* Frontend side: iterate records written by the put functions.  Returns
 * the record length, 0 at the end, -EPROTO on a malformed record.  A
 * READDIRPLUS record's handle is the d->dirent.handle_len bytes at
 * name + d->dirent.namelen, inside the record. */
int xsh_codec_next_dirent(const void *buf, uint32_t len, uint32_t pos,
			 const struct xsh_dirent **d, const char **name);
int xsh_codec_next_direntplus(const void *buf, uint32_t len, uint32_t pos,
			     const struct xsh_direntplus **d,
			     const char **name);

/* A xenstore node value from the guest: a plain decimal number (no sign,
 * space, leading zero or junk) no larger than max.  0, -EINVAL, -ERANGE. */
int xsh_codec_parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif /* XSH_CODEC_H */
