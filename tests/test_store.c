// test_store: store/, the spill store. Blocks are compared byte for byte
// with a generator (splitmix64 seeded by key and version), alone, under
// threads and through a growing map. Nothing is on disk before the first
// put or after close; every failure (each Nth open, put, get and growth
// injected, a missing or unwritable dir, a full tmpfs) is one line naming
// the store and leaves nothing behind; SIGTERM and kill -9 leave nothing
// either, with the sweep's help where names were kept; and the pages
// read back leave the resident set.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "store/store.h"
#include "testproc.h"
#include "testutil.h"

#define MiB ((size_t)1 << 20)
#define KiB ((size_t)1 << 10)

static void setup(void) { gx_test_tmpdir_make("store"); }
static void teardown(void) { proc_kill_all(); gx_test_tmpdir_remove(); }
TestSuite(store, .init = setup, .fini = teardown, .timeout = 60);

// A skipped test gets no .fini (testutil.h): it cleans up itself.
#define SKIP(...)                                                             \
    do {                                                                      \
        teardown();                                                           \
        cr_skip_test(__VA_ARGS__);                                            \
    } while (0)

// ---- helpers ---------------------------------------------------------------

static gx_store_key_t
key(uint32_t space, uint32_t part, uint64_t seq)
{
    return (gx_store_key_t){ space, part, seq };
}

// The bytes of block k at `version`: the same every time, different for
// every key and version.
static void
fill(uint8_t *buf, size_t len, gx_store_key_t k, uint32_t version)
{
    uint64_t s = ((uint64_t)k.space << 48) ^ ((uint64_t)k.part << 32)
                 ^ (k.seq * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)version << 20) ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t x = gx_test_splitmix64(&s);
        memcpy(buf + i, &x, 8);
    }
    if (i < len) {
        uint64_t x = gx_test_splitmix64(&s);
        memcpy(buf + i, &x, len - i);
    }
}

// Reads k back into got (cap bytes) and compares it with fill(want): 0,
// or -1 with why in msg. Safe in any thread (no assertion).
static int
check_block(gx_store_t *st, gx_store_key_t k, size_t len, uint32_t version,
            uint8_t *got, uint8_t *want, size_t cap, char msg[256])
{
    gx_error_t err = { 0 };
    size_t n = SIZE_MAX;
    int rc = gx_store_get(st, k, got, cap, &n, &err);
    const char *why = rc < 0 ? err.msg : rc > 0 ? "missing" : NULL;
    if (!why && n != len)
        why = "wrong length";
    if (!why) {
        fill(want, len, k, version);
        if (len && memcmp(got, want, len) != 0)
            why = "different bytes";
    }
    if (why)
        snprintf(msg, 256, "block (%u, %u, %llu) v%u of %zu bytes: %.150s (got %zu)",
                 k.space, k.part, (unsigned long long)k.seq, version, len, why, n);
    return why ? -1 : 0;
}

static void
assert_block(gx_store_t *st, gx_store_key_t k, size_t len, uint32_t version)
{
    uint8_t *got = malloc(len + 1), *want = malloc(len + 1);
    char msg[256];
    int rc = check_block(st, k, len, version, got, want, len + 1, msg);
    free(got);
    free(want);
    cr_assert_eq(rc, 0, "%s", msg);
}

static void
put_block(gx_store_t *st, gx_store_key_t k, size_t len, uint32_t version)
{
    uint8_t *buf = malloc(len + 1);
    fill(buf, len, k, version);
    gx_error_t err = { 0 };
    int rc = gx_store_put(st, k, buf, len, &err);
    free(buf);
    cr_assert_eq(rc, 0, "put (%u, %u, %llu): %s", k.space, k.part,
                 (unsigned long long)k.seq, err.msg);
}

static void
assert_missing(gx_store_t *st, gx_store_key_t k)
{
    gx_error_t err = { 0 };
    size_t n;
    uint8_t b[1];
    int rc = gx_store_get(st, k, b, sizeof b, &n, &err);
    cr_assert_eq(rc, 1, "(%u, %u, %llu): get gave %d, not 1 (missing): %s",
                 k.space, k.part, (unsigned long long)k.seq, rc, err.msg);
}

static gx_store_t *
store_in(const char *dir, size_t map, bool keep_names)
{
    gx_store_opts_t o = { .map_bytes = map, .keep_names = keep_names };
    gx_error_t err = { 0 };
    gx_store_t *st = gx_store_new(dir, &o, &err);
    cr_assert_not_null(st, "%s", err.msg);
    return st;
}

// The entries of dir but . and .., as "a b c" in `names` (if not NULL).
static int
entries(const char *dir, char names[1024])
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
    int n = 0;
    if (names)
        names[0] = '\0';
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        if (names && strlen(names) + strlen(e->d_name) + 2 < 1024) {
            strcat(names, " ");
            strcat(names, e->d_name);
        }
    }
    closedir(d);
    return n;
}

static void
assert_empty(const char *dir)
{
    char names[1024];
    int n = entries(dir, names);
    cr_assert_eq(n, 0, "%s holds %d entries:%s", dir, n, names);
}

static const char *
make_dir(const char *name)
{
    const char *dir = gx_test_tmp_path(name);
    cr_assert_eq(mkdir(dir, 0700), 0, "mkdir %s: %s", dir, strerror(errno));
    return dir;
}

static const char *
base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

// Whether this process holds a descriptor to `path`, unlinked.
static bool
holds_unlinked(const char *path)
{
    char want[4200], link[4200], fd_path[300];
    snprintf(want, sizeof want, "%s (deleted)", path);
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    bool found = false;
    for (struct dirent *e; !found && (e = readdir(d)) != NULL;) {
        snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(fd_path, link, sizeof link - 1);
        if (n > 0) {
            link[n] = '\0';
            found = strcmp(link, want) == 0;
        }
    }
    closedir(d);
    return found;
}

// ---- blocks ----------------------------------------------------------------

