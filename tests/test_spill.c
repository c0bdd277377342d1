// tests/test_spill.c: a process's spill (core/spill.h), the engine's door
// to the store: nothing on disk until the first block, blocks back as
// they went, a block of another size or a lost one an error naming the
// dir, the engine's fault points failing writes, reads and growths with a
// line, the figures kept after close, and $TMPDIR as the default dir.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "core/fault.h"
#include "core/spill.h"
#include "testutil.h"

static void setup(void) { gx_test_tmpdir_make("spill"); }
static void teardown(void)
{
    gx_fault_disarm();
    gx_test_tmpdir_remove();
}
TestSuite(spill, .init = setup, .fini = teardown);

static int
entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

Test(spill, blocks_come_back_and_nothing_is_left)
{
    gx_spill_t s;
    gx_error_t err;
    cr_assert_eq(gx_spill_init(&s, gx_test_tmpdir(), &err), 0, "%s", err.msg);
    gx_spill_stats_t st;
    gx_spill_stats(&s, &st);
    cr_assert_eq(st.bytes_put, 0);
    uint32_t a[1000], b[1000];
    for (int i = 0; i < 1000; i++)
        a[i] = (uint32_t)i * 2654435761u;
    uint8_t small[3] = { 1, 2, 3 }, back[3];
    cr_assert_eq(gx_spill_put(&s, GX_SPACE_PART, 7, 0, a, sizeof a, &err), 0,
                 "%s", err.msg);
    cr_assert_eq(gx_spill_put(&s, GX_SPACE_PART, 7, 1, small, 3, &err), 0);
    gx_spill_stats(&s, &st);
    cr_assert_eq(st.bytes_put, sizeof a + 3);
    cr_assert_eq(gx_spill_get(&s, GX_SPACE_PART, 7, 0, b, sizeof b, &err), 0,
                 "%s", err.msg);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    cr_assert_eq(gx_spill_get(&s, GX_SPACE_PART, 7, 1, back, 3, &err), 0);
    cr_assert_eq(memcmp(small, back, 3), 0);
    // Another size than was put, or a block never put: an error naming
    // the dir, never a short read taken for the block.
    cr_assert_eq(gx_spill_get(&s, GX_SPACE_PART, 7, 1, b, 4, &err), -1);
    cr_assert_eq(gx_spill_get(&s, GX_SPACE_PART, 8, 0, b, 4, &err), -1);
    cr_assert(strstr(err.msg, gx_test_tmpdir()), "%s", err.msg);
    cr_assert_eq(gx_spill_drop(&s, GX_SPACE_PART, 7, &err), 0);
    cr_assert_eq(gx_spill_get(&s, GX_SPACE_PART, 7, 0, b, sizeof b, &err), -1);
    gx_spill_close(&s);
    gx_spill_stats(&s, &st);
    cr_assert_eq(st.bytes_put, sizeof a + 3);
    cr_assert_eq(st.bytes_got, sizeof a + 3 + 3);   // and the 3 of the
                                                    // read of 4 refused
    gx_spill_fini(&s);
    cr_assert_eq(entries(gx_test_tmpdir()), 0);
}

Test(spill, nothing_on_disk_without_a_block_and_tmpdir_by_default)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/t", gx_test_tmpdir());
    cr_assert_eq(mkdir(sub, 0700), 0);
    setenv("TMPDIR", sub, 1);
    gx_spill_t s;
    gx_error_t err;
    cr_assert_eq(gx_spill_init(&s, NULL, &err), 0);
    cr_assert_str_eq(s.dir, sub);
    uint8_t x[8];
    cr_assert_eq(gx_spill_get(&s, GX_SPACE_EDGES, 0, 0, x, 8, &err), -1);
    cr_assert_eq(gx_spill_drop(&s, GX_SPACE_EDGES, 0, &err), 0);
    cr_assert_eq(entries(sub), 0);
    gx_spill_fini(&s);
    cr_assert_eq(entries(sub), 0);
    unsetenv("TMPDIR");
}

// Each fault kind fails its first point with a line, and the spill can
// still be closed, leaving nothing.
Test(spill, fault_points_fail_with_a_line)
{
    static const gx_fault_kind_t kinds[] = { GX_FAULT_SPILL_WRITE,
                                             GX_FAULT_SPILL_READ };
    for (size_t k = 0; k < 2; k++) {
        gx_spill_t s;
        gx_error_t err = { .msg = "" };
        cr_assert_eq(gx_spill_init(&s, gx_test_tmpdir(), &err), 0);
        uint64_t v = 42, back = 0;
        if (kinds[k] == GX_FAULT_SPILL_READ)
            cr_assert_eq(gx_spill_put(&s, GX_SPACE_MSGS, 1, 0, &v, 8, &err), 0);
        gx_fault_arm(kinds[k], 1);
        int rc = kinds[k] == GX_FAULT_SPILL_WRITE
                 ? gx_spill_put(&s, GX_SPACE_MSGS, 1, 0, &v, 8, &err)
                 : gx_spill_get(&s, GX_SPACE_MSGS, 1, 0, &back, 8, &err);
        gx_fault_disarm();
        cr_assert_eq(rc, -1, "%s did not fail", gx_fault_kind_name(kinds[k]));
        cr_assert(strstr(err.msg, gx_test_tmpdir()), "%s", err.msg);
        gx_spill_fini(&s);
        cr_assert_eq(entries(gx_test_tmpdir()), 0);
    }
}

Test(spill, growth_fault_fails_a_put_too_big_for_the_map)
{
    gx_spill_t s;
    gx_error_t err = { .msg = "" };
    cr_assert_eq(gx_spill_init(&s, gx_test_tmpdir(), &err), 0);
    size_t n = (size_t)80 << 20;                 // past the 64 MiB first map
    uint8_t *big = calloc(1, n);
    cr_assert(big);
    gx_fault_arm(GX_FAULT_SPILL_GROW, 1);
    int rc = gx_spill_put(&s, GX_SPACE_PART, 0, 0, big, n, &err);
    gx_fault_disarm();
    cr_assert_eq(rc, -1);
    cr_assert(err.msg[0]);
    cr_assert_eq(gx_spill_put(&s, GX_SPACE_PART, 0, 0, big, n, &err), 0,
                 "a growth after the failed one: %s", err.msg);
    free(big);
    gx_spill_fini(&s);
}
