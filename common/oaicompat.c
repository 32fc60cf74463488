/*
 * oaicompat.c -- the adapter for upstreams that speak OpenAI Chat
 * Completions: OpenRouter and Gemini's OpenAI-compatible endpoint.
 * Owns: repairing relayed stream events and bodies so openai-node accepts
 * them (stable tool-call indices and "type", finish_reason "tool_calls"
 * after tool calls, OpenRouter/Google mid-stream errors turned into OpenAI
 * error events), usage extraction, normalising upstream error bodies to
 * the OpenAI shape without leaking keys, and reading /models lists.
 * Never: I/O, logging, or a failure on odd input: what it cannot repair it
 * passes through unchanged.
 * Load: map_event runs for every upstream SSE event. Ordinary text deltas
 * are recognised by substring scans and relayed without allocating; only
 * the few events per response that carry tool calls, errors, usage or a
 * finish after tool calls are parsed with cJSON and maybe re-printed.
 */
#include "oaicompat.h"

#include "jsonraw.h"
#include "thoughts.h"

#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define MSG_MAX    512	/* bytes of upstream error text we relay */
#define PRINT_SLACK 256	/* re-printed JSON may grow: index, type */
#define TOKENS_MAX 1e15	/* clamp before converting a double to long */
#define STR_(x)    #x
#define STR(x)     STR_(x)

static const char K_TOOL_CALLS[] = "\"tool_calls\"";
static const char K_ERROR[] = "\"error\"";
static const char K_FINISH[] = "\"finish_reason\"";
static const char K_REASONING[] = "\"reasoning";	/* _content, _details */
static const char K_USAGE[] = "\"usage\"";

/* --- byte scans: the allocation-free fast path --- */

/* First occurrence of needle[0..nlen) in h[0..hlen), or NULL. */
static const char *
scan(const char *h, size_t hlen, const char *needle, size_t nlen)
{
	const char *p = h, *last;

	if (nlen == 0 || hlen < nlen)
		return NULL;
	last = h + (hlen - nlen);
	while (p <= last) {
		p = memchr(p, needle[0], (size_t)(last - p) + 1);
		if (p == NULL)
			return NULL;
		if (memcmp(p, needle, nlen) == 0)
			return p;
		p++;
	}
	return NULL;
}

static int
contains(const char *h, size_t hlen, const char *needle)
{
	return scan(h, hlen, needle, strlen(needle)) != NULL;
}

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	return p;
}

/* Is the text at p (just after a member's name) `: <first>...`, with
 * whitespace allowed on either side of the colon? */
static int
value_starts(const char *p, const char *end, char first)
{
	p = skip_ws(p, end);
	if (p == end || *p != ':')
		return 0;
	p = skip_ws(p + 1, end);
	return p < end && *p == first;
}

/* Does the text at p (a quote), n bytes long, start with key? */
static int
key_at(const char *p, size_t n, const char *key, size_t klen)
{
	return n >= klen && memcmp(p, key, klen) == 0;
}

/*
 * Must this event be parsed? Tool calls, errors and usage objects always;
 * a non-null finish_reason only after a tool call (it may need "stop" ->
 * "tool_calls"). `"usage":null`, sent on every chunk with include_usage,
 * stays on the fast path. *finish tells whether a finish_reason is set.
 * One pass over the quotes of the event, comparing only where the letter
 * after a quote starts one of the names (every event of every stream goes
 * through here). Text inside a JSON string cannot match a name: its
 * quotes are escaped.
 */
static int
needs_parse(const struct px_stream_fix *st, const char *d, size_t len,
    int *finish)
{
	const char *p = d, *end = d + len;
	int must = st->split_thoughts, usage = 0;
	size_t n;

	*finish = 0;
	while (p < end && (p = memchr(p, '"', (size_t)(end - p))) != NULL) {
		n = (size_t)(end - p);
		switch (n > 1 ? p[1] : '\0') {
		case 'f':
			if (key_at(p, n, K_FINISH, sizeof(K_FINISH) - 1) &&
			    value_starts(p + sizeof(K_FINISH) - 1, end, '"'))
				*finish = 1;
			break;
		case 't':
			must |= key_at(p, n, K_TOOL_CALLS,
			    sizeof(K_TOOL_CALLS) - 1);
			break;
		case 'e':
			must |= key_at(p, n, K_ERROR, sizeof(K_ERROR) - 1);
			break;
		case 'r':
			must |= st->hide_reasoning && key_at(p, n, K_REASONING,
			    sizeof(K_REASONING) - 1);
			break;
		case 'u':
			usage |= key_at(p, n, K_USAGE, sizeof(K_USAGE) - 1) &&
			    value_starts(p + sizeof(K_USAGE) - 1, end, '{');
			break;
		default:
			break;
		}
		p++;
	}
	return must || (*finish && st->ntools > 0) || usage;
}

