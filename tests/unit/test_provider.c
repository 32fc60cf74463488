/*
 * test_provider.c -- the OpenAI-compatible adapters (oaicompat.c) driven
 * through px_provider_get: stream event fixes, body fixes, error bodies,
 * model lists. Events follow docs/provider-apis.md §1.3, §2.1-2.4, §3a.
 * Every REWRITE/ERROR output is parsed back with cJSON and checked.
 */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "oaicompat.h"
#include "provider.h"
#include "tharness.h"
#include "utf8.h"

/* --- helpers --- */

static long nalloc;	/* cJSON allocations, to prove the fast path */

static void *
count_malloc(size_t n)
{
	nalloc++;
	return malloc(n);
}

/* "a.b.0.c": object keys and array indices; NULL when absent. */
static const cJSON *
jpath(const cJSON *j, const char *path)
{
	char seg[64];
	size_t n, i;

	while (j != NULL && *path != '\0') {
		n = strcspn(path, ".");
		if (n >= sizeof(seg))
			return NULL;
		for (i = 0; i < n; i++)
			seg[i] = path[i];
		seg[n] = '\0';
		path += n + (path[n] == '.');
		if (seg[0] >= '0' && seg[0] <= '9')
			j = cJSON_GetArrayItem(j, (int)strtol(seg, NULL, 10));
		else
			j = cJSON_GetObjectItemCaseSensitive(j, seg);
	}
	return j;
}

static const char *
jstr(const cJSON *j, const char *path)
{
	const cJSON *v = jpath(j, path);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
jnum(const cJSON *j, const char *path)
{
	const cJSON *v = jpath(j, path);

	return cJSON_IsNumber(v) ? v->valuedouble : -999;
}

static int
jnull(const cJSON *j, const char *path)
{
	return cJSON_IsNull(jpath(j, path));
}

static const struct px_provider *
gemini(void)
{
	return px_provider_get(PX_PROV_GEMINI);
}

static const struct px_provider *
openrouter(void)
{
	return px_provider_get(PX_PROV_OPENROUTER);
}

static enum px_ev_action
ev(const struct px_provider *p, struct px_stream_fix *st, const char *data,
    struct px_buf *out)
{
	return p->map_event(st, data, strlen(data), out);
}

/* Parse out (which must hold JSON) for checks; caller deletes. */
static cJSON *
parse_out(const struct px_buf *out)
{
	if (out->p == NULL || out->len == 0)
		return NULL;
	return cJSON_ParseWithLength(out->p, out->len);
}

#define CHUNK "{\"id\":\"chatcmpl-7f3a\"," \
	"\"object\":\"chat.completion.chunk\"," \
	"\"created\":1760000000,\"model\":\"m\","
#define GCHUNK_END ",\"created\":1760000000,\"id\":\"r1\"," \
	"\"model\":\"gemini-2.5-flash\",\"object\":\"chat.completion.chunk\"}"

/* --- registry --- */

static void
test_registry(void)
{
	const struct px_provider *o = openrouter(), *g = gemini();

	T_CHECK(o != NULL && g != NULL, "both providers registered");
	if (o == NULL || g == NULL)
		return;
	T_CHECK(o->id == PX_PROV_OPENROUTER && g->id == PX_PROV_GEMINI, "ids");
	T_STREQ(o->name, "openrouter", "openrouter name");
	T_STREQ(g->name, "gemini", "gemini name");
	T_STREQ(o->owned_by, "openrouter", "openrouter owned_by");
	T_STREQ(g->owned_by, "google", "gemini owned_by");
	T_STREQ(o->default_base_url, "https://openrouter.ai/api/v1",
	    "openrouter base url");
	T_STREQ(g->default_base_url,
	    "https://generativelanguage.googleapis.com/v1beta/openai",
	    "gemini base url");
	T_CHECK(o->map_event == g->map_event && o->map_body == g->map_body &&
	    o->map_error == g->map_error &&
	    o->parse_models == g->parse_models && o->map_event != NULL,
	    "one shared implementation");
	T_CHECK(px_provider_get(PX_PROV__MAX) == NULL, "out of range -> NULL");
}

static void
test_init(void)
{
	struct px_stream_fix st;
	unsigned char *raw = (unsigned char *)&st;
	unsigned k, bad = 0;
	size_t i;

	for (i = 0; i < sizeof(st); i++)
		raw[i] = 0x5a;
	px_stream_fix_init(&st);
	for (k = 0; k < PX_MAX_TOOL_CALLS; k++)
		bad += st.up_index[k] != -1 || st.up_id[k][0] != '\0';
	T_CHECK(bad == 0, "init: up_index -1, up_id empty");
	T_CHECK(st.ntools == 0 && st.last_tool == -1 && st.saw_finish == 0 &&
	    st.have_usage == 0 && st.prompt_tokens == 0 &&
	    st.completion_tokens == 0 && st.total_tokens == 0,
	    "init: counters zero, last_tool -1");
}

/* --- fast path --- */

static const struct {
	const char *name, *data;
	int finish;	/* saw_finish expected after the event */
} passv[] = {
	{ "role chunk", CHUNK "\"choices\":[{\"index\":0,\"delta\":"
	  "{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
	  "\"finish_reason\":null}]}", 0 },
	{ "text delta", CHUNK "\"choices\":[{\"index\":0,\"delta\":"
	  "{\"content\":\"Hello\"},\"logprobs\":null,"
	  "\"finish_reason\":null}]}", 0 },
	{ "text delta with usage:null", CHUNK "\"choices\":[{\"index\":0,"
	  "\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}],"
	  "\"usage\":null}", 0 },
	{ "keywords inside content", CHUNK "\"choices\":[{\"index\":0,"
	  "\"delta\":{\"content\":\"say \\\"error\\\" or \\\"tool_calls\\\""
	  ": {\\\"usage\\\": {}}\"},\"finish_reason\":null}]}", 0 },
	{ "OpenRouter native_finish_reason", "{\"id\":\"gen-1\",\"provider\":"
	  "\"Google AI Studio\",\"choices\":[{\"index\":0,\"delta\":{\"content"
	  "\":"
	  "\"x\"},\"finish_reason\":null,\"native_finish_reason\":null}]}", 0 },
	{ "stop without tools", CHUNK "\"choices\":[{\"index\":0,\"delta\":{},"
	  "\"logprobs\":null,\"finish_reason\":\"stop\"}]}", 1 },
	{ "length, spaced colon", CHUNK "\"choices\":[{\"index\":0,\"delta\":{}"
	  ",\"finish_reason\" : \"length\"}]}", 1 },
};

static void
test_pass(void)
{
	struct px_stream_fix st, ref;
	struct px_buf out;
	size_t i;
	long before;

	for (i = 0; i < sizeof(passv) / sizeof(passv[0]); i++) {
		px_buf_init(&out, 1 << 20);
		px_stream_fix_init(&st);
		px_stream_fix_init(&ref);
		ref.saw_finish = passv[i].finish;
		before = nalloc;
		T_CHECK(ev(gemini(), &st, passv[i].data, &out) == PX_EV_PASS,
		    passv[i].name);
		T_CHECK(nalloc == before && out.p == NULL, passv[i].name);
		T_CHECK(memcmp(&st, &ref, sizeof(st)) == 0, passv[i].name);
		px_buf_free(&out);
	}
}

/* --- tool calls --- */

#define G_TOOL(id, name, args, type) "{\"choices\":[{\"delta\":{\"role\":" \
	"\"assistant\",\"tool_calls\":[{\"function\":{\"arguments\":\"" args \
	"\",\"name\":\"" name "\"},\"id\":\"" id "\"" type "}]},\"index\":0}]" \
	GCHUNK_END
#define TYPEF ",\"type\":\"function\""

/* Gemini: two parallel calls in two events, no index, then "stop". */
static void
test_gemini_two_events(void)
{
	struct px_stream_fix st;
	struct px_buf out;
	cJSON *j;

	px_buf_init(&out, 1 << 20);
	px_stream_fix_init(&st);
	T_CHECK(ev(gemini(), &st, G_TOOL("function-call-1", "get_weather",
	    "{\\\"city\\\":\\\"Oslo\\\"}", TYPEF), &out) == PX_EV_REWRITE,
	    "gemini call 1 rewritten");
	j = parse_out(&out);
	T_CHECK(jnum(j, "choices.0.delta.tool_calls.0.index") == 0,
	    "call 1 index 0");
	T_STREQ(jstr(j, "choices.0.delta.tool_calls.0.function.arguments"),
	    "{\"city\":\"Oslo\"}", "call 1 arguments kept");
	T_STREQ(jstr(j, "choices.0.delta.tool_calls.0.id"),
	    "function-call-1", "call 1 id kept");
	T_STREQ(jstr(j, "model"), "gemini-2.5-flash", "other fields kept");
	T_CHECK(jnum(j, "created") == 1760000000, "created kept");
	T_CHECK(strchr(out.p, '\n') == NULL && strstr(out.p, ": ") == NULL,
	    "printed compact");
	cJSON_Delete(j);

	/* second call arrives without "type" */
	T_CHECK(ev(gemini(), &st, G_TOOL("function-call-2", "get_time",
	    "{\\\"tz\\\":\\\"CET\\\"}", ""), &out) == PX_EV_REWRITE,
	    "gemini call 2 rewritten");
	j = parse_out(&out);
	T_CHECK(jnum(j, "choices.0.delta.tool_calls.0.index") == 1,
	    "call 2 index 1");
	T_STREQ(jstr(j, "choices.0.delta.tool_calls.0.type"), "function",
	    "call 2 type inserted");
	cJSON_Delete(j);
	T_CHECK(st.ntools == 2 && st.last_tool == 1, "two calls recorded");

	T_CHECK(ev(gemini(), &st, "{\"choices\":[{\"delta\":{},"
	    "\"finish_reason\":\"stop\",\"index\":0}]" GCHUNK_END, &out) ==
	    PX_EV_REWRITE, "stop after tools rewritten");
	j = parse_out(&out);
	T_STREQ(jstr(j, "choices.0.finish_reason"), "tool_calls",
	    "stop -> tool_calls");
	T_CHECK(jnum(j, "choices.0.index") == 0, "choice index kept");
	cJSON_Delete(j);
	T_CHECK(st.saw_finish == 1, "saw_finish after rewritten stop");
	px_buf_free(&out);
}

/* Several calls in one event: ids reused index 0, or no ids at all. */
static const struct {
	const char *name, *data;
} onev[] = {
	{ "two ids, both upstream index 0", "{\"choices\":[{\"delta\":"
	  "{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function"
	  "\","
	  "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}},"
	  "{\"index\":0,\"id\":\"call_b\",\"function\":{\"name\":\"get_time\","
	  "\"arguments\":\"{}\"}}]},\"finish_reason\":\"stop\",\"index\":0}]}"
	  "" },
	{ "no ids, no index", "{\"choices\":[{\"delta\":{\"tool_calls\":["
	  "{\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"},"
	  "\"id\":\"\",\"type\":\"function\"},{\"function\":{\"name\":"
	  "\"get_time\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"stop\","
	  "\"index\":0}]}" },
};

