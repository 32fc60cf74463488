/*
 * usage.c -- GET /v1/usage: the seed's shape, rendered from a ledger
 * snapshot (ledger.h).
 * Owns: the JSON -- overview.{provider}, details.{provider}.keys.{key_id}
 * and rate_limits as the seed shows them, plus per key the rolling
 * windows, lifetime counters, health (state, reason, until) and live
 * "not_entitled" marks, per provider backoff_until, and ledger_backend.
 * Never: shows a key (keys appear by their short id only), reads the
 * ledger itself, or writes to the client (app.c serves the route).
 */
#include "usage.h"

#include <string.h>
#include <time.h>

#include "keysel.h"

static const char *const state_name[] = { "active", "cooling", "disabled" };

struct usage {
	const struct px_snapshot *sn;
	struct px_buf *out;
	enum px_err err;	/* first failed append: the JSON is cut short */
};

/* Keep the first append error; later appends must not paper over it. */
static void
note(struct usage *u, enum px_err e)
{
	if (u->err == PX_OK)
		u->err = e;
}

/* "2026-11-26T06:00:00Z" (quoted) or null for t <= 0. */
static void
add_time(struct usage *u, int64_t t_ms)
{
	time_t t = (time_t)(t_ms / 1000);
	struct tm tm;
	char iso[32];

	if (t_ms <= 0 || gmtime_r(&t, &tm) == NULL) {
		note(u, px_buf_adds(u->out, "null"));
		return;
	}
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	note(u, px_buf_printf(u->out, "\"%s\"", iso));
}

static void
add_str(struct usage *u, const char *s)
{
	note(u, px_buf_addc(u->out, '"'));
	note(u, px_buf_add_json_str(u->out, s, strlen(s)));
	note(u, px_buf_addc(u->out, '"'));
}

static void
overview(struct usage *u)
{
	const struct px_snap_provider *p;
	int i, first = 1;

	note(u, px_buf_adds(u->out, "\"overview\":{"));
	for (i = 0; i < PX_PROV__MAX; i++) {
		p = &u->sn->prov[i];
		if (!p->present)
			continue;
		note(u, px_buf_printf(u->out, "%s\"%s\":{\"total_requests\":%llu,"
		    "\"total_capacity\":%llu,\"usage_percentage\":%.2f}",
		    first ? "" : ",", px_provider_name((enum px_provider_id)i),
		    (unsigned long long)p->req_day,
		    (unsigned long long)p->capacity,
		    px_keysel_usage_pct(p->req_day, p->capacity)));
		first = 0;
	}
	note(u, px_buf_addc(u->out, '}'));
}

static void
add_health(struct usage *u, const struct px_snap_key *k)
{
	note(u, px_buf_printf(u->out, ",\"state\":\"%s\",\"reason\":",
	    state_name[k->state <= PX_KEY_DISABLED ? k->state : 0]));
	if (k->state == PX_KEY_ACTIVE) {
		note(u, px_buf_adds(u->out, "null,\"until\":null"));
		return;
	}
	add_str(u, k->reason);
	note(u, px_buf_adds(u->out, ",\"until\":"));
	add_time(u, k->until_ms);
}

/* "not_entitled":{"<model>":"<until>",...} */
static void
add_entitlement(struct usage *u, const struct px_snap_key *k)
{
	size_t i;

	note(u, px_buf_adds(u->out, ",\"not_entitled\":{"));
	for (i = 0; i < k->nent; i++) {
		if (i > 0)
			note(u, px_buf_addc(u->out, ','));
		add_str(u, k->ent[i].model);
		note(u, px_buf_addc(u->out, ':'));
		add_time(u, k->ent[i].until_ms);
	}
	note(u, px_buf_addc(u->out, '}'));
}

static void
key_detail(struct usage *u, const struct px_snap_key *k, int first)
{
	const struct px_provider_cfg *g = k->group;

	note(u, px_buf_printf(u->out, "%s\"%s\":{\"requests\":%llu,"
	    "\"usage_percentage\":%.2f,\"rate_limit_windows\":{\"req_min\":"
	    "%llu,\"req_day\":%llu},\"tokens_min\":%llu,"
	    "\"lifetime_requests\":%llu,\"lifetime_tokens\":%llu,"
	    "\"errors\":%llu,\"rate_limits\":{\"max_request_day\":%ld,"
	    "\"max_token_min\":%ld,\"max_request_min\":%ld}",
	    first ? "" : ",", k->key->id, (unsigned long long)k->req_day,
	    px_keysel_usage_pct(k->req_day, (uint64_t)g->max_request_day),
	    (unsigned long long)k->req_min, (unsigned long long)k->req_day,
	    (unsigned long long)k->tok_min,
	    (unsigned long long)k->life_requests,
	    (unsigned long long)k->life_tokens,
	    (unsigned long long)k->life_errors, g->max_request_day,
	    g->max_token_min, g->max_request_min));
	add_health(u, k);
	add_entitlement(u, k);
	note(u, px_buf_addc(u->out, '}'));
}

static void
provider_detail(struct usage *u, int p)
{
	const struct px_snap_provider *sp = &u->sn->prov[p];
	const struct px_provider_cfg *g = u->sn->keys[sp->first].group;
	size_t i;

	note(u, px_buf_printf(u->out, "\"%s\":{\"keys\":{",
	    px_provider_name((enum px_provider_id)p)));
	for (i = 0; i < sp->nkeys; i++)
		key_detail(u, &u->sn->keys[sp->first + i], i == 0);
	/* the seed shows one limit set per provider: the first entry's;
	 * every key also carries its own under keys.<id>.rate_limits */
	note(u, px_buf_printf(u->out, "},\"rate_limits\":{\"max_request_day\":%ld,"
	    "\"max_token_min\":%ld,\"max_request_min\":%ld},"
	    "\"backoff_until\":",
	    g->max_request_day, g->max_token_min, g->max_request_min));
	add_time(u, sp->backoff_until_ms);
	note(u, px_buf_addc(u->out, '}'));
}

enum px_err
px_usage_render(const struct px_snapshot *sn, struct px_buf *out)
{
	struct usage u = { sn, out, PX_OK };
	int p, first = 1;

	px_buf_reset(out);
	note(&u, px_buf_addc(out, '{'));
	overview(&u);
	note(&u, px_buf_adds(out, ",\"details\":{"));
	for (p = 0; p < PX_PROV__MAX; p++) {
		if (!sn->prov[p].present || sn->prov[p].nkeys == 0)
			continue;
		if (!first)
			note(&u, px_buf_addc(out, ','));
		provider_detail(&u, p);
		first = 0;
	}
	note(&u, px_buf_adds(out, "},\"ledger_backend\":"));
	add_str(&u, sn->backend);
	note(&u, px_buf_addc(out, '}'));
	return u.err;
}
