// core/fault.c: the counters behind core/fault.h. One kind is armed at a
// time; the count is atomic because every worker thread passes points.
#include "core/fault.h"

atomic_bool gx_fault_armed;
static atomic_int armed_kind;
static atomic_uint_fast64_t fail_at, seen;

bool
gx_fault_hit_slow(gx_fault_kind_t kind)
{
    if ((int)kind != atomic_load(&armed_kind))
        return false;
    uint64_t k = atomic_fetch_add(&seen, 1) + 1;
    return k == atomic_load(&fail_at);
}

void
gx_fault_arm(gx_fault_kind_t kind, uint64_t n)
{
    atomic_store(&armed_kind, (int)kind);
    atomic_store(&fail_at, n);
    atomic_store(&seen, 0);
    atomic_store(&gx_fault_armed, true);
}

uint64_t
gx_fault_count(void)
{
    return atomic_load(&seen);
}

void
gx_fault_disarm(void)
{
    atomic_store(&gx_fault_armed, false);
    atomic_store(&armed_kind, -1);
}

const char *
gx_fault_kind_name(gx_fault_kind_t kind)
{
    static const char *names[] = { "alloc", "thread", "socket", "send",
                                   "spill-write", "spill-read",
                                   "spill-grow" };
    return (unsigned)kind < GX_FAULT_KINDS ? names[kind] : "?";
}
