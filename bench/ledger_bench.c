/*
 * ledger_bench.c -- reservations per second and latency through the real
 * ledger (common/ledger.c over its LMDB or Redis backend) for `make bench`.
 * Owns: P forked processes, each opening the ledger after fork (as
 * responders do) and running T threads, each thread with its own scratch
 * (with Redis: its own connection). Each thread makes one untimed warm-up
 * operation (with Redis: connect, SCRIPT LOAD); when every thread is warm
 * a start gate opens and all of them loop until one common deadline, D
 * seconds later, on px_ledger_reserve_ask (mode "r"), or reserve + settle,
 * the two ledger calls every request makes (mode "rs"); px_ledger_maintain
 * about once a second from each process's first thread, like the server.
 * Each operation (a
 * reserve, or a reserve + settle pair) is timed with CLOCK_MONOTONIC into
 * a fixed log-linear histogram per thread (bounded memory: 1.6 % wide
 * buckets, 1 ns to 68 s), merged per process into shared memory. After
 * the run the parent opens the ledger and checks from a snapshot that the
 * windows and totals hold exactly what was booked. Prints key=value lines.
 * -F (keys busy all day): prefill only. One process reserves a request
 * on every key in each minute of the last day and each second of the last
 * minute (times passed in: with Redis through the test knob
 * AIPROXY_TEST_LEDGER_CALLER_CLOCK, set in that process only; the bench's
 * Redis runs on this host's clock), prints the redis_prefix it used and
 * exits. A run with -x PREFIX on the same STATE_DIR then times its loop on
 * the records of keys in steady use, with full day windows, instead of
 * near-empty ones (a write re-encodes a key's windows, so their fill sets
 * its cost); its check is on the change of the day windows and lifetime
 * totals (the prefill's minute entries expire during the run).
 * -q (quota features on): the keys' entry names an owner (its own
 * windows and a max_concurrent cap, so every reservation also takes a
 * lease) and has a model_limits entry for the bench's model, so each
 * reservation draws on four scopes (key, key+model, owner, owner's
 * leases) instead of one; the check then also covers the owner's and
 * the (key, model) windows and that no lease is left in flight. The
 * prefill (-F -q) settles what it reserves, so it leaves no lease.
 * -M: no px_ledger_maintain in the loop (with LMDB: no once-a-second
 * reader check and sync), to see what it adds to the latency tail.
 * Never: sleeps, or lets a limit refuse (limits are at their maximum,
 * max_concurrent (1000) above the threads in flight, every reservation
 * takes 1 token).
 *
 * usage: ledger_bench -d STATE_DIR [-b lmdb|lmdb-wm|redis]
 *                     [-r|-u REDIS_URL]
 *                     [-p PROCS] [-T THREADS] [-t SECONDS] [-k KEYS]
 *                     [-m r|rs] [-q] [-M] [-F | -x REDIS_PREFIX]
 * STATE_DIR is needed with Redis too (the LMDB environment of the host's
 * caches is opened for every backend). Each Redis run uses a fresh
 * redis_prefix, so runs against one server never share records, unless
 * -x names the prefix of a prefill.
 */
#define _DEFAULT_SOURCE 1	/* MAP_ANONYMOUS */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ledger.h"
#include "router.h"

#define LIMIT "1000000000"
#define CONC_LIMIT "1000"	/* config's largest max_concurrent */
#define CONC_MAX 1000
#define MAXPROCS 64
#define MAXTHREADS 64

/* Histogram of nanoseconds: exact below 128, then 64 buckets per power
 * of two; values above 2^36 ns land in the last bucket. */
#define SUB_BITS 6
#define SUB (1u << SUB_BITS)
#define MAX_EXP 36
#define NB ((MAX_EXP - SUB_BITS + 1) * SUB + SUB)

struct hist {
	uint64_t n[NB];
	uint64_t max;
};

static const struct px_candidate cand[] = {
	{ "bench-model", PX_PROV_OPENROUTER },
};
static const struct px_ask ask = { cand, 1, 1, NULL, 0, NULL };

static int quota;	/* -q: an owner, a model limit, max_concurrent */
static int no_maint;	/* -M: no px_ledger_maintain (to see its cost) */

