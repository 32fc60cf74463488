/*
 * test_native.c -- the Gemini native adapter (gemini_native*.c) through
 * its px_provider table: URLs and the credential header, request
 * translation, stream event sequences, non-stream bodies, error bodies,
 * model list paging, embeddings. Cases are table-driven from
 * the JSON files in tests/fixtures/native/ (one case per mapping; shapes
 * from provider-apis.md §3b/§4, provider-apis-2026.md §1, §2, §5, §6).
 * Every output is parsed back and compared with the expected JSON tree
 * (cJSON_Compare); the stream state (st) and the signature records are
 * checked after each sequence.
 * Run from the repository root (tests/run.sh does): fixtures are found
 * relative to this file's path as compiled.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemini_native.h"
#include "oaicompat.h"
#include "provider.h"
#include "tharness.h"

static const char *secret_v[] = { "sk-secret-1" };
static const struct px_secrets secrets = { secret_v, 1 };

static const struct px_provider *
gn(void)
{
	return &px_provider_gemini_native;
}

/* --- helpers --- */

static cJSON *
load(const char *name)
{
	const char *f = __FILE__, *slash = strrchr(f, '/');
	char path[512];
	FILE *fp;
	char *text = NULL;
	long n;
	cJSON *root = NULL;

	if (slash != NULL)
		snprintf(path, sizeof(path), "%.*s/../fixtures/native/%s",
		    (int)(slash - f), f, name);
	else
		snprintf(path, sizeof(path), "tests/fixtures/native/%s", name);
	fp = fopen(path, "rb");
	if (fp != NULL && fseek(fp, 0, SEEK_END) == 0) {
		n = ftell(fp);
		text = n > 0 ? malloc((size_t)n + 1) : NULL;
		rewind(fp);
		if (text != NULL && fread(text, 1, (size_t)n, fp) == (size_t)n) {
			text[n] = '\0';
			root = cJSON_Parse(text);
		}
	}
	if (fp != NULL)
		fclose(fp);
	free(text);
	T_CHECK(root != NULL, path);
	return root;
}

static const char *
str_of(const cJSON *o, const char *key, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

static const char *
name_of(const cJSON *c)
{
	return str_of(c, "name", "?");
}

/* Does text[0..len) parse to a tree equal to want? Prints both if not. */
static int
same_json(const cJSON *want, const char *text, size_t len,
    const char *what)
{
	cJSON *got = text != NULL ? cJSON_ParseWithLength(text, len) : NULL;
	int ok = got != NULL && cJSON_Compare(want, got, 1);
	char *w;

	if (!ok) {
		w = cJSON_PrintUnformatted(want);
		printf("# %s\n#  want %s\n#  got  %.*s\n", what, w,
		    (int)len, text != NULL ? text : "(null)");
		cJSON_free(w);
	}
	cJSON_Delete(got);
	return ok;
}

/* "a.b.0.c": object keys and array indices; NULL when absent. */
static const cJSON *
jpath(const cJSON *j, const char *path)
{
	char seg[64];
	size_t n;

	while (j != NULL && *path != '\0') {
		n = strcspn(path, ".");
		if (n >= sizeof(seg))
			return NULL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		path += n + (path[n] == '.');
		if (seg[0] >= '0' && seg[0] <= '9')
			j = cJSON_GetArrayItem(j, (int)strtol(seg, NULL, 10));
		else
			j = cJSON_GetObjectItemCaseSensitive(j, seg);
	}
	return j;
}

/* The st fields a case names have the values it gives. */
static void
check_st(const cJSON *want, const struct px_stream_fix *st,
    const char *what)
{
	static const struct { const char *key; size_t off; int is_long; } f[] = {
		{ "ntools", offsetof(struct px_stream_fix, ntools), 0 },
		{ "saw_finish", offsetof(struct px_stream_fix, saw_finish), 0 },
		{ "have_usage", offsetof(struct px_stream_fix, have_usage), 0 },
		{ "prompt_tokens", offsetof(struct px_stream_fix,
		    prompt_tokens), 1 },
		{ "completion_tokens", offsetof(struct px_stream_fix,
		    completion_tokens), 1 },
		{ "total_tokens", offsetof(struct px_stream_fix,
		    total_tokens), 1 },
		{ "reasoning_tokens", offsetof(struct px_stream_fix,
		    reasoning_tokens), 1 },
	};
	const unsigned char *base = (const unsigned char *)st;
	const cJSON *v, *ids, *id;
	char msg[256];
	size_t i;
	long got;
	int k = 0, iv;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		v = cJSON_GetObjectItemCaseSensitive(want, f[i].key);
		if (!cJSON_IsNumber(v))
			continue;
		if (f[i].is_long) {
			memcpy(&got, base + f[i].off, sizeof(got));
		} else {
			memcpy(&iv, base + f[i].off, sizeof(iv));
			got = iv;
		}
		snprintf(msg, sizeof(msg), "%s: st.%s %ld want %g", what,
		    f[i].key, got, v->valuedouble);
		T_CHECK(got == (long)v->valuedouble, msg);
	}
	ids = cJSON_GetObjectItemCaseSensitive(want, "up_id");
	cJSON_ArrayForEach(id, ids) {
		snprintf(msg, sizeof(msg), "%s: st.up_id[%d]", what, k);
		T_STREQ(st->up_id[k], id->valuestring, msg);
		k++;
	}
}

