// core/wframes.c: a worker's frames. The handler of each kind a peer
// sends (EDGES, REG, ROUTE, MSG, DIRECT, SYNC), the pump that takes them
// from the inbox, the per-partition batches of a phase, and the barrier
// with the master (REPORT, then GO or STOP). The phases above (load,
// build, supersteps, results: core/worker.c) run on these; the stores
// below (partition store, master table, registrations, mailbox) are what
// the handlers fill.
#include "core/wframes.h"

#include <stdlib.h>
#include <string.h>
#include "core/clock.h"
#include "core/mem.h"
#include "core/paging.h"
#include "core/partstore.h"

// ---- Batches ---------------------------------------------------------------

// Starts a phase's per-partition batches: rows of this layout; each is made when its partition gets its first row.
void
gx_pbatch_begin(worker_t *w, const gx_layout_t *lay)
{
    batch_init(&w->pb_proto, &w->post, lay, 0, 0, w->P);
}

// The batch of partition p for this phase, made on first use (NULL: out of
// memory, the worker has failed).
batch_t *
gx_part_batch_new(worker_t *w, uint32_t p)
{
    batch_t *b = gx_malloc(sizeof *b);
    if (!b) {
        gx_alarm_oom(&w->alarm);
        return NULL;
    }
    *b = w->pb_proto;
    b->a = p;
    b->dest = part_worker(w, p);
    w->pbatch[p] = b;
    return b;
}

// Sends what the phase's batches hold, keeping them for more rows.
void
gx_pbatch_flush(worker_t *w)
{
    for (uint32_t p = 0; p < w->P && !w->alarm.raised; p++)
        if (w->pbatch[p])
            gx_batch_flush(w->pbatch[p]);
}

// Frees the phase's batches without sending them (the table stays, empty;
// none yet if the worker failed before making it).
void
gx_pbatch_free(worker_t *w)
{
    for (uint32_t p = 0; w->pbatch && p < w->P; p++) {
        batch_t *b = w->pbatch[p];
        if (!b)
            continue;
        batch_free(b);
        gx_free(b);
        w->pbatch[p] = NULL;
    }
}

// Sends what the phase's batches hold (unless the worker failed) and frees
// them.
void
gx_pbatch_end(worker_t *w)
{
    gx_pbatch_flush(w);
    gx_pbatch_free(w);
}


// ---- Frames in -------------------------------------------------------------

static part_t *
part_of(worker_t *w, uint64_t p)
{
    if (p >= w->P || part_worker(w, (uint32_t)p) != w->self)
        return NULL;
    return &w->parts[part_slot(w, (uint32_t)p)];
}

static int
bad_frame(worker_t *w, const gx_frame_t *f)
{
    return gx_alarm_raise(&w->alarm, "worker: malformed %s frame from a peer",
                gx_frame_kind_name(f->kind));
}

// REG: a partition's replicas, each with its local index and degrees
// there, to the worker of their masters. --vertices ids come with no
// partition.
static int
on_reg(worker_t *w, const gx_frame_t *f)
{
    gx_reg_view_t v;
    if (gx_reg_unpack(f, &v) != 0
        || (v.part >= w->P && v.part != GX_NO_PARTITION))
        return bad_frame(w, f);
    for (uint64_t i = 0; i < v.n; i++) {
        uint64_t o = gx_col_u64(v.outdeg, i), d = gx_col_u64(v.indeg, i);
        int64_t m = gx_mtable_add(&w->mt, &w->alarm, gx_col_u64(v.id, i), o, d);
        if (m < 0)
            return -1;
        bool sends = ((w->prog->direction & GX_DIR_OUT) && o > 0)
                     || ((w->prog->direction & GX_DIR_IN) && d > 0);
        if (v.part != GX_NO_PARTITION
            && gx_reg_push(&w->reg, &w->alarm, (uint32_t)m,
                           (uint32_t)v.part | (sends ? REP_SENDS : 0),
                           gx_col_u32(v.local, i)) != 0)
            return -1;
    }
    return gx_reg_page_out(w);
}

// ROUTE: where each replica of a partition has its master.
static int
on_route(worker_t *w, const gx_frame_t *f)
{
    gx_route_view_t v;
    part_t *pt;
    if (gx_route_unpack(f, &v) != 0 || !(pt = part_of(w, v.part)))
        return bad_frame(w, f);
    for (uint64_t i = 0; i < v.n; i++) {
        uint32_t l = gx_col_u32(v.local, i);
        if (l >= pt->n_local)
            return bad_frame(w, f);
        uint32_t m = gx_col_u32(v.master, i);
        if (!pt->away)
            pt->route[l] = m;
        else if (gx_part_log_route(w, pt, l, m) != 0)
            return -1;
    }
    return 0;
}

