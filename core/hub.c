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
#include "core/hub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/clock.h"
#include "core/mem.h"
#include "core/transport.h"
#include "core/tsan.h"

typedef struct pend {
    bool      on;
    uint32_t  kind, dest;
    zmq_msg_t body;
    uint8_t   digest[32];           // the body's tag, which its seal covers
} pend_t;

struct gx_hub {
    gx_engine_t *e;
    gx_link_t   *l;
    pthread_t    thread;
    bool         started;
    void        *pipe[2];           // engine -> hub: "this side is done"
    void       **proxy;             // [W]: remote threads (worker), every
                                    // thread (master); NULL for local ones
    void        *ctl;               // worker: the threads' control ROUTER
    void        *deliver;           // worker: ROUTER to the local inboxes
    uint8_t     *connected;         // [W] deliver connected to inbox d
    pend_t      *pend;              // [n_procs] one message waiting per link
    double      *heard;             // [n_procs] last message from each
    double      *unroutable;        // master: [n_procs] since when its
                                    // ROUTER has had no route to each (0)
    double       next_beat;
    double       began;             // when the hub started
    bool         local_done, local_ok, ended, dead;
    bool         stopped;           // worker: the master has said STOP
    gx_failure_t failure;
    zmq_pollitem_t *items;
    uint32_t    *item_src;          // what items[i] is (see poll_set)
    // The streamed input (link->stream). Master: blocks it may still send
    // (WANT adds one), and whether it has reached the end. Worker: blocks
    // received and not yet written into the pipe, and how far into the
    // first; `in_end` once the end has come.
    uint32_t     credit;
    bool         in_end;
    zmq_msg_t    in_q[GX_STREAM_AHEAD];
    uint32_t     in_head, in_n;
    size_t       in_off;
};

enum { SRC_PIPE = UINT32_MAX, SRC_IN = UINT32_MAX - 1,
       SRC_UP = UINT32_MAX - 2, SRC_CTL = UINT32_MAX - 3,
       SRC_STREAM = UINT32_MAX - 4 };

static bool
is_master(const gx_hub_t *h)
{
    return h->l->self == 0;
}

static bool
is_local(const gx_hub_t *h, uint32_t d)
{
    return d >= h->e->first && d - h->e->first < h->e->n_here;
}

__attribute__((format(printf, 3, 4)))
static void
hub_failc(gx_hub_t *h, gx_errc_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gx_engine_vfailc(h->e, &h->failure, code, fmt, ap);
    va_end(ap);
}

#define hub_fail(h, ...) hub_failc(h, GX_E_FAILED, __VA_ARGS__)

// Process p is gone: in a worker, p == 0 is the master.
static gx_errc_t
gone_code(uint32_t p)
{
    return p == 0 ? GX_E_MASTER_GONE : GX_E_FAILED;
}

// "at superstep 5", "while loading"...
static void
where(const gx_engine_t *e, char *out, size_t cap)
{
    long long s = atomic_load(&e->where);
    static const char *stage[] = { "while loading", "while partitioning",
                                   "while gathering the results" };
    if (s >= 0)
        snprintf(out, cap, "at superstep %lld", s);
    else
        snprintf(out, cap, "%s", stage[(-s - 1) % 3]);
}

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
    where(h->e, when, sizeof when);
    hub_failc(h, gone_code(p), "%s stopped answering %s (its connection "
              "closed)", name, when);
    h->dead = true;
}

// The master's ROUTER found no route to worker process p: noted (the
// first time), judged by watch() once it has lasted.
static void
unroutable(gx_hub_t *h, uint32_t p)
{
    if (h->unroutable && !h->unroutable[p])
        h->unroutable[p] = gx_clock_now();
}

// ---- Sending ---------------------------------------------------------------

// The socket and routing id that reach process p.
static void *
link_to(gx_hub_t *h, uint32_t p, const void **id, size_t *id_len)
{
    *id = NULL;
    *id_len = 0;
    if (is_master(h)) {
        *id = h->l->procs[p].id;
        *id_len = h->l->procs[p].id_len;
        return h->l->in;
    }
    return p == 0 ? h->l->up : h->l->out[p];
}

