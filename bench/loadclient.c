/*
 * loadclient.c -- the stream load client for `make bench` (epoll, C).
 * Owns: keeping N concurrent SSE streams open for a duration (each
 * finished stream replaced at once; the first N starts spread over a ramp),
 * timing every event, and sampling the CPU and RSS of the processes it is
 * told to watch over a steady window, so per-event CPU is counted against
 * exactly the events that arrived in that window.
 * Never: judges pass/fail (bench/run.sh does), or talks to anything but
 * 127.0.0.1.
 *
 * Lateness of event k = arrival(k) - (arrival(event 0) + k * interval):
 * the upstream sends on an absolute schedule, so anything above zero was
 * added on the way. Events are recognised by "x_seq":k in a data: line
 * (chat streams: the proxy relays the upstream's chunk as it is).
 *
 * Client dialects (issue 10) re-encode every upstream chunk, so x_seq is
 * gone: there the event k is the dialect's delta event that carries the
 * upstream chunk's text "tok%04d" (Responses: a response.output_text.delta
 * line, Messages: a content_block_delta line). Lifecycle events (created,
 * in_progress, output_item.added, content_part.added / message_start,
 * content_block_start, and the closing ones) are not counted: events and
 * lateness are per relayed upstream chunk on every route, so figures per
 * event compare across routes. First-event time is request start (connect)
 * to the delta of upstream event 0, which on a dialect route comes right
 * after the lifecycle preamble the proxy writes when it commits. A stream
 * is complete on data: [DONE] (chat), response.completed (Responses) or
 * message_stop (Messages) with every event seen.
 *
 * Native Gemini upstream (issue 11): the proxy builds the chat chunks
 * itself from Gemini events, so x_seq is gone there too; a chat chunk
 * without x_seq is timed by its delta content "tok%04d" (the upstream
 * puts the marker in each event's text part). A finish-only chunk
 * carries no text and is not counted; completion is data: [DONE].
 *
 * usage:
 *   loadclient port                       print a free 127.0.0.1 port
 *   loadclient stream -p PORT -u PATH -b BODYFILE -k KEY -n N -d SECONDS
 *       -r RAMP_S -e EVENTS -i INTERVAL_MS [-w FROM,TO] [-m PID=LABEL]...
 *       [-a x-api-key]
 *   loadclient seq -p PORT -u PATH -b BODYFILE -k KEY -c COUNT [-a x-api-key]
 * -a x-api-key: send the key as Anthropic clients do (x-api-key and
 * anthropic-version headers) instead of Authorization: Bearer.
 * Output: key=value lines on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_CAP   32768
#define MAX_MON   8
#define LATE_MS   100.0

struct opts {
	int         port, n, events, interval_ms, count;
	double      dur_s, ramp_s, win_from, win_to;
	const char *path, *bodyfile, *key, *auth;
	int         nmon;
	int         mon_pid[MAX_MON];
	const char *mon_label[MAX_MON];
};

enum { S_IDLE, S_CONNECTING, S_READING };

struct stream {
	int     fd, state;
	int64_t t_start, t_ev0, t_next_start;
	int     nev, done, status, in_body;
	size_t  len;
	char    buf[BUF_CAP];	/* last: memset up to here resets a stream */
};

struct dvec {
	double *v;
	size_t  n, cap;
};

struct mon {
	unsigned long long ticks0, ticks1;
	long rss_max_kb;
};

static struct {
	char   *req;
	size_t  reqlen;
	struct dvec late, ttfe;
	unsigned long started, complete, incomplete, errors, events, nlate;
	unsigned long win_events;
	double  lat_max;
	struct mon mon[MAX_MON];
	unsigned long long box0[2], box1[2];	/* busy, total jiffies */
} g;

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
dpush(struct dvec *d, double x)
{
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 65536;
		double *nv = realloc(d->v, nc * sizeof(*nv));

		if (nv == NULL)
			return;
		d->v = nv;
		d->cap = nc;
	}
	d->v[d->n++] = x;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(struct dvec *d, double p)
{
	size_t i;

	if (d->n == 0)
		return -1;
	i = (size_t)(p / 100.0 * (double)(d->n - 1) + 0.5);
	return d->v[i < d->n ? i : d->n - 1];
}

/* --- /proc sampling -------------------------------------------------------- */

