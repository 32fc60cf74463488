/*
 * utf8.c -- UTF-8 well-formedness (see utf8.h).
 * Load: every request body and config file passes through once, so ASCII
 * runs are skipped eight bytes at a time.
 */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

#define HIGHS	UINT64_C(0x8080808080808080)

/* Length of the well-formed sequence at s (Unicode Table 3-7), 0 if none. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], lo = 0x80, hi = 0xBF;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c < 0xC2 || c > 0xF4)
		return 0;	/* stray continuation, overlong lead, > U+10FFFF */
	len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
	if (c == 0xE0)
		lo = 0xA0;	/* overlong 3-byte */
	else if (c == 0xED)
		hi = 0x9F;	/* surrogates */
	else if (c == 0xF0)
		lo = 0x90;	/* overlong 4-byte */
	else if (c == 0xF4)
		hi = 0x8F;	/* above U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	}
	return len;
}

/* Offset of the first ill-formed sequence, n when all of s is valid. */
size_t
px_utf8_bad_at(const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, k;
	uint64_t w;

	while (i < n) {
		if (n - i >= 8) {
			memcpy(&w, s + i, 8);
			if ((w & HIGHS) == 0) {
				i += 8;
				continue;
			}
		}
		k = utf8_seq(s + i, n - i);
		if (k == 0)
			return i;
		i += k;
	}
	return n;
}

int
px_utf8_valid(const char *s, size_t n)
{
	if (n == 0)
		return 1;
	return px_utf8_bad_at(s, n) == n;
}
