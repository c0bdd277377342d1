// core/worker.c: a worker. It parses its byte range of the input, ships each
// edge to the worker holding its partition, builds its partitions (dense
// local ids, CSR both ways), registers its replicas with their masters, and
// then runs supersteps: scatter over local edges into per-replica
// accumulators, one batch of combined messages per peer, apply at the
// masters it owns, and sync of the outgoing messages back to the replicas.
//
// Every transfer between workers is a ZeroMQ frame, also in local mode; a
// worker talks to itself by calling the same handler directly. The
// partition store (partstore.c) and the per-edge loops (scatter.c) live
// apart; this file runs the phases and the conversation with peers. The fact that
// shaped the loop: a message depends only on its sender, so a master computes
// it once and ships it once per replica, and the per-edge work is one load
// and one combine on dense arrays.
#include "core/worker.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/agg.h"
#include "core/clock.h"
#include "core/idmap.h"
#include "core/mem.h"
#include "core/transport.h"

int
gx_worker_fail(worker_t *w, const char *fmt, const char *detail)
{
    if (!w->failed) {
        w->failed = 1;
        gx_error_set(&w->err, fmt, detail);
    }
    return -1;
}

int
gx_worker_oom(worker_t *w)
{
    return gx_worker_fail(w, "worker: out of memory%s", "");
}

// ---- Batches ---------------------------------------------------------------

// A batch of a set of `n_set` (one per peer, or per partition). Columns
// are allocated on first use and grown, and a frame goes out at `max`
// rows, so a set buffers at most BATCH_BUDGET rows however many workers
// and partitions there are.
static void
batch_init(batch_t *b, uint32_t kind, uint64_t a, uint32_t dest,
           uint32_t n_cols, const uint32_t *width, uint32_t n_set)
{
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->a = a;
    b->dest = dest;
    b->n_cols = n_cols;
    for (uint32_t c = 0; c < n_cols; c++)
        b->width[c] = width[c];
    uint32_t max = BATCH_BUDGET / (n_set ? n_set : 1);
    b->max = max < 1024 ? 1024 : max > BATCH_ROWS ? BATCH_ROWS : max;
}

static void
batch_free(batch_t *b)
{
    for (uint32_t c = 0; c < b->n_cols; c++)
        free(b->col[c]);
    memset(b, 0, sizeof *b);
}

static int handle(worker_t *w, const gx_frame_t *f);
static int peer_send(worker_t *w, uint32_t d, const gx_frame_t *f);

// Sends the batch as one frame (to itself: straight to the handler).
int
gx_batch_flush(worker_t *w, batch_t *b)
{
    if (b->n == 0)
        return 0;
    gx_frame_t f = { .kind = b->kind, .a = b->a, .b = b->n,
                     .n_bins = b->n_cols };
    for (uint32_t c = 0; c < b->n_cols; c++) {
        f.bin[c] = b->col[c];
        f.bin_len[c] = (size_t)b->n * b->width[c];
    }
    b->n = 0;
    if (b->dest == w->self)
        return handle(w, &f);
    return peer_send(w, b->dest, &f);
}

// Appends one row; the caller passes a pointer per column.
static inline int
batch_push(worker_t *w, batch_t *b, const void *c0, const void *c1,
           const void *c2, const void *c3)
{
    const void *src[4] = { c0, c1, c2, c3 };
    if (batch_reserve(w, b) != 0)
        return -1;
    for (uint32_t c = 0; c < b->n_cols; c++)
        memcpy(b->col[c] + (size_t)b->n * b->width[c], src[c], b->width[c]);
    if (++b->n == b->max)
        return gx_batch_flush(w, b);
    return 0;
}

// ---- Frames in -------------------------------------------------------------

static part_t *
part_of(worker_t *w, uint64_t p)
{
    if (p >= w->P || w->part_worker[p] != w->self)
        return NULL;
    return &w->parts[w->part_slot[p]];
}

// The value a built-in combiner leaves unchanged; accumulators start there
// so the edge loop needs no "first message?" branch.
static void
combiner_identity(gx_combiner_t c, uint8_t out[GX_MAX_MSG_SIZE])
{
    memset(out, 0, GX_MAX_MSG_SIZE);
    double d;
    int64_t i;
    uint64_t u;
    switch (c) {
    case GX_COMBINE_MIN_F64: d = INFINITY;  memcpy(out, &d, 8); break;
    case GX_COMBINE_MAX_F64: d = -INFINITY; memcpy(out, &d, 8); break;
    case GX_COMBINE_MIN_I64: i = INT64_MAX; memcpy(out, &i, 8); break;
    case GX_COMBINE_MAX_I64: i = INT64_MIN; memcpy(out, &i, 8); break;
    case GX_COMBINE_MIN_U64: u = UINT64_MAX; memcpy(out, &u, 8); break;
    default: break;
    }
}

