/*
 * dialect_responses.c -- the OpenAI Responses API (POST /v1/responses) as
 * a dialect over the canonical chat pipeline (issue 10): a Responses
 * request becomes a chat request; canonical callbacks become Responses
 * stream events or the response object.
 * Owns: the Responses request rules (input items, parts, tools,
 * tool_choice, text.format, reasoning, the stateless refusals) with errors
 * named in Responses terms ("input[2].content[0].type"); the response
 * object and the fields it echoes; the event sequence with its
 * sequence_number; item ids (resp_/msg_/rs_/fc_/ctc_ + the request uid +
 * output index); the output kept for the terminal event (PX_DKEEP_MAX).
 * Never: I/O, clocks, randomness or logging; forwards what chat upstreams
 * reject (store, include, metadata, reasoning items and their
 * encrypted_content, hosted tools); builds a tree or allocates per stream
 * event (events are written straight into out, kept text goes to the
 * reused buffers of struct px_dstate; only a custom tool call's arguments
 * are parsed, once, when it closes); invents event types (openai-node's
 * responses.stream() helper throws on a type it does not know).
 * Load: decode parses the body once with cJSON and builds the chat
 * request as a tree; the encoder runs once per upstream delta.
 */
#include "dialect.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "validate.h"

#define USER_MAX	64	/* chat "user": OpenAI's length limit */
#define NAME_MAX_LEN	64	/* chat tool names: ^[a-zA-Z0-9_-]{1,64}$ */
#define UID_MAX		40	/* uid bytes used in ids (fits PX_DID) */
#define ECHO_MAX	40	/* bytes of a client string quoted in errors */

/* --- decode: the request -------------------------------------------------- */

/* JSON kinds a member may have (JSON null always reads as absent). */
enum { J_STR = 1u, J_NUM = 2u, J_BOOL = 4u, J_ARR = 8u, J_OBJ = 16u };

struct dec {
	const cJSON      *root;		/* the client's body */
	cJSON            *chat;		/* the canonical request being built */
	cJSON            *msgs;		/* chat.messages */
	cJSON            *pending;	/* assistant message being gathered */
	struct px_dstate *st;
	const struct px_dctx *ctx;
	struct px_verr   *err;
	struct px_buf     tmp;		/* joined texts */
	unsigned          ntools;	/* chat tools kept */
	int               oom;		/* a cJSON allocation failed */
};

