/*
 * fuzz_win.c -- libFuzzer target for the stored form of the ledger's
 * rolling windows (px_win_decode, px_win_encode, common/win.h) and the
 * arithmetic ledger.c then does on a window read back from LMDB or Redis.
 * Owns: the checks below; never writes a record anywhere.
 * Input: 17 bytes of header, then the stored bytes (an exact-size copy,
 * so a read past them is an ASan error). Header: byte 0 bit 0 the spec
 * (0 minute, 1 day), bit 1 "write the entries' totals into the record
 * first" (so mutated entries still decode); bytes 1-8 now_ms (i64,
 * little-endian); bytes 9-12 x (u32: what is added, taken back and
 * needed); bytes 13-16 limit (u32). Shorter inputs are skipped.
 * Checks: decode gives 0 or -1; -1 leaves an empty window; 0 gives a
 * window the header describes (n <= nb, head >= 0, buckets >= 0,
 * increasing, within nb of head, the totals the entries' sums), and
 * encoding it gives back exactly the input bytes (there is one stored
 * form per window), which decode again to the same window. Then on that
 * window: sum_at(now) <= the total; advance(now) leaves that sum;
 * free_at(now, x, limit) is now when x fits, INT64_MAX when x > limit,
 * else the first moment x fits (it fits then and not a millisecond
 * before); add(now, x) and sub(now, x) keep a window whose encoding
 * decodes (what ledger.c writes back must read back).
 */
#include "win.h"

#include "fuzz_util.h"

#define HDR 17

static uint64_t
get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

/*
 * Header bit 1: write into rec the column totals of the entries it holds
 * (as many whole ones as fit), so that mutated entries still make a
 * window decode accepts, and the checks after it run on more shapes.
 */
static void
fix_sums(unsigned char *rec, size_t len, const struct px_win_spec *s)
{
	size_t head = 12 + 8 * s->ncol, ent = 2 + 4 * s->ncol, at;
	uint64_t sum;
	unsigned c, k;

	if (len < head)
		return;
	for (c = 0; c < s->ncol; c++) {
		sum = 0;
		for (at = head; at + ent <= len; at += ent)
			sum += get_le(rec + at + 2 + 4 * c, 4);
		for (k = 0; k < 8; k++)
			rec[12 + 8 * c + k] = (unsigned char)(sum >> (8 * k));
	}
}

/* w is a well-formed decoded window of spec s. */
static void
check_shape(const struct px_win *w, const struct px_win_spec *s)
{
	uint64_t sum[PX_WIN_MAXCOL] = { 0, 0 };
	uint32_t i;
	unsigned c;

	FZ_CHECK(w->n <= s->nb && w->head >= 0, "n <= nb, head >= 0");
	for (i = 0; i < w->n; i++) {
		FZ_CHECK(w->b[i] >= 0 && w->b[i] <= w->head &&
		    w->head - w->b[i] < (int64_t)s->nb,
		    "every bucket within nb of head");
		FZ_CHECK(i == 0 || w->b[i - 1] < w->b[i],
		    "buckets increasing");
		for (c = 0; c < s->ncol; c++)
			sum[c] += w->v[i][c];
	}
	for (c = 0; c < s->ncol; c++)
		FZ_CHECK(sum[c] == w->sum[c], "totals are the entries' sums");
}

static int
same_win(const struct px_win *a, const struct px_win *b,
    const struct px_win_spec *s)
{
	uint32_t i;

	if (a->n != b->n || a->head != b->head ||
	    memcmp(a->sum, b->sum, sizeof(a->sum)) != 0)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->b[i] != b->b[i] || memcmp(a->v[i], b->v[i],
		    s->ncol * sizeof(a->v[i][0])) != 0)
			return 0;
	return 1;
}

/* Encode w into an exact-size buffer; it must decode to w again. */
static void
check_stored(const struct px_win *w, const struct px_win_spec *s,
    struct px_win *tmp)
{
	size_t cap = px_win_maxbytes(s), len;
	unsigned char *out = malloc(cap);

