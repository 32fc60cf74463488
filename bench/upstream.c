/*
 * upstream.c -- the canned upstream for `make bench`: an epoll HTTP/1.x
 * server on 127.0.0.1 that answers any POST with a fixed chat completion,
 * or, when the body has "stream":true, with SSE events on an ABSOLUTE
 * schedule (event k leaves at t0 + k * interval, t0 = request complete).
 * Owns: keep-alive connections (HTTP/1.1 chunked; HTTP/1.0 close-delimited),
 * the event timer heap, and its own send-lateness statistics (printed on
 * SIGUSR2 and at exit) that show it is never the bottleneck.
 * Never: sleeps relative to the previous event (nginx echo_sleep drifts
 * 13-32 ms per stream that way), blocks, or listens beyond 127.0.0.1.
 *
 * The model name picks the script: "...-eN-iMS..." sends N events MS ms
 * apart (defaults from -n and -i). Each event is an OpenAI chunk of about
 * 195 bytes carrying "x_seq":k so a client can time it, and the content
 * "tokKKKK " (k, 4 digits), which the proxy's client dialects (Responses,
 * Messages) carry over into their delta events where x_seq is dropped, so
 * those streams can be timed too; the last one has
 * finish_reason "stop", then a usage chunk (when the request asked for
 * stream_options.include_usage) and [DONE].
 *
 * Native Gemini (issue 11): under any prefix, POST .../models/MODEL:
 * streamGenerateContent?alt=sse and .../models/MODEL:generateContent take
 * the script from MODEL in the URL (the body has no model and no "stream").
 * The stream is Gemini's: each event a whole GenerateContentResponse with
 * one text part "tokKKKK " (the same marker, so the load client times the
 * chat chunks the proxy makes of it), interim usageMetadata on every
 * event, the last with finishReason "STOP" and the full usageMetadata,
 * events separated by CRLF CRLF, no [DONE] (the response just ends). The
 * non-stream answer is a canned generateContent body.
 *
 * usage: upstream [-p PORT] [-f PORTFILE] [-n EVENTS] [-i INTERVAL_MS]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS   65536
#define IN_CAP    16384		/* request head + body */
#define OUT_MAX   (1u << 20)	/* unsent bytes before we drop a client */
#define LATE_BINS 1001		/* send lateness histogram, 1 ms bins */

static const char CHAT_JSON[] =
    "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\","
    "\"created\":1700000000,\"model\":\"bench\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"Hello from the bench "
    "upstream.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":"
    "9,\"completion_tokens\":7,\"total_tokens\":16}}";

static const char GEMINI_JSON[] =
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hello from "
    "the bench upstream.\"}],\"role\":\"model\"},\"finishReason\":"
    "\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":9,"
    "\"candidatesTokenCount\":7,\"totalTokenCount\":16},\"modelVersion\":"
    "\"bench\",\"responseId\":\"bench\"}";

struct conn {
	int      fd;
	unsigned gen;		/* bumps on close: stale timer entries */
	char     in[IN_CAP];
	size_t   inlen;
	char    *out;
	size_t   outlen, outcap;
	int      close_after;	/* HTTP/1.0 or Connection: close */
	int      chunked;
	int      streaming;	/* events left to send */
	int      busy;		/* a response is in progress */
	int      usage;		/* send a usage chunk before [DONE] */
	int      native;	/* Gemini native API: its events, no [DONE] */
	int      nev, next;	/* events in the script, next seq */
	long     interval_us;
	int64_t  t0_us;
};

struct timer {
	int64_t  due_us;
	int      fd;
	unsigned gen;
};

static struct conn *conns[MAX_FDS];
static struct timer *heap;
static size_t heap_n, heap_cap;
static int ep;
static int def_events = 64, def_interval_ms = 20;
static volatile sig_atomic_t want_stats, want_exit;
static unsigned long late_hist[LATE_BINS];
static unsigned long st_events, st_requests, st_streams, st_drops;
static int64_t late_max_us;

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR2)
		want_stats = 1;
	else
		want_exit = 1;
}

/* --- timer heap (min on due_us) ----------------------------------------- */

static void
heap_swap(size_t a, size_t b)
{
	struct timer t = heap[a];

	heap[a] = heap[b];
	heap[b] = t;
}

