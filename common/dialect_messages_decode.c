/*
 * dialect_messages_decode.c -- the Anthropic Messages request (POST
 * /v1/messages and /v1/messages/count_tokens) as the canonical chat
 * request.
 * Owns: the request decode (content blocks, tool_use ids and their
 * tool_result messages, system, tools, tool_choice, sampling, thinking,
 * output_config, metadata.user_id) with errors naming the field in
 * Messages terms, and the count_tokens answer.
 * Never: I/O, clocks, randomness or logging (ids derive from ctx->uid);
 * the reply side (dialect_messages.c).
 * Load: one parse, one tree and one print per request.
 */
#include "dialect_messages.h"
#include "dialect_messages_int.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "decoder.h"
#include "jsonraw.h"
#include "validate.h"

#define STOP_MAX	4	/* chat "stop": OpenAI takes at most 4 */
#define USER_MAX	64	/* chat "user": longer ids are hashed */
#define TOOL_NAME_MAX	64	/* chat function names */
/* Joined text; the body's own cap keeps it far below this. */
#define TEXT_MAX	((size_t)1 << 30)

/* --- decode state --------------------------------------------------------- */

struct dec {
	struct px_dec     px;		/* path, error, sticky oom */
	struct px_dstate *st;
	const cJSON      *tools;	/* the request's tools (server names) */
	cJSON            *msgs;		/* canonical messages being built */
	cJSON            *parts;	/* the pending user message's parts */
	cJSON            *list;		/* tool_calls or tools being filled */
	struct px_buf     text;		/* text being joined */
	struct px_buf     aux;		/* one tool or search result's text */
	struct px_buf    *join;		/* where text_add() appends */
	const char       *sep;		/* and with what between */
	unsigned          ntools;	/* client tools kept */
	int               count;	/* count_tokens: no max_tokens/stream */
};

/* A required non-empty string member. */
static enum px_err
get_name(struct dec *d, const cJSON *obj, const char *key, const char **out)
{
	return px_dec_get_str(&d->px, obj, key, PX_T_REQ | PX_T_FULL, out);
}

/* A block's required text. */
static enum px_err
text_of(struct dec *d, const cJSON *b, const char **text)
{
	return px_dec_get_str(&d->px, b, "text", PX_T_REQ, text);
}

/* {"role":role,"content":content} appended to the canonical messages. */
static cJSON *
add_msg(struct dec *d, const char *role, cJSON *content)
{
	cJSON *m = px_dec_put(&d->px, d->msgs, NULL, cJSON_CreateObject());

	px_dec_put_str(&d->px, m, "role", role);
	px_dec_put(&d->px, m, "content", content);
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
		d->px.oom = 1;
	if (px_buf_adds(d->join, s) != PX_OK)
		d->px.oom = 1;
}

static const char *
buf_str(const struct px_buf *b)
{
	return b->len > 0 ? b->p : "";
}

/* --- content blocks ------------------------------------------------------- */

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
	enum px_err rc = px_dec_check(&d->px, NULL, b, PX_T_OBJ);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, b, "type", PX_T_STR | PX_T_REQ, &type);
	if (rc != PX_OK)
		return rc;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(kinds[i].type, type->valuestring) == 0 &&
		    (mask & KIND(kinds[i].kind)) != 0) {
			*k = kinds[i].kind;
			return PX_OK;
		}
	}
	return px_dec_fail_got(&d->px, "type", want, type);
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
	cJSON *p = px_dec_put(&d->px, d->parts, NULL, cJSON_CreateObject());

	px_dec_put_str(&d->px, p, "type", "image_url");
	px_dec_put(&d->px, px_dec_put(&d->px, p, "image_url",
	    cJSON_CreateObject()), "url", url);
}

/* A source's type other than the ones a chat upstream can take. */
static enum px_err
source_fail(struct dec *d, const cJSON *type, const char *want)
{
	if (strcmp(type->valuestring, "file") == 0)
		return px_dec_fail(&d->px, "type", "file sources are not "
		    "supported (the proxy keeps no files); send the content "
		    "as base64");
	return px_dec_fail_got(&d->px, "type", want, type);
}

