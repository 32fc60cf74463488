/*
 * fuzz_dialect_chunk.c -- libFuzzer target for the shared dialect
 * engine's chunk reader (common/dialect.c: the zero-allocation pull
 * reader behind px_dialect_chunk and px_dialect_body) through a recording
 * dialect, as in tests/unit/test_dialect.c.
 * Owns: its checks and the reference they compare with, if any.
 * Never: network, files or clocks; links only the modules it fuzzes.
 * Input: line 1 "flags" (1 PX_DF_REASONING, 2 end with px_dialect_fail,
 * 4 a custom tool named "f"); the rest canonical chunks, one a line, each
 * an exact-size copy (not NUL-terminated), fed as one stream, then the
 * whole rest as one non-stream body (px_dialect_body, a fresh state).
 * Checks: px_dialect_chunk returns OK, EUPSTREAM (nothing called,
 * nothing written), ETOOBIG or ENOMEM; the callbacks come in order: open
 * once and first, calls started at 0, 1, 2, ... (st->ncalls matching),
 * arguments only for started calls and already appended to their args
 * (which end up the concatenation of what call_args was given), finish
 * or fail once and last; reasoning only with PX_DF_REASONING; deltas
 * non-empty; call ids non-empty, ids and names NUL-terminated within
 * their arrays; every text, reasoning, argument, id and name valid UTF-8
 * when the chunk was. And, for a chunk that is strict UTF-8 JSON without
 * duplicate member names or \u0000 (so cJSON reads what the engine
 * reads), the text it emits is choices[0].delta (or .message) content
 * then refusal, its reasoning the reasoning (or reasoning_content) field,
 * as cJSON reads them.
 */
#include <cJSON.h>

#include "dialect.h"
#include "fuzz_util.h"

#define MAX_CALLS PX_DCALLS

/* What the callbacks saw. */
static struct {
	struct px_dstate *st;
	int    opened, ended, failed, bodies;
	int    utf8;		/* the current chunk is valid UTF-8 */
	unsigned started;	/* call_start count */
	char  *args[MAX_CALLS];	/* call_args given, per call */
	size_t nargs[MAX_CALLS];
	struct px_buf text, reasoning;	/* of the current chunk */
} R;

static void
rec_any(const struct px_dstate *st)
{
	FZ_CHECK(st == R.st, "callbacks get the request's state");
	FZ_CHECK(!R.ended && !R.failed, "nothing after finish or fail");
}

/* Deltas are valid UTF-8 when the chunk was. */
static void
rec_utf8(const char *p, size_t n, const char *what)
{
	FZ_CHECK(!R.utf8 || fz_utf8_ok(p, n), what);
}

static enum px_err
rec_open(struct px_dstate *st, struct px_buf *out)
{
	rec_any(st);
	FZ_CHECK(R.opened == 0, "open once");
	FZ_CHECK(R.started == 0 && st->opened, "open first");
	R.opened = 1;
	return px_buf_adds(out, "open\n");
}

static enum px_err
rec_text(struct px_dstate *st, const char *p, size_t n, struct px_buf *out)
{
	rec_any(st);
	FZ_CHECK(R.opened, "text after open");
	FZ_CHECK(n > 0, "text deltas are not empty");
	rec_utf8(p, n, "text is valid UTF-8 when the chunk was");
	if (px_buf_add(&R.text, p, n) != PX_OK)
		abort();
	return px_buf_add(out, p, n);
}

static enum px_err
rec_reasoning(struct px_dstate *st, const char *p, size_t n,
    struct px_buf *out)
{
	rec_any(st);
	FZ_CHECK(R.opened, "reasoning after open");
	FZ_CHECK(st->flags & PX_DF_REASONING, "reasoning only when asked");
	FZ_CHECK(n > 0, "reasoning deltas are not empty");
	rec_utf8(p, n, "reasoning is valid UTF-8 when the chunk was");
	if (px_buf_add(&R.reasoning, p, n) != PX_OK)
		abort();
	return px_buf_add(out, p, n);
}

static enum px_err
rec_start(struct px_dstate *st, unsigned k, struct px_buf *out)
{
	const struct px_dcall *c = &st->calls[k];
	size_t idn = strnlen(c->id, sizeof c->id);
	size_t nn = strnlen(c->name, sizeof c->name);

	rec_any(st);
	FZ_CHECK(R.opened, "calls after open");
	FZ_CHECK(k == R.started && st->ncalls == k + 1,
	    "calls start at 0, 1, 2, ...");
	FZ_CHECK(idn > 0 && idn < sizeof c->id, "a call id, terminated");
	FZ_CHECK(nn < sizeof c->name, "a call name, terminated");
	/* (cut at 63 / 127 bytes before a character: finding 9) */
	FZ_CHECK(!R.utf8 || fz_utf8_ok(c->id, idn),
	    "call id valid UTF-8 when the chunk was");
	FZ_CHECK(!R.utf8 || fz_utf8_ok(c->name, nn),
	    "call name valid UTF-8 when the chunk was");
	FZ_CHECK(c->custom == (strcmp(c->name, "f") == 0 && st->ncustom > 0),
	    "custom exactly for a custom tool's name");
	R.started++;
	return px_buf_printf(out, "call%u:%s:%s\n", k, c->id, c->name);
}

