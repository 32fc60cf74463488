/*
 * ledger.c -- quota windows, reservations and usage over the store
 * (see ledger.h). Policy lives here; store.c only moves bytes.
 * Record layout: one fixed-size struct keyrec per key under
 * "key/<provider>/<key id>", and the round-robin cursor of a provider under
 * "rr/<provider>". Records are copied out of the map before use (LMDB
 * values need not be aligned), changed, and put back whole.
 * Load: two short write transactions per request (reserve, settle); a
 * reservation reads every key of the candidate providers once.
 */
#include "ledger.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keysel.h"
#include "ring.h"
#include "store.h"

#define KEYREC_MAGIC 0x41495058u	/* "AIPX" */

struct keyrec {
	uint32_t magic;
	uint32_t version;		/* PX_STORE_SCHEMA when written */
	struct px_ring rmin;		/* requests, rolling 60 s */
	struct px_ring tmin;		/* tokens, rolling 60 s */
	struct px_ring rday;		/* requests, rolling 24 h */
	uint64_t life_requests;
	uint64_t life_tokens;
	uint64_t life_errors;
	uint32_t b_rmin[PX_RING_MINUTE_NB];
	uint32_t b_tmin[PX_RING_MINUTE_NB];
	uint32_t b_rday[PX_RING_DAY_NB];
};

struct px_ledger {
	const struct px_config *cfg;
	struct px_store *st;
};

/* One key of a provider, as the reservation walk sees it. */
struct keyref {
	const struct px_provider_cfg *group;
	const struct px_key_cfg *key;
};

struct px_ledger_scratch {
	size_t            cap;		/* keys in the whole config */
	struct keyref    *refs;
	struct px_keyview *views;
	int64_t          *free_at;
	struct keyrec     rec;		/* aligned copy of one record */
};

/* --- setup --------------------------------------------------------------- */

int64_t
px_ledger_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint32_t
px_ledger_estimate(size_t prompt_bytes)
{
	size_t t = (prompt_bytes + 3) / 4;

	if (t == 0)
		return 1;
	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

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
	snprintf(dir, sizeof(dir), "%s/ledger", cfg->state_dir);
	e = px_store_open(&lg->st, dir, (size_t)cfg->state_map_mb << 20,
	    cfg->state_durable, detail, cap);
	if (e != PX_OK) {
		free(lg);
		return e;
	}
	*out = lg;
	return PX_OK;
}

void
px_ledger_close(struct px_ledger *lg)
{
	if (lg == NULL)
		return;
	px_store_close(lg->st);
	free(lg);
}

void
px_ledger_maintain(struct px_ledger *lg)
{
	if (lg != NULL)
		px_store_maintain(lg->st);
}

static size_t
total_keys(const struct px_config *cfg)
{
	size_t i, n = 0;

	for (i = 0; i < cfg->nproviders; i++)
		n += cfg->providers[i].nkeys;
	return n;
}

struct px_ledger_scratch *
px_ledger_scratch_new(const struct px_config *cfg)
{
	struct px_ledger_scratch *s = calloc(1, sizeof(*s));
	size_t n = total_keys(cfg) + 1;

	if (s == NULL)
		return NULL;
	s->cap = n;
	s->refs = calloc(n, sizeof(*s->refs));
	s->views = calloc(n, sizeof(*s->views));
	s->free_at = calloc(n, sizeof(*s->free_at));
	if (s->refs == NULL || s->views == NULL || s->free_at == NULL) {
		px_ledger_scratch_free(s);
		return NULL;
	}
	return s;
}

void
px_ledger_scratch_free(struct px_ledger_scratch *s)
{
	if (s == NULL)
		return;
	free(s->refs);
	free(s->views);
	free(s->free_at);
	free(s);
}

/* --- records ------------------------------------------------------------- */

static void
rec_key(char *dst, size_t cap, enum px_provider_id p, const char *id)
{
	snprintf(dst, cap, "key/%s/%s", px_provider_name(p), id);
}

/* Copy the key's record into r (all zero when absent or foreign). */
static void
rec_load(struct px_store_txn *tx, enum px_provider_id p, const char *id,
    struct keyrec *r)
{
	char k[64];
	const void *v;
	size_t len;

	rec_key(k, sizeof(k), p, id);
	if (px_store_get(tx, k, &v, &len) && len == sizeof(*r)) {
		memcpy(r, v, sizeof(*r));
		if (r->magic == KEYREC_MAGIC && r->version == PX_STORE_SCHEMA)
			return;
	}
	memset(r, 0, sizeof(*r));
}

static enum px_err
rec_save(struct px_store_txn *tx, enum px_provider_id p, const char *id,
    struct keyrec *r)
{
	char k[64];

