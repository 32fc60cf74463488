/*
 * test_win.c -- the sparse rolling windows of win.h, on injected time only.
 * Covers: the two specs; which event ages still count at each alignment
 * (the safe side); gaps longer than the window; a clock going backwards;
 * add/sub in either column, sub of an expired or future bucket,
 * saturation; sum_at == advance == a naive event-list model on random
 * sequences; free_at against brute force; the property the ledger relies
 * on: admitting with "sum_at + 1 <= limit" never puts more than limit
 * events in any closed window [e, e + window], yet wastes under 1 % of
 * capacity; the dense rings win.h replaced (ring_ref.h, a test oracle)
 * driven with the same random operations and compared on every step;
 * encode/decode round trips; the stored bytes, byte by byte; every decode
 * rejection; encode into too small a buffer.
 * Never: sleeps or reads a clock; random runs use fixed seeds and bounded
 * loops; windows live in static storage (a struct px_win is ~23 KiB).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ring_ref.h"
#include "tharness.h"
#include "win.h"

/* Aligned to both 100 ms and 60 s, near 2023-11-14. */
#define BASE  INT64_C(1699999980000)
#define NCOL  PX_WIN_MAXCOL
#define BUFSZ 16384

/* The documented sizes of the stored form (win.h), restated. */
#define HEADB(s) (12u + 8u * (s)->ncol)
#define ENTB(s)  (2u + 4u * (s)->ncol)

/* Small windows wrap often, so random runs reach every edge quickly. */
static const struct px_win_spec s7 = { 10, 7, 60, 1, 's' };
static const struct px_win_spec s4 = { 7, 4, 21, 2, 't' };
static const struct px_win_spec s1 = { 10, 1, 0, 2, 'u' };  /* window 0 */
static const struct px_win_spec s3 = { 1, 3, 2, 1, 'v' };   /* 1 ms wide */

static struct px_win tw;	/* the window under test, reset per case */
static struct px_win tw2;	/* a decoded copy */
static unsigned char buf[BUFSZ], buf2[BUFSZ];

static void
tw_reset(void)
{
	memset(&tw, 0, sizeof(tw));
}

/* Column col of tw's entry for bucket k; 0 without one. */
static uint32_t
wv(int64_t k, unsigned col)
{
	uint32_t i;

	for (i = 0; i < tw.n; i++)
		if (tw.b[i] == k)
			return tw.v[i][col];
	return 0;
}

/* Column col summed over the entries of w. */
static uint64_t
esum(const struct px_win *w, unsigned col)
{
	uint64_t t = 0;
	uint32_t i;

	for (i = 0; i < w->n; i++)
		t += w->v[i][col];
	return t;
}

/* What win.h keeps between calls: buckets increasing, all within
 * (head - nb, head], and the totals the sums of the entries. */
static int
shape_ok(const struct px_win *w, const struct px_win_spec *s)
{
	uint32_t i;
	unsigned c;

	if (w->n > s->nb)
		return 0;
	for (i = 0; i < w->n; i++)
		if (w->b[i] > w->head || w->b[i] <= w->head - (int64_t)s->nb ||
		    (i > 0 && w->b[i] <= w->b[i - 1]))
			return 0;
	for (c = 0; c < s->ncol; c++)
		if (w->sum[c] != esum(w, c))
			return 0;
	return 1;
}

/* Same head, entries and totals in the columns of s. */
static int
same_win(const struct px_win *a, const struct px_win *b,
    const struct px_win_spec *s)
{
	uint32_t i;
	unsigned c;

	if (a->head != b->head || a->n != b->n)
		return 0;
	for (c = 0; c < s->ncol; c++)
		if (a->sum[c] != b->sum[c])
			return 0;
	for (i = 0; i < a->n; i++) {
		if (a->b[i] != b->b[i])
			return 0;
		for (c = 0; c < s->ncol; c++)
			if (a->v[i][c] != b->v[i][c])
				return 0;
	}
	return 1;
}

static void
add2(const struct px_win_spec *s, int64_t t, uint32_t v0, uint32_t v1)
{
	const uint32_t v[NCOL] = { v0, v1 };

	px_win_add(&tw, s, t, v);
}

/* v into column 0, nothing into column 1. */
static void
add1(const struct px_win_spec *s, int64_t t, uint32_t v)
{
	add2(s, t, v, 0);
}

static uint64_t
sum0(const struct px_win_spec *s, int64_t t)
{
	return px_win_sum_at(&tw, s, t, PX_WIN_REQ);
}

static int64_t
free0(const struct px_win_spec *s, int64_t t, uint64_t need, uint64_t limit)
{
	return px_win_free_at(&tw, s, t, PX_WIN_REQ, need, limit);
}

/* The spec's rule, restated: bucket floor(t / w), negative t in 0. */
static int64_t
bk(const struct px_win_spec *s, int64_t t)
{
	return t < 0 ? 0 : t / (int64_t)s->width_ms;
}

static uint64_t rng;

static void
seed(uint64_t sd)
{
	rng = sd;
}

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

static uint64_t
rnd_u(uint64_t n)
{
	return n == 0 ? 0 : rnd() % n;
}

/* Mostly small, sometimes 0, sometimes near UINT32_MAX (saturation). */
static uint32_t
rnd_val(void)
{
	int64_t r = rnd_below(20);

	if (r == 0)
		return 0;
	if (r == 1)
		return UINT32_MAX - (uint32_t)rnd_below(3);
	return 1 + (uint32_t)rnd_below(1000);
}

/* Time steps: mostly small, some long, some backwards, a few huge. */
static int64_t
next_t(const struct px_win_spec *s, int64_t t)
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

/* --- specs ---------------------------------------------------------- */

static void
test_specs(void)
{
	const struct px_win_spec *m = &px_win_minute, *d = &px_win_day;

	T_CHECK(m->width_ms == 100 && m->nb == 601 && m->window_ms == 60000 &&
	    m->ncol == 2 && m->kind == 'm',
	    "minute spec is 100 ms x 601 for 60 s, 2 columns, kind 'm'");
	T_CHECK(d->width_ms == 60000 && d->nb == 1441 &&
	    d->window_ms == 86400000 && d->ncol == 1 && d->kind == 'd',
	    "day spec is 60 s x 1441 for 24 h, 1 column, kind 'd'");
	T_CHECK(m->nb == m->window_ms / m->width_ms + 1 &&
	    d->nb == d->window_ms / d->width_ms + 1,
	    "nb is window / width + 1");
	T_CHECK(PX_WIN_MAXNB == d->nb && m->nb <= PX_WIN_MAXNB &&
	    PX_WIN_MAXCOL == m->ncol && PX_WIN_REQ == 0 && PX_WIN_TOK == 1,
	    "PX_WIN_MAXNB/MAXCOL fit both specs; REQ 0, TOK 1");
	T_CHECK(ref_ring_minute.width_ms == m->width_ms &&
	    ref_ring_minute.nb == m->nb &&
	    ref_ring_minute.window_ms == m->window_ms &&
	    ref_ring_day.width_ms == d->width_ms && ref_ring_day.nb == d->nb &&
	    ref_ring_day.window_ms == d->window_ms,
	    "the specs are those of the rings they replaced");
	T_CHECK(px_win_maxbytes(m) == 28 + 601 * 10 &&
	    px_win_maxbytes(d) == 20 + 1441 * 6 &&
	    px_win_maxbytes(&s4) == 28 + 4 * 10 &&
	    px_win_maxbytes(&s7) == 20 + 7 * 6,
	    "maxbytes: header + nb entries of the documented sizes");
}

