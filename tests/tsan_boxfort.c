// tests/tsan_boxfort.c: lets Criterion start under ThreadSanitizer. Linked
// into the test executables of a GX_TSAN build only (tests/CMakeLists.txt).
//
// Criterion's sandbox library, BoxFort (bundled in libcriterion.so.3 2.4.1),
// maps the arena it shares with each test process at
//     0x2000'0000'0000 + (rand_r(&seed) & 0x3fffff) * 16 MiB,
// skips an address that mincore() finds taken and gives up after 10. Under
// GCC 12's TSan on x86-64 all of 0x2000'0000'0000-0x5500'0000'0000 and
// 0x5680'0000'0000-0x6000'0000'0000 is TSan's shadow, metadata or guard
// mappings; only 0x5500'0000'0000-0x5680'0000'0000 (where the kernel puts
// PIE executables) is application memory. So 10 draws miss it 4 starts in
// 5 ("criterion: Could not initialize inheritable arena: Resource
// temporarily unavailable", Criterion issue #274), and a sandbox arena that
// misses it later crashes the runner.
//
// This rand_r, which the executable exports ahead of libc's and of TSan's
// interceptor, draws only offsets inside that window. BoxFort is its only
// caller: no other library a test loads (libzmq, CZMQ, msgpack, LMDB,
// nanomsg, zlib) imports rand_r, and neither do we (nm -D --undefined-only).
//
// Only the part below 0x5555'0000'0000: the kernel loads the executable at
// 0x5555'5555'4000 plus up to 2^40 bytes of randomisation, with its heap
// right after. Our guess at a rare SEGV in TSan's MemoryRangeSet at start
// (once in about twenty runs of the suites, from an mmap of Criterion's):
// an arena drawn over them that mincore() did not see as taken, which
// mmap then put wherever the kernel liked, outside TSan's application
// range. Below the executable nothing else is mapped.
#include <stdlib.h>

#define WINDOW_FIRST 0x350000u   // (0x5500'0000'0000 - 0x2000'0000'0000) >> 24
#define WINDOW_SLOTS 0x5500u     // up to 0x5555'0000'0000, below the executable

int
rand_r(unsigned *seed)
{
    // The C standard's example generator; any spread over the window will do.
    *seed = *seed * 1103515245u + 12345u;
    return (int)(WINDOW_FIRST + (*seed >> 8) % WINDOW_SLOTS);
}
