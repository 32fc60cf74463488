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
/* issue 13: client keys beside one openrouter entry (key 'k1') */
#define CDOC(cl) "{'access_key':'ak','access_keys':[" cl "],'provider_keys':[" \
	PROV0 "]}"
#define AT_LEAST "expected at least one of \"max_request_min\", " \
	"\"max_request_day\" or \"max_token_min\""
#define DAY_VALUES "expected \"rolling\", \"provider\" or \"utc\""
#define NAME_EXP "expected name of 1..64 characters [A-Za-z0-9._-]"
#define NAME64 "a123456789b123456789c123456789d123456789e123456789f123456789" \
	"g123"

#define MAXMSG 6
static const struct {
	const char *doc;
	const char *msg[MAXMSG];	/* all errors, in order */
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
	/* issue 13: provider entries: owner, max_concurrent, day_reset */
	{ GEM(",'max_concurrent':0"),
	  { "provider_keys[1].max_concurrent: expected integer 1..1000, "
	    "got 0" } },
	{ GEM(",'max_concurrent':1001"),
	  { "provider_keys[1].max_concurrent: expected integer 1..1000, "
	    "got 1001" } },
	{ GEM(",'day_reset':'pacific'"),
	  { "provider_keys[1].day_reset: " DAY_VALUES ", got \"pacific\"" } },
	{ GEM(",'day_reset':2"),
	  { "provider_keys[1].day_reset: " DAY_VALUES ", got 2" } },
	{ GEM(",'owner':'proj-x'"),
	  { "provider_keys[1].owner: \"proj-x\" is not declared in owners" } },
	{ "{'access_key':'ak','owners':{'proj-y':{}},'provider_keys':["
	  "{'provider':'gemini','key':['g1'],'owner':'proj-Y'," LIMITS "}]}",
	  { "provider_keys[0].owner: \"proj-Y\" is not declared in owners" } },
	{ GEM(",'owner':'a/b'"),
	  { "provider_keys[1].owner: " NAME_EXP ", got \"a/b\"" } },
	{ GEM(",'owner':''"), { "provider_keys[1].owner: " NAME_EXP ", got \"\"" } },
	{ GEM(",'owner':['p']"),
	  { "provider_keys[1].owner: " NAME_EXP ", got array" } },
	{ GEM(",'owner':'" NAME64 "x'"),
	  { "provider_keys[1].owner: " NAME_EXP ", got \"a123456789b123456789"
	    "c123456789d123456789e1234567...\"" } },
	{ GEM(",'owners':{}"),
	  { "provider_keys[1].owners: unknown key (did you mean \"owner\"?)" } },
	{ DOC("'owner':'x',"),
	  { "owner: unknown key (did you mean \"owners\"?)" } },
	/* model_limits of an entry */
	{ GEM(",'model_limits':{'m':{}}"),
	  { "provider_keys[1].model_limits.m: " AT_LEAST } },
	{ GEM(",'model_limits':{'m':{'max_concurrent':2}}"),
	  { "provider_keys[1].model_limits.m.max_concurrent: unknown key",
	    "provider_keys[1].model_limits.m: " AT_LEAST } },
	{ GEM(",'model_limits':{'m':{'max_reqest_day':3}}"),
	  { "provider_keys[1].model_limits.m.max_reqest_day: unknown key "
	    "(did you mean \"max_request_day\"?)",
	    "provider_keys[1].model_limits.m: " AT_LEAST } },
	{ GEM(",'model_limits':{'m':{'max_request_day':0,'max_token_min':1.5,"
	    "'max_request_min':1000000001}}"),
	  { "provider_keys[1].model_limits.m.max_request_day: expected integer "
	    "1..1000000000, got 0",
	    "provider_keys[1].model_limits.m.max_token_min: expected integer "
	    "1..1000000000, got 1.5",
	    "provider_keys[1].model_limits.m.max_request_min: expected integer "
	    "1..1000000000, got 1000000001" } },
	{ GEM(",'model_limits':{'a*b':{'max_request_min':1},"
	    "'':{'max_request_min':1},'**':{'max_request_min':1}}"),
	  { "provider_keys[1].model_limits.a*b: not a model id, or a prefix "
	    "ending in '*'",
	    "provider_keys[1].model_limits.: not a model id, or a prefix "
	    "ending in '*'",
	    "provider_keys[1].model_limits.**: not a model id, or a prefix "
	    "ending in '*'" } },
	{ GEM(",'model_limits':{'m*':{'max_request_min':1},"
	    "'m*':{'max_request_day':1}}"),
	  { "provider_keys[1].model_limits.m*: duplicate key" } },
	{ GEM(",'model_limits':{'m':5,'n':[]}"),
	  { "provider_keys[1].model_limits.m: expected object, got 5",
	    "provider_keys[1].model_limits.n: expected object, "
	    "got empty array" } },
	{ GEM(",'model_limits':[]"),
	  { "provider_keys[1].model_limits: expected object of model id -> "
	    "object, got empty array" } },
	{ GEM(",'model_limits':'m'"),
	  { "provider_keys[1].model_limits: expected object of model id -> "
	    "object, got \"m\"" } },
	/* owners */
	{ DOC("'owners':[],"),
	  { "owners: expected object of name -> object, got empty array" } },
	{ DOC("'owners':{'a b':{},'':{},'" NAME64 "x':{}},"),
	  { "owners.a b: not a name of 1..64 characters [A-Za-z0-9._-]",
	    "owners.: not a name of 1..64 characters [A-Za-z0-9._-]",
	    "owners." NAME64 "x: not a name of 1..64 characters "
	    "[A-Za-z0-9._-]" } },
	{ DOC("'owners':{'p':{},'q':{},'p':{'max_request_min':1}},"),
	  { "owners.p: duplicate key" } },
	{ DOC("'owners':{'p':1},"), { "owners.p: expected object, got 1" } },
	{ DOC("'owners':{'p':{'max_concurrent':0,'day_reset':'pst',"
	    "'model_limits':{'x':{}},'max_request_min':'5','bogus':1}},"),
	  { "owners.p.max_concurrent: expected integer 1..1000, got 0",
	    "owners.p.day_reset: " DAY_VALUES ", got \"pst\"",
	    "owners.p.model_limits.x: " AT_LEAST,
	    "owners.p.max_request_min: expected integer 1..1000000000, "
	    "got \"5\"",
	    "owners.p.bogus: unknown key" } },
	{ DOC("'owners':{'p':{'max_token_min':-1,'max_request_day':1e10,"
	    "'name':'p'}},"),
	  { "owners.p.max_token_min: expected integer 1..1000000000, got -1",
	    "owners.p.max_request_day: expected integer 1..1000000000, "
	    "got 10000000000",
	    "owners.p.name: unknown key" } },
	/* one owner, two providers: the error names both entries */
	{ "{'access_key':'ak','owners':{'acct':{}},'provider_keys':["
	  "{'provider':'openrouter','key':['k1'],'owner':'acct'," LIMITS "},"
	  "{'provider':'gemini','key':['g1']," LIMITS "},"
	  "{'provider':'gemini','key':['g2'],'owner':'acct'," LIMITS "},"
	  "{'provider':'openrouter','key':['k2'],'owner':'acct'," LIMITS "}]}",
	  { "provider_keys[2].owner: \"acct\" also owns provider_keys[0] of "
	    "provider \"openrouter\"; the keys of one owner are of one "
	    "provider (this entry is \"gemini\")" } },
	/* access_keys: client keys */
	{ DOC("'access_keys':{},"),
	  { "access_keys: expected array of objects, got object" } },
	{ DOC("'access_keys':[1],"),
	  { "access_keys[0]: expected object, got 1" } },
	{ CDOC("{'max_request_min':1}"),
	  { "access_keys[0].key: required key is missing",
	    "access_keys[0].name: required key is missing" } },
	{ CDOC("{'key':'c1','name':'team a'},{'key':'c2','name':''},"
	    "{'key':'c3','name':5},{'key':'c4','name':'" NAME64 "x'}"),
	  { "access_keys[0].name: " NAME_EXP ", got \"team a\"",
	    "access_keys[1].name: " NAME_EXP ", got \"\"",
	    "access_keys[2].name: " NAME_EXP ", got 5",
	    "access_keys[3].name: " NAME_EXP ", got \"a123456789b123456789"
	    "c123456789d123456789e1234567...\"" } },
	{ CDOC("{'key':'c1','name':'a'},{'key':'c2','name':'b'},"
	    "{'key':'c3','name':'c'},{'key':'c2','name':'a'}"),
	  { "access_keys[3].key: same key as access_keys[1].key",
	    "access_keys[3].name: \"a\" is also the name of access_keys[0]" } },
	{ CDOC("{'key':'c1','name':'a'},{'key':'ak','name':'b'}"),
	  { "access_keys[1].key: same key as access_key" } },
	{ CDOC("{'key':'k1','name':'a'}"),
	  { "access_keys[0].key: same key as provider_keys[0].key[0]: a "
	    "provider key must not open the proxy" } },
	{ DOC("'access_keys':[{'key':'c1','name':'a'},{'key':'g1','name':'b'}],"),
	  { "access_keys[1].key: same key as provider_keys[1].key[0]: a "
	    "provider key must not open the proxy" } },
	{ CDOC("{'key':'c1','name':'a','day_reset':'provider'}"),
	  { "access_keys[0].day_reset: \"provider\" needs a provider; a client "
	    "key takes \"rolling\" or \"utc\"" } },
	{ CDOC("{'key':'c1','name':'a','day_reset':'daily'}"),
	  { "access_keys[0].day_reset: " DAY_VALUES ", got \"daily\"" } },
	{ CDOC("{'key':'c 1','name':'a'},{'key':'','name':'b'},"
	    "{'key':['c3'],'name':'c'},{'key':'env:PX_TEST_UNSET_VAR',"
	    "'name':'d'},{'key':'env:A-B','name':'e'}"),
	  { "access_keys[0].key: key contains spaces or control characters",
	    "access_keys[1].key: expected non-empty string, got \"\"",
	    "access_keys[2].key: expected non-empty string, got array",
	    "access_keys[3].key: environment variable PX_TEST_UNSET_VAR is "
	    "not set",
	    "access_keys[4].key: expected a variable name after \"env:\" "
	    "(letters, digits, '_')" } },
	{ CDOC("{'key':'c1','name':'a','models':[]}"),
	  { "access_keys[0].models: expected non-empty array of non-empty "
	    "strings, got empty array" } },
	{ CDOC("{'key':'c1','name':'a','models':['ok','a*b','',3,'*']}"),
	  { "access_keys[0].models[1]: expected model id, or a prefix ending "
	    "in '*', got \"a*b\"",
	    "access_keys[0].models[2]: expected model id, or a prefix ending "
	    "in '*', got \"\"",
	    "access_keys[0].models[3]: expected model id, or a prefix ending "
	    "in '*', got 3" } },
	{ CDOC("{'key':'c1','name':'a','max_concurrent':0,'max_token_min':"
	    "1e10,'max_requests_day':1,'model_limits':{}}"),
	  { "access_keys[0].max_concurrent: expected integer 1..1000, got 0",
	    "access_keys[0].max_token_min: expected integer 1..1000000000, "
	    "got 10000000000",
	    "access_keys[0].max_requests_day: unknown key (did you mean "
	    "\"max_request_day\"?)",
	    "access_keys[0].model_limits: unknown key" } },
	{ CDOC("{'key':'c1','name':'a','max_request_min':0.5,"
	    "'max_request_day':'1'}"),
	  { "access_keys[0].max_request_min: expected integer 1..1000000000, "
	    "got 0.5",
	    "access_keys[0].max_request_day: expected integer 1..1000000000, "
	    "got \"1\"" } },
	/* every pass reports: owners, clients and provider keys together */
	{ "{'access_key':'ak','owners':{'p':{'day_reset':'x'}},'access_keys':["
	  "{'key':'c1','name':'a'},{'key':'c1','name':'a','day_reset':"
	  "'provider'}],'provider_keys':[{'provider':'gemini','key':['g1','g1'],"
	  "'owner':'q'," LIMITS "}]}",
	  { "owners.p.day_reset: " DAY_VALUES ", got \"x\"",
	    "provider_keys[0].key[1]: same key as provider_keys[0].key[0]",
	    "provider_keys[0].owner: \"q\" is not declared in owners",
	    "access_keys[1].key: same key as access_keys[0].key",
	    "access_keys[1].name: \"a\" is also the name of access_keys[0]",
	    "access_keys[1].day_reset: \"provider\" needs a provider; a client "
	    "key takes \"rolling\" or \"utc\"" } },
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

	while (n < MAXMSG && want[n] != NULL)
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
	size_t i;

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
	/* issue 13: the seed's file means what it meant */
	T_CHECK(cfg->owners == NULL && cfg->nowners == 0, "seed: no owners");
	T_CHECK(cfg->clients == NULL && cfg->nclients == 0, "seed: no clients");
	T_CHECK(cfg->secrets.n == 4, "seed: four provider secrets");
	for (i = 0; i < cfg->nproviders; i++) {
		p = &cfg->providers[i];
		T_CHECK(p->owner == NULL && p->owner_name == NULL,
		    "seed: no owner");
		T_CHECK(p->max_concurrent == 0, "seed: no concurrency cap");
		T_CHECK(p->day_reset == PX_DAY_ROLLING, "seed: rolling day");
		T_CHECK(p->model_limits == NULL && p->nmodel_limits == 0,
		    "seed: no model limits");
	}
	px_config_free(cfg);
}

