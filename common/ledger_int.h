/*
 * ledger_int.h -- what the ledger's policy (ledger.c) shares with its
 * backends (ledger_lmdb.c, ledger_redis.c). Not for other modules.
 * Owns: the backend table (the seam is the ledger's own operations:
 * reserve, settle, snapshot -- not a key-value store), the per-thread
 * scratch, and the pure policy steps every backend applies in its one
 * atomic step: which key may serve and from when, what a reservation
 * books, what an attempt's verdict does to key health.
 * Never: I/O; the backends do it.
 *
 * ledger.lua restates the policy steps for Redis, where they run inside
 * the server; a change here is a change there (the unit suite runs every
 * case against both backends).
 */
#ifndef PX_LEDGER_INT_H
#define PX_LEDGER_INT_H

#include "keysel.h"
#include "ledger.h"
#include "ledger_rec.h"
#include "win.h"

/* Cooldowns for 429s without a hint, escalating per repeat. */
#define PX_ESCALATE_N 4
extern const int64_t px_escalate_ms[PX_ESCALATE_N];
#define PX_CORRELATE_MS  10000	/* 429s on several keys this close */
#define PX_PROBE_LEASE_MS 120000	/* one probe at a time, at most this */

/* One key of a provider, as a reservation walks it (config order). */
struct px_keyref {
	const struct px_provider_cfg *group;
	const struct px_key_cfg *key;
};

/* A reservation being decided (ledger.h: px_ledger_reserve_ex). */
struct px_resv {
	const struct px_candidate *c;
	size_t   nc;
	uint32_t tokens;
	const struct px_key_cfg *const *exclude;
	size_t   nexclude;
	int64_t  now;
	struct px_lease *lease;	/* filled on PX_OK */
	size_t   ci;		/* the candidate being walked */
	/* filled on PX_ERATE */
	int64_t  earliest;	/* soonest moment some key has room */
	int      fits;		/* the estimate fits some key's token limit */
	size_t   nkeys;		/* keys looked at */
	size_t   nent;		/* ... held back only by a "limit: 0" mark */
};

/* A settlement (ledger.h: px_ledger_settle_ex). */
struct px_settle_req {
	const struct px_lease *lease;
	enum px_settle how;
	long     tokens;
	const struct px_verdict *v;	/* NULL: no verdict */
	int64_t  now;
};

struct px_ledger_ops {
	const char *name;
	/* open after px_ledger_open set cfg and the LMDB store */
	enum px_err (*open)(struct px_ledger *lg, char *detail, size_t cap);
	void (*close)(struct px_ledger *lg);
	/* PX_OK (lease filled), PX_ERATE (r->earliest, fits, nkeys, nent),
	 * PX_ESTORE or PX_EUNAVAIL (the backend is unreachable) */
	enum px_err (*reserve)(struct px_ledger *lg,
	    struct px_ledger_scratch *s, struct px_resv *r);
	enum px_err (*settle)(struct px_ledger *lg,
	    struct px_ledger_scratch *s, const struct px_settle_req *q);
	/* fill s->snap as of now (the backend's clock may replace it) */
	enum px_err (*snapshot)(struct px_ledger *lg,
	    struct px_ledger_scratch *s, int64_t now);
};

extern const struct px_ledger_ops px_ledger_lmdb_ops;
extern const struct px_ledger_ops px_ledger_redis_ops;

struct px_ledger {
	const struct px_config *cfg;
	const struct px_ledger_ops *ops;
	struct px_store *st;	/* the host's LMDB environment (the lmdb
				 * backend's records; signatures always) */
	void *be;		/* the backend's shared state */
};

struct px_ledger_scratch {
	const struct px_config *cfg;
	int      not_entitled;		/* last reserve: see ledger.h */
	size_t   cap;			/* keys in the whole config */
	struct px_keyref  *refs;
	struct px_keyview *views;
	int64_t          *free_at;
	struct px_win     wm, wd;	/* one key's windows, decoded */
	struct px_health  h;
	unsigned char    *enc;		/* one record being encoded */
	size_t            enccap;
	struct px_snapshot snap;	/* the last snapshot */
	void             *be;		/* the backend's per-thread state,
					 * made on first use */
	void            (*be_free)(void *be);	/* and how it goes */
};

/* The keys of provider p in config order into refs[0..cap); the count. */
size_t px_ledger_keys_of(const struct px_config *cfg, enum px_provider_id p,
    struct px_keyref *refs, size_t cap);
int px_ledger_has_provider(const struct px_config *cfg, enum px_provider_id p);

/* Record names (ledger_rec.h) into dst[cap]. */
void px_ledger_recname(char *dst, size_t cap, char kind, enum px_provider_id p,
    const char *id);

/* Bring a schema-1 LMDB ledger to the current records (ledger_migrate.c);
 * detail says what to do when it fails. */
struct px_store;
enum px_err px_ledger_migrate(struct px_store *st,
    const struct px_config *cfg, char *detail, size_t cap);

/* --- policy steps (pure) ---------------------------------------------------- */

/* When the key's health lets it serve again (now if it can). */
int64_t px_pol_health_free_at(const struct px_health *h, int64_t now);

/* Until when key marks forbid model (0: they do not). */
int64_t px_pol_ent_until(const struct px_entrec *e, const char *model,
    int64_t now);

/*
 * Key i (refs[i]) as the walk of candidate r->c[ci] sees it, from its
 * decoded windows s->wm, s->wd, health s->h, marks e and the provider's
 * back-off: fills s->views[i] and s->free_at[i] and r's summary fields.
 */
void px_pol_view(struct px_ledger_scratch *s, struct px_resv *r, size_t i,
    const struct px_entrec *e, int64_t backoff);

/* Book the reservation on the decoded records of the chosen key. */
void px_pol_take(struct px_ledger_scratch *s, const struct px_resv *r);

/* Fill the lease of a reservation granted on key i of candidate ci. */
void px_pol_lease(const struct px_ledger_scratch *s, struct px_resv *r,
    size_t ci, size_t i);

/* The windows and lifetime counters after a settlement (decoded s->wm,
 * s->wd, s->h of the lease's key). */
void px_pol_book(struct px_ledger_scratch *s, const struct px_settle_req *q);

/* Key healthy again (state, strikes, cooldown, probe, reason cleared). */
void px_pol_healthy(struct px_health *h);

/*
 * A non-daily 429 on key index ki of n keys: note it in pr; 1 when keys
 * enough had one within PX_CORRELATE_MS that the throttle is the
 * provider's (pr then backs off; first[] marks the keys involved).
 */
int px_pol_provider_429(struct px_provrec *pr, uint32_t ki, size_t n,
    int64_t until, int64_t now, int first[PX_RECENT_429]);

/* The key's own health after a RATE verdict that was not the provider's. */
void px_pol_key_429(struct px_health *h, const struct px_verdict *v,
    int64_t now);

/* After an AUTH verdict / an inconclusive verdict on a probe. */
void px_pol_disable(struct px_health *h, const struct px_verdict *v,
    int64_t now, long reprobe_s);

/* Mark (model, until) in e, dropping expired marks: its own slot, a new
 * one, else (all PX_ENT_SLOTS live) the one that ends first. */
void px_pol_ent_mark(struct px_entrec *e, const char *model, int64_t until,
    int64_t now);

/* One key's entry of s->snap from its decoded records. */
void px_pol_snap_key(struct px_ledger_scratch *s, size_t slot,
    const struct px_keyref *k, const struct px_entrec *e, int64_t now);

#endif
