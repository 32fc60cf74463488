/*
 * test_dialect.c -- the shared dialect engine (dialect.c) through a
 * recording dialect: which callbacks canonical chunks and bodies produce
 * (text, reasoning, calls by index, Gemini-style calls without index,
 * finish, usage, the commit point, empty answers), the string reader on
 * escapes and malformed input, the history repair both decoders use, the
 * effort clamp and the estimate.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect.h"
#include "tharness.h"

/* --- a dialect that writes what it is told, one line per callback --- */

static enum px_err
rec_open(struct px_dstate *st, struct px_buf *out)
{
	(void)st;
	return px_buf_adds(out, "open\n");
}

static enum px_err
rec_text(struct px_dstate *st, const char *p, size_t n, struct px_buf *out)
{
	(void)st;
	px_buf_adds(out, "text:");
	px_buf_add(out, p, n);
	return px_buf_adds(out, "\n");
}

static enum px_err
rec_reasoning(struct px_dstate *st, const char *p, size_t n,
    struct px_buf *out)
{
	(void)st;
	px_buf_adds(out, "think:");
	px_buf_add(out, p, n);
	return px_buf_adds(out, "\n");
}

static enum px_err
rec_start(struct px_dstate *st, unsigned k, struct px_buf *out)
{
	return px_buf_printf(out, "call%u:%s:%s\n", k, st->calls[k].id,
	    st->calls[k].name);
}

static enum px_err
rec_args(struct px_dstate *st, unsigned k, const char *p, size_t n,
    struct px_buf *out)
{
	(void)st;
	px_buf_printf(out, "args%u:", k);
	px_buf_add(out, p, n);
	return px_buf_adds(out, "\n");
}

static enum px_err
rec_finish(struct px_dstate *st, struct px_buf *out)
{
	return px_buf_printf(out, "finish:%s:%ld/%ld/%ld:%ld\n", st->finish,
	    st->prompt_tokens, st->completion_tokens, st->total_tokens,
	    st->cached_tokens);
}

static enum px_err
rec_fail(struct px_dstate *st, const char *msg, int busy, struct px_buf *out)
{
	(void)st;
	return px_buf_printf(out, "fail:%s:%d\n", msg, busy);
}

static enum px_err
rec_body(struct px_dstate *st, struct px_buf *out)
{
	unsigned k;

	px_buf_printf(out, "body:%s:%u", st->finish, st->ncalls);
	for (k = 0; k < st->ncalls; k++)
		px_buf_printf(out, ":%s=%.*s", st->calls[k].name,
		    (int)st->calls[k].args.len, st->calls[k].args.p);
	return PX_OK;
}

static const struct px_dialect rec = {
	.id = PX_DIALECT__MAX, .name = "rec", .open = rec_open,
	.text = rec_text, .reasoning = rec_reasoning, .call_start = rec_start,
	.call_args = rec_args, .finish = rec_finish, .fail = rec_fail,
	.body = rec_body,
};

static struct px_dstate st;
static struct px_buf out, sc;

static void
begin(unsigned flags)
{
	px_dstate_reset(&st, &rec);
	snprintf(st.id, sizeof st.id, "resp_u1");
	st.flags = flags;
	px_buf_reset(&out);
}

static void
feed(const char *json)
{
	(void)px_dialect_chunk(&st, json, strlen(json), &sc, &out);
}

#define CHUNK(delta) "{\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":" \
	delta ",\"finish_reason\":null}]}"

static void
expect(const char *want, const char *name)
{
	int ok = out.len == strlen(want) && memcmp(out.p, want, out.len) == 0;

	if (!ok)
		printf("#   got:\n%.*s#   want:\n%s", (int)out.len,
		    out.p ? out.p : "", want);
	T_CHECK(ok, name);
}

static void
test_text_and_commit(void)
{
	begin(0);
	feed(CHUNK("{\"role\":\"assistant\",\"content\":\"\"}"));
	T_CHECK(out.len == 0 && !st.opened, "role-only chunk: no commit");
	feed(CHUNK("{\"content\":\"Hel\"}"));
	feed(CHUNK("{\"content\":\"lo \\\"w\\\" \\u00e9\\ud83d\\ude00\"}"));
	feed("{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}");
	feed("{\"choices\":[],\"usage\":{\"prompt_tokens\":7,"
	    "\"completion_tokens\":3,\"total_tokens\":10,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":2}}}");
	px_dialect_end(&st, &out);
	expect("open\ntext:Hel\ntext:lo \"w\" \xc3\xa9\xf0\x9f\x98\x80\n"
	    "finish:stop:7/3/10:2\n", "text, escapes, usage after finish");
	T_CHECK(st.meaningful && st.have_usage, "meaningful, usage");
}