static unsigned long long
proc_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	/* after ")": state(3) ... utime is field 14, stime 15 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
	    "%llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

static long
proc_rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void
box_ticks(unsigned long long out[2])
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int i;

	out[0] = out[1] = 0;
	if (f == NULL)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (i = 0; i < 8; i++)
			out[1] += v[i];
		out[0] = out[1] - v[3] - v[4];	/* minus idle and iowait */
	}
	fclose(f);
}

static void
sample(const struct opts *o, int at_end)
{
	int i;

	for (i = 0; i < o->nmon; i++) {
		unsigned long long t = proc_ticks(o->mon_pid[i]);

		if (at_end)
			g.mon[i].ticks1 = t;
		else
			g.mon[i].ticks0 = t;
	}
	box_ticks(at_end ? g.box1 : g.box0);
}

static void
sample_rss(const struct opts *o)
{
	int i;

	for (i = 0; i < o->nmon; i++) {
		long kb = proc_rss_kb(o->mon_pid[i]);

		if (kb > g.mon[i].rss_max_kb)
			g.mon[i].rss_max_kb = kb;
	}
}

/* --- the request ----------------------------------------------------------- */

static int
build_request(const struct opts *o)
{
	char *body, hd[1024];
	size_t blen;
	FILE *f = fopen(o->bodyfile, "rb");
	int hn;

	if (f == NULL)
		return -1;
	body = malloc(1 << 20);
	if (body == NULL) {
		fclose(f);
		return -1;
	}
	blen = fread(body, 1, (1 << 20) - 1, f);
	fclose(f);
	if (o->auth != NULL && strcmp(o->auth, "x-api-key") == 0)
		hn = snprintf(hd, sizeof(hd), "POST %s HTTP/1.0\r\nHost: "
		    "127.0.0.1:%d\r\nx-api-key: %s\r\nanthropic-version: "
		    "2023-06-01\r\nContent-Type: application/json\r\n"
		    "Accept: text/event-stream\r\nContent-Length: %zu\r\n\r\n",
		    o->path, o->port, o->key, blen);
	else
		hn = snprintf(hd, sizeof(hd), "POST %s HTTP/1.0\r\nHost: "
		    "127.0.0.1:%d\r\nAuthorization: Bearer %s\r\nContent-Type: "
		    "application/json\r\nAccept: text/event-stream\r\n"
		    "Content-Length: %zu\r\n\r\n", o->path, o->port, o->key,
		    blen);
	if (hn < 0 || (size_t)hn >= sizeof(hd)) {
		free(body);
		return -1;
	}
	g.req = malloc((size_t)hn + blen);
	if (g.req == NULL) {
		free(body);
		return -1;
	}
	memcpy(g.req, hd, (size_t)hn);
	memcpy(g.req + hn, body, blen);
	g.reqlen = (size_t)hn + blen;
	free(body);
	return 0;
}

static int
open_conn(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* --- one stream ------------------------------------------------------------ */

static void
stream_end(struct stream *s, int ep, const struct opts *o, int64_t now)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	s->state = S_IDLE;
	if (s->status == 200 && s->done && s->nev == o->events)
		g.complete++;
	else
		g.incomplete++;
	s->t_next_start = now;
}

static int
has_prefix(const char *line, size_t n, const char *pfx, size_t k)
{
	return n >= k && memcmp(line, pfx, k) == 0;
}

#define PFX(l, n, lit) has_prefix((l), (n), (lit), sizeof(lit) - 1)

/*
 * Upstream event number carried by a data: line, or -1 (not an event, or
 * a dialect's lifecycle event). Sets s->done on a stream's last event.
 */
static int
event_seq(struct stream *s, const char *line, size_t n)
{
	const char *p;

	if (PFX(line, n, "data: {\"type\":\"")) {	/* a client dialect */
		if (PFX(line, n, "data: {\"type\":\"response.completed\"") ||
		    PFX(line, n, "data: {\"type\":\"message_stop\"")) {
			s->done = 1;
			return -1;
		}
		if (!PFX(line, n, "data: {\"type\":\"response.output_text.delta\"")
		    && !PFX(line, n, "data: {\"type\":\"content_block_delta\""))
			return -1;
		p = memmem(line, n, "\":\"tok", 6);
		return p != NULL && p + 10 <= line + n ? atoi(p + 6) : -1;
	}
	if (PFX(line, n, "data: [DONE]")) {
		s->done = 1;
		return -1;
	}
	p = memmem(line, n, "\"x_seq\":", 8);
	if (p != NULL)
		return atoi(p + 8);
	/* a chat chunk the proxy made itself (native Gemini upstream) */
	p = memmem(line, n, "\"content\":\"tok", 14);
	return p != NULL && p + 18 <= line + n ? atoi(p + 14) : -1;
}

