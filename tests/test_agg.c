// tests/test_agg.c: the aggregator suite. Identities, the master's
// reduction of worker partials in every op, and the per-vertex folds of
// program.h, each against a plain loop written here. int64 sums must wrap
// (two's complement) rather than overflow: the sanitizer build traps on
// signed overflow, so these tests are the proof there is none.
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "core/agg.h"
#include "testutil.h"

static const gx_agg_op_t all_ops[] = {
    GX_AGG_SUM_F64, GX_AGG_MIN_F64, GX_AGG_MAX_F64,
    GX_AGG_SUM_I64, GX_AGG_MIN_I64, GX_AGG_MAX_I64,
};
#define N_OPS (sizeof all_ops / sizeof all_ops[0])

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t
rng(void)
{
    return gx_test_xorshift64(&rng_state);
}

// A double in roughly [-1e6, 1e6], sometimes an exact integer.
static double
rnd_f64(void)
{
    double x = (double) (int64_t) (rng() % 2000001) - 1e6;
    return rng() % 2 ? x : x / 7.0;
}

static int64_t
rnd_i64(void)
{
    return (int64_t) rng();       // the whole range, both signs
}

// Two's-complement addition without signed overflow.
static int64_t
wrap_add(int64_t a, int64_t b)
{
    return (int64_t) ((uint64_t) a + (uint64_t) b);
}

// --- Identities ----------------------------------------------------------------

Test(agg, identities_are_zero_for_sums_and_the_extremes_for_min_and_max)
{
    gx_agg_value_t v;
    v = gx_agg_identity(GX_AGG_SUM_F64);
    cr_assert(v.f == 0.0 && !signbit(v.f), "sum f64: %g", v.f);
    v = gx_agg_identity(GX_AGG_MIN_F64);
    cr_assert(isinf(v.f) && v.f > 0, "min f64: %g", v.f);
    v = gx_agg_identity(GX_AGG_MAX_F64);
    cr_assert(isinf(v.f) && v.f < 0, "max f64: %g", v.f);
    cr_assert_eq(gx_agg_identity(GX_AGG_SUM_I64).i, 0);
    cr_assert_eq(gx_agg_identity(GX_AGG_MIN_I64).i, INT64_MAX);
    cr_assert_eq(gx_agg_identity(GX_AGG_MAX_I64).i, INT64_MIN);
}

Test(agg, reset_puts_each_slot_at_its_own_identity)
{
    gx_agg_op_t ops[8] = { GX_AGG_MAX_I64, GX_AGG_SUM_F64, GX_AGG_MIN_F64,
                           GX_AGG_MIN_I64, GX_AGG_SUM_I64, GX_AGG_MAX_F64,
                           GX_AGG_MIN_F64, GX_AGG_MAX_I64 };
    gx_agg_value_t v[9];
    memset(v, 0x5a, sizeof v);
    gx_agg_reset(ops, 8, v);
    for (int i = 0; i < 8; i++) {
        gx_agg_value_t id = gx_agg_identity(ops[i]);
        cr_assert(memcmp(&v[i], &id, sizeof id) == 0, "slot %d", i);
    }
    gx_agg_value_t untouched;
    memset(&untouched, 0x5a, sizeof untouched);
    cr_assert(memcmp(&v[8], &untouched, sizeof untouched) == 0,
              "reset wrote past n");
}

Test(agg, a_reduction_over_no_partials_is_the_identity)
{
    gx_agg_value_t acc[N_OPS];
    gx_agg_reset(all_ops, N_OPS, acc);
    gx_agg_reduce(all_ops, 0, acc, NULL);        // n = 0: touches nothing
    cr_assert_eq(acc[0].f, 0.0);
    cr_assert_eq(acc[1].f, INFINITY);
    cr_assert_eq(acc[2].f, -INFINITY);
    cr_assert_eq(acc[3].i, 0);
    cr_assert_eq(acc[4].i, INT64_MAX);
    cr_assert_eq(acc[5].i, INT64_MIN);
}