static enum px_err bad(struct dec *d, const char *param, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* err = {param, "param: <fmt>"} ("<fmt>" when param is ""); always
 * PX_EBADREQ. */
static enum px_err
bad(struct dec *d, const char *param, const char *fmt, ...)
{
	struct px_verr *e = d->err;
	va_list ap;
	int n = 0;

	snprintf(e->param, sizeof(e->param), "%s", param);
	if (*param != '\0')
		n = snprintf(e->msg, sizeof(e->msg), "%s: ", e->param);
	if (n >= 0 && (size_t)n < sizeof(e->msg)) {
		va_start(ap, fmt);
		vsnprintf(e->msg + n, sizeof(e->msg) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return PX_EBADREQ;
}

/* dst = at.key ("key" at the top level); a deep path is cut short. */
static void
path(char *dst, size_t cap, const char *at, const char *key)
{
	int n = snprintf(dst, cap, "%s%s%s", at, *at != '\0' ? "." : "", key);

	if (n < 0)
		dst[0] = '\0';
}

/* dst = at.key[i] */
static void
path_i(char *dst, size_t cap, const char *at, const char *key, int i)
{
	int n = snprintf(dst, cap, "%s%s%s[%d]", at, *at != '\0' ? "." : "",
	    key, i);

	if (n < 0)
		dst[0] = '\0';
}

/* j when it is an array, else NULL (for cJSON_ArrayForEach). */
static const cJSON *
array_or_null(const cJSON *j)
{
	return cJSON_IsArray(j) ? j : NULL;
}

static int
is_kind(const cJSON *j, unsigned want)
{
	return ((want & J_STR) && cJSON_IsString(j)) ||
	    ((want & J_NUM) && cJSON_IsNumber(j)) ||
	    ((want & J_BOOL) && cJSON_IsBool(j)) ||
	    ((want & J_ARR) && cJSON_IsArray(j)) ||
	    ((want & J_OBJ) && cJSON_IsObject(j));
}

static const char *
kind_name(unsigned want)
{
	switch (want) {
	case J_STR:		return "a string";
	case J_NUM:		return "a number";
	case J_BOOL:		return "a boolean";
	case J_ARR:		return "an array";
	case J_OBJ:		return "an object";
	case J_STR | J_ARR:	return "a string or an array";
	case J_STR | J_OBJ:	return "a string or an object";
	default:		return "another type";
	}
}

/*
 * *out = obj[key], NULL when absent or null. A 400 naming at.key when the
 * member has another kind, or is missing although need is set (need 2:
 * a non-empty string).
 */
static enum px_err
get(struct dec *d, const cJSON *obj, const char *at, const char *key,
    unsigned want, int need, const cJSON **out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	char p[96];

	*out = NULL;
	path(p, sizeof(p), at, key);
	if (it == NULL || cJSON_IsNull(it)) {
		if (!need)
			return PX_OK;
		(void)bad(d, p, "required");
		return PX_EBADREQ;
	}
	if (!is_kind(it, want)) {
		(void)bad(d, p, "expected %s", kind_name(want));
		return PX_EBADREQ;
	}
	if (need == 2 && it->valuestring[0] == '\0') {
		(void)bad(d, p, "expected a non-empty string");
		return PX_EBADREQ;
	}
	*out = it;
	return PX_OK;
}

/* Index of s in the NULL-terminated set, -1 when absent. */
static int
pick(const char *s, const char *const *set)
{
	int i;

	for (i = 0; set[i] != NULL; i++)
		if (strcmp(s, set[i]) == 0)
			return i;
	return -1;
}

/* Attach v to obj[key] (key NULL: append to the array obj). A failed
 * allocation is remembered in d->oom and v is freed; returns v or NULL. */
static cJSON *
put(struct dec *d, cJSON *obj, const char *key, cJSON *v)
{
	cJSON_bool ok = 0;

	if (v != NULL && obj != NULL)
		ok = key != NULL ? cJSON_AddItemToObject(obj, key, v) :
		    cJSON_AddItemToArray(obj, v);
	if (ok)
		return v;
	cJSON_Delete(v);
	d->oom = 1;
	return NULL;
}

static cJSON *
put_str(struct dec *d, cJSON *obj, const char *key, const char *s)
{
	return put(d, obj, key, cJSON_CreateString(s));
}

static cJSON *
put_dup(struct dec *d, cJSON *obj, const char *key, const cJSON *v)
{
	return put(d, obj, key, cJSON_Duplicate(v, 1));
}

static const char *
tmp_str(const struct dec *d)
{
	return d->tmp.p != NULL ? d->tmp.p : "";
}

static enum px_err
tmp_add(struct dec *d, const char *s)
{
	return px_buf_adds(&d->tmp, s);
}

/* --- decode: content parts ------------------------------------------------ */

enum part { P_INPUT_TEXT, P_OUTPUT_TEXT, P_REFUSAL, P_IMAGE, P_FILE,
	P__MAX };

static const char *const part_names[P__MAX + 1] = {
	[P_INPUT_TEXT] = "input_text", [P_OUTPUT_TEXT] = "output_text",
	[P_REFUSAL] = "refusal", [P_IMAGE] = "input_image",
	[P_FILE] = "input_file", [P__MAX] = NULL
};

enum role { R_USER, R_ASSISTANT, R_SYSTEM, R_DEVELOPER };

static const char *const role_names[] = {
	"user", "assistant", "system", "developer", NULL
};

/* The part's kind; a 400 at at.type for a type this proxy cannot map. */
static enum px_err
part_kind(struct dec *d, const cJSON *p, const char *at, enum part *k)
{
	const cJSON *t;
	char pp[96];
	enum px_err rc;
	int i;

	if (!cJSON_IsObject(p))
		return bad(d, at, "expected an object");
	rc = get(d, p, at, "type", J_STR, 1, &t);
	if (rc != PX_OK)
		return rc;
	i = pick(t->valuestring, part_names);
	if (i >= 0) {
		*k = (enum part)i;
		return PX_OK;
	}
	path(pp, sizeof(pp), at, "type");
	return bad(d, pp, "expected one of input_text, input_image, "
	    "input_file, output_text, refusal; got \"%.*s\"", ECHO_MAX,
	    t->valuestring);
}

/* The text of a text-like part (input_text, output_text, refusal). */
static enum px_err
part_text(struct dec *d, const cJSON *p, const char *at, enum part k,
    const char **s)
{
	const cJSON *t;
	enum px_err rc;

	rc = get(d, p, at, k == P_REFUSAL ? "refusal" : "text", J_STR, 1, &t);
	*s = rc == PX_OK ? t->valuestring : "";
	return rc;
}

/* input_image -> {type:image_url, image_url:{url, detail}}; file ids need
 * the Files API, which a chat upstream does not have. */
static enum px_err
part_image(struct dec *d, const cJSON *p, const char *at, cJSON *arr)
{
	static const char *const details[] = { "auto", "low", "high",
		"original", NULL };
	const cJSON *url, *fid, *det;
	char pp[96];
	cJSON *o, *iu;
	int k = 0;
	enum px_err rc = get(d, p, at, "file_id", J_STR, 0, &fid);

	if (rc == PX_OK && fid != NULL) {
		path(pp, sizeof(pp), at, "file_id");
		return bad(d, pp, "file ids are not supported (no Files API "
		    "behind this proxy); send image_url");
	}
	if (rc == PX_OK)
		rc = get(d, p, at, "image_url", J_STR, 2, &url);
	if (rc == PX_OK)
		rc = get(d, p, at, "detail", J_STR, 0, &det);
	if (rc == PX_OK && det != NULL)
		k = pick(det->valuestring, details);
	if (k < 0) {
		path(pp, sizeof(pp), at, "detail");
		return bad(d, pp, "expected one of auto, low, high, original");
	}
	if (rc != PX_OK)
		return rc;
	o = put(d, arr, NULL, cJSON_CreateObject());
	put_str(d, o, "type", "image_url");
	iu = put(d, o, "image_url", cJSON_CreateObject());
	put_dup(d, iu, "url", url);
	put_str(d, iu, "detail", k == 3 ? "auto" : details[k]);
	return PX_OK;
}

/* input_file with file_data -> chat {type:file, file:{file_data,
 * filename}} (OpenRouter reads it); file_id/file_url need storage. */
static enum px_err
part_file(struct dec *d, const cJSON *p, const char *at, cJSON *arr)
{
	const cJSON *data, *name;
	char pp[96];
	cJSON *o, *f;
	enum px_err rc = get(d, p, at, "file_data", J_STR, 0, &data);

	if (rc == PX_OK && data == NULL) {
		path(pp, sizeof(pp), at, "file_data");
		return bad(d, pp, "required: file_id and file_url are not "
		    "supported (no Files API behind this proxy)");
	}
	if (rc == PX_OK)
		rc = get(d, p, at, "filename", J_STR, 0, &name);
	if (rc != PX_OK)
		return rc;
	o = put(d, arr, NULL, cJSON_CreateObject());
	put_str(d, o, "type", "file");
	f = put(d, o, "file", cJSON_CreateObject());
	put_dup(d, f, "file_data", data);
	if (name != NULL)
		put_dup(d, f, "filename", name);
	return PX_OK;
}

/* One part of a user or system message into the chat parts arr; empty
 * texts are dropped, images and files only fit user messages. */
static enum px_err
input_part(struct dec *d, const cJSON *p, const char *at, enum role r,
    cJSON *arr)
{
	enum part k = P_INPUT_TEXT;
	const char *s;
	char pp[96];
	cJSON *o;
	enum px_err rc = part_kind(d, p, at, &k);

	if (rc != PX_OK)
		return rc;
	if ((k == P_IMAGE || k == P_FILE) && r != R_USER) {
		path(pp, sizeof(pp), at, "type");
		return bad(d, pp, "%s is only allowed in user messages",
		    part_names[k]);
	}
	if (k == P_IMAGE)
		return part_image(d, p, at, arr);
	if (k == P_FILE)
		return part_file(d, p, at, arr);
	rc = part_text(d, p, at, k, &s);
	if (rc != PX_OK || *s == '\0')
		return rc;
	o = put(d, arr, NULL, cJSON_CreateObject());
	put_str(d, o, "type", "text");
	put_str(d, o, "text", s);
	return PX_OK;
}

/* --- decode: input items -------------------------------------------------- */

static void
flush(struct dec *d)
{
	if (d->pending != NULL)
		put(d, d->msgs, NULL, d->pending);
	d->pending = NULL;
}

/* The assistant message calls and replayed text gather into. */
static cJSON *
pending(struct dec *d)
{
	if (d->pending == NULL) {
		d->pending = cJSON_CreateObject();
		if (d->pending == NULL) {
			d->oom = 1;
			return NULL;
		}
		put_str(d, d->pending, "role", "assistant");
		put(d, d->pending, "content", cJSON_CreateNull());
	}
	return d->pending;
}

/* user/system/developer message: string content as is, parts mapped. */
static enum px_err
item_input(struct dec *d, const cJSON *content, const char *at, enum role r)
{
	const cJSON *p, *list = array_or_null(content);
	char pp[96];
	cJSON *m, *arr;
	enum px_err rc = PX_OK;
	int j = 0;

	flush(d);
	if (cJSON_IsString(content))
		arr = cJSON_Duplicate(content, 0);
	else
		arr = cJSON_CreateArray();
	if (arr == NULL)
		return PX_ENOMEM;
	cJSON_ArrayForEach(p, list) {
		path_i(pp, sizeof(pp), at, "content", j++);
		rc = input_part(d, p, pp, r, arr);
		if (rc != PX_OK)
			break;
	}
	if (rc != PX_OK || (cJSON_IsArray(arr) && arr->child == NULL)) {
		cJSON_Delete(arr);	/* an error, or nothing left to send */
		return rc;
	}
	m = put(d, d->msgs, NULL, cJSON_CreateObject());
	put_str(d, m, "role", r == R_USER ? "user" : "system");
	put(d, m, "content", arr);
	return PX_OK;
}

/* The text of a replayed assistant part; media are refused. */
static enum px_err
assistant_part(struct dec *d, const cJSON *p, const char *at,
    const char **s)
{
	enum part k = P_OUTPUT_TEXT;
	char pp[96];
	enum px_err rc = part_kind(d, p, at, &k);

	*s = "";
	if (rc == PX_OK && (k == P_IMAGE || k == P_FILE)) {
		path(pp, sizeof(pp), at, "type");
		return bad(d, pp, "%s is only allowed in user messages",
		    part_names[k]);
	}
	return rc == PX_OK ? part_text(d, p, at, k, s) : rc;
}

/* Replayed assistant text joins the pending assistant message (after a
 * "\n" when it already has text); a message with calls is closed first,
 * so calls after this text attach to it (§A.4.2 rule 2). */
static enum px_err
item_assistant(struct dec *d, const cJSON *content, const char *at)
{
	const cJSON *p, *old, *list = array_or_null(content);
	const char *s;
	char pp[96];
	cJSON *text;
	size_t mark;
	enum px_err rc = PX_OK;
	int j = 0;

	if (d->pending != NULL &&
	    cJSON_GetObjectItemCaseSensitive(d->pending, "tool_calls"))
		flush(d);
	old = d->pending != NULL ?
	    cJSON_GetObjectItemCaseSensitive(d->pending, "content") : NULL;
	px_buf_reset(&d->tmp);
	if (old != NULL && cJSON_IsString(old))
		rc = tmp_add(d, old->valuestring);
	if (rc == PX_OK && old != NULL && cJSON_IsString(old))
		rc = tmp_add(d, "\n");
	mark = d->tmp.len;
	if (rc == PX_OK && cJSON_IsString(content))
		rc = tmp_add(d, content->valuestring);
	cJSON_ArrayForEach(p, list) {
		if (rc != PX_OK)
			break;
		path_i(pp, sizeof(pp), at, "content", j++);
		rc = assistant_part(d, p, pp, &s);
		if (rc == PX_OK)
			rc = tmp_add(d, s);
	}
	if (rc != PX_OK || d->tmp.len == mark)
		return rc;
	text = cJSON_CreateString(tmp_str(d));
	if (text == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(
	    pending(d), "content", text)) {
		cJSON_Delete(text);
		d->oom = 1;
	}
	return PX_OK;
}

static enum px_err
item_message(struct dec *d, const cJSON *it, const char *at)
{
	const cJSON *role, *content;
	char pp[96];
	int r = 0;
	enum px_err rc = get(d, it, at, "role", J_STR, 1, &role);

	if (rc == PX_OK)
		r = pick(role->valuestring, role_names);
	if (rc == PX_OK && r < 0) {
		path(pp, sizeof(pp), at, "role");
		return bad(d, pp, "expected one of user, assistant, system, "
		    "developer");
	}
	if (rc == PX_OK)
		rc = get(d, it, at, "content", J_STR | J_ARR, 1, &content);
	if (rc != PX_OK)
		return rc;
	if (r == R_ASSISTANT)
		return item_assistant(d, content, at);
	return item_input(d, content, at, (enum role)r);
}

/* One more tool call on the pending assistant message: consecutive calls
 * become one message with several tool_calls (parallel calls). */
static void
add_call(struct dec *d, const cJSON *id, const cJSON *name, const char *args)
{
	cJSON *a = pending(d), *calls, *tc, *fn;

	calls = cJSON_GetObjectItemCaseSensitive(a, "tool_calls");
	if (calls == NULL)
		calls = put(d, a, "tool_calls", cJSON_CreateArray());
	tc = put(d, calls, NULL, cJSON_CreateObject());
	put_dup(d, tc, "id", id);
	put_str(d, tc, "type", "function");
	fn = put(d, tc, "function", cJSON_CreateObject());
	put_dup(d, fn, "name", name);
	put_str(d, fn, "arguments", args);
}

static enum px_err
item_call(struct dec *d, const cJSON *it, const char *at)
{
	const cJSON *id, *name, *args;
	enum px_err rc = get(d, it, at, "call_id", J_STR, 2, &id);

	if (rc == PX_OK)
		rc = get(d, it, at, "name", J_STR, 2, &name);
	if (rc == PX_OK)
		rc = get(d, it, at, "arguments", J_STR, 1, &args);
	if (rc == PX_OK)
		add_call(d, id, name, args->valuestring);
	return rc;
}

/* custom_tool_call: arguments {"input": input}, the wrapping the custom
 * tool's function declaration asks for. */
static enum px_err
item_custom_call(struct dec *d, const cJSON *it, const char *at)
{
	const cJSON *id, *name, *input;
	enum px_err rc = get(d, it, at, "call_id", J_STR, 2, &id);

	if (rc == PX_OK)
		rc = get(d, it, at, "name", J_STR, 2, &name);
	if (rc == PX_OK)
		rc = get(d, it, at, "input", J_STR, 1, &input);
	if (rc != PX_OK)
		return rc;
	px_buf_reset(&d->tmp);
	rc = tmp_add(d, "{\"input\":\"");
	if (rc == PX_OK)
		rc = px_buf_add_json_str(&d->tmp, input->valuestring,
		    strlen(input->valuestring));
	if (rc == PX_OK)
		rc = tmp_add(d, "\"}");
	if (rc == PX_OK)
		add_call(d, id, name, tmp_str(d));
	return rc;
}

/* An image or file a tool returned: a chat tool message holds text only,
 * so it goes into a user message after the block of tool messages. */
static enum px_err
output_media(struct dec *d, const cJSON *p, const char *at, enum part k,
    const char *call_id, cJSON *user)
{
	char label[160];
	cJSON *o = put(d, user, NULL, cJSON_CreateObject());

	snprintf(label, sizeof(label), "%s returned by tool %.100s:",
	    k == P_IMAGE ? "Image" : "File", call_id);
	put_str(d, o, "type", "text");
	put_str(d, o, "text", label);
	return k == P_IMAGE ? part_image(d, p, at, user) :
	    part_file(d, p, at, user);
}

/* A text part of a tool's output, joined to tmp with "\n". */
static enum px_err
output_text(struct dec *d, const cJSON *p, const char *at, enum part k)
{
	const char *s = "";
	enum px_err rc = part_text(d, p, at, k, &s);

	if (rc == PX_OK && *s != '\0' && d->tmp.len > 0)
		rc = tmp_add(d, "\n");
	return rc == PX_OK ? tmp_add(d, s) : rc;
}

/* function_call_output.output as parts: texts into tmp, media into
 * user. */
static enum px_err
output_parts(struct dec *d, const cJSON *out, const char *at,
    const char *call_id, cJSON *user)
{
	const cJSON *p;
	enum part k = P_INPUT_TEXT;
	char pp[96];
	enum px_err rc = PX_OK;
	int j = 0;

	px_buf_reset(&d->tmp);
	cJSON_ArrayForEach(p, out) {
		path_i(pp, sizeof(pp), at, "output", j++);
		rc = part_kind(d, p, pp, &k);
		if (rc == PX_OK && (k == P_IMAGE || k == P_FILE))
			rc = output_media(d, p, pp, k, call_id, user);
		else if (rc == PX_OK)
			rc = output_text(d, p, pp, k);
		if (rc != PX_OK)
			return rc;
	}
	return PX_OK;
}

/* Whether message m carries a tool call with this id. */
static int
has_call(const cJSON *m, const char *id)
{
	const cJSON *tc, *cid;

	cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(m,
	    "tool_calls")) {
		cid = cJSON_GetObjectItemCaseSensitive(tc, "id");
		if (cJSON_IsString(cid) && strcmp(cid->valuestring, id) == 0)
			return 1;
	}
	return 0;
}

/* An output must answer an earlier call (OpenAI answers 400 too); checked
 * here so the error names the item, not only "input". */
static enum px_err
known_call(struct dec *d, const cJSON *id, const char *at)
{
	const cJSON *m;
	char pp[96];

	if (has_call(d->pending, id->valuestring))
		return PX_OK;
	cJSON_ArrayForEach(m, d->msgs)
		if (has_call(m, id->valuestring))
			return PX_OK;
	path(pp, sizeof(pp), at, "call_id");
	return bad(d, pp, "no earlier function_call or custom_tool_call has "
	    "call_id \"%.*s\"", ECHO_MAX, id->valuestring);
}

/* function_call_output / custom_tool_call_output -> a role:"tool" message
 * (px_dialect_repair later puts it right after its call). */
static enum px_err
item_output(struct dec *d, const cJSON *it, const char *at)
{
	const cJSON *id, *out;
	cJSON *m, *user;
	enum px_err rc = get(d, it, at, "call_id", J_STR, 2, &id);

	if (rc == PX_OK)
		rc = get(d, it, at, "output", J_STR | J_ARR, 1, &out);
	if (rc == PX_OK)
		rc = known_call(d, id, at);
	if (rc != PX_OK)
		return rc;
	flush(d);
	user = cJSON_CreateArray();
	if (user == NULL)
		return PX_ENOMEM;
	if (cJSON_IsArray(out))
		rc = output_parts(d, out, at, id->valuestring, user);
	if (rc != PX_OK) {
		cJSON_Delete(user);
		return rc;
	}
	m = put(d, d->msgs, NULL, cJSON_CreateObject());
	put_str(d, m, "role", "tool");
	put_dup(d, m, "tool_call_id", id);
	put_str(d, m, "content", cJSON_IsString(out) ? out->valuestring :
	    tmp_str(d));
	if (user->child == NULL) {
		cJSON_Delete(user);
		return PX_OK;
	}
	m = put(d, d->msgs, NULL, cJSON_CreateObject());
	put_str(d, m, "role", "user");
	put(d, m, "content", user);
	return PX_OK;
}

/* Replayed reasoning: dropped, pending message kept open (Codex puts
 * reasoning between a user message and the assistant's text and calls);
 * its encrypted_content belongs to api.openai.com, never to a chat
 * upstream. */
static enum px_err
item_skip(struct dec *d, const cJSON *it, const char *at)
{
	(void)d;
	(void)it;
	(void)at;
	return PX_OK;
}

static const struct item_rule {
	const char *type;
	enum px_err (*fn)(struct dec *, const cJSON *, const char *);
} item_rules[] = {
	{ "message",			item_message },
	{ "function_call",		item_call },
	{ "function_call_output",	item_output },
	{ "custom_tool_call",		item_custom_call },
	{ "custom_tool_call_output",	item_output },
	{ "reasoning",			item_skip },
};

static enum px_err
item_unknown(struct dec *d, const char *at, const char *type)
{
	char pp[96];

	path(pp, sizeof(pp), at, "type");
	if (strcmp(type, "item_reference") == 0)
		return bad(d, pp, "item_reference is not supported: this "
		    "proxy is stateless; send the items themselves");
	return bad(d, pp, "item type \"%.*s\" is not supported (only "
	    "message, function_call, function_call_output, custom_tool_call, "
	    "custom_tool_call_output and reasoning)", ECHO_MAX, type);
}

/* One input item; type defaults to "message" (EasyInputMessage). */
static enum px_err
dec_item(struct dec *d, const cJSON *it, int i)
{
	const cJSON *type;
	const char *t;
	char at[96];
	size_t k;
	enum px_err rc;

	snprintf(at, sizeof(at), "input[%d]", i);
	if (!cJSON_IsObject(it))
		return bad(d, at, "expected an object");
	rc = get(d, it, at, "type", J_STR, 0, &type);
	if (rc != PX_OK)
		return rc;
	t = type != NULL ? type->valuestring : "message";
	for (k = 0; k < sizeof(item_rules) / sizeof(item_rules[0]); k++)
		if (strcmp(t, item_rules[k].type) == 0)
			return item_rules[k].fn(d, it, at);
	return item_unknown(d, at, t);
}

/* instructions and input -> messages, then the history repair. */
static enum px_err
dec_messages(struct dec *d)
{
	const cJSON *ins, *in, *it, *items;
	cJSON *m;
	enum px_err rc = get(d, d->root, "", "instructions", J_STR, 0, &ins);
	int i = 0;

	if (rc == PX_OK)
		rc = get(d, d->root, "", "input", J_STR | J_ARR, 1, &in);
	if (rc != PX_OK)
		return rc;
	d->msgs = put(d, d->chat, "messages", cJSON_CreateArray());
	if (ins != NULL && ins->valuestring[0] != '\0') {
		m = put(d, d->msgs, NULL, cJSON_CreateObject());
		put_str(d, m, "role", "system");
		put_dup(d, m, "content", ins);
	}
	if (cJSON_IsString(in)) {
		m = put(d, d->msgs, NULL, cJSON_CreateObject());
		put_str(d, m, "role", "user");
		put_dup(d, m, "content", in);
	}
	items = array_or_null(in);
	cJSON_ArrayForEach(it, items) {
		rc = dec_item(d, it, i++);
		if (rc != PX_OK)
			return rc;
	}
	flush(d);
	if (d->oom)
		return PX_ENOMEM;
	if (cJSON_GetArraySize(d->msgs) == 0)
		return bad(d, "input", "expected at least one message");
	return px_dialect_repair(d->msgs, "input", d->err);
}

/* --- decode: tools -------------------------------------------------------- */

/* Hosted tools a chat upstream cannot run: dropped from the request (the
 * client keeps working without them). Prefix matches end in '*'. */
static const char *const dropped_tools[] = {
	"web_search*", "computer*", "local_shell", "shell", "apply_patch",
	"code_interpreter", "image_generation", "mcp", "tool_search",
	"namespace", "programmatic_tool_calling", NULL
};

static int
tool_dropped(const char *type)
{
	size_t n;
	int i;

	for (i = 0; dropped_tools[i] != NULL; i++) {
		n = strlen(dropped_tools[i]);
		if (dropped_tools[i][n - 1] == '*' ?
		    strncmp(type, dropped_tools[i], n - 1) == 0 :
		    strcmp(type, dropped_tools[i]) == 0)
			return 1;
	}
	return 0;
}

/* The chat rule for tool names, checked here so the 400 names the
 * Responses field. */
static enum px_err
tool_name(struct dec *d, const cJSON *t, const char *at, const cJSON **name)
{
	const char *s;
	char pp[96];
	size_t n;
	enum px_err rc = get(d, t, at, "name", J_STR, 2, name);

	if (rc != PX_OK)
		return rc;
	s = (*name)->valuestring;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-");
	if (n <= NAME_MAX_LEN && s[n] == '\0')
		return PX_OK;
	path(pp, sizeof(pp), at, "name");
	return bad(d, pp, "expected 1 to 64 characters of a-z, A-Z, 0-9, _ "
	    "or -");
}

/* A chat function tool; its function object is returned for filling. */
static cJSON *
chat_tool(struct dec *d, cJSON *tools, const cJSON *name)
{
	cJSON *t = put(d, tools, NULL, cJSON_CreateObject()), *fn;

	put_str(d, t, "type", "function");
	fn = put(d, t, "function", cJSON_CreateObject());
	put_dup(d, fn, "name", name);
	d->ntools++;
	return fn;
}

/* Flat function tool -> nested; null parameters/strict omitted, newer
 * fields (defer_loading, output_schema, ...) dropped. */
static enum px_err
tool_function(struct dec *d, const cJSON *t, const char *at, cJSON *tools)
{
	const cJSON *name, *desc = NULL, *params = NULL, *strict = NULL;
	cJSON *fn;
	enum px_err rc = tool_name(d, t, at, &name);

	if (rc == PX_OK)
		rc = get(d, t, at, "description", J_STR, 0, &desc);
	if (rc == PX_OK)
		rc = get(d, t, at, "parameters", J_OBJ, 0, &params);
	if (rc == PX_OK)
		rc = get(d, t, at, "strict", J_BOOL, 0, &strict);
	if (rc != PX_OK)
		return rc;
	fn = chat_tool(d, tools, name);
	if (desc != NULL)
		put_dup(d, fn, "description", desc);
	if (params != NULL)
		put_dup(d, fn, "parameters", params);
	if (strict != NULL)
		put_dup(d, fn, "strict", strict);
	return PX_OK;
}

/* A custom tool's description with its grammar, the only way a chat model
 * learns the input format: "<desc>\n\nInput format (lark):\n<def>". */
static enum px_err
custom_desc(struct dec *d, const cJSON *t, const char *at)
{
	const cJSON *desc, *fmt, *type = NULL, *syn = NULL, *def = NULL;
	char fa[96], pp[96];
	enum px_err rc = get(d, t, at, "description", J_STR, 0, &desc);

	path(fa, sizeof(fa), at, "format");
	if (rc == PX_OK)
		rc = get(d, t, at, "format", J_OBJ, 0, &fmt);
	if (rc == PX_OK && fmt != NULL)
		rc = get(d, fmt, fa, "type", J_STR, 1, &type);
	if (rc == PX_OK && type != NULL &&
	    strcmp(type->valuestring, "grammar") == 0) {
		rc = get(d, fmt, fa, "syntax", J_STR, 1, &syn);
		if (rc == PX_OK)
			rc = get(d, fmt, fa, "definition", J_STR, 1, &def);
	} else if (rc == PX_OK && type != NULL &&
	    strcmp(type->valuestring, "text") != 0) {
		path(pp, sizeof(pp), fa, "type");
		return bad(d, pp, "expected one of text, grammar");
	}
	px_buf_reset(&d->tmp);
	if (rc == PX_OK && desc != NULL)
		rc = tmp_add(d, desc->valuestring);
	if (rc == PX_OK && def != NULL && desc != NULL && d->tmp.len > 0)
		rc = tmp_add(d, "\n\n");
	if (rc == PX_OK && def != NULL)
		rc = px_buf_printf(&d->tmp, "Input format (%s):\n%s",
		    syn->valuestring, def->valuestring);
	return rc;
}

/* custom tool -> a function taking {"input": string}; its name is kept so
 * calls come back as custom_tool_call items (§A.1.3). */
static enum px_err
tool_custom(struct dec *d, const cJSON *t, const char *at, cJSON *tools)
{
	const cJSON *name;
	cJSON *fn;
	struct px_dstate *st = d->st;
	enum px_err rc = tool_name(d, t, at, &name);

	if (rc == PX_OK)
		rc = custom_desc(d, t, at);
	if (rc != PX_OK)
		return rc;
	if (st->ncustom >= PX_DCUSTOM)
		return bad(d, at, "at most %d custom tools are supported",
		    PX_DCUSTOM);
	snprintf(st->custom[st->ncustom++], PX_DNAME, "%s", name->valuestring);
	fn = chat_tool(d, tools, name);
	if (d->tmp.len > 0)
		put_str(d, fn, "description", tmp_str(d));
	put(d, fn, "parameters", cJSON_Parse("{\"type\":\"object\","
	    "\"properties\":{\"input\":{\"type\":\"string\"}},"
	    "\"required\":[\"input\"]}"));
	return PX_OK;
}

static enum px_err
dec_tool(struct dec *d, const cJSON *t, int i, cJSON *tools)
{
	const cJSON *type;
	char at[96], pp[96];
	const char *s;
	enum px_err rc;

	snprintf(at, sizeof(at), "tools[%d]", i);
	if (!cJSON_IsObject(t))
		return bad(d, at, "expected an object");
	rc = get(d, t, at, "type", J_STR, 1, &type);
	if (rc != PX_OK)
		return rc;
	s = type->valuestring;
	if (strcmp(s, "function") == 0)
		return tool_function(d, t, at, tools);
	if (strcmp(s, "custom") == 0)
		return tool_custom(d, t, at, tools);
	if (tool_dropped(s))
		return PX_OK;
	path(pp, sizeof(pp), at, "type");
	if (strcmp(s, "file_search") == 0)
		return bad(d, pp, "file_search is not supported (no vector "
		    "stores behind this proxy)");
	return bad(d, pp, "tool type \"%.*s\" is not supported", ECHO_MAX, s);
}

static enum px_err
dec_tools(struct dec *d)
{
	const cJSON *in, *t;
	cJSON *tools;
	enum px_err rc = get(d, d->root, "", "tools", J_ARR, 0, &in);
	int i = 0;

	if (rc != PX_OK || in == NULL)
		return rc;
	tools = cJSON_CreateArray();
	if (tools == NULL)
		return PX_ENOMEM;
	cJSON_ArrayForEach(t, in) {
		rc = dec_tool(d, t, i++, tools);
		if (rc != PX_OK)
			break;
	}
	if (rc != PX_OK || tools->child == NULL) {
		cJSON_Delete(tools);	/* an error, or all were dropped */
		return rc;
	}
	put(d, d->chat, "tools", tools);
	return PX_OK;
}

/* --- decode: tool_choice -------------------------------------------------- */

static int
has_tool(const struct dec *d, const char *name)
{
	const cJSON *t, *n;

	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(d->chat,
	    "tools")) {
		n = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(t, "function"), "name");
		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return 1;
	}
	return 0;
}

