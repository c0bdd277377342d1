// core/engine.h: what the master and the workers of one run share. Private
// to core/; the public face is include/graphx/graphx.h.
#ifndef GX_CORE_ENGINE_H
#define GX_CORE_ENGINE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include "graphx/graphx.h"
#include "loaders/loader.h"
#include "core/spill.h"
#include "partition/partition.h"

#define GX_NO_PARTITION UINT32_MAX   // REG rows of --vertices ids
#define GX_MAX_WORKERS  4096u        // a worker keeps a counter per peer

// Worker statistics sent at each barrier (u64 each).
enum {
    GX_STAT_EDGES = 0,       // LOAD: edges read; PARTITION: edges stored
    GX_STAT_BYTES_IN,        // LOAD: input bytes consumed
    GX_STAT_MASTERS,         // LOAD: --vertices ids read; PARTITION:
                             // vertices mastered here
    GX_STAT_REPLICAS,        // PARTITION: replicas held here
    GX_STAT_ACTIVE,          // COMPUTE: active after apply
    GX_STAT_MESSAGES,        // COMPUTE: combined messages sent
    GX_STAT_BYTES_SENT,      // bytes this worker put on the wire this phase
    GX_STAT_DIRECT,          // COMPUTE: gx_send_to messages sent
    GX_STAT_DROPPED,         // COMPUTE: direct messages to no vertex
    GX_STAT_PAGED,           // edges whose arrays were paged out
    GX_STAT_HELD_SPILLED,    // COMPUTE: held MSG/DIRECT frames spilled
    GX_STAT_N
};

// A worker process's figures (core/figures.c), in the REPORT that carries
// them (u64 each): its threads, so the master knows whose they are, and
// its out-of-core figures, counted since it started.
enum {
    GX_PROC_FIRST = 0,       // its first worker thread
    GX_PROC_THREADS,         // how many it runs
    GX_PROC_BUDGET,          // its memory budget, bytes
    GX_PROC_PEAK_RSS,        // its peak resident set so far, bytes
    GX_PROC_SPILLED,         // bytes written to its spill store
    GX_PROC_READ_BACK,       // bytes read back from it
    GX_PROC_SPILL_US,        // microseconds in the store, over threads
    GX_PROC_N
};

// Facts the master broadcasts with GO once the graph is built.
enum { GX_FACT_VERTICES = 0, GX_FACT_EDGES, GX_FACT_N };

// Where a failure is kept until the run is wound down. Each thread has its
// own; `seq` orders them, so the error reported is the first one, the
// cause, and not the "context terminated" of threads that were woken by it.
typedef struct gx_failure {
    gx_error_t err;
    unsigned   seq;                  // 0: none
} gx_failure_t;

typedef struct gx_engine {
    const gx_job_t     *job;
    // This process's worker threads: [first, first + n_here) of
    // n_workers. Local mode: all of them; a master process: none.
    uint32_t            first, n_here;
    bool                has_master;      // the master runs in this process
    // Where the run is, for messages about it: a superstep (>= 0), or
    // GX_WHERE_* (set by the master; 0 before it starts).
    atomic_llong        where;
    pthread_mutex_t     first_lock;      // guards first_msg
    char                first_msg[512];  // the run's first failure
    const gx_program_t *prog;
    uint32_t            n_workers;
    uint32_t            n_parts;
    bool                parts_picked;    // n_parts chosen from the budget
    gx_partitioner_t    parter;
    gx_input_t         *input;
    gx_input_t         *vinput;          // --vertices, or NULL
    void               *zctx;            // the run's ZeroMQ context
    atomic_uint         fail_seq;        // failures so far; nonzero also
                                         // stops waits outside ZeroMQ (stdin)
    char                master_ep[96];   // the master's ROUTER
    char                worker_ep[96];   // inboxes: this prefix + index
    uint64_t            budget;          // this process's memory budget
    gx_spill_t          spill;           // where over-budget data goes
    bool                spill_ready;     // spill initialised
} gx_engine_t;

static inline void
gx_worker_endpoint(const gx_engine_t *e, uint32_t w, char *out, size_t cap)
{
    snprintf(out, cap, "%s%u", e->worker_ep, w);
}

typedef struct gx_worker_arg {
    gx_engine_t *engine;
    uint32_t     index;
    gx_failure_t failure;            // read by the engine after join
} gx_worker_arg_t;

// Records a failure in *slot (the first only) and shuts the run down: every
// thread blocked in ZeroMQ wakes with ETERM and winds down.
void  gx_engine_fail(gx_engine_t *e, gx_failure_t *slot, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void  gx_engine_vfail(gx_engine_t *e, gx_failure_t *slot, const char *fmt,
                      va_list ap) __attribute__((format(printf, 3, 0)));
// The same, of a named kind (graphx/error.h), for the callers that decide.
void  gx_engine_vfailc(gx_engine_t *e, gx_failure_t *slot, gx_errc_t code,
                       const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

// The first failure's text ("" if none yet), for telling other processes.
void  gx_engine_first_error(gx_engine_t *e, char *out, size_t cap);

enum { GX_WHERE_LOAD = -1, GX_WHERE_BUILD = -2, GX_WHERE_RESULTS = -3 };

// This process's figures now (GX_PROC_*).
void  gx_engine_figures(gx_engine_t *e, uint64_t out[GX_PROC_N]);

void *gx_worker_main(void *arg);
int   gx_master_run(gx_engine_t *e, void *router, gx_result_t *res,
                    gx_failure_t *failure);

#endif