// Sizes around the page (4096) and LMDB's overflow threshold (about half
// a page), and blocks of MiBs, put in a shuffled order, some replaced,
// read back in another.
Test(store, reads_back_every_block_byte_for_byte)
{
    static const size_t fixed[] = { 0, 1, 15, 16, 2000, 2100, 4079, 4080, 4095,
                                    4096, 4097, 8192, 65536, MiB, 3 * MiB + 7,
                                    5 * MiB };
    enum { N = 160, NF = sizeof fixed / sizeof fixed[0] };
    gx_store_key_t keys[N];
    size_t len[N];
    uint32_t version[N];
    uint64_t rng = 42;
    for (int i = 0; i < N; i++) {
        keys[i] = key(i % 3, (i / 3) % 4, gx_test_xorshift64(&rng) >> (i % 40));
        for (int j = 0; j < i; j++)          // keys must differ
            if (!memcmp(&keys[j], &keys[i], sizeof keys[i]))
                keys[i].seq++, j = -1;
        len[i] = i < NF ? fixed[i]
                 : gx_test_xorshift64(&rng) % gx_test_scaled(300 * KiB, 4);
        version[i] = 0;
    }
    int order[N];
    for (int i = 0; i < N; i++)
        order[i] = i;
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(gx_test_xorshift64(&rng) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    gx_store_t *st = store_in(gx_test_tmpdir(), 0, false);
    for (int i = 0; i < N; i++)
        put_block(st, keys[order[i]], len[order[i]], 0);
    for (int i = 0; i < N; i += 5) {         // replaced: new length and bytes
        len[i] = (len[i] * 7 + 1000) % gx_test_scaled(2 * MiB, 4);
        version[i] = 1;
        put_block(st, keys[i], len[i], 1);
    }
    for (int i = N - 1; i >= 0; i--) {
        int b = order[(i * 37) % N];
        assert_block(st, keys[b], len[b], version[b]);
        size_t n = 0;
        gx_error_t err = { 0 };
        cr_assert_eq(gx_store_len(st, keys[b], &n, &err), 0, "%s", err.msg);
        cr_assert_eq(n, len[b]);
    }
    gx_store_close(&st);
    cr_assert_null(st);
}

Test(store, deletes_a_block_and_drops_one_part_leaving_the_others)
{
    static const uint64_t seqs[] = { 0, 1, 2, 1ull << 40, UINT64_MAX };
    gx_store_t *st = store_in(gx_test_tmpdir(), 0, false);
    for (uint32_t s = 0; s < 3; s++)
        for (uint32_t p = 0; p < 3; p++)
            for (int q = 0; q < 5; q++)
                put_block(st, key(s, p, seqs[q]), 1000 + s * 5000 + p * 7 + (size_t)q, 0);
    gx_error_t err = { 0 };
    cr_assert_eq(gx_store_del(st, key(0, 0, 1), &err), 0, "%s", err.msg);
    assert_missing(st, key(0, 0, 1));
    cr_assert_eq(gx_store_del(st, key(0, 0, 1), &err), 1, "deleted twice");
    cr_assert_eq(gx_store_del(st, key(7, 7, 7), &err), 1, "never there");
    cr_assert_eq(gx_store_drop(st, 1, 1, &err), 0, "%s", err.msg);
    cr_assert_eq(gx_store_drop(st, 1, 1, &err), 0, "an empty part drops");
    cr_assert_eq(gx_store_drop(st, 9, 0, &err), 0, "so does an unknown space");
    for (uint32_t s = 0; s < 3; s++)
        for (uint32_t p = 0; p < 3; p++)
            for (int q = 0; q < 5; q++) {
                gx_store_key_t k = key(s, p, seqs[q]);
                if ((s == 1 && p == 1) || (s == 0 && p == 0 && q == 1))
                    assert_missing(st, k);
                else
                    assert_block(st, k, 1000 + s * 5000 + p * 7 + (size_t)q, 0);
            }
    gx_store_close(&st);
}

static int
cmp_tuple(gx_store_key_t a, gx_store_key_t b)
{
    if (a.space != b.space)
        return a.space < b.space ? -1 : 1;
    if (a.part != b.part)
        return a.part < b.part ? -1 : 1;
    return a.seq == b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}

static int
sign(int x)
{
    return (x > 0) - (x < 0);
}

// Packed keys compare as bytes (LMDB's order) exactly as the tuples do,
// so part 1's seq 2^40 sorts before part 2's seq 0: a drop of part 1
// reaches its last block and stops short of part 2's first.
Test(store, orders_keys_by_space_then_part_then_seq)
{
    gx_store_key_t k[64] = {
        key(0, 1, 1ull << 40), key(0, 2, 0), key(0, 1, UINT64_MAX),
        key(1, 0, 0), key(0, UINT32_MAX, UINT64_MAX), key(UINT32_MAX, 0, 0),
        key(0, 0, 256), key(0, 0, 255), key(0, 256, 0), key(1, 0, 1),
    };
    uint64_t rng = 7;
    for (int i = 10; i < 64; i++)
        k[i] = key((uint32_t)(gx_test_xorshift64(&rng) % 3),
                   (uint32_t)gx_test_xorshift64(&rng) >> (i % 32),
                   gx_test_xorshift64(&rng) >> (i % 64));
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 64; j++) {
            uint8_t a[GX_STORE_KEY_BYTES], b[GX_STORE_KEY_BYTES];
            gx_store_key_pack(k[i], a);
            gx_store_key_pack(k[j], b);
            cr_assert_eq(sign(memcmp(a, b, sizeof a)), cmp_tuple(k[i], k[j]),
                         "keys %d and %d", i, j);
        }
    gx_store_t *st = store_in(gx_test_tmpdir(), 0, false);
    for (int i = 0; i < 6; i++)
        put_block(st, k[i], 100 + (size_t)i, 0);
    gx_error_t err = { 0 };
    cr_assert_eq(gx_store_drop(st, 0, 1, &err), 0, "%s", err.msg);
    assert_missing(st, k[0]);
    assert_missing(st, k[2]);
    for (int i = 0; i < 6; i++)
        if (i != 0 && i != 2)
            assert_block(st, k[i], 100 + (size_t)i, 0);
    gx_store_close(&st);
}

