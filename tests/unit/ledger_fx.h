/*
 * ledger_fx.h -- the fixture shared by the ledger unit tests: a config
 * written in compact JSON, a ledger on a fresh temporary state directory,
 * and its removal; one fixture, two backends: fx_run runs a suite on
 * LMDB, on LMDB with state_writemap, then again on Redis
 * (AIPROXY_TEST_REDIS_URL, a redis-server that tests/run.sh starts),
 * each fixture under its own redis_prefix and with
 * the caller's clock (AIPROXY_TEST_LEDGER_CALLER_CLOCK) so time stays
 * injected. Included once by each test file (static functions).
 * Never: leaves a directory behind when a test passes.
 */
#ifndef PX_LEDGER_FX_H
#define PX_LEDGER_FX_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "buf.h"
#include "config.h"
#include "ledger.h"
#include "store.h"
#include "tharness.h"
#include "usage.h"

/* The Redis of this pass, or NULL for LMDB; and whether this LMDB pass
 * writes through the map (state_writemap). */
static const char *fx_redis_url;
static int fx_writemap;
static unsigned fx_seq;

/* Limits written as day, tokens/min, requests/min. */
#define LIM(d, t, m) "'max_request_day':" #d ",'max_token_min':" #t \
	",'max_request_min':" #m
#define OR(keys, lim) "{'provider':'openrouter','key':[" keys "]," lim "}"
#define GM(keys, lim) "{'provider':'gemini','key':[" keys "]," lim "}"
#define PROVS(p) "'provider_keys':[" p "]"

/* One ledger on one state directory, plus what the last call returned. */
struct fx {
	char dir[64];
	struct px_config *cfg;
	struct px_ledger *lg;
	struct px_ledger_scratch *s;
	struct px_lease last;		/* lease of the last rsv() */
	int64_t retry;			/* retry_ms of the last rsv() */
	struct px_buf raw;		/* text of the last usage() */
	char prefix[48];		/* redis_prefix of this fixture */
};

/* --- fixture ------------------------------------------------------------ */

/* Parse {access_key, state_dir: f->dir, rest} and open a ledger on it. */
static inline int
fx_open(struct fx *f, const char *rest)
{
	struct px_cfg_errors e;
	char text[2048], detail[256], be[256] = "";
	size_t i, n;

	if (fx_redis_url != NULL)
		snprintf(be, sizeof(be), "'state_backend':'redis',"
		    "'redis_url':'%s','redis_prefix':'%s',", fx_redis_url,
		    f->prefix);
	else if (fx_writemap)
		snprintf(be, sizeof(be), "'state_writemap':true,");
	n = (size_t)snprintf(text, sizeof(text),
	    "{'access_key':'ak','state_dir':'%s',%s%s}", f->dir, be, rest);
	if (n >= sizeof(text))
		return -1;
	for (i = 0; i < n; i++)
		if (text[i] == '\'')
			text[i] = '"';
	memset(&e, 0, sizeof(e));
	if (px_config_parse(text, n, "t.json", &f->cfg, &e) != PX_OK) {
		printf("#   config rejected: %s\n", e.n > 0 ? e.msg[0] : "?");
		return -1;
	}
	detail[0] = '\0';
	if (px_ledger_open(&f->lg, f->cfg, detail, sizeof(detail)) != PX_OK) {
		printf("#   ledger not opened: %s\n", detail);
		return -1;
	}
	if (fx_redis_url == NULL && px_store_writemap(px_ledger_store(f->lg)) !=
	    fx_writemap) {
		printf("#   state_writemap %d not in effect\n", fx_writemap);
		return -1;
	}
	f->s = px_ledger_scratch_new(f->cfg);
	return f->s == NULL ? -1 : 0;
}

/* Close the ledger and free the config; the state directory stays. */
static inline void
fx_close(struct fx *f)
{
	px_ledger_close(f->lg);
	px_ledger_scratch_free(f->s);
	px_config_free(f->cfg);
	f->lg = NULL;
	f->s = NULL;
	f->cfg = NULL;
}

