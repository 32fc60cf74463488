/*
 * test_retryhint.c -- retryhint.h on canned upstream replies and fixed
 * instants.
 * Covers: every status class; each hint alone (retry-after-ms, Retry-After
 * as seconds and as all three HTTP-date forms, X-RateLimit-Reset in ms, in
 * s and in the past, Gemini RetryInfo bare and array-wrapped, OpenRouter
 * metadata headers) and the precedence between them; per-day quotas of
 * both providers against their daily resets; 400 bodies that blame the
 * key; garbage of every kind (overflow, signs, non-JSON, wrong shapes,
 * truncated and unterminated bodies); HTTP dates valid and malformed;
 * Pacific midnight across the 2025-2027 DST changes plus a sweep of
 * 2024-2028 checking its invariants; UTC midnight; and that no reason
 * ever carries body text or leaves the fixed vocabulary.
 * Expected instants were computed independently (Python zoneinfo).
 * Never: reads a clock; every vector injects now_ms.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retryhint.h"
#include "tharness.h"

#define SEC	INT64_C(1000)
#define HOUR	(3600 * SEC)
#define DAY	(24 * HOUR)
#define YEAR	(365 * DAY)
/* 2025-10-09T08:53:20Z, a Thursday, PDT. */
#define NOW	INT64_C(1760000000000)
/* 2025-10-10T00:00:00Z: OpenRouter's daily reset (== the doc's example). */
#define UTC_MID	INT64_C(1760054400000)
/* 2025-10-10T07:00:00Z: 00:00 PDT, Gemini's daily reset. */
#define PAC_MID	INT64_C(1760079600000)

/* --- bodies --------------------------------------------------------------- */

/* provider-apis.md 3b: Gemini 429 with QuotaFailure, Help, RetryInfo. */
#define G429(QID, DELAY)						\
	"{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\","	\
	"\"message\":\"You exceeded your current quota, please check "	\
	"your plan and billing details. ...\",\"details\":["		\
	"{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\","	\
	"\"violations\":[{\"quotaMetric\":\"generativelanguage."	\
	"googleapis.com/generate_content_free_tier_requests\","		\
	"\"quotaId\":\"" QID "\",\"quotaDimensions\":{\"location\":"	\
	"\"global\",\"model\":\"gemini-2.5-flash\"},\"quotaValue\":"	\
	"\"10\"}]},{\"@type\":\"type.googleapis.com/google.rpc.Help\","	\
	"\"links\":[{\"description\":\"Learn more about Gemini API "	\
	"quotas\",\"url\":\"https://ai.google.dev/gemini-api/docs/"	\
	"rate-limits\"}]},{\"@type\":\"type.googleapis.com/google.rpc."	\
	"RetryInfo\",\"retryDelay\":\"" DELAY "\"}]}}"
#define G_MIN	"GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
#define G_DAY	"GenerateRequestsPerDayPerProjectPerModel-FreeTier"
#define G_TPM	"GenerateContentInputTokensPerModelPerMinute-FreeTier"

/* Gemini 429 without RetryInfo. */
#define G429_NODELAY(QID)						\
	"{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\","	\
	"\"details\":[{\"@type\":\"type.googleapis.com/google.rpc."	\
	"QuotaFailure\",\"violations\":[{\"quotaId\":\"" QID "\"}]}]}}"

/* provider-apis.md 2.2: OpenRouter 429 with metadata.headers. */
#define OR429(MSG, RESET)						\
	"{\"error\":{\"code\":429,\"message\":\"" MSG "\",\"metadata\":"	\
	"{\"headers\":{\"X-RateLimit-Limit\":\"50\",\"X-RateLimit-"	\
	"Remaining\":\"0\",\"X-RateLimit-Reset\":\"" RESET "\"},"	\
	"\"provider_name\":null}},\"user_id\":\"user_abc\"}"
#define OR_DAY	"Rate limit exceeded: free-models-per-day. Add 10 credits " \
		"to unlock 1000 free model requests per day"
#define OR_MIN	"Rate limit exceeded: free-models-per-min. "

#define G_KEY400							\
	"{\"error\":{\"code\":400,\"message\":\"API key not valid. Please " \
	"pass a valid API key.\",\"status\":\"INVALID_ARGUMENT\","	\
	"\"details\":[{\"@type\":\"type.googleapis.com/google.rpc."	\
	"ErrorInfo\",\"reason\":\"API_KEY_INVALID\",\"domain\":"	\
	"\"googleapis.com\",\"metadata\":{\"service\":"			\
	"\"generativelanguage.googleapis.com\"}}]}}"
#define G_EXPIRED400							\
	"{\"error\":{\"code\":400,\"message\":\"API key expired. Please " \
	"renew the API key.\",\"status\":\"INVALID_ARGUMENT\","		\
	"\"details\":[{\"reason\":\"API_KEY_INVALID\"}]}}"
#define G_MSGKEY400							\
	"{\"error\":{\"code\":400,\"message\":\"API key not valid. Please " \
	"pass a valid API key.\",\"status\":\"INVALID_ARGUMENT\"}}"
#define G_LOC400							\
	"{\"error\":{\"code\":400,\"message\":\"User location is not "	\
	"supported for the API use.\",\"status\":\"FAILED_PRECONDITION\"}}"
#define G_ARG400							\
	"{\"error\":{\"code\":400,\"message\":\"Invalid JSON payload "	\
	"received. Unknown name \\\"web_search_options\\\": Cannot find " \
	"field.\",\"status\":\"INVALID_ARGUMENT\"}}"

/* --- px_hint_read vectors ------------------------------------------------- */

struct vec {
	const char   *name;
	int           status;
	const char   *ra, *ram, *reset;	/* Retry-After, -ms, X-RateLimit- */
	const char   *body;
	int64_t       now;		/* 0: NOW */
	int64_t       until;
	enum px_fault fault;
	int           daily;
	const char   *reason;
};

#define RATE	PX_FAULT_RATE
#define AUTH	PX_FAULT_AUTH
#define UPST	PX_FAULT_UPSTREAM
#define CLNT	PX_FAULT_CLIENT
#define NONE	PX_FAULT_NONE

