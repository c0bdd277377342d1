// core/hub.c: the one thread of a process that touches the network. The
// engine's threads keep their inproc sockets exactly as in local mode; the
// hub stands in for everything that lives in another process:
//
//   - a worker thread sending to a thread d elsewhere connects to d's
//     inproc endpoint as usual, where the hub has bound a DEALER with d's
//     routing id (a proxy); what arrives there leaves as DATA for d;
//   - a worker thread's control DEALER connects to the master's inproc
//     endpoint, where (in a worker process) the hub has bound a ROUTER; what
//     arrives there leaves as UP;
//   - in the master's process the hub connects a proxy DEALER per worker
//     thread to the master's ROUTER: UP comes out of it, DOWN goes in.
//
// Frames cross byte for byte (zmq_msg moves, no copy). Each link has a
// bounded queue; a full one is retried, and the proxies that feed it are
// not read meanwhile, so a slow receiver holds its senders back. Every
// link carries a heartbeat each second; a peer unheard for GX_SILENCE_MS
// fails the run, naming it. A failure in this process (the run's context
// shut down) goes to the master as FAIL; the master's goes to every worker
// as ABORT. docs/design.md, "Distributed mode".
#include "core/hub_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/clock.h"
#include "core/frames.h"
#include "core/mem.h"
#include "core/transport.h"
#include "core/tsan.h"

// The master's ROUTER has had no route to a worker for GX_CLOSED_MS: its
// connection closed (the process died, or ZeroMQ's heartbeat gave up on
// it). A worker's DEALER would reconnect instead, so only the master can
// tell. Not at the first EHOSTUNREACH: libzmq also says it for a link that
// was full and whose reader has drained it but not yet said so.
static void
connection_closed(gx_hub_t *h, uint32_t p)
{
    char name[400], when[64];
    gx_link_name(h->l, p, name, sizeof name);
    gx_hub_where(h->e, when, sizeof when);
    gx_hub_failc(h, gx_hub_gone_code(p), "%s stopped answering %s (its connection "
              "closed)", name, when);
    h->dead = true;
}

static void
retry_pending(gx_hub_t *h)
{
    for (uint32_t p = 0; p < h->l->n_procs; p++) {
        pend_t *q = &h->pend[p];
        if (!q->on)
            continue;
        q->on = false;
        zmq_msg_t body;
        zmq_msg_init(&body);
        zmq_msg_move(&body, &q->body);
        zmq_msg_close(&q->body);
        uint8_t digest[32];
        memcpy(digest, q->digest, 32);
        gx_hub_forward(h, p, q->kind, q->dest, &body, digest);
        zmq_msg_close(&body);
    }
}

static void
beat(gx_hub_t *h)
{
    double t = gx_clock_now();
    if (t < h->next_beat)
        return;
    h->next_beat = t + GX_BEAT_MS / 1000.0;
    for (uint32_t p = 0; p < h->l->n_procs; p++) {
        if (p == h->l->self)
            continue;
        int rc = gx_hub_send_note(h, p, GX_N_BEAT, NULL);
        if (rc < 0 && errno == EHOSTUNREACH)
            gx_hub_unroutable(h, p);
        else if (rc == 0 && h->unroutable)
            h->unroutable[p] = 0;
    }
}

// A worker's link to peer p that has not connected GX_CONNECT_MS after
// the run began, or whose handshake failed: said with the address p
// advertised, so the right party is named (p itself would only hear
// silence from here, and blame this process).
static void
watch_peer(gx_hub_t *h, uint32_t p, double t)
{
    gx_watch_t *w = &h->l->watch_out[p];
    gx_watch_poll(w);
    const gx_proc_t *pr = &h->l->procs[p];
    char when[64];
    gx_hub_where(h->e, when, sizeof when);
    if (w->failures) {
        hub_fail(h, "the ZeroMQ handshake with worker process %u at %s:%u "
                 "failed %s", p, pr->host, pr->port, when);
        h->dead = true;
    } else if (!w->connected && t - h->began > GX_CONNECT_MS / 1000.0) {
        hub_fail(h, "cannot connect to worker process %u at %s:%u (the "
                 "address it advertises: see its --advertise) within %d s",
                 p, pr->host, pr->port, GX_CONNECT_MS / 1000);
        h->dead = true;
    }
}

