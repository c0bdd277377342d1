// tests/test_program.c: the vertex-program ABI (version 2) from the
// outside, as a plugin would use it. Programs written here exercise what
// the built-ins do not, one capability each, and each is checked against
// an independent computation written here under every worker count 1-4,
// every vertex-cut strategy and odd partition counts:
//   - a sparse frontier pushed along out-edges (BFS), integer aggregators
//     read by the master hook;
//   - messages against the edge direction with a custom combiner;
//   - edge values: SSSP (GX_EDGE_ADD_WEIGHT, MIN_F64) against Dijkstra,
//     max-product paths (GX_EDGE_MUL_WEIGHT, MAX_F64), a custom edge step
//     told the way it crosses each edge, weights of an undirected read,
//     and a line without a weight;
//   - message lists (GX_COMBINE_NONE): every message, duplicates and
//     self-loops included;
//   - messages to any vertex (gx_send_to), delivered next superstep,
//     dropped and counted when the id is no vertex;
//   - the master hook: aggregators in, globals out, the run stopped;
//   - and programs the engine must refuse.
//
// The master hook runs on the master, the thread that called gx_run, and
// shares no memory with the vertices; the hooks here log what they see in
// file-scope records that only they write and only the test reads, after
// gx_run has returned. Criterion runs each test in its own process.
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "graphx/graphx.h"
#include "testutil.h"

#define INF UINT64_MAX

static void
setup(void)
{
    gx_test_tmpdir_make("program");
}

TestSuite(program, .init = setup, .fini = gx_test_tmpdir_remove);

typedef struct graph {
    size_t    m;
    uint64_t *src, *dst;
    double   *w;               // NULL: written without weights
    uint64_t  n;               // ids are 0 .. n-1, all on an edge
} graph_t;

// A random graph on ids 0..n-1 plus a path through all of them, so every
// vertex is on an edge.
static graph_t
random_graph(uint64_t n, size_t extra, unsigned seed)
{
    graph_t g = { .n = n, .m = (size_t)n - 1 + extra };
    g.src = malloc(g.m * sizeof *g.src);
    g.dst = malloc(g.m * sizeof *g.dst);
    cr_assert(g.src && g.dst);
    srand(seed);
    for (uint64_t i = 0; i + 1 < n; i++) {
        g.src[i] = i;
        g.dst[i] = i + 1;
    }
    for (size_t i = n - 1; i < g.m; i++) {
        g.src[i] = (uint64_t)rand() % n;
        g.dst[i] = (uint64_t)rand() % n;
    }
    return g;
}

// Random edges over 0..n-1 (no path: some vertices are out of reach),
// with self-loops and duplicates, and a weight k/64 for k in 1..max_k on
// each. Weights that are multiples of 1/64 keep every sum in the tests
// exact, whatever order the engine adds them in.
static graph_t
random_weighted(uint64_t n, size_t m, unsigned max_k, uint64_t seed)
{
    graph_t g = { .n = n, .m = m };
    g.src = malloc(m * sizeof *g.src);
    g.dst = malloc(m * sizeof *g.dst);
    g.w = malloc(m * sizeof *g.w);
    cr_assert(g.src && g.dst && g.w);
    uint64_t s = seed;
    for (size_t i = 0; i < m; i++) {
        g.src[i] = gx_test_splitmix64(&s) % n;
        g.dst[i] = gx_test_splitmix64(&s) % n;
        g.w[i] = (double)(1 + gx_test_splitmix64(&s) % max_k) / 64.0;
    }
    // A few self-loops and a duplicated edge with another weight.
    for (size_t i = 0; i < m / 50; i++)
        g.dst[i] = g.src[i];
    if (m > 200) {
        g.src[m - 1] = g.src[m - 2];
        g.dst[m - 1] = g.dst[m - 2];
    }
    return g;
}

static void
graph_free(graph_t *g)
{
    free(g->src);
    free(g->dst);
    free(g->w);
}

static const char *
write_graph(const graph_t *g, const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", gx_test_tmpdir(), name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (size_t i = 0; i < g->m; i++) {
        if (g->w)
            fprintf(f, "%" PRIu64 " %" PRIu64 " %.17g\n", g->src[i],
                    g->dst[i], g->w[i]);
        else
            fprintf(f, "%" PRIu64 " %" PRIu64 "\n", g->src[i], g->dst[i]);
    }
    cr_assert_eq(fclose(f), 0);
    return path;
}

// ---- Running ------------------------------------------------------------

typedef struct input {
    const char *edges;
    const char *vertices;      // NULL: none
    bool        undirected;
} input_t;

static gx_result_t
run_cfg(const gx_program_t *p, void *state, const input_t *in,
        const gx_test_config_t *c)
{
    gx_job_t job = { .input = in->edges, .vertices = in->vertices,
                     .program = p, .program_state = state,
                     .workers = c->workers, .partitions = c->partitions,
                     .strategy = c->strategy, .undirected = in->undirected };
    gx_result_t res;
    gx_error_t err = { 0 };
    int rc = gx_run(&job, &res, &err);
    cr_assert_eq(rc, 0, "%s: gx_run: %s", gx_test_config_str(c), err.msg);
    return res;
}

static gx_result_t
run(const gx_program_t *p, void *state, const char *input, unsigned workers,
    unsigned parts, gx_strategy_t s)
{
    input_t in = { .edges = input };
    gx_test_config_t c = { workers, parts, s };
    return run_cfg(p, state, &in, &c);
}

static const void *
value_at(const gx_result_t *res, const gx_program_t *p, uint64_t i)
{
    return (const uint8_t *)res->values + (size_t)i * p->value_size;
}

static int
u64_format(const void *value, char *buf, size_t cap)
{
    uint64_t x;
    memcpy(&x, value, 8);
    return snprintf(buf, cap, "%" PRIu64, x);
}

static int
f64_format(const void *value, char *buf, size_t cap)
{
    double x;
    memcpy(&x, value, 8);
    return snprintf(buf, cap, "%.17g", x);
}

// ---- BFS: sparse frontier along out-edges, MIN combiner, i64 aggregators --

typedef struct bfs_params {
    uint64_t source;
} bfs_params_t;

// What bfs_master saw at each barrier (agg 0 and agg 1), and the last one.
static struct {
    int64_t  reached[64], deepest[64];
    uint64_t steps, calls;
} bfs_seen;

static int
bfs_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    const bfs_params_t *st = ctx->state;
    uint64_t level = v->id == st->source ? 0 : INF;
    memcpy(value, &level, 8);
    if (level == 0)
        gx_aggregate_i64(ctx, 0, 1);
    return level == 0;
}

static int
bfs_scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value,
            void *msg)
{
    (void)ctx;
    (void)v;
    uint64_t level;
    memcpy(&level, value, 8);
    level++;
    memcpy(msg, &level, 8);
    return 1;
}

static int
bfs_apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
          const gx_messages_t *in)
{
    (void)v;
    uint64_t level, heard;
    memcpy(&level, value, 8);
    if (!in->combined)
        return 0;
    memcpy(&heard, in->combined, 8);
    if (heard >= level)
        return 0;
    memcpy(value, &heard, 8);
    gx_aggregate_i64(ctx, 0, 1);
    gx_aggregate_i64(ctx, 1, (int64_t)heard);
    return 1;
}

// Logs the aggregators and stops when nothing is left to do (which is
// also the engine's own rule without a hook).
static int
bfs_master(gx_master_context_t *mc)
{
    if (mc->superstep < 64) {
        bfs_seen.reached[mc->superstep] = mc->agg[0].i;
        bfs_seen.deepest[mc->superstep] = mc->agg[1].i;
    }
    bfs_seen.steps = mc->superstep;
    bfs_seen.calls++;
    return mc->active == 0 && mc->direct == 0;
}

static const gx_program_t bfs_program = {
    GX_PROGRAM_HEADER,
    .name = "bfs",
    .value_size = 8,
    .msg_size = 8,
    .direction = GX_DIR_OUT,
    .combiner = GX_COMBINE_MIN_U64,
    .n_aggs = 2,
    .agg_ops = { GX_AGG_SUM_I64, GX_AGG_MAX_I64 },
    .init = bfs_init,
    .scatter = bfs_scatter,
    .apply = bfs_apply,
    .master = bfs_master,
    .format = u64_format,
};

// Textbook BFS over the edge arrays: O(n * m) but n is small.
static uint64_t *
reference_bfs(const graph_t *g, uint64_t source)
{
    uint64_t *level = malloc(g->n * sizeof *level);
    for (uint64_t v = 0; v < g->n; v++)
        level[v] = INF;
    level[source] = 0;
    for (uint64_t d = 0;; d++) {
        int grew = 0;
        for (size_t e = 0; e < g->m; e++)
            if (level[g->src[e]] == d && level[g->dst[e]] == INF) {
                level[g->dst[e]] = d + 1;
                grew = 1;
            }
        if (!grew)
            return level;
    }
}

Test(program, bfs_pushes_a_sparse_frontier_along_out_edges_on_any_layout)
{
    // Sparse ids would defeat the dense path; a random graph with a path
    // through it has long BFS tails, so most steps push a small frontier.
    graph_t g = random_graph(3000, 3000, 7);
    const char *in = write_graph(&g, "bfs.txt");
    uint64_t *want = reference_bfs(&g, 17);
    for (unsigned w = 1; w <= 4; w++)
        for (int s = 0; s < 4; s++) {
            bfs_params_t st = { .source = 17 };
            gx_result_t res = run(&bfs_program, &st, in, w, w + (unsigned)s,
                                  gx_test_strategies[s]);
            cr_assert_eq(res.n_vertices, g.n);
            for (uint64_t i = 0; i < res.n_vertices; i++) {
                uint64_t got;
                memcpy(&got, (uint8_t *)res.values + 8 * i, 8);
                cr_assert_eq(res.ids[i], i);
                cr_assert_eq(got, want[i], "vertex %" PRIu64 ": level %"
                             PRIu64 ", want %" PRIu64 " (workers %u, "
                             "strategy %d)", i, got, want[i], w, s);
            }
            gx_result_free(&res);
        }
    free(want);
    graph_free(&g);
}

