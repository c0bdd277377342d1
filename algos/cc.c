// algos/cc.c: weakly connected components in O(log n) supersteps, by
// FastSV (Zhang, Azad and Hu, "FastSV: a distributed-memory connected
// component algorithm with fast convergence", SIAM PP 2020), a simplified
// Shiloach-Vishkin, in Pregel form over ABI 2.
//
// Every vertex keeps a parent f (a vertex id, never above its own: the
// forest's roots are the smallest ids it has seen) and a grandparent gf =
// f[f]. Label propagation moves a label one hop a superstep, so a path of n
// vertices takes n supersteps; here labels also jump along the forest,
// which halves the distance to the root every round. A round is three
// supersteps:
//   P1  each vertex hears mu, the smallest gf of its neighbours whose gf
//       changed (edge messages, MIN combiner, both ways). It hooks itself
//       (f = min(f, mu), "aggressive hooking"), hooks its old parent
//       (sends mu to f_old: "stochastic hooking"), and asks its parent for
//       the parent's f (a request to any vertex: gx_send_to).
//   P2  a vertex takes the hooks sent to it (f = min(f, hook)), then
//       answers each request with its f.
//   P3  the answer is the new gf; shortcutting sets f = min(f, gf). A
//       vertex whose gf changed sends it along its edges (heard at P1).
// A root asks no one: its grandparent is its own f. The master hook adds
// up the changes of a round (an aggregator, carried across the round's
// steps in a global) and stops after a round without any: then every edge
// (u,v) has f[u] <= gf[v] both ways and gf = f, so each component is one
// star around its smallest id, which is the output.
//
// Rounds cost every vertex three applies and two direct messages, where a
// step of plain label propagation costs only the vertices whose label
// changed; on a small-world graph (RMAT) propagation is done in a few
// steps that shrink fast. So the run starts as label propagation (f = gf,
// both lowered by the smallest label heard) and the master hook switches
// to FastSV rounds once, after PROPAGATE_STEPS, a step changes more than
// three quarters as many labels as the step before: at most
// PROPAGATE_STEPS + log_{4/3}(n) steps of propagation, then O(log n)
// rounds. (On RMAT the changes grow at step 2 before they collapse; on a
// grid they shrink by a fifth a step for thousands of steps.) The switch is a global every vertex reads; the label each
// vertex has by then is a valid start for FastSV (an id in its component,
// no larger than its own). Both run block-centric (GX_LOCAL_CLOSURE): a
// label or a grandparent crosses all of a partition's edges in a step.
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "algos/algos.h"

enum { AGG_CHANGES = 0 };
enum { PROPAGATE_STEPS = 4 };
enum {
    GLOBAL_ROUND_CHANGES = 0,  // changes of the round so far
    GLOBAL_FASTSV,             // 0: label propagation, else the first
                               // superstep of the first round
    GLOBAL_LAST_CHANGES,       // propagation: changes of the last step
};
enum { P1_HOOK = 0, P2_ANSWER = 1, P3_SHORTCUT = 2 };

// A request carries the asker's id with this bit set (ids are below 2^63),
// so requests and hooks share one list at P2.
#define REQUEST ((uint64_t)1 << 63)

typedef struct cc_value {
    uint64_t f, gf;
    uint64_t gf_changed;       // gf changed at the last apply: scatter it
} cc_value_t;

// A FastSV round's phase (rounds start at global FASTSV), or -1 while the
// run propagates labels.
static int
phase(const gx_agg_value_t *global, uint64_t superstep)
{
    int64_t first = global[GLOBAL_FASTSV].i;
    if (first == 0)
        return -1;
    return (int)((superstep - (uint64_t)first) % 3);
}

// Label propagation: the smallest label heard, if smaller, is the new f
// and gf, sent on at once.
static void
propagate(gx_context_t *ctx, cc_value_t *x, const gx_messages_t *in)
{
    uint64_t mu;
    if (!in->combined)
        return;
    memcpy(&mu, in->combined, sizeof mu);
    if (mu < x->f) {
        x->f = x->gf = mu;
        x->gf_changed = 1;
        gx_aggregate_i64(ctx, AGG_CHANGES, 1);
    }
}

static int
setup(const gx_param_t *params, size_t n, void **state, gx_error_t *err)
{
    *state = NULL;
    if (n > 0)
        return gx_error_set(err, "cc: unknown parameter '%s'", params[0].key);
    return 0;
}

static int
init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx;
    cc_value_t x = { v->id, v->id, 1 };
    memcpy(value, &x, sizeof x);
    return 1;
}

// Only a gf that just changed travels: the neighbours have the old one.
static int
scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value, void *msg)
{
    (void)ctx;
    (void)v;
    cc_value_t x;
    memcpy(&x, value, sizeof x);
    if (!x.gf_changed)
        return 0;
    memcpy(msg, &x.gf, sizeof x.gf);
    return 1;
}

