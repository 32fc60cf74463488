/*
 * chat.c -- POST /v1/chat/completions: one request from body to reply.
 * Owns: reading and validating the body, the candidates and the ledger
 * reservation, the upstream body (client bytes preserved; only "model"
 * and, for streams, stream_options.include_usage spliced), the attempts:
 * classifying each failure, settling its lease with the verdict, and
 * retrying on another key while nothing has reached the client.
 * Never: retries after the first byte, or lets a provider key reach a
 * reply or a log line. The exchange itself is relay.c's.
 */
#include "worker.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dialect_messages.h"
#include "embed.h"
#include "jsonraw.h"
#include "ledger.h"
#include "provider.h"
#include "reply.h"
#include "router.h"
#include "relay.h"
#include "retryhint.h"
#include "sigcache.h"
#include "stats.h"
#include "thoughtsig.h"
#include "upstream.h"
#include "validate.h"

#define READ_CHUNK (64u << 10)
#define DRAIN_MAX  (256ull << 20)	/* refused bodies read at most */


/* One request's state across its attempts. */
struct chat {
	struct px_worker *w;
	struct px_io     *io;
	struct px_dstate *ds;		/* translated dialects; NULL for chat */
	enum px_op op;			/* PX_OP_CHAT, or PX_OP_EMBED */
	const char *encoding;		/* embeddings: "float" or "base64" */
	struct px_reqlog *lg;
	struct px_chat_req rq;
	const struct px_key_cfg *tried[16];	/* keys not to use again */
	size_t   ntried;
	unsigned nattempts;		/* upstream attempts so far */
	unsigned nauth;			/* attempts whose key proved unusable */
	char     extra[320];
	char     why[192];		/* attempts and their outcomes, logged */
};

/* --- request body ------------------------------------------------------- */

/*
 * Read and drop what is left of a body we refuse, so the web server can
 * deliver our 413 (Apache's CGI modules reset the client when the script
 * stops reading its stdin). Bounded: past DRAIN_MAX the rest is dropped.
 */
static void
drain(struct px_io *io, unsigned long long left)
{
	char sink[16384];
	long n;

	if (left > DRAIN_MAX)
		left = DRAIN_MAX;
	while (left > 0) {
		n = px_io_read(io, sink, left < sizeof(sink) ? (size_t)left :
		    sizeof(sink));
		if (n <= 0)
			break;
		left -= (unsigned long long)n;
	}
}

static enum px_err
read_body(struct px_worker *w, struct px_io *io, char *detail, size_t cap)
{
	const char *cl = px_io_param(io, "CONTENT_LENGTH");
	struct px_buf *b = &w->body;
	size_t max = b->max, room;
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
			drain(io, v);
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
			drain(io, DRAIN_MAX);
			return PX_ETOOBIG;
		}
		/* never past max: the buffer may have grown beyond it, and
		 * without a Content-Length nothing else stops the body */
		room = b->cap - b->len - 1;
		if (room > max - b->len)
			room = max - b->len;
		n = px_io_read(io, b->p + b->len, room);
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

/* --- the request ------------------------------------------------------ */

/* 32 hex chars unique per request, for a dialect's ids. */
static void
request_uid(const struct px_worker *w, char *dst, size_t cap)
{
	struct timespec ts;
	unsigned long h = 5381;
	const char *p;

	clock_gettime(CLOCK_REALTIME, &ts);
	for (p = w->reqid; *p != '\0'; p++)
		h = h * 33 + (unsigned char)*p;
	snprintf(dst, cap, "%08lx%08lx%08lx%08lx", (unsigned long)px_log_pid()
	    & 0xffffffffUL, h & 0xffffffffUL, (unsigned long)ts.tv_sec &
	    0xffffffffUL, (unsigned long)ts.tv_nsec & 0xffffffffUL);
}

/*
 * A translated dialect's body -> the canonical chat request, which then
 * replaces the body (so everything after this sees Chat Completions).
 * The bytes are screened (UTF-8, value cap) before the decoder parses.
 */
