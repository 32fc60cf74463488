/*
 * ledger_lmdb.c -- the ledger backend on one host: the records of
 * ledger_rec.h and win.h in the LMDB store, every operation one short
 * write transaction (px_store_run), so choice and reservation are atomic
 * across the host's processes and threads.
 * Owns: reading and writing the records by name, and running the policy
 * steps of ledger.c over them.
 * Never: policy of its own, or a transaction held across anything but
 * record reads and writes.
 * Load: a reservation reads the small records of every scope of every
 * key of the walked providers and writes those of the chosen key's scopes
 * (minute, day, leases when capped), its health and the cursor; a
 * settlement writes each scope's minute (its day too when a whole request
 * is given back, its leases when capped) and the key's health.
 */
#include "ledger_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* --- records ---------------------------------------------------------------- */

static void
get_rec(struct px_store_txn *tx, char kind, enum px_provider_id p,
    const char *id, const void **v, size_t *len)
{
	char k[80];

	px_ledger_recname(k, sizeof(k), kind, p, id);
	if (!px_store_get(tx, k, v, len)) {
		*v = "";
		*len = 0;
	}
}

static enum px_err
put_rec(struct px_store_txn *tx, char kind, enum px_provider_id p,
    const char *id, const unsigned char *v, size_t len)
{
	char k[80];

	px_ledger_recname(k, sizeof(k), kind, p, id);
	return px_store_put(tx, k, v, len);
}

/* A record by its full name; absent reads as zero length. */
static void
get_named(struct px_store_txn *tx, const char *k, const void **v,
    size_t *len)
{
	if (!px_store_get(tx, k, v, len)) {
		*v = "";
		*len = 0;
	}
}

/* Decode a scope's records into s->rec (damaged ones read empty). */
static void
load_scope(struct px_store_txn *tx, struct px_ledger_scratch *s,
    const struct px_scope *sc)
{
	char k[PX_SCOPE_NAME + 4];
	const void *v;
	size_t len;

	px_ledger_scopename(k, sizeof(k), 'm', sc->name);
	get_named(tx, k, &v, &len);
	(void)px_win_decode(&s->rec->wm, &px_win_minute, v, len);
	px_ledger_scopename(k, sizeof(k), 'd', sc->name);
	get_named(tx, k, &v, &len);
	if (sc->day == PX_DAYRULE_ROLLING)
		(void)px_win_decode(&s->rec->wd, &px_win_day, v, len);
	else	/* a rolling day's bytes before a config change read as 0 */
		(void)px_calrec_decode(&s->rec->cal, v, len);
	s->rec->lz.n = 0;
	if (sc->conc > 0) {
		px_ledger_scopename(k, sizeof(k), 'l', sc->name);
		get_named(tx, k, &v, &len);
		(void)px_leases_decode(&s->rec->lz, v, len);
	}
}

/* Store the scope's records: the minute always, the day and the leases
 * when asked (PX_SCOPE_W_*). */
static enum px_err
save_scope(struct px_store_txn *tx, struct px_ledger_scratch *s,
    const struct px_scope *sc, unsigned what)
{
	char k[PX_SCOPE_NAME + 4];
	size_t n;
	enum px_err e;

	px_ledger_scopename(k, sizeof(k), 'm', sc->name);
	n = px_win_encode(&s->rec->wm, &px_win_minute, s->enc, s->enccap);
	e = n == 0 ? PX_EINTERNAL : px_store_put(tx, k, s->enc, n);
	if (e == PX_OK && (what & PX_SCOPE_W_DAY)) {
		px_ledger_scopename(k, sizeof(k), 'd', sc->name);
		n = sc->day == PX_DAYRULE_ROLLING ? px_win_encode(&s->rec->wd,
		    &px_win_day, s->enc, s->enccap) :
		    px_calrec_encode(&s->rec->cal, s->enc);
		e = n == 0 ? PX_EINTERNAL : px_store_put(tx, k, s->enc, n);
	}
	if (e == PX_OK && (what & PX_SCOPE_W_LEASE) && sc->conc > 0) {
		px_ledger_scopename(k, sizeof(k), 'l', sc->name);
		e = px_store_put(tx, k, s->enc, px_leases_encode(&s->rec->lz,
		    s->enc));
	}
	return e;
}

