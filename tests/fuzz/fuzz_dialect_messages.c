/*
 * fuzz_dialect_messages.c -- libFuzzer target for the Anthropic Messages
 * dialect (common/dialect_messages*.c): the decoder
 * (px_dialect_get(PX_DIALECT_MESSAGES)->decode) and px_messages_count
 * (dialect_messages.h), then the encoder through the shared engine
 * (px_dialect_chunk, px_dialect_end / px_dialect_fail, px_dialect_body).
 * Owns: its checks and the reference they compare with, if any.
 * Never: network, files or clocks; links only the modules it fuzzes.
 * Input (fuzz_dialect.h): line 1 "opts max_values"; line 2 the client's
 * Messages body (an exact-size copy); the rest canonical chat chunks, one
 * a line, fed as a stream (exact-size copies), then the whole rest as one
 * non-stream completion body. opts: 1 end with px_dialect_fail, 2
 * overloaded, 4 also px_messages_count on the body, 8 reasoning in the
 * state used when the body is refused, bits 5-6 pick the failure
 * message. max_values 0 is the default cap; another value is the cap,
 * and the body is decoded again with the default (PX_ETOOBIG, or the same
 * result).
 * Checks: decode returns OK, EBADREQ, ETOOBIG or ENOMEM; on OK the
 * canonical request is strict JSON that px_validate_chat accepts with the
 * model and stream of the state, the id is msg_<uid>; on a refusal err
 * has a param and a one-line UTF-8 message starting with it, and error()
 * writes {"type":"error","error":{type, the refusal's message}} with the
 * refusal's status. count: a body decode accepts is counted, the answer
 * is {"input_tokens":N} with N the estimate of the canonical request's
 * prompt bytes, PX_DF_COUNT set; refusals as above. Stream (with the
 * decoded state, or a fallback one when the body was refused): every
 * event is "event: T\ndata: <strict JSON, UTF-8 when the chunks were,
 * type T>\n\n"; message_start first (the state's id and model), then
 * content blocks strictly one after another at index 0, 1, 2, ... (start,
 * deltas of the block's own kind, stop), thinking blocks only when the
 * request asked for reasoning, tool_use blocks (ids of [A-Za-z0-9_-])
 * after every text and thinking block; then message_delta (no block
 * open, a known stop_reason, tool_use exactly when there were tool_use
 * blocks unless cut short, four counts) and message_stop, or a single
 * error event on failure; message_stop or error last. Body: PX_OK or
 * PX_EUPSTREAM; the message object is strict JSON with the state's id
 * and model, thinking, text, tool_use blocks in that order, tool inputs
 * objects, a known stop_reason and four counts.
 */
#include "fuzz_dialect.h"
#include "dialect_messages.h"

static int
id_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && s[n] == '\0';
}

static int
stop_ok(const char *s)
{
	return s != NULL && (strcmp(s, "end_turn") == 0 ||
	    strcmp(s, "max_tokens") == 0 || strcmp(s, "tool_use") == 0 ||
	    strcmp(s, "refusal") == 0);
}

static void
check_usage(const cJSON *u)
{
	FZ_CHECK(fz_jint(u, "input_tokens") >= 0 &&
	    fz_jint(u, "output_tokens") >= 0 &&
	    fz_jint(u, "cache_creation_input_tokens") >= 0 &&
	    fz_jint(u, "cache_read_input_tokens") >= 0,
	    "usage: four non-negative counts");
}

/* The head every message object has: the state's id and model. */
static void
check_message(const cJSON *m, const struct px_dstate *st)
{
	FZ_CHECK(fz_jstr(m, "id") != NULL && strcmp(fz_jstr(m, "id"),
	    st->id) == 0, "message.id is the state's");
	FZ_CHECK(fz_jstr(m, "model") != NULL && strcmp(fz_jstr(m, "model"),
	    st->model) == 0, "message.model is the client's");
	FZ_CHECK(fz_jstr(m, "type") != NULL && strcmp(fz_jstr(m, "type"),
	    "message") == 0 && fz_jstr(m, "role") != NULL &&
	    strcmp(fz_jstr(m, "role"), "assistant") == 0,
	    "an assistant message");
	FZ_CHECK(cJSON_IsArray(fz_jget(m, "content")), "content an array");
	check_usage(fz_jget(m, "usage"));
}

