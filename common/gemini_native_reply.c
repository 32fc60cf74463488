/*
 * gemini_native_reply.c -- a native GenerateContentResponse read back as
 * Chat Completions: the non-stream body (map_body), and what the stream
 * mapping in gemini_native_stream.c shares with it: chunk ids, usage,
 * finish reasons, tool-call entries with their thought signatures, and
 * Google errors (provider-apis.md §3b, §4; 2026 addendum §1, §2.3-2.4,
 * §5.3-5.4).
 * Owns: the per-response state in st->priv (struct px_gn_state), the
 * usage arithmetic, the finish table, the ids of tool calls and the
 * "<call id>\t<signature>\n" records in st->sigs.
 * Never: I/O, logging, or thought text in "content" (it goes to
 * reasoning_content only).
 * Load: one cJSON parse per document; native bodies are small next to the
 * cost of generating them.
 * Sources: "§" cites provider-apis.md, "2026 doc §" its addendum
 * provider-apis-2026.md; each comment states the fact it relies on.
 */
#include "gemini_native.h"
#include "jsonraw.h"
#include "oaicompat.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#define STR_(x)	#x
#define STR(x)	STR_(x)

_Static_assert(sizeof(struct px_gn_state) <= PX_FIX_PRIV,
    "struct px_gn_state must fit px_stream_fix.priv");
_Static_assert(_Alignof(struct px_gn_state) <= 8,
    "px_stream_fix.priv is 8-byte aligned");

/* --- shared --- */

struct px_gn_state *
px_gn_state(struct px_stream_fix *st)
{
	return (struct px_gn_state *)(void *)st->priv;
}

/* A responseId fit for an id: printable ASCII, not too long. */
static int
usable_id(const char *s)
{
	size_t n;

	if (s == NULL || *s == '\0')
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f ||
		    s[n] == '"' || s[n] == '\\' || n >= 60)
			return 0;
	return 1;
}

void
px_gn_begin(struct px_stream_fix *st, const cJSON *root)
{
	struct px_gn_state *gs = px_gn_state(st);
	const char *rid = px_gn_str(root, "responseId");
	size_t n = strlen(st->id_prefix);

	if (gs->id[0] != '\0')
		return;
	if (usable_id(rid)) {
		snprintf(gs->id, sizeof(gs->id), "chatcmpl-%s", rid);
		return;
	}
	/* the request's own prefix ("<reqid>_"), without its separator */
	if (n > 0 && st->id_prefix[n - 1] == '_')
		n--;
	if (n == 0)
		snprintf(gs->id, sizeof(gs->id), "chatcmpl-gemini");
	else
		snprintf(gs->id, sizeof(gs->id), "chatcmpl-%.*s", (int)n,
		    st->id_prefix);
}

const char *
px_gn_model(const struct px_stream_fix *st, const cJSON *root)
{
	const char *mv = px_gn_str(root, "modelVersion");

	if (st->model != NULL && *st->model != '\0')
		return st->model;
	return mv != NULL ? mv : "";
}

/*
 * usageMetadata -> st (provider-apis.md §4, 2026 doc §2.4): absent counts
 * are 0; prompt = promptTokenCount + toolUsePromptTokenCount; completion
 * = candidatesTokenCount + thoughtsTokenCount, set to total - prompt when
 * the parts do not add up to totalTokenCount; reasoning = thoughts. In a
 * stream the counts are cumulative: the last one wins.
 */
int
px_gn_usage(struct px_stream_fix *st, const cJSON *root)
{
	const cJSON *u = px_gn_get(root, "usageMetadata");
	long prompt, thoughts, completion, total;

	if (!cJSON_IsObject(u))
		return 0;
	prompt = px_gn_count(u, "promptTokenCount") +
	    px_gn_count(u, "toolUsePromptTokenCount");
	thoughts = px_gn_count(u, "thoughtsTokenCount");
	completion = px_gn_count(u, "candidatesTokenCount") + thoughts;
	total = px_gn_count(u, "totalTokenCount");
	if (!cJSON_IsNumber(px_gn_get(u, "totalTokenCount")) || total < prompt)
		total = prompt + completion;
	else if (prompt + completion != total)
		completion = total - prompt;
	st->prompt_tokens = prompt;
	st->completion_tokens = completion;
	st->total_tokens = total;
	st->reasoning_tokens = thoughts;
	st->have_usage = 1;
	px_gn_state(st)->cached = px_gn_count(u, "cachedContentTokenCount");
	return 1;
}

