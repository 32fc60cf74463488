/*
 * ledger_scope.c -- the scopes a request draws on and their arithmetic
 * (ledger_int.h): a key, a (key, model_limits entry) pair, the key's
 * owner, an (owner, model_limits entry) pair, the client key. Each has a
 * minute window (requests, tokens), a day (rolling 24 h or a calendar
 * day) and, with max_concurrent, the leases of its requests in flight.
 * Owns: building a key's scope list from the config; whether a scope has
 * room and from when; what taking, settling and renewing do to its
 * decoded records.
 * Never: I/O or clocks (the backends load and store the records; time is
 * passed in). ledger.lua restates every step here for Redis.
 */
#include "ledger_int.h"

#include <stdio.h>
#include <string.h>

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static uint64_t
lim(long v)
{
	return v > 0 ? (uint64_t)v : 0;
}

/* The day rule of a day_reset setting, for a provider's calendar. */
static enum px_dayrule
dayrule(enum px_day_reset d, enum px_provider_id p)
{
	switch (d) {
	case PX_DAY_UTC:
		return PX_DAYRULE_UTC;
	case PX_DAY_PROVIDER:
		return p == PX_PROV_GEMINI ? PX_DAYRULE_PACIFIC :
		    PX_DAYRULE_UTC;
	default:
		return PX_DAYRULE_ROLLING;
	}
}

static void
set_limits(struct px_scope *sc, const struct px_limits *l)
{
	sc->rpm = lim(l->max_request_min);
	sc->rpd = lim(l->max_request_day);
	sc->tpm = lim(l->max_token_min);
	sc->conc = lim(l->max_concurrent);
}

void
px_scope_key(const struct px_keyref *k, struct px_scope *out)
{
	const struct px_provider_cfg *g = k->group;

	memset(out, 0, sizeof(*out));
	out->kind = PX_SCOPE_KEY;
	snprintf(out->name, PX_SCOPE_NAME, "k/%s/%s",
	    px_provider_name(g->provider), k->key->id);
	out->rpm = lim(g->max_request_min);
	out->rpd = lim(g->max_request_day);
	out->tpm = lim(g->max_token_min);
	out->conc = lim(g->max_concurrent);
	out->day = dayrule(g->day_reset, g->provider);
}

void
px_scope_key_model(const struct px_keyref *k, const struct px_model_limit *ml,
    struct px_scope *out)
{
	const struct px_provider_cfg *g = k->group;

	memset(out, 0, sizeof(*out));
	out->kind = PX_SCOPE_KEY_MODEL;
	snprintf(out->name, PX_SCOPE_NAME, "km/%s/%s/%s",
	    px_provider_name(g->provider), k->key->id, ml->id);
	set_limits(out, &ml->lim);
	out->conc = 0;
	out->day = dayrule(g->day_reset, g->provider);
}

void
px_scope_owner(const struct px_owner_cfg *o, struct px_scope *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = PX_SCOPE_OWNER;
	snprintf(out->name, PX_SCOPE_NAME, "o/%s", o->name);
	set_limits(out, &o->lim);
	out->day = dayrule(o->day_reset, o->provider);
}

void
px_scope_owner_model(const struct px_owner_cfg *o,
    const struct px_model_limit *ml, struct px_scope *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = PX_SCOPE_OWNER_MODEL;
	snprintf(out->name, PX_SCOPE_NAME, "om/%s/%s", o->name, ml->id);
	set_limits(out, &ml->lim);
	out->conc = 0;
	out->day = dayrule(o->day_reset, o->provider);
}

size_t
px_scopes_of(const struct px_keyref *k, const char *model,
    struct px_scope out[PX_SCOPES_MAX])
{
	const struct px_provider_cfg *g = k->group;
	const struct px_owner_cfg *o = g->owner;
	const struct px_model_limit *ml;
	size_t n = 1;

	px_scope_key(k, &out[0]);
	ml = px_model_limit_find(g->model_limits, g->nmodel_limits, model);
	if (ml != NULL)
		px_scope_key_model(k, ml, &out[n++]);
	if (o == NULL)
		return n;
	px_scope_owner(o, &out[n++]);
	ml = px_model_limit_find(o->model_limits, o->nmodel_limits, model);
	if (ml != NULL)
		px_scope_owner_model(o, ml, &out[n++]);
	return n;
}