Test(store, says_how_large_a_block_is_when_the_buffer_is_too_small)
{
    gx_store_t *st = store_in(gx_test_tmpdir(), 0, false);
    put_block(st, key(1, 2, 3), 10000, 0);
    put_block(st, key(1, 2, 4), 0, 0);
    uint8_t small[100];
    size_t n = 0;
    gx_error_t err = { 0 };
    cr_assert_eq(gx_store_get(st, key(1, 2, 3), small, sizeof small, &n, &err), -1);
    cr_assert_eq(n, 10000);
    cr_assert(strstr(err.msg, "10000 bytes") && strstr(err.msg, gx_test_tmpdir()),
              "got: %s", err.msg);
    cr_assert_eq(gx_store_get(st, key(1, 2, 4), NULL, 0, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 0);
    cr_assert_eq(gx_store_len(st, key(1, 2, 3), &n, &err), 0);
    cr_assert_eq(n, 10000);
    cr_assert_eq(gx_store_len(st, key(1, 2, 5), &n, &err), 1, "missing");
    assert_block(st, key(1, 2, 3), 10000, 0);   // the failed get changed nothing
    gx_store_close(&st);
}

// All blocks of a putv commit together: a failed commit leaves none.
static bool
fail_puts(gx_store_point_t point, void *arg)
{
    return point == GX_STORE_PUT && *(bool *)arg;
}

Test(store, puts_a_vector_of_blocks_all_or_none)
{
    enum { N = 200 };
    bool failing = false;
    gx_store_opts_t o = { .fault = fail_puts, .fault_arg = &failing };
    gx_error_t err = { 0 };
    gx_store_t *st = gx_store_new(gx_test_tmpdir(), &o, &err);
    cr_assert_not_null(st, "%s", err.msg);
    static uint8_t data[2][N][300];
    gx_store_block_t b[N];
    for (int v = 0; v < 2; v++) {
        for (int i = 0; i < N; i++) {
            b[i] = (gx_store_block_t){ key(3, (uint32_t)v, (uint64_t)i), data[v][i],
                                       (size_t)(i + 1) };
            fill(data[v][i], b[i].len, b[i].key, 0);
        }
        failing = v == 1;
        int rc = gx_store_putv(st, b, N, &err);
        cr_assert_eq(rc, v == 1 ? -1 : 0, "putv %d: %s", v, err.msg);
    }
    cr_assert(strstr(err.msg, gx_test_tmpdir()), "got: %s", err.msg);
    for (int i = 0; i < N; i++) {
        assert_block(st, key(3, 0, (uint64_t)i), (size_t)(i + 1), 0);
        assert_missing(st, key(3, 1, (uint64_t)i));
    }
    cr_assert_eq(gx_store_putv(st, b, 0, &err), 0, "an empty vector");
    gx_store_stats_t s;
    gx_store_stats(st, &s);
    cr_assert_eq(s.puts, N);
    gx_store_close(&st);
}

// ---- threads and growth ----------------------------------------------------

typedef struct worker {
    gx_store_t *st;
    uint32_t    id;
    int         blocks;
    size_t      max_len;
    size_t      bytes;
    char        msg[256];             // the first failure, "" if none
} worker_t;

static size_t
worker_len(const worker_t *w, int i)
{
    uint64_t s = (uint64_t)w->id * 1000 + (uint64_t)i + 1;
    return 1 + gx_test_splitmix64(&s) % w->max_len;
}

// Puts its blocks; after each, reads back one put before; at the end,
// all of them.
static void *
worker_run(void *arg)
{
    worker_t *w = arg;
    uint8_t *a = malloc(w->max_len + 1), *b = malloc(w->max_len + 1);
    uint64_t rng = w->id + 99;
    for (int i = 0; i < w->blocks && !w->msg[0]; i++) {
        gx_store_key_t k = key(w->id, (uint32_t)i % 3, (uint64_t)i);
        size_t len = worker_len(w, i);
        fill(a, len, k, w->id);
        gx_error_t err = { 0 };
        if (gx_store_put(w->st, k, a, len, &err) != 0) {
            snprintf(w->msg, sizeof w->msg, "put: %.240s", err.msg);
            break;
        }
        w->bytes += len;
        int j = (int)(gx_test_xorshift64(&rng) % (uint64_t)(i + 1));
        check_block(w->st, key(w->id, (uint32_t)j % 3, (uint64_t)j),
                    worker_len(w, j), w->id, a, b, w->max_len + 1, w->msg);
    }
    for (int i = 0; i < w->blocks && !w->msg[0]; i++)
        check_block(w->st, key(w->id, (uint32_t)i % 3, (uint64_t)i),
                    worker_len(w, i), w->id, a, b, w->max_len + 1, w->msg);
    free(a);
    free(b);
    return NULL;
}

// From a 1 MiB map, so that the threads' puts grow it while other
// threads read: the growth path under contention (and under TSan).
Test(store, threads_put_and_read_their_own_blocks_at_once)
{
    enum { T = 4 };
    gx_store_t *st = store_in(gx_test_tmpdir(), MiB, false);
    worker_t w[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        w[t] = (worker_t){ .st = st, .id = (uint32_t)t + 1,
                           .blocks = (int)gx_test_scaled(48, 3),
                           .max_len = 512 * KiB };
        cr_assert_eq(pthread_create(&th[t], NULL, worker_run, &w[t]), 0);
    }
    size_t bytes = 0;
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        cr_assert_eq(w[t].msg[0], '\0', "thread %d: %s", t, w[t].msg);
        bytes += w[t].bytes;
    }
    gx_store_stats_t s;
    gx_store_stats(st, &s);
    cr_assert_eq(s.puts, (uint64_t)T * (uint64_t)w[0].blocks);
    cr_assert_eq(s.bytes_put, bytes);
    cr_assert_gt(s.grows, 0, "a 1 MiB map held %zu bytes", bytes);
    cr_assert_geq(s.gets, s.puts * 2);
    gx_store_close(&st);
}