/* --- which ages count ------------------------------------------------- */

/*
 * An event at BASE + off, looked at age ms later. Aged at most the window
 * it always counts; aged window + width or more it never does; in between
 * it depends on where in its bucket it fell: an event at a bucket's start
 * counts up to window + width - 1, one at its last ms only up to window.
 */
static const struct {
	const struct px_win_spec *s;
	int64_t off, age;
	int     counted;
} ages[] = {
	{ &px_win_minute,  0, 0, 1 },
	{ &px_win_minute,  0, 59999, 1 },
	{ &px_win_minute,  0, 60000, 1 },
	{ &px_win_minute,  0, 60099, 1 },
	{ &px_win_minute,  0, 60100, 0 },
	{ &px_win_minute, 50, 60000, 1 },
	{ &px_win_minute, 50, 60049, 1 },
	{ &px_win_minute, 50, 60050, 0 },
	{ &px_win_minute, 99, 59999, 1 },
	{ &px_win_minute, 99, 60000, 1 },
	{ &px_win_minute, 99, 60001, 0 },
	{ &px_win_minute, 99, 60099, 0 },
	{ &px_win_minute, 99, 60100, 0 },
	{ &px_win_day,     0, 86399999, 1 },
	{ &px_win_day,     0, 86400000, 1 },
	{ &px_win_day,     0, 86459999, 1 },
	{ &px_win_day,     0, 86460000, 0 },
	{ &px_win_day, 59999, 86400000, 1 },
	{ &px_win_day, 59999, 86400001, 0 },
};

/* Column 1 (tokens) of an event of 1 request carries 1000 here. */
static int
counted_as(const struct px_win_spec *s, int64_t now, int counted)
{
	uint64_t c = (uint64_t)counted;

	if (sum0(s, now) != c)
		return 0;
	return s->ncol < 2 ||
	    px_win_sum_at(&tw, s, now, PX_WIN_TOK) == 1000 * c;
}

static void
test_ages(void)
{
	const struct px_win_spec *s;
	size_t i;
	int64_t e, now;
	char what[96];

	for (i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		s = ages[i].s;
		tw_reset();
		e = BASE + ages[i].off;
		now = e + ages[i].age;
		add2(s, e, 1, 1000);
		snprintf(what, sizeof(what), "w=%" PRIu32 " off %" PRId64
		    " age %" PRId64 " counted=%d", s->width_ms,
		    ages[i].off, ages[i].age, ages[i].counted);
		T_CHECK(counted_as(s, now, ages[i].counted), what);
		px_win_advance(&tw, s, now);
		T_CHECK(tw.sum[0] == (uint64_t)ages[i].counted &&
		    tw.n == (uint32_t)ages[i].counted && shape_ok(&tw, s) &&
		    counted_as(s, now, ages[i].counted), what);
	}
}

/* Every alignment in the minute window: counted at age 60000, gone at
 * 60100, and the slot frees exactly when its bucket leaves. */
static void
test_ages_every_offset(void)
{
	const struct px_win_spec *s = &px_win_minute;
	int64_t off, e;
	int bad = 0;

	for (off = 0; off < 100; off++) {
		tw_reset();
		e = BASE + off;
		add1(s, e, 1);
		if (sum0(s, e + 60000) != 1 || sum0(s, e + 60100) != 0 ||
		    sum0(s, BASE + 60099) != 1 || sum0(s, BASE + 60100) != 0 ||
		    free0(s, e, 1, 1) != BASE + 60100)
			bad++;
	}
	T_CHECK(bad == 0, "minute: every in-bucket offset counts to 60 s");
}

/* --- gaps, empty windows, a clock going backwards ---------------------- */

/* Bucket h - j holds j + 1 (and 2j + 1 tokens), for every j in the
 * window: nb entries, a full window. */
static void
fill_ramp(const struct px_win_spec *s, int64_t h)
{
	int64_t j;

	tw_reset();
	for (j = (int64_t)s->nb - 1; j >= 0; j--)
		add2(s, (h - j) * s->width_ms, (uint32_t)j + 1,
		    2 * (uint32_t)j + 1);
}

static uint64_t
ramp_left(const struct px_win_spec *s, int64_t g)
{
	uint64_t k;

	if (g >= (int64_t)s->nb)
		return 0;
	k = s->nb - (uint64_t)g;	/* buckets j = 0 .. nb - 1 - g stay */
	return k * (k + 1) / 2;
}

static uint32_t
ramp_n(const struct px_win_spec *s, int64_t g)
{
	return g >= (int64_t)s->nb ? 0 : s->nb - (uint32_t)g;
}

static void
gap_case(const struct px_win_spec *s, int64_t g, int64_t in)
{
	int64_t h = BASE / s->width_ms;
	int64_t now = (h + g) * s->width_ms + in;
	uint64_t want = ramp_left(s, g);
	char what[96];

	fill_ramp(s, h);
	snprintf(what, sizeof(what), "nb %" PRIu32 ": gap of %" PRId64
	    " buckets (+%" PRId64 " ms)", s->nb, g, in);
	T_CHECK(tw.sum[0] == ramp_left(s, 0) && tw.head == h &&
	    tw.n == s->nb && shape_ok(&tw, s), what);
	T_CHECK(sum0(s, now) == want, what);
	px_win_advance(&tw, s, now);
	T_CHECK(tw.sum[0] == want && tw.n == ramp_n(s, g) &&
	    tw.head == h + g && shape_ok(&tw, s), what);
	add1(s, now, 1000);
	T_CHECK(tw.sum[0] == want + 1000 && shape_ok(&tw, s) &&
	    wv(h + g, 0) == 1000 + (g == 0 ? 1 : 0), what);
}

static void
test_gaps(void)
{
	static const struct px_win_spec *const specs[] = {
		&s7, &s4, &s1, &px_win_minute, &px_win_day
	};
	int64_t nb, gs[9];
	size_t i, j;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		nb = specs[i]->nb;
		gs[0] = 0; gs[1] = 1; gs[2] = 2; gs[3] = nb - 2;
		gs[4] = nb - 1; gs[5] = nb; gs[6] = nb + 1;
		gs[7] = 3 * nb + 5; gs[8] = INT64_C(1000000000);
		for (j = 0; j < 9; j++) {
			if (gs[j] < 0)
				continue;
			gap_case(specs[i], gs[j], 0);
			gap_case(specs[i], gs[j], specs[i]->width_ms - 1);
		}
	}
}

static void
test_empty(void)
{
	const struct px_win_spec *s = &px_win_minute;

	tw_reset();
	T_CHECK(sum0(s, BASE) == 0 && free0(s, BASE, 5, 5) == BASE &&
	    px_win_sum_at(&tw, s, BASE, PX_WIN_TOK) == 0,
	    "empty window: zero and free at any now");
	add1(s, BASE + 42, 3);
	T_CHECK(tw.sum[0] == 3 && tw.head == (BASE + 42) / 100 &&
	    tw.n == 1 && tw.b[0] == tw.head && shape_ok(&tw, s),
	    "empty window: first add at a real time");
	tw_reset();
	add1(s, -5000, 2);
	add1(s, 99, 1);
	T_CHECK(tw.head == 0 && tw.sum[0] == 3 && tw.n == 1 && wv(0, 0) == 3,
	    "negative time falls in bucket 0");
	T_CHECK(sum0(s, INT64_C(-1)) == 3 && sum0(s, 60099) == 3 &&
	    sum0(s, 60100) == 0, "bucket 0 leaves at 60100 like any other");
	px_win_sub(&tw, s, -5000, PX_WIN_REQ, 1);
	T_CHECK(tw.sum[0] == 2 && wv(0, 0) == 2,
	    "sub at a negative time takes from bucket 0");
	px_win_clear(&tw);
	T_CHECK(tw.head == 0 && tw.n == 0 && tw.sum[0] == 0 &&
	    tw.sum[1] == 0 && sum0(s, 0) == 0, "px_win_clear empties");
}

