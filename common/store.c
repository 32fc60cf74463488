/*
 * store.c -- LMDB behind px_store (see store.h).
 * Facts this relies on (fastcgi-lmdb-notes.md §3): every process passes
 * the same map size; a process that finds the map grown by another gets
 * MDB_MAP_RESIZED and must call mdb_env_set_mapsize(env, 0); a killed
 * process's reader slot pins pages until mdb_reader_check clears it; the
 * writer lock is robust, so a writer killed mid-transaction loses only its
 * own uncommitted work.
 * Never: keeps a read transaction open between calls.
 */
#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SCHEMA_KEY "meta/schema"

struct px_store {
	MDB_env *env;
	MDB_dbi  dbi;
	MDB_dbi  dbs[PX_DB__MAX];
	int      durable;
	int      writemap;
	unsigned schema;	/* as found at open (or written, if new) */
};

struct px_store_txn {
	MDB_txn *txn;
	MDB_dbi  dbi;
	const MDB_dbi *dbs;
	int      err;		/* first LMDB error inside fn */
};

static const char *const db_names[PX_DB__MAX] = {
	[PX_DB_SIGS] = "sigs", [PX_DB_SIGAGE] = "sigage",
};

static enum px_err
fail(char *detail, size_t cap, const char *what, int rc)
{
	snprintf(detail, cap, "state store: %s: %s", what, mdb_strerror(rc));
	return PX_ESTORE;
}

/*
 * Read the schema version; refuse a newer one; write the current one on a
 * new environment. An older one stays as it is until its owner migrates
 * it (px_store_schema, px_store_set_schema).
 */
static enum px_err
check_schema(struct px_store *st, char *detail, size_t cap)
{
	MDB_txn *txn;
	MDB_val k = { sizeof(SCHEMA_KEY) - 1, (void *)(uintptr_t)SCHEMA_KEY };
	MDB_val v;
	unsigned ver = PX_STORE_SCHEMA, have = 0;
	int rc;

	rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc != 0)
		return fail(detail, cap, "begin", rc);
	rc = mdb_get(txn, st->dbi, &k, &v);
	if (rc == 0 && v.mv_size == sizeof(have))
		memcpy(&have, v.mv_data, sizeof(have));
	if (have > PX_STORE_SCHEMA) {
		mdb_txn_abort(txn);
		snprintf(detail, cap, "state store: schema %u was written by a "
		    "newer aiproxy (this one knows %u)", have,
		    (unsigned)PX_STORE_SCHEMA);
		return PX_ESTORE;
	}
	v.mv_size = sizeof(ver);
	v.mv_data = &ver;
	rc = have != 0 ? 0 : mdb_put(txn, st->dbi, &k, &v, 0);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return fail(detail, cap, "schema", rc);
	}
	st->schema = have != 0 ? have : ver;
	rc = mdb_txn_commit(txn);
	return rc == 0 ? PX_OK : fail(detail, cap, "commit", rc);
}

unsigned
px_store_schema(const struct px_store *st)
{
	return st->schema;
}

unsigned
px_store_schema_txn(struct px_store_txn *tx)
{
	const void *v;
	size_t len;
	unsigned have = 0;

	if (px_store_get(tx, SCHEMA_KEY, &v, &len) && len == sizeof(have))
		memcpy(&have, v, sizeof(have));
	return have;
}

enum px_err
px_store_set_schema(struct px_store_txn *tx, unsigned v)
{
	return px_store_put(tx, SCHEMA_KEY, &v, sizeof(v));
}

