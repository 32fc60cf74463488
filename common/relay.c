/*
 * relay.c -- one upstream exchange and its reply (see relay.h).
 * Load: one thread per request for its whole life, except that a stream's
 * upstream exchange runs on the responder's stream loop (upstream.h): its
 * callbacks (on_data, on_idle, on_ready) then run on the loop's thread
 * while the request's thread sleeps, so they never block on the client:
 * an event for a client that is not reading pauses the transfer instead
 * (px_io_backlogged). No allocation per event on the pass-through path
 * (buffers live in struct px_worker).
 */
#include "relay.h"

#include <ctype.h>
#include <cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dialect.h"
#include "ledger.h"
#include "reply.h"

#define ERR_BODY_MAX (256u << 10)	/* upstream error bodies kept */
/* A stream ended because the web server stopped taking its events
 * (fcgi_io.h, guard): the loop relaying every stream cannot wait. */
#define SLOW_MSG "the client did not read the stream as fast as it came, " \
	"so the proxy ended it"

/* --- stream relay ----------------------------------------------------- */

static int
write_error_event(struct px_relay *rl, const char *msg, const char *type,
    const char *code)
{
	struct px_buf *e = &rl->w->err;

	px_buf_reset(e);
	if (px_err_json(e, msg, type, NULL, code) != PX_OK)
		return -1;
	rl->failed = 1;
	return px_reply_sse_data(rl->io, e->p, e->len) == PX_OK ? 0 : -1;
}

static int
start_stream(struct px_relay *rl)
{
	if (rl->head_sent)
		return 0;
	rl->head_sent = 1;
	return px_reply_sse_head(rl->io, rl->extra) == PX_OK ? 0 : -1;
}

/* Keep an in-band upstream error (OpenAI JSON, redacted) for the reply. */
static void
keep_error(struct px_relay *rl, const char *json, size_t len)
{
	struct px_buf *u = &rl->w->uerr;

	rl->inband = 1;
	px_buf_reset(u);
	if (px_buf_add(u, json, len) != PX_OK)
		px_buf_reset(u);
}

/* Write what the dialect engine produced; the first bytes commit. */
static int
emit(struct px_relay *rl)
{
	struct px_buf *ev = &rl->w->ev;
	enum px_err rc = PX_OK;

	if (ev->len == 0)
		return 0;
	if (start_stream(rl) != 0)
		return -1;
	rc = px_reply_sse_raw(rl->io, ev->p, ev->len);
	px_buf_reset(ev);
	return rc == PX_OK ? 0 : -1;
}

/* One canonical chunk of a translated stream. */
static int
on_translated(struct px_relay *rl, const char *data, size_t len)
{
	struct px_buf *out = &rl->w->out;
	enum px_err rc;

	int many = 0;	/* a REWRITE may hold several chunks, one a line */

	px_buf_reset(out);
	switch (rl->prov->map_event(&rl->fix, data, len, out)) {
	case PX_EV_REWRITE:
		data = out->p;
		len = out->len;
		many = 1;
		break;
	case PX_EV_DROP:
		return 0;
	case PX_EV_ERROR:
		keep_error(rl, out->p, out->len);
		return 1;	/* stop reading; finish decides */
	case PX_EV_PASS:
		break;	/* the upstream's own data: one chunk, any newlines */
	}
	for (rc = PX_OK; rc == PX_OK && len > 0; ) {
		const char *nl = many ? memchr(data, '\n', len) : NULL;
		size_t n = nl != NULL ? (size_t)(nl - data) : len;

		rc = px_dialect_chunk(rl->ds, data, n, &rl->w->scratch,
		    &rl->w->ev);
		if (rc == PX_EUPSTREAM)	/* not JSON: nothing to relay */
			rc = PX_OK;
		data += n + (nl != NULL);
		len -= n + (nl != NULL);
	}
	if (rc == PX_ETOOBIG || rc == PX_ENOMEM) {
		rl->too_big = 1;
		return 1;
	}
	return emit(rl) == 0 ? 0 : 1;
}

