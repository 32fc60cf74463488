/*
 * config.c -- config.json -> immutable struct px_config (see config.h).
 * Owns: the key tables (one per object level), defaults and range checks,
 * "env:NAME" key indirection, key ids, and error messages naming the path.
 * Never: keeps cJSON nodes after load, logs, or shows a secret (access_key,
 * provider keys, client keys) in an error or warning message.
 * Load: once per process at start-up on a file of a few KiB; the quadratic
 * checks over keys, names and model patterns (duplicates, id collisions)
 * are fine at ~50 of each.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "buf.h"
#include "redisurl.h"
#include "utf8.h"

#define ENV_PREFIX	"env:"
#define SNIPPET_MAX	10	/* bytes of source shown with a syntax error */
#define QUOTE_MAX	48	/* bytes of a bad string value shown */
#define NAME_MAX_DIST	2	/* edit distance for "did you mean" */
#define ROWS_MAX	40	/* rows in one key table */
#define GEMINI_NATIVE_URL "https://generativelanguage.googleapis.com/v1beta"

/* --- key tables ----------------------------------------------------------- */

enum cfg_type {
	CFG_NESTR,	/* non-empty string -> char * */
	CFG_URL,	/* http(s) URL, one trailing '/' dropped -> char * */
	CFG_PROVIDER,	/* provider name -> enum px_provider_id */
	CFG_ENUM,	/* one of .names -> its index, in an enum field */
	CFG_ENVSTR,	/* non-empty string, "env:NAME" resolved -> char * */
	CFG_LONG,	/* integer min..max -> long */
	CFG_SIZE,	/* integer min..max -> size_t */
	CFG_UINT,	/* integer min..max -> unsigned */
	CFG_NUM,	/* number min..max -> double */
	CFG_BOOL,	/* true or false -> int */
	CFG_STRARR,	/* array of non-empty strings -> char ** + count */
	CFG_KEYS,	/* array of secrets -> struct px_key_cfg * + count */
	CFG_OBJARR,	/* array of objects, each checked by .sub */
	CFG_ALIASES,	/* object of non-empty strings -> struct px_alias * */
	CFG_NAME,	/* a name (name_ok) -> char * */
	CFG_KEY,	/* one secret as in CFG_KEYS, "env:NAME" resolved ->
			 * char * */
	CFG_OBJMAP,	/* object NAME -> object: an array of .elsize
			 * elements, each checked by .sub, NAME at .keyoff */
	CFG__MAX
};

enum cfg_flag {
	CFG_REQUIRED = 1 << 0,	/* missing is an error; else .def/.sdef */
	CFG_NONEMPTY = 1 << 1,	/* arrays: at least one element */
	CFG_SECRET   = 1 << 2,	/* never echo a string value */
	CFG_PATTERN  = 1 << 3,	/* CFG_STRARR elements, CFG_OBJMAP names:
				 * model ids or prefixes ending in '*'
				 * (else CFG_OBJMAP names are name_ok) */
	CFG_SOMEKEY  = 1 << 4	/* CFG_OBJMAP: each object sets at least one
				 * row of .sub */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	unsigned flags;
	size_t off;		/* the field in the target struct */
	size_t noff;		/* arrays: the element count field */
	double min, max;	/* numbers, inclusive */
	double def;		/* numbers and CFG_PROVIDER: preset value */
	const char *sdef;	/* strings: default copied when absent */
	const struct cfg_key *sub;	/* CFG_OBJARR, CFG_OBJMAP: table for
					 * each element */
	const char *const *names;	/* CFG_ENUM: the values, NULL-ended */
	size_t elsize;		/* CFG_OBJARR, CFG_OBJMAP: element size */
	size_t keyoff;		/* CFG_OBJMAP: the element's char * name */
};

#define PO(f) offsetof(struct px_provider_cfg, f)
#define TO(f) offsetof(struct px_config, f)

static const char *const api_names[] = { "openai", "native", NULL };
static const char *const backend_names[] = { "lmdb", "redis", NULL };
static const char *const day_names[] = {
	[PX_DAY_ROLLING] = "rolling", [PX_DAY_PROVIDER] = "provider",
	[PX_DAY_UTC] = "utc", [PX_DAY__MAX] = NULL
};

#define NAME_MAX_LEN	64
#define NAME_WHAT	"name of 1..64 characters [A-Za-z0-9._-]"
#define PATTERN_WHAT	"model id, or a prefix ending in '*'"

/* Optional limits in a struct px_limits member "lim" of T (0: none). */
#define LIMIT_ROW(T, f, hi) \
	{ .name = #f, .type = CFG_LONG, .off = offsetof(T, lim.f), \
	  .min = 1, .max = (hi) }
#define RATE_ROWS(T) \
	LIMIT_ROW(T, max_request_min, 1000000000), \
	LIMIT_ROW(T, max_request_day, 1000000000), \
	LIMIT_ROW(T, max_token_min, 1000000000)
#define CONCURRENT_MAX	1000	/* PX_LEASES_MAX: one lease record holds them all */

/* "model_limits" of T: MODEL or prefix -> rate limits; no concurrency. */
#define MODEL_LIMITS_ROW(T) \
	{ .name = "model_limits", .type = CFG_OBJMAP, \
	  .flags = CFG_PATTERN | CFG_SOMEKEY, .off = offsetof(T, model_limits), \
	  .noff = offsetof(T, nmodel_limits), .sub = model_limit_keys, \
	  .elsize = sizeof(struct px_model_limit), \
	  .keyoff = offsetof(struct px_model_limit, model) }
#define DAY_RESET_ROW(T) \
	{ .name = "day_reset", .type = CFG_ENUM, .off = offsetof(T, day_reset), \
	  .def = PX_DAY_ROLLING, .names = day_names }

/* model_limits.MODEL */
static const struct cfg_key model_limit_keys[] = {
	RATE_ROWS(struct px_model_limit),
	{ .name = NULL }
};

/* owners.NAME */
static const struct cfg_key owner_keys[] = {
	RATE_ROWS(struct px_owner_cfg),
	LIMIT_ROW(struct px_owner_cfg, max_concurrent, CONCURRENT_MAX),
	MODEL_LIMITS_ROW(struct px_owner_cfg),
	DAY_RESET_ROW(struct px_owner_cfg),
	{ .name = NULL }
};

/* access_keys[i]; "day_reset": "provider" is refused in finish_clients. */
static const struct cfg_key client_keys[] = {
	{ .name = "key", .type = CFG_KEY, .flags = CFG_REQUIRED | CFG_SECRET,
	  .off = offsetof(struct px_client_cfg, key) },
	{ .name = "name", .type = CFG_NAME, .flags = CFG_REQUIRED,
	  .off = offsetof(struct px_client_cfg, name) },
	RATE_ROWS(struct px_client_cfg),
	LIMIT_ROW(struct px_client_cfg, max_concurrent, CONCURRENT_MAX),
	{ .name = "models", .type = CFG_STRARR,
	  .flags = CFG_NONEMPTY | CFG_PATTERN,
	  .off = offsetof(struct px_client_cfg, models),
	  .noff = offsetof(struct px_client_cfg, nmodels) },
	DAY_RESET_ROW(struct px_client_cfg),
	{ .name = NULL }
};

