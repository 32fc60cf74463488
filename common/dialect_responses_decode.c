/*
 * dialect_responses_decode.c -- the OpenAI Responses request (POST
 * /v1/responses) as the canonical chat request (issue 10).
 * Owns: the Responses request rules (input items, parts, tools,
 * tool_choice, text.format, reasoning, the stateless refusals) with errors
 * named in Responses terms ("input[2].content[0].type"), and the request
 * fields every response object echoes (st->echo).
 * Never: I/O, clocks, randomness or logging; forwards what chat upstreams
 * reject (store, include, metadata, reasoning items and their
 * encrypted_content, hosted tools); the reply side (dialect_responses.c).
 * Load: one parse with cJSON, one chat tree built and printed per request.
 */
#include "dialect_responses_int.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "decoder.h"
#include "jsonraw.h"
#include "validate.h"

#define USER_MAX	64	/* chat "user": OpenAI's length limit */
#define NAME_MAX_LEN	64	/* chat tool names: ^[a-zA-Z0-9_-]{1,64}$ */
#define T_NAME	(PX_T_STR | PX_T_REQ | PX_T_FULL)	/* ids and names */

/* --- decode state ------------------------------------------------------- */

struct dec {
	struct px_dec     px;		/* path, terse errors, sticky oom */
	const cJSON      *root;		/* the client's body */
	cJSON            *chat;		/* the canonical request being built */
	cJSON            *msgs;		/* chat.messages */
	cJSON            *pending;	/* assistant message being gathered */
	cJSON            *tools;	/* chat.tools being filled */
	struct px_dstate *st;
	const struct px_dctx *ctx;
	struct px_buf     tmp;		/* joined texts */
	unsigned          ntools;	/* chat tools kept */
};

/* j when it is an array, else NULL (for cJSON_ArrayForEach). */
static const cJSON *
array_or_null(const cJSON *j)
{
	return cJSON_IsArray(j) ? j : NULL;
}

/* Bytes of a client string to echo in an error ("%.*s"): PX_DEC_ECHO cut
 * on a character, as decoder.h promises, so the message stays UTF-8. */
static int
echo_len(const char *s)
{
	return (int)px_dec_utf8_cut(s, PX_DEC_ECHO);
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

/* --- content parts ------------------------------------------------------ */

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

/* The part's kind; a 400 at .type for a type this proxy cannot map. */
static enum px_err
part_kind(struct dec *d, const cJSON *p, enum part *k)
{
	const cJSON *t;
	int i;
	enum px_err rc = px_dec_check(&d->px, NULL, p, PX_T_OBJ);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, p, "type", PX_T_STR | PX_T_REQ, &t);
	if (rc != PX_OK)
		return rc;
	i = px_dec_index(part_names, t->valuestring);
	if (i >= 0) {
		*k = (enum part)i;
		return PX_OK;
	}
	return px_dec_failf(&d->px, "type", "expected one of input_text, "
	    "input_image, input_file, output_text, refusal; got \"%.*s\"",
	    echo_len(t->valuestring), t->valuestring);
}

/* The text of a text-like part (input_text, output_text, refusal). */
static enum px_err
part_text(struct dec *d, const cJSON *p, enum part k, const char **s)
{
	return px_dec_get_str(&d->px, p, k == P_REFUSAL ? "refusal" : "text",
	    PX_T_REQ, s);
}

/* An image or a file where only text fits. */
static enum px_err
media_refused(struct dec *d, enum part k)
{
	return px_dec_failf(&d->px, "type", "%s is only allowed in user "
	    "messages", part_names[k]);
}

/* input_image -> {type:image_url, image_url:{url, detail}}; file ids need
 * the Files API, which a chat upstream does not have. */
static enum px_err
part_image(struct dec *d, const cJSON *p, cJSON *arr)
{
	static const char *const details[] = { "auto", "low", "high",
		"original", NULL };
	const cJSON *url, *fid, *det;
	cJSON *o, *iu;
	int k = 0;
	enum px_err rc = px_dec_get(&d->px, p, "file_id", PX_T_STR, &fid);

	if (rc == PX_OK && fid != NULL)
		return px_dec_fail(&d->px, "file_id", "file ids are not "
		    "supported (no Files API behind this proxy); send "
		    "image_url");
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, p, "image_url", T_NAME, &url);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, p, "detail", PX_T_STR, &det);
	if (rc == PX_OK && det != NULL)
		rc = px_dec_pick(&d->px, "detail", det, details, &k);
	if (rc != PX_OK)
		return rc;
	o = px_dec_put(&d->px, arr, NULL, cJSON_CreateObject());
	px_dec_put_str(&d->px, o, "type", "image_url");
	iu = px_dec_put(&d->px, o, "image_url", cJSON_CreateObject());
	px_dec_put_dup(&d->px, iu, "url", url);
	px_dec_put_str(&d->px, iu, "detail", k == 3 ? "auto" : details[k]);
	return PX_OK;
}

/* input_file with file_data -> chat {type:file, file:{file_data,
 * filename}} (OpenRouter reads it); file_id/file_url need storage. */
static enum px_err
part_file(struct dec *d, const cJSON *p, cJSON *arr)
{
	const cJSON *data, *name;
	cJSON *o, *f;
	enum px_err rc = px_dec_get(&d->px, p, "file_data", PX_T_STR, &data);

	if (rc == PX_OK && data == NULL)
		return px_dec_fail(&d->px, "file_data", "required: file_id and "
		    "file_url are not supported (no Files API behind this "
		    "proxy)");
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, p, "filename", PX_T_STR, &name);
	if (rc != PX_OK)
		return rc;
	o = px_dec_put(&d->px, arr, NULL, cJSON_CreateObject());
	px_dec_put_str(&d->px, o, "type", "file");
	f = px_dec_put(&d->px, o, "file", cJSON_CreateObject());
	px_dec_put_dup(&d->px, f, "file_data", data);
	if (name != NULL)
		px_dec_put_dup(&d->px, f, "filename", name);
	return PX_OK;
}

