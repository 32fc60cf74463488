/*
 * test_ring.c -- the rolling-window rings of ring.h, on injected time only.
 * Covers: the two specs; which event ages still count at each alignment
 * (the safe side); gaps longer than the ring; a clock going backwards;
 * add/sub, sub of an expired or future bucket, saturation; sum_at ==
 * advance == a naive event-list model on random sequences; free_at against
 * brute force; and the property the ledger relies on: admitting with
 * "sum_at + 1 <= limit" never puts more than limit events in any closed
 * window [e, e + window], yet wastes under 1 % of capacity.
 * Never: sleeps or reads a clock; random runs use fixed seeds.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ring.h"
#include "tharness.h"

/* Aligned to both 100 ms and 60 s, near 2023-11-14. */
#define BASE INT64_C(1699999980000)
#define MAXNB PX_RING_DAY_NB

/* Small rings wrap often, so random runs reach every edge quickly. */
static const struct px_ring_spec s7 = { 10, 7, 60 };
static const struct px_ring_spec s4 = { 7, 4, 21 };

struct tring {
	struct px_ring r;
	uint32_t       b[MAXNB];
};

static struct tring tr;		/* the ring under test, reset per case */

static void
tr_reset(void)
{
	memset(&tr, 0, sizeof(tr));
}

static uint64_t
bsum(const struct px_ring_spec *s)
{
	uint64_t t = 0;
	uint32_t i;

	for (i = 0; i < s->nb; i++)
		t += tr.b[i];
	return t;
}

/* The spec's rule, restated: bucket floor(t / w), negative t in 0. */
static int64_t
bk(const struct px_ring_spec *s, int64_t t)
{
	return t < 0 ? 0 : t / (int64_t)s->width_ms;
}

static uint64_t rng = UINT64_C(0x2545f4914f6cdd1d);

