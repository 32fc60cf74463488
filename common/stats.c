/*
 * stats.c -- the counter layout, the per-process accumulator and the
 * stats record's encoding (stats.h).
 * Never: I/O or locks. Request threads add with relaxed atomics; the
 * maintenance call swaps each counter to zero when it flushes, so an add
 * racing a flush lands in this flush or the next, never nowhere.
 */
#include "stats.h"

#include <stdatomic.h>
#include <string.h>

#include "le.h"

const uint64_t px_st_up_le_us[PX_ST_UP_BUCKETS] = {
	5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
	5000000, 10000000, 30000000, 60000000,
};
const uint64_t px_st_oh_le_us[PX_ST_OH_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
};

static _Atomic uint64_t acc[PX_ST_N];

static int
status_class(int status)
{
	if (status >= 200 && status < 300)
		return 0;
	if (status >= 300 && status < 400)
		return 1;
	if (status >= 400 && status < 500)
		return 2;
	return 3;
}

size_t
px_st_req(enum px_st_route r, int prov, int status)
{
	if ((unsigned)r >= PX_ST_ROUTE__MAX)
		r = PX_ST_OTHER;
	if (prov < 0 || prov >= PX_ST_PROVS)
		prov = 0;
	return PX_ST_REQ_OFF + ((size_t)r * PX_ST_PROVS + (size_t)prov) *
	    PX_ST_CLASSES + (size_t)status_class(status);
}

size_t
px_st_att(int prov, enum px_st_attempt a)
{
	if (prov < 0 || prov >= PX_ST_PROVS)
		prov = 0;
	if ((unsigned)a >= PX_ST_ATT__MAX)
		a = PX_ST_ATT_UPSTREAM_5XX;
	return PX_ST_ATT_OFF + (size_t)prov * PX_ST_ATT__MAX + (size_t)a;
}

size_t
px_st_lim(int limit)
{
	if (limit < 0 || limit >= PX_ST_LIMITS)
		limit = 0;
	return PX_ST_LIM_OFF + (size_t)limit;
}

size_t
px_st_up(int prov)
{
	if (prov < 0 || prov >= PX_ST_PROVS)
		prov = 0;
	return PX_ST_UP_OFF + (size_t)prov * PX_ST_UP_STRIDE;
}

size_t
px_st_oh(void)
{
	return PX_ST_OH_OFF;
}

const char *
px_st_route_name(enum px_st_route r)
{
	static const char *const n[PX_ST_ROUTE__MAX] = {
		"chat/completions", "responses", "messages",
		"messages/count_tokens", "embeddings", "models", "usage",
		"metrics", "page", "other",
	};

	return (unsigned)r < PX_ST_ROUTE__MAX ? n[r] : "other";
}

const char *
px_st_dialect_name(enum px_st_route r)
{
	if (r == PX_ST_RESPONSES)
		return "responses";
	if (r == PX_ST_MESSAGES || r == PX_ST_COUNT_TOKENS)
		return "messages";
	return "chat";
}

const char *
px_st_attempt_name(enum px_st_attempt a)
{
	static const char *const n[PX_ST_ATT__MAX] = {
		"ok", "rate_limited", "auth", "upstream_5xx", "timeout",
		"connect", "client_4xx",
	};

	return (unsigned)a < PX_ST_ATT__MAX ? n[a] : "upstream_5xx";
}

const char *
px_st_prov_name(int prov)
{
	if (prov <= 0 || prov >= PX_ST_PROVS)
		return "none";
	return px_provider_name((enum px_provider_id)(prov - 1));
}

void
px_stats_add(size_t idx, uint64_t n)
{
	if (idx < PX_ST_N)
		atomic_fetch_add_explicit(&acc[idx], n, memory_order_relaxed);
}

void
px_stats_observe(size_t base, const uint64_t *le, size_t nb, uint64_t us)
{
	size_t i = 0;

	while (i < nb && us > le[i])
		i++;
	px_stats_add(base + i, 1);	/* i == nb: the +Inf bucket */
	px_stats_add(base + nb + 1, us);
	px_stats_add(base + nb + 2, 1);
}

int
px_stats_take(uint64_t delta[PX_ST_N])
{
	int any = 0;
	size_t i;

	for (i = 0; i < PX_ST_N; i++) {
		delta[i] = atomic_exchange_explicit(&acc[i], 0,
		    memory_order_relaxed);
		any |= delta[i] != 0;
	}
	return any;
}

void
px_stats_return(const uint64_t delta[PX_ST_N])
{
	size_t i;

	for (i = 0; i < PX_ST_N; i++)
		if (delta[i] != 0)
			px_stats_add(i, delta[i]);
}

size_t
px_stats_encode(const uint64_t v[PX_ST_N], unsigned char *out)
{
	size_t i;

	out[0] = 'S';
	out[1] = 1;
	px_le_put32(out + 2, PX_ST_N);
	for (i = 0; i < PX_ST_N; i++)
		px_le_put64(out + 6 + 8 * i, v[i]);
	return 6 + 8 * (size_t)PX_ST_N;
}

int
px_stats_decode(const unsigned char *p, size_t n, uint64_t v[PX_ST_N])
{
	uint32_t cnt;
	size_t i;

	memset(v, 0, sizeof(uint64_t) * PX_ST_N);
	if (n == 0)
		return 0;		/* no record yet: all zero */
	if (n < 6 || p[0] != 'S' || p[1] != 1)
		return -1;
	cnt = px_le_get32(p + 2);
	if ((size_t)cnt > (n - 6) / 8)
		return -1;
	for (i = 0; i < cnt && i < PX_ST_N; i++)
		v[i] = px_le_get64(p + 6 + 8 * i);
	return 0;
}
