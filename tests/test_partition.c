// tests/test_partition.c: the vertex-cut strategies against their promises
// (one partition per edge in [0, P), the same every time; 2D's replica bound;
// canonical's symmetry; 1D's grouping by source; balance) on uniform, RMAT
// and star graphs, with ids both dense (0..N-1) and spread over 0..2^63-1.
// The 1D and 2D placements are also checked against a second, literal
// transcription of GraphX's formulas.
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "partition/partition.h"
#include "testutil.h"

#define MAX_P 64    // a vertex's partitions fit one uint64_t bit mask
#define N_EDGES_MAX    300000   // the largest test graph (uniform, RMAT)
#define N_VERTICES_MAX 100001   // the star's hub and leaves

static const gx_strategy_t strategies[] = {
    GX_STRATEGY_2D, GX_STRATEGY_1D, GX_STRATEGY_RANDOM, GX_STRATEGY_CANONICAL,
};
#define N_STRATEGIES (sizeof strategies / sizeof strategies[0])

// 1..16 plus a perfect square (25), a ragged grid (30: 6 columns of 5, the
// last of 5; 10: 4 columns of 3, the last of 1) and the widest mask (64).
static const uint32_t part_counts[] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 25, 30, 64,
};
#define N_PART_COUNTS (sizeof part_counts / sizeof part_counts[0])

// --- Test data: a generator independent of gx_mix64 (xorshift64*). --------

typedef struct graph {
    const char *name;
    uint32_t    n_vertices;
    size_t      n_edges;
    uint32_t   *src;        // dense indexes; the id is id_of(index, spread)
    uint32_t   *dst;
} graph_t;

// Dense ids are 0..N-1 as in most edge lists; spread ids are an affine
// bijection of Z/2^63 (odd multiplier), so distinct indexes stay distinct
// and large ids with high bits set are exercised too.
static uint64_t
id_of(uint32_t index, bool spread)
{
    if (!spread)
        return index;
    return (index * 0x9e3779b97f4a7c15ULL + 0x5deece66dULL) & INT64_MAX;
}

static void
graph_alloc(graph_t *g, const char *name, uint32_t n_vertices, size_t n_edges)
{
    g->name = name;
    g->n_vertices = n_vertices;
    g->n_edges = n_edges;
    g->src = malloc(n_edges * sizeof *g->src);
    g->dst = malloc(n_edges * sizeof *g->dst);
    cr_assert(g->src && g->dst, "out of memory for %s", name);
}

static void
graph_uniform(graph_t *g, uint32_t n_vertices, size_t n_edges)
{
    uint64_t rng = 0x243f6a8885a308d3ULL;
    graph_alloc(g, "uniform", n_vertices, n_edges);
    for (size_t e = 0; e < n_edges; e++) {
        g->src[e] = (uint32_t)(gx_test_xorshift64star(&rng) % n_vertices);
        g->dst[e] = (uint32_t)(gx_test_xorshift64star(&rng) % n_vertices);
    }
}

// RMAT with Graph500's (a, b, c, d) = (.57, .19, .19, .05): a power-law
// degree distribution with hubs in both roles, vertex 0 the biggest.
static void
graph_rmat(graph_t *g, unsigned scale, size_t n_edges)
{
    const uint32_t a = (uint32_t)(0.57 * 4294967296.0);
    const uint32_t ab = (uint32_t)(0.76 * 4294967296.0);
    const uint32_t abc = (uint32_t)(0.95 * 4294967296.0);
    uint64_t rng = 0x13198a2e03707344ULL;
    graph_alloc(g, "rmat", 1u << scale, n_edges);
    for (size_t e = 0; e < n_edges; e++) {
        uint32_t u = 0, v = 0;
        for (unsigned level = 0; level < scale; level++) {
            uint32_t r = (uint32_t)(gx_test_xorshift64star(&rng) >> 32);
            u <<= 1;
            v <<= 1;
            if (r >= abc) {                 // d: both halves high
                u |= 1;
                v |= 1;
            } else if (r >= ab) {           // c
                u |= 1;
            } else if (r >= a) {            // b
                v |= 1;
            }                               // a: both low
        }
        g->src[e] = u;
        g->dst[e] = v;
    }
}

