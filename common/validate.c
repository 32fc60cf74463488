/*
 * validate.c -- check one client chat request body (see validate.h).
 * Owns: UTF-8 and control-byte screening, the structural pre-scan (value
 * cap, escaped top-level names), the cJSON parse of the body, unique
 * top-level members, the
 * shape rules of provider-apis.md 1.1, path-named error text, and the
 * prompt_bytes estimate.
 * Never: rejects unknown fields, does I/O, logs, or echoes more than
 * ECHO_MAX bytes of a client value into an error.
 * Load: once per chat request; bodies up to max_body_bytes (MiBs), so the
 * byte scans are word-at-a-time and the tree is walked once.  Every
 * member lookup scans its object, which is fine for objects of a few dozen
 * members; a key this file checks must appear once, because jsonraw.c and
 * the provider may read a different occurrence than cJSON does.
 */
#include "validate.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#define ECHO_MAX	40	/* bytes of a client string shown in errors */
#define STOP_MAX	4	/* "stop": at most this many sequences */
#define TOOL_NAME_MAX	64

/* Type masks for get(); T_REQ makes the member mandatory. */
enum {
	T_STR = 1u << 0,
	T_NUM = 1u << 1,
	T_BOOL = 1u << 2,
	T_ARR = 1u << 3,
	T_OBJ = 1u << 4,
	T_NULL = 1u << 5,	/* last, so "string, array or null" reads well */
	T_REQ = 1u << 6
};

struct vctx {
	struct px_verr *err;
	char   path[96];	/* JSON path of the value being checked */
	size_t plen;
	size_t bytes;		/* prompt_bytes so far */
	unsigned parts;		/* part types the current role allows */
	int    tool_history;	/* an assistant message had tool_calls */
};

/* --- byte-level screening ------------------------------------------------- */

#define ONES	UINT64_C(0x0101010101010101)
#define HIGHS	UINT64_C(0x8080808080808080)


static int
bad_ctl(unsigned char c)
{
	return c < 0x20 && c != '\t' && c != '\n' && c != '\r';
}

/*
 * Offset of the first raw control byte other than HT, LF, CR; n if none.
 * RFC 8259 allows none of them anywhere, cJSON skips them as whitespace
 * and truncates strings at a raw NUL, and the body is forwarded as sent.
 */
static size_t
ctl_at(const unsigned char *s, size_t n)
{
	size_t i = 0, j;
	uint64_t w;

	for (; n - i >= 8; i += 8) {
		memcpy(&w, s + i, 8);
		if (((w - 0x20 * ONES) & ~w & HIGHS) == 0)
			continue;	/* no byte below 0x20 in this word */
		for (j = 0; j < 8; j++) {
			if (bad_ctl(s[i + j]))
				return i + j;
		}
	}
	for (; i < n; i++) {
		if (bad_ctl(s[i]))
			return i;
	}
	return n;
}

static int
json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* --- paths and error text ------------------------------------------------- */

static size_t
path_add(struct vctx *c, const char *key, size_t idx)
{
	size_t old = c->plen, room = sizeof c->path - old;
	int n;

	if (key != NULL)
		n = snprintf(c->path + old, room, "%s%s", old ? "." : "", key);
	else
		n = snprintf(c->path + old, room, "[%zu]", idx);
	if (n > 0)
		c->plen = (size_t)n < room ? old + (size_t)n : sizeof c->path - 1;
	return old;
}

