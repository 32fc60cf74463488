/*
 * dialect.c -- the engine shared by the translated dialects (dialect.h).
 * Owns: reading canonical chat chunks without building a tree (a small
 * pull reader over the JSON text: the stream path must not allocate per
 * event), turning them into the dialect callbacks (calls by index, the
 * commit point, finish reason, usage), the non-stream body read, the
 * framing helpers, the history repair both decoders need, and the
 * dialect registry.
 * Never: writes to the client, allocates per stream event (scratch and
 * state buffers are reused), or knows a dialect's wire format.
 */
#include "dialect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "decoder.h"

extern const struct px_dialect px_dialect_chat;
extern const struct px_dialect px_dialect_responses;
extern const struct px_dialect px_dialect_messages;

static const struct px_dialect *const dialects[PX_DIALECT__MAX] = {
	[PX_DIALECT_CHAT]      = &px_dialect_chat,
	[PX_DIALECT_RESPONSES] = &px_dialect_responses,
	[PX_DIALECT_MESSAGES]  = &px_dialect_messages,
};

const struct px_dialect *
px_dialect_get(enum px_dialect_id id)
{
	if ((unsigned)id >= PX_DIALECT__MAX)
		return NULL;
	return dialects[id];
}

/* --- state ---------------------------------------------------------------- */

#define BUF_MAX (PX_DKEEP_MAX + (64u << 10))	/* kept text plus framing */

void
px_dstate_init(struct px_dstate *st)
{
	memset(st, 0, sizeof(*st));
	px_buf_init(&st->echo, 1u << 20);
	px_buf_init(&st->text, BUF_MAX);
	px_buf_init(&st->reasoning, BUF_MAX);
	px_buf_init(&st->items, BUF_MAX);
}

/* A call back to its unused state; its buffer keeps up to 1 MiB. */
static void
reset_call(struct px_dcall *c)
{
	struct px_buf args = c->args;

	memset(c, 0, sizeof(*c));
	c->args = args;
	c->out_index = -1;
	px_buf_reset(&c->args);
	px_buf_shrink(&c->args, 1u << 20);
}

/* Room for one more call (ncalls < PX_DCALLS already checked). */
static enum px_err
calls_room(struct px_dstate *st)
{
	unsigned cap = st->calls_cap ? st->calls_cap * 2 : 8, k;
	struct px_dcall *c;

	if (st->ncalls < st->calls_cap)
		return PX_OK;
	if (cap > PX_DCALLS)
		cap = PX_DCALLS;
	c = realloc(st->calls, cap * sizeof(*c));
	if (c == NULL)
		return PX_ENOMEM;
	for (k = st->calls_cap; k < cap; k++) {
		memset(&c[k], 0, sizeof(c[k]));
		px_buf_init(&c[k].args, BUF_MAX);
		c[k].out_index = -1;
	}
	st->calls = c;
	st->calls_cap = cap;
	return PX_OK;
}

/* Everything but the buffers goes back to zero; buffers keep memory up
 * to 1 MiB each (a larger one is freed after an unusual response). Only
 * the calls the last response used are touched. */
void
px_dstate_reset(struct px_dstate *st, const struct px_dialect *d)
{
	struct px_buf keep[4];
	struct px_dcall *calls = st->calls;
	unsigned k, cap = st->calls_cap;

	for (k = 0; k < st->ncalls && k < cap; k++)
		reset_call(&calls[k]);
	keep[0] = st->echo;
	keep[1] = st->text;
	keep[2] = st->reasoning;
	keep[3] = st->items;
	memset(st, 0, sizeof(*st));
	st->echo = keep[0];
	st->text = keep[1];
	st->reasoning = keep[2];
	st->items = keep[3];
	st->calls = calls;
	st->calls_cap = cap;
	px_buf_reset(&st->echo);
	px_buf_reset(&st->text);
	px_buf_reset(&st->reasoning);
	px_buf_reset(&st->items);
	px_buf_shrink(&st->echo, 1u << 20);
	px_buf_shrink(&st->text, 1u << 20);
	px_buf_shrink(&st->reasoning, 1u << 20);
	px_buf_shrink(&st->items, 1u << 20);
	st->d = d;
	st->open_index = -1;
}

