// tests/test_plugin.c: the plugin suite. graphx-run run --program PATH.so
// end to end: every refusal of cli/plugin.c (each one line naming the
// path, exit 1, no output file), parameters reaching setup() from --param
// and from declared options in command-line order, help texts made from
// the programs' own descriptions, a plugin's values against a count made
// here, and the installed SDK building a plugin out of the tree with
// pkg-config and with CMake. The binary is spawned under timeout(1), with
// stdout and stderr captured to files.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "algos/algos.h"
#include "testutil.h"

extern char **environ;

#define RUN_TIMEOUT "60"             // seconds: a run longer than this is a hang
#define PLUGIN(name) GX_PLUGIN_DIR "/" name ".so"
#if defined(__x86_64__)
#define THIS_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define THIS_MACHINE EM_AARCH64
#endif

static void
setup(void)
{
    gx_test_tmpdir_make("plugin");
}

TestSuite(plugin, .init = setup, .fini = gx_test_tmpdir_remove);

// ---- Running the binary -------------------------------------------------------

typedef struct run {
    int   code;                      // exit status; 124 on a timeout
    char *out, *err;
} run_t;

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    gx_test_text_t t = { 0 };
    gx_test_text_add(&t, "%s", "");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        gx_test_text_add(&t, "%.*s", (int)n, buf);
    fclose(f);
    return t.s;
}

// argv (NULL-ended) under `timeout`, stdin from /dev/null.
static run_t
run_argv(const char *const *argv)
{
    const char *full[48] = { "timeout", "-k", "5", RUN_TIMEOUT };
    size_t n = 4;
    for (size_t i = 0; argv[i]; i++) {
        cr_assert_lt(n, 47);
        full[n++] = argv[i];
    }
    full[n] = NULL;
    const char *out = gx_test_tmp_path(".stdout"), *err = gx_test_tmp_path(".stderr");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawnp(&pid, full[0], &fa, NULL, (char *const *)full, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "spawn timeout: %s", strerror(rc));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        cr_assert_eq(errno, EINTR);
    cr_assert(WIFEXITED(status), "%s: status %#x", argv[0], status);
    run_t r = { WEXITSTATUS(status), slurp(out), slurp(err) };
    cr_assert(r.out && r.err);
    unlink(out);
    unlink(err);
    cr_assert_neq(r.code, 124, "%s %s ... timed out", argv[0], argv[1]);
    return r;
}

#define GX(...) run_argv((const char *[]){ GX_BIN, __VA_ARGS__, NULL })

static void
run_free(run_t *r)
{
    free(r->out);
    free(r->err);
}

static size_t
count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static bool
dir_is_empty(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", dir);
    return system(cmd) == 0;
}

// ---- Refusals -----------------------------------------------------------------

// `run --program path` must exit 1 with one line on stderr,
// "graphx-run run: PATH: ..." holding `why`, nothing on stdout, and no
// file in the output directory (the temporaries come after the check).
static void
assert_refused(const char *path, const char *why)
{
    const char *in = gx_test_write_tmp("g.txt", "1 2\n2 3\n");
    const char *dir = gx_test_tmp_path("out");
    mkdir(dir, 0755);
    char out[300], rep[300], want[600];
    snprintf(out, sizeof out, "%s/values.tsv", dir);
    snprintf(rep, sizeof rep, "%s/report.json", dir);
    snprintf(want, sizeof want, "graphx-run run: %s: ", path);
    run_t r = GX("run", "--program", path, "-i", in, "-o", out, "--report", rep, "-q");
    cr_assert_eq(r.code, 1, "%s: exit %d, stderr: %s", path, r.code, r.err);
    cr_assert_str_empty(r.out, "%s: stdout: %s", path, r.out);
    cr_assert_eq(count_lines(r.err), 1, "%s: stderr: %s", path, r.err);
    cr_assert(strncmp(r.err, want, strlen(want)) == 0, "stderr: %s", r.err);
    cr_assert(strstr(r.err, why), "%s: stderr '%s' lacks '%s'", path, r.err, why);
    cr_assert(dir_is_empty(dir), "%s: something was left in %s", path, dir);
    run_free(&r);
}

Test(plugin, refuses_a_missing_file)
{
    assert_refused(gx_test_tmp_path("nope.so"), "No such file");
}

