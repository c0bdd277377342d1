// cli/main.c: graphx-run. Parses the command line, checks every path, runs
// the engine, writes the results. Exit status: 0 success, 1 a runtime
// error (bad input, I/O, a failed write to stdout or stderr), 2 a usage
// error; an error is one line on stderr. Everything that can be checked
// without reading the input is checked before loading starts, so a typo in
// an output path costs nothing and a finished computation is never thrown
// away for a reason that was knowable at the start.
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "algos/algos.h"
#include "cli/output.h"
#include "cli/paths.h"
#include "cli/stdfds.h"
#include "core/clock.h"
#include "graphx/graphx.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2
#define MAX_WORKERS  256u
#define MAX_PARTS    65536u
#define MAX_PARAMS   8

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
print_main_help(FILE *out)
{
    fprintf(out,
"Usage: graphx-run COMMAND [OPTIONS]\n"
"\n"
"Pregel-style graph processing on every core of this machine.\n"
"\n"
"Commands:\n"
"  pagerank   PageRank (LDBC Graphalytics / networkx definition)\n"
"  cc         weakly connected components (smallest vertex id as label)\n"
"\n"
"Options:\n"
"  -h, --help      this help ('graphx-run COMMAND --help' for a command)\n"
"  -V, --version   print the version\n");
}

static void
print_common_help(FILE *out)
{
    fprintf(out,
"  -i, --input PATH       edge list: a file, a directory of part files, a .gz\n"
"                         file, or - for standard input (required)\n"
"  -o, --output PATH      write 'vertex<TAB>value' for every vertex to PATH\n"
"                         (default: print a summary instead)\n"
"      --vertices PATH    vertex ids, one per line (isolated vertices count)\n"
"      --workers N        worker threads (default: the number of cores)\n"
"      --partitions N     edge partitions (default: = workers)\n"
"      --strategy S       2d | 1d | random | canonical (default 2d)\n"
"      --report FILE      write run figures as JSON to FILE\n"
"  -q, --quiet            no progress on stderr\n"
"  -h, --help             this help\n");
}

static void
print_pagerank_help(FILE *out)
{
    fprintf(out,
"Usage: graphx-run pagerank -i INPUT [-o OUTPUT] [OPTIONS]\n"
"\n"
"PageRank as LDBC Graphalytics and networkx define it: ranks start at 1/N;\n"
"r'(v) = (1-d)/N + d*(sum of r(u)/outdeg(u) over edges (u,v) + D/N), D the\n"
"rank on dangling vertices. Ranks sum to 1.\n"
"\n"
"  -n, --iterations N     run exactly N steps\n"
"  -t, --tol X            stop when the L1 change of a step is below X\n"
"                         (default 1e-10, at most 100 steps)\n"
"  -d, --damping D        damping factor in (0,1) (default 0.85)\n"
"  -u, --undirected       read each edge as two directed edges\n");
    print_common_help(out);
}

static void
print_cc_help(FILE *out)
{
    fprintf(out,
"Usage: graphx-run cc -i INPUT [-o OUTPUT] [OPTIONS]\n"
"\n"
"Weakly connected components: edge direction is ignored and every vertex is\n"
"labelled with the smallest vertex id in its component.\n"
"\n");
    print_common_help(out);
}

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
    gx_error_t err = { { 0 } };
    if (gx_stdout_check(&err) != 0)
        return runtime_error(&err);
    print(stdout);
    return 0;
}

// ---- Options --------------------------------------------------------------------

enum {
    OPT_WORKERS = 256, OPT_PARTITIONS, OPT_STRATEGY, OPT_REPORT, OPT_VERTICES,
};

static const char shortopts[] = ":i:o:qhn:t:d:u";
static const struct option longopts[] = {
    { "input", required_argument, NULL, 'i' },
    { "output", required_argument, NULL, 'o' },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { "iterations", required_argument, NULL, 'n' },
    { "tol", required_argument, NULL, 't' },
    { "damping", required_argument, NULL, 'd' },
    { "undirected", no_argument, NULL, 'u' },
    { "workers", required_argument, NULL, OPT_WORKERS },
    { "partitions", required_argument, NULL, OPT_PARTITIONS },
    { "strategy", required_argument, NULL, OPT_STRATEGY },
    { "report", required_argument, NULL, OPT_REPORT },
    { "vertices", required_argument, NULL, OPT_VERTICES },
    { NULL, 0, NULL, 0 },
};

