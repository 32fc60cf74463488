/*
 * aiproxy.c -- the thin entry point: arguments, configuration, run mode.
 * Owns: the command line, --check-config, and the order of process-wide
 * initialisation (libfcgi, libcurl) before any thread or fork.
 * Never: serves requests itself (common/server.c and common/app.c do).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fcgi_io.h"
#include "server.h"
#include "upstream.h"

#define AIPROXY_VERSION "0.1.0"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: aiproxy [--config FILE] [--threads T]\n"
	    "       aiproxy --listen HOST:PORT|/path.sock [--workers N] "
	    "[--threads T] [--socket-mode 0660] [--config FILE]\n"
	    "       aiproxy --check-config FILE\n"
	    "Without --listen it serves FastCGI on fd 0 when a web server "
	    "spawns it,\nor one request as plain CGI. The config path "
	    "defaults to $AIPROXY_CONFIG,\nthen ./config.json.\n");
}

static int
parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int
load(const char *path, struct px_config **cfg, int quiet_ok)
{
	struct px_cfg_errors errs;
	unsigned i;

	if (px_config_load(path, cfg, &errs) == PX_OK) {
		if (!quiet_ok)
			printf("configuration OK\n");
		return 0;
	}
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	return 1;
}

/* Under CGI a broken config still owes the client an OpenAI error. */
static void
cgi_config_error(void)
{
	if (!px_fcgi_is_cgi())
		return;
	printf("Status: 500 Internal Server Error\r\nContent-Type: "
	    "application/json\r\n\r\n{\"error\":{\"message\":\"proxy "
	    "configuration invalid; see the server log\",\"type\":"
	    "\"server_error\",\"param\":null,\"code\":null}}");
}

int
main(int argc, char **argv)
{
	struct px_server_opts o = { NULL, 2, 0, 0, -1 };
	const char *path = getenv("AIPROXY_CONFIG");
	struct px_config *cfg = NULL;
	int i, rc;

	if (getenv("AIPROXY_THREADS") != NULL &&
	    parse_uint(getenv("AIPROXY_THREADS"), 1, 4096, &o.threads) != 0) {
		fprintf(stderr, "aiproxy: AIPROXY_THREADS: expected 1..4096\n");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--check-config") == 0 && v != NULL) {
			px_config_free(cfg);
			return load(v, &cfg, 0) == 0 ?
			    (px_config_free(cfg), 0) : 1;
		} else if (strcmp(a, "--config") == 0 && v != NULL) {
			path = v;
		} else if (strcmp(a, "--listen") == 0 && v != NULL) {
			o.listen = v;
		} else if (strcmp(a, "--workers") == 0 ||
		    strcmp(a, "--threads") == 0) {
			if (parse_uint(v, 1, a[2] == 'w' ? 1024 : 4096,
			    a[2] == 'w' ? &o.workers : &o.threads) != 0) {
				fprintf(stderr, "aiproxy: %s: expected a "
				    "number\n", a);
				return 2;
			}
		} else if (strcmp(a, "--socket-mode") == 0 && v != NULL) {
			char *end;
			long m = strtol(v, &end, 8);

			if (*end != '\0' || m < 0 || m > 0777) {
				fprintf(stderr, "aiproxy: --socket-mode: "
				    "expected octal like 0660\n");
				return 2;
			}
			o.socket_mode = (int)m;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("aiproxy %s\n", AIPROXY_VERSION);
			return 0;
		} else {
			fprintf(stderr, "aiproxy: bad argument: %s\n", a);
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (path == NULL || *path == '\0')
		path = "config.json";
	if (load(path, &cfg, 1) != 0) {
		cgi_config_error();
		return 1;
	}
	if (px_fcgi_init() != 0 || px_http_global_init() != 0) {
		fprintf(stderr, "aiproxy: library initialisation failed\n");
		px_config_free(cfg);
		return 1;
	}
	rc = px_server_run(cfg, &o);
	px_http_global_cleanup();
	px_config_free(cfg);
	return rc;
}
