// cli/opts.c: options from the command line. getopt_long runs over a table
// made per command: the common options, then the program's declared
// parameters. An option a built-in other than this command's declares is
// named as such ("applies to pagerank only"), found in the registry, not
// in a list kept here.
#include "cli/opts.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "algos/algos.h"
#include "core/budget.h"

#define MAX_WORKERS 256u
#define MAX_PARTS   65536u

enum {
    OPT_WORKERS = 256, OPT_PARTITIONS, OPT_STRATEGY, OPT_REPORT, OPT_VERTICES,
    OPT_PARAM, OPT_PROGRAM, OPT_PARTS, OPT_MASTER, OPT_WAIT, OPT_SPAWN,
    OPT_SECRET, OPT_CURVE, OPT_MEMORY, OPT_SPILL_DIR,
    OPT_DECLARED = 1024,            // + the parameter's index
};

static const struct option common_longs[] = {
    { "input", required_argument, NULL, 'i' },
    { "output", required_argument, NULL, 'o' },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { "undirected", no_argument, NULL, 'u' },
    { "workers", required_argument, NULL, OPT_WORKERS },
    { "partitions", required_argument, NULL, OPT_PARTITIONS },
    { "strategy", required_argument, NULL, OPT_STRATEGY },
    { "report", required_argument, NULL, OPT_REPORT },
    { "vertices", required_argument, NULL, OPT_VERTICES },
    { "output-parts", required_argument, NULL, OPT_PARTS },
    { "param", required_argument, NULL, OPT_PARAM },
    { "master", required_argument, NULL, OPT_MASTER },
    { "wait-timeout", required_argument, NULL, OPT_WAIT },
    { "spawn", required_argument, NULL, OPT_SPAWN },
    { "secret-file", required_argument, NULL, OPT_SECRET },
    { "curve", no_argument, NULL, OPT_CURVE },
    { "memory", required_argument, NULL, OPT_MEMORY },
    { "spill-dir", required_argument, NULL, OPT_SPILL_DIR },
    { "program", required_argument, NULL, OPT_PROGRAM },   // run only: last
};
#define N_COMMON (sizeof common_longs / sizeof common_longs[0])
// ':' first: a missing value is reported as ':', not '?'. V is taken at
// the top level (graphx-run -V).
static const char common_shorts[] = ":i:o:qhu";
static const char reserved_shorts[] = "ioqhuV";

// ---- Which parameters are options -------------------------------------------

static bool
key_is_word(const char *k)
{
    if (!k || !*k || *k == '-')
        return false;
    for (; *k; k++)
        if (!(islower((unsigned char)*k) || isdigit((unsigned char)*k) || *k == '-'))
            return false;
    return true;
}

bool
gx_opts_param_is_long(const gx_program_t *prog, size_t i)
{
    const char *key = prog->params[i].key;
    if (!key_is_word(key))
        return false;
    for (size_t c = 0; c < N_COMMON; c++)
        if (strcmp(key, common_longs[c].name) == 0)
            return false;
    for (size_t j = 0; j < i; j++)
        if (strcmp(key, prog->params[j].key) == 0)
            return false;
    return true;
}

bool
gx_opts_param_is_short(const gx_program_t *prog, size_t i)
{
    char c = prog->params[i].short_opt;
    if (!gx_opts_param_is_long(prog, i) || !isalnum((unsigned char)c)
        || (unsigned char)c >= 128 || strchr(reserved_shorts, c))
        return false;
    for (size_t j = 0; j < i; j++)
        if (prog->params[j].short_opt == c && gx_opts_param_is_short(prog, j))
            return false;
    return true;
}

static size_t
n_specs(const gx_program_t *prog)
{
    size_t n = 0;
    while (prog && prog->params && prog->params[n].key)
        n++;
    return n;
}

// ---- The table --------------------------------------------------------------

typedef struct table {
    struct option *longs;           // NULL-ended
    char          *shorts;
    int            by_short[128];   // letter -> parameter index, or -1
} table_t;

static int
table_build(table_t *t, const gx_program_t *prog, bool with_program,
            gx_error_t *err)
{
    size_t np = n_specs(prog), n = 0;
    t->longs = calloc(N_COMMON + np + 1, sizeof *t->longs);
    t->shorts = calloc(sizeof common_shorts + 2 * np, 1);
    if (!t->longs || !t->shorts)
        return gx_error_set(err, "out of memory");
    for (size_t c = 0; c < N_COMMON; c++)
        if (with_program || common_longs[c].val != OPT_PROGRAM)
            t->longs[n++] = common_longs[c];
    memcpy(t->shorts, common_shorts, sizeof common_shorts);
    size_t ns = strlen(t->shorts);
    for (int c = 0; c < 128; c++)
        t->by_short[c] = -1;
    for (size_t i = 0; i < np; i++) {
        if (!gx_opts_param_is_long(prog, i))
            continue;
        t->longs[n++] = (struct option){ prog->params[i].key,
            required_argument, NULL, OPT_DECLARED + (int)i };
        if (gx_opts_param_is_short(prog, i)) {
            char c = prog->params[i].short_opt;
            t->shorts[ns++] = c;
            t->shorts[ns++] = ':';
            t->by_short[(int)c] = (int)i;
        }
    }
    return 0;
}

