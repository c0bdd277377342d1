// tests/test_codec.c: the codec suite. Frames survive a round trip with
// every bin count, empty and multi-megabyte bins and extreme header values;
// and whatever bytes arrive (garbage, a cut-off frame, the wrong msgpack
// shape), decoding says -1 with a message and never reads outside the
// buffer. Bad frames are built here with msgpack-c's packer directly, not
// with the codec under test. Decoded buffers are heap copies of exactly the
// frame's length, so an over-read shows under AddressSanitizer.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/codec.h"
#include "testutil.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
    return gx_test_xorshift64(&rng_state);
}


// Decodes a heap copy of data[0..len); a failure must leave a message.
static int
decode(const void *data, size_t len, gx_frame_t *f, gx_error_t *err)
{
    uint8_t *p = gx_test_copy(data, len);
    err->msg[0] = '\0';
    int rc = gx_frame_decode(p, len, f, err);
    if (rc != 0)
        cr_assert(err->msg[0] != '\0', "decode failed without a message");
    else
        for (uint32_t i = 0; i < f->n_bins; i++) {
            // Bins point into the buffer given, and stay inside it.
            const uint8_t *b = f->bin[i];
            cr_assert(f->bin_len[i] == 0
                      || (b >= p && b + f->bin_len[i] <= p + len),
                      "bin %u is outside the frame", i);
        }
    free(p);
    return rc;
}

static void
fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t) gx_test_xorshift64(&x);
    }
}

// Encodes f, decodes it from an exact heap copy and compares field by field.
static void
assert_round_trip(const gx_frame_t *f)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    gx_error_t err = {0};
    cr_assert_eq(gx_frame_encode(f, &sb, &err), 0, "%s", err.msg);
    uint8_t *p = gx_test_copy(sb.data, sb.size);
    gx_frame_t g;
    memset(&g, 0xa5, sizeof g);
    cr_assert_eq(gx_frame_decode(p, sb.size, &g, &err), 0, "%s", err.msg);
    cr_assert_eq(g.kind, f->kind);
    cr_assert_eq(g.step, f->step);
    cr_assert_eq(g.a, f->a);
    cr_assert_eq(g.b, f->b);
    cr_assert_eq(g.n_bins, f->n_bins);
    for (uint32_t i = 0; i < f->n_bins; i++) {
        cr_assert_eq(g.bin_len[i], f->bin_len[i], "bin %u: %zu bytes, want %zu",
                     i, g.bin_len[i], f->bin_len[i]);
        if (f->bin_len[i])
            cr_assert(memcmp(g.bin[i], f->bin[i], f->bin_len[i]) == 0,
                      "bin %u differs", i);
    }
    free(p);
    msgpack_sbuffer_destroy(&sb);
}

// --- Round trips ---------------------------------------------------------------

Test(codec, round_trips_frames_with_zero_to_six_bins)
{
    static const size_t sizes[] = { 1, 0, 7, 300, 65536, 70000 };
    uint8_t *buf[GX_FRAME_MAX_BINS];
    for (int i = 0; i < GX_FRAME_MAX_BINS; i++) {
        buf[i] = malloc(sizes[i] ? sizes[i] : 1);
        fill(buf[i], sizes[i], (uint64_t) i + 1);
    }
    for (uint32_t n = 0; n <= GX_FRAME_MAX_BINS; n++) {
        gx_frame_t f = { .kind = GX_F_MSG, .step = n, .a = 3, .b = 1000 + n,
                         .n_bins = n };
        for (uint32_t i = 0; i < n; i++) {
            f.bin[i] = buf[i];
            f.bin_len[i] = sizes[i];
        }
        assert_round_trip(&f);
    }
    for (int i = 0; i < GX_FRAME_MAX_BINS; i++)
        free(buf[i]);
}

Test(codec, round_trips_empty_bins_with_a_null_pointer)
{
    gx_frame_t f = { .kind = GX_F_SYNC, .n_bins = 6 };   // all six empty
    assert_round_trip(&f);
    uint8_t one = 0x5a;
    f.bin[3] = &one;
    f.bin_len[3] = 1;
    assert_round_trip(&f);
}

