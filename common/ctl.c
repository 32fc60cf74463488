/*
 * ctl.c -- `aiproxy ctl [--config FILE] COMMAND`: the operator's tool on
 * the ledger (LMDB or Redis) without a web server.
 * Owns: the commands (usage [--json], keys [--json], disable KEY_ID
 * [--reason TEXT], enable KEY_ID, reset KEY_ID|--all --yes,
 * check-config), their human tables and their exit codes:
 * `keys` also lists the keys the ledger remembers that the config no
 * longer names (their lifetime counters and state).
 *   0 done; 1 the config is invalid or the ledger failed; 2 bad command
 *   line; 3 no key has that id; 4 reset without --yes (nothing done).
 * Never: runs under CGI or a web server (cgi/aiproxy.c calls it only
 * from an operator's command line), or prints a key: ids only.
 */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "ledger.h"
#include "usage.h"

enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2, CTL_NOKEY = 3,
    CTL_NOYES = 4 };

struct ctl {
	const char *config;
	const char *cmd;
	const char *arg;	/* KEY_ID */
	const char *reason;
	int json, all, yes;
	struct px_config *cfg;
	struct px_ledger *lg;
	struct px_ledger_scratch *s;
};

static void
ctl_usage(FILE *f)
{
	fprintf(f,
	    "usage: aiproxy ctl [--config FILE] COMMAND\n"
	    "  usage [--json]                the installation's usage "
	    "(--json: the /v1/usage document)\n"
	    "  keys [--json]                 every key: id, provider, owner, "
	    "state, reason, until, remaining\n"
	    "  disable KEY_ID [--reason T]   take a key out of service until "
	    "enabled\n"
	    "  enable KEY_ID                 put a key back in service\n"
	    "  reset KEY_ID|--all --yes      clear windows, cooldowns and "
	    "back-offs (lifetime counters stay)\n"
	    "  check-config                  same as --check-config FILE\n"
	    "The config defaults to $AIPROXY_CONFIG, then ./config.json.\n"
	    "Exit: 0 done, 1 config or ledger failure, 2 bad command line, "
	    "3 unknown key id, 4 reset without --yes.\n");
}

static int
bad(const char *what, const char *arg)
{
	fprintf(stderr, "aiproxy ctl: %s%s%s\n", what, arg ? ": " : "",
	    arg ? arg : "");
	ctl_usage(stderr);
	return CTL_USAGE;
}

/* Options anywhere after "ctl"; the first other word is the command, the
 * next its argument. */
static int
parse(struct ctl *c, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--config") == 0 || strcmp(a, "--reason") == 0) {
			if (i + 1 >= argc)
				return bad("missing value", a);
			*(a[2] == 'c' ? &c->config : &c->reason) = argv[++i];
		} else if (strcmp(a, "--json") == 0) {
			c->json = 1;
		} else if (strcmp(a, "--all") == 0) {
			c->all = 1;
		} else if (strcmp(a, "--yes") == 0) {
			c->yes = 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			ctl_usage(stdout);
			return -1;
		} else if (a[0] == '-') {
			return bad("unknown option", a);
		} else if (c->cmd == NULL) {
			c->cmd = a;
		} else if (c->arg == NULL) {
			c->arg = a;
		} else {
			return bad("unexpected argument", a);
		}
	}
	return c->cmd == NULL ? bad("missing command", NULL) : CTL_OK;
}

static int
load_config(struct ctl *c, int report_ok)
{
	struct px_cfg_errors errs;
	unsigned i;

	if (c->config == NULL)
		c->config = getenv("AIPROXY_CONFIG");
	if (c->config == NULL || *c->config == '\0')
		c->config = "config.json";
	if (px_config_load(c->config, &c->cfg, &errs) != PX_OK) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		return CTL_FAIL;
	}
	for (i = 0; report_ok && i < c->cfg->warnings.n; i++)
		fprintf(stderr, "warning: %s\n", c->cfg->warnings.msg[i]);
	if (report_ok)
		printf("configuration OK\n");
	return CTL_OK;
}

static int
open_ledger(struct ctl *c)
{
	char detail[256] = "";

	if (px_ledger_open(&c->lg, c->cfg, detail, sizeof(detail)) != PX_OK) {
		fprintf(stderr, "aiproxy ctl: ledger: %s\n", detail[0] ?
		    detail : "cannot open");
		return CTL_FAIL;
	}
	c->s = px_ledger_scratch_new(c->cfg);
	if (c->s == NULL) {
		fprintf(stderr, "aiproxy ctl: out of memory\n");
		return CTL_FAIL;
	}
	return CTL_OK;
}