// A peer unheard for too long: the run cannot finish.
static void
watch(gx_hub_t *h)
{
    double t = gx_clock_now();
    for (uint32_t p = 1; h->l->watch_out && p < h->l->n_procs && !h->dead; p++)
        if (p != h->l->self && !h->l->watch_out[p].handshaken)
            watch_peer(h, p, t);
    for (uint32_t p = 0; p < h->l->n_procs && !h->dead; p++) {
        if (h->unroutable && h->unroutable[p]
            && t - h->unroutable[p] > GX_CLOSED_MS / 1000.0) {
            connection_closed(h, p);
            return;
        }
        if (p == h->l->self || t - h->heard[p] < GX_SILENCE_MS / 1000.0)
            continue;
        char name[400], when[64];
        gx_link_name(h->l, p, name, sizeof name);
        gx_hub_where(h->e, when, sizeof when);
        gx_hub_failc(h, gx_hub_gone_code(p), "%s stopped answering %s (nothing heard "
                  "for %d s)", name, when, GX_SILENCE_MS / 1000);
        h->dead = true;
    }
}

// ---- Receiving from the threads --------------------------------------------

// A frame a local thread sent toward thread d (through d's proxy).
static void
from_proxy(gx_hub_t *h, uint32_t d)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, h->proxy[d], ZMQ_DONTWAIT) >= 0)
        gx_hub_forward(h, gx_link_proc_of(h->l, d), is_master(h) ? GX_N_DOWN
                                                           : GX_N_DATA, d, &m,
                NULL);
    zmq_msg_close(&m);
}

// The REPORT in *m, packed again with this process's figures (the engine's
// threads do not know them; docs/design.md, "Out of core"). -1: the run
// failed.
static int
add_figures(gx_hub_t *h, zmq_msg_t *m)
{
    gx_frame_t f;
    gx_report_view_t v;
    gx_error_t err;
    uint64_t fig[GX_PROC_N];
    const gx_engine_t *e = h->e;
    if (gx_frame_decode(zmq_msg_data(m), zmq_msg_size(m), &f, &err) != 0
        || gx_report_unpack(&f, e->prog->n_aggs, e->n_workers, &v) != 0) {
        hub_fail(h, "hub: a malformed REPORT from a thread of this process");
        return -1;
    }
    gx_engine_figures(h->e, fig);
    v.proc = fig;
    gx_frame_t g = gx_report_pack(&v);
    zmq_msg_t out;
    size_t len;
    if (gx_frame_msg(&g, &out, &len, &err) != 0) {
        hub_fail(h, "hub: %s", err.msg);
        return -1;
    }
    zmq_msg_close(m);
    zmq_msg_init(m);
    zmq_msg_move(m, &out);
    zmq_msg_close(&out);
    return 0;
}

// The last of this process's REPORTs at a barrier carries its figures:
// by then every thread here has finished the step (no thread reports
// twice before the master's GO, which waits for every REPORT).
static int
pass_report(gx_hub_t *h, zmq_msg_t *m)
{
    TSAN_ACQUIRE(zmq_msg_data(m));       // a thread's encoding, read here
    if (gx_frame_peek_kind(zmq_msg_data(m), zmq_msg_size(m)) != GX_F_REPORT
        || ++h->reports < h->e->n_here)
        return 0;
    h->reports = 0;
    return add_figures(h, m);
}

// A local thread's frame for the master: [w<i>][frame].
static void
from_ctl(gx_hub_t *h)
{
    char id[16];
    int n = zmq_recv(h->ctl, id, sizeof id, ZMQ_DONTWAIT);
    if (n < 0)
        return;
    zmq_msg_t m;
    zmq_msg_init(&m);
    uint32_t i;
    if (zmq_msg_recv(&m, h->ctl, 0) >= 0 && n == 5 && pass_report(h, &m) == 0) {
        memcpy(&i, id + 1, 4);
        gx_hub_forward(h, 0, GX_N_UP, i, &m, NULL);
    }
    zmq_msg_close(&m);
}

