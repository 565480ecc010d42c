// SPDX-License-Identifier: MIT
/*
 * Unit tests for quota accounting (backend/service/quota.c) and its hooks in the
 * file service: reservation arithmetic, levels, live limit changes,
 * concurrent reservations, the inode table, the start-up scan, and
 * requests fed to xsh_dispatch() on a temporary export under /tmp whose
 * real usage (st_blocks of every inode, as du counts it) is compared with
 * what the quota module says.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "backend/daemon/control.h"
#include "backend/service/policy.h"
#include "backend/service/quota.h"
#include "backend/service/service.h"
#include "protocol/codec.h"
#include "tap.h"

static char why[512];

/* The reason is the last CHECK's, in why[]; it is used up. */
static void report(bool ok, const char *name)
{
	result(ok, name, "%s", why);
	why[0] = '\0';
}

#define B		4096ull
#define KiB		1024ull
#define MiB		(1024ull * 1024)

static char top[64];

/* ---- pure accounting ---------------------------------------------------- */

static struct xsh_quota *new_quota(uint64_t bytes, uint64_t inodes)
{
	struct xsh_quota *q;

	if (xsh_quota_new("test", 4096, &q))
		abort();
	xsh_quota_set_limits(q, bytes, inodes, 90, "test");
	return q;
}

static void test_write_cost(void)
{
	bool ok = false;

	CHECK(xsh_quota_write_cost(B, 0, 0) == 0, "empty write costs %llu",
	      (unsigned long long)xsh_quota_write_cost(B, 0, 0));
	CHECK(xsh_quota_write_cost(B, 0, 1) == 2 * B, "1 byte");
	CHECK(xsh_quota_write_cost(B, 0, B) == 2 * B, "one aligned block");
	CHECK(xsh_quota_write_cost(B, 1, B) == 3 * B, "one unaligned block");
	CHECK(xsh_quota_write_cost(B, 4095, 2) == 3 * B, "straddling two");
	CHECK(xsh_quota_write_cost(B, 8 * B, MiB) == (256 + 1) * B,
	      "1 MiB aligned");
	CHECK(xsh_quota_write_cost(B, XSH_QUOTA_OFF_ANY, B) == 3 * B,
	      "append of a block");
	CHECK(xsh_quota_write_cost(B, XSH_QUOTA_OFF_ANY, 1) == 2 * B,
	      "append of a byte");
	CHECK(xsh_quota_write_cost(B, UINT64_MAX - 10, 100) == 3 * B,
	      "offset overflow treated as any offset");
	CHECK(xsh_quota_write_cost(B, 0, UINT64_MAX) == UINT64_MAX,
	      "huge length saturates");
	ok = true;
out:
	report(ok, "write cost: the blocks touched plus one block of slack");
}

static void test_reserve(void)
{
	struct xsh_quota *q = new_quota(100 * KiB, 3);
	struct xsh_quota_usage u;
	bool ok = false;

	CHECK(xsh_quota_reserve(q, 60 * KiB, 1) == 0, "first reservation");
	CHECK(xsh_quota_reserve(q, 50 * KiB, 0) == -EDQUOT, "over the limit");
	CHECK(xsh_quota_reserve(q, 40 * KiB, 3) == -EDQUOT, "inodes over");
	xsh_quota_get(q, &u);
	CHECK(u.reserved_bytes == 60 * KiB && u.reserved_inodes == 1,
	      "a refused reservation left %llu/%llu reserved",
	      (unsigned long long)u.reserved_bytes,
	      (unsigned long long)u.reserved_inodes);
	CHECK(xsh_quota_reserve(q, 40 * KiB, 2) == 0, "exactly to the limit");
	CHECK(xsh_quota_reserve(q, 1, 0) == -EDQUOT, "one byte more");
	xsh_quota_charge(q, 20 * KiB, 1, "test");
	xsh_quota_unreserve(q, 60 * KiB, 1);
	xsh_quota_unreserve(q, 40 * KiB, 2);
	xsh_quota_get(q, &u);
	CHECK(u.usage_bytes == 20 * KiB && u.usage_inodes == 1 &&
	      !u.reserved_bytes && !u.reserved_inodes,
	      "after settling: used %llu, reserved %llu",
	      (unsigned long long)u.usage_bytes,
	      (unsigned long long)u.reserved_bytes);
	xsh_quota_charge(q, -(int64_t)MiB, -5, "test");
	xsh_quota_get(q, &u);
	CHECK(u.usage_bytes == 0 && u.usage_inodes == 0,
	      "uncharging more than charged went below zero");
	xsh_quota_set_limits(q, 0, 0, 90, "test");
	CHECK(xsh_quota_reserve(q, UINT64_MAX / 2, 1000000) == 0,
	      "no limit: anything fits");
	ok = true;
out:
	xsh_quota_free(q);
	report(ok, "reserve is all or nothing, settle and uncharge never fail");
}

/* Every shortened write is the longest prefix whose cost fits. */
static void test_reserve_write(void)
{
	static const uint64_t offs[] = { 0, 1, 100, 4095, 4096, 12345,
					 XSH_QUOTA_OFF_ANY };
	static const uint64_t lens[] = { 1, 4096, 5000, 65536, MiB };
	struct xsh_quota_usage u;
	uint64_t avail, len, resv, off;
	struct xsh_quota *q;
	bool ok = false;
	size_t i, j;
	int rc;

	for (avail = 0; avail <= 40 * B; avail += 1000) {
		for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
				q = new_quota(avail ? avail : 1, 0);
				off = offs[i];
				len = lens[j];
				rc = xsh_quota_reserve_write(q, off, &len, &resv);
				xsh_quota_get(q, &u);
				xsh_quota_free(q);
				if (rc) {
					CHECK(rc == -EDQUOT && !resv &&
					      xsh_quota_write_cost(B, off, 1) > avail,
					      "refused though a byte fits: avail %llu off %llu",
					      (unsigned long long)avail,
					      (unsigned long long)off);
					continue;
				}
				CHECK(resv == xsh_quota_write_cost(B, off, len) &&
				      resv <= avail && u.reserved_bytes == resv,
				      "reserved %llu for %llu bytes, avail %llu",
				      (unsigned long long)resv,
				      (unsigned long long)len,
				      (unsigned long long)avail);
				CHECK(len == lens[j] ||
				      xsh_quota_write_cost(B, off, len + 1) > avail,
				      "not the longest prefix: %llu of %llu, avail %llu off %llu",
				      (unsigned long long)len,
				      (unsigned long long)lens[j],
				      (unsigned long long)avail,
				      (unsigned long long)off);
			}
		}
	}
	ok = true;
out:
	report(ok, "a write that does not fit is cut to the longest prefix that does");
}

