/*
 * test_listen.c -- px_listen_parse: what --listen accepts, refuses and
 * hands to libfcgi (issue 9, H1).
 * Covers: unix paths and their length limit, HOST:PORT forms, wildcard
 * hosts refused without --listen-any and normalised with it, IPv6 and
 * malformed ports refused, localhost resolved to a dotted address.
 */
#include <stdio.h>
#include <string.h>

#include "listenaddr.h"
#include "tharness.h"

struct vec {
	const char *spec;
	int         any;	/* --listen-any */
	int         ok;
	const char *addr;	/* normalised, when ok */
	const char *err;	/* a part of the reason, when not */
};

static const struct vec vecs[] = {
	{ "/run/aiproxy/app.sock", 0, 1, "/run/aiproxy/app.sock", NULL },
	{ "./app.sock", 0, 1, "./app.sock", NULL },
	{ "127.0.0.1:9000", 0, 1, "127.0.0.1:9000", NULL },
	{ "localhost:9000", 0, 1, "127.0.0.1:9000", NULL },
	{ "10.1.2.3:65535", 0, 1, "10.1.2.3:65535", NULL },
	{ "0.0.0.0:9000", 0, 0, NULL, "every interface" },
	{ ":9000", 0, 0, NULL, "every interface" },
	{ "*:9000", 0, 0, NULL, "every interface" },
	{ "0.0.0.0:9000", 1, 1, "0.0.0.0:9000", NULL },
	{ "*:9000", 1, 1, "0.0.0.0:9000", NULL },
	{ ":9000", 1, 1, "0.0.0.0:9000", NULL },
	{ "::", 0, 0, NULL, "IPv6" },
	{ "[::]:9000", 1, 0, NULL, "IPv6" },
	{ "::1:9000", 0, 0, NULL, "IPv6" },
	{ "127.0.0.1:0", 0, 0, NULL, "port" },
	{ "127.0.0.1:65536", 0, 0, NULL, "port" },
	{ "127.0.0.1:90a", 0, 0, NULL, "port" },
	{ "127.0.0.1:", 0, 0, NULL, "port" },
	{ "127.0.0.1:+80", 0, 0, NULL, "port" },
	{ "app.sock", 0, 0, NULL, "HOST:PORT" },
	{ "", 0, 0, NULL, "empty" },
};

static void
test_vectors(void)
{
	struct px_listen l;
	char err[320], name[160];
	size_t i;

	for (i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
		const struct vec *v = &vecs[i];
		int rc = px_listen_parse(v->spec, v->any, &l, err, sizeof err);

		snprintf(name, sizeof name, "\"%s\"%s", v->spec,
		    v->any ? " --listen-any" : "");
		T_CHECK((rc == 0) == v->ok, name);
		if (v->ok) {
			T_STREQ(l.addr, v->addr, name);
			T_CHECK(l.is_unix == (strchr(v->spec, '/') != NULL),
			    name);
		} else {
			T_CHECK(strstr(err, v->err) != NULL, name);
		}
	}
}

/* A 4096-byte address once overflowed libfcgi's copy of it. */
static void
test_lengths(void)
{
	char spec[5000], err[320];
	struct px_listen l;

	memset(spec, 'a', sizeof spec);
	spec[0] = '/';
	spec[PX_LISTEN_PATH_MAX] = '\0';
	T_CHECK(px_listen_parse(spec, 0, &l, err, sizeof err) == 0 &&
	    l.is_unix, "a path of 107 bytes fits sun_path");
	spec[PX_LISTEN_PATH_MAX] = 'a';
	spec[PX_LISTEN_PATH_MAX + 1] = '\0';
	T_CHECK(px_listen_parse(spec, 0, &l, err, sizeof err) != 0 &&
	    strstr(err, "107 bytes") != NULL, "108 bytes refused");
	memset(spec, 'a', sizeof spec);
	spec[4095] = ':';
	memcpy(spec + 4096, "9000", 5);
	T_CHECK(px_listen_parse(spec, 1, &l, err, sizeof err) != 0,
	    "a 4 KiB host refused");
	T_CHECK(px_listen_parse(NULL, 0, &l, err, sizeof err) != 0, "NULL");
}

int
main(void)
{
	test_vectors();
	test_lengths();
	return t_done();
}
