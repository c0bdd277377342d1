// core/paging.c: a built partition's edge arrays out to the process's
// spill and back, one partition at a time (core/paging.h).
#include "core/paging.h"

#include <stdlib.h>
#include <string.h>
#include "core/mem.h"

// The arrays that grow with the partition's edges, in the store's order.
enum { PG_IN_SRC = 0, PG_IN_W, PG_OUT_DST, PG_OUT_W, PG_N };

// The field holding array i, and its bytes.
static void **
field(part_t *pt, int i)
{
    switch (i) {
    case PG_IN_SRC:  return (void **)&pt->in_src;
    case PG_IN_W:    return (void **)&pt->in_w;
    case PG_OUT_DST: return (void **)&pt->out_dst;
    default:         return (void **)&pt->out_w;
    }
}

static size_t
bytes_of(const part_t *pt, int i)
{
    size_t width = i == PG_IN_SRC || i == PG_OUT_DST ? sizeof(uint32_t)
                                                      : sizeof(double);
    return (size_t)pt->n_edges * width;
}

uint64_t
gx_part_page_bytes(const part_t *pt)
{
    uint64_t n = 0;
    for (int i = 0; i < PG_N; i++)
        if (*field((part_t *)pt, i) || (pt->stored & (1u << i)))
            n += bytes_of(pt, i);
    return n;
}

// A program that keeps its partitions' components (GX_LOCAL_CLOSURE)
// never reads their edges after build: they are dropped, not stored.
static bool
edges_unread(const worker_t *w)
{
    return (w->prog->flags & GX_LOCAL_CLOSURE) != 0;
}

int
gx_part_page_out(worker_t *w, part_t *pt)
{
    gx_error_t err;
    for (int i = 0; i < PG_N; i++) {
        void **f = field(pt, i);
        if (!*f)
            continue;
        if (!edges_unread(w) && !(pt->stored & (1u << i))) {
            if (gx_spill_put(&w->e->spill, GX_SPACE_PART, pt->id, (uint64_t)i,
                             *f, bytes_of(pt, i), &err) != 0)
                return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self,
                                      err.msg);
            pt->stored |= (uint8_t)(1u << i);
        }
        gx_free(*f);
        *f = NULL;
    }
    pt->paged = true;
    return 0;
}

int
gx_part_page_in(worker_t *w, part_t *pt)
{
    if (!pt->paged || edges_unread(w))
        return 0;
    gx_error_t err;
    for (int i = 0; i < PG_N; i++) {
        void **f = field(pt, i);
        if (*f || !(pt->stored & (1u << i)))
            continue;
        size_t n = bytes_of(pt, i);
        if (!(*f = gx_big_alloc(n)))
            return gx_alarm_oom(&w->alarm);
        if (gx_spill_get(&w->e->spill, GX_SPACE_PART, pt->id, (uint64_t)i, *f,
                         n, &err) != 0)
            return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self,
                                  err.msg);
    }
    return 0;
}

// The worker's partition not yet paged out with the most to page, or NULL.
static part_t *
largest_resident(worker_t *w)
{
    part_t *best = NULL;
    uint64_t most = 0;
    for (uint32_t k = 0; k < w->n_parts; k++) {
        part_t *pt = &w->parts[k];
        uint64_t b = pt->paged ? 0 : gx_part_page_bytes(pt);
        if (b > most) {
            most = b;
            best = pt;
        }
    }
    return best;
}

int
gx_paging_plan(worker_t *w)
{
    uint64_t budget = gx_acct_budget();
    if (!budget)
        return 0;
    // Room for one partition of each worker thread here paged in at once.
    uint64_t one = 0;
    for (uint32_t k = 0; k < w->n_parts; k++) {
        uint64_t b = gx_part_page_bytes(&w->parts[k]);
        one = b > one ? b : one;
    }
    uint64_t keep = one * w->e->n_here;
    part_t *pt;
    while (!w->alarm.raised && gx_acct_used() + keep > budget
           && (pt = largest_resident(w))) {
        if (gx_part_page_out(w, pt) != 0)
            return -1;
        w->stats[GX_STAT_PAGED] += pt->n_edges;
    }
    return w->alarm.raised ? -1 : 0;
}
