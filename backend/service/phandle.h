/* SPDX-License-Identifier: MIT */
/*
 * Private to the file service: persistent node handles, the opaque bytes a
 * guest keeps for each node so that REOPEN can find the file again
 * after the backend restarted (protocol/xenshare_proto.h, "Persistent
 * node handles").
 *
 * A handle is the host's file handle (name_to_handle_at) of a file on the
 * export root's mount, signed with SipHash-2-4 under the export's key:
 *
 *   offset  size   field
 *   0       1      version (1)
 *   1       1      hlen: bytes of the host file handle, <= XSH_PHANDLE_HMAX
 *   2       2      zero
 *   4       4      host handle type (little-endian)
 *   8       hlen   host file handle
 *   8+hlen  8      SipHash-2-4 (little-endian) of bytes 0 .. 8+hlen-1
 *                  followed by the export root's own file handle
 *
 * On an export without usable file handles (backend/service/node.h, "by name")
 * the handle is version 2 and names the file by where it was found:
 *
 *   0       1      version (2)
 *   1       1      hlen: 16 + bytes of the name
 *   4       4      file type (S_IFMT bits)
 *   8       8      inode number (little-endian)
 *   16      8      inode number of the directory it was found in
 *   24      hlen-16  the name (one component, no NUL)
 *
 * and the export root's identity signed along is its inode number and
 * file system type.
 *
 * open_by_handle_at() would open any file of the host file system, not
 * only those under the export: the signature is what keeps a guest to
 * handles this export's backend made for it.  The key is per export and
 * kept in the backend's state directory (backend/daemon/state.c), so it survives
 * restarts; a handle of another export never verifies.  Signing the
 * root's file handle along binds a handle to the directory it was made
 * under: if another file system is mounted at the export's path, old
 * handles stop verifying.  No mount id is kept: it changes whenever the
 * export is mounted again, as a sandboxed worker does each time it starts.
 *
 * Trust: xsh_phandle_parse() takes guest bytes and checks length, version,
 * reserved bits and the signature (compared in constant time) before it
 * returns anything.
 */
#ifndef XSH_PHANDLE_H
#define XSH_PHANDLE_H

#include <stdint.h>

#include "protocol/xenshare_proto.h"
#include "siphash.h"

#define XSH_PHANDLE_VERSION	1u
#define XSH_PHANDLE_VERSION_NAME	2u
/* Bytes before the name in a version 2 handle's h. */
#define XSH_PHANDLE_NAME_OFF	16u
#define XSH_PHANDLE_NAME_MAX	(XSH_PHANDLE_HMAX - XSH_PHANDLE_NAME_OFF)
#define XSH_PHANDLE_OVERHEAD	16u
#define XSH_PHANDLE_HMAX		(XSH_HANDLE_MAX - XSH_PHANDLE_OVERHEAD)
/* The export root's identity signed along: its handle type, length and
 * bytes. */
#define XSH_PHANDLE_ROOT_MAX	(8u + XSH_HANDLE_MAX)

struct xsh_phandle {
	uint32_t version;	/* XSH_PHANDLE_VERSION{,_NAME}; 0 = 1 */
	uint32_t htype;
	uint32_t hlen;
	uint8_t h[XSH_PHANDLE_HMAX];
};

struct xsh_phandle_root {
	uint32_t len;
	uint8_t b[XSH_PHANDLE_ROOT_MAX];
};

/* Store v little-endian at p. */
void xsh_put_le64(uint8_t *p, uint64_t v);

/* Fill r from the export root's file handle; -EINVAL if too long. */
int xsh_phandle_root(uint32_t htype, const void *h, uint32_t hlen,
		    struct xsh_phandle_root *r);

/* Write the signed handle of p to out (cap bytes).  Its length, or
 * -ENOSPC when it does not fit, -EINVAL when p->hlen is 0 or too long. */
int xsh_phandle_make(const uint8_t key[XSH_SIPHASH_KEY_LEN],
		    const struct xsh_phandle_root *root,
		    const struct xsh_phandle *p, void *out, uint32_t cap);

/* Check len bytes from a guest and fill p.  0; -ESTALE for an empty
 * handle (a node that had none); -EPERM for anything this key did not
 * sign under this root. */
int xsh_phandle_parse(const uint8_t key[XSH_SIPHASH_KEY_LEN],
		     const struct xsh_phandle_root *root, const void *in,
		     uint32_t len, struct xsh_phandle *p);

#endif /* XSH_PHANDLE_H */
