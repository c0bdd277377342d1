// core/link.c: what both sides of a distributed run share about their
// place in it: the network's context, the listening socket, closing it
// all, and a few small things both registrations need. See link.h.
#include "core/link.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "core/clock.h"
#include "core/mem.h"

void
gx_link_close(gx_link_t *l)
{
    gx_door_stop(&l->door);
    gx_watch_stop(&l->watch);
    // No new connection first: a stranger's handshake that completes while
    // the socket closes trips an assertion in libzmq 4.3.4 (EAGAIN from
    // the session, zmtp_engine.cpp:446), seen once under test_cluster's
    // garbage. Unbinding first narrows that window to connections already
    // in their handshake.
    if (l->in && l->bound[0])
        zmq_unbind(l->in, l->bound);
    if (l->in)
        zmq_close(l->in);
    if (l->up)
        zmq_close(l->up);
    for (uint32_t p = 0; l->out && p < l->n_procs; p++) {
        if (l->watch_out)
            gx_watch_stop(&l->watch_out[p]);
        if (l->out[p])
            zmq_close(l->out[p]);
    }
    gx_free(l->out);
    gx_free(l->watch_out);
    gx_free(l->procs);
    if (l->seal)
        memset(l->seal, 0, l->n_seal * sizeof *l->seal);
    gx_free(l->seal);
    gx_zap_stop(&l->zap);
    memset(l, 0, sizeof *l);
}

// CZMQ's context, without CZMQ's signal handlers: the command line
// decides what SIGINT does.
int
gx_link_net_init(gx_link_t *l, const void *secret, size_t len, bool curve,
         gx_error_t *err)
{
    if (gx_auth_init(err) != 0)
        return -1;
    zsys_handler_set(NULL);
    gx_process_tune();               // before CZMQ's and libzmq's threads
    if (!(l->netctx = zsys_init()))
        return gx_error_set(err, "cannot start ZeroMQ");
    l->secret = secret;
    l->secret_len = len;
    if (!curve)
        return 0;
    gx_auth_curve(secret, len, &l->curve);
    return gx_zap_start(l->netctx, l->curve.client_public, &l->zap, err);
}

int
gx_link_listen(gx_link_t *l, const char *ep, char *bound, size_t cap, gx_error_t *err)
{
    if (!(l->in = gx_net_socket(l->netctx, ZMQ_ROUTER, NULL, 0, &l->curve,
                                true, err)))
        return -1;
    gx_net_ipv6(l->in, ep);
    if (zmq_bind(l->in, ep) != 0)
        return gx_error_set(err, "cannot listen on %s: %s", ep,
                            zmq_strerror(errno));
    size_t n = cap;
    zmq_getsockopt(l->in, ZMQ_LAST_ENDPOINT, bound, &n);
    snprintf(l->bound, sizeof l->bound, "%s", bound);
    return 0;
}

uint16_t
gx_link_port_of(const char *ep)
{
    const char *c = strrchr(ep, ':');
    return c ? (uint16_t)atoi(c + 1) : 0;
}


// Whether a heartbeat is due (and the next one's time, if so).
bool
gx_link_beat_due(double *next)
{
    double t = gx_clock_now();
    if (t < *next)
        return false;
    *next = t + GX_BEAT_MS / 1000.0;
    return true;
}

void
gx_link_name(const gx_link_t *l, uint32_t p, char *out, size_t cap)
{
    const gx_proc_t *pr = &l->procs[p];
    if (p == 0)
        snprintf(out, cap, "the master at %s", l->master);
    else
        snprintf(out, cap, "worker process %u (%s:%u, worker threads %u-%u)",
                 p, pr->host, pr->port, pr->first, pr->first + pr->n - 1);
}
