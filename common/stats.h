/*
 * stats.h -- the installation-wide request counters behind /metrics:
 * requests by route and status class, upstream attempts by outcome, our
 * own 429s by exhausted limit, and two latency histograms with fixed
 * buckets.
 * Owns: the counter layout (one flat array of uint64 indexed by the
 * functions below, the same in every responder and in the ledger's
 * stats record), the per-process accumulator that request threads add
 * to without locks, and the record's byte encoding.
 * Never: I/O. The ledger (px_ledger_stats_flush / _read) moves the
 * accumulated deltas into its shared record about once a second, so
 * any responder answers for all; metrics.c renders them.
 * Only requests that carried a valid access key are counted: a request
 * without it has no side effect on shared state.
 */
#ifndef PX_STATS_H
#define PX_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Routes as /metrics labels them; the dialect follows from the route. */
enum px_st_route {
	PX_ST_CHAT = 0, PX_ST_RESPONSES, PX_ST_MESSAGES, PX_ST_COUNT_TOKENS,
	PX_ST_EMBEDDINGS, PX_ST_MODELS, PX_ST_USAGE, PX_ST_METRICS,
	PX_ST_PAGE, PX_ST_OTHER, PX_ST_ROUTE__MAX
};
/* Status classes: 2xx, 3xx, 4xx, 5xx (anything else counts as 5xx). */
enum { PX_ST_CLASSES = 4 };
/* The provider that served (or was last tried): none, then by id. */
enum { PX_ST_PROVS = PX_PROV__MAX + 1 };

/* One upstream attempt's outcome class. */
enum px_st_attempt {
	PX_ST_ATT_OK = 0, PX_ST_ATT_RATE_LIMITED, PX_ST_ATT_AUTH,
	PX_ST_ATT_UPSTREAM_5XX, PX_ST_ATT_TIMEOUT, PX_ST_ATT_CONNECT,
	PX_ST_ATT_CLIENT_4XX, PX_ST_ATT__MAX
};

/* Our own 429s: px_limit order (ledger.h), then "not entitled". */
enum { PX_ST_LIMITS = 6 };

/* Histogram upper bounds in microseconds (a last +Inf bucket follows).
 * Upstream latency: from sending the request to the last byte. Proxy
 * overhead: the request's total time minus its upstream time. */
#define PX_ST_UP_BUCKETS 13
#define PX_ST_OH_BUCKETS 11
extern const uint64_t px_st_up_le_us[PX_ST_UP_BUCKETS];
extern const uint64_t px_st_oh_le_us[PX_ST_OH_BUCKETS];

/* The flat layout: offsets of each family in the array. */
enum {
	PX_ST_REQ_OFF = 0,
	PX_ST_ATT_OFF = PX_ST_REQ_OFF +
	    PX_ST_ROUTE__MAX * PX_ST_PROVS * PX_ST_CLASSES,
	PX_ST_LIM_OFF = PX_ST_ATT_OFF + PX_ST_PROVS * PX_ST_ATT__MAX,
	/* per provider: buckets + Inf, then sum (us), then count */
	PX_ST_UP_OFF = PX_ST_LIM_OFF + PX_ST_LIMITS,
	PX_ST_UP_STRIDE = PX_ST_UP_BUCKETS + 3,
	PX_ST_OH_OFF = PX_ST_UP_OFF + PX_ST_PROVS * PX_ST_UP_STRIDE,
	PX_ST_N = PX_ST_OH_OFF + PX_ST_OH_BUCKETS + 3
};

size_t px_st_req(enum px_st_route r, int prov, int status);
size_t px_st_att(int prov, enum px_st_attempt a);
size_t px_st_lim(int limit);
/* The histogram's first slot; buckets are cumulative when rendered. */
size_t px_st_up(int prov);
size_t px_st_oh(void);

/* prov for the arrays: -1 (none) or a px_provider_id -> 0.. */
static inline int
px_st_prov(int provider_id)
{
	return provider_id < 0 || provider_id >= PX_PROV__MAX ? 0 :
	    provider_id + 1;
}

const char *px_st_route_name(enum px_st_route r);
const char *px_st_dialect_name(enum px_st_route r);
const char *px_st_attempt_name(enum px_st_attempt a);
const char *px_st_prov_name(int prov);		/* "none", "openrouter" */

/* --- the per-process accumulator (lock-free adds, swap on flush) ------- */

void px_stats_add(size_t idx, uint64_t n);
/* One latency observation into the histogram that starts at base. */
void px_stats_observe(size_t base, const uint64_t *le, size_t nb,
    uint64_t us);
/* Move everything added so far into delta[PX_ST_N] (zeroing it here);
 * returns 0 when there was nothing. */
int px_stats_take(uint64_t delta[PX_ST_N]);
/* Give a delta back after a failed flush (it is sent next time). */
void px_stats_return(const uint64_t delta[PX_ST_N]);

/* --- the shared record: "S", version 1, count, then count LE uint64 ---- */

#define PX_ST_ENC_MAX (6 + 8 * PX_ST_N)
size_t px_stats_encode(const uint64_t v[PX_ST_N], unsigned char *out);
/* Missing trailing counters (an older, shorter layout) read as 0; extra
 * ones are ignored. -1 on a malformed record. */
int px_stats_decode(const unsigned char *p, size_t n, uint64_t v[PX_ST_N]);

#endif
