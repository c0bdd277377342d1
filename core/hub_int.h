// core/hub_int.h: the hub's insides, shared by its files: hub.c (the
// loop, heartbeats, set-up), hub_in.c (what arrives from the network: who
// sent it, whether it is genuine, where it goes), hub_stream.c (the
// streamed input), and below them all hub_send.c (sending, sealed; and
// failing the run). Private to them.
#ifndef GX_CORE_HUB_INT_H
#define GX_CORE_HUB_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "core/hub.h"

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
    uint32_t     reports;           // worker: this barrier's REPORTs from
                                    // its threads passed on so far
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
    uint32_t     wants;             // worker: WANTs owed (a full link skips
                                    // a note; a WANT skipped is credit lost)
};

enum { SRC_PIPE = UINT32_MAX, SRC_IN = UINT32_MAX - 1,
       SRC_UP = UINT32_MAX - 2, SRC_CTL = UINT32_MAX - 3,
       SRC_STREAM = UINT32_MAX - 4 };

static inline bool
is_master(const gx_hub_t *h)
{
    return h->l->self == 0;
}

// Whether worker thread d runs in this process.
bool      gx_hub_is_local(const gx_hub_t *h, uint32_t d);
// Fails this process's run with a named kind of error (graphx/error.h).
void      gx_hub_failc(gx_hub_t *h, gx_errc_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define hub_fail(h, ...) gx_hub_failc(h, GX_E_FAILED, __VA_ARGS__)
// Process p is gone: in a worker, p == 0 is the master.
gx_errc_t gx_hub_gone_code(uint32_t p);
// "at superstep 5", "while loading"...
void      gx_hub_where(const gx_engine_t *e, char *out, size_t cap);
// Sends kind/dest with a body (moved) to process p, sealed; keeps it if
// the link is full. `digest`: the body's tag if known. -1: link broken.
int       gx_hub_forward(gx_hub_t *h, uint32_t p, uint32_t kind, uint32_t dest,
                  zmq_msg_t *body, const uint8_t *digest);
// A note (BEAT, FAIL, ABORT, END, WANT) to process p; as gx_net_send.
int       gx_hub_send_note(gx_hub_t *h, uint32_t p, uint32_t kind, const char *text);

// The master's ROUTER found no route to worker process p: noted (the
// first time), judged by the hub's watch once it has lasted.
void      gx_hub_unroutable(gx_hub_t *h, uint32_t p);

// hub_in.c: every message waiting on a network socket (the ROUTER, or a
// worker's DEALER to the master).
void      gx_hub_from_net(gx_hub_t *h, void *s, bool router);

// hub_stream.c: master: one block of the streamed input read and sent;
// worker: a block taken from the master, and written into the pipe.
void      gx_hub_stream_read(gx_hub_t *h);
void      gx_hub_stream_take(gx_hub_t *h, gx_netmsg_t *in);
void      gx_hub_stream_write(gx_hub_t *h);
// Worker: the WANTs owed, sent while the link to the master takes them.
void      gx_hub_stream_want(gx_hub_t *h);

#endif
