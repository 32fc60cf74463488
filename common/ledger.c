/*
 * ledger.c -- the ledger's policy (ledger.h), over a backend
 * (ledger_int.h): opening the one the config names, the per-thread
 * scratch, the public calls, and the pure policy steps the backends apply
 * inside their atomic step.
 * Never: touches a store or a socket itself (the backends do), or renders
 * (usage.c renders snapshots).
 */
#include "ledger_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "store.h"

const int64_t px_escalate_ms[PX_ESCALATE_N] = { 10000, 30000, 60000,
    300000 };

/* --- setup --------------------------------------------------------------- */

/* Test knob AIPROXY_TEST_CLOCK_OFFSET_MS (ledger.h): this host's clock
 * skewed by so many ms. Set at open, before any thread reads it. */
static int64_t clock_offset_ms;

int64_t
px_ledger_now_ms(void)
{
	return px_wall_ms() + clock_offset_ms;
}

static void
read_clock_offset(void)
{
	const char *v = getenv("AIPROXY_TEST_CLOCK_OFFSET_MS");
	char *end;
	long long o;

	if (v == NULL || *v == '\0')
		return;
	o = strtoll(v, &end, 10);
	if (*end == '\0' && o > -86400000LL * 365 && o < 86400000LL * 365)
		clock_offset_ms = o;
}

