// loaders/private.h: what the loaders' files share and nobody else sees.
// loader.h is the room's door (core/ and the tests use only it); this holds
// the insides of gx_input_t and gx_reader_t and the calls between the files:
//
//   input.c   gx_input_*: an input is a list of files, each with its access
//   parts.c   a directory of part files: list, check, name in messages
//   reader.c  gx_reader_*: splits, the window over a file, lines, errors
//   range.c   a plain file's byte range, by pread (the parallel load)
//   gzip.c    gzip files and streams: members, padding, damage
//   stream.c  stdin and pipes: the cancellable read, plain-text pass-through
//   scan.c    the scanner, text -> edges (gx_scan, gx_quote)
//
// Calls go one way: input.c -> parts.c -> scan.c (gx_quote); reader.c ->
// range.c, gzip.c, scan.c; gzip.c -> stream.c. range.c, gzip.c and
// stream.c fill the reader's window and report into its error; none calls
// back into reader.c. Between them they are what issue 21's source
// interface would hold for local files (list, stat: parts.c; a byte range:
// range.c; a stream: stream.c), not yet behind one interface.
#ifndef GX_LOADERS_PRIVATE_H
#define GX_LOADERS_PRIVATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <zlib.h>
#include "loaders/loader.h"

// --- Inputs ------------------------------------------------------------------

// A file's ACCESS: how its bytes can be read, fixed at open. It decides
// whether the input splits (only when every file is GX_ACCESS_RANGE) and
// which of range.c or gzip.c (with stream.c) fills a reader's window.
typedef enum gx_access {
    GX_ACCESS_RANGE = 0,                    // regular file: pread, splittable
    GX_ACCESS_GZIP,                         // FILE.gz: inflate, must be gzip
    GX_ACCESS_STREAM,                       // stdin, pipe: inflate, or plain text
} gx_access_t;

// One file of an input: the file itself, or one part of a directory.
typedef struct gx_file {
    char       *path;                       // to open
    char       *name;                       // in errors: path, a part's own name quoted
    uint64_t    size;                       // bytes at open (compressed for .gz)
    uint64_t    base;                       // offset in the concatenation
    gx_access_t access;
} gx_file_t;

struct gx_input {
    gx_loader_mem_t mem;                // every call set, window > 0
    char       *path;
    gx_file_t  *files;
    size_t      nfiles;
    uint64_t    total;
    bool        splittable;
    bool        is_stdin;               // or another stream, read once
    int         stream_fd;              // what a stream reads (stdin: 0)
    // The one thing that changes after open: stdin can be handed to one
    // reader only. Atomic because readers are made in worker threads.
    atomic_bool stdin_taken;
};

// input.c: s copied into a block of mem's; NULL when out of memory.
char *gx_loader_strdup(const gx_loader_mem_t *mem, const char *s);

// parts.c. Fills f for the file at path (stat already done in st), taking
// path and name; opens it once so that an unreadable file is reported now,
// naming it, and not by some worker.
int gx_file_check(gx_file_t *f, char *path, char *name, const struct stat *st,
                  gx_error_t *err);
// parts.c. Sets *files_p to the part files of directory dir and *n_p to
// their count (at least one, or an error), each checked by gx_file_check.
// On error too, the first *n_p files are made: gx_input_destroy frees them.
// Every block from mem.
int gx_parts_list(const char *dir, const gx_loader_mem_t *mem,
                  gx_file_t **files_p, size_t *n_p, gx_error_t *err);

// --- Readers -----------------------------------------------------------------
//
// A reader walks the input's files in order. For a plain file it owns the
// lines whose first byte lies in [a, b), the part of its split's range in
// that file (its SLICE); a gz file or stream it reads whole (only one reader
// exists). Its WINDOW, buf, holds file bytes [buf_off, buf_off + fill);
// lines from `start` on are not yet scanned, and [start, scan_end) are whole
// lines of ours.
//
// DAMAGE found in compressed bytes (a corrupt member, a cut, bytes after the
// last member) is not an error at once: the whole lines before it are read
// first, then find_lines reports it, by line, or by compressed byte offset
// when `damage_at` is not NO_OFFSET.

