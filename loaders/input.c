// loaders/input.c: inputs (file, directory of part files, .gz, stdin) and
// the readers that turn one byte range of them into edges. Shaped by the
// parallel load: W workers each read their own slice of the plain files
// with pread, knowing nothing of the others, so a slice must find its first
// whole line by itself and must never pay for line numbers it does not
// report (they are counted from the file start only when a line is bad).
// Compressed files and stdin cannot be entered in the middle; they are read
// front to back by a single reader that counts lines as it goes; stdin and
// pipes go through zlib's transparent mode, so gzip data there works too.
#define _GNU_SOURCE                         // memrchr, pread
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "loaders/loader.h"

// Read buffer of a reader, grown (doubled) only for a line longer than it.
// Several MB keeps syscalls rare; overridable to test the edge cases.
#ifndef GX_LOADER_BUFSIZE
#define GX_LOADER_BUFSIZE (4u << 20)
#endif
// Past its range end a reader only finishes one line, so it reads in small
// steps there instead of a whole buffer that the next slice will read again.
#define TAIL_STEP (64u << 10)
#define GZ_BUFSIZE (256u << 10)
#define STDIN_NAME "stdin"

typedef enum how {
    HOW_PLAIN = 0,                          // regular file: pread, splittable
    HOW_GZ,                                 // FILE.gz: gzread, must be gzip
    HOW_STREAM,                             // stdin, pipe: gzread, gzip or not
} how_t;

typedef struct file {
    char    *path;                          // as named in errors
    uint64_t size;                          // bytes at open (compressed for .gz)
    uint64_t base;                          // offset in the concatenation
    how_t    how;
} file_t;

struct gx_input {
    char       *path;
    file_t     *files;
    size_t      nfiles;
    uint64_t    total;
    bool        splittable;
    bool        is_stdin;
    // The one thing that changes after open: stdin can be handed to one
    // reader only. Atomic because readers are made in worker threads.
    atomic_bool stdin_taken;
};

// --- Inputs ----------------------------------------------------------------

static bool
ends_with_gz(const char *name)
{
    size_t n = strlen(name);
    return n >= 3 && strcmp(name + n - 3, ".gz") == 0;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

// Fills f for the file at path (stat already done). Opens it once so that
// an unreadable file is reported now, naming it, and not by some worker.
static int
add_file(file_t *f, char *path, const struct stat *st, gx_error_t *err)
{
    f->path = path;
    if (S_ISREG(st->st_mode)) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return gx_error_set(err, "%s: %s", path, strerror(errno));
        close(fd);
        f->size = (uint64_t) st->st_size;
        f->how = ends_with_gz(path) ? HOW_GZ : HOW_PLAIN;
    } else {
        // A FIFO or device (e.g. <(zcat x) as /dev/fd/63): opening it could
        // block or consume it, so only check the permission.
        if (access(path, R_OK) < 0)
            return gx_error_set(err, "%s: %s", path, strerror(errno));
        f->size = 0;
        f->how = ends_with_gz(path) ? HOW_GZ : HOW_STREAM;
    }
    return 0;
}

static int
list_directory(gx_input_t *self, const char *dir, gx_error_t *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return gx_error_set(err, "%s: %s", dir, strerror(errno));
    size_t dlen = strlen(dir);
    const char *sep = (dlen > 0 && dir[dlen - 1] == '/') ? "" : "/";
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        // Hidden files and Hadoop/Spark markers (_SUCCESS, _logs) are not data.
        if (e->d_name[0] == '.' || e->d_name[0] == '_')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **grown = realloc(names, ncap * sizeof *names);
            if (!grown) {
                rc = gx_error_set(err, "%s: out of memory", dir);
                break;
            }
            names = grown;
            cap = ncap;
        }
        size_t len = dlen + strlen(sep) + strlen(e->d_name) + 1;
        if (!(names[n] = malloc(len))) {
            rc = gx_error_set(err, "%s: out of memory", dir);
            break;
        }
        snprintf(names[n], len, "%s%s%s", dir, sep, e->d_name);
        n++;
        errno = 0;
    }
    if (rc == 0 && errno != 0)
        rc = gx_error_set(err, "%s: %s", dir, strerror(errno));
    closedir(d);
    if (rc == 0 && n > 0) {
        // Same prefix on every name, so this is the order of the bare names.
        qsort(names, n, sizeof *names, cmp_names);
        if (!(self->files = calloc(n, sizeof *self->files)))
            rc = gx_error_set(err, "%s: out of memory", dir);
    }
    size_t i = 0;
    for (; rc == 0 && i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) < 0) {
            rc = gx_error_set(err, "%s: %s", names[i], strerror(errno));
            break;
        }
        if (!S_ISREG(st.st_mode)) {          // subdirectories, sockets: skipped
            free(names[i]);
            continue;
        }
        file_t *f = &self->files[self->nfiles];
        if (add_file(f, names[i], &st, err) < 0) {
            rc = -1;
            break;
        }
        self->nfiles++;                     // owns names[i] from here on
    }
    for (; i < n; i++)                      // the names not handed over
        free(names[i]);
    free(names);
    if (rc == 0 && self->nfiles == 0)
        rc = gx_error_set(err, "%s: no input files", dir);
    return rc;
}

