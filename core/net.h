// core/net.h: the wire between processes (distributed mode). Every message
// on a TCP socket is one to three ZeroMQ parts: a header, an engine frame
// (core/codec.h) whose kind is one of GX_N_*, whose `a` is the run id and
// `b` an address (a worker thread, or a process); then, for DATA, UP, DOWN
// and STREAM, the body (an engine frame byte for byte as a thread sent it,
// or a block of streamed input); then, on every message but a
// registration's first three, the seal: who sent it on this link, its
// sequence number and a keyed BLAKE2b tag over all of it.
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
// each other across versions, and say both. 5: REPORT carries a worker
// process's out-of-core figures (core/frames.h). 6: REPORT's statistics
// count held frames spilled (GX_STAT_HELD_SPILLED).
#define GX_PROTOCOL_VERSION 6u

#define GX_BEAT_MS     1000          // a heartbeat on every link this often
#define GX_SILENCE_MS  5000          // a peer unheard this long is gone
#define GX_CLOSED_MS   2000          // a worker the master cannot route to
                                     // this long has closed its connection
#define GX_CONNECT_MS  3000          // a peer not connected this long after
                                     // the run began cannot be reached
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
                         // advertise, bin2 = u16 port, bin3 = u32 ABI,
                         // bin4 = the worker's 32-byte nonce
    GX_N_CHALLENGE,      // master -> worker: bin0 = the master's nonce,
                         // bin1 = the master's proof over both nonces
    GX_N_PROOF,          // worker -> master: bin0 = the worker's proof
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

// ---- Seals -----------------------------------------------------------------
// One end of an authenticated link: its key and the next sequence numbers
// out and in. `self` is what this end writes as the sender, `peer` what it
// accepts: 0 for the master and 1 for the worker on a master's link,
// process indexes on a link between workers. docs/design.md, "Trust".
typedef struct gx_seal {
    uint8_t  key[32];
    uint64_t sent, heard;
    uint64_t bodies;                  // bodies tagged: each one's own key
    uint32_t self, peer;
    bool     on;
} gx_seal_t;

// "GXS2", u32 from, u64 seq, the body's tag (16-byte nonce, 16-byte
// Poly1305; zeros for no body), tag[32].
#define GX_SEAL_LEN 80

// What gx_net_open makes of a message on a sealed link.
typedef enum gx_open {
    GX_OPEN_OK,        // genuine and the next in order
    GX_OPEN_FORGED,    // no seal, another sender, or a tag that is wrong
    GX_OPEN_REPLAY,    // genuine but already seen (someone replays it)
    GX_OPEN_GAP,       // genuine but later than the next: messages lost
} gx_open_t;

// Starts a seal from a key: nothing sent or heard yet.
void gx_seal_init(gx_seal_t *s, const uint8_t key[32], uint32_t self,
                  uint32_t peer);

// A body's tag, which the seal covers: a nonce (this end's count of
// bodies, and its index) and the Poly1305 of the body under a key used
// for that body alone, derived from the link's key and the nonce by keyed
// BLAKE2b. Kept with a message that waits for room, so a retry does not
// go over the body again. (BLAKE2b over every body ran at 0.8 GB/s here
// and made the hubs the bottleneck; Poly1305 runs at 2.8.)
void gx_net_digest(gx_seal_t *seal, zmq_msg_t *body, uint8_t out[32]);

// Sends a header (and, if body is not NULL, the body it carries: moved
// into ZeroMQ, not copied), sealed when `seal` is not NULL (then `digest`
// is the body's, or NULL to compute it). `to` (ROUTER sockets) is the
// peer's routing id. Never blocks: 1 if the link is full (nothing sent,
// body untouched, no sequence number spent), 0 sent, -1 error.
int  gx_net_send_sealed(void *s, const void *to, size_t to_len,
                        const gx_frame_t *hdr, zmq_msg_t *body,
                        gx_seal_t *seal, const uint8_t *digest,
                        gx_error_t *err);
static inline int
gx_net_send(void *s, const void *to, size_t to_len, const gx_frame_t *hdr,
            zmq_msg_t *body, gx_error_t *err)
{
    return gx_net_send_sealed(s, to, to_len, hdr, body, NULL, NULL, err);
}
// The same, for a header with bins (a registration, a description).
static inline int
gx_net_send_hdr(void *s, const void *to, size_t to_len, const gx_frame_t *hdr,
                gx_error_t *err)
{
    return gx_net_send(s, to, to_len, hdr, NULL, err);
}

