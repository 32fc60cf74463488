/*
 * oaicompat.h -- internal contract between oaicompat.c, the one adapter for
 * upstreams that already speak OpenAI Chat Completions, and the thin
 * provider files (provider_openrouter.c, provider_gemini.c) that point
 * their const vtables at it.
 * Never: included by the engine; it goes through provider.h and
 * px_provider_get. Unit tests may include it.
 */
#ifndef PX_OAICOMPAT_H
#define PX_OAICOMPAT_H

#include <stddef.h>
#include "buf.h"
#include "err.h"
#include "provider.h"

extern const struct px_provider px_provider_openrouter;
extern const struct px_provider px_provider_gemini;
extern const struct px_provider px_provider_gemini_native;

/*
 * The px_provider functions (contracts in provider.h). Every fix applies to
 * every provider whenever its condition shows up, so one set serves both.
 */
enum px_ev_action px_oai_map_event(struct px_stream_fix *st,
    const char *data, size_t len, struct px_buf *out);
enum px_ev_action px_oai_map_body(struct px_stream_fix *st,
    const char *body, size_t len, struct px_buf *out);
enum px_err px_oai_map_error(int status, const char *body, size_t len,
    const struct px_secrets *secret, struct px_buf *out);
void px_oai_auth(const char *secret, char *line, size_t cap);
enum px_err px_oai_url(const char *base, enum px_op op, const char *model,
    char *dst, size_t cap);
enum px_err px_oai_request(const struct px_upstream_in *in,
    struct px_buf *out, struct px_buf *tmp, const char **body, size_t *len,
    char *err, size_t cap);
/* Gemini's compat endpoint (gemini_compat.c): an effort becomes its
 * thinking_config; other requests take px_oai_request. */
enum px_err px_gemc_request(const struct px_upstream_in *in,
    struct px_buf *out, struct px_buf *tmp, const char **body, size_t *len,
    char *err, size_t cap);
/* Does a request with this effort get thought summaries inline? */
int px_gemc_thoughts_asked(const char *model, const char *effort);
enum px_err px_oai_parse_models(const char *body, size_t len,
    px_model_fn fn, void *ctx, char *next, size_t ncap);

#endif
