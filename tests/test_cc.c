// tests/test_cc.c: the built-in connected components (gx_algo_find("cc")),
// an O(log n)-superstep algorithm (FastSV, after Shiloach-Vishkin), against
// a union-find written here. CC ignores edge direction; every vertex's
// label must be the smallest id of its weakly connected component, and
// the run must take at most C * log2(n) + K supersteps: label propagation
// (HashMin) takes n on a path, which is what FastSV is for.
//
// Small graphs run under every worker count 1-4, every strategy and odd
// partition counts; the big ones (paths of 100,000 vertices, a 1000 x 1000
// grid) once or twice. Under ASan and TSan, where a run costs about ten
// times as much, the big graphs shrink (gx_test_scaled) and half of the
// configurations run: the bound on supersteps holds at every size.
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "algos/algos.h"
#include "graphx/graphx.h"
#include "testutil.h"

// The bound: supersteps <= CC_C * log2(n) + CC_K.
#define CC_C 8.0
#define CC_K 8.0

static void
setup(void)
{
    gx_test_tmpdir_make("cc");
}

TestSuite(cc, .init = setup, .fini = gx_test_tmpdir_remove);

static uint64_t rng_state;

static uint64_t
rng(void)
{
    return gx_test_splitmix64(&rng_state);
}

// ---- Graphs -----------------------------------------------------------------

typedef struct graph {
    uint64_t (*e)[2];
    size_t     m, cap;
    uint64_t  *extra;          // ids for the vertices file, or NULL
    size_t     n_extra;
    char       path[256], vpath[256];
} graph_t;

static void
add_edge(graph_t *g, uint64_t s, uint64_t d)
{
    if (g->m == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 1024;
        g->e = realloc(g->e, g->cap * sizeof *g->e);
        cr_assert_not_null(g->e);
    }
    g->e[g->m][0] = s;
    g->e[g->m][1] = d;
    g->m++;
}

static void
add_vertex(graph_t *g, uint64_t id)
{
    g->extra = realloc(g->extra, (g->n_extra + 1) * sizeof *g->extra);
    cr_assert_not_null(g->extra);
    g->extra[g->n_extra++] = id;
}

static void
write_graph(graph_t *g, const char *name)
{
    snprintf(g->path, sizeof g->path, "%s/%s.txt", gx_test_tmpdir(), name);
    FILE *f = fopen(g->path, "w");
    cr_assert_not_null(f, "%s", g->path);
    for (size_t i = 0; i < g->m; i++)
        fprintf(f, "%" PRIu64 " %" PRIu64 "\n", g->e[i][0], g->e[i][1]);
    cr_assert_eq(fclose(f), 0);
    g->vpath[0] = '\0';
    if (g->extra) {
        snprintf(g->vpath, sizeof g->vpath, "%s/%s.v", gx_test_tmpdir(), name);
        f = fopen(g->vpath, "w");
        cr_assert_not_null(f, "%s", g->vpath);
        for (size_t i = 0; i < g->n_extra; i++)
            fprintf(f, "%" PRIu64 "\n", g->extra[i]);
        cr_assert_eq(fclose(f), 0);
    }
}

static void
graph_free(graph_t *g)
{
    free(g->e);
    free(g->extra);
}

// 0 .. n-1 in random order (Fisher-Yates).
static uint64_t *
permutation(uint64_t n, uint64_t seed)
{
    uint64_t *p = malloc(n * sizeof *p);
    cr_assert_not_null(p);
    rng_state = seed;
    for (uint64_t i = 0; i < n; i++)
        p[i] = i;
    for (uint64_t i = n - 1; i > 0; i--) {
        uint64_t j = rng() % (i + 1);
        uint64_t t = p[i]; p[i] = p[j]; p[j] = t;
    }
    return p;
}

// ---- The reference: union-find ---------------------------------------------

typedef struct ref {
    size_t    n;
    uint64_t *id;              // [n] ascending: the vertices
    uint64_t *label;           // [n] smallest id of the component
    size_t    components;
} ref_t;

static uint32_t
dense(const ref_t *r, uint64_t id)
{
    const uint64_t *p = bsearch(&id, r->id, r->n, sizeof *r->id,
                                gx_test_cmp_u64);
    cr_assert_not_null(p);
    return (uint32_t)(p - r->id);
}

