// core/paging.c: a built partition's edge arrays out to the process's
// spill and back, one partition at a time (core/paging.h).
#include "core/paging.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "core/mem.h"
#include "core/partstore.h"

// What a paged partition keeps out of memory between scatters, in the
// store's order: arrays that grow with its edges (the CSR neighbours both
// ways and their weights), and those of a replica that only a scatter
// reads (offsets, owners, routes). EDGE arrays of a GX_LOCAL_CLOSURE
// program, which never reads its edges after build, are dropped, not
// stored. SCRATCH arrays (the scatter's accumulators and touched list)
// are not stored at all: freed at page-out, made again before the next
// scatter (gx_part_scratch).
enum { PG_EDGE, PG_STORE, PG_SCRATCH };
enum { PER_EDGE, PER_LOCAL, PER_OFFSET };   // n_edges, n_local, n_local + 1

typedef struct pageable {
    size_t  field;                   // offsetof(part_t, ...)
    uint8_t per, how;
    uint8_t width;                   // bytes an element (0: the message's)
} pageable_t;

static const pageable_t pageables[] = {
    { offsetof(part_t, in_src),  PER_EDGE,   PG_EDGE,    4 },
    { offsetof(part_t, in_w),    PER_EDGE,   PG_EDGE,    8 },
    { offsetof(part_t, out_dst), PER_EDGE,   PG_EDGE,    4 },
    { offsetof(part_t, out_w),   PER_EDGE,   PG_EDGE,    8 },
    { offsetof(part_t, out_off), PER_OFFSET, PG_STORE,   8 },
    { offsetof(part_t, in_off),  PER_OFFSET, PG_STORE,   8 },
    { offsetof(part_t, owner),   PER_LOCAL,  PG_STORE,   4 },
    { offsetof(part_t, route),   PER_LOCAL,  PG_STORE,   4 },
    { offsetof(part_t, acc),     PER_LOCAL,  PG_SCRATCH, 0 },
    { offsetof(part_t, touch),   PER_LOCAL,  PG_SCRATCH, 4 },
};
#define PG_N (sizeof pageables / sizeof pageables[0])

static void **
field(part_t *pt, size_t i)
{
    return (void **)((uint8_t *)pt + pageables[i].field);
}

static size_t
bytes_of(const worker_t *w, const part_t *pt, size_t i)
{
    const pageable_t *g = &pageables[i];
    size_t n = g->per == PER_EDGE ? (size_t)pt->n_edges
               : g->per == PER_LOCAL ? (size_t)pt->n_local
                                     : (size_t)pt->n_local + 1;
    return (n ? n : 1) * (g->width ? g->width : w->msz);
}

// The bytes of pt's pageable arrays, in memory or in the spill.
static uint64_t
part_page_bytes(const worker_t *w, const part_t *pt)
{
    uint64_t n = 0;
    for (size_t i = 0; i < PG_N; i++)
        if (*field((part_t *)pt, i) || (pt->stored & (1u << i)))
            n += bytes_of(w, pt, i);
    return n;
}

// Whether array i goes to the store when paged out.
static bool
stored(const worker_t *w, size_t i)
{
    return pageables[i].how == PG_STORE
           || (pageables[i].how == PG_EDGE
               && !(w->prog->flags & GX_LOCAL_CLOSURE));
}

// Pages pt out: its EDGE arrays only while it is being built (what a
// replica's registration and routing read stays until the plan), all of
// its arrays after.
static int
page_out(worker_t *w, part_t *pt, bool edges_only)
{
    gx_error_t err;
    for (size_t i = 0; i < PG_N; i++) {
        void **f = field(pt, i);
        if (!*f || (edges_only && pageables[i].how != PG_EDGE))
            continue;
        if (stored(w, i) && !(pt->stored & (1u << i))) {
            if (gx_spill_put(&w->e->spill, GX_SPACE_PART, pt->id, (uint64_t)i,
                             *f, bytes_of(w, pt, i), &err) != 0)
                return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self,
                                      err.msg);
            pt->stored |= (uint16_t)(1u << i);
        }
        gx_free(*f);
        *f = NULL;
    }
    pt->paged = true;
    return 0;
}

