/*
 * dialect_messages.c -- the Anthropic Messages API (POST /v1/messages and
 * /v1/messages/count_tokens) as a dialect over the canonical chat form:
 * the table and the reply side (the request side is
 * dialect_messages_decode.c).
 * Owns: the stream encoder (message_start, sequential content blocks,
 * tool_use blocks buffered to the end, message_delta with usage,
 * message_stop, the in-stream error event), the non-stream message
 * object, the Anthropic error shape and status, and the request-id
 * header.
 * Never: I/O, clocks, randomness or logging; cJSON or allocation on the
 * stream path (events are written into the reused out buffer); client or
 * upstream text spliced into JSON without the escaper.
 * Load: a few events per upstream chunk.
 */
#include "dialect_messages.h"
#include "dialect_messages_int.h"

#include <stdio.h>
#include <string.h>

#include <cJSON.h>

/* --- the response: shared pieces ------------------------------------------ */

struct usage4 {
	long input, output, cache_write, cache_read;
};

static long
nonneg(long v)
{
	return v > 0 ? v : 0;
}

/*
 * Anthropic counts input in three disjoint parts, chat's prompt_tokens
 * includes the cached ones: input = prompt - cache reads - cache writes.
 * Before any usage is known: the estimate and no output.
 */
static struct usage4
usage_of(const struct px_dstate *st)
{
	struct usage4 u = { nonneg(st->est_input), 0, 0, 0 };

	if (!st->have_usage)
		return u;
	u.cache_read = nonneg(st->cached_tokens);
	u.cache_write = nonneg(st->cache_write_tokens);
	u.input = nonneg(st->prompt_tokens - u.cache_read - u.cache_write);
	u.output = nonneg(st->completion_tokens);
	return u;
}

/* "usage":{...}: all four always (a client crashed on missing ones). */
static enum px_err
usage_json(struct px_buf *out, const struct usage4 *u)
{
	return px_buf_printf(out, "\"usage\":{\"input_tokens\":%ld,"
	    "\"output_tokens\":%ld,\"cache_creation_input_tokens\":%ld,"
	    "\"cache_read_input_tokens\":%ld}", u->input, u->output,
	    u->cache_write, u->cache_read);
}

/* The chat finish reason as a stop_reason: a "stop" with calls is a tool
 * turn (Gemini says "stop" there); "tool_calls" without any call is not,
 * since no tool_use block follows. */
static const char *
stop_reason(const struct px_dstate *st)
{
	if (strcmp(st->finish, "length") == 0)
		return "max_tokens";
	if (strcmp(st->finish, "content_filter") == 0)
		return "refusal";
	return st->ncalls > 0 ? "tool_use" : "end_turn";
}

static int
id_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && s[n] == '\0';
}

/* tool_use ids come back as tool_use_id and Anthropic's own match
 * ^[A-Za-z0-9_-]+$: the upstream's id when it does, else toolu_<uid>_<k>. */
static void
fix_id(struct px_dstate *st, unsigned k)
{
	const char *uid = strncmp(st->id, "msg_", 4) == 0 ? st->id + 4 :
	    st->id;

	if (!id_ok(st->calls[k].id))
		snprintf(st->calls[k].id, sizeof(st->calls[k].id),
		    "toolu_%.40s_%u", uid, k);
}

/* {"id":..,"type":"message","role":"assistant","model":..,"content":[ */
static enum px_err
msg_head(const struct px_dstate *st, struct px_buf *out)
{
	enum px_err rc = px_buf_adds(out, "{\"id\":");

	if (rc == PX_OK)
		rc = px_djson_str(out, st->id, strlen(st->id));
	if (rc == PX_OK)
		rc = px_buf_adds(out, ",\"type\":\"message\",\"role\":"
		    "\"assistant\",\"model\":");
	if (rc == PX_OK)
		rc = px_djson_str(out, st->model, strlen(st->model));
	if (rc == PX_OK)
		rc = px_buf_adds(out, ",\"content\":[");
	return rc;
}

