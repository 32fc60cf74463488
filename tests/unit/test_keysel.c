/*
 * test_keysel.c -- the three key-selection rules of keysel.h.
 * Covers: the usage percentage; no eligible key; one eligible key; the gap
 * rule at its exact boundary (also where m + gap rounds below the key's
 * percentage) and with different max_request_day; gap 0 picks the least
 * used and rotates ties; round robin starts after the cursor, any cursor;
 * and the property: steady traffic keeps every key within gap + one
 * request's share of the others, and pulls an uneven pool together.
 * Never: depends on anything but the picks; random runs use fixed seeds.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "keysel.h"
#include "tharness.h"

#define MAXK 8
#define EPS  1e-9

/* --- usage percentage ---------------------------------------------- */

static const struct {
	uint64_t req, max;
	double   pct;
} pcts[] = {
	{ 0, 100, 0.0 },
	{ 50, 100, 50.0 },
	{ 1, 3, 100.0 / 3.0 },
	{ 150, 100, 150.0 },
	{ 7, 15, 700.0 / 15.0 },
	{ 1000000, 1000000, 100.0 },
	{ 5, 0, 0.0 },			/* max 0: 0, never a division */
	{ 0, 0, 0.0 },
};

static void
test_pct(void)
{
	size_t i;
	char what[80];
	double got;

	for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		got = px_keysel_usage_pct(pcts[i].req, pcts[i].max);
		snprintf(what, sizeof(what), "usage_pct(%" PRIu64 ", %" PRIu64
		    ")", pcts[i].req, pcts[i].max);
		T_CHECK(fabs(got - pcts[i].pct) < EPS, what);
	}
}

/* --- picks from a table of pools --------------------------------------- */

struct kv {
	int      el;
	uint64_t req, max;
};

