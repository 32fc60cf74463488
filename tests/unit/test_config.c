/*
 * test_config.c -- config.json loading: the seed file, every optional key,
 * each error class with its exact message, env: keys, key ids, secrecy.
 * Runs with cwd = repo root (fixtures in tests/unit/configs/). Most cases
 * are in-memory documents written with ' for " (see t_quote()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tharness.h"

#define CONFIGS "tests/unit/configs/"

/* T_STREQ that also shows what was found. */
static void
check_str(const char *got, const char *want, const char *what)
{
	int ok = got != NULL && strcmp(got, want) == 0;

	if (!ok)
		printf("#   got \"%s\", want \"%s\"\n",
		    got != NULL ? got : "(null)", want);
	T_CHECK(ok, what);
}

/* A valid document around the parts under test. */
#define PROV0 "{'provider':'openrouter','key':['k1'],'max_request_day':1," \
	"'max_token_min':1,'max_request_min':1}"
#define LIMITS "'max_request_day':1,'max_token_min':1,'max_request_min':1"
#define DOC(top) "{'access_key':'ak'," top "'provider_keys':[" PROV0 "," \
	"{'provider':'gemini','key':['g1']," LIMITS "}]}"
#define DOC1(p1) "{'access_key':'ak','provider_keys':[" PROV0 ",{" p1 "}]}"
#define GEM(extra) DOC1("'provider':'gemini','key':['g1']," LIMITS extra)

