// core/part.h: a partition as its worker holds it: its edges as they
// arrive (chunks), then dense local ids, CSR both ways, and the state of
// its replicas in a superstep. core/partstore.c builds it; the superstep
// code (core/scatter.c, core/closure.c, core/worker.c) reads and writes it.
#ifndef GX_CORE_PART_H
#define GX_CORE_PART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "loaders/loader.h"

#define CHUNK_MIN    4096u           // first edge chunk of a partition
#define CHUNK_MAX    (1u << 20)      // edges per chunk at most (16 MiB),
                                     // fewer under a small memory budget

enum { F_ACTIVE = 1, F_TOUCHED = 2 };   // replica flags

typedef struct chunk {
    struct chunk *next;
    size_t        n, cap;
    double       *wt;                // [cap] weights, after e[] (or NULL)
    gx_edge_t     e[];
} chunk_t;

// Rows that reached an away partition, in arrival order: the oldest in
// the spill as blocks 0 .. blocks - 1, the rest in buf (core/paging.c).
typedef struct gx_plog {
    uint8_t  *buf;
    size_t    n, cap;                // bytes
    uint64_t  blocks;
} gx_plog_t;

typedef struct part {
    uint32_t  id;
    // Loading: edges as they arrive, in chunks (no doubling realloc, so the
    // slack is one chunk, not the whole array).
    chunk_t  *head, *tail;
    uint64_t  n_edges;
    // Built.
    uint32_t  n_local;
    uint64_t *gid;                   // local -> global id (ascending)
    uint32_t *owner;                 // local -> worker of the master
    uint32_t *route;                 // local -> master index at the owner
    uint64_t *out_off, *in_off;      // CSR offsets [n_local + 1]
    uint32_t *out_dst, *in_src;      // CSR neighbours [n_edges]
    double   *out_w, *in_w;          // their weights (GX_NEEDS_WEIGHTS only)
    // GX_LOCAL_CLOSURE: the partition's connected components (of its own
    // edges), their members, each one's message this step, and what each
    // replica's master has had at best so far.
    uint32_t *comp, n_comp;          // local -> component
    uint32_t *comp_off, *comp_mem;   // members by component (CSR)
    uint8_t  *cmsg, *cseen;          // [n_comp * msg_size], [n_comp]
    uint32_t *ctouch;                // [n_comp]
    uint8_t  *best;                  // [n_local * msg_size]
    uint32_t  n_with_out;            // locals with an out-edge here
    // Superstep state.
    uint8_t  *out_msg;               // [n_local * msg_size]: synced messages
    uint8_t  *acc;                   // [n_local * msg_size]: combined here
    uint8_t  *flags;
    uint32_t *act, n_act, n_act_out; // active locals (n_act_out: with out-edges)
    uint64_t  act_edges;             // their edges along the program's direction
    uint32_t *touch, n_touch;
    // Out of core (core/paging.c). A paged partition lives in the spill
    // between its scatters: `away` while its arrays are out, `had` says
    // which it had then, `stored` which the spill holds. What reaches an
    // away partition (its routes, its replicas' syncs) is logged and
    // replayed when it comes back. `routed`: its routes are all in.
    bool      paged, away, routed;
    uint32_t  had, stored;
    gx_plog_t rlog, slog;            // ROUTE rows, SYNC rows
    uint64_t  spilled_chunks;        // loading: chunks in the spill
} part_t;

#endif
