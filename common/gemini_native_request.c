/*
 * gemini_native_request.c -- a validated Chat Completions request turned
 * into a Gemini generateContent body (provider-apis.md §3b, §4; 2026
 * addendum §1, §5.1): messages -> systemInstruction and contents, content
 * parts, tool calls and tool results; gemini_native_gen.c adds tools,
 * toolConfig and generationConfig.
 * Owns: roles (system/developer -> systemInstruction, assistant -> model,
 * tool -> functionResponse parts of a user content), merging consecutive
 * contents of one role, media parts, the order of parallel calls and
 * their results, and the 400s for what the native API cannot take.
 * Never: I/O, or passing on members it does not know (they are dropped:
 * the native API rejects unknown fields). Client text is referenced, not
 * copied, while the tree is built (in->root outlives it).
 * Load: once per attempt on a native key; linear in the messages except
 * for matching tool results to calls (calls x results of one turn).
 * Sources: "§" cites provider-apis.md, "2026 doc §" its addendum
 * provider-apis-2026.md; each comment states the fact it relies on.
 */
#include "gemini_native.h"
#include "jsonraw.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ECHO_MAX 40	/* bytes of a client value quoted in an error */

/* One translation. */
struct tr {
	struct px_gn_tree b;
	cJSON        *contents;	/* [{role, parts}] */
	cJSON        *sys;	/* parts of systemInstruction */
	const cJSON  *msgs;	/* the client's messages */
	int           nmsgs;
	struct px_buf text;	/* scratch for text parts joined */
	char         *err;
	size_t        cap;
	enum px_err   rc;	/* the first PX_EBADREQ */
};

static void bad(struct tr *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Bytes of a client value to quote in an error ("%.*s"): ECHO_MAX, cut
 * before a character rather than inside it, so the message stays UTF-8. */
static int
echo_len(const char *s)
{
	size_t n = strlen(s);

	if (n <= ECHO_MAX)
		return (int)n;
	for (n = ECHO_MAX; n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80; n--)
		;
	return (int)n;
}

/* Record a request error (the first wins) with its message in t->err. */
static void
bad(struct tr *t, const char *fmt, ...)
{
	va_list ap;

	if (t->rc != PX_OK)
		return;
	t->rc = PX_EBADREQ;
	if (t->cap == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(t->err, t->cap, fmt, ap);
	va_end(ap);
}

static int
failed(const struct tr *t)
{
	return t->rc != PX_OK || t->b.oom;
}

/* --- text --- */

/*
 * The text of a content: the client's string itself, or the "text" (and
 * "refusal") parts of an array joined into t->text (*copied set: the
 * result lives only until the next call). "" when there is none.
 */
static const char *
content_text(struct tr *t, const cJSON *content, int *copied)
{
	const cJSON *p;
	const char *s;

	*copied = 0;
	if (cJSON_IsString(content))
		return content->valuestring;
	px_buf_reset(&t->text);
	cJSON_ArrayForEach(p, px_gn_arr(content)) {
		s = px_gn_str(p, "text");
		if (s == NULL)
			s = px_gn_str(p, "refusal");
		if (s != NULL && px_buf_adds(&t->text, s) != PX_OK)
			t->b.oom = 1;
	}
	*copied = 1;
	return t->text.len > 0 ? t->text.p : "";
}

/* A string item for s: referenced when it is the client's, else copied. */
static cJSON *
str_item(const char *s, int copied)
{
	return copied ? cJSON_CreateString(s) : cJSON_CreateStringReference(s);
}

/* Append {"text": s} to parts unless s is empty (an empty part is a 400). */
static void
text_part(struct tr *t, cJSON *parts, const char *s, int copied)
{
	cJSON *p;

	if (*s == '\0')
		return;
	p = px_gn_add(&t->b, parts, NULL, cJSON_CreateObject());
	if (p != NULL)
		(void)px_gn_add(&t->b, p, "text", str_item(s, copied));
}

/* --- media --- */

/*
 * The media type of an http(s) URL guessed from its file extension (query
 * and fragment ignored), or NULL. Gemini fileData needs a mimeType.
 */
static const char *
mime_of_url(const char *url)
{
	static const struct { const char *ext, *mime; } tab[] = {
		{ "png", "image/png" }, { "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" }, { "gif", "image/gif" },
		{ "webp", "image/webp" }, { "heic", "image/heic" },
		{ "heif", "image/heif" }, { "pdf", "application/pdf" },
		{ "mp3", "audio/mp3" }, { "wav", "audio/wav" },
		{ "ogg", "audio/ogg" }, { "flac", "audio/flac" },
		{ "aac", "audio/aac" }, { "mp4", "video/mp4" },
		{ "mov", "video/mov" }, { "webm", "video/webm" },
		{ "txt", "text/plain" },
	};
	size_t end = strcspn(url, "?#"), i, n;
	const char *dot = NULL, *p;

	for (p = url; p < url + end; p++) {
		if (*p == '/')
			dot = NULL;
		else if (*p == '.')
			dot = p;
	}
	if (dot == NULL)
		return NULL;
	n = (size_t)(url + end - (dot + 1));
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strlen(tab[i].ext) == n &&
		    strncasecmp(dot + 1, tab[i].ext, n) == 0)
			return tab[i].mime;
	return NULL;
}

/* Append {key: {mimeType, k2: v}}: inlineData/data or fileData/fileUri. */
static void
media_part(struct tr *t, cJSON *parts, const char *key, const char *mime,
    const char *k2, const char *v)
{
	cJSON *p = px_gn_add(&t->b, parts, NULL, cJSON_CreateObject()), *d;

	if (p == NULL)
		return;
	d = px_gn_add(&t->b, p, key, cJSON_CreateObject());
	if (d == NULL)
		return;
	(void)px_gn_add(&t->b, d, "mimeType", cJSON_CreateString(mime));
	(void)px_gn_add(&t->b, d, k2, cJSON_CreateStringReference(v));
}

/*
 * data:<mime>[;params];base64,<data> -> inlineData {mimeType, data}.
 * 0 when url is not such a URL (the caller names the field).
 */
static int
data_url_part(struct tr *t, cJSON *parts, const char *url)
{
	const char *comma = strchr(url, ','), *semi;
	char mime[128];
	size_t n;

	if (strncasecmp(url, "data:", 5) != 0 || comma == NULL ||
	    comma[1] == '\0' || (size_t)(comma - url) < 5 + 7 ||
	    strncasecmp(comma - 7, ";base64", 7) != 0)
		return 0;
	semi = strchr(url + 5, ';');
	n = (size_t)(semi - (url + 5));
	if (n == 0 || n >= sizeof(mime))
		return 0;
	memcpy(mime, url + 5, n);
	mime[n] = '\0';
	media_part(t, parts, "inlineData", mime, "data", comma + 1);
	return 1;
}

static int
is_http(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "https://", 8) == 0;
}

