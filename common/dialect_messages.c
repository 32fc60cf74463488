/*
 * dialect_messages.c -- the Anthropic Messages API (POST /v1/messages and
 * /v1/messages/count_tokens) as a dialect over the canonical chat form.
 * Owns: the request decode (a Messages body -> the canonical chat request,
 * errors naming the field in Messages terms), the stream encoder
 * (message_start, sequential content blocks, tool_use blocks buffered to
 * the end, message_delta with usage, message_stop, the in-stream error
 * event), the non-stream message object, the Anthropic error shape and
 * status, the request-id header, and the count_tokens answer.
 * Never: I/O, clocks, randomness or logging (ids derive from ctx->uid);
 * cJSON or allocation on the stream path (events are written into the
 * reused out buffer); client or upstream text spliced into JSON without
 * the escaper.
 * Load: one parse, one tree and one print per request; a few events per
 * upstream chunk.
 */
#include "dialect_messages.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "utf8.h"
#include "validate.h"

#define ECHO_MAX	40	/* bytes of a client string shown in errors */
#define STOP_MAX	4	/* chat "stop": OpenAI takes at most 4 */
#define USER_MAX	64	/* chat "user": longer ids are hashed */
#define TOOL_NAME_MAX	64	/* chat function names */
#define TEXT_MAX	((size_t)1 << 30)	/* joined text; the body caps it */

/* --- the client body ------------------------------------------------------ */

static enum px_err
body_fail(struct px_verr *err, const char *what, size_t at)
{
	err->param[0] = '\0';
	snprintf(err->msg, sizeof(err->msg), "%s (at byte %zu)", what, at);
	return PX_EBADREQ;
}

static int
json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Offset of the first control byte JSON allows nowhere (n if none), or 0
 * for an empty body or a byte order mark cJSON would skip silently. */
static size_t
bad_byte_at(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0))
		return 0;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 && !json_ws(s[i]))
			return i;
	}
	return n;
}

/* 1 + commas + opening brackets outside strings: an upper bound on the
 * values cJSON would allocate, counted before it allocates any. */
static size_t
count_values(const char *s, size_t n)
{
	size_t i, v = 1;

	for (i = 0; i < n; i++) {
		if (s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				i += s[i] == '\\';
		} else if (s[i] == ',' || s[i] == '{' || s[i] == '[') {
			v++;
		}
	}
	return v;
}

/* UTF-8, syntax, the value cap, nothing after the value, an object. */
static enum px_err
parse(const char *body, size_t len, size_t max_values, cJSON **root,
    struct px_verr *err)
{
	static const char bad_json[] = "request body is not valid JSON";
	const char *end = body;
	size_t at = px_utf8_bad_at(body, len);

	if (at < len)
		return body_fail(err, "request body is not valid UTF-8", at);
	at = bad_byte_at(body, len);
	if (at < len || len == 0)
		return body_fail(err, bad_json, at);
	if (count_values(body, len) > max_values) {
		err->param[0] = '\0';
		snprintf(err->msg, sizeof(err->msg), "request body holds more "
		    "than %zu JSON values (max_json_values)", max_values);
		return PX_ETOOBIG;
	}
	*root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (*root == NULL)
		return body_fail(err, bad_json, (size_t)(end - body));
	for (at = (size_t)(end - body); at < len && json_ws(body[at]); at++)
		;
	if (at < len)
		return body_fail(err, "unexpected data after the JSON value",
		    at);
	if (cJSON_IsObject(*root))
		return PX_OK;
	err->param[0] = '\0';
	snprintf(err->msg, sizeof(err->msg), "request body must be a JSON "
	    "object");
	return PX_EBADREQ;
}

/* --- decode state, paths and errors --------------------------------------- */

struct dec {
	struct px_dstate *st;
	struct px_verr   *err;
	const cJSON      *tools;	/* the request's tools (server names) */
	cJSON            *msgs;		/* canonical messages being built */
	cJSON            *parts;	/* the pending user message's parts */
	cJSON            *list;		/* tool_calls or tools being filled */
	struct px_buf     text;		/* text being joined */
	struct px_buf     aux;		/* one tool or search result's text */
	struct px_buf    *join;		/* where text_add() appends */
	const char       *sep;		/* and with what between */
	char              path[96];	/* JSON path of the value being read */
	size_t            plen;
	unsigned          ntools;	/* client tools kept */
	int               count;	/* count_tokens: no max_tokens/stream */
	int               oom;		/* sticky: some allocation failed */
};

static size_t
path_add(struct dec *d, const char *key, size_t idx)
{
	size_t old = d->plen, room = sizeof(d->path) - old;
	int n;

	if (key != NULL)
		n = snprintf(d->path + old, room, "%s%s", old ? "." : "", key);
	else
		n = snprintf(d->path + old, room, "[%zu]", idx);
	if (n > 0)
		d->plen = (size_t)n < room ? old + (size_t)n :
		    sizeof(d->path) - 1;
	return old;
}

static size_t
path_key(struct dec *d, const char *key)
{
	return key != NULL ? path_add(d, key, 0) : d->plen;
}

static void
path_cut(struct dec *d, size_t len)
{
	d->plen = len;
	d->path[len] = '\0';
}

/* Length of s cut to at most max bytes without splitting a character. */
static size_t
utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* What a client value is, for "got ..." (strings quoted and cut). */
static void
describe(const cJSON *it, char *buf, size_t n)
{
	size_t len;

	if (cJSON_IsString(it)) {
		len = utf8_cut(it->valuestring, ECHO_MAX);
		snprintf(buf, n, "\"%.*s%s\"", (int)len, it->valuestring,
		    it->valuestring[len] != '\0' ? "..." : "");
	} else if (cJSON_IsNumber(it)) {
		snprintf(buf, n, "%.15g", it->valuedouble);
	} else if (cJSON_IsBool(it)) {
		snprintf(buf, n, "%s", cJSON_IsTrue(it) ? "true" : "false");
	} else {
		snprintf(buf, n, "%s", cJSON_IsArray(it) ? "an array" :
		    cJSON_IsNull(it) ? "null" : "an object");
	}
}

