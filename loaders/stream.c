// loaders/stream.c: standard input and pipes (a FIFO, the hub's pipe in
// distributed mode). Nothing here can seek or know its size; a read may wait
// as long as the writer is silent, so it must be cancellable; and what is
// not gzip is plain text, passed on as it comes. gzip.c decides which a
// stream is from its first two bytes and calls here for both.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include "loaders/private.h"

// One read(2) from a stream or file. A stream (stdin, a pipe) can leave a
// read waiting for ever; with a cancel flag set, the wait is a poll(2) of
// 100 ms at a time that gives up when the flag turns nonzero, so a failure
// elsewhere in the run ends it even while the writer is silent.
ssize_t
gx_stream_read(gx_reader_t *self, void *buf, size_t len)
{
    for (;;) {
        if (self->cancel) {
            if (atomic_load(self->cancel)) {
                errno = ECANCELED;
                return -1;
            }
            struct pollfd p = { .fd = self->fd, .events = POLLIN };
            int n = poll(&p, 1, 100);
            if (n == 0 || (n < 0 && errno == EINTR))
                continue;
        }
        ssize_t r = read(self->fd, buf, len);
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

void
gx_reader_set_cancel(gx_reader_t *self, const atomic_uint *flag)
{
    self->cancel = flag;
}

// A stream that is not gzip: the bytes gzip.c looked at first, then read(2).
int
gx_stream_plain(gx_reader_t *self, char *out, size_t room, size_t *got)
{
    size_t want = room - *got;
    if (self->gz.zs.avail_in > 0) {
        size_t k = self->gz.zs.avail_in < want ? self->gz.zs.avail_in : want;
        memcpy(out + *got, self->gz.zs.next_in, k);
        self->gz.zs.next_in += k;
        self->gz.zs.avail_in -= (uInt) k;
        *got += k;
        return 0;
    }
    ssize_t r = 0;
    if (!self->gz.eof) {
        r = gx_stream_read(self, out + *got, want);
        if (r < 0)
            return gx_error_set(&self->error, "%s: %s", self->f->name, strerror(errno));
    }
    if (r == 0)
        self->eof = true;
    *got += (size_t) r;
    return 0;
}
