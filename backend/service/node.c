// SPDX-License-Identifier: MIT
/*
 * The per-session node table (backend/service/node.h): index + generation ids the
 * guest holds, lookup counts that saturate at zero, and an identity hash so
 * one host file is one node however it was reached; the node fd cache
 * (node fds closed past a budget, reopened by file handle); nodes put back
 * at the ids a guest held before a restart (xsh_node_restore()).
 *
 * Trust: ids and counts come from the guest and are only used as table
 * keys after bounds and generation checks; identities come from the host
 * kernel.  open_by_handle_at() skips every path check, so the only handles
 * it is given are those name_to_handle_at() produced here for fds the file
 * service opened under the export, or such handles a previous backend of
 * this export signed and the caller of xsh_node_restore() verified
 * (backend/service/phandle.h); the only mount fds are directories reached under
 * the export.  A table by name opens only single names (signed by this
 * export's backend, checked again here) under directory nodes with
 * openat(O_PATH|O_NOFOLLOW), and keeps what it opens only when its type,
 * device and inode are those recorded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "node.h"
#include "slots.h"

#define ROOT_INDEX	1u
#define INITIAL_BUCKETS	64u
#define MAX_MOUNTS	16u
#define MIN_FD_BUDGET	8u
/* Highest index a restore may ask for (REOPEN): bounds the slot
 * array a guest can make us allocate. */
#define RESTORE_MAX_INDEX	(1u << 22)
/* Nodes restored by name not found yet that one lookup goes up through. */
#define NAME_MAX_DEPTH		64u
/* A file restored by name that is not under its name any more is looked
 * for by inode: in its old directory, then under the root, reading at most
 * this many entries, this many directories deep. */
#define SEARCH_MAX_ENTRIES	100000u
#define SEARCH_MAX_DEPTH	32u
#define FUSE_MAGIC		0x65735546u

/* A free slot is on the free list (listed) or was taken by a restore
 * while still listed: allocation skips listed slots that hold a node. */
/* A mount the table has seen: fd is an O_RDONLY directory on it (an O_PATH
 * fd does not do for open_by_handle_at()), -1 if its handles cannot be
 * reopened. */
struct mount {
	int mnt_id;
	int fd;
};

struct xsh_node_table {
	pthread_mutex_t lock;
	struct mount mounts[MAX_MOUNTS];	/* lock: entries never change */
	uint32_t nr_mounts;		/* lock */
	struct xsh_slots slots;		/* lock */
	uint32_t count;			/* lock: live nodes besides the root */
	struct xsh_node **buckets;	/* lock */
	uint32_t nr_buckets;		/* lock: power of two */
	uint64_t seed;			/* immutable */
	bool by_name;			/* immutable: no usable file handles */
	uint64_t root_dev, root_ino;	/* immutable */
	int root_fd;			/* immutable: the root node's fd */
	uint64_t fs_type;		/* immutable: statfs f_type of the root */
};

/* The node fd cache, shared by every table of the process. */
static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xsh_node lru = {		/* fd lock: next = most recent */
	.lru_prev = &lru,
	.lru_next = &lru,
};
static uint32_t fds_open;		/* fd lock */
static uint32_t fd_budget;		/* fd lock: 0 until first set */

/* ---- identity ---------------------------------------------------------- */

/* The identity of the file open at fd: its file handle unless by_name or
 * it has none, else st_dev/st_ino. */
static void make_key(bool by_name, int fd, const struct stat *st,
		     struct xsh_nkey *k)
{
	union {
		struct file_handle fh;
		unsigned char space[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} u;
	int mnt_id;