/* --- small cJSON helpers --- */

static cJSON *
member(const cJSON *obj, const char *key)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* Member as a non-empty string, else NULL (borrowed from obj). */
static const char *
str_member(const cJSON *obj, const char *key)
{
	const cJSON *v = member(obj, key);

	if (!cJSON_IsString(v) || v->valuestring == NULL ||
	    v->valuestring[0] == '\0')
		return NULL;
	return v->valuestring;
}

static long
long_member(const cJSON *obj, const char *key, long dflt)
{
	const cJSON *v = member(obj, key);

	if (!cJSON_IsNumber(v))
		return dflt;
	if (v->valuedouble < 0)
		return 0;
	if (v->valuedouble > TOKENS_MAX)
		return (long)TOKENS_MAX;
	return (long)v->valuedouble;
}

/* Set obj[key] to the string s (replace or add). 0 on success. */
static int
set_string(cJSON *obj, const char *key, const char *s)
{
	cJSON *v = cJSON_CreateString(s);

	if (v == NULL)
		return -1;
	if (member(obj, key) != NULL) {
		if (cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v))
			return 0;
	} else if (cJSON_AddItemToObject(obj, key, v)) {
		return 0;
	}
	cJSON_Delete(v);
	return -1;
}

/* Set obj[key] to the number n (in place when it is one). 0 on success. */
static int
set_number(cJSON *obj, const char *key, int n)
{
	cJSON *old = member(obj, key), *v;

	if (cJSON_IsNumber(old)) {
		cJSON_SetNumberValue(old, n);
		return 0;
	}
	v = cJSON_CreateNumber(n);
	if (v == NULL)
		return -1;
	if (old != NULL) {
		if (cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v))
			return 0;
	} else if (cJSON_AddItemToObject(obj, key, v)) {
		return 0;
	}
	cJSON_Delete(v);
	return -1;
}

/*
 * Print root compactly into out (reset first). PrintPreallocated avoids a
 * second allocation in the usual case; the length passed keeps the result
 * within out->max. Non-zero when it does not fit or memory ran out.
 */
static int
print_json(cJSON *root, size_t hint, struct px_buf *out)
{
	size_t room;
	char *s;
	enum px_err rc;

	px_buf_reset(out);
	if (px_buf_reserve(out, hint + PRINT_SLACK) == PX_OK) {
		room = out->cap < out->max + 1 ? out->cap : out->max + 1;
		if (room > INT_MAX)
			room = INT_MAX;
		if (cJSON_PrintPreallocated(root, out->p, (int)room, 0)) {
			out->len = strlen(out->p);
			return 0;
		}
	}
	s = cJSON_PrintUnformatted(root);
	if (s == NULL)
		return -1;
	px_buf_reset(out);
	rc = px_buf_adds(out, s);
	cJSON_free(s);
	return rc == PX_OK ? 0 : -1;
}

/* --- error text --- */

/* Length of the configured key that starts at s, 0 if none does. */
static size_t
secret_at(const char *s, const struct px_secrets *sec)
{
	size_t i, n;

	for (i = 0; sec != NULL && i < sec->n; i++) {
		n = strlen(sec->v[i]);
		if (n > 0 && s[0] == sec->v[i][0] && strncmp(s, sec->v[i], n) == 0)
			return n;
	}
	return 0;
}

/*
 * Copy src into dst[cap], replacing each occurrence of every configured
 * key with "[redacted]" and cutting at cap - 1 bytes on a UTF-8 boundary.
 * The match is tested on src, so a key straddling the cut is caught too.
 * Cost: keys x bytes, on error text of at most a few hundred bytes.
 */