Test(store, grows_a_1_mib_map_to_hold_64_mib)
{
    size_t blocks = gx_test_scaled(66, 2), len = MiB;
    gx_store_t *st = store_in(gx_test_tmpdir(), MiB, false);
    gx_store_stats_t s;
    gx_store_stats(st, &s);
    cr_assert_eq(s.map_bytes, MiB);
    for (size_t i = 0; i < blocks; i++)
        put_block(st, key(0, 0, i), len + i, 0);
    for (size_t i = 0; i < blocks; i++)
        assert_block(st, key(0, 0, i), len + i, 0);
    gx_store_stats(st, &s);
    uint64_t bytes = blocks * len + blocks * (blocks - 1) / 2;
    cr_assert_eq(s.bytes_put, bytes);
    cr_assert_eq(s.bytes_got, bytes);
    cr_assert_geq(s.map_bytes, bytes, "the map holds what was put");
    cr_assert_geq(s.file_bytes, bytes);
    // Each growth at least doubles: from 1 MiB, log2 of the final size.
    cr_assert_geq(s.grows, 5, "%llu grows to %llu MiB",
                  (unsigned long long)s.grows, (unsigned long long)(s.map_bytes >> 20));
    cr_assert_gt(s.seconds, 0.0);
    cr_log_info("store: 1 MiB map grew %llu times to %llu MiB for %llu MiB",
                (unsigned long long)s.grows, (unsigned long long)(s.map_bytes >> 20),
                (unsigned long long)(bytes >> 20));
    gx_store_close(&st);
}

Test(store, stops_growing_at_map_max)
{
    gx_store_opts_t o = { .map_bytes = MiB, .map_max = 4 * MiB };
    gx_error_t err = { 0 };
    gx_store_t *st = gx_store_new(gx_test_tmpdir(), &o, &err);
    cr_assert_not_null(st, "%s", err.msg);
    put_block(st, key(0, 0, 0), 2 * MiB, 0);
    uint8_t *big = calloc(1, 8 * MiB);
    cr_assert_eq(gx_store_put(st, key(0, 0, 1), big, 8 * MiB, &err), -1);
    free(big);
    cr_assert(strstr(err.msg, "may not grow") && strstr(err.msg, gx_test_tmpdir()),
              "got: %s", err.msg);
    assert_block(st, key(0, 0, 0), 2 * MiB, 0);
    put_block(st, key(0, 0, 2), 256 * KiB, 0);
    gx_store_stats_t s;
    gx_store_stats(st, &s);
    cr_assert_eq(s.map_bytes, 4 * MiB);
    gx_store_close(&st);
}

// LMDB frees a dropped block's pages for later transactions. Not for the
// very next one: the last committed snapshot must stay whole, so pages
// it still references are reused only after one more commit. The file
// grows by about two blocks over the first rounds, then not at all.
Test(store, reuses_the_pages_of_dropped_blocks)
{
    size_t len = gx_test_scaled(4 * MiB, 4);  // the same rounds, smaller blocks
    gx_store_t *st = store_in(gx_test_tmpdir(), 0, false);
    gx_store_stats_t first, settled, last;
    gx_error_t err = { 0 };
    for (uint32_t round = 0; round <= 5; round++) {
        for (uint64_t i = 0; i < 8; i++)
            put_block(st, key(0, round, i), len, round);
        assert_block(st, key(0, round, 7), len, round);
        cr_assert_eq(gx_store_drop(st, 0, round, &err), 0, "%s", err.msg);
        gx_store_stats(st, round == 0 ? &first : round == 2 ? &settled : &last);
    }
    cr_log_info("store: file of 8 blocks put and dropped: %llu KiB, after 2 more "
                "rounds %llu KiB, after 5 %llu KiB",
                (unsigned long long)(first.file_bytes >> 10),
                (unsigned long long)(settled.file_bytes >> 10),
                (unsigned long long)(last.file_bytes >> 10));
    cr_assert_leq(settled.file_bytes, first.file_bytes + 2 * len + MiB);
    cr_assert_eq(last.file_bytes, settled.file_bytes, "no growth once settled");
    gx_store_close(&st);
}

// ---- on disk ---------------------------------------------------------------

Test(store, writes_nothing_before_the_first_put_and_nothing_after_close)
{
    const char *dir = gx_test_tmpdir();
    gx_store_t *st = store_in(dir, 0, false);
    const char *base = base_name(gx_store_path(st));
    cr_assert(!strncmp(base, "graphx-spill-", 13), "%s", base);
    char pid[32];
    snprintf(pid, sizeof pid, "-%d-", (int)getpid());
    cr_assert(strstr(base, pid), "%s names its pid", base);
    gx_error_t err = { 0 };
    size_t n;
    uint8_t b[8];
    cr_assert_eq(gx_store_get(st, key(0, 0, 0), b, sizeof b, &n, &err), 1);
    cr_assert_eq(gx_store_len(st, key(0, 0, 0), &n, &err), 1);
    cr_assert_eq(gx_store_del(st, key(0, 0, 0), &err), 1);
    cr_assert_eq(gx_store_drop(st, 0, 0, &err), 0);
    assert_empty(dir);
    put_block(st, key(0, 0, 0), 3 * MiB, 0);
    // The names went once LMDB held the files open; the data did not.
    assert_empty(dir);
    cr_assert(holds_unlinked(gx_store_path(st)));
    assert_block(st, key(0, 0, 0), 3 * MiB, 0);
    char path[4200];
    snprintf(path, sizeof path, "%s", gx_store_path(st));
    gx_store_close(&st);
    assert_empty(dir);
    cr_assert(!holds_unlinked(path), "close closed the file");
    gx_store_close(&st);                      // NULL: nothing
    gx_store_close(NULL);
}