static uint64_t
direct_at(const gx_messages_t *in, size_t i)
{
    uint64_t m;
    memcpy(&m, (const uint8_t *)in->direct + 8 * i, 8);
    return m;
}

static void
hook(gx_context_t *ctx, const gx_vertex_t *v, cc_value_t *x,
     const gx_messages_t *in)
{
    uint64_t mu;
    if (in->combined) {
        memcpy(&mu, in->combined, sizeof mu);
        if (mu < x->f) {
            gx_send_to(ctx, x->f, &mu);
            x->f = mu;
            gx_aggregate_i64(ctx, AGG_CHANGES, 1);
        }
    }
    if (x->f != v->id) {
        uint64_t ask = v->id | REQUEST;
        gx_send_to(ctx, x->f, &ask);
    }
}

static void
answer(gx_context_t *ctx, cc_value_t *x, const gx_messages_t *in)
{
    for (size_t i = 0; i < in->n_direct; i++) {
        uint64_t m = direct_at(in, i);
        if (!(m & REQUEST) && m < x->f) {
            x->f = m;
            gx_aggregate_i64(ctx, AGG_CHANGES, 1);
        }
    }
    for (size_t i = 0; i < in->n_direct; i++) {
        uint64_t m = direct_at(in, i);
        if (m & REQUEST)
            gx_send_to(ctx, m & ~REQUEST, &x->f);
    }
}

static void
shortcut(gx_context_t *ctx, cc_value_t *x, const gx_messages_t *in)
{
    // A root at P1 asked no one: its grandparent is its own f now.
    uint64_t gf = in->n_direct > 0 ? direct_at(in, 0) : x->f;
    x->gf_changed = gf != x->gf;
    x->gf = gf;
    if (x->gf_changed || gf < x->f)
        gx_aggregate_i64(ctx, AGG_CHANGES, 1);
    if (gf < x->f)
        x->f = gf;
}

static int
apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
      const gx_messages_t *in)
{
    cc_value_t x;
    memcpy(&x, value, sizeof x);
    x.gf_changed = 0;
    switch (phase(ctx->global, ctx->superstep)) {
    case -1:          propagate(ctx, &x, in); break;
    case P1_HOOK:     hook(ctx, v, &x, in); break;
    case P2_ANSWER:   answer(ctx, &x, in); break;
    case P3_SHORTCUT: shortcut(ctx, &x, in); break;
    }
    memcpy(value, &x, sizeof x);
    return 1;                  // every vertex takes part in every round
}

// Adds a round's changes up in a global; stops after a quiet round.
static int
master(gx_master_context_t *mc)
{
    if (mc->superstep == 0)
        return 0;
    if (mc->global[GLOBAL_FASTSV].i == 0) {
        int64_t now = mc->agg[AGG_CHANGES].i;
        if (now == 0)
            return 1;          // propagation is done: every label is final
        if (mc->superstep >= PROPAGATE_STEPS
            && now > mc->global[GLOBAL_LAST_CHANGES].i / 4 * 3)
            mc->global[GLOBAL_FASTSV].i = (int64_t)mc->superstep + 1;
        mc->global[GLOBAL_LAST_CHANGES].i = now;
        return 0;
    }
    int64_t changes = mc->global[GLOBAL_ROUND_CHANGES].i
                      + mc->agg[AGG_CHANGES].i;
    if (phase(mc->global, mc->superstep) != P3_SHORTCUT) {
        mc->global[GLOBAL_ROUND_CHANGES].i = changes;
        return 0;
    }
    mc->global[GLOBAL_ROUND_CHANGES].i = 0;
    return changes == 0;
}

static int
format(const void *value, char *buf, size_t cap)
{
    cc_value_t x;
    memcpy(&x, value, sizeof x);
    return snprintf(buf, cap, "%" PRIu64, x.f);
}

const gx_program_t gx_cc_program = {
    GX_PROGRAM_HEADER,
    .name = "cc",
    .summary = "weakly connected components (smallest vertex id as label)",
    .description =
        "Weakly connected components: edge direction is ignored and every\n"
        "vertex is labelled with the smallest vertex id in its component.\n"
        "Label propagation while it converges fast, then FastSV (a\n"
        "Shiloach-Vishkin variant): O(log n) supersteps, whatever the\n"
        "graph's diameter. A label crosses all of a partition's edges in\n"
        "one superstep, so fewer partitions mean fewer supersteps.",
    .flags = GX_LOCAL_CLOSURE,
    .value_size = sizeof(cc_value_t),
    .msg_size = sizeof(uint64_t),
    .direct_size = sizeof(uint64_t),
    .direction = GX_DIR_BOTH,
    .combiner = GX_COMBINE_MIN_U64,
    .n_aggs = 1,
    .agg_ops = { GX_AGG_SUM_I64 },
    .setup = setup,
    .init = init,
    .scatter = scatter,
    .apply = apply,
    .master = master,
    .format = format,
    .value_type = GX_VALUE_U64,
    .summary_kind = GX_SUMMARY_GROUPS,
    .summary_label = "components",
};