static void
test_backwards(void)
{
	const struct px_win_spec *s = &px_win_minute;
	int64_t h = (BASE + 5000) / 100;

	tw_reset();
	add1(s, BASE + 5000, 1);
	px_win_advance(&tw, s, BASE);
	px_win_advance(&tw, s, BASE - INT64_C(864000000));
	px_win_advance(&tw, s, BASE + 5099);
	T_CHECK(tw.head == h && tw.sum[0] == 1 && tw.n == 1 &&
	    shape_ok(&tw, s),
	    "backwards or same bucket: advance changes nothing");
	T_CHECK(sum0(s, BASE) == 1, "backwards: sum_at is the current sum");
	add1(s, BASE, 1);
	T_CHECK(tw.head == h && tw.n == 1 && wv(h, 0) == 2 && tw.sum[0] == 2,
	    "backwards add lands in the head bucket");
	T_CHECK(sum0(s, BASE + 60100) == 2 &&
	    sum0(s, (h + 601) * 100 - 1) == 2 &&
	    sum0(s, (h + 601) * 100) == 0,
	    "backwards add counts as long as the head bucket");
	px_win_sub(&tw, s, BASE, PX_WIN_REQ, 1);
	T_CHECK(tw.sum[0] == 2 && tw.n == 1,
	    "sub at a backwards add's own time finds no entry (safe side)");
}

/* --- add, sub, columns, saturation ----------------------------------- */

static void
test_add_sub(void)
{
	const struct px_win_spec *s = &px_win_minute;
	int64_t k = BASE / 100;

	tw_reset();
	add1(s, BASE, 7);
	px_win_sub(&tw, s, BASE + 99, PX_WIN_REQ, 7);
	T_CHECK(tw.sum[0] == 0 && tw.n == 0, "add then sub: empty");
	add1(s, BASE, 3);
	px_win_sub(&tw, s, BASE, PX_WIN_REQ, 10);
	T_CHECK(tw.sum[0] == 0 && wv(k, 0) == 0 && tw.n == 0,
	    "sub stops at zero");
	add1(s, BASE, 3);
	add1(s, BASE + 1000, 4);
	px_win_sub(&tw, s, BASE + 50, PX_WIN_REQ, 2);
	T_CHECK(tw.sum[0] == 5 && wv(k, 0) == 1 && wv(k + 10, 0) == 4 &&
	    tw.n == 2, "sub takes from its own bucket");
	px_win_sub(&tw, s, BASE + 500, PX_WIN_REQ, 1);
	T_CHECK(tw.sum[0] == 5 && tw.n == 2,
	    "sub of a bucket without an entry does nothing");
	tw_reset();
	add1(s, BASE, 3);
	add1(s, BASE + 60100, 5);	/* the same slot, one window later */
	px_win_sub(&tw, s, BASE, PX_WIN_REQ, 3);
	T_CHECK(tw.sum[0] == 5 && tw.n == 1 && wv(k + 601, 0) == 5,
	    "sub of an expired bucket does nothing");
	tw_reset();
	add1(s, BASE, 2);		/* oldest bucket */
	add1(s, BASE + 60000, 1);	/* head k + 600 */
	px_win_sub(&tw, s, BASE + 60100, PX_WIN_REQ, 2);	/* k + 601 */
	T_CHECK(tw.sum[0] == 3 && wv(k, 0) == 2 && tw.n == 2,
	    "sub of a bucket after head does nothing");
	px_win_sub(&tw, s, BASE + 60, PX_WIN_REQ, 2);
	T_CHECK(tw.sum[0] == 1 && wv(k, 0) == 0 && tw.n == 1 &&
	    tw.b[0] == k + 600, "sub of the oldest bucket still held works");
}

static void
test_columns(void)
{
	const struct px_win_spec *s = &px_win_minute;
	int64_t k = BASE / 100;

	tw_reset();
	add2(s, BASE, 2, 500);
	add2(s, BASE + 100, 1, 0);
	T_CHECK(tw.sum[0] == 3 && tw.sum[1] == 500 && tw.n == 2 &&
	    wv(k, 1) == 500 && wv(k + 1, 1) == 0,
	    "columns: requests and tokens add side by side");
	px_win_sub(&tw, s, BASE, PX_WIN_TOK, 200);
	T_CHECK(tw.sum[1] == 300 && tw.sum[0] == 3 && wv(k, 0) == 2 &&
	    wv(k, 1) == 300, "columns: sub of tokens leaves requests");
	px_win_sub(&tw, s, BASE, PX_WIN_REQ, 2);
	T_CHECK(tw.n == 2 && wv(k, 0) == 0 && wv(k, 1) == 300 &&
	    tw.sum[0] == 1, "columns: an entry with tokens left stays");
	px_win_sub(&tw, s, BASE, PX_WIN_TOK, 300);
	T_CHECK(tw.n == 1 && tw.b[0] == k + 1 && tw.sum[1] == 0 &&
	    tw.sum[0] == 1, "columns: an entry empty in every column goes");
	px_win_sub(&tw, s, BASE + 100, PX_WIN_REQ, 5);
	T_CHECK(tw.n == 0 && tw.sum[0] == 0 && tw.sum[1] == 0,
	    "columns: the last entry goes too");
	tw_reset();
	add2(s, BASE, 1, 900);
	add2(s, BASE + 30000, 1, 100);
	T_CHECK(px_win_free_at(&tw, s, BASE + 40000, PX_WIN_TOK, 500, 1000) ==
	    BASE + 60100, "columns: free_at on tokens, big bucket leaves");
	T_CHECK(px_win_free_at(&tw, s, BASE + 40000, PX_WIN_TOK, 50, 1050) ==
	    BASE + 40000 && px_win_free_at(&tw, s, BASE + 40000, PX_WIN_TOK,
	    51, 1050) == BASE + 60100, "columns: free_at on tokens, at the edge");
	T_CHECK(px_win_free_at(&tw, s, BASE + 40000, PX_WIN_TOK, 1000,
	    1000) == BASE + 90100, "columns: free_at on tokens, all leave");
	T_CHECK(free0(s, BASE + 40000, 1, 2) == BASE + 60100 &&
	    free0(s, BASE + 40000, 0, 2) == BASE + 40000,
	    "columns: free_at on requests looks at requests only");
}

