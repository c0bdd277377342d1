// core/engine.c: how a run's threads fail together. Any thread that
// fails records its error in its own slot, stamped from one counter, and
// shuts the run's ZeroMQ context down: every blocked call in every thread
// returns ETERM, and the error with the lowest stamp (the cause, not its
// echoes) is the run's. docs/design.md, "A failure is an alarm". The
// threads themselves are started in core/launch.c.
#include "core/engine.h"

#include <pthread.h>
#include <stdio.h>
#include <zmq.h>

void
gx_engine_vfail(gx_engine_t *e, gx_failure_t *slot, const char *fmt,
                va_list ap)
{
    gx_engine_vfailc(e, slot, GX_E_FAILED, fmt, ap);
}

void
gx_engine_vfailc(gx_engine_t *e, gx_failure_t *slot, gx_errc_t code,
                 const char *fmt, va_list ap)
{
    // Stamped and, for the first, copied under one lock: a hub that sees
    // the count move also finds the text to send.
    pthread_mutex_lock(&e->first_lock);
    if (slot->seq == 0) {
        gx_error_vsetc(&slot->err, code, fmt, ap);
        slot->seq = atomic_fetch_add(&e->fail_seq, 1) + 1;
        if (slot->seq == 1)
            snprintf(e->first_msg, sizeof e->first_msg, "%s", slot->err.msg);
    }
    pthread_mutex_unlock(&e->first_lock);
    zmq_ctx_shutdown(e->zctx);
}

void
gx_engine_fail(gx_engine_t *e, gx_failure_t *slot, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gx_engine_vfail(e, slot, fmt, ap);
    va_end(ap);
}

void
gx_engine_first_error(gx_engine_t *e, char *out, size_t cap)
{
    pthread_mutex_lock(&e->first_lock);
    snprintf(out, cap, "%s", e->first_msg);
    pthread_mutex_unlock(&e->first_lock);
}
