/*
 * ledger_redis.c -- the ledger backend for several hosts: the records of
 * ledger_rec.h and win.h in Redis under redis_prefix, each operation one
 * call of ledger.lua, which runs atomically on the server with the
 * server's clock.
 * Owns: naming the records (by key id, never the key), packing a call's
 * KEYS and ARGV, reading its reply, the per-thread connection, and one
 * log line when a thread loses or regains Redis.
 * Never: decides anything ledger.lua decides, or lets a request through
 * when Redis did not answer (fail closed: PX_EUNAVAIL).
 */
#include "ledger_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_lua.h"
#include "log.h"
#include "redis.h"

/* One thread's call being built: arguments in an arena by offset (the
 * arena may move while it grows), then pointed at for the call. */
struct rcall {
	struct px_redis *conn;
	int     down;		/* the last call failed: log the recovery */
	char   *arena;
	size_t  used, cap;
	size_t *off, *len;
	const char **argv;
	size_t  acap;		/* of argv */
	size_t  n, ncap;	/* arguments; room in off and len */
	int     oom;		/* an argument did not fit: fail the call */
};

/* Test knob (ledger.h): the caller's time instead of the server's. */
static int caller_clock;

static void
rcall_free(void *p)
{
	struct rcall *x = p;

	if (x == NULL)
		return;
	px_redis_free(x->conn);
	free(x->arena);
	free(x->off);
	free(x->len);
	free(x->argv);
	free(x);
}

static struct rcall *
rcall_of(struct px_ledger *lg, struct px_ledger_scratch *s)
{
	struct rcall *x = s->be;

	if (x != NULL)
		return x;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->conn = px_redis_new(lg->cfg, px_ledger_lua);
	if (x->conn == NULL) {
		free(x);
		return NULL;
	}
	s->be = x;
	s->be_free = rcall_free;
	return x;
}

static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap != 0 ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * size);
	if (q == NULL)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

static void
arg(struct rcall *x, const char *p, size_t n)
{
	size_t ncap = x->ncap;

	/* + 1: the arena exists even while every argument is empty */
	if (x->oom || grow((void **)&x->arena, &x->cap, x->used + n + 1, 1) ||
	    grow((void **)&x->off, &ncap, x->n + 1, sizeof(size_t)) ||
	    grow((void **)&x->len, &x->ncap, x->n + 1, sizeof(size_t))) {
		x->oom = 1;
		return;
	}
	memcpy(x->arena + x->used, p, n);
	x->off[x->n] = x->used;
	x->len[x->n++] = n;
	x->used += n;
}

static void
arg_str(struct rcall *x, const char *s)
{
	arg(x, s, strlen(s));
}

static void
arg_int(struct rcall *x, long long v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%lld", v);

	arg(x, b, (size_t)n);
}

/* prefix + record name (ledger_rec.h). */
static void
arg_rec(struct rcall *x, const struct px_config *cfg, char kind,
    enum px_provider_id p, const char *id)
{
	char b[256];
	size_t n = strlen(cfg->redis_prefix);

	if (n > 64)
		n = 64;
	memcpy(b, cfg->redis_prefix, n);
	px_ledger_recname(b + n, sizeof(b) - n, kind, p, id);
	arg_str(x, b);
}

static void
arg_now(struct rcall *x, int64_t now)
{
	if (caller_clock)
		arg_int(x, now);
	else
		arg(x, "", 0);
}

static void
start(struct rcall *x)
{
	x->used = x->n = 0;
	x->oom = 0;
}

