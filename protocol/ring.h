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
#ifndef XS_RING_H
#define XS_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenshare_proto.h"

struct xs_ring {
	struct xs_ring_hdr *hdr;	/* shared */
	uint8_t *slots;			/* shared, nr_slots * XS_SLOT_SIZE */
	uint32_t nr_slots;		/* power of two */
	/* private */
	uint32_t req_prod_pvt;		/* frontend */
	uint32_t rsp_cons;		/* frontend */
	uint32_t req_cons;		/* backend */
	uint32_t rsp_prod_pvt;		/* backend */
	uint32_t pushed;		/* last index this side published */
};

/* Slots a ring of ring_bytes holds; 0 if it is too small. */
uint32_t xs_ring_nr_slots(size_t ring_bytes);

/* Frontend: zero the shared header and take the ring (also after a
 * reconnect). -EINVAL if ring_bytes holds no slot. */
int xs_ring_front_init(struct xs_ring *r, void *mem, size_t ring_bytes);
/* Frontend: slots free for new requests. */
unsigned xs_ring_front_free_slots(const struct xs_ring *r);
/* Copy a request into the next free slot (caller checked free slots). */
void xs_ring_front_put_req(struct xs_ring *r, const struct xs_req *req);
/* Publish queued requests; true if the backend must be notified. */
bool xs_ring_front_push(struct xs_ring *r);
/* Take one response: 1 got one, 0 none pending, -EPROTO bad backend index. */
int xs_ring_front_get_rsp(struct xs_ring *r, struct xs_rsp *rsp);
/* After draining: re-arm rsp_event; true if more responses arrived. */
bool xs_ring_front_final_check(struct xs_ring *r);
/* The backend's published rsp_prod: a hint for a thread watching for
 * responses without the lock (it changes when one arrives). */
uint32_t xs_ring_front_rsp_prod(const struct xs_ring *r);

/* Backend: take a ring whose header the frontend initialised.  Starts at
 * the published rsp_prod, so requests queued before the attach are
 * served. */
int xs_ring_back_attach(struct xs_ring *r, void *mem, size_t ring_bytes);
/* Take one request: 1 got one (copied), 0 none, -EPROTO producer overflow. */
int xs_ring_back_get_req(struct xs_ring *r, struct xs_req *req);
/* After draining: re-arm req_event; true if more requests arrived. */
bool xs_ring_back_final_check(struct xs_ring *r);
/* Whether the frontend has published requests not yet taken (a hint). */
bool xs_ring_back_pending(const struct xs_ring *r);
/* Write a response into the next response slot. */
void xs_ring_back_put_rsp(struct xs_ring *r, const struct xs_rsp *rsp);
/* Publish responses; true if the frontend must be notified. */
bool xs_ring_back_push(struct xs_ring *r);

#endif /* XS_RING_H */
