/*
 * test_jsonraw.c -- vectors for px_json_find and px_json_set.
 * Every input is copied into a heap block of exactly its length (no NUL
 * after it), so ASan reports any read past len; every prefix of every input
 * is scanned as well.
 */
#include <stdlib.h>
#include <string.h>

#include "jsonraw.h"
#include "tharness.h"

struct fvec {
	const char *json;
	const char *key;
	const char *want;	/* value text, NULL: not found */
};

static const struct fvec fvecs[] = {
	/* value types */
	{ "{\"model\":\"gpt\"}", "model", "\"gpt\"" },
	{ "{\"a\":1,\"model\":-1.5e+3}", "model", "-1.5e+3" },
	{ "{\"model\":0}", "model", "0" },
	{ "{\"model\":true}", "model", "true" },
	{ "{\"model\":false,\"b\":1}", "model", "false" },
	{ "{\"model\":null}", "model", "null" },
	{ "{\"model\":{\"x\":[1,{\"y\":2}]},\"z\":3}", "model",
	  "{\"x\":[1,{\"y\":2}]}" },
	{ "{\"model\":[1,\"]\",{\"}\":\"[\"}],\"z\":3}", "model",
	  "[1,\"]\",{\"}\":\"[\"}]" },
	{ "{\"model\":[],\"z\":{}}", "model", "[]" },
	{ "{\"model\":\"\"}", "model", "\"\"" },
	/* the same key deeper must not match */
	{ "{\"x\":{\"model\":\"inner\"},\"model\":\"outer\"}", "model",
	  "\"outer\"" },
	{ "{\"x\":{\"model\":\"inner\"}}", "model", NULL },
	{ "{\"x\":[{\"model\":1}],\"y\":[[\"model\"]]}", "model", NULL },
	/* key text inside string values */
	{ "{\"content\":\"\\\"model\\\":\\\"fake\\\"\",\"model\":\"real\"}",
	  "model", "\"real\"" },
	{ "{\"a\":\"model\"}", "model", NULL },
	{ "{\"a\":\"{\\\"model\\\":1}\"}", "model", NULL },
	/* near-miss keys */
	{ "{\"model2\":1,\"mode\":2,\"xmodel\":3,\"Model\":4}", "model",
	  NULL },
	/* escapes: backslash runs before a quote */
	{ "{\"a\":\"x\\\\\",\"model\":\"m\"}", "model", "\"m\"" },
	{ "{\"a\":\"\\\\\\\"\",\"model\":2}", "model", "2" },
	{ "{\"a\":\"\\\\\\\\\",\"model\":3}", "model", "3" },
	{ "{\"model\":\"say \\\"hi\\\"\"}", "model", "\"say \\\"hi\\\"\"" },
	{ "{\"a\\\"b\":1,\"model\":4}", "model", "4" },
	{ "{\"u\":\"\\u00e9\\n\",\"model\":5}", "model", "5" },
	/* whitespace around every token */
	{ " \n{ \"model\" \t:\r\n \"x\" , \"b\" : 2 }\n ", "model", "\"x\"" },
	{ "{\n  \"b\" : [ 1 , 2 ] ,\n  \"model\" : 7\n}", "model", "7" },
	/* first occurrence wins, like cJSON_GetObjectItem */
	{ "{\"model\":\"a\",\"model\":\"b\"}", "model", "\"a\"" },
	/* empty object */
	{ "{}", "model", NULL },
	{ " { \n } ", "model", NULL },
	/* a key written with escapes is documented not to match */
	{ "{\"mo\\u0064el\":\"x\"}", "model", NULL },
	/* other keys */
	{ "{\"stream\":true,\"model\":\"m\"}", "stream", "true" },
	{ "{\"\":1}", "", "1" },
	/* raw UTF-8 */
	{ "{\"t\":\"h\xc3\xa9\",\"model\":\"\xe2\x82\xac\"}", "model",
	  "\"\xe2\x82\xac\"" },
};