/* image: base64 -> a data: URL, url -> the URL; both as image_url. */
static enum px_err
image_block(struct dec *d, const cJSON *b)
{
	const cJSON *src, *type;
	const char *media, *data;
	cJSON *url = NULL;
	size_t old;
	enum px_err rc = px_dec_get(&d->px, b, "source", PX_T_OBJ | PX_T_REQ,
	    &src);

	if (rc != PX_OK)
		return rc;
	old = px_dec_path_key(&d->px, "source");
	rc = px_dec_get(&d->px, src, "type", PX_T_STR | PX_T_REQ, &type);
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
	px_dec_path_cut(&d->px, old);
	if (rc == PX_OK)
		add_image(d, url);
	return rc == PX_OK && d->px.oom ? PX_ENOMEM : rc;
}

static void
add_text_part(struct dec *d, const char *text)
{
	cJSON *p;

	if (*text == '\0')
		return;		/* empty text parts are dropped */
	p = px_dec_put(&d->px, d->parts, NULL, cJSON_CreateObject());
	px_dec_put_str(&d->px, p, "type", "text");
	px_dec_put_str(&d->px, p, "text", text);
}

static void
add_pdf(struct dec *d, const char *data)
{
	cJSON *p = px_dec_put(&d->px, d->parts, NULL, cJSON_CreateObject());
	cJSON *f;

	px_dec_put_str(&d->px, p, "type", "file");
	f = px_dec_put(&d->px, p, "file", cJSON_CreateObject());
	px_dec_put_str(&d->px, f, "filename", "document.pdf");
	px_dec_put(&d->px, f, "file_data", data_url("application/pdf", data));
}

/* document: a base64 PDF -> a file part, a text source -> a text part. */
static enum px_err
document_block(struct dec *d, const cJSON *b)
{
	const cJSON *src, *type, *media, *text;
	const char *data = "";
	size_t old;
	int pdf = 0;
	enum px_err rc = px_dec_get(&d->px, b, "source", PX_T_OBJ | PX_T_REQ,
	    &src);

	if (rc != PX_OK)
		return rc;
	old = px_dec_path_key(&d->px, "source");
	rc = px_dec_get(&d->px, src, "type", PX_T_STR | PX_T_REQ, &type);
	if (rc == PX_OK && strcmp(type->valuestring, "base64") == 0) {
		pdf = 1;
		rc = px_dec_get(&d->px, src, "media_type", PX_T_STR | PX_T_REQ,
		    &media);
		if (rc == PX_OK && strcmp(media->valuestring,
		    "application/pdf") != 0)
			rc = px_dec_fail_got(&d->px, "media_type",
			    "\"application/pdf\"", media);
		if (rc == PX_OK)
			rc = get_name(d, src, "data", &data);
	} else if (rc == PX_OK && strcmp(type->valuestring, "text") == 0) {
		rc = px_dec_get(&d->px, src, "data", PX_T_STR | PX_T_REQ,
		    &text);
		data = text != NULL ? text->valuestring : "";
	} else if (rc == PX_OK) {
		rc = source_fail(d, type, "one of base64 (PDF), text");
	}
	px_dec_path_cut(&d->px, old);
	if (rc == PX_OK && pdf)
		add_pdf(d, data);
	else if (rc == PX_OK)
		add_text_part(d, data);
	return rc == PX_OK && d->px.oom ? PX_ENOMEM : rc;
}

/* A block that must be text (a search result's content, a system
 * prompt), added to the text being joined. */
static enum px_err
text_item(void *arg, const cJSON *b)
{
	struct dec *d = arg;
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
	enum px_err rc = px_dec_get(&d->px, b, "title", PX_T_STR, &title);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, b, "content", PX_T_ARR | PX_T_REQ,
		    &content);
	if (rc != PX_OK)
		return rc;
	join_begin(d, &d->aux, "\n");
	if (title != NULL)
		text_add(d, title->valuestring);
	rc = px_dec_each(&d->px, "content", content, text_item, d);
	d->join = join;
	d->sep = sep;
	return rc;
}

/* --- user, assistant and system messages ---------------------------------- */

/* A block of a tool_result's content: text joins the tool message, media
 * go to the user message that follows the tool messages. */
