/*
 * ledger_rec.c -- encoders and decoders of the ledger's small records
 * (ledger_rec.h for the layouts).
 * Never: trusts a length or count read from stored bytes before checking
 * it against the bytes actually there.
 */
#include "ledger_rec.h"

#include <string.h>

#include "le.h"

#define REC_VERSION 1

/* Length-prefixed text: u8 len, bytes. */
static size_t
put_text(unsigned char *out, const char *s, size_t max)
{
	size_t n = strnlen(s, max - 1);

	out[0] = (unsigned char)n;
	memcpy(out + 1, s, n);
	return 1 + n;
}

/* Text at p (limit bytes left) into dst[max]; bytes used, 0 if short. */
static size_t
get_text(char *dst, size_t max, const unsigned char *p, size_t left)
{
	size_t n;

	if (left < 1)
		return 0;
	n = p[0];
	if (n >= max || n + 1 > left)
		return 0;
	memcpy(dst, p + 1, n);
	dst[n] = '\0';
	return 1 + n;
}

void
px_rec_set_reason(char *dst, const char *why)
{
	size_t n = why != NULL ? strnlen(why, PX_REASON_MAX - 1) : 0;

	memcpy(dst, why != NULL ? why : "", n);
	dst[n] = '\0';
}

size_t
px_health_encode(const struct px_health *h, unsigned char *out)
{
	out[0] = 'h';
	out[1] = REC_VERSION;
	out[2] = (unsigned char)h->state;
	out[3] = (unsigned char)(h->daily != 0);
	px_le_put32(out + 4, h->strikes);
	px_le_put64(out + 8, (uint64_t)h->cool_until_ms);
	px_le_put64(out + 16, (uint64_t)h->probe_at_ms);
	px_le_put64(out + 24, (uint64_t)h->probe_lease_ms);
	px_le_put64(out + 32, h->life_requests);
	px_le_put64(out + 40, h->life_tokens);
	px_le_put64(out + 48, h->life_errors);
	return 56 + put_text(out + 56, h->reason, PX_REASON_MAX);
}

int
px_health_decode(struct px_health *h, const void *p, size_t len)
{
	const unsigned char *b = p;

	memset(h, 0, sizeof(*h));
	if (len == 0)
		return 0;
	if (len < 57 || b[0] != 'h' || b[1] != REC_VERSION ||
	    b[2] > PX_KEY_DISABLED ||
	    get_text(h->reason, PX_REASON_MAX, b + 56, len - 56) !=
	    len - 56) {
		memset(h, 0, sizeof(*h));
		return -1;
	}
	h->state = b[2];
	h->daily = b[3];
	h->strikes = px_le_get32(b + 4);
	h->cool_until_ms = (int64_t)px_le_get64(b + 8);
	h->probe_at_ms = (int64_t)px_le_get64(b + 16);
	h->probe_lease_ms = (int64_t)px_le_get64(b + 24);
	h->life_requests = px_le_get64(b + 32);
	h->life_tokens = px_le_get64(b + 40);
	h->life_errors = px_le_get64(b + 48);
	return 0;
}

#define PROV_FIXED (16 + 12 * PX_RECENT_429)

size_t
px_provrec_encode(const struct px_provrec *r, unsigned char *out)
{
	size_t i;

	out[0] = 'p';
	out[1] = REC_VERSION;
	out[2] = (unsigned char)(r->next % PX_RECENT_429);
	out[3] = 0;
	px_le_put32(out + 4, r->strikes);
	px_le_put64(out + 8, (uint64_t)r->backoff_until_ms);
	for (i = 0; i < PX_RECENT_429; i++) {
		px_le_put64(out + 16 + 12 * i, (uint64_t)r->recent[i].t);
		px_le_put32(out + 24 + 12 * i, r->recent[i].key);
	}
	return PROV_FIXED + put_text(out + PROV_FIXED, r->reason,
	    PX_REASON_MAX);
}

int
px_provrec_decode(struct px_provrec *r, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (len == 0)
		return 0;
	if (len < PROV_FIXED + 1 || b[0] != 'p' || b[1] != REC_VERSION ||
	    b[2] >= PX_RECENT_429 ||
	    get_text(r->reason, PX_REASON_MAX, b + PROV_FIXED,
	    len - PROV_FIXED) != len - PROV_FIXED) {
		memset(r, 0, sizeof(*r));
		return -1;
	}
	r->next = b[2];
	r->strikes = px_le_get32(b + 4);
	r->backoff_until_ms = (int64_t)px_le_get64(b + 8);
	for (i = 0; i < PX_RECENT_429; i++) {
		r->recent[i].t = (int64_t)px_le_get64(b + 16 + 12 * i);
		r->recent[i].key = px_le_get32(b + 24 + 12 * i);
	}
	return 0;
}

