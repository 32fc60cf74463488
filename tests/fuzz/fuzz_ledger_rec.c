/*
 * fuzz_ledger_rec.c -- libFuzzer target for the decoders and encoders of
 * the ledger's small records (common/ledger_rec.h): health, provider
 * back-off, model marks, cursor, calendar day, leases, client totals.
 * Owns: the checks below; never writes a record anywhere.
 * Input: byte 0 picks the record kind (modulo 7, in the order above); the
 * rest is the stored bytes (libFuzzer's exact-size buffer, so a read past
 * them is an ASan error). Encoders write into exact-size buffers of the
 * header's *_MAXBYTES.
 * Checks: decode gives 0 or -1; -1 leaves the record zero (leases: n 0;
 * cursor: UINT32_MAX unless 4 bytes); 0 gives a record within the
 * header's bounds (state a key state, ring position < 16, marks <= 8,
 * leases <= 1000, texts terminated and shorter than their arrays), and
 * decode(encode(r)) is r again, field by field (texts as C strings,
 * daily as a flag: the encoder stores 0/1), and encoding that gives the
 * same bytes. Fixed-layout records (calendar, leases, totals, cursor)
 * also encode to exactly the input bytes.
 */
#include "ledger_rec.h"

#include "fuzz_util.h"

/* A decoded record and its stored form, per kind. */
enum kind { K_HEALTH, K_PROV, K_MARKS, K_CURSOR, K_CAL, K_LEASES, K_TOTALS,
	K__MAX };

union rec {
	struct px_health h;
	struct px_provrec p;
	struct px_entrec e;
	uint32_t c;
	struct px_calrec cal;
	struct px_leases l;
	struct px_totals t;
};

static const size_t maxbytes[K__MAX] = {
	[K_HEALTH] = PX_HEALTH_MAXBYTES, [K_PROV] = PX_PROVREC_MAXBYTES,
	[K_MARKS] = PX_ENTREC_MAXBYTES, [K_CURSOR] = 4,
	[K_CAL] = PX_CALREC_BYTES, [K_LEASES] = PX_LEASES_MAXBYTES,
	[K_TOTALS] = PX_TOTALS_BYTES,
};

static const size_t size_of[K__MAX] = {
	[K_HEALTH] = sizeof(struct px_health),
	[K_PROV] = sizeof(struct px_provrec),
	[K_MARKS] = sizeof(struct px_entrec), [K_CURSOR] = sizeof(uint32_t),
	[K_CAL] = sizeof(struct px_calrec),
	[K_LEASES] = sizeof(struct px_leases),
	[K_TOTALS] = sizeof(struct px_totals),
};

static int
decode(enum kind k, union rec *r, const void *p, size_t len)
{
	switch (k) {
	case K_HEALTH: return px_health_decode(&r->h, p, len);
	case K_PROV:   return px_provrec_decode(&r->p, p, len);
	case K_MARKS:  return px_entrec_decode(&r->e, p, len);
	case K_CAL:    return px_calrec_decode(&r->cal, p, len);
	case K_LEASES: return px_leases_decode(&r->l, p, len);
	case K_TOTALS: return px_totals_decode(&r->t, p, len);
	default:
		r->c = px_cursor_decode(p, len);
		return len == 4 ? 0 : -1;
	}
}

static size_t
encode(enum kind k, const union rec *r, unsigned char *out)
{
	switch (k) {
	case K_HEALTH: return px_health_encode(&r->h, out);
	case K_PROV:   return px_provrec_encode(&r->p, out);
	case K_MARKS:  return px_entrec_encode(&r->e, out);
	case K_CAL:    return px_calrec_encode(&r->cal, out);
	case K_LEASES: return px_leases_encode(&r->l, out);
	case K_TOTALS: return px_totals_encode(&r->t, out);
	default:
		px_cursor_encode(r->c, out);
		return 4;
	}
}

static int
text_ok(const char *s, size_t cap)
{
	return strnlen(s, cap) < cap;
}

/* A refused record, or none (len 0), reads as zero. */
static void
check_zero(enum kind k, const union rec *r)
{
	static const union rec zero;

	if (k == K_CURSOR)
		FZ_CHECK(r->c == UINT32_MAX, "a damaged cursor is UINT32_MAX");
	else if (k == K_LEASES)
		FZ_CHECK(r->l.n == 0, "refused leases: none");
	else
		FZ_CHECK(memcmp(r, &zero, size_of[k]) == 0,
		    "a refused or absent record is zero");
}

