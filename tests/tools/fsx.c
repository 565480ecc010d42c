// SPDX-License-Identifier: GPL-2.0
/*
 * fsx - random-operation data-integrity tester.
 *
 * Every process owns DIR/fsx.<index> and keeps an in-memory model of its
 * contents and size.  Random operations (buffered, mmap and O_DIRECT I/O,
 * truncate, fallocate, sync, reopen) are applied both to the file and to
 * the model, and every read is compared against the model.  With -P > 1
 * all processes additionally share DIR/fsx.shared, in which each process
 * only touches its own page-aligned stripe.
 *
 * Output: one "ok - ..." / "not ok - ..." / "skip - ..." line per check,
 * followed by "N passed, N failed, N skipped".  Diagnostics start with '#'.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/falloc.h>

#define DIO_ALIGN	4096UL
#define BIG_WRITE	(1UL << 20)
#define LOG_DEPTH	20
#define VERIFY_EVERY	1000
#define MAX_PROCS	64

enum op {
	OP_WRITE,
	OP_READ,
	OP_TRUNCATE,
	OP_MAPREAD,
	OP_MAPWRITE,
	OP_FALLOC,
	OP_FALLOC_KEEP,
	OP_PUNCH,
	OP_DWRITE,
	OP_DREAD,
	OP_FSYNC,
	OP_FDATASYNC,
	OP_REOPEN,
	OP_VERIFY,
	OP_MAX
};

static const char *const op_names[OP_MAX] = {
	[OP_WRITE]	= "write",
	[OP_READ]	= "read",
	[OP_TRUNCATE]	= "truncate",
	[OP_MAPREAD]	= "mapread",
	[OP_MAPWRITE]	= "mapwrite",
	[OP_FALLOC]	= "fallocate",
	[OP_FALLOC_KEEP] = "fallocate_keep_size",
	[OP_PUNCH]	= "punch_hole",
	[OP_DWRITE]	= "direct_write",
	[OP_DREAD]	= "direct_read",
	[OP_FSYNC]	= "fsync",
	[OP_FDATASYNC]	= "fdatasync",
	[OP_REOPEN]	= "reopen",
	[OP_VERIFY]	= "verify",
};

/* relative frequencies */
static const unsigned int op_weight[OP_MAX] = {
	[OP_WRITE]	= 20,
	[OP_READ]	= 16,
	[OP_TRUNCATE]	= 5,
	[OP_MAPREAD]	= 8,
	[OP_MAPWRITE]	= 8,
	[OP_FALLOC]	= 2,
	[OP_FALLOC_KEEP] = 2,
	[OP_PUNCH]	= 3,
	[OP_DWRITE]	= 6,
	[OP_DREAD]	= 6,
	[OP_FSYNC]	= 1,
	[OP_FDATASYNC]	= 1,
	[OP_REOPEN]	= 2,
	[OP_VERIFY]	= 1,
};

struct logent {
	unsigned long	opno;
	int		op;
	int		shared;
	long long	off;
	long long	len;
	long long	size_after;
	const char	*note;
};

/* per-process result, lives in memory shared with the parent */
struct result {
	int		started;
	int		failed;
	int		no_direct;
	int		no_falloc[3];
	unsigned long	ops_done;
	char		msg[256];
};

struct tfile {
	char		path[PATH_MAX];
	int		shared;
	int		fd;
	int		dfd;
	off_t		base;		/* file offset of the model region */
	size_t		span;		/* bytes of the model region */
	size_t		size;		/* model size relative to base */
	off_t		total;		/* fixed st_size of the shared file */
	unsigned char	*good;
};

/* options */
static unsigned long numops = 100000;
static uint64_t seed;
static int nprocs = 1;
static size_t maxlen = 1UL << 20;
static size_t maxoplen = 64UL << 10;
static bool no_direct_opt;
static bool no_mmap_opt;
static bool unaligned_dio;
static bool keep_files;
static const char *dir;

