/*
 * win.c -- sparse rolling windows and their stored bytes (win.h).
 * Owns: bucket arithmetic, expiry, the sum of a window at any moment, the
 * first moment it has room again, and the version-1 encoding.
 * Never: reads a clock, allocates or does I/O.
 * Load: one sum and one add per window per admitted request. An add lands
 * in the newest entry or appends one; expiry drops a prefix. free_at walks
 * at most n entries and runs only for refused requests. ledger.lua does
 * the same steps on the stored bytes; keep the two in step.
 */
#include "win.h"

#include <string.h>

#include "le.h"

const struct px_win_spec px_win_minute = { 100, 601, 60000, 2, 'm' };
const struct px_win_spec px_win_day = { 60000, 1441, 86400000, 1, 'd' };

#define WIN_VERSION 1
#define HEAD_BYTES(s) (12u + 8u * (s)->ncol)
#define ENT_BYTES(s)  (2u + 4u * (s)->ncol)

/* Bucket number of time t; times before the epoch fall in bucket 0. */
static int64_t
bucket_of(const struct px_win_spec *s, int64_t t)
{
	return t < 0 ? 0 : t / (int64_t)s->width_ms;
}

/* Buckets up to this one have left the window at bucket n. Written so
 * nothing overflows whatever a record holds. */
static int64_t
cutoff(const struct px_win_spec *s, int64_t n)
{
	return n - (int64_t)s->nb;
}

/* The moment bucket k leaves the window: when bucket k + nb begins. */
static int64_t
leave_time(const struct px_win_spec *s, int64_t k)
{
	int64_t w = (int64_t)s->width_ms;

	if (k > INT64_MAX / w - (int64_t)s->nb)
		return INT64_MAX;
	return (k + (int64_t)s->nb) * w;
}

static uint64_t
drop(uint64_t sum, uint32_t v)
{
	return sum > v ? sum - v : 0;
}

void
px_win_clear(struct px_win *w)
{
	w->head = 0;
	w->n = 0;
	memset(w->sum, 0, sizeof(w->sum));
}

/* Entries (a prefix) whose bucket is at most c. */
static uint32_t
expired(const struct px_win *w, int64_t c)
{
	uint32_t i = 0;

	while (i < w->n && w->b[i] <= c)
		i++;
	return i;
}

void
px_win_advance(struct px_win *w, const struct px_win_spec *s, int64_t now_ms)
{
	int64_t n = bucket_of(s, now_ms);
	uint32_t k, i, c;

	if (n <= w->head)
		return;
	k = expired(w, cutoff(s, n));
	for (i = 0; i < k; i++)
		for (c = 0; c < s->ncol; c++)
			w->sum[c] = drop(w->sum[c], w->v[i][c]);
	if (k > 0) {
		memmove(w->b, w->b + k, (w->n - k) * sizeof(w->b[0]));
		memmove(w->v, w->v + k, (w->n - k) * sizeof(w->v[0]));
		w->n -= k;
	}
	w->head = n;
}

uint64_t
px_win_sum_at(const struct px_win *w, const struct px_win_spec *s,
    int64_t now_ms, unsigned col)
{
	int64_t n = bucket_of(s, now_ms);
	uint64_t sum = w->sum[col];
	uint32_t i, k;

	if (n <= w->head)
		return sum;
	k = expired(w, cutoff(s, n));
	for (i = 0; i < k; i++)
		sum = drop(sum, w->v[i][col]);
	return sum;
}

void
px_win_add(struct px_win *w, const struct px_win_spec *s, int64_t now_ms,
    const uint32_t *v)
{
	uint32_t i, c, room, add;

	px_win_advance(w, s, now_ms);
	if (w->n == 0 || w->b[w->n - 1] != w->head) {
		/* the newest bucket is empty; n < nb since every bucket of
		 * (head - nb, head] but head holds at most one entry */
		if (w->n >= s->nb)
			return;
		i = w->n++;
		w->b[i] = w->head;
		memset(w->v[i], 0, sizeof(w->v[i]));
	} else {
		i = w->n - 1;
	}
	for (c = 0; c < s->ncol; c++) {
		room = UINT32_MAX - w->v[i][c];
		add = v[c] > room ? room : v[c];
		w->v[i][c] += add;
		w->sum[c] += add;
	}
}

static void
remove_at(struct px_win *w, uint32_t i)
{
	memmove(w->b + i, w->b + i + 1, (w->n - i - 1) * sizeof(w->b[0]));
	memmove(w->v + i, w->v + i + 1, (w->n - i - 1) * sizeof(w->v[0]));
	w->n--;
}

static int
all_zero(const struct px_win *w, const struct px_win_spec *s, uint32_t i)
{
	unsigned c;

	for (c = 0; c < s->ncol; c++)
		if (w->v[i][c] != 0)
			return 0;
	return 1;
}