static enum px_err
open_env(struct px_store *st, const char *dir, size_t map_bytes,
    char *detail, size_t cap)
{
	unsigned flags = MDB_NOTLS | (st->durable ? MDB_NOMETASYNC : MDB_NOSYNC) |
	    (st->writemap ? MDB_WRITEMAP : 0u);
	MDB_txn *txn = NULL;
	int rc, dead, i;

	rc = mdb_env_create(&st->env);
	if (rc == 0)
		rc = mdb_env_set_mapsize(st->env, map_bytes);
	if (rc == 0)
		rc = mdb_env_set_maxreaders(st->env, 4096);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(st->env, PX_DB__MAX + 4);
	if (rc == 0)
		rc = mdb_env_open(st->env, dir, flags, 0600);
	if (rc != 0)
		return fail(detail, cap, dir, rc);
	(void)mdb_reader_check(st->env, &dead);
	rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, NULL, 0, &st->dbi);
	st->dbs[PX_DB_MAIN] = st->dbi;
	for (i = 1; rc == 0 && i < PX_DB__MAX; i++)
		rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &st->dbs[i]);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else if (txn != NULL)
		mdb_txn_abort(txn);
	return rc == 0 ? PX_OK : fail(detail, cap, "open", rc);
}

/* mkdir -p with mode 0700 for every directory created. */
static int
mkdirs(const char *dir)
{
	char path[4096];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return -1;
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return -1;
		path[i] = dir[i];
	}
	return 0;
}

int
px_store_writemap(const struct px_store *st)
{
	unsigned f = 0;

	return st != NULL && mdb_env_get_flags(st->env, &f) == 0 &&
	    (f & MDB_WRITEMAP) != 0;
}

enum px_err
px_store_open(struct px_store **out, const char *dir, size_t map_bytes,
    unsigned flags, char *detail, size_t cap)
{
	struct px_store *st;
	enum px_err e;

	*out = NULL;
	if (mkdirs(dir) != 0) {
		snprintf(detail, cap, "state store: cannot create %s: %s", dir,
		    strerror(errno));
		return PX_ESTORE;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return PX_ENOMEM;
	st->durable = (flags & PX_STORE_DURABLE) != 0;
	st->writemap = (flags & PX_STORE_WRITEMAP) != 0;
	e = open_env(st, dir, map_bytes, detail, cap);
	if (e == PX_OK)
		e = check_schema(st, detail, cap);
	if (e != PX_OK) {
		px_store_close(st);
		return e;
	}
	*out = st;
	return PX_OK;
}

void
px_store_close(struct px_store *st)
{
	if (st == NULL)
		return;
	if (st->env != NULL) {
		if (!st->durable)
			(void)mdb_env_sync(st->env, 1);
		mdb_env_close(st->env);
	}
	free(st);
}

/* One attempt; returns the LMDB code that ended it (0: fn's verdict). */
static int
attempt(struct px_store *st, int write, px_store_fn fn, void *ctx,
    enum px_err *verdict)
{
	struct px_store_txn tx = { NULL, st->dbi, st->dbs, 0 };
	int rc;

	rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &tx.txn);
	if (rc != 0)
		return rc;
	*verdict = fn(&tx, ctx);
	if (tx.err != 0 || *verdict != PX_OK || !write) {
		mdb_txn_abort(tx.txn);
		return tx.err;
	}
	return mdb_txn_commit(tx.txn);
}

enum px_err
px_store_run(struct px_store *st, int write, px_store_fn fn, void *ctx)
{
	enum px_err verdict = PX_OK;
	int rc, tries, dead;

	for (tries = 0; tries < 3; tries++) {
		verdict = PX_OK;
		rc = attempt(st, write, fn, ctx, &verdict);
		if (rc == 0)
			return verdict;
		if (rc == MDB_MAP_RESIZED)
			(void)mdb_env_set_mapsize(st->env, 0);
		else if (rc == MDB_MAP_FULL || rc == MDB_READERS_FULL)
			(void)mdb_reader_check(st->env, &dead);
		else
			break;
	}
	return PX_ESTORE;
}

int
px_store_get(struct px_store_txn *tx, const char *key, const void **val,
    size_t *len)
{
	MDB_val k = { strlen(key), (void *)(uintptr_t)key };
	MDB_val v;
	int rc = mdb_get(tx->txn, tx->dbi, &k, &v);

	if (rc != 0) {
		if (rc != MDB_NOTFOUND && tx->err == 0)
			tx->err = rc;
		return 0;
	}
	*val = v.mv_data;
	*len = v.mv_size;
	return 1;
}