static const struct vec statuses[] = {
	{ "200", 200, 0, 0, 0, 0, 0, 0, NONE, 0, "ok" },
	{ "204", 204, 0, 0, 0, 0, 0, 0, NONE, 0, "ok" },
	{ "299", 299, 0, 0, 0, 0, 0, 0, NONE, 0, "ok" },
	{ "200 ignores hints", 200, "5", "5", 0, G429(G_DAY, "37s"), 0,
	  0, NONE, 0, "ok" },
	{ "429 bare", 429, 0, 0, 0, 0, 0, 0, RATE, 0, "429 no hint" },
	{ "401", 401, 0, 0, 0, 0, 0, 0, AUTH, 0, "401 unauthorized" },
	{ "402", 402, 0, 0, 0, 0, 0, 0, CLNT, 0, "402 payment required" },
	{ "403", 403, 0, 0, 0, 0, 0, 0, CLNT, 0, "403 forbidden" },
	{ "403 gemini", 403, 0, 0, 0, "{\"error\":{\"code\":403,\"status\":"
	  "\"PERMISSION_DENIED\"}}", 0, 0, CLNT, 0, "403 forbidden" },
	{ "400", 400, 0, 0, 0, 0, 0, 0, CLNT, 0, "client error" },
	{ "404", 404, 0, 0, 0, 0, 0, 0, CLNT, 0, "client error" },
	{ "409", 409, 0, 0, 0, 0, 0, 0, CLNT, 0, "client error" },
	{ "413", 413, 0, 0, 0, 0, 0, 0, CLNT, 0, "client error" },
	{ "422", 422, 0, 0, 0, 0, 0, 0, CLNT, 0, "client error" },
	{ "499", 499, 0, 0, 0, 0, 0, 0, CLNT, 0, "client error" },
	{ "408", 408, 0, 0, 0, 0, 0, 0, UPST, 0, "408 timeout" },
	{ "500", 500, 0, 0, 0, 0, 0, 0, UPST, 0, "5xx upstream" },
	{ "502", 502, 0, 0, 0, 0, 0, 0, UPST, 0, "5xx upstream" },
	{ "503+retry-after", 503, "5", 0, 0, 0, 0, 0, UPST, 0,
	  "5xx upstream" },
	{ "504", 504, 0, 0, 0, 0, 0, 0, UPST, 0, "5xx upstream" },
	{ "599", 599, 0, 0, 0, 0, 0, 0, UPST, 0, "5xx upstream" },
	{ "0", 0, 0, 0, 0, 0, 0, 0, UPST, 0, "no response" },
	{ "101", 101, 0, 0, 0, 0, 0, 0, UPST, 0, "unexpected status" },
	{ "302", 302, 0, 0, 0, 0, 0, 0, UPST, 0, "unexpected status" },
	{ "600", 600, 0, 0, 0, 0, 0, 0, UPST, 0, "unexpected status" },
	{ "-1", -1, 0, 0, 0, 0, 0, 0, UPST, 0, "unexpected status" },
};

static const struct vec bad_requests[] = {
	{ "400 API_KEY_INVALID", 400, 0, 0, 0, G_KEY400, 0, 0, AUTH, 0,
	  "400 invalid key" },
	{ "400 API_KEY_INVALID wrapped", 400, 0, 0, 0, "[" G_KEY400 "]", 0,
	  0, AUTH, 0, "400 invalid key" },
	{ "400 key expired (reason only)", 400, 0, 0, 0, G_EXPIRED400, 0,
	  0, AUTH, 0, "400 invalid key" },
	/* free text can echo the request: never a fact about the key */
	{ "400 key message only", 400, 0, 0, 0, G_MSGKEY400, 0, 0, CLNT, 0,
	  "client error" },
	/* region or tier: every key of the host alike */
	{ "400 FAILED_PRECONDITION", 400, 0, 0, 0, G_LOC400, 0, 0, CLNT, 0,
	  "400 precondition" },
	{ "400 FAILED_PRECONDITION wrapped", 400, 0, 0, 0, "[" G_LOC400 "]",
	  0, 0, CLNT, 0, "400 precondition" },
	{ "400 INVALID_ARGUMENT", 400, 0, 0, 0, G_ARG400, 0, 0, CLNT, 0,
	  "client error" },
	{ "400 openrouter", 400, 0, 0, 0, "{\"error\":{\"code\":400,"
	  "\"message\":\"bad params\"}}", 0, 0, CLNT, 0, "client error" },
	{ "400 key text, not JSON", 400, 0, 0, 0, "API_KEY_INVALID API key "
	  "not valid", 0, 0, CLNT, 0, "client error" },
	{ "400 reason outside error", 400, 0, 0, 0, "{\"details\":[{"
	  "\"reason\":\"API_KEY_INVALID\"}]}", 0, 0, CLNT, 0, "client error" },
	{ "404 with key body", 404, 0, 0, 0, G_KEY400, 0, 0, CLNT, 0,
	  "client error" },
	{ "400 per-day body", 400, 0, 0, 0, G429(G_DAY, "37s"), 0, 0, CLNT,
	  0, "client error" },
};