Test(program, integer_aggregators_reach_the_master_hook_reduced_over_all_workers)
{
    graph_t g = random_graph(500, 400, 3);
    const char *in = write_graph(&g, "agg.txt");
    uint64_t *want = reference_bfs(&g, 0);
    bfs_params_t st = { .source = 0 };
    memset(&bfs_seen, 0, sizeof bfs_seen);
    gx_result_t res = run(&bfs_program, &st, in, 3, 5, GX_STRATEGY_RANDOM);
    // The hook runs after every barrier, superstep 0 (init) included.
    cr_assert_eq(bfs_seen.calls, res.supersteps + 1);
    cr_assert_eq(bfs_seen.steps, res.supersteps);
    // agg 0 at superstep k counts the vertices first reached at level k;
    // agg 1 is the deepest level heard in the step (k, if any was reached).
    for (uint64_t k = 0; k <= bfs_seen.steps && k < 64; k++) {
        int64_t n = 0;
        for (uint64_t v = 0; v < g.n; v++)
            n += want[v] == k;
        cr_assert_eq(bfs_seen.reached[k], n, "superstep %" PRIu64 ": %"
                     PRId64 " reached, want %" PRId64, k,
                     bfs_seen.reached[k], n);
        if (k > 0 && n > 0)
            cr_assert_eq(bfs_seen.deepest[k], (int64_t)k, "superstep %"
                         PRIu64 ": deepest %" PRId64, k,
                         bfs_seen.deepest[k]);
        if (n == 0)
            cr_assert_eq(bfs_seen.deepest[k], INT64_MIN, "superstep %" PRIu64
                         ": a max over nothing is the identity", k);
    }
    gx_result_free(&res);
    free(want);
    graph_free(&g);
}

// ---- Reachable maximum: messages against the edges, custom combiner ------

static void
max_combine(void *acc, const void *msg)
{
    uint64_t a, m;
    memcpy(&a, acc, 8);
    memcpy(&m, msg, 8);
    if (m > a)
        memcpy(acc, &m, 8);
}

static int
rm_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx;
    memcpy(value, &v->id, 8);
    return 1;
}

static int
rm_apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
         const gx_messages_t *in)
{
    (void)ctx;
    (void)v;
    uint64_t cur, heard;
    memcpy(&cur, value, 8);
    if (!in->combined)
        return 0;
    memcpy(&heard, in->combined, 8);
    if (heard <= cur)
        return 0;
    memcpy(value, &heard, 8);
    return 1;
}

static int
rm_scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value,
           void *msg)
{
    (void)ctx;
    (void)v;
    memcpy(msg, value, 8);
    return 1;
}

static const gx_program_t reach_max_program = {
    GX_PROGRAM_HEADER,
    .name = "reach-max",
    .value_size = 8,
    .msg_size = 8,
    .direction = GX_DIR_IN,           // v's value flows to its in-neighbours
    .combiner = GX_COMBINE_CUSTOM,
    .combine = max_combine,
    .init = rm_init,
    .scatter = rm_scatter,
    .apply = rm_apply,
    .format = u64_format,
};

Test(program, custom_combiner_carries_the_largest_reachable_id_upstream)
{
    const gx_program_t *p = &reach_max_program;
    // Sparse, huge ids: the hash-table path of the partition build.
    graph_t g = random_graph(800, 300, 11);
    uint64_t *want = malloc(g.n * sizeof *want);
    for (uint64_t v = 0; v < g.n; v++)
        want[v] = v;
    for (int changed = 1; changed;) {        // fixpoint: want[u] >= want[v]
        changed = 0;
        for (size_t e = 0; e < g.m; e++)
            if (want[g.dst[e]] > want[g.src[e]]) {
                want[g.src[e]] = want[g.dst[e]];
                changed = 1;
            }
    }
    const uint64_t base = (uint64_t)1 << 61;
    for (size_t e = 0; e < g.m; e++) {
        g.src[e] = base + g.src[e] * 1000003;
        g.dst[e] = base + g.dst[e] * 1000003;
    }
    const char *in = write_graph(&g, "reach.txt");
    for (unsigned w = 1; w <= 3; w++) {
        gx_result_t res = run(p, NULL, in, w, 4, GX_STRATEGY_2D);
        cr_assert_eq(res.n_vertices, g.n);
        for (uint64_t i = 0; i < res.n_vertices; i++) {
            uint64_t got;
            memcpy(&got, (uint8_t *)res.values + 8 * i, 8);
            cr_assert_eq(res.ids[i], base + i * 1000003);
            cr_assert_eq(got, base + want[i] * 1000003,
                         "vertex %" PRIu64 " with %u workers", i, w);
        }
        gx_result_free(&res);
    }
    free(want);
    graph_free(&g);
}

// ---- Edge values: the per-edge step ----------------------------------------

// The adjacency the references walk: edges as the engine stores them
// (each twice, reversed, for an undirected read), in CSR by source.
typedef struct adj {
    uint64_t  n;
    size_t   *off;             // [n + 1]
    uint64_t *to;
    double   *w;
} adj_t;

static adj_t
adj_build(const graph_t *g, bool undirected)
{
    adj_t a = { .n = g->n };
    size_t m = undirected ? 2 * g->m : g->m;
    a.off = calloc(g->n + 1, sizeof *a.off);
    a.to = malloc((m + 1) * sizeof *a.to);
    a.w = malloc((m + 1) * sizeof *a.w);
    cr_assert(a.off && a.to && a.w);
    for (size_t e = 0; e < g->m; e++) {
        a.off[g->src[e] + 1]++;
        if (undirected)
            a.off[g->dst[e] + 1]++;
    }
    for (uint64_t v = 0; v < g->n; v++)
        a.off[v + 1] += a.off[v];
    size_t *at = malloc((g->n + 1) * sizeof *at);
    cr_assert_not_null(at);
    memcpy(at, a.off, (g->n + 1) * sizeof *at);
    for (size_t e = 0; e < g->m; e++) {
        double w = g->w ? g->w[e] : 1.0;
        a.to[at[g->src[e]]] = g->dst[e];
        a.w[at[g->src[e]]++] = w;
        if (undirected) {
            a.to[at[g->dst[e]]] = g->src[e];
            a.w[at[g->dst[e]]++] = w;
        }
    }
    free(at);
    return a;
}

static void
adj_free(adj_t *a)
{
    free(a->off);
    free(a->to);
    free(a->w);
}

// Dijkstra, O(n^2) with arrays (n is a few thousand): the best path value
// from source, where a path's value is start (*) w1 (*) w2 ... folded from
// the source. mul = false: (*) is +, best the smallest (shortest paths);
// mul = true: (*) is *, best the largest (weights in (0, 1], so a longer
// path is never better). Rounding is monotone, so a vertex settled in
// this order has the exact optimum of the folded values: the same numbers
// the engine's fixpoint reaches, bit for bit.
static double *
reference_dijkstra(const adj_t *a, uint64_t source, bool mul)
{
    double *best = malloc(a->n * sizeof *best);
    bool *done = calloc(a->n, sizeof *done);
    cr_assert(best && done);
    const double none = mul ? 0.0 : INFINITY;
    for (uint64_t v = 0; v < a->n; v++)
        best[v] = none;
    best[source] = mul ? 1.0 : 0.0;
    for (;;) {
        uint64_t u = a->n;
        for (uint64_t v = 0; v < a->n; v++)
            if (!done[v] && best[v] != none
                && (u == a->n || (mul ? best[v] > best[u] : best[v] < best[u])))
                u = v;
        if (u == a->n)
            break;
        done[u] = true;
        for (size_t e = a->off[u]; e < a->off[u + 1]; e++) {
            uint64_t v = a->to[e];
            double x = mul ? best[u] * a->w[e] : best[u] + a->w[e];
            if (mul ? x > best[v] : x < best[v])
                best[v] = x;
        }
    }
    free(done);
    return best;
}

typedef struct path_params {
    uint64_t source;
    bool     mul;              // max-product instead of shortest paths
} path_params_t;

static int
path_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    const path_params_t *p = ctx->state;
    double x = v->id == p->source ? (p->mul ? 1.0 : 0.0)
                                  : (p->mul ? 0.0 : INFINITY);
    memcpy(value, &x, 8);
    return v->id == p->source;
}

static int
path_scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value,
             void *msg)
{
    (void)ctx;
    (void)v;
    memcpy(msg, value, 8);     // the edge step adds (multiplies) the weight
    return 1;
}

static int
path_apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
           const gx_messages_t *in)
{
    (void)v;
    const path_params_t *p = ctx->state;
    if (!in->combined)
        return 0;
    double cur, heard;
    memcpy(&cur, value, 8);
    memcpy(&heard, in->combined, 8);
    if (p->mul ? !(heard > cur) : !(heard < cur))
        return 0;
    memcpy(value, &heard, 8);
    return 1;
}

static const gx_program_t sssp_program = {
    GX_PROGRAM_HEADER,
    .name = "sssp",
    .flags = GX_NEEDS_WEIGHTS,
    .value_size = 8,
    .msg_size = 8,
    .direction = GX_DIR_OUT,
    .combiner = GX_COMBINE_MIN_F64,
    .edge_op = GX_EDGE_ADD_WEIGHT,
    .init = path_init,
    .scatter = path_scatter,
    .apply = path_apply,
    .format = f64_format,
};

static const gx_program_t max_product_program = {
    GX_PROGRAM_HEADER,
    .name = "max-product",
    .flags = GX_NEEDS_WEIGHTS,
    .value_size = 8,
    .msg_size = 8,
    .direction = GX_DIR_OUT,
    .combiner = GX_COMBINE_MAX_F64,
    .edge_op = GX_EDGE_MUL_WEIGHT,
    .init = path_init,
    .scatter = path_scatter,
    .apply = path_apply,
    .format = f64_format,
};

