/*
 * router.c -- model id -> provider (see router.h).
 * Load: a few string compares per request; configs hold tens of models.
 */
#include "router.h"

#include <stdio.h>
#include <string.h>

enum px_provider_id
px_router_provider(const struct px_config *cfg, const char *model)
{
	size_t i, j;

	for (i = 0; i < cfg->nproviders; i++) {
		const struct px_provider_cfg *pc = &cfg->providers[i];

		for (j = 0; j < pc->nmodels; j++)
			if (strcmp(pc->models[j], model) == 0)
				return pc->provider;
	}
	if (strncmp(model, "gemini", 6) == 0)
		return PX_PROV_GEMINI;
	return PX_PROV_OPENROUTER;
}

size_t
px_router_nkeys(const struct px_config *cfg, enum px_provider_id p)
{
	size_t i, n = 0;

	for (i = 0; i < cfg->nproviders; i++)
		if (cfg->providers[i].provider == p)
			n += cfg->providers[i].nkeys;
	return n;
}

static enum px_err
resolve_auto(const struct px_config *cfg, const char **served,
    enum px_provider_id *prov, char *detail, size_t cap)
{
	size_t i;

	for (i = 0; i < cfg->nauto_models; i++) {
		enum px_provider_id p = px_router_provider(cfg,
		    cfg->auto_models[i]);

		if (px_router_nkeys(cfg, p) > 0) {
			*served = cfg->auto_models[i];
			*prov = p;
			return PX_OK;
		}
	}
	snprintf(detail, cap, "auto-model: no model in auto-models has a "
	    "provider with configured keys");
	return PX_EMODEL;
}

enum px_err
px_router_resolve(const struct px_config *cfg, const char *model,
    const char **served, enum px_provider_id *prov, char *detail, size_t cap)
{
	enum px_provider_id p;

	if (strcmp(model, PX_AUTO_MODEL) == 0)
		return resolve_auto(cfg, served, prov, detail, cap);
	p = px_router_provider(cfg, model);
	if (px_router_nkeys(cfg, p) == 0) {
		snprintf(detail, cap, "model '%.80s' is served by provider "
		    "'%s', which has no keys configured", model,
		    px_provider_name(p));
		return PX_EMODEL;
	}
	*served = model;
	*prov = p;
	return PX_OK;
}
