// algos/examples/sssp.c: single-source shortest paths as LDBC Graphalytics
// defines them: the value of v is the smallest sum of edge weights over the
// directed paths from `source` to v, and Infinity if there is none.
//
// An example plugin: written against include/graphx/program.h alone, and
// built out of the tree with
//     cc -shared -fPIC -Iinclude algos/examples/sssp.c -o sssp.so
//     graphx-run run --program ./sssp.so --param source=1 -i weighted.txt
//
// Pregel's Bellman-Ford. The program asks for the weight column
// (GX_NEEDS_WEIGHTS: every line must be "src dst weight") and lets the
// engine do the per-edge work: a vertex sends its distance once, the
// built-in GX_EDGE_ADD_WEIGHT step adds each edge's weight on the way, and
// the MIN_F64 combiner keeps the smallest candidate per receiver. So no
// callback runs per edge, and a vertex speaks only in the superstep after
// its distance fell. The run ends when no distance falls.
//
// NEGATIVE WEIGHTS. Graphalytics' weights are non-negative, and then each
// vertex's distance is final by the time the frontier dies out. setup()
// runs before the graph is read, so it cannot refuse a negative weight, and
// a program cannot fail a run; instead this program gives the answer
// Bellman-Ford gives:
//   - without a negative cycle reachable from the source, negative weights
//     are fine: after superstep s a distance is the shortest over walks of
//     at most s edges, so every distance is final by superstep n-1
//     (n = vertices) and the run ends by superstep n;
//   - a distance that still falls at superstep n or later came from a walk
//     of n or more edges, which must go round a negative cycle: such a
//     vertex takes -Infinity, and so, as -Infinity spreads, does every
//     vertex reachable from it. Every vertex reachable from a negative cycle
//     ends at -Infinity, and the others keep their true distances.
// So the run always ends: after superstep n a vertex changes at most once
// more (to -Infinity), which bounds the run by about 3n supersteps, each
// touching only the vertices that changed. (--undirected with a negative
// weight is a negative cycle a->b->a.)
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graphx/program.h"

typedef struct sssp {
    uint64_t source;
} sssp_t;

static const gx_param_spec_t params[] = {
    { "source", 's', "ID", "the vertex to measure from (required)" },
    { NULL, 0, NULL, NULL },
};

static int
setup(const gx_param_t *p, size_t n, void **state, gx_error_t *err)
{
    sssp_t st = { 0 };
    int have_source = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(p[i].key, "source") != 0)
            return gx_error_set(err, "sssp: unknown parameter '%s' (sssp takes "
                                "source=ID)", p[i].key);
        if (have_source)
            return gx_error_set(err, "sssp: source is given twice");
        if (gx_parse_u64(p[i].value, INT64_MAX, &st.source) != 0)
            return gx_error_set(err, "sssp: source '%s' is not a vertex id "
                                "(0..%" PRId64 ")", p[i].value, INT64_MAX);
        have_source = 1;
    }
    if (!have_source)
        return gx_error_set(err, "sssp: source is required (--param source=ID)");
    sssp_t *copy = malloc(sizeof *copy);
    if (!copy)
        return gx_error_set(err, "sssp: out of memory");
    *copy = st;
    *state = copy;
    return 0;
}

static void
teardown(void *state)
{
    free(state);
}

static int
init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    const sssp_t *st = ctx->state;
    double d = v->id == st->source ? 0.0 : INFINITY;
    memcpy(value, &d, sizeof d);
    return d == 0.0;            // only the source speaks at superstep 1
}

// The message is the sender's distance; GX_EDGE_ADD_WEIGHT makes it
// distance + weight on each edge it crosses.
static int
scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value, void *msg)
{
    (void)ctx;
    (void)v;
    memcpy(msg, value, sizeof(double));
    return 1;
}

static int
apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
      const gx_messages_t *in)
{
    (void)v;
    if (!in->combined)
        return 0;
    double d, heard;
    memcpy(&d, value, sizeof d);
    memcpy(&heard, in->combined, sizeof heard);
    if (!(heard < d))           // no shorter path (a NaN weight never is)
        return 0;
    // Falling at superstep n or later: a walk of n or more edges beat every
    // shorter one, so it goes round a negative cycle (see the top).
    if (ctx->superstep >= ctx->n_vertices)
        heard = -INFINITY;
    memcpy(value, &heard, sizeof heard);
    return 1;
}

static int
format(const void *value, char *buf, size_t cap)
{
    double d;
    memcpy(&d, value, sizeof d);
    if (isinf(d))
        return snprintf(buf, cap, "%s", d > 0 ? "Infinity" : "-Infinity");
    return snprintf(buf, cap, "%.17g", d);
}

static const gx_program_t program = {
    GX_PROGRAM_HEADER,
    .name = "sssp",
    .summary = "single-source shortest paths over edge weights (LDBC Graphalytics)",
    .description =
        "The smallest sum of weights over directed paths from the source to\n"
        "each vertex. Every input line needs a weight: 'src dst weight'.\n"
        "A vertex the source cannot reach gets Infinity, as in LDBC\n"
        "Graphalytics; so does every vertex if the source is not in the graph.\n"
        "Weights should be non-negative; with negative ones the answer is\n"
        "Bellman-Ford's: exact without a negative cycle, and -Infinity for\n"
        "every vertex reachable from a negative cycle.\n",
    .params = params,
    .flags = GX_NEEDS_WEIGHTS,
    .value_size = sizeof(double),
    .msg_size = sizeof(double),
    .direction = GX_DIR_OUT,
    .combiner = GX_COMBINE_MIN_F64,
    .edge_op = GX_EDGE_ADD_WEIGHT,
    .setup = setup,
    .teardown = teardown,
    .init = init,
    .scatter = scatter,
    .apply = apply,
    .format = format,
    .value_type = GX_VALUE_F64,
    // No summary: the largest distances are the unreached vertices'
    // Infinity, and distinct doubles make no groups worth listing.
    .summary_kind = GX_SUMMARY_NONE,
};

const gx_program_t *graphx_program(void);

const gx_program_t *
graphx_program(void)
{
    return &program;
}
