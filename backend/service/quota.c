// SPDX-License-Identifier: MIT
/*
 * Quota accounting for one export (see quota.h): usage and reservations,
 * limits, the soft/hard level and its log line, the table of inodes being
 * changed, and the scan that rebuilds usage when the backend starts.
 *
 * Trust: limits are the administrator's.  The tree being scanned and every
 * fstat() result are the guest's doing: the scan opens nothing by path
 * (openat/getdents64 relative to directory fds, O_NOFOLLOW), never follows
 * symlinks, and bounds nothing it cannot (a deep tree costs one fd per
 * level only while that level still has subdirectories to visit).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "quota.h"

#define QINO_BUCKETS	1024u
#define QINO_IDLE_MAX	1024u	/* settled entries kept for their charge */
#define LOG_INTERVAL_S	5	/* level changes logged at most this often */
#define SCAN_BUF	32768u

struct xsh_qino {
	uint64_t dev;			/* immutable */
	uint64_t ino;			/* immutable */
	pthread_mutex_t lock;
	uint64_t blocks;		/* lock: st_blocks last charged */
	bool gone;			/* lock: unlinked and uncharged */
	bool orphan;			/* lock: unlinked, charged until the
					 * last open handle goes */
	unsigned opens;			/* lock: open handles (pins) */
	bool shared;			/* lock: a template's file, not yet
					 * copied up: nothing charged */
	unsigned refs;			/* q->tab_lock */
	struct xsh_qino *hnext;		/* q->tab_lock */
	struct xsh_qino *idle_prev;	/* q->tab_lock, while refs == 0 */
	struct xsh_qino *idle_next;
};

struct xsh_quota {
	char name[256];			/* immutable */
	uint32_t block;			/* immutable */
	xsh_quota_shared_fn shared;	/* set before use, then immutable */
	void *shared_arg;

	pthread_mutex_t lock;
	uint64_t limit_bytes;		/* lock */
	uint64_t limit_inodes;		/* lock */
	uint32_t soft_percent;		/* lock */
	uint64_t used_bytes;		/* lock */
	uint64_t used_inodes;		/* lock */
	uint64_t resv_bytes;		/* lock */
	uint64_t resv_inodes;		/* lock */
	enum xsh_quota_level level;	/* lock */
	time_t last_log;		/* lock */
	bool log_pending;		/* lock: a change went unlogged */

	pthread_mutex_t tab_lock;
	struct xsh_qino *hash[QINO_BUCKETS];	/* tab_lock */
	struct xsh_qino *idle_head;	/* tab_lock: most recent first */
	struct xsh_qino *idle_tail;	/* tab_lock */
	unsigned nr_idle;		/* tab_lock */
};

void xsh_quota_set_shared(struct xsh_quota *q, xsh_quota_shared_fn fn,
			  void *arg)
{
	q->shared = fn;
	q->shared_arg = arg;
}

/* 1 a template's file, 0 not, -errno when it cannot be told. */
static int shared_state(const struct xsh_quota *q, int fd)
{
	return q->shared ? q->shared(q->shared_arg, fd) : 0;
}

/* ---- limits and usage ---------------------------------------------------- */

int xsh_quota_new(const char *name, uint32_t block, struct xsh_quota **out)
{
	struct xsh_quota *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	snprintf(q->name, sizeof(q->name), "%s", name ? name : "export");
	if (block < 4096)
		block = 4096;
	if (block > 65536)
		block = 65536;
	q->block = block;
	q->soft_percent = XSH_QUOTA_SOFT_DEFAULT;
	pthread_mutex_init(&q->lock, NULL);
	pthread_mutex_init(&q->tab_lock, NULL);
	*out = q;
	return 0;
}

