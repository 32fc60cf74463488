/*
 * usage.h -- rendering a ledger snapshot as the /v1/usage body.
 * Owns: the body's shape (usage.c). Never: reads the ledger itself.
 */
#ifndef PX_USAGE_H
#define PX_USAGE_H

#include "buf.h"
#include "ledger.h"

/* The body into out (reset first). */
enum px_err px_usage_render(const struct px_snapshot *sn, struct px_buf *out);

#endif