static void
check_stream(const struct px_dstate *st, const struct fz_drive *dr,
    unsigned opts)
{
	const struct fz_evs *e = &dr->evs;
	const cJSON *j, *cb, *d;
	const char *t, *s, *kind = NULL, *stop = NULL;
	long open = -1, next = 0;
	int tools = 0;
	size_t k;

	FZ_CHECK(e->n >= 2, "message_start and an end");
	for (k = 0; k < e->n; k++) {
		j = e->v[k].j;
		t = e->v[k].type;
		FZ_CHECK((k == 0) == (strcmp(t, "message_start") == 0),
		    "message_start first, and only there");
		FZ_CHECK((k == e->n - 1) == (strcmp(t, "message_stop") == 0 ||
		    strcmp(t, "error") == 0),
		    "message_stop or error last, and only there");
		if (strcmp(t, "message_start") == 0) {
			check_message(fz_jget(j, "message"), st);
		} else if (strcmp(t, "content_block_start") == 0) {
			FZ_CHECK(open == -1, "blocks one after another");
			FZ_CHECK(fz_jint(j, "index") == next,
			    "blocks at index 0, 1, 2, ...");
			open = next++;
			cb = fz_jget(j, "content_block");
			kind = fz_jstr(cb, "type");
			FZ_CHECK(kind != NULL && (strcmp(kind, "text") == 0 ||
			    strcmp(kind, "thinking") == 0 ||
			    strcmp(kind, "tool_use") == 0), "a known block");
			FZ_CHECK(strcmp(kind, "thinking") != 0 ||
			    (st->flags & PX_DF_REASONING),
			    "thinking only when asked for");
			if (strcmp(kind, "tool_use") == 0) {
				tools = 1;
				FZ_CHECK(fz_jstr(cb, "id") != NULL &&
				    id_ok(fz_jstr(cb, "id")),
				    "tool_use ids are [A-Za-z0-9_-]+");
				FZ_CHECK(fz_jstr(cb, "name") != NULL &&
				    cJSON_IsObject(fz_jget(cb, "input")),
				    "tool_use: a name and an input object");
			} else {
				FZ_CHECK(!tools, "tool_use blocks come last");
			}
		} else if (strcmp(t, "content_block_delta") == 0) {
			FZ_CHECK(open >= 0 && fz_jint(j, "index") == open,
			    "a delta of the open block");
			d = fz_jget(j, "delta");
			s = fz_jstr(d, "type");
			FZ_CHECK(s != NULL, "a delta type");
			if (strcmp(kind, "text") == 0)
				FZ_CHECK(strcmp(s, "text_delta") == 0 &&
				    fz_jstr(d, "text") != NULL &&
				    (fz_jstr(d, "text")[0] != '\0' ||
				    e->v[k].nul), "text_delta, non-empty");
			else if (strcmp(kind, "thinking") == 0)
				FZ_CHECK((strcmp(s, "thinking_delta") == 0 &&
				    fz_jstr(d, "thinking") != NULL) ||
				    (strcmp(s, "signature_delta") == 0 &&
				    fz_jstr(d, "signature") != NULL),
				    "thinking or signature delta");
			else
				FZ_CHECK(strcmp(s, "input_json_delta") == 0 &&
				    fz_jstr(d, "partial_json") != NULL,
				    "input_json_delta");
		} else if (strcmp(t, "content_block_stop") == 0) {
			FZ_CHECK(open >= 0 && fz_jint(j, "index") == open,
			    "the stop of the open block");
			open = -1;
		} else if (strcmp(t, "message_delta") == 0) {
			FZ_CHECK(!dr->failed, "no message_delta on failure");
			FZ_CHECK(open == -1, "every block stopped first");
			FZ_CHECK(k + 2 == e->n, "message_delta, message_stop");
			stop = fz_jstr(fz_jget(j, "delta"), "stop_reason");
			FZ_CHECK(stop_ok(stop), "a known stop_reason");
			FZ_CHECK((strcmp(stop, "tool_use") == 0) ==
			    (tools && strcmp(stop, "max_tokens") != 0 &&
			    strcmp(stop, "refusal") != 0),
			    "tool_use exactly when tools were used");
			check_usage(fz_jget(j, "usage"));
		} else if (strcmp(t, "message_stop") == 0) {
			FZ_CHECK(!dr->failed && stop != NULL,
			    "message_stop after message_delta");
		} else if (strcmp(t, "error") == 0) {
			FZ_CHECK(dr->failed, "an error event only on failure");
			s = fz_jstr(fz_jget(j, "error"), "type");
			FZ_CHECK(s != NULL && strcmp(s, (opts & FZ_D_BUSY) &&
			    k >= dr->end_at ? "overloaded_error" :
			    "api_error") == 0, "error.type");
			FZ_CHECK(fz_jstr(fz_jget(j, "error"), "message") !=
			    NULL, "error.message");
		} else {
			fprintf(stderr, "event %s\n", t);
			FZ_CHECK(0, "a known event type");
		}
	}
}

