/*
 * ledger_int.h -- what the ledger's policy (ledger.c, ledger_scope.c)
 * shares with its backends (ledger_lmdb.c, ledger_redis.c). Not for
 * other modules.
 * Owns: the backend table (the seam is the ledger's own operations:
 * reserve, settle, renew, snapshot -- not a key-value store), the
 * per-thread scratch, the scopes a request draws on, and the pure policy
 * steps every backend applies in its one atomic step: which key may serve
 * and from when, what a reservation books, what an attempt's verdict does
 * to key health.
 * Never: I/O; the backends do it.
 *
 * ledger.lua restates the policy steps for Redis, where they run inside
 * the server; a change here is a change there (the unit suites run every
 * case against both backends).
 */
#ifndef PX_LEDGER_INT_H
#define PX_LEDGER_INT_H

#include <pthread.h>

#include "daycal.h"
#include "keysel.h"
#include "ledger.h"
#include "ledger_rec.h"
#include "stats.h"
#include "win.h"

/* Cooldowns for 429s without a hint, escalating per repeat. */
#define PX_ESCALATE_N 4
extern const int64_t px_escalate_ms[PX_ESCALATE_N];
#define PX_CORRELATE_MS  10000	/* 429s on several keys this close */
#define PX_PROBE_LEASE_MS 120000	/* one probe at a time, at most this */
#define PX_CONC_RETRY_MS 1000	/* a full max_concurrent: retry after this,
				 * or when a lease expires if sooner */

/* One key of a provider, as a reservation walks it (config order). */
struct px_keyref {
	const struct px_provider_cfg *group;
	const struct px_key_cfg *key;
};

/* --- scopes: what a request draws on (ledger_scope.c) ----------------------- */

enum px_scope_kind { PX_SCOPE_KEY = 0, PX_SCOPE_KEY_MODEL, PX_SCOPE_OWNER,
    PX_SCOPE_OWNER_MODEL, PX_SCOPE_CLIENT };

/* How a scope counts its day: rolling 24 h, or a calendar day. */
enum px_dayrule { PX_DAYRULE_ROLLING = 0, PX_DAYRULE_UTC,
    PX_DAYRULE_PACIFIC };

#define PX_SCOPE_NAME 112
#define PX_SCOPES_MAX 4		/* per key: key, key-model, owner, owner-model */

struct px_scope {
	enum px_scope_kind kind;
	char     name[PX_SCOPE_NAME];	/* e.g. "k/gemini/1a2b3c4d" */
	uint64_t rpm, rpd, tpm, conc;	/* limits; 0: none */
	enum px_dayrule day;
	int      carried;	/* a client's scope on a retry of a request
				 * whose request an earlier attempt booked
				 * and kept: only tokens and the lease here
				 * (its request windows are neither checked
				 * nor booked, nor given back) */
};

/* One scope each: a key's own, a key's model_limits entry, an owner, an
 * owner's model_limits entry. */
void px_scope_key(const struct px_keyref *k, struct px_scope *out);
void px_scope_key_model(const struct px_keyref *k,
    const struct px_model_limit *ml, struct px_scope *out);
void px_scope_owner(const struct px_owner_cfg *o, struct px_scope *out);
void px_scope_owner_model(const struct px_owner_cfg *o,
    const struct px_model_limit *ml, struct px_scope *out);
/* The scopes of key k serving model: out[0] is always the key's own. */
size_t px_scopes_of(const struct px_keyref *k, const char *model,
    struct px_scope out[PX_SCOPES_MAX]);
/* The client key's scope; 0 when there is no client (the admin key). */
int px_scope_client(const struct px_client_cfg *c, struct px_scope *out);

/* A scope's records decoded: its minute window, its day (a rolling
 * window or a calendar count), its leases. Filled by the backend. */
struct px_scope_recs {
	struct px_win    wm;
	struct px_win    wd;
	struct px_calrec cal;
	struct px_leases lz;
};