cJSON *
px_gn_usage_json(const struct px_stream_fix *st)
{
	const struct px_gn_state *gs = (const void *)st->priv;
	struct px_gn_tree b = { 0 };
	cJSON *u = cJSON_CreateObject(), *d;

	if (u == NULL)
		return NULL;
	(void)px_gn_add(&b, u, "prompt_tokens",
	    cJSON_CreateNumber((double)st->prompt_tokens));
	(void)px_gn_add(&b, u, "completion_tokens",
	    cJSON_CreateNumber((double)st->completion_tokens));
	(void)px_gn_add(&b, u, "total_tokens",
	    cJSON_CreateNumber((double)st->total_tokens));
	d = px_gn_add(&b, u, "completion_tokens_details", cJSON_CreateObject());
	if (d != NULL)
		(void)px_gn_add(&b, d, "reasoning_tokens",
		    cJSON_CreateNumber((double)st->reasoning_tokens));
	if (gs->cached > 0) {
		d = px_gn_add(&b, u, "prompt_tokens_details",
		    cJSON_CreateObject());
		if (d != NULL)
			(void)px_gn_add(&b, d, "cached_tokens",
			    cJSON_CreateNumber((double)gs->cached));
	}
	if (b.oom) {
		cJSON_Delete(u);
		return NULL;
	}
	return u;
}

/*
 * 2026 doc §5.4. STOP is the end of a tool turn too (there is no
 * tool-call reason), so a choice that made calls ends with "tool_calls".
 * The content filters are content_filter; MALFORMED_FUNCTION_CALL and
 * UNEXPECTED_TOOL_CALL are errors (the engine may retry them on another
 * key while nothing was sent); every other reason (OTHER, LANGUAGE,
 * TOO_MANY_TOOL_CALLS, NO_IMAGE, IMAGE_OTHER, unspecified) is "stop".
 */
static const struct {
	const char *gemini, *openai, *err;
} finishes[] = {
	{ "STOP", "stop", NULL },
	{ "MAX_TOKENS", "length", NULL },
	{ "SAFETY", "content_filter", NULL },
	{ "RECITATION", "content_filter", NULL },
	{ "BLOCKLIST", "content_filter", NULL },
	{ "PROHIBITED_CONTENT", "content_filter", NULL },
	{ "SPII", "content_filter", NULL },
	{ "IMAGE_SAFETY", "content_filter", NULL },
	{ "IMAGE_PROHIBITED_CONTENT", "content_filter", NULL },
	{ "IMAGE_RECITATION", "content_filter", NULL },
	{ "MALFORMED_FUNCTION_CALL", NULL, "Gemini ended the response with "
	  "MALFORMED_FUNCTION_CALL: the model produced a function call that "
	  "does not parse or does not fit the declared tools" },
	{ "UNEXPECTED_TOOL_CALL", NULL, "Gemini ended the response with "
	  "UNEXPECTED_TOOL_CALL: the model called a tool that was not "
	  "declared or not allowed" },
};

const char *
px_gn_finish(const char *reason, unsigned calls, const char **err,
    const char **code)
{
	const char *fr = "stop";
	size_t i;

	*err = NULL;
	*code = NULL;
	for (i = 0; i < sizeof(finishes) / sizeof(finishes[0]); i++) {
		if (strcmp(reason, finishes[i].gemini) != 0)
			continue;
		if (finishes[i].err != NULL) {
			*err = finishes[i].err;
			*code = i + 1 == sizeof(finishes) / sizeof(finishes[0]) ?
			    "unexpected_tool_call" : "malformed_function_call";
			return NULL;
		}
		fr = finishes[i].openai;
		break;
	}
	return calls > 0 && strcmp(fr, "stop") == 0 ? "tool_calls" : fr;
}

