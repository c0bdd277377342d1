// tests/testproc.h: what the end-to-end suites (cluster, trust, secrets,
// outputs) need to run graphx-run and graphx-worker as real processes:
// children started with their stderr on a pipe and read back, waits that
// always have a deadline, command lines built piece by piece, free ports
// on 127.0.0.1, and whole files read back for comparison. Failures are
// Criterion assertions, as in testutil.h.
//
// No test can hang or leave a process behind: every child is in its own
// process group, dies with the test process (PDEATHSIG), and is killed
// with its group by proc_kill_all, which each suite's .fini calls:
//     static void teardown(void) { proc_kill_all(); gx_test_tmpdir_remove(); }
// The table of children is static, but Criterion forks every test from a
// runner that starts none, so each test begins with it empty.
#ifndef GX_TESTS_TESTPROC_H
#define GX_TESTS_TESTPROC_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "testutil.h"

#define PROC_MAX 16             // children one test may start

// A NULL-terminated list of strings, for argv and env parameters.
#define LIST(...) ((const char *const[]){ __VA_ARGS__, NULL })

typedef struct proc {
    pid_t          pid;
    int            err_fd;        // its stderr, non-blocking; -1 once closed
    gx_test_text_t err;           // what it wrote there so far
    int            status;        // from waitpid, once exited
    bool           exited;
} proc_t;

// Forks a child that runs body(arg), which must not return (exec or
// _exit). In the child: its own group, dead with the test, stdin from
// `in` (NULL: /dev/null), stdout on /dev/null, stderr on the pipe, the
// environment changed by `env` ("K=V" sets, "K" unsets; NULL: none).
proc_t     *proc_fork(void (*body)(const void *), const void *arg,
                      const char *in, const char *const *env);
proc_t     *proc_start(const char *const *argv, const char *const *env);
proc_t     *proc_start_in(const char *const *argv, const char *in);
// Kills every child of this test with its group and frees what it kept.
void        proc_kill_all(void);

void        proc_drain(proc_t *p);        // reads what stderr holds so far
const char *proc_err(proc_t *p);          // drains, then all of it so far
bool        proc_done(proc_t *p);         // without waiting: has it exited?
// Waits up to `secs` for p to exit (reading its stderr); whether it did.
bool        proc_wait(proc_t *p, double secs);
// Waits up to `secs` for `needle` on p's stderr; false at the deadline or
// once p has exited and its stderr is closed without it.
bool        proc_wait_text(proc_t *p, const char *needle, double secs);
// p exits with `code` (-1: any but 0) within `secs`.
void        proc_expect_exit(proc_t *p, double secs, int code);
void        proc_expect_err(proc_t *p, const char *needle);  // on stderr now

// A command line: args_t a = { 0 }; then args_add / args_fmt; a.v is argv.
typedef struct args {
    const char *v[64];
    int         n;
    char        pool[4096];       // args_fmt's strings
    size_t      used;
} args_t;

void        args_add(args_t *a, const char *const *list);
void        args_fmt(args_t *a, const char *fmt, ...)
                __attribute__((format(printf, 2, 3)));

// A TCP port on 127.0.0.1 free a moment ago (bound to :0, then closed).
unsigned    gx_test_free_port(void);

typedef struct endpoint {
    unsigned port;
    char     s[64];               // tcp://127.0.0.1:PORT
} endpoint_t;

endpoint_t  endpoint_at(unsigned port);
endpoint_t  endpoint_new(void);           // at a free port

// graphx-run (GX_BIN) CMD --master EP --workers N [--secret-file S] EXTRA,
// started with `env` as proc_start's.
proc_t     *proc_start_master(const endpoint_t *ep, unsigned workers,
                              const char *secret, const char *const *cmd,
                              const char *const *extra,
                              const char *const *env);

// The whole file, NULs and all, NUL-terminated; *len (if len) its size.
// gx_test_slurp returns NULL if it cannot be opened; gx_test_read_file
// fails the test then, with the path and why.
char       *gx_test_slurp(const char *path, size_t *len);
char       *gx_test_read_file(const char *path, size_t *len);
bool        gx_test_exists(const char *path);   // stat succeeds
// got_path holds the same bytes as want_path, which is not empty.
void        gx_test_assert_same_bytes(const char *want_path,
                                      const char *got_path);
#endif
