/*
 * gemini_native_embed.c -- POST /v1/embeddings over Gemini's native
 * batchEmbedContents (provider-apis-2026.md §6.2): the OpenAI request
 * turned into one embed request per input, and the batch reply turned
 * into the OpenAI list, as floats or base64 of little-endian float32.
 * Owns: input shapes (string or array of strings; token arrays are a 400),
 * the 100-requests cap of one batch, dimensions -> outputDimensionality,
 * normalising shortened gemini-embedding-001 vectors, number formatting.
 * Never: I/O, or splitting a batch (the engine sends one call per
 * request and rejects more inputs than one batch holds).
 * Load: one call per embeddings request; replies of up to 100 x 3072
 * numbers are written straight into out, without a cJSON tree.
 * Sources: "§" cites provider-apis.md, "2026 doc §" its addendum
 * provider-apis-2026.md; each comment states the fact it relies on.
 */
#include "gemini_native.h"

#include <cJSON.h>
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FULL_DIMS 3072	/* gemini-embedding-001 normalises only this size */

/* --- request --- */

/* Which inputs the request holds: NULL with err set when unusable. */
static const cJSON *
inputs(const cJSON *root, int *n, char *err, size_t cap)
{
	const cJSON *in = px_gn_get(root, "input"), *it;
	int i = 0;

	*n = 1;
	if (cJSON_IsString(in))
		return in;
	if (!cJSON_IsArray(in) || in->child == NULL) {
		snprintf(err, cap, "input: expected a string or a non-empty "
		    "array of strings");
		return NULL;
	}
	cJSON_ArrayForEach(it, in) {
		if (!cJSON_IsString(it)) {
			snprintf(err, cap, "input[%d]: expected a string (token "
			    "arrays are not supported for Gemini models)", i);
			return NULL;
		}
		i++;
	}
	if (i > PX_GN_EMBED_MAX) {
		snprintf(err, cap, "input: at most %d inputs per request for "
		    "Gemini models; got %d", PX_GN_EMBED_MAX, i);
		return NULL;
	}
	*n = i;
	return in;
}

/* dimensions (a positive integer) and encoding_format (float|base64). */
static int
options_ok(const cJSON *root, char *err, size_t cap)
{
	const cJSON *d = px_gn_get(root, "dimensions");
	const cJSON *f = px_gn_get(root, "encoding_format");

	if (d != NULL && !cJSON_IsNull(d) && (!cJSON_IsNumber(d) ||
	    d->valuedouble < 1 || d->valuedouble > 65536 ||
	    d->valuedouble != (double)(int)d->valuedouble)) {
		snprintf(err, cap, "dimensions: expected a positive integer");
		return 0;
	}
	if (f != NULL && !cJSON_IsNull(f) && (!cJSON_IsString(f) ||
	    (strcmp(f->valuestring, "float") != 0 &&
	    strcmp(f->valuestring, "base64") != 0))) {
		snprintf(err, cap, "encoding_format: expected \"float\" or "
		    "\"base64\"");
		return 0;
	}
	return 1;
}

/* {"model":"models/<m>","content":{"parts":[{"text":s}]},
 * "outputDimensionality"?} */
static enum px_err
one_request(struct px_buf *out, const char *model, const char *text,
    const cJSON *dims)
{
	enum px_err rc = px_buf_adds(out, "{\"model\":\"models/");

	if (rc == PX_OK)
		rc = px_buf_add_json_str(out, model, strlen(model));
	if (rc == PX_OK)
		rc = px_buf_adds(out, "\",\"content\":{\"parts\":[{\"text\":\"");
	if (rc == PX_OK)
		rc = px_buf_add_json_str(out, text, strlen(text));
	if (rc == PX_OK)
		rc = px_buf_adds(out, "\"}]}");
	if (rc == PX_OK && cJSON_IsNumber(dims))
		rc = px_buf_printf(out, ",\"outputDimensionality\":%d",
		    (int)dims->valuedouble);
	if (rc == PX_OK)
		rc = px_buf_addc(out, '}');
	return rc;
}