static void
test_reasoning_flag(void)
{
	begin(0);
	feed(CHUNK("{\"reasoning\":\"hmm\"}"));
	T_CHECK(out.len == 0 && !st.meaningful, "reasoning not asked for");
	begin(PX_DF_REASONING);
	feed(CHUNK("{\"reasoning\":\"hmm\"}"));
	feed(CHUNK("{\"reasoning_content\":\" ok\",\"content\":\"A\"}"));
	expect("open\nthink:hmm\nthink: ok\ntext:A\n", "reasoning first");
}

static void
test_calls(void)
{
	begin(0);
	feed(CHUNK("{\"content\":\"Let me.\"}"));
	feed(CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"get_weather\","
	    "\"arguments\":\"\"}}]}"));
	feed(CHUNK("{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\","
	    "\"function\":{\"name\":\"get_time\",\"arguments\":\"{\\\"tz\\\"\"}}]}"));
	feed(CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
	    "\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]}"));
	feed(CHUNK("{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":"
	    "\":\\\"CET\\\"}\"}}]}"));
	feed("{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}");
	px_dialect_end(&st, &out);
	expect("open\ntext:Let me.\ncall0:call_a:get_weather\n"
	    "call1:call_b:get_time\nargs1:{\"tz\"\nargs0:{\"city\":\"Oslo\"}\n"
	    "args1::\"CET\"}\nfinish:tool_calls:0/0/0:0\n",
	    "interleaved parallel calls");
	T_CHECK(st.ncalls == 2 && strcmp(st.calls[1].args.p,
	    "{\"tz\":\"CET\"}") == 0, "arguments kept per call");

	/* no index (Gemini): an id or a name opens a call, else the last */
	begin(0);
	feed(CHUNK("{\"tool_calls\":[{\"function\":{\"name\":\"a\","
	    "\"arguments\":\"{}\"}}]}"));
	feed(CHUNK("{\"tool_calls\":[{\"id\":\"x2\",\"function\":{\"name\":"
	    "\"b\",\"arguments\":\"{\\\"k\\\"\"}}]}"));
	feed(CHUNK("{\"tool_calls\":[{\"function\":{\"arguments\":\":1}\"}}]}"));
	px_dialect_end(&st, &out);
	expect("open\ncall0:call_resp_u1_0:a\nargs0:{}\ncall1:x2:b\n"
	    "args1:{\"k\"\nargs1::1}\nfinish:tool_calls:0/0/0:0\n",
	    "calls without index; a synthesised id");
}

static void
test_empty_and_fail(void)
{
	begin(0);
	feed(CHUNK("{\"role\":\"assistant\"}"));
	feed("{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}");
	T_CHECK(!st.meaningful && out.len == 0, "nothing meaningful yet");
	px_dialect_end(&st, &out);
	expect("open\nfinish:stop:0/0/0:0\n", "an empty answer still ends");
	begin(0);
	px_dialect_fail(&st, "boom", 1, &out);
	px_dialect_fail(&st, "twice", 0, &out);
	expect("open\nfail:boom:1\n", "fail opens first, once");
	begin(0);
	T_CHECK(px_dialect_chunk(&st, "{\"choices\":[{\"delta\":{\"content\":"
	    "\"x", 30, &sc, &out) == PX_EUPSTREAM && out.len == 0,
	    "a truncated chunk is refused, nothing emitted");
	T_CHECK(px_dialect_chunk(&st, "not json", 8, &sc, &out) == PX_EUPSTREAM,
	    "not JSON");
	T_CHECK(px_dialect_chunk(&st, "[1,2]", 5, &sc, &out) == PX_EUPSTREAM,
	    "not an object");
	feed("{\"choices\":[{\"delta\":{\"content\":5,\"tool_calls\":null},"
	    "\"finish_reason\":null}],\"usage\":null}");
	T_CHECK(out.len == 0 && !st.have_usage, "wrong types are ignored");
}

static void
test_body(void)
{
	static const char body[] = "{\"id\":\"c1\",\"object\":\"chat.completion\","
	    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
	    "\"content\":null,\"tool_calls\":[{\"id\":\"call_0\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
	    "\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},\"finish_reason\":"
	    "\"tool_calls\"}],\"usage\":{\"prompt_tokens\":42,"
	    "\"completion_tokens\":17,\"total_tokens\":59}}";

	begin(0);
	T_CHECK(px_dialect_body(&st, body, strlen(body), &out) == PX_OK,
	    "a completion body");
	expect("body:tool_calls:1:get_weather={\"city\":\"Oslo\"}",
	    "the body through collect mode");
	T_CHECK(st.total_tokens == 59 && st.collect, "usage from the body");
	begin(0);
	T_CHECK(px_dialect_body(&st, "{\"x\":", 5, &out) == PX_EUPSTREAM,
	    "a broken body");
}