/* A REWRITE holds one or more chunks, one per line: an event each. */
static enum px_err
write_chunks(struct px_io *io, const char *p, size_t len)
{
	enum px_err rc = PX_OK;

	while (rc == PX_OK && len > 0) {
		const char *nl = memchr(p, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - p) : len;

		if (n > 0)
			rc = px_reply_sse_data(io, p, n);
		p += n + (nl != NULL);
		len -= n + (nl != NULL);
	}
	return rc;
}

static int
on_event(void *ctx, const char *data, size_t len)
{
	struct px_relay *rl = ctx;
	struct px_buf *out = &rl->w->out;
	enum px_err rc = PX_OK;

	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		rl->saw_done = 1;
		return 0;
	}
	if (rl->ds != NULL)
		return on_translated(rl, data, len);
	px_buf_reset(out);
	switch (rl->prov->map_event(&rl->fix, data, len, out)) {
	case PX_EV_PASS:
		rc = px_reply_sse_data(rl->io, data, len);
		break;
	case PX_EV_REWRITE:
		rc = write_chunks(rl->io, out->p, out->len);
		break;
	case PX_EV_DROP:
		break;
	case PX_EV_ERROR:
		rl->failed = 1;
		(void)px_reply_sse_data(rl->io, out->p, out->len);
		return 1;	/* stop reading the upstream */
	}
	return rc == PX_OK ? 0 : 1;
}

static int
on_comment(void *ctx, const char *text, size_t len)
{
	struct px_relay *rl = ctx;

	/* an upstream's comment is no part of a dialect's stream (and before
	 * the commit point nothing may be written at all) */
	if (rl->ds != NULL)
		return 0;

	return px_reply_sse_comment(rl->io, text, len) == PX_OK ? 0 : 1;
}

/*
 * A request in flight keeps its max_concurrent leases alive, renewing
 * them every quarter of lease_ttl_s (ledger.h); a responder that dies
 * stops renewing, and its leases expire. A failed renewal (Redis away)
 * is not fatal here: the lease then lapses after lease_ttl_s, which the
 * README states.
 */
static void
renew_lease(struct px_relay *rl)
{
	long now;

	if (rl->lease == NULL || rl->lease->id == 0)
		return;
	now = px_mono_ms();
	if (now - rl->renewed_ms < rl->w->app->cfg->lease_ttl_s * 250)
		return;
	rl->renewed_ms = now;
	(void)px_ledger_renew(rl->w->app->ledger, rl->w->ls, rl->lease,
	    px_ledger_now_ms());
}

static int
on_data(void *ctx, long status, const char *p, size_t n)
{
	struct px_relay *rl = ctx;
	struct px_worker *w = rl->w;
	enum px_err rc;

	renew_lease(rl);
	if (rl->io->guard && rl->head_sent && px_io_backlogged(rl->io, 0))
		return PX_HTTP_PAUSE;	/* the loop's thread must not block */
	if (!rl->stream || status < 200 || status > 299) {
		struct px_buf *b = &w->resp;

		if ((status < 200 || status > 299) && b->len + n > ERR_BODY_MAX)
			return 0;	/* keep the head of an error body */
		if (b->len + n > w->app->cfg->max_response_bytes) {
			rl->too_big = 1;	/* memory per request is bounded */
			return 1;
		}
		return px_buf_add(b, p, n) == PX_OK ? 0 : 1;
	}
	if (rl->ds == NULL && start_stream(rl) != 0)
		return 1;
	rc = px_sse_feed(&w->sse, p, n);
	if (rc == PX_ETOOBIG && rl->ds != NULL) {
		static const char e[] = "{\"error\":{\"message\":\"upstream "
		    "sent an SSE line above the size limit\",\"type\":"
		    "\"server_error\",\"param\":null,\"code\":"
		    "\"upstream_error\"}}";

		keep_error(rl, e, sizeof(e) - 1);
		return 1;
	}
	if (rc == PX_ETOOBIG) {
		(void)write_error_event(rl, "upstream sent an SSE line above "
		    "the size limit", "server_error", "upstream_error");
		return 1;
	}
	if (rc != PX_OK)
		return 1;
	if (!rl->head_sent)
		return 0;	/* a translated stream not yet committed */
	return px_io_flush(rl->io) == 0 ? 0 : 1;
}

