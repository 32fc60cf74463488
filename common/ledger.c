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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
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
	int64_t  cool_until_ms;		/* COOLING: not eligible before */
	int64_t  probe_at_ms;		/* DISABLED: one probe from then */
	int64_t  probe_lease_ms;	/* a probe is in flight until then */
	uint32_t state;			/* enum key_state */
	uint32_t strikes;		/* 429s without a hint in a row */
	uint32_t daily;			/* cooling for a per-day quota */
	uint32_t pad;
	char     reason[64];
	uint32_t b_rmin[PX_RING_MINUTE_NB];
	uint32_t b_tmin[PX_RING_MINUTE_NB];
	uint32_t b_rday[PX_RING_DAY_NB];
};

enum key_state { KEY_ACTIVE = 0, KEY_COOLING, KEY_DISABLED };

/*
 * Models a key may not serve until a moment: Gemini's 429 "limit: 0"
 * (the key's project has no quota at all for that model) lasts until the
 * provider's daily reset and says nothing about the key's other models.
 * A small fixed record per key, written only when a mark is made; an
 * expired slot is free again.
 */
#define ENT_SLOTS 8
struct entrec {
	uint32_t magic;		/* written by save_fixed, like a keyrec's */
	uint32_t version;
	struct {
		int64_t until_ms;
		char    model[120];
	} e[ENT_SLOTS];
};

static const char *const key_state_name[] = { "active", "cooling",
    "disabled" };

/* Cooldowns for 429s without a hint, escalating per repeat. */
static const int64_t escalate_ms[] = { 10000, 30000, 60000, 300000 };

#define CORRELATE_MS  10000	/* 429s on several keys this close: provider */
#define RECENT_429    16
#define PROBE_LEASE_MS 120000	/* one probe at a time, for at most this */

/* Per provider: back-off and the recent 429s that may trigger it. */
struct provrec {
	uint32_t magic;
	uint32_t version;
	int64_t  backoff_until_ms;
	uint32_t strikes;
	uint32_t next;			/* ring position in recent[] */
	struct { int64_t t; uint32_t key; uint32_t pad; } recent[RECENT_429];
	char     reason[64];
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
	int               not_entitled;	/* last reserve: see ledger.h */
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
	return px_wall_ms();
}