gx_input_t *
gx_input_open(const char *path, gx_error_t *err)
{
    gx_input_t *self = calloc(1, sizeof *self);
    if (!self || !(self->path = strdup(path))) {
        gx_error_set(err, "%s: out of memory", path);
        free(self);
        return NULL;
    }
    atomic_init(&self->stdin_taken, false);
    int rc = 0;
    struct stat st;
    if (strcmp(path, "-") == 0) {
        self->is_stdin = true;
        self->files = calloc(1, sizeof *self->files);
        char *name = strdup(STDIN_NAME);
        if (!self->files || !name) {
            free(name);
            rc = gx_error_set(err, "%s: out of memory", path);
        } else {
            self->files[0] = (file_t) {.path = name, .how = HOW_STREAM};
            self->nfiles = 1;
        }
    } else if (stat(path, &st) < 0) {
        rc = gx_error_set(err, "%s: %s", path, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        rc = list_directory(self, path, err);
    } else {
        char *name = strdup(path);
        self->files = calloc(1, sizeof *self->files);
        if (!self->files || !name) {
            free(name);
            rc = gx_error_set(err, "%s: out of memory", path);
        } else if (add_file(&self->files[0], name, &st, err) < 0) {
            free(name);
            rc = -1;
        } else {
            self->nfiles = 1;
        }
    }
    if (rc < 0) {
        gx_input_destroy(&self);
        return NULL;
    }
    self->splittable = true;
    for (size_t i = 0; i < self->nfiles; i++) {
        self->files[i].base = self->total;
        self->total += self->files[i].size;
        if (self->files[i].how != HOW_PLAIN)
            self->splittable = false;
    }
    return self;
}

void
gx_input_destroy(gx_input_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gx_input_t *self = *self_p;
    for (size_t i = 0; i < self->nfiles; i++)
        free(self->files[i].path);
    free(self->files);
    free(self->path);
    free(self);
    *self_p = NULL;
}

bool
gx_input_splittable(const gx_input_t *self)
{
    return self->splittable;
}

uint64_t
gx_input_bytes(const gx_input_t *self)
{
    return self->total;
}

const char *
gx_input_path(const gx_input_t *self)
{
    return self->path;
}

// --- Readers ---------------------------------------------------------------
//
// A reader walks the input's files in order. For a plain file it owns the
// lines whose first byte lies in [a, b), the part of its split's range in
// that file; a gz file or stream it reads whole (only one reader exists).
// The buffer holds file bytes [buf_off, buf_off + fill); lines from `start`
// on are not yet scanned, and [start, scan_end) are whole lines of ours.

struct gx_reader {
    const gx_input_t *in;
    gx_line_kind_t    kind;
    uint64_t          lo, hi;               // split's range in the concatenation
    size_t            next_file;            // index of the file to open next
    bool              finished;             // every file done

    // The current file.
    const file_t     *f;                    // NULL between files
    int               fd;
    gzFile            gz;
    uint64_t          b;                    // owned lines start before b
    uint64_t          begin;                // offset of the first owned line
    uint64_t          lines;                // LFs scanned since begin
    bool              skipping;             // looking for the first line start
    bool              eof;                  // the file's bytes are all in buf
    bool              last_region;          // scan_end is the end of our lines
    char              stream_error[128];    // gz: problem met at eof, or ""

    char             *buf;
    size_t            cap, fill, start, scan_end;
    uint64_t          buf_off;

    uint64_t          done_bytes;           // streams: bytes of closed files
    _Atomic uint64_t  consumed;             // for gx_reader_bytes, any thread
    bool              failed;
    gx_error_t        error;                // repeated by every call after -1
};

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
    gx_reader_t *self = calloc(1, sizeof *self);
    if (!self || !(self->buf = malloc(GX_LOADER_BUFSIZE))) {
        gx_error_set(err, "%s: out of memory", in->path);
        free(self);
        return NULL;
    }
    if (in->is_stdin && atomic_exchange(&((gx_input_t *) in)->stdin_taken, true)) {
        gx_error_set(err, "%s: standard input can be read only once", in->path);
        free(self->buf);
        free(self);
        return NULL;
    }
    self->in = in;
    self->kind = kind;
    self->cap = GX_LOADER_BUFSIZE;
    self->lo = range_point(in->total, split, nsplits);
    self->hi = range_point(in->total, split + 1, nsplits);
    self->fd = -1;
    atomic_init(&self->consumed, 0);
    return self;
}

