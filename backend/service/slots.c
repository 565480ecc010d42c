// SPDX-License-Identifier: MIT
/*
 * Index + generation slot tables (slots.h).  Trusts its caller: every
 * index from the guest is range-checked here before use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "slots.h"

#define INITIAL_SLOTS 64u

int xsh_slots_init(struct xsh_slots *s, uint32_t first, int full_errno)
{
	memset(s, 0, sizeof(*s));
	s->v = calloc(INITIAL_SLOTS, sizeof(*s->v));
	if (!s->v)
		return -ENOMEM;
	s->cap = INITIAL_SLOTS;
	s->nr = first;
	s->full_errno = full_errno;
	return 0;
}

void xsh_slots_fini(struct xsh_slots *s)
{
	free(s->v);
	s->v = NULL;
}

void *xsh_slots_get(const struct xsh_slots *s, uint32_t index)
{
	return index < s->nr ? s->v[index].obj : NULL;
}

static int grow(struct xsh_slots *s, uint32_t want)
{
	struct xsh_slot *v;
	uint32_t cap = s->cap;

	while (cap < want) {
		if (cap > UINT32_MAX / 2)
			return -s->full_errno;
		cap *= 2;
	}
	if (cap == s->cap)
		return 0;
	v = realloc(s->v, (size_t)cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(v + s->cap, 0, (size_t)(cap - s->cap) * sizeof(*v));
	s->v = v;
	s->cap = cap;
	return 0;
}

static void push_free(struct xsh_slots *s, uint32_t index)
{
	struct xsh_slot *e = &s->v[index];

	if (e->listed)
		return;
	e->next_free = s->free_head;
	e->listed = true;
	s->free_head = index;
}

/* Make slot index exist; the new ones before it go on the free list. */
static int reach(struct xsh_slots *s, uint32_t index)
{
	int rc;

	if (index < s->nr)
		return 0;
	rc = grow(s, index + 1);
	if (rc)
		return rc;
	while (s->nr <= index)
		push_free(s, s->nr++);
	return 0;
}

int xsh_slots_alloc(struct xsh_slots *s, void *obj, uint32_t *index,
		   uint32_t *gen)
{
	struct xsh_slot *e;
	uint32_t i;
	int rc;

	/* Restores take slots without unlinking them from the free list:
	 * skip those still in use. */
	for (;;) {
		if (!s->free_head) {
			rc = grow(s, s->nr + 1);
			if (rc)
				return rc;
			i = s->nr++;
			break;
		}
		i = s->free_head;
		e = &s->v[i];
		s->free_head = e->next_free;
		e->listed = false;
		if (!e->obj)
			break;
	}
	s->v[i].obj = obj;
	*index = i;
	*gen = s->v[i].gen;
	return 0;
}

void xsh_slots_release(struct xsh_slots *s, uint32_t index)
{
	s->v[index].obj = NULL;
	s->v[index].gen++;
	push_free(s, index);
}

int xsh_slots_check(struct xsh_slots *s, uint32_t index, uint32_t gen)
{
	int rc = reach(s, index);

	if (rc)
		return rc;
	if (s->v[index].obj || s->v[index].gen > gen)
		return -EEXIST;
	return 0;
}

void xsh_slots_set(struct xsh_slots *s, uint32_t index, uint32_t gen, void *obj)
{
	s->v[index].gen = gen;
	s->v[index].obj = obj;
}

void xsh_slots_retire(struct xsh_slots *s, uint32_t index, uint32_t gen)
{
	if (reach(s, index))
		return;
	if (!s->v[index].obj && s->v[index].gen <= gen)
		s->v[index].gen = gen + 1;
}