Test(plugin, refuses_a_directory)
{
    const char *d = gx_test_tmp_path("dir.so");
    cr_assert_eq(mkdir(d, 0755), 0);
    assert_refused(d, "is a directory");
}

Test(plugin, refuses_a_text_file)
{
    assert_refused(gx_test_write_tmp("text.so", "not a library\n"), "not an ELF file");
}

Test(plugin, refuses_an_unreadable_file)
{
    if (geteuid() == 0) {
        gx_test_tmpdir_remove();
        cr_skip_test("root reads any file");
    }
    const char *p = gx_test_write_tmp("secret.so", "\177ELF");
    cr_assert_eq(chmod(p, 0), 0);
    assert_refused(p, "cannot read: Permission denied");
}

// A valid 64-byte ELF64 header of this byte order, with the given machine
// and type. The rest of the file is absent: the header is all that is read.
static const char *
write_elf64(const char *name, unsigned machine, unsigned type)
{
    Elf64_Ehdr h = { 0 };
    memcpy(h.e_ident, ELFMAG, SELFMAG);
    h.e_ident[EI_CLASS] = ELFCLASS64;
    h.e_ident[EI_DATA] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB
                                                                   : ELFDATA2MSB;
    h.e_ident[EI_VERSION] = EV_CURRENT;
    h.e_type = (Elf64_Half)type;
    h.e_machine = (Elf64_Half)machine;
    h.e_version = EV_CURRENT;
    h.e_ehsize = sizeof h;
    cr_assert_eq(sizeof h, 64);
    const char *p = gx_test_tmp_path(name);
    gx_test_write_bytes(p, &h, sizeof h);
    return p;
}

Test(plugin, refuses_an_elf_file_for_another_machine)
{
#if defined(__x86_64__)
    unsigned other = EM_AARCH64;
    const char *is = "built for arm64, this machine is x86-64";
#else
    unsigned other = EM_X86_64;
    const char *is = "built for x86-64";
#endif
    assert_refused(write_elf64("arm.so", other, ET_DYN), is);
    assert_refused(write_elf64("odd.so", 0x1234, ET_DYN), "ELF machine 4660");
}

Test(plugin, refuses_a_32_bit_elf_file)
{
    Elf32_Ehdr h = { 0 };
    memcpy(h.e_ident, ELFMAG, SELFMAG);
    h.e_ident[EI_CLASS] = ELFCLASS32;
    h.e_ident[EI_DATA] = ELFDATA2LSB;
    h.e_type = ET_DYN;
    h.e_machine = EM_386;
    const char *p = gx_test_tmp_path("i386.so");
    gx_test_write_bytes(p, &h, sizeof h);
    assert_refused(p, "a 32-bit ELF file; this graphx-run is 64-bit");
}

Test(plugin, refuses_a_truncated_elf_header)
{
    Elf64_Ehdr h;
    const char *full = write_elf64("full.so", EM_X86_64, ET_DYN);
    FILE *f = fopen(full, "rb");
    cr_assert_eq(fread(&h, 1, sizeof h, f), sizeof h);
    fclose(f);
    const char *p = gx_test_tmp_path("short.so");
    gx_test_write_bytes(p, &h, 40);
    assert_refused(p, "truncated ELF header");
}

Test(plugin, refuses_an_executable_and_a_relocatable_object)
{
    assert_refused(GX_EXEC, "an executable, not a shared object");
    assert_refused(write_elf64("x.o", THIS_MACHINE, ET_REL), "a relocatable object");
}

Test(plugin, refuses_a_library_without_the_entry_symbol)
{
    assert_refused(PLUGIN("bad_nosym"), "no symbol 'graphx_program'");
}

Test(plugin, refuses_an_entry_returning_null)
{
    assert_refused(PLUGIN("bad_null"), "graphx_program() returned NULL");
}

Test(plugin, refuses_another_abi_version)
{
    assert_refused(PLUGIN("bad_abi"), "built for ABI version 1, this engine speaks 2");
}

Test(plugin, refuses_another_struct_size)
{
    assert_refused(PLUGIN("bad_size"), "gx_program_t of");
}

Test(plugin, refuses_a_program_without_apply)
{
    assert_refused(PLUGIN("bad_noapply"), "init, scatter, apply and format are required");
}