uint32_t
px_ledger_estimate(size_t prompt_bytes)
{
	size_t t = prompt_bytes / 4 + (prompt_bytes % 4 != 0);

	if (t == 0)
		return 1;
	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

static const struct px_ledger_ops *
ops_for(const struct px_config *cfg)
{
	return cfg->state_backend == PX_BACKEND_REDIS ? &px_ledger_redis_ops :
	    &px_ledger_lmdb_ops;
}

/*
 * The LMDB environment is opened for every backend: with Redis it keeps
 * only this host's caches (thought signatures), and costs nothing else.
 */
enum px_err
px_ledger_open(struct px_ledger **out, const struct px_config *cfg,
    char *detail, size_t cap)
{
	struct px_ledger *lg = calloc(1, sizeof(*lg));
	char dir[4096];
	enum px_err e;

	*out = NULL;
	if (lg == NULL)
		return PX_ENOMEM;
	lg->cfg = cfg;
	lg->ops = ops_for(cfg);
	if (pthread_mutex_init(&lg->recs_mu, NULL) != 0) {
		free(lg);
		return PX_ENOMEM;
	}
	read_clock_offset();
	snprintf(dir, sizeof(dir), "%s/ledger", cfg->state_dir);
	e = px_store_open(&lg->st, dir, (size_t)cfg->state_map_mb << 20,
	    (cfg->state_durable ? PX_STORE_DURABLE : 0u) |
	    (cfg->state_writemap ? PX_STORE_WRITEMAP : 0u), detail, cap);
	if (e == PX_OK)
		e = lg->ops->open(lg, detail, cap);
	if (e != PX_OK) {
		px_store_close(lg->st);
		pthread_mutex_destroy(&lg->recs_mu);
		free(lg);
		return e;
	}
	*out = lg;
	return PX_OK;
}

enum px_err
px_recs_lend(struct px_ledger *lg, struct px_ledger_scratch *s)
{
	if (s->own != NULL) {
		s->rec = s->own;
		return PX_OK;
	}
	pthread_mutex_lock(&lg->recs_mu);
	s->rec = lg->nrecs > 0 ? lg->recs[--lg->nrecs] : NULL;
	pthread_mutex_unlock(&lg->recs_mu);
	if (s->rec == NULL)	/* decoding fills what it reads */
		s->rec = malloc(sizeof(*s->rec));
	return s->rec != NULL ? PX_OK : PX_ENOMEM;
}

void
px_recs_back(struct px_ledger *lg, struct px_ledger_scratch *s)
{
	struct px_scope_recs *r = s->rec;

	s->rec = NULL;
	if (r == NULL || r == s->own)
		return;
	pthread_mutex_lock(&lg->recs_mu);
	if (lg->nrecs < PX_RECS_POOL) {
		lg->recs[lg->nrecs++] = r;
		r = NULL;
	}
	pthread_mutex_unlock(&lg->recs_mu);
	free(r);
}

struct px_store *
px_ledger_store(struct px_ledger *lg)
{
	return lg != NULL ? lg->st : NULL;
}

const char *
px_ledger_backend(const struct px_ledger *lg)
{
	return lg->ops->name;
}

void
px_ledger_close(struct px_ledger *lg)
{
	if (lg == NULL)
		return;
	lg->ops->close(lg);
	px_store_close(lg->st);
	while (lg->nrecs > 0)
		free(lg->recs[--lg->nrecs]);
	pthread_mutex_destroy(&lg->recs_mu);
	free(lg);
}

void
px_ledger_maintain(struct px_ledger *lg)
{
	if (lg != NULL)
		px_store_maintain(lg->st);
}

/* How many snapshot scopes cfg has (px_snap_plan). */
static size_t
plan_size(const struct px_config *cfg)
{
	size_t i, n = cfg->nclients;

	for (i = 0; i < cfg->nproviders; i++)
		n += cfg->providers[i].nkeys * cfg->providers[i].nmodel_limits;
	for (i = 0; i < cfg->nowners; i++)
		n += 1 + cfg->owners[i].nmodel_limits;
	return n;
}

static const char *
day_name(enum px_dayrule d)
{
	return d == PX_DAYRULE_UTC ? "utc" : d == PX_DAYRULE_PACIFIC ?
	    "pacific" : "rolling";
}

/* One planned snapshot scope: its scope and what stays fixed. */
static void
plan_one(struct px_ledger_scratch *s, size_t i, enum px_snap_kind kind,
    size_t parent, const char *name)
{
	struct px_snap_scope *o = &s->snap.scopes[i];
	const struct px_scope *sc = &s->snap_sc[i];

	o->kind = kind;
	o->parent = parent;
	o->name = name;
	o->max_request_min = sc->rpm;
	o->max_request_day = sc->rpd;
	o->max_token_min = sc->tpm;
	o->max_concurrent = sc->conc;
	o->day_reset = day_name(sc->day);
}

/* The scopes a snapshot reads besides the keys' own, in the order of
 * ledger.h (struct px_snapshot). */
static void
snap_plan(struct px_ledger_scratch *s)
{
	const struct px_config *cfg = s->cfg;
	size_t i, j, n, slot = 0, at = 0, own;
	int p;

	for (p = 0; p < PX_PROV__MAX; p++) {
		n = px_ledger_keys_of(cfg, (enum px_provider_id)p, s->refs,
		    s->cap);
		for (i = 0; i < n; i++, slot++) {
			const struct px_provider_cfg *g = s->refs[i].group;

			for (j = 0; j < g->nmodel_limits; j++, at++) {
				px_scope_key_model(&s->refs[i],
				    &g->model_limits[j], &s->snap_sc[at]);
				plan_one(s, at, PX_SNAP_KEY_MODEL, slot,
				    g->model_limits[j].model);
			}
		}
	}
	for (i = 0; i < cfg->nowners; i++) {
		const struct px_owner_cfg *o = &cfg->owners[i];

		own = at;
		px_scope_owner(o, &s->snap_sc[at]);
		plan_one(s, at++, PX_SNAP_OWNER, 0, o->name);
		for (j = 0; j < o->nmodel_limits; j++, at++) {
			px_scope_owner_model(o, &o->model_limits[j],
			    &s->snap_sc[at]);
			plan_one(s, at, PX_SNAP_OWNER_MODEL, own,
			    o->model_limits[j].model);
		}
	}
	for (i = 0; i < cfg->nclients; i++, at++) {
		(void)px_scope_client(&cfg->clients[i], &s->snap_sc[at]);
		plan_one(s, at, PX_SNAP_CLIENT, 0, cfg->clients[i].name);
		s->snap.scopes[at].client = &cfg->clients[i];
	}
	s->snap.nscopes = at;
}

static size_t
total_keys(const struct px_config *cfg)
{
	size_t i, n = 0;

	for (i = 0; i < cfg->nproviders; i++)
		n += cfg->providers[i].nkeys;
	return n;
}

int
px_ledger_not_entitled(const struct px_ledger_scratch *s)
{
	return s->not_entitled;
}

struct px_ledger_scratch *
px_ledger_scratch_new(const struct px_config *cfg)
{
	struct px_ledger_scratch *s = calloc(1, sizeof(*s));
	size_t n = total_keys(cfg) + 1, enc;

	if (s == NULL)
		return NULL;
	s->cfg = cfg;
	s->cap = n;
	enc = px_win_maxbytes(&px_win_day);
	if (px_win_maxbytes(&px_win_minute) > enc)
		enc = px_win_maxbytes(&px_win_minute);
	if (PX_LEASES_MAXBYTES > enc)
		enc = PX_LEASES_MAXBYTES;
	s->enccap = enc + PX_ENTREC_MAXBYTES;
	s->refs = calloc(n, sizeof(*s->refs));
	s->views = calloc(n, sizeof(*s->views));
	s->free_at = calloc(n, sizeof(*s->free_at));
	s->snap.keys = calloc(n, sizeof(*s->snap.keys));
	s->snap.scopes = calloc(plan_size(cfg) + 1, sizeof(*s->snap.scopes));
	s->snap_sc = calloc(plan_size(cfg) + 1, sizeof(*s->snap_sc));
	s->enc = malloc(s->enccap);
	if (s->refs == NULL || s->views == NULL || s->free_at == NULL ||
	    s->snap.keys == NULL || s->snap.scopes == NULL ||
	    s->snap_sc == NULL || s->enc == NULL) {
		px_ledger_scratch_free(s);
		return NULL;
	}
	snap_plan(s);
	return s;
}

void
px_ledger_scratch_free(struct px_ledger_scratch *s)
{
	if (s == NULL)
		return;
	if (s->be != NULL && s->be_free != NULL)
		s->be_free(s->be);
	free(s->refs);
	free(s->views);
	free(s->free_at);
	free(s->snap.keys);
	free(s->snap.scopes);
	free(s->snap_sc);
	free(s->enc);
	free(s->own);
	free(s);
}

size_t
px_ledger_keys_of(const struct px_config *cfg, enum px_provider_id p,
    struct px_keyref *refs, size_t cap)
{
	size_t i, j, n = 0;

	for (i = 0; i < cfg->nproviders; i++) {
		const struct px_provider_cfg *g = &cfg->providers[i];

		if (g->provider != p)
			continue;
		for (j = 0; j < g->nkeys && n < cap; j++) {
			refs[n].group = g;
			refs[n].key = &g->keys[j];
			n++;
		}
	}
	return n;
}

int
px_ledger_has_provider(const struct px_config *cfg, enum px_provider_id p)
{
	size_t i;

	for (i = 0; i < cfg->nproviders; i++)
		if (cfg->providers[i].provider == p)
			return 1;
	return 0;
}

/*
 * dst = <kind>/<provider>[/<id>] (see ledger_rec.h), "m" and "d" with the
 * scope "k/" in front of the provider. Built by hand: it runs for every
 * key of every reservation, where snprintf showed in the profile.
 */
void
px_ledger_recname(char *dst, size_t cap, char kind, enum px_provider_id p,
    const char *id)
{
	const char *scope = kind == 'm' || kind == 'd' ? "/k/" : "/";
	const char *parts[5] = { scope, px_provider_name(p), id != NULL ?
	    "/" : "", id != NULL ? id : "", "" };
	size_t n = 0, i, k;

	dst[n++] = kind;
	if (kind == 'r')	/* the cursor: "rr/<p>" */
		dst[n++] = 'r';
	for (i = 0; i < 4; i++) {
		k = strlen(parts[i]);
		if (k > cap - 1 - n)
			k = cap - 1 - n;
		memcpy(dst + n, parts[i], k);
		n += k;
	}
	dst[n] = '\0';
}

void
px_ledger_scopename(char *dst, size_t cap, char kind, const char *scope)
{
	size_t n = strlen(scope);

	if (cap < 4)
		return;
	dst[0] = kind;
	dst[1] = '/';
	if (n > cap - 3)
		n = cap - 3;
	memcpy(dst + 2, scope, n);
	dst[2 + n] = '\0';
}

/* --- the public calls ------------------------------------------------------ */

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

enum px_err
px_ledger_reserve(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_candidate *c, size_t nc, uint32_t tokens, int64_t now_ms,
    struct px_lease *lease, int64_t *retry_ms)
{
	return px_ledger_reserve_ex(lg, s, c, nc, tokens, NULL, 0, now_ms,
	    lease, retry_ms);
}

enum px_err
px_ledger_reserve_ex(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_candidate *c, size_t nc, uint32_t tokens,
    const struct px_key_cfg *const *exclude, size_t nexclude, int64_t now_ms,
    struct px_lease *lease, int64_t *retry_ms)
{
	struct px_ask ask = { c, nc, tokens, exclude, nexclude, NULL };

	return px_ledger_reserve_ask(lg, s, &ask, now_ms, lease, retry_ms);
}

/* A lease id: random, below 2^53 (exact in ledger.lua's doubles), not 0.
 * xorshift64* per thread, seeded from the caller's time, the scratch's
 * address, the process id and the monotonic clock in microseconds: ids
 * only need to differ between requests in flight, but responders forked
 * from one parent make their scratches at the same addresses, and two
 * of them may start in the same millisecond (a shared id would let one
 * request's renewal or settlement act on the other's lease). */
static uint64_t
lease_id(struct px_ledger_scratch *s, int64_t now)
{
	uint64_t seed;

	if (s->rng == 0) {
		seed = (uint64_t)now ^ (uint64_t)(uintptr_t)s ^
		    ((uint64_t)getpid() << 40) ^ (uint64_t)px_mono_us() ^
		    UINT64_C(0x9e3779b97f4a7c15);
		s->rng = seed != 0 ? seed : 1;
	}
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return ((s->rng * UINT64_C(2685821657736338717)) >> 11) | 1;
}

/*
 * One client request, several attempts: a reservation that excludes keys
 * is the next attempt of the request whose attempt this worker settled
 * last (chat.c retries on the same worker, excluding the keys it tried).
 * When that settlement kept the client's request booked (the attempt
 * reached the provider, or an earlier one did), the retry books only
 * tokens and its lease on the client's scope: the client's windows count
 * the request once. After a settlement that gave the request back (a 429,
 * a refused connection) the retry books it again. Whatever came before,
 * the mark is used once.
 */
static int
retry_of_held(struct px_ledger_scratch *s, const struct px_ask *ask)
{
	int carried = ask->client != NULL && ask->nexclude > 0 &&
	    s->held == ask->client;

	s->held = NULL;
	s->carry.key = NULL;
	s->carry.client = NULL;
	s->carry.t_ms = 0;
	return carried;
}

/* Is l the retry lease of the last reservation (retry_of_held)? */
static int
carried_lease(const struct px_ledger_scratch *s, const struct px_lease *l)
{
	return l->client != NULL && s->carry.key == l->key &&
	    s->carry.client == l->client && s->carry.t_ms == l->t_ms;
}

enum px_err
px_ledger_reserve_ask(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_ask *ask, int64_t now_ms, struct px_lease *lease,
    int64_t *retry_ms)
{
	struct px_resv r;
	enum px_err e;

	memset(&r, 0, sizeof(r));
	r.ask = ask;
	r.c = ask->c;
	r.nc = ask->nc;
	r.tokens = ask->tokens;
	r.now = now_ms;
	r.lease_id = lease_id(s, now_ms);
	r.lease = lease;
	r.carried = retry_of_held(s, ask);
	*retry_ms = 0;
	s->not_entitled = 0;
	s->limit = PX_LIMIT_KEY;
	e = px_recs_lend(lg, s);
	if (e != PX_OK)
		return e;
	e = lg->ops->reserve(lg, s, &r);
	px_recs_back(lg, s);
	if (e == PX_OK && r.carried) {
		s->carry.key = lease->key;
		s->carry.client = lease->client;
		s->carry.t_ms = lease->t_ms;
	}
	if (e != PX_ERATE)
		return e;
	s->limit = r.limit;
	/* every key left was one without quota for the model */
	s->not_entitled = r.nent > 0 && r.nent + ask->nexclude >= r.nkeys;
	if (!r.fits)
		return PX_EBADREQ;
	/* nothing frees by itself (every key disabled by the operator):
	 * a day, with x-should-retry: false, rather than a busy loop */
	*retry_ms = r.earliest == INT64_MAX ? 1 : r.earliest >= PX_NEVER_MS ?
	    86400000 : max64(1, r.earliest - r.now);
	return PX_ERATE;
}

enum px_limit
px_ledger_limit(const struct px_ledger_scratch *s)
{
	return s->limit;
}

const char *
px_limit_code(enum px_limit l)
{
	static const char *const codes[PX_LIMIT__MAX] = {
		"key_rate_limit", "owner_rate_limit", "model_rate_limit",
		"concurrency_limit", "client_rate_limit",
	};

	return (unsigned)l < PX_LIMIT__MAX ? codes[l] : codes[0];
}

enum px_err
px_ledger_renew(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_lease *lease, int64_t now_ms)
{
	enum px_err e;

	if (lease->id == 0 || lease->key == NULL)
		return PX_OK;
	e = px_recs_lend(lg, s);
	if (e != PX_OK)
		return e;
	e = lg->ops->renew(lg, s, lease, now_ms);
	px_recs_back(lg, s);
	return e;
}

enum px_err
px_ledger_settle_ex(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_lease *lease, enum px_settle how, long tokens,
    const struct px_verdict *v, int64_t now_ms)
{
	struct px_settle_req q = { lease, how, tokens, v, now_ms, 0 };
	enum px_err e;

	q.carried = carried_lease(s, lease);
	e = px_recs_lend(lg, s);
	if (e == PX_OK) {
		e = lg->ops->settle(lg, s, &q);
		px_recs_back(lg, s);
	}
	/* the client request stays booked unless this gave it back */
	s->held = e == PX_OK && lease->client != NULL &&
	    (how != PX_SETTLE_RELEASE_ALL || q.carried) ? lease->client : NULL;
	s->carry.key = NULL;
	s->carry.client = NULL;
	return e;
}

enum px_err
px_ledger_settle(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_lease *lease, enum px_settle how, long tokens, int failed,
    int64_t now_ms)
{
	struct px_verdict v = { PX_FAULT_UPSTREAM, 0, 0, NULL };

	return px_ledger_settle_ex(lg, s, lease, how, tokens,
	    failed ? &v : NULL, now_ms);
}

/* Per-provider ranges and totals of a filled key list. */
static void
snap_providers(struct px_snapshot *sn, const struct px_config *cfg)
{
	size_t i, h;

	for (i = 0; i < sn->nkeys; i++) {
		struct px_snap_provider *p = &sn->prov[sn->keys[i].provider];

		if (p->nkeys == 0)
			p->first = i;
		p->nkeys++;
		p->req_day += sn->keys[i].req_day;
		p->capacity += (uint64_t)sn->keys[i].group->max_request_day;
		for (h = 0; h < PX_SNAP_HOURS; h++)
			p->day_hist[h] += sn->keys[i].day_hist[h];
	}
	for (i = 0; i < PX_PROV__MAX; i++)
		sn->prov[i].present = px_ledger_has_provider(cfg,
		    (enum px_provider_id)i);
}

enum px_err
px_ledger_snapshot(struct px_ledger *lg, struct px_ledger_scratch *s,
    int64_t now_ms, const struct px_snapshot **out)
{
	struct px_snap_key *keys = s->snap.keys;
	struct px_snap_scope *scopes = s->snap.scopes;
	size_t nscopes = s->snap.nscopes;
	enum px_err e;

	memset(&s->snap, 0, sizeof(s->snap));
	s->snap.keys = keys;
	s->snap.scopes = scopes;	/* the plan stays; values are redone */
	s->snap.nscopes = nscopes;
	s->snap.backend = lg->ops->name;
	s->snap.now_ms = now_ms;
	e = px_recs_lend(lg, s);
	if (e != PX_OK)
		return e;
	e = lg->ops->snapshot(lg, s, now_ms);
	px_recs_back(lg, s);
	if (e != PX_OK)
		return e;
	snap_providers(&s->snap, lg->cfg);
	*out = &s->snap;
	return PX_OK;
}

/* --- policy: choosing ------------------------------------------------------- */

int64_t
px_pol_health_free_at(const struct px_health *h, int64_t now)
{
	switch (h->state) {
	case PX_KEY_COOLING:
		return max64(now, h->cool_until_ms);
	case PX_KEY_DISABLED:
		return max64(now, max64(h->probe_at_ms, h->probe_lease_ms));
	default:
		return now;
	}
}

int64_t
px_pol_ent_until(const struct px_entrec *e, const char *model, int64_t now)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (e->e[i].until_ms > now &&
		    strncmp(e->e[i].model, model, PX_ENT_MODEL - 1) == 0)
			return e->e[i].until_ms;
	return 0;
}

