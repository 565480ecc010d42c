/* SPDX-License-Identifier: MIT */
/*
 * The frontend's restore table: what a new backend session needs to
 * carry on where a lost one stopped (REOPEN, protocol header
 * "Persistent node handles").  For every node id the guest kernel holds:
 * its lookup count and persistent handle; for every open file and
 * directory: its fh, node id and open flags.
 *
 * The request client keeps it exact by accounting each request at the one
 * moment its effect is certain: replies that count lookups or open
 * handles when the response is taken off the ring, FORGET and RELEASE(DIR)
 * when the request is put on it.  In-flight FORGETs and RELEASEs are then
 * already reflected and are not resent after a reconnect.
 *
 * Knows nothing about FUSE or transports.  Thread-safe (one mutex).
 * Trust: the backend's replies were checked by the client before they get
 * here; directory records are parsed by the codec from a private copy.
 */
#ifndef XSH_FRONT_RESTORE_H
#define XSH_FRONT_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/xenshare_proto.h"

struct xsh_restore;

struct xsh_restore_node {
	uint64_t id;
	uint64_t nlookup;
	uint32_t hlen;			/* 0: the backend gave no handle */
	uint8_t h[XSH_HANDLE_MAX];
};

struct xsh_restore_fh {
	uint64_t fh;
	uint64_t nodeid;
	uint32_t kind;			/* XSH_REOPEN_FILE or XSH_REOPEN_DIR */
	uint32_t flags;
};

int xsh_restore_new(struct xsh_restore **out);
void xsh_restore_free(struct xsh_restore *r);

/* A successful response to req: out is the private copy of its output
 * (rsp->out_len bytes).  Counts lookups and adds open handles. */
void xsh_restore_note_reply(struct xsh_restore *r, const struct xsh_req *req,
			   const struct xsh_rsp *rsp, const void *out);
/* req is being put on a ring; in is its input (in_len bytes, private).
 * Drops FORGETs' lookups and RELEASEs' handles. */
void xsh_restore_note_send(struct xsh_restore *r, const struct xsh_req *req,
			  const void *in, uint32_t in_len);
/* Requests whose whole effect is accounted by note_send: not resent. */
bool xsh_restore_send_only(unsigned opcode);
/* Replies note_reply reads output of (the client copies it first). */
bool xsh_restore_wants_output(unsigned opcode);

/* Copies of the table, in no particular order (malloc'ed arrays, freed
 * by the caller).  Sizes, or -ENOMEM.  Nodes and handles a new session
 * could not restore stay in the table until the guest lets go of them:
 * every later session is told about them again. */
long xsh_restore_nodes(struct xsh_restore *r, struct xsh_restore_node **out);
long xsh_restore_fhs(struct xsh_restore *r, struct xsh_restore_fh **out);

/* Nodes whose lookups could not be recorded (out of memory): they will
 * be stale after a reconnect. */
uint64_t xsh_restore_untracked(struct xsh_restore *r);

#endif /* XSH_FRONT_RESTORE_H */
