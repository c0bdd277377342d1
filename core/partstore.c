// core/partstore.c: a partition's storage. Edges arrive in chunks (no
// doubling realloc, so the slack is one chunk); building gives them dense
// local ids and a CSR by destination, rewriting each chunk in place as
// 32-bit pairs so the peak is the raw edges plus the CSR, not twice the raw
// edges.
#include "core/partstore.h"

#include "core/closure.h"

#include <stdlib.h>
#include <sys/mman.h>
#include "core/mem.h"
#include "core/order.h"

// A new chunk for `cap` edges (and their weights, after them, for a
// weighted program), linked at the partition's tail.
static chunk_t *
chunk_new(worker_t *w, part_t *pt, size_t cap)
{
    size_t size = sizeof(chunk_t) + cap * sizeof(gx_edge_t)
                  + (w->weighted ? cap * sizeof(double) : 0);
    chunk_t *nc = gx_malloc(size);
    if (!nc) {
        gx_alarm_oom(&w->alarm);
        return NULL;
    }
#ifdef MADV_POPULATE_WRITE
    // Fault the chunk in with one call, not one fault a page (a tenth of
    // the routing time). Advice: failure changes nothing.
    uintptr_t lo = ((uintptr_t)nc + 4095) & ~(uintptr_t)4095;
    uintptr_t hi = ((uintptr_t)nc + size) & ~(uintptr_t)4095;
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#endif
    nc->next = NULL;
    nc->n = 0;
    nc->cap = cap;
    nc->wt = w->weighted ? (double *)(nc->e + cap) : NULL;
    if (pt->tail)
        pt->tail->next = nc;
    else
        pt->head = nc;
    pt->tail = nc;
    return nc;
}

// Appends n edges read from `bytes` and, for a weighted program, their
// weights from `weights` (neither need be aligned: frames are not).
int
gx_part_append(worker_t *w, part_t *pt, const void *bytes,
               const void *weights, size_t n)
{
    const uint8_t *src = bytes, *wsrc = weights;
    while (n > 0) {
        chunk_t *c = pt->tail;
        if (!c || c->n == c->cap) {
            size_t cap = c ? c->cap * 2 : CHUNK_MIN;
            if (cap > w->chunk_max)
                cap = w->chunk_max;
            if (!(c = chunk_new(w, pt, cap)))
                return -1;
        }
        size_t k = c->cap - c->n < n ? c->cap - c->n : n;
        memcpy(c->e + c->n, src, k * sizeof(gx_edge_t));
        if (c->wt) {
            memcpy(c->wt + c->n, wsrc, k * sizeof(double));
            wsrc += k * sizeof(double);
        }
        c->n += k;
        pt->n_edges += k;
        src += k * sizeof(gx_edge_t);
        n -= k;
    }
    return 0;
}

// Global id -> local index while a partition is built. Ids that are dense
// enough (the largest below 2 * edges + 2^20) use a direct array, which is
// sorted for free and costs no hashing; sparse ids (hashes, 2^62...) use the
// hash table and a sort.
typedef struct localizer {
    uint32_t  *dense;            // [max_id + 1], UINT32_MAX = absent
    gx_idmap_t map;
} localizer_t;

static inline uint32_t
localize(const localizer_t *lx, uint64_t id)
{
    return lx->dense ? lx->dense[id] : (uint32_t)gx_idmap_get(&lx->map, id);
}

static void
localizer_free(localizer_t *lx)
{
    gx_free(lx->dense);
    lx->dense = NULL;
    gx_idmap_free(&lx->map);
}

// Marks while numbering: a vertex is absent, only a destination here, or a
// source (has an out-edge here).
#define L_ABSENT   UINT32_MAX
#define L_DST_ONLY (UINT32_MAX - 1)
#define L_SOURCE   (UINT32_MAX - 2)

// The largest vertex id among the partition's edges.
static uint64_t
max_vertex_id(const part_t *pt)
{
    uint64_t max_id = 0;
    for (chunk_t *c = pt->head; c; c = c->next)
        for (size_t i = 0; i < c->n; i++) {
            uint64_t hi = c->e[i].src > c->e[i].dst ? c->e[i].src : c->e[i].dst;
            if (hi > max_id)
                max_id = hi;
        }
    return max_id;
}

