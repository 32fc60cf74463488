/*
 * daycal.h -- calendar days for quotas that reset at midnight somewhere:
 * UTC (OpenRouter's day, "day_reset": "utc") and America/Los_Angeles
 * (Gemini's day: Pacific Standard Time, UTC-8, or Pacific Daylight Time,
 * UTC-7, from the second Sunday of March at 02:00 local to the first
 * Sunday of November at 02:00 local -- the US rule since 2007).
 * Owns: the start of the day containing a moment, and of the next one.
 * Never: reads a clock, the TZ database or the environment (localtime is
 * neither thread-safe with setenv nor present in every chroot).
 */
#ifndef PX_DAYCAL_H
#define PX_DAYCAL_H

#include <stdint.h>

enum px_tz { PX_TZ_UTC = 0, PX_TZ_PACIFIC };

/* Start (ms since the epoch, UTC) of the calendar day in tz that contains
 * t_ms; t_ms >= 0. */
int64_t px_day_start(enum px_tz tz, int64_t t_ms);
/* Start of the next calendar day (the moment a daily quota resets). */
int64_t px_day_next(enum px_tz tz, int64_t t_ms);

#endif