static enum px_err
decode(struct chat *c, struct px_verr *verr)
{
	struct px_worker *w = c->w;
	const struct px_dialect *d = c->io->dialect;
	struct px_dctx ctx;
	char uid[40];
	enum px_err rc;

	request_uid(w, uid, sizeof(uid));
	ctx.uid = uid;
	ctx.now_s = (int64_t)time(NULL);
	ctx.max_values = w->app->cfg->max_json_values;
	px_dstate_reset(&w->ds, d);
	c->ds = &w->ds;
	c->io->dstate = &w->ds;
	rc = px_validate_scan(w->body.p, w->body.len, ctx.max_values, verr);
	if (rc == PX_OK)
		rc = d->decode(w->body.p, w->body.len, &ctx, &w->ds, &w->up,
		    verr);
	if (rc == PX_OK)
		px_buf_swap(&w->body, &w->up);
	return rc;
}

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

/* px_sig_lookup_fn over the shared cache. */
static int
sig_lookup(void *ctx, const char *id, char *sig, size_t cap)
{
	const struct px_worker *w = ctx;

	return px_sigcache_get(&w->app->sigc, id, px_ledger_now_ms(), sig,
	    cap);
}

/*
 * Gemini 3 rejects the next turn of a tool conversation whose step lost
 * its thought signature, and most clients drop it: put back what the
 * cache remembers (any responder may have served the step), else the
 * bypass value where the model enforces signatures. The canonical text is
 * re-printed only when something changed.
 */
static enum px_err
restore_signatures(struct chat *c, const struct px_lease *lease)
{
	struct px_worker *w = c->w;
	int n;

	if (lease->provider != PX_PROV_GEMINI || !c->rq.has_tool_history)
		return PX_OK;
	n = px_thoughtsig_fill(c->rq.root, px_thoughtsig_enforced(lease->model),
	    sig_lookup, w);
	if (n <= 0)
		return n < 0 ? PX_ENOMEM : PX_OK;
	px_buf_reset(&w->body);
	return px_json_print(c->rq.root, &w->body);
}

/* What the attempt learnt: the signatures it saw, for the next turn. */
static void
keep_signatures(struct px_worker *w)
{
	if (w->sigs.len > 0 && px_sigcache_put(&w->app->sigc, w->sigs.p,
	    w->sigs.len, px_ledger_now_ms()) != PX_OK)
		px_log(PX_LOG_WARN, "req=%s thought signatures not kept",
		    w->reqid);
	px_buf_reset(&w->sigs);
}

/*
 * The upstream body and its length for this attempt, from the adapter:
 * the client's bytes themselves on the OpenAI-compatible fast path (only
 * "model" and stream_options spliced when they must change), a full
 * translation for a native upstream. w->up and w->resp are its scratch
 * (resp is reset before the upstream answers).
 */
static enum px_err
upstream_body(struct chat *c, const struct px_provider *prov,
    const char *served, const char **body, size_t *len, char *err,
    size_t cap)
{
	struct px_worker *w = c->w;
	struct px_upstream_in in;

	memset(&in, 0, sizeof(in));
	in.body = w->body.p;
	in.len = w->body.len;
	in.root = c->rq.root;
	in.model = served;
	in.stream = c->rq.stream;
	in.include_usage = c->rq.include_usage;
	in.reasoning = c->rq.reasoning;
	in.op = c->op;
	return prov->request(&in, &w->up, &w->resp, body, len, err, cap);
}

/* --- attempts ----------------------------------------------------------- */