static void
on_event_line(struct stream *s, const struct opts *o, const char *line,
    size_t n, int64_t now, int64_t t_run0)
{
	double late, rel;
	int k = event_seq(s, line, n);

	if (k < 0)
		return;
	if (k == 0) {
		s->t_ev0 = now;
		dpush(&g.ttfe, (double)(now - s->t_start) / 1000.0);
	}
	if (s->t_ev0 == 0)
		return;
	late = (double)(now - s->t_ev0 - (int64_t)k * o->interval_ms * 1000) /
	    1000.0;
	if (late < 0)
		late = 0;
	dpush(&g.late, late);
	if (late > LATE_MS)
		g.nlate++;
	if (late > g.lat_max)
		g.lat_max = late;
	s->nev++;
	g.events++;
	rel = (double)(now - t_run0) / 1e6;
	if (rel >= o->win_from && rel < o->win_to)
		g.win_events++;
}

/* Consume complete lines in s->buf. */
static void
parse(struct stream *s, const struct opts *o, int64_t now, int64_t t_run0)
{
	size_t off = 0;

	if (!s->in_body) {
		const char *h = memmem(s->buf, s->len, "\r\n\r\n", 4);

		if (h == NULL)
			return;
		if (s->len > 12 && memcmp(s->buf, "HTTP/1.", 7) == 0)
			s->status = atoi(s->buf + 9);
		s->in_body = 1;
		off = (size_t)(h - s->buf) + 4;
	}
	for (;;) {
		char *nl = memchr(s->buf + off, '\n', s->len - off);

		if (nl == NULL)
			break;
		on_event_line(s, o, s->buf + off, (size_t)(nl - s->buf - off),
		    now, t_run0);
		off = (size_t)(nl - s->buf) + 1;
	}
	memmove(s->buf, s->buf + off, s->len - off);
	s->len -= off;
}

static void
stream_start(struct stream *s, int ep, const struct opts *o, int64_t now)
{
	struct epoll_event ev;

	memset(s, 0, offsetof(struct stream, buf));
	s->fd = open_conn(o->port);
	if (s->fd < 0) {
		g.errors++;
		s->state = S_IDLE;
		s->t_next_start = now + 50000;	/* retry later */
		return;
	}
	s->state = S_CONNECTING;
	s->t_start = now;
	s->len = 0;
	g.started++;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT | EPOLLIN;
	ev.data.ptr = s;
	epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
}

static void
on_ready(struct stream *s, int ep, const struct opts *o, uint32_t evs,
    int64_t t_run0)
{
	struct epoll_event ev;
	int64_t now = now_us();
	ssize_t r;

	if (s->state == S_CONNECTING && (evs & EPOLLOUT)) {
		/* the request is small: one write fits the socket buffer */
		if (write(s->fd, g.req, g.reqlen) != (ssize_t)g.reqlen) {
			g.errors++;
			stream_end(s, ep, o, now);
			return;
		}
		s->state = S_READING;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = s;
		epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
		return;
	}
	for (;;) {
		if (s->len == BUF_CAP) {	/* a line longer than the buffer */
			s->len = 0;
			g.errors++;
		}
		r = read(s->fd, s->buf + s->len, BUF_CAP - s->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			if (r < 0)
				g.errors++;
			stream_end(s, ep, o, now);
			return;
		}
		s->len += (size_t)r;
		parse(s, o, now, t_run0);
	}
}

/* --- stream mode ------------------------------------------------------------ */