// MSG: combined messages for masters here (held until the step's are all
// in; see apply_held).
int
gx_worker_on_msg(worker_t *w, const gx_frame_t *f)
{
    gx_msg_view_t v;
    if (gx_msg_unpack(f, w->msz, &v) != 0)
        return bad_frame(w, f);
    for (uint64_t i = 0; i < v.n; i++) {
        uint32_t m = gx_col_u32(v.master, i);
        if (m >= w->mt.n_master)
            return bad_frame(w, f);
        if (master_receive(w, m, gx_col_row(v.msg, i, w->msz)) != 0)
            return -1;
    }
    return 0;
}

// A direct message reaches master m (or no one: counted as dropped).
int
gx_worker_direct_receive(worker_t *w, int64_t m, const void *msg)
{
    if (m < 0) {
        w->stats[GX_STAT_DROPPED]++;
        return 0;
    }
    master_mark(&w->mt, (uint32_t)m);
    return gx_mlist_push(&w->alarm, &w->lists.dlist, (uint32_t)m, msg);
}

// DIRECT: gx_send_to messages from a peer, addressed by vertex id (held
// like MSG frames, applied in sender order).
int
gx_worker_on_direct(worker_t *w, const gx_frame_t *f)
{
    size_t ds = w->prog->direct_size;
    gx_direct_view_t v;
    if (gx_direct_unpack(f, (uint32_t)ds, &v) != 0)
        return bad_frame(w, f);
    for (uint64_t i = 0; i < v.n; i++) {
        int64_t m = master_index(w, gx_col_u64(v.id, i));
        if (gx_worker_direct_receive(w, m, gx_col_row(v.msg, i, ds)) != 0)
            return -1;
    }
    return 0;
}

// SYNC: masters' outgoing messages for replicas of a partition here.
// Synced after apply of step s, read at the scatter of s + 1.
static int
on_sync(worker_t *w, const gx_frame_t *f)
{
    gx_sync_view_t v;
    part_t *pt;
    if (gx_sync_unpack(f, w->msz, &v) != 0 || !(pt = part_of(w, v.part))
        || (v.step != w->step && v.step + 1 != w->step))
        return bad_frame(w, f);
    for (uint64_t i = 0; i < v.n; i++) {
        uint32_t l = gx_col_u32(v.local, i);
        if (l >= pt->n_local)
            return bad_frame(w, f);
        if (gx_replica_sync(w, pt, l, gx_col_row(v.msg, i, w->msz)) != 0)
            return -1;
    }
    return 0;
}

// EDGES: a batch of a partition's edges (and weights, for a program that
// needs them) from the worker that read them.
static int
on_edges(worker_t *w, const gx_frame_t *f)
{
    gx_edges_view_t v;
    part_t *pt;
    if (gx_edges_unpack(f, w->weighted, &v) != 0 || !(pt = part_of(w, v.part)))
        return bad_frame(w, f);
    // Out of core: past half the budget, full chunks go to the spill
    // before these edges take more room (core/paging.c).
    size_t row = sizeof(gx_edge_t) + (w->weighted ? sizeof(double) : 0);
    if (gx_acct_tight(v.n * row) && gx_chunks_page_out(w, false) != 0)
        return -1;
    return gx_part_append(w, pt, v.edge, v.weight, v.n);
}

static int
handle(worker_t *w, const gx_frame_t *f)
{
    switch (f->kind) {
    case GX_F_EDGES: return on_edges(w, f);
    case GX_F_REG:   return on_reg(w, f);
    case GX_F_ROUTE: return on_route(w, f);
    case GX_F_MSG:   return gx_worker_on_msg(w, f);
    case GX_F_SYNC:  return on_sync(w, f);
    default:         return bad_frame(w, f);
    }
}

// Handles one frame from the inbox, waiting at most timeout_ms (-1: until
// one comes or the run is shut down). Returns 0 after a frame, 1 if
// nothing came, -1 if the worker cannot go on.
int
gx_worker_pump(worker_t *w, int timeout_ms)
{
    gx_inframe_t in = { 0 };
    gx_error_t err;
    int rc = gx_recv(w->mb.inbox, &in, timeout_ms, &err);
    if (rc < 0)
        return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self, err.msg);
    if (rc > 0)
        return 1;
    // Counted here, not in handle(): frames to itself skip the socket and
    // the master's count alike.
    uint32_t kind = in.f.kind;
    uint64_t step = in.f.step;
    if (kind == GX_F_MSG || kind == GX_F_DIRECT)
        rc = gx_mailbox_hold(&w->mb, &in, w->step);
    else if (kind == GX_F_MSG_END && step != w->step)
        rc = bad_frame(w, &in.f);
    else if (kind != GX_F_MSG_END)
        rc = handle(w, &in.f);
    if (rc == 0 && kind == GX_F_DIRECT && step != w->step)
        w->mb.got_direct_next++;
    else if (rc == 0 && kind < GX_F_KINDS)
        w->mb.got[kind]++;
    gx_inframe_close(&in);
    return rc;
}

