/*
 * fcgi_io.c -- libfcgi and plain-CGI I/O behind one struct (see fcgi_io.h).
 * Facts this relies on (fastcgi-lmdb-notes.md §1, §6):
 * - FCGX_Accept_r does not serialise accept and needs no mutex on Linux;
 * - a gone client shows only as a failed FCGX_FFlush, never from PutStr;
 * - FCGX_Init installs a no-op SIGPIPE handler: never reset SIGPIPE.
 * Never: blocks other threads; each FCGX_Request belongs to one thread.
 */
#include "fcgi_io.h"

#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int
px_fcgi_listen(const char *addr, int backlog)
{
	/* libfcgi binds INADDR_ANY for ":port"; demand an explicit host. */
	if (addr[0] == ':')
		return -1;
	return FCGX_OpenSocket(addr, backlog);
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
	int rc = FCGX_Accept_r(&r->rq);

	memset(io, 0, sizeof(*io));
	if (rc < 0)
		return rc;
	io->in = r->rq.in;
	io->out = r->rq.out;
	io->envp = r->rq.envp;
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
