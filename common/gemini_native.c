/*
 * gemini_native.c -- the Gemini native API adapter's addressing and
 * listing: the credential header, the URL of each operation, the models
 * list, and the small cJSON helpers the other gemini_native_*.c files
 * share (see gemini_native.h).
 * Never: I/O, logging, or a key in a URL (the key travels only in the
 * x-goog-api-key header, provider-apis-2026.md §3.2: a ?key= parameter
 * would land in logs, and with the header as well AQ. keys are refused).
 * Load: a few calls per request; the models list once per cache period.
 * Sources: "§" cites provider-apis.md, "2026 doc §" its addendum
 * provider-apis-2026.md; each comment states the fact it relies on.
 */
#include "gemini_native.h"

#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define TOKENS_MAX 1e15	/* clamp before converting a double to long */

/* --- shared helpers --- */

cJSON *
px_gn_get(const cJSON *obj, const char *key)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

const cJSON *
px_gn_arr(const cJSON *a)
{
	return cJSON_IsArray(a) ? a : NULL;
}

const char *
px_gn_str(const cJSON *obj, const char *key)
{
	const cJSON *v = px_gn_get(obj, key);

	return cJSON_IsString(v) && v->valuestring != NULL ?
	    v->valuestring : NULL;
}

long
px_gn_count(const cJSON *obj, const char *key)
{
	const cJSON *v = px_gn_get(obj, key);

	if (!cJSON_IsNumber(v) || !(v->valuedouble > 0))
		return 0;
	if (v->valuedouble > TOKENS_MAX)
		return (long)TOKENS_MAX;
	return (long)v->valuedouble;
}

const char *
px_gn_model_id(const char *model)
{
	if (model != NULL && strncmp(model, "models/", 7) == 0)
		return model + 7;
	return model != NULL ? model : "";
}

cJSON *
px_gn_add(struct px_gn_tree *b, cJSON *obj, const char *key, cJSON *item)
{
	int ok;

	if (item == NULL) {
		b->oom = 1;
		return NULL;
	}
	ok = key != NULL ? cJSON_AddItemToObject(obj, key, item) :
	    cJSON_AddItemToArray(obj, item);
	if (!ok) {
		cJSON_Delete(item);
		b->oom = 1;
		return NULL;
	}
	return item;
}

/* --- credential and URLs --- */

void
px_gn_auth(const char *secret, char *line, size_t cap)
{
	snprintf(line, cap, "x-goog-api-key: %s", secret);
}

/* A bounded writer into dst[cap]; `over` once something did not fit. */
struct url {
	char  *p;
	size_t cap, n;
	int    over;
};

static void
url_putc(struct url *u, char c)
{
	if (u->n + 1 >= u->cap) {
		u->over = 1;
		return;
	}
	u->p[u->n++] = c;
	u->p[u->n] = '\0';
}

static void
url_puts(struct url *u, const char *s)
{
	while (*s != '\0')
		url_putc(u, *s++);
}

/* s percent-encoded: RFC 3986 unreserved bytes stay, the rest is %XX. */
static void
url_enc(struct url *u, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			url_putc(u, (char)c);
			continue;
		}
		url_putc(u, '%');
		url_putc(u, hex[c >> 4]);
		url_putc(u, hex[c & 15]);
	}
}

/* base without its trailing slashes. */
static void
url_base(struct url *u, const char *base)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	while (n-- > 0)
		url_putc(u, *base++);
}

/*
 * provider-apis.md §3b: POST {base}/models/{model}:generateContent, and
 * :streamGenerateContent?alt=sse (without alt=sse the reply is a JSON
 * array, not SSE); GET {base}/models?pageSize=N&pageToken=T; 2026 §6.2:
 * POST {base}/models/{model}:batchEmbedContents. The page size is the
 * largest the list is known to honour; the maximum is UNVERIFIED (§9).
 */
enum px_err
px_gn_url(const char *base, enum px_op op, const char *model, char *dst,
    size_t cap)
{
	static const char *const verb[] = {
		[PX_OP_CHAT] = ":generateContent",
		[PX_OP_STREAM] = ":streamGenerateContent?alt=sse",
		[PX_OP_MODELS] = NULL,
		[PX_OP_EMBED] = ":batchEmbedContents",
	};
	struct url u = { dst, cap, 0, 0 };

	if ((unsigned)op > PX_OP_EMBED || cap == 0)
		return PX_EINTERNAL;
	dst[0] = '\0';
	url_base(&u, base);
	if (op == PX_OP_MODELS) {
		url_puts(&u, "/models?pageSize=1000");
		if (model != NULL && *model != '\0') {
			url_puts(&u, "&pageToken=");
			url_enc(&u, model);
		}
	} else {
		url_puts(&u, "/models/");
		url_enc(&u, px_gn_model_id(model));
		url_puts(&u, verb[op]);
	}
	return u.over ? PX_ETOOBIG : PX_OK;
}

/* --- models list --- */

/* Does the model list generateContent among its methods (§3b, 2026 §5.5)? */
static int
can_generate(const cJSON *m)
{
	const cJSON *meth = px_gn_get(m, "supportedGenerationMethods"), *it;

	cJSON_ArrayForEach(it, px_gn_arr(meth)) {
		if (cJSON_IsString(it) &&
		    strcmp(it->valuestring, "generateContent") == 0)
			return 1;
	}
	return 0;
}

/*
 * {"models":[{"name":"models/gemini-2.5-flash",
 * "supportedGenerationMethods":["generateContent",...]},...],
 * "nextPageToken":"..."}; ids are names without "models/" (a name
 * without it could not be called as /models/{id}). A page without models
 * omits the member (proto3 JSON leaves out empty lists), so an object
 * alone is a valid empty page.
 * A token longer than next[] can hold gives PX_ETOOBIG after the page's
 * ids were delivered (paging cannot go on without it).
 */
enum px_err
px_gn_parse_models(const char *body, size_t len, px_model_fn fn, void *ctx,
    char *next, size_t ncap)
{
	cJSON *root = NULL;
	const cJSON *list, *m;
	const char *id, *tok;
	enum px_err rc = PX_EUPSTREAM;

	if (ncap > 0)
		next[0] = '\0';
	if (body != NULL && len > 0)
		root = cJSON_ParseWithLength(body, len);
	list = px_gn_get(root, "models");
	if (!cJSON_IsObject(root) || (list != NULL && !cJSON_IsArray(list)))
		goto out;
	rc = PX_OK;
	cJSON_ArrayForEach(m, list) {
		id = px_gn_str(m, "name");
		if (id == NULL || strncmp(id, "models/", 7) != 0 ||
		    id[7] == '\0' || !can_generate(m))
			continue;
		id += 7;
		if (fn(ctx, id) != 0)
			goto out;
	}
	tok = px_gn_str(root, "nextPageToken");
	if (tok != NULL && ncap > 0) {
		if (strlen(tok) < ncap)
			memcpy(next, tok, strlen(tok) + 1);
		else
			rc = PX_ETOOBIG;
	}
out:
	cJSON_Delete(root);
	return rc;
}
