// core/clock.h: seconds on the monotonic clock, for every timing the
// engine and the command line report.
#ifndef GX_CORE_CLOCK_H
#define GX_CORE_CLOCK_H

#include <time.h>

static inline double
gx_clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
