// core/engine.h: what the master and the workers of one run share. Private
// to core/; the public face is include/graphx/graphx.h.
#ifndef GX_CORE_ENGINE_H
#define GX_CORE_ENGINE_H

#include <stdint.h>
#include "graphx/graphx.h"
#include "loaders/loader.h"
#include "partition/partition.h"

#define GX_NO_PARTITION UINT32_MAX   // REG rows of --vertices ids

// Worker statistics sent at each barrier (u64 each).
enum {
    GX_STAT_EDGES = 0,       // LOAD: edges read; PARTITION: edges stored
    GX_STAT_BYTES_IN,        // LOAD: input bytes consumed
    GX_STAT_MASTERS,         // PARTITION: vertices mastered here
    GX_STAT_REPLICAS,        // PARTITION: replicas held here
    GX_STAT_ACTIVE,          // COMPUTE: active after apply
    GX_STAT_MESSAGES,        // COMPUTE: combined messages sent
    GX_STAT_BYTES_SENT,      // bytes this worker put on the wire this phase
    GX_STAT_N
};

// Facts the master broadcasts with GO once the graph is built.
enum { GX_FACT_VERTICES = 0, GX_FACT_EDGES, GX_FACT_N };

typedef struct gx_engine {
    const gx_job_t     *job;
    const gx_program_t *prog;
    uint32_t            n_workers;
    uint32_t            n_parts;
    gx_partitioner_t    parter;
    gx_input_t         *input;
    gx_input_t         *vinput;          // --vertices, or NULL
    char                master_ep[96];   // the master's ROUTER
    char                worker_ep[96];   // printf pattern with %u: worker PULL
} gx_engine_t;

typedef struct gx_worker_arg {
    gx_engine_t *engine;
    uint32_t     index;
} gx_worker_arg_t;

void *gx_worker_main(void *arg);
int   gx_master_run(gx_engine_t *e, void *router, gx_result_t *res,
                    gx_error_t *err);

#endif
