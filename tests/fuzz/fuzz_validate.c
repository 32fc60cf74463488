/*
 * fuzz_validate.c -- libFuzzer target for request validation
 * (px_validate_chat, common/validate.h), and for what chat.c does with an
 * accepted body: splice "model" and "stream_options" with px_json_set.
 * Input: the request body. One body in four is also checked with a cap
 * of 40 JSON values (px_validate_chat_max): PX_ETOOBIG, or the same result.
 * Checks: the result is PX_OK, PX_EBADREQ, PX_ETOOBIG or PX_ENOMEM; a
 * refusal has a
 * non-empty message, NUL-terminated message and param that are valid
 * UTF-8 (they reach the client inside JSON), and no tree; an accepted body
 * is an object whose "model" is the non-empty string reported, flags are
 * 0/1, prompt_bytes <= body length. The splice must succeed on every
 * accepted body, jsonraw must find the same "model" (and "stream") cJSON
 * validated, and the spliced body must validate again with the new model
 * and include_usage, the other facts unchanged (issue 9 L3: the spliced
 * body can never disagree with what was validated).
 * Soft (printed once, not a crash): an accepted body that is not strict
 * RFC 8259 JSON (cJSON accepts e.g. 01 or 1.); it is relayed byte for byte.
 */
#include "validate.h"

#include <cJSON.h>

#include "jsonraw.h"
#include "fuzz_util.h"

#define SERVED "\"fuzz/served-model:free\""

static void
check_err(const struct px_verr *err)
{
	size_t m = strnlen(err->msg, sizeof err->msg);
	size_t p = strnlen(err->param, sizeof err->param);

	FZ_CHECK(m < sizeof err->msg && p < sizeof err->param,
	    "message and param NUL-terminated");
	FZ_CHECK(m > 0, "a refusal says why");
	FZ_CHECK(fz_utf8_ok(err->msg, m), "message is valid UTF-8");
	FZ_CHECK(fz_utf8_ok(err->param, p), "param is valid UTF-8");
}

/* The JSON text of member key as jsonraw finds it, parsed; NULL if absent. */
static cJSON *
raw_member(const char *body, size_t len, const char *key)
{
	size_t off, vlen;

	if (!px_json_find(body, len, key, &off, &vlen))
		return NULL;
	return cJSON_ParseWithLength(body + off, vlen);
}

/* chat.c's stream_options(): the client's object with include_usage on. */
static char *
stream_options(const struct px_chat_req *rq)
{
	cJSON *so = cJSON_GetObjectItemCaseSensitive(rq->root,
	    "stream_options"), *copy;
	char *text;

	if (!cJSON_IsObject(so))
		return fz_dup("{\"include_usage\":true}", 22, 1);
	copy = cJSON_Duplicate(so, 1);
	if (copy == NULL)
		abort();
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "include_usage");
	if (cJSON_AddTrueToObject(copy, "include_usage") == NULL)
		abort();
	text = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	if (text == NULL)
		abort();
	return text;
}