/* --- registry, URLs, credential --- */

static void
test_table(void)
{
	struct px_provider_cfg g;
	const struct px_provider *p;

	memset(&g, 0, sizeof(g));
	g.provider = PX_PROV_GEMINI;
	g.api = PX_API_NATIVE;
	p = px_adapter(&g);
	T_CHECK(p == gn(), "px_adapter: gemini over native");
	T_CHECK(p->id == PX_PROV_GEMINI && p->api == PX_API_NATIVE,
	    "table: family gemini, api native");
	T_STREQ(p->name, "gemini-native", "table: name");
	T_STREQ(p->default_base_url,
	    "https://generativelanguage.googleapis.com/v1beta",
	    "table: base url");
	T_STREQ(p->owned_by, "google", "table: owned_by");
	T_STREQ(p->probe_path, "/models", "table: probe path");
	T_CHECK(p->map_error == px_oai_map_error && p->auth != NULL &&
	    p->url != NULL && p->request != NULL && p->map_event != NULL &&
	    p->map_body != NULL && p->parse_models != NULL,
	    "table: every function set; Google errors via px_oai_map_error");
	g.api = PX_API_OPENAI;
	T_CHECK(px_adapter(&g) != gn(), "px_adapter: gemini over openai");
}

static const struct {
	const char *base, *model, *want;
	enum px_op op;
} urls[] = {
	{ "https://generativelanguage.googleapis.com/v1beta",
	  "gemini-2.5-flash", "https://generativelanguage.googleapis.com/"
	  "v1beta/models/gemini-2.5-flash:generateContent", PX_OP_CHAT },
	{ "https://generativelanguage.googleapis.com/v1beta",
	  "models/gemini-3-flash-preview", "https://generativelanguage."
	  "googleapis.com/v1beta/models/gemini-3-flash-preview:"
	  "streamGenerateContent?alt=sse", PX_OP_STREAM },
	{ "http://127.0.0.1:9/v1beta/", NULL,
	  "http://127.0.0.1:9/v1beta/models?pageSize=1000", PX_OP_MODELS },
	{ "http://127.0.0.1:9/v1beta", "Cg5t/b2+R=",
	  "http://127.0.0.1:9/v1beta/models?pageSize=1000&pageToken="
	  "Cg5t%2Fb2%2BR%3D", PX_OP_MODELS },
	{ "http://h/v1beta", "gemini-embedding-001",
	  "http://h/v1beta/models/gemini-embedding-001:batchEmbedContents",
	  PX_OP_EMBED },
	{ "http://h/v1beta", "my model?x=1/y",
	  "http://h/v1beta/models/my%20model%3Fx%3D1%2Fy:generateContent",
	  PX_OP_CHAT },
};

