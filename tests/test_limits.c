// tests/test_limits.c: graphx-run under resource limits, end to end.
// Each case runs the binary in a child with one rlimit set (as `ulimit`
// does) and checks what a user sees: the run either works or stops with
// exit 1 and one line naming the limit, never a signal (libzmq aborts on
// a failed allocation), never a hang (Criterion timeouts), never a file
// left beside the output. Memory is the child's own peak RSS.
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testproc.h"
#include "testutil.h"

static void
setup(void)
{
    gx_test_tmpdir_make("limits");
}

TestSuite(limits, .init = setup, .fini = gx_test_tmpdir_remove);

typedef struct outcome {
    int    status;           // wait status
    long   max_rss_kb;
    char   err[1024];        // stderr, whole
} outcome_t;

// Runs the graphx-run at `bin` with argv (NULL-terminated, without the
// program name) under `limit` = value (RLIM_INFINITY: none), as user `uid`
// if >= 0.
static outcome_t
run_limited_as(const char *bin, int uid, int limit, rlim_t value,
               const char *const *args)
{
    char errpath[4096];
    snprintf(errpath, sizeof errpath, "%s", gx_test_tmp_path("stderr"));
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        int n = open("/dev/null", O_RDWR);
        if (e < 0 || n < 0 || dup2(n, 0) < 0 || dup2(n, 1) < 0
            || dup2(e, 2) < 0)
            _exit(99);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        if (uid >= 0 && (setgid((gid_t)uid) != 0 || setuid((uid_t)uid) != 0))
            _exit(97);
        if (value != RLIM_INFINITY) {
            struct rlimit rl = { value, value };
            if (setrlimit(limit, &rl) != 0)
                _exit(96);
        }
        char *argv[32] = { "graphx-run" };
        for (int i = 0; args[i] && i < 30; i++)
            argv[i + 1] = (char *)args[i];
        execv(bin, argv);
        _exit(98);
    }
    outcome_t o = { 0 };
    struct rusage ru;
    cr_assert_eq(wait4(pid, &o.status, 0, &ru), pid);
    o.max_rss_kb = ru.ru_maxrss;
    FILE *f = fopen(errpath, "r");
    cr_assert_not_null(f);
    size_t len = fread(o.err, 1, sizeof o.err - 1, f);
    o.err[len] = 0;
    fclose(f);
    return o;
}

// The built graphx-run, as the user running the suite.
static outcome_t
run_limited(int limit, rlim_t value, const char *const *args)
{
    return run_limited_as(GX_BIN, -1, limit, value, args);
}

// The outcome of a run that may fail for lack of a resource: never a
// signal; an error is exit 1 and one line.
static void
assert_clean(const outcome_t *o)
{
    cr_assert(WIFEXITED(o->status), "killed by signal %d: %s",
              WIFSIGNALED(o->status) ? WTERMSIG(o->status) : 0, o->err);
    int code = WEXITSTATUS(o->status);
    cr_assert(code == 0 || code == 1, "exit %d: %s", code, o->err);
    if (code == 1) {
        char *nl = strchr(o->err, '\n');
        cr_assert(nl && nl[1] == 0, "not one line: %s", o->err);
    }
}