/* Not one object: find says absent, set says PX_EBADREQ. */
static const char *const bad[] = {
	"", " ", "[]", "\"model\"", "1", "null", "{", "{\"model\"",
	"{\"model\":", "{\"model\":}", "{\"model\":1", "{\"model\":1,}",
	"{,}", "{,\"model\":1}", "{\"model\" 1}", "{\"a\":1 \"model\":2}",
	"{\"model\":\"unterminated}", "{\"model\":\"esc\\\"}",
	"{\"model\":1} x", "{\"model\":1}}", "{\"model\":1}{}",
	"{\"model\":[1,2}", "{\"a\":{\"model\":1}", "{model:1}",
	"{'model':1}", "{\"model\":1]", "{\"model\"::1}", "{\"model\":,}",
	"x{\"model\":1}", "{\"model\":1,,\"b\":2}", "{\"a\":[}",
	"{\"model\":\"a\"\"b\"}", "{\"model\":1 2}", "{\"model\":{}",
};

#define NF (sizeof(fvecs) / sizeof(fvecs[0]))
#define NB (sizeof(bad) / sizeof(bad[0]))

/* memcpy without clang-tidy's Annex K advice, for test setup only. */
static void
put(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = src[i];
}

/* Exact-length heap copy: any read past len is an ASan report. */
static char *
dup_exact(const char *s, size_t n)
{
	char *d = malloc(n > 0 ? n : 1);

	if (d != NULL && n > 0)
		put(d, s, n);
	return d;
}

static int
find_is(const char *json, size_t len, const char *key, const char *want)
{
	char *d = dup_exact(json, len);
	size_t off = 0, vlen = 0;
	int r, ok;

	r = px_json_find(d, len, key, &off, &vlen);
	if (want == NULL)
		ok = r == 0;
	else
		ok = r == 1 && vlen == strlen(want) &&
		    memcmp(json + off, want, vlen) == 0;
	free(d);
	return ok;
}

static void
test_find(void)
{
	size_t i;

	for (i = 0; i < NF; i++)
		T_CHECK(find_is(fvecs[i].json, strlen(fvecs[i].json),
		    fvecs[i].key, fvecs[i].want), fvecs[i].json);
	for (i = 0; i < NB; i++)
		T_CHECK(find_is(bad[i], strlen(bad[i]), "model", NULL),
		    bad[i]);
	T_CHECK(px_json_find(NULL, 0, "model", NULL, NULL) == 0,
	    "NULL text: absent");
}

/* A prefix that cuts before the closing '}' is never an object. */
static void
test_prefixes(void)
{
	size_t i, n, k, end;
	int ok = 1;

	for (i = 0; i < NF; i++) {
		n = strlen(fvecs[i].json);
		end = (size_t)(strrchr(fvecs[i].json, '}') - fvecs[i].json);
		for (k = 0; k <= end; k++)
			ok &= find_is(fvecs[i].json, k, fvecs[i].key, NULL);
		for (k = end + 1; k <= n; k++)
			ok &= find_is(fvecs[i].json, k, fvecs[i].key,
			    fvecs[i].want);
	}
	T_CHECK(ok, "every prefix: absent before the '}', found after");
}

static int
set_is(const char *json, const char *key, const char *value,
    const char *want)
{
	struct px_buf out;
	size_t len = strlen(json);
	char *d = dup_exact(json, len);
	int ok;

	px_buf_init(&out, 1 << 20);
	px_buf_adds(&out, "stale content from an earlier request");
	ok = px_json_set(&out, d, len, key, value) == PX_OK &&
	    out.len == strlen(want) && memcmp(out.p, want, out.len) == 0 &&
	    out.p[out.len] == '\0';
	px_buf_free(&out);
	free(d);
	return ok;
}

struct svec {
	const char *json;
	const char *value;
	const char *want;
};