int
px_gn_choice(const cJSON *cand)
{
	const cJSON *i = px_gn_get(cand, "index");

	if (!cJSON_IsNumber(i))
		return 0;	/* proto3 JSON leaves out index 0 */
	if (i->valuedouble < 0 || i->valuedouble >= PX_GN_CHOICES)
		return -1;
	return (int)i->valuedouble;
}

/* Append "<id>\t<sig>\n" to st->sigs once per call (the first wins). */
static void
record_sig(struct px_stream_fix *st, unsigned k, const char *id,
    const char *sig)
{
	if (st->sigs == NULL || st->sig_seen[k] || strpbrk(id, "\t\n") ||
	    strpbrk(sig, "\t\n"))
		return;
	st->sig_seen[k] = 1;
	(void)px_buf_printf(st->sigs, "%s\t%s\n", id, sig);
}

/* Register call k with its upstream id ("" none) for the engine. */
static void
register_call(struct px_stream_fix *st, unsigned k, int idx, const char *up)
{
	size_t n = 0;

	st->up_index[k] = idx;
	for (; up != NULL && up[n] != '\0' && n < sizeof(st->up_id[k]) - 1;
	    n++)
		st->up_id[k][n] = up[n];
	st->up_id[k][n] = '\0';
	st->ntools = k + 1;
	st->last_tool = (int)k;
}

/* {"name", "arguments": compact JSON of args ({} when absent)}. */
static cJSON *
call_function(struct px_gn_tree *b, const cJSON *fc)
{
	const cJSON *args = px_gn_get(fc, "args");
	const char *name = px_gn_str(fc, "name");
	cJSON *fn = cJSON_CreateObject();
	char *text = args != NULL ? cJSON_PrintUnformatted(args) : NULL;

	if (fn == NULL || (args != NULL && text == NULL)) {
		cJSON_Delete(fn);
		cJSON_free(text);
		return NULL;
	}
	(void)px_gn_add(b, fn, "name", cJSON_CreateString(name != NULL ?
	    name : ""));
	(void)px_gn_add(b, fn, "arguments", cJSON_CreateString(text != NULL ?
	    text : "{}"));
	cJSON_free(text);
	return fn;
}

/* extra_content {google:{thought_signature}} on entry (2026 doc §1.3). */
static void
call_signature(struct px_gn_tree *b, cJSON *entry, const char *sig)
{
	cJSON *ec = px_gn_add(b, entry, "extra_content", cJSON_CreateObject());
	cJSON *g = ec != NULL ? px_gn_add(b, ec, "google",
	    cJSON_CreateObject()) : NULL;

	if (g != NULL)
		(void)px_gn_add(b, g, "thought_signature",
		    cJSON_CreateString(sig));
}

/*
 * A functionCall part always arrives whole, args included (2026 doc §5.3),
 * so each part is one complete tool call. Gemini 3 gives it an id; when
 * it does not, the id is made up here and stays stable for the response.
 */
cJSON *
px_gn_call(struct px_stream_fix *st, int idx, const cJSON *part,
    const char **fail)
{
	const cJSON *fc = px_gn_get(part, "functionCall");
	const char *up = px_gn_str(fc, "id"), *sig;
	unsigned k = st->ntools;
	struct px_gn_tree b = { 0 };
	char synth[64];
	const char *id = up;
	cJSON *e;

	if (k >= PX_MAX_TOOL_CALLS) {
		*fail = "Gemini sent more than " STR(PX_MAX_TOOL_CALLS)
		    " tool calls in one response";
		return NULL;
	}
	if (id == NULL || *id == '\0') {
		snprintf(synth, sizeof(synth), "call_%s%u", st->id_prefix, k);
		id = synth;
	}
	e = cJSON_CreateObject();
	if (e == NULL)
		return NULL;
	if (idx >= 0)
		(void)px_gn_add(&b, e, "index", cJSON_CreateNumber(idx));
	(void)px_gn_add(&b, e, "id", cJSON_CreateString(id));
	(void)px_gn_add(&b, e, "type", cJSON_CreateStringReference("function"));
	(void)px_gn_add(&b, e, "function", call_function(&b, fc));
	sig = px_gn_str(part, "thoughtSignature");
	if (sig != NULL && *sig != '\0')
		call_signature(&b, e, sig);
	if (b.oom) {
		cJSON_Delete(e);
		return NULL;
	}
	register_call(st, k, idx, up);
	if (sig != NULL && *sig != '\0')
		record_sig(st, k, id, sig);
	return e;
}