static void
report_stream(const struct opts *o, double elapsed)
{
	int i;
	double wins = o->win_to - o->win_from;
	double hz = (double)sysconf(_SC_CLK_TCK);

	qsort(g.late.v, g.late.n, sizeof(double), cmp_d);
	qsort(g.ttfe.v, g.ttfe.n, sizeof(double), cmp_d);
	printf("n=%d\nstarted=%lu\ncomplete=%lu\nincomplete=%lu\nerrors=%lu\n"
	    "events=%lu\nlate=%lu\n", o->n, g.started, g.complete,
	    g.incomplete, g.errors, g.events, g.nlate);
	printf("lat_p50_ms=%.2f\nlat_p99_ms=%.2f\nlat_p999_ms=%.2f\n"
	    "lat_max_ms=%.2f\nttfe_p50_ms=%.2f\nttfe_p99_ms=%.2f\n",
	    pct(&g.late, 50), pct(&g.late, 99), pct(&g.late, 99.9), g.lat_max,
	    pct(&g.ttfe, 50), pct(&g.ttfe, 99));
	printf("elapsed_s=%.2f\nwin_s=%.2f\nwin_events=%lu\nwin_ev_per_s=%.0f\n",
	    elapsed, wins, g.win_events, (double)g.win_events / wins);
	if (g.box1[1] > g.box0[1])
		printf("box_busy_pct=%.1f\n", 100.0 *
		    (double)sysconf(_SC_NPROCESSORS_ONLN) *
		    (double)(g.box1[0] - g.box0[0]) /
		    (double)(g.box1[1] - g.box0[1]));
	for (i = 0; i < o->nmon; i++) {
		double cpu_s = (double)(g.mon[i].ticks1 - g.mon[i].ticks0) / hz;

		printf("cpu_pct.%s=%.1f\n", o->mon_label[i], 100.0 * cpu_s /
		    wins);
		printf("us_per_event.%s=%.2f\n", o->mon_label[i], g.win_events ?
		    1e6 * cpu_s / (double)g.win_events : -1.0);
		printf("rss_max_kb.%s=%ld\n", o->mon_label[i],
		    g.mon[i].rss_max_kb);
	}
}

static int
run_stream(const struct opts *o)
{
	struct stream *ss = calloc((size_t)o->n, sizeof(*ss));
	struct epoll_event evs[512];
	int ep = epoll_create1(EPOLL_CLOEXEC), i, n, sampled0 = 0, sampled1 = 0;
	int64_t t0 = now_us(), stop_new, hard_end, last_rss = 0;
	int64_t stream_us = (int64_t)o->events * o->interval_ms * 1000;
	unsigned long live;

	if (ss == NULL || ep < 0) {
		free(ss);
		return 1;
	}
	stop_new = t0 + (int64_t)(o->dur_s * 1e6);
	hard_end = stop_new + 3 * stream_us + 15000000;
	for (i = 0; i < o->n; i++) {
		ss[i].fd = -1;
		ss[i].state = S_IDLE;
		ss[i].t_next_start = t0 + (int64_t)(o->ramp_s * 1e6 * i / o->n);
	}
	for (;;) {
		int64_t now = now_us();
		double rel = (double)(now - t0) / 1e6;

		if (!sampled0 && rel >= o->win_from) {
			sample(o, 0);
			sampled0 = 1;
		}
		if (!sampled1 && rel >= o->win_to) {
			sample(o, 1);
			sampled1 = 1;
		}
		if (now - last_rss > 250000) {
			sample_rss(o);
			last_rss = now;
		}
		live = 0;
		for (i = 0; i < o->n; i++) {
			if (ss[i].state == S_IDLE && now < stop_new &&
			    now >= ss[i].t_next_start)
				stream_start(&ss[i], ep, o, now);
			live += ss[i].state != S_IDLE;
		}
		if ((live == 0 && now >= stop_new && sampled1) || now > hard_end)
			break;
		n = epoll_wait(ep, evs, 512, 2);
		for (i = 0; i < n; i++)
			on_ready(evs[i].data.ptr, ep, o, evs[i].events, t0);
	}
	for (i = 0; i < o->n; i++)
		if (ss[i].state != S_IDLE) {
			g.incomplete++;
			close(ss[i].fd);
		}
	report_stream(o, (double)(now_us() - t0) / 1e6);
	close(ep);
	free(ss);
	return 0;
}

/* --- seq mode: COUNT requests one after the other ------------------------- */

/* Wait until fd is readable (or writable); 1 ready, 0 timeout or error. */
static int
wait_fd(int fd, int for_write)
{
	struct timeval tv = { 30, 0 };
	fd_set s;

	FD_ZERO(&s);
	FD_SET(fd, &s);
	return select(fd + 1, for_write ? NULL : &s, for_write ? &s : NULL,
	    NULL, &tv) == 1;
}

