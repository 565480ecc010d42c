// SPDX-License-Identifier: MIT
/*
 * The frontend's restore table (frontend/restore.h): two hash tables,
 * node id -> (lookup count, persistent handle) and fh -> (node id, kind,
 * open flags), under one mutex.
 *
 * Trust: replies were checked by the client (ids, lengths); directory
 * records are walked with the codec's iterator over a private copy, and
 * handle lengths are bounded by XSH_HANDLE_MAX before they are copied.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/codec.h"
#include "restore.h"

#define INITIAL_BUCKETS	256u
/* Flags a reopened file must not be opened with again. */
#define CREATE_ONLY_FLAGS	((uint32_t)(O_CREAT | O_EXCL | O_TRUNC))

struct rnode {
	struct rnode *next;
	uint64_t id;
	uint64_t nlookup;
	uint32_t hlen;
	uint8_t h[];
};

struct rfh {
	struct rfh *next;
	struct xsh_restore_fh v;
};

struct ntab {
	struct rnode **b;	/* chains */
	size_t nb;		/* power of two */
	size_t n;
};

struct ftab {
	struct rfh **b;
	size_t nb;
	size_t n;
};

struct xsh_restore {
	pthread_mutex_t lock;
	struct ntab nodes;	/* lock */
	struct ftab fhs;	/* lock */
	uint64_t untracked;	/* lock */
};

/* ---- hash tables (lock held) -------------------------------------------- */

static size_t slot(size_t nb, uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & (nb - 1);
}

static struct rnode *node_find(struct xsh_restore *r, uint64_t id,
			       struct rnode ***link)
{
	struct rnode **p = &r->nodes.b[slot(r->nodes.nb, id)];

	for (; *p; p = &(*p)->next)
		if ((*p)->id == id)
			break;
	if (link)
		*link = p;
	return *p;
}

static struct rfh *fh_find(struct xsh_restore *r, uint64_t fh,
			   struct rfh ***link)
{
	struct rfh **p = &r->fhs.b[slot(r->fhs.nb, fh)];

	for (; *p; p = &(*p)->next)
		if ((*p)->v.fh == fh)
			break;
	if (link)
		*link = p;
	return *p;
}

/* Double the buckets when the table is as full as it is wide; a failed
 * allocation only makes chains longer. */
static void node_grow(struct xsh_restore *r)
{
	struct ntab *t = &r->nodes, nt;
	struct rnode *n, *next;
	size_t i;

	if (t->n < t->nb)
		return;
	nt.nb = t->nb * 2;
	nt.b = calloc(nt.nb, sizeof(*nt.b));
	if (!nt.b)
		return;
	for (i = 0; i < t->nb; i++) {
		for (n = t->b[i]; n; n = next) {
			next = n->next;
			n->next = nt.b[slot(nt.nb, n->id)];
			nt.b[slot(nt.nb, n->id)] = n;
		}
	}
	free(t->b);
	t->b = nt.b;
	t->nb = nt.nb;
}

static void fh_grow(struct xsh_restore *r)
{
	struct ftab *t = &r->fhs, nt;
	struct rfh *f, *next;
	size_t i;

	if (t->n < t->nb)
		return;
	nt.nb = t->nb * 2;
	nt.b = calloc(nt.nb, sizeof(*nt.b));
	if (!nt.b)
		return;
	for (i = 0; i < t->nb; i++) {
		for (f = t->b[i]; f; f = next) {
			next = f->next;
			f->next = nt.b[slot(nt.nb, f->v.fh)];
			nt.b[slot(nt.nb, f->v.fh)] = f;
		}
	}
	free(t->b);
	t->b = nt.b;
	t->nb = nt.nb;
}

/* ---- accounting (lock held) ---------------------------------------------- */

