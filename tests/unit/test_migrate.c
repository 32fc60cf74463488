/*
 * test_migrate.c -- an LMDB ledger written by main before ledger v2
 * (schema 1: raw struct records) is carried over to schema 2 when the
 * ledger opens it.
 * Covers: the minute, token and day windows (a full window stays full,
 * with the same Retry-After), lifetime counters, a cooling key with its
 * reason, the provider back-off, the round-robin cursor, a "limit: 0"
 * mark, the old records gone, a second open changing nothing, and a
 * schema newer than ours refused with a message.
 * Never: sleeps or reads a clock. The schema-1 layouts below are the
 * test's own copy of what main wrote (this host's struct layout).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "config.h"
#include "ledger.h"
#include "router.h"
#include "store.h"
#include "tharness.h"
#include "ledger_fx.h"

#define T0 INT64_C(1800000000000)	/* aligned to 100 ms and 60 s */
#define N ((const char *)NULL)		/* ends a jget path */

struct ring1 { int64_t head; uint64_t sum; };
struct keyrec1 {
	uint32_t magic, version;
	struct ring1 rmin, tmin, rday;
	uint64_t life_requests, life_tokens, life_errors;
	int64_t cool_until_ms, probe_at_ms, probe_lease_ms;
	uint32_t state, strikes, daily, pad;
	char reason[64];
	uint32_t b_rmin[601], b_tmin[601], b_rday[1441];
};
struct provrec1 {
	uint32_t magic, version;
	int64_t backoff_until_ms;
	uint32_t strikes, next;
	struct { int64_t t; uint32_t key; uint32_t pad; } recent[16];
	char reason[64];
};
struct entrec1 {
	uint32_t magic, version;
	struct { int64_t until_ms; char model[120]; } e[8];
};

static struct keyrec1 k1[2];
static char ida[16], idb[16], idg[16];	/* the config's key ids */

/* Key a: 2 requests and 300 tokens at T0 - 1 s (a full minute at
 * max_request_min 2), 5 today, lifetime 40 / 9000 / 3. Key b: cooling
 * until T0 + 5 min for "429 no hint". */
static void
old_keys(void)
{
	int64_t m = (T0 - 1000) / 100, d = (T0 - 1000) / 60000;

	memset(k1, 0, sizeof(k1));
	k1[0].magic = k1[1].magic = 0x41495058u;
	k1[0].version = k1[1].version = 1;
	k1[0].rmin.head = k1[0].tmin.head = m;
	k1[0].rmin.sum = 2;
	k1[0].b_rmin[m % 601] = 2;
	k1[0].tmin.sum = 300;
	k1[0].b_tmin[m % 601] = 300;
	k1[0].rday.head = d;
	k1[0].rday.sum = 5;
	k1[0].b_rday[d % 1441] = 3;
	k1[0].b_rday[(d - 100) % 1441] = 2;
	k1[0].life_requests = 40;
	k1[0].life_tokens = 9000;
	k1[0].life_errors = 3;
	k1[1].state = 1;
	k1[1].cool_until_ms = T0 + 300000;
	k1[1].strikes = 2;
	snprintf(k1[1].reason, sizeof(k1[1].reason), "429 no hint");
}

static enum px_err
write_v1(struct px_store_txn *tx, void *ctx)
{
	const char *const ids[2] = { ida, idb };
	struct provrec1 pr;
	struct entrec1 en;
	uint32_t cursor = 0;
	char k[96];
	size_t i;
	enum px_err e = PX_OK;

	(void)ctx;
	for (i = 0; i < 2 && e == PX_OK; i++) {
		snprintf(k, sizeof(k), "key/openrouter/%s", ids[i]);
		e = px_store_put(tx, k, &k1[i], sizeof(k1[i]));
	}
	memset(&pr, 0, sizeof(pr));
	pr.magic = 0x41495058u;
	pr.version = 1;
	pr.backoff_until_ms = T0 + 20000;
	snprintf(pr.reason, sizeof(pr.reason), "429 on several keys");
	memset(&en, 0, sizeof(en));
	en.magic = 0x41495058u;
	en.version = 1;
	en.e[3].until_ms = T0 + 3600000;
	snprintf(en.e[3].model, sizeof(en.e[3].model), "gemini-2.5-pro");
	snprintf(k, sizeof(k), "ent1/%s", idg);
	if (e == PX_OK)
		e = px_store_put(tx, "prov/gemini", &pr, sizeof(pr));
	if (e == PX_OK)
		e = px_store_put(tx, k, &en, sizeof(en));
	if (e == PX_OK)
		e = px_store_put(tx, "rr/openrouter", &cursor, sizeof(cursor));
	if (e == PX_OK)
		e = px_store_set_schema(tx, 1);
	return e;
}

/* A state directory holding what main wrote for the config of f. */
static int
old_ledger(struct fx *f)
{
	struct px_store *st = NULL;
	char dir[128], detail[256];
	enum px_err e;

	old_keys();
	snprintf(dir, sizeof(dir), "%s/ledger", f->dir);
	if (px_store_open(&st, dir, 8u << 20, 0, detail, sizeof(detail)) !=
	    PX_OK)
		return -1;
	e = px_store_run(st, 1, write_v1, NULL);
	px_store_close(st);
	return e == PX_OK ? 0 : -1;
}

static const char *const CFG = PROVS(OR("'sk-a','sk-b'", LIM(100, 1000, 2))
    "," GM("'gk-1'", LIM(100, 1000, 5)));