/* What one scope says about a request of `tokens` at now. */
struct px_scope_eval {
	int      ok;		/* room in every window and under the cap */
	int      fits;		/* tokens <= its max_token_min (if any) */
	int64_t  free_at;	/* when it has room (INT64_MAX: never) */
	uint64_t req_day;	/* requests in its day */
	enum px_limit limit;	/* what holds it, when !ok */
};

void px_scope_eval(const struct px_scope *sc, const struct px_scope_recs *r,
    uint32_t tokens, int64_t now, struct px_scope_eval *ev);
/* Book one request, tokens and the lease id (when capped) at now. */
void px_scope_take(const struct px_scope *sc, struct px_scope_recs *r,
    uint32_t tokens, uint64_t lease_id, int64_t now, int64_t ttl_ms);
/* A settlement on one scope: the real token count (or a release), and
 * the lease gone. Says which records changed (SCOPE_W_*). */
#define PX_SCOPE_W_DAY   1
#define PX_SCOPE_W_LEASE 2
unsigned px_scope_book(const struct px_scope *sc, struct px_scope_recs *r,
    const struct px_lease *l, enum px_settle how, long tokens,
    int64_t now);
/* Extend lease id to now + ttl_ms; 1 if it was there. */
int px_scope_renew(struct px_scope_recs *r, uint64_t id, int64_t now,
    int64_t ttl_ms);

/* Calendar day boundaries of a rule around now: starts[0] < now is the
 * previous day's start, starts[1] <= now < starts[2] today, starts[3] the
 * day after tomorrow. Redis is given these (its clock may differ from
 * ours by seconds, never by a day). */
void px_day_starts(enum px_dayrule d, int64_t now, int64_t starts[4]);

/* --- reservations and settlements ------------------------------------------------ */

/* A reservation being decided (ledger.h: px_ledger_reserve_ask). */
struct px_resv {
	const struct px_ask *ask;
	const struct px_candidate *c;	/* = ask->c */
	size_t   nc;
	uint32_t tokens;
	int64_t  now;
	uint64_t lease_id;	/* a fresh id for capped scopes */
	int      carried;	/* the client's request is already booked by
				 * an earlier attempt (struct px_scope) */
	struct px_lease *lease;	/* filled on PX_OK */
	size_t   ci;		/* the candidate being walked */
	/* filled on PX_ERATE */
	int64_t  earliest;	/* soonest moment some key has room */
	enum px_limit limit;	/* ... and what holds that key */
	int      fits;		/* the estimate fits some key's token limits */
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
	int      carried;	/* the lease's client request was booked by
				 * an earlier attempt: never given back here */
};

/* An operator's act as records (ledger.c builds it): the health records
 * to change (full names without prefix, e.g. "h/gemini/1a2b3c4d") and
 * the records to delete (e.g. "m/k/gemini/1a2b3c4d"). */
#define PX_RECNAME 128
typedef char px_recname[PX_RECNAME];
struct px_admin_plan {
	enum px_admin_op op;
	const char *reason;	/* DISABLE */
	int64_t now;
	size_t nhealth, ndel;
	px_recname *health;
	px_recname *del;
};

/* An operator's disable: no probe ever (px_pol_health_free_at gives
 * this; Retry-After is capped at a day). 2^61 is exact in Lua too. */
#define PX_NEVER_MS ((int64_t)1 << 61)

/* What an act does to a key's health (restated in ledger.lua). */
void px_pol_admin(struct px_health *h, enum px_admin_op op,
    const char *reason);
/* The reason an operator's disable records: "operator: TEXT" (cut and
 * cleaned by px_rec_set_reason). */
void px_pol_admin_reason(const char *reason, char out[PX_REASON_MAX]);

#define PX_STATS_REC "S/stats"	/* the counters' record name */

