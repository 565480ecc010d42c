// SPDX-License-Identifier: GPL-2.0
/*
 * posix_ops - exercise every file-system operation through ordinary system
 * calls on a target directory, including the expected error cases.
 *
 * usage: posix_ops [-u] [-x EXDEVDIR] [-k] DIR
 *   -u           also test unaligned O_DIRECT I/O (fails on ext4 by design)
 *   -x EXDEVDIR  a directory on a different mount, for the EXDEV checks
 *   -k           keep the work directory
 *
 * Output: one "ok - ..." / "not ok - ...: detail" / "skip - ...: why" line
 * per check, then "N passed, N failed, N skipped".  Exit status 0 iff no
 * check failed.  All work happens in a fresh subdirectory of DIR, which is
 * removed at the end.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <linux/falloc.h>

#define NOBODY		65534
#define NDIRENTS	1000
#define MiB		(1024UL * 1024UL)

struct counters {
	int pass;
	int fail;
	int skip;
};

static struct counters *cnt;
static bool opt_unaligned;
static const char *opt_exdev;
static bool opt_keep;
static char workdir[PATH_MAX];
static gid_t expect_gid;
static long pagesz;

/* ------------------------------------------------------------------ */
/* reporting                                                           */
/* ------------------------------------------------------------------ */

static const char *ename(int e)
{
	static char buf[32];
	const char *s = strerrorname_np(e);

	if (s)
		return s;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

static void pass(const char *name)
{
	printf("ok - %s\n", name);
	cnt->pass++;
}

static void __attribute__((format(printf, 2, 3)))
fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("not ok - %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	cnt->fail++;
}

static void __attribute__((format(printf, 2, 3)))
skip(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("skip - %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	cnt->skip++;
}

static bool __attribute__((format(printf, 3, 4)))
check(bool cond, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		pass(name);
		return true;
	}
	printf("not ok - %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	cnt->fail++;
	return false;
}

/* expect a system call to succeed (ret >= 0) */
static bool check_ok(long ret, const char *name)
{
	if (ret >= 0) {
		pass(name);
		return true;
	}
	fail(name, "%s (%s)", ename(errno), strerror(errno));
	return false;
}

/* expect a system call to fail with e1 (or e2 if non-zero) */
static bool check_err(long ret, int e1, int e2, const char *name)
{
	int e = errno;

	if (ret == -1 && (e == e1 || (e2 && e == e2))) {
		pass(name);
		return true;
	}
	if (ret != -1)
		fail(name, "expected %s%s%s, but it succeeded (returned %ld)",
		     ename(e1), e2 ? " or " : "", e2 ? ename(e2) : "", ret);
	else
		fail(name, "expected %s%s%s, got %s (%s)", ename(e1),
		     e2 ? " or " : "", e2 ? ename(e2) : "", ename(e),
		     strerror(e));
	return false;
}

/* setup step: on failure report it as a failed check and return false */
static bool setup(long ret, const char *name, const char *what)
{
	if (ret >= 0)
		return true;
	fail(name, "setup: %s: %s (%s)", what, ename(errno), strerror(errno));
	return false;
}

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */

static void pattern(unsigned char *p, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761U + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x = x * 1103515245U + 12345U;
		p[i] = (unsigned char)(x >> 16);
	}
}

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static ssize_t read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int put_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return -1;
	if (write_all(fd, buf, len)) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

static ssize_t get_file(const char *path, void *buf, size_t len)
{
	ssize_t n;
	int fd, e;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read_all(fd, buf, len);
	e = errno;
	close(fd);
	errno = e;
	return n;
}

/* true if path holds exactly len bytes equal to buf */
static bool file_is(const char *path, const void *buf, size_t len)
{
	char *tmp = malloc(len + 1);
	ssize_t n;
	bool ok;

	if (!tmp)
		return false;
	n = get_file(path, tmp, len + 1);
	ok = n == (ssize_t)len && !memcmp(tmp, buf, len);
	free(tmp);
	return ok;
}

static bool all_zero(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static int ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	if (a->tv_nsec != b->tv_nsec)
		return a->tv_nsec < b->tv_nsec ? -1 : 1;
	return 0;
}

static int rm_cb(const char *path, const struct stat *st, int type,
		 struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) ? (errno == ENOENT ? 0 : -1) : 0;
	return unlink(path) ? (errno == ENOENT ? 0 : -1) : 0;
}

static int rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	/* make sure every directory can be entered and emptied */
	return nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------ */
/* basic I/O                                                           */
/* ------------------------------------------------------------------ */