Test(store, keeps_its_two_names_until_close_when_asked)
{
    const char *dir = gx_test_tmpdir();
    gx_store_t *st = store_in(dir, 0, true);
    gx_store_t *other = store_in(dir, 0, true);
    cr_assert_str_neq(gx_store_path(st), gx_store_path(other),
                      "two stores of one process");
    assert_empty(dir);
    put_block(st, key(0, 0, 0), MiB, 0);
    char names[1024], want[2][300];
    snprintf(want[0], sizeof want[0], " %s", base_name(gx_store_path(st)));
    snprintf(want[1], sizeof want[1], " %s-lock", base_name(gx_store_path(st)));
    cr_assert_eq(entries(dir, names), 2, "%s", names);
    cr_assert(strstr(names, want[0]) && strstr(names, want[1]), "%s", names);
    gx_store_close(&other);
    cr_assert_eq(entries(dir, names), 2, "%s", names);
    gx_store_close(&st);
    assert_empty(dir);
}

// Until a signal ends the process. sigsuspend, not pause: ThreadSanitizer
// runs a handler only at a call it intercepts, and pause it does not.
static void
wait_for_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    for (;;)
        sigsuspend(&none);
}

static void
die_holding(const void *arg)
{
    const char *dir = arg;
    gx_error_t err = { 0 };
    gx_store_t *st = gx_store_new(dir, NULL, &err);
    uint8_t *data = calloc(1, 8 * MiB);
    if (!st || !data || gx_store_put(st, key(0, 0, 0), data, 8 * MiB, &err) != 0) {
        fprintf(stderr, "failed: %s\n", err.msg);
        _exit(1);
    }
    fprintf(stderr, "ready\n");
    wait_for_signals();
}

// The default: names unlinked at open, so a kill -9 leaves nothing.
Test(store, leaves_nothing_behind_a_kill_9)
{
    const char *dir = make_dir("killed");
    proc_t *p = proc_fork(die_holding, dir, NULL, NULL);
    cr_assert(proc_wait_text(p, "ready", 20), "child: %s", proc_err(p));
    assert_empty(dir);
    kill(p->pid, SIGKILL);
    cr_assert(proc_wait(p, 10));
    assert_empty(dir);
}

// ---- failures --------------------------------------------------------------

typedef struct plan {
    gx_store_point_t point;
    unsigned         n;                       // the Nth of point fails
    atomic_uint      seen[GX_STORE_POINTS];
} plan_t;

static bool
plan_fault(gx_store_point_t point, void *arg)
{
    plan_t *p = arg;
    unsigned seen = atomic_fetch_add(&p->seen[point], 1) + 1;
    return point == p->point && seen == p->n;
}

static const char *
point_name(gx_store_point_t p)
{
    static const char *names[] = { "open", "put", "get", "grow" };
    return names[p];
}

// Puts 32 blocks (8.5 MiB from a 256 KiB map: four growths) and reads
// each back, twice if a read failed. What fails gives -1 with a line
// naming the store; nothing may hang, crash or corrupt another block.
static void
run_planned(plan_t *plan, const char *dir, bool keep)
{
    enum { N = 32 };
    gx_store_opts_t o = { .map_bytes = 256 * KiB, .keep_names = keep,
                          .fault = plan_fault, .fault_arg = plan };
    gx_error_t err = { 0 };
    gx_store_t *st = gx_store_new(dir, &o, &err);
    cr_assert_not_null(st, "%s", err.msg);
    bool put_ok[N];
    int failures = 0;
    uint8_t *buf = malloc(512 * KiB), *want = malloc(512 * KiB);
    for (int i = 0; i < N; i++) {
        size_t len = 256 * KiB + (size_t)i * 1000;
        fill(buf, len, key(1, 0, (uint64_t)i), 0);
        err.msg[0] = '\0';
        int rc = gx_store_put(st, key(1, 0, (uint64_t)i), buf, len, &err);
        cr_assert(rc == 0 || rc == -1);
        put_ok[i] = rc == 0;
        if (rc) {
            failures++;
            cr_assert(strstr(err.msg, dir), "%s %u: %s", point_name(plan->point),
                      plan->n, err.msg);
        }
    }
    for (int i = 0; i < N; i++) {
        size_t len = 256 * KiB + (size_t)i * 1000;
        if (!put_ok[i]) {
            assert_missing(st, key(1, 0, (uint64_t)i));
            continue;
        }
        char msg[256];
        if (check_block(st, key(1, 0, (uint64_t)i), len, 0, buf, want, 512 * KiB,
                        msg) != 0) {
            failures++;                      // a failed read, not other bytes
            cr_assert(strstr(msg, dir), "get: %s", msg);
            cr_assert_eq(check_block(st, key(1, 0, (uint64_t)i), len, 0, buf, want,
                                     512 * KiB, msg), 0, "after a failed get: %s", msg);
        }
    }
    free(buf);
    free(want);
    bool reached = plan->seen[plan->point] >= plan->n;
    cr_assert_eq(failures, reached ? 1 : 0, "%s %u: %d failures, point seen %u times",
                 point_name(plan->point), plan->n, failures, plan->seen[plan->point]);
    gx_store_close(&st);
}

// Each Nth open, commit, read and growth fails in turn, with names kept
// and not: one -1 each time, the rest of the work done, the store usable
// after, and nothing left in the dir after close. (Every other N under a
// sanitizer.)
Test(store, fails_the_nth_open_put_get_and_growth_cleanly, .timeout = 120)
{
    static const unsigned k[GX_STORE_POINTS] = { 1, 6, 6, 4 };
    const char *dir = gx_test_tmpdir();
    for (int point = 0; point < GX_STORE_POINTS; point++)
        for (unsigned n = 1; n <= k[point]; n += gx_test_stride(2)) {
            plan_t plan = { .point = (gx_store_point_t)point, .n = n };
            run_planned(&plan, dir, n % 2 == 1);
            cr_assert_geq(plan.seen[point], n, "%s %u never reached",
                          point_name(plan.point), n);
            assert_empty(dir);
        }
}