static enum px_err
result_block(void *arg, const cJSON *b)
{
	struct dec *d = arg;
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
	px_dec_put_str(&d->px, m, "tool_call_id", id);
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
		rc = px_dec_fail(&d->px, "tool_use_id", "no earlier tool_use "
		    "block has this id");
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, b, "is_error", PX_T_BOOL, &is_error);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, b, "content", PX_T_STR | PX_T_ARR,
		    &content);
	if (rc != PX_OK)
		return rc;
	join_begin(d, &d->text, "\n");
	if (content != NULL && cJSON_IsString(content))
		text_add(d, content->valuestring);
	else if (content != NULL)
		rc = px_dec_each(&d->px, "content", content, result_block, d);
	if (rc == PX_OK)
		add_tool_msg(d, id, cJSON_IsTrue(is_error),
		    cJSON_GetArraySize(d->parts) > parts);
	return rc == PX_OK && d->px.oom ? PX_ENOMEM : rc;
}

static enum px_err
user_block(void *arg, const cJSON *b)
{
	struct dec *d = arg;
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
	rc = px_dec_each(&d->px, "content", content, user_block, d);
	d->parts = NULL;
	if (rc == PX_OK && parts->child != NULL) {
		add_msg(d, "user", parts);
		return d->px.oom ? PX_ENOMEM : PX_OK;
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
		rc = px_dec_get(&d->px, b, "input", PX_T_OBJ, &input);
	if (rc != PX_OK)
		return rc;
	if (input != NULL) {
		args = cJSON_PrintUnformatted(input);
		if (args == NULL)
			return PX_ENOMEM;
	}
	c = px_dec_put(&d->px, d->list, NULL, cJSON_CreateObject());
	px_dec_put_str(&d->px, c, "id", id);
	px_dec_put_str(&d->px, c, "type", "function");
	fn = px_dec_put(&d->px, c, "function", cJSON_CreateObject());
	px_dec_put_str(&d->px, fn, "name", name);
	px_dec_put_str(&d->px, fn, "arguments", args != NULL ? args : "{}");
	cJSON_free(args);
	return d->px.oom ? PX_ENOMEM : PX_OK;
}

static enum px_err
assistant_block(void *arg, const cJSON *b)
{
	struct dec *d = arg;
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
	rc = px_dec_each(&d->px, "content", content, assistant_block, d);
	d->list = NULL;
	if (rc != PX_OK || (calls->child == NULL && d->text.len == 0)) {
		cJSON_Delete(calls);
		return rc;
	}
	m = add_msg(d, "assistant", d->text.len > 0 ?
	    cJSON_CreateString(buf_str(&d->text)) : cJSON_CreateNull());
	if (calls->child != NULL)
		px_dec_put(&d->px, m, "tool_calls", calls);
	else
		cJSON_Delete(calls);
	return d->px.oom ? PX_ENOMEM : PX_OK;
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
		rc = px_dec_each(&d->px, key, v, text_item, d);
	if (rc == PX_OK && d->text.len > 0)
		add_msg(d, "system", cJSON_CreateString(buf_str(&d->text)));
	return rc == PX_OK && d->px.oom ? PX_ENOMEM : rc;
}

static const char *const roles[] = { "user", "assistant", "system",
	NULL };

static enum px_err
decode_message(void *arg, const cJSON *m)
{
	struct dec *d = arg;
	const cJSON *role, *content;
	int r = 0;
	enum px_err rc = px_dec_check(&d->px, NULL, m, PX_T_OBJ);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, m, "role", PX_T_STR | PX_T_REQ, &role);
	if (rc == PX_OK)
		rc = px_dec_pick(&d->px, "role", role, roles, &r);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, m, "content",
		    PX_T_STR | PX_T_ARR | PX_T_REQ, &content);
	if (rc != PX_OK)
		return rc;
	if (cJSON_IsString(content)) {
		if (content->valuestring[0] != '\0')
			add_msg(d, roles[r],
			    cJSON_CreateString(content->valuestring));
		return d->px.oom ? PX_ENOMEM : PX_OK;
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
	enum px_err rc = px_dec_get(&d->px, root, "messages",
	    PX_T_ARR | PX_T_REQ, &msgs);

	if (rc == PX_OK && msgs->child == NULL)
		rc = px_dec_fail_got(&d->px, "messages", "a non-empty array",
		    msgs);
	if (rc == PX_OK)
		rc = px_dec_each(&d->px, "messages", msgs, decode_message, d);
	if (rc == PX_OK && d->msgs->child == NULL)
		rc = px_dec_fail(&d->px, "messages",
		    "no message has any content");
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
	enum px_err rc = px_dec_get(&d->px, t, "name", PX_T_STR | PX_T_REQ,
	    &name);

	if (rc == PX_OK && !tool_name_ok(name->valuestring))
		rc = px_dec_fail_got(&d->px, "name", "1 to 64 characters of "
		    "a-z, A-Z, 0-9, _ or -", name);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, t, "description", PX_T_STR, &desc);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, t, "input_schema", PX_T_OBJ, &schema);
	if (rc != PX_OK)
		return rc;
	fn = px_dec_put(&d->px, d->list, NULL, cJSON_CreateObject());
	px_dec_put_str(&d->px, fn, "type", "function");
	fn = px_dec_put(&d->px, fn, "function", cJSON_CreateObject());
	px_dec_put_str(&d->px, fn, "name", name->valuestring);
	if (desc != NULL)
		px_dec_put_str(&d->px, fn, "description", desc->valuestring);
	if (schema != NULL)
		px_dec_put(&d->px, fn, "parameters",
		    cJSON_Duplicate(schema, 1));
	d->ntools++;
	return d->px.oom ? PX_ENOMEM : PX_OK;
}