uint32_t
px_ledger_estimate(size_t prompt_bytes)
{
	size_t t = prompt_bytes / 4 + (prompt_bytes % 4 != 0);

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

struct px_store *
px_ledger_store(struct px_ledger *lg)
{
	return lg != NULL ? lg->st : NULL;
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

int
px_ledger_not_entitled(const struct px_ledger_scratch *s)
{
	return s->not_entitled;
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

/*
 * dst = a + b ["/" c], truncated to cap. Built by hand: it runs for every
 * key of every reservation, where snprintf showed up in the profile.
 */
static void
store_key(char *dst, size_t cap, const char *a, const char *b, const char *c)
{
	const char *parts[4] = { a, b, c != NULL ? "/" : "", c != NULL ? c : "" };
	size_t n = 0, i, k;

	for (i = 0; i < 4; i++) {
		k = strlen(parts[i]);
		if (k > cap - 1 - n)
			k = cap - 1 - n;
		memcpy(dst + n, parts[i], k);
		n += k;
	}
	dst[n] = '\0';
}

static void
rec_key(char *dst, size_t cap, enum px_provider_id p, const char *id)
{
	store_key(dst, cap, "key/", px_provider_name(p), id);
}

/*
 * Copy the fixed-size record under key into r (size bytes, starting with
 * magic and version); all zero when absent or written by something else.
 */
static void
load_fixed(struct px_store_txn *tx, const char *key, void *r, size_t size)
{
	const void *v;
	size_t len;
	uint32_t head[2];

	if (px_store_get(tx, key, &v, &len) && len == size) {
		memcpy(r, v, size);
		memcpy(head, r, sizeof(head));
		if (head[0] == KEYREC_MAGIC && head[1] == PX_STORE_SCHEMA)
			return;
	}
	memset(r, 0, size);
}

static enum px_err
save_fixed(struct px_store_txn *tx, const char *key, void *r, size_t size)
{
	const uint32_t head[2] = { KEYREC_MAGIC, PX_STORE_SCHEMA };

	memcpy(r, head, sizeof(head));
	return px_store_put(tx, key, r, size);
}

static void
rec_load(struct px_store_txn *tx, enum px_provider_id p, const char *id,
    struct keyrec *r)
{
	char k[64];

	rec_key(k, sizeof(k), p, id);
	load_fixed(tx, k, r, sizeof(*r));
}

/*
 * Read-only view of the key's record: the record in the map itself when
 * it is aligned for struct keyrec (records this size live on LMDB
 * overflow pages, which are), else a copy in *scratch. Valid until the
 * record is written or the transaction ends. Saves copying ~10 KiB per
 * key on every reservation.
 */
static const struct keyrec *
rec_view(struct px_store_txn *tx, enum px_provider_id p, const char *id,
    struct keyrec *scratch)
{
	char k[64];
	const void *v;
	size_t len;
	const struct keyrec *r;

	rec_key(k, sizeof(k), p, id);
	if (px_store_get(tx, k, &v, &len) && len == sizeof(*r) &&
	    (uintptr_t)v % _Alignof(struct keyrec) == 0) {
		r = v;
		if (r->magic == KEYREC_MAGIC && r->version == PX_STORE_SCHEMA)
			return r;
	}
	rec_load(tx, p, id, scratch);
	return scratch;
}

static enum px_err
rec_save(struct px_store_txn *tx, enum px_provider_id p, const char *id,
    struct keyrec *r)
{
	char k[64];

	rec_key(k, sizeof(k), p, id);
	return save_fixed(tx, k, r, sizeof(*r));
}

static uint32_t
cursor_load(struct px_store_txn *tx, enum px_provider_id p)
{
	char k[32];
	const void *v;
	size_t len;
	uint32_t c = UINT32_MAX;	/* nothing picked yet: start at 0 */

	store_key(k, sizeof(k), "rr/", px_provider_name(p), NULL);
	if (px_store_get(tx, k, &v, &len) && len == sizeof(c))
		memcpy(&c, v, sizeof(c));
	return c;
}

static enum px_err
cursor_save(struct px_store_txn *tx, enum px_provider_id p, uint32_t c)
{
	char k[32];

	store_key(k, sizeof(k), "rr/", px_provider_name(p), NULL);
	return px_store_put(tx, k, &c, sizeof(c));
}

static void
prov_load(struct px_store_txn *tx, enum px_provider_id p, struct provrec *r)
{
	char k[32];

	store_key(k, sizeof(k), "prov/", px_provider_name(p), NULL);
	load_fixed(tx, k, r, sizeof(*r));
}

static enum px_err
prov_save(struct px_store_txn *tx, enum px_provider_id p, struct provrec *r)
{
	char k[32];

	store_key(k, sizeof(k), "prov/", px_provider_name(p), NULL);
	return save_fixed(tx, k, r, sizeof(*r));
}

/* Collect the keys of provider p, in config order. */
static void
ent_key(char *dst, size_t cap, enum px_provider_id p, const char *id)
{
	char pn[8];

	snprintf(pn, sizeof(pn), "%d", (int)p);
	store_key(dst, cap, "ent", pn, id);
}

static void
ent_load(struct px_store_txn *tx, enum px_provider_id p, const char *id,
    struct entrec *r)
{
	char k[96];

	ent_key(k, sizeof(k), p, id);
	load_fixed(tx, k, r, sizeof(*r));	/* zeroed when absent */
}

/* Until when key id may not serve model (0: it may). Gemini only. */
static int64_t
ent_until(struct px_store_txn *tx, enum px_provider_id p, const char *id,
    const char *model, int64_t now)
{
	struct entrec r;
	size_t i;

	if (p != PX_PROV_GEMINI)
		return 0;
	ent_load(tx, p, id, &r);
	for (i = 0; i < ENT_SLOTS; i++)
		if (r.e[i].until_ms > now &&
		    strncmp(r.e[i].model, model, sizeof(r.e[i].model)) == 0)
			return r.e[i].until_ms;
	return 0;
}

/* Mark (key id, model) until until_ms: its own slot, a free or expired
 * one, else the one that ends first. */
static enum px_err
ent_mark(struct px_store_txn *tx, enum px_provider_id p, const char *id,
    const char *model, int64_t until, int64_t now)
{
	struct entrec r;
	size_t i, use = 0;
	char k[96];

	ent_load(tx, p, id, &r);
	for (i = 0; i < ENT_SLOTS; i++) {
		if (strncmp(r.e[i].model, model, sizeof(r.e[i].model)) == 0) {
			use = i;
			break;
		}
		if (r.e[i].until_ms <= now ||
		    r.e[i].until_ms < r.e[use].until_ms)
			use = i;
	}
	r.e[use].until_ms = until;
	snprintf(r.e[use].model, sizeof(r.e[use].model), "%s", model);
	ent_key(k, sizeof(k), p, id);
	return save_fixed(tx, k, &r, sizeof(r));
}

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

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

struct reserve {
	const struct px_config *cfg;
	struct px_ledger_scratch *s;
	const struct px_candidate *c;
	size_t   nc;
	uint32_t tokens;
	int64_t  now;
	struct px_lease *lease;
	const struct px_key_cfg *const *exclude;
	size_t   nexclude;
	int64_t  backoff;	/* the provider being walked backs off until */
	int64_t  earliest;	/* soonest moment some key has room */
	int      fits;		/* the estimate fits some key's token limit */
	size_t   ci;		/* the candidate being walked */
	size_t   nkeys;		/* keys looked at */
	size_t   nent;		/* ... held back only by a "limit: 0" mark */
};

static int
excluded(const struct reserve *x, const struct px_key_cfg *k)
{
	size_t i;

	for (i = 0; i < x->nexclude; i++)
		if (x->exclude[i] == k)
			return 1;
	return 0;
}

/* When the key's health lets it serve again (now if it can). */
static int64_t
health_free_at(const struct keyrec *r, int64_t now)
{
	switch (r->state) {
	case KEY_COOLING:
		return max64(now, r->cool_until_ms);
	case KEY_DISABLED:
		return max64(now, max64(r->probe_at_ms, r->probe_lease_ms));
	default:
		return now;
	}
}

/* Fill views[i] and free_at[i] for key i of provider p, as of now. */
static void
view_key(struct reserve *x, struct px_store_txn *tx, enum px_provider_id p,
    size_t i)
{
	struct px_ledger_scratch *s = x->s;
	const struct px_provider_cfg *g = s->refs[i].group;
	int64_t ent = ent_until(tx, p, s->refs[i].key->id, x->c[x->ci].model,
	    x->now);
	const struct keyrec *r = rec_view(tx, p, s->refs[i].key->id, &s->rec);
	uint64_t rmin, rday, tmin;
	int64_t t;

	rmin = px_ring_sum_at(&r->rmin, r->b_rmin, &px_ring_minute, x->now);
	rday = px_ring_sum_at(&r->rday, r->b_rday, &px_ring_day, x->now);
	tmin = px_ring_sum_at(&r->tmin, r->b_tmin, &px_ring_minute, x->now);
	s->views[i].eligible = rmin + 1 <= (uint64_t)g->max_request_min &&
	    rday + 1 <= (uint64_t)g->max_request_day &&
	    tmin + x->tokens <= (uint64_t)g->max_token_min &&
	    health_free_at(r, x->now) <= x->now && x->backoff <= x->now &&
	    !excluded(x, s->refs[i].key) && ent == 0;
	x->nkeys++;
	x->nent += ent != 0 && !excluded(x, s->refs[i].key);
	s->views[i].req_day = rday;
	s->views[i].max_req_day = (uint64_t)g->max_request_day;
	t = px_ring_free_at(&r->rmin, r->b_rmin, &px_ring_minute, x->now, 1,
	    (uint64_t)g->max_request_min);
	t = max64(t, px_ring_free_at(&r->rday, r->b_rday, &px_ring_day,
	    x->now, 1, (uint64_t)g->max_request_day));
	t = max64(t, px_ring_free_at(&r->tmin, r->b_tmin, &px_ring_minute,
	    x->now, x->tokens, (uint64_t)g->max_token_min));
	/* an excluded key still tells the client when to come back */
	t = max64(t, max64(health_free_at(r, x->now), x->backoff));
	t = max64(t, ent);
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
	if (r->state == KEY_DISABLED)	/* this request is the probe */
		r->probe_lease_ms = x->now + PROBE_LEASE_MS;
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

		struct provrec pr;

		x->ci = ci;
		prov_load(tx, p, &pr);
		x->backoff = pr.backoff_until_ms;
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
	return px_ledger_reserve_ex(lg, s, c, nc, tokens, NULL, 0, now_ms,
	    lease, retry_ms);
}

enum px_err
px_ledger_reserve_ex(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_candidate *c, size_t nc, uint32_t tokens,
    const struct px_key_cfg *const *exclude, size_t nexclude, int64_t now_ms,
    struct px_lease *lease, int64_t *retry_ms)
{
	struct reserve x;
	enum px_err e;

	memset(&x, 0, sizeof(x));
	x.exclude = exclude;
	x.nexclude = nexclude;
	x.cfg = lg->cfg;
	x.s = s;
	x.c = c;
	x.nc = nc;
	x.tokens = tokens;
	x.now = now_ms;
	x.lease = lease;
	*retry_ms = 0;
	s->not_entitled = 0;
	e = px_store_run(lg->st, 1, reserve_txn, &x);
	if (e != PX_ERATE)
		return e;
	/* every key left was one without quota for the model */
	s->not_entitled = x.nent > 0 && x.nent + x.nexclude >= x.nkeys;
	if (!x.fits)
		return PX_EBADREQ;
	*retry_ms = x.earliest == INT64_MAX ? 1 : max64(1, x.earliest - now_ms);
	return PX_ERATE;
}

/* --- settling ------------------------------------------------------------- */

struct settle {
	const struct px_config *cfg;
	struct px_ledger_scratch *s;
	const struct px_lease *lease;
	enum px_settle how;
	long  tokens;
	const struct px_verdict *v;
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

static void
set_reason(char *dst, size_t cap, const char *why)
{
	snprintf(dst, cap, "%s", why != NULL ? why : "");
}

static void
healthy(struct keyrec *r)
{
	r->state = KEY_ACTIVE;
	r->strikes = 0;
	r->daily = 0;
	r->cool_until_ms = r->probe_at_ms = r->probe_lease_ms = 0;
	r->reason[0] = '\0';
}

/* Index of the lease's key among its provider's keys (refs filled). */
static uint32_t
key_index(const struct settle *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (x->s->refs[i].key == x->lease->key)
			return (uint32_t)i;
	return 0;
}

/* Is recent[i] a 429 inside the correlation span? */
static int
in_span(const struct provrec *pr, size_t i, int64_t now)
{
	return pr->recent[i].t != 0 && now - pr->recent[i].t <= CORRELATE_MS;
}

/* Distinct keys with a 429 in the span (the first entry of each). */
static size_t
distinct_429(const struct provrec *pr, int64_t now, int *first)
{
	size_t i, j, n = 0;

	for (i = 0; i < RECENT_429; i++) {
		first[i] = in_span(pr, i, now);
		for (j = 0; j < i && first[i]; j++)
			if (in_span(pr, j, now) && pr->recent[j].key ==
			    pr->recent[i].key)
				first[i] = 0;
		n += (size_t)first[i];
	}
	return n;
}

/*
 * Note a (non-daily) 429 on the provider; if several keys got one within
 * CORRELATE_MS, the throttle is the provider's (an IP or account limit):
 * back off the provider and return 1, with pr holding the keys involved,
 * so that none of them is blamed.
 */
static int
provider_429(struct settle *x, struct px_store_txn *tx, int64_t until,
    struct provrec *pr, int *first)
{
	enum px_provider_id p = x->lease->provider;
	size_t n = keys_of(x->cfg, p, x->s->refs, x->s->cap), distinct;

	prov_load(tx, p, pr);
	pr->recent[pr->next % RECENT_429].t = x->now;
	pr->recent[pr->next % RECENT_429].key = key_index(x, n);
	pr->next = (pr->next + 1) % RECENT_429;
	distinct = distinct_429(pr, x->now, first);
	if (distinct < 2 || distinct * 2 < n) {
		(void)prov_save(tx, p, pr);
		return 0;
	}
	if (until <= x->now)
		until = x->now + escalate_ms[pr->strikes < 3 ? pr->strikes : 3];
	pr->strikes++;
	pr->backoff_until_ms = max64(pr->backoff_until_ms, until);
	set_reason(pr->reason, sizeof(pr->reason), "429 on several keys");
	(void)prov_save(tx, p, pr);
	return 1;
}

/*
 * Pardon the keys whose recent 429 turned out to be the provider's: only
 * those in the span, and never a key cooling for a daily quota.
 */
static void
pardon_recent(struct settle *x, struct px_store_txn *tx,
    const struct provrec *pr, const int *first)
{
	enum px_provider_id p = x->lease->provider;
	size_t n = keys_of(x->cfg, p, x->s->refs, x->s->cap), i;
	struct keyrec *r = &x->s->rec;

	for (i = 0; i < RECENT_429; i++) {
		const struct keyref *k;

		if (!first[i] || pr->recent[i].key >= n)
			continue;
		k = &x->s->refs[pr->recent[i].key];
		if (k->key == x->lease->key)
			continue;
		rec_load(tx, p, k->key->id, r);
		if (r->state != KEY_COOLING || r->daily)
			continue;
		healthy(r);
		(void)rec_save(tx, p, k->key->id, r);
	}
	rec_load(tx, p, x->lease->key->id, r);	/* the caller's record */
}

static void
rate_limited(struct settle *x, struct px_store_txn *tx, struct keyrec *r)
{
	const struct px_verdict *v = x->v;
	int64_t until = v->until_ms > x->now ? v->until_ms : 0;

	struct provrec pr;
	int first[RECENT_429];

	if (!v->daily && provider_429(x, tx, until, &pr, first)) {
		pardon_recent(x, tx, &pr, first);
		healthy(r);
		return;
	}
	if (until == 0) {
		until = x->now + escalate_ms[r->strikes < 3 ? r->strikes : 3];
		r->strikes++;
	}
	r->state = KEY_COOLING;
	r->daily = (uint32_t)(v->daily != 0);
	r->cool_until_ms = until;
	set_reason(r->reason, sizeof(r->reason), v->reason);
}

/* A success ends the provider's back-off escalation (read-mostly). */
static void
provider_healthy(struct settle *x, struct px_store_txn *tx)
{
	struct provrec pr;

	prov_load(tx, x->lease->provider, &pr);
	if (pr.strikes == 0)
		return;
	pr.strikes = 0;
	(void)prov_save(tx, x->lease->provider, &pr);
}

/* Key health after the attempt (see px_verdict in ledger.h). */
static void
judge(struct settle *x, struct px_store_txn *tx, struct keyrec *r)
{
	const struct px_verdict *v = x->v;

	switch (v != NULL ? v->fault : PX_FAULT_NONE) {
	case PX_FAULT_NONE:
		if (x->how == PX_SETTLE_DONE) {
			healthy(r);
			provider_healthy(x, tx);
		}
		break;
	case PX_FAULT_RATE:
		rate_limited(x, tx, r);
		break;
	case PX_FAULT_AUTH:
		r->state = KEY_DISABLED;
		r->probe_at_ms = x->now + x->cfg->key_reprobe_s * 1000;
		r->probe_lease_ms = 0;
		set_reason(r->reason, sizeof(r->reason), v->reason);
		break;
	case PX_FAULT_ENTITLEMENT:
		(void)ent_mark(tx, x->lease->provider, x->lease->key->id,
		    x->lease->model, v->until_ms, x->now);
		break;
	case PX_FAULT_UPSTREAM:
	case PX_FAULT_CLIENT:
	case PX_FAULT__MAX:
		if (r->state == KEY_DISABLED)
			r->probe_lease_ms = 0;	/* probe inconclusive */
		break;
	}
	if (v != NULL && v->fault != PX_FAULT_NONE)
		r->life_errors++;
}

static enum px_err
settle_txn(struct px_store_txn *tx, void *ctx)
{
	struct settle *x = ctx;
	const struct px_lease *l = x->lease;
	struct keyrec *r = &x->s->rec;

	rec_load(tx, l->provider, l->key->id, r);
	judge(x, tx, r);	/* may visit other records: loads r last */
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
	return rec_save(tx, l->provider, l->key->id, r);
}

enum px_err
px_ledger_settle_ex(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_lease *lease, enum px_settle how, long tokens,
    const struct px_verdict *v, int64_t now_ms)
{
	struct settle x = { lg->cfg, s, lease, how, tokens, v, now_ms };

	return px_store_run(lg->st, 1, settle_txn, &x);
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

/* --- /v1/usage ------------------------------------------------------------ */

struct usage {
	const struct px_config *cfg;
	struct px_ledger_scratch *s;
	int64_t now;
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
	const struct keyrec *r;
	size_t i, n = keys_of(u->cfg, p, u->s->refs, u->s->cap);

	*req = *capacity = 0;
	for (i = 0; i < n; i++) {
		r = rec_view(tx, p, u->s->refs[i].key->id, &u->s->rec);
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

	note(u, px_buf_adds(u->out, "\"overview\":{"));
	for (p = 0; p < PX_PROV__MAX; p++) {
		if (!has_provider(u->cfg, (enum px_provider_id)p))
			continue;
		provider_totals(u, tx, (enum px_provider_id)p, &req, &capacity);
		note(u, px_buf_printf(u->out, "%s\"%s\":{\"total_requests\":%llu,"
		    "\"total_capacity\":%llu,\"usage_percentage\":%.2f}",
		    first ? "" : ",", px_provider_name((enum px_provider_id)p),
		    (unsigned long long)req, (unsigned long long)capacity,
		    px_keysel_usage_pct(req, capacity)));
		first = 0;
	}
	note(u, px_buf_addc(u->out, '}'));
}

/* "2026-11-26T06:00:00Z" (quoted) or null for t <= 0. */
static enum px_err
add_time(struct px_buf *b, int64_t t_ms)
{
	time_t t = (time_t)(t_ms / 1000);
	struct tm tm;
	char iso[32];

	if (t_ms <= 0 || gmtime_r(&t, &tm) == NULL)
		return px_buf_adds(b, "null");
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return px_buf_printf(b, "\"%s\"", iso);
}

/* state, reason and until of a key as of now (cooldowns end lazily). */
static void
add_health(struct usage *u, const struct keyrec *r)
{
	uint32_t st = r->state <= KEY_DISABLED ? r->state : KEY_ACTIVE;
	int64_t until = st == KEY_COOLING ? r->cool_until_ms :
	    st == KEY_DISABLED ? r->probe_at_ms : 0;

	if (st == KEY_COOLING && until <= u->now)
		st = KEY_ACTIVE;
	note(u, px_buf_printf(u->out, ",\"state\":\"%s\",\"reason\":",
	    key_state_name[st]));
	if (st == KEY_ACTIVE) {
		note(u, px_buf_adds(u->out, "null,\"until\":null"));
		return;
	}
	note(u, px_buf_addc(u->out, '"'));
	note(u, px_buf_add_json_str(u->out, r->reason, strlen(r->reason)));
	note(u, px_buf_adds(u->out, "\",\"until\":"));
	note(u, add_time(u->out, until));
}

/* "not_entitled":{"<model>":"<until>",...} of a key's live marks. */
static void
add_entitlement(struct usage *u, struct px_store_txn *tx,
    enum px_provider_id p, const char *id)
{
	struct entrec r;
	size_t i;
	int first = 1;

	note(u, px_buf_adds(u->out, ",\"not_entitled\":{"));
	if (p == PX_PROV_GEMINI)
		ent_load(tx, p, id, &r);
	for (i = 0; p == PX_PROV_GEMINI && i < ENT_SLOTS; i++) {
		if (r.e[i].until_ms <= u->now)
			continue;
		note(u, px_buf_printf(u->out, "%s\"", first ? "" : ","));
		note(u, px_buf_add_json_str(u->out, r.e[i].model,
		    strnlen(r.e[i].model, sizeof(r.e[i].model))));
		note(u, px_buf_adds(u->out, "\":"));
		note(u, add_time(u->out, r.e[i].until_ms));
		first = 0;
	}
	note(u, px_buf_addc(u->out, '}'));
}

static void
key_detail(struct usage *u, struct px_store_txn *tx, enum px_provider_id p,
    size_t i)
{
	const struct keyref *k = &u->s->refs[i];
	const struct keyrec *r = rec_view(tx, p, k->key->id, &u->s->rec);
	uint64_t rmin, rday, tmin;

	rmin = px_ring_sum_at(&r->rmin, r->b_rmin, &px_ring_minute, u->now);
	rday = px_ring_sum_at(&r->rday, r->b_rday, &px_ring_day, u->now);
	tmin = px_ring_sum_at(&r->tmin, r->b_tmin, &px_ring_minute, u->now);
	note(u, px_buf_printf(u->out, "%s\"%s\":{\"requests\":%llu,"
	    "\"usage_percentage\":%.2f,\"rate_limit_windows\":{\"req_min\":"
	    "%llu,\"req_day\":%llu},\"tokens_min\":%llu,"
	    "\"lifetime_requests\":%llu,\"lifetime_tokens\":%llu,"
	    "\"errors\":%llu,\"rate_limits\":{\"max_request_day\":%ld,"
	    "\"max_token_min\":%ld,\"max_request_min\":%ld}",
	    i ? "," : "", k->key->id, (unsigned long long)rday,
	    px_keysel_usage_pct(rday, (uint64_t)k->group->max_request_day),
	    (unsigned long long)rmin, (unsigned long long)rday,
	    (unsigned long long)tmin, (unsigned long long)r->life_requests,
	    (unsigned long long)r->life_tokens,
	    (unsigned long long)r->life_errors, k->group->max_request_day,
	    k->group->max_token_min, k->group->max_request_min));
	add_health(u, r);
	add_entitlement(u, tx, p, k->key->id);
	note(u, px_buf_addc(u->out, '}'));
}

static void
provider_detail(struct usage *u, struct px_store_txn *tx,
    enum px_provider_id p)
{
	size_t i, n = keys_of(u->cfg, p, u->s->refs, u->s->cap);
	const struct px_provider_cfg *g = u->s->refs[0].group;
	struct provrec pr;

	note(u, px_buf_printf(u->out, "\"%s\":{\"keys\":{", px_provider_name(p)));
	for (i = 0; i < n; i++)
		key_detail(u, tx, p, i);
	/* the seed shows one limit set per provider: the first entry's;
	 * every key also carries its own under keys.<id>.rate_limits */
	note(u, px_buf_printf(u->out, "},\"rate_limits\":{\"max_request_day\":%ld,"
	    "\"max_token_min\":%ld,\"max_request_min\":%ld},"
	    "\"backoff_until\":",
	    g->max_request_day, g->max_token_min, g->max_request_min));
	prov_load(tx, p, &pr);
	note(u, add_time(u->out, pr.backoff_until_ms > u->now ?
	    pr.backoff_until_ms : 0));
	note(u, px_buf_addc(u->out, '}'));
}

static enum px_err
usage_txn(struct px_store_txn *tx, void *ctx)
{
	struct usage *u = ctx;
	int p, first = 1;

	px_buf_reset(u->out);	/* the transaction may run again */
	u->err = PX_OK;
	note(u, px_buf_addc(u->out, '{'));
	overview(u, tx);
	note(u, px_buf_adds(u->out, ",\"details\":{"));
	for (p = 0; p < PX_PROV__MAX; p++) {
		if (!has_provider(u->cfg, (enum px_provider_id)p))
			continue;
		if (!first)
			note(u, px_buf_addc(u->out, ','));
		provider_detail(u, tx, (enum px_provider_id)p);
		first = 0;
	}
	note(u, px_buf_adds(u->out, "}}"));
	return u->err;
}

enum px_err
px_ledger_usage_json(struct px_ledger *lg, struct px_ledger_scratch *s,
    int64_t now_ms, struct px_buf *out)
{
	struct usage u = { lg->cfg, s, now_ms, out, PX_OK };

	return px_store_run(lg->st, 0, usage_txn, &u);
}
