// core/mem.h: every allocation of the engine. Two facts shape it:
// - The big arrays (edge chunks, CSR, per-vertex arrays) are asked for huge
//   pages: a graph's arrays are touched at random, and with 4 KiB pages both
//   the first-touch faults and the TLB misses of the per-edge loops cost
//   more than the loops' work.
// - libzmq aborts the process when one of its own allocations fails. So the
//   engine keeps a reserve of address space while it runs and gives it back
//   the moment one of its allocations fails: the failure is then reported
//   and the run wound down while ZeroMQ still has room to close its sockets.
// Each allocation is also a fault-injection point (core/fault.h).
#ifndef GX_CORE_MEM_H
#define GX_CORE_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "core/fault.h"

// Called when an allocation failed: releases the reserve.
void gx_mem_failed(void);
// Takes the reserve if it is not held (at the start of a run); returns -1
// if even that cannot be had.
int  gx_mem_reserve(void);

static inline void *
gx_malloc(size_t bytes)
{
    void *p = gx_fault_hit(GX_FAULT_ALLOC) ? NULL : malloc(bytes ? bytes : 1);
    if (!p)
        gx_mem_failed();
    return p;
}

static inline void *
gx_calloc(size_t n, size_t size)
{
    void *p = gx_fault_hit(GX_FAULT_ALLOC) ? NULL
              : calloc(n ? n : 1, size ? size : 1);
    if (!p)
        gx_mem_failed();
    return p;
}

// As realloc: on failure the old block is left alone.
static inline void *
gx_realloc(void *old, size_t bytes)
{
    void *p = gx_fault_hit(GX_FAULT_ALLOC) ? NULL
              : realloc(old, bytes ? bytes : 1);
    if (!p)
        gx_mem_failed();
    return p;
}

// The capacity an array that holds `cap` elements of `width` bytes grows
// to so that it holds `need`: double, at least `first`, at most `max`
// elements, in 64-bit counts with every product checked. 0 if `need`
// cannot be held (more than `max`, or more bytes than a size_t counts):
// the caller reports it as out of memory. The one rule for every growing
// array (a 32-bit capacity doubled past 2^31 wrapped to 0 once, and a
// 1-byte block took the writes meant for 4 GiB).
static inline uint64_t
gx_grow_cap(uint64_t cap, uint64_t need, uint64_t first, uint64_t max,
            size_t width)
{
    if (need > max || width == 0 || need > SIZE_MAX / width)
        return 0;
    uint64_t n = cap < first ? first : cap <= max / 2 ? cap * 2 : max;
    if (n < need)
        n = need;
    if (n > SIZE_MAX / width)
        n = need;                                // doubling would overflow
    return n;
}

// `p`, grown to at least `need` (>= 1) elements of `width` bytes (*cap:
// its capacity, in elements): the block to use from now on, or NULL (out
// of memory, or a size that cannot be held) with `p` and *cap as they
// were. A returned block, not a void ** to write it through: the caller's
// pointer keeps its type (no aliasing through void *).
static inline void *
gx_grow(void *p, uint64_t *cap, uint64_t need, uint64_t first, uint64_t max,
        size_t width)
{
    if (need <= *cap && p)
        return p;
    uint64_t n = gx_grow_cap(*cap, need, first, max, width);
    void *q = n ? gx_realloc(p, (size_t)n * width) : NULL;
    if (q)
        *cap = n;
    return q;
}

// A column of a table kept as parallel arrays (one array per field, all
// indexed by row): its block and the bytes of one row.
typedef struct gx_col {
    void   *p;                       // NULL until first grown
    size_t  width;
} gx_col_t;

// Grows n (>= 1) parallel columns together so that each holds at least
// `need` rows (*cap: the rows each holds now, shared), by gx_grow_cap's
// rule with the widest column's width, so no column's byte count can
// overflow. 0, or -1 (out of memory, or a size that cannot be held) with
// *cap as it was. All or nothing for the capacity: after a failure every
// column still holds at least *cap rows and its contents. Either way
// cols[i].p is column i's block from now on, and the caller stores every
// one back: a column grown before a later one failed may have moved
// (realloc). Columns one at a time, as realloc does them: no moment holds
// every old block and every new one.
int gx_grow_cols(gx_col_t *cols, size_t n, uint64_t *cap, uint64_t need,
                 uint64_t first, uint64_t max);

// Big blocks aligned for huge pages; small ones are plain malloc. Freed
// with free().
void *gx_big_alloc(size_t bytes);
// The same, zeroed.
void *gx_big_calloc(size_t n, size_t size);

#endif