Test(store, names_a_dir_that_does_not_exist)
{
    const char *dir = gx_test_tmp_path("nowhere");
    gx_error_t err = { 0 };
    cr_assert_eq(gx_store_check_dir(dir, &err), -1);
    cr_assert(strstr(err.msg, dir) && strstr(err.msg, "does not exist"), "got: %s",
              err.msg);
    gx_store_t *st = store_in(dir, 0, false);    // touches nothing yet
    uint8_t b[16] = { 0 };
    cr_assert_eq(gx_store_put(st, key(0, 0, 0), b, sizeof b, &err), -1);
    cr_assert(strstr(err.msg, dir) && strstr(err.msg, "No such file"), "got: %s",
              err.msg);
    gx_store_close(&st);
    const char *file = gx_test_write_tmp("plain", "x");
    cr_assert_eq(gx_store_check_dir(file, &err), -1);
    cr_assert(strstr(err.msg, "is not a directory"), "got: %s", err.msg);
    char under[600];
    snprintf(under, sizeof under, "%s/sub", file);
    cr_assert_eq(gx_store_check_dir(under, &err), -1);
    cr_assert(strstr(err.msg, under), "got: %s", err.msg);
    cr_assert_eq(gx_store_check_dir(gx_test_tmpdir(), &err), 0, "%s", err.msg);
    cr_assert(!gx_test_exists(dir), "nothing made %s", dir);
}

// Root writes into a 0500 dir: CAP_DAC_OVERRIDE. This test process (each
// test has its own) drops it and CAP_DAC_READ_SEARCH from its effective
// set, as an ordinary user has neither, and takes them back after.
static bool
dac_caps(bool on)
{
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0)
        return false;
    uint32_t bits = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH);
    d[0].effective = on ? d[0].effective | (bits & d[0].permitted)
                        : d[0].effective & ~bits;
    return syscall(SYS_capset, &h, d) == 0;
}

static void
expect_unwritable(const char *dir)
{
    gx_error_t err = { 0 };
    cr_assert_eq(gx_store_check_dir(dir, &err), -1, "%s passed", dir);
    cr_assert(strstr(err.msg, dir) && strstr(err.msg, "not writable"), "got: %s",
              err.msg);
    gx_store_t *st = store_in(dir, 0, false);
    uint8_t b[16] = { 0 };
    err.msg[0] = '\0';
    cr_assert_eq(gx_store_put(st, key(0, 0, 0), b, sizeof b, &err), -1);
    cr_assert(strstr(err.msg, dir) && strstr(err.msg, "cannot create"), "got: %s",
              err.msg);
    gx_store_close(&st);
}

Test(store, names_a_dir_it_cannot_write)
{
    const char *dir = make_dir("readonly");
    cr_assert_eq(chmod(dir, 0500), 0);
    bool root = geteuid() == 0;
    if (root)
        cr_assert(dac_caps(false), "capset: %s", strerror(errno));
    expect_unwritable(dir);
    if (root)
        cr_assert(dac_caps(true));
    cr_assert_eq(chmod(dir, 0700), 0);
    assert_empty(dir);
    // procfs refuses new files to everyone, root included.
    expect_unwritable("/proc");
}

// A tmpfs of 2 MiB in a mount namespace of the child's own: a 4 MiB put
// cannot fit. LMDB reports the short write as EIO; the store says the
// disk is full and names the dir. What was put before stays readable,
// and close frees it all.
static void
fill_a_small_tmpfs(const void *arg)
{
    const char *dir = arg;
    if (unshare(CLONE_NEWNS) != 0
        || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0
        || mount("tmpfs", dir, "tmpfs", 0, "size=2m") != 0) {
        fprintf(stderr, "skip: cannot mount a tmpfs: %s\n", strerror(errno));
        _exit(77);
    }
    gx_error_t err = { 0 };
    gx_store_t *st = gx_store_new(dir, NULL, &err);
    static uint8_t data[4 << 20];
    size_t n;
    int small = st ? gx_store_put(st, key(0, 0, 0), data, 256 << 10, &err) : -2;
    int big = small == 0 ? gx_store_put(st, key(0, 0, 1), data, sizeof data, &err) : -2;
    fprintf(stderr, "small=%d big=%d msg=[%s]\n", small, big, err.msg);
    int got = gx_store_get(st, key(0, 0, 0), data, sizeof data, &n, &err);
    fprintf(stderr, "get=%d len=%zu\n", got, n);
    err.msg[0] = '\0';
    int check = gx_store_check_dir(dir, &err);
    fprintf(stderr, "check=%d msg=[%s]\n", check, err.msg);
    gx_store_close(&st);
    struct statvfs vfs;
    statvfs(dir, &vfs);
    DIR *d = opendir(dir);
    int left = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        left += e->d_name[0] != '.';
    fprintf(stderr, "left=%d free=%llu\nend\n", left,
            (unsigned long long)vfs.f_bavail * vfs.f_frsize);
    _exit(0);
}

// Plain asserts of the child processes below: a line, then exit 1.
#define CHILD_CHECK(cond, ...)                                                \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, "\n");                                            \
            _exit(1);                                                         \
        }                                                                     \
    } while (0)

Test(store, says_the_disk_is_full_on_a_small_tmpfs)
{
    if (geteuid() != 0)
        SKIP("needs root to mount a tmpfs in a mount namespace");
    const char *dir = make_dir("small");
    proc_t *p = proc_fork(fill_a_small_tmpfs, dir, NULL, NULL);
    cr_assert(proc_wait(p, 30), "child hangs: %s", proc_err(p));
    const char *out = proc_err(p);
    if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == 77) {
        char why[256];                       // out goes with the child
        snprintf(why, sizeof why, "%s", out);
        SKIP("%s", why);
    }
    cr_assert(WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0, "child: %s", out);
    cr_assert(strstr(out, "small=0 big=-1"), "child: %s", out);
    cr_assert(strstr(out, "no space left on device") && strstr(out, dir), "child: %s", out);
    cr_assert(strstr(out, "get=0 len=262144"), "child: %s", out);
    cr_assert(strstr(out, "check=-1") && strstr(out, "No space left"),
              "check_dir on the full disk: %s", out);
    cr_assert(strstr(out, "left=0 free=2097152"), "nothing left, all free: %s", out);
    cr_log_info("store: on a full tmpfs: %s", out);
}

