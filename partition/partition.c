// partition/partition.c: the vertex-cut strategies of GraphX's
// PartitionStrategy, with gx_mix64 in place of Java's hashCode. Placement is
// a pure function of (strategy, P, src, dst), so every worker and every
// process agrees on it without talking. The fact that shaped the 2D grid: a
// vertex as source lands in one column, as destination in one partition per
// column, so it has at most rows + cols - 1 <= 2*ceil(sqrt(P)) replicas.
#include <assert.h>
#include <stddef.h>
#include <string.h>
#include "partition/partition.h"

// ceil(sqrt(n)) in integers, so no libm and no rounding doubt near perfect
// squares. The answer is at most 65536 for a uint32_t n; its square (2^32)
// needs 64 bits.
static uint32_t
ceil_sqrt(uint32_t n)
{
    uint64_t lo = 0, hi = 65536;            // invariant: lo^2 < n <= hi^2
    if (n == 0)
        return 0;
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (mid * mid >= n)
            hi = mid;
        else
            lo = mid;
    }
    return (uint32_t)hi;
}

void
gx_partitioner_init(gx_partitioner_t *self, gx_strategy_t strategy,
                    uint32_t n_parts)
{
    assert(self);
    assert(n_parts >= 1);                   // the caller resolves "0 = workers"
    memset(self, 0, sizeof *self);
    self->strategy = strategy;
    self->n_parts = n_parts;

    // The grid is filled for every strategy (it costs nothing) but only 2D
    // reads it. With c = ceil(sqrt(P)) we have (c-1)^2 < P <= c^2, so
    // rows = ceil(P/c) is c-1 or c. If rows = c-1, rows*(c-1) = (c-1)^2 < P;
    // if rows = c, then P > c*(c-1) (that is why it rounded up to c). Either
    // way last_rows = P - rows*(c-1) >= 1, and rows*c >= P gives
    // last_rows <= rows: the shape never needs fixing.
    uint32_t cols = ceil_sqrt(n_parts);
    uint32_t rows = (uint32_t)(((uint64_t)n_parts + cols - 1) / cols);
    uint64_t before_last = (uint64_t)rows * (cols - 1);
    assert(before_last < n_parts);
    self->cols = cols;
    self->rows = rows;
    // x * ceil(2^40/r) >> 40 == x / r exactly while x * r < 2^40 (the error
    // term is below x / 2^40 < 1/r). With x < P <= 2^24, r <= 2^12 that
    // holds; larger grids divide.
    self->rows_inv = n_parts <= (1u << 24)
                     ? (((uint64_t)1 << 40) + rows - 1) / rows : 0;
    self->last_rows = (uint32_t)(n_parts - before_last);
    assert(self->last_rows >= 1 && self->last_rows <= rows);
}

// h mod n, by multiply-shift: the high half of h*n is in [0, n) and
// uniform when h is (the mixer sees to that). A 64-bit division costs tens
// of cycles, and loading does two per edge.
static inline uint32_t
reduce(uint64_t h, uint32_t n)
{
    return (uint32_t)(((unsigned __int128)h * n) >> 64);
}

// A hash of the ordered pair: mixing src first makes (a, b) and (b, a)
// differ, and the outer mix spreads consecutive destinations of one source.
static inline uint64_t
pair_hash(uint64_t src, uint64_t dst)
{
    return gx_mix64(gx_mix64(src) ^ dst);
}

// EdgePartition2D as GraphX writes it, with reduce() for GraphX's `%`. The
// perfect-square branch is GraphX's placement for P = c^2; the general
// branch gives the last column only last_rows rows. col = reduce(h, P) /
// rows picks column k with probability (its rows) / P, and the row is
// uniform inside it, so every partition gets 1/P of uniform edges.
static inline uint32_t
grid_cell(const gx_partitioner_t *self, uint64_t hs, uint64_t hd)
{
    uint32_t cols = self->cols;
    if (self->n_parts == (uint64_t)cols * cols) {  // 64-bit: cols may be 65536
        uint32_t col = reduce(hs, cols);
        uint32_t row = reduce(hd, cols);
        return col * cols + row;
    }
    uint32_t rows = self->rows;
    uint64_t x = reduce(hs, self->n_parts);
    uint32_t col = self->rows_inv ? (uint32_t)((x * self->rows_inv) >> 40)
                                  : (uint32_t)(x / rows);
    uint32_t row = reduce(hd, col < cols - 1 ? rows : self->last_rows);
    return col * rows + row;
}