static const struct vec alone[] = {
	{ "retry-after-ms", 429, 0, "1500", 0, 0, 0, NOW + 1500, RATE, 0,
	  "429 retry-after-ms" },
	{ "retry-after-ms fraction up", 429, 0, "250.2", 0, 0, 0, NOW + 251,
	  RATE, 0, "429 retry-after-ms" },
	{ "retry-after-ms 0", 429, 0, "0", 0, 0, 0, NOW, RATE, 0,
	  "429 retry-after-ms" },
	{ "retry-after s", 429, "30", 0, 0, 0, 0, NOW + 30 * SEC, RATE, 0,
	  "429 retry-after" },
	{ "retry-after 0", 429, "0", 0, 0, 0, 0, NOW, RATE, 0,
	  "429 retry-after" },
	{ "retry-after OWS", 429, " \t7 ", 0, 0, 0, 0, NOW + 7 * SEC, RATE,
	  0, "429 retry-after" },
	{ "retry-after IMF date", 429, "Thu, 09 Oct 2025 08:55:20 GMT", 0,
	  0, 0, 0, NOW + 120 * SEC, RATE, 0, "429 retry-after" },
	{ "retry-after RFC 850 date", 429, "Thursday, 09-Oct-25 08:55:20 GMT",
	  0, 0, 0, 0, NOW + 120 * SEC, RATE, 0, "429 retry-after" },
	{ "retry-after asctime date", 429, "Thu Oct  9 08:55:20 2025", 0, 0,
	  0, 0, NOW + 120 * SEC, RATE, 0, "429 retry-after" },
	{ "retry-after past date -> now", 429,
	  "Sun, 06 Nov 1994 08:49:37 GMT", 0, 0, 0, 0, NOW, RATE, 0,
	  "429 retry-after" },
	{ "reset ms", 429, 0, 0, "1760000060000", 0, 0, NOW + 60 * SEC, RATE,
	  0, "429 ratelimit-reset" },
	{ "reset s", 429, 0, 0, "1760000060", 0, 0, NOW + 60 * SEC, RATE, 0,
	  "429 ratelimit-reset" },
	{ "reset == now", 429, 0, 0, "1760000000000", 0, 0, NOW, RATE, 0,
	  "429 ratelimit-reset" },
	{ "reset past ms", 429, 0, 0, "1759999999999", 0, 0, 0, RATE, 0,
	  "429 no hint" },
	{ "reset past s", 429, 0, 0, "1759999999", 0, 0, 0, RATE, 0,
	  "429 no hint" },
	{ "retry-info 37s", 429, 0, 0, 0, G429(G_MIN, "37s"), 0, NOW + 37 * SEC,
	  RATE, 0, "429 retry-info" },
	{ "retry-info 37s wrapped", 429, 0, 0, 0, "[" G429(G_MIN, "37s") "]",
	  0, NOW + 37 * SEC, RATE, 0, "429 retry-info" },
	{ "retry-info wrapped + ws", 429, 0, 0, 0, " [\n" G429(G_MIN, "37s")
	  "\n] ", 0, NOW + 37 * SEC, RATE, 0, "429 retry-info" },
	{ "retry-info 1.5s", 429, 0, 0, 0, G429(G_MIN, "1.5s"), 0, NOW + 1500,
	  RATE, 0, "429 retry-info" },
	{ "retry-info 0.250s", 429, 0, 0, 0, G429(G_MIN, "0.250s"), 0, NOW + 250,
	  RATE, 0, "429 retry-info" },
	{ "retry-info 45.8s", 429, 0, 0, 0, G429(G_MIN, "45.8s"), 0, NOW + 45800,
	  RATE, 0, "429 retry-info" },
	{ "retry-info 0.0001s up", 429, 0, 0, 0, G429(G_MIN, "0.0001s"), 0,
	  NOW + 1, RATE, 0, "429 retry-info" },
	{ "retry-info 12 decimals", 429, 0, 0, 0, G429(G_MIN,
	  "2.000000000999s"), 0, NOW + 2 * SEC, RATE, 0, "429 retry-info" },
	{ "retry-info input TPM", 429, 0, 0, 0, G429(G_TPM, "12s"), 0, NOW + 12 * SEC,
	  RATE, 0, "429 retry-info" },
	{ "body reset per-min", 429, 0, 0, 0, OR429(OR_MIN, "1760000030000"),
	  0, NOW + 30 * SEC, RATE, 0, "429 ratelimit-reset" },
	{ "body reset number", 429, 0, 0, 0, "{\"error\":{\"code\":429,"
	  "\"metadata\":{\"headers\":{\"X-RateLimit-Reset\":1760000030000}}}}",
	  0, NOW + 30 * SEC, RATE, 0, "429 ratelimit-reset" },
	{ "body reset lower-case name", 429, 0, 0, 0, "{\"error\":{"
	  "\"metadata\":{\"headers\":{\"x-ratelimit-reset\":\"1760000030\"}}}}",
	  0, NOW + 30 * SEC, RATE, 0, "429 ratelimit-reset" },
	{ "body reset past", 429, 0, 0, 0, OR429(OR_MIN, "1759999990000"), 0,
	  0, RATE, 0, "429 no hint" },
	{ "gemini bare exhausted", 429, 0, 0, 0, "{\"error\":{\"code\":429,"
	  "\"message\":\"Resource has been exhausted (e.g. check quota).\","
	  "\"status\":\"RESOURCE_EXHAUSTED\"}}", 0, 0, RATE, 0,
	  "429 no hint" },
	{ "openrouter provider error", 429, 0, 0, 0, "{\"error\":{\"code\":"
	  "429,\"message\":\"Provider returned error\",\"metadata\":{\"raw\":"
	  "\"{\\\"retryDelay\\\":\\\"5s\\\"}\",\"provider_name\":\"Google\"}}}",
	  0, 0, UPST, 0, "429 upstream provider" },
};

static const struct vec precedence[] = {
	{ "ms beats all", 429, "30", "1500", "1760000060000",
	  G429(G_MIN, "37s"), 0, NOW + 1500, RATE, 0, "429 retry-after-ms" },
	{ "retry-after beats reset, info", 429, "30", 0, "1760000060000",
	  G429(G_MIN, "37s"), 0, NOW + 30 * SEC, RATE, 0, "429 retry-after" },
	{ "precedence, not earliest", 429, "90", 0, "1760000060000", 0, 0,
	  NOW + 90 * SEC, RATE, 0, "429 retry-after" },
	{ "reset beats retry-info", 429, 0, 0, "1760000060000",
	  G429(G_MIN, "37s"), 0, NOW + 60 * SEC, RATE, 0,
	  "429 ratelimit-reset" },
	{ "header reset beats body reset", 429, 0, 0, "1760000060000",
	  OR429(OR_MIN, "1760000030000"), 0, NOW + 60 * SEC, RATE, 0,
	  "429 ratelimit-reset" },
	{ "retry-info beats body reset", 429, 0, 0, 0, "{\"error\":{"
	  "\"details\":[{\"retryDelay\":\"37s\"}],\"metadata\":{\"headers\":"
	  "{\"X-RateLimit-Reset\":\"1760000030000\"}}}}", 0, NOW + 37 * SEC,
	  RATE, 0, "429 retry-info" },
	{ "first retry-info wins", 429, 0, 0, 0, "{\"error\":{\"details\":["
	  "{\"retryDelay\":\"bad\"},{\"retryDelay\":\"4s\"},"
	  "{\"retryDelay\":\"9s\"}]}}", 0, NOW + 4 * SEC, RATE, 0,
	  "429 retry-info" },
	{ "bad ms falls to retry-after", 429, "5", "soon", 0, 0, 0, NOW + 5 * SEC,
	  RATE, 0, "429 retry-after" },
	{ "negative ms falls through", 429, "5", "-1", 0, 0, 0, NOW + 5 * SEC,
	  RATE, 0, "429 retry-after" },
	{ "bad retry-after falls to reset", 429, "tomorrow", "", "1760000060",
	  0, 0, NOW + 60 * SEC, RATE, 0, "429 ratelimit-reset" },
	{ "past reset falls to info", 429, 0, 0, "1700000000",
	  G429(G_MIN, "37s"), 0, NOW + 37 * SEC, RATE, 0, "429 retry-info" },
};