static int
snapshot(struct ctl *c, const struct px_snapshot **sn)
{
	enum px_err e = px_ledger_snapshot(c->lg, c->s, px_wall_ms(), sn);

	if (e != PX_OK) {
		fprintf(stderr, "aiproxy ctl: reading the ledger failed (%s)\n",
		    e == PX_EUNAVAIL ? "Redis does not answer" :
		    "state store failure");
		return CTL_FAIL;
	}
	return CTL_OK;
}

/* "2026-12-06 08:00:00Z", or "-" for none. */
static const char *
when(int64_t ms, int64_t now, char *b, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= now || ms >= INT64_MAX / 2 || gmtime_r(&t, &tm) == NULL)
		return "-";
	strftime(b, cap, "%Y-%m-%d %H:%M:%SZ", &tm);
	return b;
}

static uint64_t
left(uint64_t used, long limit)
{
	return limit <= 0 || used >= (uint64_t)limit ? 0 :
	    (uint64_t)limit - used;
}

static void
keys_table(const struct px_snapshot *sn)
{
	char ub[32];
	size_t i;

	printf("%-12s %-10s %-12s %-8s %-20s %8s %9s %8s %4s  %s\n", "ID",
	    "PROVIDER", "OWNER", "STATE", "UNTIL", "RPM_LEFT", "TPM_LEFT",
	    "RPD_LEFT", "BUSY", "REASON");
	for (i = 0; i < sn->nkeys; i++) {
		const struct px_snap_key *k = &sn->keys[i];
		const struct px_provider_cfg *g = k->group;

		printf("%-12s %-10s %-12s %-8s %-20s %8llu %9llu %8llu %4llu  "
		    "%s\n", k->key->id, px_provider_name(k->provider),
		    g->owner != NULL ? g->owner->name : "-",
		    px_key_state_name(k->state),
		    when(k->until_ms, sn->now_ms, ub, sizeof(ub)),
		    (unsigned long long)left(k->req_min, g->max_request_min),
		    (unsigned long long)left(k->tok_min, g->max_token_min),
		    (unsigned long long)left(k->req_day, g->max_request_day),
		    (unsigned long long)k->in_flight,
		    k->reason[0] ? k->reason : "-");
	}
}

static void
keys_json(const struct px_snapshot *sn)
{
	struct px_buf b;
	size_t i;

	px_buf_init(&b, 1u << 20);
	printf("[");
	for (i = 0; i < sn->nkeys; i++) {
		const struct px_snap_key *k = &sn->keys[i];
		const struct px_provider_cfg *g = k->group;

		px_buf_reset(&b);
		(void)px_buf_addc(&b, '"');
		(void)px_buf_add_json_str(&b, k->reason, strlen(k->reason));
		(void)px_buf_addc(&b, '"');
		printf("%s{\"id\":\"%s\",\"provider\":\"%s\",\"in_config\":"
		    "true,\"owner\":%s%s%s,"
		    "\"state\":\"%s\",\"reason\":%s,\"until_ms\":%lld,"
		    "\"remaining\":{\"requests_minute\":%llu,"
		    "\"tokens_minute\":%llu,\"requests_day\":%llu},"
		    "\"in_flight\":%llu,\"lifetime_requests\":%llu,"
		    "\"lifetime_tokens\":%llu}", i ? "," : "", k->key->id,
		    px_provider_name(k->provider), g->owner ? "\"" : "",
		    g->owner ? g->owner->name : "null", g->owner ? "\"" : "",
		    px_key_state_name(k->state), k->reason[0] ? b.p : "null",
		    (long long)(k->until_ms > sn->now_ms ? k->until_ms : 0),
		    (unsigned long long)left(k->req_min, g->max_request_min),
		    (unsigned long long)left(k->tok_min, g->max_token_min),
		    (unsigned long long)left(k->req_day, g->max_request_day),
		    (unsigned long long)k->in_flight,
		    (unsigned long long)k->life_requests,
		    (unsigned long long)k->life_tokens);
	}
	px_buf_free(&b);
}

/* "used/limit", or "used/-" when there is no limit. */
static const char *
cell(uint64_t used, uint64_t limit, char *b, size_t cap)
{
	if (limit == 0)
		snprintf(b, cap, "%llu/-", (unsigned long long)used);
	else
		snprintf(b, cap, "%llu/%llu", (unsigned long long)used,
		    (unsigned long long)limit);
	return b;
}

/* Keys the ledger remembers that the config no longer names. */
static int
retired(struct ctl *c, struct px_retired **out, size_t *n)
{
	*out = calloc(PX_RETIRED_MAX, sizeof(**out));
	if (*out == NULL)
		return CTL_FAIL;
	if (px_ledger_retired(c->lg, c->s, *out, PX_RETIRED_MAX, n) != PX_OK) {
		fprintf(stderr, "aiproxy ctl: reading the ledger failed\n");
		return CTL_FAIL;
	}
	return CTL_OK;
}

