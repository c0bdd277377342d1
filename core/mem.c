// core/mem.c: big blocks aligned to 2 MiB and marked MADV_HUGEPAGE, so
// that where transparent huge pages are in "madvise" mode (Debian's
// default) the kernel backs them with huge pages. Alignment keeps the whole
// block eligible; glibc serves such sizes with mmap, so free() returns them.
#include "core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE  ((size_t)2 << 20)
#define BIG_ENOUGH ((size_t)4 << 20)

void *
gx_big_alloc(size_t bytes)
{
    if (bytes < BIG_ENOUGH)
        return malloc(bytes ? bytes : 1);
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, bytes) != 0)
        return NULL;
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
