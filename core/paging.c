// core/paging.c: a built partition's edge arrays out to the process's
// spill and back, one partition at a time (core/paging.h).
#include "core/paging.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "core/mem.h"
#include "core/partstore.h"

// What a paged partition keeps out of memory between scatters, and how
// each array comes back:
// - EDGE: the CSR neighbours both ways and their weights, the bytes that
//   grow with edges. Written once; a GX_LOCAL_CLOSURE program, which
//   never reads its edges after build, drops them instead.
// - STORE: what only a scatter reads (offsets, owners, the closure's
//   components). Written once.
// - ROUTE: written once its routes are all in (routed); until then it
//   comes back empty and the route log fills it.
// - STATE: what a scatter changes and the next one reads (the closure's
//   best message so far): written at every page-out.
// - SCRATCH: not stored. A scatter leaves it in a known state (every
//   replica inactive, its message the identity, nothing touched), so it
//   is made again in that state: all at the identity, all zero, or
//   nothing (lists whose length lives in the partition).
enum { PG_EDGE, PG_STORE, PG_ROUTE, PG_STATE, PG_SCRATCH };
enum { PER_EDGE, PER_LOCAL, PER_OFFSET, PER_COMP, PER_COMP_OFFSET };
enum { AS_IS, AS_ZERO, AS_IDENTITY };

typedef struct pageable {
    size_t  field;                   // offsetof(part_t, ...)
    uint8_t per, how, init;
    uint8_t width;                   // bytes an element (0: the message's)
} pageable_t;

#define PG(f, per, how, init, width) \
    { offsetof(part_t, f), per, how, init, width }

static const pageable_t pageables[] = {
    PG(in_src,   PER_EDGE,        PG_EDGE,    AS_IS,       4),
    PG(in_w,     PER_EDGE,        PG_EDGE,    AS_IS,       8),
    PG(out_dst,  PER_EDGE,        PG_EDGE,    AS_IS,       4),
    PG(out_w,    PER_EDGE,        PG_EDGE,    AS_IS,       8),
    PG(out_off,  PER_OFFSET,      PG_STORE,   AS_IS,       8),
    PG(in_off,   PER_OFFSET,      PG_STORE,   AS_IS,       8),
    PG(owner,    PER_LOCAL,       PG_STORE,   AS_IS,       4),
    PG(comp,     PER_LOCAL,       PG_STORE,   AS_IS,       4),
    PG(comp_off, PER_COMP_OFFSET, PG_STORE,   AS_IS,       4),
    PG(comp_mem, PER_LOCAL,       PG_STORE,   AS_IS,       4),
    PG(route,    PER_LOCAL,       PG_ROUTE,   AS_IS,       4),
    PG(best,     PER_LOCAL,       PG_STATE,   AS_IS,       0),
    PG(out_msg,  PER_LOCAL,       PG_SCRATCH, AS_IDENTITY, 0),
    PG(flags,    PER_LOCAL,       PG_SCRATCH, AS_ZERO,     1),
    PG(act,      PER_LOCAL,       PG_SCRATCH, AS_IS,       4),
    PG(acc,      PER_LOCAL,       PG_SCRATCH, AS_IDENTITY, 0),
    PG(touch,    PER_LOCAL,       PG_SCRATCH, AS_IS,       4),
    PG(cmsg,     PER_COMP,        PG_SCRATCH, AS_IS,       0),
    PG(cseen,    PER_COMP,        PG_SCRATCH, AS_ZERO,     1),
    PG(ctouch,   PER_COMP,        PG_SCRATCH, AS_IS,       4),
};
#define PG_N (sizeof pageables / sizeof pageables[0])
_Static_assert(PG_N <= 32, "part_t.had and .stored are 32-bit masks");

static void **
field(part_t *pt, size_t i)
{
    return (void **)((uint8_t *)pt + pageables[i].field);
}

static size_t
bytes_of(const worker_t *w, const part_t *pt, size_t i)
{
    const pageable_t *g = &pageables[i];
    size_t n = 0;
    switch (g->per) {
    case PER_EDGE:        n = (size_t)pt->n_edges; break;
    case PER_LOCAL:       n = pt->n_local; break;
    case PER_OFFSET:      n = (size_t)pt->n_local + 1; break;
    case PER_COMP:        n = pt->n_comp; break;
    case PER_COMP_OFFSET: n = (size_t)pt->n_comp + 1; break;
    }
    return (n ? n : 1) * (g->width ? g->width : w->msz);
}

