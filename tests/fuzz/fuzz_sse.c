/*
 * fuzz_sse.c -- libFuzzer target for the SSE parser (common/sse.h).
 * Input: byte 0 picks line_cap, byte 1 the callback count after which a
 * callback asks to stop (0: never), bytes 2..9 are eight piece sizes; the
 * rest is the stream.
 * The stream is fed whole, in pieces of the fuzzer-chosen sizes (cycled,
 * each an exact-size heap copy), and byte by byte, reusing one parser
 * through px_sse_reset. Each run's
 * log of events and comments, return code and pending flag must equal the
 * log of a plain reference parser written here from the WHATWG rules
 * (lines end at LF, CRLF or CR; "data" fields joined with LF, one leading
 * space stripped; ':' lines are comments; a blank line dispatches; a line
 * or an event's data longer than line_cap is PX_ETOOBIG).
 * Also: event data and comments are NUL-terminated, hold no CR (and
 * comments no LF), and fit in line_cap.
 */
#include "sse.h"

#include "fuzz_util.h"

struct rec {
	char  *log;
	size_t len, cap;	/* bytes used / allocated in log */
	size_t ncb;		/* callbacks so far */
	size_t stop_after;	/* a callback returns 1 at this count; 0 never */
	size_t line_cap;
};

static void
rec_add(struct rec *r, char tag, const char *t, size_t n)
{
	FZ_CHECK(r->len + n + 1 + sizeof n <= r->cap, "log sized for input");
	r->log[r->len++] = tag;
	memcpy(r->log + r->len, &n, sizeof n);
	r->len += sizeof n;
	memcpy(r->log + r->len, t, n);
	r->len += n;
}

static int
stop_now(struct rec *r)
{
	r->ncb++;
	return r->stop_after != 0 && r->ncb == r->stop_after;
}

static int
on_event(void *ctx, const char *d, size_t n)
{
	struct rec *r = ctx;

	FZ_CHECK(d != NULL && d[n] == '\0', "event data NUL-terminated");
	FZ_CHECK(memchr(d, '\r', n) == NULL, "no CR in event data");
	FZ_CHECK(n <= r->line_cap, "event data within line_cap");
	rec_add(r, 'E', d, n);
	return stop_now(r);
}

static int
on_comment(void *ctx, const char *t, size_t n)
{
	struct rec *r = ctx;

	FZ_CHECK(t != NULL && t[n] == '\0', "comment NUL-terminated");
	FZ_CHECK(memchr(t, '\r', n) == NULL && memchr(t, '\n', n) == NULL,
	    "no line end in a comment");
	FZ_CHECK(n < r->line_cap, "comment within line_cap");
	rec_add(r, 'C', t, n);
	return stop_now(r);
}

/* --- reference parser: whole input at once, one line at a time ------------ */

struct ref {
	struct rec *r;
	char  *data;	/* joined data of the current event */
	size_t dlen;
	int    have;
};

/* One complete line l[0..n), n <= cap. */
static enum px_err
ref_line(struct ref *f, const char *l, size_t n)
{
	const char *colon, *v;
	size_t name, vn;

	if (n == 0) {
		if (!f->have)
			return PX_OK;
		f->data[f->dlen] = '\0';
		f->have = 0;
		n = f->dlen;
		f->dlen = 0;
		return on_event(f->r, f->data, n) ? PX_EGONE : PX_OK;
	}
	if (l[0] == ':') {
		char *t = fz_dup(l + 1, n - 1, 1);
		int stop = on_comment(f->r, t, n - 1);

		free(t);
		return stop ? PX_EGONE : PX_OK;
	}
	colon = memchr(l, ':', n);
	name = colon != NULL ? (size_t)(colon - l) : n;
	if (name != 4 || memcmp(l, "data", 4) != 0)
		return PX_OK;
	v = colon != NULL ? colon + 1 : l + n;
	vn = (size_t)(l + n - v);
	if (vn > 0 && v[0] == ' ') {
		v++;
		vn--;
	}
	if (f->have) {
		if (f->dlen + 1 > f->r->line_cap)
			return PX_ETOOBIG;
		f->data[f->dlen++] = '\n';
	}
	if (f->dlen + vn > f->r->line_cap)
		return PX_ETOOBIG;
	memcpy(f->data + f->dlen, v, vn);
	f->dlen += vn;
	f->have = 1;
	return PX_OK;
}

static enum px_err
ref_parse(struct rec *r, const char *p, size_t n, int *pending)
{
	struct ref f = { r, NULL, 0, 0 };
	size_t pos = 0, eol;
	enum px_err rc = PX_OK;

	f.data = malloc(2 * n + 2);
	if (f.data == NULL)
		abort();
	*pending = 0;
	while (pos < n) {
		for (eol = pos; eol < n && p[eol] != '\n' && p[eol] != '\r';
		    eol++)
			;
		if (eol - pos > r->line_cap) {
			rc = PX_ETOOBIG;
			break;
		}
		if (eol == n) {		/* an unfinished last line */
			*pending = 1;
			break;
		}
		rc = ref_line(&f, p + pos, eol - pos);
		if (rc != PX_OK)
			break;
		pos = eol + 1;
		if (p[eol] == '\r' && pos < n && p[pos] == '\n')
			pos++;
	}
	if (rc == PX_OK && f.have)
		*pending = 1;
	free(f.data);
	return rc;
}

