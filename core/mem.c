// core/mem.c: big blocks aligned to 2 MiB and marked MADV_HUGEPAGE, so
// that where transparent huge pages are in "madvise" mode (Debian's
// default) the kernel backs them with huge pages. Alignment keeps the whole
// block eligible; glibc serves such sizes with mmap, so free() returns them.
// And the reserve that keeps libzmq's allocations alive after ours fail.
#include "core/mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE  ((size_t)2 << 20)
#define BIG_ENOUGH ((size_t)4 << 20)
// What closing every socket of a run may need from libzmq: a few pipe
// chunks and command buffers per socket. Served by mmap, so freeing it
// gives the address space back at once (it matters under ulimit -v).
#define RESERVE    ((size_t)16 << 20)

static _Atomic(void *) reserve;

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