int
gx_part_page_out(worker_t *w, part_t *pt)
{
    return page_out(w, pt, false);
}

// While paged, replica_receive leaves act_edges alone (it would need the
// offsets): the active replicas' edges are counted once they are back.
static void
count_active_edges(worker_t *w, part_t *pt)
{
    pt->act_edges = 0;
    for (uint32_t i = 0; i < pt->n_act; i++) {
        uint32_t l = pt->act[i];
        if (w->prog->direction & GX_DIR_OUT)
            pt->act_edges += pt->out_off[l + 1] - pt->out_off[l];
        if (w->prog->direction & GX_DIR_IN)
            pt->act_edges += pt->in_off[l + 1] - pt->in_off[l];
    }
}

int
gx_part_page_in(worker_t *w, part_t *pt)
{
    if (!pt->paged)
        return 0;
    gx_error_t err;
    for (size_t i = 0; i < PG_N; i++) {
        void **f = field(pt, i);
        if (*f)
            continue;
        if (pageables[i].how == PG_SCRATCH || !(pt->stored & (1u << i)))
            continue;
        size_t n = bytes_of(w, pt, i);
        if (!(*f = gx_big_alloc(n)))
            return gx_alarm_oom(&w->alarm);
        if (gx_spill_get(&w->e->spill, GX_SPACE_PART, pt->id, (uint64_t)i, *f,
                         n, &err) != 0)
            return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self,
                                  err.msg);
    }
    count_active_edges(w, pt);
    return 0;
}

// The worker's partition with the most of its pageable arrays in memory,
// or NULL when none has any.
static part_t *
largest_resident(worker_t *w)
{
    part_t *best = NULL;
    uint64_t most = 0;
    for (uint32_t k = 0; k < w->n_parts; k++) {
        part_t *pt = &w->parts[k];
        uint64_t b = 0;
        for (size_t i = 0; i < PG_N; i++)
            b += *field(pt, i) ? bytes_of(w, pt, i) : 0;
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
        uint64_t b = part_page_bytes(w, &w->parts[k]);
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
// then their weights. They lie so already in a full chunk, or in one
// without weights (weights follow the chunk's capacity of edges); only a
// weighted chunk not yet full is gathered into one block first.
static int
chunk_out(worker_t *w, part_t *pt, const chunk_t *c)
{
    size_t ne = c->n * sizeof(gx_edge_t), nb = chunk_bytes(w, c);
    const void *block = c->e;
    uint8_t *buf = NULL;
    if (c->wt && c->n < c->cap) {
        if (!(buf = gx_malloc(nb ? nb : 1)))
            return gx_alarm_oom(&w->alarm);
        memcpy(buf, c->e, ne);
        memcpy(buf + ne, c->wt, c->n * sizeof(double));
        block = buf;
    }
    gx_error_t err;
    int rc = gx_spill_put(&w->e->spill, GX_SPACE_EDGES, pt->id,
                          pt->spilled_chunks, block, nb, &err);
    gx_free(buf);
    if (rc != 0)
        return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self, err.msg);
    pt->spilled_chunks++;
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

// Before pt is built: its spilled chunks back, ahead of those in memory,
// so the list is in arrival order again.
static int
chunks_page_in(worker_t *w, part_t *pt)
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
    if (pt->spilled_chunks && chunks_page_in(w, pt) != 0)
        return -1;
    if (gx_part_build(w, pt) != 0 || w->alarm.raised)
        return -1;
    // Built past half the budget: its edges go at once, so that the
    // partitions still to build find room.
    if (pt->n_edges && !pt->paged && gx_paging_tight(0)
        && page_out(w, pt, true) != 0)
        return -1;
    return 0;
}
