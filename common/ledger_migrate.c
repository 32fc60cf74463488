/*
 * ledger_migrate.c -- brings an LMDB ledger written by main before ledger
 * v2 (schema 1: each key one ~10.6 KiB raw struct copy) to schema 2
 * (ledger_rec.h, win.h), so counters, cooldowns and lifetime totals
 * survive the upgrade.
 * Owns: the schema-1 layouts (as this host's compiler laid them out: the
 * file was written here, LMDB files never move between machines) and
 * their conversion, all in one write transaction: processes that open
 * the ledger at the same moment see either the old schema or the new.
 * Never: runs for a schema other than 1 (store.c refuses newer ones).
 */
#include "ledger_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define V1_MAGIC 0x41495058u	/* "AIPX" */

struct ring_v1 {
	int64_t  head;
	uint64_t sum;
};

struct keyrec_v1 {
	uint32_t magic, version;
	struct ring_v1 rmin, tmin, rday;
	uint64_t life_requests, life_tokens, life_errors;
	int64_t  cool_until_ms, probe_at_ms, probe_lease_ms;
	uint32_t state, strikes, daily, pad;
	char     reason[64];
	uint32_t b_rmin[601];
	uint32_t b_tmin[601];
	uint32_t b_rday[1441];
};

struct provrec_v1 {
	uint32_t magic, version;
	int64_t  backoff_until_ms;
	uint32_t strikes, next;
	struct { int64_t t; uint32_t key; uint32_t pad; } recent[16];
	char     reason[64];
};

struct entrec_v1 {
	uint32_t magic, version;
	struct { int64_t until_ms; char model[120]; } e[8];
};

struct migration {
	struct px_ledger_scratch *s;
	struct keyrec_v1 *key;	/* one old record (10.6 KiB) */
	char  *names;
	size_t cap;
};

/* The v1 record under name, if it is one (magic, version, size). */
static int
get_v1(struct px_store_txn *tx, const char *name, void *out, size_t size)
{
	const void *v;
	size_t len;
	uint32_t head[2];

	if (!px_store_get(tx, name, &v, &len) || len != size)
		return 0;
	memcpy(out, v, size);
	memcpy(head, out, sizeof(head));
	return head[0] == V1_MAGIC && head[1] == 1;
}

/*
 * Column col of w from a dense v1 ring (slot of bucket k: k mod nb),
 * keeping the buckets still inside w's window at w->head. Call with the
 * ring of the larger head first (the minute window has two rings).
 */
static void
ring_in(struct px_win *w, const struct px_win_spec *s, unsigned col,
    const struct ring_v1 *r, const uint32_t *b)
{
	int64_t k, lo = w->head - (int64_t)s->nb + 1;
	uint32_t i = 0, v;

	if (r->head < 0)
		return;
	for (k = r->head - (int64_t)s->nb + 1; k <= r->head; k++) {
		if (k < lo || k < 0)
			continue;
		v = b[k % s->nb];
		if (v == 0)
			continue;
		while (i < w->n && w->b[i] < k)
			i++;
		if (i == w->n || w->b[i] != k) {	/* insert at i */
			memmove(w->b + i + 1, w->b + i,
			    (w->n - i) * sizeof(w->b[0]));
			memmove(w->v + i + 1, w->v + i,
			    (w->n - i) * sizeof(w->v[0]));
			w->n++;
			w->b[i] = k;
			memset(w->v[i], 0, sizeof(w->v[i]));
		}
		w->v[i][col] = v;
		w->sum[col] += v;
	}
}

static enum px_err
put_win(struct px_store_txn *tx, struct px_ledger_scratch *s,
    const struct px_win *w, const struct px_win_spec *sp, const char *name)
{
	size_t n = px_win_encode(w, sp, s->enc, s->enccap);

	return n == 0 ? PX_EINTERNAL : px_store_put(tx, name, s->enc, n);
}

