// core/transport.h: frames over ZeroMQ sockets (CZMQ handles, libzmq
// messages). A send hands the encoded buffer to ZeroMQ without copying; a
// received frame is decoded in place and stays valid until closed. Local
// mode uses inproc:// endpoints; only the endpoint changes for tcp://.
#ifndef GX_CORE_TRANSPORT_H
#define GX_CORE_TRANSPORT_H

#include <czmq.h>
#include <stdint.h>
#include "core/codec.h"
#include "graphx/error.h"

typedef struct gx_inframe {
    zmq_msg_t  msg;
    gx_frame_t f;
    int        open;
} gx_inframe_t;

// Creates a socket of `type` with unlimited queues (flow is bounded by the
// superstep protocol, and a full queue between two workers sending to each
// other would deadlock them) and binds ('@') or connects ('>') `endpoint`.
zsock_t *gx_socket_new(int type, const char *endpoint, gx_error_t *err);

// Encodes and sends f; adds the bytes sent to *bytes when not NULL.
// `to` > 0 prefixes the routing id of worker to-1 (ROUTER sockets); with
// ZMQ_ROUTER_MANDATORY an unknown peer fails with errno EHOSTUNREACH.
int gx_send(zsock_t *s, int to, const gx_frame_t *f, uint64_t *bytes,
            gx_error_t *err);
// Receives one frame, waiting at most timeout_ms (-1: forever; 0: only
// if one is already queued). Returns 0, 1 on time-out, -1 on error. On a ROUTER socket *from is the sender's worker index.
int gx_recv(zsock_t *s, gx_inframe_t *in, int timeout_ms, uint32_t *from,
            gx_error_t *err);
void gx_inframe_close(gx_inframe_t *in);

// The routing id a worker's DEALER announces: "w" + 4-byte index (a
// ZeroMQ routing id must not start with a zero byte).
void gx_worker_identity(uint32_t index, char out[5]);

#endif
