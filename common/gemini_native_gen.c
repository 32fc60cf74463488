/*
 * gemini_native_gen.c -- the parts of a native generateContent body that
 * are not conversation: tools, toolConfig and generationConfig (with its
 * thinkingConfig), from a validated Chat Completions request
 * (provider-apis.md §3b, §4; provider-apis-2026.md §2.2, §2.5, §5.1).
 * Owns: the field renames, the tool_choice modes, and the per-family
 * choice of a thinking level or budget for the client's effort, so the
 * upstream never answers 400 for a value the client could not know was
 * unsupported.
 * Never: I/O, or fields without a native counterpart (logit_bias,
 * logprobs, user, metadata, ... are dropped). Schemas are referenced from
 * the client's tree, not copied.
 * Load: once per attempt on a native key; a handful of lookups.
 * Sources: "§" cites provider-apis.md, "2026 doc §" its addendum
 * provider-apis-2026.md; each comment states the fact it relies on.
 */
#include "gemini_native.h"
#include "gemini_think.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

/* --- tools --- */

/*
 * One function tool -> {name, description?, parametersJsonSchema?}. The
 * full JSON Schema goes as parametersJsonSchema: the OpenAPI-subset
 * "parameters" would need a sanitiser and rejects $ref, oneOf,
 * additionalProperties... (2026 doc §5.1).
 */
static void
declaration(struct px_gn_tree *b, cJSON *decls, const cJSON *fn)
{
	const char *name = px_gn_str(fn, "name"), *desc;
	const cJSON *params = px_gn_get(fn, "parameters");
	cJSON *d;

	if (name == NULL)
		return;
	d = px_gn_add(b, decls, NULL, cJSON_CreateObject());
	if (d == NULL)
		return;
	(void)px_gn_add(b, d, "name", cJSON_CreateStringReference(name));
	desc = px_gn_str(fn, "description");
	if (desc != NULL && *desc != '\0')
		(void)px_gn_add(b, d, "description",
		    cJSON_CreateStringReference(desc));
	if (cJSON_IsObject(params) && params->child != NULL)
		(void)px_gn_add(b, d, "parametersJsonSchema",
		    cJSON_CreateObjectReference(params->child));
}

/* Add the function name of a tool entry ({function:{name}} or {name}). */
static void
allowed_name(struct px_gn_tree *b, cJSON *names, const cJSON *tool)
{
	const char *n = px_gn_str(px_gn_get(tool, "function"), "name");

	if (n == NULL)
		n = px_gn_str(tool, "name");
	if (n != NULL)
		(void)px_gn_add(b, names, NULL, cJSON_CreateStringReference(n));
}

/*
 * tool_choice -> functionCallingConfig (provider-apis.md §4): "auto" AUTO,
 * "none" NONE, "required" ANY, {function:{name}} ANY limited to that name.
 * allowed_tools {mode, tools}: "required" ANY, "auto" VALIDATED (may call
 * or answer; allowedFunctionNames is only honoured with ANY or VALIDATED,
 * 2026 doc §5.1). Returns the mode, *list the tools whose names limit it.
 */
static const char *
choice_mode(const cJSON *tc, const cJSON **list, const cJSON **one)
{
	const char *s = cJSON_IsString(tc) ? tc->valuestring : NULL;
	const char *type = px_gn_str(tc, "type");
	const cJSON *at = px_gn_get(tc, "allowed_tools");
	const char *mode = px_gn_str(at, "mode");

	*list = NULL;
	*one = NULL;
	if (s != NULL)
		return strcmp(s, "none") == 0 ? "NONE" :
		    strcmp(s, "required") == 0 ? "ANY" : "AUTO";
	if (type != NULL && strcmp(type, "function") == 0) {
		*one = tc;
		return "ANY";
	}
	if (type != NULL && strcmp(type, "allowed_tools") == 0) {
		*list = px_gn_get(at, "tools");
		return mode != NULL && strcmp(mode, "required") == 0 ?
		    "ANY" : "VALIDATED";
	}
	return NULL;
}

static void
tool_config(struct px_gn_tree *b, cJSON *req, const cJSON *tc)
{
	const cJSON *list, *one, *it;
	const char *mode = choice_mode(tc, &list, &one);
	cJSON *cfg, *fcc, *names;

	if (mode == NULL)
		return;
	cfg = px_gn_add(b, req, "toolConfig", cJSON_CreateObject());
	fcc = cfg != NULL ? px_gn_add(b, cfg, "functionCallingConfig",
	    cJSON_CreateObject()) : NULL;
	if (fcc == NULL)
		return;
	(void)px_gn_add(b, fcc, "mode", cJSON_CreateStringReference(mode));
	if (one == NULL && !cJSON_IsArray(list))
		return;
	names = px_gn_add(b, fcc, "allowedFunctionNames", cJSON_CreateArray());
	if (names == NULL)
		return;
	if (one != NULL)
		allowed_name(b, names, one);
	cJSON_ArrayForEach(it, list) {
		allowed_name(b, names, it);
	}
}

