/*
 * test_ledger.c -- the shared quota ledger over a real LMDB store, on
 * injected time only.
 * Covers: the exact per-minute limit and its Retry-After; which request
 * ages still count (safe side); the per-day limit; the tokens-per-minute
 * window with every way of settling; an estimate no key can take; round
 * robin, least-used and usage-gap key choice; falling through candidates
 * to a second provider; the /v1/usage numbers; state surviving a reopen
 * and two processes sharing one state directory; the token estimate.
 * Never: sleeps or reads a clock. Each case gets its own mkdtemp state
 * directory under /tmp, removed (data.mdb, lock.mdb, two rmdirs) at the
 * end. Configs are in-memory JSON written with ' for ".
 */
#include <inttypes.h>
#include <stdarg.h>
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
#include "ledger_fx.h"

/* Aligned to 100 ms and to 60 s: 30 000 000 minutes after the epoch. */
#define T0 INT64_C(1800000000000)
#define MIN_MS INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)
/* A minute-ring bucket leaves 601 x 100 ms after it began, a day-ring
 * bucket 1441 x 60 s after it began (win.h). */
#define MIN_LEAVE INT64_C(60100)
#define DAY_LEAVE INT64_C(86460000)

static const struct px_candidate or_cand[] = {
	{ "or/model", PX_PROV_OPENROUTER },
};
static const struct px_candidate two_cand[] = {
	{ "or/model", PX_PROV_OPENROUTER },
	{ "gemini-2.0-flash", PX_PROV_GEMINI },
};

/* --- helpers ------------------------------------------------------------ */

static enum px_err
rsv_c(struct fx *f, const struct px_candidate *c, size_t nc,
    uint32_t tokens, int64_t now)
{
	memset(&f->last, 0, sizeof(f->last));
	f->retry = -1;
	return px_ledger_reserve(f->lg, f->s, c, nc, tokens, now, &f->last,
	    &f->retry);
}

/* Reserve for the openrouter model only. */
static enum px_err
rsv(struct fx *f, uint32_t tokens, int64_t now)
{
	return rsv_c(f, or_cand, 1, tokens, now);
}

static enum px_err
settle(struct fx *f, const struct px_lease *l, enum px_settle how,
    long tokens, int64_t now)
{
	if (l->key == NULL)	/* its reserve failed: already reported */
		return PX_EINTERNAL;
	return px_ledger_settle(f->lg, f->s, l, how, tokens, 0, now);
}

/* Index of the lease's key over all keys in config order; -1: none. */
static int
key_ix(const struct px_config *cfg, const struct px_lease *l)
{
	size_t i, j;
	int n = 0;

	for (i = 0; i < cfg->nproviders; i++)
		for (j = 0; j < cfg->providers[i].nkeys; j++, n++)
			if (l->key == &cfg->providers[i].keys[j])
				return n;
	return -1;
}

static const char *
kid(const struct fx *f, size_t entry, size_t k)
{
	return f->cfg->providers[entry].keys[k].id;
}

/* The number at a NULL-terminated path of member names; -1 if absent. */
static double
num_of(const cJSON *j)
{
	return j != NULL && cJSON_IsNumber(j) ? j->valuedouble : -1.0;
}
#define jnum(...) num_of(jget(__VA_ARGS__))

/* A key's number under details.openrouter.keys.<id>. */
static double
keynum(const struct fx *f, const cJSON *u, size_t k, const char *field)
{
	return jnum(u, "details", "openrouter", "keys", kid(f, 0, k), field,
	    (const char *)NULL);
}

static int
near(double a, double b)
{
	return a - b < 1e-9 && b - a < 1e-9;
}

/* Reserve n times from now on (1 ms apart); key indexes must be want. */
static void
expect_keys(struct fx *f, const int *want, size_t n, int64_t now,
    const char *what)
{
	size_t i;
	int ok = 1;

	for (i = 0; i < n; i++) {
		if (rsv(f, 1, now + (int64_t)i) != PX_OK ||
		    key_ix(f->cfg, &f->last) != want[i]) {
			printf("#   %s: reserve %zu got key %d, want %d\n",
			    what, i, key_ix(f->cfg, &f->last), want[i]);
			ok = 0;
		}
	}
	T_CHECK(ok, what);
}