static void node_add(struct xsh_restore *r, uint64_t id, const void *h,
		     uint32_t hlen)
{
	struct rnode **link, *n, *bigger;

	if (!id || id == XSH_ROOT_NODEID)
		return;
	if (hlen > XSH_HANDLE_MAX)
		hlen = 0;
	n = node_find(r, id, &link);
	if (n) {
		n->nlookup++;
		if (hlen > n->hlen) {
			bigger = realloc(n, sizeof(*n) + hlen);
			if (!bigger)
				return;
			*link = n = bigger;
		}
		if (hlen) {
			memcpy(n->h, h, hlen);
			n->hlen = hlen;
		}
		return;
	}
	n = malloc(sizeof(*n) + hlen);
	if (!n) {
		r->untracked++;
		return;
	}
	n->id = id;
	n->nlookup = 1;
	n->hlen = hlen;
	if (hlen)
		memcpy(n->h, h, hlen);
	n->next = *link;
	*link = n;
	r->nodes.n++;
	node_grow(r);
}

static void node_forget(struct xsh_restore *r, uint64_t id, uint64_t nlookup)
{
	struct rnode **link, *n = node_find(r, id, &link);

	if (!n)
		return;
	n->nlookup -= nlookup < n->nlookup ? nlookup : n->nlookup;
	if (n->nlookup)
		return;
	*link = n->next;
	r->nodes.n--;
	free(n);
}

static void fh_add(struct xsh_restore *r, uint64_t fh, uint64_t nodeid,
		   uint32_t kind, uint32_t flags)
{
	struct rfh **link, *f = fh_find(r, fh, &link);

	if (!f) {
		f = malloc(sizeof(*f));
		if (!f) {
			r->untracked++;
			return;
		}
		f->next = *link;
		*link = f;
		r->fhs.n++;
		fh_grow(r);
	}
	f->v.fh = fh;
	f->v.nodeid = nodeid;
	f->v.kind = kind;
	f->v.flags = flags & ~CREATE_ONLY_FLAGS;
}

static void fh_del(struct xsh_restore *r, uint64_t fh)
{
	struct rfh **link, *f = fh_find(r, fh, &link);

	if (!f)
		return;
	*link = f->next;
	r->fhs.n--;
	free(f);
}

static void note_dirents(struct xsh_restore *r, const void *out, uint32_t len)
{
	const struct xsh_direntplus *d;
	struct xsh_direntplus hdr;
	const char *name;
	uint32_t pos = 0;
	int n;

	while ((n = xsh_codec_next_direntplus(out, len, pos, &d, &name)) > 0) {
		pos += (uint32_t)n;
		memcpy(&hdr, d, sizeof(hdr));
		node_add(r, hdr.entry.nodeid, name + hdr.dirent.namelen,
			 hdr.dirent.handle_len);
	}
}

/* ---- API ----------------------------------------------------------------- */

int xsh_restore_new(struct xsh_restore **out)
{
	struct xsh_restore *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->nodes.nb = r->fhs.nb = INITIAL_BUCKETS;
	r->nodes.b = calloc(INITIAL_BUCKETS, sizeof(*r->nodes.b));
	r->fhs.b = calloc(INITIAL_BUCKETS, sizeof(*r->fhs.b));
	if (!r->nodes.b || !r->fhs.b) {
		free(r->nodes.b);
		free(r->fhs.b);
		free(r);
		return -ENOMEM;
	}
	pthread_mutex_init(&r->lock, NULL);
	*out = r;
	return 0;
}

void xsh_restore_free(struct xsh_restore *r)
{
	struct rnode *n, *nn;
	struct rfh *f, *fn;
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nodes.nb; i++)
		for (n = r->nodes.b[i]; n; n = nn) {
			nn = n->next;
			free(n);
		}
	for (i = 0; i < r->fhs.nb; i++)
		for (f = r->fhs.b[i]; f; f = fn) {
			fn = f->next;
			free(f);
		}
	free(r->nodes.b);
	free(r->fhs.b);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

bool xsh_restore_wants_output(unsigned opcode)
{
	return xsh_op_flags(opcode) &
	       (XSH_OPF_ENTRY | XSH_OPF_DIRENTS_PLUS);
}