static uint64_t
rnd(void)	/* splitmix64 */
{
	uint64_t z;

	rng += UINT64_C(0x9e3779b97f4a7c15);
	z = rng;
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int64_t
rnd_below(int64_t n)
{
	return n <= 0 ? 0 : (int64_t)(rnd() % (uint64_t)n);
}

/* --- specs ---------------------------------------------------------- */

static void
test_specs(void)
{
	const struct px_ring_spec *m = &px_ring_minute, *d = &px_ring_day;

	T_CHECK(m->width_ms == 100 && m->nb == 601 && m->window_ms == 60000,
	    "minute spec is 100 ms x 601 for 60 s");
	T_CHECK(d->width_ms == 60000 && d->nb == 1441 &&
	    d->window_ms == 86400000, "day spec is 60 s x 1441 for 24 h");
	T_CHECK(PX_RING_MINUTE_NB == m->nb && PX_RING_DAY_NB == d->nb,
	    "PX_RING_*_NB match the specs");
	T_CHECK(m->nb == m->window_ms / m->width_ms + 1 &&
	    d->nb == d->window_ms / d->width_ms + 1,
	    "nb is window / width + 1");
}

/* --- which ages count ------------------------------------------------- */

/*
 * An event at BASE + off, looked at age ms later. Aged at most the window
 * it always counts; aged window + width or more it never does; in between
 * it depends on where in its bucket it fell: an event at a bucket's start
 * counts up to window + width - 1, one at its last ms only up to window.
 */
static const struct {
	const struct px_ring_spec *s;
	int64_t off, age;
	int     counted;
} ages[] = {
	{ &px_ring_minute,  0, 0, 1 },
	{ &px_ring_minute,  0, 59999, 1 },
	{ &px_ring_minute,  0, 60000, 1 },
	{ &px_ring_minute,  0, 60099, 1 },
	{ &px_ring_minute,  0, 60100, 0 },
	{ &px_ring_minute, 50, 60000, 1 },
	{ &px_ring_minute, 50, 60049, 1 },
	{ &px_ring_minute, 50, 60050, 0 },
	{ &px_ring_minute, 99, 59999, 1 },
	{ &px_ring_minute, 99, 60000, 1 },
	{ &px_ring_minute, 99, 60001, 0 },
	{ &px_ring_minute, 99, 60099, 0 },
	{ &px_ring_minute, 99, 60100, 0 },
	{ &px_ring_day,     0, 86399999, 1 },
	{ &px_ring_day,     0, 86400000, 1 },
	{ &px_ring_day,     0, 86459999, 1 },
	{ &px_ring_day,     0, 86460000, 0 },
	{ &px_ring_day, 59999, 86400000, 1 },
	{ &px_ring_day, 59999, 86400001, 0 },
};

static void
test_ages(void)
{
	size_t i;
	int64_t e, now;
	char what[96];

	for (i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		tr_reset();
		e = BASE + ages[i].off;
		now = e + ages[i].age;
		px_ring_add(&tr.r, tr.b, ages[i].s, e, 1);
		snprintf(what, sizeof(what), "w=%" PRIu32 " off %" PRId64
		    " age %" PRId64 " counted=%d", ages[i].s->width_ms,
		    ages[i].off, ages[i].age, ages[i].counted);
		T_CHECK(px_ring_sum_at(&tr.r, tr.b, ages[i].s, now) ==
		    (uint64_t)ages[i].counted, what);
		px_ring_advance(&tr.r, tr.b, ages[i].s, now);
		T_CHECK(tr.r.sum == (uint64_t)ages[i].counted &&
		    bsum(ages[i].s) == tr.r.sum, what);
	}
}

/* Every alignment in the minute ring: counted at age 60000, gone at 60100,
 * and the slot frees exactly when its bucket leaves. */
static void
test_ages_every_offset(void)
{
	const struct px_ring_spec *s = &px_ring_minute;
	int64_t off, e;
	int bad = 0;

	for (off = 0; off < 100; off++) {
		tr_reset();
		e = BASE + off;
		px_ring_add(&tr.r, tr.b, s, e, 1);
		if (px_ring_sum_at(&tr.r, tr.b, s, e + 60000) != 1 ||
		    px_ring_sum_at(&tr.r, tr.b, s, e + 60100) != 0 ||
		    px_ring_sum_at(&tr.r, tr.b, s, BASE + 60099) != 1 ||
		    px_ring_sum_at(&tr.r, tr.b, s, BASE + 60100) != 0 ||
		    px_ring_free_at(&tr.r, tr.b, s, e, 1, 1) != BASE + 60100)
			bad++;
	}
	T_CHECK(bad == 0, "minute: every in-bucket offset counts to 60 s");
}

/* --- gaps, empty rings, a clock going backwards ------------------------ */

/* Bucket H - j holds j + 1, for every j in the ring. */
static void
fill_ramp(const struct px_ring_spec *s, int64_t h)
{
	int64_t j;

	tr_reset();
	for (j = (int64_t)s->nb - 1; j >= 0; j--)
		px_ring_add(&tr.r, tr.b, s, (h - j) * s->width_ms,
		    (uint32_t)j + 1);
}

static uint64_t
ramp_left(const struct px_ring_spec *s, int64_t g)
{
	uint64_t k;

	if (g >= (int64_t)s->nb)
		return 0;
	k = s->nb - (uint64_t)g;	/* buckets j = 0 .. nb - 1 - g stay */
	return k * (k + 1) / 2;
}

static void
gap_case(const struct px_ring_spec *s, int64_t g, int64_t in)
{
	int64_t h = BASE / s->width_ms;
	int64_t now = (h + g) * s->width_ms + in;
	uint64_t want = ramp_left(s, g);
	char what[96];

	fill_ramp(s, h);
	snprintf(what, sizeof(what), "nb %" PRIu32 ": gap of %" PRId64
	    " buckets (+%" PRId64 " ms)", s->nb, g, in);
	T_CHECK(tr.r.sum == ramp_left(s, 0) && tr.r.head == h, what);
	T_CHECK(px_ring_sum_at(&tr.r, tr.b, s, now) == want, what);
	px_ring_advance(&tr.r, tr.b, s, now);
	T_CHECK(tr.r.sum == want && bsum(s) == want && tr.r.head == h + g,
	    what);
	px_ring_add(&tr.r, tr.b, s, now, 1000);
	T_CHECK(tr.r.sum == want + 1000 && bsum(s) == tr.r.sum, what);
}

static void
test_gaps(void)
{
	static const struct px_ring_spec *const specs[] = {
		&s7, &s4, &px_ring_minute, &px_ring_day
	};
	int64_t nb, gs[9];
	size_t i, j;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		nb = specs[i]->nb;
		gs[0] = 0; gs[1] = 1; gs[2] = 2; gs[3] = nb - 2;
		gs[4] = nb - 1; gs[5] = nb; gs[6] = nb + 1;
		gs[7] = 3 * nb + 5; gs[8] = INT64_C(1000000000);
		for (j = 0; j < 9; j++) {
			gap_case(specs[i], gs[j], 0);
			gap_case(specs[i], gs[j],
			    specs[i]->width_ms - 1);
		}
	}
}