static enum px_err
rec_args(struct px_dstate *st, unsigned k, const char *p, size_t n,
    struct px_buf *out)
{
	const struct px_buf *a = &st->calls[k].args;
	char *x;

	rec_any(st);
	FZ_CHECK(k < R.started && k < st->ncalls, "arguments of a started call");
	FZ_CHECK(n > 0, "argument deltas are not empty");
	FZ_CHECK(a->len >= n && memcmp(a->p + a->len - n, p, n) == 0,
	    "arguments already appended to the call's args");
	rec_utf8(p, n, "arguments valid UTF-8 when the chunk was");
	x = realloc(R.args[k], R.nargs[k] + n + 1);
	if (x == NULL)
		abort();
	memcpy(x + R.nargs[k], p, n);
	R.args[k] = x;
	R.nargs[k] += n;
	return px_buf_add(out, p, n);
}

static enum px_err
rec_finish(struct px_dstate *st, struct px_buf *out)
{
	rec_any(st);
	FZ_CHECK(R.opened, "finish after open");
	FZ_CHECK(st->finish[0] != '\0', "a finish reason");
	FZ_CHECK(strnlen(st->finish, sizeof st->finish) < sizeof st->finish,
	    "finish terminated");
	R.ended = 1;
	return px_buf_adds(out, "finish\n");
}

static enum px_err
rec_fail(struct px_dstate *st, const char *msg, int busy, struct px_buf *out)
{
	rec_any(st);
	FZ_CHECK(R.opened, "fail after open");
	R.failed = 1;
	return px_buf_printf(out, "fail:%s:%d\n", msg, busy);
}

static enum px_err
rec_body(struct px_dstate *st, struct px_buf *out)
{
	FZ_CHECK(st == R.st && st->collect && R.ended && R.bodies++ == 0,
	    "body once, after finish, in collect mode");
	return px_buf_adds(out, "body\n");
}

static const struct px_dialect rec = {
	.id = PX_DIALECT__MAX, .name = "rec", .open = rec_open,
	.text = rec_text, .reasoning = rec_reasoning, .call_start = rec_start,
	.call_args = rec_args, .finish = rec_finish, .fail = rec_fail,
	.body = rec_body,
};

/* --- the reference: cJSON reading the same chunk ------------------------ */

/* No object in j has two members of one name. */
static int
unique_names(const cJSON *j)
{
	const cJSON *a, *b;

	for (a = j != NULL ? j->child : NULL; a != NULL; a = a->next) {
		if (cJSON_IsObject(j))
			for (b = a->next; b != NULL; b = b->next)
				if (strcmp(a->string, b->string) == 0)
					return 0;
		if (!unique_names(a))
			return 0;
	}
	return 1;
}

static const cJSON *
get(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) :
	    NULL;
}

static void
add_str(struct px_buf *b, const cJSON *s)
{
	if (cJSON_IsString(s) && px_buf_adds(b, s->valuestring) != PX_OK)
		abort();
}

/* The text and reasoning cJSON reads from choices[0] of chunk c. */
static int
reference(const char *c, size_t n, unsigned flags, struct px_buf *text,
    struct px_buf *reasoning)
{
	cJSON *j;
	const cJSON *ch, *d, *r;
	int ok;

	px_buf_reset(text);
	px_buf_reset(reasoning);
	if (!fz_json_ok(c, n, 1) || fz_memmem(c, n, "\\u0000", 6) != NULL)
		return 0;
	j = cJSON_ParseWithLength(c, n);
	ok = cJSON_IsObject(j) && unique_names(j);
	ch = cJSON_GetArrayItem(get(j, "choices"), 0);
	if (!cJSON_IsArray(get(j, "choices")))
		ch = NULL;
	d = get(ch, "delta");
	if (d != NULL && get(ch, "message") != NULL)
		ok = 0;		/* both read into one place */
	if (d == NULL)
		d = get(ch, "message");
	r = get(d, "reasoning");
	if (r != NULL && get(d, "reasoning_content") != NULL)
		ok = 0;
	if (r == NULL)
		r = get(d, "reasoning_content");
	if (ok && (flags & 1))
		add_str(reasoning, r);
	if (ok) {
		add_str(text, get(d, "content"));
		add_str(text, get(d, "refusal"));
	}
	cJSON_Delete(j);
	return ok;
}

/* --- the target ------------------------------------------------------------ */

static int
same(const struct px_buf *a, const struct px_buf *b)
{
	return a->len == b->len && (a->len == 0 ||
	    memcmp(a->p, b->p, a->len) == 0);
}

