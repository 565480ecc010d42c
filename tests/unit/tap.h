/* SPDX-License-Identifier: MIT */
/*
 * The result lines every C test program prints: "ok - NAME",
 * "not ok - NAME: DETAIL", "skip - NAME: WHY", and at the end one line
 * "N passed, N failed, N skipped".  tests/lib.sh (xs_run_counted) and
 * tests/run-tests.sh add these up, so the format is fixed byte for byte.
 *
 * Include it in one source file of a test program: the counters are that
 * file's; they are not atomic, so report from one thread at a time.
 *
 * Trust: none needed; this only formats what the tests found.
 */
#ifndef XSH_TESTS_TAP_H
#define XSH_TESTS_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static unsigned tap_passed, tap_failed, tap_skipped;

/* ok - NAME, or not ok - NAME: DETAIL (DETAIL formatted from fmt). */
static inline void result(bool ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("ok - %s\n", name);
		tap_passed++;
		return;
	}
	printf("not ok - %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	tap_failed++;
}

static inline void skip(const char *name, const char *why)
{
	printf("skip - %s: %s\n", name, why);
	tap_skipped++;
}

/* The closing total line; returns the program's exit status. */
static inline int tap_summary(void)
{
	printf("%u passed, %u failed, %u skipped\n", tap_passed, tap_failed,
	       tap_skipped);
	return tap_failed ? 1 : 0;
}

/* One result per condition, naming the line of a failure. */
#define EXPECT(cond, name) result((cond), (name), "line %d", __LINE__)

/*
 * Inside a test with a char why[] and a label out: on failure, record why
 * (printf-style) and jump to out, where the test reports its result.
 */
#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			snprintf(why, sizeof(why), __VA_ARGS__);               \
			goto out;                                              \
		}                                                              \
	} while (0)

#endif