struct px_ledger_ops {
	const char *name;
	/* open after px_ledger_open set cfg and the LMDB store */
	enum px_err (*open)(struct px_ledger *lg, char *detail, size_t cap);
	void (*close)(struct px_ledger *lg);
	/* PX_OK (lease filled), PX_ERATE (r->earliest, limit, fits, nkeys,
	 * nent), PX_ESTORE or PX_EUNAVAIL (the backend is unreachable) */
	enum px_err (*reserve)(struct px_ledger *lg,
	    struct px_ledger_scratch *s, struct px_resv *r);
	enum px_err (*settle)(struct px_ledger *lg,
	    struct px_ledger_scratch *s, const struct px_settle_req *q);
	enum px_err (*renew)(struct px_ledger *lg,
	    struct px_ledger_scratch *s, const struct px_lease *l,
	    int64_t now);
	/* fill s->snap as of now (the backend's clock may replace it) */
	enum px_err (*snapshot)(struct px_ledger *lg,
	    struct px_ledger_scratch *s, int64_t now);
	/* in one step: px_pol_admin on each health record named in
	 * a->health, then delete every record named in a->del */
	enum px_err (*admin)(struct px_ledger *lg,
	    struct px_ledger_scratch *s, const struct px_admin_plan *a);
	/* every health record ("h/<provider>/<id>", value): fn for each,
	 * at most PX_RETIRED_MAX */
	enum px_err (*health_all)(struct px_ledger *lg,
	    struct px_ledger_scratch *s, void (*fn)(void *ctx,
	    const char *name, size_t nlen, const void *v, size_t len),
	    void *ctx);
	/* add delta[PX_ST_N] to the shared counters; read them */
	enum px_err (*stats_add)(struct px_ledger *lg,
	    struct px_ledger_scratch *s, const uint64_t *delta);
	enum px_err (*stats_read)(struct px_ledger *lg,
	    struct px_ledger_scratch *s, uint64_t *out);
};

extern const struct px_ledger_ops px_ledger_lmdb_ops;
extern const struct px_ledger_ops px_ledger_redis_ops;

/* Scope records kept for reuse: about as many as operations run at once
 * in a process (LMDB writers take turns), however many threads it has. */
#define PX_RECS_POOL 8

struct px_ledger {
	const struct px_config *cfg;
	const struct px_ledger_ops *ops;
	struct px_store *st;	/* the host's LMDB environment (the lmdb
				 * backend's records; signatures always) */
	void *be;		/* the backend's shared state */
	/* decoded scope records (62 KB each) lent to one operation at a
	 * time: a per-thread copy made every worker thread hold one */
	pthread_mutex_t recs_mu;
	struct px_scope_recs *recs[PX_RECS_POOL];
	unsigned nrecs;
};

/* Lend s a scope-records block for one operation (s->rec), and take it
 * back; a scratch that already has one (s->own) keeps it. */
enum px_err px_recs_lend(struct px_ledger *lg, struct px_ledger_scratch *s);
void px_recs_back(struct px_ledger *lg, struct px_ledger_scratch *s);

struct px_ledger_scratch {
	const struct px_config *cfg;
	int      not_entitled;		/* last reserve: see ledger.h */
	enum px_limit limit;		/* last reserve: see ledger.h */
	size_t   cap;			/* keys in the whole config */
	struct px_keyref  *refs;
	struct px_keyview *views;
	int64_t          *free_at;
	struct px_scope   sc[PX_SCOPES_MAX + 1];	/* + the client's */
	struct px_scope_recs *rec;	/* one scope's records, decoded: lent
					 * for one operation (px_recs_lend) */
	struct px_scope_recs *own;	/* a scratch's own (migration) */
	struct px_health  h;
	unsigned char    *enc;		/* one record being encoded */
	size_t            enccap;
	uint64_t          rng;		/* lease ids */
	/* One client request, several attempts (ledger.c): the client
	 * whose request the last settlement left booked, and the lease
	 * of a retry that did not book it again. */
	const struct px_client_cfg *held;
	struct {
		const struct px_key_cfg *key;
		const struct px_client_cfg *client;
		int64_t t_ms;
	} carry;
	struct px_snapshot snap;	/* the last snapshot */
	struct px_scope  *snap_sc;	/* the scope of each snap.scopes[] */
	void             *be;		/* the backend's per-thread state,
					 * made on first use */
	void            (*be_free)(void *be);	/* and how it goes */
};