Test(plugin, names_a_plugin_given_without_a_slash_by_its_own_path)
{
    // dlopen would search the library path for "outdeg.so": the file in
    // the current directory must be the one checked and loaded.
    char cwd[4096];
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    cr_assert_eq(chdir(gx_test_tmpdir()), 0);
    gx_test_write_tmp("local.so", "text\n");
    run_t r = GX("run", "--program", "local.so", "-i", "g.txt");
    cr_assert_eq(chdir(cwd), 0);
    cr_assert_eq(r.code, 1);
    cr_assert(strstr(r.err, "graphx-run run: local.so: not an ELF file"), "%s", r.err);
    run_free(&r);
}

// ---- Values, parameters and the summary -------------------------------------

// A random multigraph on ids 0..99 (duplicates and loops included), its
// out-degrees and in-degrees, and vertex 500 from a vertices file.
typedef struct degrees {
    uint64_t out[501], in[501];
    bool     is[501];
} degrees_t;

static const char *
write_graph(degrees_t *d, const char **vfile)
{
    memset(d, 0, sizeof *d);
    gx_test_text_t t = { 0 };
    uint64_t seed = 12;
    for (int e = 0; e < 400; e++) {
        uint64_t s = gx_test_xorshift64(&seed) % 100, x = gx_test_xorshift64(&seed) % 100;
        gx_test_text_add(&t, "%" PRIu64 " %" PRIu64 "\n", s, x);
        d->out[s]++;
        d->in[x]++;
        d->is[s] = d->is[x] = true;
    }
    d->is[500] = true;
    const char *p = gx_test_tmp_path("graph.txt");
    gx_test_write_bytes(p, t.s, t.n);
    free(t.s);
    *vfile = gx_test_write_tmp("graph.v", "500\n");
    return p;
}

// The TSV every vertex gets from value(out, in).
static char *
expected_tsv(const degrees_t *d, bool both, uint64_t scale, uint64_t add)
{
    gx_test_text_t t = { 0 };
    gx_test_text_add(&t, "%s", "");
    for (uint64_t v = 0; v <= 500; v++) {
        if (!d->is[v])
            continue;
        if (both)
            gx_test_text_add(&t, "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n", v,
                             d->out[v], d->in[v]);
        else
            gx_test_text_add(&t, "%" PRIu64 "\t%" PRIu64 "\n", v,
                             d->out[v] * scale + add);
    }
    return t.s;
}

static void
assert_file(const char *path, const char *want)
{
    char *got = slurp(path);
    cr_assert_not_null(got, "%s: %s", path, strerror(errno));
    cr_assert_str_eq(got, want, "%s differs", path);
    free(got);
}

Test(plugin, runs_a_plugin_end_to_end_as_the_count_made_here)
{
    degrees_t d;
    const char *vf, *in = write_graph(&d, &vf);
    const char *out = gx_test_tmp_path("deg.tsv");
    char *want = expected_tsv(&d, false, 1, 0);
    const char *ws[] = { "1", "2", "3" };
    for (size_t i = 0; i < 3; i++) {
        run_t r = GX("run", "--program", PLUGIN("outdeg"), "-i", in, "--vertices", vf,
                     "-o", out, "--workers", ws[i], "--strategy", "random", "-q");
        cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
        cr_assert_str_empty(r.err);
        assert_file(out, want);
        run_free(&r);
    }
    free(want);
}

