// algos/algos.h: the built-in vertex programs. Each is a plain
// gx_program_t, exactly what a plugin exports.
#ifndef GX_ALGOS_ALGOS_H
#define GX_ALGOS_ALGOS_H

#include "graphx/program.h"

extern const gx_program_t gx_pagerank_program;
extern const gx_program_t gx_cc_program;

// The built-in named `name`, or NULL.
const gx_program_t *gx_algo_find(const char *name);

#endif