// The path program p over g (written to `in`) under every configuration
// equals Dijkstra's, exactly. The source is the first vertex from
// `source` on that reaches more than a quarter of the graph but not all.
static void
check_paths(const gx_program_t *p, const graph_t *g, const input_t *in,
            uint64_t source, bool mul)
{
    adj_t a = adj_build(g, in->undirected);
    double *want = NULL;
    uint64_t reached = 0;
    for (; source < g->n; source++) {
        free(want);
        want = reference_dijkstra(&a, source, mul);
        reached = 0;
        for (uint64_t v = 0; v < g->n; v++)
            reached += want[v] != (mul ? 0.0 : INFINITY);
        if (reached > g->n / 4 && reached < g->n)
            break;
    }
    cr_assert(source < g->n, "no source reaches some but not all vertices");
    gx_test_config_t cfg[16];
    size_t nc = gx_test_configs(cfg);
    for (size_t k = 0; k < nc; k++) {
        path_params_t st = { .source = source, .mul = mul };
        gx_result_t res = run_cfg(p, &st, in, &cfg[k]);
        cr_assert_eq(res.n_vertices, g->n, "%s", gx_test_config_str(&cfg[k]));
        for (uint64_t i = 0; i < res.n_vertices; i++) {
            double got;
            memcpy(&got, value_at(&res, p, i), 8);
            cr_assert_eq(res.ids[i], i);
            if (!(got == want[i]))
                cr_assert_fail("%s%s, %s from %" PRIu64 " (%" PRIu64 " of %"
                               PRIu64 " reached): vertex %" PRIu64 " has "
                               "%.17g, want %.17g", gx_test_config_str(&cfg[k]),
                               in->undirected ? ", undirected" : "", p->name,
                               source, reached, g->n, i, got, want[i]);
        }
        gx_result_free(&res);
    }
    free(want);
    adj_free(&a);
}

// Every id of 0..n-1 in a vertices file, so the vertices are exactly
// those whether or not each is on an edge.
static const char *
write_all_ids(uint64_t n, const char *name)
{
    gx_test_text_t t = { 0 };
    for (uint64_t v = 0; v < n; v++)
        gx_test_text_add(&t, "%" PRIu64 "\n", v);
    const char *path = gx_test_write_tmp(name, t.s);
    free(t.s);
    return path;
}

Test(program, sssp_adds_edge_weights_and_matches_dijkstra_everywhere)
{
    // 1500 vertices, 2400 edges: a giant component and unreachable bits.
    graph_t g = random_weighted(1500, 2400, 1000, 0x55);
    input_t in = { .edges = write_graph(&g, "sssp.txt"),
                   .vertices = write_all_ids(g.n, "sssp.v") };
    check_paths(&sssp_program, &g, &in, 3, false);
    graph_free(&g);
}

Test(program, max_product_multiplies_edge_weights_and_matches_dijkstra)
{
    // Weights k/64 for k in 1..64: in (0, 1].
    graph_t g = random_weighted(1200, 2000, 64, 0x77);
    input_t in = { .edges = write_graph(&g, "maxprod.txt"),
                   .vertices = write_all_ids(g.n, "maxprod.v") };
    check_paths(&max_product_program, &g, &in, 5, true);
    graph_free(&g);
}

Test(program, an_undirected_read_gives_each_weight_both_ways)
{
    // Sparse enough that the undirected graph is not one component.
    graph_t g = random_weighted(1000, 700, 500, 0x99);
    input_t in = { .edges = write_graph(&g, "undirected-w.txt"),
                   .vertices = write_all_ids(g.n, "undirected-w.v"),
                   .undirected = true };
    check_paths(&sssp_program, &g, &in, 1, false);
    graph_free(&g);
}

// A custom edge step told the way it crosses each edge. Every vertex
// sends once, along both directions; edge() marks the message with the
// way and the weight, so a receiver learns, per way, how many edges and
// what total weight reached it: OUT = its in-edges, IN = its out-edges.
typedef struct ways {
    double n_out, n_in, w_out, w_in;   // messages crossed OUT / IN
} ways_t;

typedef struct ways_value {
    ways_t   heard;
    uint64_t out_degree, in_degree;    // as the engine told init
} ways_value_t;

static int
ways_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx;
    ways_value_t x = { { 0, 0, 0, 0 }, v->out_degree, v->in_degree };
    memcpy(value, &x, sizeof x);
    return 1;
}

static int
ways_scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value,
             void *msg)
{
    (void)ctx;
    (void)v;
    (void)value;
    ways_t m = { 0, 0, 0, 0 };
    memcpy(msg, &m, sizeof m);
    return 1;
}

static void
ways_edge(void *msg, double weight, gx_direction_t way)
{
    ways_t m;
    memcpy(&m, msg, sizeof m);
    if (way == GX_DIR_OUT) {
        m.n_out += 1;
        m.w_out += weight;
    } else if (way == GX_DIR_IN) {
        m.n_in += 1;
        m.w_in += weight;
    } else {
        m.n_out = m.n_in = -1e9;       // no other way exists: shows up
    }
    memcpy(msg, &m, sizeof m);
}

static void
ways_combine(void *acc, const void *msg)
{
    ways_t a, m;
    memcpy(&a, acc, sizeof a);
    memcpy(&m, msg, sizeof m);
    a.n_out += m.n_out;
    a.n_in += m.n_in;
    a.w_out += m.w_out;
    a.w_in += m.w_in;
    memcpy(acc, &a, sizeof a);
}

static int
ways_apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
           const gx_messages_t *in)
{
    (void)ctx;
    (void)v;
    if (in->combined) {
        ways_value_t x;
        memcpy(&x, value, sizeof x);
        memcpy(&x.heard, in->combined, sizeof x.heard);
        memcpy(value, &x, sizeof x);
    }
    return 0;
}

static const gx_program_t ways_program = {
    GX_PROGRAM_HEADER,
    .name = "ways",
    .flags = GX_NEEDS_WEIGHTS,
    .value_size = sizeof(ways_value_t),
    .msg_size = sizeof(ways_t),
    .direction = GX_DIR_BOTH,
    .combiner = GX_COMBINE_CUSTOM,
    .combine = ways_combine,
    .edge_op = GX_EDGE_CUSTOM,
    .edge = ways_edge,
    .init = ways_init,
    .scatter = ways_scatter,
    .apply = ways_apply,
    .format = f64_format,
};

// Runs p on the graph of `in` under every configuration and compares each
// vertex's counts and weight sums per way with the edges of g (weights
// all 1.0 if !weighted), and its degrees with the edge count.
static void
check_ways(const gx_program_t *p, const graph_t *g, const input_t *in,
           bool weighted)
{
    ways_t *want = calloc(g->n, sizeof *want);
    uint64_t *outdeg = calloc(g->n, sizeof *outdeg);
    uint64_t *indeg = calloc(g->n, sizeof *indeg);
    cr_assert(want && outdeg && indeg);
    for (size_t e = 0; e < g->m; e++)
        for (int r = 0; r < (in->undirected ? 2 : 1); r++) {
            uint64_t s = r ? g->dst[e] : g->src[e];
            uint64_t d = r ? g->src[e] : g->dst[e];
            double w = weighted ? g->w[e] : 1.0;
            want[d].n_out += 1;            // s's message crosses OUT to d
            want[d].w_out += w;
            want[s].n_in += 1;             // d's message crosses IN to s
            want[s].w_in += w;
            outdeg[s]++;
            indeg[d]++;
        }
    gx_test_config_t cfg[16];
    size_t nc = gx_test_configs(cfg);
    for (size_t k = 0; k < nc; k++) {
        gx_result_t res = run_cfg(p, NULL, in, &cfg[k]);
        cr_assert_eq(res.n_vertices, g->n, "%s", gx_test_config_str(&cfg[k]));
        cr_assert_eq(res.supersteps, 1, "%s", gx_test_config_str(&cfg[k]));
        for (uint64_t i = 0; i < g->n; i++) {
            ways_value_t x;
            memcpy(&x, value_at(&res, p, i), sizeof x);
            const ways_t *b = &want[i];
            if (x.heard.n_out != b->n_out || x.heard.n_in != b->n_in
                || x.heard.w_out != b->w_out || x.heard.w_in != b->w_in)
                cr_assert_fail("%s%s: vertex %" PRIu64 " heard %g messages "
                               "crossing OUT (weight %.17g) and %g crossing IN "
                               "(%.17g), want %g (%.17g) and %g (%.17g)",
                               gx_test_config_str(&cfg[k]),
                               in->undirected ? ", undirected" : "", i,
                               x.heard.n_out, x.heard.w_out, x.heard.n_in,
                               x.heard.w_in, b->n_out, b->w_out, b->n_in,
                               b->w_in);
            cr_assert(x.out_degree == outdeg[i] && x.in_degree == indeg[i],
                      "%s: vertex %" PRIu64 " has degrees %" PRIu64 "/%" PRIu64
                      ", want %" PRIu64 "/%" PRIu64, gx_test_config_str(&cfg[k]), i,
                      x.out_degree, x.in_degree, outdeg[i], indeg[i]);
        }
        gx_result_free(&res);
    }
    free(want);
    free(outdeg);
    free(indeg);
}

Test(program, a_custom_edge_step_knows_the_way_and_the_weight_of_each_edge)
{
    graph_t g = random_weighted(600, 1500, 1000, 0x31);
    input_t in = { .edges = write_graph(&g, "ways.txt"),
                   .vertices = write_all_ids(g.n, "ways.v") };
    check_ways(&ways_program, &g, &in, true);
    // Read undirected, each weight goes both ways: a vertex hears each of
    // its edges once per way, with the edge's weight.
    in.undirected = true;
    check_ways(&ways_program, &g, &in, true);
    graph_free(&g);
}

Test(program, without_needs_weights_the_weight_column_is_ignored_and_is_1)
{
    graph_t g = random_weighted(300, 700, 1000, 0x32);
    input_t in = { .edges = write_graph(&g, "ways-unweighted.txt"),
                   .vertices = write_all_ids(g.n, "ways-unweighted.v") };
    gx_program_t p = ways_program;
    p.flags = 0;
    check_ways(&p, &g, &in, false);
    graph_free(&g);
}