static void
test_empty(void)
{
	const struct px_ring_spec *s = &px_ring_minute;

	tr_reset();
	T_CHECK(px_ring_sum_at(&tr.r, tr.b, s, BASE) == 0 &&
	    px_ring_free_at(&tr.r, tr.b, s, BASE, 5, 5) == BASE,
	    "empty ring: zero and free at any now");
	px_ring_add(&tr.r, tr.b, s, BASE + 42, 3);
	T_CHECK(tr.r.sum == 3 && tr.r.head == (BASE + 42) / 100 &&
	    bsum(s) == 3, "empty ring: first add at a real time");
	tr_reset();
	px_ring_add(&tr.r, tr.b, s, -5000, 2);
	px_ring_add(&tr.r, tr.b, s, 99, 1);
	T_CHECK(tr.r.head == 0 && tr.r.sum == 3 && tr.b[0] == 3,
	    "negative time falls in bucket 0");
	T_CHECK(px_ring_sum_at(&tr.r, tr.b, s, INT64_C(-1)) == 3 &&
	    px_ring_sum_at(&tr.r, tr.b, s, 60099) == 3 &&
	    px_ring_sum_at(&tr.r, tr.b, s, 60100) == 0,
	    "bucket 0 leaves at 60100 like any other");
	px_ring_sub(&tr.r, tr.b, s, -5000, 1);
	T_CHECK(tr.r.sum == 2 && tr.b[0] == 2,
	    "sub at a negative time takes from bucket 0");
}

static void
test_backwards(void)
{
	const struct px_ring_spec *s = &px_ring_minute;
	int64_t h = (BASE + 5000) / 100;
	struct px_ring before;

	tr_reset();
	px_ring_add(&tr.r, tr.b, s, BASE + 5000, 1);
	before = tr.r;
	px_ring_advance(&tr.r, tr.b, s, BASE);
	px_ring_advance(&tr.r, tr.b, s, BASE - INT64_C(864000000));
	px_ring_advance(&tr.r, tr.b, s, BASE + 5099);
	T_CHECK(tr.r.head == before.head && tr.r.sum == 1 && bsum(s) == 1,
	    "backwards or same bucket: advance changes nothing");
	T_CHECK(px_ring_sum_at(&tr.r, tr.b, s, BASE) == 1,
	    "backwards: sum_at is the current sum");
	px_ring_add(&tr.r, tr.b, s, BASE, 1);
	T_CHECK(tr.r.head == h && tr.b[h % 601] == 2 && tr.r.sum == 2,
	    "backwards add lands in the head bucket");
	T_CHECK(px_ring_sum_at(&tr.r, tr.b, s, BASE + 60100) == 2 &&
	    px_ring_sum_at(&tr.r, tr.b, s, (h + 601) * 100 - 1) == 2 &&
	    px_ring_sum_at(&tr.r, tr.b, s, (h + 601) * 100) == 0,
	    "backwards add counts as long as the head bucket");
}

/* --- add, sub, saturation ------------------------------------------- */

