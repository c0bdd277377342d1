// loaders/gzip.c: gzip files and streams, read front to back by one reader
// that inflates straight into its window.
//
// zlib's gzread reads concatenated members, but takes any bytes after a
// member that do not start with the gzip magic for the end of the file and
// drops them without a word; and its transparent mode would read a .gz FIFO
// of plain text as text. So we drive inflate ourselves. After a member comes
// another member (1f 8b), the end, or zeros up to the end: tape blocking and
// some archivers pad that way, gzip -d accepts it (warning only with -v),
// and zeros hold no lines, so we skip them too. Anything else is an error
// naming its offset in the compressed file. A stream (stdin, a pipe) that
// does not start with the magic is plain text and passed through as is
// (stream.c).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "loaders/private.h"

// Compressed bytes read per read(2); inflate writes straight into the
// reader's buffer, so this is the only extra copy of the data.
#define GZ_BUFSIZE (256u << 10)

// zlib's inflate state and its 32 KiB window come from the input's memory
// too (zlib asks through these), so they are counted with the rest.
static voidpf
z_alloc(voidpf opaque, uInt items, uInt size)
{
    const gx_loader_mem_t *m = opaque;
    if (size && items > SIZE_MAX / size)
        return Z_NULL;
    return m->alloc((size_t) items * size);
}

static void
z_free(voidpf opaque, voidpf p)
{
    const gx_loader_mem_t *m = opaque;
    m->release(p);
}

uint64_t
gx_gz_pos(const gx_reader_t *self)
{
    return self->gz.buf_off + (uint64_t) (self->gz.zs.next_in - self->gz.buf);
}

