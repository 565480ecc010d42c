// SPDX-License-Identifier: MIT
/*
 * Policy decisions: id mapping and defaults.  Pure functions of struct
 * xs_policy; nothing here touches the file system.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define XS_NOBODY 65534u

void xs_policy_default(struct xs_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->idmap = XS_IDMAP_PASSTHROUGH;
	p->squash_uid = XS_NOBODY;
	p->squash_gid = XS_NOBODY;
	p->range_count = 65536;
	p->max_nodes = 1u << 20;
	p->max_handles = 65536;
}

int xs_policy_parse_idmap(struct xs_policy *p, const char *s)
{
	char *end;
	unsigned long v;

	if (!strcmp(s, "passthrough")) {
		p->idmap = XS_IDMAP_PASSTHROUGH;
	} else if (!strcmp(s, "squash-root")) {
		p->idmap = XS_IDMAP_SQUASH_ROOT;
	} else if (!strcmp(s, "squash-all")) {
		p->idmap = XS_IDMAP_SQUASH_ALL;
	} else if (!strncmp(s, "range:", 6)) {
		errno = 0;
		v = strtoul(s + 6, &end, 10);
		if (errno || end == s + 6 || *end || v == 0 ||
		    v > 0xffffffffUL - p->range_count)
			return -EINVAL;
		p->idmap = XS_IDMAP_RANGE;
		p->range_base = (uint32_t)v;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int id_in(const struct xs_policy *p, uint32_t guest, uint32_t squash,
		 uint32_t *host)
{
	switch (p->idmap) {
	case XS_IDMAP_PASSTHROUGH:
		*host = guest;
		return 0;
	case XS_IDMAP_SQUASH_ROOT:
		*host = guest == 0 ? squash : guest;
		return 0;
	case XS_IDMAP_SQUASH_ALL:
		*host = squash;
		return 0;
	case XS_IDMAP_RANGE:
		if (guest >= p->range_count)
			return -EPERM;
		*host = p->range_base + guest;
		return 0;
	}
	return -EPERM;
}

static uint32_t id_out(const struct xs_policy *p, uint32_t host)
{
	switch (p->idmap) {
	case XS_IDMAP_PASSTHROUGH:
	case XS_IDMAP_SQUASH_ROOT:
		return host;
	case XS_IDMAP_SQUASH_ALL:
		return host;
	case XS_IDMAP_RANGE:
		if (host >= p->range_base &&
		    host - p->range_base < p->range_count)
			return host - p->range_base;
		return XS_NOBODY;
	}
	return XS_NOBODY;
}

int xs_policy_uid_in(const struct xs_policy *p, uint32_t guest, uint32_t *host)
{
	return id_in(p, guest, p->squash_uid, host);
}

int xs_policy_gid_in(const struct xs_policy *p, uint32_t guest, uint32_t *host)
{
	return id_in(p, guest, p->squash_gid, host);
}

uint32_t xs_policy_uid_out(const struct xs_policy *p, uint32_t host)
{
	return id_out(p, host);
}

uint32_t xs_policy_gid_out(const struct xs_policy *p, uint32_t host)
{
	return id_out(p, host);
}