// The bytes of pt's pageable arrays, in memory or away.
static uint64_t
part_page_bytes(const worker_t *w, const part_t *pt)
{
    uint64_t n = 0;
    for (size_t i = 0; i < PG_N; i++)
        if (*field((part_t *)pt, i) || (pt->had & (1u << i)))
            n += bytes_of(w, pt, i);
    return n;
}

// Whether array i is written to the store at this page-out: EDGE and
// STORE arrays once, a ROUTE array once it is routed, STATE every time.
static bool
to_store(const worker_t *w, const part_t *pt, size_t i)
{
    bool once = !(pt->stored & (1u << i));
    switch (pageables[i].how) {
    case PG_EDGE:  return once && !(w->prog->flags & GX_LOCAL_CLOSURE);
    case PG_STORE: return once;
    case PG_ROUTE: return once && pt->routed;
    case PG_STATE: return true;
    default:       return false;
    }
}

// Whether array i comes back when pt does (a closure's edges do not).
static bool
comes_back(const worker_t *w, size_t i)
{
    return pageables[i].how != PG_EDGE
           || !(w->prog->flags & GX_LOCAL_CLOSURE);
}

// Pages pt out: every array it holds is written if the store needs it,
// then freed. From now on what reaches pt is logged.
static int
page_out(worker_t *w, part_t *pt)
{
    gx_error_t err;
    for (size_t i = 0; i < PG_N; i++) {
        void **f = field(pt, i);
        if (!*f)
            continue;
        if (to_store(w, pt, i)) {
            if (gx_spill_put(&w->e->spill, GX_SPACE_PART, pt->id, (uint64_t)i,
                             *f, bytes_of(w, pt, i), &err) != 0)
                return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self,
                                      err.msg);
            pt->stored |= 1u << i;
        }
        if (comes_back(w, i))
            pt->had |= 1u << i;
        gx_free(*f);
        *f = NULL;
    }
    pt->paged = pt->away = true;
    return 0;
}

int
gx_part_page_out(worker_t *w, part_t *pt)
{
    return pt->away || pt->n_local == 0 ? 0 : page_out(w, pt);
}

// Array i of pt, made again: read from the store, or in the state a
// scatter leaves it in.
static int
array_in(worker_t *w, part_t *pt, size_t i)
{
    const pageable_t *g = &pageables[i];
    size_t n = bytes_of(w, pt, i);
    uint8_t *a = gx_big_alloc(n);
    if (!(*field(pt, i) = a))
        return gx_alarm_oom(&w->alarm);
    gx_error_t err;
    if (pt->stored & (1u << i)) {
        if (gx_spill_get(&w->e->spill, GX_SPACE_PART, pt->id, (uint64_t)i, a,
                         n, &err) != 0)
            return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self,
                                  err.msg);
    } else if (g->init == AS_ZERO) {
        memset(a, 0, n);
    } else if (g->init == AS_IDENTITY) {
        for (size_t o = 0; o + w->msz <= n; o += w->msz)
            memcpy(a + o, w->identity, w->msz);
    }
    return 0;
}

static void replay_route(worker_t *w, part_t *pt, uint32_t l, const uint8_t *p);
static void replay_sync(worker_t *w, part_t *pt, uint32_t l, const uint8_t *p);
static int  log_replay(worker_t *w, part_t *pt, gx_plog_t *lg,
                       gx_space_t space, size_t width,
                       void (*apply)(worker_t *, part_t *, uint32_t,
                                     const uint8_t *));

int
gx_part_page_in(worker_t *w, part_t *pt)
{
    if (!pt->away)
        return 0;
    for (size_t i = 0; i < PG_N; i++)
        if ((pt->had & (1u << i)) && !*field(pt, i)
            && array_in(w, pt, i) != 0)
            return -1;
    pt->had = 0;
    pt->away = false;
    // What came while it was away, in the order it came: routes (all
    // before the first superstep), then syncs, which activate replicas
    // and count their edges as if they had come now.
    if (log_replay(w, pt, &pt->rlog, GX_SPACE_ROUTE_LOG, 4, replay_route) != 0
        || log_replay(w, pt, &pt->slog, GX_SPACE_SYNC_LOG, w->msz,
                      replay_sync) != 0)
        return -1;
    return 0;
}

// ---- Logs: what reaches an away partition ----------------------------------

static void
replay_route(worker_t *w, part_t *pt, uint32_t l, const uint8_t *p)
{
    (void)w;
    memcpy(&pt->route[l], p, 4);
}

static void
replay_sync(worker_t *w, part_t *pt, uint32_t l, const uint8_t *p)
{
    replica_receive(w, pt, l, p);
}