static void
test_url(void)
{
	char dst[256], small[24], line[128];
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		T_CHECK(gn()->url(urls[i].base, urls[i].op, urls[i].model, dst,
		    sizeof(dst)) == PX_OK, urls[i].want);
		T_STREQ(dst, urls[i].want, urls[i].want);
	}
	T_CHECK(gn()->url("http://h/v1beta", PX_OP_CHAT, "gemini-2.5-flash",
	    small, sizeof(small)) == PX_ETOOBIG, "url: too long -> ETOOBIG");
	T_CHECK(gn()->url("http://h", (enum px_op)9, "m", dst, sizeof(dst)) ==
	    PX_EINTERNAL, "url: unknown op");
	gn()->auth("AQ.Ab8RN6x.y-z", line, sizeof(line));
	T_STREQ(line, "x-goog-api-key: AQ.Ab8RN6x.y-z",
	    "auth: x-goog-api-key header, never Bearer");
}

/* --- requests --- */

static void
request_case(const cJSON *c)
{
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(c, "in");
	const char *want_err = str_of(c, "error", NULL), *body = NULL;
	struct px_upstream_in up;
	struct px_buf out, tmp;
	char *text = cJSON_PrintUnformatted(in), err[256] = "";
	size_t len = 0;
	enum px_err rc;

	px_buf_init(&out, 1 << 20);
	px_buf_init(&tmp, 1 << 20);
	memset(&up, 0, sizeof(up));
	up.body = text;
	up.len = text != NULL ? strlen(text) : 0;
	up.root = in;
	up.model = str_of(c, "model", "gemini-2.5-flash");
	up.reasoning = str_of(c, "reasoning", "");
	rc = gn()->request(&up, &out, &tmp, &body, &len, err, sizeof(err));
	if (want_err != NULL) {
		T_CHECK(rc == PX_EBADREQ, name_of(c));
		if (strstr(err, want_err) == NULL)
			printf("# err: %s\n", err);
		T_CHECK(strstr(err, want_err) != NULL, name_of(c));
	} else {
		T_CHECK(rc == PX_OK && body == out.p, name_of(c));
		T_CHECK(same_json(cJSON_GetObjectItemCaseSensitive(c, "want"),
		    body, len, name_of(c)), name_of(c));
	}
	cJSON_free(text);
	px_buf_free(&out);
	px_buf_free(&tmp);
}

static void
test_requests(void)
{
	cJSON *cases = load("request.json");
	const cJSON *c;

	cJSON_ArrayForEach(c, cases) {
		request_case(c);
	}
	cJSON_Delete(cases);
}

/* --- stream events --- */

struct run {
	struct px_stream_fix st;
	struct px_buf out, sigs;
	char id[64], model[64], stmodel[64];
};

static void
run_init(struct run *r, const cJSON *c, const char *dflt_id)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(c, "model");

	px_stream_fix_init(&r->st);
	px_buf_init(&r->out, 1 << 20);
	px_buf_init(&r->sigs, 1 << 16);
	snprintf(r->st.id_prefix, sizeof(r->st.id_prefix), "%s",
	    str_of(c, "prefix", "r1_"));
	snprintf(r->stmodel, sizeof(r->stmodel), "%s", cJSON_IsString(m) ?
	    m->valuestring : "gemini-2.5-flash");
	r->st.model = cJSON_IsNull(m) ? NULL : r->stmodel;
	/* the chunks' model: st->model, else the case says which */
	snprintf(r->model, sizeof(r->model), "%s", str_of(c, "model_out",
	    r->stmodel));
	r->st.drop_usage_alone = cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(c, "drop_usage_alone"));
	r->st.secrets = &secrets;
	r->st.sigs = &r->sigs;
	snprintf(r->id, sizeof(r->id), "%s", str_of(c, "id", dflt_id));
}

static void
run_done(struct run *r, const cJSON *c)
{
	const char *sigs = str_of(c, "sigs", NULL);

	check_st(cJSON_GetObjectItemCaseSensitive(c, "st"), &r->st,
	    name_of(c));
	if (sigs != NULL)
		T_STREQ(r->sigs.p != NULL ? r->sigs.p : "", sigs, name_of(c));
	px_buf_free(&r->out);
	px_buf_free(&r->sigs);
}

