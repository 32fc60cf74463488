/*
 * test_health.c -- key health in the shared quota ledger: what a settled
 * verdict (px_ledger_settle_ex) does to a key and to its provider, and
 * which keys px_ledger_reserve_ex may choose afterwards.
 * Covers: a 429 with a hint (cooling until it, retry_ms, /v1/usage); the
 * 10/30/60/300 s escalation without one and its end on success; a daily
 * quota kept out of the provider rule; the provider back-off when several
 * keys get 429s within 10 s, and when they do not; a disabled key and its
 * single probe; errors without penalty; the exclude list.
 * Never: sleeps or reads a clock (time is injected). Each case gets its
 * own mkdtemp state directory under /tmp, removed at the end. Configs are
 * in-memory JSON written with ' for ".
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "buf.h"
#include "config.h"
#include "ledger.h"
#include "retryhint.h"
#include "router.h"
#include "tharness.h"
#include "ledger_fx.h"

#define T0 INT64_C(1800000000000)	/* 2027-01-15T08:00:00Z */
#define MIN_MS INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
/* The minute-ring bucket of T0 leaves at T0 + 60 100 (win.h). */
#define MIN_LEAVE INT64_C(60100)
#define MAXKEYS 8
#define ROOMY LIM(1000, 100000, 100)

static const struct px_candidate or_only[] = {
	{ "or/model", PX_PROV_OPENROUTER },
};
static const struct px_candidate or_gm[] = {
	{ "or/model", PX_PROV_OPENROUTER },
	{ "gemini-2.0-flash", PX_PROV_GEMINI },
};

/* Verdicts as retryhint.c would give them (reasons from its vocabulary). */
static const struct px_verdict v_rate = { PX_FAULT_RATE, 0, 0,
    "429 no hint" };
static const struct px_verdict v_auth = { PX_FAULT_AUTH, 0, 0,
    "401 unauthorized" };
static const struct px_verdict v_upstream = { PX_FAULT_UPSTREAM, 0, 0,
    "5xx upstream" };
static const struct px_verdict v_client = { PX_FAULT_CLIENT, 0, 0,
    "client error" };
static const struct px_verdict v_ok = { PX_FAULT_NONE, 0, 0, "ok" };

/* What /v1/usage says about one key; strings copied, "null" for null. */
struct health {
	char   state[16];
	char   reason[64];
	char   until[32];
	double errors;
	double req_min;
	double life_req;
};

/* --- reserving and settling --------------------------------------------- */

/* Key k of the first provider entry (openrouter in every config here). */
static const struct px_key_cfg *
key(const struct fx *f, size_t k)
{
	return &f->cfg->providers[0].keys[k];
}

/* Reserve 1 token for c[0..nc) at now, never on ex[0..nx). */
static enum px_err
rsv_x(struct fx *f, const struct px_candidate *c, size_t nc,
    const struct px_key_cfg *const *ex, size_t nx, int64_t now)
{
	memset(&f->last, 0, sizeof(f->last));
	f->retry = -1;
	return px_ledger_reserve_ex(f->lg, f->s, c, nc, 1, ex, nx, now,
	    &f->last, &f->retry);
}

/* Reserve for the openrouter model, nothing excluded. */
static enum px_err
rsv(struct fx *f, int64_t now)
{
	return rsv_x(f, or_only, 1, NULL, 0, now);
}

/* Reserve on openrouter key k alone (its siblings excluded); the lease
 * goes to *l (zeroed on failure). PX_EINTERNAL if another key came back. */
static enum px_err
rsv_on(struct fx *f, size_t k, int64_t now, struct px_lease *l)
{
	const struct px_key_cfg *ex[MAXKEYS];
	size_t i, n = 0;
	enum px_err e;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < f->cfg->providers[0].nkeys && n < MAXKEYS; i++)
		if (i != k)
			ex[n++] = key(f, i);
	e = rsv_x(f, or_only, 1, ex, n, now);
	if (e != PX_OK)
		return e;
	if (f->last.key != key(f, k))
		return PX_EINTERNAL;
	*l = f->last;
	return PX_OK;
}

/* Settle l at now with verdict v (NULL: a plain success). */
static int
verdict(struct fx *f, const struct px_lease *l, enum px_settle how,
    const struct px_verdict *v, int64_t now)
{
	if (l->key == NULL)
		return -1;
	return px_ledger_settle_ex(f->lg, f->s, l, how,
	    how == PX_SETTLE_DONE ? 1 : 0, v, now) == PX_OK ? 0 : -1;
}

/* A 429 without a hint: the request did not count upstream. */
static int
rate429(struct fx *f, const struct px_lease *l, int64_t now)
{
	return verdict(f, l, PX_SETTLE_RELEASE_ALL, &v_rate, now);
}

