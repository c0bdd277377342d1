// loaders/reader.c: the gx_reader_* entry points. Shaped by the parallel
// load: W workers each read their own slice of the plain files with pread,
// knowing nothing of the others, so a slice must find its first whole line
// by itself and must never pay for line numbers it does not report (they
// are counted from the file start only when a line is bad). Compressed
// files and stdin cannot be entered in the middle; they are read front to
// back by a single reader that counts lines as it goes; stdin and pipes may
// hold plain text or gzip, told apart by their first two bytes.
//
// This file knows splits, slices, the window and lines (private.h names
// them); how bytes get into the window is range.c's for plain files and
// gzip.c's for the rest, chosen by the file's access in two places:
// open_next and read_more.
#define _GNU_SOURCE                         // memrchr
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "loaders/private.h"

// floor(total * k / n) without the product, which can pass 2^64:
// total = q n + r gives q k + floor(r k / n), and r k < n^2 fits.
static uint64_t
range_point(uint64_t total, unsigned k, unsigned n)
{
    return total / n * k + total % n * k / n;
}

gx_reader_t *
gx_reader_new(const gx_input_t *in, gx_line_kind_t kind,
              unsigned split, unsigned nsplits, gx_error_t *err)
{
    if (kind != GX_LINES_EDGES && kind != GX_LINES_VERTICES) {
        gx_error_set(err, "%s: unknown line kind %d", in->path, (int) kind);
        return NULL;
    }
    if (nsplits == 0 || split >= nsplits) {
        gx_error_set(err, "%s: split %u of %u does not exist", in->path, split, nsplits);
        return NULL;
    }
    if (nsplits > 1 && !in->splittable) {
        gx_error_set(err, "%s: compressed input or stdin is read by one reader, "
                     "not %u", in->path, nsplits);
        return NULL;
    }
    const gx_loader_mem_t *m = &in->mem;
    gx_reader_t *self = m->alloc(sizeof *self);
    if (self)
        memset(self, 0, sizeof *self);
    if (!self || !(self->buf = m->alloc(m->window))) {
        gx_error_set(err, "%s: out of memory", in->path);
        m->release(self);
        return NULL;
    }
    if (in->is_stdin && atomic_exchange(&((gx_input_t *) in)->stdin_taken, true)) {
        gx_error_set(err, "%s: standard input can be read only once", in->path);
        m->release(self->buf);
        m->release(self);
        return NULL;
    }
    self->in = in;
    self->kind = kind;
    self->cap = m->window;
    self->lo = range_point(in->total, split, nsplits);
    self->hi = range_point(in->total, split + 1, nsplits);
    self->fd = -1;
    atomic_init(&self->consumed, 0);
    return self;
}

// Closes the current file, if any, and counts it as done.
static void
close_file(gx_reader_t *self)
{
    if (self->fd >= 0)
        close(self->fd);
    gx_gz_close(self);
    // Only whole-file reads (one reader) use done_bytes: compressed size
    // for a .gz, decompressed bytes for a stream, whose size is unknown.
    if (self->f)
        self->done_bytes += self->f->access == GX_ACCESS_STREAM
                          ? self->buf_off + self->fill : self->f->size;
    self->fd = -1;
    self->f = NULL;
}

void
gx_reader_destroy(gx_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gx_reader_t *self = *self_p;
    void (*release)(void *) = self->in->mem.release;
    close_file(self);
    release(self->buf);
    release(self->gz.buf);
    release(self);
    *self_p = NULL;
}

// Splits: bytes of the range passed, so the splits sum to the input size.
// One whole-file reader: closed files plus the offset in the current one.
static void
update_consumed(gx_reader_t *self)
{
    const gx_input_t *in = self->in;
    uint64_t v;
    if (in->splittable) {
        uint64_t pos = self->f ? self->f->base + self->buf_off + self->start
                     : self->finished || self->next_file >= in->nfiles ? self->hi
                     : in->files[self->next_file].base;
        v = pos < self->lo ? 0 : pos > self->hi ? self->hi - self->lo : pos - self->lo;
    } else {
        v = self->done_bytes;
        if (self->f && self->f->access == GX_ACCESS_GZIP) {
            uint64_t off = gx_gz_pos(self);
            v += off > self->f->size ? self->f->size : off;
        } else if (self->f) {
            v += self->buf_off + self->start;
        }
    }
    atomic_store_explicit(&self->consumed, v, memory_order_relaxed);
}

