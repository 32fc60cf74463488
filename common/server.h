/*
 * server.h -- process and thread model of a responder.
 * Owns: the three run modes (threads on the web server's fd 0; an own
 * prefork pool on --listen; one plain-CGI request), worker threads with
 * 256 KiB stacks, and prompt clean shutdown on SIGTERM (sigwait in main,
 * SIGUSR1 to our own threads only; fastcgi-lmdb-notes.md §6.1).
 * Config reload: the --listen pool re-reads the file on SIGHUP, checks it,
 * starts new workers on it and retires the old ones once the new accept;
 * a responder on fd 0 looks at the file's stamp once a second and, when
 * it changed to a valid config, stops accepting, finishes its requests and
 * exits 0 so the web server starts a fresh one (or, with no sibling to
 * serve meanwhile, starts again in place).
 * Never: handles requests itself (app.c), or calls shutdown() on a
 * listening socket other processes share.
 */
#ifndef PX_SERVER_H
#define PX_SERVER_H

#include <sys/types.h>

#include "config.h"
#include "listenaddr.h"

/* What says a file changed: device, inode, size, mtime (ns). */
struct px_file_stamp {
	int       ok;		/* 0: stat failed (err holds errno) */
	int       err;
	dev_t     dev;
	ino_t     ino;
	off_t     size;
	long long mtime_ns;
};

void px_file_stamp_get(const char *path, struct px_file_stamp *st);
int  px_file_stamp_eq(const struct px_file_stamp *a,
    const struct px_file_stamp *b);

struct px_server_opts {
	const struct px_listen *listen;	/* checked --listen; NULL: fd 0 or CGI */
	unsigned    workers;	/* processes in --listen mode */
	unsigned    threads;	/* per process; 0: cfg->threads */
	int         backlog;
	int         socket_mode;	/* chmod of a unix --listen socket; -1: umask */
	const char *config_path;	/* re-read on SIGHUP (--listen), watched
					 * on fd 0; NULL: neither */
	struct px_file_stamp config_stamp;	/* taken before it was loaded */
};

/* px_server_run's answer when a responder on fd 0 with no sibling
 * (lighttpd max-procs 1, mod_fcgid, ...) should start again in place on
 * its changed config: its caller frees everything and execs the binary
 * again with the same arguments (same pid, fd 0 still the socket). */
#define PX_SERVER_RESTART 256

/* Run until told to stop; returns the process exit status (or
 * PX_SERVER_RESTART). cgi: the process was started as CGI (one request
 * from the environment). */
int px_server_run(const struct px_config *cfg, const struct px_server_opts *o,
    int cgi);

#endif