#define NO_OFFSET UINT64_MAX                // damage_at: name the line

// Where a gzip file or stream reader is (gzip.c).
typedef enum gx_unz {
    UNZ_FIRST = 0,                          // at byte 0: gzip, or plain (streams)
    UNZ_MEMBER,                             // inside a gzip member
    UNZ_NEXT,                               // after a member: member, zeros or end
    UNZ_PLAIN,                              // a stream that is not gzip
} gx_unz_t;

// A gzip file's or stream's decoder: inflate reads buf and writes into the
// reader's window. Owned by gzip.c (and stream.c for UNZ_PLAIN).
typedef struct gx_gz {
    z_stream        zs;
    bool            live;                   // zs needs inflateEnd
    gx_unz_t        state;
    unsigned char  *buf;                    // GZ_BUFSIZE, made at first use
    uint64_t        buf_off;                // file offset of buf[0]
    bool            eof;                    // read(2) has said end of file
    bool            corrupt;                // damage is inflate's data error
    uint64_t        member_out;             // text offset where this member began
} gx_gz_t;

struct gx_reader {
    const gx_input_t *in;
    gx_line_kind_t    kind;
    uint64_t          lo, hi;               // split's range in the concatenation
    size_t            next_file;            // index of the file to open next
    bool              finished;             // every file done

    // The current file.
    const gx_file_t  *f;                    // NULL between files
    int               fd;
    uint64_t          b;                    // owned lines start before b
    uint64_t          begin;                // offset of the first owned line
    uint64_t          lines;                // LFs scanned since begin
    bool              skipping;             // looking for the first line start
    bool              eof;                  // the file's bytes are all in buf
    bool              last_region;          // scan_end is the end of our lines
    char              damage[128];          // gz: problem met at eof, or ""
    uint64_t          damage_at;            // its compressed offset, or NO_OFFSET

    gx_gz_t           gz;

    // Set by the caller: when it turns nonzero, a read from a stream that
    // has nothing to give stops waiting (another part of the run failed).
    const atomic_uint *cancel;

    char             *buf;                  // the window
    size_t            cap, fill, start, scan_end;
    uint64_t          buf_off;

    uint64_t          done_bytes;           // streams: bytes of closed files
    _Atomic uint64_t  consumed;             // for gx_reader_bytes, any thread
    bool              failed;
    gx_error_t        error;                // repeated by every call after -1
};

// range.c: a plain file's slice. Opens f for reading from offset a on.
int gx_range_open(gx_reader_t *self, const gx_file_t *f, uint64_t a);
// range.c: reads up to room more bytes of the slice (and past it, in small
// steps, to finish the last line) into the window; eof at the file's end.
int gx_range_read(gx_reader_t *self, size_t room);
// range.c: LFs in the file before offset upto (line numbers of a slice that
// starts mid-file; paid only when reporting a bad line).
int gx_range_count_lines(gx_reader_t *self, uint64_t upto, uint64_t *count);

// gzip.c: opens f (a .gz or a stream) for reading through inflate.
int  gx_gz_open(gx_reader_t *self, const gx_file_t *f);
// gzip.c: fills the window's next room bytes, or up to the end.
int  gx_gz_read(gx_reader_t *self, size_t room);
// gzip.c: inflateEnd, if needed. The descriptor is the reader's to close.
void gx_gz_close(gx_reader_t *self);
// gzip.c: offset in the compressed file of the next byte inflate will take.
uint64_t gx_gz_pos(const gx_reader_t *self);
// gzip.c: true when the member holding the text at line_off is corrupt, so
// that a bad line there is the damage and not the input's.
bool gx_gz_member_corrupt(gx_reader_t *self, uint64_t line_off);

// stream.c: one read(2) from the reader's fd, cancellable (see there).
ssize_t gx_stream_read(gx_reader_t *self, void *buf, size_t len);
// stream.c: copies a plain-text stream into out[*got, room).
int gx_stream_plain(gx_reader_t *self, char *out, size_t room, size_t *got);

#endif