static void
check_body(const cJSON *m, const struct px_dstate *st)
{
	const cJSON *b;
	const char *t;
	int order = 0, k, tools = 0;
	const char *stop = fz_jstr(m, "stop_reason");

	check_message(m, st);
	cJSON_ArrayForEach(b, fz_jget(m, "content")) {
		t = fz_jstr(b, "type");
		FZ_CHECK(t != NULL, "body: a block type");
		k = strcmp(t, "thinking") == 0 ? 1 : strcmp(t, "text") == 0 ?
		    2 : strcmp(t, "tool_use") == 0 ? 3 : 0;
		FZ_CHECK(k > 0 && (k > order || k == 3),
		    "body: thinking, text, then tool_use blocks");
		order = k;
		if (k == 1)
			FZ_CHECK(st->flags & PX_DF_REASONING,
			    "body: thinking only when asked for");
		if (k == 3) {
			tools = 1;
			FZ_CHECK(fz_jstr(b, "id") != NULL &&
			    id_ok(fz_jstr(b, "id")) &&
			    fz_jstr(b, "name") != NULL &&
			    cJSON_IsObject(fz_jget(b, "input")),
			    "body: tool_use id, name, input object");
		}
	}
	FZ_CHECK(stop_ok(stop), "body: a known stop_reason");
	FZ_CHECK((strcmp(stop, "tool_use") == 0) == (tools &&
	    strcmp(stop, "max_tokens") != 0 && strcmp(stop, "refusal") != 0),
	    "body: tool_use exactly when tools were used");
}

static void
check_error(const struct px_dstate *st, const struct px_verr *err,
    enum px_err rc)
{
	int status = rc == PX_ETOOBIG ? 413 : 400, http;
	cJSON *j = fz_dialect_error(st, err, status, &http);
	const cJSON *e = fz_jget(j, "error");

	FZ_CHECK(http == status, "the refusal's status");
	FZ_CHECK(fz_jstr(j, "type") != NULL && strcmp(fz_jstr(j, "type"),
	    "error") == 0, "type error");
	FZ_CHECK(fz_jstr(e, "type") != NULL && strcmp(fz_jstr(e, "type"),
	    status == 413 ? "request_too_large" : "invalid_request_error") ==
	    0, "error.type for the status");
	FZ_CHECK(fz_jstr(e, "message") != NULL &&
	    strcmp(fz_jstr(e, "message"), err->msg) == 0,
	    "error.message is the refusal's");
	cJSON_Delete(j);
}

static void
fallback(struct px_dstate *st, unsigned opts)
{
	px_dstate_reset(st, px_dialect_get(PX_DIALECT_MESSAGES));
	snprintf(st->id, sizeof st->id, "msg_%s", FZ_UID);
	snprintf(st->model, sizeof st->model, "fuzz/model");
	st->created = FZ_NOW;
	st->stream = 1;
	st->est_input = 7;
	if (opts & FZ_D_REASONING)
		st->flags |= PX_DF_REASONING;
}

