/*
 * embed.c -- the embeddings request's shape (see embed.h).
 * Load: once per embeddings request, one cJSON parse.
 */
#include "embed.h"

#include <string.h>

#include <cJSON.h>

#include "decoder.h"

/* One element of an input array: a string, a token id, or a token array
 * (each id counts as 4 bytes of text for the estimate). */
static enum px_err
input_item(struct px_dec *d, const cJSON *it, size_t *bytes)
{
	const cJSON *t;

	if (cJSON_IsString(it)) {
		*bytes += strlen(it->valuestring);
		return PX_OK;
	}
	if (cJSON_IsNumber(it)) {
		*bytes += 4;
		return PX_OK;
	}
	if (!cJSON_IsArray(it))
		return px_dec_fail_got(d, NULL, "a string, a token id or an "
		    "array of token ids", it);
	cJSON_ArrayForEach(t, it) {
		if (!cJSON_IsNumber(t))
			return px_dec_fail_got(d, NULL, "a token id", t);
		*bytes += 4;
	}
	return PX_OK;
}

static enum px_err
check_input(struct px_dec *d, const cJSON *in, size_t *bytes)
{
	const cJSON *it;
	size_t i = 0, old;
	enum px_err rc = PX_OK;

	if (cJSON_IsString(in)) {
		*bytes = strlen(in->valuestring);
		return PX_OK;
	}
	if (!cJSON_IsArray(in) || in->child == NULL)
		return px_dec_fail_got(d, "input", "a string or a non-empty "
		    "array", in);
	if (cJSON_GetArraySize(in) > PX_EMBED_INPUTS_MAX)
		return px_dec_fail(d, "input", "at most 2048 inputs per request");
	old = px_dec_path_add(d, "input", 0);
	cJSON_ArrayForEach(it, in) {
		size_t mark = px_dec_path_add(d, NULL, i++);

		rc = input_item(d, it, bytes);
		px_dec_path_cut(d, mark);
		if (rc != PX_OK)
			break;
	}
	px_dec_path_cut(d, old);
	return rc;
}

static enum px_err
check_root(struct px_dec *d, const cJSON *root, struct px_chat_req *out,
    const char **encoding)
{
	static const char *const encs[] = { "float", "base64", NULL };
	const cJSON *in, *dims, *enc;
	const char *model;
	int idx;
	enum px_err rc = px_dec_get_str(d, root, "model",
	    PX_T_REQ | PX_T_FULL, &model);

	if (rc == PX_OK)
		rc = px_dec_get(d, root, "input", PX_T_STR | PX_T_ARR | PX_T_REQ,
		    &in);
	if (rc == PX_OK)
		rc = check_input(d, in, &out->prompt_bytes);
	if (rc == PX_OK)
		rc = px_dec_get(d, root, "dimensions", PX_T_NUM, &dims);
	if (rc == PX_OK && dims != NULL && (dims->valuedouble < 1 ||
	    dims->valuedouble > 65536 ||
	    dims->valuedouble != (double)(int)dims->valuedouble))
		rc = px_dec_fail_got(d, "dimensions", "an integer 1..65536",
		    dims);
	if (rc == PX_OK)
		rc = px_dec_get(d, root, "encoding_format", PX_T_STR, &enc);
	*encoding = "float";
	if (rc == PX_OK && enc != NULL) {
		rc = px_dec_pick(d, "encoding_format", enc, encs, &idx);
		*encoding = rc == PX_OK ? encs[idx] : "float";
	}
	out->model = model;
	return rc;
}

enum px_err
px_validate_embed(const char *body, size_t len, size_t max_values,
    struct px_chat_req *out, const char **encoding, struct px_verr *err)
{
	struct px_dec d;
	cJSON *root = NULL;
	enum px_err rc;

	memset(out, 0, sizeof(*out));
	px_dec_init(&d, err, 0);
	rc = px_dec_parse(&d, body, len, max_values, &root);
	if (rc == PX_OK)
		rc = check_root(&d, root, out, encoding);
	if (rc != PX_OK) {
		cJSON_Delete(root);
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->root = root;
	out->reasoning = "";
	return PX_OK;
}