static void
test_add_sub(void)
{
	const struct px_ring_spec *s = &px_ring_minute;
	int64_t k = BASE / 100;

	tr_reset();
	px_ring_add(&tr.r, tr.b, s, BASE, 7);
	px_ring_sub(&tr.r, tr.b, s, BASE + 99, 7);
	T_CHECK(tr.r.sum == 0 && bsum(s) == 0, "add then sub: empty");
	px_ring_add(&tr.r, tr.b, s, BASE, 3);
	px_ring_sub(&tr.r, tr.b, s, BASE, 10);
	T_CHECK(tr.r.sum == 0 && tr.b[k % 601] == 0, "sub stops at zero");
	px_ring_add(&tr.r, tr.b, s, BASE, 3);
	px_ring_add(&tr.r, tr.b, s, BASE + 1000, 4);
	px_ring_sub(&tr.r, tr.b, s, BASE + 50, 2);
	T_CHECK(tr.r.sum == 5 && tr.b[k % 601] == 1 &&
	    tr.b[(k + 10) % 601] == 4, "sub takes from its own bucket");
	tr_reset();
	px_ring_add(&tr.r, tr.b, s, BASE, 3);
	px_ring_add(&tr.r, tr.b, s, BASE + 60100, 5);	/* same slot */
	px_ring_sub(&tr.r, tr.b, s, BASE, 3);
	T_CHECK(tr.r.sum == 5 && tr.b[k % 601] == 5,
	    "sub of an expired bucket does nothing");
	tr_reset();
	px_ring_add(&tr.r, tr.b, s, BASE, 2);		/* oldest bucket */
	px_ring_add(&tr.r, tr.b, s, BASE + 60000, 1);	/* head k + 600 */
	px_ring_sub(&tr.r, tr.b, s, BASE + 60100, 2);	/* k + 601: slot k */
	T_CHECK(tr.r.sum == 3 && tr.b[k % 601] == 2,
	    "sub of a bucket after head does nothing");
	px_ring_sub(&tr.r, tr.b, s, BASE + 60, 2);
	T_CHECK(tr.r.sum == 1 && tr.b[k % 601] == 0,
	    "sub of the oldest bucket still held works");
}

static void
test_saturation(void)
{
	const struct px_ring_spec *s = &px_ring_minute;
	uint64_t m = UINT32_MAX;
	int64_t k = BASE / 100;

	tr_reset();
	px_ring_add(&tr.r, tr.b, s, BASE, UINT32_MAX - 1);
	px_ring_add(&tr.r, tr.b, s, BASE, 5);
	T_CHECK(tr.b[k % 601] == UINT32_MAX && tr.r.sum == m,
	    "add saturates the bucket, sum grows by what was added");
	px_ring_add(&tr.r, tr.b, s, BASE + 100, UINT32_MAX);
	T_CHECK(tr.r.sum == 2 * m && bsum(s) == 2 * m,
	    "the 64-bit sum holds several full buckets");
	px_ring_sub(&tr.r, tr.b, s, BASE, 1);
	T_CHECK(tr.r.sum == 2 * m - 1 && tr.b[k % 601] == UINT32_MAX - 1,
	    "sub from a saturated bucket");
	T_CHECK(px_ring_sum_at(&tr.r, tr.b, s, BASE + 60100) == m,
	    "a saturated bucket expires whole");
}

/* --- random sequences against a naive event list ----------------------- */

#define MODEL_MAX 6000

struct mev {
	int64_t  t;	/* true time of the add */
	int64_t  k;	/* bucket it went to: never behind the head */
	uint32_t v;
};

static struct {
	const struct px_ring_spec *s;
	int64_t    head;
	size_t     n;
	struct mev ev[MODEL_MAX];
} md;

/* What the ring should hold at q: every add in a bucket after
 * max(bucket(q), head) - nb. */
static uint64_t
md_count(int64_t q)
{
	int64_t nq = bk(md.s, q) > md.head ? bk(md.s, q) : md.head;
	uint64_t c = 0;
	size_t i;

	for (i = 0; i < md.n; i++)
		if (md.ev[i].k > nq - (int64_t)md.s->nb)
			c += md.ev[i].v;
	return c;
}

