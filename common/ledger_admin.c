/*
 * ledger_admin.c -- the operator's acts on the ledger (aiproxy ctl) and
 * the installation-wide counters' way in and out of it.
 * Owns: which records an act touches (px_ledger_admin builds a plan of
 * health records to change and records to delete; the backend runs it
 * in one step), what an act does to a key's health (px_pol_admin,
 * restated in ledger.lua), the keys the ledger remembers that the config
 * no longer names, and moving this process's counters (stats.h) into the
 * shared record.
 * Never: I/O of its own (the backends do it), or a write on behalf of a
 * request: counters are flushed by the maintenance call only, and
 * reading them writes nothing.
 */
#include "ledger_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
px_pol_admin_reason(const char *reason, char out[PX_REASON_MAX])
{
	char why[PX_REASON_MAX];

	snprintf(why, sizeof(why), "operator: %s",
	    reason != NULL && *reason != '\0' ? reason : "disabled");
	px_rec_set_reason(out, why);
}

void
px_pol_admin(struct px_health *h, enum px_admin_op op, const char *reason)
{
	switch (op) {
	case PX_ADMIN_DISABLE:
		h->state = PX_KEY_DISABLED;
		h->daily = h->strikes = 0;
		h->cool_until_ms = h->probe_lease_ms = 0;
		h->probe_at_ms = PX_NEVER_MS;
		px_pol_admin_reason(reason, h->reason);
		break;
	case PX_ADMIN_ENABLE:
		px_pol_healthy(h);
		break;
	case PX_ADMIN_RESET:
		if (h->state != PX_KEY_DISABLED)
			px_pol_healthy(h);
		break;
	}
}

/* The plan's arrays, grown as names are added. */
struct plan_buf {
	struct px_admin_plan *a;
	size_t hcap, dcap;
	int oom;
};

static px_recname *
grow(px_recname *v, size_t *cap, size_t need)
{
	px_recname *n;

	if (need <= *cap)
		return v;
	n = realloc(v, (need * 2 + 16) * sizeof(px_recname));
	if (n != NULL)
		*cap = need * 2 + 16;
	return n;
}

static void
add_health(struct plan_buf *b, enum px_provider_id p, const char *id)
{
	px_recname *n = grow(b->a->health, &b->hcap,
	    b->a->nhealth + 1);

	if (n == NULL) {
		b->oom = 1;
		return;
	}
	b->a->health = n;
	px_ledger_recname(n[b->a->nhealth++], PX_RECNAME, 'h', p, id);
}

static char *
add_del(struct plan_buf *b)
{
	px_recname *n = grow(b->a->del, &b->dcap, b->a->ndel + 1);

	if (n == NULL) {
		b->oom = 1;
		return NULL;
	}
	b->a->del = n;
	return n[b->a->ndel++];
}

/* A scope's windows: minute, day (or calendar day), leases. */
static void
del_scope(struct plan_buf *b, const struct px_scope *sc)
{
	static const char kinds[] = { 'm', 'd', 'l' };
	size_t i;
	char *d;

	for (i = 0; i < sizeof(kinds); i++)
		if ((d = add_del(b)) != NULL)
			px_ledger_scopename(d, PX_RECNAME, kinds[i], sc->name);
}

/* One key: its health, its scope and model entries, its marks. */
static void
plan_key(struct plan_buf *b, const struct px_keyref *k)
{
	const struct px_provider_cfg *g = k->group;
	struct px_scope sc;
	size_t i;
	char *d;

	add_health(b, g->provider, k->key->id);
	if (b->a->op != PX_ADMIN_RESET)
		return;
	px_scope_key(k, &sc);
	del_scope(b, &sc);
	for (i = 0; i < g->nmodel_limits; i++) {
		px_scope_key_model(k, &g->model_limits[i], &sc);
		del_scope(b, &sc);
	}
	if ((d = add_del(b)) != NULL)
		px_ledger_recname(d, PX_RECNAME, 'e', g->provider, k->key->id);
}

/* Owners, their model entries, clients, providers' back-offs. */
static void
plan_shared(struct plan_buf *b, const struct px_config *cfg)
{
	struct px_scope sc;
	size_t i, j;
	int p;
	char *d;

	for (i = 0; i < cfg->nowners; i++) {
		const struct px_owner_cfg *o = &cfg->owners[i];

		px_scope_owner(o, &sc);
		del_scope(b, &sc);
		for (j = 0; j < o->nmodel_limits; j++) {
			px_scope_owner_model(o, &o->model_limits[j], &sc);
			del_scope(b, &sc);
		}
	}
	for (i = 0; i < cfg->nclients; i++)
		if (px_scope_client(&cfg->clients[i], &sc))
			del_scope(b, &sc);
	for (p = 0; p < PX_PROV__MAX; p++)
		if ((d = add_del(b)) != NULL)
			px_ledger_recname(d, PX_RECNAME, 'p',
			    (enum px_provider_id)p, NULL);
}

