// cli/main.c: graphx-run. Parses the command line, runs the engine, writes
// the results. Exit status: 0 success, 1 a runtime error (bad input, I/O),
// 2 a usage error; an error is one line on stderr.
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "algos/algos.h"
#include "cli/output.h"
#include "core/clock.h"
#include "graphx/graphx.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2
#define MAX_WORKERS  256u
#define MAX_PARTS    65536u
#define MAX_PARAMS   8

static const char *prog_name = "graphx-run";

static int
usage_error(const char *fmt, const char *detail)
{
    fprintf(stderr, "%s: ", prog_name);
    fprintf(stderr, fmt, detail);
    fprintf(stderr, " (try '%s --help')\n", prog_name);
    return EXIT_USAGE;
}

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

static uint64_t
peak_rss(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_maxrss * 1024;
}

enum {
    OPT_WORKERS = 256, OPT_PARTITIONS, OPT_STRATEGY, OPT_REPORT, OPT_VERTICES,
};

static int
run_command(const char *cmd, int argc, char **argv)
{
    const gx_program_t *prog = gx_algo_find(cmd);
    if (!prog)
        return usage_error("unknown command '%s'", cmd);
    bool is_pr = strcmp(cmd, "pagerank") == 0;

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
    gx_job_t job = { .program = prog, .strategy = GX_STRATEGY_2D };
    const char *output = NULL, *report = NULL;
    bool quiet = false;
    gx_param_t params[MAX_PARAMS];
    size_t n_params = 0;
    bool have_iter = false, have_tol = false;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t workers = cores > 0 ? (uint64_t)cores : 1, parts = 0;

    char label[64];
    snprintf(label, sizeof label, "graphx-run %s", cmd);
    prog_name = label;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":i:o:qhn:t:d:u", longopts, NULL))
           != -1) {
        switch (c) {
        case 'i': job.input = optarg; break;
        case 'o': output = optarg; break;
        case 'q': quiet = true; break;
        case 'h':
            (is_pr ? print_pagerank_help : print_cc_help)(stdout);
            return 0;
        case 'n': case 't': case 'd': case 'u':
            if (!is_pr)
                return usage_error("option '%s' applies to pagerank only",
                                   argv[optind - 1]);
            if (c == 'u') {
                job.undirected = true;
                break;
            }
            if (n_params == MAX_PARAMS)
                return usage_error("%s", "too many options");
            params[n_params++] = (gx_param_t){
                c == 'n' ? "iterations" : c == 't' ? "tol" : "damping", optarg };
            have_iter |= c == 'n';
            have_tol |= c == 't';
            break;
        case OPT_WORKERS:
            if (parse_uint(optarg, MAX_WORKERS, &workers) != 0 || workers == 0)
                return usage_error("--workers must be an integer in 1..256, "
                                   "not '%s'", optarg);
            break;
        case OPT_PARTITIONS:
            if (parse_uint(optarg, MAX_PARTS, &parts) != 0 || parts == 0)
                return usage_error("--partitions must be an integer in "
                                   "1..65536, not '%s'", optarg);
            break;
        case OPT_STRATEGY:
            if (gx_strategy_parse(optarg, &job.strategy) != 0)
                return usage_error("unknown strategy '%s' (2d, 1d, random, "
                                   "canonical)", optarg);
            break;
        case OPT_REPORT: report = optarg; break;
        case OPT_VERTICES: job.vertices = optarg; break;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!job.input)
        return usage_error("%s", "missing -i INPUT");
    if (have_iter && have_tol)
        return usage_error("%s", "--iterations and --tol exclude each other");
    job.workers = (unsigned)workers;
    job.partitions = (unsigned)(parts ? parts : workers);

    // Each worker holds three sockets, each a file descriptor: let the
    // process use all the descriptors its hard limit allows.
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }

    // Parameters are checked by the program itself, before any work.
    gx_error_t err = { { 0 } };
    if (prog->setup && prog->setup(params, n_params, &job.program_state,
                                   &err) != 0) {
        fprintf(stderr, "%s: %s (try '%s --help')\n", label, err.msg, label);
        return EXIT_USAGE;
    }

    int status = EXIT_RUNTIME;
    gx_outfile_t out = { .fd = -1 };
    gx_result_t res = { 0 };
    gx_progress_out_t pg;
    gx_progress_init(&pg);
    if (!quiet) {
        job.progress = gx_progress_show;
        job.progress_arg = &pg;
    }
    double t0 = gx_clock_now();
    if (output && gx_outfile_open(&out, output, &err) != 0)
        goto done;
    if (gx_run(&job, &res, &err) != 0) {
        if (!quiet)
            gx_progress_abandon(&pg);
        goto done;
    }
    if (output && !quiet) {
        gx_progress_t p = { .stage = GX_STAGE_OUTPUT };
        gx_progress_show(&p, &pg);
    }
    if (output && gx_write_values(&out, prog, &res, &err) != 0)
        goto done;
    gx_run_info_t info = { cmd, job.input, job.strategy, 0, 0 };
    info.total_seconds = gx_clock_now() - t0;
    info.peak_rss = peak_rss();
    if (!quiet)
        gx_progress_done(&pg);
    if (report && gx_write_report(report, &info, &res, &err) != 0)
        goto done;
    if (output) {
        if (gx_outfile_commit(&out, &err) != 0)
            goto done;
    } else {
        gx_print_summary(stdout, &info, prog, &res);
    }
    status = 0;
done:
    if (status != 0) {
        gx_outfile_abandon(&out);
        fprintf(stderr, "%s: %s\n", label, err.msg);
    }
    gx_result_free(&res);
    if (prog->teardown)
        prog->teardown(job.program_state);
    return status;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        print_main_help(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0
        || strcmp(cmd, "help") == 0) {
        print_main_help(stdout);
        return 0;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("graphx-run %s\n", GRAPHX_VERSION);
        return 0;
    }
    if (cmd[0] == '-')
        return usage_error("unknown option '%s'", cmd);
    return run_command(cmd, argc - 1, argv + 1);
}
