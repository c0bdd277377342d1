// core/worker.c: a worker. It parses its byte range of the input, ships each
// edge to the worker holding its partition, builds its partitions (dense
// local ids, CSR both ways), registers its replicas with their masters, and
// then runs supersteps: scatter over local edges into per-replica
// accumulators, one batch of combined messages per peer, apply at the
// masters it owns, and sync of the outgoing messages back to the replicas.
//
// Every transfer between workers is a ZeroMQ frame, also in local mode; a
// worker talks to itself by calling the same handler directly. The fact that
// shaped the loop: a message depends only on its sender, so a master computes
// it once and ships it once per replica, and the per-edge work is one load
// and one combine on dense arrays.
#include "core/engine.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "core/agg.h"
#include "core/idmap.h"
#include "core/mem.h"
#include "core/transport.h"

#define BATCH_ROWS   65536u          // rows per frame at most
#define BATCH_BUDGET 524288u         // rows buffered over a set of batches
#define READ_BLOCK   65536u          // edges per reader call
#define CHUNK_MIN    4096u           // first edge chunk of a partition
#define CHUNK_MAX    (1u << 20)      // edges per chunk at most (16 MiB)

enum { F_ACTIVE = 1, F_TOUCHED = 2 };   // replica flags
enum { M_TODO = 1, M_HAS_MSG = 2 };     // master flags

// Marks a replica (in rep_part) that has edges along the program's
// direction. Only those scatter, so only those are synced: on RMAT about a
// third of the replicas are pure receivers.
#define REP_SENDS 0x80000000u

typedef struct chunk {
    struct chunk *next;
    size_t        n, cap;
    gx_edge_t     e[];
} chunk_t;

typedef struct part {
    uint32_t  id;
    // Loading: edges as they arrive, in chunks (no doubling realloc, so the
    // slack is one chunk, not the whole array).
    chunk_t  *head, *tail;
    uint64_t  n_edges;
    // Built.
    uint32_t  n_local;
    uint64_t *gid;                   // local -> global id (ascending)
    uint32_t *owner;                 // local -> worker of the master
    uint32_t *route;                 // local -> master index at the owner
    uint64_t *out_off, *in_off;      // CSR offsets [n_local + 1]
    uint32_t *out_dst, *in_src;      // CSR neighbours [n_edges]
    uint32_t  n_with_out;            // locals with an out-edge here
    // Superstep state.
    uint8_t  *out_msg;               // [n_local * msg_size]: synced messages
    uint8_t  *acc;                   // [n_local * msg_size]: combined here
    uint8_t  *flags;
    uint32_t *act, n_act, n_act_out; // active locals (n_act_out: with out-edges)
    uint32_t *touch, n_touch;
} part_t;

// A batch of rows for one frame: up to four fixed-width columns.
typedef struct batch {
    uint32_t kind;
    uint64_t a;
    uint32_t dest;                   // worker
    uint32_t n_cols;
    uint32_t width[4];
    uint8_t *col[4];
    uint32_t n;
    uint32_t cap;                    // rows allocated (grown on demand)
    uint32_t max;                    // rows that make a frame
} batch_t;

