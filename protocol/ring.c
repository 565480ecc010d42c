// SPDX-License-Identifier: MIT
/*
 * Ring index arithmetic after Xen's io/ring.h, over plain shared memory.
 * Shared indices are read with one atomic load each and never re-read for
 * the same decision; slots are copied with one memcpy.
 */
#include <errno.h>
#include <string.h>

#include "ring.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define FULL_BARRIER() __atomic_thread_fence(__ATOMIC_SEQ_CST)

uint32_t xsh_ring_nr_slots(size_t ring_bytes)
{
	size_t n;
	uint32_t p = 1;

	if (ring_bytes < sizeof(struct xsh_ring_hdr) + XSH_SLOT_SIZE)
		return 0;
	n = (ring_bytes - sizeof(struct xsh_ring_hdr)) / XSH_SLOT_SIZE;
	while ((size_t)p * 2 <= n && p < (1u << 30))
		p *= 2;
	return p;
}

static int ring_setup(struct xsh_ring *r, void *mem, size_t ring_bytes)
{
	memset(r, 0, sizeof(*r));
	r->nr_slots = xsh_ring_nr_slots(ring_bytes);
	if (!r->nr_slots)
		return -EINVAL;
	r->hdr = mem;
	r->slots = (uint8_t *)mem + sizeof(struct xsh_ring_hdr);
	return 0;
}

static void *slot(const struct xsh_ring *r, uint32_t idx)
{
	return r->slots + (size_t)(idx & (r->nr_slots - 1)) * XSH_SLOT_SIZE;
}

/* ---- frontend ---------------------------------------------------------- */

int xsh_ring_front_init(struct xsh_ring *r, void *mem, size_t ring_bytes)
{
	int rc = ring_setup(r, mem, ring_bytes);

	if (rc)
		return rc;
	memset(r->hdr, 0, sizeof(*r->hdr));
	STORE(&r->hdr->req_event, 1);
	STORE(&r->hdr->rsp_event, 1);
	return 0;
}

unsigned xsh_ring_front_free_slots(const struct xsh_ring *r)
{
	return r->nr_slots - (r->req_prod_pvt - r->rsp_cons);
}

void xsh_ring_front_put_req(struct xsh_ring *r, const struct xsh_req *req)
{
	memcpy(slot(r, r->req_prod_pvt), req, sizeof(*req));
	r->req_prod_pvt++;
}

bool xsh_ring_front_push(struct xsh_ring *r)
{
	uint32_t old = r->pushed;
	uint32_t new = r->req_prod_pvt;

	r->pushed = new;
	STORE(&r->hdr->req_prod, new);
	FULL_BARRIER();
	return (uint32_t)(new - LOAD(&r->hdr->req_event)) <
	       (uint32_t)(new - old);
}

int xsh_ring_front_get_rsp(struct xsh_ring *r, struct xsh_rsp *rsp)
{
	uint32_t prod = LOAD(&r->hdr->rsp_prod);

	if (prod == r->rsp_cons)
		return 0;
	/* More responses than outstanding requests: a broken backend. */
	if ((uint32_t)(prod - r->rsp_cons) >
	    (uint32_t)(r->req_prod_pvt - r->rsp_cons))
		return -EPROTO;
	memcpy(rsp, slot(r, r->rsp_cons), sizeof(*rsp));
	r->rsp_cons++;
	return 1;
}

bool xsh_ring_front_final_check(struct xsh_ring *r)
{
	if (LOAD(&r->hdr->rsp_prod) != r->rsp_cons)
		return true;
	STORE(&r->hdr->rsp_event, r->rsp_cons + 1);
	FULL_BARRIER();
	return LOAD(&r->hdr->rsp_prod) != r->rsp_cons;
}

uint32_t xsh_ring_front_rsp_prod(const struct xsh_ring *r)
{
	return LOAD(&r->hdr->rsp_prod);
}

/* ---- backend ----------------------------------------------------------- */

int xsh_ring_back_attach(struct xsh_ring *r, void *mem, size_t ring_bytes)
{
	int rc = ring_setup(r, mem, ring_bytes);

	if (rc)
		return rc;
	/* Start where responses left off (0 on a fresh ring): requests the
	 * frontend published before we attached are still consumed.  A
	 * frontend that starts mid-ring only confuses itself; the overflow
	 * check still bounds what we consume. */
	r->req_cons = LOAD(&r->hdr->rsp_prod);
	r->rsp_prod_pvt = r->req_cons;
	r->pushed = r->req_cons;
	STORE(&r->hdr->req_event, r->req_cons + 1);
	return 0;
}

int xsh_ring_back_get_req(struct xsh_ring *r, struct xsh_req *req)
{
	uint32_t prod = LOAD(&r->hdr->req_prod);

	if (prod == r->req_cons)
		return 0;
	/* The frontend may have at most nr_slots requests that we have not
	 * answered; anything beyond is a lie about the ring. */
	if ((uint32_t)(prod - r->rsp_prod_pvt) > r->nr_slots)
		return -EPROTO;
	/* All consumed slots unanswered: wait for a response to free one
	 * (cannot happen with a correct frontend, checked for safety). */
	if ((uint32_t)(r->req_cons - r->rsp_prod_pvt) >= r->nr_slots)
		return 0;
	memcpy(req, slot(r, r->req_cons), sizeof(*req));
	r->req_cons++;
	return 1;
}

bool xsh_ring_back_pending(const struct xsh_ring *r)
{
	return LOAD(&r->hdr->req_prod) != r->req_cons;
}

bool xsh_ring_back_final_check(struct xsh_ring *r)
{
	if (LOAD(&r->hdr->req_prod) != r->req_cons)
		return true;
	STORE(&r->hdr->req_event, r->req_cons + 1);
	FULL_BARRIER();
	return LOAD(&r->hdr->req_prod) != r->req_cons;
}

void xsh_ring_back_put_rsp(struct xsh_ring *r, const struct xsh_rsp *rsp)
{
	memcpy(slot(r, r->rsp_prod_pvt), rsp, sizeof(*rsp));
	r->rsp_prod_pvt++;
}

bool xsh_ring_back_push(struct xsh_ring *r)
{
	uint32_t old = r->pushed;
	uint32_t new = r->rsp_prod_pvt;

	r->pushed = new;
	STORE(&r->hdr->rsp_prod, new);
	FULL_BARRIER();
	return (uint32_t)(new - LOAD(&r->hdr->rsp_event)) <
	       (uint32_t)(new - old);
}