static void
load_health(struct px_store_txn *tx, struct px_health *h,
    enum px_provider_id p, const char *id)
{
	const void *v;
	size_t len;

	get_rec(tx, 'h', p, id, &v, &len);
	(void)px_health_decode(h, v, len);
}

static void
load_totals(struct px_store_txn *tx, const struct px_scope *sc,
    struct px_totals *t)
{
	char k[PX_SCOPE_NAME + 4];
	const void *v;
	size_t len;

	px_ledger_scopename(k, sizeof(k), 't', sc->name);
	get_named(tx, k, &v, &len);
	(void)px_totals_decode(t, v, len);
}

static enum px_err
save_totals(struct px_store_txn *tx, const struct px_scope *sc,
    const struct px_totals *t)
{
	char k[PX_SCOPE_NAME + 4];
	unsigned char b[PX_TOTALS_BYTES];

	px_ledger_scopename(k, sizeof(k), 't', sc->name);
	return px_store_put(tx, k, b, px_totals_encode(t, b));
}

static void
load_ent(struct px_store_txn *tx, enum px_provider_id p, const char *id,
    struct px_entrec *e)
{
	const void *v;
	size_t len;

	get_rec(tx, 'e', p, id, &v, &len);
	(void)px_entrec_decode(e, v, len);
}

static void
load_prov(struct px_store_txn *tx, enum px_provider_id p,
    struct px_provrec *pr)
{
	const void *v;
	size_t len;

	get_rec(tx, 'p', p, NULL, &v, &len);
	(void)px_provrec_decode(pr, v, len);
}

static enum px_err
save_health(struct px_store_txn *tx, const struct px_health *h,
    enum px_provider_id p, const char *id)
{
	unsigned char b[PX_HEALTH_MAXBYTES];

	return put_rec(tx, 'h', p, id, b, px_health_encode(h, b));
}

static enum px_err
save_prov(struct px_store_txn *tx, const struct px_provrec *pr,
    enum px_provider_id p)
{
	unsigned char b[PX_PROVREC_MAXBYTES];

	return put_rec(tx, 'p', p, NULL, b, px_provrec_encode(pr, b));
}

static uint32_t
load_cursor(struct px_store_txn *tx, enum px_provider_id p)
{
	const void *v;
	size_t len;

	get_rec(tx, 'r', p, NULL, &v, &len);
	return px_cursor_decode(v, len);
}

static enum px_err
save_cursor(struct px_store_txn *tx, enum px_provider_id p, uint32_t c)
{
	unsigned char b[4];

	px_cursor_encode(c, b);
	return put_rec(tx, 'r', p, NULL, b, sizeof(b));
}

/* --- reserve ------------------------------------------------------------------ */

struct lmdb_resv {
	struct px_ledger *lg;
	struct px_ledger_scratch *s;
	struct px_resv *r;
	int   has_client;	/* s->sc[PX_SCOPES_MAX] is the client's */
};

static struct px_scope *
client_scope(struct px_ledger_scratch *s)
{
	return &s->sc[PX_SCOPES_MAX];
}

/* Every scope of key i folded into agg. */
static void
eval_key(struct lmdb_resv *x, struct px_store_txn *tx, size_t i,
    struct px_scope_eval *agg)
{
	struct px_ledger_scratch *s = x->s;
	struct px_scope_eval ev;
	size_t j, n = px_scopes_of(&s->refs[i], x->r->c[x->r->ci].model,
	    s->sc);

	for (j = 0; j < n; j++) {
		load_scope(tx, s, &s->sc[j]);
		px_scope_eval(&s->sc[j], s->rec, x->r->tokens, x->r->now, &ev);
		if (j == 0) {
			*agg = ev;
			continue;
		}
		px_pol_fold(agg, &ev);
	}
}

