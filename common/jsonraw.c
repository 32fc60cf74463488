/*
 * jsonraw.c -- find and replace one top-level member of a JSON text in
 * place (see jsonraw.h).
 * Owns: a lexical scanner that steps over whitespace, strings, scalars and
 * nested containers without building a tree, and the splice into a px_buf.
 * Never: allocates except through the output buffer; reads past len;
 * recurses (nesting depth costs nothing); validates values -- a scalar is
 * any run of [A-Za-z0-9+-.], brackets are counted, not matched by kind.
 * What it does check: the text is one object, '{' members '}', each member
 * "key" ':' value, separated by ',', with only whitespace after the '}'.
 * Keys are compared as raw bytes between the quotes: a key spelt with
 * escapes ("mo\u0064el") does not match "model". cJSON would decode it, so
 * such a body can carry a member this module does not see; callers look up
 * plain ASCII keys, and clients do not escape them in practice.
 * Load: one pass per request body, strings skipped with memchr.
 */
#include "jsonraw.h"

#include <cJSON.h>

#include <assert.h>
#include <string.h>

struct scan {
	const char *p;
	size_t      len;
	size_t      i;	/* next byte; never above len */
};

/* Result of walking the top-level object. */
struct hit {
	size_t open;	/* offset of the '{' */
	size_t nmemb;	/* members in the object */
	int    found;
	size_t off;	/* first matching member's value span */
	size_t vlen;
};

static int
at(const struct scan *sc, char c)
{
	return sc->i < sc->len && sc->p[sc->i] == c;
}

static void
skip_ws(struct scan *sc)
{
	while (sc->i < sc->len) {
		char c = sc->p[sc->i];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		sc->i++;
	}
}

/*
 * At an opening quote: step past the closing one. A quote is closing when
 * an even number of backslashes precedes it inside the string.
 */
static int
skip_string(struct scan *sc)
{
	size_t start = sc->i + 1, q = start, bs;
	const char *e;

	for (;;) {
		e = memchr(sc->p + q, '"', sc->len - q);
		if (e == NULL)
			return 0;
		q = (size_t)(e - sc->p);
		for (bs = 0; q - bs > start && sc->p[q - bs - 1] == '\\'; bs++)
			;
		q++;
		if (bs % 2 == 0)
			break;
	}
	sc->i = q;
	return 1;
}

/* At '{' or '[': step past the bracket that closes it. */
static int
skip_nested(struct scan *sc)
{
	size_t depth = 0;

	while (sc->i < sc->len) {
		char c = sc->p[sc->i];

		if (c == '"') {
			if (!skip_string(sc))
				return 0;
			continue;
		}
		sc->i++;
		if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0)
			return 1;
	}
	return 0;
}

/* A number or true/false/null: a non-empty run of scalar bytes. */
static int
skip_scalar(struct scan *sc)
{
	size_t start = sc->i;

	while (sc->i < sc->len) {
		char c = sc->p[sc->i];

		if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
		    !(c >= 'A' && c <= 'Z') && c != '-' && c != '+' &&
		    c != '.')
			break;
		sc->i++;
	}
	return sc->i > start;
}

static int
skip_value(struct scan *sc)
{
	if (sc->i >= sc->len)
		return 0;
	switch (sc->p[sc->i]) {
	case '"':
		return skip_string(sc);
	case '{':
	case '[':
		return skip_nested(sc);
	default:
		return skip_scalar(sc);
	}
}

/* One `"key" : value`; records the span when it is the first match. */
static int
member(struct scan *sc, const char *key, size_t klen, struct hit *h)
{
	size_t kstart, kend, vstart;

	skip_ws(sc);
	if (!at(sc, '"'))
		return 0;
	kstart = sc->i + 1;
	if (!skip_string(sc))
		return 0;
	kend = sc->i - 1;
	skip_ws(sc);
	if (!at(sc, ':'))
		return 0;
	sc->i++;
	skip_ws(sc);
	vstart = sc->i;
	if (!skip_value(sc))
		return 0;
	if (!h->found && kend - kstart == klen &&
	    memcmp(sc->p + kstart, key, klen) == 0) {
		h->found = 1;
		h->off = vstart;
		h->vlen = sc->i - vstart;
	}
	h->nmemb++;
	return 1;
}