// Union by smaller index: ids ascend with the index, so each root is the
// smallest id of its set.
static void
ref_build(ref_t *r, const graph_t *g)
{
    size_t cap = 2 * g->m + g->n_extra + 1, k = 0;
    uint64_t *all = malloc(cap * sizeof *all);
    cr_assert_not_null(all);
    for (size_t i = 0; i < g->m; i++) {
        all[k++] = g->e[i][0];
        all[k++] = g->e[i][1];
    }
    for (size_t i = 0; i < g->n_extra; i++)
        all[k++] = g->extra[i];
    qsort(all, k, sizeof *all, gx_test_cmp_u64);
    r->n = 0;
    for (size_t i = 0; i < k; i++)
        if (r->n == 0 || all[i] != all[r->n - 1])
            all[r->n++] = all[i];
    r->id = all;
    uint32_t *parent = malloc((r->n + 1) * sizeof *parent);
    r->label = malloc((r->n + 1) * sizeof *r->label);
    cr_assert(parent && r->label);
    for (size_t v = 0; v < r->n; v++)
        parent[v] = (uint32_t)v;
    for (size_t i = 0; i < g->m; i++) {
        uint32_t a = gx_test_uf_find(parent, dense(r, g->e[i][0]));
        uint32_t b = gx_test_uf_find(parent, dense(r, g->e[i][1]));
        if (a < b) parent[b] = a;
        else if (b < a) parent[a] = b;
    }
    r->components = 0;
    for (size_t v = 0; v < r->n; v++) {
        uint32_t root = gx_test_uf_find(parent, (uint32_t)v);
        r->label[v] = r->id[root];
        r->components += root == v;
    }
    free(parent);
}

static void
ref_free(ref_t *r)
{
    free(r->id);
    free(r->label);
}

// ---- Running ------------------------------------------------------------------

static double
bound(size_t n)
{
    return CC_C * (n > 1 ? log2((double)n) : 0.0) + CC_K;
}

// Runs the built-in CC on g under c and checks every label against r and
// the supersteps against the bound. Returns the supersteps.
static uint64_t
check_run(const graph_t *g, const ref_t *r, const gx_test_config_t *c,
          const char *what)
{
    const gx_program_t *cc = gx_algo_find("cc");
    cr_assert_not_null(cc, "no built-in named cc");
    void *state = NULL;
    gx_error_t err = { 0 };
    if (cc->setup)
        cr_assert_eq(cc->setup(NULL, 0, &state, &err), 0, "%s", err.msg);
    gx_job_t job = { .input = g->path,
                     .vertices = g->vpath[0] ? g->vpath : NULL,
                     .program = cc, .program_state = state,
                     .workers = c->workers, .partitions = c->partitions,
                     .strategy = c->strategy };
    gx_result_t res;
    double t0 = gx_test_now();
    cr_assert_eq(gx_run(&job, &res, &err), 0, "%s, %s: %s", what,
                 gx_test_config_str(c), err.msg);
    double secs = gx_test_now() - t0;
    cr_assert_eq(res.n_vertices, r->n, "%s, %s: %" PRIu64 " vertices, want "
                 "%zu", what, gx_test_config_str(c), res.n_vertices, r->n);
    cr_assert_eq(res.n_edges, g->m, "%s, %s", what, gx_test_config_str(c));
    // The label is the value's first 8 bytes (GX_VALUE_U64); the rest is
    // the algorithm's own.
    cr_assert(cc->value_type == GX_VALUE_U64 && cc->value_size >= 8);
    for (size_t i = 0; i < r->n; i++) {
        uint64_t label;
        memcpy(&label, (const uint8_t *)res.values + i * cc->value_size, 8);
        if (res.ids[i] != r->id[i])
            cr_assert_fail("%s, %s: id %zu is %" PRIu64 ", want %" PRIu64,
                           what, gx_test_config_str(c), i, res.ids[i], r->id[i]);
        if (label != r->label[i])
            cr_assert_fail("%s, %s: label of %" PRIu64 " is %" PRIu64
                           ", want %" PRIu64 " (the smallest id of its "
                           "component)", what, gx_test_config_str(c), r->id[i],
                           label, r->label[i]);
    }
    uint64_t steps = res.supersteps;
    cr_log_info("cc on %s (%zu vertices, %zu components), %s: %" PRIu64
                " supersteps (bound %.0f) in %.2f s", what, r->n,
                r->components, gx_test_config_str(c), steps, bound(r->n), secs);
    cr_assert((double)steps <= bound(r->n), "%s, %s: %" PRIu64 " supersteps "
              "for %zu vertices, more than %g * log2(n) + %g = %.1f", what,
              gx_test_config_str(c), steps, r->n, CC_C, CC_K, bound(r->n));
    gx_result_free(&res);
    if (cc->teardown)
        cc->teardown(state);
    return steps;
}