/* Run the call with its first nkeys arguments as KEYS. */
static enum px_err
call(struct rcall *x, size_t nkeys, struct px_redis_reply **out)
{
	size_t i;
	enum px_err e;

	*out = NULL;
	if (x->oom ||
	    grow((void **)&x->argv, &x->acap, x->n, sizeof(char *)) != 0)
		return PX_ENOMEM;
	for (i = 0; i < x->n; i++)
		x->argv[i] = x->arena + x->off[i];
	e = px_redis_eval(x->conn, nkeys, x->n, x->argv, x->len,
	    out);
	if (e != PX_OK && !x->down)
		px_log(PX_LOG_ERROR, "ledger: %s; requests fail closed (503) "
		    "until Redis answers", px_redis_error(x->conn));
	else if (e == PX_OK && x->down)
		px_log(PX_LOG_INFO, "ledger: Redis answers again");
	x->down = e != PX_OK;
	return e;
}

/* --- reserve ------------------------------------------------------------------- */

/* prefix + <kind>/<scope> */
static void
arg_scoperec(struct rcall *x, const struct px_config *cfg, char kind,
    const char *scope)
{
	char b[256];
	size_t n = strlen(cfg->redis_prefix);

	if (n > 64)
		n = 64;
	memcpy(b, cfg->redis_prefix, n);
	px_ledger_scopename(b + n, sizeof(b) - n, kind, scope);
	arg_str(x, b);
}

/* KEYS m, d, l of a scope. */
static void
arg_scope_keys(struct rcall *x, const struct px_config *cfg,
    const struct px_scope *sc)
{
	arg_scoperec(x, cfg, 'm', sc->name);
	arg_scoperec(x, cfg, 'd', sc->name);
	arg_scoperec(x, cfg, 'l', sc->name);
}

/* ARGV kind, rpm, rpd, tpm, conc, day of a scope (ledger.lua scope_spec). */
static void
arg_scope_spec(struct rcall *x, const struct px_scope *sc)
{
	arg_int(x, (long long)sc->kind);
	arg_int(x, (long long)sc->rpm);
	arg_int(x, (long long)sc->rpd);
	arg_int(x, (long long)sc->tpm);
	arg_int(x, (long long)sc->conc);
	arg_int(x, (long long)sc->day);
}

/* The calendar days around now, UTC then Pacific (px_day_starts). */
static void
arg_day_starts(struct rcall *x, int64_t now)
{
	int64_t st[4];
	int d, i;

	for (d = PX_DAYRULE_UTC; d <= PX_DAYRULE_PACIFIC; d++) {
		px_day_starts((enum px_dayrule)d, now, st);
		for (i = 0; i < 4; i++)
			arg_int(x, st[i]);
	}
}

/* KEYS of a reservation (ledger.lua "reserve"). */
static void
reserve_keys(struct rcall *x, struct px_ledger_scratch *s,
    const struct px_resv *r, const struct px_scope *client)
{
	const struct px_config *cfg = s->cfg;
	size_t ci, i, j, n, ns;

	if (client != NULL) {
		arg_scope_keys(x, cfg, client);
		arg_scoperec(x, cfg, 't', client->name);
	}
	for (ci = 0; ci < r->nc; ci++) {
		enum px_provider_id p = r->c[ci].provider;

		arg_rec(x, cfg, 'p', p, NULL);
		arg_rec(x, cfg, 'r', p, NULL);
		n = px_ledger_keys_of(cfg, p, s->refs, s->cap);
		for (i = 0; i < n; i++) {
			arg_rec(x, cfg, 'h', p, s->refs[i].key->id);
			arg_rec(x, cfg, 'e', p, s->refs[i].key->id);
			ns = px_scopes_of(&s->refs[i], r->c[ci].model, s->sc);
			for (j = 0; j < ns; j++)
				arg_scope_keys(x, cfg, &s->sc[j]);
		}
	}
}

