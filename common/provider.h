/*
 * provider.h -- what differs between upstream providers, as const data and
 * pure functions (P9). One engine (chat.c/upstream.c) drives them all.
 * Owns: default base URLs, error-body normalisation, per-event stream fixes
 * (Gemini-compat quirks, OpenRouter mid-stream errors), usage extraction,
 * and parsing of the provider's /models list.
 * Never: I/O of any kind, curl, FastCGI or LMDB; nothing here blocks.
 */
#ifndef PX_PROVIDER_H
#define PX_PROVIDER_H

#include <stddef.h>
#include "buf.h"
#include "config.h"
#include "err.h"

#define PX_MAX_TOOL_CALLS 128	/* per response; beyond it the stream fails */

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
	long     prompt_tokens, completion_tokens, total_tokens;
};

void px_stream_fix_init(struct px_stream_fix *st);

enum px_ev_action {
	PX_EV_PASS = 0,	/* relay the event data unchanged */
	PX_EV_REWRITE,	/* relay `out` instead (data only, no "data: " framing) */
	PX_EV_DROP,	/* relay nothing */
	PX_EV_ERROR	/* out holds {"error":{...}}: relay it, then [DONE], then stop */
};

typedef int (*px_model_fn)(void *ctx, const char *id);	/* non-zero: stop */

struct px_provider {
	enum px_provider_id id;
	const char *name;		/* "openrouter" */
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
	/* Parse the provider's GET {base_url}/models body; fn gets each id
	 * (prefix "models/" already stripped). PX_EUPSTREAM on bad JSON. */
	enum px_err (*parse_models)(const char *body, size_t len,
	    px_model_fn fn, void *ctx);
};

/* The provider's table; NULL for an id outside the enum. */
const struct px_provider *px_provider_get(enum px_provider_id id);

#endif
