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
        // Our ZAP handler answers for this domain (core/zap.c).
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

// ---- Seals -------------------------------------------------------------------

void
gx_seal_init(gx_seal_t *s, const uint8_t key[32], uint32_t self, uint32_t peer)
{
    memcpy(s->key, key, 32);
    s->sent = s->heard = 0;
    s->self = self;
    s->peer = peer;
    s->on = true;
}

// The one-time key of the body whose nonce is `nonce`.
static void
body_key(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[32])
{
    uint8_t what[16 + 16] = "graphx-body-2";
    memcpy(what + 16, nonce, 16);
    crypto_generichash(out, 32, what, sizeof what, key, 32);
}

static void
body_mac(const uint8_t key[32], const uint8_t nonce[16], zmq_msg_t *body,
         uint8_t out[16])
{
    uint8_t k[32];
    body_key(key, nonce, k);
    crypto_onetimeauth(out, zmq_msg_data(body), zmq_msg_size(body), k);
    sodium_memzero(k, sizeof k);
}

void
gx_net_digest(gx_seal_t *seal, zmq_msg_t *body, uint8_t out[32])
{
    memset(out, 0, 16);
    memcpy(out, &seal->bodies, 8);
    memcpy(out + 8, &seal->self, 4);
    seal->bodies++;
    body_mac(seal->key, out, body, out + 16);
}

// The tag: keyed BLAKE2b over the header as sent, the sender, the
// sequence number and the body's tag (zeros for no body).
static void
seal_tag(const uint8_t key[32], const void *hdr, size_t hdr_len,
         uint32_t from, uint64_t seq, const uint8_t *digest, uint8_t out[32])
{
    static const uint8_t none[32];
    uint8_t lens[8 + 4 + 8 + 1];
    uint64_t hl = hdr_len;
    memcpy(lens, &hl, 8);
    memcpy(lens + 8, &from, 4);
    memcpy(lens + 12, &seq, 8);
    lens[20] = digest != NULL;
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, 32, 32);
    crypto_generichash_update(&st, (const uint8_t *)"graphx-seal-2", 13);
    crypto_generichash_update(&st, lens, sizeof lens);
    crypto_generichash_update(&st, hdr, hdr_len);
    crypto_generichash_update(&st, digest ? digest : none, 32);
    crypto_generichash_final(&st, out, 32);
}

// The seal part of a message whose header is `h` (already encoded).
static void
seal_part(gx_seal_t *seal, zmq_msg_t *h, zmq_msg_t *body,
          const uint8_t *digest, zmq_msg_t *out)
{
    uint8_t d[32] = { 0 };
    if (body && !digest) {
        gx_net_digest(seal, body, d);
        digest = d;
    }
    zmq_msg_init_size(out, GX_SEAL_LEN);
    uint8_t *p = zmq_msg_data(out);
    memcpy(p, "GXS2", 4);
    memcpy(p + 4, &seal->self, 4);
    memcpy(p + 8, &seal->sent, 8);
    memcpy(p + 16, body ? digest : d, 32);
    seal_tag(seal->key, zmq_msg_data(h), zmq_msg_size(h), seal->self,
             seal->sent, body ? digest : NULL, p + 48);
}

static int
send_failed(const gx_frame_t *hdr, int e, gx_error_t *err)
{
    gx_error_set(err, "send %s: %s", gx_net_kind_name(hdr->kind),
                 zmq_strerror(e));
    errno = e;                       // callers tell EHOSTUNREACH apart
    return -1;
}

// The routing id (ROUTER sockets), which decides whether the link has
// room: ZeroMQ takes a multipart message whole or not at all, so only the
// first part can find it full. 1: full.
static int
send_to(void *s, const void *to, size_t to_len, const gx_frame_t *hdr,
        gx_error_t *err)
{
    zmq_msg_t id;
    zmq_msg_init_size(&id, to_len);
    memcpy(zmq_msg_data(&id), to, to_len);
    if (send_part(s, &id, ZMQ_SNDMORE) >= 0)
        return 0;
    int e = errno;
    zmq_msg_close(&id);
    return e == EAGAIN ? 1 : send_failed(hdr, e, err);
}

