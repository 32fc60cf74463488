/*
 * listenaddr.c -- --listen checked and normalised (see listenaddr.h).
 * Why: the review of issue 9 found a query string turned into argv could
 * make the pool unlink any file, bind every interface, or overflow
 * libfcgi's 4 KiB copy of the address; the operator's own typo should not
 * do the first two either.
 * Load: once at start-up.
 */
#include "listenaddr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int
fail(char *err, size_t cap, const char *msg)
{
	snprintf(err, cap, "%s", msg);
	return -1;
}

static int
parse_port(const char *s, unsigned *port)
{
	unsigned long v = 0;
	const char *p;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

static int
wildcard_host(const char *h)
{
	return *h == '\0' || strcmp(h, "*") == 0 || strcmp(h, "0.0.0.0") == 0;
}

/* HOST to one dotted IPv4 address in dst[INET_ADDRSTRLEN]. */
static int
resolve(const char *host, char *dst)
{
	struct addrinfo hints, *res = NULL;
	const struct sockaddr_in *sin;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0 || res == NULL)
		return -1;
	sin = (const struct sockaddr_in *)(const void *)res->ai_addr;
	rc = inet_ntop(AF_INET, &sin->sin_addr, dst, INET_ADDRSTRLEN) ==
	    NULL ? -1 : 0;
	freeaddrinfo(res);
	return rc;
}

static int
parse_tcp(const char *spec, int allow_any, struct px_listen *out, char *err,
    size_t cap)
{
	char host[256], ip[INET_ADDRSTRLEN];
	const char *colon = strrchr(spec, ':');
	unsigned port;
	size_t hn;

	if (colon == NULL)
		return fail(err, cap, "give HOST:PORT (e.g. 127.0.0.1:9000) or "
		    "a unix socket path containing a '/'");
	if (spec[0] == '[' || memchr(spec, ':', (size_t)(colon - spec)))
		return fail(err, cap, "IPv6 is not supported (libfcgi listens "
		    "on IPv4 only): give an IPv4 address or a unix socket path");
	if (parse_port(colon + 1, &port) != 0)
		return fail(err, cap, "the port must be a number 1..65535");
	hn = (size_t)(colon - spec);
	if (hn >= sizeof(host))
		return fail(err, cap, "the host name is too long");
	memcpy(host, spec, hn);
	host[hn] = '\0';
	if (wildcard_host(host)) {
		snprintf(ip, sizeof(ip), "0.0.0.0");
	} else if (resolve(host, ip) != 0) {
		return fail(err, cap, "the host does not resolve to an IPv4 "
		    "address");
	}
	out->any = strcmp(ip, "0.0.0.0") == 0;
	if (out->any && !allow_any)
		return fail(err, cap, "refusing to listen on every interface "
		    "(a wildcard address): give 127.0.0.1:PORT, or add "
		    "--listen-any if the FastCGI port must be reachable from "
		    "other hosts (then also set FCGI_WEB_SERVER_ADDRS)");
	snprintf(out->addr, sizeof(out->addr), "%s:%u", ip, port);
	return 0;
}

int
px_listen_parse(const char *spec, int allow_any, struct px_listen *out,
    char *err, size_t errcap)
{
	memset(out, 0, sizeof(*out));
	if (spec == NULL || *spec == '\0')
		return fail(err, errcap, "empty address");
	if (strchr(spec, '/') == NULL)
		return parse_tcp(spec, allow_any, out, err, errcap);
	if (strlen(spec) > PX_LISTEN_PATH_MAX)
		return fail(err, errcap, "a unix socket path may hold at most "
		    "107 bytes");
	out->is_unix = 1;
	snprintf(out->addr, sizeof(out->addr), "%s", spec);
	return 0;
}
