/*
 * ledger.h -- the shared quota ledger: exact per-key limits across every
 * responder process and thread, load balancing, and usage counters.
 * Owns: per-key records (three rolling windows, lifetime counters) and the
 * per-provider round-robin cursor in the store; choosing and reserving a
 * key in ONE write transaction (so two threads or processes can never both
 * take the last slot); settling a reservation with the real usage; the
 * numbers behind /v1/usage and Retry-After.
 * Never: network I/O, or a transaction held across an upstream call.
 * Time is always passed in (ms since the epoch), so tests inject it.
 *
 * Token estimate (README "Limits"): a request reserves ceil(prompt_bytes/4)
 * tokens (at least 1) of max_token_min; when it ends the reservation is
 * replaced by the upstream's usage.total_tokens (completion included).
 */
#ifndef PX_LEDGER_H
#define PX_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "config.h"
#include "err.h"
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
	int64_t  t_ms;			/* when it was taken */
	uint32_t tokens;		/* estimate booked */
};

/* Scratch for one reservation; one per worker thread. */
struct px_ledger_scratch;
struct px_ledger_scratch *px_ledger_scratch_new(const struct px_config *cfg);
void px_ledger_scratch_free(struct px_ledger_scratch *s);

/*
 * Walk the candidates in order and reserve one request and `tokens` on the
 * best key of the first provider with room. PX_OK: lease filled.
 * PX_ERATE: no key has room; *retry_ms is the time until the earliest slot
 * frees (>= 1). PX_EBADREQ: the estimate alone exceeds every key's
 * max_token_min. PX_ESTORE: the store failed.
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

/* After a PX_ERATE from px_ledger_reserve_ex: every key it could have
 * used was held back only because its project has no quota at all for
 * the model (a Gemini "limit: 0", marked until the daily reset). */
int px_ledger_not_entitled(const struct px_ledger_scratch *s);

/* /v1/usage body (the seed's shape plus extra fields) into out. */
enum px_err px_ledger_usage_json(struct px_ledger *lg,
    struct px_ledger_scratch *s, int64_t now_ms, struct px_buf *out);

/* Tokens a request reserves: ceil(prompt_bytes / 4), at least 1. */
uint32_t px_ledger_estimate(size_t prompt_bytes);

/* Wall clock in ms (the ledger is shared across processes and restarts). */
int64_t px_ledger_now_ms(void);

#endif
