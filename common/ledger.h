/*
 * ledger.h -- the shared quota ledger: exact per-key limits across every
 * responder thread, process and (with Redis) host; load balancing; usage
 * counters.
 * Owns: the policy -- choosing and reserving a key in ONE atomic step (so
 * two threads, processes or hosts can never both take the last slot),
 * settling a reservation with the real usage and the attempt's verdict,
 * the numbers behind Retry-After -- over a backend that keeps the records
 * (LMDB on one host, the default; Redis for several: ledger_int.h), and
 * the snapshot that /v1/usage and other readers render.
 * Never: renders anything, or holds a transaction or a backend call
 * across an upstream call.
 * Time is passed in (ms since the epoch), so tests inject it. The Redis
 * backend uses the server's clock instead (hosts may disagree), unless a
 * test asks for the caller's: AIPROXY_TEST_LEDGER_CALLER_CLOCK=1 (a test
 * knob read at open, never for production; the unit suites set it to run
 * on injected time against Redis).
 *
 * Token estimate (README "Limits"): a request reserves ceil(prompt_bytes/4)
 * tokens (at least 1) of max_token_min; when it ends the reservation is
 * replaced by the upstream's usage.total_tokens (completion included).
 */
#ifndef PX_LEDGER_H
#define PX_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "err.h"
#include "ledger_rec.h"
#include "retryhint.h"
#include "router.h"

struct px_ledger;

/* Open the ledger under cfg's state directory (after fork). */
enum px_err px_ledger_open(struct px_ledger **out, const struct px_config *cfg,
    char *detail, size_t cap);
void px_ledger_close(struct px_ledger *lg);	/* NULL-safe */
/* The state environment under the ledger, for the other caches kept in it
 * (thought signatures); NULL for NULL. */
struct px_store;
struct px_store *px_ledger_store(struct px_ledger *lg);
/* Stale readers cleared and state synced: about once a second. */
void px_ledger_maintain(struct px_ledger *lg);

/* A reservation, carried by the request until it is settled. */
struct px_lease {
	const char *model;		/* the candidate that got a key */
	enum px_provider_id provider;
	const struct px_provider_cfg *group;
	const struct px_key_cfg *key;
	const struct px_client_cfg *client;	/* the client key, or NULL */
	int64_t  t_ms;			/* when it was taken */
	uint32_t tokens;		/* estimate booked */
	uint64_t id;			/* its lease on every max_concurrent
					 * scope (0: none holds one) */
};

/*
 * Requests in flight (max_concurrent) hold a lease per capped scope from
 * reservation to settlement. A lease not renewed for lease_ttl_s (config)
 * expires by itself: that is how long the leases of a responder killed
 * mid-request can hold a slot. The request renews its leases every
 * quarter of that while it waits for or relays the upstream.
 */

/* Which limit kept a request out (after PX_ERATE), for the 429's code. */
enum px_limit {
	PX_LIMIT_KEY = 0,	/* key_rate_limit: the keys' own windows,
				 * cooldowns, back-off */
	PX_LIMIT_OWNER,		/* owner_rate_limit */
	PX_LIMIT_MODEL,		/* model_rate_limit: a model_limits entry */
	PX_LIMIT_CONCURRENCY,	/* concurrency_limit: max_concurrent */
	PX_LIMIT_CLIENT,	/* client_rate_limit: the client key's own */
	PX_LIMIT__MAX
};
const char *px_limit_code(enum px_limit l);	/* "key_rate_limit", ... */

/* Scratch for one reservation; one per worker thread. */
struct px_ledger_scratch;
struct px_ledger_scratch *px_ledger_scratch_new(const struct px_config *cfg);
void px_ledger_scratch_free(struct px_ledger_scratch *s);

/*
 * Walk the candidates in order and reserve one request and `tokens` on the
 * best key of the first provider with room. PX_OK: lease filled.
 * PX_ERATE: no key has room; *retry_ms is the time until the earliest slot
 * frees (>= 1). PX_EBADREQ: the estimate alone exceeds every key's
 * max_token_min. PX_ESTORE: the store failed. PX_EUNAVAIL: the shared
 * backend (Redis) cannot be reached or timed out; nothing was reserved,
 * and the request must not go upstream (fail closed).
 */
enum px_err px_ledger_reserve(struct px_ledger *lg,
    struct px_ledger_scratch *s, const struct px_candidate *c, size_t nc,
    uint32_t tokens, int64_t now_ms, struct px_lease *lease,
    int64_t *retry_ms);

enum px_settle {
	PX_SETTLE_DONE = 0,		/* tokens: real usage, or -1 keep estimate */
	PX_SETTLE_RELEASE_TOKENS = 1,	/* nothing was generated */
	PX_SETTLE_RELEASE_ALL = 2	/* the request did not count upstream */
};

/* End a lease: book `tokens` (>= 0) in place of the estimate, or keep the
 * estimate (-1); or release it. `failed` counts an error for the key
 * (without blaming it: px_ledger_settle_ex says whose fault it was). */
