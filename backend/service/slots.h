/* SPDX-License-Identifier: MIT */
/*
 * Index + generation slot tables: what the guest sees as a node id or a
 * file handle is (generation << 32 | index) into one of these, never a
 * pointer.  A freed slot's generation moves on, so an old id answers
 * "stale" instead of naming whatever took the slot next.
 *
 * Private to the file service (backend/service/node.c, backend/service/handle.c).
 * Locking: none inside; the owning table's lock.
 */
#ifndef XSH_SLOTS_H
#define XSH_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

struct xsh_slot {
	void *obj;		/* NULL when free */
	uint32_t gen;		/* generation of the next/current object */
	uint32_t next_free;
	bool listed;		/* on the free list */
};

struct xsh_slots {
	struct xsh_slot *v;
	uint32_t nr;		/* slots in use or on the free list */
	uint32_t cap;
	uint32_t free_head;	/* 0 = empty */
	int full_errno;		/* what a table that cannot grow answers */
};

/* Indices below first are never handed out.  0 or -ENOMEM. */
int xsh_slots_init(struct xsh_slots *s, uint32_t first, int full_errno);
void xsh_slots_fini(struct xsh_slots *s);
/* The object at index, or NULL (out of range or free). */
void *xsh_slots_get(const struct xsh_slots *s, uint32_t index);
/* Put obj in a free slot: its index and generation.  0 or -errno. */
int xsh_slots_alloc(struct xsh_slots *s, void *obj, uint32_t *index,
		   uint32_t *gen);
/* Empty a slot; its generation moves on. */
void xsh_slots_release(struct xsh_slots *s, uint32_t index);
/* Restoring an id: may (index, gen) be taken?  0, -EEXIST (in use, or an
 * older generation than the slot has reached), or -errno. */
int xsh_slots_check(struct xsh_slots *s, uint32_t index, uint32_t gen);
/* Take (index, gen) after xsh_slots_check() said yes. */
void xsh_slots_set(struct xsh_slots *s, uint32_t index, uint32_t gen, void *obj);
/* An id that could not be restored must never name anything: move the
 * free slot's generation past gen. */
void xsh_slots_retire(struct xsh_slots *s, uint32_t index, uint32_t gen);

#endif /* XSH_SLOTS_H */