Test(program, a_line_without_a_weight_fails_a_weighted_run_naming_file_and_line)
{
    // 30,000 lines; the one without a weight in the first, middle or last
    // third, so each of three workers' byte ranges holds it once.
    static const unsigned bad_at[] = { 2, 15001, 29998 };
    for (size_t k = 0; k < 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "noweight-%u.txt", bad_at[k]);
        const char *path = gx_test_tmp_path(name);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        for (unsigned line = 1; line <= 30000; line++) {
            if (line == bad_at[k])
                fprintf(f, "%u %u\n", line, line + 1);
            else
                fprintf(f, "%u %u 0.5\n", line, line * 7 % 30011);
        }
        cr_assert_eq(fclose(f), 0);
        char want[300];
        snprintf(want, sizeof want, "%s:%u", path, bad_at[k]);
        for (unsigned w = 1; w <= 3; w += 2) {
            path_params_t st = { .source = 1 };
            gx_job_t job = { .input = path, .program = &sssp_program,
                             .program_state = &st, .workers = w };
            gx_result_t res;
            gx_error_t err = { 0 };
            cr_assert_eq(gx_run(&job, &res, &err), -1, "%s accepted with %u "
                         "workers", path, w);
            const char *at = strstr(err.msg, want);
            cr_assert(at && (at[strlen(want)] < '0' || at[strlen(want)] > '9'),
                      "%u workers: want %s, got: %s", w, want, err.msg);
        }
        // The same file is fine for a program that needs no weights.
        gx_program_t p = ways_program;
        p.flags = 0;
        gx_result_t res = run(&p, NULL, path, 2, 3, GX_STRATEGY_2D);
        cr_assert_eq(res.n_edges, 30000);
        gx_result_free(&res);
    }
}

// ---- Message lists: GX_COMBINE_NONE ----------------------------------------

// Each active vertex sends a 12-byte message {id, tag(id)} (rows packed
// at 12 bytes, so not every row is 8-byte aligned inside the list); a
// receiver walks the whole list and keeps count, sum and sum of squares
// of the senders (mod 2^64: a fingerprint of the multiset), the smallest
// and largest sender, and how many rows had a wrong tag.
typedef struct list_params {
    uint64_t mod;              // vertices whose id % mod == 0 send
} list_params_t;

typedef struct list_value {
    uint64_t count, sum, sumsq, min, max, bad;
} list_value_t;

enum { LIST_MSG = 12 };

static uint32_t
list_tag(uint64_t id)
{
    return (uint32_t)(id * 2654435761u) ^ 0x5a5a5a5au;
}

static int
list_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    const list_params_t *p = ctx->state;
    list_value_t x = { 0, 0, 0, UINT64_MAX, 0, 0 };
    memcpy(value, &x, sizeof x);
    return v->id % p->mod == 0;
}

static int
list_scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value,
             void *msg)
{
    (void)ctx;
    (void)value;
    uint32_t tag = list_tag(v->id);
    memcpy(msg, &v->id, 8);
    memcpy((uint8_t *)msg + 8, &tag, 4);
    return 1;
}

static int
list_apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
           const gx_messages_t *in)
{
    (void)ctx;
    (void)v;
    list_value_t x;
    memcpy(&x, value, sizeof x);
    for (size_t i = 0; i < in->n_msgs; i++) {
        const uint8_t *row = (const uint8_t *)in->msgs + i * LIST_MSG;
        uint64_t id;
        uint32_t tag;
        memcpy(&id, row, 8);
        memcpy(&tag, row + 8, 4);
        x.count++;
        x.sum += id;
        x.sumsq += id * id;
        if (id < x.min) x.min = id;
        if (id > x.max) x.max = id;
        x.bad += tag != list_tag(id);
    }
    memcpy(value, &x, sizeof x);
    return 0;
}

static gx_program_t
list_program(gx_direction_t dir)
{
    return (gx_program_t){
        GX_PROGRAM_HEADER,
        .name = "list",
        .value_size = sizeof(list_value_t),
        .msg_size = LIST_MSG,
        .direction = dir,
        // .combiner left zero: GX_COMBINE_NONE, every message delivered.
        .init = list_init,
        .scatter = list_scatter,
        .apply = list_apply,
        .format = u64_format,
    };
}

static void
check_lists(const graph_t *g, const input_t *in, gx_direction_t dir,
            uint64_t mod)
{
    list_value_t *want = calloc(g->n, sizeof *want);
    uint64_t *indeg = calloc(g->n, sizeof *indeg);
    cr_assert(want && indeg);
    for (uint64_t v = 0; v < g->n; v++)
        want[v].min = UINT64_MAX;
    for (size_t e = 0; e < g->m; e++) {
        uint64_t s = g->src[e], d = g->dst[e];
        indeg[d]++;
        for (int way = 0; way < 2; way++) {
            uint64_t from = way ? d : s, to = way ? s : d;
            if (!(dir & (way ? GX_DIR_IN : GX_DIR_OUT)) || from % mod)
                continue;
            list_value_t *x = &want[to];
            x->count++;
            x->sum += from;
            x->sumsq += from * from;
            if (from < x->min) x->min = from;
            if (from > x->max) x->max = from;
        }
    }
    gx_program_t p = list_program(dir);
    gx_test_config_t cfg[16];
    size_t nc = gx_test_configs(cfg);
    for (size_t k = 0; k < nc; k++) {
        list_params_t st = { .mod = mod };
        gx_result_t res = run_cfg(&p, &st, in, &cfg[k]);
        cr_assert_eq(res.n_vertices, g->n, "%s", gx_test_config_str(&cfg[k]));
        for (uint64_t i = 0; i < g->n; i++) {
            list_value_t x;
            memcpy(&x, value_at(&res, &p, i), sizeof x);
            const list_value_t *b = &want[i];
            cr_assert_eq(x.bad, 0, "%s: vertex %" PRIu64 " got %" PRIu64
                         " rows with a wrong tag", gx_test_config_str(&cfg[k]), i,
                         x.bad);
            if (x.count != b->count || x.sum != b->sum || x.sumsq != b->sumsq
                || x.min != b->min || x.max != b->max)
                cr_assert_fail("%s, direction %d, senders id %% %" PRIu64
                               ": vertex %" PRIu64 " got %" PRIu64 " messages"
                               " (sum %" PRIu64 ", min %" PRIu64 ", max %"
                               PRIu64 "), want %" PRIu64 " (%" PRIu64 ", %"
                               PRIu64 ", %" PRIu64 ")", gx_test_config_str(&cfg[k]),
                               (int)dir, mod, i, x.count, x.sum, x.min, x.max,
                               b->count, b->sum, b->min, b->max);
            if (dir == GX_DIR_OUT && mod == 1)
                cr_assert_eq(x.count, indeg[i], "%s: vertex %" PRIu64 ": a "
                             "list of %" PRIu64 ", in-degree %" PRIu64,
                             gx_test_config_str(&cfg[k]), i, x.count, indeg[i]);
        }
        gx_result_free(&res);
    }
    free(want);
    free(indeg);
}

Test(program, without_a_combiner_apply_gets_every_message_in_a_list)
{
    // Self-loops and duplicate edges included (random_weighted makes
    // both); every id on an edge or in the vertices file.
    graph_t g = random_weighted(700, 2500, 8, 0x11);
    for (size_t e = 0; e < 40; e++) {     // a vertex with many duplicates
        g.src[100 + e] = 7;
        g.dst[100 + e] = 9;
    }
    free(g.w);
    g.w = NULL;
    input_t in = { .edges = write_graph(&g, "lists.txt"),
                   .vertices = write_all_ids(g.n, "lists.v") };
    static const gx_direction_t dirs[] = { GX_DIR_OUT, GX_DIR_IN,
                                           GX_DIR_BOTH };
    for (size_t i = 0; i < 3; i++) {
        check_lists(&g, &in, dirs[i], 1);     // everyone sends: pull
        check_lists(&g, &in, dirs[i], 5);     // a fifth sends: push
    }
    graph_free(&g);
}

// ---- Messages to any vertex: gx_send_to ------------------------------------

// At superstep 1 every vertex sends {id, ~id} to vertex (id * 7 + 3) % span,
// span larger than the largest id, so some targets are no vertex; then it
// votes to halt. Receivers record count, sum and the superstep they heard
// in. No edge message is ever sent.
typedef struct direct_params {
    uint64_t span;
} direct_params_t;

typedef struct direct_value {
    uint64_t count, sum, step, bad;
} direct_value_t;

static uint64_t
direct_target(uint64_t id, uint64_t span)
{
    return (id * 7 + 3) % span;
}

static int
direct_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx;
    (void)v;
    direct_value_t x = { 0, 0, 0, 0 };
    memcpy(value, &x, sizeof x);
    return 1;
}

static int
no_scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value,
           void *msg)
{
    (void)ctx;
    (void)v;
    (void)value;
    (void)msg;
    return 0;
}

static int
direct_apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
             const gx_messages_t *in)
{
    const direct_params_t *p = ctx->state;
    direct_value_t x;
    memcpy(&x, value, sizeof x);
    if (ctx->superstep == 1) {
        uint64_t m[2] = { v->id, ~v->id };
        x.bad += gx_send_to(ctx, direct_target(v->id, p->span), m) != 0;
    }
    for (size_t i = 0; i < in->n_direct; i++) {
        uint64_t m[2];
        memcpy(m, (const uint8_t *)in->direct + 16 * i, 16);
        x.count++;
        x.sum += m[0];
        x.bad += m[1] != ~m[0];
        x.step = ctx->superstep;
    }
    x.bad += in->n_msgs != 0 || in->combined != NULL;
    memcpy(value, &x, sizeof x);
    return 0;
}

static const gx_program_t direct_program = {
    GX_PROGRAM_HEADER,
    .name = "direct",
    .value_size = sizeof(direct_value_t),
    .msg_size = 8,
    .direct_size = 16,
    .direction = GX_DIR_OUT,
    .combiner = GX_COMBINE_SUM_I64,
    .init = direct_init,
    .scatter = no_scatter,
    .apply = direct_apply,
    .format = u64_format,
};

// The vertices: every third id of 0 .. 3000 on edges, a few more only in
// the vertices file; span 10,007 > any id, so most targets are no vertex.
static input_t
direct_input(uint64_t **ids_out, size_t *n_out)
{
    size_t n = 0;
    uint64_t *ids = malloc(1100 * sizeof *ids);
    cr_assert_not_null(ids);
    gx_test_text_t e = { 0 }, v = { 0 };
    for (uint64_t id = 0; id <= 3000; id += 3) {
        ids[n++] = id;
        if (id > 0)
            gx_test_text_add(&e, "%" PRIu64 " %" PRIu64 "\n", id - 3, id);
    }
    for (uint64_t id = 5000; id < 5100; id += 10) {    // isolated
        ids[n++] = id;
        gx_test_text_add(&v, "%" PRIu64 "\n", id);
    }
    input_t in = { .edges = gx_test_write_tmp("direct.txt", e.s),
                   .vertices = gx_test_write_tmp("direct.v", v.s) };
    free(e.s);
    free(v.s);
    *ids_out = ids;
    *n_out = n;
    return in;
}