static void
retired_table(const struct px_retired *r, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	printf("\nno longer in the config (their history is kept):\n"
	    "%-12s %-10s %-8s %14s %16s %10s\n", "ID", "PROVIDER", "STATE",
	    "LIFE_REQUESTS", "LIFE_TOKENS", "ERRORS");
	for (i = 0; i < n; i++)
		printf("%-12s %-10s %-8s %14llu %16llu %10llu\n", r[i].id,
		    px_provider_name(r[i].provider),
		    px_key_state_name(r[i].h.state),
		    (unsigned long long)r[i].h.life_requests,
		    (unsigned long long)r[i].h.life_tokens,
		    (unsigned long long)r[i].h.life_errors);
}

static void
retired_json(const struct px_retired *r, size_t n, int first)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%s{\"id\":\"%s\",\"provider\":\"%s\",\"in_config\":"
		    "false,\"state\":\"%s\",\"lifetime_requests\":%llu,"
		    "\"lifetime_tokens\":%llu,\"errors\":%llu}",
		    first && i == 0 ? "" : ",", r[i].id,
		    px_provider_name(r[i].provider),
		    px_key_state_name(r[i].h.state),
		    (unsigned long long)r[i].h.life_requests,
		    (unsigned long long)r[i].h.life_tokens,
		    (unsigned long long)r[i].h.life_errors);
}

static int
show_keys(struct ctl *c, const struct px_snapshot *sn)
{
	struct px_retired *r = NULL;
	size_t n = 0;
	int rc = retired(c, &r, &n);

	if (rc == CTL_OK && c->json) {
		keys_json(sn);
		retired_json(r, n, sn->nkeys == 0);
		printf("]\n");
	} else if (rc == CTL_OK) {
		keys_table(sn);
		retired_table(r, n);
	}
	free(r);
	return rc;
}

static void
scope_row(const struct px_snap_scope *s, const char *label)
{
	char a[48], b[48], c[48], d[48];

	printf("  %-42s %15s %19s %15s %9s\n", label,
	    cell(s->req_min, s->max_request_min, a, sizeof(a)),
	    cell(s->tok_min, s->max_token_min, b, sizeof(b)),
	    cell(s->req_day, s->max_request_day, c, sizeof(c)),
	    cell(s->in_flight, s->max_concurrent, d, sizeof(d)));
}

static void
usage_table(const struct px_snapshot *sn)
{
	size_t i;
	int p;

	printf("ledger: %s   (used/limit; -: no limit)\n", sn->backend);
	for (p = 0; p < PX_PROV__MAX; p++) {
		const struct px_snap_provider *sp = &sn->prov[p];

		if (!sp->present)
			continue;
		printf("\n%s: %llu of %llu requests in the day window "
		    "(%.2f %%)\n", px_provider_name((enum px_provider_id)p),
		    (unsigned long long)sp->req_day,
		    (unsigned long long)sp->capacity, sp->capacity ?
		    100.0 * (double)sp->req_day / (double)sp->capacity : 0.0);
		printf("  %-42s %15s %19s %15s %9s\n", "key", "req/min",
		    "tokens/min", "req/day", "in flight");
		for (i = sp->first; i < sp->first + sp->nkeys; i++) {
			const struct px_snap_key *k = &sn->keys[i];
			struct px_snap_scope row;
			char label[64];

			memset(&row, 0, sizeof(row));
			row.req_min = k->req_min;
			row.tok_min = k->tok_min;
			row.req_day = k->req_day;
			row.in_flight = k->in_flight;
			row.max_concurrent = k->group->max_concurrent > 0 ?
			    (uint64_t)k->group->max_concurrent : 0;
			row.max_request_min = (uint64_t)k->group->max_request_min;
			row.max_token_min = (uint64_t)k->group->max_token_min;
			row.max_request_day = (uint64_t)k->group->max_request_day;
			snprintf(label, sizeof(label), "%s %s", k->key->id,
			    px_key_state_name(k->state));
			scope_row(&row, label);
		}
	}
	for (i = 0; i < sn->nscopes; i++) {
		const struct px_snap_scope *s = &sn->scopes[i];
		static const char *const kind[4] = { "key model", "owner",
		    "owner model", "client" };
		char label[96];

		if (i == 0)
			printf("\nowners, model limits, clients:\n");
		if (s->kind == PX_SNAP_KEY_MODEL && s->parent < sn->nkeys)
			snprintf(label, sizeof(label), "key %s model %.40s",
			    sn->keys[s->parent].key->id, s->name);
		else if (s->kind == PX_SNAP_OWNER_MODEL &&
		    s->parent < sn->nscopes)
			snprintf(label, sizeof(label), "owner %.20s model "
			    "%.40s", sn->scopes[s->parent].name, s->name);
		else
			snprintf(label, sizeof(label), "%s %.60s",
			    kind[s->kind], s->name);
		scope_row(s, label);
	}
}

