// core/cluster.h: distributed mode, private to core/. cluster.c registers
// worker processes with the master (versions, the shared secret) and hands
// each the run's description; hub.c is the thread in every process that
// carries the engine's frames between the threads' inproc sockets and the
// process's TCP links, and watches every link's heartbeats.
// docs/design.md, "Distributed mode".
#ifndef GX_CORE_CLUSTER_H
#define GX_CORE_CLUSTER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/engine.h"
#include "core/interrupt.h"
#include "core/net.h"

#define GX_HOST_MAX 256

// A process of the run, as the master tells every process: procs[0] is
// the master, procs[1..] the workers in the order they registered.
typedef struct gx_proc {
    char     host[GX_HOST_MAX];     // as advertised
    uint16_t port;                  // its ROUTER (the master's: --master)
    uint32_t first, n;              // its worker threads [first, first + n)
    uint8_t  id[32];                // master only: the routing id of the
    size_t   id_len;                // worker's link, as its ROUTER sees it
} gx_proc_t;

// A process's place in a run: its sockets on the network and the table.
typedef struct gx_link {
    void      *netctx;              // CZMQ's context (the network's)
    gx_zap_t  *zap;                 // --curve: the ZAP handler, or NULL
    gx_watch_t watch;               // a worker's DEALER to the master
    gx_door_t *door;                // the master's ROUTER
    void      *in;                  // ROUTER: what comes to this process
    void      *up;                  // worker: DEALER to the master
    void     **out;                 // worker: [n_procs] DEALER to each peer
    gx_watch_t *watch_out;          // worker: [n_procs] their connections
    gx_seal_t *seal;                // [n_seal] each link's seal: the
    uint32_t   n_seal;              // master's with each worker, a
                                    // worker's with the master ([0]) and,
                                    // once it has the run, each peer
    const void *secret;             // for the peers' keys (not owned)
    size_t     secret_len;
    uint64_t   run_id;
    uint32_t   self;                // 0: the master
    uint32_t   n_procs;
    gx_proc_t *procs;
    gx_curve_t curve;
    // An input one reader reads (standard input, a .gz file), read by the
    // master and written into a pipe the worker of thread 0 reads it from.
    bool       stream;              // master: read stream_fd and send it
    int        stream_fd;           // on; worker of thread 0: write it
    int        stream_pipe;         // into stream_pipe (the write end)
    const char *stream_name;        // its path as given, for messages
    bool       told;                // the others heard how the run ended
    char       master[300];         // the master's endpoint, for messages
    char       bound[300];          // where `in` listens
} gx_link_t;

void gx_link_close(gx_link_t *l);

// The process holding worker thread d.
static inline uint32_t
gx_link_proc_of(const gx_link_t *l, uint32_t d)
{
    uint32_t lo = 1, hi = l->n_procs;      // procs[1..] by ascending first
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (l->procs[mid].first <= d)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

// "worker process 2 (host:port, threads 4-7)"
void gx_link_name(const gx_link_t *l, uint32_t p, char *out, size_t cap);

// The hub of one process: started once the engine's inproc endpoints
// exist (the master's ROUTER in the master; nothing yet in a worker), and
// told by gx_hub_finish that this process's side of the run is over.
typedef struct gx_hub gx_hub_t;

int  gx_hub_start(gx_engine_t *e, gx_link_t *link, gx_hub_t **out,
                  gx_error_t *err);
// ok: this process's threads all finished their part. Waits for the hub
// (in a worker: until the master says the run is over).
void gx_hub_finish(gx_hub_t *h, bool ok);
const gx_failure_t *gx_hub_failure(const gx_hub_t *h);
void gx_hub_destroy(gx_hub_t **h);

// The master, when the run fails before its hub could say so: ABORT to
// every worker the run was sent to (best effort; they would notice the
// silence anyway).
void gx_cluster_abort(gx_link_t *l, const char *why);

// The input the master reads and streams to the worker of thread 0, or
// NULL: standard input (as -i or --vertices), or a .gz file given as -i
// (one reader either way). Any other input is read by the workers from
// its path.
const char *gx_cluster_stream(const gx_job_t *job);

// The master's side of registration: binds, waits for the workers,
// sends each the run. Then the engine runs with `l`.
int  gx_cluster_master(const gx_job_t *job, gx_link_t *l, gx_error_t *err);

// A worker's side once it has the run (core/engine.c).
struct gx_desc;
int  gx_cluster_worker_run(gx_link_t *l, const struct gx_desc *d,
                           const gx_resolved_t *r, const gx_worker_opts_t *o,
                           gx_error_t *err);

#endif
