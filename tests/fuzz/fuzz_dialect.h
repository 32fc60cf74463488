/*
 * fuzz_dialect.h -- what the dialect targets (dialect_responses,
 * dialect_messages) share: the input's parts, the decoder's error and
 * canonical-request checks, driving canonical chunks through the shared
 * engine like relay.c does, and reading back the SSE events a dialect
 * wrote ("event: T\ndata: <JSON>\n\n", JSON type T).
 * Never: one dialect's own rules (each target checks those), or calls
 * into common/ beyond the engine and validate.h.
 * Input of those targets: line 1 "opts max_values" (integers, see each
 * target); line 2 the client's body; the rest canonical chunks, one a
 * line, fed as a stream, then the whole rest as one non-stream body.
 */
#ifndef FZ_DIALECT_H
#define FZ_DIALECT_H

#include <cJSON.h>

#include "dialect.h"
#include "validate.h"
#include "fuzz_util.h"
#include "fuzz_verr.h"

#define FZ_UID	"0123456789abcdef0123456789abcdef01234567"
#define FZ_NOW	1760000000
#define FZ_DBUF	(64u << 20)	/* app.c's OUT_BUF_MAX */

/* opts bits the dialect targets share (4: dialect_messages' count) */
enum {
	FZ_D_FAIL       = 1,	/* end the stream with px_dialect_fail */
	FZ_D_BUSY       = 2,	/* ... overloaded */
	FZ_D_REASONING  = 8,	/* fallback state: PX_DF_REASONING */
	FZ_D_CUSTOM     = 16	/* fallback state: a custom tool "f" */
};

/* Messages relay.c hands to px_dialect_fail. */
static const char *const fz_fail_msgs[] = {
	"the upstream response passed the size limit",
	"upstream stream ended before completion",
	"Quota exceeded for \"gemini\" \xe2\x80\x94 try later",
};

/*
 * The canonical request a decoder wrote: strict JSON (UTF-8), accepted by
 * px_validate_chat, for the model and stream the dialect state records.
 * Returns the estimate input (prompt bytes).
 */
static inline size_t
fz_check_canonical(const struct px_buf *chat, const struct px_dstate *st)
{
	struct px_chat_req rq;
	struct px_verr err;
	enum px_err rc;
	size_t bytes;

	FZ_CHECK(chat->p != NULL && chat->len > 0, "canonical request written");
	FZ_CHECK(fz_json_ok(chat->p, chat->len, 1),
	    "canonical request is strict JSON");
	rc = px_validate_chat(chat->p, chat->len, &rq, &err);
	if (rc != PX_OK)
		fprintf(stderr, "canonical request refused: %s\n%.*s\n",
		    err.msg, (int)(chat->len < 2000 ? chat->len : 2000),
		    chat->p);
	FZ_CHECK(rc == PX_OK, "px_validate_chat accepts the canonical request");
	FZ_CHECK(strcmp(rq.model, st->model) == 0,
	    "the canonical model is the one echoed back");
	FZ_CHECK(rq.stream == st->stream, "stream as decoded");
	FZ_CHECK(!rq.stream || rq.include_usage,
	    "a translated stream always asks for usage");
	bytes = rq.prompt_bytes;
	px_chat_req_free(&rq);
	return bytes;
}

/* --- reading events back -------------------------------------------------- */

struct fz_ev {
	char   type[64];
	cJSON *j;
	int    nul;		/* a string holds \u0000: cJSON's copy of it
				 * stops there, texts cannot be compared */
};

struct fz_evs {
	struct fz_ev *v;
	size_t        n, cap;
};

static inline void
fz_evs_free(struct fz_evs *e)
{
	while (e->n > 0)
		cJSON_Delete(e->v[--e->n].j);
	free(e->v);
	e->v = NULL;
	e->cap = 0;
}

/*
 * out[0..len) holds whole SSE events, each "event: T\ndata: D\n\n" with T
 * a name of [a-z_.] and D one line of strict JSON (UTF-8 when utf8), an
 * object whose "type" is T. Appends them to e.
 */
