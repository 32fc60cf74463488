/*
 * gemini_native.h -- internal contract of the Gemini native API adapter
 * (generateContent / streamGenerateContent / models / batchEmbedContents
 * under https://generativelanguage.googleapis.com/v1beta): the functions
 * its const table in provider_gemini_native.c points at, the embeddings
 * translation the engine calls directly, and the few helpers its files
 * (gemini_native.c, gemini_native_request.c, gemini_native_gen.c,
 * gemini_native_reply.c, gemini_native_stream.c, gemini_native_embed.c)
 * share.
 * Never: included by the engine except for px_gn_embed_*; the chat path
 * goes through provider.h. Unit tests may include it.
 * Sources: "§" cites provider-apis.md, "2026 doc §" its addendum
 * provider-apis-2026.md; each comment states the fact it relies on.
 */
#ifndef PX_GEMINI_NATIVE_H
#define PX_GEMINI_NATIVE_H

#include <stddef.h>
#include "buf.h"
#include "err.h"
#include "provider.h"

struct cJSON;

extern const struct px_provider px_provider_gemini_native;

/* --- the px_provider functions (contracts in provider.h) --- */

/* "x-goog-api-key: <key>": the native API takes the key in this header;
 * a Bearer token there means OAuth and is refused (2026 doc §3.2). */
void px_gn_auth(const char *secret, char *line, size_t cap);
enum px_err px_gn_url(const char *base, enum px_op op, const char *model,
    char *dst, size_t cap);
enum px_err px_gn_request(const struct px_upstream_in *in,
    struct px_buf *out, struct px_buf *tmp, const char **body, size_t *len,
    char *err, size_t cap);
enum px_ev_action px_gn_map_event(struct px_stream_fix *st,
    const char *data, size_t len, struct px_buf *out);
enum px_ev_action px_gn_map_body(struct px_stream_fix *st,
    const char *body, size_t len, struct px_buf *out);
enum px_err px_gn_parse_models(const char *body, size_t len,
    px_model_fn fn, void *ctx, char *next, size_t ncap);

/* --- embeddings (POST /v1/embeddings over batchEmbedContents) --- */

#define PX_GN_EMBED_MAX 100	/* requests per batchEmbedContents call */

/*
 * The batchEmbedContents body for the OpenAI embeddings request
 * json[0..len) into out (reset first): one request per input string,
 * {"model":"models/<model>","content":{"parts":[{"text":...}]}} plus
 * "outputDimensionality" from "dimensions". PX_EBADREQ with a message in
 * err[cap] for input this upstream cannot take (token arrays, more than
 * PX_GN_EMBED_MAX inputs, a bad dimensions or encoding_format).
 */
enum px_err px_gn_embed_request(const char *json, size_t len,
    const char *model, struct px_buf *out, char *err, size_t cap);
/*
 * The OpenAI list for the batch reply json[0..len) into out (reset
 * first); encoding "base64" gives little-endian float32 bytes in base64,
 * anything else (NULL, "float") number arrays. Vectors of
 * gemini-embedding-001 shorter than 3072 are normalised (only the full
 * size comes normalised, 2026 doc §6.2). usage is zero: the native API
 * returns no token counts. PX_EUPSTREAM when the reply is not the shape.
 */
enum px_err px_gn_embed_reply(const char *json, size_t len,
    const char *model, const char *encoding, struct px_buf *out);

/* --- shared helpers (gemini_native.c) --- */

/* obj[key] when obj is an object, else NULL; borrowed. */
struct cJSON *px_gn_get(const struct cJSON *obj, const char *key);
/* a when it is an array, else NULL (for cJSON_ArrayForEach). */
const struct cJSON *px_gn_arr(const struct cJSON *a);
/* obj[key] as a string (possibly ""), else NULL; borrowed. */
const char *px_gn_str(const struct cJSON *obj, const char *key);
/* obj[key] as a non-negative count, 0 when absent or not a number. */
long px_gn_count(const struct cJSON *obj, const char *key);
/* The model id without a leading "models/" (a client may send it). */
const char *px_gn_model_id(const char *model);


