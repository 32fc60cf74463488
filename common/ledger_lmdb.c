/*
 * ledger_lmdb.c -- the ledger backend on one host: the records of
 * ledger_rec.h and win.h in the LMDB store, every operation one short
 * write transaction (px_store_run), so choice and reservation are atomic
 * across the host's processes and threads.
 * Owns: reading and writing the records by name, and running the policy
 * steps of ledger.c over them.
 * Never: policy of its own, or a transaction held across anything but
 * record reads and writes.
 * Load: a reservation reads four small records per key of the walked
 * providers and writes four (minute, day, health, cursor); a settlement
 * writes two (minute, health), three when a whole request is given back.
 */
#include "ledger_int.h"

#include <stdio.h>
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

/* Decode key id's windows and health into s (damaged ones read empty). */
static void
load_key(struct px_store_txn *tx, struct px_ledger_scratch *s,
    enum px_provider_id p, const char *id)
{
	const void *v;
	size_t len;

	get_rec(tx, 'm', p, id, &v, &len);
	(void)px_win_decode(&s->wm, &px_win_minute, v, len);
	get_rec(tx, 'd', p, id, &v, &len);
	(void)px_win_decode(&s->wd, &px_win_day, v, len);
	get_rec(tx, 'h', p, id, &v, &len);
	(void)px_health_decode(&s->h, v, len);
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
save_win(struct px_store_txn *tx, struct px_ledger_scratch *s, char kind,
    enum px_provider_id p, const char *id)
{
	const struct px_win_spec *sp = kind == 'm' ? &px_win_minute :
	    &px_win_day;
	size_t n = px_win_encode(kind == 'm' ? &s->wm : &s->wd, sp, s->enc,
	    s->enccap);

	return n == 0 ? PX_EINTERNAL : put_rec(tx, kind, p, id, s->enc, n);
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
};

/* Book the reservation on key i of candidate ci; move the cursor. */
static enum px_err
take(struct lmdb_resv *x, struct px_store_txn *tx, size_t ci, size_t i)
{
	struct px_ledger_scratch *s = x->s;
	enum px_provider_id p = x->r->c[ci].provider;
	const char *id = s->refs[i].key->id;
	enum px_err e;

	load_key(tx, s, p, id);
	px_pol_take(s, x->r);
	e = save_win(tx, s, 'm', p, id);
	if (e == PX_OK)
		e = save_win(tx, s, 'd', p, id);
	if (e == PX_OK)
		e = save_health(tx, &s->h, p, id);
	if (e == PX_OK)
		e = save_cursor(tx, p, (uint32_t)i);
	if (e == PX_OK)
		px_pol_lease(s, x->r, ci, i);
	return e;
}

static enum px_err
reserve_txn(struct px_store_txn *tx, void *ctx)
{
	struct lmdb_resv *x = ctx;
	struct px_ledger_scratch *s = x->s;
	struct px_resv *r = x->r;
	struct px_provrec pr;
	struct px_entrec e;
	size_t ci, i, n;
	long pick;

	r->earliest = INT64_MAX;	/* the transaction may run again */
	r->fits = 0;
	r->nkeys = r->nent = 0;
	for (ci = 0; ci < r->nc; ci++) {
		enum px_provider_id p = r->c[ci].provider;

		r->ci = ci;
		load_prov(tx, p, &pr);
		n = px_ledger_keys_of(s->cfg, p, s->refs, s->cap);
		for (i = 0; i < n; i++) {
			load_key(tx, s, p, s->refs[i].key->id);
			load_ent(tx, p, s->refs[i].key->id, &e);
			px_pol_view(s, r, i, &e, pr.backoff_until_ms);
		}
		pick = px_keysel_pick(s->views, n,
		    s->cfg->model_usage_gap_percentage, load_cursor(tx, p));
		if (pick >= 0)
			return take(x, tx, ci, (size_t)pick);
	}
	return PX_ERATE;	/* aborts: nothing was written */
}

static enum px_err
lmdb_reserve(struct px_ledger *lg, struct px_ledger_scratch *s,
    struct px_resv *r)
{
	struct lmdb_resv x = { lg, s, r };

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
	const void *v;
	size_t i, len;

	for (i = 0; i < PX_RECENT_429; i++) {
		const struct px_keyref *k;

		if (!first[i] || pr->recent[i].key >= n)
			continue;
		k = &x->s->refs[pr->recent[i].key];
		if (k->key == x->q->lease->key)
			continue;
		get_rec(tx, 'h', p, k->key->id, &v, &len);
		(void)px_health_decode(&h, v, len);
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
settle_txn(struct px_store_txn *tx, void *ctx)
{
	struct lmdb_settle *x = ctx;
	const struct px_lease *l = x->q->lease;
	enum px_err e;

	load_key(tx, x->s, l->provider, l->key->id);
	judge(x, tx);
	px_pol_book(x->s, x->q);
	e = save_win(tx, x->s, 'm', l->provider, l->key->id);
	if (e == PX_OK && x->q->how == PX_SETTLE_RELEASE_ALL)
		e = save_win(tx, x->s, 'd', l->provider, l->key->id);
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
			load_key(tx, s, (enum px_provider_id)p,
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
	return PX_OK;
}

static enum px_err
lmdb_snapshot(struct px_ledger *lg, struct px_ledger_scratch *s, int64_t now)
{
	struct lmdb_snap x = { lg, s, now };

	return px_store_run(lg->st, 0, snapshot_txn, &x);
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
	.snapshot = lmdb_snapshot,
};