static const struct {
	const char *doc;
	const char *msg[5];	/* all errors, in order */
} bad[] = {
	/* wrong type, out of range, non-integer */
	{ DOC("'threads':0,"), { "threads: expected integer 1..4096, got 0" } },
	{ GEM(",'api':'grpc'"), { "provider_keys[1].api: expected \"openai\" "
	    "or \"native\", got \"grpc\"" } },
	/* the ledger's backend (issue 12) */
	{ DOC("'state_backend':'redis',"),
	  { "redis_url: required when state_backend is \"redis\"" } },
	{ DOC("'state_backend':'etcd',"),
	  { "state_backend: expected \"lmdb\" or \"redis\", got \"etcd\"" } },
	{ DOC("'state_backend':'redis','redis_url':'redis://u:pw@h:6379',"),
	  { "redis_url: no user or password in the URL: put the password in "
	    "redis_password (\"env:NAME\" allowed)" } },
	{ DOC("'state_backend':'redis','redis_url':'redis://h:0',"),
	  { "redis_url: the port must be 1..65535" } },
	{ DOC("'state_backend':'redis','redis_url':'http://h',"),
	  { "redis_url: expected redis://HOST[:PORT][/DB] or "
	    "unix:///PATH[?db=DB]" } },
	{ DOC("'redis_timeout_ms':5,"),
	  { "redis_timeout_ms: expected integer 10..60000, got 5" } },
	{ DOC("'redis_prefix':'a b',"),
	  { "redis_prefix: at most 64 printable ASCII characters without "
	    "spaces" } },
	{ DOC("'redis_password':'env:PX_TEST_UNSET_VAR',"),
	  { "redis_password: environment variable PX_TEST_UNSET_VAR is not "
	    "set" } },
	{ DOC("'state_durable':1,"),
	  { "state_durable: expected true or false, got 1" } },
	{ DOC("'state_durable':'yes',"),
	  { "state_durable: expected true or false, got \"yes\"" } },
	{ DOC("'max_attempts':0,"),
	  { "max_attempts: expected integer 1..10, got 0" } },
	{ DOC("'key_reprobe_s':0,"),
	  { "key_reprobe_s: expected integer 1..86400, got 0" } },
	{ DOC("'state_map_mb':0,"),
	  { "state_map_mb: expected integer 1..65536, got 0" } },
	{ DOC("'threads':4097,"),
	  { "threads: expected integer 1..4096, got 4097" } },
	{ DOC("'threads':1.5,"),
	  { "threads: expected integer 1..4096, got 1.5" } },
	{ DOC("'threads':'x',"),
	  { "threads: expected integer 1..4096, got \"x\"" } },
	{ DOC("'threads':{},"),
	  { "threads: expected integer 1..4096, got object" } },
	{ DOC("'threads':[1],"),
	  { "threads: expected integer 1..4096, got array" } },
	{ DOC("'threads':true,"),
	  { "threads: expected integer 1..4096, got true" } },
	{ DOC("'threads':null,"),
	  { "threads: expected integer 1..4096, got null" } },
	{ DOC("'max_body_bytes':1e12,"),
	  { "max_body_bytes: expected integer 1024..1073741824, "
	    "got 1000000000000" } },
	{ DOC("'max_body_bytes':1023,"),
	  { "max_body_bytes: expected integer 1024..1073741824, got 1023" } },
	{ DOC("'connect_timeout_ms':99,"),
	  { "connect_timeout_ms: expected integer 100..600000, got 99" } },
	{ DOC("'first_byte_timeout_ms':3600001,"),
	  { "first_byte_timeout_ms: expected integer 100..3600000, "
	    "got 3600001" } },
	{ DOC("'idle_timeout_ms':false,"),
	  { "idle_timeout_ms: expected integer 100..3600000, got false" } },
	{ DOC("'keepalive_interval_ms':-5,"),
	  { "keepalive_interval_ms: expected integer 100..3600000, "
	    "got -5" } },
	{ DOC("'models_cache_s':86401,"),
	  { "models_cache_s: expected integer 0..86400, got 86401" } },
	{ DOC("'model_usage_gap_percentage':100.5,"),
	  { "model_usage_gap_percentage: expected number 0..100, "
	    "got 100.5" } },
	{ DOC("'model_usage_gap_percentage':'5',"),
	  { "model_usage_gap_percentage: expected number 0..100, "
	    "got \"5\"" } },
	{ DOC("'state_dir':'',"),
	  { "state_dir: expected non-empty string, got \"\"" } },
	{ DOC("'state_dir':7,"),
	  { "state_dir: expected non-empty string, got 7" } },
	{ "{'access_key':'','provider_keys':[" PROV0 "]}",
	  { "access_key: expected non-empty string, got \"\"" } },
	{ "{'access_key':12,'provider_keys':[" PROV0 "]}",
	  { "access_key: expected non-empty string, got 12" } },
	{ DOC("'auto-models':'gpt',"),
	  { "auto-models: expected array of non-empty strings, "
	    "got \"gpt\"" } },
	{ DOC("'auto-models':['a',3,''],"),
	  { "auto-models[1]: expected non-empty string, got 3",
	    "auto-models[2]: expected non-empty string, got \"\"" } },
	/* unknown keys, with a hint for close names */
	{ DOC("'bogus':1,"), { "bogus: unknown key" } },
	{ DOC("'acces_key':'x',"),
	  { "acces_key: unknown key (did you mean \"access_key\"?)" } },
	{ DOC("'auto_models':[],"),
	  { "auto_models: unknown key (did you mean \"auto-models\"?)" } },
	{ GEM(",'max_requests_min':5"),
	  { "provider_keys[1].max_requests_min: unknown key "
	    "(did you mean \"max_request_min\"?)" } },
	{ GEM(",'Models':['m']"),
	  { "provider_keys[1].Models: unknown key "
	    "(did you mean \"models\"?)" } },
	{ DOC("'threads':2,'threads':3,"), { "threads: duplicate key" } },
	/* provider entries */
	{ DOC1("'provider':'gemini','key':['g1'],'max_request_day':1,"
	    "'max_token_min':1,'max_request_min':'x'"),
	  { "provider_keys[1].max_request_min: expected integer "
	    "1..1000000000, got \"x\"" } },
	{ DOC1("'provider':'gemini','key':['g1'],'max_request_day':1,"
	    "'max_token_min':1000000001,'max_request_min':2.5"),
	  { "provider_keys[1].max_token_min: expected integer "
	    "1..1000000000, got 1000000001",
	    "provider_keys[1].max_request_min: expected integer "
	    "1..1000000000, got 2.5" } },
	{ DOC1("'provider':'gemini','key':['g1'],'max_request_day':1,"
	    "'max_request_min':1"),
	  { "provider_keys[1].max_token_min: required key is missing" } },
	{ DOC1(LIMITS),
	  { "provider_keys[1].provider: required key is missing",
	    "provider_keys[1].key: required key is missing" } },
	{ DOC1("'provider':'openai','key':['g1']," LIMITS),
	  { "provider_keys[1].provider: expected \"openrouter\" or "
	    "\"gemini\", got \"openai\"" } },
	{ DOC1("'provider':'gemini','key':[]," LIMITS),
	  { "provider_keys[1].key: expected non-empty array of non-empty "
	    "strings, got empty array" } },
	{ DOC1("'provider':'gemini','key':[5,'',{}]," LIMITS),
	  { "provider_keys[1].key[0]: expected non-empty string, got 5",
	    "provider_keys[1].key[1]: expected non-empty string, got \"\"",
	    "provider_keys[1].key[2]: expected non-empty string, "
	    "got object" } },
	{ DOC1("'provider':'gemini','key':['g 1','g\\n2']," LIMITS),
	  { "provider_keys[1].key[0]: key contains spaces or control "
	    "characters",
	    "provider_keys[1].key[1]: key contains spaces or control "
	    "characters" } },
	{ DOC1("'provider':'gemini','key':['env:','env:9X','env:A-B']," LIMITS),
	  { "provider_keys[1].key[0]: expected a variable name after "
	    "\"env:\" (letters, digits, '_')",
	    "provider_keys[1].key[1]: expected a variable name after "
	    "\"env:\" (letters, digits, '_')",
	    "provider_keys[1].key[2]: expected a variable name after "
	    "\"env:\" (letters, digits, '_')" } },
	{ GEM(",'base_url':'ftp://x'"),
	  { "provider_keys[1].base_url: expected http:// or https:// URL, "
	    "got \"ftp://x\"" } },
	{ GEM(",'base_url':'https://'"),
	  { "provider_keys[1].base_url: expected http:// or https:// URL, "
	    "got \"https://\"" } },
	{ GEM(",'base_url':'https://a b/'"),
	  { "provider_keys[1].base_url: expected http:// or https:// URL, "
	    "got \"https://a b/\"" } },
	{ GEM(",'models':[]"),
	  { "provider_keys[1].models: expected non-empty array of non-empty "
	    "strings, got empty array" } },
	{ GEM(",'models_filter':''"),
	  { "provider_keys[1].models_filter: expected non-empty string, "
	    "got \"\"" } },
	{ "{'access_key':'a','provider_keys':[]}",
	  { "provider_keys: expected non-empty array of objects, "
	    "got empty array" } },
	{ "{'access_key':'a','provider_keys':{}}",
	  { "provider_keys: expected non-empty array of objects, "
	    "got object" } },
	{ "{'access_key':'a','provider_keys':[1]}",
	  { "provider_keys[0]: expected object, got 1" } },
	{ "{}",
	  { "access_key: required key is missing",
	    "provider_keys: required key is missing" } },
	/* duplicate secrets within one provider, across its entries */
	{ DOC1("'provider':'gemini','key':['g1','g2','g1']," LIMITS),
	  { "provider_keys[1].key[2]: same key as provider_keys[1].key[0]" } },
	{ "{'access_key':'a','provider_keys':[" PROV0 ",{'provider':'gemini',"
	  "'key':['k1']," LIMITS "},{'provider':'openrouter','key':['k2','k1'],"
	  LIMITS "}]}",
	  { "provider_keys[2].key[1]: same key as provider_keys[0].key[0]" } },
	/* several errors collected at once, in document order */
	{ "{'access_key':'a','threads':0,'bogus':1,'provider_keys':["
	  "{'provider':'x','key':['k'],'max_request_day':1,"
	  "'max_token_min':1},5]}",
	  { "threads: expected integer 1..4096, got 0",
	    "bogus: unknown key",
	    "provider_keys[0].provider: expected \"openrouter\" or "
	    "\"gemini\", got \"x\"",
	    "provider_keys[0].max_request_min: required key is missing",
	    "provider_keys[1]: expected object, got 5" } },
};