// A path option: the path, and the option as the user wrote it (-o or
// --output), for messages.
typedef struct path_opt {
    const char *path;
    char        name[16];
} path_opt_t;

typedef struct opts {
    const char         *cmd;
    const gx_program_t *prog;
    bool                is_pr;
    bool                help, quiet, undirected;
    path_opt_t          input, vertices, output, report;
    gx_strategy_t       strategy;
    uint64_t            workers, parts;          // parts 0: = workers
    gx_param_t          params[MAX_PARAMS];      // for prog->setup
    size_t              n_params;
    bool                have_iter, have_tol;
} opts_t;

// Strict unsigned parse: digits only, no sign, no overflow.
static int
parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

static int
long_index_of(int val)
{
    for (int i = 0; longopts[i].name; i++)
        if (longopts[i].val == val)
            return i;
    return -1;
}

// Option `c` as the user wrote it: "--iterations" when getopt_long matched
// the long form (longindex >= 0; an abbreviation gets its full name), "-n"
// otherwise. Never argv[optind - 1]: that is the option's value when the
// value was a separate word, and -qn3 is one word holding two options.
static void
opt_name(int c, int longindex, char *buf, size_t cap)
{
    if (longindex >= 0)
        snprintf(buf, cap, "--%s", longopts[longindex].name);
    else if (c > 0 && c < 128 && isgraph(c))
        snprintf(buf, cap, "-%c", c);
    else
        snprintf(buf, cap, "-\\x%02x", (unsigned)c & 0xffu);
}

// How many long options `word` (--xyz or --xyz=v) abbreviates; an exact
// name counts as one, as getopt_long takes it over longer ones.
static int
long_matches(const char *word)
{
    size_t len = strcspn(word + 2, "=");
    int n = 0;
    for (int i = 0; longopts[i].name; i++) {
        if (strncmp(longopts[i].name, word + 2, len) != 0)
            continue;
        if (longopts[i].name[len] == '\0')
            return 1;
        n++;
    }
    return n;
}

// getopt_long's '?' and ':' as messages. optopt is the option's value for a
// known option, the character of an unknown short one, and 0 for an
// unknown or ambiguous long one, which is then the word argv[optind - 1].
static int
bad_option(int c, char **argv)
{
    char name[64];
    const char *word = argv[optind - 1];
    bool long_word = strncmp(word, "--", 2) == 0;
    if (c == ':') {
        // A value is missing only at the end of argv, so `word` is the word
        // that held the option: "--in" or a cluster such as "-qi".
        opt_name(optopt, long_word ? long_index_of(optopt) : -1, name, sizeof name);
        return usage_error("option '%s' needs a value", name);
    }
    if (optopt == 0) {
        int len = (int)strcspn(word, "=");
        return usage_error("%s option '%.*s'", long_matches(word) > 1
                           ? "ambiguous" : "unknown", len, word);
    }
    // A known option reaching '?' is a long one given a value it does not
    // take (--quiet=1): known short options never do.
    bool known = optopt >= 256 || (optopt != ':' && strchr(shortopts, optopt));
    if (known) {
        opt_name(optopt, long_index_of(optopt), name, sizeof name);
        return usage_error("option '%s' takes no value", name);
    }
    opt_name(optopt, -1, name, sizeof name);
    return usage_error("unknown option '%s'", name);
}

static int
set_path(path_opt_t *p, const char *name, const char *arg)
{
    if (!*arg)
        return usage_error("option '%s' needs a path, not ''", name);
    p->path = arg;
    snprintf(p->name, sizeof p->name, "%s", name);
    return 0;
}

static int
take_pagerank_option(opts_t *o, int c, const char *name, const char *arg)
{
    if (!o->is_pr)
        return usage_error("option '%s' applies to pagerank only", name);
    if (c == 'u') {
        o->undirected = true;
        return 0;
    }
    if (o->n_params == MAX_PARAMS)
        return usage_error("too many options");
    o->params[o->n_params++] = (gx_param_t){
        c == 'n' ? "iterations" : c == 't' ? "tol" : "damping", arg };
    o->have_iter |= c == 'n';
    o->have_tol |= c == 't';
    return 0;
}