/* Book the request on one scope. */
static enum px_err
take_scope(struct lmdb_resv *x, struct px_store_txn *tx,
    const struct px_scope *sc)
{
	load_scope(tx, x->s, sc);
	px_scope_take(sc, x->s->rec, x->r->tokens, x->r->lease_id,
	    x->r->now, x->lg->cfg->lease_ttl_s * 1000);
	return save_scope(tx, x->s, sc, PX_SCOPE_W_DAY | PX_SCOPE_W_LEASE);
}

/* Book the reservation on key i of candidate ci (every scope, the
 * client's too); move the cursor. */
static enum px_err
take(struct lmdb_resv *x, struct px_store_txn *tx, size_t ci, size_t i)
{
	struct px_ledger_scratch *s = x->s;
	enum px_provider_id p = x->r->c[ci].provider;
	const char *id = s->refs[i].key->id;
	size_t j, n = px_scopes_of(&s->refs[i], x->r->c[ci].model, s->sc);
	int capped = 0;
	struct px_totals t;
	enum px_err e = PX_OK;

	for (j = 0; j < n && e == PX_OK; j++) {
		e = take_scope(x, tx, &s->sc[j]);
		capped |= s->sc[j].conc > 0;
	}
	if (e == PX_OK && x->has_client) {
		e = take_scope(x, tx, client_scope(s));
		capped |= client_scope(s)->conc > 0;
		load_totals(tx, client_scope(s), &t);
		if (!client_scope(s)->carried)
			px_pol_book_client(&t, NULL, NULL);
		if (e == PX_OK)
			e = save_totals(tx, client_scope(s), &t);
	}
	load_health(tx, &s->h, p, id);
	px_pol_take_key(&s->h, x->r->now);
	if (e == PX_OK)
		e = save_health(tx, &s->h, p, id);
	if (e == PX_OK)
		e = save_cursor(tx, p, (uint32_t)i);
	if (e == PX_OK) {
		px_pol_lease(s, x->r, ci, i);
		if (!capped)
			x->r->lease->id = 0;	/* nothing to renew */
	}
	return e;
}

/* The client key's own windows: when they are full no key may be
 * taken (1, ev filled). */
static int
client_blocks(struct lmdb_resv *x, struct px_store_txn *tx,
    struct px_scope_eval *ev)
{
	if (!x->has_client)
		return 0;
	load_scope(tx, x->s, client_scope(x->s));
	px_scope_eval(client_scope(x->s), x->s->rec, x->r->tokens, x->r->now,
	    ev);
	return !ev->ok;
}

/* A refusal by the client's own limit: it is named, and the retry is
 * when both the client and some key have room (the keys were walked). */
static void
client_refusal(struct px_resv *r, const struct px_scope_eval *ev)
{
	if (r->earliest < ev->free_at)
		r->earliest = ev->free_at;
	r->limit = PX_LIMIT_CLIENT;
	r->fits = r->fits && ev->fits;
	r->nkeys = r->nent = 0;	/* not a "limit: 0" refusal */
}

static long
walk(struct lmdb_resv *x, struct px_store_txn *tx, enum px_provider_id p,
    size_t *n)
{
	struct px_ledger_scratch *s = x->s;
	struct px_scope_eval agg;
	struct px_provrec pr;
	struct px_entrec e;
	size_t i;
	const void *v;
	size_t len;

	get_rec(tx, 'p', p, NULL, &v, &len);
	(void)px_provrec_decode(&pr, v, len);
	*n = px_ledger_keys_of(s->cfg, p, s->refs, s->cap);
	for (i = 0; i < *n; i++) {
		eval_key(x, tx, i, &agg);
		load_health(tx, &s->h, p, s->refs[i].key->id);
		load_ent(tx, p, s->refs[i].key->id, &e);
		px_pol_view(s, x->r, i, &agg, &e, pr.backoff_until_ms);
	}
	return px_keysel_pick(s->views, *n, s->cfg->model_usage_gap_percentage,
	    load_cursor(tx, p));
}

