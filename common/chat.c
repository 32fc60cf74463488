/*
 * chat.c -- POST /v1/chat/completions: the relay engine.
 * Owns: reading and validating the body, routing, key choice, the upstream
 * request (client bytes preserved; only "model" spliced when it changes),
 * relaying a stream event by event with a flush after every upstream chunk,
 * and turning every way a response can end into a well-formed reply: an
 * OpenAI error before the first byte, or an error event + [DONE] after it.
 * Never: buffers a stream beyond one event, retries after the first byte,
 * or lets a provider key reach a reply or a log line.
 * Load: one thread per request for its whole life; no allocation per event
 * on the pass-through path (buffers live in struct px_worker).
 */
#include "worker.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonraw.h"
#include "ledger.h"
#include "provider.h"
#include "reply.h"
#include "router.h"
#include "upstream.h"
#include "validate.h"

#define READ_CHUNK (64u << 10)
#define ERR_BODY_MAX (256u << 10)	/* upstream error bodies kept */

struct relay {
	struct px_worker *w;
	struct px_io     *io;
	const struct px_provider *prov;
	const char *secret;		/* the key in use: for redaction */
	const char *extra;		/* extra response headers */
	const char *model;		/* the model that serves */
	int   include_usage;		/* the client asked for a usage chunk */
	struct px_stream_fix fix;
	int   stream;			/* the client asked for SSE */
	int   head_sent;		/* the client has our status line */
	int   saw_done;			/* upstream sent [DONE] */
	int   failed;			/* an error event was written */
	long  ka_interval, ka_last;	/* keep-alive comments while silent */
};

/* --- request body ------------------------------------------------------- */

