/*
 * thoughts.c -- the inline thought splitter (see thoughts.h).
 * The input is read as one virtual string, the bytes held back from the
 * previous call followed by the new ones, so a tag split across chunks is
 * found like any other.
 * Load: only for responses that asked for thought summaries; a linear
 * scan of each content delta.
 */
#include "thoughts.h"

#include <string.h>

static const char OPEN[] = "<thought>";
static const char CLOSE[] = "</thought>";

struct vstr {
	const char *a;		/* carried bytes */
	size_t      na;
	const char *b;		/* new bytes */
	size_t      nb;
};

static char
at(const struct vstr *v, size_t i)
{
	return i < v->na ? v->a[i] : v->b[i - v->na];
}

/* Does tag (or, with partial, its first n - i bytes) start at i? */
static int
tag_at(const struct vstr *v, size_t i, const char *tag, size_t n)
{
	size_t k;

	for (k = 0; tag[k] != '\0' && i + k < n; k++)
		if (at(v, i + k) != tag[k])
			return 0;
	return 1;	/* whole, or cut by the end (a possible prefix) */
}

static enum px_err
add_range(struct px_buf *dst, const struct vstr *v, size_t from, size_t to)
{
	enum px_err rc = PX_OK;

	if (from < v->na)
		rc = px_buf_add(dst, v->a + from, (to < v->na ? to : v->na) -
		    from);
	if (rc == PX_OK && to > v->na) {
		size_t s = from > v->na ? from - v->na : 0;

		rc = px_buf_add(dst, v->b + s, to - v->na - s);
	}
	return rc;
}

enum px_err
px_thoughts_split(struct px_thoughts *t, const char *s, size_t n,
    struct px_buf *content, struct px_buf *reasoning)
{
	char carried[sizeof(t->carry)];
	struct vstr v;
	size_t len, i, run = 0, tl;
	enum px_err rc = PX_OK;

	memcpy(carried, t->carry, t->ncarry);
	v = (struct vstr){ carried, t->ncarry, s, n };
	len = t->ncarry + n;
	t->ncarry = 0;
	for (i = 0; i < len && rc == PX_OK; i++) {
		const char *tag = t->in ? CLOSE : OPEN;

		if (at(&v, i) != '<' || !tag_at(&v, i, tag, len))
			continue;
		tl = strlen(tag);
		if (i + tl > len) {	/* maybe a tag: hold it back */
			rc = add_range(t->in ? reasoning : content, &v, run, i);
			for (t->ncarry = 0; i < len; i++)
				t->carry[t->ncarry++] = at(&v, i);
			return rc;
		}
		rc = add_range(t->in ? reasoning : content, &v, run, i);
		t->in = !t->in;
		run = i + tl;
		i = run - 1;
	}
	if (rc == PX_OK)
		rc = add_range(t->in ? reasoning : content, &v, run, len);
	return rc;
}

enum px_err
px_thoughts_flush(struct px_thoughts *t, struct px_buf *content,
    struct px_buf *reasoning)
{
	enum px_err rc = px_buf_add(t->in ? reasoning : content, t->carry,
	    t->ncarry);

	t->ncarry = 0;
	return rc;
}