// Sends kind/dest with a body (moved) to process p, sealed for that link
// (`digest`: the body's, if already known); keeps it if the link is full.
// -1: the link is broken.
static int
forward(gx_hub_t *h, uint32_t p, uint32_t kind, uint32_t dest, zmq_msg_t *body,
        const uint8_t *digest)
{
    const void *id;
    size_t id_len;
    void *s = link_to(h, p, &id, &id_len);
    gx_frame_t f = { .kind = kind, .a = h->l->run_id, .b = dest };
    uint8_t d[32];
    if (!digest) {
        gx_net_digest(&h->l->seal[p], body, d);
        digest = d;
    }
    gx_error_t err;
    int rc = gx_net_send_sealed(s, id, id_len, &f, body, &h->l->seal[p],
                                digest, &err);
    if (rc < 0 && errno == EHOSTUNREACH) {
        unroutable(h, p);               // kept and retried, as a full link
        rc = 1;
    } else if (rc == 0 && h->unroutable) {
        h->unroutable[p] = 0;
    }
    if (rc == 1) {
        pend_t *q = &h->pend[p];
        q->on = true;
        q->kind = kind;
        q->dest = dest;
        memmove(q->digest, digest, 32);
        zmq_msg_init(&q->body);
        zmq_msg_move(&q->body, body);
        return 0;
    }
    if (rc < 0) {
        char name[400], when[64];
        gx_link_name(h->l, p, name, sizeof name);
        where(h->e, when, sizeof when);
        hub_failc(h, gone_code(p), "cannot send to %s %s: %s", name, when,
                  err.msg);
    }
    return rc;
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
        forward(h, p, q->kind, q->dest, &body, digest);
        zmq_msg_close(&body);
    }
}

// Returns what gx_net_send does (errno set on -1).
static int
send_note(gx_hub_t *h, uint32_t p, uint32_t kind, const char *text)
{
    const void *id;
    size_t id_len;
    void *s = link_to(h, p, &id, &id_len);
    gx_frame_t f = { .kind = kind, .a = h->l->run_id, .b = h->l->self,
                     .n_bins = text ? 1 : 0 };
    f.bin[0] = text;
    f.bin_len[0] = text ? strlen(text) : 0;
    gx_error_t err;
    // Full: a beat skipped (no sequence number spent).
    return gx_net_send_sealed(s, id, id_len, &f, NULL, &h->l->seal[p], NULL,
                              &err);
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
        int rc = send_note(h, p, GX_N_BEAT, NULL);
        if (rc < 0 && errno == EHOSTUNREACH)
            unroutable(h, p);
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
    where(h->e, when, sizeof when);
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
        where(h->e, when, sizeof when);
        hub_failc(h, gone_code(p), "%s stopped answering %s (nothing heard "
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
        forward(h, gx_link_proc_of(h->l, d), is_master(h) ? GX_N_DOWN
                                                           : GX_N_DATA, d, &m,
                NULL);
    zmq_msg_close(&m);
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
    if (zmq_msg_recv(&m, h->ctl, 0) >= 0 && n == 5) {
        memcpy(&i, id + 1, 4);
        forward(h, 0, GX_N_UP, i, &m, NULL);
    }
    zmq_msg_close(&m);
}

// ---- The streamed input (stdin, a .gz) --------------------------------------

// Master: one read from the streamed input (poll said it will not block),
// sent on to the process of worker thread 0. A read of 0 is the end.
static void
free_block(void *data, void *hint)
{
    (void)hint;
    TSAN_ACQUIRE(data);              // freed by ZeroMQ's I/O thread
    free(data);
}

static void
stream_read(gx_hub_t *h)
{
    char *buf = gx_malloc(GX_STREAM_BLOCK);
    if (!buf)
        return hub_fail(h, "%s: out of memory", h->l->stream_name);
    ssize_t n;
    do
        n = read(h->l->stream_fd, buf, GX_STREAM_BLOCK);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        int e = errno;
        free(buf);
        if (e != EAGAIN)
            hub_fail(h, "%s: %s", h->l->stream_name, strerror(e));
        return;
    }
    // The block as read, shrunk to its bytes and handed to ZeroMQ whole.
    char *fit = n ? realloc(buf, (size_t)n) : NULL;
    if (fit)
        buf = fit;
    TSAN_RELEASE(buf);
    zmq_msg_t body;
    zmq_msg_init_data(&body, buf, (size_t)n, free_block, NULL);
    h->in_end = n == 0;
    h->credit--;
    forward(h, gx_link_proc_of(h->l, 0), GX_N_STREAM, n == 0, &body, NULL);
    zmq_msg_close(&body);
}