static enum px_err
read_body(struct px_worker *w, struct px_io *io, char *detail, size_t cap)
{
	const char *cl = px_io_param(io, "CONTENT_LENGTH");
	struct px_buf *b = &w->body;
	size_t max = b->max;
	char *end;
	long n;

	px_buf_reset(b);
	if (cl != NULL && *cl != '\0') {
		unsigned long long v = strtoull(cl, &end, 10);

		if (*end != '\0' || *cl == '-') {
			snprintf(detail, cap, "invalid Content-Length");
			return PX_EBADREQ;
		}
		if (v > max) {
			snprintf(detail, cap, "request body is %llu bytes; the "
			    "limit is %zu (max_body_bytes)", v, max);
			return PX_ETOOBIG;
		}
	}
	for (;;) {
		if (px_buf_reserve(b, READ_CHUNK < max - b->len + 1 ?
		    READ_CHUNK : max - b->len) != PX_OK || b->len == max) {
			/* one byte past the limit tells "too big" from "full" */
			char probe;

			if (px_io_read(io, &probe, 1) <= 0)
				break;
			snprintf(detail, cap, "request body exceeds %zu bytes "
			    "(max_body_bytes)", max);
			return PX_ETOOBIG;
		}
		n = px_io_read(io, b->p + b->len, b->cap - b->len - 1);
		if (n < 0) {
			snprintf(detail, cap, "error reading the request body");
			return PX_EBADREQ;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->p[b->len] = '\0';
	}
	if (b->len == 0) {
		snprintf(detail, cap, "request body is empty");
		return PX_EBADREQ;
	}
	return PX_OK;
}

/* --- stream relay ----------------------------------------------------- */

static int
write_error_event(struct relay *rl, const char *msg, const char *type,
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
on_event(void *ctx, const char *data, size_t len)
{
	struct relay *rl = ctx;
	struct px_buf *out = &rl->w->out;
	enum px_err rc = PX_OK;

	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		rl->saw_done = 1;
		return 0;
	}
	px_buf_reset(out);
	switch (rl->prov->map_event(&rl->fix, data, len, out)) {
	case PX_EV_PASS:
		rc = px_reply_sse_data(rl->io, data, len);
		break;
	case PX_EV_REWRITE:
		rc = px_reply_sse_data(rl->io, out->p, out->len);
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
	struct relay *rl = ctx;

	return px_reply_sse_comment(rl->io, text, len) == PX_OK ? 0 : 1;
}

static int
start_stream(struct relay *rl)
{
	if (rl->head_sent)
		return 0;
	rl->head_sent = 1;
	return px_reply_sse_head(rl->io, rl->extra) == PX_OK ? 0 : -1;
}

static int
on_data(void *ctx, long status, const char *p, size_t n)
{
	struct relay *rl = ctx;
	struct px_worker *w = rl->w;
	enum px_err rc;

	if (!rl->stream || status < 200 || status > 299) {
		struct px_buf *b = &w->resp;

		if (status > 299 && b->len + n > ERR_BODY_MAX)
			return 0;	/* keep the head of an error body */
		return px_buf_add(b, p, n) == PX_OK ? 0 : 1;
	}
	if (start_stream(rl) != 0)
		return 1;
	rc = px_sse_feed(&w->sse, p, n);
	if (rc == PX_ETOOBIG) {
		(void)write_error_event(rl, "upstream sent an SSE line above "
		    "the size limit", "server_error", "upstream_error");
		return 1;
	}
	if (rc != PX_OK)
		return 1;
	return px_io_flush(rl->io) == 0 ? 0 : 1;
}

static int
on_idle(void *ctx, long idle_ms, int got_bytes)
{
	struct relay *rl = ctx;

	(void)got_bytes;
	if (!rl->stream || rl->ka_interval <= 0)
		return 0;
	if (idle_ms < rl->ka_last)
		rl->ka_last = 0;	/* bytes arrived since: a new silence */
	if (idle_ms - rl->ka_last < rl->ka_interval)
		return 0;
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
error_headers(const struct relay *rl, const struct px_http_result *res,
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
usage_chunk(struct relay *rl)
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
finish_stream(struct relay *rl, const struct px_http_result *res)
{
	struct px_worker *w = rl->w;
	const char *msg;

	if (rl->io->gone)
		return;
	if (!rl->failed && (res->status < 200 || res->status > 299)) {
		rl->prov->map_error((int)res->status, w->resp.p, w->resp.len,
		    rl->secret, &w->out);
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

/* A complete 2xx non-stream body: relay it, repaired where needed. */
static void
finish_body(struct relay *rl)
{
	struct px_worker *w = rl->w;

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
finish_plain(struct relay *rl, const struct px_http_result *res)
{
	struct px_worker *w = rl->w;
	struct px_io *io = rl->io;
	char hdrs[512];
	const char *msg;
	enum px_err e;

	if (res->outcome != PX_HTTP_DONE) {
		e = outcome_err(res, &msg);
		px_reply_error(io, &w->err, e, msg, NULL, rl->extra);
	} else if (res->status < 200 || res->status > 299) {
		rl->prov->map_error((int)res->status, w->resp.p, w->resp.len,
		    rl->secret, &w->out);
		error_headers(rl, res, hdrs, sizeof(hdrs));
		px_reply_json(io, (int)res->status, hdrs, w->out.p, w->out.len);
	} else if (rl->stream || w->resp.len == 0) {
		px_reply_error(io, &w->err, PX_EUPSTREAM,
		    "upstream sent an empty response", NULL, rl->extra);
	} else {
		finish_body(rl);
	}
}

/* --- the request ------------------------------------------------------ */

/* Headers every chat reply carries; the model only when it is safe text. */
static void
chat_headers(const struct px_worker *w, const char *served, char *dst,
    size_t cap)
{
	const char *s;
	int safe = strlen(served) < 200;

	for (s = served; safe && *s; s++)
		safe = (unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f;
	snprintf(dst, cap, "X-Request-Id: %s\r\n%s%s%s", w->reqid,
	    safe ? "X-AIProxy-Model: " : "", safe ? served : "",
	    safe ? "\r\n" : "");
}

/* Quote s as a JSON string into b (reset first). */
static enum px_err
json_quoted(struct px_buf *b, const char *s)
{
	enum px_err rc;

	px_buf_reset(b);
	rc = px_buf_addc(b, '"');
	if (rc == PX_OK)
		rc = px_buf_add_json_str(b, s, strlen(s));
	if (rc == PX_OK)
		rc = px_buf_addc(b, '"');
	return rc;
}

/*
 * stream_options for the upstream: the client's object with include_usage
 * set to true (the ledger needs the real token count), written into v.
 */
static enum px_err
stream_options(const struct px_chat_req *rq, struct px_buf *v)
{
	cJSON *so = cJSON_GetObjectItemCaseSensitive(rq->root,
	    "stream_options");
	cJSON *copy;
	char *text;
	enum px_err rc;

	px_buf_reset(v);
	if (!cJSON_IsObject(so))
		return px_buf_adds(v, "{\"include_usage\":true}");
	copy = cJSON_Duplicate(so, 1);
	if (copy == NULL)
		return PX_ENOMEM;
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "include_usage");
	if (cJSON_AddTrueToObject(copy, "include_usage") == NULL) {
		cJSON_Delete(copy);
		return PX_ENOMEM;
	}
	text = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	if (text == NULL)
		return PX_ENOMEM;
	rc = px_buf_adds(v, text);
	cJSON_free(text);
	return rc;
}

/*
 * The upstream body: the client's bytes, with "model" replaced when it
 * changed (auto-model) and, for streams, include_usage switched on. Every
 * other byte is the client's. The result is in w->up, or is the client's
 * buffer itself when nothing changes.
 */
static enum px_err
upstream_body(struct px_worker *w, const struct px_chat_req *rq,
    const char *served, const char **body, size_t *len)
{
	int edit_model = strcmp(served, rq->model) != 0;
	int edit_usage = rq->stream && !rq->include_usage;
	struct px_buf *mid = edit_usage ? &w->resp : &w->up;
	enum px_err rc = PX_OK;

	*body = w->body.p;
	*len = w->body.len;
	if (edit_model) {
		rc = json_quoted(&w->out, served);
		if (rc == PX_OK)
			rc = px_json_set(mid, *body, *len, "model", w->out.p);
		*body = mid->p;
		*len = mid->len;
	}
	if (rc == PX_OK && edit_usage) {
		rc = stream_options(rq, &w->out);
		if (rc == PX_OK)
			rc = px_json_set(&w->up, *body, *len, "stream_options",
			    w->out.p);
		*body = w->up.p;
		*len = w->up.len;
	}
	return rc;
}

/* How the ledger should settle the lease after the exchange. */
static void
settle(struct px_worker *w, const struct relay *rl,
    const struct px_lease *lease, const struct px_http_result *res)
{
	enum px_settle how = PX_SETTLE_DONE;
	long tokens = rl->fix.have_usage ? rl->fix.total_tokens : -1;
	int failed = rl->failed;

	if (res->outcome == PX_HTTP_CONNECT ||
	    res->outcome == PX_HTTP_TIMEOUT_CONNECT ||
	    (res->outcome == PX_HTTP_DONE &&
	    (res->status < 200 || res->status > 299))) {
		how = PX_SETTLE_RELEASE_TOKENS;	/* nothing was generated */
		failed = 1;
	} else if (res->outcome != PX_HTTP_DONE && !rl->io->gone) {
		failed = 1;
	}
	if (px_ledger_settle(w->app->ledger, w->ls, lease, how, tokens,
	    failed, px_ledger_now_ms()) != PX_OK)
		px_log(PX_LOG_ERROR, "req=%s ledger settle failed", w->reqid);
}

static void
relay(struct px_worker *w, struct px_io *io, struct relay *rl,
    const struct px_lease *lease, const char *body, size_t len,
    struct px_reqlog *lg)
{
	const struct px_config *cfg = w->app->cfg;
	struct px_http_req hr;
	struct px_http_result res;
	char url[1200];

	snprintf(url, sizeof(url), "%s/chat/completions", lease->group->base_url);
	memset(&hr, 0, sizeof(hr));
	hr.url = url;
	hr.bearer = lease->key->secret;
	hr.body = body;
	hr.body_len = len;
	hr.connect_timeout_ms = cfg->connect_timeout_ms;
	hr.first_byte_timeout_ms = cfg->first_byte_timeout_ms;
	hr.idle_timeout_ms = cfg->idle_timeout_ms;
	hr.on_data = on_data;
	hr.on_idle = on_idle;
	hr.ctx = rl;
	if (body != w->resp.p)
		px_buf_reset(&w->resp);
	px_sse_reset(&w->sse);
	w->sse.on_event = on_event;
	w->sse.on_comment = on_comment;
	w->sse.ctx = rl;
	px_http_perform(w->http, &hr, &res);
	lg->upstream_ms = res.elapsed_ms;
	if (rl->stream && rl->head_sent)
		finish_stream(rl, &res);
	else
		finish_plain(rl, &res);
	settle(w, rl, lease, &res);
	if (res.outcome != PX_HTTP_DONE && !io->gone)
		lg->note = px_http_outcome_name(res.outcome);
	px_buf_shrink(&w->resp, 1u << 20);
	px_buf_shrink(&w->out, 1u << 20);
}

/* 429 with the whole seconds until the earliest slot frees. */
static void
reply_rate_limited(struct px_worker *w, struct px_io *io, int64_t retry_ms)
{
	char hdrs[160], msg[160];
	long long secs = (retry_ms + 999) / 1000;

	snprintf(hdrs, sizeof(hdrs), "Retry-After: %lld\r\n%s", secs,
	    secs > 60 ? "x-should-retry: false\r\n" : "");
	snprintf(msg, sizeof(msg), "every key for this model is at its rate "
	    "limit; retry in %lld s", secs);
	px_reply_error(io, &w->err, PX_ERATE, msg, NULL, hdrs);
}

/* Route and reserve: PX_OK with a lease, or the reply was sent. */
static enum px_err
reserve_or_reply(struct px_worker *w, struct px_io *io,
    const struct px_chat_req *rq, struct px_lease *lease)
{
	char detail[256];
	size_t n;
	int64_t retry_ms;
	enum px_err rc;

	rc = px_router_candidates(w->app->cfg, rq->model, w->cand, w->ncand,
	    &n, detail, sizeof(detail));
	if (rc != PX_OK) {
		px_reply_error(io, &w->err, rc, detail, "model", NULL);
		return rc;
	}
	rc = px_ledger_reserve(w->app->ledger, w->ls, w->cand, n,
	    px_ledger_estimate(rq->prompt_bytes), px_ledger_now_ms(), lease,
	    &retry_ms);
	if (rc == PX_ERATE)
		reply_rate_limited(w, io, retry_ms);
	else if (rc == PX_EBADREQ)
		px_reply_error(io, &w->err, rc, "the request's token estimate "
		    "exceeds every key's max_token_min", "messages", NULL);
	else if (rc != PX_OK)
		px_reply_error(io, &w->err, rc, NULL, NULL, NULL);
	return rc;
}

void
px_chat_handle(struct px_worker *w, struct px_io *io, struct px_reqlog *lg)
{
	const struct px_config *cfg = w->app->cfg;
	struct px_chat_req rq;
	struct px_verr verr;
	struct px_lease lease;
	struct relay rl;
	const char *body;
	char detail[256], extra[320];
	size_t len;
	enum px_err rc;

	memset(&rq, 0, sizeof(rq));
	rc = read_body(w, io, detail, sizeof(detail));
	if (rc != PX_OK) {
		px_reply_error(io, &w->err, rc, detail, NULL, NULL);
		goto out;
	}
	rc = px_validate_chat(w->body.p, w->body.len, &rq, &verr);
	if (rc != PX_OK) {
		px_reply_error(io, &w->err, rc, verr.msg,
		    verr.param[0] ? verr.param : NULL, NULL);
		goto out;
	}
	snprintf(w->model, sizeof(w->model), "%s", rq.model);
	lg->model = w->model;
	if (reserve_or_reply(w, io, &rq, &lease) != PX_OK)
		goto out;
	snprintf(w->model, sizeof(w->model), "%s", lease.model);
	lg->provider = px_provider_name(lease.provider);
	lg->key_id = lease.key->id;
	chat_headers(w, lease.model, extra, sizeof(extra));
	memset(&rl, 0, sizeof(rl));
	px_stream_fix_init(&rl.fix);
	rc = upstream_body(w, &rq, lease.model, &body, &len);
	if (rc != PX_OK) {
		px_reply_error(io, &w->err, rc, NULL, NULL, extra);
		(void)px_ledger_settle(w->app->ledger, w->ls, &lease,
		    PX_SETTLE_RELEASE_ALL, -1, 0, px_ledger_now_ms());
		goto out;
	}
	rl.w = w;
	rl.io = io;
	rl.prov = px_provider_get(lease.provider);
	rl.secret = lease.key->secret;
	rl.extra = extra;
	rl.stream = rq.stream;
	rl.include_usage = rq.include_usage;
	rl.model = w->model;
	rl.ka_interval = cfg->keepalive_interval_ms;
	rl.fix.drop_usage_alone = rq.stream && !rq.include_usage;
	snprintf(rl.fix.id_prefix, sizeof(rl.fix.id_prefix), "%s_", w->reqid);
	relay(w, io, &rl, &lease, body, len, lg);
out:
	px_chat_req_free(&rq);
	px_buf_shrink(&w->body, 1u << 20);
}
