/*
 * dialect_responses.c -- the OpenAI Responses API (POST /v1/responses) as
 * a dialect over the canonical chat pipeline (issue 10): the table and the
 * reply side, where canonical callbacks become Responses stream events or
 * the response object (the request side is dialect_responses_decode.c).
 * Owns: the response object and the fields it echoes; the event sequence
 * with its sequence_number; item ids (resp_/msg_/rs_/fc_/ctc_ + the
 * request uid + output index); the output kept for the terminal event
 * (PX_DKEEP_MAX); the OpenAI error body.
 * Never: I/O, clocks, randomness or logging; builds a tree or allocates
 * per stream event (events are written straight into out, kept text goes
 * to the reused buffers of struct px_dstate; only a custom tool call's
 * arguments are parsed, once, when it closes); invents event types
 * (openai-node's responses.stream() helper throws on a type it does not
 * know).
 * Load: the encoder runs once per upstream delta.
 */
#include "dialect_responses_int.h"

#include <stdio.h>
#include <string.h>

#include <cJSON.h>

/* --- encode: a sticky writer ---------------------------------------------- */

/*
 * Appends to b until the first error, which is kept (callers chain writes
 * and check once). b NULL writes nothing: collect mode, where callbacks
 * only accumulate what the response object needs.
 */
struct jw {
	struct px_buf *b;
	enum px_err    rc;
};

static struct jw
writer(const struct px_dstate *st, struct px_buf *out)
{
	struct jw w = { st->collect ? NULL : out, PX_OK };

	return w;
}

static void
jw_s(struct jw *w, const char *s)
{
	if (w->b != NULL && w->rc == PX_OK)
		w->rc = px_buf_adds(w->b, s);
}

static void
jw_n(struct jw *w, const char *s, size_t n)
{
	if (w->b != NULL && w->rc == PX_OK)
		w->rc = px_buf_add(w->b, s, n);
}

/* s[0..n) as a JSON string literal. */
static void
jw_str(struct jw *w, const char *s, size_t n)
{
	if (w->b != NULL && w->rc == PX_OK)
		w->rc = px_djson_str(w->b, s != NULL ? s : "",
		    s != NULL ? n : 0);
}

static void
jw_q(struct jw *w, const char *s)
{
	jw_str(w, s, strlen(s));
}

static void
jw_long(struct jw *w, long long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", v);
	jw_s(w, num);
}

/* "event: <type>\ndata: {"type":"<type>","sequence_number":N" */
static void
ev_begin(struct jw *w, struct px_dstate *st, const char *type)
{
	if (w->b == NULL)
		return;
	if (w->rc == PX_OK)
		w->rc = px_devent_begin(w->b, type);
	jw_s(w, "{\"type\":\"");
	jw_s(w, type);
	jw_s(w, "\",\"sequence_number\":");
	jw_long(w, st->seq++);
}

static void
ev_end(struct jw *w)
{
	jw_s(w, "}");
	if (w->b != NULL && w->rc == PX_OK)
		w->rc = px_devent_end(w->b);
}

/* --- encode: items -------------------------------------------------------- */

enum kind { K_MESSAGE, K_REASONING, K_CALL, K_CUSTOM };

static const char *const kind_type[] = {
	[K_MESSAGE] = "message", [K_REASONING] = "reasoning",
	[K_CALL] = "function_call", [K_CUSTOM] = "custom_tool_call"
};

static const char *const kind_prefix[] = {
	[K_MESSAGE] = "msg", [K_REASONING] = "rs",
	[K_CALL] = "fc", [K_CUSTOM] = "ctc"
};

/* One output item as the events and the response object show it. */
struct item {
	enum kind   kind;
	int         index;	/* output_index */
	const char *status;	/* in_progress, completed, incomplete */
	const char *text;	/* message text, summary, arguments, input */
	size_t      n;
	int         added;	/* output_item.added: no content yet */
	const struct px_dcall *call;	/* K_CALL, K_CUSTOM */
};

/* <prefix>_<uid>_<output index>; the uid is the one in resp_<uid>. */
static void
item_id(const struct px_dstate *st, enum kind k, int index, char *dst)
{
	const char *uid = strncmp(st->id, "resp_", 5) == 0 ? st->id + 5 :
	    st->id;

	snprintf(dst, PX_DID, "%s_%.*s_%d", kind_prefix[k], PX_RESP_UID_MAX,
	    uid, index);
}

