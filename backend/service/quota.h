/* SPDX-License-Identifier: MIT */
/*
 * Per-export quota accounting: allocated bytes (st_blocks * 512, what du
 * measures) and inodes.  The only place usage is counted and limits are
 * checked (docs/quota.md).
 *
 * An operation is one transaction, after xenstored's domain_*_chk /
 * _nochk paths:
 *   xsh_quota_begin()   check and charge: sets aside the worst case the
 *                       operation may allocate, or fails with -EDQUOT;
 *   xsh_quota_commit()  settle, never fails: the real change of the inodes
 *                       the operation touched is charged and the
 *                       reservation given back;
 *   xsh_quota_abort()   never fails: the operation did nothing, the
 *                       reservation is given back.
 * The reserve / charge / inode functions further down are the pieces the
 * transaction is made of (and what the unit tests drive directly).
 * A reservation is admitted only while usage + reservations + it fit the
 * limit, and every operation allocates at most what it reserved, so the
 * space really in use never exceeds the limit however many operations run
 * at once.
 *
 * Inodes being changed are tracked in a small table (struct xsh_qino) keyed
 * by st_dev/st_ino: each entry remembers the st_blocks last charged for
 * the inode, so a settle charges (now - last) whatever other operations
 * ran on the same inode in between, and removing the last name uncharges
 * what the inode holds exactly once: at once, or, while the inode is
 * open, when its last open handle closes.
 *
 * A device built on a template (docs/templates.md) is charged for its
 * private data only: xsh_quota_set_shared() names the files whose data
 * are still the template's.  They are charged nothing; an operation that
 * may copy one up reserves its whole size first (EDQUOT before anything is
 * copied), and once it is copied up its settle charges the copy and its
 * inode.  Removing a template's file uncharges nothing.
 *
 * Trust: limits come from the administrator; file sizes and counts come
 * from fstat() of files the guest controls, and are only ever added up.
 */
#ifndef XSH_QUOTA_H
#define XSH_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#define XSH_QUOTA_SOFT_DEFAULT	90u
/* Offset of a write whose position the host chooses (O_APPEND). */
#define XSH_QUOTA_OFF_ANY	UINT64_MAX

enum xsh_quota_level {
	XSH_QUOTA_OK = 0,
	XSH_QUOTA_SOFT,		/* at or over quota_soft_percent of a limit */
	XSH_QUOTA_HARD,		/* the next allocation would be refused */
};

struct xsh_quota_usage {
	uint64_t quota_bytes;		/* 0 = none */
	uint64_t quota_inodes;		/* 0 = none */
	uint32_t soft_percent;		/* 0 = no soft limit */
	uint32_t block;			/* allocation unit assumed, bytes */
	uint64_t usage_bytes;
	uint64_t usage_inodes;
	uint64_t reserved_bytes;	/* in flight */
	uint64_t reserved_inodes;
	enum xsh_quota_level level;
};

struct xsh_quota;
struct xsh_qino;

/* name is used in log lines (the export's path).  block: allocation unit
 * (clamped to 4 KiB .. 64 KiB). */
int xsh_quota_new(const char *name, uint32_t block, struct xsh_quota **out);
void xsh_quota_free(struct xsh_quota *q);

/* fn(arg, fd): 1 when the file fd refers to (any fd) has no copy of its
 * own yet, its data are a template's; 0 when it has; -errno when that
 * cannot be told: then every transaction on it fails with that error
 * (and a name being removed is not tracked: nothing is uncharged).  Set
 * before q is used. */
typedef int (*xsh_quota_shared_fn)(void *arg, int fd);
void xsh_quota_set_shared(struct xsh_quota *q, xsh_quota_shared_fn fn,
			  void *arg);

/* Rebuild usage by walking the tree under root_fd (openat/getdents only,
 * symlinks never followed, each inode counted once whatever its number
 * of links, the root included; with a shared function set, the tree is
 * a template's upper directory and its whiteouts, 0/0 character devices,
 * are not counted).  Only while nothing else uses q.
 * 0 or -errno (-ENOMEM); entries that vanish or cannot be read are
 * skipped and counted in *skipped if not NULL. */
int xsh_quota_scan(struct xsh_quota *q, int root_fd, uint64_t *skipped);

/* Apply new limits at once (a lower limit blocks growth, deletes nothing).
 * who names the caller in the log line a level change produces. */
void xsh_quota_set_limits(struct xsh_quota *q, uint64_t bytes, uint64_t inodes,
			 uint32_t soft_percent, const char *who);
void xsh_quota_get(struct xsh_quota *q, struct xsh_quota_usage *out);
const char *xsh_quota_level_name(enum xsh_quota_level l);

/* ---- transactions -------------------------------------------------------- */

