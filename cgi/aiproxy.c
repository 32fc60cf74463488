/*
 * aiproxy.c -- the thin entry point: arguments, configuration, run mode.
 * Owns: the command line, --check-config, and the order of process-wide
 * initialisation (libfcgi, libcurl) before any thread or fork.
 * Never: serves requests itself (common/server.c and common/app.c do), or
 * reads an argument when the process runs as CGI: Apache's mod_cgi and
 * mod_cgid turn a query string without '=' into argv words (RFC 3875
 * 4.4), so there argv is the client's, not the operator's.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "fcgi_io.h"
#include "listenaddr.h"
#include "server.h"
#include "upstream.h"

#define AIPROXY_VERSION "0.1.0"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: aiproxy [--config FILE] [--threads T]\n"
	    "       aiproxy --listen HOST:PORT|/path.sock [--listen-any] "
	    "[--workers N]\n"
	    "               [--threads T] [--socket-mode 0660] "
	    "[--config FILE]\n"
	    "       aiproxy --check-config FILE\n"
	    "       aiproxy ctl [--config FILE] COMMAND (aiproxy ctl --help)\n"
	    "Without --listen it serves FastCGI on fd 0 when a web server "
	    "spawns it,\nor one request as plain CGI (then every argument "
	    "is ignored). The config\npath defaults to $AIPROXY_CONFIG, "
	    "then ./config.json. --listen refuses a\nwildcard address "
	    "(0.0.0.0, *, an empty host) unless --listen-any is given.\n");
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

static void
print_warnings(const struct px_config *cfg, FILE *f)
{
	unsigned i;

	for (i = 0; i < cfg->warnings.n; i++)
		fprintf(f, "warning: %s\n", cfg->warnings.msg[i]);
}

static int
load(const char *path, struct px_config **cfg, int quiet_ok)
{
	struct px_cfg_errors errs;
	unsigned i;

	if (px_config_load(path, cfg, &errs) == PX_OK) {
		if (!quiet_ok) {
			print_warnings(*cfg, stderr);
			printf("configuration OK\n");
		}
		return 0;
	}
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	return 1;
}

/* Under CGI a broken config still owes the client an OpenAI error. */
static void
cgi_config_error(int cgi)
{
	if (!cgi)
		return;
	printf("Status: 500 Internal Server Error\r\nContent-Type: "
	    "application/json\r\n\r\n{\"error\":{\"message\":\"proxy "
	    "configuration invalid; see the server log\",\"type\":"
	    "\"server_error\",\"param\":null,\"code\":null}}");
}

/*
 * Started by a web server as CGI: the request is in the environment
 * (RFC 3875 makes GATEWAY_INTERFACE and REQUEST_METHOD mandatory). A
 * FastCGI responder gets its requests over fd 0 instead and has neither.
 */
static int
cgi_environment(void)
{
	return getenv("GATEWAY_INTERFACE") != NULL ||
	    getenv("REQUEST_METHOD") != NULL;
}

struct cli {
	struct px_server_opts o;
	const char *path;
	const char *listen;
	int listen_any;
	int exit_now;		/* >= 0: exit with this status */
};

/* "aiproxy: ARG: WHY"; the run stops with status 2. */
static int
bad_arg(struct cli *c, const char *a, const char *why)
{
	fprintf(stderr, "aiproxy: %s: %s\n", a, why);
	if (c->exit_now < 0)
		usage(stderr);
	c->exit_now = 2;
	return -1;
}

/* One option (and its value); returns how many words it took, -1 stop. */
static int
option(struct cli *c, const char *a, const char *v)
{
	if (strcmp(a, "--listen-any") == 0) {
		c->listen_any = 1;
		return 1;
	}
	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
		usage(stdout);
		c->exit_now = 0;
		return -1;
	}
	if (strcmp(a, "--version") == 0) {
		printf("aiproxy %s\n", AIPROXY_VERSION);
		c->exit_now = 0;
		return -1;
	}
	if (v == NULL)
		return bad_arg(c, a, "unknown option, or its value is missing");
	if (strcmp(a, "--config") == 0) {
		c->path = v;
	} else if (strcmp(a, "--listen") == 0) {
		c->listen = v;
	} else if (strcmp(a, "--workers") == 0 || strcmp(a, "--threads") == 0) {
		if (parse_uint(v, 1, a[2] == 'w' ? 1024 : 4096,
		    a[2] == 'w' ? &c->o.workers : &c->o.threads) != 0)
			return bad_arg(c, a, "expected a number");
	} else if (strcmp(a, "--socket-mode") == 0) {
		char *end;
		long m = strtol(v, &end, 8);

		if (*end != '\0' || m < 0 || m > 0777)
			return bad_arg(c, a, "expected octal like 0660");
		c->o.socket_mode = (int)m;
	} else {
		return bad_arg(c, a, "unknown option");
	}
	return 2;
}

