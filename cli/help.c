// cli/help.c: help texts from the programs' own descriptions, so a new
// built-in or a plugin documents itself and this file never changes for
// one. The layout (two columns, the second at column 25) follows the
// common options, which are the same for every command.
#include "cli/help.h"

#include <string.h>
#include "algos/algos.h"
#include "cli/opts.h"

#define HELP_COL 23                 // width of the left column after "  "

void
gx_help_main(FILE *out)
{
    fprintf(out,
"Usage: graphx-run COMMAND -i INPUT [-o OUTPUT] [OPTIONS]\n"
"       graphx-run run --program PATH.so -i INPUT [-o OUTPUT] [OPTIONS]\n"
"\n"
"Pregel-style graph processing on every core of this machine, or across\n"
"machines: add --master tcp://ADDR:PORT --workers N and start graphx-worker\n"
"on each (or --spawn N for worker processes here).\n"
"\n"
"Commands:\n");
    for (size_t i = 0; i < gx_algo_count(); i++) {
        const gx_program_t *p = gx_algo_at(i);
        fprintf(out, "  %-10s %s\n", p->name, p->summary ? p->summary : "");
    }
    fprintf(out,
"  %-10s a vertex program from a shared object (--program PATH.so)\n"
"\n"
"Options:\n"
"  -h, --help      this help ('graphx-run COMMAND --help' for a command)\n"
"  -V, --version   print the version\n", "run");
}

static void
print_common(FILE *out, bool run)
{
    if (run)
        fprintf(out,
"      --program PATH     the vertex program: a shared object exporting\n"
"                         graphx_program() (required)\n");
    fprintf(out,
"      --param KEY=VALUE  a parameter of the program (repeatable)\n"
"  -i, --input PATH       edge list: a file, a directory of part files, a .gz\n"
"                         file, or - for standard input (required)\n"
"  -o, --output PATH      write 'vertex<TAB>value' for every vertex to PATH\n"
"                         (- for standard output; default: print a summary)\n"
"      --output-parts DIR each worker writes its own vertices to\n"
"                         DIR/part-NNNNN (sorted by id), then DIR/_SUCCESS\n"
"  -u, --undirected       read each edge as two directed edges\n"
"      --vertices PATH    vertex ids, one per line (isolated vertices count)\n"
"      --workers N        worker threads (default: the number of cores); with\n"
"                         --master or --spawn, worker processes to wait for\n"
"      --partitions N     edge partitions (default: = worker threads)\n"
"      --strategy S       2d | 1d | random | canonical (default 2d)\n"
"      --report FILE      write run figures as JSON to FILE (- for standard\n"
"                         output; the summary then goes to standard error)\n"
"      --memory SIZE      this process's memory budget (512M, 8G; default\n"
"                         90%% of the smaller of RAM and the cgroup limit):\n"
"                         over it, partitions' edges are paged out to disk.\n"
"                         Local mode: the whole run's. Distributed: the\n"
"                         master's own; each graphx-worker has its own\n"
"                         --memory, and --spawn passes this one on\n"
"      --spill-dir DIR    where paged-out data goes (default $TMPDIR, /tmp;\n"
"                         --spawn passes it on)\n"
"  -q, --quiet            no progress on stderr\n"
"Distributed mode (graphx-worker processes over TCP):\n"
"      --master tcp://ADDR:PORT  listen there for --workers N graphx-worker\n"
"                         processes, then run across them\n"
"      --spawn N          start N graphx-worker processes on this host\n"
"                         (--master defaults to a free loopback port)\n"
"      --wait-timeout SEC how long to wait for the workers (default 60)\n"
"      --secret-file FILE the shared secret workers prove (default: the\n"
"                         GRAPHX_SECRET variable; --spawn makes one)\n"
"      --curve            encrypt and authenticate every connection (CURVE)\n"
"  -h, --help             this help\n");
}

// One parameter: "-n, --iterations N", "    --max-iterations N", or, for
// a key that is no option, "    --param workers=N".
static void
print_param(FILE *out, const gx_program_t *prog, size_t i)
{
    const gx_param_spec_t *s = &prog->params[i];
    const char *hint = s->value_hint ? s->value_hint : "VALUE";
    char left[128];
    if (gx_opts_param_is_short(prog, i))
        snprintf(left, sizeof left, "-%c, --%s %s", s->short_opt, s->key, hint);
    else if (gx_opts_param_is_long(prog, i))
        snprintf(left, sizeof left, "    --%s %s", s->key, hint);
    else
        snprintf(left, sizeof left, "    --param %s=%s", s->key, hint);
    if (strlen(left) < HELP_COL)
        fprintf(out, "  %-*s%s\n", HELP_COL, left, s->help ? s->help : "");
    else
        fprintf(out, "  %s\n  %*s%s\n", left, HELP_COL, "", s->help ? s->help : "");
}

// The description as given, with its paragraphs; one newline at its end.
static void
print_text(FILE *out, const char *text)
{
    size_t n = strlen(text);
    fprintf(out, "\n%s%s", text, n && text[n - 1] == '\n' ? "" : "\n");
}

void
gx_help_program(FILE *out, const char *usage, const gx_program_t *prog)
{
    fprintf(out, "Usage: graphx-run %s -i INPUT [-o OUTPUT] [OPTIONS]\n", usage);
    if (prog->summary)
        print_text(out, prog->summary);
    if (prog->description)
        print_text(out, prog->description);
    if (prog->params && prog->params[0].key) {
        fprintf(out, "\nParameters (each also --param KEY=VALUE):\n");
        for (size_t i = 0; prog->params[i].key; i++)
            print_param(out, prog, i);
    }
    fprintf(out, "\nOptions:\n");
    print_common(out, strncmp(usage, "run", 3) == 0);
}

void
gx_help_run(FILE *out)
{
    fprintf(out,
"Usage: graphx-run run --program PATH.so -i INPUT [-o OUTPUT] [OPTIONS]\n"
"\n"
"Runs the vertex program a shared object exports (include/graphx/program.h;\n"
"see 'Writing a vertex program' in the README). With --program,\n"
"--help shows the program's own parameters.\n"
"\n"
"Options:\n");
    print_common(out, true);
}