// Worker: a block for the pipe, queued; the end, once all is written,
// closes it.
static void
stream_take(gx_hub_t *h, gx_netmsg_t *in)
{
    if (h->in_end || h->in_n == GX_STREAM_AHEAD || !in->has_body) {
        hub_fail(h, "the master sent input nobody asked for");
        return;
    }
    zmq_msg_t *slot = &h->in_q[(h->in_head + h->in_n++) % GX_STREAM_AHEAD];
    zmq_msg_init(slot);
    zmq_msg_move(slot, &in->body);
    h->in_end = in->f.b == 1;
}

// Worker: writes what the pipe takes now (it is non-blocking); a block
// written whole is acknowledged with WANT, so the master sends another.
static void
stream_write(gx_hub_t *h)
{
    while (h->in_n) {
        zmq_msg_t *m = &h->in_q[h->in_head];
        size_t len = zmq_msg_size(m);
        if (h->in_off < len) {
            ssize_t n = write(h->l->stream_pipe,
                              (char *)zmq_msg_data(m) + h->in_off,
                              len - h->in_off);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (n < 0) {
                hub_fail(h, "%s: cannot pass it on: %s", h->l->stream_name,
                         strerror(errno));
                return;
            }
            h->in_off += (size_t)n;
            if (h->in_off < len)
                continue;
        }
        zmq_msg_close(m);
        h->in_head = (h->in_head + 1) % GX_STREAM_AHEAD;
        h->in_n--;
        h->in_off = 0;
        if (h->in_n == 0 && h->in_end) {
            close(h->l->stream_pipe);            // the reader sees the end
            h->l->stream_pipe = -1;
        } else if (len > 0) {
            send_note(h, 0, GX_N_WANT, NULL);
        }
    }
}

// ---- Receiving from the network -------------------------------------------

// Puts a frame into a local socket, addressed by routing id w<d>. With
// `gone_ok`, a thread that is no longer there is not a failure (the frame
// is dropped).
static void
hand_over(gx_hub_t *h, void *router, uint32_t d, zmq_msg_t *body,
          bool gone_ok)
{
    char id[5];
    gx_worker_identity(d, id);
    if (zmq_send(router, id, 5, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        if (!(gone_ok && errno == EHOSTUNREACH))
            hub_fail(h, "hub: cannot hand a frame to worker thread %u: %s", d,
                     zmq_strerror(errno));
        return;
    }
    if (zmq_msg_send(body, router, 0) < 0)
        hub_fail(h, "hub: cannot hand a frame to worker thread %u: %s", d,
                 zmq_strerror(errno));
}

// A frame for a thread that has finished: after STOP, the last step's
// SYNC frames may still be on their way to a thread that took its STOP,
// sent its values and closed its inbox. They are of no use; before STOP
// every inbox is bound (before its thread's HELLO), so there a frame with
// nowhere to go is still a failure.
static void
deliver(gx_hub_t *h, uint32_t d, zmq_msg_t *body)
{
    if (!h->connected[d]) {
        char ep[128];
        gx_worker_endpoint(h->e, d, ep, sizeof ep);
        if (zmq_connect(h->deliver, ep) != 0) {
            hub_fail(h, "hub: cannot connect to %s: %s", ep,
                     zmq_strerror(errno));
            return;
        }
        h->connected[d] = 1;
    }
    hand_over(h, h->deliver, d, body, h->stopped);
}

// The process a message on our ROUTER claims to come from (0: none of
// this run's). The master knows each worker's link by its routing id
// (16 random bytes the worker chose, which nobody else can take first);
// a worker takes the sender its seal names, which gx_net_open then holds
// it to. Routing ids between workers mean nothing.
static uint32_t
sender(const gx_hub_t *h, const gx_netmsg_t *in)
{
    const gx_link_t *l = h->l;
    if (is_master(h)) {
        for (uint32_t p = 1; p < l->n_procs; p++)
            if (l->procs[p].id_len == in->id_len
                && memcmp(l->procs[p].id, in->id, in->id_len) == 0)
                return p;
        return 0;
    }
    uint32_t p = in->from;
    return in->sealed && p > 0 && p < l->n_procs && p != l->self ? p : 0;
}

// Someone registering with a run already under way (one worker too many,
// whose REGISTER or PROOF came after the last place was taken).
static void
refuse_late(gx_hub_t *h, const gx_netmsg_t *in)
{
    if (in->f.kind != GX_N_REGISTER && in->f.kind != GX_N_PROOF)
        return;
    gx_frame_t f = { .kind = GX_N_REFUSE, .n_bins = 1 };
    f.bin[0] = "the run has already started";
    f.bin_len[0] = strlen(f.bin[0]);
    gx_error_t err;
    gx_net_send_hdr(h->l->in, in->id, in->id_len, &f, &err);
}

static void
text_of(const gx_frame_t *f, char *out, size_t cap)
{
    size_t n = f->n_bins ? f->bin_len[0] : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, n ? f->bin[0] : "", n);
    out[n] = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 32)
            out[i] = '?';             // a remote text is printed: no escapes
}