static void
check_everywhere(graph_t *g, const char *name)
{
    write_graph(g, name);
    ref_t r;
    ref_build(&r, g);
    gx_test_config_t cfg[16];
    size_t nc = gx_test_configs(cfg);
    for (size_t k = 0; k < nc; k++)
        check_run(g, &r, &cfg[k], name);
    ref_free(&r);
}

static void
check_once(graph_t *g, const char *name, const gx_test_config_t *cs, size_t ncs)
{
    write_graph(g, name);
    ref_t r;
    ref_build(&r, g);
    for (size_t k = 0; k < ncs; k++)
        check_run(g, &r, &cs[k], name);
    ref_free(&r);
}

// ---- The big graphs -------------------------------------------------------------

static const gx_test_config_t big_cfg[] = {
    { 2, 3, GX_STRATEGY_2D },
    { 4, 7, GX_STRATEGY_RANDOM },
};

Test(cc, labels_a_path_of_100000_vertices_numbered_in_increasing_order,
     .timeout = 300)
{
    // Edges i -> i + 1: the smallest id at the start, every edge pointing
    // away from it. HashMin walks label 0 down the path one hop a step.
    uint64_t n = gx_test_scaled(100000, 10);
    graph_t g = { 0 };
    for (uint64_t i = 0; i + 1 < n; i++)
        add_edge(&g, i, i + 1);
    check_once(&g, "path-up", big_cfg, 2);
    graph_free(&g);
}

Test(cc, labels_a_path_of_100000_vertices_numbered_in_decreasing_order,
     .timeout = 300)
{
    // The path n-1, n-2, ..., 0: edges i + 1 -> i, written from the top,
    // so the smallest id is at the end every edge points to.
    uint64_t n = gx_test_scaled(100000, 10);
    graph_t g = { 0 };
    for (uint64_t i = n - 1; i > 0; i--)
        add_edge(&g, i, i - 1);
    check_once(&g, "path-down", big_cfg + 1, 1);
    graph_free(&g);
}

Test(cc, labels_a_path_of_100000_vertices_with_shuffled_ids, .timeout = 300)
{
    uint64_t n = gx_test_scaled(100000, 10);
    uint64_t *p = permutation(n, 42);
    graph_t g = { 0 };
    for (uint64_t i = 0; i + 1 < n; i++) {
        if (i % 2) add_edge(&g, p[i], p[i + 1]);
        else       add_edge(&g, p[i + 1], p[i]);
    }
    free(p);
    check_once(&g, "path-shuffled", big_cfg, 1);
    graph_free(&g);
}

Test(cc, labels_a_1000_by_1000_grid_with_randomly_permuted_ids,
     .timeout = 600)
{
    // 4-neighbour grid, each edge once (right and down), ids permuted so
    // that neither rows nor columns follow the numbering.
    uint64_t side = gx_test_scaled(1000, 4);
    uint64_t *p = permutation(side * side, 7);
    graph_t g = { 0 };
    for (uint64_t r = 0; r < side; r++)
        for (uint64_t c = 0; c < side; c++) {
            uint64_t v = p[r * side + c];
            if (c + 1 < side)
                add_edge(&g, v, p[r * side + c + 1]);
            if (r + 1 < side)
                add_edge(&g, p[(r + 1) * side + c], v);
        }
    free(p);
    check_once(&g, "grid", big_cfg, 1);
    graph_free(&g);
}

// ---- The small graphs, everywhere ----------------------------------------------

// `blocks` groups of `size` vertices with random edges inside (some groups
// end up in several components, some vertices alone) and `cross` random
// edges between groups; ids are either small or random 63-bit ones.
static void
random_components(graph_t *g, uint64_t blocks, uint64_t size, size_t inner,
                  size_t cross, uint64_t seed)
{
    uint64_t slots = blocks * size;
    uint64_t *id = malloc(slots * sizeof *id);
    cr_assert_not_null(id);
    rng_state = seed;
    for (uint64_t i = 0; i < slots; i++)
        id[i] = i % 2 ? i : rng() >> 1;
    for (size_t i = 0; i < inner; i++) {
        uint64_t b = rng() % blocks;
        add_edge(g, id[b * size + rng() % size], id[b * size + rng() % size]);
    }
    for (size_t i = 0; i < cross; i++)
        add_edge(g, id[rng() % slots], id[rng() % slots]);
    free(id);
}

