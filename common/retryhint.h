/*
 * retryhint.h -- what an upstream failure means for the key that got it.
 * Owns: classifying an upstream reply (status, a few headers, the error
 * body) into a fault class, and reading the provider's "come back at"
 * hints: Retry-After (seconds or HTTP date), retry-after-ms, OpenRouter's
 * X-RateLimit-Reset (epoch ms) and "free-models-per-day" messages,
 * Gemini's google.rpc.RetryInfo.retryDelay ("45.8s") and QuotaFailure
 * quotaId (per-minute vs per-day), ErrorInfo reasons about the key; and
 * the reading of a key probe; and the next daily
 * reset (00:00 UTC for OpenRouter, midnight America/Los_Angeles, DST-aware,
 * for Gemini).
 * Never: I/O, clocks or global state (time is passed in); it never keeps
 * or prints any part of the body.
 */
#ifndef PX_RETRYHINT_H
#define PX_RETRYHINT_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

enum px_fault {
	PX_FAULT_NONE = 0,	/* 2xx */
	PX_FAULT_RATE,		/* 429: the key (or account) is rate limited */
	PX_FAULT_AUTH,		/* the key is unusable: OpenRouter 401; Google
				 * 400/401/403 whose ErrorInfo.reason is about
				 * the key (API_KEY_INVALID, ...); a probe
				 * that confirms a 402/403 */
	PX_FAULT_UPSTREAM,	/* 5xx, 408, timeouts, connection errors:
				 * not the key's fault; try another key */
	PX_FAULT_CLIENT,	/* other 4xx, and 402/403 without key facts:
				 * the request's; relay it */
	PX_FAULT_ENTITLEMENT,	/* Gemini 429 "limit: 0": the key's project
				 * has no quota for this model (until_ms =
				 * the daily reset); other models unaffected */
	PX_FAULT__MAX
};

struct px_hint_in {
	enum px_provider_id provider;
	int         status;		/* HTTP status (0: no response) */
	const char *retry_after;	/* header values, "" or NULL if absent */
	const char *retry_after_ms;
	const char *ratelimit_reset;
	const char *body;		/* error body (may be NULL) */
	size_t      body_len;
	int64_t     now_ms;		/* wall clock, ms since the epoch */
};

struct px_hint {
	enum px_fault fault;
	int64_t until_ms;	/* RATE: cool until then; 0 = no hint given */
	int     daily;		/* RATE: a per-day quota (until = daily reset) */
	char    reason[64];	/* short, fixed vocabulary, e.g. "429 retry-after",
				 * "401 invalid key", "429 daily quota" */
	int     probe;		/* a 402/403 with no fact about the key: only a
				 * probe the client cannot influence (the
				 * provider's key or models endpoint, with this
				 * key) may turn it into AUTH: px_hint_probe */
};

/* Classify one upstream reply and read its hints. Never fails. */
void px_hint_read(const struct px_hint_in *in, struct px_hint *out);

/*
 * Read the reply to a key probe (OpenRouter GET {base}/key, Gemini GET
 * {base}/models, sent with the suspect key and nothing from the client).
 * 1 with out->fault AUTH when it shows the key unusable (401, 402, no
 * credits left, a Google key reason), else 0: the key stays as it is.
 */
int px_hint_probe(const struct px_hint_in *in, struct px_hint *out);

/* Next 00:00 UTC strictly after now_ms. */
int64_t px_hint_next_utc_midnight(int64_t now_ms);
/* Next 00:00 America/Los_Angeles strictly after now_ms (US DST rules:
 * second Sunday of March to first Sunday of November, 02:00 local). */
int64_t px_hint_next_pacific_midnight(int64_t now_ms);
/* An HTTP date (IMF-fixdate, RFC 850 or asctime form) in ms since the
 * epoch; -1 when it does not parse. */
int64_t px_hint_http_date(const char *s);

const char *px_fault_name(enum px_fault f);	/* "rate", "auth", ... */

#endif
