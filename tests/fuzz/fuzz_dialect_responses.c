/*
 * fuzz_dialect_responses.c -- libFuzzer target for the OpenAI Responses
 * dialect (common/dialect_responses*.c): the decoder
 * (px_dialect_get(PX_DIALECT_RESPONSES)->decode), then its encoder through
 * the shared engine (px_dialect_chunk, px_dialect_end / px_dialect_fail,
 * px_dialect_body).
 * Owns: its checks and the reference they compare with, if any.
 * Never: network, files or clocks; links only the modules it fuzzes.
 * Input (fuzz_dialect.h): line 1 "opts max_values"; line 2 the client's
 * Responses body (an exact-size copy); the rest canonical chat chunks, one
 * a line, fed as a stream (exact-size copies), then the whole rest as one
 * non-stream completion body. opts: 1 end with px_dialect_fail, 2
 * overloaded, 8/16 reasoning / a custom tool "f" in the state used when
 * the body is refused, bits 5-6 pick the failure message. max_values 0 is
 * the default cap; another value is the cap, and the body is decoded
 * again with the default (PX_ETOOBIG, or the same result).
 * Checks: decode returns OK, EBADREQ, ETOOBIG or ENOMEM; on OK the
 * canonical request is strict JSON that px_validate_chat accepts with the
 * model and stream of the state, the id is resp_<uid>, the echoed fields
 * are a JSON member list; on a refusal err has a param and a one-line
 * UTF-8 message starting with it, and error() writes an OpenAI error
 * object with the refusal's status and message. Stream (with the decoded
 * state, or a fallback one when the body was refused): every event is
 * "event: T\ndata: <strict JSON, UTF-8 when the chunks were, type T>\n\n"
 * with sequence_number 0, 1, 2, ...; response.created and
 * response.in_progress first; exactly one terminal event
 * (response.completed / .incomplete / .failed, failed exactly when the
 * stream failed), last; lifecycle events carry the state's id and model;
 * output items are added at output_index 0, 1, 2, ..., each done once
 * after its added, done in output_index order, before the terminal event,
 * with the same id and type; deltas go to an open item and add up to the
 * .done texts and arguments; the terminal response lists the done items
 * (all of them unless incomplete). Body: PX_OK or PX_EUPSTREAM; the
 * response object is strict JSON with the state's id and model, a
 * completed or incomplete status, items with unique ids.
 */
#include "fuzz_dialect.h"

#define MAX_ITEMS 512

struct item {
	char   id[80];
	char   type[24];
	int    done;
	int    nul;		/* some text of it held \u0000: not compared */
	char  *acc;		/* deltas so far */
	size_t n;
};

static struct item items[MAX_ITEMS];
static size_t nitems;

static void
acc_add(struct item *it, const char *s)
{
	size_t k = strlen(s);
	char *p = realloc(it->acc, it->n + k + 1);

	if (p == NULL)
		abort();
	memcpy(p + it->n, s, k + 1);
	it->acc = p;
	it->n += k;
}

static void
items_reset(void)
{
	while (nitems > 0) {
		free(items[--nitems].acc);
		items[nitems].acc = NULL;
		items[nitems].n = 0;
		items[nitems].nul = 0;
	}
}

/* The item an event's output_index names: added, not done yet. */
static struct item *
open_item(const struct fz_ev *ev)
{
	long i = fz_jint(ev->j, "output_index");

	FZ_CHECK(i >= 0 && (size_t)i < nitems, "output_index of an item");
	FZ_CHECK(!items[i].done, "an event of an item already done");
	items[i].nul |= ev->nul;
	return &items[i];
}

/* s is what item x's deltas add up to (unless a \u0000 hid some). */
static int
same_text(const struct item *x, const char *s)
{
	return s != NULL && (x->nul || strcmp(s, x->acc != NULL ? x->acc :
	    "") == 0);
}

static void
check_response(const cJSON *r, const struct px_dstate *st, const char *status)
{
	const cJSON *out = fz_jget(r, "output");

	FZ_CHECK(cJSON_IsObject(r), "a response object");
	FZ_CHECK(fz_jstr(r, "id") != NULL && strcmp(fz_jstr(r, "id"),
	    st->id) == 0, "response.id is the state's");
	FZ_CHECK(fz_jstr(r, "model") != NULL && strcmp(fz_jstr(r, "model"),
	    st->model) == 0, "response.model is the client's");
	FZ_CHECK(fz_jstr(r, "object") != NULL &&
	    strcmp(fz_jstr(r, "object"), "response") == 0, "object response");
	FZ_CHECK(fz_jstr(r, "status") != NULL &&
	    strcmp(fz_jstr(r, "status"), status) == 0, "response.status");
	FZ_CHECK(cJSON_IsArray(out), "response.output an array");
}