/* per-process state */
static int proc_idx;
static struct result *res;
static struct tfile files[2];
static int nfiles;
static uint64_t rng_state;
static unsigned char *wbuf, *rbuf, *dbuf_raw;
static size_t bufsz;
static long pagesz;
static unsigned long cur_op;
static struct logent oplog[LOG_DEPTH];
static unsigned long nlogged;
static bool direct_ok = true;
static bool falloc_ok[3] = { true, true, true };

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void fill_random(unsigned char *p, size_t len)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!(i & 7))
			v = rnd();
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static void log_op(int op, const struct tfile *f, long long off, long long len,
		   const char *note)
{
	struct logent *e = &oplog[nlogged % LOG_DEPTH];

	e->opno = cur_op;
	e->op = op;
	e->shared = f->shared;
	e->off = off;
	e->len = len;
	e->size_after = -1;
	e->note = note;
	nlogged++;
}

static void log_size(const struct tfile *f)
{
	if (nlogged)
		oplog[(nlogged - 1) % LOG_DEPTH].size_after =
			(long long)(f->shared ? (size_t)f->total : f->size);
}

static void dump_log(void)
{
	unsigned long i = nlogged > LOG_DEPTH ? nlogged - LOG_DEPTH : 0;

	printf("# proc %d: last %lu operations (oldest first):\n", proc_idx,
	       nlogged - i);
	for (; i < nlogged; i++) {
		const struct logent *e = &oplog[i % LOG_DEPTH];

		char sz[32] = "";

		if (e->size_after >= 0)
			snprintf(sz, sizeof(sz), " size now 0x%llx",
				 e->size_after);
		printf("#   %8lu %-6s %-20s off 0x%llx len 0x%llx%s%s%s\n",
		       e->opno, e->shared ? "shared" : "own",
		       op_names[e->op], e->off, e->len, sz,
		       e->note ? " " : "", e->note ? e->note : "");
	}
}

static void __attribute__((format(printf, 1, 2), noreturn))
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	res->failed = 1;
	res->ops_done = cur_op;
	printf("# proc %d: FAILURE at op %lu: %s\n", proc_idx, cur_op, res->msg);
	dump_log();
	fflush(stdout);
	_exit(1);
}

static void hexdump_line(const char *tag, const unsigned char *p, size_t n)
{
	char line[3 * 16 + 1];
	size_t i;

	for (i = 0; i < n && i < 16; i++)
		snprintf(line + 3 * i, sizeof(line) - 3 * i, " %02x", p[i]);
	line[3 * i] = '\0';
	printf("#   %-8s%s\n", tag, line);
}

/*
 * Compare got[0..len) against the model at relative offset rel.
 */
static void check_data(const struct tfile *f, size_t rel, const unsigned char *got,
		       size_t len, const char *what)
{
	const unsigned char *exp = f->good + rel;
	size_t i, first, last, nbad = 0, n;

	if (!memcmp(exp, got, len))
		return;
	first = last = len;
	for (i = 0; i < len; i++) {
		if (exp[i] != got[i]) {
			if (first == len)
				first = i;
			last = i;
			nbad++;
		}
	}
	n = len - first < 16 ? len - first : 16;
	printf("# proc %d: %s mismatch in %s: %zu bad bytes, first at file offset 0x%llx, last at 0x%llx\n",
	       proc_idx, what, f->path, nbad,
	       (long long)(f->base + (off_t)(rel + first)),
	       (long long)(f->base + (off_t)(rel + last)));
	hexdump_line("expected", exp + first, n);
	hexdump_line("got", got + first, n);
	fail("%s data mismatch at offset 0x%llx (expected 0x%02x got 0x%02x, %zu bad bytes)",
	     what, (long long)(f->base + (off_t)(rel + first)), exp[first],
	     got[first], nbad);
}

static void open_file(struct tfile *f, int flags)
{
	f->fd = open(f->path, O_RDWR | flags, 0644);
	if (f->fd < 0)
		fail("open %s: %s", f->path, strerror(errno));
	f->dfd = -1;
}

static bool get_dfd(struct tfile *f)
{
	if (!direct_ok)
		return false;
	if (f->dfd >= 0)
		return true;
	f->dfd = open(f->path, O_RDWR | O_DIRECT);
	if (f->dfd >= 0)
		return true;
	if (errno == EINVAL) {
		printf("# proc %d: O_DIRECT open returned EINVAL, direct I/O disabled\n",
		       proc_idx);
		direct_ok = false;
		res->no_direct = 1;
		return false;
	}
	fail("open O_DIRECT %s: %s", f->path, strerror(errno));
}