/* Adds whose true age at q is 0 .. window: the ring must count them. */
static uint64_t
md_true(int64_t q)
{
	uint64_t c = 0;
	size_t i;

	for (i = 0; i < md.n; i++)
		if (md.ev[i].t <= q && md.ev[i].t >= q - md.s->window_ms)
			c += md.ev[i].v;
	return c;
}

static void
md_add(int64_t t, uint32_t v)
{
	if (bk(md.s, t) > md.head)
		md.head = bk(md.s, t);
	if (md.n < MODEL_MAX)
		md.ev[md.n++] = (struct mev){ t, md.head, v };
}

static void
md_sub(int64_t at, uint32_t v)
{
	int64_t k = bk(md.s, at);
	uint32_t take;
	size_t i;

	if (k > md.head || k <= md.head - (int64_t)md.s->nb)
		return;
	for (i = 0; i < md.n && v > 0; i++) {
		if (md.ev[i].k != k)
			continue;
		take = md.ev[i].v < v ? md.ev[i].v : v;
		md.ev[i].v -= take;
		v -= take;
	}
}

/* Time steps: mostly small, some long, some backwards, a few huge. */
static int64_t
next_t(const struct px_ring_spec *s, int64_t t)
{
	int64_t w = s->width_ms, win = s->window_ms;
	int64_t r = rnd_below(100);

	if (r < 55)
		return t + rnd_below(2 * w + 1);
	if (r < 80)
		return t + rnd_below(win / 4 + 1);
	if (r < 90)
		return t + rnd_below(3 * win);
	if (r < 97)
		return t - rnd_below(win / 2 + 1);
	return t + (int64_t)s->nb * w * (1 + rnd_below(5));
}

/* One checked query at q: ring == model, and never below the truth. */
static int
query_ok(int64_t q)
{
	uint64_t got = px_ring_sum_at(&tr.r, tr.b, md.s, q);

	if (got != md_count(q))
		return 0;
	return bk(md.s, q) < md.head || got >= md_true(q);
}

static int
random_step(int64_t t)
{
	const struct px_ring_spec *s = md.s;
	int64_t r = rnd_below(10), at;
	uint32_t v = 1 + (uint32_t)rnd_below(9);
	uint64_t want;
	int ok = query_ok(t) && query_ok(t + rnd_below(2 * s->window_ms));

	if (r < 7) {
		px_ring_add(&tr.r, tr.b, s, t, v);
		md_add(t, v);
	} else if (r < 9) {
		at = t - rnd_below(s->window_ms + 2 * s->width_ms);
		px_ring_sub(&tr.r, tr.b, s, at, v);
		md_sub(at, v);
	} else {
		want = px_ring_sum_at(&tr.r, tr.b, s, t);
		px_ring_advance(&tr.r, tr.b, s, t);
		ok = ok && tr.r.sum == want;
		if (bk(s, t) > md.head)
			md.head = bk(s, t);
	}
	return ok && tr.r.head == md.head && tr.r.sum == bsum(s) &&
	    tr.r.sum == md_count(md.head * s->width_ms);
}

static void
random_run(const struct px_ring_spec *s, int steps, const char *what)
{
	int64_t t = BASE;
	int i, bad = 0;

	tr_reset();
	memset(&md, 0, sizeof(md));
	md.s = s;
	for (i = 0; i < steps && md.n < MODEL_MAX; i++) {
		t = next_t(s, t);
		if (!random_step(t) && bad++ == 0)
			printf("# %s: first mismatch at step %d, t %" PRId64
			    "\n", what, i, t);
	}
	T_CHECK(bad == 0 && i == steps, what);
}

static void
test_random(void)
{
	random_run(&s7, 5000, "random: 10 ms x 7 matches the model");
	random_run(&s4, 5000, "random: 7 ms x 4 matches the model");
	random_run(&px_ring_minute, 4000, "random: minute matches the model");
	random_run(&px_ring_day, 2000, "random: day matches the model");
}

/* --- free_at against brute force ------------------------------------ */

/* First t >= now that fits, stepping 1 ms (step 1) or bucket by bucket
 * (step 0: sum_at is constant within a bucket). -1: never within reach. */
