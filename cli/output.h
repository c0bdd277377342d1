// cli/output.h: what graphx-run writes: the TSV of every vertex's value (to
// a temporary name, renamed into place at the end), the human summary, the
// JSON report, and the progress line.
#ifndef GX_CLI_OUTPUT_H
#define GX_CLI_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include "graphx/graphx.h"

// An output file being written: opened before any work (so an unwritable
// path fails before loading), committed by rename, or abandoned (unlinked).
// Symbolic links are followed to their final target (cli/paths.h), and the
// temporary is made beside it and renamed over it, so the link stays a
// link. A new file gets mode 0666 less the umask; a replaced regular file
// keeps its mode. Written directly instead (`direct`, tmp NULL): "-"
// (standard output), a descriptor of ours named as /proc/self/fd/N or
// /dev/stdout (duplicated, so writes go where the shell pointed it), and a
// target that exists and is not a regular file (a device, a FIFO). The
// temporary is also removed
// if a fatal signal that can be caught ends the process (SIGINT, SIGTERM,
// SIGHUP, SIGPIPE, SIGQUIT, SIGABRT, SIGALRM, SIGVTALRM, SIGUSR1, SIGUSR2,
// SIGXCPU, SIGXFSZ). At most two are open in a process: output and report.
// GX_OUTFILE_NONE is one never opened: commit and abandon do nothing to it.
typedef struct gx_outfile {
    char *path;                    // as the user named it, for messages
    char *tmp;                     // static storage the signal handler reads
    char *target;                  // what tmp is renamed over
    int   fd;
    int   slot;                    // in that handler's table; -1 if none
    int   own_fd;                  // the descriptor of ours it writes, or -1
    bool  direct;                  // no temporary: written as it goes
    bool  dirty;                   // something was written to it
} gx_outfile_t;
#define GX_OUTFILE_NONE { NULL, NULL, NULL, -1, -1, -1, false, false }

int  gx_outfile_open(gx_outfile_t *o, const char *path, gx_error_t *err);
// Closes the descriptor, reporting what close() reports (a full disk on NFS).
int  gx_outfile_close(gx_outfile_t *o, gx_error_t *err);
// Closes if still open, then renames the temporary into place.
int  gx_outfile_commit(gx_outfile_t *o, gx_error_t *err);
void gx_outfile_abandon(gx_outfile_t *o);
// After a failure: a direct output that was written to keeps what it got,
// which the error then says.
void gx_outfile_note(const gx_outfile_t *o, gx_error_t *err);

// "id<TAB>value" lines into an output file as the engine hands them over
// (gx_values_put is a gx_sink_fn), through a buffer of GX_VALUES_BUF.
#define GX_VALUES_BUF (1u << 20)

typedef struct gx_values_out {
    gx_outfile_t       *o;
    const gx_program_t *prog;
    char               *buf;
    size_t              len;
} gx_values_out_t;

int gx_values_open(gx_values_out_t *v, gx_outfile_t *o, const gx_program_t *prog,
                   gx_error_t *err);
int gx_values_put(uint64_t id, const void *value, void *arg, gx_error_t *err);
// Writes what is buffered and frees the buffer (after a failure:
// gx_values_discard).
int gx_values_close(gx_values_out_t *v, gx_error_t *err);
// Frees the buffer without writing it: after a failure, when a direct
// output must not get more than it already has.
void gx_values_discard(gx_values_out_t *v);

typedef struct gx_run_info {
    const char   *algorithm;       // the program's name
    const char   *plugin;          // its shared object, NULL for a built-in
    const char   *input;
    gx_strategy_t strategy;
    double        total_seconds;
    uint64_t      peak_rss;        // bytes
    bool          distributed;     // peak_rss is the master's alone
} gx_run_info_t;

void gx_print_summary(FILE *out, const gx_run_info_t *info,
                      const gx_program_t *prog, const gx_result_t *res);
// Writes the JSON report to an open output file; the caller commits it.
int  gx_write_report(gx_outfile_t *o, const gx_run_info_t *info,
                     const gx_result_t *res, gx_error_t *err);

// Progress on stderr: a live line on a terminal, plain lines otherwise.
typedef struct gx_progress_out {
    bool       tty;
    bool       line_open;
    bool       unprinted;          // plain mode: the last update was not shown
    int        stage;              // last stage seen, -1 before any
    double     last_plain;
    gx_progress_t last;
} gx_progress_out_t;

void gx_progress_init(gx_progress_out_t *p);
gx_progress_fn gx_progress_show;
void gx_progress_done(gx_progress_out_t *p);
void gx_progress_abandon(gx_progress_out_t *p);

#endif
