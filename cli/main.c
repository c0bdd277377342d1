// cli/main.c: graphx-run. Finds the program (a built-in by name, or a
// plugin for `run --program`), parses the command line (cli/opts.c), checks
// every path, runs the engine, writes the results. No algorithm is named
// here: what differs between programs is in their gx_program_t. Exit status: 0 success, 1 a runtime
// error (bad input, I/O, a failed write to stdout or stderr), 2 a usage
// error; an error is one line on stderr. Everything that can be checked
// without reading the input is checked before loading starts, so a typo in
// an output path costs nothing and a finished computation is never thrown
// away for a reason that was knowable at the start.
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "algos/algos.h"
#include "cli/help.h"
#include "cli/opts.h"
#include "cli/output.h"
#include "cli/parts.h"
#include "cli/paths.h"
#include "cli/plugin.h"
#include "cli/secret.h"
#include "cli/spawn.h"
#include "cli/stdfds.h"
#include "core/clock.h"
#include "graphx/graphx.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

static char prog_name[64] = "graphx-run";    // "graphx-run cc" once known

__attribute__((format(printf, 1, 2)))
static int
usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog_name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try '%s --help')\n", prog_name);
    return EXIT_USAGE;
}

static int
runtime_error(const gx_error_t *err)
{
    fprintf(stderr, "%s: %s\n", prog_name, err->msg);
    return EXIT_RUNTIME;
}

// ---- Help -----------------------------------------------------------------------

static void
print_version(FILE *out)
{
    fprintf(out, "graphx-run %s\n", GRAPHX_VERSION);
}

// Help and version are output like any other: a closed stdout fails here,
// a full one when main closes stdout.
static int
print_to_stdout(void (*print)(FILE *))
{
    gx_error_t err = { 0 };
    if (gx_stdout_check(&err) != 0)
        return runtime_error(&err);
    print(stdout);
    return 0;
}

static int
print_command_help(const gx_opts_t *o, const char *plugin_path)
{
    gx_error_t err = { 0 };
    if (gx_stdout_check(&err) != 0)
        return runtime_error(&err);
    if (!o->prog) {
        gx_help_run(stdout);
        return 0;
    }
    char usage[4200];
    if (plugin_path)
        snprintf(usage, sizeof usage, "run --program %s", plugin_path);
    else
        snprintf(usage, sizeof usage, "%s", o->cmd);
    gx_help_program(stdout, usage, o->prog);
    return 0;
}

// ---- Paths ----------------------------------------------------------------------

// Phase 2: command lines that would lose a result or read a stream twice
// are usage errors, refused before any file is created.
//
// An output naming an input is refused too. Reading it would be safe (the
// input is read to the end before the output is renamed over it), but the
// run would replace the user's graph with its own results: never what
// `-i g.txt -o g.txt` (meant: g.tsv) wants, and not undoable, while a user
// who does want it can write elsewhere and mv.
static int
check_paths(const gx_opts_t *o)
{
    const gx_path_opt_t *in = &o->input, *vx = &o->vertices;
    // TSV and JSON run together on one stream would be neither.
    if (o->output.path && o->report.path && strcmp(o->output.path, "-") == 0
        && strcmp(o->report.path, "-") == 0)
        return usage_error("'%s' and '%s' cannot both write standard output",
                           o->output.name, o->report.name);
    if (vx->path && gx_paths_same_stream(in->path, vx->path))
        return usage_error("'%s' and '%s' cannot both read %s", in->name, vx->name,
                           strcmp(in->path, "-") && strcmp(vx->path, "-")
                           ? "one stream" : "standard input");
    // Pairs: -o with --report, -i, --vertices; --report with -i, --vertices.
    const gx_path_opt_t *outs[] = { &o->output, &o->report };
    const gx_path_opt_t *others[] = { &o->report, &o->input, &o->vertices };
    for (size_t i = 0; i < 2; i++)
        for (size_t j = i; j < 3; j++) {
            const gx_path_opt_t *a = outs[i], *b = others[j];
            // Standard output ("-") is written in place: it replaces nothing.
            if (!a->path || !b->path || strcmp(a->path, "-") == 0
                || strcmp(b->path, "-") == 0)
                continue;
            if (gx_paths_same_file(a->path, b->path))
                return usage_error("'%s' and '%s' name the same file '%s'",
                                   a->name, b->name, a->path);
        }
    return 0;
}

// ---- Running --------------------------------------------------------------------

static uint64_t
peak_rss(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_maxrss * 1024;
}