/* ARGV of a reservation. */
static void
reserve_argv(struct rcall *x, struct px_ledger_scratch *s,
    const struct px_resv *r, const struct px_scope *client)
{
	const struct px_config *cfg = s->cfg;
	size_t ci, i, j, n, ns;
	char gap[32];

	arg_str(x, "reserve");
	arg_now(x, r->now);
	arg_int(x, r->tokens);
	snprintf(gap, sizeof(gap), "%.17g", cfg->model_usage_gap_percentage);
	arg_str(x, gap);
	arg_int(x, PX_PROBE_LEASE_MS);
	arg_int(x, (long long)r->lease_id);
	arg_int(x, s->cfg->lease_ttl_s * 1000);
	arg_int(x, PX_CONC_RETRY_MS);
	arg_day_starts(x, r->now);
	/* 2: a retry whose client request is booked (ledger_int.h) */
	arg_int(x, client == NULL ? 0 : client->carried ? 2 : 1);
	if (client != NULL)
		arg_scope_spec(x, client);
	arg_int(x, (long long)r->nc);
	for (ci = 0; ci < r->nc; ci++) {
		n = px_ledger_keys_of(cfg, r->c[ci].provider, s->refs, s->cap);
		arg_str(x, r->c[ci].model);
		arg_int(x, (long long)n);
		for (i = 0; i < n; i++) {
			ns = px_scopes_of(&s->refs[i], r->c[ci].model, s->sc);
			arg_int(x, px_pol_excluded(r, s->refs[i].key));
			arg_int(x, s->refs[i].group->max_request_day);
			arg_int(x, (long long)ns);
			for (j = 0; j < ns; j++)
				arg_scope_spec(x, &s->sc[j]);
		}
	}
}

static enum px_err
reserve_reply(struct px_ledger_scratch *s, struct px_resv *r,
    const struct px_redis_reply *rr)
{
	long long v[7] = { 0, 0, 0, 0, 0, 0, 0 };
	size_t i, n = px_rr_len(rr), nk;

	for (i = 0; i < n && i < 7; i++)
		if (px_rr_int(rr, i, &v[i]) != 0)
			return PX_ESTORE;
	if (n == 5 && v[0] == 1 && v[1] >= 0 && (size_t)v[1] < r->nc) {
		nk = px_ledger_keys_of(s->cfg, r->c[v[1]].provider, s->refs,
		    s->cap);
		if (v[2] < 0 || (size_t)v[2] >= nk)
			return PX_ESTORE;
		r->now = v[3];	/* the lease is on the server's clock */
		px_pol_lease(s, r, (size_t)v[1], (size_t)v[2]);
		if (v[4] == 0)
			r->lease->id = 0;	/* no capped scope: no renewal */
		return PX_OK;
	}
	if (n != 7 || v[0] != 0 || v[6] < 0 || v[6] >= PX_LIMIT__MAX)
		return PX_ESTORE;
	r->earliest = v[1] < 0 ? INT64_MAX : v[1];
	r->fits = v[2] != 0;
	r->nkeys = (size_t)v[3];
	r->nent = (size_t)v[4];
	r->now = v[5];
	r->limit = (enum px_limit)v[6];
	return PX_ERATE;
}

static enum px_err
redis_reserve(struct px_ledger *lg, struct px_ledger_scratch *s,
    struct px_resv *r)
{
	struct rcall *x = rcall_of(lg, s);
	struct px_scope *client = &s->sc[PX_SCOPES_MAX];
	struct px_redis_reply *rr;
	size_t nkeys;
	enum px_err e;

	if (x == NULL)
		return PX_ENOMEM;
	if (!px_scope_client(r->ask->client, client))
		client = NULL;
	else
		client->carried = r->carried;
	start(x);
	reserve_keys(x, s, r, client);
	nkeys = x->n;
	reserve_argv(x, s, r, client);
	e = call(x, nkeys, &rr);
	if (e == PX_OK)
		e = reserve_reply(s, r, rr);
	px_rr_free(rr);
	return e;
}

/* --- settle ---------------------------------------------------------------------- */

static const char *
fault_arg(const struct px_verdict *v)
{
	switch (v != NULL ? v->fault : PX_FAULT_NONE) {
	case PX_FAULT_NONE:
		return "none";
	case PX_FAULT_RATE:
		return "rate";
	case PX_FAULT_AUTH:
		return "auth";
	case PX_FAULT_ENTITLEMENT:
		return "ent";
	default:
		return "other";
	}
}