Test(plugin, passes_params_and_declared_options_to_setup_in_command_line_order)
{
    degrees_t d;
    const char *vf, *in = write_graph(&d, &vf);
    const char *out = gx_test_tmp_path("deg.tsv");
    struct { const char *args[8]; uint64_t scale, add; } cases[] = {
        { { "--offset", "1", "--param", "offset=5" }, 1, 5 },
        { { "--param", "offset=5", "-k", "1" }, 1, 1 },
        { { "-k7", "--scale", "3" }, 3, 7 },
        { { "--scale=2", "--off", "4" }, 2, 4 },            // an abbreviation
        // "workers" clashes with the common option: --param reaches setup,
        // --workers stays the worker count.
        { { "--param", "workers=100", "--workers", "2" }, 1, 100 },
        { { "--param=scale=0" }, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[24] = { GX_BIN, "run", "--program", PLUGIN("outdeg"),
                                 "-i", in, "--vertices", vf, "-o", out, "-q" };
        size_t n = 11;
        for (size_t j = 0; cases[i].args[j]; j++)
            argv[n++] = cases[i].args[j];
        run_t r = run_argv(argv);
        cr_assert_eq(r.code, 0, "case %zu: exit %d: %s", i, r.code, r.err);
        char *want = expected_tsv(&d, false, cases[i].scale, cases[i].add);
        assert_file(out, want);
        free(want);
        run_free(&r);
    }
}

static void
assert_usage(const char *const *argv, const char *want)
{
    run_t r = run_argv(argv);
    cr_assert_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_assert_str_empty(r.out);
    cr_assert_eq(count_lines(r.err), 1, "stderr: %s", r.err);
    cr_assert(strstr(r.err, want), "stderr '%s' lacks '%s'", r.err, want);
    run_free(&r);
}

#define USAGE(want, ...) \
    assert_usage((const char *[]){ GX_BIN, "run", __VA_ARGS__, NULL }, want)

Test(plugin, reports_a_parameter_setup_rejects_naming_its_key)
{
    const char *in = gx_test_write_tmp("g.txt", "1 2\n");
    const char *dir = gx_test_tmp_path("out");
    cr_assert_eq(mkdir(dir, 0755), 0);
    char out[300];
    snprintf(out, sizeof out, "%s/v.tsv", dir);
    const char *p = PLUGIN("outdeg");
    USAGE("graphx-run run: outdeg: offset 'abc' is not an integer", "--program", p,
          "-i", in, "-o", out, "--offset", "abc");
    USAGE("outdeg: scale '-1' is not", "--program", p, "-i", in, "-o", out,
          "--param", "scale=-1");
    USAGE("outdeg: unknown parameter 'colour'", "--program", p, "-i", in, "-o", out,
          "--param", "colour=red");
    USAGE("option '--param' needs KEY=VALUE, not 'offset'", "--program", p, "-i", in,
          "--param", "offset");
    USAGE("option '--param' needs KEY=VALUE, not '=3'", "--program", p, "-i", in,
          "--param", "=3");
    // A clashing key has no option of its own, not even its letter.
    USAGE("unknown option '-w'", "--program", p, "-i", in, "-w", "3");
    USAGE("missing --program PATH", "-i", in);
    USAGE("option '--program' needs a path, not ''", "--program", "", "-i", in);
    USAGE("give --program once, spelt in full", "--program", p, "-i", in,
          "--prog", p);
    cr_assert(dir_is_empty(dir));
    assert_usage((const char *[]){ GX_BIN, "cc", "--program", p, "-i", in, NULL },
                 "unknown option '--program'");
}

Test(plugin, summarizes_the_largest_values_with_the_programs_label)
{
    const char *in = gx_test_write_tmp("g.txt", "7 1\n7 2\n7 3\n5 1\n5 2\n9 9\n");
    run_t r = GX("run", "--program", PLUGIN("outdeg"), "-i", in, "-q");
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_assert(strstr(r.out, "graphx-run outdeg on "), "%s", r.out);
    const char *top = strstr(r.out, "top 6 vertices by out-degree:\n");
    cr_assert_not_null(top, "%s", r.out);
    uint64_t id[3], v[3];
    const char *p = strchr(strchr(top, '\n') + 1, '\n') + 1;
    for (int i = 0; i < 3; i++) {
        size_t k;
        cr_assert_eq(sscanf(p, " %zu %" SCNu64 " %" SCNu64, &k, &id[i], &v[i]), 3, "%s", p);
        p = strchr(p, '\n') + 1;
    }
    cr_assert(id[0] == 7 && v[0] == 3 && id[1] == 5 && v[1] == 2 && id[2] == 9 && v[2] == 1,
              "%s", r.out);
    cr_assert_null(strstr(r.out, "direct messages"), "%s", r.out);
    run_free(&r);
}

Test(plugin, counts_direct_messages_and_the_dropped_ones)
{
    const char *in = gx_test_write_tmp("path.txt", "1 2\n2 3\n3 4\n4 5\n");
    const char *out = gx_test_tmp_path("d.tsv"), *rep = gx_test_tmp_path("d.json");
    run_t r = GX("run", "--program", PLUGIN("direct"), "-i", in, "-o", out,
                 "--report", rep, "--workers", "2", "-q");
    cr_assert_eq(r.code, 0, "%s", r.err);
    assert_file(out, "1\t-1\n2\t1\n3\t2\n4\t3\n5\t4\n");
    run_free(&r);
    char *json = slurp(rep);
    cr_assert(strstr(json, "\"algorithm\": \"direct\""), "%s", json);
    cr_assert(strstr(json, "\"plugin\": \"" PLUGIN("direct") "\""), "%s", json);
    cr_assert(strstr(json, "\"direct_messages\": 5,"), "%s", json);
    cr_assert(strstr(json, "\"dropped\": 1,"), "%s", json);
    free(json);

    r = GX("run", "--program", PLUGIN("direct"), "-i", in, "-q");
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_assert(strstr(r.out, "\n  direct messages 5\n"), "%s", r.out);
    cr_assert(strstr(r.out, "\n  dropped         1 "), "%s", r.out);
    cr_assert(strstr(r.out, "\n  sums            5\n"), "%s", r.out);
    cr_assert(strstr(r.out, "5 largest sums:\n"), "%s", r.out);
    cr_assert(strstr(r.out, "                    -1  1\n"), "%s", r.out);
    run_free(&r);
}

Test(plugin, writes_null_as_the_plugin_of_a_built_in_in_the_report)
{
    const char *in = gx_test_write_tmp("g.txt", "1 2\n");
    const char *rep = gx_test_tmp_path("r.json");
    run_t r = GX("cc", "-i", in, "--report", rep, "-q");
    cr_assert_eq(r.code, 0, "%s", r.err);
    char *json = slurp(rep);
    cr_assert(strstr(json, "\"algorithm\": \"cc\",\n  \"plugin\": null,"), "%s", json);
    cr_assert(strstr(json, "\"direct_messages\": "), "%s", json);
    cr_assert(strstr(json, "\"dropped\": 0,"), "%s", json);
    free(json);
    run_free(&r);
}

// ---- Help ---------------------------------------------------------------------

// `help` of `prog` shows its summary, description and every parameter:
// the option (or --param KEY=) and its help line.
static void
assert_program_help(const char *out, const gx_program_t *prog)
{
    if (prog->summary)
        cr_assert(strstr(out, prog->summary), "no summary in:\n%s", out);
    if (prog->description) {
        char first[80];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(prog->description, "\n"),
                 prog->description);
        cr_assert(strstr(out, first), "no description in:\n%s", out);
    }
    for (size_t i = 0; prog->params && prog->params[i].key; i++) {
        char opt[128];
        snprintf(opt, sizeof opt, "--%s ", prog->params[i].key);
        cr_assert(strstr(out, opt), "no %s in:\n%s", opt, out);
        if (prog->params[i].help)
            cr_assert(strstr(out, prog->params[i].help), "no help for %s in:\n%s",
                      prog->params[i].key, out);
    }
    cr_assert(strstr(out, "--workers N"), "no common options in:\n%s", out);
    cr_assert(strstr(out, "--param KEY=VALUE"), "no --param in:\n%s", out);
}

