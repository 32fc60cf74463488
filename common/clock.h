/*
 * clock.h -- the two clocks of the project, in milliseconds (and the
 * monotonic one in microseconds for short durations).
 * Monotonic for durations and deadlines inside one process; wall clock
 * for anything shared across processes and restarts (the ledger).
 * Never: sleeps or caches; each call reads the clock.
 */
#ifndef PX_CLOCK_H
#define PX_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline long
px_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic microseconds: the log line's and /metrics' overhead. */
static inline long long
px_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t
px_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
