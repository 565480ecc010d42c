// SPDX-License-Identifier: MIT
/*
 * Policy decisions: access rights, set-id bits, device nodes, what statfs
 * says about a read-only export, id mapping, defaults.  Pure functions of
 * struct xsh_policy; nothing here touches the file system.
 *
 * Trust: the policy comes from the administrator (command line,
 * xenstore backend nodes, control channel); values a worker reports back
 * are checked before they are adopted.  Ids and modes passed in are the
 * guest's and only ever compared.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "policy.h"
#include "protocol/xenshare_proto.h"

#define XSH_NOBODY 65534u

void xsh_policy_default(struct xsh_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->idmap = XSH_IDMAP_PASSTHROUGH;
	p->squash_uid = XSH_NOBODY;
	p->squash_gid = XSH_NOBODY;
	p->range_count = 65536;
	p->max_nodes = 1u << 20;
	p->max_handles = 65536;
	p->quota_soft_percent = 90;
}

int xsh_policy_check(const struct xsh_policy *p, enum xsh_op_right r)
{
	if (r == XSH_RIGHT_WRITE && p->read_only)
		return -EROFS;
	return 0;
}

enum xsh_op_right xsh_policy_open_right(int flags)
{
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return XSH_RIGHT_WRITE;
	return XSH_RIGHT_READ;
}

int xsh_policy_check_mode(const struct xsh_policy *p, uint32_t type,
			  uint32_t mode)
{
	if (p->allow_setid || type == S_IFDIR)
		return 0;
	if (mode & S_ISUID)
		return -EPERM;
	if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		return -EPERM;
	return 0;
}

int xsh_policy_check_mknod(const struct xsh_policy *p, uint32_t type)
{
	if ((type == S_IFCHR || type == S_IFBLK) && !p->allow_devices)
		return -EPERM;
	return 0;
}

bool xsh_policy_wants_mknod(const struct xsh_policy *p)
{
	return p->allow_devices;
}

bool xsh_policy_statfs_rdonly(const struct xsh_policy *p, bool host_ro)
{
	return p->read_only || host_ro;
}

const char *xsh_policy_mode_name(const struct xsh_policy *p)
{
	return p->read_only ? "ro" : "rw";
}

bool xsh_policy_equal(const struct xsh_policy *a, const struct xsh_policy *b)
{
	return a->read_only == b->read_only && a->idmap == b->idmap &&
	       a->squash_uid == b->squash_uid &&
	       a->squash_gid == b->squash_gid &&
	       a->range_base == b->range_base &&
	       a->range_count == b->range_count &&
	       a->allow_devices == b->allow_devices &&
	       a->allow_setid == b->allow_setid &&
	       a->quota_bytes == b->quota_bytes &&
	       a->quota_inodes == b->quota_inodes &&
	       a->quota_soft_percent == b->quota_soft_percent &&
	       a->max_nodes == b->max_nodes && a->max_handles == b->max_handles;
}

int xsh_policy_adopt_live(struct xsh_policy *dst, const struct xsh_policy *src)
{
	if ((unsigned)src->idmap > XSH_IDMAP_RANGE ||
	    src->quota_soft_percent > 100)
		return -EINVAL;
	dst->read_only = src->read_only;
	dst->idmap = src->idmap;
	dst->squash_uid = src->squash_uid;
	dst->squash_gid = src->squash_gid;
	dst->range_base = src->range_base;
	dst->range_count = src->range_count;
	dst->quota_bytes = src->quota_bytes;
	dst->quota_inodes = src->quota_inodes;
	dst->quota_soft_percent = src->quota_soft_percent;
	return 0;
}

void xsh_policy_allow_setid(struct xsh_policy *p)
{
	p->allow_setid = true;
}

void xsh_policy_allow_devices(struct xsh_policy *p)
{
	p->allow_devices = true;
}

int xsh_policy_parse_idmap(struct xsh_policy *p, const char *s)
{
	char *end;
	unsigned long v;

	if (!strcmp(s, "passthrough")) {
		p->idmap = XSH_IDMAP_PASSTHROUGH;
	} else if (!strcmp(s, "squash-root")) {
		p->idmap = XSH_IDMAP_SQUASH_ROOT;
	} else if (!strcmp(s, "squash-all")) {
		p->idmap = XSH_IDMAP_SQUASH_ALL;
	} else if (!strncmp(s, "range:", 6)) {
		errno = 0;
		v = strtoul(s + 6, &end, 10);
		if (errno || end == s + 6 || *end || v == 0 ||
		    v > 0xffffffffUL - p->range_count)
			return -EINVAL;
		p->idmap = XSH_IDMAP_RANGE;
		p->range_base = (uint32_t)v;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int id_in(const struct xsh_policy *p, uint32_t guest, uint32_t squash,
		 uint32_t *host)
{
	switch (p->idmap) {
	case XSH_IDMAP_PASSTHROUGH:
		*host = guest;
		return 0;
	case XSH_IDMAP_SQUASH_ROOT:
		*host = guest == 0 ? squash : guest;
		return 0;
	case XSH_IDMAP_SQUASH_ALL:
		*host = squash;
		return 0;
	case XSH_IDMAP_RANGE:
		if (guest >= p->range_count)
			return -EPERM;
		*host = p->range_base + guest;
		return 0;
	}
	return -EPERM;
}

static uint32_t id_out(const struct xsh_policy *p, uint32_t host)
{
	switch (p->idmap) {
	case XSH_IDMAP_PASSTHROUGH:
	case XSH_IDMAP_SQUASH_ROOT:
		return host;
	case XSH_IDMAP_SQUASH_ALL:
		return host;
	case XSH_IDMAP_RANGE:
		if (host >= p->range_base &&
		    host - p->range_base < p->range_count)
			return host - p->range_base;
		return XSH_NOBODY;
	}
	return XSH_NOBODY;
}

int xsh_policy_uid_in(const struct xsh_policy *p, uint32_t guest, uint32_t *host)
{
	return id_in(p, guest, p->squash_uid, host);
}

int xsh_policy_gid_in(const struct xsh_policy *p, uint32_t guest, uint32_t *host)
{
	return id_in(p, guest, p->squash_gid, host);
}

uint32_t xsh_policy_uid_out(const struct xsh_policy *p, uint32_t host)
{
	return id_out(p, host);
}

uint32_t xsh_policy_gid_out(const struct xsh_policy *p, uint32_t host)
{
	return id_out(p, host);
}

static int id_chown(const struct xsh_policy *p, uint32_t guest,
		    uint32_t squash, uint32_t *host)
{
	if (id_in(p, guest, squash, host))
		return -EINVAL;
	if (id_out(p, *host) != guest)
		return -EPERM;
	return 0;
}

int xsh_policy_uid_chown(const struct xsh_policy *p, uint32_t guest,
			 uint32_t *host)
{
	return id_chown(p, guest, p->squash_uid, host);
}

int xsh_policy_gid_chown(const struct xsh_policy *p, uint32_t guest,
			 uint32_t *host)
{
	return id_chown(p, guest, p->squash_gid, host);
}

bool xsh_policy_host_checks(const struct xsh_policy *p, uint32_t uid,
			    uint32_t gid)
{
	switch (p->idmap) {
	case XSH_IDMAP_SQUASH_ALL:
		return true;
	case XSH_IDMAP_SQUASH_ROOT:
		return uid == 0 || gid == 0;
	case XSH_IDMAP_RANGE:
		/* Host ids outside the range show as nobody: the guest
		 * takes its own nobody for their owner. */
		return uid == XSH_NOBODY || gid == XSH_NOBODY;
	default:
		return false;
	}
}

