// loaders/loader.h: bytes -> edges. An INPUT is a file, a directory of part
// files, a .gz file or "-" (standard input). Plain files are split into byte
// ranges that workers parse in parallel; compressed files and stdin are read
// by one reader. Every error names the file and the line (or, for bytes
// after the last gzip member, the byte), and quotes input bytes escaped.
#ifndef GX_LOADERS_LOADER_H
#define GX_LOADERS_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include "graphx/error.h"

#define GX_MAX_VERTEX_ID INT64_MAX          // ids are 0 .. 2^63-1

typedef struct gx_edge {
    uint64_t src;
    uint64_t dst;
} gx_edge_t;

// What one line holds: an edge list line is "SRC DST [WEIGHT]", a vertex
// file line (--vertices, as LDBC Graphalytics' .v files) is "ID".
typedef enum gx_line_kind {
    GX_LINES_EDGES = 0,
    GX_LINES_VERTICES = 1,
} gx_line_kind_t;

// --- The scanner: a pure function over a buffer of whole lines. -----------
//
// Parses buf[0..len), which holds whole lines (the last one may lack its
// newline). Comments ('#' or '%' first), blank lines and CR before LF are
// skipped. Writes at most cap records to out (edges; for GX_LINES_VERTICES
// src = dst = the id) and sets *used to the bytes consumed, always at a line
// boundary, and *lines to the newlines consumed. Returns the count written.
// A bad line stops the scan at its first byte (*used), with *lines the lines
// before it: the records before it are returned first, and the call that
// starts at the bad line returns -1 with err the problem alone (no file or
// line: the reader adds them), e.g. "expected 'src dst [weight]', got 1
// field" or "vertex id '-3' is negative".
//
// weights: NULL, or room for cap values. NULL: a weight is optional, checked
// (whatever strtod reads in full, "inf" too) and dropped; this is the load's
// hot loop and pays nothing for weights. Not NULL (GX_LINES_EDGES only;
// with GX_LINES_VERTICES the call returns -1 and reads nothing, a caller's
// mistake): every edge line must have its weight, weights[i] is out[i]'s,
// parsed as strtod does in full and required finite: "expected 'src dst
// weight', got 2 fields", "weight 'x' is not a number", "weight 'inf' is
// not a finite number". Slots past the returned count may be overwritten.
ssize_t gx_scan(gx_line_kind_t kind, const char *buf, size_t len,
                gx_edge_t *out, double *weights, size_t cap, size_t *used,
                uint64_t *lines, gx_error_t *err);

// --- Input bytes in messages. ----------------------------------------------
//
// Every byte of input that goes into an error message goes through this.
// Writes s[0..n) to out as printable ASCII: bytes outside 0x20..0x7e become
// \xNN and a backslash "\\", so a NUL does not cut the text short and no
// control byte reaches the user's terminal. Shows at most `max` bytes of s,
// then "..."; also stops (with "...") before an escape that would not leave
// room for "..." and the NUL in out[0..cap), cap >= 4. Returns out, to be
// used right in a format's argument list.
#define GX_QUOTE_MAX 40                     // bytes of a bad token shown
#define GX_QUOTE_CAP (GX_QUOTE_MAX * 4 + 4) // room for them: 4 per byte, "...", NUL
const char *gx_quote(char *out, size_t cap, const char *s, size_t n, size_t max);

// --- Memory. ----------------------------------------------------------------
//
// Where an input's and its readers' blocks come from and go back to: the
// input's own (paths, the list of files), the readers and their windows,
// the gzip buffers and zlib's inflate state. The engine hands down its
// accounted allocator (core/mem.h), since loaders/ may not include core/
// (the folders' arrows point from core to loaders); a NULL
// gx_loader_mem_t, or a NULL call in it, means malloc, realloc, free.
// Every block taken through alloc or resize goes back through release.
#define GX_LOADER_BUFSIZE (4u << 20)        // a reader's window by default

typedef struct gx_loader_mem {
    void  *(*alloc)(size_t bytes);
    void  *(*resize)(void *p, size_t bytes);   // as realloc: on failure p stays
    void   (*release)(void *p);                 // NULL: nothing
    // A reader's window, its read buffer (0: GX_LOADER_BUFSIZE). Grown,
    // doubling, only for a line longer than it. Several MB keep syscalls
    // rare; the engine gives less under a small memory budget.
    size_t   window;
} gx_loader_mem_t;

// --- Inputs and readers. ---------------------------------------------------

typedef struct gx_input gx_input_t;

// Opens INPUT: checks that it exists and is readable and lists its files
// (a directory: the entries not starting with '.' or '_', in name order,
// each of which must be a regular file). `mem` (copied; NULL: libc) is
// where it and its readers get their memory.
gx_input_t *gx_input_open(const char *path, const gx_loader_mem_t *mem,
                          gx_error_t *err);
// A stream read from fd (not owned; dup'ed by the one reader), named
// `name` in messages: a file another process reads and passes on through
// a pipe (distributed mode), gzip or plain as stdin is.
gx_input_t *gx_input_open_stream(const char *name, int fd,
                                 const gx_loader_mem_t *mem, gx_error_t *err);
void        gx_input_destroy(gx_input_t **self_p);
// True when every file is plain (not .gz, not stdin): then each of n readers
// can take its own byte range.
bool        gx_input_splittable(const gx_input_t *self);
uint64_t    gx_input_bytes(const gx_input_t *self);     // 0 for stdin
// The window of the readers made from now on (0: GX_LOADER_BUFSIZE): the
// engine sizes it once it knows the input and the address space it has.
void        gx_input_set_window(gx_input_t *self, size_t window);
const char *gx_input_path(const gx_input_t *self);

typedef struct gx_reader gx_reader_t;

// Reader for split `split` of `nsplits` (nsplits must be 1 unless the input
// is splittable). A line belongs to the split that holds its first byte, so
// the splits together read every line exactly once.
gx_reader_t *gx_reader_new(const gx_input_t *in, gx_line_kind_t kind,
                           unsigned split, unsigned nsplits, gx_error_t *err);
// Fills out with up to cap records; returns the count, 0 at the end of the
// split, -1 on error ("FILE:LINE: problem", LINE counted from the start of
// that file even in a parallel read; "FILE: byte N: problem" for data after
// the last member of a gzip file or stream, N counted in compressed bytes;
// "FILE: problem" for I/O errors). Records before the problem come first.
// weights: NULL, or room for cap values filled in step with out, as in
// gx_scan (a weight required on every line, finite, "FILE:LINE: expected
// 'src dst weight', got 2 fields"); not NULL with a GX_LINES_VERTICES
// reader is an error that reads nothing.
ssize_t      gx_reader_next(gx_reader_t *self, gx_edge_t *out, double *weights,
                            size_t cap, gx_error_t *err);
uint64_t     gx_reader_bytes(const gx_reader_t *self);  // consumed so far
void         gx_reader_destroy(gx_reader_t **self_p);
// Reads from a stream stop waiting, with ECANCELED, once *flag is nonzero.
void         gx_reader_set_cancel(gx_reader_t *self, const atomic_uint *flag);

#endif
