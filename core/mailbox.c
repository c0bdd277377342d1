// core/mailbox.c: a worker's mailbox (core/mailbox.h).
#include "core/mailbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/mem.h"
#include "core/spill.h"

int
gx_mailbox_init(gx_mailbox_t *mb, gx_engine_t *e, gx_alarm_t *alarm,
                uint32_t self, uint32_t W)
{
    mb->e = e;
    mb->alarm = alarm;
    mb->self = self;
    mb->W = W;
    mb->connected = gx_calloc(W, 1);
    mb->sent = gx_calloc(W, sizeof *mb->sent);
    if (!mb->connected || !mb->sent)
        return gx_alarm_oom(alarm);
    return 0;
}

// Every inbox is bound before the master lets any worker start (HELLO),
// so no connect ever races a bind.
int
gx_mailbox_open(gx_mailbox_t *mb)
{
    gx_error_t err;
    char ep[128], id[5];
    gx_worker_identity(mb->self, id);
    void *ctx = mb->e->zctx;
    if (!(mb->inbox = gx_socket_new(ctx, ZMQ_DEALER, id, &err))
        || !(mb->outbox = gx_socket_new(ctx, ZMQ_ROUTER, NULL, &err))
        || !(mb->ctl = gx_socket_new(ctx, ZMQ_DEALER, id, &err)))
        return gx_alarm_raise(mb->alarm, "worker %u: %s", mb->self, err.msg);
    // Bounded toward the hub's stand-ins for threads in other processes
    // (they bound their side too); unbounded toward a thread of this
    // process, whose inbox has no bound (docs/design.md, "Back-pressure").
    gx_socket_hwm(mb->outbox, GX_INPROC_HWM);
    gx_worker_endpoint(mb->e, mb->self, ep, sizeof ep);
    if (zmq_bind(mb->inbox, ep) != 0)
        return gx_alarm_raise(mb->alarm, "worker %u: cannot bind %s: %s",
                              mb->self, ep, zmq_strerror(errno));
    if (zmq_connect(mb->ctl, mb->e->master_ep) != 0)
        return gx_alarm_raise(mb->alarm, "worker %u: cannot connect to the "
                              "master at %s: %s", mb->self, mb->e->master_ep,
                              zmq_strerror(errno));
    gx_frame_t hello = { .kind = GX_F_HELLO, .a = mb->self };
    if (gx_send(mb->ctl, 0, &hello, NULL, &err) != 0)
        return gx_alarm_raise(mb->alarm, "worker %u: %s", mb->self, err.msg);
    return 0;
}

// The mesh holds the connections that data flows over, not W^2. Every
// inbox is bound before the master lets any worker start (HELLO), so the
// connect is complete when it returns and ROUTER_MANDATORY cannot refuse.
int
gx_mailbox_send(gx_mailbox_t *mb, uint32_t d, const gx_frame_t *f,
                uint64_t *bytes_sent)
{
    gx_error_t err;
    if (!mb->connected[d]) {
        char ep[128];
        gx_worker_endpoint(mb->e, d, ep, sizeof ep);
        if (zmq_connect(mb->outbox, ep) != 0)
            return gx_alarm_raise(mb->alarm, "worker %u: cannot connect to "
                                  "%s: %s", mb->self, ep, zmq_strerror(errno));
        mb->connected[d] = 1;
    }
    if (gx_send_wait(mb->outbox, (int)d + 1, f, bytes_sent, mb->take_in,
                     mb->take_in_ctx, &err) != 0)
        return mb->alarm->raised ? -1 : gx_alarm_raise(mb->alarm,
                                            "worker %u: %s", mb->self, err.msg);
    // Counted for the master: the frames a barrier ends. Messages end
    // with MSG_END between peers instead, within the step.
    if (f->kind != GX_F_MSG && f->kind != GX_F_MSG_END)
        mb->sent[d]++;
    return 0;
}

// The key of this worker's held frames of `step` in the spill: its index
// and the step's parity.
static inline uint32_t
held_part(const gx_mailbox_t *mb, uint64_t step)
{
    return 2 * mb->self + (uint32_t)(step & 1);
}

// Held frame h's bytes to the spill, keyed by this worker and its step's
// parity (a step-ahead DIRECT frame outlives this step's drop), then its
// message closed, giving back what it counted. On failure it stays held
// in memory, for gx_mailbox_free.
static int
hold_spill(gx_mailbox_t *mb, gx_held_t *h)
{
    gx_error_t err;
    uint32_t par = (uint32_t)(h->in.f.step & 1);
    size_t len = zmq_msg_size(&h->in.msg);
    if (gx_spill_put(&mb->e->spill, GX_SPACE_MSGS, held_part(mb, par),
                     mb->n_put[par], zmq_msg_data(&h->in.msg), len, &err) != 0)
        return gx_alarm_raise(mb->alarm, "worker %u: %s", mb->self, err.msg);
    h->seq = mb->n_put[par]++;
    h->len = len;
    h->spilled = true;
    mb->n_spilled++;
    gx_inframe_close(&h->in);
    return 0;
}

