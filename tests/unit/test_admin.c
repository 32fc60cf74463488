/*
 * test_admin.c -- the operator's acts on the ledger (px_ledger_admin:
 * disable, enable, reset of one key or of everything) and the shared
 * installation-wide counters (px_ledger_stats_flush / _read), on LMDB and
 * on Redis (ledger_fx.h): what each act changes and what it keeps, that
 * an operator's disable is never probed, Retry-After when every key is
 * out, and that counters of two ledgers (two responders) add up.
 * Never: a clock (time injected).
 */
#include "ledger_fx.h"
#include "stats.h"

#define T0 INT64_C(1800000000000)
#define CFG PROVS(OR("'k1','k2'", LIM(5, 100000, 3)))

static const struct px_candidate or_only[] = {
	{ "or/model", PX_PROV_OPENROUTER },
};

static const struct px_key_cfg *
key(const struct fx *f, size_t k)
{
	return &f->cfg->providers[0].keys[k];
}

static enum px_err
rsv(struct fx *f, int64_t now)
{
	return fx_reserve(f, or_only, 1, now);
}

static enum px_err
act(struct fx *f, enum px_admin_op op, size_t k, const char *why,
    int64_t now)
{
	return px_ledger_admin(f->lg, f->s, op, &f->cfg->providers[0],
	    k == (size_t)-1 ? NULL : key(f, k), why, now);
}

/* A key's entry of the snapshot. */
static const struct px_snap_key *
snap(struct fx *f, size_t k, int64_t now)
{
	const struct px_snapshot *sn;
	size_t i;

	if (px_ledger_snapshot(f->lg, f->s, now, &sn) != PX_OK)
		return NULL;
	for (i = 0; i < sn->nkeys; i++)
		if (sn->keys[i].key == key(f, k))
			return &sn->keys[i];
	return NULL;
}

static void
test_disable_enable(void)
{
	struct fx f;
	const struct px_snap_key *k;
	int i, only_k2 = 1;

	if (fx_new(&f, CFG) != 0)
		return fx_fail(&f, "fixture");
	T_CHECK(act(&f, PX_ADMIN_DISABLE, 0, "leaked", T0) == PX_OK,
	    "disable");
	k = snap(&f, 0, T0);
	T_CHECK(k != NULL && k->state == PX_KEY_DISABLED &&
	    strcmp(k->reason, "operator: leaked") == 0 && k->until_ms == 0,
	    "disabled, with the operator's reason, no probe time");
	for (i = 0; i < 3; i++)
		only_k2 &= rsv(&f, T0 + i) == PX_OK && f.last.key == key(&f, 1);
	T_CHECK(only_k2, "the other key serves");
	T_CHECK(rsv(&f, T0 + 10) == PX_ERATE && f.retry > 59000 &&
	    f.retry <= 60100, "k2 full, k1 out: wait for k2's minute");
	T_CHECK(act(&f, PX_ADMIN_DISABLE, 1, NULL, T0 + 11) == PX_OK &&
	    rsv(&f, T0 + 12) == PX_ERATE && f.retry == 86400000,
	    "both out by the operator: Retry-After a day, not a busy second");
	T_CHECK(act(&f, PX_ADMIN_ENABLE, 1, NULL, T0 + 13) == PX_OK,
	    "k2 back");
	k = snap(&f, 0, T0 + 30LL * 86400000);
	T_CHECK(k != NULL && k->state == PX_KEY_DISABLED, "still disabled "
	    "a month later (never probed)");
	T_CHECK(rsv(&f, T0 + 30LL * 86400000) == PX_OK &&
	    f.last.key == key(&f, 1), "no probe request goes to it");
	T_CHECK(act(&f, PX_ADMIN_ENABLE, 0, NULL, T0 + 31LL * 86400000) ==
	    PX_OK, "enable");
	k = snap(&f, 0, T0 + 31LL * 86400000);
	T_CHECK(k != NULL && k->state == PX_KEY_ACTIVE && k->reason[0] == 0,
	    "active again, reason gone");
	T_CHECK(act(&f, PX_ADMIN_DISABLE, 1, NULL, T0 + 31LL * 86400000) ==
	    PX_OK && (k = snap(&f, 1, T0 + 31LL * 86400000)) != NULL &&
	    strcmp(k->reason, "operator: disabled") == 0, "default reason");
	fx_done(&f);
}