/* provider_keys[i]; .def = PX_PROV__MAX marks "no valid provider yet". */
static const struct cfg_key prov_keys[] = {
	{ .name = "provider", .type = CFG_PROVIDER, .flags = CFG_REQUIRED,
	  .off = PO(provider), .def = PX_PROV__MAX },
	{ .name = "api", .type = CFG_ENUM, .off = PO(api), .def = PX_API_OPENAI,
	  .names = api_names },
	{ .name = "key", .type = CFG_KEYS,
	  .flags = CFG_REQUIRED | CFG_NONEMPTY | CFG_SECRET,
	  .off = PO(keys), .noff = PO(nkeys) },
	{ .name = "max_request_day", .type = CFG_LONG, .flags = CFG_REQUIRED,
	  .off = PO(max_request_day), .min = 1, .max = 1000000000 },
	{ .name = "max_token_min", .type = CFG_LONG, .flags = CFG_REQUIRED,
	  .off = PO(max_token_min), .min = 1, .max = 1000000000 },
	{ .name = "max_request_min", .type = CFG_LONG, .flags = CFG_REQUIRED,
	  .off = PO(max_request_min), .min = 1, .max = 1000000000 },
	/* The default depends on "provider": see finish_providers(). */
	{ .name = "base_url", .type = CFG_URL, .off = PO(base_url) },
	{ .name = "models", .type = CFG_STRARR, .flags = CFG_NONEMPTY,
	  .off = PO(models), .noff = PO(nmodels) },
	{ .name = "models_filter", .type = CFG_NESTR,
	  .off = PO(models_filter) },
	/* issue 13: the quota model; absent, the entry means what it did */
	{ .name = "owner", .type = CFG_NAME, .off = PO(owner_name) },
	{ .name = "max_concurrent", .type = CFG_LONG, .off = PO(max_concurrent),
	  .min = 1, .max = CONCURRENT_MAX },
	MODEL_LIMITS_ROW(struct px_provider_cfg),
	DAY_RESET_ROW(struct px_provider_cfg),
	{ .name = NULL }
};

static const struct cfg_key top_keys[] = {
	{ .name = "access_key", .type = CFG_KEY,
	  .flags = CFG_REQUIRED | CFG_SECRET, .off = TO(access_key) },
	{ .name = "model_usage_gap_percentage", .type = CFG_NUM,
	  .off = TO(model_usage_gap_percentage), .min = 0, .max = 100,
	  .def = 5 },
	{ .name = "auto-models", .type = CFG_STRARR,
	  .off = TO(auto_models), .noff = TO(nauto_models) },
	{ .name = "model_aliases", .type = CFG_ALIASES,
	  .off = TO(aliases), .noff = TO(naliases) },
	{ .name = "provider_keys", .type = CFG_OBJARR,
	  .flags = CFG_REQUIRED | CFG_NONEMPTY,
	  .off = TO(providers), .noff = TO(nproviders), .sub = prov_keys,
	  .elsize = sizeof(struct px_provider_cfg) },
	{ .name = "owners", .type = CFG_OBJMAP, .off = TO(owners),
	  .noff = TO(nowners), .sub = owner_keys,
	  .elsize = sizeof(struct px_owner_cfg),
	  .keyoff = offsetof(struct px_owner_cfg, name) },
	{ .name = "access_keys", .type = CFG_OBJARR, .off = TO(clients),
	  .noff = TO(nclients), .sub = client_keys,
	  .elsize = sizeof(struct px_client_cfg) },
	{ .name = "state_dir", .type = CFG_NESTR, .off = TO(state_dir),
	  .sdef = "var" },
	{ .name = "state_durable", .type = CFG_BOOL, .off = TO(state_durable) },
	{ .name = "state_writemap", .type = CFG_BOOL,
	  .off = TO(state_writemap) },
	{ .name = "state_map_mb", .type = CFG_LONG, .off = TO(state_map_mb),
	  .min = 1, .max = 65536, .def = 64 },
	{ .name = "state_backend", .type = CFG_ENUM, .off = TO(state_backend),
	  .def = PX_BACKEND_LMDB, .names = backend_names },
	{ .name = "redis_url", .type = CFG_NESTR, .off = TO(redis_url) },
	{ .name = "redis_password", .type = CFG_ENVSTR, .flags = CFG_SECRET,
	  .off = TO(redis_password) },
	{ .name = "redis_prefix", .type = CFG_NESTR, .off = TO(redis_prefix),
	  .sdef = "aiproxy:" },
	{ .name = "metrics_key", .type = CFG_KEY, .flags = CFG_SECRET,
	  .off = TO(metrics_key) },
	{ .name = "metrics_public", .type = CFG_BOOL, .off = TO(metrics_public) },
	{ .name = "lease_ttl_s", .type = CFG_LONG, .off = TO(lease_ttl_s),
	  .min = 4, .max = 3600, .def = 60 },
	{ .name = "redis_timeout_ms", .type = CFG_LONG,
	  .off = TO(redis_timeout_ms), .min = 10, .max = 60000, .def = 250 },
	{ .name = "max_body_bytes", .type = CFG_SIZE, .off = TO(max_body_bytes),
	  .min = 1024, .max = 1073741824, .def = 4194304 },
	{ .name = "threads", .type = CFG_UINT, .off = TO(threads),
	  .min = 1, .max = 4096, .def = 64 },
	{ .name = "connect_timeout_ms", .type = CFG_LONG,
	  .off = TO(connect_timeout_ms), .min = 100, .max = 600000,
	  .def = 10000 },
	{ .name = "first_byte_timeout_ms", .type = CFG_LONG,
	  .off = TO(first_byte_timeout_ms), .min = 100, .max = 3600000,
	  .def = 120000 },
	{ .name = "idle_timeout_ms", .type = CFG_LONG,
	  .off = TO(idle_timeout_ms), .min = 100, .max = 3600000,
	  .def = 120000 },
	{ .name = "keepalive_interval_ms", .type = CFG_LONG,
	  .off = TO(keepalive_interval_ms), .min = 100, .max = 3600000,
	  .def = 15000 },
	{ .name = "max_attempts", .type = CFG_UINT, .off = TO(max_attempts),
	  .min = 1, .max = 10, .def = 3 },
	{ .name = "key_reprobe_s", .type = CFG_LONG, .off = TO(key_reprobe_s),
	  .min = 1, .max = 86400, .def = 600 },
	{ .name = "models_cache_s", .type = CFG_LONG,
	  .off = TO(models_cache_s), .min = 0, .max = 86400, .def = 300 },
	{ .name = "max_json_values", .type = CFG_SIZE,
	  .off = TO(max_json_values), .min = 100, .max = 100000000,
	  .def = 100000 },
	{ .name = "signature_ttl_s", .type = CFG_LONG,
	  .off = TO(signature_ttl_s), .min = 60, .max = 31536000,
	  .def = 86400 },
	{ .name = "signature_cache_max", .type = CFG_SIZE,
	  .off = TO(signature_cache_max), .min = 16, .max = 10000000,
	  .def = 4096 },
	{ .name = "fcgi_read_timeout_ms", .type = CFG_LONG,
	  .off = TO(fcgi_read_timeout_ms), .min = 100, .max = 3600000,
	  .def = 30000 },
	{ .name = "max_response_bytes", .type = CFG_SIZE,
	  .off = TO(max_response_bytes), .min = 65536, .max = 1073741824,
	  .def = 8388608 },
	{ .name = NULL }
};

static const struct {
	const char *name;
	const char *base_url;
} provtab[PX_PROV__MAX] = {
	[PX_PROV_OPENROUTER] = { "openrouter", "https://openrouter.ai/api/v1" },
	[PX_PROV_GEMINI]     = { "gemini",
	    "https://generativelanguage.googleapis.com/v1beta/openai" },
};

const char *
px_provider_name(enum px_provider_id id)
{
	if ((unsigned)id >= PX_PROV__MAX)
		return "unknown";
	return provtab[id].name;
}

/* --- errors and paths ----------------------------------------------------- */

struct ctx {
	struct px_cfg_errors *errs;	/* NULL: count only */
	const char *name;		/* file name, for document errors */
	unsigned    nerr;		/* all errors, also past the cap */
	int         oom;
	char        path[192];		/* e.g. "provider_keys[1].key[0]" */
	size_t      plen;
};

static void
ctx_init(struct ctx *c, const char *name, struct px_cfg_errors *errs)
{
	memset(c, 0, sizeof *c);
	c->errs = errs;
	c->name = name != NULL ? name : "config";
	if (errs != NULL)
		errs->n = 0;
}

static void __attribute__((format(printf, 2, 3)))
add_err(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	c->nerr++;
	if (c->errs == NULL || c->errs->n >= PX_CFG_MAXERRS)
		return;
	va_start(ap, fmt);
	vsnprintf(c->errs->msg[c->errs->n++], sizeof c->errs->msg[0], fmt, ap);
	va_end(ap);
}