// Fills pt->gid and pt->n_local. Sources come first, each block in
// ascending id order: a dense step reads the messages of sources only, and
// packed together they take half the cache lines on a 2-way cut.
static int
assign_local_ids(worker_t *w, part_t *pt, localizer_t *lx)
{
    memset(lx, 0, sizeof *lx);
    uint64_t max_id = max_vertex_id(pt);
    uint64_t n = 0, n_src = 0;
    uint64_t *dst_only = NULL;
    if (max_id < 2 * pt->n_edges + (1u << 20) && max_id < L_SOURCE) {
        lx->dense = gx_big_alloc((max_id + 1) * sizeof *lx->dense);
        if (!lx->dense)
            return gx_alarm_oom(&w->alarm);
        memset(lx->dense, 0xff, (max_id + 1) * sizeof *lx->dense);
        uint32_t *mark = lx->dense;
        for (chunk_t *c = pt->head; c; c = c->next)
            for (size_t i = 0; i < c->n; i++) {
                if (mark[c->e[i].dst] == L_ABSENT)
                    mark[c->e[i].dst] = L_DST_ONLY;
                mark[c->e[i].src] = L_SOURCE;
            }
        for (uint64_t id = 0; id <= max_id; id++) {
            n += mark[id] != L_ABSENT;
            n_src += mark[id] == L_SOURCE;
        }
    } else {
        if (gx_idmap_init(&lx->map, pt->n_edges / 4 + 16) != 0)
            return gx_alarm_oom(&w->alarm);
        for (chunk_t *c = pt->head; c; c = c->next)
            for (size_t i = 0; i < c->n; i++) {
                int ins;
                if (gx_idmap_put(&lx->map, c->e[i].dst, L_DST_ONLY, &ins) < 0
                    || gx_idmap_put(&lx->map, c->e[i].src, L_SOURCE, &ins) < 0)
                    return gx_alarm_oom(&w->alarm);
                if (!ins)
                    gx_idmap_set(&lx->map, c->e[i].src, L_SOURCE);
            }
        n = lx->map.count;
        for (uint64_t s = 0; s <= lx->map.mask; s++)
            n_src += lx->map.keys[s] != GX_IDMAP_EMPTY
                     && lx->map.vals[s] == L_SOURCE;
    }
    if (n >= L_SOURCE)
        return gx_alarm_raise(&w->alarm, "worker: a partition holds 2^32 "
                              "vertices or more; use more partitions%s",
                              "");
    pt->n_local = (uint32_t)n;
    pt->gid = gx_big_alloc((n ? n : 1) * sizeof *pt->gid);
    if (!pt->gid)
        return gx_alarm_oom(&w->alarm);
    if (lx->dense) {
        uint32_t k = 0, j = (uint32_t)n_src;
        for (uint64_t id = 0; id <= max_id; id++) {
            uint32_t *m = &lx->dense[id];
            if (*m == L_ABSENT)
                continue;
            uint32_t l = *m == L_SOURCE ? k++ : j++;
            pt->gid[l] = id;
            *m = l;
        }
    } else {
        dst_only = pt->gid + n_src;
        uint64_t k = 0, j = 0;
        for (uint64_t s = 0; s <= lx->map.mask; s++) {
            if (lx->map.keys[s] == GX_IDMAP_EMPTY)
                continue;
            if (lx->map.vals[s] == L_SOURCE)
                pt->gid[k++] = lx->map.keys[s];
            else
                dst_only[j++] = lx->map.keys[s];
        }
        qsort(pt->gid, n_src, sizeof *pt->gid, gx_cmp_u64);
        qsort(dst_only, n - n_src, sizeof *pt->gid, gx_cmp_u64);
        for (uint32_t l = 0; l < n; l++)
            gx_idmap_set(&lx->map, pt->gid[l], l);
    }
    return 0;
}

