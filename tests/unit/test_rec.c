/*
 * test_rec.c -- the ledger's small records (ledger_rec.h) and the parsing
 * of "redis_url" (redisurl.h).
 * Covers: health, provider and marks records: round trips, the exact byte
 * offsets of each documented layout (little-endian), every rejection
 * (wrong kind or version, lengths that do not add up, state > 2, provider
 * next >= 16, marks n > 8, text lengths at or over their limits, trailing
 * bytes) leaving the record zeroed with -1, and len 0 as an all-zero
 * record with 0; reasons cut to 63 bytes; the cursor, absent or damaged
 * reading UINT32_MAX. redis_url: both forms with their defaults, IPv6,
 * the database, and every rejection with a non-empty reason.
 * Never: I/O; the bytes under test are built here by hand.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ledger_rec.h"
#include "redisurl.h"
#include "tharness.h"

static unsigned char buf[2048];

/* The n bytes at p are little-endian v. */
static int
le_is(const unsigned char *p, uint64_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(v >> (8 * i)))
			return 0;
	return 1;
}

/* All n bytes of p are zero (a record memset by its decoder). */
static int
all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* --- health ---------------------------------------------------------- */

static struct px_health hh, hd;

static void
health_fill(void)
{
	memset(&hh, 0, sizeof(hh));
	hh.state = PX_KEY_COOLING;
	hh.daily = 1;
	hh.strikes = 0x01020304u;
	hh.cool_until_ms = INT64_C(0x1112131415161718);
	hh.probe_at_ms = INT64_C(0x2122232425262728);
	hh.probe_lease_ms = -2;
	hh.life_requests = UINT64_C(0x3132333435363738);
	hh.life_tokens = UINT64_C(0x4142434445464748);
	hh.life_errors = UINT64_C(0xf1f2f3f4f5f6f7f8);
	px_rec_set_reason(hh.reason, "429 quota");
}

static int
health_same(const struct px_health *a, const struct px_health *b)
{
	return a->state == b->state && a->daily == b->daily &&
	    a->strikes == b->strikes && a->cool_until_ms == b->cool_until_ms &&
	    a->probe_at_ms == b->probe_at_ms &&
	    a->probe_lease_ms == b->probe_lease_ms &&
	    a->life_requests == b->life_requests &&
	    a->life_tokens == b->life_tokens &&
	    a->life_errors == b->life_errors &&
	    strcmp(a->reason, b->reason) == 0;
}

static void
test_health_layout(void)
{
	size_t len;

	health_fill();
	memset(buf, 0xee, sizeof(buf));
	len = px_health_encode(&hh, buf);
	T_CHECK(len == 57 + 9, "health: 56 fixed bytes, u8 len, reason");
	T_CHECK(buf[0] == 'h' && buf[1] == 1, "health: kind 'h', version 1");
	T_CHECK(buf[2] == PX_KEY_COOLING && buf[3] == 1,
	    "health: state at 2, daily at 3");
	T_CHECK(le_is(buf + 4, 0x01020304u, 4), "health: strikes at 4, LE");
	T_CHECK(le_is(buf + 8, UINT64_C(0x1112131415161718), 8),
	    "health: cool_until at 8");
	T_CHECK(le_is(buf + 16, UINT64_C(0x2122232425262728), 8),
	    "health: probe_at at 16");
	T_CHECK(le_is(buf + 24, UINT64_MAX - 1, 8),
	    "health: probe_lease at 24, two's complement");
	T_CHECK(le_is(buf + 32, UINT64_C(0x3132333435363738), 8) &&
	    le_is(buf + 40, UINT64_C(0x4142434445464748), 8) &&
	    le_is(buf + 48, UINT64_C(0xf1f2f3f4f5f6f7f8), 8),
	    "health: life requests, tokens, errors at 32, 40, 48");
	T_CHECK(buf[56] == 9 && memcmp(buf + 57, "429 quota", 9) == 0,
	    "health: reason length at 56, bytes at 57, no NUL");
	T_CHECK(buf[66] == 0xee, "health: nothing written past the length");
}

