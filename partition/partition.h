// partition/partition.h: edge -> partition (the vertex-cut strategies of
// GraphX) and vertex -> owner. Pure functions of the ids, so every worker and
// every process computes the same placement without talking.
#ifndef GX_PARTITION_PARTITION_H
#define GX_PARTITION_PARTITION_H

#include <stdint.h>
#include "graphx/graphx.h"

// A 64-bit mixer (splitmix64's finaliser): consecutive ids spread evenly.
static inline uint64_t
gx_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

// Precomputed grid shape for EdgePartition2D, so the per-edge cost is a few
// multiplications.
typedef struct gx_partitioner {
    gx_strategy_t strategy;
    uint32_t      n_parts;
    uint32_t      cols;        // ceil(sqrt(P))
    uint32_t      rows;        // ceil(P / cols)
    uint32_t      last_rows;   // rows of the last column: P - rows*(cols-1)
    uint64_t      rows_inv;    // ceil(2^40 / rows): x / rows without a division
} gx_partitioner_t;

void     gx_partitioner_init(gx_partitioner_t *self, gx_strategy_t strategy,
                             uint32_t n_parts);
uint32_t gx_partition_of(const gx_partitioner_t *self, uint64_t src,
                         uint64_t dst);
// The most partitions one vertex can be replicated in under this strategy
// (P for the random ones, rows + cols for 2D).
uint32_t gx_partitioner_max_replicas(const gx_partitioner_t *self);

// The partition a vertex's master lives with (its "home"), chosen so the
// master shares a worker with some of the vertex's out-edges: a master
// sends its message to the replicas holding its out-edges every step, and
// the one on its own worker costs no frame. With P = W = 2 under 2D (a
// 2 x 1 grid) every out-edge is at home.
uint32_t gx_partition_home(const gx_partitioner_t *self, uint64_t id);

// Where partitions live: partition p on worker p % W, in slot p / W
// there. The one placement rule, for the engine and its tests. A multiply
// and a shift by the rounded-up reciprocal of W, so no division per edge
// and no table per partition; exact for p < 2^24 (GX_PLACE_MAX_P) and
// W <= 2^16, since the reciprocal's rounding error times p stays below
// 2^40 / W.
#define GX_PLACE_MAX_P (1u << 24)

typedef struct gx_placement {
    uint32_t workers;               // W >= 1
    uint64_t recip;                 // ceil(2^40 / W)
} gx_placement_t;

static inline gx_placement_t
gx_placement(uint32_t workers)
{
    gx_placement_t pl = { workers, ((1ull << 40) + workers - 1) / workers };
    return pl;
}

// p / W: the slot of partition p on its worker.
static inline uint32_t
gx_place_slot(const gx_placement_t *pl, uint32_t p)
{
    return (uint32_t)(((uint64_t)p * pl->recip) >> 40);
}

// p % W: the worker that holds partition p.
static inline uint32_t
gx_place_worker(const gx_placement_t *pl, uint32_t p)
{
    return p - gx_place_slot(pl, p) * pl->workers;
}

// The worker that owns a vertex's master replica: the one holding its home.
static inline uint32_t
gx_owner_of(const gx_partitioner_t *self, uint64_t id, const gx_placement_t *pl)
{
    return gx_place_worker(pl, gx_partition_home(self, id));
}

#endif
