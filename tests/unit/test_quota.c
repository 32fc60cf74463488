/*
 * test_quota.c -- the quota model of issue 13 at the ledger level, every
 * case on LMDB and again on Redis (ledger_fx.h fx_run), on injected time.
 * Covers: an owner's budget shared by the keys that name it (day, minute,
 * tokens) while another owner's keys go on; model_limits on a key and on
 * an owner (exact ids, prefix patterns, the longest entry winning, a model
 * outside them unaffected); max_concurrent per key and per owner (leases,
 * settle frees, expiry after lease_ttl_s, renewal, the lease record's
 * bound); calendar days (utc, provider: Pacific midnight with both DST
 * changes, OpenRouter UTC) beside the rolling day; client keys' own
 * windows, one client request counted once over its attempts (retries
 * excluding the keys tried), and a client refusal's retry; which limit
 * a refusal names (px_ledger_limit, px_limit_code) and its retry; the gap
 * rule among the keys an owner's model limit lets through; auto-model
 * candidates; the snapshot and /v1/usage for the admin and for a client;
 * a seed config behaving exactly as before.
 * Never: sleeps or reads a clock; leaves a state directory behind (each
 * case removes its own, fx_done). Configs are in-memory JSON with ' for ".
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "buf.h"
#include "config.h"
#include "ledger.h"
#include "router.h"
#include "tharness.h"
#include "usage.h"
#include "ledger_fx.h"

/* 2027-01-15T08:00:00Z: aligned to 100 ms and 60 s, and 00:00 in
 * Los Angeles (PST). */
#define T0 INT64_C(1800000000000)
#define MIN_MS INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)
/* A minute-window bucket leaves 60 100 ms after it began, a day-window
 * bucket 24 h + 60 s after (win.h). */
#define MIN_LEAVE INT64_C(60100)
#define DAY_LEAVE INT64_C(86460000)
/* 00:00 UTC of some days of 2027 (days since the epoch x DAY_MS). */
#define UTC_0116 INT64_C(1800057600000)	/* Jan 16 */
#define UTC_0314 INT64_C(1804982400000)	/* Mar 14: DST starts 10:00Z */
#define UTC_0315 INT64_C(1805068800000)
#define UTC_1107 INT64_C(1825545600000)	/* Nov 7: DST ends 09:00Z */
#define UTC_1108 INT64_C(1825632000000)

#define FLASH "gemini-2.5-flash"
#define NPER 8

/* --- helpers -------------------------------------------------------------- */

/* One reservation of one candidate; lease and retry land in f. */
static enum px_err
ask(struct fx *f, const char *model, enum px_provider_id p, uint32_t tokens,
    const struct px_client_cfg *cl, const struct px_key_cfg *const *ex,
    size_t nex, int64_t now)
{
	struct px_candidate c;
	struct px_ask a;

	c.model = model;
	c.provider = p;
	memset(&a, 0, sizeof(a));
	a.c = &c;
	a.nc = 1;
	a.tokens = tokens;
	a.exclude = ex;
	a.nexclude = nex;
	a.client = cl;
	memset(&f->last, 0, sizeof(f->last));
	f->retry = -1;
	return px_ledger_reserve_ask(f->lg, f->s, &a, now, &f->last, &f->retry);
}

static enum px_err
gm(struct fx *f, const char *model, int64_t now)
{
	return ask(f, model, PX_PROV_GEMINI, 1, NULL, NULL, 0, now);
}

static enum px_err
orq(struct fx *f, const struct px_client_cfg *cl, uint32_t tokens,
    int64_t now)
{
	return ask(f, "or/model", PX_PROV_OPENROUTER, tokens, cl, NULL, 0, now);
}

/* Refused with PX_ERATE, naming limit lim, retry exactly want (or any
 * retry >= 1 for want < 0). */
static int
refused(struct fx *f, enum px_err e, enum px_limit lim, int64_t want)
{
	if (e == PX_ERATE && px_ledger_limit(f->s) == lim &&
	    (want < 0 ? f->retry >= 1 : f->retry == want))
		return 1;
	printf("#   got err %d limit %s retry %" PRId64 "; want rate %s "
	    "retry %" PRId64 "\n", (int)e, px_limit_code(px_ledger_limit(f->s)),
	    f->retry, px_limit_code(lim), want);
	return 0;
}

static enum px_err
settle(struct fx *f, const struct px_lease *l, enum px_settle how,
    long tokens, int64_t now)
{
	if (l->key == NULL)	/* its reserve failed: already reported */
		return PX_EINTERNAL;
	return px_ledger_settle(f->lg, f->s, l, how, tokens, 0, now);
}

static const struct px_key_cfg *
kp(const struct fx *f, size_t entry, size_t k)
{
	return &f->cfg->providers[entry].keys[k];
}

static const char *
kid(const struct fx *f, size_t entry, size_t k)
{
	return kp(f, entry, k)->id;
}

/* Index of the lease's key over all keys in config order; -1: none. */
static int
key_ix(const struct fx *f, const struct px_lease *l)
{
	size_t i, j;
	int n = 0;

	for (i = 0; i < f->cfg->nproviders; i++)
		for (j = 0; j < f->cfg->providers[i].nkeys; j++, n++)
			if (l->key == &f->cfg->providers[i].keys[j])
				return n;
	return -1;
}

/* What a burst of reservations got. */
struct tally {
	int ok, rate, other;
	int per[NPER];		/* admitted per key_ix */
	int mixed;		/* refusals named different limits */
	enum px_limit limit;	/* ... the limit of the refusals */
	int64_t retry;		/* retry of the last refusal */
};

/* n reservations of model from now on, step ms apart. */
static void
burst(struct fx *f, const char *model, enum px_provider_id p,
    const struct px_client_cfg *cl, const struct px_key_cfg *const *ex,
    size_t nex, int n, int64_t now, int64_t step, struct tally *t)
{
	enum px_err e;
	int i, k;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < n; i++) {
		e = ask(f, model, p, 1, cl, ex, nex, now + step * i);
		if (e == PX_OK) {
			t->ok++;
			k = key_ix(f, &f->last);
			if (k >= 0 && k < NPER)
				t->per[k]++;
		} else if (e == PX_ERATE) {
			if (t->rate > 0 && px_ledger_limit(f->s) != t->limit)
				t->mixed = 1;
			t->rate++;
			t->limit = px_ledger_limit(f->s);
			t->retry = f->retry;
		} else {
			t->other++;
		}
	}
}

/* ... with PX_LIMIT__MAX: whatever limit the refusals name (keys left
 * out of the reservation count as keys with room: ledger.h). */
static int
tally_is(const struct tally *t, int ok, int rate, enum px_limit lim)
{
	if (t->ok == ok && t->rate == rate && t->other == 0 &&
	    (rate == 0 || lim == PX_LIMIT__MAX ||
	    (!t->mixed && t->limit == lim)))
		return 1;
	printf("#   %d admitted, %d refused (%s%s), %d other; want %d, %d "
	    "(%s)\n", t->ok, t->rate, px_limit_code(t->limit),
	    t->mixed ? ", mixed" : "", t->other, ok, rate, px_limit_code(lim));
	return 0;
}

/* The number at a NULL-terminated path of member names; -1 if absent. */
static double
num_of(const cJSON *j)
{
	return j != NULL && cJSON_IsNumber(j) ? j->valuedouble : -1.0;
}
#define jnum(...) num_of(jget(__VA_ARGS__))
#define jstr(...) str_of(jget(__VA_ARGS__))
#define END (const char *)NULL

static const char *
str_of(const cJSON *j)
{
	return j != NULL && cJSON_IsString(j) ? j->valuestring : "";
}

static int
near(double a, double b)
{
	return a - b < 1e-9 && b - a < 1e-9;
}

/* A key's scope under details.<prov>.keys.<id>, a number in it. */
static double
keynum(const struct fx *f, const cJSON *u, size_t entry, size_t k,
    const char *field)
{
	const char *prov = px_provider_name(f->cfg->providers[entry].provider);

	return jnum(u, "details", prov, "keys", kid(f, entry, k), field, END);
}

/* requests in the day of key (entry, k) at now, from /v1/usage. */
static double
key_req_day(struct fx *f, size_t entry, size_t k, int64_t now)
{
	const char *prov = px_provider_name(f->cfg->providers[entry].provider);
	cJSON *u = fx_usage(f, now);
	double v = jnum(u, "details", prov, "keys", kid(f, entry, k),
	    "rate_limit_windows", "req_day", END);

	cJSON_Delete(u);
	return v;
}

/* owners.<name>.<field> at now. */
static double
owner_num(struct fx *f, const char *name, const char *field, int64_t now)
{
	cJSON *u = fx_usage(f, now);
	double v = jnum(u, "owners", name, field, END);

	cJSON_Delete(u);
	return v;
}

/* A key's number at now, from /v1/usage. */
static double
keynum_at(struct fx *f, size_t entry, size_t k, const char *field,
    int64_t now)
{
	cJSON *u = fx_usage(f, now);
	double v = keynum(f, u, entry, k, field);

	cJSON_Delete(u);
	return v;
}

/* clients.team-a.<field> at now. */
static double
jnum_client(struct fx *f, int64_t now, const char *field)
{
	cJSON *u = fx_usage(f, now);
	double v = jnum(u, "clients", "team-a", field, END);

	cJSON_Delete(u);
	return v;
}

/* Open a case's fixture; on failure a failed check, cleaned up. */
static int
open_case(struct fx *f, const char *cfg, const char *what)
{
	if (fx_new(f, cfg) == 0)
		return 0;
	fx_fail(f, what);
	return -1;
}

/* --- owners --------------------------------------------------------------- */

/* Keys generous enough that only the owner limits. */
#define BIG LIM(1000, 1000000, 1000)

/*
 * Three keys of project pa and two of pb (two gemini entries), each
 * owner 20 requests a day. With pb's keys left out, exactly 20 go
 * through, spread over pa's three keys; pb's keys then take their own 20.
 */
