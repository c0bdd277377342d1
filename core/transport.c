// core/transport.c: the ZeroMQ side of frames. Encoding goes into a msgpack
// sbuffer whose memory (a gx_malloc block, counted until ZeroMQ frees it
// through gx_free once delivered) is then owned by the zmq_msg_t, so a
// batch is copied once, into the frame, and never again.
// Socket creation and every send are fault-injection points.
#include "core/transport.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "core/fault.h"
#include "core/mem.h"
#include "core/tsan.h"


void
gx_socket_hwm(void *s, int hwm)
{
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
}

void *
gx_socket_new(void *ctx, int type, const char *identity, gx_error_t *err)
{
    void *s = gx_fault_hit(GX_FAULT_SOCKET) ? (errno = EMFILE, NULL)
              : zmq_socket(ctx, type);
    if (!s) {
        gx_error_set(err, "transport: cannot create a ZeroMQ socket: %s",
                     zmq_strerror(errno));
        return NULL;
    }
    int zero = 0, one = 1;
    // inproc delivers a frame into the peer's queue at send time, so
    // nothing is left to linger for once a socket closes.
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    if (identity)
        zmq_setsockopt(s, ZMQ_ROUTING_ID, identity, 5);
    if (type == ZMQ_ROUTER)
        zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    return s;
}

void
gx_socket_close(void **s)
{
    if (s && *s) {
        zmq_close(*s);
        *s = NULL;
    }
}

static void
free_buffer(void *data, void *hint)
{
    (void)hint;
    // Whichever thread drops the last reference: the receiver, or the one
    // that closes a socket with the frame still queued.
    TSAN_ACQUIRE(data);
    gx_free(data);
}

void
gx_worker_identity(uint32_t index, char out[5])
{
    out[0] = 'w';
    memcpy(out + 1, &index, 4);
}

// The frame encoded into one gx_malloc'd buffer, sized up front so that
// the packer never regrows (and recopies) a large batch; nor could it:
// msgpack-c's realloc would move the block behind the accountant's back.
char *
gx_frame_encode_buf(const gx_frame_t *f, size_t *len, gx_error_t *err)
{
    size_t need = gx_frame_encoded_max(f);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    sb.data = gx_malloc(need);
    if (!sb.data) {
        gx_error_set(err, "transport: out of memory for a %zu-byte frame",
                     need);
        return NULL;
    }
    sb.alloc = need;
    if (gx_frame_encode(f, &sb, err) != 0) {
        gx_free(sb.data);           // not msgpack_sbuffer_destroy: libc's free
        return NULL;
    }
    *len = sb.size;
    return msgpack_sbuffer_release(&sb);
}

static int
send_failed(const gx_frame_t *f, int e, gx_error_t *err)
{
    gx_error_set(err, "transport: send %s frame: %s",
                 gx_frame_kind_name(f->kind), zmq_strerror(e));
    errno = e;                       // callers tell EHOSTUNREACH from the rest
    return -1;
}

int
gx_frame_msg(const gx_frame_t *f, zmq_msg_t *m, size_t *len, gx_error_t *err)
{
    char *data = gx_frame_encode_buf(f, len, err);
    if (!data) {
        errno = ENOMEM;
        return -1;
    }
    TSAN_RELEASE(data);
    if (zmq_msg_init_data(m, data, *len, free_buffer, NULL) != 0) {
        gx_free(data);
        gx_error_set(err, "transport: %s", zmq_strerror(errno));
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

// The routing id part: with `wait`, never blocking (a full link says
// EAGAIN, the first part being the one ZeroMQ checks), else blocking.
static int
send_id(void *s, int to, bool nowait)
{
    char id[5];
    gx_worker_identity((uint32_t)(to - 1), id);
    int n;
    do
        n = zmq_send(s, id, sizeof id, ZMQ_SNDMORE | (nowait ? ZMQ_DONTWAIT : 0));
    while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

int
gx_send_wait(void *s, int to, const gx_frame_t *f, uint64_t *bytes,
             gx_send_wait_fn *wait, void *arg, gx_error_t *err)
{
    if (gx_fault_hit(GX_FAULT_SEND))
        return send_failed(f, ENOMEM, err);
    zmq_msg_t m;
    size_t len;
    if (gx_frame_msg(f, &m, &len, err) != 0)
        return -1;
    // A full link (its high-water mark reached): the caller takes in what
    // comes meanwhile, so two peers sending to each other cannot both wait.
    while (to > 0 && send_id(s, to, wait != NULL) != 0) {
        int e = errno;
        if (e == EAGAIN && wait && wait(arg) == 0)
            continue;
        zmq_msg_close(&m);
        return e == EAGAIN && wait ? -1 : send_failed(f, e, err);
    }
    for (;;) {
        if (zmq_msg_send(&m, s, 0) >= 0)
            break;
        if (errno == EINTR)
            continue;
        int e = errno;
        zmq_msg_close(&m);
        return send_failed(f, e, err);
    }
    if (bytes)
        *bytes += len;
    return 0;
}

int
gx_send(void *s, int to, const gx_frame_t *f, uint64_t *bytes,
        gx_error_t *err)
{
    return gx_send_wait(s, to, f, bytes, NULL, NULL, err);
}

// Waits up to timeout_ms for something to read: 1 if nothing came.
static int
wait_readable(void *s, int timeout_ms, gx_error_t *err)
{
    zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
    int rc;
    do
        rc = zmq_poll(&it, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return gx_error_set(err, "transport: poll: %s", zmq_strerror(errno));
    return rc == 0 ? 1 : 0;
}

// Reads the routing-id part a ROUTER puts before each message.
static int
recv_sender(void *s, int flags, uint32_t *from, gx_error_t *err)
{
    char id[16];
    int n;
    do
        n = zmq_recv(s, id, sizeof id, flags);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return 1;
    if (n < 0)
        return gx_error_set(err, "transport: receive: %s", zmq_strerror(errno));
    if (n != 5 || id[0] != 'w')
        return gx_error_set(err, "transport: frame from an unknown peer");
    memcpy(from, id + 1, 4);
    return 0;
}

int
gx_recv(void *s, gx_inframe_t *in, int timeout_ms, gx_error_t *err)
{
    // A plain non-blocking receive when asked not to wait: no poll(2) when
    // a frame is there.
    int flags = timeout_ms == 0 ? ZMQ_DONTWAIT : 0;
    if (timeout_ms > 0) {
        int rc = wait_readable(s, timeout_ms, err);
        if (rc != 0)
            return rc;
    }
    int type = 0;
    size_t tl = sizeof type;
    zmq_getsockopt(s, ZMQ_TYPE, &type, &tl);
    in->from = 0;
    in->counted = 0;
    if (type == ZMQ_ROUTER) {
        int rc = recv_sender(s, flags, &in->from, err);
        if (rc != 0)
            return rc;
        flags = 0;                   // the body follows its routing id
    }
    zmq_msg_init(&in->msg);
    int n;
    do
        n = zmq_msg_recv(&in->msg, s, flags);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        int e = errno;
        zmq_msg_close(&in->msg);
        if (e == EAGAIN && flags)
            return 1;
        errno = e;
        return gx_error_set(err, "transport: receive: %s", zmq_strerror(e));
    }
    in->open = 1;
    TSAN_ACQUIRE(zmq_msg_data(&in->msg));
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
    if (in->counted) {
        gx_acct_sub(in->counted);
        in->counted = 0;
    }
    if (in->open) {
        zmq_msg_close(&in->msg);
        in->open = 0;
    }
}