static void
test_one_event(void)
{
	struct px_stream_fix st;
	struct px_buf out;
	cJSON *j;
	size_t i;

	px_buf_init(&out, 1 << 20);
	for (i = 0; i < sizeof(onev) / sizeof(onev[0]); i++) {
		px_stream_fix_init(&st);
		T_CHECK(ev(gemini(), &st, onev[i].data, &out) ==
		    PX_EV_REWRITE, onev[i].name);
		j = parse_out(&out);
		T_CHECK(jnum(j, "choices.0.delta.tool_calls.0.index") == 0,
		    onev[i].name);
		T_CHECK(jnum(j, "choices.0.delta.tool_calls.1.index") == 1,
		    onev[i].name);
		T_STREQ(jstr(j, "choices.0.delta.tool_calls.0.type"),
		    "function", onev[i].name);
		T_STREQ(jstr(j, "choices.0.delta.tool_calls.1.type"),
		    "function", onev[i].name);
		T_STREQ(jstr(j, "choices.0.delta.tool_calls.1.function.name"),
		    "get_time", onev[i].name);
		T_STREQ(jstr(j, "choices.0.finish_reason"), "tool_calls",
		    onev[i].name);
		T_CHECK(st.ntools == 2 && st.saw_finish == 1, onev[i].name);
		cJSON_Delete(j);
	}
	px_buf_free(&out);
}

/* OpenRouter, well formed (§1.3): indices present, arguments split. */
static const char *const orv[] = {
	CHUNK "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
	"\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_0\","
	"\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
	"\"arguments\":\"\"}}]},\"finish_reason\":null}]}",
	CHUNK "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":"
	"0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},"
	"\"finish_reason\":null}]}",
	CHUNK "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":"
	"0,\"function\":{\"arguments\":\"\\\"Oslo\\\"}\"}}]},"
	"\"finish_reason\":null}]}",
	CHUNK "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":"
	"1,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
	"\"get_time\",\"arguments\":\"{\\\"tz\\\":\\\"CET\\\"}\"}}]},"
	"\"finish_reason\":null}]}",
	CHUNK "\"choices\":[{\"index\":0,\"delta\":{},"
	"\"finish_reason\":\"tool_calls\"}]}",
};

static void
test_openrouter_tools(void)
{
	struct px_stream_fix st;
	struct px_buf out;
	size_t i;

	px_buf_init(&out, 1 << 20);
	px_stream_fix_init(&st);
	for (i = 0; i < sizeof(orv) / sizeof(orv[0]); i++)
		T_CHECK(ev(openrouter(), &st, orv[i], &out) == PX_EV_PASS,
		    "well-formed tool stream passes");
	T_CHECK(out.len == 0, "nothing written for PASS");
	T_CHECK(st.ntools == 2 && st.last_tool == 1 && st.saw_finish == 1,
	    "calls and finish recorded");
	T_CHECK(st.up_index[0] == 0 && st.up_index[1] == 1, "up_index");
	T_STREQ(st.up_id[1], "call_1", "up_id");
	px_buf_free(&out);
}