Test(codec, round_trips_header_values_up_to_their_maxima)
{
    static const uint64_t v[] = { 0, 1, 127, 128, 255, 256, 65535, 65536,
                                  UINT32_MAX, (uint64_t) UINT32_MAX + 1,
                                  INT64_MAX, (uint64_t) INT64_MAX + 1,
                                  UINT64_MAX - 1, UINT64_MAX };
    const size_t n = sizeof v / sizeof v[0];
    for (size_t i = 0; i < n; i++) {
        gx_frame_t f = { .kind = (uint32_t) (v[i] > UINT32_MAX ? UINT32_MAX
                                                               : v[i]),
                         .step = v[i], .a = v[n - 1 - i], .b = v[(i + 3) % n] };
        assert_round_trip(&f);
    }
}

Test(codec, round_trips_bins_of_several_megabytes)
{
    const size_t big[] = { 5u << 20, 0, (3u << 20) + 17 };
    uint8_t *a = malloc(big[0]), *c = malloc(big[2]);
    cr_assert(a && c);
    fill(a, big[0], 11);
    fill(c, big[2], 12);
    gx_frame_t f = { .kind = GX_F_EDGES, .step = 0, .a = 7,
                     .b = big[0] / 16, .n_bins = 3,
                     .bin = { a, NULL, c }, .bin_len = { big[0], 0, big[2] } };
    assert_round_trip(&f);
    free(a);
    free(c);
}

Test(codec, encode_appends_to_what_the_buffer_holds)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    gx_error_t err = {0};
    uint32_t x = 0xdeadbeef;
    gx_frame_t f1 = { .kind = GX_F_GO, .step = 9, .n_bins = 1,
                      .bin = { &x }, .bin_len = { sizeof x } };
    gx_frame_t f2 = { .kind = GX_F_STOP, .step = 10 };
    cr_assert_eq(gx_frame_encode(&f1, &sb, &err), 0);
    size_t first = sb.size;
    cr_assert_eq(gx_frame_encode(&f2, &sb, &err), 0);
    cr_assert_gt(sb.size, first);
    gx_frame_t g;
    cr_assert_eq(decode(sb.data, first, &g, &err), 0, "%s", err.msg);
    cr_assert_eq(g.kind, GX_F_GO);
    cr_assert_eq(decode(sb.data + first, sb.size - first, &g, &err), 0);
    cr_assert_eq(g.kind, GX_F_STOP);
    cr_assert_eq(g.step, 10);
    // Two frames in one buffer are not one frame.
    cr_assert_eq(decode(sb.data, sb.size, &g, &err), -1);
    msgpack_sbuffer_destroy(&sb);
}

Test(codec, encode_refuses_more_than_six_bins)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    gx_frame_t f = { .kind = GX_F_MSG, .n_bins = GX_FRAME_MAX_BINS + 1 };
    gx_error_t err = {0};
    cr_assert_eq(gx_frame_encode(&f, &sb, &err), -1);
    cr_assert(strstr(err.msg, "bins"), "got: %s", err.msg);
    cr_assert_eq(sb.size, 0, "nothing written for a refused frame");
    msgpack_sbuffer_destroy(&sb);
}

// --- Malformed input --------------------------------------------------------------

// A packer over a fresh buffer, for frames the codec would never write.
typedef struct raw {
    msgpack_sbuffer sb;
    msgpack_packer  pk;
} raw_t;

static void
raw_init(raw_t *r)
{
    msgpack_sbuffer_init(&r->sb);
    msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
}

static void
assert_refused(raw_t *r, const char *what, const char *want)
{
    gx_frame_t f;
    gx_error_t err = {0};
    cr_assert_eq(decode(r->sb.data, r->sb.size, &f, &err), -1, "%s accepted",
                 what);
    if (want)
        cr_assert(strstr(err.msg, want), "%s: got: %s", what, err.msg);
    msgpack_sbuffer_destroy(&r->sb);
}