Test(cc, labels_random_graphs_with_many_components_everywhere, .timeout = 300)
{
    graph_t g = { 0 };
    random_components(&g, 200, 30, 4000, 60, 0xcc1);
    ref_t r;
    ref_build(&r, &g);
    cr_assert_gt(r.components, 100, "want many components: %zu",
                 r.components);
    ref_free(&r);
    check_everywhere(&g, "random-components");
    graph_free(&g);
}

Test(cc, labels_a_sparse_random_forest_of_small_trees_everywhere)
{
    // Below the percolation threshold: thousands of components, most of
    // them small trees, edges in random directions.
    graph_t g = { 0 };
    rng_state = 0xcc2;
    for (int i = 0; i < 2500; i++)
        add_edge(&g, rng() % 6000, rng() % 6000);
    check_everywhere(&g, "sparse");
    graph_free(&g);
}

Test(cc, isolated_vertices_from_a_vertices_file_are_their_own_components)
{
    graph_t g = { 0 };
    static const uint64_t e[][2] = { {1, 2}, {2, 3}, {3, 1}, {3, 4},
                                     {10, 3}, {100, 40}, {55, 100} };
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
        add_edge(&g, e[i][0], e[i][1]);
    static const uint64_t v[] = { 1, 2, 0, 50, 7, 9223372036854775807u, 50,
                                  41, 39 };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        add_vertex(&g, v[i]);
    check_everywhere(&g, "isolated");
    graph_free(&g);
}

Test(cc, an_edgeless_graph_labels_each_vertex_with_its_own_id)
{
    graph_t g = { 0 };
    for (uint64_t i = 0; i < 200; i++)
        add_vertex(&g, (i * 7919) % 1000);
    write_graph(&g, "edgeless");
    ref_t r;
    ref_build(&r, &g);
    gx_test_config_t c = { 3, 7, GX_STRATEGY_2D };
    check_run(&g, &r, &c, "edgeless");
    ref_free(&r);
    graph_free(&g);
}

Test(cc, self_loops_and_duplicate_edges_change_nothing)
{
    graph_t g = { 0 };
    static const uint64_t e[][2] = {
        {5, 5}, {5, 5}, {6, 6},                    // lone self-loops
        {9, 8}, {8, 9}, {9, 8}, {9, 8}, {8, 8},    // a pair, many times
        {20, 21}, {21, 22}, {22, 20}, {22, 20}, {20, 20}, {21, 21},
        {30, 31}, {31, 32}, {32, 33}, {33, 30}, {30, 31},
    };
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
        add_edge(&g, e[i][0], e[i][1]);
    // And a random multigraph on 300 ids, each edge twice and a self-loop
    // at every tenth vertex.
    rng_state = 0xcc3;
    for (int i = 0; i < 250; i++) {
        uint64_t a = 1000 + rng() % 300, b = 1000 + rng() % 300;
        add_edge(&g, a, b);
        add_edge(&g, i % 2 ? a : b, i % 2 ? b : a);
    }
    for (uint64_t v = 1000; v < 1300; v += 10)
        add_edge(&g, v, v);
    check_everywhere(&g, "loops-and-duplicates");
    graph_free(&g);
}

Test(cc, labels_stars_cycles_and_trees_whose_smallest_id_is_deep_inside)
{
    graph_t g = { 0 };
    // A star with the hub the largest id; another with the hub smallest.
    for (uint64_t v = 1; v <= 300; v++)
        add_edge(&g, 1000, v + 1000);
    for (uint64_t v = 1; v <= 300; v++)
        add_edge(&g, 5000 + v, 5000);
    // A cycle of 500 whose smallest id sits half way round.
    for (uint64_t i = 0; i < 500; i++)
        add_edge(&g, 10000 + (i + 250) % 500, 10000 + (i + 251) % 500);
    // A complete binary tree of 1023 nodes, ids decreasing with depth, so
    // the smallest ids are the leaves, far from each other.
    for (uint64_t i = 1; i < 512; i++) {
        add_edge(&g, 30000 - i, 30000 - 2 * i);
        add_edge(&g, 30000 - 2 * i - 1, 30000 - i);
    }
    // A path of 2000 with the smallest id hanging from its middle.
    for (uint64_t i = 0; i + 1 < 2000; i++)
        add_edge(&g, 50000 + i, 50000 + i + 1);
    add_edge(&g, 50000 + 1000, 40000);
    // Huge ids at the top of the range in one component.
    add_edge(&g, 9223372036854775807u, 9223372036854775806u);
    add_edge(&g, (1ull << 62) + 5, 9223372036854775807u);
    check_everywhere(&g, "shapes");
    graph_free(&g);
}
