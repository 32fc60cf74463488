/*
 * fuzz_retryhint.c -- libFuzzer target for retry-hint parsing
 * (common/retryhint.h): px_hint_read with fuzzer-chosen status, clock,
 * provider, header values and error body; px_hint_probe on the same reply;
 * px_hint_http_date on each header
 * value; the UTC and Pacific daily resets at the fuzzer's clock.
 * Input: line 1 "status now_ms provider" (decimal), lines 2-4 the values
 * of Retry-After, retry-after-ms and X-RateLimit-Reset (a missing line is
 * an absent header, NULL), the rest is the error body.
 * Checks: the fault is in range and 2xx is exactly PX_FAULT_NONE; reason
 * is a non-empty NUL-terminated short phrase of [a-z0-9 _-] (fixed
 * vocabulary, never body text); only a rate or entitlement fault carries
 * an instant, within [now, now + 1 year] (a daily one strictly after now,
 * an entitlement one always daily);
 * the probe flag only on a 402/403 that is not AUTH; the AUTH verdict and
 * probe flag do not change when error.message is replaced (issue 9 M1:
 * free text that can echo the request never disables a key); the probe
 * reading answers 1 exactly with an AUTH fault.
 * An HTTP date parses to -1 or to an instant in 1970..9999 that formats
 * back (gmtime_r) to a date parsing to the same instant; an IMF-fixdate
 * input without a leap second formats back to itself (weekday aside).
 * Next UTC midnight: strictly after now, within a day, on a day boundary.
 * Next Pacific midnight: strictly after now, within 25 h, at 07:00 or
 * 08:00 UTC, and for 2008..2399 equal to the next local midnight per the
 * tz database (localtime_r with TZ=America/Los_Angeles), when installed.
 */
#include "retryhint.h"

#include <time.h>

#include <cJSON.h>

#include "fuzz_util.h"

#define SEC_MS	INT64_C(1000)
#define HOUR_MS	(3600 * SEC_MS)
#define DAY_MS	(24 * HOUR_MS)
#define T_MAX	INT64_C(253402300800000)	/* 10000-01-01T00:00Z */
#define TZ_LO	INT64_C(1199145600000)		/* 2008-01-01T00:00Z */
#define TZ_HI	INT64_C(13569465600000)		/* 2400-01-01T00:00Z */

static int have_tz;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *f = fopen("/usr/share/zoneinfo/America/Los_Angeles", "rb");
	struct px_hint h;

	(void)argc;
	(void)argv;
	if (f != NULL) {
		fclose(f);
		have_tz = setenv("TZ", "America/Los_Angeles", 1) == 0;
		tzset();
	}
	px_hint_read(NULL, &h);	/* documented: NULL input is "no response" */
	FZ_CHECK(h.fault == PX_FAULT_UPSTREAM, "NULL input: upstream fault");
	px_hint_read(NULL, NULL);
	return 0;
}