int
px_gn_error(const struct px_stream_fix *st, const cJSON *root,
    const char *data, size_t len, struct px_buf *out)
{
	const cJSON *e, *code;
	int status = 500;

	if (cJSON_IsArray(root))
		root = cJSON_GetArrayItem(root, 0);
	e = px_gn_get(root, "error");
	if (!cJSON_IsObject(e) && !cJSON_IsString(e))
		return 0;
	code = px_gn_get(e, "code");
	if (cJSON_IsNumber(code) && code->valuedouble >= 400 &&
	    code->valuedouble < 600)
		status = (int)code->valuedouble;
	/* google.rpc.Status -> OpenAI shape, keys redacted */
	(void)px_oai_map_error(status, data, len, st->secrets, out);
	return 1;
}

void
px_gn_fail(struct px_buf *out, const char *msg, const char *code)
{
	px_buf_reset(out);
	if (px_err_json(out, msg, "server_error", NULL, code) != PX_OK)
		px_buf_reset(out);
}

/* --- non-stream bodies --- */

/* One body candidate being assembled. */
struct msg {
	struct px_buf text, thought;
	cJSON *calls;
	unsigned ncalls;
};

/* Collect the parts of a candidate; thought text apart from the answer. */
static void
collect(struct px_stream_fix *st, struct px_gn_tree *b, struct msg *m,
    const cJSON *cand, const char **fail)
{
	const cJSON *parts = px_gn_get(px_gn_get(cand, "content"), "parts");
	const cJSON *p, *th;
	const char *s;

	cJSON_ArrayForEach(p, px_gn_arr(parts)) {
		if (*fail != NULL || b->oom)
			return;
		if (cJSON_IsObject(px_gn_get(p, "functionCall"))) {
			(void)px_gn_add(b, m->calls, NULL,
			    px_gn_call(st, -1, p, fail));
			m->ncalls++;
			continue;
		}
		s = px_gn_str(p, "text");
		th = px_gn_get(p, "thought");
		if (s != NULL && px_buf_adds(cJSON_IsTrue(th) ? &m->thought :
		    &m->text, s) != PX_OK)
			b->oom = 1;
	}
}

/* The message of a candidate: content (null when only calls), the
 * reasoning_content of thought parts, tool_calls. */
static cJSON *
message_of(struct px_gn_tree *b, struct msg *m)
{
	cJSON *msg = cJSON_CreateObject();

	if (msg == NULL)
		return NULL;
	(void)px_gn_add(b, msg, "role", cJSON_CreateStringReference(
	    "assistant"));
	if (m->text.len == 0 && m->ncalls > 0)
		(void)px_gn_add(b, msg, "content", cJSON_CreateNull());
	else
		(void)px_gn_add(b, msg, "content", cJSON_CreateString(
		    m->text.len > 0 ? m->text.p : ""));
	if (m->thought.len > 0)
		(void)px_gn_add(b, msg, "reasoning_content",
		    cJSON_CreateString(m->thought.p));
	if (m->ncalls > 0) {
		(void)px_gn_add(b, msg, "tool_calls", m->calls);
		m->calls = NULL;
	}
	return msg;
}

/* {"index","message","finish_reason","logprobs":null} for a candidate
 * (NULL cand: the empty answer to a blocked prompt). */