static void test_basic_io(void)
{
	static const char msg[] = "hello, shared world\n";
	char buf[128];
	ssize_t n;
	int fd;

	fd = open("basic", O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (!check_ok(fd, "create: open O_CREAT|O_EXCL"))
		return;
	n = write(fd, msg, sizeof(msg) - 1);
	check(n == (ssize_t)sizeof(msg) - 1, "write", "returned %zd (%s)", n,
	      n < 0 ? strerror(errno) : "short");
	n = read(fd, buf, sizeof(buf));
	check_err(n, EBADF, 0, "read on O_WRONLY fd gives EBADF");
	check_ok(close(fd), "close after write");

	fd = open("basic", O_RDONLY);
	if (!check_ok(fd, "open existing O_RDONLY"))
		return;
	n = read(fd, buf, sizeof(buf));
	check(n == (ssize_t)sizeof(msg) - 1 && !memcmp(buf, msg, (size_t)n),
	      "read back written data", "read returned %zd", n);
	n = read(fd, buf, sizeof(buf));
	check(n == 0, "read at EOF returns 0", "returned %zd", n);
	n = write(fd, "x", 1);
	check_err(n, EBADF, 0, "write on O_RDONLY fd gives EBADF");
	check(lseek(fd, 7, SEEK_SET) == 7, "lseek SEEK_SET", "%s",
	      strerror(errno));
	n = read(fd, buf, 6);
	check(n == 6 && !memcmp(buf, "shared", 6), "read after lseek",
	      "got %zd bytes", n);
	check(lseek(fd, -6, SEEK_CUR) == 7, "lseek SEEK_CUR", "%s",
	      strerror(errno));
	check(lseek(fd, 0, SEEK_END) == (off_t)sizeof(msg) - 1,
	      "lseek SEEK_END gives size", "%s", strerror(errno));
	check_err(lseek(fd, -100, SEEK_SET), EINVAL, 0,
		  "lseek to negative offset gives EINVAL");
	n = pread(fd, buf, 5, 0);
	check(n == 5 && !memcmp(buf, "hello", 5), "pread at offset 0",
	      "got %zd", n);
	check_ok(close(fd), "close after read");

	fd = open("basic", O_RDWR);
	if (setup(fd, "pwrite in the middle", "open")) {
		n = pwrite(fd, "SHARED", 6, 7);
		check(n == 6 && file_is("basic", "hello, SHARED world\n", 20),
		      "pwrite in the middle", "pwrite returned %zd", n);
		close(fd);
	}

	fd = open("basic", O_RDWR);
	if (setup(fd, "rename of an open file keeps the fd usable", "open")) {
		if (setup(rename("basic", "basic2"),
			  "rename of an open file keeps the fd usable", "rename")) {
			n = pwrite(fd, "HELLO", 5, 0);
			check(n == 5 && file_is("basic2", "HELLO, SHARED world\n", 20),
			      "rename of an open file keeps the fd usable",
			      "pwrite returned %zd", n);
		}
		close(fd);
	}
	unlink("basic2");

	/* a file that is unlinked while open stays readable */
	fd = open("unlinked", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (setup(fd, "unlinked open file still readable", "create")) {
		struct stat st;

		n = write(fd, msg, sizeof(msg) - 1);
		if (setup(unlink("unlinked"), "unlinked open file still readable",
			  "unlink")) {
			check_err(access("unlinked", F_OK), ENOENT, 0,
				  "unlinked name is gone");
			n = pread(fd, buf, sizeof(buf), 0);
			check(n == (ssize_t)sizeof(msg) - 1 &&
			      !memcmp(buf, msg, (size_t)n),
			      "unlinked open file still readable",
			      "pread returned %zd (%s)", n,
			      n < 0 ? strerror(errno) : "");
			n = pwrite(fd, "J", 1, 0);
			check(n == 1, "unlinked open file still writable",
			      "pwrite returned %zd (%s)", n,
			      n < 0 ? strerror(errno) : "");
			if (!fstat(fd, &st))
				check(st.st_nlink == 0,
				      "fstat of unlinked open file shows nlink 0",
				      "nlink %lu", (unsigned long)st.st_nlink);
			else
				fail("fstat of unlinked open file shows nlink 0",
				     "%s", strerror(errno));
		}
		close(fd);
	}
}

static void test_open_flags(void)
{
	char buf[64];
	struct stat st;
	int fd, fd2;
	ssize_t n;

	if (!setup(put_file("oflags", "0123456789", 10, 0644), "O_EXCL",
		   "create"))
		return;
	check_err(open("oflags", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST, 0,
		  "O_CREAT|O_EXCL on existing file gives EEXIST");
	if (!symlink("no-such-target", "dangling"))
		check_err(open("dangling", O_WRONLY | O_CREAT | O_EXCL, 0644),
			  EEXIST, 0,
			  "O_CREAT|O_EXCL on dangling symlink gives EEXIST");
	check_err(open("no-such-file", O_RDONLY), ENOENT, 0,
		  "open missing file gives ENOENT");

	/* O_CREAT honours the umask */
	fd = open("umasked", O_WRONLY | O_CREAT, 0666);
	if (setup(fd, "O_CREAT mode honours umask", "create")) {
		close(fd);
		if (!stat("umasked", &st))
			check((st.st_mode & 07777) == 0644,
			      "O_CREAT mode honours umask", "mode %04o",
			      st.st_mode & 07777);
	}

	/* O_TRUNC */
	{
		struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

		utimensat(AT_FDCWD, "oflags", old, 0);
		fd = open("oflags", O_WRONLY | O_TRUNC);
		if (setup(fd, "O_TRUNC empties the file", "open")) {
			close(fd);
			if (!stat("oflags", &st)) {
				check(st.st_size == 0, "O_TRUNC empties the file",
				      "size %lld", (long long)st.st_size);
				check(st.st_mtim.tv_sec > 1000000000 + 3600,
				      "O_TRUNC updates mtime", "mtime %lld",
				      (long long)st.st_mtim.tv_sec);
			}
		}
	}

	/* O_APPEND */
	fd = open("append", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	fd2 = open("append", O_WRONLY | O_APPEND);
	if (setup(fd, "O_APPEND", "open") && setup(fd2, "O_APPEND", "open")) {
		bool ok = true;

		ok &= write(fd, "aaaa", 4) == 4;
		lseek(fd, 0, SEEK_SET);
		ok &= write(fd, "bbbb", 4) == 4;
		ok &= write(fd2, "cccc", 4) == 4;
		ok &= write(fd, "dd", 2) == 2;
		check(ok && file_is("append", "aaaabbbbccccdd", 14),
		      "O_APPEND writes always go to EOF",
		      "content differs");
		check(lseek(fd, 0, SEEK_CUR) == 14,
		      "O_APPEND file offset is at EOF after write",
		      "offset %lld", (long long)lseek(fd, 0, SEEK_CUR));
	}
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);

	/* O_RDWR on a fresh file, read what was written */
	fd = open("rdwr", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (setup(fd, "O_RDWR read after write", "open")) {
		n = write(fd, "abcdef", 6);
		n = pread(fd, buf, sizeof(buf), 0);
		check(n == 6 && !memcmp(buf, "abcdef", 6),
		      "O_RDWR read after write", "pread returned %zd", n);
		close(fd);
	}
}

/* ------------------------------------------------------------------ */
/* sparse files and seeking                                            */
/* ------------------------------------------------------------------ */

static void test_sparse(void)
{
	unsigned char *buf;
	off_t size = (off_t)MiB + 4096, r;
	struct stat st;
	ssize_t n;
	int fd;

	buf = malloc(MiB);
	if (!buf)
		return;
	fd = open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!setup(fd, "SEEK_DATA/SEEK_HOLE", "create")) {
		free(buf);
		return;
	}
	pattern(buf, 4096, 1);
	if (!setup(pwrite(fd, buf, 4096, 0), "SEEK_DATA/SEEK_HOLE", "pwrite") ||
	    !setup(pwrite(fd, buf, 4096, (off_t)MiB), "SEEK_DATA/SEEK_HOLE",
		   "pwrite"))
		goto out;
	fsync(fd);

	if (!fstat(fd, &st))
		check(st.st_size == size, "sparse file size", "size %lld",
		      (long long)st.st_size);
	n = pread(fd, buf, MiB, 4096);
	check(n == (ssize_t)MiB && all_zero(buf, MiB - 4096),
	      "hole reads back as zeros", "pread returned %zd", n);

	r = lseek(fd, 0, SEEK_DATA);
	check(r == 0, "SEEK_DATA at start of data", "returned %lld (%s)",
	      (long long)r, r < 0 ? ename(errno) : "");
	r = lseek(fd, 0, SEEK_HOLE);
	check(r >= 4096 && r <= (off_t)MiB, "SEEK_HOLE finds the hole",
	      "returned %lld (%s), expected 4096..1048576", (long long)r,
	      r < 0 ? ename(errno) : "");
	r = lseek(fd, 8192, SEEK_DATA);
	check(r == (off_t)MiB, "SEEK_DATA skips the hole",
	      "returned %lld (%s), expected 1048576", (long long)r,
	      r < 0 ? ename(errno) : "");
	r = lseek(fd, (off_t)MiB, SEEK_HOLE);
	check(r == size, "SEEK_HOLE finds the implicit hole at EOF",
	      "returned %lld (%s), expected %lld", (long long)r,
	      r < 0 ? ename(errno) : "", (long long)size);
	check_err(lseek(fd, size, SEEK_DATA), ENXIO, 0,
		  "SEEK_DATA at EOF gives ENXIO");
	check_err(lseek(fd, size + 10, SEEK_HOLE), ENXIO, 0,
		  "SEEK_HOLE past EOF gives ENXIO");

	/* 64-bit offsets */
	{
		const off_t big = 5LL * 1024 * 1024 * 1024 + 123;
		char tmp[16];

		n = pwrite(fd, "far away", 8, big);
		if (n == 8) {
			n = pread(fd, tmp, sizeof(tmp), big);
			check(n == 8 && !memcmp(tmp, "far away", 8) &&
			      !fstat(fd, &st) && st.st_size == big + 8,
			      "write/read at a 5 GiB offset",
			      "pread returned %zd, size %lld", n,
			      (long long)st.st_size);
		} else if (n < 0 && (errno == EFBIG || errno == ENOSPC)) {
			skip("write/read at a 5 GiB offset", "%s",
			     strerror(errno));
		} else {
			fail("write/read at a 5 GiB offset",
			     "pwrite returned %zd (%s)", n,
			     n < 0 ? strerror(errno) : "short");
		}
	}
out:
	close(fd);
	unlink("sparse");
	free(buf);
}

/* ------------------------------------------------------------------ */
/* attributes                                                          */
/* ------------------------------------------------------------------ */

static void test_stat(void)
{
	struct stat st, fst, dst;
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct timespec ctime0;
	int fd;

	fd = open("attr", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!setup(fd, "stat", "create"))
		return;
	if (!setup(write_all(fd, "0123456789", 10), "stat", "write"))
		goto out;
	if (!check_ok(stat("attr", &st), "stat"))
		goto out;
	check(S_ISREG(st.st_mode), "stat: regular file type", "mode %o",
	      st.st_mode);
	check(st.st_size == 10, "stat: size", "size %lld",
	      (long long)st.st_size);
	check((st.st_mode & 07777) == 0644, "stat: permission bits",
	      "mode %04o", st.st_mode & 07777);
	check(st.st_nlink == 1, "stat: nlink 1", "nlink %lu",
	      (unsigned long)st.st_nlink);
	check(st.st_uid == geteuid(), "stat: uid is creator's", "uid %u",
	      st.st_uid);
	check(st.st_gid == expect_gid, "stat: gid", "gid %u, expected %u",
	      st.st_gid, expect_gid);
	check(st.st_blksize > 0, "stat: blksize", "blksize %ld",
	      (long)st.st_blksize);
	if (check_ok(fstat(fd, &fst), "fstat"))
		check(fst.st_ino == st.st_ino && fst.st_dev == st.st_dev &&
		      fst.st_size == st.st_size && fst.st_mode == st.st_mode,
		      "fstat agrees with stat", "ino %llu/%llu size %lld/%lld",
		      (unsigned long long)fst.st_ino,
		      (unsigned long long)st.st_ino, (long long)fst.st_size,
		      (long long)st.st_size);
	if (!stat(".", &dst))
		check(dst.st_dev == st.st_dev, "stat: st_dev same as directory",
		      "dev %llx vs %llx", (unsigned long long)st.st_dev,
		      (unsigned long long)dst.st_dev);

	/* mtime/ctime move forward on write */
	if (setup(futimens(fd, old), "mtime changes after write", "futimens")) {
		fstat(fd, &st);
		ctime0 = st.st_ctim;
		usleep(30000);
		if (setup(pwrite(fd, "abc", 3, 10), "mtime changes after write",
			  "pwrite")) {
			if (!stat("attr", &st)) {
				check(st.st_mtim.tv_sec > 1000000000 + 3600,
				      "mtime changes after write",
				      "mtime %lld", (long long)st.st_mtim.tv_sec);
				check(ts_cmp(&st.st_ctim, &ctime0) > 0,
				      "ctime changes after write",
				      "ctime did not advance");
				check(st.st_size == 13,
				      "size grows after appending write",
				      "size %lld", (long long)st.st_size);
			}
		}
	}
	/* ctime moves on chmod, mtime does not */
	fstat(fd, &st);
	ctime0 = st.st_ctim;
	old[0] = st.st_mtim;
	usleep(30000);
	if (check_ok(chmod("attr", 0600), "chmod")) {
		stat("attr", &st);
		check((st.st_mode & 07777) == 0600, "chmod: new mode visible",
		      "mode %04o", st.st_mode & 07777);
		check(ts_cmp(&st.st_ctim, &ctime0) > 0, "chmod updates ctime",
		      "ctime did not advance");
		check(!ts_cmp(&st.st_mtim, &old[0]), "chmod leaves mtime alone",
		      "mtime changed");
	}
	if (check_ok(fchmod(fd, 0640), "fchmod")) {
		fstat(fd, &st);
		check((st.st_mode & 07777) == 0640, "fchmod: new mode visible",
		      "mode %04o", st.st_mode & 07777);
	}
	if (!chmod("attr", 01755) && !stat("attr", &st))
		check((st.st_mode & 07777) == 01755,
		      "chmod with sticky bit on a file", "mode %04o",
		      st.st_mode & 07777);
	check_err(chmod("no-such-file", 0644), ENOENT, 0,
		  "chmod missing file gives ENOENT");
out:
	close(fd);
	unlink("attr");
}

static void test_chown(void)
{
	struct stat st;
	int fd;

	if (geteuid() != 0) {
		skip("chown", "not running as root");
		return;
	}
	fd = open("owned", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!setup(fd, "chown", "create"))
		return;
	if (check_ok(chown("owned", NOBODY, NOBODY), "chown to 65534:65534")) {
		stat("owned", &st);
		check(st.st_uid == NOBODY && st.st_gid == NOBODY,
		      "chown: new owner visible", "owner %u:%u", st.st_uid,
		      st.st_gid);
	}
	if (check_ok(chown("owned", (uid_t)-1, 0), "chown group only")) {
		stat("owned", &st);
		check(st.st_uid == NOBODY && st.st_gid == 0,
		      "chown -1 keeps uid", "owner %u:%u", st.st_uid,
		      st.st_gid);
	}
	if (check_ok(fchown(fd, 0, 0), "fchown back to root")) {
		fstat(fd, &st);
		check(st.st_uid == 0 && st.st_gid == 0,
		      "fchown: new owner visible", "owner %u:%u", st.st_uid,
		      st.st_gid);
	}
	/* changing the owner drops the setuid bit */
	if (setup(fchmod(fd, 04755), "chown clears setuid bit", "fchmod") &&
	    setup(fchown(fd, NOBODY, (gid_t)-1), "chown clears setuid bit",
		  "fchown")) {
		fstat(fd, &st);
		check(!(st.st_mode & S_ISUID), "chown clears setuid bit",
		      "mode %04o", st.st_mode & 07777);
	}
	/* lchown changes the link, not the target */
	if (setup(fchown(fd, 0, 0), "lchown on symlink", "fchown") &&
	    setup(symlink("owned", "owned-link"), "lchown on symlink",
		  "symlink")) {
		if (check_ok(lchown("owned-link", NOBODY, NOBODY),
			     "lchown on symlink")) {
			struct stat lst;

			lstat("owned-link", &lst);
			stat("owned", &st);
			check(lst.st_uid == NOBODY && st.st_uid == 0,
			      "lchown changes the link, not the target",
			      "link uid %u, target uid %u", lst.st_uid,
			      st.st_uid);
		}
		unlink("owned-link");
	}
	close(fd);
	unlink("owned");
}

static void test_truncate(void)
{
	unsigned char buf[10000];
	struct stat st;
	ssize_t n;
	int fd;

	pattern(buf, 1000, 7);
	if (!setup(put_file("trunc", buf, 1000, 0644), "truncate", "create"))
		return;
	if (check_ok(truncate("trunc", 100), "truncate down")) {
		stat("trunc", &st);
		check(st.st_size == 100, "truncate down: size", "size %lld",
		      (long long)st.st_size);
		check(file_is("trunc", buf, 100), "truncate down keeps prefix",
		      "content differs");
	}
	fd = open("trunc", O_RDWR);
	if (!setup(fd, "ftruncate up", "open"))
		return;
	if (check_ok(ftruncate(fd, 10000), "ftruncate up")) {
		unsigned char got[10000];

		fstat(fd, &st);
		check(st.st_size == 10000, "ftruncate up: size", "size %lld",
		      (long long)st.st_size);
		n = pread(fd, got, sizeof(got), 0);
		check(n == 10000 && !memcmp(got, buf, 100) &&
		      all_zero(got + 100, 9900),
		      "ftruncate up: extension reads as zeros",
		      "pread returned %zd", n);
	}
	if (check_ok(ftruncate(fd, 5), "ftruncate down")) {
		fstat(fd, &st);
		check(st.st_size == 5, "ftruncate down: size", "size %lld",
		      (long long)st.st_size);
	}
	/* truncate down then up must not resurrect old data */
	if (setup(ftruncate(fd, 1000), "truncate down/up zeroes the tail",
		  "ftruncate")) {
		unsigned char got[1000];

		n = pread(fd, got, sizeof(got), 0);
		check(n == 1000 && !memcmp(got, buf, 5) && all_zero(got + 5, 995),
		      "truncate down/up zeroes the tail", "pread returned %zd",
		      n);
	}
	check_err(ftruncate(fd, -1), EINVAL, 0,
		  "ftruncate to negative size gives EINVAL");
	close(fd);
	fd = open("trunc", O_RDONLY);
	if (fd >= 0) {
		check_err(ftruncate(fd, 0), EINVAL, EBADF,
			  "ftruncate on O_RDONLY fd fails");
		close(fd);
	}
	check_err(truncate("no-such-file", 0), ENOENT, 0,
		  "truncate missing file gives ENOENT");
	check_err(truncate(".", 0), EISDIR, 0,
		  "truncate on a directory gives EISDIR");
	unlink("trunc");
}

static void test_utimens(void)
{
	struct timespec ts[2], t0, t1;
	struct stat st, before;
	int fd;

	if (!setup(put_file("times", "x", 1, 0644), "utimensat", "create"))
		return;
	ts[0].tv_sec = 1000000000;
	ts[0].tv_nsec = 123456789;
	ts[1].tv_sec = 1200000000;
	ts[1].tv_nsec = 987654321;
	if (check_ok(utimensat(AT_FDCWD, "times", ts, 0),
		     "utimensat explicit times")) {
		stat("times", &st);
		check(st.st_atim.tv_sec == ts[0].tv_sec &&
		      st.st_atim.tv_nsec == ts[0].tv_nsec,
		      "utimensat: atime with nanoseconds", "atime %lld.%09ld",
		      (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
		check(st.st_mtim.tv_sec == ts[1].tv_sec &&
		      st.st_mtim.tv_nsec == ts[1].tv_nsec,
		      "utimensat: mtime with nanoseconds", "mtime %lld.%09ld",
		      (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	}

	/* UTIME_OMIT for atime, explicit mtime */
	stat("times", &before);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = 1300000000;
	ts[1].tv_nsec = 5;
	if (check_ok(utimensat(AT_FDCWD, "times", ts, 0),
		     "utimensat UTIME_OMIT atime")) {
		stat("times", &st);
		check(!ts_cmp(&st.st_atim, &before.st_atim),
		      "UTIME_OMIT leaves atime unchanged", "atime %lld.%09ld",
		      (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
		check(st.st_mtim.tv_sec == 1300000000 && st.st_mtim.tv_nsec == 5,
		      "utimensat sets mtime next to UTIME_OMIT",
		      "mtime %lld.%09ld", (long long)st.st_mtim.tv_sec,
		      st.st_mtim.tv_nsec);
	}

	/* UTIME_NOW for mtime, atime omitted */
	stat("times", &before);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	clock_gettime(CLOCK_REALTIME, &t0);
	if (check_ok(utimensat(AT_FDCWD, "times", ts, 0),
		     "utimensat UTIME_NOW mtime")) {
		clock_gettime(CLOCK_REALTIME, &t1);
		stat("times", &st);
		/* allow for a backend clock that is a little off */
		check(st.st_mtim.tv_sec >= t0.tv_sec - 30 &&
		      st.st_mtim.tv_sec <= t1.tv_sec + 30,
		      "UTIME_NOW sets mtime to the current time",
		      "mtime %lld, now %lld", (long long)st.st_mtim.tv_sec,
		      (long long)t1.tv_sec);
		check(!ts_cmp(&st.st_atim, &before.st_atim),
		      "UTIME_NOW mtime leaves omitted atime alone",
		      "atime %lld.%09ld", (long long)st.st_atim.tv_sec,
		      st.st_atim.tv_nsec);
	}

	/* NULL times: both now */
	if (check_ok(utimensat(AT_FDCWD, "times", NULL, 0),
		     "utimensat NULL times")) {
		clock_gettime(CLOCK_REALTIME, &t1);
		stat("times", &st);
		check(st.st_atim.tv_sec >= t1.tv_sec - 30 &&
		      st.st_mtim.tv_sec >= t1.tv_sec - 30,
		      "utimensat NULL sets both times to now",
		      "atime %lld mtime %lld", (long long)st.st_atim.tv_sec,
		      (long long)st.st_mtim.tv_sec);
	}

	/* futimens on an fd */
	fd = open("times", O_RDWR);
	if (fd >= 0) {
		ts[0].tv_sec = 1100000000;
		ts[0].tv_nsec = 1;
		ts[1].tv_sec = 1100000001;
		ts[1].tv_nsec = 2;
		if (check_ok(futimens(fd, ts), "futimens")) {
			fstat(fd, &st);
			check(st.st_atim.tv_sec == 1100000000 &&
			      st.st_atim.tv_nsec == 1 &&
			      st.st_mtim.tv_sec == 1100000001 &&
			      st.st_mtim.tv_nsec == 2, "futimens: times visible",
			      "atime %lld.%09ld mtime %lld.%09ld",
			      (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
			      (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		}
		close(fd);
	}

	/* AT_SYMLINK_NOFOLLOW changes the link only */
	if (!symlink("times", "times-link")) {
		stat("times", &before);
		ts[0].tv_sec = 1000;
		ts[0].tv_nsec = 0;
		ts[1].tv_sec = 2000;
		ts[1].tv_nsec = 0;
		if (check_ok(utimensat(AT_FDCWD, "times-link", ts,
				       AT_SYMLINK_NOFOLLOW),
			     "utimensat AT_SYMLINK_NOFOLLOW")) {
			struct stat lst;

			lstat("times-link", &lst);
			stat("times", &st);
			check(lst.st_mtim.tv_sec == 2000 &&
			      !ts_cmp(&st.st_mtim, &before.st_mtim),
			      "AT_SYMLINK_NOFOLLOW changes the link, not the target",
			      "link mtime %lld, target mtime %lld",
			      (long long)lst.st_mtim.tv_sec,
			      (long long)st.st_mtim.tv_sec);
		}
		unlink("times-link");
	}
	check_err(utimensat(AT_FDCWD, "no-such-file", NULL, 0), ENOENT, 0,
		  "utimensat missing file gives ENOENT");
	unlink("times");
}

/* ------------------------------------------------------------------ */
/* names: symlinks, fifos, directories, links, renames                */
/* ------------------------------------------------------------------ */

static void test_symlink(void)
{
	char buf[PATH_MAX], longtarget[1001];
	struct stat st;
	ssize_t n;

	if (!setup(put_file("sl-target", "target data", 11, 0644), "symlink",
		   "create"))
		return;
	if (!check_ok(symlink("sl-target", "sl"), "symlink"))
		return;
	n = readlink("sl", buf, sizeof(buf));
	check(n == 9 && !memcmp(buf, "sl-target", 9), "readlink",
	      "returned %zd", n);
	n = readlink("sl", buf, 4);
	check(n == 4 && !memcmp(buf, "sl-t", 4), "readlink truncates to buffer",
	      "returned %zd", n);
	if (check_ok(lstat("sl", &st), "lstat symlink")) {
		check(S_ISLNK(st.st_mode), "lstat: symlink type", "mode %o",
		      st.st_mode);
		check(st.st_size == 9, "lstat: symlink size is target length",
		      "size %lld", (long long)st.st_size);
	}
	if (check_ok(stat("sl", &st), "stat follows symlink"))
		check(S_ISREG(st.st_mode) && st.st_size == 11,
		      "stat through symlink sees target", "mode %o size %lld",
		      st.st_mode, (long long)st.st_size);
	check(file_is("sl", "target data", 11), "open through symlink",
	      "content differs");
	check_err(symlink("other", "sl"), EEXIST, 0,
		  "symlink over existing name gives EEXIST");
	check_err(readlink("sl-target", buf, sizeof(buf)), EINVAL, 0,
		  "readlink on a regular file gives EINVAL");

	if (check_ok(symlink("does/not/exist", "sl-dangling"),
		     "dangling symlink")) {
		check_err(stat("sl-dangling", &st), ENOENT, 0,
			  "stat on dangling symlink gives ENOENT");
		check_ok(lstat("sl-dangling", &st), "lstat on dangling symlink");
	}
	memset(longtarget, 'a', sizeof(longtarget) - 1);
	longtarget[sizeof(longtarget) - 1] = '\0';
	for (n = 0; n < 1000; n += 10)
		longtarget[n] = '/';
	if (check_ok(symlink(longtarget, "sl-long"), "symlink with 1000-byte target")) {
		n = readlink("sl-long", buf, sizeof(buf));
		check(n == 1000 && !memcmp(buf, longtarget, 1000),
		      "readlink of 1000-byte target", "returned %zd", n);
	}
	unlink("sl-long");
	unlink("sl-dangling");
	unlink("sl");
	unlink("sl-target");
}

static void test_fifo(void)
{
	struct stat st;

	if (check_ok(mknod("fifo", S_IFIFO | 0640, 0), "mknod S_IFIFO")) {
		if (check_ok(lstat("fifo", &st), "stat fifo"))
			check(S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0640,
			      "fifo: type and mode", "mode %o", st.st_mode);
		check_ok(unlink("fifo"), "unlink fifo");
	}
	if (check_ok(mkfifo("fifo2", 0600), "mkfifo")) {
		if (!lstat("fifo2", &st))
			check(S_ISFIFO(st.st_mode), "mkfifo: type", "mode %o",
			      st.st_mode);
		unlink("fifo2");
	}
	if (setup(mknod("fifo-exists", S_IFIFO | 0600, 0),
		  "mknod over existing name gives EEXIST", "mknod")) {
		check_err(mknod("fifo-exists", S_IFIFO | 0600, 0), EEXIST, 0,
			  "mknod over existing name gives EEXIST");
		unlink("fifo-exists");
	}
}

static void test_dirs(void)
{
	struct stat st, pst, pst2;
	char name[300];
	int fd;

	stat(".", &pst);
	if (!check_ok(mkdir("dir", 0777), "mkdir"))
		return;
	if (check_ok(stat("dir", &st), "stat new directory")) {
		check(S_ISDIR(st.st_mode), "mkdir: directory type", "mode %o",
		      st.st_mode);
		check((st.st_mode & 0777) == 0755, "mkdir: mode honours umask",
		      "mode %04o", st.st_mode & 07777);
		check(st.st_nlink == 2 || st.st_nlink == 1,
		      "mkdir: nlink of empty directory", "nlink %lu",
		      (unsigned long)st.st_nlink);
	}
	stat(".", &pst2);
	if (pst.st_nlink > 1)
		check(pst2.st_nlink == pst.st_nlink + 1,
		      "mkdir increments parent nlink", "%lu -> %lu",
		      (unsigned long)pst.st_nlink,
		      (unsigned long)pst2.st_nlink);
	check_err(mkdir("dir", 0755), EEXIST, 0,
		  "mkdir existing gives EEXIST");
	if (setup(put_file("dir/file", "x", 1, 0644), "rmdir non-empty",
		  "create"))
		check_err(rmdir("dir"), ENOTEMPTY, EEXIST,
			  "rmdir non-empty gives ENOTEMPTY");
	check_err(rmdir("dir/file"), ENOTDIR, 0,
		  "rmdir on a file gives ENOTDIR");
	check_err(open("dir/file/x", O_RDONLY), ENOTDIR, 0,
		  "path through a file gives ENOTDIR");
	check_err(mkdir("dir/file/sub", 0755), ENOTDIR, 0,
		  "mkdir below a file gives ENOTDIR");
	check_err(open("dir/file", O_RDONLY | O_DIRECTORY), ENOTDIR, 0,
		  "O_DIRECTORY on a file gives ENOTDIR");
	check_err(open("dir", O_WRONLY), EISDIR, 0,
		  "open directory O_WRONLY gives EISDIR");
	check_err(open("dir", O_RDWR), EISDIR, 0,
		  "open directory O_RDWR gives EISDIR");
	check_err(unlink("dir"), EISDIR, EPERM,
		  "unlink on a directory gives EISDIR");
	fd = open("dir", O_RDONLY | O_DIRECTORY);
	if (check_ok(fd, "open directory O_RDONLY|O_DIRECTORY")) {
		char c;

		check_err(read(fd, &c, 1), EISDIR, 0,
			  "read on a directory fd gives EISDIR");
		check_ok(fsync(fd), "fsync on a directory fd");
		check_ok(fdatasync(fd), "fdatasync on a directory fd");
		close(fd);
	}
	check_err(rmdir("dir/."), EINVAL, 0, "rmdir of \".\" gives EINVAL");
	check_err(stat("no-such-dir/file", &st), ENOENT, 0,
		  "lookup below missing directory gives ENOENT");
	check_err(unlink("no-such-file"), ENOENT, 0,
		  "unlink missing gives ENOENT");
	check_err(rmdir("no-such-dir"), ENOENT, 0,
		  "rmdir missing gives ENOENT");

	/* name length limits */
	memset(name, 'n', 255);
	name[255] = '\0';
	fd = open(name, O_WRONLY | O_CREAT, 0644);
	if (check_ok(fd, "create file with 255-byte name")) {
		close(fd);
		check_ok(stat(name, &st), "stat file with 255-byte name");
		unlink(name);
	}
	name[255] = 'n';
	name[256] = '\0';
	check_err(open(name, O_WRONLY | O_CREAT, 0644), ENAMETOOLONG, 0,
		  "create with 256-byte name gives ENAMETOOLONG");
	check_err(mkdir(name, 0755), ENAMETOOLONG, 0,
		  "mkdir with 256-byte name gives ENAMETOOLONG");
	check_err(stat(name, &st), ENAMETOOLONG, 0,
		  "lookup of 256-byte name gives ENAMETOOLONG");

	unlink("dir/file");
	if (check_ok(rmdir("dir"), "rmdir")) {
		check_err(stat("dir", &st), ENOENT, 0,
			  "removed directory is gone");
		stat(".", &pst2);
		if (pst.st_nlink > 1)
			check(pst2.st_nlink == pst.st_nlink,
			      "rmdir decrements parent nlink", "%lu -> %lu",
			      (unsigned long)pst.st_nlink,
			      (unsigned long)pst2.st_nlink);
	}
}

static void test_nofollow(void)
{
	int fd;

	if (!setup(put_file("nf-file", "x", 1, 0644), "O_NOFOLLOW", "create") ||
	    !setup(symlink("nf-file", "nf-link"), "O_NOFOLLOW", "symlink") ||
	    !setup(mkdir("nf-dir", 0755), "O_NOFOLLOW", "mkdir") ||
	    !setup(put_file("nf-dir/f", "y", 1, 0644), "O_NOFOLLOW", "create") ||
	    !setup(symlink("nf-dir", "nf-dirlink"), "O_NOFOLLOW", "symlink"))
		goto out;
	check_err(open("nf-link", O_RDONLY | O_NOFOLLOW), ELOOP, 0,
		  "O_NOFOLLOW on a symlink gives ELOOP");
	check_err(open("nf-link", O_RDONLY | O_NOFOLLOW | O_DIRECTORY), ENOTDIR,
		  ELOOP, "O_NOFOLLOW|O_DIRECTORY on a symlink gives ENOTDIR");
	check_err(open("nf-dirlink", O_RDONLY | O_NOFOLLOW), ELOOP, 0,
		  "O_NOFOLLOW on a directory symlink gives ELOOP");
	fd = open("nf-dirlink/f", O_RDONLY | O_NOFOLLOW);
	if (check_ok(fd, "O_NOFOLLOW follows symlinks in the middle of a path"))
		close(fd);
	if (!symlink("nf-loop2", "nf-loop1") && !symlink("nf-loop1", "nf-loop2"))
		check_err(open("nf-loop1", O_RDONLY), ELOOP, 0,
			  "symlink loop gives ELOOP");
out:
	unlink("nf-loop1");
	unlink("nf-loop2");
	unlink("nf-dirlink");
	unlink("nf-dir/f");
	rmdir("nf-dir");
	unlink("nf-link");
	unlink("nf-file");
}

static void test_rename(void)
{
	struct stat a, b, st;
	char buf[64];
	int fd;

	/* plain rename */
	if (!setup(put_file("rn-a", "AAAA", 4, 0644), "rename", "create"))
		return;
	stat("rn-a", &a);
	if (check_ok(rename("rn-a", "rn-b"), "rename plain")) {
		check_err(stat("rn-a", &st), ENOENT, 0,
			  "rename: old name is gone");
		check(!stat("rn-b", &st) && st.st_ino == a.st_ino &&
		      file_is("rn-b", "AAAA", 4),
		      "rename: new name has same inode and data",
		      "ino %llu vs %llu", (unsigned long long)st.st_ino,
		      (unsigned long long)a.st_ino);
	}

	/* rename over an existing file, old target still open */
	if (setup(put_file("rn-c", "CCCCCC", 6, 0644), "rename over existing",
		  "create")) {
		fd = open("rn-c", O_RDONLY);
		stat("rn-b", &b);
		if (check_ok(rename("rn-b", "rn-c"), "rename over existing file")) {
			check(!stat("rn-c", &st) && st.st_ino == b.st_ino &&
			      file_is("rn-c", "AAAA", 4),
			      "rename over existing: target replaced",
			      "ino %llu vs %llu", (unsigned long long)st.st_ino,
			      (unsigned long long)b.st_ino);
			check_err(stat("rn-b", &st), ENOENT, 0,
				  "rename over existing: source is gone");
			if (fd >= 0) {
				ssize_t n = pread(fd, buf, sizeof(buf), 0);

				check(n == 6 && !memcmp(buf, "CCCCCC", 6),
				      "replaced file still readable through open fd",
				      "pread returned %zd", n);
			}
		}
		if (fd >= 0)
			close(fd);
	}

	/* renaming a hard link onto its sibling is a no-op */
	if (setup(link("rn-c", "rn-c2"), "rename onto own hard link", "link")) {
		check_ok(rename("rn-c", "rn-c2"), "rename onto own hard link");
		check(!access("rn-c", F_OK) && !access("rn-c2", F_OK),
		      "rename onto own hard link keeps both names",
		      "a name disappeared");
		unlink("rn-c2");
	}
	check_ok(rename("rn-c", "rn-c"), "rename to itself");
	check_err(rename("no-such-file", "rn-x"), ENOENT, 0,
		  "rename missing source gives ENOENT");

	/* directory cases */
	if (setup(mkdir("rn-d1", 0755), "rename directories", "mkdir") &&
	    setup(mkdir("rn-d1/sub", 0755), "rename directories", "mkdir") &&
	    setup(mkdir("rn-d2", 0755), "rename directories", "mkdir") &&
	    setup(mkdir("rn-full", 0755), "rename directories", "mkdir") &&
	    setup(put_file("rn-full/f", "f", 1, 0644), "rename directories",
		  "create")) {
		check_err(rename("rn-d1", "rn-d1/sub/inside"), EINVAL, 0,
			  "rename directory into its own subdirectory gives EINVAL");
		check_err(rename("rn-d1", "rn-full"), ENOTEMPTY, EEXIST,
			  "rename directory over non-empty directory gives ENOTEMPTY");
		check_err(rename("rn-d1", "rn-c"), ENOTDIR, 0,
			  "rename directory over file gives ENOTDIR");
		check_err(rename("rn-c", "rn-d2"), EISDIR, 0,
			  "rename file over directory gives EISDIR");
		if (check_ok(rename("rn-d1", "rn-d2"),
			     "rename directory over empty directory"))
			check(!stat("rn-d2/sub", &st) && S_ISDIR(st.st_mode),
			      "renamed directory keeps its children",
			      "rn-d2/sub missing");
		if (check_ok(rename("rn-d2/sub", "rn-full/moved"),
			     "rename directory to another parent"))
			check(!stat("rn-full/moved", &st) &&
			      access("rn-d2/sub", F_OK),
			      "directory moved between parents",
			      "unexpected lookup results");
	}
	rmdir("rn-full/moved");
	unlink("rn-full/f");
	rmdir("rn-full");
	rmdir("rn-d2");
	rmdir("rn-d1/sub");
	rmdir("rn-d1");
	unlink("rn-c");
}

static void test_renameat2(void)
{
	struct stat a, b, st;

	if (!setup(put_file("r2-a", "first", 5, 0644), "renameat2", "create") ||
	    !setup(put_file("r2-b", "second!", 7, 0644), "renameat2", "create"))
		return;
	check_err(renameat2(AT_FDCWD, "r2-a", AT_FDCWD, "r2-b",
			    RENAME_NOREPLACE), EEXIST, 0,
		  "RENAME_NOREPLACE onto existing gives EEXIST");
	check(file_is("r2-a", "first", 5) && file_is("r2-b", "second!", 7),
	      "failed RENAME_NOREPLACE changes nothing", "content changed");
	if (check_ok(renameat2(AT_FDCWD, "r2-a", AT_FDCWD, "r2-c",
			       RENAME_NOREPLACE),
		     "RENAME_NOREPLACE onto free name"))
		check(access("r2-a", F_OK) && file_is("r2-c", "first", 5),
		      "RENAME_NOREPLACE moved the file", "unexpected state");

	stat("r2-c", &a);
	stat("r2-b", &b);
	if (check_ok(renameat2(AT_FDCWD, "r2-c", AT_FDCWD, "r2-b",
			       RENAME_EXCHANGE), "RENAME_EXCHANGE")) {
		check(file_is("r2-b", "first", 5) && file_is("r2-c", "second!", 7),
		      "RENAME_EXCHANGE swapped contents", "content not swapped");
		check(!stat("r2-b", &st) && st.st_ino == a.st_ino &&
		      !stat("r2-c", &st) && st.st_ino == b.st_ino,
		      "RENAME_EXCHANGE swapped inodes", "inodes not swapped");
	}
	check_err(renameat2(AT_FDCWD, "r2-c", AT_FDCWD, "r2-missing",
			    RENAME_EXCHANGE), ENOENT, 0,
		  "RENAME_EXCHANGE with missing target gives ENOENT");
	if (setup(mkdir("r2-dir", 0755), "RENAME_EXCHANGE file and directory",
		  "mkdir")) {
		if (check_ok(renameat2(AT_FDCWD, "r2-c", AT_FDCWD, "r2-dir",
				       RENAME_EXCHANGE),
			     "RENAME_EXCHANGE file and directory"))
			check(!stat("r2-c", &a) && S_ISDIR(a.st_mode) &&
			      !stat("r2-dir", &b) && S_ISREG(b.st_mode),
			      "RENAME_EXCHANGE swapped file and directory types",
			      "types not swapped");
	}
	rmdir("r2-c");
	rmdir("r2-dir");
	unlink("r2-c");
	unlink("r2-dir");
	unlink("r2-b");
}

static void test_link(void)
{
	struct stat a, b;
	int fd;

	if (!setup(put_file("ln-a", "linked", 6, 0644), "link", "create"))
		return;
	if (!check_ok(link("ln-a", "ln-b"), "link"))
		goto out;
	if (!stat("ln-a", &a) && !stat("ln-b", &b)) {
		check(a.st_ino == b.st_ino, "link: same inode",
		      "ino %llu vs %llu", (unsigned long long)a.st_ino,
		      (unsigned long long)b.st_ino);
		check(a.st_nlink == 2 && b.st_nlink == 2, "link: nlink 2",
		      "nlink %lu/%lu", (unsigned long)a.st_nlink,
		      (unsigned long)b.st_nlink);
	}
	fd = open("ln-b", O_WRONLY);
	if (fd >= 0) {
		check(pwrite(fd, "L", 1, 0) == 1 && file_is("ln-a", "Linked", 6),
		      "write through one link visible via the other",
		      "content differs");
		close(fd);
	}
	check_err(link("ln-a", "ln-b"), EEXIST, 0,
		  "link onto existing name gives EEXIST");
	check_err(link("no-such-file", "ln-c"), ENOENT, 0,
		  "link from missing file gives ENOENT");
	check_err(link(".", "ln-dir"), EPERM, 0,
		  "link to a directory gives EPERM");
	if (check_ok(unlink("ln-b"), "unlink one of two links")) {
		if (!stat("ln-a", &a))
			check(a.st_nlink == 1 && file_is("ln-a", "Linked", 6),
			      "remaining link has nlink 1 and the data",
			      "nlink %lu", (unsigned long)a.st_nlink);
	}
out:
	unlink("ln-a");
}

/* ------------------------------------------------------------------ */
/* readdir                                                             */
/* ------------------------------------------------------------------ */

static void dirent_name(char *buf, size_t len, char prefix, int i)
{
	int pad = i % 60;

	snprintf(buf, len, "%c%04d_%.*s", prefix, i, pad,
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

/* parse an entry made by dirent_name; returns the index or -1 */
static int dirent_index(const char *name, char prefix)
{
	char expect[128];
	int i;

	if (name[0] != prefix || strlen(name) < 6)
		return -1;
	i = atoi(name + 1);
	if (i < 0 || i >= NDIRENTS)
		return -1;
	dirent_name(expect, sizeof(expect), prefix, i);
	return strcmp(name, expect) ? -1 : i;
}

static unsigned char expected_type(int i)
{
	switch (i % 10) {
	case 0:
		return DT_DIR;
	case 1:
		return DT_LNK;
	default:
		return DT_REG;
	}
}

static void test_readdir(void)
{
	static int seen[NDIRENTS];
	int i, fd, dots = 0, dot2 = 0, stray = 0, dups = 0, missing = 0;
	int badtype = 0, badino = 0, first_bad = -1;
	char name[128], path[512];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (!setup(mkdir("big", 0755), "readdir 1000 entries", "mkdir"))
		return;
	for (i = 0; i < NDIRENTS; i++) {
		int r;

		dirent_name(name, sizeof(name), 'e', i);
		snprintf(path, sizeof(path), "big/%s", name);
		switch (expected_type(i)) {
		case DT_DIR:
			r = mkdir(path, 0755);
			break;
		case DT_LNK:
			r = symlink("somewhere", path);
			break;
		default:
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			r = fd < 0 ? -1 : close(fd);
		}
		if (!setup(r, "readdir 1000 entries", path))
			return;
	}
	pass("create 1000 directory entries");

	d = opendir("big");
	if (!check_ok(d ? 0 : -1, "opendir"))
		return;
	memset(seen, 0, sizeof(seen));
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".")) {
			dots++;
			continue;
		}
		if (!strcmp(de->d_name, "..")) {
			dot2++;
			continue;
		}
		i = dirent_index(de->d_name, 'e');
		if (i < 0) {
			stray++;
			continue;
		}
		if (seen[i]++)
			dups++;
		if (de->d_type != expected_type(i)) {
			badtype++;
			if (first_bad < 0)
				first_bad = i;
		}
		snprintf(path, sizeof(path), "big/%s", de->d_name);
		if (lstat(path, &st) || st.st_ino != de->d_ino)
			badino++;
	}
	check(errno == 0, "readdir ends without error", "%s", strerror(errno));
	for (i = 0; i < NDIRENTS; i++)
		if (!seen[i])
			missing++;
	check(dots == 1 && dot2 == 1, "readdir returns . and .. once",
	      ". seen %d times, .. seen %d times", dots, dot2);
	check(!missing && !dups && !stray,
	      "readdir 1000 entries: every name exactly once",
	      "%d missing, %d duplicated, %d unexpected", missing, dups, stray);
	check(!badtype, "readdir d_type correct for files, dirs and symlinks",
	      "%d entries with wrong d_type (first: index %d, want %u)",
	      badtype, first_bad, first_bad >= 0 ? expected_type(first_bad) : 0);
	check(!badino, "readdir d_ino matches st_ino",
	      "%d entries differ", badino);

	/* rewinddir must start over */
	rewinddir(d);
	for (i = 0; readdir(d); i++)
		;
	check(i == NDIRENTS + 2, "rewinddir then full listing again",
	      "%d entries after rewind", i);
	closedir(d);

	/* small getdents64 buffers force many continuation calls */
	fd = open("big", O_RDONLY | O_DIRECTORY);
	if (setup(fd, "getdents64 with small buffer", "open")) {
		char buf[512];
		ssize_t n;
		int total = 0, calls = 0;

		memset(seen, 0, sizeof(seen));
		dups = 0;
		while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
			ssize_t off = 0;

			calls++;
			while (off < n) {
				struct dirent64 *e = (struct dirent64 *)(buf + off);

				i = dirent_index(e->d_name, 'e');
				if (i >= 0 && seen[i]++)
					dups++;
				total++;
				off += e->d_reclen;
			}
		}
		check(n == 0 && total == NDIRENTS + 2 && !dups,
		      "getdents64 with 512-byte buffer lists everything once",
		      "%d entries in %d calls, %d duplicates, last ret %zd (%s)",
		      total, calls, dups, n, n < 0 ? strerror(errno) : "");
		close(fd);
	}

	/* remove it all, rm -r style: read, unlink what was read, repeat */
	fd = open("big", O_RDONLY | O_DIRECTORY);
	if (setup(fd, "unlink entries while reading the directory", "open")) {
		char buf[1024];
		ssize_t n;
		int errs = 0;

		memset(seen, 0, sizeof(seen));
		dups = 0;
		while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
			ssize_t off = 0;

			while (off < n) {
				struct dirent64 *e = (struct dirent64 *)(buf + off);

				off += e->d_reclen;
				i = dirent_index(e->d_name, 'e');
				if (i < 0)
					continue;
				if (seen[i]++) {
					dups++;
					continue;
				}
				snprintf(path, sizeof(path), "big/%s", e->d_name);
				if (expected_type(i) == DT_DIR ? rmdir(path) :
				    unlink(path))
					errs++;
			}
		}
		close(fd);
		for (missing = 0, i = 0; i < NDIRENTS; i++)
			if (!seen[i])
				missing++;
		check(n == 0 && !dups && !errs,
		      "readdir while unlinking: no duplicates, no errors",
		      "%d duplicates, %d unlink errors, last ret %zd", dups,
		      errs, n);
		check(!missing, "readdir while unlinking: nothing skipped",
		      "%d entries never returned", missing);
	}
	check_ok(rmdir("big"), "directory empty after read+unlink loop");
	rm_rf("big");
}

/* entries unlinked ahead of and behind the cursor during a listing */
static void test_readdir_concurrent_unlink(void)
{
	static int seen[NDIRENTS];
	char name[128], path[512], buf[1024];
	int i, fd, dups = 0, missing = 0, next_even = 0;
	ssize_t n;
	DIR *d;

	if (!setup(mkdir("churn", 0755), "readdir during unlinks", "mkdir"))
		return;
	for (i = 0; i < NDIRENTS; i++) {
		dirent_name(name, sizeof(name), 'u', i);
		snprintf(path, sizeof(path), "churn/%s", name);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (!setup(fd, "readdir during unlinks", "create"))
			return;
		close(fd);
	}
	memset(seen, 0, sizeof(seen));
	fd = open("churn", O_RDONLY | O_DIRECTORY);
	if (!setup(fd, "readdir during unlinks", "open"))
		return;
	while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
		ssize_t off = 0;
		int k;

		while (off < n) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);

			off += e->d_reclen;
			i = dirent_index(e->d_name, 'u');
			if (i >= 0 && seen[i]++)
				dups++;
		}
		/* unlink the next 15 even-numbered entries, wherever they are */
		for (k = 0; k < 15 && next_even < NDIRENTS; k++, next_even += 2) {
			dirent_name(name, sizeof(name), 'u', next_even);
			snprintf(path, sizeof(path), "churn/%s", name);
			unlink(path);
		}
	}
	close(fd);
	for (; next_even < NDIRENTS; next_even += 2) {
		dirent_name(name, sizeof(name), 'u', next_even);
		snprintf(path, sizeof(path), "churn/%s", name);
		unlink(path);
	}
	for (i = 1; i < NDIRENTS; i += 2)
		if (!seen[i])
			missing++;
	check(n == 0 && !dups, "readdir during unlinks: no duplicates",
	      "%d duplicates, last ret %zd (%s)", dups, n,
	      n < 0 ? strerror(errno) : "");
	check(!missing, "readdir during unlinks: untouched entries all seen",
	      "%d untouched entries missing", missing);

	d = opendir("churn");
	if (d) {
		struct dirent *de;
		int cnt_odd = 0, bad = 0;

		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			i = dirent_index(de->d_name, 'u');
			if (i >= 0 && (i & 1))
				cnt_odd++;
			else
				bad++;
		}
		closedir(d);
		check(cnt_odd == NDIRENTS / 2 && !bad,
		      "listing after unlinks shows exactly the survivors",
		      "%d survivors, %d unexpected", cnt_odd, bad);
	}
	rm_rf("churn");
}

/* ------------------------------------------------------------------ */
/* statfs, xattr, access                                               */
/* ------------------------------------------------------------------ */

static void test_statfs(void)
{
	struct statvfs sv, fsv;
	struct statfs sf;
	int fd;

	if (check_ok(statvfs(".", &sv), "statvfs")) {
		check(sv.f_bsize > 0 && sv.f_frsize > 0, "statvfs: block size",
		      "bsize %lu frsize %lu", sv.f_bsize, sv.f_frsize);
		check(sv.f_blocks > 0 && sv.f_bfree <= sv.f_blocks &&
		      sv.f_bavail <= sv.f_blocks,
		      "statvfs: block counts consistent",
		      "blocks %llu free %llu avail %llu",
		      (unsigned long long)sv.f_blocks,
		      (unsigned long long)sv.f_bfree,
		      (unsigned long long)sv.f_bavail);
		check(sv.f_ffree <= sv.f_files, "statvfs: inode counts consistent",
		      "files %llu ffree %llu", (unsigned long long)sv.f_files,
		      (unsigned long long)sv.f_ffree);
		check(sv.f_namemax >= 255, "statvfs: namemax >= 255",
		      "namemax %lu", sv.f_namemax);
	}
	if (check_ok(statfs(".", &sf), "statfs"))
		check(sf.f_bsize > 0 && sf.f_blocks > 0, "statfs: sane sizes",
		      "bsize %ld blocks %llu", (long)sf.f_bsize,
		      (unsigned long long)sf.f_blocks);
	fd = open(".", O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		if (check_ok(fstatvfs(fd, &fsv), "fstatvfs"))
			check(fsv.f_blocks == sv.f_blocks &&
			      fsv.f_bsize == sv.f_bsize,
			      "fstatvfs agrees with statvfs",
			      "blocks %llu vs %llu",
			      (unsigned long long)fsv.f_blocks,
			      (unsigned long long)sv.f_blocks);
		close(fd);
	}
}

static void test_xattr(void)
{
	static const char bin[] = "bin\0ary\0value";
	char buf[2048], big[1000];
	ssize_t n;
	int fd;

	if (!setup(put_file("xa", "x", 1, 0644), "xattr", "create"))
		return;
	if (setxattr("xa", "user.probe", "1", 1, 0)) {
		if (errno == ENOTSUP) {
			skip("xattr", "user.* xattrs not supported here (%s)",
			     strerror(errno));
			unlink("xa");
			return;
		}
		fail("setxattr user.*", "%s (%s)", ename(errno), strerror(errno));
		unlink("xa");
		return;
	}
	removexattr("xa", "user.probe");
	pass("setxattr user.*");

	setxattr("xa", "user.test", "value", 5, 0);
	n = getxattr("xa", "user.test", buf, sizeof(buf));
	check(n == 5 && !memcmp(buf, "value", 5), "getxattr", "returned %zd (%s)",
	      n, n < 0 ? ename(errno) : "");
	n = getxattr("xa", "user.test", NULL, 0);
	check(n == 5, "getxattr size-0 query returns length", "returned %zd", n);
	check_err(getxattr("xa", "user.test", buf, 2), ERANGE, 0,
		  "getxattr with too small buffer gives ERANGE");
	check_err(getxattr("xa", "user.missing", buf, sizeof(buf)), ENODATA, 0,
		  "getxattr missing gives ENODATA");
	check_err(setxattr("xa", "user.test", "new", 3, XATTR_CREATE), EEXIST, 0,
		  "XATTR_CREATE on existing gives EEXIST");
	check_err(setxattr("xa", "user.missing", "v", 1, XATTR_REPLACE), ENODATA,
		  0, "XATTR_REPLACE on missing gives ENODATA");
	if (check_ok(setxattr("xa", "user.test", "replaced", 8, XATTR_REPLACE),
		     "XATTR_REPLACE on existing")) {
		n = getxattr("xa", "user.test", buf, sizeof(buf));
		check(n == 8 && !memcmp(buf, "replaced", 8),
		      "XATTR_REPLACE value visible", "returned %zd", n);
	}
	if (check_ok(setxattr("xa", "user.bin", bin, sizeof(bin), 0),
		     "setxattr binary value with NULs")) {
		n = getxattr("xa", "user.bin", buf, sizeof(buf));
		check(n == (ssize_t)sizeof(bin) && !memcmp(buf, bin, sizeof(bin)),
		      "getxattr binary value", "returned %zd", n);
	}
	if (check_ok(setxattr("xa", "user.empty", "", 0, 0),
		     "setxattr empty value"))
		check(getxattr("xa", "user.empty", buf, sizeof(buf)) == 0,
		      "getxattr empty value returns 0", "wrong length");
	pattern((unsigned char *)big, sizeof(big), 3);
	if (check_ok(setxattr("xa", "user.big", big, sizeof(big), 0),
		     "setxattr 1000-byte value")) {
		n = getxattr("xa", "user.big", buf, sizeof(buf));
		check(n == (ssize_t)sizeof(big) && !memcmp(buf, big, sizeof(big)),
		      "getxattr 1000-byte value", "returned %zd", n);
	}

	/* list */
	n = listxattr("xa", NULL, 0);
	if (check(n > 0, "listxattr size-0 query", "returned %zd", n)) {
		ssize_t m = listxattr("xa", buf, sizeof(buf));
		int found = 0;
		ssize_t off;

		for (off = 0; m > 0 && off < m; off += (ssize_t)strlen(buf + off) + 1) {
			if (!strcmp(buf + off, "user.test") ||
			    !strcmp(buf + off, "user.bin") ||
			    !strcmp(buf + off, "user.empty") ||
			    !strcmp(buf + off, "user.big"))
				found++;
		}
		check(m == n && found == 4, "listxattr lists all names",
		      "listed %zd bytes (query said %zd), found %d of 4", m, n,
		      found);
		check_err(listxattr("xa", buf, 3), ERANGE, 0,
			  "listxattr with too small buffer gives ERANGE");
	}

	/* remove */
	if (check_ok(removexattr("xa", "user.test"), "removexattr"))
		check_err(getxattr("xa", "user.test", buf, sizeof(buf)), ENODATA,
			  0, "getxattr after removexattr gives ENODATA");
	check_err(removexattr("xa", "user.test"), ENODATA, 0,
		  "removexattr missing gives ENODATA");

	/* fd variants, and xattrs survive rename */
	fd = open("xa", O_RDONLY);
	if (fd >= 0) {
		if (check_ok(fsetxattr(fd, "user.fd", "fdval", 5, 0), "fsetxattr")) {
			n = fgetxattr(fd, "user.fd", buf, sizeof(buf));
			check(n == 5 && !memcmp(buf, "fdval", 5), "fgetxattr",
			      "returned %zd", n);
			check(flistxattr(fd, NULL, 0) > 0, "flistxattr",
			      "%s", strerror(errno));
			check_ok(fremovexattr(fd, "user.fd"), "fremovexattr");
		}
		close(fd);
	}
	if (!rename("xa", "xa2")) {
		n = getxattr("xa2", "user.bin", buf, sizeof(buf));
		check(n == (ssize_t)sizeof(bin), "xattrs survive rename",
		      "returned %zd", n);
	}
	if (!mkdir("xa-dir", 0755)) {
		if (check_ok(setxattr("xa-dir", "user.d", "dir", 3, 0),
			     "setxattr on a directory"))
			check(getxattr("xa-dir", "user.d", buf, sizeof(buf)) == 3,
			      "getxattr on a directory", "wrong length");
		rmdir("xa-dir");
	}
	unlink("xa2");
}

static void test_access(void)
{
	if (!setup(put_file("acc", "x", 1, 0644), "access", "create"))
		return;
	check_ok(access("acc", F_OK), "access F_OK on existing");
	check_err(access("no-such-file", F_OK), ENOENT, 0,
		  "access F_OK on missing gives ENOENT");
	check_ok(access("acc", R_OK | W_OK), "access R_OK|W_OK on own 0644 file");
	if (geteuid() == 0)
		check_err(access("acc", X_OK), EACCES, 0,
			  "access X_OK on 0644 file gives EACCES (even root)");
	else
		check_err(access("acc", X_OK), EACCES, 0,
			  "access X_OK on 0644 file gives EACCES");
	chmod("acc", 0755);
	check_ok(access("acc", X_OK), "access X_OK on 0755 file");
	check_ok(access(".", X_OK | W_OK), "access on the work directory");
	unlink("acc");
}

/* ------------------------------------------------------------------ */
/* fallocate, copy_file_range, sync                                    */
/* ------------------------------------------------------------------ */

static void test_fallocate(void)
{
	unsigned char buf[65536], got[65536];
	struct stat st, st2;
	ssize_t n;
	int fd;

	fd = open("falloc", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!setup(fd, "fallocate", "create"))
		return;
	if (fallocate(fd, 0, 0, 65536)) {
		if (errno == EOPNOTSUPP || errno == ENOSYS)
			skip("fallocate", "not supported (%s)", strerror(errno));
		else
			fail("fallocate mode 0", "%s (%s)", ename(errno),
			     strerror(errno));
		goto out;
	}
	pass("fallocate mode 0");
	fstat(fd, &st);
	check(st.st_size == 65536, "fallocate mode 0 extends size", "size %lld",
	      (long long)st.st_size);
	n = pread(fd, got, sizeof(got), 0);
	check(n == 65536 && all_zero(got, 65536),
	      "fallocated range reads as zeros", "pread returned %zd", n);

	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 65536, 1 << 20) == 0) {
		pass("fallocate FALLOC_FL_KEEP_SIZE");
		fstat(fd, &st2);
		check(st2.st_size == 65536, "FALLOC_FL_KEEP_SIZE keeps the size",
		      "size %lld", (long long)st2.st_size);
		check(st2.st_blocks > st.st_blocks,
		      "FALLOC_FL_KEEP_SIZE allocates blocks",
		      "blocks %lld -> %lld", (long long)st.st_blocks,
		      (long long)st2.st_blocks);
	} else if (errno == EOPNOTSUPP) {
		skip("fallocate FALLOC_FL_KEEP_SIZE", "not supported");
	} else {
		fail("fallocate FALLOC_FL_KEEP_SIZE", "%s", strerror(errno));
	}

	pattern(buf, sizeof(buf), 11);
	pwrite(fd, buf, sizeof(buf), 0);
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096,
		      8192) == 0) {
		pass("fallocate FALLOC_FL_PUNCH_HOLE");
		memset(buf + 4096, 0, 8192);
		n = pread(fd, got, sizeof(got), 0);
		check(n == 65536 && !memcmp(buf, got, sizeof(got)),
		      "punched range reads as zeros, rest intact",
		      "pread returned %zd or data differs", n);
		fstat(fd, &st);
		check(st.st_size == 65536, "punch hole keeps the size",
		      "size %lld", (long long)st.st_size);
	} else if (errno == EOPNOTSUPP) {
		skip("fallocate FALLOC_FL_PUNCH_HOLE", "not supported");
	} else {
		fail("fallocate FALLOC_FL_PUNCH_HOLE", "%s", strerror(errno));
	}
	if (fallocate(fd, FALLOC_FL_ZERO_RANGE, 60000, 1000) == 0) {
		memset(buf + 60000, 0, 1000);
		n = pread(fd, got, sizeof(got), 0);
		check(n == 65536 && !memcmp(buf, got, sizeof(got)),
		      "fallocate FALLOC_FL_ZERO_RANGE", "data differs");
	} else if (errno == EOPNOTSUPP) {
		skip("fallocate FALLOC_FL_ZERO_RANGE", "not supported");
	} else {
		fail("fallocate FALLOC_FL_ZERO_RANGE", "%s", strerror(errno));
	}
	check_err(fallocate(fd, 0, 0, 0), EINVAL, 0,
		  "fallocate with zero length gives EINVAL");
out:
	close(fd);
	unlink("falloc");
}

static void test_copy_file_range(void)
{
	const size_t len = 3 * MiB + 777;
	unsigned char *src, *got;
	loff_t off_in, off_out;
	ssize_t n;
	size_t done = 0;
	int in, out;

	src = malloc(len);
	got = malloc(len);
	if (!src || !got)
		goto free;
	pattern(src, len, 21);
	if (!setup(put_file("cfr-src", src, len, 0644), "copy_file_range",
		   "create"))
		goto free;
	in = open("cfr-src", O_RDONLY);
	out = open("cfr-dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!setup(in, "copy_file_range", "open") ||
	    !setup(out, "copy_file_range", "open"))
		goto close;
	errno = 0;
	while (done < len) {
		n = copy_file_range(in, NULL, out, NULL, len - done, 0);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (check(done == len, "copy_file_range whole file",
		  "copied %zu of %zu (%s)", done, len,
		  errno ? strerror(errno) : "early EOF"))
		check(file_is("cfr-dst", src, len),
		      "copy_file_range: content equal", "content differs");

	/* explicit offsets: copy 100000 bytes from 12345 to 500000 */
	off_in = 12345;
	off_out = 500000;
	n = copy_file_range(in, &off_in, out, &off_out, 100000, 0);
	if (check(n == 100000, "copy_file_range with offsets",
		  "returned %zd (%s)", n, n < 0 ? strerror(errno) : "")) {
		memcpy(src + 500000, src + 12345, 100000);
		check(off_in == 12345 + 100000 && off_out == 500000 + 100000,
		      "copy_file_range advances offset pointers",
		      "off_in %lld off_out %lld", (long long)off_in,
		      (long long)off_out);
		check(file_is("cfr-dst", src, len),
		      "copy_file_range with offsets: content", "content differs");
	}
	off_in = (loff_t)len;
	n = copy_file_range(in, &off_in, out, NULL, 100, 0);
	check(n == 0, "copy_file_range at EOF returns 0", "returned %zd", n);
close:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	unlink("cfr-src");
	unlink("cfr-dst");
free:
	free(src);
	free(got);
}

static void test_sync(void)
{
	int fd;

	fd = open("sync", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!setup(fd, "fsync", "create"))
		return;
	write_all(fd, "data", 4);
	check_ok(fsync(fd), "fsync on a file");
	write_all(fd, "more", 4);
	check_ok(fdatasync(fd), "fdatasync on a file");
	check_ok(syncfs(fd), "syncfs");
	close(fd);
	fd = open("sync", O_RDONLY);
	if (fd >= 0) {
		check_ok(fsync(fd), "fsync on an O_RDONLY fd");
		close(fd);
	}
	fd = open(".", O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		check_ok(fsync(fd), "fsync on the work directory fd");
		close(fd);
	}
	unlink("sync");
}

/* ------------------------------------------------------------------ */
/* locks                                                               */
/* ------------------------------------------------------------------ */

static void test_flock(void)
{
	int fd1, fd2;

	if (!setup(put_file("flock", "x", 1, 0644), "flock", "create"))
		return;
	fd1 = open("flock", O_RDWR);
	fd2 = open("flock", O_RDWR);
	if (!setup(fd1, "flock", "open") || !setup(fd2, "flock", "open"))
		goto out;
	check_ok(flock(fd1, LOCK_EX | LOCK_NB), "flock LOCK_EX");
	check_err(flock(fd2, LOCK_EX | LOCK_NB), EWOULDBLOCK, 0,
		  "second LOCK_EX|LOCK_NB gives EWOULDBLOCK");
	check_err(flock(fd2, LOCK_SH | LOCK_NB), EWOULDBLOCK, 0,
		  "LOCK_SH|LOCK_NB against LOCK_EX gives EWOULDBLOCK");
	check_ok(flock(fd1, LOCK_UN), "flock LOCK_UN");
	check_ok(flock(fd2, LOCK_EX | LOCK_NB),
		 "LOCK_EX|LOCK_NB succeeds after unlock");
	flock(fd2, LOCK_UN);
	if (check_ok(flock(fd1, LOCK_SH | LOCK_NB), "flock LOCK_SH"))
		check_ok(flock(fd2, LOCK_SH | LOCK_NB),
			 "two LOCK_SH holders at once");
	flock(fd1, LOCK_UN);
	flock(fd2, LOCK_UN);
	/* closing the last fd of an open file description drops the lock */
	flock(fd1, LOCK_EX);
	close(fd1);
	fd1 = -1;
	check_ok(flock(fd2, LOCK_EX | LOCK_NB), "flock released on close");
out:
	if (fd1 >= 0)
		close(fd1);
	if (fd2 >= 0)
		close(fd2);
	unlink("flock");
}

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = {
		.l_type = type,
		.l_whence = SEEK_SET,
		.l_start = start,
		.l_len = len,
	};

	return fcntl(fd, cmd, &fl);
}

static int getlk(int fd, short type, off_t start, off_t len, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = start;
	fl->l_len = len;
	return fcntl(fd, F_GETLK, fl);
}

static void sync_write(int fd)
{
	char c = 'x';

	if (write(fd, &c, 1) != 1)
		_exit(3);
}

static void sync_read(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		_exit(3);
}

static void posix_lock_child(int to_parent, int from_parent, pid_t parent)
{
	struct flock fl;
	int fd;

	fd = open("plock", O_RDWR);
	if (!setup(fd, "posix locks (child)", "open"))
		_exit(1);
	/* parent holds a write lock on [0, 100) */
	if (check_ok(getlk(fd, F_WRLCK, 50, 100, &fl), "F_GETLK from another process"))
		check(fl.l_type == F_WRLCK && fl.l_pid == parent &&
		      fl.l_start == 0 && fl.l_len == 100,
		      "F_GETLK reports the conflicting lock",
		      "type %d pid %d (parent %d) start %lld len %lld",
		      fl.l_type, fl.l_pid, parent, (long long)fl.l_start,
		      (long long)fl.l_len);
	check_err(setlk(fd, F_SETLK, F_WRLCK, 50, 100), EAGAIN, EACCES,
		  "conflicting F_SETLK gives EAGAIN");
	check_err(setlk(fd, F_SETLK, F_RDLCK, 99, 1), EAGAIN, EACCES,
		  "read lock against write lock gives EAGAIN");
	check_ok(setlk(fd, F_SETLK, F_WRLCK, 200, 100),
		 "non-overlapping F_SETLK succeeds");
	check_ok(setlk(fd, F_SETLK, F_RDLCK, 400, 100),
		 "shared read lock next to another reader");
	sync_write(to_parent);
	sync_read(from_parent);
	/* parent has dropped [0, 100) and waits on [200, 300) */
	check_ok(setlk(fd, F_SETLK, F_WRLCK, 0, 100),
		 "F_SETLK succeeds after the other process unlocked");
	usleep(200000);
	setlk(fd, F_SETLK, F_UNLCK, 200, 100);
	sync_read(from_parent);
	close(fd);
	_exit(0);
}

static void test_posix_locks(void)
{
	int p2c[2], c2p[2], status, fd;
	struct flock fl;
	pid_t pid;

	if (!setup(put_file("plock", "0123456789", 10, 0644), "posix locks",
		   "create"))
		return;
	fd = open("plock", O_RDWR);
	if (!setup(fd, "posix locks", "open"))
		return;
	if (!check_ok(setlk(fd, F_SETLK, F_WRLCK, 0, 100), "F_SETLK write lock"))
		goto out;
	check_ok(setlk(fd, F_SETLK, F_RDLCK, 400, 100), "F_SETLK read lock");
	if (!setup(pipe(p2c), "posix locks", "pipe") ||
	    !setup(pipe(c2p), "posix locks", "pipe"))
		goto out;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fd);
		posix_lock_child(c2p[1], p2c[0], getppid());
	}
	if (!setup(pid, "posix locks", "fork"))
		goto out;
	sync_read(c2p[0]);
	if (check_ok(getlk(fd, F_WRLCK, 150, 100, &fl),
		     "F_GETLK sees the other process's lock"))
		check(fl.l_type == F_WRLCK && fl.l_pid == pid &&
		      fl.l_start == 200 && fl.l_len == 100,
		      "F_GETLK reports the child's lock",
		      "type %d pid %d (child %d) start %lld len %lld",
		      fl.l_type, fl.l_pid, pid, (long long)fl.l_start,
		      (long long)fl.l_len);
	if (!getlk(fd, F_WRLCK, 100, 100, &fl))
		check(fl.l_type == F_UNLCK, "F_GETLK on a free range gives F_UNLCK",
		      "type %d pid %d", fl.l_type, fl.l_pid);
	check_err(setlk(fd, F_SETLK, F_WRLCK, 250, 10), EAGAIN, EACCES,
		  "F_SETLK on the child's range gives EAGAIN");
	check_ok(setlk(fd, F_SETLK, F_UNLCK, 0, 100), "F_SETLK unlock");
	sync_write(p2c[1]);
	/* the child unlocks [200, 300) after a short delay */
	alarm(10);
	check_ok(setlk(fd, F_SETLKW, F_WRLCK, 200, 100),
		 "F_SETLKW waits until the range is released");
	alarm(0);
	sync_write(p2c[1]);
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "lock test child exited cleanly", "status 0x%x", status);
	check_ok(setlk(fd, F_SETLK, F_WRLCK, 0, 0),
		 "child's locks released on exit");
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
out:
	close(fd);
	unlink("plock");
}