/* A string, "null" for null, "?" for anything else or absent. */
static void
jstr(const cJSON *j, char *dst, size_t cap)
{
	if (cJSON_IsString(j))
		snprintf(dst, cap, "%s", j->valuestring);
	else
		snprintf(dst, cap, "%s", cJSON_IsNull(j) ? "null" : "?");
}

static double
jnum(const cJSON *j)
{
	return cJSON_IsNumber(j) ? j->valuedouble : -1.0;
}

/* Health of openrouter key k at now. */
static void
health(struct fx *f, int64_t now, size_t k, struct health *h)
{
	cJSON *u = fx_usage(f, now);
	const cJSON *kj = jget(u, "details", "openrouter", "keys",
	    key(f, k)->id, (const char *)NULL);

	jstr(jget(kj, "state", (const char *)NULL), h->state,
	    sizeof(h->state));
	jstr(jget(kj, "reason", (const char *)NULL), h->reason,
	    sizeof(h->reason));
	jstr(jget(kj, "until", (const char *)NULL), h->until,
	    sizeof(h->until));
	h->errors = jnum(jget(kj, "errors", (const char *)NULL));
	h->req_min = jnum(jget(kj, "rate_limit_windows", "req_min",
	    (const char *)NULL));
	h->life_req = jnum(jget(kj, "lifetime_requests", (const char *)NULL));
	cJSON_Delete(u);
}

/* Does key k show this state, reason and until at now? */
static int
key_is(struct fx *f, int64_t now, size_t k, const char *state,
    const char *reason, const char *until)
{
	struct health h;

	health(f, now, k, &h);
	if (strcmp(h.state, state) == 0 && strcmp(h.reason, reason) == 0 &&
	    strcmp(h.until, until) == 0)
		return 1;
	printf("#   key %zu: %s/%s/%s, want %s/%s/%s\n", k, h.state, h.reason,
	    h.until, state, reason, until);
	return 0;
}

static double
errors_of(struct fx *f, int64_t now, size_t k)
{
	struct health h;

	health(f, now, k, &h);
	return h.errors;
}

/* details.openrouter.backoff_until at now ("null" when none). */
static void
backoff(struct fx *f, int64_t now, char *dst, size_t cap)
{
	cJSON *u = fx_usage(f, now);

	jstr(jget(u, "details", "openrouter", "backoff_until",
	    (const char *)NULL), dst, cap);
	cJSON_Delete(u);
}

static int
backoff_is(struct fx *f, int64_t now, const char *want)
{
	char got[32];

	backoff(f, now, got, sizeof(got));
	if (strcmp(got, want) == 0)
		return 1;
	printf("#   backoff_until %s, want %s\n", got, want);
	return 0;
}

static int
near(double a, double b)
{
	return a - b < 1e-9 && b - a < 1e-9;
}

/* --- 429 with a hint ---------------------------------------------------- */

/* One key, one request a minute: a 429 asking for 7 s, settled as
 * release_all (so the minute slot must come back). */
static void
test_rate_hint(void)
{
	const struct px_verdict v = { PX_FAULT_RATE, T0 + 7000, 0,
	    "429 retry-after" };
	struct px_lease l = { 0 };
	struct health h;
	struct fx f;

	if (fx_new(&f, PROVS(OR("'sk-a'", LIM(1000, 100000, 1)))) != 0 ||
	    rsv_on(&f, 0, T0, &l) != PX_OK ||
	    verdict(&f, &l, PX_SETTLE_RELEASE_ALL, &v, T0) != 0) {
		fx_fail(&f, "hint: fixture");
		return;
	}
	T_CHECK(key_is(&f, T0 + 1, 0, "cooling", "429 retry-after",
	    "2027-01-15T08:00:07Z"), "hint: usage shows cooling until +7 s");
	health(&f, T0 + 1, 0, &h);
	T_CHECK(near(h.req_min, 0) && near(h.life_req, 0),
	    "hint: release_all gave the request slot back");
	T_CHECK(near(h.errors, 1), "hint: the 429 counts one error");
	T_CHECK(rsv(&f, T0 + 1) == PX_ERATE && f.retry == 6999,
	    "hint: refused while cooling, retry = until - now");
	T_CHECK(rsv(&f, T0 + 6999) == PX_ERATE && f.retry == 1,
	    "hint: refused 1 ms before until");
	T_CHECK(key_is(&f, T0 + 7000, 0, "active", "null", "null"),
	    "hint: active again at until");
	/* max_request_min 1: only possible if the slot was given back */
	T_CHECK(rsv(&f, T0 + 7000) == PX_OK && f.last.key == key(&f, 0),
	    "hint: eligible at until");
	fx_done(&f);
}

