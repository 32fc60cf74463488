/*
 * models.c -- GET /v1/models and /v1/models/{id}.
 * Owns: the list (auto-model, auto-models, each provider entry's configured
 * models or its upstream list) and a process-wide cache of upstream lists,
 * refreshed by one thread at a time while the others serve the old copy.
 * Never: fails because an upstream list failed: the cached or configured
 * list is served instead.
 */
#include "worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "provider.h"
#include "reply.h"
#include "router.h"
#include "upstream.h"

#define LIST_TIMEOUT_MS 10000
#define MAX_IDS 4096

struct cache {
	pthread_mutex_t lock;	/* guards ids, n, expires */
	pthread_mutex_t fetch;	/* held by the one thread refreshing */
	char  **ids;
	size_t  n;
	long    expires;	/* monotonic seconds; 0: never fetched */
};

struct px_models {
	const struct px_config *cfg;
	struct cache *c;	/* one per provider_keys entry */
};

struct px_models *
px_models_new(const struct px_config *cfg)
{
	struct px_models *m = calloc(1, sizeof(*m));
	size_t i;

	if (m == NULL)
		return NULL;
	m->cfg = cfg;
	m->c = calloc(cfg->nproviders ? cfg->nproviders : 1, sizeof(*m->c));
	if (m->c == NULL) {
		free(m);
		return NULL;
	}
	for (i = 0; i < cfg->nproviders; i++) {
		pthread_mutex_init(&m->c[i].lock, NULL);
		pthread_mutex_init(&m->c[i].fetch, NULL);
	}
	return m;
}

static void
free_ids(char **ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

void
px_models_free(struct px_models *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->cfg->nproviders; i++) {
		free_ids(m->c[i].ids, m->c[i].n);
		pthread_mutex_destroy(&m->c[i].lock);
		pthread_mutex_destroy(&m->c[i].fetch);
	}
	free(m->c);
	free(m);
}

/* --- fetching ---------------------------------------------------------- */

struct idlist { char **ids; size_t n; const char *filter; int oom; };

static int
collect(void *ctx, const char *id)
{
	struct idlist *l = ctx;
	char **nids;

	if (l->filter != NULL && strstr(id, l->filter) == NULL)
		return 0;
	if (l->n >= MAX_IDS)
		return 1;
	nids = realloc(l->ids, (l->n + 1) * sizeof(*nids));
	if (nids == NULL) {
		l->oom = 1;
		return 1;
	}
	l->ids = nids;
	l->ids[l->n] = strdup(id);
	if (l->ids[l->n] == NULL) {
		l->oom = 1;
		return 1;
	}
	l->n++;
	return 0;
}

static int
on_list_data(void *ctx, long status, const char *p, size_t n)
{
	struct px_buf *b = ctx;

	if (status < 200 || status > 299)
		return 1;
	return px_buf_add(b, p, n) == PX_OK ? 0 : 1;
}

#define MAX_PAGES 20	/* a paged list (native Gemini) is read this far */

/* One page of the list into l; 0 ok with next[] the following page's
 * token ("" at the end), -1 on any failure. */
static int
fetch_page(struct px_worker *w, const struct px_provider_cfg *pc,
    struct idlist *l, const char *token, char *next, size_t ncap)
{
	const struct px_provider *a = px_adapter(pc);
	const struct px_config *cfg = w->app->cfg;
	struct px_http_req hr;
	struct px_http_result res;
	char url[1200], auth[600];
	const char *hdrs[2] = { auth, NULL };

	if (a->url(pc->base_url, PX_OP_MODELS, token[0] ? token : NULL, url,
	    sizeof(url)) != PX_OK)
		return -1;
	a->auth(pc->keys[0].secret, auth, sizeof(auth));
	memset(&hr, 0, sizeof(hr));
	hr.url = url;
	hr.headers = hdrs;
	hr.connect_timeout_ms = cfg->connect_timeout_ms;
	hr.first_byte_timeout_ms = LIST_TIMEOUT_MS;
	hr.total_timeout_ms = LIST_TIMEOUT_MS;
	hr.on_data = on_list_data;
	hr.ctx = &w->resp;
	px_buf_reset(&w->resp);
	px_http_perform(w->http, &hr, &res);
	if (res.outcome != PX_HTTP_DONE || res.status != 200 ||
	    a->parse_models(w->resp.p, w->resp.len, collect, l, next,
	    ncap) != PX_OK || l->oom)
		return -1;
	return 0;
}

