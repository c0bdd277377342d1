// core/mailbox.h: a worker's mailbox. Its three sockets, the counts that
// end a phase, and the superstep frames held until every sender's MSG_END
// is in (docs/design.md, "A phase ends by count, not by broadcast" and
// "Same configuration, same bytes").
#ifndef GX_CORE_MAILBOX_H
#define GX_CORE_MAILBOX_H

#include <stdbool.h>
#include <stdint.h>
#include "core/alarm.h"
#include "core/transport.h"

// A held MSG or DIRECT frame: its ZeroMQ message (in.open), or, once the
// process is past half its budget, its bytes in the spill (spilled) under
// (GX_SPACE_MSGS, 2 x worker + the frame's step parity, seq) and its
// message closed. in.f keeps its kind and step, in.from its sender; its
// place in `held` is its arrival order.
typedef struct gx_held {
    gx_inframe_t in;
    uint64_t     seq;                // spilled: its block
    size_t       len;                // spilled: its bytes
    bool         spilled;
} gx_held_t;

typedef struct gx_mailbox {
    gx_engine_t    *e;
    gx_alarm_t     *alarm;
    uint32_t        self, W;
    // inbox: a DEALER bound at this worker's endpoint, routing id "w<i>";
    // outbox: one ROUTER, connected to a peer's inbox the first time data
    // goes there, addressing peers by routing id; ctl: a DEALER to the
    // master. Three sockets a worker however many peers, connections only
    // where data flows, and a send to a peer that is gone fails at once
    // (ROUTER_MANDATORY) instead of blocking forever.
    void           *inbox, *outbox, *ctl;
    uint8_t        *connected;       // [W] outbox connected to peer's inbox
    // While a link to a peer is full: take in what peers send meanwhile
    // (the worker's pump), so two workers sending to each other cannot
    // both wait.
    int           (*take_in)(void *ctx);
    void           *take_in_ctx;
    // A phase ends by count: data frames sent to each peer (reported at the
    // barrier), received of each kind, and expected (told by the master).
    uint32_t       *sent;            // [W]
    uint64_t        got[GX_F_KINDS];
    uint64_t        expect;
    uint64_t        got_direct_next; // DIRECT frames seen for step + 1
    // Superstep messages are held until every sender's MSG_END is in, then
    // combined in sender order, so sums repeat exactly from run to run.
    gx_held_t      *held;
    uint32_t        n_held;
    uint64_t        cap_held;
    uint64_t        n_put[2];        // blocks in the spill, by step parity
    uint64_t        n_spilled;       // frames spilled, not yet reported
    uint32_t       *msg_peers, n_msg_peers; // owners of my replicas
    uint32_t        n_msg_senders;          // holders of my masters' replicas
} gx_mailbox_t;

// Counts for W peers (-1: out of memory, the alarm is raised).
int  gx_mailbox_init(gx_mailbox_t *mb, gx_engine_t *e, gx_alarm_t *alarm,
                     uint32_t self, uint32_t W);
// Sockets up: the inbox bound, the control DEALER connected to the master,
// HELLO said.
int  gx_mailbox_open(gx_mailbox_t *mb);
// Sends a frame to peer d, connecting to its inbox on first use.
int  gx_mailbox_send(gx_mailbox_t *mb, uint32_t d, const gx_frame_t *f,
                     uint64_t *bytes_sent);
// Keeps a MSG or DIRECT frame of `step` (its ZeroMQ message, not a copy);
// past half the budget, its bytes go to the spill and the message is
// closed at once.
int  gx_mailbox_hold(gx_mailbox_t *mb, gx_inframe_t *in, uint64_t step);
// Held frame h decoded into *f, pointing into its message, or into *buf,
// its bytes read back from the spill (freed by gx_mailbox_release). -1:
// the alarm is raised.
int  gx_mailbox_frame(gx_mailbox_t *mb, gx_held_t *h, gx_frame_t *f,
                      void **buf);
// Lets h go once applied (or not): its message closed, buf freed.
void gx_mailbox_release(gx_held_t *h, void *buf);
// After the held frames of a step were applied (and let go): the ones
// still held (for the next step) move to the front, in order, and the
// spilled blocks of the step applied are dropped. -1: the alarm is raised.
int  gx_mailbox_keep_open(gx_mailbox_t *mb);
void gx_mailbox_free(gx_mailbox_t *mb);

#endif