static void
pack_header(msgpack_packer *pk, uint32_t n)
{
    msgpack_pack_array(pk, n);
    msgpack_pack_uint32(pk, GX_F_MSG);
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_uint64(pk, 2);
    msgpack_pack_uint64(pk, 3);
}

Test(codec, refuses_an_empty_buffer_and_plain_garbage)
{
    gx_frame_t f;
    gx_error_t err = {0};
    cr_assert_eq(decode("", 0, &f, &err), -1);
    cr_assert(strstr(err.msg, "malformed"), "got: %s", err.msg);
    static const uint8_t never_used = 0xc1;        // reserved in msgpack
    cr_assert_eq(decode(&never_used, 1, &f, &err), -1);
    const char *text = "hello, this is not msgpack";
    cr_assert_eq(decode(text, strlen(text), &f, &err), -1);
}

Test(codec, refuses_every_truncation_of_a_valid_frame)
{
    uint8_t bin0[40], bin1[300];
    fill(bin0, sizeof bin0, 5);
    fill(bin1, sizeof bin1, 6);
    gx_frame_t f = { .kind = GX_F_REG, .step = UINT64_MAX, .a = 1u << 20,
                     .b = 40, .n_bins = 3, .bin = { bin0, NULL, bin1 },
                     .bin_len = { sizeof bin0, 0, sizeof bin1 } };
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    gx_error_t err = {0};
    cr_assert_eq(gx_frame_encode(&f, &sb, &err), 0);
    for (size_t len = 0; len < sb.size; len++) {
        gx_frame_t g;
        cr_assert_eq(decode(sb.data, len, &g, &err), -1,
                     "%zu of %zu bytes accepted", len, sb.size);
    }
    msgpack_sbuffer_destroy(&sb);
}

Test(codec, refuses_a_frame_that_is_not_an_array)
{
    raw_t r;
    raw_init(&r);
    msgpack_pack_uint64(&r.pk, 7);
    assert_refused(&r, "an integer", "array");
    raw_init(&r);
    msgpack_pack_nil(&r.pk);
    assert_refused(&r, "nil", "array");
    raw_init(&r);
    msgpack_pack_map(&r.pk, 1);
    msgpack_pack_uint64(&r.pk, 1);
    msgpack_pack_uint64(&r.pk, 2);
    assert_refused(&r, "a map", "array");
    raw_init(&r);
    msgpack_pack_bin(&r.pk, 4);
    msgpack_pack_bin_body(&r.pk, "abcd", 4);
    assert_refused(&r, "a lone bin", "array");
}

Test(codec, refuses_arrays_too_short_or_with_too_many_bins)
{
    for (uint32_t n = 0; n < 4; n++) {
        raw_t r;
        raw_init(&r);
        msgpack_pack_array(&r.pk, n);
        for (uint32_t i = 0; i < n; i++)
            msgpack_pack_uint64(&r.pk, i);
        assert_refused(&r, "a short array", "array");
    }
    raw_t r;
    raw_init(&r);
    pack_header(&r.pk, 4 + GX_FRAME_MAX_BINS + 1);
    for (int i = 0; i < GX_FRAME_MAX_BINS + 1; i++) {
        msgpack_pack_bin(&r.pk, 1);
        msgpack_pack_bin_body(&r.pk, "x", 1);
    }
    assert_refused(&r, "seven bins", "array");
}

Test(codec, refuses_a_header_that_is_not_four_unsigned_integers)
{
    for (int bad = 0; bad < 4; bad++) {
        static const char *what[] = { "a negative kind", "a float step",
                                      "a string a", "nil b" };
        raw_t r;
        raw_init(&r);
        msgpack_pack_array(&r.pk, 4);
        for (int i = 0; i < 4; i++) {
            if (i != bad)
                msgpack_pack_uint64(&r.pk, 1);
            else if (bad == 0)
                msgpack_pack_int64(&r.pk, -1);
            else if (bad == 1)
                msgpack_pack_double(&r.pk, 2.0);
            else if (bad == 2) {
                msgpack_pack_str(&r.pk, 1);
                msgpack_pack_str_body(&r.pk, "3", 1);
            } else
                msgpack_pack_nil(&r.pk);
        }
        assert_refused(&r, what[bad], "header");
    }
    // A kind that does not fit the frame's 32 bits.
    raw_t r;
    raw_init(&r);
    msgpack_pack_array(&r.pk, 4);
    msgpack_pack_uint64(&r.pk, (uint64_t) UINT32_MAX + 1);
    msgpack_pack_uint64(&r.pk, 0);
    msgpack_pack_uint64(&r.pk, 0);
    msgpack_pack_uint64(&r.pk, 0);
    assert_refused(&r, "a 33-bit kind", "header");
}