// The descriptor of f: stdin's copy, or f opened by its path.
static int
open_fd(gx_reader_t *self, const gx_file_t *f)
{
    if (f->access == GX_ACCESS_STREAM && self->in->is_stdin) {
        // A copy, so that close_file leaves the process's stdin alone.
        self->fd = fcntl(self->in->stream_fd, F_DUPFD_CLOEXEC, 0);
    } else if ((self->fd = open(f->path, O_RDONLY | O_CLOEXEC)) >= 0) {
        (void) posix_fadvise(self->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    if (self->fd < 0)
        return gx_error_set(&self->error, "%s: %s", f->name, strerror(errno));
    return 0;
}

int
gx_gz_open(gx_reader_t *self, const gx_file_t *f)
{
    const gx_loader_mem_t *m = &self->in->mem;
    if (!self->gz.buf && !(self->gz.buf = m->alloc(GZ_BUFSIZE)))
        return gx_error_set(&self->error, "%s: out of memory", f->name);
    memset(&self->gz.zs, 0, sizeof self->gz.zs);
    self->gz.zs.zalloc = z_alloc;
    self->gz.zs.zfree = z_free;
    self->gz.zs.opaque = (voidpf) m;
    // 15 + 16: a 32 KB window, gzip wrapper only (the magic is ours to check).
    if (inflateInit2(&self->gz.zs, 15 + 16) != Z_OK)
        return gx_error_set(&self->error, "%s: out of memory", f->name);
    self->gz.live = true;                   // gx_gz_close ends it from here on
    self->gz.zs.next_in = self->gz.buf;
    self->gz.zs.avail_in = 0;
    self->gz.buf_off = 0;
    self->gz.eof = false;
    self->gz.corrupt = false;
    self->gz.member_out = 0;
    self->gz.state = UNZ_FIRST;
    return open_fd(self, f);
}

void
gx_gz_close(gx_reader_t *self)
{
    if (self->gz.live)
        inflateEnd(&self->gz.zs);
    self->gz.live = false;
}

// Reads more compressed bytes behind those inflate has not taken yet. One
// read(2): a pipe returns what it has, and the caller loops.
static int
z_refill(gx_reader_t *self)
{
    size_t keep = self->gz.zs.avail_in;
    size_t taken = (size_t) (self->gz.zs.next_in - self->gz.buf);
    if (keep > 0 && taken > 0)
        memmove(self->gz.buf, self->gz.zs.next_in, keep);
    self->gz.buf_off += taken;
    self->gz.zs.next_in = self->gz.buf;
    ssize_t r = gx_stream_read(self, self->gz.buf + keep, GZ_BUFSIZE - keep);
    if (r < 0)
        return gx_error_set(&self->error, "%s: %s", self->f->name, strerror(errno));
    if (r == 0)
        self->gz.eof = true;
    self->gz.zs.avail_in = (uInt) (keep + (size_t) r);
    return 0;
}

// Damage found in the compressed bytes (private.h): `at` its compressed
// offset, or NO_OFFSET to name the line it cuts.
static void
z_damage(gx_reader_t *self, uint64_t at, const char *what, const char *detail)
{
    if (detail)
        snprintf(self->damage, sizeof self->damage, "%s (%s)", what, detail);
    else
        snprintf(self->damage, sizeof self->damage, "%s", what);
    self->damage_at = at;
    self->eof = true;
}

// Bytes after the last member: zeros up to the end are padding and fine;
// any other byte makes them all an error at their first byte.
static int
z_trailing(gx_reader_t *self)
{
    uint64_t at = gx_gz_pos(self);
    for (;;) {
        const unsigned char *p = self->gz.zs.next_in;
        size_t n = self->gz.zs.avail_in, i = 0;
        while (i < n && p[i] == 0)
            i++;
        if (i < n) {
            z_damage(self, at, "data after the last gzip member is not gzip", NULL);
            return 0;
        }
        self->gz.zs.next_in += n;
        self->gz.zs.avail_in = 0;
        if (self->gz.eof) {
            self->eof = true;
            return 0;
        }
        if (z_refill(self) < 0)
            return -1;
    }
}

// At the start of the file or after a member: what comes next?
static int
z_boundary(gx_reader_t *self)
{
    while (self->gz.zs.avail_in < 2 && !self->gz.eof)
        if (z_refill(self) < 0)
            return -1;
    const unsigned char *p = self->gz.zs.next_in;
    size_t n = self->gz.zs.avail_in;
    if (n == 0) {                           // an empty file, or after the last member
        self->eof = true;
        return 0;
    }
    // A lone 1f at the end is a member cut short, and inflate says so.
    if (p[0] == 0x1f && (n == 1 || p[1] == 0x8b)) {
        if (self->gz.state == UNZ_NEXT && inflateReset(&self->gz.zs) != Z_OK)
            return gx_error_set(&self->error, "%s: inflateReset failed", self->f->name);
        self->gz.state = UNZ_MEMBER;
        return 0;
    }
    if (self->gz.state == UNZ_NEXT)
        return z_trailing(self);
    if (self->f->access == GX_ACCESS_GZIP)
        return gx_error_set(&self->error, "%s: not in gzip format", self->f->name);
    self->gz.state = UNZ_PLAIN;
    return 0;
}

// Inflates into out[*got, room) until it is full, the member ends, or the
// compressed bytes read so far run out.
static int
z_inflate(gx_reader_t *self, char *out, size_t room, size_t *got)
{
    z_stream *z = &self->gz.zs;
    if (z->avail_in == 0 && !self->gz.eof && z_refill(self) < 0)
        return -1;
    size_t want = room - *got;
    z->next_out = (Bytef *) out + *got;
    z->avail_out = want > (1u << 30) ? 1u << 30 : (uInt) want;   // uInt counts
    uInt before = z->avail_out;
    int rc = inflate(z, Z_NO_FLUSH);
    *got += before - z->avail_out;
    if (rc == Z_STREAM_END)
        self->gz.state = UNZ_NEXT;
    else if (rc == Z_MEM_ERROR)
        return gx_error_set(&self->error, "%s: out of memory", self->f->name);
    else if (rc == Z_BUF_ERROR && z->avail_in == 0 && self->gz.eof)
        z_damage(self, NO_OFFSET, "truncated gzip stream", NULL);
    else if (rc != Z_OK && rc != Z_BUF_ERROR) { // BUF: needs input, read next round
        z_damage(self, NO_OFFSET, "corrupt gzip stream", z->msg ? z->msg : "bad data");
        self->gz.corrupt = true;
    }
    return 0;
}

// Inflate can put out damaged bytes before it notices the damage (at the
// latest, the CRC at the member's end does), so a bad line inside a member
// may be the damage. Inflates the rest of the member into scratch space to
// tell: true when the member is corrupt. A line that starts in an earlier
// member, whose CRC checked out, stands. Paid only when reporting a bad line.
bool
gx_gz_member_corrupt(gx_reader_t *self, uint64_t line_off)
{
    char scratch[64 << 10];
    if (self->f->access == GX_ACCESS_RANGE || line_off < self->gz.member_out)
        return false;
    while (self->gz.state == UNZ_MEMBER && !self->eof) {
        size_t got = 0;
        if (z_inflate(self, scratch, sizeof scratch, &got) < 0)
            return false;                   // a read error: the bad line stands
    }
    return self->gz.corrupt;
}

// Fills buf[fill, fill + room) from a gzip file or a stream, or up to the
// end; like gzread, but every member is read and nothing after is dropped.
int
gx_gz_read(gx_reader_t *self, size_t room)
{
    char *out = self->buf + self->fill;
    size_t got = 0;
    int rc = 0;
    while (rc == 0 && got < room && !self->eof) {
        switch (self->gz.state) {
        case UNZ_NEXT:
            // Where the next member's text will start, if one comes.
            self->gz.member_out = self->buf_off + self->fill + got;
            rc = z_boundary(self);
            break;
        case UNZ_FIRST:
            rc = z_boundary(self);
            break;
        case UNZ_MEMBER:
            rc = z_inflate(self, out, room, &got);
            break;
        case UNZ_PLAIN:
            rc = gx_stream_plain(self, out, room, &got);
            break;
        }
    }
    self->fill += got;
    return rc;
}