/* One part of a user or system message into the chat parts arr; empty
 * texts are dropped, images and files only fit user messages. */
static enum px_err
input_part(struct dec *d, const cJSON *p, enum role r, cJSON *arr)
{
	enum part k = P_INPUT_TEXT;
	const char *s;
	cJSON *o;
	enum px_err rc = part_kind(d, p, &k);

	if (rc != PX_OK)
		return rc;
	if ((k == P_IMAGE || k == P_FILE) && r != R_USER)
		return media_refused(d, k);
	if (k == P_IMAGE)
		return part_image(d, p, arr);
	if (k == P_FILE)
		return part_file(d, p, arr);
	rc = part_text(d, p, k, &s);
	if (rc != PX_OK || *s == '\0')
		return rc;
	o = px_dec_put(&d->px, arr, NULL, cJSON_CreateObject());
	px_dec_put_str(&d->px, o, "type", "text");
	px_dec_put_str(&d->px, o, "text", s);
	return PX_OK;
}

/* --- input items -------------------------------------------------------- */

static void
flush(struct dec *d)
{
	if (d->pending != NULL)
		px_dec_put(&d->px, d->msgs, NULL, d->pending);
	d->pending = NULL;
}

/* The assistant message calls and replayed text gather into. */
static cJSON *
pending(struct dec *d)
{
	if (d->pending == NULL) {
		d->pending = cJSON_CreateObject();
		if (d->pending == NULL) {
			d->px.oom = 1;
			return NULL;
		}
		px_dec_put_str(&d->px, d->pending, "role", "assistant");
		px_dec_put(&d->px, d->pending, "content", cJSON_CreateNull());
	}
	return d->pending;
}

/* The parts of content into arr, with the path at content[j]. */
static enum px_err
input_parts(struct dec *d, const cJSON *content, enum role r, cJSON *arr)
{
	const cJSON *p;
	size_t old = px_dec_path_add(&d->px, "content", 0), mark, j = 0;
	enum px_err rc = PX_OK;

	cJSON_ArrayForEach(p, array_or_null(content)) {
		mark = px_dec_path_add(&d->px, NULL, j++);
		rc = input_part(d, p, r, arr);
		px_dec_path_cut(&d->px, mark);
		if (rc != PX_OK)
			break;
	}
	px_dec_path_cut(&d->px, old);
	return rc;
}

/* user/system/developer message: string content as is, parts mapped. */
static enum px_err
item_input(struct dec *d, const cJSON *content, enum role r)
{
	cJSON *m, *arr;
	enum px_err rc;

	flush(d);
	if (cJSON_IsString(content))
		arr = cJSON_Duplicate(content, 0);
	else
		arr = cJSON_CreateArray();
	if (arr == NULL)
		return PX_ENOMEM;
	rc = input_parts(d, content, r, arr);
	if (rc != PX_OK || (cJSON_IsArray(arr) && arr->child == NULL)) {
		cJSON_Delete(arr);	/* an error, or nothing left to send */
		return rc;
	}
	m = px_dec_put(&d->px, d->msgs, NULL, cJSON_CreateObject());
	px_dec_put_str(&d->px, m, "role", r == R_USER ? "user" : "system");
	px_dec_put(&d->px, m, "content", arr);
	return PX_OK;
}

/* The text of a replayed assistant part; media are refused. */
static enum px_err
assistant_part(struct dec *d, const cJSON *p, const char **s)
{
	enum part k = P_OUTPUT_TEXT;
	enum px_err rc = part_kind(d, p, &k);

	*s = "";
	if (rc == PX_OK && (k == P_IMAGE || k == P_FILE))
		return media_refused(d, k);
	return rc == PX_OK ? part_text(d, p, k, s) : rc;
}

/* The texts of replayed assistant parts appended to tmp. */
static enum px_err
assistant_parts(struct dec *d, const cJSON *content)
{
	const cJSON *p;
	const char *s;
	size_t old = px_dec_path_add(&d->px, "content", 0), mark, j = 0;
	enum px_err rc = PX_OK;

	cJSON_ArrayForEach(p, array_or_null(content)) {
		mark = px_dec_path_add(&d->px, NULL, j++);
		rc = assistant_part(d, p, &s);
		px_dec_path_cut(&d->px, mark);
		if (rc == PX_OK)
			rc = tmp_add(d, s);
		if (rc != PX_OK)
			break;
	}
	px_dec_path_cut(&d->px, old);
	return rc;
}

/* Replayed assistant text joins the pending assistant message (after a
 * "\n" when it already has text); a message with calls is closed first,
 * so calls after this text attach to it (§A.4.2 rule 2). */
static enum px_err
item_assistant(struct dec *d, const cJSON *content)
{
	const cJSON *old;
	cJSON *text;
	size_t mark;
	enum px_err rc = PX_OK;

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
	if (rc == PX_OK)
		rc = assistant_parts(d, content);
	if (rc != PX_OK || d->tmp.len == mark)
		return rc;
	text = cJSON_CreateString(tmp_str(d));
	if (text == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(
	    pending(d), "content", text)) {
		cJSON_Delete(text);
		d->px.oom = 1;
	}
	return PX_OK;
}

