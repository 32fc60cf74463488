/*
 * page.h -- the usage page: GET {prefix}/ and {prefix}/usage serve one
 * HTML page, {prefix}/usage.js and {prefix}/usage.css its script and
 * style, all compiled into the binary (common/page/, page_assets.h).
 * The page reads {prefix}/v1/usage itself, with the key the operator
 * types in; serving it needs no key and touches no state.
 * Never: serves server data, reads the ledger or the config, or answers a
 * path with a "/v1/" segment (those are the API's, app.c's match_route).
 */
#ifndef PX_PAGE_H
#define PX_PAGE_H

#include <stddef.h>

#include "fcgi_io.h"

struct px_page_asset {
	const char *name;	/* last path segment: "usage", "usage.js" */
	const char *ctype;
	const char *body;
	const size_t *len;	/* body's length (in the generated file) */
};

/*
 * The asset a request path (no query string) names: its last segment is
 * "" or "usage" (the page), "usage.js" or "usage.css". NULL otherwise.
 * *ours is set when the path is in the page's namespace at all (those
 * and any other "usage.*" outside "/v1/"), so an unknown asset name gets
 * the page's 404 rather than the API's.
 */
const struct px_page_asset *px_page_find(const char *path, int *ours);

/*
 * Answer a request for path when it is the page's: GET and HEAD (the
 * head alone) with Content-Type, Content-Security-Policy, nosniff,
 * Cache-Control: no-cache and an ETag (If-None-Match -> 304); 404 for an
 * unknown "usage.*"; 405 with Allow for other methods. Returns 1 when it
 * answered, 0 when the path is not the page's (nothing written).
 */
int px_page_handle(struct px_io *io, const char *method, const char *path);

#endif