static void close_file(struct tfile *f)
{
	if (f->dfd >= 0 && close(f->dfd))
		fail("close O_DIRECT fd: %s", strerror(errno));
	if (f->fd >= 0 && close(f->fd))
		fail("close: %s", strerror(errno));
	f->fd = f->dfd = -1;
}

/* the size of the region a process may look at, relative to base */
static size_t vis_size(const struct tfile *f)
{
	return f->shared ? f->span : f->size;
}

static size_t pick_len(size_t room)
{
	size_t len;

	if (rnd_below(4) == 0)
		len = 1 + rnd_below(512);
	else
		len = 1 + rnd_below(maxoplen);
	return len < room ? len : room;
}

static size_t pick_off(const struct tfile *f)
{
	/* bias some offsets to the area around EOF */
	if (!f->shared && rnd_below(4) == 0) {
		size_t lo = f->size > 8192 ? f->size - 8192 : 0;
		size_t hi = f->size + 8192 < f->span ? f->size + 8192 : f->span;

		return lo + rnd_below(hi - lo);
	}
	return rnd_below(f->span);
}

static void model_write(struct tfile *f, size_t rel, const unsigned char *p,
			size_t len)
{
	memcpy(f->good + rel, p, len);
	if (!f->shared && rel + len > f->size)
		f->size = rel + len;
}

static void do_pwrite(int fd, const void *p, size_t len, off_t off, const char *what)
{
	ssize_t n = pwrite(fd, p, len, off);

	if (n < 0)
		fail("%s pwrite(off 0x%llx, len 0x%zx): %s", what,
		     (long long)off, len, strerror(errno));
	if ((size_t)n != len)
		fail("%s pwrite(off 0x%llx, len 0x%zx): short write %zd", what,
		     (long long)off, len, n);
}

static void op_write(struct tfile *f)
{
	size_t rel, len;

	if (rnd_below(64) == 0) {
		len = BIG_WRITE < f->span ? BIG_WRITE : f->span;
		rel = rnd_below(f->span - len + 1);
	} else {
		rel = pick_off(f);
		len = pick_len(f->span - rel);
	}
	fill_random(wbuf, len);
	log_op(OP_WRITE, f, f->base + (off_t)rel, len, NULL);
	do_pwrite(f->fd, wbuf, len, f->base + (off_t)rel, "buffered");
	model_write(f, rel, wbuf, len);
	log_size(f);
}

static void op_read(struct tfile *f)
{
	size_t rel, len, want;
	ssize_t n;

	rel = pick_off(f);
	len = pick_len(f->span - rel);
	want = rel < vis_size(f) ? vis_size(f) - rel : 0;
	if (want > len)
		want = len;
	log_op(OP_READ, f, f->base + (off_t)rel, len, NULL);
	n = pread(f->fd, rbuf, len, f->base + (off_t)rel);
	if (n < 0)
		fail("pread(off 0x%llx, len 0x%zx): %s",
		     (long long)(f->base + (off_t)rel), len, strerror(errno));
	if ((size_t)n != want)
		fail("pread(off 0x%llx, len 0x%zx) returned %zd, expected %zu (model size 0x%zx)",
		     (long long)(f->base + (off_t)rel), len, n, want, f->size);
	check_data(f, rel, rbuf, want, "read");
}

static void op_truncate(struct tfile *f)
{
	size_t newsize;

	if (rnd_below(3) == 0)
		newsize = f->size + rnd_below(16385) - 8192;
	else
		newsize = rnd_below(f->span + 1);
	if ((ssize_t)newsize < 0)
		newsize = 0;
	if (newsize > f->span)
		newsize = f->span;
	log_op(OP_TRUNCATE, f, (long long)newsize, 0,
	       newsize < f->size ? "(down)" : "(up)");
	if (ftruncate(f->fd, (off_t)newsize))
		fail("ftruncate(0x%zx): %s", newsize, strerror(errno));
	if (newsize < f->size)
		memset(f->good + newsize, 0, f->size - newsize);
	f->size = newsize;
	log_size(f);
}