static double
num(const cJSON *j)
{
	return cJSON_IsNumber(j) ? j->valuedouble : -1;
}

static void
check_usage(struct fx *f)
{
	const char *a = f->cfg->providers[0].keys[0].id;
	const char *b = f->cfg->providers[0].keys[1].id;
	const char *g = f->cfg->providers[1].keys[0].id;
	cJSON *u = fx_usage(f, T0);
	const cJSON *ka = jget(u, "details", "openrouter", "keys", a, N);
	const cJSON *kb = jget(u, "details", "openrouter", "keys", b, N);

	T_CHECK(num(jget(ka, "rate_limit_windows", "req_min", N)) == 2 &&
	    num(jget(ka, "tokens_min", N)) == 300 &&
	    num(jget(ka, "rate_limit_windows", "req_day", N)) == 5,
	    "migrate: minute, token and day windows carried over");
	T_CHECK(num(jget(ka, "lifetime_requests", N)) == 40 &&
	    num(jget(ka, "lifetime_tokens", N)) == 9000 &&
	    num(jget(ka, "errors", N)) == 3,
	    "migrate: lifetime counters carried over");
	T_CHECK(t_streq(cJSON_GetStringValue(jget(kb, "state", N)),
	    "cooling") && t_streq(cJSON_GetStringValue(jget(kb, "reason",
	    N)), "429 no hint"), "migrate: a cooling key stays cooling");
	T_CHECK(t_streq(cJSON_GetStringValue(jget(u, "details", "gemini",
	    "backoff_until", N)), "2027-01-15T08:00:20Z"),
	    "migrate: the provider back-off carried over");
	T_CHECK(t_streq(cJSON_GetStringValue(jget(u, "details", "gemini",
	    "keys", g, "not_entitled", "gemini-2.5-pro", N)),
	    "2027-01-15T09:00:00Z"), "migrate: a limit: 0 mark carried over");
	cJSON_Delete(u);
}

static enum px_err
old_names_left(struct px_store_txn *tx, void *ctx)
{
	char names[512];
	size_t need, n = 0;

	n += px_store_names(tx, "key/", names, sizeof(names), &need);
	n += px_store_names(tx, "prov/", names, sizeof(names), &need);
	n += px_store_names(tx, "ent", names, sizeof(names), &need);
	*(size_t *)ctx = n;
	return PX_OK;
}

static enum px_err
schema_now(struct px_store_txn *tx, void *ctx)
{
	*(unsigned *)ctx = px_store_schema_txn(tx);
	return PX_OK;
}

static void
test_migrate(void)
{
	static const struct px_candidate or_c[] = { { "m", PX_PROV_OPENROUTER } };
	struct px_lease l;
	struct fx f;
	int64_t retry = 0;
	size_t left = 99;
	unsigned schema = 0;

	if (fx_dir(&f) != 0 || fx_open(&f, CFG) != 0) {	/* ids, then */
		fx_fail(&f, "migrate: fixture");
		return;
	}
	memcpy(ida, f.cfg->providers[0].keys[0].id, sizeof(ida));
	memcpy(idb, f.cfg->providers[0].keys[1].id, sizeof(idb));
	memcpy(idg, f.cfg->providers[1].keys[0].id, sizeof(idg));
	fx_close(&f);
	if (old_ledger(&f) != 0 || fx_open(&f, CFG) != 0) {
		fx_fail(&f, "migrate: schema-1 ledger written and reopened");
		return;
	}
	T_CHECK(px_store_schema(px_ledger_store(f.lg)) == 1,
	    "migrate: the store was found at schema 1");
	(void)px_store_run(px_ledger_store(f.lg), 0, schema_now, &schema);
	T_CHECK(schema == PX_STORE_SCHEMA, "migrate: now at the current "
	    "schema");
	check_usage(&f);
	/* key a is full this minute, key b cools: refused, and told when
	 * the bucket of T0 - 1 s leaves (601 buckets of 100 ms later) */
	T_CHECK(px_ledger_reserve(f.lg, f.s, or_c, 1, 1, T0, &l, &retry) ==
	    PX_ERATE && retry == 60100 - 1000,
	    "migrate: a full window stays full, same Retry-After");
	(void)px_store_run(px_ledger_store(f.lg), 0, old_names_left, &left);
	T_CHECK(left == 0, "migrate: schema-1 records removed");
	fx_close(&f);
	T_CHECK(fx_open(&f, CFG) == 0, "migrate: opened again");
	check_usage(&f);
	fx_done(&f);
}

static enum px_err
set_future(struct px_store_txn *tx, void *ctx)
{
	(void)ctx;
	return px_store_set_schema(tx, PX_STORE_SCHEMA + 1);
}

static void
test_newer_refused(void)
{
	struct px_ledger *lg = NULL;
	char detail[256] = "";
	struct fx f;

	if (fx_new(&f, CFG) != 0) {
		fx_fail(&f, "newer: fixture");
		return;
	}
	(void)px_store_run(px_ledger_store(f.lg), 1, set_future, NULL);
	T_CHECK(px_ledger_open(&lg, f.cfg, detail, sizeof(detail)) ==
	    PX_ESTORE && strstr(detail, "newer aiproxy") != NULL,
	    "newer schema: refused, saying why");
	px_ledger_close(lg);
	fx_done(&f);
}

int
main(void)
{
	test_migrate();
	test_newer_refused();
	return t_done();
}