void
px_dstate_rewind(struct px_dstate *st)
{
	unsigned k;

	st->collect = st->opened = st->meaningful = st->failed = 0;
	st->seq = st->next_index = 0;
	st->open_kind = PX_DOPEN_NONE;
	st->open_index = -1;
	st->open_id[0] = '\0';
	px_buf_reset(&st->text);
	px_buf_reset(&st->reasoning);
	px_buf_reset(&st->items);
	for (k = 0; k < st->ncalls && k < st->calls_cap; k++) {
		px_buf_reset(&st->calls[k].args);
		st->calls[k].id[0] = st->calls[k].name[0] = '\0';
		st->calls[k].out_index = -1;
		st->calls[k].custom = 0;
	}
	st->ncalls = 0;
	st->finish[0] = '\0';
	st->have_usage = 0;
	st->prompt_tokens = st->completion_tokens = st->total_tokens = 0;
	st->cached_tokens = st->reasoning_tokens = st->cache_write_tokens = 0;
	st->overflow = 0;
}

void
px_dstate_free(struct px_dstate *st)
{
	unsigned k;

	px_buf_free(&st->echo);
	px_buf_free(&st->text);
	px_buf_free(&st->reasoning);
	px_buf_free(&st->items);
	for (k = 0; k < st->calls_cap; k++)
		px_buf_free(&st->calls[k].args);
	free(st->calls);
	st->calls = NULL;
	st->calls_cap = 0;
}

/* --- framing helpers ------------------------------------------------------ */

enum px_err
px_devent_begin(struct px_buf *out, const char *type)
{
	enum px_err rc = px_buf_adds(out, "event: ");

	if (rc == PX_OK)
		rc = px_buf_adds(out, type);
	if (rc == PX_OK)
		rc = px_buf_adds(out, "\ndata: ");
	return rc;
}

enum px_err
px_devent_end(struct px_buf *out)
{
	return px_buf_adds(out, "\n\n");
}

enum px_err
px_djson_str(struct px_buf *out, const char *s, size_t n)
{
	enum px_err rc = px_buf_addc(out, '"');

	if (rc == PX_OK)
		rc = px_buf_add_json_str(out, s, n);
	if (rc == PX_OK)
		rc = px_buf_addc(out, '"');
	return rc;
}

const char *
px_dialect_effort(const char *effort)
{
	static const char *const pass[] = {
		"none", "minimal", "low", "medium", "high"
	};
	size_t i;

	if (effort == NULL)
		return NULL;
	for (i = 0; i < sizeof(pass) / sizeof(pass[0]); i++)
		if (strcmp(effort, pass[i]) == 0)
			return pass[i];
	if (strcmp(effort, "xhigh") == 0 || strcmp(effort, "max") == 0)
		return "high";
	return NULL;
}

long
px_dialect_estimate(size_t prompt_bytes)
{
	size_t t = (prompt_bytes + 3) / 4;

	return t > 0 ? (long)t : 1;
}

/* --- a pull reader over JSON text ---------------------------------------- */

/*
 * Just enough JSON to pick fields out of a chunk: skip any value, walk the
 * members of an object and the elements of an array, unescape a string
 * into scratch. Input is upstream text that may be malformed: every
 * function stops at the end and reports failure instead of reading past.
 */
struct rd {
	const char *p, *end;
	int         bad;
};

static void
ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
	    *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int
eat(struct rd *r, char c)
{
	ws(r);
	if (r->p < r->end && *r->p == c) {
		r->p++;
		return 1;
	}
	return 0;
}

/* Skip a string whose opening quote is at r->p. */
static void
skip_str(struct rd *r)
{
	for (r->p++; r->p < r->end; r->p++) {
		if (*r->p == '\\')
			r->p++;
		else if (*r->p == '"') {
			r->p++;
			return;
		}
	}
	r->bad = 1;
}