int
gx_net_send_sealed(void *s, const void *to, size_t to_len,
                   const gx_frame_t *hdr, zmq_msg_t *body, gx_seal_t *seal,
                   const uint8_t *digest, gx_error_t *err)
{
    zmq_msg_t h, tail;
    size_t len;
    if (gx_frame_msg(hdr, &h, &len, err) != 0)
        return -1;
    if (seal)
        seal_part(seal, &h, body, digest, &tail);
    int rc = to ? send_to(s, to, to_len, hdr, err) : 0;
    if (rc == 0 && send_part(s, &h, body || seal ? ZMQ_SNDMORE : 0) < 0)
        rc = errno == EAGAIN && !to ? 1 : send_failed(hdr, errno, err);
    if (rc != 0) {
        zmq_msg_close(&h);
        if (seal)
            zmq_msg_close(&tail);
        return rc;
    }
    if (body && send_part(s, body, seal ? ZMQ_SNDMORE : 0) < 0)
        rc = send_failed(hdr, errno, err);
    if (seal && rc == 0 && send_part(s, &tail, 0) < 0)
        rc = send_failed(hdr, errno, err);
    if (seal && rc == 0)
        seal->sent++;
    if (seal && rc != 0)
        zmq_msg_close(&tail);
    return rc;
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

// DATA, UP, DOWN and STREAM carry a body part; no other kind does.
static bool
has_body(uint32_t kind)
{
    return kind == GX_N_DATA || kind == GX_N_UP || kind == GX_N_DOWN
           || kind == GX_N_STREAM;
}

static int
recv_failed(gx_netmsg_t *in, gx_error_t *err)
{
    int e = errno;
    gx_netmsg_close(in);
    errno = e;
    return gx_error_set(err, "receive: %s", zmq_strerror(e));
}

static bool
take_seal(gx_netmsg_t *in, zmq_msg_t *tail)
{
    const uint8_t *p = zmq_msg_data(tail);
    if (zmq_msg_size(tail) != GX_SEAL_LEN || memcmp(p, "GXS2", 4) != 0)
        return false;
    memcpy(&in->from, p + 4, 4);
    memcpy(&in->seq, p + 8, 8);
    memcpy(in->body_tag, p + 16, 32);
    memcpy(in->tag, p + 48, 32);
    in->sealed = true;
    return true;
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
    if (has_body(in->f.kind)) {
        if (!more(s))
            return drain(s, in);
        if (recv_part(s, &in->body, 0) < 0)
            return recv_failed(in, err);
        in->has_body = true;
    }
    if (!more(s))
        return 0;
    zmq_msg_t tail;
    zmq_msg_init(&tail);
    if (recv_part(s, &tail, 0) < 0) {
        zmq_msg_close(&tail);
        return recv_failed(in, err);
    }
    bool ok = take_seal(in, &tail);
    zmq_msg_close(&tail);
    if (!ok || more(s))
        return drain(s, in);
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

gx_open_t
gx_net_open(gx_seal_t *seal, gx_netmsg_t *in)
{
    if (!seal || !seal->on || !in->sealed || in->from != seal->peer)
        return GX_OPEN_FORGED;
    uint8_t want[32], mac[16];
    seal_tag(seal->key, zmq_msg_data(&in->hdr), zmq_msg_size(&in->hdr),
             in->from, in->seq, in->has_body ? in->body_tag : NULL, want);
    if (!gx_auth_equal(want, in->tag))
        return GX_OPEN_FORGED;
    // The header, sender, sequence number and the body's tag are genuine;
    // the body is if its own one-time MAC holds.
    if (in->has_body) {
        body_mac(seal->key, in->body_tag, &in->body, mac);
        if (sodium_memcmp(mac, in->body_tag + 16, 16) != 0)
            return GX_OPEN_FORGED;
    }
    if (in->seq < seal->heard)
        return GX_OPEN_REPLAY;
    if (in->seq > seal->heard)
        return GX_OPEN_GAP;
    seal->heard++;
    return GX_OPEN_OK;
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

// Both nonces after a label: what each party proves, and the key both
// derive. The labels keep a master's proof from passing as a worker's.
static void
over_nonces(const void *secret, size_t len, const char *label,
            const uint8_t wn[32], const uint8_t mn[32], uint8_t out[32])
{
    uint8_t what[24 + 64] = { 0 };
    memcpy(what, label, strlen(label));
    memcpy(what + 24, wn, 32);
    memcpy(what + 56, mn, 32);
    keyed(secret, len, what, sizeof what, out);
}

void
gx_auth_proof(const void *secret, size_t len, int who,
              const uint8_t worker_nonce[32], const uint8_t master_nonce[32],
              uint8_t out[32])
{
    over_nonces(secret, len, who == GX_PROVE_MASTER ? "graphx-master-2"
                                                    : "graphx-worker-2",
                worker_nonce, master_nonce, out);
}

void
gx_auth_session(const void *secret, size_t len, const uint8_t worker_nonce[32],
                const uint8_t master_nonce[32], uint8_t out[32])
{
    over_nonces(secret, len, "graphx-session-2", worker_nonce, master_nonce,
                out);
}

void
gx_auth_peer_key(const void *secret, size_t len, uint64_t run_id, uint32_t p,
                 uint32_t q, uint8_t out[32])
{
    uint8_t what[16 + 8 + 8] = "graphx-peer-2";
    uint32_t lo = p < q ? p : q, hi = p < q ? q : p;
    memcpy(what + 16, &run_id, 8);
    memcpy(what + 24, &lo, 4);
    memcpy(what + 28, &hi, 4);
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