/* --- cases -------------------------------------------------------------- */

static void
test_estimate(void)
{
	static const struct { size_t bytes; uint32_t tokens; } v[] = {
		{ 0, 1 }, { 1, 1 }, { 3, 1 }, { 4, 1 }, { 5, 2 }, { 8, 2 },
		{ 9, 3 }, { 4000, 1000 }, { 4001, 1001 },
		{ (size_t)UINT32_MAX, 1073741824u },
#if SIZE_MAX > 0xffffffffu
		{ (size_t)UINT32_MAX * 4, UINT32_MAX },
		{ (size_t)UINT32_MAX * 4 + 1, UINT32_MAX },	/* clamped */
		{ SIZE_MAX - 3, UINT32_MAX },
		{ SIZE_MAX, UINT32_MAX },	/* no wrap-around */
#endif
	};
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (px_ledger_estimate(v[i].bytes) != v[i].tokens) {
			printf("#   estimate(%zu) = %" PRIu32 "\n", v[i].bytes,
			    px_ledger_estimate(v[i].bytes));
			ok = 0;
		}
	}
	T_CHECK(ok, "estimate: ceil(bytes/4), at least 1, clamped");
}

/* max_request_min 3: requests at T0, +1 s, +2 s; the oldest bucket
 * (T0 .. T0+99) leaves at T0 + 60 100. */
static void
test_minute_exact(void)
{
	struct fx f;

	if (fx_new(&f, PROVS(OR("'sk-a'", LIM(1000, 100000, 3)))) != 0) {
		T_CHECK(0, "minute: fixture");
		fx_done(&f);
		return;
	}
	T_CHECK(rsv(&f, 1, T0) == PX_OK, "minute: 1st of 3");
	T_CHECK(rsv(&f, 1, T0 + 1000) == PX_OK, "minute: 2nd of 3");
	T_CHECK(rsv(&f, 1, T0 + 2000) == PX_OK, "minute: 3rd of 3");
	T_CHECK(rsv(&f, 1, T0 + 3000) == PX_ERATE, "minute: 4th refused");
	T_CHECK(f.retry == MIN_LEAVE - 3000, "minute: retry = 57 100 ms");
	T_CHECK(rsv(&f, 1, T0 + MIN_LEAVE - 1) == PX_ERATE,
	    "minute: refused 1 ms before the oldest bucket leaves");
	T_CHECK(f.retry == 1, "minute: retry then is 1 ms");
	T_CHECK(rsv(&f, 1, T0 + MIN_LEAVE) == PX_OK,
	    "minute: admitted at now + retry");
	/* window now T0+1000, T0+2000, T0+60100: next frees at T0+61100 */
	T_CHECK(rsv(&f, 1, T0 + MIN_LEAVE) == PX_ERATE,
	    "minute: full again after the admitted one");
	T_CHECK(f.retry == 1000, "minute: retry = when the 2nd leaves");
	fx_done(&f);
}

/*
 * Ages at which a request still counts, max_request_min 1: request at
 * req, second attempt at chk (offsets from a minute-aligned base). The
 * request's bucket starts at floor(req/100)*100 and leaves 60 100 ms
 * later, so every age <= 60 000 counts, and up to 60 099 may.
 */