/* An error about the value at the current path: "path: <fmt>". */
static void __attribute__((format(printf, 2, 3)))
perr(struct ctx *c, const char *fmt, ...)
{
	char tail[sizeof c->errs->msg[0]];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tail, sizeof tail, fmt, ap);
	va_end(ap);
	add_err(c, "%s: %s", c->path, tail);
}

static void
oom(struct ctx *c)
{
	if (!c->oom)
		add_err(c, "%s: out of memory", c->name);
	c->oom = 1;
}

/* Append ".key" (or "key" at the top) or "[idx]"; returns the old length. */
static size_t
path_push(struct ctx *c, const char *key, size_t idx)
{
	size_t old = c->plen, room = sizeof c->path - 1;
	char num[32];

	if (key == NULL) {
		snprintf(num, sizeof num, "[%zu]", idx);
		key = num;
	} else if (old > 0 && c->plen < room) {
		c->path[c->plen++] = '.';
	}
	for (; *key != '\0' && c->plen < room; key++) {
		/* Key names come from the file: keep messages one line. */
		unsigned char ch = (unsigned char)*key;
		c->path[c->plen++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	c->path[c->plen] = '\0';
	return old;
}

static void
path_pop(struct ctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

/* Shortest of %.15g/%.17g that reads back as d, as cJSON prints numbers. */
static void
fmt_num(double d, char *out, size_t n)
{
	snprintf(out, n, "%.15g", d);
	if (strtod(out, NULL) != d)
		snprintf(out, n, "%.17g", d);
}

/* s as a JSON string literal, cut to QUOTE_MAX bytes with "...". */
static void
quote(const char *s, char *out, size_t n)
{
	size_t o = 0, i;

	out[o++] = '"';
	for (i = 0; s[i] != '\0' && o + 12 < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i == QUOTE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (ch == '"' || ch == '\\')
			out[o++] = '\\';
		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(out + o, n - o, "\\u%04x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* The found value for "got ...": JSON for scalars, a type name otherwise. */
static void
describe(const cJSON *v, unsigned flags, char *out, size_t n)
{
	const char *word = "null";

	if (cJSON_IsString(v) && (!(flags & CFG_SECRET) ||
	    v->valuestring[0] == '\0')) {
		quote(v->valuestring, out, n);
		return;
	}
	if (cJSON_IsNumber(v)) {
		fmt_num(v->valuedouble, out, n);
		return;
	}
	if (cJSON_IsString(v))
		word = "string";	/* a secret: show the type only */
	else if (cJSON_IsArray(v))
		word = v->child != NULL ? "array" : "empty array";
	else if (cJSON_IsObject(v))
		word = "object";
	else if (cJSON_IsTrue(v))
		word = "true";
	else if (cJSON_IsFalse(v))
		word = "false";
	snprintf(out, n, "%s", word);
}

/* "\"a\", \"b\" or \"c\"" */
static void
enum_list(const char *const *names, char *out, size_t n)
{
	size_t i, at = 0;

	out[0] = '\0';
	for (i = 0; names[i] != NULL && at < n; i++)
		at += (size_t)snprintf(out + at, n - at, "%s\"%s\"",
		    i == 0 ? "" : names[i + 1] == NULL ? " or " : ", ",
		    names[i]);
}

/* What a row accepts, for "expected ...". */
static void
expect(const struct cfg_key *k, char *out, size_t n)
{
	char lo[32], hi[32];
	const char *ne = k->flags & CFG_NONEMPTY ? "non-empty " : "";

	fmt_num(k->min, lo, sizeof lo);
	fmt_num(k->max, hi, sizeof hi);
	switch (k->type) {
	case CFG_URL:
		snprintf(out, n, "http:// or https:// URL");
		break;
	case CFG_PROVIDER:
		snprintf(out, n, "\"%s\" or \"%s\"", provtab[0].name,
		    provtab[1].name);
		break;
	case CFG_ENUM:
		enum_list(k->names, out, n);
		break;
	case CFG_LONG:
	case CFG_SIZE:
	case CFG_UINT:
		snprintf(out, n, "integer %s..%s", lo, hi);
		break;
	case CFG_NUM:
		snprintf(out, n, "number %s..%s", lo, hi);
		break;
	case CFG_BOOL:
		snprintf(out, n, "true or false");
		break;
	case CFG_STRARR:
	case CFG_KEYS:
		snprintf(out, n, "%sarray of non-empty strings", ne);
		break;
	case CFG_OBJARR:
		snprintf(out, n, "%sarray of objects", ne);
		break;
	case CFG_OBJMAP:
		snprintf(out, n, "object of %s -> object",
		    k->flags & CFG_PATTERN ? "model id" : "name");
		break;
	case CFG_NAME:
		snprintf(out, n, NAME_WHAT);
		break;
	default:
		snprintf(out, n, "non-empty string");
		break;
	}
}

static void
bad_as(struct ctx *c, const char *what, const cJSON *v, unsigned flags)
{
	char got[QUOTE_MAX + 16];

	describe(v, flags, got, sizeof got);
	perr(c, "expected %s, got %s", what, got);
}

static void
bad(struct ctx *c, const struct cfg_key *k, const cJSON *v)
{
	char what[96];

	expect(k, what, sizeof what);
	bad_as(c, what, v, k->flags);
}

/* --- value handlers, one per enum cfg_type -------------------------------- */

static void *
field(void *base, size_t off)
{
	return (char *)base + off;
}

static char *
dup(struct ctx *c, const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		oom(c);
	return p;
}

static int
is_nestr(const cJSON *v)
{
	return cJSON_IsString(v) && v->valuestring[0] != '\0';
}

/* An owner or client name: 1..64 of [A-Za-z0-9._-]. */
static int
name_ok(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '.' || s[n] == '_' || s[n] == '-'))
			return 0;
	}
	return n >= 1 && n <= NAME_MAX_LEN;
}

/* A model id, or a prefix pattern: a '*' may only end it. */
static int
pattern_ok(const char *s)
{
	const char *star = strchr(s, '*');

	return s[0] != '\0' && (star == NULL || star[1] == '\0');
}

static void
store_num(const struct cfg_key *k, void *base, double d)
{
	void *p = field(base, k->off);

	switch (k->type) {
	case CFG_PROVIDER:
		*(enum px_provider_id *)p = (enum px_provider_id)d;
		break;
	case CFG_ENUM:	/* every enum of config.h is int-sized */
		*(int *)p = (int)d;
		break;
	case CFG_LONG:
		*(long *)p = (long)d;
		break;
	case CFG_SIZE:
		*(size_t *)p = (size_t)d;
		break;
	case CFG_UINT:
		*(unsigned *)p = (unsigned)d;
		break;
	case CFG_NUM:
		*(double *)p = d;
		break;
	case CFG_BOOL:
		*(int *)p = d != 0;
		break;
	default:
		break;
	}
}

static void
get_nestr(struct ctx *c, const struct cfg_key *k, const cJSON *v, void *base)
{
	if (!is_nestr(v)) {
		bad(c, k, v);
		return;
	}
	*(char **)field(base, k->off) = dup(c, v->valuestring);
}

static void
get_name(struct ctx *c, const struct cfg_key *k, const cJSON *v, void *base)
{
	if (!cJSON_IsString(v) || !name_ok(v->valuestring)) {
		bad(c, k, v);
		return;
	}
	*(char **)field(base, k->off) = dup(c, v->valuestring);
}

static int
url_ok(const char *s)
{
	size_t skip;

	if (strncmp(s, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(s, "https://", 8) == 0)
		skip = 8;
	else
		return 0;
	if (s[skip] == '\0' || s[skip] == '/')
		return 0;		/* no host */
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 0;	/* would break the request line */
	}
	return 1;
}

static void
get_url(struct ctx *c, const struct cfg_key *k, const cJSON *v, void *base)
{
	char *s;
	size_t n;

	if (!cJSON_IsString(v) || !url_ok(v->valuestring)) {
		bad(c, k, v);
		return;
	}
	s = dup(c, v->valuestring);
	if (s == NULL)
		return;
	/* callers append "/chat/completions": no trailing '/' at all (the
	 * host is non-empty, url_ok saw to that, so this stops in time) */
	for (n = strlen(s); n > 0 && s[n - 1] == '/'; n--)
		s[n - 1] = '\0';
	*(char **)field(base, k->off) = s;
}

static void
get_provider(struct ctx *c, const struct cfg_key *k, const cJSON *v,
    void *base)
{
	unsigned i;

	for (i = 0; cJSON_IsString(v) && i < PX_PROV__MAX; i++) {
		if (strcmp(v->valuestring, provtab[i].name) == 0) {
			store_num(k, base, i);
			return;
		}
	}
	bad(c, k, v);
}

static void
get_enum(struct ctx *c, const struct cfg_key *k, const cJSON *v, void *base)
{
	unsigned i;

	for (i = 0; cJSON_IsString(v) && k->names[i] != NULL; i++) {
		if (strcmp(v->valuestring, k->names[i]) == 0) {
			store_num(k, base, i);
			return;
		}
	}
	bad(c, k, v);
}

static void
get_int(struct ctx *c, const struct cfg_key *k, const cJSON *v, void *base)
{
	double d;

	/* Range first: the cast below is undefined for huge values. */
	if (!cJSON_IsNumber(v) || v->valuedouble < k->min ||
	    v->valuedouble > k->max) {
		bad(c, k, v);
		return;
	}
	d = v->valuedouble;
	if ((double)(long long)d != d) {
		bad(c, k, v);
		return;
	}
	store_num(k, base, d);
}

static void
get_num(struct ctx *c, const struct cfg_key *k, const cJSON *v, void *base)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < k->min ||
	    v->valuedouble > k->max) {
		bad(c, k, v);
		return;
	}
	store_num(k, base, v->valuedouble);
}

static void
get_bool(struct ctx *c, const struct cfg_key *k, const cJSON *v, void *base)
{
	if (!cJSON_IsBool(v)) {
		bad(c, k, v);
		return;
	}
	store_num(k, base, cJSON_IsTrue(v) ? 1 : 0);
}

/*
 * Check that v is an array fit for k and allocate n zeroed elements of
 * size at k->off, with the count at k->noff, so that release() can free a
 * partly filled array. Returns the element count; 0 with nothing stored.
 */
static size_t
array_alloc(struct ctx *c, const struct cfg_key *k, const cJSON *v,
    size_t size, void *base)
{
	size_t n;
	void *p;

	if (!cJSON_IsArray(v) || ((k->flags & CFG_NONEMPTY) && !v->child)) {
		bad(c, k, v);
		return 0;
	}
	n = (size_t)cJSON_GetArraySize(v);
	if (n == 0)
		return 0;
	p = calloc(n, size);
	if (p == NULL) {
		oom(c);
		return 0;
	}
	*(void **)field(base, k->off) = p;
	*(size_t *)field(base, k->noff) = n;
	return n;
}

static void
get_strarr(struct ctx *c, const struct cfg_key *k, const cJSON *v,
    void *base)
{
	const cJSON *e;
	char **strs;
	size_t i = 0, old;
	int pat = (k->flags & CFG_PATTERN) != 0;

	if (array_alloc(c, k, v, sizeof *strs, base) == 0)
		return;
	strs = *(char ***)field(base, k->off);
	for (e = v->child; e != NULL; e = e->next, i++) {
		old = path_push(c, NULL, i);
		if (is_nestr(e) && (!pat || pattern_ok(e->valuestring)))
			strs[i] = dup(c, e->valuestring);
		else
			bad_as(c, pat ? PATTERN_WHAT : "non-empty string", e,
			    k->flags);
		path_pop(c, old);
	}
}

/* {"claude-*": "auto-model", "gpt-4o": "gemini-2.5-flash"}: a '*' may
 * only end a key (a prefix pattern). */
static void
get_aliases(struct ctx *c, const struct cfg_key *k, const cJSON *v,
    void *base)
{
	const cJSON *e;
	struct px_alias *a;
	size_t n = 0, i = 0, old;

	if (!cJSON_IsObject(v)) {
		bad_as(c, "object of model id -> model id", v, k->flags);
		return;
	}
	for (e = v->child; e != NULL; e = e->next)
		n++;
	if (n == 0)
		return;
	a = calloc(n, sizeof(*a));
	if (a == NULL) {
		oom(c);
		return;
	}
	*(struct px_alias **)field(base, k->off) = a;
	*(size_t *)field(base, k->noff) = n;
	for (e = v->child; e != NULL; e = e->next, i++) {
		old = path_push(c, e->string, 0);
		if (!pattern_ok(e->string))
			perr(c, "an alias is a model id, or a prefix ending "
			    "in '*'");
		else if (!is_nestr(e))
			bad_as(c, "non-empty string", e, k->flags);
		else {
			a[i].from = dup(c, e->string);
			a[i].to = dup(c, e->valuestring);
		}
		path_pop(c, old);
	}
}

static int
env_name_ok(const char *s)
{
	if (*s == '\0' || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s != '\0'; s++) {
		if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
			return 0;
	}
	return 1;
}

/* The secret for one key entry: the string itself, or getenv(NAME). */
static const char *
key_secret(struct ctx *c, const char *s)
{
	const char *name = s + strlen(ENV_PREFIX), *val;

	if (strncmp(s, ENV_PREFIX, strlen(ENV_PREFIX)) != 0)
		return s;
	if (!env_name_ok(name)) {
		perr(c, "expected a variable name after \"" ENV_PREFIX
		    "\" (letters, digits, '_')");
		return NULL;
	}
	/* getenv is safe here: load runs before any thread starts. */
	val = getenv(name);
	if (val == NULL || *val == '\0') {
		perr(c, "environment variable %s is %s", name,
		    val == NULL ? "not set" : "empty");
		return NULL;
	}
	return val;
}

/* The secret of one key entry, checked; NULL once the error is added. */
static const char *
key_value(struct ctx *c, const cJSON *e)
{
	const char *s, *p;

	if (!is_nestr(e)) {
		bad_as(c, "non-empty string", e, CFG_SECRET);
		return NULL;
	}
	s = key_secret(c, e->valuestring);
	if (s == NULL)
		return NULL;
	for (p = s; *p != '\0'; p++) {
		/* The key goes into an HTTP header: no CR/LF smuggling. */
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			perr(c, "key contains spaces or control characters");
			return NULL;
		}
	}
	return s;
}

