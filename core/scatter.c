// core/scatter.c: the per-edge work of a superstep. Every active replica's
// message is combined along its edges into per-replica accumulators, then
// one combined message per touched replica goes to its master. Specialised
// loops per built-in combiner keep the combine inline; when every sender is
// active the loop pulls by destination and hands each sum straight on.
#include "core/worker.h"

#include <stdlib.h>
#include "core/order.h"

// Gather when the active replicas hold more than 1/GATHER_RATIO of the
// edges along the direction: a pushed edge (a random write and a flag
// test) costs a few gathered ones (measured on RMAT-20 CC).
#define GATHER_RATIO 8

// The per-edge loops, one per built-in combiner so the combine inlines.
#define DEFINE_LOOPS(NAME, T, COMBINE)                                        \
/* The combined message of replica v goes to its master: straight into  */ \
/* the master's accumulator on this worker, else into the peer's batch. */ \
static inline void                                                            \
deliver_##NAME(worker_t *w, part_t *pt, batch_t *out, uint32_t v, T a)        \
{                                                                             \
    uint32_t o = pt->owner[v], mi = pt->route[v];                             \
    if (o != w->self) {                                                       \
        batch_push_msg(w, &out[o], mi, &a);                                   \
        return;                                                               \
    }                                                                         \
    T *macc = (T *)w->macc;                                                   \
    COMBINE(macc[mi], a);                                                     \
    if (!(w->mflags[mi] & M_TODO)) {                                          \
        w->mflags[mi] |= M_TODO;                                              \
        w->todo[w->n_todo++] = mi;                                            \
    }                                                                         \
    w->mflags[mi] |= M_HAS_MSG;                                               \
}                                                                             \
/* Every sender is active: pull each destination's messages along the   */ \
/* CSR by destination and hand the combined value straight on: one      */ \
/* sequential pass, no flag tests, no accumulator round trip.           */ \
static uint64_t                                                               \
pull_##NAME(worker_t *w, part_t *pt, batch_t *out)                            \
{                                                                             \
    const T *msg = (const T *)pt->out_msg;                                    \
    T id;                                                                     \
    memcpy(&id, w->identity, sizeof id);                                      \
    uint64_t sent = 0;                                                        \
    for (uint32_t v = 0; v < pt->n_local; v++) {                              \
        uint64_t e = pt->in_off[v], end = pt->in_off[v + 1];                  \
        if (e == end)                                                         \
            continue;                                                         \
        T a = id;                                                             \
        for (; e < end; e++) {                                                \
            T m = msg[pt->in_src[e]];                                         \
            COMBINE(a, m);                                                    \
        }                                                                     \
        deliver_##NAME(w, pt, out, v, a);                                     \
        sent++;                                                               \
    }                                                                         \
    return sent;                                                              \
}                                                                             \
/* Many senders active (CC's first steps): gather from the neighbours   */ \
/* each vertex would hear from. An inactive replica's message is the    */ \
/* identity, so every neighbour is combined without a branch; its flag  */ \
/* only says whether anyone active was heard. It reads every edge but   */ \
/* writes sequentially, where a push scatters random writes.            */ \
static uint64_t                                                               \
gather_##NAME(worker_t *w, part_t *pt, batch_t *out, gx_direction_t dir)      \
{                                                                             \
    const T *msg = (const T *)pt->out_msg;                                    \
    const uint8_t *fl = pt->flags;                                            \
    T id;                                                                     \
    memcpy(&id, w->identity, sizeof id);                                      \
    uint64_t sent = 0;                                                        \
    for (uint32_t v = 0; v < pt->n_local; v++) {                              \
        T a = id;                                                             \
        uint8_t got = 0;                                                      \
        if (dir & GX_DIR_OUT)                                                 \
            for (uint64_t e = pt->in_off[v]; e < pt->in_off[v + 1]; e++) {    \
                uint32_t u = pt->in_src[e];                                   \
                T m = msg[u];                                                 \
                COMBINE(a, m);                                                \
                got |= fl[u];                                                 \
            }                                                                 \
        if (dir & GX_DIR_IN)                                                  \
            for (uint64_t e = pt->out_off[v]; e < pt->out_off[v + 1]; e++) {  \
                uint32_t u = pt->out_dst[e];                                  \
                T m = msg[u];                                                 \
                COMBINE(a, m);                                                \
                got |= fl[u];                                                 \
            }                                                                 \
        if (got & F_ACTIVE) {                                                 \
            deliver_##NAME(w, pt, out, v, a);                                 \
            sent++;                                                           \
        }                                                                     \
    }                                                                         \
    return sent;                                                              \
}                                                                             \
static void                                                                   \
push_##NAME(part_t *pt, const uint64_t *off, const uint32_t *nbr)             \
{                                                                             \
    const T *msg = (const T *)pt->out_msg;                                    \
    T *acc = (T *)pt->acc;                                                    \
    for (uint32_t i = 0; i < pt->n_act; i++) {                                \
        uint32_t u = pt->act[i];                                              \
        T m = msg[u];                                                         \
        for (uint64_t e = off[u]; e < off[u + 1]; e++) {                      \
            uint32_t v = nbr[e];                                              \
            COMBINE(acc[v], m);                                               \
            if (!(pt->flags[v] & F_TOUCHED)) {                                \
                pt->flags[v] |= F_TOUCHED;                                    \
                pt->touch[pt->n_touch++] = v;                                 \
            }                                                                 \
        }                                                                     \
    }                                                                         \
}

