// cli/parts.h: --output-parts DIR, the directory the workers write their
// part-NNNNN files to (the engine writes them; see gx_job_t.output_parts).
// The CLI makes the directory ready before any work, marks a finished run
// with DIR/_SUCCESS as Hadoop and Spark do, and takes a failed run's files
// away again.
#ifndef GX_CLI_PARTS_H
#define GX_CLI_PARTS_H

#include <stdbool.h>
#include "graphx/error.h"

typedef struct gx_parts {
    const char *dir;                // NULL: not asked for
    unsigned    workers;
    bool        created;            // we made dir: a failed run removes it
} gx_parts_t;

// DIR must be a directory holding no part-*, .part-* or _SUCCESS of an
// earlier run (they would mix with this run's), or not exist yet, when it
// is made (0777 less the umask).
int  gx_parts_prepare(gx_parts_t *p, const char *dir, unsigned workers,
                      gx_error_t *err);
// Every part is in place: DIR/_SUCCESS says so.
int  gx_parts_commit(gx_parts_t *p, gx_error_t *err);
// The run failed: its parts and _SUCCESS go, and DIR if we made it.
void gx_parts_abandon(gx_parts_t *p);

#endif
