/*
 * gemini_think.h -- a client's reasoning effort as Gemini's thinking
 * controls, per model family (issue 11), for both Gemini paths: the
 * native thinkingConfig and the compatibility endpoint's
 * extra_body.google.thinking_config.
 * Owns: the families (3.x and later take a thinking level, with the
 * levels each model allows; 2.5 Pro, Flash and Flash-Lite take budgets in
 * their own ranges; older and media models take nothing), the nearest
 * allowed level, the budgets, and whether thought summaries are asked for.
 * Never: I/O; the tables are provider-apis-2026.md §2.1, §2.2, §2.5.
 */
#ifndef PX_GEMINI_THINK_H
#define PX_GEMINI_THINK_H

struct px_gthink {
	const char *level;	/* thinking level, or NULL: use budget */
	int         budget;	/* thinking budget (tokens) */
	int         include;	/* ask for thought summaries: the client
				 * asked for reasoning (an effort other than
				 * none) */
};

/*
 * The controls for effort (none, minimal, low, medium, high, xhigh, max)
 * on model: 1 and out filled, or 0 when there is nothing to send (no or
 * an unknown effort, or a model without thinking controls).
 */
int px_gemini_think(const char *model, const char *effort,
    struct px_gthink *out);

#endif