/* The keys of provider p in config order into refs[0..cap); the count. */
size_t px_ledger_keys_of(const struct px_config *cfg, enum px_provider_id p,
    struct px_keyref *refs, size_t cap);
int px_ledger_has_provider(const struct px_config *cfg, enum px_provider_id p);

/* Record names (ledger_rec.h) into dst[cap]: kind 'm', 'd', 'l' of a
 * scope name; 'h', 'e' of a key; 'p', 'r' (the cursor "rr/") of a
 * provider (id NULL); 't' of a client scope. */
void px_ledger_recname(char *dst, size_t cap, char kind, enum px_provider_id p,
    const char *id);
void px_ledger_scopename(char *dst, size_t cap, char kind, const char *scope);

/* Bring a schema-1 LMDB ledger to the current records (ledger_migrate.c);
 * detail says what to do when it fails. */
struct px_store;
enum px_err px_ledger_migrate(struct px_store *st,
    const struct px_config *cfg, char *detail, size_t cap);

/* --- policy steps (pure, ledger.c) ----------------------------------------------- */

/* When the key's health lets it serve again (now if it can). */
int64_t px_pol_health_free_at(const struct px_health *h, int64_t now);

/* Until when key marks forbid model (0: they do not). */
/* Is k one of the keys the reservation must not use (tried already)? */
int px_pol_excluded(const struct px_resv *r, const struct px_key_cfg *k);
int64_t px_pol_ent_until(const struct px_entrec *e, const char *model,
    int64_t now);

/* Fold one scope's evaluation into a key's (or start with ev->ok = 1,
 * free_at = now, fits = 1). */
void px_pol_fold(struct px_scope_eval *acc, const struct px_scope_eval *ev);

/*
 * Key i (refs[i]) as the walk of candidate r->c[r->ci] sees it: agg is
 * its scopes folded (agg->req_day: the key scope's), s->h its health, e
 * its marks, backoff the provider's. Fills s->views[i], s->free_at[i] and
 * r's summary fields.
 */
void px_pol_view(struct px_ledger_scratch *s, struct px_resv *r, size_t i,
    const struct px_scope_eval *agg, const struct px_entrec *e,
    int64_t backoff);

/* The key's health record after it was chosen (lifetime count, probe). */
void px_pol_take_key(struct px_health *h, int64_t now);

/* Fill the lease of a reservation granted on key i of candidate ci. */
void px_pol_lease(const struct px_ledger_scratch *s, struct px_resv *r,
    size_t ci, size_t i);

/* The key's lifetime counters after a settlement. */
void px_pol_book_key(struct px_health *h, const struct px_settle_req *q);
/* A client's lifetime totals after a reservation (q NULL; not for a
 * carried one) or a settlement. */
void px_pol_book_client(struct px_totals *t, const struct px_lease *l,
    const struct px_settle_req *q);

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

/* One key's entry of s->snap from its decoded records (the key scope's
 * in s->rec, its health in s->h). */
void px_pol_snap_key(struct px_ledger_scratch *s, size_t slot,
    const struct px_keyref *k, const struct px_entrec *e, int64_t now);
/* snap.scopes[i] from its scope's records in s->rec (t: a client's
 * totals, else NULL). */
void px_pol_snap_scope(struct px_ledger_scratch *s, size_t i,
    const struct px_totals *t, int64_t now);

#endif
