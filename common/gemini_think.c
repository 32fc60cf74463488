/*
 * gemini_think.c -- efforts as Gemini thinking controls (gemini_think.h).
 * Load: a few string compares per request that names an effort.
 */
#include "gemini_think.h"

#include <stdlib.h>
#include <string.h>

enum effort { E_NONE, E_MINIMAL, E_LOW, E_MEDIUM, E_HIGH, E_XHIGH, E__MAX };
enum level { L_MINIMAL, L_LOW, L_MEDIUM, L_HIGH, L__MAX };
enum family {
	F_NONE,		/* no thinking controls (1.5, 2.0, gemma, media) */
	F_LEVEL,	/* 3.x and later: thinkingLevel */
	F_PRO,		/* 2.5 Pro budgets: 128..32768, cannot disable */
	F_FLASH,	/* 2.5 Flash: 0..24576, 0 disables */
	F_LITE		/* 2.5 Flash-Lite: 512..24576, 0 disables */
};

static const char *const effort_names[E__MAX] = {
	[E_NONE] = "none", [E_MINIMAL] = "minimal", [E_LOW] = "low",
	[E_MEDIUM] = "medium", [E_HIGH] = "high", [E_XHIGH] = "xhigh",
};
static const char *const level_names[L__MAX] = {
	[L_MINIMAL] = "minimal", [L_LOW] = "low", [L_MEDIUM] = "medium",
	[L_HIGH] = "high",
};

#define LV(l)	(1u << (l))
#define LV_ALL	(LV(L_MINIMAL) | LV(L_LOW) | LV(L_MEDIUM) | LV(L_HIGH))

static int
effort_of(const char *s)
{
	int e;

	for (e = 0; s != NULL && e < E__MAX; e++)
		if (strcmp(s, effort_names[e]) == 0)
			return e;
	if (s != NULL && strcmp(s, "max") == 0)
		return E_XHIGH;
	return -1;
}

/* A 2.5-style budget family by variant name ("flash-lite" first). */
static enum family
budget_family(const char *m)
{
	if (strstr(m, "flash-lite") != NULL)
		return F_LITE;
	if (strstr(m, "pro") != NULL)
		return F_PRO;
	return F_FLASH;
}

/*
 * The thinking family of model and, for F_LEVEL, the levels it takes
 * (2026 doc §2.2): 3 Flash / Flash-Lite minimal..high; 3.1 Pro low,
 * medium, high (no minimal); 3 Pro low and high. A name without a version
 * ("gemini-flash-latest") gets budgets, which 3.x maps to a level itself.
 */
static enum family
family_of(const char *m, unsigned *levels)
{
	long major = 0, minor = 0;
	char *end;

	*levels = LV_ALL;
	if (strncmp(m, "gemini-", 7) != 0 || strstr(m, "-image") != NULL ||
	    strstr(m, "-tts") != NULL || strstr(m, "embedding") != NULL)
		return F_NONE;
	m += 7;
	if (*m < '0' || *m > '9')
		return budget_family(m);
	major = strtol(m, &end, 10);
	if (*end == '.')
		minor = strtol(end + 1, NULL, 10);
	if (major == 2 && minor == 5)
		return budget_family(end);
	if (major < 3)
		return F_NONE;
	if (strstr(end, "-pro") != NULL)
		*levels = major == 3 && minor == 0 ?
		    LV(L_LOW) | LV(L_HIGH) : LV(L_LOW) | LV(L_MEDIUM) | LV(L_HIGH);
	return F_LEVEL;
}

/*
 * The allowed level nearest to the effort (2026 doc §2.5): "none" is the
 * lowest allowed (3.x cannot disable thinking), "xhigh" is "high", and a
 * tie goes up (the 2025 table sent medium to high where medium was
 * missing).
 */
static int
level_for(unsigned levels, int effort)
{
	int want, l, best = -1, d, bestd = L__MAX;

	if (effort == E_NONE) {
		for (l = 0; l < L__MAX; l++)
			if (levels & LV(l))
				return l;
		return L_LOW;
	}
	want = effort == E_XHIGH ? L_HIGH : effort - E_MINIMAL;
	for (l = 0; l < L__MAX; l++) {
		if (!(levels & LV(l)))
			continue;
		d = abs(l - want);
		if (d <= bestd) {
			best = l;
			bestd = d;
		}
	}
	return best >= 0 ? best : L_LOW;
}

/* 2.5 budgets (2026 doc §2.5): none 0 (Pro 128: it cannot disable),
 * minimal and low 1024, medium 8192, high 24576, xhigh 24576 (Pro 32768). */
static int
budget_for(enum family f, int effort)
{
	switch (effort) {
	case E_NONE:    return f == F_PRO ? 128 : 0;
	case E_MINIMAL:
	case E_LOW:     return 1024;
	case E_MEDIUM:  return 8192;
	case E_XHIGH:   return f == F_PRO ? 32768 : 24576;
	default:        return 24576;
	}
}

int
px_gemini_think(const char *model, const char *effort, struct px_gthink *out)
{
	int e = effort_of(effort);
	unsigned levels;
	enum family f;

	if (model != NULL && strncmp(model, "models/", 7) == 0)
		model += 7;
	if (model == NULL || e < 0)
		return 0;
	f = family_of(model, &levels);
	if (f == F_NONE)
		return 0;
	out->level = f == F_LEVEL ? level_names[level_for(levels, e)] : NULL;
	out->budget = f == F_LEVEL ? 0 : budget_for(f, e);
	out->include = e != E_NONE;
	return 1;
}
