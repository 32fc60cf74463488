/*
 * buf.h -- growable byte buffer with a hard cap.
 * Owns: one heap block per buffer, reused across requests (reset keeps memory).
 * Never: grows past `max`; a failed add leaves the previous content intact.
 * The content is always NUL-terminated (p[len] == 0) once anything was added,
 * so text can be handed to C string functions and cJSON without a copy.
 */
#ifndef PX_BUF_H
#define PX_BUF_H

#include <stddef.h>
#include "err.h"

struct px_buf {
	char  *p;	/* NULL until the first add */
	size_t len;	/* bytes in use, excluding the NUL */
	size_t cap;	/* bytes allocated */
	size_t max;	/* content limit; PX_ETOOBIG beyond it */
};

void        px_buf_init(struct px_buf *b, size_t max);	/* cannot fail */
enum px_err px_buf_add(struct px_buf *b, const void *d, size_t n);
enum px_err px_buf_adds(struct px_buf *b, const char *s);	/* strlen(s) */
enum px_err px_buf_addc(struct px_buf *b, char c);
/* printf-style append; PX_ETOOBIG when the result would pass max. */
enum px_err px_buf_printf(struct px_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append s as the inside of a JSON string literal (no quotes added). */
enum px_err px_buf_add_json_str(struct px_buf *b, const char *s, size_t n);
/* Make room for n more bytes; on success p[len..len+n) is writable. */
enum px_err px_buf_reserve(struct px_buf *b, size_t n);
void        px_buf_reset(struct px_buf *b);	/* len = 0, memory kept */
/* Drop the first n bytes, moving the rest to the front. */
void        px_buf_consume(struct px_buf *b, size_t n);
/* Free memory above `keep` bytes of capacity (after an unusually big request). */
void        px_buf_shrink(struct px_buf *b, size_t keep);
/* Exchange the contents (not the caps) of a and b. */
void        px_buf_swap(struct px_buf *a, struct px_buf *b);
void        px_buf_free(struct px_buf *b);		/* NULL-safe */

#endif
