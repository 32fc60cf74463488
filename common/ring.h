/*
 * ring.h -- rolling time windows as rings of fixed-width time buckets.
 * Owns: the arithmetic of the per-key windows of the quota ledger: 60 s in
 * 100 ms buckets (requests and tokens per minute) and 24 h in 60 s buckets
 * (requests per day), plus "when will this much room be free again".
 * Never: I/O, clocks or allocation; time is passed in (ms since the epoch),
 * and the buckets live in the caller's memory (the ledger's LMDB records).
 *
 * Safe side: a ring of window/width + 1 buckets counts every event younger
 * than the window, and may count one bucket's worth of older events too.
 * So a limit checked against it is never exceeded in any window; the cost
 * is at most one bucket width of delay before a slot frees (100 ms of 60 s,
 * 60 s of 24 h: under 0.2 % of capacity).
 */
#ifndef PX_RING_H
#define PX_RING_H

#include <stdint.h>

struct px_ring_spec {
	uint32_t width_ms;	/* bucket width */
	uint32_t nb;		/* buckets: window_ms / width_ms + 1 */
	int64_t  window_ms;	/* the window being enforced */
};

extern const struct px_ring_spec px_ring_minute;	/* 100 ms x 601 */
extern const struct px_ring_spec px_ring_day;		/* 60 s x 1441 */

#define PX_RING_MINUTE_NB 601
#define PX_RING_DAY_NB    1441

/* Header of one ring; the nb buckets (uint32_t) are stored beside it.
 * All zero is a valid empty ring. */
struct px_ring {
	int64_t  head;	/* bucket number (t / width_ms) of the newest bucket */
	uint64_t sum;	/* sum of all nb buckets */
};

/* Move the ring to now: buckets that left the window are zeroed and
 * subtracted. A clock that went backwards changes nothing. */
void px_ring_advance(struct px_ring *r, uint32_t *b,
    const struct px_ring_spec *s, int64_t now_ms);
/* The sum the ring would have after px_ring_advance(now), without
 * changing it (for read-only transactions). */
uint64_t px_ring_sum_at(const struct px_ring *r, const uint32_t *b,
    const struct px_ring_spec *s, int64_t now_ms);
/* Advance to now, then add v to the current bucket (saturating). */
void px_ring_add(struct px_ring *r, uint32_t *b,
    const struct px_ring_spec *s, int64_t now_ms, uint32_t v);
/* Take back up to v from the bucket of time at_ms (an earlier add), if
 * that bucket is still in the ring; never below zero. */
void px_ring_sub(struct px_ring *r, uint32_t *b,
    const struct px_ring_spec *s, int64_t at_ms, uint32_t v);
/*
 * Earliest time t >= now_ms at which px_ring_sum_at(t) + need <= limit,
 * assuming nothing else is added. now_ms itself when it fits already;
 * INT64_MAX when it can never fit (need > limit).
 */
int64_t px_ring_free_at(const struct px_ring *r, const uint32_t *b,
    const struct px_ring_spec *s, int64_t now_ms, uint64_t need,
    uint64_t limit);

#endif
