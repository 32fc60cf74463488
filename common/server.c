/*
 * server.c -- threads, processes and signals (see server.h).
 * Shutdown: every thread blocks SIGTERM/SIGINT; main sigwait()s, sets the
 * stop flag and sends SIGUSR1 to each of its threads still in accept()
 * (libfcgi's SIGUSR1 handler has no SA_RESTART, so accept returns EINTR).
 * It repeats the kick until all have left: a thread can be between its flag
 * check and accept() when a kick lands. A kick goes only to a thread that
 * /proc shows asleep in accept(): one that has just accepted a connection
 * is reading its request, and EINTR there made libfcgi drop the connection
 * unanswered (the web server then answers 500). Streams in flight get
 * DRAIN_MS.
 * Config reload: the --listen master re-reads the file on SIGHUP (folded
 * while one is under way), starts a new generation of workers that report
 * on a pipe once a thread accepts, and only then sends the previous ones
 * SIGTERM (they finish their requests, DRAIN_MS); a file that does not
 * load, or workers that do not come up, leave the old generation serving.
 * A responder on fd 0 stats the file at most once a second from its main
 * thread (never per request) and hands over on a valid change: with
 * lighttpd siblings ("<socket>-N") one at a time while a sibling accepts,
 * refusing new connects (shutdown(SHUT_RD) of its own socket) and exiting
 * once its streams are done; alone, it stops accepting at a moment with
 * no long request and execs itself on the same socket.
 * Never: an accept mutex (libfcgi needs none and it lets one stuck
 * connection stall every thread), or shutdown(2) on a socket another
 * process holds (a pool's, or a spawn-fcgi pool's fd 0).
 */