/* What one process did (shared with the parent). */
struct slot {
	long     ops, reserved, settled, errors;
	int      failed;
	char     why[160];
	struct hist h;
};

/* What the ledger holds, summed over the keys (from one snapshot). */
struct sums {
	int      ok;
	uint64_t rq, tk, rd, lr, lt, lo, hi;
	/* -q: the owner's and the (key, model) scopes' windows, leases */
	uint64_t orq, ord, mrq, mrd, infl;
};

/* The parent's view of the run, shared with its children. */
struct shared {
	struct sums before;	/* after the prefill (-F); zero otherwise */
	uint64_t end_ns;	/* the timed loops' common deadline */
	long     prefill_ops;
	double   prefill_s;
	int      prefill_failed;
	char     why[160];
};

/* The start gate of a worker process: each thread writes one byte to
 * ready_fd when warm, then reads gate_fd until the parent closes its end;
 * all threads then loop until sh->end_ns. */
static int ready_fd = -1, gate_fd = -1;

static void
signal_ready(int n)
{
	char b[MAXTHREADS];

	memset(b, 'r', sizeof(b));
	while (n > 0 && write(ready_fd, b, (size_t)n) < 0 && errno == EINTR)
		;
}

static void
wait_gate(void)
{
	char c;
	ssize_t n;

	/* EOF: the gate is open (only the parent writes, and it never does) */
	while ((n = read(gate_fd, &c, 1)) != 0 && (n > 0 || errno == EINTR))
		;
}