static void
copy_clean(char *dst, size_t cap, const char *src,
    const struct px_secrets *sec)
{
	static const char red[] = "[redacted]";
	size_t n = 0, k, slen;

	while (*src != '\0' && n < cap - 1) {
		slen = secret_at(src, sec);
		if (slen > 0) {
			for (k = 0; red[k] != '\0' && n < cap - 1; k++)
				dst[n++] = red[k];
			src += slen;
			continue;
		}
		dst[n++] = *src++;
	}
	/* cut mid-character: drop the partial sequence */
	if (((unsigned char)*src & 0xC0) == 0x80) {
		while (n > 0 && ((unsigned char)dst[n - 1] & 0xC0) == 0x80)
			n--;
		if (n > 0 && (unsigned char)dst[n - 1] >= 0xC0)
			n--;
	}
	dst[n] = '\0';
}

/*
 * A google.rpc status as an error code: "INVALID_ARGUMENT" ->
 * "invalid_argument". Only letters, digits and '_' are kept (a status is
 * an enum; anything else is not one), so no cut can split a character,
 * and the result is redacted like any upstream text: lowering could turn
 * an upper-cased key back into the key itself.
 */
static void
copy_lower(char *dst, size_t cap, const char *src,
    const struct px_secrets *sec)
{
	char low[64];
	size_t n = 0;

	for (; *src != '\0' && n < sizeof(low) - 1; src++) {
		char c = *src;

		if (c >= 'A' && c <= 'Z')
			low[n++] = (char)(c - 'A' + 'a');
		else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-')
			low[n++] = c;
	}
	low[n] = '\0';
	copy_clean(dst, cap, low, sec);
}

/* OpenAI error.code for an HTTP status with a well-known meaning. */
static const char *
code_for_status(int status)
{
	switch (status) {
	case 401: return "invalid_api_key";
	case 402: return "insufficient_quota";
	case 429: return "rate_limit_exceeded";
	default:  return NULL;
	}
}

/* The fields of an upstream error object; strings borrowed from cJSON. */
struct uerr {
	const char *message, *type, *param, *code, *status;
	int num;	/* numeric error.code (OpenRouter, Google), 0 none */
};

/*
 * Read {"error":...} in any shape we know: OpenAI {message,type,param,
 * code}, OpenRouter {code:<int>,message,metadata} (metadata.raw is
 * upstream text and may hold internals, so it is ignored), Google
 * {code:<int>,message,status,details}, or a bare string.
 */
static void
uerr_read(const cJSON *e, struct uerr *u)
{
	const cJSON *num = member(e, "code");

	*u = (struct uerr){ 0 };
	if (e == NULL)
		return;
	if (cJSON_IsString(e)) {
		u->message = e->valuestring[0] != '\0' ? e->valuestring : NULL;
		return;
	}
	u->message = str_member(e, "message");
	u->type = str_member(e, "type");
	u->param = str_member(e, "param");
	u->code = str_member(e, "code");
	u->status = str_member(e, "status");
	if (cJSON_IsNumber(num) && num->valuedouble >= 100 &&
	    num->valuedouble < 1000)
		u->num = num->valueint;
	/* an empty message or type says nothing: the defaults do */
	if (u->message != NULL && u->message[0] == '\0')
		u->message = NULL;
	if (u->type != NULL && u->type[0] == '\0')
		u->type = NULL;
}

/*
 * The error of a parsed upstream document, or NULL. Google wraps error
 * bodies of its OpenAI endpoint in an array: [{"error":{...}}].
 */
static const cJSON *
error_item(const cJSON *root)
{
	const cJSON *e;

	if (cJSON_IsArray(root))
		root = cJSON_GetArrayItem(root, 0);
	e = member(root, "error");
	if (cJSON_IsObject(e) || cJSON_IsString(e))
		return e;
	return NULL;
}

/* Reset out and write the OpenAI error JSON; out is empty on failure. */
static enum px_err
write_error(struct px_buf *out, const char *msg, const char *type,
    const char *param, const char *code)
{
	enum px_err rc;

	px_buf_reset(out);
	rc = px_err_json(out, msg, type, param, code);
	if (rc != PX_OK)
		px_buf_reset(out);
	return rc;
}

/* --- stream events --- */

/* Per-call state of one map_event/map_body run. */
struct fix {
	struct px_stream_fix *st;
	int         changed;	/* the document was modified */
	int         finish;	/* a non-null finish_reason is relayed */
	const char *fail;	/* why the event cannot be relayed, or NULL */
};

/* Our index of the call with upstream id, or -1. Ids longer than up_id
 * holds compare on their first 47 bytes (real ids are about 30). */
static int
call_by_id(const struct px_stream_fix *st, const char *id)
{
	unsigned k;

	for (k = 0; k < st->ntools; k++)
		if (strncmp(st->up_id[k], id, sizeof(st->up_id[k]) - 1) == 0)
			return (int)k;
	return -1;
}