	r->magic = KEYREC_MAGIC;
	r->version = PX_STORE_SCHEMA;
	rec_key(k, sizeof(k), p, id);
	return px_store_put(tx, k, r, sizeof(*r));
}

static uint32_t
cursor_load(struct px_store_txn *tx, enum px_provider_id p)
{
	char k[32];
	const void *v;
	size_t len;
	uint32_t c = UINT32_MAX;	/* nothing picked yet: start at 0 */

	snprintf(k, sizeof(k), "rr/%s", px_provider_name(p));
	if (px_store_get(tx, k, &v, &len) && len == sizeof(c))
		memcpy(&c, v, sizeof(c));
	return c;
}

static enum px_err
cursor_save(struct px_store_txn *tx, enum px_provider_id p, uint32_t c)
{
	char k[32];

	snprintf(k, sizeof(k), "rr/%s", px_provider_name(p));
	return px_store_put(tx, k, &c, sizeof(c));
}

/* Collect the keys of provider p, in config order. */
static size_t
keys_of(const struct px_config *cfg, enum px_provider_id p,
    struct keyref *refs, size_t cap)
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

/* --- reservation ---------------------------------------------------------- */

struct reserve {
	const struct px_config *cfg;
	struct px_ledger_scratch *s;
	const struct px_candidate *c;
	size_t   nc;
	uint32_t tokens;
	int64_t  now;
	struct px_lease *lease;
	int64_t  earliest;	/* soonest moment some key has room */
	int      fits;		/* the estimate fits some key's token limit */
};

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* Fill views[i] and free_at[i] for key i of provider p, as of now. */
static void
view_key(struct reserve *x, struct px_store_txn *tx, enum px_provider_id p,
    size_t i)
{
	struct px_ledger_scratch *s = x->s;
	const struct px_provider_cfg *g = s->refs[i].group;
	struct keyrec *r = &s->rec;
	uint64_t rmin, rday, tmin;
	int64_t t;

	rec_load(tx, p, s->refs[i].key->id, r);
	rmin = px_ring_sum_at(&r->rmin, r->b_rmin, &px_ring_minute, x->now);
	rday = px_ring_sum_at(&r->rday, r->b_rday, &px_ring_day, x->now);
	tmin = px_ring_sum_at(&r->tmin, r->b_tmin, &px_ring_minute, x->now);
	s->views[i].eligible = rmin + 1 <= (uint64_t)g->max_request_min &&
	    rday + 1 <= (uint64_t)g->max_request_day &&
	    tmin + x->tokens <= (uint64_t)g->max_token_min;
	s->views[i].req_day = rday;
	s->views[i].max_req_day = (uint64_t)g->max_request_day;
	t = px_ring_free_at(&r->rmin, r->b_rmin, &px_ring_minute, x->now, 1,
	    (uint64_t)g->max_request_min);
	t = max64(t, px_ring_free_at(&r->rday, r->b_rday, &px_ring_day,
	    x->now, 1, (uint64_t)g->max_request_day));
	t = max64(t, px_ring_free_at(&r->tmin, r->b_tmin, &px_ring_minute,
	    x->now, x->tokens, (uint64_t)g->max_token_min));
	s->free_at[i] = t;
	if (x->tokens <= (uint64_t)g->max_token_min)
		x->fits = 1;
	if (t < x->earliest)
		x->earliest = t;
}

/* Book one request and the token estimate on key i; move the cursor. */
static enum px_err
take(struct reserve *x, struct px_store_txn *tx, size_t ci, size_t i)
{
	struct px_ledger_scratch *s = x->s;
	enum px_provider_id p = x->c[ci].provider;
	struct keyrec *r = &s->rec;
	enum px_err e;

	rec_load(tx, p, s->refs[i].key->id, r);
	px_ring_add(&r->rmin, r->b_rmin, &px_ring_minute, x->now, 1);
	px_ring_add(&r->rday, r->b_rday, &px_ring_day, x->now, 1);
	px_ring_add(&r->tmin, r->b_tmin, &px_ring_minute, x->now, x->tokens);
	r->life_requests++;
	e = rec_save(tx, p, s->refs[i].key->id, r);
	if (e == PX_OK)
		e = cursor_save(tx, p, (uint32_t)i);
	if (e != PX_OK)
		return e;
	x->lease->model = x->c[ci].model;
	x->lease->provider = p;
	x->lease->group = s->refs[i].group;
	x->lease->key = s->refs[i].key;
	x->lease->t_ms = x->now;
	x->lease->tokens = x->tokens;
	return PX_OK;
}

