/*
 * metrics.c -- the /metrics body: Prometheus text exposition 0.0.4 from
 * a ledger snapshot and the installation-wide counters (stats.h).
 * Owns: metric names, HELP texts, label sets, the window vocabulary
 * (requests_minute, requests_day, tokens_minute, concurrent), and label
 * escaping. Families are written whole (all samples of a name together,
 * as the format requires).
 * Never: reads the ledger or a clock, or shows a key: labels carry key
 * ids, owner and client names, and model patterns from the config only,
 * so the label set is bounded by the configuration.
 */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

#define NLAB 16		/* label words (name, value, ...) plus NULL */

/* The body being written; the first error sticks and stops the rest. */
struct mw {
	struct px_buf *b;
	enum px_err e;
};

static void
put(struct mw *w, const char *s)
{
	if (w->e == PX_OK)
		w->e = px_buf_adds(w->b, s);
}

static void
head(struct mw *w, const char *name, const char *type, const char *help)
{
	if (w->e == PX_OK)
		w->e = px_buf_printf(w->b, "# HELP %s %s\n# TYPE %s %s\n",
		    name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void
lval(struct mw *w, const char *s)
{
	for (; s != NULL && *s != '\0' && w->e == PX_OK; s++) {
		if (*s == '\\' || *s == '"')
			w->e = px_buf_addc(w->b, '\\');
		if (w->e == PX_OK)
			w->e = *s == '\n' ? px_buf_adds(w->b, "\\n") :
			    px_buf_addc(w->b, *s);
	}
}

/* name{k1="v1",...} then the value text; kv is NULL-ended pairs. */
static void
labels(struct mw *w, const char *name, const char *suffix,
    const char *const *kv)
{
	size_t i;

	put(w, name);
	put(w, suffix);
	for (i = 0; kv[i] != NULL; i += 2) {
		put(w, i == 0 ? "{" : ",");
		put(w, kv[i]);
		put(w, "=\"");
		lval(w, kv[i + 1]);
		put(w, "\"");
	}
	if (i > 0)
		put(w, "}");
}

static void
sample(struct mw *w, const char *name, const char *const *kv, uint64_t v)
{
	labels(w, name, "", kv);
	if (w->e == PX_OK)
		w->e = px_buf_printf(w->b, " %llu\n", (unsigned long long)v);
}

static void
sample_f(struct mw *w, const char *name, const char *suffix,
    const char *const *kv, double v)
{
	labels(w, name, suffix, kv);
	if (w->e == PX_OK)
		w->e = px_buf_printf(w->b, " %.6f\n", v);
}

/* kv plus one more pair into out[NLAB]. */
static void
with(const char *const *kv, const char *k, const char *v,
    const char *out[NLAB])
{
	size_t n = 0;

	while (kv[n] != NULL && n + 5 <= NLAB) {
		out[n] = kv[n];
		out[n + 1] = kv[n + 1];
		n += 2;
	}
	out[n] = k;
	out[n + 1] = v;
	out[n + 2] = NULL;
}

/* --- installation-wide counters ------------------------------------------ */

static void
requests(struct mw *w, const uint64_t *st)
{
	static const char *const cls[PX_ST_CLASSES] = { "2xx", "3xx", "4xx",
	    "5xx" };
	const char *n = "aiproxy_requests_total";
	int r, p, c;

	head(w, n, "counter", "Requests that carried a valid access key, by "
	    "route, dialect, provider and status class");
	for (r = 0; r < PX_ST_ROUTE__MAX; r++)
		for (p = 0; p < PX_ST_PROVS; p++)
			for (c = 0; c < PX_ST_CLASSES; c++) {
				enum px_st_route rt = (enum px_st_route)r;
				size_t i = px_st_req(rt, p, 200 + 100 * c);
				const char *kv[] = { "route",
				    px_st_route_name(rt), "dialect",
				    px_st_dialect_name(rt), "provider",
				    px_st_prov_name(p), "status_class",
				    cls[c], NULL };

				if (st[i] != 0)
					sample(w, n, kv, st[i]);
			}
}

static void
attempts(struct mw *w, const uint64_t *st)
{
	const char *n = "aiproxy_upstream_attempts_total";
	int p, a;

	head(w, n, "counter", "Upstream attempts by provider and outcome");
	for (p = 1; p < PX_ST_PROVS; p++)
		for (a = 0; a < PX_ST_ATT__MAX; a++) {
			enum px_st_attempt at = (enum px_st_attempt)a;
			const char *kv[] = { "provider", px_st_prov_name(p),
			    "outcome", px_st_attempt_name(at), NULL };

			sample(w, n, kv, st[px_st_att(p, at)]);
		}
}

static void
limits429(struct mw *w, const uint64_t *st)
{
	const char *n = "aiproxy_rate_limited_total";
	int l;

	head(w, n, "counter", "429s answered by the proxy itself, by the "
	    "limit that was exhausted");
	for (l = 0; l < PX_ST_LIMITS; l++) {
		const char *kv[] = { "limit", l < PX_LIMIT__MAX ?
		    px_limit_code((enum px_limit)l) : "not_entitled", NULL };

		sample(w, n, kv, st[px_st_lim(l)]);
	}
}

/* One histogram's samples: h = buckets, +Inf, sum (us), count. */
static void
hist(struct mw *w, const char *name, const char *const *kv,
    const uint64_t *h, const uint64_t *le, size_t nb)
{
	const char *lab[NLAB];
	char lb[32];
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i <= nb; i++) {
		cum += h[i];
		if (i < nb)
			snprintf(lb, sizeof(lb), "%g", (double)le[i] / 1e6);
		else
			snprintf(lb, sizeof(lb), "+Inf");
		with(kv, "le", lb, lab);
		labels(w, name, "_bucket", lab);
		if (w->e == PX_OK)
			w->e = px_buf_printf(w->b, " %llu\n",
			    (unsigned long long)cum);
	}
	sample_f(w, name, "_sum", kv, (double)h[nb + 1] / 1e6);
	labels(w, name, "_count", kv);
	if (w->e == PX_OK)
		w->e = px_buf_printf(w->b, " %llu\n",
		    (unsigned long long)h[nb + 2]);
}

static void
latencies(struct mw *w, const uint64_t *st)
{
	const char *n = "aiproxy_upstream_latency_seconds";
	int p;

	head(w, n, "histogram", "Upstream time of requests that went "
	    "upstream: from the first attempt to the last byte");
	for (p = 1; p < PX_ST_PROVS; p++) {
		const char *kv[] = { "provider", px_st_prov_name(p), NULL };

		hist(w, n, kv, st + px_st_up(p), px_st_up_le_us,
		    PX_ST_UP_BUCKETS);
	}
	n = "aiproxy_overhead_seconds";
	head(w, n, "histogram", "The proxy's own time per request: total "
	    "minus upstream time");
	{
		const char *kv[] = { NULL };

		hist(w, n, kv, st + px_st_oh(), px_st_oh_le_us,
		    PX_ST_OH_BUCKETS);
	}
}

/* --- the snapshot: per key, owner, model entry, client ------------------- */

/* The windows of one scope: used, limit (0: none) per window name. */
struct win4 {
	uint64_t used[4], limit[4];
};
static const char *const winname[4] = { "requests_minute", "requests_day",
    "tokens_minute", "concurrent" };

static void
key_win(const struct px_snap_key *k, struct win4 *o)
{
	const struct px_provider_cfg *g = k->group;

	o->used[0] = k->req_min;
	o->used[1] = k->req_day;
	o->used[2] = k->tok_min;
	o->used[3] = k->in_flight;
	o->limit[0] = (uint64_t)g->max_request_min;
	o->limit[1] = (uint64_t)g->max_request_day;
	o->limit[2] = (uint64_t)g->max_token_min;
	o->limit[3] = g->max_concurrent > 0 ? (uint64_t)g->max_concurrent : 0;
}

static void
scope_win(const struct px_snap_scope *s, struct win4 *o)
{
	o->used[0] = s->req_min;
	o->used[1] = s->req_day;
	o->used[2] = s->tok_min;
	o->used[3] = s->in_flight;
	o->limit[0] = s->max_request_min;
	o->limit[1] = s->max_request_day;
	o->limit[2] = s->max_token_min;
	o->limit[3] = s->max_concurrent;
}

/* family 0: used, 1: limit, 2: remaining; windows without a limit have
 * no limit or remaining sample (used is shown for the first three). */
static void
win_samples(struct mw *w, const char *name, int family,
    const char *const *kv, const struct win4 *x)
{
	const char *lab[NLAB];
	int i;

	for (i = 0; i < 4; i++) {
		uint64_t v;

		if (x->limit[i] == 0 && (family != 0 || i == 3))
			continue;
		v = family == 0 ? x->used[i] : family == 1 ? x->limit[i] :
		    x->used[i] >= x->limit[i] ? 0 : x->limit[i] - x->used[i];
		with(kv, "window", winname[i], lab);
		sample(w, name, lab, v);
	}
}

static const char *const famsuffix[3] = { "used", "limit", "remaining" };
static const char *const famhelp[3] = {
	"used in each window", "limit of each window (absent: none)",
	"left in each window (limit minus used, at least 0)" };

static void
key_labels(const struct px_snap_key *k, const char *kv[7])
{
	const struct px_owner_cfg *o = k->group->owner;

	kv[0] = "provider";
	kv[1] = px_provider_name(k->provider);
	kv[2] = "key_id";
	kv[3] = k->key->id;
	kv[4] = "owner";
	kv[5] = o != NULL ? o->name : "";
	kv[6] = NULL;
}

static void
keys_windows(struct mw *w, const struct px_snapshot *sn)
{
	char name[64], help[96];
	int f;
	size_t i;

	for (f = 0; f < 3; f++) {
		snprintf(name, sizeof(name), "aiproxy_key_%s", famsuffix[f]);
		snprintf(help, sizeof(help), "Per key: %s", famhelp[f]);
		head(w, name, "gauge", help);
		for (i = 0; i < sn->nkeys; i++) {
			const char *kv[7];
			struct win4 x;

			key_labels(&sn->keys[i], kv);
			key_win(&sn->keys[i], &x);
			win_samples(w, name, f, kv, &x);
		}
	}
}

static void
keys_state(struct mw *w, const struct px_snapshot *sn, int64_t now_ms)
{
	const char *lab[NLAB];
	size_t i;
	int s;

	head(w, "aiproxy_key_state", "gauge", "Per key: 1 for its state "
	    "(active, cooling, disabled), 0 for the others");
	for (i = 0; i < sn->nkeys; i++)
		for (s = 0; s < 3; s++) {
			const char *kv[7];

			key_labels(&sn->keys[i], kv);
			with(kv, "state", px_key_state_name((unsigned)s),
			    lab);
			sample(w, "aiproxy_key_state", lab,
			    sn->keys[i].state == (enum px_key_state)s);
		}
	head(w, "aiproxy_key_until_seconds", "gauge", "Per key: when its "
	    "cooldown ends or its next probe is due (Unix time; 0: none)");
	for (i = 0; i < sn->nkeys; i++) {
		const char *kv[7];
		int64_t u = sn->keys[i].until_ms;

		key_labels(&sn->keys[i], kv);
		sample_f(w, "aiproxy_key_until_seconds", "", kv,
		    u > now_ms ? (double)u / 1e3 : 0.0);
	}
	head(w, "aiproxy_key_not_entitled_models", "gauge", "Per key: "
	    "models its project has no quota for (Gemini \"limit: 0\")");
	for (i = 0; i < sn->nkeys; i++) {
		const char *kv[7];

		key_labels(&sn->keys[i], kv);
		sample(w, "aiproxy_key_not_entitled_models", kv,
		    sn->keys[i].nent);
	}
}

/* Lifetime counters per key: requests, tokens, errors. */
static void
keys_totals(struct mw *w, const struct px_snapshot *sn)
{
	static const char *const n[3] = { "aiproxy_key_requests_total",
	    "aiproxy_key_tokens_total", "aiproxy_key_errors_total" };
	static const char *const h[3] = { "Per key: requests since the "
	    "ledger began", "Per key: tokens booked (real usage) since the "
	    "ledger began", "Per key: failed attempts since the ledger "
	    "began" };
	size_t i;
	int f;

	for (f = 0; f < 3; f++) {
		head(w, n[f], "counter", h[f]);
		for (i = 0; i < sn->nkeys; i++) {
			const struct px_snap_key *k = &sn->keys[i];
			const char *kv[7];

			key_labels(k, kv);
			sample(w, n[f], kv, f == 0 ? k->life_requests :
			    f == 1 ? k->life_tokens : k->life_errors);
		}
	}
}

/* A scope's labels: owners and clients by name, model entries by model
 * pattern and their key or owner. */
static void
scope_labels(const struct px_snapshot *sn, const struct px_snap_scope *s,
    const char *kv[9])
{
	size_t n = 0;

	if (s->kind == PX_SNAP_KEY_MODEL && s->parent < sn->nkeys) {
		key_labels(&sn->keys[s->parent], kv);
		n = 6;
	} else if (s->kind == PX_SNAP_OWNER_MODEL &&
	    s->parent < sn->nscopes) {
		kv[n++] = "owner";
		kv[n++] = sn->scopes[s->parent].name;
	} else {
		kv[n++] = s->kind == PX_SNAP_CLIENT ? "client" : "owner";
		kv[n++] = s->name;
	}
	if (s->kind == PX_SNAP_KEY_MODEL || s->kind == PX_SNAP_OWNER_MODEL) {
		kv[n++] = "model";
		kv[n++] = s->name;
	}
	kv[n] = NULL;
}

static void
scopes_windows(struct mw *w, const struct px_snapshot *sn)
{
	static const char *const fam[4] = { "key_model", "owner",
	    "owner_model", "client" };
	static const char *const who[4] = { "Per key and model_limits entry",
	    "Per owner", "Per owner and model_limits entry",
	    "Per client key" };
	char name[64], help[128];
	int kind, f;
	size_t i;

	for (kind = 0; kind < 4; kind++)
		for (f = 0; f < 3; f++) {
			snprintf(name, sizeof(name), "aiproxy_%s_%s",
			    fam[kind], famsuffix[f]);
			snprintf(help, sizeof(help), "%s: %s", who[kind],
			    famhelp[f]);
			head(w, name, "gauge", help);
			for (i = 0; i < sn->nscopes; i++) {
				const struct px_snap_scope *s = &sn->scopes[i];
				const char *kv[9];
				struct win4 x;

				if ((int)s->kind != kind)
					continue;
				scope_labels(sn, s, kv);
				scope_win(s, &x);
				win_samples(w, name, f, kv, &x);
			}
		}
}

static void
clients_totals(struct mw *w, const struct px_snapshot *sn)
{
	static const char *const n[2] = { "aiproxy_client_requests_total",
	    "aiproxy_client_tokens_total" };
	size_t i;
	int f;

	for (f = 0; f < 2; f++) {
		head(w, n[f], "counter", f == 0 ? "Per client key: requests "
		    "since the ledger began" : "Per client key: tokens "
		    "booked since the ledger began");
		for (i = 0; i < sn->nscopes; i++) {
			const struct px_snap_scope *s = &sn->scopes[i];
			const char *kv[] = { "client", s->name, NULL };

			if (s->kind == PX_SNAP_CLIENT)
				sample(w, n[f], kv, f == 0 ?
				    s->life_requests : s->life_tokens);
		}
	}
}

static void
providers(struct mw *w, const struct px_snapshot *sn)
{
	static const char *const n[3] = {
	    "aiproxy_provider_requests_day", "aiproxy_provider_capacity_day",
	    "aiproxy_provider_backoff_until_seconds" };
	static const char *const h[3] = {
	    "Per provider: requests in the day windows of its keys",
	    "Per provider: the sum of its keys' max_request_day",
	    "Per provider: when its back-off ends (Unix time; 0: none)" };
	int f, p;

	for (f = 0; f < 3; f++) {
		head(w, n[f], "gauge", h[f]);
		for (p = 0; p < PX_PROV__MAX; p++) {
			const struct px_snap_provider *sp = &sn->prov[p];
			const char *kv[] = { "provider",
			    px_provider_name((enum px_provider_id)p), NULL };

			if (!sp->present)
				continue;
			if (f == 2)
				sample_f(w, n[f], "", kv,
				    (double)sp->backoff_until_ms / 1e3);
			else
				sample(w, n[f], kv, f == 0 ? sp->req_day :
				    sp->capacity);
		}
	}
}

static void
info(struct mw *w, const struct px_snapshot *sn)
{
	const char *kv[] = { "backend", sn->backend, NULL };

	head(w, "aiproxy_ledger_info", "gauge", "The ledger backend that "
	    "holds the counters (always 1)");
	sample(w, "aiproxy_ledger_info", kv, 1);
}

enum px_err
px_metrics_render(const struct px_snapshot *sn, const uint64_t *stats,
    struct px_buf *out)
{
	struct mw w = { out, PX_OK };

	px_buf_reset(out);
	info(&w, sn);
	requests(&w, stats);
	attempts(&w, stats);
	limits429(&w, stats);
	latencies(&w, stats);
	providers(&w, sn);
	keys_windows(&w, sn);
	keys_state(&w, sn, sn->now_ms);
	keys_totals(&w, sn);
	scopes_windows(&w, sn);
	clients_totals(&w, sn);
	return w.e;
}