/* Skip one value of any kind; nesting is counted, not recursed. */
static void
skip_value(struct rd *r)
{
	int depth = 0;

	ws(r);
	do {
		if (r->p >= r->end) {
			r->bad = 1;
			return;
		}
		if (*r->p == '"') {
			skip_str(r);
		} else if (*r->p == '{' || *r->p == '[') {
			depth++;
			r->p++;
		} else if (*r->p == '}' || *r->p == ']') {
			depth--;
			r->p++;
		} else {
			r->p++;		/* scalar bytes, ',' and ':' inside */
			while (depth == 0 && r->p < r->end && *r->p != '\0' &&
			    strchr(",}] \t\r\n", *r->p) == NULL)
				r->p++;
		}
	} while (depth > 0 && !r->bad);
}

/*
 * Next member of the object being walked: 1 with key (raw bytes between
 * the quotes) and r->p at its value, 0 at the end. *first starts at 1.
 */
static int
next_member(struct rd *r, int *first, const char **key, size_t *klen)
{
	if (r->bad)
		return 0;
	if (eat(r, '}'))
		return 0;
	if (!*first && !eat(r, ','))
		goto bad;
	*first = 0;
	ws(r);
	if (r->p >= r->end || *r->p != '"')
		goto bad;
	*key = r->p + 1;
	skip_str(r);
	if (r->bad)
		return 0;
	*klen = (size_t)(r->p - 1 - *key);
	if (!eat(r, ':'))
		goto bad;
	ws(r);
	return 1;
bad:
	r->bad = 1;
	return 0;
}

static int
next_elem(struct rd *r, int *first)
{
	if (r->bad)
		return 0;
	if (eat(r, ']'))
		return 0;
	if (!*first && !eat(r, ','))
		r->bad = 1;
	*first = 0;
	ws(r);
	return !r->bad;
}

static int
key_is(const char *k, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(k, want, n) == 0;
}

static unsigned
hex4(const char *p)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return 0x110000;	/* not hex */
	}
	return v;
}

static enum px_err
put_utf8(struct px_buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return px_buf_add(b, u, n);
}

/* \uXXXX at p (p[0] == 'u'), a surrogate pair joined; *used gets the
 * bytes consumed after the backslash. */
static unsigned
escape_u(const char *p, const char *end, size_t *used)
{
	unsigned cp, lo;

	*used = 1;
	if (end - p < 5)
		return 0xFFFD;
	cp = hex4(p + 1);
	/* Not 4 hex digits: only the 'u' is taken, so the bytes after it
	 * are read as text and a character among them stays whole. */
	if (cp > 0xFFFF)
		return 0xFFFD;
	*used = 5;
	if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 11 && p[5] == '\\' &&
	    p[6] == 'u') {
		lo = hex4(p + 7);
		if (lo >= 0xDC00 && lo <= 0xDFFF) {
			*used = 11;
			return 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		}
	}
	return cp;
}

static char
escape_char(char c)
{
	switch (c) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'b': return '\b';
	case 'f': return '\f';
	default:  return c;	/* '"', '\\', '/' and anything else */
	}
}

/*
 * The string value at r->p, unescaped, appended to sc: *off and *len say
 * where. A null value gives len 0; any other non-string is skipped and
 * also gives len 0.
 */
static void
read_str(struct rd *r, struct px_buf *sc, size_t *off, size_t *len)
{
	const char *run;
	size_t used;

	*off = sc->len;
	*len = 0;
	ws(r);
	if (r->p >= r->end || *r->p != '"') {
		skip_value(r);
		return;
	}
	for (run = ++r->p; r->p < r->end && *r->p != '"'; ) {
		if (*r->p != '\\') {
			r->p++;
			continue;
		}
		if (px_buf_add(sc, run, (size_t)(r->p - run)) != PX_OK ||
		    ++r->p >= r->end)
			goto bad;
		if (*r->p == 'u') {
			if (put_utf8(sc, escape_u(r->p, r->end, &used)) !=
			    PX_OK)
				goto bad;
			r->p += used;
		} else {
			if (px_buf_addc(sc, escape_char(*r->p)) != PX_OK)
				goto bad;
			r->p++;
		}
		run = r->p;
	}
	if (r->p >= r->end || px_buf_add(sc, run, (size_t)(r->p - run)) !=
	    PX_OK)
		goto bad;
	r->p++;
	*len = sc->len - *off;
	return;
bad:
	r->bad = 1;
	*len = 0;
}