Test(agg, the_identity_is_neutral_on_either_side)
{
    for (int trial = 0; trial < 200; trial++) {
        gx_agg_value_t x[N_OPS], ids[N_OPS], acc[N_OPS];
        for (size_t k = 0; k < N_OPS; k++) {
            if (k < 3) x[k].f = rnd_f64();
            else       x[k].i = rnd_i64();
        }
        if (trial == 0) {              // the extremes themselves
            x[1].f = INFINITY; x[2].f = -INFINITY;
            x[4].i = INT64_MAX; x[5].i = INT64_MIN;
        }
        gx_agg_reset(all_ops, N_OPS, ids);
        memcpy(acc, x, sizeof acc);
        gx_agg_reduce(all_ops, N_OPS, acc, ids);            // x (op) e
        cr_assert(memcmp(acc, x, sizeof acc) == 0, "x op e != x");
        memcpy(acc, ids, sizeof acc);
        gx_agg_reduce(all_ops, N_OPS, acc, x);              // e (op) x
        for (size_t k = 0; k < N_OPS; k++)
            if (k < 3)
                cr_assert_eq(acc[k].f, x[k].f, "op %zu", k);
            else
                cr_assert_eq(acc[k].i, x[k].i, "op %zu", k);
    }
}

// --- Reduction of partials --------------------------------------------------------

Test(agg, reduces_worker_partials_in_every_op_like_a_plain_loop)
{
    enum { W = 13 };
    for (int trial = 0; trial < 100; trial++) {
        gx_agg_value_t part[W][N_OPS];
        for (int w = 0; w < W; w++)
            for (size_t k = 0; k < N_OPS; k++) {
                if (k < 3) part[w][k].f = rnd_f64();
                else       part[w][k].i = rnd_i64();
            }
        // The master's way: reset, then reduce the partials in worker order.
        gx_agg_value_t acc[N_OPS];
        gx_agg_reset(all_ops, N_OPS, acc);
        for (int w = 0; w < W; w++)
            gx_agg_reduce(all_ops, N_OPS, acc, part[w]);
        // The plain way, starting from the first partial.
        double fsum = part[0][0].f, fmin_ = part[0][1].f, fmax_ = part[0][2].f;
        int64_t isum = part[0][3].i, imin = part[0][4].i, imax = part[0][5].i;
        for (int w = 1; w < W; w++) {
            fsum += part[w][0].f;
            if (part[w][1].f < fmin_) fmin_ = part[w][1].f;
            if (part[w][2].f > fmax_) fmax_ = part[w][2].f;
            isum = wrap_add(isum, part[w][3].i);
            if (part[w][4].i < imin) imin = part[w][4].i;
            if (part[w][5].i > imax) imax = part[w][5].i;
        }
        // 0 + a + b + ... adds in the same order as a + b + ...: exact.
        cr_assert_eq(acc[0].f, fsum);
        cr_assert_eq(acc[1].f, fmin_);
        cr_assert_eq(acc[2].f, fmax_);
        cr_assert_eq(acc[3].i, isum, "%" PRId64 " vs %" PRId64, acc[3].i, isum);
        cr_assert_eq(acc[4].i, imin);
        cr_assert_eq(acc[5].i, imax);
    }
}

Test(agg, reduces_each_slot_by_its_own_op)
{
    // The same op in several slots, interleaved: no slot sees another's op.
    gx_agg_op_t ops[5] = { GX_AGG_MIN_I64, GX_AGG_SUM_F64, GX_AGG_MIN_I64,
                           GX_AGG_MAX_F64, GX_AGG_SUM_I64 };
    gx_agg_value_t acc[5], p1[5], p2[5];
    gx_agg_reset(ops, 5, acc);
    p1[0].i = 5;   p1[1].f = 1.5;  p1[2].i = -5; p1[3].f = -2.0; p1[4].i = 10;
    p2[0].i = -7;  p2[1].f = 2.25; p2[2].i = 9;  p2[3].f = -3.0; p2[4].i = -4;
    gx_agg_reduce(ops, 5, acc, p1);
    gx_agg_reduce(ops, 5, acc, p2);
    cr_assert_eq(acc[0].i, -7);
    cr_assert_eq(acc[1].f, 3.75);
    cr_assert_eq(acc[2].i, -5);
    cr_assert_eq(acc[3].f, -2.0);
    cr_assert_eq(acc[4].i, 6);
}

Test(agg, an_int64_sum_wraps_around_without_overflowing)
{
    gx_agg_op_t op = GX_AGG_SUM_I64;
    gx_agg_value_t acc = { .i = INT64_MAX }, one = { .i = 1 };
    gx_agg_reduce(&op, 1, &acc, &one);
    cr_assert_eq(acc.i, INT64_MIN);
    gx_agg_value_t minus_two = { .i = -2 };
    gx_agg_reduce(&op, 1, &acc, &minus_two);
    cr_assert_eq(acc.i, INT64_MAX - 1);
    gx_agg_value_t low = { .i = INT64_MIN };
    acc.i = INT64_MIN;
    gx_agg_reduce(&op, 1, &acc, &low);
    cr_assert_eq(acc.i, 0);
}

