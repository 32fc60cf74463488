/*
 * test_metrics.c -- the installation-wide counters (stats.c) and the
 * /metrics renderer (metrics.c), on hand-made snapshots: counter layout,
 * the accumulator, the stats record's encoding, histogram buckets,
 * exposition-format rules (HELP/TYPE before samples, a family's samples
 * together, label escaping), remaining = limit - used, states, scopes,
 * and no key secret in the body.
 * Never: opens a ledger (test_ledger and the integration suite do).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "stats.h"
#include "tharness.h"

static struct px_config *
load_q(const char *doc)
{
	const char *q = t_quote(doc);
	struct px_config *cfg = NULL;

	if (px_config_parse(q, strlen(q), "t", &cfg, NULL) != PX_OK)
		return NULL;
	return cfg;
}

static void
test_layout(void)
{
	static unsigned char seen[PX_ST_N];
	size_t i, dup = 0, out = 0;
	int r, p, c, a;

	memset(seen, 0, sizeof(seen));
	for (r = 0; r < PX_ST_ROUTE__MAX; r++)
		for (p = 0; p < PX_ST_PROVS; p++)
			for (c = 0; c < PX_ST_CLASSES; c++) {
				i = px_st_req((enum px_st_route)r, p,
				    200 + 100 * c);
				out += i >= PX_ST_ATT_OFF;
				dup += seen[i]++ != 0;
			}
	for (p = 0; p < PX_ST_PROVS; p++)
		for (a = 0; a < PX_ST_ATT__MAX; a++) {
			i = px_st_att(p, (enum px_st_attempt)a);
			out += i < PX_ST_ATT_OFF || i >= PX_ST_LIM_OFF;
			dup += seen[i]++ != 0;
		}
	for (c = 0; c < PX_ST_LIMITS; c++)
		dup += seen[px_st_lim(c)]++ != 0;
	for (p = 0; p < PX_ST_PROVS; p++)
		for (i = 0; i < PX_ST_UP_STRIDE; i++)
			dup += seen[px_st_up(p) + i]++ != 0;
	for (i = 0; i < PX_ST_OH_BUCKETS + 3; i++)
		dup += seen[px_st_oh() + i]++ != 0;
	for (i = 0; i < PX_ST_N; i++)
		out += seen[i] != 1;
	T_CHECK(dup == 0 && out == 0, "every counter has one slot, and "
	    "every slot one counter");
	T_CHECK(px_st_req(PX_ST_CHAT, 1, 204) == px_st_req(PX_ST_CHAT, 1,
	    299) && px_st_req(PX_ST_CHAT, 1, 429) != px_st_req(PX_ST_CHAT, 1,
	    200) && px_st_req(PX_ST_CHAT, 1, 0) == px_st_req(PX_ST_CHAT, 1,
	    503), "status classes (no status counts as 5xx)");
	T_STREQ(px_st_prov_name(0), "none", "provider none");
	T_STREQ(px_st_prov_name(px_st_prov(PX_PROV_GEMINI)), "gemini",
	    "provider by id");
	T_STREQ(px_st_dialect_name(PX_ST_COUNT_TOKENS), "messages",
	    "count_tokens is the Messages dialect");
}

static void
test_accumulator(void)
{
	static uint64_t d[PX_ST_N], e[PX_ST_N];
	size_t up = px_st_up(2);

	(void)px_stats_take(d);
	T_CHECK(px_stats_take(d) == 0, "nothing added: nothing to take");
	px_stats_add(px_st_lim(3), 2);
	px_stats_observe(up, px_st_up_le_us, PX_ST_UP_BUCKETS, 5000);
	px_stats_observe(up, px_st_up_le_us, PX_ST_UP_BUCKETS, 5001);
	px_stats_observe(up, px_st_up_le_us, PX_ST_UP_BUCKETS, 99000000);
	T_CHECK(px_stats_take(d) == 1, "something to take");
	T_CHECK(d[px_st_lim(3)] == 2, "add");
	T_CHECK(d[up] == 1 && d[up + 1] == 1, "a value on a bound goes in "
	    "that bucket, one above it in the next");
	T_CHECK(d[up + PX_ST_UP_BUCKETS] == 1, "above the last bound: +Inf");
	T_CHECK(d[up + PX_ST_UP_BUCKETS + 1] == 5000 + 5001 + 99000000 &&
	    d[up + PX_ST_UP_BUCKETS + 2] == 3, "sum and count");
	T_CHECK(px_stats_take(e) == 0, "taking zeroes the accumulator");
	px_stats_return(d);
	T_CHECK(px_stats_take(e) == 1 && memcmp(d, e, sizeof(d)) == 0,
	    "a failed flush gives its delta back whole");
}

static void
test_record(void)
{
	static uint64_t v[PX_ST_N], w[PX_ST_N];
	static unsigned char b[PX_ST_ENC_MAX];
	size_t i, n;

	for (i = 0; i < PX_ST_N; i++)
		v[i] = (uint64_t)i * 0x0101010101ULL + (i == 7 ? UINT64_MAX -
		    1000 : 0);
	n = px_stats_encode(v, b);
	T_CHECK(n == PX_ST_ENC_MAX, "encoded size");
	T_CHECK(b[0] == 'S' && b[1] == 1 && b[2] == (PX_ST_N & 0xff) &&
	    b[6] == 0 && b[14] == 0x01 && b[15] == 0x01, "little-endian "
	    "layout, fixed header");
	T_CHECK(px_stats_decode(b, n, w) == 0 && memcmp(v, w, sizeof(v)) ==
	    0, "round trip");
	T_CHECK(px_stats_decode(b, 0, w) == 0 && w[7] == 0, "no record: "
	    "zeros");
	T_CHECK(px_stats_decode(b, n - 1, w) == -1, "cut record refused");
	b[1] = 2;
	T_CHECK(px_stats_decode(b, n, w) == -1, "unknown version refused");
	b[1] = 1;
	b[2] = 3;
	b[3] = b[4] = b[5] = 0;
	T_CHECK(px_stats_decode(b, n, w) == 0 && w[2] == v[2] && w[3] == 0,
	    "a shorter record: the rest reads as 0");
}

/* Every family: HELP then TYPE, then only its own samples. */
static int
well_formed(const char *body)
{
	char fam[128] = "", seen[64][128];
	size_t nseen = 0, i;
	const char *l = body;

	while (*l != '\0') {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		char line[1024];

		if (n == 0 || n >= sizeof(line) || nl == NULL)
			return 0;
		memcpy(line, l, n);
		line[n] = '\0';
		if (strncmp(line, "# HELP ", 7) == 0) {
			sscanf(line + 7, "%127s", fam);
			for (i = 0; i < nseen; i++)
				if (strcmp(seen[i], fam) == 0)
					return 0;	/* family split */
			if (nseen < 64)
				strcpy(seen[nseen++], fam);
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			if (strncmp(line + 7, fam, strlen(fam)) != 0)
				return 0;
		} else {
			size_t fl = strlen(fam);

			if (fl == 0 || strncmp(line, fam, fl) != 0 ||
			    strchr("{ _", line[fl]) == NULL)
				return 0;
		}
		l = nl + 1;
	}
	return 1;
}