int
gx_mailbox_hold(gx_mailbox_t *mb, gx_inframe_t *in, uint64_t step)
{
    // A peer may be a step ahead with its direct messages: made at its
    // apply of this step, for the next.
    uint64_t fstep = in->f.step;
    if (fstep != step && !(in->f.kind == GX_F_DIRECT && fstep == step + 1))
        return gx_alarm_raise(mb->alarm, "worker: malformed %s frame from a "
                              "peer", gx_frame_kind_name(in->f.kind));
    gx_held_t *held = gx_grow(mb->held, &mb->cap_held,
                              (uint64_t)mb->n_held + 1, 64, UINT32_MAX,
                              sizeof *held);
    if (!held)
        return gx_alarm_oom(mb->alarm);
    mb->held = held;
    // Moved, not copied: a small message's bytes may live inside its
    // zmq_msg_t (tcp), so its decoded view is made again when applied.
    gx_held_t *h = &mb->held[mb->n_held++];
    memset(h, 0, sizeof *h);
    zmq_msg_init(&h->in.msg);
    zmq_msg_move(&h->in.msg, &in->msg);
    h->in.open = 1;
    h->in.from = (uint32_t)in->f.a;
    h->in.f.kind = in->f.kind;
    h->in.f.step = fstep;
    // Held bytes count for the accountant. A frame from a thread of this
    // process is the sender's gx_malloc'd buffer, passed over inproc
    // without a copy and counted until it is freed; one from another
    // process arrived over TCP in libzmq's memory, counted here while it
    // is held. gx_inframe_close gives back what was counted.
    const gx_engine_t *e = mb->e;
    if (h->in.from - e->first >= e->n_here) {
        h->in.counted = zmq_msg_size(&h->in.msg);
        gx_acct_add(h->in.counted);
    }
    return gx_acct_tight(0) ? hold_spill(mb, h) : 0;
}

int
gx_mailbox_frame(gx_mailbox_t *mb, gx_held_t *h, gx_frame_t *f, void **buf)
{
    gx_error_t err;
    const void *data = h->in.open ? zmq_msg_data(&h->in.msg) : NULL;
    size_t len = h->in.open ? zmq_msg_size(&h->in.msg) : h->len;
    *buf = NULL;
    if (h->spilled) {
        uint32_t part = held_part(mb, h->in.f.step);
        if (!(*buf = gx_malloc(len ? len : 1)))
            return gx_alarm_oom(mb->alarm);
        if (gx_spill_get(&mb->e->spill, GX_SPACE_MSGS, part, h->seq, *buf,
                         len, &err) != 0)
            return gx_alarm_raise(mb->alarm, "worker %u: %s", mb->self,
                                  err.msg);
        data = *buf;
    }
    if (gx_frame_decode(data, len, f, &err) != 0)
        return gx_alarm_raise(mb->alarm, "worker %u: %s", mb->self, err.msg);
    return 0;
}

void
gx_mailbox_release(gx_held_t *h, void *buf)
{
    gx_free(buf);
    gx_inframe_close(&h->in);
    h->spilled = false;
}

// Held frame h moves to slot `to` (a let-go one): its message and count,
// or its block.
static void
held_move(gx_held_t *to, gx_held_t *h)
{
    memset(to, 0, sizeof *to);
    to->in.f = h->in.f;
    to->in.from = h->in.from;
    to->seq = h->seq;
    to->len = h->len;
    to->spilled = h->spilled;
    if (h->in.open) {
        zmq_msg_init(&to->in.msg);
        zmq_msg_move(&to->in.msg, &h->in.msg);
        to->in.open = 1;
        to->in.counted = h->in.counted;    // the count moves with the bytes
        h->in.counted = 0;
        gx_inframe_close(&h->in);
    }
    h->spilled = false;
}

int
gx_mailbox_keep_open(gx_mailbox_t *mb)
{
    uint32_t kept = 0;
    bool away[2] = { false, false };     // spilled frames still held
    for (uint32_t i = 0; i < mb->n_held; i++) {
        gx_held_t *h = &mb->held[i], *to = &mb->held[kept];
        if (!h->in.open && !h->spilled)
            continue;
        if (h->spilled)
            away[h->in.f.step & 1] = true;
        if (to != h)
            held_move(to, h);
        kept++;
    }
    mb->n_held = kept;
    // The step applied has no frame left in the spill: its blocks go.
    for (uint32_t par = 0; par < 2; par++) {
        if (!mb->n_put[par] || away[par] || mb->alarm->raised)
            continue;
        gx_error_t err;
        mb->n_put[par] = 0;
        if (gx_spill_drop(&mb->e->spill, GX_SPACE_MSGS, held_part(mb, par),
                          &err) != 0)
            return gx_alarm_raise(mb->alarm, "worker %u: %s", mb->self,
                                  err.msg);
    }
    return mb->alarm->raised ? -1 : 0;
}

void
gx_mailbox_free(gx_mailbox_t *mb)
{
    gx_free(mb->connected);
    gx_free(mb->sent);
    gx_free(mb->msg_peers);
    for (uint32_t i = 0; i < mb->n_held; i++)
        gx_inframe_close(&mb->held[i].in);
    gx_free(mb->held);
    gx_socket_close(&mb->outbox);
    gx_socket_close(&mb->inbox);
    gx_socket_close(&mb->ctl);
}
