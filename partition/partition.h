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

// The worker that holds partition p.
static inline uint32_t
gx_partition_worker(uint32_t p, uint32_t n_workers)
{
    return p % n_workers;
}

// The worker that owns a vertex's master replica: the one holding its home.
static inline uint32_t
gx_owner_of(const gx_partitioner_t *self, uint64_t id, uint32_t n_workers)
{
    return gx_partition_worker(gx_partition_home(self, id), n_workers);
}

#endif