/* --- the parser under test, fed in pieces -------------------------------- */

/*
 * Feed p[0..n) in pieces of sizes[i % 8] bytes (0: an empty feed). With
 * copy, each piece is an exact-size heap copy so ASan sees a read past
 * it; without, pieces are fed in place (fast, for the byte-by-byte run).
 */
static enum px_err
feed(struct px_sse *s, const char *p, size_t n, const uint8_t sizes[8],
    int copy, int *pending)
{
	size_t pos = 0, k, i = 0;
	enum px_err rc = PX_OK;
	char *piece;

	while (pos < n) {
		k = sizes[i++ % 8];
		if (k > n - pos)
			k = n - pos;
		if (copy) {
			piece = fz_dup(p + pos, k, 0);
			rc = px_sse_feed(s, piece, k);
			free(piece);
		} else {
			rc = px_sse_feed(s, p + pos, k);
		}
		pos += k;
		if (rc != PX_OK)
			break;
	}
	*pending = rc == PX_OK ? px_sse_pending(s) : 0;
	return rc;
}

static void
run_and_compare(struct px_sse *s, struct rec *r, const char *p, size_t n,
    const uint8_t sizes[8], int copy, const struct rec *want,
    enum px_err want_rc, int want_pending, const char *mode)
{
	enum px_err rc;
	int pending;

	r->len = 0;
	r->ncb = 0;
	px_sse_reset(s);
	rc = feed(s, p, n, sizes, copy, &pending);
	if (rc != want_rc || (rc == PX_OK && pending != want_pending) ||
	    r->len != want->len || memcmp(r->log, want->log, r->len) != 0) {
		fprintf(stderr, "mode %s: rc %d (want %d), pending %d (want "
		    "%d), log %zu bytes (want %zu)\n", mode, (int)rc,
		    (int)want_rc, pending, want_pending, r->len, want->len);
		FZ_CHECK(0, "px_sse_feed differs from the reference parser");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[4] = { 2, 16, 300, 1u << 20 };
	static const uint8_t one[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	uint8_t sizes[8] = { 7, 1, 64, 3, 0, 128, 2, 255 };
	struct rec want = { 0 }, got = { 0 };
	struct px_sse s;
	const char *p;
	size_t n, i, nonzero = 0;
	enum px_err want_rc;
	int want_pending;

	want.line_cap = caps[size > 0 ? data[0] % 4 : 3];
	want.stop_after = size > 1 ? data[1] : 0;
	for (i = 0; i < 8 && 2 + i < size; i++)
		sizes[i] = data[2 + i];
	for (i = 0; i < 8; i++)
		nonzero += sizes[i] != 0;
	if (nonzero == 0)
		sizes[0] = 1;
	p = size > 10 ? (const char *)data + 10 : "";
	n = size > 10 ? size - 10 : 0;

	want.cap = 11 * n + 64;
	want.log = malloc(want.cap);
	got = want;
	got.log = malloc(got.cap);
	if (want.log == NULL || got.log == NULL)
		abort();
	want_rc = ref_parse(&want, p, n, &want_pending);

	/* whole: one feed of everything */
	px_sse_init(&s, want.line_cap, on_event, on_comment, &got);
	{
		enum px_err rc;
		int pending;
		char *all = fz_dup(p, n, 0);

		got.len = 0;
		got.ncb = 0;
		rc = px_sse_feed(&s, all, n);
		pending = rc == PX_OK ? px_sse_pending(&s) : 0;
		free(all);
		if (rc != want_rc ||
		    (rc == PX_OK && pending != want_pending) ||
		    got.len != want.len ||
		    memcmp(got.log, want.log, got.len) != 0) {
			fprintf(stderr, "mode whole: rc %d (want %d), pending "
			    "%d (want %d), log %zu bytes (want %zu)\n",
			    (int)rc, (int)want_rc, pending, want_pending,
			    got.len, want.len);
			FZ_CHECK(0, "px_sse_feed differs from the reference "
			    "parser");
		}
	}
	run_and_compare(&s, &got, p, n, sizes, 1, &want, want_rc,
	    want_pending, "pieces");
	{
		char *all = fz_dup(p, n, 0);

		run_and_compare(&s, &got, all, n, one, 0, &want, want_rc,
		    want_pending, "bytes");
		free(all);
	}
	px_sse_free(&s);
	free(want.log);
	free(got.log);
	return 0;
}