static void
test_reset(void)
{
	struct fx f;
	const struct px_snap_key *k;
	struct px_lease l;
	int i, ok = 1;

	if (fx_new(&f, CFG) != 0)
		return fx_fail(&f, "fixture");
	for (i = 0; i < 6; i++)
		ok &= rsv(&f, T0 + i) == PX_OK;
	T_CHECK(ok && rsv(&f, T0 + 10) == PX_ERATE, "both keys full "
	    "(3 a minute each)");
	l = f.last;
	(void)l;
	T_CHECK(act(&f, PX_ADMIN_DISABLE, 1, NULL, T0 + 20) == PX_OK,
	    "k2 disabled");
	T_CHECK(act(&f, PX_ADMIN_RESET, 0, NULL, T0 + 30) == PX_OK,
	    "reset k1");
	k = snap(&f, 0, T0 + 40);
	T_CHECK(k != NULL && k->req_min == 0 && k->req_day == 0 &&
	    k->life_requests == 3, "k1's windows empty, lifetime kept");
	k = snap(&f, 1, T0 + 40);
	T_CHECK(k != NULL && k->req_min == 3, "k2 untouched by k1's reset");
	T_CHECK(rsv(&f, T0 + 50) == PX_OK && f.last.key == key(&f, 0),
	    "k1 serves again at once");
	T_CHECK(act(&f, PX_ADMIN_RESET, (size_t)-1, NULL, T0 + 60) == PX_OK,
	    "reset everything");
	k = snap(&f, 1, T0 + 70);
	T_CHECK(k != NULL && k->req_min == 0 && k->state == PX_KEY_DISABLED,
	    "k2's windows empty; a disabled key stays disabled");
	k = snap(&f, 0, T0 + 70);
	T_CHECK(k != NULL && k->req_min == 0 && k->life_requests == 4,
	    "k1 empty again, lifetime kept");
	fx_done(&f);
}

static void
test_reset_cooldown(void)
{
	static const struct px_verdict v_rate = { PX_FAULT_RATE, 0, 0,
	    "429 no hint" };
	struct fx f;
	const struct px_snap_key *k;

	if (fx_new(&f, CFG) != 0)
		return fx_fail(&f, "fixture");
	T_CHECK(rsv(&f, T0) == PX_OK && px_ledger_settle_ex(f.lg, f.s,
	    &f.last, PX_SETTLE_RELEASE_ALL, 0, &v_rate, T0 + 1) == PX_OK,
	    "a 429 on a key");
	k = snap(&f, f.last.key == key(&f, 0) ? 0 : 1, T0 + 2);
	T_CHECK(k != NULL && k->state == PX_KEY_COOLING, "it cools");
	T_CHECK(act(&f, PX_ADMIN_RESET, f.last.key == key(&f, 0) ? 0 : 1,
	    NULL, T0 + 3) == PX_OK, "reset it");
	k = snap(&f, f.last.key == key(&f, 0) ? 0 : 1, T0 + 4);
	T_CHECK(k != NULL && k->state == PX_KEY_ACTIVE && k->reason[0] == 0,
	    "cooldown cleared");
	fx_done(&f);
}