// The CSR by source, as the transpose of the CSR by destination.
int
gx_part_build_out_csr(worker_t *w, part_t *pt)
{
    uint32_t n = pt->n_local;
    size_t ne = pt->n_edges ? pt->n_edges : 1;
    pt->out_dst = gx_big_alloc(ne * sizeof *pt->out_dst);
    if (w->weighted)
        pt->out_w = gx_big_alloc(ne * sizeof *pt->out_w);
    uint64_t *opos = gx_big_alloc(((size_t)n + 1) * sizeof *opos);
    if (!pt->out_dst || !opos || (w->weighted && !pt->out_w)) {
        gx_free(opos);
        return gx_alarm_oom(&w->alarm);
    }
    memcpy(opos, pt->out_off, ((size_t)n + 1) * sizeof *opos);
    for (uint32_t v = 0; v < n; v++)
        for (uint64_t e = pt->in_off[v]; e < pt->in_off[v + 1]; e++) {
            uint64_t at = opos[pt->in_src[e]]++;
            pt->out_dst[at] = v;
            if (pt->out_w)
                pt->out_w[at] = pt->in_w[e];
        }
    gx_free(opos);
    return 0;
}

// The pairs (freed chunk by chunk) to in_src, through a bucket by source;
// weights travel alongside.
static int
csr_by_destination(worker_t *w, part_t *pt)
{
    uint32_t n = pt->n_local;
    size_t ne = pt->n_edges ? pt->n_edges : 1;
    uint32_t *by_src = gx_big_alloc(ne * sizeof *by_src);
    double *by_src_w = w->weighted ? gx_big_alloc(ne * sizeof *by_src_w) : NULL;
    uint64_t *pos = gx_big_alloc(((size_t)n + 1) * sizeof *pos);
    if (!by_src || !pos || (w->weighted && !by_src_w))
        goto oom;
    memcpy(pos, pt->out_off, ((size_t)n + 1) * sizeof *pos);
    for (chunk_t *c = pt->head, *next; c; c = next) {
        const uint32_t *pair = (const uint32_t *)c->e;
        for (size_t i = 0; i < c->n; i++) {
            uint64_t at = pos[pair[2 * i]]++;
            by_src[at] = pair[2 * i + 1];
            if (by_src_w)
                by_src_w[at] = c->wt[i];
        }
        next = c->next;
        gx_free(c);
    }
    pt->head = pt->tail = NULL;
    pt->in_src = gx_big_alloc(ne * sizeof *pt->in_src);
    if (w->weighted)
        pt->in_w = gx_big_alloc(ne * sizeof *pt->in_w);
    if (!pt->in_src || (w->weighted && !pt->in_w))
        goto oom;
    memcpy(pos, pt->in_off, ((size_t)n + 1) * sizeof *pos);
    for (uint32_t u = 0; u < n; u++)
        for (uint64_t e = pt->out_off[u]; e < pt->out_off[u + 1]; e++) {
            uint64_t at = pos[by_src[e]]++;
            pt->in_src[at] = u;
            if (pt->in_w)
                pt->in_w[at] = by_src_w[e];
        }
    gx_free(by_src);
    gx_free(by_src_w);
    gx_free(pos);
    return 0;
oom:
    gx_free(by_src);
    gx_free(by_src_w);
    gx_free(pos);
    return gx_alarm_oom(&w->alarm);
}

// Rewrites each chunk as (local src, local dst) pairs in place (the u32
// pairs fill the front half, weights move down behind them) and gives the
// rest back, chunk by chunk; counts the degrees on the way.
static void
pairs_in_place(part_t *pt, const localizer_t *lx)
{
    pt->tail = NULL;
    for (chunk_t **cp = &pt->head; *cp; cp = &(*cp)->next) {
        chunk_t *c = *cp;
        uint32_t *pair = (uint32_t *)c->e;
        for (size_t i = 0; i < c->n; i++) {
            uint32_t s = localize(lx, c->e[i].src);
            uint32_t d = localize(lx, c->e[i].dst);
            pair[2 * i] = s;
            pair[2 * i + 1] = d;
            pt->out_off[s + 1]++;
            pt->in_off[d + 1]++;
        }
        // Weights move down to follow the pairs, then the rest goes back.
        size_t keep = c->n * 2 * sizeof(uint32_t);
        if (c->wt) {
            memmove((uint8_t *)c->e + keep, c->wt, c->n * sizeof(double));
            keep += c->n * sizeof(double);
        }
        *cp = c = gx_shrink(c, sizeof *c + keep);
        if (c->wt)
            c->wt = (double *)((uint8_t *)c->e + c->n * 2 * sizeof(uint32_t));
    }
}

