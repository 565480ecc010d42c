/* SPDX-License-Identifier: MIT */
/*
 * The libFuzzer entry points of tests/fuzz/fuzz_dispatch.c, for the replay
 * driver (tests/fuzz/replay.c) that feeds the committed corpus to the same
 * code with the normal compiler.
 */
#ifndef XSH_FUZZ_HARNESS_H
#define XSH_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input layout, shared with the seed generator (tests/fuzz/gen_seeds.c).
 *
 *   byte 0            policy selector (XSH_FZ_POL_*)
 *   then up to XSH_FZ_MAX_RECS records:
 *     struct xsh_fz_rec_hdr   8 bytes
 *     struct xsh_req          128 bytes, the slot as the guest wrote it
 *     payload                hdr.in_len bytes (cut short at the end)
 */
#define XSH_FZ_MAX_RECS		16u
#define XSH_FZ_DATA_BYTES	(136u * 1024u)	/* the data area */
#define XSH_FZ_FILE_CAP		(1u << 20)	/* offsets/sizes are clamped */

#define XSH_FZ_POL_RO		0x01u	/* read-only export */
#define XSH_FZ_POL_IDMAP_SHIFT	1	/* 2 bits: enum xsh_idmap_mode */
#define XSH_FZ_POL_DEVICES	0x08u	/* allow_devices (only on nodev tmpfs) */
#define XSH_FZ_POL_SETID		0x10u	/* allow_setid */
#define XSH_FZ_POL_TIGHT		0x20u	/* max_nodes 6, max_handles 3 */
#define XSH_FZ_POL_QUOTA		0x40u	/* quota 48 KiB / 20 inodes */

/* Record flags. */
#define XSH_FZ_RAW	0x01u	/* keep buf_off/buf_len/in_len as written */
#define XSH_FZ_NODE	0x02u	/* nodeid = remembered node [node_sel] */
#define XSH_FZ_FH	0x04u	/* fh = remembered handle [fh_sel] */
#define XSH_FZ_NODE2	0x08u	/* newparent / nodeid_out = node [node2_sel] */
#define XSH_FZ_FH2	0x10u	/* copy.fh_out = handle [fh2_sel] */
#define XSH_FZ_STALE	0x20u	/* bump the generation of substituted ids */

struct xsh_fz_rec_hdr {
	uint8_t flags;
	uint8_t node_sel;	/* node 0 is the root */
	uint8_t fh_sel;
	uint8_t node2_sel;
	uint8_t fh2_sel;
	uint8_t out_kib;	/* room after the input: buf_len = in + 1K*n */
	uint16_t in_len;	/* little-endian */
};

#endif /* XSH_FUZZ_HARNESS_H */
