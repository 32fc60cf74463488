/*
 * keysel.h -- which key serves a request: the seed's three rules, exact.
 * Owns: (1) only keys with room in every window (and not cooling down or
 * disabled: the caller says) are eligible; (2) a key's usage percentage is
 * requests in the last 24 h / max_request_day * 100, and eligible keys
 * within model_usage_gap_percentage points of the least-used eligible key
 * are candidates; (3) among candidates, round robin after a cursor, so
 * concurrent requests spread instead of stampeding one key. With gap 0 the
 * least-used key always wins (ties in round-robin order).
 * Never: I/O or clocks; pure function of its inputs.
 */
#ifndef PX_KEYSEL_H
#define PX_KEYSEL_H

#include <stddef.h>
#include <stdint.h>

struct px_keyview {
	int      eligible;	/* room in every window, not cooling/disabled */
	uint64_t req_day;	/* requests in the last 24 h */
	uint64_t max_req_day;	/* >= 1 */
};

/*
 * Pick among n keys (n <= 2^31). cursor is the index of the key picked
 * last time for this provider (any value; taken modulo n). Returns the
 * chosen index, or -1 when no key is eligible.
 */
long px_keysel_pick(const struct px_keyview *v, size_t n, double gap_pct,
    uint32_t cursor);

/* The usage percentage rule (2), shared with /v1/usage. */
double px_keysel_usage_pct(uint64_t req_day, uint64_t max_req_day);

#endif
