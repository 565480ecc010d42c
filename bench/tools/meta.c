// SPDX-License-Identifier: MIT
/*
 * meta: the metadata workload of the benchmark harness.
 *
 *   meta DIR [N]
 *
 * Creates N empty files in DIR (open O_CREAT|O_EXCL, close), stats each of
 * them, then unlinks them, timing each phase with CLOCK_MONOTONIC.  Prints
 * one JSON object: {"files":N,"create_s":..,"stat_s":..,"unlink_s":..}.
 * Trusts nothing but its arguments; any failed call ends the run with a
 * message and exit status 1, so a broken file system cannot look fast.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, long i)
{
	fprintf(stderr, "meta: %s f%06ld: %s\n", what, i, strerror(errno));
	return 1;
}

int main(int argc, char *argv[])
{
	double t0, t1, t2, t3;
	char name[32];
	struct stat st;
	long n = 10000;
	int dfd;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s DIR [N]\n", argv[0]);
		return 2;
	}
	if (argc == 3) {
		n = strtol(argv[2], NULL, 10);
		if (n <= 0 || n > 1000000) {
			fprintf(stderr, "meta: N must be 1..1000000\n");
			return 2;
		}
	}
	dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (dfd < 0) {
		fprintf(stderr, "meta: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}

	t0 = now();
	for (long i = 0; i < n; i++) {
		int fd;

		snprintf(name, sizeof(name), "f%06ld", i);
		fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
			    0644);
		if (fd < 0)
			return fail("create", i);
		if (close(fd))
			return fail("close", i);
	}
	t1 = now();
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%06ld", i);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
			return fail("stat", i);
		if (!S_ISREG(st.st_mode) || st.st_size != 0) {
			errno = EIO;
			return fail("stat", i);
		}
	}
	t2 = now();
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%06ld", i);
		if (unlinkat(dfd, name, 0))
			return fail("unlink", i);
	}
	t3 = now();
	close(dfd);

	printf("{\"files\":%ld,\"create_s\":%.6f,\"stat_s\":%.6f,"
	       "\"unlink_s\":%.6f}\n", n, t1 - t0, t2 - t1, t3 - t2);
	return 0;
}