/* item.done ids in order; the terminal output lists them (a subsequence
 * when incomplete: what did not fit is left out). */
static void
check_output(const cJSON *r, int all)
{
	const cJSON *it;
	size_t k = 0;
	const char *id;

	cJSON_ArrayForEach(it, fz_jget(r, "output")) {
		id = fz_jstr(it, "id");
		FZ_CHECK(id != NULL, "an output item has an id");
		while (k < nitems && strcmp(items[k].id, id) != 0) {
			FZ_CHECK(!all, "the output lists every done item");
			k++;
		}
		FZ_CHECK(k < nitems, "the output lists done items, in order");
		k++;
	}
	FZ_CHECK(!all || k == nitems, "the output lists every done item");
}

static void
check_stream(const struct px_dstate *st, const struct fz_drive *dr)
{
	const struct fz_evs *e = &dr->evs;
	const cJSON *j, *it;
	const char *t, *s;
	struct item *x;
	long last_done = -1, idx;
	size_t k;

	items_reset();
	FZ_CHECK(e->n >= 3, "created, in_progress and a terminal event");
	for (k = 0; k < e->n; k++) {
		j = e->v[k].j;
		t = e->v[k].type;
		FZ_CHECK(fz_jint(j, "sequence_number") == (long)k,
		    "sequence_number counts from 0");
		if (k == 0)
			FZ_CHECK(strcmp(t, "response.created") == 0,
			    "response.created first");
		if (k == 1)
			FZ_CHECK(strcmp(t, "response.in_progress") == 0,
			    "response.in_progress second");
		if (strcmp(t, "response.created") == 0 ||
		    strcmp(t, "response.in_progress") == 0) {
			FZ_CHECK(k < 2, "lifecycle events only at the start");
			check_response(fz_jget(j, "response"), st,
			    "in_progress");
			continue;
		}
		if (strcmp(t, "response.completed") == 0 ||
		    strcmp(t, "response.incomplete") == 0 ||
		    strcmp(t, "response.failed") == 0) {
			FZ_CHECK(k == e->n - 1, "the terminal event is last");
			FZ_CHECK((strcmp(t, "response.failed") == 0) ==
			    dr->failed, "response.failed exactly on failure");
			check_response(fz_jget(j, "response"), st, t + 9);
			for (idx = 0; (size_t)idx < nitems; idx++)
				FZ_CHECK(items[idx].done, "every item is done "
				    "before the terminal event");
			check_output(fz_jget(j, "response"),
			    strcmp(t, "response.incomplete") != 0);
			continue;
		}
		FZ_CHECK(k != e->n - 1, "the last event is a terminal one");
		if (strcmp(t, "response.output_item.added") == 0) {
			it = fz_jget(j, "item");
			FZ_CHECK(fz_jint(j, "output_index") == (long)nitems,
			    "items are added at output_index 0, 1, 2, ...");
			FZ_CHECK(nitems < MAX_ITEMS, "items within the harness");
			x = &items[nitems++];
			s = fz_jstr(it, "id");
			FZ_CHECK(s != NULL && s[0] != '\0' &&
			    strlen(s) < sizeof x->id, "an item id");
			snprintf(x->id, sizeof x->id, "%s", s);
			for (idx = 0; (size_t)idx + 1 < nitems; idx++)
				FZ_CHECK(strcmp(items[idx].id, s) != 0,
				    "item ids are unique");
			s = fz_jstr(it, "type");
			FZ_CHECK(s != NULL && (strcmp(s, "message") == 0 ||
			    strcmp(s, "reasoning") == 0 ||
			    strcmp(s, "function_call") == 0 ||
			    strcmp(s, "custom_tool_call") == 0),
			    "a known item type");
			snprintf(x->type, sizeof x->type, "%s", s);
			x->done = 0;
			s = fz_jstr(it, "status");
			FZ_CHECK(s != NULL && strcmp(s, "in_progress") == 0,
			    "an added item is in progress");
		} else if (strcmp(t, "response.output_item.done") == 0) {
			it = fz_jget(j, "item");
			x = open_item(&e->v[k]);
			idx = fz_jint(j, "output_index");
			FZ_CHECK(idx > last_done,
			    "items are done in output_index order");
			last_done = idx;
			FZ_CHECK(fz_jstr(it, "id") != NULL &&
			    strcmp(fz_jstr(it, "id"), x->id) == 0 &&
			    fz_jstr(it, "type") != NULL &&
			    strcmp(fz_jstr(it, "type"), x->type) == 0,
			    "done: the added item's id and type");
			s = fz_jstr(it, "status");
			FZ_CHECK(s != NULL && (strcmp(s, "incomplete") == 0 ||
			    (strcmp(s, "completed") == 0 && (!dr->failed ||
			    k < dr->end_at))), "done: completed, or "
			    "incomplete (always when the failure closes it)");
			if (strcmp(x->type, "message") == 0)
				s = fz_jstr(cJSON_GetArrayItem(fz_jget(it,
				    "content"), 0), "text");
			else if (strcmp(x->type, "reasoning") == 0)
				s = fz_jstr(cJSON_GetArrayItem(fz_jget(it,
				    "summary"), 0), "text");
			else if (strcmp(x->type, "function_call") == 0)
				s = fz_jstr(it, "arguments");
			else
				s = NULL;	/* custom: no deltas */
			if (strcmp(x->type, "custom_tool_call") != 0)
				FZ_CHECK(same_text(x, s),
				    "a done item holds its deltas");
			x->done = 1;
		} else if (strcmp(t, "response.output_text.delta") == 0 ||
		    strcmp(t, "response.reasoning_summary_text.delta") == 0 ||
		    strcmp(t, "response.function_call_arguments.delta") ==
		    0) {
			x = open_item(&e->v[k]);
			FZ_CHECK(fz_jstr(j, "item_id") != NULL &&
			    strcmp(fz_jstr(j, "item_id"), x->id) == 0,
			    "a delta names its item");
			FZ_CHECK(strcmp(x->type, t[9] == 'o' ? "message" :
			    t[9] == 'r' ? "reasoning" : "function_call") == 0,
			    "a delta of the item's kind");
			s = fz_jstr(j, "delta");
			FZ_CHECK(s != NULL && (s[0] != '\0' || e->v[k].nul),
			    "a delta is a non-empty string");
			acc_add(x, s);
		} else if (strcmp(t, "response.output_text.done") == 0 ||
		    strcmp(t, "response.reasoning_summary_text.done") == 0) {
			x = open_item(&e->v[k]);
			s = fz_jstr(j, "text");
			FZ_CHECK(same_text(x, s),
			    "text.done holds the deltas");
		} else if (strcmp(t, "response.function_call_arguments.done") ==
		    0) {
			x = open_item(&e->v[k]);
			s = fz_jstr(j, "arguments");
			FZ_CHECK(same_text(x, s),
			    "arguments.done holds the deltas");
		} else if (strcmp(t, "response.content_part.added") == 0 ||
		    strcmp(t, "response.content_part.done") == 0 ||
		    strcmp(t, "response.reasoning_summary_part.added") == 0 ||
		    strcmp(t, "response.reasoning_summary_part.done") == 0) {
			(void)open_item(&e->v[k]);
		} else {
			fprintf(stderr, "event %s\n", t);
			FZ_CHECK(0, "a known event type");
		}
	}
	items_reset();
}

