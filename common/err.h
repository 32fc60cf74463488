/*
 * err.h -- the one error enum of the project and its mapping to HTTP.
 * Owns: PX_E* codes, the table turning each into status, OpenAI error type
 * and default message, and the writer of the OpenAI error body.
 * Never: writes to the client or logs; callers (reply.c) do.
 */
#ifndef PX_ERR_H
#define PX_ERR_H

#include <stddef.h>

enum px_err {
	PX_OK = 0,
	PX_EBADREQ,	/* 400 malformed or invalid request body */
	PX_EAUTH,	/* 401 missing or wrong access key */
	PX_ENOROUTE,	/* 404 unknown path */
	PX_EMODEL,	/* 404 unknown model / provider without keys */
	PX_EMETHOD,	/* 405 method not allowed on this path */
	PX_ETOOBIG,	/* 413 body above max_body_bytes (also buffer caps) */
	PX_ERATE,	/* 429 no key has room */
	PX_EINTERNAL,	/* 500 bug or unexpected state */
	PX_ENOMEM,	/* 500 allocation failed */
	PX_ESTORE,	/* 500 state store failure */
	PX_EUPSTREAM,	/* 502 upstream unreachable or invalid reply */
	PX_EUNAVAIL,	/* 503 no upstream available */
	PX_ETIMEOUT,	/* 504 upstream timed out */
	PX_ECONFIG,	/* configuration invalid (never sent to a client) */
	PX_EGONE,	/* client went away; nothing can be sent */
	PX_ERR__MAX
};

struct px_err_info {
	int         http;	/* HTTP status */
	const char *reason;	/* HTTP reason phrase */
	const char *type;	/* OpenAI error.type */
	const char *code;	/* OpenAI error.code, NULL for JSON null */
	const char *msg;	/* default message */
};

const struct px_err_info *px_err_info(enum px_err e);
const char *px_err_name(enum px_err e);		/* "PX_EBADREQ" */
/* OpenAI error.type for an arbitrary HTTP status (used for upstream errors). */
const char *px_err_type_for_status(int status);
const char *px_http_reason(int status);		/* "Not Found"; "Unknown" */

struct px_buf;
/*
 * Append {"error":{"message","type","param","code"}} to out.
 * message is escaped; param and code may be NULL (JSON null).
 */
enum px_err px_err_json(struct px_buf *out, const char *message,
    const char *type, const char *param, const char *code);

#endif