/* --- repair ------------------------------------------------------------ */

static int
repaired(const char *in, const char *want, enum px_err want_rc)
{
	cJSON *m = cJSON_Parse(t_quote(in)), *w;
	struct px_verr err;
	enum px_err rc;
	int ok;

	memset(&err, 0, sizeof err);
	rc = px_dialect_repair(m, "input", &err);
	if (rc != want_rc) {
		printf("#   rc %d, %s\n", rc, err.msg);
		cJSON_Delete(m);
		return 0;
	}
	if (want == NULL) {
		ok = strncmp(err.msg, "input: ", 7) == 0 &&
		    strcmp(err.param, "input") == 0;
		cJSON_Delete(m);
		return ok;
	}
	w = cJSON_Parse(t_quote(want));
	ok = cJSON_Compare(m, w, 1);
	if (!ok) {
		char *s = cJSON_PrintUnformatted(m);

		printf("#   got %s\n", s);
		free(s);
	}
	cJSON_Delete(m);
	cJSON_Delete(w);
	return ok;
}

#define A2 "{'role':'assistant','content':null,'tool_calls':[" \
	"{'id':'a','type':'function','function':{'name':'f','arguments':'{}'}}," \
	"{'id':'b','type':'function','function':{'name':'g','arguments':'{}'}}]}"
#define T(id) "{'role':'tool','tool_call_id':'" id "','content':'r" id "'}"
#define U(x) "{'role':'user','content':'" x "'}"

static void
test_repair(void)
{
	T_CHECK(repaired("[" U("q") "," A2 "," T("a") "," T("b") "," U("n") "]",
	    "[" U("q") "," A2 "," T("a") "," T("b") "," U("n") "]", PX_OK),
	    "a good history is unchanged");
	T_CHECK(repaired("[" A2 "," U("between") "," T("b") "," T("a") "]",
	    "[" A2 "," T("b") "," T("a") "," U("between") "]", PX_OK),
	    "a message between calls and results moves after them");
	T_CHECK(repaired("[" A2 "," T("a") "," U("next") "]",
	    "[" A2 "," T("a") ",{'role':'tool','tool_call_id':'b','content':"
	    "'aborted: no result'}," U("next") "]", PX_OK),
	    "a call without a result gets an aborted one");
	T_CHECK(repaired("[" A2 "]", "[" A2 ",{'role':'tool','tool_call_id':"
	    "'a','content':'aborted: no result'},{'role':'tool','tool_call_id':"
	    "'b','content':'aborted: no result'}]", PX_OK),
	    "calls at the end of the history");
	T_CHECK(repaired("[" U("q") "," T("zz") "]", NULL, PX_EBADREQ),
	    "a result for no call: 400");
	T_CHECK(repaired("[" A2 "," T("a") "," T("zz") "," T("b") "]", NULL,
	    PX_EBADREQ), "an unknown id among the results: 400");
	T_CHECK(repaired("[" A2 "," T("a") "," T("b") "," T("a") "]",
	    "[" A2 "," T("a") "," T("b") "]", PX_OK),
	    "a second result for a call is dropped");
}

static void
test_small(void)
{
	T_STREQ(px_dialect_effort("xhigh"), "high", "xhigh -> high");
	T_STREQ(px_dialect_effort("max"), "high", "max -> high");
	T_STREQ(px_dialect_effort("minimal"), "minimal", "minimal passes");
	T_CHECK(px_dialect_effort("extreme") == NULL, "unknown effort");
	T_CHECK(px_dialect_effort(NULL) == NULL, "no effort");
	T_CHECK(px_dialect_estimate(0) == 1 && px_dialect_estimate(4) == 1 &&
	    px_dialect_estimate(5) == 2, "ceil(bytes/4), at least 1");
	T_CHECK(px_dialect_get(PX_DIALECT_CHAT) != NULL &&
	    px_dialect_get(PX_DIALECT__MAX) == NULL, "registry");
}

int
main(void)
{
	px_dstate_init(&st);
	px_buf_init(&out, 1u << 20);
	px_buf_init(&sc, 1u << 20);
	test_text_and_commit();
	test_reasoning_flag();
	test_calls();
	test_empty_and_fail();
	test_body();
	test_repair();
	test_small();
	px_dstate_free(&st);
	px_buf_free(&out);
	px_buf_free(&sc);
	return t_done();
}