static const struct svec svecs[] = {
	/* replace, realistic chat body: everything else byte for byte */
	{ "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":"
	  "\"say \\\"model\\\": hi \\u00e9\"}],\"temperature\":0.70,"
	  "\"max_tokens\":1e3,\"stream\":true,\"x_unknown\":{\"model\":1}}",
	  "\"openai/gpt-4o\"",
	  "{\"model\":\"openai/gpt-4o\",\"messages\":[{\"role\":\"user\","
	  "\"content\":\"say \\\"model\\\": hi \\u00e9\"}],"
	  "\"temperature\":0.70,\"max_tokens\":1e3,\"stream\":true,"
	  "\"x_unknown\":{\"model\":1}}" },
	{ "{\n  \"messages\": [],\n  \"model\" :  \"a\"  ,\n  \"n\": 1\n}\n",
	  "\"gemini-2.5-flash\"",
	  "{\n  \"messages\": [],\n  \"model\" :  \"gemini-2.5-flash\"  ,\n"
	  "  \"n\": 1\n}\n" },
	/* value types change both ways */
	{ "{\"model\":{\"deep\":[1,2]},\"b\":2}", "\"m\"",
	  "{\"model\":\"m\",\"b\":2}" },
	{ "{\"model\":null}", "[1,{\"x\":2}]", "{\"model\":[1,{\"x\":2}]}" },
	{ "{\"a\":1,\"model\":12345678}", "1", "{\"a\":1,\"model\":1}" },
	/* only the first of duplicate members is replaced */
	{ "{\"model\":\"a\",\"model\":\"b\"}", "\"c\"",
	  "{\"model\":\"c\",\"model\":\"b\"}" },
	/* insert when absent */
	{ "{}", "\"x\"", "{\"model\":\"x\"}" },
	{ "{ }", "\"x\"", "{\"model\":\"x\" }" },
	{ "{\"a\":1}", "\"x\"", "{\"model\":\"x\",\"a\":1}" },
	{ " {\n\"a\":1}\n", "\"x\"", " {\"model\":\"x\",\n\"a\":1}\n" },
	{ "{\"x\":{\"model\":\"inner\"}}", "\"y\"",
	  "{\"model\":\"y\",\"x\":{\"model\":\"inner\"}}" },
	{ "{\"mo\\u0064el\":\"x\"}", "\"y\"",
	  "{\"model\":\"y\",\"mo\\u0064el\":\"x\"}" },
};

#define NS (sizeof(svecs) / sizeof(svecs[0]))

static void
test_set_vectors(void)
{
	size_t i;

	for (i = 0; i < NS; i++)
		T_CHECK(set_is(svecs[i].json, "model", svecs[i].value,
		    svecs[i].want), svecs[i].json);
}

/* For every find vector: set == text before span + value + text after. */
static void
test_set_splice(void)
{
	char want[512];
	size_t i, off, vlen, len;
	int ok = 1;

	for (i = 0; i < NF; i++) {
		len = strlen(fvecs[i].json);
		if (!px_json_find(fvecs[i].json, len, fvecs[i].key, &off,
		    &vlen))
			continue;
		if (len + 8 > sizeof(want)) {
			ok = 0;
			continue;
		}
		put(want, fvecs[i].json, off);
		put(want + off, "\"NEW\"", 5);
		put(want + off + 5, fvecs[i].json + off + vlen,
		    len - off - vlen + 1);
		ok &= set_is(fvecs[i].json, fvecs[i].key, "\"NEW\"", want);
	}
	T_CHECK(ok, "set splices the found span, every other byte kept");
}

static void
test_set_bad(void)
{
	struct px_buf out;
	size_t i, len;
	char *d;
	int ok = 1;

	px_buf_init(&out, 1 << 20);
	for (i = 0; i < NB; i++) {
		len = strlen(bad[i]);
		d = dup_exact(bad[i], len);
		px_buf_adds(&out, "stale");
		ok = px_json_set(&out, d, len, "model", "\"x\"") ==
		    PX_EBADREQ && out.len == 0;
		T_CHECK(ok, bad[i]);
		free(d);
	}
	T_CHECK(px_json_set(&out, NULL, 0, "model", "1") == PX_EBADREQ,
	    "set on NULL text: PX_EBADREQ");
	px_buf_free(&out);
}

