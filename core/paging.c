// core/paging.c: a built partition's edge arrays out to the process's
// spill and back, one partition at a time (core/paging.h).
#include "core/paging.h"

#include <stdlib.h>
#include <string.h>
#include "core/mem.h"
#include "core/partstore.h"

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

// The edges of this worker's paged partitions, counted once into the
// first superstep's REPORT.
static int
count_paged(worker_t *w)
{
    for (uint32_t k = 0; k < w->n_parts; k++)
        if (w->parts[k].paged)
            w->stats[GX_STAT_PAGED] += w->parts[k].n_edges;
    return w->alarm.raised ? -1 : 0;
}

int
gx_paging_plan(worker_t *w)
{
    uint64_t budget = gx_acct_budget();
    if (!budget)
        return count_paged(w);
    // Room for one partition of each worker thread here paged in at once.
    uint64_t one = 0;
    for (uint32_t k = 0; k < w->n_parts; k++) {
        uint64_t b = gx_part_page_bytes(&w->parts[k]);
        one = b > one ? b : one;
    }
    uint64_t keep = one * w->e->n_here;
    part_t *pt;
    while (!w->alarm.raised && gx_acct_used() + keep > budget
           && (pt = largest_resident(w)))
        if (gx_part_page_out(w, pt) != 0)
            return -1;
    return count_paged(w);
}

// ---- Loading: edge chunks --------------------------------------------------

// Whether the process, holding `more` bytes more, would be past half its
// budget: the other half is kept for building a partition (its chunks
// back, then its CSR) and for what stays resident.
bool
gx_paging_tight(uint64_t more)
{
    uint64_t budget = gx_acct_budget();
    return budget && gx_acct_used() + more > budget / 2;
}

static size_t
chunk_bytes(const worker_t *w, const chunk_t *c)
{
    return c->n * (sizeof(gx_edge_t) + (w->weighted ? sizeof(double) : 0));
}

// Writes chunk c of pt as the partition's next spilled chunk: its edges,
// then their weights.
static int
chunk_out(worker_t *w, part_t *pt, const chunk_t *c)
{
    size_t ne = c->n * sizeof(gx_edge_t), nb = chunk_bytes(w, c);
    uint8_t *buf = gx_malloc(nb ? nb : 1);
    if (!buf)
        return gx_alarm_oom(&w->alarm);
    memcpy(buf, c->e, ne);
    if (c->wt)
        memcpy(buf + ne, c->wt, c->n * sizeof(double));
    gx_error_t err;
    int rc = gx_spill_put(&w->e->spill, GX_SPACE_EDGES, pt->id,
                          pt->spilled_chunks, buf, nb, &err);
    gx_free(buf);
    if (rc != 0)
        return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self, err.msg);
    pt->spilled_chunks++;
    pt->spilled_edges += c->n;
    return 0;
}

// Writes out pt's chunks but the one being filled (all of them with
// `all`), oldest first, so that the spill holds a prefix of the arrival
// order and the chunks in memory the rest.
static int
part_chunks_out(worker_t *w, part_t *pt, bool all)
{
    while (pt->head && (all || pt->head != pt->tail)) {
        chunk_t *c = pt->head;
        if (chunk_out(w, pt, c) != 0)
            return -1;
        pt->head = c->next;
        if (!pt->head)
            pt->tail = NULL;
        gx_free(c);
    }
    return 0;
}

int
gx_chunks_page_out(worker_t *w, bool all)
{
    for (uint32_t k = 0; k < w->n_parts && !w->alarm.raised; k++)
        if (part_chunks_out(w, &w->parts[k], all) != 0)
            return -1;
    return w->alarm.raised ? -1 : 0;
}

// One spilled chunk of pt, read back into a chunk of its own size.
static chunk_t *
chunk_in(worker_t *w, part_t *pt, uint64_t seq)
{
    gx_error_t err;
    size_t nb, row = sizeof(gx_edge_t) + (w->weighted ? sizeof(double) : 0);
    if (gx_spill_len(&w->e->spill, GX_SPACE_EDGES, pt->id, seq, &nb, &err)
        != 0 || nb % row != 0) {
        gx_alarm_raise(&w->alarm, "worker %u: %s", w->self, err.msg);
        return NULL;
    }
    size_t n = nb / row;
    chunk_t *c = gx_malloc(sizeof(chunk_t) + (nb ? nb : 1));
    if (!c) {
        gx_alarm_oom(&w->alarm);
        return NULL;
    }
    *c = (chunk_t){ .n = n, .cap = n };
    c->wt = w->weighted ? (double *)(c->e + n) : NULL;
    if (gx_spill_get(&w->e->spill, GX_SPACE_EDGES, pt->id, seq, c->e, nb,
                     &err) != 0) {
        gx_free(c);
        gx_alarm_raise(&w->alarm, "worker %u: %s", w->self, err.msg);
        return NULL;
    }
    return c;
}

int
gx_chunks_page_in(worker_t *w, part_t *pt)
{
    // Read back newest first, each put before the ones after it: the list
    // ends in arrival order, the spilled prefix ahead of the rest.
    for (uint64_t s = pt->spilled_chunks; s-- > 0;) {
        chunk_t *c = chunk_in(w, pt, s);
        if (!c)
            return -1;
        c->next = pt->head;
        pt->head = c;
        if (!pt->tail)
            pt->tail = c;
    }
    pt->spilled_chunks = 0;
    gx_error_t err;
    if (gx_spill_drop(&w->e->spill, GX_SPACE_EDGES, pt->id, &err) != 0)
        return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self, err.msg);
    return 0;
}

int
gx_paging_build(worker_t *w, part_t *pt)
{
    if (pt->spilled_chunks && gx_chunks_page_in(w, pt) != 0)
        return -1;
    if (gx_part_build(w, pt) != 0 || w->alarm.raised)
        return -1;
    // Built past half the budget: its edges go at once, so that the
    // partitions still to build find room.
    if (pt->n_edges && !pt->paged && gx_paging_tight(0)
        && gx_part_page_out(w, pt) != 0)
        return -1;
    return 0;
}
