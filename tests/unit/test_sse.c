/*
 * test_sse.c -- vectors for the text/event-stream parser.
 * Every vector is fed whole, byte by byte, in every 2-way and every 3-way
 * split; the log of events and comments, the return code and the pending
 * flag must equal the expected ones each time.
 */
#include <stdio.h>
#include <string.h>

#include "sse.h"
#include "tharness.h"

#define DEF_CAP 64

struct rec {
	char   log[1024];
	size_t len;
	int    stop;		/* callbacks stop on the text "STOP" */
	int    bad_nul;		/* data or comment not NUL-terminated */
};

/* Append tag[t] to the log; the log is sized for every vector. */
static void
rec_add(struct rec *r, char tag, const char *t, size_t n)
{
	size_t i;

	if (r->len + n + 4 > sizeof(r->log))
		return;
	r->log[r->len++] = tag;
	r->log[r->len++] = '[';
	for (i = 0; i < n; i++)
		r->log[r->len++] = t[i];
	r->log[r->len++] = ']';
	r->log[r->len] = '\0';
}

static int
is_stop(const struct rec *r, const char *t, size_t n)
{
	return r->stop && n == 4 && memcmp(t, "STOP", 4) == 0;
}

static int
on_event(void *ctx, const char *d, size_t n)
{
	struct rec *r = ctx;

	if (d[n] != '\0' || strlen(d) != n)
		r->bad_nul++;
	rec_add(r, 'E', d, n);
	return is_stop(r, d, n);
}

static int
on_comment(void *ctx, const char *t, size_t n)
{
	struct rec *r = ctx;

	if (t[n] != '\0')
		r->bad_nul++;
	rec_add(r, 'C', t, n);
	return is_stop(r, t, n);
}

struct vec {
	const char *name;
	const char *in;
	size_t      cap;	/* 0: DEF_CAP */
	int         stop;
	const char *log;	/* expected events E[..] and comments C[..] */
	enum px_err rc;
	int         pending;	/* checked only when rc is PX_OK */
};

