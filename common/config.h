/*
 * config.h -- config.json loaded once into an immutable struct.
 * Owns: the key tables describing every accepted field, defaults, range
 * checks, "env:NAME" key indirection, and the error messages that name the
 * failing path (`provider_keys[1].max_request_min: expected ...`).
 * Never: keeps cJSON objects after load, or changes after px_config_load
 * returns (threads read it without locks).
 */
#ifndef PX_CONFIG_H
#define PX_CONFIG_H

#include <stddef.h>
#include "err.h"

enum px_provider_id { PX_PROV_OPENROUTER = 0, PX_PROV_GEMINI, PX_PROV__MAX };
/* The wire protocol of a provider_keys entry: OpenAI-compatible (both
 * families) or the provider's native API (gemini only). */
enum px_api { PX_API_OPENAI = 0, PX_API_NATIVE, PX_API__MAX };

/* Where the ledger keeps its records: this host's LMDB, or a Redis
 * server that several hosts share. */
enum px_backend { PX_BACKEND_LMDB = 0, PX_BACKEND_REDIS, PX_BACKEND__MAX };

/* Name as written in config.json ("openrouter", "gemini"). */
const char *px_provider_name(enum px_provider_id id);

struct px_key_cfg {
	char *secret;	/* the provider API key; never logged or sent out */
	char  id[16];	/* 8 hex chars of a hash of secret, "-N" on collision */
};

/* "model_aliases": a client's model id (or a prefix ending in '*') -> the
 * model to serve it with, or "auto-model". */
struct px_alias {
	char *from;
	char *to;
};

/*
 * The day window of a set of limits: the rolling last 24 h (the seed's
 * meaning), the provider's calendar day (Gemini: midnight in
 * America/Los_Angeles, DST included; OpenRouter: 00:00 UTC), or the UTC
 * calendar day.
 */
enum px_day_reset { PX_DAY_ROLLING = 0, PX_DAY_PROVIDER, PX_DAY_UTC,
    PX_DAY__MAX };

/* Optional limits of an owner, a (key or owner, model) pair or a client
 * key: 0 is "no limit". */
struct px_limits {
	long max_request_min;
	long max_request_day;
	long max_token_min;
	long max_concurrent;	/* requests in flight; not in model_limits */
};

/* "model_limits": {"MODEL": {...}}: one exact model id, or a prefix
 * ending in '*'. The longest matching entry applies. */
struct px_model_limit {
	char *model;
	struct px_limits lim;
	char  id[16];		/* 8 hex chars of a hash of model: names
				 * its ledger records */
};

/* "owners": {"NAME": {...}}: whose budget several keys draw on (a Google
 * project, an OpenRouter account). */
struct px_owner_cfg {
	char *name;		/* [A-Za-z0-9._-], 1..64 chars */
	struct px_limits lim;
	struct px_model_limit *model_limits;
	size_t nmodel_limits;
	enum px_day_reset day_reset;	/* default rolling */
	enum px_provider_id provider;	/* of the keys that name it (one
					 * provider per owner, checked) */
};

/* "access_keys": [{...}]: a client key with its own limits and models. */
struct px_client_cfg {
	char *key;		/* the secret ("env:NAME" resolved) */
	char *name;		/* [A-Za-z0-9._-], 1..64 chars, unique */
	struct px_limits lim;
	char **models;		/* allowed models (patterns ending in '*');
				 * NULL: every model */
	size_t nmodels;
	enum px_day_reset day_reset;	/* rolling or utc */
};

struct px_provider_cfg {
	enum px_provider_id provider;
	enum px_api api;		/* "api": "openai" (default), "native" */
	struct px_key_cfg  *keys;
	size_t              nkeys;	/* >= 1 */
	long   max_request_day;	/* >= 1 */
	long   max_token_min;	/* >= 1 */
	long   max_request_min;	/* >= 1 */
	long   max_concurrent;	/* 0: no cap on requests in flight */
	enum px_day_reset day_reset;	/* of max_request_day; rolling */
	char  *owner_name;	/* "owner", or NULL */
	const struct px_owner_cfg *owner;	/* resolved at load */
	struct px_model_limit *model_limits;	/* per key, per model */
	size_t nmodel_limits;
	char  *base_url;	/* default per provider; never ends in '/' */
	char **models;		/* NULL when not set, else nmodels >= 1 */
	size_t nmodels;
	char  *models_filter;	/* filter for fetched model lists, or NULL */
};

/* Every provider secret of the file, for redacting upstream text (L1). */
struct px_secrets {
	const char **v;			/* borrowed from the key tables */
	size_t       n;
};

#define PX_CFG_MAXWARN 16
#define PX_ACCESS_KEY_MIN 24	/* shorter access keys get a warning */
struct px_cfg_warnings {
	unsigned n;			/* recorded, at most PX_CFG_MAXWARN */
	char     msg[PX_CFG_MAXWARN][256];
};