/* px_messages_count of the body: its answer, or its refusal. */
static void
check_count(struct px_dstate *st, const char *body, size_t bn,
    const struct px_dctx *ctx, enum px_err decoded, size_t prompt_bytes)
{
	static struct px_buf chat, out;
	static int init;
	struct px_verr err;
	enum px_err rc;
	char want[48];

	if (!init) {
		px_buf_init(&chat, 64u << 20);
		px_buf_init(&out, 64u << 10);
		init = 1;
	}
	px_dstate_reset(st, px_dialect_get(PX_DIALECT_MESSAGES));
	memset(&err, 0x5a, sizeof err);
	rc = px_messages_count(body, bn, ctx, st, &chat, &err, &out);
	FZ_CHECK(rc == PX_OK || rc == PX_EBADREQ || rc == PX_ETOOBIG ||
	    rc == PX_ENOMEM, "count result");
	FZ_CHECK(decoded != PX_OK || rc == PX_OK,
	    "count accepts what decode accepts");
	if (rc == PX_EBADREQ || rc == PX_ETOOBIG)
		fz_check_verr(&err);
	if (rc != PX_OK) {
		FZ_CHECK(out.len == 0, "no answer on a refusal");
		return;
	}
	FZ_CHECK(st->flags & PX_DF_COUNT, "PX_DF_COUNT set");
	FZ_CHECK(st->est_input >= 1, "at least one token");
	snprintf(want, sizeof want, "{\"input_tokens\":%ld}", st->est_input);
	FZ_CHECK(out.len == strlen(want) && strcmp(out.p, want) == 0,
	    "{\"input_tokens\":N}");
	FZ_CHECK(fz_json_ok(chat.p, chat.len, 1),
	    "count's canonical request is strict JSON");
	if (decoded == PX_OK)
		FZ_CHECK(st->est_input == px_dialect_estimate(prompt_bytes),
		    "the estimate of the canonical request");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct px_dstate st;
	static struct px_buf chat;
	static int init;
	const struct px_dialect *M = px_dialect_get(PX_DIALECT_MESSAGES);
	struct fz_in in = { data, size };
	struct px_dctx ctx = { FZ_UID, FZ_NOW, 0 };
	struct px_verr err;
	struct fz_drive dr;
	const uint8_t *l, *b;
	size_t ln, bn, bytes = 0;
	long long v[2];
	enum px_err rc, rc2 = PX_OK;
	unsigned opts;
	char *body, want[PX_DID];
	cJSON *obj;

	if (!init) {
		px_dstate_init(&st);
		px_buf_init(&chat, 64u << 20);	/* app.c: UP_BUF_MAX */
		init = 1;
	}
	fz_line(&in, &l, &ln);
	fz_ints(l, ln, v, 2);
	opts = (unsigned)v[0];
	ctx.max_values = v[1] > 0 ? (size_t)v[1] : 0;
	fz_line(&in, &b, &bn);
	body = fz_dup(b, bn, 0);

	if (ctx.max_values > 0) {	/* the cap first, then the default */
		px_dstate_reset(&st, M);
		rc2 = M->decode(body, bn, &ctx, &st, &chat, &err);
		FZ_CHECK(rc2 == PX_OK || rc2 == PX_EBADREQ ||
		    rc2 == PX_ETOOBIG || rc2 == PX_ENOMEM, "decode result");
		if (rc2 == PX_EBADREQ || rc2 == PX_ETOOBIG)
			fz_check_verr(&err);
		ctx.max_values = 0;
	}
	px_dstate_reset(&st, M);
	memset(&err, 0x5a, sizeof err);
	rc = M->decode(body, bn, &ctx, &st, &chat, &err);
	FZ_CHECK(rc == PX_OK || rc == PX_EBADREQ || rc == PX_ETOOBIG ||
	    rc == PX_ENOMEM, "decode result");
	if (v[1] > 0)
		FZ_CHECK(rc2 == rc || rc2 == PX_ETOOBIG,
		    "a value cap refuses with PX_ETOOBIG or not at all");
	if (rc == PX_OK) {
		bytes = fz_check_canonical(&chat, &st);
		snprintf(want, sizeof want, "msg_%.48s", FZ_UID);
		FZ_CHECK(strcmp(st.id, want) == 0, "id msg_<uid>");
		FZ_CHECK(st.created == FZ_NOW, "created from the context");
		FZ_CHECK(!(st.flags & PX_DF_COUNT), "not a count");
	} else if (rc == PX_EBADREQ || rc == PX_ETOOBIG) {
		fz_check_verr(&err);
		check_error(&st, &err, rc);
	}
	if (opts & 4) {
		check_count(&st, body, bn, &ctx, rc, bytes);
		if (rc == PX_OK) {	/* the decoded state again */
			px_dstate_reset(&st, M);
			rc = M->decode(body, bn, &ctx, &st, &chat, &err);
			FZ_CHECK(rc == PX_OK, "decode is repeatable");
		}
	}
	free(body);
	if (rc != PX_OK)
		fallback(&st, opts);
	else
		st.est_input = px_dialect_estimate(bytes);	/* as chat.c */

	fz_drive_stream(&st, in.p, in.n, opts, &dr);
	check_stream(&st, &dr, opts);
	fz_evs_free(&dr.evs);

	if (fz_drive_body(&st, in.p, in.n, &obj) == PX_OK)
		check_body(obj, &st);
	cJSON_Delete(obj);
	return 0;
}
