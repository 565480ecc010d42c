/* SPDX-License-Identifier: MIT */
/*
 * Index + generation slot tables: what the guest sees as a node id or a
 * file handle is (generation << 32 | index) into one of these, never a
 * pointer.  A freed slot's generation moves on, so an old id answers
 * "stale" instead of naming whatever took the slot next.
 *
 * Private to the file service (backend/node.c, backend/handle.c).
 * Locking: none inside; the owning table's lock.
 */
#ifndef XS_SLOTS_H
#define XS_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

struct xs_slot {
	void *obj;		/* NULL when free */
	uint32_t gen;		/* generation of the next/current object */
	uint32_t next_free;
	bool listed;		/* on the free list */
};

struct xs_slots {
	struct xs_slot *v;
	uint32_t nr;		/* slots in use or on the free list */
	uint32_t cap;
	uint32_t free_head;	/* 0 = empty */
	int full_errno;		/* what a table that cannot grow answers */
};

/* Indices below first are never handed out.  0 or -ENOMEM. */
int xs_slots_init(struct xs_slots *s, uint32_t first, int full_errno);
void xs_slots_fini(struct xs_slots *s);
/* The object at index, or NULL (out of range or free). */
void *xs_slots_get(const struct xs_slots *s, uint32_t index);
/* Put obj in a free slot: its index and generation.  0 or -errno. */
int xs_slots_alloc(struct xs_slots *s, void *obj, uint32_t *index,
		   uint32_t *gen);
/* Empty a slot; its generation moves on. */
void xs_slots_release(struct xs_slots *s, uint32_t index);
/* Restoring an id: may (index, gen) be taken?  0, -EEXIST (in use, or an
 * older generation than the slot has reached), or -errno. */
int xs_slots_check(struct xs_slots *s, uint32_t index, uint32_t gen);
/* Take (index, gen) after xs_slots_check() said yes. */
void xs_slots_set(struct xs_slots *s, uint32_t index, uint32_t gen, void *obj);
/* An id that could not be restored must never name anything: move the
 * free slot's generation past gen. */
void xs_slots_retire(struct xs_slots *s, uint32_t index, uint32_t gen);

#endif /* XS_SLOTS_H */
