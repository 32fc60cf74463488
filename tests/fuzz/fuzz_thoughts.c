/*
 * fuzz_thoughts.c -- libFuzzer target for the inline <thought> splitter
 * (px_thoughts_split, px_thoughts_flush; common/thoughts.h).
 * Owns: its checks and the reference they compare with, if any.
 * Never: network, files or clocks; links only the modules it fuzzes.
 * Input: line 1 up to 8 piece sizes (integers, used in turn; 0 or none:
 * byte by byte); the rest is the answer text.
 * Checks: the text split whole, in the fuzzer's pieces (each an
 * exact-size copy) and byte by byte, each followed by a flush, gives the
 * content and reasoning of a reference splitter in the harness (text
 * between <thought> and </thought> is reasoning, the tags vanish, an
 * unclosed tag's text stays where it was); at most a tag's length is held
 * back between calls; when every piece is valid UTF-8, so is what each
 * call appends.
 */
#include "thoughts.h"

#include "fuzz_util.h"

#define OPEN	"<thought>"
#define CLOSE	"</thought>"

/* The reference: one pass over the whole text. */
static void
reference(const char *s, size_t n, struct px_buf *content,
    struct px_buf *reasoning)
{
	size_t i = 0;
	int in = 0;
	const char *tag;

	while (i < n) {
		tag = in ? CLOSE : OPEN;
		if (n - i >= strlen(tag) && memcmp(s + i, tag, strlen(tag)) ==
		    0) {
			i += strlen(tag);
			in = !in;
			continue;
		}
		if (px_buf_add(in ? reasoning : content, s + i, 1) != PX_OK)
			abort();
		i++;
	}
}

static int
same(const struct px_buf *a, const struct px_buf *b)
{
	return a->len == b->len && (a->len == 0 ||
	    memcmp(a->p, b->p, a->len) == 0);
}

/* What b got after its first `from` bytes is valid UTF-8. */
static int
tail_utf8(const struct px_buf *b, size_t from)
{
	return b->len <= from || fz_utf8_ok(b->p + from, b->len - from);
}

/* Split s[0..n) in pieces of the given sizes (cycled; size 0 is 1). */
static void
split(const uint8_t *s, size_t n, const long long *sizes, size_t nsizes,
    struct px_buf *content, struct px_buf *reasoning)
{
	struct px_thoughts t;
	size_t off = 0, k = 0, len, c0, r0;
	char *piece;
	int utf8;

	memset(&t, 0, sizeof t);
	while (off < n) {
		len = nsizes > 0 ? (size_t)(sizes[k++ % nsizes] % 4096) : 1;
		if (len == 0)
			len = 1;
		if (len > n - off)
			len = n - off;
		piece = fz_dup(s + off, len, 0);
		utf8 = fz_utf8_ok(piece, len);
		c0 = content->len;
		r0 = reasoning->len;
		FZ_CHECK(px_thoughts_split(&t, piece, len, content, reasoning)
		    == PX_OK, "split succeeds");
		FZ_CHECK(t.ncarry < strlen(CLOSE) && (t.in == 0 || t.in == 1),
		    "less than a tag held back");
		FZ_CHECK(!utf8 || (tail_utf8(content, c0) &&
		    tail_utf8(reasoning, r0)), "UTF-8 in, UTF-8 out");
		free(piece);
		off += len;
	}
	FZ_CHECK(px_thoughts_flush(&t, content, reasoning) == PX_OK,
	    "flush succeeds");
	FZ_CHECK(t.ncarry == 0, "flush empties");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct px_buf rc, rr, c, r;
	static int init;
	struct fz_in in = { data, size };
	const uint8_t *l;
	size_t ln, ns;
	long long sizes[8], whole[1];
	int pass;

	if (!init) {
		px_buf_init(&rc, 1u << 20);
		px_buf_init(&rr, 1u << 20);
		px_buf_init(&c, 1u << 20);
		px_buf_init(&r, 1u << 20);
		init = 1;
	}
	fz_line(&in, &l, &ln);
	ns = fz_ints(l, ln, sizes, 8);
	px_buf_reset(&rc);
	px_buf_reset(&rr);
	reference((const char *)in.p, in.n, &rc, &rr);
	whole[0] = (long long)in.n;
	for (pass = 0; pass < 3; pass++) {
		px_buf_reset(&c);
		px_buf_reset(&r);
		if (pass == 0)
			split(in.p, in.n, whole, in.n > 0, &c, &r);
		else if (pass == 1)
			split(in.p, in.n, sizes, ns, &c, &r);
		else
			split(in.p, in.n, NULL, 0, &c, &r);
		if (!same(&c, &rc) || !same(&r, &rr))
			fprintf(stderr, "pass %d: content %.*s | reasoning "
			    "%.*s\nwant: %.*s | %.*s\n", pass, (int)c.len,
			    c.p ? c.p : "", (int)r.len, r.p ? r.p : "",
			    (int)rc.len, rc.p ? rc.p : "", (int)rr.len,
			    rr.p ? rr.p : "");
		FZ_CHECK(same(&c, &rc), "the content of the reference");
		FZ_CHECK(same(&r, &rr), "the reasoning of the reference");
	}
	return 0;
}