// Hub 0 with an edge to and from each leaf: the worst case for replication.
static void
graph_star(graph_t *g, uint32_t n_leaves)
{
    graph_alloc(g, "star", n_leaves + 1, 2 * (size_t)n_leaves);
    for (uint32_t i = 0; i < n_leaves; i++) {
        g->src[2 * i] = 0;
        g->dst[2 * i] = i + 1;
        g->src[2 * i + 1] = i + 1;
        g->dst[2 * i + 1] = 0;
    }
}

enum { G_UNIFORM, G_RMAT, G_STAR, N_GRAPHS };
static graph_t graphs[N_GRAPHS];

// Each Criterion test runs in its own process, so each builds its graphs
// (tens of milliseconds) and the process exit frees them.
static void
make_graphs(void)
{
    graph_uniform(&graphs[G_UNIFORM], 50000, 300000);
    graph_rmat(&graphs[G_RMAT], 16, 300000);
    graph_star(&graphs[G_STAR], 100000);
}

// --- Placing a graph and what it tells. ------------------------------------

typedef struct placement {
    gx_partitioner_t gp;
    uint8_t         *part;          // [n_edges]
    uint64_t        *mask;          // [n_vertices]: bit p iff an edge in p
    uint64_t         load[MAX_P];   // edges per partition
} placement_t;

static void
place(placement_t *pl, const graph_t *g, bool spread, gx_strategy_t s,
      uint32_t n_parts)
{
    cr_assert(n_parts <= MAX_P);
    if (!pl->part) {
        pl->part = malloc(N_EDGES_MAX * sizeof *pl->part);
        pl->mask = malloc(N_VERTICES_MAX * sizeof *pl->mask);
        cr_assert(pl->part && pl->mask, "out of memory");
    }
    cr_assert(g->n_edges <= N_EDGES_MAX && g->n_vertices <= N_VERTICES_MAX);
    gx_partitioner_init(&pl->gp, s, n_parts);
    memset(pl->mask, 0, g->n_vertices * sizeof *pl->mask);
    memset(pl->load, 0, sizeof pl->load);
    for (size_t e = 0; e < g->n_edges; e++) {
        uint32_t u = g->src[e], v = g->dst[e];
        uint32_t p = gx_partition_of(&pl->gp, id_of(u, spread), id_of(v, spread));
        if (p >= n_parts)
            cr_assert_fail("%s %s P=%u: edge %zu (%u->%u) went to partition %u",
                           g->name, gx_strategy_name(s), n_parts, e, u, v, p);
        pl->part[e] = (uint8_t)p;
        pl->mask[u] |= 1ULL << p;
        pl->mask[v] |= 1ULL << p;
        pl->load[p]++;
    }
}

// The smallest c with c*c >= n, by counting up: slow and obviously right.
static uint32_t
naive_ceil_sqrt(uint64_t n)
{
    uint64_t c = 0;
    while (c * c < n)
        c++;
    return (uint32_t)c;
}

static void
placement_free(placement_t *pl)
{
    free(pl->part);
    free(pl->mask);
    pl->part = NULL;
    pl->mask = NULL;
}

// --- Every strategy: one partition per edge, below P, every time. ----------

Test(partition, maps_every_edge_to_one_partition_below_p_the_same_every_time)
{
    make_graphs();
    placement_t pl = {0};
    for (int gi = 0; gi < N_GRAPHS; gi++)
    for (int spread = 0; spread <= 1; spread++)
    for (size_t si = 0; si < N_STRATEGIES; si++)
    for (size_t pi = 0; pi < N_PART_COUNTS; pi++) {
        const graph_t *g = &graphs[gi];
        uint32_t n_parts = part_counts[pi];
        place(&pl, g, spread, strategies[si], n_parts);   // checks p < P

        // A second partitioner, first set up for something else, must agree
        // edge by edge: placement depends on nothing but the ids and (s, P).
        gx_partitioner_t again;
        gx_partitioner_init(&again, strategies[(si + 1) % N_STRATEGIES], 7);
        gx_partitioner_init(&again, strategies[si], n_parts);
        uint64_t total = 0;
        for (size_t e = 0; e < g->n_edges; e++) {
            uint32_t p = gx_partition_of(&again, id_of(g->src[e], spread),
                                         id_of(g->dst[e], spread));
            if (p != pl.part[e])
                cr_assert_fail("%s %s P=%u: edge %zu placed in %u, then %u",
                               g->name, gx_strategy_name(strategies[si]),
                               n_parts, e, pl.part[e], p);
        }
        for (uint32_t p = 0; p < n_parts; p++)
            total += pl.load[p];
        cr_assert_eq(total, g->n_edges, "every edge counted exactly once");
    }
    placement_free(&pl);
}

