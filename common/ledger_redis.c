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
	char b[160];
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

static int
excluded(const struct px_resv *r, const struct px_key_cfg *k)
{
	size_t i;

	for (i = 0; i < r->nexclude; i++)
		if (r->exclude[i] == k)
			return 1;
	return 0;
}

/* KEYS then ARGV of a reservation (ledger.lua "reserve"); the KEYS
 * count. Keys are listed by one pass and limits by a second. */
static size_t
reserve_args(struct rcall *x, struct px_ledger_scratch *s,
    const struct px_resv *r)
{
	static const char kinds[4] = { 'm', 'd', 'h', 'e' };
	const struct px_config *cfg = s->cfg;
	size_t ci, i, n, k, nkeys;
	char gap[32];

	for (ci = 0; ci < r->nc; ci++) {
		enum px_provider_id p = r->c[ci].provider;

		arg_rec(x, cfg, 'p', p, NULL);
		arg_rec(x, cfg, 'r', p, NULL);
		n = px_ledger_keys_of(cfg, p, s->refs, s->cap);
		for (i = 0; i < n; i++)
			for (k = 0; k < 4; k++)
				arg_rec(x, cfg, kinds[k], p, s->refs[i].key->id);
	}
	nkeys = x->n;
	arg_str(x, "reserve");
	arg_now(x, r->now);
	arg_int(x, r->tokens);
	snprintf(gap, sizeof(gap), "%.17g", cfg->model_usage_gap_percentage);
	arg_str(x, gap);
	arg_int(x, PX_PROBE_LEASE_MS);
	arg_int(x, (long long)r->nc);
	for (ci = 0; ci < r->nc; ci++) {
		n = px_ledger_keys_of(cfg, r->c[ci].provider, s->refs, s->cap);
		arg_str(x, r->c[ci].model);
		arg_int(x, (long long)n);
		for (i = 0; i < n; i++) {
			arg_int(x, s->refs[i].group->max_request_min);
			arg_int(x, s->refs[i].group->max_request_day);
			arg_int(x, s->refs[i].group->max_token_min);
			arg_int(x, excluded(r, s->refs[i].key));
		}
	}
	return nkeys;
}

static enum px_err
reserve_reply(struct px_ledger_scratch *s, struct px_resv *r,
    const struct px_redis_reply *rr)
{
	long long v[6] = { 0, 0, 0, 0, 0, 0 };
	size_t i, n = px_rr_len(rr);

	for (i = 0; i < n && i < 6; i++)
		if (px_rr_int(rr, i, &v[i]) != 0)
			return PX_ESTORE;
	if (n == 4 && v[0] == 1 && v[1] >= 0 && (size_t)v[1] < r->nc) {
		size_t nk = px_ledger_keys_of(s->cfg, r->c[v[1]].provider,
		    s->refs, s->cap);

		if (v[2] < 0 || (size_t)v[2] >= nk)
			return PX_ESTORE;
		r->now = v[3];	/* the lease is on the server's clock */
		px_pol_lease(s, r, (size_t)v[1], (size_t)v[2]);
		return PX_OK;
	}
	if (n != 6 || v[0] != 0)
		return PX_ESTORE;
	r->earliest = v[1] < 0 ? INT64_MAX : v[1];
	r->fits = v[2] != 0;
	r->nkeys = (size_t)v[3];
	r->nent = (size_t)v[4];
	r->now = v[5];
	return PX_ERATE;
}

static enum px_err
redis_reserve(struct px_ledger *lg, struct px_ledger_scratch *s,
    struct px_resv *r)
{
	struct rcall *x = rcall_of(lg, s);
	struct px_redis_reply *rr;
	size_t nkeys;
	enum px_err e;

	if (x == NULL)
		return PX_ENOMEM;
	start(x);
	nkeys = reserve_args(x, s, r);
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

static enum px_err
redis_settle(struct px_ledger *lg, struct px_ledger_scratch *s,
    const struct px_settle_req *q)
{
	struct rcall *x = rcall_of(lg, s);
	const struct px_lease *l = q->lease;
	const struct px_verdict *v = q->v;
	int pardon = v != NULL && v->fault == PX_FAULT_RATE && !v->daily;
	size_t i, n, ki = 0, nkeys;
	struct px_redis_reply *rr;
	enum px_err e;

	if (x == NULL)
		return PX_ENOMEM;
	start(x);
	n = px_ledger_keys_of(lg->cfg, l->provider, s->refs, s->cap);
	arg_rec(x, lg->cfg, 'm', l->provider, l->key->id);
	arg_rec(x, lg->cfg, 'd', l->provider, l->key->id);
	arg_rec(x, lg->cfg, 'h', l->provider, l->key->id);
	arg_rec(x, lg->cfg, 'e', l->provider, l->key->id);
	arg_rec(x, lg->cfg, 'p', l->provider, NULL);
	for (i = 0; i < n; i++) {
		if (s->refs[i].key == l->key)
			ki = i;
		if (pardon)
			arg_rec(x, lg->cfg, 'h', l->provider,
			    s->refs[i].key->id);
	}
	nkeys = x->n;
	arg_str(x, "settle");
	arg_now(x, q->now);
	arg_int(x, (long long)q->how);
	arg_int(x, q->how == PX_SETTLE_DONE && q->tokens >= 0 ? q->tokens :
	    -1);
	arg_int(x, l->t_ms);
	arg_int(x, l->tokens);
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
	e = call(x, nkeys, &rr);
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

/* Decode the reply: per provider p/<p>, then m, d, h, e per key. */
static void
snapshot_read(struct px_ledger_scratch *s, const struct px_redis_reply *rr,
    int64_t now)
{
	struct px_provrec pr;
	struct px_entrec e;
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
		for (i = 0; i < n; i++, slot++) {
			v = rec_at(rr, at++, &len);
			(void)px_win_decode(&s->wm, &px_win_minute, v, len);
			v = rec_at(rr, at++, &len);
			(void)px_win_decode(&s->wd, &px_win_day, v, len);
			v = rec_at(rr, at++, &len);
			(void)px_health_decode(&s->h, v, len);
			v = rec_at(rr, at++, &len);
			(void)px_entrec_decode(&e, v, len);
			px_pol_snap_key(s, slot, &s->refs[i], &e, now);
		}
	}
	s->snap.nkeys = slot;
}

static enum px_err
redis_snapshot(struct px_ledger *lg, struct px_ledger_scratch *s,
    int64_t now)
{
	static const char kinds[4] = { 'm', 'd', 'h', 'e' };
	struct rcall *x = rcall_of(lg, s);
	struct px_redis_reply *rr;
	size_t i, n, k, nkeys;
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
		for (i = 0; i < n; i++)
			for (k = 0; k < 4; k++)
				arg_rec(x, lg->cfg, kinds[k],
				    (enum px_provider_id)p, s->refs[i].key->id);
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
	.snapshot = redis_snapshot,
};