static void
put_text_part(struct jw *w, const char *text, size_t n)
{
	jw_s(w, "{\"type\":\"output_text\",\"text\":");
	jw_str(w, text, n);
	jw_s(w, ",\"annotations\":[],\"logprobs\":[]}");
}

static void
put_summary_part(struct jw *w, const char *text, size_t n)
{
	jw_s(w, "{\"type\":\"summary_text\",\"text\":");
	jw_str(w, text, n);
	jw_s(w, "}");
}

static void
put_status(struct jw *w, const char *status)
{
	jw_s(w, ",\"status\":\"");
	jw_s(w, status);
	jw_s(w, "\"");
}

/* The members after "id" of each kind. */
static void
put_item_body(struct jw *w, const struct item *it)
{
	switch (it->kind) {
	case K_MESSAGE:
		put_status(w, it->status);
		jw_s(w, ",\"role\":\"assistant\",\"content\":[");
		if (!it->added)
			put_text_part(w, it->text, it->n);
		jw_s(w, "]");
		break;
	case K_REASONING:
		jw_s(w, ",\"summary\":[");
		if (!it->added)
			put_summary_part(w, it->text, it->n);
		jw_s(w, "],\"encrypted_content\":null");
		put_status(w, it->status);
		break;
	case K_CALL:
	case K_CUSTOM:
		jw_s(w, ",\"call_id\":");
		jw_q(w, it->call->id);
		jw_s(w, ",\"name\":");
		jw_q(w, it->call->name);
		jw_s(w, it->kind == K_CALL ? ",\"arguments\":" : ",\"input\":");
		jw_str(w, it->added ? "" : it->text, it->added ? 0 : it->n);
		put_status(w, it->status);
		break;
	}
}

static void
put_item(struct jw *w, const struct px_dstate *st, const struct item *it)
{
	char id[PX_DID];

	item_id(st, it->kind, it->index, id);
	jw_s(w, "{\"type\":\"");
	jw_s(w, kind_type[it->kind]);
	jw_s(w, "\",\"id\":");
	jw_q(w, id);
	put_item_body(w, it);
	jw_s(w, "}");
}

/* output_item.added / output_item.done */
static void
ev_item(struct jw *w, struct px_dstate *st, const char *type,
    const struct item *it)
{
	ev_begin(w, st, type);
	jw_s(w, ",\"output_index\":");
	jw_long(w, it->index);
	jw_s(w, ",\"item\":");
	put_item(w, st, it);
	ev_end(w);
}

/*
 * A closed item joins st->items for the terminal event, which must carry
 * the complete output (Codex and openai-node's helper take the final
 * items from it). An item that does not fit in PX_DKEEP_MAX is left out:
 * st->overflow, and the response ends incomplete.
 */
static enum px_err
keep_item(struct px_dstate *st, const struct item *it)
{
	struct jw w = { &st->items, PX_OK };
	size_t old = st->items.len;

	if (old > 0)
		jw_s(&w, ",");
	put_item(&w, st, it);
	if (w.rc == PX_OK && st->items.len <= PX_DKEEP_MAX)
		return PX_OK;
	st->items.len = old;
	if (st->items.p != NULL)
		st->items.p[old] = '\0';
	st->overflow = 1;
	return w.rc == PX_ENOMEM ? PX_ENOMEM : PX_OK;
}

/* output_item.done with the complete item, and keep it. */
static void
done_item(struct jw *w, struct px_dstate *st, const struct item *it)
{
	enum px_err rc;

	ev_item(w, st, "response.output_item.done", it);
	rc = keep_item(st, it);
	if (w->rc == PX_OK)
		w->rc = rc;
}

/* Text of the open part, bounded with the kept items by PX_DKEEP_MAX. */
static void
keep_text(struct px_dstate *st, struct px_buf *b, const char *p, size_t n)
{
	if (st->overflow)
		return;
	if (st->items.len + b->len + n > PX_DKEEP_MAX ||
	    px_buf_add(b, p, n) != PX_OK)
		st->overflow = 1;
}