/* Continuations: mapped by upstream index, else to the latest call. */
static const struct {
	const char *data;
	int act, index;	/* expected action and our index of entry 0 */
} contv[] = {
	{ "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":3,"
	  "\"id\":\"A\",\"type\":\"function\",\"function\":{\"name\":\"f\","
	  "\"arguments\":\"\"}}]}}]}", PX_EV_REWRITE, 0 },
	{ "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":5,"
	  "\"id\":\"B\",\"type\":\"function\",\"function\":{\"name\":\"g\","
	  "\"arguments\":\"\"}}]}}]}", PX_EV_REWRITE, 1 },
	{ "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":3,"
	  "\"function\":{\"arguments\":\"{\\\"a\\\":1}\"}}]}}]}",
	  PX_EV_REWRITE, 0 },
	{ "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":5,"
	  "\"function\":{\"arguments\":\"{}\"}}]}}]}", PX_EV_REWRITE, 1 },
	{ "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
	  "\"function\":{\"arguments\":\"x\"}}]}}]}", PX_EV_REWRITE, 1 },
	/* a known id repeated on a later delta is the same call */
	{ "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
	  "\"id\":\"A\",\"function\":{\"arguments\":\"y\"}}]}}]}",
	  PX_EV_PASS, 0 },
	/* Gemini thought signature in a delta of its own */
	{ "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
	  "\"extra_content\":{\"google\":{\"thought_signature\":\"c2ln\"}}}]}}"
	  "]}", PX_EV_REWRITE, 1 },
};

static void
test_continuations(void)
{
	struct px_stream_fix st;
	struct px_buf out;
	cJSON *j;
	size_t i;

	px_buf_init(&out, 1 << 20);
	px_stream_fix_init(&st);
	for (i = 0; i < sizeof(contv) / sizeof(contv[0]); i++) {
		px_buf_reset(&out);
		T_CHECK(ev(openrouter(), &st, contv[i].data, &out) ==
		    (enum px_ev_action)contv[i].act, contv[i].data);
		if (contv[i].act != PX_EV_REWRITE)
			continue;
		j = parse_out(&out);
		T_CHECK(jnum(j, "choices.0.delta.tool_calls.0.index") ==
		    contv[i].index, contv[i].data);
		/* type is added to new calls only */
		T_CHECK(contv[i].index != (int)i ||
		    jstr(j, "choices.0.delta.tool_calls.0.type") != NULL,
		    contv[i].data);
		T_CHECK(i < 2 ||
		    jpath(j, "choices.0.delta.tool_calls.0.type") == NULL,
		    contv[i].data);
		cJSON_Delete(j);
	}
	T_CHECK(st.ntools == 2, "continuations create no calls");
	px_buf_free(&out);
}

/* Ids longer than up_id holds still identify their call. */
static void
test_long_id(void)
{
	static const char first[] = "{\"choices\":[{\"index\":0,\"delta\":"
	    "{\"tool_calls\":[{\"index\":0,\"id\":\"call_"
	    "01234567890123456789012345678901234567890\xc3\xa9tail\","
	    "\"type\":\"function\",\"function\":{\"name\":\"f\","
	    "\"arguments\":\"\"}}]}}]}";
	static const char again[] = "{\"choices\":[{\"index\":0,\"delta\":"
	    "{\"tool_calls\":[{\"index\":0,\"id\":\"call_"
	    "01234567890123456789012345678901234567890\xc3\xa9tail\","
	    "\"function\":{\"arguments\":\"{}\"}}]}}]}";
	struct px_stream_fix st;
	struct px_buf out;

	px_buf_init(&out, 1 << 20);
	px_stream_fix_init(&st);
	T_CHECK(ev(openrouter(), &st, first, &out) == PX_EV_PASS &&
	    ev(openrouter(), &st, again, &out) == PX_EV_PASS &&
	    st.ntools == 1, "long id repeated: same call");
	px_buf_free(&out);
}

static void
test_too_many_tools(void)
{
	struct px_stream_fix st;
	struct px_buf out, data;
	int i, act = PX_EV_PASS;
	cJSON *j;

	px_buf_init(&out, 1 << 20);
	px_buf_init(&data, 1 << 10);
	px_stream_fix_init(&st);
	for (i = 0; i <= PX_MAX_TOOL_CALLS && act != PX_EV_ERROR; i++) {
		px_buf_reset(&data);
		(void)px_buf_printf(&data, "{\"choices\":[{\"index\":0,"
		    "\"delta\":{\"tool_calls\":[{\"index\":%d,\"id\":\"c%d\","
		    "\"type\":\"function\",\"function\":{\"name\":\"f\","
		    "\"arguments\":\"{}\"}}]}}]}", i, i);
		act = (int)ev(openrouter(), &st, data.p, &out);
	}
	T_CHECK(act == PX_EV_ERROR && i == PX_MAX_TOOL_CALLS + 1,
	    "call 129 fails the stream");
	j = parse_out(&out);
	T_CHECK(jstr(j, "error.message") != NULL &&
	    strstr(jstr(j, "error.message"), "tool calls") != NULL,
	    "clear message");
	T_STREQ(jstr(j, "error.type"), "server_error", "type");
	cJSON_Delete(j);
	px_buf_free(&data);
	px_buf_free(&out);
}

/* A rewrite that does not fit out fails the event instead of truncating. */
static void
test_rewrite_too_big(void)
{
	struct px_stream_fix st;
	struct px_buf out;
	cJSON *j;

	px_buf_init(&out, 150);
	px_stream_fix_init(&st);
	T_CHECK(ev(gemini(), &st, G_TOOL("function-call-1", "get_weather",
	    "{}", TYPEF), &out) == PX_EV_ERROR, "oversized rewrite -> error");
	j = parse_out(&out);
	T_CHECK(jstr(j, "error.message") != NULL, "error body fits");
	cJSON_Delete(j);
	px_buf_free(&out);
}

/* --- mid-stream errors --- */

