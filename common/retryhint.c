/*
 * retryhint.c -- what an upstream failure means for the key (retryhint.h).
 * Owns: status -> fault class, the "come back at" hints of both providers
 * (headers and error bodies), HTTP-date parsing, and the daily reset
 * instants (00:00 UTC, 00:00 America/Los_Angeles) computed by hand from
 * the US DST rules, so no TZ database, setenv or timegm is involved.
 * Never: reads a clock, keeps state, or copies any body text out: reason
 * is always one of the literals in this file, so a key echoed in an
 * upstream message can never reach a log through it.
 * Load: runs once per failed upstream reply; parses at most one capped
 * error body with cJSON.
 */
#include "retryhint.h"

#include <string.h>

#include <cJSON.h>

#define SEC_MS	INT64_C(1000)
#define HOUR_MS	(3600 * SEC_MS)
#define DAY_MS	(24 * HOUR_MS)
#define YEAR_MS	(365 * DAY_MS)	/* no hint reaches further than this */
/* 10000-01-01T00:00Z. now_ms is clamped to [0, T_MAX], so adding a year
 * of ms can never overflow and every year stays positive. */
#define T_MAX	INT64_C(253402300800000)
/* Integer parts saturate here: any larger number is absurd as a hint and
 * is clamped later, and times 1000 it still fits in int64_t. */
#define NUM_SAT	INT64_C(1000000000000000)
/* X-RateLimit-Reset below 1e11 (1973 in ms, 5138 in s) is in seconds. */
#define RESET_SECONDS_BELOW	INT64_C(100000000000)
/* Error bodies are a few KiB; anything far larger is not worth parsing. */
#define BODY_MAX	((size_t)256 * 1024)