static void
test_boundaries(void)
{
	static const struct { int64_t req, chk; int counted; } v[] = {
		{ 0,  60000, 1 },	/* age 60 000: exactly the window */
		{ 0,  60099, 1 },	/* age 60 099: safe side, same bucket */
		{ 0,  60100, 0 },	/* age 60 100: bucket has left */
		{ 50, 60050, 1 },	/* age 60 000 from mid-bucket */
		{ 99, 60099, 1 },	/* age 60 000 from the bucket's end */
		{ 99, 60100, 0 },	/* age 60 001: bucket has left */
	};
	struct fx f;
	size_t i;
	int64_t base, leave;

	if (fx_new(&f, PROVS(OR("'sk-a'", LIM(1000, 100000, 1)))) != 0) {
		T_CHECK(0, "boundaries: fixture");
		fx_done(&f);
		return;
	}
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		base = T0 + (int64_t)i * HOUR_MS;
		leave = base + v[i].req / 100 * 100 + MIN_LEAVE;
		T_CHECK(rsv(&f, 1, base + v[i].req) == PX_OK,
		    "boundaries: first request admitted");
		if (v[i].counted) {
			T_CHECK(rsv(&f, 1, base + v[i].chk) == PX_ERATE,
			    "boundaries: old request still counts");
			T_CHECK(f.retry == leave - (base + v[i].chk),
			    "boundaries: retry = when its bucket leaves");
		} else {
			T_CHECK(rsv(&f, 1, base + v[i].chk) == PX_OK,
			    "boundaries: old request no longer counts");
		}
	}
	fx_done(&f);
}

/* max_request_day 2: requests at T0 and T0 + 1 min; the day bucket of
 * T0 leaves at T0 + 24 h + 60 s. */
static void
test_day(void)
{
	struct fx f;

	if (fx_new(&f, PROVS(OR("'sk-a'", LIM(2, 100000, 100)))) != 0) {
		T_CHECK(0, "day: fixture");
		fx_done(&f);
		return;
	}
	T_CHECK(rsv(&f, 1, T0) == PX_OK, "day: 1st of 2");
	T_CHECK(rsv(&f, 1, T0 + MIN_MS) == PX_OK, "day: 2nd of 2");
	T_CHECK(rsv(&f, 1, T0 + 2 * MIN_MS) == PX_ERATE, "day: 3rd refused");
	T_CHECK(f.retry == DAY_LEAVE - 2 * MIN_MS,
	    "day: retry = 86 340 000 ms (about 24 h)");
	T_CHECK(rsv(&f, 1, T0 + DAY_LEAVE - 1) == PX_ERATE,
	    "day: refused 1 ms before the first leaves");
	T_CHECK(f.retry == 1, "day: retry then is 1 ms");
	T_CHECK(rsv(&f, 1, T0 + DAY_LEAVE) == PX_OK, "day: admitted then");
	T_CHECK(rsv(&f, 1, T0 + DAY_LEAVE) == PX_ERATE,
	    "day: the 2nd request still counts");
	T_CHECK(f.retry == MIN_MS, "day: retry = when the 2nd leaves");
	fx_done(&f);
}

/* tokens_min, req_min, lifetime_tokens, lifetime_requests, req_day of
 * key 0. */
static void
key_state(struct fx *f, int64_t now, double out[5])
{
	cJSON *u = fx_usage(f, now);

	out[0] = keynum(f, u, 0, "tokens_min");
	out[1] = jnum(u, "details", "openrouter", "keys", kid(f, 0, 0),
	    "rate_limit_windows", "req_min", (const char *)NULL);
	out[2] = keynum(f, u, 0, "lifetime_tokens");
	out[3] = keynum(f, u, 0, "lifetime_requests");
	out[4] = jnum(u, "details", "openrouter", "keys", kid(f, 0, 0),
	    "rate_limit_windows", "req_day", (const char *)NULL);
	cJSON_Delete(u);
}

static int
state_is(struct fx *f, int64_t now, double tok, double req)
{
	double st[5];

	key_state(f, now, st);
	if (near(st[0], tok) && near(st[1], req))
		return 1;
	printf("#   tokens_min %.0f (want %.0f), req_min %.0f (want %.0f)\n",
	    st[0], tok, st[1], req);
	return 0;
}

