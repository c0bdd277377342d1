// core/zap.c: ZeroMQ's two security hooks, as distributed mode uses them.
//
// The ZAP handler (ZeroMQ RFC 27) answers every CURVE server socket of a
// context: a client whose long-term key is the one the secret derives is
// allowed, any other refused. It lives in memory on a thread of its own,
// so no certificate ever touches the disk (zauth wants a directory of
// them, which a worker killed by SIGKILL left behind).
//
// The watch is ZeroMQ's socket monitor, read without blocking: whether a
// connection was made, whether a handshake failed (a wrong secret under
// CURVE, or one side without --curve), and the failed peer's address.
#include "core/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "core/mem.h"

// ---- ZAP ---------------------------------------------------------------------

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

struct gx_zap {
    void       *rep;
    pthread_t   thread;
    atomic_bool stop;
    uint8_t     allowed[32];
};

// A request is [version, request id, domain, address, routing id,
// mechanism, credentials...]; the reply [version, request id, status
// code, status text, user id, metadata].
static void
zap_answer(gx_zap_t *z, zmq_msg_t *part, int n)
{
    bool ok = n >= 7 && zmq_msg_size(&part[5]) == 5
              && memcmp(zmq_msg_data(&part[5]), "CURVE", 5) == 0
              && zmq_msg_size(&part[6]) == 32
              && gx_auth_equal(zmq_msg_data(&part[6]), z->allowed);
    const char *code = ok ? "200" : "400";
    const char *text = ok ? "OK" : "not this run's client key";
    zmq_send(z->rep, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(z->rep, n > 1 ? zmq_msg_data(&part[1]) : "",
             n > 1 ? zmq_msg_size(&part[1]) : 0, ZMQ_SNDMORE);
    zmq_send(z->rep, code, 3, ZMQ_SNDMORE);
    zmq_send(z->rep, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(z->rep, "", 0, ZMQ_SNDMORE);
    zmq_send(z->rep, "", 0, 0);
}

// One request: its parts (at most 8 are looked at; more are drained).
static int
zap_serve_one(gx_zap_t *z)
{
    zmq_msg_t part[8];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->rep, 0) < 0) {
            zmq_msg_close(&m);
            for (int i = 0; i < n; i++)
                zmq_msg_close(&part[i]);
            return -1;
        }
        more = zmq_msg_more(&m);
        if (n < 8)
            part[n++] = m;
        else
            zmq_msg_close(&m);
    }
    zap_answer(z, part, n);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&part[i]);
    return 0;
}

static void *
zap_main(void *arg)
{
    gx_zap_t *z = arg;
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t it = { z->rep, 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll(&it, 1, 100);
        if (rc < 0 && errno == ETERM)
            break;
        if (rc > 0 && zap_serve_one(z) != 0 && errno == ETERM)
            break;
    }
    return NULL;
}

int
gx_zap_start(void *ctx, const uint8_t client_public[32], gx_zap_t **out,
             gx_error_t *err)
{
    gx_zap_t *z = gx_calloc(1, sizeof *z);
    *out = NULL;
    if (!z)
        return gx_error_set(err, "out of memory");
    memcpy(z->allowed, client_public, 32);
    atomic_init(&z->stop, false);
    int linger = 0;
    if (!(z->rep = zmq_socket(ctx, ZMQ_REP))
        || zmq_setsockopt(z->rep, ZMQ_LINGER, &linger, sizeof linger) != 0
        || zmq_bind(z->rep, ZAP_ENDPOINT) != 0) {
        gx_error_set(err, "cannot start CURVE authentication: %s",
                     zmq_strerror(errno));
        if (z->rep)
            zmq_close(z->rep);
        gx_free(z);
        return -1;
    }
    int rc = pthread_create(&z->thread, NULL, zap_main, z);
    if (rc != 0) {
        zmq_close(z->rep);
        gx_free(z);
        return gx_error_set(err, "cannot start a thread: %s", strerror(rc));
    }
    *out = z;
    return 0;
}

void
gx_zap_stop(gx_zap_t **zp)
{
    gx_zap_t *z = *zp;
    if (!z)
        return;
    atomic_store(&z->stop, true);
    pthread_join(z->thread, NULL);
    zmq_close(z->rep);
    memset(z->allowed, 0, sizeof z->allowed);
    gx_free(z);
    *zp = NULL;
}

// ---- The watch ---------------------------------------------------------------

int
gx_watch_start(void *ctx, void *s, gx_watch_t *w, gx_error_t *err)
{
    static atomic_uint next;
    memset(w, 0, sizeof *w);
    for (int i = 0; i < 16; i++)
        w->fds[i] = -1;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://gx-watch-%u", atomic_fetch_add(&next, 1));
    int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_ACCEPTED
                 | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
                 | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                 | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                 | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(s, ep, events) != 0
        || !(w->pair = zmq_socket(ctx, ZMQ_PAIR))
        || zmq_connect(w->pair, ep) != 0) {
        if (w->pair)
            zmq_close(w->pair);
        w->pair = NULL;
        return gx_error_set(err, "cannot watch a socket: %s",
                            zmq_strerror(errno));
    }
    return 0;
}

