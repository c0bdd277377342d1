// algos/pagerank.c: PageRank as LDBC Graphalytics and networkx define it.
// With N vertices and damping d, ranks start at 1/N and each step computes
//   r'(v) = (1-d)/N + d * (sum over edges (u,v) of r(u)/outdeg(u) + D/N)
// where D is the rank held by dangling vertices (no out-edges), spread over
// all vertices so the ranks keep summing to 1. D and the L1 change of a step
// are aggregators: each step's apply contributes them for its new ranks, the
// master reduces them, and the next step's apply reads D.
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "algos/algos.h"

enum { AGG_DANGLING = 0, AGG_DELTA = 1 };

#define MAX_ITERATIONS_DEFAULT 100

typedef struct pagerank {
    double   damping;
    uint64_t iterations;      // exact count, 0 = until converged
    double   tol;             // L1 change below which to stop
    uint64_t max_iterations;
} pagerank_t;

static int
parse_double(const char *key, const char *s, double *out, gx_error_t *err)
{
    if (gx_parse_f64(s, out) != 0)
        return gx_error_set(err, "pagerank: %s '%s' is not a number", key, s);
    return 0;
}

static int
parse_count(const char *key, const char *s, uint64_t *out, gx_error_t *err)
{
    if (*s < '0' || *s > '9')
        return gx_error_set(err, "pagerank: %s '%s' is not a positive integer",
                            key, s);
    if (gx_parse_u64(s, 1000000000u, out) != 0 || *out == 0)
        return gx_error_set(err, "pagerank: %s '%s' must be an integer in "
                            "1..1000000000", key, s);
    return 0;
}

static int
setup(const gx_param_t *params, size_t n, void **state, gx_error_t *err)
{
    pagerank_t *pr = malloc(sizeof *pr);
    if (!pr)
        return gx_error_set(err, "pagerank: out of memory");
    *pr = (pagerank_t){ .damping = 0.85, .tol = 1e-10,
                        .max_iterations = MAX_ITERATIONS_DEFAULT };
    int rc = 0;
    bool tol_given = false;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *k = params[i].key, *v = params[i].value;
        if (strcmp(k, "damping") == 0) {
            rc = parse_double(k, v, &pr->damping, err);
            if (rc == 0 && !(pr->damping > 0.0 && pr->damping < 1.0))
                rc = gx_error_set(err, "pagerank: damping %s is outside (0,1)",
                                  v);
        } else if (strcmp(k, "iterations") == 0) {
            rc = parse_count(k, v, &pr->iterations, err);
        } else if (strcmp(k, "tol") == 0) {
            tol_given = true;
            rc = parse_double(k, v, &pr->tol, err);
            if (rc == 0 && !(pr->tol > 0.0))
                rc = gx_error_set(err, "pagerank: tol %s must be positive", v);
        } else if (strcmp(k, "max-iterations") == 0) {
            rc = parse_count(k, v, &pr->max_iterations, err);
        } else {
            rc = gx_error_set(err, "pagerank: unknown parameter '%s'", k);
        }
    }
    if (rc == 0 && tol_given && pr->iterations)
        rc = gx_error_set(err, "pagerank: iterations and tol exclude each "
                          "other");
    if (rc != 0) {
        free(pr);
        return -1;
    }
    *state = pr;
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
    double r = 1.0 / (double)ctx->n_vertices;
    memcpy(value, &r, sizeof r);
    if (v->out_degree == 0)
        gx_aggregate_f64(ctx, AGG_DANGLING, r);
    return 1;
}

static int
scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value, void *msg)
{
    (void)ctx;
    if (v->out_degree == 0)
        return 0;
    double r;
    memcpy(&r, value, sizeof r);
    double share = r / (double)v->out_degree;
    memcpy(msg, &share, sizeof share);
    return 1;
}

static int
apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
      const gx_messages_t *in)
{
    const pagerank_t *pr = ctx->state;
    double n = (double)ctx->n_vertices, old, sum = 0.0;
    memcpy(&old, value, sizeof old);
    if (in->combined)
        memcpy(&sum, in->combined, sizeof sum);
    double r = (1.0 - pr->damping) / n
               + pr->damping * (sum + ctx->agg[AGG_DANGLING].f / n);
    memcpy(value, &r, sizeof r);
    gx_aggregate_f64(ctx, AGG_DELTA, fabs(r - old));
    if (v->out_degree == 0)
        gx_aggregate_f64(ctx, AGG_DANGLING, r);
    return 1;                  // every vertex takes part in every step
}

// The master hook: a fixed number of steps, or until the L1 change of a
// step (reduced over every vertex) falls below tol.
static int
master(gx_master_context_t *mc)
{
    const pagerank_t *pr = mc->state;
    if (pr->iterations)
        return mc->superstep >= pr->iterations;
    if (mc->superstep >= pr->max_iterations)
        return 1;
    return mc->superstep >= 1 && mc->agg[AGG_DELTA].f < pr->tol;
}

static int
format(const void *value, char *buf, size_t cap)
{
    double r;
    memcpy(&r, value, sizeof r);
    return snprintf(buf, cap, "%.17g", r);
}

static const gx_param_spec_t params[] = {
    { "iterations", 'n', "N", "run exactly N steps" },
    { "tol", 't', "X", "stop when the L1 change of a step is below X "
                       "(default 1e-10, at most max-iterations steps)" },
    { "damping", 'd', "D", "damping factor in (0,1) (default 0.85)" },
    { "max-iterations", 0, "N", "the cap on steps when stopping by tol "
                                "(default 100)" },
    { NULL, 0, NULL, NULL },
};

const gx_program_t gx_pagerank_program = {
    GX_PROGRAM_HEADER,
    .name = "pagerank",
    .summary = "PageRank (LDBC Graphalytics / networkx definition)",
    .description =
        "PageRank as LDBC Graphalytics and networkx define it: ranks start at\n"
        "1/N; r'(v) = (1-d)/N + d*(sum of r(u)/outdeg(u) over edges (u,v) +\n"
        "D/N), D the rank on dangling vertices. Ranks sum to 1.",
    .params = params,
    .value_size = sizeof(double),
    .msg_size = sizeof(double),
    .direction = GX_DIR_OUT,
    .combiner = GX_COMBINE_SUM_F64,
    .n_aggs = 2,
    .agg_ops = { GX_AGG_SUM_F64, GX_AGG_SUM_F64 },
    .setup = setup,
    .teardown = teardown,
    .init = init,
    .scatter = scatter,
    .apply = apply,
    .master = master,
    .format = format,
    .value_type = GX_VALUE_F64,
    .summary_kind = GX_SUMMARY_TOP,
    .summary_label = "pagerank",
};
