// core/hub_stream.c: the input one reader reads whole (standard input, a
// .gz file), read by the master's hub and streamed to the process of
// worker thread 0, whose hub writes it into a pipe its reader reads:
// 1 MiB blocks, at most GX_STREAM_AHEAD on their way (WANT acknowledges
// each). docs/design.md, "Streamed input".
#include "core/hub_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/mem.h"
#include "core/tsan.h"

// Master: one read from the streamed input (poll said it will not block),
// sent on to the process of worker thread 0. A read of 0 is the end.
// Master: one read from the streamed input (poll said it will not block),
// sent on to the process of worker thread 0. A read of 0 is the end.
static void
free_block(void *data, void *hint)
{
    (void)hint;
    TSAN_ACQUIRE(data);              // freed by ZeroMQ's I/O thread
    gx_free(data);
}

void
gx_hub_stream_read(gx_hub_t *h)
{
    char *buf = gx_malloc(GX_STREAM_BLOCK);
    if (!buf)
        return hub_fail(h, "%s: out of memory", h->l->stream_name);
    ssize_t n;
    do
        n = read(h->l->stream_fd, buf, GX_STREAM_BLOCK);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        int e = errno;
        gx_free(buf);
        if (e != EAGAIN)
            hub_fail(h, "%s: %s", h->l->stream_name, strerror(e));
        return;
    }
    // The block as read, shrunk to its bytes and handed to ZeroMQ whole.
    if (n)
        buf = gx_shrink(buf, (size_t)n);
    TSAN_RELEASE(buf);
    zmq_msg_t body;
    zmq_msg_init_data(&body, buf, (size_t)n, free_block, NULL);
    h->in_end = n == 0;
    h->credit--;
    gx_hub_forward(h, gx_link_proc_of(h->l, 0), GX_N_STREAM, n == 0, &body, NULL);
    zmq_msg_close(&body);
}

// Worker: a block for the pipe, queued; the end, once all is written,
// closes it.
void
gx_hub_stream_take(gx_hub_t *h, gx_netmsg_t *in)
{
    if (h->in_end || h->in_n == GX_STREAM_AHEAD || !in->has_body) {
        hub_fail(h, "the master sent input nobody asked for");
        return;
    }
    zmq_msg_t *slot = &h->in_q[(h->in_head + h->in_n++) % GX_STREAM_AHEAD];
    zmq_msg_init(slot);
    zmq_msg_move(slot, &in->body);
    h->in_end = in->f.b == 1;
}

// Worker: writes what the pipe takes now (it is non-blocking); a block
// written whole is acknowledged with WANT, so the master sends another.
void
gx_hub_stream_write(gx_hub_t *h)
{
    while (h->in_n) {
        zmq_msg_t *m = &h->in_q[h->in_head];
        size_t len = zmq_msg_size(m);
        if (h->in_off < len) {
            ssize_t n = write(h->l->stream_pipe,
                              (char *)zmq_msg_data(m) + h->in_off,
                              len - h->in_off);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (n < 0) {
                hub_fail(h, "%s: cannot pass it on: %s", h->l->stream_name,
                         strerror(errno));
                return;
            }
            h->in_off += (size_t)n;
            if (h->in_off < len)
                continue;
        }
        zmq_msg_close(m);
        h->in_head = (h->in_head + 1) % GX_STREAM_AHEAD;
        h->in_n--;
        h->in_off = 0;
        if (h->in_n == 0 && h->in_end) {
            close(h->l->stream_pipe);            // the reader sees the end
            h->l->stream_pipe = -1;
        } else if (len > 0) {
            h->wants++;
            gx_hub_stream_want(h);
        }
    }
}

// Worker: a note finds a full link as a beat does and is not sent, but a
// WANT not sent would be a block of credit lost for good (GX_STREAM_AHEAD
// of them, and the master would read no more while every beat came on
// time). So they are owed, and the hub's loop sends them when it can.
void
gx_hub_stream_want(gx_hub_t *h)
{
    while (h->wants && gx_hub_send_note(h, 0, GX_N_WANT, NULL) == 0)
        h->wants--;
}
