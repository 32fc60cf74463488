/*
 * fuzz_listen.c -- libFuzzer target for the --listen check
 * (px_listen_parse, common/listenaddr.h), without network: a spec whose
 * host would need a DNS lookup is skipped (the harness lets through
 * numeric IPv4 hosts inet_aton reads, "localhost" (/etc/hosts), "*" and
 * an empty host; and every spec with a '/', a unix socket path).
 * Owns: its checks. Never: a DNS lookup or a socket; links only the
 * module it fuzzes.
 * Input: line 1 "allow_any"; the rest the spec (up to a NUL byte).
 * Checks: 0 or -1; -1 writes a non-empty, one-line reason; 0: a spec
 * with '/' is a unix path of at most 107 bytes, copied exactly;
 * otherwise the spec is HOST:PORT, addr the
 * normalised "a.b.c.d:port" (each part 0..255, port 1..65535 the spec's),
 * for a numeric host the address inet_aton reads, for a wildcard host
 * ("", "*", 0.0.0.0) 0.0.0.0; any set exactly for 0.0.0.0, which needs
 * allow_any.
 */
#define _DEFAULT_SOURCE		/* inet_aton: what glibc reads numerically */

#include "listenaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "fuzz_util.h"

/* May px_listen_parse resolve spec without the network? */
static int
offline(const char *spec, char *host, size_t cap)
{
	const char *colon = strrchr(spec, ':');
	size_t hn;
	struct in_addr a;

	host[0] = '\0';
	if (strchr(spec, '/') != NULL || colon == NULL)
		return 1;	/* a path, or refused before any lookup */
	hn = (size_t)(colon - spec);
	if (hn >= cap)
		return 1;	/* "too long": refused first */
	memcpy(host, spec, hn);
	host[hn] = '\0';
	if (spec[0] == '[' || strchr(host, ':') != NULL)
		return 1;	/* IPv6: refused */
	if (hn == 0 || strcmp(host, "*") == 0 ||
	    strcmp(host, "localhost") == 0)
		return 1;
	return strspn(host, "0123456789abcdefABCDEFxX.") == hn &&
	    inet_aton(host, &a) != 0;
}

/* addr is "a.b.c.d:port" with parts 0..255 and port 1..65535. */
static int
dotted(const char *addr, unsigned *port, char *ip, size_t cap)
{
	unsigned v[5];
	int used = 0;
	size_t i;

	if (sscanf(addr, "%3u.%3u.%3u.%3u:%5u%n", &v[0], &v[1], &v[2], &v[3],
	    &v[4], &used) != 5 || addr[used] != '\0')
		return 0;
	for (i = 0; i < 4; i++)
		if (v[i] > 255)
			return 0;
	if (v[4] < 1 || v[4] > 65535 || strspn(addr, "0123456789.:") !=
	    strlen(addr))
		return 0;
	*port = v[4];
	snprintf(ip, cap, "%u.%u.%u.%u", v[0], v[1], v[2], v[3]);
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct px_listen out;
	const uint8_t *l;
	size_t ln;
	long long v[1];
	char *spec, host[256], err[256], ip[32], want[INET_ADDRSTRLEN];
	unsigned port;
	int rc, allow;
	struct in_addr a;
	const char *colon;

	fz_line(&in, &l, &ln);
	fz_ints(l, ln, v, 1);
	allow = (v[0] & 1) != 0;
	spec = fz_dup(in.p, strnlen((const char *)in.p, in.n), 1);
	if (!offline(spec, host, sizeof host)) {
		free(spec);
		return 0;
	}
	memset(err, 0x5a, sizeof err);
	memset(&out, 0x5a, sizeof out);
	rc = px_listen_parse(spec, allow, &out, err, sizeof err);
	FZ_CHECK(rc == 0 || rc == -1, "0 or -1");
	if (rc != 0) {
		FZ_CHECK(strnlen(err, sizeof err) > 0 &&
		    strnlen(err, sizeof err) < sizeof err &&
		    strchr(err, '\n') == NULL, "a one-line reason");
		goto out;
	}
	FZ_CHECK(strnlen(out.addr, sizeof out.addr) < sizeof out.addr,
	    "addr terminated");
	if (strchr(spec, '/') != NULL) {
		FZ_CHECK(out.is_unix == 1 && out.any == 0, "a unix socket");
		FZ_CHECK(strlen(spec) <= PX_LISTEN_PATH_MAX,
		    "a unix path fits sun_path");
		FZ_CHECK(strcmp(out.addr, spec) == 0, "the path as given");
		goto out;
	}
	FZ_CHECK(out.is_unix == 0, "TCP");
	FZ_CHECK(dotted(out.addr, &port, ip, sizeof ip),
	    "TCP normalised to a.b.c.d:port");
	colon = strrchr(spec, ':');
	FZ_CHECK(colon != NULL && strlen(colon + 1) <= 5 &&
	    strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
	    (unsigned)atoi(colon + 1) == port, "the spec's port");
	FZ_CHECK(out.any == (strcmp(ip, "0.0.0.0") == 0),
	    "any exactly for 0.0.0.0");
	FZ_CHECK(!out.any || allow, "a wildcard only with allow_any");
	if (host[0] == '\0' || strcmp(host, "*") == 0) {
		FZ_CHECK(out.any, "a wildcard host is 0.0.0.0");
	} else if (strcmp(host, "localhost") != 0) {
		FZ_CHECK(inet_aton(host, &a) != 0 &&
		    inet_ntop(AF_INET, &a, want, sizeof want) != NULL &&
		    strcmp(ip, want) == 0, "the numeric host's address");
	}
out:
	free(spec);
	return 0;
}
