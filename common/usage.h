/*
 * usage.h -- rendering a ledger snapshot as the /v1/usage body.
 * Owns: the body's shape (usage.c). Never: reads the ledger itself.
 */
#ifndef PX_USAGE_H
#define PX_USAGE_H

#include "buf.h"
#include "ledger.h"

/* The body into out (reset first): everything for the admin key (client
 * NULL), only its own "clients" entry for a client key. */
enum px_err px_usage_render(const struct px_snapshot *sn,
    const struct px_client_cfg *client, struct px_buf *out);

#endif
