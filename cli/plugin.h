// cli/plugin.h: a vertex program loaded from a shared object. Everything
// that can be wrong with the file is found here, before any work starts
// and before any output temporary exists: the caller gets a checked
// gx_program_t or one line naming the path and the reason.
#ifndef GX_CLI_PLUGIN_H
#define GX_CLI_PLUGIN_H

#include "graphx/graphx.h"

typedef struct gx_plugin gx_plugin_t;   // opaque; fields live in plugin.c

// Checks and loads PATH: a readable regular file, an ELF shared object for
// this machine, loadable, exporting GX_PROGRAM_ENTRY, whose program passes
// gx_program_check. NULL with err = "PATH: reason" otherwise.
gx_plugin_t        *gx_plugin_open(const char *path, gx_error_t *err);
const gx_program_t *gx_plugin_program(const gx_plugin_t *self);
const char         *gx_plugin_path(const gx_plugin_t *self);
// dlclose: after the program's teardown, and after its format() was last
// called, since both live in the object.
void                gx_plugin_destroy(gx_plugin_t **self_p);

#endif
