// include/graphx/graphx.h: the embedding API. One call runs a vertex program
// over an edge list with a master and N workers (threads over inproc://
// ZeroMQ in local mode) and returns every vertex's value, sorted by id.
#ifndef GRAPHX_GRAPHX_H
#define GRAPHX_GRAPHX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "graphx/error.h"
#include "graphx/program.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GRAPHX_VERSION "0.1.0"

// Vertex-cut strategies, as GraphX's PartitionStrategy.
typedef enum gx_strategy {
    GX_STRATEGY_2D = 0,        // EdgePartition2D: <= 2*ceil(sqrt(P)) replicas
    GX_STRATEGY_1D,            // EdgePartition1D: by source
    GX_STRATEGY_RANDOM,        // RandomVertexCut: by (src, dst)
    GX_STRATEGY_CANONICAL,     // CanonicalRandomVertexCut: by {src, dst}
} gx_strategy_t;

typedef enum gx_stage {
    GX_STAGE_LOAD = 0,
    GX_STAGE_PARTITION,
    GX_STAGE_COMPUTE,
    GX_STAGE_OUTPUT,
} gx_stage_t;

typedef struct gx_progress {
    gx_stage_t stage;
    uint64_t   bytes;          // LOAD: input bytes read so far
    uint64_t   total_bytes;    // LOAD: input size, 0 if unknown (stdin, .gz)
    uint64_t   edges;          // LOAD: edges read so far
    uint64_t   superstep;      // COMPUTE
    uint64_t   active;         // COMPUTE: active vertices after the step
    uint64_t   messages;       // COMPUTE: messages sent in the step
    double     seconds;        // since the stage began
} gx_progress_t;

// Called from the master thread; must be quick.
typedef void (gx_progress_fn)(const gx_progress_t *p, void *arg);

// Distributed mode, at the master (see gx_job_t.cluster): worker
// processes (graphx-worker, or gx_worker_serve) register on `bind`, and the
// run starts once `workers` of them have. Only paths travel: every worker
// reads the input (and, for a plugin, gets its bytes) by what is named here.
// The shortest shared secret distributed mode takes: a shorter one could
// be guessed offline from one recorded registration.
#define GX_SECRET_MIN 16

typedef struct gx_cluster {
    const char        *bind;          // tcp://ADDR:PORT (PORT may be 0)
    unsigned           workers;       // worker processes to wait for
    double             wait_timeout;  // seconds to wait for them; 0: 60
    const void        *secret;        // the shared secret: never sent
    size_t             secret_len;    // (>= GX_SECRET_MIN)
    bool               curve;         // CURVE on every connection
    const char        *plugin;        // the program's .so, shipped to every
                                      // worker; NULL: a built-in, by name
    const gx_param_t  *params;        // for every worker's setup()
    size_t             n_params;
    // Called once bound, with the endpoint workers should connect to
    // (PORT 0 resolved): for starting workers on this host.
    int              (*bound)(const char *endpoint, void *arg, gx_error_t *err);
    void              *bound_arg;
    // Called for each worker refused at registration (not a run error).
    void             (*refused)(const char *why, void *arg);
} gx_cluster_t;

// Takes each vertex's value as the master merges them, in ascending id
// order. Non-zero (with err set) fails the run.
typedef int (gx_sink_fn)(uint64_t id, const void *value, void *arg,
                         gx_error_t *err);

typedef struct gx_job {
    const char          *input;          // file, directory, .gz or "-"
    const char          *vertices;       // optional: a vertex id per line
    const gx_program_t  *program;
    void                *program_state;  // from program->setup
    unsigned             workers;        // >= 1
    unsigned             partitions;     // >= 1; 0 means = workers
    gx_strategy_t        strategy;
    bool                 undirected;     // each edge read as two
    uint64_t             max_supersteps; // 0: no cap
    // Optional: a directory (it must exist) where each worker writes its
    // own vertices' values, "id<TAB>value" lines sorted by id, to
    // part-NNNNN (NNNNN: the worker's index), as Spark and Hadoop do. The
    // master then gathers no values (result ids and values stay NULL).
    // Each part is written as .part-NNNNN.tmp and renamed only once every
    // worker has written all of its own; a failed run leaves no .tmp.
    const char          *output_parts;
    gx_progress_fn      *progress;
    void                *progress_arg;
    // Optional: every value goes here, in id order, as the master merges
    // the workers' sorted streams, and the master holds no array of them
    // (result ids and values stay NULL). Without it, the values come back
    // in the result.
    gx_sink_fn          *sink;
    void                *sink_arg;
    // NULL: local mode (`workers` threads in this process). Otherwise the
    // master of a distributed run; `workers` is then ignored.
    const gx_cluster_t  *cluster;
    // The memory budget of this process in bytes; 0: 90% of the smaller of
    // physical memory and the cgroup limit. A worker over it pages its
    // partitions' edges out to spill_dir (NULL: $TMPDIR, else /tmp).
    uint64_t             memory;
    const char          *spill_dir;
} gx_job_t;

typedef struct gx_step_stats {
    double   seconds;
    uint64_t active;           // vertices active after apply
    uint64_t messages;         // combined messages sent between replicas
    uint64_t bytes;            // bytes sent over ZeroMQ in the step
    uint64_t read_back_bytes;  // read back from the spill stores, over
                               // every worker process
} gx_step_stats_t;

