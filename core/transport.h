// core/transport.h: frames over ZeroMQ sockets (raw libzmq handles on a
// context the run owns). A send hands the encoded buffer to ZeroMQ without
// copying; a received frame is decoded in place and stays valid until
// closed. Local mode uses inproc:// endpoints; only the endpoint changes for
// tcp://. A run's context is its wake-up: shutting it down makes every
// blocking call of every thread return ETERM (docs/design.md, "Failure").
#ifndef GX_CORE_TRANSPORT_H
#define GX_CORE_TRANSPORT_H

#include <stdint.h>
#include <zmq.h>
#include "core/codec.h"
#include "graphx/error.h"

typedef struct gx_inframe {
    zmq_msg_t  msg;
    gx_frame_t f;
    uint32_t   from;                 // ROUTER sockets: the sender's index
    int        open;
    size_t     counted;              // bytes the accountant counts while
                                     // it is held (core/mailbox.c); given
                                     // back by gx_inframe_close
} gx_inframe_t;

// Creates a socket of `type` on ctx with unbounded queues (flow is bounded
// by the superstep protocol) and, if `identity` is not NULL, that 5-byte
// routing id. ROUTER sockets get ROUTER_MANDATORY: a send to an unknown
// peer fails (EHOSTUNREACH) instead of vanishing.
void *gx_socket_new(void *ctx, int type, const char *identity, gx_error_t *err);
// Bounds a socket's queues at `hwm` frames. Between two inproc sockets the
// bound holds only when both sides have one (libzmq adds the sender's and
// the receiver's; either 0 is no bound).
#ifndef GX_INPROC_HWM                // tests build with 1 to stress it
#define GX_INPROC_HWM 32
#endif
void  gx_socket_hwm(void *s, int hwm);
void  gx_socket_close(void **s);

// f encoded into one buffer of *len bytes (NULL: out of memory), to be
// freed with gx_free.
char *gx_frame_encode_buf(const gx_frame_t *f, size_t *len, gx_error_t *err);
// f encoded as a ZeroMQ message that owns its buffer (freed by ZeroMQ,
// with the hand-off drawn for ThreadSanitizer); *len its size.
int   gx_frame_msg(const gx_frame_t *f, zmq_msg_t *m, size_t *len,
                   gx_error_t *err);

// Encodes and sends f; adds the bytes sent to *bytes when not NULL.
// `to` > 0 prefixes the routing id of worker to-1 (ROUTER sockets).
// On failure errno says why (EHOSTUNREACH, ETERM...).
int gx_send(void *s, int to, const gx_frame_t *f, uint64_t *bytes,
            gx_error_t *err);
// The same, to a ROUTER's peer whose link may be bounded: while the link
// is full, wait(arg) runs (it takes in what arrives meanwhile) and the
// send is tried again; a non-zero return gives up (-1, error already
// reported by the caller).
typedef int (gx_send_wait_fn)(void *arg);
int gx_send_wait(void *s, int to, const gx_frame_t *f, uint64_t *bytes,
                 gx_send_wait_fn *wait, void *arg, gx_error_t *err);
// Receives one frame, waiting at most timeout_ms (-1: until one comes or
// the context is shut down; 0: only if one is already queued). Returns 0,
// 1 on time-out, -1 on error (errno ETERM once the run is shut down).
int gx_recv(void *s, gx_inframe_t *in, int timeout_ms, gx_error_t *err);
// Closes the frame's message (if open) and gives back what it counted.
void gx_inframe_close(gx_inframe_t *in);

// The routing id a worker's sockets announce: "w" + 4-byte index (a
// ZeroMQ routing id must not start with a zero byte).
void gx_worker_identity(uint32_t index, char out[5]);

#endif