static void
test_health_roundtrip(void)
{
	size_t len;

	health_fill();
	len = px_health_encode(&hh, buf);
	memset(&hd, 0xaa, sizeof(hd));
	T_CHECK(px_health_decode(&hd, buf, len) == 0 && health_same(&hh, &hd),
	    "health: round trip");
	hh.state = PX_KEY_DISABLED;
	hh.daily = 7;
	hh.reason[0] = '\0';
	len = px_health_encode(&hh, buf);
	T_CHECK(len == 57 && buf[3] == 1, "health: daily stored as 0 or 1");
	T_CHECK(px_health_decode(&hd, buf, len) == 0 && hd.daily == 1 &&
	    hd.state == PX_KEY_DISABLED && hd.reason[0] == '\0',
	    "health: disabled, empty reason round trip");
	memset(hh.reason, 'r', sizeof(hh.reason));	/* no NUL at all */
	len = px_health_encode(&hh, buf);
	T_CHECK(len == 57 + 63 && len <= PX_HEALTH_MAXBYTES && buf[56] == 63,
	    "health: an unterminated reason is cut to 63 bytes");
	T_CHECK(px_health_decode(&hd, buf, len) == 0 &&
	    strlen(hd.reason) == 63, "health: a 63-byte reason decodes");
}

/* Decoding buf[0..len) as health fails and leaves the record zero. */
static int
health_rejects(size_t len)
{
	memset(&hd, 0xaa, sizeof(hd));
	return px_health_decode(&hd, buf, len) == -1 &&
	    all_zero(&hd, sizeof(hd));
}

/* buf holds the encoded health record of health_fill(); its length. */
static size_t
health_fresh(void)
{
	health_fill();
	return px_health_encode(&hh, buf);
}

/* The record of health_fresh() with byte off set to v; its length. */
static size_t
health_poke(size_t off, unsigned char v)
{
	size_t len = health_fresh();

	buf[off] = v;
	return len;
}

static void
test_health_reject(void)
{
	size_t len = health_poke(0, 'p');

	T_CHECK(health_rejects(len), "health: wrong kind rejected");
	len = health_poke(1, 2);
	T_CHECK(health_rejects(len), "health: version 2 rejected");
	len = health_poke(2, 3);
	T_CHECK(health_rejects(len), "health: state 3 rejected");
	len = health_poke(2, 0xff);
	T_CHECK(health_rejects(len), "health: state 255 rejected");
	len = health_fresh();
	T_CHECK(health_rejects(56), "health: shorter than 57 bytes rejected");
	T_CHECK(health_rejects(len - 1), "health: reason cut short rejected");
	buf[len] = 'x';
	T_CHECK(health_rejects(len + 1), "health: trailing byte rejected");
	len = health_poke(56, 10);
	T_CHECK(health_rejects(len), "health: reason length past the end");
	health_poke(56, 64);
	memset(buf + 57, 'r', 64);
	T_CHECK(health_rejects(57 + 64), "health: reason length 64 rejected");
	memset(&hd, 0xaa, sizeof(hd));
	T_CHECK(px_health_decode(&hd, buf, 0) == 0 && all_zero(&hd, sizeof(hd)),
	    "health: len 0 is an all-zero record and 0");
}

/* --- provider -------------------------------------------------------- */

static struct px_provrec pp, pd;

static void
prov_fill(void)
{
	size_t i;

	memset(&pp, 0, sizeof(pp));
	pp.backoff_until_ms = INT64_C(0x0102030405060708);
	pp.strikes = 0xa1a2a3a4u;
	pp.next = 5;
	for (i = 0; i < PX_RECENT_429; i++) {
		pp.recent[i].t = INT64_C(1700000000000) + (int64_t)i * 1000;
		pp.recent[i].key = 0x10000000u + (uint32_t)i;
	}
	px_rec_set_reason(pp.reason, "backoff");
}

static int
prov_same(const struct px_provrec *a, const struct px_provrec *b)
{
	size_t i;

	if (a->backoff_until_ms != b->backoff_until_ms ||
	    a->strikes != b->strikes || a->next != b->next ||
	    strcmp(a->reason, b->reason) != 0)
		return 0;
	for (i = 0; i < PX_RECENT_429; i++)
		if (a->recent[i].t != b->recent[i].t ||
		    a->recent[i].key != b->recent[i].key)
			return 0;
	return 1;
}

/* Every recent[] slot at 16 + 12 i (t) and 24 + 12 i (key). */
static int
prov_recent_at(void)
{
	size_t i;

	for (i = 0; i < PX_RECENT_429; i++)
		if (!le_is(buf + 16 + 12 * i, (uint64_t)pp.recent[i].t, 8) ||
		    !le_is(buf + 24 + 12 * i, pp.recent[i].key, 4))
			return 0;
	return 1;
}