/* image_url.url: data URL -> inlineData; http(s) -> fileData; else 400. */
static void
image_part(struct tr *t, cJSON *parts, const cJSON *p, int i, int j)
{
	const char *url = px_gn_str(px_gn_get(p, "image_url"), "url");
	const char *mime;

	if (url == NULL)
		url = "";
	if (data_url_part(t, parts, url))
		return;
	if (!is_http(url)) {
		bad(t, "messages[%d].content[%d].image_url.url: expected a "
		    "data:<type>;base64,<data> URL or an http(s) URL", i, j);
		return;
	}
	mime = mime_of_url(url);
	if (mime == NULL) {
		bad(t, "messages[%d].content[%d].image_url.url: the media type "
		    "of \"%.*s\" cannot be told from its extension; send the "
		    "image as a data: URL", i, j, echo_len(url), url);
		return;
	}
	media_part(t, parts, "fileData", mime, "fileUri", url);
}

/* input_audio {data, format: wav|mp3} -> inlineData audio/<format>. */
static void
audio_part(struct tr *t, cJSON *parts, const cJSON *p, int i, int j)
{
	const cJSON *a = px_gn_get(p, "input_audio");
	const char *fmt = px_gn_str(a, "format"), *data = px_gn_str(a, "data");
	char mime[32];

	if (fmt == NULL || data == NULL || *data == '\0' ||
	    strlen(fmt) > 16 || strchr(fmt, '/') != NULL) {
		bad(t, "messages[%d].content[%d].input_audio: expected data "
		    "and format", i, j);
		return;
	}
	snprintf(mime, sizeof(mime), "audio/%s", fmt);
	media_part(t, parts, "inlineData", mime, "data", data);
}

/* file {file_data: data URL, or base64 with a filename}; file_id: 400. */
static void
file_part(struct tr *t, cJSON *parts, const cJSON *p, int i, int j)
{
	const cJSON *f = px_gn_get(p, "file");
	const char *data = px_gn_str(f, "file_data");
	const char *name = px_gn_str(f, "filename");
	const char *mime = name != NULL ? mime_of_url(name) : NULL;

	if (data != NULL && data_url_part(t, parts, data))
		return;
	if (data != NULL && *data != '\0' && mime != NULL) {
		media_part(t, parts, "inlineData", mime, "data", data);
		return;
	}
	bad(t, "messages[%d].content[%d].file: the Gemini native API needs "
	    "file_data as a data:<type>;base64,<data> URL (file_id cannot be "
	    "resolved)", i, j);
}