// Whether the master has said STOP (the supersteps are over): the frame's
// kind, read from its first bytes as the codec lays them out (a fixarray,
// then the kind as a positive fixint).
static void
note_stop(gx_hub_t *h, zmq_msg_t *body)
{
    const uint8_t *p = zmq_msg_data(body);
    if (zmq_msg_size(body) >= 2 && (p[0] & 0xf0) == 0x90 && p[1] == GX_F_STOP)
        h->stopped = true;
}

// One message from process p (already known to be of this run).
static void
on_message(gx_hub_t *h, uint32_t p, gx_netmsg_t *in)
{
    const gx_frame_t *f = &in->f;
    uint32_t d = (uint32_t)f->b;
    bool from_master = p == 0;
    char text[400], name[400];
    h->heard[p] = gx_clock_now();
    switch (f->kind) {
    case GX_N_BEAT:
        return;
    case GX_N_DATA:
        if (!from_master && in->has_body && f->b < h->e->n_workers && is_local(h, d))
            return deliver(h, d, &in->body);
        break;
    case GX_N_DOWN:
        if (from_master && in->has_body && f->b < h->e->n_workers
            && is_local(h, d)) {
            note_stop(h, &in->body);
            hand_over(h, h->ctl, d, &in->body, false);
            return;
        }
        break;
    case GX_N_UP:
        if (is_master(h) && in->has_body && d >= h->l->procs[p].first
            && d - h->l->procs[p].first < h->l->procs[p].n) {
            if (zmq_msg_send(&in->body, h->proxy[d], 0) < 0)
                hub_fail(h, "hub: cannot hand a frame to the master: %s",
                         zmq_strerror(errno));
            return;
        }
        break;
    case GX_N_FAIL:
        if (is_master(h)) {
            text_of(f, text, sizeof text);
            gx_link_name(h->l, p, name, sizeof name);
            return hub_fail(h, "%s failed: %s", name, text);
        }
        break;
    case GX_N_ABORT:
        if (from_master) {
            text_of(f, text, sizeof text);
            h->dead = true;                  // no FAIL back: it knows
            return hub_failc(h, GX_E_STOPPED, "the master stopped the run: "
                             "%s", text);
        }
        break;
    case GX_N_END:
        if (from_master) {
            h->ended = true;
            return;
        }
        break;
    case GX_N_STREAM:
        if (from_master && h->l->stream)
            return stream_take(h, in);
        break;
    case GX_N_WANT:
        if (is_master(h) && h->l->stream
            && p == gx_link_proc_of(h->l, 0) && h->credit < GX_STREAM_AHEAD) {
            h->credit++;
            return;
        }
        break;
    }
    gx_link_name(h->l, p, name, sizeof name);
    hub_fail(h, "a malformed %s message from %s", gx_net_kind_name(f->kind),
             name);
}