static int
heap_push(int64_t due, int fd, unsigned gen)
{
	size_t i;

	if (heap_n == heap_cap) {
		size_t nc = heap_cap ? heap_cap * 2 : 1024;
		struct timer *nh = realloc(heap, nc * sizeof(*nh));

		if (nh == NULL)
			return -1;
		heap = nh;
		heap_cap = nc;
	}
	i = heap_n++;
	heap[i].due_us = due;
	heap[i].fd = fd;
	heap[i].gen = gen;
	while (i > 0 && heap[(i - 1) / 2].due_us > heap[i].due_us) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	return 0;
}

static struct timer
heap_pop(void)
{
	struct timer top = heap[0];
	size_t i = 0;

	heap[0] = heap[--heap_n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < heap_n && heap[l].due_us < heap[m].due_us)
			m = l;
		if (r < heap_n && heap[r].due_us < heap[m].due_us)
			m = r;
		if (m == i)
			break;
		heap_swap(i, m);
		i = m;
	}
	return top;
}

/* --- connections --------------------------------------------------------- */

static void
conn_close(struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->gen++;
	c->inlen = c->outlen = 0;
	c->busy = c->streaming = 0;
}

static int
out_add(struct conn *c, const char *p, size_t n)
{
	if (c->outlen + n > c->outcap) {
		size_t nc = c->outcap ? c->outcap : 4096;
		char *no;

		while (nc < c->outlen + n)
			nc *= 2;
		if (nc > OUT_MAX)
			return -1;
		no = realloc(c->out, nc);
		if (no == NULL)
			return -1;
		c->out = no;
		c->outcap = nc;
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
	return 0;
}

/* Body bytes, framed as a chunk when the response is chunked. */
static int
body_add(struct conn *c, const char *p, size_t n)
{
	char hd[32];
	int k;

	if (!c->chunked)
		return out_add(c, p, n);
	k = snprintf(hd, sizeof(hd), "%zx\r\n", n);
	if (out_add(c, hd, (size_t)k) != 0 || out_add(c, p, n) != 0)
		return -1;
	return out_add(c, "\r\n", 2);
}

static void
watch(struct conn *c, int want_out)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0);
	ev.data.fd = c->fd;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void handle_input(struct conn *c);

/* Write what we can. Returns -1 when the connection was closed. */
static int
flush_out(struct conn *c)
{
	size_t off = 0;

	if (c->fd < 0)
		return -1;	/* closed further down the call chain */
	while (off < c->outlen) {
		ssize_t w = write(c->fd, c->out + off, c->outlen - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0) {
			conn_close(c);
			return -1;
		}
		off += (size_t)w;
	}
	memmove(c->out, c->out + off, c->outlen - off);
	c->outlen -= off;
	watch(c, c->outlen > 0);
	if (c->outlen > 0 || c->busy)
		return 0;
	if (c->close_after) {
		conn_close(c);
		return -1;
	}
	if (c->inlen > 0)
		handle_input(c);	/* a pipelined request */
	return 0;
}

/* The response ended: finish the body framing. */
static void
end_response(struct conn *c)
{
	c->busy = 0;
	if (c->chunked)
		(void)out_add(c, "0\r\n\r\n", 5);
}

static int
event_text(char *dst, size_t cap, int seq, int last)
{
	return snprintf(dst, cap, "data: {\"id\":\"chatcmpl-bench\",\"object\":"
	    "\"chat.completion.chunk\",\"created\":1700000000,\"model\":"
	    "\"bench\",\"x_seq\":%d,\"choices\":[{\"index\":0,\"delta\":"
	    "{\"content\":\"tok%04d \"},\"finish_reason\":%s}]}\n\n", seq,
	    seq % 10000, last ? "\"stop\"" : "null");
}

/* A native Gemini event (2026 doc §5.2): text part, interim usage. */
static int
event_text_native(char *dst, size_t cap, int seq, int last, int nev)
{
	char usage[128];

	if (last)
		snprintf(usage, sizeof(usage), "\"promptTokenCount\":9,"
		    "\"candidatesTokenCount\":%d,\"totalTokenCount\":%d", nev,
		    nev + 9);
	else
		snprintf(usage, sizeof(usage), "\"promptTokenCount\":9,"
		    "\"totalTokenCount\":9");
	return snprintf(dst, cap, "data: {\"candidates\":[{\"content\":"
	    "{\"parts\":[{\"text\":\"tok%04d \"}],\"role\":\"model\"},%s"
	    "\"index\":0}],\"usageMetadata\":{%s},\"modelVersion\":"
	    "\"bench\",\"responseId\":\"bench-r\"}\r\n\r\n", seq % 10000,
	    last ? "\"finishReason\":\"STOP\"," : "", usage);
}

