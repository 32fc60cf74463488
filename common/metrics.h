/*
 * metrics.h -- rendering /metrics (Prometheus text exposition 0.0.4).
 * Owns: the body's names and labels (metrics.c). Never: reads the ledger.
 */
#ifndef PX_METRICS_H
#define PX_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "ledger.h"
#include "stats.h"

/* The body into out (reset first) from a snapshot and the
 * installation-wide counters stats[PX_ST_N]. */
enum px_err px_metrics_render(const struct px_snapshot *sn,
    const uint64_t *stats, struct px_buf *out);

#endif
