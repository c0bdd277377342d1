// test_mem: core/mem.h's growth rule, the one every growing array of the
// engine uses: doubling in 64-bit counts, bounded, every product checked;
// parallel columns grown together under it; and the accountant: what
// each block counts, the peak, the budget, fixed buffers scaled by it,
// and counts from many threads at once.
#include <criterion/criterion.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/fault.h"
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
    gx_free(a);
}

// ---- Parallel columns (gx_grow_cols) ------------------------------------------

// Three columns of different widths, as a table's fields: u32, u64, u8.
typedef struct cols3 {
    uint32_t *a;
    uint64_t *b;
    uint8_t  *c;
    uint64_t  n, cap;
} cols3_t;

static int
cols3_grow(cols3_t *t, uint64_t need, uint64_t max)
{
    gx_col_t col[3] = { { t->a, sizeof *t->a }, { t->b, sizeof *t->b },
                        { t->c, sizeof *t->c } };
    int rc = gx_grow_cols(col, 3, &t->cap, need, 16, max);
    t->a = col[0].p;
    t->b = col[1].p;
    t->c = col[2].p;
    return rc;
}

static void
cols3_fill(cols3_t *t, uint64_t n)
{
    for (; t->n < n; t->n++) {
        cr_assert_eq(cols3_grow(t, t->n + 1, UINT64_MAX), 0);
        cr_assert_geq(t->cap, t->n + 1);
        t->a[t->n] = (uint32_t)(t->n * 7);
        t->b[t->n] = t->n << 33;
        t->c[t->n] = (uint8_t)t->n;
    }
}

static void
cols3_assert_rows(const cols3_t *t)
{
    for (uint64_t i = 0; i < t->n; i++)
        cr_assert(t->a[i] == (uint32_t)(i * 7) && t->b[i] == i << 33
                  && t->c[i] == (uint8_t)i, "row %llu lost", (unsigned long long)i);
}

static void
cols3_free(cols3_t *t)
{
    gx_free(t->a);
    gx_free(t->b);
    gx_free(t->c);
}

Test(mem, grow_cols_grows_every_column_to_one_capacity)
{
    cols3_t t = { 0 };
    cols3_fill(&t, 1);
    cr_assert_eq(t.cap, 16, "from nothing: `first` rows in every column");
    cols3_fill(&t, 10000);
    cols3_assert_rows(&t);
    uint64_t cap = t.cap;
    uint32_t *a = t.a;
    cr_assert_eq(cols3_grow(&t, 5, UINT64_MAX), 0);
    cr_assert(t.cap == cap && t.a == a, "room already: nothing moves");
    // The block of each column is cap rows of its own width: the last row
    // of every column can be written (ASan would see an overrun).
    t.a[t.cap - 1] = 1;
    t.b[t.cap - 1] = 1;
    t.c[t.cap - 1] = 1;
    cols3_free(&t);
}

// The second column's realloc fails: the first has grown (and may have
// moved), the third was not touched, and the capacity is the old one, so
// every column is valid for it. The next try grows them all.
Test(mem, grow_cols_failing_halfway_leaves_every_column_valid_at_the_old_cap)
{
    cols3_t t = { 0 };
    cols3_fill(&t, 16);
    cr_assert_eq(t.cap, 16);
    uint64_t *b = t.b;
    uint8_t *c = t.c;
    gx_fault_arm(GX_FAULT_ALLOC, 2);
    cr_assert_eq(cols3_grow(&t, 17, UINT64_MAX), -1);
    cr_assert_eq(gx_fault_count(), 2, "stopped at the failing column");
    gx_fault_disarm();
    cr_assert_eq(t.cap, 16, "the old capacity");
    cr_assert(t.b == b && t.c == c, "the failed column and the next as they were");
    cr_assert_not_null(t.a);
    cols3_assert_rows(&t);
    cols3_fill(&t, 17);
    cr_assert_geq(t.cap, 17);
    cols3_assert_rows(&t);
    cols3_free(&t);
}

// Sizes that cannot be held are refused before any realloc: no column
// moves. The widest column decides: 2^61 + 1 rows of 8 bytes are 2^64 + 8
// bytes, which wrap to 8 in a size_t, while the u32 column's 2^63 + 4 do
// not wrap (a check on the first column alone would let it through).
Test(mem, grow_cols_refuses_a_byte_count_that_would_wrap)
{
    cols3_t t = { 0 };
    cols3_fill(&t, 20);
    cols3_t before = t;
    uint64_t need = SIZE_MAX / 8 + 2;
    cr_assert_eq(cols3_grow(&t, need, UINT64_MAX), -1);
    cr_assert(t.a == before.a && t.b == before.b && t.c == before.c
              && t.cap == before.cap, "a refused size moved a column");
    cols3_assert_rows(&t);
    cols3_free(&t);
}