typedef struct worker {
    gx_engine_t        *e;
    const gx_program_t *prog;
    uint32_t            self, W, P;
    size_t              vsz, msz;
    // inbox: a DEALER bound at this worker's endpoint, routing id "w<i>";
    // outbox: one ROUTER connected to every peer's inbox, addressing them
    // by routing id. Two sockets a worker however many peers (a PUSH per
    // peer made W^2 sockets), and a send to a peer that is gone fails at
    // once (ROUTER_MANDATORY) instead of blocking forever.
    zsock_t            *inbox, *outbox, *ctl;
    gx_error_t          err;         // first error of this worker
    int                 failed;      // this worker's part is wrong: tell the master
    int                 broken;      // the transport failed: stop at once
    int                 aborted;     // the master said ABORT
    uint32_t            ends[GX_F_RESULT_END + 1];
    uint64_t            stats[GX_STAT_N];

    part_t             *parts;       // partitions held: p = self + k*W
    uint32_t            n_parts;
    uint32_t           *part_worker; // [P] p % W, p / W: no division per edge
    uint32_t           *part_slot;
    batch_t            *edge_out;    // [P] EDGES batches (remote partitions)

    // Masters of the vertices this worker owns.
    gx_idmap_t          mmap;
    uint32_t            n_master, cap_master;
    uint64_t           *mid, *outdeg, *indeg;
    uint8_t            *value, *macc, *mflags;
    uint32_t           *todo, n_todo, *next_todo, n_next;
    // Replicas as registered (master, partition, local), then as CSR.
    uint32_t           *reg_m, *reg_p, *reg_l;
    uint64_t            n_reg, cap_reg;
    uint64_t           *rep_off;
    uint32_t           *rep_part, *rep_local;

    // Ids from --vertices read by this worker, registered while building.
    uint64_t           *vids;
    size_t              n_vids, cap_vids;

    gx_agg_value_t      agg[GX_MAX_AGGS], agg_local[GX_MAX_AGGS];
    uint64_t            facts[GX_FACT_N];
    uint8_t             identity[GX_MAX_MSG_SIZE];
} worker_t;

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
fail(worker_t *w, const char *fmt, const char *detail)
{
    if (!w->failed) {
        w->failed = 1;
        gx_error_set(&w->err, fmt, detail);
    }
    return -1;
}