/* ------------------------------------------------------------------ */
/* large I/O, mmap, O_DIRECT                                           */
/* ------------------------------------------------------------------ */

static void test_large_io(void)
{
	const size_t len = 8 * MiB, chunk = 1536 * 1024 + 3;
	unsigned char *buf, *got;
	uint64_t h1, h2;
	size_t off;
	ssize_t n;
	int fd;

	buf = malloc(len);
	got = malloc(len);
	if (!buf || !got)
		goto free;
	pattern(buf, len, 99);
	h1 = fnv1a(FNV_INIT, buf, len);

	fd = open("large", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!setup(fd, "large I/O", "create"))
		goto free;
	for (off = 0; off < len; off += chunk) {
		size_t l = len - off < chunk ? len - off : chunk;

		n = pwrite(fd, buf + off, l, (off_t)off);
		if (n != (ssize_t)l)
			break;
	}
	check(off >= len, "write 8 MiB in 1.5 MiB chunks",
	      "short write at %zu: %s", off, strerror(errno));
	close(fd);

	fd = open("large", O_RDONLY);
	if (!setup(fd, "large I/O", "open"))
		goto free;
	memset(got, 0, len);
	for (off = 0; off < len;) {
		n = pread(fd, got + off, 3 * MiB, (off_t)off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	h2 = fnv1a(FNV_INIT, got, len);
	check(off == len && h1 == h2, "read 8 MiB in 3 MiB chunks, checksum",
	      "read %zu bytes, checksum %016" PRIx64 " vs %016" PRIx64, off,
	      h2, h1);
	close(fd);

	/* one 8 MiB write, one 8 MiB read */
	pattern(buf, len, 100);
	h1 = fnv1a(FNV_INIT, buf, len);
	fd = open("large", O_RDWR | O_TRUNC);
	if (!setup(fd, "large I/O", "open"))
		goto free;
	check(write_all(fd, buf, len) == 0, "single 8 MiB write", "%s",
	      strerror(errno));
	memset(got, 0, len);
	n = pread(fd, got, len, 0);
	if (n > 0 && (size_t)n < len) {
		ssize_t m = read_all(fd, got + n, len - (size_t)n);

		if (m > 0)
			n += m;
	}
	h2 = fnv1a(FNV_INIT, got, len);
	check(n == (ssize_t)len && h1 == h2, "single 8 MiB read, checksum",
	      "read %zd bytes, checksum %016" PRIx64 " vs %016" PRIx64, n,
	      h2, h1);
	close(fd);
	unlink("large");
free:
	free(buf);
	free(got);
}

static void test_mmap(void)
{
	size_t len = (size_t)pagesz * 3;
	unsigned char *p, *exp, *got, tmp[100];
	ssize_t n;
	int fd;

	exp = malloc(len);
	got = malloc(len);
	if (!exp || !got)
		goto free;
	fd = open("mmap", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!setup(fd, "mmap", "create"))
		goto free;
	if (!setup(ftruncate(fd, (off_t)len), "mmap", "ftruncate"))
		goto out;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!check_ok(p == MAP_FAILED ? -1 : 0, "mmap MAP_SHARED read/write"))
		goto out;
	pattern(exp, len, 5);
	memcpy(p, exp, len);
	check_ok(msync(p, len, MS_SYNC), "msync MS_SYNC");
	n = pread(fd, got, len, 0);
	check(n == (ssize_t)len && !memcmp(exp, got, len),
	      "mmap shared write visible by read", "pread returned %zd", n);
	/* and the other direction: write() visible in the mapping */
	pattern(tmp, sizeof(tmp), 6);
	n = pwrite(fd, tmp, sizeof(tmp), (off_t)pagesz + 10);
	check(n == (ssize_t)sizeof(tmp) &&
	      !memcmp(p + pagesz + 10, tmp, sizeof(tmp)),
	      "write visible through existing mapping",
	      "pwrite returned %zd or mapping stale", n);
	memcpy(exp + pagesz + 10, tmp, sizeof(tmp));
	munmap(p, len);
	close(fd);

	/* everything survives close + reopen */
	fd = open("mmap", O_RDONLY);
	if (!setup(fd, "mmap data persists after reopen", "open"))
		goto free;
	n = pread(fd, got, len, 0);
	check(n == (ssize_t)len && !memcmp(got, exp, len),
	      "mmap data persists after reopen", "pread returned %zd", n);
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (check_ok(p == MAP_FAILED ? -1 : 0, "mmap read-only")) {
		check(!memcmp(p, exp, len), "read-only mapping matches file",
		      "data differs");
		munmap(p, len);
	}
out:
	close(fd);
	unlink("mmap");
free:
	free(exp);
	free(got);
}

static void test_odirect(void)
{
	const size_t len = 64 * 1024;
	unsigned char *raw, *abuf, *chk;
	ssize_t n;
	int fd;

	raw = malloc(len * 2 + 3 * 4096);
	chk = malloc(len * 2);
	if (!raw || !chk)
		goto free;
	abuf = (unsigned char *)(((uintptr_t)raw + 4095) & ~(uintptr_t)4095);
	fd = open("odirect", O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (fd < 0 && errno == EINVAL) {
		skip("O_DIRECT", "open with O_DIRECT gives EINVAL here");
		if (!opt_unaligned)
			skip("unaligned O_DIRECT", "not requested (-u)");
		else
			fail("unaligned O_DIRECT", "O_DIRECT open not supported");
		goto free;
	}
	if (!check_ok(fd, "open O_DIRECT"))
		goto free;

	pattern(abuf, len, 77);
	n = pwrite(fd, abuf, len, 0);
	check(n == (ssize_t)len, "aligned O_DIRECT write", "returned %zd (%s)",
	      n, n < 0 ? strerror(errno) : "");
	memset(abuf, 0, len);
	n = pread(fd, abuf, len, 0);
	pattern(chk, len, 77);
	check(n == (ssize_t)len && !memcmp(abuf, chk, len),
	      "aligned O_DIRECT read back", "returned %zd", n);
	check(file_is("odirect", chk, len), "O_DIRECT data visible to buffered read",
	      "content differs");

	if (!opt_unaligned) {
		skip("unaligned O_DIRECT", "not requested (-u)");
	} else {
		unsigned char *ubuf = abuf + 1;
		const size_t ulen = 10001;
		const off_t uoff = 12345;

		pattern(ubuf, ulen, 78);
		memcpy(chk + uoff, ubuf, ulen);
		n = pwrite(fd, ubuf, ulen, uoff);
		check(n == (ssize_t)ulen, "unaligned O_DIRECT write",
		      "returned %zd (%s)", n, n < 0 ? ename(errno) : "short");
		memset(abuf, 0, len);
		ubuf = abuf + 3;
		n = pread(fd, ubuf, ulen, uoff);
		check(n == (ssize_t)ulen && !memcmp(ubuf, chk + uoff, ulen),
		      "unaligned O_DIRECT read", "returned %zd (%s)", n,
		      n < 0 ? ename(errno) : "data differs");
		check(file_is("odirect", chk, len),
		      "unaligned O_DIRECT data visible to buffered read",
		      "content differs");
		/* unaligned write extending the file */
		pattern(abuf + 7, 999, 79);
		memcpy(chk + len, abuf + 7, 999);
		n = pwrite(fd, abuf + 7, 999, (off_t)len);
		check(n == 999 && file_is("odirect", chk, len + 999),
		      "unaligned O_DIRECT write extends the file",
		      "returned %zd", n);
	}
	close(fd);
	unlink("odirect");
free:
	free(raw);
	free(chk);
}

/* ------------------------------------------------------------------ */
/* permissions as an unprivileged user                                 */
/* ------------------------------------------------------------------ */

static void nonroot_child(void)
{
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	char buf[16];
	int fd;

	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)) {
		fail("drop privileges to 65534", "%s", strerror(errno));
		_exit(1);
	}
	pass("drop privileges to 65534");
	if (access("perm", X_OK)) {
		skip("unprivileged checks", "work directory not searchable by 65534 (%s)",
		     strerror(errno));
		_exit(0);
	}
	check(get_file("perm/rootfile", buf, sizeof(buf)) == 4,
	      "other user can read a 0644 file", "%s", strerror(errno));
	check_err(open("perm/rootfile", O_WRONLY), EACCES, 0,
		  "other user cannot write a 0644 root file (EACCES)");
	check_err(open("perm/secret", O_RDONLY), EACCES, 0,
		  "other user cannot read a 0600 root file (EACCES)");
	check_err(open("perm/closed/new", O_WRONLY | O_CREAT, 0644), EACCES, 0,
		  "other user cannot create in a 0755 root dir (EACCES)");
	check_err(mkdir("perm/closed/newdir", 0755), EACCES, 0,
		  "other user cannot mkdir in a 0755 root dir (EACCES)");
	check_err(unlink("perm/sticky/rootfile"), EPERM, EACCES,
		  "other user cannot unlink root's file in a sticky dir");
	check_err(rename("perm/sticky/rootfile", "perm/sticky/moved"), EPERM,
		  EACCES, "other user cannot rename root's file in a sticky dir");
	check_err(chmod("perm/rootfile", 0666), EPERM, 0,
		  "other user cannot chmod a root file (EPERM)");
	check_err(utimensat(AT_FDCWD, "perm/rootfile", ts, 0), EPERM, 0,
		  "other user cannot set explicit times on a root file (EPERM)");
	check_err(utimensat(AT_FDCWD, "perm/rootfile", NULL, 0), EACCES, 0,
		  "other user cannot touch a non-writable root file (EACCES)");
	check_err(setxattr("perm/rootfile", "user.x", "1", 1, 0), EACCES, EPERM,
		  "other user cannot set xattrs on a root file");

	fd = open("perm/sticky/mine", O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (check_ok(fd, "other user can create in a 01777 dir")) {
		check(write(fd, "mine", 4) == 4, "other user can write own file",
		      "%s", strerror(errno));
		close(fd);
		check_err(chown("perm/sticky/mine", 0, (gid_t)-1), EPERM, 0,
			  "other user cannot give a file to root (EPERM)");
	}
	fd = open("perm/suid", O_WRONLY);
	if (setup(fd, "write by other user clears setuid bit", "open")) {
		check(write(fd, "w", 1) == 1, "other user can write a 0777 file",
		      "%s", strerror(errno));
		close(fd);
	}
	fflush(stdout);
	_exit(0);
}

static void test_nonroot(void)
{
	int status, fd;
	struct stat st;
	pid_t pid;

	if (geteuid() != 0) {
		skip("unprivileged checks", "not running as root");
		return;
	}
	if (!setup(mkdir("perm", 0755), "unprivileged checks", "mkdir") ||
	    !setup(chmod("perm", 0755), "unprivileged checks", "chmod") ||
	    !setup(put_file("perm/rootfile", "root", 4, 0644),
		   "unprivileged checks", "create") ||
	    !setup(put_file("perm/secret", "hush", 4, 0600),
		   "unprivileged checks", "create") ||
	    !setup(mkdir("perm/closed", 0755), "unprivileged checks", "mkdir") ||
	    !setup(mkdir("perm/sticky", 0755), "unprivileged checks", "mkdir") ||
	    !setup(chmod("perm/sticky", 01777), "unprivileged checks", "chmod") ||
	    !setup(put_file("perm/sticky/rootfile", "root", 4, 0666),
		   "unprivileged checks", "create") ||
	    !setup(chmod("perm/sticky/rootfile", 0666), "unprivileged checks",
		   "chmod") ||
	    !setup(put_file("perm/suid", "suid", 4, 0644),
		   "unprivileged checks", "create") ||
	    !setup(chmod("perm/suid", 04777), "unprivileged checks", "chmod") ||
	    !setup(chown("perm", 0, 0), "unprivileged checks", "chown"))
		return;
	fd = open("perm/secret", O_RDONLY);
	if (fd >= 0)
		close(fd);

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		nonroot_child();
	if (!setup(pid, "unprivileged checks", "fork"))
		return;
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "unprivileged child exited cleanly", "status 0x%x", status);

	if (!lstat("perm/sticky/mine", &st))
		check(st.st_uid == NOBODY && st.st_gid == NOBODY,
		      "file created by 65534 is owned by 65534:65534",
		      "owner %u:%u", st.st_uid, st.st_gid);
	else
		fail("file created by 65534 is owned by 65534:65534",
		     "stat: %s", strerror(errno));
	check(!access("perm/sticky/rootfile", F_OK) &&
	      file_is("perm/rootfile", "root", 4),
	      "root files untouched by the other user", "changed");
	if (!stat("perm/suid", &st))
		check(!(st.st_mode & S_ISUID) && st.st_size == 4,
		      "write by other user clears setuid bit", "mode %04o",
		      st.st_mode & 07777);
	rm_rf("perm");
}