/* --- encode: the response object ------------------------------------------ */

/* How the response ends (or that it has not yet). */
struct outcome {
	const char *event;	/* terminal event type */
	const char *status;	/* response.status */
	const char *reason;	/* incomplete_details.reason, or NULL */
	const char *code;	/* error.code (failed), or NULL */
	const char *message;	/* error.message */
	int         final;	/* output carries the kept items */
};

static const struct outcome in_progress = {
	NULL, "in_progress", NULL, NULL, NULL, 0
};

/* §A.4.4: length and content_filter end incomplete, everything else
 * completed; overflowing the kept output counts as length. */
static struct outcome
outcome_of(const struct px_dstate *st)
{
	struct outcome o = { "response.completed", "completed", NULL, NULL,
		NULL, 1 };

	if (st->overflow || strcmp(st->finish, "length") == 0)
		o.reason = "max_output_tokens";
	else if (strcmp(st->finish, "content_filter") == 0)
		o.reason = "content_filter";
	if (o.reason != NULL) {
		o.event = "response.incomplete";
		o.status = "incomplete";
	}
	return o;
}

/* input/output tokens with both details objects (the Agents SDK reads
 * cached_tokens and reasoning_tokens); zeros when unknown. */
static void
put_usage(struct jw *w, const struct px_dstate *st)
{
	long total = st->total_tokens > 0 ? st->total_tokens :
	    st->prompt_tokens + st->completion_tokens;

	jw_s(w, "{\"input_tokens\":");
	jw_long(w, st->prompt_tokens);
	jw_s(w, ",\"input_tokens_details\":{\"cached_tokens\":");
	jw_long(w, st->cached_tokens);
	jw_s(w, "},\"output_tokens\":");
	jw_long(w, st->completion_tokens);
	jw_s(w, ",\"output_tokens_details\":{\"reasoning_tokens\":");
	jw_long(w, st->reasoning_tokens);
	jw_s(w, "},\"total_tokens\":");
	jw_long(w, total);
	jw_s(w, "}");
}

static void
put_outcome(struct jw *w, const struct px_dstate *st,
    const struct outcome *o)
{
	jw_s(w, ",\"status\":\"");
	jw_s(w, o->status);
	jw_s(w, "\",\"completed_at\":");
	if (strcmp(o->status, "completed") == 0)
		jw_long(w, st->created);	/* no clock here */
	else
		jw_s(w, "null");
	jw_s(w, ",\"error\":");
	if (o->code != NULL) {
		jw_s(w, "{\"code\":\"");
		jw_s(w, o->code);
		jw_s(w, "\",\"message\":");
		jw_q(w, o->message != NULL ? o->message : "upstream failed");
		jw_s(w, "}");
	} else {
		jw_s(w, "null");
	}
	jw_s(w, ",\"incomplete_details\":");
	if (o->reason != NULL) {
		jw_s(w, "{\"reason\":\"");
		jw_s(w, o->reason);
		jw_s(w, "\"}");
	} else {
		jw_s(w, "null");
	}
}

/* The §A.2 Response object. */
static void
put_response(struct jw *w, const struct px_dstate *st,
    const struct outcome *o)
{
	jw_s(w, "{\"id\":");
	jw_q(w, st->id);
	jw_s(w, ",\"object\":\"response\",\"created_at\":");
	jw_long(w, st->created);
	put_outcome(w, st, o);
	jw_s(w, ",\"model\":");
	jw_q(w, st->model);
	jw_s(w, ",\"output\":[");
	if (o->final)
		jw_n(w, st->items.p != NULL ? st->items.p : "", st->items.len);
	jw_s(w, "],\"usage\":");
	if (o->final && (o->code == NULL || st->have_usage))
		put_usage(w, st);
	else
		jw_s(w, "null");
	if (st->echo.len > 0) {
		jw_s(w, ",");
		jw_n(w, st->echo.p, st->echo.len);
	}
	jw_s(w, "}");
}

/* response.created, .in_progress, .completed, .incomplete, .failed */
static void
ev_lifecycle(struct jw *w, struct px_dstate *st, const char *type,
    const struct outcome *o)
{
	ev_begin(w, st, type);
	jw_s(w, ",\"response\":");
	put_response(w, st, o);
	ev_end(w);
}

