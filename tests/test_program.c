// tests/test_program.c: the vertex-program ABI from the outside, as a
// plugin would use it. Programs written here exercise what the built-ins do
// not: a sparse frontier pushed along out-edges (BFS), messages against the
// edge direction with a custom combiner, integer aggregators read back by
// halt(), and programs the engine must refuse.
#include <criterion/criterion.h>
#include <inttypes.h>
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

static const char *
write_graph(const graph_t *g, const char *name)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", gx_test_tmpdir(), name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (size_t i = 0; i < g->m; i++)
        fprintf(f, "%" PRIu64 " %" PRIu64 "\n", g->src[i], g->dst[i]);
    fclose(f);
    return path;
}

// ---- BFS: sparse frontier along out-edges, MIN combiner, i64 aggregators --

typedef struct bfs_state {
    uint64_t source;
    int64_t  reached[64];      // agg 0 per superstep, recorded by halt()
    uint64_t steps;
} bfs_state_t;

static int
bfs_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    const bfs_state_t *st = ctx->state;
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
          const void *msg)
{
    (void)v;
    uint64_t level, heard;
    memcpy(&level, value, 8);
    if (!msg)
        return 0;
    memcpy(&heard, msg, 8);
    if (heard >= level)
        return 0;
    memcpy(value, &heard, 8);
    gx_aggregate_i64(ctx, 0, 1);
    gx_aggregate_i64(ctx, 1, (int64_t)heard);
    return 1;
}

static int
bfs_halt(const gx_context_t *ctx)
{
    bfs_state_t *st = ctx->state;
    if (ctx->superstep < 64)
        st->reached[ctx->superstep] = ctx->agg[0].i;
    st->steps = ctx->superstep;
    return 0;
}

static int
u64_format(const void *value, char *buf, size_t cap)
{
    uint64_t x;
    memcpy(&x, value, 8);
    return snprintf(buf, cap, "%" PRIu64, x);
}

static const gx_program_t bfs_program = {
    .abi_version = GX_PROGRAM_ABI_VERSION,
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
    .halt = bfs_halt,
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

static gx_result_t
run(const gx_program_t *p, void *state, const char *input, unsigned workers,
    unsigned parts, gx_strategy_t s)
{
    gx_job_t job = { .input = input, .program = p, .program_state = state,
                     .workers = workers, .partitions = parts, .strategy = s };
    gx_result_t res;
    gx_error_t err = { { 0 } };
    int rc = gx_run(&job, &res, &err);
    cr_assert_eq(rc, 0, "gx_run: %s", err.msg);
    return res;
}

Test(program, bfs_pushes_a_sparse_frontier_along_out_edges_on_any_layout)
{
    // Sparse ids would defeat the dense path; a random graph with a path
    // through it has long BFS tails, so most steps push a small frontier.
    graph_t g = random_graph(3000, 3000, 7);
    const char *in = write_graph(&g, "bfs.txt");
    uint64_t *want = reference_bfs(&g, 17);
    const gx_strategy_t strategies[] = { GX_STRATEGY_2D, GX_STRATEGY_1D,
                                         GX_STRATEGY_RANDOM,
                                         GX_STRATEGY_CANONICAL };
    for (unsigned w = 1; w <= 4; w++)
        for (int s = 0; s < 4; s++) {
            bfs_state_t st = { .source = 17 };
            gx_result_t res = run(&bfs_program, &st, in, w, w + (unsigned)s,
                                  strategies[s]);
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
    free(g.src);
    free(g.dst);
}

Test(program, integer_aggregators_reach_halt_reduced_over_all_workers)
{
    graph_t g = random_graph(500, 400, 3);
    const char *in = write_graph(&g, "agg.txt");
    uint64_t *want = reference_bfs(&g, 0);
    bfs_state_t st = { .source = 0 };
    gx_result_t res = run(&bfs_program, &st, in, 3, 5, GX_STRATEGY_RANDOM);
    // agg 0 at superstep k counts the vertices first reached at level k.
    for (uint64_t k = 0; k <= st.steps && k < 64; k++) {
        int64_t n = 0;
        for (uint64_t v = 0; v < g.n; v++)
            n += want[v] == k;
        cr_assert_eq(st.reached[k], n, "superstep %" PRIu64 ": %" PRId64
                     " reached, want %" PRId64, k, st.reached[k], n);
    }
    gx_result_free(&res);
    free(want);
    free(g.src);
    free(g.dst);
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
         const void *msg)
{
    (void)ctx;
    (void)v;
    uint64_t cur, heard;
    memcpy(&cur, value, 8);
    if (!msg)
        return 0;
    memcpy(&heard, msg, 8);
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
    .abi_version = GX_PROGRAM_ABI_VERSION,
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
    free(g.src);
    free(g.dst);
}

// ---- Programs the engine refuses ----------------------------------------

static void
expect_refused(const gx_program_t *p, const char *needle)
{
    graph_t g = random_graph(10, 0, 1);
    const char *in = write_graph(&g, "tiny.txt");
    gx_job_t job = { .input = in, .program = p, .workers = 2 };
    gx_result_t res;
    gx_error_t err = { { 0 } };
    cr_assert_eq(gx_run(&job, &res, &err), -1);
    cr_assert(strstr(err.msg, needle), "got: %s", err.msg);
    free(g.src);
    free(g.dst);
}

Test(program, refuses_another_abi_version)
{
    gx_program_t p = bfs_program;
    p.abi_version = GX_PROGRAM_ABI_VERSION + 1;
    expect_refused(&p, "ABI version");
}

Test(program, refuses_a_custom_combiner_without_combine)
{
    gx_program_t p = bfs_program;
    p.combiner = GX_COMBINE_CUSTOM;
    expect_refused(&p, "combine");
}

Test(program, refuses_oversized_values_and_missing_callbacks)
{
    gx_program_t p = bfs_program;
    p.value_size = GX_MAX_VALUE_SIZE + 1;
    expect_refused(&p, "value size");
    p = bfs_program;
    p.apply = NULL;
    expect_refused(&p, "required");
    p = bfs_program;
    p.agg_ops[1] = (gx_agg_op_t)99;
    expect_refused(&p, "aggregators");
}

Test(program, refuses_zero_workers)
{
    gx_job_t job = { .input = "/dev/null", .program = &bfs_program };
    gx_result_t res;
    gx_error_t err = { { 0 } };
    cr_assert_eq(gx_run(&job, &res, &err), -1);
    cr_assert(strstr(err.msg, "workers"), "got: %s", err.msg);
}