static const struct {
	const char *name, *data, *msg, *type, *code;
} errv[] = {
	{ "OpenRouter string code", "{\"id\":\"gen-1\",\"object\":"
	  "\"chat.completion.chunk\",\"created\":1760000000,\"model\":\"x/y\","
	  "\"provider\":\"p\",\"error\":{\"code\":\"server_error\",\"message\":"
	  "\"Provider disconnected unexpectedly\"},\"choices\":[{\"index\":0,"
	  "\"delta\":{\"content\":\"\"},\"finish_reason\":\"error\"}]}",
	  "Provider disconnected unexpectedly", "server_error",
	  "server_error" },
	{ "OpenRouter numeric code", "{\"id\":\"gen-1\",\"error\":{\"code\":502"
	  ",\"message\":\"Network connection lost.\",\"metadata\":"
	  "{\"error_type\":\"provider_unavailable\"}},\"choices\":[{\"index\":0"
	  ",\"delta\":{\"content\":\"\"},\"finish_reason\":\"error\"}]}",
	  "Network connection lost.", "server_error", "upstream_error" },
	{ "OpenRouter 429 code", "{\"error\":{\"code\":429,\"message\":"
	  "\"Rate limit exceeded\"},\"choices\":[]}",
	  "Rate limit exceeded", "rate_limit_error", "rate_limit_exceeded" },
	{ "bare OpenAI error", "{\"error\":{\"message\":\"The server had an "
	  "error while processing your request.\",\"type\":\"server_error\","
	  "\"param\":null,\"code\":null}}", "The server had an error while "
	  "processing your request.", "server_error", "upstream_error" },
	{ "bare Google error", "{\"error\":{\"code\":503,\"message\":"
	  "\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}",
	  "The model is overloaded.", "server_error", "unavailable" },
	{ "array-wrapped Google error", "[{\"error\":{\"code\":429,"
	  "\"message\":\"Resource has been exhausted (e.g. check quota).\","
	  "\"status\":\"RESOURCE_EXHAUSTED\"}}]", "Resource has been exhausted"
	  " (e.g. check quota).", "rate_limit_error", "resource_exhausted" },
	{ "finish error without error object", CHUNK "\"choices\":[{\"index\":0"
	  ",\"delta\":{},\"finish_reason\":\"error\"}]}",
	  "upstream reported an error", "server_error", "upstream_error" },
};

static void
test_stream_errors(void)
{
	struct px_stream_fix st;
	struct px_buf out;
	cJSON *j;
	size_t i;

	px_buf_init(&out, 1 << 20);
	for (i = 0; i < sizeof(errv) / sizeof(errv[0]); i++) {
		px_stream_fix_init(&st);
		T_CHECK(ev(openrouter(), &st, errv[i].data, &out) ==
		    PX_EV_ERROR, errv[i].name);
		j = parse_out(&out);
		T_STREQ(jstr(j, "error.message"), errv[i].msg, errv[i].name);
		T_STREQ(jstr(j, "error.type"), errv[i].type, errv[i].name);
		T_STREQ(jstr(j, "error.code"), errv[i].code, errv[i].name);
		T_CHECK(jnull(j, "error.param"), errv[i].name);
		T_CHECK(jpath(j, "choices") == NULL &&
		    strstr(out.p, "finish_reason") == NULL, errv[i].name);
		T_CHECK(st.saw_finish == 0, errv[i].name);
		cJSON_Delete(j);
	}
	px_buf_free(&out);
}

/* --- usage --- */

static const struct {
	const char *name, *data;
	long p, c, t;
} usagev[] = {
	{ "OpenAI include_usage chunk", CHUNK "\"choices\":[],\"usage\":"
	  "{\"prompt_tokens\":42,\"completion_tokens\":9,\"total_tokens\":51}}",
	  42, 9, 51 },
	{ "OpenRouter usage with extras", "{\"id\":\"gen-1\",\"choices\":"
	  "[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":null}],"
	  "\"usage\": {\"prompt_tokens\":10,\"completion_tokens\":4,"
	  "\"total_tokens\":14,\"cost\":0,\"is_byok\":false,"
	  "\"prompt_tokens_details\":{\"cached_tokens\":0},"
	  "\"completion_tokens_details\":{\"reasoning_tokens\":2}}}",
	  10, 4, 14 },
	{ "spaces around colon, no total", "{\"choices\":[],\"usage\" :\n"
	  "{\"prompt_tokens\":7,\"completion_tokens\":3}}", 7, 3, 10 },
};

static void
test_usage(void)
{
	struct px_stream_fix st;
	struct px_buf out;
	size_t i;

	px_buf_init(&out, 1 << 20);
	for (i = 0; i < sizeof(usagev) / sizeof(usagev[0]); i++) {
		px_stream_fix_init(&st);
		T_CHECK(ev(gemini(), &st, usagev[i].data, &out) == PX_EV_PASS,
		    usagev[i].name);
		T_CHECK(st.have_usage && st.prompt_tokens == usagev[i].p &&
		    st.completion_tokens == usagev[i].c &&
		    st.total_tokens == usagev[i].t, usagev[i].name);
		T_CHECK(out.len == 0, usagev[i].name);
	}
	/* the last usage wins */
	px_stream_fix_init(&st);
	(void)ev(gemini(), &st, usagev[0].data, &out);
	(void)ev(gemini(), &st, usagev[1].data, &out);
	T_CHECK(st.prompt_tokens == 10 && st.total_tokens == 14, "last wins");
	px_buf_free(&out);
}

/* --- non-stream bodies --- */

static void
test_body(void)
{
	static const char tool_stop[] = "{\"id\":\"chatcmpl-7f3a\",\"object\":"
	    "\"chat.completion\",\"created\":1760000000,\"model\":"
	    "\"gemini-2.5-flash\",\"choices\":[{\"index\":0,\"finish_reason\":"
	    "\"stop\",\"message\":{\"role\":\"assistant\",\"content\":null,"
	    "\"tool_calls\":[{\"id\":\"call_0\",\"type\":\"function\","
	    "\"function\":{\"name\":\"get_weather\",\"arguments\":"
	    "\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]}}],\"usage\":{\"prompt_tokens\""
	    ":42,\"completion_tokens\":9,\"total_tokens\":51}}";
	static const char text_stop[] = "{\"id\":\"x\",\"choices\":[{\"index\":"
	    "0,\"finish_reason\":\"stop\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"Hi\",\"tool_calls\":[]}}],\"usage\":{\"prompt_tokens"
	    "\":"
	    "5,\"completion_tokens\":1,\"total_tokens\":6}}";
	static const char tool_ok[] = "{\"choices\":[{\"index\":0,"
	    "\"finish_reason\":\"tool_calls\",\"message\":{\"tool_calls\":"
	    "[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\","
	    "\"arguments\":\"{}\"}}]}}]}";
	const struct px_provider *g = gemini();
	struct px_stream_fix st;
	struct px_buf out;
	cJSON *j;

	px_buf_init(&out, 1 << 20);
	px_stream_fix_init(&st);
	T_CHECK(g->map_body(&st, tool_stop, strlen(tool_stop), &out) ==
	    PX_EV_REWRITE, "body: tool_calls + stop rewritten");
	j = parse_out(&out);
	T_STREQ(jstr(j, "choices.0.finish_reason"), "tool_calls",
	    "body: finish_reason fixed");
	T_STREQ(jstr(j, "choices.0.message.tool_calls.0.function.arguments"),
	    "{\"city\":\"Oslo\"}", "body: arguments kept");
	T_CHECK(jnull(j, "choices.0.message.content"), "body: null kept");
	T_CHECK(jnum(j, "usage.total_tokens") == 51, "body: usage kept");
	cJSON_Delete(j);
	T_CHECK(st.have_usage && st.prompt_tokens == 42 &&
	    st.completion_tokens == 9 && st.total_tokens == 51,
	    "body: usage recorded");

	px_stream_fix_init(&st);
	T_CHECK(g->map_body(&st, text_stop, strlen(text_stop), &out) ==
	    PX_EV_PASS && st.total_tokens == 6, "body: plain stop passes");
	T_CHECK(g->map_body(&st, tool_ok, strlen(tool_ok), &out) ==
	    PX_EV_PASS, "body: tool_calls finish passes");
	T_CHECK(g->map_body(&st, "<html>", 6, &out) == PX_EV_PASS,
	    "body: non-JSON passes");
	T_CHECK(g->map_body(&st, "", 0, &out) == PX_EV_PASS,
	    "body: empty passes");
	px_buf_free(&out);
}

