/*
 * upstream.c -- libcurl behind px_http (see upstream.h).
 * Why our own loops: CURLOPT_TIMEOUT kills healthy long generations,
 * LOW_SPEED averages over ~5 s (fastcgi-lmdb-notes.md §4: curl's low-speed
 * check and its progress callback only look about once a second while a
 * socket is silent). So we keep the deadlines ourselves, two ways:
 * - the calling thread: the handle runs in its own one-handle multi,
 *   polled with a deadline we choose (non-stream requests, probes, CGI);
 * - the process's stream loop (struct px_http_loop): one thread runs every
 *   stream of the responder on one multi driven by epoll and
 *   curl_multi_socket_action, so an upstream event costs one epoll wake-up
 *   shared by all ready streams, one recv and the callback's write, instead
 *   of a thread wake-up and curl's extra readiness polls. The calling
 *   worker sleeps until its transfer ends; the callbacks run on the loop
 *   thread meanwhile, and must not block for long (relay.c bounds the
 *   writes to a client that does not read).
 * First-byte and idle limits are checked every SWEEP_MS on the loop, to the
 * millisecond on the calling thread; on_idle runs every TICK_MS of silence.
 * Each multi keeps its connection cache, so connections (and TLS sessions)
 * are reused across requests.
 * Never: logs, sees the body's meaning, or puts the key in a URL.
 */
#include "upstream.h"

#include "clock.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS  100	/* on_idle period while the upstream is silent */
#define SWEEP_MS 25	/* the loop's deadline checks: timeouts late by
			 * at most this (a sweep visits every transfer:
			 * at 10 ms it cost 2 % of a 512-stream run) */
#define EVENTS   64	/* epoll events taken per wake-up */
#define WAITING  (UINT64_C(1) << 32)	/* epoll tag: a paused transfer's
					 * wait_fd, not a curl socket */

enum { H_IDLE, H_QUEUED, H_RUNNING, H_DONE };

struct px_http {
	CURLM *m;
	CURL *c;
	char  errbuf[CURL_ERROR_SIZE];
	/* state of the exchange in progress */
	const struct px_http_req *rq;
	struct px_http_result    *res;
	long  t0_ms, last_ms, tick_ms;
	long  paused_ms;	/* when on_data paused the transfer; 0: not */
	int   armed;		/* rq->wait_fd is in the loop's epoll */
	int   got_bytes;
	enum px_http_outcome abort_why;
	/* on the stream loop: its lists, and the hand-back to the caller
	 * (state and rc under the loop's mutex) */
	struct px_http *next, *prev;
	pthread_cond_t  cv;
	int      state;
	CURLcode rc;
};

static void arm(struct px_http_loop *l, struct px_http *h);

struct px_http_loop {
	CURLM *m;
	int    ep;		/* epoll: curl's sockets and efd */
	int    efd;		/* eventfd: a submission or the stop */
	pthread_t th;
	pthread_mutex_t mu;	/* queue, stop, each handle's state and rc */
	struct px_http *queue;	/* submitted, not yet on the multi */
	int    stop;
	/* loop thread only */
	struct px_http *run;	/* transfers on the multi */
	long   timer_at;	/* curl's timeout, monotonic ms; -1: none */
	long   sweep_at;
};

int
px_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK ? 0 : -1;
}

void
px_http_global_cleanup(void)
{
	curl_global_cleanup();
}

static size_t
on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct px_http *h = ud;
	size_t n = size * nmemb;
	long status = 0;
	int rc;

	h->last_ms = px_mono_ms();
	if (!h->got_bytes) {	/* body bytes come after the final head */
		h->got_bytes = 1;
		h->res->ttfb_ms = h->last_ms - h->t0_ms;
		curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &status);
		h->res->status = status;
	}
	rc = h->rq->on_data(h->rq->ctx, h->res->status, p, n);
	if (rc == PX_HTTP_PAUSE && h->rq->on_ready != NULL) {
		h->paused_ms = h->last_ms;	/* curl keeps the bytes */
		arm(h->rq->loop, h);
		return CURL_WRITEFUNC_PAUSE;
	}
	if (rc != 0) {
		h->abort_why = PX_HTTP_ABORTED;
		return 0;	/* any value != n makes curl stop: rc 23 */
	}
	h->res->bytes_in += n;
	return n;
}

