/*
 * fuzz_config.c -- libFuzzer target for config parsing from memory
 * (px_config_parse, common/config.h).
 * Input: the config.json text.
 * Checks: PX_OK gives a config that meets every documented bound (access
 * key non-empty; at least one provider entry, each with a known provider,
 * at least one key, limits >= 1, an http(s) base_url not ending in '/';
 * key secrets non-empty without spaces or control bytes; key ids 8
 * lowercase hex digits (+ "-N"), equal to px_key_id, unique per provider;
 * numbers within their ranges) and no messages; failure gives no config
 * and 1..PX_CFG_MAXERRS one-line NUL-terminated messages. No message shows
 * a secret: any string under "access_key" or provider_keys[].key shaped
 * like a real key (fz_secret_like: 11+ bytes of [A-Za-z0-9_-], so longer
 * than the 10 bytes a syntax error may quote) that is not also written
 * elsewhere in the file must not appear in any message.
 * On success cfg->secrets lists every provider key, and the warnings are
 * one-line messages that show no secret either.
 * Now and then the same text is parsed with errs NULL: same result.
 */
#include "config.h"

#include <cJSON.h>

#include "fuzz_util.h"

#define MAX_SECRETS 64

struct secrets {
	const char *s[MAX_SECRETS];
	size_t n;
};

static void
add_secret(struct secrets *sc, const cJSON *v)
{
	if (cJSON_IsString(v) && fz_secret_like(v->valuestring) &&
	    sc->n < MAX_SECRETS)
		sc->s[sc->n++] = v->valuestring;
}

/* Strings at secret places: every "access_key" member at the top, every
 * element of every "key" member of every provider_keys element. */
static void
collect_secrets(const cJSON *root, struct secrets *sc)
{
	const cJSON *m, *e, *k, *s;

	cJSON_ArrayForEach(m, root) {
		if (m->string == NULL)
			continue;
		if (strcmp(m->string, "access_key") == 0)
			add_secret(sc, m);
		if (strcmp(m->string, "provider_keys") != 0 ||
		    !cJSON_IsArray(m))
			continue;
		cJSON_ArrayForEach(e, m) {
			if (!cJSON_IsObject(e))
				continue;
			cJSON_ArrayForEach(k, e) {
				if (k->string == NULL ||
				    strcmp(k->string, "key") != 0)
					continue;
				if (cJSON_IsArray(k)) {
					cJSON_ArrayForEach(s, k)
						add_secret(sc, s);
				} else {
					add_secret(sc, k);
				}
			}
		}
	}
}

/* Does s occur in some string or member name of the tree other than at
 * node skip (a secret spelt elsewhere may be quoted legitimately)? */
static int
elsewhere(const cJSON *j, const char *s, const cJSON *skip)
{
	const cJSON *c;

	for (; j != NULL; j = j->next) {
		if (j->string != NULL && strstr(j->string, s) != NULL)
			return 1;
		if (j != skip && cJSON_IsString(j) &&
		    strstr(j->valuestring, s) != NULL)
			return 1;
		c = j->child;
		if (c != NULL && elsewhere(c, s, skip))
			return 1;
	}
	return 0;
}

/* The node holding string s (by pointer). */
static const cJSON *
node_of(const cJSON *j, const char *s)
{
	const cJSON *r;

	for (; j != NULL; j = j->next) {
		if (cJSON_IsString(j) && j->valuestring == s)
			return j;
		if (j->child != NULL && (r = node_of(j->child, s)) != NULL)
			return r;
	}
	return NULL;
}

/* s with every "\\uXXXX" a message quotes replaced by "??????", so an
 * escape's hex digits cannot spell part of a key. */
static const char *
unescaped(const char *s, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	while (s[i] != '\0' && o + 1 < cap) {
		if (s[i] == '\\' && s[i + 1] == 'u' && strspn(s + i + 2,
		    "0123456789abcdefABCDEF") >= 4) {
			memset(out + o, '?', cap - o - 1 < 6 ? cap - o - 1 : 6);
			o += cap - o - 1 < 6 ? cap - o - 1 : 6;
			i += 6;
			continue;
		}
		out[o++] = s[i++];
	}
	out[o] = '\0';
	return out;
}

/* msgs: n rows of stride bytes (errors or warnings). */
static void
check_no_secret(const char *text, size_t len, const char *msgs,
    size_t stride, unsigned n)
{
	struct secrets sc = { { 0 }, 0 };
	char plain[512];
	cJSON *root;
	const char *end = NULL;
	size_t i;
	unsigned k;

	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (root == NULL)
		return;
	collect_secrets(root, &sc);
	for (i = 0; i < sc.n; i++) {
		/* the same secret under two names counts once per place */
		if (elsewhere(root, sc.s[i], node_of(root, sc.s[i])))
			continue;
		for (k = 0; k < n; k++) {
			if (strstr(unescaped(msgs + k * stride, plain,
			    sizeof plain), sc.s[i]) != NULL) {
				fprintf(stderr, "message %u: %s\n", k,
				    msgs + k * stride);
				FZ_CHECK(0, "a config message shows a secret");
			}
		}
	}
	cJSON_Delete(root);
}

