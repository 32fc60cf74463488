/*
 * fuzz_provider_event.c -- libFuzzer target for the stream mapper
 * (px_provider.map_event) of every adapter: each px_provider_get() table
 * and each px_adapter() (the native Gemini one translates native events
 * into canonical chunks).
 * Input: line 1 "adapter flags" (flags bit 0: drop_usage_alone, bit 1: an
 * id_prefix, bit 2: record thought signatures); line 2 the configured
 * keys, separated by spaces; the rest is a stream of event data separated
 * by blank lines ("\n\n"), all fed through one px_stream_fix like one
 * response (NUL-terminated copies).
 * Checks per event: a known action; DROP (OpenAI-compatible) only with
 * drop_usage_alone; REWRITE output is one or more lines of strict JSON
 * objects (valid UTF-8 when the event was) whose tool call entries carry
 * one of our indices, never finish_reason "stop" after a tool call, and
 * from a native adapter chat.completion.chunk objects with an id, the
 * model and choices;
 * thought signatures are recorded as "<id> TAB <sig>" lines under an id
 * the client was shown; ERROR output is an OpenAI error object showing no
 * key-shaped configured key, and ends the stream; an event passed
 * unchanged that is strict JSON without a backslash (so cJSON and the
 * byte scans read the same keys) already meets the same rules. The stream
 * state stays consistent (counts, indices, tokens).
 */
#include "fuzz_provider.h"

/* An event relayed unchanged must already be what openai-node needs. */
static void
check_pass(const char *d, size_t n, const struct px_stream_fix *st,
    int had_tools, struct fz_ids *ids)
{
	cJSON *j = cJSON_ParseWithLength(d, n);

	fz_ids_add(ids, j, "delta");
	/* only what a client can parse (JSON.parse is strict: e.g. a form
	 * feed, whitespace to cJSON, is an error there), keys read raw */
	if (j != NULL && memchr(d, '\\', n) == NULL && fz_json_ok(d, n, 0))
		(void)fz_check_choices(j, 1, st->ntools, had_tools);
	cJSON_Delete(j);
}

/* REWRITE: one or more chunks, one per line, each a strict JSON object. */
static void
check_rewrite(const struct px_provider *prov, const struct px_buf *out,
    const struct px_stream_fix *st, int had_tools, int utf8,
    struct fz_ids *ids)
{
	const char *p, *e, *nl;
	size_t n;
	cJSON *j;

	FZ_CHECK(out->p != NULL && out->len > 0 && out->p[out->len] == '\0',
	    "rewritten event written");
	FZ_CHECK(memchr(out->p, '\r', out->len) == NULL,
	    "no CR in a rewritten event");
	e = out->p + out->len;
	for (p = out->p; p < e; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(e - p));
		if (nl == NULL)
			nl = e;
		n = (size_t)(nl - p);
		if (n == 0)
			continue;	/* the engine skips empty lines */
		FZ_CHECK(fz_json_ok(p, n, utf8),
		    "each rewritten chunk is strict JSON");
		j = cJSON_ParseWithLength(p, n);
		FZ_CHECK(cJSON_IsObject(j), "each rewritten chunk an object");
		fz_check_native(prov, j, 1);
		had_tools = fz_check_choices(j, 1, st->ntools, had_tools);
		fz_ids_add(ids, j, "delta");
		cJSON_Delete(j);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	const struct px_provider *p;
	struct px_stream_fix st;
	struct fz_secrets sec;
	struct fz_ids ids = { { NULL }, 0 };
	struct px_buf out, sigs;
	enum px_ev_action act;
	const uint8_t *l, *end, *sep;
	size_t ln, n;
	long long v[2];
	char *ev;
	int had_tools, utf8, stop = 0;

	fz_line(&in, &l, &ln);
	fz_ints(l, ln, v, 2);
	p = fz_provider(v[0]);
	fz_line(&in, &l, &ln);
	fz_secrets_read(&sec, l, ln);
	px_stream_fix_init(&st);
	st.secrets = sec.sec.n > 0 ? &sec.sec : NULL;
	st.drop_usage_alone = (int)(v[1] & 1);
	if (v[1] & 2)
		memcpy(st.id_prefix, "fz7_", 5);
	px_buf_init(&sigs, 1u << 20);
	if (v[1] & 4)
		st.sigs = &sigs;
	st.model = "fuzz-model";
	px_buf_init(&out, FZ_OUT_MAX);

	end = in.p + in.n;
	for (l = in.p; !stop; l = sep + 2) {
		sep = (const uint8_t *)fz_memmem((const char *)l,
		    (size_t)(end - l), "\n\n", 2);
		if (sep == NULL)
			sep = end;
		stop = sep == end;
		n = (size_t)(sep - l);
		ev = fz_dup(l, n, 1);	/* map_event gets NUL-terminated data */
		utf8 = fz_utf8_ok(ev, n) && fz_secrets_utf8(&sec);
		had_tools = st.ntools > 0;
		px_buf_reset(&out);
		act = p->map_event(&st, ev, n, &out);
		fz_check_state(&st);
		switch (act) {
		case PX_EV_PASS:
			check_pass(ev, n, &st, had_tools, &ids);
			break;
		case PX_EV_DROP:
			FZ_CHECK(st.drop_usage_alone || p->api != PX_API_OPENAI,
			    "DROP only for usage the proxy asked for");
			break;
		case PX_EV_REWRITE:
			check_rewrite(p, &out, &st, had_tools, utf8, &ids);
			break;
		case PX_EV_ERROR:
			fz_check_error_json(&out, utf8);
			FZ_CHECK(memchr(out.p, '\n', out.len) == NULL,
			    "error event fits one data: line");
			fz_check_redacted(&sec, out.p);
			stop = 1;	/* the engine stops reading */
			break;
		default:
			FZ_CHECK(0, "unknown action");
		}
		fz_check_sigs(st.sigs, &ids);
		free(ev);
	}
	fz_ids_free(&ids);
	px_buf_free(&out);
	px_buf_free(&sigs);
	fz_secrets_free(&sec);
	return 0;
}
