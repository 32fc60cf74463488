/*
 * test_router.c -- model -> provider: `models` lists before the "gemini"
 * prefix rule, key counts summed over entries, plain and auto-model
 * resolution with and without keys. Configs are parsed from in-memory
 * JSON written with ' for " (see t_quote()).
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "router.h"
#include "tharness.h"

#define LIMITS "'max_request_day':1,'max_token_min':1,'max_request_min':1"
#define OR(keys, extra) "{'provider':'openrouter','key':[" keys "]," \
	LIMITS extra "}"
#define GM(keys, extra) "{'provider':'gemini','key':[" keys "]," \
	LIMITS extra "}"
#define DOC(top, provs) "{'access_key':'ak'," top "'provider_keys':[" \
	provs "]}"

/* Both providers; openrouter split over two entries (2 + 1 keys). */
static const char both[] = DOC("'auto-models':['gemini-pro','or/one'],",
    OR("'k1','k2'", ",'models':['gemini-on-or','special/x']") ","
    GM("'g1'", ",'models':['learnlm-2','shared']") ","
    OR("'k3'", ",'models':['shared']"));
/* Gemini keys only, over two entries (2 + 1 keys). */
static const char gem_only[] = DOC(
    "'auto-models':['or/a','meta/b','gemini-x','gemini-y'],",
    GM("'g1','g2'", "") "," GM("'g3'", ""));
/* OpenRouter keys only; one "gemini..." name is routed by its list. */
static const char or_only[] = DOC(
    "'auto-models':['gemini-pro','gemini-special','or/z'],",
    OR("'k1'", ",'models':['gemini-special']"));
/* auto-models present, but none has a provider with keys. */
static const char no_auto[] = DOC("'auto-models':['or/a','x/y'],",
    GM("'g1'", ""));
/* no auto-models key at all */
static const char empty_auto[] = DOC("", OR("'k1'", ""));

static struct px_config *
load(const char *doc)
{
	struct px_config *cfg = NULL;
	struct px_cfg_errors e;
	const char *text = t_quote(doc);

	memset(&e, 0, sizeof e);
	if (px_config_parse(text, strlen(text), "t.json", &cfg, &e) != PX_OK) {
		printf("#   config rejected: %s\n", e.n > 0 ? e.msg[0] : "?");
		return NULL;
	}
	return cfg;
}

/* --- px_router_provider, px_router_nkeys ------------------------------ */

static const struct {
	const char         *model;
	enum px_provider_id prov;
} routes[] = {	/* over `both` */
	{ "gemini-on-or",        PX_PROV_OPENROUTER },	/* list beats prefix */
	{ "learnlm-2",           PX_PROV_GEMINI },	/* list beats default */
	{ "shared",              PX_PROV_GEMINI },	/* first entry wins */
	{ "special/x",           PX_PROV_OPENROUTER },
	{ "learnlm-2-pro",       PX_PROV_OPENROUTER },	/* exact match only */
	{ "learnlm",             PX_PROV_OPENROUTER },
	{ "gemini-on-or2",       PX_PROV_GEMINI },	/* not listed: prefix */
	{ "gemini-1.5-pro",      PX_PROV_GEMINI },
	{ "gemini",              PX_PROV_GEMINI },
	{ "gemini/x",            PX_PROV_GEMINI },
	{ "gemin",               PX_PROV_OPENROUTER },
	{ "x-gemini-pro",        PX_PROV_OPENROUTER },
	{ "google/gemini-pro",   PX_PROV_OPENROUTER },
	{ "openai/gpt-4o",       PX_PROV_OPENROUTER },
	{ "",                    PX_PROV_OPENROUTER },
};

static void
test_provider(void)
{
	struct px_config *cfg = load(both);
	enum px_provider_id got;
	size_t i;

	T_CHECK(cfg != NULL, "config `both` loads");
	if (cfg == NULL)
		return;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		got = px_router_provider(cfg, routes[i].model);
		T_CHECK(got == routes[i].prov, "px_router_provider");
		if (got != routes[i].prov)
			printf("#   '%s' -> %s\n", routes[i].model,
			    px_provider_name(got));
	}
	T_CHECK(px_router_nkeys(cfg, PX_PROV_OPENROUTER) == 3,
	    "nkeys: openrouter 2 + 1 over two entries");
	T_CHECK(px_router_nkeys(cfg, PX_PROV_GEMINI) == 1, "nkeys: gemini 1");
	px_config_free(cfg);

	cfg = load(gem_only);
	T_CHECK(cfg != NULL, "config `gem_only` loads");
	if (cfg == NULL)
		return;
	T_CHECK(px_router_nkeys(cfg, PX_PROV_GEMINI) == 3,
	    "nkeys: gemini 2 + 1 over two entries");
	T_CHECK(px_router_nkeys(cfg, PX_PROV_OPENROUTER) == 0,
	    "nkeys: provider without entries has 0");
	px_config_free(cfg);
}

