/*
 * fuzz_provider.h -- what the provider-adapter targets share: choosing a
 * provider from px_provider_get(), and the checks on what the mappers
 * write (OpenAI error JSON, repaired chunks and bodies).
 * Inputs of these targets start with a header line of integers; the first
 * picks the provider (modulo the number registered).
 */
#ifndef FZ_PROVIDER_H
#define FZ_PROVIDER_H

#include <cJSON.h>

#include "provider.h"
#include "fuzz_util.h"

#define FZ_OUT_MAX	(64u << 20)	/* app.c's OUT_BUF_MAX */
#define FZ_MSG_CAP	4096		/* loose cap on relayed error text */

/*
 * Every adapter: px_provider_get() of each key family, then px_adapter()
 * of each (family, api) pair, each table once. pick chooses one (modulo
 * their number), so inputs name an adapter by a small integer: 0
 * openrouter, 1 gemini (OpenAI-compatible), 2 gemini native (today).
 */
static inline const struct px_provider *
fz_provider(long long pick)
{
	static const struct px_provider *tab[16];
	static size_t n;
	static int built;
	const struct px_provider *p;
	struct px_provider_cfg cfg;
	size_t i, k;
	int id, api;

	/* (built, not n == 0: that stopped after the first family, so only
	 * openrouter was ever fuzzed) */
	for (id = 0; !built && id < PX_PROV__MAX; id++) {
		for (api = -1; api < PX_API__MAX; api++) {
			if (api < 0) {
				p = px_provider_get((enum px_provider_id)id);
			} else {
				memset(&cfg, 0, sizeof cfg);
				cfg.provider = (enum px_provider_id)id;
				cfg.api = (enum px_api)api;
				p = px_adapter(&cfg);
			}
			for (k = 0; k < n && tab[k] != p; k++)
				;
			if (p != NULL && k == n && n < 16)
				tab[n++] = p;
		}
	}
	built = 1;
	FZ_CHECK(n >= 1, "at least one adapter");
	for (i = 0; i < n; i++) {
		p = tab[i];
		FZ_CHECK(p->map_event != NULL && p->map_body != NULL &&
		    p->map_error != NULL && p->parse_models != NULL &&
		    p->name != NULL, "adapter table complete");
	}
	FZ_CHECK(px_provider_get((enum px_provider_id)-1) == NULL,
	    "out of range id gives NULL");
	return tab[(unsigned long long)pick % n];
}

/* Tool-call ids the client has been shown (to check signature records). */
#define FZ_MAX_IDS 256

struct fz_ids {
	char  *v[FZ_MAX_IDS];
	size_t n;
};

static inline const cJSON *fz_get(const cJSON *o, const char *k);

/* Add every choices[].<where>.tool_calls[].id of root. */
static inline void
fz_ids_add(struct fz_ids *ids, const cJSON *root, const char *where)
{
	const cJSON *ch, *tc, *id;
	size_t k;

	ch = fz_get(root, "choices");
	if (!cJSON_IsArray(ch))
		return;
	for (ch = ch->child; ch != NULL; ch = ch->next) {
		tc = fz_get(fz_get(ch, where), "tool_calls");
		if (!cJSON_IsArray(tc))
			continue;
		for (tc = tc->child; tc != NULL; tc = tc->next) {
			id = fz_get(tc, "id");
			if (!cJSON_IsString(id) || ids->n >= FZ_MAX_IDS)
				continue;
			for (k = 0; k < ids->n &&
			    strcmp(ids->v[k], id->valuestring) != 0; k++)
				;
			if (k == ids->n)
				ids->v[ids->n++] = fz_dup(id->valuestring,
				    strlen(id->valuestring), 1);
		}
	}
}

static inline void
fz_ids_free(struct fz_ids *ids)
{
	while (ids->n > 0)
		free(ids->v[--ids->n]);
}

/*
 * st->sigs holds "<call id>\t<signature>\n" records (sigcache.h): each
 * line one tab, both sides non-empty, and the id one the client was shown
 * (a later request echoes that id; the cache is looked up by it).
 */