DEFINE_LOOPS(sum_f64, double, C_SUM)
DEFINE_LOOPS(min_f64, double, C_MIN)
DEFINE_LOOPS(max_f64, double, C_MAX)
DEFINE_LOOPS(sum_i64, int64_t, C_USUM)
DEFINE_LOOPS(min_i64, int64_t, C_MIN)
DEFINE_LOOPS(max_i64, int64_t, C_MAX)
DEFINE_LOOPS(min_u64, uint64_t, C_MIN)
DEFINE_LOOPS(max_u64, uint64_t, C_MAX)

static void
push_custom(worker_t *w, part_t *pt, const uint64_t *off, const uint32_t *nbr)
{
    size_t ms = w->msz;
    for (uint32_t i = 0; i < pt->n_act; i++) {
        uint32_t u = pt->act[i];
        const uint8_t *m = pt->out_msg + (size_t)u * ms;
        for (uint64_t e = off[u]; e < off[u + 1]; e++) {
            uint32_t v = nbr[e];
            uint8_t *a = pt->acc + (size_t)v * ms;
            if (!(pt->flags[v] & F_TOUCHED)) {
                pt->flags[v] |= F_TOUCHED;
                pt->touch[pt->n_touch++] = v;
                memcpy(a, m, ms);
            } else {
                w->prog->combine(a, m);
            }
        }
    }
}

typedef struct loops {
    uint64_t (*pull)(worker_t *, part_t *, batch_t *);
    uint64_t (*gather)(worker_t *, part_t *, batch_t *, gx_direction_t);
    void (*push)(part_t *, const uint64_t *, const uint32_t *);
} loops_t;

static loops_t
loops_for(gx_combiner_t c)
{
    switch (c) {
    case GX_COMBINE_SUM_F64: return (loops_t){ pull_sum_f64, gather_sum_f64, push_sum_f64 };
    case GX_COMBINE_MIN_F64: return (loops_t){ pull_min_f64, gather_min_f64, push_min_f64 };
    case GX_COMBINE_MAX_F64: return (loops_t){ pull_max_f64, gather_max_f64, push_max_f64 };
    case GX_COMBINE_SUM_I64: return (loops_t){ pull_sum_i64, gather_sum_i64, push_sum_i64 };
    case GX_COMBINE_MIN_I64: return (loops_t){ pull_min_i64, gather_min_i64, push_min_i64 };
    case GX_COMBINE_MAX_I64: return (loops_t){ pull_max_i64, gather_max_i64, push_max_i64 };
    case GX_COMBINE_MIN_U64: return (loops_t){ pull_min_u64, gather_min_u64, push_min_u64 };
    case GX_COMBINE_MAX_U64: return (loops_t){ pull_max_u64, gather_max_u64, push_max_u64 };
    default:                 return (loops_t){ NULL, NULL, NULL };
    }
}