/* Copy the value of header line `line` into dst if its name is `name`. */
static void
grab(const char *line, size_t n, const char *name, char *dst, size_t cap)
{
	size_t k = strlen(name), v;

	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return;
	line += k + 1;
	n -= k + 1;
	while (n > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' ||
	    line[n - 1] == ' '))
		n--;
	v = n < cap - 1 ? n : cap - 1;
	memcpy(dst, line, v);
	dst[v] = '\0';
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct px_http *h = ud;
	struct px_http_result *r = h->res;
	size_t n = size * nmemb;

	if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue or a retry): forget */
		r->retry_after[0] = r->retry_after_ms[0] = '\0';
		r->ratelimit_reset[0] = '\0';
		return n;
	}
	grab(p, n, "retry-after", r->retry_after, sizeof(r->retry_after));
	grab(p, n, "retry-after-ms", r->retry_after_ms,
	    sizeof(r->retry_after_ms));
	grab(p, n, "x-ratelimit-reset", r->ratelimit_reset,
	    sizeof(r->ratelimit_reset));
	return n;
}

/*
 * Check the clock: time out, or (when tick) tell the caller about silence.
 * Returns non-zero (with abort_why set) when the exchange must stop.
 */
static int
watchdog(struct px_http *h, long now, int tick)
{
	const struct px_http_req *rq = h->rq;
	long idle = now - (h->got_bytes ? h->last_ms : h->t0_ms);

	if (!h->got_bytes && rq->first_byte_timeout_ms > 0 &&
	    idle >= rq->first_byte_timeout_ms) {
		h->abort_why = PX_HTTP_TIMEOUT_FIRST_BYTE;
		return 1;
	}
	if (h->got_bytes && rq->idle_timeout_ms > 0 &&
	    idle >= rq->idle_timeout_ms) {
		h->abort_why = PX_HTTP_TIMEOUT_IDLE;
		return 1;
	}
	if (tick && rq->on_idle != NULL && idle >= TICK_MS &&
	    rq->on_idle(rq->ctx, idle, h->got_bytes) != 0) {
		h->abort_why = PX_HTTP_ABORTED;
		return 1;
	}
	return 0;
}

struct px_http *
px_http_new(void)
{
	struct px_http *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	if (pthread_cond_init(&h->cv, NULL) != 0) {
		free(h);
		return NULL;
	}
	h->c = curl_easy_init();
	h->m = curl_multi_init();
	if (h->c == NULL || h->m == NULL) {
		px_http_free(h);
		return NULL;
	}
	curl_easy_setopt(h->c, CURLOPT_PRIVATE, h);
	curl_easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h->c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(h->c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h->c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h->c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h->c, CURLOPT_PROTOCOLS_STR, "http,https");
	return h;
}

void
px_http_free(struct px_http *h)
{
	if (h == NULL)
		return;
	if (h->c != NULL)
		curl_easy_cleanup(h->c);
	if (h->m != NULL)
		curl_multi_cleanup(h->m);
	pthread_cond_destroy(&h->cv);
	free(h);
}

static enum px_http_outcome
outcome(struct px_http *h, CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return PX_HTTP_DONE;
	case CURLE_WRITE_ERROR:
	case CURLE_ABORTED_BY_CALLBACK:
		return h->abort_why != PX_HTTP_DONE ? h->abort_why :
		    PX_HTTP_ABORTED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
		return PX_HTTP_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return h->got_bytes || h->res->status != 0 ?
		    PX_HTTP_TIMEOUT_TOTAL : PX_HTTP_TIMEOUT_CONNECT;
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		return PX_HTTP_BROKEN;
	default:
		return PX_HTTP_OTHER;
	}
}

static struct curl_slist *
headers(const struct px_http_req *rq)
{
	struct curl_slist *l = NULL, *t;
	const char *const *hp;

	for (hp = rq->headers; hp != NULL && *hp != NULL; hp++) {
		t = curl_slist_append(l, *hp);
		if (t != NULL)
			l = t;
	}
	if (rq->body != NULL) {
		t = curl_slist_append(l, "Content-Type: application/json");
		if (t != NULL)
			l = t;
	}
	t = curl_slist_append(l, "Expect:");	/* no 100-continue wait */
	if (t != NULL)
		l = t;
	return l;
}