/* Document-level errors; the text is used as is (no ' conversion). */
static const struct {
	const char *text;
	size_t len;		/* 0: strlen */
	const char *msg;
} bad_doc[] = {
	{ "{\n  \"access_key\": \"a\",\n  \"threads\": 5\n  \"x\": 1\n}", 0,
	  "t.json:4:3: JSON syntax error near '\"x\": 1'" },
	{ "{\"access_key\": [1,]}", 0,
	  "t.json:1:19: JSON syntax error near ']}'" },
	{ "{\"é€\": tru}", 0, "t.json:1:8: JSON syntax error near 'tru}'" },
	{ "{\"a\": \"0123456789abcdef", 0,
	  "t.json:1:8: JSON syntax error near '0123456789'" },
	{ "{\"a\": \"aéééééé", 0,
	  "t.json:1:8: JSON syntax error near 'aéééé'" },
	{ "", 0, "t.json:1:1: JSON syntax error at end of input" },
	{ "{\"a\":1} x", 0, "t.json:1:9: data after the JSON value near 'x'" },
	{ "{\"a\":1}\n\n{}", 0,
	  "t.json:3:1: data after the JSON value near '{}'" },
	{ "[1]", 0, "t.json: expected a JSON object at the top level" },
	{ "\"x\"", 0, "t.json: expected a JSON object at the top level" },
	{ "{\"a\":\"\xc0\x80\"}", 0, "t.json:1:7: invalid UTF-8" },
	{ "{\"a\":\"\xed\xa0\x80\"}", 0, "t.json:1:7: invalid UTF-8" },
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", 0, "t.json:1:7: invalid UTF-8" },
	{ "{\"a\":\"\xe2\x82\"}", 0, "t.json:1:7: invalid UTF-8" },
	{ "{\"é\":\n\"\xff\"}", 0, "t.json:2:2: invalid UTF-8" },
	{ "{\"a\":\"x\"}\0", 10, "t.json:1:10: NUL byte" },
};

