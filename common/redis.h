/*
 * redis.h -- one thread's connection to the shared ledger's Redis.
 * Owns: everything <hiredis.h> (its only includer): connecting (TCP or
 * unix socket, AUTH, SELECT) lazily and again after any failure with a
 * back-off (100 ms doubling to 2 s, calls in between fail at once), the
 * timeout of every call (redis_timeout_ms), the one Lua script of the
 * ledger (SCRIPT LOAD at connect, EVALSHA, loaded again after NOSCRIPT),
 * and flat array replies.
 * Never: shares a connection between threads, retries a script call that
 * may have run (a timeout leaves the outcome unknown: the caller fails
 * closed), or shows the password.
 */
#ifndef PX_REDIS_H
#define PX_REDIS_H

#include <stddef.h>
#include "config.h"
#include "err.h"

struct px_redis;
struct px_redis_reply;

/* A connection (not yet made) for cfg's redis_url, running script.
 * NULL when memory ran out. */
struct px_redis *px_redis_new(const struct px_config *cfg,
    const char *script);
void px_redis_free(struct px_redis *r);	/* NULL-safe */

/*
 * Run the script with argv[0..nkeys) as KEYS and argv[nkeys..argc) as
 * ARGV.
 * PX_OK: *out is its array reply (free with px_rr_free).
 * PX_EUNAVAIL: no connection (down, backing off, timed out; the script
 * may or may not have run), or a server that refuses to write now (out
 * of memory, read-only, loading, ...). PX_ESTORE: any other error.
 * Either way px_redis_error says what happened (never the password).
 */
enum px_err px_redis_eval(struct px_redis *r, size_t nkeys, size_t argc,
    const char *const *argv, const size_t *lens,
    struct px_redis_reply **out);
const char *px_redis_error(const struct px_redis *r);

/* Elements of a flat array reply: integers, strings, nils. */
size_t px_rr_len(const struct px_redis_reply *rr);
/* 0 and *v for an integer element; -1 otherwise. */
int px_rr_int(const struct px_redis_reply *rr, size_t i, long long *v);
/* The bytes of a string element; NULL (and *len 0) for anything else. */
const char *px_rr_str(const struct px_redis_reply *rr, size_t i,
    size_t *len);
void px_rr_free(struct px_redis_reply *rr);	/* NULL-safe */

#endif