static void
send_tail(struct conn *c)
{
	static const char usage[] = "data: {\"id\":\"chatcmpl-bench\","
	    "\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
	    "\"model\":\"bench\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
	    "9,\"completion_tokens\":64,\"total_tokens\":73}}\n\n";
	static const char done[] = "data: [DONE]\n\n";

	if (c->native) {	/* Gemini: the response just ends */
		end_response(c);
		return;
	}
	if (c->usage)
		(void)body_add(c, usage, sizeof(usage) - 1);
	(void)body_add(c, done, sizeof(done) - 1);
	end_response(c);
}

static void
note_late(int64_t late)
{
	long ms = (long)(late / 1000);

	if (late > late_max_us)
		late_max_us = late;
	late_hist[ms < 0 ? 0 : ms >= LATE_BINS ? LATE_BINS - 1 : ms]++;
}

/* Send event c->next (due at t0 + next * interval); schedule the one after. */
static void
send_event(struct conn *c, int64_t now)
{
	char ev[512];
	int seq = c->next++, last = c->next == c->nev, n;

	note_late(now - (c->t0_us + (int64_t)seq * c->interval_us));
	st_events++;
	n = c->native ? event_text_native(ev, sizeof(ev), seq, last, c->nev) :
	    event_text(ev, sizeof(ev), seq, last);
	if (body_add(c, ev, (size_t)n) != 0) {
		st_drops++;
		conn_close(c);
		return;
	}
	if (last) {
		c->streaming = 0;
		send_tail(c);
	} else if (heap_push(c->t0_us + (int64_t)c->next * c->interval_us,
	    c->fd, c->gen) != 0) {
		conn_close(c);
		return;
	}
	(void)flush_out(c);
}

/* --- requests -------------------------------------------------------------- */

static const char *
find(const char *h, size_t n, const char *needle)
{
	return memmem(h, n, needle, strlen(needle));
}

/* The model string of a request: [*m, *q) of the body's "model". */
static int
body_model(const char *body, size_t n, const char **m, const char **q)
{
	const char *p = find(body, n, "\"model\""), *end = body + n;

	if (p == NULL)
		return -1;
	p = memchr(p + 7, '"', (size_t)(end - p - 7));
	if (p == NULL)
		return -1;
	*m = p;
	*q = memchr(p + 1, '"', (size_t)(end - p - 1));
	return *q == NULL ? -1 : 0;
}

/* Value of "-<flag>NNN" inside the model string [m, q), or def. */
static int
model_param(const char *m, const char *q, char flag, int def)
{
	char pat[3] = { '-', flag, '\0' };

	if (m == NULL || q == NULL)
		return def;
	m = find(m, (size_t)(q - m), pat);
	if (m == NULL || m + 2 >= q || m[2] < '0' || m[2] > '9')
		return def;
	return atoi(m + 2);
}

static int
body_has(const char *b, size_t n, const char *key, const char *val)
{
	const char *p = b, *end = b + n;

	while ((p = find(p, (size_t)(end - p), key)) != NULL) {
		p += strlen(key);
		while (p < end && (*p == ' ' || *p == ':'))
			p++;
		if ((size_t)(end - p) >= strlen(val) &&
		    memcmp(p, val, strlen(val)) == 0)
			return 1;
	}
	return 0;
}

/* What a request asks for, read before its bytes leave the input buffer. */
struct ask {
	int stream, nev, usage, native;
	long interval_us;
};

static void
respond_json(struct conn *c, const struct ask *a)
{
	const char *body = a->native ? GEMINI_JSON : CHAT_JSON;
	size_t blen = a->native ? sizeof(GEMINI_JSON) - 1 :
	    sizeof(CHAT_JSON) - 1;
	char hd[256];
	int n;

	n = snprintf(hd, sizeof(hd), "HTTP/1.%d 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\n%s\r\n",
	    c->close_after ? 0 : 1, blen,
	    c->close_after ? "Connection: close\r\n" : "");
	c->chunked = 0;
	(void)out_add(c, hd, (size_t)n);
	(void)out_add(c, body, blen);
	c->busy = 0;
}

