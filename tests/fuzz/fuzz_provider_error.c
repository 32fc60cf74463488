/*
 * fuzz_provider_error.c -- libFuzzer target for the error-body mapper
 * (px_provider.map_error) of every provider in px_provider_get().
 * Input: line 1 "provider status"; line 2 the configured keys, separated
 * by spaces (none: a NULL list); the rest is the upstream error body
 * (empty: NULL, length 0; else an exact-size copy, not NUL-terminated).
 * Checks: PX_OK (or PX_ENOMEM/PX_ETOOBIG with an empty buffer); the output
 * is an OpenAI error object as strict JSON (valid UTF-8 when the body
 * was), its message capped; and no configured key shaped like a real one
 * (fz_secret_like) appears in any string the client decodes from it.
 */
#include "fuzz_provider.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	const struct px_provider *p;
	struct px_buf out;
	const uint8_t *l;
	size_t ln;
	long long v[2];
	struct fz_secrets sec;
	char *body;
	int status;
	enum px_err rc;

	fz_line(&in, &l, &ln);
	fz_ints(l, ln, v, 2);
	p = fz_provider(v[0]);
	status = v[1] > 100000 ? 100000 : v[1] < -100000 ? -100000 :
	    (int)v[1];
	fz_line(&in, &l, &ln);
	fz_secrets_read(&sec, l, ln);
	body = fz_dup(in.p, in.n, 0);
	px_buf_init(&out, FZ_OUT_MAX);
	rc = p->map_error(status, body, in.n, sec.sec.n > 0 ? &sec.sec : NULL,
	    &out);
	if (rc != PX_OK) {
		FZ_CHECK(rc == PX_ENOMEM || rc == PX_ETOOBIG,
		    "map_error fails only for memory");
		FZ_CHECK(out.len == 0, "failure leaves out empty");
		goto done;
	}
	fz_check_error_json(&out, fz_utf8_ok(in.p, in.n) &&
	    fz_secrets_utf8(&sec));
	fz_check_redacted(&sec, out.p);
done:
	px_buf_free(&out);
	fz_secrets_free(&sec);
	free(body);
	return 0;
}