static const struct vec vecs[] = {
	{ "lf", "data: a\n\n", 0, 0, "E[a]", PX_OK, 0 },
	{ "crlf", "data: a\r\n\r\n", 0, 0, "E[a]", PX_OK, 0 },
	{ "cr", "data: a\r\r", 0, 0, "E[a]", PX_OK, 0 },
	{ "multi lf", "data: a\ndata: b\n\n", 0, 0, "E[a\nb]", PX_OK, 0 },
	{ "multi crlf", "data: a\r\ndata: b\r\n\r\n", 0, 0, "E[a\nb]",
	  PX_OK, 0 },
	{ "multi cr", "data: a\rdata: b\r\r", 0, 0, "E[a\nb]", PX_OK, 0 },
	{ "mixed", "data: a\r\ndata: b\rdata: c\n\r\ndata: d\n\n", 0, 0,
	  "E[a\nb\nc]E[d]", PX_OK, 0 },
	{ "lf then cr is two ends", "data: a\n\rdata: b\n\n", 0, 0,
	  "E[a]E[b]", PX_OK, 0 },
	{ "cr cr lf", "data: a\r\r\ndata: b\n\n", 0, 0, "E[a]E[b]",
	  PX_OK, 0 },
	{ "openrouter comment",
	  ": OPENROUTER PROCESSING\n\ndata: {\"x\":1}\n\n", 0, 0,
	  "C[ OPENROUTER PROCESSING]E[{\"x\":1}]", PX_OK, 0 },
	{ "comment crlf inside event",
	  "data: a\r\n: keep\r\ndata: b\r\n\r\n", 0, 0, "C[ keep]E[a\nb]",
	  PX_OK, 0 },
	{ "empty comment", ":\n\n", 0, 0, "C[]", PX_OK, 0 },
	{ "comment with data text", ":data: x\n\n", 0, 0, "C[data: x]",
	  PX_OK, 0 },
	{ "no space after colon", "data:a\n\n", 0, 0, "E[a]", PX_OK, 0 },
	{ "two spaces strip one", "data:  a\n\n", 0, 0, "E[ a]", PX_OK, 0 },
	{ "tab not stripped", "data:\ta\n\n", 0, 0, "E[\ta]", PX_OK, 0 },
	{ "trailing space kept", "data: a \n\n", 0, 0, "E[a ]", PX_OK, 0 },
	{ "bare data", "data\n\n", 0, 0, "E[]", PX_OK, 0 },
	{ "data colon only", "data:\n\n", 0, 0, "E[]", PX_OK, 0 },
	{ "data colon space", "data: \n\n", 0, 0, "E[]", PX_OK, 0 },
	{ "data then bare data", "data: a\ndata\n\n", 0, 0, "E[a\n]",
	  PX_OK, 0 },
	{ "blank lines only", "\n\n\r\n\r\r", 0, 0, "", PX_OK, 0 },
	{ "ignored fields",
	  "event: message\nid: 7\nretry: 100\ndata: a\nfoo: bar\n\n", 0, 0,
	  "E[a]", PX_OK, 0 },
	{ "fields without data", "event: ping\nid: 1\n\n", 0, 0, "",
	  PX_OK, 0 },
	{ "field name is case-sensitive", "Data: a\n\n", 0, 0, "", PX_OK, 0 },
	{ "field name must be exact", "data : a\ndatax: b\ndat: c\n\n", 0, 0,
	  "", PX_OK, 0 },
	{ "colon in value", "data: {\"a\":\"b:c\"}\n\n", 0, 0,
	  "E[{\"a\":\"b:c\"}]", PX_OK, 0 },
	{ "done", "data: {\"x\":1}\n\ndata: [DONE]\n\n", 0, 0,
	  "E[{\"x\":1}]E[[DONE]]", PX_OK, 0 },
	{ "gemini crlf events",
	  "data: {\"candidates\":[1]}\r\n\r\ndata: {\"c\":2}\r\n\r\n", 0, 0,
	  "E[{\"candidates\":[1]}]E[{\"c\":2}]", PX_OK, 0 },
	{ "openrouter stream",
	  ": OPENROUTER PROCESSING\r\n\r\ndata: {\"d\":\"He\"}\r\n\r\n"
	  ": OPENROUTER PROCESSING\r\n\r\ndata: {\"d\":\"llo\"}\r\n\r\n"
	  "data: [DONE]\r\n\r\n", 0, 0,
	  "C[ OPENROUTER PROCESSING]E[{\"d\":\"He\"}]"
	  "C[ OPENROUTER PROCESSING]E[{\"d\":\"llo\"}]E[[DONE]]", PX_OK, 0 },
	{ "partial trailing event", "data: a\n\ndata: b\n", 0, 0, "E[a]",
	  PX_OK, 1 },
	{ "partial trailing line", "data: a\n\ndata: b", 0, 0, "E[a]",
	  PX_OK, 1 },
	{ "partial comment", ": partial", 0, 0, "", PX_OK, 1 },
	{ "partial ignored field", "event: x", 0, 0, "", PX_OK, 1 },
	{ "complete ignored field", "event: x\n", 0, 0, "", PX_OK, 0 },
	{ "trailing cr ends event", "data: a\n\r", 0, 0, "E[a]", PX_OK, 0 },
	{ "trailing cr ends line", "data: a\r", 0, 0, "", PX_OK, 1 },
	{ "empty input", "", 0, 0, "", PX_OK, 0 },
	{ "line at cap", "data: 0123456789\n\n", 16, 0, "E[0123456789]",
	  PX_OK, 0 },
	{ "line at cap crlf", "data: 0123456789\r\n\r\n", 16, 0,
	  "E[0123456789]", PX_OK, 0 },
	{ "line over cap", "data: a\n\ndata: 0123456789A\n\n", 16, 0,
	  "E[a]", PX_ETOOBIG, 0 },
	{ "partial line over cap", "data: a\n\ndata: 0123456789AB", 16, 0,
	  "E[a]", PX_ETOOBIG, 0 },
	{ "comment over cap", ": 0123456789ABCDEF\n\n", 16, 0, "",
	  PX_ETOOBIG, 0 },
	{ "ignored field over cap", "event: 0123456789\n\n", 16, 0, "",
	  PX_ETOOBIG, 0 },
	{ "data at cap", "data:1234567\ndata:12345678\n\n", 16, 0,
	  "E[1234567\n12345678]", PX_OK, 0 },
	{ "data over cap", "data:12345678\ndata:12345678\n\n", 16, 0, "",
	  PX_ETOOBIG, 0 },
	{ "callback stop", "data: a\n\ndata: STOP\n\ndata: c\n\n", 0, 1,
	  "E[a]E[STOP]", PX_EGONE, 0 },
	{ "comment stop", ":STOP\ndata: x\n\n", 0, 1, "C[STOP]",
	  PX_EGONE, 0 },
	{ "no stop without flag", "data: STOP\n\ndata: c\n\n", 0, 0,
	  "E[STOP]E[c]", PX_OK, 0 },
};

