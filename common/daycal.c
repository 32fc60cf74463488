/*
 * daycal.c -- calendar day boundaries in UTC and US Pacific time (daycal.h).
 * Civil dates from day numbers use the proleptic Gregorian algorithm of
 * days_from_civil (Howard Hinnant's public-domain derivation, restated).
 * Never: I/O, allocation, the C library's time zone functions.
 */
#include "daycal.h"

#define DAY_MS  INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of y-m-d (m 1..12). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The year of day number z. */
static int64_t
year_of(int64_t z)
{
	int64_t era, doe, yoe, y, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return mp < 10 ? y : y + 1;
}

/* Day number of the n-th Sunday (n >= 1) of month m of year y. */
static int64_t
nth_sunday(int64_t y, int m, int n)
{
	int64_t first = days_from_civil(y, m, 1);
	/* 1970-01-01 was a Thursday: weekday 0 = Sunday */
	int64_t wd = ((first % 7) + 7 + 4) % 7;

	return first + (7 - wd) % 7 + 7 * (n - 1);
}

/* Is Pacific daylight time in effect at UTC moment t? DST starts at
 * 02:00 PST (10:00 UTC) and ends at 02:00 PDT (09:00 UTC). */
static int
pacific_dst(int64_t t)
{
	int64_t y = year_of(floor_div(t - 8 * HOUR_MS, DAY_MS));
	int64_t on = nth_sunday(y, 3, 2) * DAY_MS + 10 * HOUR_MS;
	int64_t off = nth_sunday(y, 11, 1) * DAY_MS + 9 * HOUR_MS;

	return t >= on && t < off;
}

/* UTC offset of Pacific time at t, in ms (negative). */
static int64_t
pacific_offset(int64_t t)
{
	return pacific_dst(t) ? -7 * HOUR_MS : -8 * HOUR_MS;
}

int64_t
px_day_start(enum px_tz tz, int64_t t_ms)
{
	int64_t local_day, cand;

	if (tz == PX_TZ_UTC)
		return floor_div(t_ms, DAY_MS) * DAY_MS;
	local_day = floor_div(t_ms + pacific_offset(t_ms), DAY_MS) * DAY_MS;
	/* local midnight is before 02:00, so the offset in force then is
	 * the previous day's: try standard time, then daylight time */
	cand = local_day + 8 * HOUR_MS;
	if (pacific_offset(cand) == -8 * HOUR_MS && cand <= t_ms)
		return cand;
	return local_day + 7 * HOUR_MS;
}

int64_t
px_day_next(enum px_tz tz, int64_t t_ms)
{
	int64_t start = px_day_start(tz, t_ms);

	/* a Pacific day lasts 23, 24 or 25 hours: 26 h past its start is
	 * always inside the next one */
	return tz == PX_TZ_UTC ? start + DAY_MS :
	    px_day_start(tz, start + 26 * HOUR_MS);
}