/* want with the envelope every chunk carries filled in. */
static cJSON *
envelope(const struct run *r, const cJSON *want)
{
	cJSON *w = cJSON_Duplicate(want, 1);

	if (cJSON_GetObjectItemCaseSensitive(w, "id") == NULL)
		cJSON_AddStringToObject(w, "id", r->id);
	cJSON_AddStringToObject(w, "object", "chat.completion.chunk");
	cJSON_AddNumberToObject(w, "created", 0);
	cJSON_AddStringToObject(w, "model", r->model);
	return w;
}

/* out holds exactly the chunks of want, one per line. */
static int
same_chunks(const struct run *r, const cJSON *want, const char *what)
{
	const char *p, *end, *nl;
	const cJSON *w;
	cJSON *full;
	int ok = 1;

	if (r->out.p == NULL)
		return cJSON_GetArraySize(want) == 0;
	p = r->out.p;
	end = r->out.p + r->out.len;
	cJSON_ArrayForEach(w, want) {
		if (p >= end) {
			printf("# %s: fewer chunks than wanted\n", what);
			return 0;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		full = envelope(r, w);
		ok &= same_json(full, p, (size_t)(nl - p), what);
		cJSON_Delete(full);
		p = nl + (nl < end);
	}
	if (p < end) {
		printf("# %s: extra chunks: %s\n", what, p);
		ok = 0;
	}
	return ok;
}

static void
event_check(struct run *r, const cJSON *want, enum px_ev_action act,
    const char *what)
{
	if (cJSON_IsString(want)) {
		T_CHECK(act == PX_EV_DROP, what);
	} else if (cJSON_IsArray(want)) {
		T_CHECK(act == PX_EV_REWRITE, what);
		T_CHECK(act == PX_EV_REWRITE && same_chunks(r, want, what),
		    what);
	} else {
		T_CHECK(act == PX_EV_ERROR, what);
		T_CHECK(same_json(want, r->out.p, r->out.len, what), what);
	}
}

static void
stream_case(const cJSON *c)
{
	const cJSON *evs = cJSON_GetObjectItemCaseSensitive(c, "events");
	const cJSON *wants = cJSON_GetObjectItemCaseSensitive(c, "want"), *e;
	struct run r;
	char *text, what[256];
	enum px_ev_action act;
	int i = 0;

	run_init(&r, c, "chatcmpl-r1");
	cJSON_ArrayForEach(e, evs) {
		text = cJSON_IsString(e) ? NULL : cJSON_PrintUnformatted(e);
		snprintf(what, sizeof(what), "%s: event %d", name_of(c), i);
		act = gn()->map_event(&r.st, text != NULL ? text :
		    e->valuestring, strlen(text != NULL ? text : e->valuestring),
		    &r.out);
		event_check(&r, cJSON_GetArrayItem(wants, i), act, what);
		cJSON_free(text);
		i++;
	}
	run_done(&r, c);
}

static void
test_stream(void)
{
	cJSON *cases = load("stream.json");
	const cJSON *c;

	cJSON_ArrayForEach(c, cases) {
		stream_case(c);
	}
	cJSON_Delete(cases);
}

/*
 * Every finishReason (2026 doc §5.4), on a text answer and after a call:
 * STOP and the reasons that mean "stop" become tool_calls after a call.
 */
static const struct {
	const char *reason, *plain, *after_call;
} fins[] = {
	{ "STOP", "stop", "tool_calls" },
	{ "MAX_TOKENS", "length", "length" },
	{ "SAFETY", "content_filter", "content_filter" },
	{ "RECITATION", "content_filter", "content_filter" },
	{ "BLOCKLIST", "content_filter", "content_filter" },
	{ "PROHIBITED_CONTENT", "content_filter", "content_filter" },
	{ "SPII", "content_filter", "content_filter" },
	{ "IMAGE_SAFETY", "content_filter", "content_filter" },
	{ "IMAGE_PROHIBITED_CONTENT", "content_filter", "content_filter" },
	{ "IMAGE_RECITATION", "content_filter", "content_filter" },
	{ "LANGUAGE", "stop", "tool_calls" },
	{ "OTHER", "stop", "tool_calls" },
	{ "TOO_MANY_TOOL_CALLS", "stop", "tool_calls" },
	{ "NO_IMAGE", "stop", "tool_calls" },
	{ "IMAGE_OTHER", "stop", "tool_calls" },
	{ "FINISH_REASON_UNSPECIFIED", "stop", "tool_calls" },
	{ "MALFORMED_FUNCTION_CALL", NULL, "malformed_function_call" },
	{ "UNEXPECTED_TOOL_CALL", NULL, "unexpected_tool_call" },
};

/* The finish_reason of the last chunk in out ("" none). */
static const char *
last_finish(const struct px_buf *out, char *dst, size_t cap)
{
	const char *last = out->p, *p;
	cJSON *j;
	const cJSON *fr;

	dst[0] = '\0';
	for (p = out->p; p != NULL && (p = strchr(p, '\n')) != NULL; p++)
		last = p + 1;
	j = last != NULL ? cJSON_Parse(last) : NULL;
	fr = jpath(j, "choices.0.finish_reason");
	if (cJSON_IsString(fr))
		snprintf(dst, cap, "%s", fr->valuestring);
	cJSON_Delete(j);
	return dst;
}

static void
finish_one(size_t i, int with_call)
{
	struct px_stream_fix st;
	struct px_buf out;
	char data[512], got[64], what[128];
	const char *want = with_call ? fins[i].after_call : fins[i].plain;
	enum px_ev_action act;
	cJSON *err;

	px_stream_fix_init(&st);
	px_buf_init(&out, 1 << 16);
	snprintf(data, sizeof(data), "{\"candidates\":[{\"content\":{\"parts\":"
	    "[%s]},\"finishReason\":\"%s\"}],\"usageMetadata\":{"
	    "\"promptTokenCount\":1,\"totalTokenCount\":1}}", with_call ?
	    "{\"functionCall\":{\"name\":\"f\",\"args\":{}}}" :
	    "{\"text\":\"t\"}", fins[i].reason);
	snprintf(what, sizeof(what), "finish %s%s", fins[i].reason,
	    with_call ? " after a call" : "");
	act = gn()->map_event(&st, data, strlen(data), &out);
	if (fins[i].plain == NULL) {
		err = cJSON_Parse(out.p);
		T_CHECK(act == PX_EV_ERROR && st.saw_finish == 0, what);
		T_STREQ(cJSON_GetStringValue(jpath(err, "error.code")),
		    fins[i].after_call, what);
		cJSON_Delete(err);
	} else {
		T_CHECK(act == PX_EV_REWRITE && st.saw_finish, what);
		/* the usage chunk comes last; the finish just before it */
		T_CHECK(strstr(out.p, "\"choices\":[]") != NULL, what);
		*strrchr(out.p, '\n') = '\0';
		T_STREQ(last_finish(&out, got, sizeof(got)), want, what);
	}
	px_buf_free(&out);
}

static void
test_finish(void)
{
	size_t i;

	for (i = 0; i < sizeof(fins) / sizeof(fins[0]); i++) {
		finish_one(i, 0);
		finish_one(i, 1);
	}
}

/* A thousand calls in one response: the 129th is an error, not a
 * reused index; every record of a signature is one line. */
static void
test_too_many_calls(void)
{
	struct px_stream_fix st;
	struct px_buf out;
	const char *ev = "{\"candidates\":[{\"content\":{\"parts\":[{"
	    "\"functionCall\":{\"name\":\"f\"},\"thoughtSignature\":\"s\"}]}}]}";
	enum px_ev_action act = PX_EV_REWRITE;
	int i, n = 0;

	px_stream_fix_init(&st);
	px_buf_init(&out, 1 << 16);
	for (i = 0; i < 1000 && act == PX_EV_REWRITE; i++, n++)
		act = gn()->map_event(&st, ev, strlen(ev), &out);
	T_CHECK(n == PX_MAX_TOOL_CALLS + 1 && act == PX_EV_ERROR &&
	    st.ntools == PX_MAX_TOOL_CALLS, "129th call -> error event");
	T_CHECK(strstr(out.p, "more than 128 tool calls") != NULL,
	    "... saying why");
	px_buf_free(&out);
}

/* --- bodies --- */

static void
body_case(const cJSON *c)
{
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(c, "body");
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "want");
	const char *action = str_of(c, "action", "rewrite");
	struct run r;
	char *text = cJSON_IsString(body) ? NULL : cJSON_PrintUnformatted(body);
	const char *data = text != NULL ? text : body->valuestring;
	enum px_ev_action act;

	run_init(&r, c, "chatcmpl-r1");
	act = gn()->map_body(&r.st, data, strlen(data), &r.out);
	T_CHECK(act == (strcmp(action, "error") == 0 ? PX_EV_ERROR :
	    PX_EV_REWRITE), name_of(c));
	T_CHECK(same_json(want, r.out.p, r.out.len, name_of(c)), name_of(c));
	cJSON_free(text);
	run_done(&r, c);
}