int
px_pol_excluded(const struct px_resv *r, const struct px_key_cfg *k)
{
	size_t i;

	for (i = 0; i < r->ask->nexclude; i++)
		if (r->ask->exclude[i] == k)
			return 1;
	return 0;
}

void
px_pol_fold(struct px_scope_eval *acc, const struct px_scope_eval *ev)
{
	acc->ok &= ev->ok;
	acc->fits &= ev->fits;
	if (ev->free_at > acc->free_at) {
		acc->free_at = ev->free_at;
		acc->limit = ev->limit;
	}
}

void
px_pol_view(struct px_ledger_scratch *s, struct px_resv *r, size_t i,
    const struct px_scope_eval *agg, const struct px_entrec *e,
    int64_t backoff)
{
	const struct px_provider_cfg *g = s->refs[i].group;
	int64_t now = r->now, t, ent = px_pol_ent_until(e, r->c[r->ci].model,
	    now), hfree = px_pol_health_free_at(&s->h, now);
	int out = px_pol_excluded(r, s->refs[i].key);

	s->views[i].eligible = agg->ok && hfree <= now && backoff <= now &&
	    !out && ent == 0;
	r->nkeys++;
	r->nent += ent != 0 && !out;
	s->views[i].req_day = agg->req_day;
	s->views[i].max_req_day = (uint64_t)g->max_request_day;
	/* an excluded key still tells the client when to come back */
	t = max64(agg->free_at, max64(max64(hfree, backoff), ent));
	s->free_at[i] = t;
	if (agg->fits)
		r->fits = 1;
	if (t < r->earliest) {
		r->earliest = t;
		r->limit = agg->free_at >= t ? agg->limit : PX_LIMIT_KEY;
	}
}