static enum px_err
decode_tool(void *arg, const cJSON *t)
{
	struct dec *d = arg;
	const cJSON *type;
	enum px_err rc = px_dec_check(&d->px, NULL, t, PX_T_OBJ);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, t, "type", PX_T_STR, &type);
	if (rc != PX_OK)
		return rc;
	if (type == NULL || strcmp(type->valuestring, "custom") == 0)
		return client_tool(d, t);
	if (server_type(type->valuestring))
		return PX_OK;	/* a chat upstream cannot run it: dropped */
	return px_dec_fail_got(&d->px, "type", "\"custom\" or a server tool "
	    "type such as web_search_20250305", type);
}

static enum px_err
decode_tools(struct dec *d, const cJSON *root, cJSON *chat)
{
	const cJSON *tools;
	cJSON *out;
	enum px_err rc = px_dec_get(&d->px, root, "tools", PX_T_ARR, &tools);

	if (rc != PX_OK || tools == NULL)
		return rc;
	out = cJSON_CreateArray();
	if (out == NULL)
		return PX_ENOMEM;
	d->tools = tools;
	d->list = out;
	rc = px_dec_each(&d->px, "tools", tools, decode_tool, d);
	d->list = NULL;
	if (rc == PX_OK && out->child != NULL)
		px_dec_put(&d->px, chat, "tools", out);
	else
		cJSON_Delete(out);
	return rc;
}

static const char *const choice_types[] = { "auto", "any", "tool", "none",
	NULL };
static const char *const choice_words[] = { "auto", "required", NULL,
	"none" };

static void
add_choice(struct dec *d, cJSON *chat, int k, const cJSON *name,
    const cJSON *no_parallel)
{
	cJSON *tc;

	if (name == NULL) {	/* set for type "tool" (k 2) only */
		px_dec_put_str(&d->px, chat, "tool_choice", choice_words[k]);
	} else {
		tc = px_dec_put(&d->px, chat, "tool_choice",
		    cJSON_CreateObject());
		px_dec_put_str(&d->px, tc, "type", "function");
		px_dec_put_str(&d->px, px_dec_put(&d->px, tc, "function",
		    cJSON_CreateObject()), "name", name->valuestring);
	}
	if (no_parallel != NULL)
		px_dec_put(&d->px, chat, "parallel_tool_calls",
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
	enum px_err rc = px_dec_get(&d->px, root, "tool_choice", PX_T_OBJ, &tc);

	if (rc != PX_OK || tc == NULL)
		return rc;
	old = px_dec_path_key(&d->px, "tool_choice");
	rc = px_dec_get(&d->px, tc, "type", PX_T_STR | PX_T_REQ, &type);
	if (rc == PX_OK)
		rc = px_dec_pick(&d->px, "type", type, choice_types, &k);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, tc, "disable_parallel_tool_use",
		    PX_T_BOOL, &no_par);
	if (rc == PX_OK && k == 2)
		rc = px_dec_get(&d->px, tc, "name", PX_T_STR | PX_T_REQ, &name);
	px_dec_path_cut(&d->px, old);
	if (rc != PX_OK || d->ntools == 0 ||
	    (name != NULL && server_named(d, name->valuestring)))
		return rc;
	add_choice(d, chat, k, name, no_par);
	return d->px.oom ? PX_ENOMEM : PX_OK;
}

