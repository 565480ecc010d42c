// SPDX-License-Identifier: MIT
/*
 * Replays fuzz inputs through the harness of tests/fuzz/fuzz_dispatch.c
 * with the normal compiler: every file of each directory (or each file)
 * named on the command line is one test.  Each input runs in a child
 * process with a time limit, so one that crashes or hangs is reported and
 * the rest still run.  This is how the committed corpus, crash-* inputs
 * included, becomes a regression test in `make check`.
 *
 *   replay DIR|FILE...
 *
 * Trust: the inputs are hostile bytes; only the harness interprets them.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "tests/unit/tap.h"

#define TIME_LIMIT_S	20
#define MAX_INPUT_BYTES	(1u << 20)

static int read_input(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	size_t n;

	if (!f)
		return -errno;
	b = malloc(MAX_INPUT_BYTES + 1);
	if (!b) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(b, 1, MAX_INPUT_BYTES + 1, f);
	fclose(f);
	if (n > MAX_INPUT_BYTES) {
		free(b);
		return -EFBIG;
	}
	*buf = b;
	*len = n;
	return 0;
}

static void run_one(const char *path, const char *name)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	pid_t pid;
	int rc, status;

	rc = read_input(path, &buf, &len);
	if (rc) {
		skip(name, strerror(-rc));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		result(false, name, "fork: %s", strerror(errno));
		free(buf);
		return;
	}
	if (pid == 0) {
		alarm(TIME_LIMIT_S);
		LLVMFuzzerTestOneInput(buf, len);
		_exit(0);
	}
	free(buf);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		result(WEXITSTATUS(status) == 0, name, "exit status %d",
		       WEXITSTATUS(status));
	else if (WTERMSIG(status) == SIGALRM)
		result(false, name, "no answer within %d s", TIME_LIMIT_S);
	else
		result(false, name, "killed by signal %d (%s)",
		       WTERMSIG(status), strsignal(WTERMSIG(status)));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir)
{
	char **names = NULL, path[4096];
	size_t nr = 0, cap = 0, i;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		result(false, dir, "%s", strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "README"))
			continue;
		if (nr == cap) {
			char **n;

			cap = cap ? cap * 2 : 256;
			n = realloc(names, cap * sizeof(*names));
			if (!n)
				break;
			names = n;
		}
		names[nr] = strdup(de->d_name);
		if (names[nr])
			nr++;
	}
	closedir(d);
	if (nr)
		qsort(names, nr, sizeof(*names), by_name);
	for (i = 0; i < nr; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		run_one(path, path);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	struct stat st;
	int i = 1;

	if (i >= argc) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	LLVMFuzzerInitialize(&argc, &argv);
	for (; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			run_dir(argv[i]);
		else
			run_one(argv[i], argv[i]);
	}
	return tap_summary();
}