static void test_exdev(void)
{
	char path[PATH_MAX];

	if (!opt_exdev) {
		skip("rename across mounts gives EXDEV", "no -x EXDEVDIR given");
		return;
	}
	snprintf(path, sizeof(path), "%s/posix_ops-exdev.%d", opt_exdev,
		 (int)getpid());
	if (!setup(put_file("exdev", "x", 1, 0644), "EXDEV", "create"))
		return;
	check_err(rename("exdev", path), EXDEV, 0,
		  "rename across mounts gives EXDEV");
	check_err(link("exdev", path), EXDEV, 0,
		  "link across mounts gives EXDEV");
	check(!access("exdev", F_OK), "failed cross-mount rename keeps source",
	      "source vanished");
	unlink(path);
	unlink("exdev");
}

/* ------------------------------------------------------------------ */

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-u] [-x EXDEVDIR] [-k] DIR\n"
		"  -u           test unaligned O_DIRECT I/O\n"
		"  -x EXDEVDIR  directory on another mount for EXDEV checks\n"
		"  -k           keep the work directory\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	struct stat st;
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "ux:k")) != -1) {
		switch (c) {
		case 'u':
			opt_unaligned = true;
			break;
		case 'x':
			opt_exdev = optarg;
			break;
		case 'k':
			opt_keep = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc - 1)
		usage(argv[0]);

	cnt = mmap(NULL, sizeof(*cnt), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cnt == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	pagesz = sysconf(_SC_PAGESIZE);
	umask(022);
	snprintf(workdir, sizeof(workdir), "%s/posix_ops.%d", argv[optind],
		 (int)getpid());
	if (mkdir(workdir, 0755) || chmod(workdir, 0755) || chdir(workdir) ||
	    stat(".", &st)) {
		printf("not ok - create work directory %s: %s\n", workdir,
		       strerror(errno));
		printf("0 passed, 1 failed, 0 skipped\n");
		return 1;
	}
	expect_gid = (st.st_mode & S_ISGID) ? st.st_gid : getegid();
	printf("# posix_ops: working in %s\n", workdir);

	test_basic_io();
	test_open_flags();
	test_sparse();
	test_stat();
	test_chown();
	test_truncate();
	test_utimens();
	test_symlink();
	test_fifo();
	test_dirs();
	test_nofollow();
	test_rename();
	test_renameat2();
	test_link();
	test_readdir();
	test_readdir_concurrent_unlink();
	test_statfs();
	test_xattr();
	test_access();
	test_fallocate();
	test_copy_file_range();
	test_sync();
	test_flock();
	test_posix_locks();
	test_large_io();
	test_mmap();
	test_odirect();
	test_nonroot();
	test_exdev();

	if (chdir("/"))
		perror("chdir");
	if (!opt_keep) {
		if (rm_rf(workdir) || !access(workdir, F_OK))
			fail("remove work directory", "%s", strerror(errno));
		else
			pass("remove work directory");
	}
	printf("%d passed, %d failed, %d skipped\n", cnt->pass, cnt->fail,
	       cnt->skip);
	return cnt->fail ? 1 : 0;
}