static int
show(struct ctl *c, int keys)
{
	const struct px_snapshot *sn;
	struct px_buf b;
	int rc = snapshot(c, &sn);

	if (rc != CTL_OK)
		return rc;
	if (keys)
		return show_keys(c, sn);
	if (!c->json) {
		usage_table(sn);
		return CTL_OK;
	}
	px_buf_init(&b, 64u << 20);
	rc = px_usage_render(sn, NULL, &b) == PX_OK ? CTL_OK : CTL_FAIL;
	if (rc == CTL_OK)
		printf("%s\n", b.p);
	px_buf_free(&b);
	return rc;
}

/* The configured key with this id, or NULL. */
static const struct px_key_cfg *
find_key(const struct px_config *cfg, const char *id,
    const struct px_provider_cfg **group)
{
	size_t i, j;

	for (i = 0; id != NULL && i < cfg->nproviders; i++)
		for (j = 0; j < cfg->providers[i].nkeys; j++)
			if (strcmp(cfg->providers[i].keys[j].id, id) == 0) {
				*group = &cfg->providers[i];
				return &cfg->providers[i].keys[j];
			}
	return NULL;
}

static int
act(struct ctl *c, enum px_admin_op op)
{
	const struct px_provider_cfg *g = NULL;
	const struct px_key_cfg *k = NULL;
	enum px_err e;

	if (op == PX_ADMIN_RESET && c->all == (c->arg != NULL))
		return bad("reset takes one KEY_ID or --all", NULL);
	if (op != PX_ADMIN_RESET && (c->arg == NULL || c->all))
		return bad("missing KEY_ID", NULL);
	if (c->arg != NULL && (k = find_key(c->cfg, c->arg, &g)) == NULL) {
		fprintf(stderr, "aiproxy ctl: no key has id %s (see `aiproxy "
		    "ctl keys`)\n", c->arg);
		return CTL_NOKEY;
	}
	if (op == PX_ADMIN_RESET && !c->yes) {
		fprintf(stderr, "aiproxy ctl: reset clears %s's windows, "
		    "cooldowns and back-offs; run again with --yes\n",
		    c->all ? "every key" : c->arg);
		return CTL_NOYES;
	}
	e = px_ledger_admin(c->lg, c->s, op, g, k, c->reason, px_wall_ms());
	if (e != PX_OK) {
		fprintf(stderr, "aiproxy ctl: the ledger refused (%s)\n",
		    e == PX_EUNAVAIL ? "Redis does not answer" :
		    "state store failure");
		return CTL_FAIL;
	}
	printf("%s %s\n", c->all ? "every key" : c->arg, op ==
	    PX_ADMIN_DISABLE ? "disabled" : op == PX_ADMIN_ENABLE ?
	    "enabled" : "reset");
	return CTL_OK;
}

static int
run(struct ctl *c)
{
	static const struct { const char *name; int op; } acts[] = {
		{ "disable", PX_ADMIN_DISABLE }, { "enable", PX_ADMIN_ENABLE },
		{ "reset", PX_ADMIN_RESET },
	};
	int rc;
	size_t i;

	if (strcmp(c->cmd, "check-config") == 0)
		return load_config(c, 1);
	if (strcmp(c->cmd, "usage") != 0 && strcmp(c->cmd, "keys") != 0 &&
	    strcmp(c->cmd, "disable") != 0 && strcmp(c->cmd, "enable") != 0 &&
	    strcmp(c->cmd, "reset") != 0)
		return bad("unknown command", c->cmd);
	if ((rc = load_config(c, 0)) != CTL_OK || (rc = open_ledger(c)) !=
	    CTL_OK)
		return rc;
	if (strcmp(c->cmd, "usage") == 0 || strcmp(c->cmd, "keys") == 0)
		return show(c, c->cmd[0] == 'k');
	for (i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
		if (strcmp(c->cmd, acts[i].name) == 0)
			return act(c, (enum px_admin_op)acts[i].op);
	return bad("unknown command", c->cmd);
}

int
px_ctl_main(int argc, char **argv)
{
	struct ctl c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = parse(&c, argc, argv);
	if (rc != CTL_OK)
		return rc < 0 ? CTL_OK : rc;
	rc = run(&c);
	px_ledger_scratch_free(c.s);
	px_ledger_close(c.lg);
	px_config_free(c.cfg);
	return rc;
}