/* --- error bodies --- */

#define SECRET "sk-or-v1-0123456789abcdef"

static const struct {
	const char *name;
	int status;
	const char *body, *secret, *msg, *type, *param, *code;
} mev[] = {
	{ "OpenAI shape", 401, "{\"error\":{\"message\":\"Incorrect API key "
	  "provided.\",\"type\":\"invalid_request_error\",\"param\":null,"
	  "\"code\":\"invalid_api_key\"}}", NULL,
	  "Incorrect API key provided.", "invalid_request_error", NULL,
	  "invalid_api_key" },
	{ "OpenAI shape without type", 400, "{\"error\":{\"message\":\"bad\","
	  "\"param\":\"messages\",\"code\":null}}", NULL, "bad",
	  "invalid_request_error", "messages", NULL },
	{ "OpenRouter 429 with metadata", 429, "{\"error\":{\"code\":429,"
	  "\"message\":\"Rate limit exceeded: free-models-per-day. Add 10 "
	  "credits to unlock 1000 free model requests per day\",\"metadata\":"
	  "{\"headers\":{\"X-RateLimit-Limit\":\"50\",\"X-RateLimit-Remaining\""
	  ":\"0\",\"X-RateLimit-Reset\":\"1760054400000\"},\"provider_name\":"
	  "null}},\"user_id\":\"user_abc\"}", SECRET, "Rate limit exceeded: "
	  "free-models-per-day. Add 10 credits to unlock 1000 free model "
	  "requests per day", "rate_limit_error", NULL, "rate_limit_exceeded" },
	{ "OpenRouter provider error, raw dropped", 502, "{\"error\":{\"code\":"
	  "502,\"message\":\"Provider returned error\",\"metadata\":{"
	  "\"provider_name\":\"Internal\",\"raw\":\"{\\\"detail\\\":\\\"key "
	  SECRET " at 10.0.0.7\\\"}\"}}}", SECRET, "Provider returned error",
	  "server_error", NULL, NULL },
	{ "OpenRouter 401", 401, "{\"error\":{\"code\":401,\"message\":"
	  "\"No auth credentials found\"}}", SECRET,
	  "No auth credentials found", "authentication_error", NULL,
	  "invalid_api_key" },
	{ "Gemini object", 400, "{\"error\":{\"code\":400,\"message\":\"API key"
	  " not valid. Please pass a valid API key.\",\"status\":"
	  "\"INVALID_ARGUMENT\",\"details\":[{\"@type\":\"type.googleapis.com/"
	  "google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\",\"domain\":"
	  "\"googleapis.com\"}]}}", SECRET, "API key not valid. Please pass a "
	  "valid API key.", "invalid_request_error", NULL, "invalid_argument" },
	{ "Gemini 429 with details", 429, "{\"error\":{\"code\":429,\"status\":"
	  "\"RESOURCE_EXHAUSTED\",\"message\":\"You exceeded your current "
	  "quota.\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc."
	  "RetryInfo\",\"retryDelay\":\"37s\"}]}}", SECRET,
	  "You exceeded your current quota.", "rate_limit_error", NULL,
	  "resource_exhausted" },
	{ "Gemini array-wrapped", 400, "[{\"error\":{\"code\":400,\"message\":"
	  "\"Invalid JSON payload received. Unknown name \\\"web_search_options"
	  "\\\": Cannot find field.\",\"status\":\"INVALID_ARGUMENT\"}}]"
	  "", SECRET,
	  "Invalid JSON payload received. Unknown name \"web_search_options\": "
	  "Cannot find field.", "invalid_request_error", NULL,
	  "invalid_argument" },
	{ "garbage", 502, "<html><body>502 Bad Gateway</body></html>", SECRET,
	  "upstream returned HTTP 502", "server_error", NULL, NULL },
	{ "empty", 503, "", SECRET, "upstream returned HTTP 503",
	  "server_error", NULL, NULL },
	{ "JSON without error", 500, "{\"detail\":\"x\"}", NULL,
	  "upstream returned HTTP 500", "server_error", NULL, NULL },
	{ "empty array", 500, "[]", NULL, "upstream returned HTTP 500",
	  "server_error", NULL, NULL },
	{ "error as string", 400, "{\"error\":\"bad model\"}", NULL,
	  "bad model", "invalid_request_error", NULL, NULL },
	{ "secret redacted", 401, "{\"error\":{\"message\":\"Key " SECRET
	  " is invalid; " SECRET "!\",\"type\":\"auth\",\"param\":\"" SECRET
	  "\"}}", SECRET, "Key [redacted] is invalid; [redacted]!", "auth",
	  "[redacted]", "invalid_api_key" },
	{ "empty secret ignored", 400, "{\"error\":{\"message\":\"plain\"}}",
	  "", "plain", "invalid_request_error", NULL, NULL },
};

/* A one-key list for map_error, or NULL. */
static const struct px_secrets *
one_secret(const char *secret, struct px_secrets *sec, const char **slot)
{
	if (secret == NULL)
		return NULL;
	*slot = secret;
	sec->v = slot;
	sec->n = 1;
	return sec;
}

static void
test_map_error(void)
{
	const struct px_provider *p;
	struct px_secrets sec;
	const char *slot;
	struct px_buf out;
	cJSON *j;
	size_t i;

	px_buf_init(&out, 1 << 16);
	for (i = 0; i < sizeof(mev) / sizeof(mev[0]); i++) {
		p = i % 2 ? gemini() : openrouter();
		px_buf_adds(&out, "stale");
		T_CHECK(p->map_error(mev[i].status, mev[i].body,
		    strlen(mev[i].body), one_secret(mev[i].secret, &sec, &slot),
		    &out) == PX_OK,
		    mev[i].name);
		j = parse_out(&out);
		T_CHECK(j != NULL, mev[i].name);
		T_STREQ(jstr(j, "error.message"), mev[i].msg, mev[i].name);
		T_STREQ(jstr(j, "error.type"), mev[i].type, mev[i].name);
		T_CHECK(mev[i].param == NULL ? jnull(j, "error.param") :
		    jstr(j, "error.param") != NULL &&
		    strcmp(jstr(j, "error.param"), mev[i].param) == 0,
		    mev[i].name);
		T_CHECK(mev[i].code == NULL ? jnull(j, "error.code") :
		    jstr(j, "error.code") != NULL &&
		    strcmp(jstr(j, "error.code"), mev[i].code) == 0,
		    mev[i].name);
		T_CHECK(strstr(out.p, SECRET) == NULL &&
		    strstr(out.p, "user_abc") == NULL &&
		    strstr(out.p, "10.0.0.7") == NULL &&
		    strstr(out.p, "X-RateLimit") == NULL, mev[i].name);
		cJSON_Delete(j);
	}
	px_buf_free(&out);
}

