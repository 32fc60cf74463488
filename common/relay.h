/*
 * relay.h -- one exchange with the upstream for a chat request.
 * Owns: sending the upstream request over the worker's kept handle (a
 * stream's over the responder's stream loop), relaying a stream event by
 * event with a flush after every upstream chunk (the provider's fixes
 * applied), back-pressure on a client that does not read (its stream
 * paused, then ended with client_too_slow after idle_timeout_ms),
 * keep-alive comments during silence, and the final reply for whatever
 * way the exchange ended: an OpenAI error before the first byte, or an
 * error event + [DONE] after.
 * Never: retries (chat.c decides), or writes to the client before the
 * upstream answered 2xx (so a failed attempt can still be retried), except
 * that a keep-alive during a long silence commits the stream. For a
 * translated dialect nothing is written before the first meaningful delta
 * (text, reasoning or a call): an in-band error or an empty answer before
 * it is still a failed attempt another key may retry.
 */
#ifndef PX_RELAY_H
#define PX_RELAY_H

#include "provider.h"
#include "upstream.h"
#include "worker.h"

struct px_lease;

struct px_relay {
	struct px_worker *w;
	struct px_io     *io;
	const struct px_provider *prov;
	const struct px_secrets *secrets;	/* every configured key: redacted
					 * from relayed upstream error text */
	const char *extra;		/* extra response headers */
	const char *model;		/* the model that serves */
	int   include_usage;		/* the client asked for a usage chunk */
	struct px_stream_fix fix;
	int   stream;			/* the client asked for SSE */
	int   head_sent;		/* the client has our status line */
	int   saw_done;			/* upstream sent [DONE] */
	int   failed;			/* an error event was written */
	int   too_big;			/* a non-stream body passed
					 * max_response_bytes: aborted */
	/* a translated dialect (Responses, Messages): upstream chunks go
	 * through the dialect engine, which decides the commit point */
	struct px_dstate *ds;		/* NULL for chat */
	int   inband;			/* the upstream reported an error in a
					 * 2xx reply; its OpenAI JSON is in
					 * w->uerr */
	int   empty;			/* it finished without any text,
					 * reasoning or call */
	int   embed;			/* an embeddings request */
	const char *encoding;		/* ... its encoding_format */
	long  ka_interval, ka_last;	/* keep-alive comments while silent */
	const struct px_lease *lease;	/* the attempt's reservation */
	long  renewed_ms;		/* its leases last renewed (mono) */
};

/* Run the exchange; nothing final is written to the client yet unless a
 * stream started (rl->head_sent). The upstream's error body, if any, is
 * left in w->resp. */
void px_relay_attempt(struct px_relay *rl, const struct px_lease *lease,
    const char *body, size_t len, struct px_http_result *res);
/* Write the client's reply for the attempt's result. */
void px_relay_finish(struct px_relay *rl, const struct px_http_result *res);
/* Ask the provider whether the lease's key works (GET {base_url}{probe
 * path}, nothing from the client in it); the reply's head is left in
 * w->probe. Bounded by the connect timeout and PX_PROBE_MS. */
#define PX_PROBE_MS 10000
void px_relay_probe(struct px_worker *w, const struct px_lease *lease,
    struct px_http_result *res);

#endif