Test(partition, places_ids_at_both_ends_of_the_range_below_p)
{
    const uint64_t ids[] = {
        0, 1, 2, INT64_MAX, INT64_MAX - 1, (uint64_t)INT64_MAX + 1, UINT64_MAX,
    };
    const size_t n_ids = sizeof ids / sizeof ids[0];
    const uint32_t big[] = { 1, 2, 3, 64, 1000, 65535u * 65535u,
                             65535u * 65535u + 1, 1u << 31, UINT32_MAX };
    for (size_t si = 0; si < N_STRATEGIES; si++)
    for (size_t pi = 0; pi < sizeof big / sizeof big[0]; pi++) {
        gx_partitioner_t gp;
        gx_partitioner_init(&gp, strategies[si], big[pi]);
        for (size_t i = 0; i < n_ids; i++)
        for (size_t j = 0; j < n_ids; j++) {
            uint32_t p = gx_partition_of(&gp, ids[i], ids[j]);
            cr_assert_lt(p, big[pi], "%s P=%u: (%llu, %llu) went to %u",
                         gx_strategy_name(strategies[si]), big[pi],
                         (unsigned long long)ids[i],
                         (unsigned long long)ids[j], p);
        }
    }
}

// --- 2D: the replica bound. ------------------------------------------------

Test(partition, shapes_every_2d_grid_with_at_least_one_row_in_every_column)
{
    // All P up to 2^20 and the ones where 32-bit arithmetic would overflow.
    const uint32_t edge_cases[] = { 65535u * 65535u, 65535u * 65535u + 1,
                                    (1u << 31) - 1, 1u << 31, UINT32_MAX - 1,
                                    UINT32_MAX };
    const uint32_t n_small = 1u << 20;
    for (uint32_t i = 0; i < n_small + sizeof edge_cases / sizeof edge_cases[0]; i++) {
        uint32_t n_parts = i < n_small ? i + 1 : edge_cases[i - n_small];
        gx_partitioner_t gp;
        gx_partitioner_init(&gp, GX_STRATEGY_2D, n_parts);
        uint64_t c = gp.cols, r = gp.rows, last = gp.last_rows;
        if (!(c * c >= n_parts && (c - 1) * (c - 1) < n_parts))
            cr_assert_fail("P=%u: cols %llu is not ceil(sqrt(P))", n_parts,
                           (unsigned long long)c);
        if (r != (n_parts + c - 1) / c || last < 1 || last > r
            || r * (c - 1) + last != n_parts || r + c > 2 * c)
            cr_assert_fail("P=%u: grid %llu cols x %llu rows, last %llu",
                           n_parts, (unsigned long long)c,
                           (unsigned long long)r, (unsigned long long)last);
    }
    // The exact ceil(sqrt) against a count-up near the perfect squares.
    for (uint32_t n = 1; n < 5000; n++) {
        gx_partitioner_t gp;
        gx_partitioner_init(&gp, GX_STRATEGY_2D, n);
        cr_assert_eq(gp.cols, naive_ceil_sqrt(n), "P=%u", n);
    }
}

Test(partition, keeps_every_2d_vertex_within_rows_plus_cols_partitions)
{
    make_graphs();
    placement_t pl = {0};
    for (int gi = 0; gi < N_GRAPHS; gi++)
    for (int spread = 0; spread <= 1; spread++)
    for (size_t pi = 0; pi < N_PART_COUNTS; pi++) {
        const graph_t *g = &graphs[gi];
        uint32_t n_parts = part_counts[pi];
        place(&pl, g, spread, GX_STRATEGY_2D, n_parts);
        uint32_t bound_sqrt = 2 * naive_ceil_sqrt(n_parts);
        uint32_t bound_grid = pl.gp.rows + pl.gp.cols;
        uint32_t bound_api = gx_partitioner_max_replicas(&pl.gp);
        cr_assert_leq(bound_api, bound_grid);
        uint32_t worst = 0;
        for (uint32_t v = 0; v < g->n_vertices; v++) {
            uint32_t k = (uint32_t)__builtin_popcountll(pl.mask[v]);
            if (k > worst)
                worst = k;
        }
        cr_assert(worst <= bound_sqrt && worst <= bound_grid
                  && worst <= bound_api,
                  "%s%s P=%u: a vertex in %u partitions; bounds 2*ceil(sqrt P)"
                  " = %u, rows+cols = %u, max_replicas = %u", g->name,
                  spread ? " (spread ids)" : "", n_parts, worst, bound_sqrt,
                  bound_grid, bound_api);
    }
    placement_free(&pl);
}