Test(plugin, makes_each_built_ins_help_from_its_program)
{
    cr_assert_gt(gx_algo_count(), 0);
    for (size_t i = 0; i < gx_algo_count(); i++) {
        const gx_program_t *p = gx_algo_at(i);
        run_t r = GX(p->name, "--help");
        cr_assert_eq(r.code, 0, "%s", r.err);
        assert_program_help(r.out, p);
        run_free(&r);
    }
    run_t r = GX("--help");
    cr_assert_eq(r.code, 0);
    for (size_t i = 0; i < gx_algo_count(); i++) {
        char line[256];
        snprintf(line, sizeof line, "  %-10s %s\n", gx_algo_at(i)->name,
                 gx_algo_at(i)->summary);
        cr_assert(strstr(r.out, line), "no '%s' in:\n%s", line, r.out);
    }
    cr_assert(strstr(r.out, "  run        "), "%s", r.out);
    run_free(&r);
}

Test(plugin, shows_a_plugins_help_with_its_parameters)
{
    run_t r = GX("run", "--program", PLUGIN("outdeg"), "--help");
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_assert(strncmp(r.out, "Usage: graphx-run run --program " PLUGIN("outdeg")
                      " -i INPUT [-o OUTPUT]", 40) == 0, "%s", r.out);
    cr_assert(strstr(r.out, "out-degree, scaled and offset (a test plugin)\n"), "%s", r.out);
    cr_assert(strstr(r.out, "Each vertex's value is its out-degree times --scale plus\n"),
              "%s", r.out);
    cr_assert(strstr(r.out, "  -k, --offset N         added to every out-degree "
                            "(default 0)\n"), "%s", r.out);
    cr_assert(strstr(r.out, "      --scale N          every out-degree times N"),
              "%s", r.out);
    cr_assert(strstr(r.out, "      --param workers=N  added too"), "%s", r.out);
    cr_assert(strstr(r.out, "--program PATH"), "%s", r.out);
    run_free(&r);

    r = GX("run", "--help");
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_assert(strstr(r.out, "Usage: graphx-run run --program PATH.so"), "%s", r.out);
    run_free(&r);

    // A broken plugin is refused even for --help.
    r = GX("run", "--program", PLUGIN("bad_null"), "--help");
    cr_assert_eq(r.code, 1);
    cr_assert_str_empty(r.out);
    run_free(&r);
}

