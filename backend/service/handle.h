/* SPDX-License-Identifier: MIT */
/*
 * Private to the file service: the per-session table of open files and
 * directories (the guest's fh values).
 *
 * fh = (generation << 32 | index), index 0 never used; an unknown or
 * released fh answers EBADF.  Each handle remembers the node id it was
 * opened on and whether it is a directory; lookups check both.
 *
 * Each handle holds an fd of its own, so besides each table's max_handles
 * all tables of the process together hold at most xsh_handles_fd_budget()
 * handles: past it opening answers EMFILE, what a process at its
 * RLIMIT_NOFILE gets from a local file system.  With the node fd budget
 * (node.h, half of the limit) that leaves a quarter of the process's
 * descriptors to the rings, transports and per-request fds.
 *
 * Locking: one mutex per table protects the slots and every handle's
 * refs.  fd, nodeid and dir never change after creation (the fd number;
 * xsh_handles_follow() may make it refer to another file).  A directory
 * handle's stream state has its own mutex (ds.lock).
 */
#ifndef XSH_HANDLE_H
#define XSH_HANDLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct xsh_dirstream {
	pthread_mutex_t lock;
	uint64_t pos;		/* ds.lock: cookie of the next entry */
	char *buf;		/* ds.lock: getdents64 buffer */
	uint32_t len;		/* ds.lock: valid bytes in buf */
	uint32_t off;		/* ds.lock: next record in buf */
};

struct xsh_handle {
	int fd;			/* immutable */
	bool dir;		/* immutable */
	uint64_t nodeid;	/* immutable */
	uint32_t index;		/* immutable */
	uint32_t gen;		/* immutable */
	uint32_t refs;		/* table lock: users + 1 while in the table */
	struct xsh_dirstream ds;	/* dir only */
	struct xsh_quota *quota;	/* immutable: file only, with qi */
	struct xsh_qino *qi;		/* immutable: the inode's quota pin */
};

struct xsh_handle_table;
struct xsh_quota;
struct xsh_qino;

int xsh_handles_new(struct xsh_handle_table **out);
/* Close everything; no operation may be running. */
void xsh_handles_free(struct xsh_handle_table *t);

/* The export's quota: each file handle added from now on pins its inode
 * there (xsh_quota_ino_open()), so that a file unlinked while open stays
 * charged until its last handle is closed. */
void xsh_handles_set_quota(struct xsh_handle_table *t, struct xsh_quota *q);

/* Add an open fd (ownership passes to the table whatever the outcome).
 * At most max_handles open in t, or the process's budget: -EMFILE. */
int xsh_handle_add(struct xsh_handle_table *t, int fd, uint64_t nodeid,
		  bool dir, uint32_t max_handles, uint64_t *fh);

/* A counted reference to handle fh, which must be of kind dir and opened
 * on nodeid; -EBADF otherwise. */
int xsh_handle_get(struct xsh_handle_table *t, uint64_t fh, uint64_t nodeid,
		  bool dir, struct xsh_handle **out);
void xsh_handle_put(struct xsh_handle_table *t, struct xsh_handle *h);

/* Remove fh from the table (same checks as get); the fd is closed when
 * the last user puts it. */
int xsh_handle_release(struct xsh_handle_table *t, uint64_t fh, uint64_t nodeid,
		      bool dir);

/* The file of node nodeid was replaced by another inode under the same
 * name (dedup.h): every file handle open on it gets, under the same fd
 * number, reopen(arg, its open flags), an fd the call gives up.  0 or
 * the first -errno. */
int xsh_handles_follow(struct xsh_handle_table *t, uint64_t nodeid,
		      int (*reopen)(void *arg, int flags), void *arg);

uint32_t xsh_handles_count(struct xsh_handle_table *t);

/* Restoring a session after a restart (REOPEN): add fd (ownership
 * passes whatever the outcome) at exactly fh.  -EINVAL an index outside
 * 1 .. min(max_handles, 2^20); -EEXIST the slot is taken or its
 * generation already past fh's; -EMFILE as for xsh_handle_add(). */
int xsh_handle_restore(struct xsh_handle_table *t, int fd, uint64_t nodeid,
		      bool dir, uint64_t fh, uint32_t max_handles);
/* A restore of fh failed: the table never hands it out. */
void xsh_handle_retire(struct xsh_handle_table *t, uint64_t fh,
		      uint32_t max_handles);

/* The process-wide handle budget: n, or with 0 a quarter of
 * RLIMIT_NOFILE's soft limit as it is when called (the default, taken
 * when the first table is made). */
void xsh_handles_set_fd_budget(uint32_t n);
uint32_t xsh_handles_fd_budget(void);
/* Handles open now in the process. */
uint32_t xsh_handles_fds_open(void);

#endif /* XSH_HANDLE_H */