Test(partition, gives_a_2d_hub_its_whole_column_and_one_partition_per_other_column)
{
    // The hub's out-edges fill its column; its in-edges come from every
    // column and land in one row of each. The one shared partition makes
    // the exact count rows_in_its_column + cols - 1: the bound is reached.
    graph_t star;
    graph_star(&star, 100000);
    placement_t pl = {0};
    for (int spread = 0; spread <= 1; spread++)
    for (size_t pi = 0; pi < N_PART_COUNTS; pi++) {
        uint32_t n_parts = part_counts[pi];
        place(&pl, &star, spread, GX_STRATEGY_2D, n_parts);
        uint32_t col = pl.part[0] / pl.gp.rows;     // edge 0 is hub -> leaf
        uint32_t in_col = col < pl.gp.cols - 1 ? pl.gp.rows : pl.gp.last_rows;
        uint32_t want = in_col + pl.gp.cols - 1;
        uint32_t got = (uint32_t)__builtin_popcountll(pl.mask[0]);
        cr_assert_eq(got, want, "P=%u (%u cols x %u rows, last %u): hub in %u"
                     " partitions, want %u", n_parts, pl.gp.cols, pl.gp.rows,
                     pl.gp.last_rows, got, want);
    }
    placement_free(&pl);
    free(star.src);
    free(star.dst);
}

Test(partition, reports_max_replicas_of_each_strategy)
{
    // {P, 2D bound}: rows + cols capped at P.
    const uint32_t cases[][2] = {
        {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}, {9, 6}, {10, 7}, {16, 8},
        {25, 10}, {30, 11}, {64, 16}, {100, 20},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gx_partitioner_t gp;
        for (size_t si = 0; si < N_STRATEGIES; si++) {
            gx_partitioner_init(&gp, strategies[si], cases[i][0]);
            uint32_t want = strategies[si] == GX_STRATEGY_2D ? cases[i][1]
                                                              : cases[i][0];
            cr_assert_eq(gx_partitioner_max_replicas(&gp), want, "%s P=%u",
                         gx_strategy_name(strategies[si]), cases[i][0]);
        }
    }
}

Test(partition, never_replicates_a_vertex_beyond_max_replicas)
{
    make_graphs();
    placement_t pl = {0};
    for (int gi = 0; gi < N_GRAPHS; gi++)
    for (size_t si = 0; si < N_STRATEGIES; si++)
    for (size_t pi = 0; pi < N_PART_COUNTS; pi++) {
        const graph_t *g = &graphs[gi];
        place(&pl, g, true, strategies[si], part_counts[pi]);
        uint32_t bound = gx_partitioner_max_replicas(&pl.gp);
        for (uint32_t v = 0; v < g->n_vertices; v++)
            if ((uint32_t)__builtin_popcountll(pl.mask[v]) > bound)
                cr_assert_fail("%s %s P=%u: vertex %u in more than %u",
                               g->name, gx_strategy_name(strategies[si]),
                               part_counts[pi], v, bound);
    }
    placement_free(&pl);
}

// --- Literal GraphX, as an independent check of 1D and 2D. -----------------

// EdgePartition2D.getPartition and EdgePartition1D.getPartition from
// GraphX's PartitionStrategy.scala, with gx_mix64 for `abs(id * mixingPrime)`
// and multiply-shift for `%` (h mod n as the high half of h * n).
static uint64_t
mod(uint64_t h, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)h * n) >> 64);
}