// Fails with self->error. Records already in the caller's array go out
// first and the error comes with the next call, so a caller sees every
// line before the bad one.
static ssize_t
fail(gx_reader_t *self, size_t n, gx_error_t *err)
{
    self->failed = true;
    update_consumed(self);
    close_file(self);
    if (n > 0)
        return (ssize_t) n;
    if (err)
        *err = self->error;
    return -1;
}

// The slice of plain file f that is this split's, as offsets [*a, *b) in
// the file; false when it has none (f is empty, or wholly another split's).
static bool
slice_of(const gx_reader_t *self, const gx_file_t *f, uint64_t *a, uint64_t *b)
{
    uint64_t from = self->lo > f->base ? self->lo : f->base;
    uint64_t to = self->hi < f->base + f->size ? self->hi : f->base + f->size;
    if (from >= to)
        return false;
    *a = from - f->base;
    *b = to - f->base;
    return true;
}

// Makes f the current file, to be read from offset a, owning the lines that
// start before b.
static void
start_file(gx_reader_t *self, const gx_file_t *f, uint64_t a, uint64_t b)
{
    self->f = f;
    self->b = b;
    // Starting mid-file: the byte before a tells whether a line starts
    // at a, so read from a - 1 and skip through the first LF.
    self->skipping = a > 0;
    self->buf_off = a > 0 ? a - 1 : 0;
    self->begin = 0;
    self->lines = 0;
    self->start = self->fill = self->scan_end = 0;
    self->eof = false;
    self->last_region = false;
    self->damage[0] = '\0';
    self->damage_at = NO_OFFSET;
}

// Opens the next file that holds lines of this split; sets self->f, or
// leaves it NULL and sets finished when there is none.
static int
open_next(gx_reader_t *self)
{
    const gx_input_t *in = self->in;
    while (self->next_file < in->nfiles) {
        const gx_file_t *f = &in->files[self->next_file++];
        uint64_t a = 0, b = UINT64_MAX;     // a whole-file read owns every line
        self->fd = -1;
        if (f->access == GX_ACCESS_RANGE) {
            if (!slice_of(self, f, &a, &b))
                continue;
            if (gx_range_open(self, f, a) < 0)
                return -1;
        } else if (gx_gz_open(self, f) < 0) {
            return -1;                      // fail() calls close_file
        }
        start_file(self, f, a, b);
        return 0;
    }
    self->finished = true;
    return 0;
}

// The number, counted from the file's start, of the line at `start`.
static int
line_number(gx_reader_t *self, uint64_t *no)
{
    uint64_t before = 0;
    if (self->begin > 0 && gx_range_count_lines(self, self->begin, &before) < 0)
        return -1;
    *no = before + self->lines + 1;
    return 0;
}

// Reads more of the current file into the buffer after dropping the
// scanned part; doubles the buffer when one line fills it.
static int
read_more(gx_reader_t *self)
{
    const gx_file_t *f = self->f;
    if (self->start > 0) {
        memmove(self->buf, self->buf + self->start, self->fill - self->start);
        self->buf_off += self->start;
        self->fill -= self->start;
        self->start = self->scan_end = 0;
    }
    if (self->fill == self->cap) {
        char *grown = self->cap <= SIZE_MAX / 2
                      ? self->in->mem.resize(self->buf, self->cap * 2) : NULL;
        uint64_t no;
        if (!grown && line_number(self, &no) < 0)
            return -1;
        if (!grown)
            return gx_error_set(&self->error, "%s:%" PRIu64 ": out of memory for a "
                                "line of over %zu bytes", f->name, no, self->fill);
        self->buf = grown;
        self->cap *= 2;
    }
    size_t room = self->cap - self->fill;
    return f->access == GX_ACCESS_RANGE ? gx_range_read(self, room)
                                        : gx_gz_read(self, room);
}

// A slice that starts mid-file: skips through the first LF (the line
// before it is the previous slice's). One step per call, as find_lines.
static int
skip_to_first_line(gx_reader_t *self)
{
    const char *nl = memchr(self->buf + self->start, '\n', self->fill - self->start);
    if (nl) {
        self->start = (size_t) (nl + 1 - self->buf);
        self->skipping = false;
        self->begin = self->buf_off + self->start;
        self->scan_end = self->start;
        return 0;
    }
    self->start = self->scan_end = self->fill;
    if (self->eof) {                        // no line starts in our part
        self->last_region = true;
        return 0;
    }
    return read_more(self);
}