size_t
px_entrec_encode(const struct px_entrec *r, unsigned char *out)
{
	size_t i, at = 3, n = r->n < PX_ENT_SLOTS ? r->n : PX_ENT_SLOTS;

	out[0] = 'e';
	out[1] = REC_VERSION;
	out[2] = (unsigned char)n;
	for (i = 0; i < n; i++) {
		px_le_put64(out + at, (uint64_t)r->e[i].until_ms);
		at += 8;
		at += put_text(out + at, r->e[i].model, PX_ENT_MODEL);
	}
	return at;
}

int
px_entrec_decode(struct px_entrec *r, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i, at = 3, used;

	memset(r, 0, sizeof(*r));
	if (len == 0)
		return 0;
	if (len < 3 || b[0] != 'e' || b[1] != REC_VERSION ||
	    b[2] > PX_ENT_SLOTS)
		goto bad;
	for (i = 0; i < b[2]; i++) {
		if (len - at < 9)
			goto bad;
		r->e[i].until_ms = (int64_t)px_le_get64(b + at);
		at += 8;
		used = get_text(r->e[i].model, PX_ENT_MODEL, b + at, len - at);
		if (used == 0)
			goto bad;
		at += used;
	}
	if (at != len)
		goto bad;
	r->n = b[2];
	return 0;
bad:
	memset(r, 0, sizeof(*r));
	return -1;
}

size_t
px_calrec_encode(const struct px_calrec *r, unsigned char *out)
{
	out[0] = 'c';
	out[1] = REC_VERSION;
	px_le_put64(out + 2, (uint64_t)r->day_start);
	px_le_put64(out + 10, r->count);
	return PX_CALREC_BYTES;
}

int
px_calrec_decode(struct px_calrec *r, const void *p, size_t len)
{
	const unsigned char *b = p;

	memset(r, 0, sizeof(*r));
	if (len == 0)
		return 0;
	if (len != PX_CALREC_BYTES || b[0] != 'c' || b[1] != REC_VERSION)
		return -1;
	r->day_start = (int64_t)px_le_get64(b + 2);
	r->count = px_le_get64(b + 10);
	return 0;
}

size_t
px_leases_encode(const struct px_leases *r, unsigned char *out)
{
	size_t i, n = r->n < PX_LEASES_MAX ? r->n : PX_LEASES_MAX;

	out[0] = 'l';
	out[1] = REC_VERSION;
	px_le_put16(out + 2, (uint16_t)n);
	for (i = 0; i < n; i++) {
		px_le_put64(out + 4 + 16 * i, r->e[i].id);
		px_le_put64(out + 12 + 16 * i, (uint64_t)r->e[i].expires_ms);
	}
	return 4 + 16 * n;
}

int
px_leases_decode(struct px_leases *r, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i, n;

	r->n = 0;
	if (len == 0)
		return 0;
	if (len < 4 || b[0] != 'l' || b[1] != REC_VERSION)
		return -1;
	n = px_le_get16(b + 2);
	if (n > PX_LEASES_MAX || len != 4 + 16 * n)
		return -1;
	for (i = 0; i < n; i++) {
		r->e[i].id = px_le_get64(b + 4 + 16 * i);
		r->e[i].expires_ms = (int64_t)px_le_get64(b + 12 + 16 * i);
	}
	r->n = (uint32_t)n;
	return 0;
}

size_t
px_totals_encode(const struct px_totals *r, unsigned char *out)
{
	out[0] = 't';
	out[1] = REC_VERSION;
	px_le_put64(out + 2, r->requests);
	px_le_put64(out + 10, r->tokens);
	return PX_TOTALS_BYTES;
}

int
px_totals_decode(struct px_totals *r, const void *p, size_t len)
{
	const unsigned char *b = p;

	memset(r, 0, sizeof(*r));
	if (len == 0)
		return 0;
	if (len != PX_TOTALS_BYTES || b[0] != 't' || b[1] != REC_VERSION)
		return -1;
	r->requests = px_le_get64(b + 2);
	r->tokens = px_le_get64(b + 10);
	return 0;
}

void
px_cursor_encode(uint32_t c, unsigned char out[4])
{
	px_le_put32(out, c);
}

uint32_t
px_cursor_decode(const void *p, size_t len)
{
	return len == 4 ? px_le_get32(p) : UINT32_MAX;
}

const char *
px_key_state_name(unsigned state)
{
	static const char *const name[] = { "active", "cooling", "disabled" };

	return state <= PX_KEY_DISABLED ? name[state] : name[0];
}
