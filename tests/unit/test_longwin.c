/*
 * test_longwin.c -- windows with hundreds of entries, on LMDB and on
 * Redis (ledger_fx.h). The Redis script reads a window's header and
 * first entries only and fetches the rest by byte range when a step needs
 * them (expiry of a prefix, a settlement's subtraction from an old
 * bucket, free_at of a full window); these cases make every one of those
 * reach far past the first read, and expect the exact counts and times
 * win.h defines, the same on both backends.
 * Never: a clock (time injected).
 */
#include "ledger_fx.h"

#define T0   INT64_C(1800000000000)	/* a whole minute */
#define MIN  INT64_C(60000)

static const struct px_candidate or_only[] = {
	{ "or/model", PX_PROV_OPENROUTER },
};

static enum px_err
rsv(struct fx *f, int64_t now)
{
	return fx_reserve(f, or_only, 1, now);
}

static const struct px_snap_key *
snap(struct fx *f, int64_t now)
{
	const struct px_snapshot *sn;

	return px_ledger_snapshot(f->lg, f->s, now, &sn) == PX_OK &&
	    sn->nkeys == 1 ? &sn->keys[0] : NULL;
}

/* 300 distinct minutes in the day window; a prefix expires; an old
 * request is given back; the minute window with 300 entries too. */
static void
test_long_day(void)
{
	struct fx f;
	struct px_lease old;
	const struct px_snap_key *k;
	int i, ok = 1;

	if (fx_new(&f, PROVS(OR("'k1'", LIM(1000, 1000000, 1000)))) != 0)
		return fx_fail(&f, "fixture");
	memset(&old, 0, sizeof(old));
	for (i = 0; i < 300; i++) {
		ok &= rsv(&f, T0 + i * MIN) == PX_OK;
		if (i == 100)
			old = f.last;
	}
	T_CHECK(ok, "300 requests a minute apart");
	k = snap(&f, T0 + 299 * MIN);
	T_CHECK(k != NULL && k->req_day == 300, "all 300 in the day window");
	/* at T0 + 24 h 30 min the buckets T0 .. T0 + 29 min have left */
	k = snap(&f, T0 + 1470 * MIN);
	T_CHECK(k != NULL && k->req_day == 270, "a 30-entry prefix expired");
	T_CHECK(px_ledger_settle(f.lg, f.s, &old, PX_SETTLE_RELEASE_ALL, 0, 0,
	    T0 + 1470 * MIN) == PX_OK, "an old request given back");
	k = snap(&f, T0 + 1470 * MIN);
	T_CHECK(k != NULL && k->req_day == 269, "taken from its bucket, 170 "
	    "entries back from the newest");
	T_CHECK(rsv(&f, T0 + 1470 * MIN + 1) == PX_OK, "a new one appends");
	k = snap(&f, T0 + 1470 * MIN + 2);
	T_CHECK(k != NULL && k->req_day == 270 && k->day_hist[23] == 1,
	    "counted, in the last hour");
	fx_done(&f);
}

/* A full day window of 50 minutes: Retry-After is exactly when its
 * oldest bucket leaves; then it admits again. */
static void
test_full_day(void)
{
	struct fx f;
	int i, ok = 1;

	if (fx_new(&f, PROVS(OR("'k1'", LIM(50, 1000000, 1000)))) != 0)
		return fx_fail(&f, "fixture");
	for (i = 0; i < 50; i++)
		ok &= rsv(&f, T0 + i * 7 * MIN) == PX_OK;
	T_CHECK(ok, "50 requests 7 minutes apart");
	T_CHECK(rsv(&f, T0 + 400 * MIN) == PX_ERATE &&
	    f.retry == 1441 * MIN - 400 * MIN, "full: free when the oldest "
	    "bucket (T0) leaves, at T0 + 1441 min");
	T_CHECK(rsv(&f, T0 + 1441 * MIN - 1) == PX_ERATE && f.retry == 1,
	    "not a millisecond earlier");
	T_CHECK(rsv(&f, T0 + 1441 * MIN) == PX_OK, "then admitted");
	T_CHECK(rsv(&f, T0 + 1441 * MIN + 1) == PX_ERATE &&
	    f.retry == 7 * MIN - 1, "full again until the next oldest leaves");
	fx_done(&f);
}

/* The minute window with 300 entries (100 ms buckets). */
static void
test_long_minute(void)
{
	struct fx f;
	const struct px_snap_key *k;
	int i, ok = 1;

	if (fx_new(&f, PROVS(OR("'k1'", LIM(100000, 10000000, 300)))) != 0)
		return fx_fail(&f, "fixture");
	for (i = 0; i < 300; i++)
		ok &= rsv(&f, T0 + i * 150) == PX_OK;
	T_CHECK(ok, "300 requests 150 ms apart");
	T_CHECK(rsv(&f, T0 + 45000) == PX_ERATE && f.retry == 60100 - 45000,
	    "full: free when the first bucket leaves (T0 + 60.1 s)");
	k = snap(&f, T0 + 60100 + 30 * 150);
	T_CHECK(k != NULL && k->req_min == 300 - 31, "a prefix of the minute "
	    "window expired");
	fx_done(&f);
}

static void
suite(void)
{
	test_long_day();
	test_full_day();
	test_long_minute();
}

int
main(void)
{
	return fx_run(suite);
}
