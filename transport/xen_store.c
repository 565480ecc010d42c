// SPDX-License-Identifier: MIT
/*
 * xenstore helpers (see xen_store.h).
 *
 * Trust: node values may be a guest's.  Reads are bounded and rejected
 * when longer than asked for or when a NUL hides inside; numbers must be
 * plain decimal in range (xsh_codec_parse_u64).  Paths are the callers'
 * own and are cut, never overrun, when too long.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/codec.h"
#include "xen_store.h"

#define PATH_MAX_LEN	320
#define WRITE_MAX	256

static const char *node_path(char *buf, size_t len, const char *dir,
			     const char *node)
{
	if (!dir)
		return node;
	if (!node)
		return dir;
	snprintf(buf, len, "%s/%s", dir, node);
	return buf;
}

char *xsh_store_read(struct xs_handle *h, const char *dir, const char *node,
		     unsigned max_len)
{
	char buf[PATH_MAX_LEN];
	unsigned len;
	char *v;

	v = xs_read(h, XBT_NULL, node_path(buf, sizeof(buf), dir, node), &len);
	if (!v)
		return NULL;
	if (max_len && (len > max_len || strlen(v) != len)) {
		free(v);
		errno = EINVAL;
		return NULL;
	}
	return v;
}

int xsh_store_read_u64(struct xs_handle *h, const char *dir, const char *node,
		       unsigned max_len, uint64_t max, uint64_t *out)
{
	char *v = xsh_store_read(h, dir, node, max_len);
	int rc;

	if (!v)
		return -errno;
	rc = xsh_codec_parse_u64(v, max, out);
	free(v);
	return rc;
}

bool xsh_store_exists(struct xs_handle *h, const char *dir, const char *node)
{
	char buf[PATH_MAX_LEN];
	char *v;

	v = xs_read(h, XBT_NULL, node_path(buf, sizeof(buf), dir, node), NULL);
	free(v);
	return v != NULL;
}

int xsh_store_write(struct xs_handle *h, xs_transaction_t xt, const char *dir,
		    const char *node, const char *fmt, ...)
{
	char buf[PATH_MAX_LEN], val[WRITE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (!xs_write(h, xt, node_path(buf, sizeof(buf), dir, node), val,
		      strlen(val)))
		return -errno;
	return 0;
}

int xsh_store_rm(struct xs_handle *h, const char *dir, const char *node)
{
	char buf[PATH_MAX_LEN];

	if (!xs_rm(h, XBT_NULL, node_path(buf, sizeof(buf), dir, node)))
		return -errno;
	return 0;
}

int xsh_store_watch(struct xs_handle *h, const char *dir, const char *node,
		    const char *token)
{
	char buf[PATH_MAX_LEN];

	if (!xs_watch(h, node_path(buf, sizeof(buf), dir, node), token))
		return -errno;
	return 0;
}

int xsh_store_unwatch(struct xs_handle *h, const char *dir, const char *node,
		      const char *token)
{
	char buf[PATH_MAX_LEN];

	if (!xs_unwatch(h, node_path(buf, sizeof(buf), dir, node), token))
		return -errno;
	return 0;
}

void xsh_store_drain(struct xs_handle *h)
{
	char **ev;

	while ((ev = xs_check_watch(h)))
		free(ev);
}