static inline void
fz_events(const char *p, size_t len, int utf8, struct fz_evs *e)
{
	const char *end, *t, *d, *nl;
	const cJSON *ty;
	size_t tn, dn;
	struct fz_ev *nv;

	if (len == 0)
		return;		/* (p may be NULL) */
	end = p + len;
	while (p < end) {
		FZ_CHECK((size_t)(end - p) > 7 && memcmp(p, "event: ", 7) == 0,
		    "an event starts with \"event: \"");
		t = p + 7;
		nl = memchr(t, '\n', (size_t)(end - t));
		FZ_CHECK(nl != NULL, "event line ends");
		tn = (size_t)(nl - t);
		FZ_CHECK(tn > 0 && tn < sizeof e->v[0].type &&
		    strspn(t, "abcdefghijklmnopqrstuvwxyz_.") >= tn,
		    "event name is [a-z_.]+");
		FZ_CHECK((size_t)(end - nl) > 7 &&
		    memcmp(nl + 1, "data: ", 6) == 0, "then \"data: \"");
		d = nl + 7;
		nl = memchr(d, '\n', (size_t)(end - d));
		FZ_CHECK(nl != NULL && nl + 1 < end && nl[1] == '\n',
		    "data is one line, then a blank line");
		dn = (size_t)(nl - d);
		FZ_CHECK(memchr(d, '\r', dn) == NULL, "no CR in an event");
		if (!fz_json_ok(d, dn, utf8))
			fprintf(stderr, "event data: %.*s\n", (int)dn, d);
		FZ_CHECK(fz_json_ok(d, dn, utf8), "event data is strict JSON");
		if (e->n == e->cap) {
			e->cap = e->cap ? e->cap * 2 : 64;
			nv = realloc(e->v, e->cap * sizeof(*nv));
			if (nv == NULL)
				abort();
			e->v = nv;
		}
		memcpy(e->v[e->n].type, t, tn);
		e->v[e->n].type[tn] = '\0';
		e->v[e->n].j = cJSON_ParseWithLength(d, dn);
		e->v[e->n].nul = fz_memmem(d, dn, "\\u0000", 6) != NULL;
		FZ_CHECK(cJSON_IsObject(e->v[e->n].j), "event data an object");
		ty = cJSON_GetObjectItemCaseSensitive(e->v[e->n].j, "type");
		FZ_CHECK(cJSON_IsString(ty) &&
		    strcmp(ty->valuestring, e->v[e->n].type) == 0,
		    "event name equals the JSON type");
		e->n++;
		p = nl + 2;
	}
}

/* j[key] as a string, or NULL. */
static inline const char *
fz_jstr(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_IsObject(j) ?
	    cJSON_GetObjectItemCaseSensitive(j, key) : NULL;

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* j[key] as an integer, or -1 when absent or not a non-negative integer. */
static inline long
fz_jint(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_IsObject(j) ?
	    cJSON_GetObjectItemCaseSensitive(j, key) : NULL;

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > 1e15 ||
	    v->valuedouble != (double)(long)v->valuedouble)
		return -1;
	return (long)v->valuedouble;
}

static inline const cJSON *
fz_jget(const cJSON *j, const char *key)
{
	return cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, key) :
	    NULL;
}

/* --- driving the engine like relay.c --------------------------------------- */

struct fz_drive {
	struct fz_evs evs;	/* every event of the stream, in order */
	int  utf8;		/* every chunk was valid UTF-8 */
	int  failed;		/* ended with px_dialect_fail */
	size_t end_at;		/* the first event end/fail wrote */
};

/*
 * The chunks of rest[0..n) ('\n'-separated, exact-size copies) through
 * px_dialect_chunk: not JSON is skipped (PX_EUPSTREAM, nothing written),
 * too big ends the stream; then px_dialect_end, or px_dialect_fail when
 * opts asks or the stream broke. Events are read back after every call.
 */
