/* SPDX-License-Identifier: MIT */
/*
 * Rings over any shared memory (protocol/xenshare_proto.h describes the
 * layout).  No I/O and no transport knowledge: the caller notifies the peer
 * when a push says so.
 *
 * Trust: the backend side treats every shared index as hostile.  Each slot
 * is copied out exactly once (the caller validates the copy), and a
 * producer index that runs more than nr_slots ahead is a protocol error.
 * The frontend side checks the backend's indices too, so a broken backend
 * cannot make it read past its ring.
 *
 * Locking: none inside.  One thread at a time per side of a ring (the
 * caller's lock).
 */
#ifndef XSH_RING_H
#define XSH_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenshare_proto.h"

struct xsh_ring {
	struct xsh_ring_hdr *hdr;	/* shared */
	uint8_t *slots;			/* shared, nr_slots * XSH_SLOT_SIZE */
	uint32_t nr_slots;		/* power of two */
	/* private */
	uint32_t req_prod_pvt;		/* frontend */
	uint32_t rsp_cons;		/* frontend */
	uint32_t req_cons;		/* backend */
	uint32_t rsp_prod_pvt;		/* backend */
	uint32_t pushed;		/* last index this side published */
};

/* Slots a ring of ring_bytes holds; 0 if it is too small. */
uint32_t xsh_ring_nr_slots(size_t ring_bytes);

/* Frontend: zero the shared header and take the ring (also after a
 * reconnect). -EINVAL if ring_bytes holds no slot. */
int xsh_ring_front_init(struct xsh_ring *r, void *mem, size_t ring_bytes);
/* Frontend: slots free for new requests. */
unsigned xsh_ring_front_free_slots(const struct xsh_ring *r);
/* Copy a request into the next free slot (caller checked free slots). */
void xsh_ring_front_put_req(struct xsh_ring *r, const struct xsh_req *req);
/* Publish queued requests; true if the backend must be notified. */
bool xsh_ring_front_push(struct xsh_ring *r);
/* Take one response: 1 got one, 0 none pending, -EPROTO bad backend index. */
int xsh_ring_front_get_rsp(struct xsh_ring *r, struct xsh_rsp *rsp);
/* After draining: re-arm rsp_event; true if more responses arrived. */
bool xsh_ring_front_final_check(struct xsh_ring *r);
/* The backend's published rsp_prod: a hint for a thread watching for
 * responses without the lock (it changes when one arrives). */
uint32_t xsh_ring_front_rsp_prod(const struct xsh_ring *r);

/* Backend: take a ring whose header the frontend initialised.  Starts at
 * the published rsp_prod, so requests queued before the attach are
 * served. */
int xsh_ring_back_attach(struct xsh_ring *r, void *mem, size_t ring_bytes);
/* Take one request: 1 got one (copied), 0 none, -EPROTO producer overflow. */
int xsh_ring_back_get_req(struct xsh_ring *r, struct xsh_req *req);
/* After draining: re-arm req_event; true if more requests arrived. */
bool xsh_ring_back_final_check(struct xsh_ring *r);
/* Whether the frontend has published requests not yet taken (a hint). */
bool xsh_ring_back_pending(const struct xsh_ring *r);
/* Write a response into the next response slot. */
void xsh_ring_back_put_rsp(struct xsh_ring *r, const struct xsh_rsp *rsp);
/* Publish responses; true if the frontend must be notified. */
bool xsh_ring_back_push(struct xsh_ring *r);

#endif /* XSH_RING_H */
