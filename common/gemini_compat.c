/*
 * gemini_compat.c -- what Gemini's OpenAI-compatible endpoint needs beyond
 * the shared splice (issue 11): a client's reasoning effort sent as the
 * endpoint's own thinking_config, per model family.
 * Facts (provider-apis-2026.md §2.1): the valid reasoning_effort values
 * differ per model and date (a value the model does not take is a 400),
 * reasoning_effort and thinking_level/budget cannot be sent together, and
 * thought summaries (include_thoughts) exist only in
 * extra_body.google.thinking_config. So an effort is translated here
 * (gemini_think.c clamps it to what the model takes) and reasoning_effort
 * dropped; summaries are asked for only when the client asked for
 * reasoning, and come back inline in content (relay: thoughts.c).
 * Never: touches a request without an effort: that one goes through the
 * byte-exact splice of oaicompat.c.
 */
#include "oaicompat.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "gemini_think.h"
#include "jsonraw.h"

/* extra_body.google.thinking_config for t (objects made or reused). */
static int
add_thinking(cJSON *root, const struct px_gthink *t)
{
	cJSON *eb = cJSON_GetObjectItemCaseSensitive(root, "extra_body");
	cJSON *g, *tc;

	if (!cJSON_IsObject(eb)) {
		cJSON_DeleteItemFromObjectCaseSensitive(root, "extra_body");
		eb = cJSON_AddObjectToObject(root, "extra_body");
	}
	g = cJSON_GetObjectItemCaseSensitive(eb, "google");
	if (eb != NULL && !cJSON_IsObject(g)) {
		cJSON_DeleteItemFromObjectCaseSensitive(eb, "google");
		g = cJSON_AddObjectToObject(eb, "google");
	}
	if (g == NULL)
		return -1;
	cJSON_DeleteItemFromObjectCaseSensitive(g, "thinking_config");
	tc = cJSON_AddObjectToObject(g, "thinking_config");
	if (tc == NULL || (t->level != NULL ?
	    cJSON_AddStringToObject(tc, "thinking_level", t->level) :
	    cJSON_AddNumberToObject(tc, "thinking_budget", t->budget)) == NULL)
		return -1;
	if (t->include && cJSON_AddTrueToObject(tc, "include_thoughts") == NULL)
		return -1;
	return 0;
}

/* model, and for streams stream_options.include_usage (the ledger's). */
static int
set_model_usage(cJSON *root, const struct px_upstream_in *in)
{
	cJSON *so;

	cJSON_DeleteItemFromObjectCaseSensitive(root, "model");
	if (cJSON_AddStringToObject(root, "model", in->model) == NULL)
		return -1;
	if (!in->stream || in->include_usage)
		return 0;
	so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
	if (!cJSON_IsObject(so)) {
		cJSON_DeleteItemFromObjectCaseSensitive(root, "stream_options");
		so = cJSON_AddObjectToObject(root, "stream_options");
	}
	if (so == NULL)
		return -1;
	cJSON_DeleteItemFromObjectCaseSensitive(so, "include_usage");
	return cJSON_AddTrueToObject(so, "include_usage") != NULL ? 0 : -1;
}

enum px_err
px_gemc_request(const struct px_upstream_in *in, struct px_buf *out,
    struct px_buf *tmp, const char **body, size_t *len, char *err,
    size_t cap)
{
	struct px_gthink t;
	cJSON *root;
	enum px_err rc = PX_ENOMEM;

	if (in->op != PX_OP_CHAT && in->op != PX_OP_STREAM)
		return px_oai_request(in, out, tmp, body, len, err, cap);
	if (in->reasoning == NULL || in->reasoning[0] == '\0' ||
	    !px_gemini_think(in->model, in->reasoning, &t))
		return px_oai_request(in, out, tmp, body, len, err, cap);
	root = cJSON_Duplicate(in->root, 1);
	if (root == NULL)
		return PX_ENOMEM;
	cJSON_DeleteItemFromObjectCaseSensitive(root, "reasoning_effort");
	if (add_thinking(root, &t) == 0 && set_model_usage(root, in) == 0) {
		px_buf_reset(out);
		rc = px_json_print(root, out);
	}
	cJSON_Delete(root);
	*body = out->p;
	*len = rc == PX_OK ? out->len : 0;
	return rc;
}

int
px_gemc_thoughts_asked(const char *model, const char *effort)
{
	struct px_gthink t;

	return effort != NULL && effort[0] != '\0' &&
	    px_gemini_think(model, effort, &t) && t.include;
}
