// core/mem.c: big blocks aligned to 2 MiB and marked MADV_HUGEPAGE, so
// that where transparent huge pages are in "madvise" mode (Debian's
// default) the kernel backs them with huge pages. Alignment keeps the whole
// block eligible; glibc serves such sizes with mmap, so gx_free gives them
// back. Only blocks of 32 MiB and more: the alignment costs up to 2 MiB of
// slack, which the accountant counts (malloc_usable_size).
// And the reserve that keeps libzmq's allocations alive after ours fail,
// and the accountant's counters (core/mem.h).
#define _GNU_SOURCE                  // pthread_{get,set}attr_default_np
#include "core/mem.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE  ((size_t)2 << 20)
#define BIG_ENOUGH ((size_t)32 << 20)
// Blocks from this size up come from mmap and go back to the kernel when
// freed. glibc's own threshold slides up to the largest block freed (to
// 32 MiB): the arrays of a paged partition, freed after its scatter, would
// stay in the heap, resident but no longer counted.
#define MMAP_AT    ((int)1 << 20)
// What closing every socket of a run may need from libzmq: a few pipe
// chunks and command buffers per socket. Served by mmap, so freeing it
// gives the address space back at once (it matters under ulimit -v).
#define RESERVE    ((size_t)16 << 20)

// Not counted by the accountant: it is address space held for libzmq,
// taken at the first run and kept from one run to the next.
static _Atomic(void *) reserve;

gx_acct_t gx_acct_state;

void
gx_acct_raise_peak(uint64_t now)
{
    uint64_t peak = atomic_load_explicit(&gx_acct_state.peak,
                                         memory_order_relaxed);
    while (now > peak
           && !atomic_compare_exchange_weak_explicit(&gx_acct_state.peak, &peak,
                                                     now, memory_order_relaxed,
                                                     memory_order_relaxed))
        ;
}

uint64_t
gx_acct_used(void)
{
    return atomic_load_explicit(&gx_acct_state.used, memory_order_relaxed);
}

uint64_t
gx_acct_peak(void)
{
    return atomic_load_explicit(&gx_acct_state.peak, memory_order_relaxed);
}

void
gx_acct_reset_peak(void)
{
    atomic_store_explicit(&gx_acct_state.peak, gx_acct_used(),
                          memory_order_relaxed);
}

void
gx_acct_set_budget(uint64_t bytes)
{
    atomic_store_explicit(&gx_acct_state.budget, bytes, memory_order_relaxed);
}

uint64_t
gx_acct_budget(void)
{
    return atomic_load_explicit(&gx_acct_state.budget, memory_order_relaxed);
}

uint64_t
gx_acct_room(void)
{
    uint64_t budget = gx_acct_budget(), used = gx_acct_used();
    if (budget == 0)
        return UINT64_MAX;
    return used >= budget ? 0 : budget - used;
}

size_t
gx_acct_scaled(size_t dflt, size_t floor, uint32_t threads)
{
    uint64_t budget = gx_acct_budget();
    uint64_t share = budget / GX_ACCT_FIXED_SHARE / (threads ? threads : 1);
    if (budget == 0 || share >= dflt)
        return dflt;
    if (floor > dflt)
        return dflt;
    return share > floor ? (size_t)share : floor;
}

void
gx_mem_failed(void)
{
    free(atomic_exchange(&reserve, NULL));
}

int
gx_mem_reserve(void)
{
    if (atomic_load(&reserve))
        return 0;
    void *p = malloc(RESERVE);
    if (!p)
        return -1;
    void *none = NULL;
    if (!atomic_compare_exchange_strong(&reserve, &none, p))
        free(p);                     // another run took it first
    return 0;
}

int
gx_grow_cols(gx_col_t *cols, size_t n, uint64_t *cap, uint64_t need,
             uint64_t first, uint64_t max)
{
    if (need <= *cap)
        return 0;
    size_t widest = 0;
    for (size_t i = 0; i < n; i++)
        if (cols[i].width > widest)
            widest = cols[i].width;
    uint64_t rows = gx_grow_cap(*cap, need, first, max, widest);
    if (!rows)
        return -1;
    for (size_t i = 0; i < n; i++) {
        // rows * widest fits a size_t (gx_grow_cap), so each column's does.
        void *q = gx_realloc(cols[i].p, (size_t)rows * cols[i].width);
        if (!q)
            return -1;               // this column and the rest as they were
        cols[i].p = q;
    }
    *cap = rows;
    return 0;
}

void *
gx_big_alloc(size_t bytes)
{
    if (bytes < BIG_ENOUGH)
        return gx_malloc(bytes);
    void *p = NULL;
    if (gx_fault_hit(GX_FAULT_ALLOC) || posix_memalign(&p, HUGE_PAGE, bytes) != 0) {
        gx_mem_failed();
        return NULL;
    }
    // The allocator's own size of an aligned block too, so gx_free's
    // count of it cancels this one.
    gx_acct_add(malloc_usable_size(p));
#ifdef MADV_HUGEPAGE
    // Advice only: without THP the block is simply made of small pages.
    madvise(p, bytes & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
#endif
    return p;
}

void *
gx_big_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = gx_big_alloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

// ---- The process ------------------------------------------------------------

static size_t lib_stack = (size_t)8 << 20;

// Once per process, before any thread of ours starts: glibc would give
// each thread that contends for malloc an arena of its own, each reserving
// 64 MiB (up to 8 per core: 1 GiB on 2 cores, measured), and threads
// started without a size take RLIMIT_STACK (8 MiB). One arena measured no
// slower (RMAT-18, 2 and 8 workers).
static void
tune_process(void)
{
    mallopt(M_ARENA_MAX, 1);
    pthread_attr_t a;
    size_t cur = 0;
    if (pthread_getattr_default_np(&a) != 0)
        return;
    if (pthread_attr_getstacksize(&a, &cur) == 0 && cur > GX_LIB_STACK
        && pthread_attr_setstacksize(&a, GX_LIB_STACK) == 0
        && pthread_setattr_default_np(&a) == 0)
        cur = GX_LIB_STACK;
    pthread_attr_destroy(&a);
    if (cur)
        lib_stack = cur;
}

void
gx_process_tune(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, tune_process);
}

// Not from the start: in memory, blocks reused from the heap save the
// page faults of fresh mappings (PageRank on RMAT-20 computed about 10%
// slower with the threshold fixed from the start).
void
gx_mem_map_big(void)
{
    mallopt(M_MMAP_THRESHOLD, MMAP_AT);
}

size_t
gx_process_lib_stack(void)
{
    return lib_stack;
}