/* The operator's command line; --check-config runs at once. */
static void
parse_args(struct cli *c, int argc, char **argv)
{
	struct px_config *cfg = NULL;
	int i, n;

	for (i = 1; i < argc && c->exit_now < 0; i += n) {
		if (strcmp(argv[i], "--check-config") == 0 && i + 1 < argc) {
			c->exit_now = load(argv[i + 1], &cfg, 0);
			px_config_free(cfg);
			return;
		}
		n = option(c, argv[i], i + 1 < argc ? argv[i + 1] : NULL);
		if (n < 0)
			return;
	}
	if (c->listen_any && c->listen == NULL)
		(void)bad_arg(c, "--listen-any", "needs --listen");
}

static int
check_listen(struct cli *c, struct px_listen *l)
{
	char err[320];

	if (c->listen == NULL)
		return 0;
	if (px_listen_parse(c->listen, c->listen_any, l, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "aiproxy: --listen: %s\n", err);
		return -1;
	}
	c->o.listen = l;
	return 0;
}

/*
 * A responder on fd 0 whose config changed and which has no sibling to
 * serve meanwhile runs itself again: same pid (the web server sees no
 * exit), fd 0 still the listening socket, whose backlog holds the
 * connections that arrive meanwhile. Every other descriptor is closed
 * first. When exec fails, exit 0: the web server starts a fresh one.
 */
static int
restart(char **argv)
{
	const char *exe = strchr(argv[0], '/') != NULL ? argv[0] :
	    "/proc/self/exe";
	int fds[256], n = 0, i;
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");

	while (d != NULL && (e = readdir(d)) != NULL && n < 256) {
		int fd = atoi(e->d_name);

		if (fd > 2 && fd != dirfd(d))
			fds[n++] = fd;
	}
	if (d != NULL)
		closedir(d);
	for (i = 0; i < n; i++)
		(void)close(fds[i]);
	fflush(NULL);
	execv(exe, argv);
	fprintf(stderr, "aiproxy: restart: %s: %s; exiting instead\n", exe,
	    strerror(errno));
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli c = { { .listen = NULL, .workers = 2, .socket_mode = -1 },
	    NULL, NULL, 0, -1 };
	struct px_config *cfg = NULL;
	struct px_listen l;
	int cgi = cgi_environment(), rc;

	/* First of all: under CGI, argv may be a query string's words. */
	if (!cgi && argc > 1 && strcmp(argv[1], "ctl") == 0)
		return px_ctl_main(argc - 1, argv + 1);
	if (!cgi)
		parse_args(&c, argc, argv);
	if (c.exit_now >= 0)
		return c.exit_now;
	if (check_listen(&c, &l) != 0)
		return 2;
	if (c.o.threads == 0 && getenv("AIPROXY_THREADS") != NULL &&
	    parse_uint(getenv("AIPROXY_THREADS"), 1, 4096, &c.o.threads) != 0) {
		fprintf(stderr, "aiproxy: AIPROXY_THREADS: expected 1..4096\n");
		return 2;
	}
	c.path = c.path != NULL ? c.path : getenv("AIPROXY_CONFIG");
	if (c.path == NULL || *c.path == '\0')
		c.path = "config.json";
	/* stamped before it is read: a change from here on is seen */
	c.o.config_path = c.path;
	px_file_stamp_get(c.path, &c.o.config_stamp);
	if (load(c.path, &cfg, 1) != 0) {
		cgi_config_error(cgi || px_fcgi_is_cgi());
		return 1;
	}
	if (px_fcgi_init() != 0 || px_http_global_init() != 0) {
		fprintf(stderr, "aiproxy: library initialisation failed\n");
		px_config_free(cfg);
		return 1;
	}
	/* fd 0 tells CGI (one request from the environment) from a spawned
	 * FastCGI responder (fd 0 is the web server's listening socket) */
	rc = px_server_run(cfg, &c.o, c.o.listen == NULL && px_fcgi_is_cgi());
	px_http_global_cleanup();
	px_config_free(cfg);
	if (rc == PX_SERVER_RESTART)
		rc = restart(argv);
	return rc;
}
