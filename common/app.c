/*
 * app.c -- one request from accept to log line: route, auth, dispatch.
 * Owns: the route table (matched on the path's "/v1/..." tail so the app
 * can be mounted under any prefix) with each route's dialect, the
 * constant-time access-key check (Bearer or x-api-key), a body-less answer
 * to HEAD probes (Claude Code's "HEAD /" at start-up), per-process and
 * per-thread state set-up.
 * Never: talks to upstreams or parses bodies (the handlers do).
 */
#include "worker.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "dialect.h"
#include "ledger.h"
#include "metrics.h"
#include "page.h"
#include "reply.h"
#include "stats.h"
#include "upstream.h"
#include "usage.h"

#define SSE_LINE_CAP   (1u << 20)	/* one SSE line or event */
#define UP_BUF_MAX     (64u << 20)	/* upstream body or rewritten request */
#define OUT_BUF_MAX    (64u << 20)

enum route { ROUTE_CHAT, ROUTE_RESPONSES, ROUTE_MESSAGES, ROUTE_COUNT,
    ROUTE_EMBED, ROUTE_MODELS, ROUTE_MODEL, ROUTE_USAGE, ROUTE_METRICS,
    ROUTE__MAX };

#define POST "Allow: POST\r\n"
#define GET  "Allow: GET\r\n"

/* Each route's tail, method and the dialect its replies (errors too) are
 * written in. Tails are matched exactly, so "messages/count_tokens"
 * never falls to "messages". */
static const struct {
	const char *tail;	/* after "/v1/" */
	const char *method;
	const char *allow;	/* Allow header for 405 */
	int         prefix;	/* tail is a prefix: the rest is an argument */
	enum px_dialect_id dialect;
} routes[ROUTE__MAX] = {
	[ROUTE_CHAT]      = { "chat/completions", "POST", POST, 0,
	    PX_DIALECT_CHAT },
	[ROUTE_RESPONSES] = { "responses", "POST", POST, 0,
	    PX_DIALECT_RESPONSES },
	[ROUTE_MESSAGES]  = { "messages", "POST", POST, 0,
	    PX_DIALECT_MESSAGES },
	[ROUTE_COUNT]     = { "messages/count_tokens", "POST", POST, 0,
	    PX_DIALECT_MESSAGES },
	[ROUTE_EMBED]     = { "embeddings", "POST", POST, 0, PX_DIALECT_CHAT },
	[ROUTE_MODELS]    = { "models", "GET", GET, 0, PX_DIALECT_CHAT },
	[ROUTE_MODEL]     = { "models/", "GET", GET, 1, PX_DIALECT_CHAT },
	[ROUTE_USAGE]     = { "usage", "GET", GET, 0, PX_DIALECT_CHAT },
	[ROUTE_METRICS]   = { "metrics", "GET", GET, 0, PX_DIALECT_CHAT },
};

/* The label /metrics counts each route under. */
static const enum px_st_route st_route[ROUTE__MAX] = {
	[ROUTE_CHAT] = PX_ST_CHAT, [ROUTE_RESPONSES] = PX_ST_RESPONSES,
	[ROUTE_MESSAGES] = PX_ST_MESSAGES, [ROUTE_COUNT] = PX_ST_COUNT_TOKENS,
	[ROUTE_EMBED] = PX_ST_EMBEDDINGS, [ROUTE_MODELS] = PX_ST_MODELS,
	[ROUTE_MODEL] = PX_ST_MODELS, [ROUTE_USAGE] = PX_ST_USAGE,
	[ROUTE_METRICS] = PX_ST_METRICS,
};

/* The shared state: the ledger (files under state_dir) and models cache. */
static int
open_state(struct px_app *app)
{
	char detail[256] = "";
	enum px_err e;

	e = px_ledger_open(&app->ledger, app->cfg, detail, sizeof(detail));
	if (e != PX_OK) {
		px_log(PX_LOG_ERROR, "%s", e == PX_ENOMEM ? "out of memory" :
		    detail);
		return -1;
	}
	app->ms = px_ledger_scratch_new(app->cfg);
	if (app->ms == NULL)
		return -1;
	app->models = px_models_new(app->cfg);
	app->sigc.store = px_ledger_store(app->ledger);
	app->sigc.ttl_ms = (int64_t)app->cfg->signature_ttl_s * 1000;
	app->sigc.max_entries = app->cfg->signature_cache_max;
	return app->models != NULL ? 0 : -1;
}

