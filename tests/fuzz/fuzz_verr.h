/*
 * fuzz_verr.h -- the check of a refused request body's struct px_verr
 * (validate.h), shared by the targets of the decoders that fill one
 * (dialect_responses, dialect_messages, embed).
 * Never: a decoder's own wording; only the shape every refusal has.
 */
#ifndef FZ_VERR_H
#define FZ_VERR_H

#include "validate.h"
#include "fuzz_util.h"

/*
 * A refused body: a NUL-terminated param and a non-empty, NUL-terminated,
 * valid UTF-8 message, one line but for a quoted client string, that
 * starts with the param (the path of the field; "" for body-level
 * errors).
 */
static inline void
fz_check_verr(const struct px_verr *err)
{
	size_t m = strnlen(err->msg, sizeof err->msg);
	size_t p = strnlen(err->param, sizeof err->param);

	FZ_CHECK(m < sizeof err->msg && p < sizeof err->param,
	    "message and param NUL-terminated");
	FZ_CHECK(m > 0, "a refusal says why");
	FZ_CHECK(fz_utf8_ok(err->param, p), "param is valid UTF-8");
	FZ_CHECK(fz_utf8_ok(err->msg, m), "message is valid UTF-8");
	FZ_CHECK(fz_one_line_outside_quotes(err->msg, m),
	    "message is one line (but for a quoted client string)");
	FZ_CHECK(strncmp(err->msg, err->param, p) == 0,
	    "message starts with the param");
	FZ_CHECK(p == 0 || err->msg[p] == ':' || err->msg[p] == ' ',
	    "the param is a whole prefix of the message");
}

#endif
