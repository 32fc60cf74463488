/*
 * gemini_native_stream.c -- one event of streamGenerateContent?alt=sse
 * (a whole GenerateContentResponse) turned into zero or more canonical
 * chat.completion.chunk JSONs (provider-apis.md §4 "Streaming
 * translation"; 2026 addendum §5.2-5.4).
 * Owns: the order of the chunks of one event: per candidate, runs of
 * text (delta.content) and of thought text (delta.reasoning_content) in
 * part order, one chunk per functionCall part (delta.tool_calls with a
 * stable per-choice index), then the finish chunk; once every choice
 * finished, one usage chunk (choices:[]) unless the client did not ask
 * for it. delta.role goes on the first chunk of each choice.
 * Never: I/O; text of thought parts in delta.content; an index reused.
 * Load: one cJSON parse per event (text deltas included): the native
 * path pays for translation; events come at model speed, tens a second.
 * Sources: "§" cites provider-apis.md, "2026 doc §" its addendum
 * provider-apis-2026.md; each comment states the fact it relies on.
 */
#include "gemini_native.h"
#include "jsonraw.h"

#include <cJSON.h>
#include <string.h>

#define STR_(x)	#x
#define STR(x)	STR_(x)

/* One event being mapped. */
struct ev {
	struct px_stream_fix *st;
	struct px_gn_state   *gs;
	const cJSON          *root;
	struct px_buf        *out;
	struct px_buf         text;	/* the pending run of text */
	int                   thought;	/* ... is thought text */
	int                   n;	/* chunks written to out */
	struct px_gn_tree     b;	/* oom: memory or out's cap */
	const char           *fail, *code;	/* the event is an error */
};

/* {"id","object","created","model"} of every chunk of the response. */
static cJSON *
chunk_new(struct ev *e)
{
	cJSON *c = cJSON_CreateObject();

	if (c == NULL) {
		e->b.oom = 1;
		return NULL;
	}
	(void)px_gn_add(&e->b, c, "id", cJSON_CreateString(e->gs->id));
	(void)px_gn_add(&e->b, c, "object",
	    cJSON_CreateStringReference("chat.completion.chunk"));
	(void)px_gn_add(&e->b, c, "created", cJSON_CreateNumber(0));
	(void)px_gn_add(&e->b, c, "model",
	    cJSON_CreateString(px_gn_model(e->st, e->root)));
	return c;
}

/* Print c into out (after a '\n' when not the first) and free it. */
static void
emit(struct ev *e, cJSON *c)
{
	if (c != NULL && !e->b.oom) {
		if ((e->n > 0 && px_buf_addc(e->out, '\n') != PX_OK) ||
		    px_json_print(c, e->out) != PX_OK)
			e->b.oom = 1;
		else
			e->n++;
	}
	cJSON_Delete(c);
}

/* A delta for choice ci, with role "assistant" on the choice's first. */
static cJSON *
delta_new(struct ev *e, int ci)
{
	cJSON *d = cJSON_CreateObject();

	if (d == NULL) {
		e->b.oom = 1;
		return NULL;
	}
	if (!e->gs->ch[ci].role_sent)
		(void)px_gn_add(&e->b, d, "role",
		    cJSON_CreateStringReference("assistant"));
	e->gs->ch[ci].role_sent = 1;
	return d;
}

/* One chunk {"choices":[{"index":ci,"delta":d,"finish_reason":fr}]};
 * takes d. */
static void
send_delta(struct ev *e, int ci, cJSON *d, const char *fr)
{
	cJSON *c = chunk_new(e), *arr, *ch;

	if (c == NULL || d == NULL) {
		e->b.oom = 1;
		cJSON_Delete(d);
		cJSON_Delete(c);
		return;
	}
	arr = px_gn_add(&e->b, c, "choices", cJSON_CreateArray());
	ch = arr != NULL ? px_gn_add(&e->b, arr, NULL, cJSON_CreateObject()) :
	    NULL;
	if (ch == NULL) {
		cJSON_Delete(d);
	} else {
		(void)px_gn_add(&e->b, ch, "index", cJSON_CreateNumber(ci));
		(void)px_gn_add(&e->b, ch, "delta", d);
		(void)px_gn_add(&e->b, ch, "finish_reason", fr != NULL ?
		    cJSON_CreateString(fr) : cJSON_CreateNull());
	}
	emit(e, c);
}

/* Send the pending run of text or thought text, if any. */
static void
flush(struct ev *e, int ci)
{
	cJSON *d;

	if (e->text.len == 0)
		return;
	d = delta_new(e, ci);
	if (d != NULL)
		(void)px_gn_add(&e->b, d, e->thought ? "reasoning_content" :
		    "content", cJSON_CreateString(e->text.p));
	send_delta(e, ci, d, NULL);
	px_buf_reset(&e->text);
}

/* A functionCall part: one chunk with its whole call (2026 doc §5.3). */
static void
call(struct ev *e, int ci, const cJSON *p)
{
	struct px_gn_choice *ch = &e->gs->ch[ci];
	cJSON *tc, *d, *arr;

	flush(e, ci);
	tc = px_gn_call(e->st, ch->calls, p, &e->fail);
	if (tc == NULL) {
		e->b.oom |= e->fail == NULL;
		return;
	}
	ch->calls++;
	d = delta_new(e, ci);
	arr = d != NULL ? px_gn_add(&e->b, d, "tool_calls",
	    cJSON_CreateArray()) : NULL;
	if (arr != NULL)
		(void)px_gn_add(&e->b, arr, NULL, tc);
	else
		cJSON_Delete(tc);
	send_delta(e, ci, d, NULL);
}

