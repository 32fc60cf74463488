/*
 * fuzz_native_request.c -- libFuzzer target for the upstream request an
 * adapter builds (px_provider.request): the native Gemini translation
 * (px_adapter() of a gemini entry with "api": "native";
 * gemini_native_request.c, gemini_native_gen.c, and for embeddings
 * gemini_native_embed.c), and the OpenAI-compatible splice of the other
 * adapters, on bodies the proxy's own checks accepted.
 * Owns: its checks and the reference they compare with, if any.
 * Never: network, files or clocks; links only the modules it fuzzes.
 * Input: line 1 "adapter op model effort" (adapter: 0 gemini native, 1
 * openrouter, 2 gemini OpenAI-compatible; op 0 chat, 1 embeddings; model:
 * 0 the body's, else one of a few Gemini ids; effort: 0 the body's
 * reasoning_effort, else "" or one of none..high); the rest the client's
 * body (an exact-size copy). Chat bodies must pass px_validate_chat,
 * embeddings bodies px_validate_embed (validate.h, embed.h); others are
 * skipped.
 * Checks: chat, native: PX_OK with the body in out, strict JSON (UTF-8),
 * an object whose "contents" is a non-empty array of {role user|model,
 * non-empty parts}, roles alternating, every part a non-empty object, a
 * text part non-empty, functionCall args and functionResponse response
 * objects, a model content's calls answered in order by the next
 * content's first parts; or PX_EBADREQ with a non-empty, NUL-terminated,
 * one-line UTF-8 message. Chat, OpenAI-compatible: PX_OK, and the body
 * sent validates again with the model asked for and, on a stream, usage
 * included (for a strict JSON body; else the model alone). Embeddings,
 * native: PX_OK with {"requests":[...]}, one
 * {"model":"models/<model>","content":{"parts":[{"text":s}]}} per input
 * string in order (outputDimensionality the dimensions), or PX_EBADREQ
 * (token ids, more than 100 inputs) with a message as above.
 */
#include <cJSON.h>

#include "embed.h"
#include "provider.h"
#include "validate.h"
#include "fuzz_util.h"

static const char *const models[] = {
	NULL, "gemini-2.5-flash", "gemini-3-pro-preview",
	"models/gemini-2.5-pro", "gemini-embedding-001", "gemini-2.5-flash-lite",
};
static const char *const efforts[] = {
	NULL, "", "none", "minimal", "low", "medium", "high",
};

static const struct px_provider *
adapter(long long pick)
{
	struct px_provider_cfg g;
	const struct px_provider *p;

	switch ((unsigned long long)pick % 3) {
	case 1:
		return px_provider_get(PX_PROV_OPENROUTER);
	case 2:
		return px_provider_get(PX_PROV_GEMINI);
	default:
		memset(&g, 0, sizeof g);
		g.provider = PX_PROV_GEMINI;
		g.api = PX_API_NATIVE;
		p = px_adapter(&g);
		FZ_CHECK(p != NULL && p->api == PX_API_NATIVE,
		    "the native adapter");
		return p;
	}
}