static void
get_key(struct ctx *c, const cJSON *e, struct px_key_cfg *key)
{
	const char *s = key_value(c, e);

	if (s == NULL)
		return;
	key->secret = dup(c, s);
	if (key->secret != NULL)
		px_key_id(key->secret, key->id);
}

/* One secret (a client key): the rules of a provider key. */
static void
get_secret(struct ctx *c, const struct cfg_key *k, const cJSON *v,
    void *base)
{
	const char *s = key_value(c, v);

	if (s != NULL)
		*(char **)field(base, k->off) = dup(c, s);
}

static void
get_keys(struct ctx *c, const struct cfg_key *k, const cJSON *v, void *base)
{
	const cJSON *e;
	struct px_key_cfg *keys;
	size_t i = 0, old;

	if (array_alloc(c, k, v, sizeof *keys, base) == 0)
		return;
	keys = *(struct px_key_cfg **)field(base, k->off);
	for (e = v->child; e != NULL; e = e->next, i++) {
		old = path_push(c, NULL, i);
		get_key(c, e, &keys[i]);
		path_pop(c, old);
	}
}

/* A string that may name an environment variable ("env:NAME"). */
static void
get_envstr(struct ctx *c, const struct cfg_key *k, const cJSON *v,
    void *base)
{
	const char *s;

	if (!is_nestr(v)) {
		bad(c, k, v);
		return;
	}
	s = key_secret(c, v->valuestring);
	if (s != NULL)
		*(char **)field(base, k->off) = dup(c, s);
}