/* --- the other request fields --------------------------------------------- */

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
	enum px_err rc = px_dec_get(&d->px, root, "model", PX_T_STR | PX_T_REQ,
	    &model);

	if (rc == PX_OK && (model->valuestring[0] == '\0' ||
	    strlen(model->valuestring) >= sizeof(d->st->model)))
		rc = px_dec_fail_got(&d->px, "model", "a non-empty string of "
		    "at most 159 bytes", model);
	if (rc == PX_OK && !d->count)
		rc = px_dec_get(&d->px, root, "max_tokens", PX_T_NUM | PX_T_REQ,
		    &mt);
	if (rc == PX_OK && mt != NULL && !int_in(mt, 1, INT_MAX))
		rc = px_dec_fail_got(&d->px, "max_tokens", "an integer from 1 "
		    "to 2147483647", mt);
	if (rc == PX_OK && !d->count)
		rc = px_dec_get(&d->px, root, "stream", PX_T_BOOL, &stream);
	if (rc != PX_OK)
		return rc;
	snprintf(d->st->model, sizeof(d->st->model), "%s", model->valuestring);
	px_dec_put_str(&d->px, chat, "model", model->valuestring);
	if (mt != NULL)
		px_dec_put(&d->px, chat, "max_tokens",
		    cJSON_CreateNumber(mt->valuedouble));
	d->st->stream = cJSON_IsTrue(stream);
	if (d->st->stream) {
		px_dec_put(&d->px, chat, "stream", cJSON_CreateTrue());
		so = px_dec_put(&d->px, chat, "stream_options",
		    cJSON_CreateObject());
		px_dec_put(&d->px, so, "include_usage", cJSON_CreateTrue());
	}
	return d->px.oom ? PX_ENOMEM : PX_OK;
}

static enum px_err
stop_item(void *arg, const cJSON *it)
{
	struct dec *d = arg;

	return px_dec_check(&d->px, NULL, it, PX_T_STR);
}

/* stop_sequences -> stop: the first STOP_MAX (OpenAI's limit). */
static enum px_err
decode_stop(struct dec *d, const cJSON *root, cJSON *chat)
{
	const cJSON *seqs, *it;
	cJSON *stop;
	int n = 0;
	enum px_err rc = px_dec_get(&d->px, root, "stop_sequences", PX_T_ARR,
	    &seqs);

	if (rc == PX_OK && seqs != NULL)
		rc = px_dec_each(&d->px, "stop_sequences", seqs, stop_item, d);
	if (rc != PX_OK || seqs == NULL || seqs->child == NULL)
		return rc;
	stop = px_dec_put(&d->px, chat, "stop", cJSON_CreateArray());
	cJSON_ArrayForEach(it, seqs) {
		if (n++ == STOP_MAX)
			break;
		px_dec_put_str(&d->px, stop, NULL, it->valuestring);
	}
	return d->px.oom ? PX_ENOMEM : PX_OK;
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
		rc = px_dec_get(&d->px, root, nums[i].key, PX_T_NUM, &it);
		if (rc != PX_OK || it == NULL)
			continue;
		if (!(it->valuedouble >= 0 && it->valuedouble <= nums[i].max))
			rc = px_dec_fail_got(&d->px, nums[i].key, nums[i].want,
			    it);
		else
			px_dec_put(&d->px, chat, nums[i].key,
			    cJSON_CreateNumber(it->valuedouble));
	}
	return rc == PX_OK && d->px.oom ? PX_ENOMEM : rc;
}

/* output_config.effort, checked whenever present; NULL when absent. */
static enum px_err
decode_effort(struct dec *d, const cJSON *root, const char **effort)
{
	const cJSON *oc, *e = NULL;
	size_t old;
	enum px_err rc = px_dec_get(&d->px, root, "output_config", PX_T_OBJ,
	    &oc);

	*effort = NULL;
	if (rc != PX_OK || oc == NULL)
		return rc;
	old = px_dec_path_key(&d->px, "output_config");
	rc = px_dec_get(&d->px, oc, "effort", PX_T_STR, &e);
	if (rc == PX_OK && e != NULL) {
		*effort = px_dialect_effort(e->valuestring);
		if (*effort == NULL)
			rc = px_dec_fail_got(&d->px, "effort", "one of low, "
			    "medium, high, xhigh, max", e);
	}
	px_dec_path_cut(&d->px, old);
	return rc;
}