static enum px_err
item_message(struct dec *d, const cJSON *it)
{
	const cJSON *role, *content;
	int r = 0;
	enum px_err rc = px_dec_get(&d->px, it, "role", PX_T_STR | PX_T_REQ,
	    &role);

	if (rc == PX_OK)
		rc = px_dec_pick(&d->px, "role", role, role_names, &r);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, it, "content",
		    PX_T_STR | PX_T_ARR | PX_T_REQ, &content);
	if (rc != PX_OK)
		return rc;
	if (r == R_ASSISTANT)
		return item_assistant(d, content);
	return item_input(d, content, (enum role)r);
}

/* One more tool call on the pending assistant message: consecutive calls
 * become one message with several tool_calls (parallel calls). */
static void
add_call(struct dec *d, const cJSON *id, const cJSON *name, const char *args)
{
	cJSON *a = pending(d), *calls, *tc, *fn;

	calls = cJSON_GetObjectItemCaseSensitive(a, "tool_calls");
	if (calls == NULL)
		calls = px_dec_put(&d->px, a, "tool_calls",
		    cJSON_CreateArray());
	tc = px_dec_put(&d->px, calls, NULL, cJSON_CreateObject());
	px_dec_put_dup(&d->px, tc, "id", id);
	px_dec_put_str(&d->px, tc, "type", "function");
	fn = px_dec_put(&d->px, tc, "function", cJSON_CreateObject());
	px_dec_put_dup(&d->px, fn, "name", name);
	px_dec_put_str(&d->px, fn, "arguments", args);
}

/* A replayed call's call_id and name, and its string member argkey. */
static enum px_err
call_fields(struct dec *d, const cJSON *it, const char *argkey,
    const cJSON **id, const cJSON **name, const cJSON **arg)
{
	enum px_err rc = px_dec_get(&d->px, it, "call_id", T_NAME, id);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, it, "name", T_NAME, name);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, it, argkey, PX_T_STR | PX_T_REQ, arg);
	return rc;
}

static enum px_err
item_call(struct dec *d, const cJSON *it)
{
	const cJSON *id, *name, *args;
	enum px_err rc = call_fields(d, it, "arguments", &id, &name, &args);

	if (rc == PX_OK)
		add_call(d, id, name, args->valuestring);
	return rc;
}

/* custom_tool_call: arguments {"input": input}, the wrapping the custom
 * tool's function declaration asks for. */
static enum px_err
item_custom_call(struct dec *d, const cJSON *it)
{
	const cJSON *id, *name, *input;
	enum px_err rc = call_fields(d, it, "input", &id, &name, &input);

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
output_media(struct dec *d, const cJSON *p, enum part k,
    const char *call_id, cJSON *user)
{
	char label[160];
	cJSON *o = px_dec_put(&d->px, user, NULL, cJSON_CreateObject());

	/* call_id cut on a character: the label goes into the canonical
	 * request, which px_validate_chat refuses when it is not UTF-8 */
	snprintf(label, sizeof(label), "%s returned by tool %.*s:",
	    k == P_IMAGE ? "Image" : "File",
	    (int)px_dec_utf8_cut(call_id, 100), call_id);
	px_dec_put_str(&d->px, o, "type", "text");
	px_dec_put_str(&d->px, o, "text", label);
	return k == P_IMAGE ? part_image(d, p, user) : part_file(d, p, user);
}

/* A text part of a tool's output, joined to tmp with "\n". */
static enum px_err
output_text(struct dec *d, const cJSON *p, enum part k)
{
	const char *s = "";
	enum px_err rc = part_text(d, p, k, &s);

	if (rc == PX_OK && *s != '\0' && d->tmp.len > 0)
		rc = tmp_add(d, "\n");
	return rc == PX_OK ? tmp_add(d, s) : rc;
}

/* One part of function_call_output.output: text into tmp, media into
 * user. */
static enum px_err
output_part(struct dec *d, const cJSON *p, const char *call_id,
    cJSON *user)
{
	enum part k = P_INPUT_TEXT;
	enum px_err rc = part_kind(d, p, &k);

	if (rc == PX_OK && (k == P_IMAGE || k == P_FILE))
		rc = output_media(d, p, k, call_id, user);
	else if (rc == PX_OK)
		rc = output_text(d, p, k);
	return rc;
}

/* function_call_output.output as parts, with the path at output[j]. */
static enum px_err
output_parts(struct dec *d, const cJSON *out, const char *call_id,
    cJSON *user)
{
	const cJSON *p;
	size_t old = px_dec_path_add(&d->px, "output", 0), mark, j = 0;
	enum px_err rc = PX_OK;

	px_buf_reset(&d->tmp);
	cJSON_ArrayForEach(p, out) {
		mark = px_dec_path_add(&d->px, NULL, j++);
		rc = output_part(d, p, call_id, user);
		px_dec_path_cut(&d->px, mark);
		if (rc != PX_OK)
			break;
	}
	px_dec_path_cut(&d->px, old);
	return rc;
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
known_call(struct dec *d, const cJSON *id)
{
	const cJSON *m;

	if (has_call(d->pending, id->valuestring))
		return PX_OK;
	cJSON_ArrayForEach(m, d->msgs)
		if (has_call(m, id->valuestring))
			return PX_OK;
	return px_dec_failf(&d->px, "call_id", "no earlier function_call or "
	    "custom_tool_call has call_id \"%.*s\"", echo_len(id->valuestring),
	    id->valuestring);
}

/* function_call_output / custom_tool_call_output -> a role:"tool" message
 * (px_dialect_repair later puts it right after its call). */
static enum px_err
item_output(struct dec *d, const cJSON *it)
{
	const cJSON *id, *out;
	cJSON *m, *user;
	enum px_err rc = px_dec_get(&d->px, it, "call_id", T_NAME, &id);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, it, "output",
		    PX_T_STR | PX_T_ARR | PX_T_REQ, &out);
	if (rc == PX_OK)
		rc = known_call(d, id);
	if (rc != PX_OK)
		return rc;
	flush(d);
	user = cJSON_CreateArray();
	if (user == NULL)
		return PX_ENOMEM;
	if (cJSON_IsArray(out))
		rc = output_parts(d, out, id->valuestring, user);
	if (rc != PX_OK) {
		cJSON_Delete(user);
		return rc;
	}
	m = px_dec_put(&d->px, d->msgs, NULL, cJSON_CreateObject());
	px_dec_put_str(&d->px, m, "role", "tool");
	px_dec_put_dup(&d->px, m, "tool_call_id", id);
	px_dec_put_str(&d->px, m, "content", cJSON_IsString(out) ?
	    out->valuestring : tmp_str(d));
	if (user->child == NULL) {
		cJSON_Delete(user);
		return PX_OK;
	}
	m = px_dec_put(&d->px, d->msgs, NULL, cJSON_CreateObject());
	px_dec_put_str(&d->px, m, "role", "user");
	px_dec_put(&d->px, m, "content", user);
	return PX_OK;
}

/* Replayed reasoning: dropped, pending message kept open (Codex puts
 * reasoning between a user message and the assistant's text and calls);
 * its encrypted_content belongs to api.openai.com, never to a chat
 * upstream. */
static enum px_err
item_skip(struct dec *d, const cJSON *it)
{
	(void)d;
	(void)it;
	return PX_OK;
}

static const struct item_rule {
	const char *type;
	enum px_err (*fn)(struct dec *, const cJSON *);
} item_rules[] = {
	{ "message",			item_message },
	{ "function_call",		item_call },
	{ "function_call_output",	item_output },
	{ "custom_tool_call",		item_custom_call },
	{ "custom_tool_call_output",	item_output },
	{ "reasoning",			item_skip },
};

static enum px_err
item_unknown(struct dec *d, const char *type)
{
	if (strcmp(type, "item_reference") == 0)
		return px_dec_fail(&d->px, "type", "item_reference is not "
		    "supported: this proxy is stateless; send the items "
		    "themselves");
	return px_dec_failf(&d->px, "type", "item type \"%.*s\" is not "
	    "supported (only message, function_call, function_call_output, "
	    "custom_tool_call, custom_tool_call_output and reasoning)",
	    echo_len(type), type);
}

/* One input item; type defaults to "message" (EasyInputMessage). */
static enum px_err
dec_item(void *arg, const cJSON *it)
{
	struct dec *d = arg;
	const cJSON *type;
	const char *t;
	size_t k;
	enum px_err rc = px_dec_check(&d->px, NULL, it, PX_T_OBJ);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, it, "type", PX_T_STR, &type);
	if (rc != PX_OK)
		return rc;
	t = type != NULL ? type->valuestring : "message";
	for (k = 0; k < sizeof(item_rules) / sizeof(item_rules[0]); k++)
		if (strcmp(t, item_rules[k].type) == 0)
			return item_rules[k].fn(d, it);
	return item_unknown(d, t);
}