/* The parts of a user message's content (string or array). */
static cJSON *
user_parts(struct tr *t, const cJSON *content, int i)
{
	cJSON *parts = cJSON_CreateArray();
	const cJSON *p;
	const char *type;
	int j = 0;

	if (parts == NULL) {
		t->b.oom = 1;
		return NULL;
	}
	if (cJSON_IsString(content))
		text_part(t, parts, content->valuestring, 0);
	cJSON_ArrayForEach(p, px_gn_arr(content)) {
		type = px_gn_str(p, "type");
		if (type == NULL)
			type = "";
		if (strcmp(type, "text") == 0 && px_gn_str(p, "text") != NULL)
			text_part(t, parts, px_gn_str(p, "text"), 0);
		else if (strcmp(type, "image_url") == 0)
			image_part(t, parts, p, i, j);
		else if (strcmp(type, "input_audio") == 0)
			audio_part(t, parts, p, i, j);
		else if (strcmp(type, "file") == 0)
			file_part(t, parts, p, i, j);
		j++;
	}
	return parts;
}

/* --- contents --- */

/*
 * Append parts as a content of role, merged into the previous content
 * when it has the same role (Gemini wants user and model to alternate;
 * provider-apis.md §4 "Roles/alternation"). Empty parts are dropped: a
 * content without parts is a 400. Takes ownership of parts.
 */
static void
append(struct tr *t, const char *role, cJSON *parts)
{
	cJSON *last, *lparts, *it, *c;
	const char *lrole;

	if (parts == NULL || parts->child == NULL) {
		cJSON_Delete(parts);
		return;
	}
	last = cJSON_GetArrayItem(t->contents,
	    cJSON_GetArraySize(t->contents) - 1);
	lparts = px_gn_get(last, "parts");
	lrole = px_gn_str(last, "role");
	if (lrole != NULL && strcmp(lrole, role) == 0) {
		while (parts->child != NULL) {
			it = cJSON_DetachItemViaPointer(parts, parts->child);
			(void)px_gn_add(&t->b, lparts, NULL, it);
		}
		cJSON_Delete(parts);
		return;
	}
	c = px_gn_add(&t->b, t->contents, NULL, cJSON_CreateObject());
	if (c == NULL || px_gn_add(&t->b, c, "role",
	    cJSON_CreateStringReference(role)) == NULL) {
		cJSON_Delete(parts);
		return;
	}
	(void)px_gn_add(&t->b, c, "parts", parts);
}

/* system and developer messages: one systemInstruction text part each. */
static void
system_message(struct tr *t, const cJSON *m)
{
	int copied;
	const char *s = content_text(t, px_gn_get(m, "content"), &copied);

	text_part(t, t->sys, s, copied);
}

/*
 * Was this tool-call id made by Gemini (2026 doc §1.2: send id on replayed
 * calls and responses only when Gemini produced it)? The ids this proxy
 * synthesises, like OpenAI's own, start with "call_".
 */
static int
gemini_id(const char *id)
{
	return id != NULL && *id != '\0' && strncmp(id, "call_", 5) != 0;
}

/* functionCall.args: the arguments string parsed; "" is {}. */
static cJSON *
call_args(struct tr *t, const cJSON *fn, int i, int k)
{
	const char *a = px_gn_str(fn, "arguments");
	cJSON *args;

	if (a == NULL || a[strspn(a, " \t\r\n")] == '\0')
		return cJSON_CreateObject();
	args = cJSON_Parse(a);
	if (!cJSON_IsObject(args)) {
		cJSON_Delete(args);
		bad(t, "messages[%d].tool_calls[%d].function.arguments: "
		    "expected a JSON object", i, k);
		return NULL;
	}
	return args;
}

/*
 * One assistant tool call -> {"functionCall":{id?,name,args},
 * "thoughtSignature"?}. The signature the client kept in
 * extra_content.google.thought_signature goes on the part, beside
 * functionCall, never inside it (2026 doc §1.1).
 */