static void
test_owner_day(void)
{
	struct fx f;
	struct tally t;
	const struct px_key_cfg *exb[2];

	if (open_case(&f, "'owners':{'pa':{'max_request_day':20},"
	    "'pb':{'max_request_day':20}}," PROVS(
	    GM("'a1','a2','a3'", BIG ",'owner':'pa'") ","
	    GM("'b1','b2'", BIG ",'owner':'pb'")), "owner day: fixture") != 0)
		return;
	exb[0] = kp(&f, 1, 0);
	exb[1] = kp(&f, 1, 1);
	burst(&f, FLASH, PX_PROV_GEMINI, NULL, exb, 2, 25, T0, 10, &t);
	T_CHECK(tally_is(&t, 20, 5, PX_LIMIT__MAX),
	    "owner day: exactly 20 of 25 on pa's keys");
	T_CHECK(t.per[0] + t.per[1] + t.per[2] == 20 && t.per[0] >= 6 &&
	    t.per[1] >= 6 && t.per[2] >= 6,
	    "owner day: the 20 spread over pa's three keys");
	burst(&f, FLASH, PX_PROV_GEMINI, NULL, NULL, 0, 25, T0 + 1000, 10,
	    &t);
	T_CHECK(tally_is(&t, 20, 5, PX_LIMIT_OWNER) &&
	    t.per[3] + t.per[4] == 20,
	    "owner day: pb unaffected: its own 20, on its keys only; then "
	    "owner_rate_limit");
	T_CHECK(t.retry == DAY_LEAVE - 1240,
	    "owner day: retry = when the owners' first day bucket leaves");
	T_CHECK(near(owner_num(&f, "pa", "req_day", T0 + 2000), 20) &&
	    near(owner_num(&f, "pb", "req_day", T0 + 2000), 20),
	    "owner day: usage shows 20 for each owner");
	T_CHECK(refused(&f, gm(&f, FLASH, T0 + DAY_LEAVE - 1),
	    PX_LIMIT_OWNER, 1),
	    "owner day: still refused 1 ms before the bucket leaves");
	T_CHECK(ask(&f, FLASH, PX_PROV_GEMINI, 1, NULL, exb, 2,
	    T0 + DAY_LEAVE) == PX_OK && key_ix(&f, &f.last) < 3,
	    "owner day: pa's keys admitted again when it leaves");
	fx_done(&f);
}

/* Owner pa named by two entries with their own key limits: 5 a day
 * over a1, a2 (entry 0) and a3 (entry 1). */
static void
test_owner_entries(void)
{
	struct fx f;
	struct tally t;

	if (open_case(&f, "'owners':{'pa':{'max_request_day':5}}," PROVS(
	    GM("'a1','a2'", BIG ",'owner':'pa'") "," GM("'a3'",
	    LIM(500, 100000, 50) ",'owner':'pa'")),
	    "owner entries: fixture") != 0)
		return;
	burst(&f, FLASH, PX_PROV_GEMINI, NULL, NULL, 0, 8, T0, 1, &t);
	T_CHECK(tally_is(&t, 5, 3, PX_LIMIT_OWNER) && t.per[0] > 0 &&
	    t.per[1] > 0 && t.per[2] > 0 && t.retry == DAY_LEAVE - 7,
	    "owner entries: 5 a day over the keys of both entries");
	fx_done(&f);
}

/* auto-model: flash (gemini, project pa: 1 a day of flash) then
 * or/model (one key, 1 a minute); the client team-a (3 a minute) is
 * booked once per request, whichever candidate serves. */
static void
test_candidates(void)
{
	static const struct px_candidate two[] = {
		{ FLASH, PX_PROV_GEMINI }, { "or/model", PX_PROV_OPENROUTER },
	};
	struct fx f;
	struct px_ask a;
	int64_t retry;
	enum px_err e;

	if (open_case(&f, "'owners':{'pa':{'model_limits':{'" FLASH "':"
	    "{'max_request_day':1}}}},'access_keys':[{'key':"
	    "'team-a-0123456789abcdef01234567','name':'team-a',"
	    "'max_request_min':3}]," PROVS(GM("'g1'", BIG ",'owner':'pa'") ","
	    OR("'o1'", LIM(1000, 100000, 1))), "candidates: fixture") != 0)
		return;
	memset(&a, 0, sizeof(a));
	a.c = two;
	a.nc = 2;
	a.tokens = 1;
	a.client = &f.cfg->clients[0];
	e = px_ledger_reserve_ask(f.lg, f.s, &a, T0, &f.last, &retry);
	T_CHECK(e == PX_OK && f.last.provider == PX_PROV_GEMINI,
	    "candidates: flash first");
	e = px_ledger_reserve_ask(f.lg, f.s, &a, T0 + 1, &f.last, &retry);
	T_CHECK(e == PX_OK && f.last.provider == PX_PROV_OPENROUTER &&
	    t_streq(f.last.model, "or/model"),
	    "candidates: flash's project limit reached: the next candidate");
	e = px_ledger_reserve_ask(f.lg, f.s, &a, T0 + 2, &f.last, &retry);
	T_CHECK(e == PX_ERATE && retry == MIN_LEAVE - 2 &&
	    px_ledger_limit(f.s) == PX_LIMIT_KEY, "candidates: both out: "
	    "the retry and limit of the one that frees first (o1's minute)");
	T_CHECK(near(jnum_client(&f, T0 + 3, "req_min"), 2),
	    "candidates: the client booked once per served request");
	fx_done(&f);
}

/* Owner po: 4 requests a minute over k1, k2; k3 has no owner. */
static void
test_owner_minute(void)
{
	struct fx f;
	struct tally t;
	const struct px_key_cfg *ex3[1];

	if (open_case(&f, "'owners':{'po':{'max_request_min':4}}," PROVS(
	    GM("'k1','k2'", BIG ",'owner':'po'") "," GM("'k3'",
	    LIM(1000, 1000000, 1))), "owner minute: fixture") != 0)
		return;
	ex3[0] = kp(&f, 1, 0);
	burst(&f, FLASH, PX_PROV_GEMINI, NULL, ex3, 1, 6, T0, 1, &t);
	T_CHECK(tally_is(&t, 4, 2, PX_LIMIT__MAX) && t.per[0] == 2 &&
	    t.per[1] == 2, "owner minute: 4 over both keys, then refused");
	T_CHECK(gm(&f, FLASH, T0 + 500) == PX_OK && key_ix(&f, &f.last) == 2,
	    "owner minute: a key without owner still serves (its 1 a minute)");
	T_CHECK(refused(&f, gm(&f, FLASH, T0 + 600), PX_LIMIT_OWNER,
	    MIN_LEAVE - 600), "owner minute: then owner_rate_limit, retry = "
	    "when the owner's minute bucket leaves (before k3's)");
	T_CHECK(refused(&f, gm(&f, FLASH, T0 + MIN_LEAVE - 1),
	    PX_LIMIT_OWNER, 1), "owner minute: refused 1 ms before");
	T_CHECK(gm(&f, FLASH, T0 + MIN_LEAVE) == PX_OK &&
	    key_ix(&f, &f.last) < 2, "owner minute: admitted at the edge");
	fx_done(&f);
}

/* Owner pt: 300 tokens a minute over k1, k2. */
static void
test_owner_tokens(void)
{
	struct fx f;
	struct px_lease l1, l2;

	if (open_case(&f, "'owners':{'pt':{'max_token_min':300}}," PROVS(
	    GM("'k1','k2'", BIG ",'owner':'pt'")),
	    "owner tokens: fixture") != 0)
		return;
	T_CHECK(ask(&f, FLASH, PX_PROV_GEMINI, 301, NULL, NULL, 0, T0) ==
	    PX_EBADREQ, "owner tokens: 301 > the owner's 300: bad request");
	T_CHECK(ask(&f, FLASH, PX_PROV_GEMINI, 100, NULL, NULL, 0, T0) ==
	    PX_OK, "owner tokens: 100");
	l1 = f.last;
	T_CHECK(ask(&f, FLASH, PX_PROV_GEMINI, 100, NULL, NULL, 0, T0 + 1) ==
	    PX_OK && f.last.key != l1.key, "owner tokens: 200, other key");
	l2 = f.last;
	T_CHECK(ask(&f, FLASH, PX_PROV_GEMINI, 100, NULL, NULL, 0, T0 + 2) ==
	    PX_OK, "owner tokens: 300");
	T_CHECK(refused(&f, ask(&f, FLASH, PX_PROV_GEMINI, 100, NULL, NULL, 0,
	    T0 + 3), PX_LIMIT_OWNER, MIN_LEAVE - 3),
	    "owner tokens: 400 refused, though each key has room");
	T_CHECK(settle(&f, &l1, PX_SETTLE_DONE, 10, T0 + 4) == PX_OK &&
	    ask(&f, FLASH, PX_PROV_GEMINI, 90, NULL, NULL, 0, T0 + 5) ==
	    PX_OK, "owner tokens: done(10) frees 90 on the owner");
	T_CHECK(refused(&f, ask(&f, FLASH, PX_PROV_GEMINI, 1, NULL, NULL, 0,
	    T0 + 6), PX_LIMIT_OWNER, MIN_LEAVE - 6), "owner tokens: full");
	T_CHECK(settle(&f, &l2, PX_SETTLE_DONE, 250, T0 + 7) == PX_OK &&
	    near(owner_num(&f, "pt", "tokens_min", T0 + 8), 450),
	    "owner tokens: real usage booked on the owner (10+250+100+90)");
	fx_done(&f);
}

/* --- model limits --------------------------------------------------------- */

/* One key; the pattern's entry allows 2 a minute, flash-lite (longer,
 * exact) 3 a day; gemini-2.0-flash matches neither. */
