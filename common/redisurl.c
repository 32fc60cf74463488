/*
 * redisurl.c -- parsing "redis_url" (redisurl.h).
 * Never: accepts a character that a later log line or command could
 * misread: names are [A-Za-z0-9.-], addresses [0-9a-fA-F:.], paths
 * printable ASCII without spaces.
 */
#include "redisurl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DB 1000000

/* A decimal integer lo..hi filling s[0..n); -1 when it is not. */
static long
number(const char *s, size_t n, long lo, long hi)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 9)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

static int
fail(char *why, size_t cap, const char *msg)
{
	snprintf(why, cap, "%s", msg);
	return -1;
}

static int
name_char(char ch, int v6)
{
	if (v6)
		return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		    (ch >= 'A' && ch <= 'F') || ch == ':' || ch == '.';
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z') || ch == '.' || ch == '-';
}

/* HOST[:PORT] of s[0..n) into a. */
static int
host_port(const char *s, size_t n, struct px_redis_addr *a, char *why,
    size_t cap)
{
	size_t h0 = 0, hn, i;
	int v6 = n > 0 && s[0] == '[';
	const char *colon;

	if (v6) {
		const char *end = memchr(s, ']', n);

		if (end == NULL)
			return fail(why, cap, "an IPv6 address needs its ']'");
		h0 = 1;
		hn = (size_t)(end - s) - 1;
		colon = end + 1 < s + n ? end + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return fail(why, cap, "expected ':' after ']'");
	} else {
		colon = memchr(s, ':', n);
		hn = colon != NULL ? (size_t)(colon - s) : n;
	}
	if (hn == 0 || hn >= sizeof(a->host))
		return fail(why, cap, "the host is missing or too long");
	for (i = 0; i < hn; i++)
		if (!name_char(s[h0 + i], v6))
			return fail(why, cap, "the host has a character that "
			    "is not allowed");
	memcpy(a->host, s + h0, hn);
	a->host[hn] = '\0';
	a->port = 6379;
	if (colon != NULL) {
		long p = number(colon + 1, (size_t)(s + n - colon - 1), 1,
		    65535);

		if (p < 0)
			return fail(why, cap, "the port must be 1..65535");
		a->port = (int)p;
	}
	return 0;
}

static int
tcp(const char *s, struct px_redis_addr *a, char *why, size_t cap)
{
	size_t n = strcspn(s, "/?#");

	if (memchr(s, '@', n) != NULL)
		return fail(why, cap, "no user or password in the URL: put the "
		    "password in redis_password (\"env:NAME\" allowed)");
	if (host_port(s, n, a, why, cap) != 0)
		return -1;
	s += n;
	if (*s == '\0' || strcmp(s, "/") == 0)
		return 0;
	if (*s != '/' || (a->db = number(s + 1, strlen(s + 1), 0, MAX_DB)) < 0)
		return fail(why, cap, "after the host only /DB (a number "
		    "0..1000000) may follow");
	return 0;
}

static int
unix_sock(const char *s, struct px_redis_addr *a, char *why, size_t cap)
{
	size_t n = strcspn(s, "?"), i;

	if (n == 0 || s[0] != '/')
		return fail(why, cap, "expected unix:///absolute/path.sock");
	if (n >= sizeof(a->path))
		return fail(why, cap, "the socket path is longer than 107 "
		    "bytes");
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return fail(why, cap, "the socket path has a space or "
			    "a control character");
	memcpy(a->path, s, n);
	a->path[n] = '\0';
	s += n;
	if (*s == '\0')
		return 0;
	if (strncmp(s, "?db=", 4) != 0 ||
	    (a->db = number(s + 4, strlen(s + 4), 0, MAX_DB)) < 0)
		return fail(why, cap, "after the path only ?db=DB (a number "
		    "0..1000000) may follow");
	return 0;
}

int
px_redis_url_parse(const char *url, struct px_redis_addr *out, char *why,
    size_t cap)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(url, "redis://", 8) == 0)
		return tcp(url + 8, out, why, cap);
	if (strncmp(url, "unix://", 7) == 0) {
		out->is_unix = 1;
		return unix_sock(url + 7, out, why, cap);
	}
	return fail(why, cap, "expected redis://HOST[:PORT][/DB] or "
	    "unix:///PATH[?db=DB]");
}