/* What an attempt showed about its key (retryhint.h classes). */
static void
classify(const struct chat *c, const struct px_relay *rl,
    const struct px_http_result *res, struct px_hint *h)
{
	struct px_hint_in in;

	memset(h, 0, sizeof(*h));
	if (c->io->gone || c->io->slow) {
		/* the client left or did not read: no key's fault */
		h->fault = PX_FAULT_NONE;
		return;
	}
	if (rl->too_big) {
		/* the request asked for more than we hold: no key's fault,
		 * and another key would only generate it again */
		h->fault = PX_FAULT_CLIENT;
		snprintf(h->reason, sizeof(h->reason), "response too large");
		return;
	}
	if (!rl->head_sent && (rl->inband || rl->empty)) {
		/* translated, nothing sent yet: another key may do better */
		h->fault = PX_FAULT_UPSTREAM;
		snprintf(h->reason, sizeof(h->reason), "%s", rl->inband ?
		    "in-band error" : "empty completion");
		return;
	}
	if (res->outcome != PX_HTTP_DONE) {
		h->fault = PX_FAULT_UPSTREAM;
		snprintf(h->reason, sizeof(h->reason), "%s",
		    px_http_outcome_name(res->outcome));
		return;
	}
	memset(&in, 0, sizeof(in));
	in.provider = rl->prov->id;
	in.status = (int)res->status;
	in.retry_after = res->retry_after;
	in.retry_after_ms = res->retry_after_ms;
	in.ratelimit_reset = res->ratelimit_reset;
	in.body = c->w->resp.p;
	in.body_len = c->w->resp.len;
	in.now_ms = px_ledger_now_ms();
	rl->prov->classify(&in, h);
	if (h->fault == PX_FAULT_NONE && rl->failed)
		h->fault = PX_FAULT_UPSTREAM;	/* an error event mid-stream */
}

/* How the lease is settled after an attempt with hint h. */
static enum px_settle
settle_how(const struct px_relay *rl, const struct px_http_result *res,
    const struct px_hint *h)
{
	if (rl->head_sent || rl->too_big || h->fault == PX_FAULT_NONE)
		return PX_SETTLE_DONE;	/* something was generated */
	if (h->fault == PX_FAULT_RATE || h->fault == PX_FAULT_AUTH ||
	    h->fault == PX_FAULT_ENTITLEMENT ||
	    res->outcome == PX_HTTP_CONNECT ||
	    res->outcome == PX_HTTP_TIMEOUT_CONNECT)
		return PX_SETTLE_RELEASE_ALL;	/* consumed no quota */
	return PX_SETTLE_RELEASE_TOKENS;
}

static void
settle(struct chat *c, const struct px_relay *rl,
    const struct px_lease *lease, const struct px_http_result *res,
    const struct px_hint *h)
{
	struct px_verdict v = { h->fault, h->until_ms, h->daily, h->reason };
	long tokens = rl->fix.have_usage ? rl->fix.total_tokens : -1;

	if (px_ledger_settle_ex(c->w->app->ledger, c->w->ls, lease,
	    settle_how(rl, res, h), tokens, &v, px_ledger_now_ms()) != PX_OK)
		px_log(PX_LOG_ERROR, "req=%s ledger settle failed",
		    c->w->reqid);
}

/* The outcome class /metrics counts an attempt under. */
static enum px_st_attempt
attempt_class(const struct px_hint *h, const struct px_http_result *res)
{
	switch (h->fault) {
	case PX_FAULT_NONE:
		return PX_ST_ATT_OK;
	case PX_FAULT_RATE:
	case PX_FAULT_ENTITLEMENT:
		return PX_ST_ATT_RATE_LIMITED;
	case PX_FAULT_AUTH:
		return PX_ST_ATT_AUTH;
	case PX_FAULT_CLIENT:
		return PX_ST_ATT_CLIENT_4XX;
	default:
		break;
	}
	if (res->outcome == PX_HTTP_CONNECT)
		return PX_ST_ATT_CONNECT;
	if (res->outcome >= PX_HTTP_TIMEOUT_CONNECT &&
	    res->outcome <= PX_HTTP_TIMEOUT_TOTAL)
		return PX_ST_ATT_TIMEOUT;
	return PX_ST_ATT_UPSTREAM_5XX;
}

static void
note_attempt(struct chat *c, const struct px_lease *lease,
    const struct px_hint *h, const struct px_http_result *res)
{
	size_t n = strlen(c->why);
	const char *what = h->fault != PX_FAULT_NONE ? px_fault_name(h->fault) :
	    res->outcome == PX_HTTP_DONE ? "ok" : "client_gone";

	px_stats_add(px_st_att(px_st_prov((int)lease->provider),
	    attempt_class(h, res)), 1);

	snprintf(c->why + n, sizeof(c->why) - n, "%s%s:%s", n ? ">" : "",
	    lease->key->id, what);
}

