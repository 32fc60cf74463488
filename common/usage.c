/*
 * usage.c -- GET /v1/usage: the seed's shape, rendered from a ledger
 * snapshot (ledger.h).
 * Owns: the JSON -- overview.{provider}, details.{provider}.keys.{key_id}
 * and rate_limits as the seed shows them, plus per key the windows,
 * lifetime counters, health (state, reason, until), live "not_entitled"
 * marks, requests in flight, its day (rolling or calendar, and when a
 * calendar day resets) and its model_limits windows; per provider
 * backoff_until; "owners" and "clients" (issue 13); ledger_backend. A
 * client key sees only its own entry under "clients".
 * Never: shows a key (keys appear by their short id only), reads the
 * ledger itself, or writes to the client (app.c serves the route).
 */
#include "usage.h"

#include <string.h>
#include <time.h>

#include "keysel.h"


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
	    px_key_state_name(k->state)));
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

/* "req_min":..,"req_day":..,"tokens_min":..,"in_flight":..,"limits":{..},
 * "day_reset":..,"resets_at":.. of a scope. */
static void
scope_body(struct usage *u, const struct px_snap_scope *sc)
{
	const uint64_t lim[4] = { sc->max_request_min, sc->max_request_day,
	    sc->max_token_min, sc->max_concurrent };
	static const char *const name[4] = { "max_request_min",
	    "max_request_day", "max_token_min", "max_concurrent" };
	int i;

	note(u, px_buf_printf(u->out, "\"req_min\":%llu,\"req_day\":%llu,"
	    "\"tokens_min\":%llu,\"in_flight\":%llu,\"limits\":{",
	    (unsigned long long)sc->req_min, (unsigned long long)sc->req_day,
	    (unsigned long long)sc->tok_min, (unsigned long long)sc->in_flight));
	for (i = 0; i < 4; i++) {	/* a limit not set is null */
		if (lim[i] == 0)
			note(u, px_buf_printf(u->out, "%s\"%s\":null",
			    i ? "," : "", name[i]));
		else
			note(u, px_buf_printf(u->out, "%s\"%s\":%llu",
			    i ? "," : "", name[i], (unsigned long long)lim[i]));
	}
	note(u, px_buf_printf(u->out, "},\"day_reset\":\"%s\",\"resets_at\":",
	    sc->day_reset));
	add_time(u, sc->resets_at_ms);
}

/* ,"day_hist":[24 hourly request counts, oldest first, the last ending
 * now] (rolling day windows only: a calendar day keeps its count alone,
 * and its hours read 0). */
static void
add_hist(struct usage *u, const uint64_t *h)
{
	int i;

	note(u, px_buf_adds(u->out, ",\"day_hist\":["));
	for (i = 0; i < PX_SNAP_HOURS; i++)
		note(u, px_buf_printf(u->out, "%s%llu", i ? "," : "",
		    (unsigned long long)h[i]));
	note(u, px_buf_addc(u->out, ']'));
}

/*
 * "<name>":{scope...},... for each snapshot scope of kind whose parent is
 * parent (model entries only) and, for clients, that is only (when set);
 * more() adds members after the scope's own.
 */
static void
scope_map(struct usage *u, enum px_snap_kind kind, size_t parent,
    const struct px_client_cfg *only,
    void (*more)(struct usage *u, size_t i))
{
	const struct px_snap_scope *sc;
	size_t i;
	int first = 1;

	for (i = 0; i < u->sn->nscopes; i++) {
		sc = &u->sn->scopes[i];
		if (sc->kind != kind ||
		    ((kind == PX_SNAP_KEY_MODEL || kind == PX_SNAP_OWNER_MODEL) &&
		    sc->parent != parent) || (only != NULL && sc->client != only))
			continue;
		if (!first)
			note(u, px_buf_addc(u->out, ','));
		add_str(u, sc->name);
		note(u, px_buf_adds(u->out, ":{"));
		scope_body(u, sc);
		if (more != NULL)
			more(u, i);
		note(u, px_buf_addc(u->out, '}'));
		first = 0;
	}
}

/* ,"models":{"<pattern>":{scope},...} of a key or an owner. */
static void
add_models(struct usage *u, enum px_snap_kind kind, size_t parent)
{
	note(u, px_buf_adds(u->out, ",\"models\":{"));
	scope_map(u, kind, parent, NULL, NULL);
	note(u, px_buf_addc(u->out, '}'));
}

static void
owner_models(struct usage *u, size_t i)
{
	add_models(u, PX_SNAP_OWNER_MODEL, i);
}

/* "owners":{"<name>":{scope,"models":{...}},...} */
static void
owners(struct usage *u)
{
	note(u, px_buf_adds(u->out, ",\"owners\":{"));
	scope_map(u, PX_SNAP_OWNER, 0, NULL, owner_models);
	note(u, px_buf_addc(u->out, '}'));
}

static void
client_totals(struct usage *u, size_t i)
{
	const struct px_snap_scope *sc = &u->sn->scopes[i];

	note(u, px_buf_printf(u->out, ",\"lifetime_requests\":%llu,"
	    "\"lifetime_tokens\":%llu", (unsigned long long)sc->life_requests,
	    (unsigned long long)sc->life_tokens));
}

/* "clients":{"<name>":{scope,"lifetime_requests","lifetime_tokens"}}:
 * every client, or only `only`. */
static void
clients(struct usage *u, const struct px_client_cfg *only)
{
	note(u, px_buf_adds(u->out, "\"clients\":{"));
	scope_map(u, PX_SNAP_CLIENT, 0, only, client_totals);
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
	note(u, px_buf_adds(u->out, ",\"owner\":"));
	if (g->owner != NULL)
		add_str(u, g->owner->name);
	else
		note(u, px_buf_adds(u->out, "null"));
	note(u, px_buf_printf(u->out, ",\"in_flight\":%llu,\"day_reset\":"
	    "\"%s\",\"resets_at\":", (unsigned long long)k->in_flight,
	    k->day_reset));
	add_time(u, k->resets_at_ms);
	add_hist(u, k->day_hist);
	add_models(u, PX_SNAP_KEY_MODEL, (size_t)(k - u->sn->keys));
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
	add_hist(u, sp->day_hist);
	note(u, px_buf_addc(u->out, '}'));
}

enum px_err
px_usage_render(const struct px_snapshot *sn,
    const struct px_client_cfg *client, struct px_buf *out)
{
	struct usage u = { sn, out, PX_OK };
	int p, first = 1;

	px_buf_reset(out);
	note(&u, px_buf_addc(out, '{'));
	if (client != NULL) {	/* a client key sees its own entry only */
		clients(&u, client);
		note(&u, px_buf_addc(out, '}'));
		return u.err;
	}
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
	note(&u, px_buf_addc(out, '}'));
	owners(&u);
	note(&u, px_buf_addc(out, ','));
	clients(&u, NULL);
	note(&u, px_buf_adds(out, ",\"ledger_backend\":"));
	add_str(&u, sn->backend);
	note(&u, px_buf_addc(out, '}'));
	return u.err;
}
