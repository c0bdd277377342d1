// tests/testutil.c: the helpers every suite shares (see testutil.h). One
// copy here instead of one per suite; each test executable links it.
#define _GNU_SOURCE
#include "testutil.h"
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#define N_SLOTS 64

static char tmpdir[64];              // "/tmp/gx-" suite "-XXXXXX"

void
gx_test_tmpdir_make(const char *suite)
{
    int n = snprintf(tmpdir, sizeof tmpdir, "/tmp/gx-%s-XXXXXX", suite);
    cr_assert(n > 0 && (size_t) n < sizeof tmpdir, "suite name too long: %s", suite);
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove(path);
}

void
gx_test_tmpdir_remove(void)
{
    if (tmpdir[0])
        cr_assert_eq(nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0,
                     "removing %s: %s", tmpdir, strerror(errno));
}

const char *
gx_test_tmpdir(void)
{
    return tmpdir;
}

// dir/name in the next of N_SLOTS rotating static buffers, so a test can
// hold a few paths at once without freeing any.
static const char *
path_in(const char *dir, const char *name)
{
    static char slots[N_SLOTS][256];
    static int next;
    char *p = slots[next++ % N_SLOTS];
    snprintf(p, sizeof slots[0], "%s/%s", dir, name);
    return p;
}

const char *
gx_test_tmp_path(const char *name)
{
    return path_in(tmpdir, name);
}

const char *
gx_test_fixture(const char *name)
{
    return path_in(GX_FIXTURES, name);
}

void
gx_test_write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

const char *
gx_test_write_tmp(const char *name, const char *text)
{
    const char *path = gx_test_tmp_path(name);
    gx_test_write_bytes(path, text, strlen(text));
    return path;
}

void
gx_test_write_gz(const char *path, const void *data, size_t len)
{
    gzFile gz = gzopen(path, "wb");
    cr_assert_not_null(gz);
    cr_assert_eq(gzwrite(gz, data, (unsigned) len), (int) len);
    cr_assert_eq(gzclose(gz), Z_OK);
}

void
gx_test_text_add(gx_test_text_t *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(t->s ? t->s + t->n : NULL, t->cap - t->n, fmt, ap);
        va_end(ap);
        if ((size_t) k < t->cap - t->n) {
            t->n += (size_t) k;
            return;
        }
        t->cap = (t->cap + (size_t) k + 1) * 2;
        t->s = realloc(t->s, t->cap);
        cr_assert_not_null(t->s);
    }
}

double
gx_test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
gx_test_sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return 1;
#else
    return 0;
#endif
}

unsigned
gx_test_stride(unsigned k)
{
    return gx_test_sanitized() && k > 1 ? k : 1;
}

uint64_t
gx_test_scaled(uint64_t n, uint64_t div)
{
    if (!gx_test_sanitized() || div <= 1)
        return n;
    return n / div ? n / div : 1;
}

uint64_t
gx_test_xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

uint64_t
gx_test_xorshift64star(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

uint64_t
gx_test_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int
gx_test_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint32_t
gx_test_uf_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

const gx_strategy_t gx_test_strategies[4] = {
    GX_STRATEGY_2D, GX_STRATEGY_1D, GX_STRATEGY_RANDOM, GX_STRATEGY_CANONICAL,
};

size_t
gx_test_configs(gx_test_config_t out[16])
{
    static const unsigned odd[] = { 1, 3, 7 };
    size_t n = 0;
    for (unsigned w = 1; w <= 4; w++)
        for (unsigned s = 0; s < 4; s++) {
            if (gx_test_sanitized() && (w + s) % 2)
                continue;
            out[n++] = (gx_test_config_t){ w, odd[(w + s) % 3],
                                           gx_test_strategies[s] };
        }
    return n;
}

const char *
gx_test_config_str(const gx_test_config_t *c)
{
    static char buf[96];
    snprintf(buf, sizeof buf, "workers %u, partitions %u, strategy %s",
             c->workers, c->partitions ? c->partitions : c->workers,
             gx_strategy_name(c->strategy));
    return buf;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
size_t __sanitizer_get_current_allocated_bytes(void);
size_t
gx_test_heap_in_use(void)
{
    return __sanitizer_get_current_allocated_bytes();
}
#else
size_t
gx_test_heap_in_use(void)
{
    return 0;
}
#endif

uint8_t *
gx_test_copy(const void *data, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    cr_assert_not_null(p);
    if (len)
        memcpy(p, data, len);
    return p;
}