/* Milliseconds to sleep in poll: a tick, or less to hit a deadline. */
static int
poll_ms(const struct px_http *h)
{
	const struct px_http_req *rq = h->rq;
	long limit = h->got_bytes ? rq->idle_timeout_ms :
	    rq->first_byte_timeout_ms;
	long left;

	if (limit <= 0)
		return TICK_MS;
	left = limit - (px_mono_ms() - (h->got_bytes ? h->last_ms : h->t0_ms));
	if (left < 1)
		return 1;
	return left < TICK_MS ? (int)left : TICK_MS;
}

/* Drive the transfer to its end, enforcing the deadlines. */
static CURLcode
run(struct px_http *h)
{
	CURLcode rc = CURLE_ABORTED_BY_CALLBACK;
	CURLMsg *msg;
	int running = 1, left;

	if (curl_multi_add_handle(h->m, h->c) != CURLM_OK)
		return CURLE_FAILED_INIT;
	while (running) {
		if (curl_multi_perform(h->m, &running) != CURLM_OK) {
			rc = CURLE_FAILED_INIT;
			break;
		}
		if (running && watchdog(h, px_mono_ms(), 1) != 0)
			break;
		if (running && curl_multi_poll(h->m, NULL, 0, poll_ms(h),
		    NULL) != CURLM_OK) {
			rc = CURLE_FAILED_INIT;
			break;
		}
	}
	while ((msg = curl_multi_info_read(h->m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == h->c)
			rc = msg->data.result;
	/* removing an unfinished transfer closes its connection */
	curl_multi_remove_handle(h->m, h->c);
	return rc;
}

/* --- the stream loop ----------------------------------------------------- */

/* curl's socket callback: follow the interest it asks for in epoll. */
static int
on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *sockp)
{
	struct px_http_loop *l = ud;
	struct epoll_event ev;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (sockp != NULL)
			(void)epoll_ctl(l->ep, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
	    ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
	ev.data.u64 = (uint64_t)(unsigned)s;
	if (sockp != NULL)
		return epoll_ctl(l->ep, EPOLL_CTL_MOD, s, &ev) == 0 ? 0 : -1;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, s, &ev) != 0)
		return -1;
	(void)curl_multi_assign(l->m, s, l);	/* mark: in epoll */
	return 0;
}

/* curl's timer callback: when to call it back with CURL_SOCKET_TIMEOUT. */
static int
on_timer(CURLM *m, long timeout_ms, void *ud)
{
	struct px_http_loop *l = ud;

	(void)m;
	l->timer_at = timeout_ms < 0 ? -1 : px_mono_ms() + timeout_ms;
	return 0;
}

static void
unlink_run(struct px_http_loop *l, struct px_http *h)
{
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		l->run = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	h->next = h->prev = NULL;
}

/* Back to the worker waiting for the transfer, with its result. */
static void
hand_back(struct px_http_loop *l, struct px_http *h, CURLcode rc)
{
	unlink_run(l, h);
	pthread_mutex_lock(&l->mu);
	h->rc = rc;
	h->state = H_DONE;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&l->mu);
}

/* A transfer is over: off the multi (an unfinished one's connection is
 * closed), and back to its worker. */
static void
complete(struct px_http_loop *l, struct px_http *h, CURLcode rc)
{
	(void)curl_multi_remove_handle(l->m, h->c);
	if (h->armed)	/* before the caller may close it */
		(void)epoll_ctl(l->ep, EPOLL_CTL_DEL, h->rq->wait_fd, NULL);
	h->armed = 0;
	hand_back(l, h, rc);
}

/* Move the submitted transfers onto the multi. */
static void
take(struct px_http_loop *l)
{
	struct px_http *q, *h;
	uint64_t v;

	if (read(l->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&l->mu);
	q = l->queue;
	l->queue = NULL;
	pthread_mutex_unlock(&l->mu);
	while ((h = q) != NULL) {
		q = h->next;
		h->prev = NULL;
		h->next = l->run;
		if (l->run != NULL)
			l->run->prev = h;
		l->run = h;
		h->state = H_RUNNING;
		h->tick_ms = px_mono_ms();
		if (curl_multi_add_handle(l->m, h->c) != CURLM_OK)
			hand_back(l, h, CURLE_FAILED_INIT);
	}
}

/* Finished transfers, as curl reports them. */
static void
reap(struct px_http_loop *l)
{
	CURLMsg *msg;
	int left;
	struct px_http *h;

	while ((msg = curl_multi_info_read(l->m, &left)) != NULL) {
		h = NULL;
		if (msg->msg != CURLMSG_DONE || curl_easy_getinfo(
		    msg->easy_handle, CURLINFO_PRIVATE, (char **)&h) !=
		    CURLE_OK || h == NULL)
			continue;
		complete(l, h, msg->data.result);
	}
}

/* Wake the loop when a paused transfer's wait_fd turns writable (once:
 * resume arms it again while the caller is not ready). */
static void
arm(struct px_http_loop *l, struct px_http *h)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT | EPOLLONESHOT;
	ev.data.u64 = WAITING | (uint64_t)(unsigned)h->rq->wait_fd;
	if (epoll_ctl(l->ep, h->armed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    h->rq->wait_fd, &ev) == 0)
		h->armed = 1;	/* else the sweep still looks every SWEEP_MS */
}