/* --- encode: the open text or reasoning part ------------------------------ */

/* "item_id":..,"output_index":N of the open part. */
static void
put_open_ref(struct jw *w, const struct px_dstate *st)
{
	jw_s(w, ",\"item_id\":");
	jw_q(w, st->open_id);
	jw_s(w, ",\"output_index\":");
	jw_long(w, st->open_index);
	jw_s(w, st->open_kind == PX_DOPEN_TEXT ? ",\"content_index\":0" :
	    ",\"summary_index\":0");
}

static struct item
open_item(const struct px_dstate *st, const char *status, int added)
{
	struct item it = { K_MESSAGE, st->open_index, status, NULL, 0, added,
		NULL };
	const struct px_buf *b = &st->text;

	if (st->open_kind == PX_DOPEN_REASONING) {
		it.kind = K_REASONING;
		b = &st->reasoning;
	}
	it.text = b->p != NULL ? b->p : "";
	it.n = b->len;
	return it;
}

static void close_call(struct jw *w, struct px_dstate *st, unsigned k,
    const char *status);

/*
 * Whether call k is still open. Calls stay open until the end (§A.4.6),
 * except that a part opening after them closes them first (open_part), so
 * items close in output_index order: Codex builds its history from
 * output_item.done in arrival order, and st->items stays in index order.
 * open_index is the last part opened (kept after it closes), so a call
 * below it was closed then.
 */
static int
call_open(const struct px_dstate *st, unsigned k)
{
	return st->calls[k].out_index >= 0 &&
	    st->calls[k].out_index >= st->open_index;
}

/* A message item with its output_text part, or a reasoning item with its
 * summary part, at the next output index; open calls close first. */
static void
open_part(struct jw *w, struct px_dstate *st, enum px_dopen kind)
{
	struct item it;
	unsigned k;

	for (k = 0; k < st->ncalls; k++)
		if (call_open(st, k))
			close_call(w, st, k, "completed");
	st->open_kind = kind;
	st->open_index = (int)st->next_index++;
	item_id(st, kind == PX_DOPEN_TEXT ? K_MESSAGE : K_REASONING,
	    st->open_index, st->open_id);
	px_buf_reset(kind == PX_DOPEN_TEXT ? &st->text : &st->reasoning);
	it = open_item(st, "in_progress", 1);
	ev_item(w, st, "response.output_item.added", &it);
	ev_begin(w, st, kind == PX_DOPEN_TEXT ?
	    "response.content_part.added" :
	    "response.reasoning_summary_part.added");
	put_open_ref(w, st);
	jw_s(w, ",\"part\":");
	if (kind == PX_DOPEN_TEXT)
		put_text_part(w, "", 0);
	else
		put_summary_part(w, "", 0);
	ev_end(w);
}

/* The .done events of the open part, then its item. */
static void
close_part(struct jw *w, struct px_dstate *st, const char *status)
{
	struct item it = open_item(st, status, 0);
	int text = st->open_kind == PX_DOPEN_TEXT;

	ev_begin(w, st, text ? "response.output_text.done" :
	    "response.reasoning_summary_text.done");
	put_open_ref(w, st);
	jw_s(w, ",\"text\":");
	jw_str(w, it.text, it.n);
	jw_s(w, text ? ",\"logprobs\":[]" : "");
	ev_end(w);
	ev_begin(w, st, text ? "response.content_part.done" :
	    "response.reasoning_summary_part.done");
	put_open_ref(w, st);
	jw_s(w, ",\"part\":");
	if (text)
		put_text_part(w, it.text, it.n);
	else
		put_summary_part(w, it.text, it.n);
	ev_end(w);
	done_item(w, st, &it);
	st->open_kind = PX_DOPEN_NONE;
}

/* --- encode: the callbacks ------------------------------------------------ */

static enum px_err
r_open(struct px_dstate *st, struct px_buf *out)
{
	struct jw w = writer(st, out);

	ev_lifecycle(&w, st, "response.created", &in_progress);
	ev_lifecycle(&w, st, "response.in_progress", &in_progress);
	return w.rc;
}