static gx_store_t *term_store;

static void
on_term(int sig)
{
    (void)sig;
    gx_store_unlink(term_store);
    _exit(0);
}

static void
hold_until_term(const void *arg)
{
    gx_error_t err = { 0 };
    gx_store_opts_t o = { .keep_names = true };
    term_store = gx_store_new(arg, &o, &err);
    static uint8_t data[MiB];
    if (!term_store || gx_store_put(term_store, key(0, 0, 0), data, sizeof data, &err)) {
        fprintf(stderr, "failed: %s\n", err.msg);
        _exit(1);
    }
    struct sigaction sa = { .sa_handler = on_term };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr, "ready\n");
    wait_for_signals();
}

// With names kept (so that there is something to remove), a SIGTERM
// handler's gx_store_unlink removes both.
Test(store, removes_its_files_from_a_sigterm_handler)
{
#if defined(__SANITIZE_THREAD__)
    // A child forked from a process with threads (Criterion's) runs with
    // TSan's interceptors off, and TSan then never runs a handler it
    // deferred: the child would sit in sigsuspend with SIGTERM taken.
    SKIP("TSan runs no signal handler in a child forked from threads");
#endif
    const char *dir = make_dir("term");
    proc_t *p = proc_fork(hold_until_term, dir, NULL, NULL);
    cr_assert(proc_wait_text(p, "ready", 20), "child: %s", proc_err(p));
    char names[1024];
    cr_assert_eq(entries(dir, names), 2, "%s", names);
    kill(p->pid, SIGTERM);
    proc_expect_exit(p, 10, 0);
    assert_empty(dir);
}

static void
hold_with_names(const void *arg)
{
    gx_error_t err = { 0 };
    gx_store_opts_t o = { .keep_names = true };
    gx_store_t *st = gx_store_new(arg, &o, &err);
    static uint8_t data[MiB];
    if (!st || gx_store_put(st, key(0, 0, 0), data, sizeof data, &err)) {
        fprintf(stderr, "failed: %s\n", err.msg);
        _exit(1);
    }
    fprintf(stderr, "ready %s\n", gx_store_path(st));
    wait_for_signals();
}

static void
touch(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gx_test_write_bytes(path, "x", 1);
}

// A child with names kept is killed with SIGKILL: its two files stay,
// and the sweep removes them. This process's own store (alive), names of
// another host, of another pid namespace, of no store format, a
// directory and a link with a dead pid's name all stay.
Test(store, sweeps_what_a_killed_process_left_and_nothing_else)
{
    const char *dir = make_dir("sweep");
    gx_store_t *mine = store_in(dir, 0, true);
    put_block(mine, key(0, 0, 0), 1000, 0);
    proc_t *p = proc_fork(hold_with_names, dir, NULL, NULL);
    cr_assert(proc_wait_text(p, "ready", 20), "child: %s", proc_err(p));
    pid_t dead = p->pid;
    char child[4200], child_lock[4300];
    cr_assert_eq(sscanf(strstr(proc_err(p), "ready ") + 6, "%4199s", child), 1);
    snprintf(child_lock, sizeof child_lock, "%s-lock", child);
    kill(dead, SIGKILL);
    cr_assert(proc_wait(p, 10));
    char names[1024];
    cr_assert_eq(entries(dir, names), 4, "%s", names);
    // graphx-spill-HOST-NS-PID-N: this process's HOST-NS from its own name.
    char host_ns[300], name[400];
    snprintf(host_ns, sizeof host_ns, "%s", base_name(gx_store_path(mine)) + 13);
    char *cut = strrchr(host_ns, '-');
    *cut = '\0';
    cut = strrchr(host_ns, '-');
    *cut = '\0';                             // HOST-NS
    const char *ns = strrchr(host_ns, '-') + 1;
    snprintf(name, sizeof name, "graphx-spill-otherhost-%s-%d-0", ns, (int)dead);
    touch(dir, name);
    snprintf(name, sizeof name, "graphx-spill-%.*s-1-%d-0",
             (int)(ns - 1 - host_ns), host_ns, (int)dead);
    touch(dir, name);                        // another pid namespace
    snprintf(name, sizeof name, "graphx-spill-%s-0%d-0", host_ns, (int)dead);
    touch(dir, name);                        // not a name we make
    touch(dir, "graphx-spill-notes.txt");
    snprintf(name, sizeof name, "%s/graphx-spill-%s-%d-7", dir, host_ns, (int)dead);
    cr_assert_eq(mkdir(name, 0700), 0);
    touch(dir, "target");
    snprintf(name, sizeof name, "%s/graphx-spill-%s-%d-8", dir, host_ns, (int)dead);
    cr_assert_eq(symlink("target", name), 0);
    cr_assert_eq(entries(dir, names), 11, "%s", names);
    gx_error_t err = { 0 };
    cr_assert(gx_test_exists(child) && gx_test_exists(child_lock));
    cr_assert_eq(gx_store_sweep(dir, &err), 2, "%s", err.msg);
    cr_assert_eq(entries(dir, names), 9, "%s", names);
    cr_assert(!gx_test_exists(child) && !gx_test_exists(child_lock), "%s", names);
    assert_block(mine, key(0, 0, 0), 1000, 0);
    cr_assert_eq(gx_store_sweep(dir, &err), 0, "%s", err.msg);
    gx_store_close(&mine);
    cr_assert_eq(entries(dir, names), 7, "%s", names);
    cr_assert_eq(gx_store_sweep(gx_test_tmp_path("nowhere"), &err), -1);
    cr_assert(strstr(err.msg, "nowhere"), "got: %s", err.msg);
}

