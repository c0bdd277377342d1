// core/alarm.h: a worker's alarm. The first failure a worker meets is
// recorded in its own slot and the run's context is shut down
// (docs/design.md, "A failure is an alarm"); later ones are echoes and are
// dropped. It sits below the worker and every helper it calls (batches,
// message lists, the partition store, the per-edge loops), so each of them
// reports a failure without calling back up into the worker.
#ifndef GX_CORE_ALARM_H
#define GX_CORE_ALARM_H

#include "core/engine.h"

typedef struct gx_alarm {
    gx_engine_t  *e;
    gx_failure_t *slot;              // the engine reads it after join
    int           raised;            // this worker failed: the run is over
} gx_alarm_t;

// Records the worker's first error and shuts the run down. Returns -1, so
// a caller can `return gx_alarm_raise(...)`.
int  gx_alarm_raise(gx_alarm_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int  gx_alarm_oom(gx_alarm_t *a);

#endif