static int
files_named(const char *prefix)
{
    DIR *d = opendir(gx_test_tmpdir());
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

#define KARATE GX_DATASETS "/karate.txt"

// AddressSanitizer and ThreadSanitizer reserve terabytes of shadow address
// space at start, so a binary built with either cannot run under ulimit -v,
// and its resident shadow says nothing of our memory.
static void
skip_under_sanitizer(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    gx_test_tmpdir_remove();
    cr_skip_test("ulimit -v and a sanitizer's shadow memory exclude each "
                 "other");
#endif
}

Test(limits, ulimit_n_64_still_runs_one_worker)
{
    const char *args[] = { "cc", "-q", "-i", KARATE, "--workers", "1", NULL };
    outcome_t o = run_limited(RLIMIT_NOFILE, 64, args);
    cr_assert(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0, "%s", o.err);
}

Test(limits, ulimit_n_64_refuses_sixteen_workers_naming_the_descriptors)
{
    const char *out = gx_test_tmp_path("out.tsv");
    const char *args[] = { "cc", "-q", "-i", KARATE, "--workers", "16",
                           "-o", out, NULL };
    outcome_t o = run_limited(RLIMIT_NOFILE, 64, args);
    assert_clean(&o);
    cr_assert_eq(WEXITSTATUS(o.status), 1);
    cr_assert(strstr(o.err, "file descriptors") && strstr(o.err, "ulimit -n"),
              "%s", o.err);
    cr_assert_eq(files_named("out.tsv"), 0);
}

// 300 MB: 16 workers fit or are refused, but ZeroMQ never aborts.
Test(limits, under_ulimit_v_sixteen_workers_run_or_stop_cleanly, .timeout = 60)
{
    skip_under_sanitizer();
    for (int i = 0; i < 6; i++) {
        const char *out = gx_test_tmp_path("out.tsv");
        const char *args[] = { "cc", "-q", "-i", KARATE, "--workers", "16",
                               "-o", out, NULL };
        outcome_t o = run_limited(RLIMIT_AS, (rlim_t)300000 * 1024, args);
        assert_clean(&o);
        if (WEXITSTATUS(o.status) == 0)
            cr_assert_eq(unlink(out), 0);
        cr_assert_eq(files_named("out.tsv"), 0, "%s", o.err);
    }
}

Test(limits, a_tiny_ulimit_v_is_refused_before_any_work, .timeout = 30)
{
    skip_under_sanitizer();
    const char *out = gx_test_tmp_path("out.tsv");
    const char *args[] = { "cc", "-q", "-i", KARATE, "-o", out, NULL };
    outcome_t o = run_limited(RLIMIT_AS, (rlim_t)40000 * 1024, args);
    assert_clean(&o);
    cr_assert_eq(WEXITSTATUS(o.status), 1);
    cr_assert(strstr(o.err, "ulimit -v") || strstr(o.err, "out of memory"),
              "%s", o.err);
    cr_assert_eq(files_named("out.tsv"), 0);
}

// A copy of `from` at dir/name with `mode` (set apart from the umask).
static const char *
copy_into(const char *dir, const char *name, const char *from, mode_t mode)
{
    static char to[8][4096];
    static unsigned slot;
    char *path = to[slot++ % 8];
    snprintf(path, sizeof to[0], "%s/%s", dir, name);
    size_t len;
    char *bytes = gx_test_read_file(from, &len);
    gx_test_write_bytes(path, bytes, len);
    free(bytes);
    cr_assert_eq(chmod(path, mode), 0, "chmod %s: %s", path, strerror(errno));
    return path;
}

// A sanitizer reads its suppressions file (tests/*.supp, in the clone)
// at start and stops if it cannot: point `var`'s suppressions= at a copy
// in dir. The child inherits the environment through execv.
static void
stage_suppressions(const char *var, const char *dir)
{
    const char *opts = getenv(var), *at = opts ? strstr(opts, "suppressions=")
                                               : NULL;
    if (!at)
        return;
    const char *from = at + strlen("suppressions=");
    size_t len = strcspn(from, ":");
    char src[4096], opt[8192];
    cr_assert_lt(len, sizeof src);
    snprintf(src, sizeof src, "%.*s", (int)len, from);
    const char *to = copy_into(dir, var, src, 0644);
    snprintf(opt, sizeof opt, "%.*s%s%s", (int)(from - opts), opts, to,
             from + len);
    cr_assert_eq(setenv(var, opt, 1), 0);
}

// Another user may not reach the clone: it may live under a 0700
// directory (/root, a Debian 12 home), where `nobody` can enter neither
// build/ nor datasets/ and execv fails. So what such a run reads goes into
// a root-owned 0755 directory inside the test's /tmp one (removed with
// it): graphx-run (the project's libraries are linked in statically, the
// rest are system ones; a sanitized build runs as well from there), its
// input, and any sanitizer suppressions. Returns the copied binary.
static const char *
stage_for_another_user(void)
{
    const char *dir = gx_test_tmp_path("staged");
    cr_assert_eq(mkdir(dir, 0755), 0, "mkdir %s: %s", dir, strerror(errno));
    cr_assert_eq(chmod(dir, 0755), 0);
    stage_suppressions("LSAN_OPTIONS", dir);
    stage_suppressions("TSAN_OPTIONS", dir);
    copy_into(dir, "karate.txt", KARATE, 0644);
    return copy_into(dir, "graphx-run", GX_BIN, 0755);
}

// As root, RLIMIT_NPROC binds only another user: run as nobody, with room
// for the main thread and a few more, but not for eight workers. Nobody
// writes its output into the test's directory, hence 0777.
Test(limits, threads_that_cannot_start_end_the_run_within_seconds,
     .timeout = 30)
{
    if (geteuid() != 0) {
        gx_test_tmpdir_remove();
        cr_skip_test("needs root to run as another user");
    }
    cr_assert_eq(chmod(gx_test_tmpdir(), 0777), 0);
    const char *bin = stage_for_another_user();
    const char *in = gx_test_tmp_path("staged/karate.txt");
    const char *out = gx_test_tmp_path("out.tsv");
    const char *args[] = { "cc", "-q", "-i", in, "--workers", "8",
                           "-o", out, NULL };
    double t0 = gx_test_now();
    outcome_t o = run_limited_as(bin, 65534, RLIMIT_NPROC, 6, args);
    assert_clean(&o);
    cr_assert_eq(WEXITSTATUS(o.status), 1, "%s", o.err);
    cr_assert(strstr(o.err, "cannot start") && strstr(o.err, "ulimit -u"),
              "%s", o.err);
    cr_assert_lt(gx_test_now() - t0, 10.0);
    cr_assert_eq(files_named("out.tsv"), 0);
}

// Memory follows the graph, not the number of workers or partitions.
Test(limits, two_hundred_fifty_six_workers_on_karate_stay_under_300_mb,
     .timeout = 120)
{
    skip_under_sanitizer();             // shadow memory is resident too
    const char *sets[][4] = { { "--workers", "256", "--partitions", "256" },
                              { "--workers", "256", "--partitions", "65536" },
                              { "--workers", "2", "--partitions", "65536" } };
    for (size_t i = 0; i < 3; i++) {
        const char *args[] = { "cc", "-q", "-i", KARATE, sets[i][0],
                               sets[i][1], sets[i][2], sets[i][3], NULL };
        outcome_t o = run_limited(RLIMIT_NOFILE, RLIM_INFINITY, args);
        cr_assert(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0, "%s",
                  o.err);
        cr_assert_lt(o.max_rss_kb, 300 * 1024, "%s %s %s %s: %ld KiB",
                     sets[i][0], sets[i][1], sets[i][2], sets[i][3],
                     o.max_rss_kb);
    }
}