static int
retryable(const struct chat *c, const struct px_relay *rl,
    const struct px_hint *h)
{
	if (rl->head_sent || c->io->gone)
		return 0;	/* the first byte went out: never retry */
	if (c->nattempts >= c->w->app->cfg->max_attempts ||
	    c->ntried >= sizeof(c->tried) / sizeof(c->tried[0]))
		return 0;
	/* one more key after an unusable one, never more: a request must
	 * not be able to walk the whole pool into failures */
	if (h->fault == PX_FAULT_AUTH)
		return c->nauth <= 1;
	return h->fault == PX_FAULT_RATE || h->fault == PX_FAULT_UPSTREAM ||
	    h->fault == PX_FAULT_ENTITLEMENT;
}

#define PROBE_EVERY_MS 60000	/* per key and process */

/*
 * A 402 or 403 said nothing about the key: ask the provider about the key
 * alone, at most once a minute per key in this process. Only its answer
 * may disable the key; a client can provoke the probe but not its result.
 */
static void
confirm_key(struct chat *c, const struct px_lease *lease, struct px_hint *h)
{
	struct px_worker *w = c->w;
	struct px_http_result res;
	struct px_hint_in in;
	struct px_hint ph;
	long i = px_config_key_index(w->app->cfg, lease->key);
	int64_t now = px_ledger_now_ms(), last;

	if (!h->probe || i < 0)
		return;
	last = atomic_load(&w->app->probe_at[i]);
	if (now - last < PROBE_EVERY_MS ||
	    !atomic_compare_exchange_strong(&w->app->probe_at[i], &last, now))
		return;
	memset(&res, 0, sizeof(res));
	px_relay_probe(w, lease, &res);
	if (res.outcome != PX_HTTP_DONE)
		return;
	memset(&in, 0, sizeof(in));
	in.provider = lease->provider;
	in.status = (int)res.status;
	in.body = w->probe.p;
	in.body_len = w->probe.len;
	in.now_ms = now;
	if (px_adapter(lease->group)->probe_says(&in, &ph)) {
		h->fault = ph.fault;
		snprintf(h->reason, sizeof(h->reason), "%s", ph.reason);
	}
}

/* Did the client ask to see reasoning: an effort other than none, or a
 * dialect's own request for summaries or thinking blocks? */
static int
reasoning_asked(const struct chat *c)
{
	const char *e = c->rq.reasoning;

	if (c->ds != NULL && (c->ds->flags & PX_DF_REASONING))
		return 1;
	return e != NULL && e[0] != '\0' && strcmp(e, "none") != 0;
}

static void
relay_init(struct chat *c, struct px_relay *rl, const struct px_lease *lease)
{
	struct px_worker *w = c->w;

	memset(rl, 0, sizeof(*rl));
	px_stream_fix_init(&rl->fix);
	rl->w = w;
	rl->io = c->io;
	rl->prov = px_adapter(lease->group);
	rl->secrets = &w->app->cfg->secrets;
	rl->fix.secrets = rl->secrets;
	rl->fix.model = lease->model;
	rl->fix.split_thoughts = rl->prov->thoughts_inline != NULL &&
	    rl->prov->thoughts_inline(lease->model, c->rq.reasoning);
	rl->fix.hide_reasoning = !reasoning_asked(c);
	px_buf_reset(&w->sigs);
	rl->fix.sigs = lease->provider == PX_PROV_GEMINI ? &w->sigs : NULL;
	rl->extra = c->extra;
	rl->stream = c->rq.stream;
	rl->include_usage = c->rq.include_usage;
	rl->model = w->model;
	rl->ka_interval = w->app->cfg->keepalive_interval_ms;
	rl->fix.drop_usage_alone = c->rq.stream && !c->rq.include_usage;
	rl->ds = c->ds;
	rl->embed = c->op == PX_OP_EMBED;
	rl->encoding = c->encoding;
	if (c->ds != NULL) {
		/* the engine reads usage from its own chunks */
		rl->fix.drop_usage_alone = 0;
		px_dstate_rewind(c->ds);
	}
	snprintf(rl->fix.id_prefix, sizeof(rl->fix.id_prefix), "%s_", w->reqid);
}

/* One attempt on the leased key. Returns 1 when the request is done
 * (reply written), 0 when another key should be tried. */
