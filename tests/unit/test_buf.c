/*
 * test_buf.c -- the capped byte buffer: every add variant against the exact
 * cap, NUL termination after each add, printf, reserve, reset/consume/
 * shrink/free, and the JSON string escaper (table plus all 256 bytes).
 * Never: relies on the growth policy beyond "cap holds len + NUL".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tharness.h"

/* Content, length and terminator in one check. */
static int
holds(const struct px_buf *b, const char *want, size_t n)
{
	return b->p != NULL && b->len == n && b->cap >= n + 1 &&
	    b->p[n] == '\0' && memcmp(b->p, want, n) == 0;
}

/* --- add, adds, addc against the exact cap --------------------------- */

enum op { OP_ADD, OP_ADDS, OP_ADDC };

static const struct {
	enum op     op;
	enum px_err rc;
	const char *arg;	/* OP_ADDC uses arg[0] */
	size_t      n;		/* OP_ADD only */
	const char *after;	/* whole content after the step */
	size_t      alen;
} steps[] = {	/* one buffer, max = 10 */
	{ OP_ADD,  PX_OK,      "",        0, "",             0 },
	{ OP_ADDS, PX_OK,      "abc",     0, "abc",          3 },
	{ OP_ADDC, PX_OK,      "d",       0, "abcd",         4 },
	{ OP_ADD,  PX_ETOOBIG, "efghijk", 7, "abcd",         4 }, /* 11 */
	{ OP_ADDS, PX_ETOOBIG, "efghijk", 0, "abcd",         4 },
	{ OP_ADD,  PX_OK,      "ef\0h",   4, "abcdef\0h",    8 },
	{ OP_ADDS, PX_OK,      "ij",      0, "abcdef\0hij", 10 }, /* max */
	{ OP_ADDC, PX_ETOOBIG, "k",       0, "abcdef\0hij", 10 },
	{ OP_ADDS, PX_OK,      "",        0, "abcdef\0hij", 10 },
	{ OP_ADD,  PX_OK,      "x",       0, "abcdef\0hij", 10 },
};

static void
test_steps(void)
{
	struct px_buf b;
	size_t i;
	enum px_err rc = PX_OK;

	px_buf_init(&b, 10);
	T_CHECK(b.p == NULL && b.len == 0 && b.cap == 0 && b.max == 10,
	    "init: empty, no memory, max kept");
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		switch (steps[i].op) {
		case OP_ADD:
			rc = px_buf_add(&b, steps[i].arg, steps[i].n);
			break;
		case OP_ADDS:
			rc = px_buf_adds(&b, steps[i].arg);
			break;
		case OP_ADDC:
			rc = px_buf_addc(&b, steps[i].arg[0]);
			break;
		}
		T_CHECK(rc == steps[i].rc, "step: return code");
		T_CHECK(holds(&b, steps[i].after, steps[i].alen),
		    "step: content, length and NUL");
	}
	px_buf_free(&b);
}

/* Byte by byte past the first allocation: NUL after each, exact cap. */
static void
test_addc_grow(void)
{
	char want[1000];
	struct px_buf b;
	size_t i;
	int ok = 1;

	px_buf_init(&b, sizeof want);
	for (i = 0; i < sizeof want; i++) {
		want[i] = (char)('a' + i % 26);
		ok &= px_buf_addc(&b, want[i]) == PX_OK;
		ok &= holds(&b, want, i + 1);
	}
	T_CHECK(ok, "addc x1000: each succeeds, content and NUL kept");
	T_CHECK(px_buf_addc(&b, 'z') == PX_ETOOBIG, "addc past max");
	T_CHECK(holds(&b, want, sizeof want), "failed addc leaves content");
	T_CHECK(px_buf_add(&b, "z", (size_t)-1) == PX_ETOOBIG,
	    "add SIZE_MAX bytes: ETOOBIG, no overflow");
	T_CHECK(holds(&b, want, sizeof want), "failed huge add leaves content");
	px_buf_free(&b);

	px_buf_init(&b, 0);
	T_CHECK(px_buf_add(&b, "", 0) == PX_OK, "max 0: empty add ok");
	T_CHECK(holds(&b, "", 0), "max 0: empty add leaves \"\"");
	T_CHECK(px_buf_addc(&b, 'a') == PX_ETOOBIG, "max 0: one byte too big");
	T_CHECK(holds(&b, "", 0), "max 0: still empty");
	px_buf_free(&b);
}

