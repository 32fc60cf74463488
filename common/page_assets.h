/*
 * page_assets.h -- the usage page's files, compiled in: the Makefile turns
 * common/page/usage.html, usage.js and usage.css into C strings
 * ($(B)/gen/page_assets.c), so they stay readable files in the tree and
 * the binary needs nothing beside it.
 * Never: edited by hand in its generated form; read by anything but
 * page.c.
 */
#ifndef PX_PAGE_ASSETS_H
#define PX_PAGE_ASSETS_H

#include <stddef.h>

extern const char px_page_html[];
extern const size_t px_page_html_len;
extern const char px_page_js[];
extern const size_t px_page_js_len;
extern const char px_page_css[];
extern const size_t px_page_css_len;

#endif