static int64_t
clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Days from 1970-01-01 (Howard Hinnant's days_from_civil). */
static int64_t
days_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
check_http_date(const char *s)
{
	static const char *const wk[7] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[12] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	int64_t v = px_hint_http_date(s), v2;
	char buf[64];
	struct tm tm;
	time_t t;
	size_t n;

	if (v == -1)
		return;
	/* (23:59:60 on 9999-12-31 lands on T_MAX itself) */
	FZ_CHECK(v >= 0 && v <= T_MAX && v % SEC_MS == 0,
	    "an HTTP date is a whole second in 1970..9999");
	if (v == T_MAX)
		return;
	t = (time_t)(v / SEC_MS);
	FZ_CHECK(gmtime_r(&t, &tm) != NULL, "gmtime_r");
	snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    wk[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	v2 = px_hint_http_date(buf);
	FZ_CHECK(v2 == v, "HTTP date formats back to the same instant");
	/* an IMF-fixdate input is the formatted one (weekday not checked) */
	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 29 && s[3] == ',' && memcmp(s + 22, ":60", 3) != 0 &&
	    memcmp(s + 25, " GMT", 4) == 0)
		FZ_CHECK(memcmp(s + 5, buf + 5, 24) == 0,
		    "IMF-fixdate agrees with gmtime_r");
}

static void
check_midnights(int64_t now_ms)
{
	int64_t now = clamp(now_ms, -T_MAX, T_MAX), u, p, pn;
	struct tm a, b;
	time_t ta, tb;

	u = px_hint_next_utc_midnight(now_ms);
	FZ_CHECK(u > now && u - now <= DAY_MS && u % DAY_MS == 0,
	    "next UTC midnight");
	pn = clamp(now_ms, 0, T_MAX);
	p = px_hint_next_pacific_midnight(now_ms);
	FZ_CHECK(p > pn && p - pn <= DAY_MS + HOUR_MS,
	    "next Pacific midnight within 25 h");
	FZ_CHECK((p - 7 * HOUR_MS) % DAY_MS == 0 ||
	    (p - 8 * HOUR_MS) % DAY_MS == 0,
	    "Pacific midnight is 07:00 or 08:00 UTC");
	if (!have_tz || pn < TZ_LO || pn >= TZ_HI)
		return;
	ta = (time_t)(pn / SEC_MS);	/* pn >= 0: division floors */
	tb = (time_t)(p / SEC_MS);
	if (localtime_r(&ta, &a) == NULL || localtime_r(&tb, &b) == NULL)
		return;
	FZ_CHECK(b.tm_hour == 0 && b.tm_min == 0 && b.tm_sec == 0,
	    "Pacific midnight is 00:00 in America/Los_Angeles");
	FZ_CHECK(days_civil(b.tm_year + 1900, b.tm_mon + 1, b.tm_mday) ==
	    days_civil(a.tm_year + 1900, a.tm_mon + 1, a.tm_mday) + 1,
	    "Pacific midnight starts the next local day");
}

/*
 * Issue 9 M1: a key is judged unusable only from facts about the key,
 * never from free text that can echo the request. The same reply with
 * error.message replaced by "x" gets the same AUTH verdict and probe flag.
 */
static void
check_not_from_message(const struct px_hint_in *in, const struct px_hint *h)
{
	struct px_hint_in in2;
	struct px_hint h2;
	cJSON *root, *e, *x;
	char *text;

	if (in->body == NULL || in->body_len == 0)
		return;
	root = cJSON_ParseWithLength(in->body, in->body_len);
	e = cJSON_IsArray(root) ? cJSON_GetArrayItem(root, 0) : root;
	e = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "error") :
	    NULL;
	if (!cJSON_IsObject(e) || !cJSON_IsString(
	    cJSON_GetObjectItemCaseSensitive(e, "message"))) {
		cJSON_Delete(root);
		return;
	}
	x = cJSON_CreateString("x");
	if (x == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(e, "message",
	    x))
		abort();
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (text == NULL)
		abort();
	in2 = *in;
	in2.body = text;
	in2.body_len = strlen(text);
	px_hint_read(&in2, &h2);
	if ((h2.fault == PX_FAULT_AUTH) != (h->fault == PX_FAULT_AUTH) ||
	    h2.probe != h->probe) {
		fprintf(stderr, "with the message: %s / %d; without: %s / %d\n",
		    h->reason, h->probe, h2.reason, h2.probe);
		FZ_CHECK(0, "key verdict depends on error.message text");
	}
	cJSON_free(text);
}

static void
check_probe(const struct px_hint_in *in)
{
	struct px_hint ph;
	int rc;

	memset(&ph, 0x5a, sizeof ph);
	rc = px_hint_probe(in, &ph);
	FZ_CHECK(rc == 0 || rc == 1, "probe answers 0 or 1");
	FZ_CHECK(rc == (ph.fault == PX_FAULT_AUTH),
	    "probe: 1 exactly with an AUTH fault");
	if (rc == 1)
		FZ_CHECK(ph.reason[0] != '\0' &&
		    strnlen(ph.reason, sizeof ph.reason) < sizeof ph.reason,
		    "probe verdict has a reason");
}

