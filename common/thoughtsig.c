/*
 * thoughtsig.c -- signatures back into a request (see thoughtsig.h).
 * Facts (provider-apis-2026.md §1.1, §1.5): Gemini checks only the
 * current turn, everything after the latest user input; in it the first
 * functionCall of every model step must carry the signature that step was
 * given; on the OpenAI-compatible endpoint it rides in the tool call's
 * extra_content.google.thought_signature (the native translator moves it
 * to thoughtSignature); the dummy value passes validation.
 * Load: one walk over the messages of a request to a Gemini upstream.
 */
#include "thoughtsig.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#define SIG_CAP (64u << 10)

int
px_thoughtsig_enforced(const char *model)
{
	const char *v;

	if (model == NULL)
		return 0;
	if (strncmp(model, "models/", 7) == 0)
		model += 7;
	if (strncmp(model, "gemini-", 7) != 0)
		return 0;
	v = model + 7;
	return v[0] >= '3' && v[0] <= '9';
}

static const char *
role(const cJSON *m)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");

	return cJSON_IsString(r) ? r->valuestring : "";
}

/* The call's signature node, or NULL. */
static const cJSON *
sig_of(const cJSON *call)
{
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(call, "extra_content"), "google");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(g,
	    "thought_signature");

	return cJSON_IsString(s) && s->valuestring[0] != '\0' ? s : NULL;
}

/*
 * o[key] = item: the first member of that name replaced in place, else
 * item added; item, or NULL (item freed) on failure or with o NULL. In
 * place rather than deleted and appended: with duplicate names (which
 * validate.c allows below the top level) the first is the one every
 * lookup here reads, so a second fill sees what the first wrote and
 * changes nothing (restore runs once per attempt), and a later duplicate
 * of the client's stays after it.
 */
static cJSON *
put_member(cJSON *o, const char *key, cJSON *item)
{
	cJSON_bool ok = 0;

	if (o != NULL && item != NULL)
		ok = cJSON_GetObjectItemCaseSensitive(o, key) != NULL ?
		    cJSON_ReplaceItemInObjectCaseSensitive(o, key, item) :
		    cJSON_AddItemToObject(o, key, item);
	if (!ok) {
		cJSON_Delete(item);
		return NULL;
	}
	return item;
}

/* o[key] when it is an object, else a new empty one in its place. */
static cJSON *
object_member(cJSON *o, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsObject(v) ? v : put_member(o, key, cJSON_CreateObject());
}

/* call.extra_content.google.thought_signature = sig (the objects made
 * or reused; other members of them kept). */
static int
set_sig(cJSON *call, const char *sig)
{
	cJSON *g = object_member(object_member(call, "extra_content"),
	    "google");

	return put_member(g, "thought_signature", cJSON_CreateString(sig)) !=
	    NULL ? 0 : -1;
}

/* One assistant step: its first call gets a signature if it has none. */
static int
fill_step(cJSON *m, int bypass, px_sig_lookup_fn fn, void *ctx, char *sig)
{
	cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
	cJSON *first = cJSON_IsArray(calls) ? cJSON_GetArrayItem(calls, 0) : NULL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(first, "id");
	const char *use = NULL;

	if (!cJSON_IsObject(first) || sig_of(first) != NULL)
		return 0;
	if (cJSON_IsString(id) && fn != NULL &&
	    fn(ctx, id->valuestring, sig, SIG_CAP))
		use = sig;
	else if (bypass)
		use = PX_SIG_BYPASS;
	if (use == NULL)
		return 0;
	return set_sig(first, use) == 0 ? 1 : -1;
}

int
px_thoughtsig_fill(cJSON *root, int bypass, px_sig_lookup_fn fn, void *ctx)
{
	cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
	cJSON *m, *start = NULL;
	char *sig;
	int n = 0, r;

	if (!cJSON_IsArray(msgs))
		return 0;
	cJSON_ArrayForEach(m, msgs) {
		if (strcmp(role(m), "user") == 0)
			start = m;
	}
	sig = malloc(SIG_CAP);
	if (sig == NULL)
		return -1;
	for (m = start != NULL ? start->next : msgs->child; m != NULL;
	    m = m->next) {
		if (strcmp(role(m), "assistant") != 0)
			continue;
		r = fill_step(m, bypass, fn, ctx, sig);
		if (r < 0) {
			n = -1;
			break;
		}
		n += r;
	}
	free(sig);
	return n;
}
