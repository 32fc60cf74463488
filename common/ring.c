/*
 * ring.c -- rolling windows as rings of fixed-width time buckets (ring.h).
 * Owns: bucket arithmetic, expiry, the sum of a window at any moment and
 * the first moment a window has room again.
 * Never: reads a clock, allocates or does I/O; the buckets are the
 * caller's memory (an LMDB record) and time is passed in.
 * Load: a sum_at and an add per window per admitted request. The usual
 * call lands in the bucket of the previous one and is O(1); after an idle
 * gap the cost is the number of expired buckets, never more than nb.
 * free_at walks at most nb buckets and runs only for refused requests.
 *
 * Why a limit checked against the ring holds in every window: bucket k
 * covers [k*w, (k+1)*w). At now, with n = floor(now/w) and nb - 1 =
 * window/w, the ring holds buckets n-nb+1 .. n, which start at
 * (n-nb+1)*w = n*w - window <= now - window. So every event aged at most
 * window (now - window <= e <= now) is counted, and none aged window + w
 * or more is. Admitting at x only when sum_at(x) + need <= limit means the
 * events of any closed span [a, a + window] that ends at x were all
 * counted when x was admitted, so no such span ever holds more than
 * limit. The price: an event aged window+1 .. window+w-1 ms may still be
 * counted, so a slot frees up to one bucket late (see ring.h).
 */
#include "ring.h"

const struct px_ring_spec px_ring_minute = { 100, PX_RING_MINUTE_NB, 60000 };
const struct px_ring_spec px_ring_day = { 60000, PX_RING_DAY_NB, 86400000 };

/* Bucket number of time t; times before the epoch fall in bucket 0. */
static int64_t
bucket_of(const struct px_ring_spec *s, int64_t t)
{
	if (t < 0)
		return 0;
	return t / (int64_t)s->width_ms;
}

/* Array index of bucket k. Rings written here never have k < 0, but a
 * damaged record must not make us index outside the array. */
static uint32_t
slot_of(const struct px_ring_spec *s, int64_t k)
{
	int64_t i = k % (int64_t)s->nb;

	if (i < 0)
		i += s->nb;
	return (uint32_t)i;
}

/* Would moving head to bucket n (> head) expire every bucket? Written as
 * head <= n - nb so no subtraction can overflow whatever head holds. */
static int
expires_all(const struct px_ring *r, const struct px_ring_spec *s,
    int64_t n)
{
	return r->head <= n - (int64_t)s->nb;
}

/* sum - v, never below zero (sum equals the bucket total unless the
 * record was damaged; then at least it cannot wrap). */
static uint64_t
drop(uint64_t sum, uint32_t v)
{
	return sum > v ? sum - v : 0;
}

/* The moment bucket k leaves the ring: when bucket k + nb begins. */
static int64_t
leave_time(const struct px_ring_spec *s, int64_t k)
{
	int64_t w = (int64_t)s->width_ms;

	if (k > INT64_MAX / w - (int64_t)s->nb)
		return INT64_MAX;
	return (k + (int64_t)s->nb) * w;
}

void
px_ring_advance(struct px_ring *r, uint32_t *b,
    const struct px_ring_spec *s, int64_t now_ms)
{
	int64_t n = bucket_of(s, now_ms);
	int64_t k;
	uint32_t i;

	if (n <= r->head)
		return;
	if (expires_all(r, s, n)) {
		for (i = 0; i < s->nb; i++)
			b[i] = 0;
		r->sum = 0;
		r->head = n;
		return;
	}
	for (k = r->head + 1; k <= n; k++) {
		i = slot_of(s, k);
		r->sum = drop(r->sum, b[i]);
		b[i] = 0;
	}
	r->head = n;
}

uint64_t
px_ring_sum_at(const struct px_ring *r, const uint32_t *b,
    const struct px_ring_spec *s, int64_t now_ms)
{
	int64_t n = bucket_of(s, now_ms);
	uint64_t sum = r->sum;
	int64_t k;

	if (n <= r->head)
		return sum;
	if (expires_all(r, s, n))
		return 0;
	for (k = r->head + 1; k <= n; k++)
		sum = drop(sum, b[slot_of(s, k)]);
	return sum;
}

/*
 * A clock behind head adds to the head bucket, not to its own: the event
 * is then counted at least as long as its true time asks (safe side). A
 * later px_ring_sub at the same time takes from the older bucket instead;
 * the total stays right until that bucket leaves and is too high (never
 * too low) until the head bucket leaves.
 */
void
px_ring_add(struct px_ring *r, uint32_t *b,
    const struct px_ring_spec *s, int64_t now_ms, uint32_t v)
{
	uint32_t i, room;

	px_ring_advance(r, b, s, now_ms);
	i = slot_of(s, r->head);
	room = UINT32_MAX - b[i];
	if (v > room)
		v = room;
	b[i] += v;
	r->sum += v;
}

void
px_ring_sub(struct px_ring *r, uint32_t *b,
    const struct px_ring_spec *s, int64_t at_ms, uint32_t v)
{
	int64_t k = bucket_of(s, at_ms);
	uint32_t i;

	/* head - k cannot overflow: k >= 0 and k <= head here. */
	if (k > r->head || r->head - k >= (int64_t)s->nb)
		return;
	i = slot_of(s, k);
	if (v > b[i])
		v = b[i];
	b[i] -= v;
	r->sum = drop(r->sum, v);
}

/*
 * Exact: with nothing added, sum_at(t) depends on t only through
 * bucket(t) and never grows as t grows; after now it changes only at the
 * instants (k + nb) * w when a bucket k leaves. So the first fitting
 * moment is now or one of those instants, and walking the buckets still
 * held after advancing to now (oldest first, each leaving later than the
 * one before) stops at the earliest. Safe: the answer is the ring's own
 * admission rule, so a request admitted then keeps every window within
 * limit (see the top of this file). It always ends: need <= limit and the
 * sum reaches 0 once the newest bucket has left.
 */
int64_t
px_ring_free_at(const struct px_ring *r, const uint32_t *b,
    const struct px_ring_spec *s, int64_t now_ms, uint64_t need,
    uint64_t limit)
{
	int64_t n, k;
	uint64_t left;

	if (need > limit)
		return INT64_MAX;
	left = px_ring_sum_at(r, b, s, now_ms);
	if (left <= limit - need)
		return now_ms;
	/* left > 0, so head > n - nb: the ring is not wholly expired. */
	n = bucket_of(s, now_ms);
	k = (n > r->head ? n : r->head) - (int64_t)s->nb + 1;
	for (; k <= r->head; k++) {
		left = drop(left, b[slot_of(s, k)]);
		if (left <= limit - need)
			return leave_time(s, k);
	}
	return leave_time(s, r->head);
}