static void
test_saturation(void)
{
	const struct px_win_spec *s = &px_win_minute;
	uint64_t m = UINT32_MAX;
	int64_t k = BASE / 100;

	tw_reset();
	add2(s, BASE, UINT32_MAX - 1, UINT32_MAX);
	add2(s, BASE, 5, 5);
	T_CHECK(wv(k, 0) == UINT32_MAX && wv(k, 1) == UINT32_MAX &&
	    tw.sum[0] == m && tw.sum[1] == m,
	    "add saturates the bucket, sum grows by what was added");
	add2(s, BASE + 100, UINT32_MAX, UINT32_MAX);
	T_CHECK(tw.sum[0] == 2 * m && tw.sum[1] == 2 * m && shape_ok(&tw, s),
	    "the 64-bit sum holds several full buckets");
	px_win_sub(&tw, s, BASE, PX_WIN_REQ, 1);
	T_CHECK(tw.sum[0] == 2 * m - 1 && wv(k, 0) == UINT32_MAX - 1 &&
	    tw.sum[1] == 2 * m, "sub from a saturated bucket");
	T_CHECK(sum0(s, BASE + 60100) == m &&
	    px_win_sum_at(&tw, s, BASE + 60100, PX_WIN_TOK) == m,
	    "a saturated bucket expires whole");
}

/* --- random sequences against a naive event list ----------------------- */

#define MODEL_MAX 6000

struct mev {
	int64_t  t;	/* true time of the add */
	int64_t  k;	/* bucket it went to: never behind the head */
	uint32_t v[NCOL];
};

static struct {
	const struct px_win_spec *s;
	int64_t    head;
	size_t     n;
	struct mev ev[MODEL_MAX];
} md;

/* What the window should hold at q: every add in a bucket after
 * max(bucket(q), head) - nb. */
static uint64_t
md_count(int64_t q, unsigned col)
{
	int64_t nq = bk(md.s, q) > md.head ? bk(md.s, q) : md.head;
	uint64_t c = 0;
	size_t i;

	for (i = 0; i < md.n; i++)
		if (md.ev[i].k > nq - (int64_t)md.s->nb)
			c += md.ev[i].v[col];
	return c;
}

/* Adds whose true age at q is 0 .. window: the window must count them. */
static uint64_t
md_true(int64_t q, unsigned col)
{
	uint64_t c = 0;
	size_t i;

	for (i = 0; i < md.n; i++)
		if (md.ev[i].t <= q && md.ev[i].t >= q - md.s->window_ms)
			c += md.ev[i].v[col];
	return c;
}

static void
md_add(int64_t t, const uint32_t *v)
{
	if (bk(md.s, t) > md.head)
		md.head = bk(md.s, t);
	if (md.n < MODEL_MAX)
		md.ev[md.n++] = (struct mev){ t, md.head, { v[0], v[1] } };
}

static void
md_sub(int64_t at, unsigned col, uint32_t v)
{
	int64_t k = bk(md.s, at);
	uint32_t take;
	size_t i;

	if (k > md.head || k <= md.head - (int64_t)md.s->nb)
		return;
	for (i = 0; i < md.n && v > 0; i++) {
		if (md.ev[i].k != k)
			continue;
		take = md.ev[i].v[col] < v ? md.ev[i].v[col] : v;
		md.ev[i].v[col] -= take;
		v -= take;
	}
}

/* One checked query at q: window == model, never below the truth. */
static int
query_ok(int64_t q)
{
	uint64_t got;
	unsigned c;

	for (c = 0; c < md.s->ncol; c++) {
		got = px_win_sum_at(&tw, md.s, q, c);
		if (got != md_count(q, c))
			return 0;
		if (bk(md.s, q) >= md.head && got < md_true(q, c))
			return 0;
	}
	return 1;
}

/* The window's own totals match the model at its head. */
static int
totals_ok(void)
{
	unsigned c;

	for (c = 0; c < md.s->ncol; c++)
		if (tw.sum[c] != md_count(md.head * md.s->width_ms, c))
			return 0;
	return tw.head == md.head && shape_ok(&tw, md.s);
}

static int
random_step(int64_t t)
{
	const struct px_win_spec *s = md.s;
	int64_t r = rnd_below(10), at;
	uint32_t v[NCOL] = { 1 + (uint32_t)rnd_below(9),
	    (uint32_t)rnd_below(1000) };
	unsigned col = (unsigned)rnd_below(s->ncol);
	uint64_t want;
	int ok = query_ok(t) && query_ok(t + rnd_below(2 * s->window_ms));

	if (r < 7) {
		px_win_add(&tw, s, t, v);
		md_add(t, v);
	} else if (r < 9) {
		at = t - rnd_below(s->window_ms + 2 * s->width_ms);
		px_win_sub(&tw, s, at, col, v[0]);
		md_sub(at, col, v[0]);
	} else {
		want = px_win_sum_at(&tw, s, t, col);
		px_win_advance(&tw, s, t);
		ok = ok && tw.sum[col] == want;
		if (bk(s, t) > md.head)
			md.head = bk(s, t);
	}
	return ok && totals_ok();
}

static void
random_run(const struct px_win_spec *s, int steps, const char *what)
{
	int64_t t = BASE;
	int i, bad = 0;

	tw_reset();
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
	seed(UINT64_C(0x2545f4914f6cdd1d));
	random_run(&s7, 5000, "random: 10 ms x 7 matches the model");
	random_run(&s4, 5000, "random: 7 ms x 4, 2 columns, matches the model");
	random_run(&s1, 3000, "random: 10 ms x 1 (window 0) matches the model");
	random_run(&px_win_minute, 4000, "random: minute matches the model");
	random_run(&px_win_day, 2000, "random: day matches the model");
}

/* --- free_at against brute force ------------------------------------ */

/* First t >= now that fits, stepping 1 ms (step 1) or bucket by bucket
 * (step 0: sum_at is constant within a bucket). -1: never within reach. */
static int64_t
brute_free(const struct px_win_spec *s, int64_t now, unsigned col,
    uint64_t need, uint64_t limit, int step)
{
	int64_t t = now, end = (int64_t)s->nb + 2;

	/* Nothing can stay past nb buckets after the later of now and head. */
	end = (bk(s, now) > tw.head ? bk(s, now) : tw.head) + end;
	end *= s->width_ms;
	if (need > limit)
		return INT64_MAX;
	for (; t <= end; t = step ? t + 1 : (bk(s, t) + 1) * s->width_ms)
		if (px_win_sum_at(&tw, s, t, col) + need <= limit)
			return t;
	return -1;
}

/* Random adds and subs over the last window and a bit, up to a random
 * now that may lie before the head (a clock gone backwards). */
static int64_t
random_state(const struct px_win_spec *s)
{
	int64_t span = s->window_ms + 2 * s->width_ms;
	int64_t t = BASE - span, n = rnd_below(60) + 1, i;

	tw_reset();
	for (i = 0; i < n; i++) {
		t += rnd_below(2 * span / n + 1);
		add2(s, t, 1 + (uint32_t)rnd_below(4),
		    (uint32_t)rnd_below(50));
		if (rnd_below(5) == 0)
			px_win_sub(&tw, s, t - rnd_below(span),
			    (unsigned)rnd_below(s->ncol), 1);
	}
	if (rnd_below(4) == 0)
		return t - rnd_below(span);
	return t + rnd_below(span);
}

static int
free_case(const struct px_win_spec *s, int step)
{
	int64_t now = random_state(s), got, want;
	unsigned col = (unsigned)rnd_below(s->ncol);
	uint64_t sum = tw.sum[col];
	uint64_t limit = (uint64_t)rnd_below((int64_t)sum + 4);
	uint64_t need = (uint64_t)rnd_below((int64_t)limit + 2);

	got = px_win_free_at(&tw, s, now, col, need, limit);
	want = brute_free(s, now, col, need, limit, step);
	if (got != want)
		return 0;
	if (got == INT64_MAX || got == now)
		return 1;
	/* Exact: fits at got, not one ms before. */
	return px_win_sum_at(&tw, s, got, col) + need <= limit &&
	    px_win_sum_at(&tw, s, got - 1, col) + need > limit;
}