static void
call_part(struct tr *t, cJSON *parts, const cJSON *tc, int i, int k)
{
	const cJSON *fn = px_gn_get(tc, "function");
	const char *id = px_gn_str(tc, "id"), *sig;
	cJSON *p, *fc, *args = call_args(t, fn, i, k);

	if (args == NULL) {
		if (t->rc == PX_OK)
			t->b.oom = 1;	/* not a bad argument: no memory */
		return;
	}
	p = px_gn_add(&t->b, parts, NULL, cJSON_CreateObject());
	fc = p != NULL ? px_gn_add(&t->b, p, "functionCall",
	    cJSON_CreateObject()) : NULL;
	if (fc == NULL) {
		cJSON_Delete(args);
		return;
	}
	if (gemini_id(id))
		(void)px_gn_add(&t->b, fc, "id", cJSON_CreateStringReference(id));
	(void)px_gn_add(&t->b, fc, "name", cJSON_CreateStringReference(
	    px_gn_str(fn, "name") != NULL ? px_gn_str(fn, "name") : ""));
	(void)px_gn_add(&t->b, fc, "args", args);
	sig = px_gn_str(px_gn_get(px_gn_get(tc, "extra_content"), "google"),
	    "thought_signature");
	if (sig != NULL && *sig != '\0')
		(void)px_gn_add(&t->b, p, "thoughtSignature",
		    cJSON_CreateStringReference(sig));
}

/*
 * {"functionResponse":{id?,name,response:{"output":<text>}}} for the tool
 * message m answering call tc (2026 doc §5.1: "output" holds a result).
 */
static void
result_part(struct tr *t, cJSON *parts, const cJSON *tc, const cJSON *m)
{
	const char *id = px_gn_str(tc, "id");
	const char *name = px_gn_str(px_gn_get(tc, "function"), "name");
	cJSON *p, *fr, *resp;
	const char *s;
	int copied;

	if (name == NULL)
		name = "";
	p = px_gn_add(&t->b, parts, NULL, cJSON_CreateObject());
	fr = p != NULL ? px_gn_add(&t->b, p, "functionResponse",
	    cJSON_CreateObject()) : NULL;
	if (fr == NULL)
		return;
	if (gemini_id(id))
		(void)px_gn_add(&t->b, fr, "id", cJSON_CreateStringReference(id));
	(void)px_gn_add(&t->b, fr, "name", cJSON_CreateStringReference(name));
	resp = px_gn_add(&t->b, fr, "response", cJSON_CreateObject());
	s = content_text(t, px_gn_get(m, "content"), &copied);
	if (resp != NULL)
		(void)px_gn_add(&t->b, resp, "output", str_item(s, copied));
}

static const char *
role_of(const struct tr *t, int i)
{
	const char *r = px_gn_str(cJSON_GetArrayItem(t->msgs, i), "role");

	return r != NULL ? r : "";
}

/* The first message in [from, to) whose tool_call_id is id, or -1. */
static int
answer_of(const struct tr *t, int from, int to, const char *id)
{
	const char *got;

	for (; from < to; from++) {
		got = px_gn_str(cJSON_GetArrayItem(t->msgs, from),
		    "tool_call_id");
		if (id != NULL && got != NULL && strcmp(got, id) == 0)
			return from;
	}
	return -1;
}

/* Every tool message of the run [from, to) answers a call of calls. */
static void
check_run(struct tr *t, const cJSON *calls, int i, int from, int to)
{
	const cJSON *tc;
	const char *id;
	int ok;

	for (; from < to && !failed(t); from++) {
		id = px_gn_str(cJSON_GetArrayItem(t->msgs, from),
		    "tool_call_id");
		ok = 0;
		cJSON_ArrayForEach(tc, calls) {
			ok |= id != NULL && px_gn_str(tc, "id") != NULL &&
			    strcmp(px_gn_str(tc, "id"), id) == 0;
		}
		if (!ok)
			bad(t, "messages[%d].tool_call_id: \"%.*s\" is not a "
			    "tool call of messages[%d]", from,
			    echo_len(id != NULL ? id : ""), id != NULL ? id : "",
			    i);
	}
}

/*
 * The tool messages right after assistant message i answer its calls:
 * their functionResponse parts go into one user content, in the order of
 * the calls (FC1, FC2 then FR1, FR2; interleaving, or fewer results than
 * calls, is a 400 upstream: 2026 doc §1.1, provider-apis.md §4). Returns
 * the index of the first message after the run.
 */
static int
tool_results(struct tr *t, const cJSON *calls, int i)
{
	int end = i + 1, k = 0, m;
	const cJSON *tc;
	const char *id;
	cJSON *parts;

	while (end < t->nmsgs && strcmp(role_of(t, end), "tool") == 0)
		end++;
	if (end == i + 1 && end == t->nmsgs)
		return end;	/* the conversation ends with the calls */
	parts = cJSON_CreateArray();
	cJSON_ArrayForEach(tc, (parts != NULL ? calls : NULL)) {
		id = px_gn_str(tc, "id");
		m = answer_of(t, i + 1, end, id);
		if (m < 0) {
			bad(t, "messages[%d].tool_calls[%d]: no tool message "
			    "right after it answers id \"%.*s\"", i, k,
			    echo_len(id != NULL ? id : ""), id != NULL ? id : "");
			break;
		}
		result_part(t, parts, tc, cJSON_GetArrayItem(t->msgs, m));
		k++;
	}
	t->b.oom |= parts == NULL;
	check_run(t, calls, i, i + 1, end);
	append(t, "user", parts);
	return end;
}

