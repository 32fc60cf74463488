/*
 * reply.c -- response heads and bodies over a px_io (see reply.h).
 * Never: logs, or writes a provider key (callers pass redacted text).
 */
#include "reply.h"

#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "dialect.h"

enum px_err
px_reply_head(struct px_io *io, int status, const char *ctype,
    const char *extra)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head), "Status: %d %s\r\n"
	    "Content-Type: %s\r\n", status, px_http_reason(status), ctype);
	if (n < 0 || (size_t)n >= sizeof(head))
		return PX_EINTERNAL;
	io->status = status;
	if (px_io_write(io, head, (size_t)n) < 0)
		return PX_EGONE;
	if (extra != NULL && px_io_write(io, extra, strlen(extra)) < 0)
		return PX_EGONE;
	if (io->dialect != NULL && io->dialect->headers != NULL) {
		char dh[160];

		io->dialect->headers(io->reqid != NULL ? io->reqid : "-", dh,
		    sizeof(dh));
		if (px_io_write(io, dh, strlen(dh)) < 0)
			return PX_EGONE;
	}
	if (px_io_write(io, "\r\n", 2) < 0)
		return PX_EGONE;
	io->bytes_out = 0;
	return PX_OK;
}

static enum px_err
body(struct px_io *io, const char *p, size_t len)
{
	if (px_io_write(io, p, len) < 0)
		return PX_EGONE;
	io->bytes_out += len;
	return PX_OK;
}

enum px_err
px_reply_body(struct px_io *io, int status, const char *ctype,
    const char *extra, const char *p, size_t len)
{
	enum px_err rc = px_reply_head(io, status, ctype, extra);

	if (rc == PX_OK)
		rc = body(io, p, len);
	return rc;
}

enum px_err
px_reply_json(struct px_io *io, int status, const char *extra,
    const char *p, size_t len)
{
	return px_reply_body(io, status, "application/json", extra, p, len);
}

enum px_err
px_reply_error_fields(struct px_io *io, struct px_buf *scratch, int status,
    const char *type, const char *message, const char *param,
    const char *code, const char *extra)
{
	const struct px_dialect *d = io->dialect != NULL ? io->dialect :
	    px_dialect_get(PX_DIALECT_CHAT);
	int http = status;
	enum px_err rc;

	px_buf_reset(scratch);
	rc = d->error(io->dstate, status, type, message, param, code, scratch,
	    &http);
	if (rc != PX_OK)
		return rc;
	return px_reply_json(io, http, extra, scratch->p, scratch->len);
}

enum px_err
px_reply_error(struct px_io *io, struct px_buf *scratch, enum px_err e,
    const char *detail, const char *param, const char *extra)
{
	const struct px_err_info *ei = px_err_info(e);

	return px_reply_error_fields(io, scratch, ei->http, ei->type,
	    detail != NULL ? detail : ei->msg, param, ei->code, extra);
}

enum px_err
px_reply_unavailable(struct px_io *io, struct px_buf *scratch)
{
	return px_reply_error_fields(io, scratch, 503, "server_error",
	    "the shared quota ledger is not answering, so no request goes "
	    "upstream unaccounted; retry in a moment", NULL,
	    "service_unavailable", "Retry-After: 1\r\n");
}

static const char *
field(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

enum px_err
px_reply_upstream_error(struct px_io *io, struct px_buf *scratch,
    int status, const char *json, size_t len, const char *extra)
{
	const cJSON *e;
	cJSON *root;
	enum px_err rc;

	if (io->dialect == NULL || io->dialect->id == PX_DIALECT_CHAT)
		return px_reply_json(io, status, extra, json, len);
	root = cJSON_ParseWithLength(json, len);
	e = cJSON_GetObjectItemCaseSensitive(root, "error");
	rc = px_reply_error_fields(io, scratch, status,
	    field(e, "type") ? field(e, "type") : px_err_type_for_status(status),
	    field(e, "message") ? field(e, "message") : "upstream error",
	    field(e, "param"), field(e, "code"), extra);
	cJSON_Delete(root);
	return rc;
}

enum px_err
px_reply_sse_head(struct px_io *io, const char *extra)
{
	char hdrs[512];
	int n;

	n = snprintf(hdrs, sizeof(hdrs), "Cache-Control: no-cache\r\n"
	    "X-Accel-Buffering: no\r\n%s", extra != NULL ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(hdrs))
		return PX_EINTERNAL;
	return px_reply_head(io, 200, "text/event-stream; charset=utf-8", hdrs);
}

enum px_err
px_reply_sse_data(struct px_io *io, const char *data, size_t len)
{
	enum px_err rc = body(io, "data: ", 6);

	if (rc == PX_OK)
		rc = body(io, data, len);
	if (rc == PX_OK)
		rc = body(io, "\n\n", 2);
	return rc;
}

enum px_err
px_reply_sse_raw(struct px_io *io, const char *p, size_t len)
{
	return body(io, p, len);
}

enum px_err
px_reply_sse_comment(struct px_io *io, const char *text, size_t len)
{
	enum px_err rc = body(io, ":", 1);

	if (rc == PX_OK)
		rc = body(io, text, len);
	if (rc == PX_OK)
		rc = body(io, "\n\n", 2);
	return rc;
}
