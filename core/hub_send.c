// core/hub_send.c: how a hub sends (sealed, kept when the link is full)
// and how it fails the run, named; what the hub's other files all use.
#include "core/hub_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core/clock.h"

bool
gx_hub_is_local(const gx_hub_t *h, uint32_t d)
{
    return d >= h->e->first && d - h->e->first < h->e->n_here;
}

void
gx_hub_failc(gx_hub_t *h, gx_errc_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gx_engine_vfailc(h->e, &h->failure, code, fmt, ap);
    va_end(ap);
}

// Process p is gone: in a worker, p == 0 is the master.
gx_errc_t
gx_hub_gone_code(uint32_t p)
{
    return p == 0 ? GX_E_MASTER_GONE : GX_E_FAILED;
}

// "at superstep 5", "while loading"...
void
gx_hub_where(const gx_engine_t *e, char *out, size_t cap)
{
    long long s = atomic_load(&e->where);
    static const char *stage[] = { "while loading", "while partitioning",
                                   "while gathering the results" };
    if (s >= 0)
        snprintf(out, cap, "at superstep %lld", s);
    else
        snprintf(out, cap, "%s", stage[(-s - 1) % 3]);
}

// The master's ROUTER found no route to worker process p: noted (the
// first time), judged by watch() once it has lasted.
void
gx_hub_unroutable(gx_hub_t *h, uint32_t p)
{
    if (h->unroutable && !h->unroutable[p])
        h->unroutable[p] = gx_clock_now();
}

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
int
gx_hub_forward(gx_hub_t *h, uint32_t p, uint32_t kind, uint32_t dest, zmq_msg_t *body,
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
        gx_hub_unroutable(h, p);               // kept and retried, as a full link
        rc = 1;
    } else if (rc == 0 && h->unroutable) {
        h->unroutable[p] = 0;
    }
    if (rc == 1 && h->pend[p].on) {
        // Only one message waits per link, and nothing may take its place
        // (its loss would leave a thread waiting with every beat on time):
        // the loop reads no source of a link that holds one.
        hub_fail(h, "hub: a second message kept for the full link to "
                 "process %u (a %s, for a %s)", p, gx_net_kind_name(kind),
                 gx_net_kind_name(h->pend[p].kind));
        return -1;
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
        gx_hub_where(h->e, when, sizeof when);
        gx_hub_failc(h, gx_hub_gone_code(p), "cannot send to %s %s: %s", name, when,
                  err.msg);
    }
    return rc;
}

// Returns what gx_net_send does (errno set on -1).
int
gx_hub_send_note(gx_hub_t *h, uint32_t p, uint32_t kind, const char *text)
{
    const void *id;
    size_t id_len;
    void *s = link_to(h, p, &id, &id_len);
    gx_frame_t f = gx_note_pack(kind, h->l->run_id, h->l->self, text);
    gx_error_t err;
    // Full: a beat skipped (no sequence number spent).
    return gx_net_send_sealed(s, id, id_len, &f, NULL, &h->l->seal[p], NULL,
                              &err);
}
