/*
 * listenaddr.h -- what an operator's --listen may name, checked before
 * anything is bound or unlinked.
 * Owns: telling a unix socket path from HOST:PORT, the length limit of a
 * unix socket path, refusing wildcard addresses (0.0.0.0, ::, *, an empty
 * host) unless --listen-any was given, resolving HOST to one IPv4 address,
 * and the normalised text handed to libfcgi (which copies it into a fixed
 * 4 KiB buffer and treats "*" or an empty host as every interface).
 * Never: binds, unlinks or stats anything (fcgi_io.c does, after this).
 */
#ifndef PX_LISTENADDR_H
#define PX_LISTENADDR_H

#include <stddef.h>

#define PX_LISTEN_PATH_MAX 107	/* sizeof(sockaddr_un.sun_path) - 1 */

struct px_listen {
	int  is_unix;		/* a socket path, else TCP */
	int  any;		/* TCP on every interface (--listen-any) */
	char addr[128];		/* normalised: the path, or "a.b.c.d:port" */
};

/*
 * Check spec; 0 and out filled, or -1 with a one-line reason in err.
 * A spec holding a '/' is a unix socket path; otherwise it must be
 * HOST:PORT with a numeric port 1..65535 and a host that resolves to an
 * IPv4 address (libfcgi binds IPv4 only).
 */
int px_listen_parse(const char *spec, int allow_any, struct px_listen *out,
    char *err, size_t errcap);

#endif