// ---- The loop --------------------------------------------------------------

static bool
feeds_full_link(const gx_hub_t *h, uint32_t d)
{
    return h->pend[gx_link_proc_of(h->l, d)].on;
}

// The sockets to wait on: the network always; the engine's while its
// context lives; a proxy only while its link has room.
static int
poll_set(gx_hub_t *h, bool engine_up)
{
    int n = 0;
    zmq_pollitem_t *it = h->items;
    it[n] = (zmq_pollitem_t){ h->l->in, 0, ZMQ_POLLIN, 0 };
    h->item_src[n++] = SRC_IN;
    if (h->l->up) {
        it[n] = (zmq_pollitem_t){ h->l->up, 0, ZMQ_POLLIN, 0 };
        h->item_src[n++] = SRC_UP;
    }
    if (!engine_up)
        return n;
    it[n] = (zmq_pollitem_t){ h->pipe[1], 0, ZMQ_POLLIN, 0 };
    h->item_src[n++] = SRC_PIPE;
    bool master_reads = is_master(h) && h->l->stream && !h->in_end
                        && h->credit && !h->pend[gx_link_proc_of(h->l, 0)].on;
    bool worker_writes = !is_master(h) && h->l->stream && h->in_n
                         && h->l->stream_pipe >= 0;
    if (master_reads || worker_writes) {
        it[n] = (zmq_pollitem_t){ NULL, master_reads ? h->l->stream_fd
                                                     : h->l->stream_pipe,
                                  master_reads ? ZMQ_POLLIN : ZMQ_POLLOUT, 0 };
        h->item_src[n++] = SRC_STREAM;
    }
    if (h->ctl && !h->pend[0].on) {
        it[n] = (zmq_pollitem_t){ h->ctl, 0, ZMQ_POLLIN, 0 };
        h->item_src[n++] = SRC_CTL;
    }
    for (uint32_t d = 0; d < h->e->n_workers; d++)
        if (h->proxy[d] && !feeds_full_link(h, d)) {
            it[n] = (zmq_pollitem_t){ h->proxy[d], 0, ZMQ_POLLIN, 0 };
            h->item_src[n++] = d;
        }
    return n;
}

static bool
any_pending(const gx_hub_t *h)
{
    for (uint32_t p = 0; p < h->l->n_procs; p++)
        if (h->pend[p].on)
            return true;
    return false;
}

// What poll said is ready, handled. A source that feeds a link (the
// streamed input, the control ROUTER, a proxy) is read only if its link
// still keeps no message: poll_set chose it while the link had room, but
// an item before it in this round may have found the link full, and a
// link keeps one message. (The master's hub read the end of the streamed
// input, kept it for a full link, then read a DOWN for the same process
// in the same round, which took its place: the worker of thread 0
// waited for the end of its input for ever, every beat on time.) A
// source skipped is still ready at the next poll.
static void
serve(gx_hub_t *h, int n)
{
    for (int i = 0; i < n; i++) {
        if (!(h->items[i].revents & (ZMQ_POLLIN | ZMQ_POLLOUT | ZMQ_POLLERR)))
            continue;
        uint32_t src = h->item_src[i];
        if (src == SRC_STREAM && is_master(h)) {
            if (!h->pend[gx_link_proc_of(h->l, 0)].on)
                gx_hub_stream_read(h);
        } else if (src == SRC_STREAM)
            gx_hub_stream_write(h);
        else if (src == SRC_IN)
            gx_hub_from_net(h, h->l->in, true);
        else if (src == SRC_UP)
            gx_hub_from_net(h, h->l->up, false);
        else if (src == SRC_CTL) {
            if (!h->pend[0].on)
                from_ctl(h);
        } else if (src == SRC_PIPE) {
            char ok = 0;
            if (zmq_recv(h->pipe[1], &ok, 1, ZMQ_DONTWAIT) == 1) {
                h->local_done = true;
                h->local_ok = ok == 1;
            }
        } else if (!feeds_full_link(h, src))
            from_proxy(h, src);
    }
}