static void op_mapread(struct tfile *f)
{
	size_t rel, len, pgoff, mlen, tail = 0, i;
	off_t foff, pg;
	unsigned char *p;

	if (!vis_size(f)) {
		op_read(f);
		return;
	}
	rel = rnd_below(vis_size(f));
	len = pick_len(vis_size(f) - rel);
	foff = f->base + (off_t)rel;
	pg = foff & ~((off_t)pagesz - 1);
	pgoff = (size_t)(foff - pg);
	mlen = pgoff + len;
	/* if the range ends at EOF, also look at the rest of the last page */
	if (!f->shared && rel + len == f->size && f->size % (size_t)pagesz) {
		tail = (size_t)pagesz - f->size % (size_t)pagesz;
		mlen += tail;
	}
	log_op(OP_MAPREAD, f, foff, len, tail ? "(+eof tail)" : NULL);
	p = mmap(NULL, mlen, PROT_READ, MAP_SHARED, f->fd, pg);
	if (p == MAP_FAILED)
		fail("mmap read(off 0x%llx, len 0x%zx): %s", (long long)pg, mlen,
		     strerror(errno));
	check_data(f, rel, p + pgoff, len, "mapread");
	for (i = 0; i < tail; i++) {
		if (p[pgoff + len + i]) {
			printf("# proc %d: byte 0x%02x past EOF (0x%zx) at offset 0x%zx in the last page\n",
			       proc_idx, p[pgoff + len + i], f->size,
			       f->size + i);
			fail("mapread: non-zero data past EOF at 0x%zx",
			     f->size + i);
		}
	}
	if (munmap(p, mlen))
		fail("munmap: %s", strerror(errno));
}

static void op_mapwrite(struct tfile *f)
{
	size_t rel, len, pgoff, mlen;
	off_t foff, pg;
	unsigned char *p;

	rel = pick_off(f);
	len = pick_len(f->span - rel);
	foff = f->base + (off_t)rel;
	pg = foff & ~((off_t)pagesz - 1);
	pgoff = (size_t)(foff - pg);
	mlen = pgoff + len;
	fill_random(wbuf, len);
	log_op(OP_MAPWRITE, f, foff, len,
	       !f->shared && rel + len > f->size ? "(extends)" : NULL);
	if (!f->shared && rel + len > f->size) {
		if (ftruncate(f->fd, (off_t)(rel + len)))
			fail("mapwrite ftruncate(0x%zx): %s", rel + len,
			     strerror(errno));
		f->size = rel + len;
	}
	p = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, pg);
	if (p == MAP_FAILED)
		fail("mmap write(off 0x%llx, len 0x%zx): %s", (long long)pg,
		     mlen, strerror(errno));
	memcpy(p + pgoff, wbuf, len);
	if (msync(p, mlen, MS_SYNC))
		fail("msync: %s", strerror(errno));
	if (munmap(p, mlen))
		fail("munmap: %s", strerror(errno));
	model_write(f, rel, wbuf, len);
	log_size(f);
}

static void op_falloc(struct tfile *f, int op)
{
	static const int modes[3] = {
		0,
		FALLOC_FL_KEEP_SIZE,
		FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	};
	int which = op - OP_FALLOC;
	size_t rel, len, end;

	rel = pick_off(f);
	len = pick_len(f->span - rel);
	log_op(op, f, f->base + (off_t)rel, len, NULL);
	if (fallocate(f->fd, modes[which], f->base + (off_t)rel, (off_t)len)) {
		if (errno == EOPNOTSUPP || errno == ENOSYS) {
			printf("# proc %d: %s returned %s, operation disabled\n",
			       proc_idx, op_names[op], strerror(errno));
			falloc_ok[which] = false;
			res->no_falloc[which] = 1;
			return;
		}
		fail("%s(off 0x%llx, len 0x%zx): %s", op_names[op],
		     (long long)(f->base + (off_t)rel), len, strerror(errno));
	}
	end = rel + len;
	switch (op) {
	case OP_FALLOC:
		if (!f->shared && end > f->size)
			f->size = end;
		break;
	case OP_PUNCH:
		if (end > vis_size(f))
			end = vis_size(f);
		if (rel < end)
			memset(f->good + rel, 0, end - rel);
		break;
	}
	log_size(f);
}