static const char *const think_types[] = { "enabled", "adaptive",
	"disabled", "between_tools", NULL };

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
		rc = px_dec_get(&d->px, root, "thinking", PX_T_OBJ, &th);
	if (rc != PX_OK || th == NULL)
		goto out;
	old = px_dec_path_key(&d->px, "thinking");
	rc = px_dec_get(&d->px, th, "type", PX_T_STR | PX_T_REQ, &type);
	if (rc == PX_OK)
		rc = px_dec_pick(&d->px, "type", type, think_types, &k);
	if (rc == PX_OK && k == 0)
		rc = px_dec_get(&d->px, th, "budget_tokens",
		    PX_T_NUM | PX_T_REQ, &b);
	if (rc == PX_OK && b != NULL && !int_in(b, 0, INT_MAX))
		rc = px_dec_fail_got(&d->px, "budget_tokens",
		    "a non-negative integer", b);
	px_dec_path_cut(&d->px, old);
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
		px_dec_put_str(&d->px, chat, "reasoning_effort", effort);
	return rc == PX_OK && d->px.oom ? PX_ENOMEM : rc;
}

static void
add_format(struct dec *d, cJSON *chat, const cJSON *schema)
{
	cJSON *rf = px_dec_put(&d->px, chat, "response_format",
	    cJSON_CreateObject());
	cJSON *js;

	px_dec_put_str(&d->px, rf, "type", "json_schema");
	js = px_dec_put(&d->px, rf, "json_schema", cJSON_CreateObject());
	px_dec_put_str(&d->px, js, "name", "output");
	px_dec_put(&d->px, js, "schema", cJSON_Duplicate(schema, 1));
	px_dec_put(&d->px, js, "strict", cJSON_CreateTrue());
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
	old = px_dec_path_key(&d->px, "output_config");
	rc = px_dec_get(&d->px, oc, "format", PX_T_OBJ, &f);
	if (rc == PX_OK && f != NULL) {
		px_dec_path_key(&d->px, "format");
		rc = px_dec_get(&d->px, f, "type", PX_T_STR | PX_T_REQ, &type);
		if (rc == PX_OK && strcmp(type->valuestring,
		    "json_schema") != 0)
			rc = px_dec_fail_got(&d->px, "type", "\"json_schema\"",
			    type);
		if (rc == PX_OK)
			rc = px_dec_get(&d->px, f, "schema",
			    PX_T_OBJ | PX_T_REQ, &schema);
	}
	px_dec_path_cut(&d->px, old);
	if (rc == PX_OK && schema != NULL)
		add_format(d, chat, schema);
	return rc == PX_OK && d->px.oom ? PX_ENOMEM : rc;
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
	enum px_err rc = px_dec_get(&d->px, root, "metadata", PX_T_OBJ, &md);

	if (rc == PX_OK && md != NULL) {
		size_t old = px_dec_path_key(&d->px, "metadata");

		rc = px_dec_get(&d->px, md, "user_id", PX_T_STR, &uid);
		px_dec_path_cut(&d->px, old);
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
	px_dec_put_str(&d->px, chat, "user", s);
	return d->px.oom ? PX_ENOMEM : PX_OK;
}

/* --- decode --------------------------------------------------------------- */

static enum px_err
decode_root(struct dec *d, const cJSON *root, cJSON *chat)
{
	const cJSON *sys = NULL;
	enum px_err rc = decode_head(d, root, chat);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, root, "system", PX_T_STR | PX_T_ARR,
		    &sys);
	if (rc == PX_OK) {
		d->msgs = px_dec_put(&d->px, chat, "messages",
		    cJSON_CreateArray());
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
	if (rc == PX_OK && d->px.oom)
		rc = PX_ENOMEM;
	if (rc == PX_OK)
		rc = px_dialect_repair(d->msgs, "messages", d->px.err);
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

	memset(&d, 0, sizeof(d));
	px_dec_init(&d.px, err, PX_DEC_PAREN);
	d.st = st;
	d.count = count;
	px_buf_init(&d.text, TEXT_MAX);
	px_buf_init(&d.aux, TEXT_MAX);
	d.join = &d.text;
	d.sep = "";
	px_buf_reset(chat);
	rc = px_dec_parse(&d.px, body, len, values_cap(ctx), &root);
	if (rc == PX_OK) {
		out = cJSON_CreateObject();
		rc = out != NULL ? decode_root(&d, root, out) : PX_ENOMEM;
	}
	if (rc == PX_OK)
		rc = px_json_print(out, chat);
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

enum px_err
px_messages_decode(const char *body, size_t len, const struct px_dctx *ctx,
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
