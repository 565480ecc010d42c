/* SPDX-License-Identifier: MIT */
/*
 * Private to the file service: the per-session node table.
 *
 * A node is one host file the guest has looked up: an O_PATH|O_NOFOLLOW
 * fd, the file type, the guest's lookup count and the file's identity (its
 * file handle from name_to_handle_at(), or st_dev/st_ino where the file
 * system has none).  The guest names a node by (generation << 32 | index);
 * index 0 is never used and index 1 generation 0 is the export root
 * (XSH_ROOT_NODEID), which is never freed.  Two lookups of the same file
 * (a second name, a hard link) find the same node by identity.
 *
 * When the lookup count reaches zero the slot is freed and its generation
 * bumped, so the old id answers ESTALE; the fd is closed once the last
 * operation using the node has put it.
 *
 * The guest kernel keeps lookups until it is short of memory, so node fds
 * are a cache: all node tables of the process together keep at most
 * xsh_nodes_fd_budget() of them open.  Past that, the fds of the least
 * recently used nodes no operation is using are closed; the next
 * xsh_node_get() reopens the node with open_by_handle_at() from the handle
 * recorded when the backend itself first reached the file under the export
 * (never from anything the guest sent), relative to an fd on the same
 * mount.  A file deleted on the host meanwhile answers ESTALE.  Nodes
 * without a file handle, on a mount whose handles cannot be opened (no
 * CAP_DAC_READ_SEARCH, no directory of that mount seen yet, a FUSE file
 * system, whose handles last only while the kernel caches the inode) and
 * the root keep their fd for as long as they live.
 *
 * An export whose root has no usable file handles (xsh_nodes_recovery())
 * is a table "by name": every node's identity is st_dev/st_ino, and a
 * node restored after a restart is found again under its parent node by
 * its name (xsh_node_restore_name()), at once when the parent is known,
 * else the first time it is used.
 *
 * Locking: one mutex per table protects the slots, the mount fds, the
 * identity hash and every node's nlookup/refs.  One process-wide mutex
 * (the fd lock, taken after a table lock, never before) protects every
 * node's fd, pins and place in the eviction list.  type and key never
 * change after the node is created and may be read by whoever holds a
 * reference, except that xsh_node_rekey() changes key and hash under
 * both locks; fd may be read without a lock by whoever holds a reference
 * from xsh_node_get() until it puts it.
 */
#ifndef XSH_NODE_H
#define XSH_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "protocol/xenshare_proto.h"

#define XSH_NKEY_HANDLE	1u	/* file handle + mount id */
#define XSH_NKEY_INODE	2u	/* st_dev + st_ino */

struct xsh_nkey {
	uint32_t kind;
	int32_t mnt_id;
	uint32_t htype;
	uint32_t hlen;
	uint64_t dev;
	uint64_t ino;
	unsigned char h[XSH_HANDLE_MAX];
};

/* Where a node restored by name is looked up: the name under the
 * directory node whose inode is parent_ino. */
struct xsh_npath {
	uint64_t parent_ino;
	uint32_t name_len;
	char name[XSH_NAME_MAX + 1];
};

struct xsh_node {
	int fd;			/* fd lock: O_PATH|O_NOFOLLOW, -1 when
				 * evicted; stable while got */
	int mount_fd;		/* immutable: -1 = never evicted */
	uint32_t type;		/* S_IFMT bits, immutable */
	uint32_t index;		/* immutable */
	uint32_t gen;		/* immutable */
	struct xsh_nkey key;	/* immutable but for xsh_node_rekey() */
	uint64_t hash;		/* same */
	struct xsh_npath *path;	/* immutable: restored by name, not found
				 * yet when restored; else NULL */
	/* table lock */
	uint64_t nlookup;
	uint32_t refs;		/* users + 1 while in the table */
	struct xsh_node *hnext;
	/* fd lock */
	uint32_t pins;		/* users of fd */
	bool on_lru;		/* fd open and unpinned: may be evicted */
	struct xsh_node *lru_prev, *lru_next;
};

struct xsh_node_table;

/* Take ownership of root_fd (O_PATH directory) as XSH_ROOT_NODEID. */
int xsh_nodes_new(int root_fd, struct xsh_node_table **out);
/* Close everything; no operation may be running. */
void xsh_nodes_free(struct xsh_node_table *t);

