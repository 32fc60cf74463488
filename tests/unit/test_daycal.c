/*
 * test_daycal.c -- calendar day boundaries (daycal.h) in UTC and US
 * Pacific time, on fixed moments.
 * Covers: a plain day; the 23-hour day of the spring change and the
 * 25-hour day of the autumn change (2026-03-08, 2026-11-01), each side of
 * midnight and of 02:00 local; UTC days; and, when this machine has the
 * tz database, every moment of a 2008..2099 sweep against it (the
 * system's America/Los_Angeles rules).
 * Never: depends on the tz database for the fixed cases.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "daycal.h"
#include "tharness.h"

#define H INT64_C(3600000)

static void
check(enum px_tz tz, int64_t t, int64_t start, int64_t next,
    const char *what)
{
	int64_t s = px_day_start(tz, t), n = px_day_next(tz, t);

	if (s != start || n != next)
		printf("#   %s: t %lld start %lld (want %lld) next %lld "
		    "(want %lld)\n", what, (long long)t, (long long)s,
		    (long long)start, (long long)n, (long long)next);
	T_CHECK(s == start && n == next, what);
}

static void
test_fixed(void)
{
	/* 2026-03-08 00:00 PST = 08:00Z; 03-09 00:00 PDT = 07:00Z */
	const int64_t mar8 = INT64_C(1772956800000), mar9 =
	    INT64_C(1773039600000);
	/* 2026-11-01 00:00 PDT = 07:00Z; 11-02 00:00 PST = 08:00Z */
	const int64_t nov1 = INT64_C(1793516400000), nov2 =
	    INT64_C(1793606400000);
	/* 2026-12-06 00:00 PST = 08:00Z; 12-07 = 08:00Z next day */
	const int64_t dec6 = INT64_C(1796544000000), dec7 =
	    INT64_C(1796630400000);

	check(PX_TZ_PACIFIC, dec6, dec6, dec7, "pacific: at midnight");
	check(PX_TZ_PACIFIC, dec6 - 1, dec6 - 24 * H, dec6,
	    "pacific: 1 ms before midnight");
	check(PX_TZ_PACIFIC, dec6 + 23 * H, dec6, dec7, "pacific: 23:00");
	check(PX_TZ_PACIFIC, mar8 + 2 * H - 1, mar8, mar9,
	    "spring: 01:59:59.999 PST");
	check(PX_TZ_PACIFIC, mar8 + 2 * H, mar8, mar9,
	    "spring: 03:00 PDT (02:00 skipped)");
	check(PX_TZ_PACIFIC, mar9 - 1, mar8, mar9,
	    "spring: the day has 23 hours");
	check(PX_TZ_PACIFIC, mar9, mar9, mar9 + 24 * H,
	    "spring: next midnight is 07:00Z");
	check(PX_TZ_PACIFIC, nov1 + 2 * H - 1, nov1, nov2,
	    "autumn: 01:59:59.999 PDT");
	check(PX_TZ_PACIFIC, nov1 + 2 * H, nov1, nov2,
	    "autumn: 01:00 PST again (the hour repeats)");
	check(PX_TZ_PACIFIC, nov2 - 1, nov1, nov2,
	    "autumn: the day has 25 hours");
	check(PX_TZ_PACIFIC, nov2, nov2, nov2 + 24 * H,
	    "autumn: next midnight is 08:00Z");
	check(PX_TZ_UTC, dec6, dec6 - 8 * H, dec6 + 16 * H, "utc: 08:00Z");
	check(PX_TZ_UTC, dec6 - 8 * H, dec6 - 8 * H, dec6 + 16 * H,
	    "utc: at midnight");
	check(PX_TZ_UTC, dec6 - 8 * H - 1, dec6 - 32 * H, dec6 - 8 * H,
	    "utc: 1 ms before midnight");
}

/* The system's rules, where it has them: local midnight of t and of the
 * next day via mktime. */
static int
tz_midnights(time_t s, int64_t *start, int64_t *next)
{
	struct tm tm;

	if (localtime_r(&s, &tm) == NULL)
		return -1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	*start = (int64_t)mktime(&tm) * 1000;
	tm.tm_mday++;
	tm.tm_isdst = -1;
	*next = (int64_t)mktime(&tm) * 1000;
	return 0;
}

static void
test_tzdata(void)
{
	int64_t t, start, next;
	long n = 0, bad = 0;

	if (access("/usr/share/zoneinfo/America/Los_Angeles", R_OK) != 0) {
		printf("# no tz database: sweep skipped\n");
		return;
	}
	setenv("TZ", "America/Los_Angeles", 1);
	tzset();
	/* 2008-01-01 .. 2099, a step that is no whole number of hours */
	for (t = INT64_C(1199145600000); t < INT64_C(4102444800000);
	    t += INT64_C(8641967) * 3, n++) {
		if (tz_midnights((time_t)(t / 1000), &start, &next) != 0 ||
		    px_day_start(PX_TZ_PACIFIC, t) != start ||
		    px_day_next(PX_TZ_PACIFIC, t) != next)
			bad++;
	}
	printf("# tz database sweep: %ld moments, %ld differ\n", n, bad);
	T_CHECK(n > 100000 && bad == 0, "pacific: the tz database agrees, "
	    "2008..2099");
}

int
main(void)
{
	test_fixed();
	test_tzdata();
	return t_done();
}