static int
attempt(struct chat *c, const struct px_lease *lease, struct px_relay *rl,
    struct px_http_result *res)
{
	struct px_worker *w = c->w;
	const char *body;
	size_t len;
	struct px_hint h;
	char err[256];
	enum px_err rc;
	long long t_up;

	snprintf(w->model, sizeof(w->model), "%s", lease->model);
	c->lg->provider = px_provider_name(lease->provider);
	c->lg->key_id = lease->key->id;
	chat_headers(w, lease->model, c->extra, sizeof(c->extra));
	relay_init(c, rl, lease);
	rc = restore_signatures(c, lease);
	if (rc == PX_OK)
		rc = upstream_body(c, rl->prov, lease->model, &body, &len, err,
		    sizeof(err));
	if (rc != PX_OK) {
		/* the request cannot go to this upstream (or memory ran out):
		 * nothing was spent */
		px_reply_error(c->io, &w->err, rc == PX_EBADREQ ? rc : PX_ENOMEM,
		    rc == PX_EBADREQ ? err : NULL, NULL, c->extra);
		(void)px_ledger_settle(w->app->ledger, w->ls, lease,
		    PX_SETTLE_RELEASE_ALL, -1, 0, px_ledger_now_ms());
		return 1;
	}
	c->tried[c->ntried++] = lease->key;
	c->nattempts++;
	t_up = px_mono_us();
	px_relay_attempt(rl, lease, body, len, res);
	keep_signatures(w);
	c->lg->upstream_ms = res->elapsed_ms;
	classify(c, rl, res, &h);
	confirm_key(c, lease, &h);
	c->nauth += h.fault == PX_FAULT_AUTH;
	if (h.fault == PX_FAULT_ENTITLEMENT)
		c->ntried--;	/* the key may serve the next model: the
				 * ledger's mark keeps it from this one */
	note_attempt(c, lease, &h, res);
	if (retryable(c, rl, &h)) {
		c->lg->upstream_us += px_mono_us() - t_up;
		settle(c, rl, lease, res, &h);
		return 0;
	}
	px_relay_finish(rl, res);
	c->lg->upstream_us += px_mono_us() - t_up;
	keep_signatures(w);	/* a non-stream body is read while finishing */
	settle(c, rl, lease, res, &h);
	if (c->io->slow)
		c->lg->note = "client_too_slow";
	else if (res->outcome != PX_HTTP_DONE && !c->io->gone)
		c->lg->note = px_http_outcome_name(res->outcome);
	return 1;
}

/* 429 with the whole seconds until the earliest slot frees, saying which
 * limit holds (px_limit: the error's code). */
static void
reply_rate_limited(struct px_worker *w, struct px_io *io, int64_t retry_ms)
{
	static const char *const what[PX_LIMIT__MAX] = {
		"every key for this model is at its rate limit",
		"the budget of the keys' owner (project or account) is "
		"exhausted for this model",
		"the model's own limit (model_limits) is reached on every key",
		"the requests in flight for this model are at their maximum "
		"(max_concurrent of every key, or of the keys' owner)",
		"your client key's own limit is reached",
	};
	enum px_limit l = px_ledger_limit(w->ls);
	char hdrs[160], msg[200];
	long long secs = (retry_ms + 999) / 1000;

	px_stats_add(px_st_lim((int)l), 1);
	snprintf(hdrs, sizeof(hdrs), "Retry-After: %lld\r\n%s", secs,
	    secs > 60 ? "x-should-retry: false\r\n" : "");
	snprintf(msg, sizeof(msg), "%s; retry in %lld s", what[l], secs);
	px_reply_error_fields(io, &w->err, 429, "rate_limit_error", msg, NULL,
	    px_limit_code(l), hdrs);
}

/* Every key's project lacks quota for the model until the daily reset:
 * retrying soon cannot help (x-should-retry: false). */