static void
test_body(void)
{
	cJSON *cases = load("body.json");
	const cJSON *c;

	cJSON_ArrayForEach(c, cases) {
		body_case(c);
	}
	cJSON_Delete(cases);
}

/* --- error bodies --- */

static void
test_errors(void)
{
	cJSON *cases = load("errors.json");
	const cJSON *c, *body;
	struct px_buf out;
	char *text;
	const char *data;

	px_buf_init(&out, 1 << 16);
	cJSON_ArrayForEach(c, cases) {
		body = cJSON_GetObjectItemCaseSensitive(c, "body");
		text = cJSON_IsString(body) ? NULL :
		    cJSON_PrintUnformatted(body);
		data = text != NULL ? text : body->valuestring;
		T_CHECK(gn()->map_error(cJSON_GetObjectItemCaseSensitive(c,
		    "status")->valueint, data, strlen(data), &secrets,
		    &out) == PX_OK, name_of(c));
		T_CHECK(same_json(cJSON_GetObjectItemCaseSensitive(c, "want"),
		    out.p, out.len, name_of(c)), name_of(c));
		cJSON_free(text);
	}
	px_buf_free(&out);
	cJSON_Delete(cases);
}

/* --- models --- */

struct ids {
	cJSON *list;
	int    stop_after;	/* 0: never stop */
};

