/*
 * worker.h -- the per-process application state and the per-thread worker.
 * Owns: struct px_app (read-only config plus process-wide shared parts:
 * the ledger handle, models cache) and struct px_worker (one per thread: curl
 * handle and reusable buffers, so the request path barely allocates).
 * Never: global variables; everything is passed explicitly.
 */
#ifndef PX_WORKER_H
#define PX_WORKER_H

#include <stdatomic.h>
#include <stdint.h>
#include "buf.h"
#include "config.h"
#include "dialect.h"
#include "sigcache.h"
#include "fcgi_io.h"
#include "log.h"
#include "router.h"
#include "sse.h"

struct px_ledger;
struct px_ledger_scratch;
struct px_models;
struct px_http;

struct px_app {
	const struct px_config *cfg;
	struct px_ledger  *ledger;	/* shared quota state (LMDB) */
	struct px_models  *models;	/* /v1/models cache */
	atomic_ulong       seq;		/* request ids */
	atomic_ulong       auth_failures;	/* 401s since start, logged */
	_Atomic int64_t   *probe_at;	/* per key (config order): when this
					 * process last probed it, ms */
	struct px_sigcache sigc;	/* thought signatures (in the ledger's
					 * environment) */
	struct px_ledger_scratch *ms;	/* the maintenance call's: flushing
					 * the counters (stats.h) */
	struct px_http_loop *loop;	/* streams' upstream side (upstream.h);
					 * NULL under CGI */
	unsigned long      trim_seq;	/* upkeep only (app.c): seq at the */
	int                trimmed;	/* last tick, heap trimmed since */
};

struct px_worker {
	struct px_app  *app;
	struct px_http *http;	/* kept alive: upstream connection reuse */
	struct px_ledger_scratch *ls;	/* reservation scratch */
	struct px_candidate *cand;	/* auto-model candidates */
	size_t          ncand;
	struct px_buf   body;	/* client request body */
	struct px_buf   up;	/* upstream request body (curl reads it) */
	struct px_buf   resp;	/* upstream response body (non-stream, errors) */
	struct px_buf   out;	/* rewritten event or reply body */
	struct px_buf   err;	/* error reply scratch */
	struct px_buf   probe;	/* head of a key probe's reply */
	struct px_buf   scratch;	/* a translated chunk's unescaped strings */
	struct px_buf   ev;	/* a translated reply's events or body */
	struct px_buf   uerr;	/* an in-band upstream error (OpenAI JSON) */
	struct px_buf   sigs;	/* thought signatures an attempt saw */
	struct px_dstate ds;	/* the request's dialect state */
	struct px_sse   sse;	/* upstream stream parser */
	const struct px_client_cfg *client;	/* the request's client key
					 * ("access_keys"); NULL: admin */
	char            reqid[32];
	char            model[160];	/* the request's model, for its log line */
	char            why[192];	/* its attempts, for its log line */
};

/* Process-wide state, opened after fork; NULL on failure (logged).
 * cfg must outlive it. defer_state: open the ledger and models cache only
 * when an authenticated request needs them (CGI: one request, and one
 * without the access key must not touch state_dir). */
struct px_app *px_app_new(const struct px_config *cfg, int defer_state);
/* Periodic upkeep (ledger sync, stale readers): about once a second. */
void px_app_maintain(struct px_app *app);
void px_app_free(struct px_app *app);	/* NULL-safe */
/* Per-thread state; 0 ok, -1 on failure (then px_worker_fini is safe). */
int  px_worker_init(struct px_worker *w, struct px_app *app);
void px_worker_fini(struct px_worker *w);
/* Serve one request end to end, including its log line. */
void px_app_handle(struct px_worker *w, struct px_io *io);

/* Route handlers (chat.c, models.c); each replies and fills lg.
 * px_chat_handle serves every completion route, in io->dialect. */
void px_chat_handle(struct px_worker *w, struct px_io *io,
    struct px_reqlog *lg);
void px_models_handle(struct px_worker *w, struct px_io *io,
    const char *model_id, struct px_reqlog *lg);
/* POST /v1/embeddings (chat.c). */
void px_embed_handle(struct px_worker *w, struct px_io *io,
    struct px_reqlog *lg);
/* POST /v1/messages/count_tokens: an estimate, no upstream (chat.c). */
void px_count_handle(struct px_worker *w, struct px_io *io,
    struct px_reqlog *lg);

/* models.c: the process-wide cache behind px_models_handle. */
struct px_models *px_models_new(const struct px_config *cfg);
void px_models_free(struct px_models *m);	/* NULL-safe */

#endif