static unsigned char *dio_buf(bool aligned)
{
	unsigned char *p = (unsigned char *)(((uintptr_t)dbuf_raw + DIO_ALIGN - 1) &
					     ~(uintptr_t)(DIO_ALIGN - 1));

	return aligned ? p : p + 1 + rnd_below(DIO_ALIGN - 1);
}

static void op_dwrite(struct tfile *f)
{
	bool aligned = !unaligned_dio || rnd_below(2);
	size_t rel, len;
	unsigned char *b;

	if (!get_dfd(f)) {
		op_write(f);
		return;
	}
	if (aligned) {
		rel = rnd_below(f->span / DIO_ALIGN) * DIO_ALIGN;
		len = (1 + rnd_below(maxoplen / DIO_ALIGN)) * DIO_ALIGN;
		if (len > f->span - rel)
			len = f->span - rel;
	} else {
		rel = pick_off(f);
		len = pick_len(f->span - rel);
	}
	b = dio_buf(aligned);
	fill_random(b, len);
	log_op(OP_DWRITE, f, f->base + (off_t)rel, len,
	       aligned ? "(aligned)" : "(unaligned)");
	do_pwrite(f->dfd, b, len, f->base + (off_t)rel,
		  aligned ? "O_DIRECT aligned" : "O_DIRECT unaligned");
	model_write(f, rel, b, len);
	log_size(f);
}

static void op_dread(struct tfile *f)
{
	bool aligned = !unaligned_dio || rnd_below(2);
	size_t rel, len, want;
	unsigned char *b;
	ssize_t n;

	if (!get_dfd(f)) {
		op_read(f);
		return;
	}
	if (aligned) {
		rel = rnd_below(f->span / DIO_ALIGN) * DIO_ALIGN;
		len = (1 + rnd_below(maxoplen / DIO_ALIGN)) * DIO_ALIGN;
		if (len > f->span - rel)
			len = f->span - rel;
	} else {
		rel = pick_off(f);
		len = pick_len(f->span - rel);
	}
	want = rel < vis_size(f) ? vis_size(f) - rel : 0;
	if (want > len)
		want = len;
	b = dio_buf(aligned);
	log_op(OP_DREAD, f, f->base + (off_t)rel, len,
	       aligned ? "(aligned)" : "(unaligned)");
	n = pread(f->dfd, b, len, f->base + (off_t)rel);
	if (n < 0)
		fail("O_DIRECT %s pread(off 0x%llx, len 0x%zx): %s",
		     aligned ? "aligned" : "unaligned",
		     (long long)(f->base + (off_t)rel), len, strerror(errno));
	if ((size_t)n != want)
		fail("O_DIRECT pread(off 0x%llx, len 0x%zx) returned %zd, expected %zu",
		     (long long)(f->base + (off_t)rel), len, n, want);
	check_data(f, rel, b, want, "direct read");
}

static void op_sync(struct tfile *f, int op)
{
	log_op(op, f, 0, 0, NULL);
	if ((op == OP_FSYNC ? fsync(f->fd) : fdatasync(f->fd)))
		fail("%s: %s", op_names[op], strerror(errno));
}

static void op_reopen(struct tfile *f)
{
	log_op(OP_REOPEN, f, 0, 0, NULL);
	close_file(f);
	open_file(f, 0);
}

static void verify_file(struct tfile *f)
{
	off_t want_size = f->shared ? f->total : (off_t)f->size;
	size_t done = 0, vs = vis_size(f);
	struct stat st;
	ssize_t n;

	log_op(OP_VERIFY, f, f->base, (long long)vs, NULL);
	if (fstat(f->fd, &st))
		fail("fstat: %s", strerror(errno));
	if (st.st_size != want_size)
		fail("verify: st_size %lld, expected %lld",
		     (long long)st.st_size, (long long)want_size);
	while (done < vs) {
		size_t chunk = vs - done < bufsz ? vs - done : bufsz;

		n = pread(f->fd, rbuf, chunk, f->base + (off_t)done);
		if (n < 0)
			fail("verify pread: %s", strerror(errno));
		if (n == 0)
			fail("verify: unexpected EOF at 0x%llx, model size 0x%zx",
			     (long long)(f->base + (off_t)done), vs);
		check_data(f, done, rbuf, (size_t)n, "verify");
		done += (size_t)n;
	}
	if (!f->shared) {
		n = pread(f->fd, rbuf, 1, (off_t)f->size);
		if (n != 0)
			fail("verify: read at EOF 0x%zx returned %zd", f->size, n);
	}
}