static int
master_grow(worker_t *w)
{
    uint32_t cap = w->cap_master ? w->cap_master * 2 : 1024;
    uint64_t *mid = realloc(w->mid, cap * sizeof *mid);
    if (mid) w->mid = mid;
    uint64_t *od = realloc(w->outdeg, cap * sizeof *od);
    if (od) w->outdeg = od;
    uint64_t *id = realloc(w->indeg, cap * sizeof *id);
    if (id) w->indeg = id;
    if (!mid || !od || !id)
        return gx_worker_oom(w);
    w->cap_master = cap;
    return 0;
}

static int
reg_push(worker_t *w, uint32_t m, uint32_t p, uint32_t l)
{
    if (w->n_reg == w->cap_reg) {
        uint64_t cap = w->cap_reg ? w->cap_reg * 2 : 4096;
        uint32_t *a = realloc(w->reg_m, cap * sizeof *a);
        if (a) w->reg_m = a;
        uint32_t *b = realloc(w->reg_p, cap * sizeof *b);
        if (b) w->reg_p = b;
        uint32_t *c = realloc(w->reg_l, cap * sizeof *c);
        if (c) w->reg_l = c;
        if (!a || !b || !c)
            return gx_worker_oom(w);
        w->cap_reg = cap;
    }
    w->reg_m[w->n_reg] = m;
    w->reg_p[w->n_reg] = p;
    w->reg_l[w->n_reg] = l;
    w->n_reg++;
    return 0;
}

static int
bad_frame(worker_t *w, const gx_frame_t *f)
{
    return gx_worker_fail(w, "worker: malformed %s frame from a peer",
                gx_frame_kind_name(f->kind));
}

// Checks that bin i holds b rows of `width` bytes.
static bool
rows_ok(const gx_frame_t *f, uint32_t i, size_t width)
{
    return f->n_bins > i && f->bin_len[i] == f->b * width;
}

static int
handle(worker_t *w, const gx_frame_t *f)
{
    switch (f->kind) {
    case GX_F_EDGES: {
        part_t *pt = part_of(w, f->a);
        if (!pt || !rows_ok(f, 0, sizeof(gx_edge_t)))
            return bad_frame(w, f);
        return gx_part_append(w, pt, f->bin[0], f->b);
    }
    case GX_F_REG: {
        if (!rows_ok(f, 0, 8) || !rows_ok(f, 1, 4) || !rows_ok(f, 2, 8)
            || !rows_ok(f, 3, 8))
            return bad_frame(w, f);
        const uint8_t *ids = f->bin[0], *loc = f->bin[1];
        const uint8_t *od = f->bin[2], *idg = f->bin[3];
        for (uint64_t i = 0; i < f->b; i++) {
            uint64_t id, o, d;
            uint32_t l;
            memcpy(&id, ids + 8 * i, 8);
            memcpy(&l, loc + 4 * i, 4);
            memcpy(&o, od + 8 * i, 8);
            memcpy(&d, idg + 8 * i, 8);
            int inserted;
            if (w->n_master == w->cap_master && master_grow(w) != 0)
                return -1;
            int64_t m = gx_idmap_put(&w->mmap, id, w->n_master, &inserted);
            if (m < 0)
                return gx_worker_oom(w);
            if (inserted) {
                w->mid[m] = id;
                w->outdeg[m] = w->indeg[m] = 0;
                w->n_master++;
            }
            w->outdeg[m] += o;
            w->indeg[m] += d;
            bool sends = ((w->prog->direction & GX_DIR_OUT) && o > 0)
                         || ((w->prog->direction & GX_DIR_IN) && d > 0);
            if (f->a != GX_NO_PARTITION
                && reg_push(w, (uint32_t)m,
                            (uint32_t)f->a | (sends ? REP_SENDS : 0), l) != 0)
                return -1;
        }
        return 0;
    }
    case GX_F_ROUTE: {
        part_t *pt = part_of(w, f->a);
        if (!pt || !rows_ok(f, 0, 4) || !rows_ok(f, 1, 4))
            return bad_frame(w, f);
        for (uint64_t i = 0; i < f->b; i++) {
            uint32_t l, m;
            memcpy(&l, (const uint8_t *)f->bin[0] + 4 * i, 4);
            memcpy(&m, (const uint8_t *)f->bin[1] + 4 * i, 4);
            if (l >= pt->n_local)
                return bad_frame(w, f);
            pt->route[l] = m;
        }
        return 0;
    }
    case GX_F_MSG: {
        if (!rows_ok(f, 0, 4) || !rows_ok(f, 1, w->msz))
            return bad_frame(w, f);
        const uint8_t *idx = f->bin[0], *msg = f->bin[1];
        for (uint64_t i = 0; i < f->b; i++) {
            uint32_t m;
            memcpy(&m, idx + 4 * i, 4);
            if (m >= w->n_master)
                return bad_frame(w, f);
            master_receive(w, m, msg + i * w->msz);
        }
        return 0;
    }
    case GX_F_SYNC: {
        part_t *pt = part_of(w, f->a);
        if (!pt || !rows_ok(f, 0, 4) || !rows_ok(f, 1, w->msz))
            return bad_frame(w, f);
        const uint8_t *loc = f->bin[0], *msg = f->bin[1];
        for (uint64_t i = 0; i < f->b; i++) {
            uint32_t l;
            memcpy(&l, loc + 4 * i, 4);
            if (l >= pt->n_local)
                return bad_frame(w, f);
            replica_receive(w, pt, l, msg + i * w->msz);
        }
        return 0;
    }
    case GX_F_EDGES_END: case GX_F_REG_END: case GX_F_ROUTE_END:
    case GX_F_MSG_END: case GX_F_SYNC_END:
        w->ends[f->kind]++;
        return 0;
    default:
        return bad_frame(w, f);
    }
}