struct thr {
	pthread_t t;
	const struct px_config *cfg;
	struct px_ledger *lg;
	const struct shared *sh;
	int      settle, maint;
	long     ops, reserved, settled, errors;
	int      failed;
	char     why[160];
	struct hist h;
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned
bucket(uint64_t v)
{
	unsigned e = 0;

	if (v >= (uint64_t)1 << (MAX_EXP + 1))
		return NB - 1;
	while ((v >> e) >= 2 * SUB)
		e++;
	return e * SUB + (unsigned)(v >> e);
}

/* Middle of bucket i, in ns. */
static double
bucket_mid(unsigned i)
{
	unsigned e = i < 2 * SUB ? 0 : i / SUB - 1;
	uint64_t lo = (uint64_t)(i - e * SUB) << e;

	return (double)lo + (double)((uint64_t)1 << e) / 2.0 - 0.5 *
	    (e == 0);
}

static void
hist_add(struct hist *h, uint64_t v)
{
	h->n[bucket(v)]++;
	if (v > h->max)
		h->max = v;
}

static void
hist_merge(struct hist *to, const struct hist *from)
{
	unsigned i;

	for (i = 0; i < NB; i++)
		to->n[i] += from->n[i];
	if (from->max > to->max)
		to->max = from->max;
}

/* The q-quantile in microseconds (0 when empty). */
static double
hist_q_us(const struct hist *h, double q)
{
	uint64_t total = 0, want, seen = 0;
	unsigned i;

	for (i = 0; i < NB; i++)
		total += h->n[i];
	if (total == 0)
		return 0;
	want = (uint64_t)(q * (double)total);
	if (want >= total)
		want = total - 1;
	for (i = 0; i < NB; i++) {
		seen += h->n[i];
		if (seen > want)
			break;
	}
	if (i >= NB - 1 || bucket_mid(i) > (double)h->max)
		return (double)h->max / 1000.0;
	return bucket_mid(i) / 1000.0;
}

static struct px_config *
make_config(const char *dir, int nkeys, int redis, const char *url,
    const char *prefix)
{
	char text[8192], keys[4096], be[512] = "";
	const char *own = "", *ent = "";
	struct px_cfg_errors e;
	struct px_config *cfg = NULL;
	struct timespec ts;
	size_t off = 0;
	int i, n;

	keys[0] = '\0';
	for (i = 0; i < nkeys && off + 32 < sizeof(keys); i++)
		off += (size_t)snprintf(keys + off, sizeof(keys) - off,
		    "%s\"bench-key-%d\"", i ? "," : "", i);
	if (redis > 0 && prefix != NULL) {
		snprintf(be, sizeof(be), "\"state_backend\":\"redis\","
		    "\"redis_url\":\"%s\",\"redis_prefix\":\"%s\",", url,
		    prefix);
	} else if (redis < 0) {	/* lmdb-wm: LMDB with state_writemap */
		snprintf(be, sizeof(be), "\"state_writemap\":true,");
	} else if (redis) {	/* a fresh prefix: this run's records only */
		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(be, sizeof(be), "\"state_backend\":\"redis\","
		    "\"redis_url\":\"%s\",\"redis_prefix\":"
		    "\"aiproxy-bench:%ld.%lld.%09ld:\",", url, (long)getpid(),
		    (long long)ts.tv_sec, ts.tv_nsec);
	}
	if (quota) {	/* every limit far above what a run can book */
		own = "\"owners\":{\"bench-owner\":{\"max_request_min\":"
		    LIMIT ",\"max_request_day\":" LIMIT ",\"max_token_min\":"
		    LIMIT ",\"max_concurrent\":" CONC_LIMIT "}},";
		ent = ",\"owner\":\"bench-owner\",\"model_limits\":{"
		    "\"bench-model\":{\"max_request_min\":" LIMIT ","
		    "\"max_request_day\":" LIMIT ",\"max_token_min\":" LIMIT
		    "}}";
	}
	n = snprintf(text, sizeof(text), "{\"access_key\":\"bench\",%s%s"
	    "\"state_dir\":\"%s\",\"provider_keys\":[{\"provider\":"
	    "\"openrouter\",\"key\":[%s],\"max_request_day\":" LIMIT ","
	    "\"max_token_min\":" LIMIT ",\"max_request_min\":" LIMIT "%s}]}",
	    be, own, dir, keys, ent);
	memset(&e, 0, sizeof(e));
	if (n <= 0 || (size_t)n >= sizeof(text) ||
	    px_config_parse(text, (size_t)n, "bench.json", &cfg, &e) != PX_OK) {
		fprintf(stderr, "ledger_bench: config: %s\n",
		    e.n ? e.msg[0] : "too long");
		return NULL;
	}
	return cfg;
}

/* One operation: a reserve, and its settle in mode rs; counted in w. */
static enum px_err
one(struct thr *w, struct px_ledger_scratch *s, int *stage)
{
	struct px_lease lease;
	int64_t retry;
	enum px_err e;

	*stage = 0;
	e = px_ledger_reserve_ask(w->lg, s, &ask, px_ledger_now_ms(), &lease,
	    &retry);
	if (e != PX_OK)
		return e;
	w->reserved++;
	if (!w->settle)
		return PX_OK;
	*stage = 1;
	e = px_ledger_settle(w->lg, s, &lease, PX_SETTLE_DONE, 1, 0,
	    px_ledger_now_ms());
	if (e == PX_OK)
		w->settled++;
	return e;
}

/* One thread: a warm-up operation (with Redis: connect, SCRIPT LOAD),
 * the start gate, then timed operations until the common deadline. */
static void *
thread_main(void *arg)
{
	struct thr *w = arg;
	struct px_ledger_scratch *s = px_ledger_scratch_new(w->cfg);
	uint64_t t0, t1, end, next_maint;
	enum px_err e;
	int stage;

	if (s == NULL) {
		snprintf(w->why, sizeof(w->why), "scratch: no memory");
		w->failed = 1;
		signal_ready(1);
		return NULL;
	}
	e = one(w, s, &stage);
	signal_ready(1);
	wait_gate();
	end = __atomic_load_n(&w->sh->end_ns, __ATOMIC_SEQ_CST);
	t0 = mono_ns();
	next_maint = t0 + 1000000000u;
	while (e == PX_OK && t0 < end) {
		e = one(w, s, &stage);
		t1 = mono_ns();
		if (e == PX_OK) {
			w->ops++;
			hist_add(&w->h, t1 - t0);
		} else if (e == PX_EUNAVAIL) {
			w->errors++;	/* a 503 in production */
			e = PX_OK;
		}
		if (w->maint && t1 >= next_maint) {
			px_ledger_maintain(w->lg);
			next_maint = t1 + 1000000000u;
			t1 = mono_ns();
		}
		t0 = t1;
	}
	if (e != PX_OK) {
		snprintf(w->why, sizeof(w->why), "%s%s: %s",
		    w->ops == 0 && w->errors == 0 ? "warm-up " : "",
		    stage ? "settle" : "reserve", px_err_name(e));
		w->failed = 1;
	}
	px_ledger_scratch_free(s);
	return NULL;
}

/* One process: T threads on one ledger handle; the totals into sl. */
static void
process_main(const struct px_config *cfg, const struct shared *sh,
    int settle, int nthreads, struct slot *sl)
{
	struct px_ledger *lg = NULL;
	struct thr *w;
	char detail[256] = "";
	int i, started = 0;

	if (px_ledger_open(&lg, cfg, detail, sizeof(detail)) != PX_OK) {
		snprintf(sl->why, sizeof(sl->why), "open: %s", detail);
		sl->failed = 1;
		signal_ready(nthreads);
		return;
	}
	w = calloc((size_t)nthreads, sizeof(*w));
	if (w == NULL) {
		snprintf(sl->why, sizeof(sl->why), "no memory");
		sl->failed = 1;
		signal_ready(nthreads);
		px_ledger_close(lg);
		return;
	}
	for (i = 0; i < nthreads; i++) {
		w[i].cfg = cfg;
		w[i].lg = lg;
		w[i].sh = sh;
		w[i].settle = settle;
		w[i].maint = i == 0 && !no_maint;
		if (pthread_create(&w[i].t, NULL, thread_main, &w[i]) != 0) {
			snprintf(sl->why, sizeof(sl->why), "pthread_create");
			sl->failed = 1;
			signal_ready(nthreads - i);
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(w[i].t, NULL);
		sl->ops += w[i].ops;
		sl->reserved += w[i].reserved;
		sl->settled += w[i].settled;
		sl->errors += w[i].errors;
		hist_merge(&sl->h, &w[i].h);
		if (w[i].failed && !sl->failed) {
			sl->failed = 1;
			memcpy(sl->why, w[i].why, sizeof(sl->why));
		}
	}
	free(w);
	px_ledger_close(lg);
}

static void
take_sums(struct px_ledger *lg, struct px_ledger_scratch *s, struct sums *o)
{
	const struct px_snapshot *sn;
	size_t i;

	memset(o, 0, sizeof(*o));
	o->lo = UINT64_MAX;
	if (px_ledger_snapshot(lg, s, px_ledger_now_ms(), &sn) != PX_OK)
		return;
	for (i = 0; i < sn->nkeys; i++) {
		o->rq += sn->keys[i].req_min;
		o->tk += sn->keys[i].tok_min;
		o->rd += sn->keys[i].req_day;
		o->lr += sn->keys[i].life_requests;
		o->lt += sn->keys[i].life_tokens;
		if (sn->keys[i].req_day < o->lo)
			o->lo = sn->keys[i].req_day;
		if (sn->keys[i].req_day > o->hi)
			o->hi = sn->keys[i].req_day;
		o->infl += sn->keys[i].in_flight;
	}
	for (i = 0; i < sn->nscopes; i++) {
		if (sn->scopes[i].kind == PX_SNAP_OWNER) {
			o->orq += sn->scopes[i].req_min;
			o->ord += sn->scopes[i].req_day;
			o->infl += sn->scopes[i].in_flight;
		} else if (sn->scopes[i].kind == PX_SNAP_KEY_MODEL) {
			o->mrq += sn->scopes[i].req_min;
			o->mrd += sn->scopes[i].req_day;
		}
	}
	o->ok = 1;
}

/* One reservation at time t for the prefill (never settled: a settle
 * leaves the day window as it is); 0 or -1 (why filled). */
static int
prefill_one(struct px_ledger *lg, struct px_ledger_scratch *s, int64_t t,
    struct shared *sh)
{
	struct px_lease lease;
	int64_t retry;
	enum px_err e;

	e = px_ledger_reserve_ask(lg, s, &ask, t, &lease, &retry);
	if (e == PX_OK && quota)	/* its leases gone */
		e = px_ledger_settle(lg, s, &lease, PX_SETTLE_DONE, -1, 0, t);
	if (e != PX_OK) {
		snprintf(sh->why, sizeof(sh->why), "prefill: %s",
		    px_err_name(e));
		return -1;
	}
	sh->prefill_ops++;
	return 0;
}

/*
 * -F, in a process of its own: nkeys reservations (the policy spreads
 * them, one per key) in each minute of the last day but the oldest two (so
 * none leaves the day window during a run that follows within a minute or
 * so), then in each second of the last minute.
 */
static void
prefill(const struct px_config *cfg, int nkeys, struct shared *sh)
{
	struct px_ledger *lg = NULL;
	struct px_ledger_scratch *s;
	char detail[256] = "";
	uint64_t t0 = mono_ns();
	int64_t now;
	int i, k, bad = 0;

	setenv("AIPROXY_TEST_LEDGER_CALLER_CLOCK", "1", 1);
	if (px_ledger_open(&lg, cfg, detail, sizeof(detail)) != PX_OK) {
		snprintf(sh->why, sizeof(sh->why), "prefill open: %s", detail);
		sh->prefill_failed = 1;
		return;
	}
	s = px_ledger_scratch_new(cfg);
	now = px_ledger_now_ms();
	for (i = 1438; s != NULL && !bad && i >= 2; i--)
		for (k = 0; k < nkeys && !bad; k++)
			bad = prefill_one(lg, s, now - (int64_t)i * 60000, sh);
	now = px_ledger_now_ms();
	for (i = 59; s != NULL && !bad && i >= 0; i--)
		for (k = 0; k < nkeys && !bad; k++)
			bad = prefill_one(lg, s, now - (int64_t)i * 1000, sh);
	if (s == NULL || bad)
		sh->prefill_failed = 1;
	sh->prefill_s = (double)(mono_ns() - t0) / 1e9;
	px_ledger_scratch_free(s);
	px_ledger_close(lg);
}

/* In a process of its own before the run: the sums its check starts
 * from (zero on a fresh ledger). */
static void
before_sums(const struct px_config *cfg, struct shared *sh)
{
	struct px_ledger *lg = NULL;
	struct px_ledger_scratch *s;
	char detail[256] = "";

	if (px_ledger_open(&lg, cfg, detail, sizeof(detail)) != PX_OK) {
		snprintf(sh->why, sizeof(sh->why), "open: %s", detail);
		return;
	}
	s = px_ledger_scratch_new(cfg);
	if (s != NULL)
		take_sums(lg, s, &sh->before);
	if (!sh->before.ok)
		snprintf(sh->why, sizeof(sh->why), "snapshot failed");
	px_ledger_scratch_free(s);
	px_ledger_close(lg);
}

/* Run fn in a child process; 0 when it ran to its end. */
static int
in_child(void (*fn)(const struct px_config *, struct shared *),
    const struct px_config *cfg, struct shared *sh)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		fn(cfg, sh);
		_exit(0);
	}
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int prefill_nkeys;

static void
prefill_main(const struct px_config *cfg, struct shared *sh)
{
	prefill(cfg, prefill_nkeys, sh);
}

/*
 * After the run: what the ledger holds, from one snapshot. Each reserve
 * booked 1 request and 1 token estimate in the minute window and 1 request
 * in the day window and the lifetime total; each settle kept the token
 * (1 used) in the lifetime total. Prints the sums and exact=1 when they
 * match what the processes counted (a run lasts less than a minute, so
 * nothing it booked left a window). On a ledger that held something before
 * (a prefill), the change of the day windows and the totals is checked.
 */
static void
verify(const struct px_config *cfg, const struct sums *b, long reserved,
    long settled, int settle, int check)
{
	struct px_ledger *lg = NULL;
	struct px_ledger_scratch *s;
	struct sums a;
	char detail[256] = "";
	uint64_t r = (uint64_t)reserved;
	int exact;

	if (px_ledger_open(&lg, cfg, detail, sizeof(detail)) != PX_OK) {
		printf("verify=open failed: %s\n", detail);
		return;
	}
	s = px_ledger_scratch_new(cfg);
	if (s != NULL)
		take_sums(lg, s, &a);
	if (s == NULL || !a.ok || !b->ok) {
		printf("verify=snapshot failed\n");
		px_ledger_scratch_free(s);
		px_ledger_close(lg);
		return;
	}
	exact = a.rd - b->rd == r && a.lr - b->lr == r &&
	    (!settle || a.lt - b->lt == (uint64_t)settled) &&
	    (b->lr != 0 || (a.rq == r && a.tk == r));
	if (quota)	/* the owner and (key, model) booked alike, no lease */
		exact = exact && a.ord - b->ord == r && a.mrd - b->mrd == r &&
		    (b->lr != 0 || (a.orq == r && a.mrq == r)) &&
		    a.infl == 0;
	printf("booked_req_min=%llu\nbooked_tok_min=%llu\nbooked_req_day=%llu\n"
	    "booked_life_requests=%llu\nbooked_life_tokens=%llu\n"
	    "key_spread=%llu\n", (unsigned long long)a.rq,
	    (unsigned long long)a.tk, (unsigned long long)(a.rd - b->rd),
	    (unsigned long long)(a.lr - b->lr),
	    (unsigned long long)(a.lt - b->lt),
	    (unsigned long long)(a.hi - a.lo));
	if (quota)
		printf("booked_owner_req_day=%llu\nbooked_model_req_day=%llu\n"
		    "in_flight_after=%llu\n",
		    (unsigned long long)(a.ord - b->ord),
		    (unsigned long long)(a.mrd - b->mrd),
		    (unsigned long long)a.infl);
	if (check)
		printf("exact=%d\n", exact);
	px_ledger_scratch_free(s);
	px_ledger_close(lg);
}

static void
usage(void)
{
	fprintf(stderr, "usage: ledger_bench -d STATE_DIR "
	    "[-b lmdb|lmdb-wm|redis] "
	    "[-r|-u REDIS_URL] [-p PROCS] [-T THREADS] [-t SECONDS] "
	    "[-k KEYS] [-m r|rs] [-q] [-M] [-F | -x REDIS_PREFIX]\n"
	    "  -q (an owner, a model limit, max_concurrent) needs -m rs "
	    "or -F\n");
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *mode = "r", *backend = "lmdb";
	const char *url = "redis://127.0.0.1:6379/0", *prefix = NULL;
	struct px_config *cfg;
	struct slot *sl;
	struct shared *sh;
	struct hist *all;
	int procs = 1, nthreads = 1, nkeys = 8, opt, i, failed = 0, redis, wm;
	int settle, full = 0;
	double secs = 2.0, run_s;
	int ready[2], gate[2];
	long nready = 0;
	ssize_t n;
	char buf[256];
	uint64_t t0;
	long ops = 0, reserved = 0, settled = 0, errors = 0;
	pid_t pid;

	while ((opt = getopt(argc, argv, "d:b:r:u:p:T:t:k:m:qMFx:")) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'b': backend = optarg; break;
		case 'r':	/* FALLTHROUGH */
		case 'u': url = optarg; break;
		case 'q': quota = 1; break;
		case 'M': no_maint = 1; break;
		case 'p': procs = atoi(optarg); break;
		case 'T': nthreads = atoi(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'k': nkeys = atoi(optarg); break;
		case 'm': mode = optarg; break;
		case 'F': full = 1; break;
		case 'x': prefix = optarg; break;
		default: dir = NULL; optind = argc; break;
		}
	}
	redis = strcmp(backend, "redis") == 0;
	wm = strcmp(backend, "lmdb-wm") == 0;
	settle = strcmp(mode, "rs") == 0;
	if (dir == NULL || procs < 1 || procs > MAXPROCS || nthreads < 1 ||
	    nthreads > MAXTHREADS || nkeys < 1 || secs <= 0 || secs > 50 ||
	    (!redis && !wm && strcmp(backend, "lmdb") != 0) ||
	    (!settle && strcmp(mode, "r") != 0) ||
	    (quota && !settle && !full) ||	/* leases would pile up */
	    (quota && procs * nthreads > CONC_MAX)) {
		usage();
		return 2;
	}
	cfg = make_config(dir, nkeys, wm ? -1 : redis, url, prefix);
	if (cfg == NULL)
		return 1;
	sl = mmap(NULL, sizeof(*sl) * (size_t)procs, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	all = calloc(1, sizeof(*all));
	if (sl == MAP_FAILED || sh == MAP_FAILED || all == NULL) {
		perror("ledger_bench: memory");
		return 1;
	}
	memset(sl, 0, sizeof(*sl) * (size_t)procs);
	memset(sh, 0, sizeof(*sh));
	if (full) {
		prefill_nkeys = nkeys;
		if (in_child(prefill_main, cfg, sh) != 0 || sh->prefill_failed) {
			fprintf(stderr, "ledger_bench: %s\n", sh->why[0] ?
			    sh->why : "prefill failed");
			printf("failed=1\n");
			return 1;
		}
		printf("backend=%s\nquota=%d\nkeys=%d\nprefill_reservations=%ld\n"
		    "prefill_s=%.2f\nredis_prefix=%s\nfailed=0\n", backend,
		    quota, nkeys, sh->prefill_ops, sh->prefill_s,
		    redis ? cfg->redis_prefix : "");
		px_config_free(cfg);
		return 0;
	}
	if (in_child(before_sums, cfg, sh) != 0 || !sh->before.ok) {
		fprintf(stderr, "ledger_bench: before the run: %s\n", sh->why);
		printf("failed=1\n");
		return 1;
	}
	if (pipe(ready) != 0 || pipe(gate) != 0) {
		perror("ledger_bench: pipe");
		return 1;
	}
	fflush(NULL);
	for (i = 0; i < procs; i++) {
		pid = fork();
		if (pid == 0) {
			close(ready[0]);
			close(gate[1]);
			ready_fd = ready[1];
			gate_fd = gate[0];
			process_main(cfg, sh, settle, nthreads, &sl[i]);
			_exit(0);
		}
		if (pid < 0) {
			sl[i].failed = 1;
			snprintf(sl[i].why, sizeof(sl[i].why), "fork failed");
		} else {
			nready += nthreads;
		}
	}
	close(ready[1]);
	close(gate[0]);
	/* every thread warm (or its process gone): open the gate */
	while (nready > 0 && ((n = read(ready[0], buf, sizeof(buf))) > 0 ||
	    (n < 0 && errno == EINTR)))
		if (n > 0)
			nready -= n;
	t0 = mono_ns();
	__atomic_store_n(&sh->end_ns, t0 + (uint64_t)(secs * 1e9),
	    __ATOMIC_SEQ_CST);
	close(gate[1]);
	while (wait(NULL) > 0)
		;
	run_s = (double)(mono_ns() - t0) / 1e9;
	close(ready[0]);
	for (i = 0; i < procs; i++) {
		if (sl[i].failed) {
			if (!failed)
				fprintf(stderr, "ledger_bench: process %d: %s\n",
				    i, sl[i].why);
			failed = 1;
		}
		ops += sl[i].ops;
		reserved += sl[i].reserved;
		settled += sl[i].settled;
		errors += sl[i].errors;
		hist_merge(all, &sl[i].h);
	}
	printf("backend=%s\nprocs=%d\nthreads=%d\nmode=%s\nquota=%d\nkeys=%d\n"
	    "ops=%ld\nseconds=%.2f\nops_per_s=%.0f\nerrors=%ld\n"
	    "lat_p50_us=%.2f\nlat_p90_us=%.2f\nlat_p99_us=%.2f\n"
	    "lat_p999_us=%.2f\nlat_max_us=%.2f\n",
	    backend, procs, nthreads, mode, quota, nkeys, ops, run_s,
	    (double)ops / secs, errors,
	    hist_q_us(all, 0.50), hist_q_us(all, 0.90), hist_q_us(all, 0.99),
	    hist_q_us(all, 0.999), (double)all->max / 1000.0);
	if (!failed)	/* the warm-up operations are counted in both */
		verify(cfg, &sh->before, reserved, settled, settle,
		    errors == 0);
	printf("failed=%d\n", failed);
	munmap(sl, sizeof(*sl) * (size_t)procs);
	munmap(sh, sizeof(*sh));
	free(all);
	px_config_free(cfg);
	return failed;
}