static struct px_config *load_q(const char *doc);

static int
lim_is(const struct px_limits *l, long rmin, long rday, long tmin, long conc)
{
	return l->max_request_min == rmin && l->max_request_day == rday &&
	    l->max_token_min == tmin && l->max_concurrent == conc;
}

/* model_limits entry i of ml[0..n) is for model, with its px_key_id. */
static int
ml_is(const struct px_model_limit *ml, size_t n, size_t i, const char *model)
{
	char id[16];

	if (i >= n || ml[i].model == NULL || strcmp(ml[i].model, model) != 0)
		return 0;
	px_key_id(model, id);
	return strcmp(ml[i].id, id) == 0;
}

/* issue 13: every field of the quota model, from a file */
static void
test_quota(void)
{
	struct px_config *cfg = NULL;
	struct px_cfg_errors e;
	const struct px_provider_cfg *p;
	const struct px_owner_cfg *o;
	const struct px_client_cfg *cl;
	const struct px_model_limit *ml;
	size_t i;

	setenv("PX_T_CLIENT_KEY", "ci-bot-from-env-0123456789abcdef", 1);
	T_CHECK(px_config_load(CONFIGS "quota.json", &cfg, &e) == PX_OK,
	    "quota.json loads");
	unsetenv("PX_T_CLIENT_KEY");
	if (cfg == NULL) {
		dump(&e);
		return;
	}
	T_CHECK(cfg->warnings.n == 0, "quota.json: no warnings");
	T_CHECK(cfg->nowners == 3, "three owners");
	o = cfg->owners;
	check_str(o[0].name, "proj-a", "owner 0 name");
	check_str(o[1].name, "proj-b", "owner 1 name");
	check_str(o[2].name, "or-acct", "owner 2 name");
	T_CHECK(lim_is(&o[0].lim, 0, 1000, 0, 4), "proj-a limits");
	T_CHECK(lim_is(&o[1].lim, 0, 0, 0, 0), "proj-b: no own limits");
	T_CHECK(lim_is(&o[2].lim, 20, 50, 100000, 0), "or-acct limits");
	T_CHECK(o[0].day_reset == PX_DAY_PROVIDER &&
	    o[1].day_reset == PX_DAY_PROVIDER && o[2].day_reset == PX_DAY_UTC,
	    "owner day_reset");
	T_CHECK(o[0].provider == PX_PROV_GEMINI &&
	    o[1].provider == PX_PROV_GEMINI &&
	    o[2].provider == PX_PROV_OPENROUTER, "owner provider resolved");
	ml = o[0].model_limits;
	T_CHECK(o[0].nmodel_limits == 2, "proj-a: two model limits");
	T_CHECK(ml_is(ml, o[0].nmodel_limits, 0, "gemini-2.5-flash") &&
	    lim_is(&ml[0].lim, 0, 20, 0, 0), "proj-a flash: 20 a day");
	T_CHECK(ml_is(ml, o[0].nmodel_limits, 1, "gemini-2.5-*") &&
	    lim_is(&ml[1].lim, 5, 0, 250000, 0), "proj-a 2.5 prefix");
	T_CHECK(px_model_limit_find(ml, 2, "gemini-2.5-flash") == &ml[0] &&
	    px_model_limit_find(ml, 2, "gemini-2.5-pro") == &ml[1] &&
	    px_model_limit_find(ml, 2, "gemini-2.0-flash") == NULL,
	    "proj-a lookups");
	T_CHECK(o[1].nmodel_limits == 1 && ml_is(o[1].model_limits, 1, 0,
	    "gemini-2.5-flash"), "proj-b flash");
	T_CHECK(o[2].model_limits == NULL && o[2].nmodel_limits == 0,
	    "or-acct: no model limits");

	T_CHECK(cfg->nproviders == 4, "four entries");
	p = cfg->providers;
	T_CHECK(p[0].owner == &o[0] && p[1].owner == &o[1] &&
	    p[2].owner == &o[2] && p[3].owner == NULL, "owner pointers");
	check_str(p[0].owner_name, "proj-a", "owner_name kept");
	T_CHECK(p[3].owner_name == NULL, "no owner_name");
	T_CHECK(p[0].max_concurrent == 2 && p[1].max_concurrent == 0,
	    "entry max_concurrent");
	T_CHECK(p[0].day_reset == PX_DAY_ROLLING &&
	    p[1].day_reset == PX_DAY_PROVIDER && p[2].day_reset == PX_DAY_UTC &&
	    p[3].day_reset == PX_DAY_ROLLING, "entry day_reset");
	T_CHECK(p[0].max_request_day == 1500 && p[0].max_token_min == 250000 &&
	    p[0].max_request_min == 15, "entry limits as before");
	T_CHECK(p[0].nmodel_limits == 0 && p[0].model_limits == NULL,
	    "entry without model_limits");
	ml = p[1].model_limits;
	T_CHECK(p[1].nmodel_limits == 2 &&
	    ml_is(ml, 2, 0, "gemini-2.5-pro") &&
	    lim_is(&ml[0].lim, 2, 0, 0, 0) && ml_is(ml, 2, 1, "*") &&
	    lim_is(&ml[1].lim, 0, 0, 1000000, 0), "entry model_limits");
	T_CHECK(px_model_limit_find(ml, 2, "gemini-2.5-pro") == &ml[0] &&
	    px_model_limit_find(ml, 2, "anything/else") == &ml[1],
	    "'*' catches the rest");
	/* client keys are not provider secrets: not in the redaction list */
	T_CHECK(cfg->secrets.n == 7, "seven provider secrets");
	for (i = 0; i < cfg->secrets.n; i++)
		T_CHECK(strncmp(cfg->secrets.v[i], "team-a", 6) != 0 &&
		    strncmp(cfg->secrets.v[i], "ci-bot", 6) != 0,
		    "no client key among the provider secrets");

	T_CHECK(cfg->nclients == 2, "two clients");
	cl = cfg->clients;
	check_str(cl[0].key, "team-a-0123456789abcdef01234567", "client key");
	check_str(cl[0].name, "team-a", "client name");
	T_CHECK(lim_is(&cl[0].lim, 10, 500, 50000, 3), "client limits");
	T_CHECK(cl[0].nmodels == 2, "client models");
	check_str(cl[0].models[0], "auto-model", "client model 0");
	check_str(cl[0].models[1], "gemini-*", "client model 1");
	T_CHECK(cl[0].day_reset == PX_DAY_UTC, "client day_reset utc");
	check_str(cl[1].key, "ci-bot-from-env-0123456789abcdef",
	    "client key from env:");
	check_str(cl[1].name, "ci.bot_2", "name with . and _");
	T_CHECK(lim_is(&cl[1].lim, 0, 0, 0, 0), "client without limits");
	T_CHECK(cl[1].models == NULL && cl[1].nmodels == 0, "every model");
	T_CHECK(cl[1].day_reset == PX_DAY_ROLLING, "client default rolling");
	px_config_free(cfg);
}

