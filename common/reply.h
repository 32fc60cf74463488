/*
 * reply.h -- the HTTP response head and bodies sent to the client.
 * Owns: the CGI/FastCGI response head ("Status:" line and headers), JSON
 * replies, OpenAI error replies (px_reply_error is the only writer of an
 * error response), and the SSE head and framing.
 * Never: decides status codes by itself; callers pass a px_err or status.
 */
#ifndef PX_REPLY_H
#define PX_REPLY_H

#include <stddef.h>
#include "buf.h"
#include "err.h"
#include "fcgi_io.h"

/* extra: additional header lines, each ending in "\r\n", or NULL. */
enum px_err px_reply_head(struct px_io *io, int status, const char *ctype,
    const char *extra);
enum px_err px_reply_json(struct px_io *io, int status, const char *extra,
    const char *body, size_t len);
/* A body of any type (ctype, e.g. "text/plain; version=0.0.4"). */
enum px_err px_reply_body(struct px_io *io, int status, const char *ctype,
    const char *extra, const char *body, size_t len);
/*
 * Error reply for e: message is detail when non-NULL, else the table's
 * default; param may be NULL. scratch is reset and used for the body.
 * The body and status are the channel's dialect's (io->dialect): OpenAI's
 * error object for chat and responses, Anthropic's for messages.
 */
enum px_err px_reply_error(struct px_io *io, struct px_buf *scratch,
    enum px_err e, const char *detail, const char *param, const char *extra);
/* The same from explicit fields (type: OpenAI error type; code may be
 * NULL). The one writer every error reply goes through. */
enum px_err px_reply_error_fields(struct px_io *io, struct px_buf *scratch,
    int status, const char *type, const char *message, const char *param,
    const char *code, const char *extra);
/* The shared ledger (Redis) did not answer: 503 service_unavailable with
 * Retry-After: 1 in the channel's dialect; nothing went upstream. */
enum px_err px_reply_unavailable(struct px_io *io, struct px_buf *scratch);
/* An upstream error already turned into OpenAI error JSON (and redacted)
 * by the provider: relayed as it is to chat clients, re-shaped for the
 * channel's dialect otherwise. */
enum px_err px_reply_upstream_error(struct px_io *io, struct px_buf *scratch,
    int status, const char *json, size_t len, const char *extra);
/* Pre-framed SSE bytes (a dialect's "event: ...\ndata: ...\n\n"). */
enum px_err px_reply_sse_raw(struct px_io *io, const char *p, size_t len);

/* 200 text/event-stream head with no-cache and X-Accel-Buffering: no. */
enum px_err px_reply_sse_head(struct px_io *io, const char *extra);
/* "data: <data>\n\n" (not flushed). */
enum px_err px_reply_sse_data(struct px_io *io, const char *data, size_t len);
/* ":<text>\n\n" (not flushed). */
enum px_err px_reply_sse_comment(struct px_io *io, const char *text,
    size_t len);

#endif