/*
 * A text part joins the pending run when it is of the same kind (thought
 * or answer), else the run goes out first. Thought parts (thought:true,
 * 2026 doc §2.3) never reach content. Empty text parts (which may carry
 * only a signature) and other part kinds add nothing.
 */
static void
part(struct ev *e, int ci, const cJSON *p)
{
	const char *s = px_gn_str(p, "text");
	int th = cJSON_IsTrue(px_gn_get(p, "thought"));

	if (cJSON_IsObject(px_gn_get(p, "functionCall"))) {
		call(e, ci, p);
		return;
	}
	if (s == NULL || *s == '\0')
		return;
	if (th != e->thought)
		flush(e, ci);
	e->thought = th;
	if (px_buf_adds(&e->text, s) != PX_OK)
		e->b.oom = 1;
}

/* The finish chunk of choice ci for Gemini's finishReason. */
static void
finish(struct ev *e, int ci, const char *reason)
{
	struct px_gn_choice *ch = &e->gs->ch[ci];
	const char *fr = px_gn_finish(reason, ch->calls, &e->fail, &e->code);

	if (fr == NULL)
		return;
	send_delta(e, ci, delta_new(e, ci), fr);
	ch->finished = 1;
	e->st->saw_finish = 1;
}

static void
candidate(struct ev *e, const cJSON *cand)
{
	const cJSON *parts = px_gn_get(px_gn_get(cand, "content"), "parts");
	const cJSON *p;
	const char *reason = px_gn_str(cand, "finishReason");
	int ci = px_gn_choice(cand);

	if (ci < 0) {
		e->fail = "Gemini sent more candidates than "
		    STR(PX_GN_CHOICES);
		return;
	}
	e->gs->seen |= 1u << ci;
	if (e->gs->ch[ci].finished)
		return;	/* nothing follows a finish */
	e->thought = 0;
	cJSON_ArrayForEach(p, px_gn_arr(parts)) {
		if (e->fail != NULL || e->b.oom)
			return;
		part(e, ci, p);
	}
	flush(e, ci);
	if (reason != NULL && *reason != '\0' && e->fail == NULL)
		finish(e, ci, reason);
}

/*
 * A blocked prompt: HTTP 200, no candidates, promptFeedback.blockReason
 * (2026 doc §5.4): an empty answer with finish_reason content_filter.
 */
static void
blocked(struct ev *e)
{
	cJSON *d;

	if (px_gn_str(px_gn_get(e->root, "promptFeedback"),
	    "blockReason") == NULL || e->gs->ch[0].finished)
		return;
	e->gs->seen |= 1u;
	d = delta_new(e, 0);
	if (d != NULL)
		(void)px_gn_add(&e->b, d, "content",
		    cJSON_CreateStringReference(""));
	send_delta(e, 0, d, "content_filter");
	e->gs->ch[0].finished = 1;
	e->st->saw_finish = 1;
}

static int
all_finished(const struct px_gn_state *gs)
{
	int i;

	for (i = 0; i < PX_GN_CHOICES; i++)
		if ((gs->seen & (1u << i)) && !gs->ch[i].finished)
			return 0;
	return gs->seen != 0;
}

/*
 * usageMetadata rides on every event with running totals (§3b): record
 * the last; once the response finished, send it as a choices:[] chunk
 * (again only if a later event changes it), unless the client did not
 * ask for usage: then it is only recorded.
 */
static void
usage(struct ev *e)
{
	struct px_stream_fix *st = e->st;
	struct px_gn_state *gs = e->gs;
	cJSON *c;

	if (px_gn_usage(st, e->root))
		st->usage_alone = 1;
	if (!st->have_usage || st->drop_usage_alone || !all_finished(gs))
		return;
	if (gs->usage_sent && gs->sent_total == st->total_tokens &&
	    gs->sent_completion == st->completion_tokens)
		return;
	c = chunk_new(e);
	if (c == NULL)
		return;
	(void)px_gn_add(&e->b, c, "choices", cJSON_CreateArray());
	(void)px_gn_add(&e->b, c, "usage", px_gn_usage_json(st));
	emit(e, c);
	gs->usage_sent = 1;
	gs->sent_total = st->total_tokens;
	gs->sent_completion = st->completion_tokens;
}

static void
map(struct ev *e)
{
	const cJSON *cands = px_gn_get(e->root, "candidates"), *cand;

	cJSON_ArrayForEach(cand, px_gn_arr(cands)) {
		if (e->fail != NULL || e->b.oom)
			return;
		candidate(e, cand);
	}
	if (!cJSON_IsArray(cands) || cands->child == NULL)
		blocked(e);
	if (e->fail == NULL && !e->b.oom)
		usage(e);
}

enum px_ev_action
px_gn_map_event(struct px_stream_fix *st, const char *data, size_t len,
    struct px_buf *out)
{
	struct ev e = { .st = st, .gs = px_gn_state(st), .out = out };
	cJSON *root = cJSON_ParseWithLength(data, len);

	px_buf_reset(out);
	if (px_gn_error(st, root, data, len, out)) {
		cJSON_Delete(root);
		return PX_EV_ERROR;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		px_gn_fail(out, "Gemini sent a stream event that is not a "
		    "GenerateContentResponse", "upstream_error");
		return PX_EV_ERROR;
	}
	e.root = root;
	px_gn_begin(st, root);
	px_buf_init(&e.text, out->max);
	map(&e);
	px_buf_free(&e.text);
	cJSON_Delete(root);
	if (e.fail != NULL || e.b.oom) {
		px_gn_fail(out, e.fail != NULL ? e.fail : "rewritten stream "
		    "event too large", e.code != NULL ? e.code :
		    "upstream_error");
		return PX_EV_ERROR;
	}
	return e.n > 0 ? PX_EV_REWRITE : PX_EV_DROP;
}