// A table bounded by u32 indices (the master table) at its bound: the next
// row is refused, not wrapped to a capacity of 0 or 2^32. The capacity is
// told, not allocated: no realloc may happen.
Test(mem, grow_cols_refuses_to_pass_a_u32_bound_instead_of_wrapping)
{
    cols3_t t = { 0 };
    cols3_fill(&t, 4);
    cols3_t before = t;
    t.cap = UINT32_MAX;
    cr_assert_eq(cols3_grow(&t, 1ull << 32, UINT32_MAX), -1);
    cr_assert_eq(t.cap, UINT32_MAX);
    cr_assert(t.a == before.a && t.b == before.b && t.c == before.c,
              "a refused size moved a column");
    t.cap = before.cap;
    cols3_assert_rows(&t);
    cols3_free(&t);
}

// ---- The accountant ---------------------------------------------------------
//
// Counts are what the allocator hands out (malloc_usable_size), so the
// tests compare against the same, never against the size asked for.

Test(mem, a_block_counts_its_usable_size_until_it_is_freed)
{
    uint64_t start = gx_acct_used();
    char *p = gx_malloc(100);
    cr_assert_not_null(p);
    cr_assert_eq(gx_acct_used(), start + malloc_usable_size(p));
    uint64_t *q = gx_calloc(1000, sizeof *q);
    cr_assert_not_null(q);
    cr_assert_eq(gx_acct_used(),
                 start + malloc_usable_size(p) + malloc_usable_size(q));
    gx_free(p);
    cr_assert_eq(gx_acct_used(), start + malloc_usable_size(q));
    gx_free(q);
    gx_free(NULL);
    cr_assert_eq(gx_acct_used(), start);
}

Test(mem, realloc_moves_the_count_by_the_sizes_before_and_after)
{
    uint64_t start = gx_acct_used();
    char *p = gx_realloc(NULL, 10);
    cr_assert_not_null(p);
    cr_assert_eq(gx_acct_used(), start + malloc_usable_size(p));
    // Growing in place, moving, and shrinking: each leaves the count at
    // the block's size, whatever the allocator chose to do.
    size_t sizes[] = { 20, 5000, 1 << 20, 64, 3 << 20, 1 };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        p = gx_realloc(p, sizes[i]);
        cr_assert_not_null(p);
        cr_assert_eq(gx_acct_used(), start + malloc_usable_size(p),
                     "after realloc to %zu", sizes[i]);
    }
    p = gx_realloc(p, 1 << 20);
    p = gx_shrink(p, 100);
    cr_assert_eq(gx_acct_used(), start + malloc_usable_size(p), "shrunk");
    gx_free(p);
    cr_assert_eq(gx_acct_used(), start);
}

Test(mem, a_failed_realloc_leaves_the_count_and_the_block)
{
    uint64_t start = gx_acct_used();
    char *p = gx_malloc(1000);
    uint64_t with = gx_acct_used();
    gx_fault_arm(GX_FAULT_ALLOC, 1);
    cr_assert_null(gx_realloc(p, 100000));
    gx_fault_disarm();
    cr_assert_eq(gx_acct_used(), with);
    gx_free(p);
    cr_assert_eq(gx_acct_used(), start);
}

Test(mem, big_aligned_blocks_count_and_cancel_exactly)
{
    uint64_t start = gx_acct_used();
    size_t sizes[] = { 100, (size_t)4 << 20, (size_t)32 << 20,
                       ((size_t)32 << 20) + 123 };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *p = gx_big_alloc(sizes[i]);
        cr_assert_not_null(p);
        uint64_t got = gx_acct_used() - start;
        cr_assert_eq(got, malloc_usable_size(p), "%zu bytes", sizes[i]);
        cr_assert_geq(got, sizes[i]);
        if (sizes[i] >= ((size_t)32 << 20))
            cr_assert_eq((uintptr_t)p % ((size_t)2 << 20), 0, "aligned");
        uint8_t *z = gx_big_calloc(sizes[i], 1);
        cr_assert_not_null(z);
        cr_assert_eq(z[sizes[i] - 1], 0);
        gx_free(p);
        gx_free(z);
        cr_assert_eq(gx_acct_used(), start, "%zu bytes", sizes[i]);
    }
}