/* The lease's scopes into s->sc (the client's last); how many. */
static size_t
lease_scopes(struct px_ledger_scratch *s, const struct px_lease *l)
{
	struct px_keyref k = { l->group, l->key };
	size_t n = px_scopes_of(&k, l->model, s->sc);

	return n + (size_t)px_scope_client(l->client, &s->sc[n]);
}

/* KEYS of a settlement; *ki gets the key's index among its provider's. */
static void
settle_keys(struct rcall *x, struct px_ledger *lg,
    struct px_ledger_scratch *s, const struct px_settle_req *q,
    size_t ns, int pardon)
{
	const struct px_lease *l = q->lease;
	size_t i, n;

	arg_rec(x, lg->cfg, 'h', l->provider, l->key->id);
	arg_rec(x, lg->cfg, 'e', l->provider, l->key->id);
	arg_rec(x, lg->cfg, 'p', l->provider, NULL);
	for (i = 0; i < ns; i++)
		arg_scope_keys(x, lg->cfg, &s->sc[i]);
	if (l->client != NULL)
		arg_scoperec(x, lg->cfg, 't', s->sc[ns - 1].name);
	if (!pardon)
		return;
	n = px_ledger_keys_of(lg->cfg, l->provider, s->refs, s->cap);
	for (i = 0; i < n; i++)
		arg_rec(x, lg->cfg, 'h', l->provider, s->refs[i].key->id);
}

static void
settle_argv(struct rcall *x, struct px_ledger *lg,
    struct px_ledger_scratch *s, const struct px_settle_req *q, size_t ns)
{
	const struct px_lease *l = q->lease;
	const struct px_verdict *v = q->v;
	size_t i, n = px_ledger_keys_of(lg->cfg, l->provider, s->refs, s->cap);
	size_t ki = 0;

	for (i = 0; i < n; i++)
		if (s->refs[i].key == l->key)
			ki = i;
	arg_str(x, "settle");
	arg_now(x, q->now);
	arg_int(x, (long long)q->how);
	arg_int(x, q->how == PX_SETTLE_DONE && q->tokens >= 0 ? q->tokens :
	    -1);
	arg_int(x, l->t_ms);
	arg_int(x, l->tokens);
	arg_int(x, (long long)l->id);
	arg_str(x, fault_arg(v));
	arg_int(x, v != NULL ? v->until_ms : 0);
	arg_int(x, v != NULL && v->daily);
	arg_str(x, v != NULL && v->reason != NULL ? v->reason : "");
	arg_str(x, l->model);
	arg_int(x, (long long)ki);
	arg_int(x, (long long)n);
	arg_int(x, lg->cfg->key_reprobe_s * 1000);
	arg_int(x, PX_CORRELATE_MS);
	for (i = 0; i < PX_ESCALATE_N; i++)
		arg_int(x, px_escalate_ms[i]);
	arg_day_starts(x, q->now);
	arg_int(x, (long long)ns);
	for (i = 0; i < ns; i++)
		arg_scope_spec(x, &s->sc[i]);
	arg_int(x, l->client == NULL ? 0 : q->carried ? 2 : 1);
}

static enum px_err
redis_settle(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_settle_req *q)
{
	struct rcall *x = rcall_of(lg, s);
	const struct px_verdict *v = q->v;
	int pardon = v != NULL && v->fault == PX_FAULT_RATE && !v->daily;
	struct px_redis_reply *rr;
	size_t ns, nkeys;
	enum px_err e;

	if (x == NULL)
		return PX_ENOMEM;
	ns = lease_scopes(s, q->lease);
	start(x);
	settle_keys(x, lg, s, q, ns, pardon);
	nkeys = x->n;
	settle_argv(x, lg, s, q, ns);
	e = call(x, nkeys, &rr);
	px_rr_free(rr);
	return e;
}

/* --- renew ------------------------------------------------------------------------- */