static inline void
fz_drive_stream(struct px_dstate *st, const uint8_t *rest, size_t n,
    unsigned opts, struct fz_drive *dr)
{
	static struct px_buf out, sc;
	static int init;
	const uint8_t *e = rest + n, *nl;
	size_t len;
	enum px_err rc = PX_OK;
	char *c;
	int broke = 0;

	if (!init) {
		px_buf_init(&out, FZ_DBUF);
		/* app.c: SSE_LINE_CAP + 1024 */
		px_buf_init(&sc, (1u << 20) + 1024);
		init = 1;
	}
	memset(dr, 0, sizeof(*dr));
	dr->utf8 = fz_utf8_ok(rest, n);
	while (rest < e) {
		nl = memchr(rest, '\n', (size_t)(e - rest));
		len = nl != NULL ? (size_t)(nl - rest) : (size_t)(e - rest);
		c = fz_dup(rest, len, 0);
		px_buf_reset(&out);
		rc = len > 0 ? px_dialect_chunk(st, c, len, &sc, &out) : PX_OK;
		free(c);
		FZ_CHECK(rc == PX_OK || rc == PX_EUPSTREAM || rc == PX_ETOOBIG ||
		    rc == PX_ENOMEM, "px_dialect_chunk result");
		FZ_CHECK(rc != PX_EUPSTREAM || out.len == 0,
		    "a chunk that is not JSON writes nothing");
		fz_events(out.p, out.len, dr->utf8, &dr->evs);
		rest += len + (nl != NULL);
		if (rc == PX_ETOOBIG || rc == PX_ENOMEM) {
			broke = 1;
			break;
		}
	}
	px_buf_reset(&out);
	dr->end_at = dr->evs.n;
	dr->failed = broke || (opts & FZ_D_FAIL);
	if (dr->failed)
		rc = px_dialect_fail(st, fz_fail_msgs[(opts >> 5) % 3],
		    (opts & FZ_D_BUSY) != 0, &out);
	else
		rc = px_dialect_end(st, &out);
	FZ_CHECK(rc == PX_OK, "the terminal events are written");
	fz_events(out.p, out.len, dr->utf8, &dr->evs);
	/* a second failure after the first adds nothing */
	px_buf_reset(&out);
	if (dr->failed) {
		rc = px_dialect_fail(st, "again", 0, &out);
		FZ_CHECK(rc == PX_OK && out.len == 0, "fail runs once");
	}
	FZ_CHECK(st->opened, "the stream was opened");
}

/*
 * The whole rest as one canonical body through px_dialect_body after a
 * rewind (the decoded request stays). PX_OK with the dialect's object in
 * *obj (strict JSON, UTF-8 when the body was), or PX_EUPSTREAM.
 */
static inline enum px_err
fz_drive_body(struct px_dstate *st, const uint8_t *rest, size_t n,
    cJSON **obj)
{
	static struct px_buf out;
	static int init;
	int utf8 = fz_utf8_ok(rest, n);
	/* an exact-size copy; NULL when empty, as relay.c passes a reply
	 * buffer never used (finding 8, crashes/dialect_*-body-null.bin) */
	char *b = fz_dup(rest, n, 0);
	enum px_err rc;

	if (!init) {
		px_buf_init(&out, FZ_DBUF);
		init = 1;
	}
	*obj = NULL;
	px_dstate_rewind(st);
	px_buf_reset(&out);
	rc = px_dialect_body(st, b, n, &out);
	free(b);
	FZ_CHECK(rc == PX_OK || rc == PX_EUPSTREAM || rc == PX_ETOOBIG ||
	    rc == PX_ENOMEM, "px_dialect_body result");
	if (rc != PX_OK)
		return rc;
	if (!fz_json_ok(out.p, out.len, utf8))
		fprintf(stderr, "body: %.*s\n", (int)out.len, out.p);
	FZ_CHECK(fz_json_ok(out.p, out.len, utf8),
	    "the non-stream object is strict JSON");
	FZ_CHECK(memchr(out.p, '\n', out.len) == NULL,
	    "the non-stream object is one line");
	*obj = cJSON_ParseWithLength(out.p, out.len);
	FZ_CHECK(cJSON_IsObject(*obj), "the non-stream object is an object");
	return rc;
}

/*
 * The dialect's error reply for a refused body (what chat.c sends): strict
 * JSON, an object (returned, the caller's to free), an error status.
 */
static inline cJSON *
fz_dialect_error(const struct px_dstate *st, const struct px_verr *err,
    int status, int *http)
{
	static struct px_buf out;
	static int init;
	enum px_err rc;
	cJSON *j;

	if (!init) {
		px_buf_init(&out, 64u << 10);
		init = 1;
	}
	*http = 0;
	rc = st->d->error(st, status, status == 413 ? "request_too_large" :
	    "invalid_request_error", err->msg, err->param[0] ? err->param :
	    NULL, NULL, &out, http);
	FZ_CHECK(rc == PX_OK, "the error reply is written");
	FZ_CHECK(fz_json_ok(out.p, out.len, 1),
	    "the error reply is strict JSON");
	j = cJSON_ParseWithLength(out.p, out.len);
	FZ_CHECK(cJSON_IsObject(j), "the error reply is an object");
	FZ_CHECK(*http >= 400 && *http <= 599, "an error status");
	return j;
}

#endif