/* {"error":{"message":"<n times 'a'><tail>"}} into body (reset first). */
static void
long_error(struct px_buf *body, size_t n, const char *tail)
{
	px_buf_reset(body);
	(void)px_buf_adds(body, "{\"error\":{\"message\":\"");
	while (n-- > 0)
		(void)px_buf_addc(body, 'a');
	(void)px_buf_adds(body, tail);
	(void)px_buf_adds(body, "\"}}");
}

/* Error message after map_error of body; "" when none. */
static size_t
mapped_len(struct px_buf *body, const char *secret, struct px_buf *out)
{
	cJSON *j;
	const char *msg, *slot;
	struct px_secrets sec;
	size_t n = 0;

	(void)gemini()->map_error(401, body->p, body->len,
	    one_secret(secret, &sec, &slot), out);
	j = parse_out(out);
	msg = jstr(j, "error.message");
	if (msg != NULL)
		n = strlen(msg);
	cJSON_Delete(j);
	return n;
}

/* The 512-byte cap: on a UTF-8 boundary, and a cut secret still hidden. */
static void
test_map_error_cap(void)
{
	struct px_buf out, body;
	const char *msg;
	cJSON *j;

	px_buf_init(&out, 1 << 16);
	px_buf_init(&body, 1 << 16);
	long_error(&body, 1500, "");
	T_CHECK(mapped_len(&body, NULL, &out) == 512, "message capped at 512");

	/* 511 bytes, then 2-byte characters: none may be cut in half */
	long_error(&body, 511, "\xc3\xa9\xc3\xa9");
	T_CHECK(mapped_len(&body, NULL, &out) == 511,
	    "cut on a UTF-8 boundary");

	/* the secret starts 5 bytes before the cut */
	long_error(&body, 507, SECRET);
	T_CHECK(mapped_len(&body, SECRET, &out) == 512 &&
	    strstr(out.p, "sk-or") == NULL, "secret across the cut hidden");
	j = parse_out(&out);
	msg = jstr(j, "error.message");
	T_CHECK(msg != NULL && strcmp(msg + 507, "[reda") == 0,
	    "redaction cut at the cap");
	cJSON_Delete(j);
	px_buf_free(&body);
	px_buf_free(&out);

	/* a buffer too small for the error body: error, out left empty */
	px_buf_init(&out, 20);
	T_CHECK(openrouter()->map_error(500, "", 0, NULL, &out) == PX_ETOOBIG &&
	    out.len == 0, "small out -> PX_ETOOBIG, empty");
	px_buf_free(&out);
}

/* --- models --- */

struct ids {
	struct px_buf all;	/* "id1,id2" */
	int stop_after;		/* stop after this many ids; 0: never */
	int n;
};

static int
collect(void *ctx, const char *id)
{
	struct ids *c = ctx;

	if (c->n++ > 0)
		(void)px_buf_addc(&c->all, ',');
	(void)px_buf_adds(&c->all, id);
	return c->stop_after != 0 && c->n >= c->stop_after;
}

static const struct {
	const char *name, *body, *want;
	int rc, stop_after;
} modv[] = {
	{ "OpenRouter list", "{\"data\":[{\"id\":\"x/y:free\",\"canonical_slug"
	  "\":"
	  "\"x/y\",\"name\":\"X: Y (free)\",\"created\":1733000000,"
	  "\"pricing\":{\"prompt\":\"0\"}},{\"name\":\"no id\"},{\"id\":7},"
	  "{\"id\":\"meta-llama/llama-3.3-70b-instruct:free\"}]}",
	  "x/y:free,meta-llama/llama-3.3-70b-instruct:free", PX_OK, 0 },
	{ "Gemini list with models/", "{\"object\":\"list\",\"data\":[{\"id\":"
	  "\"models/gemini-2.5-flash\",\"object\":\"model\",\"owned_by\":"
	  "\"google\"},{\"id\":\"gemini-2.5-pro\",\"object\":\"model\"},"
	  "{\"id\":\"models/\"}]}", "gemini-2.5-flash,gemini-2.5-pro"
	  "", PX_OK, 0 },
	{ "callback stops", "{\"data\":[{\"id\":\"a\"},{\"id\":\"b\"}]}", "a",
	  PX_OK, 1 },
	{ "empty data", "{\"object\":\"list\",\"data\":[]}", "", PX_OK, 0 },
	{ "not JSON", "<html>", "", PX_EUPSTREAM, 0 },
	{ "no data array", "{\"models\":[{\"name\":\"models/x\"}]}", "",
	  PX_EUPSTREAM, 0 },
	{ "data not an array", "{\"data\":{\"id\":\"a\"}}", "", PX_EUPSTREAM,
	  0 },
	{ "empty body", "", "", PX_EUPSTREAM, 0 },
};

static void
test_models(void)
{
	struct ids c;
	size_t i;
	enum px_err rc;

	px_buf_init(&c.all, 1 << 10);
	for (i = 0; i < sizeof(modv) / sizeof(modv[0]); i++) {
		(void)px_buf_adds(&c.all, "");	/* allocate: "" when no ids */
		px_buf_reset(&c.all);
		c.n = 0;
		c.stop_after = modv[i].stop_after;
		char next[32] = "x";

		rc = gemini()->parse_models(modv[i].body, strlen(modv[i].body),
		    collect, &c, next, sizeof(next));
		T_CHECK(rc == (enum px_err)modv[i].rc, modv[i].name);
		T_CHECK(next[0] == '\0', "OpenAI lists have one page");
		T_STREQ(c.all.p, modv[i].want, modv[i].name);
	}
	px_buf_free(&c.all);
}