/* One request on a fresh connection, read to EOF; 1 when it was a 200. */
static int
one_request(const struct opts *o, unsigned long *nev)
{
	static struct stream s;
	int fd = open_conn(o->port), ok = 0;
	ssize_t k;

	if (fd < 0)
		return 0;
	memset(&s, 0, offsetof(struct stream, buf));
	if (!wait_fd(fd, 1) || write(fd, g.req, g.reqlen) != (ssize_t)g.reqlen) {
		close(fd);
		return 0;
	}
	while (wait_fd(fd, 0)) {
		k = read(fd, s.buf + s.len, BUF_CAP - s.len);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0) {
			ok = k == 0 && s.status == 200;
			break;
		}
		s.len += (size_t)k;
		parse(&s, o, now_us(), 0);
		if (s.len == BUF_CAP)
			s.len = 0;	/* a huge line: not ours to time */
	}
	close(fd);
	*nev += (unsigned long)s.nev;
	return ok;
}

static int
run_seq(const struct opts *o)
{
	unsigned long ok = 0, nev = 0;
	int i;

	for (i = 0; i < o->count; i++)
		ok += (unsigned long)one_request(o, &nev);
	printf("requests=%d\nok=%lu\nevents=%lu\n", o->count, ok, nev);
	return ok == (unsigned long)o->count ? 0 : 1;
}

/* --- main ------------------------------------------------------------------- */

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0)
		return 1;
	printf("%d\n", ntohs(a.sin_port));
	close(fd);
	return 0;
}

static int
add_mon(struct opts *o, char *arg)
{
	char *eq = strchr(arg, '=');

	if (eq == NULL || o->nmon == MAX_MON)
		return -1;
	*eq = '\0';
	o->mon_pid[o->nmon] = atoi(arg);
	o->mon_label[o->nmon] = eq + 1;
	o->nmon++;
	return 0;
}

static int
parse_opts(struct opts *o, int argc, char **argv)
{
	int opt;

	memset(o, 0, sizeof(*o));
	o->n = 1;
	o->events = 64;
	o->interval_ms = 20;
	o->dur_s = 8;
	o->ramp_s = 1.3;
	o->count = 1;
	o->key = "none";
	o->path = "/";
	o->win_from = -1;
	while ((opt = getopt(argc, argv, "p:u:b:k:n:d:r:e:i:w:m:c:a:")) != -1) {
		switch (opt) {
		case 'p': o->port = atoi(optarg); break;
		case 'u': o->path = optarg; break;
		case 'b': o->bodyfile = optarg; break;
		case 'k': o->key = optarg; break;
		case 'n': o->n = atoi(optarg); break;
		case 'd': o->dur_s = atof(optarg); break;
		case 'r': o->ramp_s = atof(optarg); break;
		case 'e': o->events = atoi(optarg); break;
		case 'i': o->interval_ms = atoi(optarg); break;
		case 'c': o->count = atoi(optarg); break;
		case 'a': o->auth = optarg; break;
		case 'w':
			if (sscanf(optarg, "%lf,%lf", &o->win_from,
			    &o->win_to) != 2)
				return -1;
			break;
		case 'm':
			if (add_mon(o, optarg) != 0)
				return -1;
			break;
		default:
			return -1;
		}
	}
	if (o->nmon < MAX_MON) {	/* the client itself, always */
		o->mon_pid[o->nmon] = (int)getpid();
		o->mon_label[o->nmon++] = "client";
	}
	if (o->win_from < 0) {
		o->win_from = o->ramp_s + 0.5;
		o->win_to = o->dur_s;
	}
	if (o->win_to <= o->win_from)
		o->win_to = o->win_from + 1;
	return o->port > 0 && o->bodyfile != NULL && o->n > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct opts o;

	if (argc >= 2 && strcmp(argv[1], "port") == 0)
		return free_port();
	if (argc < 2 || parse_opts(&o, argc - 1, argv + 1) != 0 ||
	    build_request(&o) != 0) {
		fprintf(stderr, "usage: loadclient port | stream -p PORT -u PATH "
		    "-b BODY -k KEY -n N -d S -r RAMP -e EVENTS -i MS "
		    "[-w FROM,TO] [-m PID=LABEL]... [-a x-api-key] | seq -p PORT "
		    "-u PATH -b BODY -k KEY -c COUNT [-a x-api-key]\n");
		return 2;
	}
	if (strcmp(argv[1], "seq") == 0)
		return run_seq(&o);
	if (strcmp(argv[1], "stream") == 0)
		return run_stream(&o);
	return 2;
}