/* --- escalation without a hint ------------------------------------------ */

/* One key: each attempt starts when the previous cooldown ended and is
 * settled 5 ms later; cool is the cooldown it must start (0: none). */
static void
test_escalation(void)
{
	static const struct { const struct px_verdict *v; int64_t cool; }
	    step[] = {
		{ &v_rate, 10000 }, { &v_rate, 30000 }, { &v_rate, 60000 },
		{ &v_rate, 300000 }, { &v_rate, 300000 },
		{ NULL, 0 },		/* success: the escalation ends */
		{ &v_rate, 10000 }, { &v_rate, 30000 },
		{ &v_ok, 0 },		/* PX_FAULT_NONE, done: the same */
		{ &v_rate, 10000 },
	};
	struct px_lease l = { 0 };
	struct fx f;
	int64_t t = T0, end;
	size_t i;
	int ok;

	if (fx_new(&f, PROVS(OR("'sk-a'", ROOMY))) != 0) {
		fx_fail(&f, "escalation: fixture");
		return;
	}
	for (i = 0; i < sizeof(step) / sizeof(step[0]); i++) {
		ok = rsv_on(&f, 0, t, &l) == PX_OK;
		ok &= verdict(&f, &l, step[i].cool ? PX_SETTLE_RELEASE_ALL :
		    PX_SETTLE_DONE, step[i].v, t + 5) == 0;
		end = t + 5 + step[i].cool;
		if (step[i].cool > 0) {
			ok &= rsv(&f, t + 6) == PX_ERATE &&
			    f.retry == step[i].cool - 1;
			ok &= rsv(&f, end - 1) == PX_ERATE && f.retry == 1;
		}
		if (!ok)
			printf("#   step %zu: retry %lld\n", i,
			    (long long)f.retry);
		T_CHECK(ok, "escalation: 10, 30, 60, 300, 300 s; success ends");
		t = end;
	}
	fx_done(&f);
}

/* --- daily quota ---------------------------------------------------------- */

/* Two keys; sk-a gets an ordinary 429 and sk-b a daily one (20 h), 1 s
 * apart, in either order: within 10 s, but never a provider back-off. */
static void
daily_case(int daily_first)
{
	static const char *const until_a[] = { "2027-01-15T08:00:11Z",
	    "2027-01-15T08:00:12Z" };
	static const char *const until_b[] = { "2027-01-16T04:00:02Z",
	    "2027-01-16T04:00:01Z" };
	struct px_verdict d = { PX_FAULT_RATE, 0, 1, "429 daily quota" };
	int64_t ta = daily_first ? T0 + 2000 : T0 + 1000;
	int64_t tb = daily_first ? T0 + 1000 : T0 + 2000;
	struct px_lease la = { 0 }, lb = { 0 };
	struct fx f;

	d.until_ms = tb + 20 * HOUR_MS;
	if (fx_new(&f, PROVS(OR("'sk-a','sk-b'", ROOMY))) != 0 ||
	    rsv_on(&f, 0, T0, &la) != PX_OK ||
	    rsv_on(&f, 1, T0, &lb) != PX_OK) {
		fx_fail(&f, "daily: fixture");
		return;
	}
	if (daily_first)
		T_CHECK(verdict(&f, &lb, PX_SETTLE_RELEASE_ALL, &d, tb) == 0 &&
		    rate429(&f, &la, ta) == 0, "daily: settled, daily first");
	else
		T_CHECK(rate429(&f, &la, ta) == 0 && verdict(&f, &lb,
		    PX_SETTLE_RELEASE_ALL, &d, tb) == 0,
		    "daily: settled, daily second");
	T_CHECK(backoff_is(&f, T0 + 2000, "null"),
	    "daily: no provider back-off");
	T_CHECK(key_is(&f, T0 + 2000, 0, "cooling", "429 no hint",
	    until_a[daily_first]), "daily: the other key cools its 10 s");
	T_CHECK(key_is(&f, T0 + 2000, 1, "cooling", "429 daily quota",
	    until_b[daily_first]), "daily: the key cools for 20 h");
	T_CHECK(rsv_on(&f, 1, d.until_ms - 1, &lb) == PX_ERATE,
	    "daily: not eligible 1 ms before its until");
	T_CHECK(rsv_on(&f, 1, d.until_ms, &lb) == PX_OK,
	    "daily: eligible at its until");
	fx_done(&f);
}

/*
 * Three keys; sk-c is out of its daily quota for 20 h, then sk-a and
 * sk-b get 429s 1 s apart: the provider backs off and pardons sk-a and
 * sk-b, but sk-c's daily cooldown must stay.
 */