// Scatter over one partition's active replicas, then ship one combined
// message per touched replica to its master.
void
gx_scatter_part(worker_t *w, part_t *pt, batch_t *out)
{
    if (pt->n_local == 0)
        return;
    loops_t lp = loops_for(w->prog->combiner);
    gx_direction_t dir = w->prog->direction;
    if (dir == GX_DIR_OUT && lp.pull && pt->n_act_out == pt->n_with_out) {
        // Every sender with an out-edge here is active (PageRank).
        w->stats[GX_STAT_MESSAGES] += lp.pull(w, pt, out);
    } else if ((dir & GX_DIR_IN) && !pt->out_dst
               && gx_part_build_out_csr(w, pt) != 0) {
        return;
    } else if (lp.gather && pt->act_edges * GATHER_RATIO
                                > pt->n_edges * ((dir == GX_DIR_BOTH) + 1)) {
        // The active replicas' edges are a good share of all edges (CC's
        // first steps): gathering over every edge beats pushing theirs.
        w->stats[GX_STAT_MESSAGES] += lp.gather(w, pt, out, dir);
    } else {
        // A sparse frontier: push from the active replicas only. The CSR
        // by source is built on the first push along out-edges.
        if ((dir & GX_DIR_OUT) && !pt->out_dst
            && gx_part_build_out_csr(w, pt) != 0)
            return;
        // Replicas became active in the order syncs arrived, which varies
        // from run to run; a sum pushed in that order would too. Sorted,
        // every accumulator adds its senders in local order. (Minimum and
        // maximum, and integer sums, do not care; they skip the sort.)
        gx_combiner_t c = w->prog->combiner;
        if (c == GX_COMBINE_SUM_F64 || c == GX_COMBINE_CUSTOM)
            qsort(pt->act, pt->n_act, sizeof *pt->act, gx_cmp_u32);
        if (dir & GX_DIR_OUT) {
            if (lp.push)
                lp.push(pt, pt->out_off, pt->out_dst);
            else
                push_custom(w, pt, pt->out_off, pt->out_dst);
        }
        if (dir & GX_DIR_IN) {
            if (lp.push)
                lp.push(pt, pt->in_off, pt->in_src);
            else
                push_custom(w, pt, pt->in_off, pt->in_src);
        }
    }
    // One combined message per touched replica to its master.
    for (uint32_t i = 0; i < pt->n_touch && !w->failed; i++) {
        uint32_t v = pt->touch[i];
        uint8_t *a = pt->acc + (size_t)v * w->msz;
        uint32_t o = pt->owner[v];
        if (o == w->self)
            master_receive(w, pt->route[v], a);
        else
            batch_push_msg(w, &out[o], pt->route[v], a);
        copy_msg(w, a, w->identity);
        pt->flags[v] &= (uint8_t)~F_TOUCHED;
    }
    w->stats[GX_STAT_MESSAGES] += pt->n_touch;
    pt->n_touch = 0;
    // Replicas are active only for the step their master synced them for;
    // an inactive one's message is the identity (see gather).
    for (uint32_t i = 0; i < pt->n_act; i++) {
        uint32_t l = pt->act[i];
        pt->flags[l] &= (uint8_t)~F_ACTIVE;
        copy_msg(w, pt->out_msg + (size_t)l * w->msz, w->identity);
    }
    pt->n_act = pt->n_act_out = 0;
    pt->act_edges = 0;
}