/* {type:function|custom, name} -> chat {type:function, function:{name}};
 * the name must be a tool the request declares (and kept). */
static cJSON *
choice_named(struct dec *d, const cJSON *c, const char *at, enum px_err *rc)
{
	static const char *const types[] = { "function", "custom", NULL };
	const cJSON *type, *name;
	char pp[96];
	cJSON *o;

	*rc = get(d, c, at, "type", J_STR, 1, &type);
	if (*rc == PX_OK && pick(type->valuestring, types) < 0) {
		path(pp, sizeof(pp), at, "type");
		*rc = bad(d, pp, "expected one of function, custom");
	}
	if (*rc == PX_OK)
		*rc = get(d, c, at, "name", J_STR, 2, &name);
	if (*rc == PX_OK && !has_tool(d, name->valuestring)) {
		path(pp, sizeof(pp), at, "name");
		*rc = bad(d, pp, "no function or custom tool named \"%.*s\" "
		    "in tools", ECHO_MAX, name->valuestring);
	}
	if (*rc != PX_OK)
		return NULL;
	o = cJSON_CreateObject();
	put_str(d, o, "type", "function");
	put_str(d, put(d, o, "function", cJSON_CreateObject()), "name",
	    name->valuestring);
	return o;
}

static const char *const choice_modes[] = { "auto", "required", NULL };