static int
collect_id(void *ctx, const char *id)
{
	struct ids *s = ctx;

	cJSON_AddItemToArray(s->list, cJSON_CreateString(id));
	return s->stop_after > 0 &&
	    cJSON_GetArraySize(s->list) >= s->stop_after;
}

static void
test_models(void)
{
	cJSON *cases = load("models.json");
	const cJSON *c, *body;
	struct ids s;
	char next[64], *text;
	const char *data, *rcs;
	enum px_err rc;

	cJSON_ArrayForEach(c, cases) {
		body = cJSON_GetObjectItemCaseSensitive(c, "body");
		text = cJSON_IsString(body) ? NULL :
		    cJSON_PrintUnformatted(body);
		data = text != NULL ? text : body->valuestring;
		s.list = cJSON_CreateArray();
		s.stop_after = 0;
		rc = gn()->parse_models(data, strlen(data), collect_id, &s, next,
		    sizeof(next));
		rcs = str_of(c, "rc", "ok");
		T_CHECK(rc == (strcmp(rcs, "ok") == 0 ? PX_OK : PX_EUPSTREAM),
		    name_of(c));
		T_CHECK(cJSON_Compare(s.list, cJSON_GetObjectItemCaseSensitive(c,
		    "ids"), 1), name_of(c));
		T_STREQ(next, str_of(c, "next", ""), name_of(c));
		/* the callback may stop the listing: no next page then */
		cJSON_Delete(s.list);
		s.list = cJSON_CreateArray();
		s.stop_after = 1;
		rc = gn()->parse_models(data, strlen(data), collect_id, &s, next,
		    8);
		T_CHECK(cJSON_GetArraySize(s.list) <= 1 && (rc != PX_OK ||
		    cJSON_GetArraySize(s.list) == 0 || next[0] == '\0'),
		    "models: a stop ends the paging");
		cJSON_Delete(s.list);
		cJSON_free(text);
	}
	cJSON_Delete(cases);
}