enum px_err
px_gn_embed_request(const char *json, size_t len, const char *model,
    struct px_buf *out, char *err, size_t cap)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *in, *it, *dims;
	const char *m = px_gn_model_id(model);
	enum px_err rc = PX_EBADREQ;
	int n;

	px_buf_reset(out);
	if (!cJSON_IsObject(root)) {
		snprintf(err, cap, "expected a JSON object");
		goto out;
	}
	in = inputs(root, &n, err, cap);
	if (in == NULL || !options_ok(root, err, cap))
		goto out;
	dims = px_gn_get(root, "dimensions");
	rc = px_buf_adds(out, "{\"requests\":[");
	if (cJSON_IsString(in) && rc == PX_OK)
		rc = one_request(out, m, in->valuestring, dims);
	cJSON_ArrayForEach(it, px_gn_arr(in)) {
		if (rc == PX_OK && it != in->child)
			rc = px_buf_addc(out, ',');
		if (rc == PX_OK)
			rc = one_request(out, m, it->valuestring, dims);
	}
	if (rc == PX_OK)
		rc = px_buf_adds(out, "]}");
out:
	cJSON_Delete(root);
	return rc;
}

/* --- reply --- */

/* The shortest %g text (7 to 9 digits) that reads back as the same
 * float32: embeddings are float32 values. */
static enum px_err
add_float(struct px_buf *out, float f)
{
	char s[32];
	int prec;

	for (prec = 7; prec < 9; prec++) {
		snprintf(s, sizeof(s), "%.*g", prec, (double)f);
		if ((float)strtod(s, NULL) == f)
			return px_buf_adds(out, s);
	}
	snprintf(s, sizeof(s), "%.9g", (double)f);
	return px_buf_adds(out, s);
}

/* 4 little-endian bytes of f, whatever the host's byte order. */
static void
le_bytes(float f, unsigned char b[4])
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	b[0] = (unsigned char)(u & 0xff);
	b[1] = (unsigned char)((u >> 8) & 0xff);
	b[2] = (unsigned char)((u >> 16) & 0xff);
	b[3] = (unsigned char)((u >> 24) & 0xff);
}

/* Streaming base64 (RFC 4648, padded) of a run of bytes. */
struct b64 {
	unsigned char in[3];
	int n;
};

static enum px_err
b64_put(struct px_buf *out, struct b64 *s, unsigned char c)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];

	s->in[s->n++] = c;
	if (s->n < 3)
		return PX_OK;
	q[0] = tab[s->in[0] >> 2];
	q[1] = tab[((s->in[0] & 3) << 4) | (s->in[1] >> 4)];
	q[2] = tab[((s->in[1] & 15) << 2) | (s->in[2] >> 6)];
	q[3] = tab[s->in[2] & 63];
	s->n = 0;
	return px_buf_add(out, q, 4);
}

static enum px_err
b64_end(struct px_buf *out, struct b64 *s)
{
	int pad = s->n == 0 ? 0 : 3 - s->n;
	enum px_err rc = PX_OK;
	size_t len;

	if (pad == 0)
		return PX_OK;
	while (s->n != 0 && rc == PX_OK)
		rc = b64_put(out, s, 0);
	len = out->len;
	if (rc == PX_OK)
		memset(out->p + len - pad, '=', (size_t)pad);
	return rc;
}

/* sqrt(x) for x > 0 by Newton's method (the build links no libm). */
static double
root_of(double x)
{
	double r = x >= 1 ? x : 1, prev = 0;
	int i;

	for (i = 0; i < 2000 && r != prev; i++) {
		prev = r;
		r = 0.5 * (r + x / r);
	}
	return r;
}

/* The scale that makes the vector unit length, 1 when it should stay. */
static double
scale_of(const cJSON *values, int n, const char *model)
{
	const cJSON *v;
	double sum = 0;

	if (strstr(model, "embedding-001") == NULL || n >= FULL_DIMS)
		return 1;
	cJSON_ArrayForEach(v, values) {
		sum += v->valuedouble * v->valuedouble;
	}
	return sum > 0 ? 1 / root_of(sum) : 1;
}

