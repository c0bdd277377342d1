// store/files.h: the store's names on disk, private to store/ (files.c).
#ifndef GX_STORE_FILES_H
#define GX_STORE_FILES_H

#include <stddef.h>

#define GX_STORE_PREFIX  "graphx-spill-"
#define GX_STORE_LOCKSFX "-lock"          // LMDB's lock file under MDB_NOSUBDIR

// The next name of this process's stores: dir/graphx-spill-HOST-NS-PID-N,
// N counting from 0. -1 if it does not fit in cap with GX_STORE_LOCKSFX.
int gx_store_name_next(char *path, size_t cap, const char *dir);

#endif