/* --- printf ------------------------------------------------------------- */

static void
test_printf(void)
{
	struct px_buf b;

	px_buf_init(&b, 16);
	T_CHECK(px_buf_printf(&b, "%s", "") == PX_OK, "printf empty");
	T_CHECK(holds(&b, "", 0), "printf empty: allocated, NUL");
	T_CHECK(px_buf_printf(&b, "%d-%s", 42, "ab") == PX_OK, "printf");
	T_CHECK(holds(&b, "42-ab", 5), "printf content");
	T_STREQ(b.p, "42-ab", "printf result is a C string");
	T_CHECK(px_buf_printf(&b, "[%05u]", 7u) == PX_OK, "printf append");
	T_CHECK(holds(&b, "42-ab[00007]", 12), "printf appended");
	T_CHECK(px_buf_printf(&b, "%s", "wxyz!") == PX_ETOOBIG,
	    "printf one byte past max");
	T_CHECK(holds(&b, "42-ab[00007]", 12), "printf past max: intact");
	T_CHECK(px_buf_printf(&b, "%.*s", 4, "wxyz!") == PX_OK,
	    "printf exactly to max");
	T_CHECK(holds(&b, "42-ab[00007]wxyz", 16), "printf at max: content");
	T_CHECK(px_buf_printf(&b, "%s", "") == PX_OK, "printf nothing at max");
	T_CHECK(px_buf_printf(&b, "%c", 'x') == PX_ETOOBIG,
	    "printf at max: one more fails");
	T_CHECK(holds(&b, "42-ab[00007]wxyz", 16), "printf at max: intact");
	px_buf_free(&b);
}

/* --- reserve ------------------------------------------------------------ */

static void
test_reserve(void)
{
	struct px_buf b;

	px_buf_init(&b, 600);
	T_CHECK(px_buf_adds(&b, "ab") == PX_OK, "reserve: seed");
	T_CHECK(px_buf_reserve(&b, 598) == PX_OK, "reserve up to max");
	T_CHECK(b.len == 2 && b.cap >= 601, "reserve: room for n + NUL");
	/* ASan reports if p[len..len+n) is not writable. */
	memset(b.p + b.len, 'x', 598);
	b.len += 598;
	b.p[b.len] = '\0';
	T_CHECK(b.p[0] == 'a' && b.p[599] == 'x', "reserve: content kept");
	T_CHECK(px_buf_reserve(&b, 0) == PX_OK, "reserve 0 at max");
	T_CHECK(px_buf_reserve(&b, 1) == PX_ETOOBIG, "reserve past max");
	T_CHECK(px_buf_reserve(&b, (size_t)-1) == PX_ETOOBIG,
	    "reserve SIZE_MAX: no overflow");
	T_CHECK(b.len == 600, "failed reserve keeps len");
	px_buf_free(&b);
}

/* --- reset, consume, shrink, free -------------------------------------- */

static void
test_reset(void)
{
	char big[500];
	struct px_buf b;
	char *p;
	size_t cap;

	memset(big, 'q', sizeof big);
	px_buf_init(&b, 4096);
	px_buf_reset(&b);
	T_CHECK(b.p == NULL && b.len == 0, "reset of unused buffer");
	T_CHECK(px_buf_add(&b, big, sizeof big) == PX_OK, "reset: fill");
	p = b.p;
	cap = b.cap;
	px_buf_reset(&b);
	T_CHECK(b.p == p && b.cap == cap, "reset keeps memory");
	T_CHECK(holds(&b, "", 0), "reset: empty and NUL");
	T_CHECK(px_buf_add(&b, big, sizeof big) == PX_OK, "reset: refill");
	T_CHECK(b.p == p && holds(&b, big, sizeof big),
	    "refill after reset reuses the block");
	px_buf_free(&b);
}