// Until this process's side is over (and, in a worker, the master has
// said the run is): relay, beat, watch. Returns when the engine's
// context is shut down (a failure) or the run is over.
static void
relay(gx_hub_t *h)
{
    for (;;) {
        int n = poll_set(h, true);
        int timeout = any_pending(h) || h->wants ? 2 : 200;
        int rc = zmq_poll(h->items, n, timeout);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return;                      // ETERM: this process failed
        serve(h, n);
        retry_pending(h);
        gx_hub_stream_want(h);
        beat(h);
        watch(h);
        // A signal to either side ends the run as a failure the other
        // hears of: the master sends ABORT, a worker FAIL with its reason.
        if (gx_interrupted() && !h->dead)
            gx_hub_failc(h, GX_E_INTERRUPTED, "%s%s",
                         is_master(h) ? "the master was " : "",
                         gx_interrupted_name());
        if (atomic_load(&h->e->fail_seq) != 0)
            return;
        if (h->local_done && (is_master(h) ? !any_pending(h) : h->ended))
            return;
    }
}

// A last word, unlike a beat, is not skipped when its link is full: a
// worker that missed END would wait for the master's silence and exit 1
// after a run that succeeded. The other end's hub always reads, so room
// comes soon; one deadline for every link bounds the wait for peers
// gone for good.
static void
last_word(gx_hub_t *h, uint32_t p, uint32_t kind, const char *text,
          double end)
{
    while (gx_hub_send_note(h, p, kind, text) == 1 && gx_clock_now() < end)
        usleep(1000);
}

// The run is over here, one way or the other: tell the others. The
// master's word to the workers is END or ABORT; a worker's to the master
// is FAIL (unless the master stopped it).
static void
wind_down(gx_hub_t *h)
{
    bool failed = atomic_load(&h->e->fail_seq) != 0;
    char msg[512];
    if (failed)
        gx_engine_first_error(h->e, msg, sizeof msg);
    double end = gx_clock_now() + GX_SILENCE_MS / 1000.0;
    if (is_master(h)) {
        for (uint32_t p = 1; p < h->l->n_procs; p++)
            last_word(h, p, failed ? GX_N_ABORT : GX_N_END,
                      failed ? msg : NULL, end);
    } else if (failed && !h->dead) {
        last_word(h, 0, GX_N_FAIL, msg, end);
    }
    h->l->told = true;
}

static void *
hub_main(void *arg)
{
    gx_hub_t *h = arg;
    relay(h);
    wind_down(h);
    return NULL;
}

// ---- Set-up ----------------------------------------------------------------

static int
proxies(gx_hub_t *h, gx_error_t *err)
{
    gx_engine_t *e = h->e;
    for (uint32_t d = 0; d < e->n_workers; d++) {
        if (gx_hub_is_local(h, d))
            continue;
        char id[5], ep[128];
        gx_worker_identity(d, id);
        if (!(h->proxy[d] = gx_socket_new(e->zctx, ZMQ_DEALER, id, err)))
            return -1;
        // A worker's stand-ins are bounded: a thread sending to a thread
        // elsewhere waits (taking in its own inbox) while the link is full.
        if (!is_master(h))
            gx_socket_hwm(h->proxy[d], GX_INPROC_HWM);
        int rc;
        if (is_master(h)) {
            rc = zmq_connect(h->proxy[d], e->master_ep);
            snprintf(ep, sizeof ep, "%s", e->master_ep);
        } else {
            gx_worker_endpoint(e, d, ep, sizeof ep);
            rc = zmq_bind(h->proxy[d], ep);
        }
        if (rc != 0)
            return gx_error_set(err, "hub: %s: %s", ep, zmq_strerror(errno));
    }
    return 0;
}