static uint32_t
graphx_2d(uint64_t src, uint64_t dst, uint32_t num_parts)
{
    uint64_t ceil_sqrt_num_parts = naive_ceil_sqrt(num_parts);
    if (num_parts == ceil_sqrt_num_parts * ceil_sqrt_num_parts) {
        uint64_t col = mod(gx_mix64(src), ceil_sqrt_num_parts);
        uint64_t row = mod(gx_mix64(dst), ceil_sqrt_num_parts);
        return (uint32_t)((col * ceil_sqrt_num_parts + row) % num_parts);
    }
    uint64_t cols = ceil_sqrt_num_parts;
    uint64_t rows = (num_parts + cols - 1) / cols;
    uint64_t last_col_rows = num_parts - rows * (cols - 1);
    uint64_t col = mod(gx_mix64(src), num_parts) / rows;
    uint64_t row = mod(gx_mix64(dst), col < cols - 1 ? rows : last_col_rows);
    return (uint32_t)(col * rows + row);
}

Test(partition, matches_graphx_edge_partition_1d_and_2d_for_p_up_to_200)
{
    uint64_t rng = 0xa4093822299f31d0ULL;
    for (uint32_t n_parts = 1; n_parts <= 200; n_parts++) {
        gx_partitioner_t two, one;
        gx_partitioner_init(&two, GX_STRATEGY_2D, n_parts);
        gx_partitioner_init(&one, GX_STRATEGY_1D, n_parts);
        for (int i = 0; i < 5000; i++) {
            uint64_t s = gx_test_xorshift64star(&rng) & INT64_MAX;
            uint64_t d = i % 2 ? gx_test_xorshift64star(&rng) & INT64_MAX
                               : (uint64_t)i;
            cr_assert_eq(gx_partition_of(&two, s, d), graphx_2d(s, d, n_parts),
                         "2d P=%u (%llu, %llu)", n_parts,
                         (unsigned long long)s, (unsigned long long)d);
            cr_assert_eq(gx_partition_of(&one, s, d), mod(gx_mix64(s), n_parts),
                         "1d P=%u (%llu, %llu)", n_parts,
                         (unsigned long long)s, (unsigned long long)d);
        }
    }
}

// --- Canonical and 1D: what they keep together. ----------------------------

Test(partition, puts_both_directions_of_an_edge_together_under_canonical)
{
    make_graphs();
    for (int gi = 0; gi < N_GRAPHS; gi++)
    for (int spread = 0; spread <= 1; spread++)
    for (size_t pi = 0; pi < N_PART_COUNTS; pi++) {
        const graph_t *g = &graphs[gi];
        uint32_t n_parts = part_counts[pi];
        gx_partitioner_t canon, rnd;
        gx_partitioner_init(&canon, GX_STRATEGY_CANONICAL, n_parts);
        gx_partitioner_init(&rnd, GX_STRATEGY_RANDOM, n_parts);
        size_t random_agrees = 0;
        for (size_t e = 0; e < g->n_edges; e++) {
            uint64_t a = id_of(g->src[e], spread), b = id_of(g->dst[e], spread);
            uint32_t ab = gx_partition_of(&canon, a, b);
            uint32_t ba = gx_partition_of(&canon, b, a);
            // Canonical is random's hash of the pair in id order.
            uint32_t ordered = gx_partition_of(&rnd, a < b ? a : b, a < b ? b : a);
            if (ab != ba || ab != ordered)
                cr_assert_fail("%s P=%u: (%llu,%llu) -> %u, reversed -> %u,"
                               " random of ordered pair -> %u", g->name,
                               n_parts, (unsigned long long)a,
                               (unsigned long long)b, ab, ba, ordered);
            random_agrees += gx_partition_of(&rnd, a, b) == gx_partition_of(&rnd, b, a);
        }
        // The check has teeth: random itself splits the two directions,
        // meeting only by chance (about 1/P of the time). Self-loops (RMAT
        // has some) always meet, hence the slack.
        if (n_parts > 1) {
            double frac = (double)random_agrees / (double)g->n_edges;
            cr_assert_lt(frac, 1.0 / n_parts + 0.05, "%s P=%u: random put %.3f"
                         " of reversed pairs together", g->name, n_parts, frac);
        }
    }
}

