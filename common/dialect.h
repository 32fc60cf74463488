/*
 * dialect.h -- the client's side of the pipeline: the request and reply
 * formats a client may speak, each as a const table of pure functions
 * around the canonical form, Chat Completions (issue 10).
 * Owns: the dialect table (chat = identity, responses, messages), the
 * per-request dialect state, and the shared engine (dialect.c) that reads
 * canonical chunks and bodies and drives a dialect's callbacks, so the
 * two translated dialects share one state machine for calls, usage,
 * finish reasons, the commit point and caps.
 * Never: I/O, clocks, randomness or logging: ids and times come in through
 * struct px_dctx; the relay writes what a dialect appends to `out`.
 *
 * Flow of a translated request:
 *   decode(client body) -> canonical chat JSON + state  (before any quota)
 *   stream:   for each upstream chunk: px_dialect_chunk() -> callbacks
 *             append framed SSE events to out; the first meaningful delta
 *             calls open() first (the commit point: nothing is written to
 *             the client before it, so another key can still be tried);
 *             end: px_dialect_end() -> finish(); failure: fail()
 *   non-stream: px_dialect_body(canonical body) -> the same callbacks in
 *             collect mode (no events), then body() writes the object.
 *   errors:   error() gives the dialect's body and HTTP status.
 */
#ifndef PX_DIALECT_H
#define PX_DIALECT_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "err.h"
#include "validate.h"

#define PX_DCALLS     128		/* tool calls per response */
#define PX_DNAME      128		/* tool name bytes, NUL included */
#define PX_DID        64		/* ids, NUL included */
#define PX_DCUSTOM    16		/* Responses custom tools per request */
#define PX_DKEEP_MAX  (8u << 20)	/* output kept for the final event */

enum px_dialect_id { PX_DIALECT_CHAT = 0, PX_DIALECT_RESPONSES,
    PX_DIALECT_MESSAGES, PX_DIALECT__MAX };

/* What the engine gives decode: everything not derivable from the body. */
struct px_dctx {
	const char *uid;	/* >= 24 chars of [0-9a-f], unique per request:
				 * seeds the dialect's ids (resp_<uid>,
				 * msg_<uid>, msg_<uid>_<n>, fc_<uid>_<n>) */
	int64_t     now_s;	/* unix seconds, for created_at */
	size_t      max_values;	/* JSON values cap (max_json_values) */
};

/* Flags decode sets for the encoder. */
enum {
	PX_DF_REASONING = 1u << 0,	/* emit upstream reasoning: Responses
					 * reasoning items (request had
					 * reasoning.summary), Messages thinking
					 * blocks (thinking enabled/adaptive) */
	PX_DF_COUNT     = 1u << 1	/* messages/count_tokens: no upstream */
};

enum px_dopen { PX_DOPEN_NONE = 0, PX_DOPEN_TEXT, PX_DOPEN_REASONING };

/* One tool call of the response, in the order the upstream opened them. */
struct px_dcall {
	char   id[PX_DID];		/* the upstream's call id (never empty
					 * after the engine: synthesised) */
	char   name[PX_DNAME];
	int    out_index;		/* dialect index (output_index, block
					 * index); -1 until the dialect sets it */
	int    custom;		/* Responses: a custom tool (unwrap input) */
	struct px_buf args;		/* arguments so far (JSON text) */
};

/*
 * Per-request state; one per worker thread, reused (px_dstate_reset keeps
 * buffer memory). decode fills the "request" part, the engine and the
 * dialect's callbacks the rest.
 */