static void
table_free(table_t *t)
{
    free(t->longs);
    free(t->shorts);
}

static int
long_index_of(const table_t *t, int val)
{
    for (int i = 0; t->longs[i].name; i++)
        if (t->longs[i].val == val)
            return i;
    return -1;
}

// Option `c` as the user wrote it: "--iterations" when getopt_long matched
// the long form (longindex >= 0; an abbreviation gets its full name), "-n"
// otherwise. Never argv[optind - 1]: that is the option's value when the
// value was a separate word, and -qn3 is one word holding two options.
static void
opt_name(const table_t *t, int c, int longindex, char *buf, size_t cap)
{
    if (longindex >= 0)
        snprintf(buf, cap, "--%s", t->longs[longindex].name);
    else if (c > 0 && c < 128 && isgraph(c))
        snprintf(buf, cap, "-%c", c);
    else
        snprintf(buf, cap, "-\\x%02x", (unsigned)c & 0xffu);
}

// How many long options `word` (--xyz or --xyz=v) abbreviates; an exact
// name counts as one, as getopt_long takes it over longer ones.
static int
long_matches(const table_t *t, const char *word)
{
    size_t len = strcspn(word + 2, "=");
    int n = 0;
    for (int i = 0; t->longs[i].name; i++) {
        if (strncmp(t->longs[i].name, word + 2, len) != 0)
            continue;
        if (t->longs[i].name[len] == '\0')
            return 1;
        n++;
    }
    return n;
}

// ---- Options of other built-ins ---------------------------------------------

// Does parameter i of p match the option: the letter `c`, or else the
// long `word` (exactly, or as an abbreviation when !exact)?
static bool
spec_matches(const gx_program_t *p, size_t i, int c, const char *word,
             size_t len, bool exact)
{
    if (c)
        return gx_opts_param_is_short(p, i) && p->params[i].short_opt == c;
    return gx_opts_param_is_long(p, i)
           && strncmp(p->params[i].key, word, len) == 0
           && (!exact || p->params[i].key[len] == '\0');
}

// The one key other built-ins declare for the letter `c` or the long
// `word`, and which of them declare it ("pagerank" or "a, b"). NULL if
// none, or if an abbreviation could be several keys.
static const char *
foreign_key(const gx_program_t *self, int c, const char *word, char *owners,
            size_t cap)
{
    size_t len = word ? strcspn(word, "=") : 0;
    const char *key = NULL;
    owners[0] = '\0';
    for (int exact = 1; exact >= 0 && !key; exact--)
        for (size_t b = 0; b < gx_algo_count(); b++) {
            const gx_program_t *p = gx_algo_at(b);
            for (size_t i = 0; p != self && i < n_specs(p); i++) {
                if (!spec_matches(p, i, c, word, len, exact))
                    continue;
                if (key && strcmp(key, p->params[i].key) != 0)
                    return NULL;                // ambiguous
                key = p->params[i].key;
                size_t used = strlen(owners);
                snprintf(owners + used, cap - used, "%s%s", used ? ", " : "",
                         p->name);
                break;
            }
        }
    return key;
}

static int
unknown_option(const gx_program_t *self, int c, const char *word, gx_error_t *err)
{
    char owners[128];
    const char *key = foreign_key(self, c, word, owners, sizeof owners);
    if (key && c)
        return gx_error_set(err, "option '-%c' applies to %s only", c, owners);
    if (key)
        return gx_error_set(err, "option '--%s' applies to %s only", key, owners);
    if (c)
        return gx_error_set(err, "unknown option '-%c'", c);
    return gx_error_set(err, "unknown option '--%.*s'",
                        (int)strcspn(word, "="), word);
}