Test(program, gx_send_to_reaches_any_vertex_next_superstep_and_drops_the_rest)
{
    uint64_t *ids;
    size_t n;
    input_t in = direct_input(&ids, &n);
    qsort(ids, n, sizeof *ids, gx_test_cmp_u64);
    const uint64_t span = 10007;
    direct_value_t *want = calloc(n, sizeof *want);
    cr_assert_not_null(want);
    uint64_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = direct_target(ids[i], span);
        uint64_t *hit = bsearch(&t, ids, n, sizeof *ids, gx_test_cmp_u64);
        if (!hit) {
            dropped++;
            continue;
        }
        direct_value_t *x = &want[hit - ids];
        x->count++;
        x->sum += ids[i];
        x->step = 2;
    }
    cr_assert(dropped > 0 && dropped < n, "%" PRIu64 " of %zu dropped",
              dropped, n);
    gx_test_config_t cfg[16];
    size_t nc = gx_test_configs(cfg);
    for (size_t k = 0; k < nc; k++) {
        direct_params_t st = { .span = span };
        gx_result_t res = run_cfg(&direct_program, &st, &in, &cfg[k]);
        cr_assert_eq(res.n_vertices, n, "%s", gx_test_config_str(&cfg[k]));
        // Every vertex halts at superstep 1 with messages in flight: the
        // run goes on to deliver them at superstep 2, and ends there.
        cr_assert_eq(res.supersteps, 2, "%s: %" PRIu64 " supersteps",
                     gx_test_config_str(&cfg[k]), res.supersteps);
        cr_assert_eq(res.direct_messages, n, "%s: %" PRIu64 " direct "
                     "messages, want %zu", gx_test_config_str(&cfg[k]),
                     res.direct_messages, n);
        cr_assert_eq(res.dropped, dropped, "%s: %" PRIu64 " dropped, want %"
                     PRIu64, gx_test_config_str(&cfg[k]), res.dropped, dropped);
        for (size_t i = 0; i < n; i++) {
            direct_value_t x;
            memcpy(&x, value_at(&res, &direct_program, i), sizeof x);
            cr_assert_eq(res.ids[i], ids[i]);
            cr_assert_eq(x.bad, 0, "%s: vertex %" PRIu64 ": a bad row or an "
                         "edge message", gx_test_config_str(&cfg[k]), ids[i]);
            if (x.count != want[i].count || x.sum != want[i].sum
                || x.step != want[i].step)
                cr_assert_fail("%s: vertex %" PRIu64 " got %" PRIu64
                               " messages (sum %" PRIu64 ") at superstep %"
                               PRIu64 ", want %" PRIu64 " (%" PRIu64 ") at %"
                               PRIu64, gx_test_config_str(&cfg[k]), ids[i], x.count,
                               x.sum, x.step, want[i].count, want[i].sum,
                               want[i].step);
        }
        gx_result_free(&res);
    }
    free(want);
    free(ids);
}

// A relay: vertex 0 alone starts active; a vertex that hears {hops} sends
// {hops - 1} on to the next vertex (ids 0..n-1 in a ring) unless hops is 0.
// Every vertex votes to halt every time, so only the message in flight
// keeps the run going: H + 2 supersteps for H hops.
typedef struct relay_value {
    uint64_t heard, last_step, last_hops;
} relay_value_t;

typedef struct relay_params {
    uint64_t n, hops;
} relay_params_t;

static struct {
    uint64_t direct[128], active[128], calls;
} relay_seen;

static int
relay_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx;
    relay_value_t x = { 0, 0, 0 };
    memcpy(value, &x, sizeof x);
    return v->id == 0;
}

static int
relay_apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
            const gx_messages_t *in)
{
    const relay_params_t *p = ctx->state;
    relay_value_t x;
    memcpy(&x, value, sizeof x);
    uint64_t next = (v->id + 1) % p->n;
    if (ctx->superstep == 1 && v->id == 0)
        gx_send_to(ctx, next, &p->hops);
    for (size_t i = 0; i < in->n_direct; i++) {
        uint64_t hops;
        memcpy(&hops, (const uint8_t *)in->direct + 8 * i, 8);
        x.heard++;
        x.last_step = ctx->superstep;
        x.last_hops = hops;
        if (hops > 0) {
            hops--;
            gx_send_to(ctx, next, &hops);
        }
    }
    memcpy(value, &x, sizeof x);
    return 0;
}

static int
relay_master(gx_master_context_t *mc)
{
    if (mc->superstep < 128) {
        relay_seen.direct[mc->superstep] = mc->direct;
        relay_seen.active[mc->superstep] = mc->active;
    }
    relay_seen.calls++;
    return mc->active == 0 && mc->direct == 0;
}

static const gx_program_t relay_program = {
    GX_PROGRAM_HEADER,
    .name = "relay",
    .value_size = sizeof(relay_value_t),
    .msg_size = 8,
    .direct_size = 8,
    .direction = GX_DIR_BOTH,
    .combiner = GX_COMBINE_MIN_U64,
    .init = relay_init,
    .scatter = no_scatter,
    .apply = relay_apply,
    .format = u64_format,
};

Test(program, direct_messages_in_flight_keep_a_halted_run_going)
{
    enum { N = 37, HOPS = 80 };
    gx_test_text_t e = { 0 };
    for (uint64_t id = 0; id < N; id++)
        gx_test_text_add(&e, "%" PRIu64 " %" PRIu64 "\n", id, (id * 5 + 1) % N);
    input_t in = { .edges = gx_test_write_tmp("relay.txt", e.s) };
    free(e.s);
    // The token is sent at superstep 1 with HOPS and heard at superstep
    // t = 2 .. HOPS + 2 by vertex (t - 1) % N, with HOPS - (t - 2) hops left.
    relay_value_t want[N];
    memset(want, 0, sizeof want);
    for (uint64_t t = 2; t <= HOPS + 2; t++) {
        relay_value_t *x = &want[(t - 1) % N];
        x->heard++;
        x->last_step = t;
        x->last_hops = HOPS - (t - 2);
    }
    gx_program_t hooked = relay_program;
    hooked.master = relay_master;
    gx_test_config_t cfg[16];
    size_t nc = gx_test_configs(cfg);
    for (size_t k = 0; k < nc; k++)
        for (int with_hook = 0; with_hook < 2; with_hook++) {
            const gx_program_t *p = with_hook ? &hooked : &relay_program;
            relay_params_t st = { .n = N, .hops = HOPS };
            memset(&relay_seen, 0, sizeof relay_seen);
            gx_result_t res = run_cfg(p, &st, &in, &cfg[k]);
            cr_assert_eq(res.supersteps, HOPS + 2, "%s%s: %" PRIu64
                         " supersteps", gx_test_config_str(&cfg[k]),
                         with_hook ? ", with a hook" : "", res.supersteps);
            cr_assert_eq(res.direct_messages, HOPS + 1, "%s",
                         gx_test_config_str(&cfg[k]));
            cr_assert_eq(res.dropped, 0, "%s", gx_test_config_str(&cfg[k]));
            for (uint64_t i = 0; i < N; i++) {
                relay_value_t x;
                memcpy(&x, value_at(&res, p, i), sizeof x);
                cr_assert(x.heard == want[i].heard
                          && x.last_step == want[i].last_step
                          && x.last_hops == want[i].last_hops,
                          "%s: vertex %" PRIu64 " heard %" PRIu64 " times, "
                          "last at %" PRIu64 " with %" PRIu64 " hops; want %"
                          PRIu64 ", %" PRIu64 ", %" PRIu64,
                          gx_test_config_str(&cfg[k]), i, x.heard, x.last_step,
                          x.last_hops, want[i].heard, want[i].last_step,
                          want[i].last_hops);
            }
            if (with_hook) {
                // One message sent in each of steps 1 .. HOPS + 1, none in
                // the last; no vertex ever stays active after init.
                cr_assert_eq(relay_seen.calls, HOPS + 3);
                cr_assert_eq(relay_seen.active[0], 1);
                for (uint64_t s = 1; s <= HOPS + 2; s++) {
                    cr_assert_eq(relay_seen.direct[s], s <= HOPS + 1,
                                 "%s: barrier %" PRIu64 " saw %" PRIu64
                                 " direct messages", gx_test_config_str(&cfg[k]), s,
                                 relay_seen.direct[s]);
                    cr_assert_eq(relay_seen.active[s], 0);
                }
            }
            gx_result_free(&res);
        }
}

// ---- The master hook: aggregators in, globals out, the run stopped ---------

// Every vertex stays active and sends nothing. At superstep s (init
// included) it feeds agg 0 (MAX_I64) with h(id, s) and agg 1 (SUM_I64)
// with 1. The hook counts its calls in global 0, broadcasts the max of
// agg 0 in global 1 and stops at superstep `stop_at`. A vertex checks at
// each step that global 0 is the step number (the hook has run once per
// barrier before it) and globals 2.. are still zero, and adds up the
// global 1 it reads (mod 2^64) for the test to compare.
typedef struct glob_params {
    uint64_t stop_at;
} glob_params_t;

typedef struct glob_value {
    uint64_t mismatches, steps, g1_sum, g1_last;
} glob_value_t;

static struct {
    uint64_t calls, n_vertices, n_edges;
    int64_t  agg0[64], agg1[64];
    uint64_t active[64], superstep[64];
    int64_t  global_in[64];        // global 0 as the hook found it
} glob_seen;

static int64_t
glob_h(uint64_t id, uint64_t step)
{
    uint64_t s = id * 1000003 + step * 7919 + 1;
    return (int64_t)(gx_test_splitmix64(&s) >> 2);
}

static uint64_t
glob_check(const gx_context_t *ctx)
{
    uint64_t bad = ctx->global[0].i != (int64_t)ctx->superstep;
    for (unsigned i = 2; i < GX_MAX_GLOBALS; i++)
        bad += ctx->global[i].i != 0;
    return bad;
}