static int
take_option(opts_t *o, int c, const char *name, const char *arg)
{
    switch (c) {
    case 'i': return set_path(&o->input, name, arg);
    case 'o': return set_path(&o->output, name, arg);
    case OPT_REPORT: return set_path(&o->report, name, arg);
    case OPT_VERTICES: return set_path(&o->vertices, name, arg);
    case 'q': o->quiet = true; return 0;
    case 'h': o->help = true; return 0;
    case 'n': case 't': case 'd': case 'u':
        return take_pagerank_option(o, c, name, arg);
    case OPT_WORKERS:
        if (parse_uint(arg, MAX_WORKERS, &o->workers) != 0 || o->workers == 0)
            return usage_error("%s must be an integer in 1..%u, not '%s'", name,
                               MAX_WORKERS, arg);
        return 0;
    case OPT_PARTITIONS:
        if (parse_uint(arg, MAX_PARTS, &o->parts) != 0 || o->parts == 0)
            return usage_error("%s must be an integer in 1..%u, not '%s'", name,
                               MAX_PARTS, arg);
        return 0;
    case OPT_STRATEGY:
        if (gx_strategy_parse(arg, &o->strategy) != 0)
            return usage_error("unknown strategy '%s' (2d, 1d, random, "
                               "canonical)", arg);
        return 0;
    default:
        return usage_error("unhandled option %d", c);   // a table out of step
    }
}

