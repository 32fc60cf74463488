/*
 * sigcache.c -- remembered thought signatures (see sigcache.h).
 * Layout: sigs[id] = be64(created_ms) + signature; sigage[be64(created_ms)
 * + id] = "" orders the entries by age, so eviction walks from the front.
 * Load: one write transaction per response that carried signatures (tool
 * turns of Gemini 3), one read per assistant step of a request.
 */
#include "sigcache.h"

#include <stdlib.h>
#include <string.h>

#include "store.h"

#define EVICT_MAX 256	/* entries dropped per put, at most */

static void
be64(unsigned char *p, int64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static int64_t
rd64(const unsigned char *p)
{
	int64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

struct put_ctx {
	const struct px_sigcache *c;
	const char *recs;
	size_t      len;
	int64_t     now;
	unsigned char *buf;	/* scratch: age key or value */
};

/* Drop id's age-index entry (its old creation time is in its value). */
static void
drop_age(struct px_store_txn *tx, const char *id, size_t idn,
    unsigned char *key)
{
	const void *v;
	size_t vn;

	if (!px_store_getk(tx, PX_DB_SIGS, id, idn, &v, &vn) || vn < 8)
		return;
	memcpy(key, v, 8);
	memcpy(key + 8, id, idn);
	px_store_delk(tx, PX_DB_SIGAGE, key, 8 + idn);
}

static enum px_err
put_one(struct px_store_txn *tx, struct put_ctx *p, const char *id,
    size_t idn, const char *sig, size_t sn)
{
	enum px_err rc;

	if (idn == 0 || idn > PX_SIG_IDMAX || sn == 0 || sn > PX_SIG_MAX)
		return PX_OK;	/* not worth keeping */
	drop_age(tx, id, idn, p->buf);
	be64(p->buf, p->now);
	memcpy(p->buf + 8, id, idn);
	rc = px_store_putk(tx, PX_DB_SIGAGE, p->buf, 8 + idn, "", 0);
	memcpy(p->buf + 8, sig, sn);
	if (rc == PX_OK)
		rc = px_store_putk(tx, PX_DB_SIGS, id, idn, p->buf, 8 + sn);
	return rc;
}

/* The oldest entries go: expired ones, and any past the bound. */
static void
evict(struct px_store_txn *tx, const struct put_ctx *p)
{
	const void *k;
	size_t kn, n = px_store_entries(tx, PX_DB_SIGS);
	int i;

	for (i = 0; i < EVICT_MAX && px_store_firstk(tx, PX_DB_SIGAGE, &k,
	    &kn) && kn > 8; i++) {
		unsigned char key[8 + PX_SIG_IDMAX];

		if (n <= p->c->max_entries &&
		    rd64(k) >= p->now - p->c->ttl_ms)
			break;
		memcpy(key, k, kn);
		px_store_delk(tx, PX_DB_SIGAGE, key, kn);
		px_store_delk(tx, PX_DB_SIGS, key + 8, kn - 8);
		n--;
	}
}

static enum px_err
put_txn(struct px_store_txn *tx, void *arg)
{
	struct put_ctx *p = arg;
	const char *r = p->recs, *end = p->recs + p->len;
	enum px_err rc = PX_OK;

	while (rc == PX_OK && r < end) {
		const char *nl = memchr(r, '\n', (size_t)(end - r));
		const char *line_end = nl != NULL ? nl : end;
		const char *tab = memchr(r, '\t', (size_t)(line_end - r));

		if (tab != NULL)
			rc = put_one(tx, p, r, (size_t)(tab - r), tab + 1,
			    (size_t)(line_end - tab - 1));
		r = line_end + (nl != NULL);
	}
	if (rc == PX_OK)
		evict(tx, p);
	return rc;
}

enum px_err
px_sigcache_put(const struct px_sigcache *c, const char *recs, size_t len,
    int64_t now_ms)
{
	struct put_ctx p = { c, recs, len, now_ms, NULL };
	enum px_err rc;

	if (c == NULL || c->store == NULL || len == 0)
		return PX_OK;
	p.buf = malloc(8 + PX_SIG_MAX + PX_SIG_IDMAX);
	if (p.buf == NULL)
		return PX_ENOMEM;
	rc = px_store_run(c->store, 1, put_txn, &p);
	free(p.buf);
	return rc;
}

struct get_ctx {
	const struct px_sigcache *c;
	const char *id;
	int64_t     now;
	char       *sig;
	size_t      cap;
	int         found;
};

static enum px_err
get_txn(struct px_store_txn *tx, void *arg)
{
	struct get_ctx *g = arg;
	const void *v;
	size_t vn;

	g->found = 0;
	if (!px_store_getk(tx, PX_DB_SIGS, g->id, strlen(g->id), &v, &vn) ||
	    vn <= 8 || vn - 8 >= g->cap ||
	    rd64(v) < g->now - g->c->ttl_ms)
		return PX_OK;
	memcpy(g->sig, (const char *)v + 8, vn - 8);
	g->sig[vn - 8] = '\0';
	g->found = 1;
	return PX_OK;
}

int
px_sigcache_get(const struct px_sigcache *c, const char *id, int64_t now_ms,
    char *sig, size_t cap)
{
	struct get_ctx g = { c, id, now_ms, sig, cap, 0 };

	if (c == NULL || c->store == NULL || id == NULL || *id == '\0' ||
	    strlen(id) > PX_SIG_IDMAX || cap == 0)
		return 0;
	if (px_store_run(c->store, 0, get_txn, &g) != PX_OK)
		return 0;
	return g.found;
}
