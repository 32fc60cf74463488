/*
 * server.c -- threads, processes and signals (see server.h).
 * Shutdown: every thread blocks SIGTERM/SIGINT; main sigwait()s, sets the
 * stop flag and sends SIGUSR1 to each of its threads still in accept()
 * (libfcgi's SIGUSR1 handler has no SA_RESTART, so accept returns EINTR).
 * It repeats the kick until all have left: a thread can be between its flag
 * check and accept() when a kick lands. Streams in flight get DRAIN_MS.
 * Never: an accept mutex (libfcgi needs none and it lets one stuck
 * connection stall every thread), or shutdown(2) on the shared socket.
 */
#include "server.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fcgi_io.h"
#include "log.h"
#include "worker.h"

#define STACK_BYTES (256u << 10)
#define DRAIN_MS    10000
#define ARENAS      4	/* malloc arenas per process */

extern char **environ;

enum { T_BUSY, T_ACCEPTING, T_EXITED };

struct thr {
	pthread_t           tid;
	int                 started;
	atomic_int          state;
	struct px_fcgi_req *rq;
	struct px_worker    w;
	struct srv         *s;
};

struct srv {
	struct px_app *app;
	atomic_int     stop;
	struct thr    *t;
	unsigned       n;
};

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *
thread_main(void *arg)
{
	struct thr *t = arg;
	struct px_io io;

	while (!atomic_load(&t->s->stop)) {
		atomic_store(&t->state, T_ACCEPTING);
		if (atomic_load(&t->s->stop))
			break;
		if (px_fcgi_accept(t->rq, &io) < 0)
			break;
		atomic_store(&t->state, T_BUSY);
		px_app_handle(&t->w, &io);
		px_fcgi_finish(t->rq, &io);
	}
	atomic_store(&t->state, T_EXITED);
	return NULL;
}

static void
term_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

static unsigned
count_state(struct srv *s, int state)
{
	unsigned i, n = 0;

	for (i = 0; i < s->n; i++)
		if (s->t[i].started && atomic_load(&s->t[i].state) == state)
			n++;
	return n;
}

static unsigned
count_live(struct srv *s)
{
	unsigned i, n = 0;

	for (i = 0; i < s->n; i++)
		if (s->t[i].started && atomic_load(&s->t[i].state) != T_EXITED)
			n++;
	return n;
}

static int
start_threads(struct srv *s, int fd)
{
	pthread_attr_t attr;
	unsigned i;
	int rc = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_BYTES);
	for (i = 0; i < s->n && rc == 0; i++) {
		struct thr *t = &s->t[i];

		t->s = s;
		atomic_init(&t->state, T_BUSY);
		t->rq = px_fcgi_req_new(fd);
		if (t->rq == NULL || px_worker_init(&t->w, s->app) != 0 ||
		    pthread_create(&t->tid, &attr, thread_main, t) != 0)
			rc = -1;
		else
			t->started = 1;
	}
	pthread_attr_destroy(&attr);
	return rc;
}

/* Wait for SIGTERM/SIGINT/SIGHUP, or for every thread to have left. */
static void
wait_for_stop(struct srv *s)
{
	sigset_t set;
	struct timespec tick = { 1, 0 };

	term_set(&set);
	while (count_live(s) > 0) {
		int sig = sigtimedwait(&set, NULL, &tick);

		if (sig > 0)
			return;
		px_app_maintain(s->app);	/* about once a second */
	}
}

static int
stop_threads(struct srv *s)
{
	long deadline = px_mono_ms() + DRAIN_MS;
	unsigned i;

	atomic_store(&s->stop, 1);
	px_fcgi_shutdown_pending();
	while (count_live(s) > 0 && px_mono_ms() < deadline) {
		for (i = 0; i < s->n; i++)
			if (s->t[i].started &&
			    atomic_load(&s->t[i].state) == T_ACCEPTING)
				pthread_kill(s->t[i].tid, SIGUSR1);
		sleep_ms(5);
	}
	if (count_live(s) > 0) {
		px_log(PX_LOG_WARN, "stopping with %u requests in flight",
		    count_state(s, T_BUSY));
		return -1;
	}
	for (i = 0; i < s->n; i++)
		if (s->t[i].started)
			pthread_join(s->t[i].tid, NULL);
	return 0;
}

/* Serve on fd with T threads until told to stop. */
static int
run_threads(const struct px_config *cfg, int fd, unsigned nthreads)
{
	struct srv s;
	sigset_t set;
	unsigned i;
	int rc;

	memset(&s, 0, sizeof(s));
	px_log_init();		/* this process's pid, after fork */
	/* glibc gives every thread that allocates an arena of its own; with
	 * hundreds of stream threads that is most of the per-stream memory,
	 * while the relay path allocates nothing per event */
	(void)mallopt(M_ARENA_MAX, ARENAS);
	term_set(&set);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	s.app = px_app_new(cfg, 0);
	s.n = nthreads;
	s.t = calloc(nthreads, sizeof(*s.t));
	atomic_init(&s.stop, 0);
	if (s.app == NULL || s.t == NULL || start_threads(&s, fd) != 0) {
		px_log(PX_LOG_ERROR, "cannot start %u worker threads", nthreads);
		atomic_store(&s.stop, 1);
	} else {
		px_log(PX_LOG_INFO, "serving with %u threads", nthreads);
		wait_for_stop(&s);
	}
	rc = stop_threads(&s);
	if (rc != 0)
		_exit(0);	/* threads still stream: no cleanup under them */
	for (i = 0; i < s.n; i++) {
		px_worker_fini(&s.t[i].w);
		px_fcgi_req_free(s.t[i].rq);
	}
	free(s.t);
	px_app_free(s.app);
	return 0;
}