// A link to a peer is full (distributed mode bounds the links to other
// processes): take in what peers send meanwhile, for a millisecond, so
// that two workers sending to each other cannot both wait.
int
gx_worker_take_in(void *arg)
{
    worker_t *w = arg;
    return w->alarm.raised || gx_worker_pump(w, 1) < 0 ? -1 : 0;
}

// Sends a frame to peer d (core/mailbox.c).
int
gx_worker_send(worker_t *w, uint32_t d, const gx_frame_t *f)
{
    return gx_mailbox_send(&w->mb, d, f, &w->stats[GX_STAT_BYTES_SENT]);
}

// Where the worker's batches go (gx_post_t): a frame to itself goes
// straight to the handler, one to a peer through the outbox.
int
gx_worker_deliver(void *ctx, uint32_t dest, const gx_frame_t *f)
{
    worker_t *w = ctx;
    return dest == w->self ? handle(w, f) : gx_worker_send(w, dest, f);
}

// Waits for the data frames the master said were sent here this phase:
// of `kind`, and of `also` (0: no second kind; no frame kind is 0).
int
gx_worker_await_data(worker_t *w, uint32_t kind, uint32_t also)
{
    while (!w->alarm.raised && w->mb.got[kind] + w->mb.got[also] < w->mb.expect)
        gx_worker_pump(w, -1);
    uint64_t got = w->mb.got[kind] + w->mb.got[also];
    if (!w->alarm.raised && got != w->mb.expect)
        gx_alarm_raise(&w->alarm,
                       "worker %u: %llu %s%s%s frames where %llu were sent",
                       w->self, (unsigned long long)got,
                       gx_frame_kind_name(kind), also ? " and " : "",
                       also ? gx_frame_kind_name(also) : "",
                       (unsigned long long)w->mb.expect);
    w->mb.got[kind] = w->mb.got[also] = 0;
    return w->alarm.raised ? -1 : 0;
}
// ---- Barrier ---------------------------------------------------------------

static int
report(worker_t *w, uint64_t step)
{
    gx_report_view_t v = { .step = step, .worker = w->self,
                           .n_aggs = w->prog->n_aggs, .W = w->W,
                           .stats = w->stats, .agg = w->agg_local,
                           .sent = w->mb.sent };
    gx_frame_t f = gx_report_pack(&v);
    gx_error_t err;
    int rc = gx_send(w->mb.ctl, 0, &f, NULL, &err);
    memset(w->stats, 0, sizeof w->stats);
    memset(w->mb.sent, 0, (size_t)w->W * sizeof *w->mb.sent);
    if (rc != 0)
        return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self, err.msg);
    return 0;
}

// Waits for the master's word: 0 go on, 1 stop, -1 the run is over. GO
// carries the aggregates, the run's facts and the number of data frames
// the phase just ended sent to this worker.
int
gx_worker_await_command(worker_t *w)
{
    gx_inframe_t in = { 0 };
    gx_error_t err;
    if (w->alarm.raised)
        return -1;
    if (gx_recv(w->mb.ctl, &in, -1, &err) != 0)
        return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self, err.msg);
    int rc = -1;
    const gx_frame_t *f = &in.f;
    gx_go_view_t go;
    if (gx_go_unpack(f, w->prog->n_aggs, &go) == 0) {
        memcpy(w->agg, go.agg, go.n_aggs * sizeof(gx_agg_value_t));
        memcpy(w->facts, go.facts, sizeof w->facts);
        memcpy(&w->mb.expect, go.expect, sizeof w->mb.expect);
        memcpy(w->global, go.global, sizeof w->global);
        rc = 0;
    } else if (f->kind == GX_F_STOP) {
        rc = 1;
    } else {
        gx_alarm_raise(&w->alarm,
                       "worker %u: unexpected %s frame from the master",
                       w->self, gx_frame_kind_name(f->kind));
    }
    gx_inframe_close(&in);
    return rc;
}

// Reports at a barrier and waits for the master's word. 0: go on.
int
gx_worker_barrier(worker_t *w, uint64_t step)
{
    if (w->alarm.raised || report(w, step) != 0)
        return -1;
    return gx_worker_await_command(w);
}

void
gx_worker_progress(worker_t *w, double *last, const gx_reader_t *r,
                   uint64_t edges)
{
    double t = gx_clock_now();
    if (t - *last < 0.1)
        return;
    *last = t;
    uint64_t s[2] = { r ? gx_reader_bytes(r) : 0, edges };
    gx_frame_t f = gx_progress_pack(w->self, s);
    gx_error_t err;
    gx_send(w->mb.ctl, 0, &f, NULL, &err);   // progress is best effort
}