/* issue 9, L1: every configured key is redacted, not only the one used */
static void
test_redact_all_keys(void)
{
	static const char *keys[] = { "sk-or-v1-aaaaaaaaaaaaaaaa",
	    "AIzaSyBBBBBBBBBBBBBBBBBBBBBBBB", "sk-or-v1-cccccccccccccccc" };
	const struct px_secrets sec = { keys, 3 };
	struct px_stream_fix st;
	struct px_buf out;
	size_t i;
	const char *err_body = "{\"error\":{\"message\":\"keys "
	    "sk-or-v1-cccccccccccccccc and AIzaSyBBBBBBBBBBBBBBBBBBBBBBBB "
	    "are not sk-or-v1-aaaaaaaaaaaaaaaa\",\"code\":\"sk-or-v1-aaaaaaaa"
	    "aaaaaaaa\"}}";
	const char *ev = "{\"error\":{\"message\":\"upstream saw AIzaSyBBBBBB"
	    "BBBBBBBBBBBBBBBBBB\",\"code\":502}}";
	const char *body = "{\"id\":\"x\",\"choices\":[{\"message\":{\"role\":"
	    "\"assistant\",\"content\":\"partial\"},\"finish_reason\":\"error\"}],"
	    "\"error\":{\"message\":\"sk-or-v1-cccccccccccccccc leaked\","
	    "\"code\":502}}";

	px_buf_init(&out, 1 << 16);
	T_CHECK(openrouter()->map_error(400, err_body, strlen(err_body), &sec,
	    &out) == PX_OK, "map_error with three keys");
	for (i = 0; i < 3; i++)
		T_CHECK(strstr(out.p, keys[i]) == NULL, "error body: no key");
	T_CHECK(strstr(out.p, "keys [redacted] and [redacted] are not "
	    "[redacted]") != NULL, "every key redacted in the message");

	px_stream_fix_init(&st);
	st.secrets = &sec;
	px_buf_reset(&out);
	T_CHECK(gemini()->map_event(&st, ev, strlen(ev), &out) == PX_EV_ERROR,
	    "mid-stream error event");
	T_CHECK(strstr(out.p, keys[1]) == NULL &&
	    strstr(out.p, "upstream saw [redacted]") != NULL,
	    "mid-stream error: key redacted");

	px_stream_fix_init(&st);
	st.secrets = &sec;
	px_buf_reset(&out);
	T_CHECK(openrouter()->map_body(&st, body, strlen(body), &out) ==
	    PX_EV_ERROR, "2xx body carrying an error");
	T_CHECK(strstr(out.p, keys[2]) == NULL &&
	    strstr(out.p, "[redacted] leaked") != NULL,
	    "2xx error body: key redacted");
	px_buf_free(&out);
}

/* Regressions from the fuzz targets (tests/fuzz/crashes/): an empty
 * message gets a default, a status is an enum (only [a-z0-9_-] kept, so
 * no cut splits a character) and is redacted after lowering. */
static void
test_fuzz_regressions(void)
{
	static const char *keys[] = { "sk-or-v1-01" };
	const struct px_secrets sec = { keys, 1 };
	struct px_stream_fix st;
	struct px_buf out;
	char status[200], body[320];
	cJSON *j;
	size_t i;

	px_buf_init(&out, 1 << 16);
	T_CHECK(openrouter()->map_error(500, "{\"error\":\"\"}", 12, &sec,
	    &out) == PX_OK, "empty error string");
	j = parse_out(&out);
	T_STREQ(jstr(j, "error.message"), "upstream returned HTTP 500",
	    "an empty message gets the default");
	cJSON_Delete(j);
	px_stream_fix_init(&st);
	st.secrets = &sec;
	px_buf_reset(&out);
	T_CHECK(gemini()->map_event(&st, "{\"error\":\"\"}", 12, &out) ==
	    PX_EV_ERROR, "empty mid-stream error");
	j = parse_out(&out);
	T_CHECK(jstr(j, "error.message") != NULL &&
	    jstr(j, "error.message")[0] != '\0', "mid-stream default message");
	cJSON_Delete(j);

	px_buf_reset(&out);
	(void)gemini()->map_error(400, "{\"error\":{\"status\":\"SK-OR-V1-01\"}}",
	    35, &sec, &out);
	T_CHECK(strstr(out.p, "sk-or-v1-01") == NULL && strstr(out.p,
	    "[redacted]") != NULL, "a key lowered out of a status is redacted");

	memset(status, 'u', 60);
	for (i = 60; i + 2 < 100; i += 2)
		memcpy(status + i, "\xc3\xa9", 2);
	status[i] = '\0';
	snprintf(body, sizeof body, "{\"error\":{\"status\":\"%s\"}}", status);
	px_buf_reset(&out);
	(void)gemini()->map_error(400, body, strlen(body), &sec, &out);
	T_CHECK(px_utf8_bad_at(out.p, out.len) == out.len,
	    "a long status never cuts a character");
	j = parse_out(&out);
	T_CHECK(jstr(j, "error.code") != NULL &&
	    strspn(jstr(j, "error.code"), "u") == strlen(jstr(j, "error.code")),
	    "only the enum's characters are kept");
	cJSON_Delete(j);
	px_buf_free(&out);
}

/* issue 11: Gemini compat thinking, and thoughts split out of content */
static void
test_gemini_thinking(void)
{
	static const char req[] = "{\"model\":\"x\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"q\"}],\"stream\":true,"
	    "\"reasoning_effort\":\"minimal\"}";
	struct px_upstream_in in;
	struct px_buf out, tmp;
	const char *body;
	size_t len;
	char err[128];
	cJSON *root = cJSON_Parse(req), *j;

	px_buf_init(&out, 1 << 16);
	px_buf_init(&tmp, 1 << 16);
	memset(&in, 0, sizeof(in));
	in.body = req;
	in.len = strlen(req);
	in.root = root;
	in.model = "gemini-3.1-pro";
	in.stream = 1;
	in.reasoning = "minimal";
	T_CHECK(gemini()->request(&in, &out, &tmp, &body, &len, err,
	    sizeof(err)) == PX_OK, "compat request with an effort");
	j = cJSON_ParseWithLength(body, len);
	T_CHECK(jpath(j, "reasoning_effort") == NULL, "reasoning_effort gone");
	T_STREQ(jstr(j, "extra_body.google.thinking_config.thinking_level"),
	    "low", "3.1 Pro has no minimal: the nearest level");
	T_CHECK(cJSON_IsTrue(jpath(j,
	    "extra_body.google.thinking_config.include_thoughts")),
	    "the client asked for reasoning: summaries");
	T_STREQ(jstr(j, "model"), "gemini-3.1-pro", "the served model");
	T_CHECK(cJSON_IsTrue(jpath(j, "stream_options.include_usage")),
	    "usage for the ledger");
	cJSON_Delete(j);
	in.model = "gemini-2.5-flash";
	in.reasoning = "none";
	(void)gemini()->request(&in, &out, &tmp, &body, &len, err, sizeof(err));
	j = cJSON_ParseWithLength(body, len);
	T_CHECK(jnum(j, "extra_body.google.thinking_config.thinking_budget") ==
	    0 && jpath(j, "extra_body.google.thinking_config.include_thoughts")
	    == NULL, "2.5 Flash: none is budget 0, no summaries");
	cJSON_Delete(j);
	in.reasoning = "";
	(void)gemini()->request(&in, &out, &tmp, &body, &len, err, sizeof(err));
	T_CHECK(strstr(body, "extra_body") == NULL, "no effort: the splice");
	T_CHECK(!gemini()->thoughts_inline("gemini-2.5-flash", "none") &&
	    gemini()->thoughts_inline("gemini-2.5-flash", "high") &&
	    openrouter()->thoughts_inline == NULL, "who gets inline thoughts");
	cJSON_Delete(root);
	px_buf_free(&out);
	px_buf_free(&tmp);
}

