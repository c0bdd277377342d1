// tests/testutil.h: what every suite needs around its tests and nothing
// of the code under test: a temporary directory per suite process, paths
// under it and under GX_FIXTURES, files written in one call (plain or gzip),
// a growing text buffer, a monotonic clock, and small deterministic random
// generators so a failing case replays. Failures are Criterion assertions,
// so a helper that cannot do its job fails the test that called it.
#ifndef GX_TESTS_TESTUTIL_H
#define GX_TESTS_TESTUTIL_H
#include <stddef.h>
#include <stdint.h>
#include "graphx/graphx.h"

// The suite's temporary directory, /tmp/gx-<suite>-XXXXXX. Criterion runs
// .init and .fini in each test's process, so every test gets a fresh one:
//     static void setup(void) { gx_test_tmpdir_make("loader"); }
//     TestSuite(loader, .init = setup, .fini = gx_test_tmpdir_remove);
// A skipped test gets no .fini and must call gx_test_tmpdir_remove itself.
void        gx_test_tmpdir_make(const char *suite);
void        gx_test_tmpdir_remove(void);
const char *gx_test_tmpdir(void);

// Paths under the temporary directory and under GX_FIXTURES. Static
// storage in 64 rotating slots shared by both: valid for 63 later calls.
const char *gx_test_tmp_path(const char *name);
const char *gx_test_fixture(const char *name);

void        gx_test_write_bytes(const char *path, const void *data, size_t len);
const char *gx_test_write_tmp(const char *name, const char *text);  // its path
void        gx_test_write_gz(const char *path, const void *data, size_t len);

// Text built with printf formats; starts as { 0 }, the caller frees s.
typedef struct gx_test_text {
    char  *s;
    size_t n, cap;
} gx_test_text_t;

void        gx_test_text_add(gx_test_text_t *t, const char *fmt, ...)
                __attribute__((format(printf, 2, 3)));

double      gx_test_now(void);      // CLOCK_MONOTONIC, in seconds

// Under AddressSanitizer or ThreadSanitizer a run costs about ten times
// as much; suites keep their budget by running fewer or smaller cases
// there, and say which in the test. gx_test_sanitized() is 1 in such a
// build; gx_test_stride(k) is k there and 1 otherwise (a loop's step over
// cases); gx_test_scaled(n, div) is n, or n / div (at least 1) there.
int         gx_test_sanitized(void);
unsigned    gx_test_stride(unsigned k);
uint64_t    gx_test_scaled(uint64_t n, uint64_t div);
// Heap bytes in use as the sanitizer's allocator counts them (0 without
// one): leak checks compare it around repeated calls, since lsan.supp
// hides any leak made under Criterion's frames and a leak report does not
// fail a test.
size_t      gx_test_heap_in_use(void);
// A heap copy of exactly len bytes (at least one allocated byte).
uint8_t    *gx_test_copy(const void *data, size_t len);

// Generators over a caller's state, so each suite seeds and reseeds its own.
uint64_t    gx_test_xorshift64(uint64_t *state);      // Marsaglia (13, 7, 17)
uint64_t    gx_test_xorshift64star(uint64_t *state);  // (12, 25, 27) * const
uint64_t    gx_test_splitmix64(uint64_t *state);

// Small helpers the reference computations share.
int         gx_test_cmp_u64(const void *a, const void *b);     // for qsort
uint32_t    gx_test_uf_find(uint32_t *parent, uint32_t x);    // path halving

// Run layouts: every worker count 1..4 under every strategy, each with an
// odd number of partitions (1, 3 or 7, rotating, so each count meets each
// strategy and several worker counts). Under a sanitizer, half of them:
// still every worker count, every strategy and every partition count.
typedef struct gx_test_config {
    unsigned      workers;
    unsigned      partitions;         // 0: = workers
    gx_strategy_t strategy;
} gx_test_config_t;

extern const gx_strategy_t gx_test_strategies[4];
size_t      gx_test_configs(gx_test_config_t out[16]);
const char *gx_test_config_str(const gx_test_config_t *c);  // static buffer
#endif
