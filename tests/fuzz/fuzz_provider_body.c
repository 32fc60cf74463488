/*
 * fuzz_provider_body.c -- libFuzzer target for the non-stream body mapper
 * (px_provider.map_body) of every adapter (see fuzz_provider_event.c).
 * Input: line 1 "adapter flags" (flags bit 2: record thought signatures);
 * line 2 the configured keys, separated by spaces; the rest is a 2xx
 * response body (an exact-size copy, not NUL-terminated: the contract
 * passes a length).
 * Checks: the action is PASS, REWRITE or ERROR (never DROP); REWRITE output
 * is a strict JSON object (valid UTF-8 when the body was; from a native
 * adapter a chat.completion with an id, the model and choices) in which no
 * choice with tool calls ends with "stop"; ERROR output is an OpenAI error
 * object showing no key-shaped configured key; a body passed unchanged
 * that is strict JSON without a backslash already meets the finish_reason
 * rule; signature records name ids the client was shown; usage counts are
 * never negative.
 */
#include "fuzz_provider.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	const struct px_provider *p;
	struct px_stream_fix st;
	struct fz_secrets sec;
	struct fz_ids ids = { { NULL }, 0 };
	struct px_buf out, sigs;
	enum px_ev_action act;
	const uint8_t *l;
	size_t ln;
	long long v[2];
	char *body;
	int utf8;
	cJSON *j;

	fz_line(&in, &l, &ln);
	fz_ints(l, ln, v, 2);
	p = fz_provider(v[0]);
	fz_line(&in, &l, &ln);
	fz_secrets_read(&sec, l, ln);
	body = fz_dup(in.p, in.n, 0);
	utf8 = fz_utf8_ok(in.p, in.n) && fz_secrets_utf8(&sec);
	px_stream_fix_init(&st);
	st.secrets = sec.sec.n > 0 ? &sec.sec : NULL;
	px_buf_init(&sigs, 1u << 20);
	if (v[1] & 4)
		st.sigs = &sigs;
	st.model = "fuzz-model";
	px_buf_init(&out, FZ_OUT_MAX);
	act = p->map_body(&st, body, in.n, &out);
	fz_check_state(&st);
	switch (act) {
	case PX_EV_PASS:
		j = body != NULL ? cJSON_ParseWithLength(body, in.n) : NULL;
		fz_ids_add(&ids, j, "message");
		/* only what a client can parse, keys read the same raw */
		if (j != NULL && memchr(body, '\\', in.n) == NULL &&
		    fz_json_ok(body, in.n, 0))
			(void)fz_check_choices(j, 0, 0, 0);
		cJSON_Delete(j);
		break;
	case PX_EV_REWRITE:
		FZ_CHECK(out.p != NULL && out.len > 0 &&
		    out.p[out.len] == '\0', "rewritten body written");
		FZ_CHECK(fz_json_ok(out.p, out.len, utf8),
		    "rewritten body is strict JSON");
		j = cJSON_ParseWithLength(out.p, out.len);
		FZ_CHECK(cJSON_IsObject(j), "rewritten body is an object");
		fz_check_native(p, j, 0);
		(void)fz_check_choices(j, 0, 0, 0);
		fz_ids_add(&ids, j, "message");
		cJSON_Delete(j);
		break;
	case PX_EV_ERROR:
		fz_check_error_json(&out, utf8);
		fz_check_redacted(&sec, out.p);
		break;
	default:
		FZ_CHECK(0, "map_body returns PASS, REWRITE or ERROR");
	}
	fz_check_sigs(st.sigs, &ids);
	fz_ids_free(&ids);
	px_buf_free(&out);
	px_buf_free(&sigs);
	fz_secrets_free(&sec);
	free(body);
	return 0;
}
