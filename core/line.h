// core/line.h: the output line of one vertex, "id<TAB>value\n", as -o
// (cli/output.c, at the master) and --output-parts (core/worker.c, at each
// worker) both write it, so the two never disagree.
#ifndef GX_CORE_LINE_H
#define GX_CORE_LINE_H

#include <stddef.h>
#include <stdint.h>
#include "graphx/program.h"

#define GX_VALUE_TEXT_MAX 127                        // what format() may write
#define GX_LINE_MAX (20 + 1 + GX_VALUE_TEXT_MAX + 1 + 1)

// Writes the line into out[0..GX_LINE_MAX) and returns its length, or -1
// if the program's format() failed or wrote more than GX_VALUE_TEXT_MAX
// characters.
int gx_value_line(const gx_program_t *p, uint64_t id, const void *value,
                  char *out);

#endif
