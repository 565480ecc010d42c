// SPDX-License-Identifier: MIT
/*
 * restart_io - file workloads for tests/integration/restart.sh, run on a
 * xenshare mount while the backend is killed and restarted under them.
 * Every system call error is a failure: the guest must see none.
 *
 *   restart_io writer FILE STOPFILE MIN [append]
 *       Writes 4 KiB records, each fsync'ed, through one descriptor kept
 *       open the whole time (at explicit offsets, or with O_APPEND), until
 *       STOPFILE exists and at least MIN records are written; then checks
 *       every record through that descriptor and through a new one.
 *       Prints "records N".
 *
 *   restart_io check FILE N
 *       Checks that FILE holds exactly the N records a writer wrote (run
 *       on the host's copy).
 *
 *   restart_io hold FILE FIFO
 *       Opens FILE, writes a first line, says "ready", blocks reading FIFO
 *       (on the host, outside the mount) until the test writes to it, then
 *       writes a second line and reads both back through the same
 *       descriptor.
 *
 *   restart_io exchange A B
 *       Exchanges the names A and B (renameat2 RENAME_EXCHANGE).
 *
 *   restart_io intr MS OP FILE
 *       Opens FILE, says "ready", waits for SIGUSR1, then arms SIGALRM MS
 *       ms later (0: none), caught without SA_RESTART, and runs OP once:
 *       read (1 MiB at 0, O_DIRECT), xattr (getxattr of user.none with
 *       room for 64 KiB), write (1 MiB of 'b' at 0, through the page
 *       cache) or fsync.  Prints "result N" (bytes, or 0) or "errno
 *       NAME", then "ms T" (how long OP took).  Exit status 0 either way.
 *       (The kernel sends FUSE_INTERRUPT only for requests a process
 *       waits for itself: an O_DIRECT read is an asynchronous one.)
 *
 * Exit status 0 when everything was right; otherwise one line on stderr
 * saying what went wrong and status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define REC	4096u

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						     noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("restart_io: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void fill(char *b, unsigned i)
{
	unsigned k;
	int n = snprintf(b, REC, "record %08u\n", i);

	for (k = (unsigned)n; k < REC - 1; k++)
		b[k] = (char)('a' + (i * 31 + k * 7) % 26);
	b[REC - 1] = '\n';
}

static void check_all(int fd, unsigned n, const char *how)
{
	char want[REC], got[REC];
	struct stat st;
	unsigned i;
	ssize_t r;

	if (fstat(fd, &st))
		die("fstat (%s): %s", how, strerror(errno));
	if ((unsigned long long)st.st_size != (unsigned long long)n * REC)
		die("%s: size %lld, want %llu", how, (long long)st.st_size,
		    (unsigned long long)n * REC);
	for (i = 0; i < n; i++) {
		fill(want, i);
		r = pread(fd, got, REC, (off_t)i * REC);
		if (r != (ssize_t)REC)
			die("%s: read of record %u: %s", how, i,
			    r < 0 ? strerror(errno) : "short");
		if (memcmp(want, got, REC))
			die("%s: record %u differs", how, i);
	}
}

static int writer(const char *path, const char *stop, unsigned min,
		  bool append)
{
	char b[REC];
	unsigned n = 0;
	ssize_t r;
	int fd, fd2;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | (append ? O_APPEND : 0),
		  0644);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	while (n < min || access(stop, F_OK)) {
		fill(b, n);
		if (append)
			r = write(fd, b, REC);
		else
			r = pwrite(fd, b, REC, (off_t)n * REC);
		if (r != (ssize_t)REC)
			die("write of record %u: %s", n,
			    r < 0 ? strerror(errno) : "short");
		if (fsync(fd))
			die("fsync after record %u: %s", n, strerror(errno));
		n++;
	}
	check_all(fd, n, "same descriptor");
	if (close(fd))
		die("close: %s", strerror(errno));
	fd2 = open(path, O_RDONLY);
	if (fd2 < 0)
		die("reopen %s: %s", path, strerror(errno));
	check_all(fd2, n, "new descriptor");
	close(fd2);
	printf("records %u\n", n);
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int intr(unsigned ms, const char *op, const char *path)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { .tv_sec = ms / 1000,
					      .tv_usec = ms % 1000 * 1000 } };
	bool rd = !strcmp(op, "read"), wr = !strcmp(op, "write");
	bool xa = !strcmp(op, "xattr");
	sigset_t usr1;
	ssize_t r;
	void *buf;
	long t0;
	int fd, sig;

	if (!rd && !wr && !xa && strcmp(op, "fsync"))
		die("intr: unknown op %s", op);
	if (posix_memalign(&buf, 4096, 1u << 20))
		die("out of memory");
	memset(buf, 'b', 1u << 20);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	fd = open(path, rd || xa ? O_RDONLY | (rd ? O_DIRECT : 0) : O_WRONLY);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	printf("ready\n");
	fflush(stdout);
	if (sigwait(&usr1, &sig))
		die("sigwait");
	sigaction(SIGALRM, &sa, NULL);
	if (ms && setitimer(ITIMER_REAL, &it, NULL))
		die("setitimer: %s", strerror(errno));
	t0 = ms_now();
	if (rd)
		r = pread(fd, buf, 1u << 20, 0);
	else if (xa)
		r = fgetxattr(fd, "user.none", buf, 65536);
	else if (wr)
		r = pwrite(fd, buf, 1u << 20, 0);
	else
		r = fsync(fd);
	if (r < 0)
		printf("errno %s\n", strerrorname_np(errno));
	else
		printf("result %zd\n", r);
	printf("ms %ld\n", ms_now() - t0);
	/* Before close, whose FLUSH waits for a stopped backend. */
	fflush(stdout);
	close(fd);
	free(buf);
	return 0;
}