static const struct {
	size_t      n;
	const char *after;
} cons[] = {	/* one buffer, starts as "hello world" */
	{ 0,  "hello world" },
	{ 6,  "world" },
	{ 1,  "orld" },
	{ 4,  "" },		/* exactly all */
	{ 3,  "" },		/* more than all */
};

static void
test_consume(void)
{
	struct px_buf b;
	char *p;
	size_t i;

	px_buf_init(&b, 64);
	px_buf_consume(&b, 5);
	T_CHECK(b.p == NULL && b.len == 0, "consume on unused buffer");
	T_CHECK(px_buf_adds(&b, "hello world") == PX_OK, "consume: fill");
	p = b.p;
	for (i = 0; i < sizeof(cons) / sizeof(cons[0]); i++) {
		px_buf_consume(&b, cons[i].n);
		T_CHECK(holds(&b, cons[i].after, strlen(cons[i].after)),
		    "consume: rest moved to front, NUL");
		T_CHECK(b.p == p, "consume keeps memory");
	}
	T_CHECK(px_buf_adds(&b, "abcdef") == PX_OK, "consume: refill");
	px_buf_consume(&b, 5);
	T_CHECK(holds(&b, "f", 1), "consume all but one");
	px_buf_free(&b);
}

static void
test_shrink_free(void)
{
	char big[8192];
	struct px_buf b;
	char *p;

	memset(big, 'r', sizeof big);
	px_buf_init(&b, 8192);
	T_CHECK(px_buf_add(&b, big, 100) == PX_OK, "shrink: small fill");
	p = b.p;
	px_buf_shrink(&b, b.cap);
	T_CHECK(b.p == p && holds(&b, big, 100), "shrink at cap == keep: kept");
	px_buf_shrink(&b, b.cap + 1);
	T_CHECK(b.p == p && holds(&b, big, 100), "shrink below keep: kept");
	T_CHECK(px_buf_add(&b, big, 3000) == PX_OK, "shrink: big fill");
	px_buf_reset(&b);
	px_buf_shrink(&b, 1024);
	T_CHECK(b.p == NULL && b.cap == 0 && b.len == 0 && b.max == 8192,
	    "shrink above keep frees, keeps max");
	T_CHECK(px_buf_adds(&b, "again") == PX_OK && holds(&b, "again", 5),
	    "usable after shrink");

	px_buf_free(NULL);	/* a no-op: no crash (ASan watches) */
	px_buf_free(&b);
	T_CHECK(b.p == NULL && b.len == 0 && b.cap == 0 && b.max == 8192,
	    "free: empty, max kept");
	px_buf_free(&b);
	T_CHECK(b.p == NULL, "free twice is safe");
	T_CHECK(px_buf_adds(&b, "reuse") == PX_OK && holds(&b, "reuse", 5),
	    "usable after free");
	px_buf_reset(&b);
	T_CHECK(px_buf_add(&b, big, sizeof big) == PX_OK &&
	    px_buf_addc(&b, 'x') == PX_ETOOBIG, "cap enforced after free");
	px_buf_free(&b);
}

/* --- JSON string escaping ---------------------------------------------- */

static const struct {
	const char *in;
	size_t      n;
	const char *out;
} esc[] = {
	{ "",              0, "" },
	{ "plain text",   10, "plain text" },
	{ "a\"b",          3, "a\\\"b" },
	{ "\\",            1, "\\\\" },
	{ "\n\r\t",        3, "\\n\\r\\t" },
	{ "x\ny",          3, "x\\ny" },
	{ "\x01",          1, "\\u0001" },
	{ "\b\f",          2, "\\u0008\\u000c" },
	{ "\x1f" "a",      2, "\\u001fa" },
	{ "a\0b",          3, "a\\u0000b" },	/* NUL with explicit length */
	{ "\0",            1, "\\u0000" },
	{ "\x7f",          1, "\x7f" },		/* DEL unchanged */
	{ "/",             1, "/" },
	{ "caf\xc3\xa9",   5, "caf\xc3\xa9" },	/* UTF-8 unchanged */
	{ "\xe2\x82\xac\xf0\x9f\x98\x80", 7, "\xe2\x82\xac\xf0\x9f\x98\x80" },
	{ "\xff\xfe",      2, "\xff\xfe" },	/* not ours to validate */
	{ "abcdef",        3, "abc" },		/* n wins over the NUL */
	{ "\"\\\"",        3, "\\\"\\\\\\\"" },
};