static int
errs_equal(const struct px_cfg_errors *e, const char *const *want)
{
	unsigned i, n = 0;

	while (n < 5 && want[n] != NULL)
		n++;
	if (e->n != n)
		return 0;
	for (i = 0; i < n; i++) {
		if (strcmp(e->msg[i], want[i]) != 0)
			return 0;
	}
	return 1;
}

static void
dump(const struct px_cfg_errors *e)
{
	unsigned i;

	for (i = 0; i < e->n; i++)
		printf("#   got: %s\n", e->msg[i]);
}

static void
test_bad_values(void)
{
	struct px_config *cfg;
	struct px_cfg_errors e;
	const char *doc;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		doc = t_quote(bad[i].doc);
		cfg = (struct px_config *)1;
		T_CHECK(px_config_parse(doc, strlen(doc), "t.json", &cfg, &e) ==
		    PX_ECONFIG, bad[i].msg[0]);
		T_CHECK(cfg == NULL, "out is NULL on failure");
		if (!errs_equal(&e, bad[i].msg))
			dump(&e);
		T_CHECK(errs_equal(&e, bad[i].msg), bad[i].msg[0]);
	}
}

static void
test_bad_docs(void)
{
	struct px_config *cfg;
	struct px_cfg_errors e;
	size_t i, len;

	for (i = 0; i < sizeof bad_doc / sizeof bad_doc[0]; i++) {
		len = bad_doc[i].len ? bad_doc[i].len : strlen(bad_doc[i].text);
		T_CHECK(px_config_parse(bad_doc[i].text, len, "t.json", &cfg,
		    &e) == PX_ECONFIG, bad_doc[i].msg);
		if (e.n != 1 || strcmp(e.msg[0], bad_doc[i].msg) != 0)
			dump(&e);
		T_CHECK(e.n == 1, bad_doc[i].msg);
		check_str(e.msg[0], bad_doc[i].msg, bad_doc[i].msg);
	}
}

static int
is_id(const char *id)
{
	size_t i;

	for (i = 0; i < 8; i++) {
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	}
	return id[8] == '\0';
}

static void
test_seed(void)
{
	struct px_config *cfg = NULL;
	struct px_cfg_errors e;
	const struct px_provider_cfg *p;
	char id[16];

	T_CHECK(px_config_load(CONFIGS "seed.json", &cfg, &e) == PX_OK,
	    "seed.json loads");
	if (cfg == NULL) {
		dump(&e);
		return;
	}
	check_str(cfg->access_key, "your-proxy-access-key", "seed access_key");
	T_CHECK(cfg->model_usage_gap_percentage == 5, "seed gap");
	T_CHECK(cfg->nauto_models == 2, "seed auto-models count");
	check_str(cfg->auto_models[0], "gpt-3.5-turbo:free", "seed auto 0");
	check_str(cfg->auto_models[1], "gemini-pro", "seed auto 1");
	T_CHECK(cfg->nproviders == 2, "seed providers");
	p = &cfg->providers[0];
	T_CHECK(p->provider == PX_PROV_OPENROUTER, "seed p0 provider");
	T_CHECK(p->nkeys == 2, "seed p0 nkeys");
	check_str(p->keys[0].secret, "key1", "seed p0 key1");
	check_str(p->keys[1].secret, "key2", "seed p0 key2");
	px_key_id("key1", id);
	check_str(p->keys[0].id, id, "seed key id filled at load");
	T_CHECK(is_id(p->keys[1].id), "seed key id is 8 hex");
	T_CHECK(p->max_request_day == 1500 && p->max_token_min == 150000 &&
	    p->max_request_min == 15, "seed p0 limits");
	check_str(p->base_url, "https://openrouter.ai/api/v1", "or url");
	T_CHECK(p->models == NULL && p->nmodels == 0, "seed no models");
	T_CHECK(p->models_filter == NULL, "seed no models_filter");
	p = &cfg->providers[1];
	T_CHECK(p->provider == PX_PROV_GEMINI, "seed p1 provider");
	check_str(p->keys[1].secret, "key2", "same key on two providers ok");
	check_str(p->keys[0].id, id, "no suffix across providers");
	check_str(p->base_url,
	    "https://generativelanguage.googleapis.com/v1beta/openai",
	    "gemini url");
	/* loaded from a file: the relative default is anchored at its dir */
	T_CHECK(cfg->state_dir[0] == '/' && strlen(cfg->state_dir) >
	    strlen("/tests/unit/configs/var") && strcmp(cfg->state_dir +
	    strlen(cfg->state_dir) - strlen("/tests/unit/configs/var"),
	    "/tests/unit/configs/var") == 0, "default state_dir anchored");
	T_CHECK(cfg->state_durable == 0, "default state_durable off");
	T_CHECK(cfg->max_attempts == 3, "default max_attempts");
	T_CHECK(cfg->key_reprobe_s == 600, "default key_reprobe_s");
	T_CHECK(cfg->state_map_mb == 64, "default state_map_mb");
	T_CHECK(cfg->max_body_bytes == 4194304, "default max_body_bytes");
	T_CHECK(cfg->threads == 64, "default threads");
	T_CHECK(cfg->connect_timeout_ms == 10000, "default connect");
	T_CHECK(cfg->first_byte_timeout_ms == 120000, "default first byte");
	T_CHECK(cfg->idle_timeout_ms == 120000, "default idle");
	T_CHECK(cfg->keepalive_interval_ms == 15000, "default keepalive");
	T_CHECK(cfg->models_cache_s == 300, "default models cache");
	px_config_free(cfg);
}