/* --- px_router_resolve ------------------------------------------------ */

enum { RES_OK, RES_EMODEL };

static const struct {
	const char         *doc;
	const char         *model;
	int                 res;
	enum px_provider_id prov;	/* served, or the one without keys */
	const char         *served;	/* RES_OK */
} res[] = {
	{ both, "openai/gpt-4o", RES_OK, PX_PROV_OPENROUTER, "openai/gpt-4o" },
	{ both, "gemini-2.0-flash", RES_OK, PX_PROV_GEMINI,
	  "gemini-2.0-flash" },
	{ both, "gemini-on-or", RES_OK, PX_PROV_OPENROUTER, "gemini-on-or" },
	/* the first auto-models entry, when usable, wins */
	{ both, PX_AUTO_MODEL, RES_OK, PX_PROV_GEMINI, "gemini-pro" },
	{ gem_only, "gemini-pro", RES_OK, PX_PROV_GEMINI, "gemini-pro" },
	{ gem_only, "openai/gpt-4o", RES_EMODEL, PX_PROV_OPENROUTER, NULL },
	/* or/a and meta/b skipped: openrouter has no keys */
	{ gem_only, PX_AUTO_MODEL, RES_OK, PX_PROV_GEMINI, "gemini-x" },
	{ or_only, "gemini-pro", RES_EMODEL, PX_PROV_GEMINI, NULL },
	{ or_only, "gemini-special", RES_OK, PX_PROV_OPENROUTER,
	  "gemini-special" },
	{ or_only, PX_AUTO_MODEL, RES_OK, PX_PROV_OPENROUTER,
	  "gemini-special" },	/* routed by its list */
	{ or_only, "auto-model-x", RES_OK, PX_PROV_OPENROUTER,
	  "auto-model-x" },	/* only the exact id is auto */
	{ no_auto, PX_AUTO_MODEL, RES_EMODEL, PX_PROV_OPENROUTER, NULL },
	{ empty_auto, PX_AUTO_MODEL, RES_EMODEL, PX_PROV_OPENROUTER, NULL },
};

/*
 * The detail of a plain model names the model and, outside the model's
 * own text ("gemini-pro" contains "gemini"), the provider without keys.
 */
static int
detail_ok(const char *detail, const char *model, enum px_provider_id p)
{
	char rest[160];
	const char *m;
	size_t off;

	if (detail[0] == '\0' || strcmp(model, PX_AUTO_MODEL) == 0)
		return detail[0] != '\0';
	m = strstr(detail, model);
	if (m == NULL)
		return 0;
	off = (size_t)(m - detail);
	snprintf(rest, sizeof rest, "%.*s|%s", (int)off, detail,
	    m + strlen(model));
	return strstr(rest, px_provider_name(p)) != NULL;
}

static void
check_resolve(const struct px_config *cfg, size_t i)
{
	char detail[160] = "";
	const char *served = NULL;
	enum px_provider_id prov = PX_PROV__MAX;
	enum px_err rc;
	size_t j;

	rc = px_router_resolve(cfg, res[i].model, &served, &prov, detail,
	    sizeof detail);
	if (res[i].res == RES_EMODEL) {
		T_CHECK(rc == PX_EMODEL, "resolve: PX_EMODEL");
		T_CHECK(detail_ok(detail, res[i].model, res[i].prov),
		    "resolve: detail names model and provider");
		if (!detail_ok(detail, res[i].model, res[i].prov))
			printf("#   detail \"%s\"\n", detail);
		return;
	}
	T_CHECK(rc == PX_OK, "resolve: PX_OK");
	T_STREQ(served, res[i].served, "resolve: served model");
	T_CHECK(prov == res[i].prov, "resolve: provider");
	if (strcmp(res[i].model, PX_AUTO_MODEL) != 0) {
		T_CHECK(served == res[i].model, "resolve: client's own string");
		return;
	}
	for (j = 0; j < cfg->nauto_models; j++)
		if (served == cfg->auto_models[j])
			break;
	T_CHECK(j < cfg->nauto_models, "resolve: auto points into config");
}

