/*
 * usage.c -- GET /v1/usage: the seed's shape, from the shared ledger.
 * Owns: the reply (the ledger writes the JSON; see ledger.c for the
 * fields: overview.{provider}, details.{provider}.keys.{key_id} and
 * rate_limits, plus extra per-key fields).
 * Never: shows a key; keys appear by their short id only.
 */
#include "worker.h"

#include "ledger.h"
#include "reply.h"

void
px_usage_handle(struct px_worker *w, struct px_io *io, struct px_reqlog *lg)
{
	enum px_err e;

	(void)lg;
	e = px_ledger_usage_json(w->app->ledger, w->ls, px_ledger_now_ms(),
	    &w->out);
	if (e != PX_OK)
		px_reply_error(io, &w->err, e, NULL, NULL, NULL);
	else
		px_reply_json(io, 200, NULL, w->out.p, w->out.len);
}