static void
check_body(const cJSON *r, const struct px_dstate *st)
{
	const char *status = fz_jstr(r, "status");
	const cJSON *it, *it2;

	FZ_CHECK(status != NULL && (strcmp(status, "completed") == 0 ||
	    strcmp(status, "incomplete") == 0), "body: completed or "
	    "incomplete");
	check_response(r, st, status);
	cJSON_ArrayForEach(it, fz_jget(r, "output")) {
		FZ_CHECK(fz_jstr(it, "id") != NULL && fz_jstr(it, "type") !=
		    NULL, "body: items have an id and a type");
		for (it2 = it->next; it2 != NULL; it2 = it2->next)
			FZ_CHECK(fz_jstr(it2, "id") == NULL ||
			    strcmp(fz_jstr(it2, "id"), fz_jstr(it, "id")) != 0,
			    "body: item ids are unique");
	}
}

/* The OpenAI error object of a refusal: its message, its status. */
static void
check_error(const struct px_dstate *st, const struct px_verr *err,
    enum px_err rc)
{
	int status = rc == PX_ETOOBIG ? 413 : 400, http;
	cJSON *j = fz_dialect_error(st, err, status, &http);
	const cJSON *e = fz_jget(j, "error");

	FZ_CHECK(http == status, "the refusal's status");
	FZ_CHECK(fz_jstr(e, "message") != NULL &&
	    strcmp(fz_jstr(e, "message"), err->msg) == 0,
	    "error.message is the refusal's");
	cJSON_Delete(j);
}