struct px_config {
	char   *access_key;		/* required, non-empty */
	char   *metrics_key;		/* opens /metrics only, or NULL */
	int     metrics_public;		/* /metrics without any key */
	double  model_usage_gap_percentage;	/* 0..100, default 5 */
	char  **auto_models;		/* "auto-models"; may be empty */
	size_t  nauto_models;
	struct px_alias *aliases;	/* "model_aliases", in file order */
	size_t  naliases;
	struct px_provider_cfg *providers;	/* "provider_keys" */
	size_t  nproviders;
	char   *state_dir;		/* default "var"; px_config_load makes a
					 * relative one absolute, anchored at the
					 * config file's directory */
	int     state_durable;		/* fsync meta pages per commit, default off */
	int     state_writemap;		/* LMDB MDB_WRITEMAP, default off */
	long    state_map_mb;		/* LMDB map size, default 64 */
	enum px_backend state_backend;	/* "lmdb" (default) or "redis" */
	char   *redis_url;		/* required with "redis" (redisurl.h) */
	char   *redis_password;		/* optional; "env:NAME" resolved at
					 * load; never printed */
	char   *redis_prefix;		/* names in Redis start with it;
					 * default "aiproxy:" */
	long    redis_timeout_ms;	/* connect and each call; 250 */
	long    lease_ttl_s;		/* a max_concurrent slot of a request
					 * whose responder died frees after
					 * this; 60 */
	size_t  max_body_bytes;		/* default 4 MiB */
	unsigned threads;		/* workers per process, default 64 */
	long    connect_timeout_ms;	/* default 10000 */
	long    first_byte_timeout_ms;	/* default 120000 */
	long    idle_timeout_ms;	/* default 120000 */
	long    keepalive_interval_ms;	/* SSE comment in silence; 15000 */
	long    models_cache_s;		/* /v1/models cache life; 300 */
	unsigned max_attempts;		/* upstream tries per request; 3 */
	long    key_reprobe_s;		/* a disabled key is tried again after; 600 */
	size_t  max_json_values;	/* JSON values per request body; 100000 */
	size_t  max_response_bytes;	/* non-stream upstream body; 8 MiB */
	long    fcgi_read_timeout_ms;	/* a FastCGI peer silent this long is
					 * dropped; 30000 */
	long    signature_ttl_s;	/* thought signatures kept; 86400 */
	size_t  signature_cache_max;	/* ... at most this many; 4096 */
	struct px_owner_cfg *owners;	/* "owners", in file order */
	size_t  nowners;
	struct px_client_cfg *clients;	/* "access_keys", in file order */
	size_t  nclients;
	struct px_secrets secrets;	/* every provider key, built at load */
	struct px_cfg_warnings warnings;	/* loadable but unwise settings:
					 * weak access key, clear-text
					 * base_url; printed by --check-config
					 * and logged at start */
};

#define PX_CFG_MAXERRS 32
#define PX_CFG_MAXFILE (16u * 1024 * 1024)	/* larger files are refused */
struct px_cfg_errors {
	unsigned n;			/* recorded, at most PX_CFG_MAXERRS */
	char     msg[PX_CFG_MAXERRS][256];
};

/*
 * Load and validate path. On success *out owns a new config (free with
 * px_config_free). On failure *out is NULL, nothing is leaked, the result is
 * PX_ECONFIG (PX_ENOMEM if memory ran out) and errs (may be NULL) lists each
 * problem in document order, e.g.
 * "provider_keys[1].max_request_min: expected integer 1..1000000000, got \"x\""
 * or "config.json:3:7: JSON syntax error near '}'". No message shows a
 * secret (a syntax error quotes at most 10 bytes of the source).
 */
enum px_err px_config_load(const char *path, struct px_config **out,
    struct px_cfg_errors *errs);
/* Same, from len bytes in memory (no NUL needed); name is for messages. */
enum px_err px_config_parse(const char *text, size_t len, const char *name,
    struct px_config **out, struct px_cfg_errors *errs);
void px_config_free(struct px_config *cfg);	/* NULL-safe */

/* The model_limits entry of ml[0..n) for model: the exact id, else the
 * longest prefix pattern ("gemini-2.5-*"); NULL when none applies. */
const struct px_model_limit *px_model_limit_find(
    const struct px_model_limit *ml, size_t n, const char *model);

/* Does model match pattern (exact, or a prefix pattern ending in '*')? */
int px_model_match(const char *pattern, const char *model);

/* Position of key among every key of cfg (the order of cfg->secrets),
 * or -1 when key is not one of cfg's. */
long px_config_key_index(const struct px_config *cfg,
    const struct px_key_cfg *key);

/*
 * Short id of a key: 8 lowercase hex chars + NUL into id[16]. A label for
 * logs and counters (32 bits of a hash cannot give back the key), not a
 * secret-preserving hash. At load, ids of one provider that collide get
 * "-2", "-3" appended in px_key_cfg.id.
 */
void px_key_id(const char *secret, char id[16]);

#endif
