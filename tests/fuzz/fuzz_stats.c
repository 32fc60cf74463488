/*
 * fuzz_stats.c -- libFuzzer target for the /metrics counters' stored
 * record (px_stats_decode / px_stats_encode, common/stats.h), the bytes
 * every responder adds to and /metrics reads (LMDB record "S/stats").
 * Owns: the checks below. Never: opens a ledger.
 * Input: the record's bytes.
 * Checks: decode gives 0 or -1 and never reads past the input; -1 only
 * for a record that is not version 1 of kind 'S' or whose count does
 * not fit; 0 fills every counter (a shorter record's rest reads 0). A
 * decoded record encodes to exactly PX_ST_ENC_MAX bytes that decode to
 * the same counters, and re-encode to the same bytes (fixed layout). The
 * accumulator: what a record holds, added and taken back, comes back
 * whole (px_stats_add / px_stats_take).
 */
#include "stats.h"

#include "fuzz_util.h"

static uint64_t a[PX_ST_N], b[PX_ST_N], t[PX_ST_N];
static unsigned char e1[PX_ST_ENC_MAX], e2[PX_ST_ENC_MAX];

/* What the header says about a record of n bytes: 1 fits, 0 refused. */
static int
header_ok(const uint8_t *p, size_t n)
{
	uint32_t cnt;

	if (n == 0)
		return 1;
	if (n < 6 || p[0] != 'S' || p[1] != 1)
		return 0;
	cnt = (uint32_t)p[2] | (uint32_t)p[3] << 8 | (uint32_t)p[4] << 16 |
	    (uint32_t)p[5] << 24;
	return (size_t)cnt <= (n - 6) / 8;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	size_t n1, n2, i;
	int rc;

	if (p == NULL)
		return 0;
	memcpy(p, data, size);		/* exact size: ASan sees overreads */
	rc = px_stats_decode(p, size, a);
	FZ_CHECK(rc == 0 || rc == -1, "decode result");
	FZ_CHECK((rc == 0) == header_ok(p, size), "refused exactly when the "
	    "header does not fit");
	if (rc == 0) {
		n1 = px_stats_encode(a, e1);
		FZ_CHECK(n1 == PX_ST_ENC_MAX, "fixed size");
		FZ_CHECK(px_stats_decode(e1, n1, b) == 0 &&
		    memcmp(a, b, sizeof(a)) == 0, "round trip");
		n2 = px_stats_encode(b, e2);
		FZ_CHECK(n2 == n1 && memcmp(e1, e2, n1) == 0, "stable bytes");
		(void)px_stats_take(t);
		for (i = 0; i < PX_ST_N; i++)
			px_stats_add(i, a[i]);
		if (px_stats_take(t))
			FZ_CHECK(memcmp(a, t, sizeof(a)) == 0,
			    "the accumulator gives back what was added");
	}
	free(p);
	return 0;
}