/* GET the provider's model list (every page); on success replace the
 * cached ids. */
static void
refresh(struct px_worker *w, size_t i)
{
	const struct px_config *cfg = w->app->cfg;
	const struct px_provider_cfg *pc = &cfg->providers[i];
	struct cache *c = &w->app->models->c[i];
	struct idlist l = { NULL, 0, pc->models_filter, 0 };
	char token[512] = "", next[512];
	int rc = 0, page;

	for (page = 0; rc == 0 && page < MAX_PAGES; page++) {
		rc = fetch_page(w, pc, &l, token, next, sizeof(next));
		if (rc != 0 || next[0] == '\0')
			break;
		memcpy(token, next, sizeof(token));
	}
	pthread_mutex_lock(&c->lock);
	if (rc == 0) {
		free_ids(c->ids, c->n);
		c->ids = l.ids;
		c->n = l.n;
		l.ids = NULL;
		l.n = 0;
		c->expires = (px_mono_ms() / 1000) + cfg->models_cache_s;
	} else {
		/* keep serving the old list; try again in a little while */
		c->expires = (px_mono_ms() / 1000) + (cfg->models_cache_s < 30 ?
		    cfg->models_cache_s : 30);
	}
	pthread_mutex_unlock(&c->lock);
	free_ids(l.ids, l.n);
	px_buf_reset(&w->resp);
}

static void
maybe_refresh(struct px_worker *w, size_t i)
{
	struct cache *c = &w->app->models->c[i];
	long exp;

	pthread_mutex_lock(&c->lock);
	exp = c->expires;
	pthread_mutex_unlock(&c->lock);
	if (exp != 0 && (px_mono_ms() / 1000) < exp)
		return;
	/* first fetch: wait for it; later ones: whoever gets the lock */
	if (exp == 0)
		pthread_mutex_lock(&c->fetch);
	else if (pthread_mutex_trylock(&c->fetch) != 0)
		return;
	pthread_mutex_lock(&c->lock);
	exp = c->expires;
	pthread_mutex_unlock(&c->lock);
	if (exp == 0 || (px_mono_ms() / 1000) >= exp)
		refresh(w, i);
	pthread_mutex_unlock(&c->fetch);
}

/* --- the list -------------------------------------------------------- */

struct list {
	struct px_buf *out;
	const char   **seen;	/* ids already written */
	size_t         nseen, capseen;
	const char    *want;	/* /v1/models/{id}: only this id */
	int            found;
	const struct px_client_cfg *client;	/* a client key: only the
						 * models it may ask for */
};

/*
 * One entry in a shape both SDK families read: OpenAI's {id, object,
 * created, owned_by} plus Anthropic's {type, display_name, created_at}
 * (Claude Code's model discovery reads data[].id and display_name).
 */
static void
add_model(struct list *l, const char *id, const char *owner,
    const char *alias_of)
{
	size_t i;

	if (!px_client_allows(l->client, id))
		return;		/* what the client would get 403 for */
	if (l->want != NULL) {
		if (l->found || strcmp(id, l->want) != 0)
			return;
		l->found = 1;
	}
	for (i = 0; i < l->nseen; i++)
		if (strcmp(l->seen[i], id) == 0)
			return;
	if (l->nseen == l->capseen) {
		size_t ncap = l->capseen ? l->capseen * 2 : 64;
		const char **ns = realloc(l->seen, ncap * sizeof(*ns));

		if (ns == NULL)
			return;
		l->seen = ns;
		l->capseen = ncap;
	}
	l->seen[l->nseen++] = id;
	if (l->want == NULL && l->nseen > 1)
		px_buf_addc(l->out, ',');
	px_buf_adds(l->out, "{\"id\":\"");
	px_buf_add_json_str(l->out, id, strlen(id));
	px_buf_printf(l->out, "\",\"object\":\"model\",\"created\":0,"
	    "\"owned_by\":\"%s\",\"type\":\"model\",\"created_at\":"
	    "\"1970-01-01T00:00:00Z\",\"display_name\":\"", owner);
	px_buf_add_json_str(l->out, id, strlen(id));
	if (alias_of != NULL) {
		px_buf_adds(l->out, " \u2192 ");
		px_buf_add_json_str(l->out, alias_of, strlen(alias_of));
	}
	px_buf_adds(l->out, "\"}");
}

