// core/paging.h: out of core, the partitions' side. After build, a worker
// over its budget pages its partitions' edge arrays (the CSR neighbours
// both ways, and their weights: the bytes that grow with edges) out to
// the process's spill, largest first, and each superstep pages one in
// for its scatter and out again. Arrays are read-only once built, so each
// is written once; the out-CSR a scatter builds later is written when it
// is first paged out. What a replica's messages and flags need (offsets,
// owners, routes, messages) stays resident: replica_receive, which SYNC
// frames call at any time, touches no paged array. docs/design.md, "Out
// of core".
#ifndef GX_CORE_PAGING_H
#define GX_CORE_PAGING_H

#include <stdint.h>
#include "core/wstate.h"

// The bytes of pt's pageable arrays (in memory or in the spill).
uint64_t gx_part_page_bytes(const part_t *pt);
// Writes what of pt's arrays the spill does not hold yet, frees them all,
// and marks pt paged. -1: the worker has failed (its alarm says why).
int      gx_part_page_out(worker_t *w, part_t *pt);
// Reads a paged partition's arrays back (nothing if it is not paged).
int      gx_part_page_in(worker_t *w, part_t *pt);
// After build: while the process uses more than its budget less the room
// to page in one partition per worker thread, pages out this worker's
// partitions, largest first. Nothing without a budget.
int      gx_paging_plan(worker_t *w);

#endif
