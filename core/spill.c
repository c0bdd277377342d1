// core/spill.c: a process's spill (core/spill.h), over store/.
#include "core/spill.h"

#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/fault.h"

// The engine's fault points, passed to the store: its creation and writes,
// its reads, its growths.
static bool
fault(gx_store_point_t point, void *arg)
{
    (void)arg;
    switch (point) {
    case GX_STORE_OPEN:
    case GX_STORE_PUT:  return gx_fault_hit(GX_FAULT_SPILL_WRITE);
    case GX_STORE_GET:  return gx_fault_hit(GX_FAULT_SPILL_READ);
    case GX_STORE_GROW: return gx_fault_hit(GX_FAULT_SPILL_GROW);
    default:            return false;
    }
}

int
gx_spill_init(gx_spill_t *s, const char *dir, gx_error_t *err)
{
    memset(s, 0, sizeof *s);
    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    if (snprintf(s->dir, sizeof s->dir, "%s", dir) >= (int)sizeof s->dir)
        return gx_error_set(err, "--spill-dir: the path is too long");
    pthread_mutex_init(&s->lock, NULL);
    gx_error_t ignored;
    gx_store_sweep(s->dir, &ignored);
    return 0;
}

// The store, made by the first caller.
static gx_store_t *
store_of(gx_spill_t *s, gx_error_t *err)
{
    gx_store_t *st = atomic_load(&s->store);
    if (st)
        return st;
    pthread_mutex_lock(&s->lock);
    st = atomic_load(&s->store);
    if (!st) {
        gx_store_opts_t o = { .fault = fault };
        st = gx_store_new(s->dir, &o, err);
        if (st)
            atomic_store(&s->store, st);
        // Paging has begun: from now on what is freed must leave the
        // resident set (core/mem.h).
        gx_mem_map_big();
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

int
gx_spill_put(gx_spill_t *s, gx_space_t space, uint32_t part, uint64_t seq,
             const void *p, size_t n, gx_error_t *err)
{
    gx_store_t *st = store_of(s, err);
    gx_store_key_t k = { (uint32_t)space, part, seq };
    return st ? gx_store_put(st, k, p, n, err) : -1;
}

int
gx_spill_get(gx_spill_t *s, gx_space_t space, uint32_t part, uint64_t seq,
             void *buf, size_t n, gx_error_t *err)
{
    gx_store_t *st = atomic_load(&s->store);
    gx_store_key_t k = { (uint32_t)space, part, seq };
    size_t len = 0;
    int rc = st ? gx_store_get(st, k, buf, n, &len, err) : 1;
    if (rc == 1 || (rc == 0 && len != n))
        return gx_error_set(err, "spill: block %u/%u/%llu lost in %s "
                            "(%zu bytes, %zu expected)", (unsigned)space,
                            part, (unsigned long long)seq, s->dir,
                            rc == 1 ? (size_t)0 : len, n);
    return rc;
}

int
gx_spill_len(gx_spill_t *s, gx_space_t space, uint32_t part, uint64_t seq,
             size_t *n, gx_error_t *err)
{
    gx_store_t *st = atomic_load(&s->store);
    gx_store_key_t k = { (uint32_t)space, part, seq };
    int rc = st ? gx_store_len(st, k, n, err) : 1;
    if (rc == 1)
        return gx_error_set(err, "spill: block %u/%u/%llu lost in %s",
                            (unsigned)space, part, (unsigned long long)seq,
                            s->dir);
    return rc;
}

int
gx_spill_drop(gx_spill_t *s, gx_space_t space, uint32_t part,
              gx_error_t *err)
{
    gx_store_t *st = atomic_load(&s->store);
    return st ? gx_store_drop(st, (uint32_t)space, part, err) : 0;
}

void
gx_spill_stats(gx_spill_t *s, gx_spill_stats_t *out)
{
    *out = s->closed;
    gx_store_t *st = atomic_load(&s->store);
    if (!st)
        return;
    gx_store_stats_t ss;
    gx_store_stats(st, &ss);
    out->bytes_put = ss.bytes_put;
    out->bytes_got = ss.bytes_got;
    out->seconds = ss.seconds;
}

void
gx_spill_close(gx_spill_t *s)
{
    gx_spill_stats(s, &s->closed);
    gx_store_t *st = atomic_exchange(&s->store, NULL);
    gx_store_close(&st);
}

void
gx_spill_fini(gx_spill_t *s)
{
    gx_spill_close(s);
    pthread_mutex_destroy(&s->lock);
}