static void
test_prov_layout(void)
{
	size_t len;

	prov_fill();
	memset(buf, 0xee, sizeof(buf));
	len = px_provrec_encode(&pp, buf);
	T_CHECK(len == 208 + 1 + 7, "provider: 208 fixed, u8 len, reason");
	T_CHECK(buf[0] == 'p' && buf[1] == 1 && buf[2] == 5 && buf[3] == 0,
	    "provider: kind, version, next at 2, zero at 3");
	T_CHECK(le_is(buf + 4, 0xa1a2a3a4u, 4), "provider: strikes at 4");
	T_CHECK(le_is(buf + 8, UINT64_C(0x0102030405060708), 8),
	    "provider: backoff_until at 8");
	T_CHECK(prov_recent_at(), "provider: 16 x { i64 t, u32 key } at 16");
	T_CHECK(buf[208] == 7 && memcmp(buf + 209, "backoff", 7) == 0,
	    "provider: reason length at 208, bytes at 209");
	T_CHECK(buf[216] == 0xee, "provider: nothing written past the length");
}

static void
test_prov_roundtrip(void)
{
	size_t len;

	prov_fill();
	len = px_provrec_encode(&pp, buf);
	memset(&pd, 0xaa, sizeof(pd));
	T_CHECK(px_provrec_decode(&pd, buf, len) == 0 && prov_same(&pp, &pd),
	    "provider: round trip");
	pp.next = 17;
	pp.recent[3].t = -1;
	memset(pp.reason, 'r', sizeof(pp.reason));
	len = px_provrec_encode(&pp, buf);
	T_CHECK(buf[2] == 1 && len == 209 + 63 && len <= PX_PROVREC_MAXBYTES,
	    "provider: next stored mod 16, reason cut to 63");
	T_CHECK(px_provrec_decode(&pd, buf, len) == 0 && pd.next == 1 &&
	    pd.recent[3].t == -1 && strlen(pd.reason) == 63,
	    "provider: negative times and a 63-byte reason decode");
}

static int
prov_rejects(size_t len)
{
	memset(&pd, 0xaa, sizeof(pd));
	return px_provrec_decode(&pd, buf, len) == -1 &&
	    all_zero(&pd, sizeof(pd));
}

static size_t
prov_fresh(void)
{
	prov_fill();
	return px_provrec_encode(&pp, buf);
}

static size_t
prov_poke(size_t off, unsigned char v)
{
	size_t len = prov_fresh();

	buf[off] = v;
	return len;
}

static void
test_prov_reject(void)
{
	size_t len = prov_poke(0, 'h');

	T_CHECK(prov_rejects(len), "provider: wrong kind rejected");
	len = prov_poke(1, 0);
	T_CHECK(prov_rejects(len), "provider: version 0 rejected");
	len = prov_poke(2, 16);
	T_CHECK(prov_rejects(len), "provider: next 16 rejected");
	len = prov_poke(2, 15);
	T_CHECK(px_provrec_decode(&pd, buf, len) == 0 && pd.next == 15,
	    "provider: next 15 accepted (control)");
	len = prov_fresh();
	T_CHECK(prov_rejects(208), "provider: no reason length byte rejected");
	T_CHECK(prov_rejects(len - 1), "provider: reason cut short rejected");
	buf[len] = 'x';
	T_CHECK(prov_rejects(len + 1), "provider: trailing byte rejected");
	prov_poke(208, 64);
	memset(buf + 209, 'r', 64);
	T_CHECK(prov_rejects(209 + 64), "provider: reason length 64 rejected");
	memset(&pd, 0xaa, sizeof(pd));
	T_CHECK(px_provrec_decode(&pd, buf, 0) == 0 && all_zero(&pd, sizeof(pd)),
	    "provider: len 0 is an all-zero record and 0");
}

/* --- marks ----------------------------------------------------------- */

static struct px_entrec ee, ed;

static void
marks_fill(uint32_t n)
{
	uint32_t i;

	memset(&ee, 0, sizeof(ee));
	ee.n = n;
	for (i = 0; i < n && i < PX_ENT_SLOTS; i++) {
		ee.e[i].until_ms = INT64_C(1700000000000) + i;
		snprintf(ee.e[i].model, sizeof(ee.e[i].model),
		    "gemini-%u-pro", (unsigned)i);
	}
}

