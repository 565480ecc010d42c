// SPDX-License-Identifier: MIT
/*
 * The per-session handle table (backend/service/handle.h).
 *
 * Trust: fh values come from the guest and are only used as table keys
 * after bounds, generation, node and kind checks.  The process-wide
 * count keeps the guest's opens within the descriptors set aside for them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "handle.h"
#include "quota.h"
#include "slots.h"

#define MIN_FD_BUDGET	4u
/* Highest index a restore may ask for (REOPEN). */
#define RESTORE_MAX_INDEX	(1u << 20)

/* As in node.c: a slot a restore took while it was on the free list stays
 * listed; allocation skips it. */
struct xsh_handle_table {
	pthread_mutex_t lock;
	struct xsh_slots slots;	/* lock */
	uint32_t count;		/* lock */
	struct xsh_quota *quota;	/* set before use; NULL: none */
};

/* Shared by every table of the process; atomics. */
static uint32_t fds_open;
static uint32_t fd_budget;	/* 0 until first set */

static uint32_t default_budget(void)
{
	struct rlimit rl;
	uint64_t cur;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		cur = 1024;
	else if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > UINT32_MAX)
		cur = UINT32_MAX;
	else
		cur = rl.rlim_cur;
	cur /= 4;
	return cur < MIN_FD_BUDGET ? MIN_FD_BUDGET : (uint32_t)cur;
}

void xsh_handles_set_fd_budget(uint32_t n)
{
	__atomic_store_n(&fd_budget, n ? n : default_budget(),
			 __ATOMIC_RELAXED);
}

uint32_t xsh_handles_fd_budget(void)
{
	return __atomic_load_n(&fd_budget, __ATOMIC_RELAXED);
}

uint32_t xsh_handles_fds_open(void)
{
	return __atomic_load_n(&fds_open, __ATOMIC_RELAXED);
}

static bool charge_fd(void)
{
	uint32_t b = __atomic_load_n(&fd_budget, __ATOMIC_RELAXED);

	if (__atomic_add_fetch(&fds_open, 1, __ATOMIC_RELAXED) <= b)
		return true;
	__atomic_sub_fetch(&fds_open, 1, __ATOMIC_RELAXED);
	return false;
}

static void uncharge_fd(void)
{
	__atomic_sub_fetch(&fds_open, 1, __ATOMIC_RELAXED);
}

static void handle_unpin(struct xsh_handle *h)
{
	if (h->qi)
		xsh_quota_ino_close(h->quota, h->qi, h->fd, NULL);
}

/* A handle never added to a table. */
static void handle_free(struct xsh_handle *h)
{
	handle_unpin(h);
	close(h->fd);
	if (h->dir)
		pthread_mutex_destroy(&h->ds.lock);
	free(h);
}

static void handle_destroy(struct xsh_handle *h)
{
	uncharge_fd();
	handle_unpin(h);
	close(h->fd);
	if (h->dir) {
		pthread_mutex_destroy(&h->ds.lock);
		free(h->ds.buf);
	}
	free(h);
}