/* Smaller documents: bounds, empty tables, ids. */
static void
test_quota_docs(void)
{
	/* px_key_id collides on these two (see test_key_id) */
	static const char c1[] = "sk-test-collide-0001637";
	static const char c2[] = "sk-test-collide-0021758";
	struct px_config *cfg;
	const struct px_model_limit *ml;
	char id[16];

	cfg = load_q("{'access_key':'ak','owners':{},'access_keys':[],"
	    "'provider_keys':[" PROV0 "]}");
	T_CHECK(cfg != NULL && cfg->nowners == 0 && cfg->nclients == 0 &&
	    cfg->owners == NULL && cfg->clients == NULL, "empty owners, "
	    "empty access_keys");
	px_config_free(cfg);
	cfg = load_q(CDOC("{'key':'c1','name':'" NAME64 "','max_concurrent':"
	    "1000,'max_request_day':1000000000,'day_reset':'rolling'}"));
	T_CHECK(cfg != NULL && cfg->nclients == 1 &&
	    strlen(cfg->clients[0].name) == 64 &&
	    lim_is(&cfg->clients[0].lim, 0, 1000000000, 0, 1000),
	    "64-char name, upper bounds");
	px_config_free(cfg);
	cfg = load_q("{'access_key':'ak','owners':{'p':{'model_limits':{"
	    "'sk-test-collide-0021758':{'max_token_min':1},"
	    "'sk-test-collide-0001637':{'max_token_min':2},'x':"
	    "{'max_token_min':3}}}},'provider_keys':[{'provider':'gemini',"
	    "'key':['g1'],'owner':'p','model_limits':{"
	    "'sk-test-collide-0001637':{'max_request_min':1},"
	    "'sk-test-collide-0021758':{'max_request_day':1}}," LIMITS "}]}");
	T_CHECK(cfg != NULL, "colliding model ids load");
	if (cfg == NULL)
		return;
	px_key_id(c1, id);
	ml = cfg->providers[0].model_limits;
	check_str(ml[0].id, id, "first pattern keeps the id");
	memcpy(id + 8, "-2", 3);
	check_str(ml[1].id, id, "second pattern gets -2");
	T_CHECK(px_model_limit_find(ml, 2, c2) == &ml[1], "find by model, "
	    "not by id");
	ml = cfg->owners[0].model_limits;
	px_key_id(c2, id);
	check_str(ml[0].id, id, "owner table: its own first");
	memcpy(id + 8, "-2", 3);
	check_str(ml[1].id, id, "owner table: second gets -2");
	px_key_id("x", id);
	check_str(ml[2].id, id, "no collision, no suffix");
	px_config_free(cfg);
}