static int
oom(worker_t *w)
{
    return fail(w, "worker: out of memory%s", "");
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

// Makes room for one more row.
static inline int
batch_reserve(worker_t *w, batch_t *b)
{
    if (b->n < b->cap)
        return 0;
    uint32_t cap = b->cap ? b->cap * 2 : 1024;
    if (cap > b->max)
        cap = b->max;
    for (uint32_t c = 0; c < b->n_cols; c++) {
        uint8_t *col = realloc(b->col[c], (size_t)cap * b->width[c]);
        if (!col)
            return oom(w);
        b->col[c] = col;
    }
    b->cap = cap;
    return 0;
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
static int
batch_flush(worker_t *w, batch_t *b)
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
    if (++b->n == BATCH_ROWS)
        return batch_flush(w, b);
    return 0;
}

// Copies one message. Built-in combiners fix messages at 8 bytes; a
// constant-size memcpy is a single move, a variable one a libc call.
static inline void
copy_msg(const worker_t *w, void *dst, const void *src)
{
    if (w->msz == 8)
        memcpy(dst, src, 8);
    else
        memcpy(dst, src, w->msz);
}

// The hot rows: (index, message), once per touched replica or synced
// replica every superstep.
static inline int
batch_push_msg(worker_t *w, batch_t *b, uint32_t idx, const void *msg)
{
    if (batch_reserve(w, b) != 0)
        return -1;
    memcpy(b->col[0] + (size_t)b->n * 4, &idx, 4);
    copy_msg(w, b->col[1] + (size_t)b->n * w->msz, msg);
    if (++b->n == b->max)
        return batch_flush(w, b);
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

// Appends n edges read from `bytes` (which need not be aligned: frames are
// not).
static int
part_append(worker_t *w, part_t *pt, const void *bytes, size_t n)
{
    const uint8_t *src = bytes;
    while (n > 0) {
        chunk_t *c = pt->tail;
        if (!c || c->n == c->cap) {
            size_t cap = c ? c->cap * 2 : CHUNK_MIN;
            if (cap > CHUNK_MAX)
                cap = CHUNK_MAX;
            size_t size = sizeof(chunk_t) + cap * sizeof(gx_edge_t);
            chunk_t *nc = malloc(size);
            if (!nc)
                return oom(w);
#ifdef MADV_POPULATE_WRITE
            // Fault the chunk in with one call, not one fault a page (a
            // tenth of the routing time). Advice: failure changes nothing.
            uintptr_t lo = ((uintptr_t)nc + 4095) & ~(uintptr_t)4095;
            uintptr_t hi = ((uintptr_t)nc + size) & ~(uintptr_t)4095;
            if (hi > lo)
                madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#endif
            nc->next = NULL;
            nc->n = 0;
            nc->cap = cap;
            if (c)
                c->next = nc;
            else
                pt->head = nc;
            pt->tail = c = nc;
        }
        size_t k = c->cap - c->n < n ? c->cap - c->n : n;
        memcpy(c->e + c->n, src, k * sizeof(gx_edge_t));
        c->n += k;
        pt->n_edges += k;
        src += k * sizeof(gx_edge_t);
        n -= k;
    }
    return 0;
}

// One message into an accumulator (the master side: once per message,
// not per edge). Frame bytes are unaligned, hence the memcpy.
#define COMBINE_AS(T, OP)                                                     \
    do {                                                                      \
        T a_, m_;                                                             \
        memcpy(&a_, acc, sizeof a_);                                          \
        memcpy(&m_, msg, sizeof m_);                                          \
        OP(a_, m_);                                                           \
        memcpy(acc, &a_, sizeof a_);                                          \
    } while (0)

#define C_SUM(a, m) ((a) += (m))
#define C_MIN(a, m) do { if ((m) < (a)) (a) = (m); } while (0)
#define C_MAX(a, m) do { if ((m) > (a)) (a) = (m); } while (0)
// int64 sums wrap instead of overflowing into undefined behaviour.
#define C_USUM(a, m) ((a) = (int64_t)((uint64_t)(a) + (uint64_t)(m)))

static inline void
combine(const gx_program_t *prog, void *acc, const void *msg)
{
    switch (prog->combiner) {
    case GX_COMBINE_SUM_F64: COMBINE_AS(double, C_SUM); break;
    case GX_COMBINE_MIN_F64: COMBINE_AS(double, C_MIN); break;
    case GX_COMBINE_MAX_F64: COMBINE_AS(double, C_MAX); break;
    case GX_COMBINE_SUM_I64: COMBINE_AS(int64_t, C_USUM); break;
    case GX_COMBINE_MIN_I64: COMBINE_AS(int64_t, C_MIN); break;
    case GX_COMBINE_MAX_I64: COMBINE_AS(int64_t, C_MAX); break;
    case GX_COMBINE_MIN_U64: COMBINE_AS(uint64_t, C_MIN); break;
    case GX_COMBINE_MAX_U64: COMBINE_AS(uint64_t, C_MAX); break;
    case GX_COMBINE_CUSTOM:  prog->combine(acc, msg); break;
    }
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
        return oom(w);
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
            return oom(w);
        w->cap_reg = cap;
    }
    w->reg_m[w->n_reg] = m;
    w->reg_p[w->n_reg] = p;
    w->reg_l[w->n_reg] = l;
    w->n_reg++;
    return 0;
}

// A combined message reaches the master of vertex m.
static inline void
master_receive(worker_t *w, uint32_t m, const void *msg)
{
    uint8_t *a = w->macc + (size_t)m * w->msz;
    if (w->prog->combiner == GX_COMBINE_CUSTOM && !(w->mflags[m] & M_HAS_MSG))
        memcpy(a, msg, w->msz);
    else
        combine(w->prog, a, msg);
    w->mflags[m] |= M_HAS_MSG;
    if (!(w->mflags[m] & M_TODO)) {
        w->mflags[m] |= M_TODO;
        w->todo[w->n_todo++] = m;
    }
}

// A master's outgoing message reaches its replica l: active next step.
static inline void
replica_receive(worker_t *w, part_t *pt, uint32_t l, const void *msg)
{
    copy_msg(w, pt->out_msg + (size_t)l * w->msz, msg);
    if (!(pt->flags[l] & F_ACTIVE)) {
        pt->flags[l] |= F_ACTIVE;
        pt->act[pt->n_act++] = l;
        // Locals with out-edges are numbered first (assign_local_ids).
        if (l < pt->n_with_out)
            pt->n_act_out++;
    }
}

static int
bad_frame(worker_t *w, const gx_frame_t *f)
{
    return fail(w, "worker: malformed %s frame from a peer",
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
        return part_append(w, pt, f->bin[0], f->b);
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
                return oom(w);
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
        return fail(w, "%s", err.msg);
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
        return fail(w, "worker: poll: %s", zmq_strerror(zmq_errno()));
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
            return fail(w, "worker: unexpected word from the master%s", "");
        }
        return -1;
    }
    if (gx_recv(w->inbox, &in, -1, NULL, &err) != 0) {
        w->broken = 1;
        return fail(w, "%s", err.msg);
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
    return fail(w, "worker: %s", err.msg);
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
    double t = now();
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

// The worker of a vertex's master: the one holding its home partition.
static inline uint32_t
owner_of(const worker_t *w, uint64_t id)
{
    return w->part_worker[gx_partition_home(&w->e->parter, id)];
}

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
        return part_append(w, pt, e, 1);
    }
    batch_t *b = &w->edge_out[p];
    if (batch_reserve(w, b) != 0)
        return -1;
    memcpy(b->col[0] + (size_t)b->n * sizeof *e, e, sizeof *e);
    if (++b->n == b->max)
        return batch_flush(w, b);
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
        fail(w, "%s", err.msg);
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
            fail(w, "%s", err.msg);
            break;
        }
        if (w->n_vids + (size_t)n > w->cap_vids) {
            size_t cap = w->cap_vids ? w->cap_vids * 2 : 8192;
            uint64_t *v = realloc(w->vids, cap * sizeof *v);
            if (!v) {
                oom(w);
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
        oom(w);
    uint64_t edges = 0;
    double last = now();
    bool undirected = w->e->job->undirected;
    while (r && buf && !w->failed) {
        gx_error_t err;
        ssize_t n = gx_reader_next(r, buf, READ_BLOCK, &err);
        if (n < 0) {
            fail(w, "%s", err.msg);
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
            batch_flush(w, &w->edge_out[p]);
    for (uint32_t p = 0; p < w->P; p++)
        batch_free(&w->edge_out[p]);
    return finish_phase(w, GX_F_EDGES_END);
}

// ---- Build -----------------------------------------------------------------

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
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
    free(lx->dense);
    lx->dense = NULL;
    gx_idmap_free(&lx->map);
}

// Marks while numbering: a vertex is absent, only a destination here, or a
// source (has an out-edge here).
#define L_ABSENT   UINT32_MAX
#define L_DST_ONLY (UINT32_MAX - 1)
#define L_SOURCE   (UINT32_MAX - 2)

// Fills pt->gid and pt->n_local. Sources come first, each block in
// ascending id order: a dense step reads the messages of sources only, and
// packed together they take half the cache lines on a 2-way cut.
static int
assign_local_ids(worker_t *w, part_t *pt, localizer_t *lx)
{
    memset(lx, 0, sizeof *lx);
    uint64_t max_id = 0;
    for (chunk_t *c = pt->head; c; c = c->next)
        for (size_t i = 0; i < c->n; i++) {
            uint64_t hi = c->e[i].src > c->e[i].dst ? c->e[i].src : c->e[i].dst;
            if (hi > max_id)
                max_id = hi;
        }
    uint64_t n = 0, n_src = 0;
    uint64_t *dst_only = NULL;
    if (max_id < 2 * pt->n_edges + (1u << 20) && max_id < L_SOURCE) {
        lx->dense = gx_big_alloc((max_id + 1) * sizeof *lx->dense);
        if (!lx->dense)
            return oom(w);
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
            return oom(w);
        for (chunk_t *c = pt->head; c; c = c->next)
            for (size_t i = 0; i < c->n; i++) {
                int ins;
                if (gx_idmap_put(&lx->map, c->e[i].dst, L_DST_ONLY, &ins) < 0
                    || gx_idmap_put(&lx->map, c->e[i].src, L_SOURCE, &ins) < 0)
                    return oom(w);
                if (!ins)
                    gx_idmap_set(&lx->map, c->e[i].src, L_SOURCE);
            }
        n = lx->map.count;
        for (uint64_t s = 0; s <= lx->map.mask; s++)
            n_src += lx->map.keys[s] != GX_IDMAP_EMPTY
                     && lx->map.vals[s] == L_SOURCE;
    }
    if (n >= L_SOURCE)
        return fail(w, "worker: a partition holds 2^32 vertices or more; "
                    "use more partitions%s", "");
    pt->n_local = (uint32_t)n;
    pt->gid = gx_big_alloc((n ? n : 1) * sizeof *pt->gid);
    if (!pt->gid)
        return oom(w);
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
        qsort(pt->gid, n_src, sizeof *pt->gid, cmp_u64);
        qsort(dst_only, n - n_src, sizeof *pt->gid, cmp_u64);
        for (uint32_t l = 0; l < n; l++)
            gx_idmap_set(&lx->map, pt->gid[l], l);
    }
    return 0;
}

// The CSR by source, as the transpose of the CSR by destination.
static int
build_out_csr(worker_t *w, part_t *pt)
{
    uint32_t n = pt->n_local;
    pt->out_dst = gx_big_alloc((pt->n_edges ? pt->n_edges : 1) * sizeof *pt->out_dst);
    uint64_t *opos = gx_big_alloc(((size_t)n + 1) * sizeof *opos);
    if (!pt->out_dst || !opos) {
        free(opos);
        return oom(w);
    }
    memcpy(opos, pt->out_off, ((size_t)n + 1) * sizeof *opos);
    for (uint32_t v = 0; v < n; v++)
        for (uint64_t e = pt->in_off[v]; e < pt->in_off[v + 1]; e++)
            pt->out_dst[opos[pt->in_src[e]]++] = v;
    free(opos);
    return 0;
}

// Dense local ids in ascending global-id order (neighbouring ids stay
// neighbours in the arrays), then both CSRs by counting sort. Each chunk is
// rewritten in place as (local src, local dst) pairs and shrunk, so the
// peak is the raw edges plus the CSR, not twice the raw edges.
static int
build_part(worker_t *w, part_t *pt)
{
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
        return oom(w);
    }
    // Rewrite chunks as local pairs in place (the u32 pairs fill the front
    // half) and give the back half back, chunk by chunk.
    pt->tail = NULL;
    for (chunk_t **cp = &pt->head; *cp; cp = &(*cp)->next) {
        chunk_t *c = *cp;
        uint32_t *pair = (uint32_t *)c->e;
        for (size_t i = 0; i < c->n; i++) {
            uint32_t s = localize(&lx, c->e[i].src);
            uint32_t d = localize(&lx, c->e[i].dst);
            pair[2 * i] = s;
            pair[2 * i + 1] = d;
            pt->out_off[s + 1]++;
            pt->in_off[d + 1]++;
        }
        chunk_t *small = realloc(c, sizeof *c + c->n * 2 * sizeof(uint32_t));
        if (small)
            *cp = small;
    }
    localizer_free(&lx);
    for (uint32_t l = 0; l < n; l++) {
        if (pt->out_off[l + 1])
            pt->n_with_out++;
        pt->out_off[l + 1] += pt->out_off[l];
        pt->in_off[l + 1] += pt->in_off[l];
    }
    // The CSR by destination is always built: a dense step pulls along it.
    // The one by source is needed only to push along out-edges, so a
    // program going only OUT (PageRank) gets it on its first sparse step,
    // if ever; it is the transpose, with each source's targets in order.
    size_t ne = pt->n_edges ? pt->n_edges : 1;
    pt->in_src = gx_big_alloc(ne * sizeof *pt->in_src);
    uint64_t *ipos = gx_big_alloc(((size_t)n + 1) * sizeof *ipos);
    if (!pt->in_src || !ipos) {
        free(ipos);
        return oom(w);
    }
    memcpy(ipos, pt->in_off, ((size_t)n + 1) * sizeof *ipos);
    chunk_t *c = pt->head;
    while (c) {
        const uint32_t *pair = (const uint32_t *)c->e;
        for (size_t i = 0; i < c->n; i++)
            pt->in_src[ipos[pair[2 * i + 1]]++] = pair[2 * i];
        chunk_t *next = c->next;
        free(c);
        c = next;
    }
    pt->head = pt->tail = NULL;
    free(ipos);
    if (w->prog->direction == GX_DIR_BOTH && build_out_csr(w, pt) != 0)
        return -1;

    size_t nn = n ? n : 1;
    pt->owner = gx_big_alloc(nn * sizeof *pt->owner);
    pt->route = gx_big_alloc(nn * sizeof *pt->route);
    pt->out_msg = gx_big_alloc(nn * w->msz);
    pt->acc = gx_big_alloc(nn * w->msz);
    pt->flags = gx_big_calloc(nn, 1);
    pt->act = gx_big_alloc(nn * sizeof *pt->act);
    pt->touch = gx_big_alloc(nn * sizeof *pt->touch);
    if (!pt->owner || !pt->route || !pt->out_msg || !pt->acc || !pt->flags
        || !pt->act || !pt->touch)
        return oom(w);
    for (uint32_t l = 0; l < n; l++) {
        pt->owner[l] = owner_of(w, pt->gid[l]);
        memcpy(pt->acc + (size_t)l * w->msz, w->identity, w->msz);
    }
    return 0;
}