/* Text closes an open reasoning item; a message item opens on demand
 * (text after a call starts a new one at the next index). */
static enum px_err
r_text(struct px_dstate *st, const char *p, size_t n, struct px_buf *out)
{
	struct jw w = writer(st, out);

	if (st->open_kind == PX_DOPEN_REASONING)
		close_part(&w, st, "completed");
	if (st->open_kind == PX_DOPEN_NONE)
		open_part(&w, st, PX_DOPEN_TEXT);
	ev_begin(&w, st, "response.output_text.delta");
	put_open_ref(&w, st);
	jw_s(&w, ",\"delta\":");
	jw_str(&w, p, n);
	jw_s(&w, ",\"logprobs\":[]");
	ev_end(&w);
	keep_text(st, &st->text, p, n);
	return w.rc;
}

/* Reasoning maps to summary events (visible by default in Codex).
 * Reasoning arriving while a message is open is dropped rather than
 * splitting the answer into several message items. */
static enum px_err
r_reasoning(struct px_dstate *st, const char *p, size_t n,
    struct px_buf *out)
{
	struct jw w = writer(st, out);

	if (st->open_kind == PX_DOPEN_TEXT)
		return PX_OK;
	if (st->open_kind == PX_DOPEN_NONE)
		open_part(&w, st, PX_DOPEN_REASONING);
	ev_begin(&w, st, "response.reasoning_summary_text.delta");
	put_open_ref(&w, st);
	jw_s(&w, ",\"delta\":");
	jw_str(&w, p, n);
	ev_end(&w);
	keep_text(st, &st->reasoning, p, n);
	return w.rc;
}

static struct item
call_item(const struct px_dstate *st, unsigned k, const char *status,
    int added)
{
	const struct px_dcall *c = &st->calls[k];
	struct item it = { c->custom ? K_CUSTOM : K_CALL, c->out_index,
		status, c->args.p != NULL ? c->args.p : "", c->args.len,
		added, c };

	return it;
}

/* A call item opens at the next index and stays open until the end
 * (§A.4.6); an open message or reasoning item closes first. */
static enum px_err
r_call_start(struct px_dstate *st, unsigned k, struct px_buf *out)
{
	struct jw w = writer(st, out);
	struct item it;

	if (st->open_kind != PX_DOPEN_NONE)
		close_part(&w, st, "completed");
	st->calls[k].out_index = (int)st->next_index++;
	it = call_item(st, k, "in_progress", 1);
	ev_item(&w, st, "response.output_item.added", &it);
	return w.rc;
}

/* Argument deltas; none for custom tools, whose wrapped {"input":...}
 * JSON is not the input the client expects. */
static enum px_err
r_call_args(struct px_dstate *st, unsigned k, const char *p, size_t n,
    struct px_buf *out)
{
	struct jw w = writer(st, out);
	char id[PX_DID];
	const struct px_dcall *c = &st->calls[k];

	if (c->custom || !call_open(st, k))
		return PX_OK;	/* a closed call's late bytes: not sent */
	item_id(st, K_CALL, c->out_index, id);
	ev_begin(&w, st, "response.function_call_arguments.delta");
	jw_s(&w, ",\"item_id\":");
	jw_q(&w, id);
	jw_s(&w, ",\"output_index\":");
	jw_long(&w, c->out_index);
	jw_s(&w, ",\"delta\":");
	jw_str(&w, p, n);
	ev_end(&w);
	return w.rc;
}

/*
 * A custom call's input: the "input" string of its {"input": ...}
 * arguments, or the raw arguments when they are not that shape. Parsed
 * once per custom call at the end, not per event.
 */
static void
close_custom(struct jw *w, struct px_dstate *st, unsigned k,
    const char *status)
{
	struct item it = call_item(st, k, status, 0);
	cJSON *j = cJSON_ParseWithLength(it.text, it.n);
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(j, "input");

	if (cJSON_IsString(in)) {
		it.text = in->valuestring;
		it.n = strlen(in->valuestring);
	}
	done_item(w, st, &it);
	cJSON_Delete(j);
}

