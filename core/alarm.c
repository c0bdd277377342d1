// core/alarm.c: a worker's alarm (core/alarm.h).
#include "core/alarm.h"

#include <stdarg.h>

int
gx_alarm_raise(gx_alarm_t *a, const char *fmt, ...)
{
    if (!a->raised) {
        a->raised = 1;
        va_list ap;
        va_start(ap, fmt);
        gx_engine_vfail(a->e, a->slot, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int
gx_alarm_oom(gx_alarm_t *a)
{
    return gx_alarm_raise(a, "worker: out of memory");
}