enum px_err
px_store_put(struct px_store_txn *tx, const char *key, const void *val,
    size_t len)
{
	MDB_val k = { strlen(key), (void *)(uintptr_t)key };
	MDB_val v = { len, (void *)(uintptr_t)val };
	int rc = mdb_put(tx->txn, tx->dbi, &k, &v, 0);

	if (rc != 0) {
		if (tx->err == 0)
			tx->err = rc;
		return PX_ESTORE;
	}
	return PX_OK;
}

static int
note(struct px_store_txn *tx, int rc)
{
	if (rc != 0 && rc != MDB_NOTFOUND && tx->err == 0)
		tx->err = rc;
	return rc;
}

int
px_store_getk(struct px_store_txn *tx, enum px_store_db db, const void *key,
    size_t klen, const void **val, size_t *len)
{
	MDB_val k = { klen, (void *)(uintptr_t)key };
	MDB_val v;

	if (note(tx, mdb_get(tx->txn, tx->dbs[db], &k, &v)) != 0)
		return 0;
	*val = v.mv_data;
	*len = v.mv_size;
	return 1;
}

enum px_err
px_store_putk(struct px_store_txn *tx, enum px_store_db db, const void *key,
    size_t klen, const void *val, size_t len)
{
	MDB_val k = { klen, (void *)(uintptr_t)key };
	MDB_val v = { len, (void *)(uintptr_t)val };

	return note(tx, mdb_put(tx->txn, tx->dbs[db], &k, &v, 0)) == 0 ?
	    PX_OK : PX_ESTORE;
}

void
px_store_delk(struct px_store_txn *tx, enum px_store_db db, const void *key,
    size_t klen)
{
	MDB_val k = { klen, (void *)(uintptr_t)key };

	(void)note(tx, mdb_del(tx->txn, tx->dbs[db], &k, NULL));
}

int
px_store_firstk(struct px_store_txn *tx, enum px_store_db db,
    const void **key, size_t *klen)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if (note(tx, mdb_cursor_open(tx->txn, tx->dbs[db], &cur)) != 0)
		return 0;
	rc = note(tx, mdb_cursor_get(cur, &k, &v, MDB_FIRST));
	mdb_cursor_close(cur);
	if (rc != 0)
		return 0;
	*key = k.mv_data;
	*klen = k.mv_size;
	return 1;
}

size_t
px_store_entries(struct px_store_txn *tx, enum px_store_db db)
{
	MDB_stat ms;

	if (note(tx, mdb_stat(tx->txn, tx->dbs[db], &ms)) != 0)
		return 0;
	return ms.ms_entries;
}

enum px_err
px_store_del(struct px_store_txn *tx, const char *key)
{
	MDB_val k = { strlen(key), (void *)(uintptr_t)key };
	int rc = note(tx, mdb_del(tx->txn, tx->dbi, &k, NULL));

	return rc == 0 || rc == MDB_NOTFOUND ? PX_OK : PX_ESTORE;
}

size_t
px_store_names(struct px_store_txn *tx, const char *prefix, char *out,
    size_t cap, size_t *need)
{
	MDB_cursor *cur;
	MDB_val k = { strlen(prefix), (void *)(uintptr_t)prefix }, v;
	size_t n = 0, used = 0, plen = k.mv_size;
	int rc;

	*need = 0;
	if (note(tx, mdb_cursor_open(tx->txn, tx->dbi, &cur)) != 0)
		return 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 &&
	    k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		*need += k.mv_size + 1;
		if (used + k.mv_size + 1 > cap)
			continue;
		memcpy(out + used, k.mv_data, k.mv_size);
		out[used + k.mv_size] = '\0';
		used += k.mv_size + 1;
		n++;
	}
	(void)note(tx, rc);
	mdb_cursor_close(cur);
	return n;
}

void
px_store_maintain(struct px_store *st)
{
	int dead;

	if (st == NULL)
		return;
	(void)mdb_reader_check(st->env, &dead);
	if (!st->durable)
		(void)mdb_env_sync(st->env, 1);
}
