/*
 * utf8.h -- is a byte string well-formed UTF-8 (Unicode Table 3-7: no
 * overlong forms, no surrogates, nothing above U+10FFFF, no truncation).
 * Never: allocates or decodes; bytes are only checked.
 */
#ifndef PX_UTF8_H
#define PX_UTF8_H

#include <stddef.h>

/* Offset of the first ill-formed sequence in s[0..n); n when all valid. */
size_t px_utf8_bad_at(const char *s, size_t n);
/* Non-zero when s[0..n) is well-formed UTF-8. */
int px_utf8_valid(const char *s, size_t n);

#endif