void
px_pol_take_key(struct px_health *h, int64_t now)
{
	h->life_requests++;
	if (h->state == PX_KEY_DISABLED)	/* this request is the probe */
		h->probe_lease_ms = now + PX_PROBE_LEASE_MS;
}

void
px_pol_lease(const struct px_ledger_scratch *s, struct px_resv *r, size_t ci,
    size_t i)
{
	r->lease->model = r->c[ci].model;
	r->lease->provider = r->c[ci].provider;
	r->lease->group = s->refs[i].group;
	r->lease->key = s->refs[i].key;
	r->lease->client = r->ask->client;
	r->lease->t_ms = r->now;
	r->lease->tokens = r->tokens;
	r->lease->id = r->lease_id;
}

/* --- policy: settling -------------------------------------------------------- */

void
px_pol_book_key(struct px_health *h, const struct px_settle_req *q)
{
	const struct px_lease *l = q->lease;

	if (q->how == PX_SETTLE_DONE)
		h->life_tokens += q->tokens >= 0 ? (uint64_t)q->tokens :
		    l->tokens;
	if (q->how == PX_SETTLE_RELEASE_ALL && h->life_requests > 0)
		h->life_requests--;
	if (q->v != NULL && q->v->fault != PX_FAULT_NONE)
		h->life_errors++;
}

