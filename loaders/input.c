// loaders/input.c: inputs (file, directory of part files, .gz, stdin) and
// the readers that turn one byte range of them into edges. Shaped by the
// parallel load: W workers each read their own slice of the plain files
// with pread, knowing nothing of the others, so a slice must find its first
// whole line by itself and must never pay for line numbers it does not
// report (they are counted from the file start only when a line is bad).
// Compressed files and stdin cannot be entered in the middle; they are read
// front to back by a single reader that counts lines as it goes; stdin and
// pipes may hold plain text or gzip, told apart by their first two bytes.
#define _GNU_SOURCE                         // memrchr, pread
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
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
// Compressed bytes read per read(2); inflate writes straight into the
// reader's buffer, so this is the only extra copy of the data.
#define GZ_BUFSIZE (256u << 10)
#define STDIN_NAME "stdin"

typedef enum how {
    HOW_PLAIN = 0,                          // regular file: pread, splittable
    HOW_GZ,                                 // FILE.gz: inflate, must be gzip
    HOW_STREAM,                             // stdin, pipe: inflate, or plain text
} how_t;

// Where a gzip file or stream reader is (see "gzip and streams" below).
typedef enum unz {
    UNZ_FIRST = 0,                          // at byte 0: gzip, or plain (streams)
    UNZ_MEMBER,                             // inside a gzip member
    UNZ_NEXT,                               // after a member: member, zeros or end
    UNZ_PLAIN,                              // a stream that is not gzip
} unz_t;

typedef struct file {
    char    *path;                          // to open
    char    *name;                          // in errors: path, a part's own name quoted
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
    bool        is_stdin;               // or another stream, read once
    int         stream_fd;              // what a stream reads (stdin: 0)
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

// Fills f for the file at path (stat already done), taking path and name.
// Opens it once so that an unreadable file is reported now, naming it, and
// not by some worker.
static int
add_file(file_t *f, char *path, char *name, const struct stat *st, gx_error_t *err)
{
    f->path = path;
    f->name = name;
    if (S_ISREG(st->st_mode)) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return gx_error_set(err, "%s: %s", name, strerror(errno));
        close(fd);
        f->size = (uint64_t) st->st_size;
        f->how = ends_with_gz(path) ? HOW_GZ : HOW_PLAIN;
    } else {
        // A FIFO or device (e.g. <(zcat x) as /dev/fd/63): opening it could
        // block or consume it, so only check the permission.
        if (access(path, R_OK) < 0)
            return gx_error_set(err, "%s: %s", name, strerror(errno));
        f->size = 0;
        f->how = ends_with_gz(path) ? HOW_GZ : HOW_STREAM;
    }
    return 0;
}