static const cJSON *
get(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) :
	    NULL;
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = get(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A refusal: err[cap] holds a non-empty, UTF-8 message, one line but
 * for a quoted client string. */
static void
check_refusal(const char *err, size_t cap)
{
	size_t n = strnlen(err, cap);

	FZ_CHECK(n > 0 && n < cap, "a refusal says why, terminated");
	FZ_CHECK(fz_utf8_ok(err, n), "the message is valid UTF-8");
	FZ_CHECK(fz_one_line_outside_quotes(err, n),
	    "the message is one line (but for a quoted client string)");
}

/* The number of functionCall parts of a content (they come last). */
static int
calls_of(const cJSON *c)
{
	const cJSON *p;
	int n = 0;

	cJSON_ArrayForEach(p, get(c, "parts")) {
		if (get(p, "functionCall") != NULL)
			n++;
		else
			FZ_CHECK(n == 0, "calls end a model content");
	}
	return n;
}

static void
check_part(const cJSON *p)
{
	const cJSON *fc = get(p, "functionCall"), *fr = get(p,
	    "functionResponse");
	const char *t = str(p, "text");

	FZ_CHECK(cJSON_IsObject(p) && p->child != NULL,
	    "a part is a non-empty object");
	FZ_CHECK(get(p, "text") == NULL || (t != NULL && t[0] != '\0'),
	    "a text part is a non-empty string");
	FZ_CHECK(fc == NULL || (str(fc, "name") != NULL &&
	    cJSON_IsObject(get(fc, "args"))), "functionCall: name, args {}");
	FZ_CHECK(fr == NULL || (str(fr, "name") != NULL &&
	    cJSON_IsObject(get(fr, "response"))),
	    "functionResponse: name, response {}");
}

static void
check_native_chat(const char *body, size_t len)
{
	cJSON *j;
	const cJSON *c, *p, *q;
	const char *role, *prev = NULL;
	int calls = 0, k;

	FZ_CHECK(fz_json_ok(body, len, 1), "the native body is strict JSON");
	j = cJSON_ParseWithLength(body, len);
	FZ_CHECK(cJSON_IsObject(j), "an object");
	FZ_CHECK(cJSON_IsArray(get(j, "contents")) &&
	    get(j, "contents")->child != NULL, "non-empty contents");
	cJSON_ArrayForEach(c, get(j, "contents")) {
		role = str(c, "role");
		FZ_CHECK(role != NULL && (strcmp(role, "user") == 0 ||
		    strcmp(role, "model") == 0), "role user or model");
		FZ_CHECK(prev == NULL || strcmp(prev, role) != 0,
		    "roles alternate (one content per turn)");
		FZ_CHECK(cJSON_IsArray(get(c, "parts")) &&
		    get(c, "parts")->child != NULL, "non-empty parts");
		cJSON_ArrayForEach(p, get(c, "parts")) {
			check_part(p);
		}
		if (calls > 0) {	/* answers, in the calls' order */
			p = get(c, "parts")->child;
			q = get(prev != NULL ? c->prev : NULL, "parts");
			for (q = q != NULL ? q->child : NULL; q != NULL &&
			    get(q, "functionCall") == NULL; q = q->next)
				;
			for (k = 0; k < calls; k++, p = p->next, q = q->next) {
				FZ_CHECK(p != NULL && get(p, "functionResponse")
				    != NULL, "each call answered");
				FZ_CHECK(strcmp(str(get(p, "functionResponse"),
				    "name"), str(get(q, "functionCall"),
				    "name")) == 0, "answers in the calls' order");
			}
		}
		calls = strcmp(role, "model") == 0 ? calls_of(c) : 0;
		prev = role;
	}
	cJSON_ArrayForEach(p, get(get(j, "systemInstruction"), "parts")) {
		check_part(p);
	}
	cJSON_Delete(j);
}

static void
check_native_embed(const char *body, size_t len, const cJSON *root,
    const char *model)
{
	const cJSON *in = get(root, "input"), *it, *r, *dims;
	const char *m = strncmp(model, "models/", 7) == 0 ? model + 7 : model;
	char want[256];
	cJSON *j;

	FZ_CHECK(fz_json_ok(body, len, 1), "the batch is strict JSON");
	j = cJSON_ParseWithLength(body, len);
	r = get(j, "requests");
	FZ_CHECK(cJSON_IsArray(r), "{\"requests\":[...]}");
	r = r->child;
	dims = get(root, "dimensions");
	snprintf(want, sizeof want, "models/%s", m);
	for (it = cJSON_IsArray(in) ? in->child : in; it != NULL;
	    it = cJSON_IsArray(in) ? it->next : NULL, r = r->next) {
		FZ_CHECK(r != NULL, "one request per input");
		FZ_CHECK(str(r, "model") != NULL &&
		    (strlen(want) == sizeof want - 1 ||
		    strcmp(str(r, "model"), want) == 0), "models/<model>");
		FZ_CHECK(cJSON_IsString(it) && str(cJSON_GetArrayItem(get(get(
		    r, "content"), "parts"), 0), "text") != NULL &&
		    strcmp(str(cJSON_GetArrayItem(get(get(r, "content"),
		    "parts"), 0), "text"), it->valuestring) == 0,
		    "the input's text");
		FZ_CHECK(cJSON_IsNumber(dims) ? cJSON_IsNumber(get(r,
		    "outputDimensionality")) && get(r,
		    "outputDimensionality")->valuedouble == dims->valuedouble :
		    get(r, "outputDimensionality") == NULL,
		    "outputDimensionality the dimensions");
	}
	FZ_CHECK(r == NULL, "no extra request");
	cJSON_Delete(j);
}

/*
 * The OpenAI-compatible splice: the body sent validates again, with the
 * model asked for and usage on a stream (a client body that is not
 * strict JSON, which cJSON accepts (README finding 7), may come back
 * re-printed with escapes validate.c refuses in member names: then only
 * the model is checked).
 */
static void
check_compat(const char *body, size_t len, const struct px_upstream_in *in)
{
	struct px_chat_req rq;
	struct px_verr err;
	cJSON *j;

	FZ_CHECK(body != NULL && len > 0, "a body");
	if (!fz_json_ok(in->body, in->len, 1)) {
		j = cJSON_ParseWithLength(body, len);
		FZ_CHECK(str(j, "model") != NULL && strcmp(str(j, "model"),
		    in->model) == 0, "the model asked for");
		cJSON_Delete(j);
		return;
	}
	if (px_validate_chat(body, len, &rq, &err) != PX_OK) {
		fprintf(stderr, "refused: %s\n%.*s\n", err.msg, (int)len, body);
		FZ_CHECK(0, "the spliced body validates again");
	}
	FZ_CHECK(strcmp(rq.model, in->model) == 0, "the model asked for");
	FZ_CHECK(rq.stream == in->stream, "stream unchanged");
	FZ_CHECK(!in->stream || rq.include_usage, "a stream includes usage");
	px_chat_req_free(&rq);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct px_buf out, tmp;
	static int init;
	struct fz_in in = { data, size };
	const struct px_provider *p;
	struct px_upstream_in up;
	struct px_chat_req rq;
	struct px_verr verr;
	const uint8_t *l;
	const char *enc, *sent = NULL;
	char *body;
	size_t ln, sent_len = 0;
	long long v[4];
	char err[256];	/* chat.c's */
	enum px_err rc;

	if (!init) {
		px_buf_init(&out, 64u << 20);	/* app.c: UP_BUF_MAX */
		px_buf_init(&tmp, 64u << 20);
		init = 1;
	}
	fz_line(&in, &l, &ln);
	fz_ints(l, ln, v, 4);
	p = adapter(v[0]);
	body = fz_dup(in.p, in.n, 0);
	memset(&up, 0, sizeof up);
	up.op = (v[1] & 1) ? PX_OP_EMBED : PX_OP_CHAT;
	if (up.op == PX_OP_EMBED)
		rc = px_validate_embed(body, in.n, PX_JSON_VALUES_DEFAULT, &rq,
		    &enc, &verr);
	else
		rc = px_validate_chat(body, in.n, &rq, &verr);
	if (rc != PX_OK || (up.op == PX_OP_EMBED &&
	    p->api != PX_API_NATIVE)) {
		px_chat_req_free(&rq);
		free(body);
		return 0;
	}
	up.body = body;
	up.len = in.n;
	up.root = rq.root;
	up.model = models[(unsigned long long)v[2] % 6] != NULL ?
	    models[(unsigned long long)v[2] % 6] : rq.model;
	up.stream = up.op == PX_OP_EMBED ? 0 : rq.stream;
	if (up.stream)
		up.op = PX_OP_STREAM;
	up.include_usage = rq.include_usage;
	up.reasoning = efforts[(unsigned long long)v[3] % 7] != NULL ?
	    efforts[(unsigned long long)v[3] % 7] : rq.reasoning;
	memset(err, 0x5a, sizeof err);
	px_buf_reset(&out);
	px_buf_reset(&tmp);
	rc = p->request(&up, &out, &tmp, &sent, &sent_len, err, sizeof err);
	FZ_CHECK(rc == PX_OK || rc == PX_EBADREQ, "request result");
	if (rc == PX_EBADREQ) {
		FZ_CHECK(p->api == PX_API_NATIVE,
		    "only a translation refuses a request");
		check_refusal(err, sizeof err);
	} else if (p->api != PX_API_NATIVE) {
		check_compat(sent, sent_len, &up);
	} else {
		FZ_CHECK(sent == out.p && sent_len == out.len,
		    "the translation is in out");
		if (up.op == PX_OP_EMBED)
			check_native_embed(sent, sent_len, rq.root, up.model);
		else
			check_native_chat(sent, sent_len);
	}
	px_chat_req_free(&rq);
	free(body);
	return 0;
}