static int
glob_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    glob_value_t x = { glob_check(ctx) + (ctx->global[1].i != 0), 0, 0, 0 };
    memcpy(value, &x, sizeof x);
    gx_aggregate_i64(ctx, 0, glob_h(v->id, 0));
    gx_aggregate_i64(ctx, 1, 1);
    return 1;
}

static int
glob_apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
           const gx_messages_t *in)
{
    glob_value_t x;
    memcpy(&x, value, sizeof x);
    x.mismatches += glob_check(ctx) + (in->combined != NULL);
    x.steps++;
    x.g1_sum += (uint64_t)ctx->global[1].i;
    x.g1_last = (uint64_t)ctx->global[1].i;
    memcpy(value, &x, sizeof x);
    gx_aggregate_i64(ctx, 0, glob_h(v->id, ctx->superstep));
    gx_aggregate_i64(ctx, 1, 1);
    return 1;
}

static int
glob_master(gx_master_context_t *mc)
{
    const glob_params_t *p = mc->state;
    uint64_t s = glob_seen.calls++;
    if (s < 64) {
        glob_seen.agg0[s] = mc->agg[0].i;
        glob_seen.agg1[s] = mc->agg[1].i;
        glob_seen.active[s] = mc->active;
        glob_seen.superstep[s] = mc->superstep;
        glob_seen.global_in[s] = mc->global[0].i;
    }
    glob_seen.n_vertices = mc->n_vertices;
    glob_seen.n_edges = mc->n_edges;
    mc->global[0].i++;
    mc->global[1].i = mc->agg[0].i;
    return mc->superstep >= p->stop_at;
}

static const gx_program_t glob_program = {
    GX_PROGRAM_HEADER,
    .name = "globals",
    .value_size = sizeof(glob_value_t),
    .msg_size = 8,
    .direction = GX_DIR_OUT,
    .combiner = GX_COMBINE_SUM_I64,
    .n_aggs = 2,
    .agg_ops = { GX_AGG_MAX_I64, GX_AGG_SUM_I64 },
    .init = glob_init,
    .scatter = no_scatter,
    .apply = glob_apply,
    .master = glob_master,
    .format = u64_format,
};

Test(program, the_master_hook_reads_aggregators_sets_globals_and_stops_the_run)
{
    graph_t g = random_graph(400, 300, 21);
    input_t in = { .edges = write_graph(&g, "globals.txt") };
    static const uint64_t stops[] = { 0, 1, 6 };
    gx_test_config_t cfg[16];
    size_t nc = gx_test_configs(cfg);
    for (size_t si = 0; si < 3; si++) {
        uint64_t k = stops[si];
        // What the hook must see at barrier s: the max of h over the
        // vertices at step s, and every vertex counted once.
        int64_t maxh[64];
        uint64_t g1_sum = 0;
        for (uint64_t s = 0; s <= k; s++) {
            maxh[s] = INT64_MIN;
            for (uint64_t v = 0; v < g.n; v++)
                if (glob_h(v, s) > maxh[s])
                    maxh[s] = glob_h(v, s);
            if (s < k)
                g1_sum += (uint64_t)maxh[s];     // read at step s + 1
        }
        for (size_t c = 0; c < nc; c++) {
            glob_params_t st = { .stop_at = k };
            memset(&glob_seen, 0, sizeof glob_seen);
            gx_result_t res = run_cfg(&glob_program, &st, &in, &cfg[c]);
            const char *cs = gx_test_config_str(&cfg[c]);
            cr_assert_eq(res.supersteps, k, "%s: stop at %" PRIu64 ": ran %"
                         PRIu64 " supersteps", cs, k, res.supersteps);
            cr_assert_eq(glob_seen.calls, k + 1, "%s: %" PRIu64 " calls", cs,
                         glob_seen.calls);
            cr_assert_eq(glob_seen.n_vertices, g.n);
            cr_assert_eq(glob_seen.n_edges, g.m);
            for (uint64_t s = 0; s <= k; s++) {
                cr_assert_eq(glob_seen.superstep[s], s, "%s", cs);
                cr_assert_eq(glob_seen.global_in[s], (int64_t)s, "%s: the "
                             "hook's globals are its memory between barriers",
                             cs);
                cr_assert_eq(glob_seen.agg0[s], maxh[s], "%s: barrier %"
                             PRIu64 ": max %" PRId64 ", want %" PRId64, cs, s,
                             glob_seen.agg0[s], maxh[s]);
                cr_assert_eq(glob_seen.agg1[s], (int64_t)g.n, "%s: barrier %"
                             PRIu64 ": %" PRId64 " vertices counted", cs, s,
                             glob_seen.agg1[s]);
                cr_assert_eq(glob_seen.active[s], g.n, "%s", cs);
            }
            for (uint64_t i = 0; i < g.n; i++) {
                glob_value_t x;
                memcpy(&x, value_at(&res, &glob_program, i), sizeof x);
                cr_assert_eq(x.mismatches, 0, "%s: vertex %" PRIu64 " read "
                             "wrong globals %" PRIu64 " times", cs, i,
                             x.mismatches);
                cr_assert_eq(x.steps, k, "%s", cs);
                cr_assert_eq(x.g1_sum, g1_sum, "%s: vertex %" PRIu64 " read "
                             "other maxima than the hook broadcast", cs, i);
                if (k > 0)
                    cr_assert_eq(x.g1_last, (uint64_t)maxh[k - 1], "%s", cs);
            }
            gx_result_free(&res);
        }
    }
    graph_free(&g);
}

// The hook may stop a run whose vertices would go on forever (each stays
// active and sends along its edges), and max_supersteps still caps a hook
// that never stops.
static int
forever_apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
              const gx_messages_t *in)
{
    (void)ctx;
    (void)v;
    (void)in;
    uint64_t x;
    memcpy(&x, value, 8);
    x++;
    memcpy(value, &x, 8);
    return 1;
}

static int
forever_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx;
    (void)v;
    memset(value, 0, 8);
    return 1;
}

static int
forever_scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value,
                void *msg)
{
    (void)ctx;
    (void)v;
    memcpy(msg, value, 8);
    return 1;
}

static int
count_to_master(gx_master_context_t *mc)
{
    // Counts its calls in global 0: it has no other memory.
    mc->global[0].i++;
    const glob_params_t *p = mc->state;
    return (uint64_t)mc->global[0].i > p->stop_at;
}

static int
never_master(gx_master_context_t *mc)
{
    (void)mc;
    return 0;
}

static const gx_program_t forever_program = {
    GX_PROGRAM_HEADER,
    .name = "forever",
    .value_size = 8,
    .msg_size = 8,
    .direction = GX_DIR_BOTH,
    .combiner = GX_COMBINE_SUM_I64,
    .init = forever_init,
    .scatter = forever_scatter,
    .apply = forever_apply,
    .master = count_to_master,
    .format = u64_format,
};

Test(program, a_hook_counting_in_a_global_stops_an_endless_run_at_k,
     .timeout = 120)
{
    graph_t g = random_graph(300, 200, 5);
    input_t in = { .edges = write_graph(&g, "forever.txt") };
    gx_test_config_t cfg[16];
    size_t nc = gx_test_configs(cfg);
    for (size_t c = 0; c < nc; c++)
        for (uint64_t k = 0; k <= 9; k += 3) {
            glob_params_t st = { .stop_at = k };
            gx_result_t res = run_cfg(&forever_program, &st, &in, &cfg[c]);
            cr_assert_eq(res.supersteps, k, "%s: %" PRIu64 " supersteps, "
                         "want %" PRIu64, gx_test_config_str(&cfg[c]), res.supersteps,
                         k);
            for (uint64_t i = 0; i < g.n; i++) {
                uint64_t x;
                memcpy(&x, value_at(&res, &forever_program, i), 8);
                cr_assert_eq(x, k, "%s: vertex %" PRIu64 " applied %" PRIu64
                             " times", gx_test_config_str(&cfg[c]), i, x);
            }
            gx_result_free(&res);
        }
    gx_program_t p = forever_program;
    p.master = never_master;
    gx_job_t job = { .input = in.edges, .program = &p, .workers = 2,
                     .max_supersteps = 5 };
    gx_result_t res;
    gx_error_t err = { 0 };
    cr_assert_eq(gx_run(&job, &res, &err), 0, "%s", err.msg);
    cr_assert_eq(res.supersteps, 5);
    gx_result_free(&res);
    graph_free(&g);
}

// ---- Programs the engine refuses ----------------------------------------

// p is refused by gx_program_check and by gx_run, before any input is
// read, with a line naming the program and containing `needle`.
static void
expect_refused(const gx_program_t *p, const char *needle)
{
    gx_error_t err = { 0 };
    cr_assert_eq(gx_program_check(p, &err), -1, "accepted; want \"%s\"",
                 needle);
    cr_assert(strstr(err.msg, needle), "want \"%s\", got: %s", needle,
              err.msg);
    cr_assert_null(strchr(err.msg, '\n'), "%s", err.msg);
    if (p->name && p->abi_version == GX_PROGRAM_ABI_VERSION
        && p->struct_size == sizeof(gx_program_t)) {
        char who[128];
        snprintf(who, sizeof who, "program %s", p->name);
        cr_assert(strstr(err.msg, who), "want %s, got: %s", who, err.msg);
    }
    gx_job_t job = { .input = gx_test_tmp_path("never-read.txt"),
                     .program = p, .workers = 2 };
    gx_result_t res;
    memset(&err, 0, sizeof err);
    cr_assert_eq(gx_run(&job, &res, &err), -1);
    cr_assert(strstr(err.msg, needle), "gx_run: want \"%s\", got: %s",
              needle, err.msg);
}

Test(program, every_program_of_this_suite_passes_the_check)
{
    const gx_program_t *ok[] = { &bfs_program, &reach_max_program,
                                 &sssp_program, &max_product_program,
                                 &ways_program, &direct_program,
                                 &relay_program, &glob_program,
                                 &forever_program };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        gx_error_t err = { 0 };
        cr_assert_eq(gx_program_check(ok[i], &err), 0, "%s: %s", ok[i]->name,
                     err.msg);
    }
    for (int d = GX_DIR_OUT; d <= GX_DIR_BOTH; d++) {
        gx_program_t p = list_program((gx_direction_t)d);
        gx_error_t err = { 0 };
        cr_assert_eq(gx_program_check(&p, &err), 0, "list: %s", err.msg);
    }
    // Message lists take any message size; so does a custom edge step.
    gx_program_t p = ways_program;
    p.msg_size = 3;
    p.combiner = GX_COMBINE_NONE;
    gx_error_t err = { 0 };
    cr_assert_eq(gx_program_check(&p, &err), 0, "%s", err.msg);
}