static int64_t
brute_free(const struct px_ring_spec *s, int64_t now, uint64_t need,
    uint64_t limit, int step)
{
	int64_t t = now, end = (int64_t)s->nb + 2;

	/* Nothing can stay past nb buckets after the later of now and head. */
	end = (bk(s, now) > tr.r.head ? bk(s, now) : tr.r.head) + end;
	end *= s->width_ms;
	if (need > limit)
		return INT64_MAX;
	for (; t <= end; t = step ? t + 1 : (bk(s, t) + 1) * s->width_ms)
		if (px_ring_sum_at(&tr.r, tr.b, s, t) + need <= limit)
			return t;
	return -1;
}

/* Random adds and subs over the last window and a bit, up to a random
 * now that may lie before the head (a clock gone backwards). */
static int64_t
random_state(const struct px_ring_spec *s)
{
	int64_t span = s->window_ms + 2 * s->width_ms;
	int64_t t = BASE - span, n = rnd_below(60) + 1, i;

	tr_reset();
	for (i = 0; i < n; i++) {
		t += rnd_below(2 * span / n + 1);
		px_ring_add(&tr.r, tr.b, s, t, 1 + (uint32_t)rnd_below(4));
		if (rnd_below(5) == 0)
			px_ring_sub(&tr.r, tr.b, s, t - rnd_below(span), 1);
	}
	if (rnd_below(4) == 0)
		return t - rnd_below(span);
	return t + rnd_below(span);
}

static int
free_case(const struct px_ring_spec *s, int step)
{
	int64_t now = random_state(s), got, want;
	uint64_t sum = tr.r.sum;
	uint64_t limit = (uint64_t)rnd_below((int64_t)sum + 4);
	uint64_t need = (uint64_t)rnd_below((int64_t)limit + 2);

	got = px_ring_free_at(&tr.r, tr.b, s, now, need, limit);
	want = brute_free(s, now, need, limit, step);
	if (got != want)
		return 0;
	if (got == INT64_MAX || got == now)
		return 1;
	/* Exact: fits at got, not one ms before. */
	return px_ring_sum_at(&tr.r, tr.b, s, got) + need <= limit &&
	    px_ring_sum_at(&tr.r, tr.b, s, got - 1) + need > limit;
}

static void
free_run(const struct px_ring_spec *s, int cases, int step,
    const char *what)
{
	int i, bad = 0;

	for (i = 0; i < cases; i++)
		if (!free_case(s, step) && bad++ == 0)
			printf("# %s: first mismatch in case %d\n", what, i);
	T_CHECK(bad == 0, what);
}

static void
test_free_at(void)
{
	const struct px_ring_spec *s = &px_ring_minute;

	tr_reset();
	px_ring_add(&tr.r, tr.b, s, BASE, 3);
	px_ring_add(&tr.r, tr.b, s, BASE + 30000, 2);
	T_CHECK(px_ring_free_at(&tr.r, tr.b, s, BASE + 40000, 6, 5) ==
	    INT64_MAX, "free_at: need > limit never fits");
	T_CHECK(px_ring_free_at(&tr.r, tr.b, s, BASE + 40000, 5, 10) ==
	    BASE + 40000, "free_at: fits now");
	T_CHECK(px_ring_free_at(&tr.r, tr.b, s, BASE + 40000, 1, 5) ==
	    BASE + 60100, "free_at: when the oldest bucket leaves");
	T_CHECK(px_ring_free_at(&tr.r, tr.b, s, BASE + 40000, 4, 5) ==
	    BASE + 90100, "free_at: when enough buckets leave");
	T_CHECK(px_ring_free_at(&tr.r, tr.b, s, BASE, 5, 5) ==
	    BASE + 90100, "free_at: clock behind head");
	T_CHECK(px_ring_free_at(&tr.r, tr.b, s, BASE + 40000, 0, 0) ==
	    BASE + 90100, "free_at: limit 0 waits for an empty ring");
	free_run(&s7, 3000, 1, "free_at == 1 ms brute force, 10 ms x 7");
	free_run(&s4, 3000, 1, "free_at == 1 ms brute force, 7 ms x 4");
	free_run(s, 300, 0, "free_at == per-bucket brute force, minute");
	free_run(&px_ring_day, 40, 0, "free_at == per-bucket brute, day");
}