static enum px_err
reserve_txn(struct px_store_txn *tx, void *ctx)
{
	struct reserve *x = ctx;
	size_t ci, i, n;
	long pick;

	x->earliest = INT64_MAX;
	x->fits = 0;
	for (ci = 0; ci < x->nc; ci++) {
		enum px_provider_id p = x->c[ci].provider;

		n = keys_of(x->cfg, p, x->s->refs, x->s->cap);
		for (i = 0; i < n; i++)
			view_key(x, tx, p, i);
		pick = px_keysel_pick(x->s->views, n,
		    x->cfg->model_usage_gap_percentage, cursor_load(tx, p));
		if (pick >= 0)
			return take(x, tx, ci, (size_t)pick);
	}
	return PX_ERATE;	/* aborts: nothing was written */
}

enum px_err
px_ledger_reserve(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_candidate *c, size_t nc, uint32_t tokens, int64_t now_ms,
    struct px_lease *lease, int64_t *retry_ms)
{
	struct reserve x;
	enum px_err e;

	memset(&x, 0, sizeof(x));
	x.cfg = lg->cfg;
	x.s = s;
	x.c = c;
	x.nc = nc;
	x.tokens = tokens;
	x.now = now_ms;
	x.lease = lease;
	*retry_ms = 0;
	e = px_store_run(lg->st, 1, reserve_txn, &x);
	if (e != PX_ERATE)
		return e;
	if (!x.fits)
		return PX_EBADREQ;
	*retry_ms = x.earliest == INT64_MAX ? 1 : max64(1, x.earliest - now_ms);
	return PX_ERATE;
}

/* --- settling ------------------------------------------------------------- */

struct settle {
	struct px_ledger_scratch *s;
	const struct px_lease *lease;
	enum px_settle how;
	long  tokens;
	int   failed;
	int64_t now;
};

static void
book_tokens(struct keyrec *r, const struct px_lease *l, long used,
    int64_t now)
{
	uint64_t u = (uint64_t)used;

	if (u < l->tokens)
		px_ring_sub(&r->tmin, r->b_tmin, &px_ring_minute, l->t_ms,
		    (uint32_t)(l->tokens - u));
	else	/* booked now, later than it happened: errs on the safe side */
		px_ring_add(&r->tmin, r->b_tmin, &px_ring_minute, now,
		    u - l->tokens > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)(u - l->tokens));
	r->life_tokens += u;
}

static enum px_err
settle_txn(struct px_store_txn *tx, void *ctx)
{
	struct settle *x = ctx;
	const struct px_lease *l = x->lease;
	struct keyrec *r = &x->s->rec;

	rec_load(tx, l->provider, l->key->id, r);
	px_ring_advance(&r->rmin, r->b_rmin, &px_ring_minute, x->now);
	px_ring_advance(&r->tmin, r->b_tmin, &px_ring_minute, x->now);
	px_ring_advance(&r->rday, r->b_rday, &px_ring_day, x->now);
	if (x->how == PX_SETTLE_DONE)
		book_tokens(r, l, x->tokens >= 0 ? x->tokens : (long)l->tokens,
		    x->now);
	else
		px_ring_sub(&r->tmin, r->b_tmin, &px_ring_minute, l->t_ms,
		    l->tokens);
	if (x->how == PX_SETTLE_RELEASE_ALL) {
		px_ring_sub(&r->rmin, r->b_rmin, &px_ring_minute, l->t_ms, 1);
		px_ring_sub(&r->rday, r->b_rday, &px_ring_day, l->t_ms, 1);
		if (r->life_requests > 0)
			r->life_requests--;
	}
	if (x->failed)
		r->life_errors++;
	return rec_save(tx, l->provider, l->key->id, r);
}

enum px_err
px_ledger_settle(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_lease *lease, enum px_settle how, long tokens, int failed,
    int64_t now_ms)
{
	struct settle x = { s, lease, how, tokens, failed, now_ms };

	return px_store_run(lg->st, 1, settle_txn, &x);
}

/* --- /v1/usage ------------------------------------------------------------ */

struct usage {
	const struct px_config *cfg;
	struct px_ledger_scratch *s;
	int64_t now;
	struct px_buf *out;
};

static int
has_provider(const struct px_config *cfg, enum px_provider_id p)
{
	size_t i;

	for (i = 0; i < cfg->nproviders; i++)
		if (cfg->providers[i].provider == p)
			return 1;
	return 0;
}

/* Requests in the last 24 h of every key of p, and their capacity. */
static void
provider_totals(struct usage *u, struct px_store_txn *tx,
    enum px_provider_id p, uint64_t *req, uint64_t *capacity)
{
	struct keyrec *r = &u->s->rec;
	size_t i, n = keys_of(u->cfg, p, u->s->refs, u->s->cap);

