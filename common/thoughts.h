/*
 * thoughts.h -- Gemini's thought summaries out of the answer text (issue
 * 11). Asked for through the OpenAI-compatible endpoint
 * (extra_body.google.thinking_config.include_thoughts), they come inline
 * in content, wrapped in <thought>...</thought> (provider-apis-2026.md
 * §2.1); a tag may straddle two stream chunks.
 * Owns: a splitter whose state lives with the response, sending the
 * wrapped text to reasoning and the rest to content, holding back at most
 * a tag's length of text that may be the start of a tag.
 * Never: allocates (callers give the output buffers) or looks at JSON.
 */
#ifndef PX_THOUGHTS_H
#define PX_THOUGHTS_H

#include <stddef.h>
#include "buf.h"

struct px_thoughts {
	int    in;		/* inside <thought>...</thought> */
	char   carry[16];	/* held back: maybe the start of a tag */
	size_t ncarry;
};

/* Split s[0..n) after what came before: content and reasoning text are
 * appended (the buffers are not reset). */
enum px_err px_thoughts_split(struct px_thoughts *t, const char *s, size_t n,
    struct px_buf *content, struct px_buf *reasoning);
/* At the end of the answer: whatever was held back, where it belongs. */
enum px_err px_thoughts_flush(struct px_thoughts *t, struct px_buf *content,
    struct px_buf *reasoning);

#endif