// The entries of dir that may hold data, as paths "dir/entry" sorted by
// entry name. Hidden files and Hadoop/Spark markers (_SUCCESS, _logs,
// _temporary) start with '.' or '_' and are not data.
static int
dir_entries(const char *dir, const char *sep, char ***names_p, size_t *n_p,
            gx_error_t *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return gx_error_set(err, "%s: %s", dir, strerror(errno));
    size_t dlen = strlen(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
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
    // Same prefix on every name, so this is the order of the bare names.
    if (n > 0)
        qsort(names, n, sizeof *names, cmp_names);
    *names_p = names;
    *n_p = n;
    return rc;
}

// A part's name in messages: the directory as the user typed it, then the
// entry's bytes quoted, as they come from whoever made the files.
static char *
part_name(const char *path, size_t entry_at)
{
    size_t n = strlen(path + entry_at), cap = entry_at + 4 * n + 4;
    char *name = malloc(cap);
    if (name) {
        memcpy(name, path, entry_at);
        gx_quote(name + entry_at, cap - entry_at, path + entry_at, n, SIZE_MAX);
    }
    return name;
}

// Lists the part files of dir. Every entry that may be data must be a
// regular file: a subdirectory (a Hive-style "key=value/" partition) or a
// FIFO would otherwise be skipped, and its edges lost without a word.
static int
list_directory(gx_input_t *self, const char *dir, gx_error_t *err)
{
    size_t dlen = strlen(dir);
    const char *sep = (dlen > 0 && dir[dlen - 1] == '/') ? "" : "/";
    char **names = NULL;
    size_t n = 0, i = 0;
    int rc = dir_entries(dir, sep, &names, &n, err);
    if (rc == 0 && n > 0 && !(self->files = calloc(n, sizeof *self->files)))
        rc = gx_error_set(err, "%s: out of memory", dir);
    for (; rc == 0 && i < n; i++) {
        char *name = part_name(names[i], dlen + strlen(sep));
        struct stat st;
        if (!name)
            rc = gx_error_set(err, "%s: out of memory", dir);
        else if (stat(names[i], &st) < 0)
            rc = gx_error_set(err, "%s: %s", name, strerror(errno));
        else if (!S_ISREG(st.st_mode))
            rc = gx_error_set(err, "%s: %s, so it would not be read (names starting "
                              "with '_' or '.' are skipped)", name,
                              S_ISDIR(st.st_mode) ? "a subdirectory" : "not a regular file");
        else if (add_file(&self->files[self->nfiles], names[i], name, &st, err) < 0)
            rc = -1;
        if (rc < 0) {
            free(name);
            break;
        }
        self->nfiles++;                     // owns names[i] and name from here on
    }
    for (; i < n; i++)                      // the paths not handed over
        free(names[i]);
    free(names);
    if (rc == 0 && self->nfiles == 0)
        rc = gx_error_set(err, "%s: no input files", dir);
    return rc;
}

gx_input_t *
gx_input_open_stream(const char *name, int fd, gx_error_t *err)
{
    gx_input_t *self = calloc(1, sizeof *self);
    char *path = strdup(name), *copy = strdup(name), *fname = strdup(name);
    file_t *files = calloc(1, sizeof *files);
    if (!self || !path || !copy || !fname || !files) {
        free(self); free(path); free(copy); free(fname); free(files);
        gx_error_set(err, "%s: out of memory", name);
        return NULL;
    }
    atomic_init(&self->stdin_taken, false);
    self->path = path;
    self->is_stdin = true;
    self->stream_fd = fd;
    self->files = files;
    self->files[0] = (file_t) {.path = copy, .name = fname, .how = HOW_STREAM};
    self->nfiles = 1;
    return self;
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
        self->stream_fd = STDIN_FILENO;
        self->files = calloc(1, sizeof *self->files);
        char *copy = strdup(STDIN_NAME), *name = strdup(STDIN_NAME);
        if (!self->files || !copy || !name) {
            free(copy);
            free(name);
            rc = gx_error_set(err, "%s: out of memory", path);
        } else {
            self->files[0] = (file_t) {.path = copy, .name = name, .how = HOW_STREAM};
            self->nfiles = 1;
        }
    } else if (stat(path, &st) < 0) {
        rc = gx_error_set(err, "%s: %s", path, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        rc = list_directory(self, path, err);
    } else {
        // The user's own argument: named in messages as typed, as cli/ does.
        char *copy = strdup(path), *name = strdup(path);
        self->files = calloc(1, sizeof *self->files);
        if (!self->files || !copy || !name) {
            free(copy);
            free(name);
            rc = gx_error_set(err, "%s: out of memory", path);
        } else if (add_file(&self->files[0], copy, name, &st, err) < 0) {
            free(copy);
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
    for (size_t i = 0; i < self->nfiles; i++) {
        free(self->files[i].path);
        free(self->files[i].name);
    }
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
    uint64_t          b;                    // owned lines start before b
    uint64_t          begin;                // offset of the first owned line
    uint64_t          lines;                // LFs scanned since begin
    bool              skipping;             // looking for the first line start
    bool              eof;                  // the file's bytes are all in buf
    bool              last_region;          // scan_end is the end of our lines
    char              stream_error[128];    // gz: problem met at eof, or ""
    uint64_t          stream_error_at;      // its compressed offset, or NO_OFFSET

    // A gzip file or stream: inflate reads zbuf and writes into buf.
    z_stream          z;
    bool              z_live;               // z needs inflateEnd
    unz_t             unz;
    unsigned char    *zbuf;                 // GZ_BUFSIZE, made at first use
    uint64_t          zbuf_off;             // file offset of zbuf[0]
    bool              z_eof;                // read(2) has said end of file
    bool              z_corrupt;            // stream_error is inflate's data error
    uint64_t          z_member_out;         // text offset where this member began

    // Set by the caller: when it turns nonzero, a read from a stream that
    // has nothing to give stops waiting (another part of the run failed).
    const atomic_uint *cancel;

    char             *buf;
    size_t            cap, fill, start, scan_end;
    uint64_t          buf_off;

    uint64_t          done_bytes;           // streams: bytes of closed files
    _Atomic uint64_t  consumed;             // for gx_reader_bytes, any thread
    bool              failed;
    gx_error_t        error;                // repeated by every call after -1
};

#define NO_OFFSET UINT64_MAX                // stream_error_at: name the line

// Offset in the compressed file of the next byte inflate will take.
static uint64_t
z_pos(const gx_reader_t *self)
{
    return self->zbuf_off + (uint64_t) (self->z.next_in - self->zbuf);
}

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
    if (self->z_live)
        inflateEnd(&self->z);
    self->z_live = false;
    // Only whole-file reads (one reader) use done_bytes: compressed size
    // for a .gz, decompressed bytes for a stream, whose size is unknown.
    if (self->f)
        self->done_bytes += self->f->how == HOW_STREAM
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
    close_file(self);
    free(self->buf);
    free(self->zbuf);
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
            uint64_t off = z_pos(self);
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

// Opens f (a .gz or a stream) for reading through inflate.
static int
z_open(gx_reader_t *self, const file_t *f)
{
    if (!self->zbuf && !(self->zbuf = malloc(GZ_BUFSIZE)))
        return gx_error_set(&self->error, "%s: out of memory", f->name);
    memset(&self->z, 0, sizeof self->z);
    // 15 + 16: a 32 KB window, gzip wrapper only (the magic is ours to check).
    if (inflateInit2(&self->z, 15 + 16) != Z_OK)
        return gx_error_set(&self->error, "%s: out of memory", f->name);
    self->z_live = true;                    // close_file ends it from here on
    self->z.next_in = self->zbuf;
    self->z.avail_in = 0;
    self->zbuf_off = 0;
    self->z_eof = false;
    self->z_corrupt = false;
    self->z_member_out = 0;
    self->unz = UNZ_FIRST;
    if (f->how == HOW_STREAM && self->in->is_stdin) {
        // A copy, so that close_file leaves the process's stdin alone.
        self->fd = fcntl(self->in->stream_fd, F_DUPFD_CLOEXEC, 0);
    } else if ((self->fd = open(f->path, O_RDONLY | O_CLOEXEC)) >= 0) {
        (void) posix_fadvise(self->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    if (self->fd < 0)
        return gx_error_set(&self->error, "%s: %s", f->name, strerror(errno));
    return 0;
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
        self->fd = -1;
        if (f->how == HOW_PLAIN) {
            uint64_t from = self->lo > f->base ? self->lo : f->base;
            uint64_t to = self->hi < f->base + f->size ? self->hi : f->base + f->size;
            if (from >= to)
                continue;                   // empty, or wholly another split's
            a = from - f->base;
            b = to - f->base;
            if ((self->fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0)
                return gx_error_set(&self->error, "%s: %s", f->name, strerror(errno));
            // A hint for cold files: read ahead of us. Failure costs nothing.
            (void) posix_fadvise(self->fd, (off_t) a, 0, POSIX_FADV_SEQUENTIAL);
        } else if (z_open(self, f) < 0) {
            return -1;                      // fail() calls close_file
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
        self->stream_error_at = NO_OFFSET;
        return 0;
    }
    self->finished = true;
    return 0;
}

// --- gzip and streams -------------------------------------------------------
//
// zlib's gzread reads concatenated members, but takes any bytes after a
// member that do not start with the gzip magic for the end of the file and
// drops them without a word; and its transparent mode would read a .gz FIFO
// of plain text as text. So we drive inflate ourselves. After a member comes
// another member (1f 8b), the end, or zeros up to the end: tape blocking and
// some archivers pad that way, gzip -d accepts it (warning only with -v),
// and zeros hold no lines, so we skip them too. Anything else is an error
// naming its offset in the compressed file. A stream (stdin, a pipe) that
// does not start with the magic is plain text and passed through as is.

// One read(2) from a stream or file. A stream (stdin, a pipe) can leave a
// read waiting for ever; with a cancel flag set, the wait is a poll(2) of
// 100 ms at a time that gives up when the flag turns nonzero, so a failure
// elsewhere in the run ends it even while the writer is silent.
static ssize_t
read_some(gx_reader_t *self, void *buf, size_t len)
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

// Reads more compressed bytes behind those inflate has not taken yet. One
// read(2): a pipe returns what it has, and the caller loops.
static int
z_refill(gx_reader_t *self)
{
    size_t keep = self->z.avail_in;
    size_t taken = (size_t) (self->z.next_in - self->zbuf);
    if (keep > 0 && taken > 0)
        memmove(self->zbuf, self->z.next_in, keep);
    self->zbuf_off += taken;
    self->z.next_in = self->zbuf;
    ssize_t r = read_some(self, self->zbuf + keep, GZ_BUFSIZE - keep);
    if (r < 0)
        return gx_error_set(&self->error, "%s: %s", self->f->name, strerror(errno));
    if (r == 0)
        self->z_eof = true;
    self->z.avail_in = (uInt) (keep + (size_t) r);
    return 0;
}

// Damage found in the compressed bytes. It is reported once the whole lines
// before it are read (find_lines), by line, or by byte offset when `at` is
// not NO_OFFSET.
static void
z_damage(gx_reader_t *self, uint64_t at, const char *what, const char *detail)
{
    if (detail)
        snprintf(self->stream_error, sizeof self->stream_error, "%s (%s)", what, detail);
    else
        snprintf(self->stream_error, sizeof self->stream_error, "%s", what);
    self->stream_error_at = at;
    self->eof = true;
}

// Bytes after the last member: zeros up to the end are padding and fine;
// any other byte makes them all an error at their first byte.
static int
z_trailing(gx_reader_t *self)
{
    uint64_t at = z_pos(self);
    for (;;) {
        const unsigned char *p = self->z.next_in;
        size_t n = self->z.avail_in, i = 0;
        while (i < n && p[i] == 0)
            i++;
        if (i < n) {
            z_damage(self, at, "data after the last gzip member is not gzip", NULL);
            return 0;
        }
        self->z.next_in += n;
        self->z.avail_in = 0;
        if (self->z_eof) {
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
    while (self->z.avail_in < 2 && !self->z_eof)
        if (z_refill(self) < 0)
            return -1;
    const unsigned char *p = self->z.next_in;
    size_t n = self->z.avail_in;
    if (n == 0) {                           // an empty file, or after the last member
        self->eof = true;
        return 0;
    }
    // A lone 1f at the end is a member cut short, and inflate says so.
    if (p[0] == 0x1f && (n == 1 || p[1] == 0x8b)) {
        if (self->unz == UNZ_NEXT && inflateReset(&self->z) != Z_OK)
            return gx_error_set(&self->error, "%s: inflateReset failed", self->f->name);
        self->unz = UNZ_MEMBER;
        return 0;
    }
    if (self->unz == UNZ_NEXT)
        return z_trailing(self);
    if (self->f->how == HOW_GZ)
        return gx_error_set(&self->error, "%s: not in gzip format", self->f->name);
    self->unz = UNZ_PLAIN;
    return 0;
}

// Inflates into out[*got, room) until it is full, the member ends, or the
// compressed bytes read so far run out.
static int
z_inflate(gx_reader_t *self, char *out, size_t room, size_t *got)
{
    z_stream *z = &self->z;
    if (z->avail_in == 0 && !self->z_eof && z_refill(self) < 0)
        return -1;
    size_t want = room - *got;
    z->next_out = (Bytef *) out + *got;
    z->avail_out = want > (1u << 30) ? 1u << 30 : (uInt) want;   // uInt counts
    uInt before = z->avail_out;
    int rc = inflate(z, Z_NO_FLUSH);
    *got += before - z->avail_out;
    if (rc == Z_STREAM_END)
        self->unz = UNZ_NEXT;
    else if (rc == Z_MEM_ERROR)
        return gx_error_set(&self->error, "%s: out of memory", self->f->name);
    else if (rc == Z_BUF_ERROR && z->avail_in == 0 && self->z_eof)
        z_damage(self, NO_OFFSET, "truncated gzip stream", NULL);
    else if (rc != Z_OK && rc != Z_BUF_ERROR) { // BUF: needs input, read next round
        z_damage(self, NO_OFFSET, "corrupt gzip stream", z->msg ? z->msg : "bad data");
        self->z_corrupt = true;
    }
    return 0;
}

// Inflate can put out damaged bytes before it notices the damage (at the
// latest, the CRC at the member's end does), so a bad line inside a member
// may be the damage. Inflates the rest of the member into scratch space to
// tell: true when the member is corrupt. A line that starts in an earlier
// member, whose CRC checked out, stands. Paid only when reporting a bad line.
static bool
z_member_corrupt(gx_reader_t *self, uint64_t line_off)
{
    char scratch[64 << 10];
    if (self->f->how == HOW_PLAIN || line_off < self->z_member_out)
        return false;
    while (self->unz == UNZ_MEMBER && !self->eof) {
        size_t got = 0;
        if (z_inflate(self, scratch, sizeof scratch, &got) < 0)
            return false;                   // a read error: the bad line stands
    }
    return self->z_corrupt;
}

// A stream that is not gzip: the bytes looked at first, then read(2).
static int
z_plain(gx_reader_t *self, char *out, size_t room, size_t *got)
{
    size_t want = room - *got;
    if (self->z.avail_in > 0) {
        size_t k = self->z.avail_in < want ? self->z.avail_in : want;
        memcpy(out + *got, self->z.next_in, k);
        self->z.next_in += k;
        self->z.avail_in -= (uInt) k;
        *got += k;
        return 0;
    }
    ssize_t r = 0;
    if (!self->z_eof) {
        r = read_some(self, out + *got, want);
        if (r < 0)
            return gx_error_set(&self->error, "%s: %s", self->f->name, strerror(errno));
    }
    if (r == 0)
        self->eof = true;
    *got += (size_t) r;
    return 0;
}

// Fills buf[fill, fill + room) from a gzip file or a stream, or up to the
// end; like gzread, but every member is read and nothing after is dropped.
static int
z_read(gx_reader_t *self, size_t room)
{
    char *out = self->buf + self->fill;
    size_t got = 0;
    int rc = 0;
    while (rc == 0 && got < room && !self->eof) {
        switch (self->unz) {
        case UNZ_NEXT:
            // Where the next member's text will start, if one comes.
            self->z_member_out = self->buf_off + self->fill + got;
            rc = z_boundary(self);
            break;
        case UNZ_FIRST:
            rc = z_boundary(self);
            break;
        case UNZ_MEMBER:
            rc = z_inflate(self, out, room, &got);
            break;
        case UNZ_PLAIN:
            rc = z_plain(self, out, room, &got);
            break;
        }
    }
    self->fill += got;
    return rc;
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

// The number, counted from the file's start, of the line at `start`.
static int
line_number(gx_reader_t *self, uint64_t *no)
{
    uint64_t before = 0;
    if (self->begin > 0 && count_lines(self, self->begin, &before) < 0)
        return -1;
    *no = before + self->lines + 1;
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
        char *grown = self->cap <= SIZE_MAX / 2 ? realloc(self->buf, self->cap * 2) : NULL;
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
    if (f->how != HOW_PLAIN)
        return z_read(self, room);
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
        if (self->stream_error[0] && self->stream_error_at != NO_OFFSET)
            return gx_error_set(&self->error, "%s: byte %" PRIu64 ": %s", self->f->name,
                                self->stream_error_at, self->stream_error);
        if (self->stream_error[0])
            return gx_error_set(&self->error, "%s:%" PRIu64 ": %s", self->f->name,
                                self->lines + 1, self->stream_error);
        self->scan_end = self->fill;
        self->last_region = true;
        return 0;
    }
    return read_more(self);
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
                uint64_t no;
                if (line_number(self, &no) < 0)
                    return fail(self, n, err);
                gx_error_set(&self->error, "%s:%" PRIu64 ": %s", self->f->name, no,
                             z_member_corrupt(self, self->buf_off + self->start)
                             ? self->stream_error : problem.msg);
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