static void
test_daily_stays(void)
{
	const struct px_verdict d = { PX_FAULT_RATE, T0 + 20 * HOUR_MS, 1,
	    "429 daily quota" };
	struct px_lease la = { 0 }, lb = { 0 }, lc = { 0 };
	struct fx f;

	if (fx_new(&f, PROVS(OR("'sk-a','sk-b','sk-c'", ROOMY))) != 0 ||
	    rsv_on(&f, 0, T0, &la) != PX_OK ||
	    rsv_on(&f, 1, T0, &lb) != PX_OK ||
	    rsv_on(&f, 2, T0, &lc) != PX_OK ||
	    verdict(&f, &lc, PX_SETTLE_RELEASE_ALL, &d, T0) != 0) {
		fx_fail(&f, "daily stays: fixture");
		return;
	}
	T_CHECK(rate429(&f, &la, T0 + 1000) == 0 &&
	    rate429(&f, &lb, T0 + 2000) == 0 &&
	    backoff_is(&f, T0 + 2000, "2027-01-15T08:00:12Z"),
	    "daily stays: two other keys back the provider off");
	T_CHECK(key_is(&f, T0 + 2000, 2, "cooling", "429 daily quota",
	    "2027-01-16T04:00:00Z"),
	    "daily stays: the back-off does not pardon a daily quota");
	T_CHECK(rsv_on(&f, 2, T0 + 12000, &lc) == PX_ERATE,
	    "daily stays: the key is still out after the back-off");
	fx_done(&f);
}

/* --- provider back-off ---------------------------------------------------- */

/* Three openrouter keys and one gemini key; 429s without hints on sk-a
 * at +1 s and sk-b at +5 s: the provider backs off 10 s from +5 s. */
static void
backoff_start(struct fx *f)
{
	struct px_lease la = { 0 }, lb = { 0 }, lc = { 0 };

	T_CHECK(rsv_on(f, 0, T0, &la) == PX_OK &&
	    rsv_on(f, 1, T0, &lb) == PX_OK && rsv_on(f, 2, T0, &lc) == PX_OK,
	    "backoff: a lease on each key");
	T_CHECK(rate429(f, &la, T0 + 1000) == 0 &&
	    backoff_is(f, T0 + 1000, "null") &&
	    key_is(f, T0 + 1000, 0, "cooling", "429 no hint",
	    "2027-01-15T08:00:11Z"), "backoff: one 429 cools only its key");
	T_CHECK(rate429(f, &lb, T0 + 5000) == 0 &&
	    backoff_is(f, T0 + 5000, "2027-01-15T08:00:15Z"),
	    "backoff: a 2nd key within 10 s backs the provider off");
	T_CHECK(key_is(f, T0 + 5000, 0, "active", "null", "null") &&
	    key_is(f, T0 + 5000, 1, "active", "null", "null") &&
	    key_is(f, T0 + 5000, 2, "active", "null", "null"),
	    "backoff: sk-a pardoned, sk-b not blamed");
	T_CHECK(verdict(f, &lc, PX_SETTLE_DONE, NULL, T0 + 5000) == 0,
	    "backoff: sk-c's request ends well");
}

static void
test_backoff(void)
{
	struct px_lease la = { 0 };
	struct fx f;

	if (fx_new(&f, PROVS(OR("'sk-a','sk-b','sk-c'", ROOMY) ","
	    GM("'sk-g'", ROOMY))) != 0) {
		fx_fail(&f, "backoff: fixture");
		return;
	}
	backoff_start(&f);
	T_CHECK(rsv(&f, T0 + 5000) == PX_ERATE && f.retry == 10000,
	    "backoff: no key served, retry = back-off end - now");
	T_CHECK(rsv_x(&f, or_gm, 2, NULL, 0, T0 + 5000) == PX_OK &&
	    f.last.provider == PX_PROV_GEMINI,
	    "backoff: another provider's key is still served");
	T_CHECK(rsv(&f, T0 + 14999) == PX_ERATE && f.retry == 1,
	    "backoff: refused 1 ms before it ends");
	T_CHECK(rsv(&f, T0 + 15000) == PX_OK &&
	    f.last.provider == PX_PROV_OPENROUTER &&
	    backoff_is(&f, T0 + 15000, "null"), "backoff: over at its end");
	/* the pardon also ended sk-a's escalation: 10 s again, not 30 s */
	T_CHECK(rsv_on(&f, 0, T0 + 16000, &la) == PX_OK &&
	    rate429(&f, &la, T0 + 16000) == 0 &&
	    key_is(&f, T0 + 16000, 0, "cooling", "429 no hint",
	    "2027-01-15T08:00:26Z"),
	    "backoff: a pardoned key starts its escalation over");
	fx_done(&f);
}