static void
test_model_match(void)
{
	static char m0[] = "gemini-*", m1[] = "gemini-2.5-flash*",
	    m2[] = "gemini-2.5-*", m3[] = "gemini-2.5-flash", m4[] = "*";
	static const struct px_model_limit ml[] = {
		{ .model = m0 }, { .model = m1 }, { .model = m2 },
		{ .model = m3 }, { .model = m4 },
	};

	T_CHECK(px_model_match("m", "m"), "exact");
	T_CHECK(!px_model_match("m", "m2"), "exact is not a prefix");
	T_CHECK(!px_model_match("m2", "m"), "longer pattern");
	T_CHECK(px_model_match("gemini-*", "gemini-2.5-flash"), "prefix");
	T_CHECK(px_model_match("gemini-*", "gemini-"), "prefix, empty rest");
	T_CHECK(!px_model_match("gemini-*", "gemini"), "prefix too long");
	T_CHECK(!px_model_match("gemini-*", "Gemini-x"), "case matters");
	T_CHECK(px_model_match("*", "anything"), "'*' matches all");
	T_CHECK(px_model_match("*", ""), "'*' matches empty");
	T_CHECK(!px_model_match("", "m"), "empty pattern");
	T_CHECK(!px_model_match(NULL, "m") && !px_model_match("m", NULL),
	    "NULL");
	T_CHECK(px_model_limit_find(ml, 5, "gemini-2.5-flash") == &ml[3],
	    "exact beats a prefix (listed earlier, same length)");
	T_CHECK(px_model_limit_find(ml, 5, "gemini-2.5-flash-lite") == &ml[1],
	    "longest prefix wins");
	T_CHECK(px_model_limit_find(ml, 5, "gemini-2.5-pro") == &ml[2],
	    "longest prefix wins, listed after a shorter one");
	T_CHECK(px_model_limit_find(ml, 5, "gemini-1.5") == &ml[0],
	    "short prefix");
	T_CHECK(px_model_limit_find(ml, 5, "gpt-4o") == &ml[4], "'*' last");
	T_CHECK(px_model_limit_find(ml, 4, "gpt-4o") == NULL, "no match");
	T_CHECK(px_model_limit_find(ml + 4, 1, "") == &ml[4], "'*', empty");
	T_CHECK(px_model_limit_find(ml, 3, "gemini-2.5-flash") == &ml[1],
	    "without the exact entry: longest prefix");
	T_CHECK(px_model_limit_find(NULL, 0, "m") == NULL, "empty table");
	T_CHECK(px_model_limit_find(ml, 5, NULL) == NULL, "NULL model");
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

/* issue 13: weak client keys, owners no entry uses */
#define QDOC(cl) "{" STRONG "'access_keys':[" cl "],'provider_keys':[" \
	PROV0 "]}"

static void
test_quota_warnings(void)
{
	struct px_config *cfg;

	cfg = load_q(QDOC("{'key':'0123456789abcdef01234567','name':'a'}"));
	T_CHECK(cfg != NULL && cfg->warnings.n == 0, "24-char client key: "
	    "quiet");
	px_config_free(cfg);
	cfg = load_q(QDOC("{'key':'0123456789abcdef0123456','name':'team-a'}"));
	T_CHECK(cfg != NULL && cfg->warnings.n == 1, "23 chars: one warning");
	if (cfg != NULL)
		check_str(cfg->warnings.msg[0], "access_keys[0].key: weak (too "
		    "short); anyone who guesses it spends the quota of client "
		    "\"team-a\": use at least 24 random characters",
		    "short client key");
	px_config_free(cfg);
	cfg = load_q(QDOC("{'key':'0123456789abcdef01234567','name':'a'},"
	    "{'key':'CHANGE-ME-to-a-long-random-string','name':'b'}"));
	T_CHECK(cfg != NULL && cfg->warnings.n == 1, "placeholder: one");
	if (cfg != NULL)
		check_str(cfg->warnings.msg[0], "access_keys[1].key: weak (a "
		    "sample placeholder); anyone who guesses it spends the "
		    "quota of client \"b\": use at least 24 random characters",
		    "placeholder client key");
	px_config_free(cfg);
	cfg = load_q("{" STRONG "'owners':{'used':{},'spare':{'max_request_day':"
	    "5}},'provider_keys':[{'provider':'gemini','key':['g1'],'owner':"
	    "'used'," LIMITS "}]}");
	T_CHECK(cfg != NULL && cfg->warnings.n == 1, "one unused owner");
	if (cfg != NULL)
		check_str(cfg->warnings.msg[0], "owners.spare: declared, but no "
		    "provider_keys entry names it: its limits apply to nothing",
		    "unused owner");
	T_CHECK(cfg != NULL && cfg->providers[0].owner == &cfg->owners[0],
	    "the used owner is resolved");
	px_config_free(cfg);
}

/* A client key is a secret: in no error and no warning, whatever happens
 * around it. */
static void
test_client_secrets(void)
{
#define CK "'cl-SECRET-0123456789abcdef'"
	static const char *const bad_docs[] = {
		CDOC("{'key':" CK ",'name':'a'},{'key':" CK ",'name':'a b'}"),
		"{'access_key':" CK ",'access_keys':[{'key':" CK ",'name':'a'}],"
		"'provider_keys':[" PROV0 "]}",
		"{'access_key':'ak','access_keys':[{'key':" CK ",'name':'a'}],"
		"'provider_keys':[{'provider':'gemini','key':[" CK "]," LIMITS
		"}]}",
		CDOC("{'key':'cl-SECRET-0123456789abcdef \\n','name':'a'},"
		    "{'key':[" CK "],'name':'b'},{'key':{'k':" CK "},'name':'c'}"),
		CDOC("{'key':" CK ",'name':'a','max_concurrent':'x',"
		    "'day_reset':'provider','bogus':" CK "}"),
		CDOC("{'key':" CK ",'name':'a','day_reset':'weekly'},"
		    "{'key':" CK "}"),
		/* a syntax error right at a client key */
		"{'access_key':'a','access_keys':[{'key':"
		"'cl-SECRET-0123456789abcdef, 'name':'a'}]}",
	};
	static const char *const weak_docs[] = {
		QDOC("{'key':'c-0123456789abcdef','name':'a'}"),
		QDOC("{'key':'CHANGE-ME-0123456789abcdef','name':'a'}"),
	};
#undef CK
	struct px_config *cfg;
	struct px_cfg_errors e;
	const char *doc;
	unsigned i, j, leaks = 0, total = 0, warns = 0;

	for (i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++) {
		doc = t_quote(bad_docs[i]);
		T_CHECK(px_config_parse(doc, strlen(doc), "t", &cfg, &e) ==
		    PX_ECONFIG, "client secret doc fails");
		px_config_free(cfg);
		for (j = 0; j < e.n; j++, total++) {
			if (strstr(e.msg[j], "0123456789abcdef") != NULL) {
				printf("#   leak: %s\n", e.msg[j]);
				leaks++;
			}
		}
	}
	for (i = 0; i < sizeof weak_docs / sizeof weak_docs[0]; i++) {
		cfg = load_q(weak_docs[i]);
		T_CHECK(cfg != NULL, "weak client key loads");
		for (j = 0; cfg != NULL && j < cfg->warnings.n; j++, warns++) {
			if (strstr(cfg->warnings.msg[j], "0123456789abcdef")) {
				printf("#   leak: %s\n", cfg->warnings.msg[j]);
				leaks++;
			}
		}
		px_config_free(cfg);
	}
	T_CHECK(total >= 14, "client secret docs produced errors");
	T_CHECK(warns == 2, "weak client keys produced warnings");
	T_CHECK(leaks == 0, "no error or warning shows a client key");
}

/* issue 14: the scraper's key and an open /metrics */
static void
test_metrics_key(void)
{
	static const struct { const char *doc, *err; } mbad[] = {
		{ "{'access_key':'MK-0123456789abcdef0123456789','metrics_key':"
		  "'MK-0123456789abcdef0123456789','provider_keys':[" PROV0 "]}",
		  "metrics_key: same key as access_key" },
		{ "{'access_key':'ak','metrics_key':'k1','provider_keys':["
		  PROV0 "]}", "metrics_key: same key as provider_keys[0].key[0]" },
		{ "{'access_key':'ak','metrics_key':'MK-0123456789abcdef0123456789',"
		  "'access_keys':[{'key':'MK-0123456789abcdef0123456789','name':"
		  "'a'}],'provider_keys':[" PROV0 "]}",
		  "metrics_key: same key as access_keys[0].key" },
		{ "{'access_key':'ak','metrics_public':'yes','provider_keys':["
		  PROV0 "]}", "metrics_public: expected true or false" },
	};
	struct px_config *cfg;
	struct px_cfg_errors e;
	const char *doc;
	unsigned i, j, found, leaks = 0;

	for (i = 0; i < sizeof mbad / sizeof mbad[0]; i++) {
		doc = t_quote(mbad[i].doc);
		cfg = NULL;
		T_CHECK(px_config_parse(doc, strlen(doc), "t", &cfg, &e) ==
		    PX_ECONFIG, "bad metrics settings refused");
		px_config_free(cfg);
		for (j = found = 0; j < e.n; j++) {
			found |= strstr(e.msg[j], mbad[i].err) != NULL;
			leaks += strstr(e.msg[j], "0123456789abcdef") != NULL;
		}
		if (!found)
			printf("#   wanted: %s\n", mbad[i].err);
		T_CHECK(found, "error names metrics_key / metrics_public");
	}
	T_CHECK(leaks == 0, "no error shows the metrics key");
	cfg = load_q("{'access_key':'0123456789abcdef0123456789abcdef',"
	    "'metrics_key':'short','metrics_public':true,"
	    "'provider_keys':[" PROV0 "]}");
	T_CHECK(cfg != NULL && cfg->metrics_public == 1 && cfg->metrics_key &&
	    strcmp(cfg->metrics_key, "short") == 0, "loads");
	T_CHECK(warned(cfg, "metrics_key: weak (too short)") &&
	    warned(cfg, "metrics_key: unused"), "weak and unused warnings");
	px_config_free(cfg);
	cfg = load_q("{'access_key':'ak','provider_keys':[" PROV0 "]}");
	T_CHECK(cfg != NULL && cfg->metrics_key == NULL &&
	    cfg->metrics_public == 0, "defaults: no metrics key, not public");
	px_config_free(cfg);
	/* the admin key may come from the environment too (README example) */
	setenv("PX_T_ADMIN", "admin-from-env-0123456789abcdef", 1);
	cfg = load_q("{'access_key':'env:PX_T_ADMIN','metrics_key':"
	    "'env:PX_T_ADMIN2','provider_keys':[" PROV0 "]}");
	T_CHECK(cfg == NULL, "an unset env: variable is an error");
	setenv("PX_T_ADMIN2", "metrics-from-env-0123456789abcdef", 1);
	cfg = load_q("{'access_key':'env:PX_T_ADMIN','metrics_key':"
	    "'env:PX_T_ADMIN2','provider_keys':[" PROV0 "]}");
	T_CHECK(cfg != NULL && strcmp(cfg->access_key,
	    "admin-from-env-0123456789abcdef") == 0 &&
	    strcmp(cfg->metrics_key, "metrics-from-env-0123456789abcdef") == 0,
	    "access_key and metrics_key read from env:NAME");
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
	test_quota();
	test_quota_docs();
	test_model_match();
	test_quota_warnings();
	test_client_secrets();
	test_metrics_key();
	return t_done();
}