static void test_levels(void)
{
	struct xsh_quota *q = new_quota(100 * B, 10);
	struct xsh_quota_usage u;
	bool ok = false;

	xsh_quota_get(q, &u);
	CHECK(u.level == XSH_QUOTA_OK, "empty is %s", xsh_quota_level_name(u.level));
	xsh_quota_charge(q, 89 * B, 0, "test");
	xsh_quota_get(q, &u);
	CHECK(u.level == XSH_QUOTA_OK, "89%% is %s", xsh_quota_level_name(u.level));
	xsh_quota_charge(q, B, 0, "test");
	xsh_quota_get(q, &u);
	CHECK(u.level == XSH_QUOTA_SOFT, "90%% is %s",
	      xsh_quota_level_name(u.level));
	xsh_quota_charge(q, 9 * B, 0, "test");
	xsh_quota_get(q, &u);
	CHECK(u.level == XSH_QUOTA_HARD, "one block left is %s",
	      xsh_quota_level_name(u.level));
	xsh_quota_charge(q, -50 * (int64_t)B, 0, "test");
	xsh_quota_charge(q, 0, 10, "test");
	xsh_quota_get(q, &u);
	CHECK(u.level == XSH_QUOTA_HARD, "inodes used up is %s",
	      xsh_quota_level_name(u.level));
	xsh_quota_charge(q, 0, -2, "test");
	xsh_quota_get(q, &u);
	CHECK(u.level == XSH_QUOTA_OK, "80%% of inodes is %s",
	      xsh_quota_level_name(u.level));
	xsh_quota_set_limits(q, 100 * B, 10, 50, "test");
	xsh_quota_get(q, &u);
	CHECK(u.level == XSH_QUOTA_SOFT, "soft limit lowered to 50%%: %s",
	      xsh_quota_level_name(u.level));
	xsh_quota_set_limits(q, 100 * B, 10, 0, "test");
	xsh_quota_get(q, &u);
	CHECK(u.level == XSH_QUOTA_OK, "soft limit 0 disables it: %s",
	      xsh_quota_level_name(u.level));
	CHECK(!strcmp(xsh_quota_level_name(XSH_QUOTA_SOFT), "soft-limit") &&
	      !strcmp(xsh_quota_level_name(XSH_QUOTA_HARD), "hard-limit") &&
	      !strcmp(xsh_quota_level_name(XSH_QUOTA_OK), "ok"), "level names");
	ok = true;
out:
	xsh_quota_free(q);
	report(ok, "levels: ok, soft-limit at the percentage, hard-limit when growth is refused");
}

static void test_live_change(void)
{
	struct xsh_quota *q = new_quota(100 * B, 0);
	struct xsh_quota_usage u;
	bool ok = false;

	xsh_quota_charge(q, 80 * B, 0, "test");
	xsh_quota_set_limits(q, 50 * B, 0, 90, "test");
	xsh_quota_get(q, &u);
	CHECK(u.usage_bytes == 80 * B && u.level == XSH_QUOTA_HARD,
	      "shrinking below usage: used %llu, %s",
	      (unsigned long long)u.usage_bytes, xsh_quota_level_name(u.level));
	CHECK(xsh_quota_reserve(q, B, 0) == -EDQUOT, "growth not blocked");
	xsh_quota_charge(q, -10 * (int64_t)B, 0, "test");
	CHECK(xsh_quota_reserve(q, B, 0) == -EDQUOT,
	      "still over after a delete");
	xsh_quota_set_limits(q, 200 * B, 0, 90, "test");
	CHECK(xsh_quota_reserve(q, 100 * B, 0) == 0,
	      "raising the limit did not let growth continue");
	xsh_quota_get(q, &u);
	CHECK(u.level == XSH_QUOTA_OK, "after raising: %s",
	      xsh_quota_level_name(u.level));
	ok = true;
out:
	xsh_quota_free(q);
	report(ok, "a live change applies at once, up or down, and deletes nothing");
}

/* ---- concurrent reservations -------------------------------------------- */

#define NTHREADS	8

struct sim {
	struct xsh_quota *q;
	uint64_t limit;
	uint64_t disk;		/* atomic: bytes "allocated" */
	uint64_t max_disk;	/* atomic */
	bool bad;
	char msg[200];
	unsigned seed;
};