static size_t apply(struct ctx *c, const struct cfg_key *tab,
    const cJSON *obj, void *base);

static void
get_objarr(struct ctx *c, const struct cfg_key *k, const cJSON *v,
    void *base)
{
	const cJSON *e;
	char *elems;
	size_t i = 0, old;

	if (array_alloc(c, k, v, k->elsize, base) == 0)
		return;
	elems = *(char **)field(base, k->off);
	for (e = v->child; e != NULL; e = e->next, i++) {
		old = path_push(c, NULL, i);
		if (cJSON_IsObject(e))
			apply(c, k->sub, e, elems + i * k->elsize);
		else
			bad_as(c, "object", e, 0);
		path_pop(c, old);
	}
}

/* One member NAME of a CFG_OBJMAP object v into el (path at NAME). */
static void
objmap_elem(struct ctx *c, const struct cfg_key *k, const cJSON *v,
    const cJSON *e, void *el)
{
	const char *names[ROWS_MAX + 1];
	char list[256];
	const cJSON *prev;
	size_t i;

	for (prev = v->child; prev != e; prev = prev->next) {
		if (strcmp(prev->string, e->string) == 0) {
			perr(c, "duplicate key");
			return;
		}
	}
	if (k->flags & CFG_PATTERN ? !pattern_ok(e->string) :
	    !name_ok(e->string)) {
		perr(c, "not a %s", k->flags & CFG_PATTERN ? PATTERN_WHAT :
		    NAME_WHAT);
		return;
	}
	if (!cJSON_IsObject(e)) {
		bad_as(c, "object", e, 0);
		return;
	}
	*(char **)field(el, k->keyoff) = dup(c, e->string);
	if (apply(c, k->sub, e, el) > 0 || !(k->flags & CFG_SOMEKEY))
		return;
	for (i = 0; i < ROWS_MAX && k->sub[i].name != NULL; i++)
		names[i] = k->sub[i].name;
	names[i] = NULL;
	enum_list(names, list, sizeof list);
	perr(c, "expected at least one of %s", list);
}

static void
get_objmap(struct ctx *c, const struct cfg_key *k, const cJSON *v,
    void *base)
{
	const cJSON *e;
	char *elems;
	size_t n = 0, i = 0, old;

	if (!cJSON_IsObject(v)) {
		bad(c, k, v);
		return;
	}
	for (e = v->child; e != NULL; e = e->next)
		n++;
	if (n == 0)
		return;
	elems = calloc(n, k->elsize);
	if (elems == NULL) {
		oom(c);
		return;
	}
	*(char **)field(base, k->off) = elems;
	*(size_t *)field(base, k->noff) = n;
	for (e = v->child; e != NULL; e = e->next, i++) {
		old = path_push(c, e->string, 0);
		objmap_elem(c, k, v, e, elems + i * k->elsize);
		path_pop(c, old);
	}
}

typedef void getter(struct ctx *, const struct cfg_key *, const cJSON *,
    void *);

static getter *const getters[CFG__MAX] = {
	[CFG_NESTR] = get_nestr,	[CFG_URL] = get_url,
	[CFG_PROVIDER] = get_provider,	[CFG_LONG] = get_int,
	[CFG_ENUM] = get_enum,		[CFG_ENVSTR] = get_envstr,
	[CFG_SIZE] = get_int,		[CFG_UINT] = get_int,
	[CFG_NUM] = get_num,		[CFG_STRARR] = get_strarr,
	[CFG_BOOL] = get_bool,
	[CFG_KEYS] = get_keys,		[CFG_OBJARR] = get_objarr,
	[CFG_ALIASES] = get_aliases,	[CFG_NAME] = get_name,
	[CFG_KEY] = get_secret,		[CFG_OBJMAP] = get_objmap,
};

/* --- one object level ----------------------------------------------------- */

/* Levenshtein distance, case-insensitive; large for long names. */
static unsigned
distance(const char *a, const char *b)
{
	unsigned row[64], prev, tmp, best;
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la >= 64 || lb >= 64)
		return UINT_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = (unsigned)i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + ((a[i - 1] | 0x20) != (b[j - 1] | 0x20));
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

static void
unknown_key(struct ctx *c, const struct cfg_key *tab, const char *name)
{
	const struct cfg_key *k, *hint = NULL;
	unsigned d, best = NAME_MAX_DIST + 1;

	for (k = tab; k->name != NULL; k++) {
		d = distance(name, k->name);
		if (d < best) {
			best = d;
			hint = k;
		}
	}
	if (hint != NULL)
		perr(c, "unknown key (did you mean \"%s\"?)", hint->name);
	else
		perr(c, "unknown key");
}

static const struct cfg_key *
find_key(const struct cfg_key *tab, const char *name)
{
	for (; tab->name != NULL; tab++) {
		if (strcmp(tab->name, name) == 0)
			return tab;
	}
	return NULL;
}

/* Rows not present in the object: required ones are errors. */
static void
apply_missing(struct ctx *c, const struct cfg_key *tab,
    const unsigned char *seen, void *base)
{
	size_t i, old;

	for (i = 0; tab[i].name != NULL; i++) {
		if (seen[i])
			continue;
		old = path_push(c, tab[i].name, 0);
		if (tab[i].flags & CFG_REQUIRED)
			perr(c, "required key is missing");
		else if (tab[i].sdef != NULL)
			*(char **)field(base, tab[i].off) = dup(c, tab[i].sdef);
		path_pop(c, old);
	}
}

/* Check every member of obj against tab and fill base; returns how many
 * rows of tab obj sets (valid or not). */
static size_t
apply(struct ctx *c, const struct cfg_key *tab, const cJSON *obj, void *base)
{
	unsigned char seen[ROWS_MAX] = { 0 };
	const struct cfg_key *k;
	const cJSON *m;
	size_t old, row, nseen = 0;

	for (k = tab; k->name != NULL; k++) {
		assert(k - tab < ROWS_MAX);
		store_num(k, base, k->def);	/* numeric presets */
	}
	for (m = obj->child; m != NULL; m = m->next) {
		old = path_push(c, m->string, 0);
		k = find_key(tab, m->string);
		row = k != NULL ? (size_t)(k - tab) : 0;
		if (k == NULL)
			unknown_key(c, tab, m->string);
		else if (seen[row])
			perr(c, "duplicate key");
		else {
			seen[row] = 1;
			nseen++;
			getters[k->type](c, k, m, base);
		}
		path_pop(c, old);
	}
	apply_missing(c, tab, seen, base);
	return nseen;
}

static int
is_scalar(enum cfg_type t)
{
	return t == CFG_PROVIDER || t == CFG_ENUM || t == CFG_LONG ||
	    t == CFG_SIZE ||
	    t == CFG_UINT || t == CFG_NUM || t == CFG_BOOL;
}

/* Free what apply() stored through tab; partly filled structs are fine. */
static void
release(const struct cfg_key *tab, void *base)
{
	const struct cfg_key *k;
	size_t i, n;
	char **strs, *el;
	struct px_key_cfg *keys;
	struct px_alias *al;

	for (k = tab; k->name != NULL; k++) {
		n = k->noff ? *(size_t *)field(base, k->noff) : 0;
		if (k->type == CFG_STRARR) {
			strs = *(char ***)field(base, k->off);
			for (i = 0; i < n; i++)
				free(strs[i]);
		} else if (k->type == CFG_KEYS) {
			keys = *(struct px_key_cfg **)field(base, k->off);
			for (i = 0; i < n; i++)
				free(keys[i].secret);
		} else if (k->type == CFG_OBJARR || k->type == CFG_OBJMAP) {
			for (i = 0; i < n; i++) {
				el = *(char **)field(base, k->off) +
				    i * k->elsize;
				release(k->sub, el);
				if (k->type == CFG_OBJMAP)
					free(*(char **)field(el, k->keyoff));
			}
		} else if (k->type == CFG_ALIASES) {
			al = *(struct px_alias **)field(base, k->off);
			for (i = 0; i < n; i++) {
				free(al[i].from);
				free(al[i].to);
			}
		}
		if (!is_scalar(k->type))
			free(*(void **)field(base, k->off));
	}
}