static int
sockets(gx_hub_t *h, gx_error_t *err)
{
    gx_engine_t *e = h->e;
    char ep[128];
    snprintf(ep, sizeof ep, "%shub", e->worker_ep);
    if (!(h->pipe[0] = gx_socket_new(e->zctx, ZMQ_PAIR, NULL, err))
        || !(h->pipe[1] = gx_socket_new(e->zctx, ZMQ_PAIR, NULL, err)))
        return -1;
    if (zmq_bind(h->pipe[1], ep) != 0 || zmq_connect(h->pipe[0], ep) != 0)
        return gx_error_set(err, "hub: %s: %s", ep, zmq_strerror(errno));
    if (!is_master(h)) {
        if (!(h->ctl = gx_socket_new(e->zctx, ZMQ_ROUTER, NULL, err))
            || !(h->deliver = gx_socket_new(e->zctx, ZMQ_ROUTER, NULL, err)))
            return -1;
        if (zmq_bind(h->ctl, e->master_ep) != 0)
            return gx_error_set(err, "hub: %s: %s", e->master_ep,
                                zmq_strerror(errno));
    }
    return proxies(h, err);
}

static void
close_all(gx_hub_t *h)
{
    for (uint32_t d = 0; h->proxy && d < h->e->n_workers; d++)
        gx_socket_close(&h->proxy[d]);
    gx_socket_close(&h->ctl);
    gx_socket_close(&h->deliver);
    gx_socket_close(&h->pipe[0]);
    gx_socket_close(&h->pipe[1]);
    for (uint32_t p = 0; h->pend && p < h->l->n_procs; p++)
        if (h->pend[p].on)
            zmq_msg_close(&h->pend[p].body);
    for (; h->in_n; h->in_n--, h->in_head = (h->in_head + 1) % GX_STREAM_AHEAD)
        zmq_msg_close(&h->in_q[h->in_head]);
}

int
gx_hub_start(gx_engine_t *e, gx_link_t *link, gx_hub_t **out, gx_error_t *err)
{
    gx_hub_t *h = gx_calloc(1, sizeof *h);
    *out = h;
    if (!h)
        return gx_error_set(err, "hub: out of memory");
    h->e = e;
    h->l = link;
    uint32_t W = e->n_workers, n = link->n_procs;
    h->proxy = gx_calloc(W, sizeof *h->proxy);
    h->connected = gx_calloc(W, 1);
    h->pend = gx_calloc(n, sizeof *h->pend);
    h->heard = gx_calloc(n, sizeof *h->heard);
    if (link->self == 0 && !(h->unroutable = gx_calloc(n, sizeof *h->unroutable)))
        return gx_error_set(err, "hub: out of memory");
    h->credit = GX_STREAM_AHEAD;
    h->items = gx_calloc(W + 8, sizeof *h->items);
    h->item_src = gx_calloc(W + 8, sizeof *h->item_src);
    if (!h->proxy || !h->connected || !h->pend || !h->heard || !h->items
        || !h->item_src)
        return gx_error_set(err, "hub: out of memory");
    double t = gx_clock_now();
    h->began = t;
    for (uint32_t p = 0; p < n; p++)
        h->heard[p] = t;
    if (sockets(h, err) != 0)
        return -1;
    int rc = pthread_create(&h->thread, NULL, hub_main, h);
    if (rc != 0)
        return gx_error_set(err, "hub: cannot start a thread: %s",
                            strerror(rc));
    h->started = true;
    return 0;
}

void
gx_hub_finish(gx_hub_t *h, bool ok)
{
    if (!h)
        return;
    if (h->started) {
        char c = ok ? 1 : 0;
        // Lost if the context is already shut down: the hub sees that.
        zmq_send(h->pipe[0], &c, 1, ZMQ_DONTWAIT);
        pthread_join(h->thread, NULL);
        h->started = false;
    }
    close_all(h);
}

const gx_failure_t *
gx_hub_failure(const gx_hub_t *h)
{
    return h && h->failure.seq ? &h->failure : NULL;
}

void
gx_hub_destroy(gx_hub_t **hp)
{
    gx_hub_t *h = *hp;
    if (!h)
        return;
    gx_hub_finish(h, false);
    gx_free(h->proxy);
    gx_free(h->connected);
    gx_free(h->pend);
    gx_free(h->heard);
    gx_free(h->unroutable);
    gx_free(h->items);
    gx_free(h->item_src);
    gx_free(h);
    *hp = NULL;
}