/* role + a copy of content, appended to the messages. */
static void
add_msg(struct dec *d, const char *role, const cJSON *content)
{
	cJSON *m = px_dec_put(&d->px, d->msgs, NULL, cJSON_CreateObject());

	px_dec_put_str(&d->px, m, "role", role);
	px_dec_put_dup(&d->px, m, "content", content);
}

/* instructions and input -> messages, then the history repair. */
static enum px_err
dec_messages(struct dec *d)
{
	const cJSON *ins, *in;
	enum px_err rc = px_dec_get(&d->px, d->root, "instructions", PX_T_STR,
	    &ins);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, d->root, "input",
		    PX_T_STR | PX_T_ARR | PX_T_REQ, &in);
	if (rc != PX_OK)
		return rc;
	d->msgs = px_dec_put(&d->px, d->chat, "messages", cJSON_CreateArray());
	if (ins != NULL && ins->valuestring[0] != '\0')
		add_msg(d, "system", ins);
	if (cJSON_IsString(in))
		add_msg(d, "user", in);
	else
		rc = px_dec_each(&d->px, "input", in, dec_item, d);
	if (rc != PX_OK)
		return rc;
	flush(d);
	if (d->px.oom)
		return PX_ENOMEM;
	if (cJSON_GetArraySize(d->msgs) == 0)
		return px_dec_fail(&d->px, "input", "expected at least one "
		    "message");
	return px_dialect_repair(d->msgs, "input", d->px.err);
}

/* --- tools -------------------------------------------------------------- */

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
tool_name(struct dec *d, const cJSON *t, const cJSON **name)
{
	const char *s;
	size_t n;
	enum px_err rc = px_dec_get(&d->px, t, "name", T_NAME, name);

	if (rc != PX_OK)
		return rc;
	s = (*name)->valuestring;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-");
	if (n <= NAME_MAX_LEN && s[n] == '\0')
		return PX_OK;
	return px_dec_fail(&d->px, "name", "expected 1 to 64 characters of "
	    "a-z, A-Z, 0-9, _ or -");
}

/* A chat function tool; its function object is returned for filling. */
static cJSON *
chat_tool(struct dec *d, const cJSON *name)
{
	cJSON *t = px_dec_put(&d->px, d->tools, NULL, cJSON_CreateObject());
	cJSON *fn;

	px_dec_put_str(&d->px, t, "type", "function");
	fn = px_dec_put(&d->px, t, "function", cJSON_CreateObject());
	px_dec_put_dup(&d->px, fn, "name", name);
	d->ntools++;
	return fn;
}