/* allowed_tools: the flat Responses list -> chat's nested object. */
static cJSON *
choice_allowed(struct dec *d, const cJSON *c, enum px_err *rc)
{
	const cJSON *mode, *list, *t;
	cJSON *o, *at, *tools, *e;
	char pp[96];
	int j = 0;

	*rc = get(d, c, "tool_choice", "mode", J_STR, 1, &mode);
	if (*rc == PX_OK && pick(mode->valuestring, choice_modes) < 0)
		*rc = bad(d, "tool_choice.mode", "expected one of auto, "
		    "required");
	if (*rc == PX_OK)
		*rc = get(d, c, "tool_choice", "tools", J_ARR, 1, &list);
	if (*rc != PX_OK)
		return NULL;
	o = cJSON_CreateObject();
	put_str(d, o, "type", "allowed_tools");
	at = put(d, o, "allowed_tools", cJSON_CreateObject());
	put_dup(d, at, "mode", mode);
	tools = put(d, at, "tools", cJSON_CreateArray());
	cJSON_ArrayForEach(t, list) {
		path_i(pp, sizeof(pp), "tool_choice", "tools", j++);
		if (!cJSON_IsObject(t)) {
			*rc = bad(d, pp, "expected an object");
			break;
		}
		e = choice_named(d, t, pp, rc);
		if (*rc != PX_OK)
			break;
		put(d, tools, NULL, e);
	}
	return o;
}