// Handles one frame from the inbox, waiting at most timeout_ms (-1:
// forever). The control socket is watched too: the only word the master
// sends in the middle of a phase is ABORT (another worker failed), and a
// worker blocked on a peer must hear it. Returns 0 after a frame, 1 if
// nothing came, -1 if the worker cannot go on.
static int
pump(worker_t *w, int timeout_ms)
{
    gx_inframe_t in = { 0 };
    gx_error_t err;
    int rc = gx_recv(w->inbox, &in, 0, NULL, &err);
    if (rc == 0) {
        rc = handle(w, &in.f);
        gx_inframe_close(&in);
        return rc;
    }
    if (rc < 0) {
        w->broken = 1;
        return gx_worker_fail(w, "%s", err.msg);
    }
    if (timeout_ms == 0)
        return 1;
    zmq_pollitem_t it[2] = {
        { zsock_resolve(w->inbox), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve(w->ctl), 0, ZMQ_POLLIN, 0 },
    };
    do
        rc = zmq_poll(it, 2, timeout_ms);
    while (rc < 0 && zmq_errno() == EINTR);
    if (rc < 0) {
        w->broken = 1;
        return gx_worker_fail(w, "worker: poll: %s", zmq_strerror(zmq_errno()));
    }
    if (rc == 0)
        return 1;
    if (it[1].revents & ZMQ_POLLIN) {
        if (gx_recv(w->ctl, &in, -1, NULL, &err) == 0
            && in.f.kind == GX_F_ABORT)
            w->aborted = 1;
        gx_inframe_close(&in);
        if (!w->aborted) {
            w->broken = 1;
            return gx_worker_fail(w, "worker: unexpected word from the master%s", "");
        }
        return -1;
    }
    if (gx_recv(w->inbox, &in, -1, NULL, &err) != 0) {
        w->broken = 1;
        return gx_worker_fail(w, "%s", err.msg);
    }
    rc = handle(w, &in.f);
    gx_inframe_close(&in);
    return rc;
}

// Sends a frame to peer d. A peer not reachable is either still starting
// (its inbox not bound yet: retry) or gone because the master aborted the
// run (this worker is about to hear ABORT too: stop trying when it does).
static int
peer_send(worker_t *w, uint32_t d, const gx_frame_t *f)
{
    gx_error_t err;
    for (int tries = 0;; tries++) {
        if (gx_send(w->outbox, (int)d + 1, f, &w->stats[GX_STAT_BYTES_SENT],
                    &err) == 0)
            return 0;
        if (errno != EHOSTUNREACH || tries >= 30000)
            break;
        gx_inframe_t in = { 0 };
        gx_error_t e2;
        if (gx_recv(w->ctl, &in, 0, NULL, &e2) == 0) {
            if (in.f.kind == GX_F_ABORT)
                w->aborted = 1;
            gx_inframe_close(&in);
            break;
        }
        zclock_sleep(1);
    }
    w->broken = 1;
    return gx_worker_fail(w, "worker: %s", err.msg);
}

// Tells every peer this phase's data is all sent. A failed worker still
// says it (with its status), so no peer waits for it; the master then
// aborts the run.
static void
send_ends(worker_t *w, uint32_t end_kind)
{
    for (uint32_t d = 0; d < w->W && !w->broken; d++) {
        if (d == w->self)
            continue;
        gx_frame_t f = { .kind = end_kind, .a = w->self, .b = w->failed };
        peer_send(w, d, &f);
    }
}

// Handles frames until every peer has sent its end of the phase.
static int
await_ends(worker_t *w, uint32_t end_kind)
{
    while (w->ends[end_kind] < w->W - 1 && !w->broken && !w->aborted)
        pump(w, -1);
    w->ends[end_kind] = 0;
    return w->failed ? -1 : 0;
}

static int
finish_phase(worker_t *w, uint32_t end_kind)
{
    send_ends(w, end_kind);
    return await_ends(w, end_kind);
}

// ---- Barrier ---------------------------------------------------------------