enum xsh_quota_kind {
	/* fd changes in place and nothing is reserved (truncate, O_TRUNC,
	 * removing an xattr). */
	XSH_QUOTA_CHANGE,
	/* A write of len bytes at off through fd: reserves what the range
	 * may allocate; if only a prefix fits, len comes back shortened; a
	 * range already allocated inside the file reserves nothing. */
	XSH_QUOTA_WRITE,
	/* fd may allocate [off, off + len) (fallocate): all or -EDQUOT;
	 * len 0 reserves nothing. */
	XSH_QUOTA_RANGE,
	/* An xattr value of len bytes: rounded up to blocks plus a block. */
	XSH_QUOTA_XATTR,
	/* A name is added or removed: reserves blocks blocks and inodes
	 * inodes; fd, if not -1, is the inode the name held before (unlink,
	 * rename over), kept locked until the end so that concurrent
	 * removals of its names uncharge it once. */
	XSH_QUOTA_NAME,
	/* fd may be copied up from a template and nothing else grows
	 * (open for writing, attribute changes, rename and link sources):
	 * only the copy-up is reserved, as it is for CHANGE and XATTR
	 * when fd is a template's file (xsh_quota_set_shared()). */
	XSH_QUOTA_COPYUP,
};

struct xsh_quota_txn {
	/* Filled by the caller for xsh_quota_begin(). */
	enum xsh_quota_kind kind;
	int fd;
	uint64_t off;
	uint64_t len;
	uint32_t blocks;
	uint32_t inodes;
	/* Private to quota.c. */
	struct xsh_quota *q;
	const char *who;
	struct xsh_qino *qi;
	uint64_t resv_bytes;
	uint64_t resv_inodes;
};

/* What the operation really did, for xsh_quota_commit(); -1: none. */
struct xsh_quota_used {
	int dir_fd;		/* a directory that gained a name */
	int new_fd;		/* an inode the operation created */
	bool created;		/* one inode was created (new_fd may be -1) */
	int fd;			/* another inode it changed */
};

/* Start t (t->kind and its fields set as above) on q; who names the
 * caller in log lines.  0, or -EDQUOT / -errno and nothing held.  After
 * 0, exactly one of xsh_quota_commit() or xsh_quota_abort(). */
int xsh_quota_begin(struct xsh_quota *q, const char *who,
		    struct xsh_quota_txn *t);
/* Settle: charge what t->fd (and, for NAME, the loss of a name of it),
 * and what u names, really gained or lost; give back the reservation.
 * u may be NULL. */
void xsh_quota_commit(struct xsh_quota_txn *t, const struct xsh_quota_used *u);
/* The operation did not happen: give everything back. */
void xsh_quota_abort(struct xsh_quota_txn *t);

/* ---- check and charge ---------------------------------------------------- */

/* Reserve exactly this much, or -EDQUOT and nothing reserved. */
int xsh_quota_reserve(struct xsh_quota *q, uint64_t bytes, uint64_t inodes);

/* Worst case a write of len bytes at off can allocate: the blocks it
 * touches plus one block of metadata; off may be XSH_QUOTA_OFF_ANY. */
uint64_t xsh_quota_write_cost(uint32_t block, uint64_t off, uint64_t len);

/* Reserve for a write of *len bytes at off; if the whole write does not
 * fit, for the longest prefix that does (*len shortened).  -EDQUOT when
 * not even one byte fits.  *reserved: bytes to give back afterwards. */
int xsh_quota_reserve_write(struct xsh_quota *q, uint64_t off, uint64_t *len,
			   uint64_t *reserved);

/* ---- settle and uncharge (never fail) ------------------------------------ */

void xsh_quota_unreserve(struct xsh_quota *q, uint64_t bytes, uint64_t inodes);
/* Charge (positive) or uncharge (negative) without a check; usage never
 * goes below zero.  who: for the log line of a level change. */
void xsh_quota_charge(struct xsh_quota *q, int64_t bytes, int64_t inodes,
		     const char *who);

/* ---- inodes being changed ------------------------------------------------ */

/* A counted entry for the inode fd refers to (any fd, O_PATH is fine).
 * An inode seen for the first time is taken as already charged at its
 * current size; with fresh (the caller just created it) as charged
 * nothing, so its first settle charges all it holds.  0 or -errno. */
int xsh_quota_ino_get(struct xsh_quota *q, int fd, bool fresh,
		     struct xsh_qino **out);
void xsh_quota_ino_put(struct xsh_quota *q, struct xsh_qino *qi);
/* Serialise changes to the inode's charge (unlink, rename over). */
void xsh_quota_ino_lock(struct xsh_qino *qi);
void xsh_quota_ino_unlock(struct xsh_qino *qi);
/* Charge what the inode gained or lost since it was last settled. */
void xsh_quota_ino_settle(struct xsh_quota *q, struct xsh_qino *qi, int fd,
			 const char *who);
/* After a name of the inode was removed (entry locked): if it has no name
 * left and no open handle, uncharge its blocks and the inode itself, once;
 * with open handles, when the last one closes. */
void xsh_quota_ino_unlinked_locked(struct xsh_quota *q, struct xsh_qino *qi,
				  int fd, const char *who);

/* An open handle on the inode fd refers to: pins its entry until
 * xsh_quota_ino_close().  While an inode has open handles, removing its
 * last name keeps it charged (ext4 keeps it allocated), and writes to it
 * are charged; the last close uncharges all of it, blocks and inode.  An
 * inode opened with no name left (not charged) is charged from then on.
 * 0 or -errno (nothing pinned). */
int xsh_quota_ino_open(struct xsh_quota *q, int fd, struct xsh_qino **out);
/* The handle is closing (fd still open); qi may be NULL. */
void xsh_quota_ino_close(struct xsh_quota *q, struct xsh_qino *qi, int fd,
			 const char *who);

#endif /* XSH_QUOTA_H */