/* param = path[.key], msg = "param: what"; always PX_EBADREQ. */
static enum px_err
fail(struct dec *d, const char *key, const char *what)
{
	struct px_verr *e = d->err;
	size_t old = path_key(d, key), p;

	snprintf(e->param, sizeof(e->param), "%s", d->path);
	path_cut(d, old);
	p = strlen(e->param);
	snprintf(e->msg, sizeof(e->msg), "%s: %.*s", e->param,
	    (int)utf8_cut(what, sizeof(e->msg) - p - 3), what);
	return PX_EBADREQ;
}

static enum px_err
fail_got(struct dec *d, const char *key, const char *want, const cJSON *it)
{
	char got[ECHO_MAX + 8], what[200];

	describe(it, got, sizeof(got));
	snprintf(what, sizeof(what), "expected %s; got %s", want, got);
	return fail(d, key, what);
}

/* --- lookups -------------------------------------------------------------- */

enum {
	T_STR = 1u << 0, T_NUM = 1u << 1, T_BOOL = 1u << 2,
	T_ARR = 1u << 3, T_OBJ = 1u << 4, T_REQ = 1u << 5
};

static unsigned
type_bit(const cJSON *it)
{
	if (cJSON_IsString(it))
		return T_STR;
	if (cJSON_IsNumber(it))
		return T_NUM;
	if (cJSON_IsBool(it))
		return T_BOOL;
	return cJSON_IsArray(it) ? T_ARR : T_OBJ;
}

/* "string", "string or array" */
static void
type_names(unsigned want, char *buf, size_t n)
{
	static const char *const names[] = {
		"string", "number", "boolean", "array", "object"
	};
	size_t i, len = 0;
	unsigned left = want & (T_REQ - 1);

	buf[0] = '\0';
	for (i = 0; left != 0 && len < n; i++) {
		if ((left & (1u << i)) == 0)
			continue;
		left &= ~(1u << i);
		len += (size_t)snprintf(buf + len, n - len, "%s%s",
		    len == 0 ? "" : " or ", names[i]);
	}
}

/*
 * Member key of obj when its type is in want. *out is NULL when it is
 * absent or null: null means absent throughout, as the SDK types make
 * most fields nullable.
 */
static enum px_err
get(struct dec *d, const cJSON *obj, const char *key, unsigned want,
    const cJSON **out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	char names[64];

	*out = NULL;
	if (it == NULL || cJSON_IsNull(it))
		return (want & T_REQ) ? fail(d, key, "required") : PX_OK;
	if ((type_bit(it) & want) == 0) {
		type_names(want, names, sizeof(names));
		return fail_got(d, key, names, it);
	}
	*out = it;
	return PX_OK;
}

/* A required non-empty string member. */
static enum px_err
get_name(struct dec *d, const cJSON *obj, const char *key, const char **out)
{
	const cJSON *it;
	enum px_err rc = get(d, obj, key, T_STR | T_REQ, &it);

	*out = it != NULL ? it->valuestring : "";
	if (rc == PX_OK && **out == '\0')
		return fail_got(d, key, "a non-empty string", it);
	return rc;
}

static enum px_err
need_object(struct dec *d, const cJSON *it)
{
	return cJSON_IsObject(it) ? PX_OK : fail_got(d, NULL, "object", it);
}

/* The index of it's string in set[0..n), or a 400 naming key. */
static enum px_err
pick(struct dec *d, const char *key, const cJSON *it,
    const char *const *set, int n, int *idx)
{
	char want[120];
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (strcmp(set[i], it->valuestring) == 0) {
			*idx = i;
			return PX_OK;
		}
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%s",
		    i == 0 ? "one of " : ", ", set[i]);
		if (len >= sizeof(want))
			break;
	}
	return fail_got(d, key, want, it);
}

/* Run fn on every element of arr with the path at key[i]. */
static enum px_err
each(struct dec *d, const char *key, const cJSON *arr,
    enum px_err (*fn)(struct dec *, const cJSON *))
{
	const cJSON *it;
	size_t old = path_key(d, key), mark, i = 0;
	enum px_err rc = PX_OK;

	for (it = arr->child; it != NULL && rc == PX_OK; it = it->next) {
		mark = path_add(d, NULL, i++);
		rc = fn(d, it);
		path_cut(d, mark);
	}
	path_cut(d, old);
	return rc == PX_OK && d->oom ? PX_ENOMEM : rc;
}

/* --- building the canonical tree ------------------------------------------ */

/*
 * item added to parent (under key for an object); NULL, item freed and
 * d->oom set when either is missing or the add fails, so a chain of adds
 * is checked once at the end.
 */
static cJSON *
attach(struct dec *d, cJSON *parent, const char *key, cJSON *item)
{
	cJSON_bool ok = 0;

	if (parent != NULL && item != NULL)
		ok = key != NULL ? cJSON_AddItemToObject(parent, key, item) :
		    cJSON_AddItemToArray(parent, item);
	if (ok)
		return item;
	cJSON_Delete(item);
	d->oom = 1;
	return NULL;
}

static void
add_str(struct dec *d, cJSON *parent, const char *key, const char *s)
{
	attach(d, parent, key, cJSON_CreateString(s));
}

/* {"role":role,"content":content} appended to the canonical messages. */
static cJSON *
add_msg(struct dec *d, const char *role, cJSON *content)
{
	cJSON *m = attach(d, d->msgs, NULL, cJSON_CreateObject());

	add_str(d, m, "role", role);
	attach(d, m, "content", content);
	return m;
}

static void
join_begin(struct dec *d, struct px_buf *b, const char *sep)
{
	px_buf_reset(b);
	d->join = b;
	d->sep = sep;
}

/* Non-empty s appended to the text being joined. */
static void
text_add(struct dec *d, const char *s)
{
	if (*s == '\0')
		return;
	if (d->join->len > 0 && px_buf_adds(d->join, d->sep) != PX_OK)
		d->oom = 1;
	if (px_buf_adds(d->join, s) != PX_OK)
		d->oom = 1;
}

static const char *
buf_str(const struct px_buf *b)
{
	return b->len > 0 ? b->p : "";
}

/* --- content blocks -------------------------------------------------------- */

enum kind { K_TEXT, K_IMAGE, K_DOCUMENT, K_SEARCH, K_TOOL_USE,
	K_TOOL_RESULT, K_DROP };

#define KIND(k)	(1u << (k))
#define USER_KINDS	(KIND(K_TEXT) | KIND(K_IMAGE) | KIND(K_DOCUMENT) | \
			 KIND(K_SEARCH) | KIND(K_TOOL_RESULT) | KIND(K_DROP))