static cJSON *
choice_object(struct dec *d, const cJSON *c, enum px_err *rc)
{
	const cJSON *type;
	const char *s;

	*rc = get(d, c, "tool_choice", "type", J_STR, 1, &type);
	if (*rc != PX_OK)
		return NULL;
	s = type->valuestring;
	if (strcmp(s, "function") == 0 || strcmp(s, "custom") == 0)
		return choice_named(d, c, "tool_choice", rc);
	if (strcmp(s, "allowed_tools") == 0)
		return choice_allowed(d, c, rc);
	*rc = bad(d, "tool_choice.type", "\"%.*s\" names a hosted tool this "
	    "proxy does not offer", ECHO_MAX, s);
	return NULL;
}

/* tool_choice and parallel_tool_calls; both only go upstream with tools
 * (OpenAI refuses parallel_tool_calls without them). */
static enum px_err
dec_tool_choice(struct dec *d)
{
	static const char *const words[] = { "none", "auto", "required",
		NULL };
	const cJSON *c, *par;
	cJSON *o = NULL;
	enum px_err rc = get(d, d->root, "", "tool_choice", J_STR | J_OBJ, 0,
	    &c);

	if (rc == PX_OK)
		rc = get(d, d->root, "", "parallel_tool_calls", J_BOOL, 0,
		    &par);
	if (rc != PX_OK)
		return rc;
	if (c != NULL && cJSON_IsString(c) && pick(c->valuestring, words) < 0)
		return bad(d, "tool_choice", "expected one of none, auto, "
		    "required, or an object");
	if (cJSON_IsString(c))
		o = cJSON_Duplicate(c, 0);
	else if (c != NULL)
		o = choice_object(d, c, &rc);
	if (rc != PX_OK || d->ntools == 0) {
		cJSON_Delete(o);
		return rc;
	}
	if (c != NULL)
		put(d, d->chat, "tool_choice", o);
	if (par != NULL)
		put_dup(d, d->chat, "parallel_tool_calls", par);
	return PX_OK;
}