// Phase 3: the job, and the program's own check of its parameters, which
// is a usage error and so comes before any file is created.
static int
set_up_job(const gx_opts_t *o, gx_job_t *job)
{
    *job = (gx_job_t){
        .input = o->input.path, .vertices = o->vertices.path,
        .program = o->prog, .strategy = o->strategy,
        .undirected = o->undirected, .workers = (unsigned)o->workers,
        // 0: as many as the workers (in distributed mode, their threads,
        // known later), or more, picked for the memory budget.
        .partitions = (unsigned)o->parts,
        .output_parts = o->parts_dir.path,
        .memory = o->memory, .spill_dir = o->spill_dir.path,
    };
    // Each worker holds three sockets, each a file descriptor: let the
    // process use all the descriptors its hard limit allows.
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    gx_error_t err = { 0 };
    if (o->prog->setup && o->prog->setup(o->params, o->n_params,
                                         &job->program_state, &err) != 0)
        return usage_error("%s", err.msg);
    return 0;
}

// The files and streams of one run, from opening to commit.
typedef struct sink {
    gx_outfile_t      out, report;
    gx_values_out_t   values;           // -o, fed by the engine in id order
    gx_parts_t        parts;
    gx_progress_out_t pg;
} sink_t;

// Where the summary goes: nowhere with -o or --output-parts, stdout, or
// stderr when the report is written to stdout (--report -, /dev/stdout),
// so that stdout holds the JSON alone.
static FILE *
summary_stream(const gx_opts_t *o, const sink_t *s)
{
    if (o->output.path || o->parts_dir.path)
        return NULL;
    return s->report.own_fd == STDOUT_FILENO ? stderr : stdout;
}

// Phase 4: everything the results will go to, before loading starts: both
// temporaries exist, and a closed stdout or stderr that would be written
// fails now rather than after the computation.
static int
open_sinks(const gx_opts_t *o, sink_t *s, gx_error_t *err)
{
    if (!o->quiet && gx_stdfds_was_closed(STDERR_FILENO))
        return gx_error_set(err, "cannot write progress: standard error is "
                            "closed (-q for none)");
    if (o->output.path && (gx_outfile_open(&s->out, o->output.path, err) != 0
                           || gx_values_open(&s->values, &s->out, o->prog,
                                             err) != 0))
        return -1;
    if (gx_parts_prepare(&s->parts, o->parts_dir.path, (unsigned)o->workers,
                         err) != 0)
        return -1;
    if (o->report.path && gx_outfile_open(&s->report, o->report.path, err) != 0)
        return -1;
    FILE *summary = summary_stream(o, s);
    if (summary == stdout && gx_stdout_check(err) != 0)
        return -1;
    if (summary == stderr && gx_stdfds_was_closed(STDERR_FILENO))
        return gx_error_set(err, "cannot write the summary: standard error "
                            "is closed (the report has standard output)");
    return 0;
}

// Phase 6: values, report and summary, then the renames, only once every
// write has succeeded, stdout's and stderr's included: a failed run leaves
// nothing at either path. Both files are closed before either is renamed,
// so a late close() error cannot leave one in place and not the other.
static int
write_results(const gx_opts_t *o, sink_t *s, const gx_result_t *res, double t0,
              const char *plugin_path, gx_error_t *err)
{
    if (o->output.path && gx_values_close(&s->values, err) != 0)
        return -1;
    gx_run_info_t info = { o->prog->name, plugin_path, o->input.path,
                           o->strategy, gx_clock_now() - t0, peak_rss(),
                           o->master || o->spawn };
    if (!o->quiet)
        gx_progress_done(&s->pg);
    if (o->report.path && gx_write_report(&s->report, &info, res, err) != 0)
        return -1;
    FILE *summary = summary_stream(o, s);
    if (summary)
        gx_print_summary(summary, &info, o->prog, res);
    if (summary == stdout && gx_stdout_close(err) != 0)
        return -1;
    // Seen by a sticky flag: the failed write's errno is long gone.
    if (gx_stderr_failed())
        return gx_error_set(err, "cannot write progress to standard error");
    if (gx_outfile_close(&s->out, err) != 0
        || gx_outfile_close(&s->report, err) != 0
        || gx_outfile_commit(&s->out, err) != 0
        || gx_outfile_commit(&s->report, err) != 0
        || gx_parts_commit(&s->parts, err) != 0)
        return -1;
    return 0;
}