bool xsh_restore_send_only(unsigned opcode)
{
	return xsh_op_flags(opcode) & (XSH_OPF_FORGETS | XSH_OPF_RELEASES);
}

void xsh_restore_note_reply(struct xsh_restore *r, const struct xsh_req *req,
			   const struct xsh_rsp *rsp, const void *out)
{
	const struct xsh_rsp_entry *e = &rsp->u.entry;
	unsigned flags = xsh_op_flags(req->opcode);

	pthread_mutex_lock(&r->lock);
	if (flags & XSH_OPF_ENTRY)
		node_add(r, e->nodeid, out, rsp->out_len);
	if ((flags & XSH_OPF_ENTRY) && (flags & XSH_OPF_OPENS))
		fh_add(r, e->fh, e->nodeid, XSH_REOPEN_FILE, req->a.open.flags);
	else if (flags & XSH_OPF_OPENS)
		fh_add(r, rsp->u.fh, req->nodeid, XSH_REOPEN_FILE,
		       req->a.open.flags);
	if (flags & XSH_OPF_OPENS_DIR)
		fh_add(r, rsp->u.fh, req->nodeid, XSH_REOPEN_DIR,
		       req->a.open.flags);
	if (flags & XSH_OPF_DIRENTS_PLUS)
		note_dirents(r, out, rsp->out_len);
	pthread_mutex_unlock(&r->lock);
}

void xsh_restore_note_send(struct xsh_restore *r, const struct xsh_req *req,
			  const void *in, uint32_t in_len)
{
	struct xsh_forget_one f;
	unsigned flags = xsh_op_flags(req->opcode);
	uint32_t i;

	pthread_mutex_lock(&r->lock);
	if (flags & XSH_OPF_FORGETS) {
		for (i = 0; i + sizeof(f) <= in_len; i += sizeof(f)) {
			memcpy(&f, (const uint8_t *)in + i, sizeof(f));
			node_forget(r, f.nodeid, f.nlookup);
		}
	}
	if (flags & XSH_OPF_RELEASES)
		fh_del(r, req->fh);
	pthread_mutex_unlock(&r->lock);
}

long xsh_restore_nodes(struct xsh_restore *r, struct xsh_restore_node **out)
{
	struct xsh_restore_node *v;
	struct rnode *n;
	size_t i, k = 0;

	pthread_mutex_lock(&r->lock);
	v = calloc(r->nodes.n ? r->nodes.n : 1, sizeof(*v));
	if (!v) {
		pthread_mutex_unlock(&r->lock);
		return -ENOMEM;
	}
	for (i = 0; i < r->nodes.nb; i++)
		for (n = r->nodes.b[i]; n; n = n->next) {
			v[k].id = n->id;
			v[k].nlookup = n->nlookup;
			v[k].hlen = n->hlen;
			memcpy(v[k].h, n->h, n->hlen);
			k++;
		}
	pthread_mutex_unlock(&r->lock);
	*out = v;
	return (long)k;
}

long xsh_restore_fhs(struct xsh_restore *r, struct xsh_restore_fh **out)
{
	struct xsh_restore_fh *v;
	struct rfh *f;
	size_t i, k = 0;

	pthread_mutex_lock(&r->lock);
	v = calloc(r->fhs.n ? r->fhs.n : 1, sizeof(*v));
	if (!v) {
		pthread_mutex_unlock(&r->lock);
		return -ENOMEM;
	}
	for (i = 0; i < r->fhs.nb; i++)
		for (f = r->fhs.b[i]; f; f = f->next)
			v[k++] = f->v;
	pthread_mutex_unlock(&r->lock);
	*out = v;
	return (long)k;
}

uint64_t xsh_restore_untracked(struct xsh_restore *r)
{
	uint64_t n;

	pthread_mutex_lock(&r->lock);
	n = r->untracked;
	pthread_mutex_unlock(&r->lock);
	return n;
}
