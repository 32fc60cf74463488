/*
 * tharness.h -- the whole unit-test harness: named checks, a summary line.
 * Each test binary includes it once, calls T_CHECK for every assertion and
 * ends main() with `return t_done();`, which prints "N passed, N failed"
 * (tests/run.sh adds these up) and exits non-zero on any failure.
 */
#ifndef PX_THARNESS_H
#define PX_THARNESS_H

#include <stdio.h>
#include <string.h>

static int t_passed, t_failed;

static inline void
t_check(int ok, const char *what, const char *file, int line)
{
	if (ok) {
		t_passed++;
		return;
	}
	t_failed++;
	printf("not ok - %s (%s:%d)\n", what, file, line);
}

#define T_CHECK(cond, what) t_check((cond) != 0, (what), __FILE__, __LINE__)
static inline int
t_streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

#define T_STREQ(a, b, what) t_check(t_streq((a), (b)), (what), __FILE__, __LINE__)

/* s with every ' turned into ", so JSON test vectors stay readable.
 * The result lives in a static buffer until the next call. */
static inline const char *
t_quote(const char *s)
{
	static char out[4096];
	size_t i, n = strlen(s);

	if (n >= sizeof out)
		n = sizeof out - 1;
	for (i = 0; i < n; i++)
		out[i] = s[i] == '\'' ? '"' : s[i];
	out[n] = '\0';
	return out;
}

static inline int
t_done(void)
{
	printf("%d passed, %d failed\n", t_passed, t_failed);
	return t_failed == 0 ? 0 : 1;
}

#endif
