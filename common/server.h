/*
 * server.h -- process and thread model of a responder.
 * Owns: the three run modes (threads on the web server's fd 0; an own
 * prefork pool on --listen; one plain-CGI request), worker threads with
 * 256 KiB stacks, and prompt clean shutdown on SIGTERM (sigwait in main,
 * SIGUSR1 to our own threads only; fastcgi-lmdb-notes.md §6.1).
 * Never: handles requests itself (app.c), or calls shutdown() on a
 * listening socket other processes share.
 */
#ifndef PX_SERVER_H
#define PX_SERVER_H

#include "config.h"
#include "listenaddr.h"

struct px_server_opts {
	const struct px_listen *listen;	/* checked --listen; NULL: fd 0 or CGI */
	unsigned    workers;	/* processes in --listen mode */
	unsigned    threads;	/* per process; 0: cfg->threads */
	int         backlog;
	int         socket_mode;	/* chmod of a unix --listen socket; -1: umask */
};

/* Run until told to stop; returns the process exit status. cgi: the
 * process was started as CGI (one request from the environment). */
int px_server_run(const struct px_config *cfg, const struct px_server_opts *o,
    int cgi);

#endif