Test(partition, keeps_all_out_edges_of_a_source_together_under_1d)
{
    make_graphs();
    placement_t pl = {0};
    uint8_t *first = malloc(N_VERTICES_MAX);
    cr_assert(first);
    for (int gi = 0; gi < N_GRAPHS; gi++)
    for (int spread = 0; spread <= 1; spread++)
    for (size_t pi = 0; pi < N_PART_COUNTS; pi++) {
        const graph_t *g = &graphs[gi];
        place(&pl, g, spread, GX_STRATEGY_1D, part_counts[pi]);
        memset(first, 0xff, g->n_vertices);
        for (size_t e = 0; e < g->n_edges; e++) {
            uint32_t u = g->src[e];
            if (first[u] == 0xff)
                first[u] = pl.part[e];
            else if (first[u] != pl.part[e])
                cr_assert_fail("%s P=%u: out-edges of %u in %u and %u",
                               g->name, part_counts[pi], u, first[u],
                               pl.part[e]);
        }
    }
    free(first);
    placement_free(&pl);
}

// --- Balance. --------------------------------------------------------------

Test(partition, balances_uniform_edges_within_half_the_mean_for_p_up_to_16)
{
    make_graphs();
    const graph_t *g = &graphs[G_UNIFORM];
    placement_t pl = {0};
    for (int spread = 0; spread <= 1; spread++)
    for (size_t si = 0; si < N_STRATEGIES; si++)
    for (size_t pi = 0; pi < N_PART_COUNTS; pi++) {
        uint32_t n_parts = part_counts[pi];
        place(&pl, g, spread, strategies[si], n_parts);
        double mean = (double)g->n_edges / n_parts;
        uint64_t lo = UINT64_MAX, hi = 0;
        for (uint32_t p = 0; p < n_parts; p++) {
            lo = pl.load[p] < lo ? pl.load[p] : lo;
            hi = pl.load[p] > hi ? pl.load[p] : hi;
        }
        // Every partition is reached, including the short last 2D column.
        cr_assert_gt(lo, 0, "%s P=%u: an empty partition",
                     gx_strategy_name(strategies[si]), n_parts);
        if (n_parts <= 16)
            cr_assert(hi <= 1.5 * mean && lo >= 0.5 * mean,
                      "%s%s P=%u: loads %llu..%llu, mean %.0f",
                      gx_strategy_name(strategies[si]),
                      spread ? " (spread ids)" : "", n_parts,
                      (unsigned long long)lo, (unsigned long long)hi, mean);
    }
    placement_free(&pl);
}

Test(partition, spreads_owners_of_consecutive_and_strided_ids_evenly)
{
    const uint32_t n_ids = 1u << 20;
    const uint64_t strides[] = { 1, 2, 64, 1024, 1ULL << 32 };
    const uint32_t workers[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                 14, 15, 16, 24, 64 };
    uint32_t count[64];
    for (size_t gi = 0; gi < N_STRATEGIES; gi++)
    for (size_t si = 0; si < sizeof strides / sizeof strides[0]; si++)
    for (size_t wi = 0; wi < sizeof workers / sizeof workers[0]; wi++)
    for (uint32_t k = 1; k <= 2; k++) {            // P = W and P = 2W
        uint32_t w = workers[wi];
        gx_partitioner_t gp;
        gx_partitioner_init(&gp, strategies[gi], k * w);
        gx_placement_t pl = gx_placement(w);
        memset(count, 0, sizeof count);
        for (uint32_t i = 0; i < n_ids; i += 4) {
            uint32_t o = gx_owner_of(&gp, i * strides[si], &pl);
            cr_assert_lt(o, w);
            count[o]++;
        }
        double mean = (double)(n_ids / 4) / w;
        for (uint32_t o = 0; o < w; o++)
            cr_assert(count[o] >= 0.93 * mean && count[o] <= 1.07 * mean,
                      "%s, P=%u, stride %llu, %u workers: worker %u owns %u, "
                      "mean %.0f", gx_strategy_name(strategies[gi]), k * w,
                      (unsigned long long)strides[si], w, o, count[o], mean);
    }
}

