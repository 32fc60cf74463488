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

const char *
px_router_alias(const struct px_config *cfg, const char *model)
{
	const struct px_alias *best = NULL;
	size_t i, n, bestn = 0;

	for (i = 0; i < cfg->naliases; i++) {
		const struct px_alias *a = &cfg->aliases[i];

		n = strlen(a->from);
		if (a->from[n - 1] != '*') {
			if (strcmp(a->from, model) == 0)
				return a->to;	/* an exact id wins */
		} else if (strncmp(a->from, model, n - 1) == 0 &&
		    (best == NULL || n > bestn)) {
			best = a;
			bestn = n;
		}
	}
	return best != NULL ? best->to : model;
}

enum px_err
px_router_candidates(const struct px_config *cfg, const char *model,
    struct px_candidate *out, size_t cap, size_t *n, char *detail, size_t dcap)
{
	enum px_provider_id p;
	size_t i;

	*n = 0;
	model = px_router_alias(cfg, model);
	if (strcmp(model, PX_AUTO_MODEL) != 0) {
		p = px_router_provider(cfg, model);
		if (px_router_nkeys(cfg, p) == 0) {
			snprintf(detail, dcap, "model '%.80s' is served by "
			    "provider '%s', which has no keys configured", model,
			    px_provider_name(p));
			return PX_EMODEL;
		}
		if (cap > 0) {
			out[0].model = model;
			out[0].provider = p;
			*n = 1;
		}
		return PX_OK;
	}
	for (i = 0; i < cfg->nauto_models && *n < cap; i++) {
		p = px_router_provider(cfg, cfg->auto_models[i]);
		if (px_router_nkeys(cfg, p) == 0)
			continue;
		out[*n].model = cfg->auto_models[i];
		out[*n].provider = p;
		(*n)++;
	}
	if (*n > 0)
		return PX_OK;
	snprintf(detail, dcap, "auto-model: no model in auto-models has a "
	    "provider with configured keys");
	return PX_EMODEL;
}

enum px_err
px_router_resolve(const struct px_config *cfg, const char *model,
    const char **served, enum px_provider_id *prov, char *detail, size_t cap)
{
	struct px_candidate c;
	size_t n;
	enum px_err e;

	e = px_router_candidates(cfg, model, &c, 1, &n, detail, cap);
	if (e != PX_OK)
		return e;
	*served = c.model;
	*prov = c.provider;
	return PX_OK;
}

int
px_client_allows(const struct px_client_cfg *c, const char *model)
{
	size_t i;

	if (c == NULL || c->models == NULL)
		return 1;
	for (i = 0; i < c->nmodels; i++)
		if (px_model_match(c->models[i], model))
			return 1;
	return 0;
}