static const struct vec dailies[] = {
	{ "gemini per-day", 429, 0, 0, 0, G429(G_DAY, "20s"), 0, PAC_MID,
	  RATE, 1, "429 daily quota" },
	{ "gemini per-day wrapped", 429, 0, 0, 0, "[" G429(G_DAY, "20s") "]",
	  0, PAC_MID, RATE, 1, "429 daily quota" },
	{ "gemini per-day no delay", 429, 0, 0, 0, G429_NODELAY(G_DAY), 0,
	  PAC_MID, RATE, 1, "429 daily quota" },
	{ "gemini per-day later hint", 429, 0, "172800000", 0,
	  G429(G_DAY, "20s"), 0, NOW + 2 * DAY, RATE, 1, "429 daily quota" },
	{ "gemini per-day earlier hint", 429, "60", 0, 0, G429(G_DAY, "20s"),
	  0, PAC_MID, RATE, 1, "429 daily quota" },
	{ "gemini per-day later retry-info", 429, 0, 0, 0,
	  G429(G_DAY, "100000s"), 0, NOW + 100000 * SEC, RATE, 1,
	  "429 daily quota" },
	{ "gemini per-minute not daily", 429, 0, 0, 0, G429_NODELAY(G_MIN), 0,
	  0, RATE, 0, "429 no hint" },
	{ "gemini minute + day", 429, 0, 0, 0, "{\"error\":{\"details\":[{"
	  "\"violations\":[{\"quotaId\":\"" G_MIN "\"},{\"quotaId\":\"" G_DAY
	  "\"}]},{\"retryDelay\":\"37s\"}]}}", 0, PAC_MID, RATE, 1,
	  "429 daily quota" },
	{ "gemini per-day 2026-03-08 07:59:59Z", 429, 0, 0, 0,
	  G429_NODELAY(G_DAY), INT64_C(1772956799000), INT64_C(1772956800000),
	  RATE, 1, "429 daily quota" },
	{ "gemini per-day 2026-03-08 08:00Z", 429, 0, 0, 0,
	  G429_NODELAY(G_DAY), INT64_C(1772956800000), INT64_C(1773039600000),
	  RATE, 1, "429 daily quota" },
	{ "openrouter per-day (doc body)", 429, 0, 0, "1760054400000",
	  OR429(OR_DAY, "1760054400000"), 0, UTC_MID, RATE, 1,
	  "429 daily quota" },
	{ "openrouter per-day later reset", 429, 0, 0, 0,
	  OR429(OR_DAY, "1760140800000"), 0, UTC_MID + DAY, RATE, 1,
	  "429 daily quota" },
	{ "openrouter per-day earlier reset", 429, 0, 0, "1760000060000",
	  OR429(OR_DAY, "1760000060000"), 0, UTC_MID, RATE, 1,
	  "429 daily quota" },
	{ "openrouter per-day no reset", 429, 0, 0, 0, "{\"error\":{\"code\":"
	  "429,\"message\":\"" OR_DAY "\"}}", 0, UTC_MID, RATE, 1,
	  "429 daily quota" },
	{ "openrouter per-day high balance", 429, 0, 0, 0, "{\"error\":{"
	  "\"message\":\"Rate limit exceeded: free-models-per-day-high-"
	  "balance\"}}", 0, UTC_MID, RATE, 1, "429 daily quota" },
	{ "openrouter per-day wrapped", 429, 0, 0, 0,
	  "[" OR429(OR_DAY, "1760054400000") "]", 0, UTC_MID, RATE, 1,
	  "429 daily quota" },
	{ "openrouter per-min not daily", 429, 0, 0, "1760000060000",
	  OR429(OR_MIN, "1760000060000"), 0, NOW + 60 * SEC, RATE, 0,
	  "429 ratelimit-reset" },
};

static const struct vec garbage[] = {
	{ "huge ms -> 1 year", 429, 0, "99999999999999999999999999", 0, 0, 0,
	  NOW + YEAR, RATE, 0, "429 retry-after-ms" },
	{ "huge retry-after -> 1 year", 429, "99999999999999999999", 0, 0, 0,
	  0, NOW + YEAR, RATE, 0, "429 retry-after" },
	{ "year 9999 date -> 1 year", 429, "Fri, 31 Dec 9999 23:59:59 GMT", 0,
	  0, 0, 0, NOW + YEAR, RATE, 0, "429 retry-after" },
	{ "huge reset -> 1 year", 429, 0, 0, "99999999999999999999", 0, 0,
	  NOW + YEAR, RATE, 0, "429 ratelimit-reset" },
	{ "huge retry-info -> 1 year", 429, 0, 0, 0,
	  G429(G_MIN, "99999999999999999999.5s"), 0, NOW + YEAR, RATE, 0,
	  "429 retry-info" },
	{ "huge body reset number", 429, 0, 0, 0, "{\"error\":{\"metadata\":"
	  "{\"headers\":{\"X-RateLimit-Reset\":1e300}}}}", 0, NOW + YEAR,
	  RATE, 0, "429 ratelimit-reset" },
	{ "negative body reset number", 429, 0, 0, 0, "{\"error\":{"
	  "\"metadata\":{\"headers\":{\"X-RateLimit-Reset\":-5}}}}", 0, 0,
	  RATE, 0, "429 no hint" },
	{ "negatives ignored", 429, "-5", "-5", "-5", 0, 0, 0, RATE, 0,
	  "429 no hint" },
	{ "exponent", 429, "1e3", "1e3", "1e12", 0, 0, 0, RATE, 0,
	  "429 no hint" },
	{ "hex", 429, "0x10", "0x10", "0x1", 0, 0, 0, RATE, 0, "429 no hint" },
	{ "plus sign", 429, "+5", "+5", "+1760000060000", 0, 0, 0, RATE, 0,
	  "429 no hint" },
	{ "trailing junk", 429, "5s", "12abc", "1760000060000x", 0, 0, 0, RATE,
	  0, "429 no hint" },
	{ "inner space", 429, "1 0", "1 0", "1760 000060000", 0, 0, 0, RATE,
	  0, "429 no hint" },
	{ "dangling dot", 429, "1.", ".5", "1.e3", 0, 0, 0, RATE, 0,
	  "429 no hint" },
	{ "empty and blank", 429, "", " ", "\t", "", 0, 0, RATE, 0,
	  "429 no hint" },
	{ "retryDelay negative", 429, 0, 0, 0, G429(G_MIN, "-5s"), 0, 0, RATE,
	  0, "429 no hint" },
	{ "retryDelay s", 429, 0, 0, 0, G429(G_MIN, "s"), 0, 0, RATE, 0,
	  "429 no hint" },
	{ "retryDelay no unit", 429, 0, 0, 0, G429(G_MIN, "5"), 0, 0, RATE, 0,
	  "429 no hint" },
	{ "retryDelay ms unit", 429, 0, 0, 0, G429(G_MIN, "5ms"), 0, 0, RATE,
	  0, "429 no hint" },
	{ "retryDelay 5.s", 429, 0, 0, 0, G429(G_MIN, "5.s"), 0, 0, RATE, 0,
	  "429 no hint" },
	{ "retryDelay empty", 429, 0, 0, 0, G429(G_MIN, ""), 0, 0, RATE, 0,
	  "429 no hint" },
	{ "retryDelay number", 429, 0, 0, 0, "{\"error\":{\"details\":[{"
	  "\"retryDelay\":37}]}}", 0, 0, RATE, 0, "429 no hint" },
	{ "not JSON", 429, 0, 0, 0, "Too Many Requests", 0, 0, RATE, 0,
	  "429 no hint" },
	{ "JSON number", 429, 0, 0, 0, "42", 0, 0, RATE, 0, "429 no hint" },
	{ "JSON string", 429, 0, 0, 0, "\"37s\"", 0, 0, RATE, 0,
	  "429 no hint" },
	{ "JSON null", 429, 0, 0, 0, "null", 0, 0, RATE, 0, "429 no hint" },
	{ "empty array", 429, 0, 0, 0, "[]", 0, 0, RATE, 0, "429 no hint" },
	{ "array of number", 429, 0, 0, 0, "[1]", 0, 0, RATE, 0,
	  "429 no hint" },
	{ "array in array", 429, 0, 0, 0, "[[" G429(G_DAY, "37s") "]]", 0,
	  0, RATE, 0, "429 no hint" },
	{ "error is a string", 429, 0, 0, 0, "{\"error\":\"rate limited\"}",
	  0, 0, RATE, 0, "429 no hint" },
	{ "details not array", 429, 0, 0, 0, "{\"error\":{\"details\":"
	  "{\"retryDelay\":\"5s\"}}}", 0, 0, RATE, 0, "429 no hint" },
	{ "details of junk", 429, 0, 0, 0, "{\"error\":{\"details\":[1,\"x\","
	  "null,[],{\"violations\":\"PerDay\"},{\"violations\":[1,{\"quotaId\":"
	  "5},\"PerDay\"]},{\"reason\":7}],\"message\":5,\"status\":[]}}", 0,
	  0, RATE, 0, "429 no hint" },
	{ "metadata junk", 429, 0, 0, 0, "{\"error\":{\"metadata\":{"
	  "\"headers\":[\"X-RateLimit-Reset\"]}}}", 0, 0, RATE, 0,
	  "429 no hint" },
	{ "top-level hint only", 429, 0, 0, 0, "{\"retryDelay\":\"5s\","
	  "\"message\":\"free-models-per-day\"}", 0, 0, RATE, 0,
	  "429 no hint" },
	{ "now before 1970 clamps", 429, 0, "1000", 0, 0, INT64_C(-5), 1000,
	  RATE, 0, "429 retry-after-ms" },
};