static int hold(const char *path, const char *fifo)
{
	static const char first[] = "before the restart\n";
	static const char second[] = "after the restart\n";
	char buf[128], c;
	ssize_t r;
	int fd, ff;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	if (write(fd, first, sizeof(first) - 1) != (ssize_t)sizeof(first) - 1)
		die("first write: %s", strerror(errno));
	printf("ready\n");
	fflush(stdout);
	ff = open(fifo, O_RDONLY);
	if (ff < 0 || read(ff, &c, 1) != 1)
		die("waiting on %s: %s", fifo, strerror(errno));
	close(ff);
	if (write(fd, second, sizeof(second) - 1) != (ssize_t)sizeof(second) - 1)
		die("write after the restart: %s", strerror(errno));
	r = pread(fd, buf, sizeof(buf), 0);
	if (r < 0)
		die("read after the restart: %s", strerror(errno));
	if ((size_t)r != sizeof(first) + sizeof(second) - 2 ||
	    memcmp(buf, first, sizeof(first) - 1) ||
	    memcmp(buf + sizeof(first) - 1, second, sizeof(second) - 1))
		die("read back %zd bytes that differ", r);
	if (close(fd))
		die("close: %s", strerror(errno));
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "writer"))
		return writer(argv[2], argv[3], (unsigned)atoi(argv[4]),
			      argc > 5 && !strcmp(argv[5], "append"));
	if (argc == 5 && !strcmp(argv[1], "intr"))
		return intr((unsigned)atoi(argv[2]), argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "exchange")) {
		if (renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3],
			      RENAME_EXCHANGE))
			die("exchange %s %s: %s", argv[2], argv[3],
			    strerror(errno));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return hold(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "check")) {
		int fd = open(argv[2], O_RDONLY);

		if (fd < 0)
			die("open %s: %s", argv[2], strerror(errno));
		check_all(fd, (unsigned)atoi(argv[3]), argv[2]);
		close(fd);
		return 0;
	}
	fprintf(stderr, "usage: restart_io writer FILE STOPFILE MIN [append]\n"
		"       restart_io check FILE N\n"
		"       restart_io hold FILE FIFO\n");
	return 2;
}