static void
path_cut(struct vctx *c, size_t len)
{
	c->plen = len;
	c->path[len] = '\0';
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

/* Quote at most ECHO_MAX bytes of s, cut on a code point boundary. */
static void
echo_str(const char *s, char *buf, size_t n)
{
	size_t len = utf8_cut(s, ECHO_MAX);

	snprintf(buf, n, "\"%.*s%s\"", (int)len, s,
	    s[len] != '\0' ? "..." : "");
}

/* What a client value is, for "got ..." (strings quoted and truncated). */
static void
describe(const cJSON *it, char *buf, size_t n)
{
	if (cJSON_IsString(it))
		echo_str(it->valuestring, buf, n);
	else if (cJSON_IsNumber(it))
		snprintf(buf, n, "%.15g", it->valuedouble);
	else if (cJSON_IsBool(it))
		snprintf(buf, n, "%s", cJSON_IsTrue(it) ? "true" : "false");
	else if (cJSON_IsNull(it))
		snprintf(buf, n, "null");
	else if (cJSON_IsArray(it))
		snprintf(buf, n, "an array");
	else
		snprintf(buf, n, "an object");
}

/* msg = "param: what", what cut to fit (param is at most 95 bytes). */
static void
set_msg(struct px_verr *e, const char *what)
{
	size_t p = strlen(e->param), n;

	n = utf8_cut(what, sizeof e->msg - p - 3);
	memcpy(e->msg, e->param, p);
	memcpy(e->msg + p, ": ", 2);
	memcpy(e->msg + p + 2, what, n);
	e->msg[p + 2 + n] = '\0';
}

/*
 * Set param to path[.key] and msg to "param: what"; always PX_EBADREQ.
 * Not variadic, so the analyzer can follow the return value.
 */
static enum px_err
fail(struct vctx *c, const char *key, const char *what)
{
	struct px_verr *e = c->err;
	size_t old = c->plen;

	if (key != NULL)
		path_add(c, key, 0);
	snprintf(e->param, sizeof e->param, "%s", c->path);
	path_cut(c, old);
	set_msg(e, what);
	return PX_EBADREQ;
}

/* "expected <want>; got <what it is>" */
static enum px_err
fail_got(struct vctx *c, const char *key, const char *want, const cJSON *it)
{
	char got[ECHO_MAX + 8], what[160];

	describe(it, got, sizeof got);
	snprintf(what, sizeof what, "expected %s; got %s", want, got);
	return fail(c, key, what);
}

/* --- lookups -------------------------------------------------------------- */

static unsigned
type_bit(const cJSON *it)
{
	switch (it->type & 0xFF) {
	case cJSON_String:	return T_STR;
	case cJSON_Number:	return T_NUM;
	case cJSON_True:
	case cJSON_False:	return T_BOOL;
	case cJSON_NULL:	return T_NULL;
	case cJSON_Array:	return T_ARR;
	default:		return T_OBJ;
	}
}

/* "string", "string or array", "string, array or null" */
static void
type_names(unsigned want, char *buf, size_t n)
{
	static const char *const names[] = {
		"string", "number", "boolean", "array", "object", "null"
	};
	size_t i, len = 0;
	unsigned left = want & (T_REQ - 1);

	buf[0] = '\0';
	for (i = 0; left != 0 && len < n; i++) {
		if ((left & (1u << i)) == 0)
			continue;
		left &= ~(1u << i);
		len += (size_t)snprintf(buf + len, n - len, "%s%s",
		    len == 0 ? "" : left == 0 ? " or " : ", ", names[i]);
	}
}

/*
 * Find member key of object obj and check its type against want.
 * *out is NULL when the member is absent, or null and T_NULL is allowed,
 * so callers treat an allowed null like absence.
 */
static enum px_err
get(struct vctx *c, const cJSON *obj, const char *key, unsigned want,
    const cJSON **out)
{
	const cJSON *it, *found = NULL;
	char names[64];
	unsigned type;

	*out = NULL;
	for (it = obj->child; it != NULL; it = it->next) {
		if (it->string == NULL || strcmp(it->string, key) != 0)
			continue;
		if (found != NULL)
			return fail(c, key, "duplicate key");
		found = it;
	}
	if (found == NULL)
		return (want & T_REQ) ? fail(c, key, "required") : PX_OK;
	type = type_bit(found);
	if ((type & want) == 0) {
		type_names(want, names, sizeof names);
		return fail_got(c, key, names, found);
	}
	if (type != T_NULL)
		*out = found;
	return PX_OK;
}

/* A required string member; non-empty when nonempty is set. */
static enum px_err
get_str(struct vctx *c, const cJSON *obj, const char *key, int nonempty,
    const cJSON **out)
{
	enum px_err rc = get(c, obj, key, T_STR | T_REQ, out);

	if (*out != NULL && nonempty && (*out)->valuestring[0] == '\0')
		return fail_got(c, key, "a non-empty string", *out);
	return rc;
}

/* The string item it must equal one of set[i] for a bit i in mask. */
static enum px_err
pick(struct vctx *c, const char *key, const cJSON *it,
    const char *const *set, unsigned mask, int *idx)
{
	char list[80], want[96];
	size_t len = 0;
	int i, count = 0;

	list[0] = '\0';
	for (i = 0; set[i] != NULL; i++) {
		if ((mask & (1u << i)) == 0)
			continue;
		if (strcmp(set[i], it->valuestring) == 0) {
			*idx = i;
			return PX_OK;
		}
		if (len < sizeof list)
			len += (size_t)snprintf(list + len, sizeof list - len,
			    "%s%s", count ? ", " : "", set[i]);
		count++;
	}
	if (count > 1)
		snprintf(want, sizeof want, "one of %s", list);
	else
		snprintf(want, sizeof want, "\"%s\"", list);
	return fail_got(c, key, want, it);
}

/* Run fn on every element of arr, with the path at key[i]. */
static enum px_err
each(struct vctx *c, const char *key, const cJSON *arr,
    enum px_err (*fn)(struct vctx *, const cJSON *))
{
	const cJSON *it;
	size_t old = c->plen, mark, i = 0;
	enum px_err rc = PX_OK;

	if (key != NULL)
		path_add(c, key, 0);
	for (it = arr->child; it != NULL && rc == PX_OK; it = it->next) {
		mark = path_add(c, NULL, i++);
		rc = fn(c, it);
		path_cut(c, mark);
	}
	path_cut(c, old);
	return rc;
}

/* Run fn on the required object member key, with the path at key. */
static enum px_err
in_obj(struct vctx *c, const cJSON *obj, const char *key,
    enum px_err (*fn)(struct vctx *, const cJSON *))
{
	const cJSON *sub;
	size_t old;
	enum px_err rc = get(c, obj, key, T_OBJ | T_REQ, &sub);

	if (rc != PX_OK)
		return rc;
	old = path_add(c, key, 0);
	rc = fn(c, sub);
	path_cut(c, old);
	return rc;
}

static enum px_err
need_object(struct vctx *c, const cJSON *it)
{
	return cJSON_IsObject(it) ? PX_OK : fail_got(c, NULL, "object", it);
}

/* Bytes of every key and string value under obj (a schema's text). */
static size_t
text_bytes(const cJSON *obj)
{
	const cJSON *it;
	size_t n = 0;

	for (it = obj->child; it != NULL; it = it->next) {
		if (it->string != NULL)
			n += strlen(it->string);
		if (cJSON_IsString(it))
			n += strlen(it->valuestring);
		else if (it->child != NULL)
			n += text_bytes(it);	/* depth <= CJSON_NESTING_LIMIT */
	}
	return n;
}

/* --- content parts -------------------------------------------------------- */

enum part { PART_TEXT, PART_REFUSAL, PART_IMAGE, PART_AUDIO, PART_FILE,
	PART__MAX };

static const char *const part_types[PART__MAX + 1] = {
	[PART_TEXT] = "text", [PART_REFUSAL] = "refusal",
	[PART_IMAGE] = "image_url", [PART_AUDIO] = "input_audio",
	[PART_FILE] = "file", [PART__MAX] = NULL
};

static enum px_err
part_text(struct vctx *c, const cJSON *p)
{
	const cJSON *t;
	enum px_err rc = get_str(c, p, "text", 0, &t);

	if (rc == PX_OK)
		c->bytes += strlen(t->valuestring);
	return rc;
}

static enum px_err
part_refusal(struct vctx *c, const cJSON *p)
{
	const cJSON *t;
	enum px_err rc = get_str(c, p, "refusal", 0, &t);

	if (rc == PX_OK)
		c->bytes += strlen(t->valuestring);
	return rc;
}

static enum px_err
image_url_obj(struct vctx *c, const cJSON *o)
{
	const cJSON *u;

	return get_str(c, o, "url", 0, &u);
}

static enum px_err
part_image(struct vctx *c, const cJSON *p)
{
	return in_obj(c, p, "image_url", image_url_obj);
}

static enum px_err
input_audio_obj(struct vctx *c, const cJSON *o)
{
	const cJSON *it;
	enum px_err rc = get_str(c, o, "data", 0, &it);

	return rc != PX_OK ? rc : get_str(c, o, "format", 0, &it);
}

static enum px_err
part_audio(struct vctx *c, const cJSON *p)
{
	return in_obj(c, p, "input_audio", input_audio_obj);
}

static enum px_err
file_obj(struct vctx *c, const cJSON *o)
{
	(void)c;
	(void)o;
	return PX_OK;	/* file_data / file_id / filename: provider checks */
}

static enum px_err
part_file(struct vctx *c, const cJSON *p)
{
	return in_obj(c, p, "file", file_obj);
}

static enum px_err (*const part_check[PART__MAX])(struct vctx *,
    const cJSON *) = {
	[PART_TEXT] = part_text, [PART_REFUSAL] = part_refusal,
	[PART_IMAGE] = part_image, [PART_AUDIO] = part_audio,
	[PART_FILE] = part_file,
};

/* One element of a content array; c->parts says which types the role takes. */
static enum px_err
validate_part(struct vctx *c, const cJSON *p)
{
	const cJSON *type;
	enum px_err rc;
	int k = 0;

	rc = need_object(c, p);
	if (rc == PX_OK)
		rc = get(c, p, "type", T_STR | T_REQ, &type);
	if (rc == PX_OK)
		rc = pick(c, "type", type, part_types, c->parts, &k);
	if (rc != PX_OK)
		return rc;
	return part_check[k](c, p);
}

/* --- messages ------------------------------------------------------------- */

enum role { ROLE_SYSTEM, ROLE_DEVELOPER, ROLE_USER, ROLE_ASSISTANT,
	ROLE_TOOL, ROLE__MAX };

static const char *const role_names[ROLE__MAX + 1] = {
	[ROLE_SYSTEM] = "system", [ROLE_DEVELOPER] = "developer",
	[ROLE_USER] = "user", [ROLE_ASSISTANT] = "assistant",
	[ROLE_TOOL] = "tool", [ROLE__MAX] = NULL
};

#define PART(k)	(1u << (k))
static const unsigned role_parts[ROLE__MAX] = {
	[ROLE_SYSTEM] = PART(PART_TEXT),
	[ROLE_DEVELOPER] = PART(PART_TEXT),
	[ROLE_USER] = PART(PART_TEXT) | PART(PART_IMAGE) | PART(PART_AUDIO) |
	    PART(PART_FILE),
	[ROLE_ASSISTANT] = PART(PART_TEXT) | PART(PART_REFUSAL),
	[ROLE_TOOL] = PART(PART_TEXT),
};

static const char *const function_type[] = { "function", NULL };

/* {name: non-empty string, arguments: string} of a call the model made. */
static enum px_err
call_function(struct vctx *c, const cJSON *fn)
{
	const cJSON *name, *args;
	enum px_err rc = get_str(c, fn, "name", 1, &name);

	if (rc == PX_OK)
		rc = get_str(c, fn, "arguments", 0, &args);
	if (rc == PX_OK)
		c->bytes += strlen(name->valuestring) +
		    strlen(args->valuestring);
	return rc;
}

static enum px_err
validate_tool_call(struct vctx *c, const cJSON *tc)
{
	const cJSON *it;
	enum px_err rc;
	int k;

	rc = need_object(c, tc);
	if (rc == PX_OK)
		rc = get_str(c, tc, "id", 0, &it);
	if (rc == PX_OK)
		rc = get_str(c, tc, "type", 0, &it);
	if (rc == PX_OK)
		rc = pick(c, "type", it, function_type, 1u, &k);
	if (rc != PX_OK)
		return rc;
	return in_obj(c, tc, "function", call_function);
}

/*
 * tool_calls, function_call and refusal of an assistant message; content
 * (NULL when absent or null) is only required when all three are missing.
 * null is accepted for them because responses echoed back carry it.
 */
static enum px_err
validate_assistant(struct vctx *c, const cJSON *m, const cJSON *content)
{
	const cJSON *calls, *fc = NULL, *refusal = NULL;
	enum px_err rc = get(c, m, "tool_calls", T_ARR | T_NULL, &calls);

	if (rc == PX_OK && calls != NULL) {
		c->tool_history |= calls->child != NULL;
		rc = each(c, "tool_calls", calls, validate_tool_call);
	}
	if (rc == PX_OK)
		rc = get(c, m, "function_call", T_OBJ | T_NULL, &fc);
	if (rc == PX_OK && fc != NULL)
		rc = in_obj(c, m, "function_call", call_function);
	if (rc == PX_OK)
		rc = get(c, m, "refusal", T_STR | T_NULL, &refusal);
	if (rc != PX_OK)
		return rc;
	if (refusal != NULL)
		c->bytes += strlen(refusal->valuestring);
	if (content != NULL || (calls != NULL && calls->child != NULL) ||
	    fc != NULL || refusal != NULL)
		return PX_OK;
	return fail(c, "content", "required unless tool_calls, function_call "
	    "or refusal is present");
}

/* content by role: string or parts; only assistant may omit it or use null. */
static enum px_err
validate_content(struct vctx *c, const cJSON *m, enum role role,
    const cJSON **content)
{
	unsigned want = T_STR | T_ARR;
	enum px_err rc;

	want |= role == ROLE_ASSISTANT ? T_NULL : T_REQ;
	rc = get(c, m, "content", want, content);
	if (rc != PX_OK || *content == NULL)
		return rc;
	if (cJSON_IsString(*content)) {
		c->bytes += strlen((*content)->valuestring);
		return PX_OK;
	}
	c->parts = role_parts[role];
	return each(c, "content", *content, validate_part);
}

static enum px_err
validate_message(struct vctx *c, const cJSON *m)
{
	const cJSON *it, *content = NULL;
	enum px_err rc;
	int role = 0;

	rc = need_object(c, m);
	if (rc == PX_OK)
		rc = get(c, m, "role", T_STR | T_REQ, &it);
	if (rc == PX_OK)
		rc = pick(c, "role", it, role_names, ~0u, &role);
	if (rc == PX_OK)
		rc = get(c, m, "name", T_STR, &it);
	if (rc == PX_OK)
		rc = validate_content(c, m, (enum role)role, &content);
	if (rc != PX_OK)
		return rc;
	if (role == ROLE_ASSISTANT)
		return validate_assistant(c, m, content);
	if (role == ROLE_TOOL)
		return get_str(c, m, "tool_call_id", 1, &it);
	return PX_OK;
}

static enum px_err
validate_messages(struct vctx *c, const cJSON *root)
{
	const cJSON *msgs;
	enum px_err rc = get(c, root, "messages", T_ARR | T_REQ, &msgs);

	if (rc != PX_OK)
		return rc;
	if (msgs->child == NULL)
		return fail_got(c, "messages", "a non-empty array", msgs);
	return each(c, "messages", msgs, validate_message);
}

/* --- tools ---------------------------------------------------------------- */

static int
tool_name_ok(const char *s)
{
	size_t n;
	char ch;

	for (n = 0; s[n] != '\0'; n++) {
		ch = s[n];
		if ((ch < 'a' || ch > 'z') && (ch < 'A' || ch > 'Z') &&
		    (ch < '0' || ch > '9') && ch != '_' && ch != '-')
			return 0;
	}
	return n >= 1 && n <= TOOL_NAME_MAX;
}

/* A declared function; its name, description and schema text count. */
static enum px_err
tool_function(struct vctx *c, const cJSON *fn)
{
	const cJSON *name, *desc = NULL, *params = NULL, *strict;
	enum px_err rc = get_str(c, fn, "name", 0, &name);

	if (rc != PX_OK)
		return rc;
	if (!tool_name_ok(name->valuestring))
		return fail_got(c, "name", "1 to 64 characters of a-z, A-Z, "
		    "0-9, _ or -", name);
	rc = get(c, fn, "description", T_STR, &desc);
	if (rc == PX_OK)
		rc = get(c, fn, "parameters", T_OBJ, &params);
	if (rc == PX_OK)
		rc = get(c, fn, "strict", T_BOOL, &strict);
	if (rc != PX_OK)
		return rc;
	c->bytes += strlen(name->valuestring);
	if (desc != NULL)
		c->bytes += strlen(desc->valuestring);
	if (params != NULL)
		c->bytes += text_bytes(params);
	return PX_OK;
}

static enum px_err
validate_tool(struct vctx *c, const cJSON *t)
{
	const cJSON *type;
	enum px_err rc;
	int k;

	rc = need_object(c, t);
	if (rc == PX_OK)
		rc = get_str(c, t, "type", 0, &type);
	if (rc == PX_OK)
		rc = pick(c, "type", type, function_type, 1u, &k);
	if (rc != PX_OK)
		return rc;
	return in_obj(c, t, "function", tool_function);
}

static enum px_err
validate_tools(struct vctx *c, const cJSON *root, struct px_chat_req *rq)
{
	const cJSON *tools;
	enum px_err rc = get(c, root, "tools", T_ARR, &tools);

	if (rc != PX_OK || tools == NULL)
		return rc;
	rq->has_tools = tools->child != NULL;
	return each(c, "tools", tools, validate_tool);
}

static const char *const choice_words[] = { "none", "auto", "required",
	NULL };
static const char *const choice_types[] = { "function", "allowed_tools",
	NULL };

static enum px_err
choice_function(struct vctx *c, const cJSON *fn)
{
	const cJSON *name;

	return get_str(c, fn, "name", 0, &name);
}

static enum px_err
choice_allowed(struct vctx *c, const cJSON *at)
{
	const cJSON *it;
	enum px_err rc = get_str(c, at, "mode", 0, &it);
	int k;

	if (rc == PX_OK)	/* mode: "auto" | "required" */
		rc = pick(c, "mode", it, choice_words, 6u, &k);
	if (rc == PX_OK)
		rc = get(c, at, "tools", T_ARR | T_REQ, &it);
	return rc;
}

static enum px_err
choice_object(struct vctx *c, const cJSON *tc)
{
	const cJSON *type;
	enum px_err rc = get_str(c, tc, "type", 0, &type);
	int k = 0;

	if (rc == PX_OK)
		rc = pick(c, "type", type, choice_types, ~0u, &k);
	if (rc != PX_OK)
		return rc;
	if (k == 0)
		return in_obj(c, tc, "function", choice_function);
	return in_obj(c, tc, "allowed_tools", choice_allowed);
}

static enum px_err
validate_tool_choice(struct vctx *c, const cJSON *root)
{
	const cJSON *tc;
	enum px_err rc = get(c, root, "tool_choice", T_STR | T_OBJ, &tc);
	int k;

	if (rc != PX_OK || tc == NULL)
		return rc;
	if (cJSON_IsString(tc))
		return pick(c, "tool_choice", tc, choice_words, ~0u, &k);
	return in_obj(c, root, "tool_choice", choice_object);
}

/* --- stream and sampling -------------------------------------------------- */

static enum px_err
validate_stream(struct vctx *c, const cJSON *root, struct px_chat_req *rq)
{
	const cJSON *it, *so;
	size_t old;
	enum px_err rc = get(c, root, "stream", T_BOOL | T_NULL, &it);

	if (rc != PX_OK)
		return rc;
	rq->stream = cJSON_IsTrue(it);
	rc = get(c, root, "stream_options", T_OBJ | T_NULL, &so);
	if (rc != PX_OK || so == NULL)
		return rc;
	old = path_add(c, "stream_options", 0);
	rc = get(c, so, "include_usage", T_BOOL, &it);
	path_cut(c, old);
	rq->include_usage = rc == PX_OK && cJSON_IsTrue(it);
	return rc;
}

static const struct num_rule {
	const char *key;
	int	    integer;
	double	    min, max;
} num_rules[] = {
	{ "max_tokens",		   1, 1, INT_MAX },
	{ "max_completion_tokens", 1, 1, INT_MAX },
	{ "n",			   1, 1, INT_MAX },
	{ "temperature",	   0, 0, 2 },
	{ "top_p",		   0, 0, 1 },
};

static enum px_err
validate_number(struct vctx *c, const cJSON *root, const struct num_rule *r)
{
	const cJSON *it;
	char want[80];
	double v;
	enum px_err rc = get(c, root, r->key, T_NUM | T_NULL, &it);

	if (rc != PX_OK || it == NULL)
		return rc;
	v = it->valuedouble;
	/* The range test comes first: it keeps the cast defined (and NaN out). */
	if (v >= r->min && v <= r->max &&
	    (!r->integer || v == (double)(long long)v))
		return PX_OK;
	snprintf(want, sizeof want, "%s from %.15g to %.15g",
	    r->integer ? "an integer" : "a number", r->min, r->max);
	return fail_got(c, r->key, want, it);
}

static enum px_err
stop_item(struct vctx *c, const cJSON *it)
{
	return cJSON_IsString(it) ? PX_OK : fail_got(c, NULL, "string", it);
}

static enum px_err
validate_stop(struct vctx *c, const cJSON *root)
{
	const cJSON *st;
	char what[64];
	int n;
	enum px_err rc = get(c, root, "stop", T_STR | T_ARR | T_NULL, &st);

	if (rc != PX_OK || st == NULL || cJSON_IsString(st))
		return rc;
	n = cJSON_GetArraySize(st);
	if (n > STOP_MAX) {
		snprintf(what, sizeof what, "expected at most %d sequences; "
		    "got %d", STOP_MAX, n);
		return fail(c, "stop", what);
	}
	return each(c, "stop", st, stop_item);
}

/* --- entry points --------------------------------------------------------- */

static enum px_err
validate_root(struct vctx *c, const cJSON *root, struct px_chat_req *rq)
{
	const cJSON *model;
	size_t i;
	enum px_err rc = get_str(c, root, "model", 1, &model);

	if (rc == PX_OK)
		rc = validate_messages(c, root);
	if (rc == PX_OK)
		rc = validate_stream(c, root, rq);
	if (rc == PX_OK)
		rc = validate_tools(c, root, rq);
	if (rc == PX_OK)
		rc = validate_tool_choice(c, root);
	for (i = 0; rc == PX_OK && i < sizeof num_rules / sizeof num_rules[0];
	    i++)
		rc = validate_number(c, root, &num_rules[i]);
	if (rc == PX_OK)
		rc = validate_stop(c, root);
	if (rc == PX_OK) {
		const cJSON *re = cJSON_GetObjectItemCaseSensitive(root,
		    "reasoning_effort");

		rq->model = model->valuestring;
		rq->reasoning = cJSON_IsString(re) ? re->valuestring : "";
	}
	return rc;
}

/* msg = pre N post, param empty; always PX_EBADREQ (see fail()). */
static enum px_err
body_fail(struct px_verr *err, const char *pre, size_t at, const char *post)
{
	err->param[0] = '\0';
	snprintf(err->msg, sizeof err->msg, "%s%zu%s", pre, at, post);
	return PX_EBADREQ;
}

/* Offset of the first byte that the pre-parse screen rejects, n if none. */
static size_t
screen_at(const char *body, size_t n)
{
	if (n == 0 || (n >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0))
		return 0;	/* empty, or a BOM cJSON would skip silently */
	return ctl_at((const unsigned char *)body, n);
}

/*
 * What one structural pass over the raw text finds before cJSON builds
 * anything: an upper bound on the values cJSON would allocate (1 + commas
 * + opening brackets outside strings: each container's children are its
 * commas plus one), so a 4 MiB array of small numbers (2 M nodes, about
 * 160 MiB) is refused before it is parsed; and the first top-level member
 * name written with a backslash escape, whose decoded form would differ
 * from the bytes jsonraw.c matches when it splices.
 */
struct scan {
	size_t values;
	long   escaped_member;	/* its index among top-level members, -1 */
};

static void
scan_text(const char *s, size_t n, struct scan *out)
{
	size_t i, depth = 0, member = 0;
	int name_next = 0;

	out->values = 1;
	out->escaped_member = -1;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '"') {
			int is_name = name_next && depth == 1, esc = 0;

			name_next = 0;
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\') {
					esc = 1;
					i++;
				}
			}
			if (is_name && esc && out->escaped_member < 0)
				out->escaped_member = (long)member;
			member += is_name;
		} else if (ch == '{' || ch == '[') {
			depth++;
			out->values++;
			name_next = ch == '{';
		} else if (ch == '}' || ch == ']') {
			depth -= depth > 0;
		} else if (ch == ',') {
			out->values++;
			name_next = depth == 1;	/* the top level is an object */
		}
	}
}

