/*
 * err.c -- the table from px_err to HTTP status and OpenAI error fields,
 * and the one writer of the OpenAI error JSON.
 * Never: writes to a client or logs.
 */
#include "err.h"

#include <stddef.h>
#include <string.h>

#include "buf.h"

static const struct px_err_info errtab[PX_ERR__MAX] = {
	[PX_OK]        = { 200, "OK", NULL, NULL, "ok" },
	[PX_EBADREQ]   = { 400, "Bad Request", "invalid_request_error", NULL,
			   "invalid request body" },
	[PX_EAUTH]     = { 401, "Unauthorized", "invalid_request_error",
			   "invalid_api_key", "invalid or missing access key" },
	[PX_ENOROUTE]  = { 404, "Not Found", "invalid_request_error",
			   "not_found", "unknown path" },
	[PX_EMODEL]    = { 404, "Not Found", "invalid_request_error",
			   "model_not_found", "model not found" },
	[PX_EMETHOD]   = { 405, "Method Not Allowed", "invalid_request_error",
			   "method_not_allowed", "method not allowed" },
	[PX_ETOOBIG]   = { 413, "Payload Too Large", "invalid_request_error",
			   "request_too_large", "request body too large" },
	[PX_ERATE]     = { 429, "Too Many Requests", "rate_limit_error",
			   "rate_limit_exceeded", "rate limit exceeded on every key" },
	[PX_EINTERNAL] = { 500, "Internal Server Error", "server_error", NULL,
			   "internal error" },
	[PX_ENOMEM]    = { 500, "Internal Server Error", "server_error", NULL,
			   "out of memory" },
	[PX_ESTORE]    = { 500, "Internal Server Error", "server_error", NULL,
			   "state store failure" },
	[PX_EUPSTREAM] = { 502, "Bad Gateway", "server_error", "upstream_error",
			   "upstream unreachable or invalid reply" },
	[PX_EUNAVAIL]  = { 503, "Service Unavailable", "server_error", NULL,
			   "no upstream available" },
	[PX_ETIMEOUT]  = { 504, "Gateway Timeout", "server_error",
			   "upstream_timeout", "upstream timed out" },
	[PX_ECONFIG]   = { 500, "Internal Server Error", "server_error", NULL,
			   "configuration invalid" },
	[PX_EGONE]     = { 499, "Client Closed Request", "server_error", NULL,
			   "client went away" },
};

static const char *const errnames[PX_ERR__MAX] = {
	[PX_OK] = "PX_OK", [PX_EBADREQ] = "PX_EBADREQ", [PX_EAUTH] = "PX_EAUTH",
	[PX_ENOROUTE] = "PX_ENOROUTE", [PX_EMODEL] = "PX_EMODEL",
	[PX_EMETHOD] = "PX_EMETHOD", [PX_ETOOBIG] = "PX_ETOOBIG",
	[PX_ERATE] = "PX_ERATE", [PX_EINTERNAL] = "PX_EINTERNAL",
	[PX_ENOMEM] = "PX_ENOMEM", [PX_ESTORE] = "PX_ESTORE",
	[PX_EUPSTREAM] = "PX_EUPSTREAM", [PX_EUNAVAIL] = "PX_EUNAVAIL",
	[PX_ETIMEOUT] = "PX_ETIMEOUT", [PX_ECONFIG] = "PX_ECONFIG",
	[PX_EGONE] = "PX_EGONE",
};

const struct px_err_info *
px_err_info(enum px_err e)
{
	if ((unsigned)e >= PX_ERR__MAX)
		e = PX_EINTERNAL;
	return &errtab[e];
}

const char *
px_err_name(enum px_err e)
{
	if ((unsigned)e >= PX_ERR__MAX || errnames[e] == NULL)
		return "PX_E?";
	return errnames[e];
}

const char *
px_err_type_for_status(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 404: return "invalid_request_error";
	case 408: return "timeout_error";
	case 429: return "rate_limit_error";
	default:  break;
	}
	if (status >= 500)
		return "server_error";
	return "invalid_request_error";
}

const char *
px_http_reason(int status)
{
	static const struct { int status; const char *reason; } more[] = {
		{ 304, "Not Modified" },
		{ 402, "Payment Required" }, { 403, "Forbidden" },
		{ 408, "Request Timeout" }, { 409, "Conflict" },
		{ 422, "Unprocessable Entity" },
	};
	size_t i;

	for (i = 0; i < PX_ERR__MAX; i++)
		if (errtab[i].http == status)
			return errtab[i].reason;
	for (i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		if (more[i].status == status)
			return more[i].reason;
	return "Unknown";
}

static enum px_err
add_str_or_null(struct px_buf *out, const char *s)
{
	enum px_err rc;

	if (s == NULL)
		return px_buf_adds(out, "null");
	rc = px_buf_addc(out, '"');
	if (rc == PX_OK)
		rc = px_buf_add_json_str(out, s, strlen(s));
	if (rc == PX_OK)
		rc = px_buf_addc(out, '"');
	return rc;
}

enum px_err
px_err_json(struct px_buf *out, const char *message, const char *type,
    const char *param, const char *code)
{
	enum px_err rc;

	rc = px_buf_adds(out, "{\"error\":{\"message\":");
	if (rc == PX_OK)
		rc = add_str_or_null(out, message != NULL ? message : "error");
	if (rc == PX_OK)
		rc = px_buf_adds(out, ",\"type\":");
	if (rc == PX_OK)
		rc = add_str_or_null(out, type != NULL ? type : "server_error");
	if (rc == PX_OK)
		rc = px_buf_adds(out, ",\"param\":");
	if (rc == PX_OK)
		rc = add_str_or_null(out, param);
	if (rc == PX_OK)
		rc = px_buf_adds(out, ",\"code\":");
	if (rc == PX_OK)
		rc = add_str_or_null(out, code);
	if (rc == PX_OK)
		rc = px_buf_adds(out, "}}");
	return rc;
}