// getopt_long's '?' and ':' as messages. optopt is the option's value for a
// known option, the character of an unknown short one, and 0 for an
// unknown or ambiguous long one, which is then the word argv[optind - 1].
static int
bad_option(const table_t *t, const gx_program_t *prog, int c, char **argv,
           gx_error_t *err)
{
    char name[80];
    const char *word = argv[optind - 1];
    bool long_word = strncmp(word, "--", 2) == 0;
    if (c == ':') {
        // A value is missing only at the end of argv, so `word` is the word
        // that held the option: "--in" or a cluster such as "-qi".
        opt_name(t, optopt, long_word ? long_index_of(t, optopt) : -1, name,
                 sizeof name);
        return gx_error_set(err, "option '%s' needs a value", name);
    }
    if (optopt == 0) {
        if (long_matches(t, word) > 1)
            return gx_error_set(err, "ambiguous option '%.*s'",
                                (int)strcspn(word, "="), word);
        return unknown_option(prog, 0, word + 2, err);
    }
    // A known option reaching '?' is a long one given a value it does not
    // take (--quiet=1): known short options never do.
    bool known = optopt >= 256 || (optopt != ':' && strchr(t->shorts, optopt));
    if (known) {
        opt_name(t, optopt, long_index_of(t, optopt), name, sizeof name);
        return gx_error_set(err, "option '%s' takes no value", name);
    }
    if (optopt > 0 && optopt < 128 && isgraph(optopt))
        return unknown_option(prog, optopt, NULL, err);
    opt_name(t, optopt, -1, name, sizeof name);
    return gx_error_set(err, "unknown option '%s'", name);
}

// ---- Taking options ---------------------------------------------------------

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
set_path(gx_path_opt_t *p, const char *name, const char *arg, gx_error_t *err)
{
    if (!*arg)
        return gx_error_set(err, "option '%s' needs a path, not ''", name);
    p->path = arg;
    snprintf(p->name, sizeof p->name, "%s", name);
    return 0;
}

// --param KEY=VALUE: the key is copied out, argv stays as it was.
static int
take_param(gx_opts_t *o, const char *name, const char *arg, gx_error_t *err)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return gx_error_set(err, "option '%s' needs KEY=VALUE, not '%s'", name,
                            arg);
    char *key = strndup(arg, (size_t)(eq - arg));
    if (!key)
        return gx_error_set(err, "out of memory");
    o->keys[o->n_keys++] = key;
    o->params[o->n_params++] = (gx_param_t){ key, eq + 1 };
    return 0;
}

static int
take_number(uint64_t *v, uint64_t max, const char *name, const char *arg,
            gx_error_t *err)
{
    if (parse_uint(arg, max, v) != 0 || *v == 0)
        return gx_error_set(err, "%s must be an integer in 1..%" PRIu64
                            ", not '%s'", name, max, arg);
    return 0;
}

static int
take_option(gx_opts_t *o, int c, const char *name, const char *arg,
            gx_error_t *err)
{
    switch (c) {
    case 'i': return set_path(&o->input, name, arg, err);
    case 'o': return set_path(&o->output, name, arg, err);
    case OPT_REPORT: return set_path(&o->report, name, arg, err);
    case OPT_VERTICES: return set_path(&o->vertices, name, arg, err);
    case OPT_PARTS: return set_path(&o->parts_dir, name, arg, err);
    case 'q': o->quiet = true; return 0;
    case 'h': o->help = true; return 0;
    case 'u': o->undirected = true; return 0;
    case OPT_PARAM: return take_param(o, name, arg, err);
    case OPT_WORKERS:
        o->workers_given = true;
        return take_number(&o->workers, MAX_WORKERS, name, arg, err);
    case OPT_MASTER:
        if (strncmp(arg, "tcp://", 6) != 0 || !strchr(arg + 6, ':'))
            return gx_error_set(err, "option '%s' needs tcp://HOST:PORT, not "
                                "'%s'", name, arg);
        o->master = arg;
        return 0;
    case OPT_WAIT:
        return take_number(&o->wait_timeout, 86400, name, arg, err);
    case OPT_SPAWN:
        return take_number(&o->spawn, MAX_WORKERS, name, arg, err);
    case OPT_SECRET: return set_path(&o->secret_file, name, arg, err);
    case OPT_CURVE: o->curve = true; return 0;
    case OPT_MEMORY:
        if (gx_size_parse(arg, &o->memory) != 0 || o->memory < (16u << 20))
            return gx_error_set(err, "%s needs a size of at least 16M (e.g. "
                                "512M, 8G), not '%s'", name, arg);
        return 0;
    case OPT_SPILL_DIR: return set_path(&o->spill_dir, name, arg, err);
    case OPT_PARTITIONS:
        return take_number(&o->parts, MAX_PARTS, name, arg, err);
    case OPT_STRATEGY:
        if (gx_strategy_parse(arg, &o->strategy) != 0)
            return gx_error_set(err, "unknown strategy '%s' (2d, 1d, random, "
                                "canonical)", arg);
        return 0;
    default:
        return gx_error_set(err, "unhandled option %d", c);  // a table out of step
    }
}

// A declared parameter (long or short) goes to setup as it was given.
static int
declared_index(const table_t *t, int c)
{
    if (c >= OPT_DECLARED)
        return c - OPT_DECLARED;
    if (c > 0 && c < 128)
        return t->by_short[c];
    return -1;
}