Test(program, refuses_another_abi_version)
{
    gx_program_t p = bfs_program;
    p.abi_version = GX_PROGRAM_ABI_VERSION + 1;
    expect_refused(&p, "ABI version");
    p.abi_version = 1;                 // an ABI 1 plugin
    expect_refused(&p, "ABI version");
}

Test(program, refuses_a_struct_size_it_does_not_know)
{
    gx_program_t p = bfs_program;
    p.struct_size = 0;
    expect_refused(&p, "gx_program_t of 0 bytes");
    p.struct_size = sizeof(gx_program_t) - 8;
    expect_refused(&p, "gx_program_t of");
    p.struct_size = sizeof(gx_program_t) + 8;
    expect_refused(&p, "gx_program_t of");
}

Test(program, refuses_non_zero_reserved_fields)
{
    for (size_t i = 0; i < 8; i++) {
        gx_program_t p = bfs_program;
        p.reserved_[i] = &p;
        expect_refused(&p, "reserved");
    }
}

Test(program, refuses_a_custom_combiner_without_combine)
{
    gx_program_t p = bfs_program;
    p.combiner = GX_COMBINE_CUSTOM;
    expect_refused(&p, "combine");
}

Test(program, refuses_a_custom_edge_step_without_edge)
{
    gx_program_t p = ways_program;
    p.edge = NULL;
    expect_refused(&p, "edge()");
}

Test(program, refuses_a_built_in_edge_step_on_messages_not_of_8_bytes)
{
    static const gx_edge_op_t ops[] = { GX_EDGE_ADD_WEIGHT,
                                        GX_EDGE_MUL_WEIGHT };
    static const uint32_t sizes[] = { 4, 16 };
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 2; j++) {
            // A custom combiner, so only the edge step wants 8 bytes.
            gx_program_t p = ways_program;
            p.edge_op = ops[i];
            p.msg_size = sizes[j];
            expect_refused(&p, "built-in edge step needs msg_size 8");
        }
}

Test(program, refuses_unknown_flags_operations_and_sizes)
{
    gx_program_t p = sssp_program;
    p.flags = GX_NEEDS_WEIGHTS | 4;
    expect_refused(&p, "unknown flags 0x4");
    // GX_LOCAL_CLOSURE: only MIN/MAX labels, no edge step, both ways.
    p = sssp_program;                    // MIN_F64, add-weight, OUT
    p.flags = GX_LOCAL_CLOSURE;
    expect_refused(&p, "GX_LOCAL_CLOSURE");
    p.edge_op = GX_EDGE_NONE;
    expect_refused(&p, "GX_LOCAL_CLOSURE");
    p.direction = GX_DIR_BOTH;
    gx_error_t ok = { 0 };
    cr_assert_eq(gx_program_check(&p, &ok), 0, "%s", ok.msg);
    p.combiner = GX_COMBINE_SUM_F64;
    expect_refused(&p, "GX_LOCAL_CLOSURE");
    p = sssp_program;
    p.flags = 0x80000000u;
    expect_refused(&p, "unknown flags");
    p = sssp_program;
    p.edge_op = (gx_edge_op_t)(GX_EDGE_CUSTOM + 1);
    expect_refused(&p, "edge_op");
    p = sssp_program;
    p.combiner = (gx_combiner_t)(GX_COMBINE_MAX_U64 + 1);
    expect_refused(&p, "combiner");
    p = direct_program;
    p.direct_size = GX_MAX_MSG_SIZE + 1;
    expect_refused(&p, "direct_size");
    p = bfs_program;
    p.msg_size = 0;
    expect_refused(&p, "msg_size");
    p = bfs_program;
    p.msg_size = 4;                    // MIN_U64 wants 8 bytes
    expect_refused(&p, "built-in combiner");
    p = bfs_program;
    p.direction = (gx_direction_t)0;
    expect_refused(&p, "direction");
}

Test(program, refuses_oversized_values_and_missing_callbacks)
{
    gx_program_t p = bfs_program;
    p.value_size = GX_MAX_VALUE_SIZE + 1;
    expect_refused(&p, "value_size");
    p = bfs_program;
    p.apply = NULL;
    expect_refused(&p, "required");
    p = bfs_program;
    p.agg_ops[1] = (gx_agg_op_t)99;
    expect_refused(&p, "aggregators");
    p = bfs_program;
    p.name = NULL;
    expect_refused(&p, "no name");
}

Test(program, refuses_zero_workers)
{
    gx_job_t job = { .input = "/dev/null", .program = &bfs_program };
    gx_result_t res;
    gx_error_t err = { 0 };
    cr_assert_eq(gx_run(&job, &res, &err), -1);
    cr_assert(strstr(err.msg, "workers"), "got: %s", err.msg);
}

// ---- gx_fail: a program ends the run with its own error --------------------

typedef struct fail_params {
    uint64_t at_step, at_id;   // the vertex that fails, and when
} fail_params_t;

static int
fail_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx;
    memcpy(value, &v->id, 8);
    return 1;
}

static int
fail_scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value,
             void *msg)
{
    (void)ctx;
    (void)v;
    memcpy(msg, value, 8);
    return 1;
}

static int
fail_apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
           const gx_messages_t *in)
{
    (void)value;
    (void)in;
    const fail_params_t *fp = ctx->state;
    if (ctx->superstep == fp->at_step && v->id == fp->at_id)
        gx_fail(ctx, "vertex saw something it cannot handle");
    return ctx->superstep < 50;
}

static int
fail_format(const void *value, char *buf, size_t cap)
{
    uint64_t x;
    memcpy(&x, value, 8);
    return snprintf(buf, cap, "%" PRIu64, x);
}

static const gx_program_t fail_program = {
    GX_PROGRAM_HEADER,
    .name = "failing",
    .value_size = 8,
    .msg_size = 8,
    .direction = GX_DIR_OUT,
    .combiner = GX_COMBINE_MIN_U64,
    .init = fail_init,
    .scatter = fail_scatter,
    .apply = fail_apply,
    .format = fail_format,
};

Test(program, gx_fail_ends_the_run_with_the_programs_message)
{
    graph_t g = random_graph(500, 2000, 7);
    const char *path = write_graph(&g, "fail.txt");
    for (unsigned w = 1; w <= 4; w++)
        for (uint64_t step = 1; step <= 3; step++) {
            fail_params_t fp = { .at_step = step, .at_id = (w * 97 + step) % 500 };
            gx_job_t job = { .input = path, .program = &fail_program,
                             .program_state = &fp, .workers = w,
                             .partitions = 2 * w + 1 };
            gx_result_t res;
            gx_error_t err = { 0 };
            cr_assert_eq(gx_run(&job, &res, &err), -1, "%u workers, step %"
                         PRIu64 ": the run went on", w, step);
            cr_assert(strstr(err.msg, "program failing: vertex saw something "
                             "it cannot handle"), "got: %s", err.msg);
        }
    graph_free(&g);
}

// ---- GX_LOCAL_CLOSURE: labels cross a partition's components in a step ----

// Each vertex starts with a label (a scramble of its id, signed) and keeps
// the largest it hears: at the fixpoint, the largest label of its weakly
// connected component. MAX_I64, both ways, so the closure applies.
static int64_t
max_label_of(uint64_t id)
{
    return (int64_t)((id * 2654435761u) % 100003) - 50000;
}

static int
maxl_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx;
    int64_t x = max_label_of(v->id);
    memcpy(value, &x, 8);
    return 1;
}

static int
maxl_scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value,
             void *msg)
{
    (void)ctx;
    (void)v;
    memcpy(msg, value, 8);
    return 1;
}

static int
maxl_apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
           const gx_messages_t *in)
{
    (void)ctx;
    (void)v;
    int64_t x, m;
    if (!in->combined)
        return 0;
    memcpy(&x, value, 8);
    memcpy(&m, in->combined, 8);
    if (m <= x)
        return 0;
    memcpy(value, &m, 8);
    return 1;
}

static int
i64_format(const void *value, char *buf, size_t cap)
{
    int64_t x;
    memcpy(&x, value, 8);
    return snprintf(buf, cap, "%" PRId64, x);
}

static const gx_program_t maxl_program = {
    GX_PROGRAM_HEADER,
    .name = "maxlabel",
    .flags = GX_LOCAL_CLOSURE,
    .value_size = 8,
    .msg_size = 8,
    .direction = GX_DIR_BOTH,
    .combiner = GX_COMBINE_MAX_I64,
    .init = maxl_init,
    .scatter = maxl_scatter,
    .apply = maxl_apply,
    .format = i64_format,
};