/* Reason must be one of these, whatever the input. */
static const char *const vocabulary[] = {
	"ok", "429 retry-after-ms", "429 retry-after", "429 ratelimit-reset",
	"429 retry-info", "429 daily quota", "429 no hint",
	"401 unauthorized", "403 forbidden", "402 payment required",
	"400 invalid key", "400 precondition", "408 timeout",
	"401 key refused", "403 key blocked", "401 no key reason",
	"probe 401 unauthorized", "probe no credits", "probe key refused",
	"5xx upstream", "no response", "client error", "unexpected status",
	"429 upstream provider",
};

static int
in_vocabulary(const char *r)
{
	size_t i;

	for (i = 0; i < sizeof vocabulary / sizeof vocabulary[0]; i++)
		if (strcmp(r, vocabulary[i]) == 0)
			return 1;
	return 0;
}

/* Read body from an exact-size heap copy without a NUL, so the sanitizer
 * catches any read past body_len. */
static void
read_exact(struct px_hint_in *in, const char *body, size_t len,
    struct px_hint *out)
{
	char *copy = NULL;

	if (body != NULL && len > 0) {
		copy = malloc(len);
		if (copy == NULL)
			abort();
		memcpy(copy, body, len);
	}
	in->body = copy;
	in->body_len = len;
	px_hint_read(in, out);
	free(copy);
}

static void
check_out(const char *name, const struct px_hint *h, enum px_fault fault,
    int64_t until, int daily, const char *reason)
{
	int ok = h->fault == fault && h->until_ms == until &&
	    h->daily == daily && strcmp(h->reason, reason) == 0;

	if (!ok)
		printf("# %s: got %s until %" PRId64 " daily %d \"%s\"\n", name,
		    px_fault_name(h->fault), h->until_ms, h->daily, h->reason);
	T_CHECK(ok, name);
	T_CHECK(in_vocabulary(h->reason), name);
}

static void
run(const struct vec *v, size_t n)
{
	struct px_hint_in in;
	struct px_hint out;
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&in, 0, sizeof in);
		in.status = v[i].status;
		in.retry_after = v[i].ra;
		in.retry_after_ms = v[i].ram;
		in.ratelimit_reset = v[i].reset;
		in.now_ms = v[i].now != 0 ? v[i].now : NOW;
		read_exact(&in, v[i].body, v[i].body ? strlen(v[i].body) : 0,
		    &out);
		check_out(v[i].name, &out, v[i].fault, v[i].until,
		    v[i].daily, v[i].reason);
	}
}

/* --- bodies that are cut, oversized, absent, or hold secrets -------------- */

static void
test_body_edges(void)
{
	static const char g[] = G429(G_DAY, "37s");
	struct px_hint_in in;
	struct px_hint out;
	size_t big = 300 * 1024, i;
	char *p;

	memset(&in, 0, sizeof in);
	in.status = 429;
	in.now_ms = NOW;
	read_exact(&in, g, sizeof g - 1, &out);
	check_out("exact-size body", &out, RATE, PAC_MID, 1,
	    "429 daily quota");
	for (i = 1; i < sizeof g - 1; i += 7) {
		read_exact(&in, g, i, &out);
		check_out("truncated body", &out, RATE, 0, 0, "429 no hint");
	}
	in.body = NULL;
	in.body_len = 100;
	px_hint_read(&in, &out);
	check_out("NULL body, len 100", &out, RATE, 0, 0, "429 no hint");
	in.body = g;
	in.body_len = 0;
	px_hint_read(&in, &out);
	check_out("body, len 0", &out, RATE, 0, 0, "429 no hint");

	/* Valid JSON padded past the cap is not parsed at all. */
	p = malloc(big);
	if (p == NULL)
		abort();
	memset(p, ' ', big);
	memcpy(p, g, sizeof g - 1);
	in.body = p;
	in.body_len = big;
	px_hint_read(&in, &out);
	check_out("oversized body", &out, RATE, 0, 0, "429 no hint");
	in.body_len = 200 * 1024;
	px_hint_read(&in, &out);
	check_out("large body under cap", &out, RATE, PAC_MID, 1,
	    "429 daily quota");
	free(p);
}