static enum px_err
redis_renew(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_lease *l, int64_t now)
{
	struct rcall *x = rcall_of(lg, s);
	struct px_redis_reply *rr;
	size_t i, ns, nkeys;
	enum px_err e;

	if (x == NULL)
		return PX_ENOMEM;
	ns = lease_scopes(s, l);
	start(x);
	for (i = 0; i < ns; i++)
		if (s->sc[i].conc > 0)
			arg_scoperec(x, lg->cfg, 'l', s->sc[i].name);
	nkeys = x->n;
	if (nkeys == 0)
		return PX_OK;
	arg_str(x, "renew");
	arg_now(x, now);
	arg_int(x, (long long)l->id);
	arg_int(x, s->cfg->lease_ttl_s * 1000);
	e = call(x, nkeys, &rr);
	px_rr_free(rr);
	return e;
}

/* --- the operator's acts and the counters ----------------------------------------- */

static void
arg_named(struct rcall *x, const struct px_config *cfg, const char *name)
{
	char b[256];

	snprintf(b, sizeof(b), "%.64s%s", cfg->redis_prefix, name);
	arg_str(x, b);
}

static enum px_err
redis_admin(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_admin_plan *a)
{
	struct rcall *x = rcall_of(lg, s);
	struct px_redis_reply *rr;
	char why[PX_REASON_MAX];
	size_t i;
	enum px_err e;

	if (x == NULL)
		return PX_ENOMEM;
	start(x);
	for (i = 0; i < a->nhealth; i++)
		arg_named(x, lg->cfg, a->health[i]);
	for (i = 0; i < a->ndel; i++)
		arg_named(x, lg->cfg, a->del[i]);
	arg_str(x, "admin");
	arg_now(x, a->now);
	arg_int(x, (long long)a->op);
	px_pol_admin_reason(a->reason, why);
	arg_str(x, why);
	arg_int(x, (long long)a->nhealth);
	e = call(x, a->nhealth + a->ndel, &rr);
	px_rr_free(rr);
	return e;
}

/* The prefix as a SCAN pattern: glob characters escaped, then h/ and a
 * star. */
static void
health_pattern(const char *prefix, char *out, size_t cap)
{
	size_t n = 0;

	for (; *prefix != '\0' && n + 6 < cap; prefix++) {
		if (strchr("*?[]\\", *prefix) != NULL)
			out[n++] = '\\';
		out[n++] = *prefix;
	}
	snprintf(out + n, cap - n, "h/*");
}

static enum px_err
redis_health_all(struct px_ledger *lg, struct px_ledger_scratch *s,
    void (*fn)(void *ctx, const char *name, size_t nlen, const void *v,
    size_t len), void *ctx)
{
	struct rcall *x = rcall_of(lg, s);
	struct px_redis_reply *rr;
	size_t plen = strlen(lg->cfg->redis_prefix), i, n, kl, vl;
	char pat[200];
	enum px_err e;

	if (x == NULL)
		return PX_ENOMEM;
	health_pattern(lg->cfg->redis_prefix, pat, sizeof(pat));
	start(x);
	arg_str(x, "health_all");
	arg_str(x, pat);
	arg_int(x, PX_RETIRED_MAX);
	e = call(x, 0, &rr);
	n = e == PX_OK ? px_rr_len(rr) : 0;
	for (i = 0; i + 1 < n; i += 2) {
		const char *k = px_rr_str(rr, i, &kl);
		const char *v = px_rr_str(rr, i + 1, &vl);

		if (k != NULL && v != NULL && kl > plen)
			fn(ctx, k + plen, kl - plen, v, vl);
	}
	px_rr_free(rr);
	return e;
}