/* Flat function tool -> nested; null parameters/strict omitted, newer
 * fields (defer_loading, output_schema, ...) dropped. */
static enum px_err
tool_function(struct dec *d, const cJSON *t)
{
	const cJSON *name, *desc = NULL, *params = NULL, *strict = NULL;
	cJSON *fn;
	enum px_err rc = tool_name(d, t, &name);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, t, "description", PX_T_STR, &desc);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, t, "parameters", PX_T_OBJ, &params);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, t, "strict", PX_T_BOOL, &strict);
	if (rc != PX_OK)
		return rc;
	fn = chat_tool(d, name);
	if (desc != NULL)
		px_dec_put_dup(&d->px, fn, "description", desc);
	if (params != NULL)
		px_dec_put_dup(&d->px, fn, "parameters", params);
	if (strict != NULL)
		px_dec_put_dup(&d->px, fn, "strict", strict);
	return PX_OK;
}

/* A custom tool's format, at .format: text, or a grammar (*syn, *def). */
static enum px_err
custom_format(struct dec *d, const cJSON *fmt, const cJSON **syn,
    const cJSON **def)
{
	static const char *const types[] = { "text", "grammar", NULL };
	const cJSON *type;
	int k = 0;
	size_t old = px_dec_path_add(&d->px, "format", 0);
	enum px_err rc = px_dec_get(&d->px, fmt, "type", PX_T_STR | PX_T_REQ,
	    &type);

	if (rc == PX_OK)
		rc = px_dec_pick(&d->px, "type", type, types, &k);
	if (rc == PX_OK && k == 1)
		rc = px_dec_get(&d->px, fmt, "syntax", PX_T_STR | PX_T_REQ,
		    syn);
	if (rc == PX_OK && k == 1)
		rc = px_dec_get(&d->px, fmt, "definition",
		    PX_T_STR | PX_T_REQ, def);
	px_dec_path_cut(&d->px, old);
	return rc;
}

/* A custom tool's description with its grammar, the only way a chat model
 * learns the input format: "<desc>\n\nInput format (lark):\n<def>". */
static enum px_err
custom_desc(struct dec *d, const cJSON *t)
{
	const cJSON *desc, *fmt, *syn = NULL, *def = NULL;
	enum px_err rc = px_dec_get(&d->px, t, "description", PX_T_STR,
	    &desc);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, t, "format", PX_T_OBJ, &fmt);
	if (rc == PX_OK && fmt != NULL)
		rc = custom_format(d, fmt, &syn, &def);
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
tool_custom(struct dec *d, const cJSON *t)
{
	const cJSON *name;
	cJSON *fn;
	struct px_dstate *st = d->st;
	enum px_err rc = tool_name(d, t, &name);

	if (rc == PX_OK)
		rc = custom_desc(d, t);
	if (rc != PX_OK)
		return rc;
	if (st->ncustom >= PX_DCUSTOM)
		return px_dec_failf(&d->px, NULL, "at most %d custom tools are "
		    "supported", PX_DCUSTOM);
	snprintf(st->custom[st->ncustom++], PX_DNAME, "%s", name->valuestring);
	fn = chat_tool(d, name);
	if (d->tmp.len > 0)
		px_dec_put_str(&d->px, fn, "description", tmp_str(d));
	px_dec_put(&d->px, fn, "parameters", cJSON_Parse("{\"type\":"
	    "\"object\",\"properties\":{\"input\":{\"type\":\"string\"}},"
	    "\"required\":[\"input\"]}"));
	return PX_OK;
}

static enum px_err
dec_tool(void *arg, const cJSON *t)
{
	struct dec *d = arg;
	const cJSON *type;
	const char *s;
	enum px_err rc = px_dec_check(&d->px, NULL, t, PX_T_OBJ);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, t, "type", PX_T_STR | PX_T_REQ, &type);
	if (rc != PX_OK)
		return rc;
	s = type->valuestring;
	if (strcmp(s, "function") == 0)
		return tool_function(d, t);
	if (strcmp(s, "custom") == 0)
		return tool_custom(d, t);
	if (tool_dropped(s))
		return PX_OK;
	if (strcmp(s, "file_search") == 0)
		return px_dec_fail(&d->px, "type", "file_search is not "
		    "supported (no vector stores behind this proxy)");
	return px_dec_failf(&d->px, "type", "tool type \"%.*s\" is not "
	    "supported", echo_len(s), s);
}

static enum px_err
dec_tools(struct dec *d)
{
	const cJSON *in;
	cJSON *tools;
	enum px_err rc = px_dec_get(&d->px, d->root, "tools", PX_T_ARR, &in);

	if (rc != PX_OK || in == NULL)
		return rc;
	tools = cJSON_CreateArray();
	if (tools == NULL)
		return PX_ENOMEM;
	d->tools = tools;
	rc = px_dec_each(&d->px, "tools", in, dec_tool, d);
	d->tools = NULL;
	if (rc != PX_OK || tools->child == NULL) {
		cJSON_Delete(tools);	/* an error, or all were dropped */
		return rc;
	}
	px_dec_put(&d->px, d->chat, "tools", tools);
	return PX_OK;
}