int xsh_handles_new(struct xsh_handle_table **out)
{
	struct xsh_handle_table *t;
	uint32_t zero = 0;

	__atomic_compare_exchange_n(&fd_budget, &zero, default_budget(), false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (xsh_slots_init(&t->slots, 1, EMFILE)) {
		free(t);
		return -ENOMEM;
	}
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

void xsh_handles_free(struct xsh_handle_table *t)
{
	uint32_t i;

	if (!t)
		return;
	for (i = 1; i < t->slots.nr; i++)
		if (xsh_slots_get(&t->slots, i))
			handle_destroy(xsh_slots_get(&t->slots, i));
	pthread_mutex_destroy(&t->lock);
	xsh_slots_fini(&t->slots);
	free(t);
}

void xsh_handles_set_quota(struct xsh_handle_table *t, struct xsh_quota *q)
{
	t->quota = q;
}

/* A new handle for fd (closed on failure), a file's inode pinned in the
 * quota's table; NULL without memory. */
static struct xsh_handle *handle_make(struct xsh_handle_table *t, int fd,
				      uint64_t nodeid, bool dir)
{
	struct xsh_handle *h = calloc(1, sizeof(*h));

	if (!h) {
		close(fd);
		return NULL;
	}
	h->fd = fd;
	h->dir = dir;
	h->nodeid = nodeid;
	h->refs = 1;
	if (dir)
		pthread_mutex_init(&h->ds.lock, NULL);
	else if (t->quota && !xsh_quota_ino_open(t->quota, fd, &h->qi))
		h->quota = t->quota;
	return h;
}

int xsh_handle_add(struct xsh_handle_table *t, int fd, uint64_t nodeid,
		  bool dir, uint32_t max_handles, uint64_t *fh)
{
	struct xsh_handle *h = handle_make(t, fd, nodeid, dir);
	uint32_t index;
	int rc;

	if (!h)
		return -ENOMEM;
	pthread_mutex_lock(&t->lock);
	if (t->count >= max_handles || !charge_fd()) {
		rc = -EMFILE;
		goto fail;
	}
	rc = xsh_slots_alloc(&t->slots, h, &index, &h->gen);
	if (rc) {
		uncharge_fd();
		goto fail;
	}
	h->index = index;
	t->count++;
	*fh = ((uint64_t)h->gen << 32) | index;
	pthread_mutex_unlock(&t->lock);
	return 0;

fail:
	pthread_mutex_unlock(&t->lock);
	handle_free(h);
	return rc;
}

/* Table lock held. */
static struct xsh_handle *find(struct xsh_handle_table *t, uint64_t fh,
			      uint64_t nodeid, bool dir)
{
	uint32_t index = (uint32_t)fh, gen = (uint32_t)(fh >> 32);
	struct xsh_handle *h;

	h = xsh_slots_get(&t->slots, index);
	if (!h || h->gen != gen || h->nodeid != nodeid || h->dir != dir)
		return NULL;
	return h;
}

int xsh_handle_get(struct xsh_handle_table *t, uint64_t fh, uint64_t nodeid,
		  bool dir, struct xsh_handle **out)
{
	struct xsh_handle *h;

	pthread_mutex_lock(&t->lock);
	h = find(t, fh, nodeid, dir);
	if (h)
		h->refs++;
	pthread_mutex_unlock(&t->lock);
	if (!h)
		return -EBADF;
	*out = h;
	return 0;
}

void xsh_handle_put(struct xsh_handle_table *t, struct xsh_handle *h)
{
	uint32_t refs;

	if (!h)
		return;
	pthread_mutex_lock(&t->lock);
	refs = --h->refs;
	pthread_mutex_unlock(&t->lock);
	if (!refs)
		handle_destroy(h);
}

int xsh_handle_release(struct xsh_handle_table *t, uint64_t fh, uint64_t nodeid,
		      bool dir)
{
	struct xsh_handle *h;
	uint32_t refs = 1;

	pthread_mutex_lock(&t->lock);
	h = find(t, fh, nodeid, dir);
	if (h) {
		xsh_slots_release(&t->slots, h->index);
		t->count--;
		refs = --h->refs;
	}
	pthread_mutex_unlock(&t->lock);
	if (!h)
		return -EBADF;
	if (!refs)
		handle_destroy(h);
	return 0;
}

int xsh_handles_follow(struct xsh_handle_table *t, uint64_t nodeid,
		      int (*reopen)(void *arg, int flags), void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	for (uint32_t i = 1; i < t->slots.nr && !rc; i++) {
		struct xsh_handle *h = xsh_slots_get(&t->slots, i);
		int flags, fd;

		if (!h || h->dir || h->nodeid != nodeid)
			continue;
		flags = fcntl(h->fd, F_GETFL);
		if (flags < 0) {
			rc = -errno;
			break;
		}
		fd = reopen(arg, flags & ~(O_CREAT | O_EXCL | O_TRUNC));
		if (fd < 0) {
			rc = fd;
			break;
		}
		if (dup3(fd, h->fd, O_CLOEXEC) < 0)
			rc = -errno;
		close(fd);
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

uint32_t xsh_handles_count(struct xsh_handle_table *t)
{
	uint32_t c;

	pthread_mutex_lock(&t->lock);
	c = t->count;
	pthread_mutex_unlock(&t->lock);
	return c;
}

/* ---- restoring a session (REOPEN) --------------------------------------- */

static bool restorable_index(uint32_t index, uint32_t max_handles)
{
	uint32_t top = max_handles < RESTORE_MAX_INDEX ? max_handles :
		       RESTORE_MAX_INDEX;

	return index > 0 && index <= top;
}

int xsh_handle_restore(struct xsh_handle_table *t, int fd, uint64_t nodeid,
		      bool dir, uint64_t fh, uint32_t max_handles)
{
	uint32_t index = (uint32_t)fh, gen = (uint32_t)(fh >> 32);
	struct xsh_handle *h;
	int rc;

	if (!restorable_index(index, max_handles)) {
		close(fd);
		return -EINVAL;
	}
	h = handle_make(t, fd, nodeid, dir);
	if (!h)
		return -ENOMEM;
	pthread_mutex_lock(&t->lock);
	rc = xsh_slots_check(&t->slots, index, gen);
	if (rc)
		goto fail;
	rc = -EMFILE;
	if (t->count >= max_handles || !charge_fd())
		goto fail;
	xsh_slots_set(&t->slots, index, gen, h);
	h->index = index;
	h->gen = gen;
	t->count++;
	pthread_mutex_unlock(&t->lock);
	return 0;

fail:
	pthread_mutex_unlock(&t->lock);
	handle_free(h);
	return rc;
}

void xsh_handle_retire(struct xsh_handle_table *t, uint64_t fh,
		      uint32_t max_handles)
{
	uint32_t index = (uint32_t)fh, gen = (uint32_t)(fh >> 32);

	if (!restorable_index(index, max_handles) || gen == UINT32_MAX)
		return;
	pthread_mutex_lock(&t->lock);
	xsh_slots_retire(&t->slots, index, gen);
	pthread_mutex_unlock(&t->lock);
}
