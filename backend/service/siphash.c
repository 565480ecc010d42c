// SPDX-License-Identifier: MIT
/*
 * SipHash-2-4, written from the paper ("SipHash: a fast short-input PRF",
 * Aumasson and Bernstein, 2012): two compression rounds per 8-byte word,
 * four finalization rounds, little-endian words.  tests/unit/test_reopen.c
 * checks it against the paper's reference vectors.
 *
 * Trust: none needed; every input is a plain byte string.
 */
#include "siphash.h"

static uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

uint64_t xsh_load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

struct sip {
	uint64_t v0, v1, v2, v3;
};

static void sipround(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

static void absorb(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sipround(s);
	sipround(s);
	s->v0 ^= m;
}

uint64_t xsh_siphash24(const uint8_t key[XSH_SIPHASH_KEY_LEN], const void *msg,
		      size_t len)
{
	const uint8_t *p = msg;
	uint64_t k0 = xsh_load_le64(key), k1 = xsh_load_le64(key + 8);
	struct sip s = {
		.v0 = k0 ^ 0x736f6d6570736575ull,
		.v1 = k1 ^ 0x646f72616e646f6dull,
		.v2 = k0 ^ 0x6c7967656e657261ull,
		.v3 = k1 ^ 0x7465646279746573ull,
	};
	uint64_t last = (uint64_t)(len & 0xff) << 56;
	size_t i, tail = len & 7;

	for (i = 0; i + 8 <= len; i += 8)
		absorb(&s, xsh_load_le64(p + i));
	for (i = 0; i < tail; i++)
		last |= (uint64_t)p[len - tail + i] << (8 * i);
	absorb(&s, last);
	s.v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		sipround(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