static void *sim_thread(void *arg)
{
	struct sim *s = arg;
	struct xsh_quota_usage u;
	unsigned seed = __atomic_add_fetch(&s->seed, 7919, __ATOMIC_RELAXED);
	uint64_t len, resv, alloc, d, m;
	int i;

	for (i = 0; i < 20000; i++) {
		len = 1 + (uint64_t)rand_r(&seed) % (256 * KiB);
		if (xsh_quota_reserve_write(s->q, (uint64_t)rand_r(&seed) % MiB,
					   &len, &resv)) {
			/* Full: free something, as a guest deleting would. */
			m = __atomic_load_n(&s->disk, __ATOMIC_RELAXED);
			d = m / 4 / B * B;
			if (d && __atomic_compare_exchange_n(&s->disk, &m, m - d,
					false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
				xsh_quota_charge(s->q, -(int64_t)d, 0, "sim");
			continue;
		}
		/* The operation allocates up to what it reserved. */
		alloc = resv ? (uint64_t)rand_r(&seed) % (resv / B + 1) * B : 0;
		d = __atomic_add_fetch(&s->disk, alloc, __ATOMIC_RELAXED);
		m = __atomic_load_n(&s->max_disk, __ATOMIC_RELAXED);
		while (d > m && !__atomic_compare_exchange_n(&s->max_disk, &m, d,
				false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		xsh_quota_charge(s->q, (int64_t)alloc, 0, "sim");
		xsh_quota_get(s->q, &u);
		if (u.usage_bytes > s->limit && !s->bad) {
			s->bad = true;
			snprintf(s->msg, sizeof(s->msg),
				 "used %llu > limit %llu",
				 (unsigned long long)u.usage_bytes,
				 (unsigned long long)s->limit);
		}
		xsh_quota_unreserve(s->q, resv, 0);
	}
	return NULL;
}

static void test_concurrent_reserve(void)
{
	struct sim s = { .limit = 10 * MiB, .seed = 1 };
	pthread_t t[NTHREADS];
	struct xsh_quota_usage u;
	bool ok = false;
	int i;

	s.q = new_quota(s.limit, 0);
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, sim_thread, &s);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	xsh_quota_get(s.q, &u);
	CHECK(!s.bad, "%s", s.msg);
	CHECK(s.max_disk <= s.limit, "allocated %llu > limit %llu",
	      (unsigned long long)s.max_disk, (unsigned long long)s.limit);
	CHECK(u.usage_bytes == s.disk && !u.reserved_bytes,
	      "usage %llu, allocated %llu, reserved %llu left",
	      (unsigned long long)u.usage_bytes,
	      (unsigned long long)s.disk,
	      (unsigned long long)u.reserved_bytes);
	CHECK(s.max_disk > s.limit / 2, "the limit was never approached (%llu)",
	      (unsigned long long)s.max_disk);
	ok = true;
out:
	xsh_quota_free(s.q);
	report(ok, "8 threads reserving at once never exceed the limit");
}

/* ---- inodes and the scan, on real files --------------------------------- */

static uint64_t file_bytes(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (uint64_t)st.st_blocks * 512;
}

static void test_settle(void)
{
	struct xsh_quota *q = new_quota(0, 0);
	struct xsh_quota_usage u;
	struct xsh_qino *qi;
	char p[128], buf[65536];
	bool ok = false;
	int fd;

	memset(buf, 'x', sizeof(buf));
	snprintf(p, sizeof(p), "%s/settle", top);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0, "open: %s", strerror(errno));
	CHECK(!xsh_quota_ino_get(q, fd, true, &qi), "ino_get");
	CHECK(pwrite(fd, buf, sizeof(buf), 0) == sizeof(buf), "pwrite");
	CHECK(pwrite(fd, buf, sizeof(buf), 10 * MiB) == sizeof(buf), "pwrite");
	xsh_quota_ino_settle(q, qi, fd, "test");
	xsh_quota_get(q, &u);
	CHECK(u.usage_bytes == file_bytes(fd),
	      "charged %llu, the file holds %llu",
	      (unsigned long long)u.usage_bytes,
	      (unsigned long long)file_bytes(fd));
	CHECK(!ftruncate(fd, 4096), "ftruncate");
	xsh_quota_ino_settle(q, qi, fd, "test");
	xsh_quota_get(q, &u);
	CHECK(u.usage_bytes == file_bytes(fd),
	      "after truncating: charged %llu, the file holds %llu",
	      (unsigned long long)u.usage_bytes,
	      (unsigned long long)file_bytes(fd));
	xsh_quota_ino_put(q, qi);
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	unlink(p);
	xsh_quota_free(q);
	report(ok, "settle charges the real st_blocks change, up and down");
}

/* A transaction holds its reservation until commit or abort, a write
 * that does not fit is shortened, and commit charges what was used. */
static void test_txn(void)
{
	struct xsh_quota *q = new_quota(100 * KiB, 3);
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_NAME, .fd = -1,
				   .blocks = 2, .inodes = 1 };
	struct xsh_quota_txn big = { .kind = XSH_QUOTA_NAME, .fd = -1,
				     .blocks = 1, .inodes = 4 };
	struct xsh_quota_txn w = { .kind = XSH_QUOTA_WRITE };
	struct xsh_quota_usage u;
	static char buf[256 * 1024];
	char p[128] = "";
	bool ok = false;
	ssize_t r;
	int fd = -1;

	CHECK(!xsh_quota_begin(q, "test", &t), "begin");
	xsh_quota_get(q, &u);
	CHECK(u.reserved_bytes == 2 * B && u.reserved_inodes == 1,
	      "begin reserved %llu/%llu",
	      (unsigned long long)u.reserved_bytes,
	      (unsigned long long)u.reserved_inodes);
	xsh_quota_abort(&t);
	CHECK(xsh_quota_begin(q, "test", &big) == -EDQUOT, "inodes over");
	xsh_quota_get(q, &u);
	CHECK(!u.reserved_bytes && !u.reserved_inodes && !u.usage_bytes &&
	      !u.usage_inodes, "abort or a refused begin left %llu reserved",
	      (unsigned long long)u.reserved_bytes);

	memset(buf, 'x', sizeof(buf));
	snprintf(p, sizeof(p), "%s/txn", top);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0, "open: %s", strerror(errno));
	w.fd = fd;
	w.len = sizeof(buf);
	CHECK(!xsh_quota_begin(q, "test", &w), "begin write");
	CHECK(w.len && w.len < sizeof(buf), "write not shortened: %llu",
	      (unsigned long long)w.len);
	r = pwrite(fd, buf, w.len, 0);
	xsh_quota_commit(&w, NULL);
	CHECK(r == (ssize_t)w.len, "pwrite");
	xsh_quota_get(q, &u);
	CHECK(u.usage_bytes == file_bytes(fd) && !u.reserved_bytes &&
	      u.usage_bytes <= 100 * KiB,
	      "charged %llu (reserved %llu), the file holds %llu",
	      (unsigned long long)u.usage_bytes,
	      (unsigned long long)u.reserved_bytes,
	      (unsigned long long)file_bytes(fd));
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	unlink(p);
	xsh_quota_free(q);
	report(ok, "transaction: begin reserves, abort undoes, commit settles");
}

struct same_file {
	struct xsh_quota *q;
	int fd;
	int idx;
};

static void *same_file_thread(void *arg)
{
	struct same_file *sf = arg;
	int idx = __atomic_fetch_add(&sf->idx, 1, __ATOMIC_RELAXED);
	struct xsh_qino *qi;
	char buf[8192];
	int i;

	memset(buf, 'a' + idx, sizeof(buf));
	for (i = 0; i < 200; i++) {
		if (xsh_quota_ino_get(sf->q, sf->fd, false, &qi))
			return NULL;
		if (pwrite(sf->fd, buf, sizeof(buf),
			   ((off_t)i * NTHREADS + idx) * (off_t)sizeof(buf)) < 0)
			abort();
		xsh_quota_ino_settle(sf->q, qi, sf->fd, "test");
		xsh_quota_ino_put(sf->q, qi);
	}
	return NULL;
}

static void test_same_file(void)
{
	struct same_file sf = { 0 };
	struct xsh_quota_usage u;
	pthread_t t[NTHREADS];
	char p[128];
	bool ok = false;
	int i;

	sf.q = new_quota(0, 0);
	snprintf(p, sizeof(p), "%s/same", top);
	sf.fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(sf.fd >= 0, "open: %s", strerror(errno));
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, same_file_thread, &sf);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	xsh_quota_get(sf.q, &u);
	CHECK(u.usage_bytes == file_bytes(sf.fd),
	      "charged %llu, the file holds %llu",
	      (unsigned long long)u.usage_bytes,
	      (unsigned long long)file_bytes(sf.fd));
	ok = true;
out:
	if (sf.fd >= 0)
		close(sf.fd);
	unlink(p);
	xsh_quota_free(sf.q);
	report(ok, "8 writers on one file: the settles add up to its real size");
}