void
px_pol_book_client(struct px_totals *t, const struct px_lease *l,
    const struct px_settle_req *q)
{
	if (q == NULL) {
		t->requests++;
		return;
	}
	if (q->how == PX_SETTLE_DONE)
		t->tokens += q->tokens >= 0 ? (uint64_t)q->tokens : l->tokens;
	if (q->how == PX_SETTLE_RELEASE_ALL && !q->carried && t->requests > 0)
		t->requests--;
}

void
px_pol_healthy(struct px_health *h)
{
	h->state = PX_KEY_ACTIVE;
	h->strikes = 0;
	h->daily = 0;
	h->cool_until_ms = h->probe_at_ms = h->probe_lease_ms = 0;
	h->reason[0] = '\0';
}

/* Is recent[i] a 429 inside the correlation span? */
static int
in_span(const struct px_provrec *pr, size_t i, int64_t now)
{
	return pr->recent[i].t != 0 && now - pr->recent[i].t <=
	    PX_CORRELATE_MS;
}

/* Distinct keys with a 429 in the span (the first entry of each). */
static size_t
distinct_429(const struct px_provrec *pr, int64_t now, int *first)
{
	size_t i, j, n = 0;

	for (i = 0; i < PX_RECENT_429; i++) {
		first[i] = in_span(pr, i, now);
		for (j = 0; j < i && first[i]; j++)
			if (in_span(pr, j, now) && pr->recent[j].key ==
			    pr->recent[i].key)
				first[i] = 0;
		n += (size_t)first[i];
	}
	return n;
}

