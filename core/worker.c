// core/worker.c: a worker. It parses its byte range of the input, ships each
// edge to the worker holding its partition, builds its partitions (dense
// local ids, CSR both ways), registers its replicas with their masters, and
// then runs supersteps: scatter over local edges into per-replica
// accumulators, one batch of combined messages per peer, apply at the
// masters it owns, and sync of the outgoing messages back to the replicas.
//
// Every transfer between workers is a ZeroMQ frame, also in local mode; a
// worker talks to itself by calling the same handler directly. This file
// runs the phases; below it are its frames (wframes.c: handlers, pump,
// barrier), its results (wresults.c), the per-edge loops (scatter.c,
// closure.c), the partition store (partstore.c) and the parts of its state
// (wstate.h: mailbox, master table, registrations, message lists), and
// under all of them batches and the alarm. Calls point one way, down
// (docs/design.md, "The worker's files"). The fact that shaped the loop:
// a message depends only on its sender, so a master computes
// it once and ships it once per replica, and the per-edge work is one load
// and one combine on dense arrays.
#include "core/paging.h"
#include "core/partstore.h"
#include "core/scatter.h"
#include "core/wframes.h"
#include "core/wresults.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/agg.h"
#include "core/clock.h"
#include "core/idmap.h"
#include "core/mem.h"

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

#define READ_BLOCK   65536u          // edges per reader call (1 MiB)
// Under a small memory budget the fixed buffers shrink (core/mem.h,
// gx_acct_scaled), never below this floor: 4096 edges, or EDGES rows.
#define FIXED_FLOOR  ((size_t)4096 * sizeof(gx_edge_t))
#define LOG_BYTES    ((size_t)1 << 16)   // a partition's log buffer
#define LOG_FLOOR    ((size_t)4096)

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
    if (!b || batch_reserve(b) != 0)
        return -1;
    memcpy(b->col[0] + (size_t)b->n * sizeof *e, e, sizeof *e);
    if (wt)
        memcpy(b->col[1] + (size_t)b->n * sizeof *wt, wt, sizeof *wt);
    if (++b->n == b->max)
        return gx_batch_flush(b);
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
    for (size_t i0 = 0; i0 < n && !w->alarm.raised; i0 += STRIP) {
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
        gx_alarm_raise(&w->alarm, "%s", err.msg);
    else
        gx_reader_set_cancel(r, &w->e->fail_seq);
    return r;
}