/* ],"stop_reason":..,"stop_sequence":null,"usage":{..}} -- chat does not
 * say which stop sequence matched, so stop_sequence is always null. */
static enum px_err
msg_tail(const char *stop, const struct usage4 *u, struct px_buf *out)
{
	enum px_err rc = px_buf_printf(out, "],\"stop_reason\":%s%s%s,"
	    "\"stop_sequence\":null,", stop != NULL ? "\"" : "",
	    stop != NULL ? stop : "null", stop != NULL ? "\"" : "");

	if (rc == PX_OK)
		rc = usage_json(out, u);
	if (rc == PX_OK)
		rc = px_buf_addc(out, '}');
	return rc;
}

/* --- stream events -------------------------------------------------------- */

/*
 * "event: <type>\ndata: {"type":"<type>"": the event name always equals
 * the JSON type (the SDK dispatches on the name and drops events without
 * one). The caller adds members, then ev_end().
 */
static enum px_err
ev_begin(struct px_buf *out, const char *type)
{
	enum px_err rc = px_devent_begin(out, type);

	if (rc == PX_OK)
		rc = px_buf_printf(out, "{\"type\":\"%s\"", type);
	return rc;
}

static enum px_err
ev_end(struct px_buf *out)
{
	enum px_err rc = px_buf_addc(out, '}');

	if (rc == PX_OK)
		rc = px_devent_end(out);
	return rc;
}

/* content_block_delta {"type":dtype, field: s[0..n)} at index. */
static enum px_err
ev_delta(struct px_buf *out, int index, const char *dtype, const char *field,
    const char *s, size_t n)
{
	enum px_err rc = ev_begin(out, "content_block_delta");

	if (rc == PX_OK)
		rc = px_buf_printf(out, ",\"index\":%d,\"delta\":{\"type\":"
		    "\"%s\",\"%s\":", index, dtype, field);
	if (rc == PX_OK)
		rc = px_djson_str(out, s, n);
	if (rc == PX_OK)
		rc = px_buf_addc(out, '}');
	if (rc == PX_OK)
		rc = ev_end(out);
	return rc;
}

static enum px_err
ev_stop(struct px_buf *out, int index)
{
	enum px_err rc = ev_begin(out, "content_block_stop");

	if (rc == PX_OK)
		rc = px_buf_printf(out, ",\"index\":%d", index);
	if (rc == PX_OK)
		rc = ev_end(out);
	return rc;
}

/* Close the open text or thinking block; a thinking block gets its
 * signature_delta just before the stop, empty: the proxy has none. */
static enum px_err
block_close(struct px_dstate *st, struct px_buf *out)
{
	enum px_err rc = PX_OK;

	if (st->open_kind == PX_DOPEN_NONE)
		return PX_OK;
	if (st->open_kind == PX_DOPEN_REASONING)
		rc = ev_delta(out, st->open_index, "signature_delta",
		    "signature", "", 0);
	if (rc == PX_OK)
		rc = ev_stop(out, st->open_index);
	st->open_kind = PX_DOPEN_NONE;
	st->open_index = -1;
	return rc;
}

/* Blocks are sequential, one open at a time, each with the next index
 * (reusing an index for another block type breaks clients). */
static enum px_err
block_open(struct px_dstate *st, enum px_dopen kind, struct px_buf *out)
{
	enum px_err rc = block_close(st, out);

	if (rc == PX_OK)
		rc = ev_begin(out, "content_block_start");
	if (rc == PX_OK)
		rc = px_buf_printf(out, ",\"index\":%u,\"content_block\":%s",
		    st->next_index, kind == PX_DOPEN_TEXT ?
		    "{\"type\":\"text\",\"text\":\"\"}" :
		    "{\"type\":\"thinking\",\"thinking\":\"\","
		    "\"signature\":\"\"}");
	if (rc == PX_OK)
		rc = ev_end(out);
	if (rc == PX_OK) {
		st->open_kind = kind;
		st->open_index = (int)st->next_index++;
	}
	return rc;
}