static void
test_full(void)
{
	struct px_config *cfg = NULL;
	struct px_cfg_errors e;
	const struct px_provider_cfg *p;

	T_CHECK(px_config_load(CONFIGS "full.json", &cfg, &e) == PX_OK,
	    "full.json loads");
	if (cfg == NULL) {
		dump(&e);
		return;
	}
	check_str(cfg->access_key, "proxy-key-éü", "utf-8 access_key");
	T_CHECK(cfg->model_usage_gap_percentage == 12.5, "gap 12.5");
	T_CHECK(cfg->nauto_models == 1, "one auto model");
	check_str(cfg->state_dir, "/var/lib/aiproxy", "state_dir");
	T_CHECK(cfg->state_durable == 1, "state_durable true");
	T_CHECK(cfg->state_map_mb == 256, "state_map_mb");
	T_CHECK(cfg->max_body_bytes == 1024, "max_body_bytes");
	T_CHECK(cfg->threads == 4096, "threads");
	T_CHECK(cfg->connect_timeout_ms == 600000, "connect");
	T_CHECK(cfg->first_byte_timeout_ms == 100, "first byte");
	T_CHECK(cfg->idle_timeout_ms == 3600000, "idle");
	T_CHECK(cfg->keepalive_interval_ms == 5000, "keepalive");
	T_CHECK(cfg->models_cache_s == 0, "models cache 0");
	T_CHECK(cfg->nproviders == 2, "two openrouter entries");
	p = &cfg->providers[0];
	check_str(p->base_url, "http://127.0.0.1:8081/api/v1", "slash cut");
	T_CHECK(p->max_request_day == 1000000000, "max_request_day max");
	T_CHECK(p->nmodels == 2, "models");
	check_str(p->models[1], "x/y", "models[1]");
	check_str(p->models_filter, ":free", "models_filter");
	p = &cfg->providers[1];
	check_str(p->base_url, "https://example.test/v1", "base_url kept");
	T_CHECK(p->provider == PX_PROV_OPENROUTER, "same provider twice");
	px_config_free(cfg);
}

static void
test_files(void)
{
	struct px_config *cfg = (struct px_config *)1;
	struct px_cfg_errors e;

	T_CHECK(px_config_load(CONFIGS "nope.json", &cfg, &e) == PX_ECONFIG,
	    "missing file fails");
	T_CHECK(cfg == NULL && e.n == 1, "missing file: one error");
	check_str(e.msg[0], CONFIGS "nope.json: cannot open: No such file or "
	    "directory", "cannot open message");
	T_CHECK(px_config_load(CONFIGS "syntax.json", &cfg, &e) == PX_ECONFIG,
	    "syntax.json fails");
	check_str(e.msg[0], CONFIGS "syntax.json:4:3: JSON syntax error near "
	    "'\"provider_'", "syntax error line:col from a file");
	T_CHECK(px_config_load(CONFIGS, &cfg, &e) == PX_ECONFIG,
	    "directory fails");
	check_str(e.msg[0], CONFIGS ": cannot read: Is a directory",
	    "directory message");
}