Test(partition, homes_a_vertex_with_its_out_edges_in_1d_and_in_its_column_in_2d)
{
    uint64_t rng = 0x2545f4914f6cdd1dULL;
    for (uint32_t n_parts = 1; n_parts <= 40; n_parts++) {
        gx_partitioner_t one, two;
        gx_partitioner_init(&one, GX_STRATEGY_1D, n_parts);
        gx_partitioner_init(&two, GX_STRATEGY_2D, n_parts);
        for (int i = 0; i < 2000; i++) {
            uint64_t v = gx_test_xorshift64star(&rng) & INT64_MAX;
            uint64_t d = gx_test_xorshift64star(&rng) & INT64_MAX;
            uint32_t h1 = gx_partition_home(&one, v);
            cr_assert_eq(h1, gx_partition_of(&one, v, d), "1d P=%u", n_parts);
            // Column of a 2D cell: cells are numbered column by column.
            uint32_t h2 = gx_partition_home(&two, v);
            uint32_t p = gx_partition_of(&two, v, d);
            uint32_t per = n_parts == two.cols * two.cols ? two.cols : two.rows;
            cr_assert_lt(h2, n_parts);
            cr_assert_eq(h2 / per, p / per, "2d P=%u: home %u, out-edge in %u",
                         n_parts, h2, p);
        }
        // With P = 2 every out-edge is at home.
        if (n_parts == 2)
            for (int i = 0; i < 2000; i++) {
                uint64_t v = gx_test_xorshift64star(&rng) & INT64_MAX;
                uint64_t d = gx_test_xorshift64star(&rng) & INT64_MAX;
                cr_assert_eq(gx_partition_home(&two, v),
                             gx_partition_of(&two, v, d));
            }
    }
}

// --- Names. ----------------------------------------------------------------

Test(partition, round_trips_every_strategy_name)
{
    const char *names[] = { "2d", "1d", "random", "canonical" };
    for (size_t si = 0; si < N_STRATEGIES; si++) {
        cr_assert_str_eq(gx_strategy_name(strategies[si]), names[si]);
        gx_strategy_t s = (gx_strategy_t)-1;
        cr_assert_eq(gx_strategy_parse(names[si], &s), 0, "%s", names[si]);
        cr_assert_eq(s, strategies[si], "%s", names[si]);
    }
}

Test(partition, rejects_unknown_strategy_names_and_leaves_the_output_alone)
{
    const char *bad[] = { "3d", "", "2d ", " 2d", "random2", "canon", NULL };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gx_strategy_t s = GX_STRATEGY_CANONICAL;
        cr_assert_eq(gx_strategy_parse(bad[i], &s), -1, "'%s' accepted",
                     bad[i] ? bad[i] : "(null)");
        cr_assert_eq(s, GX_STRATEGY_CANONICAL);
    }
    cr_assert_not_null(gx_strategy_name((gx_strategy_t)99));
}

// ---- Placement -------------------------------------------------------------

static void
assert_placed(const gx_placement_t *pl, uint32_t p)
{
    uint32_t w = pl->workers;
    cr_assert_eq(gx_place_slot(pl, p), p / w, "p %u, W %u: slot", p, w);
    cr_assert_eq(gx_place_worker(pl, p), p % w, "p %u, W %u: worker", p, w);
}

// The multiply-and-shift is p / W and p % W exactly, over the whole range
// the engine allows (p < 2^24, W <= 2^16, past GX_MAX_WORKERS): every p
// below 2^16 for small W, the edges of the range for every W, and a
// million random pairs.
Test(partition, placement_is_division_exactly)
{
    for (uint32_t w = 1; w <= 64; w++) {
        gx_placement_t pl = gx_placement(w);
        for (uint32_t p = 0; p < (1u << 16); p++)
            assert_placed(&pl, p);
    }
    for (uint32_t w = 1; w <= (1u << 16); w++) {
        gx_placement_t pl = gx_placement(w);
        uint32_t last = GX_PLACE_MAX_P - 1;
        assert_placed(&pl, last);
        assert_placed(&pl, last - last % w);            // a slot's first
        if (last % w)
            assert_placed(&pl, last - last % w - 1);    // the slot before's last
        assert_placed(&pl, w - 1);
        assert_placed(&pl, w);
    }
    uint64_t st = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 1000000; i++) {
        uint64_t r = gx_test_xorshift64(&st);
        gx_placement_t pl = gx_placement(1 + (uint32_t)(r % (1u << 16)));
        assert_placed(&pl, (uint32_t)(r >> 32) % GX_PLACE_MAX_P);
    }
}