/*
 * A stream paused because its client does not read (on_data): go on once
 * the web server took the backlog; give up after idle_timeout_ms without
 * that, the bound we also keep on a silent upstream.
 */
static int
on_ready(void *ctx, long paused_ms)
{
	struct px_relay *rl = ctx;

	renew_lease(rl);
	if (!px_io_backlogged(rl->io, 1))
		return 1;
	if (paused_ms >= rl->w->app->cfg->idle_timeout_ms) {	/* >= 100 */
		rl->io->slow = 1;
		return -1;
	}
	return 0;
}

static int
on_idle(void *ctx, long idle_ms, int got_bytes)
{
	struct px_relay *rl = ctx;

	(void)got_bytes;
	renew_lease(rl);
	if (!rl->stream || rl->ka_interval <= 0)
		return 0;
	if (idle_ms < rl->ka_last)
		rl->ka_last = 0;	/* bytes arrived since: a new silence */
	if (idle_ms - rl->ka_last < rl->ka_interval)
		return 0;
	if (rl->io->guard && px_io_backlogged(rl->io, 1))
		return 0;	/* not reading anyway; the loop must not wait */
	rl->ka_last = idle_ms;
	if (start_stream(rl) != 0 ||
	    px_reply_sse_comment(rl->io, " keep-alive", 11) != PX_OK ||
	    px_io_flush(rl->io) != 0)
		return 1;	/* the client left during the silence */
	return 0;
}

/* --- ending a response ------------------------------------------------- */

static enum px_err
outcome_err(const struct px_http_result *res, const char **msg)
{
	switch (res->outcome) {
	case PX_HTTP_CONNECT:
		*msg = "upstream unreachable";
		return PX_EUPSTREAM;
	case PX_HTTP_TIMEOUT_CONNECT:
		*msg = "upstream connect timed out";
		return PX_ETIMEOUT;
	case PX_HTTP_TIMEOUT_FIRST_BYTE:
		*msg = "upstream sent no response in time";
		return PX_ETIMEOUT;
	case PX_HTTP_TIMEOUT_IDLE:
	case PX_HTTP_TIMEOUT_TOTAL:
		*msg = "upstream went silent";
		return PX_ETIMEOUT;
	case PX_HTTP_ABORTED:
		*msg = "upstream response too large";
		return PX_EUPSTREAM;
	case PX_HTTP_BROKEN:
		*msg = "upstream connection broke";
		return PX_EUPSTREAM;
	case PX_HTTP_DONE:
	case PX_HTTP_OTHER:
		break;
	}
	*msg = "upstream request failed";
	return PX_EUPSTREAM;
}

/* Extra headers for an upstream error: pass a Retry-After hint on. */
static void
error_headers(const struct px_relay *rl, const struct px_http_result *res,
    char *dst, size_t cap)
{
	int ok = res->retry_after[0] != '\0';
	const char *s;

	for (s = res->retry_after; ok && *s; s++)
		ok = isalnum((unsigned char)*s) || strchr(" ,:-", *s);
	snprintf(dst, cap, "%s%s%s%s", rl->extra, ok ? "Retry-After: " : "",
	    ok ? res->retry_after : "", ok ? "\r\n" : "");
}

/*
 * With stream_options.include_usage the client expects usage on a last
 * chunk with "choices":[] (provider-apis.md §1.3). Gemini puts it on the
 * last content chunk instead: add the OpenAI-shaped chunk ourselves.
 */
static void
usage_chunk(struct px_relay *rl)
{
	struct px_buf *b = &rl->w->out;
	const struct px_stream_fix *f = &rl->fix;

	if (!rl->include_usage || !f->have_usage || f->usage_alone)
		return;
	px_buf_reset(b);
	px_buf_printf(b, "{\"id\":\"chatcmpl-%s\",\"object\":"
	    "\"chat.completion.chunk\",\"created\":%lld,\"model\":\"",
	    rl->w->reqid, (long long)time(NULL));
	px_buf_add_json_str(b, rl->model, strlen(rl->model));
	if (px_buf_printf(b, "\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
	    "%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld}}",
	    f->prompt_tokens, f->completion_tokens, f->total_tokens) == PX_OK)
		(void)px_reply_sse_data(rl->io, b->p, b->len);
}