static int
report(worker_t *w, uint64_t step)
{
    gx_frame_t f = { .kind = GX_F_REPORT, .step = step, .a = w->self,
                     .b = w->failed, .n_bins = 3 };
    f.bin[0] = w->stats;
    f.bin_len[0] = sizeof w->stats;
    f.bin[1] = w->agg_local;
    f.bin_len[1] = w->prog->n_aggs * sizeof(gx_agg_value_t);
    f.bin[2] = w->err.msg;
    f.bin_len[2] = w->failed ? strlen(w->err.msg) : 0;
    gx_error_t err;
    int rc = gx_send(w->ctl, 0, &f, NULL, &err);
    memset(w->stats, 0, sizeof w->stats);
    return rc;
}

// Waits for the master's word: 0 go on, 1 stop, -1 abort.
static int
await_command(worker_t *w)
{
    gx_inframe_t in = { 0 };
    gx_error_t err;
    if (gx_recv(w->ctl, &in, -1, NULL, &err) != 0)
        return -1;
    int rc = -1;
    if (in.f.kind == GX_F_GO) {
        size_t na = w->prog->n_aggs * sizeof(gx_agg_value_t);
        if (in.f.n_bins >= 1 && in.f.bin_len[0] == na)
            memcpy(w->agg, in.f.bin[0], na);
        if (in.f.n_bins >= 2 && in.f.bin_len[1] == sizeof w->facts)
            memcpy(w->facts, in.f.bin[1], sizeof w->facts);
        rc = 0;
    } else if (in.f.kind == GX_F_STOP) {
        rc = 1;
    }
    gx_inframe_close(&in);
    return rc;
}

static void
progress(worker_t *w, double *last, const gx_reader_t *r, uint64_t edges)
{
    double t = gx_clock_now();
    if (t - *last < 0.1)
        return;
    *last = t;
    uint64_t s[2] = { r ? gx_reader_bytes(r) : 0, edges };
    gx_frame_t f = { .kind = GX_F_PROGRESS, .a = w->self, .n_bins = 1 };
    f.bin[0] = s;
    f.bin_len[0] = sizeof s;
    gx_error_t err;
    gx_send(w->ctl, 0, &f, NULL, &err);   // progress is best effort
}

// ---- Load ------------------------------------------------------------------


static inline int
route_edge(worker_t *w, uint32_t p, const gx_edge_t *e)
{
    if (w->part_worker[p] == w->self) {
        part_t *pt = &w->parts[w->part_slot[p]];
        chunk_t *c = pt->tail;
        if (c && c->n < c->cap) {
            c->e[c->n++] = *e;
            pt->n_edges++;
            return 0;
        }
        return gx_part_append(w, pt, e, 1);
    }
    batch_t *b = &w->edge_out[p];
    if (batch_reserve(w, b) != 0)
        return -1;
    memcpy(b->col[0] + (size_t)b->n * sizeof *e, e, sizeof *e);
    if (++b->n == b->max)
        return gx_batch_flush(w, b);
    return 0;
}

// Routes a block of edges (reversed: the second reading of --undirected).
// The partitions of a strip are computed first, a loop of independent
// hashes the processor overlaps; routing edge by edge, each hash waited
// on the one before it (a fifth less time routing, measured).
static void
route_block(worker_t *w, const gx_edge_t *e, size_t n, bool reverse)
{
    enum { STRIP = 1024 };
    uint32_t part[STRIP];
    const gx_partitioner_t *pr = &w->e->parter;
    for (size_t i0 = 0; i0 < n && !w->failed; i0 += STRIP) {
        size_t k = n - i0 < STRIP ? n - i0 : STRIP;
        const gx_edge_t *s = e + i0;
        if (reverse)
            for (size_t i = 0; i < k; i++)
                part[i] = gx_partition_of(pr, s[i].dst, s[i].src);
        else
            for (size_t i = 0; i < k; i++)
                part[i] = gx_partition_of(pr, s[i].src, s[i].dst);
        for (size_t i = 0; i < k; i++) {
            gx_edge_t x = reverse ? (gx_edge_t){ s[i].dst, s[i].src } : s[i];
            if (route_edge(w, part[i], &x) != 0)
                return;
        }
    }
}

// A non-splittable input (gz, stdin) has one reader, worker 0's.
static gx_reader_t *
open_split(worker_t *w, const gx_input_t *in, gx_line_kind_t kind)
{
    if (!in)
        return NULL;
    bool split = gx_input_splittable(in);
    if (!split && w->self != 0)
        return NULL;
    gx_error_t err;
    gx_reader_t *r = gx_reader_new(in, kind, split ? w->self : 0,
                                   split ? w->W : 1, &err);
    if (!r)
        gx_worker_fail(w, "%s", err.msg);
    return r;
}