static int
register_replicas(worker_t *w)
{
    const uint32_t width[4] = { 8, 4, 8, 8 };
    batch_t *out = calloc(w->W, sizeof *out);
    if (!out)
        return oom(w);
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
            batch_flush(w, &out[d]);
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
        batch_flush(w, &out[d]);
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
        oom(w);
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
        return oom(w);
    for (uint32_t p = 0; p < w->P && !w->failed; p++)
        batch_init(&out[p], GX_F_ROUTE, p, gx_partition_worker(p, w->W),
                   2, width, w->P);
    for (uint32_t m = 0; m < w->n_master && !w->failed; m++)
        for (uint64_t r = w->rep_off[m]; r < w->rep_off[m + 1]; r++)
            batch_push(w, &out[w->rep_part[r] & ~REP_SENDS], &w->rep_local[r],
                       &m, NULL, NULL);
    for (uint32_t p = 0; p < w->P; p++) {
        if (!w->failed)
            batch_flush(w, &out[p]);
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
        build_part(w, &w->parts[k]);
        edges += w->parts[k].n_edges;
        replicas += w->parts[k].n_local;
    }
    if (gx_idmap_init(&w->mmap, replicas / 2 + 16) != 0)
        oom(w);
    // Even a failed worker walks through the phases, so no peer waits.
    register_replicas(w);
    route_replicas(w);
    w->stats[GX_STAT_EDGES] = edges;
    w->stats[GX_STAT_MASTERS] = w->n_master;
    w->stats[GX_STAT_REPLICAS] = replicas;
    return w->failed ? -1 : 0;
}