/* A fresh state directory, no ledger open yet. */
static inline int
fx_dir(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	px_buf_init(&f->raw, 1u << 20);
	snprintf(f->prefix, sizeof(f->prefix), "fx%ld-%u:", (long)getpid(),
	    ++fx_seq);
	snprintf(f->dir, sizeof(f->dir), "/tmp/px_ledger_fx_XXXXXX");
	if (mkdtemp(f->dir) != NULL)
		return 0;
	printf("#   mkdtemp failed\n");
	return -1;
}

/* A fresh state directory with a ledger over config `rest`. */
static inline int
fx_new(struct fx *f, const char *rest)
{
	if (fx_dir(f) != 0)
		return -1;
	return fx_open(f, rest);
}

static inline int
rm(const char *dir, const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return name[0] == '\0' ? rmdir(dir) : unlink(p);
}

/* Close and remove <dir>/ledger/{data,lock}.mdb, <dir>/ledger and <dir>. */
static inline void
fx_done(struct fx *f)
{
	char sub[96];
	int bad = 0;

	fx_close(f);
	px_buf_free(&f->raw);
	snprintf(sub, sizeof(sub), "%s/ledger", f->dir);
	bad |= rm(sub, "data.mdb");
	bad |= rm(sub, "lock.mdb");
	bad |= rm(sub, "");
	bad |= rm(f->dir, "");
	T_CHECK(bad == 0, "state directory removed");
}

/* A case whose fixture could not be built: one failed check, cleaned. */
static inline void
fx_fail(struct fx *f, const char *what)
{
	T_CHECK(0, what);
	fx_done(f);
}

/* The member at a NULL-terminated path of member names, or NULL. */
static inline const cJSON *
jget(const cJSON *root, ...)
{
	const cJSON *j = root;
	const char *name;
	va_list ap;

	va_start(ap, root);
	for (name = va_arg(ap, const char *); name != NULL && j != NULL;
	    name = va_arg(ap, const char *))
		j = cJSON_GetObjectItemCaseSensitive(j, name);
	va_end(ap);
	return j;
}

/* Reserve one request and 1 token for c[0..nc) at now; the lease and the
 * retry go to f->last and f->retry. */
static inline enum px_err
fx_reserve(struct fx *f, const struct px_candidate *c, size_t nc,
    int64_t now)
{
	memset(&f->last, 0, sizeof(f->last));
	f->retry = -1;
	return px_ledger_reserve(f->lg, f->s, c, nc, 1, now, &f->last,
	    &f->retry);
}

/* /v1/usage at now, parsed (NULL on failure); the text stays in f->raw. */
static inline cJSON *
fx_usage(struct fx *f, int64_t now)
{
	const struct px_snapshot *sn;

	if (px_ledger_snapshot(f->lg, f->s, now, &sn) != PX_OK ||
	    px_usage_render(sn, NULL, &f->raw) != PX_OK) {
		printf("#   usage failed\n");
		return NULL;
	}
	return cJSON_Parse(f->raw.p);
}

/* Run suite on LMDB, then on Redis; t_done() of both. */
static inline int
fx_run(void (*suite)(void))
{
	const char *url = getenv("AIPROXY_TEST_REDIS_URL");

	printf("# backend lmdb\n");
	suite();
	printf("# backend lmdb, state_writemap\n");
	fx_writemap = 1;
	suite();
	fx_writemap = 0;
	T_CHECK(url != NULL && *url != '\0', "AIPROXY_TEST_REDIS_URL names "
	    "the redis-server of tests/run.sh");
	if (url == NULL || *url == '\0')
		return t_done();
	printf("# backend redis (%s)\n", url);
	setenv("AIPROXY_TEST_LEDGER_CALLER_CLOCK", "1", 1);
	fx_redis_url = url;
	suite();
	fx_redis_url = NULL;
	return t_done();
}

#endif