// Dense local ids in ascending global-id order (neighbouring ids stay
// neighbours in the arrays), then both CSRs by counting sort. Each chunk is
// rewritten in place as (local src, local dst) pairs and shrunk, so the
// peak is the raw edges plus the CSR, not twice the raw edges.
int
gx_part_build(worker_t *w, part_t *pt)
{
    // An empty partition holds nothing and costs nothing (--partitions
    // 65536 on a small graph): no arrays, n_local 0.
    if (pt->n_edges == 0)
        return 0;
    localizer_t lx;
    if (assign_local_ids(w, pt, &lx) != 0) {
        localizer_free(&lx);
        return -1;
    }
    uint32_t n = pt->n_local;
    pt->out_off = gx_big_calloc((size_t)n + 1, sizeof *pt->out_off);
    pt->in_off = gx_big_calloc((size_t)n + 1, sizeof *pt->in_off);
    if (!pt->out_off || !pt->in_off) {
        localizer_free(&lx);
        return gx_alarm_oom(&w->alarm);
    }
    pairs_in_place(pt, &lx);
    localizer_free(&lx);
    for (uint32_t l = 0; l < n; l++) {
        if (pt->out_off[l + 1])
            pt->n_with_out++;
        pt->out_off[l + 1] += pt->out_off[l];
        pt->in_off[l + 1] += pt->in_off[l];
    }
    // The CSR by destination is always built: a dense step pulls along it.
    // Its neighbour lists are sorted by source, whatever order the edges
    // arrived in (peers' frames interleave differently every run), so a
    // pull adds the same numbers in the same order every time: edges go
    // out by source first, then back by destination, both counting sorts.
    // The peak stays the raw pairs plus one 32-bit array.
    if (csr_by_destination(w, pt) != 0)
        return -1;
    if (w->prog->flags & GX_LOCAL_CLOSURE) {
        if (gx_closure_build(w, pt) != 0)
            return -1;
    } else if (w->prog->direction == GX_DIR_BOTH
               && gx_part_build_out_csr(w, pt) != 0) {
        return -1;
    }

    size_t nn = n ? n : 1;
    pt->owner = gx_big_alloc(nn * sizeof *pt->owner);
    pt->route = gx_big_alloc(nn * sizeof *pt->route);
    pt->out_msg = gx_big_alloc(nn * w->msz);
    pt->flags = gx_big_calloc(nn, 1);
    pt->act = gx_big_alloc(nn * sizeof *pt->act);
    if (!pt->owner || !pt->route || !pt->out_msg || !pt->flags || !pt->act)
        return gx_alarm_oom(&w->alarm);
    for (uint32_t l = 0; l < n; l++) {
        pt->owner[l] = owner_of(w, pt->gid[l]);
        // An inactive replica's message is the identity, so a gather can
        // combine every neighbour's without a branch (scatter.c).
        memcpy(pt->out_msg + (size_t)l * w->msz, w->identity, w->msz);
    }
    return 0;
}

// A scatter's scratch: the replicas' accumulators (at the identity; a
// push resets each slot it sends) and the touched list. Made at the first
// scatter, not at build, so that building every partition does not hold
// them all at once; a paged partition's go with its pages (core/paging.c).
int
gx_part_scratch(worker_t *w, part_t *pt)
{
    if (pt->acc || pt->n_local == 0)
        return 0;
    pt->acc = gx_big_alloc((size_t)pt->n_local * w->msz);
    pt->touch = gx_big_alloc((size_t)pt->n_local * sizeof *pt->touch);
    if (!pt->acc || !pt->touch)
        return gx_alarm_oom(&w->alarm);
    for (uint32_t l = 0; l < pt->n_local; l++)
        memcpy(pt->acc + (size_t)l * w->msz, w->identity, w->msz);
    return 0;
}

void
gx_part_free(part_t *pt)
{
    for (chunk_t *c = pt->head, *n; c; c = n) {
        n = c->next;
        gx_free(c);
    }
    gx_free(pt->gid); gx_free(pt->owner); gx_free(pt->route);
    gx_free(pt->out_off); gx_free(pt->in_off);
    gx_free(pt->out_dst); gx_free(pt->in_src);
    gx_free(pt->out_msg); gx_free(pt->acc); gx_free(pt->flags);
    gx_free(pt->act); gx_free(pt->touch);
    gx_free(pt->in_w); gx_free(pt->out_w);
    gx_closure_free(pt);
    gx_free(pt->rlog.buf); gx_free(pt->slog.buf);   // core/paging.c's logs
}