static void
finish_stream(struct px_relay *rl, const struct px_http_result *res)
{
	struct px_worker *w = rl->w;
	const char *msg;

	if (rl->io->gone)
		return;
	if (!rl->failed && rl->io->slow) {
		(void)write_error_event(rl, SLOW_MSG, "server_error",
		    "client_too_slow");
	} else if (!rl->failed && (res->status < 200 ||
	    res->status > 299)) {
		rl->prov->map_error((int)res->status, w->resp.p, w->resp.len,
		    rl->secrets, &w->out);
		rl->failed = 1;
		(void)px_reply_sse_data(rl->io, w->out.p, w->out.len);
	} else if (!rl->failed && res->outcome != PX_HTTP_DONE) {
		(void)outcome_err(res, &msg);
		(void)write_error_event(rl, msg, "server_error",
		    "upstream_error");
	} else if (!rl->failed && !rl->saw_done && !rl->fix.saw_finish) {
		(void)write_error_event(rl, "upstream stream ended before "
		    "completion", "server_error", "upstream_error");
	} else if (!rl->failed) {
		usage_chunk(rl);
	}
	(void)px_reply_sse_data(rl->io, "[DONE]", 6);
	(void)px_io_flush(rl->io);
}

/* An embeddings reply: usage noted, translated when the upstream's is
 * not OpenAI's own shape. */
static void
finish_embed(struct px_relay *rl)
{
	struct px_worker *w = rl->w;

	(void)rl->prov->map_body(&rl->fix, w->resp.p, w->resp.len, &w->out);
	if (rl->prov->embed_reply == NULL) {
		px_reply_json(rl->io, 200, rl->extra, w->resp.p, w->resp.len);
		return;
	}
	if (rl->prov->embed_reply(w->resp.p, w->resp.len, rl->model,
	    rl->encoding, &w->out) == PX_OK)
		px_reply_json(rl->io, 200, rl->extra, w->out.p, w->out.len);
	else
		px_reply_error(rl->io, &w->err, PX_EUPSTREAM, "the upstream's "
		    "embeddings reply could not be read", NULL, rl->extra);
}

/* A complete 2xx non-stream body: relay it, repaired where needed. */
static void
finish_body(struct px_relay *rl)
{
	struct px_worker *w = rl->w;

	if (rl->embed) {
		finish_embed(rl);
		return;
	}
	switch (rl->prov->map_body(&rl->fix, w->resp.p, w->resp.len, &w->out)) {
	case PX_EV_REWRITE:
		px_reply_json(rl->io, 200, rl->extra, w->out.p, w->out.len);
		break;
	case PX_EV_ERROR:	/* an error dressed as a 200 */
		px_reply_json(rl->io, 502, rl->extra, w->out.p, w->out.len);
		break;
	case PX_EV_PASS:
	case PX_EV_DROP:
		px_reply_json(rl->io, 200, rl->extra, w->resp.p, w->resp.len);
		break;
	}
}