static void
free_run(const struct px_win_spec *s, int cases, int step,
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
	const struct px_win_spec *s = &px_win_minute;

	tw_reset();
	add1(s, BASE, 3);
	add1(s, BASE + 30000, 2);
	T_CHECK(free0(s, BASE + 40000, 6, 5) == INT64_MAX,
	    "free_at: need > limit never fits");
	T_CHECK(free0(s, BASE + 40000, 5, 10) == BASE + 40000,
	    "free_at: fits now");
	T_CHECK(free0(s, BASE + 40000, 1, 5) == BASE + 60100,
	    "free_at: when the oldest bucket leaves");
	T_CHECK(free0(s, BASE + 40000, 4, 5) == BASE + 90100,
	    "free_at: when enough buckets leave");
	T_CHECK(free0(s, BASE, 5, 5) == BASE + 90100,
	    "free_at: clock behind head");
	T_CHECK(free0(s, BASE + 40000, 0, 0) == BASE + 90100,
	    "free_at: limit 0 waits for an empty window");
	seed(UINT64_C(0x1f2e3d4c5b6a7988));
	free_run(&s7, 3000, 1, "free_at == 1 ms brute force, 10 ms x 7");
	free_run(&s4, 3000, 1, "free_at == 1 ms brute force, 7 ms x 4");
	free_run(&s1, 1000, 1, "free_at == 1 ms brute force, 10 ms x 1");
	free_run(s, 300, 0, "free_at == per-bucket brute force, minute");
	free_run(&px_win_day, 40, 0, "free_at == per-bucket brute, day");
}

/* --- the property: no window ever over the limit ------------------------ */

#define ADMIT_MAX 200000

static int64_t admitted[ADMIT_MAX];

/* Admit at t the way the ledger does; record what got in. */
static size_t
try_admit(const struct px_win_spec *s, int64_t t, uint64_t limit, size_t n)
{
	if (n >= ADMIT_MAX || sum0(s, t) + 1 > limit)
		return n;
	add2(s, t, 1, 100);
	admitted[n] = t;
	return n + 1;
}

/* Most events in any closed window [e, e + window] starting at an
 * admitted event (times never decrease here). */