static void
test_too_big(void)
{
	size_t n = PX_CFG_MAXFILE + 1;
	char *big = malloc(n), path[] = "/tmp/px_cfg_big_XXXXXX";
	struct px_config *cfg;
	struct px_cfg_errors e;
	FILE *f;
	int fd;

	if (big == NULL)
		return;
	memset(big, ' ', n);
	T_CHECK(px_config_parse(big, n, "big.json", &cfg, &e) == PX_ECONFIG,
	    "16 MiB + 1 in memory fails");
	check_str(e.msg[0], "big.json: larger than 16777216 bytes", "too big");
	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	T_CHECK(f != NULL, "temp file");
	if (f != NULL) {
		T_CHECK(fwrite(big, 1, n, f) == n, "write temp file");
		fclose(f);
		T_CHECK(px_config_load(path, &cfg, &e) == PX_ECONFIG,
		    "16 MiB + 1 file fails");
		T_CHECK(e.n == 1 && strstr(e.msg[0], ": larger than 16777216 "
		    "bytes") != NULL, "file too big message");
		unlink(path);
	}
	/* Exactly the limit is read and then judged as JSON. */
	big[0] = '{';
	big[n - 2] = '}';
	T_CHECK(px_config_parse(big, n - 1, "big.json", &cfg, &e) ==
	    PX_ECONFIG && e.n == 2, "16 MiB exactly is parsed");
	check_str(e.msg[0], "access_key: required key is missing", "parsed");
	free(big);
}

static void
test_env_keys(void)
{
	const char *doc = t_quote(DOC1("'provider':'gemini','key':['env:PX_T_K1',"
	    "'env:PX_T_K2','lit']," LIMITS));
	const struct px_key_cfg *k;
	struct px_config *cfg;
	struct px_cfg_errors e;

	setenv("PX_T_K1", "from-env-1", 1);
	setenv("PX_T_K2", "from-env-2", 1);
	T_CHECK(px_config_parse(doc, strlen(doc), "t", &cfg, &e) == PX_OK,
	    "env keys load when set");
	if (cfg != NULL) {
		k = cfg->providers[1].keys;
		check_str(k[0].secret, "from-env-1", "env 1");
		check_str(k[1].secret, "from-env-2", "env 2");
		check_str(k[2].secret, "lit", "literal");
		px_config_free(cfg);
	}
	setenv("PX_T_K1", "", 1);
	unsetenv("PX_T_K2");
	T_CHECK(px_config_parse(doc, strlen(doc), "t", &cfg, &e) ==
	    PX_ECONFIG && e.n == 2, "env keys fail when unset or empty");
	check_str(e.msg[0], "provider_keys[1].key[0]: environment variable "
	    "PX_T_K1 is empty", "empty env var");
	check_str(e.msg[1], "provider_keys[1].key[1]: environment variable "
	    "PX_T_K2 is not set", "unset env var");
	/* Two variables with one value are the same key. */
	setenv("PX_T_K1", "same", 1);
	setenv("PX_T_K2", "same", 1);
	T_CHECK(px_config_parse(doc, strlen(doc), "t", &cfg, &e) ==
	    PX_ECONFIG && e.n == 1, "env duplicates fail");
	check_str(e.msg[0], "provider_keys[1].key[1]: same key as "
	    "provider_keys[1].key[0]", "env duplicate message");
	unsetenv("PX_T_K1");
	unsetenv("PX_T_K2");
}

static void
test_key_id(void)
{
	/* Found by search: two secrets whose 8-char ids collide. */
	static const char c1[] = "sk-test-collide-0001637";
	static const char c2[] = "sk-test-collide-0021758";
	const char *doc = t_quote(DOC1("'provider':'openrouter','key':['"
	    "sk-test-collide-0001637','sk-test-collide-0021758']," LIMITS));
	char a[16], b[16];
	struct px_config *cfg;
	struct px_cfg_errors e;

	px_key_id("key1", a);
	px_key_id("key1", b);
	check_str(a, b, "px_key_id is stable");
	T_CHECK(is_id(a), "px_key_id: 8 lowercase hex");
	px_key_id("key2", b);
	T_CHECK(strcmp(a, b) != 0, "different keys, different ids");
	px_key_id("", b);
	T_CHECK(is_id(b) && strcmp(a, b) != 0, "empty secret has an id");
	px_key_id(c1, a);
	px_key_id(c2, b);
	check_str(a, b, "collision fixture collides");
	T_CHECK(px_config_parse(doc, strlen(doc), "t", &cfg, &e) == PX_OK,
	    "colliding keys load");
	if (cfg == NULL)
		return;
	check_str(cfg->providers[1].keys[0].id, a, "first keeps the id");
	memcpy(b, a, 8);
	memcpy(b + 8, "-2", 3);
	check_str(cfg->providers[1].keys[1].id, b, "second gets -2");
	px_config_free(cfg);
}