int
px_pol_provider_429(struct px_provrec *pr, uint32_t ki, size_t n,
    int64_t until, int64_t now, int first[PX_RECENT_429])
{
	size_t distinct;

	pr->recent[pr->next % PX_RECENT_429].t = now;
	pr->recent[pr->next % PX_RECENT_429].key = ki;
	pr->next = (pr->next + 1) % PX_RECENT_429;
	distinct = distinct_429(pr, now, first);
	if (distinct < 2 || distinct * 2 < n)
		return 0;
	if (until <= now)
		until = now + px_escalate_ms[pr->strikes < PX_ESCALATE_N - 1 ?
		    pr->strikes : PX_ESCALATE_N - 1];
	pr->strikes++;
	pr->backoff_until_ms = max64(pr->backoff_until_ms, until);
	px_rec_set_reason(pr->reason, "429 on several keys");
	return 1;
}

void
px_pol_key_429(struct px_health *h, const struct px_verdict *v, int64_t now)
{
	int64_t until = v->until_ms > now ? v->until_ms : 0;

	if (until == 0) {
		until = now + px_escalate_ms[h->strikes < PX_ESCALATE_N - 1 ?
		    h->strikes : PX_ESCALATE_N - 1];
		h->strikes++;
	}
	h->state = PX_KEY_COOLING;
	h->daily = (uint32_t)(v->daily != 0);
	h->cool_until_ms = until;
	px_rec_set_reason(h->reason, v->reason);
}

