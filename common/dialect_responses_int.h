/*
 * dialect_responses_int.h -- what the two halves of the Responses dialect
 * share: the table and reply side (dialect_responses.c) names the request
 * decoder (dialect_responses_decode.c), and both build ids from the uid.
 * Never: included outside dialect_responses*.c.
 */
#ifndef PX_DIALECT_RESPONSES_INT_H
#define PX_DIALECT_RESPONSES_INT_H

#include <stddef.h>
#include "dialect.h"

#define PX_RESP_UID_MAX	40	/* uid bytes used in ids (fits PX_DID) */

/* The table's decode: a Responses body -> the canonical chat request
 * (struct px_dialect.decode). */
enum px_err px_responses_decode(const char *body, size_t len,
    const struct px_dctx *ctx, struct px_dstate *st, struct px_buf *chat,
    struct px_verr *err);

#endif