static enum px_err
block_delta(struct px_dstate *st, enum px_dopen kind, const char *p,
    size_t n, struct px_buf *out)
{
	enum px_err rc = PX_OK;

	if (st->open_kind != kind)
		rc = block_open(st, kind, out);
	if (rc != PX_OK)
		return rc;
	if (kind == PX_DOPEN_TEXT)
		return ev_delta(out, st->open_index, "text_delta", "text", p,
		    n);
	return ev_delta(out, st->open_index, "thinking_delta", "thinking", p,
	    n);
}

/* One buffered call as a whole tool_use block: start with input {}, its
 * arguments in one input_json_delta ({} when empty), stop. */
static enum px_err
tool_block(struct px_dstate *st, unsigned k, struct px_buf *out)
{
	struct px_dcall *c = &st->calls[k];
	enum px_err rc;

	fix_id(st, k);
	c->out_index = (int)st->next_index++;
	rc = ev_begin(out, "content_block_start");
	if (rc == PX_OK)
		rc = px_buf_printf(out, ",\"index\":%d,\"content_block\":"
		    "{\"type\":\"tool_use\",\"id\":", c->out_index);
	if (rc == PX_OK)
		rc = px_djson_str(out, c->id, strlen(c->id));
	if (rc == PX_OK)
		rc = px_buf_adds(out, ",\"name\":");
	if (rc == PX_OK)
		rc = px_djson_str(out, c->name, strlen(c->name));
	if (rc == PX_OK)
		rc = px_buf_adds(out, ",\"input\":{}}");
	if (rc == PX_OK)
		rc = ev_end(out);
	if (rc == PX_OK)
		rc = ev_delta(out, c->out_index, "input_json_delta",
		    "partial_json", c->args.len > 0 ? c->args.p : "{}",
		    c->args.len > 0 ? c->args.len : 2);
	if (rc == PX_OK)
		rc = ev_stop(out, c->out_index);
	return rc;
}

/* --- stream callbacks ----------------------------------------------------- */

/* message_start: usage is not known yet, so input_tokens is the estimate
 * and output_tokens 1; message_delta carries the real numbers. */
static enum px_err
msg_open(struct px_dstate *st, struct px_buf *out)
{
	struct usage4 u = { nonneg(st->est_input), 1, 0, 0 };
	enum px_err rc;

	if (st->collect)
		return PX_OK;
	rc = ev_begin(out, "message_start");
	if (rc == PX_OK)
		rc = px_buf_adds(out, ",\"message\":");
	if (rc == PX_OK)
		rc = msg_head(st, out);
	if (rc == PX_OK)
		rc = msg_tail(NULL, &u, out);
	if (rc == PX_OK)
		rc = ev_end(out);
	return rc;
}

static enum px_err
msg_text(struct px_dstate *st, const char *p, size_t n, struct px_buf *out)
{
	if (st->collect)
		return px_buf_add(&st->text, p, n);
	return block_delta(st, PX_DOPEN_TEXT, p, n, out);
}

static enum px_err
msg_reasoning(struct px_dstate *st, const char *p, size_t n,
    struct px_buf *out)
{
	if (st->collect)
		return px_buf_add(&st->reasoning, p, n);
	return block_delta(st, PX_DOPEN_REASONING, p, n, out);
}

/*
 * Calls are buffered (the engine keeps their arguments) and sent whole at
 * the end: chat streams interleave fragments of parallel calls while
 * Anthropic blocks are strictly sequential, and Gemini omits indexes;
 * streaming them live is where other proxies lost arguments.
 */
static enum px_err
msg_call_start(struct px_dstate *st, unsigned k, struct px_buf *out)
{
	(void)k;
	return st->collect ? PX_OK : block_close(st, out);
}

static enum px_err
msg_call_args(struct px_dstate *st, unsigned k, const char *p, size_t n,
    struct px_buf *out)
{
	(void)st;
	(void)k;
	(void)p;
	(void)n;
	(void)out;
	return PX_OK;
}