void
px_pol_disable(struct px_health *h, const struct px_verdict *v, int64_t now,
    long reprobe_s)
{
	h->state = PX_KEY_DISABLED;
	h->probe_at_ms = now + reprobe_s * 1000;
	h->probe_lease_ms = 0;
	px_rec_set_reason(h->reason, v->reason);
}

void
px_pol_ent_mark(struct px_entrec *e, const char *model, int64_t until,
    int64_t now)
{
	size_t i, n = 0, use;

	for (i = 0; i < e->n; i++)	/* expired marks go */
		if (e->e[i].until_ms > now)
			e->e[n++] = e->e[i];
	e->n = (uint32_t)n;
	for (use = 0; use < e->n; use++)
		if (strncmp(e->e[use].model, model, PX_ENT_MODEL - 1) == 0)
			break;
	if (use == e->n && e->n == PX_ENT_SLOTS) {
		for (use = 0, i = 1; i < e->n; i++)	/* ends first */
			if (e->e[i].until_ms < e->e[use].until_ms)
				use = i;
	} else if (use == e->n) {
		e->n++;
	}
	e->e[use].until_ms = until;
	snprintf(e->e[use].model, PX_ENT_MODEL, "%s", model);
}

/* --- policy: reading ---------------------------------------------------------- */

static uint64_t
in_flight(const struct px_leases *lz, int64_t now)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < lz->n; i++)
		n += lz->e[i].expires_ms > now;
	return n;
}

