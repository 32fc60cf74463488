/*
 * upstream.c -- libcurl behind px_http (see upstream.h).
 * Why our own loop: CURLOPT_TIMEOUT kills healthy long generations,
 * LOW_SPEED averages over ~5 s (fastcgi-lmdb-notes.md §4), and the xferinfo
 * callback may run only once a second while a socket is silent. So each
 * handle runs in its own one-handle multi, polled with a deadline we
 * choose: first-byte and idle limits are exact to the tick (TICK_MS), and
 * keep-alive comments go out on time. The multi keeps the connection cache,
 * so connections (and TLS sessions) are reused across requests.
 * Never: logs, sees the body's meaning, or puts the key in a URL.
 */
#include "upstream.h"

#include "clock.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TICK_MS 100	/* wake-up period while the upstream is silent */

struct px_http {
	CURLM *m;
	CURL *c;
	char  errbuf[CURL_ERROR_SIZE];
	/* state of the exchange in progress */
	const struct px_http_req *rq;
	struct px_http_result    *res;
	long  t0_ms, last_ms;
	int   got_bytes;
	enum px_http_outcome abort_why;
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

	if (!h->got_bytes) {
		h->got_bytes = 1;
		h->res->ttfb_ms = px_mono_ms() - h->t0_ms;
	}
	h->last_ms = px_mono_ms();
	h->res->bytes_in += n;
	curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &status);
	h->res->status = status;
	if (h->rq->on_data(h->rq->ctx, status, p, n) != 0) {
		h->abort_why = PX_HTTP_ABORTED;
		return 0;	/* any value != n makes curl stop: rc 23 */
	}
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
 * Check the clock: time out, or tell the caller about silence. Returns
 * non-zero (with abort_why set) when the exchange must stop.
 */
static int
watchdog(struct px_http *h)
{
	const struct px_http_req *rq = h->rq;
	long idle = px_mono_ms() - (h->got_bytes ? h->last_ms : h->t0_ms);

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
	if (rq->on_idle != NULL && idle >= TICK_MS &&
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
	h->c = curl_easy_init();
	h->m = curl_multi_init();
	if (h->c == NULL || h->m == NULL) {
		px_http_free(h);
		return NULL;
	}
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
		if (running && watchdog(h) != 0)
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
	rc = run(h);
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