/* Walk the whole top-level object. Returns 0 when it is not one. */
static int
walk_object(const char *json, size_t len, const char *key, struct hit *h)
{
	struct scan sc = { json, len, 0 };
	size_t klen = strlen(key);

	*h = (struct hit){ .found = 0 };
	if (json == NULL)
		return 0;
	skip_ws(&sc);
	if (!at(&sc, '{'))
		return 0;
	h->open = sc.i++;
	skip_ws(&sc);
	if (at(&sc, '}')) {
		sc.i++;
	} else {
		for (;;) {
			if (!member(&sc, key, klen, h))
				return 0;
			skip_ws(&sc);
			if (!at(&sc, ',') && !at(&sc, '}'))
				return 0;
			if (sc.p[sc.i++] == '}')
				break;
		}
	}
	skip_ws(&sc);
	return sc.i == len;
}

int
px_json_find(const char *json, size_t len, const char *key,
    size_t *off, size_t *vlen)
{
	struct hit h;

	assert(key != NULL);
	if (!walk_object(json, len, key, &h) || !h.found)
		return 0;
	*off = h.off;
	*vlen = h.vlen;
	return 1;
}

/* Absent member: `{` + `"key":value` + `,` unless empty + the rest. */
static enum px_err
insert_first(struct px_buf *out, const char *json, size_t len,
    const char *key, const char *value, const struct hit *h)
{
	size_t head = h->open + 1;
	enum px_err rc;

	rc = px_buf_add(out, json, head);
	if (rc == PX_OK)
		rc = px_buf_addc(out, '"');
	if (rc == PX_OK)
		rc = px_buf_add_json_str(out, key, strlen(key));
	if (rc == PX_OK)
		rc = px_buf_add(out, "\":", 2);
	if (rc == PX_OK)
		rc = px_buf_adds(out, value);
	if (rc == PX_OK && h->nmemb > 0)
		rc = px_buf_addc(out, ',');
	if (rc == PX_OK)
		rc = px_buf_add(out, json + head, len - head);
	return rc;
}

/*
 * PX_EBADREQ when json is not one object per walk_object. On any error out
 * is left empty. Room for the exact result is reserved up front, so the
 * copy costs at most one allocation and PX_ETOOBIG means it cannot fit.
 */
enum px_err
px_json_set(struct px_buf *out, const char *json, size_t len,
    const char *key, const char *value)
{
	struct hit h;
	enum px_err rc;
	size_t vn;

	assert(key != NULL && value != NULL);
	vn = strlen(value);
	px_buf_reset(out);
	if (!walk_object(json, len, key, &h))
		return PX_EBADREQ;
	if (h.found) {
		rc = px_buf_reserve(out, len - h.vlen + vn);
		if (rc == PX_OK)
			rc = px_buf_add(out, json, h.off);
		if (rc == PX_OK)
			rc = px_buf_add(out, value, vn);
		if (rc == PX_OK)
			rc = px_buf_add(out, json + h.off + h.vlen,
			    len - h.off - h.vlen);
	} else {
		/* exact for a plain key: `"` key `":` value [`,`] */
		rc = px_buf_reserve(out, len + strlen(key) + vn + 3 +
		    (h.nmemb > 0));
		if (rc == PX_OK)
			rc = insert_first(out, json, len, key, value, &h);
	}
	if (rc != PX_OK)
		px_buf_reset(out);
	return rc;
}

enum px_err
px_json_print(const cJSON *root, struct px_buf *out)
{
	char *s = cJSON_PrintUnformatted(root);
	enum px_err rc;

	if (s == NULL)
		return PX_ENOMEM;
	rc = px_buf_add(out, s, strlen(s));
	cJSON_free(s);
	return rc;
}