struct px_dstate {
	const struct px_dialect *d;
	/* request (decode) */
	char     model[160];		/* the client's model, echoed back */
	int      stream;		/* the client asked for SSE */
	unsigned flags;			/* PX_DF_* */
	char     id[PX_DID];		/* resp_... / msg_... */
	int64_t  created;		/* unix s */
	long     est_input;		/* input token estimate (message_start) */
	char     custom[PX_DCUSTOM][PX_DNAME];	/* Responses custom tools */
	unsigned ncustom;
	struct px_buf echo;		/* Responses: request fields echoed in
					 * every response object, a JSON member
					 * list without braces ("" when none) */
	/* engine */
	int      collect;		/* body mode: callbacks only accumulate */
	int      opened;		/* open() ran (the client has events) */
	int      meaningful;		/* some text, reasoning or call came */
	int      failed;		/* fail() ran */
	unsigned seq;			/* Responses sequence_number */
	unsigned next_index;		/* next output_index / block index */
	enum px_dopen open_kind;	/* the open text or reasoning part */
	int      open_index;		/* its index */
	char     open_id[PX_DID];	/* its item id (Responses) */
	struct px_buf text;		/* text of the open part */
	struct px_buf reasoning;	/* reasoning of the open part */
	struct px_buf items;		/* Responses: closed output items, JSON
					 * objects joined by ',' */
	unsigned ncalls;
	/* the calls so far: [0, ncalls) in use, [ncalls, calls_cap) reset;
	 * grown on demand (up to PX_DCALLS) and kept across requests, so a
	 * worker that never meets a tool call never holds their memory */
	struct px_dcall *calls;
	unsigned calls_cap;
	char     finish[24];		/* upstream finish_reason, "" none */
	int      have_usage;
	long     prompt_tokens, completion_tokens, total_tokens;
	long     cached_tokens, reasoning_tokens, cache_write_tokens;
	int      overflow;		/* kept output passed PX_DKEEP_MAX */
};

/*
 * A dialect. Callbacks append complete, framed SSE events ("event: X\n"
 * "data: {...}\n\n") to out, or nothing in collect mode; out is never
 * reset by them. A callback returns PX_OK or the buffer's error.
 */
struct px_dialect {
	enum px_dialect_id id;
	const char *name;		/* "responses" */
	/*
	 * The client's body -> the canonical chat request in chat (reset
	 * first) and st's request part. PX_EBADREQ (or PX_ETOOBIG) with err
	 * naming the field in the dialect's own terms ("input[3].type",
	 * "messages[1].content[0].tool_use_id"). NULL for the identity
	 * dialect (the body is already canonical).
	 */
	enum px_err (*decode)(const char *body, size_t len,
	    const struct px_dctx *ctx, struct px_dstate *st,
	    struct px_buf *chat, struct px_verr *err);
	/* The commit point: the opening events (response.created and
	 * .in_progress; message_start). Called once, before any other. */
	enum px_err (*open)(struct px_dstate *st, struct px_buf *out);
	/* A non-empty text delta. */
	enum px_err (*text)(struct px_dstate *st, const char *p, size_t n,
	    struct px_buf *out);
	/* A non-empty reasoning delta (only with PX_DF_REASONING). */
	enum px_err (*reasoning)(struct px_dstate *st, const char *p,
	    size_t n, struct px_buf *out);
	/* Call k opened (id and name set in st->calls[k]). */
	enum px_err (*call_start)(struct px_dstate *st, unsigned k,
	    struct px_buf *out);
	/* n more bytes of call k's arguments, already appended to its args. */
	enum px_err (*call_args)(struct px_dstate *st, unsigned k,
	    const char *p, size_t n, struct px_buf *out);
	/* The upstream finished (st->finish, usage set): close everything,
	 * the terminal events. */
	enum px_err (*finish)(struct px_dstate *st, struct px_buf *out);
	/* A committed stream failed: close open items (incomplete), the
	 * dialect's error event(s): Responses response.failed with
	 * error {code "server_error" (or "rate_limit_exceeded" when
	 * overloaded), message}; Messages an "error" event, type
	 * "overloaded_error" when overloaded, else "api_error". */
	enum px_err (*fail)(struct px_dstate *st, const char *message,
	    int overloaded, struct px_buf *out);
	/* Collect mode ended: the complete response object into out. */
	enum px_err (*body)(struct px_dstate *st, struct px_buf *out);
	/*
	 * An error reply (ours or the upstream's, already redacted) in the
	 * dialect's shape: body into out (reset first), the HTTP status to
	 * send into *http (e.g. Anthropic 529 for an overloaded provider).
	 * status/type/message/param/code are the OpenAI-shaped fields.
	 */
	enum px_err (*error)(const struct px_dstate *st, int status,
	    const char *type, const char *message, const char *param,
	    const char *code, struct px_buf *out, int *http);
	/* Extra response headers of this dialect, each ending "\r\n"
	 * (Messages: "request-id: req_<reqid>\r\n"), into dst[cap]; "" for
	 * none. NULL: none. */
	void (*headers)(const char *reqid, char *dst, size_t cap);
};