/* The cap is exact: a result of max bytes fits, one more does not. */
static void
test_set_cap(void)
{
	static const struct {
		const char *json;
		const char *want;
	} c[] = {
		{ "{\"model\":\"a\",\"b\":1}", "{\"model\":\"xyz\",\"b\":1}" },
		{ "{\"b\":1}", "{\"model\":\"xyz\",\"b\":1}" },
		{ "{}", "{\"model\":\"xyz\"}" },
	};
	struct px_buf out;
	size_t i, n;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		n = strlen(c[i].want);
		px_buf_init(&out, n);
		T_CHECK(px_json_set(&out, c[i].json, strlen(c[i].json),
		    "model", "\"xyz\"") == PX_OK &&
		    strcmp(out.p, c[i].want) == 0, c[i].want);
		px_buf_free(&out);
		px_buf_init(&out, n - 1);
		T_CHECK(px_json_set(&out, c[i].json, strlen(c[i].json),
		    "model", "\"xyz\"") == PX_ETOOBIG && out.len == 0,
		    c[i].want);
		px_buf_free(&out);
	}
}

/*
 * An inserted key is escaped; when escaping outgrows the reservation and
 * then hits the cap, out must still be left empty.
 */
static void
test_set_escaped_key(void)
{
	static const char want[] = "{\"a\\\"b\":1}";
	struct px_buf out;

	px_buf_init(&out, sizeof(want) - 1);
	T_CHECK(px_json_set(&out, "{}", 2, "a\"b", "1") == PX_OK &&
	    strcmp(out.p, want) == 0, "inserted key is escaped");
	px_buf_free(&out);
	px_buf_init(&out, sizeof(want) - 2);
	T_CHECK(px_json_set(&out, "{}", 2, "a\"b", "1") == PX_ETOOBIG &&
	    out.len == 0, "escaped key over cap: out left empty");
	px_buf_free(&out);
}

/* After set, find sees the new value; setting again is idempotent. */
static void
test_roundtrip(void)
{
	static const char body[] = "{\"messages\":[{\"model\":1}],\"n\":2}";
	struct px_buf a, b;
	size_t off = 0, vlen = 0;

	px_buf_init(&a, 4096);
	px_buf_init(&b, 4096);
	T_CHECK(px_json_set(&a, body, sizeof(body) - 1, "model", "\"m1\"") ==
	    PX_OK, "roundtrip: insert");
	T_CHECK(px_json_find(a.p, a.len, "model", &off, &vlen) == 1 &&
	    vlen == 4 && memcmp(a.p + off, "\"m1\"", 4) == 0,
	    "roundtrip: find sees the inserted value");
	T_CHECK(px_json_set(&b, a.p, a.len, "model", "\"m2\"") == PX_OK &&
	    strcmp(b.p, "{\"model\":\"m2\",\"messages\":[{\"model\":1}],"
	    "\"n\":2}") == 0, "roundtrip: second set replaces, no insert");
	px_buf_free(&a);
	px_buf_free(&b);
}

/* Deep nesting costs no stack: the scanner counts brackets. */
static void
test_deep(void)
{
	size_t depth = 100000, n = 0, i, off = 0, vlen = 0;
	char *t = malloc(2 * depth + 32);

	if (t == NULL) {
		T_CHECK(0, "deep: malloc");
		return;
	}
	put(t, "{\"a\":", 5);
	n = 5;
	for (i = 0; i < depth; i++)
		t[n++] = '[';
	for (i = 0; i < depth; i++)
		t[n++] = ']';
	put(t + n, ",\"model\":1}", 11);
	n += 11;
	T_CHECK(px_json_find(t, n, "model", &off, &vlen) == 1 &&
	    vlen == 1 && t[off] == '1', "deep nesting: member after it found");
	free(t);
}

int
main(void)
{
	test_find();
	test_prefixes();
	test_set_vectors();
	test_set_splice();
	test_set_bad();
	test_set_cap();
	test_set_escaped_key();
	test_roundtrip();
	test_deep();
	return t_done();
}