/* --- checks across provider entries --------------------------------------- */

/*
 * Keys of one provider are compared across all its entries: the same
 * secret twice is an error; two different secrets with the same 8-char id
 * get "-2", "-3" so ids stay unique per provider.
 */
static void
check_key(struct ctx *c, const struct px_config *cfg, size_t pi, size_t ki)
{
	const struct px_provider_cfg *p = &cfg->providers[pi], *q;
	struct px_key_cfg *key = &p->keys[ki];
	size_t i, j, same_id = 0;

	for (i = 0; i <= pi; i++) {
		q = &cfg->providers[i];
		if (q->provider != p->provider)
			continue;
		for (j = 0; j < q->nkeys && !(i == pi && j == ki); j++) {
			if (q->keys[j].secret == NULL)
				continue;
			if (strcmp(q->keys[j].secret, key->secret) == 0) {
				add_err(c, "provider_keys[%zu].key[%zu]: same "
				    "key as provider_keys[%zu].key[%zu]",
				    pi, ki, i, j);
				return;
			}
			same_id += strncmp(q->keys[j].id, key->id, 8) == 0;
		}
	}
	if (same_id > 0)
		snprintf(key->id + 8, sizeof key->id - 8, "-%zu", same_id + 1);
}

static void
finish_providers(struct ctx *c, struct px_config *cfg)
{
	struct px_provider_cfg *p;
	size_t i, j;

	for (i = 0; i < cfg->nproviders; i++) {
		p = &cfg->providers[i];
		if (p->provider >= PX_PROV__MAX)
			continue;	/* already reported */
		if (p->api == PX_API_NATIVE && p->provider != PX_PROV_GEMINI) {
			add_err(c, "provider_keys[%zu].api: \"native\" exists "
			    "only for provider \"gemini\"", i);
			continue;
		}
		if (p->base_url == NULL)
			p->base_url = dup(c, p->api == PX_API_NATIVE ?
			    GEMINI_NATIVE_URL : provtab[p->provider].base_url);
		for (j = 0; j < p->nkeys; j++) {
			if (p->keys[j].secret != NULL)
				check_key(c, cfg, i, j);
		}
	}
}

/*
 * Ids of model_limits entries: px_key_id of the model string; two
 * patterns of one table whose ids collide get "-2", "-3" in file order, as
 * key ids do, so ids stay unique per table.
 */
static void
model_ids(struct px_model_limit *ml, size_t n)
{
	size_t i, j, same;

	for (i = 0; i < n; i++) {
		if (ml[i].model == NULL)
			continue;	/* already reported */
		px_key_id(ml[i].model, ml[i].id);
		for (same = 0, j = 0; j < i; j++)
			same += ml[j].model != NULL &&
			    strncmp(ml[j].id, ml[i].id, 8) == 0;
		if (same > 0)
			snprintf(ml[i].id + 8, sizeof ml[i].id - 8, "-%zu",
			    same + 1);
	}
}

/*
 * provider_keys[pi].owner -> &cfg->owners[j]. An owner is one account or
 * project of one provider: the first entry naming it sets its provider and
 * an entry of another provider is an error naming both.
 */
static void
resolve_owner(struct ctx *c, struct px_config *cfg, size_t pi)
{
	struct px_provider_cfg *p = &cfg->providers[pi];
	struct px_owner_cfg *o = NULL;
	char name[QUOTE_MAX + 16];
	size_t i;

	if (p->owner_name == NULL)
		return;
	for (i = 0; i < cfg->nowners && o == NULL; i++) {
		if (cfg->owners[i].name != NULL &&
		    strcmp(cfg->owners[i].name, p->owner_name) == 0)
			o = &cfg->owners[i];
	}
	quote(p->owner_name, name, sizeof name);
	if (o == NULL) {
		add_err(c, "provider_keys[%zu].owner: %s is not declared in "
		    "owners", pi, name);
		return;
	}
	p->owner = o;
	if (p->provider >= PX_PROV__MAX)
		return;		/* already reported */
	for (i = 0; i < pi; i++) {
		const struct px_provider_cfg *q = &cfg->providers[i];

		if (q->owner != o || q->provider >= PX_PROV__MAX)
			continue;
		if (q->provider != p->provider)
			add_err(c, "provider_keys[%zu].owner: %s also owns "
			    "provider_keys[%zu] of provider \"%s\"; the keys "
			    "of one owner are of one provider (this entry is "
			    "\"%s\")", pi, name, i, provtab[q->provider].name,
			    provtab[p->provider].name);
		return;
	}
	o->provider = p->provider;
}

static void
finish_owners(struct ctx *c, struct px_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nowners; i++)
		model_ids(cfg->owners[i].model_limits,
		    cfg->owners[i].nmodel_limits);
	for (i = 0; i < cfg->nproviders; i++) {
		model_ids(cfg->providers[i].model_limits,
		    cfg->providers[i].nmodel_limits);
		resolve_owner(c, cfg, i);
	}
}

/*
 * A client key opens the proxy: it must differ from the admin key, from
 * the other client keys and from every provider key (a provider key that
 * also opens the proxy would let a client spend it with its own quota
 * and hand it to anyone who holds the client key). Never printed.
 */
static void
check_client_key(struct ctx *c, const struct px_config *cfg, size_t ci)
{
	const char *key = cfg->clients[ci].key;
	const struct px_provider_cfg *p;
	size_t i, j;

	if (cfg->access_key != NULL && strcmp(key, cfg->access_key) == 0) {
		add_err(c, "access_keys[%zu].key: same key as access_key", ci);
		return;
	}
	for (i = 0; i < ci; i++) {
		if (cfg->clients[i].key != NULL &&
		    strcmp(cfg->clients[i].key, key) == 0) {
			add_err(c, "access_keys[%zu].key: same key as "
			    "access_keys[%zu].key", ci, i);
			return;
		}
	}
	for (i = 0; i < cfg->nproviders; i++) {
		p = &cfg->providers[i];
		for (j = 0; j < p->nkeys; j++) {
			if (p->keys[j].secret != NULL &&
			    strcmp(p->keys[j].secret, key) == 0) {
				add_err(c, "access_keys[%zu].key: same key as "
				    "provider_keys[%zu].key[%zu]: a provider "
				    "key must not open the proxy", ci, i, j);
				return;
			}
		}
	}
}

/*
 * The scraper's key opens /metrics only: it must not be a key that opens
 * more (the admin or a client key) or a provider key. Never printed.
 */
static void
check_metrics_key(struct ctx *c, const struct px_config *cfg)
{
	const char *key = cfg->metrics_key;
	size_t i, j;

	if (key == NULL)
		return;
	if (cfg->access_key != NULL && strcmp(key, cfg->access_key) == 0)
		add_err(c, "metrics_key: same key as access_key");
	for (i = 0; i < cfg->nclients; i++)
		if (cfg->clients[i].key != NULL &&
		    strcmp(cfg->clients[i].key, key) == 0)
			add_err(c, "metrics_key: same key as "
			    "access_keys[%zu].key", i);
	for (i = 0; i < cfg->nproviders; i++)
		for (j = 0; j < cfg->providers[i].nkeys; j++)
			if (cfg->providers[i].keys[j].secret != NULL &&
			    strcmp(cfg->providers[i].keys[j].secret, key) == 0)
				add_err(c, "metrics_key: same key as "
				    "provider_keys[%zu].key[%zu]", i, j);
}

static void
finish_clients(struct ctx *c, const struct px_config *cfg)
{
	const struct px_client_cfg *cl;
	char name[QUOTE_MAX + 16];
	size_t i, j;

	for (i = 0; i < cfg->nclients; i++) {
		cl = &cfg->clients[i];
		if (cl->key != NULL)
			check_client_key(c, cfg, i);
		for (j = 0; cl->name != NULL && j < i; j++) {
			if (cfg->clients[j].name != NULL &&
			    strcmp(cfg->clients[j].name, cl->name) == 0) {
				quote(cl->name, name, sizeof name);
				add_err(c, "access_keys[%zu].name: %s is also "
				    "the name of access_keys[%zu]", i, name, j);
				break;
			}
		}
		if (cl->day_reset == PX_DAY_PROVIDER)
			add_err(c, "access_keys[%zu].day_reset: \"provider\" "
			    "needs a provider; a client key takes \"rolling\" "
			    "or \"utc\"", i);
	}
}