static void
test_key_models(void)
{
	struct fx f;
	struct tally t;
	cJSON *u;

	if (open_case(&f, PROVS(GM("'k1'", LIM(1000, 1000000, 100)
	    ",'model_limits':{'gemini-2.5-*':{'max_request_min':2},"
	    "'gemini-2.5-flash-lite':{'max_request_day':3}}")),
	    "key models: fixture") != 0)
		return;
	burst(&f, FLASH, PX_PROV_GEMINI, NULL, NULL, 0, 3, T0, 1, &t);
	T_CHECK(tally_is(&t, 2, 1, PX_LIMIT_MODEL) && t.retry ==
	    MIN_LEAVE - 2, "key models: 2 of flash, then model_rate_limit");
	burst(&f, "gemini-2.0-flash", PX_PROV_GEMINI, NULL, NULL, 0, 5,
	    T0 + 3, 1, &t);
	T_CHECK(tally_is(&t, 5, 0, PX_LIMIT_KEY),
	    "key models: another model on the same key unaffected");
	T_CHECK(refused(&f, gm(&f, "gemini-2.5-pro", T0 + 10), PX_LIMIT_MODEL,
	    MIN_LEAVE - 10),
	    "key models: gemini-2.5-pro draws on the same pattern entry");
	burst(&f, "gemini-2.5-flash-lite", PX_PROV_GEMINI, NULL, NULL, 0, 4,
	    T0 + 20, 1, &t);
	T_CHECK(tally_is(&t, 3, 1, PX_LIMIT_MODEL) && t.retry ==
	    DAY_LEAVE - 23,
	    "key models: the longest entry (flash-lite, 3 a day) applies, "
	    "not the pattern's minute");
	u = fx_usage(&f, T0 + 30);
	T_CHECK(near(jnum(u, "details", "gemini", "keys", kid(&f, 0, 0),
	    "models", "gemini-2.5-*", "req_min", END), 2) &&
	    near(jnum(u, "details", "gemini", "keys", kid(&f, 0, 0),
	    "models", "gemini-2.5-flash-lite", "req_day", END), 3) &&
	    near(jnum(u, "details", "gemini", "keys", kid(&f, 0, 0),
	    "models", "gemini-2.5-*", "limits", "max_request_min", END), 2),
	    "key models: usage shows each entry's window and limit");
	T_CHECK(near(jnum(u, "details", "gemini", "keys", kid(&f, 0, 0),
	    "rate_limit_windows", "req_min", END), 10),
	    "key models: the key's own minute counts all 10");
	cJSON_Delete(u);
	T_CHECK(gm(&f, FLASH, T0 + MIN_LEAVE) == PX_OK,
	    "key models: flash again when its minute bucket leaves");
	fx_done(&f);
}

/* Project pa: 20 a day of gemini-2.5-* over a1..a3; b1, b2 no owner. */
static void
test_owner_models(void)
{
	struct fx f;
	struct tally t;
	const struct px_key_cfg *exb[2];
	cJSON *u;

	if (open_case(&f, "'owners':{'pa':{'model_limits':{'gemini-2.5-*':"
	    "{'max_request_day':20}}}}," PROVS(
	    GM("'a1','a2','a3'", BIG ",'owner':'pa'") "," GM("'b1','b2'", BIG)),
	    "owner models: fixture") != 0)
		return;
	exb[0] = kp(&f, 1, 0);
	exb[1] = kp(&f, 1, 1);
	burst(&f, FLASH, PX_PROV_GEMINI, NULL, exb, 2, 25, T0, 10, &t);
	T_CHECK(tally_is(&t, 20, 5, PX_LIMIT__MAX) && t.per[0] > 0 &&
	    t.per[1] > 0 && t.per[2] > 0,
	    "owner models: 20 of flash across pa's 3 keys, then refused");
	T_CHECK(ask(&f, "gemini-2.0-flash", PX_PROV_GEMINI, 1, NULL, exb, 2,
	    T0 + 300) == PX_OK,
	    "owner models: another model on pa's keys unaffected");
	T_CHECK(gm(&f, FLASH, T0 + 310) == PX_OK && key_ix(&f, &f.last) >= 3,
	    "owner models: flash goes on through the keys without owner");
	u = fx_usage(&f, T0 + 400);
	T_CHECK(near(jnum(u, "owners", "pa", "models", "gemini-2.5-*",
	    "req_day", END), 20) && near(jnum(u, "owners", "pa", "req_day",
	    END), 21) && near(jnum(u, "owners", "pa", "models",
	    "gemini-2.5-*", "limits", "max_request_day", END), 20),
	    "owner models: usage: 20 on the entry, 21 on the owner");
	cJSON_Delete(u);
	fx_done(&f);
}

/*
 * The gap rule among the keys that pass. Gap 0, max_request_day 100 (one
 * request is one point): a1 0 %, a2 2 % (project pa, whose flash entry
 * allows 2 a day: both held back), b1 3 %, b2 5 %. A blocked key must
 * neither win nor set the least-used mark: b1 (3 %, then 4 %) wins, then
 * b1 and b2 at 5 % take turns after the cursor.
 */
static void
test_gap_rule(void)
{
	static const int pre[] = { 1, 1, 2, 2, 2, 3, 3, 3, 3, 3 };
	static const int want[] = { 2, 2, 3, 2 };
	struct fx f;
	const struct px_key_cfg *ex[3];
	size_t i, j, n;
	int ok = 1;

	if (open_case(&f, "'model_usage_gap_percentage':0,'owners':{'pa':{"
	    "'model_limits':{'" FLASH "':{'max_request_day':2}}}}," PROVS(
	    GM("'a1','a2'", LIM(100, 1000000, 1000) ",'owner':'pa'") ","
	    GM("'b1','b2'", LIM(100, 1000000, 1000))), "gap: fixture") != 0)
		return;
	/* preload: a2 takes pa's 2 flash, b1 3 and b2 5 other requests */
	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		for (j = 0, n = 0; j < 4; j++)
			if ((int)j != pre[i])
				ex[n++] = kp(&f, j / 2, j % 2);
		ok &= ask(&f, pre[i] == 1 ? FLASH : "gemini-2.0-flash",
		    PX_PROV_GEMINI, 1, NULL, ex, n, T0 + (int64_t)i) == PX_OK &&
		    key_ix(&f, &f.last) == pre[i];
	}
	T_CHECK(ok, "gap: preloaded 0, 2, 3, 5 requests");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (gm(&f, FLASH, T0 + 30 + (int64_t)i) != PX_OK ||
		    key_ix(&f, &f.last) != want[i]) {
			printf("#   gap: pick %zu got key %d, want %d\n", i,
			    key_ix(&f, &f.last), want[i]);
			ok = 0;
		}
	}
	T_CHECK(ok, "gap: b1 (3 %, 4 %), then b1 and b2 at 5 % take turns; "
	    "the blocked a1 (0 %) neither wins nor sets the mark");
	T_CHECK(gm(&f, "gemini-2.0-flash", T0 + 50) == PX_OK &&
	    key_ix(&f, &f.last) == 0,
	    "gap: for a model pa may use, a1 (0 %) wins");
	fx_done(&f);
}

/* --- max_concurrent ------------------------------------------------------- */

/* k1 caps 2 in flight, leases live 10 s unless renewed; o1 caps none. */
static void
conc_key_basics(struct fx *f, struct px_lease *l2, struct px_lease *l3)
{
	struct px_lease l1;
	cJSON *u;

	T_CHECK(orq(f, NULL, 1, T0) == PX_OK && f->last.id == 0 &&
	    px_ledger_renew(f->lg, f->s, &f->last, T0) == PX_OK,
	    "conc: a key without max_concurrent holds no lease");
	T_CHECK(gm(f, FLASH, T0) == PX_OK && f->last.id != 0,
	    "conc: 1st of 2 in flight, with a lease id");
	l1 = f->last;
	T_CHECK(gm(f, FLASH, T0 + 1) == PX_OK && f->last.id != 0 &&
	    f->last.id != l1.id, "conc: 2nd of 2, another id");
	*l2 = f->last;
	T_CHECK(refused(f, gm(f, FLASH, T0 + 2), PX_LIMIT_CONCURRENCY, 1000),
	    "conc: 3rd refused: concurrency_limit, retry 1 s");
	u = fx_usage(f, T0 + 2);
	T_CHECK(near(keynum(f, u, 0, 0, "in_flight"), 2) &&
	    near(keynum(f, u, 1, 0, "in_flight"), 0),
	    "conc: usage shows 2 in flight on k1, 0 on o1");
	cJSON_Delete(u);
	T_CHECK(settle(f, &l1, PX_SETTLE_DONE, 5, T0 + 3) == PX_OK &&
	    gm(f, FLASH, T0 + 4) == PX_OK, "conc: a settle frees its slot");
	*l3 = f->last;
	T_CHECK(settle(f, &l1, PX_SETTLE_DONE, 5, T0 + 5) == PX_OK &&
	    refused(f, gm(f, FLASH, T0 + 5), PX_LIMIT_CONCURRENCY, -1),
	    "conc: settling the same lease twice frees nothing more");
}

static void
test_conc_key(void)
{
	struct fx f;
	struct px_lease l2, l3, l4;

	if (open_case(&f, "'lease_ttl_s':10," PROVS(
	    GM("'k1'", BIG ",'max_concurrent':2") "," OR("'o1'", BIG)),
	    "conc: fixture") != 0)
		return;
	conc_key_basics(&f, &l2, &l3);
	/* l2 (T0 + 1) and l3 (T0 + 4) are never settled */
	T_CHECK(px_ledger_renew(f.lg, f.s, &l3, T0 + 9000) == PX_OK,
	    "conc: l3 renewed at 9 s");
	T_CHECK(refused(&f, gm(&f, FLASH, T0 + 10000), PX_LIMIT_CONCURRENCY,
	    1), "conc: l2 still holds 1 ms before its ttl ends (retry: "
	    "then, sooner than 1 s)");
	T_CHECK(near(keynum_at(&f, 0, 0, "in_flight", T0 + 10001), 1),
	    "conc: usage: l2 no longer in flight once expired");
	T_CHECK(gm(&f, FLASH, T0 + 10001) == PX_OK,
	    "conc: l2 (not renewed) expired after lease_ttl_s");
	l4 = f.last;
	T_CHECK(refused(&f, gm(&f, FLASH, T0 + 15000), PX_LIMIT_CONCURRENCY,
	    1000), "conc: l3, renewed, outlives its first ttl");
	T_CHECK(refused(&f, gm(&f, FLASH, T0 + 18999), PX_LIMIT_CONCURRENCY,
	    1), "conc: l3 holds until 10 s after its renewal");
	T_CHECK(gm(&f, FLASH, T0 + 19000) == PX_OK,
	    "conc: l3 expired 10 s after its renewal");
	T_CHECK(settle(&f, &l4, PX_SETTLE_RELEASE_ALL, 0, T0 + 19001) ==
	    PX_OK &&
	    gm(&f, FLASH, T0 + 19002) == PX_OK,
	    "conc: release_all frees the slot too");
	T_CHECK(px_ledger_renew(f.lg, f.s, &l2, T0 + 19003) == PX_OK &&
	    near(keynum_at(&f, 0, 0, "in_flight", T0 + 19004), 2),
	    "conc: renewing an expired, purged lease brings nothing back");
	fx_done(&f);
}