// Reads this worker's split of --vertices into w->vids: every input error
// is found while loading, before any work is done on the graph.
static void
load_vertices(worker_t *w)
{
    gx_reader_t *r = open_split(w, w->e->vinput, GX_LINES_VERTICES);
    gx_edge_t buf[4096];
    ssize_t n;
    gx_error_t err;
    while (r && !w->failed && (n = gx_reader_next(r, buf, 4096, &err)) != 0) {
        if (n < 0) {
            gx_worker_fail(w, "%s", err.msg);
            break;
        }
        if (w->n_vids + (size_t)n > w->cap_vids) {
            size_t cap = w->cap_vids ? w->cap_vids * 2 : 8192;
            uint64_t *v = realloc(w->vids, cap * sizeof *v);
            if (!v) {
                gx_worker_oom(w);
                break;
            }
            w->vids = v;
            w->cap_vids = cap;
        }
        for (ssize_t i = 0; i < n; i++)
            w->vids[w->n_vids++] = buf[i].src;
    }
    gx_reader_destroy(&r);
}

static int
load(worker_t *w)
{
    const uint32_t ew = sizeof(gx_edge_t);
    for (uint32_t p = 0; p < w->P; p++)
        batch_init(&w->edge_out[p], GX_F_EDGES, p, w->part_worker[p], 1, &ew,
                   w->P);
    gx_reader_t *r = open_split(w, w->e->input, GX_LINES_EDGES);
    gx_edge_t *buf = r ? malloc(READ_BLOCK * sizeof *buf) : NULL;
    if (r && !buf)
        gx_worker_oom(w);
    uint64_t edges = 0;
    double last = gx_clock_now();
    bool undirected = w->e->job->undirected;
    while (r && buf && !w->failed) {
        gx_error_t err;
        ssize_t n = gx_reader_next(r, buf, READ_BLOCK, &err);
        if (n < 0) {
            gx_worker_fail(w, "%s", err.msg);
            break;
        }
        if (n == 0)
            break;
        edges += (uint64_t)n;
        route_block(w, buf, (size_t)n, false);
        if (undirected)
            route_block(w, buf, (size_t)n, true);
        // Take in what peers sent meanwhile, so their frames do not pile up
        // in the queue while this worker parses.
        while (!w->failed && pump(w, 0) == 0)
            ;
        if (w->aborted || w->broken)
            break;
        progress(w, &last, r, edges);
    }
    w->stats[GX_STAT_EDGES] = edges;
    w->stats[GX_STAT_BYTES_IN] = r ? gx_reader_bytes(r) : 0;
    free(buf);
    gx_reader_destroy(&r);
    if (!w->failed && !w->aborted && !w->broken)
        load_vertices(w);
    for (uint32_t p = 0; p < w->P && !w->failed; p++)
        if (gx_partition_worker(p, w->W) != w->self)
            gx_batch_flush(w, &w->edge_out[p]);
    for (uint32_t p = 0; p < w->P; p++)
        batch_free(&w->edge_out[p]);
    return finish_phase(w, GX_F_EDGES_END);
}

// ---- Build -----------------------------------------------------------------

static int
register_replicas(worker_t *w)
{
    const uint32_t width[4] = { 8, 4, 8, 8 };
    batch_t *out = calloc(w->W, sizeof *out);
    if (!out)
        return gx_worker_oom(w);
    for (uint32_t d = 0; d < w->W && !w->failed; d++)
        batch_init(&out[d], GX_F_REG, 0, d, 4, width, w->W);
    for (uint32_t k = 0; k < w->n_parts && !w->failed; k++) {
        part_t *pt = &w->parts[k];
        for (uint32_t d = 0; d < w->W; d++)
            out[d].a = pt->id;
        for (uint32_t l = 0; l < pt->n_local && !w->failed; l++) {
            uint64_t od = pt->out_off[l + 1] - pt->out_off[l];
            uint64_t id = pt->in_off[l + 1] - pt->in_off[l];
            batch_push(w, &out[pt->owner[l]], &pt->gid[l], &l, &od, &id);
        }
        for (uint32_t d = 0; d < w->W && !w->failed; d++)
            gx_batch_flush(w, &out[d]);
    }
    // Vertices named in --vertices: registered with no replica, so isolated
    // vertices exist (and count in N) without edges.
    const uint64_t zero = 0;
    const uint32_t none = 0;
    for (uint32_t d = 0; d < w->W; d++)
        out[d].a = GX_NO_PARTITION;
    for (size_t i = 0; i < w->n_vids && !w->failed; i++)
        batch_push(w, &out[owner_of(w, w->vids[i])], &w->vids[i], &none,
                   &zero, &zero);
    for (uint32_t d = 0; d < w->W && !w->failed; d++)
        gx_batch_flush(w, &out[d]);
    free(w->vids);
    w->vids = NULL;
    for (uint32_t d = 0; d < w->W; d++)
        batch_free(&out[d]);
    free(out);
    return finish_phase(w, GX_F_REG_END);
}