static const struct {
	const char *name;
	size_t      n;
	struct kv   k[MAXK];
	double      gap;
	uint32_t    cursor;
	long        want;
} picks[] = {
	{ "no keys", 0, { { 0, 0, 0 } }, 5, 0, -1 },
	{ "none eligible", 3, { { 0, 0, 10 }, { 0, 1, 10 }, { 0, 2, 10 } },
	    5, 0, -1 },
	{ "one eligible, most used", 3,
	    { { 0, 0, 10 }, { 0, 1, 10 }, { 1, 9, 10 } }, 0, 1, 2 },
	{ "one eligible, cursor on it", 3,
	    { { 0, 0, 10 }, { 1, 5, 10 }, { 0, 2, 10 } }, 0, 1, 1 },
	{ "gap: exactly gap above is a candidate", 2,
	    { { 1, 10, 100 }, { 1, 15, 100 } }, 5, 0, 1 },
	{ "gap: just over gap is not", 2,
	    { { 1, 10, 100 }, { 1, 16, 100 } }, 5, 0, 0 },
	{ "gap: 66.67 is 46.67 + 20 despite rounding", 2,
	    { { 1, 7, 15 }, { 1, 10, 15 } }, 20, 0, 1 },
	{ "gap: 73.33 is over 46.67 + 20", 2,
	    { { 1, 7, 15 }, { 1, 11, 15 } }, 20, 0, 0 },
	{ "gap: different max, exactly gap above", 2,
	    { { 1, 50, 1000 }, { 1, 1, 10 } }, 5, 0, 1 },
	{ "gap: different max, over gap", 2,
	    { { 1, 50, 1000 }, { 1, 2, 10 } }, 5, 0, 0 },
	{ "pct, not count: 9 % beats 10 %", 2,
	    { { 1, 90, 1000 }, { 1, 1, 10 } }, 0, 0, 0 },
	{ "pct, not count: 40 % beats 50 %", 2,
	    { { 1, 5, 10 }, { 1, 400, 1000 } }, 0, 1, 1 },
	{ "least used among eligible only", 3,
	    { { 0, 0, 100 }, { 1, 30, 100 }, { 1, 34, 100 } }, 5, 1, 2 },
	{ "ineligible least used key skipped", 3,
	    { { 0, 0, 100 }, { 1, 30, 100 }, { 1, 34, 100 } }, 5, 0, 1 },
	{ "gap 0: least used wins", 3,
	    { { 1, 30, 100 }, { 1, 10, 100 }, { 1, 20, 100 } }, 0, 1, 1 },
	{ "gap 0: tie after cursor 0", 4, { { 1, 10, 100 }, { 1, 10, 100 },
	    { 1, 20, 100 }, { 1, 10, 100 } }, 0, 0, 1 },
	{ "gap 0: tie after cursor 1", 4, { { 1, 10, 100 }, { 1, 10, 100 },
	    { 1, 20, 100 }, { 1, 10, 100 } }, 0, 1, 3 },
	{ "gap 0: tie after cursor 3 wraps", 4, { { 1, 10, 100 },
	    { 1, 10, 100 }, { 1, 20, 100 }, { 1, 10, 100 } }, 0, 3, 0 },
	{ "gap 0: cursor on a loser", 4, { { 1, 10, 100 }, { 1, 10, 100 },
	    { 1, 20, 100 }, { 1, 10, 100 } }, 0, 2, 3 },
	{ "round robin: after 1", 5, { { 1, 10, 100 }, { 1, 12, 100 },
	    { 1, 50, 100 }, { 1, 14, 100 }, { 1, 11, 100 } }, 5, 1, 3 },
	{ "round robin: after 3", 5, { { 1, 10, 100 }, { 1, 12, 100 },
	    { 1, 50, 100 }, { 1, 14, 100 }, { 1, 11, 100 } }, 5, 3, 4 },
	{ "round robin: after 4 wraps", 5, { { 1, 10, 100 }, { 1, 12, 100 },
	    { 1, 50, 100 }, { 1, 14, 100 }, { 1, 11, 100 } }, 5, 4, 0 },
	{ "round robin: after 0", 5, { { 1, 10, 100 }, { 1, 12, 100 },
	    { 1, 50, 100 }, { 1, 14, 100 }, { 1, 11, 100 } }, 5, 0, 1 },
	{ "cursor >= n: 5 is 1", 4, { { 1, 0, 9 }, { 1, 0, 9 }, { 1, 0, 9 },
	    { 1, 0, 9 } }, 0, 5, 2 },
	{ "cursor >= n: UINT32_MAX mod 4 is 3", 4, { { 1, 0, 9 },
	    { 1, 0, 9 }, { 1, 0, 9 }, { 1, 0, 9 } }, 0, UINT32_MAX, 0 },
	{ "cursor >= n: UINT32_MAX mod 3 is 0", 3, { { 1, 0, 9 },
	    { 1, 0, 9 }, { 1, 0, 9 } }, 0, UINT32_MAX, 1 },
	{ "cursor >= n: one key", 1, { { 1, 3, 9 } }, 0, 77, 0 },
	{ "negative gap acts as 0", 3,
	    { { 1, 10, 100 }, { 1, 10, 100 }, { 1, 11, 100 } }, -5, 0, 1 },
	{ "max 0 counts as 0 %", 3,
	    { { 1, 10, 100 }, { 1, 7, 0 }, { 1, 11, 100 } }, 0, 2, 1 },
};

static long
pick_vec(size_t i, double gap)
{
	struct px_keyview v[MAXK];
	size_t j;

	memset(v, 0, sizeof(v));
	for (j = 0; j < picks[i].n; j++) {
		v[j].eligible = picks[i].k[j].el;
		v[j].req_day = picks[i].k[j].req;
		v[j].max_req_day = picks[i].k[j].max;
	}
	return px_keysel_pick(picks[i].n ? v : NULL, picks[i].n, gap,
	    picks[i].cursor);
}

static void
test_picks(void)
{
	size_t i;

	for (i = 0; i < sizeof(picks) / sizeof(picks[0]); i++)
		T_CHECK(pick_vec(i, picks[i].gap) == picks[i].want,
		    picks[i].name);
	/* A NaN gap (a broken config) must not leave the pool with no
	 * candidate: it acts as 0, like the "negative gap" vector. */
	T_CHECK(pick_vec(sizeof(picks) / sizeof(picks[0]) - 2, NAN) == 1,
	    "NaN gap acts as 0");
}