/* The paused transfer waiting on fd, if any (pauses are rare: a scan). */
static struct px_http *
waiting_on(struct px_http_loop *l, int fd)
{
	struct px_http *h;

	for (h = l->run; h != NULL; h = h->next)
		if (h->paused_ms > 0 && h->armed && h->rq->wait_fd == fd)
			return h;
	return NULL;
}

/* A paused transfer: go on when the caller is ready (curl then hands the
 * kept bytes to on_write again, which may pause once more). */
static void
resume(struct px_http_loop *l, struct px_http *h, long now)
{
	int r = h->rq->on_ready(h->rq->ctx, now - h->paused_ms);

	if (r < 0) {
		h->abort_why = PX_HTTP_ABORTED;
		complete(l, h, CURLE_ABORTED_BY_CALLBACK);
	} else if (r == 0) {
		arm(l, h);
	} else {
		h->paused_ms = 0;
		h->last_ms = h->tick_ms = now;	/* the silence starts now */
		if (curl_easy_pause(h->c, CURLPAUSE_CONT) != CURLE_OK) {
			h->abort_why = PX_HTTP_ABORTED;
			complete(l, h, CURLE_ABORTED_BY_CALLBACK);
		}
	}
}

/* The deadlines of every transfer, and on_idle for the silent ones. */
static void
sweep(struct px_http_loop *l, long now)
{
	struct px_http *h, *next;
	int tick;

	l->sweep_at = now + SWEEP_MS;
	for (h = l->run; h != NULL; h = next) {
		next = h->next;
		if (h->paused_ms > 0) {
			resume(l, h, now);
			continue;
		}
		tick = now - h->tick_ms >= TICK_MS;
		if (tick)
			h->tick_ms = now;
		if (watchdog(h, now, tick) != 0)
			complete(l, h, CURLE_ABORTED_BY_CALLBACK);
	}
}

/* How long epoll may sleep: until curl's timer or the next sweep. */
static int
wait_ms(const struct px_http_loop *l, long now)
{
	long t = -1;

	if (l->timer_at >= 0)
		t = l->timer_at - now;
	if (l->run != NULL && (t < 0 || l->sweep_at - now < t))
		t = l->sweep_at - now;
	if (l->run == NULL && l->timer_at < 0)
		return -1;
	return t < 0 ? 0 : t > 1000 ? 1000 : (int)t;
}