// Masters are complete: lay out their arrays and tell every replica where
// its master lives.
static int
route_replicas(worker_t *w)
{
    size_t nm = w->n_master ? w->n_master : 1;
    w->value = gx_big_alloc(nm * w->vsz);
    w->macc = gx_big_alloc(nm * w->msz);
    w->mflags = gx_big_calloc(nm, 1);
    w->todo = gx_big_alloc(nm * sizeof *w->todo);
    w->next_todo = gx_big_alloc(nm * sizeof *w->next_todo);
    w->rep_off = gx_big_calloc(nm + 1, sizeof *w->rep_off);
    w->rep_part = gx_big_alloc((w->n_reg ? w->n_reg : 1) * sizeof *w->rep_part);
    w->rep_local = gx_big_alloc((w->n_reg ? w->n_reg : 1) * sizeof *w->rep_local);
    if (!w->value || !w->macc || !w->mflags || !w->todo || !w->next_todo
        || !w->rep_off || !w->rep_part || !w->rep_local)
        gx_worker_oom(w);
    if (!w->failed) {
        for (uint32_t m = 0; m < w->n_master; m++)
            memcpy(w->macc + (size_t)m * w->msz, w->identity, w->msz);
        for (uint64_t i = 0; i < w->n_reg; i++)
            w->rep_off[w->reg_m[i] + 1]++;
        for (uint32_t m = 0; m < w->n_master; m++)
            w->rep_off[m + 1] += w->rep_off[m];
        for (uint64_t i = 0; i < w->n_reg; i++) {
            uint64_t at = w->rep_off[w->reg_m[i]]++;
            w->rep_part[at] = w->reg_p[i];
            w->rep_local[at] = w->reg_l[i];
        }
        for (uint32_t m = w->n_master; m > 0; m--)
            w->rep_off[m] = w->rep_off[m - 1];
        w->rep_off[0] = 0;
    }
    free(w->reg_m);
    free(w->reg_p);
    free(w->reg_l);
    w->reg_m = w->reg_p = w->reg_l = NULL;
    gx_idmap_free(&w->mmap);

    const uint32_t width[2] = { 4, 4 };
    batch_t *out = calloc(w->P, sizeof *out);
    if (!out)
        return gx_worker_oom(w);
    for (uint32_t p = 0; p < w->P && !w->failed; p++)
        batch_init(&out[p], GX_F_ROUTE, p, gx_partition_worker(p, w->W),
                   2, width, w->P);
    for (uint32_t m = 0; m < w->n_master && !w->failed; m++)
        for (uint64_t r = w->rep_off[m]; r < w->rep_off[m + 1]; r++)
            batch_push(w, &out[w->rep_part[r] & ~REP_SENDS], &w->rep_local[r],
                       &m, NULL, NULL);
    for (uint32_t p = 0; p < w->P; p++) {
        if (!w->failed)
            gx_batch_flush(w, &out[p]);
        batch_free(&out[p]);
    }
    free(out);
    return finish_phase(w, GX_F_ROUTE_END);
}

static int
build(worker_t *w)
{
    uint64_t edges = 0, replicas = 0;
    for (uint32_t k = 0; k < w->n_parts && !w->failed; k++) {
        gx_part_build(w, &w->parts[k]);
        edges += w->parts[k].n_edges;
        replicas += w->parts[k].n_local;
    }
    if (gx_idmap_init(&w->mmap, replicas / 2 + 16) != 0)
        gx_worker_oom(w);
    // Even a failed worker walks through the phases, so no peer waits.
    register_replicas(w);
    route_replicas(w);
    w->stats[GX_STAT_EDGES] = edges;
    w->stats[GX_STAT_MASTERS] = w->n_master;
    w->stats[GX_STAT_REPLICAS] = replicas;
    return w->failed ? -1 : 0;
}

// ---- Supersteps ------------------------------------------------------------

static void
context(worker_t *w, gx_context_t *ctx, uint64_t step)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->n_vertices = w->facts[GX_FACT_VERTICES];
    ctx->n_edges = w->facts[GX_FACT_EDGES];
    ctx->superstep = step;
    ctx->state = w->e->job->program_state;
    ctx->agg = w->agg;
    ctx->agg_local = w->agg_local;
    ctx->agg_ops = w->prog->agg_ops;
    gx_agg_reset(w->prog->agg_ops, w->prog->n_aggs, w->agg_local);
}

// After init or apply: an active master's message goes to its replicas.
static void
sync_master(worker_t *w, gx_context_t *ctx, uint32_t m, batch_t *sync)
{
    gx_vertex_t v = { w->mid[m], w->outdeg[m], w->indeg[m] };
    uint8_t msg[GX_MAX_MSG_SIZE];
    memset(msg, 0, sizeof msg);
    if (w->rep_off[m] == w->rep_off[m + 1]
        || !w->prog->scatter(ctx, &v, w->value + (size_t)m * w->vsz, msg))
        return;
    for (uint64_t r = w->rep_off[m]; r < w->rep_off[m + 1] && !w->failed; r++) {
        if (!(w->rep_part[r] & REP_SENDS))
            continue;
        uint32_t p = w->rep_part[r] & ~REP_SENDS;
        if (w->part_worker[p] == w->self)
            replica_receive(w, &w->parts[w->part_slot[p]], w->rep_local[r],
                            msg);
        else
            batch_push_msg(w, &sync[p], w->rep_local[r], msg);
    }
}

