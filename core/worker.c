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
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/agg.h"
#include "core/clock.h"
#include "core/idmap.h"
#include "core/line.h"
#include "core/mem.h"
#include "core/order.h"
#include "core/transport.h"

int
gx_worker_fail(worker_t *w, const char *fmt, ...)
{
    if (!w->failed) {
        w->failed = 1;
        va_list ap;
        va_start(ap, fmt);
        gx_engine_vfail(w->e, w->failure, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int
gx_worker_oom(worker_t *w)
{
    return gx_worker_fail(w, "worker: out of memory");
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

// Starts a phase's per-partition batches: rows of `kind` with these
// columns; each is made when its partition gets its first row.
static void
pbatch_begin(worker_t *w, uint32_t kind, uint32_t n_cols,
             const uint32_t *width)
{
    batch_init(&w->pb_proto, kind, 0, 0, n_cols, width, w->P);
}

batch_t *
gx_part_batch_new(worker_t *w, uint32_t p)
{
    batch_t *b = gx_malloc(sizeof *b);
    if (!b) {
        gx_worker_oom(w);
        return NULL;
    }
    *b = w->pb_proto;
    b->a = p;
    b->dest = part_worker(w, p);
    w->pbatch[p] = b;
    return b;
}

// Sends what the phase's batches hold (unless the worker failed) and frees
// them.
static void
pbatch_end(worker_t *w)
{
    for (uint32_t p = 0; p < w->P; p++) {
        batch_t *b = w->pbatch[p];
        if (!b)
            continue;
        if (!w->failed)
            gx_batch_flush(w, b);
        batch_free(b);
        free(b);
        w->pbatch[p] = NULL;
    }
}

// Sends what the phase's batches hold, keeping them for more rows.
static void
pbatch_flush(worker_t *w)
{
    for (uint32_t p = 0; p < w->P && !w->failed; p++)
        if (w->pbatch[p])
            gx_batch_flush(w, w->pbatch[p]);
}

static int handle(worker_t *w, const gx_frame_t *f);
static int peer_send(worker_t *w, uint32_t d, const gx_frame_t *f);

// Sends the batch as one frame (to itself: straight to the handler).
int
gx_batch_flush(worker_t *w, batch_t *b)
{
    if (b->n == 0)
        return 0;
    gx_frame_t f = { .kind = b->kind, .step = w->step + b->ahead, .a = b->a,
                     .b = b->n, .n_bins = b->n_cols };
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
    if (p >= w->P || part_worker(w, (uint32_t)p) != w->self)
        return NULL;
    return &w->parts[part_slot(w, (uint32_t)p)];
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

// Masters are indexed by u32 in frames: at most UINT32_MAX of them.
static int
master_grow(worker_t *w)
{
    uint64_t cap = gx_grow_cap(w->cap_master, (uint64_t)w->n_master + 1, 1024,
                               UINT32_MAX, sizeof(uint64_t));
    if (!cap)
        return gx_worker_oom(w);
    uint64_t *mid = gx_realloc(w->mid, cap * sizeof *mid);
    if (mid) w->mid = mid;
    uint64_t *od = gx_realloc(w->outdeg, cap * sizeof *od);
    if (od) w->outdeg = od;
    uint64_t *id = gx_realloc(w->indeg, cap * sizeof *id);
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
        uint64_t cap = gx_grow_cap(w->cap_reg, w->n_reg + 1, 4096, UINT64_MAX,
                                   sizeof(uint32_t));
        if (!cap)
            return gx_worker_oom(w);
        uint32_t *a = gx_realloc(w->reg_m, cap * sizeof *a);
        if (a) w->reg_m = a;
        uint32_t *b = gx_realloc(w->reg_p, cap * sizeof *b);
        if (b) w->reg_p = b;
        uint32_t *c = gx_realloc(w->reg_l, cap * sizeof *c);
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
    return gx_frame_rows_ok(f, i, width);
}

// REG: a partition's replicas, each with its local index and degrees
// there, to the worker of their masters. --vertices ids come with no
// partition.
static int
on_reg(worker_t *w, const gx_frame_t *f)
{
    if (!rows_ok(f, 0, 8) || !rows_ok(f, 1, 4) || !rows_ok(f, 2, 8)
        || !rows_ok(f, 3, 8) || (f->a >= w->P && f->a != GX_NO_PARTITION))
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

// ROUTE: where each replica of a partition has its master.
static int
on_route(worker_t *w, const gx_frame_t *f)
{
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

// MSG: combined messages for masters here (held until the step's are all
// in; see apply_held).
static int
on_msg(worker_t *w, const gx_frame_t *f)
{
    if (!rows_ok(f, 0, 4) || !rows_ok(f, 1, w->msz))
        return bad_frame(w, f);
    const uint8_t *idx = f->bin[0], *msg = f->bin[1];
    for (uint64_t i = 0; i < f->b; i++) {
        uint32_t m;
        memcpy(&m, idx + 4 * i, 4);
        if (m >= w->n_master)
            return bad_frame(w, f);
        if (master_receive(w, m, msg + i * w->msz) != 0)
            return -1;
    }
    return 0;
}

// The master index of vertex `id` here, or -1. The masters' id map is
// kept for programs that send direct messages (set_up_lists).
static inline int64_t
master_index(const worker_t *w, uint64_t id)
{
    // Ids above GX_MAX_VERTEX_ID are no vertex (and the map's empty key).
    return id <= GX_MAX_VERTEX_ID ? gx_idmap_get(&w->mmap, id) : -1;
}

// A direct message reaches master m (or no one: counted as dropped).
static int
direct_receive(worker_t *w, int64_t m, const void *msg)
{
    if (m < 0) {
        w->stats[GX_STAT_DROPPED]++;
        return 0;
    }
    master_mark(w, (uint32_t)m);
    return gx_mlist_push(w, &w->dlist, (uint32_t)m, msg);
}

// DIRECT: gx_send_to messages from a peer, addressed by vertex id (held
// like MSG frames, applied in sender order).
static int
on_direct(worker_t *w, const gx_frame_t *f)
{
    size_t ds = w->prog->direct_size;
    if (ds == 0 || !rows_ok(f, 0, 8) || !rows_ok(f, 1, ds))
        return bad_frame(w, f);
    const uint8_t *ids = f->bin[0], *msg = f->bin[1];
    for (uint64_t i = 0; i < f->b; i++) {
        uint64_t id;
        memcpy(&id, ids + 8 * i, 8);
        if (direct_receive(w, master_index(w, id), msg + i * ds) != 0)
            return -1;
    }
    return 0;
}

// SYNC: masters' outgoing messages for replicas of a partition here.
// Synced after apply of step s, read at the scatter of s + 1.
static int
on_sync(worker_t *w, const gx_frame_t *f)
{
    part_t *pt = part_of(w, f->a);
    if (!pt || !rows_ok(f, 0, 4) || !rows_ok(f, 1, w->msz)
        || (f->step != w->step && f->step + 1 != w->step))
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

static int
handle(worker_t *w, const gx_frame_t *f)
{
    switch (f->kind) {
    case GX_F_EDGES: {
        part_t *pt = part_of(w, f->a);
        if (!pt || !rows_ok(f, 0, sizeof(gx_edge_t))
            || (w->weighted && !rows_ok(f, 1, sizeof(double))))
            return bad_frame(w, f);
        return gx_part_append(w, pt, f->bin[0], w->weighted ? f->bin[1] : NULL,
                              f->b);
    }
    case GX_F_REG:   return on_reg(w, f);
    case GX_F_ROUTE: return on_route(w, f);
    case GX_F_MSG:   return on_msg(w, f);
    case GX_F_SYNC:  return on_sync(w, f);
    default:         return bad_frame(w, f);
    }
}

// Keeps a MSG frame (its ZeroMQ message, not a copy) until the step's
// messages are all in.
static int
hold(worker_t *w, gx_inframe_t *in)
{
    // A peer may be a step ahead with its direct messages: made at its
    // apply of this step, for the next.
    uint64_t step = in->f.step;
    if (step != w->step && !(in->f.kind == GX_F_DIRECT && step == w->step + 1))
        return bad_frame(w, &in->f);
    if (gx_grow((void **)&w->held, &w->cap_held, (uint64_t)w->n_held + 1, 64,
                UINT32_MAX, sizeof *w->held) != 0)
        return gx_worker_oom(w);
    // Moved, not copied: a small message's bytes may live inside its
    // zmq_msg_t (tcp), so its decoded view is made again when applied.
    gx_inframe_t *h = &w->held[w->n_held++];
    memset(h, 0, sizeof *h);
    zmq_msg_init(&h->msg);
    zmq_msg_move(&h->msg, &in->msg);
    h->open = 1;
    h->from = (uint32_t)in->f.a;
    h->f.kind = in->f.kind;
    h->f.step = step;
    return 0;
}

// Handles one frame from the inbox, waiting at most timeout_ms (-1: until
// one comes or the run is shut down). Returns 0 after a frame, 1 if
// nothing came, -1 if the worker cannot go on.
static int
pump(worker_t *w, int timeout_ms)
{
    gx_inframe_t in = { 0 };
    gx_error_t err;
    int rc = gx_recv(w->inbox, &in, timeout_ms, &err);
    if (rc < 0)
        return gx_worker_fail(w, "worker %u: %s", w->self, err.msg);
    if (rc > 0)
        return 1;
    // Counted here, not in handle(): frames to itself skip the socket and
    // the master's count alike.
    uint32_t kind = in.f.kind;
    uint64_t step = in.f.step;
    if (kind == GX_F_MSG || kind == GX_F_DIRECT)
        rc = hold(w, &in);
    else if (kind == GX_F_MSG_END && step != w->step)
        rc = bad_frame(w, &in.f);
    else if (kind != GX_F_MSG_END)
        rc = handle(w, &in.f);
    if (rc == 0 && kind == GX_F_DIRECT && step != w->step)
        w->got_direct_next++;
    else if (rc == 0 && kind < GX_F_KINDS)
        w->got[kind]++;
    gx_inframe_close(&in);
    return rc;
}

// A link to a peer is full (distributed mode bounds the links to other
// processes): take in what peers send meanwhile, for a millisecond, so
// that two workers sending to each other cannot both wait.
static int
take_in_while_full(void *arg)
{
    worker_t *w = arg;
    return w->failed || pump(w, 1) < 0 ? -1 : 0;
}

// Sends a frame to peer d, connecting to its inbox on first use: the mesh
// holds the connections that data flows over, not W^2. Every inbox is
// bound before the master lets any worker start (HELLO), so the connect
// is complete when it returns and ROUTER_MANDATORY cannot refuse.
static int
peer_send(worker_t *w, uint32_t d, const gx_frame_t *f)
{
    gx_error_t err;
    if (!w->connected[d]) {
        char ep[128];
        gx_worker_endpoint(w->e, d, ep, sizeof ep);
        if (zmq_connect(w->outbox, ep) != 0)
            return gx_worker_fail(w, "worker %u: cannot connect to %s: %s",
                                  w->self, ep, zmq_strerror(errno));
        w->connected[d] = 1;
    }
    if (gx_send_wait(w->outbox, (int)d + 1, f, &w->stats[GX_STAT_BYTES_SENT],
                     take_in_while_full, w, &err) != 0)
        return w->failed ? -1 : gx_worker_fail(w, "worker %u: %s", w->self,
                                               err.msg);
    // Counted for the master: the frames a barrier ends. Messages end
    // with MSG_END between peers instead, within the step.
    if (f->kind != GX_F_MSG && f->kind != GX_F_MSG_END)
        w->sent[d]++;
    return 0;
}

// Waits for the data frames the master said were sent here this phase:
// of `kind`, and of `also` (0: no second kind; no frame kind is 0).
static int
await_data(worker_t *w, uint32_t kind, uint32_t also)
{
    while (!w->failed && w->got[kind] + w->got[also] < w->expect)
        pump(w, -1);
    uint64_t got = w->got[kind] + w->got[also];
    if (!w->failed && got != w->expect)
        gx_worker_fail(w, "worker %u: %llu %s%s%s frames where %llu were sent",
                       w->self, (unsigned long long)got,
                       gx_frame_kind_name(kind), also ? " and " : "",
                       also ? gx_frame_kind_name(also) : "",
                       (unsigned long long)w->expect);
    w->got[kind] = w->got[also] = 0;
    return w->failed ? -1 : 0;
}
// ---- Barrier ---------------------------------------------------------------

static int
report(worker_t *w, uint64_t step)
{
    gx_frame_t f = { .kind = GX_F_REPORT, .step = step, .a = w->self,
                     .n_bins = 4 };
    f.bin[0] = w->stats;
    f.bin_len[0] = sizeof w->stats;
    f.bin[1] = w->agg_local;
    f.bin_len[1] = w->prog->n_aggs * sizeof(gx_agg_value_t);
    f.bin[2] = "";
    f.bin_len[2] = 0;
    f.bin[3] = w->sent;
    f.bin_len[3] = (size_t)w->W * 4;
    gx_error_t err;
    int rc = gx_send(w->ctl, 0, &f, NULL, &err);
    memset(w->stats, 0, sizeof w->stats);
    memset(w->sent, 0, (size_t)w->W * sizeof *w->sent);
    if (rc != 0)
        return gx_worker_fail(w, "worker %u: %s", w->self, err.msg);
    return 0;
}

// Waits for the master's word: 0 go on, 1 stop, -1 the run is over. GO
// carries the aggregates, the run's facts and the number of data frames
// the phase just ended sent to this worker.
static int
await_command(worker_t *w)
{
    gx_inframe_t in = { 0 };
    gx_error_t err;
    if (w->failed)
        return -1;
    if (gx_recv(w->ctl, &in, -1, &err) != 0)
        return gx_worker_fail(w, "worker %u: %s", w->self, err.msg);
    int rc = -1;
    size_t na = w->prog->n_aggs * sizeof(gx_agg_value_t);
    const gx_frame_t *f = &in.f;
    if (f->kind == GX_F_GO && f->n_bins == 4 && f->bin_len[0] == na
        && f->bin_len[1] == sizeof w->facts && f->bin_len[2] == 8
        && f->bin_len[3] == sizeof w->global) {
        memcpy(w->agg, f->bin[0], na);
        memcpy(w->facts, f->bin[1], sizeof w->facts);
        memcpy(&w->expect, f->bin[2], 8);
        memcpy(w->global, f->bin[3], sizeof w->global);
        rc = 0;
    } else if (f->kind == GX_F_STOP) {
        rc = 1;
    } else {
        gx_worker_fail(w, "worker %u: unexpected %s frame from the master",
                       w->self, gx_frame_kind_name(f->kind));
    }
    gx_inframe_close(&in);
    return rc;
}

// Reports at a barrier and waits for the master's word. 0: go on.
static int
barrier(worker_t *w, uint64_t step)
{
    if (w->failed || report(w, step) != 0)
        return -1;
    return await_command(w);
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


// An edge (and its weight, when the program reads weights: wt non-NULL)
// to its partition.
static inline int
route_edge(worker_t *w, uint32_t p, const gx_edge_t *e, const double *wt)
{
    if (part_worker(w, p) == w->self) {
        part_t *pt = &w->parts[part_slot(w, p)];
        chunk_t *c = pt->tail;
        if (c && c->n < c->cap) {
            if (wt)
                c->wt[c->n] = *wt;
            c->e[c->n++] = *e;
            pt->n_edges++;
            return 0;
        }
        return gx_part_append(w, pt, e, wt, 1);
    }
    batch_t *b = part_batch(w, p);
    if (!b || batch_reserve(w, b) != 0)
        return -1;
    memcpy(b->col[0] + (size_t)b->n * sizeof *e, e, sizeof *e);
    if (wt)
        memcpy(b->col[1] + (size_t)b->n * sizeof *wt, wt, sizeof *wt);
    if (++b->n == b->max)
        return gx_batch_flush(w, b);
    return 0;
}

// Routes a block of edges (reversed: the second reading of --undirected).
// The partitions of a strip are computed first, a loop of independent
// hashes the processor overlaps; routing edge by edge, each hash waited
// on the one before it (a fifth less time routing, measured).
static void
route_block(worker_t *w, const gx_edge_t *e, const double *wt, size_t n,
            bool reverse)
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
            if (route_edge(w, part[i], &x, wt ? &wt[i0 + i] : NULL) != 0)
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
    else
        gx_reader_set_cancel(r, &w->e->fail_seq);
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
    while (r && !w->failed
           && (n = gx_reader_next(r, buf, NULL, 4096, &err)) != 0) {
        if (n < 0) {
            gx_worker_fail(w, "%s", err.msg);
            break;
        }
        if (gx_grow((void **)&w->vids, &w->cap_vids, w->n_vids + (size_t)n,
                    8192, UINT64_MAX, sizeof *w->vids) != 0) {
            gx_worker_oom(w);
            break;
        }
        for (ssize_t i = 0; i < n; i++)
            w->vids[w->n_vids++] = buf[i].src;
    }
    gx_reader_destroy(&r);
}

static int
load(worker_t *w)
{
    const uint32_t ew[2] = { sizeof(gx_edge_t), sizeof(double) };
    pbatch_begin(w, GX_F_EDGES, w->weighted ? 2 : 1, ew);
    gx_reader_t *r = open_split(w, w->e->input, GX_LINES_EDGES);
    gx_edge_t *buf = r ? gx_malloc(READ_BLOCK * sizeof *buf) : NULL;
    double *wbuf = r && w->weighted ? gx_malloc(READ_BLOCK * sizeof *wbuf)
                                    : NULL;
    if (r && (!buf || (w->weighted && !wbuf)))
        gx_worker_oom(w);
    uint64_t edges = 0;
    double last = gx_clock_now();
    bool undirected = w->e->job->undirected;
    while (r && buf && (wbuf || !w->weighted) && !w->failed) {
        gx_error_t err;
        ssize_t n = gx_reader_next(r, buf, wbuf, READ_BLOCK, &err);
        if (n < 0) {
            gx_worker_fail(w, "%s", err.msg);
            break;
        }
        if (n == 0)
            break;
        edges += (uint64_t)n;
        route_block(w, buf, wbuf, (size_t)n, false);
        if (undirected)
            route_block(w, buf, wbuf, (size_t)n, true);
        // Take in what peers sent meanwhile, so their frames do not pile up
        // in the queue while this worker parses.
        while (!w->failed && pump(w, 0) == 0)
            ;
        progress(w, &last, r, edges);
    }
    w->stats[GX_STAT_EDGES] = edges;
    w->stats[GX_STAT_BYTES_IN] = r ? gx_reader_bytes(r) : 0;
    free(buf);
    free(wbuf);
    gx_reader_destroy(&r);
    if (!w->failed)
        load_vertices(w);
    // Read at the load barrier: an edgeless graph is fine if --vertices
    // gives it vertices.
    w->stats[GX_STAT_MASTERS] = w->n_vids;
    pbatch_end(w);
    return w->failed ? -1 : 0;
}

// ---- Build -----------------------------------------------------------------

static int
register_replicas(worker_t *w)
{
    const uint32_t width[4] = { 8, 4, 8, 8 };
    batch_t *out = gx_calloc(w->W, sizeof *out);
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
    return w->failed ? -1 : 0;
}

// Masters are numbered as registrations arrived, an order that changes
// from run to run; renumbered by id, init, apply and the aggregator
// partials run in the same order every time. O(M log M), once.
static int
sort_masters(worker_t *w)
{
    uint32_t n = w->n_master;
    if (n == 0)
        return 0;
    gx_id_at_t *order = gx_malloc((size_t)n * sizeof *order);
    uint32_t *rank = gx_malloc((size_t)n * sizeof *rank);
    uint64_t *tmp = gx_malloc((size_t)n * sizeof *tmp);
    if (!order || !rank || !tmp) {
        free(order); free(rank); free(tmp);
        return gx_worker_oom(w);
    }
    for (uint32_t m = 0; m < n; m++)
        order[m] = (gx_id_at_t){ w->mid[m], m };
    qsort(order, n, sizeof *order, gx_cmp_id_at);
    for (uint32_t m = 0; m < n; m++)
        rank[order[m].at] = m;
    uint64_t *cols[3] = { w->mid, w->outdeg, w->indeg };
    for (int c = 0; c < 3; c++) {
        for (uint32_t m = 0; m < n; m++)
            tmp[m] = cols[c][order[m].at];
        memcpy(cols[c], tmp, (size_t)n * sizeof *tmp);
    }
    for (uint64_t i = 0; i < w->n_reg; i++)
        w->reg_m[i] = rank[w->reg_m[i]];
    free(order); free(rank); free(tmp);
    return 0;
}

// The message lists a program needs (no combiner; direct messages) and
// the DIRECT batches to peers, once the masters are known.
static int
set_up_lists(worker_t *w)
{
    const gx_program_t *p = w->prog;
    if (p->combiner == GX_COMBINE_NONE
        && gx_mlist_init(w, &w->elist, p->msg_size) != 0)
        return -1;
    if (p->direct_size == 0)
        return 0;
    if (gx_mlist_init(w, &w->dlist, p->direct_size) != 0)
        return -1;
    // Direct messages come by vertex id: the map from registration stays,
    // renumbered as the masters were sorted.
    for (uint32_t m = 0; m < w->n_master; m++)
        gx_idmap_set(&w->mmap, w->mid[m], m);
    w->dout = gx_calloc(w->W, sizeof *w->dout);
    if (!w->dout)
        return gx_worker_oom(w);
    const uint32_t width[2] = { 8, p->direct_size };
    for (uint32_t d = 0; d < w->W; d++) {
        batch_init(&w->dout[d], GX_F_DIRECT, w->self, d, 2, width, w->W);
        w->dout[d].ahead = 1;
    }
    return 0;
}

// Masters are complete: lay out their arrays and tell every replica where
// its master lives.
static int
route_replicas(worker_t *w)
{
    if (sort_masters(w) != 0)
        return -1;
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
        || !w->rep_off || !w->rep_part || !w->rep_local
        || set_up_lists(w) != 0)
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
    if (w->prog->direct_size == 0)
        gx_idmap_free(&w->mmap);

    const uint32_t width[2] = { 4, 4 };
    pbatch_begin(w, GX_F_ROUTE, 2, width);
    for (uint32_t m = 0; m < w->n_master && !w->failed; m++)
        for (uint64_t r = w->rep_off[m]; r < w->rep_off[m + 1]; r++) {
            batch_t *b = part_batch(w, w->rep_part[r] & ~REP_SENDS);
            if (!b || batch_push(w, b, &w->rep_local[r], &m, NULL, NULL) != 0)
                break;
        }
    pbatch_end(w);
    return w->failed ? -1 : 0;
}

// Which peers this worker's messages can go to (the owners of its
// replicas) and how many peers can send it messages (the holders of its
// masters' replicas): the same relation read from both ends, so MSG_END
// goes exactly where it is awaited.
static int
message_peers(worker_t *w)
{
    uint8_t *mark = gx_calloc(w->W, 1);
    w->msg_peers = gx_malloc((size_t)w->W * sizeof *w->msg_peers);
    if (!mark || !w->msg_peers) {
        free(mark);
        return gx_worker_oom(w);
    }
    mark[w->self] = 1;
    for (uint32_t k = 0; k < w->n_parts; k++) {
        const part_t *pt = &w->parts[k];
        for (uint32_t l = 0; l < pt->n_local; l++)
            if (!mark[pt->owner[l]]) {
                mark[pt->owner[l]] = 1;
                w->msg_peers[w->n_msg_peers++] = pt->owner[l];
            }
    }
    memset(mark, 0, w->W);
    mark[w->self] = 1;
    for (uint64_t r = 0; r < w->rep_off[w->n_master]; r++) {
        uint32_t d = part_worker(w, w->rep_part[r] & ~REP_SENDS);
        if (!mark[d]) {
            mark[d] = 1;
            w->n_msg_senders++;
        }
    }
    free(mark);
    return 0;
}

// Partitions to CSR, replicas registered with their masters, routes back
// to the replicas: two barriers, each ending a phase by count.
static int
build(worker_t *w)
{
    uint64_t edges = 0, replicas = 0;
    if (await_data(w, GX_F_EDGES, 0) != 0)
        return -1;
    if (w->self == w->e->first)
        atomic_store(&w->e->where, GX_WHERE_BUILD);
    for (uint32_t k = 0; k < w->n_parts && !w->failed; k++) {
        gx_part_build(w, &w->parts[k]);
        edges += w->parts[k].n_edges;
        replicas += w->parts[k].n_local;
    }
    if (w->failed || register_replicas(w) != 0 || barrier(w, 0) != 0
        || await_data(w, GX_F_REG, 0) != 0 || route_replicas(w) != 0)
        return -1;
    w->stats[GX_STAT_EDGES] = edges;
    w->stats[GX_STAT_MASTERS] = w->n_master;
    w->stats[GX_STAT_REPLICAS] = replicas;
    if (barrier(w, 0) != 0 || await_data(w, GX_F_ROUTE, 0) != 0)
        return -1;
    return message_peers(w);
}

// ---- Supersteps ------------------------------------------------------------

// gx_send_to: to this worker's own masters straight into dself (applied
// at the next step, before the peers' messages), to a peer's through its
// DIRECT batch, sent at the end of this step's apply.
static int
send_direct(gx_context_t *ctx, uint64_t id, const void *msg)
{
    worker_t *w = ctx->engine_;
    size_t ds = w->prog->direct_size;
    if (w->failed)
        return -1;
    if (ds == 0)
        return gx_worker_fail(w, "program %s: gx_send_to needs a direct_size",
                              w->prog->name);
    w->stats[GX_STAT_DIRECT]++;
    uint32_t d = owner_of(w, id);
    if (d != w->self)
        return batch_push(w, &w->dout[d], &id, msg, NULL, NULL);
    int64_t m = master_index(w, id);
    if (m < 0) {
        w->stats[GX_STAT_DROPPED]++;
        return 0;
    }
    return gx_rows_push(w, &w->dself, (uint32_t)ds, (uint32_t)m, msg);
}

// gx_fail: a program's own error ends the run like any other failure.
static void
program_fail(gx_context_t *ctx, const char *msg)
{
    worker_t *w = ctx->engine_;
    gx_worker_fail(w, "program %s: %s", w->prog->name, msg ? msg : "failed");
}

static void
context(worker_t *w, gx_context_t *ctx, uint64_t step)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->n_vertices = w->facts[GX_FACT_VERTICES];
    ctx->n_edges = w->facts[GX_FACT_EDGES];
    ctx->superstep = step;
    ctx->state = w->e->job->program_state;
    ctx->agg = w->agg;
    ctx->global = w->global;
    ctx->agg_local = w->agg_local;
    ctx->agg_ops = w->prog->agg_ops;
    ctx->send_to_ = send_direct;
    ctx->fail_ = program_fail;
    ctx->engine_ = w;
    gx_agg_reset(w->prog->agg_ops, w->prog->n_aggs, w->agg_local);
}

// After init or apply: an active master's message goes to its replicas.
static void
sync_master(worker_t *w, gx_context_t *ctx, uint32_t m)
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
        if (part_worker(w, p) == w->self) {
            replica_receive(w, &w->parts[part_slot(w, p)], w->rep_local[r],
                            msg);
        } else {
            batch_t *b = part_batch(w, p);
            if (!b || batch_push_msg(w, b, w->rep_local[r], msg) != 0)
                return;
        }
    }
}

typedef struct held_at {
    uint32_t from, at;
} held_at_t;

static int
by_sender(const void *a, const void *b)
{
    const held_at_t *x = a, *y = b;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

// Applies one held frame and lets it go.
static void
apply_frame(worker_t *w, gx_inframe_t *h)
{
    gx_error_t err;
    uint32_t kind = h->f.kind;
    if (!w->failed && gx_frame_decode(zmq_msg_data(&h->msg),
                                      zmq_msg_size(&h->msg), &h->f, &err) != 0)
        gx_worker_fail(w, "worker %u: %s", w->self, err.msg);
    else if (!w->failed && kind == GX_F_MSG)
        on_msg(w, &h->f);
    else if (!w->failed)
        on_direct(w, &h->f);
    gx_inframe_close(h);
}

// Combines (or lists) this step's held MSG and DIRECT frames into the
// masters in sender order (each sender's frames in the order it sent
// them), then lets them go; frames for the next step stay. This worker's
// own messages went in first.
static int
apply_held(worker_t *w)
{
    held_at_t *order = gx_malloc(((size_t)w->n_held + 1) * sizeof *order);
    if (!order)
        return gx_worker_oom(w);
    uint32_t n = 0, kept = 0;
    for (uint32_t i = 0; i < w->n_held; i++)
        if (w->held[i].f.step == w->step)
            order[n++] = (held_at_t){ w->held[i].from, i };
    qsort(order, n, sizeof *order, by_sender);
    for (uint32_t i = 0; i < n; i++)
        apply_frame(w, &w->held[order[i].at]);
    for (uint32_t i = 0; i < w->n_held; i++) {
        gx_inframe_t *h = &w->held[i], *to = &w->held[kept];
        if (!h->open)
            continue;
        if (to != h) {
            zmq_msg_init(&to->msg);
            zmq_msg_move(&to->msg, &h->msg);
            to->f = h->f;
            to->from = h->from;
            to->open = 1;
            gx_inframe_close(h);
        }
        kept++;
    }
    w->n_held = kept;
    free(order);
    return w->failed ? -1 : 0;
}

// The direct messages this worker sent its own masters at the last step.
static int
apply_own_direct(worker_t *w)
{
    size_t width = 4 + (size_t)w->prog->direct_size;
    for (uint64_t i = 0; i < w->dself.n && !w->failed; i++) {
        uint32_t m;
        memcpy(&m, w->dself.row + i * width, 4);
        direct_receive(w, m, w->dself.row + i * width + 4);
    }
    w->dself.n = 0;
    return w->failed ? -1 : 0;
}

// Scatter, then the messages to their masters: MSG_END to every peer that
// may hear from this worker, and wait for every peer that may send to it.
// Then everything for the masters here is in: own first, then by sender.
static int
exchange_messages(worker_t *w, batch_t *msg_out)
{
    // What the last step sent here: SYNC frames after its apply, DIRECT
    // frames during it (those seen early, a step ahead, count now).
    w->got[GX_F_DIRECT] += w->got_direct_next;
    w->got_direct_next = 0;
    if (await_data(w, GX_F_SYNC, GX_F_DIRECT) != 0)
        return -1;
    for (uint32_t k = 0; k < w->n_parts && !w->failed; k++)
        gx_scatter_part(w, &w->parts[k], msg_out);
    for (uint32_t d = 0; d < w->W && !w->failed; d++)
        gx_batch_flush(w, &msg_out[d]);
    for (uint32_t i = 0; i < w->n_msg_peers && !w->failed; i++) {
        gx_frame_t f = { .kind = GX_F_MSG_END, .step = w->step, .a = w->self };
        peer_send(w, w->msg_peers[i], &f);
    }
    while (!w->failed && w->got[GX_F_MSG_END] < w->n_msg_senders)
        pump(w, -1);
    w->got[GX_F_MSG_END] = 0;
    if (w->failed || apply_own_direct(w) != 0 || apply_held(w) != 0
        || gx_mlist_sort(w, &w->elist) != 0 || gx_mlist_sort(w, &w->dlist) != 0)
        return -1;
    return 0;
}

// What apply() of master m is given.
static void
messages_of(worker_t *w, uint32_t m, gx_messages_t *in)
{
    memset(in, 0, sizeof *in);
    if (w->mflags[m] & M_HAS_MSG) {
        in->combined = w->macc + (size_t)m * w->msz;
        in->n_msgs = 1;
    }
    if (w->elist.size)
        in->msgs = mlist_take(&w->elist, m, &in->n_msgs);
    if (w->dlist.size)
        in->direct = mlist_take(&w->dlist, m, &in->n_direct);
}

// Apply at the masters that heard something (or are still active).
static void
apply_masters(worker_t *w, gx_context_t *ctx)
{
    w->n_next = 0;
    for (uint32_t i = 0; i < w->n_todo && !w->failed; i++) {
        uint32_t m = w->todo[i];
        gx_vertex_t v = { w->mid[m], w->outdeg[m], w->indeg[m] };
        gx_messages_t in;
        messages_of(w, m, &in);
        int active = w->prog->apply(ctx, &v, w->value + (size_t)m * w->vsz,
                                    &in);
        copy_msg(w, w->macc + (size_t)m * w->msz, w->identity);
        w->mflags[m] = 0;
        if (active) {
            w->mflags[m] = M_TODO;
            w->next_todo[w->n_next++] = m;
            sync_master(w, ctx, m);
        }
    }
    uint32_t *t = w->todo;
    w->todo = w->next_todo;
    w->next_todo = t;
    w->n_todo = w->n_next;
}

static void
init_masters(worker_t *w, gx_context_t *ctx)
{
    for (uint32_t m = 0; m < w->n_master && !w->failed; m++) {
        gx_vertex_t v = { w->mid[m], w->outdeg[m], w->indeg[m] };
        if (w->prog->init(ctx, &v, w->value + (size_t)m * w->vsz)) {
            w->mflags[m] |= M_TODO;
            w->todo[w->n_todo++] = m;
            sync_master(w, ctx, m);
        }
    }
}

static int
superstep(worker_t *w, uint64_t step, batch_t *msg_out)
{
    gx_context_t ctx;
    w->step = step;
    context(w, &ctx, step);
    if (step == 0) {
        init_masters(w, &ctx);
    } else {
        if (exchange_messages(w, msg_out) != 0)
            return -1;
        apply_masters(w, &ctx);
    }
    // Sent, not awaited: the master counts them at the barrier, and the
    // next step waits for them before it scatters. One round trip a step.
    for (uint32_t d = 0; w->dout && d < w->W && !w->failed; d++)
        gx_batch_flush(w, &w->dout[d]);
    pbatch_flush(w);
    w->stats[GX_STAT_ACTIVE] = w->n_todo;
    return w->failed ? -1 : 0;
}

// The master's word to send the next batch of values.
static int
await_more(worker_t *w)
{
    gx_inframe_t in = { 0 };
    gx_error_t err;
    if (gx_recv(w->ctl, &in, -1, &err) != 0)
        return gx_worker_fail(w, "worker %u: %s", w->self, err.msg);
    uint32_t kind = in.f.kind;
    gx_inframe_close(&in);
    if (kind != GX_F_MORE)
        return gx_worker_fail(w, "worker %u: unexpected %s frame from the "
                              "master", w->self, gx_frame_kind_name(kind));
    return 0;
}

// This worker's values, sorted by id (its masters are), in batches the
// master asks for one at a time (core/gather.c): step 1 marks the last.
static int
send_results(worker_t *w)
{
    uint32_t m = 0;
    do {
        uint32_t n = w->n_master - m < RESULT_ROWS ? w->n_master - m
                                                   : RESULT_ROWS;
        bool last = m + n == w->n_master;
        gx_frame_t f = { .kind = GX_F_RESULT, .step = last, .a = w->self,
                         .b = n, .n_bins = 2 };
        f.bin[0] = n ? (const void *)(w->mid + m) : "";
        f.bin_len[0] = (size_t)n * 8;
        f.bin[1] = n ? (const void *)(w->value + (size_t)m * w->vsz) : "";
        f.bin_len[1] = (size_t)n * w->vsz;
        gx_error_t err;
        if (gx_send(w->ctl, 0, &f, NULL, &err) != 0)
            return gx_worker_fail(w, "worker %u: %s", w->self, err.msg);
        m += n;
        if (!last && await_more(w) != 0)
            return -1;
    } while (m < w->n_master);
    return 0;
}

// --output-parts: this worker's vertices, sorted by id (its masters are),
// to DIR/part-NNNNN under a temporary name; RESULT_END tells the master
// how many. The master's word (GO) renames it: no part appears before
// every part is whole.
static int
write_part(worker_t *w)
{
    const char *dir = w->e->job->output_parts;
    char final[sizeof w->part_tmp];
    snprintf(w->part_tmp, sizeof w->part_tmp, "%s/.part-%05u.tmp", dir, w->self);
    snprintf(final, sizeof final, "%s/part-%05u", dir, w->self);
    FILE *f = fopen(w->part_tmp, "w");
    // On a host of a distributed run that does not share the master's
    // filesystem, DIR may not exist yet: it is made here, as on the master.
    if (!f && errno == ENOENT && (mkdir(dir, 0777) == 0 || errno == EEXIST))
        f = fopen(w->part_tmp, "w");
    if (!f)
        return gx_worker_fail(w, "cannot create %s: %s", w->part_tmp,
                              strerror(errno));
    w->part_pending = true;
    errno = 0;
    char line[GX_LINE_MAX];
    for (uint32_t m = 0; m < w->n_master && !w->failed; m++) {
        int n = gx_value_line(w->prog, w->mid[m],
                              w->value + (size_t)m * w->vsz, line);
        if (n < 0)
            gx_worker_fail(w, "%s: program %s formatted a value badly",
                           w->part_tmp, w->prog->name);
        else
            fwrite(line, 1, (size_t)n, f);
    }
    int bad = ferror(f);
    if ((fclose(f) != 0 || bad) && !w->failed)
        return gx_worker_fail(w, "cannot write %s: %s", w->part_tmp,
                              strerror(errno ? errno : EIO));
    gx_error_t err;
    gx_frame_t end = { .kind = GX_F_RESULT_END, .a = w->self, .b = w->n_master };
    if (w->failed || gx_send(w->ctl, 0, &end, NULL, &err) != 0)
        return w->failed ? -1 : gx_worker_fail(w, "worker %u: %s", w->self,
                                               err.msg);
    if (await_command(w) != 0)
        return -1;
    if (rename(w->part_tmp, final) != 0)
        return gx_worker_fail(w, "cannot rename %s to %s: %s", w->part_tmp,
                              final, strerror(errno));
    w->part_pending = false;
    end.b = 0;
    if (gx_send(w->ctl, 0, &end, NULL, &err) != 0)
        return gx_worker_fail(w, "worker %u: %s", w->self, err.msg);
    return 0;
}

static int
compute(worker_t *w)
{
    const uint32_t mw[2] = { 4, (uint32_t)w->msz };
    batch_t *msg_out = gx_calloc(w->W, sizeof *msg_out);
    if (!msg_out)
        return gx_worker_oom(w);
    for (uint32_t d = 0; d < w->W; d++)
        batch_init(&msg_out[d], GX_F_MSG, w->self, d, 2, mw, w->W);
    pbatch_begin(w, GX_F_SYNC, 2, mw);
    int rc = -1;
    for (uint64_t step = 0; !w->failed; step++) {
        if (w->self == w->e->first)          // for messages about the run
            atomic_store(&w->e->where, (long long)step);
        if (superstep(w, step, msg_out) != 0)
            break;
        int cmd = barrier(w, step);
        if (cmd == 1 && w->self == w->e->first)
            atomic_store(&w->e->where, GX_WHERE_RESULTS);
        if (cmd == 1)
            rc = w->e->job->output_parts ? write_part(w) : send_results(w);
        if (cmd != 0)
            break;
    }
    pbatch_end(w);
    for (uint32_t d = 0; d < w->W; d++)
        batch_free(&msg_out[d]);
    free(msg_out);
    return rc;
}

// ---- Thread ----------------------------------------------------------------

static void
worker_free(worker_t *w)
{
    if (w->part_pending)
        unlink(w->part_tmp);            // a failed run leaves no .tmp
    for (uint32_t k = 0; w->parts && k < w->n_parts; k++) {
        part_t *pt = &w->parts[k];
        for (chunk_t *c = pt->head, *n; c; c = n) {
            n = c->next;
            free(c);
        }
        free(pt->gid); free(pt->owner); free(pt->route);
        free(pt->out_off); free(pt->in_off); free(pt->out_dst); free(pt->in_src);
        free(pt->out_msg); free(pt->acc); free(pt->flags); free(pt->act);
        free(pt->touch); free(pt->in_w); free(pt->out_w);
        gx_closure_free(pt);
    }
    free(w->parts);
    free(w->vids);
    for (uint32_t p = 0; w->pbatch && p < w->P; p++)
        if (w->pbatch[p]) {
            batch_free(w->pbatch[p]);
            free(w->pbatch[p]);
        }
    free(w->pbatch);
    gx_idmap_free(&w->mmap);
    free(w->mid); free(w->outdeg); free(w->indeg); free(w->value);
    free(w->macc); free(w->mflags); free(w->todo); free(w->next_todo);
    free(w->reg_m); free(w->reg_p); free(w->reg_l);
    free(w->rep_off); free(w->rep_part); free(w->rep_local);
    gx_mlist_free(&w->elist);
    gx_mlist_free(&w->dlist);
    free(w->dself.row);
    for (uint32_t d = 0; w->dout && d < w->W; d++)
        batch_free(&w->dout[d]);
    free(w->dout);
    free(w->connected);
    free(w->sent);
    free(w->msg_peers);
    for (uint32_t i = 0; i < w->n_held; i++)
        gx_inframe_close(&w->held[i]);
    free(w->held);
    gx_socket_close(&w->outbox);
    gx_socket_close(&w->inbox);
    gx_socket_close(&w->ctl);
}

// Sockets up: the inbox bound at this worker's endpoint, the control
// DEALER connected to the master, the outbox ready to connect on demand.
// HELLO tells the master; it lets workers start only once every inbox is
// bound, so no connect ever races a bind.
static int
connect_master(worker_t *w)
{
    gx_error_t err;
    char ep[128], id[5];
    gx_worker_identity(w->self, id);
    void *ctx = w->e->zctx;
    if (!(w->inbox = gx_socket_new(ctx, ZMQ_DEALER, id, &err))
        || !(w->outbox = gx_socket_new(ctx, ZMQ_ROUTER, NULL, &err))
        || !(w->ctl = gx_socket_new(ctx, ZMQ_DEALER, id, &err)))
        return gx_worker_fail(w, "worker %u: %s", w->self, err.msg);
    // Bounded toward the hub's stand-ins for threads in other processes
    // (they bound their side too); unbounded toward a thread of this
    // process, whose inbox has no bound (docs/design.md, "Back-pressure").
    gx_socket_hwm(w->outbox, GX_INPROC_HWM);
    gx_worker_endpoint(w->e, w->self, ep, sizeof ep);
    if (zmq_bind(w->inbox, ep) != 0)
        return gx_worker_fail(w, "worker %u: cannot bind %s: %s", w->self, ep,
                              zmq_strerror(errno));
    if (zmq_connect(w->ctl, w->e->master_ep) != 0)
        return gx_worker_fail(w, "worker %u: cannot connect to the master at "
                              "%s: %s", w->self, w->e->master_ep,
                              zmq_strerror(errno));
    gx_frame_t hello = { .kind = GX_F_HELLO, .a = w->self };
    if (gx_send(w->ctl, 0, &hello, NULL, &err) != 0)
        return gx_worker_fail(w, "worker %u: %s", w->self, err.msg);
    return 0;
}

static int
worker_init(worker_t *w, gx_worker_arg_t *a)
{
    w->e = a->engine;
    w->failure = &a->failure;
    w->prog = w->e->prog;
    w->self = a->index;
    w->W = w->e->n_workers;
    w->P = w->e->n_parts;
    w->vsz = w->prog->value_size;
    w->msz = w->prog->msg_size;
    w->weighted = (w->prog->flags & GX_NEEDS_WEIGHTS) != 0;
    combiner_identity(w->prog->combiner, w->identity);
    w->n_parts = w->P / w->W + (w->self < w->P % w->W ? 1 : 0);
    w->parts = gx_calloc(w->n_parts, sizeof *w->parts);
    w->pbatch = gx_calloc(w->P, sizeof *w->pbatch);
    w->place = gx_placement(w->W);
    w->connected = gx_calloc(w->W, 1);
    w->sent = gx_calloc(w->W, sizeof *w->sent);
    if (!w->parts || !w->pbatch || !w->connected || !w->sent)
        return gx_worker_oom(w);
    // Registrations may arrive from a fast peer while this worker still
    // waits for its edges, so the masters' table exists from the start.
    if (gx_idmap_init(&w->mmap, 64) != 0)
        return gx_worker_oom(w);
    for (uint32_t k = 0; k < w->n_parts; k++)
        w->parts[k].id = w->self + k * w->W;
    return 0;
}

void *
gx_worker_main(void *arg)
{
    gx_worker_arg_t *a = arg;
    worker_t w = { 0 };
    w.e = a->engine;
    w.failure = &a->failure;
    // Each phase ends at a barrier: report, then wait for the master's
    // word. A failure anywhere shuts the run down, so every call below
    // returns soon after one.
    if (worker_init(&w, a) == 0 && connect_master(&w) == 0
        && await_command(&w) == 0 && load(&w) == 0 && barrier(&w, 0) == 0
        && build(&w) == 0 && compute(&w) == 0) {
        worker_free(&w);
        return NULL;
    }
    // Any way out but the last is a failure: make sure the run hears of
    // it, even from a path that forgot to say.
    gx_worker_fail(&w, "worker %u: stopped before the end of the run",
                   w.self);
    worker_free(&w);
    return NULL;
}
