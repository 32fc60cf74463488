/*
 * decoder.c -- the toolkit the dialect decoders read with (see decoder.h):
 * paths, error text, typed lookups, picks, walks, tree building, and the
 * parse after the byte screening of validate.c.
 * Owns: the wording the dialects share with validate.c ("required",
 * "expected X; got Y", "one of a, b"), its terse and parenthesised
 * variants, and the PX_DEC_ECHO cut of client strings.
 * Never: I/O, logging, allocation beyond the cJSON nodes a caller asks
 * for, or any API's shape rules.
 * Load: each lookup scans one object of a request body; errors are the
 * cold path.
 */
#include "decoder.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

/* --- paths ---------------------------------------------------------------- */

void
px_dec_init(struct px_dec *d, struct px_verr *err, unsigned flags)
{
	memset(d, 0, sizeof(*d));
	memset(err, 0, sizeof(*err));
	d->err = err;
	d->flags = flags;
}

size_t
px_dec_path_add(struct px_dec *d, const char *key, size_t idx)
{
	size_t old = d->plen, room = sizeof(d->path) - old;
	int n;

	if (key != NULL)
		n = snprintf(d->path + old, room, "%s%s", old ? "." : "", key);
	else
		n = snprintf(d->path + old, room, "[%zu]", idx);
	if (n > 0)
		d->plen = (size_t)n < room ? old + (size_t)n :
		    sizeof(d->path) - 1;
	return old;
}

size_t
px_dec_path_key(struct px_dec *d, const char *key)
{
	return key != NULL ? px_dec_path_add(d, key, 0) : d->plen;
}

void
px_dec_path_cut(struct px_dec *d, size_t len)
{
	d->plen = len;
	d->path[len] = '\0';
}

/* --- error text ----------------------------------------------------------- */

size_t
px_dec_utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* What a client value is, for "got ..." (strings quoted and cut). */
static void
describe(const cJSON *it, char *buf, size_t n)
{
	size_t len;

	if (cJSON_IsString(it)) {
		len = px_dec_utf8_cut(it->valuestring, PX_DEC_ECHO);
		snprintf(buf, n, "\"%.*s%s\"", (int)len, it->valuestring,
		    it->valuestring[len] != '\0' ? "..." : "");
	} else if (cJSON_IsNumber(it)) {
		snprintf(buf, n, "%.15g", it->valuedouble);
	} else if (cJSON_IsBool(it)) {
		snprintf(buf, n, "%s", cJSON_IsTrue(it) ? "true" : "false");
	} else {
		snprintf(buf, n, "%s", cJSON_IsArray(it) ? "an array" :
		    cJSON_IsNull(it) ? "null" : "an object");
	}
}

enum px_err
px_dec_fail(struct px_dec *d, const char *key, const char *what)
{
	struct px_verr *e = d->err;
	size_t old = px_dec_path_key(d, key), p;

	snprintf(e->param, sizeof(e->param), "%s", d->path);
	px_dec_path_cut(d, old);
	p = strlen(e->param);
	snprintf(e->msg, sizeof(e->msg), "%s: %.*s", e->param,
	    (int)px_dec_utf8_cut(what, sizeof(e->msg) - p - 3), what);
	return PX_EBADREQ;
}