/*
 * The ledger's backend: Redis needs a URL that parses (redisurl.h) and a
 * prefix that can only name our own records; Redis settings without the
 * backend that uses them are a warning (finish_warnings).
 */
static void
finish_backend(struct ctx *c, struct px_config *cfg)
{
	struct px_redis_addr a;
	char why[160];
	const char *p;

	if (cfg->redis_url != NULL &&
	    px_redis_url_parse(cfg->redis_url, &a, why, sizeof(why)) != 0)
		add_err(c, "redis_url: %s", why);
	if (cfg->state_backend == PX_BACKEND_REDIS && cfg->redis_url == NULL)
		add_err(c, "redis_url: required when state_backend is "
		    "\"redis\"");
	for (p = cfg->redis_prefix; p != NULL && *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    p - cfg->redis_prefix >= 64) {
			add_err(c, "redis_prefix: at most 64 printable ASCII "
			    "characters without spaces");
			break;
		}
	}
}

/* --- the document --------------------------------------------------------- */

/* Offset of the first byte that is not valid UTF-8 or is NUL; len if none. */
static size_t
utf8_bad(const unsigned char *s, size_t len)
{
	size_t bad = px_utf8_bad_at((const char *)s, len);
	const unsigned char *nul = memchr(s, 0, bad);

	return nul != NULL ? (size_t)(nul - s) : bad;
}