/* Our index of the latest call with upstream index up, or -1. */
static int
call_by_up(const struct px_stream_fix *st, int up)
{
	unsigned k;

	if (up < 0)
		return -1;
	for (k = st->ntools; k > 0; k--)
		if (st->up_index[k - 1] == up)
			return (int)(k - 1);
	return -1;
}

/* Record a new call; its id is kept byte-truncated to fit. -1: full. */
static int
call_new(struct px_stream_fix *st, const char *id, int up)
{
	unsigned k = st->ntools;
	size_t n = 0;

	if (k >= PX_MAX_TOOL_CALLS)
		return -1;
	st->up_index[k] = up;
	for (; id != NULL && id[n] != '\0' && n < sizeof(st->up_id[k]) - 1; n++)
		st->up_id[k][n] = id[n];
	st->up_id[k][n] = '\0';
	st->ntools = k + 1;
	st->last_tool = (int)k;
	return (int)k;
}

/*
 * Which of our calls a tool_calls entry belongs to. A known id is that
 * call; a new id is a new call. Without an id, an entry naming a function
 * is a new call too (Gemini sends whole calls, sometimes all at index 0
 * and with empty ids), and anything else continues the call with the
 * same upstream index, else the latest call. *isnew tells which.
 */
static int
call_for(struct px_stream_fix *st, const cJSON *tc, int *isnew)
{
	const char *id = str_member(tc, "id");
	const cJSON *idx = member(tc, "index");
	int up = -1, k = -1;

	if (cJSON_IsNumber(idx) && idx->valuedouble >= 0 &&
	    idx->valuedouble <= INT_MAX)
		up = idx->valueint;
	*isnew = 0;
	if (id != NULL) {
		k = call_by_id(st, id);
	} else if (str_member(member(tc, "function"), "name") == NULL) {
		k = call_by_up(st, up);
		if (k < 0)
			k = st->last_tool;
	}
	if (k >= 0)
		return k;
	*isnew = 1;
	return call_new(st, id, up);
}

/*
 * Gemini 3's thought signature on a tool_calls entry
 * (extra_content.google.thought_signature; provider-apis-2026.md §1.3):
 * recorded for the call the client sees, so a later request that dropped
 * it can get it back. An entry with neither id nor name (the metadata-only
 * form) belongs to the response's first call. The first one seen wins.
 */
static void
record_sig(struct px_stream_fix *st, const cJSON *tc, int k)
{
	const char *sig = str_member(member(member(tc, "extra_content"),
	    "google"), "thought_signature");
	const char *up = str_member(tc, "id");
	char id[200];

	if (sig == NULL || *sig == '\0' || st->sigs == NULL ||
	    strpbrk(sig, "\t\n") != NULL)
		return;	/* a record is "<id>\t<signature>\n" */
	if (up == NULL && str_member(member(tc, "function"), "name") == NULL)
		k = 0;
	if (k < 0 || (unsigned)k >= st->ntools || st->sig_seen[k])
		return;
	/* the id the client sees: the upstream's whole (up_id keeps only a
	 * prefix for matching), else the one the fix made up */
	if (up != NULL && *up != '\0')
		snprintf(id, sizeof(id), "%s", up);
	else if (k == 0 && st->first_id[0] != '\0')
		snprintf(id, sizeof(id), "%s", st->first_id);
	else if (st->up_id[k][0] != '\0')
		snprintf(id, sizeof(id), "%s", st->up_id[k]);
	else
		snprintf(id, sizeof(id), "call_%s%d", st->id_prefix, k);
	if (strpbrk(id, "\t\n") != NULL || strlen(id) >= sizeof(id) - 1)
		return;
	st->sig_seen[k] = 1;
	(void)px_buf_printf(st->sigs, "%s\t%s\n", id, sig);
}