// Appends a row (local index, then width bytes) to lg; a full buffer goes
// to the spill as the log's next block.
static int
log_append(worker_t *w, part_t *pt, gx_plog_t *lg, gx_space_t space,
           uint32_t l, const void *p, size_t width)
{
    size_t row = 4 + width;
    if (!lg->buf) {
        lg->cap = w->log_cap - w->log_cap % row;
        if (!(lg->buf = gx_malloc(lg->cap)))
            return gx_alarm_oom(&w->alarm);
    }
    if (lg->n + row > lg->cap) {
        gx_error_t err;
        if (gx_spill_put(&w->e->spill, space, pt->id, lg->blocks, lg->buf,
                         lg->n, &err) != 0)
            return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self,
                                  err.msg);
        lg->blocks++;
        lg->n = 0;
    }
    memcpy(lg->buf + lg->n, &l, 4);
    memcpy(lg->buf + lg->n + 4, p, width);
    lg->n += row;
    return 0;
}

int
gx_part_log_route(worker_t *w, part_t *pt, uint32_t l, uint32_t master)
{
    return log_append(w, pt, &pt->rlog, GX_SPACE_ROUTE_LOG, l, &master, 4);
}

int
gx_part_log_sync(worker_t *w, part_t *pt, uint32_t l, const void *msg)
{
    return log_append(w, pt, &pt->slog, GX_SPACE_SYNC_LOG, l, msg, w->msz);
}

static void
apply_rows(worker_t *w, part_t *pt, const uint8_t *rows, size_t n,
           size_t width, void (*apply)(worker_t *, part_t *, uint32_t,
                                       const uint8_t *))
{
    for (size_t o = 0; o + 4 + width <= n; o += 4 + width) {
        uint32_t l;
        memcpy(&l, rows + o, 4);
        apply(w, pt, l, rows + o + 4);
    }
}

// Applies lg's rows in order, the spilled blocks first, then forgets them.
static int
log_replay(worker_t *w, part_t *pt, gx_plog_t *lg, gx_space_t space,
           size_t width, void (*apply)(worker_t *, part_t *, uint32_t,
                                       const uint8_t *))
{
    gx_error_t err;
    uint8_t *block = lg->blocks ? gx_malloc(lg->cap) : NULL;
    if (lg->blocks && !block)
        return gx_alarm_oom(&w->alarm);
    for (uint64_t s = 0; s < lg->blocks; s++) {
        size_t n = 0;
        if (gx_spill_len(&w->e->spill, space, pt->id, s, &n, &err) != 0
            || (n > lg->cap
                && gx_error_set(&err, "a log block of %zu bytes is larger "
                                "than the %zu it was written from", n,
                                lg->cap) != 0)
            || gx_spill_get(&w->e->spill, space, pt->id, s, block, n, &err)
                   != 0) {
            gx_free(block);
            return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self,
                                  err.msg);
        }
        apply_rows(w, pt, block, n, width, apply);
    }
    gx_free(block);
    if (lg->buf)
        apply_rows(w, pt, lg->buf, lg->n, width, apply);
    int rc = lg->blocks ? gx_spill_drop(&w->e->spill, space, pt->id, &err) : 0;
    gx_free(lg->buf);
    *lg = (gx_plog_t){ 0 };
    if (rc != 0)
        return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self, err.msg);
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

// What never pages, a master's bytes: id and degrees, value, accumulator,
// flags, its places in the todo lists, replica offset, and its offsets in
// the message lists a program keeps. A replica adds its place (8 bytes).
static uint64_t
master_bytes(const worker_t *w)
{
    return 3 * 8 + w->vsz + w->msz + 1 + 2 * 4 + 8
           + (w->lists.elist.size ? 12 : 0) + (w->lists.dlist.size ? 12 : 0);
}

