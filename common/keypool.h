/*
 * keypool.h -- which key of a provider serves the next request.
 * Owns: a process-wide round-robin cursor per provider over every key of
 * every provider_keys entry of that provider, safe for all threads.
 * Never: counts usage or limits (the LMDB ledger will take over here).
 */
#ifndef PX_KEYPOOL_H
#define PX_KEYPOOL_H

#include "config.h"

struct px_keyref {
	const struct px_provider_cfg *group;	/* the provider_keys entry */
	const struct px_key_cfg      *key;
};

struct px_keypool;

/* NULL on allocation failure. cfg must outlive the pool. */
struct px_keypool *px_keypool_new(const struct px_config *cfg);
void px_keypool_free(struct px_keypool *kp);	/* NULL-safe */
/* Next key of provider p in round-robin order; 0 when p has no keys. */
int  px_keypool_next(struct px_keypool *kp, enum px_provider_id p,
    struct px_keyref *out);

#endif
