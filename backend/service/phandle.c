// SPDX-License-Identifier: MIT
/*
 * Persistent node handles (backend/service/phandle.h): layout and signature.
 *
 * Trust: xsh_phandle_parse() gets the guest's bytes (a private copy made by
 * the codec) and trusts none of them until the signature matched.
 */
#include <errno.h>
#include <string.h>

#include "phandle.h"

#define BODY_MAX	(8u + XSH_PHANDLE_HMAX)

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void xsh_put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* The signature of body (len bytes) with the root appended. */
static void sign(const uint8_t *key, const struct xsh_phandle_root *root,
		 const uint8_t *body, uint32_t len, uint8_t mac[8])
{
	uint8_t m[BODY_MAX + XSH_PHANDLE_ROOT_MAX];

	memcpy(m, body, len);
	memcpy(m + len, root->b, root->len);
	xsh_put_le64(mac, xsh_siphash24(key, m, len + root->len));
}

int xsh_phandle_root(uint32_t htype, const void *h, uint32_t hlen,
		    struct xsh_phandle_root *r)
{
	if (hlen > XSH_HANDLE_MAX)
		return -EINVAL;
	put_le32(r->b, htype);
	put_le32(r->b + 4, hlen);
	memcpy(r->b + 8, h, hlen);
	r->len = 8 + hlen;
	return 0;
}

int xsh_phandle_make(const uint8_t key[XSH_SIPHASH_KEY_LEN],
		    const struct xsh_phandle_root *root,
		    const struct xsh_phandle *p, void *out, uint32_t cap)
{
	uint8_t b[XSH_HANDLE_MAX];
	uint32_t body, len;

	if (p->hlen == 0 || p->hlen > XSH_PHANDLE_HMAX)
		return -EINVAL;
	body = 8 + p->hlen;
	len = body + 8;
	if (len > cap)
		return -ENOSPC;
	memset(b, 0, sizeof(b));
	b[0] = p->version ? (uint8_t)p->version : XSH_PHANDLE_VERSION;
	b[1] = (uint8_t)p->hlen;
	put_le32(b + 4, p->htype);
	memcpy(b + 8, p->h, p->hlen);
	sign(key, root, b, body, b + body);
	memcpy(out, b, len);
	return (int)len;
}

int xsh_phandle_parse(const uint8_t key[XSH_SIPHASH_KEY_LEN],
		     const struct xsh_phandle_root *root, const void *in,
		     uint32_t len, struct xsh_phandle *p)
{
	const uint8_t *b = in;
	uint8_t mac[8], diff = 0;
	uint32_t body, i;

	if (len == 0)
		return -ESTALE;
	if (len < XSH_PHANDLE_OVERHEAD + 1 || len > XSH_HANDLE_MAX ||
	    (b[0] != XSH_PHANDLE_VERSION && b[0] != XSH_PHANDLE_VERSION_NAME) ||
	    b[1] != len - XSH_PHANDLE_OVERHEAD || b[2] || b[3])
		return -EPERM;
	body = len - 8;
	sign(key, root, b, body, mac);
	for (i = 0; i < 8; i++)
		diff |= (uint8_t)(mac[i] ^ b[body + i]);
	if (diff)
		return -EPERM;
	memset(p, 0, sizeof(*p));
	p->version = b[0];
	p->hlen = b[1];
	p->htype = get_le32(b + 4);
	memcpy(p->h, b + 8, p->hlen);
	return 0;
}