static inline void
fz_check_sigs(const struct px_buf *sigs, const struct fz_ids *ids)
{
	const char *p, *e, *nl, *tab;
	size_t k, idn;

	if (sigs == NULL || sigs->len == 0)
		return;
	p = sigs->p;
	e = p + sigs->len;
	FZ_CHECK(e[-1] == '\n', "signature records end with a newline");
	for (; p < e; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(e - p));
		tab = memchr(p, '\t', (size_t)(nl - p));
		FZ_CHECK(tab != NULL && tab > p && nl - tab > 1 &&
		    memchr(tab + 1, '\t', (size_t)(nl - tab - 1)) == NULL,
		    "a signature record is <id> TAB <signature>");
		idn = (size_t)(tab - p);
		for (k = 0; k < ids->n; k++) {
			if (strlen(ids->v[k]) == idn &&
			    memcmp(ids->v[k], p, idn) == 0)
				break;
		}
		if (k == ids->n && ids->n < FZ_MAX_IDS) {
			fprintf(stderr, "record id %.*s; ids shown:", (int)idn,
			    p);
			for (k = 0; k < ids->n; k++)
				fprintf(stderr, " %s", ids->v[k]);
			fputc('\n', stderr);
			FZ_CHECK(0, "a signature is recorded under an id "
			    "the client never saw");
		}
	}
}

#define FZ_MAX_SECRETS 8

/* The configured keys of one input: a line of space-separated secrets. */
struct fz_secrets {
	struct px_secrets sec;
	const char *v[FZ_MAX_SECRETS];
	char *line;
};

static inline void
fz_secrets_read(struct fz_secrets *s, const uint8_t *l, size_t n)
{
	char *p, *save = NULL;

	memset(s, 0, sizeof *s);
	s->line = fz_dup(l, n, 1);
	for (p = strtok_r(s->line, " ", &save); p != NULL &&
	    s->sec.n < FZ_MAX_SECRETS; p = strtok_r(NULL, " ", &save))
		s->v[s->sec.n++] = p;
	s->sec.v = s->v;
}

/* Keys from config.json are UTF-8 (the file must be), so redaction never
 * splits a character; a lone byte as a "key" could (0 then). */
static inline int
fz_secrets_utf8(const struct fz_secrets *s)
{
	size_t i;

	for (i = 0; i < s->sec.n; i++) {
		if (!fz_utf8_ok(s->v[i], strlen(s->v[i])))
			return 0;
	}
	return 1;
}

static inline void
fz_secrets_free(struct fz_secrets *s)
{
	free(s->line);
}

/* No key-shaped secret appears in any decoded string or name of j (what
 * the client reads; the raw text could spell one across an escape such as
 * "\u0012" followed by "3456..."). */
static inline void
fz_redacted_in(const struct fz_secrets *s, const cJSON *j, const char *text)
{
	size_t i;

	for (; j != NULL; j = j->next) {
		for (i = 0; i < s->sec.n; i++) {
			if (!fz_secret_like(s->v[i]))
				continue;
			if ((j->string != NULL &&
			    strstr(j->string, s->v[i]) != NULL) ||
			    (cJSON_IsString(j) && j->valuestring != NULL &&
			    strstr(j->valuestring, s->v[i]) != NULL)) {
				fprintf(stderr, "secret %s in: %s\n", s->v[i],
				    text);
				FZ_CHECK(0, "a configured key reaches the "
				    "client");
			}
		}
		fz_redacted_in(s, j->child, text);
	}
}

/* text holds JSON; check what its strings say. */
static inline void
fz_check_redacted(const struct fz_secrets *s, const char *text)
{
	cJSON *j;

	if (s->sec.n == 0)
		return;
	j = cJSON_Parse(text);
	FZ_CHECK(j != NULL, "error JSON parses");
	fz_redacted_in(s, j, text);
	cJSON_Delete(j);
}

static inline const cJSON *
fz_get(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) :
	    NULL;
}

/*
 * out holds {"error":{"message":string,"type":string,
 * "param":string|null,"code":string|null}} as strict JSON (and valid UTF-8
 * when the upstream text was).
 */