static void test_unlink(void)
{
	struct xsh_quota *q = new_quota(0, 0);
	struct xsh_quota_usage u;
	struct xsh_qino *qi;
	char p[128], p2[128], buf[20000];
	bool ok = false;
	int fd = -1, pfd;
	uint64_t size;

	memset(buf, 1, sizeof(buf));
	snprintf(p, sizeof(p), "%s/victim", top);
	snprintf(p2, sizeof(p2), "%s/victim2", top);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, buf, sizeof(buf)) == sizeof(buf), "write");
	CHECK(!link(p, p2), "link");
	size = file_bytes(fd);
	xsh_quota_charge(q, (int64_t)size, 1, "test");	/* as the scan would */

	pfd = open(p, O_PATH | O_NOFOLLOW);
	CHECK(pfd >= 0 && !xsh_quota_ino_get(q, pfd, false, &qi), "ino_get");
	xsh_quota_ino_lock(qi);
	CHECK(!unlink(p), "unlink");
	xsh_quota_ino_unlinked_locked(q, qi, pfd, "test");
	xsh_quota_ino_unlock(qi);
	xsh_quota_ino_put(q, qi);
	close(pfd);
	xsh_quota_get(q, &u);
	CHECK(u.usage_bytes == size && u.usage_inodes == 1,
	      "removing one of two names uncharged: %llu bytes, %llu inodes",
	      (unsigned long long)u.usage_bytes,
	      (unsigned long long)u.usage_inodes);

	pfd = open(p2, O_PATH | O_NOFOLLOW);
	CHECK(pfd >= 0 && !xsh_quota_ino_get(q, pfd, false, &qi), "ino_get");
	xsh_quota_ino_lock(qi);
	CHECK(!unlink(p2), "unlink");
	xsh_quota_ino_unlinked_locked(q, qi, pfd, "test");
	xsh_quota_ino_unlinked_locked(q, qi, pfd, "test");
	xsh_quota_ino_unlock(qi);
	xsh_quota_ino_put(q, qi);
	close(pfd);
	xsh_quota_get(q, &u);
	CHECK(u.usage_bytes == 0 && u.usage_inodes == 0,
	      "removing the last name left %llu bytes, %llu inodes",
	      (unsigned long long)u.usage_bytes,
	      (unsigned long long)u.usage_inodes);
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	unlink(p);
	unlink(p2);
	xsh_quota_free(q);
	report(ok, "the last name removed uncharges the inode once; a hard link uncharges nothing");
}

/* du -sB1 and du --inodes -s, the slow way: nftw, each inode once. */
static uint64_t du_bytes, du_inodes;
static struct { dev_t dev; ino_t ino; } du_seen[4096];
static size_t du_nseen;

static int du_visit(const char *path, const struct stat *st, int flag,
		    struct FTW *f)
{
	size_t i;

	for (i = 0; i < du_nseen; i++)
		if (du_seen[i].dev == st->st_dev && du_seen[i].ino == st->st_ino)
			return 0;
	if (du_nseen < sizeof(du_seen) / sizeof(du_seen[0])) {
		du_seen[du_nseen].dev = st->st_dev;
		du_seen[du_nseen].ino = st->st_ino;
		du_nseen++;
	}
	du_bytes += (uint64_t)st->st_blocks * 512;
	du_inodes++;
	return 0;
}

static void du(const char *path, uint64_t *bytes, uint64_t *inodes)
{
	du_bytes = du_inodes = 0;
	du_nseen = 0;
	nftw(path, du_visit, 32, FTW_PHYS);
	*bytes = du_bytes;
	*inodes = du_inodes;
}

static int make_tree(const char *root)
{
	char p[256], buf[30000];
	int i, fd;

	memset(buf, 7, sizeof(buf));
	if (mkdir(root, 0755))
		return -1;
	for (i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "%s/d%d", root, i);
		if (mkdir(p, 0755))
			return -1;
		snprintf(p, sizeof(p), "%s/d%d/sub", root, i);
		if (mkdir(p, 0700))
			return -1;
		snprintf(p, sizeof(p), "%s/d%d/sub/f", root, i);
		fd = open(p, O_WRONLY | O_CREAT, 0644);
		if (fd < 0 || write(fd, buf, (size_t)(i + 1) * 5000) < 0)
			return -1;
		close(fd);
	}
	snprintf(p, sizeof(p), "%s/sparse", root);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || pwrite(fd, buf, 100, 50 * MiB) < 0)
		return -1;
	close(fd);
	snprintf(p, sizeof(p), "%s/d0/sub/f", root);
	for (i = 0; i < 3; i++) {
		char l[256];

		snprintf(l, sizeof(l), "%s/d%d/link", root, i + 1);
		if (link(p, l))
			return -1;
	}
	snprintf(p, sizeof(p), "%s/sym", root);
	if (symlink("/etc/passwd", p))
		return -1;
	snprintf(p, sizeof(p), "%s/d4/longsym", root);
	memset(buf, 'z', 300);
	buf[300] = '\0';
	if (symlink(buf, p))
		return -1;
	return 0;
}

static void test_scan(void)
{
	struct xsh_quota *q = new_quota(0, 0);
	struct xsh_quota_usage u;
	uint64_t bytes, inodes, skipped = 1;
	char root[128];
	bool ok = false;
	int fd = -1;

	snprintf(root, sizeof(root), "%s/tree", top);
	CHECK(!make_tree(root), "making the tree: %s", strerror(errno));
	fd = open(root, O_PATH | O_DIRECTORY);
	CHECK(fd >= 0, "open");
	CHECK(!xsh_quota_scan(q, fd, &skipped), "scan failed");
	xsh_quota_get(q, &u);
	du(root, &bytes, &inodes);
	CHECK(u.usage_bytes == bytes && u.usage_inodes == inodes && !skipped,
	      "scan: %llu bytes %llu inodes (%llu skipped), du: %llu bytes %llu inodes",
	      (unsigned long long)u.usage_bytes,
	      (unsigned long long)u.usage_inodes,
	      (unsigned long long)skipped, (unsigned long long)bytes,
	      (unsigned long long)inodes);
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	xsh_quota_free(q);
	report(ok, "the start-up scan counts what du counts: every inode once, the root included");
}

/* ---- through the file service ------------------------------------------- */

#define DATA_BYTES	(NTHREADS * 2 * MiB)

static struct xsh_export *exp_;
static struct xsh_sess *sess;
static uint8_t *data;
static char exp_dir[128];
static uint64_t next_id;
static __thread uint32_t buf_base;

static int run(struct xsh_req *r, const void *in, uint32_t in_len,
	       struct xsh_rsp *rsp)
{
	r->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	r->buf_off = buf_base;
	r->in_len = in_len;
	r->buf_len = in_len > 4096 ? in_len : 4096;
	if (in_len)
		memcpy(data + buf_base, in, in_len);
	if (xsh_dispatch(sess, r, rsp))
		return -EPROTO;
	return -rsp->error;
}

static struct xsh_req mkreq(uint16_t op, uint64_t nodeid)
{
	struct xsh_req r;

	memset(&r, 0, sizeof(r));
	r.opcode = op;
	r.nodeid = nodeid;
	return r;
}

static int op_create(const char *name, uint64_t *node, uint64_t *fh)
{
	struct xsh_req r = mkreq(XSH_OP_CREATE, XSH_ROOT_NODEID);
	struct xsh_rsp rsp;
	int rc;

	r.a.open.flags = O_CREAT | O_RDWR;
	r.a.open.mode = 0644;
	rc = run(&r, name, (uint32_t)strlen(name), &rsp);
	*node = rsp.u.entry.nodeid;
	*fh = rsp.u.entry.fh;
	return rc;
}