/* "has_more", "first_id" and "last_id" close the list (the Anthropic
 * SDK's page reader wants them). */
static void
end_list(struct list *l)
{
	px_buf_adds(l->out, "],\"has_more\":false,\"first_id\":");
	if (l->nseen == 0) {
		px_buf_adds(l->out, "null,\"last_id\":null}");
		return;
	}
	px_buf_addc(l->out, '"');
	px_buf_add_json_str(l->out, l->seen[0], strlen(l->seen[0]));
	px_buf_adds(l->out, "\",\"last_id\":\"");
	px_buf_add_json_str(l->out, l->seen[l->nseen - 1],
	    strlen(l->seen[l->nseen - 1]));
	px_buf_adds(l->out, "\"}");
}

/* Caller holds every cache lock (seen[] borrows the cached strings). */
static void
add_provider(struct px_worker *w, struct list *l, size_t i)
{
	const struct px_provider_cfg *pc = &w->app->cfg->providers[i];
	const char *owner = px_adapter(pc)->owned_by;
	const struct cache *c = &w->app->models->c[i];
	size_t k;

	if (pc->models != NULL) {
		for (k = 0; k < pc->nmodels; k++)
			add_model(l, pc->models[k], owner, NULL);
		return;
	}
	for (k = 0; k < c->n; k++)
		add_model(l, c->ids[k], owner, NULL);
}

static void
lock_all(struct px_models *m, int lock)
{
	size_t i;

	for (i = 0; i < m->cfg->nproviders; i++) {
		if (lock)
			pthread_mutex_lock(&m->c[i].lock);
		else
			pthread_mutex_unlock(&m->c[i].lock);
	}
}

void
px_models_handle(struct px_worker *w, struct px_io *io, const char *model_id,
    struct px_reqlog *lg)
{
	const struct px_config *cfg = w->app->cfg;
	struct list l;
	size_t i;

	(void)lg;
	memset(&l, 0, sizeof(l));
	l.out = &w->out;
	l.want = model_id;
	l.client = w->client;
	px_buf_reset(&w->out);
	if (model_id == NULL)
		px_buf_adds(&w->out, "{\"object\":\"list\",\"data\":[");
	add_model(&l, PX_AUTO_MODEL, "aiproxy", NULL);
	for (i = 0; i < cfg->naliases; i++)	/* exact ids; not patterns */
		if (strchr(cfg->aliases[i].from, '*') == NULL)
			add_model(&l, cfg->aliases[i].from, "aiproxy",
			    cfg->aliases[i].to);
	for (i = 0; i < cfg->nauto_models; i++)
		add_model(&l, cfg->auto_models[i], px_provider_get(
		    px_router_provider(cfg, cfg->auto_models[i]))->owned_by,
		    NULL);
	for (i = 0; i < cfg->nproviders; i++)
		if (cfg->providers[i].models == NULL)
			maybe_refresh(w, i);
	lock_all(w->app->models, 1);
	for (i = 0; i < cfg->nproviders && !l.found; i++)
		add_provider(w, &l, i);
	if (model_id == NULL)
		end_list(&l);
	lock_all(w->app->models, 0);
	free(l.seen);
	if (model_id != NULL && !l.found)
		px_reply_error(io, &w->err, PX_EMODEL, "model not found",
		    "model", NULL);
	else
		px_reply_json(io, 200, NULL, w->out.p, w->out.len);
}