uint64_t xsh_policy_features(const struct xsh_policy *p, uint64_t base)
{
	base &= ~XSH_FEAT_HOST_PERMS;
	if (p->idmap == XSH_IDMAP_SQUASH_ALL)
		base |= XSH_FEAT_HOST_PERMS;
	return base;
}

int xsh_policy_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (shift && end[1])
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

void xsh_policy_format_idmap(const struct xsh_policy *p, char *buf, size_t len)
{
	switch (p->idmap) {
	case XSH_IDMAP_SQUASH_ROOT:
		snprintf(buf, len, "squash-root");
		break;
	case XSH_IDMAP_SQUASH_ALL:
		snprintf(buf, len, "squash-all");
		break;
	case XSH_IDMAP_RANGE:
		snprintf(buf, len, "range:%u", p->range_base);
		break;
	default:
		snprintf(buf, len, "passthrough");
		break;
	}
}

int xsh_policy_set_key(struct xsh_policy *p, const char *key, const char *value)
{
	struct xsh_policy n = *p;
	uint64_t v;

	if (!strcmp(key, "mode")) {
		if (!strcmp(value, "ro"))
			n.read_only = true;
		else if (!strcmp(value, "rw"))
			n.read_only = false;
		else
			return -EINVAL;
	} else if (!strcmp(key, "id-map")) {
		if (xsh_policy_parse_idmap(&n, value))
			return -EINVAL;
	} else if (!strcmp(key, "quota-bytes")) {
		if (xsh_policy_parse_size(value, &n.quota_bytes))
			return -EINVAL;
	} else if (!strcmp(key, "quota-inodes")) {
		if (xsh_policy_parse_size(value, &n.quota_inodes))
			return -EINVAL;
	} else if (!strcmp(key, "quota-soft-percent")) {
		if (xsh_policy_parse_size(value, &v) || v > 100)
			return -EINVAL;
		n.quota_soft_percent = (uint32_t)v;
	} else {
		return -ENOENT;
	}
	*p = n;
	return 0;
}