/* --- small helpers -------------------------------------------------------- */

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int64_t
clamp64(int64_t v, int64_t lo, int64_t hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

/* Skip optional whitespace at both ends; *n gets the length left. */
static const char *
trim(const char *s, size_t *n)
{
	size_t len;

	*n = 0;
	if (s == NULL)
		return "";
	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	*n = len;
	return s;
}

static void
set_reason(struct px_hint *out, const char *lit)
{
	size_t n = strlen(lit);

	if (n >= sizeof out->reason)
		n = sizeof out->reason - 1;
	memcpy(out->reason, lit, n);
	out->reason[n] = '\0';
}

/*
 * "D+" or "D+.D+" counted in units of unit_ms, into *ms. A fraction is
 * rounded up so a hint never ends early; digits past the ninth decimal are
 * checked but ignored. No sign, exponent or inner space. -1: not a number.
 */
static int
parse_decimal(const char *s, size_t n, int64_t unit_ms, int64_t *ms)
{
	int64_t whole = 0, frac = 0, scale = 1;
	size_t i;

	if (n == 0 || !is_digit(s[0]))
		return -1;
	for (i = 0; i < n && is_digit(s[i]); i++) {
		whole = whole * 10 + (s[i] - '0');
		if (whole > NUM_SAT)
			whole = NUM_SAT;
	}
	if (i < n && s[i] == '.') {
		if (++i == n || !is_digit(s[i]))
			return -1;
		for (; i < n && is_digit(s[i]); i++) {
			if (scale < INT64_C(1000000000)) {
				frac = frac * 10 + (s[i] - '0');
				scale *= 10;
			}
		}
	}
	if (i != n)
		return -1;
	*ms = whole * unit_ms + (frac * unit_ms + scale - 1) / scale;
	return 0;
}

/* --- calendar ------------------------------------------------------------- */

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int mon)
{
	static const int dim[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return dim[mon - 1] + (mon == 2 && is_leap(y));
}

/* Leap years among 1 .. y-1 (y >= 1). */
static int64_t
leaps_before(int64_t y)
{
	y--;
	return y / 4 - y / 100 + y / 400;
}

/* Days from 1970-01-01 to y-mon-d, proleptic Gregorian; y >= 1. */
static int64_t
days_from_civil(int64_t y, int mon, int d)
{
	static const int before[12] = {
		0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334
	};
	int64_t days;

	days = 365 * (y - 1970) + leaps_before(y) - leaps_before(1970);
	return days + before[mon - 1] + (mon > 2 && is_leap(y)) + d - 1;
}

/* The year holding day number day (>= 0). 366-day steps never overshoot,
 * so only a few forward steps remain. */
static int64_t
year_of_day(int64_t day)
{
	int64_t y = 1970 + day / 366;

	while (days_from_civil(y + 1, 1, 1) <= day)
		y++;
	return y;
}

/* The first Sunday on or after day; 1970-01-01 was a Thursday. */
static int64_t
sunday_from(int64_t day)
{
	int64_t wday = (day + 4) % 7;	/* 0 = Sunday, day >= 0 */

	return day + (7 - wday) % 7;
}

/*
 * 00:00 local time of local date day in Los Angeles, as UTC ms. DST runs
 * from 02:00 on the second Sunday of March to 02:00 on the first Sunday of
 * November, so midnight of the March Sunday is still PST (UTC-8) and
 * midnight of the November Sunday is still PDT (UTC-7).
 */
static int64_t
pacific_midnight(int64_t day)
{
	int64_t y = year_of_day(day);
	int64_t start = sunday_from(days_from_civil(y, 3, 1)) + 7;
	int64_t end = sunday_from(days_from_civil(y, 11, 1));
	int dst = day > start && day <= end;

	return day * DAY_MS + (dst ? 7 : 8) * HOUR_MS;
}

int64_t
px_hint_next_utc_midnight(int64_t now_ms)
{
	int64_t now = clamp64(now_ms, -T_MAX, T_MAX);

	return (floor_div(now, DAY_MS) + 1) * DAY_MS;
}

int64_t
px_hint_next_pacific_midnight(int64_t now_ms)
{
	int64_t now = clamp64(now_ms, 0, T_MAX);
	int64_t day = floor_div(now, DAY_MS);
	int64_t t = pacific_midnight(day);

	/* Local dates lag UTC ones, so the answer is midnight of the local
	 * date equal to today's UTC date (if still ahead) or of the next. */
	if (t > now)
		return t;
	return pacific_midnight(day + 1);
}

/* --- HTTP dates (RFC 9110 5.6.7) ------------------------------------------ */

struct civil {
	int y, mon, d, h, mi, s;	/* mon 1..12 */
};

struct cur {
	const char *p, *end;
};

static const char *const wkday[7] = {
	"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
};
static const char *const weekday[7] = {
	"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
	"Sunday"
};
static const char *const month[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static int
eat(struct cur *c, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

/* Index of the (case-sensitive) name at c, which is then skipped, or -1. */
static int
eat_name(struct cur *c, const char *const *tab, int ntab)
{
	int i;

	for (i = 0; i < ntab; i++)
		if (eat(c, tab[i]) == 0)
			return i;
	return -1;
}

static int
eat_month(struct cur *c, int *mon)
{
	int i = eat_name(c, month, 12);

	*mon = i + 1;
	return i < 0 ? -1 : 0;
}

/* Exactly ndig digits. */
static int
eat_num(struct cur *c, int ndig, int *v)
{
	int i, x = 0;

	if (c->end - c->p < ndig)
		return -1;
	for (i = 0; i < ndig; i++) {
		if (!is_digit(c->p[i]))
			return -1;
		x = x * 10 + (c->p[i] - '0');
	}
	c->p += ndig;
	*v = x;
	return 0;
}

static int
eat_time(struct cur *c, struct civil *t)
{
	if (eat_num(c, 2, &t->h) < 0 || eat(c, ":") < 0 ||
	    eat_num(c, 2, &t->mi) < 0 || eat(c, ":") < 0 ||
	    eat_num(c, 2, &t->s) < 0)
		return -1;
	return 0;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
static int
parse_imf(struct cur *c, struct civil *t)
{
	if (eat_name(c, wkday, 7) < 0 || eat(c, ", ") < 0 ||
	    eat_num(c, 2, &t->d) < 0 || eat(c, " ") < 0 ||
	    eat_month(c, &t->mon) < 0 || eat(c, " ") < 0 ||
	    eat_num(c, 4, &t->y) < 0 || eat(c, " ") < 0 ||
	    eat_time(c, t) < 0 || eat(c, " GMT") < 0)
		return -1;
	return 0;
}

/* "Sunday, 06-Nov-94 08:49:37 GMT". With no clock at hand, two-digit
 * years 70..99 are 19xx and 00..69 are 20xx. */
static int
parse_rfc850(struct cur *c, struct civil *t)
{
	int yy;

	if (eat_name(c, weekday, 7) < 0 || eat(c, ", ") < 0 ||
	    eat_num(c, 2, &t->d) < 0 || eat(c, "-") < 0 ||
	    eat_month(c, &t->mon) < 0 || eat(c, "-") < 0 ||
	    eat_num(c, 2, &yy) < 0 || eat(c, " ") < 0 ||
	    eat_time(c, t) < 0 || eat(c, " GMT") < 0)
		return -1;
	t->y = yy < 70 ? 2000 + yy : 1900 + yy;
	return 0;
}

/* asctime's day of month: "DD" or " D". */
static int
eat_mday(struct cur *c, int *d)
{
	if (eat(c, " ") == 0)
		return eat_num(c, 1, d);
	return eat_num(c, 2, d);
}

/* "Sun Nov  6 08:49:37 1994" */
static int
parse_asctime(struct cur *c, struct civil *t)
{
	if (eat_name(c, wkday, 7) < 0 || eat(c, " ") < 0 ||
	    eat_month(c, &t->mon) < 0 || eat(c, " ") < 0 ||
	    eat_mday(c, &t->d) < 0 || eat(c, " ") < 0 ||
	    eat_time(c, t) < 0 || eat(c, " ") < 0 ||
	    eat_num(c, 4, &t->y) < 0)
		return -1;
	return 0;
}

static int
civil_valid(const struct civil *t)
{
	if (t->y < 1970 || t->y > 9999 || t->mon < 1 || t->mon > 12)
		return 0;
	if (t->d < 1 || t->d > days_in_month(t->y, t->mon))
		return 0;
	/* Second 60 is a leap second (RFC 5322); it lands on the next. */
	return t->h <= 23 && t->mi <= 59 && t->s <= 60;
}

int64_t
px_hint_http_date(const char *s)
{
	static int (*const form[])(struct cur *, struct civil *) = {
		parse_imf, parse_rfc850, parse_asctime
	};
	struct civil t;
	struct cur c;
	size_t i, n;
	const char *p = trim(s, &n);

	for (i = 0; i < sizeof form / sizeof form[0]; i++) {
		memset(&t, 0, sizeof t);
		c.p = p;
		c.end = p + n;
		if (form[i](&c, &t) == 0 && c.p == c.end)
			break;
	}
	if (i == sizeof form / sizeof form[0] || !civil_valid(&t))
		return -1;
	return (days_from_civil(t.y, t.mon, t.d) * 86400 + t.h * 3600 +
	    t.mi * 60 + t.s) * SEC_MS;
}

/* --- hints ---------------------------------------------------------------- */

/* Every hint ends within [now, now + 1 year]. */
static int64_t
clamp_at(int64_t at, int64_t now)
{
	return clamp64(at, now, now + YEAR_MS);
}

/* retry-after-ms: relative milliseconds. -1: absent or malformed. */
static int64_t
after_ms_at(const char *v, int64_t now)
{
	int64_t ms;
	size_t n;
	const char *p = trim(v, &n);

	if (parse_decimal(p, n, 1, &ms) < 0)
		return -1;
	return now + clamp64(ms, 0, YEAR_MS);
}

/* Retry-After: relative seconds or an absolute HTTP date (one in the past
 * means "now"). -1: absent or malformed. */
static int64_t
retry_after_at(const char *v, int64_t now)
{
	int64_t ms;
	size_t n;
	const char *p = trim(v, &n);

	if (parse_decimal(p, n, SEC_MS, &ms) == 0)
		return now + clamp64(ms, 0, YEAR_MS);
	ms = px_hint_http_date(v);
	if (ms < 0)
		return -1;
	return clamp_at(ms, now);
}

/* An X-RateLimit-Reset epoch (ms, or s when small). -1: past or bad. */
static int64_t
reset_value_at(int64_t v, int64_t now)
{
	if (v < RESET_SECONDS_BELOW)
		v *= SEC_MS;
	if (v < now)
		return -1;
	return clamp_at(v, now);
}

static int64_t
reset_at(const char *v, int64_t now)
{
	int64_t ms;
	size_t n;
	const char *p = trim(v, &n);

	if (parse_decimal(p, n, 1, &ms) < 0)
		return -1;
	return reset_value_at(ms, now);
}

/* A protobuf Duration in JSON ("37s", "1.5s", "0.250s"), relative. */
static int64_t
duration_at(const char *v, int64_t now)
{
	int64_t ms;
	size_t n = v == NULL ? 0 : strlen(v);

	if (n < 2 || v[n - 1] != 's' || parse_decimal(v, n - 1, SEC_MS,
	    &ms) < 0)
		return -1;
	return now + clamp64(ms, 0, YEAR_MS);
}

/* --- error bodies --------------------------------------------------------- */

/* What an error body says; filled from cJSON, never holds its text. */
struct facts {
	int     key_reason;	/* an ErrorInfo.reason about the key itself */
	int     precondition;	/* status FAILED_PRECONDITION */
	int     per_day;	/* a QuotaFailure quotaId with "PerDay" */
	int     quota_failure;	/* a QuotaFailure detail at all */
	int     zero_value;	/* a violation with quotaValue "0" */
	int     limit_zero;	/* "limit: 0" in the message */
	int     free_per_day;	/* OpenRouter "free-models-per-day" */
	int     provider_error;	/* OpenRouter "Provider returned error": the
				 * model's host throttled, not this key */
	int64_t retry_at;	/* RetryInfo.retryDelay; -1 none */
	int64_t reset_at;	/* error.metadata.headers reset; -1 none */
};

static const char *
str_of(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static int
has(const char *s, const char *needle)
{
	return s != NULL && strstr(s, needle) != NULL;
}

/* {"error":{...}} bare, or as the first element of an array (Gemini's
 * OpenAI-compatible endpoint). NULL when the shape is anything else. */
static const cJSON *
error_object(const cJSON *root)
{
	const cJSON *err;

	if (cJSON_IsArray(root))
		root = cJSON_GetArrayItem(root, 0);
	if (!cJSON_IsObject(root))
		return NULL;
	err = cJSON_GetObjectItemCaseSensitive(root, "error");
	return cJSON_IsObject(err) ? err : NULL;
}

/*
 * google.rpc.ErrorInfo reasons that are facts about the key, whatever the
 * request said (provider-apis-2026.md §3.3 rows 1-7: invalid, expired,
 * refused key type, key without access to this API, restricted, or its
 * project disabled). Matched whole: ErrorInfo.reason is an enum-like
 * field Google fills, never text that echoes the request, unlike
 * messages ("<model> is not a valid model ID" carries any model name).
 */
static int
key_reason(const char *r)
{
	static const char *const reasons[] = {
		"API_KEY_INVALID", "API_KEY_EXPIRED",
		"ACCESS_TOKEN_TYPE_UNSUPPORTED", "CREDENTIALS_MISSING",
		"API_KEY_SERVICE_BLOCKED", "API_KEY_HTTP_REFERRER_BLOCKED",
		"API_KEY_IP_ADDRESS_BLOCKED", "API_KEY_ANDROID_APP_BLOCKED",
		"API_KEY_IOS_APP_BLOCKED", "SERVICE_DISABLED",
		"CONSUMER_SUSPENDED",
	};
	size_t i;

	for (i = 0; r != NULL && i < sizeof reasons / sizeof reasons[0]; i++)
		if (strcmp(r, reasons[i]) == 0)
			return 1;
	return 0;
}

/* One google.rpc detail; matched by shape, so a missing @type is fine. */
static void
read_detail(const cJSON *d, int64_t now, struct facts *f)
{
	const cJSON *viol, *v;
	int64_t at;

	if (!cJSON_IsObject(d))
		return;
	if (key_reason(str_of(d, "reason")))
		f->key_reason = 1;
	viol = cJSON_GetObjectItemCaseSensitive(d, "violations");
	if (cJSON_IsArray(viol)) {
		f->quota_failure = 1;
		cJSON_ArrayForEach(v, viol) {
			const char *qv = str_of(v, "quotaValue");

			if (cJSON_IsObject(v) &&
			    has(str_of(v, "quotaId"), "PerDay"))
				f->per_day = 1;
			if (qv != NULL && strcmp(qv, "0") == 0)
				f->zero_value = 1;
		}
	}
	at = duration_at(str_of(d, "retryDelay"), now);
	if (at >= 0 && f->retry_at < 0)
		f->retry_at = at;
}

/* OpenRouter copies its rate-limit headers into error.metadata.headers. */
static void
read_metadata(const cJSON *err, int64_t now, struct facts *f)
{
	const cJSON *hdrs, *v;
	double x;

	hdrs = cJSON_GetObjectItemCaseSensitive(err, "metadata");
	hdrs = cJSON_GetObjectItemCaseSensitive(hdrs, "headers");
	if (!cJSON_IsObject(hdrs))
		return;
	/* Header names are case-insensitive, so is this lookup. */
	v = cJSON_GetObjectItem(hdrs, "X-RateLimit-Reset");
	if (cJSON_IsString(v)) {
		f->reset_at = reset_at(v->valuestring, now);
		return;
	}
	if (!cJSON_IsNumber(v))
		return;
	x = v->valuedouble;
	if (!(x >= 0))
		return;
	if (x > (double)NUM_SAT)
		x = (double)NUM_SAT;
	f->reset_at = reset_value_at((int64_t)x, now);
}

static void
read_body(const struct px_hint_in *in, int64_t now, struct facts *f)
{
	cJSON *root = NULL;
	const cJSON *err, *details, *d;
	const char *msg;

	memset(f, 0, sizeof *f);
	f->retry_at = -1;
	f->reset_at = -1;
	if (in->body == NULL || in->body_len == 0 || in->body_len > BODY_MAX)
		return;
	root = cJSON_ParseWithLength(in->body, in->body_len);
	err = error_object(root);
	if (err == NULL)
		goto out;
	msg = str_of(err, "message");
	f->free_per_day = has(msg, "free-models-per-day");
	f->limit_zero = has(msg, "limit: 0,") || has(msg, "limit: 0\n");
	f->provider_error = has(msg, "Provider returned error");
	f->precondition = has(str_of(err, "status"), "FAILED_PRECONDITION");
	details = cJSON_GetObjectItemCaseSensitive(err, "details");
	if (cJSON_IsArray(details)) {
		cJSON_ArrayForEach(d, details) {
			read_detail(d, now, f);
		}
	}
	read_metadata(err, now, f);
out:
	cJSON_Delete(root);
}

/* --- classification ------------------------------------------------------- */

static const struct {
	int           status;
	enum px_fault fault;
	const char   *reason;
} exact[] = {
	{ 0,   PX_FAULT_UPSTREAM, "no response" },
	{ 401, PX_FAULT_AUTH,     "401 unauthorized" },
	{ 402, PX_FAULT_CLIENT,   "402 payment required" },
	{ 403, PX_FAULT_CLIENT,   "403 forbidden" },
	{ 408, PX_FAULT_UPSTREAM, "408 timeout" },
	{ 429, PX_FAULT_RATE,     "429 no hint" },
};

static void
classify(int status, struct px_hint *out)
{
	size_t i;

	for (i = 0; i < sizeof exact / sizeof exact[0]; i++) {
		if (exact[i].status == status) {
			out->fault = exact[i].fault;
			set_reason(out, exact[i].reason);
			return;
		}
	}
	if (status >= 200 && status <= 299) {
		out->fault = PX_FAULT_NONE;
		set_reason(out, "ok");
	} else if (status >= 400 && status <= 499) {
		out->fault = PX_FAULT_CLIENT;
		set_reason(out, "client error");
	} else if (status >= 500 && status <= 599) {
		out->fault = PX_FAULT_UPSTREAM;
		set_reason(out, "5xx upstream");
	} else {
		/* 1xx, 3xx, nonsense: not a reply the key can be blamed for. */
		out->fault = PX_FAULT_UPSTREAM;
		set_reason(out, "unexpected status");
	}
}

/*
 * A 400, 401 or 403 is the key's fault only when the body says so in a
 * structured field (key_reason). FAILED_PRECONDITION (region, free tier
 * not offered here) holds for every key of the host: relay it, blame none.
 */
static void
key_fault(const struct px_hint_in *in, const struct facts *f,
    struct px_hint *out)
{
	if (f->key_reason) {
		out->fault = PX_FAULT_AUTH;
		set_reason(out, in->status == 400 ? "400 invalid key" :
		    in->status == 401 ? "401 key refused" : "403 key blocked");
		return;
	}
	if (in->status == 400 && f->precondition) {
		set_reason(out, "400 precondition");
	} else if (in->status == 401 && in->provider == PX_PROV_GEMINI) {
		/* Google's 401 without a key reason: two credentials or none
		 * sent, a proxy fault (§3.3 row 9); another key may do */
		out->fault = PX_FAULT_UPSTREAM;
		set_reason(out, "401 no key reason");
	} else if (in->status == 402 || in->status == 403) {
		/* credits or moderation: the request's, unless a probe the
		 * client cannot influence says the key is bad */
		out->probe = 1;
	}
}

/*
 * 429: the first hint present in precedence order wins. A per-day quota
 * lasts until its daily reset, or until a later explicit hint.
 */
static void
rate_limited(const struct px_hint_in *in, const struct facts *f, int64_t now,
    struct px_hint *out)
{
	static const char *const why[5] = {
		"429 retry-after-ms", "429 retry-after", "429 ratelimit-reset",
		"429 retry-info", "429 ratelimit-reset"
	};
	const int64_t at[5] = {
		after_ms_at(in->retry_after_ms, now),
		retry_after_at(in->retry_after, now),
		reset_at(in->ratelimit_reset, now),
		f->retry_at,
		f->reset_at,
	};
	int64_t daily_at = -1;
	size_t i;

	for (i = 0; i < 5 && at[i] < 0; i++)
		;
	if (f->per_day)
		daily_at = px_hint_next_pacific_midnight(now);
	else if (f->free_per_day)
		daily_at = px_hint_next_utc_midnight(now);
	if (daily_at >= 0) {
		out->daily = 1;
		out->until_ms = i < 5 && at[i] > daily_at ? at[i] : daily_at;
		set_reason(out, "429 daily quota");
	} else if (i < 5) {
		out->until_ms = at[i];
		set_reason(out, why[i]);
	}
}

void
px_hint_read(const struct px_hint_in *in, struct px_hint *out)
{
	struct facts f;
	int64_t now;

	if (out == NULL)
		return;
	memset(out, 0, sizeof *out);
	if (in == NULL) {
		classify(0, out);
		return;
	}
	classify(in->status, out);
	if (in->status != 400 && in->status != 401 && in->status != 402 &&
	    in->status != 403 && in->status != 429)
		return;
	now = clamp64(in->now_ms, 0, T_MAX);
	read_body(in, now, &f);
	if (in->status != 429) {
		key_fault(in, &f, out);
	} else if (in->provider == PX_PROV_GEMINI && f.quota_failure &&
	    (f.zero_value || f.limit_zero)) {
		/* limit: 0: this project has no quota at all for the model
		 * (provider-apis-2026.md §4.1 D). Not a cooldown, and not
		 * the key's other models: the (key, model) pair is out until
		 * the daily reset. The message counts only beside a
		 * QuotaFailure detail, which requests cannot fake. */
		out->fault = PX_FAULT_ENTITLEMENT;
		out->until_ms = px_hint_next_pacific_midnight(now);
		out->daily = 1;
		set_reason(out, "429 limit 0");
	} else if (f.provider_error) {
		/* transient and not tied to the key (provider-apis.md §2.3) */
		out->fault = PX_FAULT_UPSTREAM;
		set_reason(out, "429 upstream provider");
	} else {
		rate_limited(in, &f, now, out);
	}
}

/* OpenRouter GET /key: data.limit_remaining at or below 0 (a number). */
static int
no_credits(const char *body, size_t len)
{
	cJSON *root;
	const cJSON *rem;
	int out = 0;

	if (body == NULL || len == 0 || len > BODY_MAX)
		return 0;
	root = cJSON_ParseWithLength(body, len);
	rem = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(root, "data"), "limit_remaining");
	if (cJSON_IsNumber(rem) && rem->valuedouble <= 0)
		out = 1;
	cJSON_Delete(root);
	return out;
}

int
px_hint_probe(const struct px_hint_in *in, struct px_hint *out)
{
	struct px_hint h;

	memset(out, 0, sizeof *out);
	if (in == NULL)
		return 0;
	if (in->provider == PX_PROV_OPENROUTER) {
		if (in->status == 401 || in->status == 402 ||
		    (in->status == 200 && no_credits(in->body, in->body_len))) {
			out->fault = PX_FAULT_AUTH;
			set_reason(out, in->status == 401 ? "probe 401 "
			    "unauthorized" : "probe no credits");
			return 1;
		}
		return 0;
	}
	px_hint_read(in, &h);
	if (h.fault != PX_FAULT_AUTH)
		return 0;
	out->fault = PX_FAULT_AUTH;
	set_reason(out, "probe key refused");
	return 1;
}

const char *
px_fault_name(enum px_fault f)
{
	static const char *const name[PX_FAULT__MAX] = {
		[PX_FAULT_NONE] = "none",
		[PX_FAULT_RATE] = "rate",
		[PX_FAULT_AUTH] = "auth",
		[PX_FAULT_UPSTREAM] = "upstream",
		[PX_FAULT_CLIENT] = "client",
		[PX_FAULT_ENTITLEMENT] = "not_entitled",
	};

	if ((unsigned)f >= PX_FAULT__MAX)
		return "unknown";
	return name[f];
}
