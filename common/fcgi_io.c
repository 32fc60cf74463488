/*
 * fcgi_io.c -- libfcgi and plain-CGI I/O behind one struct (see fcgi_io.h).
 * Facts this relies on (fastcgi-lmdb-notes.md §1, §6):
 * - FCGX_Accept_r does not serialise accept and needs no mutex on Linux;
 * - a gone client shows only as a failed FCGX_FFlush, never from PutStr;
 * - FCGX_Init installs a no-op SIGPIPE handler: never reset SIGPIPE.
 * Never: blocks other threads; each FCGX_Request is used by one thread at
 * a time (its worker's, or the stream loop's while that worker sleeps,
 * which asks px_io_backlogged before it writes).
 */
#include "fcgi_io.h"

#include <errno.h>
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

struct px_fcgi_req {
	FCGX_Request rq;
};

int
px_fcgi_init(void)
{
	return FCGX_Init();
}

int
px_fcgi_is_cgi(void)
{
	return FCGX_IsCGI();
}

/* Does a server accept connections on the unix socket at path? */
static int
socket_live(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc == 0;
}

/*
 * libfcgi unlinks a unix path before it binds. Let it only when the path
 * is absent or a socket nobody listens on any more (a crashed pool's).
 */
static int
unix_path_free(const char *path, char *err, size_t cap)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, cap, "%s exists and is not a socket; refusing "
		    "to replace it", path);
		return -1;
	}
	if (socket_live(path)) {
		snprintf(err, cap, "%s: another server is listening there",
		    path);
		return -1;
	}
	return 0;
}

int
px_fcgi_listen(const char *addr, int is_unix, int backlog,
    struct px_fcgi_sock *sk, char *err, size_t cap)
{
	struct stat st;
	int fd;

	memset(sk, 0, sizeof(*sk));
	snprintf(err, cap, "cannot listen on %s", addr);
	if (is_unix && unix_path_free(addr, err, cap) != 0)
		return -1;
	fd = FCGX_OpenSocket(addr, backlog);
	if (fd < 0)
		return -1;
	if (is_unix && lstat(addr, &st) == 0) {
		sk->is_unix = 1;
		sk->dev = (unsigned long)st.st_dev;
		sk->ino = (unsigned long)st.st_ino;
		snprintf(sk->path, sizeof(sk->path), "%s", addr);
	}
	err[0] = '\0';
	return fd;
}

void
px_fcgi_unlink(const struct px_fcgi_sock *sk)
{
	struct stat st;

	/* only the very socket we bound: never a file put there since */
	if (sk->is_unix && lstat(sk->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    (unsigned long)st.st_dev == sk->dev &&
	    (unsigned long)st.st_ino == sk->ino)
		(void)unlink(sk->path);
}

/*
 * Connections accepted from fd inherit its receive timeout (Linux copies
 * SO_RCVTIMEO to accepted sockets), so a peer that connects and sends
 * nothing, or stops half-way through its request, makes libfcgi's read
 * fail after ms: FCGX_Accept_r then closes that connection and accepts
 * the next one. accept() itself then returns EAGAIN every ms while idle;
 * px_fcgi_accept simply calls again.
 */
int
px_fcgi_set_read_timeout(int fd, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

void
px_fcgi_shutdown_pending(void)
{
	FCGX_ShutdownPending();
}

struct px_fcgi_req *
px_fcgi_req_new(int listen_fd)
{
	struct px_fcgi_req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	if (FCGX_InitRequest(&r->rq, listen_fd, 0) != 0) {
		free(r);
		return NULL;
	}
	return r;
}

void
px_fcgi_req_free(struct px_fcgi_req *r)
{
	if (r == NULL)
		return;
	FCGX_Free(&r->rq, 0);
	free(r);
}

int
px_fcgi_accept(struct px_fcgi_req *r, struct px_io *io)
{
	int rc;

	/* EAGAIN: the listening socket's receive timeout ran out with no
	 * connection; a shutdown makes the next call fail for good. libfcgi
	 * returns -errno after a shutdown without setting errno, so a stale
	 * EAGAIN would loop here forever: errno is cleared before each call */
	do {
		errno = 0;
		rc = FCGX_Accept_r(&r->rq);
	} while (rc == -EAGAIN || rc == -EWOULDBLOCK);

	memset(io, 0, sizeof(*io));
	if (rc < 0)
		return rc;
	io->in = r->rq.in;
	io->out = r->rq.out;
	io->envp = r->rq.envp;
	io->fd = r->rq.ipcFd;
	return 0;
}

void
px_fcgi_finish(struct px_fcgi_req *r, struct px_io *io)
{
	FCGX_Finish_r(&r->rq);
	memset(io, 0, sizeof(*io));
}

void
px_io_cgi_init(struct px_io *io, char **environ_)
{
	memset(io, 0, sizeof(*io));
	io->cgi = 1;
	io->envp = environ_;
}

const char *
px_io_param(const struct px_io *io, const char *name)
{
	size_t n = strlen(name);
	char **e;

	if (io->envp == NULL)
		return NULL;
	for (e = io->envp; *e != NULL; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

long
px_io_read(struct px_io *io, char *buf, size_t n)
{
	size_t got;

	if (n > (size_t)0x7fffffff)
		n = 0x7fffffff;
	if (!io->cgi)
		return FCGX_GetStr(buf, (int)n, (FCGX_Stream *)io->in);
	got = fread(buf, 1, n, stdin);
	if (got == 0 && ferror(stdin))
		return -1;
	return (long)got;
}

int
px_io_write(struct px_io *io, const void *p, size_t n)
{
	if (io->gone)
		return -1;
	if (n == 0)
		return 0;
	if (io->cgi) {
		if (fwrite(p, 1, n, stdout) != n)
			io->gone = 1;
	} else if (n > (size_t)0x7fffffff ||
	    FCGX_PutStr(p, (int)n, (FCGX_Stream *)io->out) != (int)n) {
		io->gone = 1;
	}
	io->since += n;
	return io->gone ? -1 : 0;
}

int
px_io_flush(struct px_io *io)
{
	if (io->gone)
		return -1;
	if (io->cgi) {
		if (fflush(stdout) != 0)
			io->gone = 1;
	} else if (FCGX_FFlush((FCGX_Stream *)io->out) < 0) {
		io->gone = 1;
	}
	return io->gone ? -1 : 0;
}

/*
 * SIOCOUTQ is what the socket still holds; on a unix socket it counts the
 * kernel's overhead per write as SO_SNDBUF does, and a write blocks only
 * near SO_SNDBUF. A quarter leaves room for what is written between looks
 * (16 events or an eighth of the buffer) and for a stream's closing events.
 */
#define LOOK_EVERY 16

int
px_io_backlogged(struct px_io *io, int now)
{
	socklen_t len = sizeof(io->sndbuf);
	int q = 0;

	if (io->cgi || io->gone)
		return 0;
	if (!now && ++io->flushes < LOOK_EVERY &&
	    io->since < (size_t)(io->sndbuf > 0 ? io->sndbuf / 8 : 8192))
		return 0;
	io->flushes = 0;
	io->since = 0;
	if (io->sndbuf <= 0 && getsockopt(io->fd, SOL_SOCKET, SO_SNDBUF,
	    &io->sndbuf, &len) != 0)
		io->sndbuf = 0;
	if (io->sndbuf <= 0 || ioctl(io->fd, SIOCOUTQ, &q) != 0)
		return 0;
	return q > io->sndbuf / 4;
}