/* --- tool_choice -------------------------------------------------------- */

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
choice_named(struct dec *d, const cJSON *c, enum px_err *rc)
{
	static const char *const types[] = { "function", "custom", NULL };
	const cJSON *type, *name;
	cJSON *o;
	int k;

	*rc = px_dec_get(&d->px, c, "type", PX_T_STR | PX_T_REQ, &type);
	if (*rc == PX_OK)
		*rc = px_dec_pick(&d->px, "type", type, types, &k);
	if (*rc == PX_OK)
		*rc = px_dec_get(&d->px, c, "name", T_NAME, &name);
	if (*rc == PX_OK && !has_tool(d, name->valuestring))
		*rc = px_dec_failf(&d->px, "name", "no function or custom "
		    "tool named \"%.*s\" in tools", echo_len(name->valuestring),
		    name->valuestring);
	if (*rc != PX_OK)
		return NULL;
	o = cJSON_CreateObject();
	px_dec_put_str(&d->px, o, "type", "function");
	px_dec_put_str(&d->px, px_dec_put(&d->px, o, "function",
	    cJSON_CreateObject()), "name", name->valuestring);
	return o;
}

/* allowed_tools.tools: each a named choice, into tools. */
static enum px_err
choice_list(struct dec *d, const cJSON *list, cJSON *tools)
{
	const cJSON *t;
	cJSON *e;
	size_t old = px_dec_path_add(&d->px, "tools", 0), mark, j = 0;
	enum px_err rc = PX_OK;

	cJSON_ArrayForEach(t, list) {
		mark = px_dec_path_add(&d->px, NULL, j++);
		e = NULL;
		rc = px_dec_check(&d->px, NULL, t, PX_T_OBJ);
		if (rc == PX_OK)
			e = choice_named(d, t, &rc);
		px_dec_path_cut(&d->px, mark);
		if (rc != PX_OK)
			break;
		px_dec_put(&d->px, tools, NULL, e);
	}
	px_dec_path_cut(&d->px, old);
	return rc;
}

static const char *const choice_modes[] = { "auto", "required", NULL };

/* allowed_tools: the flat Responses list -> chat's nested object. */
static cJSON *
choice_allowed(struct dec *d, const cJSON *c, enum px_err *rc)
{
	const cJSON *mode, *list;
	cJSON *o, *at;
	int k;

	*rc = px_dec_get(&d->px, c, "mode", PX_T_STR | PX_T_REQ, &mode);
	if (*rc == PX_OK)
		*rc = px_dec_pick(&d->px, "mode", mode, choice_modes, &k);
	if (*rc == PX_OK)
		*rc = px_dec_get(&d->px, c, "tools", PX_T_ARR | PX_T_REQ,
		    &list);
	if (*rc != PX_OK)
		return NULL;
	o = cJSON_CreateObject();
	px_dec_put_str(&d->px, o, "type", "allowed_tools");
	at = px_dec_put(&d->px, o, "allowed_tools", cJSON_CreateObject());
	px_dec_put_dup(&d->px, at, "mode", mode);
	*rc = choice_list(d, list, px_dec_put(&d->px, at, "tools",
	    cJSON_CreateArray()));
	return o;
}

/* The object form of tool_choice, with the path at tool_choice. */
static cJSON *
choice_object(struct dec *d, const cJSON *c, enum px_err *rc)
{
	const cJSON *type;
	const char *s;

	*rc = px_dec_get(&d->px, c, "type", PX_T_STR | PX_T_REQ, &type);
	if (*rc != PX_OK)
		return NULL;
	s = type->valuestring;
	if (strcmp(s, "function") == 0 || strcmp(s, "custom") == 0)
		return choice_named(d, c, rc);
	if (strcmp(s, "allowed_tools") == 0)
		return choice_allowed(d, c, rc);
	*rc = px_dec_failf(&d->px, "type", "\"%.*s\" names a hosted tool "
	    "this proxy does not offer", echo_len(s), s);
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
	size_t old;
	enum px_err rc = px_dec_get(&d->px, d->root, "tool_choice",
	    PX_T_STR | PX_T_OBJ, &c);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, d->root, "parallel_tool_calls",
		    PX_T_BOOL, &par);
	if (rc != PX_OK)
		return rc;
	if (cJSON_IsString(c) && px_dec_index(words, c->valuestring) < 0)
		return px_dec_fail(&d->px, "tool_choice", "expected one of "
		    "none, auto, required, or an object");
	if (cJSON_IsString(c)) {
		o = cJSON_Duplicate(c, 0);
	} else if (c != NULL) {
		old = px_dec_path_add(&d->px, "tool_choice", 0);
		o = choice_object(d, c, &rc);
		px_dec_path_cut(&d->px, old);
	}
	if (rc != PX_OK || d->ntools == 0) {
		cJSON_Delete(o);
		return rc;
	}
	if (c != NULL)
		px_dec_put(&d->px, d->chat, "tool_choice", o);
	if (par != NULL)
		px_dec_put_dup(&d->px, d->chat, "parallel_tool_calls", par);
	return PX_OK;
}

/* --- the other fields --------------------------------------------------- */

/* A json_schema format, flat -> nested, at text.format. */
static enum px_err
format_schema(struct dec *d, const cJSON *fmt)
{
	const cJSON *name, *schema, *strict, *desc;
	cJSON *rf, *js;
	enum px_err rc = px_dec_get(&d->px, fmt, "name", T_NAME, &name);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, fmt, "schema", PX_T_OBJ | PX_T_REQ,
		    &schema);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, fmt, "strict", PX_T_BOOL, &strict);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, fmt, "description", PX_T_STR, &desc);
	if (rc != PX_OK)
		return rc;
	rf = px_dec_put(&d->px, d->chat, "response_format",
	    cJSON_CreateObject());
	px_dec_put_str(&d->px, rf, "type", "json_schema");
	js = px_dec_put(&d->px, rf, "json_schema", cJSON_CreateObject());
	px_dec_put_dup(&d->px, js, "name", name);
	px_dec_put_dup(&d->px, js, "schema", schema);
	if (strict != NULL)
		px_dec_put_dup(&d->px, js, "strict", strict);
	if (desc != NULL)
		px_dec_put_dup(&d->px, js, "description", desc);
	return PX_OK;
}

