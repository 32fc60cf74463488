/*
 * ledger_rec.h -- the ledger's small records besides its windows, and
 * their stored bytes.
 * Owns: key health with lifetime counters, a provider's back-off with its
 * recent 429s, a key's "no quota for this model" marks, the round-robin
 * cursor, a calendar-day count, the leases of requests in flight, a
 * client key's lifetime totals; each with a version-1, little-endian
 * encoding shared by the LMDB store and Redis (ledger.lua reads and
 * writes the same offsets).
 * Never: policy (ledger.c decides what the fields become), I/O, clocks.
 *
 * Record names (the same in LMDB and, after the prefix, in Redis), where
 * <p> is the provider name and <id> the key's short id, never the key.
 * A scope is whatever a request draws on: k/<p>/<id> (a key),
 * km/<p>/<id>/<mid> (a key for one model_limits entry, <mid> its short
 * id), o/<owner>, om/<owner>/<mid>, c/<client name>. Per scope:
 *   m/<scope>     minute window (win.h)
 *   d/<scope>     day: a rolling window (win.h) or a calendar count
 *   l/<scope>     leases of requests in flight (with max_concurrent)
 * Per key, provider or client:
 *   h/<p>/<id>    health                  e/<p>/<id>    model marks
 *   p/<p>         provider back-off       rr/<p>        cursor (u32)
 *   t/c/<client>  a client key's lifetime totals
 *
 * Stored bytes, version 1, integers little-endian, offsets fixed:
 * health   'h' 1 | u8 state | u8 daily | u32 strikes | i64 cool_until
 *          | i64 probe_at | i64 probe_lease | u64 life_requests
 *          | u64 life_tokens | u64 life_errors | u8 len | reason[len]
 * provider 'p' 1 | u8 next | u8 0 | u32 strikes | i64 backoff_until
 *          | 16 x { i64 t | u32 key } | u8 len | reason[len]
 * marks    'e' 1 | u8 n | n x { i64 until | u8 len | model[len] }
 * calendar 'c' 1 | i64 day_start | u64 count   (requests that day)
 * leases   'l' 1 | u16 n | n x { u64 id | i64 expires }
 * totals   't' 1 | u64 requests | u64 tokens
 */
#ifndef PX_LEDGER_REC_H
#define PX_LEDGER_REC_H

#include <stddef.h>
#include <stdint.h>

enum px_key_state { PX_KEY_ACTIVE = 0, PX_KEY_COOLING, PX_KEY_DISABLED };
/* "active", "cooling", "disabled" (an unknown value reads as active): the
 * one vocabulary of /v1/usage, /metrics and aiproxy ctl. */
const char *px_key_state_name(unsigned state);

#define PX_REASON_MAX 64	/* reasons are cut to 63 bytes */
#define PX_RECENT_429 16	/* 429s remembered per provider */
#define PX_ENT_SLOTS  8		/* "limit: 0" marks per key */
#define PX_ENT_MODEL  120	/* model names are cut to 119 bytes */

struct px_health {
	uint32_t state;		/* enum px_key_state */
	uint32_t daily;		/* cooling for a per-day quota */
	uint32_t strikes;	/* 429s without a hint in a row */
	int64_t  cool_until_ms;	/* COOLING: not eligible before */
	int64_t  probe_at_ms;	/* DISABLED: one probe from then */
	int64_t  probe_lease_ms;/* a probe is in flight until then */
	uint64_t life_requests;
	uint64_t life_tokens;
	uint64_t life_errors;
	char     reason[PX_REASON_MAX];
};

struct px_provrec {
	int64_t  backoff_until_ms;
	uint32_t strikes;
	uint32_t next;		/* ring position in recent[] */
	struct { int64_t t; uint32_t key; } recent[PX_RECENT_429];
	char     reason[PX_REASON_MAX];
};

struct px_entrec {
	uint32_t n;
	struct {
		int64_t until_ms;
		char    model[PX_ENT_MODEL];
	} e[PX_ENT_SLOTS];
};

#define PX_HEALTH_MAXBYTES (57 + PX_REASON_MAX)
#define PX_PROVREC_MAXBYTES (16 + 12 * PX_RECENT_429 + 1 + PX_REASON_MAX)
#define PX_ENTREC_MAXBYTES (3 + PX_ENT_SLOTS * (9 + PX_ENT_MODEL))

/* Encoders return the length written (out holds the *_MAXBYTES above).
 * Decoders: 0 and the record (len 0, no record yet, is all zero); -1 for
 * bytes that are not a version-1 record of the kind, leaving it zero. */
size_t px_health_encode(const struct px_health *h, unsigned char *out);
int px_health_decode(struct px_health *h, const void *p, size_t len);
size_t px_provrec_encode(const struct px_provrec *r, unsigned char *out);
int px_provrec_decode(struct px_provrec *r, const void *p, size_t len);
size_t px_entrec_encode(const struct px_entrec *r, unsigned char *out);
int px_entrec_decode(struct px_entrec *r, const void *p, size_t len);

/* Requests counted in the calendar day that began at day_start. */
struct px_calrec {
	int64_t  day_start;
	uint64_t count;
};

/* Requests in flight on a scope with max_concurrent: each holds a lease
 * (a random id below 2^53, so Lua's doubles keep it exact) until it is
 * settled or, if its responder died, until it expires. */
#define PX_LEASES_MAX 1000	/* max_concurrent is at most this */
struct px_leases {
	uint32_t n;
	struct { uint64_t id; int64_t expires_ms; } e[PX_LEASES_MAX];
};

struct px_totals {
	uint64_t requests;
	uint64_t tokens;
};

#define PX_CALREC_BYTES 18
#define PX_LEASES_MAXBYTES (4 + 16 * PX_LEASES_MAX)
#define PX_TOTALS_BYTES 18

size_t px_calrec_encode(const struct px_calrec *r, unsigned char *out);
int px_calrec_decode(struct px_calrec *r, const void *p, size_t len);
size_t px_leases_encode(const struct px_leases *r, unsigned char *out);
int px_leases_decode(struct px_leases *r, const void *p, size_t len);
size_t px_totals_encode(const struct px_totals *r, unsigned char *out);
int px_totals_decode(struct px_totals *r, const void *p, size_t len);

/* The cursor: a u32, little-endian; absent or damaged reads UINT32_MAX
 * (nothing picked yet). */
void px_cursor_encode(uint32_t c, unsigned char out[4]);
uint32_t px_cursor_decode(const void *p, size_t len);

/* reason into dst[PX_REASON_MAX], cut at a byte boundary; NULL is "". */
void px_rec_set_reason(char *dst, const char *why);

#endif