static int
name_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

/*
 * Top-level members must be unique and written plainly: the body is
 * forwarded byte for byte, and jsonraw.c, cJSON and the provider must all
 * see the same "model" and "stream_options". O(n log n) in members.
 */
static enum px_err
check_members(const cJSON *root, long escaped, struct px_verr *err)
{
	const cJSON *it, **v;
	size_t n = 0, i;
	enum px_err rc = PX_OK;

	for (it = root->child; it != NULL; it = it->next, n++) {
		if ((long)n == escaped) {
			snprintf(err->param, sizeof err->param, "%.*s",
			    (int)utf8_cut(it->string, ECHO_MAX), it->string);
			snprintf(err->msg, sizeof err->msg, "%s: a top-level "
			    "member name must not use escape sequences",
			    err->param);
			return PX_EBADREQ;
		}
	}
	if (n < 2)
		return PX_OK;
	v = malloc(n * sizeof(const cJSON *));
	if (v == NULL)
		return PX_ENOMEM;
	for (i = 0, it = root->child; it != NULL; it = it->next)
		v[i++] = it;
	qsort(v, n, sizeof(const cJSON *), name_cmp);
	for (i = 1; i < n && rc == PX_OK; i++) {
		if (strcmp(v[i - 1]->string, v[i]->string) != 0)
			continue;
		snprintf(err->param, sizeof err->param, "%.*s",
		    (int)utf8_cut(v[i]->string, ECHO_MAX), v[i]->string);
		snprintf(err->msg, sizeof err->msg, "%s: duplicate member",
		    err->param);
		rc = PX_EBADREQ;
	}
	free(v);
	return rc;
}