// Phase 1: the command line into *o. 0, or the exit status of a usage
// error already reported. -h stops parsing: help wins over a missing -i.
static int
parse_options(opts_t *o, const char *cmd, int argc, char **argv)
{
    *o = (opts_t){ .cmd = cmd, .prog = gx_algo_find(cmd),
                   .strategy = GX_STRATEGY_2D };
    snprintf(prog_name, sizeof prog_name, "graphx-run %s", cmd);
    if (!o->prog) {
        snprintf(prog_name, sizeof prog_name, "graphx-run");
        return usage_error("unknown command '%s'", cmd);
    }
    o->is_pr = strcmp(cmd, "pagerank") == 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o->workers = cores > 0 ? (uint64_t)cores : 1;

    optind = 1;
    opterr = 0;
    int c, li;
    while (li = -1, (c = getopt_long(argc, argv, shortopts, longopts, &li)) != -1) {
        if (c == '?' || c == ':')
            return bad_option(c, argv);
        char name[24];
        opt_name(c, li, name, sizeof name);
        int rc = take_option(o, c, name, optarg);
        if (rc != 0 || o->help)
            return rc;
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!o->input.path)
        return usage_error("missing -i INPUT");
    if (o->have_iter && o->have_tol)
        return usage_error("--iterations and --tol exclude each other");
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
check_paths(const opts_t *o)
{
    const path_opt_t *in = &o->input, *vx = &o->vertices;
    if (vx->path && gx_paths_same_stream(in->path, vx->path))
        return usage_error("'%s' and '%s' cannot both read %s", in->name, vx->name,
                           strcmp(in->path, "-") && strcmp(vx->path, "-")
                           ? "one stream" : "standard input");
    // Pairs: -o with --report, -i, --vertices; --report with -i, --vertices.
    const path_opt_t *outs[] = { &o->output, &o->report };
    const path_opt_t *others[] = { &o->report, &o->input, &o->vertices };
    for (size_t i = 0; i < 2; i++)
        for (size_t j = i; j < 3; j++) {
            const path_opt_t *a = outs[i], *b = others[j];
            if (!a->path || !b->path || strcmp(b->path, "-") == 0)
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
set_up_job(const opts_t *o, gx_job_t *job)
{
    *job = (gx_job_t){
        .input = o->input.path, .vertices = o->vertices.path,
        .program = o->prog, .strategy = o->strategy,
        .undirected = o->undirected, .workers = (unsigned)o->workers,
        .partitions = (unsigned)(o->parts ? o->parts : o->workers),
    };
    // Each worker holds three sockets, each a file descriptor: let the
    // process use all the descriptors its hard limit allows.
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    gx_error_t err = { { 0 } };
    if (o->prog->setup && o->prog->setup(o->params, o->n_params,
                                         &job->program_state, &err) != 0)
        return usage_error("%s", err.msg);
    return 0;
}

// The files and streams of one run, from opening to commit.
typedef struct sink {
    gx_outfile_t      out, report;
    gx_progress_out_t pg;
} sink_t;

// Phase 4: everything the results will go to, before loading starts: both
// temporaries exist, and a closed stdout or stderr that would be written
// fails now rather than after the computation.
static int
open_sinks(const opts_t *o, sink_t *s, gx_error_t *err)
{
    if (!o->quiet && gx_stdfds_was_closed(STDERR_FILENO))
        return gx_error_set(err, "cannot write progress: standard error is "
                            "closed (-q for none)");
    if (!o->output.path && gx_stdout_check(err) != 0)
        return -1;                              // the summary would go there
    if (o->output.path && gx_outfile_open(&s->out, o->output.path, err) != 0)
        return -1;
    if (o->report.path && gx_outfile_open(&s->report, o->report.path, err) != 0)
        return -1;
    return 0;
}

// Phase 6: values, report and summary, then the renames, only once every
// write has succeeded, stdout's and stderr's included: a failed run leaves
// nothing at either path. Both files are closed before either is renamed,
// so a late close() error cannot leave one in place and not the other.
static int
write_results(const opts_t *o, sink_t *s, const gx_result_t *res, double t0,
              gx_error_t *err)
{
    if (o->output.path && !o->quiet) {
        gx_progress_t p = { .stage = GX_STAGE_OUTPUT };
        gx_progress_show(&p, &s->pg);
    }
    if (o->output.path && gx_write_values(&s->out, o->prog, res, err) != 0)
        return -1;
    gx_run_info_t info = { o->cmd, o->input.path, o->strategy,
                           gx_clock_now() - t0, peak_rss() };
    if (!o->quiet)
        gx_progress_done(&s->pg);
    if (o->report.path && gx_write_report(&s->report, &info, res, err) != 0)
        return -1;
    if (!o->output.path) {
        gx_print_summary(stdout, &info, o->prog, res);
        if (gx_stdout_close(err) != 0)
            return -1;
    }
    // Seen by a sticky flag: the failed write's errno is long gone.
    if (gx_stderr_failed())
        return gx_error_set(err, "cannot write progress to standard error");
    if (gx_outfile_close(&s->out, err) != 0
        || gx_outfile_close(&s->report, err) != 0
        || gx_outfile_commit(&s->out, err) != 0
        || gx_outfile_commit(&s->report, err) != 0)
        return -1;
    return 0;
}

// Phases 4 to 6. 0 or EXIT_RUNTIME, the error reported.
static int
execute(const opts_t *o, gx_job_t *job)
{
    sink_t s = { .out = GX_OUTFILE_NONE, .report = GX_OUTFILE_NONE };
    gx_progress_init(&s.pg);
    if (!o->quiet) {
        job->progress = gx_progress_show;
        job->progress_arg = &s.pg;
    }
    gx_error_t err = { { 0 } };
    gx_result_t res = { 0 };
    double t0 = gx_clock_now();
    int rc = open_sinks(o, &s, &err);
    if (rc == 0) {
        rc = gx_run(job, &res, &err);           // phase 5
        if (rc != 0 && !o->quiet)
            gx_progress_abandon(&s.pg);
    }
    if (rc == 0)
        rc = write_results(o, &s, &res, t0, &err);
    gx_result_free(&res);
    if (rc == 0)
        return 0;
    gx_outfile_abandon(&s.out);
    gx_outfile_abandon(&s.report);
    return runtime_error(&err);
}

static int
run_command(const char *cmd, int argc, char **argv)
{
    opts_t o;
    int rc = parse_options(&o, cmd, argc, argv);
    if (rc != 0)
        return rc;
    if (o.help)
        return print_to_stdout(o.is_pr ? print_pagerank_help : print_cc_help);
    if ((rc = check_paths(&o)) != 0)
        return rc;
    gx_job_t job;
    if ((rc = set_up_job(&o, &job)) != 0)
        return rc;
    rc = execute(&o, &job);
    if (o.prog->teardown)
        o.prog->teardown(job.program_state);
    return rc;
}

static int
dispatch(int argc, char **argv)
{
    if (argc < 2) {
        print_main_help(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0
        || strcmp(cmd, "help") == 0)
        return print_to_stdout(print_main_help);
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
    gx_error_t err = { { 0 } };
    if (gx_stdout_close(&err) != 0 && status == 0)
        status = runtime_error(&err);
    if (gx_stderr_failed() && status == 0)
        status = EXIT_RUNTIME;
    return status;
}