/* A success ends the provider's back-off escalation: the next incident
 * backs off 10 s again, not 30 s. */
static void
test_backoff_reset(void)
{
	struct px_lease la = { 0 }, lb = { 0 };
	struct fx f;
	int64_t t = T0 + HOUR_MS;

	if (fx_new(&f, PROVS(OR("'sk-a','sk-b','sk-c'", ROOMY))) != 0) {
		fx_fail(&f, "backoff reset: fixture");
		return;
	}
	backoff_start(&f);	/* incident 1: 10 s, then sk-c succeeds */
	T_CHECK(rsv_on(&f, 0, t, &la) == PX_OK && rsv_on(&f, 1, t, &lb) ==
	    PX_OK && rate429(&f, &la, t) == 0 && rate429(&f, &lb, t + 1000) ==
	    0 && backoff_is(&f, t + 1000, "2027-01-15T09:00:11Z"),
	    "backoff reset: a success in between restarts at 10 s");
	/* without a success in between the next one escalates to 30 s */
	t += HOUR_MS;
	T_CHECK(rsv_on(&f, 0, t, &la) == PX_OK && rsv_on(&f, 1, t, &lb) ==
	    PX_OK && rate429(&f, &la, t) == 0 && rate429(&f, &lb, t + 1000) ==
	    0 && backoff_is(&f, t + 1000, "2027-01-15T10:00:31Z"),
	    "backoff reset: repeated incidents escalate");
	fx_done(&f);
}

/* A back-off pardons only the keys of the burst: a key cooling on its
 * own hint from earlier keeps it. */
static void
test_pardon_only_burst(void)
{
	static const struct px_verdict v_hint = { PX_FAULT_RATE,
	    T0 + 120000, 0, "429 retry-after" };
	struct px_lease la = { 0 }, lb = { 0 }, lc = { 0 };
	struct fx f;
	int64_t t = T0 + 62000;

	if (fx_new(&f, PROVS(OR("'sk-a','sk-b','sk-c'", ROOMY))) != 0 ||
	    rsv_on(&f, 2, T0, &lc) != PX_OK ||
	    verdict(&f, &lc, PX_SETTLE_RELEASE_ALL, &v_hint, T0) != 0 ||
	    rsv_on(&f, 0, t, &la) != PX_OK || rsv_on(&f, 1, t, &lb) != PX_OK ||
	    rate429(&f, &la, t) != 0 || rate429(&f, &lb, t + 1000) != 0) {
		fx_fail(&f, "pardon: fixture");
		return;
	}
	T_CHECK(backoff_is(&f, t + 1000, "2027-01-15T08:01:13Z"),
	    "pardon: the burst backs the provider off");
	T_CHECK(key_is(&f, t + 1000, 2, "cooling", "429 retry-after",
	    "2027-01-15T08:02:00Z"), "pardon: an older cooldown stays");
	fx_done(&f);
}

/* Three keys; 429s on keys k1 (at +1 s) then k2 (gap ms later). */
static void
test_not_correlated(void)
{
	static const struct {
		size_t k1, k2;
		int64_t gap;
		const char *backoff;
		const char *what;
	} v[] = {
		{ 0, 0, 1000, "null", "corr: one key twice is not a provider" },
		{ 0, 1, 11000, "null", "corr: two keys 11 s apart are not" },
		{ 0, 1, 10000, "2027-01-15T08:00:21Z",
		  "corr: two keys 10 s apart are (within 10 s)" },
	};
	struct px_lease l1 = { 0 }, l2 = { 0 };
	struct fx f;
	size_t i;
	int64_t t2;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		t2 = T0 + 1000 + v[i].gap;
		if (fx_new(&f, PROVS(OR("'sk-a','sk-b','sk-c'", ROOMY))) != 0 ||
		    rsv_on(&f, v[i].k1, T0, &l1) != PX_OK ||
		    rsv_on(&f, v[i].k2, T0, &l2) != PX_OK ||
		    rate429(&f, &l1, T0 + 1000) != 0 ||
		    rate429(&f, &l2, t2) != 0) {
			fx_fail(&f, "corr: fixture");
			continue;
		}
		T_CHECK(backoff_is(&f, t2, v[i].backoff), v[i].what);
		if (v[i].backoff[0] == 'n')
			T_CHECK(rsv(&f, t2) == PX_OK &&
			    f.last.key != key(&f, v[i].k2) &&
			    rsv_on(&f, v[i].k2, t2, &l2) == PX_ERATE,
			    "corr: the key cools, the others serve");
		fx_done(&f);
	}
}