static void
test_no_body_text(void)
{
	static const struct {
		int status;
		const char *body;
	} v[] = {
		{ 429, "{\"error\":{\"code\":429,\"message\":\"key "
		  "sk-or-v1-SECRETSECRET free-models-per-day\"}}" },
		{ 429, "[{\"error\":{\"message\":\"SECRETSECRET\",\"details\":"
		  "[{\"retryDelay\":\"SECRETSECRETs\"},{\"violations\":[{"
		  "\"quotaId\":\"SECRETSECRETPerDay\"}]}]}}]" },
		{ 400, "{\"error\":{\"message\":\"API key not valid: "
		  "AIzaSECRETSECRET\"}}" },
		{ 400, "{\"error\":{\"message\":\"SECRETSECRET\",\"status\":"
		  "\"FAILED_PRECONDITION SECRETSECRET\"}}" },
		{ 401, "{\"error\":{\"message\":\"SECRETSECRET\"}}" },
		{ 500, "SECRETSECRET" },
	};
	struct px_hint_in in;
	struct px_hint out;
	size_t i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		memset(&in, 0, sizeof in);
		in.status = v[i].status;
		in.now_ms = NOW;
		in.retry_after = "SECRETSECRET";
		read_exact(&in, v[i].body, strlen(v[i].body), &out);
		T_CHECK(strstr(out.reason, "SECRET") == NULL, "no body text");
		T_CHECK(in_vocabulary(out.reason), "secret body: vocabulary");
		T_CHECK(out.fault != NONE, "secret body: a fault");
	}
}

static void
test_null_args(void)
{
	struct px_hint_in in;
	struct px_hint out;

	memset(&out, 0x5a, sizeof out);
	px_hint_read(NULL, &out);
	check_out("NULL in", &out, UPST, 0, 0, "no response");
	memset(&in, 0, sizeof in);
	in.status = 429;
	px_hint_read(&in, NULL);	/* NULL out: no crash (ASan watches) */
}

/* --- HTTP dates ----------------------------------------------------------- */

static void
test_http_date(void)
{
	static const struct {
		const char *s;
		int64_t     ms;
	} v[] = {
		{ "Sun, 06 Nov 1994 08:49:37 GMT", INT64_C(784111777000) },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", INT64_C(784111777000) },
		{ "Sun Nov  6 08:49:37 1994", INT64_C(784111777000) },
		{ "Wed Nov 16 08:49:37 1994", INT64_C(784975777000) },
		{ "Sun Nov 06 08:49:37 1994", INT64_C(784111777000) },
		{ "  Sun, 06 Nov 1994 08:49:37 GMT\t", INT64_C(784111777000) },
		{ "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
		{ "Tue, 29 Feb 2000 00:00:00 GMT", INT64_C(951782400000) },
		{ "Thursday, 29-Feb-24 12:00:00 GMT", INT64_C(1709208000000) },
		{ "Tuesday, 31-Dec-69 23:59:59 GMT", INT64_C(3155759999000) },
		{ "Thursday, 01-Jan-70 00:00:00 GMT", 0 },
		{ "Fri, 31 Dec 9999 23:59:59 GMT", INT64_C(253402300799000) },
		{ "Sat, 31 Dec 2016 23:59:60 GMT", INT64_C(1483228800000) },
		{ "Thu, 09 Oct 2025 08:53:20 GMT", NOW },
		/* malformed */
		{ "Sun, 06 Foo 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 nov 1994 08:49:37 GMT", -1 },
		{ "sun, 06 Nov 1994 08:49:37 GMT", -1 },
		{ "Xyz, 06 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 32 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 31 Nov 1994 08:49:37 GMT", -1 },
		{ "Mon, 29 Feb 2100 00:00:00 GMT", -1 },
		{ "Sun, 00 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 24:00:00 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:60:00 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:49:61 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:49:37", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 UTC", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 GMTx", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT x", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT\n", -1 },
		{ "Sun, 6 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun 06 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun,  06 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 94 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 8:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:49:+7 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:49:3", -1 },
		{ "Sun, 06 Nov 1994 08-49-37 GMT", -1 },
		{ "Thu, 31 Dec 1969 23:59:59 GMT", -1 },
		{ "Sunday, 06 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06-Nov-94 08:49:37 GMT", -1 },
		{ "Sunday, 06-Nov-1994 08:49:37 GMT", -1 },
		{ "Sunday, 06-Nov-94 08:49:37", -1 },
		{ "Sunday, 31-Sep-94 08:49:37 GMT", -1 },
		{ "Sun Nov 6 08:49:37 1994", -1 },
		{ "Sun Nov  6 08:49:37 94", -1 },
		{ "Sun Nov  6 08:49:37 1994 GMT", -1 },
		{ "Sun Nov   6 08:49:37 1994", -1 },
		{ "Sun Nov  6 25:49:37 1994", -1 },
		{ "Sun Nov 31 08:49:37 1994", -1 },
		{ "Sun Nov  6 08:49:37 19944", -1 },
		{ "", -1 },
		{ "   ", -1 },
		{ "30", -1 },
		{ "GMT", -1 },
	};
	size_t i;
	char what[96];

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		snprintf(what, sizeof what, "http date \"%s\"", v[i].s);
		T_CHECK(px_hint_http_date(v[i].s) == v[i].ms, what);
	}
	T_CHECK(px_hint_http_date(NULL) == -1, "http date NULL");
}

/* --- daily resets --------------------------------------------------------- */

static void
test_pacific_table(void)
{
	static const struct {
		int64_t now, next;
	} v[] = {
		/* 2026-03-07T07:59:59.999Z (Mar 6 PST) -> Mar 7 08:00Z */
		{ INT64_C(1772870399999), INT64_C(1772870400000) },
		{ INT64_C(1772870400000), INT64_C(1772956800000) },
		/* DST starts Sun 2026-03-08: its midnight is still PST */
		{ INT64_C(1772956799000), INT64_C(1772956800000) },
		{ INT64_C(1772956799999), INT64_C(1772956800000) },
		{ INT64_C(1772956800000), INT64_C(1773039600000) },
		/* 10:00Z = 02:00 PST, the change itself */
		{ INT64_C(1772963999999), INT64_C(1773039600000) },
		{ INT64_C(1772964000000), INT64_C(1773039600000) },
		{ INT64_C(1773039599999), INT64_C(1773039600000) },
		{ INT64_C(1773039600000), INT64_C(1773126000000) },
		/* Sat 2026-10-31 PDT -> Sun Nov 1 00:00 PDT = 07:00Z */
		{ INT64_C(1793429999999), INT64_C(1793430000000) },
		{ INT64_C(1793430000000), INT64_C(1793516400000) },
		{ INT64_C(1793516399999), INT64_C(1793516400000) },
		/* DST ends Sun 2026-11-01 09:00Z; Nov 2 is PST (08:00Z) */
		{ INT64_C(1793516400000), INT64_C(1793606400000) },
		{ INT64_C(1793523599999), INT64_C(1793606400000) },
		{ INT64_C(1793523600000), INT64_C(1793606400000) },
		{ INT64_C(1793606399999), INT64_C(1793606400000) },
		{ INT64_C(1793606400000), INT64_C(1793692800000) },
		/* 2025: Mar 9 and Nov 2 */
		{ INT64_C(1741507199999), INT64_C(1741507200000) },
		{ INT64_C(1741507200000), INT64_C(1741590000000) },
		{ INT64_C(1762066799999), INT64_C(1762066800000) },
		{ INT64_C(1762066800000), INT64_C(1762156800000) },
		/* 2027: Mar 14 and Nov 7 */
		{ INT64_C(1805011199999), INT64_C(1805011200000) },
		{ INT64_C(1805011200000), INT64_C(1805094000000) },
		{ INT64_C(1825570799999), INT64_C(1825570800000) },
		{ INT64_C(1825570800000), INT64_C(1825660800000) },
		/* plain winter and summer days, the epoch, NOW */
		{ INT64_C(1735689600000), INT64_C(1735718400000) },
		{ INT64_C(1751328000000), INT64_C(1751353200000) },
		{ 0, INT64_C(28800000) },
		{ NOW, PAC_MID },
	};
	size_t i;
	char what[64];

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		snprintf(what, sizeof what, "pacific midnight after %" PRId64,
		    v[i].now);
		T_CHECK(px_hint_next_pacific_midnight(v[i].now) == v[i].next,
		    what);
	}
}