// A budget too small for what stays resident fails here, once the masters
// are counted, with what it would take: that, and room to scatter one
// partition a thread. Estimated from this worker's share, times the
// process's threads.
static int
check_floor(worker_t *w, uint64_t budget, uint64_t keep)
{
    uint64_t n = w->mt.n_master, reps = w->mt.rep_off[n];
    uint64_t here = (n * master_bytes(w) + reps * 8) * w->e->n_here;
    if (here <= budget)
        return 0;
    uint64_t need = (here + keep) / 10 * 11;
    return gx_alarm_raise(&w->alarm,
                          "the memory budget (%llu MiB) is too small for this "
                          "graph: its masters and replica lists stay in memory "
                          "(%llu bytes a vertex, 8 a replica; about %llu MiB "
                          "here), and scattering one partition a thread takes "
                          "%llu MiB more; give --memory at least %lluM",
                          (unsigned long long)(budget >> 20),
                          (unsigned long long)master_bytes(w),
                          (unsigned long long)(here >> 20),
                          (unsigned long long)(keep >> 20),
                          (unsigned long long)((need >> 20) + 1));
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
    if (check_floor(w, budget, keep) != 0)
        return -1;
    part_t *pt;
    while (!w->alarm.raised && gx_acct_used() + keep > budget
           && (pt = largest_resident(w)))
        if (gx_part_page_out(w, pt) != 0)
            return -1;
    return count_paged(w);
}

// ---- Registrations ----------------------------------------------------------

// Rows the registrations keep in memory before, short of memory, they go
// to the spill as one block (12 bytes a row: 768 KiB).
#define REG_BLOCK 65536u

int
gx_reg_page_out(worker_t *w)
{
    gx_reg_t *r = &w->reg;
    if (r->n < REG_BLOCK || !gx_acct_tight(0))
        return 0;
    const uint32_t *col[3] = { r->m, r->p, r->l };
    gx_error_t err;
    // Keyed by this worker (the spill is the process's, the rows its
    // own): block s is three, its columns.
    for (int c = 0; c < 3; c++)
        if (gx_spill_put(&w->e->spill, GX_SPACE_REG, w->self,
                         r->blocks * 3 + (uint64_t)c, col[c],
                         (size_t)r->n * sizeof(uint32_t), &err) != 0)
            return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self,
                                  err.msg);
    r->blocks++;
    r->n = 0;
    return 0;
}

// Spilled registration block s read back into cols (each of `cap` rows):
// its number of rows, or -1.
static int64_t
reg_block_in(worker_t *w, uint64_t s, uint32_t *cols[3], size_t cap)
{
    gx_error_t err;
    size_t n = 0;
    for (int c = 0; c < 3; c++) {
        uint64_t seq = s * 3 + (uint64_t)c;
        if (gx_spill_len(&w->e->spill, GX_SPACE_REG, w->self, seq, &n, &err)
                != 0
            || (n > cap * sizeof(uint32_t)
                ? gx_error_set(&err, "a registration block of %zu bytes", n)
                : gx_spill_get(&w->e->spill, GX_SPACE_REG, w->self, seq,
                               cols[c], n, &err)) != 0)
            return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self,
                                  err.msg);
    }
    return (int64_t)(n / sizeof(uint32_t));
}

// Hands every registration to `take` in arrival order: the spilled
// blocks, then those in memory (whose columns are as long as any block).
static int
reg_each(worker_t *w, const uint32_t *rank,
         void (*take)(gx_mtable_t *, const uint32_t *, const gx_reg_rows_t *))
{
    gx_reg_t *r = &w->reg;
    size_t cap = (size_t)r->cap;
    uint32_t *buf = r->blocks ? gx_malloc(3 * cap * sizeof *buf) : NULL;
    if (r->blocks && !buf)
        return gx_alarm_oom(&w->alarm);
    uint32_t *cols[3] = { buf, buf + cap, buf + 2 * cap };
    for (uint64_t s = 0; s < r->blocks; s++) {
        int64_t n = reg_block_in(w, s, cols, cap);
        if (n < 0) {
            gx_free(buf);
            return -1;
        }
        gx_reg_rows_t rows = { cols[0], cols[1], cols[2], (uint64_t)n };
        take(&w->mt, rank, &rows);
    }
    gx_free(buf);
    gx_reg_rows_t rows = { r->m, r->p, r->l, r->n };
    take(&w->mt, rank, &rows);
    return 0;
}

int
gx_reg_lay_out(worker_t *w, const uint32_t *rank)
{
    if (reg_each(w, rank, gx_mtable_count) != 0)
        return -1;
    gx_mtable_offsets(&w->mt);
    if (reg_each(w, rank, gx_mtable_place) != 0)
        return -1;
    gx_mtable_settle(&w->mt, w->msz, w->identity);
    gx_error_t err;
    if (w->reg.blocks
        && gx_spill_drop(&w->e->spill, GX_SPACE_REG, w->self, &err) != 0)
        return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self, err.msg);
    w->reg.blocks = 0;
    return 0;
}

// ---- Loading: edge chunks --------------------------------------------------


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
    return gx_part_build(w, pt) != 0 || w->alarm.raised ? -1 : 0;
}
