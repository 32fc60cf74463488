/*
 * fuzz_embed.c -- libFuzzer target for the embeddings request check
 * (px_validate_embed, common/embed.h).
 * Owns: its checks and the reference they compare with, if any.
 * Never: network, files or clocks; links only the modules it fuzzes.
 * Input: the request body (an exact-size copy). One body in four is also
 * checked with a cap of 40 JSON values: PX_ETOOBIG, or the same result.
 * Checks: the result is PX_OK, PX_EBADREQ, PX_ETOOBIG or PX_ENOMEM; a
 * refusal has no tree, a param and a non-empty, one-line, valid UTF-8
 * message that starts with it; an accepted body is an object whose
 * "model" is the non-empty string reported (borrowed from the tree),
 * whose "input" is a string or a non-empty array of at most 2048 strings,
 * numbers or arrays of numbers, whose "dimensions" (when given) is an
 * integer 1..65536, whose "encoding_format" (when given) is "float" or
 * "base64" and is the encoding reported ("float" otherwise);
 * prompt_bytes is the bytes of the input strings plus 4 per token id.
 */
#include "embed.h"

#include <cJSON.h>

#include "fuzz_util.h"
#include "fuzz_verr.h"

static const cJSON *
get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNull(v) ? NULL : v;
}

/* The input's prompt bytes, or -1 when its shape is not allowed. */
static long long
input_bytes(const cJSON *in)
{
	const cJSON *it, *t;
	long long n = 0;
	int count = 0;

	if (cJSON_IsString(in))
		return (long long)strlen(in->valuestring);
	if (!cJSON_IsArray(in) || in->child == NULL)
		return -1;
	cJSON_ArrayForEach(it, in) {
		if (++count > PX_EMBED_INPUTS_MAX)
			return -1;
		if (cJSON_IsString(it)) {
			n += (long long)strlen(it->valuestring);
		} else if (cJSON_IsNumber(it)) {
			n += 4;
		} else if (cJSON_IsArray(it)) {
			cJSON_ArrayForEach(t, it) {
				if (!cJSON_IsNumber(t))
					return -1;
				n += 4;
			}
		} else {
			return -1;
		}
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fz_dup(data, size, 0);	/* NULL for size 0 */
	struct px_chat_req rq;
	struct px_verr err;
	const char *enc = NULL;
	const cJSON *model, *dims, *fmt;
	enum px_err rc;

	memset(&err, 0x5a, sizeof err);
	rc = px_validate_embed(body, size, PX_JSON_VALUES_DEFAULT, &rq, &enc,
	    &err);
	FZ_CHECK(rc == PX_OK || rc == PX_EBADREQ || rc == PX_ETOOBIG ||
	    rc == PX_ENOMEM, "result code");
	if ((size & 3) == 3) {
		struct px_chat_req rq2;
		struct px_verr err2;
		const char *enc2;
		enum px_err rc2;

		rc2 = px_validate_embed(body, size, 40, &rq2, &enc2, &err2);
		FZ_CHECK(rc2 == rc || rc2 == PX_ETOOBIG,
		    "a value cap refuses with PX_ETOOBIG or not at all");
		if (rc2 == PX_ETOOBIG)
			fz_check_verr(&err2);
		px_chat_req_free(&rq2);
	}
	if (rc != PX_OK) {
		FZ_CHECK(rq.root == NULL, "no tree on refusal");
		if (rc == PX_EBADREQ || rc == PX_ETOOBIG)
			fz_check_verr(&err);
		goto out;
	}
	FZ_CHECK(cJSON_IsObject(rq.root), "accepted body is an object");
	model = cJSON_GetObjectItemCaseSensitive(rq.root, "model");
	FZ_CHECK(cJSON_IsString(model) && model->valuestring[0] != '\0' &&
	    rq.model == model->valuestring, "model: the body's, borrowed");
	FZ_CHECK((long long)rq.prompt_bytes == input_bytes(get(rq.root,
	    "input")), "input shape and prompt bytes");
	dims = get(rq.root, "dimensions");
	FZ_CHECK(dims == NULL || (cJSON_IsNumber(dims) &&
	    dims->valuedouble >= 1 && dims->valuedouble <= 65536 &&
	    dims->valuedouble == (double)(int)dims->valuedouble),
	    "dimensions an integer 1..65536");
	fmt = get(rq.root, "encoding_format");
	FZ_CHECK(enc != NULL && (strcmp(enc, "float") == 0 ||
	    strcmp(enc, "base64") == 0), "encoding float or base64");
	FZ_CHECK(fmt == NULL ? strcmp(enc, "float") == 0 :
	    cJSON_IsString(fmt) && strcmp(fmt->valuestring, enc) == 0,
	    "the encoding asked for");
	FZ_CHECK(rq.reasoning != NULL && rq.reasoning[0] == '\0',
	    "no reasoning effort");
out:
	px_chat_req_free(&rq);
	px_chat_req_free(&rq);	/* idempotent */
	free(body);
	return 0;
}