/* Give one tool_calls entry our stable index (and "type" if new). */
static void
fix_tool(struct fix *fx, cJSON *tc)
{
	const cJSON *idx = member(tc, "index");
	int isnew, k;

	k = call_for(fx->st, tc, &isnew);
	if (k < 0) {
		fx->fail = "upstream sent more than "
		    STR(PX_MAX_TOOL_CALLS) " tool calls in one response";
		return;
	}
	if (isnew && k == 0 && str_member(tc, "id") != NULL)
		snprintf(fx->st->first_id, sizeof(fx->st->first_id), "%s",
		    str_member(tc, "id"));
	record_sig(fx->st, tc, k);
	if (!cJSON_IsNumber(idx) || idx->valuedouble != (double)k) {
		if (set_number(tc, "index", k) != 0)
			fx->fail = "out of memory";
		fx->changed = 1;
	}
	/* openai-node's accumulator needs a type on every call */
	if (isnew && !cJSON_IsString(member(tc, "type"))) {
		if (set_string(tc, "type", "function") != 0)
			fx->fail = "out of memory";
		fx->changed = 1;
	}
	/* ... and v4 an id: make one up where the upstream sent none */
	if (isnew && (str_member(tc, "id") == NULL ||
	    *str_member(tc, "id") == '\0')) {
		char id[64];

		snprintf(id, sizeof(id), "call_%s%d", fx->st->id_prefix, k);
		if (set_string(tc, "id", id) != 0)
			fx->fail = "out of memory";
		fx->changed = 1;
	}
}

/*
 * Note a relayed finish_reason; after tool calls turn "stop" into
 * "tool_calls" (Gemini ends streamed tool turns with "stop").
 */
static void
fix_finish(struct fix *fx, cJSON *choice, int had_tools)
{
	const char *fr = str_member(choice, "finish_reason");

	if (fr == NULL)
		return;
	fx->finish = 1;
	if (!had_tools || strcmp(fr, "stop") != 0)
		return;
	if (set_string(choice, "finish_reason", "tool_calls") != 0)
		fx->fail = "out of memory";
	fx->changed = 1;
}

/*
 * Thought summaries inline in content (Gemini's compat endpoint when the
 * request asked for them) move to reasoning_content; at the finish what
 * the splitter held back goes where it belongs.
 */
static void
split_thoughts(struct fix *fx, cJSON *msg, int finish)
{
	struct px_stream_fix *st = fx->st;
	const char *text = str_member(msg, "content");
	struct px_buf c, r;

	if (!st->split_thoughts || !cJSON_IsObject(msg) ||
	    (text == NULL && !finish))
		return;
	px_buf_init(&c, (size_t)1 << 30);
	px_buf_init(&r, (size_t)1 << 30);
	if ((px_buf_adds(&c, "") != PX_OK || px_buf_adds(&r, "") != PX_OK) ||
	    (text != NULL && px_thoughts_split(&st->thoughts, text,
	    strlen(text), &c, &r) != PX_OK) ||
	    (finish && px_thoughts_flush(&st->thoughts, &c, &r) != PX_OK)) {
		fx->fail = "out of memory";
	} else {
		if (text != NULL || c.len > 0)
			fx->fail = set_string(msg, "content", c.p) != 0 ?
			    "out of memory" : NULL;
		if (r.len > 0 && set_string(msg, "reasoning_content", r.p) != 0)
			fx->fail = "out of memory";
		fx->changed = 1;
	}
	px_buf_free(&c);
	px_buf_free(&r);
}

/* Reasoning the client did not ask for is not shown (OpenRouter sends
 * it for reasoning models by default). */
static void
hide_reasoning(struct fix *fx, cJSON *msg)
{
	static const char *const keys[] = {
		"reasoning", "reasoning_content", "reasoning_details"
	};
	size_t i;

	if (!fx->st->hide_reasoning || !cJSON_IsObject(msg))
		return;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (member(msg, keys[i]) == NULL)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(msg, keys[i]);
		fx->changed = 1;
	}
}

static void
fix_stream_choice(struct fix *fx, cJSON *choice)
{
	cJSON *calls = member(member(choice, "delta"), "tool_calls"), *tc;

	hide_reasoning(fx, member(choice, "delta"));
	split_thoughts(fx, member(choice, "delta"),
	    str_member(choice, "finish_reason") != NULL);
	if (cJSON_IsArray(calls)) {
		cJSON_ArrayForEach(tc, calls) {
			if (cJSON_IsObject(tc))
				fix_tool(fx, tc);
			if (fx->fail != NULL)
				return;
		}
	}
	fix_finish(fx, choice, fx->st->ntools > 0);
}

/* Keep the latest usage object; a missing total is the sum of the parts. */
static void
usage_from(struct px_stream_fix *st, const cJSON *u)
{
	st->prompt_tokens = long_member(u, "prompt_tokens", 0);
	st->completion_tokens = long_member(u, "completion_tokens", 0);
	st->total_tokens = long_member(u, "total_tokens",
	    st->prompt_tokens + st->completion_tokens);
	st->have_usage = 1;
}

