// cli/stdfds.h: the standard descriptors. graphx-run makes sure fds 0, 1
// and 2 are open before anything else runs, remembers which were closed,
// and treats a failed write to stdout or stderr as the runtime error it is.
#ifndef GX_CLI_STDFDS_H
#define GX_CLI_STDFDS_H

#include <stdbool.h>
#include "graphx/error.h"

// Opens /dev/null on each of fds 0..2 that is closed (read-only for 0,
// write-only for 1 and 2). Call first thing in main. -1 if it cannot.
int  gx_stdfds_open(void);
bool gx_stdfds_was_closed(int fd);

// Before writing to stdout: -1 with an error if it was closed at start.
int  gx_stdout_check(gx_error_t *err);
// Flushes and closes stdout, reporting any write to it that failed. Only
// the first call does anything; nothing may write to stdout after it.
int  gx_stdout_close(gx_error_t *err);
// Whether a write to stderr has failed (it is unbuffered: each one is seen).
bool gx_stderr_failed(void);

#endif
