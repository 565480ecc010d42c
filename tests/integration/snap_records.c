// SPDX-License-Identifier: MIT
/*
 * snap_records - the guest's workload of tests/integration/snapshot.sh.
 *
 *   snap_records write FILE LOG SECONDS
 *       writes numbered fixed-size records to FILE (record n at offset
 *       n * RECORD), fsyncs each, and after each fsync returns appends
 *       "n seconds.nanoseconds" (CLOCK_REALTIME) to LOG; for SECONDS.
 *       Any error is printed and ends it with status 1.
 *   snap_records check FILE LOG T0
 *       every record LOG says was acknowledged before T0 (seconds, as
 *       date +%s.%N prints) must be in FILE, intact.  Prints how many
 *       were checked; status 1 on the first one missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECORD	64

static void record(char *buf, unsigned long n)
{
	memset(buf, '.', RECORD);
	snprintf(buf, RECORD, "record %010lu", n);
	buf[RECORD - 1] = '\n';
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int do_write(const char *file, const char *log, double seconds)
{
	double end = now() + seconds;
	char buf[RECORD];
	unsigned long n;
	FILE *lf;
	int fd;

	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	lf = fopen(log, "w");
	if (fd < 0 || !lf) {
		perror("snap_records: open");
		return 1;
	}
	for (n = 0; now() < end; n++) {
		record(buf, n);
		if (pwrite(fd, buf, RECORD, (off_t)(n * RECORD)) != RECORD) {
			fprintf(stderr, "snap_records: write of record %lu: %s\n",
				n, strerror(errno));
			return 1;
		}
		if (fsync(fd)) {
			fprintf(stderr, "snap_records: fsync of record %lu: %s\n",
				n, strerror(errno));
			return 1;
		}
		fprintf(lf, "%lu %.9f\n", n, now());
		fflush(lf);
	}
	if (close(fd)) {
		perror("snap_records: close");
		return 1;
	}
	fclose(lf);
	printf("%lu records\n", n);
	return 0;
}

static int do_check(const char *file, const char *log, double t0)
{
	char want[RECORD], got[RECORD];
	unsigned long n, checked = 0;
	double t;
	FILE *lf;
	int fd;

	fd = open(file, O_RDONLY);
	lf = fopen(log, "r");
	if (fd < 0 || !lf) {
		perror("snap_records: open");
		return 1;
	}
	while (fscanf(lf, "%lu %lf", &n, &t) == 2) {
		if (t >= t0)
			continue;
		record(want, n);
		if (pread(fd, got, RECORD, (off_t)(n * RECORD)) != RECORD ||
		    memcmp(want, got, RECORD)) {
			printf("record %lu, acknowledged %.3f s before the snapshot began, is missing\n",
			       n, t0 - t);
			return 1;
		}
		checked++;
	}
	printf("%lu records acknowledged before the snapshot are in it\n",
	       checked);
	return checked ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "write"))
		return do_write(argv[2], argv[3], atof(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "check"))
		return do_check(argv[2], argv[3], atof(argv[4]));
	fprintf(stderr, "usage: snap_records write FILE LOG SECONDS\n"
			"       snap_records check FILE LOG T0\n");
	return 2;
}