int
px_scope_client(const struct px_client_cfg *c, struct px_scope *out)
{
	if (c == NULL)
		return 0;
	memset(out, 0, sizeof(*out));
	out->kind = PX_SCOPE_CLIENT;
	snprintf(out->name, PX_SCOPE_NAME, "c/%s", c->name);
	set_limits(out, &c->lim);
	out->day = dayrule(c->day_reset, PX_PROV_OPENROUTER);
	return 1;
}

void
px_day_starts(enum px_dayrule d, int64_t now, int64_t starts[4])
{
	enum px_tz tz = d == PX_DAYRULE_PACIFIC ? PX_TZ_PACIFIC : PX_TZ_UTC;

	starts[1] = px_day_start(tz, now);
	starts[0] = px_day_start(tz, starts[1] - 1);
	starts[2] = px_day_next(tz, now);
	starts[3] = px_day_next(tz, starts[2]);
}

/* --- the day -------------------------------------------------------------- */

static enum px_tz
tz_of(enum px_dayrule d)
{
	return d == PX_DAYRULE_PACIFIC ? PX_TZ_PACIFIC : PX_TZ_UTC;
}

/* Requests in the scope's day at now. A calendar count from a later day
 * (a clock that went back) still counts: the safe side. */
static uint64_t
day_count(const struct px_scope *sc, const struct px_scope_recs *r,
    int64_t now)
{
	if (sc->day == PX_DAYRULE_ROLLING)
		return px_win_sum_at(&r->wd, &px_win_day, now, PX_WIN_REQ);
	return r->cal.day_start >= px_day_start(tz_of(sc->day), now) ?
	    r->cal.count : 0;
}

static int64_t
day_free_at(const struct px_scope *sc, const struct px_scope_recs *r,
    int64_t now)
{
	if (sc->day == PX_DAYRULE_ROLLING)
		return px_win_free_at(&r->wd, &px_win_day, now, PX_WIN_REQ, 1,
		    sc->rpd);
	if (day_count(sc, r, now) + 1 <= sc->rpd)
		return now;
	return px_day_next(tz_of(sc->day), max64(now, r->cal.day_start));
}

/* --- leases --------------------------------------------------------------- */

static uint32_t
live_leases(const struct px_leases *lz, int64_t now)
{
	uint32_t i, n = 0;

	for (i = 0; i < lz->n; i++)
		n += lz->e[i].expires_ms > now;
	return n;
}

/* Expired leases (their responder died) go. */
static void
purge(struct px_leases *lz, int64_t now)
{
	uint32_t i, n = 0;

	for (i = 0; i < lz->n; i++)
		if (lz->e[i].expires_ms > now)
			lz->e[n++] = lz->e[i];
	lz->n = n;
}

static int
drop_lease(struct px_leases *lz, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < lz->n; i++) {
		if (lz->e[i].id != id)
			continue;
		lz->e[i] = lz->e[--lz->n];
		return 1;
	}
	return 0;
}

int
px_scope_renew(struct px_scope_recs *r, uint64_t id, int64_t now,
    int64_t ttl_ms)
{
	uint32_t i;

	for (i = 0; i < r->lz.n; i++) {
		if (r->lz.e[i].id == id) {
			r->lz.e[i].expires_ms = now + ttl_ms;
			return 1;
		}
	}
	return 0;
}

/* A full max_concurrent: a settle may free a slot any moment, so come
 * back after PX_CONC_RETRY_MS, or when the lease that expires first
 * frees one, if that is sooner (exactly full: one expiry is enough). */
static int64_t
conc_free_at(const struct px_leases *lz, uint64_t conc, int64_t now)
{
	int64_t t = now + PX_CONC_RETRY_MS;
	uint32_t i;

	if (live_leases(lz, now) != conc)
		return t;
	for (i = 0; i < lz->n; i++)
		if (lz->e[i].expires_ms > now && lz->e[i].expires_ms < t)
			t = lz->e[i].expires_ms;
	return t;
}

/* --- one scope ----------------------------------------------------------- */

static enum px_limit
rate_limit_of(enum px_scope_kind k)
{
	switch (k) {
	case PX_SCOPE_OWNER:
		return PX_LIMIT_OWNER;
	case PX_SCOPE_KEY_MODEL:
	case PX_SCOPE_OWNER_MODEL:
		return PX_LIMIT_MODEL;
	case PX_SCOPE_CLIENT:
		return PX_LIMIT_CLIENT;
	default:
		return PX_LIMIT_KEY;
	}
}