static int
marks_same(const struct px_entrec *a, const struct px_entrec *b)
{
	uint32_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->e[i].until_ms != b->e[i].until_ms ||
		    strcmp(a->e[i].model, b->e[i].model) != 0)
			return 0;
	return 1;
}

static void
test_marks_layout(void)
{
	size_t len;

	marks_fill(2);
	ee.e[0].until_ms = INT64_C(0x0102030405060708);
	memset(buf, 0xee, sizeof(buf));
	len = px_entrec_encode(&ee, buf);
	T_CHECK(len == 3 + 2 * (8 + 1 + 12), "marks: 3 + n x (8 + 1 + len)");
	T_CHECK(buf[0] == 'e' && buf[1] == 1 && buf[2] == 2,
	    "marks: kind, version, n at 2");
	T_CHECK(le_is(buf + 3, UINT64_C(0x0102030405060708), 8),
	    "marks: first until at 3, LE");
	T_CHECK(buf[11] == 12 && memcmp(buf + 12, "gemini-0-pro", 12) == 0,
	    "marks: model length at 11, bytes at 12");
	T_CHECK(le_is(buf + 24, (uint64_t)ee.e[1].until_ms, 8) &&
	    buf[32] == 12 && memcmp(buf + 33, "gemini-1-pro", 12) == 0,
	    "marks: the second mark follows the first");
	T_CHECK(buf[45] == 0xee, "marks: nothing written past the length");
}

static void
test_marks_roundtrip(void)
{
	size_t len;
	uint32_t i;

	marks_fill(0);
	len = px_entrec_encode(&ee, buf);
	T_CHECK(len == 3 && px_entrec_decode(&ed, buf, len) == 0 && ed.n == 0,
	    "marks: none, round trip");
	marks_fill(PX_ENT_SLOTS);
	for (i = 0; i < PX_ENT_SLOTS; i++)
		memset(ee.e[i].model, 'm', PX_ENT_MODEL);	/* no NUL */
	len = px_entrec_encode(&ee, buf);
	T_CHECK(len == 3 + PX_ENT_SLOTS * (9 + 119) &&
	    len <= PX_ENTREC_MAXBYTES, "marks: models cut to 119 bytes");
	memset(&ed, 0xaa, sizeof(ed));
	T_CHECK(px_entrec_decode(&ed, buf, len) == 0 && ed.n == PX_ENT_SLOTS &&
	    strlen(ed.e[7].model) == 119 && ed.e[7].until_ms == ee.e[7].until_ms,
	    "marks: eight full marks decode");
	marks_fill(PX_ENT_SLOTS + 2);
	len = px_entrec_encode(&ee, buf);
	T_CHECK(buf[2] == PX_ENT_SLOTS && px_entrec_decode(&ed, buf, len) == 0,
	    "marks: n over 8 is stored as 8");
	marks_fill(3);
	len = px_entrec_encode(&ee, buf);
	T_CHECK(px_entrec_decode(&ed, buf, len) == 0 && marks_same(&ee, &ed),
	    "marks: round trip");
}

static int
marks_rejects(size_t len)
{
	memset(&ed, 0xaa, sizeof(ed));
	return px_entrec_decode(&ed, buf, len) == -1 &&
	    all_zero(&ed, sizeof(ed));
}

static size_t
marks_fresh(uint32_t n)
{
	marks_fill(n);
	return px_entrec_encode(&ee, buf);
}

/* Nine marks, each of a one-byte model. */
static size_t
nine_marks(void)
{
	size_t at = 3, i;

	buf[0] = 'e';
	buf[1] = 1;
	buf[2] = 9;
	for (i = 0; i < 9; i++, at += 10) {
		memset(buf + at, 0, 8);
		buf[at + 8] = 1;
		buf[at + 9] = 'a';
	}
	return at;
}

/* n marks, encoded, with byte off set to v; the length. */
static size_t
marks_poke(uint32_t n, size_t off, unsigned char v)
{
	size_t len = marks_fresh(n);

	buf[off] = v;
	return len;
}

