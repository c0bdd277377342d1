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
#include "core/partstore.h"

// ---- Batches ---------------------------------------------------------------

// Starts a phase's per-partition batches: rows of `kind` with these
// columns; each is made when its partition gets its first row.
void
gx_pbatch_begin(worker_t *w, uint32_t kind, uint32_t n_cols,
             const uint32_t *width)
{
    batch_init(&w->pb_proto, &w->post, kind, 0, 0, n_cols, width, w->P);
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
        free(b);
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
        int64_t m = gx_mtable_add(&w->mt, &w->alarm, id, o, d);
        if (m < 0)
            return -1;
        bool sends = ((w->prog->direction & GX_DIR_OUT) && o > 0)
                     || ((w->prog->direction & GX_DIR_IN) && d > 0);
        if (f->a != GX_NO_PARTITION
            && gx_reg_push(&w->reg, &w->alarm, (uint32_t)m,
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
int
gx_worker_on_msg(worker_t *w, const gx_frame_t *f)
{
    if (!rows_ok(f, 0, 4) || !rows_ok(f, 1, w->msz))
        return bad_frame(w, f);
    const uint8_t *idx = f->bin[0], *msg = f->bin[1];
    for (uint64_t i = 0; i < f->b; i++) {
        uint32_t m;
        memcpy(&m, idx + 4 * i, 4);
        if (m >= w->mt.n_master)
            return bad_frame(w, f);
        if (master_receive(w, m, msg + i * w->msz) != 0)
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
    if (ds == 0 || !rows_ok(f, 0, 8) || !rows_ok(f, 1, ds))
        return bad_frame(w, f);
    const uint8_t *ids = f->bin[0], *msg = f->bin[1];
    for (uint64_t i = 0; i < f->b; i++) {
        uint64_t id;
        memcpy(&id, ids + 8 * i, 8);
        if (gx_worker_direct_receive(w, master_index(w, id), msg + i * ds) != 0)
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
    gx_frame_t f = { .kind = GX_F_REPORT, .step = step, .a = w->self,
                     .n_bins = 4 };
    f.bin[0] = w->stats;
    f.bin_len[0] = sizeof w->stats;
    f.bin[1] = w->agg_local;
    f.bin_len[1] = w->prog->n_aggs * sizeof(gx_agg_value_t);
    f.bin[2] = "";
    f.bin_len[2] = 0;
    f.bin[3] = w->mb.sent;
    f.bin_len[3] = (size_t)w->W * 4;
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
    size_t na = w->prog->n_aggs * sizeof(gx_agg_value_t);
    const gx_frame_t *f = &in.f;
    if (f->kind == GX_F_GO && f->n_bins == 4 && f->bin_len[0] == na
        && f->bin_len[1] == sizeof w->facts && f->bin_len[2] == 8
        && f->bin_len[3] == sizeof w->global) {
        memcpy(w->agg, f->bin[0], na);
        memcpy(w->facts, f->bin[1], sizeof w->facts);
        memcpy(&w->mb.expect, f->bin[2], 8);
        memcpy(w->global, f->bin[3], sizeof w->global);
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
    gx_frame_t f = { .kind = GX_F_PROGRESS, .a = w->self, .n_bins = 1 };
    f.bin[0] = s;
    f.bin_len[0] = sizeof s;
    gx_error_t err;
    gx_send(w->mb.ctl, 0, &f, NULL, &err);   // progress is best effort
}