static void
close_file(gx_reader_t *self)
{
    if (self->fd >= 0)
        close(self->fd);
    if (self->gz)
        gzclose(self->gz);
    // Only whole-file reads (one reader) use done_bytes: compressed size
    // for a .gz, decompressed bytes for a stream, whose size is unknown.
    if (self->f)
        self->done_bytes += self->f->how == HOW_STREAM
                          ? self->buf_off + self->fill : self->f->size;
    self->fd = -1;
    self->gz = NULL;
    self->f = NULL;
}

void
gx_reader_destroy(gx_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gx_reader_t *self = *self_p;
    close_file(self);
    free(self->buf);
    free(self);
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
        if (self->f && self->f->how == HOW_GZ) {
            z_off_t off = gzoffset(self->gz);
            v += off < 0 ? 0 : (uint64_t) off > self->f->size ? self->f->size
                                                              : (uint64_t) off;
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

// Opens the next file that holds lines of this split; sets self->f, or
// leaves it NULL and sets finished when there is none.
static int
open_next(gx_reader_t *self)
{
    const gx_input_t *in = self->in;
    while (self->next_file < in->nfiles) {
        const file_t *f = &in->files[self->next_file++];
        uint64_t a = 0, b = UINT64_MAX;
        if (f->how == HOW_PLAIN) {
            uint64_t from = self->lo > f->base ? self->lo : f->base;
            uint64_t to = self->hi < f->base + f->size ? self->hi : f->base + f->size;
            if (from >= to)
                continue;                   // empty, or wholly another split's
            a = from - f->base;
            b = to - f->base;
        }
        self->fd = -1;
        self->gz = NULL;
        if (f->how == HOW_STREAM && self->in->is_stdin) {
            // dup so that closing the gzFile leaves the process's stdin alone.
            int fd = dup(STDIN_FILENO);
            if (fd < 0)
                return gx_error_set(&self->error, "%s: %s", f->path, strerror(errno));
            if (!(self->gz = gzdopen(fd, "rb"))) {
                close(fd);
                return gx_error_set(&self->error, "%s: out of memory", f->path);
            }
        } else if (f->how != HOW_PLAIN) {
            if (!(self->gz = gzopen(f->path, "rb")))
                return gx_error_set(&self->error, "%s: %s", f->path,
                                    errno ? strerror(errno) : "out of memory");
        } else if ((self->fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0) {
            return gx_error_set(&self->error, "%s: %s", f->path, strerror(errno));
        } else {
            // A hint for cold files: read ahead of us. Failure costs nothing.
            (void) posix_fadvise(self->fd, (off_t) a, 0, POSIX_FADV_SEQUENTIAL);
        }
        if (self->gz) {
            gzbuffer(self->gz, GZ_BUFSIZE);
            // gzdirect looks at the first bytes; a .gz that is not gzip is
            // an error rather than text, a stream may be either.
            if (f->how == HOW_GZ && f->size > 0 && gzdirect(self->gz)) {
                gzclose(self->gz);
                self->gz = NULL;
                return gx_error_set(&self->error, "%s: not in gzip format", f->path);
            }
        }
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
        self->stream_error[0] = '\0';
        return 0;
    }
    self->finished = true;
    return 0;
}

// Reads more of the current file into the buffer after dropping the
// scanned part; doubles the buffer when one line fills it.
static int
read_more(gx_reader_t *self)
{
    const file_t *f = self->f;
    if (self->start > 0) {
        memmove(self->buf, self->buf + self->start, self->fill - self->start);
        self->buf_off += self->start;
        self->fill -= self->start;
        self->start = self->scan_end = 0;
    }
    if (self->fill == self->cap) {
        if (self->cap > SIZE_MAX / 2)
            return gx_error_set(&self->error, "%s: line too long", f->path);
        char *grown = realloc(self->buf, self->cap * 2);
        if (!grown)
            return gx_error_set(&self->error, "%s: out of memory for a line of "
                                "%zu bytes", f->path, self->fill);
        self->buf = grown;
        self->cap *= 2;
    }
    size_t room = self->cap - self->fill;
    if (self->gz) {
        if (room > (1u << 30))
            room = 1u << 30;                // gzread counts in int
        int r = gzread(self->gz, self->buf + self->fill, (unsigned) room);
        int zerr = Z_OK;
        const char *msg = r <= 0 ? gzerror(self->gz, &zerr) : NULL;
        if (r > 0) {
            self->fill += (size_t) r;
        } else if (zerr == Z_ERRNO) {
            return gx_error_set(&self->error, "%s: %s", f->path, strerror(errno));
        } else if (zerr == Z_MEM_ERROR) {
            return gx_error_set(&self->error, "%s: out of memory", f->path);
        } else {
            // Z_BUF_ERROR: the input ended inside a gzip member (zlib's
            // "unexpected end of file"); anything else: corrupt data. Both
            // are reported after the whole lines before them are read.
            self->eof = true;
            if (zerr == Z_BUF_ERROR) {
                snprintf(self->stream_error, sizeof self->stream_error,
                         "truncated gzip stream");
            } else if (zerr != Z_OK) {
                // zlib says "PATH: what"; the path is ours to add.
                const char *what = msg ? strrchr(msg, ':') : NULL;
                snprintf(self->stream_error, sizeof self->stream_error,
                         "corrupt gzip stream (%s)", what ? what + 2 : "bad data");
            }
        }
        return 0;
    }
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
        return gx_error_set(&self->error, "%s: %s", f->path, strerror(errno));
    if (r == 0)
        self->eof = true;                   // shrank since open: end it here
    self->fill += (size_t) r;
    return 0;
}

// Sets scan_end past the next run of whole lines that are ours, or marks
// the file done (f stays set; the caller closes it when start == scan_end
// and last_region is set), or reads more. One step per call.
static int
find_lines(gx_reader_t *self)
{
    if (self->skipping) {
        const char *nl = memchr(self->buf + self->start, '\n', self->fill - self->start);
        if (nl) {
            self->start = (size_t) (nl + 1 - self->buf);
            self->skipping = false;
            self->begin = self->buf_off + self->start;
            self->scan_end = self->start;
            return 0;
        }
        self->start = self->scan_end = self->fill;
        if (self->eof) {                    // no line starts in our part
            self->last_region = true;
            return 0;
        }
        return read_more(self);
    }
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
    if (self->eof) {
        if (self->stream_error[0])
            return gx_error_set(&self->error, "%s:%" PRIu64 ": %s", self->f->path,
                                self->lines + 1, self->stream_error);
        self->scan_end = self->fill;
        self->last_region = true;
        return 0;
    }
    return read_more(self);
}

// LFs in the file before offset `upto`: the line number base of a reader
// that started mid-file. Paid only when reporting a bad line.
static int
count_lines(gx_reader_t *self, uint64_t upto, uint64_t *count)
{
    char chunk[64 << 10];
    uint64_t pos = 0, n = 0;
    while (pos < upto) {
        size_t want = upto - pos < sizeof chunk ? (size_t) (upto - pos) : sizeof chunk;
        ssize_t r = pread(self->fd, chunk, want, (off_t) pos);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return gx_error_set(&self->error, "%s: %s", self->f->path,
                                r < 0 ? strerror(errno) : "file shrank while reading");
        for (const char *p = chunk, *e = chunk + r;
             (p = memchr(p, '\n', (size_t) (e - p))) != NULL; p++)
            n++;
        pos += (uint64_t) r;
    }
    *count = n;
    return 0;
}

ssize_t
gx_reader_next(gx_reader_t *self, gx_edge_t *out, size_t cap, gx_error_t *err)
{
    if (self->failed)
        return fail(self, 0, err);
    if (cap == 0)       // 0 would read as "end"; a caller bug, not the input's
        return gx_error_set(err, "%s: gx_reader_next needs room for a record",
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
                                self->scan_end - self->start, out + n, cap - n,
                                &used, &lines, &problem);
            self->start += used;
            self->lines += lines;
            if (r < 0) {
                uint64_t before = 0;
                if (self->begin > 0 && count_lines(self, self->begin, &before) < 0)
                    return fail(self, n, err);
                gx_error_set(&self->error, "%s:%" PRIu64 ": %s", self->f->path,
                             before + self->lines + 1, problem.msg);
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
