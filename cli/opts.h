// cli/opts.h: the command line of one command into options. The options
// are the common ones (input, output, workers...) and, for the program
// being run, one per parameter it declares (--KEY VALUE, -C VALUE), made
// from its gx_param_spec_t list: the CLI knows no algorithm by name.
#ifndef GX_CLI_OPTS_H
#define GX_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "graphx/graphx.h"

// A path option: the path, and the option as the user wrote it (-o or
// --output), for messages.
typedef struct gx_path_opt {
    const char *path;
    char        name[16];
} gx_path_opt_t;

typedef struct gx_opts {
    const char         *cmd;            // "pagerank", "run"
    const gx_program_t *prog;           // NULL only for `run` without --program
    bool                help, quiet, undirected;
    gx_path_opt_t       input, vertices, output, report;
    gx_path_opt_t       parts_dir;      // --output-parts DIR
    // Distributed mode (--master or --spawn): `workers` counts processes.
    const char         *master;         // tcp://BIND:PORT
    uint64_t            wait_timeout;   // seconds, 0: the default
    uint64_t            spawn;          // worker processes to start here
    gx_path_opt_t       secret_file;
    uint64_t            memory;         // --memory: bytes, 0: the default
    gx_path_opt_t       spill_dir;      // --spill-dir DIR
    bool                curve, workers_given;
    gx_strategy_t       strategy;
    uint64_t            workers, parts; // parts 0: = workers
    gx_param_t         *params;         // for prog->setup, in command-line order
    size_t              n_params;
    char              **keys;           // [n_keys]: --param keys, ours to free
    size_t              n_keys;
} gx_opts_t;

// `run` needs its plugin loaded before its options can be read (they
// include the plugin's own), so --program is found first: the first word
// `--program PATH` or `--program=PATH`, skipping the values of the common
// options. *path is NULL if there is none. A later --program, or one
// abbreviated, is refused by gx_opts_parse.
void gx_opts_find_program(int argc, char **argv, const char **path);

// argv[0] is the command. With `program_path` (run), --program is an
// option and must be that very word. 0, or -1 with a usage error in err
// (without the "try --help" hint, which is the caller's). -h stops
// parsing: help wins over a missing -i.
int  gx_opts_parse(gx_opts_t *o, const char *cmd, const gx_program_t *prog,
                   const char *program_path, int argc, char **argv,
                   gx_error_t *err);
void gx_opts_free(gx_opts_t *o);

// Whether parameter i of prog is also an option --KEY / -C: not when its
// key or letter clashes with a common option or an earlier parameter (it
// is then reachable by --param only).
bool gx_opts_param_is_long(const gx_program_t *prog, size_t i);
bool gx_opts_param_is_short(const gx_program_t *prog, size_t i);

#endif