static int
superstep(worker_t *w, uint64_t step, batch_t *msg_out, batch_t *sync)
{
    gx_context_t ctx;
    context(w, &ctx, step);
    if (step == 0) {
        for (uint32_t m = 0; m < w->n_master && !w->failed; m++) {
            gx_vertex_t v = { w->mid[m], w->outdeg[m], w->indeg[m] };
            if (w->prog->init(&ctx, &v, w->value + (size_t)m * w->vsz)) {
                w->mflags[m] |= M_TODO;
                w->todo[w->n_todo++] = m;
                sync_master(w, &ctx, m, sync);
            }
        }
    } else {
        // The replicas' messages of the previous step must all be in.
        if (await_ends(w, GX_F_SYNC_END) != 0)
            return -1;
        for (uint32_t k = 0; k < w->n_parts && !w->failed; k++)
            gx_scatter_part(w, &w->parts[k], msg_out);
        for (uint32_t d = 0; d < w->W && !w->failed; d++)
            gx_batch_flush(w, &msg_out[d]);
        if (finish_phase(w, GX_F_MSG_END) != 0)
            return -1;
        w->n_next = 0;
        for (uint32_t i = 0; i < w->n_todo && !w->failed; i++) {
            uint32_t m = w->todo[i];
            gx_vertex_t v = { w->mid[m], w->outdeg[m], w->indeg[m] };
            uint8_t *acc = w->macc + (size_t)m * w->msz;
            uint8_t *val = w->value + (size_t)m * w->vsz;
            const void *msg = (w->mflags[m] & M_HAS_MSG) ? acc : NULL;
            int active = w->prog->apply(&ctx, &v, val, msg);
            copy_msg(w, acc, w->identity);
            w->mflags[m] = 0;
            if (active) {
                w->mflags[m] = M_TODO;
                w->next_todo[w->n_next++] = m;
                sync_master(w, &ctx, m, sync);
            }
        }
        uint32_t *t = w->todo;
        w->todo = w->next_todo;
        w->next_todo = t;
        w->n_todo = w->n_next;
    }
    // Sent, not awaited: the barrier needs only this worker's counts, and
    // the next step waits for the peers' syncs before it scatters. One
    // round trip less per superstep.
    for (uint32_t p = 0; p < w->P && !w->failed; p++)
        gx_batch_flush(w, &sync[p]);
    send_ends(w, GX_F_SYNC_END);
    w->stats[GX_STAT_ACTIVE] = w->n_todo;
    return 0;
}

static int
send_results(worker_t *w)
{
    const uint32_t width[2] = { 8, (uint32_t)w->vsz };
    batch_t b;
    batch_init(&b, GX_F_RESULT, w->self, 0, 2, width, 1);
    gx_error_t err;
    int rc = 0;
    for (uint32_t m = 0; m < w->n_master && rc == 0; m++) {
        if (batch_reserve(w, &b) != 0) {
            rc = -1;
            break;
        }
        memcpy(b.col[0] + (size_t)b.n * 8, &w->mid[m], 8);
        memcpy(b.col[1] + (size_t)b.n * w->vsz, w->value + (size_t)m * w->vsz,
               w->vsz);
        if (++b.n == b.max || m + 1 == w->n_master) {
            gx_frame_t f = { .kind = GX_F_RESULT, .a = w->self, .b = b.n,
                             .n_bins = 2 };
            f.bin[0] = b.col[0];
            f.bin_len[0] = (size_t)b.n * 8;
            f.bin[1] = b.col[1];
            f.bin_len[1] = (size_t)b.n * w->vsz;
            rc = gx_send(w->ctl, 0, &f, NULL, &err);
            b.n = 0;
        }
    }
    batch_free(&b);
    gx_frame_t end = { .kind = GX_F_RESULT_END, .a = w->self };
    if (rc == 0)
        rc = gx_send(w->ctl, 0, &end, NULL, &err);
    return rc;
}

static int
compute(worker_t *w)
{
    const uint32_t mw[2] = { 4, (uint32_t)w->msz };
    batch_t *msg_out = calloc(w->W, sizeof *msg_out);
    batch_t *sync = calloc(w->P, sizeof *sync);
    int rc = -1;
    if (!msg_out || !sync) {
        gx_worker_oom(w);
    } else {
        for (uint32_t d = 0; d < w->W; d++)
            batch_init(&msg_out[d], GX_F_MSG, w->self, d, 2, mw, w->W);
        for (uint32_t p = 0; p < w->P; p++)
            batch_init(&sync[p], GX_F_SYNC, p, w->part_worker[p], 2, mw,
                       w->P);
    }
    for (uint64_t step = 0;; step++) {
        superstep(w, step, msg_out, sync);
        if (w->aborted || report(w, step) != 0)
            break;
        int cmd = await_command(w);
        if (cmd == 1)
            rc = send_results(w);
        if (cmd != 0)
            break;
    }
    for (uint32_t d = 0; msg_out && d < w->W; d++)
        batch_free(&msg_out[d]);
    for (uint32_t p = 0; sync && p < w->P; p++)
        batch_free(&sync[p]);
    free(msg_out);
    free(sync);
    return rc;
}