#define NVECS (sizeof(vecs) / sizeof(vecs[0]))

struct result {
	struct rec  r;
	enum px_err rc;
	int         pending;
};

static int total_bad_nul;

/* Feed v->in cut at cuts[0..ncuts) (ascending, may repeat: empty pieces). */
static void
run(const struct vec *v, const size_t *cuts, size_t ncuts, struct result *res)
{
	struct px_sse s;
	size_t n = strlen(v->in), from = 0, i;

	*res = (struct result){ .rc = PX_OK };
	res->r.stop = v->stop;
	px_sse_init(&s, v->cap ? v->cap : DEF_CAP, on_event, on_comment,
	    &res->r);
	for (i = 0; i <= ncuts && res->rc == PX_OK; i++) {
		size_t to = i < ncuts ? cuts[i] : n;

		res->rc = px_sse_feed(&s, v->in + from, to - from);
		from = to;
	}
	res->pending = px_sse_pending(&s);
	total_bad_nul += res->r.bad_nul;
	px_sse_free(&s);
}

static int
matches(const struct vec *v, const struct result *res)
{
	if (res->rc != v->rc || strcmp(res->r.log, v->log) != 0)
		return 0;
	return v->rc != PX_OK || res->pending == v->pending;
}

static void
report(const struct vec *v, const char *mode, const size_t *cuts,
    size_t ncuts, const struct result *res)
{
	size_t i;

	printf("# %s [%s] cuts:", v->name, mode);
	for (i = 0; i < ncuts; i++)
		printf(" %zu", cuts[i]);
	printf(" got rc=%d pending=%d log=\"%s\"\n", (int)res->rc,
	    res->pending, res->r.log);
}

static int
check_cuts(const struct vec *v, const char *mode, const size_t *cuts,
    size_t ncuts)
{
	struct result res;

	run(v, cuts, ncuts, &res);
	if (matches(v, &res))
		return 1;
	report(v, mode, cuts, ncuts, &res);
	return 0;
}

static void
test_vector(const struct vec *v)
{
	size_t n = strlen(v->in), cuts[256], i, j;
	int ok;

	if (n >= sizeof(cuts) / sizeof(cuts[0])) {
		T_CHECK(0, v->name);	/* vector too long for the cut table */
		return;
	}
	T_CHECK(check_cuts(v, "whole", NULL, 0), v->name);

	for (i = 1; i < n; i++)
		cuts[i - 1] = i;
	T_CHECK(check_cuts(v, "byte by byte", cuts, n > 0 ? n - 1 : 0),
	    v->name);

	ok = 1;
	for (i = 0; i <= n && ok; i++)
		ok = check_cuts(v, "2-way split", &i, 1);
	T_CHECK(ok, v->name);

	ok = 1;
	for (i = 0; i <= n && ok; i++) {
		for (j = i; j <= n && ok; j++) {
			cuts[0] = i;
			cuts[1] = j;
			ok = check_cuts(v, "3-way split", cuts, 2);
		}
	}
	T_CHECK(ok, v->name);
}