/* Owner po caps 3 in flight over k1, k2 (each key capped at 2). */
static void
test_conc_owner(void)
{
	struct fx f;
	struct px_lease first;
	struct tally t;
	const struct px_key_cfg *ex3[1];
	cJSON *u;

	if (open_case(&f, "'owners':{'po':{'max_concurrent':3}}," PROVS(
	    GM("'k1','k2'", BIG ",'owner':'po','max_concurrent':2") ","
	    GM("'k3'", BIG ",'max_concurrent':1")), "conc owner: fixture") != 0)
		return;
	ex3[0] = kp(&f, 1, 0);
	T_CHECK(ask(&f, FLASH, PX_PROV_GEMINI, 1, NULL, ex3, 1, T0) ==
	    PX_OK && key_ix(&f, &f.last) < 2, "conc owner: 1st");
	first = f.last;
	burst(&f, FLASH, PX_PROV_GEMINI, NULL, ex3, 1, 4, T0 + 1, 1, &t);
	T_CHECK(tally_is(&t, 2, 2, PX_LIMIT__MAX),
	    "conc owner: 3 in flight over 2 keys, the 4th refused");
	T_CHECK(gm(&f, FLASH, T0 + 11) == PX_OK && key_ix(&f, &f.last) == 2,
	    "conc owner: a key outside the owner still serves (its 1)");
	T_CHECK(refused(&f, gm(&f, FLASH, T0 + 12), PX_LIMIT_CONCURRENCY,
	    1000), "conc owner: then concurrency_limit, retry 1 s");
	u = fx_usage(&f, T0 + 12);
	T_CHECK(near(jnum(u, "owners", "po", "in_flight", END), 3) &&
	    near(jnum(u, "owners", "po", "limits", "max_concurrent", END), 3) &&
	    near(keynum(&f, u, 0, 0, "in_flight") +
	    keynum(&f, u, 0, 1, "in_flight"), 3),
	    "conc owner: usage: 3 in flight on the owner and its keys");
	cJSON_Delete(u);
	T_CHECK(settle(&f, &first, PX_SETTLE_RELEASE_ALL, 0, T0 + 13) ==
	    PX_OK && ask(&f, FLASH, PX_PROV_GEMINI, 1, NULL, ex3, 1,
	    T0 + 14) == PX_OK, "conc owner: a release frees a slot");
	fx_done(&f);
}

/* lease_ttl_s 4: an owner's and a client's single slot expire and renew
 * like a key's. */
static void
test_conc_ttl(void)
{
	struct fx f;
	struct px_lease l;
	const struct px_client_cfg *a;

	if (open_case(&f, "'lease_ttl_s':4,"
	    "'owners':{'po':{'max_concurrent':1}},"
	    "'access_keys':[{'key':'team-a-0123456789abcdef01234567',"
	    "'name':'team-a','max_concurrent':1}]," PROVS(GM("'k1','k2'",
	    BIG ",'owner':'po'") "," OR("'o1'", BIG)), "ttl: fixture") != 0)
		return;
	a = &f.cfg->clients[0];
	T_CHECK(gm(&f, FLASH, T0) == PX_OK && f.last.id != 0,
	    "ttl: the owner's one slot taken");
	l = f.last;
	T_CHECK(refused(&f, gm(&f, FLASH, T0 + 1), PX_LIMIT_CONCURRENCY,
	    1000), "ttl: the owner's other key refused");
	T_CHECK(px_ledger_renew(f.lg, f.s, &l, T0 + 3000) == PX_OK &&
	    refused(&f, gm(&f, FLASH, T0 + 5000), PX_LIMIT_CONCURRENCY, 1000),
	    "ttl: the owner's lease, renewed at 3 s, holds past 4 s");
	T_CHECK(refused(&f, gm(&f, FLASH, T0 + 6999), PX_LIMIT_CONCURRENCY,
	    1) &&
	    gm(&f, FLASH, T0 + 7000) == PX_OK,
	    "ttl: ... and expires 4 s after its renewal");
	T_CHECK(orq(&f, a, 1, T0) == PX_OK && f.last.id != 0,
	    "ttl: the client's one slot taken");
	T_CHECK(refused(&f, orq(&f, a, 1, T0 + 1), PX_LIMIT_CLIENT, 1000) &&
	    orq(&f, NULL, 1, T0 + 1) == PX_OK,
	    "ttl: the client refused, the admin key not");
	T_CHECK(refused(&f, orq(&f, a, 1, T0 + 3999), PX_LIMIT_CLIENT, 1) &&
	    orq(&f, a, 1, T0 + 4000) == PX_OK,
	    "ttl: the client's lease expires after lease_ttl_s");
	l = f.last;
	T_CHECK(px_ledger_renew(f.lg, f.s, &l, T0 + 7000) == PX_OK &&
	    refused(&f, orq(&f, a, 1, T0 + 10999), PX_LIMIT_CLIENT, 1) &&
	    orq(&f, a, 1, T0 + 11000) == PX_OK,
	    "ttl: a renewed client lease holds 4 s from its renewal");
	fx_done(&f);
}

/* A lease left in flight under a config that capped the key, read under
 * one that no longer does: no cap, nothing in flight (both backends). */
static void
test_conc_uncapped(void)
{
	struct fx f;

	if (open_case(&f, PROVS(GM("'k1'", BIG ",'max_concurrent':1")),
	    "uncapped: fixture") != 0)
		return;
	T_CHECK(gm(&f, FLASH, T0) == PX_OK && f.last.id != 0 &&
	    near(keynum_at(&f, 0, 0, "in_flight", T0 + 1), 1),
	    "uncapped: one in flight under the cap");
	fx_close(&f);
	T_CHECK(fx_open(&f, PROVS(GM("'k1'", BIG))) == 0 &&
	    near(keynum_at(&f, 0, 0, "in_flight", T0 + 2), 0) &&
	    gm(&f, FLASH, T0 + 3) == PX_OK && f.last.id == 0,
	    "uncapped: the cap removed: nothing in flight, no lease");
	fx_done(&f);
}

/* One reservation on a ledger handle of this process's own, as a
 * responder makes it after fork: open, scratch, reserve at T0; the lease
 * id (0: it failed). */
static uint64_t
lease_after_fork(const struct fx *f)
{
	struct fx c = *f;
	char detail[256];
	uint64_t id = 0;

	if (px_ledger_open(&c.lg, c.cfg, detail, sizeof(detail)) != PX_OK)
		return 0;
	c.s = px_ledger_scratch_new(c.cfg);
	if (c.s != NULL && gm(&c, FLASH, T0) == PX_OK)
		id = c.last.id;
	px_ledger_scratch_free(c.s);
	px_ledger_close(c.lg);
	return id;
}

/* Two responders forked from one parent take their first lease in the
 * same millisecond: the same steps leave their scratches at the same
 * address, yet the ids must differ (a shared id lets one request's
 * renewal or settlement act on the other's lease). */
static void
test_lease_ids(void)
{
	struct fx f;
	int up[2], status = -1;
	uint64_t mine, theirs = 0;
	pid_t pid;

	if (open_case(&f, PROVS(GM("'k1'", BIG ",'max_concurrent':4")),
	    "lease ids: fixture") != 0)
		return;
	if (pipe(up) != 0) {
		fx_fail(&f, "lease ids: pipe");
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		theirs = lease_after_fork(&f);
		_exit(write(up[1], &theirs, sizeof(theirs)) ==
		    (ssize_t)sizeof(theirs) ? 0 : 3);
	}
	mine = lease_after_fork(&f);
	T_CHECK(pid > 0 && read(up[0], &theirs, sizeof(theirs)) ==
	    (ssize_t)sizeof(theirs) && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "lease ids: the other responder reports");
	T_CHECK(mine != 0 && theirs != 0 && mine != theirs,
	    "lease ids: two responders' first leases differ");
	close(up[0]);
	close(up[1]);
	fx_done(&f);
}

/* The largest cap (1000, what one lease record holds) is exact. */
static void
test_conc_bound(void)
{
	struct fx f;
	struct tally t;

	if (open_case(&f, PROVS(GM("'k1'", LIM(100000, 100000000, 100000)
	    ",'max_concurrent':1000")), "conc bound: fixture") != 0)
		return;
	burst(&f, FLASH, PX_PROV_GEMINI, NULL, NULL, 0, 1002, T0, 0, &t);
	T_CHECK(tally_is(&t, 1000, 2, PX_LIMIT_CONCURRENCY),
	    "conc bound: max_concurrent 1000 admits 1000 in flight, no more");
	fx_done(&f);
}

/* --- calendar days -------------------------------------------------------- */

/* One day of a key with max_request_day 2 (or of the scope that limits
 * it): the fills are admitted; then refused, naming lim, with retry =
 * reset - now, at every decoy (a moment a wrong rule would reset at)
 * and 1 ms before the reset; admitted at the reset. The key's req_day
 * is `before` 1 ms before it and `after` at it. */
struct span {
	const char *what;
	int64_t fill[2];
	size_t nfill;
	int64_t decoy[2];
	size_t ndecoy;
	int64_t reset;
	double before, after;
	enum px_limit lim;
};

static void
day_span(struct fx *f, const struct span *sp)
{
	enum px_provider_id p = f->cfg->providers[0].provider;
	const char *model = p == PX_PROV_GEMINI ? FLASH : "or/model";
	int64_t t = sp->fill[sp->nfill - 1] + 1;
	size_t i;
	int ok = 1;

	for (i = 0; i < sp->nfill; i++)
		ok &= ask(f, model, p, 1, NULL, NULL, 0, sp->fill[i]) == PX_OK;
	if (!ok)
		printf("#   %s: a fill was refused\n", sp->what);
	ok &= refused(f, ask(f, model, p, 1, NULL, NULL, 0, t), sp->lim,
	    sp->reset - t);
	for (i = 0; i < sp->ndecoy; i++)
		ok &= refused(f, ask(f, model, p, 1, NULL, NULL, 0,
		    sp->decoy[i]), sp->lim, sp->reset - sp->decoy[i]);
	ok &= refused(f, ask(f, model, p, 1, NULL, NULL, 0, sp->reset - 1),
	    sp->lim, 1);
	if (!near(key_req_day(f, 0, 0, sp->reset - 1), sp->before) ||
	    !near(key_req_day(f, 0, 0, sp->reset), sp->after)) {
		printf("#   %s: req_day %.0f, %.0f; want %.0f, %.0f\n",
		    sp->what, key_req_day(f, 0, 0, sp->reset - 1),
		    key_req_day(f, 0, 0, sp->reset), sp->before, sp->after);
		ok = 0;
	}
	ok &= ask(f, model, p, 1, NULL, NULL, 0, sp->reset) == PX_OK;
	T_CHECK(ok, sp->what);
}