// ---- Thread ----------------------------------------------------------------

static void
worker_free(worker_t *w)
{
    for (uint32_t k = 0; w->parts && k < w->n_parts; k++) {
        part_t *pt = &w->parts[k];
        for (chunk_t *c = pt->head, *n; c; c = n) {
            n = c->next;
            free(c);
        }
        free(pt->gid); free(pt->owner); free(pt->route);
        free(pt->out_off); free(pt->in_off); free(pt->out_dst); free(pt->in_src);
        free(pt->out_msg); free(pt->acc); free(pt->flags); free(pt->act);
        free(pt->touch);
    }
    free(w->parts);
    free(w->vids);
    free(w->edge_out);
    free(w->part_worker);
    free(w->part_slot);
    gx_idmap_free(&w->mmap);
    free(w->mid); free(w->outdeg); free(w->indeg); free(w->value);
    free(w->macc); free(w->mflags); free(w->todo); free(w->next_todo);
    free(w->reg_m); free(w->reg_p); free(w->reg_l);
    free(w->rep_off); free(w->rep_part); free(w->rep_local);
    zsock_destroy(&w->outbox);
    zsock_destroy(&w->inbox);
    zsock_destroy(&w->ctl);
}

static int
connect_all(worker_t *w)
{
    gx_error_t err;
    char ep[128], id[5];
    gx_worker_identity(w->self, id);
    w->inbox = gx_socket_new(ZMQ_DEALER, NULL, &err);
    w->outbox = gx_socket_new(ZMQ_ROUTER, NULL, &err);
    w->ctl = gx_socket_new(ZMQ_DEALER, NULL, &err);
    if (!w->inbox || !w->outbox || !w->ctl)
        return gx_worker_fail(w, "%s", err.msg);
    int one = 1;
    zmq_setsockopt(zsock_resolve(w->inbox), ZMQ_ROUTING_ID, id, sizeof id);
    zmq_setsockopt(zsock_resolve(w->ctl), ZMQ_ROUTING_ID, id, sizeof id);
    zmq_setsockopt(zsock_resolve(w->outbox), ZMQ_ROUTER_MANDATORY, &one,
                   sizeof one);
    snprintf(ep, sizeof ep, w->e->worker_ep, w->self);
    if (zsock_bind(w->inbox, "%s", ep + 1) < 0)
        return gx_worker_fail(w, "worker: cannot bind %s", ep + 1);
    if (zsock_connect(w->ctl, "%s", w->e->master_ep + 1) != 0)
        return gx_worker_fail(w, "worker: cannot connect to the master at %s",
                    w->e->master_ep + 1);
    for (uint32_t d = 0; d < w->W; d++) {
        if (d == w->self)
            continue;
        snprintf(ep, sizeof ep, w->e->worker_ep, d);
        if (zsock_connect(w->outbox, "%s", ep + 1) != 0)
            return gx_worker_fail(w, "worker: cannot connect to %s", ep + 1);
    }
    return 0;
}

void *
gx_worker_main(void *arg)
{
    gx_worker_arg_t *a = arg;
    worker_t w = { 0 };
    w.e = a->engine;
    w.prog = w.e->prog;
    w.self = a->index;
    w.W = w.e->n_workers;
    w.P = w.e->n_parts;
    w.vsz = w.prog->value_size;
    w.msz = w.prog->msg_size;
    combiner_identity(w.prog->combiner, w.identity);
    w.n_parts = w.P / w.W + (w.self < w.P % w.W ? 1 : 0);
    w.parts = calloc(w.n_parts ? w.n_parts : 1, sizeof *w.parts);
    w.edge_out = calloc(w.P, sizeof *w.edge_out);
    w.part_worker = malloc(w.P * sizeof *w.part_worker);
    w.part_slot = malloc(w.P * sizeof *w.part_slot);
    if (!w.parts || !w.edge_out || !w.part_worker || !w.part_slot)
        gx_worker_oom(&w);
    for (uint32_t p = 0; p < w.P && w.part_slot; p++) {
        w.part_worker[p] = gx_partition_worker(p, w.W);
        w.part_slot[p] = p / w.W;
    }
    for (uint32_t k = 0; k < w.n_parts && w.parts; k++)
        w.parts[k].id = w.self + k * w.W;
    if (connect_all(&w) != 0 || w.failed) {
        // Without its sockets the worker cannot take part: say so, if it
        // can reach the master at all, and let the master abort the run.
        if (w.ctl)
            report(&w, 0);
        worker_free(&w);
        return NULL;
    }
    // Each phase ends at a barrier: report, then wait for the master's word.
    load(&w);
    if (!w.aborted && report(&w, 0) == 0 && await_command(&w) == 0) {
        build(&w);
        if (!w.aborted && report(&w, 0) == 0 && await_command(&w) == 0)
            compute(&w);
    }
    worker_free(&w);
    return NULL;
}
