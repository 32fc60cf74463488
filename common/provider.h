/*
 * provider.h -- what differs between upstream wire protocols, as const
 * adapter tables of pure functions (P9). One engine (chat.c, relay.c,
 * upstream.c) drives them all.
 * Owns: per adapter (a key family `provider` spoken over an `api`): the
 * URL of each operation, the credential header, the upstream request body
 * built from the canonical chat request (an identity splice for
 * OpenAI-compatible upstreams, a full translation for native ones), the
 * mapping of each upstream event to zero or more canonical chunks and of
 * a non-stream body to a canonical completion, error-body normalisation,
 * thought signatures seen, usage, and the /models list.
 * Never: I/O of any kind, curl, FastCGI or LMDB; nothing here blocks.
 */
#ifndef PX_PROVIDER_H
#define PX_PROVIDER_H

#include <stddef.h>
#include "buf.h"
#include "config.h"
#include "err.h"
#include "retryhint.h"
#include "thoughts.h"

#define PX_MAX_TOOL_CALLS 128	/* per response; beyond it the stream fails */
#define PX_FIX_PRIV 4096	/* bytes of adapter-private stream state */

/* Per-request state of the stream fixer; zero it with px_stream_fix_init. */
struct px_stream_fix {
	unsigned ntools;		/* tool calls relayed so far */
	int      up_index[PX_MAX_TOOL_CALLS];	/* upstream index of call k, -1 none */
	char     up_id[PX_MAX_TOOL_CALLS][48];	/* upstream id of call k ("" none) */
	int      last_tool;		/* our index of the latest call, -1 none */
	int      saw_finish;		/* a non-null finish_reason was relayed */
	int      have_usage;		/* usage seen in some event */
	int      usage_alone;		/* ... and it came on a choices:[] chunk */
	int      drop_usage_alone;	/* in: drop usage-only (choices:[])
					 * events the client did not ask for */
	char     id_prefix[40];		/* for ids of calls the upstream left
					 * without one: "call_<prefix><k>" */
	const struct px_secrets *secrets;	/* in: redacted from any
					 * upstream text turned into an error */
	struct px_buf *sigs;		/* in (may be NULL): thought signatures
					 * the upstream sent, appended as
					 * "<call id>\t<signature>\n" records */
	const char *model;		/* in: the model served (chunk "model") */
	long     prompt_tokens, completion_tokens, total_tokens;
	long     reasoning_tokens;	/* completion_tokens_details, 0 none */
	char     first_id[200];		/* the response's first call id,
					 * whole (up_id keeps a prefix) */
	unsigned char sig_seen[PX_MAX_TOOL_CALLS];	/* a signature of call
					 * k was recorded (the first wins) */
	int      hide_reasoning;	/* in: the client did not ask for
					 * reasoning: drop reasoning fields */
	int      split_thoughts;	/* in: the request asked Gemini's
					 * compat endpoint for thoughts, which
					 * come inline in content */
	struct px_thoughts thoughts;	/* ... the splitter's state */
	/* a native adapter's own per-response state, zeroed by init */
	_Alignas(8) unsigned char priv[PX_FIX_PRIV];
};

void px_stream_fix_init(struct px_stream_fix *st);

enum px_ev_action {
	PX_EV_PASS = 0,	/* relay the event data unchanged */
	PX_EV_REWRITE,	/* relay `out` instead: one or more canonical chunks
			 * (data only, no "data: " framing), separated by '\n'
			 * (printed JSON holds no raw newline) */
	PX_EV_DROP,	/* relay nothing */
	PX_EV_ERROR	/* out holds {"error":{...}}: relay it, then [DONE], then stop */
};

typedef int (*px_model_fn)(void *ctx, const char *id);	/* non-zero: stop */

/* What the engine asks an upstream for. */
enum px_op { PX_OP_CHAT = 0, PX_OP_STREAM, PX_OP_MODELS, PX_OP_EMBED };

struct cJSON;

/* The canonical request an adapter turns into its upstream body. */
struct px_upstream_in {
	const char *body;		/* canonical chat request text (on the
					 * chat route: the client's bytes) */
	size_t      len;
	const struct cJSON *root;	/* the same, parsed */
	const char *model;		/* the model to send (auto-model and
					 * aliases may differ from the body's) */
	int         stream;		/* the reply is wanted as a stream */
	int         include_usage;	/* the body already asks for usage */
	const char *reasoning;		/* the client's effort ("" none):
					 * none minimal low medium high */
	enum px_op  op;			/* PX_OP_CHAT/STREAM, or PX_OP_EMBED
					 * (body: an OpenAI embeddings
					 * request) */
};