#define DOC "{'access_key':'0123456789abcdef0123456789abcdef'," \
	"'owners':{'proj-a':{'max_request_day':20,'model_limits':{" \
	"'gemini-2.5-*':{'max_request_day':5}}}}," \
	"'access_keys':[{'key':'clientclientclientclient1','name':'team-a'," \
	"'max_request_min':3}]," \
	"'provider_keys':[{'provider':'gemini','owner':'proj-a'," \
	"'key':['SECRETG1','SECRETG2'],'max_request_day':100," \
	"'max_token_min':1000,'max_request_min':10,'max_concurrent':2}," \
	"{'provider':'openrouter','key':['SECRETO1'],'max_request_day':50," \
	"'max_token_min':500,'max_request_min':5}]}"

static struct px_snap_key keys[3];
static struct px_snap_scope scopes[4];

static void
make_snap(const struct px_config *cfg, struct px_snapshot *sn)
{
	const struct px_provider_cfg *g = &cfg->providers[0],
	    *o = &cfg->providers[1];

	memset(sn, 0, sizeof(*sn));
	memset(keys, 0, sizeof(keys));
	memset(scopes, 0, sizeof(scopes));
	sn->now_ms = 1800000000000;
	sn->backend = "lmdb";
	sn->keys = keys;
	sn->nkeys = 3;
	keys[0] = (struct px_snap_key){ .provider = PX_PROV_OPENROUTER,
	    .group = o, .key = &o->keys[0], .req_min = 2, .tok_min = 300,
	    .req_day = 7, .life_requests = 70, .life_tokens = 7000 };
	keys[1] = (struct px_snap_key){ .provider = PX_PROV_GEMINI,
	    .group = g, .key = &g->keys[0], .req_min = 4, .req_day = 9,
	    .state = PX_KEY_COOLING, .until_ms = sn->now_ms + 30000,
	    .in_flight = 2 };
	keys[2] = (struct px_snap_key){ .provider = PX_PROV_GEMINI,
	    .group = g, .key = &g->keys[1], .state = PX_KEY_DISABLED };
	sn->prov[PX_PROV_OPENROUTER] = (struct px_snap_provider){
	    .present = 1, .first = 0, .nkeys = 1, .req_day = 7,
	    .capacity = 50 };
	sn->prov[PX_PROV_GEMINI] = (struct px_snap_provider){ .present = 1,
	    .first = 1, .nkeys = 2, .req_day = 9, .capacity = 200 };
	sn->scopes = scopes;
	sn->nscopes = 3;
	scopes[0] = (struct px_snap_scope){ .kind = PX_SNAP_OWNER,
	    .name = cfg->owners[0].name, .req_day = 9, .max_request_day = 20 };
	scopes[1] = (struct px_snap_scope){ .kind = PX_SNAP_OWNER_MODEL,
	    .parent = 0, .name = "gem\"in\\i\n-*", .req_day = 6,
	    .max_request_day = 5 };
	scopes[2] = (struct px_snap_scope){ .kind = PX_SNAP_CLIENT,
	    .name = "team-a", .client = &cfg->clients[0], .req_min = 1,
	    .max_request_min = 3, .life_requests = 11, .life_tokens = 99 };
}