static enum px_err
reserve_txn(struct px_store_txn *tx, void *ctx)
{
	struct lmdb_resv *x = ctx;
	struct px_resv *r = x->r;
	struct px_scope_eval cev;
	size_t ci, n;
	long pick;
	int blocked;

	r->earliest = INT64_MAX;	/* the transaction may run again */
	r->limit = PX_LIMIT_KEY;
	r->fits = 0;
	r->nkeys = r->nent = 0;
	blocked = client_blocks(x, tx, &cev);
	for (ci = 0; ci < r->nc; ci++) {
		r->ci = ci;
		pick = walk(x, tx, r->c[ci].provider, &n);
		if (pick >= 0 && !blocked)
			return take(x, tx, ci, (size_t)pick);
	}
	if (blocked)
		client_refusal(r, &cev);
	return PX_ERATE;	/* aborts: nothing was written */
}

static enum px_err
lmdb_reserve(struct px_ledger *lg, struct px_ledger_scratch *s,
    struct px_resv *r)
{
	struct lmdb_resv x = { lg, s, r, 0 };

	x.has_client = px_scope_client(r->ask->client, client_scope(s));
	client_scope(s)->carried = x.has_client && r->carried;
	return px_store_run(lg->st, 1, reserve_txn, &x);
}

/* --- settle ----------------------------------------------------------------- */

struct lmdb_settle {
	struct px_ledger *lg;
	struct px_ledger_scratch *s;
	const struct px_settle_req *q;
};

/* Index of the lease's key among its provider's keys (refs filled). */
static uint32_t
key_index(const struct lmdb_settle *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (x->s->refs[i].key == x->q->lease->key)
			return (uint32_t)i;
	return 0;
}

/*
 * Pardon the keys whose recent 429 turned out to be the provider's: only
 * those in the span, never the lease's own (the caller's), never a key
 * cooling for a daily quota.
 */
static void
pardon_recent(struct lmdb_settle *x, struct px_store_txn *tx,
    const struct px_provrec *pr, const int *first, size_t n)
{
	enum px_provider_id p = x->q->lease->provider;
	struct px_health h;
	size_t i;

	for (i = 0; i < PX_RECENT_429; i++) {
		const struct px_keyref *k;

		if (!first[i] || pr->recent[i].key >= n)
			continue;
		k = &x->s->refs[pr->recent[i].key];
		if (k->key == x->q->lease->key)
			continue;
		load_health(tx, &h, p, k->key->id);
		if (h.state != PX_KEY_COOLING || h.daily)
			continue;
		px_pol_healthy(&h);
		(void)save_health(tx, &h, p, k->key->id);
	}
}

static void
rate_limited(struct lmdb_settle *x, struct px_store_txn *tx)
{
	const struct px_verdict *v = x->q->v;
	enum px_provider_id p = x->q->lease->provider;
	int64_t now = x->q->now;
	struct px_provrec pr;
	int first[PX_RECENT_429];
	size_t n;

	if (!v->daily) {
		n = px_ledger_keys_of(x->lg->cfg, p, x->s->refs, x->s->cap);
		load_prov(tx, p, &pr);
		if (px_pol_provider_429(&pr, key_index(x, n), n,
		    v->until_ms > now ? v->until_ms : 0, now, first)) {
			(void)save_prov(tx, &pr, p);
			pardon_recent(x, tx, &pr, first, n);
			px_pol_healthy(&x->s->h);
			return;
		}
		(void)save_prov(tx, &pr, p);
	}
	px_pol_key_429(&x->s->h, v, now);
}

