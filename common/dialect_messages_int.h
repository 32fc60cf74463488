/*
 * dialect_messages_int.h -- what the two halves of the Messages dialect
 * share: the table and reply side (dialect_messages.c) names the request
 * decoder (dialect_messages_decode.c).
 * Never: included outside dialect_messages*.c.
 */
#ifndef PX_DIALECT_MESSAGES_INT_H
#define PX_DIALECT_MESSAGES_INT_H

#include <stddef.h>
#include "dialect.h"

/* The table's decode: a Messages body -> the canonical chat request
 * (struct px_dialect.decode). */
enum px_err px_messages_decode(const char *body, size_t len,
    const struct px_dctx *ctx, struct px_dstate *st, struct px_buf *chat,
    struct px_verr *err);

#endif