static void
record_usage(struct px_stream_fix *st, const cJSON *root)
{
	const cJSON *u = member(root, "usage");
	const cJSON *choices = member(root, "choices");

	if (!cJSON_IsObject(u))
		return;
	st->usage_alone = !cJSON_IsArray(choices) ||
	    cJSON_GetArraySize(choices) == 0;
	usage_from(st, u);
}

/*
 * A plain 2xx body (no tool calls, no error) needs no repair: read only its
 * "usage" member instead of parsing the whole completion.
 */
static int
body_fast_path(struct px_stream_fix *st, const char *body, size_t len)
{
	size_t off, vlen;
	cJSON *u;

	if (contains(body, len, K_TOOL_CALLS) || contains(body, len, K_ERROR) ||
	    st->split_thoughts ||
	    (st->hide_reasoning && contains(body, len, K_REASONING)))
		return 0;
	if (!px_json_find(body, len, "usage", &off, &vlen))
		return 1;
	u = cJSON_ParseWithLength(body + off, vlen);
	if (cJSON_IsObject(u))
		usage_from(st, u);
	cJSON_Delete(u);
	return 1;
}

/* OpenRouter ends a failed stream with finish_reason "error". */
static int
has_error_finish(const cJSON *root)
{
	const cJSON *choices = member(root, "choices"), *c;
	const char *fr;

	if (!cJSON_IsArray(choices))
		return 0;
	cJSON_ArrayForEach(c, choices) {
		fr = str_member(c, "finish_reason");
		if (fr != NULL && strcmp(fr, "error") == 0)
			return 1;
	}
	return 0;
}

/*
 * Turn an upstream mid-stream error (OpenRouter's chunk with a top-level
 * "error", or a bare Google/OpenAI error object) into an OpenAI error
 * event. Nothing of the original chunk survives, so neither does its
 * finish_reason "error", which is no OpenAI value.
 */
static enum px_ev_action
error_event(const struct px_stream_fix *st, const cJSON *e,
    struct px_buf *out)
{
	const struct px_secrets *sec = st->secrets;
	struct uerr u;
	char msg[MSG_MAX + 1], type[64], code[64];

	uerr_read(e, &u);
	copy_clean(msg, sizeof(msg), u.message != NULL ? u.message :
	    "upstream reported an error", sec);
	copy_clean(type, sizeof(type), u.type != NULL ? u.type :
	    u.num != 0 ? px_err_type_for_status(u.num) : "server_error", sec);
	if (u.code != NULL)
		copy_clean(code, sizeof(code), u.code, sec);
	else if (u.status != NULL)
		copy_lower(code, sizeof(code), u.status, sec);
	else
		copy_clean(code, sizeof(code), code_for_status(u.num) != NULL ?
		    code_for_status(u.num) : "upstream_error", NULL);
	(void)write_error(out, msg, type, NULL, code);
	return PX_EV_ERROR;
}

static enum px_ev_action
fail_event(const char *why, struct px_buf *out)
{
	(void)write_error(out, why, "server_error", NULL, "upstream_error");
	return PX_EV_ERROR;
}

/* Apply every stream fix to a parsed event. */
static enum px_ev_action
fix_event(struct px_stream_fix *st, cJSON *root, size_t len,
    struct px_buf *out)
{
	struct fix fx = { st, 0, 0, NULL };
	const cJSON *e = error_item(root);
	cJSON *choices = member(root, "choices"), *choice;

	if (e != NULL)
		return error_event(st, e, out);
	if (has_error_finish(root))
		return error_event(st, NULL, out);
	record_usage(st, root);
	/* a usage-only chunk the proxy asked for, not the client */
	if (st->drop_usage_alone && cJSON_IsObject(member(root, "usage")) &&
	    st->usage_alone)
		return PX_EV_DROP;
	if (!cJSON_IsArray(choices))
		choices = NULL;
	cJSON_ArrayForEach(choice, choices) {
		fix_stream_choice(&fx, choice);
		if (fx.fail != NULL)
			return fail_event(fx.fail, out);
	}
	if (fx.finish)
		st->saw_finish = 1;
	if (!fx.changed)
		return PX_EV_PASS;
	if (print_json(root, len, out) != 0)
		return fail_event("rewritten stream event too large", out);
	return PX_EV_REWRITE;
}

