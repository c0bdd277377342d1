// cli/paths.h: whether two paths from the command line name one file, so
// graphx-run can refuse a command line that would lose a result (-o and
// --report the same file) or read one stream twice, before any work.
#ifndef GX_CLI_PATHS_H
#define GX_CLI_PATHS_H

#include <stdbool.h>

// Whether renaming a result over `a` and over `b` would hit one file, or
// one would replace what the other reads: the same name once the directory
// is resolved (out.tsv, ./out.tsv, d/../out.tsv), or, for regular files
// that exist, the same inode (a hard link, a symlink to it). Devices and
// FIFOs are written in place, in turn, so two of them never conflict.
bool gx_paths_same_file(const char *a, const char *b);

// Whether two inputs would read the same stream, which only one can: both
// "-", or "-" and /dev/stdin, or one FIFO twice. "-" is standard input.
bool gx_paths_same_stream(const char *a, const char *b);

#endif