/* keys.<id>.day_reset and resets_at of key (entry, k) at now. */
static int
key_day_is(struct fx *f, size_t entry, size_t k, int64_t now,
    const char *rule, const char *at)
{
	const char *prov = px_provider_name(f->cfg->providers[entry].provider);
	cJSON *u = fx_usage(f, now);
	const cJSON *r = jget(u, "details", prov, "keys", kid(f, entry, k),
	    "resets_at", END);
	int ok = t_streq(jstr(u, "details", prov, "keys", kid(f, entry, k),
	    "day_reset", END), rule) && (at != NULL ? t_streq(str_of(r), at) :
	    cJSON_IsNull(r));

	if (!ok)
		printf("#   key day: %s\n", f->raw.p);
	cJSON_Delete(u);
	return ok;
}

/* One key, 2 requests a day: a gemini key with the provider's day. */
static void
test_days_pacific(void)
{
	static const struct span jan = { "day: gemini provider day ends at "
	    "Pacific midnight (08:00Z in January), not at UTC midnight",
	    { T0 + HOUR_MS, T0 + 2 * HOUR_MS }, 2, { UTC_0116, 0 }, 1,
	    T0 + DAY_MS, 2, 0, PX_LIMIT_KEY };
	static const struct span eve = { "day: the eve of the March change "
	    "ends at 08:00Z (PST), not 07:00Z",
	    { UTC_0314 + 6 * HOUR_MS, UTC_0314 + 6 * HOUR_MS + 1800000 }, 2,
	    { UTC_0314 + 7 * HOUR_MS, 0 }, 1, UTC_0314 + 8 * HOUR_MS, 2, 0,
	    PX_LIMIT_KEY };
	/* the request admitted at 08:00Z (00:00 PST) is the 1st of Mar 14 */
	static const struct span mar = { "day: March 14 (23 h) ends at "
	    "07:00Z on the 15th (PDT); requests before and after the change "
	    "count in one day", { UTC_0314 + 12 * HOUR_MS, 0 }, 1,
	    { UTC_0315, 0 }, 1, UTC_0315 + 7 * HOUR_MS, 2, 0, PX_LIMIT_KEY };
	static const struct span nov = { "day: November 7 (25 h) starts at "
	    "07:00Z and ends at 08:00Z on the 8th (PST)",
	    { UTC_1107 + 7 * HOUR_MS, UTC_1107 + 10 * HOUR_MS }, 2,
	    { UTC_1108, UTC_1108 + 7 * HOUR_MS }, 2, UTC_1108 + 8 * HOUR_MS,
	    2, 0, PX_LIMIT_KEY };
	struct fx f;

	if (open_case(&f, PROVS(GM("'g1'", LIM(2, 1000000, 1000)
	    ",'day_reset':'provider'")), "day: fixture") != 0)
		return;
	day_span(&f, &jan);
	T_CHECK(settle(&f, &f.last, PX_SETTLE_RELEASE_ALL, 0, T0 + DAY_MS +
	    1) == PX_OK && near(key_req_day(&f, 0, 0, T0 + DAY_MS + 2), 0),
	    "day: release_all gives the calendar day's request back");
	T_CHECK(key_day_is(&f, 0, 0, T0 + HOUR_MS, "pacific",
	    "2027-01-16T08:00:00Z") && key_day_is(&f, 0, 0,
	    UTC_0314 + 12 * HOUR_MS, "pacific", "2027-03-15T07:00:00Z") &&
	    key_day_is(&f, 0, 0, UTC_1107 + 8 * HOUR_MS, "pacific",
	    "2027-11-08T08:00:00Z"), "day: usage names the rule and the reset");
	day_span(&f, &eve);
	day_span(&f, &mar);
	day_span(&f, &nov);
	fx_done(&f);
}

/* A key's model entry counts on the key's day (provider: Pacific). */
static void
test_days_key_model(void)
{
	const int64_t t = T0 + HOUR_MS, reset = T0 + DAY_MS;
	struct fx f;
	cJSON *u;

	if (open_case(&f, PROVS(GM("'g1'", BIG ",'day_reset':'provider',"
	    "'model_limits':{'" FLASH "':{'max_request_day':1}}")),
	    "day model: fixture") != 0)
		return;
	T_CHECK(gm(&f, FLASH, t) == PX_OK && refused(&f, gm(&f, FLASH, t + 1),
	    PX_LIMIT_MODEL, reset - t - 1) && gm(&f, "gemini-2.0-flash",
	    t + 2) == PX_OK, "day model: flash's 1 a day on the key, until "
	    "Pacific midnight; another model goes on");
	u = fx_usage(&f, t + 3);
	T_CHECK(t_streq(jstr(u, "details", "gemini", "keys", kid(&f, 0, 0),
	    "models", FLASH, "day_reset", END), "pacific") &&
	    t_streq(jstr(u, "details", "gemini", "keys", kid(&f, 0, 0),
	    "models", FLASH, "resets_at", END), "2027-01-16T08:00:00Z") &&
	    near(jnum(u, "details", "gemini", "keys", kid(&f, 0, 0), "models",
	    FLASH, "req_day", END), 1), "day model: usage of the entry");
	cJSON_Delete(u);
	T_CHECK(refused(&f, gm(&f, FLASH, reset - 1), PX_LIMIT_MODEL, 1) &&
	    gm(&f, FLASH, reset) == PX_OK, "day model: flash at the reset");
	fx_done(&f);
}

/* One key, 2 requests a day, in config cfg. */
static void
day_of_key(const char *cfg, const struct span *sp, const char *rule,
    const char *resets_at)
{
	struct fx f;

	if (open_case(&f, cfg, "day: fixture") != 0)
		return;
	day_span(&f, sp);
	T_CHECK(key_day_is(&f, 0, 0, T0, rule, resets_at), sp->what);
	fx_done(&f);
}

static void
test_days(void)
{
	static const struct span g2 = { "day: a gemini key with \"utc\" "
	    "resets at 00:00Z", { T0 + HOUR_MS, T0 + 2 * HOUR_MS }, 2,
	    { 0, 0 }, 0, UTC_0116, 2, 0, PX_LIMIT_KEY };
	static const struct span o1 = { "day: openrouter's provider day "
	    "resets at 00:00Z", { T0, T0 + 1 }, 2, { 0, 0 }, 0, UTC_0116, 2, 0,
	    PX_LIMIT_KEY };
	static const struct span o2 = { "day: rolling is unchanged: the "
	    "first request leaves 24 h + 1 min after it, no midnight",
	    { T0, T0 + MIN_MS }, 2, { UTC_0116, T0 + DAY_MS }, 2,
	    T0 + DAY_LEAVE, 2, 1, PX_LIMIT_KEY };

	day_of_key(PROVS(GM("'g2'", LIM(2, 1000000, 1000)
	    ",'day_reset':'utc'")), &g2, "utc", "2027-01-16T00:00:00Z");
	day_of_key(PROVS(OR("'o1'", LIM(2, 1000000, 1000)
	    ",'day_reset':'provider'")), &o1, "utc", "2027-01-16T00:00:00Z");
	day_of_key(PROVS(OR("'o2'", LIM(2, 1000000, 1000))), &o2, "rolling",
	    NULL);
	test_days_pacific();
	test_days_key_model();
}

/* Owner pa: 2 a day and flash 1 a day, on the provider's (Pacific) day. */
static void
test_owner_days(void)
{
	const int64_t t = T0 + HOUR_MS, reset = T0 + DAY_MS;
	struct fx f;
	cJSON *u;

	if (open_case(&f, "'owners':{'pa':{'max_request_day':2,"
	    "'day_reset':'provider','model_limits':{'" FLASH "':"
	    "{'max_request_day':1}}}}," PROVS(GM("'k1','k2'",
	    BIG ",'owner':'pa'")), "owner day: fixture") != 0)
		return;
	T_CHECK(gm(&f, FLASH, t) == PX_OK && refused(&f, gm(&f, FLASH, t + 1),
	    PX_LIMIT_MODEL, reset - t - 1),
	    "owner cal: flash's 1 a day, retry until Pacific midnight");
	T_CHECK(gm(&f, "gemini-2.0-flash", t + 2) == PX_OK &&
	    refused(&f, gm(&f, "gemini-2.0-flash", t + 3), PX_LIMIT_OWNER,
	    reset - t - 3), "owner cal: the owner's 2 a day");
	T_CHECK(refused(&f, gm(&f, "gemini-2.0-flash", UTC_0116),
	    PX_LIMIT_OWNER, reset - UTC_0116) && refused(&f,
	    gm(&f, "gemini-2.0-flash", reset - 1), PX_LIMIT_OWNER, 1),
	    "owner cal: not at UTC midnight, nor 1 ms before");
	T_CHECK(near(owner_num(&f, "pa", "req_day", reset - 1), 2) &&
	    near(owner_num(&f, "pa", "req_day", reset), 0),
	    "owner cal: the owner's count is 0 exactly at the reset");
	u = fx_usage(&f, t);
	T_CHECK(t_streq(jstr(u, "owners", "pa", "day_reset", END), "pacific") &&
	    t_streq(jstr(u, "owners", "pa", "resets_at", END),
	    "2027-01-16T08:00:00Z") && t_streq(jstr(u, "owners", "pa",
	    "models", FLASH, "resets_at", END), "2027-01-16T08:00:00Z") &&
	    near(jnum(u, "owners", "pa", "models", FLASH, "req_day", END), 1),
	    "owner cal: usage: rule, reset, the model entry's count");
	cJSON_Delete(u);
	T_CHECK(gm(&f, FLASH, reset) == PX_OK,
	    "owner cal: flash again at the reset");
	fx_done(&f);
}

