/* SPDX-License-Identifier: MIT */
/*
 * Per-device policy: access rights, id mapping, limits.  The only module
 * that decides them; fed from xenstore backend nodes (xen transport) or
 * from the command line (local transport).  Other modules hold a struct
 * xsh_policy and ask the functions below; they do not read its access,
 * set-id, device or id-map fields themselves.
 */
#ifndef XSH_POLICY_H
#define XSH_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/ops.h"

enum xsh_idmap_mode {
	XSH_IDMAP_PASSTHROUGH = 0,	/* guest ids stored as they are */
	XSH_IDMAP_SQUASH_ROOT,		/* guest 0 -> squash ids */
	XSH_IDMAP_SQUASH_ALL,		/* every guest id -> squash ids */
	XSH_IDMAP_RANGE,			/* guest N -> base + N */
};

struct xsh_policy {
	bool read_only;
	enum xsh_idmap_mode idmap;
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
void xsh_policy_default(struct xsh_policy *p);

/* Parse "passthrough", "squash-root", "squash-all", "range:BASE".
 * 0 or -EINVAL. */
int xsh_policy_parse_idmap(struct xsh_policy *p, const char *s);

/* May an operation needing right r run?  0 or -EROFS. */
int xsh_policy_check(const struct xsh_policy *p, enum xsh_op_right r);
/* The right an open with these host open(2) flags needs. */
enum xsh_op_right xsh_policy_open_right(int flags);
/* May a node of type (S_IFMT bits) get these mode bits (create, chmod,
 * setattr)?  Set-id bits on non-directories only where allowed: 0 or
 * -EPERM. */
int xsh_policy_check_mode(const struct xsh_policy *p, uint32_t type,
			  uint32_t mode);
/* May mknod make a node of this type?  Devices only where allowed: 0 or
 * -EPERM. */
int xsh_policy_check_mknod(const struct xsh_policy *p, uint32_t type);
/* Whether the worker's sandbox must permit mknod of devices. */
bool xsh_policy_wants_mknod(const struct xsh_policy *p);
/* Whether statfs reports the export read-only (host_ro: the host file
 * system is mounted read-only). */
bool xsh_policy_statfs_rdonly(const struct xsh_policy *p, bool host_ro);
/* "ro" or "rw", as the "mode" key takes it. */
const char *xsh_policy_mode_name(const struct xsh_policy *p);
/* Whether every field of a and b is the same. */
bool xsh_policy_equal(const struct xsh_policy *a, const struct xsh_policy *b);
/* Copy into dst the keys that may change while an export is served
 * (mode, id map, quotas), if src is a valid policy; otherwise -EINVAL and
 * dst unchanged. */
int xsh_policy_adopt_live(struct xsh_policy *dst, const struct xsh_policy *src);
/* Command-line switches: --allow-setid, --allow-devices. */
void xsh_policy_allow_setid(struct xsh_policy *p);
void xsh_policy_allow_devices(struct xsh_policy *p);

/* Map a guest id to the host id to use; -EPERM if it has no mapping. */
int xsh_policy_uid_in(const struct xsh_policy *p, uint32_t guest, uint32_t *host);
int xsh_policy_gid_in(const struct xsh_policy *p, uint32_t guest, uint32_t *host);
/* Map a host id back to what the guest sees (a host id outside a range
 * map: 65534, nobody). */
uint32_t xsh_policy_uid_out(const struct xsh_policy *p, uint32_t host);
uint32_t xsh_policy_gid_out(const struct xsh_policy *p, uint32_t host);
/* The host id a chown (chgrp) to this guest id sets: -EINVAL when the
 * guest id has no mapping; -EPERM when it would not come back as the same
 * guest id (a squashed id: under squash-root a chown to 0, under
 * squash-all to anything but the squash id itself). */
int xsh_policy_uid_chown(const struct xsh_policy *p, uint32_t guest,
			 uint32_t *host);
int xsh_policy_gid_chown(const struct xsh_policy *p, uint32_t guest,
			 uint32_t *host);

/* Whether the backend checks the permissions of a caller with these
 * guest ids itself, on the host, as the host ids they map to (fsuid and
 * fsgid, no capabilities, no supplementary groups): a caller the map
 * squashes, for whom the guest kernel's check (its own privileges, the
 * owners the guest sees) says nothing about what the squashed host id may
 * do.  squash-all: every caller; squash-root: guest uid 0 or gid 0; a
 * range map: guest uid or gid 65534, which the guest takes for the owner
 * of every file whose host owner is outside the range; otherwise none
 * (the guest kernel's check stands, with the caller's supplementary
 * groups). */
bool xsh_policy_host_checks(const struct xsh_policy *p, uint32_t uid,
			    uint32_t gid);
/* The feature bits to offer a frontend: base, with XSH_FEAT_HOST_PERMS
 * only when the backend checks every caller (squash-all). */
uint64_t xsh_policy_features(const struct xsh_policy *p, uint64_t base);

/* A size or count: decimal digits, optionally followed by K, M, G or T
 * (powers of 1024, either case).  0 or -EINVAL (also on overflow). */
int xsh_policy_parse_size(const char *s, uint64_t *out);

/* The id-map setting as xsh_policy_parse_idmap() reads it. */
void xsh_policy_format_idmap(const struct xsh_policy *p, char *buf, size_t len);

/* Set one policy key by its xenstore / control-channel name: "mode"
 * (rw|ro), "id-map", "quota-bytes", "quota-inodes" (sizes as above, 0 =
 * none), "quota-soft-percent" (0..100).  0, -ENOENT for an unknown key,
 * -EINVAL for a bad value (p unchanged either way). */
int xsh_policy_set_key(struct xsh_policy *p, const char *key, const char *value);

#endif /* XSH_POLICY_H */