/* max_token_min 250, max_request_min 4, estimate 100 unless said. */
static void
tokens_settle(struct fx *f)
{
	struct px_lease l1, l2, l3;

	T_CHECK(rsv(f, 100, T0) == PX_OK, "tokens: 1st estimate 100");
	l1 = f->last;
	T_CHECK(l1.tokens == 100 && l1.t_ms == T0, "tokens: lease booked");
	T_CHECK(rsv(f, 100, T0 + 10) == PX_OK, "tokens: 2nd (200 of 250)");
	l2 = f->last;
	T_CHECK(rsv(f, 100, T0 + 20) == PX_ERATE, "tokens: 3rd refused");
	T_CHECK(f->retry == MIN_LEAVE - 20, "tokens: retry = bucket leaves");
	T_CHECK(settle(f, &l1, PX_SETTLE_DONE, 10, T0 + 30) == PX_OK &&
	    state_is(f, T0 + 30, 110, 2), "tokens: done(10) frees 90");
	T_CHECK(rsv(f, 100, T0 + 40) == PX_OK, "tokens: 3rd fits (210)");
	l3 = f->last;
	T_CHECK(settle(f, &l2, PX_SETTLE_DONE, 150, T0 + 50) == PX_OK &&
	    state_is(f, T0 + 50, 260, 3), "tokens: done(150) books +50");
	T_CHECK(rsv(f, 1, T0 + 60) == PX_ERATE, "tokens: 260 of 250: full");
	T_CHECK(settle(f, &l3, PX_SETTLE_RELEASE_TOKENS, 0, T0 + 70) ==
	    PX_OK && state_is(f, T0 + 70, 160, 3),
	    "tokens: release_tokens gives 100 back, keeps the request");
}

static void
tokens_release(struct fx *f)
{
	struct px_lease l4;
	double st[5];

	T_CHECK(rsv(f, 90, T0 + 80) == PX_OK, "tokens: 4th fits (250)");
	l4 = f->last;
	T_CHECK(rsv(f, 1, T0 + 90) == PX_ERATE, "tokens: 4 of 4 requests");
	T_CHECK(settle(f, &l4, PX_SETTLE_RELEASE_ALL, 0, T0 + 100) == PX_OK &&
	    state_is(f, T0 + 100, 160, 3),
	    "tokens: release_all gives tokens and request back");
	key_state(f, T0 + 100, st);
	T_CHECK(near(st[2], 160) && near(st[3], 3) && near(st[4], 3),
	    "tokens: lifetime tokens 10 + 150; lifetime, day requests 3");
	T_CHECK(rsv(f, 90, T0 + 110) == PX_OK,
	    "tokens: same minute, the freed slot is taken again");
	l4 = f->last;
	T_CHECK(settle(f, &l4, PX_SETTLE_RELEASE_TOKENS, 0, T0 + 120) ==
	    PX_OK && state_is(f, T0 + 120, 160, 4),
	    "tokens: release_tokens keeps the request slot");
	T_CHECK(rsv(f, 1, T0 + 130) == PX_ERATE,
	    "tokens: still 4 of 4 requests");
}

/* In a later minute: done(-1) keeps the estimate; `failed` counts. */
static void
tokens_keep(struct fx *f)
{
	struct px_lease l;
	cJSON *u;
	int64_t t = T0 + 2 * MIN_MS;

	T_CHECK(rsv(f, 70, t) == PX_OK, "tokens: new minute");
	l = f->last;
	T_CHECK(l.key != NULL && px_ledger_settle(f->lg, f->s, &l,
	    PX_SETTLE_DONE, -1, 1, t + 1) == PX_OK && state_is(f, t + 1, 70, 1),
	    "tokens: done(-1) keeps the estimate");
	u = fx_usage(f, t + 1);
	T_CHECK(near(keynum(f, u, 0, "lifetime_tokens"), 230) &&
	    near(keynum(f, u, 0, "errors"), 1),
	    "tokens: lifetime +70, failed counts an error");
	cJSON_Delete(u);
}

static void
test_tokens(void)
{
	struct fx f;

	if (fx_new(&f, PROVS(OR("'sk-a'", LIM(1000, 250, 4)))) != 0) {
		T_CHECK(0, "tokens: fixture");
		fx_done(&f);
		return;
	}
	tokens_settle(&f);
	tokens_release(&f);
	tokens_keep(&f);
	fx_done(&f);
}