#define _DEFAULT_SOURCE 1	/* syscall(), SYS_gettid */
#include "server.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
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
	atomic_int          ktid;	/* the kernel's id of the thread */
	atomic_long         busy_since;	/* px_mono_ms() at accept */
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

	atomic_store(&t->ktid, (int)syscall(SYS_gettid));
	while (!atomic_load(&t->s->stop)) {
		atomic_store(&t->state, T_ACCEPTING);
		if (atomic_load(&t->s->stop))
			break;
		/* libfcgi returns -errno without setting errno once its
		 * shutdown flag is up: a stale EAGAIN would make
		 * px_fcgi_accept call it again and again */
		errno = 0;
		if (px_fcgi_accept(t->rq, &io) < 0)
			break;
		atomic_store(&t->busy_since, px_mono_ms());
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

/*
 * Is thread t asleep in accept() (so a kick cannot interrupt the reading
 * of a request it already took)? /proc/self/task/TID/syscall names the
 * system call a sleeping thread is in, or says "running". 1 when it cannot
 * be read (the kick is then sent as before).
 */
static int
in_accept(struct thr *t)
{
	char path[64], buf[32];
	int fd, tid = atomic_load(&t->ktid);
	ssize_t n;
	long nr;

	if (tid <= 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	if (strncmp(buf, "running", 7) == 0)
		return 0;
	nr = strtol(buf, NULL, 10);
	return nr == SYS_accept || nr == SYS_accept4;
}

/* Kick the threads asleep in accept() (SIGUSR1: EINTR there). */
static void
kick_accepting(struct srv *s)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		if (s->t[i].started &&
		    atomic_load(&s->t[i].state) == T_ACCEPTING &&
		    in_accept(&s->t[i]))
			pthread_kill(s->t[i].tid, SIGUSR1);
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

/* Requests in flight for at least ms (streams, most likely). */
static unsigned
count_long(struct srv *s, long ms)
{
	long now = px_mono_ms();
	unsigned i, n = 0;

	for (i = 0; i < s->n; i++)
		if (s->t[i].started && atomic_load(&s->t[i].state) == T_BUSY &&
		    now - atomic_load(&s->t[i].busy_since) >= ms)
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
		atomic_init(&t->busy_since, px_mono_ms());
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

/* --- the config file, watched by a responder on fd 0 ------------------ */

void
px_file_stamp_get(const char *path, struct px_file_stamp *st)
{
	struct stat sb;

	memset(st, 0, sizeof(*st));
	if (path == NULL || stat(path, &sb) != 0) {
		st->err = path == NULL ? ENOENT : errno;
		return;
	}
	st->ok = 1;
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	st->size = sb.st_size;
	st->mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL +
	    sb.st_mtim.tv_nsec;
}

int
px_file_stamp_eq(const struct px_file_stamp *a, const struct px_file_stamp *b)
{
	if (!a->ok || !b->ok)
		return a->ok == b->ok && a->err == b->err;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime_ns == b->mtime_ns;
}

/* Load path and log each problem ("config reload: PATH: ..."); the
 * config, or NULL when it does not load. */
static struct px_config *
reload_check(const char *path)
{
	struct px_cfg_errors errs;
	struct px_config *cfg = NULL;
	size_t pl = strlen(path);
	unsigned i;

	memset(&errs, 0, sizeof(errs));
	if (px_config_load(path, &cfg, &errs) == PX_OK)
		return cfg;
	for (i = 0; i < errs.n; i++)
		px_log(PX_LOG_ERROR, "config reload: %s%s%s", strncmp(errs.msg[i],
		    path, pl) == 0 ? "" : path, strncmp(errs.msg[i], path, pl) ==
		    0 ? "" : ": ", errs.msg[i]);
	if (errs.n == 0)
		px_log(PX_LOG_ERROR, "config reload: %s: cannot be loaded", path);
	px_log(PX_LOG_ERROR, "config reload: %u problem%s in %s; still serving "
	    "the previous configuration", errs.n, errs.n == 1 ? "" : "s", path);
	return NULL;
}

enum { W_SAME, W_REJECTED, W_WAITING };

#define SIBLING_WAIT_MS 30000
#define LONG_MS         1000	/* a request this old is likely a stream */

struct watch {
	const char *path;	/* NULL: not watched */
	struct px_file_stamp loaded;	/* the file this process runs */
	struct px_file_stamp seen;	/* the last change looked at */
	int      state;
	long     next_ms;	/* the next stat, at most once a second */
	pid_t    ppid;		/* who started us, and would start the next */
	int      lockfd;	/* our turn among siblings; -1 */
	int      turn;		/* taken (with the lock, or without one) */
	int      alone;		/* no sibling sockets: restart in place */
	int      sib;		/* siblings(), probed at sib_next - 1 s */
	long     sib_next;
	long     since;		/* when we took it */
	char     lockpath[512];
};

/*
 * lighttpd gives each responder of one fastcgi.server entry its own
 * socket, "<socket>-<n>" (fastcgi-lmdb-notes.md §1): the siblings of the
 * socket on fd. SIB_NONE: none (max-procs 1, or not lighttpd's naming);
 * SIB_DOWN: some exist and none accepts a connection, so the web server
 * would have nobody to send requests to if we stopped too; SIB_UP.
 */
enum { SIB_NONE, SIB_DOWN, SIB_UP };

static int
siblings(int fd)
{
	struct sockaddr_un sa, to;
	socklen_t n = sizeof(sa);
	char *dash, *end;
	size_t base;
	long self, k;
	int exists = 0, up = 0;

	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &n) != 0 ||
	    sa.sun_family != AF_UNIX || sa.sun_path[0] == '\0')
		return SIB_NONE;
	dash = strrchr(sa.sun_path, '-');
	if (dash == NULL || dash[1] == '\0')
		return SIB_NONE;
	self = strtol(dash + 1, &end, 10);
	if (*end != '\0' || self < 0)
		return SIB_NONE;
	base = (size_t)(dash - sa.sun_path);
	for (k = 0; k < 64 && !up; k++) {
		struct stat st;
		int c;

		if (k == self)
			continue;
		memset(&to, 0, sizeof(to));
		to.sun_family = AF_UNIX;
		if (snprintf(to.sun_path, sizeof(to.sun_path), "%.*s-%ld",
		    (int)base, sa.sun_path, k) >= (int)sizeof(to.sun_path))
			return SIB_NONE;
		if (lstat(to.sun_path, &st) != 0 || !S_ISSOCK(st.st_mode))
			continue;
		exists = 1;
		c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (c < 0)
			return SIB_UP;	/* cannot tell: do not wait */
		/* EAGAIN: its backlog is full, but it is there */
		up = connect(c, (struct sockaddr *)&to, sizeof(to)) == 0 ||
		    errno == EAGAIN;
		close(c);
	}
	return up ? SIB_UP : exists ? SIB_DOWN : SIB_NONE;
}

/*
 * Does another process hold the socket on fd? spawn-fcgi -F N leaves N
 * responders on one socket with nobody to start them again; there a
 * hand-over would shrink the pool, and shutdown(2) would stop every one
 * of them (fastcgi-lmdb-notes.md §6.1). Looks at the /proc/PID/fd links
 * this user may read, once per change of the file.
 */
static int
socket_shared(int fd)
{
	struct stat st;
	char want[64], link[64], dir[64];
	struct dirent *p, *f;
	DIR *pd, *fdd;
	pid_t self = getpid();
	int shared = 0;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return 0;
	snprintf(want, sizeof(want), "socket:[%lu]", (unsigned long)st.st_ino);
	if ((pd = opendir("/proc")) == NULL)
		return 0;
	while (!shared && (p = readdir(pd)) != NULL) {
		char *end;
		long pid = strtol(p->d_name, &end, 10);

		if (*end != '\0' || pid <= 0 || pid == (long)self)
			continue;
		snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
		if ((fdd = opendir(dir)) == NULL)
			continue;	/* another user's, or gone */
		while (!shared && (f = readdir(fdd)) != NULL) {
			char path[64 + sizeof(f->d_name)];
			ssize_t n;

			if (f->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, f->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n > 0) {
				link[n] = '\0';
				shared = strcmp(link, want) == 0;
			}
		}
		closedir(fdd);
	}
	closedir(pd);
	return shared;
}

/*
 * Is it our turn to hand over? One responder of a host at a time (a lock
 * in state_dir, held until we exit). With siblings: only while one of
 * them serves. Alone: at a moment with no request in flight for LONG_MS
 * or more (long: a stream), as the restart in place keeps new requests
 * waiting until those in flight are done. Either wait is bounded
 * (SIBLING_WAIT_MS: a sibling's socket may be a stale file, and a busy
 * responder may never be idle).
 */
static int
my_turn(struct watch *wt, int fd, unsigned long_busy)
{
	int sib;

	if (!wt->turn) {
		int l = open(wt->lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

		if (l >= 0 && flock(l, LOCK_EX | LOCK_NB) != 0) {
			close(l);
			return 0;	/* a sibling is handing over */
		}
		if (l < 0)
			px_log(PX_LOG_WARN, "config reload: %s: %s; handing over "
			    "without waiting for the other responders",
			    wt->lockpath, strerror(errno));
		wt->lockfd = l;
		wt->turn = 1;
		wt->since = px_mono_ms();
		wt->sib_next = 0;
	}
	if (px_mono_ms() >= wt->sib_next) {	/* probes: once a second */
		wt->sib = siblings(fd);
		wt->sib_next = px_mono_ms() + 1000;
	}
	sib = wt->sib;
	wt->alone = sib == SIB_NONE;
	if (px_mono_ms() - wt->since >= SIBLING_WAIT_MS)
		return 1;
	return sib == SIB_UP || (sib == SIB_NONE && long_busy == 0);
}

static void
watch_release(struct watch *wt)
{
	if (wt->lockfd >= 0)
		close(wt->lockfd);
	wt->lockfd = -1;
	wt->turn = 0;
}

/* Would the web server start a fresh responder when this one exits? */
static int
nobody_restarts(const struct watch *wt, int fd)
{
	return getppid() != wt->ppid || getppid() == 1 || socket_shared(fd);
}

/* About once a second: 1 when this responder should hand over now. */
static int
watch_tick(struct watch *wt, int fd, unsigned long_busy)
{
	struct px_file_stamp cur;
	struct px_config *c;
	long now = px_mono_ms();

	if (wt->path == NULL)
		return 0;
	if (now < wt->next_ms)	/* the file: at most once a second */
		return wt->state == W_WAITING && my_turn(wt, fd, long_busy);
	wt->next_ms = now + 1000;
	px_file_stamp_get(wt->path, &cur);
	if (px_file_stamp_eq(&cur, &wt->loaded)) {
		if (wt->state != W_SAME)
			watch_release(wt);
		wt->state = W_SAME;
		return 0;
	}
	if (wt->state == W_SAME || !px_file_stamp_eq(&cur, &wt->seen)) {
		wt->seen = cur;
		watch_release(wt);
		c = cur.ok ? reload_check(wt->path) : NULL;
		if (!cur.ok)
			px_log(PX_LOG_ERROR, "config reload: %s: %s; still "
			    "serving the previous configuration", wt->path,
			    strerror(cur.err));
		wt->state = c != NULL ? W_WAITING : W_REJECTED;
		px_config_free(c);
		if (c != NULL && nobody_restarts(wt, fd)) {
			px_log(PX_LOG_WARN, "config reload: %s changed, but "
			    "nothing would start a fresh responder after this "
			    "one (its parent is gone, or other processes share "
			    "its socket: a spawn-fcgi pool?); restart the "
			    "responders to load it", wt->path);
			wt->state = W_REJECTED;
		} else if (c != NULL) {
			px_log(PX_LOG_INFO, "config reload: %s changed; this "
			    "responder hands over to a fresh one", wt->path);
		}
	}
	return wt->state == W_WAITING && my_turn(wt, fd, long_busy);
}

/* The reason wait_for_stop returned. */
enum { STOP_SIGNAL, STOP_GONE, STOP_RELOAD };

/* Wait for SIGTERM/SIGINT (and SIGHUP unless a pool worker), for every
 * thread to have left, or for the watched config to have changed. */
static int
wait_for_stop(struct srv *s, int pool, struct watch *wt, int fd)
{
	sigset_t set;
	struct timespec second = { 1, 0 }, moment = { 0, 20 * 1000000L };
	long next = px_mono_ms() + 1000;

	term_set(&set);
	if (pool)
		sigdelset(&set, SIGHUP);	/* the pool's master reloads */
	while (count_live(s) > 0) {
		/* waiting for our turn: look for an idle moment often */
		int sig = sigtimedwait(&set, NULL, wt != NULL &&
		    wt->state == W_WAITING ? &moment : &second);

		if (sig > 0)
			return STOP_SIGNAL;
		if (px_mono_ms() >= next) {
			px_app_maintain(s->app);	/* about once a second */
			next = px_mono_ms() + 1000;
		}
		if (wt != NULL && watch_tick(wt, fd, count_long(s, LONG_MS)))
			return STOP_RELOAD;
	}
	return STOP_GONE;
}

static int
stop_threads(struct srv *s)
{
	long deadline = px_mono_ms() + DRAIN_MS;
	unsigned i;

	atomic_store(&s->stop, 1);
	px_fcgi_shutdown_pending();
	while (count_live(s) > 0 && px_mono_ms() < deadline) {
		kick_accepting(s);
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

/*
 * Hand over to a fresh responder: accept nothing new, finish every
 * request in flight however long it streams, then return. SIGTERM
 * meanwhile stops as usual (DRAIN_MS): -1.
 * With siblings (lighttpd max-procs > 1), 0: exit, the web server starts
 * a fresh one. On a unix socket, which only this process holds when a
 * web server spawned it, shutdown(SHUT_RD) makes new connects fail at
 * once (the web server sends them to a sibling) while connections
 * already queued are still accepted; accept() then fails with EINVAL and
 * each thread leaves its loop when its request is done.
 * Alone, 1: restart in place (exec, same pid, same socket). Its threads
 * leave accept() but the socket stays open, so new connections wait in
 * its backlog for the fresh image instead of failing; lighttpd would
 * answer 503 for a second or two while it respawned a lone responder.
 */
static int
hand_over(struct srv *s, int fd, const struct watch *wt)
{
	long deadline, next;
	sigset_t set;
	struct timespec tick = { 0, 20 * 1000000L };	/* exit soon after */
	int refused = 0;

	px_log(PX_LOG_INFO, "config reload: %s changed; no longer accepting, "
	    "%s after %u requests in flight", wt->path, wt->alone ?
	    "restarting in place" : "exiting", count_state(s, T_BUSY));
	if (!wt->alone)
		refused = shutdown(fd, SHUT_RD) == 0;
	if (!refused) {
		atomic_store(&s->stop, 1);
		px_fcgi_shutdown_pending();
		deadline = px_mono_ms() + 2000;
		while (count_state(s, T_ACCEPTING) > 0 &&
		    px_mono_ms() < deadline) {
			kick_accepting(s);
			sleep_ms(5);
		}
	}
	term_set(&set);
	next = px_mono_ms() + 1000;
	while (count_live(s) > 0) {
		if (sigtimedwait(&set, NULL, &tick) > 0)
			return -1;
		if (px_mono_ms() >= next) {
			px_app_maintain(s->app);	/* about once a second */
			next = px_mono_ms() + 1000;
		}
	}
	if (wt->alone) {
		px_log(PX_LOG_INFO, "config reload: requests done; restarting "
		    "to load %s", wt->path);
		return 1;
	}
	px_log(PX_LOG_INFO, "config reload: requests done; exiting so that a "
	    "fresh responder loads %s", wt->path);
	return 0;
}

/* How run_threads serves: a pool worker (reports ready on ready_fd,
 * leaves SIGHUP to its master) or a responder on fd 0 (watches path). */
struct run_how {
	int         pool;
	int         ready_fd;	/* -1: none */
	const char *path;	/* watched config (fd 0 only); NULL: none */
	const struct px_file_stamp *stamp;	/* the file as loaded */
};

/* The pool waits for this before it retires the previous workers. */
static void
report_ready(struct srv *s, int ready_fd)
{
	long deadline = px_mono_ms() + 1000;

	if (ready_fd < 0)
		return;
	while (count_state(s, T_ACCEPTING) == 0 && px_mono_ms() < deadline)
		sleep_ms(1);
	(void)!write(ready_fd, "r", 1);
	close(ready_fd);
}

/* Serve on fd with T threads until told to stop. */
static int
run_threads(const struct px_config *cfg, int fd, unsigned nthreads,
    const struct run_how *how)
{
	struct srv s;
	struct watch wt, *wp = NULL;
	sigset_t set;
	unsigned i;
	int rc, why = STOP_SIGNAL, restart = 0;

	memset(&s, 0, sizeof(s));
	px_log_init();		/* this process's pid, after fork */
	/* glibc gives every thread that allocates an arena of its own; with
	 * hundreds of stream threads that is most of the per-stream memory,
	 * while the relay path allocates nothing per event */
	(void)mallopt(M_ARENA_MAX, ARENAS);
	term_set(&set);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	if (how->path != NULL) {
		memset(&wt, 0, sizeof(wt));
		wt.path = how->path;
		wt.loaded = *how->stamp;
		wt.ppid = getppid();
		wt.lockfd = -1;
		wt.next_ms = px_mono_ms() + 1000;
		(void)snprintf(wt.lockpath, sizeof(wt.lockpath), "%s/reload.lock",
		    cfg->state_dir);
		wp = &wt;
	}
	s.app = px_app_new(cfg, 0);
	s.n = nthreads;
	s.t = calloc(nthreads, sizeof(*s.t));
	atomic_init(&s.stop, 0);
	if (s.app == NULL || s.t == NULL || start_threads(&s, fd) != 0) {
		px_log(PX_LOG_ERROR, "cannot start %u worker threads", nthreads);
		atomic_store(&s.stop, 1);
		if (how->ready_fd >= 0)
			close(how->ready_fd);
	} else {
		px_log(PX_LOG_INFO, "serving with %u threads", nthreads);
		report_ready(&s, how->ready_fd);
		why = wait_for_stop(&s, how->pool, wp, fd);
		if (why == STOP_RELOAD && wp != NULL)
			restart = hand_over(&s, fd, wp);
	}
	rc = stop_threads(&s);
	if (wp != NULL)
		watch_release(wp);
	if (rc != 0)
		_exit(0);	/* threads still stream: no cleanup under them */
	for (i = 0; i < s.n; i++) {
		px_worker_fini(&s.t[i].w);
		px_fcgi_req_free(s.t[i].rq);
	}
	free(s.t);
	px_app_free(s.app);
	return restart > 0 ? PX_SERVER_RESTART : 0;
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

#define READY_MS   30000	/* new workers must accept within this */
#define RETIRE_MS  (DRAIN_MS + 2000)	/* then SIGKILL */

/* One set of workers started on one config. */
struct gen {
	const struct px_config *cfg;
	struct px_config *owned;	/* cfg when the pool loaded it */
	unsigned threads;
	pid_t   *pids;
	unsigned n;
	int      ready_rd;		/* -1: nothing to wait for */
	unsigned nready;
	long     deadline;
};

struct pool {
	const struct px_server_opts *o;
	int        fd;		/* the listening socket */
	int        sfd;		/* signalfd of the master */
	struct gen cur, pend;	/* serving; starting on a new config */
	pid_t     *old;		/* retiring: finishing their requests */
	long      *old_until;	/* SIGKILL after */
	unsigned   nold, capold;
};

static unsigned
pick_threads(const struct px_server_opts *o, const struct px_config *cfg)
{
	return o->threads ? o->threads : cfg->threads;
}

static pid_t
spawn(struct pool *p, struct gen *g, int ready_wr)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct run_how how = { 1, ready_wr, NULL, NULL };

		close(p->sfd);
		if (p->pend.ready_rd >= 0)
			close(p->pend.ready_rd);
		_exit(run_threads(g->cfg, p->fd, g->threads, &how));
	}
	if (pid < 0)
		px_log(PX_LOG_ERROR, "fork: %s", strerror(errno));
	return pid;
}

static void
retire(struct pool *p, pid_t pid)
{
	if (pid <= 0)
		return;
	if (p->nold == p->capold) {
		unsigned cap = p->capold ? p->capold * 2 : 16;
		pid_t *o = realloc(p->old, cap * sizeof(*o));
		long *u = o != NULL ? realloc(p->old_until, cap *
		    sizeof(*u)) : NULL;

		if (o != NULL)
			p->old = o;
		if (u == NULL) {	/* no room to wait for it: stop it now */
			kill(pid, SIGKILL);
			return;
		}
		p->old_until = u;
		p->capold = cap;
	}
	kill(pid, SIGTERM);
	p->old[p->nold] = pid;
	p->old_until[p->nold++] = px_mono_ms() + RETIRE_MS;
}

static void
gen_free(struct gen *g)
{
	free(g->pids);
	px_config_free(g->owned);
	if (g->ready_rd >= 0)
		close(g->ready_rd);
	memset(g, 0, sizeof(*g));
	g->ready_rd = -1;
}

static int
gen_has(const struct gen *g, pid_t pid)
{
	unsigned i;

	for (i = 0; i < g->n; i++)
		if (g->pids[i] == pid)
			return (int)i;
	return -1;
}

/* The new workers did not come up: stop them, keep the current ones. */
static void
reload_abort(struct pool *p, const char *why)
{
	unsigned i;

	px_log(PX_LOG_ERROR, "config reload: %s; still serving the previous "
	    "configuration", why);
	for (i = 0; p->pend.pids != NULL && i < p->pend.n; i++)
		retire(p, p->pend.pids[i]);
	gen_free(&p->pend);
}

/* Every new worker accepts: the previous ones stop accepting and finish
 * their requests in flight (their SIGTERM: at most DRAIN_MS). */
static void
reload_promote(struct pool *p)
{
	unsigned i, n = 0;

	for (i = 0; i < p->cur.n; i++)
		if (p->cur.pids[i] > 0) {
			retire(p, p->cur.pids[i]);
			n++;
		}
	gen_free(&p->cur);
	p->cur = p->pend;
	close(p->cur.ready_rd);
	p->cur.ready_rd = -1;
	memset(&p->pend, 0, sizeof(p->pend));
	p->pend.ready_rd = -1;
	(void)px_fcgi_set_read_timeout(p->fd, p->cur.cfg->fcgi_read_timeout_ms);
	px_log(PX_LOG_INFO, "config reload: %u new workers accept; the %u "
	    "previous ones stop after their requests in flight", p->cur.n, n);
}

/* SIGHUP: read and check the file; start new workers on it. */
static void
reload_start(struct pool *p)
{
	struct px_config *cfg;
	unsigned i;
	int pfd[2];

	if (p->o->config_path == NULL)
		return;
	px_log(PX_LOG_INFO, "config reload: reading %s", p->o->config_path);
	cfg = reload_check(p->o->config_path);
	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->warnings.n; i++)
		px_log(PX_LOG_WARN, "config: %s", cfg->warnings.msg[i]);
	memset(&p->pend, 0, sizeof(p->pend));
	p->pend.ready_rd = -1;
	p->pend.cfg = cfg;
	p->pend.owned = cfg;
	p->pend.threads = pick_threads(p->o, cfg);
	p->pend.pids = calloc(p->o->workers, sizeof(pid_t));
	if (p->pend.pids == NULL || pipe(pfd) != 0) {
		reload_abort(p, "out of memory or file descriptors");
		return;
	}
	p->pend.ready_rd = pfd[0];
	(void)fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	p->pend.n = p->o->workers;
	for (i = 0; i < p->pend.n; i++)
		p->pend.pids[i] = spawn(p, &p->pend, pfd[1]);
	close(pfd[1]);
	p->pend.deadline = px_mono_ms() + READY_MS;
	px_log(PX_LOG_INFO, "config reload: %s loaded; starting %u workers x "
	    "%u threads", p->o->config_path, p->pend.n, p->pend.threads);
	for (i = 0; i < p->pend.n; i++)
		if (p->pend.pids[i] <= 0) {
			reload_abort(p, "a new worker could not be started");
			return;
		}
}

static void
reap(struct pool *p, int respawn)
{
	pid_t dead;
	int st, i;
	unsigned k;

	while ((dead = waitpid(-1, &st, WNOHANG)) > 0) {
		if ((i = gen_has(&p->cur, dead)) >= 0) {
			p->cur.pids[i] = 0;
			if (!respawn)
				continue;
			px_log(PX_LOG_WARN, "worker %ld exited (status %d); "
			    "restarting", (long)dead, st);
			sleep_ms(200);	/* never spin on a crash loop */
			p->cur.pids[i] = spawn(p, &p->cur, -1);
		} else if ((i = gen_has(&p->pend, dead)) >= 0) {
			p->pend.pids[i] = 0;
			if (respawn)
				reload_abort(p, "a new worker exited before it "
				    "accepted (see its log lines above)");
		} else {
			for (k = 0; k < p->nold; k++)
				if (p->old[k] == dead) {
					p->old[k] = p->old[--p->nold];
					p->old_until[k] = p->old_until[p->nold];
					break;
				}
		}
	}
}

static unsigned
alive(const struct pool *p)
{
	unsigned i, k = p->nold;

	for (i = 0; i < p->cur.n; i++)
		k += p->cur.pids[i] > 0;
	for (i = 0; i < p->pend.n; i++)
		k += p->pend.pids[i] > 0;
	return k;
}

static void
signal_all(struct pool *p, int sig)
{
	unsigned i;

	for (i = 0; i < p->cur.n; i++)
		if (p->cur.pids[i] > 0)
			kill(p->cur.pids[i], sig);
	for (i = 0; i < p->pend.n; i++)
		if (p->pend.pids[i] > 0)
			kill(p->pend.pids[i], sig);
	for (i = 0; i < p->nold; i++)
		kill(p->old[i], sig);
}

static void
stop_pool(struct pool *p)
{
	long deadline = px_mono_ms() + RETIRE_MS;

	signal_all(p, SIGTERM);
	while (alive(p) > 0 && px_mono_ms() < deadline) {
		reap(p, 0);
		sleep_ms(10);
	}
	signal_all(p, SIGKILL);
	while (alive(p) > 0 && waitpid(-1, NULL, 0) > 0)
		reap(p, 0);
	reap(p, 0);
}

/* Retiring workers past their bound (they bound themselves; this is the
 * backstop), and the new generation's progress. */
static void
pool_tick(struct pool *p)
{
	long now = px_mono_ms();
	unsigned k;
	char b[64];
	ssize_t r;

	for (k = 0; k < p->nold; k++)
		if (now > p->old_until[k]) {
			kill(p->old[k], SIGKILL);
			p->old_until[k] = now + 1000;
		}
	if (p->pend.n == 0)
		return;
	while ((r = read(p->pend.ready_rd, b, sizeof(b))) > 0)
		p->pend.nready += (unsigned)r;
	if (p->pend.nready >= p->pend.n)
		reload_promote(p);
	else if (now > p->pend.deadline)
		reload_abort(p, "the new workers did not accept within 30 s");
}

static int
run_pool(const struct px_config *cfg, const struct px_server_opts *o)
{
	struct px_fcgi_sock sk;
	struct pool p;
	sigset_t set;
	unsigned i;
	int stop = 0, want = 0;
	char err[320];

	memset(&p, 0, sizeof(p));
	p.o = o;
	p.cur.ready_rd = p.pend.ready_rd = -1;
	p.fd = px_fcgi_listen(o->listen->addr, o->listen->is_unix,
	    o->backlog > 0 ? o->backlog : 1024, &sk, err, sizeof(err));
	if (p.fd < 0) {
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
	(void)px_fcgi_set_read_timeout(p.fd, cfg->fcgi_read_timeout_ms);
	term_set(&set);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	p.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	p.cur.cfg = cfg;
	p.cur.threads = pick_threads(o, cfg);
	p.cur.n = o->workers;
	p.cur.pids = calloc(o->workers, sizeof(pid_t));
	if (p.sfd < 0 || p.cur.pids == NULL) {
		fprintf(stderr, "aiproxy: cannot start the pool: %s\n",
		    strerror(errno));
		free(p.cur.pids);
		if (p.sfd >= 0)
			close(p.sfd);
		close(p.fd);
		px_fcgi_unlink(&sk);
		return 1;
	}
	for (i = 0; i < o->workers; i++)
		p.cur.pids[i] = spawn(&p, &p.cur, -1);
	px_log(PX_LOG_INFO, "pool on %s%s: %u processes x %u threads",
	    o->listen->addr, o->listen->any ? " (every interface)" : "",
	    o->workers, p.cur.threads);
	while (!stop) {
		struct pollfd pf[2] = { { p.sfd, POLLIN, 0 },
		    { p.pend.ready_rd, POLLIN, 0 } };
		struct signalfd_siginfo si;

		(void)poll(pf, p.pend.n > 0 ? 2 : 1, p.pend.n > 0 ? 50 : 1000);
		while (read(p.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGCHLD)
				reap(&p, 1);
			else if (si.ssi_signo == SIGHUP)
				want = 1;	/* repeats fold into one */
			else
				stop = 1;
		}
		if (stop)
			break;
		pool_tick(&p);
		if (want && p.pend.n == 0) {
			want = 0;
			reload_start(&p);
		}
	}
	stop_pool(&p);
	gen_free(&p.cur);
	gen_free(&p.pend);
	free(p.old);
	free(p.old_until);
	close(p.sfd);
	close(p.fd);
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
	struct run_how how = { 0, -1, NULL, NULL };

	/* no core dump or ptrace by other users: the memory holds every key */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (cgi)
		return run_cgi(cfg);
	log_warnings(cfg);
	if (o->listen != NULL)
		return run_pool(cfg, o);
	(void)px_fcgi_set_read_timeout(0, cfg->fcgi_read_timeout_ms);
	how.path = o->config_path;
	how.stamp = &o->config_stamp;
	return run_threads(cfg, 0, threads, &how);
}