static uint64_t
busiest_window(const struct px_win_spec *s, size_t n)
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
stream_next(const struct px_win_spec *s, int64_t t, uint64_t limit)
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
property_run(const struct px_win_spec *s, uint64_t limit, int attempts,
    const char *what)
{
	int64_t t = BASE + rnd_below(s->width_ms);
	size_t n = 0;
	int i;

	tw_reset();
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
waste_run(const struct px_win_spec *s, uint64_t limit, int64_t every,
    int64_t windows, const char *what)
{
	int64_t t, end = BASE + windows * s->window_ms;
	uint64_t ideal = limit * (uint64_t)windows;
	size_t n = 0;

	tw_reset();
	for (t = BASE; t < end; t += 1 + rnd_below(2 * every))
		n = try_admit(s, t, limit, n);
	T_CHECK(busiest_window(s, n) <= limit && n <= ideal, what);
	T_CHECK(n * 100 >= ideal * 99, what);
}

static void
test_property(void)
{
	seed(UINT64_C(0x0ddba11cafef00d5));
	property_run(&px_win_minute, 10, 20000, "minute: never > 10 per 60 s");
	property_run(&px_win_minute, 100, 30000,
	    "minute: never > 100 per 60 s");
	property_run(&px_win_day, 10, 20000, "day: never > 10 per 24 h");
	property_run(&px_win_day, 100, 30000, "day: never > 100 per 24 h");
	property_run(&s7, 5, 20000, "10 ms x 7: never > 5 per 60 ms");
	waste_run(&px_win_minute, 1000, 5, 100,
	    "minute steady load: limit kept, >= 99 % used");
	waste_run(&px_win_day, 1000, 10000, 30,
	    "day steady load: limit kept, >= 99 % used");
}

/* --- differential: the dense rings of f6f0c82 as an oracle ------------ */

/* One ring per column, fed what tw is fed. */
static struct {
	const struct px_win_spec *s;
	struct ref_ring_spec rs;
	struct ref_ring r[NCOL];
	uint32_t b[NCOL][PX_WIN_MAXNB];
	long sats, waits, negs, reloads;
} dr;

static uint32_t dslot[NCOL][PX_WIN_MAXNB];	/* tw spread over slots */

static void
dr_reset(const struct px_win_spec *s)
{
	memset(&dr, 0, sizeof(dr));
	dr.s = s;
	dr.rs.width_ms = s->width_ms;
	dr.rs.nb = s->nb;
	dr.rs.window_ms = s->window_ms;
	tw_reset();
}

static void
d_add(int64_t t)
{
	const uint32_t v[NCOL] = { rnd_val(), rnd_val() };
	uint64_t before;
	unsigned c;

	px_win_add(&tw, dr.s, t, v);
	for (c = 0; c < dr.s->ncol; c++) {
		ref_ring_advance(&dr.r[c], dr.b[c], &dr.rs, t);
		before = dr.r[c].sum;
		ref_ring_add(&dr.r[c], dr.b[c], &dr.rs, t, v[c]);
		if (dr.r[c].sum - before < v[c])
			dr.sats++;
	}
}

/* Mostly a bucket still held, sometimes one gone or one after head. */
static void
d_sub(int64_t t)
{
	const struct px_win_spec *s = dr.s;
	int64_t at = t - rnd_below(s->window_ms + 3 * s->width_ms) +
	    rnd_below(2 * s->width_ms);
	unsigned col = (unsigned)rnd_below(s->ncol);
	uint32_t v = rnd_val();

	px_win_sub(&tw, s, at, col, v);
	ref_ring_sub(&dr.r[col], dr.b[col], &dr.rs, at, v);
}

static void
d_advance(int64_t t)
{
	unsigned c;

	px_win_advance(&tw, dr.s, t);
	for (c = 0; c < dr.s->ncol; c++)
		ref_ring_advance(&dr.r[c], dr.b[c], &dr.rs, t);
}

/* The rings' heads, sums and buckets equal tw's, slot by slot. */
static int
d_same_buckets(void)
{
	const struct px_win_spec *s = dr.s;
	uint32_t i;
	unsigned c;

	memset(dslot, 0, sizeof(dslot));
	for (i = 0; i < tw.n; i++)
		for (c = 0; c < s->ncol; c++)
			dslot[c][tw.b[i] % s->nb] = tw.v[i][c];
	for (c = 0; c < s->ncol; c++)
		if (dr.r[c].head != tw.head || dr.r[c].sum != tw.sum[c] ||
		    memcmp(dslot[c], dr.b[c], s->nb * sizeof(uint32_t)) != 0)
			return 0;
	return shape_ok(&tw, s);
}

/* A limit around the sum (sometimes none at all) and a need up to it. */
static void
rnd_ask(uint64_t sum, uint64_t *need, uint64_t *limit)
{
	if (rnd_below(8) == 0) {
		*limit = UINT64_MAX;
		*need = rnd();
		return;
	}
	*limit = rnd_u(sum + 4);
	*need = rnd_u(*limit + 2);
}

/* sum_at and free_at of tw and of the rings agree at q, every column. */
static int
d_query(int64_t q)
{
	uint64_t sum, need, limit;
	int64_t got;
	unsigned c;

	for (c = 0; c < dr.s->ncol; c++) {
		sum = px_win_sum_at(&tw, dr.s, q, c);
		if (sum != ref_ring_sum_at(&dr.r[c], dr.b[c], &dr.rs, q))
			return 0;
		rnd_ask(tw.sum[c], &need, &limit);
		got = px_win_free_at(&tw, dr.s, q, c, need, limit);
		if (got != ref_ring_free_at(&dr.r[c], dr.b[c], &dr.rs, q,
		    need, limit))
			return 0;
		dr.waits += got > q && got < INT64_MAX;
	}
	return 1;
}

/* tw through its stored form: decode(encode(tw)) must be tw, which the
 * run then goes on with. */
static int
d_reload(void)
{
	size_t len = px_win_encode(&tw, dr.s, buf, sizeof(buf));

	memset(&tw2, 0xa5, sizeof(tw2));
	if (len == 0 || px_win_decode(&tw2, dr.s, buf, len) != 0 ||
	    !same_win(&tw, &tw2, dr.s))
		return 0;
	tw = tw2;
	dr.reloads++;
	return 1;
}

/* Queries at t, behind and after it, and either side of the moment the
 * oldest entry leaves. */
static int
d_queries(int64_t t)
{
	const struct px_win_spec *s = dr.s;
	int64_t edge;

	if (!d_query(t) || !d_query(t - rnd_below(s->window_ms + 1)) ||
	    !d_query(t + rnd_below(2 * s->window_ms + 2 * s->width_ms)))
		return 0;
	if (tw.n == 0)
		return 1;
	edge = (tw.b[0] + (int64_t)s->nb) * s->width_ms;
	return d_query(edge - 1) && d_query(edge);
}

static int
d_step(int64_t t)
{
	int64_t r = rnd_below(10);

	dr.negs += t < 0;
	if (r < 6)
		d_add(t);
	else if (r < 8)
		d_sub(t);
	else
		d_advance(t);
	if (rnd_below(8) == 0 && !d_reload())
		return 0;
	return d_same_buckets() && d_queries(t);
}

static void
diff_run(const struct px_win_spec *s, int64_t start, int steps,
    uint64_t sd, const char *what)
{
	char cover[128];
	int64_t t = start;
	int i, bad = 0;

	seed(sd);
	dr_reset(s);
	for (i = 0; i < steps; i++) {
		t = next_t(s, t);
		if (!d_step(t) && bad++ == 0)
			printf("# %s: first difference at step %d, t %" PRId64
			    "\n", what, i, t);
	}
	T_CHECK(bad == 0, what);
	snprintf(cover, sizeof(cover), "%s: reached saturation, waits, "
	    "reloads%s", what, start < 0 ? ", negative times" : "");
	T_CHECK(dr.sats > 0 && dr.waits > 0 && dr.reloads > 0 &&
	    (start >= 0 || dr.negs > 0), cover);
}

/* Runs from before the epoch (start -3 windows) cross negative times. */
static void
test_differential(void)
{
	diff_run(&s7, -180, 20000, 1, "ring == win: 10 ms x 7 at the epoch");
	diff_run(&s7, BASE, 20000, 2, "ring == win: 10 ms x 7");
	diff_run(&s4, -63, 20000, 3, "ring == win: 7 ms x 4, 2 columns");
	diff_run(&s1, BASE, 10000, 4, "ring == win: 10 ms x 1, window 0");
	diff_run(&s3, -6, 20000, 5, "ring == win: 1 ms x 3 at the epoch");
	diff_run(&px_win_minute, -180000, 3000, 6,
	    "ring == win: minute at the epoch");
	diff_run(&px_win_minute, BASE, 4000, 7, "ring == win: minute");
	diff_run(&px_win_day, BASE, 2000, 8, "ring == win: day");
}

/* --- stored form: round trips ---------------------------------------- */

/* Same sums and free_at, tw and tw2, at q in every column. */
static int
same_answers_at(const struct px_win_spec *s, int64_t q)
{
	uint64_t need, limit;
	unsigned c;

	for (c = 0; c < s->ncol; c++) {
		if (px_win_sum_at(&tw, s, q, c) != px_win_sum_at(&tw2, s, q, c))
			return 0;
		rnd_ask(tw.sum[c], &need, &limit);
		if (px_win_free_at(&tw, s, q, c, need, limit) !=
		    px_win_free_at(&tw2, s, q, c, need, limit))
			return 0;
	}
	return 1;
}

/* a + b for b >= 0, stopping at INT64_MAX (heads near it are valid). */
static int64_t
sat_add(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* When bucket k leaves the window, or INT64_MAX. */
static int64_t
leaves(const struct px_win_spec *s, int64_t k)
{
	int64_t w = s->width_ms;

	k = sat_add(k, (int64_t)s->nb);
	return k > INT64_MAX / w ? INT64_MAX : k * w;
}

/* Now, either side of it, the head, after everything left, and when the
 * oldest and the newest entries leave. */
static int
same_answers(const struct px_win_spec *s, int64_t now)
{
	int64_t w = s->width_ms, win = s->window_ms;
	int64_t qs[8] = { now, now - win, now + w, now + win, 0, 0, 0, 0 };
	size_t i;

	qs[4] = leaves(s, tw.head - (int64_t)s->nb);
	qs[5] = leaves(s, tw.head);
	if (tw.n > 0) {
		qs[6] = leaves(s, tw.b[0]) - 1;
		qs[7] = leaves(s, tw.b[tw.n - 1]);
	}
	for (i = 0; i < 8; i++)
		if (!same_answers_at(s, qs[i]))
			return 0;
	return 1;
}

/* decode(encode(tw)) == tw: the documented length, the same fields, the
 * same bytes once more, the same answers. */
static int
roundtrip_ok(const struct px_win_spec *s, int64_t now)
{
	size_t len = px_win_encode(&tw, s, buf, sizeof(buf)), len2;

	if (len != HEADB(s) + (size_t)tw.n * ENTB(s) ||
	    len > px_win_maxbytes(s))
		return 0;
	memset(&tw2, 0xa5, sizeof(tw2));
	if (px_win_decode(&tw2, s, buf, len) != 0 || !same_win(&tw, &tw2, s))
		return 0;
	len2 = px_win_encode(&tw2, s, buf2, sizeof(buf2));
	if (len2 != len || memcmp(buf, buf2, len) != 0)
		return 0;
	return same_answers(s, now);
}

/* Random adds (saturating ones too), subs and advances; the last time. */
static int64_t
rt_state(const struct px_win_spec *s, int64_t t)
{
	int i, n = 1 + (int)rnd_below(200);
	unsigned col;

	tw_reset();
	for (i = 0; i < n; i++) {
		t = next_t(s, t);
		col = (unsigned)rnd_below(s->ncol);
		if (rnd_below(5) == 0)
			px_win_sub(&tw, s, t - rnd_below(s->window_ms + 1),
			    col, rnd_val());
		else if (rnd_below(10) == 0)
			px_win_advance(&tw, s, t);
		else
			add2(s, t, rnd_val(), rnd_val());
	}
	return t;
}

static void
rt_run(const struct px_win_spec *s, int cases, const char *what)
{
	int64_t now;
	int i, bad = 0;

	for (i = 0; i < cases; i++) {
		now = rt_state(s, BASE + rnd_below(s->window_ms + 1));
		if (!roundtrip_ok(s, now) && bad++ == 0)
			printf("# %s: first failure in case %d\n", what, i);
	}
	T_CHECK(bad == 0, what);
}

static void
test_roundtrip(void)
{
	const struct px_win_spec *m = &px_win_minute, *d = &px_win_day;

	tw_reset();
	T_CHECK(roundtrip_ok(m, BASE) &&
	    px_win_encode(&tw, m, buf, sizeof(buf)) == HEADB(m),
	    "round trip: the empty window, header only");
	fill_ramp(m, BASE / 100);
	T_CHECK(roundtrip_ok(m, BASE) &&
	    px_win_encode(&tw, m, buf, sizeof(buf)) == px_win_maxbytes(m),
	    "round trip: a full minute window is maxbytes long");
	fill_ramp(d, BASE / 60000);
	T_CHECK(roundtrip_ok(d, BASE) &&
	    px_win_encode(&tw, d, buf, sizeof(buf)) == px_win_maxbytes(d),
	    "round trip: a full day window is maxbytes long");
	tw_reset();
	tw.head = INT64_MAX;
	tw.n = 1;
	tw.b[0] = INT64_MAX - 1;
	tw.v[0][0] = 7;
	tw.sum[0] = 7;
	T_CHECK(roundtrip_ok(d, BASE) && px_win_sum_at(&tw2, d, BASE, 0) == 7 &&
	    px_win_free_at(&tw2, d, BASE, 0, 1, 7) == INT64_MAX,
	    "round trip: head at INT64_MAX; free_at saturates, no overflow");
	seed(UINT64_C(0xfeedface12345678));
	rt_run(&s7, 500, "round trip after random operations: 10 ms x 7");
	rt_run(&s4, 500, "round trip after random operations: 7 ms x 4");
	rt_run(&s1, 300, "round trip after random operations: 10 ms x 1");
	rt_run(m, 300, "round trip after random operations: minute");
	rt_run(d, 200, "round trip after random operations: day");
}

/* --- stored form: the bytes ------------------------------------------ */

/* Head bucket H = 0x412345805 (slot H mod 601 = 418 = 0x1a2); entries at
 * H - 2 (slot 416 = 0x1a0) { 3, 0xf1f2f3f4 } and H { 5, 0x80000000 }. */
#define LAY_H INT64_C(0x412345805)

static const unsigned char minute_bytes[48] = {
	'm', 1, 0x02, 0x00,					/* n 2 */
	0x05, 0x58, 0x34, 0x12, 0x04, 0x00, 0x00, 0x00,		/* head */
	0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,		/* sum 8 */
	0xf4, 0xf3, 0xf2, 0x71, 0x01, 0x00, 0x00, 0x00,		/* sum tok */
	0xa0, 0x01, 0x03, 0x00, 0x00, 0x00, 0xf4, 0xf3, 0xf2, 0xf1,
	0xa2, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80,
};

/* Day, head bucket 2000 (slot 559 = 0x22f); entries at 1999 (slot 558)
 * { 0xa1b2c3d4 } and 2000 { 1 }. */
static const unsigned char day_bytes[32] = {
	'd', 1, 0x02, 0x00,
	0xd0, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,		/* head */
	0xd5, 0xc3, 0xb2, 0xa1, 0x00, 0x00, 0x00, 0x00,		/* sum */
	0x2e, 0x02, 0xd4, 0xc3, 0xb2, 0xa1,
	0x2f, 0x02, 0x01, 0x00, 0x00, 0x00,
};

static void
build_minute(void)
{
	tw_reset();
	tw.head = LAY_H;
	tw.n = 2;
	tw.b[0] = LAY_H - 2;
	tw.v[0][0] = 3;
	tw.v[0][1] = 0xf1f2f3f4u;
	tw.b[1] = LAY_H;
	tw.v[1][0] = 5;
	tw.v[1][1] = 0x80000000u;
	tw.sum[0] = 8;
	tw.sum[1] = UINT64_C(0x171f2f3f4);
}

/* buf[off .. off + n) is minute_bytes' (or day_bytes') same span. */
static int
span_eq(const unsigned char *want, size_t off, size_t n)
{
	return memcmp(buf + off, want + off, n) == 0;
}

static void
test_layout_minute(void)
{
	const struct px_win_spec *m = &px_win_minute;
	const unsigned char *x = minute_bytes;
	size_t len;

	build_minute();
	memset(buf, 0xee, sizeof(buf));
	len = px_win_encode(&tw, m, buf, sizeof(buf));
	T_CHECK(len == 48, "layout minute: 12 + 2 x 8 + 2 x 10 bytes");
	T_CHECK(buf[0] == 'm' && buf[1] == 1, "layout minute: kind, version");
	T_CHECK(span_eq(x, 2, 2), "layout minute: u16 n at 2");
	T_CHECK(span_eq(x, 4, 8), "layout minute: i64 head at 4, LE");
	T_CHECK(span_eq(x, 12, 8), "layout minute: u64 requests sum at 12");
	T_CHECK(span_eq(x, 20, 8), "layout minute: u64 tokens sum at 20");
	T_CHECK(span_eq(x, 28, 2), "layout minute: entry 0 slot at 28");
	T_CHECK(span_eq(x, 30, 4) && span_eq(x, 34, 4),
	    "layout minute: entry 0 values at 30, 34");
	T_CHECK(span_eq(x, 38, 2), "layout minute: entry 1 slot at 38");
	T_CHECK(span_eq(x, 40, 4) && span_eq(x, 44, 4),
	    "layout minute: entry 1 values at 40, 44");
	T_CHECK(buf[48] == 0xee, "layout minute: nothing written past len");
	tw_reset();
	add2(m, (LAY_H - 2) * 100 + 37, 3, 0xf1f2f3f4u);
	add2(m, LAY_H * 100 + 99, 5, 0x80000000u);
	T_CHECK(px_win_encode(&tw, m, buf, sizeof(buf)) == 48 &&
	    memcmp(buf, x, 48) == 0,
	    "layout minute: the same bytes built through px_win_add");
	T_CHECK(px_win_decode(&tw2, m, x, 48) == 0 && tw2.head == LAY_H &&
	    tw2.n == 2 && tw2.b[0] == LAY_H - 2 && tw2.b[1] == LAY_H &&
	    tw2.v[0][1] == 0xf1f2f3f4u && tw2.v[1][1] == 0x80000000u &&
	    tw2.sum[1] == UINT64_C(0x171f2f3f4),
	    "layout minute: the bytes decode to the window");
}

static void
test_layout_day(void)
{
	const struct px_win_spec *d = &px_win_day;
	const unsigned char *x = day_bytes;

	tw_reset();
	tw.head = 2000;
	tw.n = 2;
	tw.b[0] = 1999;
	tw.v[0][0] = 0xa1b2c3d4u;
	tw.b[1] = 2000;
	tw.v[1][0] = 1;
	tw.sum[0] = 0xa1b2c3d5u;
	T_CHECK(px_win_encode(&tw, d, buf, sizeof(buf)) == 32,
	    "layout day: 12 + 8 + 2 x 6 bytes");
	T_CHECK(buf[0] == 'd' && buf[1] == 1 && span_eq(x, 2, 2),
	    "layout day: kind, version, n");
	T_CHECK(span_eq(x, 4, 8) && span_eq(x, 12, 8),
	    "layout day: head at 4, one u64 sum at 12");
	T_CHECK(span_eq(x, 20, 6) && span_eq(x, 26, 6),
	    "layout day: entries of u16 slot + u32 value at 20, 26");
	T_CHECK(px_win_decode(&tw2, d, x, 32) == 0 && same_win(&tw, &tw2, d),
	    "layout day: the bytes decode to the window");
}

/* --- stored form: rejections ----------------------------------------- */

/* Decoding buf[0..len) fails and leaves an empty window. */
static int
rejects(const struct px_win_spec *s, size_t len)
{
	memset(&tw2, 0x5a, sizeof(tw2));
	return px_win_decode(&tw2, s, buf, len) == -1 && tw2.n == 0 &&
	    tw2.head == 0 && tw2.sum[0] == 0 && tw2.sum[1] == 0;
}

static void
fresh(void)
{
	memset(buf, 0, sizeof(buf));
	memcpy(buf, minute_bytes, sizeof(minute_bytes));
}

/* The valid minute bytes with one byte (or one u16) changed. */
static void
poke(size_t off, unsigned char v)
{
	fresh();
	buf[off] = v;
}

static void
poke16(size_t off, unsigned v)
{
	fresh();
	buf[off] = (unsigned char)(v & 0xff);
	buf[off + 1] = (unsigned char)(v >> 8);
}

static void
test_reject_header(void)
{
	const struct px_win_spec *m = &px_win_minute;

	fresh();
	T_CHECK(px_win_decode(&tw2, m, buf, 48) == 0,
	    "reject: the unchanged bytes decode (control)");
	poke(0, 'd');
	T_CHECK(rejects(m, 48), "reject: wrong kind byte");
	fresh();
	T_CHECK(rejects(&px_win_day, 48), "reject: a minute record as day");
	poke(1, 2);
	T_CHECK(rejects(m, 48), "reject: version 2");
	poke(1, 0);
	T_CHECK(rejects(m, 48), "reject: version 0");
	fresh();
	T_CHECK(rejects(m, 47), "reject: one byte short of n entries");
	fresh();
	T_CHECK(rejects(m, 49), "reject: one byte past n entries");
	poke(2, 3);
	T_CHECK(rejects(m, 48), "reject: n 3 with the bytes of 2");
	poke(2, 1);
	T_CHECK(rejects(m, 48), "reject: n 1 with the bytes of 2");
	fresh();
	T_CHECK(rejects(m, 27), "reject: shorter than the header");
	fresh();
	T_CHECK(rejects(m, 1), "reject: one byte");
}

/* n = 602 > nb, with the length 602 entries would take. */
static void
test_reject_n(void)
{
	const struct px_win_spec *m = &px_win_minute;

	fresh();
	buf[2] = 602 & 0xff;
	buf[3] = 602 >> 8;
	memset(buf + 12, 0, 16);
	memset(buf + 28, 0, 602 * 10);
	T_CHECK(rejects(m, 28 + 602 * 10), "reject: n > nb");
}

static void
test_reject_entries(void)
{
	const struct px_win_spec *m = &px_win_minute;
	unsigned char e[10];

	poke16(28, 601);
	T_CHECK(rejects(m, 48), "reject: slot == nb");
	poke16(38, 0xffff);
	T_CHECK(rejects(m, 48), "reject: slot 0xffff");
	fresh();
	memcpy(e, buf + 28, 10);
	memcpy(buf + 28, buf + 38, 10);
	memcpy(buf + 38, e, 10);
	T_CHECK(rejects(m, 48), "reject: entries out of order");
	poke16(28, 418);
	T_CHECK(rejects(m, 48), "reject: two entries in one bucket");
	poke(12, 9);
	T_CHECK(rejects(m, 48), "reject: requests total off by one");
	poke(24, 0x02);
	T_CHECK(rejects(m, 48), "reject: tokens total off in its high half");
	poke(12, 0);
	T_CHECK(rejects(m, 48), "reject: a zero total over entries");
}

/* An otherwise valid empty record (n 0, sums 0) with a negative head,
 * and a head so small that an entry would fall before bucket 0. */
static void
test_reject_head(void)
{
	const struct px_win_spec *m = &px_win_minute;

	poke(2, 0);
	memset(buf + 12, 0, 16);
	T_CHECK(px_win_decode(&tw2, m, buf, 28) == 0 && tw2.n == 0 &&
	    tw2.head == LAY_H, "reject (control): an empty record decodes");
	memset(buf + 4, 0xff, 8);
	T_CHECK(rejects(m, 28), "reject: head -1");
	memset(buf + 4, 0, 8);
	buf[11] = 0x80;
	T_CHECK(rejects(m, 28), "reject: head INT64_MIN");
	poke(2, 1);
	memset(buf + 4, 0, 24);
	buf[4] = 1;				/* head bucket 1 */
	buf[12] = 1;				/* one request */
	memset(buf + 28, 0, 10);
	buf[28] = 5;				/* slot 5: bucket -596 */
	buf[30] = 1;
	T_CHECK(rejects(m, 38), "reject: an entry before bucket 0");
	buf[28] = 1;
	T_CHECK(px_win_decode(&tw2, m, buf, 38) == 0 && tw2.b[0] == 1,
	    "reject (control): the same entry in bucket 1 decodes");
}

static void
test_decode_empty(void)
{
	memset(&tw2, 0x5a, sizeof(tw2));
	T_CHECK(px_win_decode(&tw2, &px_win_minute, buf, 0) == 0 &&
	    tw2.n == 0 && tw2.head == 0 && tw2.sum[0] == 0 && tw2.sum[1] == 0,
	    "decode: len 0 is an empty window and 0");
	memset(&tw2, 0x5a, sizeof(tw2));
	T_CHECK(px_win_decode(&tw2, &px_win_day, NULL, 0) == 0 &&
	    tw2.n == 0 && tw2.head == 0 && tw2.sum[0] == 0,
	    "decode: len 0 with no bytes at all");
}

static void
test_encode_small(void)
{
	const struct px_win_spec *m = &px_win_minute;

	build_minute();
	T_CHECK(px_win_encode(&tw, m, buf, 47) == 0,
	    "encode: cap one byte short gives 0");
	T_CHECK(px_win_encode(&tw, m, buf, 0) == 0, "encode: cap 0 gives 0");
	T_CHECK(px_win_encode(&tw, m, buf, 48) == 48,
	    "encode: cap exactly the length");
	tw_reset();
	T_CHECK(px_win_encode(&tw, m, buf, HEADB(m) - 1) == 0 &&
	    px_win_encode(&tw, m, buf, HEADB(m)) == HEADB(m),
	    "encode: an empty window needs the whole header");
	tw.n = 602;
	T_CHECK(px_win_encode(&tw, m, buf, sizeof(buf)) == 0,
	    "encode: a window of more than nb entries gives 0");
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
	test_columns();
	test_saturation();
	test_random();
	test_free_at();
	test_property();
	test_differential();
	test_roundtrip();
	test_layout_minute();
	test_layout_day();
	test_reject_header();
	test_reject_n();
	test_reject_entries();
	test_reject_head();
	test_decode_empty();
	test_encode_small();
	return t_done();
}