// Phases 4 to 6. 0 or EXIT_RUNTIME, the error reported.
static int
execute(const gx_opts_t *o, gx_job_t *job, const char *plugin_path)
{
    sink_t s = { .out = GX_OUTFILE_NONE, .report = GX_OUTFILE_NONE };
    gx_progress_init(&s.pg);
    if (!o->quiet) {
        job->progress = gx_progress_show;
        job->progress_arg = &s.pg;
    }
    gx_error_t err = { 0 };
    gx_result_t res = { 0 };
    double t0 = gx_clock_now();
    int rc = open_sinks(o, &s, &err);
    if (rc == 0 && o->output.path) {
        job->sink = gx_values_put;             // values go to -o as merged
        job->sink_arg = &s.values;
    }
    if (rc == 0) {
        rc = gx_run(job, &res, &err);           // phase 5
        if (rc != 0 && !o->quiet)
            gx_progress_abandon(&s.pg);
    }
    if (rc == 0)
        rc = write_results(o, &s, &res, t0, plugin_path, &err);
    gx_result_free(&res);
    gx_values_discard(&s.values);               // after a failure: frees
    if (rc == 0)
        return 0;
    gx_outfile_note(&s.out, &err);
    gx_outfile_note(&s.report, &err);
    gx_outfile_abandon(&s.out);
    gx_outfile_abandon(&s.report);
    gx_parts_abandon(&s.parts);
    return runtime_error(&err);
}

// The program of `cmd`: a built-in, or for `run` the plugin its --program
// names, loaded and checked before anything else. 0, or the exit status of
// the error already reported.
static int
find_program(const char *cmd, int argc, char **argv, gx_plugin_t **plugin,
             const gx_program_t **prog, const char **path)
{
    *prog = NULL;
    *path = NULL;
    if (strcmp(cmd, "run") != 0) {
        if ((*prog = gx_algo_find(cmd)))
            return 0;
        snprintf(prog_name, sizeof prog_name, "graphx-run");
        return usage_error("unknown command '%s'", cmd);
    }
    gx_opts_find_program(argc, argv, path);
    if (!*path)
        return 0;                      // help, or gx_opts_parse's error
    if (!**path)
        return usage_error("option '--program' needs a path, not ''");
    gx_error_t err = { 0 };
    if (!(*plugin = gx_plugin_open(*path, &err)))
        return runtime_error(&err);
    *prog = gx_plugin_program(*plugin);
    return 0;
}

// ---- Distributed mode ------------------------------------------------------------

typedef struct cluster_cli {
    gx_cluster_t c;
    gx_secret_t  secret;
    gx_spawn_t   spawn;
    bool         quiet;
    char        *paths[3];             // the job's paths made absolute
} cluster_cli_t;

static int
on_bound(const char *endpoint, void *arg, gx_error_t *err)
{
    cluster_cli_t *cc = arg;
    if (cc->spawn.n)
        return gx_spawn_start(&cc->spawn, endpoint, err);
    if (!cc->quiet)
        fprintf(stderr, "%s: waiting for %u workers at %s\n", prog_name,
                cc->c.workers, endpoint);
    return 0;
}

static void
on_refused(const char *why, void *arg)
{
    (void)arg;
    fprintf(stderr, "%s: %s\n", prog_name, why);
}

// SIGTERM and SIGINT of a master end the run as a failure the workers are
// told of (ABORT), not as a silence they wait out; the run's own error
// line says which signal.
static void
on_signal(int signo)
{
    gx_interrupt(signo);
}