/* An integer (a fraction or exponent is skipped); -1 when not a number.
 * Bounded by r->end: the text need not be NUL-terminated. */
static long
read_long(struct rd *r)
{
	long v = 0;
	int neg = 0, any = 0;

	ws(r);
	if (r->p < r->end && *r->p == '-') {
		neg = 1;
		r->p++;
	}
	for (; r->p < r->end && *r->p >= '0' && *r->p <= '9'; r->p++) {
		any = 1;
		if (v < 100000000000L)
			v = v * 10 + (*r->p - '0');
	}
	if (!any) {
		skip_value(r);
		return -1;
	}
	while (r->p < r->end && *r->p != '\0' &&
	    strchr("0123456789.eE+-", *r->p) != NULL)
		r->p++;
	return neg ? -v : v;
}

/* --- chunk reading -------------------------------------------------------- */

struct span {
	size_t off, len;
};

struct tcall {
	long        index;
	struct span id, name, args;
};

#define CHUNK_CALLS 16	/* tool-call deltas in one chunk */

struct chunk {
	struct span  content, reasoning, refusal, finish;
	struct tcall calls[CHUNK_CALLS];
	unsigned     ncalls;
	int          have_usage;
	long prompt, completion, total, cached, reasoning_tokens, cache_write;
};

/* What the readers below share: the chunk, scratch for strings, and
 * the call being read. */
struct rctx {
	struct chunk *c;
	struct px_buf *sc;
	struct tcall *t;
	long *v1, *v2;		/* read_details: where its two counts go */
	const char *k1, *k2;
};

typedef void (*member_fn)(struct rd *r, const char *k, size_t kn,
    struct rctx *x);

/* The object at r: fn for each member (it reads or skips the value);
 * anything else is skipped. */
static void
walk_obj(struct rd *r, member_fn fn, struct rctx *x)
{
	const char *k;
	size_t kn;
	int first = 1;

	if (!eat(r, '{')) {
		skip_value(r);
		return;
	}
	while (next_member(r, &first, &k, &kn))
		fn(r, k, kn, x);
}

/* The array at r: fn for each element (it reads or skips it). */
static void
walk_arr(struct rd *r, void (*fn)(struct rd *, struct rctx *, int),
    struct rctx *x)
{
	int first = 1, i = 0;

	if (!eat(r, '[')) {
		skip_value(r);
		return;
	}
	while (next_elem(r, &first))
		fn(r, x, i++);
}

static void
str_to(struct rd *r, struct rctx *x, struct span *s)
{
	read_str(r, x->sc, &s->off, &s->len);
}

/* usage.*_details: up to two named counts. */
static void
m_details(struct rd *r, const char *k, size_t kn, struct rctx *x)
{
	if (key_is(k, kn, x->k1))
		*x->v1 = read_long(r);
	else if (x->k2 != NULL && key_is(k, kn, x->k2))
		*x->v2 = read_long(r);
	else
		skip_value(r);
}

static void
details(struct rd *r, struct rctx *x, const char *k1, long *v1,
    const char *k2, long *v2)
{
	x->k1 = k1;
	x->v1 = v1;
	x->k2 = k2;
	x->v2 = v2;
	walk_obj(r, m_details, x);
}

static void
m_usage(struct rd *r, const char *k, size_t kn, struct rctx *x)
{
	struct chunk *c = x->c;

	c->have_usage = 1;
	if (key_is(k, kn, "prompt_tokens"))
		c->prompt = read_long(r);
	else if (key_is(k, kn, "completion_tokens"))
		c->completion = read_long(r);
	else if (key_is(k, kn, "total_tokens"))
		c->total = read_long(r);
	else if (key_is(k, kn, "prompt_tokens_details"))
		details(r, x, "cached_tokens", &c->cached,
		    "cache_write_tokens", &c->cache_write);
	else if (key_is(k, kn, "completion_tokens_details"))
		details(r, x, "reasoning_tokens", &c->reasoning_tokens, NULL,
		    NULL);
	else
		skip_value(r);
}