static void
test_marks_reject(void)
{
	size_t len = marks_poke(2, 0, 'h');

	T_CHECK(marks_rejects(len), "marks: wrong kind rejected");
	len = marks_poke(2, 1, 2);
	T_CHECK(marks_rejects(len), "marks: version 2 rejected");
	T_CHECK(marks_rejects(nine_marks()), "marks: n 9 rejected");
	len = marks_poke(2, 2, 3);
	T_CHECK(marks_rejects(len), "marks: n past the marks there rejected");
	len = marks_poke(2, 2, 1);
	T_CHECK(marks_rejects(len), "marks: n short of the marks there");
	len = marks_fresh(2);
	T_CHECK(marks_rejects(2), "marks: shorter than 3 bytes rejected");
	T_CHECK(marks_rejects(8), "marks: until cut short rejected");
	T_CHECK(marks_rejects(11), "marks: no model length byte rejected");
	T_CHECK(marks_rejects(17), "marks: first model cut short rejected");
	T_CHECK(marks_rejects(len - 1), "marks: last model cut short");
	buf[len] = 'x';
	T_CHECK(marks_rejects(len + 1), "marks: trailing byte rejected");
	marks_poke(1, 11, 120);
	memset(buf + 12, 'm', 120);
	T_CHECK(marks_rejects(12 + 120), "marks: model length 120 rejected");
	buf[11] = 119;
	T_CHECK(px_entrec_decode(&ed, buf, 12 + 119) == 0 &&
	    strlen(ed.e[0].model) == 119, "marks: model length 119 accepted");
	memset(&ed, 0xaa, sizeof(ed));
	T_CHECK(px_entrec_decode(&ed, buf, 0) == 0 && all_zero(&ed, sizeof(ed)),
	    "marks: len 0 is an all-zero record and 0");
}

/* --- cursor and reasons ----------------------------------------------- */

static void
test_cursor(void)
{
	unsigned char c[8] = { 0 };

	px_cursor_encode(0x01020304u, c);
	T_CHECK(c[0] == 4 && c[1] == 3 && c[2] == 2 && c[3] == 1 && c[4] == 0,
	    "cursor: four bytes, little-endian");
	T_CHECK(px_cursor_decode(c, 4) == 0x01020304u, "cursor: round trip");
	px_cursor_encode(0, c);
	T_CHECK(px_cursor_decode(c, 4) == 0, "cursor: 0 round trips");
	T_CHECK(px_cursor_decode(c, 0) == UINT32_MAX &&
	    px_cursor_decode(NULL, 0) == UINT32_MAX,
	    "cursor: absent reads UINT32_MAX");
	T_CHECK(px_cursor_decode(c, 3) == UINT32_MAX &&
	    px_cursor_decode(c, 5) == UINT32_MAX && px_cursor_decode(c, 8) ==
	    UINT32_MAX, "cursor: damaged (not 4 bytes) reads UINT32_MAX");
}

static void
test_reason(void)
{
	char r[PX_REASON_MAX], big[200];

	memset(r, 'x', sizeof(r));
	px_rec_set_reason(r, NULL);
	T_STREQ(r, "", "reason: NULL is empty");
	px_rec_set_reason(r, "upstream 503");
	T_STREQ(r, "upstream 503", "reason: short text kept");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	px_rec_set_reason(r, big);
	T_CHECK(strlen(r) == 63 && r[0] == 'a' && r[62] == 'a',
	    "reason: long text cut to 63 bytes");
	big[63] = '\0';
	px_rec_set_reason(r, big);
	T_CHECK(strlen(r) == 63, "reason: exactly 63 bytes kept whole");
	big[64] = '\0';
	big[63] = 'b';
	px_rec_set_reason(r, big);
	T_CHECK(strlen(r) == 63 && strchr(r, 'b') == NULL,
	    "reason: the 64th byte goes");
}

/* --- redis_url ------------------------------------------------------- */

static struct px_redis_addr ra;
static char why[160];

static int
url_ok(const char *url)
{
	why[0] = '\0';
	return px_redis_url_parse(url, &ra, why, sizeof(why)) == 0;
}

/* TCP url parsed to host, port, db. */
static int
tcp_is(const char *url, const char *host, int port, long db)
{
	return url_ok(url) && !ra.is_unix && strcmp(ra.host, host) == 0 &&
	    ra.port == port && ra.db == db;
}

static int
unix_is(const char *url, const char *path, long db)
{
	return url_ok(url) && ra.is_unix && strcmp(ra.path, path) == 0 &&
	    ra.db == db;
}