static int
run_cgi(const struct px_config *cfg)
{
	struct px_app *app;
	struct px_worker w;
	struct px_io io;
	int rc = 1;

	px_log_init();
	app = px_app_new(cfg, 1);

	if (app != NULL && px_worker_init(&w, app) == 0) {
		px_io_cgi_init(&io, environ);
		px_app_handle(&w, &io);
		rc = 0;
	}
	if (app != NULL)
		px_worker_fini(&w);
	px_app_free(app);
	return rc;
}

/* --- own prefork pool (--listen) ------------------------------------- */

static pid_t
spawn(const struct px_config *cfg, int fd, unsigned threads)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(run_threads(cfg, fd, threads));
	if (pid < 0)
		px_log(PX_LOG_ERROR, "fork: %s", strerror(errno));
	return pid;
}

static void
reap(pid_t *pids, unsigned n, const struct px_config *cfg, int fd,
    unsigned threads, int respawn)
{
	pid_t dead;
	int st;
	unsigned i;

	while ((dead = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < n; i++) {
			if (pids[i] != dead)
				continue;
			pids[i] = 0;
			if (!respawn)
				break;
			px_log(PX_LOG_WARN, "worker %ld exited (status %d); "
			    "restarting", (long)dead, st);
			sleep_ms(200);	/* never spin on a crash loop */
			pids[i] = spawn(cfg, fd, threads);
		}
	}
}

static unsigned
alive(const pid_t *pids, unsigned n)
{
	unsigned i, k = 0;

	for (i = 0; i < n; i++)
		k += pids[i] > 0;
	return k;
}

static void
stop_pool(pid_t *pids, unsigned n, const struct px_config *cfg)
{
	long deadline = px_mono_ms() + DRAIN_MS + 2000;
	unsigned i;

	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	while (alive(pids, n) > 0 && px_mono_ms() < deadline) {
		reap(pids, n, cfg, -1, 0, 0);
		sleep_ms(10);
	}
	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	reap(pids, n, cfg, -1, 0, 0);
}

static int
run_pool(const struct px_config *cfg, const struct px_server_opts *o,
    unsigned threads)
{
	struct px_fcgi_sock sk;
	sigset_t set;
	pid_t *pids;
	unsigned i;
	int fd, sig = 0;
	char err[320];

	fd = px_fcgi_listen(o->listen->addr, o->listen->is_unix,
	    o->backlog > 0 ? o->backlog : 1024, &sk, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "aiproxy: --listen: %s\n", err);
		return 1;
	}
	if (o->listen->is_unix && o->socket_mode >= 0 &&
	    chmod(o->listen->addr, (mode_t)o->socket_mode) != 0) {
		fprintf(stderr, "aiproxy: chmod %s: %s\n", o->listen->addr,
		    strerror(errno));
		px_fcgi_unlink(&sk);
		return 1;
	}
	(void)px_fcgi_set_read_timeout(fd, cfg->fcgi_read_timeout_ms);
	term_set(&set);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pids = calloc(o->workers, sizeof(*pids));
	if (pids == NULL)
		return 1;
	for (i = 0; i < o->workers; i++)
		pids[i] = spawn(cfg, fd, threads);
	px_log(PX_LOG_INFO, "pool on %s%s: %u processes x %u threads",
	    o->listen->addr, o->listen->any ? " (every interface)" : "",
	    o->workers, threads);
	while (sig != SIGTERM && sig != SIGINT && sig != SIGHUP) {
		sig = sigwaitinfo(&set, NULL);
		if (sig == SIGCHLD)
			reap(pids, o->workers, cfg, fd, threads, 1);
	}
	stop_pool(pids, o->workers, cfg);
	free(pids);
	close(fd);
	px_fcgi_unlink(&sk);
	return 0;
}

static void
log_warnings(const struct px_config *cfg)
{
	unsigned i;

	for (i = 0; i < cfg->warnings.n; i++)
		px_log(PX_LOG_WARN, "config: %s", cfg->warnings.msg[i]);
}

int
px_server_run(const struct px_config *cfg, const struct px_server_opts *o,
    int cgi)
{
	unsigned threads = o->threads ? o->threads : cfg->threads;

	/* no core dump or ptrace by other users: the memory holds every key */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (cgi)
		return run_cgi(cfg);
	log_warnings(cfg);
	if (o->listen != NULL)
		return run_pool(cfg, o, threads);
	(void)px_fcgi_set_read_timeout(0, cfg->fcgi_read_timeout_ms);
	return run_threads(cfg, 0, threads);
}