// ---- Supersteps ------------------------------------------------------------

// The per-edge loops, one per built-in combiner so the combine inlines.
#define DEFINE_LOOPS(NAME, T, COMBINE)                                        \
/* Every sender is active: pull each destination's messages along the   */ \
/* CSR by destination and hand the combined value straight to its       */ \
/* master (or to the batch for its worker): no accumulator round trip.  */ \
static uint64_t                                                               \
pull_##NAME(worker_t *w, part_t *pt, batch_t *out)                            \
{                                                                             \
    const T *msg = (const T *)pt->out_msg;                                    \
    T *macc = (T *)w->macc;                                                   \
    T id;                                                                     \
    memcpy(&id, w->identity, sizeof id);                                      \
    uint64_t sent = 0;                                                        \
    for (uint32_t v = 0; v < pt->n_local; v++) {                              \
        uint64_t e = pt->in_off[v], end = pt->in_off[v + 1];                  \
        if (e == end)                                                         \
            continue;                                                         \
        T a = id;                                                             \
        for (; e < end; e++) {                                                \
            T m = msg[pt->in_src[e]];                                         \
            COMBINE(a, m);                                                    \
        }                                                                     \
        uint32_t o = pt->owner[v], mi = pt->route[v];                         \
        sent++;                                                               \
        if (o != w->self) {                                                   \
            batch_push_msg(w, &out[o], mi, &a);                               \
            continue;                                                         \
        }                                                                     \
        COMBINE(macc[mi], a);                                                 \
        if (!(w->mflags[mi] & M_TODO)) {                                      \
            w->mflags[mi] |= M_TODO;                                          \
            w->todo[w->n_todo++] = mi;                                        \
        }                                                                     \
        w->mflags[mi] |= M_HAS_MSG;                                           \
    }                                                                         \
    return sent;                                                              \
}                                                                             \
static void                                                                   \
push_##NAME(part_t *pt, const uint64_t *off, const uint32_t *nbr)             \
{                                                                             \
    const T *msg = (const T *)pt->out_msg;                                    \
    T *acc = (T *)pt->acc;                                                    \
    for (uint32_t i = 0; i < pt->n_act; i++) {                                \
        uint32_t u = pt->act[i];                                              \
        T m = msg[u];                                                         \
        for (uint64_t e = off[u]; e < off[u + 1]; e++) {                      \
            uint32_t v = nbr[e];                                              \
            COMBINE(acc[v], m);                                               \
            if (!(pt->flags[v] & F_TOUCHED)) {                                \
                pt->flags[v] |= F_TOUCHED;                                    \
                pt->touch[pt->n_touch++] = v;                                 \
            }                                                                 \
        }                                                                     \
    }                                                                         \
}