Test(agg, min_and_max_of_doubles_keep_infinities_and_signed_values)
{
    gx_agg_op_t ops[2] = { GX_AGG_MIN_F64, GX_AGG_MAX_F64 };
    gx_agg_value_t acc[2], p[2];
    gx_agg_reset(ops, 2, acc);
    p[0].f = -INFINITY; p[1].f = INFINITY;
    gx_agg_reduce(ops, 2, acc, p);
    p[0].f = -1e300; p[1].f = 1e300;
    gx_agg_reduce(ops, 2, acc, p);
    cr_assert_eq(acc[0].f, -INFINITY);
    cr_assert_eq(acc[1].f, INFINITY);
}

// --- Validation ---------------------------------------------------------------------

Test(agg, validate_accepts_every_known_op_and_no_ops)
{
    cr_assert_eq(gx_agg_validate(all_ops, N_OPS), -1);
    cr_assert_eq(gx_agg_validate(all_ops, 0), -1);
    cr_assert_eq(gx_agg_validate(NULL, 0), -1);
}

Test(agg, validate_names_the_first_bad_op)
{
    static const int bad[] = { 0, GX_AGG_MAX_I64 + 1, 42, -1, 1 << 30 };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        gx_agg_op_t ops[6];
        memcpy(ops, all_ops, sizeof ops);
        ops[2] = (gx_agg_op_t) bad[b];
        ops[4] = (gx_agg_op_t) bad[b];
        cr_assert_eq(gx_agg_validate(ops, 6), 2, "op %d", bad[b]);
        cr_assert_eq(gx_agg_validate(ops, 2), -1, "only the first two looked at");
    }
}

// --- The per-vertex folds of program.h -------------------------------------------

Test(agg, gx_aggregate_folds_values_into_the_local_partial_per_op)
{
    gx_agg_value_t agg[N_OPS], local[N_OPS];
    gx_agg_reset(all_ops, N_OPS, agg);
    gx_agg_reset(all_ops, N_OPS, local);
    gx_context_t ctx = { .agg = agg, .agg_local = local, .agg_ops = all_ops };
    double fsum = 0.0, fmin_ = INFINITY, fmax_ = -INFINITY;
    int64_t isum = 0, imin = INT64_MAX, imax = INT64_MIN;
    rng_state = 7;
    for (int i = 0; i < 1000; i++) {
        double x = rnd_f64();
        int64_t y = (int64_t) (rng() % 2000001) - 1000000;  // no overflow here
        for (unsigned k = 0; k < 3; k++)
            gx_aggregate_f64(&ctx, k, x);
        for (unsigned k = 3; k < 6; k++)
            gx_aggregate_i64(&ctx, k, y);
        fsum += x;
        if (x < fmin_) fmin_ = x;
        if (x > fmax_) fmax_ = x;
        isum += y;
        if (y < imin) imin = y;
        if (y > imax) imax = y;
    }
    cr_assert_eq(local[0].f, fsum);
    cr_assert_eq(local[1].f, fmin_);
    cr_assert_eq(local[2].f, fmax_);
    cr_assert_eq(local[3].i, isum);
    cr_assert_eq(local[4].i, imin);
    cr_assert_eq(local[5].i, imax);
    // The reduced aggregates of the previous step are read-only to a fold.
    gx_agg_value_t ids[N_OPS];
    gx_agg_reset(all_ops, N_OPS, ids);
    cr_assert(memcmp(agg, ids, sizeof ids) == 0);
}

Test(agg, gx_aggregate_i64_sum_wraps_around_without_overflowing)
{
    // A program summing int64 contributions at a vertex must get the same
    // wrap-around as the master's reduction, not undefined behaviour.
    gx_agg_op_t op = GX_AGG_SUM_I64;
    gx_agg_value_t local = { .i = INT64_MAX - 1 };
    gx_context_t ctx = { .agg_local = &local, .agg_ops = &op };
    gx_aggregate_i64(&ctx, 0, 3);
    cr_assert_eq(local.i, INT64_MIN + 1);
    gx_aggregate_i64(&ctx, 0, INT64_MIN);
    cr_assert_eq(local.i, 1);
}