static void
m_function(struct rd *r, const char *k, size_t kn, struct rctx *x)
{
	if (key_is(k, kn, "name"))
		str_to(r, x, &x->t->name);
	else if (key_is(k, kn, "arguments"))
		str_to(r, x, &x->t->args);
	else
		skip_value(r);
}

static void
m_call(struct rd *r, const char *k, size_t kn, struct rctx *x)
{
	if (key_is(k, kn, "index"))
		x->t->index = read_long(r);
	else if (key_is(k, kn, "id"))
		str_to(r, x, &x->t->id);
	else if (key_is(k, kn, "function"))
		walk_obj(r, m_function, x);
	else
		skip_value(r);
}

/* One tool_calls entry; past CHUNK_CALLS in one chunk they are read into
 * a scratch slot and dropped. */
static void
e_call(struct rd *r, struct rctx *x, int i)
{
	struct tcall extra = { .index = -1 };
	struct chunk *c = x->c;

	(void)i;
	x->t = c->ncalls < CHUNK_CALLS ? &c->calls[c->ncalls++] : &extra;
	memset(x->t, 0, sizeof(*x->t));
	x->t->index = -1;
	walk_obj(r, m_call, x);
	x->t = NULL;
}

/* delta (stream) or message (body): the same fields. */
static void
m_delta(struct rd *r, const char *k, size_t kn, struct rctx *x)
{
	struct chunk *c = x->c;

	if (key_is(k, kn, "content"))
		str_to(r, x, &c->content);
	else if (key_is(k, kn, "reasoning") ||
	    key_is(k, kn, "reasoning_content"))
		str_to(r, x, &c->reasoning);
	else if (key_is(k, kn, "refusal"))
		str_to(r, x, &c->refusal);
	else if (key_is(k, kn, "tool_calls"))
		walk_arr(r, e_call, x);
	else
		skip_value(r);
}

static void
m_choice(struct rd *r, const char *k, size_t kn, struct rctx *x)
{
	if (key_is(k, kn, "delta") || key_is(k, kn, "message"))
		walk_obj(r, m_delta, x);
	else if (key_is(k, kn, "finish_reason"))
		str_to(r, x, &x->c->finish);
	else
		skip_value(r);
}

/* Only the first choice counts (the proxy never asks for n > 1). */
static void
e_choice(struct rd *r, struct rctx *x, int i)
{
	if (i == 0)
		walk_obj(r, m_choice, x);
	else
		skip_value(r);
}

static void
m_chunk(struct rd *r, const char *k, size_t kn, struct rctx *x)
{
	if (key_is(k, kn, "choices"))
		walk_arr(r, e_choice, x);
	else if (key_is(k, kn, "usage"))
		walk_obj(r, m_usage, x);
	else
		skip_value(r);
}

static int
read_chunk(const char *json, size_t len, struct chunk *c, struct px_buf *sc)
{
	struct rd r;
	struct rctx x;

	/* relay.c may pass a body buffer never used (NULL, 0); NULL + 0 is
	 * undefined, so it reads as the empty text it is. */
	if (json == NULL)
		json = "";
	r.p = json;
	r.end = json + len;
	r.bad = 0;
	memset(c, 0, sizeof(*c));
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.sc = sc;
	c->prompt = c->completion = c->total = -1;
	px_buf_reset(sc);
	ws(&r);
	if (r.p >= r.end || *r.p != '{')
		return -1;
	walk_obj(&r, m_chunk, &x);
	return r.bad ? -1 : 0;
}

/* --- driving the callbacks ------------------------------------------------ */

static enum px_err
ensure_open(struct px_dstate *st, struct px_buf *out)
{
	if (st->opened)
		return PX_OK;
	st->opened = 1;
	return st->d->open(st, out);
}

static void
take_usage(struct px_dstate *st, const struct chunk *c)
{
	if (!c->have_usage)
		return;
	st->have_usage = 1;
	if (c->prompt >= 0)
		st->prompt_tokens = c->prompt;
	if (c->completion >= 0)
		st->completion_tokens = c->completion;
	st->total_tokens = c->total >= 0 ? c->total :
	    st->prompt_tokens + st->completion_tokens;
	if (c->cached > 0)
		st->cached_tokens = c->cached;
	if (c->reasoning_tokens > 0)
		st->reasoning_tokens = c->reasoning_tokens;
	if (c->cache_write > 0)
		st->cache_write_tokens = c->cache_write;
}