/* The table for id; NULL outside the enum. chat's has only error(). */
const struct px_dialect *px_dialect_get(enum px_dialect_id id);

void px_dstate_init(struct px_dstate *st);		/* once per worker */
/* Before each request: forget everything, keep buffer memory. */
void px_dstate_reset(struct px_dstate *st, const struct px_dialect *d);
/* Before another attempt of the same request: the engine part only (the
 * decoded request stays). */
void px_dstate_rewind(struct px_dstate *st);
void px_dstate_free(struct px_dstate *st);

/* --- the engine (dialect.c) ------------------------------------------- */

/*
 * One canonical stream chunk (chat.completion.chunk JSON, after the
 * provider's fixes): text, reasoning, tool-call deltas, finish_reason and
 * usage drive st's callbacks; events go to out. Chunks without anything
 * meaningful produce nothing (and do not commit). scratch is a buffer the
 * engine may reset and use (unescaped strings); reused across events.
 */
enum px_err px_dialect_chunk(struct px_dstate *st, const char *json,
    size_t len, struct px_buf *scratch, struct px_buf *out);
/* The upstream ended normally ([DONE] or finish seen): terminal events.
 * Opens first if nothing was opened yet (an empty answer still ends
 * cleanly). */
enum px_err px_dialect_end(struct px_dstate *st, struct px_buf *out);
/* A committed stream failed mid-way; opens first if needed. */
enum px_err px_dialect_fail(struct px_dstate *st, const char *message,
    int overloaded, struct px_buf *out);
/* A canonical non-stream completion body -> the dialect's object in out.
 * PX_EUPSTREAM when the body is not a completion. */
enum px_err px_dialect_body(struct px_dstate *st, const char *json,
    size_t len, struct px_buf *out);

/* --- helpers for the dialects (dialect.c) ---------------------------- */

/* Append "event: <type>\ndata: " to out; the caller writes the JSON and
 * then px_devent_end(). */
enum px_err px_devent_begin(struct px_buf *out, const char *type);
enum px_err px_devent_end(struct px_buf *out);	/* "\n\n" */
/* Append s[0..n) as a JSON string literal, quotes included. */
enum px_err px_djson_str(struct px_buf *out, const char *s, size_t n);

/*
 * Shared by both decoders: after the canonical messages are built, make
 * the history one a chat upstream accepts (client-apis.md §A.4.2, §B.7.2):
 * every assistant message with tool_calls is followed at once by one tool
 * message per call id (other messages in between are moved after them),
 * a call without a result gets {"role":"tool","content":"aborted: no
 * result"}, and a tool message whose id matches no earlier call is a 400.
 * messages is a cJSON array; param names where ids came from (for errors).
 * Returns PX_OK, PX_EBADREQ (err set) or PX_ENOMEM.
 */
struct cJSON;
enum px_err px_dialect_repair(struct cJSON *messages, const char *param,
    struct px_verr *err);

/* A client's reasoning effort for chat reasoning_effort: none, minimal,
 * low, medium, high pass; xhigh and max become high; anything else NULL
 * (the caller answers 400 naming its field). */
const char *px_dialect_effort(const char *effort);

/* Tokens of the canonical request for count_tokens and message_start:
 * the ledger's estimate, ceil(prompt_bytes / 4), at least 1. */
long px_dialect_estimate(size_t prompt_bytes);

#endif
