// cli/secret.h: the shared secret of a distributed run, from a file
// (--secret-file, which must not be readable by others), from a descriptor
// the parent process wrote it to (graphx-worker --secret-fd, as --spawn
// does), or from the GRAPHX_SECRET variable. One trailing newline is not
// part of it, so `echo s > f` and GRAPHX_SECRET=s give the same secret.
#ifndef GX_CLI_SECRET_H
#define GX_CLI_SECRET_H

#include <stddef.h>
#include "graphx/error.h"
#include "graphx/graphx.h"             // GX_SECRET_MIN

#define GX_SECRET_MAX 4096

typedef struct gx_secret {
    char   bytes[GX_SECRET_MAX];
    size_t len;                       // 0: none found
} gx_secret_t;

// From descriptor `fd` if >= 0 (read to EOF, then closed), else from `path`
// if not NULL, else from the environment. Whichever is used, GRAPHX_SECRET
// is then wiped from this process's environment (see secret.c). 0 (len may
// be 0: none given), or -1 with "SOURCE: reason".
int  gx_secret_load(gx_secret_t *s, const char *path, int fd, gx_error_t *err);
// A fresh random one (hex), for workers this process starts itself.
void gx_secret_make(gx_secret_t *s);
void gx_secret_wipe(gx_secret_t *s);

#endif