/* A success ends the provider's back-off escalation (read-mostly). */
static void
provider_healthy(struct lmdb_settle *x, struct px_store_txn *tx)
{
	struct px_provrec pr;

	load_prov(tx, x->q->lease->provider, &pr);
	if (pr.strikes == 0)
		return;
	pr.strikes = 0;
	(void)save_prov(tx, &pr, x->q->lease->provider);
}

static void
mark_entitlement(struct lmdb_settle *x, struct px_store_txn *tx)
{
	const struct px_lease *l = x->q->lease;
	unsigned char b[PX_ENTREC_MAXBYTES];
	struct px_entrec e;

	load_ent(tx, l->provider, l->key->id, &e);
	px_pol_ent_mark(&e, l->model, x->q->v->until_ms, x->q->now);
	(void)put_rec(tx, 'e', l->provider, l->key->id, b,
	    px_entrec_encode(&e, b));
}

/* Key health after the attempt (see px_verdict in ledger.h). */
static void
judge(struct lmdb_settle *x, struct px_store_txn *tx)
{
	const struct px_verdict *v = x->q->v;
	struct px_health *h = &x->s->h;

	switch (v != NULL ? v->fault : PX_FAULT_NONE) {
	case PX_FAULT_NONE:
		if (x->q->how == PX_SETTLE_DONE) {
			px_pol_healthy(h);
			provider_healthy(x, tx);
		}
		break;
	case PX_FAULT_RATE:
		rate_limited(x, tx);
		break;
	case PX_FAULT_AUTH:
		px_pol_disable(h, v, x->q->now, x->lg->cfg->key_reprobe_s);
		break;
	case PX_FAULT_ENTITLEMENT:
		mark_entitlement(x, tx);
		break;
	case PX_FAULT_UPSTREAM:
	case PX_FAULT_CLIENT:
	case PX_FAULT__MAX:
		if (h->state == PX_KEY_DISABLED)
			h->probe_lease_ms = 0;	/* probe inconclusive */
		break;
	}
}

static enum px_err
book_scope(struct lmdb_settle *x, struct px_store_txn *tx,
    const struct px_scope *sc)
{
	unsigned w;

	load_scope(tx, x->s, sc);
	w = px_scope_book(sc, x->s->rec, x->q->lease, x->q->how,
	    x->q->tokens, x->q->now);
	return save_scope(tx, x->s, sc, w);
}

/* The lease's scopes, recomputed from the config (the same as when it
 * was taken), and its client's. */
static size_t
lease_scopes(struct px_ledger_scratch *s, const struct px_lease *l,
    int carried)
{
	struct px_keyref k = { l->group, l->key };
	size_t n = px_scopes_of(&k, l->model, s->sc);

	if (!px_scope_client(l->client, &s->sc[n]))
		return n;
	s->sc[n].carried = carried;
	return n + 1;
}

static enum px_err
settle_txn(struct px_store_txn *tx, void *ctx)
{
	struct lmdb_settle *x = ctx;
	const struct px_lease *l = x->q->lease;
	struct px_totals t;
	size_t j, n = lease_scopes(x->s, l, x->q->carried);
	enum px_err e = PX_OK;

	for (j = 0; j < n && e == PX_OK; j++)
		e = book_scope(x, tx, &x->s->sc[j]);
	if (e == PX_OK && l->client != NULL) {
		load_totals(tx, &x->s->sc[n - 1], &t);
		px_pol_book_client(&t, l, x->q);
		e = save_totals(tx, &x->s->sc[n - 1], &t);
	}
	load_health(tx, &x->s->h, l->provider, l->key->id);
	judge(x, tx);
	px_pol_book_key(&x->s->h, x->q);
	if (e == PX_OK)
		e = save_health(tx, &x->s->h, l->provider, l->key->id);
	return e;
}

static enum px_err
lmdb_settle(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_settle_req *q)
{
	struct lmdb_settle x = { lg, s, q };

	return px_store_run(lg->st, 1, settle_txn, &x);
}

/* --- renew -------------------------------------------------------------------- */

struct lmdb_renew {
	struct px_ledger *lg;
	struct px_ledger_scratch *s;
	const struct px_lease *l;
	int64_t now;
};