/* openrouter takes at most 250 tokens a minute, gemini 500. */
static void
test_badreq(void)
{
	struct fx f;

	if (fx_new(&f, PROVS(OR("'sk-a'", LIM(1000, 250, 100)) ","
	    GM("'sk-g'", LIM(1000, 500, 100)))) != 0) {
		T_CHECK(0, "badreq: fixture");
		fx_done(&f);
		return;
	}
	T_CHECK(rsv(&f, 251, T0) == PX_EBADREQ,
	    "badreq: 251 > every openrouter max_token_min");
	T_CHECK(rsv_c(&f, two_cand, 2, 501, T0) == PX_EBADREQ,
	    "badreq: 501 > both providers' limits");
	T_CHECK(rsv_c(&f, two_cand, 2, 251, T0) == PX_OK &&
	    f.last.provider == PX_PROV_GEMINI,
	    "badreq: 251 fits the second candidate's key");
	T_CHECK(rsv(&f, 200, T0) == PX_OK, "badreq: 200 of 250");
	T_CHECK(rsv(&f, 200, T0) == PX_ERATE,
	    "badreq: fits the limit but not the window: rate, not bad");
	fx_done(&f);
}

/* Two keys, equal limits, default gap 5: strict alternation, and the
 * cursor lives in the ledger (it survives a reopen). */
static void
test_round_robin(void)
{
	static const int ab[] = { 0, 1, 0, 1, 0 };
	static const int b[] = { 1 };
	const char *cfg = PROVS(OR("'sk-a','sk-b'", LIM(1000, 100000, 100)));
	struct fx f;

	if (fx_new(&f, cfg) != 0) {
		T_CHECK(0, "rr: fixture");
		fx_done(&f);
		return;
	}
	expect_keys(&f, ab, 5, T0, "rr: consecutive reserves alternate");
	fx_close(&f);
	T_CHECK(fx_open(&f, cfg) == 0, "rr: reopened");
	expect_keys(&f, b, 1, T0 + 10, "rr: cursor kept across a reopen");
	fx_done(&f);
}

/* With the ledger closed: open a config of `secret` alone, reserve n
 * times at T0.., close. Records are per key id, so the requests stay
 * with that key in any later config that lists the same secret. */
static int
preload(struct fx *f, const char *secret, int n)
{
	char one[256];
	int i, bad = 0;

	snprintf(one, sizeof(one), PROVS(OR("'%s'", LIM(100, 100000, 100))),
	    secret);
	if (fx_open(f, one) != 0)
		return -1;
	for (i = 0; i < n; i++)
		bad |= rsv(f, 1, T0 + i) != PX_OK;
	fx_close(f);
	return bad ? -1 : 0;
}

/* sk-a has 3 requests, sk-b none; max_request_day 100, so one request
 * is one point of usage. */
static void
least_used(const char *gap, const int *want, size_t n, const char *what)
{
	char cfg[512];
	struct fx f;

	snprintf(cfg, sizeof(cfg), "'model_usage_gap_percentage':%s,%s", gap,
	    PROVS(OR("'sk-a','sk-b'", LIM(100, 100000, 100))));
	if (fx_dir(&f) != 0 || preload(&f, "sk-a", 3) != 0 ||
	    fx_open(&f, cfg) != 0)
		T_CHECK(0, "least-used: fixture");
	else
		expect_keys(&f, want, n, T0 + 100, what);
	fx_done(&f);
}

static void
test_least_used(void)
{
	/* gap 0: sk-b wins until it has 3 too; then round robin */
	static const int gap0[] = { 1, 1, 1, 0, 1, 0 };
	/* gap 5: 3 points apart is within the gap: round robin at once
	 * (the cursor says sk-a was picked last) */
	static const int gap5[] = { 1, 0, 1, 0 };

	least_used("0", gap0, 6, "least-used: gap 0, least-used key wins");
	least_used("5", gap5, 4, "least-used: gap 5, within gap alternates");
}

/*
 * Three keys in the order sk-a, sk-c, sk-b with 0, 6 and 4 requests of
 * 100 a day, gap 5; the cursor is 0 (sk-a) from the preloads.
 * 1st: least is 0 %, bound 5 %: sk-c (6 %) is skipped, sk-b (4 %) wins.
 * 2nd: sk-a (0 %) follows sk-b in round-robin order.
 * 3rd: least is now 1 %, bound 6 %: sk-c, exactly 5 points above, is a
 * candidate again and follows sk-a.
 */