static void
finish_plain(struct px_relay *rl, const struct px_http_result *res)
{
	struct px_worker *w = rl->w;
	struct px_io *io = rl->io;
	char hdrs[512];
	const char *msg;
	enum px_err e;

	if (rl->too_big) {
		char m[160];

		snprintf(m, sizeof(m), "the upstream response exceeds %zu "
		    "bytes (max_response_bytes)", w->app->cfg->max_response_bytes);
		px_reply_error(io, &w->err, PX_EUPSTREAM, m, NULL, rl->extra);
	} else if (res->outcome != PX_HTTP_DONE) {
		e = outcome_err(res, &msg);
		px_reply_error(io, &w->err, e, msg, NULL, rl->extra);
	} else if (res->status < 200 || res->status > 299) {
		rl->prov->map_error((int)res->status, w->resp.p, w->resp.len,
		    rl->secrets, &w->out);
		error_headers(rl, res, hdrs, sizeof(hdrs));
		px_reply_upstream_error(io, &w->err, (int)res->status, w->out.p,
		    w->out.len, hdrs);
	} else if (rl->inband) {	/* translated: an error dressed as a 2xx */
		px_reply_upstream_error(io, &w->err, 502, w->uerr.p, w->uerr.len,
		    rl->extra);
	} else if (rl->ds != NULL && !rl->stream) {
		px_reply_json(io, 200, rl->extra, w->ev.p, w->ev.len);
	} else if (rl->stream || w->resp.len == 0) {
		px_reply_error(io, &w->err, PX_EUPSTREAM,
		    "upstream sent an empty response", NULL, rl->extra);
	} else {
		finish_body(rl);
	}
}

/* --- translated dialects -------------------------------------------------- */

/* The message of an in-band error, and whether it says "overloaded". */
static const char *
inband_message(const struct px_buf *u, char *dst, size_t cap, int *busy)
{
	cJSON *root = cJSON_ParseWithLength(u->p, u->len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "type");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");

	snprintf(dst, cap, "%s", cJSON_IsString(m) ? m->valuestring :
	    "the upstream reported an error");
	*busy = (cJSON_IsString(t) && (strstr(t->valuestring, "rate_limit") ||
	    strstr(t->valuestring, "overloaded"))) ||
	    (cJSON_IsString(c) && (strstr(c->valuestring, "rate_limit") ||
	    strstr(c->valuestring, "overloaded")));
	cJSON_Delete(root);
	return dst;
}

/* A committed translated stream: its terminal events, or its failure. */
static void
end_translated(struct px_relay *rl, const struct px_http_result *res)
{
	struct px_worker *w = rl->w;
	char m[512];
	const char *msg = NULL;
	int busy = 0;

	if (rl->io->slow)
		msg = SLOW_MSG;
	else if (rl->inband)
		msg = inband_message(&w->uerr, m, sizeof(m), &busy);
	else if (rl->too_big)
		msg = "the upstream response passed the size limit";
	else if (res->outcome != PX_HTTP_DONE)
		(void)outcome_err(res, &msg);
	else if (!rl->saw_done && !rl->fix.saw_finish &&
	    rl->ds->finish[0] == '\0')
		msg = "upstream stream ended before completion";
	if (msg != NULL)
		(void)px_dialect_fail(rl->ds, msg, busy, &w->ev);
	else
		(void)px_dialect_end(rl->ds, &w->ev);
	if (emit(rl) == 0)
		(void)px_io_flush(rl->io);
}

/* Once the exchange is over: what a translated attempt amounted to. A
 * non-stream body is translated now, so an empty answer can still be
 * retried on another key before anything is sent. */
static void
settle_translated(struct px_relay *rl, const struct px_http_result *res)
{
	struct px_worker *w = rl->w;
	const char *body = w->resp.p;
	size_t len = w->resp.len;

	if (res->outcome != PX_HTTP_DONE || res->status < 200 ||
	    res->status > 299 || rl->too_big || rl->inband)
		return;
	if (rl->stream) {
		rl->empty = !rl->head_sent && !rl->ds->meaningful;
		return;
	}
	switch (rl->prov->map_body(&rl->fix, w->resp.p, w->resp.len, &w->out)) {
	case PX_EV_ERROR:
		keep_error(rl, w->out.p, w->out.len);
		return;
	case PX_EV_REWRITE:
		body = w->out.p;
		len = w->out.len;
		break;
	case PX_EV_PASS:
	case PX_EV_DROP:
		break;
	}
	if (px_dialect_body(rl->ds, body, len, &w->ev) != PX_OK) {
		static const char e[] = "{\"error\":{\"message\":\"upstream "
		    "sent something that is not a chat completion\",\"type\":"
		    "\"server_error\",\"param\":null,\"code\":"
		    "\"upstream_error\"}}";

		keep_error(rl, e, sizeof(e) - 1);
		return;
	}
	rl->empty = !rl->ds->meaningful;
}