enum px_err px_ledger_settle(struct px_ledger *lg,
    struct px_ledger_scratch *s, const struct px_lease *lease,
    enum px_settle how, long tokens, int failed, int64_t now_ms);

/*
 * What one upstream attempt showed about its key. Key health follows it,
 * in the same transaction as the settlement:
 * NONE: the key is healthy again (a cooldown's escalation and a disabled
 *   key's probe end here);
 * RATE: the key cools until until_ms, or, without a hint, for 10 s, 30 s,
 *   60 s, then 5 min on repeated 429s; when several keys of the provider
 *   (at least 2, and half of them) get a 429 within 10 s, the provider
 *   backs off instead and those keys are not penalised;
 * AUTH: the key is disabled; one probe request is let through after
 *   key_reprobe_s, and a success brings it back;
 * ENTITLEMENT: the (key, model) pair is out until until_ms, the key's
 *   other models and its state untouched;
 * UPSTREAM, CLIENT: no penalty (an error is counted).
 */
struct px_verdict {
	enum px_fault fault;
	int64_t     until_ms;	/* RATE: hint, 0 none */
	int         daily;	/* RATE: a per-day quota */
	const char *reason;	/* fixed vocabulary (retryhint.c), or NULL */
};

enum px_err px_ledger_settle_ex(struct px_ledger *lg,
    struct px_ledger_scratch *s, const struct px_lease *lease,
    enum px_settle how, long tokens, const struct px_verdict *v,
    int64_t now_ms);

/* px_ledger_reserve, never choosing a key in exclude[0..nexclude) (the
 * keys a request already tried). */
enum px_err px_ledger_reserve_ex(struct px_ledger *lg,
    struct px_ledger_scratch *s, const struct px_candidate *c, size_t nc,
    uint32_t tokens, const struct px_key_cfg *const *exclude,
    size_t nexclude, int64_t now_ms, struct px_lease *lease,
    int64_t *retry_ms);

/*
 * Everything one reservation asks for: the candidates in order, the token
 * estimate, keys not to use (the keys a request already tried), and the
 * client key whose own limits apply too (NULL: the admin key, none).
 */
struct px_ask {
	const struct px_candidate *c;
	size_t   nc;
	uint32_t tokens;
	const struct px_key_cfg *const *exclude;
	size_t   nexclude;
	const struct px_client_cfg *client;
};

/* px_ledger_reserve for an ask: a key is admitted only if the key, its
 * owner, the (key, model) and (owner, model) windows, the concurrency
 * caps and the client key's windows all have room, in one atomic step;
 * PX_ERATE then says which limit (px_ledger_limit). */
enum px_err px_ledger_reserve_ask(struct px_ledger *lg,
    struct px_ledger_scratch *s, const struct px_ask *ask, int64_t now_ms,
    struct px_lease *lease, int64_t *retry_ms);

/* After PX_ERATE: the limit that held back the key that frees first. */
enum px_limit px_ledger_limit(const struct px_ledger_scratch *s);

/* Extend the lease's hold on its max_concurrent scopes (no-op without
 * one). Called every PX_LEASE_RENEW_MS while the request is in flight. */
enum px_err px_ledger_renew(struct px_ledger *lg,
    struct px_ledger_scratch *s, const struct px_lease *lease,
    int64_t now_ms);

/* After a PX_ERATE from px_ledger_reserve_ex: every key it could have
 * used was held back only because its project has no quota at all for
 * the model (a Gemini "limit: 0", marked until the daily reset). */
int px_ledger_not_entitled(const struct px_ledger_scratch *s);

/* --- the operator's acts (aiproxy ctl) ---------------------------------- */

enum px_admin_op {
	PX_ADMIN_DISABLE = 0,	/* out of service until enabled: no probe;
				 * reason "operator: TEXT" */
	PX_ADMIN_ENABLE,	/* active again: cooldown, strikes, probe and
				 * reason cleared */
	PX_ADMIN_RESET		/* windows (minute, day, leases) of the key
				 * and its model entries, its cooldown,
				 * strikes and "no quota" marks cleared; a
				 * disabled key stays disabled; lifetime
				 * counters kept */
};

/* One act on key (of group), or with key NULL RESET on everything: every
 * key, owner, model entry and client window and each provider's
 * back-off (client lifetime totals kept). One atomic step per backend.
 * reason: DISABLE only, may be NULL. */
enum px_err px_ledger_admin(struct px_ledger *lg,
    struct px_ledger_scratch *s, enum px_admin_op op,
    const struct px_provider_cfg *group, const struct px_key_cfg *key,
    const char *reason, int64_t now_ms);

/* A key the ledger remembers that the config no longer names: its
 * health record (lifetime counters, state) outlives it, so a removed
 * key's history stays readable. */
struct px_retired {
	enum px_provider_id provider;
	char id[16];
	struct px_health h;
};
#define PX_RETIRED_MAX 10000	/* read at most this many */

/* The retired keys into out[0..cap), *n of them (the first cap found). */
enum px_err px_ledger_retired(struct px_ledger *lg,
    struct px_ledger_scratch *s, struct px_retired *out, size_t cap,
    size_t *n);