/* --- client keys ---------------------------------------------------------- */

#define CLIENTS "'access_keys':[{'key':'team-a-0123456789abcdef01234567'," \
	"'name':'team-a','max_request_min':3,'max_request_day':5," \
	"'max_concurrent':2},{'key':'team-b-0123456789abcdef01234567'," \
	"'name':'team-b'},{'key':'team-c-0123456789abcdef01234567'," \
	"'name':'team-c','max_token_min':300,'max_request_day':2," \
	"'day_reset':'utc'}]"

/* Admin (NULL) and team-b go on at now. */
static int
others_go(struct fx *f, int64_t now)
{
	return orq(f, NULL, 10, now) == PX_OK &&
	    orq(f, &f->cfg->clients[1], 10, now) == PX_OK;
}

/* team-a: 2 in flight, 3 a minute; its usage. */
static void
client_minute(struct fx *f)
{
	const struct px_client_cfg *a = &f->cfg->clients[0];
	struct px_lease l1, l2, l3;
	cJSON *u;

	T_CHECK(orq(f, a, 10, T0) == PX_OK && f->last.id != 0 &&
	    f->last.client == a, "client: 1st, a lease for its cap");
	l1 = f->last;
	T_CHECK(orq(f, a, 10, T0 + 1) == PX_OK, "client: 2nd in flight");
	l2 = f->last;
	T_CHECK(refused(f, orq(f, a, 10, T0 + 2), PX_LIMIT_CLIENT, 1000) &&
	    others_go(f, T0 + 2), "client: its max_concurrent refuses with "
	    "client_rate_limit; admin and team-b go on");
	u = fx_usage(f, T0 + 2);
	T_CHECK(near(jnum(u, "clients", "team-a", "in_flight", END), 2) &&
	    near(jnum(u, "clients", "team-a", "req_min", END), 2),
	    "client: usage: 2 in flight");
	cJSON_Delete(u);
	T_CHECK(settle(f, &l1, PX_SETTLE_DONE, 42, T0 + 3) == PX_OK &&
	    orq(f, a, 10, T0 + 4) == PX_OK, "client: a settle frees a slot");
	l3 = f->last;
	T_CHECK(settle(f, &l2, PX_SETTLE_DONE, -1, T0 + 5) == PX_OK &&
	    settle(f, &l3, PX_SETTLE_DONE, -1, T0 + 5) == PX_OK,
	    "client: settled");
	T_CHECK(refused(f, orq(f, a, 10, T0 + 6), PX_LIMIT_CLIENT,
	    MIN_LEAVE - 6) && others_go(f, T0 + 6),
	    "client: its max_request_min (3) refuses; the others go on");
	u = fx_usage(f, T0 + 7);
	T_CHECK(near(jnum(u, "clients", "team-a", "req_min", END), 3) &&
	    near(jnum(u, "clients", "team-a", "tokens_min", END), 62) &&
	    near(jnum(u, "clients", "team-a", "in_flight", END), 0) &&
	    near(jnum(u, "clients", "team-a", "lifetime_requests", END), 3) &&
	    near(jnum(u, "clients", "team-a", "lifetime_tokens", END), 62) &&
	    near(jnum(u, "clients", "team-a", "limits", "max_concurrent", END),
	    2) && near(jnum(u, "clients", "team-b", "req_min", END), 2) &&
	    near(jnum(u, "clients", "team-c", "req_min", END), 0),
	    "client: usage: real tokens (42 + 10 + 10) and requests booked");
	cJSON_Delete(u);
}

/* team-c: 300 tokens a minute, 2 requests a UTC day. */
static void
client_tokens(struct fx *f)
{
	const struct px_client_cfg *c = &f->cfg->clients[2];

	T_CHECK(orq(f, c, 301, T0 + 10) == PX_EBADREQ,
	    "client: an estimate above its max_token_min: bad request");
	T_CHECK(orq(f, c, 200, T0 + 10) == PX_OK && f->last.id == 0,
	    "client: 200 tokens; no cap, no lease");
	T_CHECK(refused(f, orq(f, c, 200, T0 + 11), PX_LIMIT_CLIENT,
	    MIN_LEAVE - 11) && orq(f, NULL, 200, T0 + 11) == PX_OK &&
	    orq(f, &f->cfg->clients[1], 200, T0 + 11) == PX_OK,
	    "client: 400 of its 300 tokens refused; admin and team-b go on");
	T_CHECK(orq(f, c, 50, T0 + 12) == PX_OK &&
	    refused(f, orq(f, c, 1, T0 + 13), PX_LIMIT_CLIENT,
	    UTC_0116 - T0 - 13), "client: 2 a UTC day, retry until 00:00Z");
}

/* team-a's rolling day of 5 (3 at T0, 2 a minute later). */
static void
client_day(struct fx *f)
{
	const struct px_client_cfg *a = &f->cfg->clients[0];
	struct px_lease l4;

	T_CHECK(orq(f, a, 10, T0 + MIN_LEAVE) == PX_OK, "client: 4th today");
	l4 = f->last;
	T_CHECK(orq(f, a, 10, T0 + MIN_LEAVE + 1) == PX_OK &&
	    settle(f, &f->last, PX_SETTLE_DONE, -1, T0 + MIN_LEAVE + 2) ==
	    PX_OK && settle(f, &l4, PX_SETTLE_DONE, -1, T0 + MIN_LEAVE + 2) ==
	    PX_OK, "client: 5th today");
	T_CHECK(refused(f, orq(f, a, 10, T0 + 3 * MIN_MS), PX_LIMIT_CLIENT,
	    DAY_LEAVE - 3 * MIN_MS) && others_go(f, T0 + 3 * MIN_MS),
	    "client: its max_request_day refuses, retry when its first day "
	    "bucket leaves");
	T_CHECK(refused(f, orq(f, &f->cfg->clients[2], 1, UTC_0116 - 1),
	    PX_LIMIT_CLIENT, 1) && orq(f, &f->cfg->clients[2], 1, UTC_0116) ==
	    PX_OK, "client: a utc client day resets at 00:00Z exactly");
}

/* The usage team-a gets: its own entry and nothing else. */
static void
client_render(struct fx *f)
{
	const struct px_snapshot *sn;
	const cJSON *cl;
	cJSON *u = NULL;

	if (px_ledger_snapshot(f->lg, f->s, T0 + 7, &sn) == PX_OK &&
	    px_usage_render(sn, &f->cfg->clients[0], &f->raw) == PX_OK)
		u = cJSON_Parse(f->raw.p);
	cl = jget(u, "clients", END);
	T_CHECK(u != NULL && cJSON_GetArraySize(u) == 1 && cl != NULL &&
	    cJSON_GetArraySize(cl) == 1 && near(jnum(cl, "team-a", "req_min",
	    END), 3), "client render: only \"clients\" with its own entry");
	T_CHECK(strstr(f->raw.p, "team-b") == NULL &&
	    strstr(f->raw.p, "team-c") == NULL &&
	    strstr(f->raw.p, kid(f, 0, 0)) == NULL &&
	    strstr(f->raw.p, "team-a-0123") == NULL,
	    "client render: no other client's name, no key id, no secret");
	cJSON_Delete(u);
}

static void
test_clients(void)
{
	struct fx f;

	if (open_case(&f, CLIENTS "," PROVS(OR("'k1','k2'", BIG)),
	    "client: fixture") != 0)
		return;
	client_minute(&f);
	client_render(&f);
	client_tokens(&f);
	client_day(&f);
	fx_done(&f);
}

/* team-r's requests this minute and lifetime, and the minute's
 * requests over both keys (every attempt reached a provider), at now. */
static int
retry_counts(struct fx *f, int64_t now, double rmin, double life,
    double keys, const char *what)
{
	cJSON *u = fx_usage(f, now);
	double k = jnum(u, "details", "openrouter", "keys", kid(f, 0, 0),
	    "rate_limit_windows", "req_min", END) + jnum(u, "details",
	    "openrouter", "keys", kid(f, 0, 1), "rate_limit_windows",
	    "req_min", END);
	int ok = near(jnum(u, "clients", "team-r", "req_min", END), rmin) &&
	    near(jnum(u, "clients", "team-r", "lifetime_requests", END),
	    life) && near(k, keys);

	if (!ok)
		printf("#   %s: req_min %.0f lifetime %.0f keys %.0f; want "
		    "%.0f, %.0f, %.0f\n", what, jnum(u, "clients", "team-r",
		    "req_min", END), jnum(u, "clients", "team-r",
		    "lifetime_requests", END), k, rmin, life, keys);
	cJSON_Delete(u);
	return ok;
}

/* clients.team-r.<field> at now. */
static double
team_r(struct fx *f, int64_t now, const char *field)
{
	cJSON *u = fx_usage(f, now);
	double v = jnum(u, "clients", "team-r", field, END);

	cJSON_Delete(u);
	return v;
}

/* The retry of the lease in f->last, on the key it did not use. */
static enum px_err
retry_other(struct fx *f, const struct px_client_cfg *r, int64_t now)
{
	const struct px_key_cfg *ex[1];

	ex[0] = f->last.key;
	return ask(f, "or/model", PX_PROV_OPENROUTER, 10, r, ex, 1, now);
}

/* Its 3rd request of 3 a minute meets an upstream 500 (the key keeps
 * the request: it reached the provider) and is served by the other. */