Test(codec, refuses_a_bin_slot_holding_another_type)
{
    raw_t r;
    raw_init(&r);
    pack_header(&r.pk, 6);
    msgpack_pack_bin(&r.pk, 2);
    msgpack_pack_bin_body(&r.pk, "ok", 2);
    msgpack_pack_str(&r.pk, 3);
    msgpack_pack_str_body(&r.pk, "str", 3);
    assert_refused(&r, "a str where a bin goes", "element 5 of a MSG frame");
    raw_init(&r);
    pack_header(&r.pk, 5);
    msgpack_pack_uint64(&r.pk, 12);
    assert_refused(&r, "an integer where a bin goes", "not binary");
    raw_init(&r);
    pack_header(&r.pk, 5);
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_bin(&r.pk, 0);
    assert_refused(&r, "a nested array where a bin goes", "not binary");
}

Test(codec, refuses_a_five_byte_frame_claiming_four_billion_elements)
{
    // msgpack-c's unpacker allocates the object array an array32/map32
    // header announces before it reads a single element, so five bytes
    // can ask for tens of gigabytes. A frame has at most 10 elements; the
    // decoder must refuse such a header (here or nested in a bin's slot)
    // without that allocation. The sanitizer build aborts on it.
    static const uint8_t bad[][10] = {
        { 0xdd, 0xff, 0xff, 0xff, 0xff },                 // array32
        { 0xdf, 0xff, 0xff, 0xff, 0xff },                 // map32
        { 0x95, 0x01, 0x00, 0x00, 0x00, 0xdd, 0xff, 0xff, 0xff, 0xff },
        { 0x95, 0x01, 0x00, 0x00, 0x00, 0xdf, 0xff, 0xff, 0xff, 0xff },
    };
    static const size_t len[] = { 5, 5, 10, 10 };
    for (size_t i = 0; i < 4; i++) {
        gx_frame_t f;
        gx_error_t err;
        cr_assert_eq(decode(bad[i], len[i], &f, &err), -1, "input %zu", i);
    }
}

Test(codec, survives_random_bytes_and_mutated_frames)
{
    // Random buffers rarely look like msgpack at all, so also flip bytes of
    // valid frames: then the lengths inside lie. Either way: -1 with a
    // message, or a frame whose bins lie inside the buffer (decode checks).
    rng_state = 20240601;
    uint8_t buf[512];
    for (int it = 0; it < 3000; it++) {
        size_t len = rng() % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t) rng();
        if (len && it % 3 == 0)
            buf[0] = (uint8_t) (0x94 + rng() % 7);   // fixarray of 4..10
        gx_frame_t f;
        gx_error_t err;
        decode(buf, len, &f, &err);
    }
    uint8_t payload[64];
    fill(payload, sizeof payload, 99);
    for (int it = 0; it < 3000; it++) {
        gx_frame_t f = { .kind = (uint32_t) (rng() % 20), .step = rng(),
                         .a = rng() >> (rng() % 64), .b = rng() % 1000,
                         .n_bins = (uint32_t) (rng() % 7) };
        for (uint32_t i = 0; i < f.n_bins; i++) {
            f.bin[i] = payload;
            f.bin_len[i] = rng() % sizeof payload;
        }
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        gx_error_t err;
        cr_assert_eq(gx_frame_encode(&f, &sb, &err), 0);
        int flips = 1 + (int) (rng() % 4);
        for (int k = 0; k < flips; k++)
            sb.data[rng() % sb.size] = (char) rng();
        size_t len = sb.size - (rng() % 4 == 0 ? rng() % sb.size : 0);
        gx_frame_t g;
        decode(sb.data, len, &g, &err);
        msgpack_sbuffer_destroy(&sb);
    }
}

