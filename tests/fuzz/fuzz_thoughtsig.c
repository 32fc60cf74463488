/*
 * fuzz_thoughtsig.c -- libFuzzer target for putting Gemini thought
 * signatures back into a request (px_thoughtsig_fill, common/thoughtsig.h)
 * on arbitrary JSON trees.
 * Owns: its checks and the reference they compare with, if any.
 * Never: network, files or clocks; links only the modules it fuzzes.
 * Input: line 1 "bypass lookup" (bypass: 0/1; lookup: 0 no callback, 1
 * remembers nothing, 2 remembers every id, 3 ids starting with "k"); the
 * rest a JSON text, parsed by cJSON (nothing to do when it does not
 * parse).
 * Checks: the count is >= 0 and the tree equals what a reference in the
 * harness makes of it: the current turn is the messages after the last
 * "user" one; in it, the first tool call of each assistant message, when
 * an object without a non-empty string
 * extra_content.google.thought_signature, gets the remembered signature,
 * else the bypass value when bypass is set (extra_content and google made
 * objects, their other members kept; a member replaced stays where it
 * was, so with duplicate names the first is the new one); nothing else
 * changes, a present signature never; the count is the calls changed
 * (trees compared member by member, in order). A second fill changes
 * nothing and returns 0 (idempotent), duplicate names or not.
 */
#include "thoughtsig.h"

#include <cJSON.h>

#include "fuzz_util.h"

static int mode;

/* The cache of this input: a signature derived from the id. */
static int
lookup(void *ctx, const char *id, char *sig, size_t cap)
{
	int n;

	FZ_CHECK(ctx == &mode, "the caller's context");
	FZ_CHECK(id != NULL && cap >= 64, "an id and room");
	if (mode == 1 || (mode == 3 && id[0] != 'k'))
		return 0;
	n = snprintf(sig, cap, "SIG:%.40s", id);
	FZ_CHECK(n > 0, "signature written");
	return 1;
}

static const cJSON *
get(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) :
	    NULL;
}

static int
role_is(const cJSON *m, const char *r)
{
	const cJSON *v = get(m, "role");

	return cJSON_IsString(v) && strcmp(v->valuestring, r) == 0;
}

/* o[key] = item in place of the first member of that name (kept where
 * it was, so with duplicate names the first, which every lookup reads,
 * is the new one: finding 13), else added last. */
static void
put_at(cJSON *o, const char *key, cJSON *item)
{
	cJSON *old = cJSON_GetObjectItemCaseSensitive(o, key);

	if (item == NULL)
		abort();
	if (old == NULL) {
		if (!cJSON_AddItemToObject(o, key, item))
			abort();
		return;
	}
	item->string = malloc(strlen(key) + 1);
	if (item->string == NULL)
		abort();
	memcpy(item->string, key, strlen(key) + 1);
	if (!cJSON_ReplaceItemViaPointer(o, old, item))
		abort();
}

/* o[key] as an object: kept when it is one, else replaced by a new one. */
static cJSON *
object_at(cJSON *o, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (cJSON_IsObject(v))
		return v;
	v = cJSON_CreateObject();
	put_at(o, key, v);
	return v;
}

/* The reference: the calls it fills, in root (a copy). */
static int
reference(cJSON *root, int bypass)
{
	cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
	cJSON *m, *start = NULL, *first, *g;
	const cJSON *id, *s;
	char sig[128];
	const char *use;
	int n = 0;

	if (!cJSON_IsObject(root) || !cJSON_IsArray(msgs))
		return 0;
	for (m = msgs->child; m != NULL; m = m->next)
		if (role_is(m, "user"))
			start = m;
	for (m = start != NULL ? start->next : msgs->child; m != NULL;
	    m = m->next) {
		if (!role_is(m, "assistant") ||
		    !cJSON_IsArray(get(m, "tool_calls")))
			continue;
		first = get(m, "tool_calls")->child;
		if (!cJSON_IsObject(first))
			continue;
		s = get(get(get(first, "extra_content"), "google"),
		    "thought_signature");
		if (cJSON_IsString(s) && s->valuestring[0] != '\0')
			continue;	/* present: kept */
		id = get(first, "id");
		use = NULL;
		if (cJSON_IsString(id) && mode != 0 &&
		    lookup(&mode, id->valuestring, sig, sizeof sig))
			use = sig;
		else if (bypass)
			use = PX_SIG_BYPASS;
		if (use == NULL)
			continue;
		g = object_at(object_at(first, "extra_content"), "google");
		put_at(g, "thought_signature", cJSON_CreateString(use));
		n++;
	}
	return n;
}

/* a and b are the same tree, members in the same order (cJSON_Compare
 * looks members up by name, so it cannot tell duplicates apart). */
static int
same_tree(const cJSON *a, const cJSON *b)
{
	if ((a->type & 0xFF) != (b->type & 0xFF))
		return 0;
	if ((a->string == NULL) != (b->string == NULL) ||
	    (a->string != NULL && strcmp(a->string, b->string) != 0))
		return 0;
	if (cJSON_IsString(a) && strcmp(a->valuestring, b->valuestring) != 0)
		return 0;
	if (cJSON_IsNumber(a) && memcmp(&a->valuedouble, &b->valuedouble,
	    sizeof(double)) != 0)
		return 0;
	for (a = a->child, b = b->child; a != NULL && b != NULL;
	    a = a->next, b = b->next)
		if (!same_tree(a, b))
			return 0;
	return a == NULL && b == NULL;
}

static void
dump(const char *what, const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	fprintf(stderr, "%s: %s\n", what, s != NULL ? s : "(null)");
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	const uint8_t *l;
	size_t ln;
	long long v[2];
	cJSON *root, *want, *again;
	int bypass, n, nwant;

	fz_line(&in, &l, &ln);
	fz_ints(l, ln, v, 2);
	bypass = (v[0] & 1) != 0;
	mode = (int)((unsigned long long)v[1] % 4);
	root = cJSON_ParseWithLength((const char *)in.p, in.n);
	if (root == NULL)
		return 0;
	want = cJSON_Duplicate(root, 1);
	if (want == NULL)
		abort();
	nwant = reference(want, bypass);
	n = px_thoughtsig_fill(root, bypass, mode != 0 ? lookup : NULL, &mode);
	if (n != nwant || !same_tree(root, want)) {
		fprintf(stderr, "n %d want %d\n", n, nwant);
		dump("got ", root);
		dump("want", want);
	}
	FZ_CHECK(n >= 0, "no failure without a memory shortage");
	FZ_CHECK(n == nwant, "the count of calls the reference fills");
	FZ_CHECK(same_tree(root, want),
	    "only the current turn's first calls' signatures change");
	again = cJSON_Duplicate(root, 1);
	if (again == NULL)
		abort();
	n = px_thoughtsig_fill(root, bypass, mode != 0 ? lookup : NULL, &mode);
	FZ_CHECK(n == 0 && same_tree(root, again), "idempotent");
	cJSON_Delete(again);
	cJSON_Delete(want);
	cJSON_Delete(root);
	return 0;
}
