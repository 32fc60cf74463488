/*
 * log.c -- stderr lines, each written with a single write(2) so lines from
 * many threads and processes never interleave (short lines are atomic on
 * pipes and files opened O_APPEND).
 * Never: logs request bodies, headers or keys.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 1024

static const char *const lvlname[] = { "ERROR", "WARN", "INFO", "DEBUG" };

/* Written by px_log_init before a process starts its threads, then only
 * read; 0 until then (getpid is used). */
static long log_pid;

void
px_log_init(void)
{
	log_pid = (long)getpid();
}

long
px_log_pid(void)
{
	return log_pid != 0 ? log_pid : (long)getpid();
}

static size_t
stamp(char *p, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(p, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(p + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
	return n < cap ? n : cap - 1;
}

static void
emit(char *line, size_t n)
{
	ssize_t w;

	if (n >= LINE_MAX_BYTES - 1)
		n = LINE_MAX_BYTES - 2;
	line[n++] = '\n';
	w = write(STDERR_FILENO, line, n);
	(void)w;	/* nowhere to report a failed log write */
}

void
px_log(enum px_log_level lvl, const char *fmt, ...)
{
	char line[LINE_MAX_BYTES];
	size_t n;
	int k;
	va_list ap;

	n = stamp(line, sizeof(line));
	k = snprintf(line + n, sizeof(line) - n, " aiproxy[%ld] %s ",
	    px_log_pid(), lvlname[lvl]);
	if (k > 0)
		n += (size_t)k;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (k > 0)
		n += (size_t)k;
	emit(line, n < sizeof(line) ? n : sizeof(line) - 1);
}

/* Copy client text with control characters, quotes and spaces escaped. */
static void
safe(char *dst, size_t cap, const char *s)
{
	size_t i = 0;

	if (s == NULL || *s == '\0')
		s = "-";
	for (; *s != '\0' && i + 5 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x21 || c == 0x7f || c == '"' || c == '\\')
			i += (size_t)snprintf(dst + i, cap - i, "\\x%02x", c);
		else
			dst[i++] = (char)c;
	}
	dst[i] = '\0';
}

void
px_log_request(const struct px_reqlog *r)
{
	char model[160], route[96], method[64], fails[40] = "", who[80] = "";

	/* every client-supplied string is escaped: model, path, method */
	safe(model, sizeof(model), r->model);
	safe(route, sizeof(route), r->route);
	safe(method, sizeof(method), r->method);
	if (r->client != NULL)	/* a config name: [A-Za-z0-9._-] only */
		snprintf(who, sizeof(who), " client=%.64s", r->client);
	if (r->auth_failures > 0)
		snprintf(fails, sizeof(fails), " auth_failures=%lu",
		    r->auth_failures);
	px_log(PX_LOG_INFO, "req=%s %s %s model=%s provider=%s key=%s "
	    "status=%d upstream_ms=%ld total_ms=%ld overhead_ms=%.3f "
	    "bytes=%zu attempts=%d%s%s%s%s%s%s",
	    r->id ? r->id : "-", method, route, model,
	    r->provider ? r->provider : "-", r->key_id ? r->key_id : "-",
	    r->status, r->upstream_ms, r->total_ms,
	    (double)r->overhead_us / 1000.0, r->bytes_out, r->attempts,
	    who, r->why ? " why=" : "", r->why ? r->why : "",
	    r->note ? " note=" : "", r->note ? r->note : "", fails);
}
