/*
 * fuzz_provider_models.c -- libFuzzer target for the model-list parser
 * (px_provider.parse_models) of every adapter (see fuzz_provider_event.c).
 * Input: line 1 "adapter stop_after" (the callback asks to stop after that
 * many ids; 0: never); the rest is a models list body (an exact-size
 * copy, not NUL-terminated).
 * Checks: PX_OK, PX_EUPSTREAM or (a page token too long) PX_ETOOBIG; no id
 * with PX_EUPSTREAM; the next-page token is NUL-terminated in its buffer;
 * every id is non-empty and, in order, the id of a list element as cJSON
 * reads it: OpenAI-compatible "data"[].id (less a "models/" prefix),
 * PX_EUPSTREAM exactly when there is no "data" array, no page token;
 * native "models"[].name less its required "models/" prefix, only models
 * whose supportedGenerationMethods hold "generateContent"; no id after the
 * callback asked to stop.
 */
#include "fuzz_provider.h"

struct ids {
	const cJSON *next;	/* the list element to match next */
	int    native;
	size_t n, stop_after;
	int    stopped;
};

static int
generates(const cJSON *m)
{
	const cJSON *g = fz_get(m, "supportedGenerationMethods"), *e;

	if (!cJSON_IsArray(g))
		return 0;
	cJSON_ArrayForEach(e, g) {
		if (cJSON_IsString(e) &&
		    strcmp(e->valuestring, "generateContent") == 0)
			return 1;
	}
	return 0;
}

/* Does list element m give id? */
static int
gives(const struct ids *r, const cJSON *m, const char *id)
{
	const cJSON *want = fz_get(m, r->native ? "name" : "id");
	const char *w;

	if (!cJSON_IsString(want))
		return 0;
	w = want->valuestring;
	if (r->native)
		return strncmp(w, "models/", 7) == 0 && strcmp(w + 7, id) == 0 &&
		    generates(m);
	return strcmp(w, id) == 0 || (strncmp(w, "models/", 7) == 0 &&
	    strcmp(w + 7, id) == 0);
}

static int
on_id(void *ctx, const char *id)
{
	struct ids *r = ctx;

	FZ_CHECK(!r->stopped, "no id after the callback said stop");
	FZ_CHECK(id != NULL && id[0] != '\0', "id non-empty");
	/* skip list elements that give no id, then match */
	for (; r->next != NULL && !gives(r, r->next, id);
	    r->next = r->next->next)
		;
	FZ_CHECK(r->next != NULL, "id is a list element's, in order");
	r->next = r->next->next;
	r->n++;
	if (r->stop_after != 0 && r->n == r->stop_after) {
		r->stopped = 1;
		return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	const struct px_provider *p;
	const uint8_t *l;
	size_t ln;
	long long v[2];
	char *body, next[64];
	cJSON *root;
	const cJSON *arr;
	struct ids r;
	enum px_err rc;

	fz_line(&in, &l, &ln);
	fz_ints(l, ln, v, 2);
	p = fz_provider(v[0]);
	body = fz_dup(in.p, in.n, 0);
	root = body != NULL ? cJSON_ParseWithLength(body, in.n) : NULL;
	memset(&r, 0, sizeof r);
	r.native = p->api != PX_API_OPENAI;
	arr = fz_get(root, r.native ? "models" : "data");
	r.next = cJSON_IsArray(arr) ? arr->child : NULL;
	r.stop_after = v[1] < 0 ? 0 : (size_t)v[1];
	memset(next, 0x5a, sizeof next);
	rc = p->parse_models(body, in.n, on_id, &r, next, sizeof next);
	FZ_CHECK(rc == PX_OK || rc == PX_EUPSTREAM || rc == PX_ETOOBIG,
	    "result code");
	FZ_CHECK(memchr(next, '\0', sizeof next) != NULL,
	    "page token NUL-terminated");
	if (rc == PX_EUPSTREAM)
		FZ_CHECK(r.n == 0, "no ids with PX_EUPSTREAM");
	if (!r.native) {
		FZ_CHECK((rc == PX_EUPSTREAM) == !cJSON_IsArray(arr),
		    "PX_EUPSTREAM exactly without a data array");
		FZ_CHECK(rc != PX_ETOOBIG && next[0] == '\0',
		    "OpenAI lists have no pages");
	}
	cJSON_Delete(root);
	free(body);
	return 0;
}