/* 1-based line and column (in characters) of byte offset pos. */
static void
locate(const char *text, size_t pos, unsigned *line, unsigned *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < pos; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/*
 * A few bytes of source at pos, to the end of the line. Kept short because
 * the error may sit inside a key string: 10 bytes of a 39+ char key do not
 * reveal it.
 */
static void
snippet(const char *text, size_t len, size_t pos, char *out)
{
	size_t n = 0;

	/* start on a character, not inside one */
	while (pos > 0 && pos < len && ((unsigned char)text[pos] & 0xc0) == 0x80)
		pos--;
	while (pos + n < len && n < SNIPPET_MAX && text[pos + n] != '\n' &&
	    text[pos + n] != '\r')
		n++;
	if (pos + n < len && n == SNIPPET_MAX) {
		while (n > 0 && ((unsigned char)text[pos + n] & 0xc0) == 0x80)
			n--;		/* do not cut a character */
	}
	memcpy(out, text + pos, n);
	out[n] = '\0';
	for (; *out != '\0'; out++) {
		if ((unsigned char)*out < 0x20 || *out == 0x7f)
			*out = '?';
	}
}

static void
doc_err(struct ctx *c, const char *text, size_t len, size_t pos,
    const char *what)
{
	char near[SNIPPET_MAX + 1];
	unsigned line, col;

	locate(text, pos, &line, &col);
	snippet(text, len, pos, near);
	if (near[0] == '\0')
		add_err(c, "%s:%u:%u: %s at end of input", c->name, line,
		    col, what);
	else
		add_err(c, "%s:%u:%u: %s near '%s'", c->name, line, col,
		    what, near);
}

/* Parse text into a tree whose root is an object, or report why not. */
static cJSON *
parse_doc(struct ctx *c, const char *text, size_t len)
{
	const char *end = NULL;
	unsigned line, col;
	size_t pos;
	cJSON *root;

	if (len > PX_CFG_MAXFILE) {
		add_err(c, "%s: larger than %u bytes", c->name, PX_CFG_MAXFILE);
		return NULL;
	}
	pos = utf8_bad((const unsigned char *)text, len);
	if (pos < len) {
		/* No snippet: it would copy the bad bytes into the message. */
		locate(text, pos, &line, &col);
		add_err(c, "%s:%u:%u: %s", c->name, line, col,
		    text[pos] == '\0' ? "NUL byte" : "invalid UTF-8");
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	pos = end != NULL ? (size_t)(end - text) : 0;
	if (root == NULL) {
		doc_err(c, text, len, pos, "JSON syntax error");
		return NULL;
	}
	while (pos < len && strchr(" \t\r\n", text[pos]) != NULL)
		pos++;
	if (pos < len)
		doc_err(c, text, len, pos, "data after the JSON value");
	else if (!cJSON_IsObject(root))
		add_err(c, "%s: expected a JSON object at the top level",
		    c->name);
	else
		return root;
	cJSON_Delete(root);
	return NULL;
}

/* Every provider secret in one list: relayed upstream text is redacted
 * against all of them, not only the key that was used. */
static void
finish_secrets(struct ctx *c, struct px_config *cfg)
{
	size_t i, j, n = 0;

	for (i = 0; i < cfg->nproviders; i++)
		n += cfg->providers[i].nkeys;
	if (n == 0)
		return;
	cfg->secrets.v = calloc(n, sizeof *cfg->secrets.v);
	if (cfg->secrets.v == NULL) {
		oom(c);
		return;
	}
	for (i = 0; i < cfg->nproviders; i++)
		for (j = 0; j < cfg->providers[i].nkeys; j++)
			if (cfg->providers[i].keys[j].secret != NULL)
				cfg->secrets.v[cfg->secrets.n++] =
				    cfg->providers[i].keys[j].secret;
}

static void __attribute__((format(printf, 2, 3)))
add_warn(struct px_config *cfg, const char *fmt, ...)
{
	struct px_cfg_warnings *w = &cfg->warnings;
	va_list ap;

	if (w->n >= PX_CFG_MAXWARN)
		return;
	va_start(ap, fmt);
	vsnprintf(w->msg[w->n++], sizeof w->msg[0], fmt, ap);
	va_end(ap);
}

/* Placeholders of the seed's README and deploy/config.sample.json. */
static int
is_placeholder(const char *key)
{
	return strcmp(key, "your-proxy-access-key") == 0 ||
	    strstr(key, "CHANGE-ME") != NULL ||
	    strstr(key, "REPLACE-ME") != NULL;
}

/* Is the host of an http:// URL this machine (127/8, localhost, ::1)? */
static int
loopback_url(const char *url)
{
	const char *h = url + 7;	/* after "http://" */
	size_t n = strcspn(h, ":/?#");

	if (h[0] == '[')
		return strncmp(h, "[::1]", 5) == 0;
	if (n == 9 && strncmp(h, "localhost", 9) == 0)
		return 1;
	return strncmp(h, "127.", 4) == 0;
}

static int
weak_key(const char *key)
{
	return strlen(key) < PX_ACCESS_KEY_MIN || is_placeholder(key);
}

static const char *
weak_why(const char *key)
{
	return is_placeholder(key) ? "a sample placeholder" : "too short";
}

/* Client keys that are easy to guess; owners that no entry names. */
static void
warn_quota(struct px_config *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->nclients; i++) {
		if (weak_key(cfg->clients[i].key))
			add_warn(cfg, "access_keys[%zu].key: weak (%s); anyone "
			    "who guesses it spends the quota of client \"%s\": "
			    "use at least %d random characters", i,
			    weak_why(cfg->clients[i].key), cfg->clients[i].name,
			    PX_ACCESS_KEY_MIN);
	}
	if (cfg->metrics_key != NULL && weak_key(cfg->metrics_key))
		add_warn(cfg, "metrics_key: weak (%s); anyone who guesses it "
		    "reads the key ids, limits and usage of /metrics: use at "
		    "least %d random characters", weak_why(cfg->metrics_key),
		    PX_ACCESS_KEY_MIN);
	if (cfg->metrics_public && cfg->metrics_key != NULL)
		add_warn(cfg, "metrics_key: unused, metrics_public is true");
	for (i = 0; i < cfg->nowners; i++) {
		for (j = 0; j < cfg->nproviders; j++) {
			if (cfg->providers[j].owner == &cfg->owners[i])
				break;
		}
		if (j == cfg->nproviders)
			add_warn(cfg, "owners.%s: declared, but no provider_keys "
			    "entry names it: its limits apply to nothing",
			    cfg->owners[i].name);
	}
}

/*
 * Settings that load but put the installation at risk. Messages never
 * show a secret: access and client keys are described, not quoted.
 */
static void
finish_warnings(struct px_config *cfg)
{
	size_t i;

	if (cfg->access_key != NULL && weak_key(cfg->access_key))
		add_warn(cfg, "access_key: weak (%s); anyone who guesses it "
		    "spends the pool's quota: use at least %d random "
		    "characters, e.g. the output of `openssl rand -hex 24`",
		    weak_why(cfg->access_key), PX_ACCESS_KEY_MIN);
	if (cfg->state_backend != PX_BACKEND_REDIS && cfg->redis_url != NULL)
		add_warn(cfg, "redis_url: set, but state_backend is not "
		    "\"redis\": the ledger stays in this host's LMDB");
	for (i = 0; i < cfg->nproviders; i++) {
		const char *u = cfg->providers[i].base_url;

		if (u != NULL && strncmp(u, "http://", 7) == 0 &&
		    !loopback_url(u))
			add_warn(cfg, "provider_keys[%zu].base_url: plain "
			    "http:// to a host that is not this machine: the "
			    "provider keys would travel in clear text", i);
	}
	warn_quota(cfg);
}

static enum px_err
parse(struct ctx *c, const char *text, size_t len, struct px_config **out)
{
	struct px_config *cfg = NULL;
	cJSON *root;

	root = parse_doc(c, text != NULL ? text : "", text != NULL ? len : 0);
	if (root == NULL)
		goto out;
	cfg = calloc(1, sizeof *cfg);
	if (cfg == NULL) {
		oom(c);
		goto out;
	}
	apply(c, top_keys, root, cfg);
	finish_providers(c, cfg);
	finish_owners(c, cfg);
	finish_clients(c, cfg);
	check_metrics_key(c, cfg);
	finish_backend(c, cfg);
	if (c->nerr == 0) {
		finish_secrets(c, cfg);
		finish_warnings(cfg);
	}
out:
	cJSON_Delete(root);
	if (c->nerr > 0) {
		px_config_free(cfg);
		return c->oom ? PX_ENOMEM : PX_ECONFIG;
	}
	*out = cfg;
	return PX_OK;
}

enum px_err
px_config_parse(const char *text, size_t len, const char *name,
    struct px_config **out, struct px_cfg_errors *errs)
{
	struct ctx c;

	*out = NULL;
	ctx_init(&c, name, errs);
	return parse(&c, text, len, out);
}

/* Read all of path into b (b->max is one past the limit, to detect it). */
static enum px_err
read_file(struct ctx *c, const char *path, struct px_buf *b)
{
	FILE *f = fopen(path, "rb");
	size_t want, got;
	enum px_err rc = PX_OK;

	if (f == NULL) {
		add_err(c, "%s: cannot open: %s", path, strerror(errno));
		return PX_ECONFIG;
	}
	do {
		want = b->max - b->len < 65536 ? b->max - b->len : 65536;
		if (px_buf_reserve(b, want) != PX_OK) {
			oom(c);
			rc = PX_ENOMEM;
			goto out;
		}
		got = fread(b->p + b->len, 1, want, f);
		b->len += got;
		b->p[b->len] = '\0';
	} while (got == want && b->len < b->max);
	if (ferror(f)) {
		add_err(c, "%s: cannot read: %s", path, strerror(errno));
		rc = PX_ECONFIG;
	} else if (b->len > PX_CFG_MAXFILE) {
		add_err(c, "%s: larger than %u bytes", path, PX_CFG_MAXFILE);
		rc = PX_ECONFIG;
	}
out:
	fclose(f);
	return rc;
}

/*
 * A relative state_dir is taken relative to the config file's directory,
 * not to whatever directory a web server starts responders in.
 */
static enum px_err
anchor_state_dir(struct ctx *c, const char *path, struct px_config *cfg)
{
	char *real, *slash, *joined;
	size_t n;

	if (cfg == NULL || cfg->state_dir == NULL || cfg->state_dir[0] == '/')
		return PX_OK;
	real = realpath(path, NULL);
	if (real == NULL) {
		add_err(c, "%s: cannot resolve: %s", path, strerror(errno));
		return PX_ECONFIG;
	}
	slash = strrchr(real, '/');
	*slash = '\0';		/* realpath is absolute: there is a '/' */
	n = strlen(real) + strlen(cfg->state_dir) + 2;
	joined = malloc(n);
	if (joined != NULL)
		snprintf(joined, n, "%s/%s", real, cfg->state_dir);
	free(real);
	if (joined == NULL)
		return PX_ENOMEM;
	free(cfg->state_dir);
	cfg->state_dir = joined;
	return PX_OK;
}

enum px_err
px_config_load(const char *path, struct px_config **out,
    struct px_cfg_errors *errs)
{
	struct px_buf b;
	struct ctx c;
	enum px_err rc;

	*out = NULL;
	ctx_init(&c, path, errs);
	px_buf_init(&b, (size_t)PX_CFG_MAXFILE + 1);
	rc = read_file(&c, path, &b);
	if (rc == PX_OK)
		rc = parse(&c, b.p, b.len, out);
	px_buf_free(&b);
	if (rc == PX_OK)
		rc = anchor_state_dir(&c, path, *out);
	if (rc != PX_OK && *out != NULL) {
		px_config_free(*out);
		*out = NULL;
	}
	return rc;
}

void
px_config_free(struct px_config *cfg)
{
	if (cfg == NULL)
		return;
	release(top_keys, cfg);
	free(cfg->secrets.v);
	free(cfg);
}

long
px_config_key_index(const struct px_config *cfg, const struct px_key_cfg *key)
{
	const struct px_provider_cfg *p;
	size_t i;
	long base = 0;

	for (i = 0; i < cfg->nproviders; i++) {
		p = &cfg->providers[i];
		if (key >= p->keys && key < p->keys + p->nkeys)
			return base + (long)(key - p->keys);
		base += (long)p->nkeys;
	}
	return -1;
}

/*
 * FNV-1a 64 over a domain prefix and the secret, folded to 32 bits. This
 * is a label for logs and counters, not a secret-preserving hash: it is
 * fast and unsalted, but 32 bits cannot be turned back into a 30+ char key,
 * and guessing keys against it is no easier than against the provider.
 */
void
px_key_id(const char *secret, char id[16])
{
	static const char domain[] = "aiproxy-key-id:";
	static const char hex[] = "0123456789abcdef";
	uint64_t h = 0xcbf29ce484222325u;
	uint32_t x;
	const char *s;
	int i;

	for (s = domain; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	for (s = secret; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	x = (uint32_t)(h ^ (h >> 32));
	for (i = 7; i >= 0; i--) {
		id[i] = hex[x & 0xf];
		x >>= 4;
	}
	id[8] = '\0';
}

int
px_model_match(const char *pattern, const char *model)
{
	size_t n;

	if (pattern == NULL || model == NULL)
		return 0;
	n = strlen(pattern);
	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(pattern, model, n - 1) == 0;
	return strcmp(pattern, model) == 0;
}

const struct px_model_limit *
px_model_limit_find(const struct px_model_limit *ml, size_t n,
    const char *model)
{
	const struct px_model_limit *best = NULL;
	size_t i, len, best_len = 0;

	for (i = 0; model != NULL && i < n; i++) {
		if (ml[i].model == NULL)
			continue;
		if (strcmp(ml[i].model, model) == 0)
			return &ml[i];		/* exact wins */
		len = strlen(ml[i].model);
		if (len > 0 && ml[i].model[len - 1] == '*' &&
		    (best == NULL || len > best_len) &&
		    px_model_match(ml[i].model, model)) {
			best = &ml[i];
			best_len = len;
		}
	}
	return best;
}