/* --- decode: the other fields --------------------------------------------- */

/* text.format -> response_format: json_schema flat -> nested; "text"
 * (the default) is not sent. */
static enum px_err
dec_format(struct dec *d)
{
	const cJSON *text, *fmt = NULL, *type, *name, *schema, *strict, *desc;
	cJSON *rf, *js;
	enum px_err rc = get(d, d->root, "", "text", J_OBJ, 0, &text);

	if (rc == PX_OK && text != NULL)
		rc = get(d, text, "text", "format", J_OBJ, 0, &fmt);
	if (rc != PX_OK || text == NULL || fmt == NULL)
		return rc;
	rc = get(d, fmt, "text.format", "type", J_STR, 1, &type);
	if (rc != PX_OK || strcmp(type->valuestring, "text") == 0)
		return rc;
	if (strcmp(type->valuestring, "json_object") == 0) {
		rf = put(d, d->chat, "response_format", cJSON_CreateObject());
		put_str(d, rf, "type", "json_object");
		return PX_OK;
	}
	if (strcmp(type->valuestring, "json_schema") != 0)
		return bad(d, "text.format.type", "expected one of text, "
		    "json_object, json_schema");
	rc = get(d, fmt, "text.format", "name", J_STR, 2, &name);
	if (rc == PX_OK)
		rc = get(d, fmt, "text.format", "schema", J_OBJ, 1, &schema);
	if (rc == PX_OK)
		rc = get(d, fmt, "text.format", "strict", J_BOOL, 0, &strict);
	if (rc == PX_OK)
		rc = get(d, fmt, "text.format", "description", J_STR, 0,
		    &desc);
	if (rc != PX_OK)
		return rc;
	rf = put(d, d->chat, "response_format", cJSON_CreateObject());
	put_str(d, rf, "type", "json_schema");
	js = put(d, rf, "json_schema", cJSON_CreateObject());
	put_dup(d, js, "name", name);
	put_dup(d, js, "schema", schema);
	if (strict != NULL)
		put_dup(d, js, "strict", strict);
	if (desc != NULL)
		put_dup(d, js, "description", desc);
	return PX_OK;
}