static void
catch_stop_signals(void)
{
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

// --master/--spawn: the cluster's settings, the secret (made here when
// every worker is this process's own), the workers to start.
static int
set_up_cluster(const gx_opts_t *o, const char *plugin_path, cluster_cli_t *cc)
{
    gx_error_t err = { 0 };
    if (gx_secret_load(&cc->secret, o->secret_file.path, -1, &err) != 0)
        return runtime_error(&err);
    if (!cc->secret.len && o->spawn == o->workers)
        gx_secret_make(&cc->secret);
    if (!cc->secret.len)
        return usage_error("distributed mode needs a shared secret: "
                           "--secret-file FILE or GRAPHX_SECRET");
    cc->quiet = o->quiet;
    catch_stop_signals();
    cc->spawn = (gx_spawn_t){ .n = (unsigned)o->spawn, .curve = o->curve,
                              .secret = &cc->secret, .memory = o->memory,
                              .spill_dir = o->spill_dir.path };
    cc->c = (gx_cluster_t){
        .bind = o->master ? o->master : "tcp://127.0.0.1:*",
        .workers = (unsigned)o->workers, .wait_timeout = (double)o->wait_timeout,
        .secret = cc->secret.bytes, .secret_len = cc->secret.len,
        .curve = o->curve, .plugin = plugin_path, .params = o->params,
        .n_params = o->n_params, .bound = on_bound, .bound_arg = cc,
        .refused = on_refused };
    return 0;
}

// A worker opens the job's input, vertices and part directory by path,
// from its own working directory (a systemd unit's /, a Slurm step's, a
// spawned worker's that is the master's today), so relative ones are made
// absolute here, from the master's. "-" stays: the master streams it.
static int
absolute_paths(gx_job_t *job, cluster_cli_t *cc)
{
    const char **fields[3] = { &job->input, &job->vertices, &job->output_parts };
    for (size_t i = 0; i < 3; i++) {
        if (!*fields[i])
            continue;
        if (!(cc->paths[i] = gx_paths_absolute(*fields[i]))) {
            fprintf(stderr, "%s: %s: cannot make the path absolute for the "
                    "workers: %s\n", prog_name, *fields[i], strerror(errno));
            return EXIT_RUNTIME;
        }
        *fields[i] = cc->paths[i];
    }
    return 0;
}

static void
free_paths(cluster_cli_t *cc)
{
    for (size_t i = 0; i < 3; i++)
        free(cc->paths[i]);
}

// Phases 2 to 6, once the options are read.
static int
run_program(const gx_opts_t *o, const char *plugin_path)
{
    int rc = check_paths(o);
    if (rc != 0)
        return rc;
    gx_job_t job;
    cluster_cli_t cc = { 0 };
    if (o->master || o->spawn) {
        if ((rc = set_up_cluster(o, plugin_path, &cc)) != 0)
            return rc;
    }
    if ((rc = set_up_job(o, &job)) != 0)
        return rc;
    job.cluster = o->master || o->spawn ? &cc.c : NULL;
    if (job.cluster)
        rc = absolute_paths(&job, &cc);
    if (rc == 0)
        rc = execute(o, &job, plugin_path);
    free_paths(&cc);
    gx_spawn_reap(&cc.spawn);
    gx_secret_wipe(&cc.secret);
    if (o->prog->teardown)
        o->prog->teardown(job.program_state);
    return rc;
}

static int
run_command(const char *cmd, int argc, char **argv)
{
    snprintf(prog_name, sizeof prog_name, "graphx-run %s", cmd);
    gx_plugin_t *plugin = NULL;
    const gx_program_t *prog;
    const char *path;
    int rc = find_program(cmd, argc, argv, &plugin, &prog, &path);
    if (rc != 0)
        return rc;
    gx_opts_t o;
    gx_error_t err = { 0 };
    if (gx_opts_parse(&o, cmd, prog, path, argc, argv, &err) != 0)
        rc = usage_error("%s", err.msg);
    else if (o.help)
        rc = print_command_help(&o, path);
    else
        rc = run_program(&o, path);
    gx_opts_free(&o);
    gx_plugin_destroy(&plugin);          // after teardown and the last format()
    return rc;
}

static int
dispatch(int argc, char **argv)
{
    if (argc < 2) {
        gx_help_main(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0
        || strcmp(cmd, "help") == 0)
        return print_to_stdout(gx_help_main);
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0)
        return print_to_stdout(print_version);
    if (cmd[0] == '-')
        return usage_error("unknown option '%.*s'", (int)strcspn(cmd, "="), cmd);
    return run_command(cmd, argc - 1, argv + 1);
}

int
main(int argc, char **argv)
{
    // First of all: ZeroMQ, the loaders and stdio all take the lowest free
    // descriptor, and a closed 0, 1 or 2 handed out that way would be read
    // as standard input or written as the summary.
    if (gx_stdfds_open() != 0) {
        fprintf(stderr, "graphx-run: /dev/null: %s\n", strerror(errno));
        return EXIT_RUNTIME;
    }
    int status = dispatch(argc, argv);
    // Every path ends here: a write to stdout or stderr that failed (a full
    // disk, a closed pipe with SIGPIPE ignored) fails a run that had not.
    gx_error_t err = { 0 };
    if (gx_stdout_close(&err) != 0 && status == 0)
        status = runtime_error(&err);
    if (gx_stderr_failed() && status == 0)
        status = EXIT_RUNTIME;
    return status;
}
