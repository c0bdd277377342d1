// core/mem.h: every allocation of the engine. Three facts shape it:
// - The big arrays (edge chunks, CSR, per-vertex arrays) are asked for huge
//   pages: a graph's arrays are touched at random, and with 4 KiB pages both
//   the first-touch faults and the TLB misses of the per-edge loops cost
//   more than the loops' work.
// - libzmq aborts the process when one of its own allocations fails. So the
//   engine keeps a reserve of address space while it runs and gives it back
//   the moment one of its allocations fails: the failure is then reported
//   and the run wound down while ZeroMQ still has room to close its sockets.
// - Out of core (issue 20) needs to know what the engine holds. One
//   accountant per process counts what the allocator really hands out:
//   malloc_usable_size of a block just after it is made and just before it
//   is freed, so no size is stored or passed and a block's two counts
//   cancel exactly. Hence the rule: a block made by a gx_* call here is
//   freed by gx_free, and gx_free frees nothing else (a libc free() of
//   ours, or a gx_free of libzmq's, would leave the count wrong for good).
// Each allocation is also a fault-injection point (core/fault.h).
#ifndef GX_CORE_MEM_H
#define GX_CORE_MEM_H

#include <malloc.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "core/fault.h"

// ---- The accountant ---------------------------------------------------------
//
// Bytes in use by the engine's blocks in this process, their peak, and the
// budget (0: none; set by whoever decides it, e.g. --memory: not yet). The
// counters are relaxed atomics: every worker thread allocates, a count is
// not a lock, and only the totals matter. used and peak share a cache line
// (the add that moves one reads the other); the budget, read by the spill
// code and written once, has its own.
typedef struct gx_acct {
    _Alignas(64) _Atomic uint64_t used;
    _Atomic uint64_t              peak;
    _Alignas(64) _Atomic uint64_t budget;
} gx_acct_t;

extern gx_acct_t gx_acct_state;      // the process's: read through the calls

// Raises the peak to `now` if it is higher (a CAS loop; rare).
void gx_acct_raise_peak(uint64_t now);

// Counts `bytes` more in use. One relaxed add, and a relaxed load of the
// peak (same cache line) that is only followed by a store at a new high.
static inline void
gx_acct_add(size_t bytes)
{
    uint64_t now = atomic_fetch_add_explicit(&gx_acct_state.used, bytes,
                                             memory_order_relaxed) + bytes;
    if (now > atomic_load_explicit(&gx_acct_state.peak, memory_order_relaxed))
        gx_acct_raise_peak(now);
}

// Counts `bytes` fewer in use: the bytes an earlier gx_acct_add counted.
static inline void
gx_acct_sub(size_t bytes)
{
    atomic_fetch_sub_explicit(&gx_acct_state.used, bytes, memory_order_relaxed);
}

// A block that was `before` usable bytes is now `after` (a realloc): one
// add of the difference.
static inline void
gx_acct_move(size_t before, size_t after)
{
    if (after >= before)
        gx_acct_add(after - before);
    else
        gx_acct_sub(before - after);
}

uint64_t gx_acct_used(void);
uint64_t gx_acct_peak(void);
// The peak from now on starts at what is in use now.
void     gx_acct_reset_peak(void);
// The process's budget in bytes; 0: none.
void     gx_acct_set_budget(uint64_t bytes);
uint64_t gx_acct_budget(void);
// Whether holding `more` bytes more would take the process past half its
// budget: the rule by which out of core writes what it can to the spill
// (the other half is kept for building a partition, scattering one, and
// what stays resident; docs/design.md, "Out of core"). False without a
// budget.
static inline bool
gx_acct_tight(uint64_t more)
{
    uint64_t budget = gx_acct_budget();
    return budget && gx_acct_used() + more > budget / 2;
}
// Bytes left under the budget (0 when at or over it); UINT64_MAX without
// a budget.
uint64_t gx_acct_room(void);