	memset(k, 0, sizeof(*k));
	u.fh.handle_bytes = MAX_HANDLE_SZ;
	if (!by_name &&
	    name_to_handle_at(fd, "", &u.fh, &mnt_id, AT_EMPTY_PATH) == 0 &&
	    u.fh.handle_bytes <= XSH_HANDLE_MAX) {
		k->kind = XSH_NKEY_HANDLE;
		k->mnt_id = mnt_id;
		k->htype = (uint32_t)u.fh.handle_type;
		k->hlen = u.fh.handle_bytes;
		memcpy(k->h, u.fh.f_handle, u.fh.handle_bytes);
		return;
	}
	k->kind = XSH_NKEY_INODE;
	k->dev = st->st_dev;
	k->ino = st->st_ino;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t key_hash(const struct xsh_node_table *t, const struct xsh_nkey *k)
{
	uint64_t h = t->seed ^ 0xcbf29ce484222325ull;

	h = fnv(h, &k->kind, sizeof(k->kind));
	if (k->kind == XSH_NKEY_HANDLE) {
		h = fnv(h, &k->mnt_id, sizeof(k->mnt_id));
		h = fnv(h, &k->htype, sizeof(k->htype));
		h = fnv(h, k->h, k->hlen);
	} else {
		h = fnv(h, &k->dev, sizeof(k->dev));
		h = fnv(h, &k->ino, sizeof(k->ino));
	}
	return h ^ (h >> 29);
}

static int key_eq(const struct xsh_nkey *a, const struct xsh_nkey *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == XSH_NKEY_HANDLE)
		return a->mnt_id == b->mnt_id && a->htype == b->htype &&
		       a->hlen == b->hlen && !memcmp(a->h, b->h, a->hlen);
	return a->dev == b->dev && a->ino == b->ino;
}

/* ---- hash (table lock held) ---------------------------------------------- */

static struct xsh_node *hash_find(struct xsh_node_table *t,
				 const struct xsh_nkey *k, uint64_t h)
{
	struct xsh_node *n;

	for (n = t->buckets[h & (t->nr_buckets - 1)]; n; n = n->hnext)
		if (n->hash == h && key_eq(&n->key, k))
			return n;
	return NULL;
}

static void hash_grow(struct xsh_node_table *t)
{
	uint32_t nb = t->nr_buckets * 2, i;
	struct xsh_node **b, *n, *next;

	if (nb < t->nr_buckets)
		return;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return;	/* chains just get longer */
	for (i = 0; i < t->nr_buckets; i++) {
		for (n = t->buckets[i]; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nr_buckets = nb;
}

static void hash_insert(struct xsh_node_table *t, struct xsh_node *n)
{
	struct xsh_node **b;

	if (t->count + 1 > t->nr_buckets)
		hash_grow(t);
	b = &t->buckets[n->hash & (t->nr_buckets - 1)];
	n->hnext = *b;
	*b = n;
}

static void hash_remove(struct xsh_node_table *t, struct xsh_node *n)
{
	struct xsh_node **p = &t->buckets[n->hash & (t->nr_buckets - 1)];

	for (; *p; p = &(*p)->hnext) {
		if (*p == n) {
			*p = n->hnext;
			n->hnext = NULL;
			return;
		}
	}
}

/* ---- slots (table lock held) ------------------------------------------- */

/* ---- fd cache (fd lock held) -------------------------------------------- */

static void lru_del(struct xsh_node *n)
{
	n->lru_prev->lru_next = n->lru_next;
	n->lru_next->lru_prev = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
	n->on_lru = false;
}

static void lru_add(struct xsh_node *n)
{
	n->lru_next = lru.lru_next;
	n->lru_prev = &lru;
	lru.lru_next->lru_prev = n;
	lru.lru_next = n;
	n->on_lru = true;
}

/* An unpinned node whose fd is open becomes the most recent candidate. */
static void lru_touch(struct xsh_node *n)
{
	if (n->on_lru)
		lru_del(n);
	if (!n->pins && n->fd >= 0 && n->mount_fd >= 0)
		lru_add(n);
}

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
	cur /= 2;
	return cur < MIN_FD_BUDGET ? MIN_FD_BUDGET : (uint32_t)cur;
}

static void evict(void)
{
	struct xsh_node *n;

	while (fds_open > fd_budget && lru.lru_prev != &lru) {
		n = lru.lru_prev;
		lru_del(n);
		close(n->fd);
		n->fd = -1;
		fds_open--;
	}
}

/* Take charge of fd as n's fd if n has none; false if it had one. */
static bool adopt_fd(struct xsh_node *n, int fd)
{
	if (n->fd >= 0)
		return false;
	n->fd = fd;
	fds_open++;
	lru_touch(n);
	evict();
	return true;
}

/* ---- pinning ------------------------------------------------------------ */

static int reopen_by_handle(const struct xsh_node *n)
{
	union {
		struct file_handle fh;
		unsigned char space[sizeof(struct file_handle) + XSH_HANDLE_MAX];
	} u;
	int fd;

	u.fh.handle_bytes = n->key.hlen;
	u.fh.handle_type = (int)n->key.htype;
	memcpy(u.fh.f_handle, n->key.h, n->key.hlen);
	fd = open_by_handle_at(n->mount_fd, &u.fh,
			       O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void node_unpin(struct xsh_node *n)
{
	pthread_mutex_lock(&fd_lock);
	n->pins--;
	lru_touch(n);
	pthread_mutex_unlock(&fd_lock);
}

static int node_pin(struct xsh_node_table *t, struct xsh_node *n,
		    unsigned depth);
static void node_unref(struct xsh_node_table *t, struct xsh_node *n);

/* name under dirfd opened O_PATH if it is the file of type and ino on the
 * root's device: an fd, else -errno (-ESTALE: another file). */
static int open_if(const struct xsh_node_table *t, int dirfd,
		   const char *name, uint32_t type, uint64_t ino)
{
	struct stat st;
	int fd;

	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || (st.st_mode & S_IFMT) != type ||
	    st.st_ino != ino || st.st_dev != t->root_dev) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* Look for the file of type and ino under the directory dirfd, down to
 * depth more levels, reading at most *budget entries: an fd or -ESTALE. */
static int search(const struct xsh_node_table *t, int dirfd, uint32_t type,
		  uint64_t ino, unsigned depth, uint32_t *budget)
{
	struct dirent *d;
	struct stat st;
	int fd, sub, rc = -ESTALE;
	DIR *dir;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -ESTALE;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -ESTALE;
	}
	while (rc == -ESTALE && *budget && (d = readdir(dir))) {
		(*budget)--;
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (d->d_ino == ino) {
			sub = open_if(t, fd, d->d_name, type, ino);
			if (sub >= 0) {
				rc = sub;
				break;
			}
		}
		if (!depth || (d->d_type != DT_DIR && d->d_type != DT_UNKNOWN))
			continue;
		sub = openat(fd, d->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
			     O_CLOEXEC);
		if (sub < 0)
			continue;
		if (!fstat(sub, &st) && st.st_dev == t->root_dev)
			rc = search(t, sub, type, ino, depth - 1, budget);
		close(sub);
	}
	closedir(dir);
	return rc;
}

/* The file of type and ino looked for from dirfd (>= 0: its old
 * directory, one level) and then from the root. */
static int search_ino(const struct xsh_node_table *t, int dirfd,
		      uint32_t type, uint64_t ino)
{
	uint32_t budget = SEARCH_MAX_ENTRIES;
	int fd = -ESTALE;

	if (dirfd >= 0)
		fd = search(t, dirfd, type, ino, 0, &budget);
	if (fd < 0)
		fd = search(t, t->root_fd, type, ino, SEARCH_MAX_DEPTH, &budget);
	return fd;
}

/* Open p->name under the directory node of inode p->parent_ino (a table
 * by name), which must be the file of type and ino, else look for that
 * file by inode: an fd, -ENOENT when that directory has no node, -ESTALE
 * when the file is not found. */
static int open_by_name(struct xsh_node_table *t, const struct xsh_npath *p,
			uint32_t type, uint64_t ino, unsigned depth)
{
	struct xsh_nkey k;
	struct xsh_node *dir;
	int fd, rc;

	if (depth > NAME_MAX_DEPTH)
		return -ESTALE;
	memset(&k, 0, sizeof(k));
	k.kind = XSH_NKEY_INODE;
	k.dev = t->root_dev;
	k.ino = p->parent_ino;
	pthread_mutex_lock(&t->lock);
	dir = hash_find(t, &k, key_hash(t, &k));
	if (dir)
		dir->refs++;
	pthread_mutex_unlock(&t->lock);
	if (!dir)
		return -ENOENT;
	rc = dir->type == S_IFDIR ? node_pin(t, dir, depth + 1) : -ESTALE;
	if (rc) {
		node_unref(t, dir);
		return rc == -ENOENT ? rc : -ESTALE;
	}
	fd = open_if(t, dir->fd, p->name, type, ino);
	if (fd < 0 && fd != -ENOMEM && fd != -EMFILE && fd != -ENFILE)
		fd = search_ino(t, dir->fd, type, ino);
	node_unpin(dir);
	node_unref(t, dir);
	return fd;
}

/* Make n's fd open and keep it so until node_unpin(). */
static int node_pin(struct xsh_node_table *t, struct xsh_node *n,
		    unsigned depth)
{
	int fd;

	pthread_mutex_lock(&fd_lock);
	n->pins++;
	lru_touch(n);
	fd = n->fd;
	pthread_mutex_unlock(&fd_lock);
	if (fd >= 0)
		return 0;

	if (n->path) {
		fd = open_by_name(t, n->path, n->type, n->key.ino, depth);
		if (fd == -ENOENT && !depth)
			fd = search_ino(t, -1, n->type, n->key.ino);
	} else {
		fd = reopen_by_handle(n);
	}
	pthread_mutex_lock(&fd_lock);
	if (fd >= 0 && !adopt_fd(n, fd)) {
		pthread_mutex_unlock(&fd_lock);
		close(fd);	/* another user reopened it first */
		return 0;
	}
	if (n->fd >= 0) {
		pthread_mutex_unlock(&fd_lock);
		return 0;
	}
	pthread_mutex_unlock(&fd_lock);
	node_unpin(n);
	return fd;
}

static void node_destroy(struct xsh_node *n)
{
	int fd;

	pthread_mutex_lock(&fd_lock);
	if (n->on_lru)
		lru_del(n);
	fd = n->fd;
	n->fd = -1;
	if (fd >= 0)
		fds_open--;
	pthread_mutex_unlock(&fd_lock);
	if (fd >= 0)
		close(fd);
	free(n->path);
	free(n);
}

/* Account for a node that arrives with its fd open. */
static void node_fd_opened(struct xsh_node *n)
{
	pthread_mutex_lock(&fd_lock);
	fds_open++;
	lru_touch(n);
	evict();
	pthread_mutex_unlock(&fd_lock);
}

void xsh_nodes_set_fd_budget(uint32_t n)
{
	uint32_t b = n ? n : default_budget();

	pthread_mutex_lock(&fd_lock);
	fd_budget = b;
	evict();
	pthread_mutex_unlock(&fd_lock);
}

uint32_t xsh_nodes_fd_budget(void)
{
	uint32_t b;

	pthread_mutex_lock(&fd_lock);
	b = fd_budget;
	pthread_mutex_unlock(&fd_lock);
	return b;
}

uint32_t xsh_nodes_fds_open(void)
{
	uint32_t c;

	pthread_mutex_lock(&fd_lock);
	c = fds_open;
	pthread_mutex_unlock(&fd_lock);
	return c;
}

static void budget_init(void)
{
	pthread_mutex_lock(&fd_lock);
	if (!fd_budget)
		fd_budget = default_budget();
	pthread_mutex_unlock(&fd_lock);
}

/* ---- mounts ------------------------------------------------------------- */

/* Table lock held. */
static const struct mount *mount_find(struct xsh_node_table *t, int mnt_id)
{
	uint32_t i;

	for (i = 0; i < t->nr_mounts; i++)
		if (t->mounts[i].mnt_id == mnt_id)
			return &t->mounts[i];
	return NULL;
}

/* An fd on the mount of the directory at dirfd from which open_by_handle_at()
 * reopens k (tried once), or -1. */
static int mount_fd_open(int dirfd, const struct xsh_nkey *k)
{
	struct xsh_node probe = { .key = *k };
	struct statfs sf;
	int fd;

	/* A FUSE file system makes handles that open only while the kernel
	 * caches the inode (unless its daemon supports exporting, which
	 * cannot be told from here): never rely on them. */
	if (fstatfs(dirfd, &sf) || (uint32_t)sf.f_type == FUSE_MAGIC)
		return -1;
	probe.mount_fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY |
				O_NOFOLLOW | O_CLOEXEC);
	if (probe.mount_fd < 0)
		return -1;
	fd = reopen_by_handle(&probe);
	if (fd < 0) {
		close(probe.mount_fd);
		return -1;
	}
	close(fd);
	return probe.mount_fd;
}

/* The mount fd a new node with key k (open at fd) is reopened with, or -1.
 * A mount is learnt from the first directory seen on it. */
static int mount_fd_for(struct xsh_node_table *t, const struct xsh_nkey *k,
			int fd, uint32_t type)
{
	const struct mount *m;
	int mfd;

	if (k->kind != XSH_NKEY_HANDLE)
		return -1;
	pthread_mutex_lock(&t->lock);
	m = mount_find(t, k->mnt_id);
	mfd = m ? m->fd : -1;
	pthread_mutex_unlock(&t->lock);
	if (m || type != S_IFDIR)
		return mfd;

	mfd = mount_fd_open(fd, k);
	pthread_mutex_lock(&t->lock);
	m = mount_find(t, k->mnt_id);
	if (!m && t->nr_mounts < MAX_MOUNTS) {
		t->mounts[t->nr_mounts].mnt_id = k->mnt_id;
		t->mounts[t->nr_mounts].fd = mfd;
		m = &t->mounts[t->nr_mounts++];
	}
	pthread_mutex_unlock(&t->lock);
	if (m && m->fd == mfd)
		return mfd;
	if (mfd >= 0)
		close(mfd);
	return m ? m->fd : -1;
}

/* ---- API --------------------------------------------------------------- */

int xsh_nodes_new(int root_fd, struct xsh_node_table **out)
{
	struct xsh_node_table *t;
	struct xsh_node *root;
	struct statfs sf;
	const char *why;
	struct stat st;

	budget_init();
	if (fstatat(root_fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		goto fail_errno;
	t = calloc(1, sizeof(*t));
	root = calloc(1, sizeof(*root));
	if (!t || !root)
		goto fail_t;
	t->buckets = calloc(INITIAL_BUCKETS, sizeof(*t->buckets));
	if (!t->buckets || xsh_slots_init(&t->slots, ROOT_INDEX + 1, ENFILE))
		goto fail_t;
	t->nr_buckets = INITIAL_BUCKETS;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) !=
	    sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t ^ (uint64_t)getpid();
	pthread_mutex_init(&t->lock, NULL);

	root->fd = root_fd;
	root->mount_fd = -1;
	root->type = st.st_mode & S_IFMT;
	root->index = ROOT_INDEX;
	root->gen = 0;
	root->nlookup = 1;
	root->refs = 1;
	t->by_name = !xsh_nodes_recovery(root_fd, &why);
	t->root_dev = st.st_dev;
	t->root_ino = st.st_ino;
	t->root_fd = root_fd;
	t->fs_type = fstatfs(root_fd, &sf) ? 0 : (uint64_t)sf.f_type;
	make_key(t->by_name, root_fd, &st, &root->key);
	root->hash = key_hash(t, &root->key);
	xsh_slots_set(&t->slots, ROOT_INDEX, 0, root);
	hash_insert(t, root);
	node_fd_opened(root);
	mount_fd_for(t, &root->key, root_fd, root->type);
	*out = t;
	return 0;

fail_t:
	if (t) {
		xsh_slots_fini(&t->slots);
		free(t->buckets);
	}
	free(t);
	free(root);
	close(root_fd);
	return -ENOMEM;
fail_errno:
	{
		int err = errno;

		close(root_fd);
		return -err;
	}
}

void xsh_nodes_free(struct xsh_node_table *t)
{
	uint32_t i;

	if (!t)
		return;
	for (i = 1; i < t->slots.nr; i++)
		if (xsh_slots_get(&t->slots, i))
			node_destroy(xsh_slots_get(&t->slots, i));
	for (i = 0; i < t->nr_mounts; i++)
		if (t->mounts[i].fd >= 0)
			close(t->mounts[i].fd);
	pthread_mutex_destroy(&t->lock);
	xsh_slots_fini(&t->slots);
	free(t->buckets);
	free(t);
}

static void node_unref(struct xsh_node_table *t, struct xsh_node *n)
{
	uint32_t refs;

	pthread_mutex_lock(&t->lock);
	refs = --n->refs;
	pthread_mutex_unlock(&t->lock);
	if (!refs)
		node_destroy(n);
}

int xsh_node_get(struct xsh_node_table *t, uint64_t id, struct xsh_node **out)
{
	uint32_t index = (uint32_t)id, gen = (uint32_t)(id >> 32);
	struct xsh_node *n;
	int rc;

	pthread_mutex_lock(&t->lock);
	n = xsh_slots_get(&t->slots, index);
	if (!n || n->gen != gen) {
		pthread_mutex_unlock(&t->lock);
		return -ESTALE;
	}
	n->refs++;
	pthread_mutex_unlock(&t->lock);
	rc = node_pin(t, n, 0);
	if (rc) {
		node_unref(t, n);
		return rc == -ENOENT ? -ESTALE : rc;
	}
	*out = n;
	return 0;
}

void xsh_node_put(struct xsh_node_table *t, struct xsh_node *n)
{
	if (!n)
		return;
	node_unpin(n);
	node_unref(t, n);
}

int xsh_node_lookup_fd(struct xsh_node_table *t, int fd, const struct stat *st,
		      uint32_t max_nodes, uint64_t *id, uint32_t *gen)
{
	struct xsh_node *n, *fresh;
	uint32_t index;
	bool adopted;
	int rc;

	fresh = calloc(1, sizeof(*fresh));
	if (!fresh) {
		close(fd);
		return -ENOMEM;
	}
	make_key(t->by_name, fd, st, &fresh->key);
	fresh->hash = key_hash(t, &fresh->key);
	fresh->mount_fd = mount_fd_for(t, &fresh->key, fd,
				       st->st_mode & S_IFMT);

	pthread_mutex_lock(&t->lock);
	n = hash_find(t, &fresh->key, fresh->hash);
	if (n) {
		if (n->index != ROOT_INDEX && n->nlookup != UINT64_MAX)
			n->nlookup++;
		*id = xsh_node_id(n);
		*gen = n->gen;
		/* An evicted node takes the fd just opened. */
		pthread_mutex_lock(&fd_lock);
		adopted = adopt_fd(n, fd);
		if (!adopted)
			lru_touch(n);
		pthread_mutex_unlock(&fd_lock);
		pthread_mutex_unlock(&t->lock);
		free(fresh);
		if (!adopted)
			close(fd);
		return 0;
	}
	if (t->count >= max_nodes) {
		rc = -ENFILE;
		goto fail;
	}
	rc = xsh_slots_alloc(&t->slots, fresh, &index, &fresh->gen);
	if (rc)
		goto fail;
	fresh->fd = fd;
	fresh->type = st->st_mode & S_IFMT;
	fresh->index = index;
	fresh->nlookup = 1;
	fresh->refs = 1;
	hash_insert(t, fresh);
	t->count++;
	*id = xsh_node_id(fresh);
	*gen = fresh->gen;
	node_fd_opened(fresh);
	pthread_mutex_unlock(&t->lock);
	return 0;

fail:
	pthread_mutex_unlock(&t->lock);
	free(fresh);
	close(fd);
	return rc;
}

int xsh_node_rekey(struct xsh_node_table *t, struct xsh_node *n, int fd)
{
	struct xsh_nkey k;
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	make_key(t->by_name, fd, &st, &k);
	if (k.kind != n->key.kind ||
	    (k.kind == XSH_NKEY_HANDLE && k.mnt_id != n->key.mnt_id))
		return -EXDEV;
	pthread_mutex_lock(&t->lock);
	pthread_mutex_lock(&fd_lock);
	/* The fd number stays: users holding it now reach the new file. */
	if (dup3(fd, n->fd, O_CLOEXEC) < 0) {
		pthread_mutex_unlock(&fd_lock);
		pthread_mutex_unlock(&t->lock);
		return -errno;
	}
	hash_remove(t, n);
	n->key = k;
	n->hash = key_hash(t, &k);
	hash_insert(t, n);
	pthread_mutex_unlock(&fd_lock);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void xsh_node_forget(struct xsh_node_table *t, uint64_t id, uint64_t nlookup)
{
	uint32_t index = (uint32_t)id, gen = (uint32_t)(id >> 32);
	struct xsh_node *n, *dead = NULL;

	pthread_mutex_lock(&t->lock);
	n = index > ROOT_INDEX ? xsh_slots_get(&t->slots, index) : NULL;
	if (!n || n->gen != gen)
		goto out;
	n->nlookup -= nlookup < n->nlookup ? nlookup : n->nlookup;
	if (n->nlookup)
		goto out;
	hash_remove(t, n);
	xsh_slots_release(&t->slots, index);
	t->count--;
	if (--n->refs == 0)
		dead = n;
out:
	pthread_mutex_unlock(&t->lock);
	if (dead)
		node_destroy(dead);
}

uint32_t xsh_nodes_count(struct xsh_node_table *t)
{
	uint32_t c;

	pthread_mutex_lock(&t->lock);
	c = t->count;
	pthread_mutex_unlock(&t->lock);
	return c;
}

/* ---- restoring a session (REOPEN) --------------------------------------- */

static bool restorable_index(uint32_t index, uint32_t max_nodes)
{
	uint32_t top = max_nodes < RESTORE_MAX_INDEX ? max_nodes :
		       RESTORE_MAX_INDEX;

	return index > ROOT_INDEX && index <= top + 1;
}

/* Put fresh (key, hash, fd, type and nlookup set) at index and gen: 0, or
 * -EEXIST / -ENFILE / the slot's refusal, fresh untouched. */
static int insert_restored(struct xsh_node_table *t, struct xsh_node *fresh,
			   uint32_t index, uint32_t gen, uint32_t max_nodes)
{
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = -EEXIST;
	if (hash_find(t, &fresh->key, fresh->hash))
		goto out;
	rc = -ENFILE;
	if (t->count >= max_nodes)
		goto out;
	rc = xsh_slots_check(&t->slots, index, gen);
	if (rc)
		goto out;
	xsh_slots_set(&t->slots, index, gen, fresh);
	fresh->index = index;
	fresh->gen = gen;
	fresh->refs = 1;
	hash_insert(t, fresh);
	t->count++;
	if (fresh->fd >= 0)
		node_fd_opened(fresh);
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int xsh_node_restore(struct xsh_node_table *t, const struct xsh_nkey *k,
		    uint64_t id, uint64_t nlookup, uint32_t max_nodes,
		    struct stat *st)
{
	uint32_t index = (uint32_t)id, gen = (uint32_t)(id >> 32);
	struct xsh_node *fresh;
	const struct mount *m;
	int fd, rc;

	if (!restorable_index(index, max_nodes) || !nlookup ||
	    k->kind != XSH_NKEY_HANDLE || k->hlen > XSH_HANDLE_MAX)
		return -EINVAL;
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	fresh->key = *k;
	pthread_mutex_lock(&t->lock);
	m = mount_find(t, k->mnt_id);
	fresh->mount_fd = m ? m->fd : -1;
	pthread_mutex_unlock(&t->lock);
	if (fresh->mount_fd < 0) {
		free(fresh);
		return -ESTALE;
	}
	fd = reopen_by_handle(fresh);
	if (fd < 0) {
		free(fresh);
		return fd == -ENOMEM || fd == -EMFILE || fd == -ENFILE ? fd :
									 -ESTALE;
	}
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		rc = -ESTALE;
		goto fail;
	}
	/* What the handle opens must be what it names. */
	make_key(t->by_name, fd, st, &fresh->key);
	if (!key_eq(&fresh->key, k)) {
		rc = -ESTALE;
		goto fail;
	}
	fresh->hash = key_hash(t, &fresh->key);
	fresh->fd = fd;
	fresh->type = st->st_mode & S_IFMT;
	fresh->nlookup = nlookup;
	rc = insert_restored(t, fresh, index, gen, max_nodes);
	if (!rc)
		return 0;
fail:
	close(fd);
	free(fresh);
	return rc;
}

void xsh_node_retire(struct xsh_node_table *t, uint64_t id, uint32_t max_nodes)
{
	uint32_t index = (uint32_t)id, gen = (uint32_t)(id >> 32);

	if (!restorable_index(index, max_nodes) || gen == UINT32_MAX)
		return;
	pthread_mutex_lock(&t->lock);
	xsh_slots_retire(&t->slots, index, gen);
	pthread_mutex_unlock(&t->lock);
}

int xsh_node_key(struct xsh_node_table *t, uint64_t id, struct xsh_nkey *k)
{
	uint32_t index = (uint32_t)id, gen = (uint32_t)(id >> 32);
	struct xsh_node *n;

	pthread_mutex_lock(&t->lock);
	n = xsh_slots_get(&t->slots, index);
	if (!n || n->gen != gen) {
		pthread_mutex_unlock(&t->lock);
		return -ESTALE;
	}
	*k = n->key;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int xsh_nodes_root_mnt(struct xsh_node_table *t)
{
	const struct xsh_nkey *k;
	const struct mount *m;
	int id = -1;

	pthread_mutex_lock(&t->lock);
	k = &((struct xsh_node *)xsh_slots_get(&t->slots, ROOT_INDEX))->key;
	m = k->kind == XSH_NKEY_HANDLE ? mount_find(t, k->mnt_id) : NULL;
	if (m && m->fd >= 0)
		id = k->mnt_id;
	pthread_mutex_unlock(&t->lock);
	return id;
}

/* ---- exports without usable file handles -------------------------------- */

bool xsh_nodes_recovery(int root_fd, const char **why)
{
	struct xsh_nkey k;
	struct statfs sf;
	struct stat st;
	int mfd;

	if (fstatfs(root_fd, &sf) == 0 && (uint32_t)sf.f_type == FUSE_MAGIC) {
		*why = "a FUSE file system, whose file handles open only while the kernel caches the file";
		return false;
	}
	if (fstat(root_fd, &st)) {
		*why = "cannot stat the export root";
		return false;
	}
	make_key(false, root_fd, &st, &k);
	if (k.kind != XSH_NKEY_HANDLE) {
		*why = "the file system makes no file handles";
		return false;
	}
	mfd = mount_fd_open(root_fd, &k);
	if (mfd < 0) {
		*why = "its file handles cannot be opened (open_by_handle_at needs CAP_DAC_READ_SEARCH)";
		return false;
	}
	close(mfd);
	*why = NULL;
	return true;
}

int xsh_nodes_name_root(struct xsh_node_table *t, uint64_t *ino,
		       uint64_t *fs_type)
{
	if (!t->by_name)
		return -1;
	*ino = t->root_ino;
	*fs_type = t->fs_type;
	return 0;
}

int xsh_node_restore_name(struct xsh_node_table *t, const struct xsh_npath *p,
			 uint32_t type, uint64_t ino, uint64_t id,
			 uint64_t nlookup, uint32_t max_nodes, struct stat *st)
{
	uint32_t index = (uint32_t)id, gen = (uint32_t)(id >> 32);
	struct xsh_node *fresh;
	int fd, rc;

	if (!t->by_name || !restorable_index(index, max_nodes) || !nlookup ||
	    !p->name_len || p->name_len > XSH_NAME_MAX ||
	    memchr(p->name, '/', p->name_len) ||
	    memchr(p->name, '\0', p->name_len) || p->name[p->name_len] ||
	    !strcmp(p->name, ".") || !strcmp(p->name, ".."))
		return -EINVAL;
	fd = open_by_name(t, p, type, ino, 0);
	if (fd < 0 && fd != -ENOENT)
		return fd;
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh) {
		rc = -ENOMEM;
		goto fail;
	}
	if (fd < 0) {
		fresh->path = malloc(sizeof(*fresh->path));
		if (!fresh->path) {
			rc = -ENOMEM;
			goto fail;
		}
		*fresh->path = *p;
		memset(st, 0, sizeof(*st));
		st->st_mode = type;
		st->st_ino = ino;
		st->st_dev = t->root_dev;
		st->st_nlink = 1;
	} else if (fstat(fd, st)) {
		rc = -ESTALE;
		goto fail;
	}
	fresh->key.kind = XSH_NKEY_INODE;
	fresh->key.dev = t->root_dev;
	fresh->key.ino = ino;
	fresh->hash = key_hash(t, &fresh->key);
	fresh->mount_fd = -1;
	fresh->fd = fd;
	fresh->type = type;
	fresh->nlookup = nlookup;
	rc = insert_restored(t, fresh, index, gen, max_nodes);
	if (!rc)
		return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (fresh)
		free(fresh->path);
	free(fresh);
	return rc;
}