static inline void
fz_check_error_json(const struct px_buf *out, int utf8)
{
	cJSON *j;
	const cJSON *e, *m, *t, *pa, *c;

	FZ_CHECK(out->p != NULL && out->len > 0 && out->p[out->len] == '\0',
	    "error JSON written");
	j = cJSON_ParseWithLength(out->p, out->len);
	FZ_CHECK(fz_json_ok(out->p, out->len, utf8),
	    "error JSON is strict JSON");
	e = fz_get(j, "error");
	m = fz_get(e, "message");
	t = fz_get(e, "type");
	pa = fz_get(e, "param");
	c = fz_get(e, "code");
	FZ_CHECK(cJSON_IsObject(e), "top-level error object");
	FZ_CHECK(cJSON_IsString(m), "error.message a string");
	FZ_CHECK(m->valuestring[0] != '\0' || !utf8,
	    "error.message non-empty (when the upstream text was UTF-8)");
	FZ_CHECK(strlen(m->valuestring) <= FZ_MSG_CAP, "error text capped");
	/* (upstream text that is not UTF-8 may be cut away entirely) */
	FZ_CHECK(cJSON_IsString(t) && (t->valuestring[0] != '\0' || !utf8),
	    "error.type a non-empty string");
	FZ_CHECK(cJSON_IsString(pa) || cJSON_IsNull(pa),
	    "error.param string or null");
	FZ_CHECK(cJSON_IsString(c) || cJSON_IsNull(c),
	    "error.code string or null");
	cJSON_Delete(j);
}

/*
 * openai-node's accumulator. Stream chunks (stream set, entries under
 * "delta"): every tool call entry has an integer index below ntools, and
 * once a call was seen (before this chunk: had_tools, or in this or an
 * earlier choice of it) no choice ends with "stop". Bodies (entries under
 * "message"): a choice with tool calls does not end with "stop".
 */
static inline int
fz_check_choices(const cJSON *root, int stream, unsigned ntools,
    int had_tools)
{
	const cJSON *ch, *tc, *idx, *fr, *tcs;
	const cJSON *choices = fz_get(root, "choices");
	int calls, seen = had_tools;

	if (!cJSON_IsArray(choices))
		return seen;
	cJSON_ArrayForEach(ch, choices) {
		tcs = fz_get(fz_get(ch, stream ? "delta" : "message"),
		    "tool_calls");
		calls = cJSON_IsArray(tcs) && cJSON_GetArraySize(tcs) > 0;
		if (stream && cJSON_IsArray(tcs)) {
			cJSON_ArrayForEach(tc, tcs) {
				if (!cJSON_IsObject(tc))
					continue;
				idx = fz_get(tc, "index");
				FZ_CHECK(cJSON_IsNumber(idx) &&
				    idx->valuedouble >= 0 &&
				    idx->valuedouble < (double)ntools &&
				    idx->valuedouble ==
				    (double)(int)idx->valuedouble,
				    "tool call index is one of ours");
				seen = 1;
			}
		}
		fr = fz_get(ch, "finish_reason");
		if ((stream ? seen : calls) && cJSON_IsString(fr))
			FZ_CHECK(strcmp(fr->valuestring, "stop") != 0,
			    "no finish_reason \"stop\" after tool calls");
	}
	return seen;
}

/*
 * A native adapter writes every canonical chunk or body itself: an object
 * of the right kind ("chat.completion.chunk" / "chat.completion") with a
 * non-empty id, the model and a choices array.
 */
static inline void
fz_check_native(const struct px_provider *p, const cJSON *j, int stream)
{
	const cJSON *o = fz_get(j, "object"), *id = fz_get(j, "id");

	if (p->api != PX_API_NATIVE)
		return;
	FZ_CHECK(cJSON_IsString(o) && strcmp(o->valuestring, stream ?
	    "chat.completion.chunk" : "chat.completion") == 0,
	    "native: a chat.completion(.chunk) object");
	FZ_CHECK(cJSON_IsString(id) && id->valuestring[0] != '\0',
	    "native: an id");
	FZ_CHECK(cJSON_IsString(fz_get(j, "model")), "native: the model");
	FZ_CHECK(cJSON_IsArray(fz_get(j, "choices")), "native: choices");
}

static inline void
fz_check_state(const struct px_stream_fix *st)
{
	FZ_CHECK(st->ntools <= PX_MAX_TOOL_CALLS, "ntools within the cap");
	FZ_CHECK(st->last_tool >= -1 && st->last_tool < (int)st->ntools,
	    "last_tool is a recorded call");
	FZ_CHECK(st->prompt_tokens >= 0 && st->completion_tokens >= 0 &&
	    st->total_tokens >= 0, "token counts not negative");
	FZ_CHECK((st->saw_finish == 0 || st->saw_finish == 1) &&
	    (st->have_usage == 0 || st->have_usage == 1), "flags 0/1");
}

#endif