static void
retry_after_500(struct fx *f, const struct px_client_cfg *r)
{
	struct px_lease l;

	T_CHECK(orq(f, r, 10, T0) == PX_OK && settle(f, &f->last,
	    PX_SETTLE_DONE, 10, T0) == PX_OK && orq(f, r, 10, T0 + 1) ==
	    PX_OK && settle(f, &f->last, PX_SETTLE_DONE, 10, T0 + 1) == PX_OK,
	    "client retry: two requests served");
	T_CHECK(orq(f, r, 10, T0 + 2) == PX_OK, "client retry: the 3rd");
	l = f->last;
	T_CHECK(px_ledger_settle(f->lg, f->s, &l, PX_SETTLE_RELEASE_TOKENS, -1,
	    1, T0 + 3) == PX_OK && retry_other(f, r, T0 + 4) == PX_OK &&
	    f->last.key != l.key && f->last.id != 0, "client retry: after an "
	    "upstream 500 the 3rd of 3 is retried on the other key, not "
	    "refused");
	T_CHECK(settle(f, &f->last, PX_SETTLE_DONE, 50, T0 + 5) == PX_OK &&
	    retry_counts(f, T0 + 6, 3, 3, 4, "after a 500") &&
	    near(team_r(f, T0 + 6, "tokens_min"), 70) &&
	    near(team_r(f, T0 + 6, "in_flight"), 0) &&
	    near(team_r(f, T0 + 6, "lifetime_tokens"), 70),
	    "client retry: the client counts 3 requests and 10 + 10 + 50 "
	    "tokens, the keys all 4 attempts");
	T_CHECK(refused(f, orq(f, r, 10, T0 + 7), PX_LIMIT_CLIENT,
	    MIN_LEAVE - 7), "client retry: the 4th refused: client_rate_limit");
}

/* A minute later: a 429 gives the request back, so its retry books it;
 * a carried retry's own 429 does not give back what the 500 kept. */
static void
retry_after_429(struct fx *f, const struct px_client_cfg *r)
{
	const int64_t t = T0 + MIN_LEAVE;
	const struct px_key_cfg *ex[2];

	T_CHECK(orq(f, r, 10, t) == PX_OK && settle(f, &f->last,
	    PX_SETTLE_RELEASE_ALL, 0, t + 1) == PX_OK &&
	    retry_other(f, r, t + 2) == PX_OK && settle(f, &f->last,
	    PX_SETTLE_DONE, 10, t + 2) == PX_OK &&
	    retry_counts(f, t + 3, 1, 4, 1, "after a 429"),
	    "client retry: after a 429 (nothing booked) the retry books the "
	    "request: once");
	T_CHECK(orq(f, r, 10, t + 4) == PX_OK, "client retry: a 500 chain");
	ex[0] = f->last.key;
	T_CHECK(settle(f, &f->last, PX_SETTLE_RELEASE_TOKENS, -1, t + 5) ==
	    PX_OK && retry_other(f, r, t + 6) == PX_OK,
	    "client retry: 2nd try");
	ex[1] = f->last.key;
	T_CHECK(settle(f, &f->last, PX_SETTLE_RELEASE_ALL, 0, t + 7) == PX_OK &&
	    ask(f, "or/model", PX_PROV_OPENROUTER, 10, r, ex, 2, t + 8) ==
	    PX_ERATE && retry_counts(f, t + 9, 2, 5, 2, "after a chain"),
	    "client retry: 500 then 429: still one request of the client");
	T_CHECK(orq(f, r, 10, t + 10) == PX_OK &&
	    refused(f, orq(f, r, 10, t + 11), PX_LIMIT_CLIENT, -1) &&
	    retry_counts(f, t + 12, 3, 6, 3, "new requests"),
	    "client retry: the next request books normally: 3 of 3");
}

static void
test_client_retry(void)
{
	struct fx f;

	if (open_case(&f, "'model_usage_gap_percentage':0,'access_keys':[{"
	    "'key':'team-r-0123456789abcdef01234567','name':'team-r',"
	    "'max_request_min':3,'max_concurrent':2}]," PROVS(
	    OR("'k1','k2'", BIG)), "client retry: fixture") != 0)
		return;
	retry_after_500(&f, &f.cfg->clients[0]);
	retry_after_429(&f, &f.cfg->clients[0]);
	fx_done(&f);
}

/* team-a may send 1 a minute; the one key 1 a day. Once both are spent,
 * the client's refusal names its own limit but says to come back when a
 * key has room too (24 h), not when its minute frees. */
static void
test_client_retry_time(void)
{
	struct fx f;

	if (open_case(&f, "'access_keys':[{'key':'team-a-0123456789abcdef0123'"
	    ",'name':'team-a','max_request_min':1}]," PROVS(OR("'k1'",
	    LIM(1, 1000000, 100))), "client retry time: fixture") != 0)
		return;
	T_CHECK(orq(&f, &f.cfg->clients[0], 1, T0) == PX_OK,
	    "client retry time: the client's one request");
	T_CHECK(refused(&f, orq(&f, &f.cfg->clients[0], 1, T0 + 1000),
	    PX_LIMIT_CLIENT, DAY_LEAVE - 1000), "client retry time: "
	    "client_rate_limit, retry when a key has room too (its day)");
	T_CHECK(refused(&f, orq(&f, NULL, 1, T0 + 1000), PX_LIMIT_KEY,
	    DAY_LEAVE - 1000), "client retry time: the admin key: the key's "
	    "day");
	fx_done(&f);
}

static void
test_limit_codes(void)
{
	static const char *const want[PX_LIMIT__MAX] = { "key_rate_limit",
	    "owner_rate_limit", "model_rate_limit", "concurrency_limit",
	    "client_rate_limit" };
	int i, ok = 1;

	for (i = 0; i < PX_LIMIT__MAX; i++)
		ok &= t_streq(px_limit_code((enum px_limit)i), want[i]);
	T_CHECK(ok, "codes: one per limit, as issue 13 names them");
	T_CHECK(t_streq(px_limit_code(PX_LIMIT__MAX), "key_rate_limit"),
	    "codes: out of range reads as key_rate_limit");
}

/* --- the snapshot and /v1/usage ------------------------------------------- */

#define USAGE_CFG "'owners':{'pa':{'max_request_day':100,'max_concurrent':4," \
	"'day_reset':'provider','model_limits':{'" FLASH "':" \
	"{'max_request_day':20},'gemini-2.5-*':{'max_request_min':5}}}}," \
	"'access_keys':[{'key':'team-a-0123456789abcdef01234567'," \
	"'name':'team-a','max_request_min':10,'max_concurrent':3," \
	"'day_reset':'utc'},{'key':'team-b-0123456789abcdef01234567'," \
	"'name':'team-b'}]," PROVS(GM("'a1','a2'", LIM(1500, 250000, 15) \
	",'owner':'pa','max_concurrent':2,'model_limits':{'gemini-2.5-pro':" \
	"{'max_request_min':2}}") "," OR("'o1'", LIM(50, 100000, 20) \
	",'day_reset':'utc'"))

/* A number at a path under root, printed when it is not want. */
static int
num_is(const cJSON *root, double want, const char *what, ...)
{
	const cJSON *j = root;
	const char *name;
	va_list ap;

	va_start(ap, what);
	for (name = va_arg(ap, const char *); name != NULL && j != NULL;
	    name = va_arg(ap, const char *))
		j = cJSON_GetObjectItemCaseSensitive(j, name);
	va_end(ap);
	if (near(num_of(j), want))
		return 1;
	printf("#   %s: %.0f, want %.0f\n", what, num_of(j), want);
	return 0;
}

static void
usage_owner(const cJSON *u)
{
	const cJSON *o = jget(u, "owners", "pa", END);
	int ok = 1;

	ok &= num_is(o, 4, "owner req_day", "req_day", END);
	ok &= num_is(o, 4, "owner req_min", "req_min", END);
	ok &= num_is(o, 4, "owner in_flight", "in_flight", END);
	ok &= num_is(o, 100, "owner max_request_day", "limits",
	    "max_request_day", END);
	ok &= num_is(o, 4, "owner max_concurrent", "limits", "max_concurrent",
	    END);
	ok &= cJSON_IsNull(jget(o, "limits", "max_token_min", END));
	ok &= t_streq(jstr(o, "day_reset", END), "pacific") &&
	    t_streq(jstr(o, "resets_at", END), "2027-01-16T08:00:00Z");
	ok &= num_is(o, 3, "flash req_day", "models", FLASH, "req_day", END);
	ok &= num_is(o, 20, "flash max_request_day", "models", FLASH,
	    "limits", "max_request_day", END);
	ok &= num_is(o, 1, "2.5-* req_min", "models", "gemini-2.5-*",
	    "req_min", END);
	ok &= num_is(o, 5, "2.5-* max_request_min", "models", "gemini-2.5-*",
	    "limits", "max_request_min", END);
	ok &= cJSON_GetArraySize(jget(o, "models", END)) == 2;
	T_CHECK(ok, "usage: the owner, its model entries, in flight, its day");
}

static void
usage_keys(const struct fx *f, const cJSON *u)
{
	const cJSON *a1 = jget(u, "details", "gemini", "keys", kid(f, 0, 0),
	    END);
	const cJSON *a2 = jget(u, "details", "gemini", "keys", kid(f, 0, 1),
	    END);
	const cJSON *o1 = jget(u, "details", "openrouter", "keys",
	    kid(f, 1, 0), END);
	int ok = 1;

	ok &= num_is(a1, 2, "a1 in_flight", "in_flight", END);
	ok &= num_is(a2, 2, "a2 in_flight", "in_flight", END);
	ok &= num_is(a1, 0, "a1 pro req_min", "models", "gemini-2.5-pro",
	    "req_min", END);
	ok &= num_is(a2, 1, "a2 pro req_min", "models", "gemini-2.5-pro",
	    "req_min", END);
	ok &= num_is(a2, 2, "a2 pro max_request_min", "models",
	    "gemini-2.5-pro", "limits", "max_request_min", END);
	ok &= t_streq(jstr(a1, "day_reset", END), "rolling") &&
	    cJSON_IsNull(jget(a1, "resets_at", END));
	ok &= num_is(o1, 0, "o1 in_flight", "in_flight", END);
	ok &= num_is(o1, 1, "o1 req_day", "rate_limit_windows", "req_day",
	    END);
	ok &= t_streq(jstr(o1, "day_reset", END), "utc") &&
	    t_streq(jstr(o1, "resets_at", END), "2027-01-16T00:00:00Z");
	ok &= cJSON_GetArraySize(jget(o1, "models", END)) == 0;
	T_CHECK(ok, "usage: keys' in flight, model windows, days");
}