void
px_gn_add_tools(struct px_gn_tree *b, cJSON *req, const cJSON *root)
{
	const cJSON *tools = px_gn_get(root, "tools"), *t;
	cJSON *arr, *wrap, *decls;

	if (!cJSON_IsArray(tools) || tools->child == NULL)
		return;	/* a toolConfig without tools says nothing */
	arr = px_gn_add(b, req, "tools", cJSON_CreateArray());
	wrap = arr != NULL ? px_gn_add(b, arr, NULL, cJSON_CreateObject()) :
	    NULL;
	decls = wrap != NULL ? px_gn_add(b, wrap, "functionDeclarations",
	    cJSON_CreateArray()) : NULL;
	if (decls == NULL)
		return;
	cJSON_ArrayForEach(t, tools) {
		declaration(b, decls, px_gn_get(t, "function"));
	}
	tool_config(b, req, px_gn_get(root, "tool_choice"));
}

/* --- thinking --- */

/*
 * thinkingConfig for the client's effort (gemini_think.c decides the
 * level or budget per model family); nothing when it gave none (the
 * model's default) or the model has no thinking controls. Thought
 * summaries (includeThoughts) only when the client asked for reasoning.
 */
static void
thinking(struct px_gn_tree *b, cJSON *gc, const char *model,
    const char *effort)
{
	struct px_gthink t;
	cJSON *tc;

	if (!px_gemini_think(model, effort, &t))
		return;
	tc = px_gn_add(b, gc, "thinkingConfig", cJSON_CreateObject());
	if (tc == NULL)
		return;
	if (t.level != NULL)
		(void)px_gn_add(b, tc, "thinkingLevel",
		    cJSON_CreateStringReference(t.level));
	else
		(void)px_gn_add(b, tc, "thinkingBudget",
		    cJSON_CreateNumber(t.budget));
	if (t.include)
		(void)px_gn_add(b, tc, "includeThoughts", cJSON_CreateTrue());
}

/* --- generationConfig --- */

/* Numbers that only change their name (provider-apis.md §3b, §4). */
static const struct { const char *from, *to; } renames[] = {
	{ "temperature", "temperature" }, { "top_p", "topP" },
	{ "top_k", "topK" }, { "n", "candidateCount" }, { "seed", "seed" },
	{ "presence_penalty", "presencePenalty" },
	{ "frequency_penalty", "frequencyPenalty" },
};

static void
numbers(struct px_gn_tree *b, cJSON *gc, const cJSON *root)
{
	const cJSON *v;
	size_t i;

	for (i = 0; i < sizeof(renames) / sizeof(renames[0]); i++) {
		v = px_gn_get(root, renames[i].from);
		if (cJSON_IsNumber(v))
			(void)px_gn_add(b, gc, renames[i].to,
			    cJSON_CreateNumber(v->valuedouble));
	}
	/* max_completion_tokens wins over the deprecated max_tokens */
	v = px_gn_get(root, "max_completion_tokens");
	if (!cJSON_IsNumber(v))
		v = px_gn_get(root, "max_tokens");
	if (cJSON_IsNumber(v))
		(void)px_gn_add(b, gc, "maxOutputTokens",
		    cJSON_CreateNumber(v->valuedouble));
}

/* stop: a string or an array of strings -> stopSequences. */
static void
stops(struct px_gn_tree *b, cJSON *gc, const cJSON *root)
{
	const cJSON *stop = px_gn_get(root, "stop"), *it;
	cJSON *arr;

	if (!cJSON_IsString(stop) && !(cJSON_IsArray(stop) &&
	    stop->child != NULL))
		return;
	arr = px_gn_add(b, gc, "stopSequences", cJSON_CreateArray());
	if (arr == NULL)
		return;
	if (cJSON_IsString(stop)) {
		(void)px_gn_add(b, arr, NULL,
		    cJSON_CreateStringReference(stop->valuestring));
		return;
	}
	cJSON_ArrayForEach(it, stop) {
		if (cJSON_IsString(it))
			(void)px_gn_add(b, arr, NULL,
			    cJSON_CreateStringReference(it->valuestring));
	}
}

/* response_format: json_object -> JSON mime; json_schema -> JSON mime and
 * responseJsonSchema (full JSON Schema, 2026 doc §5.1); text -> nothing. */
static void
response_format(struct px_gn_tree *b, cJSON *gc, const cJSON *root)
{
	const cJSON *rf = px_gn_get(root, "response_format");
	const char *type = px_gn_str(rf, "type");
	const cJSON *schema = px_gn_get(px_gn_get(rf, "json_schema"),
	    "schema");

	if (type == NULL || (strcmp(type, "json_object") != 0 &&
	    strcmp(type, "json_schema") != 0))
		return;
	(void)px_gn_add(b, gc, "responseMimeType",
	    cJSON_CreateStringReference("application/json"));
	if (strcmp(type, "json_schema") == 0 && cJSON_IsObject(schema))
		(void)px_gn_add(b, gc, "responseJsonSchema",
		    cJSON_CreateObjectReference(schema->child));
}

void
px_gn_add_config(struct px_gn_tree *b, cJSON *req, const cJSON *root,
    const char *model, const char *effort)
{
	cJSON *gc = cJSON_CreateObject();

	if (gc == NULL) {
		b->oom = 1;
		return;
	}
	numbers(b, gc, root);
	stops(b, gc, root);
	response_format(b, gc, root);
	thinking(b, gc, model, effort);
	if (gc->child == NULL) {
		cJSON_Delete(gc);
		return;
	}
	(void)px_gn_add(b, req, "generationConfig", gc);
}
