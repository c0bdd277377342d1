// core/hub_in.c: what reaches a process's hub from the network. Who sent
// a message (the master's ROUTER knows its workers' links by routing id; a
// worker takes the sender a seal names), whether it is genuine and in
// order (core/net.c's seals; docs/design.md, "Trust"), and where it goes:
// a local thread's inbox, the master's ROUTER, the streamed input's pipe,
// or the run's end.
#include "core/hub_int.h"

#include <errno.h>
#include <string.h>
#include "core/clock.h"
#include "core/transport.h"

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
    gx_frame_t f = gx_note_pack(GX_N_REFUSE, 0, 0,
                                "the run has already started");
    gx_error_t err;
    gx_net_send_hdr(h->l->in, in->id, in->id_len, &f, &err);
}

// Whether the master has said STOP (the supersteps are over): the frame's
// kind, peeked at without decoding what the hub only passes on.
static void
note_stop(gx_hub_t *h, zmq_msg_t *body)
{
    if (gx_frame_peek_kind(zmq_msg_data(body), zmq_msg_size(body))
        == GX_F_STOP)
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
        if (!from_master && in->has_body && f->b < h->e->n_workers && gx_hub_is_local(h, d))
            return deliver(h, d, &in->body);
        break;
    case GX_N_DOWN:
        if (from_master && in->has_body && f->b < h->e->n_workers
            && gx_hub_is_local(h, d)) {
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
            gx_note_text(f, text, sizeof text);
            gx_link_name(h->l, p, name, sizeof name);
            return hub_fail(h, "%s failed: %s", name, text);
        }
        break;
    case GX_N_ABORT:
        if (from_master) {
            gx_note_text(f, text, sizeof text);
            h->dead = true;                  // no FAIL back: it knows
            return gx_hub_failc(h, GX_E_STOPPED, "the master stopped the run: "
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
            return gx_hub_stream_take(h, in);
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
    gx_hub_where(h->e, when, sizeof when);
    if (v == GX_OPEN_GAP)
        hub_fail(h, "messages from %s were lost %s", name, when);
    else
        gx_hub_failc(h, GX_E_AUTH, "a %s message from %s failed authentication "
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

void
gx_hub_from_net(gx_hub_t *h, void *s, bool router)
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
