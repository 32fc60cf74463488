/*
 * redis.c -- hiredis behind px_redis (redis.h).
 * Facts this relies on (hiredis 0.14, Debian 12): a context is not
 * thread-safe; redisSetTimeout sets the socket's send and receive
 * timeouts, after which a blocking call returns NULL with c->err set and
 * the context is unusable; EVALSHA of a script the server does not hold
 * answers an error starting "NOSCRIPT"; scripts run atomically on the
 * server, and a script may call TIME before it writes (Redis 7 replicates
 * a script's effects, not the script). A connection the server closed
 * while we were idle reads as end-of-file before we send anything.
 */
#include "redis.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "redisurl.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

struct px_redis {
	const struct px_config *cfg;
	const char *script;
	redisContext *c;
	char  sha[41];		/* of the loaded script; "" until loaded */
	long  retry_at;		/* monotonic ms: no connect before */
	long  backoff_ms;
	char  err[160];
	const char **av;	/* the command being sent (grows) */
	size_t *al;
	size_t acap;
};

struct px_redis *
px_redis_new(const struct px_config *cfg, const char *script)
{
	struct px_redis *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->cfg = cfg;
	r->script = script;
	return r;
}

static void
drop(struct px_redis *r)
{
	if (r->c != NULL)
		redisFree(r->c);
	r->c = NULL;
	r->sha[0] = '\0';
}

void
px_redis_free(struct px_redis *r)
{
	if (r == NULL)
		return;
	drop(r);
	free(r->av);
	free(r->al);
	free(r);
}

const char *
px_redis_error(const struct px_redis *r)
{
	return r->err;
}

/* Note a failure and back off; always PX_EUNAVAIL. */
static enum px_err
down(struct px_redis *r, const char *what)
{
	snprintf(r->err, sizeof(r->err), "redis %s: %s", what,
	    r->c != NULL && r->c->errstr[0] != '\0' ? r->c->errstr :
	    "no connection");
	drop(r);
	r->backoff_ms = r->backoff_ms == 0 ? BACKOFF_MIN_MS :
	    r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
	    r->backoff_ms * 2;
	r->retry_at = px_mono_ms() + r->backoff_ms;
	return PX_EUNAVAIL;
}

/* A command whose reply must not be an error; 0 ok, -1 (r->err set). */
static int
simple(struct px_redis *r, int argc, const char **argv, const size_t *lens,
    char *keep, size_t cap)
{
	redisReply *rep = redisCommandArgv(r->c, argc, argv, lens);
	int ok;

	if (rep == NULL)
		return -1;
	ok = rep->type != REDIS_REPLY_ERROR;
	if (!ok)	/* AUTH errors never echo the password */
		snprintf(r->err, sizeof(r->err), "redis %s: %.100s", argv[0],
		    rep->str);
	else if (keep != NULL && rep->type == REDIS_REPLY_STRING)
		snprintf(keep, cap, "%s", rep->str);
	freeReplyObject(rep);
	return ok ? 0 : 1;
}

static int
load_script(struct px_redis *r)
{
	const char *argv[3] = { "SCRIPT", "LOAD", r->script };
	size_t lens[3] = { 6, 4, strlen(r->script) };

	return simple(r, 3, argv, lens, r->sha, sizeof(r->sha));
}

/* AUTH, SELECT, SCRIPT LOAD on a fresh connection: 0, -1 I/O, 1 refused */
static int
setup(struct px_redis *r, long db)
{
	char dbs[24];
	const char *argv[2];
	size_t lens[2];
	int rc = 0;

	if (r->cfg->redis_password != NULL) {
		argv[0] = "AUTH";
		argv[1] = r->cfg->redis_password;
		lens[0] = 4;
		lens[1] = strlen(argv[1]);
		rc = simple(r, 2, argv, lens, NULL, 0);
	}
	if (rc == 0 && db != 0) {
		snprintf(dbs, sizeof(dbs), "%ld", db);
		argv[0] = "SELECT";
		argv[1] = dbs;
		lens[0] = 6;
		lens[1] = strlen(dbs);
		rc = simple(r, 2, argv, lens, NULL, 0);
	}
	return rc == 0 ? load_script(r) : rc;
}

static enum px_err
connect_now(struct px_redis *r)
{
	struct px_redis_addr a;
	struct timeval tv;
	char why[160];
	int rc;

	if (px_redis_url_parse(r->cfg->redis_url, &a, why, sizeof(why)) != 0) {
		snprintf(r->err, sizeof(r->err), "redis_url: %.140s", why);
		return PX_EUNAVAIL;	/* --check-config catches this */
	}
	tv.tv_sec = r->cfg->redis_timeout_ms / 1000;
	tv.tv_usec = (r->cfg->redis_timeout_ms % 1000) * 1000;
	r->c = a.is_unix ? redisConnectUnixWithTimeout(a.path, tv) :
	    redisConnectWithTimeout(a.host, a.port, tv);
	if (r->c == NULL || r->c->err != 0)
		return down(r, "connect");
	if (redisSetTimeout(r->c, tv) != REDIS_OK ||
	    (!a.is_unix && redisEnableKeepAlive(r->c) != REDIS_OK))
		return down(r, "connect");
	rc = setup(r, a.db);
	if (rc < 0)
		return down(r, "setup");
	if (rc > 0) {	/* refused (AUTH, SELECT): r->err says why */
		drop(r);
		r->retry_at = px_mono_ms() + BACKOFF_MAX_MS;
		return PX_EUNAVAIL;
	}
	r->backoff_ms = 0;
	return PX_OK;
}

