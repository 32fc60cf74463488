/*
 * store.h -- the shared state environment on disk (LMDB).
 * Owns: everything <lmdb.h> (its only includer): one environment per
 * process, opened after fork with MDB_NOTLS; short transactions run through
 * px_store_run, which retries after MDB_MAP_RESIZED and, once, after
 * MDB_MAP_FULL / MDB_READERS_FULL with a stale-reader sweep; the schema
 * version; periodic mdb_reader_check and mdb_env_sync.
 * Never: knows what the records mean (the ledger does), or holds a
 * transaction after px_store_run returns.
 *
 * Durability (README "State"): by default commits are MDB_NOSYNC and the
 * environment is synced about once a second by px_store_maintain, so a
 * crashed process loses nothing and an OS crash may lose the last second
 * of counters. state_durable selects MDB_NOMETASYNC: data pages are synced
 * on every commit, the meta page lazily; at most the last commit is lost.
 * state_writemap (opt-in) adds MDB_WRITEMAP: a commit writes into the map
 * instead of pwrite per page, which makes the write lock shorter
 * (BENCHMARKS.md); the file then takes its full map size at once (sparse),
 * and a disk that fills up kills the process (SIGBUS) where the default
 * returns an error.
 */
#ifndef PX_STORE_H
#define PX_STORE_H

#include <stddef.h>
#include "err.h"

/* 1: raw struct records (main before ledger v2); 2: ledger_rec.h.
 * Bump with a migration (ledger_migrate.c). */
#define PX_STORE_SCHEMA 2

struct px_store;
struct px_store_txn;

/* The environment's databases: the ledger's records (unnamed), and the
 * thought-signature cache with its index by age (named). */
enum px_store_db { PX_DB_MAIN = 0, PX_DB_SIGS, PX_DB_SIGAGE, PX_DB__MAX };

/*
 * Open (creating if needed) the environment in directory dir, mode 0700
 * for a new directory and 0600 for the files. PX_ESTORE with detail on
 * failure (e.g. a newer schema, or a directory that cannot be created).
 */
#define PX_STORE_DURABLE  1u	/* state_durable: MDB_NOMETASYNC */
#define PX_STORE_WRITEMAP 2u	/* state_writemap: MDB_WRITEMAP */
enum px_err px_store_open(struct px_store **out, const char *dir,
    size_t map_bytes, unsigned flags, char *detail, size_t cap);
/* 1 when the environment writes through its map (MDB_WRITEMAP). */
int px_store_writemap(const struct px_store *st);
void px_store_close(struct px_store *st);	/* NULL-safe */

/* The transaction body: return PX_OK to commit, anything else to abort
 * (that value is returned by px_store_run). May run more than once. */
typedef enum px_err (*px_store_fn)(struct px_store_txn *tx, void *ctx);

enum px_err px_store_run(struct px_store *st, int write, px_store_fn fn,
    void *ctx);

/*
 * Borrow the value of key: *val points into the map until the transaction
 * ends, and need not be aligned (copy before reading fields). 1 found,
 * 0 absent.
 */
int px_store_get(struct px_store_txn *tx, const char *key, const void **val,
    size_t *len);
enum px_err px_store_put(struct px_store_txn *tx, const char *key,
    const void *val, size_t len);

/* The same for binary keys of any database. */
int px_store_getk(struct px_store_txn *tx, enum px_store_db db,
    const void *key, size_t klen, const void **val, size_t *len);
enum px_err px_store_putk(struct px_store_txn *tx, enum px_store_db db,
    const void *key, size_t klen, const void *val, size_t len);
void px_store_delk(struct px_store_txn *tx, enum px_store_db db,
    const void *key, size_t klen);
/* The smallest key of db (borrowed like a value): 1 found, 0 empty. */
int px_store_firstk(struct px_store_txn *tx, enum px_store_db db,
    const void **key, size_t *klen);
size_t px_store_entries(struct px_store_txn *tx, enum px_store_db db);

/* Delete key (absent is fine). */
enum px_err px_store_del(struct px_store_txn *tx, const char *key);
/*
 * The names of the main database starting with prefix, each NUL-ended,
 * one after another in out[0..cap): how many fit. *need is the room all
 * of them take (call again with that much when it is larger than cap).
 */
size_t px_store_names(struct px_store_txn *tx, const char *prefix,
    char *out, size_t cap, size_t *need);

/* The schema version found at open (a new environment gets the current
 * one); the one stored now, inside a transaction; and setting it. */
unsigned px_store_schema(const struct px_store *st);
unsigned px_store_schema_txn(struct px_store_txn *tx);
enum px_err px_store_set_schema(struct px_store_txn *tx, unsigned v);

/* Stale reader slots of killed processes cleared, and (unless durable)
 * the environment synced. Call about once a second and at exit. */
void px_store_maintain(struct px_store *st);

#endif