static enum px_err
msg_finish(struct px_dstate *st, struct px_buf *out)
{
	struct usage4 u = usage_of(st);
	unsigned k;
	enum px_err rc;

	if (st->collect)
		return PX_OK;
	rc = block_close(st, out);
	for (k = 0; rc == PX_OK && k < st->ncalls; k++)
		rc = tool_block(st, k, out);
	if (rc == PX_OK)
		rc = ev_begin(out, "message_delta");
	if (rc == PX_OK)
		rc = px_buf_printf(out, ",\"delta\":{\"stop_reason\":\"%s\","
		    "\"stop_sequence\":null},", stop_reason(st));
	if (rc == PX_OK)
		rc = usage_json(out, &u);
	if (rc == PX_OK)
		rc = ev_end(out);
	if (rc == PX_OK)
		rc = ev_begin(out, "message_stop");
	if (rc == PX_OK)
		rc = ev_end(out);
	return rc;
}

/* One error event and nothing after it: no message_delta or
 * message_stop (the SDK throws on it with error.type). */
static enum px_err
msg_fail(struct px_dstate *st, const char *message, int overloaded,
    struct px_buf *out)
{
	enum px_err rc;

	if (message == NULL)
		message = "upstream failed mid-stream";
	if (st->collect)
		return PX_OK;
	rc = ev_begin(out, "error");
	if (rc == PX_OK)
		rc = px_buf_printf(out, ",\"error\":{\"type\":\"%s\","
		    "\"message\":", overloaded ? "overloaded_error" :
		    "api_error");
	if (rc == PX_OK)
		rc = px_djson_str(out, message, strlen(message));
	if (rc == PX_OK)
		rc = px_buf_addc(out, '}');
	if (rc == PX_OK)
		rc = ev_end(out);
	return rc;
}

/* --- the non-stream message ----------------------------------------------- */

/* pre{"type":type,type:text<extra>} */
static enum px_err
text_block(struct px_buf *out, const char *pre, const char *type,
    const struct px_buf *text, const char *extra)
{
	enum px_err rc = px_buf_printf(out, "%s{\"type\":\"%s\",\"%s\":", pre,
	    type, type);

	if (rc == PX_OK)
		rc = px_djson_str(out, text->p, text->len);
	if (rc == PX_OK)
		rc = px_buf_adds(out, extra);
	if (rc == PX_OK)
		rc = px_buf_addc(out, '}');
	return rc;
}

static int
json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
only_ws(const char *p, const char *end)
{
	while (p < end && json_ws(*p))
		p++;
	return p == end;
}

/*
 * A call's arguments as tool_use input: the parsed object, printed by
 * cJSON so the body is valid JSON whatever the upstream sent; {} when
 * they are empty or not a JSON object (the client then reports a schema
 * error to the model, which retries).
 */
static enum px_err
tool_input(const struct px_buf *args, struct px_buf *out)
{
	const char *end = NULL;
	cJSON *j = NULL;
	char *s = NULL;
	enum px_err rc = PX_OK;

	if (args->len > 0)
		j = cJSON_ParseWithLengthOpts(args->p, args->len, &end, 0);
	if (j != NULL && cJSON_IsObject(j) &&
	    only_ws(end, args->p + args->len)) {
		s = cJSON_PrintUnformatted(j);
		if (s == NULL)
			rc = PX_ENOMEM;
	}
	if (rc == PX_OK)
		rc = px_buf_adds(out, s != NULL ? s : "{}");
	cJSON_free(s);
	cJSON_Delete(j);
	return rc;
}

static enum px_err
tool_use_block(struct px_dstate *st, unsigned k, const char *pre,
    struct px_buf *out)
{
	const struct px_dcall *c = &st->calls[k];
	enum px_err rc;

	fix_id(st, k);
	rc = px_buf_printf(out, "%s{\"type\":\"tool_use\",\"id\":", pre);
	if (rc == PX_OK)
		rc = px_djson_str(out, c->id, strlen(c->id));
	if (rc == PX_OK)
		rc = px_buf_adds(out, ",\"name\":");
	if (rc == PX_OK)
		rc = px_djson_str(out, c->name, strlen(c->name));
	if (rc == PX_OK)
		rc = px_buf_adds(out, ",\"input\":");
	if (rc == PX_OK)
		rc = tool_input(&c->args, out);
	if (rc == PX_OK)
		rc = px_buf_addc(out, '}');
	return rc;
}