	if (out == NULL)
		abort();
	len = px_win_encode(w, s, out, cap);
	FZ_CHECK(len > 0 && len <= cap, "a window always fits maxbytes");
	FZ_CHECK(px_win_decode(tmp, s, out, len) == 0,
	    "an encoded window decodes");
	if (!same_win(w, tmp, s))
		__builtin_trap();	/* decode(encode(w)) != w */
	free(out);
}

/* free_at's answer t: x fits at t and, after now, not at t - 1. */
static void
check_free_at(const struct px_win *w, const struct px_win_spec *s,
    int64_t now, uint64_t x, uint64_t limit, unsigned col)
{
	int64_t t = px_win_free_at(w, s, now, col, x, limit);

	if (x > limit) {
		FZ_CHECK(t == INT64_MAX, "never, when x > limit");
		return;
	}
	FZ_CHECK(t >= now, "not before now");
	if (t == INT64_MAX)
		return;		/* past the last representable moment */
	FZ_CHECK(px_win_sum_at(w, s, t, col) + x <= limit, "x fits at t");
	FZ_CHECK(t == now || px_win_sum_at(w, s, t - 1, col) + x > limit,
	    "and not a millisecond earlier");
}

/* What ledger.c does with a window it read: sums, advance, add, sub. */
static void
exercise(struct px_win *w, const struct px_win_spec *s, int64_t now,
    uint32_t x, uint32_t limit, struct px_win *tmp)
{
	uint32_t v[PX_WIN_MAXCOL] = { x, x / 2 };
	uint64_t before = px_win_sum_at(w, s, now, PX_WIN_REQ);
	unsigned c;

	FZ_CHECK(before <= w->sum[PX_WIN_REQ], "sum_at <= the total");
	for (c = 0; c < s->ncol; c++)
		check_free_at(w, s, now, x, limit, c);
	px_win_advance(w, s, now);
	FZ_CHECK(w->sum[PX_WIN_REQ] == before,
	    "advance leaves what sum_at said");
	check_shape(w, s);
	px_win_add(w, s, now, v);
	check_shape(w, s);
	check_stored(w, s, tmp);
	px_win_sub(w, s, now, s->ncol - 1, x);
	check_shape(w, s);
	check_stored(w, s, tmp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct px_win w, again;
	const struct px_win_spec *s;
	unsigned char *rec, *out;
	size_t len, cap, n;

	if (size < HDR)
		return 0;
	s = (data[0] & 1) ? &px_win_day : &px_win_minute;
	len = size - HDR;
	rec = (unsigned char *)fz_dup(data + HDR, len, 0);
	if (data[0] & 2)
		fix_sums(rec, len, s);
	if (px_win_decode(&w, s, rec, len) != 0) {
		FZ_CHECK(w.n == 0 && w.head == 0 && w.sum[0] == 0 &&
		    w.sum[1] == 0, "a refused record leaves an empty window");
		free(rec);
		return 0;
	}
	check_shape(&w, s);
	cap = px_win_maxbytes(s);
	out = malloc(cap);
	if (out == NULL)
		abort();
	n = px_win_encode(&w, s, out, cap);
	/* one stored form per window: encode(decode(bytes)) == bytes */
	if (len > 0 && (n != len || memcmp(out, rec, len) != 0))
		__builtin_trap();
	FZ_CHECK(len > 0 || n > 0, "an empty window encodes");
	FZ_CHECK(px_win_decode(&again, s, out, n) == 0, "and decodes again");
	if (!same_win(&w, &again, s))
		__builtin_trap();	/* decode(encode(decode(bytes))) */
	free(out);
	free(rec);
	exercise(&w, s, (int64_t)get_le(data + 1, 8),
	    (uint32_t)get_le(data + 9, 4), (uint32_t)get_le(data + 13, 4),
	    &again);
	return 0;
}
