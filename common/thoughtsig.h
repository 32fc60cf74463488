/*
 * thoughtsig.h -- where Gemini thought signatures go back into a request
 * (issue 11): a pure edit of the canonical chat request tree.
 * Owns: finding the current turn (everything after the last user
 * message: Gemini validates only there), the first tool call of each
 * assistant step in it (the call that carries the step's signature), and
 * filling a missing signature from the cache or, for models that enforce
 * them, with the documented bypass value. A signature the client sent is
 * never replaced.
 * Never: I/O (the lookup is the caller's callback), or any change outside
 * extra_content.google.thought_signature of those calls.
 */
#ifndef PX_THOUGHTSIG_H
#define PX_THOUGHTSIG_H

#include <stddef.h>

struct cJSON;

/* The value Gemini's docs give to skip signature validation (provider-
 * apis-2026.md §1.5: the one both the Gemini API and Vertex accept). */
#define PX_SIG_BYPASS "skip_thought_signature_validator"

/* Fill sig[cap] with the remembered signature of call id: 1 found. */
typedef int (*px_sig_lookup_fn)(void *ctx, const char *id, char *sig,
    size_t cap);

/* Does model validate signatures? Gemini 3 and later ("gemini-3...",
 * "gemini-4...", and so on; 2.5 and older only accept them). */
int px_thoughtsig_enforced(const char *model);

/*
 * Fill the missing signatures of root's current turn: from lookup, else
 * PX_SIG_BYPASS when bypass is set. Returns how many calls changed (0:
 * the tree is untouched), or -1 when memory ran out.
 */
int px_thoughtsig_fill(struct cJSON *root, int bypass, px_sig_lookup_fn fn,
    void *ctx);

#endif
