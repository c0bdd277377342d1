// core/figures.c: a process's out-of-core figures, for its report: its
// budget, its peak RSS, and what its spill wrote, read back and cost. A
// worker process's hub puts them in its last REPORT at each barrier; in
// local mode the master reads its own (docs/design.md, "Out of core").
#include "core/engine.h"

#include <sys/resource.h>

void
gx_engine_figures(gx_engine_t *e, uint64_t out[GX_PROC_N])
{
    gx_spill_stats_t ss = { 0 };
    if (e->spill_ready)
        gx_spill_stats(&e->spill, &ss);
    struct rusage ru;
    uint64_t rss = getrusage(RUSAGE_SELF, &ru) == 0
                   ? (uint64_t)ru.ru_maxrss * 1024 : 0;     // KiB on Linux
    out[GX_PROC_FIRST] = e->first;
    out[GX_PROC_THREADS] = e->n_here;
    out[GX_PROC_BUDGET] = e->budget;
    out[GX_PROC_PEAK_RSS] = rss;
    out[GX_PROC_SPILLED] = ss.bytes_put;
    out[GX_PROC_READ_BACK] = ss.bytes_got;
    out[GX_PROC_SPILL_US] = (uint64_t)(ss.seconds * 1e6 + 0.5);
}
