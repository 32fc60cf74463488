/*
 * fuzz_util.h -- helpers shared by the libFuzzer targets in tests/fuzz/.
 * Owns: the invariant check that aborts (libFuzzer then saves the input),
 * reading the fuzz input as a header line of integers plus text lines,
 * exact-size copies (so ASan sees any read past the length), an RFC 8259
 * JSON checker and a UTF-8 checker written independently of the modules
 * under test.
 * Never: calls anything in common/; every target links only the modules it
 * fuzzes.
 */
#ifndef FZ_UTIL_H
#define FZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libFuzzer entry points (defined by each target). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fz_fail(const char *file, int line, const char *cond,
    const char *what) __attribute__((noreturn));

static inline void
fz_fail(const char *file, int line, const char *cond, const char *what)
{
	fprintf(stderr, "\nINVARIANT VIOLATED at %s:%d: %s\n    check: %s\n",
	    file, line, what, cond);
	fflush(stderr);
	abort();
}

/* Abort (a crash for libFuzzer) when cond is false. */
#define FZ_CHECK(cond, what)						\
	do {								\
		if (!(cond))						\
			fz_fail(__FILE__, __LINE__, #cond, (what));	\
	} while (0)

/* --- input ---------------------------------------------------------------- */

struct fz_in {
	const uint8_t *p;
	size_t         n;
};

/*
 * Take the next line (without its '\n') from in. Returns 0 when in is
 * empty: a missing line and an empty one are told apart.
 */
static inline int
fz_line(struct fz_in *in, const uint8_t **l, size_t *ln)
{
	const uint8_t *nl;

	if (in->n == 0) {
		*l = in->p;
		*ln = 0;
		return 0;
	}
	nl = memchr(in->p, '\n', in->n);
	*l = in->p;
	*ln = nl != NULL ? (size_t)(nl - in->p) : in->n;
	in->p += *ln + (nl != NULL);
	in->n -= *ln + (nl != NULL);
	return 1;
}

/*
 * Up to max integers from l[0..n): optional '-' and decimal digits, any
 * other byte separates. Values saturate at +-1e18. Missing ones are 0.
 * Returns how many were read.
 */
static inline size_t
fz_ints(const uint8_t *l, size_t n, long long *v, size_t max)
{
	const long long sat = 1000000000000000000LL;
	size_t i = 0, k = 0;
	int neg;
	long long x;

	for (k = 0; k < max; k++)
		v[k] = 0;
	k = 0;
	while (i < n && k < max) {
		neg = 0;
		if (l[i] == '-' && i + 1 < n && l[i + 1] >= '0' &&
		    l[i + 1] <= '9') {
			neg = 1;
			i++;
		}
		if (l[i] < '0' || l[i] > '9') {
			i++;
			continue;
		}
		for (x = 0; i < n && l[i] >= '0' && l[i] <= '9'; i++)
			x = x > sat / 10 ? sat : x * 10 + (l[i] - '0');
		v[k++] = neg ? -x : x;
	}
	return k;
}

/* Exact-size heap copy; reading p[n] is an ASan error. NULL only for n 0
 * when nul is 0 (callers pass a NULL body then). */
static inline char *
fz_dup(const void *p, size_t n, int nul)
{
	char *d;

	if (n == 0 && !nul)
		return NULL;
	d = malloc(n + (nul != 0));
	if (d == NULL)
		abort();
	if (n > 0)
		memcpy(d, p, n);
	if (nul)
		d[n] = '\0';
	return d;
}

/* First occurrence of needle[0..m) in h[0..n), or NULL. */
static inline const char *
fz_memmem(const char *h, size_t n, const char *needle, size_t m)
{
	size_t i;

	if (m == 0)
		return h;
	for (i = 0; i + m <= n; i++) {
		if (h[i] == needle[0] && memcmp(h + i, needle, m) == 0)
			return h + i;
	}
	return NULL;
}

/* --- UTF-8 (Unicode Table 3-7), independent of common/utf8.c ------------- */

/* Length of the well-formed sequence at s[0..n), or 0 when ill-formed. */
static inline size_t
fz_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	}
	return len;
}