// The peer of an accepted connection, noted while its descriptor is
// fresh: a failed handshake's event carries no address, but the
// DISCONNECTED that follows it carries the descriptor.
static void
note_accepted(gx_watch_t *w, int fd)
{
    struct sockaddr_storage sa;
    socklen_t n = sizeof sa;
    char host[INET6_ADDRSTRLEN] = "";
    if (getpeername(fd, (struct sockaddr *)&sa, &n) == 0) {
        if (sa.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host,
                      sizeof host);
        else if (sa.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr,
                      host, sizeof host);
    }
    int slot = fd & 15;
    w->fds[slot] = fd;
    snprintf(w->addrs[slot], sizeof w->addrs[slot], "%s", host);
}

static uint32_t
on_event(gx_watch_t *w, uint16_t event, int32_t value)
{
    switch (event) {
    case ZMQ_EVENT_CONNECTED:
        w->connected = true;
        return 0;
    case ZMQ_EVENT_ACCEPTED:
        w->connected = true;
        note_accepted(w, value);
        return 0;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        w->handshaken = true;
        return 0;
    case ZMQ_EVENT_DISCONNECTED:
        if (!w->fail_pending)
            return 0;
        w->fail_pending = false;
        snprintf(w->fail_addr, sizeof w->fail_addr, "%s",
                 w->fds[value & 15] == value ? w->addrs[value & 15] : "");
        return 1;
    default:                                  // a handshake failed
        w->failures++;
        w->fail_code = value;
        w->fail_pending = true;
        return 0;
    }
}

uint32_t
gx_watch_poll(gx_watch_t *w)
{
    uint32_t named = 0;
    while (w->pair) {
        zmq_msg_t ev, where;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, w->pair, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            break;
        }
        zmq_msg_init(&where);
        if (zmq_msg_more(&ev))
            zmq_msg_recv(&where, w->pair, 0);
        uint16_t event = 0;
        int32_t value = 0;
        if (zmq_msg_size(&ev) == 6) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (char *)zmq_msg_data(&ev) + 2, 4);
            named += on_event(w, event, value);
        }
        zmq_msg_close(&ev);
        zmq_msg_close(&where);
    }
    return named;
}

void
gx_watch_stop(gx_watch_t *w)
{
    if (w->pair) {
        int linger = 0;
        zmq_setsockopt(w->pair, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(w->pair);
    }
    w->pair = NULL;
}

// ---- The door ----------------------------------------------------------------

struct gx_door {
    gx_watch_t  w;
    gx_door_fn *fn;
    void       *arg;
    pthread_t   thread;
    atomic_bool stop;
    char        last[64];           // the last address told, and when
    double      last_t;
};

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
door_main(void *arg)
{
    gx_door_t *d = arg;
    while (!atomic_load(&d->stop)) {
        zmq_pollitem_t it = { d->w.pair, 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll(&it, 1, 100);
        if (rc < 0 && errno == ETERM)
            break;
        if (rc <= 0 || gx_watch_poll(&d->w) == 0)
            continue;
        double t = now_s();
        if (strcmp(d->last, d->w.fail_addr) == 0
            && t - d->last_t < GX_SILENCE_MS / 1000.0)
            continue;                       // a client retrying: said once
        snprintf(d->last, sizeof d->last, "%s", d->w.fail_addr);
        d->last_t = t;
        d->fn(d->w.fail_addr, d->arg);
    }
    return NULL;
}

int
gx_door_start(void *ctx, void *s, gx_door_fn *fn, void *arg, gx_door_t **out,
              gx_error_t *err)
{
    gx_door_t *d = gx_calloc(1, sizeof *d);
    *out = NULL;
    if (!d)
        return gx_error_set(err, "out of memory");
    d->fn = fn;
    d->arg = arg;
    atomic_init(&d->stop, false);
    if (gx_watch_start(ctx, s, &d->w, err) != 0) {
        gx_free(d);
        return -1;
    }
    int rc = pthread_create(&d->thread, NULL, door_main, d);
    if (rc != 0) {
        gx_watch_stop(&d->w);
        gx_free(d);
        return gx_error_set(err, "cannot start a thread: %s", strerror(rc));
    }
    *out = d;
    return 0;
}

void
gx_door_stop(gx_door_t **dp)
{
    gx_door_t *d = *dp;
    if (!d)
        return;
    atomic_store(&d->stop, true);
    pthread_join(d->thread, NULL);
    gx_watch_stop(&d->w);
    gx_free(d);
    *dp = NULL;
}
