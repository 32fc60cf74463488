/*
 * ring_ref.h -- TEST ORACLE, not product code: the dense time-bucket rings
 * the ledger used before win.h, copied from common/ring.h and common/ring.c
 * as of commit f6f0c82 (see them with `git show f6f0c82:common/ring.c`).
 * Every name carries a ref_ prefix and every function is static, so the
 * copy lives only inside the test that includes it.
 * Owns: a second, independent implementation of the window arithmetic
 * (one uint32_t per bucket, nb of them, one column per ring) that
 * test_win.c drives with the same operations as a struct px_win and
 * compares on every step.
 * Never: included outside tests/unit/test_win.c, or edited to agree with
 * win.c: when the two disagree, find out which one is wrong. The logic
 * below is the f6f0c82 code unchanged; only names, linkage and comments
 * differ.
 */
#ifndef PX_RING_REF_H
#define PX_RING_REF_H

#include <stdint.h>

struct ref_ring_spec {
	uint32_t width_ms;	/* bucket width */
	uint32_t nb;		/* buckets: window_ms / width_ms + 1 */
	int64_t  window_ms;	/* the window being enforced */
};

#define REF_RING_MINUTE_NB 601
#define REF_RING_DAY_NB    1441

static const struct ref_ring_spec ref_ring_minute = {
	100, REF_RING_MINUTE_NB, 60000
};
static const struct ref_ring_spec ref_ring_day = {
	60000, REF_RING_DAY_NB, 86400000
};

/* Header of one ring; the nb buckets (uint32_t) are stored beside it.
 * All zero is a valid empty ring. */
struct ref_ring {
	int64_t  head;	/* bucket number (t / width_ms) of the newest bucket */
	uint64_t sum;	/* sum of all nb buckets */
};

/* Bucket number of time t; times before the epoch fall in bucket 0. */
static int64_t
ref_bucket_of(const struct ref_ring_spec *s, int64_t t)
{
	if (t < 0)
		return 0;
	return t / (int64_t)s->width_ms;
}

/* Array index of bucket k, never outside the array. */
static uint32_t
ref_slot_of(const struct ref_ring_spec *s, int64_t k)
{
	int64_t i = k % (int64_t)s->nb;

	if (i < 0)
		i += s->nb;
	return (uint32_t)i;
}

/* Would moving head to bucket n (> head) expire every bucket? */
static int
ref_expires_all(const struct ref_ring *r, const struct ref_ring_spec *s,
    int64_t n)
{
	return r->head <= n - (int64_t)s->nb;
}

/* sum - v, never below zero. */
static uint64_t
ref_drop(uint64_t sum, uint32_t v)
{
	return sum > v ? sum - v : 0;
}

/* The moment bucket k leaves the ring: when bucket k + nb begins. */
static int64_t
ref_leave_time(const struct ref_ring_spec *s, int64_t k)
{
	int64_t w = (int64_t)s->width_ms;

	if (k > INT64_MAX / w - (int64_t)s->nb)
		return INT64_MAX;
	return (k + (int64_t)s->nb) * w;
}

static void
ref_ring_advance(struct ref_ring *r, uint32_t *b,
    const struct ref_ring_spec *s, int64_t now_ms)
{
	int64_t n = ref_bucket_of(s, now_ms);
	int64_t k;
	uint32_t i;

	if (n <= r->head)
		return;
	if (ref_expires_all(r, s, n)) {
		for (i = 0; i < s->nb; i++)
			b[i] = 0;
		r->sum = 0;
		r->head = n;
		return;
	}
	for (k = r->head + 1; k <= n; k++) {
		i = ref_slot_of(s, k);
		r->sum = ref_drop(r->sum, b[i]);
		b[i] = 0;
	}
	r->head = n;
}

static uint64_t
ref_ring_sum_at(const struct ref_ring *r, const uint32_t *b,
    const struct ref_ring_spec *s, int64_t now_ms)
{
	int64_t n = ref_bucket_of(s, now_ms);
	uint64_t sum = r->sum;
	int64_t k;

	if (n <= r->head)
		return sum;
	if (ref_expires_all(r, s, n))
		return 0;
	for (k = r->head + 1; k <= n; k++)
		sum = ref_drop(sum, b[ref_slot_of(s, k)]);
	return sum;
}

/* A clock behind head adds to the head bucket, not to its own. */
static void
ref_ring_add(struct ref_ring *r, uint32_t *b,
    const struct ref_ring_spec *s, int64_t now_ms, uint32_t v)
{
	uint32_t i, room;

	ref_ring_advance(r, b, s, now_ms);
	i = ref_slot_of(s, r->head);
	room = UINT32_MAX - b[i];
	if (v > room)
		v = room;
	b[i] += v;
	r->sum += v;
}

static void
ref_ring_sub(struct ref_ring *r, uint32_t *b,
    const struct ref_ring_spec *s, int64_t at_ms, uint32_t v)
{
	int64_t k = ref_bucket_of(s, at_ms);
	uint32_t i;

	/* head - k cannot overflow: k >= 0 and k <= head here. */
	if (k > r->head || r->head - k >= (int64_t)s->nb)
		return;
	i = ref_slot_of(s, k);
	if (v > b[i])
		v = b[i];
	b[i] -= v;
	r->sum = ref_drop(r->sum, v);
}

/* Earliest t >= now_ms at which ref_ring_sum_at(t) + need <= limit,
 * nothing else added; INT64_MAX when need > limit. */
static int64_t
ref_ring_free_at(const struct ref_ring *r, const uint32_t *b,
    const struct ref_ring_spec *s, int64_t now_ms, uint64_t need,
    uint64_t limit)
{
	int64_t n, k;
	uint64_t left;

	if (need > limit)
		return INT64_MAX;
	left = ref_ring_sum_at(r, b, s, now_ms);
	if (left <= limit - need)
		return now_ms;
	/* left > 0, so head > n - nb: the ring is not wholly expired. */
	n = ref_bucket_of(s, now_ms);
	k = (n > r->head ? n : r->head) - (int64_t)s->nb + 1;
	for (; k <= r->head; k++) {
		left = ref_drop(left, b[ref_slot_of(s, k)]);
		if (left <= limit - need)
			return ref_leave_time(s, k);
	}
	return ref_leave_time(s, r->head);
}

#endif
