/*
 * sse.c -- incremental text/event-stream parser (see sse.h).
 * Owns: splitting arbitrary input pieces into lines (LF, CRLF, CR, also
 * across feed boundaries), joining "data:" fields, dispatch on blank line.
 * Never: allocates per event or per line once its two buffers have grown;
 * never sees the network -- bytes are pushed in by the caller.
 * Load: every streamed token of every request passes through here, so line
 * ends are found with memchr and a complete line inside one piece is used
 * in place; only a line split across pieces is copied to the line buffer.
 */
#include "sse.h"

#include <string.h>

/* Offset of the first ch in p[from..n), or n when there is none. */
static size_t
next_at(const char *p, size_t from, size_t n, int ch)
{
	const char *q = memchr(p + from, ch, n - from);

	return q != NULL ? (size_t)(q - p) : n;
}

/* A blank line: hand the event over when it had a data field. */
static enum px_err
dispatch(struct px_sse *s)
{
	const char *d = s->data.p != NULL ? s->data.p : "";
	size_t n = s->data.len;
	int stop = 0;

	if (!s->have_data)
		return PX_OK;
	if (s->on_event != NULL)
		stop = s->on_event(s->ctx, d, n);
	px_buf_reset(&s->data);
	s->have_data = 0;
	return stop ? PX_EGONE : PX_OK;
}

/*
 * A comment line (l[0] == ':'). Callers get NUL-terminated text, so a line
 * used in place from the input is copied first; comments are keep-alives,
 * rare enough for the copy not to matter.
 */
static enum px_err
comment(struct px_sse *s, const char *l, size_t n, int in_buf)
{
	enum px_err rc;

	if (s->on_comment == NULL)
		return PX_OK;
	if (!in_buf) {
		rc = px_buf_add(&s->line, l, n);
		if (rc != PX_OK)
			return rc;
		l = s->line.p;
	}
	return s->on_comment(s->ctx, l + 1, n - 1) ? PX_EGONE : PX_OK;
}

/* Append one data field's value, joining with '\n' after the first. */
static enum px_err
add_data(struct px_sse *s, const char *v, size_t n)
{
	enum px_err rc;

	if (s->have_data) {
		rc = px_buf_addc(&s->data, '\n');
		if (rc != PX_OK)
			return rc;
	}
	rc = px_buf_add(&s->data, v, n);
	if (rc != PX_OK)
		return rc;
	s->have_data = 1;
	return PX_OK;
}

/*
 * One complete line without its line end. WHATWG field rules: name up to
 * the first ':', value after it minus one leading space; a line without ':'
 * is a field with an empty value. Only "data" matters to us.
 */
static enum px_err
take_line(struct px_sse *s, const char *l, size_t n, int in_buf)
{
	const char *colon;
	size_t name_len, vlen;
	const char *v;

	if (n == 0)
		return dispatch(s);
	if (l[0] == ':')
		return comment(s, l, n, in_buf);
	colon = memchr(l, ':', n);
	name_len = colon != NULL ? (size_t)(colon - l) : n;
	if (name_len != 4 || memcmp(l, "data", 4) != 0)
		return PX_OK;
	v = l + name_len + (colon != NULL);
	vlen = n - (size_t)(v - l);
	if (vlen > 0 && v[0] == ' ') {
		v++;
		vlen--;
	}
	return add_data(s, v, vlen);
}

/* The line ending at p[n] is complete; finish any buffered start of it. */
static enum px_err
end_line(struct px_sse *s, const char *p, size_t n)
{
	enum px_err rc;

	if (s->line.len == 0) {
		if (n > s->line.max)
			return PX_ETOOBIG;
		rc = take_line(s, p, n, 0);
	} else {
		rc = px_buf_add(&s->line, p, n);
		if (rc == PX_OK)
			rc = take_line(s, s->line.p, s->line.len, 1);
	}
	px_buf_reset(&s->line);
	return rc;
}

void
px_sse_init(struct px_sse *s, size_t line_cap, px_sse_event_fn on_event,
    px_sse_comment_fn on_comment, void *ctx)
{
	px_buf_init(&s->line, line_cap);
	px_buf_init(&s->data, line_cap);
	s->have_data = 0;
	s->last_cr = 0;
	s->on_event = on_event;
	s->on_comment = on_comment;
	s->ctx = ctx;
}

void
px_sse_reset(struct px_sse *s)
{
	px_buf_reset(&s->line);
	px_buf_reset(&s->data);
	s->have_data = 0;
	s->last_cr = 0;
}

/*
 * lf and cr cache the next LF and CR at or after pos, so each byte is
 * scanned at most once for each of the two, even in a CR-only stream.
 * After PX_EGONE the rest of the piece is dropped; the event that asked to
 * stop has been consumed.
 */
enum px_err
px_sse_feed(struct px_sse *s, const char *p, size_t n)
{
	size_t pos = 0, lf, cr, eol;
	enum px_err rc;

	if (n == 0)
		return PX_OK;
	if (s->last_cr) {
		s->last_cr = 0;
		if (p[0] == '\n')
			pos = 1;	/* second half of a CRLF split by feeds */
	}
	lf = next_at(p, pos, n, '\n');
	cr = next_at(p, pos, n, '\r');
	while (pos < n) {
		if (lf < pos)
			lf = next_at(p, pos, n, '\n');
		if (cr < pos)
			cr = next_at(p, pos, n, '\r');
		eol = lf < cr ? lf : cr;
		if (eol == n)
			return px_buf_add(&s->line, p + pos, n - pos);
		rc = end_line(s, p + pos, eol - pos);
		if (rc != PX_OK)
			return rc;
		pos = eol + 1;
		if (p[eol] == '\r' && pos == n)
			s->last_cr = 1;
		else if (p[eol] == '\r' && p[pos] == '\n')
			pos++;
	}
	return PX_OK;
}

int
px_sse_pending(const struct px_sse *s)
{
	return s->line.len > 0 || s->have_data;
}

void
px_sse_free(struct px_sse *s)
{
	if (s == NULL)
		return;
	px_buf_free(&s->line);
	px_buf_free(&s->data);
	s->have_data = 0;
	s->last_cr = 0;
}