Test(mem, the_peak_holds_the_highest_count_since_its_reset)
{
    gx_acct_reset_peak();
    uint64_t start = gx_acct_used();
    cr_assert_eq(gx_acct_peak(), start);
    char *a = gx_malloc((size_t)1 << 20);
    char *b = gx_malloc((size_t)2 << 20);
    uint64_t high = gx_acct_used();
    gx_free(a);
    gx_free(b);
    cr_assert_eq(gx_acct_used(), start);
    cr_assert_eq(gx_acct_peak(), high, "the peak stays after the frees");
    char *c = gx_malloc(1000);
    cr_assert_eq(gx_acct_peak(), high, "a lower count does not move it");
    gx_acct_reset_peak();
    cr_assert_eq(gx_acct_peak(), gx_acct_used(), "reset: what is in use now");
    gx_free(c);
}

Test(mem, room_is_what_the_budget_leaves_and_unbounded_without_one)
{
    cr_assert_eq(gx_acct_budget(), 0, "no budget by default");
    cr_assert_eq(gx_acct_room(), UINT64_MAX);
    char *p = gx_malloc(4096);
    uint64_t used = gx_acct_used();
    gx_acct_set_budget(used + 1000);
    cr_assert_eq(gx_acct_budget(), used + 1000);
    cr_assert_eq(gx_acct_room(), 1000);
    gx_acct_set_budget(used);
    cr_assert_eq(gx_acct_room(), 0, "at the budget");
    gx_acct_set_budget(1);
    cr_assert_eq(gx_acct_room(), 0, "over it: none, not a wrapped count");
    gx_free(p);
    gx_acct_set_budget(0);
    cr_assert_eq(gx_acct_room(), UINT64_MAX);
}

Test(mem, fixed_buffers_keep_their_size_unless_the_budget_is_small)
{
    const size_t MiB = (size_t)1 << 20, floor = 64 << 10;
    gx_acct_set_budget(0);
    cr_assert_eq(gx_acct_scaled(4 * MiB, floor, 2), 4 * MiB, "no budget");
    // 4 MiB by 2 threads is 1/64 of 512 MiB: from there up, the default.
    gx_acct_set_budget((uint64_t)512 * MiB);
    cr_assert_eq(gx_acct_scaled(4 * MiB, floor, 2), 4 * MiB);
    gx_acct_set_budget((uint64_t)64 << 30);
    cr_assert_eq(gx_acct_scaled(16 * MiB, floor, 64), 16 * MiB);
    // Below: a 64th of a thread's share.
    gx_acct_set_budget((uint64_t)256 * MiB);
    cr_assert_eq(gx_acct_scaled(4 * MiB, floor, 2), 2 * MiB);
    cr_assert_eq(gx_acct_scaled(4 * MiB, floor, 4), MiB);
    cr_assert_eq(gx_acct_scaled(MiB, floor, 4), MiB, "already small enough");
    cr_assert_eq(gx_acct_scaled(4 * MiB, floor, 0), 4 * MiB,
                 "no thread counts as one");
    // Never below the floor, never above the default.
    gx_acct_set_budget(MiB);
    cr_assert_eq(gx_acct_scaled(4 * MiB, floor, 2), floor);
    cr_assert_eq(gx_acct_scaled(4 * MiB, 8 * MiB, 2), 4 * MiB);
    gx_acct_set_budget(0);
}

// Several threads allocate, grow and free at once: every count lands (no
// lost update), so the total returns exactly to where it was, and the
// peak saw at least one thread's blocks.
enum { ACCT_THREADS = 4, ACCT_ROUNDS = 20000 };

static void *
churn(void *arg)
{
    uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
    void *keep[16] = { 0 };
    for (int i = 0; i < ACCT_ROUNDS; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        size_t k = seed % 16, bytes = 1 + seed % 20000;
        switch ((seed >> 20) % 4) {
        case 0: gx_free(keep[k]); keep[k] = gx_malloc(bytes); break;
        case 1: keep[k] = gx_realloc(keep[k], bytes); break;
        case 2: gx_free(keep[k]); keep[k] = gx_calloc(bytes, 1); break;
        default:
            gx_free(keep[k]);
            keep[k] = i % 1000 == 0 ? gx_big_alloc((size_t)4 << 20) : NULL;
        }
    }
    for (int k = 0; k < 16; k++)
        gx_free(keep[k]);
    return NULL;
}

Test(mem, threads_allocating_at_once_leave_the_count_where_it_was)
{
    gx_acct_reset_peak();
    uint64_t start = gx_acct_used();
    pthread_t t[ACCT_THREADS];
    for (uintptr_t i = 0; i < ACCT_THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, churn, (void *)i), 0);
    for (int i = 0; i < ACCT_THREADS; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(gx_acct_used(), start);
    cr_assert_geq(gx_acct_peak(), start + ((size_t)4 << 20),
                  "a big block was counted at least once");
}