static void
fallback(struct px_dstate *st, unsigned opts)
{
	px_dstate_reset(st, px_dialect_get(PX_DIALECT_RESPONSES));
	snprintf(st->id, sizeof st->id, "resp_%s", FZ_UID);
	snprintf(st->model, sizeof st->model, "fuzz/model");
	st->created = FZ_NOW;
	st->stream = 1;
	if (opts & FZ_D_REASONING)
		st->flags |= PX_DF_REASONING;
	if (opts & FZ_D_CUSTOM)
		snprintf(st->custom[st->ncustom++], PX_DNAME, "f");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct px_dstate st;
	static struct px_buf chat;
	static int init;
	const struct px_dialect *R = px_dialect_get(PX_DIALECT_RESPONSES);
	struct fz_in in = { data, size };
	struct px_dctx ctx = { FZ_UID, FZ_NOW, 0 };
	struct px_verr err;
	struct fz_drive dr;
	const uint8_t *l, *b;
	size_t ln, bn;
	long long v[2];
	enum px_err rc, rc2 = PX_OK;
	unsigned opts;
	char *body, want[PX_DID];
	cJSON *obj;

	if (!init) {
		px_dstate_init(&st);
		px_buf_init(&chat, 64u << 20);	/* app.c: UP_BUF_MAX */
		init = 1;
	}
	fz_line(&in, &l, &ln);
	fz_ints(l, ln, v, 2);
	opts = (unsigned)v[0];
	ctx.max_values = v[1] > 0 ? (size_t)v[1] : 0;
	fz_line(&in, &b, &bn);
	body = fz_dup(b, bn, 0);

	if (ctx.max_values > 0) {	/* the cap first, then the default */
		px_dstate_reset(&st, R);
		rc2 = R->decode(body, bn, &ctx, &st, &chat, &err);
		FZ_CHECK(rc2 == PX_OK || rc2 == PX_EBADREQ ||
		    rc2 == PX_ETOOBIG || rc2 == PX_ENOMEM, "decode result");
		if (rc2 == PX_EBADREQ || rc2 == PX_ETOOBIG)
			fz_check_verr(&err);
		ctx.max_values = 0;
	}
	px_dstate_reset(&st, R);
	memset(&err, 0x5a, sizeof err);
	rc = R->decode(body, bn, &ctx, &st, &chat, &err);
	FZ_CHECK(rc == PX_OK || rc == PX_EBADREQ || rc == PX_ETOOBIG ||
	    rc == PX_ENOMEM, "decode result");
	if (v[1] > 0)
		FZ_CHECK(rc2 == rc || rc2 == PX_ETOOBIG,
		    "a value cap refuses with PX_ETOOBIG or not at all");
	free(body);
	if (rc == PX_OK) {
		(void)fz_check_canonical(&chat, &st);
		snprintf(want, sizeof want, "resp_%.40s", FZ_UID);
		FZ_CHECK(strcmp(st.id, want) == 0, "id resp_<uid>");
		FZ_CHECK(st.created == FZ_NOW, "created_at from the context");
		FZ_CHECK(st.ncustom <= PX_DCUSTOM, "custom tools within the cap");
		if (st.echo.len > 0) {
			char *o = malloc(st.echo.len + 2);

			if (o == NULL)
				abort();
			o[0] = '{';
			memcpy(o + 1, st.echo.p, st.echo.len);
			o[st.echo.len + 1] = '}';
			FZ_CHECK(fz_json_ok(o, st.echo.len + 2, 1),
			    "the echo is a JSON member list");
			free(o);
		}
	} else {
		if (rc == PX_EBADREQ || rc == PX_ETOOBIG) {
			fz_check_verr(&err);
			check_error(&st, &err, rc);
		}
		fallback(&st, opts);
	}

	fz_drive_stream(&st, in.p, in.n, opts, &dr);
	check_stream(&st, &dr);
	fz_evs_free(&dr.evs);

	if (fz_drive_body(&st, in.p, in.n, &obj) == PX_OK)
		check_body(obj, &st);
	cJSON_Delete(obj);
	return 0;
}