static void
test_models_token(void)
{
	const char *body = "{\"models\":[{\"name\":\"models/a\","
	    "\"supportedGenerationMethods\":[\"generateContent\"]}],"
	    "\"nextPageToken\":\"0123456789abcdef\"}";
	struct ids s = { cJSON_CreateArray(), 0 };
	char next[8] = "x";

	T_CHECK(gn()->parse_models(body, strlen(body), collect_id, &s, next,
	    sizeof(next)) == PX_ETOOBIG && next[0] == '\0' &&
	    cJSON_GetArraySize(s.list) == 1,
	    "models: a token too long for next[] -> ETOOBIG, ids delivered");
	cJSON_Delete(s.list);
}

/* --- embeddings --- */

static void
embed_request(const cJSON *c)
{
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(c, "in");
	const char *want_err = str_of(c, "error", NULL);
	char *text = cJSON_PrintUnformatted(in), err[256] = "";
	struct px_buf out;
	enum px_err rc;

	px_buf_init(&out, 1 << 20);
	rc = px_gn_embed_request(text, strlen(text), str_of(c, "model", ""),
	    &out, err, sizeof(err));
	if (want_err != NULL) {
		T_CHECK(rc == PX_EBADREQ && strstr(err, want_err) != NULL,
		    name_of(c));
	} else {
		T_CHECK(rc == PX_OK, name_of(c));
		T_CHECK(same_json(cJSON_GetObjectItemCaseSensitive(c, "want"),
		    out.p, out.len, name_of(c)), name_of(c));
	}
	cJSON_free(text);
	px_buf_free(&out);
}

static void
embed_reply(const cJSON *c)
{
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(c, "in");
	char *text = cJSON_PrintUnformatted(in);
	struct px_buf out;
	enum px_err rc;

	px_buf_init(&out, 1 << 20);
	rc = px_gn_embed_reply(text, strlen(text), str_of(c, "model", ""),
	    str_of(c, "encoding", NULL), &out);
	if (str_of(c, "rc", NULL) != NULL) {
		T_CHECK(rc == PX_EUPSTREAM && out.len == 0, name_of(c));
	} else {
		T_CHECK(rc == PX_OK, name_of(c));
		T_CHECK(same_json(cJSON_GetObjectItemCaseSensitive(c, "want"),
		    out.p, out.len, name_of(c)), name_of(c));
	}
	cJSON_free(text);
	px_buf_free(&out);
}

static void
test_embed(void)
{
	cJSON *all = load("embed.json");
	const cJSON *c;
	char many[16 + 4 * 101], err[128];
	struct px_buf out;
	size_t n = 0;
	int i;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(all,
	    "requests")) {
		embed_request(c);
	}
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(all,
	    "replies")) {
		embed_reply(c);
	}
	cJSON_Delete(all);
	/* one batch holds at most 100 requests */
	n += (size_t)snprintf(many, sizeof(many), "{\"input\":[");
	for (i = 0; i < 101; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s\"a\"",
		    i > 0 ? "," : "");
	snprintf(many + n, sizeof(many) - n, "]}");
	px_buf_init(&out, 1 << 16);
	T_CHECK(px_gn_embed_request(many, strlen(many), "m", &out, err,
	    sizeof(err)) == PX_EBADREQ && strstr(err, "at most 100") != NULL,
	    "embeddings: 101 inputs -> 400");
	px_buf_free(&out);
}

int
main(void)
{
	test_table();
	test_url();
	test_requests();
	test_stream();
	test_finish();
	test_too_many_calls();
	test_body();
	test_errors();
	test_models();
	test_models_token();
	test_embed();
	return t_done();
}
