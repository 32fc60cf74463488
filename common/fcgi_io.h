/*
 * fcgi_io.h -- the request/response channel to the web server.
 * Owns: everything libfcgi (the only includer of <fcgiapp.h>): init, the
 * listening socket, per-thread FCGX_Request accept/finish, params, body
 * reads, output writes and flushes, how much output the web server left
 * unread (px_io_backlogged); and the plain-CGI variant of the same channel
 * (environ, stdin, stdout) for shared hosting.
 * Never: interprets requests or builds responses (app.c, reply.c do).
 */
#ifndef PX_FCGI_IO_H
#define PX_FCGI_IO_H

#include <stddef.h>

struct px_dialect;
struct px_dstate;

/* One request's channel. Valid from accept until finish. */
struct px_io {
	void  *in;		/* FCGX_Stream * (NULL in CGI mode) */
	void  *out;		/* FCGX_Stream * (NULL in CGI mode) */
	char **envp;		/* request params */
	int    cgi;		/* plain CGI: stdin/stdout */
	int    gone;		/* a write or flush failed: client left */
	int    fd;		/* the web server connection (FastCGI) */
	/* guard: set while the stream loop's thread writes, which must
	 * never block: the writer asks px_io_backlogged before each event
	 * and waits while it says so. slow: the writer gave up on a web
	 * server (client) that took nothing for too long */
	int    guard;
	int    slow;
	unsigned flushes;	/* since the last look at the send queue */
	size_t since;		/* bytes written since then */
	int    sndbuf;		/* SO_SNDBUF, read at the first look */
	int    status;		/* status line sent, 0 before */
	size_t bytes_out;	/* bytes written after the head */
	/* the language spoken on this channel, set by the router before
	 * anything is written: reply.c shapes errors and heads with it
	 * (NULL: Chat Completions) */
	const struct px_dialect *dialect;
	const struct px_dstate  *dstate;	/* may be NULL */
	const char              *reqid;		/* for dialect headers */
};

struct px_fcgi_req;

int  px_fcgi_init(void);		/* once, before threads; 0 ok */
int  px_fcgi_is_cgi(void);		/* started as plain CGI */
/* A socket this process bound, so only that socket is ever unlinked. */
struct px_fcgi_sock {
	int           is_unix;
	unsigned long dev, ino;
	char          path[128];
};
/*
 * Bind addr, already checked by px_listen_parse ("a.b.c.d:port" or a unix
 * path). A unix path is replaced only when it is absent or a stale socket;
 * a regular file, a directory or a live socket is refused. fd, or -1 with
 * the reason in err.
 */
int  px_fcgi_listen(const char *addr, int is_unix, int backlog,
    struct px_fcgi_sock *sk, char *err, size_t cap);
/* Remove the socket bound by px_fcgi_listen if it is still that socket. */
void px_fcgi_unlink(const struct px_fcgi_sock *sk);
/* Drop FastCGI connections that send nothing for ms (SO_RCVTIMEO). */
int  px_fcgi_set_read_timeout(int fd, long ms);
/* Tell libfcgi to stop accepting (sets its shutdown flag). */
void px_fcgi_shutdown_pending(void);

/* Per worker thread. NULL on allocation failure. */
struct px_fcgi_req *px_fcgi_req_new(int listen_fd);
void px_fcgi_req_free(struct px_fcgi_req *r);	/* NULL-safe */
/* Block for the next request; 0 and io filled, or <0: leave the loop. */
int  px_fcgi_accept(struct px_fcgi_req *r, struct px_io *io);
void px_fcgi_finish(struct px_fcgi_req *r, struct px_io *io);

void px_io_cgi_init(struct px_io *io, char **environ_);

const char *px_io_param(const struct px_io *io, const char *name);
/* Read up to n body bytes; 0 at end, -1 on error. */
long px_io_read(struct px_io *io, char *buf, size_t n);
/* Write n bytes; -1 once the client is gone (io->gone set). */
int  px_io_write(struct px_io *io, const void *p, size_t n);
/* Push buffered output to the web server; -1 when the client is gone. */
int  px_io_flush(struct px_io *io);
/*
 * 1 when the web server has left a quarter of the connection's send buffer
 * unread, so that more output could soon block. Looks (one ioctl) after
 * every 16 flushes or an eighth of the buffer written since the last look,
 * or at once with now set; 0 in between, and always under CGI.
 */
int  px_io_backlogged(struct px_io *io, int now);

#endif