struct px_app *
px_app_new(const struct px_config *cfg, int defer_state)
{
	struct px_app *app = calloc(1, sizeof(*app));

	if (app == NULL)
		return NULL;
	app->cfg = cfg;
	atomic_init(&app->seq, 0);
	atomic_init(&app->auth_failures, 0);
	app->probe_at = calloc(cfg->secrets.n + 1, sizeof(*app->probe_at));
	if (app->probe_at == NULL ||
	    (!defer_state && open_state(app) != 0)) {
		px_app_free(app);
		return NULL;
	}
	/* a responder's streams share one loop; a CGI run has one request
	 * and keeps it on its own thread */
	if (!defer_state && (app->loop = px_http_loop_new()) == NULL)
		px_log(PX_LOG_WARN, "no stream loop (out of memory or file "
		    "descriptors): streams run on their own threads");
	return app;
}

/* The counters of this process into the shared record; a failure keeps
 * them for the next try (and is not worth a log line a second). */
static void
flush_stats(struct px_app *app)
{
	if (app->ledger != NULL && app->ms != NULL)
		(void)px_ledger_stats_flush(app->ledger, app->ms);
}

/*
 * glibc keeps the pages a burst of requests freed, so a responder's RSS
 * stays at its peak long after the load. After a whole upkeep period with
 * no new request, hand the free pages back once (malloc_trim walks the few
 * arenas; once per quiet spell, never under load).
 */
static void
trim_when_quiet(struct px_app *app)
{
	unsigned long seq = atomic_load(&app->seq);

	if (seq != app->trim_seq) {
		app->trim_seq = seq;
		app->trimmed = 0;
	} else if (!app->trimmed) {
		(void)malloc_trim(0);
		app->trimmed = 1;
	}
}

void
px_app_maintain(struct px_app *app)
{
	if (app->ledger != NULL)
		px_ledger_maintain(app->ledger);
	flush_stats(app);
	trim_when_quiet(app);
}

void
px_app_free(struct px_app *app)
{
	if (app == NULL)
		return;
	px_http_loop_free(app->loop);	/* every stream is over by now */
	flush_stats(app);	/* a CGI run's or a stopping responder's */
	px_ledger_scratch_free(app->ms);
	px_ledger_close(app->ledger);
	px_models_free(app->models);
	free(app->probe_at);
	free(app);
}

int
px_worker_init(struct px_worker *w, struct px_app *app)
{
	memset(w, 0, sizeof(*w));
	w->app = app;
	px_buf_init(&w->body, app->cfg->max_body_bytes);
	px_buf_init(&w->up, UP_BUF_MAX);
	px_buf_init(&w->resp, UP_BUF_MAX);
	px_buf_init(&w->out, OUT_BUF_MAX);
	px_buf_init(&w->err, 64u << 10);
	px_buf_init(&w->probe, 64u << 10);
	px_buf_init(&w->scratch, SSE_LINE_CAP + 1024);
	px_buf_init(&w->ev, OUT_BUF_MAX);
	px_buf_init(&w->uerr, 64u << 10);
	px_buf_init(&w->sigs, 4u << 20);
	px_dstate_init(&w->ds);
	px_sse_init(&w->sse, SSE_LINE_CAP, NULL, NULL, NULL);
	w->http = px_http_new();
	w->ls = px_ledger_scratch_new(app->cfg);
	w->ncand = app->cfg->nauto_models + 1;
	w->cand = calloc(w->ncand, sizeof(*w->cand));
	return w->http != NULL && w->ls != NULL && w->cand != NULL ? 0 : -1;
}

void
px_worker_fini(struct px_worker *w)
{
	px_http_free(w->http);
	w->http = NULL;
	px_ledger_scratch_free(w->ls);
	w->ls = NULL;
	free(w->cand);
	w->cand = NULL;
	px_buf_free(&w->body);
	px_buf_free(&w->up);
	px_buf_free(&w->resp);
	px_buf_free(&w->out);
	px_buf_free(&w->err);
	px_buf_free(&w->probe);
	px_buf_free(&w->scratch);
	px_buf_free(&w->ev);
	px_buf_free(&w->uerr);
	px_buf_free(&w->sigs);
	px_dstate_free(&w->ds);
	px_sse_free(&w->sse);
}