/* One vector as a JSON array of numbers or a base64 string. */
static enum px_err
add_vector(struct px_buf *out, const cJSON *values, const char *model,
    int base64)
{
	double k = scale_of(values, cJSON_GetArraySize(values), model);
	struct b64 s = { { 0 }, 0 };
	unsigned char bytes[4];
	const cJSON *v;
	enum px_err rc = px_buf_addc(out, base64 ? '"' : '[');
	int i;

	cJSON_ArrayForEach(v, values) {
		float f = (float)(v->valuedouble * k);

		if (rc == PX_OK && !base64 && v != values->child)
			rc = px_buf_addc(out, ',');
		if (rc == PX_OK && !base64)
			rc = add_float(out, f);
		le_bytes(f, bytes);
		for (i = 0; rc == PX_OK && base64 && i < 4; i++)
			rc = b64_put(out, &s, bytes[i]);
	}
	if (rc == PX_OK && base64)
		rc = b64_end(out, &s);
	if (rc == PX_OK)
		rc = px_buf_addc(out, base64 ? '"' : ']');
	return rc;
}

/* {"embeddings":[{"values":[numbers...]}, ...]}: 1 when that shape.
 * A number beyond float32's range (1e39, or 1e999 that cJSON reads as
 * inf) is refused too: the float it would become is inf, written "inf",
 * which is not JSON, and its square would make a normalised vector NaN. */
static int
reply_ok(const cJSON *embs)
{
	const cJSON *e, *v, *values;

	if (!cJSON_IsArray(embs))
		return 0;
	cJSON_ArrayForEach(e, embs) {
		values = px_gn_get(e, "values");
		if (!cJSON_IsArray(values))
			return 0;
		cJSON_ArrayForEach(v, values) {
			if (!cJSON_IsNumber(v) || !(v->valuedouble >= -FLT_MAX &&
			    v->valuedouble <= FLT_MAX))
				return 0;
		}
	}
	return 1;
}

static enum px_err
write_list(struct px_buf *out, const cJSON *embs, const char *model,
    int base64)
{
	const cJSON *e;
	enum px_err rc = px_buf_adds(out, "{\"object\":\"list\",\"data\":[");
	int i = 0;

	cJSON_ArrayForEach(e, embs) {
		if (rc == PX_OK)
			rc = px_buf_printf(out, "%s{\"object\":\"embedding\","
			    "\"index\":%d,\"embedding\":", i > 0 ? "," : "", i);
		if (rc == PX_OK)
			rc = add_vector(out, px_gn_get(e, "values"), model,
			    base64);
		if (rc == PX_OK)
			rc = px_buf_addc(out, '}');
		i++;
	}
	if (rc == PX_OK)
		rc = px_buf_adds(out, "],\"model\":\"");
	if (rc == PX_OK)
		rc = px_buf_add_json_str(out, model, strlen(model));
	if (rc == PX_OK)
		rc = px_buf_adds(out, "\",\"usage\":{\"prompt_tokens\":0,"
		    "\"total_tokens\":0}}");
	return rc;
}

enum px_err
px_gn_embed_reply(const char *json, size_t len, const char *model,
    const char *encoding, struct px_buf *out)
{
	cJSON *root = NULL;
	const cJSON *embs;
	enum px_err rc = PX_EUPSTREAM;

	px_buf_reset(out);
	if (json != NULL && len > 0)
		root = cJSON_ParseWithLength(json, len);
	embs = px_gn_get(root, "embeddings");
	if (reply_ok(embs))
		rc = write_list(out, embs, px_gn_model_id(model),
		    encoding != NULL && strcmp(encoding, "base64") == 0);
	if (rc != PX_OK)
		px_buf_reset(out);
	cJSON_Delete(root);
	return rc;
}