/* "key/<p>/<id>" -> m/k/<p>/<id>, d/k/<p>/<id>, h/<p>/<id>. */
static enum px_err
key_v1(struct px_store_txn *tx, struct migration *m, const char *name,
    const char *rest)
{
	struct px_ledger_scratch *s = m->s;
	struct keyrec_v1 *r = m->key;
	unsigned char hb[PX_HEALTH_MAXBYTES];
	char out[96];
	enum px_err e;

	if (!get_v1(tx, name, r, sizeof(*r)))
		return PX_OK;
	px_win_clear(&s->rec->wm);
	px_win_clear(&s->rec->wd);
	s->rec->wm.head = r->rmin.head > r->tmin.head ? r->rmin.head : r->tmin.head;
	ring_in(&s->rec->wm, &px_win_minute, PX_WIN_REQ, &r->rmin, r->b_rmin);
	ring_in(&s->rec->wm, &px_win_minute, PX_WIN_TOK, &r->tmin, r->b_tmin);
	s->rec->wd.head = r->rday.head;
	ring_in(&s->rec->wd, &px_win_day, PX_WIN_REQ, &r->rday, r->b_rday);
	memset(&s->h, 0, sizeof(s->h));
	s->h.state = r->state <= PX_KEY_DISABLED ? r->state : PX_KEY_ACTIVE;
	s->h.strikes = r->strikes;
	s->h.daily = r->daily;
	s->h.cool_until_ms = r->cool_until_ms;
	s->h.probe_at_ms = r->probe_at_ms;
	s->h.probe_lease_ms = r->probe_lease_ms;
	s->h.life_requests = r->life_requests;
	s->h.life_tokens = r->life_tokens;
	s->h.life_errors = r->life_errors;
	r->reason[sizeof(r->reason) - 1] = '\0';
	px_rec_set_reason(s->h.reason, r->reason);
	snprintf(out, sizeof(out), "m/k/%s", rest);
	e = put_win(tx, s, &s->rec->wm, &px_win_minute, out);
	snprintf(out, sizeof(out), "d/k/%s", rest);
	if (e == PX_OK)
		e = put_win(tx, s, &s->rec->wd, &px_win_day, out);
	snprintf(out, sizeof(out), "h/%s", rest);
	if (e == PX_OK)
		e = px_store_put(tx, out, hb, px_health_encode(&s->h, hb));
	return e;
}

/* "prov/<p>" -> p/<p>. */
static enum px_err
prov_v1(struct px_store_txn *tx, const char *name, const char *rest)
{
	struct provrec_v1 r;
	struct px_provrec pr;
	unsigned char b[PX_PROVREC_MAXBYTES];
	char out[64];
	size_t i;

	if (!get_v1(tx, name, &r, sizeof(r)))
		return PX_OK;
	memset(&pr, 0, sizeof(pr));
	pr.backoff_until_ms = r.backoff_until_ms;
	pr.strikes = r.strikes;
	pr.next = r.next % PX_RECENT_429;
	for (i = 0; i < PX_RECENT_429; i++) {
		pr.recent[i].t = r.recent[i].t;
		pr.recent[i].key = r.recent[i].key;
	}
	r.reason[sizeof(r.reason) - 1] = '\0';
	px_rec_set_reason(pr.reason, r.reason);
	snprintf(out, sizeof(out), "p/%s", rest);
	return px_store_put(tx, out, b, px_provrec_encode(&pr, b));
}

/* "ent<n>/<id>" (n: provider number) -> e/<p>/<id>. */
static enum px_err
ent_v1(struct px_store_txn *tx, const char *name, const char *rest)
{
	struct entrec_v1 r;
	struct px_entrec e;
	unsigned char b[PX_ENTREC_MAXBYTES];
	char out[96];
	size_t i;
	int p = rest[0] - '0';

	if (p < 0 || p >= PX_PROV__MAX || rest[1] != '/' ||
	    !get_v1(tx, name, &r, sizeof(r)))
		return PX_OK;
	memset(&e, 0, sizeof(e));
	for (i = 0; i < 8; i++) {
		if (r.e[i].until_ms <= 0)
			continue;
		r.e[i].model[sizeof(r.e[i].model) - 1] = '\0';
		e.e[e.n].until_ms = r.e[i].until_ms;
		snprintf(e.e[e.n].model, PX_ENT_MODEL, "%s", r.e[i].model);
		e.n++;
	}
	snprintf(out, sizeof(out), "e/%s/%s",
	    px_provider_name((enum px_provider_id)p), rest + 2);
	return px_store_put(tx, out, b, px_entrec_encode(&e, b));
}

