/*
 * redisurl.h -- where the shared ledger's Redis lives, from "redis_url".
 * Owns: the two accepted forms, redis://HOST[:PORT][/DB] (HOST a name,
 * an IPv4 address or [IPv6]; PORT 6379; DB 0) and
 * unix:///PATH[?db=DB], and the reason a string is neither.
 * Never: I/O or name resolution; a password in the URL is refused (it
 * belongs in "redis_password", which may be "env:NAME" and is never
 * printed).
 */
#ifndef PX_REDISURL_H
#define PX_REDISURL_H

#include <stddef.h>

struct px_redis_addr {
	int  is_unix;
	char host[256];		/* TCP: without the [] of an IPv6 address */
	int  port;		/* TCP: 1..65535 */
	char path[108];		/* unix: the socket (sun_path's size) */
	long db;		/* 0..1000000 */
};

/* 0 and *out, or -1 with why[cap] saying what is wrong. */
int px_redis_url_parse(const char *url, struct px_redis_addr *out, char *why,
    size_t cap);

#endif
