/*
 * embed.h -- POST /v1/embeddings requests (issue 11): the OpenAI shape
 * checked before any quota is spent.
 * Owns: the shape rules (model; input a string, an array of strings, an
 * array of token ids or of token arrays; dimensions; encoding_format
 * float or base64; user) with errors naming the field, and the request's
 * token estimate.
 * Never: I/O, or which upstream serves it (the adapters translate).
 */
#ifndef PX_EMBED_H
#define PX_EMBED_H

#include <stddef.h>
#include "err.h"
#include "validate.h"

#define PX_EMBED_INPUTS_MAX 2048	/* OpenAI's own cap per request */

/*
 * Check body; on PX_OK out has root, model and prompt_bytes (bytes of
 * input text; a token id counts 4) and *encoding "float" or "base64"
 * (borrowed from root). PX_EBADREQ / PX_ETOOBIG with err set.
 */
enum px_err px_validate_embed(const char *body, size_t len,
    size_t max_values, struct px_chat_req *out, const char **encoding,
    struct px_verr *err);

#endif