static void
test_thought_split(void)
{
	static const char *ev[] = {
		"{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
		"\"content\":\"<tho\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ught>plan "
		"\\\"a\\\"</tho\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ught>Answer"
		" <\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
		"\"stop\"}]}",
	};
	struct px_stream_fix st;
	struct px_buf out, content, reasoning;
	size_t i;

	px_stream_fix_init(&st);
	st.split_thoughts = 1;
	px_buf_init(&out, 1 << 16);
	px_buf_init(&content, 1 << 16);
	px_buf_init(&reasoning, 1 << 16);
	(void)px_buf_adds(&content, "");
	(void)px_buf_adds(&reasoning, "");
	for (i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		cJSON *j;

		px_buf_reset(&out);
		if (gemini()->map_event(&st, ev[i], strlen(ev[i]), &out) !=
		    PX_EV_REWRITE)
			continue;
		j = parse_out(&out);
		if (jstr(j, "choices.0.delta.content") != NULL)
			(void)px_buf_adds(&content,
			    jstr(j, "choices.0.delta.content"));
		if (jstr(j, "choices.0.delta.reasoning_content") != NULL)
			(void)px_buf_adds(&reasoning,
			    jstr(j, "choices.0.delta.reasoning_content"));
		cJSON_Delete(j);
	}
	T_STREQ(content.p, "Answer <", "content without the thought; the "
	    "held-back '<' comes out at the finish");
	T_STREQ(reasoning.p, "plan \"a\"", "the thought as reasoning_content");
	px_buf_free(&out);
	px_buf_free(&content);
	px_buf_free(&reasoning);
}

/* issue 11: reasoning nobody asked for is not shown */
static void
test_hide_reasoning(void)
{
	static const char ev[] = "{\"choices\":[{\"index\":0,\"delta\":{"
	    "\"content\":\"\",\"reasoning\":\"hmm\",\"reasoning_details\":[]}}]}";
	static const char body[] = "{\"choices\":[{\"index\":0,\"message\":{"
	    "\"role\":\"assistant\",\"content\":\"A\",\"reasoning\":\"hmm\"},"
	    "\"finish_reason\":\"stop\"}]}";
	struct px_stream_fix st;
	struct px_buf out;

	px_buf_init(&out, 1 << 16);
	px_stream_fix_init(&st);
	T_CHECK(openrouter()->map_event(&st, ev, strlen(ev), &out) ==
	    PX_EV_PASS, "asked (default): relayed as it is");
	st.hide_reasoning = 1;
	T_CHECK(openrouter()->map_event(&st, ev, strlen(ev), &out) ==
	    PX_EV_REWRITE && strstr(out.p, "reasoning") == NULL,
	    "not asked: the reasoning fields are gone");
	px_buf_reset(&out);
	T_CHECK(openrouter()->map_body(&st, body, strlen(body), &out) ==
	    PX_EV_REWRITE && strstr(out.p, "hmm") == NULL &&
	    strstr(out.p, "\"A\"") != NULL, "and from a body");
	px_buf_free(&out);
}

/* fuzz findings on signature records: a long id is recorded whole (the
 * client sees it whole), a tab or newline never enters a record */
static void
test_sig_records(void)
{
	static const char longid[] = "{\"choices\":[{\"index\":0,\"delta\":{"
	    "\"tool_calls\":[{\"id\":\"function-call-0123456789abcdef0123456789"
	    "abcdef0123456789\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"f\",\"arguments\":\"{}\"},\"extra_content\":{\"google\":{"
	    "\"thought_signature\":\"SIG1\"}}}]}}]}";
	static const char tab[] = "{\"choices\":[{\"index\":0,\"delta\":{"
	    "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":"
	    "{\"name\":\"f\",\"arguments\":\"{}\"},\"extra_content\":{\"google\":"
	    "{\"thought_signature\":\"A\\tB\"}}}]}}]}";
	struct px_stream_fix st;
	struct px_buf out, sigs;

	px_buf_init(&out, 1 << 16);
	px_buf_init(&sigs, 1 << 16);
	px_stream_fix_init(&st);
	st.sigs = &sigs;
	(void)gemini()->map_event(&st, longid, strlen(longid), &out);
	T_CHECK(sigs.p != NULL && strcmp(sigs.p, "function-call-0123456789"
	    "abcdef0123456789abcdef0123456789\tSIG1\n") == 0,
	    "a long id is recorded whole");
	px_stream_fix_init(&st);
	px_buf_reset(&sigs);
	st.sigs = &sigs;
	(void)gemini()->map_event(&st, tab, strlen(tab), &out);
	T_CHECK(sigs.len == 0, "a signature with a tab is not recorded");
	{	/* a metadata-only delta: the signature is the first call's */
		static const char call[] = "{\"choices\":[{\"index\":0,"
		    "\"delta\":{\"tool_calls\":[{\"id\":\"function-call-f3b9ecb3"
		    "-d55f-4076-98c8-b13e9d1c0e01\",\"type\":\"function\","
		    "\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}}]}";
		static const char meta[] = "{\"choices\":[{\"index\":0,"
		    "\"delta\":{\"tool_calls\":[{\"extra_content\":{\"google\":"
		    "{\"thought_signature\":\"CrIC\"}}}]}}]}";

		px_stream_fix_init(&st);
		px_buf_reset(&sigs);
		st.sigs = &sigs;
		(void)gemini()->map_event(&st, call, strlen(call), &out);
		(void)gemini()->map_event(&st, meta, strlen(meta), &out);
		T_CHECK(sigs.p != NULL && strcmp(sigs.p, "function-call-f3b9ecb3-"
		    "d55f-4076-98c8-b13e9d1c0e01\tCrIC\n") == 0,
		    "a metadata-only signature, under the first call's whole id");
	}
	px_buf_free(&out);
	px_buf_free(&sigs);
}

int
main(void)
{
	cJSON_Hooks hooks = { count_malloc, free };

	cJSON_InitHooks(&hooks);
	test_registry();
	test_init();
	test_pass();
	test_gemini_two_events();
	test_one_event();
	test_openrouter_tools();
	test_continuations();
	test_long_id();
	test_too_many_tools();
	test_rewrite_too_big();
	test_stream_errors();
	test_usage();
	test_body();
	test_map_error();
	test_map_error_cap();
	test_models();
	test_redact_all_keys();
	test_fuzz_regressions();
	test_gemini_thinking();
	test_thought_split();
	test_hide_reasoning();
	test_sig_records();
	return t_done();
}
