// core/transport.c: the ZeroMQ side of frames. Encoding goes into a msgpack
// sbuffer whose memory is then owned by the zmq_msg_t (freed by ZeroMQ once
// delivered), so a batch is copied once, into the frame, and never again.
#include "core/transport.h"

#include <errno.h>
#include <string.h>

zsock_t *
gx_socket_new(int type, const char *endpoint, gx_error_t *err)
{
    zsock_t *s = zsock_new(type);
    if (!s) {
        gx_error_set(err, "transport: cannot create a ZeroMQ socket: %s",
                     zmq_strerror(zmq_errno()));
        return NULL;
    }
    zsock_set_sndhwm(s, 0);
    zsock_set_rcvhwm(s, 0);
    // Long enough for the last frames of a run to reach their peer after
    // the sender closes; a dead peer cannot make exit hang past it.
    zsock_set_linger(s, 5000);
    if (endpoint && zsock_attach(s, endpoint, false) != 0) {
        gx_error_set(err, "transport: cannot attach to %s: %s", endpoint,
                     zmq_strerror(zmq_errno()));
        zsock_destroy(&s);
        return NULL;
    }
    return s;
}

static void
free_buffer(void *data, void *hint)
{
    (void)hint;
    free(data);
}

void
gx_worker_identity(uint32_t index, char out[5])
{
    out[0] = 'w';
    memcpy(out + 1, &index, 4);
}

int
gx_send(zsock_t *s, int to, const gx_frame_t *f, uint64_t *bytes,
        gx_error_t *err)
{
    void *h = zsock_resolve(s);
    if (to > 0) {
        char id[5];
        gx_worker_identity((uint32_t)(to - 1), id);
        if (zmq_send(h, id, sizeof id, ZMQ_SNDMORE) < 0) {
            int e = zmq_errno();
            gx_error_set(err, "transport: send to worker %d: %s", to - 1,
                         zmq_strerror(e));
            errno = e;       // callers tell EHOSTUNREACH from the rest
            return -1;
        }
    }
    // Sized up front: the header is at most 4 * 9 + 1 bytes and a bin's at
    // most 5, so the packer never regrows (and recopies) a large batch.
    size_t need = 64;
    for (uint32_t i = 0; i < f->n_bins && i < GX_FRAME_MAX_BINS; i++)
        need += 5 + f->bin_len[i];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    sb.data = malloc(need);
    if (!sb.data)
        return gx_error_set(err, "transport: out of memory for a %zu-byte "
                            "frame", need);
    sb.alloc = need;
    if (gx_frame_encode(f, &sb, err) != 0) {
        msgpack_sbuffer_destroy(&sb);
        return -1;
    }
    size_t len = sb.size;
    char *data = msgpack_sbuffer_release(&sb);
    zmq_msg_t m;
    if (zmq_msg_init_data(&m, data, len, free_buffer, NULL) != 0) {
        free(data);
        return gx_error_set(err, "transport: %s", zmq_strerror(zmq_errno()));
    }
    for (;;) {
        if (zmq_msg_send(&m, h, 0) >= 0)
            break;
        if (zmq_errno() == EINTR)
            continue;
        int e = zmq_errno();
        zmq_msg_close(&m);
        return gx_error_set(err, "transport: send %s frame: %s",
                            gx_frame_kind_name(f->kind), zmq_strerror(e));
    }
    if (bytes)
        *bytes += len;
    return 0;
}

int
gx_recv(zsock_t *s, gx_inframe_t *in, int timeout_ms, uint32_t *from,
        gx_error_t *err)
{
    void *h = zsock_resolve(s);
    int flags = 0;
    if (timeout_ms == 0) {
        // A plain non-blocking receive: no poll(2) when a frame is there.
        flags = ZMQ_DONTWAIT;
    } else if (timeout_ms > 0) {
        zmq_pollitem_t it = { h, 0, ZMQ_POLLIN, 0 };
        int rc;
        do
            rc = zmq_poll(&it, 1, timeout_ms);
        while (rc < 0 && zmq_errno() == EINTR);
        if (rc < 0)
            return gx_error_set(err, "transport: poll: %s",
                                zmq_strerror(zmq_errno()));
        if (rc == 0)
            return 1;
    }
    if (zsock_type(s) == ZMQ_ROUTER) {
        char id[16];
        int n;
        do
            n = zmq_recv(h, id, sizeof id, flags);
        while (n < 0 && zmq_errno() == EINTR);
        if (n < 0 && zmq_errno() == EAGAIN)
            return 1;
        if (n != 5 || id[0] != 'w')
            return gx_error_set(err, "transport: frame from an unknown peer");
        memcpy(from, id + 1, 4);
    }
    zmq_msg_init(&in->msg);
    int n;
    do
        n = zmq_msg_recv(&in->msg, h, flags);
    while (n < 0 && zmq_errno() == EINTR);
    if (n < 0 && zmq_errno() == EAGAIN && flags) {
        zmq_msg_close(&in->msg);
        return 1;
    }
    if (n < 0) {
        zmq_msg_close(&in->msg);
        return gx_error_set(err, "transport: receive: %s",
                            zmq_strerror(zmq_errno()));
    }
    in->open = 1;
    if (gx_frame_decode(zmq_msg_data(&in->msg), zmq_msg_size(&in->msg),
                        &in->f, err) != 0) {
        gx_inframe_close(in);
        return -1;
    }
    return 0;
}

void
gx_inframe_close(gx_inframe_t *in)
{
    if (in->open) {
        zmq_msg_close(&in->msg);
        in->open = 0;
    }
}