static void
test_gap3(void)
{
	static const int want[] = { 2, 0, 1 };
	struct fx f;

	if (fx_dir(&f) != 0 || preload(&f, "sk-b", 4) != 0 ||
	    preload(&f, "sk-c", 6) != 0 ||
	    fx_open(&f, PROVS(OR("'sk-a','sk-c','sk-b'",
	    LIM(100, 100000, 100)))) != 0)
		T_CHECK(0, "gap3: fixture");
	else
		expect_keys(&f, want, 3, T0 + 100, "gap3: b, a, then c");
	fx_done(&f);
}

/* openrouter then gemini, one request a minute each. */
static void
test_candidates(void)
{
	struct fx f;
	cJSON *u;

	if (fx_new(&f, PROVS(OR("'sk-a'", LIM(100, 100000, 1)) ","
	    GM("'sk-g'", LIM(100, 100000, 1)))) != 0) {
		T_CHECK(0, "candidates: fixture");
		fx_done(&f);
		return;
	}
	T_CHECK(rsv_c(&f, two_cand, 2, 7, T0) == PX_OK &&
	    f.last.model == two_cand[0].model &&
	    f.last.provider == PX_PROV_OPENROUTER &&
	    key_ix(f.cfg, &f.last) == 0,
	    "candidates: first candidate served by openrouter");
	T_CHECK(rsv_c(&f, two_cand, 2, 7, T0 + 500) == PX_OK &&
	    f.last.model == two_cand[1].model &&
	    f.last.provider == PX_PROV_GEMINI &&
	    f.last.group == &f.cfg->providers[1] &&
	    key_ix(f.cfg, &f.last) == 1 && f.last.t_ms == T0 + 500 &&
	    f.last.tokens == 7,
	    "candidates: openrouter full, lease from gemini");
	u = fx_usage(&f, T0 + 500);
	T_CHECK(near(jnum(u, "overview", "openrouter", "total_requests",
	    (const char *)NULL), 1) && near(jnum(u, "overview", "gemini",
	    "total_requests", (const char *)NULL), 1),
	    "candidates: one request booked per provider, two in all");
	cJSON_Delete(u);
	/* openrouter frees at T0 + 60 100, gemini at T0 + 60 600 */
	T_CHECK(rsv_c(&f, two_cand, 2, 7, T0 + 1000) == PX_ERATE &&
	    f.retry == MIN_LEAVE - 1000,
	    "candidates: both full, retry = the earliest of both");
	u = fx_usage(&f, T0 + 1000);
	T_CHECK(near(jnum(u, "overview", "openrouter", "total_requests",
	    (const char *)NULL), 1) && near(jnum(u, "overview", "gemini",
	    "total_requests", (const char *)NULL), 1),
	    "candidates: a refusal books nothing");
	cJSON_Delete(u);
	fx_done(&f);
}

/* Checks of /v1/usage after: openrouter sk-1 at T0 and T0 + 2 min,
 * sk-2 at T0; gemini sk-g at T0 + 2 min; read at T0 + 2 min. */
static void
usage_overview(const cJSON *u)
{
	static const struct { const char *prov, *field; double want; } v[] = {
		{ "openrouter", "total_requests",   3 },
		{ "openrouter", "total_capacity",   6 },
		{ "openrouter", "usage_percentage", 50 },
		{ "gemini",     "total_requests",   1 },
		{ "gemini",     "total_capacity",   7 },
		{ "gemini",     "usage_percentage", 14.29 },	/* 1 of 7 */
	};
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!near(jnum(u, "overview", v[i].prov, v[i].field,
		    (const char *)NULL), v[i].want)) {
			printf("#   overview.%s.%s\n", v[i].prov, v[i].field);
			ok = 0;
		}
	T_CHECK(ok, "usage: overview totals, capacity, percentage");
}