static const struct num_rule {
	const char *key, *chat;
	int         integer;
	double      min, max;
} num_rules[] = {
	{ "max_output_tokens",	"max_tokens",	1, 1, INT_MAX },
	{ "temperature",	"temperature",	0, 0, 2 },
	{ "top_p",		"top_p",	0, 0, 1 },
};

/* The ranges px_validate_chat enforces, named in Responses terms. */
static enum px_err
dec_numbers(struct dec *d)
{
	const struct num_rule *r;
	const cJSON *it;
	size_t i;
	double v;
	enum px_err rc = PX_OK;

	for (i = 0; rc == PX_OK && i < sizeof(num_rules) /
	    sizeof(num_rules[0]); i++) {
		r = &num_rules[i];
		rc = get(d, d->root, "", r->key, J_NUM, 0, &it);
		if (rc != PX_OK || it == NULL)
			continue;
		v = it->valuedouble;
		/* The range test comes first: it keeps the cast defined. */
		if (v >= r->min && v <= r->max &&
		    (!r->integer || v == (double)(long long)v))
			put(d, d->chat, r->chat, cJSON_CreateNumber(v));
		else
			rc = bad(d, r->key, "expected %s from %.15g to %.15g",
			    r->integer ? "an integer" : "a number", r->min,
			    r->max);
	}
	return rc;
}

/* reasoning.effort -> reasoning_effort; summary (or the deprecated
 * generate_summary) asks for reasoning items in the output. */
static enum px_err
dec_reasoning(struct dec *d)
{
	const cJSON *r, *effort = NULL, *sum = NULL, *gen = NULL;
	const char *e;
	enum px_err rc = get(d, d->root, "", "reasoning", J_OBJ, 0, &r);

	if (rc == PX_OK && r != NULL)
		rc = get(d, r, "reasoning", "effort", J_STR, 0, &effort);
	if (rc == PX_OK && r != NULL)
		rc = get(d, r, "reasoning", "summary", J_STR, 0, &sum);
	if (rc == PX_OK && r != NULL)
		rc = get(d, r, "reasoning", "generate_summary", J_STR, 0,
		    &gen);
	if (rc != PX_OK)
		return rc;
	if (sum != NULL || gen != NULL)
		d->st->flags |= PX_DF_REASONING;
	if (effort == NULL)
		return PX_OK;
	e = px_dialect_effort(effort->valuestring);
	if (e == NULL)
		return bad(d, "reasoning.effort", "expected one of none, "
		    "minimal, low, medium, high, xhigh, max");
	put_str(d, d->chat, "reasoning_effort", e);
	return PX_OK;
}

/* user, cut to 64 bytes on a UTF-8 boundary. */
static enum px_err
dec_user(struct dec *d)
{
	const cJSON *u;
	char cut[USER_MAX + 1];
	size_t n;
	enum px_err rc = get(d, d->root, "", "user", J_STR, 0, &u);

	if (rc != PX_OK || u == NULL)
		return rc;
	n = strlen(u->valuestring);
	if (n > USER_MAX) {
		n = USER_MAX;
		while (n > 0 && ((unsigned char)u->valuestring[n] & 0xC0) ==
		    0x80)
			n--;
	}
	memcpy(cut, u->valuestring, n);
	cut[n] = '\0';
	put_str(d, d->chat, "user", cut);
	return PX_OK;
}

/* stream; usage is always asked for (response.completed carries it). */
static enum px_err
dec_stream(struct dec *d)
{
	const cJSON *s;
	cJSON *so;
	enum px_err rc = get(d, d->root, "", "stream", J_BOOL, 0, &s);

	if (rc != PX_OK)
		return rc;
	d->st->stream = cJSON_IsTrue(s);
	put(d, d->chat, "stream", cJSON_CreateBool(d->st->stream));
	if (d->st->stream) {
		so = put(d, d->chat, "stream_options", cJSON_CreateObject());
		put(d, so, "include_usage", cJSON_CreateTrue());
	}
	return PX_OK;
}

/* Fields only echoed (never sent upstream): their kinds, so the echo is
 * well-formed. */
static enum px_err
dec_echoed(struct dec *d)
{
	const cJSON *it;
	enum px_err rc = get(d, d->root, "", "store", J_BOOL, 0, &it);

	if (rc == PX_OK)
		rc = get(d, d->root, "", "metadata", J_OBJ, 0, &it);
	if (rc == PX_OK)
		rc = get(d, d->root, "", "truncation", J_STR, 0, &it);
	return rc;
}

/* Fields that need server-side state, and why each is refused: a
 * non-null value (background: anything but false) is a 400. */
static const struct stateful {
	const char *key, *why;
} stateful[] = {
	{ "previous_response_id", "not supported: this proxy is stateless. "
	  "Send the whole conversation in input (store:false)." },
	{ "conversation", "not supported: this proxy is stateless. Send the "
	  "whole conversation in input (store:false)." },
	{ "prompt", "not supported: stored prompt templates need "
	  "server-side storage" },
	{ "background", "not supported: background responses need "
	  "server-side storage" },
};

static enum px_err
dec_stateless(struct dec *d)
{
	const cJSON *v;
	size_t i;

	for (i = 0; i < sizeof(stateful) / sizeof(stateful[0]); i++) {
		v = cJSON_GetObjectItemCaseSensitive(d->root, stateful[i].key);
		if (v != NULL && !cJSON_IsNull(v) && !cJSON_IsFalse(v))
			return bad(d, stateful[i].key, "%s", stateful[i].why);
	}
	return PX_OK;
}

static enum px_err
dec_model(struct dec *d)
{
	const cJSON *m;
	enum px_err rc = get(d, d->root, "", "model", J_STR, 2, &m);

	if (rc != PX_OK)
		return rc;
	if (strlen(m->valuestring) >= sizeof(d->st->model))
		return bad(d, "model", "longer than %zu bytes",
		    sizeof(d->st->model) - 1);
	snprintf(d->st->model, sizeof(d->st->model), "%s", m->valuestring);
	put_dup(d, d->chat, "model", m);
	return PX_OK;
}

/* --- decode: the echo and the entry point --------------------------------- */

