/*
 * keysel.c -- the key-selection rules of keysel.h: eligibility, usage gap,
 * round robin after a cursor.
 * Never: I/O, clocks, allocation or state of its own; the cursor and the
 * usage figures come from the caller (the ledger).
 * Load: one pick per request over pools of at most a few hundred keys;
 * two linear scans are fine.
 */
#include "keysel.h"

/* Slack for comparing percentages: m + gap is rounded, and a key exactly
 * gap points above the least-used one must stay a candidate. */
#define PCT_EPS 1e-9

double
px_keysel_usage_pct(uint64_t req_day, uint64_t max_req_day)
{
	if (max_req_day == 0)
		return 0.0;
	return (double)req_day * 100.0 / (double)max_req_day;
}

static double
key_pct(const struct px_keyview *k)
{
	return px_keysel_usage_pct(k->req_day, k->max_req_day);
}

/* Least usage percentage among eligible keys; 0 when there is none. */
static int
least_pct(const struct px_keyview *v, size_t n, double *out)
{
	size_t i;
	int found = 0;
	double p;

	for (i = 0; i < n; i++) {
		if (!v[i].eligible)
			continue;
		p = key_pct(&v[i]);
		if (!found || p < *out)
			*out = p;
		found = 1;
	}
	return found;
}

/*
 * A negative or NaN gap is treated as 0, so the least-used key is always
 * a candidate and an eligible key is always found. start + i stays below
 * 2n <= 2^32, which fits size_t.
 */
long
px_keysel_pick(const struct px_keyview *v, size_t n, double gap_pct,
    uint32_t cursor)
{
	double least = 0.0, bound;
	size_t start, i, j;

	if (n == 0 || !least_pct(v, n, &least))
		return -1;
	if (!(gap_pct > 0.0))
		gap_pct = 0.0;
	bound = least + gap_pct + PCT_EPS;
	start = cursor % n;
	for (i = 1; i <= n; i++) {
		j = (start + i) % n;
		if (v[j].eligible && key_pct(&v[j]) <= bound)
			return (long)j;
	}
	return -1;
}