static void
plan_all(struct plan_buf *b, const struct px_config *cfg)
{
	struct px_keyref k;
	size_t i, j;

	for (i = 0; i < cfg->nproviders; i++)
		for (j = 0; j < cfg->providers[i].nkeys; j++) {
			k.group = &cfg->providers[i];
			k.key = &cfg->providers[i].keys[j];
			plan_key(b, &k);
		}
	plan_shared(b, cfg);
}

enum px_err
px_ledger_admin(struct px_ledger *lg, struct px_ledger_scratch *s,
    enum px_admin_op op, const struct px_provider_cfg *group,
    const struct px_key_cfg *key, const char *reason, int64_t now_ms)
{
	struct px_admin_plan a = { op, reason, now_ms, 0, 0, NULL, NULL };
	struct plan_buf b = { &a, 0, 0, 0 };
	struct px_keyref k = { group, key };
	enum px_err e;

	if (key == NULL && op != PX_ADMIN_RESET)
		return PX_EINTERNAL;
	if (key != NULL)
		plan_key(&b, &k);
	else
		plan_all(&b, lg->cfg);
	e = b.oom ? PX_ENOMEM : px_recs_lend(lg, s);
	if (e == PX_OK) {
		e = lg->ops->admin(lg, s, &a);
		px_recs_back(lg, s);
	}
	free(a.health);
	free(a.del);
	return e;
}

struct retired_ctx {
	const struct px_config *cfg;
	struct px_retired *out;
	size_t cap, n;
};

static int
configured(const struct px_config *cfg, enum px_provider_id p,
    const char *id)
{
	size_t i, j;

	for (i = 0; i < cfg->nproviders; i++)
		for (j = 0; cfg->providers[i].provider == p &&
		    j < cfg->providers[i].nkeys; j++)
			if (strcmp(cfg->providers[i].keys[j].id, id) == 0)
				return 1;
	return 0;
}

/* "h/<provider>/<id>" not in the config: one more retired key. */
static void
retired_one(void *ctx, const char *name, size_t nlen, const void *v,
    size_t len)
{
	struct retired_ctx *x = ctx;
	char buf[PX_RECNAME], *prov, *id;
	int p;

	if (x->n >= x->cap || nlen < 3 || nlen >= sizeof(buf))
		return;
	memcpy(buf, name, nlen);
	buf[nlen] = '\0';
	prov = buf + 2;
	id = strchr(prov, '/');
	if (strncmp(buf, "h/", 2) != 0 || id == NULL || strlen(id + 1) >= 16)
		return;
	*id++ = '\0';
	for (p = 0; p < PX_PROV__MAX; p++)
		if (strcmp(prov, px_provider_name((enum px_provider_id)p)) == 0)
			break;
	if (p == PX_PROV__MAX || configured(x->cfg, (enum px_provider_id)p,
	    id))
		return;
	x->out[x->n].provider = (enum px_provider_id)p;
	snprintf(x->out[x->n].id, sizeof(x->out[x->n].id), "%s", id);
	(void)px_health_decode(&x->out[x->n].h, v, len);
	x->n++;
}

enum px_err
px_ledger_retired(struct px_ledger *lg, struct px_ledger_scratch *s,
    struct px_retired *out, size_t cap, size_t *n)
{
	struct retired_ctx x = { lg->cfg, out, cap, 0 };
	enum px_err e = px_recs_lend(lg, s);

	if (e == PX_OK) {
		e = lg->ops->health_all(lg, s, retired_one, &x);
		px_recs_back(lg, s);
	}
	*n = x.n;
	return e;
}

enum px_err
px_ledger_stats_flush(struct px_ledger *lg, struct px_ledger_scratch *s)
{
	uint64_t delta[PX_ST_N];
	enum px_err e;

	if (!px_stats_take(delta))
		return PX_OK;
	e = lg->ops->stats_add(lg, s, delta);
	if (e != PX_OK)
		px_stats_return(delta);
	return e;
}

enum px_err
px_ledger_stats_read(struct px_ledger *lg, struct px_ledger_scratch *s,
    uint64_t *out)
{
	uint64_t mine[PX_ST_N];
	enum px_err e = lg->ops->stats_read(lg, s, out);
	size_t i;

	if (e != PX_OK)
		return e;
	/* this process's share not flushed yet: shown, and given back */
	if (px_stats_take(mine)) {
		for (i = 0; i < PX_ST_N; i++)
			out[i] += mine[i];
		px_stats_return(mine);
	}
	return PX_OK;
}