static bool op_possible(const struct tfile *f, int op)
{
	switch (op) {
	case OP_TRUNCATE:
		return !f->shared;
	case OP_MAPREAD:
	case OP_MAPWRITE:
		return !no_mmap_opt;
	case OP_FALLOC:
	case OP_FALLOC_KEEP:
	case OP_PUNCH:
		return falloc_ok[op - OP_FALLOC];
	case OP_DWRITE:
	case OP_DREAD:
		return direct_ok;
	}
	return true;
}

static int pick_op(const struct tfile *f)
{
	unsigned int total = 0, r;
	int op;

	for (op = 0; op < OP_MAX; op++)
		total += op_weight[op];
	for (;;) {
		r = (unsigned int)rnd_below(total);
		for (op = 0; op < OP_MAX; op++) {
			if (r < op_weight[op])
				break;
			r -= op_weight[op];
		}
		if (op_possible(f, op))
			return op;
	}
}

static void run_op(struct tfile *f, int op)
{
	switch (op) {
	case OP_WRITE:
		op_write(f);
		break;
	case OP_READ:
		op_read(f);
		break;
	case OP_TRUNCATE:
		op_truncate(f);
		break;
	case OP_MAPREAD:
		op_mapread(f);
		break;
	case OP_MAPWRITE:
		op_mapwrite(f);
		break;
	case OP_FALLOC:
	case OP_FALLOC_KEEP:
	case OP_PUNCH:
		op_falloc(f, op);
		break;
	case OP_DWRITE:
		op_dwrite(f);
		break;
	case OP_DREAD:
		op_dread(f);
		break;
	case OP_FSYNC:
	case OP_FDATASYNC:
		op_sync(f, op);
		break;
	case OP_REOPEN:
		op_reopen(f);
		break;
	case OP_VERIFY:
		verify_file(f);
		break;
	}
}

static void fatal_signal(int sig)
{
	/* the process is going down anyway: report what was going on */
	fail("caught signal %d (%s)", sig, strsignal(sig));
}

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

static void child_main(int idx, unsigned long myops, const char *shared_path,
		       off_t shared_total, unsigned char *shared_model)
{
	uint64_t s = seed + (uint64_t)idx * 0x1000193ULL;
	unsigned long i;
	int k;

	proc_idx = idx;
	rng_state = splitmix(&s) | 1;
	res->started = 1;
	signal(SIGBUS, fatal_signal);
	signal(SIGSEGV, fatal_signal);

	bufsz = maxlen > BIG_WRITE ? maxlen : BIG_WRITE;
	wbuf = malloc(bufsz);
	rbuf = malloc(bufsz);
	dbuf_raw = malloc(bufsz + 3 * DIO_ALIGN);
	if (!wbuf || !rbuf || !dbuf_raw)
		fail("out of memory");

	snprintf(files[0].path, sizeof(files[0].path), "%s/fsx.%d", dir, idx);
	files[0].span = maxlen;
	files[0].good = calloc(1, maxlen);
	if (!files[0].good)
		fail("out of memory");
	open_file(&files[0], O_CREAT | O_TRUNC);
	nfiles = 1;

	if (shared_path) {
		struct tfile *f = &files[1];

		snprintf(f->path, sizeof(f->path), "%s", shared_path);
		f->shared = 1;
		f->span = maxlen;
		f->base = (off_t)maxlen * idx;
		f->size = maxlen;
		f->total = shared_total;
		f->good = shared_model + f->base;
		open_file(f, 0);
		nfiles = 2;
	}

	for (i = 0; i < myops; i++) {
		struct tfile *f = &files[nfiles > 1 && rnd_below(3) == 0];

		cur_op = i + 1;
		res->ops_done = i;
		run_op(f, pick_op(f));
		if (cur_op % VERIFY_EVERY == 0)
			for (k = 0; k < nfiles; k++)
				verify_file(&files[k]);
	}
	cur_op = myops;
	for (k = 0; k < nfiles; k++) {
		op_reopen(&files[k]);
		verify_file(&files[k]);
		close_file(&files[k]);
	}
	res->ops_done = myops;
	if (!keep_files && unlink(files[0].path))
		fail("unlink %s: %s", files[0].path, strerror(errno));
	fflush(stdout);
	_exit(0);
}