static enum px_err
redis_stats_add(struct px_ledger *lg, struct px_ledger_scratch *s,
    const uint64_t *delta)
{
	struct rcall *x = rcall_of(lg, s);
	struct px_redis_reply *rr;
	size_t i;
	enum px_err e;

	if (x == NULL)
		return PX_ENOMEM;
	start(x);
	arg_named(x, lg->cfg, PX_STATS_REC);
	arg_str(x, "stats_add");
	for (i = 0; i < PX_ST_N; i++) {
		if (delta[i] == 0)
			continue;
		arg_int(x, (long long)i);
		arg_int(x, (long long)(delta[i] & INT64_MAX));
	}
	e = call(x, 1, &rr);
	px_rr_free(rr);
	return e;
}

/* Element i of the reply as a decimal number; -1 if it is not one. */
static int
rr_u64(const struct px_redis_reply *rr, size_t i, unsigned long long *v)
{
	char b[24], *end;
	size_t len;
	const char *p = px_rr_str(rr, i, &len);

	if (p == NULL || len == 0 || len >= sizeof(b))
		return -1;
	memcpy(b, p, len);
	b[len] = '\0';
	*v = strtoull(b, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* The hash's index/value pairs into out (unknown indexes ignored). */
static enum px_err
redis_stats_read(struct px_ledger *lg, struct px_ledger_scratch *s,
    uint64_t *out)
{
	struct rcall *x = rcall_of(lg, s);
	struct px_redis_reply *rr;
	unsigned long long k, v;
	size_t i, n;
	enum px_err e;

	if (x == NULL)
		return PX_ENOMEM;
	start(x);
	arg_named(x, lg->cfg, PX_STATS_REC);
	arg_str(x, "stats_read");
	e = call(x, 1, &rr);
	memset(out, 0, sizeof(uint64_t) * PX_ST_N);
	n = e == PX_OK ? px_rr_len(rr) : 0;
	for (i = 0; i + 1 < n; i += 2)
		if (rr_u64(rr, i, &k) == 0 && k < PX_ST_N &&
		    rr_u64(rr, i + 1, &v) == 0)
			out[k] = v;
	px_rr_free(rr);
	return e;
}

/* --- snapshot --------------------------------------------------------------------- */

static const char *
rec_at(const struct px_redis_reply *rr, size_t i, size_t *len)
{
	const char *p = px_rr_str(rr, i, len);

	return p != NULL ? p : "";
}

/* A scope's m, d, l from the reply (at, at + 1, at + 2) into s->rec-> */
static void
read_scope(struct px_ledger_scratch *s, const struct px_scope *sc,
    const struct px_redis_reply *rr, size_t at)
{
	const char *v;
	size_t len;

	v = rec_at(rr, at, &len);
	(void)px_win_decode(&s->rec->wm, &px_win_minute, v, len);
	v = rec_at(rr, at + 1, &len);
	if (sc->day == PX_DAYRULE_ROLLING)
		(void)px_win_decode(&s->rec->wd, &px_win_day, v, len);
	else
		(void)px_calrec_decode(&s->rec->cal, v, len);
	/* leases count only on a capped scope (as on LMDB): one left from
	 * a config that capped it is not in flight under this one */
	s->rec->lz.n = 0;
	v = rec_at(rr, at + 2, &len);
	if (sc->conc > 0)
		(void)px_leases_decode(&s->rec->lz, v, len);
}

/* Decode the reply: per provider p/<p>, then per key its scope's m, d, l
 * and its h, e; then m, d, l of each planned scope (and t of a client). */
static void
snapshot_read(struct px_ledger_scratch *s, const struct px_redis_reply *rr,
    int64_t now)
{
	struct px_provrec pr;
	struct px_entrec e;
	struct px_totals t;
	size_t i, n, at = 1, slot = 0, len;
	const char *v;
	int p;

	for (p = 0; p < PX_PROV__MAX; p++) {
		n = px_ledger_keys_of(s->cfg, (enum px_provider_id)p, s->refs,
		    s->cap);
		v = rec_at(rr, at++, &len);
		(void)px_provrec_decode(&pr, v, len);
		s->snap.prov[p].backoff_until_ms = pr.backoff_until_ms > now ?
		    pr.backoff_until_ms : 0;
		for (i = 0; i < n; i++, slot++, at += 5) {
			px_scope_key(&s->refs[i], &s->sc[0]);
			read_scope(s, &s->sc[0], rr, at);
			v = rec_at(rr, at + 3, &len);
			(void)px_health_decode(&s->h, v, len);
			v = rec_at(rr, at + 4, &len);
			(void)px_entrec_decode(&e, v, len);
			px_pol_snap_key(s, slot, &s->refs[i], &e, now);
		}
	}
	s->snap.nkeys = slot;
	for (i = 0; i < s->snap.nscopes; i++, at += 3) {
		int client = s->snap_sc[i].kind == PX_SCOPE_CLIENT;

		read_scope(s, &s->snap_sc[i], rr, at);
		if (client) {
			v = rec_at(rr, at + 3, &len);
			(void)px_totals_decode(&t, v, len);
			at++;
		}
		px_pol_snap_scope(s, i, client ? &t : NULL, now);
	}
}

static enum px_err
redis_snapshot(struct px_ledger *lg, struct px_ledger_scratch *s,
    int64_t now)
{
	struct rcall *x = rcall_of(lg, s);
	struct px_redis_reply *rr;
	size_t i, n, nkeys;
	long long t;
	enum px_err e;
	int p;

	if (x == NULL)
		return PX_ENOMEM;
	start(x);
	for (p = 0; p < PX_PROV__MAX; p++) {
		n = px_ledger_keys_of(lg->cfg, (enum px_provider_id)p, s->refs,
		    s->cap);
		arg_rec(x, lg->cfg, 'p', (enum px_provider_id)p, NULL);
		for (i = 0; i < n; i++) {
			px_scope_key(&s->refs[i], &s->sc[0]);
			arg_scope_keys(x, lg->cfg, &s->sc[0]);
			arg_rec(x, lg->cfg, 'h', (enum px_provider_id)p,
			    s->refs[i].key->id);
			arg_rec(x, lg->cfg, 'e', (enum px_provider_id)p,
			    s->refs[i].key->id);
		}
	}
	for (i = 0; i < s->snap.nscopes; i++) {
		arg_scope_keys(x, lg->cfg, &s->snap_sc[i]);
		if (s->snap_sc[i].kind == PX_SCOPE_CLIENT)
			arg_scoperec(x, lg->cfg, 't', s->snap_sc[i].name);
	}
	nkeys = x->n;
	arg_str(x, "snapshot");
	arg_now(x, now);
	e = call(x, nkeys, &rr);
	if (e == PX_OK && (px_rr_len(rr) != nkeys + 1 ||
	    px_rr_int(rr, 0, &t) != 0))
		e = PX_ESTORE;
	if (e == PX_OK) {
		s->snap.now_ms = t;
		snapshot_read(s, rr, t);
	}
	px_rr_free(rr);
	return e;
}

/* --- setup --------------------------------------------------------------------------- */

static enum px_err
redis_open(struct px_ledger *lg, char *detail, size_t cap)
{
	const char *v = getenv("AIPROXY_TEST_LEDGER_CALLER_CLOCK");

	(void)lg;
	(void)detail;
	(void)cap;
	/* read before any thread starts; connections are made per thread,
	 * on first use, so a Redis that is down at start is no error */
	caller_clock = v != NULL && strcmp(v, "1") == 0;
	return PX_OK;
}

static void
redis_close(struct px_ledger *lg)
{
	(void)lg;
}

const struct px_ledger_ops px_ledger_redis_ops = {
	.name = "redis",
	.open = redis_open,
	.close = redis_close,
	.reserve = redis_reserve,
	.settle = redis_settle,
	.renew = redis_renew,
	.snapshot = redis_snapshot,
	.admin = redis_admin,
	.health_all = redis_health_all,
	.stats_add = redis_stats_add,
	.stats_read = redis_stats_read,
};
