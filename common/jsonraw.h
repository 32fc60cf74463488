/*
 * jsonraw.h -- byte-exact edits of a JSON text without re-printing it.
 * Owns: printing a tree compactly into a buffer, and locating a member of
 * the top-level object and splicing a new value
 * in, so every other byte the client sent reaches the provider unchanged
 * (number formats, key order, unknown fields).
 * Never: validates the document; callers pass text cJSON already accepted.
 */
#ifndef PX_JSONRAW_H
#define PX_JSONRAW_H

#include <stddef.h>
#include "buf.h"

/*
 * Find member `key` of the top-level object in json[0..len).
 * On success returns 1 and sets *off and *vlen to the value's span (for a
 * string, including its quotes). Returns 0 when absent or not an object.
 * The FIRST occurrence wins, matching cJSON_GetObjectItem.
 */
int px_json_find(const char *json, size_t len, const char *key,
    size_t *off, size_t *vlen);

/*
 * Write json into out with member `key`'s value replaced by the raw JSON
 * text `value`; when the member is absent it is added as the first member.
 * out is reset first. PX_ETOOBIG/PX_ENOMEM from the buffer.
 */
enum px_err px_json_set(struct px_buf *out, const char *json, size_t len,
    const char *key, const char *value);

struct cJSON;
/* Append root printed compactly (no newlines) to out; PX_ENOMEM when
 * cJSON cannot print it, the buffer's error when it does not fit. */
enum px_err px_json_print(const struct cJSON *root, struct px_buf *out);

#endif