static int
hex8(const char *id)
{
	int i;

	for (i = 0; i < 8; i++) {
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	}
	return 1;
}

static void
check_provider(const struct px_config *cfg, size_t pi)
{
	const struct px_provider_cfg *p = &cfg->providers[pi];
	size_t j, q, qi, ulen;
	char id[16];
	const char *c;

	FZ_CHECK((unsigned)p->provider < PX_PROV__MAX, "known provider");
	FZ_CHECK((unsigned)p->api < PX_API__MAX, "known api");
	FZ_CHECK(p->nkeys >= 1 && p->keys != NULL, "at least one key");
	FZ_CHECK(p->max_request_day >= 1 && p->max_token_min >= 1 &&
	    p->max_request_min >= 1 && p->max_request_day <= 1000000000 &&
	    p->max_token_min <= 1000000000 &&
	    p->max_request_min <= 1000000000, "limits 1..1e9");
	FZ_CHECK(p->base_url != NULL, "base_url set");
	ulen = strlen(p->base_url);
	FZ_CHECK(strncmp(p->base_url, "http://", 7) == 0 ||
	    strncmp(p->base_url, "https://", 8) == 0, "base_url is http(s)");
	FZ_CHECK(ulen > 0 && p->base_url[ulen - 1] != '/',
	    "base_url does not end in '/'");
	FZ_CHECK((p->models == NULL) == (p->nmodels == 0), "models/nmodels");
	for (j = 0; j < p->nmodels; j++)
		FZ_CHECK(p->models[j] != NULL && p->models[j][0] != '\0',
		    "model ids non-empty");
	FZ_CHECK(p->models_filter == NULL || p->models_filter[0] != '\0',
	    "models_filter non-empty when set");
	for (j = 0; j < p->nkeys; j++) {
		const struct px_key_cfg *k = &p->keys[j];

		FZ_CHECK(k->secret != NULL && k->secret[0] != '\0',
		    "secret non-empty");
		for (c = k->secret; *c != '\0'; c++)
			FZ_CHECK((unsigned char)*c > 0x20 && *c != 0x7f,
			    "secret without spaces or control bytes");
		FZ_CHECK(strnlen(k->id, sizeof k->id) < sizeof k->id &&
		    hex8(k->id) && (k->id[8] == '\0' || k->id[8] == '-'),
		    "key id is 8 hex digits [+ -N]");
		px_key_id(k->secret, id);
		FZ_CHECK(strncmp(id, k->id, 8) == 0 && id[8] == '\0',
		    "key id is px_key_id of the secret");
		/* unique per provider, secrets too */
		for (qi = 0; qi <= pi; qi++) {
			const struct px_provider_cfg *o = &cfg->providers[qi];

			if (o->provider != p->provider)
				continue;
			for (q = 0; q < o->nkeys; q++) {
				if (qi == pi && q == j)
					break;
				FZ_CHECK(strcmp(o->keys[q].id, k->id) != 0,
				    "key ids unique per provider");
				FZ_CHECK(strcmp(o->keys[q].secret,
				    k->secret) != 0,
				    "no secret twice per provider");
			}
		}
	}
}

/* cfg->secrets lists every provider key (L1: all are redacted). */
static void
check_secret_list(const struct px_config *cfg)
{
	size_t i, j, k, total = 0;

	for (i = 0; i < cfg->nproviders; i++) {
		total += cfg->providers[i].nkeys;
		for (j = 0; j < cfg->providers[i].nkeys; j++) {
			for (k = 0; k < cfg->secrets.n; k++) {
				if (cfg->secrets.v[k] ==
				    cfg->providers[i].keys[j].secret)
					break;
			}
			FZ_CHECK(k < cfg->secrets.n,
			    "every provider key is in cfg->secrets");
		}
	}
	FZ_CHECK(cfg->secrets.n == total, "cfg->secrets has every key once");
}