// One process that ran worker threads: local mode's one, or each
// graphx-worker of a distributed run, with the figures it reported.
typedef struct gx_proc_stats {
    unsigned  first_worker;    // its worker threads: [first, first + n)
    unsigned  workers;
    uint64_t  budget;          // its memory budget, bytes
    uint64_t  peak_rss;        // its peak resident set, bytes
    uint64_t  spilled_bytes;   // written to its spill store
    uint64_t  read_back_bytes; // read back from it, build included
    double    spill_seconds;   // in its spill store, over its threads
    uint64_t *read_back_steps; // [supersteps]: read back in each
} gx_proc_stats_t;

typedef struct gx_result {
    uint64_t         n_vertices;
    uint64_t         n_edges;        // as stored (doubled by undirected)
    uint64_t         replicas;       // sum over vertices of their partitions
    unsigned         workers;
    unsigned         partitions;
    bool             partitions_picked;  // from the budget (no --partitions)
    uint64_t         input_bytes;
    double           load_seconds;       // reading and routing every input
    double           partition_seconds;  // CSR, replicas, masters
    double           compute_seconds;    // superstep 0 (init) to the last
                                         // barrier; gathering values excluded
    uint64_t         direct_messages; // sent with gx_send_to
    uint64_t         dropped;        // of those, to ids that are no vertex
    uint64_t         supersteps;     // supersteps after init
    gx_step_stats_t *steps;          // [supersteps]
    uint64_t        *ids;            // [n_vertices], ascending
    void            *values;         // [n_vertices * program->value_size]
    // Out of core, this process's figures (local mode: the whole run).
    uint64_t         budget;         // bytes
    uint64_t         peak_accounted; // the engine's largest use of memory
    uint64_t         paged_edges;    // edges whose arrays were paged out
    uint64_t         held_frames_spilled; // MSG/DIRECT frames a worker held
                                     // in the spill, not memory
    uint64_t         spilled_bytes;  // written to the spill store
    uint64_t         read_back_bytes;
    double           spill_seconds;  // in the spill store, over threads
    // Per process that ran worker threads, in thread order: one in local
    // mode, one per graphx-worker in distributed mode (their figures, not
    // the master's, which are the fields above).
    unsigned         n_procs;
    gx_proc_stats_t *procs;          // [n_procs]
} gx_result_t;

// What the engine requires of a program (sizes, callbacks, operations,
// ABI version and struct size): 0, or -1 with a line naming the field.
int  gx_program_check(const gx_program_t *program, gx_error_t *err);

int  gx_run(const gx_job_t *job, gx_result_t *result, gx_error_t *err);
void gx_result_free(gx_result_t *result);

// ---- A worker process (graphx-worker) ----------------------------------------

// The run a master described, as a worker receives it. The worker turns
// it into a program (a built-in by name, or the plugin whose bytes came
// with it, their hash already checked) and that program's state, from its
// own setup(): nothing of the master's memory is used.
typedef struct gx_run_desc {
    const char       *program;        // its name
    const void       *plugin;         // the .so's bytes, or NULL (built-in)
    size_t            plugin_len;
    const gx_param_t *params;
    size_t            n_params;
} gx_run_desc_t;

typedef struct gx_resolved {
    const gx_program_t *program;
    void               *state;        // from setup()
    void               *handle;       // the resolver's own (e.g. a plugin)
} gx_resolved_t;

typedef struct gx_worker_opts {
    const char *master;               // tcp://HOST:PORT
    unsigned    threads;              // >= 1
    const char *advertise;            // the host peers reach this one by
    const char *bind;                 // the address to listen on for them
                                      // (NULL: advertise's, else every one)
    unsigned    port;                 // to listen on (0: any free port)
    const void *secret;
    size_t      secret_len;
    bool        curve;
    double      wait_timeout;         // seconds to reach the master; 0: 60
    int       (*resolve)(const gx_run_desc_t *d, gx_resolved_t *out,
                         gx_error_t *err);
    void      (*release)(gx_resolved_t *r);
    // Tests only: a protocol version to claim instead of this build's (0:
    // this build's), to see a master refuse another version.
    uint32_t    claim_protocol;
    // Optional: told what this worker is doing, for its log.
    void      (*note)(const char *what, void *arg);
    void       *note_arg;
    // This process's memory budget in bytes, as gx_job_t.memory is in
    // local mode (0: 90% of the smaller of physical memory and the cgroup
    // limit), and where what is over it spills (NULL: $TMPDIR, else /tmp).
    // The worker's own: the master's budget does not travel.
    uint64_t    memory;
    const char *spill_dir;
} gx_worker_opts_t;

// Registers with the master, runs the worker's share of one run, and
// returns once the master says the run is over (0), or with the error that
// ended it: a refusal, the master gone, a failure here or anywhere else.
int gx_worker_serve(const gx_worker_opts_t *opts, gx_error_t *err);

// Ends the distributed run this process is the master of as a failure
// ("stopped by SIGTERM"): the workers are told (ABORT) and exit. Safe to
// call from a signal handler; the run notices within 200 ms.
void gx_interrupt(int signo);

const char *gx_strategy_name(gx_strategy_t s);
int         gx_strategy_parse(const char *name, gx_strategy_t *out);

#ifdef __cplusplus
}
#endif
#endif