static void
test_json_table(void)
{
	struct px_buf b;
	size_t i, olen;

	px_buf_init(&b, 256);
	for (i = 0; i < sizeof(esc) / sizeof(esc[0]); i++) {
		px_buf_reset(&b);
		T_CHECK(px_buf_adds(&b, "<") == PX_OK, "json: prefix");
		T_CHECK(px_buf_add_json_str(&b, esc[i].in, esc[i].n) ==
		    PX_OK, "json: escape ok");
		T_CHECK(px_buf_addc(&b, '>') == PX_OK, "json: suffix");
		olen = strlen(esc[i].out);
		T_CHECK(b.len == olen + 2 && b.p[0] == '<' &&
		    memcmp(b.p + 1, esc[i].out, olen) == 0 &&
		    b.p[olen + 1] == '>' && b.p[olen + 2] == '\0',
		    "json: escaped bytes exactly");
		if (b.len != olen + 2 || memcmp(b.p + 1, esc[i].out, olen) != 0)
			printf("#   vector %zu: got \"%s\"\n", i, b.p);
	}
	px_buf_free(&b);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* What one byte must become: its 2-char or \u00XX escape, or itself. */
static int
byte_ok(unsigned char c, const char *p, size_t n)
{
	static const char shortesc[][3] = {
		{ '"', '\\', '"' }, { '\\', '\\', '\\' }, { '\n', '\\', 'n' },
		{ '\r', '\\', 'r' }, { '\t', '\\', 't' },
	};
	size_t i;

	for (i = 0; i < sizeof(shortesc) / sizeof(shortesc[0]); i++)
		if ((unsigned char)shortesc[i][0] == c)
			return n == 2 && p[0] == '\\' && p[1] == shortesc[i][2];
	if (c >= 0x20)
		return n == 1 && (unsigned char)p[0] == c;
	return n == 6 && memcmp(p, "\\u00", 4) == 0 &&
	    hexval(p[4]) == c >> 4 && hexval(p[5]) == (c & 15);
}

static void
test_json_all_bytes(void)
{
	struct px_buf b;
	unsigned c;
	int ok = 1;
	char in;

	px_buf_init(&b, 16);
	for (c = 0; c < 256; c++) {
		in = (char)c;
		px_buf_reset(&b);
		ok &= px_buf_add_json_str(&b, &in, 1) == PX_OK;
		ok &= b.p != NULL && b.p[b.len] == '\0';
		ok &= byte_ok((unsigned char)c, b.p, b.len);
		if (!byte_ok((unsigned char)c, b.p, b.len))
			printf("#   byte 0x%02x -> \"%s\"\n", c, b.p);
	}
	T_CHECK(ok, "json: every byte 0..255 escaped or kept as specified");
	px_buf_free(&b);
}

static void
test_json_cap(void)
{
	struct px_buf b;

	px_buf_init(&b, 8);
	T_CHECK(px_buf_adds(&b, "ab") == PX_OK, "json cap: seed");
	T_CHECK(px_buf_add_json_str(&b, "cdef\n", 5) == PX_OK,
	    "json cap: exactly to max");
	T_CHECK(holds(&b, "abcdef\\n", 8), "json cap: content at max");
	px_buf_reset(&b);
	T_CHECK(px_buf_adds(&b, "ab") == PX_OK, "json cap: reseed");
	T_CHECK(px_buf_add_json_str(&b, "cdefg\n", 6) == PX_ETOOBIG,
	    "json cap: one byte past max");
	T_CHECK(b.len <= 8 && b.p[b.len] == '\0' &&
	    memcmp(b.p, "ab", 2) == 0, "json cap: earlier content intact");
	px_buf_free(&b);
}

int
main(void)
{
	test_steps();
	test_addc_grow();
	test_printf();
	test_reserve();
	test_reset();
	test_consume();
	test_shrink_free();
	test_json_table();
	test_json_all_bytes();
	test_json_cap();
	return t_done();
}