/* n keys; the first `hit` get a 429 each, 1 s apart: back-off or not.
 * Without one, key i cools until T0 + i s + 11 s; with one, the
 * provider backs off 10 s from the last 429. */
static void
half_case(size_t n, size_t hit, int backs_off)
{
	static const char *const at[] = { "2027-01-15T08:00:11Z",
	    "2027-01-15T08:00:12Z", "2027-01-15T08:00:13Z" };
	char keys[128], cfg[512];
	struct px_lease l = { 0 };
	struct fx f;
	size_t i, len = 0;
	int64_t last = T0 + 1000 * (int64_t)hit;	/* the last 429 */
	int ok = 1;

	for (i = 0; i < n; i++)
		len += (size_t)snprintf(keys + len, sizeof(keys) - len,
		    "%s'sk-%zu'", i ? "," : "", i);
	snprintf(cfg, sizeof(cfg), PROVS(OR("%s", ROOMY)), keys);
	if (fx_new(&f, cfg) != 0) {
		fx_fail(&f, "half: fixture");
		return;
	}
	for (i = 0; i < hit; i++)
		ok &= rsv_on(&f, i, T0, &l) == PX_OK &&
		    rate429(&f, &l, T0 + 1000 * (int64_t)(i + 1)) == 0;
	for (i = 0; i < hit; i++)
		ok &= backs_off ? key_is(&f, last, i, "active", "null",
		    "null") : key_is(&f, last, i, "cooling", "429 no hint",
		    at[i]);
	ok &= backoff_is(&f, last, backs_off ? at[hit - 1] : "null");
	if (!ok)
		printf("#   %zu keys, %zu hit\n", n, hit);
	T_CHECK(ok, "half: back-off needs 2 keys and half of them");
	fx_done(&f);
}