static enum px_err
renew_txn(struct px_store_txn *tx, void *ctx)
{
	struct lmdb_renew *x = ctx;
	size_t j, n = lease_scopes(x->s, x->l, 0);
	enum px_err e = PX_OK;

	for (j = 0; j < n && e == PX_OK; j++) {
		if (x->s->sc[j].conc == 0)
			continue;
		load_scope(tx, x->s, &x->s->sc[j]);
		if (px_scope_renew(x->s->rec, x->l->id, x->now,
		    x->lg->cfg->lease_ttl_s * 1000))
			e = save_scope(tx, x->s, &x->s->sc[j],
			    PX_SCOPE_W_LEASE);
	}
	return e;
}

static enum px_err
lmdb_renew(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_lease *l, int64_t now)
{
	struct lmdb_renew x = { lg, s, l, now };

	return px_store_run(lg->st, 1, renew_txn, &x);
}

/* --- snapshot ------------------------------------------------------------------ */

struct lmdb_snap {
	struct px_ledger *lg;
	struct px_ledger_scratch *s;
	int64_t now;
};

static enum px_err
snapshot_txn(struct px_store_txn *tx, void *ctx)
{
	struct lmdb_snap *x = ctx;
	struct px_ledger_scratch *s = x->s;
	struct px_provrec pr;
	struct px_entrec e;
	size_t i, n, at = 0;
	int p;

	for (p = 0; p < PX_PROV__MAX; p++) {
		n = px_ledger_keys_of(s->cfg, (enum px_provider_id)p, s->refs,
		    s->cap);
		for (i = 0; i < n; i++, at++) {
			(void)px_scopes_of(&s->refs[i], "", s->sc);
			load_scope(tx, s, &s->sc[0]);
			load_health(tx, &s->h, (enum px_provider_id)p,
			    s->refs[i].key->id);
			load_ent(tx, (enum px_provider_id)p,
			    s->refs[i].key->id, &e);
			px_pol_snap_key(s, at, &s->refs[i], &e, x->now);
		}
		load_prov(tx, (enum px_provider_id)p, &pr);
		s->snap.prov[p].backoff_until_ms = pr.backoff_until_ms >
		    x->now ? pr.backoff_until_ms : 0;
	}
	s->snap.nkeys = at;
	for (i = 0; i < s->snap.nscopes; i++) {
		struct px_totals t;
		int client = s->snap_sc[i].kind == PX_SCOPE_CLIENT;

		load_scope(tx, s, &s->snap_sc[i]);
		if (client)
			load_totals(tx, &s->snap_sc[i], &t);
		px_pol_snap_scope(s, i, client ? &t : NULL, x->now);
	}
	return PX_OK;
}

static enum px_err
lmdb_snapshot(struct px_ledger *lg, struct px_ledger_scratch *s, int64_t now)
{
	struct lmdb_snap x = { lg, s, now };

	return px_store_run(lg->st, 0, snapshot_txn, &x);
}

/* --- the operator's acts and the counters ------------------------------------- */

struct lmdb_admin {
	const struct px_admin_plan *a;
};

static enum px_err
admin_txn(struct px_store_txn *tx, void *ctx)
{
	const struct px_admin_plan *a = ((struct lmdb_admin *)ctx)->a;
	struct px_health h;
	unsigned char b[PX_HEALTH_MAXBYTES];
	enum px_err e = PX_OK;
	const void *v;
	size_t i, len;

	for (i = 0; i < a->nhealth && e == PX_OK; i++) {
		get_named(tx, a->health[i], &v, &len);
		(void)px_health_decode(&h, v, len);
		px_pol_admin(&h, a->op, a->reason);
		e = px_store_put(tx, a->health[i], b, px_health_encode(&h, b));
	}
	for (i = 0; i < a->ndel && e == PX_OK; i++)
		e = px_store_del(tx, a->del[i]);
	return e;
}

