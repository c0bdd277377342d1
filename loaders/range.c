// loaders/range.c: a plain file's slice, read with pread so that W readers
// share no file offset and need not know of each other. A reader reads its
// slice in whole buffers, then only small steps past its end: there it
// just finishes its last line, and the next slice reads those bytes again.
#define _GNU_SOURCE                         // pread
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "loaders/private.h"

// Past its range end a reader only finishes one line, so it reads in small
// steps there instead of a whole buffer that the next slice will read again.
#define TAIL_STEP (64u << 10)

int
gx_range_open(gx_reader_t *self, const gx_file_t *f, uint64_t a)
{
    if ((self->fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0)
        return gx_error_set(&self->error, "%s: %s", f->name, strerror(errno));
    // A hint for cold files: read ahead of us. Failure costs nothing.
    (void) posix_fadvise(self->fd, (off_t) a, 0, POSIX_FADV_SEQUENTIAL);
    return 0;
}

int
gx_range_read(gx_reader_t *self, size_t room)
{
    const gx_file_t *f = self->f;
    uint64_t pos = self->buf_off + self->fill;
    if (pos >= f->size) {
        self->eof = true;
        return 0;
    }
    uint64_t want = pos < self->b ? self->b - pos : 0;
    if (want < TAIL_STEP)
        want = TAIL_STEP;
    if (want > f->size - pos)
        want = f->size - pos;
    if (want > room)
        want = room;
    ssize_t r;
    do
        r = pread(self->fd, self->buf + self->fill, (size_t) want, (off_t) pos);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return gx_error_set(&self->error, "%s: %s", f->name, strerror(errno));
    if (r == 0) {
        // Shorter than at open (being rewritten?): the lines past here, the
        // splits after ours too, would be lost without a word.
        struct stat st;
        uint64_t now = fstat(self->fd, &st) == 0 ? (uint64_t) st.st_size : pos;
        return gx_error_set(&self->error, "%s: file shrank while reading, from %"
                            PRIu64 " to %" PRIu64 " bytes", f->name, f->size, now);
    }
    self->fill += (size_t) r;
    return 0;
}

// Line numbers are counted from the file's start only when a line is bad,
// so that a slice never pays for numbers it does not report.
int
gx_range_count_lines(gx_reader_t *self, uint64_t upto, uint64_t *count)
{
    char chunk[64 << 10];
    uint64_t pos = 0, n = 0;
    while (pos < upto) {
        size_t want = upto - pos < sizeof chunk ? (size_t) (upto - pos) : sizeof chunk;
        ssize_t r = pread(self->fd, chunk, want, (off_t) pos);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return gx_error_set(&self->error, "%s: %s", self->f->name,
                                r < 0 ? strerror(errno) : "file shrank while reading");
        for (const char *p = chunk, *e = chunk + r;
             (p = memchr(p, '\n', (size_t) (e - p))) != NULL; p++)
            n++;
        pos += (uint64_t) r;
    }
    *count = n;
    return 0;
}
