/*
 * validate.h -- parse and check one client chat request body, once.
 * Owns: UTF-8 validity, JSON syntax (cJSON) and no trailing garbage, a
 * cap on JSON values before parsing, unique and unescaped top-level member
 * names, the
 * shape rules for model/messages/stream/stream_options/tools/tool_choice,
 * and the messages that name the failing field ("messages[2].role: ...").
 * Never: rejects unknown fields (they pass through to the provider), does
 * I/O, or logs.
 */
#ifndef PX_VALIDATE_H
#define PX_VALIDATE_H

#include <stddef.h>
#include "err.h"
#include "utf8.h"

struct cJSON;

struct px_chat_req {
	struct cJSON *root;	/* owned; free with px_chat_req_free */
	const char *model;	/* borrowed from root; non-empty */
	int    stream;		/* "stream": true */
	int    include_usage;	/* "stream_options": {"include_usage": true} */
	int    has_tools;	/* "tools" present and non-empty */
	size_t prompt_bytes;	/* bytes of text in messages (token estimate input) */
	const char *reasoning;	/* "reasoning_effort" as sent, "" when absent */
	int    has_tool_history;	/* an assistant message has tool_calls */
};

struct px_verr {
	char param[96];		/* JSON path of the bad field, "" when none */
	char msg[224];		/* human-readable, names the field */
};

/*
 * Validate body[0..len). On PX_OK, out is filled and owns root.
 * On PX_EBADREQ, err says what and where; out->root is NULL.
 * PX_ENOMEM on allocation failure.
 */
enum px_err px_validate_chat(const char *body, size_t len,
    struct px_chat_req *out, struct px_verr *err);
/* The same with a cap on JSON values (PX_ETOOBIG past it, counted on the
 * raw text before any parsing); px_validate_chat uses the default. */
#define PX_JSON_VALUES_DEFAULT 100000
enum px_err px_validate_chat_max(const char *body, size_t len,
    size_t max_values, struct px_chat_req *out, struct px_verr *err);
void px_chat_req_free(struct px_chat_req *rq);	/* NULL-safe, idempotent */
/* Only the byte screening of any JSON request body (UTF-8, raw control
 * bytes, the value cap) before a dialect parses it. */
enum px_err px_validate_scan(const char *body, size_t len, size_t max_values,
    struct px_verr *err);


#endif