/* A counted reference to a live node with its fd open: -ESTALE for
 * unknown ids and for files gone from the host since their fd was
 * evicted, other -errno when reopening fails. */
int xsh_node_get(struct xsh_node_table *t, uint64_t id, struct xsh_node **out);
void xsh_node_put(struct xsh_node_table *t, struct xsh_node *n);

/* Count one lookup of the file open at fd (O_PATH; ownership passes to
 * the table whatever the outcome), creating its node if the file has
 * none.  At most max_nodes nodes besides the root: -ENFILE. */
int xsh_node_lookup_fd(struct xsh_node_table *t, int fd, const struct stat *st,
		      uint32_t max_nodes, uint64_t *id, uint32_t *gen);

/* The file of node n (got by the caller) was replaced by another inode
 * under the same name (a private copy of a dedup link, dedup.h): make
 * n's fd refer to the file open at fd (O_PATH; the caller keeps it) with
 * the same fd number, and n's identity that file's.  -EXDEV if the new
 * file is not on n's mount. */
int xsh_node_rekey(struct xsh_node_table *t, struct xsh_node *n, int fd);

/* Drop n lookups of id (saturating at zero); unknown ids are ignored. */
void xsh_node_forget(struct xsh_node_table *t, uint64_t id, uint64_t n);

uint32_t xsh_nodes_count(struct xsh_node_table *t);

/* The process-wide node fd budget: n, or with 0 half of RLIMIT_NOFILE's
 * soft limit as it is when called (the default, taken when the first
 * table is made, after the daemon raised the limit).  Evicts at once. */
void xsh_nodes_set_fd_budget(uint32_t n);
uint32_t xsh_nodes_fd_budget(void);
/* Node fds open now in the process (may pass the budget by the nodes in
 * use and those that are never evicted). */
uint32_t xsh_nodes_fds_open(void);

/* Restoring a session after a restart (REOPEN).  Put the file of
 * key k, which the caller verified came from this export (a signed
 * persistent handle), back at exactly id with nlookup lookups; st gets its
 * attributes.  The file is opened by handle on a mount the table knows.
 * -EINVAL an index outside 2 .. min(max_nodes, 2^22) + 1 or a key that is
 * not a file handle; -EEXIST the slot is taken, its generation is already
 * past id's, or the file has a node; -ESTALE the file is gone or its
 * mount unknown; -ENFILE max_nodes reached. */
int xsh_node_restore(struct xsh_node_table *t, const struct xsh_nkey *k,
		    uint64_t id, uint64_t nlookup, uint32_t max_nodes,
		    struct stat *st);
/* A restore of id failed: make sure the table never hands it out (its
 * free slot's generation moves past it). */
void xsh_node_retire(struct xsh_node_table *t, uint64_t id, uint32_t max_nodes);
/* Copy the key of live node id (no fd needed); -ESTALE if unknown. */
int xsh_node_key(struct xsh_node_table *t, uint64_t id, struct xsh_nkey *k);
/* Mount id of the export root when its handles can be reopened, else -1. */
int xsh_nodes_root_mnt(struct xsh_node_table *t);

/* Whether files under root_fd can be found again by file handle after a
 * restart: true, or false with *why saying why not (a static string). */
bool xsh_nodes_recovery(int root_fd, const char **why);
/* A table by name: 0 and the root's inode and file system type, else
 * -1. */
int xsh_nodes_name_root(struct xsh_node_table *t, uint64_t *ino,
		       uint64_t *fs_type);
/* Restoring by name (a table by name): put the file of type type and
 * inode ino found as p->name under the directory node of inode
 * p->parent_ino back at id, as xsh_node_restore() does.  When that
 * parent has no node yet the node is restored all the same and the name
 * looked up the first time the node is used (ESTALE then if it fails).
 * -EINVAL as xsh_node_restore() or not a table by name; -ESTALE the name
 * is gone or now names another file; -EEXIST, -ENFILE as
 * xsh_node_restore(). */
int xsh_node_restore_name(struct xsh_node_table *t, const struct xsh_npath *p,
			 uint32_t type, uint64_t ino, uint64_t id,
			 uint64_t nlookup, uint32_t max_nodes, struct stat *st);

static inline uint64_t xsh_node_id(const struct xsh_node *n)
{
	return ((uint64_t)n->gen << 32) | n->index;
}

#endif /* XSH_NODE_H */