/*
 * Has the server hung up on a connection kept since the last call (its
 * idle "timeout", a restart, a NAT drop)? Then a new one is made without
 * counting a failure. Peeking cannot book anything twice: nothing was
 * sent yet.
 */
static int
hung_up(const struct px_redis *r)
{
	char b;
	ssize_t n = recv(r->c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR);
}

static enum px_err
ensure(struct px_redis *r)
{
	if (r->c != NULL && hung_up(r))
		drop(r);
	if (r->c != NULL)
		return PX_OK;
	if (px_mono_ms() < r->retry_at)
		return PX_EUNAVAIL;	/* r->err still says why */
	return connect_now(r);
}

/* Room for n arguments in r->av, r->al; 0 or -1. */
static int
room(struct px_redis *r, size_t n)
{
	const char **av;
	size_t *al;

	if (n <= r->acap)
		return 0;
	av = realloc(r->av, n * sizeof(*av));
	if (av == NULL)
		return -1;
	r->av = av;
	al = realloc(r->al, n * sizeof(*al));
	if (al == NULL)
		return -1;
	r->al = al;
	r->acap = n;
	return 0;
}

/* EVALSHA once; NULL on I/O failure (or no memory for the command). */
static redisReply *
evalsha(struct px_redis *r, size_t nkeys, size_t argc,
    const char *const *argv, const size_t *lens)
{
	const char **av;
	size_t *al, i;
	char nk[24];

	if (argc > INT_MAX - 3 || room(r, argc + 3) != 0)
		return NULL;
	av = r->av;
	al = r->al;
	snprintf(nk, sizeof(nk), "%zu", nkeys);
	av[0] = "EVALSHA";
	av[1] = r->sha;
	av[2] = nk;
	al[0] = 7;
	al[1] = strlen(r->sha);
	al[2] = strlen(nk);
	for (i = 0; i < argc; i++) {
		av[3 + i] = argv[i];
		al[3 + i] = lens[i];
	}
	return redisCommandArgv(r->c, (int)(argc + 3), av, al);
}

/*
 * A server that answers but will not write now (out of memory with
 * noeviction, a failed RDB save, a read-only replica, a busy or loading
 * server) is unavailable, like one that does not answer; any other error
 * is ours (a script fault).
 */
static int
refused(const char *msg)
{
	static const char *const why[] = { "OOM", "MISCONF", "READONLY",
	    "BUSY", "LOADING", "MASTERDOWN", "NOREPLICAS", "TRYAGAIN" };
	size_t i;

	for (i = 0; i < sizeof(why) / sizeof(why[0]); i++)
		if (strstr(msg, why[i]) != NULL)
			return 1;
	return 0;
}

enum px_err
px_redis_eval(struct px_redis *r, size_t nkeys, size_t argc,
    const char *const *argv, const size_t *lens,
    struct px_redis_reply **out)
{
	redisReply *rep;
	enum px_err e;

	*out = NULL;
	e = ensure(r);
	if (e != PX_OK)
		return e;
	rep = evalsha(r, nkeys, argc, argv, lens);
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR &&
	    strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		/* the server restarted or flushed its scripts */
		freeReplyObject(rep);
		rep = NULL;
		if (load_script(r) == 0)
			rep = evalsha(r, nkeys, argc, argv, lens);
	}
	if (rep == NULL)
		return down(r, "call");
	if (rep->type != REDIS_REPLY_ARRAY) {
		snprintf(r->err, sizeof(r->err), "redis script: %.120s",
		    rep->type == REDIS_REPLY_ERROR ? rep->str :
		    "not an array reply");
		e = rep->type == REDIS_REPLY_ERROR && refused(rep->str) ?
		    PX_EUNAVAIL : PX_ESTORE;
		freeReplyObject(rep);
		return e;
	}
	*out = (struct px_redis_reply *)rep;
	return PX_OK;
}

static const redisReply *
elem(const struct px_redis_reply *rr, size_t i)
{
	const redisReply *rep = (const redisReply *)rr;

	return i < rep->elements ? rep->element[i] : NULL;
}

size_t
px_rr_len(const struct px_redis_reply *rr)
{
	return ((const redisReply *)rr)->elements;
}

int
px_rr_int(const struct px_redis_reply *rr, size_t i, long long *v)
{
	const redisReply *e = elem(rr, i);

	if (e == NULL || e->type != REDIS_REPLY_INTEGER)
		return -1;
	*v = e->integer;
	return 0;
}

const char *
px_rr_str(const struct px_redis_reply *rr, size_t i, size_t *len)
{
	const redisReply *e = elem(rr, i);

	*len = 0;
	if (e == NULL || e->type != REDIS_REPLY_STRING)
		return NULL;
	*len = e->len;
	return e->str;
}

void
px_rr_free(struct px_redis_reply *rr)
{
	if (rr != NULL)
		freeReplyObject((redisReply *)rr);
}