static inline uint32_t
grid2d(const gx_partitioner_t *self, uint64_t src, uint64_t dst)
{
    return grid_cell(self, gx_mix64(src), gx_mix64(dst));
}

uint32_t
gx_partition_of(const gx_partitioner_t *self, uint64_t src, uint64_t dst)
{
    uint64_t lo, hi;
    switch (self->strategy) {
    case GX_STRATEGY_2D:
        return grid2d(self, src, dst);
    case GX_STRATEGY_1D:
        // Only the source counts: all out-edges of a vertex meet in one
        // partition, and a popular destination may be everywhere.
        return reduce(gx_mix64(src), self->n_parts);
    case GX_STRATEGY_RANDOM:
        return reduce(pair_hash(src, dst), self->n_parts);
    case GX_STRATEGY_CANONICAL:
        // Ordered by id first, so both directions of an edge meet.
        lo = src < dst ? src : dst;
        hi = src < dst ? dst : src;
        return reduce(pair_hash(lo, hi), self->n_parts);
    }
    assert(!"gx_partition_of: unknown strategy");
    return 0;
}

// A vertex's home: in 2D a cell of its own column, where its out-edges
// are, in a row drawn by a second hash (the same hash for both would put
// every home on the diagonal); in 1D its own partition, which holds all its
// out-edges; for the random strategies any partition. Each partition is
// home to 1/P of the ids, so masters spread as evenly as edges do.
uint32_t
gx_partition_home(const gx_partitioner_t *self, uint64_t id)
{
    uint64_t h = gx_mix64(id), h2 = gx_mix64(id ^ 0x9e3779b97f4a7c15ULL);
    switch (self->strategy) {
    case GX_STRATEGY_2D:
        return grid_cell(self, h, h2);
    case GX_STRATEGY_1D:
        return reduce(h, self->n_parts);
    default:
        return reduce(h2, self->n_parts);
    }
}

uint32_t
gx_partitioner_max_replicas(const gx_partitioner_t *self)
{
    uint32_t p = self->n_parts;
    switch (self->strategy) {
    case GX_STRATEGY_2D: {
        // rows + cols is the documented bound; the source column and the
        // destination row share a partition, so rows + cols - 1 is reached
        // at most (by a hub seen in both roles).
        uint64_t bound = (uint64_t)self->rows + self->cols;
        return bound < p ? (uint32_t)bound : p;
    }
    case GX_STRATEGY_1D:                    // one as source, any as destination
    case GX_STRATEGY_RANDOM:
    case GX_STRATEGY_CANONICAL:
        return p;
    }
    assert(!"gx_partitioner_max_replicas: unknown strategy");
    return p;
}

// Indexed by gx_strategy_t; the CLI's --strategy values.
static const char *const strategy_names[] = {
    [GX_STRATEGY_2D] = "2d",
    [GX_STRATEGY_1D] = "1d",
    [GX_STRATEGY_RANDOM] = "random",
    [GX_STRATEGY_CANONICAL] = "canonical",
};
#define N_STRATEGIES (sizeof strategy_names / sizeof strategy_names[0])

const char *
gx_strategy_name(gx_strategy_t s)
{
    // A name for anything, so a summary line never prints through NULL.
    if ((unsigned)s >= N_STRATEGIES)
        return "unknown";
    return strategy_names[s];
}

int
gx_strategy_parse(const char *name, gx_strategy_t *out)
{
    if (!name || !out)
        return -1;
    for (size_t i = 0; i < N_STRATEGIES; i++) {
        if (strcmp(name, strategy_names[i]) == 0) {
            *out = (gx_strategy_t)i;
            return 0;
        }
    }
    return -1;                              // *out untouched
}