/* "rr/<p>": the same name, the cursor now little-endian. */
static enum px_err
cursor_v1(struct px_store_txn *tx, const char *name)
{
	const void *v;
	size_t len;
	uint32_t c;
	unsigned char b[4];

	if (!px_store_get(tx, name, &v, &len) || len != sizeof(c))
		return PX_OK;
	memcpy(&c, v, sizeof(c));
	px_cursor_encode(c, b);
	return px_store_put(tx, name, b, sizeof(b));
}

static enum px_err
convert(struct px_store_txn *tx, struct migration *m, const char *name)
{
	enum px_err e = PX_OK;

	if (strncmp(name, "key/", 4) == 0)
		e = key_v1(tx, m, name, name + 4);
	else if (strncmp(name, "prov/", 5) == 0)
		e = prov_v1(tx, name, name + 5);
	else if (strncmp(name, "ent", 3) == 0)
		e = ent_v1(tx, name, name + 3);
	else if (strncmp(name, "rr/", 3) == 0)
		return cursor_v1(tx, name);
	else
		return PX_OK;
	return e == PX_OK ? px_store_del(tx, name) : e;
}

/* The names of one prefix, all converted. */
static enum px_err
convert_all(struct px_store_txn *tx, struct migration *m, const char *prefix)
{
	size_t n, need, i, at = 0;
	enum px_err e = PX_OK;

	n = px_store_names(tx, prefix, m->names, m->cap, &need);
	if (need > m->cap) {
		char *bigger = realloc(m->names, need);

		if (bigger == NULL)
			return PX_ENOMEM;
		m->names = bigger;
		m->cap = need;
		n = px_store_names(tx, prefix, m->names, m->cap, &need);
	}
	for (i = 0; i < n && e == PX_OK; i++) {
		e = convert(tx, m, m->names + at);
		at += strlen(m->names + at) + 1;
	}
	return e;
}

static enum px_err
migrate_txn(struct px_store_txn *tx, void *ctx)
{
	static const char *const prefixes[] = { "key/", "prov/", "ent", "rr/" };
	struct migration *m = ctx;
	enum px_err e = PX_OK;
	size_t i;

	if (px_store_schema_txn(tx) >= PX_STORE_SCHEMA)
		return PX_OK;	/* another process was first */
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]) && e == PX_OK;
	    i++)
		e = convert_all(tx, m, prefixes[i]);
	if (e == PX_OK)
		e = px_store_set_schema(tx, PX_STORE_SCHEMA);
	return e;
}

enum px_err
px_ledger_migrate(struct px_store *st, const struct px_config *cfg,
    char *detail, size_t cap)
{
	struct migration m = { px_ledger_scratch_new(cfg),
	    malloc(sizeof(struct keyrec_v1)), NULL, 0 };
	enum px_err e = PX_ENOMEM;

	if (m.s != NULL)	/* no ledger to lend records: its own */
		m.s->rec = m.s->own = malloc(sizeof(*m.s->own));
	if (m.s != NULL && m.s->own != NULL && m.key != NULL)
		e = px_store_run(st, 1, migrate_txn, &m);
	free(m.key);
	free(m.names);
	px_ledger_scratch_free(m.s);
	if (e != PX_OK)
		snprintf(detail, cap, "state store: migrating the ledger from "
		    "schema 1 failed (%s); removing the directory "
		    "<state_dir>/ledger starts it afresh", px_err_name(e));
	return e;
}