static int parent_verify_shared(const char *path, off_t total,
				const unsigned char *model, char *msg, size_t msglen)
{
	unsigned char *buf;
	struct stat st;
	size_t done = 0;
	ssize_t n;
	int fd, ret = -1;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(msg, msglen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc((size_t)total);
	if (!buf) {
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	if (fstat(fd, &st)) {
		snprintf(msg, msglen, "fstat: %s", strerror(errno));
		goto out;
	}
	if (st.st_size != total) {
		snprintf(msg, msglen, "st_size %lld, expected %lld",
			 (long long)st.st_size, (long long)total);
		goto out;
	}
	while (done < (size_t)total) {
		n = pread(fd, buf + done, (size_t)total - done, (off_t)done);
		if (n <= 0) {
			snprintf(msg, msglen, "pread at 0x%zx: %s", done,
				 n ? strerror(errno) : "unexpected EOF");
			goto out;
		}
		done += (size_t)n;
	}
	for (done = 0; done < (size_t)total; done++) {
		if (buf[done] != model[done]) {
			snprintf(msg, msglen,
				 "offset 0x%zx (stripe %zu): expected 0x%02x got 0x%02x",
				 done, done / maxlen, model[done], buf[done]);
			goto out;
		}
	}
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-N numops] [-S seed] [-P nprocs] [-l maxlen] [-o maxoplen]\n"
		"          [-d] [-m] [-u] [-k] DIR\n"
		"  -N numops   total operations over all processes (default 100000)\n"
		"  -S seed     random seed (default: time based)\n"
		"  -P nprocs   processes; with >1 a shared striped file is used too\n"
		"  -l maxlen   maximum file size (default 1048576)\n"
		"  -o maxoplen maximum length of one operation (default 65536)\n"
		"  -d          disable O_DIRECT\n"
		"  -m          disable mmap\n"
		"  -u          also do unaligned O_DIRECT I/O\n"
		"  -k          keep the test files\n", prog);
	exit(2);
}