static void
usage_keys(const struct fx *f, const cJSON *u)
{
	static const struct {
		size_t entry, k;
		double req, pct, rmin, rday;
	} v[] = {
		{ 0, 0, 2, 66.67, 1, 2 },	/* sk-1: 2 of 3 */
		{ 0, 1, 1, 33.33, 0, 1 },	/* sk-2: 1 of 3, 2 min old */
		{ 1, 0, 1, 14.29, 1, 1 },	/* sk-g: 1 of 7 */
	};
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *p = v[i].entry ? "gemini" : "openrouter";
		const char *id = kid(f, v[i].entry, v[i].k);

		ok &= near(jnum(u, "details", p, "keys", id, "requests",
		    (const char *)NULL), v[i].req);
		ok &= near(jnum(u, "details", p, "keys", id,
		    "usage_percentage", (const char *)NULL), v[i].pct);
		ok &= near(jnum(u, "details", p, "keys", id,
		    "rate_limit_windows", "req_min", (const char *)NULL),
		    v[i].rmin);
		ok &= near(jnum(u, "details", p, "keys", id,
		    "rate_limit_windows", "req_day", (const char *)NULL),
		    v[i].rday);
	}
	T_CHECK(ok, "usage: per-key requests, percentage, windows");
}

static void
usage_limits(const cJSON *u)
{
	static const struct { const char *prov, *field; double want; } v[] = {
		{ "openrouter", "max_request_day", 3 },
		{ "openrouter", "max_token_min",   1000 },
		{ "openrouter", "max_request_min", 5 },
		{ "gemini",     "max_request_day", 7 },
		{ "gemini",     "max_token_min",   500 },
		{ "gemini",     "max_request_min", 2 },
	};
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ok &= near(jnum(u, "details", v[i].prov, "rate_limits",
		    v[i].field, (const char *)NULL), v[i].want);
	T_CHECK(ok, "usage: rate_limits per provider");
}

static void
test_usage_json(void)
{
	static const struct px_candidate gm[] = {
		{ "gemini-pro", PX_PROV_GEMINI },
	};
	struct fx f;
	cJSON *u;

	if (fx_new(&f, PROVS(OR("'sk-1','sk-2'", LIM(3, 1000, 5)) ","
	    GM("'sk-g'", LIM(7, 500, 2)))) != 0) {
		T_CHECK(0, "usage: fixture");
		fx_done(&f);
		return;
	}
	T_CHECK(rsv(&f, 1, T0) == PX_OK && rsv(&f, 1, T0) == PX_OK &&
	    rsv(&f, 1, T0 + 2 * MIN_MS) == PX_OK &&
	    key_ix(f.cfg, &f.last) == 0 &&
	    rsv_c(&f, gm, 1, 1, T0 + 2 * MIN_MS) == PX_OK,
	    "usage: four reservations");
	u = fx_usage(&f, T0 + 2 * MIN_MS);
	T_CHECK(u != NULL, "usage: valid JSON");
	usage_overview(u);
	usage_keys(&f, u);
	usage_limits(u);
	T_CHECK(strstr(f.raw.p, "\"usage_percentage\":33.33,") != NULL &&
	    strstr(f.raw.p, "\"usage_percentage\":50.00}") != NULL,
	    "usage: percentages printed with 2 decimals");
	cJSON_Delete(u);
	u = fx_usage(&f, T0 + 2 * MIN_MS + DAY_LEAVE);
	T_CHECK(near(jnum(u, "overview", "openrouter", "total_requests",
	    (const char *)NULL), 0) && near(keynum(&f, u, 0,
	    "lifetime_requests"), 2), "usage: a day later, lifetime only");
	cJSON_Delete(u);
	fx_done(&f);
}

/* Closing and reopening keeps the counts (max_request_min 2). */
static void
test_persistence(void)
{
	const char *cfg = PROVS(OR("'sk-a'", LIM(10, 1000, 2)));
	struct fx f;
	cJSON *u;

	if (fx_new(&f, cfg) != 0) {
		T_CHECK(0, "persist: fixture");
		fx_done(&f);
		return;
	}
	T_CHECK(rsv(&f, 1, T0) == PX_OK && rsv(&f, 1, T0 + 1) == PX_OK,
	    "persist: two reservations");
	fx_close(&f);
	T_CHECK(fx_open(&f, cfg) == 0, "persist: reopened");
	T_CHECK(rsv(&f, 1, T0 + 1000) == PX_ERATE,
	    "persist: the window is still full after a reopen");
	u = fx_usage(&f, T0 + 1000);
	T_CHECK(near(keynum(&f, u, 0, "requests"), 2),
	    "persist: usage still shows 2");
	cJSON_Delete(u);
	fx_done(&f);
}