static void
copy_span(char *dst, size_t cap, const struct px_buf *sc,
    const struct span *s)
{
	size_t n = s->len < cap - 1 ? s->len : cap - 1;
	const char *src;

	dst[0] = '\0';
	if (s->len == 0)	/* maybe of a scratch never used: p is NULL */
		return;
	src = sc->p + s->off;
	/* An id or name cut short ends before a character, not inside it:
	 * it goes to the client in JSON, which must stay UTF-8. */
	while (n < s->len && n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
		n--;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int
is_custom(const struct px_dstate *st, const char *name)
{
	unsigned i;

	for (i = 0; i < st->ncustom; i++)
		if (strcmp(st->custom[i], name) == 0)
			return 1;
	return 0;
}

/*
 * Open calls up to index k. The provider's stream fix has given every
 * call an index and its first delta an id; a call the engine meets
 * without an id still gets a stable one.
 */
static enum px_err
open_call(struct px_dstate *st, const struct tcall *t, unsigned k,
    const struct px_buf *sc, struct px_buf *out)
{
	struct px_dcall *dc;
	enum px_err rc = PX_OK;

	while (rc == PX_OK && st->ncalls <= k &&
	    (rc = calls_room(st)) == PX_OK) {
		dc = &st->calls[st->ncalls];
		if (st->ncalls == k) {
			copy_span(dc->id, sizeof(dc->id), sc, &t->id);
			copy_span(dc->name, sizeof(dc->name), sc, &t->name);
		}
		if (dc->id[0] == '\0')
			snprintf(dc->id, sizeof(dc->id), "call_%.40s_%u",
			    st->id, st->ncalls);
		dc->custom = is_custom(st, dc->name);
		st->ncalls++;
		rc = ensure_open(st, out);
		if (rc == PX_OK)
			rc = st->d->call_start(st, st->ncalls - 1, out);
	}
	return rc;
}

static enum px_err
feed_call(struct px_dstate *st, const struct tcall *t,
    const struct px_buf *sc, struct px_buf *out)
{
	unsigned k = t->index >= 0 ? (unsigned)t->index :
	    (t->id.len > 0 || t->name.len > 0 || st->ncalls == 0 ?
	    st->ncalls : st->ncalls - 1);
	struct px_dcall *dc;
	enum px_err rc = PX_OK;

	if (k >= PX_DCALLS)
		return PX_ETOOBIG;
	st->meaningful = 1;
	if (k >= st->ncalls)
		rc = open_call(st, t, k, sc, out);
	if (rc != PX_OK || t->args.len == 0)
		return rc;
	dc = &st->calls[k];
	if (dc->args.len + t->args.len > PX_DKEEP_MAX) {
		st->overflow = 1;
		return PX_ETOOBIG;
	}
	rc = px_buf_add(&dc->args, sc->p + t->args.off, t->args.len);
	if (rc == PX_OK)
		rc = st->d->call_args(st, k, sc->p + t->args.off, t->args.len,
		    out);
	return rc;
}

static enum px_err
feed_text(struct px_dstate *st, const struct px_buf *sc,
    const struct span *s, int reasoning, struct px_buf *out)
{
	enum px_err rc;

	if (s->len == 0 || (reasoning && !(st->flags & PX_DF_REASONING)))
		return PX_OK;
	st->meaningful = 1;
	rc = ensure_open(st, out);
	if (rc != PX_OK)
		return rc;
	if (reasoning)
		return st->d->reasoning(st, sc->p + s->off, s->len, out);
	return st->d->text(st, sc->p + s->off, s->len, out);
}

static enum px_err
feed(struct px_dstate *st, const struct chunk *c, const struct px_buf *sc,
    struct px_buf *out)
{
	enum px_err rc;
	unsigned i;

	take_usage(st, c);
	if (c->finish.len > 0)
		copy_span(st->finish, sizeof(st->finish), sc, &c->finish);
	rc = feed_text(st, sc, &c->reasoning, 1, out);
	if (rc == PX_OK)
		rc = feed_text(st, sc, &c->content, 0, out);
	if (rc == PX_OK)
		rc = feed_text(st, sc, &c->refusal, 0, out);
	for (i = 0; rc == PX_OK && i < c->ncalls; i++)
		rc = feed_call(st, &c->calls[i], sc, out);
	return rc;
}

enum px_err
px_dialect_chunk(struct px_dstate *st, const char *json, size_t len,
    struct px_buf *scratch, struct px_buf *out)
{
	struct chunk c;

	if (read_chunk(json, len, &c, scratch) != 0)
		return PX_EUPSTREAM;
	return feed(st, &c, scratch, out);
}

enum px_err
px_dialect_end(struct px_dstate *st, struct px_buf *out)
{
	enum px_err rc = ensure_open(st, out);

	if (rc == PX_OK && st->finish[0] == '\0')
		snprintf(st->finish, sizeof(st->finish), "%s",
		    st->ncalls > 0 ? "tool_calls" : "stop");
	if (rc == PX_OK)
		rc = st->d->finish(st, out);
	return rc;
}

enum px_err
px_dialect_fail(struct px_dstate *st, const char *message, int overloaded,
    struct px_buf *out)
{
	enum px_err rc = PX_OK;

	if (st->failed)
		return PX_OK;
	st->failed = 1;
	rc = ensure_open(st, out);
	if (rc == PX_OK)
		rc = st->d->fail(st, message, overloaded, out);
	return rc;
}

enum px_err
px_dialect_body(struct px_dstate *st, const char *json, size_t len,
    struct px_buf *out)
{
	struct px_buf sc, sink;
	struct chunk c;
	enum px_err rc;

	px_buf_init(&sc, len + 1024);
	px_buf_init(&sink, (size_t)PX_DKEEP_MAX * 4);
	st->collect = 1;
	rc = read_chunk(json, len, &c, &sc) == 0 ? PX_OK : PX_EUPSTREAM;
	if (rc == PX_OK)
		rc = feed(st, &c, &sc, &sink);
	if (rc == PX_OK)
		rc = px_dialect_end(st, &sink);
	if (rc == PX_OK) {
		px_buf_reset(out);
		rc = st->d->body(st, out);
	}
	px_buf_free(&sc);
	px_buf_free(&sink);
	return rc;
}

/* --- history repair --------------------------------------------------------- */

struct idset {
	const char **v;
	size_t n, cap;
};

static int
ids_has(const struct idset *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], id) == 0)
			return 1;
	return 0;
}

