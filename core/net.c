// core/net.c: messages between processes, and the secrets that guard them.
// Everything read here comes from the network, so it is checked before use:
// a message that is not a well-formed header (and body) is drained and
// ignored, never trusted and never fatal, because anyone can open a TCP
// connection to a bound port.
#include "core/net.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "core/mem.h"
#include "core/transport.h"

const char *
gx_net_kind_name(uint32_t kind)
{
    static const char *names[] = {
        "REGISTER", "CHALLENGE", "PROOF", "REFUSE", "RUN", "DATA", "UP",
        "DOWN", "BEAT", "FAIL", "ABORT", "END", "STREAM", "WANT",
    };
    if (kind >= GX_N_REGISTER && kind < GX_N_LAST)
        return names[kind - GX_N_REGISTER];
    return "unknown";
}

static void
set_int(void *s, int opt, int v)
{
    zmq_setsockopt(s, opt, &v, sizeof v);
}

static int
set_curve(void *s, const gx_curve_t *c, bool server, gx_error_t *err)
{
    int rc;
    if (server) {
        set_int(s, ZMQ_CURVE_SERVER, 1);
        rc = zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->server_secret, 32);
        // zauth answers for this domain (core/cluster.c).
        if (rc == 0)
            rc = zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "graphx", 6);
    } else {
        rc = zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, c->server_public, 32);
        if (rc == 0)
            rc = zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, c->client_public, 32);
        if (rc == 0)
            rc = zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->client_secret, 32);
    }
    if (rc != 0)
        return gx_error_set(err, "cannot set up CURVE: %s (is libzmq built "
                            "with libsodium?)", zmq_strerror(errno));
    return 0;
}

void
gx_net_ipv6(void *s, const char *endpoint)
{
    // Only where asked for: a dual-stack socket names IPv4 peers
    // ::ffff:a.b.c.d in every message about them.
    if (strchr(endpoint, '[') || strncmp(endpoint, "tcp://*", 7) == 0)
        set_int(s, ZMQ_IPV6, 1);
}

void *
gx_net_socket(void *ctx, int type, const void *id, size_t id_len,
              const gx_curve_t *curve, bool server, gx_error_t *err)
{
    void *s = zmq_socket(ctx, type);
    if (!s) {
        gx_error_set(err, "cannot create a ZeroMQ socket: %s",
                     zmq_strerror(errno));
        return NULL;
    }
    // Bounded queues: a slow receiver holds its senders back instead of
    // letting them buffer without end (the hub then stops reading the
    // threads that feed that link).
    set_int(s, ZMQ_SNDHWM, GX_NET_HWM);
    set_int(s, ZMQ_RCVHWM, GX_NET_HWM);
    set_int(s, ZMQ_LINGER, 2000);
    int64_t max = GX_NET_MSG_MAX;
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
    // ZeroMQ's own heartbeats: a connection whose peer vanished without a
    // FIN (a cable pulled, a host gone) is closed, not kept half-open.
    set_int(s, ZMQ_HEARTBEAT_IVL, GX_BEAT_MS);
    set_int(s, ZMQ_HEARTBEAT_TIMEOUT, GX_SILENCE_MS);
    set_int(s, ZMQ_HEARTBEAT_TTL, GX_SILENCE_MS);
    if (type == ZMQ_ROUTER)
        set_int(s, ZMQ_ROUTER_MANDATORY, 1);
    if (id)
        zmq_setsockopt(s, ZMQ_ROUTING_ID, id, id_len);
    if (curve && curve->on && set_curve(s, curve, server, err) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int
send_part(void *s, zmq_msg_t *m, int flags)
{
    int rc;
    do
        rc = zmq_msg_send(m, s, flags | ZMQ_DONTWAIT);
    while (rc < 0 && errno == EINTR);
    return rc;
}

int
gx_net_send(void *s, const void *to, size_t to_len, const gx_frame_t *hdr,
            zmq_msg_t *body, gx_error_t *err)
{
    zmq_msg_t h;
    size_t len;
    if (gx_frame_msg(hdr, &h, &len, err) != 0)
        return -1;
    int more = body ? ZMQ_SNDMORE : 0;
    // The first part decides: ZeroMQ takes a multipart message whole or
    // not at all, so only it can find the link full.
    if (to) {
        zmq_msg_t id;
        zmq_msg_init_size(&id, to_len);
        memcpy(zmq_msg_data(&id), to, to_len);
        if (send_part(s, &id, ZMQ_SNDMORE) < 0) {
            int e = errno;
            zmq_msg_close(&id);
            zmq_msg_close(&h);
            if (e == EAGAIN)
                return 1;
            gx_error_set(err, "send %s: %s", gx_net_kind_name(hdr->kind),
                         zmq_strerror(e));
            errno = e;               // callers tell EHOSTUNREACH apart
            return -1;
        }
    }
    if (send_part(s, &h, more) < 0) {
        int e = errno;
        zmq_msg_close(&h);
        if (e == EAGAIN && !to)
            return 1;
        return gx_error_set(err, "send %s: %s", gx_net_kind_name(hdr->kind),
                            zmq_strerror(e));
    }
    if (body && send_part(s, body, 0) < 0)
        return gx_error_set(err, "send %s: %s", gx_net_kind_name(hdr->kind),
                            zmq_strerror(errno));
    return 0;
}

static int
recv_part(void *s, zmq_msg_t *m, int flags)
{
    int rc;
    do
        rc = zmq_msg_recv(m, s, flags);
    while (rc < 0 && errno == EINTR);
    return rc;
}

static bool
more(void *s)
{
    int v = 0;
    size_t len = sizeof v;
    zmq_getsockopt(s, ZMQ_RCVMORE, &v, &len);
    return v != 0;
}

// Reads and drops what is left of a message that is not ours.
static int
drain(void *s, gx_netmsg_t *in)
{
    while (more(s)) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int rc = recv_part(s, &m, 0);
        zmq_msg_close(&m);
        if (rc < 0)
            return -1;
    }
    gx_netmsg_close(in);
    return 2;
}

static int
recv_id(void *s, gx_netmsg_t *in, gx_error_t *err)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (recv_part(s, &m, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&m);
        if (e == EAGAIN)
            return 1;
        errno = e;
        return gx_error_set(err, "receive: %s", zmq_strerror(e));
    }
    in->id_len = zmq_msg_size(&m);
    bool ok = in->id_len <= sizeof in->id;
    if (ok)
        memcpy(in->id, zmq_msg_data(&m), in->id_len);
    zmq_msg_close(&m);
    if (!ok || !more(s))
        return drain(s, in);
    return 0;
}

