/* SPDX-License-Identifier: MIT */
/*
 * xenstore helpers shared by the xen transport (transport/xen_front.c,
 * transport/xen_back.c), the backend's device manager
 * (backend/daemon/xenbus.c) and the frontend: a node is named by its
 * directory and its name, values are read into bounded strings and
 * numbers go through the codec's one parser (xsh_codec_parse_u64).
 *
 * (Never name this xenstore.h: it would shadow libxenstore's.)
 */
#ifndef XSH_TRANSPORT_XEN_STORE_H
#define XSH_TRANSPORT_XEN_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <xenstore.h>

/* dir/node as a string (free() it), at most max_len bytes with no NUL
 * inside (max_len 0: any length); dir NULL: node is the whole path.
 * NULL with errno set (EINVAL: too long or embedded NUL). */
char *xsh_store_read(struct xs_handle *h, const char *dir, const char *node,
		     unsigned max_len);

/* dir/node as a number <= max, read as by xsh_store_read().  0, -errno
 * of the read, or the parser's -EINVAL / -ERANGE. */
int xsh_store_read_u64(struct xs_handle *h, const char *dir, const char *node,
		       unsigned max_len, uint64_t max, uint64_t *out);

/* Whether dir/node (node NULL: dir) exists, whatever it holds. */
bool xsh_store_exists(struct xs_handle *h, const char *dir, const char *node);

/* Write the formatted value (at most 255 bytes) to dir/node in xt.
 * 0 or -errno. */
int xsh_store_write(struct xs_handle *h, xs_transaction_t xt, const char *dir,
		    const char *node, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Remove dir/node.  0 or -errno. */
int xsh_store_rm(struct xs_handle *h, const char *dir, const char *node);

/* Watch / stop watching dir/node under token.  0 or -errno. */
int xsh_store_watch(struct xs_handle *h, const char *dir, const char *node,
		    const char *token);
int xsh_store_unwatch(struct xs_handle *h, const char *dir, const char *node,
		      const char *token);

/* Discard every watch event that is pending. */
void xsh_store_drain(struct xs_handle *h);

#endif /* XSH_TRANSPORT_XEN_STORE_H */
