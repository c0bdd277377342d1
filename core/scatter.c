// core/scatter.c: the per-edge work of a superstep. Every active replica's
// message crosses its edges (changed by the program's edge step on the way)
// and is combined into per-replica accumulators; then one combined message
// per touched replica goes to its master. Specialised loops per built-in
// combiner and built-in edge step keep both inline; when every sender is
// active the loop pulls by destination and hands each result straight on.
// Custom combiners and edge steps take a generic push; a program without a
// combiner sends one row per edge (push_list).
#include "core/scatter.h"

#include "core/closure.h"
#include "core/partstore.h"

#include <stdlib.h>
#include "core/order.h"

// Gather when the active replicas hold more than 1/GATHER_RATIO of the
// edges along the direction: a pushed edge (a random write and a flag
// test) costs a few gathered ones (measured on RMAT-20 CC).
#define GATHER_RATIO 8

// The per-edge loops, one per built-in combiner and built-in edge step so
// both inline. EDGE(m, wt, e) is what crossing edge e does to message m
// (wt: the weights along the CSR being walked, NULL when unweighted).
#define DEFINE_LOOPS(NAME, T, COMBINE, EDGE)                                  \
/* The combined message of replica v goes to its master: straight into  */ \
/* the master's accumulator on this worker, else into the peer's batch. */ \
static inline void                                                            \
deliver_##NAME(worker_t *w, part_t *pt, batch_t *out, uint32_t v, T a)        \
{                                                                             \
    uint32_t o = pt->owner[v], mi = pt->route[v];                             \
    if (o != w->self) {                                                       \
        batch_push_msg(&out[o], mi, &a, w->msz);                              \
        return;                                                               \
    }                                                                         \
    T *macc = (T *)w->mt.macc;                                                \
    COMBINE(macc[mi], a);                                                     \
    master_mark(&w->mt, mi);                                                \
    w->mt.mflags[mi] |= M_HAS_MSG;                                            \
}                                                                             \
/* Every sender is active: pull each destination's messages along the   */ \
/* CSR by destination and hand the combined value straight on: one      */ \
/* sequential pass, no flag tests, no accumulator round trip.           */ \
static uint64_t                                                               \
pull_##NAME(worker_t *w, part_t *pt, batch_t *out)                            \
{                                                                             \
    const T *msg = (const T *)pt->out_msg;                                    \
    const double *wt = pt->in_w;                                              \
    (void)wt;                                                                 \
    T id;                                                                     \
    memcpy(&id, w->identity, sizeof id);                                      \
    uint64_t sent = 0;                                                        \
    for (uint32_t v = 0; v < pt->n_local; v++) {                              \
        uint64_t e = pt->in_off[v], end = pt->in_off[v + 1];                  \
        if (e == end)                                                         \
            continue;                                                         \
        T a = id;                                                             \
        for (; e < end; e++) {                                                \
            T m = EDGE(msg[pt->in_src[e]], wt, e);                            \
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
/* writes sequentially, where a push scatters random writes. (Unused    */ \
/* for the edge steps that do not keep the identity: weighted_loops.)   */ \
static __attribute__((unused)) uint64_t                                      \
gather_##NAME(worker_t *w, part_t *pt, batch_t *out, gx_direction_t dir)      \
{                                                                             \
    const T *msg = (const T *)pt->out_msg;                                    \
    const uint8_t *fl = pt->flags;                                            \
    const double *iw = pt->in_w, *ow = pt->out_w;                             \
    (void)iw;                                                                 \
    (void)ow;                                                                 \
    T id;                                                                     \
    memcpy(&id, w->identity, sizeof id);                                      \
    uint64_t sent = 0;                                                        \
    for (uint32_t v = 0; v < pt->n_local; v++) {                              \
        T a = id;                                                             \
        uint8_t got = 0;                                                      \
        if (dir & GX_DIR_OUT)                                                 \
            for (uint64_t e = pt->in_off[v]; e < pt->in_off[v + 1]; e++) {    \
                uint32_t u = pt->in_src[e];                                   \
                T m = EDGE(msg[u], iw, e);                                    \
                COMBINE(a, m);                                                \
                got |= fl[u];                                                 \
            }                                                                 \
        if (dir & GX_DIR_IN)                                                  \
            for (uint64_t e = pt->out_off[v]; e < pt->out_off[v + 1]; e++) {  \
                uint32_t u = pt->out_dst[e];                                  \
                T m = EDGE(msg[u], ow, e);                                    \
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
push_##NAME(part_t *pt, const uint64_t *off, const uint32_t *nbr,             \
            const double *wt)                                                 \
{                                                                             \
    const T *msg = (const T *)pt->out_msg;                                    \
    T *acc = (T *)pt->acc;                                                    \
    (void)wt;                                                                 \
    for (uint32_t i = 0; i < pt->n_act; i++) {                                \
        uint32_t u = pt->act[i];                                              \
        T m0 = msg[u];                                                        \
        for (uint64_t e = off[u]; e < off[u + 1]; e++) {                      \
            uint32_t v = nbr[e];                                              \
            T m = EDGE(m0, wt, e);                                            \
            COMBINE(acc[v], m);                                               \
            if (!(pt->flags[v] & F_TOUCHED)) {                                \
                pt->flags[v] |= F_TOUCHED;                                    \
                pt->touch[pt->n_touch++] = v;                                 \
            }                                                                 \
        }                                                                     \
    }                                                                         \
}

#define E_NONE(m, wt, e) (m)
#define E_ADD(m, wt, e)  ((m) + (wt)[e])
#define E_MUL(m, wt, e)  ((m) * (wt)[e])

DEFINE_LOOPS(sum_f64, double, C_SUM, E_NONE)
DEFINE_LOOPS(min_f64, double, C_MIN, E_NONE)
DEFINE_LOOPS(max_f64, double, C_MAX, E_NONE)
DEFINE_LOOPS(sum_i64, int64_t, C_USUM, E_NONE)
DEFINE_LOOPS(min_i64, int64_t, C_MIN, E_NONE)
DEFINE_LOOPS(max_i64, int64_t, C_MAX, E_NONE)
DEFINE_LOOPS(min_u64, uint64_t, C_MIN, E_NONE)
DEFINE_LOOPS(max_u64, uint64_t, C_MAX, E_NONE)
DEFINE_LOOPS(sum_f64_add, double, C_SUM, E_ADD)
DEFINE_LOOPS(min_f64_add, double, C_MIN, E_ADD)
DEFINE_LOOPS(max_f64_add, double, C_MAX, E_ADD)
DEFINE_LOOPS(sum_f64_mul, double, C_SUM, E_MUL)
DEFINE_LOOPS(min_f64_mul, double, C_MIN, E_MUL)
DEFINE_LOOPS(max_f64_mul, double, C_MAX, E_MUL)

// What crossing one edge does to a message, outside the specialised
// loops (custom steps, and built-in ones under a custom combiner or none).
static inline void
edge_step(const gx_program_t *prog, uint8_t *msg, const double *wt,
          uint64_t e, gx_direction_t way)
{
    double x, weight = wt ? wt[e] : 1.0;
    switch (prog->edge_op) {
    case GX_EDGE_NONE:
        break;
    case GX_EDGE_ADD_WEIGHT:
        memcpy(&x, msg, 8);
        x += weight;
        memcpy(msg, &x, 8);
        break;
    case GX_EDGE_MUL_WEIGHT:
        memcpy(&x, msg, 8);
        x *= weight;
        memcpy(msg, &x, 8);
        break;
    case GX_EDGE_CUSTOM:
        prog->edge(msg, weight, way);
        break;
    }
}

// A push for any combiner and edge step, a call or two per edge.
static void
push_generic(worker_t *w, part_t *pt, const uint64_t *off, const uint32_t *nbr,
             const double *wt, gx_direction_t way)
{
    size_t ms = w->msz;
    uint8_t m[GX_MAX_MSG_SIZE];
    for (uint32_t i = 0; i < pt->n_act; i++) {
        uint32_t u = pt->act[i];
        const uint8_t *m0 = pt->out_msg + (size_t)u * ms;
        for (uint64_t e = off[u]; e < off[u + 1]; e++) {
            uint32_t v = nbr[e];
            uint8_t *a = pt->acc + (size_t)v * ms;
            memcpy(m, m0, ms);
            edge_step(w->prog, m, wt, e, way);
            if (!(pt->flags[v] & F_TOUCHED)) {
                pt->flags[v] |= F_TOUCHED;
                pt->touch[pt->n_touch++] = v;
                memcpy(a, m, ms);
            } else {
                combine(w->prog, a, m);
            }
        }
    }
}

// No combiner: every edge's message goes to the master of its destination
// as a row of its own, in local order (the caller sorted the active ones).
static void
push_list(worker_t *w, part_t *pt, batch_t *out, const uint64_t *off,
          const uint32_t *nbr, const double *wt, gx_direction_t way)
{
    size_t ms = w->msz;
    uint8_t m[GX_MAX_MSG_SIZE];
    for (uint32_t i = 0; i < pt->n_act && !w->alarm.raised; i++) {
        uint32_t u = pt->act[i];
        const uint8_t *m0 = pt->out_msg + (size_t)u * ms;
        for (uint64_t e = off[u]; e < off[u + 1]; e++) {
            uint32_t v = nbr[e], o = pt->owner[v];
            memcpy(m, m0, ms);
            edge_step(w->prog, m, wt, e, way);
            if ((o == w->self ? master_receive(w, pt->route[v], m)
                              : batch_push_msg(&out[o], pt->route[v], m, w->msz)) != 0)
                return;
        }
        w->stats[GX_STAT_MESSAGES] += off[u + 1] - off[u];
    }
}

typedef struct loops {
    uint64_t (*pull)(worker_t *, part_t *, batch_t *);
    uint64_t (*gather)(worker_t *, part_t *, batch_t *, gx_direction_t);
    void (*push)(part_t *, const uint64_t *, const uint32_t *, const double *);
} loops_t;

static loops_t
plain_loops(gx_combiner_t c)
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

// Loops for a built-in edge step. A gather combines every neighbour,
// inactive ones through the identity, so it needs a step that keeps the
// identity: inf + w = inf for min and max, but 0 + w is no longer 0 for a
// sum, and inf * w turns with the sign of w. Those push instead.
static loops_t
weighted_loops(gx_combiner_t c, gx_edge_op_t op)
{
    bool add = op == GX_EDGE_ADD_WEIGHT;
    switch (c) {
    case GX_COMBINE_SUM_F64:
        return add ? (loops_t){ pull_sum_f64_add, NULL, push_sum_f64_add }
                   : (loops_t){ pull_sum_f64_mul, NULL, push_sum_f64_mul };
    case GX_COMBINE_MIN_F64:
        return add ? (loops_t){ pull_min_f64_add, gather_min_f64_add, push_min_f64_add }
                   : (loops_t){ pull_min_f64_mul, NULL, push_min_f64_mul };
    case GX_COMBINE_MAX_F64:
        return add ? (loops_t){ pull_max_f64_add, gather_max_f64_add, push_max_f64_add }
                   : (loops_t){ pull_max_f64_mul, NULL, push_max_f64_mul };
    default:
        return (loops_t){ NULL, NULL, NULL };
    }
}

static loops_t
loops_for(const gx_program_t *p)
{
    if (p->edge_op == GX_EDGE_NONE)
        return plain_loops(p->combiner);
    if (p->edge_op == GX_EDGE_CUSTOM)
        return (loops_t){ NULL, NULL, NULL };
    return weighted_loops(p->combiner, p->edge_op);
}

// A push along the program's direction(s), by the fastest loop there is.
static void
push(worker_t *w, part_t *pt, batch_t *out, loops_t lp)
{
    gx_direction_t dir = w->prog->direction;
    // Replicas became active in the order syncs arrived, which varies
    // from run to run; a sum pushed in that order would too. Sorted,
    // every accumulator adds its senders in local order. (Minimum and
    // maximum, and integer sums, do not care; they skip the sort.)
    gx_combiner_t c = w->prog->combiner;
    if (c == GX_COMBINE_SUM_F64 || c == GX_COMBINE_CUSTOM
        || c == GX_COMBINE_NONE)
        qsort(pt->act, pt->n_act, sizeof *pt->act, gx_cmp_u32);
    for (int k = 0; k < 2; k++) {
        gx_direction_t way = k == 0 ? GX_DIR_OUT : GX_DIR_IN;
        if (!(dir & way))
            continue;
        const uint64_t *off = way == GX_DIR_OUT ? pt->out_off : pt->in_off;
        const uint32_t *nbr = way == GX_DIR_OUT ? pt->out_dst : pt->in_src;
        const double *wt = way == GX_DIR_OUT ? pt->out_w : pt->in_w;
        if (c == GX_COMBINE_NONE)
            push_list(w, pt, out, off, nbr, wt, way);
        else if (lp.push)
            lp.push(pt, off, nbr, wt);
        else
            push_generic(w, pt, off, nbr, wt, way);
    }
}

// One combined message per touched replica to its master.
static void
send_touched(worker_t *w, part_t *pt, batch_t *out)
{
    for (uint32_t i = 0; i < pt->n_touch && !w->alarm.raised; i++) {
        uint32_t v = pt->touch[i];
        uint8_t *a = pt->acc + (size_t)v * w->msz;
        uint32_t o = pt->owner[v];
        if (o == w->self)
            master_receive(w, pt->route[v], a);
        else
            batch_push_msg(&out[o], pt->route[v], a, w->msz);
        copy_msg(w, a, w->identity);
        pt->flags[v] &= (uint8_t)~F_TOUCHED;
    }
    w->stats[GX_STAT_MESSAGES] += pt->n_touch;
    pt->n_touch = 0;
}

// Scatter over one partition's active replicas, then ship what they made
// to the masters.
void
gx_scatter_part(worker_t *w, part_t *pt, batch_t *out)
{
    if (pt->n_local == 0)
        return;
    loops_t lp = loops_for(w->prog);
    gx_direction_t dir = w->prog->direction;
    if (w->prog->flags & GX_LOCAL_CLOSURE) {
        gx_closure_scatter(w, pt, out);
    } else if (dir == GX_DIR_OUT && lp.pull && pt->n_act_out == pt->n_with_out) {
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
        push(w, pt, out, lp);
        send_touched(w, pt, out);
    }
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