static void
test_stats(void)
{
	static uint64_t out[PX_ST_N], tmp[PX_ST_N];
	struct fx a, b;
	size_t ia = px_st_req(PX_ST_CHAT, 1, 200), ib = px_st_lim(2);

	if (fx_new(&a, CFG) != 0)
		return fx_fail(&a, "fixture");
	/* a second ledger on the same store: another responder */
	memcpy(&b, &a, sizeof(b));
	b.cfg = NULL;
	b.lg = NULL;
	b.s = NULL;
	px_buf_init(&b.raw, 1024);
	if (fx_open(&b, CFG) != 0) {
		px_buf_free(&b.raw);
		return fx_fail(&a, "second ledger");
	}
	(void)px_stats_take(tmp);
	T_CHECK(px_ledger_stats_read(a.lg, a.s, out) == PX_OK &&
	    out[ia] == 0, "no counters yet");
	px_stats_add(ia, 3);
	T_CHECK(px_ledger_stats_read(a.lg, a.s, out) == PX_OK &&
	    out[ia] == 3, "this process's unflushed counts are shown");
	T_CHECK(px_ledger_stats_flush(a.lg, a.s) == PX_OK, "flush");
	px_stats_add(ia, 2);
	px_stats_add(ib, 7);
	T_CHECK(px_ledger_stats_flush(b.lg, b.s) == PX_OK, "flush from the "
	    "other ledger");
	T_CHECK(px_ledger_stats_flush(b.lg, b.s) == PX_OK, "an empty flush");
	T_CHECK(px_ledger_stats_read(a.lg, a.s, out) == PX_OK &&
	    out[ia] == 5 && out[ib] == 7, "flushes add up in the shared "
	    "record");
	T_CHECK(px_stats_take(tmp) == 0, "reading gave the local share back "
	    "and flushing emptied it");
	fx_close(&b);
	px_buf_free(&b.raw);
	fx_done(&a);
}

/* The day window by hour in the snapshot and in /v1/usage. */
static void
test_day_hist(void)
{
	const int64_t H = 3600000;
	struct fx f;
	const struct px_snapshot *sn;
	cJSON *u;
	const cJSON *hist, *kh;
	uint64_t sum[PX_SNAP_HOURS];
	int ok = 1, i;

	if (fx_new(&f, PROVS(OR("'k1','k2'", LIM(100, 100000, 100)))) != 0)
		return fx_fail(&f, "fixture");
	/* T0 is a whole minute: bucket starts fall on the hours below */
	ok &= rsv(&f, T0 - 25 * H) == PX_OK;		/* left the window */
	ok &= rsv(&f, T0 - 5 * H) == PX_OK;		/* hour 18 */
	ok &= rsv(&f, T0 - 5 * H - 60000) == PX_OK;	/* hour 18 */
	ok &= rsv(&f, T0 - H / 2) == PX_OK;		/* the last hour */
	ok &= rsv(&f, T0) == PX_OK;			/* the last hour */
	T_CHECK(ok, "reservations over a day");
	T_CHECK(px_ledger_snapshot(f.lg, f.s, T0, &sn) == PX_OK, "snapshot");
	memset(sum, 0, sizeof(sum));
	for (i = 0; i < PX_SNAP_HOURS; i++)
		sum[i] = sn->keys[0].day_hist[i] + sn->keys[1].day_hist[i];
	T_CHECK(sum[18] == 2 && sum[23] == 2 && sum[0] == 0 &&
	    sn->prov[PX_PROV_OPENROUTER].day_hist[18] == 2 &&
	    sn->prov[PX_PROV_OPENROUTER].day_hist[23] == 2,
	    "requests per hour, oldest first, the last hour ending now; "
	    "25 h ago left out");
	u = fx_usage(&f, T0);
	hist = jget(u, "details", "openrouter", "day_hist", NULL);
	kh = jget(u, "details", "openrouter", "keys", f.cfg->providers[0].
	    keys[0].id, "day_hist", NULL);
	T_CHECK(cJSON_IsArray(hist) && cJSON_GetArraySize(hist) == 24 &&
	    cJSON_GetArrayItem(hist, 18)->valuedouble == 2 &&
	    cJSON_GetArrayItem(hist, 23)->valuedouble == 2 &&
	    cJSON_IsArray(kh) && cJSON_GetArraySize(kh) == 24,
	    "/v1/usage: day_hist per provider and per key");
	cJSON_Delete(u);
	fx_done(&f);
}

static void
suite(void)
{
	test_day_hist();
	test_disable_enable();
	test_reset();
	test_reset_cooldown();
	test_stats();
}

int
main(void)
{
	return fx_run(suite);
}
