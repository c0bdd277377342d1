// cli/paths.h: whether two paths from the command line name one file, so
// graphx-run can refuse a command line that would lose a result (-o and
// --report the same file) or read one stream twice, before any work.
#ifndef GX_CLI_PATHS_H
#define GX_CLI_PATHS_H

#include <stdbool.h>

// Whether writing a result to `a` and to `b` would hit one file, or one
// would replace what the other reads: for regular files that exist, the
// same inode (a hard link, a symlink to it); for names not there yet, the
// same target once links and directories are resolved (out.tsv, ./out.tsv,
// d/../out.tsv, a dangling link to it). Devices and FIFOs are written in
// place, in turn, so two of them never conflict.
bool gx_paths_same_file(const char *a, const char *b);

// Where an output named `path` really goes. Outputs are renamed into
// place, and a rename replaces a symbolic link rather than what it points
// to, so the chain of links is followed to its end first: an existing
// file, or the file a dangling link would create. A link in procfs is not
// followed (its text is no path: "pipe:[42]"): one of this process's own
// /proc/self/fd/N (/dev/stdout, /dev/fd/3) sets `fd` to N, another sets
// `in_place`. `path` is then that link, to be opened as it is.
typedef struct gx_target {
    char *path;                 // malloc'd
    int   fd;                   // our own descriptor it names, or -1
    bool  in_place;             // open the path itself, never rename over it
} gx_target_t;

// 0, or -1 with errno (ELOOP past 40 links, ENOMEM). A link that cannot
// be read ends the chain there; opening it reports why.
int  gx_paths_target(const char *path, gx_target_t *t);

// Whether two inputs would read the same stream, which only one can: both
// "-", or "-" and /dev/stdin, or one FIFO twice. "-" is standard input.
bool gx_paths_same_stream(const char *a, const char *b);

// `path` made absolute from the working directory ($PWD when it names it,
// as `pwd` shows it: a path through a link more likely to be the same on
// another host), for workers that do not share it. "-" stays "-". A
// malloc'd string, or NULL with errno.
char *gx_paths_absolute(const char *path);

#endif
