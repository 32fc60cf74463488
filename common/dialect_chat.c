/*
 * dialect_chat.c -- Chat Completions, the canonical form, as the identity
 * dialect: the body goes upstream as the client sent it and replies are
 * relayed byte for byte (relay.c's fast path), so the table has only the
 * error writer, the OpenAI error shape every chat client expects.
 * Never: translates anything.
 */
#include "dialect.h"

static enum px_err
chat_error(const struct px_dstate *st, int status, const char *type,
    const char *message, const char *param, const char *code,
    struct px_buf *out, int *http)
{
	(void)st;
	px_buf_reset(out);
	*http = status;
	return px_err_json(out, message, type, param, code);
}

const struct px_dialect px_dialect_chat = {
	.id    = PX_DIALECT_CHAT,
	.name  = "chat",
	.error = chat_error,
};
