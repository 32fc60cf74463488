/*
 * router.h -- which provider serves a model id.
 * Owns: model_aliases, the routing rule (a provider entry's `models` list
 * first, then the
 * seed's prefix rule: "gemini..." -> gemini, anything else -> openrouter)
 * and auto-model resolution over `auto-models`.
 * Never: looks at key usage (the ledger makes auto-model availability-aware).
 */
#ifndef PX_ROUTER_H
#define PX_ROUTER_H

#include <stddef.h>
#include "config.h"
#include "err.h"

#define PX_AUTO_MODEL "auto-model"

/*
 * model_aliases applied to a client's model: an exact key first, else the
 * longest prefix pattern ("claude-*"); the model itself when none
 * matches. The result may be "auto-model".
 */
const char *px_router_alias(const struct px_config *cfg, const char *model);

/* Provider for model (never fails; may name a provider without keys). */
enum px_provider_id px_router_provider(const struct px_config *cfg,
    const char *model);
/* Keys configured for provider p across all provider_keys entries. */
size_t px_router_nkeys(const struct px_config *cfg, enum px_provider_id p);

/* One model a request may be served by (auto-model: several, in order). */
struct px_candidate {
	const char *model;
	enum px_provider_id provider;
};

/*
 * The models that may serve `model` (after model_aliases), in order, each
 * with its provider: the model itself, or for auto-model every auto-models
 * entry whose
 * provider has keys. Writes at most cap; *n gets the count. PX_EMODEL
 * with detail when there is none.
 */
enum px_err px_router_candidates(const struct px_config *cfg,
    const char *model, struct px_candidate *out, size_t cap, size_t *n,
    char *detail, size_t dcap);

/*
 * Resolve the client's model: *served is the model to send upstream (the
 * client's own string, or the chosen auto-models entry), *prov its provider.
 * PX_EMODEL with detail when the provider has no keys, or when no
 * auto-models entry has a provider with keys.
 */
enum px_err px_router_resolve(const struct px_config *cfg, const char *model,
    const char **served, enum px_provider_id *prov, char *detail, size_t cap);

/* May client use model (the id the client sent, before model_aliases)?
 * The admin key (NULL) and a client key without "models" may use any;
 * otherwise one of its patterns must match (config.h px_model_match). */
int px_client_allows(const struct px_client_cfg *c, const char *model);

#endif
