/*
 * sigcache.h -- Gemini thought signatures remembered across requests and
 * responders (issue 11), in the state environment (store.h): one named
 * database keyed by the tool-call id the client sees, one index by age.
 * Owns: the record format (8-byte big-endian creation time, then the
 * signature's bytes), the TTL (an expired entry is absent), the size
 * bound (oldest evicted first), and batching a response's signatures into
 * one write transaction.
 * Never: logs a signature, keeps a transaction open, or decides where a
 * signature goes in a request (thoughtsig.c does).
 *
 * Why a shared store: Gemini 3 answers 400 on the next turn of a tool
 * conversation when the first call of a step comes back without the
 * signature it was given, and most OpenAI-style clients drop
 * extra_content; the next turn may reach any responder process.
 */
#ifndef PX_SIGCACHE_H
#define PX_SIGCACHE_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

struct px_store;

#define PX_SIG_MAX   (64u << 10)	/* a longer signature is not kept */
#define PX_SIG_IDMAX 200		/* a longer call id is not kept */

struct px_sigcache {
	struct px_store *store;
	int64_t ttl_ms;
	size_t  max_entries;
};

/*
 * Remember every "<call id>\t<signature>\n" record of recs[0..len) as
 * created at now_ms (a later record for an id replaces the earlier), then
 * evict expired entries and, past max_entries, the oldest ones. One write
 * transaction. PX_OK, or PX_ESTORE.
 */
enum px_err px_sigcache_put(const struct px_sigcache *c, const char *recs,
    size_t len, int64_t now_ms);

/* The signature of call id into sig[cap] (NUL-terminated): 1 found and
 * fresh, 0 absent, expired or too long for cap. */
int px_sigcache_get(const struct px_sigcache *c, const char *id,
    int64_t now_ms, char *sig, size_t cap);

#endif
