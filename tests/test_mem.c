// test_mem: core/mem.h's growth rule, the one every growing array of the
// engine uses: doubling in 64-bit counts, bounded, every product checked.
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/mem.h"

Test(mem, grow_cap_doubles_from_first)
{
    cr_assert_eq(gx_grow_cap(0, 1, 64, UINT64_MAX, 8), 64);
    cr_assert_eq(gx_grow_cap(64, 65, 64, UINT64_MAX, 8), 128);
    cr_assert_eq(gx_grow_cap(100, 101, 64, UINT64_MAX, 8), 200);
    // A need beyond double is met at once.
    cr_assert_eq(gx_grow_cap(64, 1000, 64, UINT64_MAX, 8), 1000);
}

// The wrap that was: a 32-bit capacity of 2^31 doubled to 0, and
// realloc(p, 0) gave a 1-byte block. Now the count is 64-bit and bounded
// by the largest count the array may hold (masters are u32-indexed).
Test(mem, grow_cap_does_not_wrap_at_2_to_the_32)
{
    uint64_t cap = gx_grow_cap(1ull << 31, (1ull << 31) + 1, 1024, UINT32_MAX,
                               8);
    cr_assert_eq(cap, UINT32_MAX, "2^31 grew to %llu", (unsigned long long)cap);
    cr_assert_eq(gx_grow_cap(UINT32_MAX, 1ull << 32, 1024, UINT32_MAX, 8), 0,
                 "past the bound: refused, not wrapped");
    // Without a bound below 2^32 it simply goes on in 64 bits.
    cr_assert_eq(gx_grow_cap(1ull << 31, (1ull << 31) + 1, 1024, UINT64_MAX, 8),
                 1ull << 32);
}

Test(mem, grow_cap_checks_bytes)
{
    // Elements whose bytes a size_t cannot count: refused.
    cr_assert_eq(gx_grow_cap(0, SIZE_MAX / 8 + 1, 64, UINT64_MAX, 8), 0);
    // Doubling past what a size_t counts: only what is needed.
    uint64_t big = SIZE_MAX / 32 + 1;   // 2 * big elements of 16 bytes overflow
    cr_assert_eq(gx_grow_cap(big, big + 1, 64, UINT64_MAX, 16), big + 1);
    cr_assert_eq(gx_grow_cap(0, 1, 64, UINT64_MAX, 0), 0, "width 0");
}

Test(mem, grow_keeps_the_contents_and_the_block_on_failure)
{
    uint32_t *a = NULL;
    uint64_t cap = 0;
    for (uint32_t i = 0; i < 10000; i++) {
        a = gx_grow(a, &cap, i + 1, 16, UINT64_MAX, sizeof *a);
        cr_assert_not_null(a);
        cr_assert_geq(cap, i + 1);
        a[i] = i * 7;
    }
    for (uint32_t i = 0; i < 10000; i++)
        cr_assert_eq(a[i], i * 7);
    uint32_t *before = a;
    uint64_t cap_before = cap;
    cr_assert_null(gx_grow(a, &cap, (uint64_t)SIZE_MAX, 16, UINT64_MAX,
                           sizeof *a), "a size that cannot be held");
    cr_assert_eq(cap, cap_before);
    cr_assert_eq(gx_grow(a, &cap, 5, 16, UINT64_MAX, sizeof *a), before,
                 "room already: the same block");
    cr_assert_eq(cap, cap_before);
    free(a);
}