void
px_relay_attempt(struct px_relay *rl, const struct px_lease *lease,
    const char *body, size_t len, struct px_http_result *res)
{
	struct px_worker *w = rl->w;
	const struct px_config *cfg = w->app->cfg;
	struct px_http_req hr;
	char url[1200];

	char auth[600];
	const char *hdrs[2] = { auth, NULL };

	if (rl->prov->url(lease->group->base_url, rl->embed ? PX_OP_EMBED :
	    rl->stream ? PX_OP_STREAM : PX_OP_CHAT, lease->model, url,
	    sizeof(url)) != PX_OK) {
		memset(res, 0, sizeof(*res));
		res->outcome = PX_HTTP_OTHER;
		return;
	}
	rl->prov->auth(lease->key->secret, auth, sizeof(auth));
	memset(&hr, 0, sizeof(hr));
	hr.url = url;
	hr.headers = hdrs;
	hr.body = body;
	hr.body_len = len;
	hr.connect_timeout_ms = cfg->connect_timeout_ms;
	hr.first_byte_timeout_ms = cfg->first_byte_timeout_ms;
	hr.idle_timeout_ms = cfg->idle_timeout_ms;
	hr.on_data = on_data;
	hr.on_idle = on_idle;
	hr.ctx = rl;
	rl->lease = lease;
	rl->renewed_ms = px_mono_ms();
	px_buf_reset(&w->resp);
	px_sse_reset(&w->sse);
	w->sse.on_event = on_event;
	w->sse.on_comment = on_comment;
	w->sse.ctx = rl;
	px_buf_reset(&w->ev);
	/* a stream's upstream side runs on the responder's loop, whose
	 * thread must never wait on one client: its flushes are guarded */
	hr.loop = rl->stream ? w->app->loop : NULL;
	hr.on_ready = hr.loop != NULL ? on_ready : NULL;
	hr.wait_fd = rl->io->fd;
	rl->io->guard = hr.loop != NULL;
	px_http_perform(w->http, &hr, res);
	rl->io->guard = 0;	/* the ending is written on our own thread */
	if (rl->ds != NULL)
		settle_translated(rl, res);
}

static int
on_probe_data(void *ctx, long status, const char *p, size_t n)
{
	struct px_buf *b = ctx;

	(void)status;
	if (b->len + n > b->max)
		return 0;	/* the head tells; the rest is dropped */
	return px_buf_add(b, p, n) == PX_OK ? 0 : 1;
}

void
px_relay_probe(struct px_worker *w, const struct px_lease *lease,
    struct px_http_result *res)
{
	const struct px_provider *prov = px_adapter(lease->group);
	struct px_http_req hr;
	char url[1200], auth[600];
	const char *hdrs[2] = { auth, NULL };

	snprintf(url, sizeof(url), "%s%s", lease->group->base_url,
	    prov->probe_path);
	prov->auth(lease->key->secret, auth, sizeof(auth));
	memset(&hr, 0, sizeof(hr));
	hr.url = url;
	hr.headers = hdrs;
	hr.connect_timeout_ms = w->app->cfg->connect_timeout_ms;
	hr.first_byte_timeout_ms = PX_PROBE_MS;
	hr.idle_timeout_ms = PX_PROBE_MS;
	hr.total_timeout_ms = PX_PROBE_MS;
	hr.on_data = on_probe_data;
	hr.ctx = &w->probe;
	px_buf_reset(&w->probe);
	px_http_perform(w->http, &hr, res);
}

void
px_relay_finish(struct px_relay *rl, const struct px_http_result *res)
{
	int ok = res->outcome == PX_HTTP_DONE && res->status >= 200 &&
	    res->status <= 299 && !rl->inband && !rl->too_big;

	if (rl->ds != NULL && rl->stream && (rl->head_sent || ok)) {
		if (!rl->io->gone)
			end_translated(rl, res);	/* an empty one commits */
	} else if (rl->stream && rl->head_sent && rl->ds == NULL) {
		finish_stream(rl, res);
	} else {
		finish_plain(rl, res);
	}
}