/* e[key] = the request's value, else def (owned either way). */
static void
echo_or(struct dec *d, cJSON *e, const char *key, cJSON *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d->root, key);

	if (v != NULL && !cJSON_IsNull(v)) {
		cJSON_Delete(def);
		put_dup(d, e, key, v);
	} else {
		put(d, e, key, def);
	}
}

/* reasoning {effort, summary} and text with its format (§A.2 defaults). */
static void
echo_objects(struct dec *d, cJSON *e)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(d->root,
	    "reasoning"), *v;
	cJSON *o = put(d, e, "reasoning", cJSON_CreateObject()), *t;

	v = cJSON_GetObjectItemCaseSensitive(r, "effort");
	put(d, o, "effort", v != NULL ? cJSON_Duplicate(v, 0) :
	    cJSON_CreateNull());
	v = cJSON_GetObjectItemCaseSensitive(r, "summary");
	put(d, o, "summary", v != NULL ? cJSON_Duplicate(v, 0) :
	    cJSON_CreateNull());
	echo_or(d, e, "text", cJSON_CreateObject());
	t = cJSON_GetObjectItemCaseSensitive(e, "text");
	v = cJSON_GetObjectItemCaseSensitive(t, "format");
	if (t != NULL && (v == NULL || cJSON_IsNull(v))) {
		cJSON_DeleteItemFromObjectCaseSensitive(t, "format");
		put_str(d, put(d, t, "format", cJSON_CreateObject()), "type",
		    "text");
	}
}

static void
echo_build(struct dec *d, cJSON *e, int with_tools)
{
	echo_or(d, e, "instructions", cJSON_CreateNull());
	echo_or(d, e, "max_output_tokens", cJSON_CreateNull());
	echo_or(d, e, "parallel_tool_calls", cJSON_CreateTrue());
	put(d, e, "previous_response_id", cJSON_CreateNull());
	echo_objects(d, e);
	put(d, e, "store", cJSON_CreateFalse());
	echo_or(d, e, "temperature", cJSON_CreateNumber(1));
	echo_or(d, e, "tool_choice", cJSON_CreateString("auto"));
	if (with_tools)
		echo_or(d, e, "tools", cJSON_CreateArray());
	else
		put(d, e, "tools", cJSON_CreateArray());
	echo_or(d, e, "top_p", cJSON_CreateNumber(1));
	echo_or(d, e, "truncation", cJSON_CreateString("disabled"));
	echo_or(d, e, "user", cJSON_CreateNull());
	echo_or(d, e, "metadata", cJSON_CreateObject());
}

static enum px_err
echo_print(struct dec *d, int with_tools)
{
	cJSON *e = cJSON_CreateObject();
	char *s = NULL;
	enum px_err rc = PX_ENOMEM;

	if (e != NULL)
		echo_build(d, e, with_tools);
	if (e != NULL && !d->oom)
		s = cJSON_PrintUnformatted(e);
	px_buf_reset(&d->st->echo);
	if (s != NULL)		/* "{...}" -> the members */
		rc = px_buf_add(&d->st->echo, s + 1, strlen(s) - 2);
	cJSON_free(s);
	cJSON_Delete(e);
	return rc;
}

/* The request values every response object echoes; a tools list too big
 * for the echo buffer is echoed as []. */
static enum px_err
dec_echo(struct dec *d)
{
	enum px_err rc = echo_print(d, 1);

	if (rc == PX_ETOOBIG)
		rc = echo_print(d, 0);
	return rc;
}

/* The byte screening every request body gets (UTF-8, raw control bytes,
 * the value cap before parsing), then JSON syntax, nothing after the
 * value, an object. */
static enum px_err
dec_parse(struct dec *d, const char *body, size_t len, cJSON **root)
{
	size_t max = d->ctx->max_values ? d->ctx->max_values :
	    PX_JSON_VALUES_DEFAULT;
	const char *end = body;
	size_t at;
	enum px_err rc = px_validate_scan(body, len, max, d->err);

	if (rc != PX_OK)
		return rc;
	*root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (*root == NULL)
		return bad(d, "", "request body is not valid JSON (at byte "
		    "%zu)", (size_t)(end - body));
	for (at = (size_t)(end - body); at < len && strchr(" \t\r\n",
	    body[at]) != NULL && body[at] != '\0'; at++)
		;
	if (at < len)
		return bad(d, "", "unexpected data after the JSON value at "
		    "byte %zu", at);
	if (!cJSON_IsObject(*root))
		return bad(d, "", "request body must be a JSON object");
	return PX_OK;
}

static enum px_err
dec_print(struct dec *d, struct px_buf *chat)
{
	char *s = cJSON_PrintUnformatted(d->chat);
	enum px_err rc;

	if (s == NULL)
		return PX_ENOMEM;
	px_buf_reset(chat);
	rc = px_buf_add(chat, s, strlen(s));
	cJSON_free(s);
	return rc;
}

/* In canonical-request order: model, messages, tools, tool_choice, ... */
static enum px_err (*const dec_steps[])(struct dec *) = {
	dec_stateless, dec_model, dec_messages, dec_tools, dec_tool_choice,
	dec_format, dec_numbers, dec_reasoning, dec_user, dec_stream,
	dec_echoed, dec_echo,
};

static enum px_err
r_decode(const char *body, size_t len, const struct px_dctx *ctx,
    struct px_dstate *st, struct px_buf *chat, struct px_verr *err)
{
	struct dec d;
	cJSON *root = NULL;
	size_t i;
	enum px_err rc;

	memset(&d, 0, sizeof(d));
	memset(err, 0, sizeof(*err));
	d.st = st;
	d.ctx = ctx;
	d.err = err;
	px_buf_init(&d.tmp, len + 4096);
	st->ncustom = 0;
	st->flags &= ~(unsigned)PX_DF_REASONING;
	rc = dec_parse(&d, body != NULL ? body : "", body != NULL ? len : 0,
	    &root);
	d.root = root;
	if (rc == PX_OK)
		d.chat = cJSON_CreateObject();
	if (rc == PX_OK && d.chat == NULL)
		rc = PX_ENOMEM;
	for (i = 0; rc == PX_OK && i < sizeof(dec_steps) /
	    sizeof(dec_steps[0]); i++) {
		rc = dec_steps[i](&d);
		if (rc == PX_OK && d.oom)
			rc = PX_ENOMEM;
	}
	if (rc == PX_OK)
		rc = dec_print(&d, chat);
	if (rc == PX_OK) {
		snprintf(st->id, sizeof(st->id), "resp_%.*s", UID_MAX,
		    ctx->uid);
		st->created = ctx->now_s;
	}
	cJSON_Delete(d.pending);
	cJSON_Delete(d.chat);
	cJSON_Delete(root);
	px_buf_free(&d.tmp);
	return rc;
}

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
		w->rc = px_djson_str(w->b, s != NULL ? s : "", s != NULL ? n : 0);
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

	snprintf(dst, PX_DID, "%s_%.*s_%d", kind_prefix[k], UID_MAX, uid,
	    index);
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
	.decode    = r_decode,
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
