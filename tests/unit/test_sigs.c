/*
 * test_sigs.c -- thought signatures (issue 11): where they go back into a
 * request (thoughtsig.c: current turn only, first call of each step, the
 * client's own kept, the bypass only for enforcing models) and the shared
 * cache (sigcache.c on a real LMDB environment in a temp dir: round trip,
 * replacement, TTL, the size bound evicting the oldest, two handles on one
 * environment as two responders would have).
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sigcache.h"
#include "store.h"
#include "tharness.h"
#include "thoughtsig.h"

/* --- thoughtsig -------------------------------------------------------- */

static int
lookup(void *ctx, const char *id, char *sig, size_t cap)
{
	(void)ctx;
	if (strcmp(id, "c_known") != 0)
		return 0;
	snprintf(sig, cap, "SIG-KNOWN");
	return 1;
}

#define CALL(id) "{'id':'" id "','type':'function','function':{'name':'f'," \
	"'arguments':'{}'}}"
#define SIGCALL(id, s) "{'id':'" id "','type':'function','function':" \
	"{'name':'f','arguments':'{}'},'extra_content':{'google':" \
	"{'thought_signature':'" s "'}}}"
#define ASST(calls) "{'role':'assistant','content':null,'tool_calls':[" \
	calls "]}"
#define TOOL(id) "{'role':'tool','tool_call_id':'" id "','content':'r'}"
#define USER "{'role':'user','content':'q'}"

static int
filled(const char *in, int bypass, const char *want, int want_n)
{
	cJSON *r = cJSON_Parse(t_quote(in)), *w;
	int n = px_thoughtsig_fill(r, bypass, lookup, NULL), ok;

	w = cJSON_Parse(t_quote(want));
	ok = n == want_n && cJSON_Compare(r, w, 1);
	if (!ok) {
		char *s = cJSON_PrintUnformatted(r);

		printf("#   n=%d got %s\n", n, s);
		free(s);
	}
	cJSON_Delete(r);
	cJSON_Delete(w);
	return ok;
}

static void
test_fill(void)
{
	T_CHECK(filled("{'messages':[" USER "," ASST(CALL("c_known") ","
	    CALL("c2")) "," TOOL("c_known") "," TOOL("c2") "]}", 0,
	    "{'messages':[" USER "," ASST(SIGCALL("c_known", "SIG-KNOWN") ","
	    CALL("c2")) "," TOOL("c_known") "," TOOL("c2") "]}", 1),
	    "the first call of the step gets its remembered signature");
	T_CHECK(filled("{'messages':[" USER "," ASST(CALL("c_x")) ","
	    TOOL("c_x") "]}", 1, "{'messages':[" USER ","
	    ASST(SIGCALL("c_x", PX_SIG_BYPASS)) "," TOOL("c_x") "]}", 1),
	    "unknown: the bypass where the model enforces");
	T_CHECK(filled("{'messages':[" USER "," ASST(CALL("c_x")) ","
	    TOOL("c_x") "]}", 0, "{'messages':[" USER "," ASST(CALL("c_x"))
	    "," TOOL("c_x") "]}", 0), "unknown and not enforcing: untouched");
	T_CHECK(filled("{'messages':[" USER "," ASST(SIGCALL("c_known",
	    "CLIENT")) "," TOOL("c_known") "]}", 1, "{'messages':[" USER ","
	    ASST(SIGCALL("c_known", "CLIENT")) "," TOOL("c_known") "]}", 0),
	    "the client's own signature is never replaced");
	T_CHECK(filled("{'messages':[" USER "," ASST(CALL("c_old")) ","
	    TOOL("c_old") "," USER "," ASST(CALL("c_x")) "," TOOL("c_x") ","
	    ASST(CALL("c_known")) "," TOOL("c_known") "]}", 1,
	    "{'messages':[" USER "," ASST(CALL("c_old")) "," TOOL("c_old") ","
	    USER "," ASST(SIGCALL("c_x", PX_SIG_BYPASS)) "," TOOL("c_x") ","
	    ASST(SIGCALL("c_known", "SIG-KNOWN")) "," TOOL("c_known") "]}", 2),
	    "only the current turn; every step in it");
	T_CHECK(filled("{'messages':[" USER "]}", 1, "{'messages':[" USER "]}",
	    0), "no calls, nothing to do");
	T_CHECK(px_thoughtsig_enforced("gemini-3-flash-preview") &&
	    px_thoughtsig_enforced("models/gemini-3.1-pro") &&
	    px_thoughtsig_enforced("gemini-4-x") &&
	    !px_thoughtsig_enforced("gemini-2.5-flash") &&
	    !px_thoughtsig_enforced("gemini-mock-tools") &&
	    !px_thoughtsig_enforced("openai/gpt-4o"), "enforcing models");
}