static void
respond_stream(struct conn *c, const struct ask *a)
{
	static const char h11[] = "HTTP/1.1 200 OK\r\nContent-Type: "
	    "text/event-stream\r\nCache-Control: no-cache\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	static const char h10[] = "HTTP/1.0 200 OK\r\nContent-Type: "
	    "text/event-stream\r\nCache-Control: no-cache\r\n"
	    "Connection: close\r\n\r\n";

	c->nev = a->nev;
	c->interval_us = a->interval_us;
	c->usage = a->usage;
	c->native = a->native;
	c->chunked = !c->close_after;
	c->next = 0;
	c->t0_us = now_us();
	st_streams++;
	if (c->close_after)
		(void)out_add(c, h10, sizeof(h10) - 1);
	else
		(void)out_add(c, h11, sizeof(h11) - 1);
	if (c->nev <= 0) {
		send_tail(c);
		return;
	}
	c->streaming = 1;
	send_event(c, c->t0_us);
}

/* Header value of name (case-insensitive) inside head, or NULL. */
static const char *
header(const char *head, size_t n, const char *name)
{
	const char *p = head, *end = head + n;
	size_t k = strlen(name);

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL)
			return NULL;
		if ((size_t)(eol - p) > k && strncasecmp(p, name, k) == 0 &&
		    p[k] == ':')
			return p + k + 1;
		p = eol + 1;
	}
	return NULL;
}

/*
 * A native Gemini request line "POST .../models/MODEL:METHOD[?...] HTTP":
 * 0 with the model string [*m, *q) and *stream set, -1 for anything else.
 */
static int
native_route(const char *head, size_t n, const char **m, const char **q,
    int *stream)
{
	const char *eol = memchr(head, '\r', n), *p, *colon;

	if (eol == NULL)
		return -1;
	p = find(head, (size_t)(eol - head), "/models/");
	if (p == NULL)
		return -1;
	p += 8;
	colon = memchr(p, ':', (size_t)(eol - p));
	if (colon == NULL)
		return -1;
	if ((size_t)(eol - colon) > 22 &&
	    memcmp(colon, ":streamGenerateContent", 22) == 0)
		*stream = 1;
	else if ((size_t)(eol - colon) > 16 &&
	    memcmp(colon, ":generateContent", 16) == 0)
		*stream = 0;
	else
		return -1;
	*m = p - 1;	/* model_param looks for "-e"/"-i" inside */
	*q = colon;
	return 0;
}

/* Parse one complete request if there is one; 0 when more input is needed. */
static int
take_request(struct conn *c)
{
	const char *hend = find(c->in, c->inlen, "\r\n\r\n");
	const char *cl, *cn, *m, *q;
	size_t hlen, blen = 0, total;
	struct ask a;

	if (hend == NULL)
		return c->inlen >= IN_CAP ? -1 : 0;
	hlen = (size_t)(hend - c->in) + 4;
	cl = header(c->in, hlen, "content-length");
	if (cl != NULL)
		blen = strtoul(cl, NULL, 10);
	total = hlen + blen;
	if (total > IN_CAP)
		return -1;
	if (c->inlen < total)
		return 0;
	cn = header(c->in, hlen, "connection");
	c->close_after = find(c->in, hlen, "HTTP/1.0\r\n") != NULL ||
	    (cn != NULL && strncasecmp(cn + strspn(cn, " "), "close", 5) == 0);
	c->busy = 1;
	st_requests++;
	if (native_route(c->in, hlen, &m, &q, &a.stream) == 0) {
		a.native = 1;
		a.usage = 0;
	} else {
		a.native = 0;
		if (body_model(c->in + hlen, blen, &m, &q) != 0)
			m = q = NULL;
		a.stream = body_has(c->in + hlen, blen, "\"stream\"", "true");
		a.usage = body_has(c->in + hlen, blen, "\"include_usage\"",
		    "true");
	}
	a.nev = model_param(m, q, 'e', def_events);
	a.interval_us = 1000L * model_param(m, q, 'i', def_interval_ms);
	/* consume first: responding may flush and look at the next request */
	memmove(c->in, c->in + total, c->inlen - total);
	c->inlen -= total;
	if (a.stream)
		respond_stream(c, &a);
	else
		respond_json(c, &a);
	return 1;
}

