// core/desc.h: what a master tells its worker processes about a run (the
// description) and about each other (the process table).
#ifndef GX_CORE_DESC_H
#define GX_CORE_DESC_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/link.h"
#include "graphx/graphx.h"

typedef struct gx_desc {
    char       *program;            // a built-in's name, or the plugin's
    uint8_t     hash[32];           // the plugin's bytes (BLAKE2b-256)
    bool        has_hash;
    char       *input, *vertices, *parts;
    uint32_t    strategy, partitions, workers;
    uint32_t    stream;             // streamed by the master: 1 the input,
                                    // 2 the vertices, 0 neither
    bool        undirected;
    uint64_t    max_supersteps;
    gx_param_t *params;
    size_t      n_params;
} gx_desc_t;

// The sender's strings are borrowed; unpack's are owned (gx_desc_free).
int  gx_desc_pack(const gx_desc_t *d, msgpack_sbuffer *out);
int  gx_desc_unpack(const void *data, size_t len, gx_desc_t *d,
                    gx_error_t *err);
void gx_desc_free(gx_desc_t *d);

size_t gx_procs_size(uint32_t n);
void   gx_procs_pack(const gx_proc_t *procs, uint32_t n, void *out);
int    gx_procs_unpack(const void *data, size_t len, uint32_t W,
                       gx_proc_t **out, uint32_t *n_out, gx_error_t *err);

#endif