static void
check_hint(const struct px_hint_in *in, const struct px_hint *h)
{
	int64_t now = clamp(in->now_ms, 0, T_MAX);
	size_t n = strnlen(h->reason, sizeof h->reason), i;

	FZ_CHECK((unsigned)h->fault < PX_FAULT__MAX, "fault in range");
	FZ_CHECK(strcmp(px_fault_name(h->fault), "unknown") != 0,
	    "fault has a name");
	FZ_CHECK((in->status >= 200 && in->status <= 299) ==
	    (h->fault == PX_FAULT_NONE), "2xx and only 2xx is no fault");
	FZ_CHECK(n > 0 && n < sizeof h->reason, "reason set, terminated");
	for (i = 0; i < n; i++) {
		char c = h->reason[i];

		FZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == ' ' || c == '-' || c == '_',
		    "reason is a short fixed phrase");
	}
	FZ_CHECK(h->probe == 0 || h->probe == 1, "probe flag 0/1");
	FZ_CHECK(!h->probe || ((in->status == 402 || in->status == 403) &&
	    h->fault != PX_FAULT_AUTH), "probe only for a 402/403 not AUTH");
	/* rate limits and (Gemini "limit: 0") missing entitlements carry
	 * an instant; nothing else does */
	if (h->fault != PX_FAULT_RATE && h->fault != PX_FAULT_ENTITLEMENT) {
		FZ_CHECK(h->until_ms == 0 && h->daily == 0,
		    "only a rate or entitlement fault has a hint");
		return;
	}
	FZ_CHECK(h->fault != PX_FAULT_ENTITLEMENT ||
	    (h->daily == 1 && h->until_ms > now),
	    "an entitlement fault lasts until a daily reset");
	FZ_CHECK(h->daily == 0 || h->daily == 1, "daily is 0/1");
	FZ_CHECK(h->until_ms == 0 || (h->until_ms >= now &&
	    h->until_ms <= now + 366 * DAY_MS), "hint within a year");
	FZ_CHECK(!h->daily || h->until_ms > now,
	    "a daily quota ends after now");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	const uint8_t *l;
	size_t ln, i;
	long long v[3];
	char *hdr[3] = { NULL, NULL, NULL };
	char *body;
	struct px_hint_in hi;
	struct px_hint h;

	fz_line(&in, &l, &ln);
	fz_ints(l, ln, v, 3);
	for (i = 0; i < 3; i++) {
		if (fz_line(&in, &l, &ln))
			hdr[i] = fz_dup(l, ln, 1);
	}
	body = fz_dup(in.p, in.n, 0);	/* NULL when empty */

	memset(&hi, 0, sizeof hi);
	hi.provider = (enum px_provider_id)((unsigned long long)v[2] %
	    PX_PROV__MAX);
	hi.status = v[0] > 100000 ? 100000 : v[0] < -100000 ? -100000 :
	    (int)v[0];
	hi.now_ms = (int64_t)v[1];
	hi.retry_after = hdr[0];
	hi.retry_after_ms = hdr[1];
	hi.ratelimit_reset = hdr[2];
	hi.body = body;
	hi.body_len = in.n;
	memset(&h, 0x5a, sizeof h);
	px_hint_read(&hi, &h);
	check_hint(&hi, &h);
	check_not_from_message(&hi, &h);
	check_probe(&hi);

	for (i = 0; i < 3; i++) {
		if (hdr[i] != NULL)
			check_http_date(hdr[i]);
	}
	check_midnights(hi.now_ms);
	for (i = 0; i < 3; i++)
		free(hdr[i]);
	free(body);
	return 0;
}