static void
test_url_accept(void)
{
	T_CHECK(tcp_is("redis://host", "host", 6379, 0),
	    "url: redis://host, port 6379, db 0");
	T_CHECK(tcp_is("redis://cache.example-1.net:6380", "cache.example-1.net",
	    6380, 0), "url: host:port");
	T_CHECK(tcp_is("redis://host/5", "host", 6379, 5), "url: /db");
	T_CHECK(tcp_is("redis://host/", "host", 6379, 0), "url: a bare /");
	T_CHECK(tcp_is("redis://10.0.0.7:1/1000000", "10.0.0.7", 1, 1000000),
	    "url: IPv4, port 1, db 1000000");
	T_CHECK(tcp_is("redis://h:65535/0", "h", 65535, 0), "url: port 65535");
	T_CHECK(tcp_is("redis://[::1]:6380", "::1", 6380, 0),
	    "url: [::1]:6380, host without brackets");
	T_CHECK(tcp_is("redis://[fe80::1:AbC]/3", "fe80::1:AbC", 6379, 3),
	    "url: IPv6 with db, default port");
	T_CHECK(unix_is("unix:///run/redis.sock", "/run/redis.sock", 0),
	    "url: unix socket, db 0");
	T_CHECK(unix_is("unix:///path?db=3", "/path", 3), "url: unix ?db=3");
}

/* A path of n bytes: '/' and n - 1 letters. */
static const char *
unix_url(size_t n)
{
	static char u[300];

	memcpy(u, "unix://", 7);
	u[7] = '/';
	memset(u + 8, 'p', n - 1);
	u[7 + n] = '\0';
	return u;
}

static const char *
long_host(size_t n)
{
	static char u[400];

	memcpy(u, "redis://", 8);
	memset(u + 8, 'h', n);
	u[8 + n] = '\0';
	return u;
}

static void
test_url_limits(void)
{
	T_CHECK(unix_is(unix_url(107), unix_url(107) + 7, 0),
	    "url: a 107-byte socket path fits");
	T_CHECK(!url_ok(unix_url(108)) && why[0] != '\0',
	    "url: a 108-byte socket path is refused");
	T_CHECK(url_ok(long_host(255)) && strlen(ra.host) == 255,
	    "url: a 255-byte host fits");
	T_CHECK(!url_ok(long_host(256)) && why[0] != '\0',
	    "url: a 256-byte host is refused");
}

static const char *const bad_urls[] = {
	"host:6379",			/* no scheme */
	"",
	"http://host",
	"redis://user:pw@host",		/* user / password in the URL */
	"redis://:pw@host:6379",
	"redis://",			/* empty host */
	"redis:///0",
	"redis://:6379",
	"redis://[]:6379",
	"redis://ho_st",		/* bad host characters */
	"redis://ho st",
	"redis://host%0a",
	"redis://[::g]",
	"redis://[::1",
	"redis://[::1]6379",
	"redis://host:0",		/* port */
	"redis://host:65536",
	"redis://host:63a9",
	"redis://host:",
	"redis://host:-1",
	"redis://host:1:2",
	"redis://host/-1",		/* db */
	"redis://host/1000001",
	"redis://host/3x",
	"redis://host/3/",
	"redis://host?db=1",
	"redis://host#x",
	"unix://relative/path",		/* unix */
	"unix://",
	"unix://?db=1",
	"unix:///with space",
	"unix:///tab\there",
	"unix:///del\x7f",
	"unix:///p?db=",
	"unix:///p?db=x",
	"unix:///p?db=1000001",
	"unix:///p?foo=1",
	"unix:///p?id=3",
	"unix:///p?db=1&x",
};

static void
test_url_reject(void)
{
	size_t i;
	char what[120];

	for (i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		snprintf(what, sizeof(what), "url: \"%s\" refused with a reason",
		    bad_urls[i]);
		T_CHECK(!url_ok(bad_urls[i]) && why[0] != '\0', what);
	}
	T_CHECK(!url_ok("redis://user:hunter2@host") &&
	    strstr(why, "redis_password") != NULL &&
	    strstr(why, "hunter2") == NULL,
	    "url: a password in the URL points at redis_password, unechoed");
	T_CHECK(px_redis_url_parse("ftp://x", &ra, why, 6) == -1 &&
	    strlen(why) == 5, "url: the reason is cut to its buffer");
}

int
main(void)
{
	test_health_layout();
	test_health_roundtrip();
	test_health_reject();
	test_prov_layout();
	test_prov_roundtrip();
	test_prov_reject();
	test_marks_layout();
	test_marks_roundtrip();
	test_marks_reject();
	test_cursor();
	test_reason();
	test_url_accept();
	test_url_limits();
	test_url_reject();
	return t_done();
}