static void
close_call(struct jw *w, struct px_dstate *st, unsigned k,
    const char *status)
{
	struct item it = call_item(st, k, status, 0);
	char id[PX_DID];

	if (it.kind == K_CUSTOM) {
		close_custom(w, st, k, status);
		return;
	}
	item_id(st, K_CALL, it.index, id);
	ev_begin(w, st, "response.function_call_arguments.done");
	jw_s(w, ",\"item_id\":");
	jw_q(w, id);
	jw_s(w, ",\"output_index\":");
	jw_long(w, it.index);
	jw_s(w, ",\"name\":");
	jw_q(w, st->calls[k].name);
	jw_s(w, ",\"arguments\":");
	jw_str(w, it.text, it.n);
	ev_end(w);
	done_item(w, st, &it);
}

/*
 * Close every open item: the open part, then the open calls in
 * output_index order (calls open in k order, each at the next index;
 * while a part is open no call is). failed: all
 * incomplete; incomplete: the last item (the one cut short); else
 * completed.
 */
static void
close_all(struct jw *w, struct px_dstate *st, const struct outcome *o,
    int failed)
{
	int last = (int)st->next_index - 1;
	unsigned k;

	if (st->open_kind != PX_DOPEN_NONE)
		close_part(w, st, failed || (o->reason != NULL &&
		    st->open_index == last) ? "incomplete" : "completed");
	for (k = 0; k < st->ncalls; k++)
		if (call_open(st, k))
			close_call(w, st, k, failed || (o->reason != NULL &&
			    st->calls[k].out_index == last) ? "incomplete" :
			    "completed");
}

/* The terminal events of a stream. In collect mode nothing: body() closes
 * and writes the object. */
static enum px_err
r_finish(struct px_dstate *st, struct px_buf *out)
{
	struct jw w = writer(st, out);
	struct outcome o;

	if (st->collect)
		return PX_OK;
	o = outcome_of(st);
	close_all(&w, st, &o, 0);
	o = outcome_of(st);	/* after closing: overflow may have grown */
	ev_lifecycle(&w, st, o.event, &o);
	return w.rc;
}

/* After commit: close what is open as incomplete, then response.failed
 * with the items so far. No "error" event: openai-node's stream helper
 * rejects finalResponse() with it, while response.failed resolves. */
static enum px_err
r_fail(struct px_dstate *st, const char *message, int overloaded,
    struct px_buf *out)
{
	struct jw w = writer(st, out);
	struct outcome o = { "response.failed", "failed", NULL, NULL,
		message, 1 };

	if (st->collect)
		return PX_OK;
	o.code = overloaded ? "rate_limit_exceeded" : "server_error";
	close_all(&w, st, &o, 1);
	ev_lifecycle(&w, st, o.event, &o);
	return w.rc;
}

/* The non-stream object: close what collect mode gathered, then write. */
static enum px_err
r_body(struct px_dstate *st, struct px_buf *out)
{
	struct jw none = { NULL, PX_OK }, w = { out, PX_OK };
	struct outcome o = outcome_of(st);

	close_all(&none, st, &o, 0);
	o = outcome_of(st);
	put_response(&w, st, &o);
	return none.rc != PX_OK ? none.rc : w.rc;
}

/* The OpenAI error body (openai-node reads error.message/type/param/
 * code). A refused previous_response_id carries api.openai.com's code
 * for an unknown id, so clients that handle it fall back to full input. */
static enum px_err
r_error(const struct px_dstate *st, int status, const char *type,
    const char *message, const char *param, const char *code,
    struct px_buf *out, int *http)
{
	(void)st;
	if (code == NULL && status == 400 && param != NULL &&
	    strcmp(param, "previous_response_id") == 0)
		code = "previous_response_not_found";
	px_buf_reset(out);
	*http = status;
	return px_err_json(out, message, type, param, code);
}

const struct px_dialect px_dialect_responses = {
	.id        = PX_DIALECT_RESPONSES,
	.name      = "responses",
	.decode    = px_responses_decode,
	.open      = r_open,
	.text      = r_text,
	.reasoning = r_reasoning,
	.call_start = r_call_start,
	.call_args = r_call_args,
	.finish    = r_finish,
	.fail      = r_fail,
	.body      = r_body,
	.error     = r_error,
	.headers   = NULL,
};
