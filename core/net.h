// core/net.h: the wire between processes (distributed mode). Every message
// on a TCP socket is one or two ZeroMQ parts: a header, an engine frame
// (core/codec.h) whose kind is one of GX_N_*, whose `a` is the run id and
// `b` an address (a worker thread, or a process); then, for DATA, UP and
// DOWN, the engine frame it carries, byte for byte as a thread sent it.
// Every process has one ROUTER bound for what comes in and one DEALER per
// peer process for what goes out (a worker's DEALER to the master carries
// both ways). docs/design.md, "Distributed mode", has the protocol.
#ifndef GX_CORE_NET_H
#define GX_CORE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>
#include "core/codec.h"
#include "graphx/error.h"

// Bumped whenever a frame's meaning changes: master and worker refuse
// each other across versions, and say both.
#define GX_PROTOCOL_VERSION 1u

#define GX_BEAT_MS     1000          // a heartbeat on every link this often
#define GX_SILENCE_MS  5000          // a peer unheard this long is gone
#define GX_CLOSED_MS   2000          // a worker the master cannot route to
                                     // this long has closed its connection
#ifndef GX_NET_HWM                   // tests build with 1 to stress it
#define GX_NET_HWM     64            // messages queued per link at most
#endif
#define GX_PLUGIN_MAX  (256u << 20)  // a shipped plugin's bytes at most
// The largest message a socket takes: ZeroMQ allocates what a peer's
// header claims before reading it, so a stranger's 2^63 would be tried.
// Engine frames stay below 4 MiB (65536 rows of at most 40 bytes); only
// the RUN, with a plugin, is bigger, and only a worker's link to the
// master carries it.
#define GX_NET_MSG_MAX ((int64_t)16 << 20)
#define GX_NET_RUN_MAX ((int64_t)GX_PLUGIN_MAX + GX_NET_MSG_MAX)
#define GX_STREAM_BLOCK (1u << 20)   // a streamed input travels in these
#define GX_STREAM_AHEAD 4             // blocks on their way at most

enum {
    GX_N_REGISTER = 100, // worker -> master: step = protocol, a = 0, b =
                         // threads; bin0 = graphx version, bin1 = host to
                         // advertise, bin2 = u16 port, bin3 = u32 ABI
    GX_N_CHALLENGE,      // master -> worker: bin0 = 32-byte nonce
    GX_N_PROOF,          // worker -> master: bin0 = keyed hash of the nonce
    GX_N_REFUSE,         // master -> worker: bin0 = why
    GX_N_RUN,            // master -> worker: a = run id, b = its process
                         // index; bin0 = description, bin1 = process
                         // table, bin2 = plugin bytes (or empty)
    GX_N_DATA,           // worker -> worker: b = thread; part 2 = frame
    GX_N_UP,             // worker -> master: b = thread; part 2 = frame
    GX_N_DOWN,           // master -> worker: b = thread; part 2 = frame
    GX_N_BEAT,           // any -> any: b = sender's process index
    GX_N_FAIL,           // worker -> master: bin0 = the worker's error
    GX_N_ABORT,          // master -> worker: bin0 = the run's error
    GX_N_END,            // master -> worker: the run is over, exit
    GX_N_STREAM,         // master -> worker of thread 0: part 2 = the next
                         // bytes of the streamed input; b = 1: its end
    GX_N_WANT,           // worker of thread 0 -> master: one more block
    GX_N_LAST
};

const char *gx_net_kind_name(uint32_t kind);

// Sets what every TCP socket gets: no linger beyond 2 s, bounded queues,
// ZeroMQ heartbeats, and CURVE when keys are given (server: its secret
// key; client: its key pair and the server's public key).
typedef struct gx_curve {
    bool    on;
    uint8_t server_public[32], server_secret[32];
    uint8_t client_public[32], client_secret[32];
} gx_curve_t;

void *gx_net_socket(void *ctx, int type, const void *id, size_t id_len,
                    const gx_curve_t *curve, bool server, gx_error_t *err);

// IPv6 for a socket that binds or connects to `endpoint` ([addr] or *).
void  gx_net_ipv6(void *s, const char *endpoint);

// Sends a header (and, if body is not NULL, the frame it carries: moved
// into ZeroMQ, not copied). `to` (ROUTER sockets) is the peer's routing
// id. Never blocks: 1 if the link is full (nothing sent, body untouched),
// 0 sent, -1 error.
int  gx_net_send(void *s, const void *to, size_t to_len, const gx_frame_t *hdr,
                 zmq_msg_t *body, gx_error_t *err);
// The same, for a header with bins (a registration, a description).
static inline int
gx_net_send_hdr(void *s, const void *to, size_t to_len, const gx_frame_t *hdr,
                gx_error_t *err)
{
    return gx_net_send(s, to, to_len, hdr, NULL, err);
}

// One message, from a ROUTER (id filled) or a DEALER. The header is
// decoded into in->f, pointing into in->hdr; a body, if any, is in
// in->body (in->has_body). Malformed messages are drained and reported as
// 2 (the caller ignores them: anyone can connect). 0 got one, 1 none
// waiting, 2 ignored, -1 error (errno ETERM: the context is gone).
typedef struct gx_netmsg {
    uint8_t    id[32];
    size_t     id_len;
    zmq_msg_t  hdr, body;
    bool       has_body, open;
    gx_frame_t f;
} gx_netmsg_t;

int  gx_net_recv(void *s, bool router, gx_netmsg_t *in, gx_error_t *err);
void gx_netmsg_close(gx_netmsg_t *in);

// Secrets and keys (libsodium): a proof of the secret for a challenge,
// compared in constant time; CURVE key pairs derived from the secret, so
// no key file need be distributed; a plugin's hash.
int  gx_auth_init(gx_error_t *err);
void gx_auth_random(void *buf, size_t n);
void gx_auth_proof(const void *secret, size_t len, const uint8_t nonce[32],
                   uint8_t out[32]);
bool gx_auth_equal(const uint8_t a[32], const uint8_t b[32]);
void gx_auth_curve(const void *secret, size_t len, gx_curve_t *out);
void gx_auth_hash(const void *data, size_t len, uint8_t out[32]);

#endif
