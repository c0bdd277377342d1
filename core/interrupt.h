// core/interrupt.h: a signal that ends a distributed run. The command
// line's handler calls gx_interrupt (graphx/graphx.h); the loops of the
// master's process that wait (registration, the hub) look here and fail
// the run, so the workers hear ABORT instead of a silence.
#ifndef GX_CORE_INTERRUPT_H
#define GX_CORE_INTERRUPT_H

#include <stdbool.h>

bool        gx_interrupted(void);
// "stopped by SIGTERM"
const char *gx_interrupted_name(void);

#endif