DEFINE_LOOPS(sum_f64, double, C_SUM)
DEFINE_LOOPS(min_f64, double, C_MIN)
DEFINE_LOOPS(max_f64, double, C_MAX)
DEFINE_LOOPS(sum_i64, int64_t, C_USUM)
DEFINE_LOOPS(min_i64, int64_t, C_MIN)
DEFINE_LOOPS(max_i64, int64_t, C_MAX)
DEFINE_LOOPS(min_u64, uint64_t, C_MIN)
DEFINE_LOOPS(max_u64, uint64_t, C_MAX)

static void
push_custom(worker_t *w, part_t *pt, const uint64_t *off, const uint32_t *nbr)
{
    size_t ms = w->msz;
    for (uint32_t i = 0; i < pt->n_act; i++) {
        uint32_t u = pt->act[i];
        const uint8_t *m = pt->out_msg + (size_t)u * ms;
        for (uint64_t e = off[u]; e < off[u + 1]; e++) {
            uint32_t v = nbr[e];
            uint8_t *a = pt->acc + (size_t)v * ms;
            if (!(pt->flags[v] & F_TOUCHED)) {
                pt->flags[v] |= F_TOUCHED;
                pt->touch[pt->n_touch++] = v;
                memcpy(a, m, ms);
            } else {
                w->prog->combine(a, m);
            }
        }
    }
}