/* UTF-8, syntax, nothing after the value, an object at the top. */
static enum px_err
screen(const char *body, size_t len, size_t max_values, struct px_verr *err,
    struct scan *scp)
{
	static const char bad_json[] = "request body is not valid JSON (at byte ";
	struct scan sc;
	size_t at = px_utf8_bad_at(body, len);

	if (at < len)
		return body_fail(err, "request body is not valid UTF-8 "
		    "(at byte ", at, ")");
	at = screen_at(body, len);
	if (at < len || len == 0)
		return body_fail(err, bad_json, at, ")");
	scan_text(body, len, &sc);
	if (sc.values > max_values) {
		snprintf(err->msg, sizeof err->msg, "request body holds more "
		    "than %zu JSON values (max_json_values)", max_values);
		return PX_ETOOBIG;
	}
	*scp = sc;
	return PX_OK;
}

enum px_err
px_validate_scan(const char *body, size_t len, size_t max_values,
    struct px_verr *err)
{
	struct scan sc;

	memset(err, 0, sizeof(*err));
	return screen(body, len, max_values, err, &sc);
}

static enum px_err
parse_body(const char *body, size_t len, size_t max_values, cJSON **root,
    struct px_verr *err)
{
	static const char bad_json[] = "request body is not valid JSON (at byte ";
	const char *end = body;
	struct scan sc;
	size_t at;
	enum px_err rc = screen(body, len, max_values, err, &sc);