static int op_write(uint64_t node, uint64_t fh, uint64_t off, uint32_t len,
		    uint64_t *count)
{
	struct xsh_req r = mkreq(XSH_OP_WRITE, node);
	struct xsh_rsp rsp;
	int rc;

	r.fh = fh;
	r.a.io.offset = off;
	r.a.io.size = len;
	memset(data + buf_base, 'w', len);
	r.id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	r.buf_off = buf_base;
	r.in_len = r.buf_len = len;
	rc = xsh_dispatch(sess, &r, &rsp) ? -EPROTO : -rsp.error;
	*count = rsp.u.count;
	return rc;
}

static int op_release(uint64_t node, uint64_t fh)
{
	struct xsh_req r = mkreq(XSH_OP_RELEASE, node);
	struct xsh_rsp rsp;

	r.fh = fh;
	return run(&r, NULL, 0, &rsp);
}

static int op_name(uint16_t op, uint64_t parent, const char *name)
{
	struct xsh_req r = mkreq(op, parent);
	struct xsh_rsp rsp;

	if (op == XSH_OP_MKDIR)
		r.a.mknod.mode = 0755;
	return run(&r, name, (uint32_t)strlen(name), &rsp);
}

static int op_statfs(struct xsh_statfs *o)
{
	struct xsh_req r = mkreq(XSH_OP_STATFS, XSH_ROOT_NODEID);
	struct xsh_rsp rsp;
	int rc = run(&r, NULL, 0, &rsp);

	*o = rsp.u.statfs;
	return rc;
}

static int svc_open(const char *name, uint64_t qbytes, uint64_t qinodes)
{
	struct xsh_policy pol;
	int rc;

	snprintf(exp_dir, sizeof(exp_dir), "%s/%s", top, name);
	if (mkdir(exp_dir, 0755))
		return -errno;
	xsh_policy_default(&pol);
	pol.quota_bytes = qbytes;
	pol.quota_inodes = qinodes;
	rc = xsh_export_open(exp_dir, &pol, &exp_);
	if (rc)
		return rc;
	return xsh_sess_new(exp_, data, DATA_BYTES, "test", &sess);
}

static void svc_close(void)
{
	xsh_sess_free(sess);
	xsh_export_close(exp_);
	sess = NULL;
	exp_ = NULL;
}

static void set_limits(uint64_t bytes, uint64_t inodes)
{
	struct xsh_policy pol;

	xsh_export_get_policy(exp_, &pol);
	pol.quota_bytes = bytes;
	pol.quota_inodes = inodes;
	xsh_export_set_policy(exp_, &pol);
}

/* The service's usage equals du of the export. */
static char mismatch[256];

static bool usage_matches(void)
{
	struct xsh_quota_usage u;
	uint64_t bytes, inodes;

	xsh_export_get_usage(exp_, &u);
	du(exp_dir, &bytes, &inodes);
	if (u.usage_bytes == bytes && u.usage_inodes == inodes)
		return true;
	snprintf(mismatch, sizeof(mismatch),
		 "usage %llu bytes %llu inodes, du %llu bytes %llu inodes",
		 (unsigned long long)u.usage_bytes,
		 (unsigned long long)u.usage_inodes,
		 (unsigned long long)bytes, (unsigned long long)inodes);
	return false;
}

static void test_svc_edquot(void)
{
	const uint64_t limit = 256 * KiB;
	struct xsh_statfs sf;
	uint64_t node, fh, node2, fh2, n, total = 0, bytes, inodes;
	bool ok = false;
	int rc;

	CHECK(!svc_open("edquot", limit, 0), "export");
	CHECK(!op_create("f", &node, &fh), "create");
	rc = op_write(node, fh, 0, MiB, &n);
	CHECK(!rc && n > 0 && n < MiB, "1 MiB write at a 256 KiB quota: %d, %llu",
	      rc, (unsigned long long)n);
	total = n;
	rc = op_write(node, fh, total, MiB, &n);
	CHECK(rc == -EDQUOT, "write when full: %d (%llu bytes)", rc,
	      (unsigned long long)n);
	du(exp_dir, &bytes, &inodes);
	CHECK(bytes <= limit, "du %llu > quota %llu",
	      (unsigned long long)bytes, (unsigned long long)limit);
	CHECK(usage_matches(), "%s", mismatch);
	CHECK(!op_statfs(&sf) && sf.frsize &&
	      sf.blocks == limit / sf.frsize &&
	      sf.bfree == (limit - bytes) / sf.frsize && sf.bavail == sf.bfree,
	      "statfs: %llu blocks %llu free of %u",
	      (unsigned long long)sf.blocks, (unsigned long long)sf.bfree,
	      sf.frsize);
	/* Overwriting allocated blocks allocates nothing: allowed. */
	rc = op_write(node, fh, 0, 64 * KiB, &n);
	CHECK(!rc && n == 64 * KiB, "overwrite in place at the quota: %d", rc);
	CHECK(!op_name(XSH_OP_UNLINK, XSH_ROOT_NODEID, "f"), "unlink");
	/* Still open: still charged, like the blocks ext4 keeps. */
	CHECK(op_write(node, fh, total, MiB, &n) == -EDQUOT,
	      "write to the unlinked open file when full");
	CHECK(!usage_matches(), "an unlinked open file is still charged");
	CHECK(!op_release(node, fh), "release");
	CHECK(usage_matches(), "after the last release: %s", mismatch);
	CHECK(!op_create("g", &node2, &fh2), "create after freeing");
	rc = op_write(node2, fh2, 0, 128 * KiB, &n);
	CHECK(!rc && n == 128 * KiB, "write after freeing: %d", rc);
	CHECK(usage_matches(), "%s", mismatch);
	ok = true;
out:
	svc_close();
	report(ok, "service: a write at the quota is short, then EDQUOT; statfs shows the quota; deleting frees room");
}

struct writer {
	uint64_t written;
	int idx;
	int err;
};

static uint64_t du_max;
static bool writers_done;
static pthread_barrier_t writers_ready;

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	uint64_t node, fh, n;
	char name[16];
	int rc, i;

	buf_base = (uint32_t)((uint64_t)w->idx * 2 * MiB);
	snprintf(name, sizeof(name), "w%d", w->idx);
	rc = xsh_service_thread_init();
	if (!rc)
		rc = op_create(name, &node, &fh);
	pthread_barrier_wait(&writers_ready);
	if (rc) {
		w->err = rc;
		xsh_service_thread_exit();
		return NULL;
	}
	for (i = 0; i < 10000; i++) {
		rc = op_write(node, fh, w->written, 192 * KiB + 123, &n);
		if (rc == -EDQUOT)
			break;
		if (rc) {
			w->err = rc;
			break;
		}
		w->written += n;
	}
	xsh_service_thread_exit();
	return NULL;
}