#define ASSISTANT_KINDS	(KIND(K_TEXT) | KIND(K_TOOL_USE) | KIND(K_DROP))
#define RESULT_KINDS	(KIND(K_TEXT) | KIND(K_IMAGE) | KIND(K_DOCUMENT) | \
			 KIND(K_SEARCH))

static const struct {
	const char *type;
	enum kind   kind;
} kinds[] = {
	{ "text", K_TEXT }, { "image", K_IMAGE }, { "document", K_DOCUMENT },
	{ "search_result", K_SEARCH }, { "tool_use", K_TOOL_USE },
	{ "tool_result", K_TOOL_RESULT },
	/* Replayed output a chat upstream cannot take: thinking (its
	 * signature only means something to Anthropic) and the blocks of
	 * Anthropic's own server tools. */
	{ "thinking", K_DROP }, { "redacted_thinking", K_DROP },
	{ "server_tool_use", K_DROP }, { "web_search_tool_result", K_DROP },
	{ "web_fetch_tool_result", K_DROP },
	{ "code_execution_tool_result", K_DROP },
	{ "bash_code_execution_tool_result", K_DROP },
	{ "text_editor_code_execution_tool_result", K_DROP },
	{ "tool_search_tool_result", K_DROP }, { "container_upload", K_DROP },
	{ "mcp_tool_use", K_DROP }, { "mcp_tool_result", K_DROP },
};

/* The kind of block b when mask allows it; else a 400 on its type. */
static enum px_err
block_kind(struct dec *d, const cJSON *b, unsigned mask, const char *want,
    enum kind *k)
{
	const cJSON *type;
	size_t i;
	enum px_err rc = need_object(d, b);

	if (rc == PX_OK)
		rc = get(d, b, "type", T_STR | T_REQ, &type);
	if (rc != PX_OK)
		return rc;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(kinds[i].type, type->valuestring) == 0 &&
		    (mask & KIND(kinds[i].kind)) != 0) {
			*k = kinds[i].kind;
			return PX_OK;
		}
	}
	return fail_got(d, "type", want, type);
}

/* "data:<media>;base64,<data>" as a new cJSON string. */
static cJSON *
data_url(const char *media, const char *data)
{
	size_t m = strlen(media), n = strlen(data);
	char *s = malloc(m + n + 14);
	cJSON *url;

	if (s == NULL)
		return NULL;
	memcpy(s, "data:", 5);
	memcpy(s + 5, media, m);
	memcpy(s + 5 + m, ";base64,", 8);
	memcpy(s + 13 + m, data, n + 1);
	url = cJSON_CreateString(s);
	free(s);
	return url;
}

static void
add_image(struct dec *d, cJSON *url)
{
	cJSON *p = attach(d, d->parts, NULL, cJSON_CreateObject());

	add_str(d, p, "type", "image_url");
	attach(d, attach(d, p, "image_url", cJSON_CreateObject()), "url", url);
}

/* A source's type other than the ones a chat upstream can take. */
static enum px_err
source_fail(struct dec *d, const cJSON *type, const char *want)
{
	if (strcmp(type->valuestring, "file") == 0)
		return fail(d, "type", "file sources are not supported (the "
		    "proxy keeps no files); send the content as base64");
	return fail_got(d, "type", want, type);
}

/* image: base64 -> a data: URL, url -> the URL; both as image_url. */
static enum px_err
image_block(struct dec *d, const cJSON *b)
{
	const cJSON *src, *type;
	const char *media, *data;
	cJSON *url = NULL;
	size_t old;
	enum px_err rc = get(d, b, "source", T_OBJ | T_REQ, &src);

	if (rc != PX_OK)
		return rc;
	old = path_key(d, "source");
	rc = get(d, src, "type", T_STR | T_REQ, &type);
	if (rc == PX_OK && strcmp(type->valuestring, "base64") == 0) {
		rc = get_name(d, src, "media_type", &media);
		if (rc == PX_OK)
			rc = get_name(d, src, "data", &data);
		if (rc == PX_OK)
			url = data_url(media, data);
	} else if (rc == PX_OK && strcmp(type->valuestring, "url") == 0) {
		rc = get_name(d, src, "url", &data);
		if (rc == PX_OK)
			url = cJSON_CreateString(data);
	} else if (rc == PX_OK) {
		rc = source_fail(d, type, "one of base64, url");
	}
	path_cut(d, old);
	if (rc == PX_OK)
		add_image(d, url);
	return rc == PX_OK && d->oom ? PX_ENOMEM : rc;
}

static void
add_text_part(struct dec *d, const char *text)
{
	cJSON *p;

	if (*text == '\0')
		return;		/* empty text parts are dropped */
	p = attach(d, d->parts, NULL, cJSON_CreateObject());
	add_str(d, p, "type", "text");
	add_str(d, p, "text", text);
}

static void
add_pdf(struct dec *d, const char *data)
{
	cJSON *p = attach(d, d->parts, NULL, cJSON_CreateObject());
	cJSON *f;

	add_str(d, p, "type", "file");
	f = attach(d, p, "file", cJSON_CreateObject());
	add_str(d, f, "filename", "document.pdf");
	attach(d, f, "file_data", data_url("application/pdf", data));
}

/* document: a base64 PDF -> a file part, a text source -> a text part. */
static enum px_err
document_block(struct dec *d, const cJSON *b)
{
	const cJSON *src, *type, *media, *text;
	const char *data = "";
	size_t old;
	int pdf = 0;
	enum px_err rc = get(d, b, "source", T_OBJ | T_REQ, &src);

	if (rc != PX_OK)
		return rc;
	old = path_key(d, "source");
	rc = get(d, src, "type", T_STR | T_REQ, &type);
	if (rc == PX_OK && strcmp(type->valuestring, "base64") == 0) {
		pdf = 1;
		rc = get(d, src, "media_type", T_STR | T_REQ, &media);
		if (rc == PX_OK && strcmp(media->valuestring,
		    "application/pdf") != 0)
			rc = fail_got(d, "media_type", "\"application/pdf\"",
			    media);
		if (rc == PX_OK)
			rc = get_name(d, src, "data", &data);
	} else if (rc == PX_OK && strcmp(type->valuestring, "text") == 0) {
		rc = get(d, src, "data", T_STR | T_REQ, &text);
		data = text != NULL ? text->valuestring : "";
	} else if (rc == PX_OK) {
		rc = source_fail(d, type, "one of base64 (PDF), text");
	}
	path_cut(d, old);
	if (rc == PX_OK && pdf)
		add_pdf(d, data);
	else if (rc == PX_OK)
		add_text_part(d, data);
	return rc == PX_OK && d->oom ? PX_ENOMEM : rc;
}