/* No message may show a secret, whatever goes wrong around it. */
static void
test_secrets_hidden(void)
{
#define SK "'sk-SECRET-0123456789abcdef'"
	static const char *const docs[] = {
		"{'access_key':'ak','provider_keys':[{'provider':'gemini',"
		"'key':" SK "," LIMITS "}]}",
		"{'access_key':'ak','provider_keys':[{'provider':'gemini',"
		"'key':[" SK "," SK "],'max_request_day':0}]}",
		"{'access_key':" SK ",'provider_keys':[],'provider':" SK "}",
		"{'access_key':[" SK "],'provider_keys':[{'provider':'gemini',"
		"'key':['sk-SECRET-0123456789abcdef \\n']," LIMITS "}]}",
		/* a syntax error right at a key: only a short snippet shows */
		"{'access_key':'a','provider_keys':[{'provider':'gemini',"
		"'key':['sk-SECRET-0123456789abcdef, " SK "]}]}",
	};
#undef SK
	struct px_config *cfg;
	struct px_cfg_errors e;
	const char *doc;
	unsigned i, j, leaks = 0, total = 0;

	for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		doc = t_quote(docs[i]);
		T_CHECK(px_config_parse(doc, strlen(doc), "t", &cfg, &e) ==
		    PX_ECONFIG, "secret doc fails");
		for (j = 0; j < e.n; j++, total++) {
			if (strstr(e.msg[j], "0123456789abcdef") != NULL) {
				printf("#   leak: %s\n", e.msg[j]);
				leaks++;
			}
		}
	}
	T_CHECK(total >= 8, "secret docs produced errors");
	T_CHECK(leaks == 0, "no error message shows a secret");
}

static void
test_misc(void)
{
	char doc[8192];
	struct px_config *cfg;
	struct px_cfg_errors e;
	size_t n = 0;
	int i;

	/* More errors than slots: the first PX_CFG_MAXERRS are kept. */
	n += (size_t)snprintf(doc + n, sizeof doc - n, "{");
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(doc + n, sizeof doc - n, "\"x%d\":1,", i);
	snprintf(doc + n, sizeof doc - n, "\"access_key\":\"a\"}");
	T_CHECK(px_config_parse(doc, strlen(doc), "t", &cfg, &e) ==
	    PX_ECONFIG && e.n == PX_CFG_MAXERRS, "errors capped");
	check_str(e.msg[0], "x0: unknown key", "first capped error");
	check_str(e.msg[PX_CFG_MAXERRS - 1], "x31: unknown key", "last kept");
	/* errs may be NULL. */
	T_CHECK(px_config_parse("{}", 2, "t", &cfg, NULL) == PX_ECONFIG &&
	    cfg == NULL, "NULL errs");
	/* The length bounds the text: no NUL terminator needed. */
	T_CHECK(px_config_parse("{}garbage", 2, "t", &cfg, &e) == PX_ECONFIG &&
	    e.n == 2, "length bounds the text");
	px_config_free(NULL);
	check_str(px_provider_name(PX_PROV_OPENROUTER), "openrouter", "name 0");
	check_str(px_provider_name(PX_PROV_GEMINI), "gemini", "name 1");
	check_str(px_provider_name(PX_PROV__MAX), "unknown", "bad id");
}

/* issue 9: what loads but is unwise (L4, L7), and the redaction list */
static struct px_config *
load_q(const char *doc)
{
	const char *q = t_quote(doc);
	struct px_config *cfg = NULL;

	if (px_config_parse(q, strlen(q), "t", &cfg, NULL) != PX_OK)
		return NULL;
	return cfg;
}

static int
warned(const struct px_config *cfg, const char *needle)
{
	unsigned i;

	for (i = 0; cfg != NULL && i < cfg->warnings.n; i++)
		if (strstr(cfg->warnings.msg[i], needle) != NULL)
			return 1;
	return 0;
}

#define STRONG "'access_key':'0123456789abcdef0123456789abcdef',"
#define WDOC(ak, url) "{" ak "'provider_keys':[{'provider':'openrouter'," \
	"'key':['k1','k2'],'base_url':'" url "'," LIMITS "},{'provider':" \
	"'gemini','key':['g1']," LIMITS "}]}"