static void *du_thread(void *arg)
{
	uint64_t bytes, inodes;

	(void)arg;
	while (!__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE)) {
		du(exp_dir, &bytes, &inodes);
		if (bytes > du_max)
			du_max = bytes;
	}
	return NULL;
}

static void test_svc_writers(void)
{
	const uint64_t limit = 8 * MiB;
	struct writer w[NTHREADS] = { 0 };
	struct xsh_quota_usage u;
	pthread_t t[NTHREADS], dt;
	uint64_t bytes, inodes;
	bool ok = false;
	int i;

	CHECK(!svc_open("writers", limit, 0), "export");
	du_max = 0;
	writers_done = false;
	pthread_barrier_init(&writers_ready, NULL, NTHREADS);
	pthread_create(&dt, NULL, du_thread, NULL);
	for (i = 0; i < NTHREADS; i++) {
		w[i].idx = i;
		pthread_create(&t[i], NULL, writer_thread, &w[i]);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	__atomic_store_n(&writers_done, true, __ATOMIC_RELEASE);
	pthread_join(dt, NULL);
	pthread_barrier_destroy(&writers_ready);
	for (i = 0; i < NTHREADS; i++)
		CHECK(!w[i].err, "writer %d: %s", i, strerror(-w[i].err));
	du(exp_dir, &bytes, &inodes);
	CHECK(bytes <= limit && du_max <= limit,
	      "du %llu (at most %llu seen) > quota %llu",
	      (unsigned long long)bytes, (unsigned long long)du_max,
	      (unsigned long long)limit);
	CHECK(bytes > limit - 256 * KiB, "stopped far below the quota: %llu",
	      (unsigned long long)bytes);
	CHECK(usage_matches(), "%s", mismatch);
	xsh_export_get_usage(exp_, &u);
	CHECK(!u.reserved_bytes && !u.reserved_inodes,
	      "reservations left over: %llu", (unsigned long long)u.reserved_bytes);
	ok = true;
out:
	svc_close();
	report(ok, "service: 8 concurrent writers never push du past the quota");
}

static void test_svc_ops(void)
{
	struct xsh_req r;
	struct xsh_rsp rsp;
	uint64_t node, fh, n;
	char buf[600];
	bool ok = false;
	int rc;

	CHECK(!svc_open("ops", 0, 0), "export");
	CHECK(usage_matches(), "fresh export: %s", mismatch);
	CHECK(!op_name(XSH_OP_MKDIR, XSH_ROOT_NODEID, "dir"), "mkdir");
	CHECK(usage_matches(), "after mkdir: %s", mismatch);

	r = mkreq(XSH_OP_SYMLINK, XSH_ROOT_NODEID);
	r.a.symlink.name_len = 4;
	memcpy(buf, "link", 4);
	memset(buf + 4, 'x', 400);
	CHECK(!run(&r, buf, 404, &rsp), "symlink");
	CHECK(usage_matches(), "after a long symlink: %s", mismatch);

	CHECK(!op_create("f", &node, &fh), "create");
	CHECK(!op_write(node, fh, 0, 100000, &n), "write");
	r = mkreq(XSH_OP_LINK, node);
	r.a.link.newparent = XSH_ROOT_NODEID;
	CHECK(!run(&r, "f2", 2, &rsp), "link");
	CHECK(usage_matches(), "after link: %s", mismatch);

	r = mkreq(XSH_OP_SETXATTR, node);
	r.a.xattr.name_len = 7;
	memcpy(buf, "user.aa", 7);
	memset(buf + 7, 'v', 500);
	rc = run(&r, buf, 507, &rsp);
	CHECK(!rc || rc == -EOPNOTSUPP, "setxattr: %d", rc);
	CHECK(usage_matches(), "after setxattr: %s", mismatch);

	r = mkreq(XSH_OP_FALLOCATE, node);
	r.fh = fh;
	r.a.fallocate.offset = MiB;
	r.a.fallocate.length = 256 * KiB;
	CHECK(!run(&r, NULL, 0, &rsp), "fallocate");
	CHECK(usage_matches(), "after fallocate: %s", mismatch);

	r = mkreq(XSH_OP_SETATTR, node);
	r.fh = fh;
	r.a.setattr.valid = XSH_SETATTR_SIZE | XSH_SETATTR_FH;
	r.a.setattr.size = 10 * MiB;
	CHECK(!run(&r, NULL, 0, &rsp), "truncate up");
	CHECK(usage_matches(), "after truncating up: %s", mismatch);
	r.a.setattr.size = 4096;
	CHECK(!run(&r, NULL, 0, &rsp), "truncate down");
	CHECK(usage_matches(), "after truncating down: %s", mismatch);

	CHECK(!op_release(node, fh), "release f");
	CHECK(!op_create("g", &node, &fh), "create g");
	CHECK(!op_write(node, fh, 0, 300000, &n), "write g");
	CHECK(!op_release(node, fh), "release g");
	r = mkreq(XSH_OP_RENAME, XSH_ROOT_NODEID);
	r.a.rename.newparent = XSH_ROOT_NODEID;
	r.a.rename.name_len = 1;
	CHECK(!run(&r, "gf2", 3, &rsp), "rename g over f2");
	CHECK(usage_matches(), "after rename over a second link: %s", mismatch);
	r.a.rename.name_len = 2;
	CHECK(!run(&r, "f2f", 3, &rsp), "rename f2 over f");
	CHECK(usage_matches(), "after rename over a last link: %s", mismatch);

	CHECK(!op_name(XSH_OP_UNLINK, XSH_ROOT_NODEID, "f"), "unlink f");
	CHECK(!op_name(XSH_OP_UNLINK, XSH_ROOT_NODEID, "link"), "unlink link");
	CHECK(!op_name(XSH_OP_RMDIR, XSH_ROOT_NODEID, "dir"), "rmdir");
	CHECK(usage_matches(), "after removing everything: %s", mismatch);
	ok = true;
out:
	svc_close();
	report(ok, "service: mkdir, symlink, link, setxattr, fallocate, truncate, rename over, unlink keep usage equal to du");
}

static void test_svc_inodes(void)
{
	struct xsh_quota_usage u;
	uint64_t node, fh, node2, fh2;
	char name[16];
	bool ok = false;
	int i, rc = 0;

	/* The root is one of the 6. */
	CHECK(!svc_open("inodes", 0, 6), "export");
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		rc = op_create(name, &node, &fh);
		if (rc)
			break;
		op_release(node, fh);
	}
	CHECK(rc == -EDQUOT && i == 5, "created %d files before %d", i, rc);
	CHECK(op_name(XSH_OP_MKDIR, XSH_ROOT_NODEID, "d") == -EDQUOT,
	      "mkdir at the inode quota");
	CHECK(!op_create("f0", &node, &fh), "opening an existing file with CREATE");
	xsh_export_get_usage(exp_, &u);
	CHECK(u.level == XSH_QUOTA_HARD, "status %s",
	      xsh_quota_level_name(u.level));
	CHECK(!op_name(XSH_OP_UNLINK, XSH_ROOT_NODEID, "f0"), "unlink");
	/* Its inode is held by the open handle until it is released. */
	CHECK(op_create("new", &node2, &fh2) == -EDQUOT,
	      "create while the unlinked file is open");
	CHECK(!op_release(node, fh), "release f0");
	CHECK(!op_create("new", &node, &fh), "create after unlink");
	set_limits(0, 4);
	CHECK(op_create("more", &node, &fh) == -EDQUOT,
	      "create after lowering the limit");
	CHECK(!op_name(XSH_OP_UNLINK, XSH_ROOT_NODEID, "f1"),
	      "unlink under a lowered limit");
	set_limits(0, 100);
	CHECK(!op_create("more", &node, &fh), "create after raising the limit");
	CHECK(usage_matches(), "%s", mismatch);
	ok = true;
out:
	svc_close();
	report(ok, "service: inode quota: create until EDQUOT, remove one, create works; live changes");
}