static int
count_event(void *ctx, const char *d, size_t n)
{
	(void)d;
	(void)n;
	++*(int *)ctx;
	return 0;
}

/* Once the buffers have grown, more events must not touch the heap. */
static void
test_no_alloc_per_event(void)
{
	static const char ev[] =
	    "data: {\"choices\":[{\"delta\":{\"content\":\"tok\"}}]}\r\n\r\n";
	struct px_sse s;
	char *line_p, *data_p;
	size_t line_cap, data_cap, i, off;
	int count = 0;

	px_sse_init(&s, 65536, count_event, NULL, &count);
	/* warm up: a 7-byte stride makes lines straddle feeds */
	for (off = 0; off + 7 <= sizeof(ev) - 1; off += 7)
		px_sse_feed(&s, ev + off, 7);
	px_sse_feed(&s, ev + off, sizeof(ev) - 1 - off);
	line_p = s.line.p;
	data_p = s.data.p;
	line_cap = s.line.cap;
	data_cap = s.data.cap;
	for (i = 0; i < 1000; i++) {
		for (off = 0; off + 7 <= sizeof(ev) - 1; off += 7)
			px_sse_feed(&s, ev + off, 7);
		px_sse_feed(&s, ev + off, sizeof(ev) - 1 - off);
	}
	T_CHECK(count == 1001, "1001 events delivered");
	T_CHECK(line_p != NULL && s.line.p == line_p &&
	    s.line.cap == line_cap, "line buffer reused");
	T_CHECK(data_p != NULL && s.data.p == data_p &&
	    s.data.cap == data_cap, "data buffer reused");
	px_sse_free(&s);
}

static enum px_err
feed_str(struct px_sse *s, const char *t)
{
	return px_sse_feed(s, t, strlen(t));
}

static void
test_reset(void)
{
	struct px_sse s;
	struct rec r = { .len = 0 };
	char *data_p;

	px_sse_init(&s, DEF_CAP, on_event, on_comment, &r);
	feed_str(&s, "data: a\ndata: b");
	T_CHECK(px_sse_pending(&s), "pending before reset");
	data_p = s.data.p;
	px_sse_reset(&s);
	T_CHECK(!px_sse_pending(&s), "nothing pending after reset");
	T_CHECK(s.data.p == data_p && data_p != NULL, "reset keeps memory");
	feed_str(&s, "\n\ndata: c\n\n");
	T_CHECK(strcmp(r.log, "E[c]") == 0,
	    "reset forgets partial line and data");

	feed_str(&s, "data: x\r");
	px_sse_reset(&s);
	T_CHECK(s.last_cr == 0, "reset forgets a trailing CR");

	px_sse_reset(&s);
	r.len = 0;
	r.log[0] = '\0';
	T_CHECK(feed_str(&s, "data: 0123456789012345678901234567890123456"
	    "7890123456789012345678901\n") == PX_ETOOBIG, "over cap");
	px_sse_reset(&s);
	T_CHECK(feed_str(&s, "data: ok\n\n") == PX_OK &&
	    strcmp(r.log, "E[ok]") == 0, "usable after reset from ETOOBIG");
	px_sse_free(&s);
	px_sse_free(&s);	/* twice, and NULL: no crash (ASan watches) */
	px_sse_free(NULL);
	T_CHECK(s.line.p == NULL && s.data.p == NULL && !s.have_data &&
	    !s.last_cr, "freed twice: empty, nothing left to free");
}

static void
test_null_comment_cb(void)
{
	struct px_sse s;
	int count = 0;

	px_sse_init(&s, DEF_CAP, count_event, NULL, &count);
	T_CHECK(feed_str(&s, ": ping\n\ndata: a\n: x\n\n") == PX_OK,
	    "NULL comment callback: feed ok");
	T_CHECK(count == 1, "NULL comment callback: event still delivered");
	px_sse_free(&s);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < NVECS; i++)
		test_vector(&vecs[i]);
	T_CHECK(total_bad_nul == 0, "data and comments NUL-terminated");
	test_no_alloc_per_event();
	test_reset();
	test_null_comment_cb();
	return t_done();
}