/* A decoded record is within the header's bounds. */
static void
check_bounds(enum kind k, const union rec *r)
{
	uint32_t i;

	if (k == K_HEALTH)
		FZ_CHECK(r->h.state <= PX_KEY_DISABLED &&
		    text_ok(r->h.reason, PX_REASON_MAX), "health in bounds");
	if (k == K_PROV)
		FZ_CHECK(r->p.next < PX_RECENT_429 &&
		    text_ok(r->p.reason, PX_REASON_MAX), "provider in bounds");
	if (k == K_MARKS) {
		FZ_CHECK(r->e.n <= PX_ENT_SLOTS, "at most 8 marks");
		for (i = 0; i < r->e.n; i++)
			FZ_CHECK(text_ok(r->e.e[i].model, PX_ENT_MODEL),
			    "a model name terminated");
	}
	if (k == K_LEASES)
		FZ_CHECK(r->l.n <= PX_LEASES_MAX, "at most 1000 leases");
}

static int
same_health(const struct px_health *a, const struct px_health *b)
{
	return a->state == b->state && !a->daily == !b->daily &&
	    a->strikes == b->strikes && a->cool_until_ms == b->cool_until_ms &&
	    a->probe_at_ms == b->probe_at_ms &&
	    a->probe_lease_ms == b->probe_lease_ms &&
	    a->life_requests == b->life_requests &&
	    a->life_tokens == b->life_tokens &&
	    a->life_errors == b->life_errors &&
	    strcmp(a->reason, b->reason) == 0;
}

static int
same_prov(const struct px_provrec *a, const struct px_provrec *b)
{
	unsigned i;

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

static int
same_marks(const struct px_entrec *a, const struct px_entrec *b)
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

static int
same_leases(const struct px_leases *a, const struct px_leases *b)
{
	uint32_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->e[i].id != b->e[i].id ||
		    a->e[i].expires_ms != b->e[i].expires_ms)
			return 0;
	return 1;
}

/* The same record, field by field (texts as strings, daily a flag). */
static int
same(enum kind k, const union rec *a, const union rec *b)
{
	switch (k) {
	case K_HEALTH: return same_health(&a->h, &b->h);
	case K_PROV:   return same_prov(&a->p, &b->p);
	case K_MARKS:  return same_marks(&a->e, &b->e);
	case K_CAL:    return a->cal.day_start == b->cal.day_start &&
		    a->cal.count == b->cal.count;
	case K_LEASES: return same_leases(&a->l, &b->l);
	case K_TOTALS: return a->t.requests == b->t.requests &&
		    a->t.tokens == b->t.tokens;
	default:       return a->c == b->c;
	}
}

/* Encode into an exact-size buffer of the kind's maximum (freed by the
 * caller); *n the length written. */
static unsigned char *
encode_new(enum kind k, const union rec *r, size_t *n)
{
	unsigned char *out = malloc(maxbytes[k]);

	if (out == NULL)
		abort();
	*n = encode(k, r, out);
	FZ_CHECK(*n > 0 && *n <= maxbytes[k], "within *_MAXBYTES");
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union rec r1, r2;
	enum kind k;
	unsigned char *e1, *e2;
	size_t n1, n2, len;

	if (size < 1)
		return 0;
	k = (enum kind)(data[0] % K__MAX);
	len = size - 1;
	memset(&r1, 0xA5, sizeof(r1));	/* so "left zero" means written */
	if (decode(k, &r1, data + 1, len) != 0 || len == 0) {
		check_zero(k, &r1);
		return 0;
	}
	check_bounds(k, &r1);
	e1 = encode_new(k, &r1, &n1);
	if (len > 0 && (k == K_CAL || k == K_LEASES || k == K_TOTALS ||
	    k == K_CURSOR) && (n1 != len || memcmp(e1, data + 1, len) != 0))
		__builtin_trap();	/* a fixed layout: the same bytes */
	FZ_CHECK(decode(k, &r2, e1, n1) == 0, "an encoded record decodes");
	if (!same(k, &r1, &r2))
		__builtin_trap();	/* decode(encode(r)) != r */
	e2 = encode_new(k, &r2, &n2);
	if (n1 != n2 || memcmp(e1, e2, n1) != 0)
		__builtin_trap();	/* encode(decode(e)) != e */
	free(e1);
	free(e2);
	return 0;
}