static void test_svc_live(void)
{
	uint64_t node, fh, n, off = 0;
	bool ok = false;
	int rc;

	CHECK(!svc_open("live", 128 * KiB, 0), "export");
	CHECK(!op_create("f", &node, &fh), "create");
	while (!(rc = op_write(node, fh, off, 64 * KiB, &n)))
		off += n;
	CHECK(rc == -EDQUOT, "filling: %d", rc);
	set_limits(MiB, 0);
	CHECK(!op_write(node, fh, off, 64 * KiB, &n) && n == 64 * KiB,
	      "raising the quota did not let the writer continue");
	off += n;
	set_limits(64 * KiB, 0);
	CHECK(op_write(node, fh, off, 4096, &n) == -EDQUOT,
	      "lowering below usage did not block growth");
	CHECK(usage_matches(), "%s", mismatch);
	{
		struct stat st;
		char p[256];

		snprintf(p, sizeof(p), "%s/f", exp_dir);
		CHECK(!stat(p, &st) && (uint64_t)st.st_size == off,
		      "lowering lost data: size %lld, written %llu",
		      (long long)st.st_size, (unsigned long long)off);
	}
	ok = true;
out:
	svc_close();
	report(ok, "service: raising the quota live lets a blocked writer continue; lowering blocks growth, loses nothing");
}

/* ---- control commands ------------------------------------------------- */

static void test_control(void)
{
	struct xsh_control *ctl = NULL;
	struct xsh_policy pol;
	char reply[400];
	bool ok = false;

	CHECK(!svc_open("control", MiB, 0), "export");
	CHECK(!xsh_control_new(exp_, exp_dir, &ctl), "control");
	CHECK(!xsh_control_exec(ctl, "status", 6, reply, sizeof(reply), "t") &&
	      !strncmp(reply, "ok\n", 3) && strstr(reply, "\nquota-bytes=1048576\n") &&
	      strstr(reply, "\nmode=rw\n") && strstr(reply, "\nstatus=ok\n") &&
	      strstr(reply, "\nid-map=passthrough\n"),
	      "status reply: %s", reply);
	CHECK(!xsh_control_exec(ctl, "set quota-bytes=2M quota-inodes=1k mode=ro\n",
			       43, reply, sizeof(reply), "t"),
	      "set: %s", reply);
	xsh_export_get_policy(exp_, &pol);
	CHECK(pol.quota_bytes == 2 * MiB && pol.quota_inodes == 1024 &&
	      pol.read_only, "set did not apply");
	CHECK(xsh_control_exec(ctl, "set quota-bytes=5 quota-inodes=x", 33,
			      reply, sizeof(reply), "t") &&
	      !strncmp(reply, "error: ", 7), "bad value accepted: %s", reply);
	xsh_export_get_policy(exp_, &pol);
	CHECK(pol.quota_bytes == 2 * MiB, "a refused set changed something");
	CHECK(xsh_control_exec(ctl, "set colour=red", 14, reply, sizeof(reply),
			      "t") && strstr(reply, "unknown key"),
	      "unknown key: %s", reply);
	CHECK(xsh_control_exec(ctl, "set id-map=squash-all", 21, reply,
			      sizeof(reply), "t") && !strncmp(reply, "error: ", 7),
	      "id-map changed live: %s", reply);
	CHECK(xsh_control_exec(ctl, "set quota-soft-percent=101", 26, reply,
			      sizeof(reply), "t"), "soft percent 101 accepted");
	CHECK(xsh_control_exec(ctl, "frobnicate", 10, reply, sizeof(reply),
			      "t") && !strncmp(reply, "error: ", 7),
	      "unknown command: %s", reply);
	CHECK(xsh_control_exec(ctl, "sta\0tus", 7, reply, sizeof(reply),
			      "t"), "NUL in a command accepted");
	ok = true;
out:
	xsh_control_free(ctl);
	svc_close();
	report(ok, "control: status, set applies all keys or none, clear errors");
}

static void test_parse_size(void)
{
	uint64_t v;
	bool ok = false;

	CHECK(!xsh_policy_parse_size("0", &v) && v == 0, "0");
	CHECK(!xsh_policy_parse_size("123", &v) && v == 123, "123");
	CHECK(!xsh_policy_parse_size("4k", &v) && v == 4096, "4k");
	CHECK(!xsh_policy_parse_size("3M", &v) && v == 3 * MiB, "3M");
	CHECK(!xsh_policy_parse_size("2G", &v) && v == 2048 * MiB, "2G");
	CHECK(!xsh_policy_parse_size("1T", &v) && v == 1024ull * 1024 * MiB, "1T");
	CHECK(xsh_policy_parse_size("-1", &v), "-1");
	CHECK(xsh_policy_parse_size("1MB", &v), "1MB");
	CHECK(xsh_policy_parse_size("", &v), "empty");
	CHECK(xsh_policy_parse_size("99999999999T", &v), "overflow");
	CHECK(xsh_policy_parse_size("18446744073709551616", &v), "2^64");
	ok = true;
out:
	report(ok, "sizes: digits with K, M, G, T suffixes; junk and overflow refused");
}

/* ---- a template's files ------------------------------------------------- */

/* The inode standing for a template's file, and whether it was copied up. */
static ino_t shared_ino;
static bool shared_copied;
static int shared_err;		/* what the check answers when not 0 */

static int fake_shared(void *arg, int fd)
{
	struct stat st;

	(void)arg;
	if (fstat(fd, &st))
		return -errno;
	if (st.st_ino == shared_ino && shared_err)
		return shared_err;
	return st.st_ino == shared_ino && !shared_copied;
}