/* The upstream body chat.c would send, validated again. */
static void
check_splice(const char *body, size_t len, const struct px_chat_req *rq)
{
	struct px_buf mid, up;
	struct px_chat_req rq2;
	struct px_verr err;
	enum px_err rc;
	cJSON *m;
	char *so = NULL;

	/* jsonraw sees what cJSON validated */
	m = raw_member(body, len, "model");
	FZ_CHECK(m != NULL, "jsonraw finds the validated \"model\"");
	FZ_CHECK(cJSON_IsString(m) && strcmp(m->valuestring, rq->model) == 0,
	    "jsonraw's \"model\" is the validated one");
	cJSON_Delete(m);
	m = raw_member(body, len, "stream");
	FZ_CHECK(!rq->stream || cJSON_IsTrue(m),
	    "jsonraw's \"stream\" is the validated one");
	cJSON_Delete(m);

	px_buf_init(&mid, 1u << 26);
	px_buf_init(&up, 1u << 26);
	rc = px_json_set(&mid, body, len, "model", SERVED);
	FZ_CHECK(rc == PX_OK, "model splice succeeds on a validated body");
	if (rq->stream && !rq->include_usage) {
		so = stream_options(rq);
		rc = px_json_set(&up, mid.p, mid.len, "stream_options", so);
		FZ_CHECK(rc == PX_OK,
		    "stream_options splice succeeds on a validated body");
	} else {
		FZ_CHECK(px_buf_add(&up, mid.p, mid.len) == PX_OK, "copy");
	}
	rc = px_validate_chat(up.p, up.len, &rq2, &err);
	if (rc != PX_OK)
		fprintf(stderr, "spliced body refused: %s: %s\n", err.param,
		    err.msg);
	FZ_CHECK(rc == PX_OK, "the spliced body validates again");
	FZ_CHECK(strcmp(rq2.model, "fuzz/served-model:free") == 0,
	    "the spliced model is the one validated");
	FZ_CHECK(rq2.stream == rq->stream && rq2.has_tools == rq->has_tools &&
	    rq2.prompt_bytes == rq->prompt_bytes,
	    "splicing changed no other fact");
	FZ_CHECK(rq2.include_usage == (rq->include_usage || rq->stream),
	    "include_usage as spliced");
	px_chat_req_free(&rq2);
	cJSON_free(so);
	px_buf_free(&mid);
	px_buf_free(&up);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fz_dup(data, size, 0);	/* NULL for size 0 */
	struct px_chat_req rq;
	struct px_verr err;
	enum px_err rc;
	const cJSON *model;
	size_t bad;

	memset(&err, 0x5a, sizeof err);
	rc = px_validate_chat(body, size, &rq, &err);
	FZ_CHECK(rc == PX_OK || rc == PX_EBADREQ || rc == PX_ETOOBIG ||
	    rc == PX_ENOMEM, "result code");
	if ((size & 3) == 3) {
		struct px_chat_req rq2;
		struct px_verr err2;
		enum px_err rc2;

		rc2 = px_validate_chat_max(body, size, 40, &rq2, &err2);
		FZ_CHECK(rc2 == rc || rc2 == PX_ETOOBIG,
		    "a value cap refuses with PX_ETOOBIG or not at all");
		if (rc2 == PX_ETOOBIG)
			FZ_CHECK(rq2.root == NULL && err2.msg[0] != '\0',
			    "a value-cap refusal says why");
		px_chat_req_free(&rq2);
	}
	if (rc != PX_OK) {
		FZ_CHECK(rq.root == NULL, "no tree on refusal");
		if (rc == PX_EBADREQ || rc == PX_ETOOBIG)
			check_err(&err);
		goto out;
	}
	FZ_CHECK(cJSON_IsObject(rq.root), "accepted body is an object");
	model = cJSON_GetObjectItemCaseSensitive(rq.root, "model");
	FZ_CHECK(rq.model != NULL && rq.model[0] != '\0', "model non-empty");
	FZ_CHECK(cJSON_IsString(model) && model->valuestring == rq.model,
	    "model borrowed from the tree");
	FZ_CHECK((rq.stream == 0 || rq.stream == 1) &&
	    (rq.include_usage == 0 || rq.include_usage == 1) &&
	    (rq.has_tools == 0 || rq.has_tools == 1), "flags are 0 or 1");
	FZ_CHECK(rq.prompt_bytes <= size, "prompt_bytes within the body");
	bad = fz_json_bad_at(body, size, 1);
	if (bad < size)
		FZ_NOTE_ONCE("an accepted body is not strict RFC 8259 JSON "
		    "(relayed as is), at byte %zu: ...%.*s", bad,
		    (int)(size - bad < 24 ? size - bad : 24), body + bad);
	check_splice(body, size, &rq);
out:
	px_chat_req_free(&rq);
	px_chat_req_free(&rq);	/* idempotent */
	free(body);
	return 0;
}
