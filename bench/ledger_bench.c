/*
 * ledger_bench.c -- reservations per second through the real ledger
 * (common/ledger.c over LMDB) for `make bench`.
 * Owns: P forked processes on one fresh state directory, each opening the
 * ledger after fork (as responders do) and looping for D seconds on
 * px_ledger_reserve (mode "r"), or reserve + settle, the two write
 * transactions every request makes (mode "rs"); px_ledger_maintain about
 * once a second, like the server. Prints the totals as key=value lines.
 * Never: sleeps, or lets a limit refuse (limits are at their maximum and
 * every reservation takes 1 token).
 *
 * usage: ledger_bench -d STATE_DIR [-p PROCS] [-t SECONDS] [-k KEYS]
 *                     [-m r|rs]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ledger.h"
#include "router.h"

#define LIMIT "1000000000"

static const struct px_candidate cand[] = {
	{ "bench-model", PX_PROV_OPENROUTER },
};

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct px_config *
make_config(const char *dir, int nkeys)
{
	char text[8192], keys[4096];
	struct px_cfg_errors e;
	struct px_config *cfg = NULL;
	size_t off = 0;
	int i, n;

	keys[0] = '\0';
	for (i = 0; i < nkeys && off + 32 < sizeof(keys); i++)
		off += (size_t)snprintf(keys + off, sizeof(keys) - off,
		    "%s\"bench-key-%d\"", i ? "," : "", i);
	n = snprintf(text, sizeof(text), "{\"access_key\":\"bench\","
	    "\"state_dir\":\"%s\",\"provider_keys\":[{\"provider\":"
	    "\"openrouter\",\"key\":[%s],\"max_request_day\":" LIMIT ","
	    "\"max_token_min\":" LIMIT ",\"max_request_min\":" LIMIT "}]}",
	    dir, keys);
	memset(&e, 0, sizeof(e));
	if (n <= 0 || (size_t)n >= sizeof(text) ||
	    px_config_parse(text, (size_t)n, "bench.json", &cfg, &e) != PX_OK) {
		fprintf(stderr, "ledger_bench: config: %s\n",
		    e.n ? e.msg[0] : "too long");
		return NULL;
	}
	return cfg;
}

/* One process: loop until the deadline; returns operations done. */
static long
worker(const struct px_config *cfg, double secs, int settle)
{
	struct px_ledger *lg = NULL;
	struct px_ledger_scratch *s;
	struct px_lease lease;
	char detail[256] = "";
	double end = mono_s() + secs, next_maint = mono_s() + 1.0, now;
	int64_t retry;
	long ops = 0;

	if (px_ledger_open(&lg, cfg, detail, sizeof(detail)) != PX_OK) {
		fprintf(stderr, "ledger_bench: open: %s\n", detail);
		return -1;
	}
	s = px_ledger_scratch_new(cfg);
	while (s != NULL && (now = mono_s()) < end) {
		if (px_ledger_reserve(lg, s, cand, 1, 1, px_ledger_now_ms(),
		    &lease, &retry) != PX_OK) {
			fprintf(stderr, "ledger_bench: reserve refused\n");
			ops = -1;
			break;
		}
		if (settle && px_ledger_settle(lg, s, &lease, PX_SETTLE_DONE, 1,
		    0, px_ledger_now_ms()) != PX_OK) {
			ops = -1;
			break;
		}
		ops++;
		if (now >= next_maint) {
			px_ledger_maintain(lg);
			next_maint = now + 1.0;
		}
	}
	px_ledger_scratch_free(s);
	px_ledger_close(lg);
	return ops;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *mode = "r";
	struct px_config *cfg;
	int procs = 1, nkeys = 8, opt, i, fds[2], failed = 0;
	double secs = 2.0, t0;
	long total = 0, v;

	while ((opt = getopt(argc, argv, "d:p:t:k:m:")) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'p': procs = atoi(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'k': nkeys = atoi(optarg); break;
		case 'm': mode = optarg; break;
		default: dir = NULL; optind = argc; break;
		}
	}
	if (dir == NULL || procs < 1 || procs > 64 || nkeys < 1) {
		fprintf(stderr, "usage: ledger_bench -d STATE_DIR [-p PROCS] "
		    "[-t SECONDS] [-k KEYS] [-m r|rs]\n");
		return 2;
	}
	cfg = make_config(dir, nkeys);
	if (cfg == NULL || pipe(fds) != 0)
		return 1;
	t0 = mono_s();
	for (i = 0; i < procs; i++) {
		if (fork() == 0) {
			v = worker(cfg, secs, strcmp(mode, "rs") == 0);
			_exit(write(fds[1], &v, sizeof(v)) == sizeof(v) ? 0 : 1);
		}
	}
	close(fds[1]);
	for (i = 0; i < procs; i++) {
		if (read(fds[0], &v, sizeof(v)) != sizeof(v) || v < 0)
			failed = 1;
		else
			total += v;
	}
	while (wait(NULL) > 0)
		;
	printf("procs=%d\nmode=%s\nkeys=%d\nops=%ld\nseconds=%.2f\n"
	    "ops_per_s=%.0f\nfailed=%d\n", procs, mode, nkeys, total,
	    mono_s() - t0, (double)total / secs, failed);
	px_config_free(cfg);
	return failed;
}