static void
test_warnings(void)
{
	struct px_config *cfg;
	unsigned i;

	cfg = load_q(WDOC(STRONG, "https://openrouter.ai/api/v1"));
	T_CHECK(cfg != NULL && cfg->warnings.n == 0, "strong key, https: quiet");
	T_CHECK(cfg != NULL && cfg->secrets.n == 3 &&
	    strcmp(cfg->secrets.v[0], "k1") == 0 &&
	    strcmp(cfg->secrets.v[2], "g1") == 0, "every key in the list");
	T_CHECK(cfg != NULL && px_config_key_index(cfg,
	    &cfg->providers[1].keys[0]) == 2 && px_config_key_index(cfg,
	    &cfg->providers[0].keys[1]) == 1, "key index in config order");
	T_CHECK(cfg != NULL && cfg->max_json_values == 100000 &&
	    cfg->max_response_bytes == 8388608, "limit defaults");
	px_config_free(cfg);

	cfg = load_q(WDOC("'access_key':'short-key',", "https://x.example"));
	T_CHECK(warned(cfg, "access_key: weak (too short)"), "short key");
	for (i = 0; cfg != NULL && i < cfg->warnings.n; i++)
		T_CHECK(strstr(cfg->warnings.msg[i], "short-key") == NULL,
		    "the key itself is never shown");
	px_config_free(cfg);
	cfg = load_q(WDOC("'access_key':'your-proxy-access-key',",
	    "https://x.example"));
	T_CHECK(warned(cfg, "a sample placeholder"), "seed placeholder");
	px_config_free(cfg);
	cfg = load_q(WDOC("'access_key':'CHANGE-ME-to-a-long-random-string',",
	    "https://x.example"));
	T_CHECK(warned(cfg, "a sample placeholder"), "sample placeholder");
	px_config_free(cfg);

	cfg = load_q(WDOC(STRONG, "http://api.example.com/v1"));
	T_CHECK(warned(cfg, "provider_keys[0].base_url: plain http://"),
	    "clear-text base_url");
	px_config_free(cfg);
	cfg = load_q(WDOC(STRONG, "http://127.0.0.1:8080/openrouter"));
	T_CHECK(cfg != NULL && cfg->warnings.n == 0, "loopback http is fine");
	px_config_free(cfg);
	cfg = load_q(WDOC(STRONG, "http://localhost/x"));
	T_CHECK(cfg != NULL && cfg->warnings.n == 0, "localhost is fine");
	px_config_free(cfg);
	cfg = load_q(WDOC(STRONG, "https://h.example/v1//"));
	T_CHECK(cfg != NULL && strcmp(cfg->providers[0].base_url,
	    "https://h.example/v1") == 0, "every trailing '/' dropped (fuzz)");
	px_config_free(cfg);
	{
		struct px_cfg_errors e;

		T_CHECK(px_config_parse("{\xc3\xa9}", 4, "f.json", &cfg, &e) ==
		    PX_ECONFIG && e.n == 1 && strstr(e.msg[0], "near '\xc3\xa9}'")
		    != NULL, "a snippet starts on a character (fuzz)");
	}
	cfg = load_q(WDOC(STRONG "'redis_url':'redis://10.0.0.5:6380/2',",
	    "https://x.example"));
	T_CHECK(warned(cfg, "redis_url: set, but state_backend is not"),
	    "a redis_url the ledger does not use");
	T_CHECK(cfg != NULL && cfg->state_backend == PX_BACKEND_LMDB &&
	    strcmp(cfg->redis_prefix, "aiproxy:") == 0 &&
	    cfg->redis_timeout_ms == 250, "backend defaults");
	px_config_free(cfg);
	setenv("PX_TEST_REDIS_PW", "s3cret-pw", 1);
	cfg = load_q(WDOC(STRONG "'state_backend':'redis','redis_url':"
	    "'unix:///run/redis/redis.sock?db=3','redis_password':"
	    "'env:PX_TEST_REDIS_PW',", "https://x.example"));
	T_CHECK(cfg != NULL && cfg->warnings.n == 0 &&
	    cfg->state_backend == PX_BACKEND_REDIS &&
	    strcmp(cfg->redis_password, "s3cret-pw") == 0,
	    "redis backend, password from the environment");
	px_config_free(cfg);
	cfg = load_q(WDOC(STRONG, "http://localhost.evil.example/x"));
	T_CHECK(warned(cfg, "plain http://"), "a name that starts localhost");
	px_config_free(cfg);
}

int
main(void)
{
	test_seed();
	test_full();
	test_bad_values();
	test_bad_docs();
	test_files();
	test_too_big();
	test_env_keys();
	test_key_id();
	test_secrets_hidden();
	test_misc();
	test_warnings();
	return t_done();
}