Test(program, local_closure_reaches_the_same_fixpoint_in_fewer_supersteps)
{
    // Blocks of 1..60 ids with random edges inside (self-loops and
    // duplicates too), some ids on no edge: many components, isolated
    // vertices from the vertex file.
    const uint64_t n = 4000;
    graph_t g = { .n = n, .m = 9000 };
    g.src = malloc(g.m * sizeof *g.src);
    g.dst = malloc(g.m * sizeof *g.dst);
    srand(11);
    for (size_t i = 0; i < g.m; i++) {
        uint64_t u = (uint64_t)rand() % n, base = u - u % 60;
        uint64_t len = 1 + (base / 60) % 60;
        g.src[i] = base + (uint64_t)rand() % len;
        g.dst[i] = base + (uint64_t)rand() % len;
    }
    input_t in = { .edges = write_graph(&g, "closure.txt"),
                   .vertices = write_all_ids(n, "closure.v") };
    uint32_t *parent = malloc(n * sizeof *parent);
    int64_t *want = malloc(n * sizeof *want);
    for (uint32_t v = 0; v < n; v++)
        parent[v] = v;
    for (size_t i = 0; i < g.m; i++) {
        uint32_t a = gx_test_uf_find(parent, (uint32_t)g.src[i]);
        parent[a] = gx_test_uf_find(parent, (uint32_t)g.dst[i]);
    }
    for (uint64_t v = 0; v < n; v++)
        want[v] = INT64_MIN;
    for (uint64_t v = 0; v < n; v++) {
        uint64_t r = gx_test_uf_find(parent, (uint32_t)v);
        if (max_label_of(v) > want[r])
            want[r] = max_label_of(v);
    }
    gx_program_t plain = maxl_program;
    plain.flags = 0;
    gx_test_config_t cfg[16];
    size_t nc = gx_test_configs(cfg);
    for (size_t c = 0; c < nc; c++) {
        gx_result_t a = run_cfg(&maxl_program, NULL, &in, &cfg[c]);
        gx_result_t b = run_cfg(&plain, NULL, &in, &cfg[c]);
        cr_assert_eq(a.n_vertices, n);
        for (uint64_t i = 0; i < n; i++) {
            int64_t x;
            memcpy(&x, value_at(&a, &maxl_program, i), 8);
            cr_assert_eq(x, want[gx_test_uf_find(parent, (uint32_t)a.ids[i])], "%s: vertex %"
                         PRIu64 ": %" PRId64 ", want %" PRId64,
                         gx_test_config_str(&cfg[c]), a.ids[i], x,
                         want[gx_test_uf_find(parent, (uint32_t)a.ids[i])]);
        }
        cr_assert(memcmp(a.values, b.values, n * 8) == 0, "%s: closure and "
                  "plain propagation differ", gx_test_config_str(&cfg[c]));
        // One partition holds every edge: one step finds every label,
        // the next hears nothing new.
        if (cfg[c].partitions == 1)
            cr_assert_leq(a.supersteps, 2, "%s: %" PRIu64 " supersteps",
                          gx_test_config_str(&cfg[c]), a.supersteps);
        cr_assert_leq(a.supersteps, b.supersteps, "%s", gx_test_config_str(&cfg[c]));
        gx_result_free(&a);
        gx_result_free(&b);
    }
    free(parent);
    free(want);
    graph_free(&g);
}

// ---- Every combiner kind, against a fold written here ----------------------

// One superstep: each vertex whose id is a multiple of `mod` sends a
// message made from its id, and apply() keeps what it is given. The
// messages meet in a partition's loop (pull when every sender is active,
// gather when many are, push when few are), then at the master, which
// combines what its partitions and the other workers send. A program
// whose combiner no test used could have any of those wrong unnoticed
// (MIN for MAX_U64 at the master passed every suite), so every kind runs
// here, on every layout, with messages chosen to tell the kinds apart:
// negative and fractional doubles, negative int64s, u64s above 2^63.
typedef struct kind_state {
    gx_combiner_t c;
    uint64_t      mod;
} kind_state_t;

typedef struct kind_value {
    uint64_t bits;             // the combined message, or the list folded
    uint64_t n;                // n_msgs as apply() saw it
} kind_value_t;

static const gx_combiner_t all_combiners[] = {
    GX_COMBINE_NONE, GX_COMBINE_CUSTOM,
    GX_COMBINE_SUM_F64, GX_COMBINE_MIN_F64, GX_COMBINE_MAX_F64,
    GX_COMBINE_SUM_I64, GX_COMBINE_MIN_I64, GX_COMBINE_MAX_I64,
    GX_COMBINE_MIN_U64, GX_COMBINE_MAX_U64,
};

static uint64_t
kind_msg(gx_combiner_t c, uint64_t id)
{
    uint64_t h = gx_test_splitmix64(&id);
    // Multiples of 1/64 under 2^10: every sum of a few thousand is
    // exact, whatever order the engine adds them in.
    double d = (double)((int64_t)(h % 2001) - 1000) / 64.0;
    switch (c) {
    case GX_COMBINE_SUM_F64: case GX_COMBINE_MIN_F64: case GX_COMBINE_MAX_F64:
        memcpy(&h, &d, 8);
        return h;
    default:
        return h;              // as int64 half are negative; as u64 half
    }                          // are above 2^63
}

// The fold of one message into acc (have: acc holds one already).
static uint64_t
kind_fold(gx_combiner_t c, uint64_t acc, uint64_t m)
{
    double a, b;
    memcpy(&a, &acc, 8);
    memcpy(&b, &m, 8);
    int64_t x = (int64_t)acc, y = (int64_t)m;
    switch (c) {
    case GX_COMBINE_SUM_F64: a += b; memcpy(&acc, &a, 8); return acc;
    case GX_COMBINE_MIN_F64: return b < a ? m : acc;
    case GX_COMBINE_MAX_F64: return b > a ? m : acc;
    case GX_COMBINE_SUM_I64: return acc + m;          // wraps, as promised
    case GX_COMBINE_MIN_I64: return y < x ? m : acc;
    case GX_COMBINE_MAX_I64: return y > x ? m : acc;
    case GX_COMBINE_MIN_U64: return m < acc ? m : acc;
    case GX_COMBINE_MAX_U64: return m > acc ? m : acc;
    default:                 return acc ^ m;  // CUSTOM, and NONE's list
    }
}

static void
kind_combine(void *acc, const void *msg)
{
    uint64_t a, m;
    memcpy(&a, acc, 8);
    memcpy(&m, msg, 8);
    a ^= m;
    memcpy(acc, &a, 8);
}

static int
kind_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    const kind_state_t *st = ctx->state;
    memset(value, 0, sizeof(kind_value_t));
    return v->id % st->mod == 0;
}

static int
kind_scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value,
             void *msg)
{
    (void)value;
    const kind_state_t *st = ctx->state;
    uint64_t m = kind_msg(st->c, v->id);
    memcpy(msg, &m, 8);
    return 1;
}

static int
kind_apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
           const gx_messages_t *in)
{
    (void)v;
    const kind_state_t *st = ctx->state;
    kind_value_t kv = { 0, in->n_msgs };
    if (st->c == GX_COMBINE_NONE) {
        for (size_t i = 0; i < in->n_msgs; i++) {
            uint64_t m;
            memcpy(&m, (const uint8_t *)in->msgs + 8 * i, 8);
            kv.bits ^= m;
        }
    } else if (in->combined) {
        memcpy(&kv.bits, in->combined, 8);
    }
    memcpy(value, &kv, sizeof kv);
    return 0;
}

static gx_program_t
kind_program(gx_combiner_t c, gx_direction_t dir)
{
    return (gx_program_t){
        GX_PROGRAM_HEADER,
        .name = "kinds",
        .value_size = sizeof(kind_value_t),
        .msg_size = 8,
        .direction = dir,
        .combiner = c,
        .combine = c == GX_COMBINE_CUSTOM ? kind_combine : NULL,
        .init = kind_init,
        .scatter = kind_scatter,
        .apply = kind_apply,
        .format = u64_format,
    };
}

// What each vertex must end with: every message along every edge (a
// self-loop twice both ways), folded in edge order.
static kind_value_t *
kind_reference(const graph_t *g, gx_combiner_t c, gx_direction_t dir,
               uint64_t mod)
{
    kind_value_t *want = calloc(g->n, sizeof *want);
    cr_assert_not_null(want);
    for (size_t e = 0; e < g->m; e++) {
        uint64_t ends[2][2] = { { g->src[e], g->dst[e] },
                                { g->dst[e], g->src[e] } };
        for (int k = 0; k < 2; k++) {
            uint64_t from = ends[k][0], to = ends[k][1];
            if (!(dir & (k == 0 ? GX_DIR_OUT : GX_DIR_IN)) || from % mod)
                continue;
            uint64_t m = kind_msg(c, from);
            want[to].bits = want[to].n ? kind_fold(c, want[to].bits, m) : m;
            want[to].n++;
        }
    }
    // With a combiner apply() is given one message or none.
    for (uint64_t v = 0; v < g->n && c != GX_COMBINE_NONE; v++)
        want[v].n = want[v].n != 0;
    return want;
}

static void
check_kind(const graph_t *g, const char *in, gx_combiner_t c,
           gx_direction_t dir, uint64_t mod)
{
    kind_value_t *want = kind_reference(g, c, dir, mod);
    gx_program_t p = kind_program(c, dir);
    gx_test_config_t cfg[16];
    size_t nc = gx_test_configs(cfg);
    for (size_t k = 0; k < nc; k++) {
        kind_state_t st = { c, mod };
        input_t input = { .edges = in };
        gx_result_t res = run_cfg(&p, &st, &input, &cfg[k]);
        cr_assert_eq(res.n_vertices, g->n);
        for (uint64_t i = 0; i < g->n; i++) {
            kind_value_t got;
            memcpy(&got, value_at(&res, &p, i), sizeof got);
            cr_assert_eq(res.ids[i], i);
            if (got.bits != want[i].bits || got.n != want[i].n)
                cr_assert_fail("%s: combiner %d, direction %d, senders %% %"
                               PRIu64 ": vertex %" PRIu64 " got %#" PRIx64
                               " (%" PRIu64 " messages), want %#" PRIx64
                               " (%" PRIu64 ")", gx_test_config_str(&cfg[k]),
                               (int)c, (int)dir, mod, i, got.bits, got.n,
                               want[i].bits, want[i].n);
        }
        gx_result_free(&res);
    }
    free(want);
}

Test(program, every_combiner_kind_matches_its_fold_on_every_layout,
     .timeout = 300)
{
    // Random edges with self-loops and duplicates over a path, so every
    // id is a vertex and most vertices hear from several partitions.
    graph_t g = random_graph(600, 1800, 23);
    for (size_t i = 0; i < 30; i++)
        g.dst[g.m - 1 - i] = g.src[g.m - 1 - i];
    g.src[g.n - 1] = g.src[g.n];
    g.dst[g.n - 1] = g.dst[g.n];
    const char *in = write_graph(&g, "kinds.txt");
    // Senders % 1: every vertex (pull along out-edges, gather otherwise);
    // % 3: many (gather); % 13: few (push, then the master combines).
    static const uint64_t mods[] = { 1, 3, 13 };
    static const gx_direction_t dirs[] = { GX_DIR_OUT, GX_DIR_BOTH };
    for (size_t c = 0; c < sizeof all_combiners / sizeof *all_combiners; c++)
        for (size_t d = 0; d < 2; d++)
            for (size_t k = 0; k < 3; k++)
                check_kind(&g, in, all_combiners[c], dirs[d], mods[k]);
    graph_free(&g);
}