static void
test_half(void)
{
	static const struct { size_t n, hit; int backs_off; } v[] = {
		{ 1, 1, 0 },	/* one key can never be two */
		{ 2, 2, 1 },
		{ 3, 2, 1 },
		{ 4, 2, 1 },	/* exactly half */
		{ 5, 2, 0 },	/* 2 of 5: under half */
		{ 5, 3, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		half_case(v[i].n, v[i].hit, v[i].backs_off);
}

/* --- disabled keys ------------------------------------------------------ */

/* A probe is let through at T0 + 5 100 and held; it fails again. */
static void
auth_failed_probe(struct fx *f)
{
	struct px_lease p = { 0 };

	T_CHECK(rsv(f, T0 + 5099) == PX_ERATE && f->retry == 1,
	    "auth: refused 1 ms before key_reprobe_s");
	T_CHECK(rsv(f, T0 + 5100) == PX_OK, "auth: the probe gets the key");
	p = f->last;
	T_CHECK(rsv(f, T0 + 5100) == PX_ERATE && f->retry >= 1,
	    "auth: a concurrent request does not get it too");
	T_CHECK(rsv(f, T0 + 5100 + MIN_MS) == PX_ERATE,
	    "auth: nor a minute later while the probe is in flight");
	T_CHECK(verdict(f, &p, PX_SETTLE_RELEASE_ALL, &v_auth,
	    T0 + 65500) == 0 && key_is(f, T0 + 65500, 0, "disabled",
	    "401 unauthorized", "2027-01-15T08:01:10Z"),
	    "auth: a failed probe disables it for another 5 s");
	T_CHECK(rsv(f, T0 + 70499) == PX_ERATE && f->retry == 1,
	    "auth: refused until the next probe time");
}

/* Probe at T0 + 70 500: inconclusive (5xx), then a success. */
static void
auth_probe_again(struct fx *f)
{
	struct px_lease p = { 0 };

	T_CHECK(rsv(f, T0 + 70500) == PX_OK, "auth: second probe");
	p = f->last;
	T_CHECK(rsv(f, T0 + 70500) == PX_ERATE, "auth: again only one");
	T_CHECK(verdict(f, &p, PX_SETTLE_RELEASE_ALL, &v_upstream,
	    T0 + 70600) == 0 && key_is(f, T0 + 70600, 0, "disabled",
	    "401 unauthorized", "2027-01-15T08:01:10Z"),
	    "auth: a 5xx on the probe leaves it disabled");
	T_CHECK(rsv(f, T0 + 70601) == PX_OK,
	    "auth: an inconclusive probe lets the next one through");
	p = f->last;
	T_CHECK(verdict(f, &p, PX_SETTLE_DONE, &v_ok, T0 + 71000) == 0 &&
	    key_is(f, T0 + 71000, 0, "active", "null", "null"),
	    "auth: a successful probe makes it active");
	T_CHECK(rsv(f, T0 + 71001) == PX_OK && rsv(f, T0 + 71001) == PX_OK,
	    "auth: served freely again");
	T_CHECK(near(errors_of(f, T0 + 71001, 0), 3),
	    "auth: errors 401, 401, 5xx");
}

static void
test_auth(void)
{
	struct px_lease l = { 0 };
	struct fx f;

	if (fx_new(&f, "'key_reprobe_s':5," PROVS(OR("'sk-a'", ROOMY))) != 0 ||
	    rsv_on(&f, 0, T0, &l) != PX_OK) {
		fx_fail(&f, "auth: fixture");
		return;
	}
	T_CHECK(verdict(&f, &l, PX_SETTLE_RELEASE_ALL, &v_auth, T0 + 100) ==
	    0 && key_is(&f, T0 + 100, 0, "disabled", "401 unauthorized",
	    "2027-01-15T08:00:05Z"), "auth: disabled, probe at +5 s");
	T_CHECK(rsv(&f, T0 + 101) == PX_ERATE && f.retry == 4999,
	    "auth: refused, retry = probe time - now");
	auth_failed_probe(&f);
	auth_probe_again(&f);
	fx_done(&f);
}

/* --- errors without penalty --------------------------------------------- */

/* An active key: a 5xx and a client error change nothing but errors. */
static void
no_penalty_active(struct fx *f)
{
	static const struct {
		const struct px_verdict *v;
		enum px_settle how;
	} v[] = {
		{ &v_upstream, PX_SETTLE_RELEASE_ALL },
		{ &v_client,   PX_SETTLE_DONE },
	};
	struct px_lease l = { 0 };
	int64_t t;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		t = T0 + 1000 * (int64_t)i;
		T_CHECK(rsv_on(f, 0, t, &l) == PX_OK &&
		    verdict(f, &l, v[i].how, v[i].v, t + 1) == 0 &&
		    key_is(f, t + 1, 0, "active", "null", "null") &&
		    near(errors_of(f, t + 1, 0), (double)(i + 1)) &&
		    rsv(f, t + 2) == PX_OK,
		    "no penalty: still active, one more error");
	}
	l = f->last;
	T_CHECK(verdict(f, &l, PX_SETTLE_DONE, NULL, T0 + 3000) == 0 &&
	    near(errors_of(f, T0 + 3000, 0), 2),
	    "no penalty: a success counts no error");
}

/* A cooling key (10 s from T1 + 100): a 5xx and a client error neither
 * end the cooldown nor its escalation. */
static void
no_penalty_cooling(struct fx *f)
{
	const int64_t t1 = T0 + MIN_MS;
	struct px_lease l1 = { 0 }, l2 = { 0 }, l3 = { 0 }, l4 = { 0 };

	T_CHECK(rsv_on(f, 0, t1, &l1) == PX_OK && rsv_on(f, 0, t1, &l2) ==
	    PX_OK && rsv_on(f, 0, t1, &l3) == PX_OK &&
	    rate429(f, &l1, t1 + 100) == 0, "no penalty: cooling key");
	T_CHECK(verdict(f, &l2, PX_SETTLE_RELEASE_ALL, &v_upstream,
	    t1 + 200) == 0 && key_is(f, t1 + 200, 0, "cooling", "429 no hint",
	    "2027-01-15T08:01:10Z") && rsv(f, t1 + 200) == PX_ERATE &&
	    f->retry == 9900, "no penalty: a 5xx leaves the cooldown");
	T_CHECK(verdict(f, &l3, PX_SETTLE_DONE, &v_client, t1 + 300) == 0 &&
	    key_is(f, t1 + 300, 0, "cooling", "429 no hint",
	    "2027-01-15T08:01:10Z") && rsv(f, t1 + 300) == PX_ERATE &&
	    f->retry == 9800, "no penalty: a client error leaves it too");
	T_CHECK(near(errors_of(f, t1 + 300, 0), 5),
	    "no penalty: errors 5xx, client, 429, 5xx, client");
	T_CHECK(rsv_on(f, 0, t1 + 10100, &l4) == PX_OK &&
	    rate429(f, &l4, t1 + 10200) == 0 &&
	    rsv(f, t1 + 10201) == PX_ERATE && f->retry == 29999,
	    "no penalty: the escalation went on (30 s)");
}

static void
test_no_penalty(void)
{
	struct fx f;

	if (fx_new(&f, PROVS(OR("'sk-a'", ROOMY))) != 0) {
		fx_fail(&f, "no penalty: fixture");
		return;
	}
	no_penalty_active(&f);
	no_penalty_cooling(&f);
	fx_done(&f);
}

/* --- exclude list ------------------------------------------------------- */

/* sk-a, sk-b with room, and gemini sk-g. */
static void
exclude_roomy(void)
{
	const struct px_key_cfg *ex[3];
	struct fx f;
	size_t i;
	int ok = 1;

	if (fx_new(&f, PROVS(OR("'sk-a','sk-b'", ROOMY) ","
	    GM("'sk-g'", ROOMY))) != 0) {
		fx_fail(&f, "exclude: fixture");
		return;
	}
	ex[0] = key(&f, 0);
	ex[1] = key(&f, 1);
	ex[2] = &f.cfg->providers[1].keys[0];
	for (i = 0; i < 4; i++)
		ok &= rsv_x(&f, or_only, 1, ex, 1, T0 + (int64_t)i) == PX_OK &&
		    f.last.key == key(&f, 1);
	T_CHECK(ok, "exclude: round robin never returns to sk-a");
	T_CHECK(rsv_x(&f, or_gm, 2, ex, 2, T0 + 10) == PX_OK &&
	    f.last.key == ex[2], "exclude: both excluded, the next candidate");
	T_CHECK(rsv_x(&f, or_gm, 2, ex, 3, T0 + 20) == PX_ERATE &&
	    f.retry == 1, "exclude: all excluded, all free: retry 1");
	T_CHECK(rsv_x(&f, or_only, 1, ex + 2, 1, T0 + 30) == PX_OK,
	    "exclude: another provider's key changes nothing");
	fx_done(&f);
}

/* sk-a and sk-b, one request a minute: sk-a full until T0 + 60 100,
 * sk-b cooling until T0 + 7 000 (its request given back). */
static void
exclude_retry(void)
{
	const struct px_verdict v = { PX_FAULT_RATE, T0 + 7000, 0,
	    "429 retry-after" };
	const struct px_key_cfg *a[1], *b[1];
	struct px_lease la = { 0 }, lb = { 0 };
	struct fx f;

	if (fx_new(&f, PROVS(OR("'sk-a','sk-b'", LIM(1000, 100000, 1)))) != 0 ||
	    rsv_on(&f, 0, T0, &la) != PX_OK ||
	    rsv_on(&f, 1, T0, &lb) != PX_OK ||
	    verdict(&f, &lb, PX_SETTLE_RELEASE_ALL, &v, T0) != 0) {
		fx_fail(&f, "exclude retry: fixture");
		return;
	}
	a[0] = key(&f, 0);
	b[0] = key(&f, 1);
	T_CHECK(rsv_x(&f, or_only, 1, a, 1, T0 + 1000) == PX_ERATE &&
	    f.retry == 6000, "exclude: retry = the other key's cooldown");
	T_CHECK(rsv_x(&f, or_only, 1, b, 1, T0 + 1000) == PX_ERATE &&
	    f.retry == 6000, "exclude: an excluded key still sets retry");
	T_CHECK(rsv_x(&f, or_only, 1, b, 1, T0 + 7000) == PX_ERATE &&
	    f.retry == 1, "exclude: the only eligible key is not chosen");
	T_CHECK(rsv_x(&f, or_only, 1, a, 1, T0 + 7000) == PX_OK &&
	    f.last.key == b[0], "exclude: without it excluded, it serves");
	T_CHECK(rsv_x(&f, or_only, 1, b, 1, T0 + 8000) == PX_ERATE &&
	    f.retry == MIN_LEAVE - 8000,
	    "exclude: retry = the other key's minute window");
	fx_done(&f);
}

/* The only key, excluded: refused though it is free; retry 1. */
static void
exclude_only(void)
{
	const struct px_key_cfg *a[1];
	struct fx f;

	if (fx_new(&f, PROVS(OR("'sk-a'", ROOMY))) != 0) {
		fx_fail(&f, "exclude only: fixture");
		return;
	}
	a[0] = key(&f, 0);
	T_CHECK(rsv_x(&f, or_only, 1, a, 1, T0) == PX_ERATE && f.retry == 1,
	    "exclude: the only key excluded, retry 1");
	T_CHECK(rsv(&f, T0) == PX_OK, "exclude: it was free all along");
	fx_done(&f);
}

static void
suite(void)
{
	test_rate_hint();
	test_escalation();
	daily_case(0);
	daily_case(1);
	test_daily_stays();
	test_backoff();
	test_backoff_reset();
	test_pardon_only_burst();
	test_not_correlated();
	test_half();
	test_auth();
	test_no_penalty();
	exclude_roomy();
	exclude_retry();
	exclude_only();
}

int
main(void)
{
	return fx_run(suite);
}