static enum px_err
text_of(struct dec *d, const cJSON *b, const char **text)
{
	const cJSON *t;
	enum px_err rc = get(d, b, "text", T_STR | T_REQ, &t);

	*text = t != NULL ? t->valuestring : "";
	return rc;
}

/* One text block of a search result's content, joined by "\n". */
static enum px_err
search_item(struct dec *d, const cJSON *b)
{
	const char *text;
	enum kind k;
	enum px_err rc = block_kind(d, b, KIND(K_TEXT), "\"text\"", &k);

	if (rc == PX_OK)
		rc = text_of(d, b, &text);
	if (rc == PX_OK)
		text_add(d, text);
	return rc;
}

/* search_result: its title and text content as one text, into d->aux;
 * the text being joined around it is left as it was. */
static enum px_err
search_text(struct dec *d, const cJSON *b)
{
	const cJSON *title, *content;
	struct px_buf *join = d->join;
	const char *sep = d->sep;
	enum px_err rc = get(d, b, "title", T_STR, &title);

	if (rc == PX_OK)
		rc = get(d, b, "content", T_ARR | T_REQ, &content);
	if (rc != PX_OK)
		return rc;
	join_begin(d, &d->aux, "\n");
	if (title != NULL)
		text_add(d, title->valuestring);
	rc = each(d, "content", content, search_item);
	d->join = join;
	d->sep = sep;
	return rc;
}

/* --- user, assistant and system messages ---------------------------------- */

/* A block of a tool_result's content: text joins the tool message, media
 * go to the user message that follows the tool messages. */
static enum px_err
result_block(struct dec *d, const cJSON *b)
{
	const char *text;
	enum kind k;
	enum px_err rc = block_kind(d, b, RESULT_KINDS,
	    "one of text, image, document, search_result", &k);

	if (rc != PX_OK)
		return rc;
	if (k == K_IMAGE)
		return image_block(d, b);
	if (k == K_DOCUMENT)
		return document_block(d, b);
	if (k == K_SEARCH) {
		rc = search_text(d, b);
		text = buf_str(&d->aux);
	} else {
		rc = text_of(d, b, &text);
	}
	if (rc == PX_OK)
		text_add(d, text);
	return rc;
}