// --- Names ----------------------------------------------------------------------

Test(codec, names_every_known_kind_and_calls_the_rest_unknown)
{
    static const struct { uint32_t kind; const char *name; } k[] = {
        { GX_F_EDGES, "EDGES" }, { GX_F_REG, "REG" },
        { GX_F_ROUTE, "ROUTE" }, { GX_F_MSG, "MSG" },
        { GX_F_MSG_END, "MSG_END" }, { GX_F_SYNC, "SYNC" },
        { GX_F_REPORT, "REPORT" }, { GX_F_PROGRESS, "PROGRESS" },
        { GX_F_GO, "GO" }, { GX_F_STOP, "STOP" },
        { GX_F_RESULT, "RESULT" }, { GX_F_RESULT_END, "RESULT_END" },
        { GX_F_HELLO, "HELLO" },
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        cr_assert_str_eq(gx_frame_kind_name(k[i].kind), k[i].name);
    static const uint32_t unknown[] = { 0, GX_F_KINDS, 100, 65536,
                                        UINT32_MAX };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        cr_assert_str_eq(gx_frame_kind_name(unknown[i]), "unknown",
                         "kind %" PRIu32, unknown[i]);
}

// A row count from the wire is checked against the bin's length without
// overflow: 2^61 rows of 8 bytes "are" 0 bytes in 64-bit arithmetic.
Test(codec, row_counts_that_wrap_around_are_refused)
{
    gx_frame_t f = { .kind = GX_F_MSG, .n_bins = 2 };
    f.bin_len[0] = 0;
    f.bin_len[1] = 24;
    f.b = (uint64_t)1 << 61;
    cr_assert_not(gx_frame_rows_ok(&f, 0, 8));
    f.b = ((uint64_t)1 << 62) + 3;       // * 8 wraps to 24
    cr_assert_not(gx_frame_rows_ok(&f, 1, 8));
    f.b = 3;
    cr_assert(gx_frame_rows_ok(&f, 1, 8));
    cr_assert_not(gx_frame_rows_ok(&f, 1, 16));
    cr_assert_not(gx_frame_rows_ok(&f, 1, 0));
    cr_assert_not(gx_frame_rows_ok(&f, 2, 8));   // no such bin
    f.b = 0;
    cr_assert(gx_frame_rows_ok(&f, 0, 8));
}

// The hub routes frames without decoding them: their kind, peeked at,
// is the kind the codec encoded, for every kind and shape; anything that
// is not a frame's start peeks as 0.
Test(codec, peeked_kind_is_the_encoded_kind)
{
    for (uint32_t kind = 1; kind < GX_F_KINDS; kind++)
        for (uint32_t bins = 0; bins <= GX_FRAME_MAX_BINS; bins++) {
            gx_frame_t f = { .kind = kind, .step = 1u << 20, .a = 7,
                             .b = UINT64_MAX, .n_bins = bins };
            for (uint32_t i = 0; i < bins; i++) {
                f.bin[i] = "xyz";
                f.bin_len[i] = 3;
            }
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            gx_error_t err;
            cr_assert_eq(gx_frame_encode(&f, &sb, &err), 0, "%s", err.msg);
            cr_assert_eq(gx_frame_peek_kind(sb.data, sb.size), kind,
                         "kind %u, %u bins", kind, bins);
            msgpack_sbuffer_destroy(&sb);
        }
    static const uint8_t not_frames[][2] = { { 0x93, 9 }, { 0x81, 9 },
                                             { 0x94, 0xcc }, { 0xa2, 9 } };
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(gx_frame_peek_kind(not_frames[i], 2), 0, "case %zu", i);
    cr_assert_eq(gx_frame_peek_kind("\x94", 1), 0);
    cr_assert_eq(gx_frame_peek_kind(NULL, 0), 0);
}