/* --- the property: no window ever over the limit ------------------------ */

#define ADMIT_MAX 200000

static int64_t admitted[ADMIT_MAX];

/* Admit at t the way the ledger does; record what got in. */
static size_t
try_admit(const struct px_ring_spec *s, int64_t t, uint64_t limit,
    size_t n)
{
	if (n >= ADMIT_MAX || px_ring_sum_at(&tr.r, tr.b, s, t) + 1 > limit)
		return n;
	px_ring_add(&tr.r, tr.b, s, t, 1);
	admitted[n] = t;
	return n + 1;
}

/* Most events in any closed window [e, e + window] starting at an
 * admitted event (times never decrease here). */
static uint64_t
busiest_window(const struct px_ring_spec *s, size_t n)
{
	size_t i, j = 0;
	uint64_t most = 0;

	for (i = 0; i < n; i++) {
		while (j < n && admitted[j] <= admitted[i] + s->window_ms)
			j++;
		if (j - i > most)
			most = j - i;
	}
	return most;
}

/* Bursts in the same ms, steady trickles, gaps across the window; about
 * three attempts per free slot, so the limit is hit again and again. */
static int64_t
stream_next(const struct px_ring_spec *s, int64_t t, uint64_t limit)
{
	int64_t win = s->window_ms, r = rnd_below(100);
	int64_t l = (int64_t)limit;

	if (r < 50)
		return t + rnd_below(3);
	if (r < 97 || rnd_below(l) >= 10)
		return t + rnd_below(win / (10 * l) + 1);
	if (r < 99)
		return t + win / 2 + rnd_below(win);
	return t + win + rnd_below(2 * win);
}

static void
property_run(const struct px_ring_spec *s, uint64_t limit, int attempts,
    const char *what)
{
	int64_t t = BASE + rnd_below(s->width_ms);
	size_t n = 0;
	int i;

	tr_reset();
	for (i = 0; i < attempts; i++) {
		t = stream_next(s, t, limit);
		n = try_admit(s, t, limit, n);
	}
	T_CHECK(busiest_window(s, n) <= limit, what);
	T_CHECK(busiest_window(s, n) == limit && n < (size_t)attempts / 2,
	    "property run saturates the limit");
}

/* Steady load well above the limit for `windows` windows: within the
 * limit, and admitting at least 99 % of limit per window. */
static void
waste_run(const struct px_ring_spec *s, uint64_t limit, int64_t every,
    int64_t windows, const char *what)
{
	int64_t t, end = BASE + windows * s->window_ms;
	uint64_t ideal = limit * (uint64_t)windows;
	size_t n = 0;

	tr_reset();
	for (t = BASE; t < end; t += 1 + rnd_below(2 * every))
		n = try_admit(s, t, limit, n);
	T_CHECK(busiest_window(s, n) <= limit && n <= ideal, what);
	T_CHECK(n * 100 >= ideal * 99, what);
}

static void
test_property(void)
{
	property_run(&px_ring_minute, 10, 20000, "minute: never > 10 per 60 s");
	property_run(&px_ring_minute, 100, 30000,
	    "minute: never > 100 per 60 s");
	property_run(&px_ring_day, 10, 20000, "day: never > 10 per 24 h");
	property_run(&px_ring_day, 100, 30000, "day: never > 100 per 24 h");
	property_run(&s7, 5, 20000, "10 ms x 7: never > 5 per 60 ms");
	waste_run(&px_ring_minute, 1000, 5, 100,
	    "minute steady load: limit kept, >= 99 % used");
	waste_run(&px_ring_day, 1000, 10000, 30,
	    "day steady load: limit kept, >= 99 % used");
}

int
main(void)
{
	test_specs();
	test_ages();
	test_ages_every_offset();
	test_gaps();
	test_empty();
	test_backwards();
	test_add_sub();
	test_saturation();
	test_random();
	test_free_at();
	test_property();
	return t_done();
}