static int
has(const char *body, const char *line)
{
	const char *p = body;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == body || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	return 0;
}

static void
test_render(void)
{
	static uint64_t st[PX_ST_N];
	struct px_config *cfg = load_q(DOC);
	struct px_snapshot sn;
	struct px_buf b;
	const char *body;

	T_CHECK(cfg != NULL, "config loads");
	if (cfg == NULL)
		return;
	make_snap(cfg, &sn);
	memset(st, 0, sizeof(st));
	st[px_st_req(PX_ST_MESSAGES, px_st_prov(PX_PROV_GEMINI), 200)] = 5;
	st[px_st_att(px_st_prov(PX_PROV_GEMINI), PX_ST_ATT_RATE_LIMITED)] = 3;
	st[px_st_lim(PX_LIMIT_OWNER)] = 4;
	st[px_st_oh()] = 2;			/* <= 100 us */
	st[px_st_oh() + 2] = 1;			/* <= 500 us */
	st[px_st_oh() + PX_ST_OH_BUCKETS + 1] = 700;
	st[px_st_oh() + PX_ST_OH_BUCKETS + 2] = 3;
	px_buf_init(&b, 1u << 20);
	T_CHECK(px_metrics_render(&sn, st, &b) == PX_OK, "renders");
	body = b.p != NULL ? b.p : "";
	T_CHECK(well_formed(body), "HELP and TYPE head each family, whose "
	    "samples are together");
	T_CHECK(strstr(body, "SECRET") == NULL, "no key secret");
	T_CHECK(has(body, "aiproxy_requests_total{route=\"messages\","
	    "dialect=\"messages\",provider=\"gemini\",status_class=\"2xx\"} 5"),
	    "requests by route, dialect, provider, class");
	T_CHECK(strstr(body, "status_class=\"5xx\"") == NULL, "zero request "
	    "series are left out");
	T_CHECK(has(body, "aiproxy_upstream_attempts_total{provider=\"gemini\""
	    ",outcome=\"rate_limited\"} 3"), "attempts by outcome");
	T_CHECK(has(body, "aiproxy_rate_limited_total{limit="
	    "\"owner_rate_limit\"} 4") && has(body, "aiproxy_rate_limited_"
	    "total{limit=\"not_entitled\"} 0"), "our 429s by limit");
	T_CHECK(has(body, "aiproxy_overhead_seconds_bucket{le=\"0.0001\"} 2")
	    && has(body, "aiproxy_overhead_seconds_bucket{le=\"0.00025\"} 2")
	    && has(body, "aiproxy_overhead_seconds_bucket{le=\"0.0005\"} 3")
	    && has(body, "aiproxy_overhead_seconds_bucket{le=\"+Inf\"} 3") &&
	    has(body, "aiproxy_overhead_seconds_sum 0.000700") &&
	    has(body, "aiproxy_overhead_seconds_count 3"), "cumulative "
	    "histogram, sum in seconds, count");
	{
		char l[256];

		snprintf(l, sizeof(l), "aiproxy_key_remaining{provider="
		    "\"openrouter\",key_id=\"%s\",owner=\"\",window="
		    "\"tokens_minute\"} 200", cfg->providers[1].keys[0].id);
		T_CHECK(has(body, l), "remaining is limit - used");
		snprintf(l, sizeof(l), "aiproxy_key_remaining{provider="
		    "\"openrouter\",key_id=\"%s\",owner=\"\",window="
		    "\"requests_day\"} 43", cfg->providers[1].keys[0].id);
		T_CHECK(has(body, l), "remaining requests_day = 50 - 7");
		snprintf(l, sizeof(l), "aiproxy_key_used{provider=\"gemini\","
		    "key_id=\"%s\",owner=\"proj-a\",window="
		    "\"concurrent\"} 2", cfg->providers[0].keys[0].id);
		T_CHECK(has(body, l), "in-flight as the concurrent window, "
		    "owner label escaped");
		snprintf(l, sizeof(l), "aiproxy_key_state{provider=\"gemini\","
		    "key_id=\"%s\",owner=\"proj-a\",state=\"cooling\"} 1",
		    cfg->providers[0].keys[0].id);
		T_CHECK(has(body, l), "state gauge 1 for the key's state");
		snprintf(l, sizeof(l), "aiproxy_key_state{provider=\"gemini\","
		    "key_id=\"%s\",owner=\"proj-a\",state=\"active\"} 0",
		    cfg->providers[0].keys[0].id);
		T_CHECK(has(body, l), "and 0 for the others");
		snprintf(l, sizeof(l), "aiproxy_key_until_seconds{provider="
		    "\"gemini\",key_id=\"%s\",owner=\"proj-a\"} "
		    "1800000030.000000", cfg->providers[0].keys[0].id);
		T_CHECK(has(body, l), "cooldown end in Unix seconds");
	}
	T_CHECK(strstr(body, "window=\"concurrent\"") != NULL &&
	    strstr(body, "aiproxy_key_limit{provider=\"openrouter\"") != NULL,
	    "limits present");
	T_CHECK(has(body, "aiproxy_owner_model_remaining{owner=\"proj-a\","
	    "model=\"gem\\\"in\\\\i\\n-*\",window=\"requests_day\"} 0"),
	    "an owner's model entry (label escaped); used above its limit "
	    "leaves 0");
	T_CHECK(has(body, "aiproxy_owner_limit{owner=\"proj-a\","
	    "window=\"requests_day\"} 20") && strstr(body, "aiproxy_owner_"
	    "limit{owner=\"proj-a\",window=\"requests_minute\"}") ==
	    NULL, "an owner's set limits only");
	T_CHECK(has(body, "aiproxy_client_remaining{client=\"team-a\","
	    "window=\"requests_minute\"} 2") && has(body, "aiproxy_client_"
	    "requests_total{client=\"team-a\"} 11"), "client windows and "
	    "totals");
	T_CHECK(has(body, "aiproxy_provider_capacity_day{provider=\"gemini\"}"
	    " 200") && has(body, "aiproxy_ledger_info{backend=\"lmdb\"} 1"),
	    "provider capacity, backend");
	px_buf_free(&b);
	px_config_free(cfg);
}

int
main(void)
{
	test_layout();
	test_accumulator();
	test_record();
	test_render();
	return t_done();
}
