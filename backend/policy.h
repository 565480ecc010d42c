/* SPDX-License-Identifier: MIT */
/*
 * Per-device policy: access rights, id mapping, limits.  The only module
 * that decides them; fed from xenstore backend nodes (xen transport) or
 * from the command line (local transport).
 */
#ifndef XS_POLICY_H
#define XS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum xs_idmap_mode {
	XS_IDMAP_PASSTHROUGH = 0,	/* guest ids stored as they are */
	XS_IDMAP_SQUASH_ROOT,		/* guest 0 -> squash ids */
	XS_IDMAP_SQUASH_ALL,		/* every guest id -> squash ids */
	XS_IDMAP_RANGE,			/* guest N -> base + N */
};

struct xs_policy {
	bool read_only;
	enum xs_idmap_mode idmap;
	uint32_t squash_uid;		/* SQUASH_ROOT, SQUASH_ALL */
	uint32_t squash_gid;
	uint32_t range_base;		/* RANGE */
	uint32_t range_count;		/* RANGE: ids >= count are refused */
	bool allow_devices;		/* mknod of block/char devices */
	bool allow_setid;		/* set-id bits on files */
	uint64_t quota_bytes;		/* 0 = none */
	uint64_t quota_inodes;		/* 0 = none */
	uint32_t quota_soft_percent;	/* warn at this % of a quota, 0 = never */
	uint32_t max_nodes;		/* per session */
	uint32_t max_handles;		/* per session */
};

/* Defaults: read-write, passthrough, no quotas, generous limits. */
void xs_policy_default(struct xs_policy *p);

/* Parse "passthrough", "squash-root", "squash-all", "range:BASE".
 * 0 or -EINVAL. */
int xs_policy_parse_idmap(struct xs_policy *p, const char *s);

/* Map a guest id to the host id to use; -EPERM if it has no mapping. */
int xs_policy_uid_in(const struct xs_policy *p, uint32_t guest, uint32_t *host);
int xs_policy_gid_in(const struct xs_policy *p, uint32_t guest, uint32_t *host);
/* Map a host id back to what the guest sees (unmapped ids: 65534). */
uint32_t xs_policy_uid_out(const struct xs_policy *p, uint32_t host);
uint32_t xs_policy_gid_out(const struct xs_policy *p, uint32_t host);

/* A size or count: decimal digits, optionally followed by K, M, G or T
 * (powers of 1024, either case).  0 or -EINVAL (also on overflow). */
int xs_policy_parse_size(const char *s, uint64_t *out);

/* The id-map setting as xs_policy_parse_idmap() reads it. */
void xs_policy_format_idmap(const struct xs_policy *p, char *buf, size_t len);

/* Set one policy key by its xenstore / control-channel name: "mode"
 * (rw|ro), "id-map", "quota-bytes", "quota-inodes" (sizes as above, 0 =
 * none), "quota-soft-percent" (0..100).  0, -ENOENT for an unknown key,
 * -EINVAL for a bad value (p unchanged either way). */
int xs_policy_set_key(struct xs_policy *p, const char *key, const char *value);

#endif /* XS_POLICY_H */