static int
csel(uint32_t ev)
{
	return ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) ? CURL_CSELECT_IN : 0) |
	    ((ev & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
	    ((ev & EPOLLERR) ? CURL_CSELECT_ERR : 0);
}

static int
stopping(struct px_http_loop *l)
{
	int s;

	pthread_mutex_lock(&l->mu);
	s = l->stop && l->queue == NULL;
	pthread_mutex_unlock(&l->mu);
	return s && l->run == NULL;
}

static void *
loop_main(void *arg)
{
	struct px_http_loop *l = arg;
	struct epoll_event ev[EVENTS];
	int n, i, running;
	long now;

	for (;;) {
		n = epoll_wait(l->ep, ev, EVENTS, wait_ms(l, px_mono_ms()));
		now = px_mono_ms();
		for (i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;
			struct px_http *h;

			if (tag == (uint64_t)(unsigned)l->efd)
				take(l);
			else if ((tag & WAITING) == 0)
				(void)curl_multi_socket_action(l->m, (int)tag,
				    csel(ev[i].events), &running);
			else if ((h = waiting_on(l, (int)(tag & 0xffffffffu)))
			    != NULL)
				resume(l, h, now);
		}
		if (l->timer_at >= 0 && now >= l->timer_at) {
			l->timer_at = -1;
			(void)curl_multi_socket_action(l->m,
			    CURL_SOCKET_TIMEOUT, 0, &running);
		}
		reap(l);
		if (l->run != NULL && now >= l->sweep_at)
			sweep(l, now);
		if (l->run == NULL && stopping(l))
			break;
	}
	return NULL;
}

struct px_http_loop *
px_http_loop_new(void)
{
	struct px_http_loop *l = calloc(1, sizeof(*l));
	struct epoll_event ev;

	if (l == NULL)
		return NULL;
	l->ep = l->efd = -1;
	l->timer_at = -1;
	if (pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l);
		return NULL;
	}
	l->m = curl_multi_init();
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = (uint64_t)(unsigned)l->efd;
	if (l->m == NULL || l->ep < 0 || l->efd < 0 ||
	    epoll_ctl(l->ep, EPOLL_CTL_ADD, l->efd, &ev) != 0)
		goto fail;
	curl_multi_setopt(l->m, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(l->m, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->m, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(l->m, CURLMOPT_TIMERDATA, l);
	if (pthread_create(&l->th, NULL, loop_main, l) != 0)
		goto fail;
	return l;
fail:
	if (l->m != NULL)
		curl_multi_cleanup(l->m);
	if (l->ep >= 0)
		close(l->ep);
	if (l->efd >= 0)
		close(l->efd);
	pthread_mutex_destroy(&l->mu);
	free(l);
	return NULL;
}

static void
kick(struct px_http_loop *l)
{
	uint64_t one = 1;

	if (write(l->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;	/* cannot happen on an eventfd below its maximum */
}

void
px_http_loop_free(struct px_http_loop *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	pthread_mutex_unlock(&l->mu);
	kick(l);
	pthread_join(l->th, NULL);
	curl_multi_cleanup(l->m);
	close(l->ep);
	close(l->efd);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/* Hand the transfer to the loop and sleep until it is over. */
static CURLcode
run_on_loop(struct px_http_loop *l, struct px_http *h)
{
	CURLcode rc;

	pthread_mutex_lock(&l->mu);
	h->state = H_QUEUED;
	h->prev = NULL;
	h->next = l->queue;
	l->queue = h;
	pthread_mutex_unlock(&l->mu);
	kick(l);
	pthread_mutex_lock(&l->mu);
	while (h->state != H_DONE)
		pthread_cond_wait(&h->cv, &l->mu);
	h->state = H_IDLE;
	rc = h->rc;
	pthread_mutex_unlock(&l->mu);
	return rc;
}

void
px_http_perform(struct px_http *h, const struct px_http_req *rq,
    struct px_http_result *res)
{
	struct curl_slist *hl;
	CURLcode rc;

	memset(res, 0, sizeof(*res));
	res->ttfb_ms = -1;
	h->rq = rq;
	h->res = res;
	h->got_bytes = 0;
	h->paused_ms = 0;
	h->abort_why = PX_HTTP_DONE;
	h->errbuf[0] = '\0';
	hl = headers(rq);
	curl_easy_setopt(h->c, CURLOPT_URL, rq->url);
	curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, hl);
	if (rq->body != NULL) {
		curl_easy_setopt(h->c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(h->c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)rq->body_len);
	} else {
		curl_easy_setopt(h->c, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(h->c, CURLOPT_CONNECTTIMEOUT_MS,
	    rq->connect_timeout_ms);
	curl_easy_setopt(h->c, CURLOPT_TIMEOUT_MS, rq->total_timeout_ms);
	h->t0_ms = h->last_ms = px_mono_ms();
	rc = rq->loop != NULL ? run_on_loop(rq->loop, h) : run(h);
	res->elapsed_ms = px_mono_ms() - h->t0_ms;
	curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &res->status);
	res->outcome = outcome(h, rc);
	if (rc != CURLE_OK)
		snprintf(res->error, sizeof(res->error), "%.90s",
		    h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
	curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	h->rq = NULL;
	h->res = NULL;
}

const char *
px_http_outcome_name(enum px_http_outcome o)
{
	static const char *const names[] = {
		"done", "connect_failed", "connect_timeout",
		"first_byte_timeout", "idle_timeout", "total_timeout",
		"aborted", "broken", "error"
	};

	if ((unsigned)o >= sizeof(names) / sizeof(names[0]))
		return "error";
	return names[o];
}