	*req = *capacity = 0;
	for (i = 0; i < n; i++) {
		rec_load(tx, p, u->s->refs[i].key->id, r);
		*req += px_ring_sum_at(&r->rday, r->b_rday, &px_ring_day,
		    u->now);
		*capacity += (uint64_t)u->s->refs[i].group->max_request_day;
	}
}

static void
overview(struct usage *u, struct px_store_txn *tx)
{
	uint64_t req, capacity;
	int p, first = 1;

	px_buf_adds(u->out, "\"overview\":{");
	for (p = 0; p < PX_PROV__MAX; p++) {
		if (!has_provider(u->cfg, (enum px_provider_id)p))
			continue;
		provider_totals(u, tx, (enum px_provider_id)p, &req, &capacity);
		px_buf_printf(u->out, "%s\"%s\":{\"total_requests\":%llu,"
		    "\"total_capacity\":%llu,\"usage_percentage\":%.2f}",
		    first ? "" : ",", px_provider_name((enum px_provider_id)p),
		    (unsigned long long)req, (unsigned long long)capacity,
		    px_keysel_usage_pct(req, capacity));
		first = 0;
	}
	px_buf_addc(u->out, '}');
}

static void
key_detail(struct usage *u, struct px_store_txn *tx, enum px_provider_id p,
    size_t i)
{
	const struct keyref *k = &u->s->refs[i];
	struct keyrec *r = &u->s->rec;
	uint64_t rmin, rday, tmin;

	rec_load(tx, p, k->key->id, r);
	rmin = px_ring_sum_at(&r->rmin, r->b_rmin, &px_ring_minute, u->now);
	rday = px_ring_sum_at(&r->rday, r->b_rday, &px_ring_day, u->now);
	tmin = px_ring_sum_at(&r->tmin, r->b_tmin, &px_ring_minute, u->now);
	px_buf_printf(u->out, "%s\"%s\":{\"requests\":%llu,"
	    "\"usage_percentage\":%.2f,\"rate_limit_windows\":{\"req_min\":"
	    "%llu,\"req_day\":%llu},\"tokens_min\":%llu,"
	    "\"lifetime_requests\":%llu,\"lifetime_tokens\":%llu,"
	    "\"errors\":%llu,\"rate_limits\":{\"max_request_day\":%ld,"
	    "\"max_token_min\":%ld,\"max_request_min\":%ld}}",
	    i ? "," : "", k->key->id, (unsigned long long)rday,
	    px_keysel_usage_pct(rday, (uint64_t)k->group->max_request_day),
	    (unsigned long long)rmin, (unsigned long long)rday,
	    (unsigned long long)tmin, (unsigned long long)r->life_requests,
	    (unsigned long long)r->life_tokens,
	    (unsigned long long)r->life_errors, k->group->max_request_day,
	    k->group->max_token_min, k->group->max_request_min);
}

static void
provider_detail(struct usage *u, struct px_store_txn *tx,
    enum px_provider_id p)
{
	size_t i, n = keys_of(u->cfg, p, u->s->refs, u->s->cap);
	const struct px_provider_cfg *g = u->s->refs[0].group;

	px_buf_printf(u->out, "\"%s\":{\"keys\":{", px_provider_name(p));
	for (i = 0; i < n; i++)
		key_detail(u, tx, p, i);
	/* the seed shows one limit set per provider: the first entry's;
	 * every key also carries its own under keys.<id>.rate_limits */
	px_buf_printf(u->out, "},\"rate_limits\":{\"max_request_day\":%ld,"
	    "\"max_token_min\":%ld,\"max_request_min\":%ld}}",
	    g->max_request_day, g->max_token_min, g->max_request_min);
}

static enum px_err
usage_txn(struct px_store_txn *tx, void *ctx)
{
	struct usage *u = ctx;
	int p, first = 1;

	px_buf_reset(u->out);	/* the transaction may run again */
	px_buf_addc(u->out, '{');
	overview(u, tx);
	px_buf_adds(u->out, ",\"details\":{");
	for (p = 0; p < PX_PROV__MAX; p++) {
		if (!has_provider(u->cfg, (enum px_provider_id)p))
			continue;
		if (!first)
			px_buf_addc(u->out, ',');
		provider_detail(u, tx, (enum px_provider_id)p);
		first = 0;
	}
	return px_buf_adds(u->out, "}}");
}

enum px_err
px_ledger_usage_json(struct px_ledger *lg, struct px_ledger_scratch *s,
    int64_t now_ms, struct px_buf *out)
{
	struct usage u = { lg->cfg, s, now_ms, out };

	return px_store_run(lg->st, 0, usage_txn, &u);
}