static inline int
fz_utf8_ok(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i = 0, k;

	while (i < n) {
		k = fz_utf8_seq(s + i, n - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

/*
 * One line but for echoed client strings: every CR and LF of s[0..n)
 * lies between its first and last '"' (true without any). An error
 * message quotes a client's string with its characters, line breaks too
 * (finding 11: it only travels JSON-escaped in an error body).
 */
static inline int
fz_one_line_outside_quotes(const char *s, size_t n)
{
	const char *q1 = memchr(s, '"', n), *q2 = NULL, *c;

	for (c = s; c < s + n; c++)
		if (*c == '"')
			q2 = c;
	for (c = s; c < s + n; c++)
		if ((*c == '\n' || *c == '\r') && (q1 == NULL || c < q1 ||
		    c > q2))
			return 0;
	return 1;
}

/* --- strict JSON (RFC 8259) ---------------------------------------------- */

struct fz_js {
	const unsigned char *p, *e;
	int utf8;	/* also require well-formed UTF-8 inside strings */
};

static inline void
fz_js_ws(struct fz_js *s)
{
	while (s->p < s->e && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static inline int
fz_js_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static inline int
fz_js_string(struct fz_js *s)
{
	size_t k;
	int i;

	s->p++;			/* the opening quote */
	while (s->p < s->e) {
		unsigned char c = *s->p;

		if (c == '"') {
			s->p++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (s->e - s->p < 2)
				return 0;
			c = s->p[1];
			if (c == 'u') {
				if (s->e - s->p < 6)
					return 0;
				for (i = 2; i < 6; i++) {
					if (!fz_js_hex(s->p[i]))
						return 0;
				}
				s->p += 6;
			} else if (strchr("\"\\/bfnrt", c) != NULL && c != 0) {
				s->p += 2;
			} else {
				return 0;
			}
			continue;
		}
		if (c >= 0x80 && s->utf8) {
			k = fz_utf8_seq(s->p, (size_t)(s->e - s->p));
			if (k == 0)
				return 0;
			s->p += k;
			continue;
		}
		s->p++;
	}
	return 0;
}

static inline int
fz_js_digits(struct fz_js *s)
{
	const unsigned char *start = s->p;

	while (s->p < s->e && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start;
}

static inline int
fz_js_number(struct fz_js *s)
{
	if (s->p < s->e && *s->p == '-')
		s->p++;
	if (s->p < s->e && *s->p == '0')
		s->p++;
	else if (!fz_js_digits(s))
		return 0;
	if (s->p < s->e && *s->p == '.') {
		s->p++;
		if (!fz_js_digits(s))
			return 0;
	}
	if (s->p < s->e && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->e && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!fz_js_digits(s))
			return 0;
	}
	return 1;
}

static inline int
fz_js_lit(struct fz_js *s, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(s->e - s->p) < n || memcmp(s->p, w, n) != 0)
		return 0;
	s->p += n;
	return 1;
}

static inline int
fz_js_value(struct fz_js *s, int depth)
{
	unsigned char open, close;

	fz_js_ws(s);
	if (s->p >= s->e || depth > 4000)
		return 0;
	switch (*s->p) {
	case '"':
		return fz_js_string(s);
	case 't':
		return fz_js_lit(s, "true");
	case 'f':
		return fz_js_lit(s, "false");
	case 'n':
		return fz_js_lit(s, "null");
	case '{':
	case '[':
		break;
	default:
		return fz_js_number(s);
	}
	open = *s->p++;
	close = open == '{' ? '}' : ']';
	fz_js_ws(s);
	if (s->p < s->e && *s->p == close) {
		s->p++;
		return 1;
	}
	for (;;) {
		if (open == '{') {
			fz_js_ws(s);
			if (s->p >= s->e || *s->p != '"' || !fz_js_string(s))
				return 0;
			fz_js_ws(s);
			if (s->p >= s->e || *s->p != ':')
				return 0;
			s->p++;
		}
		if (!fz_js_value(s, depth + 1))
			return 0;
		fz_js_ws(s);
		if (s->p >= s->e)
			return 0;
		if (*s->p == close) {
			s->p++;
			return 1;
		}
		if (*s->p != ',')
			return 0;
		s->p++;
	}
}

/* n when p[0..n) is exactly one RFC 8259 JSON text (whitespace around
 * allowed; with utf8, strings also well-formed UTF-8), else about where
 * it stops being one. */
static inline size_t
fz_json_bad_at(const void *p, size_t n, int utf8)
{
	struct fz_js s;
	int ok;

	if (p == NULL)
		return 0;
	s.p = p;
	s.e = s.p + n;
	s.utf8 = utf8;
	ok = fz_js_value(&s, 0);
	if (ok)
		fz_js_ws(&s);
	if (ok && s.p == s.e)
		return n;
	return s.p < s.e ? (size_t)(s.p - (const unsigned char *)p) : n - 1;
}

static inline int
fz_json_ok(const void *p, size_t n, int utf8)
{
	return p != NULL && fz_json_bad_at(p, n, utf8) == n;
}

/*
 * Does s look like a real API key: 11+ bytes of [A-Za-z0-9_-] with a digit
 * and a letter other than e/E? Then no message word, path, printed number
 * or "[redacted]" can spell it, and finding it in output is a leak.
 */
static inline int
fz_secret_like(const char *s)
{
	size_t n = strlen(s), i;
	int alpha = 0, digit = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			digit = 1;
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			alpha |= c != 'e' && c != 'E';
		else if (c != '_' && c != '-')
			return 0;
	}
	return n >= 11 && alpha && digit;
}

/* Print a note once per process (for findings that are not crashes). */
#define FZ_NOTE_ONCE(...)						\
	do {								\
		static int fz_noted_;					\
		if (!fz_noted_) {					\
			fz_noted_ = 1;					\
			fprintf(stderr, "NOTE: " __VA_ARGS__);		\
			fputc('\n', stderr);				\
		}							\
	} while (0)

#endif