/* With every key tied, successive picks visit keys in index order. */
static void
test_rotation(void)
{
	struct px_keyview v[5];
	uint32_t cur = 2;
	long got;
	int i, bad = 0;

	for (i = 0; i < 5; i++)
		v[i] = (struct px_keyview){ 1, 4, 10 };
	v[3].eligible = 0;
	for (i = 0; i < 12; i++) {
		got = px_keysel_pick(v, 5, 0, cur);
		if (got != (long)((cur + 1 == 3 ? 4 : cur + 1) % 5))
			bad++;
		cur = (uint32_t)got;
	}
	T_CHECK(bad == 0, "ties rotate in index order, skipping ineligible");
}

/* --- property: steady traffic stays within gap + one share ------------- */

static uint64_t rng = UINT64_C(0x853c49e6748fea9b);

static uint64_t
rnd_below(uint64_t n)	/* xorshift64; n > 0 */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

static double
spread(const struct px_keyview *v, size_t n, double *hi)
{
	double lo = 1e300, p;
	size_t i;

	*hi = -1e300;
	for (i = 0; i < n; i++) {
		p = px_keysel_usage_pct(v[i].req_day, v[i].max_req_day);
		lo = p < lo ? p : lo;
		*hi = p > *hi ? p : *hi;
	}
	return *hi - lo;
}

/* One request's share: what one pick adds to the smallest-limit key. */
static double
share(const struct px_keyview *v, size_t n)
{
	uint64_t m = v[0].max_req_day;
	size_t i;

	for (i = 1; i < n; i++)
		m = v[i].max_req_day < m ? v[i].max_req_day : m;
	return 100.0 / (double)m;
}

/* Equal start: every step within bound. Uneven start: the busiest key
 * gets nothing until the pool is within bound, then it stays within. */
static int
traffic(struct px_keyview *v, size_t n, double gap, uint64_t steps)
{
	double bound = gap + share(v, n) + EPS, hi, hi0;
	int within = spread(v, n, &hi0) <= bound;
	uint32_t cur = (uint32_t)rnd_below(n);
	uint64_t s;
	long k;

	for (s = 0; s < steps; s++) {
		k = px_keysel_pick(v, n, gap, cur);
		if (k < 0)
			return 0;
		v[k].req_day++;
		cur = (uint32_t)k;
		if (spread(v, n, &hi) <= bound)
			within = 1;
		else if (within || hi > hi0)
			return 0;
	}
	return within;
}

static void
property_run(size_t n, double gap, uint64_t max, int uneven, int mixed)
{
	struct px_keyview v[MAXK];
	uint64_t steps = 0;
	size_t i;
	char what[96];

	for (i = 0; i < n; i++) {
		v[i] = (struct px_keyview){ 1, 0, max };
		if (mixed)
			v[i].max_req_day = max + rnd_below(4 * max);
		if (uneven)
			v[i].req_day = rnd_below(v[i].max_req_day / 2);
		steps += v[i].max_req_day - v[i].req_day;
	}
	snprintf(what, sizeof(what), "traffic: %zu keys, gap %g, max %"
	    PRIu64 "%s%s", n, gap, max, uneven ? ", uneven" : "",
	    mixed ? ", mixed limits" : "");
	T_CHECK(traffic(v, n, gap, steps), what);
}

static void
test_property(void)
{
	static const double gaps[] = { 0, 5, 20 };
	static const size_t ns[] = { 2, 3, 5, 8 };
	size_t g, i;

	for (g = 0; g < 3; g++) {
		for (i = 0; i < 4; i++) {
			property_run(ns[i], gaps[g], 1000, 0, 0);
			property_run(ns[i], gaps[g], 37, 0, 0);
			property_run(ns[i], gaps[g], 1000, 1, 0);
			property_run(ns[i], gaps[g], 500, 0, 1);
			property_run(ns[i], gaps[g], 500, 1, 1);
		}
	}
}

int
main(void)
{
	test_pct();
	test_picks();
	test_rotation();
	test_property();
	return t_done();
}