/*
 * Every 10 minutes of 2024-2028: the next Pacific midnight is strictly
 * ahead, at 07:00Z or 08:00Z, at most a local day (25 h) away, and moves
 * only by whole local days of 23, 24 or 25 h. Exactly 2 short and 2 long
 * days a year.
 */
static void
test_pacific_sweep(void)
{
	const int64_t from = INT64_C(1704067200000);	/* 2024-01-01Z */
	const int64_t to = INT64_C(1861920000000);	/* 2029-01-01Z */
	int64_t t, r, prev = -1, mod;
	int bad = 0, d23 = 0, d25 = 0, other = 0;

	for (t = from; t < to; t += 10 * 60 * SEC) {
		r = px_hint_next_pacific_midnight(t);
		mod = r % DAY;
		if (r <= t || r - t > 25 * HOUR ||
		    (mod != 7 * HOUR && mod != 8 * HOUR))
			bad++;
		if (prev >= 0 && r != prev) {
			if (r - prev == 23 * HOUR)
				d23++;
			else if (r - prev == 25 * HOUR)
				d25++;
			else if (r - prev != DAY)
				other++;
		}
		prev = r;
	}
	T_CHECK(bad == 0, "pacific sweep: ahead, 07/08Z, within 25 h");
	T_CHECK(other == 0, "pacific sweep: steps of 23/24/25 h");
	T_CHECK(d23 == 5 && d25 == 5, "pacific sweep: 5 springs, 5 falls");
}

static void
test_utc_midnight(void)
{
	static const struct {
		int64_t now, next;
	} v[] = {
		{ NOW, UTC_MID },
		{ UTC_MID - 1, UTC_MID },
		{ UTC_MID, UTC_MID + DAY },
		{ 0, DAY },
		{ -1, 0 },
		{ INT64_C(951782400000) - 1, INT64_C(951782400000) },
		{ INT64_C(951782400000), INT64_C(951868800000) },
	};
	size_t i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++)
		T_CHECK(px_hint_next_utc_midnight(v[i].now) == v[i].next,
		    "utc midnight");
	T_CHECK(px_hint_next_utc_midnight(INT64_MAX) > 0,
	    "utc midnight: no overflow");
	T_CHECK(px_hint_next_pacific_midnight(INT64_MAX) > 0,
	    "pacific midnight: no overflow");
	T_CHECK(px_hint_next_pacific_midnight(INT64_MIN) == INT64_C(28800000),
	    "pacific midnight: before 1970 clamps");
}

static void
test_fault_names(void)
{
	T_STREQ(px_fault_name(PX_FAULT_NONE), "none", "name none");
	T_STREQ(px_fault_name(PX_FAULT_RATE), "rate", "name rate");
	T_STREQ(px_fault_name(PX_FAULT_AUTH), "auth", "name auth");
	T_STREQ(px_fault_name(PX_FAULT_UPSTREAM), "upstream", "name upstream");
	T_STREQ(px_fault_name(PX_FAULT_CLIENT), "client", "name client");
	T_STREQ(px_fault_name(PX_FAULT__MAX), "unknown", "name out of range");
}

/* OpenRouter's 429 "Provider returned error" is the model host's limit:
 * an upstream fault, not the key's (provider-apis.md §2.3). */
static void
test_provider_429(void)
{
	static const char body[] = "{\"error\":{\"code\":429,\"message\":"
	    "\"Provider returned error\",\"metadata\":{\"provider_name\":"
	    "\"X\",\"raw\":\"busy\"}}}";
	struct px_hint_in in;
	struct px_hint h;

	memset(&in, 0, sizeof(in));
	in.provider = PX_PROV_OPENROUTER;
	in.status = 429;
	in.retry_after = "";
	in.body = body;
	in.body_len = sizeof(body) - 1;
	in.now_ms = 1800000000000;
	px_hint_read(&in, &h);
	T_CHECK(h.fault == PX_FAULT_UPSTREAM, "provider 429 is upstream");
	T_STREQ(h.reason, "429 upstream provider", "provider 429 reason");
	in.body = "{\"error\":{\"code\":429,\"message\":\"Rate limit\"}}";
	in.body_len = strlen(in.body);
	px_hint_read(&in, &h);
	T_CHECK(h.fault == PX_FAULT_RATE, "a plain 429 stays the key's");
}

#define RUN(tab) run((tab), sizeof (tab) / sizeof (tab)[0])

/* --- key facts (issue 9, M1) ------------------------------------------------ */

/* A Google error with one ErrorInfo reason. */
#define G_REASON(CODE, STATUS, REASON)					\
	"{\"error\":{\"code\":" CODE ",\"message\":\"x\",\"status\":\""	\
	STATUS "\",\"details\":[{\"@type\":\"type.googleapis.com/google." \
	"rpc.ErrorInfo\",\"reason\":\"" REASON "\"}]}}"

struct keyvec {
	const char         *name;
	enum px_provider_id prov;
	int                 status;
	const char         *body;
	enum px_fault       fault;
	int                 probe;
	const char         *reason;
};