static int make_file(const char *path, size_t len)
{
	char buf[4096];
	size_t done;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	memset(buf, 'x', sizeof(buf));
	for (done = 0; fd >= 0 && done < len; done += sizeof(buf))
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -1;
		}
	if (fd >= 0)
		fsync(fd);
	return fd;
}

static void test_shared(void)
{
	struct xsh_quota *q = new_quota(40 * KiB, 0);
	struct xsh_quota_txn t = { .kind = XSH_QUOTA_COPYUP };
	struct xsh_quota_usage u;
	struct stat st;
	char p[128];
	bool ok = false;
	int fd = -1, dir = -1;

	snprintf(p, sizeof(p), "%s/shared", top);
	fd = make_file(p, 64 * KiB);
	CHECK(fd >= 0 && !fstat(fd, &st), "making the file: %s", strerror(errno));
	shared_ino = st.st_ino;
	shared_copied = false;
	xsh_quota_set_shared(q, fake_shared, NULL);
	t.fd = fd;
	CHECK(xsh_quota_begin(q, "test", &t) == -EDQUOT,
	      "a 64 KiB copy-up fitted in 40 KiB");
	xsh_quota_get(q, &u);
	CHECK(!u.usage_bytes && !u.reserved_bytes && !u.reserved_inodes,
	      "the refusal left %llu used, %llu reserved",
	      (unsigned long long)u.usage_bytes,
	      (unsigned long long)u.reserved_bytes);
	xsh_quota_set_limits(q, MiB, 0, 90, "test");
	CHECK(xsh_quota_begin(q, "test", &t) == 0, "begin with room");
	xsh_quota_get(q, &u);
	CHECK(u.reserved_bytes >= (uint64_t)st.st_blocks * 512 &&
	      u.reserved_inodes == 1, "reserved %llu bytes, %llu inodes",
	      (unsigned long long)u.reserved_bytes,
	      (unsigned long long)u.reserved_inodes);
	xsh_quota_commit(&t, NULL);
	xsh_quota_get(q, &u);
	CHECK(!u.usage_bytes && !u.usage_inodes && !u.reserved_bytes,
	      "no copy-up, yet %llu bytes %llu inodes charged",
	      (unsigned long long)u.usage_bytes,
	      (unsigned long long)u.usage_inodes);
	CHECK(xsh_quota_begin(q, "test", &t) == 0, "begin again");
	shared_copied = true;		/* the operation copied it up */
	xsh_quota_commit(&t, NULL);
	xsh_quota_get(q, &u);
	CHECK(u.usage_bytes == (uint64_t)st.st_blocks * 512 &&
	      u.usage_inodes == 1 && !u.reserved_bytes,
	      "copy-up charged %llu bytes %llu inodes, want %llu and 1",
	      (unsigned long long)u.usage_bytes,
	      (unsigned long long)u.usage_inodes,
	      (unsigned long long)st.st_blocks * 512);
	close(fd);

	/* Removing a template's file uncharges nothing. */
	snprintf(p, sizeof(p), "%s/shared2", top);
	fd = make_file(p, 16 * KiB);
	CHECK(fd >= 0 && !fstat(fd, &st), "making the second file");
	shared_ino = st.st_ino;
	shared_copied = false;
	t = (struct xsh_quota_txn){ .kind = XSH_QUOTA_NAME, .fd = fd };
	CHECK(xsh_quota_begin(q, "test", &t) == 0, "begin unlink");
	CHECK(!unlink(p), "unlink");
	xsh_quota_commit(&t, NULL);
	xsh_quota_get(q, &u);
	CHECK(u.usage_inodes == 1, "unlinking a template's file uncharged: %llu inodes left",
	      (unsigned long long)u.usage_inodes);
	close(fd);
	fd = -1;

	/* A file that cannot be told: its transactions fail. */
	snprintf(p, sizeof(p), "%s/shared3", top);
	fd = make_file(p, 16 * KiB);
	CHECK(fd >= 0 && !fstat(fd, &st), "making the third file");
	shared_ino = st.st_ino;
	shared_err = -ENAMETOOLONG;
	t = (struct xsh_quota_txn){ .kind = XSH_QUOTA_COPYUP, .fd = fd };
	CHECK(xsh_quota_begin(q, "test", &t) == -ENAMETOOLONG,
	      "a file that cannot be told was not refused");
	t = (struct xsh_quota_txn){ .kind = XSH_QUOTA_WRITE, .fd = fd, .len = 1 };
	CHECK(xsh_quota_begin(q, "test", &t) == -ENAMETOOLONG,
	      "a write to a file that cannot be told was not refused");
	shared_err = 0;
	xsh_quota_get(q, &u);
	CHECK(u.usage_inodes == 1 && !u.reserved_bytes && !u.reserved_inodes,
	      "the refusals left %llu reserved",
	      (unsigned long long)u.reserved_bytes);
	close(fd);
	fd = -1;

	/* The scan of an upper directory skips whiteouts. */
	snprintf(p, sizeof(p), "%s/upper", top);
	CHECK(!mkdir(p, 0755), "mkdir");
	dir = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(dir >= 0, "open the directory");
	if (mknodat(dir, "whiteout", S_IFCHR | 0600, 0) == 0) {
		CHECK(!xsh_quota_scan(q, dir, NULL), "scan");
		xsh_quota_get(q, &u);
		CHECK(u.usage_inodes == 1, "the scan counted %llu inodes, want the root only",
		      (unsigned long long)u.usage_inodes);
	}
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	if (dir >= 0)
		close(dir);
	xsh_quota_free(q);
	shared_err = 0;
	report(ok, "template files: charged nothing, a copy-up charged before it is made, removal and whiteouts free nothing, unknown ones refused");
}

int main(void)
{
	struct statvfs sv;
	char cmd[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Level changes are logged to stderr; the tests make hundreds. */
	if (!getenv("XS_TEST_VERBOSE") && !freopen("/dev/null", "w", stderr))
		return 1;
	snprintf(top, sizeof(top), "/tmp/xenshare-quota.XXXXXX");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	data = calloc(1, DATA_BYTES);
	if (!data)
		return 1;

	test_write_cost();
	test_reserve();
	test_reserve_write();
	test_levels();
	test_live_change();
	test_concurrent_reserve();
	test_parse_size();
	test_settle();
	test_txn();
	test_same_file();
	test_unlink();
	test_scan();
	test_shared();
	if (geteuid() != 0 || statvfs(top, &sv)) {
		skip("service tests", "need root (the file service switches fsuid)");
	} else {
		if (xsh_service_thread_init())
			skip("service thread setup", "xsh_service_thread_init failed");
		test_svc_edquot();
		test_svc_writers();
		test_svc_ops();
		test_svc_inodes();
		test_svc_live();
		test_control();
		xsh_service_thread_exit();
	}

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", top);
	if (system(cmd))
		fprintf(stderr, "cleanup of %s failed\n", top);
	free(data);
	return tap_summary();
}