static void
reply_not_entitled(struct px_worker *w, struct px_io *io, int64_t retry_ms)
{
	char hdrs[160], msg[200];
	long long secs = (retry_ms + 999) / 1000;

	px_stats_add(px_st_lim(PX_LIMIT__MAX), 1);	/* "not_entitled" */
	snprintf(hdrs, sizeof(hdrs), "Retry-After: %lld\r\n"
	    "x-should-retry: false\r\n", secs);
	snprintf(msg, sizeof(msg), "no key's project has quota for this model "
	    "(the provider answered limit: 0); it may again after the daily "
	    "reset, in %lld s", secs);
	px_reply_error_fields(io, &w->err, 429, "insufficient_quota", msg,
	    "model", "insufficient_quota", hdrs);
}

/* No key could be reserved: say why (after attempts: the last failure). */
static void
reply_unreserved(struct chat *c, enum px_err rc, int64_t retry_ms,
    struct px_relay *last, const struct px_http_result *res)
{
	struct px_worker *w = c->w;

	if (rc == PX_EUNAVAIL)	/* the ledger, not an upstream */
		px_reply_unavailable(c->io, &w->err);
	else if (rc == PX_ERATE && px_ledger_not_entitled(w->ls))
		reply_not_entitled(w, c->io, retry_ms);
	else if (rc == PX_ERATE && (c->nattempts == 0 || res->status == 429))
		reply_rate_limited(w, c->io, retry_ms);
	else if (c->nattempts > 0)
		px_relay_finish(last, res);	/* the last upstream failure */
	else if (rc == PX_EBADREQ)
		px_reply_error(c->io, &w->err, rc, "the request's token "
		    "estimate exceeds every key's max_token_min", "messages",
		    NULL);
	else
		px_reply_error(c->io, &w->err, rc, NULL, NULL, NULL);
}

static void
serve(struct chat *c)
{
	struct px_worker *w = c->w;
	struct px_lease lease;
	struct px_relay rl;
	struct px_http_result res;
	struct px_ask ask;
	char detail[256];
	size_t n;
	int64_t retry_ms;
	enum px_err rc;

	if (c->op == PX_OP_EMBED && strcmp(px_router_alias(w->app->cfg,
	    c->rq.model), PX_AUTO_MODEL) == 0) {
		/* vectors of different models do not mix */
		px_reply_error(c->io, &w->err, PX_EBADREQ, "auto-model does "
		    "not apply to embeddings: name the embedding model",
		    "model", NULL);
		return;
	}
	if (!px_client_allows(w->client, c->rq.model)) {
		snprintf(detail, sizeof(detail), "this client key may not use "
		    "model \"%.100s\"", c->rq.model);
		px_reply_error_fields(c->io, &w->err, 403,
		    "permission_error", detail, "model", "model_not_allowed",
		    NULL);
		return;
	}
	rc = px_router_candidates(w->app->cfg, c->rq.model, w->cand, w->ncand,
	    &n, detail, sizeof(detail));
	if (rc != PX_OK) {
		px_reply_error(c->io, &w->err, rc, detail, "model", NULL);
		return;
	}
	memset(&res, 0, sizeof(res));
	ask.c = w->cand;
	ask.nc = n;
	ask.tokens = px_ledger_estimate(c->rq.prompt_bytes);
	ask.exclude = c->tried;
	ask.client = w->client;
	for (;;) {
		ask.nexclude = c->ntried;
		rc = px_ledger_reserve_ask(w->app->ledger, w->ls, &ask,
		    px_ledger_now_ms(), &lease, &retry_ms);
		if (rc != PX_OK) {
			reply_unreserved(c, rc, retry_ms, &rl, &res);
			return;
		}
		if (attempt(c, &lease, &rl, &res))
			return;
	}
}

/* serve(), with the request's model and attempts in its log line. */
static void
serve_logged(struct chat *c)
{
	struct px_worker *w = c->w;

	snprintf(w->model, sizeof(w->model), "%s", c->rq.model);
	c->lg->model = w->model;
	serve(c);
	c->lg->attempts = (int)c->nattempts;
	c->lg->why = c->why[0] != '\0' ? w->why : NULL;
	snprintf(w->why, sizeof(w->why), "%s", c->why);
}