/* An assistant message: its text, then its calls and their results. */
static int
assistant_message(struct tr *t, const cJSON *m, int i)
{
	const cJSON *calls = px_gn_get(m, "tool_calls"), *tc;
	cJSON *parts = cJSON_CreateArray();
	const char *s;
	int copied, k = 0;

	if (parts == NULL) {
		t->b.oom = 1;
		return i + 1;
	}
	s = content_text(t, px_gn_get(m, "content"), &copied);
	text_part(t, parts, s, copied);
	if (!cJSON_IsArray(calls) || calls->child == NULL) {
		append(t, "model", parts);
		return i + 1;
	}
	cJSON_ArrayForEach(tc, calls) {
		call_part(t, parts, tc, i, k++);
	}
	append(t, "model", parts);
	return tool_results(t, calls, i);
}

/* One message at index i; returns the index of the next one to read. */
static int
message(struct tr *t, int i)
{
	const cJSON *m = cJSON_GetArrayItem(t->msgs, i);
	const char *role = role_of(t, i);

	if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0)
		system_message(t, m);
	else if (strcmp(role, "user") == 0)
		append(t, "user", user_parts(t, px_gn_get(m, "content"), i));
	else if (strcmp(role, "assistant") == 0)
		return assistant_message(t, m, i);
	else if (strcmp(role, "tool") == 0)
		bad(t, "messages[%d]: a tool message must follow an assistant "
		    "message with tool_calls", i);
	return i + 1;
}

/* --- the body --- */

static cJSON *
build(struct tr *t, const struct px_upstream_in *in)
{
	cJSON *req = cJSON_CreateObject(), *si;
	int i = 0;

	if (req == NULL) {
		t->b.oom = 1;
		return NULL;
	}
	t->contents = cJSON_CreateArray();
	t->sys = cJSON_CreateArray();
	if (t->contents == NULL || t->sys == NULL)
		t->b.oom = 1;
	while (i < t->nmsgs && !failed(t))
		i = message(t, i);
	if (!failed(t) && t->contents->child == NULL)
		bad(t, "messages: nothing to send but system text; Gemini "
		    "needs a user or assistant message");
	if (!failed(t) && t->sys->child != NULL) {
		si = px_gn_add(&t->b, req, "systemInstruction",
		    cJSON_CreateObject());
		if (si != NULL)
			(void)px_gn_add(&t->b, si, "parts", t->sys);
		t->sys = NULL;
	}
	if (!failed(t))
		(void)px_gn_add(&t->b, req, "contents", t->contents);
	else
		cJSON_Delete(t->contents);
	t->contents = NULL;
	cJSON_Delete(t->sys);
	if (!failed(t))
		px_gn_add_tools(&t->b, req, in->root);
	if (!failed(t))
		px_gn_add_config(&t->b, req, in->root, px_gn_model_id(in->model),
		    in->reasoning);
	return req;
}

enum px_err
px_gn_request(const struct px_upstream_in *in, struct px_buf *out,
    struct px_buf *tmp, const char **body, size_t *len, char *err,
    size_t cap)
{
	struct tr t;
	cJSON *req;
	enum px_err rc;

	(void)tmp;
	if (in->op == PX_OP_EMBED) {	/* an OpenAI embeddings request */
		rc = px_gn_embed_request(in->body, in->len, in->model, out, err,
		    cap);
		*body = out->p;
		*len = rc == PX_OK ? out->len : 0;
		return rc;
	}
	memset(&t, 0, sizeof(t));
	t.msgs = px_gn_get(in->root, "messages");
	t.nmsgs = cJSON_GetArraySize(t.msgs);
	t.err = err;
	t.cap = cap;
	px_buf_init(&t.text, out->max);
	req = build(&t, in);
	rc = t.rc != PX_OK ? t.rc : t.b.oom ? PX_ENOMEM : PX_OK;
	px_buf_reset(out);
	if (rc == PX_OK)
		rc = px_json_print(req, out);
	cJSON_Delete(req);
	px_buf_free(&t.text);
	*body = out->p;
	*len = rc == PX_OK ? out->len : 0;
	return rc;
}
