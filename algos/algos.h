// algos/algos.h: the built-in vertex programs. Each is a plain
// gx_program_t, exactly what a plugin exports.
#ifndef GX_ALGOS_ALGOS_H
#define GX_ALGOS_ALGOS_H

#include <stddef.h>
#include "graphx/program.h"

extern const gx_program_t gx_pagerank_program;
extern const gx_program_t gx_cc_program;

// The built-in named `name`, or NULL.
const gx_program_t *gx_algo_find(const char *name);

// The built-ins in the order the help lists them: i in 0 .. count-1.
size_t              gx_algo_count(void);
const gx_program_t *gx_algo_at(size_t i);

#endif
