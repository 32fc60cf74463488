/*
 * fuzz_native_reply.c -- libFuzzer target for the embeddings reply
 * translation (px_provider.embed_reply) of every adapter that has one
 * (today the native Gemini adapter: gemini_native_embed.c, its
 * batchEmbedContents reply -> the OpenAI list). The native adapter's
 * map_event and map_body are fuzzed by provider_event and provider_body
 * (adapter 2), with the native checks there.
 * Owns: its checks and the reference they compare with, if any.
 * Never: network, files or clocks; links only the modules it fuzzes.
 * Input: line 1 "adapter encoding model" (adapter: picks among those with
 * an embed_reply; encoding 0 float, 1 base64, 2 NULL; model one of a
 * few, gemini-embedding-001 among them, whose short vectors are
 * normalised); the rest the upstream's reply (an exact-size copy).
 * Checks: PX_OK or PX_EUPSTREAM (out empty), PX_OK exactly when the reply
 * is {"embeddings":[{"values":[numbers...]}, ...]} as cJSON reads it,
 * every number within float32's range;
 * then out is strict JSON {"object":"list","data":[{"object":"embedding",
 * "index":i,"embedding":...}],"model":<model without models/>,"usage":
 * {"prompt_tokens":0,"total_tokens":0}}, one entry per embedding in
 * order; "float": an array of as many numbers, each the float32 of the
 * value (or of the normalised vector: unit length); "base64": padded
 * base64 of 4 little-endian bytes per value, those same float32s.
 */
#include "fuzz_provider.h"

#include <float.h>

static const char *const models[] = {
	"gemini-embedding-001", "models/gemini-embedding-001",
	"text-embedding-004", "models/gemini-embedding-exp",
};

/* The adapters with an embed_reply. */
static const struct px_provider *
embedder(long long pick)
{
	static const struct px_provider *tab[16];
	static size_t n;
	const struct px_provider *p;
	size_t i, k;

	for (i = 0; n == 0 && i < 16; i++) {
		p = fz_provider((long long)i);
		for (k = 0; k < n && tab[k] != p; k++)
			;
		if (p->embed_reply != NULL && k == n)
			tab[n++] = p;
	}
	FZ_CHECK(n >= 1, "an adapter with embed_reply");
	return tab[(unsigned long long)pick % n];
}

static int
b64val(char c)
{
	const char *tab =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *q = c != '\0' ? strchr(tab, c) : NULL;

	return q != NULL ? (int)(q - tab) : -1;
}

/* Decode padded base64 s into *out (malloc'd), *n bytes; 0 when bad. */
static int
b64dec(const char *s, unsigned char **out, size_t *n)
{
	size_t len = strlen(s), i, o = 0;
	int v[4], k, pad;

	*out = malloc(len / 4 * 3 + 1);
	if (*out == NULL)
		abort();
	if (len % 4 != 0)
		return 0;
	for (i = 0; i < len; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
			} else {
				if (pad > 0)
					return 0;
				v[k] = b64val(s[i + k]);
				if (v[k] < 0)
					return 0;
			}
		}
		(*out)[o++] = (unsigned char)((v[0] << 2) | (v[1] >> 4));
		if (pad < 2)
			(*out)[o++] = (unsigned char)(((v[1] & 15) << 4) |
			    (v[2] >> 2));
		if (pad < 1)
			(*out)[o++] = (unsigned char)(((v[2] & 3) << 6) | v[3]);
	}
	*n = o;
	return 1;
}

/* The float32 values the reply says for vector vals, as written. */
static float
le_float(const unsigned char *b)
{
	uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 |
	    (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	float f;

	memcpy(&f, &u, sizeof f);
	return f;
}

/* Every value of vals fits a float32: a reply with one that does not
 * (1e39; 1e999, which cJSON reads as inf) is refused (finding 12). */
static int
fits(const cJSON *vals)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, vals) {
		if (!(v->valuedouble >= -FLT_MAX && v->valuedouble <= FLT_MAX))
			return 0;
	}
	return 1;
}