// Under ulimit -v (RLIMIT_AS): 48 MiB of address space above what the
// process has. The map cannot double for ever: the growth that does not
// fit fails as an error (the address space is checked before LMDB drops
// the old map), and the store reads on and closes.
static void
grow_under_a_limit(const void *arg)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    CHILD_CHECK(f && fscanf(f, "%lu", &pages) == 1, "statm");
    fclose(f);
    struct rlimit lim;
    lim.rlim_cur = lim.rlim_max = pages * (rlim_t)sysconf(_SC_PAGESIZE) + 48 * MiB;
    CHILD_CHECK(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit: %s", strerror(errno));
    gx_store_opts_t o = { .map_bytes = MiB };
    gx_error_t err = { 0 };
    gx_store_t *st = gx_store_new(arg, &o, &err);
    static uint8_t data[MiB];
    uint64_t i = 0;
    for (; i < 200; i++) {
        memset(data, (int)i, sizeof data);
        if (gx_store_put(st, key(0, 0, i), data, sizeof data, &err) != 0)
            break;
    }
    CHILD_CHECK(i < 200, "200 MiB fit in 48 MiB of address space");
    fprintf(stderr, "failed at %llu MiB: %s\n", (unsigned long long)i, err.msg);
    size_t n;
    CHILD_CHECK(gx_store_get(st, key(0, 0, 0), data, sizeof data, &n, &err) == 0
                && data[0] == 0 && data[MiB - 1] == 0, "get after: %s", err.msg);
    gx_store_close(&st);
    fprintf(stderr, "closed\n");
    _exit(0);
}

Test(store, fails_a_growth_past_the_address_space_limit_cleanly)
{
    if (gx_test_sanitized())
        SKIP("sanitizers reserve terabytes of address space");
    const char *dir = make_dir("limited");
    proc_t *p = proc_fork(grow_under_a_limit, dir, NULL, NULL);
    proc_expect_exit(p, 30, 0);
    const char *out = proc_err(p);
    cr_assert(strstr(out, dir) && strstr(out, "closed"), "child: %s", out);
    cr_assert(strstr(out, "Cannot allocate memory"), "child: %s", out);
    cr_log_info("store: under RLIMIT_AS: %s", out);
    assert_empty(dir);
}

// ---- memory ----------------------------------------------------------------

static size_t
rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    cr_assert_not_null(f);
    unsigned long size, resident;
    cr_assert_eq(fscanf(f, "%lu %lu", &size, &resident), 2);
    fclose(f);
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

// 256 MiB written, then read back in 4 MiB blocks: mapped file pages
// would all stay resident (without the madvise in get, RSS grew by 256
// MiB here); written ones never are (no MDB_WRITEMAP). Under ASan the
// writes are not measured: LMDB mallocs each commit's dirty pages and
// frees them, and ASan's quarantine (256 MiB) keeps what it frees
// resident. Under TSan every byte read also costs shadow memory, which
// counts too: skipped there.
Test(store, drops_the_pages_it_reads_from_rss)
{
#if defined(__SANITIZE_THREAD__)
    SKIP("TSan's shadow of the bytes read counts in RSS");
#endif
    enum { BLOCKS = 64 };
    size_t len = 4 * MiB;
    uint8_t *a = malloc(len), *b = malloc(len);
    memset(a, 1, len);
    memset(b, 1, len);
    gx_store_t *st = store_in(gx_test_tmpdir(), 0, false);
    size_t n;
    gx_error_t err = { 0 };
    cr_assert_eq(gx_store_put(st, key(9, 9, 9), a, len, &err), 0, "%s", err.msg);
    cr_assert_eq(gx_store_get(st, key(9, 9, 9), b, len, &n, &err), 0, "%s", err.msg);
    size_t before = rss_bytes();
    for (uint64_t i = 0; i < BLOCKS; i++) {
        memset(a, (int)i, len);
        cr_assert_eq(gx_store_put(st, key(0, 0, i), a, len, &err), 0, "%s", err.msg);
    }
    size_t written = rss_bytes(), peak = written;
    for (uint64_t i = 0; i < BLOCKS; i++) {
        cr_assert_eq(gx_store_get(st, key(0, 0, i), b, len, &n, &err), 0, "%s", err.msg);
        memset(a, (int)i, len);
        cr_assert(n == len && memcmp(a, b, len) == 0, "block %llu", (unsigned long long)i);
        size_t now = rss_bytes();
        peak = now > peak ? now : peak;
    }
    size_t after = rss_bytes();
    cr_log_info("store: RSS %zu MiB before, %zu MiB after writing 256 MiB, "
                "%zu MiB after reading it back (peak %zu MiB)", before >> 20,
                written >> 20, after >> 20, peak >> 20);
    cr_assert_lt(peak - written, 64 * MiB, "reading: RSS grew from %zu to %zu MiB",
                 written >> 20, peak >> 20);
#if !defined(__SANITIZE_ADDRESS__)
    cr_assert_lt(peak - before, 64 * MiB, "RSS grew from %zu to %zu MiB",
                 before >> 20, peak >> 20);
#endif
    gx_store_close(&st);
    free(a);
    free(b);
}

Test(store, counts_what_it_put_and_read_back)
{
    gx_store_t *st = store_in(gx_test_tmpdir(), 0, false);
    gx_store_stats_t s;
    gx_store_stats(st, &s);
    cr_assert(s.puts == 0 && s.bytes_put == 0 && s.gets == 0 && s.file_bytes == 0);
    put_block(st, key(0, 0, 0), 1000, 0);
    put_block(st, key(0, 0, 1), 3000, 0);
    assert_block(st, key(0, 0, 0), 1000, 0);
    assert_missing(st, key(0, 0, 2));        // a miss is no get
    gx_store_stats(st, &s);
    cr_assert_eq(s.puts, 2);
    cr_assert_eq(s.bytes_put, 4000);
    cr_assert_eq(s.gets, 1);
    cr_assert_eq(s.bytes_got, 1000);
    cr_assert_eq(s.grows, 0);
    cr_assert_eq(s.map_bytes, GX_STORE_MAP_DEFAULT);
    cr_assert_geq(s.file_bytes, 4000);
    cr_assert_gt(s.seconds, 0.0);
    gx_store_close(&st);
}
