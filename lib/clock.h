/*
 * The monotonic clock in milliseconds, for timeouts and pacing.
 * Every layer may include this; it includes nothing of the project's.
 */
#ifndef XSH_CLOCK_H
#define XSH_CLOCK_H

#include <time.h>

static inline long xsh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

#endif