static void
handle_input(struct conn *c)
{
	int rc;

	if (c->busy)
		return;
	rc = take_request(c);
	if (rc < 0) {
		conn_close(c);
		return;
	}
	if (rc > 0)
		(void)flush_out(c);
}

static void
on_readable(struct conn *c)
{
	for (;;) {
		ssize_t r;

		if (c->inlen >= IN_CAP) {
			conn_close(c);
			return;
		}
		r = read(c->fd, c->in + c->inlen, IN_CAP - c->inlen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			conn_close(c);
			return;
		}
		c->inlen += (size_t)r;
	}
	handle_input(c);
}

static void
on_accept(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int one = 1;
		struct epoll_event ev;
		struct conn *c;

		if (fd < 0)
			return;
		if (fd >= MAX_FDS) {
			close(fd);
			continue;
		}
		if (conns[fd] == NULL)
			conns[fd] = calloc(1, sizeof(struct conn));
		c = conns[fd];
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->inlen = c->outlen = 0;
		c->busy = c->streaming = 0;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

/* --- main loop ------------------------------------------------------------ */

static void
print_stats(void)
{
	unsigned long n = 0, p99 = 0, acc = 0;
	int i;

	for (i = 0; i < LATE_BINS; i++)
		n += late_hist[i];
	for (i = 0; i < LATE_BINS && n > 0; i++) {
		acc += late_hist[i];
		if (acc * 100 >= n * 99) {
			p99 = (unsigned long)i;
			break;
		}
	}
	fprintf(stderr, "UPSTREAM requests=%lu streams=%lu events=%lu "
	    "drops=%lu send_late_p99_ms=%lu send_late_max_ms=%.1f\n",
	    st_requests, st_streams, st_events, st_drops, p99,
	    (double)late_max_us / 1000.0);
	memset(late_hist, 0, sizeof(late_hist));
	st_requests = st_streams = st_events = st_drops = 0;
	late_max_us = 0;
}

static void
run_timers(void)
{
	int64_t now = now_us();

	while (heap_n > 0 && heap[0].due_us <= now) {
		struct timer t = heap_pop();
		struct conn *c = conns[t.fd];

		if (c != NULL && c->fd == t.fd && c->gen == t.gen &&
		    c->streaming)
			send_event(c, now);
	}
}

/* Time until the next event is due (µs precision: epoll_pwait2). */
static struct timespec
wait_time(void)
{
	struct timespec ts = { 0, 200000000 };
	int64_t d;

	if (heap_n == 0)
		return ts;
	d = heap[0].due_us - now_us();
	if (d < 0)
		d = 0;
	ts.tv_sec = (time_t)(d / 1000000);
	ts.tv_nsec = (long)(d % 1000000) * 1000;
	return ts;
}

static int
listen_on(int port, const char *portfile)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	FILE *f;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 4096) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		perror("upstream: listen");
		return -1;
	}
	if (portfile != NULL) {
		f = fopen(portfile, "w");
		if (f == NULL)
			return -1;
		fprintf(f, "%d\n", ntohs(a.sin_port));
		fclose(f);
	}
	return fd;
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[1024], ev;
	struct timespec ts;
	const char *portfile = NULL;
	int port = 0, opt, lfd, i, n;

	while ((opt = getopt(argc, argv, "p:f:n:i:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'f': portfile = optarg; break;
		case 'n': def_events = atoi(optarg); break;
		case 'i': def_interval_ms = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: upstream [-p PORT] [-f PORTFILE]"
			    " [-n EVENTS] [-i INTERVAL_MS]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR2, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	lfd = listen_on(port, portfile);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || ep < 0)
		return 1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	while (!want_exit) {
		if (want_stats) {
			want_stats = 0;
			print_stats();
		}
		ts = wait_time();
		n = epoll_pwait2(ep, evs, 1024, &ts, NULL);
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				on_accept(lfd);
			} else if (conns[fd] != NULL && conns[fd]->fd == fd) {
				if (evs[i].events & EPOLLOUT)
					(void)flush_out(conns[fd]);
				if (conns[fd]->fd == fd &&
				    (evs[i].events & (EPOLLIN | EPOLLHUP |
				    EPOLLERR)))
					on_readable(conns[fd]);
			}
		}
		run_timers();
	}
	print_stats();
	return 0;
}