/*
 * A sticky-error tree builder: every add checks for NULL items and failed
 * links, remembers the first failure and frees what it could not link,
 * so callers chain adds and test b->oom once.
 */
struct px_gn_tree {
	int oom;
};
/* Add item to obj under key (or to an array when key is NULL); item is
 * owned by obj on success and freed on failure. Returns item or NULL. */
struct cJSON *px_gn_add(struct px_gn_tree *b, struct cJSON *obj,
    const char *key, struct cJSON *item);

/* --- gemini_native_gen.c: the request beyond contents --- */

/* tools -> tools[0].functionDeclarations, tool_choice ->
 * toolConfig.functionCallingConfig, of the canonical request root. */
void px_gn_add_tools(struct px_gn_tree *b, struct cJSON *req,
    const struct cJSON *root);
/* generationConfig from the sampling fields of root, and thinkingConfig
 * from the client's effort ("" none) for model (no "models/" prefix). */
void px_gn_add_config(struct px_gn_tree *b, struct cJSON *req,
    const struct cJSON *root, const char *model, const char *effort);

/* --- gemini_native_reply.c: shared by the body and stream mappings --- */

#define PX_GN_CHOICES 8		/* candidateCount is at most 8 */

struct px_gn_choice {
	unsigned char  role_sent;	/* delta.role went out */
	unsigned char  finished;	/* its finish_reason went out */
	unsigned short calls;		/* tool calls of this choice so far */
};

/* Per-response state, kept in st->priv (zeroed by px_stream_fix_init). */
struct px_gn_state {
	char   id[80];			/* "chatcmpl-...", "" before the first
					 * event */
	struct px_gn_choice ch[PX_GN_CHOICES];
	unsigned seen;			/* bit i: choice i appeared */
	int    usage_sent;		/* a usage chunk went out ... */
	long   sent_total, sent_completion;	/* ... with these counts */
	long   cached;			/* cachedContentTokenCount */
};

struct px_gn_state *px_gn_state(struct px_stream_fix *st);
/* Fix the response's chunk id on its first document (responseId). */
void px_gn_begin(struct px_stream_fix *st, const struct cJSON *root);
/* The "model" of the canonical chunks: st->model, else modelVersion. */
const char *px_gn_model(const struct px_stream_fix *st,
    const struct cJSON *root);
/* Record usageMetadata of root into st; 0 when root carries none. */
int px_gn_usage(struct px_stream_fix *st, const struct cJSON *root);
/* The canonical usage object of what st holds; NULL without memory. */
struct cJSON *px_gn_usage_json(const struct px_stream_fix *st);
/*
 * The canonical finish_reason for a Gemini finishReason, "tool_calls"
 * instead of "stop" when the choice made calls; NULL with *err (and
 * *code) set for a finish that is an error (MALFORMED_FUNCTION_CALL).
 */
const char *px_gn_finish(const char *reason, unsigned calls,
    const char **err, const char **code);
/* The choice index of a candidate (absent: 0), -1 past PX_GN_CHOICES. */
int px_gn_choice(const struct cJSON *cand);
/*
 * The tool_calls entry for the functionCall part (its "index" idx unless
 * idx < 0), registered as call st->ntools with its id (Gemini's, else
 * "call_<id_prefix><k>") and its thoughtSignature recorded into st->sigs.
 * NULL with *fail set past PX_MAX_TOOL_CALLS, NULL alone without memory.
 */
struct cJSON *px_gn_call(struct px_stream_fix *st, int idx,
    const struct cJSON *part, const char **fail);
/* If root is a Google error ({"error":...} or [{"error":...}]), write the
 * OpenAI error for it into out and return 1. */
int px_gn_error(const struct px_stream_fix *st, const struct cJSON *root,
    const char *data, size_t len, struct px_buf *out);
/* Reset out to {"error":{msg, "server_error", code}}. */
void px_gn_fail(struct px_buf *out, const char *msg, const char *code);

#endif
