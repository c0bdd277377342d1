// core/fault.h: fault injection for tests, as SQLite tests its allocation
// failures. Every allocation, thread creation, socket creation, send and
// spill of the engine passes a counted point; a test arms one kind with N
// and the Nth point of that kind fails as the real call would (NULL,
// EAGAIN, EIO...).
// Disarmed, a point costs one relaxed atomic load. Nothing outside the
// process can arm it: there is no environment variable in the library.
#ifndef GX_CORE_FAULT_H
#define GX_CORE_FAULT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum gx_fault_kind {
    GX_FAULT_ALLOC = 0,      // malloc, calloc, realloc of the engine
    GX_FAULT_THREAD,         // pthread_create of a worker
    GX_FAULT_SOCKET,         // a ZeroMQ socket
    GX_FAULT_SEND,           // a frame handed to ZeroMQ
    GX_FAULT_SPILL_WRITE,    // a spill store's creation or write
    GX_FAULT_SPILL_READ,     // a block read back from the spill store
    GX_FAULT_SPILL_GROW,     // a growth of the spill store's map
    GX_FAULT_KINDS
} gx_fault_kind_t;

extern atomic_bool gx_fault_armed;

bool gx_fault_hit_slow(gx_fault_kind_t kind);

// True when this point must fail.
static inline bool
gx_fault_hit(gx_fault_kind_t kind)
{
    if (!atomic_load_explicit(&gx_fault_armed, memory_order_relaxed))
        return false;
    return gx_fault_hit_slow(kind);
}

// Counts the points of `kind` from now on; the nth (1-based) fails, and
// n = 0 only counts. Arming one kind disarms the others.
void     gx_fault_arm(gx_fault_kind_t kind, uint64_t n);
// Points of the armed kind passed since gx_fault_arm.
uint64_t gx_fault_count(void);
void     gx_fault_disarm(void);
const char *gx_fault_kind_name(gx_fault_kind_t kind);

#endif