/* Did an earlier assistant message call id? */
static int
call_seen(const cJSON *msgs, const char *id)
{
	const cJSON *m, *c, *cid;

	cJSON_ArrayForEach(m, msgs) {
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(m,
		    "tool_calls")) {
			cid = cJSON_GetObjectItemCaseSensitive(c, "id");
			if (cJSON_IsString(cid) &&
			    strcmp(cid->valuestring, id) == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * The tool message's text: chat has no error flag, so an error result
 * says so in words; some upstreams refuse empty tool content.
 */
static void
add_tool_msg(struct dec *d, const char *id, int is_error, int media)
{
	cJSON *m;

	join_begin(d, &d->aux, "");
	if (is_error)
		text_add(d, "Error: ");
	if (d->text.len > 0)
		text_add(d, buf_str(&d->text));
	else
		text_add(d, media ? "(attached below)" : "(no output)");
	m = add_msg(d, "tool", cJSON_CreateString(buf_str(&d->aux)));
	add_str(d, m, "tool_call_id", id);
}

/* tool_result -> a role "tool" message, right away (before the user
 * message the other blocks form). */
static enum px_err
tool_result(struct dec *d, const cJSON *b)
{
	const cJSON *content, *is_error;
	const char *id;
	int parts = cJSON_GetArraySize(d->parts);
	enum px_err rc = get_name(d, b, "tool_use_id", &id);

	if (rc == PX_OK && !call_seen(d->msgs, id))
		rc = fail(d, "tool_use_id", "no earlier tool_use block has "
		    "this id");
	if (rc == PX_OK)
		rc = get(d, b, "is_error", T_BOOL, &is_error);
	if (rc == PX_OK)
		rc = get(d, b, "content", T_STR | T_ARR, &content);
	if (rc != PX_OK)
		return rc;
	join_begin(d, &d->text, "\n");
	if (content != NULL && cJSON_IsString(content))
		text_add(d, content->valuestring);
	else if (content != NULL)
		rc = each(d, "content", content, result_block);
	if (rc == PX_OK)
		add_tool_msg(d, id, cJSON_IsTrue(is_error),
		    cJSON_GetArraySize(d->parts) > parts);
	return rc == PX_OK && d->oom ? PX_ENOMEM : rc;
}

static enum px_err
user_block(struct dec *d, const cJSON *b)
{
	const char *text;
	enum kind k;
	enum px_err rc = block_kind(d, b, USER_KINDS, "one of text, image, "
	    "document, search_result, tool_result, thinking", &k);

	if (rc != PX_OK)
		return rc;
	switch (k) {
	case K_TEXT:
		rc = text_of(d, b, &text);
		if (rc == PX_OK)
			add_text_part(d, text);
		return rc;
	case K_IMAGE:
		return image_block(d, b);
	case K_DOCUMENT:
		return document_block(d, b);
	case K_SEARCH:
		rc = search_text(d, b);
		if (rc == PX_OK)
			add_text_part(d, buf_str(&d->aux));
		return rc;
	case K_TOOL_RESULT:
		return tool_result(d, b);
	default:
		return PX_OK;	/* dropped */
	}
}

/* User blocks -> its tool messages in order, then one user message with
 * the other parts (and the media of the tool results), if any. */
static enum px_err
user_blocks(struct dec *d, const cJSON *content)
{
	cJSON *parts = cJSON_CreateArray();
	enum px_err rc;

	if (parts == NULL)
		return PX_ENOMEM;
	d->parts = parts;
	rc = each(d, "content", content, user_block);
	d->parts = NULL;
	if (rc == PX_OK && parts->child != NULL) {
		add_msg(d, "user", parts);
		return d->oom ? PX_ENOMEM : PX_OK;
	}
	cJSON_Delete(parts);
	return rc;
}

/* tool_use -> a tool call: the id kept (the client sends it back as
 * tool_use_id), arguments the input as compact JSON. */
static enum px_err
tool_use(struct dec *d, const cJSON *b)
{
	const cJSON *input;
	const char *id, *name;
	char *args = NULL;
	cJSON *c, *fn;
	enum px_err rc = get_name(d, b, "id", &id);

	if (rc == PX_OK)
		rc = get_name(d, b, "name", &name);
	if (rc == PX_OK)
		rc = get(d, b, "input", T_OBJ, &input);
	if (rc != PX_OK)
		return rc;
	if (input != NULL) {
		args = cJSON_PrintUnformatted(input);
		if (args == NULL)
			return PX_ENOMEM;
	}
	c = attach(d, d->list, NULL, cJSON_CreateObject());
	add_str(d, c, "id", id);
	add_str(d, c, "type", "function");
	fn = attach(d, c, "function", cJSON_CreateObject());
	add_str(d, fn, "name", name);
	add_str(d, fn, "arguments", args != NULL ? args : "{}");
	cJSON_free(args);
	return d->oom ? PX_ENOMEM : PX_OK;
}

static enum px_err
assistant_block(struct dec *d, const cJSON *b)
{
	const char *text;
	enum kind k;
	enum px_err rc = block_kind(d, b, ASSISTANT_KINDS,
	    "one of text, tool_use, thinking", &k);

	if (rc != PX_OK || k == K_DROP)
		return rc;
	if (k == K_TOOL_USE)
		return tool_use(d, b);
	rc = text_of(d, b, &text);
	if (rc == PX_OK)
		text_add(d, text);
	return rc;
}

/* Assistant blocks -> one message: the texts joined as content (null
 * when there are only calls), tool_use blocks as tool_calls. */
static enum px_err
assistant_blocks(struct dec *d, const cJSON *content)
{
	cJSON *calls = cJSON_CreateArray(), *m;
	enum px_err rc;

	if (calls == NULL)
		return PX_ENOMEM;
	d->list = calls;
	join_begin(d, &d->text, "\n\n");
	rc = each(d, "content", content, assistant_block);
	d->list = NULL;
	if (rc != PX_OK || (calls->child == NULL && d->text.len == 0)) {
		cJSON_Delete(calls);
		return rc;
	}
	m = add_msg(d, "assistant", d->text.len > 0 ?
	    cJSON_CreateString(buf_str(&d->text)) : cJSON_CreateNull());
	if (calls->child != NULL)
		attach(d, m, "tool_calls", calls);
	else
		cJSON_Delete(calls);
	return d->oom ? PX_ENOMEM : PX_OK;
}

static enum px_err
system_block(struct dec *d, const cJSON *b)
{
	const char *text;
	enum kind k;
	enum px_err rc = block_kind(d, b, KIND(K_TEXT), "\"text\"", &k);

	if (rc == PX_OK)
		rc = text_of(d, b, &text);
	if (rc == PX_OK)
		text_add(d, text);
	return rc;
}

/* A string or text blocks (cache_control ignored) -> one system message,
 * texts joined by "\n\n"; nothing when they are all empty. */
static enum px_err
system_msg(struct dec *d, const char *key, const cJSON *v)
{
	enum px_err rc = PX_OK;

	join_begin(d, &d->text, "\n\n");
	if (cJSON_IsString(v))
		text_add(d, v->valuestring);
	else
		rc = each(d, key, v, system_block);
	if (rc == PX_OK && d->text.len > 0)
		add_msg(d, "system", cJSON_CreateString(buf_str(&d->text)));
	return rc == PX_OK && d->oom ? PX_ENOMEM : rc;
}

static const char *const roles[] = { "user", "assistant", "system" };

static enum px_err
decode_message(struct dec *d, const cJSON *m)
{
	const cJSON *role, *content;
	int r = 0;
	enum px_err rc = need_object(d, m);

	if (rc == PX_OK)
		rc = get(d, m, "role", T_STR | T_REQ, &role);
	if (rc == PX_OK)
		rc = pick(d, "role", role, roles, 3, &r);
	if (rc == PX_OK)
		rc = get(d, m, "content", T_STR | T_ARR | T_REQ, &content);
	if (rc != PX_OK)
		return rc;
	if (cJSON_IsString(content)) {
		if (content->valuestring[0] != '\0')
			add_msg(d, roles[r],
			    cJSON_CreateString(content->valuestring));
		return d->oom ? PX_ENOMEM : PX_OK;
	}
	if (r == 0)
		return user_blocks(d, content);
	if (r == 1)
		return assistant_blocks(d, content);
	return system_msg(d, "content", content);
}

static enum px_err
decode_messages(struct dec *d, const cJSON *root)
{
	const cJSON *msgs;
	enum px_err rc = get(d, root, "messages", T_ARR | T_REQ, &msgs);

	if (rc == PX_OK && msgs->child == NULL)
		rc = fail_got(d, "messages", "a non-empty array", msgs);
	if (rc == PX_OK)
		rc = each(d, "messages", msgs, decode_message);
	if (rc == PX_OK && d->msgs->child == NULL)
		rc = fail(d, "messages", "no message has any content");
	return rc;
}

/* --- tools ---------------------------------------------------------------- */

/* What chat upstreams accept as a function name. */
static int
tool_name_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return s[n] == '\0' && n >= 1 && n <= TOOL_NAME_MAX;
}

/* Anthropic's server tools carry a dated type: web_search_20250305,
 * bash_20250124, text_editor_20250728, code_execution_20250825, ... */
static int
server_type(const char *t)
{
	size_t n = strlen(t);

	return n >= 10 && t[n - 9] == '_' && strspn(t + n - 8,
	    "0123456789") == 8;
}

/* Is name the name of a server tool of the request? */
static int
server_named(const struct dec *d, const char *name)
{
	const cJSON *t, *type, *n;

	cJSON_ArrayForEach(t, d->tools) {
		type = cJSON_GetObjectItemCaseSensitive(t, "type");
		n = cJSON_GetObjectItemCaseSensitive(t, "name");
		if (cJSON_IsString(type) && server_type(type->valuestring) &&
		    cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return 1;
	}
	return 0;
}

/* A client tool -> a chat function tool; input_schema -> parameters, and
 * nothing else (cache_control, defer_loading, eager_input_streaming,
 * input_examples, allowed_callers and strict mean nothing upstream). */
static enum px_err
client_tool(struct dec *d, const cJSON *t)
{
	const cJSON *name, *desc, *schema;
	cJSON *fn;
	enum px_err rc = get(d, t, "name", T_STR | T_REQ, &name);

	if (rc == PX_OK && !tool_name_ok(name->valuestring))
		rc = fail_got(d, "name", "1 to 64 characters of a-z, A-Z, 0-9, "
		    "_ or -", name);
	if (rc == PX_OK)
		rc = get(d, t, "description", T_STR, &desc);
	if (rc == PX_OK)
		rc = get(d, t, "input_schema", T_OBJ, &schema);
	if (rc != PX_OK)
		return rc;
	fn = attach(d, d->list, NULL, cJSON_CreateObject());
	add_str(d, fn, "type", "function");
	fn = attach(d, fn, "function", cJSON_CreateObject());
	add_str(d, fn, "name", name->valuestring);
	if (desc != NULL)
		add_str(d, fn, "description", desc->valuestring);
	if (schema != NULL)
		attach(d, fn, "parameters", cJSON_Duplicate(schema, 1));
	d->ntools++;
	return d->oom ? PX_ENOMEM : PX_OK;
}

static enum px_err
decode_tool(struct dec *d, const cJSON *t)
{
	const cJSON *type;
	enum px_err rc = need_object(d, t);

	if (rc == PX_OK)
		rc = get(d, t, "type", T_STR, &type);
	if (rc != PX_OK)
		return rc;
	if (type == NULL || strcmp(type->valuestring, "custom") == 0)
		return client_tool(d, t);
	if (server_type(type->valuestring))
		return PX_OK;	/* a chat upstream cannot run it: dropped */
	return fail_got(d, "type", "\"custom\" or a server tool type such as "
	    "web_search_20250305", type);
}

static enum px_err
decode_tools(struct dec *d, const cJSON *root, cJSON *chat)
{
	const cJSON *tools;
	cJSON *out;
	enum px_err rc = get(d, root, "tools", T_ARR, &tools);

	if (rc != PX_OK || tools == NULL)
		return rc;
	out = cJSON_CreateArray();
	if (out == NULL)
		return PX_ENOMEM;
	d->tools = tools;
	d->list = out;
	rc = each(d, "tools", tools, decode_tool);
	d->list = NULL;
	if (rc == PX_OK && out->child != NULL)
		attach(d, chat, "tools", out);
	else
		cJSON_Delete(out);
	return rc;
}

static const char *const choice_types[] = { "auto", "any", "tool", "none" };
static const char *const choice_words[] = { "auto", "required", NULL,
	"none" };

static void
add_choice(struct dec *d, cJSON *chat, int k, const cJSON *name,
    const cJSON *no_parallel)
{
	cJSON *tc;

	if (k != 2) {
		add_str(d, chat, "tool_choice", choice_words[k]);
	} else {
		tc = attach(d, chat, "tool_choice", cJSON_CreateObject());
		add_str(d, tc, "type", "function");
		add_str(d, attach(d, tc, "function", cJSON_CreateObject()),
		    "name", name->valuestring);
	}
	if (no_parallel != NULL)
		attach(d, chat, "parallel_tool_calls",
		    cJSON_CreateBool(!cJSON_IsTrue(no_parallel)));
}

/* tool_choice auto/any/tool/none; dropped when no client tool is left
 * (chat upstreams refuse tool_choice without tools) or when it names a
 * server tool that was dropped. */
static enum px_err
decode_choice(struct dec *d, const cJSON *root, cJSON *chat)
{
	const cJSON *tc, *type, *no_par = NULL, *name = NULL;
	size_t old;
	int k = 0;
	enum px_err rc = get(d, root, "tool_choice", T_OBJ, &tc);

	if (rc != PX_OK || tc == NULL)
		return rc;
	old = path_key(d, "tool_choice");
	rc = get(d, tc, "type", T_STR | T_REQ, &type);
	if (rc == PX_OK)
		rc = pick(d, "type", type, choice_types, 4, &k);
	if (rc == PX_OK)
		rc = get(d, tc, "disable_parallel_tool_use", T_BOOL, &no_par);
	if (rc == PX_OK && k == 2)
		rc = get(d, tc, "name", T_STR | T_REQ, &name);
	path_cut(d, old);
	if (rc != PX_OK || d->ntools == 0 ||
	    (name != NULL && server_named(d, name->valuestring)))
		return rc;
	add_choice(d, chat, k, name, no_par);
	return d->oom ? PX_ENOMEM : PX_OK;
}

/* --- the other request fields ---------------------------------------------- */

static int
int_in(const cJSON *it, double min, double max)
{
	double v = it->valuedouble;

	/* The range test first: it keeps the cast defined (and NaN out). */
	return v >= min && v <= max && v == (double)(long long)v;
}

static enum px_err
decode_head(struct dec *d, const cJSON *root, cJSON *chat)
{
	const cJSON *model, *mt = NULL, *stream = NULL;
	cJSON *so;
	enum px_err rc = get(d, root, "model", T_STR | T_REQ, &model);

	if (rc == PX_OK && (model->valuestring[0] == '\0' ||
	    strlen(model->valuestring) >= sizeof(d->st->model)))
		rc = fail_got(d, "model", "a non-empty string of at most 159 "
		    "bytes", model);
	if (rc == PX_OK && !d->count)
		rc = get(d, root, "max_tokens", T_NUM | T_REQ, &mt);
	if (rc == PX_OK && mt != NULL && !int_in(mt, 1, INT_MAX))
		rc = fail_got(d, "max_tokens", "an integer from 1 to "
		    "2147483647", mt);
	if (rc == PX_OK && !d->count)
		rc = get(d, root, "stream", T_BOOL, &stream);
	if (rc != PX_OK)
		return rc;
	snprintf(d->st->model, sizeof(d->st->model), "%s", model->valuestring);
	add_str(d, chat, "model", model->valuestring);
	if (mt != NULL)
		attach(d, chat, "max_tokens", cJSON_CreateNumber(mt->valuedouble));
	d->st->stream = cJSON_IsTrue(stream);
	if (d->st->stream) {
		attach(d, chat, "stream", cJSON_CreateTrue());
		so = attach(d, chat, "stream_options", cJSON_CreateObject());
		attach(d, so, "include_usage", cJSON_CreateTrue());
	}
	return d->oom ? PX_ENOMEM : PX_OK;
}

static enum px_err
stop_item(struct dec *d, const cJSON *it)
{
	return cJSON_IsString(it) ? PX_OK : fail_got(d, NULL, "string", it);
}

/* stop_sequences -> stop: the first STOP_MAX (OpenAI's limit). */
static enum px_err
decode_stop(struct dec *d, const cJSON *root, cJSON *chat)
{
	const cJSON *seqs, *it;
	cJSON *stop;
	int n = 0;
	enum px_err rc = get(d, root, "stop_sequences", T_ARR, &seqs);

	if (rc == PX_OK && seqs != NULL)
		rc = each(d, "stop_sequences", seqs, stop_item);
	if (rc != PX_OK || seqs == NULL || seqs->child == NULL)
		return rc;
	stop = attach(d, chat, "stop", cJSON_CreateArray());
	cJSON_ArrayForEach(it, seqs) {
		if (n++ == STOP_MAX)
			break;
		add_str(d, stop, NULL, it->valuestring);
	}
	return d->oom ? PX_ENOMEM : PX_OK;
}

/*
 * temperature and top_p are copied, in chat's ranges; top_k is dropped:
 * neither upstream's OpenAI endpoint is sure to take it.
 */
static enum px_err
decode_sampling(struct dec *d, const cJSON *root, cJSON *chat)
{
	static const struct {
		const char *key, *want;
		double      max;
	} nums[] = {
		{ "temperature", "a number from 0 to 2", 2 },
		{ "top_p", "a number from 0 to 1", 1 },
	};
	const cJSON *it;
	size_t i;
	enum px_err rc = decode_stop(d, root, chat);

	for (i = 0; rc == PX_OK && i < sizeof(nums) / sizeof(nums[0]); i++) {
		rc = get(d, root, nums[i].key, T_NUM, &it);
		if (rc != PX_OK || it == NULL)
			continue;
		if (!(it->valuedouble >= 0 && it->valuedouble <= nums[i].max))
			rc = fail_got(d, nums[i].key, nums[i].want, it);
		else
			attach(d, chat, nums[i].key,
			    cJSON_CreateNumber(it->valuedouble));
	}
	return rc == PX_OK && d->oom ? PX_ENOMEM : rc;
}

/* output_config.effort, checked whenever present; NULL when absent. */
static enum px_err
decode_effort(struct dec *d, const cJSON *root, const char **effort)
{
	const cJSON *oc, *e = NULL;
	size_t old;
	enum px_err rc = get(d, root, "output_config", T_OBJ, &oc);

	*effort = NULL;
	if (rc != PX_OK || oc == NULL)
		return rc;
	old = path_key(d, "output_config");
	rc = get(d, oc, "effort", T_STR, &e);
	if (rc == PX_OK && e != NULL) {
		*effort = px_dialect_effort(e->valuestring);
		if (*effort == NULL)
			rc = fail_got(d, "effort", "one of low, medium, high, "
			    "xhigh, max", e);
	}
	path_cut(d, old);
	return rc;
}

static const char *const think_types[] = { "enabled", "adaptive",
	"disabled", "between_tools" };

/*
 * thinking -> reasoning_effort. enabled: budget_tokens by proxy policy
 * (< 4096 low, < 16384 medium, else high); adaptive (and between_tools):
 * output_config.effort, or the upstream's default without one; disabled:
 * nothing. Without thinking, an effort alone still applies.
 */
static enum px_err
decode_thinking(struct dec *d, const cJSON *root, cJSON *chat)
{
	const cJSON *th = NULL, *type, *b = NULL;
	const char *effort = NULL;
	size_t old;
	int k = 0;
	enum px_err rc = decode_effort(d, root, &effort);

	if (rc == PX_OK)
		rc = get(d, root, "thinking", T_OBJ, &th);
	if (rc != PX_OK || th == NULL)
		goto out;
	old = path_key(d, "thinking");
	rc = get(d, th, "type", T_STR | T_REQ, &type);
	if (rc == PX_OK)
		rc = pick(d, "type", type, think_types, 4, &k);
	if (rc == PX_OK && k == 0)
		rc = get(d, th, "budget_tokens", T_NUM | T_REQ, &b);
	if (rc == PX_OK && b != NULL && !int_in(b, 0, INT_MAX))
		rc = fail_got(d, "budget_tokens", "a non-negative integer", b);
	path_cut(d, old);
	if (rc != PX_OK)
		return rc;
	if (k != 2)
		d->st->flags |= PX_DF_REASONING;
	if (b != NULL)
		effort = b->valuedouble < 4096 ? "low" :
		    b->valuedouble < 16384 ? "medium" : "high";
	else if (k == 2)
		effort = NULL;
out:
	if (rc == PX_OK && effort != NULL)
		add_str(d, chat, "reasoning_effort", effort);
	return rc == PX_OK && d->oom ? PX_ENOMEM : rc;
}

static void
add_format(struct dec *d, cJSON *chat, const cJSON *schema)
{
	cJSON *rf = attach(d, chat, "response_format", cJSON_CreateObject());
	cJSON *js;

	add_str(d, rf, "type", "json_schema");
	js = attach(d, rf, "json_schema", cJSON_CreateObject());
	add_str(d, js, "name", "output");
	attach(d, js, "schema", cJSON_Duplicate(schema, 1));
	attach(d, js, "strict", cJSON_CreateTrue());
}

/* output_config.format {type:"json_schema", schema} -> response_format. */
static enum px_err
decode_format(struct dec *d, const cJSON *root, cJSON *chat)
{
	const cJSON *oc = cJSON_GetObjectItemCaseSensitive(root,
	    "output_config"), *f = NULL, *type, *schema = NULL;
	size_t old;
	enum px_err rc;

	if (!cJSON_IsObject(oc))
		return PX_OK;	/* decode_effort checked its type */
	old = path_key(d, "output_config");
	rc = get(d, oc, "format", T_OBJ, &f);
	if (rc == PX_OK && f != NULL) {
		path_key(d, "format");
		rc = get(d, f, "type", T_STR | T_REQ, &type);
		if (rc == PX_OK && strcmp(type->valuestring, "json_schema") != 0)
			rc = fail_got(d, "type", "\"json_schema\"", type);
		if (rc == PX_OK)
			rc = get(d, f, "schema", T_OBJ | T_REQ, &schema);
	}
	path_cut(d, old);
	if (rc == PX_OK && schema != NULL)
		add_format(d, chat, schema);
	return rc == PX_OK && d->oom ? PX_ENOMEM : rc;
}

/* 64-bit FNV-1a from basis: a fixed, non-cryptographic hash. */
static uint64_t
fnv1a(const char *s, uint64_t h)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* metadata.user_id -> user; ids longer than chat takes are hashed. */
static enum px_err
decode_user(struct dec *d, const cJSON *root, cJSON *chat)
{
	const cJSON *md, *uid = NULL;
	const char *s;
	char h[40];
	enum px_err rc = get(d, root, "metadata", T_OBJ, &md);

	if (rc == PX_OK && md != NULL) {
		size_t old = path_key(d, "metadata");

		rc = get(d, md, "user_id", T_STR, &uid);
		path_cut(d, old);
	}
	if (rc != PX_OK || uid == NULL || uid->valuestring[0] == '\0')
		return rc;
	s = uid->valuestring;
	if (strlen(s) > USER_MAX) {
		snprintf(h, sizeof(h), "u_%016llx%016llx",
		    (unsigned long long)fnv1a(s, UINT64_C(0xcbf29ce484222325)),
		    (unsigned long long)fnv1a(s, UINT64_C(0x84222325cbf29ce4)));
		s = h;
	}
	add_str(d, chat, "user", s);
	return d->oom ? PX_ENOMEM : PX_OK;
}

/* --- decode --------------------------------------------------------------- */

static enum px_err
decode_root(struct dec *d, const cJSON *root, cJSON *chat)
{
	const cJSON *sys = NULL;
	enum px_err rc = decode_head(d, root, chat);

	if (rc == PX_OK)
		rc = get(d, root, "system", T_STR | T_ARR, &sys);
	if (rc == PX_OK) {
		d->msgs = attach(d, chat, "messages", cJSON_CreateArray());
		rc = d->msgs != NULL ? PX_OK : PX_ENOMEM;
	}
	if (rc == PX_OK && sys != NULL)
		rc = system_msg(d, "system", sys);
	if (rc == PX_OK)
		rc = decode_messages(d, root);
	if (rc == PX_OK)
		rc = decode_tools(d, root, chat);
	if (rc == PX_OK)
		rc = decode_choice(d, root, chat);
	if (rc == PX_OK)
		rc = decode_sampling(d, root, chat);
	if (rc == PX_OK)
		rc = decode_thinking(d, root, chat);
	if (rc == PX_OK)
		rc = decode_format(d, root, chat);
	if (rc == PX_OK)
		rc = decode_user(d, root, chat);
	if (rc == PX_OK && d->oom)
		rc = PX_ENOMEM;
	if (rc == PX_OK)
		rc = px_dialect_repair(d->msgs, "messages", d->err);
	return rc;
}

static enum px_err
print_chat(const cJSON *chat, struct px_buf *out)
{
	char *s = cJSON_PrintUnformatted(chat);
	enum px_err rc;

	if (s == NULL)
		return PX_ENOMEM;
	rc = px_buf_adds(out, s);
	cJSON_free(s);
	return rc;
}

static size_t
values_cap(const struct px_dctx *ctx)
{
	return ctx->max_values > 0 ? ctx->max_values : PX_JSON_VALUES_DEFAULT;
}

static enum px_err
decode_mode(const char *body, size_t len, const struct px_dctx *ctx,
    struct px_dstate *st, struct px_buf *chat, struct px_verr *err,
    int count)
{
	struct dec d;
	cJSON *root = NULL, *out = NULL;
	enum px_err rc;

	memset(err, 0, sizeof(*err));
	memset(&d, 0, sizeof(d));
	d.st = st;
	d.err = err;
	d.count = count;
	px_buf_init(&d.text, TEXT_MAX);
	px_buf_init(&d.aux, TEXT_MAX);
	d.join = &d.text;
	d.sep = "";
	px_buf_reset(chat);
	rc = parse(body != NULL ? body : "", body != NULL ? len : 0,
	    values_cap(ctx), &root, err);
	if (rc == PX_OK) {
		out = cJSON_CreateObject();
		rc = out != NULL ? decode_root(&d, root, out) : PX_ENOMEM;
	}
	if (rc == PX_OK)
		rc = print_chat(out, chat);
	if (rc == PX_OK) {
		snprintf(st->id, sizeof(st->id), "msg_%.48s",
		    ctx->uid != NULL ? ctx->uid : "");
		st->created = ctx->now_s;
		st->flags |= count ? PX_DF_COUNT : 0u;
	}
	cJSON_Delete(root);
	cJSON_Delete(out);
	px_buf_free(&d.text);
	px_buf_free(&d.aux);
	return rc;
}

static enum px_err
msg_decode(const char *body, size_t len, const struct px_dctx *ctx,
    struct px_dstate *st, struct px_buf *chat, struct px_verr *err)
{
	return decode_mode(body, len, ctx, st, chat, err, 0);
}

/*
 * The canonical request may hold a few more JSON values than the client
 * body (each tool gains a "function" wrapper), hence the doubled cap.
 */
enum px_err
px_messages_count(const char *body, size_t len, const struct px_dctx *ctx,
    struct px_dstate *st, struct px_buf *chat, struct px_verr *err,
    struct px_buf *out)
{
	struct px_chat_req rq;
	enum px_err rc = decode_mode(body, len, ctx, st, chat, err, 1);

	px_buf_reset(out);
	if (rc != PX_OK)
		return rc;
	rc = px_validate_chat_max(chat->p, chat->len, 2 * values_cap(ctx), &rq,
	    err);
	if (rc != PX_OK)
		return rc;
	st->est_input = px_dialect_estimate(rq.prompt_bytes);
	px_chat_req_free(&rq);
	return px_buf_printf(out, "{\"input_tokens\":%ld}", st->est_input);
}

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

/* --- stream events --------------------------------------------------------- */

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

/* --- stream callbacks ------------------------------------------------------ */

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

/* --- the non-stream message ------------------------------------------------ */

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

/* --- errors and headers ---------------------------------------------------- */

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
	.decode     = msg_decode,
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