static cJSON *
choice_of(struct px_stream_fix *st, struct px_gn_tree *b, const cJSON *cand,
    const char **fail, const char **code)
{
	struct msg m = { .calls = cJSON_CreateArray() };
	const char *reason = px_gn_str(cand, "finishReason"), *fr;
	cJSON *c = cJSON_CreateObject();

	px_buf_init(&m.text, (size_t)1 << 30);
	px_buf_init(&m.thought, (size_t)1 << 30);
	b->oom |= c == NULL || m.calls == NULL;
	fr = "content_filter";	/* the blocked prompt's */
	if (!b->oom)
		collect(st, b, &m, cand, fail);
	if (cand != NULL && *fail == NULL)
		fr = px_gn_finish(reason != NULL ? reason : "STOP", m.ncalls,
		    fail, code);
	if (!b->oom && *fail == NULL) {
		(void)px_gn_add(b, c, "index",
		    cJSON_CreateNumber(cand != NULL ? px_gn_choice(cand) : 0));
		(void)px_gn_add(b, c, "message", message_of(b, &m));
		(void)px_gn_add(b, c, "finish_reason", cJSON_CreateString(fr));
		(void)px_gn_add(b, c, "logprobs", cJSON_CreateNull());
	}
	cJSON_Delete(m.calls);
	px_buf_free(&m.text);
	px_buf_free(&m.thought);
	return c;
}

/* The chat.completion object of a parsed body; NULL on failure. */
static cJSON *
completion_of(struct px_stream_fix *st, const cJSON *root, const char **fail,
    const char **code)
{
	const cJSON *cands = px_gn_get(root, "candidates"), *cand;
	struct px_gn_tree b = { 0 };
	cJSON *c = cJSON_CreateObject(), *choices;

	if (c == NULL)
		return NULL;
	(void)px_gn_add(&b, c, "id", cJSON_CreateString(px_gn_state(st)->id));
	(void)px_gn_add(&b, c, "object",
	    cJSON_CreateStringReference("chat.completion"));
	(void)px_gn_add(&b, c, "created", cJSON_CreateNumber(0));
	(void)px_gn_add(&b, c, "model",
	    cJSON_CreateString(px_gn_model(st, root)));
	choices = px_gn_add(&b, c, "choices", cJSON_CreateArray());
	cJSON_ArrayForEach(cand, px_gn_arr(cands)) {
		if (px_gn_choice(cand) < 0)
			*fail = "Gemini sent more candidates than "
			    STR(PX_GN_CHOICES);
		if (*fail != NULL || b.oom)
			break;
		(void)px_gn_add(&b, choices, NULL,
		    choice_of(st, &b, cand, fail, code));
	}
	/* a blocked prompt: no candidates, promptFeedback.blockReason
	 * (2026 doc §5.4): an empty answer filtered by content */
	if (choices != NULL && choices->child == NULL && *fail == NULL &&
	    px_gn_str(px_gn_get(root, "promptFeedback"), "blockReason"))
		(void)px_gn_add(&b, choices, NULL,
		    choice_of(st, &b, NULL, fail, code));
	if (choices != NULL && choices->child == NULL && *fail == NULL)
		*fail = "Gemini returned no candidates";
	if (st->have_usage)
		(void)px_gn_add(&b, c, "usage", px_gn_usage_json(st));
	if (b.oom || *fail != NULL) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

enum px_ev_action
px_gn_map_body(struct px_stream_fix *st, const char *body, size_t len,
    struct px_buf *out)
{
	const char *fail = NULL, *code = NULL;
	cJSON *root = NULL, *c = NULL;
	enum px_ev_action act = PX_EV_ERROR;

	if (body != NULL && len > 0)
		root = cJSON_ParseWithLength(body, len);
	if (px_gn_error(st, root, body, len, out))
		goto out;
	if (!cJSON_IsObject(root)) {
		px_gn_fail(out, "Gemini sent a body that is not a "
		    "GenerateContentResponse", "upstream_error");
		goto out;
	}
	px_gn_begin(st, root);
	(void)px_gn_usage(st, root);
	c = completion_of(st, root, &fail, &code);
	px_buf_reset(out);
	if (c != NULL && px_json_print(c, out) == PX_OK) {
		st->saw_finish = 1;
		act = PX_EV_REWRITE;
	} else {
		px_gn_fail(out, fail != NULL ? fail : "out of memory mapping "
		    "the Gemini reply", code != NULL ? code : "upstream_error");
	}
out:
	cJSON_Delete(c);
	cJSON_Delete(root);
	return act;
}
