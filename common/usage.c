/*
 * usage.c -- GET /v1/usage in the seed's shape.
 * Owns: the JSON layout (overview.{provider}, details.{provider}.keys and
 * rate_limits). Until the shared ledger lands, request counts are zero;
 * capacities and limits come from the configuration and are exact.
 * Never: shows a key; keys appear by their short id only.
 */
#include "worker.h"

#include <stdio.h>
#include <string.h>

#include "reply.h"

static long
capacity(const struct px_config *cfg, enum px_provider_id p)
{
	long total = 0;
	size_t i;

	for (i = 0; i < cfg->nproviders; i++)
		if (cfg->providers[i].provider == p)
			total += cfg->providers[i].max_request_day *
			    (long)cfg->providers[i].nkeys;
	return total;
}

static int
configured(const struct px_config *cfg, enum px_provider_id p)
{
	size_t i;

	for (i = 0; i < cfg->nproviders; i++)
		if (cfg->providers[i].provider == p)
			return 1;
	return 0;
}

static void
overview(const struct px_config *cfg, struct px_buf *b)
{
	int p, first = 1;

	px_buf_adds(b, "\"overview\":{");
	for (p = 0; p < PX_PROV__MAX; p++) {
		if (!configured(cfg, (enum px_provider_id)p))
			continue;
		px_buf_printf(b, "%s\"%s\":{\"total_requests\":0,"
		    "\"total_capacity\":%ld,\"usage_percentage\":0.00}",
		    first ? "" : ",", px_provider_name((enum px_provider_id)p),
		    capacity(cfg, (enum px_provider_id)p));
		first = 0;
	}
	px_buf_adds(b, "}");
}

static void
provider_details(const struct px_config *cfg, enum px_provider_id p,
    struct px_buf *b)
{
	const struct px_provider_cfg *lim = NULL;
	size_t i, k;
	int first = 1;

	px_buf_printf(b, "\"%s\":{\"keys\":{", px_provider_name(p));
	for (i = 0; i < cfg->nproviders; i++) {
		const struct px_provider_cfg *pc = &cfg->providers[i];

		if (pc->provider != p)
			continue;
		if (lim == NULL)
			lim = pc;
		for (k = 0; k < pc->nkeys; k++) {
			px_buf_printf(b, "%s\"%s\":{\"requests\":0,"
			    "\"usage_percentage\":0.00,\"rate_limit_windows\":"
			    "{\"req_min\":0,\"req_day\":0}}", first ? "" : ",",
			    pc->keys[k].id);
			first = 0;
		}
	}
	if (lim == NULL)	/* callers skip providers without entries */
		return;
	px_buf_printf(b, "},\"rate_limits\":{\"max_request_day\":%ld,"
	    "\"max_token_min\":%ld,\"max_request_min\":%ld}}",
	    lim->max_request_day, lim->max_token_min, lim->max_request_min);
}

void
px_usage_handle(struct px_worker *w, struct px_io *io, struct px_reqlog *lg)
{
	const struct px_config *cfg = w->app->cfg;
	struct px_buf *b = &w->out;
	int p, first = 1;

	(void)lg;
	px_buf_reset(b);
	px_buf_addc(b, '{');
	overview(cfg, b);
	px_buf_adds(b, ",\"details\":{");
	for (p = 0; p < PX_PROV__MAX; p++) {
		if (!configured(cfg, (enum px_provider_id)p))
			continue;
		if (!first)
			px_buf_addc(b, ',');
		provider_details(cfg, (enum px_provider_id)p, b);
		first = 0;
	}
	px_buf_adds(b, "}}");
	px_reply_json(io, 200, NULL, b->p, b->len);
}