// ---- The SDK, out of the tree --------------------------------------------------

// The example built out of the tree: algos/examples/degree.c.
#define SDK_SOURCE GX_SOURCE_DIR "/algos/examples/degree.c"

static bool
have(const char *tool)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

static void
sh(const char *what, const char *cmd)
{
    char full[4096];
    snprintf(full, sizeof full, "timeout 300 sh -c '%s' >%s/sh.log 2>&1", cmd,
             gx_test_tmpdir());
    int rc = system(full);
    if (rc != 0) {
        char log[300];
        snprintf(log, sizeof log, "%s/sh.log", gx_test_tmpdir());
        char *text = slurp(log);
        cr_assert_fail("%s failed (%d): %s\n%s", what, rc, cmd, text ? text : "");
    }
}

Test(plugin, builds_a_plugin_out_of_the_tree_with_pkg_config_and_with_cmake,
     .timeout = 600)
{
    if (!have("cc") || !have("pkg-config") || !have(GX_CMAKE)) {
        gx_test_tmpdir_remove();
        cr_skip_test("needs cc, pkg-config and cmake on PATH");
    }
    const char *tmp = gx_test_tmpdir();
    const char *src = SDK_SOURCE;
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "\"%s\" --install \"%s\" --prefix %s/prefix",
             GX_CMAKE, GX_BUILD_DIR, tmp);
    sh("cmake --install", cmd);

    // 1. pkg-config, and nothing else: no -I of the source tree.
    snprintf(cmd, sizeof cmd, "PKG_CONFIG_PATH=%s/prefix/lib/pkgconfig; "
             "export PKG_CONFIG_PATH; cc -shared -fPIC -Wall -Werror "
             "$(pkg-config --cflags graphx) \"%s\" -o %s/pc.so", tmp, src, tmp);
    sh("cc with pkg-config", cmd);

    // 2. A CMake project of its own: find_package(graphx).
    char proj[300];
    snprintf(proj, sizeof proj, "%s/proj", tmp);
    cr_assert_eq(mkdir(proj, 0755), 0);
    char lists[2048];
    snprintf(lists, sizeof lists,
             "cmake_minimum_required(VERSION 3.18)\n"
             "project(myprog LANGUAGES C)\n"
             "find_package(graphx 0.1 REQUIRED)\n"
             "add_library(myprog MODULE \"%s\")\n"
             "set_target_properties(myprog PROPERTIES PREFIX \"\")\n"
             "target_link_libraries(myprog PRIVATE graphx::program)\n", src);
    char path[400];
    snprintf(path, sizeof path, "%s/CMakeLists.txt", proj);
    gx_test_write_bytes(path, lists, strlen(lists));
    snprintf(cmd, sizeof cmd, "\"%s\" -S %s -B %s/build -DCMAKE_PREFIX_PATH=%s/prefix "
             "&& \"%s\" --build %s/build", GX_CMAKE, proj, proj, tmp, GX_CMAKE, proj);
    sh("cmake find_package(graphx)", cmd);

    degrees_t d;
    const char *vf, *in = write_graph(&d, &vf);
    char *want = expected_tsv(&d, true, 1, 0);
    char so[2][400];
    snprintf(so[0], sizeof so[0], "%s/pc.so", tmp);
    snprintf(so[1], sizeof so[1], "%s/build/myprog.so", proj);
    for (int i = 0; i < 2; i++) {
        const char *out = gx_test_tmp_path("sdk.tsv");
        run_t r = GX("run", "--program", so[i], "-i", in, "--vertices", vf, "-o", out,
                     "-q");
        cr_assert_eq(r.code, 0, "%s: exit %d: %s", so[i], r.code, r.err);
        assert_file(out, want);
        run_free(&r);
    }
    free(want);
}
