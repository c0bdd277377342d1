// core/agg.h: aggregators. Each worker folds its vertices' contributions
// into partials; the master reduces the partials at every barrier and hands
// the totals to the next superstep.
#ifndef GX_CORE_AGG_H
#define GX_CORE_AGG_H

#include <stdint.h>
#include "graphx/program.h"

// The identity of op: 0 for sums, +inf / INT64_MAX for min, -inf /
// INT64_MIN for max; a reduction over no partials yields it.
gx_agg_value_t gx_agg_identity(gx_agg_op_t op);
void gx_agg_reset(const gx_agg_op_t *ops, uint32_t n, gx_agg_value_t *vals);
// acc[i] = acc[i] (op) part[i] for each aggregator.
void gx_agg_reduce(const gx_agg_op_t *ops, uint32_t n, gx_agg_value_t *acc,
                   const gx_agg_value_t *part);
// Checks that every op is known; returns the index of the first bad one or -1.
int  gx_agg_validate(const gx_agg_op_t *ops, uint32_t n);

#endif