/* content: thinking (when the request asked for it), text, tool_use. */
static enum px_err
msg_body(struct px_dstate *st, struct px_buf *out)
{
	struct usage4 u = usage_of(st);
	int think = (st->flags & PX_DF_REASONING) && st->reasoning.len > 0;
	int any = think || st->text.len > 0;
	unsigned k;
	enum px_err rc = msg_head(st, out);

	if (rc == PX_OK && think)
		rc = text_block(out, "", "thinking", &st->reasoning,
		    ",\"signature\":\"\"");
	if (rc == PX_OK && st->text.len > 0)
		rc = text_block(out, think ? "," : "", "text", &st->text, "");
	for (k = 0; rc == PX_OK && k < st->ncalls; k++)
		rc = tool_use_block(st, k, any || k > 0 ? "," : "", out);
	if (rc == PX_OK)
		rc = msg_tail(stop_reason(st), &u, out);
	return rc;
}

/* --- errors and headers --------------------------------------------------- */

static const struct {
	int         status;
	const char *type;
} err_types[] = {
	{ 400, "invalid_request_error" }, { 401, "authentication_error" },
	{ 402, "billing_error" }, { 403, "permission_error" },
	{ 404, "not_found_error" }, { 413, "request_too_large" },
	{ 429, "rate_limit_error" }, { 500, "api_error" },
	{ 502, "api_error" }, { 503, "overloaded_error" },
	{ 504, "timeout_error" }, { 529, "overloaded_error" },
};

static const char *
error_type(int status)
{
	size_t i;

	for (i = 0; i < sizeof(err_types) / sizeof(err_types[0]); i++) {
		if (err_types[i].status == status)
			return err_types[i].type;
	}
	return status >= 400 && status < 500 ? "invalid_request_error" :
	    "api_error";
}

/*
 * {"type":"error","error":{"type","message"}} with Anthropic's type for
 * the status; an overloaded provider (503) is answered 529, which the SDK
 * retries and reports as overloaded. The OpenAI type, param and code are
 * not part of this shape (the message names the field already).
 */
static enum px_err
msg_error(const struct px_dstate *st, int status, const char *type,
    const char *message, const char *param, const char *code,
    struct px_buf *out, int *http)
{
	const char *t = error_type(status);
	enum px_err rc;

	(void)st;
	(void)type;
	(void)param;
	(void)code;
	if (message == NULL)
		message = px_http_reason(status);
	px_buf_reset(out);
	*http = strcmp(t, "overloaded_error") == 0 ? 529 : status;
	rc = px_buf_printf(out, "{\"type\":\"error\",\"error\":{\"type\":"
	    "\"%s\",\"message\":", t);
	if (rc == PX_OK)
		rc = px_djson_str(out, message, strlen(message));
	if (rc == PX_OK)
		rc = px_buf_adds(out, "}}");
	return rc;
}

/* request-id on every response (the SDK shows it in its errors); nothing
 * for an id that could not travel in a header unchanged. */
static void
msg_headers(const char *reqid, char *dst, size_t cap)
{
	int n;

	if (dst == NULL || cap == 0)
		return;
	dst[0] = '\0';
	if (reqid == NULL || reqid[strspn(reqid, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")] != '\0' ||
	    reqid[0] == '\0')
		return;
	n = snprintf(dst, cap, "request-id: req_%s\r\n", reqid);
	if (n < 0 || (size_t)n >= cap)
		dst[0] = '\0';
}

const struct px_dialect px_dialect_messages = {
	.id         = PX_DIALECT_MESSAGES,
	.name       = "messages",
	.decode     = px_messages_decode,
	.open       = msg_open,
	.text       = msg_text,
	.reasoning  = msg_reasoning,
	.call_start = msg_call_start,
	.call_args  = msg_call_args,
	.finish     = msg_finish,
	.fail       = msg_fail,
	.body       = msg_body,
	.error      = msg_error,
	.headers    = msg_headers,
};