	if (rc != PX_OK)
		return rc;
	*root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (*root == NULL)
		return body_fail(err, bad_json, (size_t)(end - body), ")");
	for (at = (size_t)(end - body); at < len && json_ws(body[at]); at++)
		;
	if (at < len)
		return body_fail(err, "unexpected data after the JSON value "
		    "at byte ", at, "");
	if (!cJSON_IsObject(*root)) {
		snprintf(err->msg, sizeof err->msg,
		    "request body must be a JSON object");
		return PX_EBADREQ;
	}
	return check_members(*root, sc.escaped_member, err);
}

/*
 * prompt_bytes is the strlen() sum of: string contents, text and refusal
 * parts, assistant refusal, tool_calls/function_call names and arguments,
 * and per declared tool its name, description and every key and string
 * value of its parameters schema.  Images, audio and files do not count.
 */
enum px_err
px_validate_chat(const char *body, size_t len, struct px_chat_req *out,
    struct px_verr *err)
{
	return px_validate_chat_max(body, len, PX_JSON_VALUES_DEFAULT, out,
	    err);
}

enum px_err
px_validate_chat_max(const char *body, size_t len, size_t max_values,
    struct px_chat_req *out, struct px_verr *err)
{
	struct px_verr scratch;
	struct px_chat_req rq;
	struct vctx c;
	cJSON *root = NULL;
	enum px_err rc;

	if (err == NULL)
		err = &scratch;
	memset(err, 0, sizeof *err);
	memset(&rq, 0, sizeof rq);
	memset(&c, 0, sizeof c);
	c.err = err;
	if (body == NULL)
		len = 0;
	rc = parse_body(body, len, max_values, &root, err);
	if (rc == PX_OK)
		rc = validate_root(&c, root, &rq);
	if (rc == PX_OK) {
		rq.root = root;
		rq.prompt_bytes = c.bytes;
		rq.has_tool_history = c.tool_history;
		root = NULL;
	}
	cJSON_Delete(root);
	if (out != NULL)
		*out = rq;
	else
		cJSON_Delete(rq.root);	/* a caller only asking "is it valid?" */
	return rc;
}

void
px_chat_req_free(struct px_chat_req *rq)
{
	if (rq == NULL)
		return;
	cJSON_Delete(rq->root);
	memset(rq, 0, sizeof *rq);
}