enum px_err
px_dec_failf(struct px_dec *d, const char *key, const char *fmt, ...)
{
	char what[sizeof(d->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return px_dec_fail(d, key, what);
}

enum px_err
px_dec_fail_got(struct px_dec *d, const char *key, const char *want,
    const cJSON *it)
{
	char got[PX_DEC_ECHO + 8], what[200];

	if (d->flags & PX_DEC_TERSE) {
		snprintf(what, sizeof(what), "expected %s", want);
		return px_dec_fail(d, key, what);
	}
	describe(it, got, sizeof(got));
	snprintf(what, sizeof(what), "expected %s; got %s", want, got);
	return px_dec_fail(d, key, what);
}

/* --- lookups -------------------------------------------------------------- */

static unsigned
type_bit(const cJSON *it)
{
	switch (it->type & 0xFF) {
	case cJSON_String:	return PX_T_STR;
	case cJSON_Number:	return PX_T_NUM;
	case cJSON_True:
	case cJSON_False:	return PX_T_BOOL;
	case cJSON_NULL:	return PX_T_NULL;
	case cJSON_Array:	return PX_T_ARR;
	default:		return PX_T_OBJ;
	}
}

/* "string", "string or array", "string, array or null"; with
 * PX_DEC_TERSE "a string or an array". */
static void
type_names(unsigned want, int terse, char *buf, size_t n)
{
	static const char *const names[][2] = {
		{ "string", "a string" }, { "number", "a number" },
		{ "boolean", "a boolean" }, { "array", "an array" },
		{ "object", "an object" }, { "null", "null" }
	};
	size_t i, len = 0;
	unsigned left = want & (PX_T_REQ - 1);

	buf[0] = '\0';
	for (i = 0; left != 0 && len < n; i++) {
		if ((left & (1u << i)) == 0)
			continue;
		left &= ~(1u << i);
		len += (size_t)snprintf(buf + len, n - len, "%s%s",
		    len == 0 ? "" : left == 0 ? " or " : ", ",
		    names[i][terse]);
	}
}

/* "expected <the types of want>; got ..." */
static enum px_err
type_fail(struct px_dec *d, const char *key, const cJSON *it, unsigned want)
{
	char names[80];

	type_names(want, (d->flags & PX_DEC_TERSE) != 0, names, sizeof(names));
	return px_dec_fail_got(d, key, names, it);
}

enum px_err
px_dec_check(struct px_dec *d, const char *key, const cJSON *it,
    unsigned want)
{
	return (type_bit(it) & want) != 0 ? PX_OK : type_fail(d, key, it, want);
}

enum px_err
px_dec_get(struct px_dec *d, const cJSON *obj, const char *key,
    unsigned want, const cJSON **out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	unsigned type;

	*out = NULL;
	if (it == NULL || cJSON_IsNull(it))
		return (want & PX_T_REQ) ? px_dec_fail(d, key, "required") :
		    PX_OK;
	type = type_bit(it);
	if ((type & want) == 0)
		return type_fail(d, key, it, want);
	if ((want & PX_T_FULL) && type == PX_T_STR &&
	    it->valuestring[0] == '\0')
		return px_dec_fail_got(d, key, "a non-empty string", it);
	*out = it;
	return PX_OK;
}

enum px_err
px_dec_get_str(struct px_dec *d, const cJSON *obj, const char *key,
    unsigned want, const char **out)
{
	const cJSON *it;
	enum px_err rc = px_dec_get(d, obj, key,
	    PX_T_STR | (want & (PX_T_REQ | PX_T_FULL)), &it);

	*out = it != NULL ? it->valuestring : "";
	return rc;
}

int
px_dec_index(const char *const *set, const char *s)
{
	int i;

	for (i = 0; set[i] != NULL; i++) {
		if (strcmp(s, set[i]) == 0)
			return i;
	}
	return -1;
}

enum px_err
px_dec_pick(struct px_dec *d, const char *key, const cJSON *it,
    const char *const *set, int *idx)
{
	char list[80], want[96];
	size_t len = 0;
	int i;

	list[0] = '\0';
	for (i = 0; set[i] != NULL; i++) {
		if (strcmp(set[i], it->valuestring) == 0) {
			*idx = i;
			return PX_OK;
		}
		if (len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			    "%s%s", i ? ", " : "", set[i]);
	}
	if (i > 1)
		snprintf(want, sizeof(want), "one of %s", list);
	else
		snprintf(want, sizeof(want), "\"%s\"", list);
	return px_dec_fail_got(d, key, want, it);
}

enum px_err
px_dec_each(struct px_dec *d, const char *key, const cJSON *arr,
    enum px_err (*fn)(void *arg, const cJSON *it), void *arg)
{
	const cJSON *it;
	size_t old = px_dec_path_key(d, key), mark, i = 0;
	enum px_err rc = PX_OK;

	for (it = arr->child; it != NULL && rc == PX_OK; it = it->next) {
		mark = px_dec_path_add(d, NULL, i++);
		rc = fn(arg, it);
		px_dec_path_cut(d, mark);
	}
	px_dec_path_cut(d, old);
	return rc == PX_OK && d->oom ? PX_ENOMEM : rc;
}

/* --- building trees ------------------------------------------------------- */

cJSON *
px_dec_put(struct px_dec *d, cJSON *parent, const char *key, cJSON *item)
{
	cJSON_bool ok = 0;

	if (parent != NULL && item != NULL)
		ok = key != NULL ? cJSON_AddItemToObject(parent, key, item) :
		    cJSON_AddItemToArray(parent, item);
	if (ok)
		return item;
	cJSON_Delete(item);
	d->oom = 1;
	return NULL;
}

cJSON *
px_dec_put_str(struct px_dec *d, cJSON *parent, const char *key,
    const char *s)
{
	return px_dec_put(d, parent, key, cJSON_CreateString(s));
}

cJSON *
px_dec_put_dup(struct px_dec *d, cJSON *parent, const char *key,
    const cJSON *v)
{
	return px_dec_put(d, parent, key, cJSON_Duplicate(v, 1));
}

/* --- the body ------------------------------------------------------------- */

static int
json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* param "", msg = "<what> at byte N" or "<what> (at byte N)"; always
 * PX_EBADREQ. */
static enum px_err
body_fail(struct px_dec *d, const char *what, size_t at, int paren)
{
	struct px_verr *e = d->err;

	e->param[0] = '\0';
	snprintf(e->msg, sizeof(e->msg), paren ? "%s (at byte %zu)" :
	    "%s at byte %zu", what, at);
	return PX_EBADREQ;
}

/* JSON syntax, nothing but white space after the value, an object. */
static enum px_err
parse_json(struct px_dec *d, const char *body, size_t len, cJSON **root)
{
	const char *end = body;
	size_t at;

	*root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (*root == NULL)
		return body_fail(d, "request body is not valid JSON",
		    (size_t)(end - body), 1);
	for (at = (size_t)(end - body); at < len && json_ws(body[at]); at++)
		;
	if (at < len)
		return body_fail(d, "unexpected data after the JSON value", at,
		    (d->flags & PX_DEC_PAREN) != 0);
	if (cJSON_IsObject(*root))
		return PX_OK;
	d->err->param[0] = '\0';
	snprintf(d->err->msg, sizeof(d->err->msg), "request body must be a "
	    "JSON object");
	return PX_EBADREQ;
}

enum px_err
px_dec_parse(struct px_dec *d, const char *body, size_t len,
    size_t max_values, cJSON **root)
{
	enum px_err rc;

	*root = NULL;
	if (body == NULL) {
		body = "";
		len = 0;
	}
	rc = px_validate_scan(body, len, max_values, d->err);
	return rc != PX_OK ? rc : parse_json(d, body, len, root);
}