/* Compare in time that depends only on the client's token length. */
static int
key_equal(const char *given, size_t glen, const char *key)
{
	size_t klen = strlen(key), i;
	volatile unsigned char d = (unsigned char)(glen != klen);

	for (i = 0; i < glen; i++)
		d |= (unsigned char)(given[i] ^ key[klen ? i % klen : 0]);
	return d == 0;
}

/* The token of an "Authorization: Bearer <token>" header, trimmed. */
static const char *
bearer(const char *h, size_t *n)
{
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	*n = strlen(h);
	while (*n > 0 && h[*n - 1] == ' ')
		(*n)--;
	return h;
}

/*
 * The access key may come as "Authorization: Bearer" (OpenAI clients,
 * Anthropic SDK 1.x) or "x-api-key" (Claude Code, Anthropic SDK 0.x).
 * Clients may send both with different values (a real Anthropic key next
 * to the proxy's, or an OAuth token in Authorization): any presented
 * credential that matches is enough. Each is compared in constant time,
 * against the admin key and every client key ("access_keys"), all of
 * them, whichever matches: the time says nothing about which key is near.
 * 1: the admin key; 2: a client key (*client); 0: none.
 */
static int
match_key(const char *given, size_t n, const struct px_config *cfg,
    const struct px_client_cfg **client)
{
	int admin = key_equal(given, n, cfg->access_key), hit;
	size_t i;

	for (i = 0; i < cfg->nclients; i++) {
		hit = key_equal(given, n, cfg->clients[i].key);
		if (hit && *client == NULL)
			*client = &cfg->clients[i];
	}
	return admin ? 1 : *client != NULL ? 2 : 0;
}

static int
authorized(const struct px_io *io, const struct px_config *cfg,
    const struct px_client_cfg **client)
{
	const struct px_client_cfg *cb = NULL, *cx = NULL;
	const char *b, *x = px_io_param(io, "HTTP_X_API_KEY");
	size_t n = 0;
	int rb = 0, rx = 0;

	b = bearer(px_io_param(io, "HTTP_AUTHORIZATION"), &n);
	if (b != NULL && n > 0)
		rb = match_key(b, n, cfg, &cb);
	if (x != NULL && *x != '\0')
		rx = match_key(x, strlen(x), cfg, &cx);
	/* the admin key wins when both headers carry a key of ours */
	*client = rb == 1 || rx == 1 ? NULL : cb != NULL ? cb : cx;
	return rb != 0 || rx != 0;
}

/* Copy the request path (no query string) into dst. */
static void
request_path(const struct px_io *io, char *dst, size_t cap)
{
	const char *uri = px_io_param(io, "REQUEST_URI");
	size_t n;

	if (uri != NULL) {
		n = strcspn(uri, "?");
		snprintf(dst, cap, "%.*s", (int)(n < cap ? n : cap - 1), uri);
		return;
	}
	snprintf(dst, cap, "%s%s", px_io_param(io, "SCRIPT_NAME") ?
	    px_io_param(io, "SCRIPT_NAME") : "", px_io_param(io, "PATH_INFO") ?
	    px_io_param(io, "PATH_INFO") : "");
}