/* After any request: free its tree, give back unusual buffer growth. */
static void
finish(struct chat *c)
{
	struct px_worker *w = c->w;

	px_chat_req_free(&c->rq);
	px_buf_shrink(&w->body, 1u << 20);
	px_buf_shrink(&w->resp, 1u << 20);
	px_buf_shrink(&w->out, 1u << 20);
	px_buf_shrink(&w->up, 1u << 20);
	px_buf_shrink(&w->ev, 1u << 20);
	px_buf_shrink(&w->scratch, 1u << 20);
}

/* A request's state, and its body read; 0, or -1 with the reply sent. */
static int
begin(struct chat *c, struct px_worker *w, struct px_io *io,
    struct px_reqlog *lg, enum px_op op)
{
	char detail[256];
	enum px_err rc;

	memset(c, 0, sizeof(*c));
	c->w = w;
	c->io = io;
	c->lg = lg;
	c->op = op;
	rc = read_body(w, io, detail, sizeof(detail));
	if (rc == PX_OK)
		return 0;
	px_reply_error(io, &w->err, rc, detail, NULL, NULL);
	return -1;
}

/* A body refused before any quota: the reason, in the route's dialect. */
static void
refuse(struct chat *c, enum px_err rc, const struct px_verr *verr)
{
	px_reply_error(c->io, &c->w->err, rc, verr->msg,
	    verr->param[0] ? verr->param : NULL, NULL);
}

void
px_chat_handle(struct px_worker *w, struct px_io *io, struct px_reqlog *lg)
{
	struct chat c;
	struct px_verr verr;
	enum px_err rc = PX_OK;

	if (begin(&c, w, io, lg, PX_OP_CHAT) != 0)
		goto out;
	if (io->dialect != NULL && io->dialect->decode != NULL)
		rc = decode(&c, &verr);
	if (rc == PX_OK)
		rc = px_validate_chat_max(w->body.p, w->body.len,
		    w->app->cfg->max_json_values, &c.rq, &verr);
	if (rc != PX_OK) {
		refuse(&c, rc, &verr);
		goto out;
	}
	if (c.ds != NULL)
		c.ds->est_input = px_dialect_estimate(c.rq.prompt_bytes);
	serve_logged(&c);
out:
	finish(&c);
}

/* POST /v1/embeddings: the same pipeline for one model, no stream. */
void
px_embed_handle(struct px_worker *w, struct px_io *io, struct px_reqlog *lg)
{
	struct chat c;
	struct px_verr verr;
	enum px_err rc;

	if (begin(&c, w, io, lg, PX_OP_EMBED) != 0)
		goto out;
	rc = px_validate_embed(w->body.p, w->body.len,
	    w->app->cfg->max_json_values, &c.rq, &c.encoding, &verr);
	if (rc != PX_OK) {
		refuse(&c, rc, &verr);
		goto out;
	}
	serve_logged(&c);
out:
	finish(&c);
}

/* POST /v1/messages/count_tokens: the ledger's own estimate of the
 * translated request; no upstream call, no quota. */
void
px_count_handle(struct px_worker *w, struct px_io *io, struct px_reqlog *lg)
{
	struct px_dctx ctx;
	struct px_verr verr;
	char detail[256], uid[40];
	enum px_err rc;

	(void)lg;
	memset(&verr, 0, sizeof(verr));
	rc = read_body(w, io, detail, sizeof(detail));
	if (rc != PX_OK) {
		px_reply_error(io, &w->err, rc, detail, NULL, NULL);
		return;
	}
	request_uid(w, uid, sizeof(uid));
	ctx.uid = uid;
	ctx.now_s = (int64_t)time(NULL);
	ctx.max_values = w->app->cfg->max_json_values;
	px_dstate_reset(&w->ds, io->dialect);
	io->dstate = &w->ds;
	rc = px_validate_scan(w->body.p, w->body.len, ctx.max_values, &verr);
	if (rc == PX_OK)
		rc = px_messages_count(w->body.p, w->body.len, &ctx, &w->ds,
		    &w->up, &verr, &w->ev);
	if (rc != PX_OK)
		px_reply_error(io, &w->err, rc, verr.msg,
		    verr.param[0] ? verr.param : NULL, NULL);
	else
		px_reply_json(io, 200, NULL, w->ev.p, w->ev.len);
	px_buf_shrink(&w->up, 1u << 20);
}
