// SPDX-License-Identifier: MIT
/*
 * Policy decisions: id mapping and defaults.  Pure functions of struct
 * xsh_policy; nothing here touches the file system.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

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
