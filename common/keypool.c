/*
 * keypool.c -- round robin over a provider's keys (see keypool.h).
 * Load: one atomic increment per request.
 */
#include "keypool.h"

#include <stdatomic.h>
#include <stdlib.h>

struct px_keypool {
	const struct px_config *cfg;
	atomic_uint cursor[PX_PROV__MAX];
};

struct px_keypool *
px_keypool_new(const struct px_config *cfg)
{
	struct px_keypool *kp = calloc(1, sizeof(*kp));
	int i;

	if (kp == NULL)
		return NULL;
	kp->cfg = cfg;
	for (i = 0; i < PX_PROV__MAX; i++)
		atomic_init(&kp->cursor[i], 0);
	return kp;
}

void
px_keypool_free(struct px_keypool *kp)
{
	free(kp);
}

int
px_keypool_next(struct px_keypool *kp, enum px_provider_id p,
    struct px_keyref *out)
{
	const struct px_config *cfg = kp->cfg;
	size_t i, total = 0, k;

	for (i = 0; i < cfg->nproviders; i++)
		if (cfg->providers[i].provider == p)
			total += cfg->providers[i].nkeys;
	if (total == 0)
		return 0;
	k = atomic_fetch_add(&kp->cursor[p], 1u) % total;
	for (i = 0; i < cfg->nproviders; i++) {
		const struct px_provider_cfg *pc = &cfg->providers[i];

		if (pc->provider != p)
			continue;
		if (k < pc->nkeys) {
			out->group = pc;
			out->key = &pc->keys[k];
			return 1;
		}
		k -= pc->nkeys;
	}
	return 0;
}