static enum px_err
lmdb_admin(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_admin_plan *a)
{
	struct lmdb_admin x = { a };

	(void)s;
	return px_store_run(lg->st, 1, admin_txn, &x);
}

struct lmdb_health_all {
	void (*fn)(void *ctx, const char *name, size_t nlen, const void *v,
	    size_t len);
	void *ctx;
};

/* Names first (px_store_names), then each record, in one read. */
static enum px_err
health_all_txn(struct px_store_txn *tx, void *ctx)
{
	struct lmdb_health_all *x = ctx;
	size_t need = 0, got, i, off = 0, len;
	const void *v;
	char *names;

	(void)px_store_names(tx, "h/", NULL, 0, &need);
	names = malloc(need + 1);
	if (names == NULL)
		return PX_ENOMEM;
	got = px_store_names(tx, "h/", names, need + 1, &need);
	for (i = 0; i < got && i < PX_RETIRED_MAX; i++) {
		size_t nlen = strlen(names + off);

		if (px_store_get(tx, names + off, &v, &len))
			x->fn(x->ctx, names + off, nlen, v, len);
		off += nlen + 1;
	}
	free(names);
	return PX_OK;
}

static enum px_err
lmdb_health_all(struct px_ledger *lg, struct px_ledger_scratch *s,
    void (*fn)(void *ctx, const char *name, size_t nlen, const void *v,
    size_t len), void *ctx)
{
	struct lmdb_health_all x = { fn, ctx };

	(void)s;
	return px_store_run(lg->st, 0, health_all_txn, &x);
}

struct lmdb_stats {
	const uint64_t *delta;
	uint64_t *out;
};

/* out: read only; delta: added (a damaged record starts again at 0). */
static enum px_err
stats_txn(struct px_store_txn *tx, void *ctx)
{
	struct lmdb_stats *x = ctx;
	unsigned char b[PX_ST_ENC_MAX];
	uint64_t cur[PX_ST_N];
	const void *v;
	size_t i, len;

	get_named(tx, PX_STATS_REC, &v, &len);
	if (px_stats_decode(v, len, cur) != 0)
		memset(cur, 0, sizeof(cur));
	if (x->delta == NULL) {
		memcpy(x->out, cur, sizeof(cur));
		return PX_OK;
	}
	for (i = 0; i < PX_ST_N; i++)
		cur[i] += x->delta[i];
	return px_store_put(tx, PX_STATS_REC, b, px_stats_encode(cur, b));
}

static enum px_err
lmdb_stats_add(struct px_ledger *lg, struct px_ledger_scratch *s,
    const uint64_t *delta)
{
	struct lmdb_stats x = { delta, NULL };

	(void)s;
	return px_store_run(lg->st, 1, stats_txn, &x);
}

static enum px_err
lmdb_stats_read(struct px_ledger *lg, struct px_ledger_scratch *s,
    uint64_t *out)
{
	struct lmdb_stats x = { NULL, out };

	(void)s;
	return px_store_run(lg->st, 0, stats_txn, &x);
}

/* --- setup ------------------------------------------------------------------- */

static enum px_err
lmdb_open(struct px_ledger *lg, char *detail, size_t cap)
{
	if (px_store_schema(lg->st) < PX_STORE_SCHEMA)
		return px_ledger_migrate(lg->st, lg->cfg, detail, cap);
	return PX_OK;
}

static void
lmdb_close(struct px_ledger *lg)
{
	(void)lg;	/* the store is the ledger's */
}

const struct px_ledger_ops px_ledger_lmdb_ops = {
	.name = "lmdb",
	.open = lmdb_open,
	.close = lmdb_close,
	.reserve = lmdb_reserve,
	.settle = lmdb_settle,
	.renew = lmdb_renew,
	.snapshot = lmdb_snapshot,
	.admin = lmdb_admin,
	.health_all = lmdb_health_all,
	.stats_add = lmdb_stats_add,
	.stats_read = lmdb_stats_read,
};