static void
check_config(const struct px_config *cfg)
{
	size_t i;

	FZ_CHECK(cfg->access_key != NULL && cfg->access_key[0] != '\0',
	    "access_key non-empty");
	FZ_CHECK(cfg->model_usage_gap_percentage >= 0 &&
	    cfg->model_usage_gap_percentage <= 100, "gap 0..100");
	FZ_CHECK(cfg->nauto_models == 0 || cfg->auto_models != NULL,
	    "auto_models/nauto_models");
	for (i = 0; i < cfg->nauto_models; i++)
		FZ_CHECK(cfg->auto_models[i] != NULL &&
		    cfg->auto_models[i][0] != '\0', "auto model non-empty");
	FZ_CHECK(cfg->naliases == 0 || cfg->aliases != NULL, "aliases");
	for (i = 0; i < cfg->naliases; i++) {
		const char *from = cfg->aliases[i].from, *star;

		FZ_CHECK(from != NULL && from[0] != '\0' &&
		    cfg->aliases[i].to != NULL && cfg->aliases[i].to[0] != '\0',
		    "alias from and to non-empty");
		star = strchr(from, '*');
		FZ_CHECK(star == NULL || star[1] == '\0',
		    "an alias '*' only ends a prefix");
	}
	FZ_CHECK(cfg->nproviders >= 1 && cfg->providers != NULL,
	    "at least one provider entry");
	FZ_CHECK(cfg->state_dir != NULL && cfg->state_dir[0] != '\0',
	    "state_dir set");
	FZ_CHECK(cfg->state_map_mb >= 1 && cfg->state_map_mb <= 65536,
	    "state_map_mb");
	FZ_CHECK(cfg->max_body_bytes >= 1024 &&
	    cfg->max_body_bytes <= 1073741824, "max_body_bytes");
	FZ_CHECK(cfg->threads >= 1 && cfg->threads <= 4096, "threads");
	FZ_CHECK(cfg->connect_timeout_ms >= 100 &&
	    cfg->first_byte_timeout_ms >= 100 && cfg->idle_timeout_ms >= 100 &&
	    cfg->keepalive_interval_ms >= 100, "timeouts >= 100 ms");
	FZ_CHECK(cfg->max_attempts >= 1 && cfg->max_attempts <= 10,
	    "max_attempts");
	FZ_CHECK(cfg->key_reprobe_s >= 1 && cfg->key_reprobe_s <= 86400,
	    "key_reprobe_s");
	FZ_CHECK(cfg->models_cache_s >= 0 && cfg->models_cache_s <= 86400,
	    "models_cache_s");
	for (i = 0; i < cfg->nproviders; i++)
		check_provider(cfg, i);
	check_secret_list(cfg);
}

/* n (min..max) one-line, NUL-terminated, non-empty messages. */
static void
check_messages(const char *msgs, size_t stride, unsigned n, unsigned max,
    unsigned min)
{
	unsigned k;
	size_t len;
	const char *m, *row;

	FZ_CHECK(n >= min && n <= max, "message count");
	for (k = 0; k < n; k++) {
		row = msgs + k * stride;
		len = strnlen(row, stride);
		FZ_CHECK(len > 0 && len < stride,
		    "message non-empty and NUL-terminated");
		for (m = row; *m != '\0'; m++)
			FZ_CHECK((unsigned char)*m >= 0x20 && *m != 0x7f,
			    "message is one line");
		if (!fz_utf8_ok(row, len))
			FZ_NOTE_ONCE("config message is not valid UTF-8: %s",
			    row);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_dup(data, size, 0);	/* not NUL-terminated */
	/* not NULL: the call must set *out to NULL on failure */
	static struct px_config sentinel;
	struct px_config *cfg = &sentinel;
	struct px_config *cfg2 = NULL;
	struct px_cfg_errors errs;
	enum px_err rc, rc2;

	memset(&errs, 0x5a, sizeof errs);
	rc = px_config_parse(text != NULL ? text : "", size, "fuzz.json",
	    &cfg, &errs);
	FZ_CHECK(rc == PX_OK || rc == PX_ECONFIG || rc == PX_ENOMEM,
	    "result code");
	if (rc == PX_OK) {
		FZ_CHECK(cfg != NULL, "a config on success");
		FZ_CHECK(errs.n == 0, "no messages on success");
		check_config(cfg);
		check_messages(cfg->warnings.msg[0], sizeof cfg->warnings.msg[0],
		    cfg->warnings.n, PX_CFG_MAXWARN, 0);
		check_no_secret(text, size, cfg->warnings.msg[0],
		    sizeof cfg->warnings.msg[0], cfg->warnings.n);
	} else {
		FZ_CHECK(cfg == NULL, "no config on failure");
		check_messages(errs.msg[0], sizeof errs.msg[0], errs.n,
		    PX_CFG_MAXERRS, 1);
		if (text != NULL)
			check_no_secret(text, size, errs.msg[0],
			    sizeof errs.msg[0], errs.n);
	}
	if ((size & 3) == 1) {
		rc2 = px_config_parse(text != NULL ? text : "", size,
		    "fuzz.json", &cfg2, NULL);
		FZ_CHECK(rc2 == rc && (cfg2 != NULL) == (cfg != NULL),
		    "same result without an error list");
		px_config_free(cfg2);
	}
	px_config_free(cfg);
	free(text);
	return 0;
}
