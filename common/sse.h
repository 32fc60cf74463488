/*
 * sse.h -- incremental parser for text/event-stream (WHATWG SSE rules).
 * Owns: line splitting on LF, CRLF or CR (also across feed boundaries),
 * "data:" field joining, comment lines, dispatch on blank line.
 * Never: allocates per event; one line buffer (capped) is reused.
 * Input arrives in arbitrary pieces (a curl chunk may hold half a line or
 * ten events); output is the same whatever the split.
 */
#ifndef PX_SSE_H
#define PX_SSE_H

#include <stddef.h>
#include "buf.h"

/* Called once per complete event that had at least one data line.
 * data is the joined data (lines joined with '\n', one leading space after
 * "data:" stripped), NUL-terminated, valid only during the call.
 * Return 0 to continue, non-zero to stop: px_sse_feed then returns PX_EGONE. */
typedef int (*px_sse_event_fn)(void *ctx, const char *data, size_t len);
/* Called for each comment line (starts with ':'); text excludes the ':'.
 * May be NULL. Same return convention. */
typedef int (*px_sse_comment_fn)(void *ctx, const char *text, size_t len);

struct px_sse {
	struct px_buf line;	/* current partial line */
	struct px_buf data;	/* data of the event being built */
	int   have_data;	/* a data field was seen in this event */
	int   last_cr;		/* previous byte was CR: swallow a following LF */
	px_sse_event_fn   on_event;
	px_sse_comment_fn on_comment;
	void *ctx;
};

/* line_cap bounds one line and the joined data of one event. */
void px_sse_init(struct px_sse *s, size_t line_cap, px_sse_event_fn on_event,
    px_sse_comment_fn on_comment, void *ctx);
/* Forget any partial input; keep buffers for reuse. */
void px_sse_reset(struct px_sse *s);
/*
 * Feed n bytes. Returns PX_OK, PX_ETOOBIG when a line or event passes
 * line_cap (the parser must then be reset), or PX_EGONE when a callback
 * asked to stop.
 */
enum px_err px_sse_feed(struct px_sse *s, const char *p, size_t n);
/* Non-zero when bytes of an unfinished line or event are pending (EOF check). */
int  px_sse_pending(const struct px_sse *s);
void px_sse_free(struct px_sse *s);

#endif
