/*
 * fuzz_verr.h -- the check of a refused request body's struct px_verr
 * (validate.h), shared by the targets of the decoders that fill one
 * (dialect_responses, dialect_messages, embed), with the tolerances of
 * their open findings.
 */
#ifndef FZ_VERR_H
#define FZ_VERR_H

#include "validate.h"
#include "fuzz_util.h"

/*
 * A refused body: a NUL-terminated param and a non-empty, NUL-terminated,
 * one-line, valid UTF-8 message that starts with the param (the path of
 * the field; "" for body-level errors).
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
	/* TEMPORARY WORKAROUND (finding 10, crashes/dialect_*-echo-cut-
	 * utf8.bin): "%.*s" echoes of a client string cut PX_DEC_ECHO (40)
	 * bytes into a character. Remove when fixed. */
	if (!fz_utf8_ok(err->msg, m) && fz_utf8_cut_only(err->msg, m, "\""))
		FZ_NOTE_ONCE("finding 10 open: an error message echoes a "
		    "client string cut inside a UTF-8 character");
	else
	/* END TEMPORARY WORKAROUND */
	FZ_CHECK(fz_utf8_ok(err->msg, m), "message is valid UTF-8");
	/* TEMPORARY WORKAROUND (finding 11, crashes/dialect_*-echo-
	 * newline.bin): a client string echoed in a message ("got \"...\"")
	 * keeps its newlines. Tolerated inside the quotes. Remove when
	 * fixed. */
	if (fz_newlines_quoted(err->msg, m))
		FZ_NOTE_ONCE("finding 11 open: an error message echoes a "
		    "client string with its line breaks");
	else
	/* END TEMPORARY WORKAROUND */
	FZ_CHECK(memchr(err->msg, '\n', m) == NULL &&
	    memchr(err->msg, '\r', m) == NULL, "message is one line");
	FZ_CHECK(strncmp(err->msg, err->param, p) == 0,
	    "message starts with the param");
	FZ_CHECK(p == 0 || err->msg[p] == ':' || err->msg[p] == ' ',
	    "the param is a whole prefix of the message");
}

#endif
