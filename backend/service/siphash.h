/* SPDX-License-Identifier: MIT */
/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit PRF, used to
 * sign the persistent node handles the backend gives to guests
 * (backend/service/phandle.c).  Trusts nothing: any key, any bytes.
 */
#ifndef XSH_SIPHASH_H
#define XSH_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define XSH_SIPHASH_KEY_LEN	16u

/* The little-endian 64-bit number at p. */
uint64_t xsh_load_le64(const uint8_t *p);
uint64_t xsh_siphash24(const uint8_t key[XSH_SIPHASH_KEY_LEN], const void *msg,
		      size_t len);

#endif /* XSH_SIPHASH_H */