/* text.format, at text.format: "text" (the default) is not sent. */
static enum px_err
format_object(struct dec *d, const cJSON *fmt)
{
	static const char *const types[] = { "text", "json_object",
		"json_schema", NULL };
	const cJSON *type;
	cJSON *rf;
	int k = 0;
	enum px_err rc = px_dec_get(&d->px, fmt, "type", PX_T_STR | PX_T_REQ,
	    &type);

	if (rc == PX_OK)
		rc = px_dec_pick(&d->px, "type", type, types, &k);
	if (rc != PX_OK || k == 0)
		return rc;
	if (k == 2)
		return format_schema(d, fmt);
	rf = px_dec_put(&d->px, d->chat, "response_format",
	    cJSON_CreateObject());
	px_dec_put_str(&d->px, rf, "type", "json_object");
	return PX_OK;
}

/* text.format -> response_format. */
static enum px_err
dec_format(struct dec *d)
{
	const cJSON *text, *fmt = NULL;
	size_t old;
	enum px_err rc = px_dec_get(&d->px, d->root, "text", PX_T_OBJ, &text);

	if (rc != PX_OK || text == NULL)
		return rc;
	old = px_dec_path_add(&d->px, "text", 0);
	rc = px_dec_get(&d->px, text, "format", PX_T_OBJ, &fmt);
	if (rc == PX_OK && fmt != NULL) {
		px_dec_path_add(&d->px, "format", 0);
		rc = format_object(d, fmt);
	}
	px_dec_path_cut(&d->px, old);
	return rc;
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
		rc = px_dec_get(&d->px, d->root, r->key, PX_T_NUM, &it);
		if (rc != PX_OK || it == NULL)
			continue;
		v = it->valuedouble;
		/* The range test comes first: it keeps the cast defined. */
		if (v >= r->min && v <= r->max &&
		    (!r->integer || v == (double)(long long)v))
			px_dec_put(&d->px, d->chat, r->chat,
			    cJSON_CreateNumber(v));
		else
			rc = px_dec_failf(&d->px, r->key, "expected %s from "
			    "%.15g to %.15g", r->integer ? "an integer" :
			    "a number", r->min, r->max);
	}
	return rc;
}

/* reasoning.effort -> reasoning_effort; summary (or the deprecated
 * generate_summary) asks for reasoning items in the output. */
static enum px_err
dec_reasoning(struct dec *d)
{
	const cJSON *r, *effort = NULL, *sum = NULL, *gen = NULL;
	const char *e = NULL;
	size_t old;
	enum px_err rc = px_dec_get(&d->px, d->root, "reasoning", PX_T_OBJ,
	    &r);

	if (rc != PX_OK || r == NULL)
		return rc;
	old = px_dec_path_add(&d->px, "reasoning", 0);
	rc = px_dec_get(&d->px, r, "effort", PX_T_STR, &effort);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, r, "summary", PX_T_STR, &sum);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, r, "generate_summary", PX_T_STR, &gen);
	if (rc == PX_OK && (sum != NULL || gen != NULL))
		d->st->flags |= PX_DF_REASONING;
	if (rc == PX_OK && effort != NULL)
		e = px_dialect_effort(effort->valuestring);
	if (rc == PX_OK && effort != NULL && e == NULL)
		rc = px_dec_fail(&d->px, "effort", "expected one of none, "
		    "minimal, low, medium, high, xhigh, max");
	px_dec_path_cut(&d->px, old);
	if (rc == PX_OK && e != NULL)
		px_dec_put_str(&d->px, d->chat, "reasoning_effort", e);
	return rc;
}

/* user, cut to 64 bytes on a UTF-8 boundary. */
static enum px_err
dec_user(struct dec *d)
{
	const cJSON *u;
	char cut[USER_MAX + 1];
	size_t n;
	enum px_err rc = px_dec_get(&d->px, d->root, "user", PX_T_STR, &u);

	if (rc != PX_OK || u == NULL)
		return rc;
	n = px_dec_utf8_cut(u->valuestring, USER_MAX);
	memcpy(cut, u->valuestring, n);
	cut[n] = '\0';
	px_dec_put_str(&d->px, d->chat, "user", cut);
	return PX_OK;
}

/* stream; usage is always asked for (response.completed carries it). */
static enum px_err
dec_stream(struct dec *d)
{
	const cJSON *s;
	cJSON *so;
	enum px_err rc = px_dec_get(&d->px, d->root, "stream", PX_T_BOOL, &s);

	if (rc != PX_OK)
		return rc;
	d->st->stream = cJSON_IsTrue(s);
	px_dec_put(&d->px, d->chat, "stream",
	    cJSON_CreateBool(d->st->stream));
	if (d->st->stream) {
		so = px_dec_put(&d->px, d->chat, "stream_options",
		    cJSON_CreateObject());
		px_dec_put(&d->px, so, "include_usage", cJSON_CreateTrue());
	}
	return PX_OK;
}

/* Fields only echoed (never sent upstream): their kinds, so the echo is
 * well-formed. */
static enum px_err
dec_echoed(struct dec *d)
{
	const cJSON *it;
	enum px_err rc = px_dec_get(&d->px, d->root, "store", PX_T_BOOL, &it);

	if (rc == PX_OK)
		rc = px_dec_get(&d->px, d->root, "metadata", PX_T_OBJ, &it);
	if (rc == PX_OK)
		rc = px_dec_get(&d->px, d->root, "truncation", PX_T_STR, &it);
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
			return px_dec_fail(&d->px, stateful[i].key,
			    stateful[i].why);
	}
	return PX_OK;
}

