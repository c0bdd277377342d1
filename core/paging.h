// core/paging.h: out of core, the partitions' side. While loading, a
// worker past half its budget writes its partitions' full edge chunks out
// and reads each partition's back just before building it. Once built and
// registered, a partition past half the budget goes out whole; after
// build, a worker still over its budget pages out its partitions, largest
// first. A paged partition is in memory for its scatter only: everything
// a built partition holds (edges, offsets, owners, routes, its replicas'
// messages and flags) leaves, and what reaches it while away (ROUTE rows,
// its replicas' syncs) is logged in the spill and replayed when it comes
// back. docs/design.md, "Out of core".
#ifndef GX_CORE_PAGING_H
#define GX_CORE_PAGING_H

#include <stdint.h>
#include "core/wstate.h"

// Writes what of pt's arrays the spill needs, frees them all, and marks pt
// paged and away (nothing for an empty or away partition). -1: the worker
// has failed (its alarm says why).
int      gx_part_page_out(worker_t *w, part_t *pt);
// Reads an away partition's arrays back and replays its logs (nothing if
// it is in memory).
int      gx_part_page_in(worker_t *w, part_t *pt);
// After build: while the process uses more than its budget less the room
// to page in one partition per worker thread, pages out this worker's
// partitions, largest first. Nothing without a budget.
int      gx_paging_plan(worker_t *w);

// Writes this worker's partitions' edge chunks out to the spill, all but
// each one's chunk being filled (all of them with `all`), oldest first.
int      gx_chunks_page_out(worker_t *w, bool all);

// Builds pt (core/partstore.c), its spilled chunks read back first.
int      gx_paging_build(worker_t *w, part_t *pt);

// Registrations: past half the budget, those in memory go to the spill
// as a block (once there are enough to make one).
int      gx_reg_page_out(worker_t *w);
// The replica lists from every registration, spilled or not, the masters
// renumbered by rank (gx_mtable_sort); the spilled blocks go.
int      gx_reg_lay_out(worker_t *w, const uint32_t *rank);

// Logs a route (a ROUTE row) or a sync (a master's message for replica l)
// that reached pt while it is away. -1: the worker has failed.
int      gx_part_log_route(worker_t *w, part_t *pt, uint32_t l,
                           uint32_t master);
int      gx_part_log_sync(worker_t *w, part_t *pt, uint32_t l,
                          const void *msg);

// A master's message reaches replica l of pt: at once if pt is in
// memory, else through its log.
static inline int
gx_replica_sync(worker_t *w, part_t *pt, uint32_t l, const void *msg)
{
    if (pt->away)
        return gx_part_log_sync(w, pt, l, msg);
    replica_receive(w, pt, l, msg);
    return 0;
}

#endif