typedef struct loops {
    uint64_t (*pull)(worker_t *, part_t *, batch_t *);
    void (*push)(part_t *, const uint64_t *, const uint32_t *);
} loops_t;

static loops_t
loops_for(gx_combiner_t c)
{
    switch (c) {
    case GX_COMBINE_SUM_F64: return (loops_t){ pull_sum_f64, push_sum_f64 };
    case GX_COMBINE_MIN_F64: return (loops_t){ pull_min_f64, push_min_f64 };
    case GX_COMBINE_MAX_F64: return (loops_t){ pull_max_f64, push_max_f64 };
    case GX_COMBINE_SUM_I64: return (loops_t){ pull_sum_i64, push_sum_i64 };
    case GX_COMBINE_MIN_I64: return (loops_t){ pull_min_i64, push_min_i64 };
    case GX_COMBINE_MAX_I64: return (loops_t){ pull_max_i64, push_max_i64 };
    case GX_COMBINE_MIN_U64: return (loops_t){ pull_min_u64, push_min_u64 };
    case GX_COMBINE_MAX_U64: return (loops_t){ pull_max_u64, push_max_u64 };
    default:                 return (loops_t){ NULL, NULL };
    }
}

// Scatter over one partition's active replicas, then ship one combined
// message per touched replica to its master.
static void
scatter_part(worker_t *w, part_t *pt, batch_t *out)
{
    loops_t lp = loops_for(w->prog->combiner);
    gx_direction_t dir = w->prog->direction;
    if (dir & GX_DIR_OUT) {
        // Every sender with an out-edge here is active (PageRank, every
        // step): pull by destination, one sequential pass, no flag tests.
        if (lp.pull && pt->n_act_out == pt->n_with_out && dir == GX_DIR_OUT) {
            w->stats[GX_STAT_MESSAGES] += lp.pull(w, pt, out);
        } else if (!pt->out_dst && build_out_csr(w, pt) != 0) {
            return;
        } else if (lp.push) {
            lp.push(pt, pt->out_off, pt->out_dst);
        } else {
            push_custom(w, pt, pt->out_off, pt->out_dst);
        }
    }
    if (dir & GX_DIR_IN) {
        if (lp.push)
            lp.push(pt, pt->in_off, pt->in_src);
        else
            push_custom(w, pt, pt->in_off, pt->in_src);
    }
    // One combined message per touched replica to its master.
    for (uint32_t i = 0; i < pt->n_touch && !w->failed; i++) {
        uint32_t v = pt->touch[i];
        uint8_t *a = pt->acc + (size_t)v * w->msz;
        uint32_t o = pt->owner[v];
        if (o == w->self)
            master_receive(w, pt->route[v], a);
        else
            batch_push_msg(w, &out[o], pt->route[v], a);
        copy_msg(w, a, w->identity);
        pt->flags[v] &= (uint8_t)~F_TOUCHED;
    }
    w->stats[GX_STAT_MESSAGES] += pt->n_touch;
    pt->n_touch = 0;
    // Replicas are active only for the step their master synced them for.
    for (uint32_t i = 0; i < pt->n_act; i++)
        pt->flags[pt->act[i]] &= (uint8_t)~F_ACTIVE;
    pt->n_act = pt->n_act_out = 0;
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
            scatter_part(w, &w->parts[k], msg_out);
        for (uint32_t d = 0; d < w->W && !w->failed; d++)
            batch_flush(w, &msg_out[d]);
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
        batch_flush(w, &sync[p]);
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
        oom(w);
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
        return fail(w, "%s", err.msg);
    int one = 1;
    zmq_setsockopt(zsock_resolve(w->inbox), ZMQ_ROUTING_ID, id, sizeof id);
    zmq_setsockopt(zsock_resolve(w->ctl), ZMQ_ROUTING_ID, id, sizeof id);
    zmq_setsockopt(zsock_resolve(w->outbox), ZMQ_ROUTER_MANDATORY, &one,
                   sizeof one);
    snprintf(ep, sizeof ep, w->e->worker_ep, w->self);
    if (zsock_bind(w->inbox, "%s", ep + 1) < 0)
        return fail(w, "worker: cannot bind %s", ep + 1);
    if (zsock_connect(w->ctl, "%s", w->e->master_ep + 1) != 0)
        return fail(w, "worker: cannot connect to the master at %s",
                    w->e->master_ep + 1);
    for (uint32_t d = 0; d < w->W; d++) {
        if (d == w->self)
            continue;
        snprintf(ep, sizeof ep, w->e->worker_ep, d);
        if (zsock_connect(w->outbox, "%s", ep + 1) != 0)
            return fail(w, "worker: cannot connect to %s", ep + 1);
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
        oom(&w);
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
