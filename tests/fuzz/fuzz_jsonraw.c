/*
 * fuzz_jsonraw.c -- libFuzzer target for jsonraw.h: px_json_find and
 * px_json_set.
 * Input: line 1 is the member name, line 2 the raw JSON value to splice
 * in, the rest is the document.
 * Checks: find and set agree on whether the text is one object; a found
 * span lies inside the text and set replaces exactly those bytes; an
 * absent member is added first as `"key":value` (plus ',' unless the
 * object was empty) with every other byte kept; on error the output is
 * empty; with a small output cap the result is PX_ETOOBIG or fits. When
 * the document and the value are strict JSON the result is strict JSON,
 * finding the key in the result gives back exactly the value, and (for a
 * document without backslashes) cJSON sees the same member the splice hit.
 */
#include "jsonraw.h"

#include <cJSON.h>

#include "fuzz_util.h"

/* Bytes px_buf_add_json_str copies unchanged. */
static int
plain_key(const char *k)
{
	for (; *k != '\0'; k++) {
		unsigned char c = (unsigned char)*k;

		if (c < 0x20 || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}

/* The value without surrounding JSON whitespace. */
static void
trim(const char *v, size_t *off, size_t *n)
{
	size_t a = 0, b = strlen(v);

	while (a < b && strchr(" \t\r\n", v[a]) != NULL)
		a++;
	while (b > a && strchr(" \t\r\n", v[b - 1]) != NULL)
		b--;
	*off = a;
	*n = b - a;
}

/* Offset of the top-level '{' and whether the object has members. */
static void
open_of(const char *j, size_t len, size_t *open, int *empty)
{
	size_t i = 0;

	while (i < len && strchr(" \t\r\n", j[i]) != NULL && j[i] != '\0')
		i++;
	*open = i;
	i++;
	while (i < len && strchr(" \t\r\n", j[i]) != NULL && j[i] != '\0')
		i++;
	*empty = i < len && j[i] == '}';
}

/* cJSON sees the same member the splice replaced (first match wins). */
static void
cross_check_cjson(const char *out, size_t olen, const char *key,
    const char *value)
{
	cJSON *o = cJSON_ParseWithLength(out, olen);
	cJSON *v = cJSON_Parse(value);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);
	char *a, *b;

	if (o == NULL || v == NULL) {	/* e.g. nesting past cJSON's limit */
		cJSON_Delete(o);
		cJSON_Delete(v);
		return;
	}
	FZ_CHECK(m != NULL, "cJSON finds the spliced member");
	a = cJSON_PrintUnformatted(m);
	b = cJSON_PrintUnformatted(v);
	FZ_CHECK(a != NULL && b != NULL && strcmp(a, b) == 0,
	    "the member cJSON reads is the spliced value");
	cJSON_free(a);
	cJSON_free(b);
	cJSON_Delete(o);
	cJSON_Delete(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	const uint8_t *l;
	size_t ln, off = 0, vlen = 0, voff, vn, open, klen, len, off2, vlen2;
	char *key, *value, *json;
	struct px_buf out;
	enum px_err rc;
	int found, empty, strict_doc, strict_val;

	fz_line(&in, &l, &ln);
	key = fz_dup(l, ln, 1);
	fz_line(&in, &l, &ln);
	value = fz_dup(l, ln, 1);
	len = in.n;
	json = fz_dup(in.p, len, 0);	/* no NUL: reads past len are caught */
	klen = strlen(key);

	found = px_json_find(json, len, key, &off, &vlen);
	if (found) {
		FZ_CHECK(off < len && vlen > 0 && vlen <= len - off,
		    "found span inside the text");
	}

	/* a small cap now and then: PX_ETOOBIG must leave out empty */
	px_buf_init(&out, (size & 7) == 7 ? len / 2 + 1 : 1u << 24);
	rc = px_json_set(&out, json, len, key, value);
	FZ_CHECK(rc == PX_OK || rc == PX_EBADREQ || rc == PX_ETOOBIG,
	    "px_json_set result code");
	if (rc != PX_OK) {
		FZ_CHECK(out.len == 0, "error leaves out empty");
		FZ_CHECK(!(found && rc == PX_EBADREQ),
		    "find found a member in text that set calls no object");
		goto done;
	}
	FZ_CHECK(out.p != NULL && out.p[out.len] == '\0',
	    "out NUL-terminated");
	FZ_CHECK(out.len <= out.max, "out within its cap");
	if (found) {
		size_t vl = strlen(value);

		FZ_CHECK(out.len == len - vlen + vl &&
		    memcmp(out.p, json, off) == 0 &&
		    memcmp(out.p + off, value, vl) == 0 &&
		    memcmp(out.p + off + vl, json + off + vlen,
		    len - off - vlen) == 0,
		    "set replaces exactly the span find reported");
	} else {
		open_of(json, len, &open, &empty);
		FZ_CHECK(open < len && json[open] == '{', "object opens");
		FZ_CHECK(memcmp(out.p, json, open + 1) == 0 &&
		    out.p[open + 1] == '"', "prefix kept, member added first");
		FZ_CHECK(out.len >= len - open - 1 && memcmp(out.p + out.len -
		    (len - open - 1), json + open + 1, len - open - 1) == 0,
		    "rest of the object kept");
		if (plain_key(key)) {
			size_t vl = strlen(value);

			FZ_CHECK(out.len == len + klen + vl + 3 + !empty,
			    "inserted member is exactly \"key\":value[,]");
			FZ_CHECK(memcmp(out.p + open + 2, key, klen) == 0 &&
			    memcmp(out.p + open + 2 + klen, "\":", 2) == 0 &&
			    memcmp(out.p + open + 4 + klen, value, vl) == 0,
			    "inserted member bytes");
		}
	}

	strict_doc = fz_json_ok(json, len, 1);
	strict_val = fz_json_ok(value, strlen(value), 1);
	if (strict_doc && strict_val && fz_utf8_ok(key, klen)) {
		FZ_CHECK(fz_json_ok(out.p, out.len, 1),
		    "strict JSON in, strict JSON out");
		trim(value, &voff, &vn);
		if (found || plain_key(key)) {
			FZ_CHECK(px_json_find(out.p, out.len, key, &off2,
			    &vlen2) == 1, "spliced member is found again");
			FZ_CHECK(vlen2 == vn &&
			    memcmp(out.p + off2, value + voff, vn) == 0,
			    "found again with exactly the spliced bytes");
		}
		if (memchr(json, '\\', len) == NULL && plain_key(key))
			cross_check_cjson(out.p, out.len, key, value);
	}
done:
	px_buf_free(&out);
	free(key);
	free(value);
	free(json);
	return 0;
}