static enum px_err
ids_add(struct idset *s, const char *id)
{
	const char **nv;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		nv = realloc(s->v, s->cap * sizeof(*nv));
		if (nv == NULL)
			return PX_ENOMEM;
		s->v = nv;
	}
	s->v[s->n++] = id;
	return PX_OK;
}

static const char *
role_of(const cJSON *m)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");

	return cJSON_IsString(r) ? r->valuestring : "";
}

static const char *
str_member(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The ids of an assistant message's tool_calls; 0 when it has none. */
static size_t
call_ids(const cJSON *m, struct idset *block, struct idset *known)
{
	const cJSON *tc = cJSON_GetObjectItemCaseSensitive(m, "tool_calls"), *c;
	const char *id;

	block->n = 0;
	if (strcmp(role_of(m), "assistant") != 0 || !cJSON_IsArray(tc))
		return 0;
	cJSON_ArrayForEach(c, tc) {
		id = str_member(c, "id");
		if (id == NULL)
			continue;
		if (ids_add(block, id) != PX_OK || ids_add(known, id) != PX_OK)
			return (size_t)-1;
	}
	return block->n;
}

static enum px_err
unknown_id(struct px_verr *err, const char *param, const char *id)
{
	snprintf(err->param, sizeof(err->param), "%s", param);
	/* the id cut on a character (px_dec_utf8_cut): messages are UTF-8 */
	snprintf(err->msg, sizeof(err->msg), "%s: a tool result for call "
	    "id \"%.*s\" follows no call with that id", param,
	    (int)px_dec_utf8_cut(id, 40), id);
	return PX_EBADREQ;
}

static enum px_err
aborted(cJSON *out, const char *id)
{
	cJSON *t = cJSON_CreateObject();

	if (t == NULL || cJSON_AddStringToObject(t, "role", "tool") == NULL ||
	    cJSON_AddStringToObject(t, "tool_call_id", id) == NULL ||
	    cJSON_AddStringToObject(t, "content", "aborted: no result") ==
	    NULL) {
		cJSON_Delete(t);
		return PX_ENOMEM;
	}
	cJSON_AddItemToArray(out, t);
	return PX_OK;
}

/*
 * After an assistant message with calls: take the tool messages answering
 * them out of what follows (up to the next assistant message), put them
 * right after it, then the messages that were in between.
 */
static enum px_err
gather(cJSON *in, cJSON *out, struct idset *block, const char *param,
    struct px_verr *err, const struct idset *known)
{
	cJSON *defer = cJSON_CreateArray(), *m;
	unsigned char done[PX_DCALLS * 4];
	size_t i, left = block->n;
	enum px_err rc = PX_OK;

	if (defer == NULL)
		return PX_ENOMEM;
	memset(done, 0, sizeof(done));
	while (left > 0 && (m = cJSON_GetArrayItem(in, 0)) != NULL &&
	    strcmp(role_of(m), "assistant") != 0) {
		const char *id = str_member(m, "tool_call_id");

		m = cJSON_DetachItemFromArray(in, 0);
		if (strcmp(role_of(m), "tool") != 0 || id == NULL) {
			cJSON_AddItemToArray(defer, m);
			continue;
		}
		for (i = 0; i < block->n && i < sizeof(done); i++)
			if (!done[i] && strcmp(block->v[i], id) == 0)
				break;
		if (i < block->n && i < sizeof(done)) {
			done[i] = 1;
			left--;
			cJSON_AddItemToArray(out, m);
		} else if (ids_has(known, id)) {
			cJSON_Delete(m);	/* a second answer: dropped */
		} else {
			rc = unknown_id(err, param, id);
			cJSON_Delete(m);
			break;
		}
	}
	for (i = 0; rc == PX_OK && i < block->n && i < sizeof(done); i++)
		if (!done[i])
			rc = aborted(out, block->v[i]);
	while (cJSON_GetArraySize(defer) > 0)
		cJSON_AddItemToArray(out, cJSON_DetachItemFromArray(defer, 0));
	cJSON_Delete(defer);
	return rc;
}

static enum px_err
repair_walk(cJSON *in, cJSON *out, const char *param, struct px_verr *err)
{
	struct idset known = { NULL, 0, 0 }, block = { NULL, 0, 0 };
	enum px_err rc = PX_OK;
	cJSON *m;
	size_t n;

	while (rc == PX_OK && cJSON_GetArraySize(in) > 0) {
		m = cJSON_DetachItemFromArray(in, 0);
		if (strcmp(role_of(m), "tool") == 0) {
			const char *id = str_member(m, "tool_call_id");

			if (id == NULL || !ids_has(&known, id))
				rc = unknown_id(err, param, id ? id : "");
			cJSON_Delete(m);	/* stray or duplicate */
			continue;
		}
		cJSON_AddItemToArray(out, m);
		n = call_ids(m, &block, &known);
		if (n == (size_t)-1)
			rc = PX_ENOMEM;
		else if (n > 0)
			rc = gather(in, out, &block, param, err, &known);
	}
	free(known.v);
	free(block.v);
	return rc;
}

enum px_err
px_dialect_repair(cJSON *messages, const char *param, struct px_verr *err)
{
	cJSON *out;
	enum px_err rc;

	if (!cJSON_IsArray(messages))
		return PX_EBADREQ;
	out = cJSON_CreateArray();
	if (out == NULL)
		return PX_ENOMEM;
	rc = repair_walk(messages, out, param, err);
	while (cJSON_GetArraySize(out) > 0)
		cJSON_AddItemToArray(messages,
		    cJSON_DetachItemFromArray(out, 0));
	cJSON_Delete(out);
	return rc;
}