static void
test_resolve(void)
{
	struct px_config *cfg;
	size_t i;

	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		cfg = load(res[i].doc);
		T_CHECK(cfg != NULL, "resolve: config loads");
		if (cfg == NULL)
			continue;
		check_resolve(cfg, i);
		px_config_free(cfg);
	}
}

/* A long model id and a tiny detail buffer: truncated, terminated. */
static void
test_detail_cap(void)
{
	struct px_config *cfg = load(gem_only);
	char model[400], small[8], detail[160];
	const char *served = NULL;
	enum px_provider_id prov;

	T_CHECK(cfg != NULL, "detail cap: config loads");
	if (cfg == NULL)
		return;
	memset(model, 'm', sizeof model - 1);
	model[sizeof model - 1] = '\0';
	memset(detail, 'X', sizeof detail);
	T_CHECK(px_router_resolve(cfg, model, &served, &prov, detail,
	    sizeof detail) == PX_EMODEL, "long model: PX_EMODEL");
	T_CHECK(memchr(detail, '\0', sizeof detail) != NULL,
	    "long model: detail terminated");
	T_CHECK(strstr(detail, "openrouter") != NULL,
	    "long model: provider still named");
	memset(small, 'X', sizeof small);
	T_CHECK(px_router_resolve(cfg, "x/y", &served, &prov, small,
	    sizeof small) == PX_EMODEL, "small detail: PX_EMODEL");
	T_CHECK(memchr(small, '\0', sizeof small) != NULL,
	    "small detail: terminated within cap");
	px_config_free(cfg);
}

/* --- model_aliases (issue 10) ------------------------------------------ */

static const char aliased[] = DOC("'auto-models':['gemini-pro'],"
    "'model_aliases':{'claude-*':'auto-model','claude-sonnet-*':"
    "'gemini-2.5-pro','gpt-4o':'or/four','claude-haiku-4-5':'gemini-x'},",
    OR("'k1'", "") "," GM("'g1'", ""));

static void
test_aliases(void)
{
	static const struct {
		const char *model, *want;
	} v[] = {
		{ "claude-opus-4", "auto-model" },		/* prefix */
		{ "claude-sonnet-4-6", "gemini-2.5-pro" },	/* longest prefix */
		{ "claude-haiku-4-5", "gemini-x" },		/* exact wins */
		{ "gpt-4o", "or/four" },
		{ "gpt-4o-mini", "gpt-4o-mini" },		/* exact only */
		{ "claude", "claude" },				/* not the prefix */
		{ "other", "other" },
	};
	struct px_config *cfg = load(aliased);
	struct px_candidate c[4];
	char detail[128], name[96];
	size_t i, n;

	T_CHECK(cfg != NULL && cfg->naliases == 4, "aliases loaded");
	for (i = 0; cfg != NULL && i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(name, sizeof name, "alias %s", v[i].model);
		T_STREQ(px_router_alias(cfg, v[i].model), v[i].want, name);
	}
	T_CHECK(cfg != NULL && px_router_candidates(cfg, "claude-opus-4", c, 4,
	    &n, detail, sizeof detail) == PX_OK && n == 1 &&
	    strcmp(c[0].model, "gemini-pro") == 0 &&
	    c[0].provider == PX_PROV_GEMINI, "an alias to auto-model");
	T_CHECK(cfg != NULL && px_router_candidates(cfg, "gpt-4o", c, 4, &n,
	    detail, sizeof detail) == PX_OK && n == 1 &&
	    strcmp(c[0].model, "or/four") == 0, "an alias to a model id");
	px_config_free(cfg);
	T_CHECK(load(DOC("'model_aliases':{'a*b':'x'},", OR("'k1'", ""))) ==
	    NULL, "'*' inside an alias refused");
	T_CHECK(load(DOC("'model_aliases':{'a':''},", OR("'k1'", ""))) ==
	    NULL, "empty target refused");
	T_CHECK(load(DOC("'model_aliases':['a'],", OR("'k1'", ""))) == NULL,
	    "not an object refused");
}

int
main(void)
{
	test_provider();
	test_resolve();
	test_detail_cap();
	test_aliases();
	return t_done();
}