static int
take(gx_opts_t *o, const table_t *t, int c, int li, const char *program_path,
     gx_error_t *err)
{
    char name[80];
    opt_name(t, c, li, name, sizeof name);
    int d = declared_index(t, c);
    if (d >= 0) {
        o->params[o->n_params++] = (gx_param_t){ o->prog->params[d].key, optarg };
        return 0;
    }
    if (c == OPT_PROGRAM && optarg != program_path)
        return gx_error_set(err, "give --program once, spelt in full");
    if (c == OPT_PROGRAM)
        return 0;
    return take_option(o, c, name, optarg, err);
}

// Distributed mode: --master and --spawn go with --workers (processes).
static int
check_cluster(gx_opts_t *o, gx_error_t *err)
{
    bool dist = o->master || o->spawn;
    if (!dist) {
        if (o->wait_timeout || o->secret_file.path || o->curve)
            return gx_error_set(err, "--wait-timeout, --secret-file and "
                                "--curve need --master or --spawn");
        return 0;
    }
    if (!o->workers_given && !o->spawn)
        return gx_error_set(err, "--master needs --workers N, the number of "
                            "worker processes to wait for");
    if (!o->workers_given)
        o->workers = o->spawn;
    if (o->spawn > o->workers)
        return gx_error_set(err, "--spawn %" PRIu64 " starts more workers than "
                            "--workers %" PRIu64, o->spawn, o->workers);
    return 0;
}

static int
parse_argv(gx_opts_t *o, const table_t *t, const char *program_path, int argc,
           char **argv, gx_error_t *err)
{
    optind = 1;
    opterr = 0;
    int c, li;
    while (li = -1, (c = getopt_long(argc, argv, t->shorts, t->longs, &li)) != -1) {
        if (c == '?' || c == ':')
            return bad_option(t, o->prog, c, argv, err);
        if (take(o, t, c, li, program_path, err) != 0)
            return -1;
        if (o->help)
            return 0;
    }
    if (optind < argc)
        return gx_error_set(err, "unexpected argument '%s'", argv[optind]);
    if (!o->prog)
        return gx_error_set(err, "missing --program PATH");
    if (!o->input.path)
        return gx_error_set(err, "missing -i INPUT");
    if (o->output.path && o->parts_dir.path)
        return gx_error_set(err, "'%s' and '%s' exclude each other: one file "
                            "or a directory of parts", o->output.name,
                            o->parts_dir.name);
    return check_cluster(o, err);
}

int
gx_opts_parse(gx_opts_t *o, const char *cmd, const gx_program_t *prog,
              const char *program_path, int argc, char **argv, gx_error_t *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (gx_opts_t){ .cmd = cmd, .prog = prog, .strategy = GX_STRATEGY_2D,
                      .workers = cores > 0 ? (uint64_t)cores : 1 };
    // Each parameter takes at least one word.
    o->params = calloc((size_t)argc + 1, sizeof *o->params);
    o->keys = calloc((size_t)argc + 1, sizeof *o->keys);
    if (!o->params || !o->keys)
        return gx_error_set(err, "out of memory");
    table_t t = { 0 };
    int rc = table_build(&t, prog, strcmp(cmd, "run") == 0, err);
    if (rc == 0)
        rc = parse_argv(o, &t, program_path, argc, argv, err);
    table_free(&t);
    return rc;
}

void
gx_opts_free(gx_opts_t *o)
{
    for (size_t i = 0; i < o->n_keys; i++)
        free(o->keys[i]);
    free(o->keys);
    free(o->params);
    o->keys = NULL;
    o->params = NULL;
    o->n_keys = o->n_params = 0;
}

// ---- --program before the rest ----------------------------------------------

// Does the common option written as `w` (exactly) take the next word?
static bool
takes_next_word(const char *w)
{
    if (w[0] == '-' && w[1] && w[1] != '-' && w[2] == '\0') {
        const char *p = strchr(common_shorts, w[1]);
        return p && p[1] == ':';
    }
    if (strncmp(w, "--", 2) != 0 || strchr(w, '='))
        return false;
    for (size_t c = 0; c < N_COMMON; c++)
        if (strcmp(w + 2, common_longs[c].name) == 0)
            return common_longs[c].has_arg == required_argument;
    return false;
}

void
gx_opts_find_program(int argc, char **argv, const char **path)
{
    *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (strcmp(w, "--") == 0)
            return;
        if (strncmp(w, "--program=", 10) == 0) {
            *path = w + 10;
            return;
        }
        if (strcmp(w, "--program") == 0) {
            *path = i + 1 < argc ? argv[i + 1] : NULL;
            return;
        }
        if (takes_next_word(w))
            i++;
    }
}