/* --- sigcache on LMDB ---------------------------------------------------- */

static char dir[64];

static void
test_cache(void)
{
	struct px_store *a = NULL, *b = NULL;
	struct px_sigcache ca, cb;
	char detail[256], sig[128], recs[4096];
	int i, n;

	snprintf(dir, sizeof dir, "/tmp/aiproxy-sigs-XXXXXX");
	T_CHECK(mkdtemp(dir) != NULL, "temp dir");
	T_CHECK(px_store_open(&a, dir, 8u << 20, 0, detail, sizeof detail) ==
	    PX_OK && px_store_open(&b, dir, 8u << 20, 0, detail,
	    sizeof detail) == PX_OK, "two handles on one environment");
	ca = (struct px_sigcache){ a, 60000, 8 };
	cb = (struct px_sigcache){ b, 60000, 8 };
	T_CHECK(px_sigcache_put(&ca, "id1\tAAA\nid2\tBBB\n", 16, 1000) ==
	    PX_OK, "put two");
	T_CHECK(px_sigcache_get(&cb, "id1", 2000, sig, sizeof sig) &&
	    strcmp(sig, "AAA") == 0, "read back through the other handle");
	T_CHECK(px_sigcache_get(&cb, "id2", 2000, sig, sizeof sig) &&
	    strcmp(sig, "BBB") == 0, "second record");
	T_CHECK(!px_sigcache_get(&cb, "id3", 2000, sig, sizeof sig), "absent");
	T_CHECK(px_sigcache_put(&cb, "id1\tCCC", 7, 3000) == PX_OK &&
	    px_sigcache_get(&ca, "id1", 3000, sig, sizeof sig) &&
	    strcmp(sig, "CCC") == 0, "replaced; no trailing newline needed");
	T_CHECK(!px_sigcache_get(&ca, "id2", 1000 + 60001, sig, sizeof sig),
	    "expired after the TTL");
	T_CHECK(!px_sigcache_get(&ca, "id1", 3000, sig, 3), "too long for cap");
	n = 0;
	for (i = 0; i < 20; i++)
		n += snprintf(recs + n, sizeof recs - (size_t)n, "k%02d\tS%d\n",
		    i, i);
	T_CHECK(px_sigcache_put(&ca, recs, (size_t)n, 5000) == PX_OK,
	    "twenty more");
	T_CHECK(px_sigcache_get(&ca, "k19", 5000, sig, sizeof sig) &&
	    strcmp(sig, "S19") == 0, "the newest kept");
	T_CHECK(!px_sigcache_get(&ca, "id1", 5000, sig, sizeof sig),
	    "the oldest evicted past the bound");
	T_CHECK(px_sigcache_put(&ca, "\tX\nnotab\n", 9, 6000) == PX_OK,
	    "malformed records are skipped");
	px_store_close(a);
	px_store_close(b);
	(void)unlink(strcat(strcpy(detail, dir), "/data.mdb"));
	(void)unlink(strcat(strcpy(detail, dir), "/lock.mdb"));
	(void)rmdir(dir);
}

int
main(void)
{
	test_fill();
	test_cache();
	return t_done();
}