enum px_ev_action
px_oai_map_event(struct px_stream_fix *st, const char *data, size_t len,
    struct px_buf *out)
{
	cJSON *root;
	enum px_ev_action act;
	int finish;

	if (!needs_parse(st, data, len, &finish)) {
		if (finish)
			st->saw_finish = 1;
		return PX_EV_PASS;
	}
	root = cJSON_ParseWithLength(data, len);
	if (root == NULL) {
		/* not JSON: nothing to repair; the engine relays it as is */
		if (finish)
			st->saw_finish = 1;
		return PX_EV_PASS;
	}
	act = fix_event(st, root, len, out);
	cJSON_Delete(root);
	return act;
}

/* --- non-stream bodies --- */

/* A non-stream body's signatures: the first call's of the message, or
 * any call's that carries one, by the id the client sees. */
static void
record_body_sigs(struct px_stream_fix *st, const cJSON *calls)
{
	const cJSON *tc;

	if (st->sigs == NULL || !cJSON_IsArray(calls))
		return;
	cJSON_ArrayForEach(tc, calls) {
		const char *id = str_member(tc, "id");
		const char *sig = str_member(member(member(tc, "extra_content"),
		    "google"), "thought_signature");

		if (id != NULL && *id != '\0' && sig != NULL && *sig != '\0' &&
		    strpbrk(id, "\t\n") == NULL && strpbrk(sig, "\t\n") == NULL)
			(void)px_buf_printf(st->sigs, "%s\t%s\n", id, sig);
	}
}

static void
fix_body_choice(struct fix *fx, cJSON *choice)
{
	const cJSON *calls = member(member(choice, "message"), "tool_calls");

	record_body_sigs(fx->st, calls);
	hide_reasoning(fx, member(choice, "message"));
	split_thoughts(fx, member(choice, "message"), 1);
	fix_finish(fx, choice, cJSON_IsArray(calls) &&
	    cJSON_GetArraySize(calls) > 0);
}

enum px_ev_action
px_oai_map_body(struct px_stream_fix *st, const char *body, size_t len,
    struct px_buf *out)
{
	struct fix fx = { st, 0, 0, NULL };
	enum px_ev_action act = PX_EV_PASS;
	cJSON *root = NULL, *choices, *choice;

	if (body == NULL || len == 0 || body_fast_path(st, body, len))
		return PX_EV_PASS;
	root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root))
		goto out;
	if (error_item(root) != NULL || has_error_finish(root)) {
		act = error_event(st, error_item(root), out);
		goto out;
	}
	record_usage(st, root);
	choices = member(root, "choices");
	if (!cJSON_IsArray(choices))
		choices = NULL;
	cJSON_ArrayForEach(choice, choices) {
		fix_body_choice(&fx, choice);
	}
	if (fx.finish)
		st->saw_finish = 1;
	/* out of memory half-way: the original body is still valid */
	if (fx.changed && fx.fail == NULL && print_json(root, len, out) == 0)
		act = PX_EV_REWRITE;
out:
	cJSON_Delete(root);
	return act;
}

/* --- error bodies --- */

enum px_err
px_oai_map_error(int status, const char *body, size_t len,
    const struct px_secrets *secret, struct px_buf *out)
{
	char msg[MSG_MAX + 1], type[64], param[128], code[64], fallback[64];
	cJSON *root = NULL;
	struct uerr u;
	enum px_err rc;

	if (body != NULL && len > 0)
		root = cJSON_ParseWithLength(body, len);
	uerr_read(error_item(root), &u);
	(void)snprintf(fallback, sizeof(fallback), "upstream returned HTTP %d",
	    status);
	copy_clean(msg, sizeof(msg), u.message != NULL ? u.message : fallback,
	    secret);
	copy_clean(type, sizeof(type), u.type != NULL ? u.type :
	    px_err_type_for_status(status), secret);
	copy_clean(param, sizeof(param), u.param != NULL ? u.param : "",
	    secret);
	if (u.code != NULL)
		copy_clean(code, sizeof(code), u.code, secret);
	else if (u.status != NULL)
		copy_lower(code, sizeof(code), u.status, secret);
	else
		copy_clean(code, sizeof(code), code_for_status(status) != NULL ?
		    code_for_status(status) : "", NULL);
	rc = write_error(out, msg, type, param[0] != '\0' ? param : NULL,
	    code[0] != '\0' ? code : NULL);
	cJSON_Delete(root);
	return rc;
}

/* --- requests --- */