static void
begin(struct px_dstate *st, unsigned flags)
{
	size_t k;

	px_dstate_reset(st, &rec);
	snprintf(st->id, sizeof st->id, "resp_0123456789abcdef01234567");
	snprintf(st->model, sizeof st->model, "m");
	st->flags = (flags & 1) ? PX_DF_REASONING : 0;
	if (flags & 4)
		snprintf(st->custom[st->ncustom++], PX_DNAME, "f");
	for (k = 0; k < MAX_CALLS; k++) {
		free(R.args[k]);
		R.args[k] = NULL;
		R.nargs[k] = 0;
	}
	R.st = st;
	R.opened = R.ended = R.failed = R.bodies = 0;
	R.started = 0;
}

/* Each call's args are what call_args was given. */
static void
check_args(const struct px_dstate *st)
{
	unsigned k;

	FZ_CHECK(st->ncalls == R.started, "every call was started");
	for (k = 0; k < st->ncalls; k++)
		FZ_CHECK(st->calls[k].args.len == R.nargs[k] &&
		    (R.nargs[k] == 0 || memcmp(st->calls[k].args.p, R.args[k],
		    R.nargs[k]) == 0), "args are the deltas given");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct px_dstate st;
	static struct px_buf out, sc, want_t, want_r;
	static int init;
	struct fz_in in = { data, size };
	const uint8_t *l, *p, *e, *nl;
	size_t ln, n, before;
	long long v[1];
	unsigned flags;
	enum px_err rc;
	char *c;
	int ref;

	if (!init) {
		px_dstate_init(&st);
		px_buf_init(&out, 64u << 20);
		px_buf_init(&sc, (1u << 20) + 1024);
		px_buf_init(&R.text, 64u << 20);
		px_buf_init(&R.reasoning, 64u << 20);
		px_buf_init(&want_t, 64u << 20);
		px_buf_init(&want_r, 64u << 20);
		init = 1;
	}
	fz_line(&in, &l, &ln);
	fz_ints(l, ln, v, 1);
	flags = (unsigned)v[0];

	begin(&st, flags);
	px_buf_reset(&out);
	/* a scratch never used, as a worker's before its first event: its
	 * p is NULL until a string is read into it (finding 8) */
	px_buf_free(&sc);
	px_buf_init(&sc, (1u << 20) + 1024);
	for (p = in.p, e = in.p + in.n; p < e; p += n + (nl != NULL)) {
		nl = memchr(p, '\n', (size_t)(e - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(e - p);
		c = fz_dup(p, n, n == 0);	/* relay.c never passes NULL */
		R.utf8 = fz_utf8_ok(p, n);
		px_buf_reset(&R.text);
		px_buf_reset(&R.reasoning);
		before = out.len;
		rc = px_dialect_chunk(&st, c, n, &sc, &out);
		FZ_CHECK(rc == PX_OK || rc == PX_EUPSTREAM ||
		    rc == PX_ETOOBIG || rc == PX_ENOMEM, "chunk result");
		FZ_CHECK(rc != PX_EUPSTREAM || out.len == before,
		    "a chunk that is not JSON calls nothing");
		ref = rc == PX_OK && reference(c, n, flags, &want_t, &want_r);
		free(c);
		if (ref && !same(&R.text, &want_t)) {
			fprintf(stderr, "text %.*s want %.*s\n",
			    (int)R.text.len, R.text.p, (int)want_t.len,
			    want_t.p);
			FZ_CHECK(0, "the text cJSON reads");
		}
		FZ_CHECK(!ref || same(&R.reasoning, &want_r),
		    "the reasoning cJSON reads");
		if (rc == PX_ETOOBIG || rc == PX_ENOMEM)
			break;
	}
	R.utf8 = 1;
	if (flags & 2)
		rc = px_dialect_fail(&st, "stop", 0, &out);
	else
		rc = px_dialect_end(&st, &out);
	FZ_CHECK(rc == PX_OK && R.opened && (R.ended || R.failed),
	    "the stream ends");
	check_args(&st);

	/* the whole rest as one body */
	begin(&st, flags);
	R.utf8 = fz_utf8_ok(in.p, in.n);
	/* NULL when empty, as relay.c may pass (finding 8) */
	c = fz_dup(in.p, in.n, 0);
	px_buf_reset(&out);
	rc = px_dialect_body(&st, c, in.n, &out);
	free(c);
	FZ_CHECK(rc == PX_OK || rc == PX_EUPSTREAM || rc == PX_ETOOBIG ||
	    rc == PX_ENOMEM, "body result");
	FZ_CHECK(rc != PX_OK || (R.bodies == 1 && out.len == 5 &&
	    memcmp(out.p, "body\n", 5) == 0), "a body: body() alone writes");
	FZ_CHECK(rc != PX_EUPSTREAM || (!R.opened && R.bodies == 0),
	    "not a completion: nothing called");
	if (rc == PX_OK)
		check_args(&st);
	return 0;
}