/* --- installation-wide counters (stats.h) --------------------------------- */

/* Move this process's counters into the shared record (about once a
 * second, from the maintenance call; never per request). On failure the
 * delta is kept for the next flush. */
enum px_err px_ledger_stats_flush(struct px_ledger *lg,
    struct px_ledger_scratch *s);
/* The shared counters, plus this process's not yet flushed, into
 * out[PX_ST_N] (a read: no write, whoever asks). */
enum px_err px_ledger_stats_read(struct px_ledger *lg,
    struct px_ledger_scratch *s, uint64_t *out);

/* --- snapshot: what readers see ------------------------------------------ */

#define PX_SNAP_HOURS 24

/* One key as of the snapshot's moment. */
struct px_snap_key {
	enum px_provider_id provider;
	const struct px_provider_cfg *group;	/* its limits */
	const struct px_key_cfg *key;		/* its id (never show secret) */
	uint64_t req_min;	/* requests in the rolling minute */
	uint64_t tok_min;	/* tokens in the rolling minute */
	uint64_t req_day;	/* requests in the rolling 24 h */
	uint64_t life_requests, life_tokens, life_errors;
	enum px_key_state state;	/* a cooldown over by now is ACTIVE */
	int64_t  until_ms;	/* COOLING: end; DISABLED: next probe; else 0 */
	char     reason[PX_REASON_MAX];	/* "" when ACTIVE */
	size_t   nent;		/* live "no quota for this model" marks */
	struct { int64_t until_ms; char model[PX_ENT_MODEL]; } ent[PX_ENT_SLOTS];
	uint64_t in_flight;	/* leases held (with max_concurrent) */
	const char *day_reset;	/* "rolling", "utc", "pacific" */
	int64_t  resets_at_ms;	/* a calendar day's next reset; 0 rolling */
	uint64_t day_hist[PX_SNAP_HOURS];	/* requests per hour of the
					 * last 24 h, oldest first, the last
					 * ending now (rolling days only) */
};

/* An owner, a (key or owner, model_limits entry) pair, or a client key,
 * as of the snapshot's moment. Limits are 0 when none. */
enum px_snap_kind { PX_SNAP_KEY_MODEL = 0, PX_SNAP_OWNER,
    PX_SNAP_OWNER_MODEL, PX_SNAP_CLIENT };
struct px_snap_scope {
	enum px_snap_kind kind;
	size_t   parent;	/* KEY_MODEL: its key in keys[]; OWNER_MODEL:
				 * its owner in scopes[] */
	const char *name;	/* the model pattern, owner or client name */
	const struct px_client_cfg *client;	/* CLIENT */
	uint64_t req_min, tok_min, req_day, in_flight;
	uint64_t max_request_min, max_request_day, max_token_min,
	    max_concurrent;
	const char *day_reset;	/* "rolling", "utc", "pacific" */
	int64_t  resets_at_ms;	/* a calendar day's next reset; 0 rolling */
	uint64_t life_requests, life_tokens;	/* CLIENT */
};

struct px_snap_provider {
	int      present;	/* the config has keys of it */
	size_t   first, nkeys;	/* its keys: keys[first .. first+nkeys) */
	uint64_t req_day;	/* sum over its keys */
	uint64_t capacity;	/* sum of their max_request_day */
	int64_t  backoff_until_ms;	/* 0 unless backing off at now */
	uint64_t day_hist[PX_SNAP_HOURS];	/* sum over its keys */
};

struct px_snapshot {
	int64_t  now_ms;	/* the moment (the backend's clock) */
	const char *backend;	/* "lmdb", "redis" */
	size_t   nkeys;
	struct px_snap_key *keys;	/* by provider id, then config order */
	struct px_snap_provider prov[PX_PROV__MAX];
	size_t   nscopes;
	struct px_snap_scope *scopes;	/* per key its model_limits entries
					 * (keys' order), then each owner
					 * followed by its entries, then the
					 * clients, in config order */
};

/*
 * Every key's windows, states and totals in one consistent read. *out
 * points into s and stays valid until the next snapshot with s.
 * PX_ESTORE / PX_EUNAVAIL when the backend failed.
 */
enum px_err px_ledger_snapshot(struct px_ledger *lg,
    struct px_ledger_scratch *s, int64_t now_ms,
    const struct px_snapshot **out);

/* The backend in use ("lmdb", "redis"). */
const char *px_ledger_backend(const struct px_ledger *lg);

/* Tokens a request reserves: ceil(prompt_bytes / 4), at least 1. */
uint32_t px_ledger_estimate(size_t prompt_bytes);

/*
 * Wall clock in ms (the ledger is shared across processes and restarts).
 * Test knob, never for production: AIPROXY_TEST_CLOCK_OFFSET_MS (read at
 * px_ledger_open) skews it by that many ms, so a test can give one host a
 * wrong clock; the Redis backend ignores it (the server's clock rules).
 */
int64_t px_ledger_now_ms(void);

#endif