static enum px_err
dec_model(struct dec *d)
{
	const cJSON *m;
	enum px_err rc = px_dec_get(&d->px, d->root, "model", T_NAME, &m);

	if (rc != PX_OK)
		return rc;
	if (strlen(m->valuestring) >= sizeof(d->st->model))
		return px_dec_failf(&d->px, "model", "longer than %zu bytes",
		    sizeof(d->st->model) - 1);
	snprintf(d->st->model, sizeof(d->st->model), "%s", m->valuestring);
	px_dec_put_dup(&d->px, d->chat, "model", m);
	return PX_OK;
}

/* --- the echo and the entry point --------------------------------------- */

/* e[key] = the request's value, else def (owned either way). */
static void
echo_or(struct dec *d, cJSON *e, const char *key, cJSON *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d->root, key);

	if (v != NULL && !cJSON_IsNull(v)) {
		cJSON_Delete(def);
		px_dec_put_dup(&d->px, e, key, v);
	} else {
		px_dec_put(&d->px, e, key, def);
	}
}

/* reasoning {effort, summary} and text with its format (§A.2 defaults). */
static void
echo_objects(struct dec *d, cJSON *e)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(d->root,
	    "reasoning"), *v;
	cJSON *o = px_dec_put(&d->px, e, "reasoning", cJSON_CreateObject());
	cJSON *t;

	v = cJSON_GetObjectItemCaseSensitive(r, "effort");
	px_dec_put(&d->px, o, "effort", v != NULL ? cJSON_Duplicate(v, 0) :
	    cJSON_CreateNull());
	v = cJSON_GetObjectItemCaseSensitive(r, "summary");
	px_dec_put(&d->px, o, "summary", v != NULL ? cJSON_Duplicate(v, 0) :
	    cJSON_CreateNull());
	echo_or(d, e, "text", cJSON_CreateObject());
	t = cJSON_GetObjectItemCaseSensitive(e, "text");
	v = cJSON_GetObjectItemCaseSensitive(t, "format");
	if (t != NULL && (v == NULL || cJSON_IsNull(v))) {
		cJSON_DeleteItemFromObjectCaseSensitive(t, "format");
		px_dec_put_str(&d->px, px_dec_put(&d->px, t, "format",
		    cJSON_CreateObject()), "type", "text");
	}
}

static void
echo_build(struct dec *d, cJSON *e, int with_tools)
{
	echo_or(d, e, "instructions", cJSON_CreateNull());
	echo_or(d, e, "max_output_tokens", cJSON_CreateNull());
	echo_or(d, e, "parallel_tool_calls", cJSON_CreateTrue());
	px_dec_put(&d->px, e, "previous_response_id", cJSON_CreateNull());
	echo_objects(d, e);
	px_dec_put(&d->px, e, "store", cJSON_CreateFalse());
	echo_or(d, e, "temperature", cJSON_CreateNumber(1));
	echo_or(d, e, "tool_choice", cJSON_CreateString("auto"));
	if (with_tools)
		echo_or(d, e, "tools", cJSON_CreateArray());
	else
		px_dec_put(&d->px, e, "tools", cJSON_CreateArray());
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
	if (e != NULL && !d->px.oom)
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

static enum px_err
dec_print(struct dec *d, struct px_buf *chat)
{
	px_buf_reset(chat);
	return px_json_print(d->chat, chat);
}

/* In canonical-request order: model, messages, tools, tool_choice, ... */
static enum px_err (*const dec_steps[])(struct dec *) = {
	dec_stateless, dec_model, dec_messages, dec_tools, dec_tool_choice,
	dec_format, dec_numbers, dec_reasoning, dec_user, dec_stream,
	dec_echoed, dec_echo,
};

/* The parsed body through every step, then the chat request printed. */
static enum px_err
dec_run(struct dec *d, struct px_buf *chat)
{
	size_t i;
	enum px_err rc = PX_OK;

	d->chat = cJSON_CreateObject();
	if (d->chat == NULL)
		return PX_ENOMEM;
	for (i = 0; rc == PX_OK && i < sizeof(dec_steps) /
	    sizeof(dec_steps[0]); i++) {
		rc = dec_steps[i](d);
		if (rc == PX_OK && d->px.oom)
			rc = PX_ENOMEM;
	}
	return rc == PX_OK ? dec_print(d, chat) : rc;
}

enum px_err
px_responses_decode(const char *body, size_t len, const struct px_dctx *ctx,
    struct px_dstate *st, struct px_buf *chat, struct px_verr *err)
{
	size_t max = ctx->max_values ? ctx->max_values :
	    PX_JSON_VALUES_DEFAULT;
	struct dec d;
	cJSON *root = NULL;
	enum px_err rc;

	memset(&d, 0, sizeof(d));
	px_dec_init(&d.px, err, PX_DEC_TERSE);
	d.st = st;
	d.ctx = ctx;
	px_buf_init(&d.tmp, len + 4096);
	st->ncustom = 0;
	st->flags &= ~(unsigned)PX_DF_REASONING;
	rc = px_dec_parse(&d.px, body, len, max, &root);
	d.root = root;
	if (rc == PX_OK)
		rc = dec_run(&d, chat);
	if (rc == PX_OK) {
		snprintf(st->id, sizeof(st->id), "resp_%.*s", PX_RESP_UID_MAX,
		    ctx->uid);
		st->created = ctx->now_s;
	}
	cJSON_Delete(d.pending);
	cJSON_Delete(d.chat);
	cJSON_Delete(root);
	px_buf_free(&d.tmp);
	return rc;
}