/* Compare one output vector (floats got[0..n)) with the input values. */
static void
check_vector(const float *got, size_t n, const cJSON *vals, int normalised)
{
	const cJSON *v;
	double norm = 0, sum = 0;
	size_t i = 0;

	FZ_CHECK(n == (size_t)cJSON_GetArraySize(vals),
	    "one number per value");
	cJSON_ArrayForEach(v, vals) {
		sum += v->valuedouble * v->valuedouble;
		norm += (double)got[i] * (double)got[i];
		if (!normalised)
			FZ_CHECK(got[i] == (float)v->valuedouble ||
			    (got[i] != got[i] && v->valuedouble !=
			    v->valuedouble), "the value as float32");
		i++;
	}
	if (normalised && sum > 1e-30 && sum < 1e30)
		FZ_CHECK(norm > 0.999 && norm < 1.001,
		    "a shortened gemini-embedding-001 vector has unit length");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct px_buf out;
	static int init;
	struct fz_in in = { data, size };
	const struct px_provider *p;
	const uint8_t *l;
	size_t ln, i, nb;
	long long v[3];
	const char *enc, *model, *m;
	char *body;
	enum px_err rc;
	cJSON *up, *j;
	const cJSON *embs, *e, *vals, *d, *it;
	unsigned char *bytes;
	float *f;
	const cJSON *none = NULL;
	int shape, normalised, k;

	if (!init) {
		px_buf_init(&out, FZ_OUT_MAX);
		init = 1;
	}
	fz_line(&in, &l, &ln);
	fz_ints(l, ln, v, 3);
	p = embedder(v[0]);
	enc = (v[1] % 3) == 1 ? "base64" : (v[1] % 3) == 2 ? NULL : "float";
	model = models[(unsigned long long)v[2] % 4];
	m = strncmp(model, "models/", 7) == 0 ? model + 7 : model;
	body = fz_dup(in.p, in.n, 0);

	/* what the reply is, read by cJSON */
	up = body != NULL ? cJSON_ParseWithLength(body, in.n) : NULL;
	embs = cJSON_IsObject(up) ? cJSON_GetObjectItemCaseSensitive(up,
	    "embeddings") : NULL;
	shape = cJSON_IsArray(embs);
	cJSON_ArrayForEach(e, (shape ? embs : none)) {
		vals = fz_get(e, "values");
		shape &= cJSON_IsArray(vals);
		cJSON_ArrayForEach(it, (cJSON_IsArray(vals) ? vals : none))
			shape &= cJSON_IsNumber(it);
		shape &= cJSON_IsArray(vals) && fits(vals);
	}

	px_buf_reset(&out);
	rc = p->embed_reply(body, in.n, model, enc, &out);
	FZ_CHECK(rc == PX_OK || rc == PX_EUPSTREAM, "PX_OK or PX_EUPSTREAM");
	FZ_CHECK((rc == PX_OK) == shape, "PX_OK exactly for the reply's shape");
	if (rc != PX_OK) {
		FZ_CHECK(out.len == 0, "nothing written on failure");
		goto out;
	}
	if (!fz_json_ok(out.p, out.len, 1))
		fprintf(stderr, "out: %.*s\n", (int)(out.len < 4000 ?
		    out.len : 4000), out.p);
	FZ_CHECK(fz_json_ok(out.p, out.len, 1), "the list is strict JSON");
	j = cJSON_ParseWithLength(out.p, out.len);
	FZ_CHECK(fz_get(j, "object") != NULL &&
	    cJSON_IsString(fz_get(j, "object")) &&
	    strcmp(fz_get(j, "object")->valuestring, "list") == 0,
	    "object list");
	FZ_CHECK(cJSON_IsString(fz_get(j, "model")) &&
	    strcmp(fz_get(j, "model")->valuestring, m) == 0,
	    "the model, without models/");
	FZ_CHECK(cJSON_IsObject(fz_get(j, "usage")), "usage");
	d = fz_get(j, "data");
	FZ_CHECK(cJSON_IsArray(d) && cJSON_GetArraySize(d) ==
	    cJSON_GetArraySize(embs), "one entry per embedding");
	normalised = strstr(m, "embedding-001") != NULL;
	k = 0;
	e = embs->child;
	cJSON_ArrayForEach(it, d) {
		vals = fz_get(e, "values");
		FZ_CHECK(cJSON_IsNumber(fz_get(it, "index")) &&
		    fz_get(it, "index")->valuedouble == k, "index i");
		f = malloc(((size_t)cJSON_GetArraySize(vals) + 1) * sizeof *f);
		if (f == NULL)
			abort();
		if (enc != NULL && strcmp(enc, "base64") == 0) {
			FZ_CHECK(cJSON_IsString(fz_get(it, "embedding")),
			    "base64: a string");
			FZ_CHECK(b64dec(fz_get(it, "embedding")->valuestring,
			    &bytes, &nb) && nb % 4 == 0,
			    "padded base64 of float32s");
			for (i = 0; i < nb / 4 &&
			    i < (size_t)cJSON_GetArraySize(vals); i++)
				f[i] = le_float(bytes + 4 * i);
			check_vector(f, nb / 4, vals, normalised &&
			    cJSON_GetArraySize(vals) < 3072);
			free(bytes);
		} else {
			const cJSON *x;

			FZ_CHECK(cJSON_IsArray(fz_get(it, "embedding")),
			    "float: an array");
			i = 0;
			cJSON_ArrayForEach(x, fz_get(it, "embedding")) {
				FZ_CHECK(cJSON_IsNumber(x), "numbers");
				if (i < (size_t)cJSON_GetArraySize(vals))
					f[i] = (float)x->valuedouble;
				i++;
			}
			check_vector(f, i, vals, normalised &&
			    cJSON_GetArraySize(vals) < 3072);
		}
		free(f);
		e = e->next;
		k++;
	}
	cJSON_Delete(j);
out:
	cJSON_Delete(up);
	free(body);
	return 0;
}