struct px_provider {
	enum px_provider_id id;		/* the key family (quota identity) */
	enum px_api api;		/* the wire protocol */
	const char *name;		/* "openrouter", "gemini-native" */
	const char *default_base_url;
	const char *owned_by;		/* owned_by in /v1/models */
	/* GET {base_url}{probe_path} with a key answers whether the key
	 * works, whatever a client sent (a free call: OpenRouter's key info,
	 * Google's model list) */
	const char *probe_path;
	/* The credential's header line for key secret into line[cap]
	 * ("Authorization: Bearer <key>"; never a URL parameter). */
	void (*auth)(const char *secret, char *line, size_t cap);
	/*
	 * The URL of op under base_url into dst[cap]: model for ops that
	 * name one (native chat, embeddings); for PX_OP_MODELS, model is a
	 * page token or NULL. PX_ETOOBIG when it does not fit.
	 */
	enum px_err (*url)(const char *base_url, enum px_op op,
	    const char *model, char *dst, size_t cap);
	/*
	 * The upstream body for in. *body and *len point at in->body when nothing
	 * changes (the OpenAI-compatible fast path: the client's bytes) or
	 * into out; tmp is scratch. PX_EBADREQ with a message in err[cap]
	 * for a request this upstream cannot take (e.g. an http image URL on
	 * a native upstream).
	 */
	enum px_err (*request)(const struct px_upstream_in *in,
	    struct px_buf *out, struct px_buf *tmp, const char **body,
	    size_t *len, char *err, size_t cap);
	/*
	 * One upstream stream event (data, NUL-terminated). Must be cheap for
	 * ordinary text deltas: decide on a substring scan and parse only events
	 * that need a fix. Records usage into st.
	 */
	enum px_ev_action (*map_event)(struct px_stream_fix *st,
	    const char *data, size_t len, struct px_buf *out);
	/*
	 * Non-stream 2xx body: fix it like map_event would (PX_EV_PASS or
	 * PX_EV_REWRITE into out) and record usage into st. A body that is an
	 * upstream error despite the 2xx (OpenRouter's top-level "error",
	 * finish_reason "error") gives PX_EV_ERROR with the OpenAI error JSON.
	 */
	enum px_ev_action (*map_body)(struct px_stream_fix *st,
	    const char *body, size_t len, struct px_buf *out);
	/*
	 * Turn an upstream error body of HTTP `status` into the OpenAI error
	 * JSON in out (reset first). Any occurrence of any configured key
	 * (sec, may be NULL) in upstream text is replaced by "[redacted]",
	 * and the message is capped. Never fails on garbage input: a
	 * non-JSON body gives a generic message naming the status.
	 */
	enum px_err (*map_error)(int status, const char *body, size_t len,
	    const struct px_secrets *sec, struct px_buf *out);
	/*
	 * An upstream embeddings reply -> the OpenAI list into out (reset
	 * first), vectors as float arrays or, for encoding "base64",
	 * little-endian float32 in base64. NULL: the reply is OpenAI's
	 * already (relayed as it is).
	 */
	enum px_err (*embed_reply)(const char *json, size_t len,
	    const char *model, const char *encoding, struct px_buf *out);
	/*
	 * Classification hooks for this upstream's error shapes: what a reply
	 * says about the key (retryhint.h: status, headers, the error body's
	 * facts), and how to read a key probe's answer. Every adapter so far
	 * speaks Google's or OpenRouter's shapes, which px_hint_read and
	 * px_hint_probe read by key family.
	 */
	void (*classify)(const struct px_hint_in *in, struct px_hint *out);
	int (*probe_says)(const struct px_hint_in *in, struct px_hint *out);
	/* Does a request with this reasoning effort get thought summaries
	 * inline in content (to split out: px_stream_fix.split_thoughts)?
	 * NULL: never. */
	int (*thoughts_inline)(const char *model, const char *effort);
	/* Parse the provider's models list body; fn gets each id (prefix
	 * "models/" already stripped; native: only generateContent-capable
	 * models). next[ncap] gets the next page's token, "" on the last
	 * page. PX_EUPSTREAM on bad JSON. */
	enum px_err (*parse_models)(const char *body, size_t len,
	    px_model_fn fn, void *ctx, char *next, size_t ncap);
};

/* The OpenAI-compatible table of a key family; NULL outside the enum. */
const struct px_provider *px_provider_get(enum px_provider_id id);
/* The adapter of a provider_keys entry: its family over its api. */
const struct px_provider *px_adapter(const struct px_provider_cfg *g);

#endif