static const struct keyvec keyfacts[] = {
	/* OpenRouter echoes the model: a model named like a key error */
	{ "OR 400 echoing the model", PX_PROV_OPENROUTER, 400,
	  "{\"error\":{\"message\":\"API key not valid. Please pass a valid "
	  "API key. is not a valid model ID\",\"code\":400}}", CLNT, 0,
	  "client error" },
	{ "Gemini 400 echoing the model", PX_PROV_GEMINI, 400,
	  "[{\"error\":{\"code\":400,\"message\":\"* GenerateContentRequest."
	  "model: API key not valid. API_KEY_INVALID\",\"status\":"
	  "\"INVALID_ARGUMENT\"}}]", CLNT, 0, "client error" },
	{ "reason as a substring only", PX_PROV_GEMINI, 400,
	  G_REASON("400", "INVALID_ARGUMENT", "NOT_API_KEY_INVALID"), CLNT, 0,
	  "client error" },
	{ "OR 401", PX_PROV_OPENROUTER, 401,
	  "{\"error\":{\"message\":\"User not found.\",\"code\":401}}", AUTH, 0,
	  "401 unauthorized" },
	{ "OR 402 credits", PX_PROV_OPENROUTER, 402,
	  "{\"error\":{\"message\":\"Insufficient credits\",\"code\":402}}",
	  CLNT, 1, "402 payment required" },
	{ "OR 403 moderation", PX_PROV_OPENROUTER, 403,
	  "{\"error\":{\"message\":\"flagged\",\"code\":403,\"metadata\":{"
	  "\"reasons\":[\"violence\"]}}}", CLNT, 1, "403 forbidden" },
	{ "Gemini 401 ACCESS_TOKEN_TYPE_UNSUPPORTED", PX_PROV_GEMINI, 401,
	  G_REASON("401", "UNAUTHENTICATED", "ACCESS_TOKEN_TYPE_UNSUPPORTED"),
	  AUTH, 0, "401 key refused" },
	{ "Gemini 401 CREDENTIALS_MISSING wrapped", PX_PROV_GEMINI, 401,
	  "[" G_REASON("401", "UNAUTHENTICATED", "CREDENTIALS_MISSING") "]",
	  AUTH, 0, "401 key refused" },
	{ "Gemini 401 without a reason", PX_PROV_GEMINI, 401,
	  "{\"error\":{\"code\":401,\"message\":\"API key not valid\","
	  "\"status\":\"UNAUTHENTICATED\"}}", UPST, 0, "401 no key reason" },
	{ "Gemini 403 API_KEY_SERVICE_BLOCKED", PX_PROV_GEMINI, 403,
	  G_REASON("403", "PERMISSION_DENIED", "API_KEY_SERVICE_BLOCKED"),
	  AUTH, 0, "403 key blocked" },
	{ "Gemini 403 leaked (message only)", PX_PROV_GEMINI, 403,
	  "{\"error\":{\"code\":403,\"message\":\"Your API key was reported "
	  "as leaked. Please use another API key.\",\"status\":"
	  "\"PERMISSION_DENIED\"}}", CLNT, 1, "403 forbidden" },
	{ "Gemini 400 API_KEY_INVALID", PX_PROV_GEMINI, 400, G_KEY400, AUTH,
	  0, "400 invalid key" },
};

static void
test_key_facts(void)
{
	struct px_hint_in in;
	struct px_hint out;
	size_t i;

	for (i = 0; i < sizeof keyfacts / sizeof keyfacts[0]; i++) {
		const struct keyvec *v = &keyfacts[i];

		memset(&in, 0, sizeof in);
		in.provider = v->prov;
		in.status = v->status;
		in.now_ms = NOW;
		read_exact(&in, v->body, strlen(v->body), &out);
		check_out(v->name, &out, v->fault, 0, 0, v->reason);
		T_CHECK(out.probe == v->probe, v->name);
	}
}

struct probevec {
	const char         *name;
	enum px_provider_id prov;
	int                 status;
	const char         *body;
	int                 bad;
	const char         *reason;
};

static const struct probevec probes[] = {
	{ "OR key alive", PX_PROV_OPENROUTER, 200, "{\"data\":{\"label\":"
	  "\"sk-or-v1-au7...890\",\"limit\":null,\"limit_remaining\":null}}",
	  0, "" },
	{ "OR key with credits", PX_PROV_OPENROUTER, 200, "{\"data\":{"
	  "\"limit\":100,\"limit_remaining\":74.5}}", 0, "" },
	{ "OR key without credits", PX_PROV_OPENROUTER, 200, "{\"data\":{"
	  "\"limit\":100,\"limit_remaining\":0}}", 1, "probe no credits" },
	{ "OR key unknown", PX_PROV_OPENROUTER, 401, "{\"error\":{\"message\":"
	  "\"User not found.\",\"code\":401}}", 1, "probe 401 unauthorized" },
	{ "OR probe 500", PX_PROV_OPENROUTER, 500, "oops", 0, "" },
	{ "OR probe 429", PX_PROV_OPENROUTER, 429, "{}", 0, "" },
	{ "Gemini models listed", PX_PROV_GEMINI, 200, "{\"data\":[]}", 0, "" },
	{ "Gemini key invalid", PX_PROV_GEMINI, 400, "[" G_KEY400 "]", 1,
	  "probe key refused" },
	{ "Gemini 403 without reason", PX_PROV_GEMINI, 403,
	  "{\"error\":{\"code\":403,\"status\":\"PERMISSION_DENIED\"}}", 0, "" },
	{ "Gemini 403 blocked key", PX_PROV_GEMINI, 403,
	  G_REASON("403", "PERMISSION_DENIED", "CONSUMER_SUSPENDED"), 1,
	  "probe key refused" },
};

static void
test_probe(void)
{
	struct px_hint_in in;
	struct px_hint out;
	size_t i;

	for (i = 0; i < sizeof probes / sizeof probes[0]; i++) {
		const struct probevec *v = &probes[i];
		int bad;

		memset(&in, 0, sizeof in);
		in.provider = v->prov;
		in.status = v->status;
		in.body = v->body;
		in.body_len = strlen(v->body);
		in.now_ms = NOW;
		bad = px_hint_probe(&in, &out);
		T_CHECK(bad == v->bad, v->name);
		T_CHECK(bad ? out.fault == AUTH : out.fault == NONE, v->name);
		T_STREQ(out.reason, v->reason, v->name);
	}
	T_CHECK(px_hint_probe(NULL, &out) == 0, "probe NULL input");
}

int
main(void)
{
	RUN(statuses);
	RUN(bad_requests);
	RUN(alone);
	RUN(precedence);
	RUN(dailies);
	RUN(garbage);
	test_body_edges();
	test_no_body_text();
	test_null_args();
	test_http_date();
	test_pacific_table();
	test_pacific_sweep();
	test_utc_midnight();
	test_fault_names();
	test_provider_429();
	test_key_facts();
	test_probe();
	return t_done();
}