void xsh_quota_free(struct xsh_quota *q)
{
	struct xsh_qino *qi, *next;
	unsigned i;

	if (!q)
		return;
	for (i = 0; i < QINO_BUCKETS; i++) {
		for (qi = q->hash[i]; qi; qi = next) {
			next = qi->hnext;
			pthread_mutex_destroy(&qi->lock);
			free(qi);
		}
	}
	pthread_mutex_destroy(&q->tab_lock);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

const char *xsh_quota_level_name(enum xsh_quota_level l)
{
	switch (l) {
	case XSH_QUOTA_SOFT:
		return "soft-limit";
	case XSH_QUOTA_HARD:
		return "hard-limit";
	default:
		return "ok";
	}
}

static bool over_soft(uint64_t used, uint64_t limit, uint32_t pct)
{
	return limit && pct &&
	       (unsigned __int128)used * 100 >= (unsigned __int128)limit * pct;
}

/* q->lock held. */
static enum xsh_quota_level compute_level(const struct xsh_quota *q)
{
	uint64_t min = 2ull * q->block;	/* smallest write reservation */

	if (q->limit_bytes &&
	    (q->used_bytes >= q->limit_bytes ||
	     q->limit_bytes - q->used_bytes < min))
		return XSH_QUOTA_HARD;
	if (q->limit_inodes && q->used_inodes >= q->limit_inodes)
		return XSH_QUOTA_HARD;
	if (over_soft(q->used_bytes, q->limit_bytes, q->soft_percent) ||
	    over_soft(q->used_inodes, q->limit_inodes, q->soft_percent))
		return XSH_QUOTA_SOFT;
	return XSH_QUOTA_OK;
}

/* q->lock held: note a level change, and log it unless one was logged in
 * the last few seconds (a guest hovering at a limit must not flood the
 * log; the status always tells the current level). */
static void update_level(struct xsh_quota *q, const char *who)
{
	enum xsh_quota_level l = compute_level(q), old = q->level;
	time_t now;

	if (l == old && !q->log_pending)
		return;
	q->level = l;
	now = time(NULL);
	if (now - q->last_log < LOG_INTERVAL_S && q->last_log) {
		q->log_pending = l != old || q->log_pending;
		return;
	}
	q->log_pending = false;
	q->last_log = now;
	if (l == XSH_QUOTA_OK) {
		xsh_log(LOG_INFO, "%s: export %s: quota status ok: %" PRIu64
			      " of %" PRIu64 " bytes, %" PRIu64 " of %" PRIu64
			      " inodes", who ? who : "quota", q->name,
			      q->used_bytes, q->limit_bytes, q->used_inodes,
			      q->limit_inodes);
		return;
	}
	xsh_log(LOG_WARNING, "%s: export %s: %s%s: %" PRIu64 " of %" PRIu64
		      " bytes, %" PRIu64 " of %" PRIu64 " inodes (soft limit %u%%)",
		      who ? who : "quota", q->name,
		      l == XSH_QUOTA_HARD ? "at the hard limit" :
					   "over the soft limit",
		      l == XSH_QUOTA_HARD ? ", growth is refused" : "",
		      q->used_bytes, q->limit_bytes, q->used_inodes,
		      q->limit_inodes, q->soft_percent);
}

void xsh_quota_set_limits(struct xsh_quota *q, uint64_t bytes, uint64_t inodes,
			 uint32_t soft_percent, const char *who)
{
	pthread_mutex_lock(&q->lock);
	q->limit_bytes = bytes;
	q->limit_inodes = inodes;
	q->soft_percent = soft_percent > 100 ? 100 : soft_percent;
	update_level(q, who);
	pthread_mutex_unlock(&q->lock);
}

void xsh_quota_get(struct xsh_quota *q, struct xsh_quota_usage *out)
{
	pthread_mutex_lock(&q->lock);
	out->quota_bytes = q->limit_bytes;
	out->quota_inodes = q->limit_inodes;
	out->soft_percent = q->soft_percent;
	out->block = q->block;
	out->usage_bytes = q->used_bytes;
	out->usage_inodes = q->used_inodes;
	out->reserved_bytes = q->resv_bytes;
	out->reserved_inodes = q->resv_inodes;
	out->level = compute_level(q);
	pthread_mutex_unlock(&q->lock);
}

/* q->lock held: room left under a limit after usage and reservations. */
static uint64_t room(uint64_t limit, uint64_t used, uint64_t resv)
{
	uint64_t taken = used + resv;

	if (!limit)
		return UINT64_MAX;
	if (taken < used || taken >= limit)
		return 0;
	return limit - taken;
}

int xsh_quota_reserve(struct xsh_quota *q, uint64_t bytes, uint64_t inodes)
{
	int rc = -EDQUOT;

	pthread_mutex_lock(&q->lock);
	if (bytes <= UINT64_MAX - q->resv_bytes &&
	    inodes <= UINT64_MAX - q->resv_inodes &&
	    (!bytes || bytes <= room(q->limit_bytes, q->used_bytes,
				     q->resv_bytes)) &&
	    (!inodes || inodes <= room(q->limit_inodes, q->used_inodes,
				       q->resv_inodes))) {
		q->resv_bytes += bytes;
		q->resv_inodes += inodes;
		rc = 0;
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

uint64_t xsh_quota_write_cost(uint32_t block, uint64_t off, uint64_t len)
{
	uint64_t blocks;

	if (!len)
		return 0;
	if (off == XSH_QUOTA_OFF_ANY || off > UINT64_MAX - len)
		blocks = (len - 1 + block - 1) / block + 1;
	else
		blocks = (off + len - 1) / block - off / block + 1;
	if (blocks >= UINT64_MAX / block - 1)
		return UINT64_MAX;
	return (blocks + 1) * block;
}

int xsh_quota_reserve_write(struct xsh_quota *q, uint64_t off, uint64_t *len,
			   uint64_t *reserved)
{
	uint64_t B = q->block, avail, cost, k, n;
	bool any = off == XSH_QUOTA_OFF_ANY || off > UINT64_MAX - *len;

	*reserved = 0;
	if (!*len)
		return 0;
	pthread_mutex_lock(&q->lock);
	avail = room(q->limit_bytes, q->used_bytes, q->resv_bytes);
	cost = xsh_quota_write_cost(q->block, any ? XSH_QUOTA_OFF_ANY : off,
				   *len);
	if (cost > avail || cost > UINT64_MAX - q->resv_bytes) {
		/* The longest prefix whose blocks plus the slack fit. */
		k = avail / B;
		if (any)
			n = k >= 2 ? (k - 2) * B + 1 : 0;
		else
			n = k >= 2 ? (off / B + k - 1) * B - off : 0;
		if (!n || n >= *len) {
			pthread_mutex_unlock(&q->lock);
			return -EDQUOT;
		}
		*len = n;
		cost = xsh_quota_write_cost(q->block,
					   any ? XSH_QUOTA_OFF_ANY : off, n);
	}
	q->resv_bytes += cost;
	*reserved = cost;
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void xsh_quota_unreserve(struct xsh_quota *q, uint64_t bytes, uint64_t inodes)
{
	pthread_mutex_lock(&q->lock);
	q->resv_bytes -= bytes < q->resv_bytes ? bytes : q->resv_bytes;
	q->resv_inodes -= inodes < q->resv_inodes ? inodes : q->resv_inodes;
	pthread_mutex_unlock(&q->lock);
}

static void add_signed(uint64_t *v, int64_t d)
{
	uint64_t m;

	if (d >= 0) {
		*v += (uint64_t)d;
		return;
	}
	m = (uint64_t)(-(d + 1)) + 1;
	*v = m < *v ? *v - m : 0;
}

void xsh_quota_charge(struct xsh_quota *q, int64_t bytes, int64_t inodes,
		     const char *who)
{
	if (!bytes && !inodes)
		return;
	pthread_mutex_lock(&q->lock);
	add_signed(&q->used_bytes, bytes);
	add_signed(&q->used_inodes, inodes);
	update_level(q, who);
	pthread_mutex_unlock(&q->lock);
}

/* ---- inodes being changed ------------------------------------------------ */

static unsigned qino_bucket(uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino ^ (dev << 17) ^ (dev >> 7)) * 0x9e3779b97f4a7c15ull;

	return (unsigned)(h >> 40) % QINO_BUCKETS;
}

/* tab_lock held. */
static void idle_unlink(struct xsh_quota *q, struct xsh_qino *qi)
{
	if (qi->idle_prev)
		qi->idle_prev->idle_next = qi->idle_next;
	else
		q->idle_head = qi->idle_next;
	if (qi->idle_next)
		qi->idle_next->idle_prev = qi->idle_prev;
	else
		q->idle_tail = qi->idle_prev;
	qi->idle_prev = qi->idle_next = NULL;
	q->nr_idle--;
}

/* tab_lock held; qi has no users. */
static void qino_destroy(struct xsh_quota *q, struct xsh_qino *qi)
{
	struct xsh_qino **pp = &q->hash[qino_bucket(qi->dev, qi->ino)];

	while (*pp && *pp != qi)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = qi->hnext;
	pthread_mutex_destroy(&qi->lock);
	free(qi);
}

int xsh_quota_ino_get(struct xsh_quota *q, int fd, bool fresh,
		     struct xsh_qino **out)
{
	struct xsh_qino *qi;
	struct stat st, now;
	int shared = 0;
	unsigned b;

	/* An inode that cannot be told a template's or not is not tracked:
	 * the operation fails rather than charge it wrongly. */
	if (!fresh) {
		shared = shared_state(q, fd);
		if (shared < 0)
			return shared;
	}
	if (fstat(fd, &st))
		return -errno;
	b = qino_bucket(st.st_dev, st.st_ino);
	pthread_mutex_lock(&q->tab_lock);
	for (qi = q->hash[b]; qi; qi = qi->hnext)
		if (qi->dev == st.st_dev && qi->ino == st.st_ino)
			break;
	if (qi) {
		if (!qi->refs) {
			idle_unlink(q, qi);
			/* A kept entry of an inode number now reused. */
			if (fresh) {
				qi->blocks = 0;
				qi->gone = false;
				qi->orphan = false;
			}
		}
		qi->refs++;
		pthread_mutex_unlock(&q->tab_lock);
		/* Wait until whoever created the entry has its baseline. */
		pthread_mutex_lock(&qi->lock);
		pthread_mutex_unlock(&qi->lock);
		*out = qi;
		return 0;
	}
	qi = calloc(1, sizeof(*qi));
	if (!qi) {
		pthread_mutex_unlock(&q->tab_lock);
		return -ENOMEM;
	}
	qi->dev = st.st_dev;
	qi->ino = st.st_ino;
	qi->refs = 1;
	pthread_mutex_init(&qi->lock, NULL);
	pthread_mutex_lock(&qi->lock);
	qi->hnext = q->hash[b];
	q->hash[b] = qi;
	pthread_mutex_unlock(&q->tab_lock);
	/* Stat again now that no other operation can start on the inode
	 * without waiting for us: the baseline includes everything done
	 * before. */
	if (fstat(fd, &now))
		now = st;
	if (fresh)
		qi->blocks = 0;
	else if (shared)
		qi->shared = true;
	else
		qi->blocks = (uint64_t)now.st_blocks;
	/* An inode with no name was not counted by the scan, or was
	 * uncharged when its last name went: it is not charged. */
	qi->gone = !fresh && now.st_nlink == 0;
	pthread_mutex_unlock(&qi->lock);
	*out = qi;
	return 0;
}

void xsh_quota_ino_put(struct xsh_quota *q, struct xsh_qino *qi)
{
	if (!qi)
		return;
	pthread_mutex_lock(&q->tab_lock);
	if (--qi->refs) {
		pthread_mutex_unlock(&q->tab_lock);
		return;
	}
	if (qi->gone) {
		qino_destroy(q, qi);
	} else {
		qi->idle_prev = NULL;
		qi->idle_next = q->idle_head;
		if (q->idle_head)
			q->idle_head->idle_prev = qi;
		else
			q->idle_tail = qi;
		q->idle_head = qi;
		q->nr_idle++;
		if (q->nr_idle > QINO_IDLE_MAX) {
			struct xsh_qino *old = q->idle_tail;

			idle_unlink(q, old);
			qino_destroy(q, old);
		}
	}
	pthread_mutex_unlock(&q->tab_lock);
}

void xsh_quota_ino_lock(struct xsh_qino *qi)
{
	pthread_mutex_lock(&qi->lock);
}

void xsh_quota_ino_unlock(struct xsh_qino *qi)
{
	pthread_mutex_unlock(&qi->lock);
}

static int64_t blocks_delta(uint64_t now, uint64_t then)
{
	return now >= then ? (int64_t)((now - then) * 512) :
			     -(int64_t)((then - now) * 512);
}

static void ino_settle_locked(struct xsh_quota *q, struct xsh_qino *qi,
			      int fd, const char *who)
{
	struct stat st;
	uint64_t now;

	/* An inode no longer charged stays so. */
	if (qi->gone)
		return;
	if (qi->shared) {
		if (shared_state(q, fd))
			return;
		/* Copied up: the upper inode and all it holds are ours. */
		qi->shared = false;
		xsh_quota_charge(q, 0, 1, who);
	}
	if (fstat(fd, &st))
		return;
	now = (uint64_t)st.st_blocks;
	if (now == qi->blocks)
		return;
	xsh_quota_charge(q, blocks_delta(now, qi->blocks), 0, who);
	qi->blocks = now;
}

void xsh_quota_ino_settle(struct xsh_quota *q, struct xsh_qino *qi, int fd,
			 const char *who)
{
	pthread_mutex_lock(&qi->lock);
	ino_settle_locked(q, qi, fd, who);
	pthread_mutex_unlock(&qi->lock);
}

void xsh_quota_ino_unlinked_locked(struct xsh_quota *q, struct xsh_qino *qi,
				  int fd, const char *who)
{
	struct stat st;

	if (qi->gone || fstat(fd, &st) || st.st_nlink)
		return;
	/* Still open: it keeps its blocks, and what is written to it is
	 * charged, until the last handle goes (xsh_quota_ino_close()). */
	if (qi->opens) {
		qi->orphan = true;
		return;
	}
	/* A template's file never charged its inode. */
	xsh_quota_charge(q, -(int64_t)(qi->blocks * 512), qi->shared ? 0 : -1,
			 who);
	qi->blocks = (uint64_t)st.st_blocks;
	qi->gone = true;
}

int xsh_quota_ino_open(struct xsh_quota *q, int fd, struct xsh_qino **out)
{
	struct xsh_qino *qi;
	struct stat st;
	int rc;

	rc = xsh_quota_ino_get(q, fd, false, &qi);
	if (rc)
		return rc;
	pthread_mutex_lock(&qi->lock);
	if (!fstat(fd, &st) && st.st_nlink == 0) {
		/* Opened with no name left (through a node the guest still
		 * holds, or again after a restart): charged from now on as
		 * an open unlinked file. */
		if (qi->gone) {
			xsh_quota_charge(q, (int64_t)st.st_blocks * 512, 1,
					 NULL);
			qi->blocks = (uint64_t)st.st_blocks;
			qi->gone = false;
		}
		qi->orphan = true;
	}
	qi->opens++;
	pthread_mutex_unlock(&qi->lock);
	*out = qi;
	return 0;
}

void xsh_quota_ino_close(struct xsh_quota *q, struct xsh_qino *qi, int fd,
			 const char *who)
{
	if (!qi)
		return;
	pthread_mutex_lock(&qi->lock);
	if (qi->opens)
		qi->opens--;
	if (!qi->opens && qi->orphan) {
		ino_settle_locked(q, qi, fd, who);
		xsh_quota_charge(q, -(int64_t)(qi->blocks * 512),
				 qi->shared ? 0 : -1, who);
		qi->orphan = false;
		qi->gone = true;
	}
	pthread_mutex_unlock(&qi->lock);
	xsh_quota_ino_put(q, qi);
}

/* ---- transactions -------------------------------------------------------- */

/* [off, off + len) lies inside the file and holds no hole: writing it
 * overwrites blocks already allocated (and charged). */
static bool range_allocated(int fd, uint64_t off, uint64_t len)
{
	struct stat st;
	off_t hole;

	if (fstat(fd, &st) || st.st_size < 0 || off > (uint64_t)st.st_size ||
	    len > (uint64_t)st.st_size - off)
		return false;
	hole = lseek(fd, (off_t)off, SEEK_HOLE);
	return hole >= 0 && (uint64_t)hole - off >= len;
}

/* The whole write, else the prefix that fits, else nothing at all when
 * the range is already allocated. */
static int begin_write(struct xsh_quota_txn *t)
{
	int fl = fcntl(t->fd, F_GETFL);
	bool append = fl < 0 || (fl & O_APPEND);
	uint64_t want = t->len;
	int rc;

	rc = xsh_quota_reserve_write(t->q, append ? XSH_QUOTA_OFF_ANY : t->off,
				     &t->len, &t->resv_bytes);
	if ((!rc && t->len == want) || append)
		return rc;
	if (range_allocated(t->fd, t->off, want)) {
		xsh_quota_unreserve(t->q, t->resv_bytes, 0);
		t->resv_bytes = 0;
		t->len = want;
		return 0;
	}
	return rc;
}

static int begin_reserve(struct xsh_quota_txn *t)
{
	uint64_t b = t->q->block, bytes = 0, inodes = 0;

	switch (t->kind) {
	case XSH_QUOTA_RANGE:
		if (t->len)
			bytes = xsh_quota_write_cost(t->q->block, t->off,
						     t->len);
		break;
	case XSH_QUOTA_XATTR:
		bytes = xsh_quota_write_cost(t->q->block, 0, t->len);
		if (bytes < b)
			bytes = b;
		break;
	case XSH_QUOTA_NAME:
		bytes = t->blocks * b;
		inodes = t->inodes;
		break;
	default:
		break;
	}
	if (bytes || inodes) {
		int rc = xsh_quota_reserve(t->q, bytes, inodes);

		if (rc)
			return rc;
	}
	t->resv_bytes = bytes;
	t->resv_inodes = inodes;
	return 0;
}

/* What copying a template's file up takes, reserved before the operation
 * that copies it (all the file's blocks and a block of metadata, one
 * inode); nothing for a private file.  Names being removed are not
 * copied; writes go through a handle opened for writing, which copied
 * the file when it was opened. */
static int begin_copyup(struct xsh_quota *q, const struct xsh_quota_txn *t,
			uint64_t *bytes, uint64_t *inodes)
{
	struct stat st;

	int shared;

	*bytes = 0;
	*inodes = 0;
	if ((t->kind != XSH_QUOTA_CHANGE && t->kind != XSH_QUOTA_XATTR &&
	     t->kind != XSH_QUOTA_COPYUP) || t->fd < 0)
		return 0;
	shared = shared_state(q, t->fd);
	if (shared <= 0)
		return shared;
	if (fstat(t->fd, &st))
		return -errno;
	*bytes = (uint64_t)st.st_blocks * 512 + q->block;
	*inodes = 1;
	return xsh_quota_reserve(q, *bytes, *inodes);
}

static int begin_txn(struct xsh_quota *q, const char *who,
		     struct xsh_quota_txn *t)
{
	int rc;

	t->q = q;
	t->who = who;
	t->qi = NULL;
	t->resv_bytes = 0;
	t->resv_inodes = 0;
	if (t->kind == XSH_QUOTA_WRITE) {
		rc = xsh_quota_ino_get(q, t->fd, false, &t->qi);
		if (rc)
			return rc;
		rc = begin_write(t);
		if (rc) {
			xsh_quota_ino_put(q, t->qi);
			t->qi = NULL;
		}
		return rc;
	}
	rc = begin_reserve(t);
	if (rc || t->fd < 0)
		return rc;
	rc = xsh_quota_ino_get(q, t->fd, false, &t->qi);
	if (t->kind != XSH_QUOTA_NAME) {
		if (rc)
			xsh_quota_unreserve(q, t->resv_bytes, t->resv_inodes);
		return rc;
	}
	/* A name's old inode is only tracked if it can be. */
	if (rc)
		t->qi = NULL;
	else
		xsh_quota_ino_lock(t->qi);
	return 0;
}

int xsh_quota_begin(struct xsh_quota *q, const char *who,
		    struct xsh_quota_txn *t)
{
	uint64_t bytes, inodes;
	int rc;

	rc = begin_copyup(q, t, &bytes, &inodes);
	if (rc)
		return rc;
	rc = begin_txn(q, who, t);
	if (rc) {
		if (bytes || inodes)
			xsh_quota_unreserve(q, bytes, inodes);
		return rc;
	}
	t->resv_bytes += bytes;
	t->resv_inodes += inodes;
	return 0;
}

static void settle_new(struct xsh_quota_txn *t, int fd, bool fresh)
{
	struct xsh_qino *qi;

	if (fd < 0 || xsh_quota_ino_get(t->q, fd, fresh, &qi))
		return;
	xsh_quota_ino_settle(t->q, qi, fd, t->who);
	xsh_quota_ino_put(t->q, qi);
}

static void txn_put(struct xsh_quota_txn *t)
{
	if (!t->qi)
		return;
	if (t->kind == XSH_QUOTA_NAME)
		xsh_quota_ino_unlock(t->qi);
	xsh_quota_ino_put(t->q, t->qi);
	t->qi = NULL;
}

static void txn_unreserve(struct xsh_quota_txn *t)
{
	if (t->resv_bytes || t->resv_inodes)
		xsh_quota_unreserve(t->q, t->resv_bytes, t->resv_inodes);
	t->resv_bytes = 0;
	t->resv_inodes = 0;
}

/* The name's old inode is released before the others are settled: one
 * inode's entry is never held while another's is taken. */
void xsh_quota_commit(struct xsh_quota_txn *t, const struct xsh_quota_used *u)
{
	if (t->qi) {
		if (t->kind == XSH_QUOTA_NAME)
			xsh_quota_ino_unlinked_locked(t->q, t->qi, t->fd,
						      t->who);
		else
			xsh_quota_ino_settle(t->q, t->qi, t->fd, t->who);
	}
	txn_put(t);
	if (u) {
		if (u->created)
			xsh_quota_charge(t->q, 0, 1, t->who);
		settle_new(t, u->new_fd, true);
		settle_new(t, u->fd, false);
		settle_new(t, u->dir_fd, false);
	}
	txn_unreserve(t);
}

void xsh_quota_abort(struct xsh_quota_txn *t)
{
	txn_put(t);
	txn_unreserve(t);
}

/* ---- the scan ------------------------------------------------------------ */

/* Inodes with more than one link, counted once. */
struct ino_set {
	uint64_t *slot;		/* pairs dev, ino; ino 0 = empty slot */
	size_t cap;		/* pairs, a power of two */
	size_t nr;
};

static int ino_set_add(struct ino_set *s, uint64_t dev, uint64_t ino)
{
	size_t i, mask;

	if (ino == 0)
		ino = UINT64_MAX;	/* 0 marks empty slots */
	if ((s->nr + 1) * 2 > s->cap) {
		struct ino_set n = { .cap = s->cap ? s->cap * 2 : 1024 };

		n.slot = calloc(n.cap * 2, sizeof(uint64_t));
		if (!n.slot)
			return -ENOMEM;
		for (i = 0; i < s->cap; i++)
			if (s->slot[2 * i + 1])
				ino_set_add(&n, s->slot[2 * i],
					    s->slot[2 * i + 1]);
		free(s->slot);
		*s = n;
	}
	mask = s->cap - 1;
	for (i = (size_t)((ino * 0x9e3779b97f4a7c15ull) ^ dev) & mask;;
	     i = (i + 1) & mask) {
		if (!s->slot[2 * i + 1]) {
			s->slot[2 * i] = dev;
			s->slot[2 * i + 1] = ino;
			s->nr++;
			return 1;
		}
		if (s->slot[2 * i] == dev && s->slot[2 * i + 1] == ino)
			return 0;
	}
}

/* A directory being walked: its fd stays open while subdirectories found
 * in it wait to be opened. */
struct scan_dir {
	int fd;
	unsigned pending;	/* subdirectories not yet opened */
	bool read;		/* all its entries have been listed */
};

struct scan_item {
	struct scan_dir *parent;
	struct scan_item *next;
	char name[];
};

static void scan_dir_put(struct scan_dir *d)
{
	if (d->read && !d->pending) {
		close(d->fd);
		free(d);
	}
}

struct scan {
	bool whiteouts;		/* skip them: a template's upper directory */
	struct ino_set links;
	struct scan_item *stack;
	char *buf;
	uint64_t bytes;
	uint64_t inodes;
	uint64_t skipped;
};

static int scan_count(struct scan *s, const struct stat *st)
{
	if (s->whiteouts && S_ISCHR(st->st_mode) && st->st_rdev == 0)
		return 0;
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		int rc = ino_set_add(&s->links, st->st_dev, st->st_ino);

		if (rc <= 0)
			return rc;
	}
	s->bytes += (uint64_t)st->st_blocks * 512;
	s->inodes++;
	return 0;
}

/* List every entry of d (which takes ownership of fd), count it, and
 * queue its subdirectories. */
static int scan_list(struct scan *s, int fd)
{
	struct scan_dir *d = calloc(1, sizeof(*d));
	struct scan_item *it;
	struct dirent64 *de;
	struct stat st;
	size_t namelen;
	ssize_t n, off;
	int rc = 0;

	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	d->fd = fd;
	for (;;) {
		n = getdents64(fd, s->buf, SCAN_BUF);
		if (n < 0)
			s->skipped++;
		if (n <= 0)
			break;
		for (off = 0; off < n; off += de->d_reclen) {
			de = (struct dirent64 *)(s->buf + off);
			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			if (fstatat(fd, de->d_name, &st,
				    AT_SYMLINK_NOFOLLOW)) {
				s->skipped++;
				continue;
			}
			rc = scan_count(s, &st);
			if (rc)
				goto out;
			if (!S_ISDIR(st.st_mode))
				continue;
			namelen = strlen(de->d_name);
			it = malloc(sizeof(*it) + namelen + 1);
			if (!it) {
				rc = -ENOMEM;
				goto out;
			}
			memcpy(it->name, de->d_name, namelen + 1);
			it->parent = d;
			it->next = s->stack;
			s->stack = it;
			d->pending++;
		}
	}
out:
	d->read = true;
	scan_dir_put(d);
	return rc;
}

int xsh_quota_scan(struct xsh_quota *q, int root_fd, uint64_t *skipped)
{
	struct scan s = { .whiteouts = q->shared != NULL };
	struct scan_item *it;
	struct stat st;
	int fd, rc;

	s.buf = malloc(SCAN_BUF);
	if (!s.buf)
		return -ENOMEM;
	if (fstat(root_fd, &st)) {
		rc = -errno;
		goto out;
	}
	rc = scan_count(&s, &st);
	if (rc)
		goto out;
	fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = scan_list(&s, fd);
	while (!rc && s.stack) {
		it = s.stack;
		s.stack = it->next;
		fd = openat(it->parent->fd, it->name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		it->parent->pending--;
		scan_dir_put(it->parent);
		free(it);
		if (fd < 0) {
			s.skipped++;
			continue;
		}
		rc = scan_list(&s, fd);
	}
out:
	while (s.stack) {
		it = s.stack;
		s.stack = it->next;
		it->parent->pending--;
		scan_dir_put(it->parent);
		free(it);
	}
	free(s.links.slot);
	free(s.buf);
	if (rc)
		return rc;
	pthread_mutex_lock(&q->lock);
	q->used_bytes = s.bytes;
	q->used_inodes = s.inodes;
	q->level = compute_level(q);
	pthread_mutex_unlock(&q->lock);
	if (skipped)
		*skipped = s.skipped;
	return 0;
}