static unsigned long long parse_num(const char *s, const char *prog)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		usage(prog);
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	}
	if (*end)
		usage(prog);
	return v;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0;
	bool seed_given = false, any_fail = false;
	bool nodirect = false, nofalloc[3] = { false, false, false };
	unsigned char *shared_model = NULL;
	char shared_path[PATH_MAX];
	struct result *results;
	struct timeval t0, t1;
	off_t shared_total = 0;
	pid_t pids[MAX_PROCS];
	char msg[512];
	int c, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "N:S:P:l:o:dmuk")) != -1) {
		switch (c) {
		case 'N':
			numops = parse_num(optarg, argv[0]);
			break;
		case 'S':
			seed = parse_num(optarg, argv[0]);
			seed_given = true;
			break;
		case 'P':
			nprocs = (int)parse_num(optarg, argv[0]);
			break;
		case 'l':
			maxlen = parse_num(optarg, argv[0]);
			break;
		case 'o':
			maxoplen = parse_num(optarg, argv[0]);
			break;
		case 'd':
			no_direct_opt = true;
			break;
		case 'm':
			no_mmap_opt = true;
			break;
		case 'u':
			unaligned_dio = true;
			break;
		case 'k':
			keep_files = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc - 1)
		usage(argv[0]);
	dir = argv[optind];
	if (nprocs < 1 || nprocs > MAX_PROCS) {
		fprintf(stderr, "nprocs must be 1..%d\n", MAX_PROCS);
		return 2;
	}
	if (!seed_given) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 16) % 1000000000ULL;
	}
	pagesz = sysconf(_SC_PAGESIZE);
	/* keep stripes and the model region aligned for O_DIRECT and mmap */
	maxlen = round_up(maxlen ? maxlen : 1, DIO_ALIGN > (size_t)pagesz ?
			  DIO_ALIGN : (size_t)pagesz);
	if (maxoplen < DIO_ALIGN)
		maxoplen = DIO_ALIGN;
	if (maxoplen > maxlen)
		maxoplen = maxlen;
	if (no_direct_opt)
		direct_ok = false;

	printf("# fsx: dir %s seed %" PRIu64 " ops %lu procs %d maxlen %zu maxoplen %zu%s%s%s\n",
	       dir, seed, numops, nprocs, maxlen, maxoplen,
	       no_direct_opt ? " nodirect" : "", no_mmap_opt ? " nommap" : "",
	       unaligned_dio ? " unaligned-dio" : "");

	results = mmap(NULL, sizeof(*results) * (size_t)nprocs,
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (results == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	shared_path[0] = '\0';
	if (nprocs > 1) {
		int fd;

		shared_total = (off_t)maxlen * nprocs;
		shared_model = mmap(NULL, (size_t)shared_total,
				    PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (shared_model == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		snprintf(shared_path, sizeof(shared_path), "%s/fsx.shared", dir);
		fd = open(shared_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, shared_total) || close(fd)) {
			printf("not ok - fsx setup: %s: %s\n", shared_path,
			       strerror(errno));
			printf("0 passed, 1 failed, 0 skipped\n");
			return 1;
		}
	}

	gettimeofday(&t0, NULL);
	for (i = 0; i < nprocs; i++) {
		unsigned long myops = numops / (unsigned long)nprocs +
			((unsigned long)i < numops % (unsigned long)nprocs);

		fflush(stdout);
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			return 1;
		}
		if (pids[i] == 0) {
			res = &results[i];
			child_main(i, myops, nprocs > 1 ? shared_path : NULL,
				   shared_total, shared_model);
		}
	}

	msg[0] = '\0';
	for (i = 0; i < nprocs; i++) {
		int status;

		while (waitpid(pids[i], &status, 0) < 0) {
			if (errno != EINTR) {
				perror("waitpid");
				return 1;
			}
		}
		if (WIFSIGNALED(status)) {
			any_fail = true;
			printf("# proc %d killed by signal %d (%s) after op %lu\n",
			       i, WTERMSIG(status), strsignal(WTERMSIG(status)),
			       results[i].ops_done);
			if (!msg[0])
				snprintf(msg, sizeof(msg), "proc %d killed by signal %d",
					 i, WTERMSIG(status));
		} else if (WEXITSTATUS(status) || results[i].failed) {
			any_fail = true;
			if (!msg[0])
				snprintf(msg, sizeof(msg), "proc %d op %lu: %s",
					 i, results[i].ops_done, results[i].msg);
		}
		if (results[i].no_direct)
			nodirect = true;
		for (c = 0; c < 3; c++)
			if (results[i].no_falloc[c])
				nofalloc[c] = true;
	}
	gettimeofday(&t1, NULL);
	printf("# %lu ops in %.2f s\n", numops,
	       (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_usec - t0.tv_usec) / 1e6);

	if (no_direct_opt) {
		printf("skip - fsx O_DIRECT: disabled by -d\n");
		skipped++;
	} else if (nodirect) {
		printf("skip - fsx O_DIRECT: open with O_DIRECT returned EINVAL\n");
		skipped++;
	}
	if (no_mmap_opt) {
		printf("skip - fsx mmap: disabled by -m\n");
		skipped++;
	}
	for (c = 0; c < 3; c++) {
		if (nofalloc[c]) {
			printf("skip - fsx %s: not supported by the file system\n",
			       op_names[OP_FALLOC + c]);
			skipped++;
		}
	}

	if (nprocs > 1) {
		if (any_fail) {
			printf("skip - fsx shared file final contents: a process failed\n");
			skipped++;
		} else if (parent_verify_shared(shared_path, shared_total,
						shared_model, msg, sizeof(msg))) {
			printf("not ok - fsx shared file final contents: %s\n", msg);
			failed++;
		} else {
			printf("ok - fsx shared file final contents (%d stripes)\n",
			       nprocs);
			passed++;
			if (!keep_files)
				unlink(shared_path);
		}
	}

	if (any_fail) {
		printf("not ok - fsx %lu ops seed %" PRIu64 ": %s\n", numops,
		       seed, msg);
		failed++;
	} else {
		printf("ok - fsx %lu ops seed %" PRIu64 "\n", numops, seed);
		passed++;
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