static void
usage_clients(const cJSON *u)
{
	const cJSON *a = jget(u, "clients", "team-a", END);
	const cJSON *b = jget(u, "clients", "team-b", END);
	int ok = 1;

	ok &= num_is(a, 2, "team-a req_min", "req_min", END);
	ok &= num_is(a, 2, "team-a req_day", "req_day", END);
	ok &= num_is(a, 2, "team-a in_flight", "in_flight", END);
	ok &= num_is(a, 2, "team-a lifetime_requests", "lifetime_requests",
	    END);
	ok &= num_is(a, 10, "team-a max_request_min", "limits",
	    "max_request_min", END);
	ok &= num_is(a, 3, "team-a max_concurrent", "limits",
	    "max_concurrent", END);
	ok &= t_streq(jstr(a, "day_reset", END), "utc") &&
	    t_streq(jstr(a, "resets_at", END), "2027-01-16T00:00:00Z");
	ok &= num_is(b, 0, "team-b req_min", "req_min", END);
	ok &= num_is(b, 0, "team-b in_flight", "in_flight", END);
	ok &= cJSON_GetArraySize(jget(u, "clients", END)) == 2;
	T_CHECK(ok, "usage: both clients for the admin key");
}

/* What team-b sees: its own entry, nothing of team-a, pa or the keys. */
static void
usage_client_view(struct fx *f, int64_t now)
{
	const struct px_snapshot *sn;
	cJSON *u = NULL;

	if (px_ledger_snapshot(f->lg, f->s, now, &sn) == PX_OK &&
	    px_usage_render(sn, &f->cfg->clients[1], &f->raw) == PX_OK)
		u = cJSON_Parse(f->raw.p);
	T_CHECK(u != NULL && cJSON_GetArraySize(u) == 1 &&
	    cJSON_GetArraySize(jget(u, "clients", END)) == 1 &&
	    near(jnum(u, "clients", "team-b", "req_min", END), 0),
	    "usage: team-b's view is its own entry");
	T_CHECK(strstr(f->raw.p, "team-a") == NULL &&
	    strstr(f->raw.p, "\"pa\"") == NULL &&
	    strstr(f->raw.p, kid(f, 0, 0)) == NULL &&
	    strstr(f->raw.p, "owners") == NULL,
	    "usage: team-b sees no other client, owner or key");
	cJSON_Delete(u);
}

/* At T0 + 1 h: admin 3 x flash (a1, a2, a1), team-a gemini-2.5-pro (a2)
 * and or/model (o1); all in flight, so pa (4) and both keys (2) are
 * full. */
static void
test_usage(void)
{
	const int64_t t = T0 + HOUR_MS;
	const struct px_client_cfg *a;
	struct px_lease pro;
	struct fx f;
	cJSON *u;
	int ok;

	if (open_case(&f, USAGE_CFG, "usage: fixture") != 0)
		return;
	a = &f.cfg->clients[0];
	ok = gm(&f, FLASH, t) == PX_OK && gm(&f, FLASH, t + 1) == PX_OK &&
	    gm(&f, FLASH, t + 2) == PX_OK;
	ok &= ask(&f, "gemini-2.5-pro", PX_PROV_GEMINI, 1, a, NULL, 0,
	    t + 3) == PX_OK && key_ix(&f, &f.last) == 1;
	pro = f.last;
	ok &= orq(&f, a, 1, t + 4) == PX_OK;
	T_CHECK(ok, "usage: five reservations");
	T_CHECK(refused(&f, gm(&f, FLASH, t + 5), PX_LIMIT_CONCURRENCY, 1000),
	    "usage: pa and its keys full: concurrency_limit");
	u = fx_usage(&f, t + 10);
	T_CHECK(u != NULL, "usage: valid JSON");
	usage_owner(u);
	usage_keys(&f, u);
	usage_clients(u);
	T_CHECK(t_streq(jstr(u, "ledger_backend", END),
	    fx_redis_url != NULL ? "redis" : "lmdb"), "usage: the backend");
	cJSON_Delete(u);
	T_CHECK(ask(&f, FLASH, PX_PROV_GEMINI, 1, &f.cfg->clients[1], NULL, 0,
	    t + 11) == PX_ERATE && settle(&f, &pro, PX_SETTLE_DONE, 77,
	    t + 12) == PX_OK, "usage: team-b refused too; pro settled");
	u = fx_usage(&f, t + 13);
	T_CHECK(near(jnum(u, "clients", "team-a", "lifetime_tokens", END),
	    77) && near(jnum(u, "clients", "team-a", "tokens_min", END), 78) &&
	    near(jnum(u, "clients", "team-a", "in_flight", END), 1) &&
	    near(jnum(u, "owners", "pa", "in_flight", END), 3) &&
	    near(jnum(u, "clients", "team-b", "lifetime_requests", END), 0),
	    "usage: a settle books the client's real tokens, frees its slots");
	cJSON_Delete(u);
	usage_client_view(&f, t + 13);
	fx_done(&f);
}

/* --- the seed's config ---------------------------------------------------- */

#define SEED_LIM LIM(1500, 150000, 15)
#define SEED_PROVS PROVS(OR("'key1','key2'", SEED_LIM) "," \
	GM("'key1','key2'", SEED_LIM))
#define SEED_TOP "'model_usage_gap_percentage':5,'auto-models':" \
	"['gpt-3.5-turbo:free','gemini-pro'],"
#define NTRACE 48

/* What one script got, step by step. */
struct trace {
	int e[NTRACE], key[NTRACE];
	int64_t retry[NTRACE];
	int limit_key;		/* every refusal named key_rate_limit */
	int ids;		/* leases with an id */
};

/* 40 openrouter requests 100 ms apart, 4 gemini ones, an estimate above
 * max_token_min, 3 openrouter requests a minute later. */
static int
seed_trace(const char *cfg, struct trace *tr)
{
	struct fx f;
	int i;

	memset(tr, 0, sizeof(*tr));
	tr->limit_key = 1;
	if (open_case(&f, cfg, "seed: fixture") != 0)
		return -1;
	for (i = 0; i < NTRACE; i++) {
		int64_t now = T0 + 100 * (int64_t)i;
		enum px_err e;

		if (i >= 45)
			e = orq(&f, NULL, 7, now + MIN_LEAVE);
		else if (i == 44)
			e = orq(&f, NULL, 150001, now);
		else if (i >= 40)
			e = gm(&f, "gemini-pro", now);
		else
			e = orq(&f, NULL, 7, now);
		tr->e[i] = (int)e;
		tr->key[i] = key_ix(&f, &f.last);
		tr->retry[i] = f.retry;
		if (e == PX_ERATE && px_ledger_limit(f.s) != PX_LIMIT_KEY)
			tr->limit_key = 0;
		tr->ids += f.last.id != 0;
	}
	fx_done(&f);
	return 0;
}

static void
seed_expect(const struct trace *tr)
{
	int i, ok = 1, n = 0;

	for (i = 0; i < 40; i++) {
		n += tr->e[i] == PX_OK;
		if (i < 30)
			ok &= tr->e[i] == PX_OK && tr->key[i] == i % 2;
		else
			ok &= tr->e[i] == PX_ERATE &&
			    tr->retry[i] == MIN_LEAVE - 100 * i;
	}
	T_CHECK(ok && n == 30 && tr->limit_key,
	    "seed: 2 keys x 15 a minute: 30 admitted in turn, then refused "
	    "(key_rate_limit) until the first bucket leaves");
	T_CHECK(tr->e[40] == PX_OK && tr->key[40] >= 2 && tr->e[43] == PX_OK &&
	    tr->e[44] == PX_EBADREQ && tr->e[45] == PX_OK &&
	    tr->e[47] == PX_OK && tr->ids == 0,
	    "seed: gemini served, the estimate above max_token_min refused, "
	    "openrouter again a minute later; no lease ids");
}

static void
test_seed(void)
{
	struct trace a, b;
	struct fx f;
	cJSON *u;

	if (seed_trace(SEED_TOP SEED_PROVS, &a) != 0)
		return;
	seed_expect(&a);
	/* the same with new fields that limit nothing */
	if (seed_trace(SEED_TOP "'owners':{'acct':{'max_request_day':100000}},"
	    PROVS(OR("'key1','key2'", LIM(1500, 150000, 15) ",'owner':'acct',"
	    "'day_reset':'rolling','model_limits':{'x/*':"
	    "{'max_request_min':1}}") "," GM("'key1','key2'", SEED_LIM)),
	    &b) != 0)
		return;
	T_CHECK(memcmp(a.e, b.e, sizeof(a.e)) == 0 &&
	    memcmp(a.key, b.key, sizeof(a.key)) == 0 &&
	    memcmp(a.retry, b.retry, sizeof(a.retry)) == 0,
	    "seed: an owner, model limits and day_reset that bind nothing "
	    "change no step");
	if (open_case(&f, SEED_TOP SEED_PROVS,
	    "seed: fixture") != 0)
		return;
	T_CHECK(orq(&f, NULL, 7, T0) == PX_OK, "seed: a reservation");
	u = fx_usage(&f, T0);
	T_CHECK(cJSON_GetArraySize(jget(u, "owners", END)) == 0 &&
	    cJSON_GetArraySize(jget(u, "clients", END)) == 0 &&
	    jget(u, "owners", END) != NULL && jget(u, "clients", END) != NULL &&
	    near(keynum(&f, u, 0, 0, "in_flight"), 0) &&
	    t_streq(jstr(u, "details", "openrouter", "keys", kid(&f, 0, 0),
	    "day_reset", END), "rolling") && cJSON_IsNull(jget(u, "details",
	    "openrouter", "keys", kid(&f, 0, 0), "resets_at", END)) &&
	    cJSON_GetArraySize(jget(u, "details", "openrouter", "keys",
	    kid(&f, 0, 0), "models", END)) == 0 &&
	    near(keynum(&f, u, 0, 0, "requests"), 1),
	    "seed: usage: no owners, no clients, rolling days, no models");
	cJSON_Delete(u);
	fx_done(&f);
}

static void
suite(void)
{
	test_limit_codes();
	test_owner_day();
	test_owner_entries();
	test_owner_minute();
	test_owner_tokens();
	test_key_models();
	test_owner_models();
	test_gap_rule();
	test_candidates();
	test_conc_key();
	test_conc_owner();
	test_conc_ttl();
	test_conc_uncapped();
	test_lease_ids();
	test_conc_bound();
	test_days();
	test_owner_days();
	test_clients();
	test_client_retry();
	test_client_retry_time();
	test_usage();
	test_seed();
}

int
main(void)
{
	return fx_run(suite);
}