// The size of one of the engine's fixed buffers (the reader's window, a
// read block, a set of batches, an edge chunk) for a process of `threads`
// worker threads: `dflt` without a budget or when a budget is large;
// under a small one each such buffer takes at most 1/GX_ACCT_FIXED_SHARE
// of a thread's share of it, budget / threads, and never less than
// `floor` (a buffer below it costs more in calls than it saves). So
// dflt when budget >= GX_ACCT_FIXED_SHARE * threads * dflt (4 MiB by 2
// threads: from a 512 MiB budget up), min(dflt, max(floor, budget /
// (GX_ACCT_FIXED_SHARE * threads))) below that. A thread has about four
// such buffers, so together they stay near 1/16 of its share, and the
// rest is the graph's. Read when the buffer is sized (a worker's at its
// start), not per use.
#define GX_ACCT_FIXED_SHARE 64u
size_t   gx_acct_scaled(size_t dflt, size_t floor, uint32_t threads);

// ---- Allocation ------------------------------------------------------------

// Called when an allocation failed: releases the reserve.
void gx_mem_failed(void);
// Takes the reserve if it is not held (at the start of a run); returns -1
// if even that cannot be had.
int  gx_mem_reserve(void);

// A block of the engine's, counted; freed with gx_free.
static inline void *
gx_malloc(size_t bytes)
{
    void *p = gx_fault_hit(GX_FAULT_ALLOC) ? NULL : malloc(bytes ? bytes : 1);
    if (!p) {
        gx_mem_failed();
        return NULL;
    }
    gx_acct_add(malloc_usable_size(p));
    return p;
}

static inline void *
gx_calloc(size_t n, size_t size)
{
    void *p = gx_fault_hit(GX_FAULT_ALLOC) ? NULL
              : calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        gx_mem_failed();
        return NULL;
    }
    gx_acct_add(malloc_usable_size(p));
    return p;
}

// As realloc (`old` NULL or a block of the engine's): on failure the old
// block is left alone. The count moves by the usable sizes before and
// after, so it stays exact whether the block grew in place or moved.
static inline void *
gx_realloc(void *old, size_t bytes)
{
    size_t before = old ? malloc_usable_size(old) : 0;
    void *p = gx_fault_hit(GX_FAULT_ALLOC) ? NULL
              : realloc(old, bytes ? bytes : 1);
    if (!p) {
        gx_mem_failed();
        return NULL;
    }
    gx_acct_move(before, malloc_usable_size(p));
    return p;
}

// Gives back the tail of a block of the engine's past `bytes` (> 0), if
// the allocator will: the block to use from now on, `p` itself when it
// would not. Not a fault point and not a failure: a block that keeps its
// slack is still a good block.
static inline void *
gx_shrink(void *p, size_t bytes)
{
    size_t before = malloc_usable_size(p);
    void *q = realloc(p, bytes);
    if (!q)
        return p;
    gx_acct_move(before, malloc_usable_size(q));
    return q;
}

// Frees a block that a gx_* call made (NULL: nothing), and nothing else.
static inline void
gx_free(void *p)
{
    if (!p)
        return;
    gx_acct_sub(malloc_usable_size(p));
    free(p);
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

// Big blocks aligned for huge pages; small ones are gx_malloc's. Freed
// with gx_free.
void *gx_big_alloc(size_t bytes);
// The same, zeroed.
void *gx_big_calloc(size_t n, size_t size);

// The process's allocator and threads, set once before any thread that
// should get them starts (gx_engine_init and the link call it): one
// malloc arena, and GX_LIB_STACK stacks for threads started without a
// size (libzmq's, CZMQ's). docs/design.md, "Address space".
#define GX_LIB_STACK ((size_t)1 << 20)
void   gx_process_tune(void);
// Once paging begins (the spill's first block): blocks from 1 MiB up are
// mapped and unmapped, not kept in the heap, so that what the accountant
// stops counting leaves the resident set too. glibc's own threshold
// slides up to the largest block freed (to 32 MiB).
void   gx_mem_map_big(void);
// The default stack size threads get after gx_process_tune (what it was
// if it could not be lowered).
size_t gx_process_lib_stack(void);

#endif
