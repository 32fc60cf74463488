/*
 * decoder.h -- one toolkit for the dialect decoders (Responses, Messages)
 * that turn a client body into the canonical chat request: they read
 * members, name the failing field by its JSON path and build the chat
 * tree through it, in the words validate.c uses for chat bodies
 * ("messages[2].role: expected one of ...; got \"x\"").
 * Owns: the current JSON path, the error text and its "got ..." echo
 * (client strings cut to PX_DEC_ECHO bytes on a UTF-8 boundary), typed
 * member lookups, picks from string sets, array walks, tree building with
 * a sticky out-of-memory flag, and the parse of a body after
 * px_validate_scan.
 * Never: I/O, logging, or the shape rules of any API (callers own those).
 * validate.c keeps its own inlined copy of the lookups: it runs on every
 * chat request, reads strictly (a repeated key is an error, null is a
 * value of its own) and a call into this file costs it about 1%.
 */
#ifndef PX_DECODER_H
#define PX_DECODER_H

#include <stddef.h>
#include "err.h"
#include "validate.h"

struct cJSON;

#define PX_DEC_ECHO	40	/* bytes of a client string shown in errors */

/* Type masks for px_dec_get() and px_dec_check(). */
enum {
	PX_T_STR  = 1u << 0,
	PX_T_NUM  = 1u << 1,
	PX_T_BOOL = 1u << 2,
	PX_T_ARR  = 1u << 3,
	PX_T_OBJ  = 1u << 4,
	PX_T_NULL = 1u << 5,	/* for px_dec_check: px_dec_get reads a
				 * null member as absent */
	PX_T_REQ  = 1u << 6,	/* the member must be present */
	PX_T_FULL = 1u << 7	/* a string member must not be empty */
};

/* How a decoder words its errors (px_dec_init). */
enum {
	/* "expected a string": articles and no "; got ..." echo
	 * (Responses). */
	PX_DEC_TERSE = 1u << 0,
	/* Every body error ends "(at byte N)", data after the value too
	 * (Messages); otherwise "... after the JSON value at byte N", as
	 * validate.c words it. */
	PX_DEC_PAREN = 1u << 1
};

/* One decode in progress; on the caller's stack, embedded in its state. */
struct px_dec {
	struct px_verr *err;	/* borrowed: where a failure is written */
	char     path[96];	/* JSON path of the value being read */
	size_t   plen;
	unsigned flags;		/* PX_DEC_* */
	int      oom;		/* sticky: some px_dec_put failed */
};

/* Empty path, no failure yet; err is cleared. */
void px_dec_init(struct px_dec *d, struct px_verr *err, unsigned flags);

/* Append ".key" (key NULL: "[idx]"), cut short at the path's size;
 * returns the old length for px_dec_path_cut. */
size_t px_dec_path_add(struct px_dec *d, const char *key, size_t idx);
/* The same for a key; key NULL: nothing added. */
size_t px_dec_path_key(struct px_dec *d, const char *key);
void   px_dec_path_cut(struct px_dec *d, size_t len);

/* strlen(s) cut to at most max bytes without splitting a character. */
size_t px_dec_utf8_cut(const char *s, size_t max);

/* err = {path[.key], "path[.key]: what"}, what cut to fit on a UTF-8
 * boundary; always PX_EBADREQ. */
enum px_err px_dec_fail(struct px_dec *d, const char *key, const char *what);
/* The same with what = fmt formatted. */
enum px_err px_dec_failf(struct px_dec *d, const char *key, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
/* "expected <want>; got <what it is>" (PX_DEC_TERSE: "expected <want>"). */
enum px_err px_dec_fail_got(struct px_dec *d, const char *key,
    const char *want, const struct cJSON *it);

/* PX_OK when the type of it is in want, else a px_dec_fail_got naming
 * the types ("string or array"; PX_DEC_TERSE "a string or an array"). */
enum px_err px_dec_check(struct px_dec *d, const char *key,
    const struct cJSON *it, unsigned want);
/*
 * Member key of obj (the first of that name), checked against want. *out
 * is NULL when it is absent or null (null reads as absent: the SDK types
 * make most fields nullable), or on failure; "required" when PX_T_REQ and
 * absent. Borrowed from obj.
 */
enum px_err px_dec_get(struct px_dec *d, const struct cJSON *obj,
    const char *key, unsigned want, const struct cJSON **out);
/* A string member (want: PX_T_REQ, PX_T_FULL); *out its text, "" when
 * absent or on failure. */
enum px_err px_dec_get_str(struct px_dec *d, const struct cJSON *obj,
    const char *key, unsigned want, const char **out);

/* Index of s in the NULL-terminated set, -1 when absent. */
int px_dec_index(const char *const *set, const char *s);
/* The string it must equal one of the NULL-terminated set: *idx = i,
 * else "expected one of a, b; got ..." ("\"a\"" for a set of one). */
enum px_err px_dec_pick(struct px_dec *d, const char *key,
    const struct cJSON *it, const char *const *set, int *idx);
/* fn(arg, element) for each element of arr with the path at key[i] (key
 * NULL: at [i]), up to the first failure; PX_ENOMEM when oom got set. */
enum px_err px_dec_each(struct px_dec *d, const char *key,
    const struct cJSON *arr,
    enum px_err (*fn)(void *arg, const struct cJSON *it), void *arg);

/*
 * item added to parent (under key, or appended when key is NULL); returns
 * it, or NULL with item freed and oom set when either is NULL or the add
 * fails, so a chain of puts is checked once at the end.
 */
struct cJSON *px_dec_put(struct px_dec *d, struct cJSON *parent,
    const char *key, struct cJSON *item);
struct cJSON *px_dec_put_str(struct px_dec *d, struct cJSON *parent,
    const char *key, const char *s);
struct cJSON *px_dec_put_dup(struct px_dec *d, struct cJSON *parent,
    const char *key, const struct cJSON *v);

/*
 * body[0..len) (NULL: empty) -> *root, an object: the byte screening of
 * px_validate_scan (UTF-8, control bytes, BOM, the max_values cap:
 * PX_ETOOBIG), then JSON syntax, nothing but white space after the value,
 * an object at the top (PX_EBADREQ, d->err's param ""). *root is NULL or
 * the caller's to free, whatever the result.
 */
enum px_err px_dec_parse(struct px_dec *d, const char *body, size_t len,
    size_t max_values, struct cJSON **root);

#endif
