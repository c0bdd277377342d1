// core/paging.h: out of core, the partitions' side. While loading, a
// worker past half its budget writes its partitions' full edge chunks out
// and reads each partition's back just before building it. After build,
// a worker over its budget pages its partitions' edge arrays (the CSR neighbours
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

// Writes what of pt's arrays the spill does not hold yet, frees them all,
// and marks pt paged. -1: the worker has failed (its alarm says why).
int      gx_part_page_out(worker_t *w, part_t *pt);
// Reads a paged partition's arrays back (nothing if it is not paged).
int      gx_part_page_in(worker_t *w, part_t *pt);
// After build: while the process uses more than its budget less the room
// to page in one partition per worker thread, pages out this worker's
// partitions, largest first. Nothing without a budget.
int      gx_paging_plan(worker_t *w);

// Loading: whether holding `more` bytes more would take the process past
// half its budget (the rest is for building and what stays resident).
bool     gx_paging_tight(uint64_t more);
// Writes this worker's partitions' edge chunks out to the spill, all but
// each one's chunk being filled (all of them with `all`), oldest first.
int      gx_chunks_page_out(worker_t *w, bool all);

// Builds pt (core/partstore.c), its spilled chunks read back first; past
// half the budget, pages its edge arrays out at once.
int      gx_paging_build(worker_t *w, part_t *pt);

#endif