/* --- two processes on one state directory ------------------------------- */

struct report {
	int rc;		/* enum px_err of the child's reserve */
	int key;	/* key_ix of its lease */
};

/* The child's side: its own ledger on the parent's directory (the
 * parent's handle, inherited over fork, is never touched). Reserves once,
 * reports, waits for the parent's byte, reserves again, reports. */
static void
child(struct fx *f, int wr, int rd)
{
	struct fx c = *f;
	struct report r[2];
	char detail[256], go;
	int i;

	if (px_ledger_open(&c.lg, c.cfg, detail, sizeof(detail)) != PX_OK)
		_exit(2);
	c.s = px_ledger_scratch_new(c.cfg);
	if (c.s == NULL)
		_exit(2);
	for (i = 0; i < 2; i++) {
		if (i == 1 && read(rd, &go, 1) != 1)
			_exit(3);
		r[i].rc = (int)rsv(&c, 1, T0 + 10 + 20 * i);
		r[i].key = key_ix(c.cfg, &c.last);
		if (write(wr, &r[i], sizeof(r[i])) != (ssize_t)sizeof(r[i]))
			_exit(3);
	}
	px_ledger_scratch_free(c.s);
	px_ledger_close(c.lg);
	_exit(0);
}

static int
get_report(int rd, struct report *r)
{
	return read(rd, r, sizeof(*r)) == (ssize_t)sizeof(*r) ? 0 : -1;
}

/* Two keys, one request a minute each. The parent takes sk-a; the child
 * must get sk-b (shared cursor and counts); then the parent is refused;
 * after the parent releases sk-a the child gets it. */
static void
parent(struct fx *f, int wr, int rd)
{
	struct px_lease mine = f->last;
	struct report r;
	cJSON *u;

	T_CHECK(get_report(rd, &r) == 0 && r.rc == PX_OK && r.key == 1,
	    "2 procs: child sees the parent's request and cursor");
	T_CHECK(rsv(f, 1, T0 + 20) == PX_ERATE,
	    "2 procs: parent sees the child's request");
	u = fx_usage(f, T0 + 20);
	T_CHECK(near(jnum(u, "overview", "openrouter", "total_requests",
	    (const char *)NULL), 2), "2 procs: usage counts both");
	cJSON_Delete(u);
	T_CHECK(settle(f, &mine, PX_SETTLE_RELEASE_ALL, 0, T0 + 25) == PX_OK,
	    "2 procs: parent releases its lease");
	T_CHECK(write(wr, "g", 1) == 1, "2 procs: signal the child");
	T_CHECK(get_report(rd, &r) == 0 && r.rc == PX_OK && r.key == 0,
	    "2 procs: child sees the release");
}

static void
test_two_processes(void)
{
	struct fx f;
	int up[2], down[2], status = -1;
	pid_t pid;

	if (fx_new(&f, PROVS(OR("'sk-a','sk-b'", LIM(100, 1000, 1)))) != 0 ||
	    rsv(&f, 1, T0) != PX_OK || key_ix(f.cfg, &f.last) != 0) {
		T_CHECK(0, "2 procs: fixture");
		fx_done(&f);
		return;
	}
	if (pipe(up) != 0 || pipe(down) != 0) {
		T_CHECK(0, "2 procs: pipes");
		fx_done(&f);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		child(&f, up[1], down[0]);
	T_CHECK(pid > 0, "2 procs: fork");
	if (pid > 0) {
		parent(&f, down[1], up[0]);
		T_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0, "2 procs: child exits cleanly");
	}
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
	fx_done(&f);
}

static void
suite(void)
{
	test_estimate();
	test_minute_exact();
	test_boundaries();
	test_day();
	test_tokens();
	test_badreq();
	test_round_robin();
	test_least_used();
	test_gap3();
	test_candidates();
	test_usage_json();
	test_persistence();
	test_two_processes();
}

int
main(void)
{
	return fx_run(suite);
}