// One message, from a ROUTER (id filled) or a DEALER. The header is
// decoded into in->f, pointing into in->hdr; a body (DATA, UP, DOWN and
// STREAM have one, no other kind) is in in->body (in->has_body); a seal,
// if any, in in->sealed, in->from, in->seq and in->tag. Malformed
// messages are drained and reported as 2 (the caller ignores them: anyone
// can connect). 0 got one, 1 none waiting, 2 ignored, -1 error (errno
// ETERM: the context is gone).
typedef struct gx_netmsg {
    uint8_t    id[32];
    size_t     id_len;
    zmq_msg_t  hdr, body;
    bool       has_body, open;
    gx_frame_t f;
    bool       sealed;
    uint32_t   from;
    uint64_t   seq;
    uint8_t    body_tag[32];
    uint8_t    tag[32];
} gx_netmsg_t;

int  gx_net_recv(void *s, bool router, gx_netmsg_t *in, gx_error_t *err);
void gx_netmsg_close(gx_netmsg_t *in);

// Whether `in` was sealed under `seal` by its peer, in order (which it
// then counts). Nothing in a message is acted on before this says OK.
gx_open_t gx_net_open(gx_seal_t *seal, gx_netmsg_t *in);

// What happened to a socket's connections (ZeroMQ's monitor), read
// without blocking: whether it ever connected (TCP) and completed a
// ZeroMQ handshake, and the handshakes that failed, with the peer's
// address where ZeroMQ let us learn it (an accepted connection's).
typedef struct gx_watch {
    void    *pair;                   // the monitor's inproc PAIR
    bool     connected, handshaken;
    uint32_t failures;               // failed handshakes so far
    int      fail_code;              // the last one's ZMQ_PROTOCOL_ERROR_*
    bool     fail_pending;           // named at its DISCONNECTED event
    int      fds[16];                // accepted connections' descriptors
    char     addrs[16][64];          // and their peers
    char     fail_addr[64];          // the last failed one's peer ("")
} gx_watch_t;

int  gx_watch_start(void *ctx, void *s, gx_watch_t *w, gx_error_t *err);
// Reads what is waiting; returns how many handshakes newly failed (their
// peer, where known, in w->fail_addr once named).
uint32_t gx_watch_poll(gx_watch_t *w);
void gx_watch_stop(gx_watch_t *w);

// The door: a watch read on a thread of its own, at once, so that the
// address of a connection whose handshake fails can still be learnt; each
// failure is told to `fn` (from that thread), the same address at most
// once in GX_SILENCE_MS ("" when it could not be learnt).
typedef struct gx_door gx_door_t;
typedef void (gx_door_fn)(const char *peer, void *arg);
int  gx_door_start(void *ctx, void *s, gx_door_fn *fn, void *arg,
                   gx_door_t **out, gx_error_t *err);
void gx_door_stop(gx_door_t **d);

// ---- Secrets and keys (libsodium) --------------------------------------------
// Registration proves the secret both ways over both nonces (the worker's
// and the master's), and both ends derive their link's key from them;
// links between workers take theirs from the run id. CURVE key pairs are
// derived from the secret, so no key file need be distributed. A plugin's
// hash guards only against damage (the RUN's seal against the rest).
enum { GX_PROVE_MASTER, GX_PROVE_WORKER };

int  gx_auth_init(gx_error_t *err);
void gx_auth_random(void *buf, size_t n);
void gx_auth_proof(const void *secret, size_t len, int who,
                   const uint8_t worker_nonce[32],
                   const uint8_t master_nonce[32], uint8_t out[32]);
void gx_auth_session(const void *secret, size_t len,
                     const uint8_t worker_nonce[32],
                     const uint8_t master_nonce[32], uint8_t out[32]);
void gx_auth_peer_key(const void *secret, size_t len, uint64_t run_id,
                      uint32_t p, uint32_t q, uint8_t out[32]);
bool gx_auth_equal(const uint8_t a[32], const uint8_t b[32]);
void gx_auth_curve(const void *secret, size_t len, gx_curve_t *out);
void gx_auth_hash(const void *data, size_t len, uint8_t out[32]);

// ZeroMQ's authentication handler (ZAP) for --curve, in memory: it allows
// exactly the client key the secret derives, so no key file exists. One
// per context, answering on a thread of its own until stopped.
typedef struct gx_zap gx_zap_t;
int  gx_zap_start(void *ctx, const uint8_t client_public[32], gx_zap_t **out,
                  gx_error_t *err);
void gx_zap_stop(gx_zap_t **z);

#endif
