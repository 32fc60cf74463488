/*
 * buf.c -- growable byte buffer with a hard cap (see buf.h).
 * Never: grows past max, or loses content on a failed add.
 * Load: every request and every relayed event goes through here, so adds
 * are amortised O(1) and a reset keeps the allocation.
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
px_buf_init(struct px_buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

enum px_err
px_buf_reserve(struct px_buf *b, size_t n)
{
	size_t need, ncap;
	char *np;

	if (n > b->max || b->len > b->max - n)
		return PX_ETOOBIG;
	need = b->len + n + 1;		/* room for the NUL */
	if (need <= b->cap)
		return PX_OK;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	np = realloc(b->p, ncap);
	if (np == NULL)
		return PX_ENOMEM;
	b->p = np;
	b->cap = ncap;
	return PX_OK;
}

enum px_err
px_buf_add(struct px_buf *b, const void *d, size_t n)
{
	enum px_err rc = px_buf_reserve(b, n);

	if (rc != PX_OK)
		return rc;
	if (n > 0)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
	return PX_OK;
}

enum px_err
px_buf_adds(struct px_buf *b, const char *s)
{
	return px_buf_add(b, s, strlen(s));
}

enum px_err
px_buf_addc(struct px_buf *b, char c)
{
	return px_buf_add(b, &c, 1);
}

enum px_err
px_buf_printf(struct px_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	enum px_err rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return PX_EINTERNAL;
	rc = px_buf_reserve(b, (size_t)n);
	if (rc != PX_OK)
		return rc;
	va_start(ap, fmt);
	(void)vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return PX_OK;
}

enum px_err
px_buf_add_json_str(struct px_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	enum px_err rc = PX_OK;
	size_t i, run = 0;

	for (i = 0; i < n && rc == PX_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		/* flush the plain run before this byte */
		rc = px_buf_add(b, s + run, i - run);
		run = i + 1;
		if (rc != PX_OK)
			break;
		esc[0] = '\\';
		switch (c) {
		case '"':  esc[1] = '"';  rc = px_buf_add(b, esc, 2); break;
		case '\\': esc[1] = '\\'; rc = px_buf_add(b, esc, 2); break;
		case '\n': esc[1] = 'n';  rc = px_buf_add(b, esc, 2); break;
		case '\r': esc[1] = 'r';  rc = px_buf_add(b, esc, 2); break;
		case '\t': esc[1] = 't';  rc = px_buf_add(b, esc, 2); break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			rc = px_buf_add(b, esc, 6);
			break;
		}
	}
	if (rc == PX_OK)
		rc = px_buf_add(b, s + run, n - run);
	return rc;
}

void
px_buf_reset(struct px_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
px_buf_consume(struct px_buf *b, size_t n)
{
	if (n >= b->len) {
		px_buf_reset(b);
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}

void
px_buf_shrink(struct px_buf *b, size_t keep)
{
	if (b->cap <= keep)
		return;
	free(b->p);
	px_buf_init(b, b->max);
}

void
px_buf_swap(struct px_buf *a, struct px_buf *b)
{
	struct px_buf t = *a;

	a->p = b->p;
	a->len = b->len;
	a->cap = b->cap;
	b->p = t.p;
	b->len = t.len;
	b->cap = t.cap;
}

void
px_buf_free(struct px_buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	px_buf_init(b, b->max);
}
