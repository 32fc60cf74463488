/*
 * page.c -- the usage page's routes (see page.h): which paths are the
 * page's, and their answers with the security headers.
 * Owns: the page's namespace outside "/v1/" (a last path segment of "",
 * "usage" or "usage.*"), the three compiled-in assets (page_assets.h),
 * their Content-Type, the Content-Security-Policy that lets them run
 * (scripts and styles from this origin only, fetches to this origin
 * only, nothing inline, no frames, no forms posted anywhere), nosniff,
 * no-referrer, Cache-Control: no-cache with an ETag, HEAD, 404 for an
 * unknown asset name and 405 for other methods.
 * Never: asks for or checks the access key (the page holds no data; the
 * page's own fetch of /v1/usage is authenticated by app.c), opens the
 * ledger or the config, writes server data into a page, or answers a
 * path with a "/v1/" segment.
 */
#include "page.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "page_assets.h"
#include "reply.h"

#define CSP "Content-Security-Policy: default-src 'none'; " \
	"script-src 'self'; style-src 'self'; connect-src 'self'; " \
	"img-src 'self' data:; base-uri 'none'; form-action 'none'; " \
	"frame-ancestors 'none'\r\n"
#define SAFE CSP "X-Content-Type-Options: nosniff\r\n" \
	"Referrer-Policy: no-referrer\r\n" \
	"X-Frame-Options: DENY\r\n" \
	"Cross-Origin-Opener-Policy: same-origin\r\n" \
	"Cross-Origin-Resource-Policy: same-origin\r\n"
/* SAFE and the lines added to it fit the heads' buffers (extra[1024]) */
_Static_assert(sizeof(SAFE) < 700, "page headers outgrew their buffer");

/* Last path segments; "" is the page too ("{prefix}/"). */
static const struct px_page_asset assets[] = {
	{ "usage", "text/html; charset=utf-8", px_page_html,
	  &px_page_html_len },
	{ "usage.js", "text/javascript; charset=utf-8", px_page_js,
	  &px_page_js_len },
	{ "usage.css", "text/css; charset=utf-8", px_page_css,
	  &px_page_css_len },
};

const struct px_page_asset *
px_page_find(const char *path, int *ours)
{
	const char *seg;
	size_t i;

	*ours = 0;
	if (path == NULL || strstr(path, "/v1/") != NULL)
		return NULL;
	seg = strrchr(path, '/');
	seg = seg != NULL ? seg + 1 : path;
	if (*seg == '\0')
		seg = assets[0].name;
	if (strncmp(seg, "usage", 5) != 0 ||
	    (seg[5] != '\0' && seg[5] != '.'))
		return NULL;
	*ours = 1;
	for (i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
		if (strcmp(seg, assets[i].name) == 0)
			return &assets[i];
	return NULL;
}

/* A strong validator of the bytes: FNV-1a 64, quoted. */
static void
etag(const struct px_page_asset *a, char *dst, size_t cap)
{
	uint64_t h = 0xcbf29ce484222325u;
	size_t i;

	for (i = 0; i < *a->len; i++)
		h = (h ^ (unsigned char)a->body[i]) * 0x100000001b3u;
	snprintf(dst, cap, "\"px-%016llx\"", (unsigned long long)h);
}

/* If-None-Match names our tag (or "*"): the client's copy is current. */
static int
not_modified(const struct px_io *io, const char *tag)
{
	const char *inm = px_io_param(io, "HTTP_IF_NONE_MATCH");

	return inm != NULL && (strstr(inm, tag) != NULL ||
	    strcmp(inm, "*") == 0);
}

/* A short text/plain answer with the same headers (404, 405). */
static void
plain(struct px_io *io, int status, const char *allow, const char *text,
    int head_only)
{
	char extra[1024];

	snprintf(extra, sizeof(extra), "%s%sCache-Control: no-store\r\n",
	    SAFE, allow != NULL ? allow : "");
	if (px_reply_head(io, status, "text/plain; charset=utf-8", extra) !=
	    PX_OK || head_only)
		return;
	if (px_io_write(io, text, strlen(text)) == 0)
		io->bytes_out += strlen(text);
}

int
px_page_handle(struct px_io *io, const char *method, const char *path)
{
	const struct px_page_asset *a;
	char extra[1024], tag[32];
	int ours, head;

	a = px_page_find(path, &ours);
	if (!ours)
		return 0;
	head = method != NULL && strcmp(method, "HEAD") == 0;
	if (!head && (method == NULL || strcmp(method, "GET") != 0)) {
		plain(io, 405, "Allow: GET, HEAD\r\n",
		    "405: the usage page answers GET and HEAD\n", 0);
		return 1;
	}
	if (a == NULL) {
		plain(io, 404, NULL, "404 no such file of the usage page\n",
		    head);
		return 1;
	}
	etag(a, tag, sizeof(tag));
	snprintf(extra, sizeof(extra), "%sCache-Control: no-cache\r\n"
	    "ETag: %s\r\n", SAFE, tag);
	if (not_modified(io, tag)) {
		(void)px_reply_head(io, 304, a->ctype, extra);
		return 1;
	}
	/* HEAD: no Content-Length, like the answer to the HEAD / probe
	 * (the web server passes it on; no body follows it) */
	if (!head)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		    "Content-Length: %zu\r\n", *a->len);
	if (px_reply_head(io, 200, a->ctype, extra) != PX_OK || head)
		return 1;
	if (px_io_write(io, a->body, *a->len) == 0)
		io->bytes_out += *a->len;
	return 1;
}
