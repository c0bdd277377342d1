// core/agg.c: aggregator identities and reduction. Sums over doubles are
// reduced in worker order at the master, so a run is repeatable for a given
// number of workers; across worker counts they agree to rounding.
#include "core/agg.h"

#include <math.h>

gx_agg_value_t
gx_agg_identity(gx_agg_op_t op)
{
    gx_agg_value_t v;
    switch (op) {
    case GX_AGG_MIN_F64: v.f = INFINITY; break;
    case GX_AGG_MAX_F64: v.f = -INFINITY; break;
    case GX_AGG_SUM_F64: v.f = 0.0; break;
    case GX_AGG_MIN_I64: v.i = INT64_MAX; break;
    case GX_AGG_MAX_I64: v.i = INT64_MIN; break;
    default:             v.i = 0; break;
    }
    return v;
}

void
gx_agg_reset(const gx_agg_op_t *ops, uint32_t n, gx_agg_value_t *vals)
{
    for (uint32_t i = 0; i < n; i++)
        vals[i] = gx_agg_identity(ops[i]);
}

void
gx_agg_reduce(const gx_agg_op_t *ops, uint32_t n, gx_agg_value_t *acc,
              const gx_agg_value_t *part)
{
    for (uint32_t i = 0; i < n; i++) {
        switch (ops[i]) {
        case GX_AGG_SUM_F64: acc[i].f += part[i].f; break;
        case GX_AGG_MIN_F64: acc[i].f = fmin(acc[i].f, part[i].f); break;
        case GX_AGG_MAX_F64: acc[i].f = fmax(acc[i].f, part[i].f); break;
        case GX_AGG_SUM_I64:
            // Wrap rather than trap: the sum of int64 partials is the
            // program's business, not undefined behaviour.
            acc[i].i = (int64_t)((uint64_t)acc[i].i + (uint64_t)part[i].i);
            break;
        case GX_AGG_MIN_I64: if (part[i].i < acc[i].i) acc[i].i = part[i].i; break;
        case GX_AGG_MAX_I64: if (part[i].i > acc[i].i) acc[i].i = part[i].i; break;
        }
    }
}

int
gx_agg_validate(const gx_agg_op_t *ops, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (ops[i] < GX_AGG_SUM_F64 || ops[i] > GX_AGG_MAX_I64)
            return (int)i;
    return -1;
}