void
px_scope_eval(const struct px_scope *sc, const struct px_scope_recs *r,
    uint32_t tokens, int64_t now, struct px_scope_eval *ev)
{
	const struct px_win *wm = &r->wm;
	int64_t t = now, tc = now;

	memset(ev, 0, sizeof(*ev));
	ev->ok = ev->fits = 1;
	ev->req_day = day_count(sc, r, now);
	if (sc->rpm > 0 && !sc->carried) {
		t = max64(t, px_win_free_at(wm, &px_win_minute, now, PX_WIN_REQ,
		    1, sc->rpm));
	}
	if (sc->rpd > 0 && !sc->carried)
		t = max64(t, day_free_at(sc, r, now));
	if (sc->tpm > 0) {
		ev->fits = tokens <= sc->tpm;
		t = max64(t, px_win_free_at(wm, &px_win_minute, now, PX_WIN_TOK,
		    tokens, sc->tpm));
	}
	if (sc->conc > 0 && live_leases(&r->lz, now) >= sc->conc)
		tc = conc_free_at(&r->lz, sc->conc, now);
	ev->ok = t <= now && tc <= now;
	ev->free_at = max64(t, tc);
	ev->limit = tc > t ? PX_LIMIT_CONCURRENCY : rate_limit_of(sc->kind);
}

void
px_scope_take(const struct px_scope *sc, struct px_scope_recs *r,
    uint32_t tokens, uint64_t lease_id, int64_t now, int64_t ttl_ms)
{
	const uint32_t one[1] = { 1 };
	uint32_t mv[2];
	int64_t start;

	mv[0] = sc->carried ? 0 : 1;	/* a carried request is booked */
	mv[1] = tokens;
	px_win_add(&r->wm, &px_win_minute, now, mv);
	if (sc->carried) {
		/* its day has the request already */
	} else if (sc->day == PX_DAYRULE_ROLLING) {
		px_win_add(&r->wd, &px_win_day, now, one);
	} else {
		start = px_day_start(tz_of(sc->day), now);
		if (r->cal.day_start < start) {
			r->cal.day_start = start;
			r->cal.count = 0;
		}
		r->cal.count++;
	}
	if (sc->conc > 0 && lease_id != 0) {
		purge(&r->lz, now);
		if (r->lz.n < PX_LEASES_MAX) {
			r->lz.e[r->lz.n].id = lease_id;
			r->lz.e[r->lz.n++].expires_ms = now + ttl_ms;
		}
	}
}

/* The estimate replaced by the real count: taken back from the bucket it
 * was booked in, or the excess booked now, later than it happened (errs
 * on the safe side). */
static void
book_tokens(struct px_win *wm, const struct px_lease *l, uint64_t used,
    int64_t now)
{
	uint32_t mv[2] = { 0, 0 };

	if (used < l->tokens) {
		px_win_sub(wm, &px_win_minute, l->t_ms, PX_WIN_TOK,
		    (uint32_t)(l->tokens - used));
	} else if (used > l->tokens) {
		mv[1] = used - l->tokens > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)(used - l->tokens);
		px_win_add(wm, &px_win_minute, now, mv);
	}
}

/* Give the request back to its day. */
static void
unday(const struct px_scope *sc, struct px_scope_recs *r, int64_t at)
{
	if (sc->day == PX_DAYRULE_ROLLING) {
		px_win_sub(&r->wd, &px_win_day, at, PX_WIN_REQ, 1);
		return;
	}
	if (r->cal.day_start == px_day_start(tz_of(sc->day), at) &&
	    r->cal.count > 0)
		r->cal.count--;
}

unsigned
px_scope_book(const struct px_scope *sc, struct px_scope_recs *r,
    const struct px_lease *l, enum px_settle how, long tokens, int64_t now)
{
	unsigned w = 0;

	px_win_advance(&r->wm, &px_win_minute, now);
	if (how == PX_SETTLE_DONE)
		book_tokens(&r->wm, l, tokens >= 0 ? (uint64_t)tokens :
		    l->tokens, now);
	else
		px_win_sub(&r->wm, &px_win_minute, l->t_ms, PX_WIN_TOK,
		    l->tokens);
	if (how == PX_SETTLE_RELEASE_ALL && !sc->carried) {
		px_win_sub(&r->wm, &px_win_minute, l->t_ms, PX_WIN_REQ, 1);
		if (sc->day == PX_DAYRULE_ROLLING)
			px_win_advance(&r->wd, &px_win_day, now);
		unday(sc, r, l->t_ms);
		w |= PX_SCOPE_W_DAY;
	}
	if (sc->conc > 0 && l->id != 0) {
		(void)drop_lease(&r->lz, l->id);
		purge(&r->lz, now);
		w |= PX_SCOPE_W_LEASE;
	}
	return w;
}