// Whether a message from process p is genuine and in order. What is not
// is ignored where anyone could have sent it: unsealed (a stranger, or a
// challenge that answered a REGISTER repeated before the run), forged on a
// worker's ROUTER, replayed. A forged message on a link only p's
// connection carries (the master's ROUTER by routing id, a worker's link
// to the master) was altered on the way, and lost messages mean the run
// cannot be trusted: those fail it.
static bool
genuine(gx_hub_t *h, uint32_t p, bool router, gx_netmsg_t *in)
{
    if (!in->sealed)
        return false;
    gx_open_t v = gx_net_open(&h->l->seal[p], in);
    if (v == GX_OPEN_OK)
        return true;
    bool own_link = is_master(h) || !router;
    if (v == GX_OPEN_REPLAY || (v == GX_OPEN_FORGED && !own_link))
        return false;
    char name[400], when[64];
    gx_link_name(h->l, p, name, sizeof name);
    where(h->e, when, sizeof when);
    if (v == GX_OPEN_GAP)
        hub_fail(h, "messages from %s were lost %s", name, when);
    else
        hub_failc(h, GX_E_AUTH, "a %s message from %s failed authentication "
                  "%s (altered on the way?)", gx_net_kind_name(in->f.kind),
                  name, when);
    h->dead = true;
    return false;
}

// A worker's BEAT while it waited for its RUN, or its FAIL when the RUN
// could not be taken (one altered on the way): sent with no run id yet.
static bool
before_run(const gx_hub_t *h, const gx_netmsg_t *in)
{
    return is_master(h) && in->f.a == 0
           && (in->f.kind == GX_N_BEAT || in->f.kind == GX_N_FAIL);
}

static void
from_net(gx_hub_t *h, void *s, bool router)
{
    for (int k = 0; k < 64; k++) {
        gx_netmsg_t in;
        gx_error_t err;
        int rc = gx_net_recv(s, router, &in, &err);
        if (rc == 1 || rc < 0)
            return;
        if (rc == 2)
            continue;
        uint32_t p = router ? sender(h, &in) : 0;
        if (router && p == 0)
            refuse_late(h, &in);        // not a process of this run
        else if (!genuine(h, p, router, &in))
            ;                           // nobody's word, or the run failed
        else if (in.f.a != h->l->run_id && !before_run(h, &in))
            hub_fail(h, "a %s message from another run (id %016llx, this "
                     "run's %016llx)", gx_net_kind_name(in.f.kind),
                     (unsigned long long)in.f.a,
                     (unsigned long long)h->l->run_id);
        else
            on_message(h, p, &in);
        gx_netmsg_close(&in);
    }
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

static void
serve(gx_hub_t *h, int n)
{
    for (int i = 0; i < n; i++) {
        if (!(h->items[i].revents & (ZMQ_POLLIN | ZMQ_POLLOUT | ZMQ_POLLERR)))
            continue;
        uint32_t src = h->item_src[i];
        if (src == SRC_STREAM && is_master(h))
            stream_read(h);
        else if (src == SRC_STREAM)
            stream_write(h);
        else if (src == SRC_IN)
            from_net(h, h->l->in, true);
        else if (src == SRC_UP)
            from_net(h, h->l->up, false);
        else if (src == SRC_CTL)
            from_ctl(h);
        else if (src == SRC_PIPE) {
            char ok = 0;
            if (zmq_recv(h->pipe[1], &ok, 1, ZMQ_DONTWAIT) == 1) {
                h->local_done = true;
                h->local_ok = ok == 1;
            }
        } else
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
        int timeout = any_pending(h) ? 2 : 200;
        int rc = zmq_poll(h->items, n, timeout);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return;                      // ETERM: this process failed
        serve(h, n);
        retry_pending(h);
        beat(h);
        watch(h);
        if (is_master(h) && gx_interrupted() && !h->dead)
            hub_failc(h, GX_E_INTERRUPTED, "the master was %s",
                      gx_interrupted_name());
        if (atomic_load(&h->e->fail_seq) != 0)
            return;
        if (h->local_done && (is_master(h) ? !any_pending(h) : h->ended))
            return;
    }
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
    if (is_master(h)) {
        for (uint32_t p = 1; p < h->l->n_procs; p++)
            send_note(h, p, failed ? GX_N_ABORT : GX_N_END,
                      failed ? msg : NULL);
    } else if (failed && !h->dead) {
        send_note(h, 0, GX_N_FAIL, msg);
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
        if (is_local(h, d))
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
    free(h->proxy);
    free(h->connected);
    free(h->pend);
    free(h->heard);
    free(h->unroutable);
    free(h->items);
    free(h->item_src);
    free(h);
    *hp = NULL;
}