void
px_oai_auth(const char *secret, char *line, size_t cap)
{
	snprintf(line, cap, "Authorization: Bearer %s", secret);
}

enum px_err
px_oai_url(const char *base, enum px_op op, const char *model, char *dst,
    size_t cap)
{
	static const char *const tail[] = {
		[PX_OP_CHAT] = "/chat/completions",
		[PX_OP_STREAM] = "/chat/completions",
		[PX_OP_MODELS] = "/models",
		[PX_OP_EMBED] = "/embeddings",
	};
	int n;

	(void)model;
	if ((unsigned)op > PX_OP_EMBED)
		return PX_EINTERNAL;
	n = snprintf(dst, cap, "%s%s", base, tail[op]);
	return n > 0 && (size_t)n < cap ? PX_OK : PX_ETOOBIG;
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
stream_options(const cJSON *root, struct px_buf *v)
{
	const cJSON *so = member(root, "stream_options");
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

/* The model named in the body (validated: a non-empty string). */
static const char *
body_model(const cJSON *root)
{
	const char *m = str_member(root, "model");

	return m != NULL ? m : "";
}

/*
 * The upstream body: the client's bytes, with "model" replaced when it
 * changed (auto-model, aliases) and, for streams, include_usage switched
 * on. Every other byte is the client's; with nothing to change the body
 * is the client's buffer itself. out and tmp take the two splices.
 */
enum px_err
px_oai_request(const struct px_upstream_in *in, struct px_buf *out,
    struct px_buf *tmp, const char **body, size_t *len, char *err,
    size_t cap)
{
	int edit_model = strcmp(in->model, body_model(in->root)) != 0;
	int edit_usage = in->stream && !in->include_usage;
	struct px_buf val;
	enum px_err rc = PX_OK;

	(void)err;
	(void)cap;
	*body = in->body;
	*len = in->len;
	px_buf_init(&val, 1u << 20);
	if (edit_model) {
		rc = json_quoted(&val, in->model);
		if (rc == PX_OK)
			rc = px_json_set(edit_usage ? tmp : out, *body, *len,
			    "model", val.p);
		*body = edit_usage ? tmp->p : out->p;
		*len = edit_usage ? tmp->len : out->len;
	}
	if (rc == PX_OK && edit_usage) {
		rc = stream_options(in->root, &val);
		if (rc == PX_OK)
			rc = px_json_set(out, *body, *len, "stream_options",
			    val.p);
		*body = out->p;
		*len = out->len;
	}
	px_buf_free(&val);
	return rc;
}

/* --- models --- */

enum px_err
px_oai_parse_models(const char *body, size_t len, px_model_fn fn, void *ctx,
    char *next, size_t ncap)
{
	cJSON *root = NULL;
	const cJSON *data, *m;
	const char *id;
	enum px_err rc = PX_EUPSTREAM;

	if (ncap > 0)
		next[0] = '\0';	/* one page: OpenAI lists are not paged */
	if (body != NULL && len > 0)
		root = cJSON_ParseWithLength(body, len);
	data = member(root, "data");
	if (!cJSON_IsArray(data))
		goto out;
	rc = PX_OK;
	cJSON_ArrayForEach(m, data) {
		id = str_member(m, "id");
		if (id != NULL && strncmp(id, "models/", 7) == 0)
			id += 7;
		if (id == NULL || *id == '\0')
			continue;
		if (fn(ctx, id) != 0)
			break;
	}
out:
	cJSON_Delete(root);
	return rc;
}

/* --- state and registry --- */

void
px_stream_fix_init(struct px_stream_fix *st)
{
	unsigned k;

	*st = (struct px_stream_fix){ 0 };
	for (k = 0; k < PX_MAX_TOOL_CALLS; k++)
		st->up_index[k] = -1;
	st->last_tool = -1;
}

const struct px_provider *
px_adapter(const struct px_provider_cfg *g)
{
	if (g->provider == PX_PROV_GEMINI && g->api == PX_API_NATIVE)
		return &px_provider_gemini_native;
	return px_provider_get(g->provider);
}

static const struct px_provider *const providers[PX_PROV__MAX] = {
	[PX_PROV_OPENROUTER] = &px_provider_openrouter,
	[PX_PROV_GEMINI]     = &px_provider_gemini,
};

/* NULL for an id outside enum px_provider_id. */
const struct px_provider *
px_provider_get(enum px_provider_id id)
{
	if ((unsigned)id >= PX_PROV__MAX)
		return NULL;
	return providers[id];
}
