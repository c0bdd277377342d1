// core/link.h: a process's place in a distributed run, its "link": the
// network's context, the process's sockets (its ROUTER, a worker's DEALERs
// to the master and to each peer), the process table every process gets,
// and each link's seal (core/net.h). Both sides build theirs here: the
// master in core/cluster_master.c, a worker in core/cluster_worker.c; the
// hub (core/hub.c) carries the run over it. docs/design.md, "Distributed
// mode" and "Trust".
#ifndef GX_CORE_LINK_H
#define GX_CORE_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include "core/interrupt.h"
#include "core/frames.h"
#include "core/net.h"

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

// "the master at tcp://...", "worker process 2 (host:port, worker threads
// 4-7)"
void gx_link_name(const gx_link_t *l, uint32_t p, char *out, size_t cap);

// The network's context (CZMQ's, without its signal handlers) and, with
// --curve, the key pairs the secret derives and the ZAP handler that
// allows exactly its client key. `secret` is kept (not copied) for the
// peers' keys.
int  gx_link_net_init(gx_link_t *l, const void *secret, size_t len,
                      bool curve, gx_error_t *err);
// Binds the ROUTER where this process listens; `bound` gets the endpoint
// as bound (port 0 resolved).
int  gx_link_listen(gx_link_t *l, const char *ep, char *bound, size_t cap,
                    gx_error_t *err);
// Closes every socket, stops the watches and the ZAP handler, forgets
// the keys.
void gx_link_close(gx_link_t *l);

uint16_t gx_link_port_of(const char *endpoint);
// Whether a heartbeat is due (and the next one's time, if so).
bool gx_link_beat_due(double *next);

#endif