int
gx_net_recv(void *s, bool router, gx_netmsg_t *in, gx_error_t *err)
{
    memset(in, 0, sizeof *in);
    if (router) {
        int rc = recv_id(s, in, err);
        if (rc != 0)
            return rc;
    }
    zmq_msg_init(&in->hdr);
    zmq_msg_init(&in->body);
    in->open = true;
    if (recv_part(s, &in->hdr, router ? 0 : ZMQ_DONTWAIT) < 0) {
        int e = errno;
        gx_netmsg_close(in);
        if (e == EAGAIN)
            return 1;
        errno = e;
        return gx_error_set(err, "receive: %s", zmq_strerror(e));
    }
    gx_error_t ignored;
    if (gx_frame_decode(zmq_msg_data(&in->hdr), zmq_msg_size(&in->hdr),
                        &in->f, &ignored) != 0
        || in->f.kind < GX_N_REGISTER || in->f.kind >= GX_N_LAST)
        return drain(s, in);
    if (more(s)) {
        if (recv_part(s, &in->body, 0) < 0) {
            int e = errno;
            gx_netmsg_close(in);
            errno = e;
            return gx_error_set(err, "receive: %s", zmq_strerror(e));
        }
        in->has_body = true;
        if (more(s))
            return drain(s, in);
    }
    return 0;
}

void
gx_netmsg_close(gx_netmsg_t *in)
{
    if (in->open) {
        zmq_msg_close(&in->hdr);
        zmq_msg_close(&in->body);
        in->open = false;
    }
}

// ---- Secrets ---------------------------------------------------------------

int
gx_auth_init(gx_error_t *err)
{
    if (sodium_init() < 0)
        return gx_error_set(err, "cannot initialise libsodium");
    return 0;
}

void
gx_auth_random(void *buf, size_t n)
{
    randombytes_buf(buf, n);
}

// The secret as a 32-byte key: any length in, a fixed one out.
static void
secret_key(const void *secret, size_t len, uint8_t key[32])
{
    crypto_generichash(key, 32, secret, len, (const uint8_t *)"graphx-secret",
                       13);
}

static void
keyed(const void *secret, size_t len, const void *what, size_t wlen,
      uint8_t out[32])
{
    uint8_t key[32];
    secret_key(secret, len, key);
    crypto_generichash(out, 32, what, wlen, key, sizeof key);
    sodium_memzero(key, sizeof key);
}

void
gx_auth_proof(const void *secret, size_t len, const uint8_t nonce[32],
              uint8_t out[32])
{
    uint8_t what[32 + 16];
    memcpy(what, "graphx-register1", 16);
    memcpy(what + 16, nonce, 32);
    keyed(secret, len, what, sizeof what, out);
}

bool
gx_auth_equal(const uint8_t a[32], const uint8_t b[32])
{
    return sodium_memcmp(a, b, 32) == 0;
}

void
gx_auth_curve(const void *secret, size_t len, gx_curve_t *out)
{
    uint8_t seed[32];
    keyed(secret, len, "graphx-curve-server", 19, seed);
    crypto_box_seed_keypair(out->server_public, out->server_secret, seed);
    keyed(secret, len, "graphx-curve-client", 19, seed);
    crypto_box_seed_keypair(out->client_public, out->client_secret, seed);
    sodium_memzero(seed, sizeof seed);
    out->on = true;
}

void
gx_auth_hash(const void *data, size_t len, uint8_t out[32])
{
    crypto_generichash(out, 32, data, len, NULL, 0);
}
