/*
 * dialect_messages.h -- what the Anthropic Messages dialect exports beside
 * its table: the POST /v1/messages/count_tokens answer (issue 10).
 * Never: I/O; the count is an estimate, no upstream is asked.
 */
#ifndef PX_DIALECT_MESSAGES_H
#define PX_DIALECT_MESSAGES_H

#include <stddef.h>
#include "dialect.h"

extern const struct px_dialect px_dialect_messages;

/*
 * A count_tokens body (a Messages request without max_tokens or stream;
 * extra fields ignored) -> {"input_tokens":N} in out (reset first), N the
 * ledger's estimate of the canonical chat request, which is left in chat.
 * st gets the request part with PX_DF_COUNT set. PX_EBADREQ / PX_ETOOBIG
 * with err naming the field in Messages terms; PX_ENOMEM.
 */
enum px_err px_messages_count(const char *body, size_t len,
    const struct px_dctx *ctx, struct px_dstate *st, struct px_buf *chat,
    struct px_verr *err, struct px_buf *out);

#endif
