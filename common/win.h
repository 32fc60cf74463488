/*
 * win.h -- rolling time windows kept as sparse lists of time buckets, and
 * their stored encoding.
 * Owns: the arithmetic of every ledger window -- 60 s in 100 ms buckets
 * (requests and tokens per minute) and 24 h in 60 s buckets (requests per
 * day) -- "when will this much room be free again", and the versioned,
 * little-endian bytes a window is stored as (in LMDB and in Redis, where
 * ledger.lua reads and writes the same bytes).
 * Never: I/O, clocks or allocation; time is passed in (ms since the epoch).
 *
 * A window holds only buckets that saw something, oldest first, so a key
 * used 15 times a minute stores 15 buckets, not 601: a request rewrites a
 * few dozen bytes instead of kilobytes.
 *
 * Safe side: the window counts every event younger than window_ms, and
 * may count events up to one bucket width older. So a limit checked
 * against it is never exceeded in any window; the cost is at most one
 * bucket width of delay before a slot frees (100 ms of 60 s, 60 s of 24 h:
 * under 0.2 % of capacity). Why: bucket k covers [k*w, (k+1)*w); at now,
 * with n = floor(now/w) and nb - 1 = window/w, the window holds buckets
 * n-nb+1 .. n, which start at (n-nb+1)*w = n*w - window <= now - window.
 * Every event aged at most window is counted and none aged window + w or
 * more. Admitting at x only when sum_at(x) + need <= limit means the events
 * of any closed span [a, a + window] ending at x were all counted when x
 * was admitted, so no such span ever holds more than limit.
 *
 * Stored bytes (version 1; every integer little-endian):
 *   u8 kind ('m' minute, 'd' day)  u8 version (1)  u16 n
 *   i64 head (the newest bucket the window was moved to)
 *   u64 sum[ncol]                   (the column totals of the entries)
 *   n x { u16 slot (bucket mod nb), u32 value[ncol] }, oldest first
 * A slot names its bucket because every entry lies within nb buckets of
 * head: bucket = head - ((head - slot) mod nb).
 */
#ifndef PX_WIN_H
#define PX_WIN_H

#include <stddef.h>
#include <stdint.h>

#define PX_WIN_MAXCOL 2
#define PX_WIN_MAXNB  1441

struct px_win_spec {
	uint32_t width_ms;	/* bucket width */
	uint32_t nb;		/* buckets: window_ms / width_ms + 1 */
	int64_t  window_ms;	/* the window being enforced */
	unsigned ncol;		/* values per bucket */
	unsigned char kind;	/* first byte of the stored form */
};

/* 100 ms x 601, columns requests and tokens; 60 s x 1441, requests. */
extern const struct px_win_spec px_win_minute;
extern const struct px_win_spec px_win_day;

#define PX_WIN_REQ 0
#define PX_WIN_TOK 1

/* A decoded window. All zero is a valid empty window. */
struct px_win {
	int64_t  head;			/* newest bucket moved to */
	uint32_t n;			/* entries, oldest first */
	uint64_t sum[PX_WIN_MAXCOL];	/* column totals of the entries */
	int64_t  b[PX_WIN_MAXNB];	/* bucket numbers, increasing */
	uint32_t v[PX_WIN_MAXNB][PX_WIN_MAXCOL];
};

void px_win_clear(struct px_win *w);

/* Move the window to now: buckets that left it are dropped. A clock that
 * went backwards changes nothing. */
void px_win_advance(struct px_win *w, const struct px_win_spec *s,
    int64_t now_ms);
/* Column col as px_win_advance(now) would leave it, without changing w. */
uint64_t px_win_sum_at(const struct px_win *w, const struct px_win_spec *s,
    int64_t now_ms, unsigned col);
/* Advance to now, then add v[0..ncol) to the newest bucket (saturating).
 * A clock behind head adds to the head bucket, not its own: the event is
 * then counted at least as long as its true time asks (safe side). */
void px_win_add(struct px_win *w, const struct px_win_spec *s,
    int64_t now_ms, const uint32_t *v);
/* Take back up to v from column col of the bucket of time at_ms (an
 * earlier add), if that bucket is still held; never below zero. A bucket
 * left empty in every column is dropped. */
void px_win_sub(struct px_win *w, const struct px_win_spec *s,
    int64_t at_ms, unsigned col, uint32_t v);
/*
 * Earliest t >= now_ms at which sum_at(t, col) + need <= limit, assuming
 * nothing else is added: now_ms when it fits already, INT64_MAX when it
 * never can (need > limit).
 */
int64_t px_win_free_at(const struct px_win *w, const struct px_win_spec *s,
    int64_t now_ms, unsigned col, uint64_t need, uint64_t limit);

/* Bytes px_win_encode needs at most for spec s. */
size_t px_win_maxbytes(const struct px_win_spec *s);
/* The stored form of w into out[0..cap); its length, or 0 if cap is too
 * small. */
size_t px_win_encode(const struct px_win *w, const struct px_win_spec *s,
    unsigned char *out, size_t cap);
/*
 * Read a stored window. 0: w holds it. -1: the bytes are not a version-1
 * window of this spec (wrong kind, length, order, slot or totals); w is
 * then empty. len 0 (no record yet) is an empty window and returns 0.
 */
int px_win_decode(struct px_win *w, const struct px_win_spec *s,
    const void *p, size_t len);

#endif
