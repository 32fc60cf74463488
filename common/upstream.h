/*
 * upstream.h -- one HTTP exchange with a provider over a kept handle.
 * Owns: everything libcurl (the only includer of <curl/curl.h>): a handle
 * per worker thread kept for the thread's life (connection and TLS reuse),
 * the process's stream loop (one thread relaying every stream's upstream
 * side), connect / first-byte / idle timeouts kept by our own clock (not
 * curl's low-speed averaging, and never a total timeout on streams), and
 * the response headers the retry logic needs.
 * Never: parses bodies or knows about providers (URL and headers come
 * from the adapter); bytes go to callbacks.
 */
#ifndef PX_UPSTREAM_H
#define PX_UPSTREAM_H

#include <stddef.h>
#include "err.h"

struct px_http;
struct px_http_loop;

/* Return 0 to continue, PX_HTTP_PAUSE (only on a loop, with on_ready set)
 * to be given the same bytes again once on_ready says so, anything else
 * to abort the transfer. */
#define PX_HTTP_PAUSE 2
typedef int (*px_http_data_fn)(void *ctx, long status, const char *p,
    size_t n);
/* A paused transfer, when wait_fd turns writable and every 25 ms: 1 to go
 * on, 0 to wait, -1 to abort. No timeout and no on_idle run while paused:
 * on_ready bounds the wait. */
typedef int (*px_http_ready_fn)(void *ctx, long paused_ms);
/* Called about 10 times a second while no byte arrives; idle_ms since the
 * last byte (or since the request was sent). Non-zero aborts. */
typedef int (*px_http_idle_fn)(void *ctx, long idle_ms, int got_bytes);

struct px_http_req {
	const char *url;
	/* header lines ("Name: value"), NULL-terminated; the provider
	 * adapter writes them (credentials among them: never logged) */
	const char *const *headers;
	const char *body;	/* POST body (JSON); NULL: GET */
	size_t      body_len;
	long connect_timeout_ms;
	long first_byte_timeout_ms;
	long idle_timeout_ms;
	long total_timeout_ms;	/* 0: none (always 0 for streams) */
	px_http_data_fn on_data;
	px_http_idle_fn on_idle;	/* may be NULL */
	px_http_ready_fn on_ready;	/* may be NULL: never pauses */
	int   wait_fd;		/* with on_ready: the descriptor whose
				 * writability ends a pause */
	void *ctx;
	/* non-NULL: run on this stream loop; the callbacks then run on the
	 * loop's thread while the caller sleeps, so they must not block for
	 * long (one stuck callback holds up every stream of the process) */
	struct px_http_loop *loop;
};

enum px_http_outcome {
	PX_HTTP_DONE = 0,	/* full response received */
	PX_HTTP_CONNECT,	/* could not connect / resolve / TLS */
	PX_HTTP_TIMEOUT_CONNECT,
	PX_HTTP_TIMEOUT_FIRST_BYTE,
	PX_HTTP_TIMEOUT_IDLE,
	PX_HTTP_TIMEOUT_TOTAL,
	PX_HTTP_ABORTED,	/* a callback asked to stop */
	PX_HTTP_BROKEN,		/* connection dropped mid-response */
	PX_HTTP_OTHER
};

struct px_http_result {
	enum px_http_outcome outcome;
	long   status;		/* HTTP status, 0 if none */
	long   elapsed_ms;
	long   ttfb_ms;		/* -1: no byte */
	size_t bytes_in;
	char   retry_after[40];	/* Retry-After header value, "" if none */
	char   retry_after_ms[24];	/* retry-after-ms */
	char   ratelimit_reset[24];	/* X-RateLimit-Reset (epoch ms) */
	char   error[96];	/* curl's message, no URL or key in it */
};

int  px_http_global_init(void);		/* once in main, before threads */
void px_http_global_cleanup(void);
struct px_http *px_http_new(void);	/* NULL on failure */
void px_http_free(struct px_http *h);	/* NULL-safe */
/* The process's stream loop: one thread, started after fork with the
 * signals already blocked. NULL on failure (callers then run streams on
 * their own threads). Free only after every px_http_perform returned. */
struct px_http_loop *px_http_loop_new(void);
void px_http_loop_free(struct px_http_loop *l);	/* NULL-safe */
/* Run one exchange; the result says how it ended. Never blocks past the
 * configured timeouts (on the loop: up to 25 ms later). */
void px_http_perform(struct px_http *h, const struct px_http_req *rq,
    struct px_http_result *res);
const char *px_http_outcome_name(enum px_http_outcome o);

#endif