// The file's end with an unfinished line at start: damage found in the
// compressed bytes is reported now that every whole line before it is
// read; otherwise the line is the file's last, without LF.
static int
last_line(gx_reader_t *self)
{
    if (self->damage[0] && self->damage_at != NO_OFFSET)
        return gx_error_set(&self->error, "%s: byte %" PRIu64 ": %s", self->f->name,
                            self->damage_at, self->damage);
    if (self->damage[0])
        return gx_error_set(&self->error, "%s:%" PRIu64 ": %s", self->f->name,
                            self->lines + 1, self->damage);
    self->scan_end = self->fill;
    self->last_region = true;
    return 0;
}

// Sets scan_end past the next run of whole lines that are ours, or marks
// the file done (f stays set; the caller closes it when start == scan_end
// and last_region is set), or reads more. One step per call.
static int
find_lines(gx_reader_t *self)
{
    if (self->skipping)
        return skip_to_first_line(self);
    uint64_t pos = self->buf_off + self->start;
    if (pos >= self->b) {                   // the next line is the next split's
        self->last_region = true;
        return 0;
    }
    size_t lim = self->b - self->buf_off < self->fill
               ? (size_t) (self->b - self->buf_off) : self->fill;
    if (lim > self->start) {
        const char *nl = memrchr(self->buf + self->start, '\n', lim - self->start);
        if (nl) {
            self->scan_end = (size_t) (nl + 1 - self->buf);
            return 0;
        }
    }
    // No LF in our buffered bytes: the line at start is unfinished. Its end
    // may already be buffered past b (then it is our last line)...
    if (lim < self->fill) {
        const char *nl = memchr(self->buf + lim, '\n', self->fill - lim);
        if (nl) {
            self->scan_end = (size_t) (nl + 1 - self->buf);
            self->last_region = true;
            return 0;
        }
    }
    // ...or be the file's last line, without LF.
    return self->eof ? last_line(self) : read_more(self);
}

// The bad line at start, which gx_scan described in `problem`, as the
// reader's error: numbered from the file's start, and blamed on the gzip
// member it lies in when that member turns out corrupt.
static void
bad_line(gx_reader_t *self, const gx_error_t *problem)
{
    uint64_t no;
    if (line_number(self, &no) < 0)
        return;                             // self->error says why
    gx_error_set(&self->error, "%s:%" PRIu64 ": %s", self->f->name, no,
                 gx_gz_member_corrupt(self, self->buf_off + self->start)
                 ? self->damage : problem->msg);
}

ssize_t
gx_reader_next(gx_reader_t *self, gx_edge_t *out, double *weights, size_t cap,
               gx_error_t *err)
{
    if (self->failed)
        return fail(self, 0, err);
    if (cap == 0)       // 0 would read as "end"; a caller bug, not the input's
        return gx_error_set(err, "%s: gx_reader_next needs room for a record",
                            self->in->path);
    if (weights && self->kind != GX_LINES_EDGES)   // a caller bug too
        return gx_error_set(err, "%s: weights are kept only for edge lines",
                            self->in->path);
    size_t n = 0;
    while (n < cap && !self->finished) {
        if (!self->f) {
            if (open_next(self) < 0)
                return fail(self, n, err);
            continue;
        }
        if (self->start < self->scan_end) {
            size_t used = 0;
            uint64_t lines = 0;
            gx_error_t problem;
            ssize_t r = gx_scan(self->kind, self->buf + self->start,
                                self->scan_end - self->start, out + n,
                                weights ? weights + n : NULL, cap - n,
                                &used, &lines, &problem);
            self->start += used;
            self->lines += lines;
            if (r < 0) {
                bad_line(self, &problem);
                return fail(self, n, err);
            }
            n += (size_t) r;
            continue;
        }
        if (self->last_region) {
            close_file(self);
            continue;
        }
        if (find_lines(self) < 0)
            return fail(self, n, err);
    }
    update_consumed(self);
    return (ssize_t) n;
}

// Bytes of input behind this reader, comparable with gx_input_bytes: for a
// split, the part of its byte range passed (the splits sum to the input
// size at the end); for a .gz, compressed bytes; for stdin or a pipe, whose
// size is unknown, decompressed bytes. Updated once per gx_reader_next, and
// safe to read from another thread (a progress meter).
uint64_t
gx_reader_bytes(const gx_reader_t *self)
{
    return atomic_load_explicit(&((gx_reader_t *) self)->consumed, memory_order_relaxed);
}
