/*
 * log.h -- one line per event on stderr (the web server's error log).
 * Owns: the line format, escaping of client-supplied text, atomic writes.
 * Never: sees a provider key; callers pass key ids only (config.h px_key_id).
 */
#ifndef PX_LOG_H
#define PX_LOG_H

#include <stddef.h>

enum px_log_level { PX_LOG_ERROR, PX_LOG_WARN, PX_LOG_INFO, PX_LOG_DEBUG };

/* Remember this process's pid for log lines and request ids (getpid is
 * a system call). Call in each process before its threads start. */
void px_log_init(void);
long px_log_pid(void);

/* A free-form line: "<time> aiproxy[pid] LEVEL text". */
void px_log(enum px_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Everything one request line records. NULL strings print as "-". */
struct px_reqlog {
	const char *id;		/* request id */
	const char *method;
	const char *route;	/* matched route name or the raw path */
	const char *model;	/* client-supplied: escaped when printed */
	const char *provider;
	const char *key_id;	/* short id, never the key */
	int    status;		/* HTTP status sent to the client */
	long   upstream_ms;	/* -1: no upstream call */
	long long upstream_us;	/* every attempt's upstream time, summed */
	long   total_ms;
	long long overhead_us;	/* total minus upstream_us: the proxy's */
	const char *client;	/* the client key's name, or NULL (admin) */
	size_t bytes_out;	/* body bytes written to the client */
	const char *note;	/* outcome detail, e.g. "client_gone" */
	int    attempts;	/* upstream attempts (0: none) */
	const char *why;	/* per attempt "keyid:outcome", '>'-joined */
	unsigned long auth_failures;	/* 401s of this process so far, set
					 * on a 401's line only (0: omitted) */
};

void px_log_request(const struct px_reqlog *r);

#endif