void
px_win_sub(struct px_win *w, const struct px_win_spec *s, int64_t at_ms,
    unsigned col, uint32_t v)
{
	int64_t k = bucket_of(s, at_ms);
	uint32_t i;

	/* head - k cannot overflow: k >= 0 and k <= head here */
	if (k > w->head || w->head - k >= (int64_t)s->nb)
		return;
	for (i = w->n; i-- > 0 && w->b[i] >= k;) {
		if (w->b[i] != k)
			continue;
		if (v > w->v[i][col])
			v = w->v[i][col];
		w->v[i][col] -= v;
		w->sum[col] = drop(w->sum[col], v);
		if (all_zero(w, s, i))
			remove_at(w, i);
		return;
	}
}

/*
 * Exact: with nothing added, sum_at(t) depends on t only through
 * bucket(t) and never grows as t grows; after now it changes only when
 * an entry's bucket leaves. So the first fitting moment is now or one of
 * those instants, and walking the entries still held at now, oldest
 * first, stops at the earliest. It always ends: need <= limit and the sum
 * reaches 0 once the newest entry has left.
 */
int64_t
px_win_free_at(const struct px_win *w, const struct px_win_spec *s,
    int64_t now_ms, unsigned col, uint64_t need, uint64_t limit)
{
	int64_t n = bucket_of(s, now_ms);
	uint64_t left;
	uint32_t i;

	if (need > limit)
		return INT64_MAX;
	left = px_win_sum_at(w, s, now_ms, col);
	if (left <= limit - need)
		return now_ms;
	for (i = expired(w, cutoff(s, n > w->head ? n : w->head)); i < w->n;
	    i++) {
		left = drop(left, w->v[i][col]);
		if (left <= limit - need)
			return leave_time(s, w->b[i]);
	}
	return leave_time(s, w->head);
}

/* --- stored form ----------------------------------------------------------- */

size_t
px_win_maxbytes(const struct px_win_spec *s)
{
	return HEAD_BYTES(s) + (size_t)s->nb * ENT_BYTES(s);
}

size_t
px_win_encode(const struct px_win *w, const struct px_win_spec *s,
    unsigned char *out, size_t cap)
{
	size_t len = HEAD_BYTES(s) + (size_t)w->n * ENT_BYTES(s), at;
	uint32_t i;
	unsigned c;

	if (len > cap || w->n > s->nb)
		return 0;
	out[0] = s->kind;
	out[1] = WIN_VERSION;
	px_le_put16(out + 2, (uint16_t)w->n);
	px_le_put64(out + 4, (uint64_t)w->head);
	for (c = 0; c < s->ncol; c++)
		px_le_put64(out + 12 + 8 * c, w->sum[c]);
	at = HEAD_BYTES(s);
	for (i = 0; i < w->n; i++) {
		px_le_put16(out + at, (uint16_t)(w->b[i] % s->nb));
		for (c = 0; c < s->ncol; c++)
			px_le_put32(out + at + 2 + 4 * c, w->v[i][c]);
		at += ENT_BYTES(s);
	}
	return len;
}

/* Entries of p (after the header) into w; -1 on any inconsistency. */
static int
decode_entries(struct px_win *w, const struct px_win_spec *s,
    const unsigned char *p)
{
	uint64_t sum[PX_WIN_MAXCOL] = { 0, 0 };
	int64_t hslot = w->head % s->nb, age, prev = INT64_MIN;
	uint32_t i, slot;
	unsigned c;

	if (s->ncol > PX_WIN_MAXCOL || s->nb > PX_WIN_MAXNB)
		return -1;	/* not a spec of win.h */
	for (i = 0; i < w->n; i++, p += ENT_BYTES(s)) {
		slot = px_le_get16(p);
		if (slot >= s->nb)
			return -1;
		age = (hslot - (int64_t)slot + s->nb) % s->nb;
		w->b[i] = w->head - age;
		if (w->b[i] < 0 || w->b[i] <= prev)
			return -1;
		prev = w->b[i];
		for (c = 0; c < s->ncol; c++) {
			w->v[i][c] = px_le_get32(p + 2 + 4 * c);
			sum[c] += w->v[i][c];
		}
	}
	for (c = 0; c < s->ncol; c++)
		if (sum[c] != w->sum[c])
			return -1;
	return 0;
}

int
px_win_decode(struct px_win *w, const struct px_win_spec *s, const void *p,
    size_t len)
{
	const unsigned char *b = p;
	unsigned c;

	px_win_clear(w);
	if (len == 0)
		return 0;
	if (len < HEAD_BYTES(s) || b[0] != s->kind || b[1] != WIN_VERSION)
		return -1;
	w->n = px_le_get16(b + 2);
	w->head = (int64_t)px_le_get64(b + 4);
	for (c = 0; c < s->ncol; c++)
		w->sum[c] = px_le_get64(b + 12 + 8 * c);
	if (w->n > s->nb || w->head < 0 ||
	    len != HEAD_BYTES(s) + (size_t)w->n * ENT_BYTES(s) ||
	    decode_entries(w, s, b + HEAD_BYTES(s)) != 0) {
		px_win_clear(w);
		return -1;
	}
	return 0;
}