// Reads this worker's split of --vertices into w->reg.vids: every input error
// is found while loading, before any work is done on the graph.
static void
load_vertices(worker_t *w)
{
    gx_reader_t *r = open_split(w, w->e->vinput, GX_LINES_VERTICES);
    gx_edge_t buf[4096];
    ssize_t n;
    gx_error_t err;
    while (r && !w->alarm.raised
           && (n = gx_reader_next(r, buf, NULL, 4096, &err)) != 0) {
        if (n < 0) {
            gx_alarm_raise(&w->alarm, "%s", err.msg);
            break;
        }
        if (gx_reg_vids_room(&w->reg, &w->alarm, (size_t)n) != 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            w->reg.vids[w->reg.n_vids++] = buf[i].src;
    }
    gx_reader_destroy(&r);
}

static int
load(worker_t *w)
{
    gx_layout_t lay = gx_rows_layout(GX_F_EDGES, w->weighted);
    gx_pbatch_begin(w, &lay);
    gx_reader_t *r = open_split(w, w->e->input, GX_LINES_EDGES);
    size_t block = w->read_block;
    gx_edge_t *buf = r ? gx_malloc(block * sizeof *buf) : NULL;
    double *wbuf = r && w->weighted ? gx_malloc(block * sizeof *wbuf) : NULL;
    if (r && (!buf || (w->weighted && !wbuf)))
        gx_alarm_oom(&w->alarm);
    uint64_t edges = 0;
    double last = gx_clock_now();
    bool undirected = w->e->job->undirected;
    while (r && buf && (wbuf || !w->weighted) && !w->alarm.raised) {
        gx_error_t err;
        ssize_t n = gx_reader_next(r, buf, wbuf, block, &err);
        if (n < 0) {
            gx_alarm_raise(&w->alarm, "%s", err.msg);
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
        while (!w->alarm.raised && gx_worker_pump(w, 0) == 0)
            ;
        gx_worker_progress(w, &last, r, edges);
    }
    w->stats[GX_STAT_EDGES] = edges;
    w->stats[GX_STAT_BYTES_IN] = r ? gx_reader_bytes(r) : 0;
    gx_free(buf);
    gx_free(wbuf);
    gx_reader_destroy(&r);
    if (!w->alarm.raised)
        load_vertices(w);
    // Read at the load barrier: an edgeless graph is fine if --vertices
    // gives it vertices.
    w->stats[GX_STAT_MASTERS] = w->reg.n_vids;
    gx_pbatch_end(w);
    return w->alarm.raised ? -1 : 0;
}

// ---- Build -----------------------------------------------------------------

// Registration: each partition's replicas go to their masters' workers
// right after it is built (so that it can be paged out at once), then the
// --vertices ids. `peer` marks the workers registered with: those this
// worker's messages can go to.
typedef struct registrar {
    batch_t *out;                    // [W] REG rows by master's worker
    uint8_t *peer;                   // [W]
} registrar_t;

static int
register_begin(worker_t *w, registrar_t *rg)
{
    gx_layout_t lay = gx_rows_layout(GX_F_REG, 0);
    rg->out = gx_calloc(w->W, sizeof *rg->out);
    rg->peer = gx_calloc(w->W, 1);
    if (!rg->out || !rg->peer)
        return gx_alarm_oom(&w->alarm);
    for (uint32_t d = 0; d < w->W; d++)
        batch_init(&rg->out[d], &w->post, &lay, 0, d, w->W);
    return 0;
}

static int
register_part(worker_t *w, registrar_t *rg, part_t *pt)
{
    for (uint32_t d = 0; d < w->W; d++)
        rg->out[d].a = pt->id;
    for (uint32_t l = 0; l < pt->n_local && !w->alarm.raised; l++) {
        uint64_t od = pt->out_off[l + 1] - pt->out_off[l];
        uint64_t id = pt->in_off[l + 1] - pt->in_off[l];
        batch_push(&rg->out[pt->owner[l]], &pt->gid[l], &l, &od, &id);
        rg->peer[pt->owner[l]] = 1;
    }
    for (uint32_t d = 0; d < w->W && !w->alarm.raised; d++)
        gx_batch_flush(&rg->out[d]);
    // Registered: nothing reads a replica's global id again (its master
    // has it), so its 8 bytes go.
    gx_free(pt->gid);
    pt->gid = NULL;
    return w->alarm.raised ? -1 : 0;
}

// Vertices named in --vertices: registered with no replica, so isolated
// vertices exist (and count in N) without edges. Then the peers this
// worker's messages go to, and the registrar's end.
static int
register_end(worker_t *w, registrar_t *rg)
{
    const uint64_t zero = 0;
    const uint32_t none = 0;
    for (uint32_t d = 0; rg->out && d < w->W; d++)
        rg->out[d].a = GX_NO_PARTITION;
    for (size_t i = 0; i < w->reg.n_vids && !w->alarm.raised; i++)
        batch_push(&rg->out[owner_of(w, w->reg.vids[i])], &w->reg.vids[i],
                   &none, &zero, &zero);
    for (uint32_t d = 0; d < w->W && !w->alarm.raised; d++)
        gx_batch_flush(&rg->out[d]);
    gx_free(w->reg.vids);
    w->reg.vids = NULL;
    w->mb.msg_peers = gx_malloc((size_t)w->W * sizeof *w->mb.msg_peers);
    if (!w->mb.msg_peers)
        gx_alarm_oom(&w->alarm);
    for (uint32_t d = 0; d < w->W && w->mb.msg_peers; d++)
        if (rg->peer && rg->peer[d] && d != w->self)
            w->mb.msg_peers[w->mb.n_msg_peers++] = d;
    for (uint32_t d = 0; rg->out && d < w->W; d++)
        batch_free(&rg->out[d]);
    gx_free(rg->out);
    gx_free(rg->peer);
    return w->alarm.raised ? -1 : 0;
}

// Builds and registers each partition in turn; past half the budget, a
// registered partition goes out whole at once, so that those still to
// build find room. Between partitions, the REG rows peers sent meanwhile
// are taken in, so they do not pile up in the inbox.
static int
build_parts(worker_t *w, uint64_t *edges, uint64_t *replicas)
{
    registrar_t rg = { 0 };
    if (register_begin(w, &rg) == 0)
        for (uint32_t k = 0; k < w->n_parts && !w->alarm.raised; k++) {
            part_t *pt = &w->parts[k];
            if (gx_paging_build(w, pt) != 0 || register_part(w, &rg, pt) != 0
                || (gx_acct_tight(0) && gx_part_page_out(w, pt) != 0))
                break;
            *edges += pt->n_edges;
            *replicas += pt->n_local;
            while (!w->alarm.raised && gx_worker_pump(w, 0) == 0)
                ;
        }
    return register_end(w, &rg);
}

// The message lists a program needs (no combiner; direct messages) and
// the DIRECT batches to peers, once the masters are known.
static int
set_up_lists(worker_t *w)
{
    const gx_program_t *p = w->prog;
    if (p->combiner == GX_COMBINE_NONE
        && gx_mlist_init(&w->alarm, &w->lists.elist, p->msg_size,
                         w->mt.n_master) != 0)
        return -1;
    // Each list spills under a key of its own in the process's spill.
    gx_mlist_spill_to(&w->lists.elist, &w->e->spill, 2 * w->self);
    if (p->direct_size == 0)
        return 0;
    if (gx_mlist_init(&w->alarm, &w->lists.dlist, p->direct_size,
                      w->mt.n_master) != 0)
        return -1;
    gx_mlist_spill_to(&w->lists.dlist, &w->e->spill, 2 * w->self + 1);
    // Direct messages come by vertex id: the map from registration stays,
    // renumbered as the masters were sorted (unless it went for lack of
    // room: master_index then searches the sorted ids).
    for (uint32_t m = 0; w->mt.mmap.keys && m < w->mt.n_master; m++)
        gx_idmap_set(&w->mt.mmap, w->mt.mid[m], m);
    return gx_lists_dout_init(&w->lists, &w->alarm, &w->post, w->self, w->W,
                              p->direct_size);
}

// Masters are complete: lay out their arrays and tell every replica where
// its master lives.
static int
route_replicas(worker_t *w)
{
    uint32_t *rank = NULL;
    if (gx_mtable_sort(&w->mt, &w->alarm, &rank) != 0)
        return -1;
    // Registration is over: only direct messages, which come by vertex
    // id, need the map from ids again (set_up_lists renumbers it), and
    // only while there is room: a binary search over the sorted ids
    // finds them too, in no bytes more.
    if (w->prog->direct_size == 0 || gx_acct_tight(0))
        gx_idmap_free(&w->mt.mmap);
    if (gx_mtable_alloc(&w->mt, &w->alarm, w->reg.n_rows, w->vsz, w->msz) != 0
        || set_up_lists(w) != 0)
        gx_alarm_oom(&w->alarm);
    if (!w->alarm.raised)
        gx_reg_lay_out(w, rank);
    gx_free(rank);
    gx_reg_drop(&w->reg);
    if (w->alarm.raised)
        return -1;

    gx_layout_t lay = gx_rows_layout(GX_F_ROUTE, 0);
    gx_pbatch_begin(w, &lay);
    for (uint32_t m = 0; m < w->mt.n_master && !w->alarm.raised; m++)
        for (uint64_t r = w->mt.rep_off[m]; r < w->mt.rep_off[m + 1]; r++) {
            batch_t *b = part_batch(w, w->mt.rep_part[r] & ~REP_SENDS);
            if (!b || batch_push(b, &w->mt.rep_local[r], &m, NULL, NULL) != 0)
                break;
        }
    gx_pbatch_end(w);
    return w->alarm.raised ? -1 : 0;
}

// How many peers can send this worker messages: the holders of its
// masters' replicas. (Those it sends to, the owners of its replicas, were
// marked at registration: the same relation read from the other end, so
// MSG_END goes exactly where it is awaited.)
static int
message_senders(worker_t *w)
{
    uint8_t *mark = gx_calloc(w->W, 1);
    if (!mark)
        return gx_alarm_oom(&w->alarm);
    mark[w->self] = 1;
    for (uint64_t r = 0; r < w->mt.rep_off[w->mt.n_master]; r++) {
        uint32_t d = part_worker(w, w->mt.rep_part[r] & ~REP_SENDS);
        if (!mark[d]) {
            mark[d] = 1;
            w->mb.n_msg_senders++;
        }
    }
    gx_free(mark);
    return 0;
}

// Partitions to CSR, replicas registered with their masters, routes back
// to the replicas: two barriers, each ending a phase by count.
static int
build(worker_t *w)
{
    uint64_t edges = 0, replicas = 0;
    if (gx_worker_await_data(w, GX_F_EDGES, 0) != 0)
        return -1;
    if (w->self == w->e->first)
        atomic_store(&w->e->where, GX_WHERE_BUILD);
    // Past half the budget, every chunk goes out: each partition's come
    // back for its build only.
    if ((gx_acct_tight(0) && gx_chunks_page_out(w, true) != 0)
        || build_parts(w, &edges, &replicas) != 0
        || gx_worker_barrier(w, 0) != 0
        || gx_worker_await_data(w, GX_F_REG, 0) != 0 || route_replicas(w) != 0)
        return -1;
    w->stats[GX_STAT_EDGES] = edges;
    w->stats[GX_STAT_MASTERS] = w->mt.n_master;
    w->stats[GX_STAT_REPLICAS] = replicas;
    if (gx_worker_barrier(w, 0) != 0
        || gx_worker_await_data(w, GX_F_ROUTE, 0) != 0)
        return -1;
    // Every route is in: an away partition's are in its log, and it
    // stores them when it next goes out.
    for (uint32_t k = 0; k < w->n_parts; k++)
        w->parts[k].routed = true;
    return message_senders(w) != 0 ? -1 : gx_paging_plan(w);
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
    if (w->alarm.raised)
        return -1;
    if (ds == 0)
        return gx_alarm_raise(&w->alarm,
                              "program %s: gx_send_to needs a direct_size",
                              w->prog->name);
    w->stats[GX_STAT_DIRECT]++;
    uint32_t d = owner_of(w, id);
    if (d != w->self)
        return batch_push(&w->lists.dout[d], &id, msg, NULL, NULL);
    int64_t m = master_index(w, id);
    if (m < 0) {
        w->stats[GX_STAT_DROPPED]++;
        return 0;
    }
    return gx_rows_push(&w->alarm, &w->lists.dself, (uint32_t)ds,
                        (uint32_t)m, msg);
}

// gx_fail: a program's own error ends the run like any other failure.
static void
program_fail(gx_context_t *ctx, const char *msg)
{
    worker_t *w = ctx->engine_;
    gx_alarm_raise(&w->alarm, "program %s: %s", w->prog->name,
                   msg ? msg : "failed");
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
    gx_vertex_t v = { w->mt.mid[m], w->mt.outdeg[m], w->mt.indeg[m] };
    uint8_t msg[GX_MAX_MSG_SIZE];
    memset(msg, 0, sizeof msg);
    if (w->mt.rep_off[m] == w->mt.rep_off[m + 1]
        || !w->prog->scatter(ctx, &v, w->mt.value + (size_t)m * w->vsz, msg))
        return;
    for (uint64_t r = w->mt.rep_off[m];
         r < w->mt.rep_off[m + 1] && !w->alarm.raised; r++) {
        if (!(w->mt.rep_part[r] & REP_SENDS))
            continue;
        uint32_t p = w->mt.rep_part[r] & ~REP_SENDS;
        if (part_worker(w, p) == w->self) {
            if (gx_replica_sync(w, &w->parts[part_slot(w, p)],
                                w->mt.rep_local[r], msg) != 0)
                return;
        } else {
            batch_t *b = part_batch(w, p);
            if (!b || batch_push_msg(b, w->mt.rep_local[r], msg, w->msz) != 0)
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

// Applies one held frame (read back first if it was spilled) and lets it
// go.
static void
apply_frame(worker_t *w, gx_held_t *h)
{
    gx_frame_t f;
    void *buf = NULL;
    if (!w->alarm.raised && gx_mailbox_frame(&w->mb, h, &f, &buf) == 0) {
        if (h->in.f.kind == GX_F_MSG)
            gx_worker_on_msg(w, &f);
        else
            gx_worker_on_direct(w, &f);
    }
    gx_mailbox_release(h, buf);
}

// Combines (or lists) this step's held MSG and DIRECT frames into the
// masters in sender order (each sender's frames in the order it sent
// them), then lets them go; frames for the next step stay. This worker's
// own messages went in first.
static int
apply_held(worker_t *w)
{
    held_at_t *order = gx_malloc(((size_t)w->mb.n_held + 1) * sizeof *order);
    if (!order)
        return gx_alarm_oom(&w->alarm);
    uint32_t n = 0;
    for (uint32_t i = 0; i < w->mb.n_held; i++)
        if (w->mb.held[i].in.f.step == w->step)
            order[n++] = (held_at_t){ w->mb.held[i].in.from, i };
    qsort(order, n, sizeof *order, by_sender);
    for (uint32_t i = 0; i < n; i++)
        apply_frame(w, &w->mb.held[order[i].at]);
    gx_mailbox_keep_open(&w->mb);
    gx_free(order);
    w->stats[GX_STAT_HELD_SPILLED] += w->mb.n_spilled;
    w->mb.n_spilled = 0;
    return w->alarm.raised ? -1 : 0;
}

// The direct messages this worker sent its own masters at the last step.
static int
apply_own_direct(worker_t *w)
{
    size_t width = 4 + (size_t)w->prog->direct_size;
    for (uint64_t i = 0; i < w->lists.dself.n && !w->alarm.raised; i++) {
        uint32_t m;
        memcpy(&m, w->lists.dself.row + i * width, 4);
        gx_worker_direct_receive(w, m, w->lists.dself.row + i * width + 4);
    }
    w->lists.dself.n = 0;
    return w->alarm.raised ? -1 : 0;
}

// Scatter, then the messages to their masters: MSG_END to every peer that
// may hear from this worker, and wait for every peer that may send to it.
// Then everything for the masters here is in: own first, then by sender.
static int
exchange_messages(worker_t *w, batch_t *msg_out)
{
    // What the last step sent here: SYNC frames after its apply, DIRECT
    // frames during it (those seen early, a step ahead, count now).
    w->mb.got[GX_F_DIRECT] += w->mb.got_direct_next;
    w->mb.got_direct_next = 0;
    if (gx_worker_await_data(w, GX_F_SYNC, GX_F_DIRECT) != 0)
        return -1;
    for (uint32_t k = 0; k < w->n_parts && !w->alarm.raised; k++) {
        part_t *pt = &w->parts[k];
        // A paged partition is in memory for its scatter only.
        if (gx_part_page_in(w, pt) == 0 && gx_part_scratch(w, pt) == 0)
            gx_scatter_part(w, pt, msg_out);
        if (pt->paged && !w->alarm.raised)
            gx_part_page_out(w, pt);
    }
    for (uint32_t d = 0; d < w->W && !w->alarm.raised; d++)
        gx_batch_flush(&msg_out[d]);
    for (uint32_t i = 0; i < w->mb.n_msg_peers && !w->alarm.raised; i++) {
        gx_frame_t f = { .kind = GX_F_MSG_END, .step = w->step, .a = w->self };
        gx_worker_send(w, w->mb.msg_peers[i], &f);
    }
    while (!w->alarm.raised && w->mb.got[GX_F_MSG_END] < w->mb.n_msg_senders)
        gx_worker_pump(w, -1);
    w->mb.got[GX_F_MSG_END] = 0;
    if (w->alarm.raised || apply_own_direct(w) != 0 || apply_held(w) != 0
        || gx_mlist_sort(&w->alarm, &w->lists.elist, w->mt.todo,
                         w->mt.n_todo) != 0
        || gx_mlist_sort(&w->alarm, &w->lists.dlist, w->mt.todo,
                         w->mt.n_todo) != 0)
        return -1;
    return 0;
}

// What apply() of master m is given.
static void
messages_of(worker_t *w, uint32_t m, gx_messages_t *in)
{
    memset(in, 0, sizeof *in);
    if (w->mt.mflags[m] & M_HAS_MSG) {
        in->combined = w->mt.macc + (size_t)m * w->msz;
        in->n_msgs = 1;
    }
    if (w->lists.elist.size)
        in->msgs = mlist_take(&w->lists.elist, m, &in->n_msgs);
    if (w->lists.dlist.size)
        in->direct = mlist_take(&w->lists.dlist, m, &in->n_direct);
}

// Apply at the masters that heard something (or are still active).
static void
apply_masters(worker_t *w, gx_context_t *ctx)
{
    w->mt.n_next = 0;
    for (uint32_t i = 0; i < w->mt.n_todo && !w->alarm.raised; i++) {
        uint32_t m = w->mt.todo[i];
        gx_vertex_t v = { w->mt.mid[m], w->mt.outdeg[m], w->mt.indeg[m] };
        gx_messages_t in;
        messages_of(w, m, &in);
        int active = w->prog->apply(ctx, &v, w->mt.value + (size_t)m * w->vsz,
                                    &in);
        copy_msg(w, w->mt.macc + (size_t)m * w->msz, w->identity);
        w->mt.mflags[m] = 0;
        if (active) {
            w->mt.mflags[m] = M_TODO;
            w->mt.next_todo[w->mt.n_next++] = m;
            sync_master(w, ctx, m);
        }
    }
    uint32_t *t = w->mt.todo;
    w->mt.todo = w->mt.next_todo;
    w->mt.next_todo = t;
    w->mt.n_todo = w->mt.n_next;
    gx_mlist_trim(&w->lists.elist);
    gx_mlist_trim(&w->lists.dlist);
}

static void
init_masters(worker_t *w, gx_context_t *ctx)
{
    for (uint32_t m = 0; m < w->mt.n_master && !w->alarm.raised; m++) {
        gx_vertex_t v = { w->mt.mid[m], w->mt.outdeg[m], w->mt.indeg[m] };
        if (w->prog->init(ctx, &v, w->mt.value + (size_t)m * w->vsz)) {
            w->mt.mflags[m] |= M_TODO;
            w->mt.todo[w->mt.n_todo++] = m;
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
    for (uint32_t d = 0; w->lists.dout && d < w->W && !w->alarm.raised; d++)
        gx_batch_flush(&w->lists.dout[d]);
    gx_pbatch_flush(w);
    w->stats[GX_STAT_ACTIVE] = w->mt.n_todo;
    return w->alarm.raised ? -1 : 0;
}

static int
compute(worker_t *w)
{
    gx_layout_t msg = gx_rows_layout(GX_F_MSG, (uint32_t)w->msz);
    gx_layout_t sync = gx_rows_layout(GX_F_SYNC, (uint32_t)w->msz);
    batch_t *msg_out = gx_calloc(w->W, sizeof *msg_out);
    if (!msg_out)
        return gx_alarm_oom(&w->alarm);
    for (uint32_t d = 0; d < w->W; d++)
        batch_init(&msg_out[d], &w->post, &msg, w->self, d, w->W);
    gx_pbatch_begin(w, &sync);
    int rc = -1;
    for (uint64_t step = 0; !w->alarm.raised; step++) {
        if (w->self == w->e->first)          // for messages about the run
            atomic_store(&w->e->where, (long long)step);
        if (superstep(w, step, msg_out) != 0)
            break;
        int cmd = gx_worker_barrier(w, step);
        if (cmd == 1 && w->self == w->e->first)
            atomic_store(&w->e->where, GX_WHERE_RESULTS);
        if (cmd == 1)
            rc = w->e->job->output_parts ? gx_worker_write_part(w)
                                        : gx_worker_send_results(w);
        if (cmd != 0)
            break;
    }
    gx_pbatch_end(w);
    for (uint32_t d = 0; d < w->W; d++)
        batch_free(&msg_out[d]);
    gx_free(msg_out);
    return rc;
}

// ---- Thread ----------------------------------------------------------------

static void
worker_free(worker_t *w)
{
    if (w->part_pending)
        unlink(w->part_tmp);            // a failed run leaves no .tmp
    for (uint32_t k = 0; w->parts && k < w->n_parts; k++)
        gx_part_free(&w->parts[k]);
    gx_free(w->parts);
    gx_pbatch_free(w);
    gx_free(w->pbatch);
    gx_mtable_free(&w->mt);
    gx_reg_free(&w->reg);
    gx_lists_free(&w->lists, w->W);
    gx_mailbox_free(&w->mb);
}

// The fixed buffers' sizes: the defaults, or smaller under a small
// budget shared by this process's threads.
static void
size_buffers(worker_t *w)
{
    const size_t edge = sizeof(gx_edge_t);
    uint32_t threads = w->e->n_here;
    w->read_block = gx_acct_scaled(READ_BLOCK * edge, FIXED_FLOOR, threads)
                    / edge;
    w->chunk_max = gx_acct_scaled(CHUNK_MAX * edge, FIXED_FLOOR, threads)
                   / edge;
    w->post.set_rows = (uint32_t)(gx_acct_scaled(BATCH_BUDGET * edge,
                                                 FIXED_FLOOR, threads) / edge);
    // An away partition's log buffers (core/paging.c): LOG_BYTES each,
    // less when this worker's partitions' share of the budget is small.
    uint64_t parts = w->n_parts ? w->n_parts : 1;
    w->log_cap = gx_acct_scaled(LOG_BYTES * parts, LOG_FLOOR * parts, threads)
                 / parts;
}

static int
worker_init(worker_t *w, gx_worker_arg_t *a)
{
    w->e = a->engine;
    w->prog = w->e->prog;
    w->self = a->index;
    w->W = w->e->n_workers;
    w->P = w->e->n_parts;
    w->vsz = w->prog->value_size;
    w->msz = w->prog->msg_size;
    w->weighted = (w->prog->flags & GX_NEEDS_WEIGHTS) != 0;
    combiner_identity(w->prog->combiner, w->identity);
    w->n_parts = w->P / w->W + (w->self < w->P % w->W ? 1 : 0);
    size_buffers(w);
    w->parts = gx_calloc(w->n_parts, sizeof *w->parts);
    w->pbatch = gx_calloc(w->P, sizeof *w->pbatch);
    w->place = gx_placement(w->W);
    if (!w->parts || !w->pbatch)
        return gx_alarm_oom(&w->alarm);
    if (gx_mailbox_init(&w->mb, w->e, &w->alarm, w->self, w->W) != 0
        || gx_mtable_init(&w->mt, &w->alarm) != 0)
        return -1;
    w->mb.take_in = gx_worker_take_in;
    w->mb.take_in_ctx = w;
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
    w.alarm = (gx_alarm_t){ .e = a->engine, .slot = &a->failure };
    w.post = (gx_post_t){ .send = gx_worker_deliver, .ctx = &w, .step = &w.step,
                          .alarm = &w.alarm };
    // Each phase ends at a barrier: report, then wait for the master's
    // word. A failure anywhere shuts the run down, so every call below
    // returns soon after one.
    if (worker_init(&w, a) == 0 && gx_mailbox_open(&w.mb) == 0
        && gx_worker_await_command(&w) == 0 && load(&w) == 0
        && gx_worker_barrier(&w, 0) == 0
        && build(&w) == 0 && compute(&w) == 0) {
        worker_free(&w);
        return NULL;
    }
    // Any way out but the last is a failure: make sure the run hears of
    // it, even from a path that forgot to say.
    gx_alarm_raise(&w.alarm, "worker %u: stopped before the end of the run",
                   w.self);
    worker_free(&w);
    return NULL;
}