/* Decode %XX escapes in place (model ids may arrive encoded). */
static void
pct_decode(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		unsigned v;

		if (s[0] == '%' && s[1] != '\0' && s[2] != '\0' &&
		    sscanf(s + 1, "%2x", &v) == 1 && v != 0) {
			*o++ = (char)v;
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* "{prefix}/metrics" (where Prometheus looks by default) as well as
 * "{prefix}/v1/metrics". */
static int
is_metrics(const char *path)
{
	size_t n = strlen(path);

	return n >= 8 && strcmp(path + n - 8, "/metrics") == 0 &&
	    strstr(path, "/v1/") == NULL;
}

static int
match_route(char *path, char **arg)
{
	char *tail = strstr(path, "/v1/");
	int r;

	*arg = NULL;
	if (is_metrics(path))
		return ROUTE_METRICS;
	if (tail == NULL)
		return -1;
	tail += 4;
	for (r = 0; r < ROUTE__MAX; r++) {
		size_t n = strlen(routes[r].tail);

		if (!routes[r].prefix && strcmp(tail, routes[r].tail) == 0)
			return r;
		if (routes[r].prefix && strncmp(tail, routes[r].tail, n) == 0 &&
		    tail[n] != '\0') {
			*arg = tail + n;
			pct_decode(*arg);
			return r;
		}
	}
	return -1;
}

/* A request without the access key: 401, counted, and nothing else. */
static void
refuse(struct px_worker *w, struct px_io *io, struct px_reqlog *lg)
{
	lg->auth_failures = atomic_fetch_add(&w->app->auth_failures, 1) + 1;
	lg->note = "auth_failed";
	px_reply_error(io, &w->err, PX_EAUTH, NULL, NULL,
	    "WWW-Authenticate: Bearer\r\n");
}

/* GET /v1/usage: a snapshot of the ledger, rendered (usage.c). */
static void
usage_handle(struct px_worker *w, struct px_io *io)
{
	const struct px_snapshot *sn;
	enum px_err e;

	e = px_ledger_snapshot(w->app->ledger, w->ls, px_ledger_now_ms(), &sn);
	if (e == PX_OK)
		e = px_usage_render(sn, w->client, &w->out);
	if (e == PX_EUNAVAIL)
		px_reply_unavailable(io, &w->err);
	else if (e != PX_OK)
		px_reply_error(io, &w->err, e, NULL, NULL, NULL);
	else
		px_reply_json(io, 200, NULL, w->out.p, w->out.len);
}

/*
 * /metrics is read with the admin key, the scraper's metrics_key (Bearer)
 * or by anyone when metrics_public; a client key does not open it (the
 * page names every client). 1: allowed; *counted: the caller held a key.
 */
static int
metrics_allowed(const struct px_io *io, const struct px_config *cfg,
    int *counted)
{
	const struct px_client_cfg *client = NULL;
	const char *b;
	size_t n = 0;

	*counted = 0;
	b = bearer(px_io_param(io, "HTTP_AUTHORIZATION"), &n);
	if ((b != NULL && n > 0 && cfg->metrics_key != NULL &&
	    key_equal(b, n, cfg->metrics_key)) ||
	    (authorized(io, cfg, &client) && client == NULL))
		*counted = 1;
	return *counted || cfg->metrics_public;
}

/* GET /metrics: a snapshot and the shared counters, rendered
 * (metrics.c); reading writes nothing. */
static void
metrics_handle(struct px_worker *w, struct px_io *io)
{
	static _Thread_local uint64_t st[PX_ST_N];
	const struct px_snapshot *sn;
	enum px_err e;

	e = px_ledger_stats_read(w->app->ledger, w->ls, st);
	if (e == PX_OK)
		e = px_ledger_snapshot(w->app->ledger, w->ls,
		    px_ledger_now_ms(), &sn);
	if (e == PX_OK)
		e = px_metrics_render(sn, st, &w->out);
	if (e == PX_EUNAVAIL)
		px_reply_unavailable(io, &w->err);
	else if (e != PX_OK)
		px_reply_error(io, &w->err, e, NULL, NULL, NULL);
	else
		(void)px_reply_body(io, 200, "text/plain; version=0.0.4; "
		    "charset=utf-8", "Cache-Control: no-store\r\n", w->out.p,
		    w->out.len);
}

/* 1 when the request carried a key of ours (so it may be counted). */
static int
dispatch(struct px_worker *w, struct px_io *io, int r, const char *arg,
    struct px_reqlog *lg)
{
	const char *method = px_io_param(io, "REQUEST_METHOD");
	int counted = 1;

	if (r == ROUTE_METRICS ?
	    !metrics_allowed(io, w->app->cfg, &counted) :
	    !authorized(io, w->app->cfg, &w->client)) {
		refuse(w, io, lg);
		return 0;
	}
	if (method == NULL || strcmp(method, routes[r].method) != 0) {
		px_reply_error(io, &w->err, PX_EMETHOD, NULL, NULL,
		    routes[r].allow);
		return counted;
	}
	/* CGI opens the ledger only now: a request without the key never
	 * touches state_dir (issue 9, L6; an open /metrics reads it) */
	if (w->app->ledger == NULL && open_state(w->app) != 0) {
		px_reply_error(io, &w->err, PX_ESTORE, NULL, NULL, NULL);
		return counted;
	}
	switch ((enum route)r) {
	case ROUTE_CHAT:
	case ROUTE_RESPONSES:
	case ROUTE_MESSAGES:  px_chat_handle(w, io, lg); break;
	case ROUTE_COUNT:     px_count_handle(w, io, lg); break;
	case ROUTE_EMBED:     px_embed_handle(w, io, lg); break;
	case ROUTE_MODELS:    px_models_handle(w, io, NULL, lg); break;
	case ROUTE_MODEL:     px_models_handle(w, io, arg, lg); break;
	case ROUTE_USAGE:     usage_handle(w, io); break;
	case ROUTE_METRICS:   metrics_handle(w, io); break;
	case ROUTE__MAX:      break;
	}
	return counted;
}

/* The provider a log line names, as a stats index (0: none). */
static int
st_prov(const char *name)
{
	int p;

	for (p = 0; name != NULL && p < PX_PROV__MAX; p++)
		if (strcmp(name, px_provider_name((enum px_provider_id)p)) == 0)
			return px_st_prov(p);
	return 0;
}

/* One request of a key holder into this process's counters. */
static void
count(int r, const struct px_reqlog *lg, long long total_us)
{
	int p = st_prov(lg->provider);
	long long up = lg->upstream_us > 0 ? lg->upstream_us : 0;

	px_stats_add(px_st_req(st_route[r], p, lg->status), 1);
	if (lg->attempts > 0)
		px_stats_observe(px_st_up(p), px_st_up_le_us,
		    PX_ST_UP_BUCKETS, (uint64_t)up);
	px_stats_observe(px_st_oh(), px_st_oh_le_us, PX_ST_OH_BUCKETS,
	    (uint64_t)(total_us > up ? total_us - up : 0));
}

void
px_app_handle(struct px_worker *w, struct px_io *io)
{
	struct px_reqlog lg;
	char path[2048], *arg;
	long long t0 = px_mono_us(), total_us;
	int r, counted = 0;

	snprintf(w->reqid, sizeof(w->reqid), "%lx-%lx", px_log_pid(),
	    (unsigned long)atomic_fetch_add(&w->app->seq, 1) + 1);
	memset(&lg, 0, sizeof(lg));
	lg.id = w->reqid;
	lg.method = px_io_param(io, "REQUEST_METHOD");
	lg.upstream_ms = -1;
	request_path(io, path, sizeof(path));
	lg.route = path;
	io->reqid = w->reqid;
	r = match_route(path, &arg);
	if (r >= 0)
		io->dialect = px_dialect_get(routes[r].dialect);
	if (r < 0 && px_page_handle(io, lg.method, path))
		;	/* the usage page: {prefix}/, /usage, /usage.js, .css */
	else if (r < 0 && lg.method != NULL && strcmp(lg.method, "HEAD") == 0)
		(void)px_reply_head(io, 200, "text/plain", NULL);
	else if (r < 0)
		px_reply_error(io, &w->err, PX_ENOROUTE, NULL, NULL, NULL);
	else
		counted = dispatch(w, io, r, arg, &lg);
	if (io->status == 0)	/* a handler that wrote nothing is a bug */
		px_reply_error(io, &w->err, PX_EINTERNAL, NULL, NULL, NULL);
	px_io_flush(io);
	lg.status = io->status;
	lg.bytes_out = io->bytes_out;
	total_us = px_mono_us() - t0;
	lg.total_ms = (long)(total_us / 1000);
	lg.overhead_us = total_us - (lg.upstream_us > 0 ? lg.upstream_us : 0);
	lg.client = w->client != NULL ? w->client->name : NULL;
	if (io->gone && lg.note == NULL)
		lg.note = "client_gone";
	px_log_request(&lg);
	if (counted)
		count(r, &lg, total_us);
	w->client = NULL;
}
