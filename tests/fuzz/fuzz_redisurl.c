/*
 * fuzz_redisurl.c -- libFuzzer target for the "redis_url" parser
 * (px_redis_url_parse, common/redisurl.h).
 * Owns: the checks below and a printer of an address back to a URL;
 * never connects anywhere.
 * Input: the URL (up to a NUL byte; an exact-size, NUL-terminated copy).
 * Checks: 0 or -1. -1: a non-empty, terminated, one-line, printable ASCII
 * reason, the same whatever a user:password@ part says (it repeats none
 * of it); the same result with a reason buffer of 8 bytes (cut,
 * terminated). 0: the URL's scheme
 * decides is_unix; TCP: a host of [A-Za-z0-9.-] or, for [IPv6],
 * [0-9a-fA-F:.] (non-empty, terminated), port 1..65535; unix: an
 * absolute path of printable ASCII without spaces, under 108 bytes; db
 * 0..1000000; no '@' before the path. Round trip: the address printed as
 * a URL parses again to the same address.
 */
#include "redisurl.h"

#include "fuzz_util.h"

static int
all_in(const char *s, const char *set)
{
	return s[strspn(s, set)] == '\0';
}

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
	"0123456789.-"
#define ADDR_CHARS "0123456789abcdefABCDEF:."

/* A refusal's reason: one printable line. */
static void
check_reason(const char *why, size_t cap)
{
	size_t n = strnlen(why, cap), i;

	FZ_CHECK(n > 0 && n < cap, "a reason, terminated");
	for (i = 0; i < n; i++)
		FZ_CHECK(why[i] >= 0x20 && why[i] < 0x7f,
		    "the reason is printable, one line");
}

/*
 * A URL with user:password@ is refused with the reason it gets with
 * "u:p@" instead: the reason repeats nothing of a password (it would go
 * to --check-config's output and the logs).
 */
static void
check_no_secret(const char *url, const char *why)
{
	const char *at;
	char other[600], why2[160];
	struct px_redis_addr b;

	if (strncmp(url, "redis://", 8) != 0)
		return;
	at = memchr(url + 8, '@', strcspn(url + 8, "/?#"));
	if (at == NULL || strlen(at) > 500)
		return;
	snprintf(other, sizeof other, "redis://u:p%s", at);
	FZ_CHECK(px_redis_url_parse(other, &b, why2, sizeof why2) == -1 &&
	    strcmp(why, why2) == 0,
	    "the reason does not depend on user:password");
}

/* a is what the header promises for a parsed url. */
static void
check_addr(const char *url, const struct px_redis_addr *a)
{
	FZ_CHECK(a->is_unix == (strncmp(url, "unix://", 7) == 0),
	    "the scheme decides unix");
	FZ_CHECK(a->db >= 0 && a->db <= 1000000, "db 0..1000000");
	if (a->is_unix) {
		FZ_CHECK(strnlen(a->path, sizeof a->path) < sizeof a->path &&
		    a->path[0] == '/', "an absolute path, terminated");
		for (const char *c = a->path; *c != '\0'; c++)
			FZ_CHECK(*c > 0x20 && *c < 0x7f,
			    "the path printable ASCII, no space");
		return;
	}
	FZ_CHECK(strnlen(a->host, sizeof a->host) < sizeof a->host &&
	    a->host[0] != '\0', "a host, terminated");
	FZ_CHECK(all_in(a->host, NAME_CHARS) || (url[8] == '[' &&
	    all_in(a->host, ADDR_CHARS)), "host characters");
	FZ_CHECK(a->port >= 1 && a->port <= 65535, "port 1..65535");
	FZ_CHECK(memchr(url, '@', strcspn(url + 8, "/?#") + 8) == NULL,
	    "no user or password");
}

/* a printed as a URL (an IPv6 address in brackets). */
static void
print_url(const struct px_redis_addr *a, char *buf, size_t cap)
{
	int n;

	if (a->is_unix)
		n = snprintf(buf, cap, "unix://%s?db=%ld", a->path, a->db);
	else
		n = snprintf(buf, cap, strchr(a->host, ':') != NULL ?
		    "redis://[%s]:%d/%ld" : "redis://%s:%d/%ld", a->host,
		    a->port, a->db);
	FZ_CHECK(n > 0 && (size_t)n < cap, "the URL printed");
}

static int
same_addr(const struct px_redis_addr *a, const struct px_redis_addr *b)
{
	return a->is_unix == b->is_unix && a->port == b->port &&
	    a->db == b->db && strcmp(a->host, b->host) == 0 &&
	    strcmp(a->path, b->path) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct px_redis_addr a, b;
	char *url = fz_dup(data, size, 1);
	char why[160], small[8], buf[512];
	int rc;

	rc = px_redis_url_parse(url, &a, why, sizeof why);
	FZ_CHECK(rc == 0 || rc == -1, "0 or -1");
	if (rc != 0) {
		check_reason(why, sizeof why);
		check_no_secret(url, why);
		FZ_CHECK(px_redis_url_parse(url, &b, small, sizeof small) ==
		    -1, "the same refusal with a small buffer");
		FZ_CHECK(strnlen(small, sizeof small) == sizeof small - 1,
		    "the reason cut to the buffer, terminated");
		free(url);
		return 0;
	}
	check_addr(url, &a);
	print_url(&a, buf, sizeof buf);
	FZ_CHECK(px_redis_url_parse(buf, &b, why, sizeof why) == 0,
	    "the printed URL parses");
	if (!same_addr(&a, &b))
		__builtin_trap();	/* parse(print(a)) != a */
	free(url);
	return 0;
}