static int64_t
resets_at(const struct px_scope *sc, int64_t now)
{
	if (sc->day == PX_DAYRULE_ROLLING)
		return 0;
	return px_day_next(sc->day == PX_DAYRULE_PACIFIC ? PX_TZ_PACIFIC :
	    PX_TZ_UTC, now);
}

void
px_pol_snap_scope(struct px_ledger_scratch *s, size_t i,
    const struct px_totals *t, int64_t now)
{
	struct px_snap_scope *o = &s->snap.scopes[i];
	const struct px_scope *sc = &s->snap_sc[i];
	struct px_scope_eval ev;

	px_scope_eval(sc, s->rec, 1, now, &ev);
	o->req_min = px_win_sum_at(&s->rec->wm, &px_win_minute, now,
	    PX_WIN_REQ);
	o->tok_min = px_win_sum_at(&s->rec->wm, &px_win_minute, now,
	    PX_WIN_TOK);
	o->req_day = ev.req_day;
	o->in_flight = in_flight(&s->rec->lz, now);
	o->resets_at_ms = resets_at(sc, now);
	o->life_requests = t != NULL ? t->requests : 0;
	o->life_tokens = t != NULL ? t->tokens : 0;
}

/* The day window's requests per hour, oldest first, the last hour
 * ending at now; buckets older than 24 h are left out. */
static void
day_hours(const struct px_win *w, int64_t now, uint64_t out[PX_SNAP_HOURS])
{
	const int64_t hour = 3600000, width = px_win_day.width_ms;
	uint32_t i;

	memset(out, 0, sizeof(uint64_t) * PX_SNAP_HOURS);
	for (i = 0; i < w->n; i++) {
		int64_t age = now - w->b[i] * width;
		int64_t h = age / hour;

		if (age >= 0 && h < PX_SNAP_HOURS)
			out[PX_SNAP_HOURS - 1 - h] += w->v[i][PX_WIN_REQ];
	}
}

void
px_pol_snap_key(struct px_ledger_scratch *s, size_t slot,
    const struct px_keyref *k, const struct px_entrec *e, int64_t now)
{
	struct px_snap_key *o = &s->snap.keys[slot];
	const struct px_health *h = &s->h;
	struct px_scope sc[PX_SCOPES_MAX];
	struct px_scope_eval ev;
	size_t i;

	memset(o, 0, sizeof(*o));
	o->provider = k->group->provider;
	o->group = k->group;
	o->key = k->key;
	(void)px_scopes_of(k, "", sc);
	px_scope_eval(&sc[0], s->rec, 1, now, &ev);
	o->req_min = px_win_sum_at(&s->rec->wm, &px_win_minute, now,
	    PX_WIN_REQ);
	o->tok_min = px_win_sum_at(&s->rec->wm, &px_win_minute, now,
	    PX_WIN_TOK);
	o->req_day = ev.req_day;
	o->day_reset = day_name(sc[0].day);
	o->resets_at_ms = resets_at(&sc[0], now);
	o->in_flight = in_flight(&s->rec->lz, now);
	if (sc[0].day == PX_DAYRULE_ROLLING)
		day_hours(&s->rec->wd, now, o->day_hist);
	o->life_requests = h->life_requests;
	o->life_tokens = h->life_tokens;
	o->life_errors = h->life_errors;
	o->state = (enum px_key_state)h->state;
	o->until_ms = h->state == PX_KEY_COOLING ? h->cool_until_ms :
	    h->state == PX_KEY_DISABLED && h->probe_at_ms < PX_NEVER_MS ?
	    h->probe_at_ms : 0;
	if (o->state == PX_KEY_COOLING && o->until_ms <= now) {
		o->state = PX_KEY_ACTIVE;	/* cooldowns end lazily */
		o->until_ms = 0;
	}
	if (o->state != PX_KEY_ACTIVE)
		memcpy(o->reason, h->reason, sizeof(o->reason));
	for (i = 0; i < e->n; i++) {
		if (e->e[i].until_ms <= now)
			continue;
		o->ent[o->nent].until_ms = e->e[i].until_ms;
		memcpy(o->ent[o->nent].model, e->e[i].model, PX_ENT_MODEL);
		o->nent++;
	}
}
