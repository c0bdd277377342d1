// tests/test_net.c: the inner modules of distributed mode.
// - core/desc.c: the run's description (a msgpack map) and the process
//   table survive a round trip field by field; whatever else arrives (not a
//   map, cut short, trailing bytes, a field of the wrong type, a string with
//   a NUL or too long, a hash of 31 bytes, odd params, a missing or zero
//   field, integers beyond 32 bits, a table whose thread ranges do not tile
//   [0, W)) is refused with -1 and a message, leaving nothing allocated.
//   Bad maps are built here with msgpack-c's packer, not with the code
//   under test; decoded buffers are heap copies of exactly their length, so
//   an over-read shows under AddressSanitizer.
// - core/cluster.h: gx_link_proc_of against a linear scan.
// - core/net.c: proofs, CURVE keys and hashes (libsodium); messages between
//   a ROUTER and a DEALER, intact both ways; untrusted input drained and
//   reported as 2, never fatal; a full link reported as 1 without blocking
//   and without touching the body.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "core/cluster.h"
#include "core/mem.h"
#include "core/desc.h"
#include "core/net.h"
#include "testutil.h"

TestSuite(desc, .timeout = 60);
TestSuite(procs, .timeout = 60);
TestSuite(cluster, .timeout = 60);
TestSuite(auth, .timeout = 60);
TestSuite(net, .timeout = 60);

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t
rng(void)
{
    return gx_test_xorshift64(&rng_state);
}

static void
fill(void *p, size_t n, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)p)[i] = (uint8_t)gx_test_xorshift64(&x);
}

// A leak check runs the code once, then LEAK_REPS more times, and wants no
// growth of gx_test_heap_in_use() (testutil.h says why not LeakSanitizer).
#define LEAK_REPS 8

// ============================================================================
// The run description
// ============================================================================

static int
unpack_exact(const void *data, size_t len, gx_desc_t *d, gx_error_t *err)
{
    uint8_t *p = gx_test_copy(data, len);
    memset(d, 0xa5, sizeof *d);
    err->msg[0] = '\0';
    int rc = gx_desc_unpack(p, len, d, err);
    free(p);
    return rc;
}

static void
refused_once(const void *data, size_t len, const char *what)
{
    gx_desc_t d;
    gx_error_t err;
    int rc = unpack_exact(data, len, &d, &err);
    if (rc == 0)
        gx_desc_free(&d);
    cr_assert_eq(rc, -1, "%s: accepted", what);
    cr_assert(err.msg[0] != '\0', "%s: refused without a message", what);
    // Refused: nothing is left for the caller to free.
    cr_assert_null(d.program, "%s", what);
    cr_assert_null(d.input, "%s", what);
    cr_assert_null(d.vertices, "%s", what);
    cr_assert_null(d.parts, "%s", what);
    cr_assert_null(d.params, "%s", what);
    cr_assert_eq(d.n_params, 0, "%s", what);
}

// Refused, with a message, leaving nothing allocated.
static void
assert_refused_bytes(const void *data, size_t len, const char *what)
{
    refused_once(data, len, what);
    size_t before = gx_test_heap_in_use();
    for (int i = 0; i < LEAK_REPS; i++)
        refused_once(data, len, what);
    size_t after = gx_test_heap_in_use();
    cr_assert(after <= before, "%s: %zu bytes leaked in %d refusals", what,
              after - before, LEAK_REPS);
}

static void
assert_desc_eq(const gx_desc_t *got, const gx_desc_t *want)
{
    cr_assert_str_eq(got->program, want->program);
    cr_assert_eq(got->has_hash, want->has_hash);
    if (want->has_hash)
        cr_assert_arr_eq(got->hash, want->hash, 32);
    cr_assert_str_eq(got->input, want->input);
    if (want->vertices)
        cr_assert_str_eq(got->vertices, want->vertices);
    else
        cr_assert_null(got->vertices);
    if (want->parts)
        cr_assert_str_eq(got->parts, want->parts);
    else
        cr_assert_null(got->parts);
    cr_assert_eq(got->strategy, want->strategy);
    cr_assert_eq(got->partitions, want->partitions);
    cr_assert_eq(got->workers, want->workers);
    cr_assert_eq(got->undirected, want->undirected);
    cr_assert_eq(got->max_supersteps, want->max_supersteps);
    cr_assert_eq(got->n_params, want->n_params);
    for (size_t i = 0; i < want->n_params; i++) {
        cr_assert_str_eq(got->params[i].key, want->params[i].key);
        cr_assert_str_eq(got->params[i].value, want->params[i].value);
    }
    if (want->n_params == 0)
        cr_assert_null(got->params);
}

static void
assert_round_trip(const gx_desc_t *want)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(gx_desc_pack(want, &sb), 0);
    size_t before = 0;
    for (int i = 0; i <= LEAK_REPS; i++) {
        if (i == 1)
            before = gx_test_heap_in_use();
        gx_desc_t got;
        gx_error_t err;
        cr_assert_eq(unpack_exact(sb.data, sb.size, &got, &err), 0, "%s",
                     err.msg);
        assert_desc_eq(&got, want);
        gx_desc_free(&got);
        cr_assert_null(got.program);        // free leaves it empty
        cr_assert_null(got.params);
        cr_assert_eq(got.n_params, 0);
        gx_desc_free(&got);                 // and a second free is harmless
    }
    size_t after = gx_test_heap_in_use();
    cr_assert(after <= before, "%zu bytes leaked in %d round trips",
              after - before, LEAK_REPS);
    msgpack_sbuffer_destroy(&sb);
}

static gx_param_t base_params[] = {
    { "damping", "0.85" }, { "tol", "1e-6" }, { "source", "42" },
    { "", "empty key" }, { "empty value", "" },
};

static gx_desc_t
base_desc(void)
{
    gx_desc_t d = {
        .program = "pagerank", .input = "/data/graph.tsv.gz",
        .vertices = "/data/vertices.tsv", .parts = "/data/parts.bin",
        .strategy = 2, .partitions = 8, .workers = 4, .undirected = true,
        .max_supersteps = 30, .params = base_params,
        .n_params = sizeof base_params / sizeof base_params[0],
    };
    for (int i = 0; i < 32; i++)
        d.hash[i] = (uint8_t)(0xf0 ^ i * 7);
    d.has_hash = true;
    return d;
}

Test(desc, round_trips_every_field)
{
    gx_desc_t d = base_desc();
    assert_round_trip(&d);
}

Test(desc, round_trips_without_hash_vertices_parts_or_params)
{
    gx_desc_t d = base_desc();
    d.has_hash = false;
    d.vertices = NULL;
    d.parts = NULL;
    d.params = NULL;
    d.n_params = 0;
    d.undirected = false;
    assert_round_trip(&d);
    // Only vertices, only parts.
    d.vertices = "v";
    assert_round_trip(&d);
    d.vertices = NULL;
    d.parts = "p";
    assert_round_trip(&d);
}

Test(desc, round_trips_extreme_values)
{
    gx_desc_t d = base_desc();
    d.strategy = UINT32_MAX;
    d.partitions = UINT32_MAX;
    d.workers = UINT32_MAX;
    d.max_supersteps = UINT64_MAX;
    assert_round_trip(&d);
    d.strategy = 0;
    d.partitions = 1;
    d.workers = 1;
    d.max_supersteps = 0;
    memset(d.hash, 0, sizeof d.hash);     // a hash of zero bytes is a hash
    assert_round_trip(&d);
    d.program = "";                       // empty strings are strings
    d.input = "";
    assert_round_trip(&d);
}

Test(desc, round_trips_strings_of_4096_bytes_and_many_params)
{
    char *longs = malloc(4097);
    cr_assert_not_null(longs);
    memset(longs, 'x', 4096);
    longs[4096] = 0;
    enum { NP = 1024 };                   // 2048 strings: the most allowed
    gx_param_t *ps = calloc(NP, sizeof *ps);
    char (*names)[16] = calloc(NP, sizeof *names);
    cr_assert(ps && names);
    for (int i = 0; i < NP; i++) {
        snprintf(names[i], sizeof names[i], "k%d", i);
        ps[i].key = names[i];
        ps[i].value = i % 100 == 0 ? longs : names[i] + 1;
    }
    gx_desc_t d = base_desc();
    d.program = longs;
    d.input = longs;
    d.vertices = longs;
    d.parts = longs;
    d.params = ps;
    d.n_params = NP;
    assert_round_trip(&d);
    free(ps);
    free(names);
    free(longs);
}

// ---- Maps built by hand ----------------------------------------------------

static const char *const base_keys[] = {
    "program", "hash", "input", "vertices", "parts", "strategy",
    "partitions", "workers", "undirected", "max_supersteps", "params",
};
#define N_BASE (sizeof base_keys / sizeof base_keys[0])

static void
pk_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void
pk_cstr(msgpack_packer *pk, const char *s)
{
    pk_str(pk, s, strlen(s));
}

// The value of a valid description's field i.
static void
pack_base_value(msgpack_packer *pk, size_t i)
{
    static const uint8_t hash[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    switch (i) {
    case 0: pk_cstr(pk, "sssp"); break;
    case 1: msgpack_pack_bin(pk, 32); msgpack_pack_bin_body(pk, hash, 32); break;
    case 2: pk_cstr(pk, "in.tsv"); break;
    case 3: pk_cstr(pk, "v.tsv"); break;
    case 4: msgpack_pack_nil(pk); break;
    case 5: msgpack_pack_uint32(pk, 1); break;
    case 6: msgpack_pack_uint32(pk, 3); break;
    case 7: msgpack_pack_uint32(pk, 2); break;
    case 8: msgpack_pack_false(pk); break;
    case 9: msgpack_pack_uint64(pk, 100); break;
    case 10:
        msgpack_pack_array(pk, 4);
        pk_cstr(pk, "source"); pk_cstr(pk, "7");
        pk_cstr(pk, "weights"); pk_cstr(pk, "yes");
        break;
    }
}

// A valid description's map, with `omit` left out and `key` given the
// packed value val[0..val_len) instead (in its place if it is one of the
// fields, else appended).
static void
build(msgpack_sbuffer *out, const char *omit, const char *key,
      const void *val, size_t val_len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    uint32_t count = 0;
    bool key_is_base = false;
    for (size_t i = 0; i < N_BASE; i++) {
        if (!omit || strcmp(omit, base_keys[i]) != 0)
            count++;
        if (key && strcmp(key, base_keys[i]) == 0)
            key_is_base = true;
    }
    if (key && !key_is_base)
        count++;
    msgpack_pack_map(&pk, count);
    for (size_t i = 0; i < N_BASE; i++) {
        if (omit && strcmp(omit, base_keys[i]) == 0)
            continue;
        pk_cstr(&pk, base_keys[i]);
        if (key && strcmp(key, base_keys[i]) == 0)
            msgpack_sbuffer_write(out, val, val_len);
        else
            pack_base_value(&pk, i);
    }
    if (key && !key_is_base) {
        pk_cstr(&pk, key);
        msgpack_sbuffer_write(out, val, val_len);
    }
}

// A packer for one value, handed to refuse_field / accept_field.
typedef struct val {
    msgpack_sbuffer sb;
    msgpack_packer  pk;
} val_t;

static msgpack_packer *
val_start(val_t *v)
{
    msgpack_sbuffer_init(&v->sb);
    msgpack_packer_init(&v->pk, &v->sb, msgpack_sbuffer_write);
    return &v->pk;
}

static void
refuse_field(const char *key, val_t *v, const char *what)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    build(&sb, NULL, key, v->sb.data, v->sb.size);
    char label[160];
    snprintf(label, sizeof label, "'%s' %s", key, what);
    assert_refused_bytes(sb.data, sb.size, label);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&v->sb);
}

// Unpacks the map with `key` set to v; the caller checks and frees d.
static void
accept_field(const char *key, val_t *v, gx_desc_t *d)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    build(&sb, NULL, key, v ? v->sb.data : NULL, v ? v->sb.size : 0);
    gx_error_t err;
    cr_assert_eq(unpack_exact(sb.data, sb.size, d, &err), 0, "'%s': %s",
                 key, err.msg);
    msgpack_sbuffer_destroy(&sb);
    if (v)
        msgpack_sbuffer_destroy(&v->sb);
}

Test(desc, the_hand_built_map_is_accepted)
{
    gx_desc_t d;
    accept_field(NULL, NULL, &d);
    cr_assert_str_eq(d.program, "sssp");
    cr_assert(d.has_hash);
    cr_assert_eq(d.hash[9], 10);
    cr_assert_str_eq(d.input, "in.tsv");
    cr_assert_str_eq(d.vertices, "v.tsv");
    cr_assert_null(d.parts);
    cr_assert_eq(d.strategy, 1);
    cr_assert_eq(d.partitions, 3);
    cr_assert_eq(d.workers, 2);
    cr_assert_not(d.undirected);
    cr_assert_eq(d.max_supersteps, 100);
    cr_assert_eq(d.n_params, 2);
    cr_assert_str_eq(d.params[1].key, "weights");
    cr_assert_str_eq(d.params[1].value, "yes");
    gx_desc_free(&d);
}

Test(desc, ignores_unknown_keys_of_any_type)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, N_BASE + 9);
    // Unknown keys before, between and after the known ones.
    pk_cstr(&pk, "future_field");
    msgpack_pack_map(&pk, 2);
    pk_cstr(&pk, "nested"); msgpack_pack_array(&pk, 1); msgpack_pack_nil(&pk);
    msgpack_pack_int64(&pk, -5); msgpack_pack_double(&pk, 1.5);
    for (size_t i = 0; i < N_BASE; i++) {
        pk_cstr(&pk, base_keys[i]);
        pack_base_value(&pk, i);
        if (i == 4) {
            msgpack_pack_uint32(&pk, 17);               // an integer key
            pk_cstr(&pk, "seventeen");
            pk_cstr(&pk, "Program");                    // case matters
            msgpack_pack_int64(&pk, -1);
            pk_cstr(&pk, "programs");                   // a longer name
            msgpack_pack_nil(&pk);
            msgpack_pack_bin(&pk, 5);                   // a binary key that
            msgpack_pack_bin_body(&pk, "input", 5);     // spells a field
            msgpack_pack_uint64(&pk, UINT64_MAX);
        }
    }
    pk_cstr(&pk, "");
    pk_cstr(&pk, "empty key");
    msgpack_pack_nil(&pk);
    msgpack_pack_true(&pk);
    pk_cstr(&pk, "blob");
    msgpack_pack_bin(&pk, 3); msgpack_pack_bin_body(&pk, "\0\1\2", 3);
    pk_cstr(&pk, "progra");
    msgpack_pack_array(&pk, 0);
    gx_desc_t d;
    gx_error_t err;
    cr_assert_eq(unpack_exact(sb.data, sb.size, &d, &err), 0, "%s", err.msg);
    cr_assert_str_eq(d.program, "sssp");
    cr_assert_str_eq(d.input, "in.tsv");
    cr_assert_eq(d.workers, 2);
    cr_assert_eq(d.n_params, 2);
    gx_desc_free(&d);
    msgpack_sbuffer_destroy(&sb);
}

Test(desc, refuses_what_is_not_a_map)
{
    uint8_t empty[1] = { 0 };
    assert_refused_bytes(empty, 0, "no bytes");
    val_t v;
    msgpack_pack_array(val_start(&v), 0);
    assert_refused_bytes(v.sb.data, v.sb.size, "an empty array");
    msgpack_sbuffer_destroy(&v.sb);
    msgpack_pack_nil(val_start(&v));
    assert_refused_bytes(v.sb.data, v.sb.size, "nil");
    msgpack_sbuffer_destroy(&v.sb);
    pk_cstr(val_start(&v), "program");
    assert_refused_bytes(v.sb.data, v.sb.size, "a string");
    msgpack_sbuffer_destroy(&v.sb);
    msgpack_pack_uint64(val_start(&v), 12345);
    assert_refused_bytes(v.sb.data, v.sb.size, "an integer");
    msgpack_sbuffer_destroy(&v.sb);
    // The description's fields, as an array of alternating keys and values.
    msgpack_packer *pk = val_start(&v);
    msgpack_pack_array(pk, 2 * N_BASE);
    for (size_t i = 0; i < N_BASE; i++) {
        pk_cstr(pk, base_keys[i]);
        pack_base_value(pk, i);
    }
    assert_refused_bytes(v.sb.data, v.sb.size, "an array of the fields");
    msgpack_sbuffer_destroy(&v.sb);
    // An empty map is a map, but an incomplete description.
    msgpack_pack_map(val_start(&v), 0);
    assert_refused_bytes(v.sb.data, v.sb.size, "an empty map");
    msgpack_sbuffer_destroy(&v.sb);
}

// Random bytes: about one buffer in 64 starts with an array or map header
// (0xdc..0xdf) claiming up to billions of entries: see
// refuses_tiny_input_claiming_billions_of_entries.
Test(desc, refuses_random_garbage)
{
    uint8_t junk[64];
    for (int k = 0; k < 200; k++) {
        size_t n = 1 + rng() % sizeof junk;
        fill(junk, n, rng());
        gx_desc_t d;
        gx_error_t err;
        int rc = unpack_exact(junk, n, &d, &err);
        if (rc == 0)
            gx_desc_free(&d);
        cr_assert_eq(rc, -1, "garbage %d accepted", k);
        cr_assert(err.msg[0] != '\0');
    }
}

Test(desc, refuses_every_truncation_and_trailing_bytes)
{
    gx_desc_t d = base_desc();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(gx_desc_pack(&d, &sb), 0);
    for (size_t n = 0; n < sb.size; n++) {
        char what[64];
        snprintf(what, sizeof what, "the first %zu of %zu bytes", n, sb.size);
        assert_refused_bytes(sb.data, n, what);
    }
    // One more byte of any kind, or a second map after the first.
    size_t len = sb.size;
    uint8_t *buf = malloc(2 * len);
    cr_assert_not_null(buf);
    memcpy(buf, sb.data, len);
    buf[len] = 0xc0;                      // nil
    assert_refused_bytes(buf, len + 1, "a trailing nil");
    buf[len] = 0x00;
    assert_refused_bytes(buf, len + 1, "a trailing zero byte");
    memcpy(buf + len, sb.data, len);
    assert_refused_bytes(buf, 2 * len, "two descriptions");
    free(buf);
    msgpack_sbuffer_destroy(&sb);
}

Test(desc, refuses_string_fields_of_the_wrong_type)
{
    static const char *const fields[] = { "program", "input", "vertices",
                                          "parts" };
    val_t v;
    for (size_t i = 0; i < 4; i++) {
        const char *k = fields[i];
        msgpack_pack_uint32(val_start(&v), 7);
        refuse_field(k, &v, "an integer");
        msgpack_pack_int32(val_start(&v), -7);
        refuse_field(k, &v, "a negative integer");
        msgpack_pack_bin(val_start(&v), 3);
        msgpack_pack_bin_body(&v.pk, "abc", 3);
        refuse_field(k, &v, "binary");
        msgpack_pack_array(val_start(&v), 1);
        pk_cstr(&v.pk, "abc");
        refuse_field(k, &v, "an array of a string");
        msgpack_pack_map(val_start(&v), 0);
        refuse_field(k, &v, "a map");
        msgpack_pack_true(val_start(&v));
        refuse_field(k, &v, "a boolean");
        msgpack_pack_double(val_start(&v), 2.0);
        refuse_field(k, &v, "a float");
    }
    // nil is "not given", allowed for vertices and parts only.
    msgpack_pack_nil(val_start(&v));
    refuse_field("program", &v, "nil");
    msgpack_pack_nil(val_start(&v));
    refuse_field("input", &v, "nil");
    gx_desc_t d;
    msgpack_pack_nil(val_start(&v));
    accept_field("vertices", &v, &d);
    cr_assert_null(d.vertices);
    gx_desc_free(&d);
}

Test(desc, refuses_strings_with_a_nul_byte_or_longer_than_4096)
{
    static const char *const fields[] = { "program", "input", "vertices",
                                          "parts" };
    char *big = malloc(5000);
    cr_assert_not_null(big);
    memset(big, 'a', 5000);
    val_t v;
    for (size_t i = 0; i < 4; i++) {
        const char *k = fields[i];
        pk_str(val_start(&v), "ab\0cd", 5);
        refuse_field(k, &v, "with a NUL inside");
        pk_str(val_start(&v), "\0", 1);
        refuse_field(k, &v, "a lone NUL");
        pk_str(val_start(&v), "abc\0", 4);
        refuse_field(k, &v, "with a NUL at the end");
        pk_str(val_start(&v), big, 4097);
        refuse_field(k, &v, "of 4097 bytes");
        pk_str(val_start(&v), big, 5000);
        refuse_field(k, &v, "of 5000 bytes");
        big[4095] = 0;                     // NUL at the last allowed place
        pk_str(val_start(&v), big, 4096);
        refuse_field(k, &v, "of 4096 bytes ending in NUL");
        big[4095] = 'a';
        // 4096 bytes is the most allowed.
        gx_desc_t d;
        pk_str(val_start(&v), big, 4096);
        accept_field(k, &v, &d);
        const char *got = i == 0 ? d.program : i == 1 ? d.input
                          : i == 2 ? d.vertices : d.parts;
        cr_assert_eq(strlen(got), 4096);
        gx_desc_free(&d);
    }
    free(big);
}

Test(desc, refuses_bad_params)
{
    val_t v;
    msgpack_packer *pk = val_start(&v);
    msgpack_pack_array(pk, 3);
    pk_cstr(pk, "a"); pk_cstr(pk, "1"); pk_cstr(pk, "b");
    refuse_field("params", &v, "of odd length");
    pk = val_start(&v);
    msgpack_pack_array(pk, 1);
    pk_cstr(pk, "a");
    refuse_field("params", &v, "of one string");
    msgpack_pack_map(val_start(&v), 1);
    pk_cstr(&v.pk, "a"); pk_cstr(&v.pk, "1");
    refuse_field("params", &v, "a map");
    msgpack_pack_nil(val_start(&v));
    refuse_field("params", &v, "nil");
    pk_cstr(val_start(&v), "a=1");
    refuse_field("params", &v, "a string");
    // Keys and values are non-nil strings without NUL, up to 4096 bytes;
    // the bad one comes after good pairs, so those are freed on refusal.
    for (int pos = 0; pos < 2; pos++)
        for (int kind = 0; kind < 4; kind++) {
            pk = val_start(&v);
            msgpack_pack_array(pk, 6);
            pk_cstr(pk, "k1"); pk_cstr(pk, "v1");
            pk_cstr(pk, "k2"); pk_cstr(pk, "v2");
            if (pos == 1)
                pk_cstr(pk, "k3");
            switch (kind) {
            case 0: msgpack_pack_nil(pk); break;
            case 1: msgpack_pack_uint32(pk, 3); break;
            case 2: pk_str(pk, "x\0y", 3); break;
            case 3: {
                char *big = malloc(4097);
                cr_assert_not_null(big);
                memset(big, 'p', 4097);
                pk_str(pk, big, 4097);
                free(big);
                break;
            }
            }
            if (pos == 0)
                pk_cstr(pk, "v3");
            char what[64];
            snprintf(what, sizeof what, "with a bad %s (case %d)",
                     pos ? "value" : "key", kind);
            refuse_field("params", &v, what);
        }
    // More than 1024 pairs.
    pk = val_start(&v);
    msgpack_pack_array(pk, 2050);
    for (int i = 0; i < 2050; i++)
        pk_cstr(pk, "x");
    refuse_field("params", &v, "of 1025 pairs");
}

Test(desc, refuses_a_hash_that_is_not_0_or_32_bytes_of_binary)
{
    uint8_t h[64];
    fill(h, sizeof h, 3);
    val_t v;
    size_t bad[] = { 1, 16, 31, 33, 64 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msgpack_pack_bin(val_start(&v), bad[i]);
        msgpack_pack_bin_body(&v.pk, h, bad[i]);
        char what[32];
        snprintf(what, sizeof what, "of %zu bytes", bad[i]);
        refuse_field("hash", &v, what);
    }
    pk_str(val_start(&v), (const char *)h, 32);
    refuse_field("hash", &v, "a string of 32 bytes");
    msgpack_pack_nil(val_start(&v));
    refuse_field("hash", &v, "nil");
    msgpack_pack_uint64(val_start(&v), 5);
    refuse_field("hash", &v, "an integer");
    // Empty: no hash; 32 bytes: that hash.
    gx_desc_t d;
    msgpack_pack_bin(val_start(&v), 0);
    accept_field("hash", &v, &d);
    cr_assert_not(d.has_hash);
    gx_desc_free(&d);
    msgpack_pack_bin(val_start(&v), 32);
    msgpack_pack_bin_body(&v.pk, h, 32);
    accept_field("hash", &v, &d);
    cr_assert(d.has_hash);
    cr_assert_arr_eq(d.hash, h, 32);
    gx_desc_free(&d);
    // Not given at all: no hash.
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    build(&sb, "hash", NULL, NULL, 0);
    gx_error_t err;
    cr_assert_eq(unpack_exact(sb.data, sb.size, &d, &err), 0, "%s", err.msg);
    cr_assert_not(d.has_hash);
    gx_desc_free(&d);
    msgpack_sbuffer_destroy(&sb);
}

Test(desc, refuses_a_missing_program_or_input_and_zero_counts)
{
    static const char *const needed[] = { "program", "input", "workers",
                                          "partitions" };
    for (size_t i = 0; i < 4; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        build(&sb, needed[i], NULL, NULL, 0);
        char what[64];
        snprintf(what, sizeof what, "without '%s'", needed[i]);
        assert_refused_bytes(sb.data, sb.size, what);
        msgpack_sbuffer_destroy(&sb);
    }
    val_t v;
    msgpack_pack_uint32(val_start(&v), 0);
    refuse_field("workers", &v, "0");
    msgpack_pack_uint32(val_start(&v), 0);
    refuse_field("partitions", &v, "0");
    // The others have defaults: each may be left out.
    static const char *const optional[] = { "vertices", "parts", "strategy",
                                            "undirected", "max_supersteps",
                                            "params" };
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        build(&sb, optional[i], NULL, NULL, 0);
        gx_desc_t d;
        gx_error_t err;
        cr_assert_eq(unpack_exact(sb.data, sb.size, &d, &err), 0,
                     "without '%s': %s", optional[i], err.msg);
        gx_desc_free(&d);
        msgpack_sbuffer_destroy(&sb);
    }
}

Test(desc, refuses_integer_fields_beyond_32_bits_or_of_the_wrong_type)
{
    static const char *const fields[] = { "strategy", "partitions",
                                          "workers" };
    val_t v;
    for (size_t i = 0; i < 3; i++) {
        const char *k = fields[i];
        msgpack_pack_uint64(val_start(&v), (uint64_t)UINT32_MAX + 1);
        refuse_field(k, &v, "2^32");
        msgpack_pack_uint64(val_start(&v), UINT64_MAX);
        refuse_field(k, &v, "2^64 - 1");
        msgpack_pack_int64(val_start(&v), -1);
        refuse_field(k, &v, "-1");
        msgpack_pack_double(val_start(&v), 3.0);
        refuse_field(k, &v, "a float");
        pk_cstr(val_start(&v), "3");
        refuse_field(k, &v, "a string");
        msgpack_pack_true(val_start(&v));
        refuse_field(k, &v, "a boolean");
        msgpack_pack_nil(val_start(&v));
        refuse_field(k, &v, "nil");
        gx_desc_t d;
        msgpack_pack_uint64(val_start(&v), UINT32_MAX);
        accept_field(k, &v, &d);
        cr_assert_eq(i == 0 ? d.strategy : i == 1 ? d.partitions : d.workers,
                     UINT32_MAX);
        gx_desc_free(&d);
    }
    msgpack_pack_int64(val_start(&v), -1);
    refuse_field("max_supersteps", &v, "-1");
    pk_cstr(val_start(&v), "10");
    refuse_field("max_supersteps", &v, "a string");
    msgpack_pack_uint32(val_start(&v), 1);
    refuse_field("undirected", &v, "an integer");
    msgpack_pack_nil(val_start(&v));
    refuse_field("undirected", &v, "nil");
}

// A field given twice (a malformed or hostile description): either refused,
// or one of the two values taken -- never a leak (the first string must not
// be lost: run under AddressSanitizer) or a write outside the params array.
static void
pack_twice(msgpack_sbuffer *sb, const char *key, void (*second)(msgpack_packer *))
{
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, N_BASE + 1);
    for (size_t i = 0; i < N_BASE; i++) {
        pk_cstr(&pk, base_keys[i]);
        pack_base_value(&pk, i);
    }
    pk_cstr(&pk, key);
    second(&pk);
}

static void
second_program(msgpack_packer *pk)
{
    pk_cstr(pk, "bfs");
}

static void
second_params(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);            // one pair, after two
    pk_cstr(pk, "root");
    pk_cstr(pk, "9");
}

Test(desc, a_string_field_given_twice_is_refused_or_taken_once)
{
    msgpack_sbuffer sb;
    pack_twice(&sb, "program", second_program);
    size_t before = 0;
    for (int i = 0; i <= LEAK_REPS; i++) {
        if (i == 1)
            before = gx_test_heap_in_use();
        gx_desc_t d;
        gx_error_t err;
        int rc = unpack_exact(sb.data, sb.size, &d, &err);
        if (rc != 0) {
            cr_assert(err.msg[0] != '\0');
            continue;
        }
        bool ok = strcmp(d.program, "bfs") == 0
                  || strcmp(d.program, "sssp") == 0;
        gx_desc_free(&d);
        cr_assert(ok);
    }
    size_t after = gx_test_heap_in_use();
    msgpack_sbuffer_destroy(&sb);
    cr_assert(after <= before, "'program' given twice: %zu bytes leaked in "
              "%d descriptions", after - before, LEAK_REPS);
}

Test(desc, params_given_twice_are_refused_or_taken_once)
{
    msgpack_sbuffer sb;
    pack_twice(&sb, "params", second_params);
    gx_desc_t d;
    gx_error_t err;
    int rc = unpack_exact(sb.data, sb.size, &d, &err);
    msgpack_sbuffer_destroy(&sb);
    if (rc != 0) {
        cr_assert(err.msg[0] != '\0');
        return;
    }
    // Checked before gx_desc_free, which trusts n_params.
    size_t n = d.n_params;
    cr_assert(n == 1 || n == 2, "a second 'params' of 1 pair after one of "
              "2 pairs gives n_params = %zu", n);
    cr_assert_str_eq(d.params[0].key, n == 1 ? "root" : "source");
    cr_assert_str_eq(d.params[n - 1].value, n == 1 ? "9" : "yes");
    gx_desc_free(&d);
}

// msgpack-c allocates a map's or an array's objects from the size the
// bytes claim, before it reads them (core/codec.c checks a frame's shape
// first for this reason): a few bytes claiming billions of entries must be
// refused without an allocation of hundreds of GiB.
Test(desc, refuses_tiny_input_claiming_billions_of_entries)
{
    static const uint8_t map32[] = { 0xdf, 0xff, 0xff, 0xff, 0xff };
    assert_refused_bytes(map32, sizeof map32, "a map claiming 2^32-1 pairs");
    // A good start, then params claiming 2^32-1 strings.
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pk_cstr(&pk, "program");
    pk_cstr(&pk, "bfs");
    pk_cstr(&pk, "params");
    static const uint8_t arr32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    msgpack_sbuffer_write(&sb, (const char *)arr32, sizeof arr32);
    assert_refused_bytes(sb.data, sb.size, "params claiming 2^32-1 strings");
    msgpack_sbuffer_destroy(&sb);
}

// ============================================================================
// The process table
// ============================================================================

static gx_proc_t *
make_procs(uint32_t n_workers, const uint32_t *counts)
{
    gx_proc_t *p = calloc(n_workers + 1, sizeof *p);
    cr_assert_not_null(p);
    snprintf(p[0].host, sizeof p[0].host, "master.example");
    p[0].port = 7000;
    uint32_t first = 0;
    for (uint32_t i = 1; i <= n_workers; i++) {
        snprintf(p[i].host, sizeof p[i].host, "w%u.example", i);
        p[i].port = (uint16_t)(7000 + i);
        p[i].first = first;
        p[i].n = counts[i - 1];
        first += counts[i - 1];
    }
    return p;
}

// Packs n rows into an exact heap buffer.
static uint8_t *
pack_rows(const gx_proc_t *p, uint32_t n)
{
    size_t len = gx_procs_size(n);
    uint8_t *buf = malloc(len ? len : 1);
    cr_assert_not_null(buf);
    gx_procs_pack(p, n, buf);
    return buf;
}

static void
assert_table_refused(const void *data, size_t len, uint32_t W,
                     const char *what)
{
    uint8_t *p = gx_test_copy(data, len);
    gx_proc_t *out = (gx_proc_t *)&out;   // must be reset
    uint32_t n = 12345;
    gx_error_t err = { 0 };
    int rc = gx_procs_unpack(p, len, W, &out, &n, &err);
    free(p);
    if (rc == 0)
        gx_free(out);
    cr_assert_eq(rc, -1, "%s: accepted", what);
    cr_assert_null(out, "%s: *out not NULL", what);
    cr_assert(err.msg[0] != '\0', "%s: refused without a message", what);
}

static void
assert_rows_refused(const gx_proc_t *p, uint32_t n, uint32_t W,
                    const char *what)
{
    uint8_t *buf = pack_rows(p, n);
    assert_table_refused(buf, gx_procs_size(n), W, what);
    free(buf);
}

static gx_proc_t *
unpack_ok(const void *data, size_t len, uint32_t W, uint32_t *n)
{
    uint8_t *p = gx_test_copy(data, len);
    gx_proc_t *out = NULL;
    gx_error_t err = { 0 };
    cr_assert_eq(gx_procs_unpack(p, len, W, &out, n, &err), 0, "%s", err.msg);
    free(p);
    cr_assert_not_null(out);
    return out;
}

Test(procs, size_is_a_fixed_row_width)
{
    size_t row = gx_procs_size(1);
    cr_assert(row >= 2 * sizeof(uint32_t) + sizeof(uint16_t) + GX_HOST_MAX);
    cr_assert_eq(gx_procs_size(0), 0);
    for (uint32_t n = 0; n < 5000; n += 7)
        cr_assert_eq(gx_procs_size(n), n * row);
}

Test(procs, round_trips_every_field)
{
    uint32_t counts[] = { 3, 1, 8, 2 };
    gx_proc_t *p = make_procs(4, counts);
    // Hosts of every length up to the most a row holds.
    memset(p[2].host, 'h', GX_HOST_MAX - 1);
    p[2].host[GX_HOST_MAX - 1] = 0;
    p[3].host[0] = 0;
    snprintf(p[4].host, sizeof p[4].host, "[::1]");
    p[0].port = 0;
    p[4].port = 65535;
    uint8_t *buf = pack_rows(p, 5);
    uint32_t n = 0;
    gx_proc_t *q = unpack_ok(buf, gx_procs_size(5), 14, &n);
    cr_assert_eq(n, 5);
    for (uint32_t i = 0; i < 5; i++) {
        cr_assert_str_eq(q[i].host, p[i].host, "row %u", i);
        cr_assert_eq(q[i].port, p[i].port, "row %u", i);
        cr_assert_eq(q[i].first, p[i].first, "row %u", i);
        cr_assert_eq(q[i].n, p[i].n, "row %u", i);
        cr_assert_eq(q[i].id_len, 0, "row %u", i);
    }
    gx_free(q);
    free(buf);
    free(p);
}

Test(procs, round_trips_the_largest_table_and_refuses_one_more_row)
{
    uint32_t *counts = malloc(GX_MAX_WORKERS * sizeof *counts);
    cr_assert_not_null(counts);
    for (uint32_t i = 0; i < GX_MAX_WORKERS; i++)
        counts[i] = 1;
    gx_proc_t *p = make_procs(GX_MAX_WORKERS, counts);
    uint8_t *buf = pack_rows(p, GX_MAX_WORKERS + 1);
    uint32_t n = 0;
    gx_proc_t *q = unpack_ok(buf, gx_procs_size(GX_MAX_WORKERS + 1),
                             GX_MAX_WORKERS, &n);
    cr_assert_eq(n, GX_MAX_WORKERS + 1);
    cr_assert_eq(q[GX_MAX_WORKERS].first, GX_MAX_WORKERS - 1);
    gx_free(q);
    free(buf);
    free(p);
    counts = realloc(counts, (GX_MAX_WORKERS + 1) * sizeof *counts);
    counts[GX_MAX_WORKERS] = 1;
    p = make_procs(GX_MAX_WORKERS + 1, counts);
    assert_rows_refused(p, GX_MAX_WORKERS + 2, GX_MAX_WORKERS + 1,
                        "more rows than GX_MAX_WORKERS + 1");
    free(p);
    free(counts);
}

Test(procs, refuses_partial_rows_and_fewer_than_two)
{
    uint32_t counts[] = { 2, 2 };
    gx_proc_t *p = make_procs(2, counts);
    uint8_t *buf = pack_rows(p, 3);
    size_t row = gx_procs_size(1);
    assert_table_refused(buf, 0, 4, "no rows");
    assert_table_refused(buf, row, 4, "one row");
    assert_table_refused(buf, row - 1, 4, "a partial row");
    assert_table_refused(buf, 2 * row - 1, 4, "two rows less a byte");
    assert_table_refused(buf, 2 * row + 1, 4, "two rows and a byte");
    assert_table_refused(buf, 3 * row - 1, 4, "three rows less a byte");
    assert_table_refused(buf, 1, 4, "one byte");
    // The same table, whole: accepted with both rows.
    uint32_t n;
    gx_free(unpack_ok(buf, 3 * row, 4, &n));
    cr_assert_eq(n, 3);
    // Master and one worker: the smallest table.
    uint32_t one[] = { 5 };
    gx_proc_t *p1 = make_procs(1, one);
    uint8_t *b1 = pack_rows(p1, 2);
    gx_free(unpack_ok(b1, 2 * row, 5, &n));
    cr_assert_eq(n, 2);
    free(b1);
    free(p1);
    free(buf);
    free(p);
}

Test(procs, refuses_a_host_without_a_terminating_nul)
{
    uint32_t counts[] = { 2, 2 };
    for (uint32_t r = 0; r < 3; r++) {
        gx_proc_t *p = make_procs(2, counts);
        memset(p[r].host, 'A', GX_HOST_MAX - 1);
        p[r].host[GX_HOST_MAX - 1] = 0;
        uint8_t *buf = pack_rows(p, 3);
        size_t row = gx_procs_size(1), len = gx_procs_size(3);
        uint32_t n;
        gx_free(unpack_ok(buf, len, 4, &n));      // 255 bytes and a NUL: fine
        // The run of 255 'A's in row r and its NUL: the NUL becomes an 'A'.
        char run[GX_HOST_MAX];
        memset(run, 'A', GX_HOST_MAX - 1);
        run[GX_HOST_MAX - 1] = 0;
        uint8_t *at = memmem(buf + r * row, row, run, GX_HOST_MAX);
        cr_assert_not_null(at, "row %u: host not found in the packed row", r);
        at[GX_HOST_MAX - 1] = 'A';
        char what[64];
        snprintf(what, sizeof what, "row %u's host without a NUL", r);
        assert_table_refused(buf, len, 4, what);
        free(buf);
        free(p);
    }
}

// Rows given as (first, n), the master's first.
static void
refuse_ranges(uint32_t W, const uint32_t (*fn)[2], uint32_t n,
              const char *what)
{
    gx_proc_t *p = calloc(n, sizeof *p);
    cr_assert_not_null(p);
    for (uint32_t i = 0; i < n; i++) {
        snprintf(p[i].host, sizeof p[i].host, "h%u", i);
        p[i].first = fn[i][0];
        p[i].n = fn[i][1];
    }
    assert_rows_refused(p, n, W, what);
    free(p);
}

#define REFUSE(W, what, ...)                                              \
    do {                                                                  \
        static const uint32_t rows_[][2] = { __VA_ARGS__ };               \
        refuse_ranges(W, rows_, sizeof rows_ / sizeof rows_[0], what);    \
    } while (0)

Test(procs, refuses_thread_ranges_that_do_not_tile_0_to_W)
{
    REFUSE(6, "a gap", { 0, 0 }, { 0, 2 }, { 3, 3 });
    REFUSE(6, "a gap at the start", { 0, 0 }, { 1, 2 }, { 3, 3 });
    REFUSE(6, "an overlap", { 0, 0 }, { 0, 3 }, { 2, 4 });
    REFUSE(6, "a worker with n = 0", { 0, 0 }, { 0, 3 }, { 3, 0 }, { 3, 3 });
    REFUSE(6, "a last worker with n = 0", { 0, 0 }, { 0, 6 }, { 6, 0 });
    REFUSE(6, "out of order", { 0, 0 }, { 3, 3 }, { 0, 3 });
    REFUSE(7, "fewer threads than W", { 0, 0 }, { 0, 3 }, { 3, 3 });
    REFUSE(5, "more threads than W", { 0, 0 }, { 0, 3 }, { 3, 3 });
    REFUSE(0, "W = 0", { 0, 0 }, { 0, 1 });
    REFUSE(6, "the master with threads", { 0, 2 }, { 2, 2 }, { 4, 2 });
    REFUSE(6, "the master with threads", { 0, 6 }, { 0, 3 }, { 3, 3 });
    REFUSE(4, "a huge n that wraps to W", { 0, 0 }, { 0, 2 },
           { 2, UINT32_MAX - 1 }, { 0, 4 });
    REFUSE(4, "a huge n that wraps", { 0, 0 }, { 0, 2 }, { 2, UINT32_MAX });
    REFUSE(4, "n = 2^32 - 1 first", { 0, 0 }, { 0, UINT32_MAX },
           { UINT32_MAX, 5 });
    REFUSE(4, "n = W + 1", { 0, 0 }, { 0, 5 });
    // The same shapes, right: accepted.
    uint32_t counts[] = { 3, 3 };
    gx_proc_t *p = make_procs(2, counts);
    uint8_t *buf = pack_rows(p, 3);
    uint32_t n;
    gx_free(unpack_ok(buf, gx_procs_size(3), 6, &n));
    // A master row whose `first` is anything: it holds no threads.
    p[0].first = 77;
    free(buf);
    buf = pack_rows(p, 3);
    gx_free(unpack_ok(buf, gx_procs_size(3), 6, &n));
    free(buf);
    free(p);
}

// ============================================================================
// gx_link_proc_of
// ============================================================================

static void
check_proc_of(const gx_proc_t *procs, uint32_t n_procs)
{
    gx_link_t l;
    memset(&l, 0, sizeof l);
    l.procs = (gx_proc_t *)procs;
    l.n_procs = n_procs;
    uint32_t W = procs[n_procs - 1].first + procs[n_procs - 1].n;
    for (uint32_t d = 0; d < W; d++) {
        uint32_t want = 0;
        for (uint32_t p = 1; p < n_procs; p++)
            if (procs[p].first <= d && d < procs[p].first + procs[p].n)
                want = p;
        cr_assert_neq(want, 0);
        cr_assert_eq(gx_link_proc_of(&l, d), want,
                     "thread %u of %u in %u processes", d, W, n_procs - 1);
    }
}

Test(cluster, proc_of_matches_a_linear_scan)
{
    static const uint32_t t1[] = { 1 }, t2[] = { 7 }, t3[] = { 1, 1 },
                          t4[] = { 1, 1, 1 }, t5[] = { 5, 1, 3, 8, 2 },
                          t6[] = { 1, 64 }, t7[] = { 64, 1 },
                          t8[] = { 2, 2, 2, 2, 2, 2, 2, 2 };
    static const struct { const uint32_t *c; uint32_t n; } fixed[] = {
        { t1, 1 }, { t2, 1 }, { t3, 2 }, { t4, 3 }, { t5, 5 }, { t6, 2 },
        { t7, 2 }, { t8, 8 },
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        gx_proc_t *p = make_procs(fixed[i].n, fixed[i].c);
        check_proc_of(p, fixed[i].n + 1);
        free(p);
    }
    // Random tables of every size up to 70 processes, through the packed
    // table as a worker gets it.
    uint32_t counts[70];
    for (uint32_t n = 1; n <= 70; n++)
        for (int rep = 0; rep < 3; rep++) {
            uint32_t W = 0;
            for (uint32_t i = 0; i < n; i++) {
                counts[i] = 1 + (uint32_t)(rng() % (rep == 0 ? 3 : 17));
                W += counts[i];
            }
            gx_proc_t *p = make_procs(n, counts);
            uint8_t *buf = pack_rows(p, n + 1);
            uint32_t got_n;
            gx_proc_t *q = unpack_ok(buf, gx_procs_size(n + 1), W, &got_n);
            check_proc_of(q, got_n);
            gx_free(q);
            free(buf);
            free(p);
        }
    // The most processes, one thread each, and one process holding them all.
    uint32_t *ones = malloc(GX_MAX_WORKERS * sizeof *ones);
    cr_assert_not_null(ones);
    for (uint32_t i = 0; i < GX_MAX_WORKERS; i++)
        ones[i] = 1;
    gx_proc_t *p = make_procs(GX_MAX_WORKERS, ones);
    gx_link_t l;
    memset(&l, 0, sizeof l);
    l.procs = p;
    l.n_procs = GX_MAX_WORKERS + 1;
    for (uint32_t d = 0; d < GX_MAX_WORKERS; d++)
        cr_assert_eq(gx_link_proc_of(&l, d), d + 1);
    free(p);
    uint32_t all = GX_MAX_WORKERS;
    p = make_procs(1, &all);
    check_proc_of(p, 2);
    free(p);
    free(ones);
}

// ============================================================================
// Secrets
// ============================================================================

static void
auth_setup(void)
{
    gx_error_t err;
    cr_assert_eq(gx_auth_init(&err), 0, "%s", err.msg);
}

Test(auth, init_can_be_called_again, .init = auth_setup)
{
    gx_error_t err;
    cr_assert_eq(gx_auth_init(&err), 0, "%s", err.msg);
}

Test(auth, proof_is_deterministic_and_depends_on_every_bit, .init = auth_setup)
{
    uint8_t secret[24], nonce[32], mnonce[32], a[32], b[32];
    fill(secret, sizeof secret, 11);
    fill(nonce, sizeof nonce, 12);
    fill(mnonce, sizeof mnonce, 15);
    gx_auth_proof(secret, sizeof secret, GX_PROVE_WORKER, nonce, mnonce, a);
    gx_auth_proof(secret, sizeof secret, GX_PROVE_WORKER, nonce, mnonce, b);
    cr_assert_arr_eq(a, b, 32);
    cr_assert(gx_auth_equal(a, b));
    uint8_t zero[32] = { 0 };
    cr_assert_arr_neq(a, zero, 32);
    for (size_t bit = 0; bit < 8 * sizeof nonce; bit++) {
        nonce[bit / 8] ^= (uint8_t)(1u << bit % 8);
        gx_auth_proof(secret, sizeof secret, GX_PROVE_WORKER, nonce, mnonce, b);
        nonce[bit / 8] ^= (uint8_t)(1u << bit % 8);
        cr_assert_not(gx_auth_equal(a, b), "nonce bit %zu", bit);
        mnonce[bit / 8] ^= (uint8_t)(1u << bit % 8);
        gx_auth_proof(secret, sizeof secret, GX_PROVE_WORKER, nonce, mnonce, b);
        mnonce[bit / 8] ^= (uint8_t)(1u << bit % 8);
        cr_assert_not(gx_auth_equal(a, b), "master nonce bit %zu", bit);
    }
    // The master's proof is not the worker's (neither can be reflected),
    // the nonces' order counts, and the session key is neither proof.
    gx_auth_proof(secret, sizeof secret, GX_PROVE_MASTER, nonce, mnonce, b);
    cr_assert_not(gx_auth_equal(a, b));
    gx_auth_proof(secret, sizeof secret, GX_PROVE_WORKER, mnonce, nonce, b);
    cr_assert_not(gx_auth_equal(a, b));
    uint8_t key[32];
    gx_auth_session(secret, sizeof secret, nonce, mnonce, key);
    cr_assert_not(gx_auth_equal(a, key));
    gx_auth_proof(secret, sizeof secret, GX_PROVE_MASTER, nonce, mnonce, b);
    cr_assert_not(gx_auth_equal(b, key));
    for (size_t bit = 0; bit < 8 * sizeof secret; bit++) {
        secret[bit / 8] ^= (uint8_t)(1u << bit % 8);
        gx_auth_proof(secret, sizeof secret, GX_PROVE_WORKER, nonce, mnonce, b);
        secret[bit / 8] ^= (uint8_t)(1u << bit % 8);
        cr_assert_not(gx_auth_equal(a, b), "secret bit %zu", bit);
    }
    // A prefix of the secret is another secret.
    gx_auth_proof(secret, sizeof secret - 1, GX_PROVE_WORKER, nonce, mnonce, b);
    cr_assert_not(gx_auth_equal(a, b));
    // The proof is not the plain keyed hash of the nonce by the secret.
    gx_auth_hash(nonce, sizeof nonce, b);
    cr_assert_not(gx_auth_equal(a, b));
}

Test(auth, proofs_for_secrets_of_1_and_4096_bytes, .init = auth_setup)
{
    uint8_t *big = malloc(4096), nonce[32], mnonce[32], p1[32], p2[32], q[32];
    cr_assert_not_null(big);
    fill(big, 4096, 13);
    fill(nonce, 32, 14);
    fill(mnonce, 32, 16);
    gx_auth_proof(big, 1, GX_PROVE_WORKER, nonce, mnonce, p1);
    gx_auth_proof(big, 4096, GX_PROVE_WORKER, nonce, mnonce, p2);
    cr_assert_not(gx_auth_equal(p1, p2));
    gx_auth_proof(big, 1, GX_PROVE_WORKER, nonce, mnonce, q);
    cr_assert(gx_auth_equal(p1, q));
    gx_auth_proof(big, 4096, GX_PROVE_WORKER, nonce, mnonce, q);
    cr_assert(gx_auth_equal(p2, q));
    // The last byte of a long secret counts, and so does the first.
    big[4095] ^= 0x80;
    gx_auth_proof(big, 4096, GX_PROVE_WORKER, nonce, mnonce, q);
    cr_assert_not(gx_auth_equal(p2, q));
    big[4095] ^= 0x80;
    big[0] ^= 1;
    gx_auth_proof(big, 4096, GX_PROVE_WORKER, nonce, mnonce, q);
    cr_assert_not(gx_auth_equal(p2, q));
    gx_auth_proof(big, 1, GX_PROVE_WORKER, nonce, mnonce, q);
    cr_assert_not(gx_auth_equal(p1, q));
    free(big);
}

Test(auth, equal_compares_all_32_bytes, .init = auth_setup)
{
    uint8_t a[32], b[32];
    fill(a, 32, 15);
    memcpy(b, a, 32);
    cr_assert(gx_auth_equal(a, b));
    cr_assert(gx_auth_equal(a, a));
    for (int i = 0; i < 32; i++) {
        b[i] ^= 0x01;
        cr_assert_not(gx_auth_equal(a, b), "byte %d", i);
        b[i] ^= 0x81;
        cr_assert_not(gx_auth_equal(a, b), "byte %d", i);
        b[i] ^= 0x80;
    }
    uint8_t z1[32] = { 0 }, z2[32] = { 0 };
    cr_assert(gx_auth_equal(z1, z2));
}

static void
assert_keypair(const uint8_t pub[32], const uint8_t sec[32], const char *what)
{
    uint8_t derived[32];
    cr_assert_eq(crypto_scalarmult_base(derived, sec), 0, "%s", what);
    cr_assert_arr_eq(derived, pub, 32, "%s: the public key is not the "
                     "secret key's", what);
}

Test(auth, curve_keys_are_pairs_derived_from_the_secret, .init = auth_setup)
{
    static const char s1[] = "correct horse battery staple";
    gx_curve_t a, b, c;
    memset(&a, 0, sizeof a);
    memset(&b, 0xff, sizeof b);
    gx_auth_curve(s1, strlen(s1), &a);
    gx_auth_curve(s1, strlen(s1), &b);
    cr_assert(a.on);
    cr_assert(b.on);
    cr_assert_arr_eq(a.server_public, b.server_public, 32);
    cr_assert_arr_eq(a.server_secret, b.server_secret, 32);
    cr_assert_arr_eq(a.client_public, b.client_public, 32);
    cr_assert_arr_eq(a.client_secret, b.client_secret, 32);
    cr_assert_arr_neq(a.server_public, a.client_public, 32);
    cr_assert_arr_neq(a.server_secret, a.client_secret, 32);
    assert_keypair(a.server_public, a.server_secret, "server");
    assert_keypair(a.client_public, a.client_secret, "client");
    // A secret one bit away, and secrets of 1 and 4096 bytes.
    char s2[sizeof s1];
    memcpy(s2, s1, sizeof s1);
    s2[3] ^= 4;
    gx_auth_curve(s2, strlen(s2), &c);
    cr_assert_arr_neq(a.server_public, c.server_public, 32);
    cr_assert_arr_neq(a.server_secret, c.server_secret, 32);
    cr_assert_arr_neq(a.client_public, c.client_public, 32);
    cr_assert_arr_neq(a.client_secret, c.client_secret, 32);
    assert_keypair(c.server_public, c.server_secret, "server, secret 2");
    assert_keypair(c.client_public, c.client_secret, "client, secret 2");
    uint8_t *big = malloc(4096);
    cr_assert_not_null(big);
    fill(big, 4096, 16);
    gx_curve_t d1, d2;
    gx_auth_curve(big, 1, &d1);
    gx_auth_curve(big, 4096, &d2);
    cr_assert_arr_neq(d1.server_public, d2.server_public, 32);
    cr_assert_arr_neq(d1.client_public, d2.client_public, 32);
    assert_keypair(d1.server_public, d1.server_secret, "1-byte secret");
    assert_keypair(d2.client_public, d2.client_secret, "4096-byte secret");
    free(big);
    // The keys are not the proof of anything: a proof with the same secret
    // is another value than every key.
    uint8_t nonce[32] = { 0 }, mnonce[32] = { 0 }, proof[32];
    gx_auth_proof(s1, strlen(s1), GX_PROVE_WORKER, nonce, mnonce, proof);
    cr_assert_arr_neq(proof, a.server_secret, 32);
    cr_assert_arr_neq(proof, a.client_secret, 32);
}

Test(auth, hash_is_blake2b_256, .init = auth_setup)
{
    static const uint8_t empty[32] = {
        0x0e, 0x57, 0x51, 0xc0, 0x26, 0xe5, 0x43, 0xb2, 0xe8, 0xab, 0x2e,
        0xb0, 0x60, 0x99, 0xda, 0xa1, 0xd1, 0xe5, 0xdf, 0x47, 0x77, 0x8f,
        0x77, 0x87, 0xfa, 0xab, 0x45, 0xcd, 0xf1, 0x2f, 0xe3, 0xa8,
    };
    static const uint8_t abc[32] = {
        0xbd, 0xdd, 0x81, 0x3c, 0x63, 0x42, 0x39, 0x72, 0x31, 0x71, 0xef,
        0x3f, 0xee, 0x98, 0x57, 0x9b, 0x94, 0x96, 0x4e, 0x3b, 0xb1, 0xcb,
        0x3e, 0x42, 0x72, 0x62, 0xc8, 0xc0, 0x68, 0xd5, 0x23, 0x19,
    };
    uint8_t h[32], h2[32];
    gx_auth_hash("", 0, h);
    cr_assert_arr_eq(h, empty, 32);
    gx_auth_hash("abc", 3, h);
    cr_assert_arr_eq(h, abc, 32);
    size_t n = 1 << 20;
    uint8_t *big = malloc(n);
    cr_assert_not_null(big);
    fill(big, n, 17);
    gx_auth_hash(big, n, h);
    gx_auth_hash(big, n, h2);
    cr_assert_arr_eq(h, h2, 32);
    big[n / 2] ^= 1;
    gx_auth_hash(big, n, h2);
    cr_assert_arr_neq(h, h2, 32);
    free(big);
}

Test(auth, random_fills_the_buffer, .init = auth_setup)
{
    uint8_t a[64] = { 0 }, b[64] = { 0 }, z[64] = { 0 };
    gx_auth_random(a, sizeof a);
    gx_auth_random(b, sizeof b);
    cr_assert_arr_neq(a, z, sizeof a);
    cr_assert_arr_neq(a, b, sizeof a);
    gx_auth_random(a, 0);                 // nothing to fill
}

// ============================================================================
// Messages
// ============================================================================

typedef struct net {
    void *ctx;
    void *router, *dealer;
    char  ep[128];
} net_t;

static void
close_quietly(void *s)
{
    if (!s)
        return;
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(s);
}

static void *
net_socket(void *ctx, int type, const void *id, size_t id_len)
{
    gx_error_t err = { 0 };
    void *s = gx_net_socket(ctx, type, id, id_len, NULL, type == ZMQ_ROUTER,
                            &err);
    cr_assert_not_null(s, "%s", err.msg);
    return s;
}

static void
set_hwm(void *s, int hwm)
{
    cr_assert_eq(zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm), 0);
    cr_assert_eq(zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm), 0);
}

// Binds a ROUTER at tcp://127.0.0.1 (an ephemeral port) or a fresh inproc
// endpoint; its endpoint in n->ep.
static void
net_bind(net_t *n, bool tcp, int hwm)
{
    static int seq;
    n->router = net_socket(n->ctx, ZMQ_ROUTER, NULL, 0);
    if (hwm)
        set_hwm(n->router, hwm);
    if (tcp) {
        cr_assert_eq(zmq_bind(n->router, "tcp://127.0.0.1:*"), 0, "bind: %s",
                     zmq_strerror(errno));
        size_t len = sizeof n->ep;
        cr_assert_eq(zmq_getsockopt(n->router, ZMQ_LAST_ENDPOINT, n->ep,
                                    &len), 0);
    } else {
        snprintf(n->ep, sizeof n->ep, "inproc://net-%d", seq++);
        cr_assert_eq(zmq_bind(n->router, n->ep), 0, "bind: %s",
                     zmq_strerror(errno));
    }
}

static void *
net_connect(net_t *n, const void *id, size_t id_len, int hwm)
{
    void *s = net_socket(n->ctx, ZMQ_DEALER, id, id_len);
    if (hwm)
        set_hwm(s, hwm);
    cr_assert_eq(zmq_connect(s, n->ep), 0, "connect: %s", zmq_strerror(errno));
    return s;
}

static void
net_open(net_t *n, bool tcp, const void *id, size_t id_len, int hwm)
{
    memset(n, 0, sizeof *n);
    n->ctx = zmq_ctx_new();
    cr_assert_not_null(n->ctx);
    net_bind(n, tcp, hwm);
    n->dealer = net_connect(n, id, id_len, hwm);
}

static void
net_close(net_t *n)
{
    close_quietly(n->dealer);
    close_quietly(n->router);
    zmq_ctx_term(n->ctx);
}

// Waits (up to ms) for something to read, then gx_net_recv.
static int
recv_wait(void *s, bool router, gx_netmsg_t *in, gx_error_t *err, int ms)
{
    zmq_pollitem_t it = { .socket = s, .events = ZMQ_POLLIN };
    zmq_poll(&it, 1, ms);
    err->msg[0] = '\0';
    return gx_net_recv(s, router, in, err);
}

static gx_frame_t
hdr_of(uint32_t kind, uint64_t step, uint64_t a, uint64_t b)
{
    gx_frame_t f;
    memset(&f, 0, sizeof f);
    f.kind = kind;
    f.step = step;
    f.a = a;
    f.b = b;
    return f;
}

static void
assert_frame_eq(const gx_frame_t *got, const gx_frame_t *want)
{
    cr_assert_eq(got->kind, want->kind);
    cr_assert_eq(got->step, want->step);
    cr_assert_eq(got->a, want->a);
    cr_assert_eq(got->b, want->b);
    cr_assert_eq(got->n_bins, want->n_bins);
    for (uint32_t i = 0; i < want->n_bins; i++) {
        cr_assert_eq(got->bin_len[i], want->bin_len[i], "bin %u", i);
        if (want->bin_len[i])
            cr_assert_arr_eq(got->bin[i], want->bin[i], want->bin_len[i],
                             "bin %u", i);
    }
}

static void
body_of(zmq_msg_t *m, size_t n, uint64_t seed)
{
    cr_assert_eq(zmq_msg_init_size(m, n), 0);
    fill(zmq_msg_data(m), n, seed);
}

static void
assert_body(const gx_netmsg_t *in, size_t n, uint64_t seed)
{
    cr_assert(in->has_body);
    zmq_msg_t *b = (zmq_msg_t *)&in->body;
    cr_assert_eq(zmq_msg_size(b), n);
    uint8_t *want = malloc(n ? n : 1);
    cr_assert_not_null(want);
    fill(want, n, seed);
    if (n)
        cr_assert_arr_eq(zmq_msg_data(b), want, n);
    free(want);
}

Test(net, kind_names)
{
    cr_assert_str_eq(gx_net_kind_name(GX_N_REGISTER), "REGISTER");
    cr_assert_str_eq(gx_net_kind_name(GX_N_DATA), "DATA");
    cr_assert_str_eq(gx_net_kind_name(GX_N_END), "END");
    cr_assert_str_eq(gx_net_kind_name(GX_N_LAST), "unknown");
    cr_assert_str_eq(gx_net_kind_name(GX_N_REGISTER - 1), "unknown");
    cr_assert_str_eq(gx_net_kind_name(0), "unknown");
    cr_assert_str_eq(gx_net_kind_name(UINT32_MAX), "unknown");
    for (uint32_t k = GX_N_REGISTER; k < GX_N_LAST; k++)
        cr_assert_str_neq(gx_net_kind_name(k), "unknown");
}

// A header with bins (REGISTER-like) and one with a body (DATA), dealer to
// router and back, over one transport.
static void
exchange(bool tcp)
{
    net_t n;
    static const char id[] = "worker-7";
    net_open(&n, tcp, id, strlen(id), 0);
    gx_error_t err = { 0 };
    uint8_t big[5000];
    fill(big, sizeof big, 21);
    gx_frame_t h = hdr_of(GX_N_REGISTER, GX_PROTOCOL_VERSION, 0, 6);
    h.n_bins = 4;
    h.bin[0] = "0.1.0";
    h.bin_len[0] = 5;
    h.bin[1] = big;
    h.bin_len[1] = sizeof big;
    h.bin[2] = NULL;
    h.bin_len[2] = 0;
    uint32_t abi = 0xdeadbeef;
    h.bin[3] = &abi;
    h.bin_len[3] = 4;
    cr_assert_eq(gx_net_send_hdr(n.dealer, NULL, 0, &h, &err), 0, "%s",
                 err.msg);
    gx_netmsg_t in;
    cr_assert_eq(recv_wait(n.router, true, &in, &err, 5000), 0, "%s", err.msg);
    // The router learnt who sent it.
    cr_assert_eq(in.id_len, strlen(id));
    cr_assert_arr_eq(in.id, id, strlen(id));
    assert_frame_eq(&in.f, &h);
    cr_assert_not(in.has_body);
    uint8_t who[32];
    size_t who_len = in.id_len;
    memcpy(who, in.id, who_len);
    gx_netmsg_close(&in);
    gx_netmsg_close(&in);                 // closing twice is harmless

    // A body, router to dealer by the learnt id; a header at its extremes.
    gx_frame_t d = hdr_of(GX_N_DOWN, UINT64_MAX, UINT64_MAX, 3);
    zmq_msg_t body;
    body_of(&body, 100000, 22);
    cr_assert_eq(gx_net_send(n.router, who, who_len, &d, &body, &err), 0,
                 "%s", err.msg);
    zmq_msg_close(&body);                 // moved: empty now, still closable
    cr_assert_eq(recv_wait(n.dealer, false, &in, &err, 5000), 0, "%s",
                 err.msg);
    assert_frame_eq(&in.f, &d);
    cr_assert_eq(in.id_len, 0);
    assert_body(&in, 100000, 22);
    gx_netmsg_close(&in);

    // A body with bins, and an empty body, dealer to router.
    gx_frame_t u = hdr_of(GX_N_UP, 9, 1, 2);
    u.n_bins = 2;
    u.bin[0] = "xy";
    u.bin_len[0] = 2;
    u.bin[1] = big;
    u.bin_len[1] = 100;
    body_of(&body, 33, 23);
    cr_assert_eq(gx_net_send(n.dealer, NULL, 0, &u, &body, &err), 0, "%s",
                 err.msg);
    zmq_msg_close(&body);
    body_of(&body, 0, 24);
    gx_frame_t e = hdr_of(GX_N_DATA, 0, 0, 0);
    cr_assert_eq(gx_net_send(n.dealer, NULL, 0, &e, &body, &err), 0, "%s",
                 err.msg);
    zmq_msg_close(&body);
    cr_assert_eq(recv_wait(n.router, true, &in, &err, 5000), 0, "%s", err.msg);
    assert_frame_eq(&in.f, &u);
    assert_body(&in, 33, 23);
    cr_assert_arr_eq(in.id, id, strlen(id));
    gx_netmsg_close(&in);
    cr_assert_eq(recv_wait(n.router, true, &in, &err, 5000), 0, "%s", err.msg);
    assert_frame_eq(&in.f, &e);
    assert_body(&in, 0, 24);
    gx_netmsg_close(&in);

    // Nothing more: 1, on both sides.
    cr_assert_eq(gx_net_recv(n.router, true, &in, &err), 1);
    cr_assert_eq(gx_net_recv(n.dealer, false, &in, &err), 1);
    gx_netmsg_close(&in);
    net_close(&n);
}

Test(net, messages_arrive_intact_over_inproc)
{
    exchange(false);
}

Test(net, messages_arrive_intact_over_tcp)
{
    exchange(true);
}

Test(net, recv_returns_1_when_nothing_is_waiting)
{
    net_t n;
    net_open(&n, false, NULL, 0, 0);
    gx_netmsg_t in;
    gx_error_t err = { 0 };
    double t0 = gx_test_now();
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(gx_net_recv(n.router, true, &in, &err), 1);
        cr_assert_eq(gx_net_recv(n.dealer, false, &in, &err), 1);
    }
    cr_assert(gx_test_now() - t0 < 1.0, "recv waited");
    // A socket connected to nothing at all.
    void *lone = net_socket(n.ctx, ZMQ_DEALER, NULL, 0);
    cr_assert_eq(gx_net_recv(lone, false, &in, &err), 1);
    close_quietly(lone);
    net_close(&n);
}

Test(net, a_router_learns_generated_and_long_routing_ids)
{
    net_t n;
    net_open(&n, false, NULL, 0, 0);        // an id ZeroMQ generates
    gx_error_t err = { 0 };
    gx_frame_t h = hdr_of(GX_N_BEAT, 0, 5, 1);
    cr_assert_eq(gx_net_send_hdr(n.dealer, NULL, 0, &h, &err), 0, "%s",
                 err.msg);
    gx_netmsg_t in;
    cr_assert_eq(recv_wait(n.router, true, &in, &err, 5000), 0, "%s", err.msg);
    cr_assert(in.id_len > 0 && in.id_len <= 32);
    uint8_t who[32];
    size_t who_len = in.id_len;
    memcpy(who, in.id, who_len);
    gx_netmsg_close(&in);
    cr_assert_eq(gx_net_send_hdr(n.router, who, who_len, &h, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(recv_wait(n.dealer, false, &in, &err, 5000), 0, "%s",
                 err.msg);
    assert_frame_eq(&in.f, &h);
    gx_netmsg_close(&in);
    // An id of exactly 32 bytes is the longest learnt.
    uint8_t id32[32];
    fill(id32, 32, 31);
    id32[0] |= 1;                           // ids starting with 0 are ZeroMQ's
    void *d32 = net_connect(&n, id32, 32, 0);
    cr_assert_eq(gx_net_send_hdr(d32, NULL, 0, &h, &err), 0, "%s", err.msg);
    cr_assert_eq(recv_wait(n.router, true, &in, &err, 5000), 0, "%s", err.msg);
    cr_assert_eq(in.id_len, 32);
    cr_assert_arr_eq(in.id, id32, 32);
    gx_netmsg_close(&in);
    cr_assert_eq(gx_net_send_hdr(n.router, id32, 32, &h, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(recv_wait(d32, false, &in, &err, 5000), 0, "%s", err.msg);
    gx_netmsg_close(&in);
    close_quietly(d32);
    net_close(&n);
}

Test(net, send_to_an_unknown_peer_is_an_error_not_a_loss)
{
    net_t n;
    net_open(&n, false, "known", 5, 0);
    gx_error_t err = { 0 };
    gx_frame_t h = hdr_of(GX_N_BEAT, 0, 0, 0);
    zmq_msg_t body;
    body_of(&body, 64, 41);
    cr_assert_eq(gx_net_send(n.router, "nobody", 6, &h, &body, &err), -1);
    cr_assert(err.msg[0] != '\0');
    cr_assert_eq(zmq_msg_size(&body), 64);   // still the caller's
    zmq_msg_close(&body);
    net_close(&n);
}

Test(net, a_header_the_codec_refuses_is_an_error_and_the_body_stays)
{
    net_t n;
    net_open(&n, false, "x", 1, 0);
    gx_error_t err = { 0 };
    gx_frame_t h = hdr_of(GX_N_DATA, 0, 0, 0);
    h.n_bins = GX_FRAME_MAX_BINS + 1;      // bins all empty
    zmq_msg_t body;
    body_of(&body, 50, 71);
    cr_assert_eq(gx_net_send(n.dealer, NULL, 0, &h, &body, &err), -1);
    cr_assert(err.msg[0] != '\0');
    cr_assert_eq(zmq_msg_size(&body), 50);
    gx_netmsg_t in;
    cr_assert_eq(recv_wait(n.router, true, &in, &err, 100), 1);
    // Still the caller's: it goes with a good header.
    h.n_bins = 0;
    cr_assert_eq(gx_net_send(n.dealer, NULL, 0, &h, &body, &err), 0, "%s",
                 err.msg);
    zmq_msg_close(&body);
    cr_assert_eq(recv_wait(n.router, true, &in, &err, 5000), 0, "%s", err.msg);
    assert_body(&in, 50, 71);
    gx_netmsg_close(&in);
    net_close(&n);
}

Test(net, ipv6_only_where_the_endpoint_asks)
{
    void *ctx = zmq_ctx_new();
    static const struct { const char *ep; int v6; } cases[] = {
        { "tcp://127.0.0.1:5000", 0 }, { "tcp://host.example:5000", 0 },
        { "tcp://[::1]:5000", 1 },     { "tcp://*:5000", 1 },
        { "tcp://[fe80::1%eth0]:1", 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *s = net_socket(ctx, ZMQ_DEALER, NULL, 0);
        gx_net_ipv6(s, cases[i].ep);
        int v = -1;
        size_t len = sizeof v;
        cr_assert_eq(zmq_getsockopt(s, ZMQ_IPV6, &v, &len), 0);
        cr_assert_eq(v, cases[i].v6, "%s", cases[i].ep);
        close_quietly(s);
    }
    zmq_ctx_term(ctx);
}

// The wire's rule, written again here: these kinds carry a body part.
static bool
kind_has_body(uint32_t kind)
{
    return kind == GX_N_DATA || kind == GX_N_UP || kind == GX_N_DOWN
           || kind == GX_N_STREAM;
}

// Sends the parts (raw) from a plain ZeroMQ socket.
static void
send_parts(void *s, const uint8_t *const *parts, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert(zmq_send(s, parts[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0)
                  == (int)lens[i], "zmq_send: %s", zmq_strerror(errno));
}

// Encodes a header (with the codec) into an sbuffer the caller destroys.
static void
encode(const gx_frame_t *f, msgpack_sbuffer *sb)
{
    msgpack_sbuffer_init(sb);
    gx_error_t err;
    cr_assert_eq(gx_frame_encode(f, sb, &err), 0, "%s", err.msg);
}

static void
expect(void *s, bool router, int want, const char *what)
{
    gx_netmsg_t in;
    gx_error_t err;
    int rc = recv_wait(s, router, &in, &err, 5000);
    gx_netmsg_close(&in);
    cr_assert_eq(rc, want, "%s: %d, not %d (%s)", what, rc, want, err.msg);
    if (rc == 2)
        cr_assert_not(in.open, "%s: ignored but left open", what);
}

// A good message after garbage: the socket still works.
static void
expect_good(void *from, const void *to, size_t to_len, void *s, bool router)
{
    gx_error_t err = { 0 };
    gx_frame_t g = hdr_of(GX_N_DATA, 3, 4, 5);
    g.n_bins = 1;
    g.bin[0] = "bin";
    g.bin_len[0] = 3;
    zmq_msg_t body;
    body_of(&body, 300, 51);
    cr_assert_eq(gx_net_send(from, to, to_len, &g, &body, &err), 0, "%s",
                 err.msg);
    zmq_msg_close(&body);
    gx_netmsg_t in;
    cr_assert_eq(recv_wait(s, router, &in, &err, 5000), 0, "%s", err.msg);
    assert_frame_eq(&in.f, &g);
    assert_body(&in, 300, 51);
    gx_netmsg_close(&in);
}

// The malformed messages every receiving side must shrug off, sent with
// `raw` (a plain socket; `to`: a ROUTER's peer id to prefix) to `s`.
static void
send_garbage_and_expect_2(void *raw, const void *to, size_t to_len, void *s,
                          bool router)
{
    msgpack_sbuffer good, bad;
    gx_frame_t g = hdr_of(GX_N_DATA, 1, 2, 3);
    encode(&g, &good);
    uint8_t body[10] = { 0 };
    const uint8_t *parts[5];
    size_t lens[5], k;
#define SEND(...)                                                          \
    do {                                                                   \
        const void *p_[] = { __VA_ARGS__ };                                \
        k = 0;                                                             \
        if (to) {                                                          \
            parts[k] = to;                                                 \
            lens[k++] = to_len;                                            \
        }                                                                  \
        for (size_t i_ = 0; i_ < sizeof p_ / sizeof p_[0]; i_ += 2) {      \
            parts[k] = p_[i_];                                             \
            lens[k++] = (size_t)(uintptr_t)p_[i_ + 1];                     \
        }                                                                  \
        send_parts(raw, parts, lens, k);                                   \
    } while (0)
#define LEN(n) (const void *)(uintptr_t)(n)
    SEND("hello", LEN(5));
    expect(s, router, 2, "a single part that is not a frame");
    SEND("", LEN(0));
    expect(s, router, 2, "an empty message");
    SEND("hello", LEN(5), body, LEN(10));
    expect(s, router, 2, "two parts, the first not a frame");
    SEND(good.data, LEN(good.size), body, LEN(10), body, LEN(3));
    expect(s, router, 2, "three parts");
    SEND(good.data, LEN(good.size), body, LEN(10), body, LEN(3), "", LEN(0));
    expect(s, router, 2, "four parts");
    SEND(good.data, LEN(good.size), "", LEN(0), "", LEN(0));
    expect(s, router, 2, "three parts, two empty");
    SEND(good.data, LEN(good.size - 1));
    expect(s, router, 2, "a frame cut short");
    SEND("", LEN(0), good.data, LEN(good.size));
    expect(s, router, 2, "an empty part before a good frame");
    // Engine frames (GX_F_*) and kinds just outside GX_N_*.
    uint32_t kinds[] = { 0, GX_F_EDGES, GX_F_MSG, GX_F_KINDS, GX_N_REGISTER - 1,
                         GX_N_LAST, GX_N_LAST + 1, 255, 65536, UINT32_MAX };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        gx_frame_t f = hdr_of(kinds[i], 0, 0, 0);
        encode(&f, &bad);
        SEND(bad.data, LEN(bad.size));
        char what[64];
        snprintf(what, sizeof what, "a frame of kind %u", kinds[i]);
        expect(s, router, 2, what);
        SEND(bad.data, LEN(bad.size), body, LEN(10));
        expect(s, router, 2, what);
        msgpack_sbuffer_destroy(&bad);
    }
    // A msgpack value of another shape: a map, a string, a bare integer.
    uint8_t other[][3] = { { 0x81, 0x01, 0x02 }, { 0xa2, 'h', 'i' },
                           { 0xcc, 0x65, 0x00 } };
    for (size_t i = 0; i < 3; i++) {
        SEND(other[i], LEN(i == 2 ? 2 : 3));
        expect(s, router, 2, "not an array");
    }
    // A body where the kind has none, none where it has one, a seal part
    // that is not one (wrong length, wrong magic).
    uint8_t seal[GX_SEAL_LEN] = "GXS1";
    SEND(good.data, LEN(good.size));
    expect(s, router, 2, "DATA without its body");
    SEND(good.data, LEN(good.size), body, LEN(10), seal, LEN(GX_SEAL_LEN));
    expect(s, router, 2, "a seal with the wrong magic");
    memcpy(seal, "GXS2", 4);
    SEND(good.data, LEN(good.size), body, LEN(10), seal, LEN(GX_SEAL_LEN - 1));
    expect(s, router, 2, "a seal cut short");
    gx_frame_t beat = hdr_of(GX_N_BEAT, 0, 0, 0);
    encode(&beat, &bad);
    SEND(bad.data, LEN(bad.size), body, LEN(10));
    expect(s, router, 2, "BEAT with a body");
    msgpack_sbuffer_destroy(&bad);
    // Each kind of ours passes, with its body if it has one, and with a
    // seal part of the right shape: the shape is all that is checked here.
    for (uint32_t kd = GX_N_REGISTER; kd < GX_N_LAST; kd++) {
        gx_frame_t f = hdr_of(kd, 0, 0, 0);
        encode(&f, &bad);
        bool b = kind_has_body(kd);
        if (b)
            SEND(bad.data, LEN(bad.size), body, LEN(10));
        else
            SEND(bad.data, LEN(bad.size));
        expect(s, router, 0, gx_net_kind_name(kd));
        if (b)
            SEND(bad.data, LEN(bad.size), body, LEN(10), seal,
                 LEN(GX_SEAL_LEN));
        else
            SEND(bad.data, LEN(bad.size), seal, LEN(GX_SEAL_LEN));
        expect(s, router, 0, gx_net_kind_name(kd));
        msgpack_sbuffer_destroy(&bad);
    }
#undef SEND
#undef LEN
    msgpack_sbuffer_destroy(&good);
}

Test(net, a_router_drains_malformed_messages)
{
    net_t n;
    net_open(&n, false, "good", 4, 0);
    void *raw = zmq_socket(n.ctx, ZMQ_DEALER);
    cr_assert_not_null(raw);
    cr_assert_eq(zmq_connect(raw, n.ep), 0);
    send_garbage_and_expect_2(raw, NULL, 0, n.router, true);
    expect_good(n.dealer, NULL, 0, n.router, true);
    close_quietly(raw);
    net_close(&n);
}

Test(net, a_dealer_drains_malformed_messages)
{
    net_t n;
    net_open(&n, true, "dealer-1", 8, 0);
    // A plain ROUTER the gx DEALER also talks to: it says hello first, so
    // the plain ROUTER knows it.
    void *raw = zmq_socket(n.ctx, ZMQ_ROUTER);
    cr_assert_not_null(raw);
    cr_assert_eq(zmq_bind(raw, "tcp://127.0.0.1:*"), 0);
    char ep[128];
    size_t len = sizeof ep;
    cr_assert_eq(zmq_getsockopt(raw, ZMQ_LAST_ENDPOINT, ep, &len), 0);
    void *d = net_socket(n.ctx, ZMQ_DEALER, "dealer-2", 8);
    cr_assert_eq(zmq_connect(d, ep), 0);
    gx_error_t err = { 0 };
    gx_frame_t h = hdr_of(GX_N_BEAT, 0, 0, 0);
    cr_assert_eq(gx_net_send_hdr(d, NULL, 0, &h, &err), 0, "%s", err.msg);
    zmq_pollitem_t it = { .socket = raw, .events = ZMQ_POLLIN };
    cr_assert_eq(zmq_poll(&it, 1, 5000), 1);
    zmq_msg_t m;
    zmq_msg_init(&m);
    cr_assert(zmq_msg_recv(&m, raw, 0) >= 0);
    cr_assert_eq(zmq_msg_size(&m), 8);
    zmq_msg_close(&m);
    zmq_msg_init(&m);
    cr_assert(zmq_msg_recv(&m, raw, 0) >= 0);
    zmq_msg_close(&m);
    send_garbage_and_expect_2(raw, "dealer-2", 8, d, false);
    // Then a good message from the plain ROUTER, sent raw.
    msgpack_sbuffer good;
    gx_frame_t g = hdr_of(GX_N_END, 0, 77, 0);
    encode(&g, &good);
    const uint8_t *parts[] = { (const uint8_t *)"dealer-2",
                               (const uint8_t *)good.data };
    size_t lens[] = { 8, good.size };
    send_parts(raw, parts, lens, 2);
    gx_netmsg_t in;
    cr_assert_eq(recv_wait(d, false, &in, &err, 5000), 0, "%s", err.msg);
    assert_frame_eq(&in.f, &g);
    gx_netmsg_close(&in);
    msgpack_sbuffer_destroy(&good);
    close_quietly(d);
    close_quietly(raw);
    net_close(&n);
}

Test(net, routing_ids_longer_than_32_bytes_are_ignored)
{
    net_t n;
    net_open(&n, true, "good", 4, 0);
    gx_error_t err = { 0 };
    gx_frame_t h = hdr_of(GX_N_REGISTER, 1, 0, 1);
    size_t lens[] = { 33, 40, 255 };
    for (size_t i = 0; i < 3; i++) {
        uint8_t id[255];
        memset(id, 'L', sizeof id);
        void *d = net_connect(&n, id, lens[i], 0);
        zmq_msg_t body;
        body_of(&body, 10, 61);
        cr_assert_eq(gx_net_send_hdr(d, NULL, 0, &h, &err), 0, "%s", err.msg);
        cr_assert_eq(gx_net_send(d, NULL, 0, &h, &body, &err), 0, "%s",
                     err.msg);
        zmq_msg_close(&body);
        char what[64];
        snprintf(what, sizeof what, "a routing id of %zu bytes", lens[i]);
        expect(n.router, true, 2, what);
        expect(n.router, true, 2, what);
        close_quietly(d);
    }
    expect_good(n.dealer, NULL, 0, n.router, true);
    net_close(&n);
}

// Thousands of random messages: random parts of random bytes, or a good
// header with bytes changed; each is either a well-formed header (and at
// most one body) and is received as such, or is drained and reported 2.
static void
fuzz(void *raw, const void *to, size_t to_len, void *s, bool router,
     uint64_t seed, unsigned count)
{
    uint64_t st = seed;
    uint8_t buf[5][200];
    const uint8_t *parts[6];
    size_t lens[6];
    gx_frame_t g = hdr_of(GX_N_UP, 1000, 1u << 20, 7);
    uint8_t bin[40];
    fill(bin, sizeof bin, seed);
    g.n_bins = 2;
    g.bin[0] = bin;
    g.bin_len[0] = 3;
    g.bin[1] = bin;
    g.bin_len[1] = 40;
    msgpack_sbuffer good;
    encode(&g, &good);
    cr_assert(good.size <= sizeof buf[0]);
    unsigned got[3] = { 0 };
    for (unsigned it = 0; it < count; it++) {
        size_t np = 1 + gx_test_xorshift64(&st) % 4, k = 0;
        if (to) {
            parts[k] = to;
            lens[k++] = to_len;
        }
        for (size_t p = 0; p < np; p++) {
            uint64_t r = gx_test_xorshift64(&st);
            size_t n;
            if (p == 0 && r % 3 == 0) {
                // A good header with one to three bytes changed, or cut.
                memcpy(buf[p], good.data, good.size);
                n = good.size;
                int changes = 1 + (int)(r >> 8) % 3;
                for (int c = 0; c < changes; c++)
                    buf[p][gx_test_xorshift64(&st) % n] =
                        (uint8_t)gx_test_xorshift64(&st);
                if ((r >> 16) % 5 == 0)
                    n = gx_test_xorshift64(&st) % n;
            } else if (p == 0 && r % 3 == 1) {
                memcpy(buf[p], good.data, good.size);    // intact
                n = good.size;
            } else {
                n = (r >> 8) % sizeof buf[p];
                fill(buf[p], n, gx_test_xorshift64(&st));
            }
            parts[k] = buf[p];
            lens[k++] = n;
        }
        send_parts(raw, parts, lens, k);
        // What it must be: a decodable header of a GX_N_* kind, then its
        // body if the kind has one, and nothing else (random bytes are
        // never a seal's shape).
        gx_frame_t f;
        gx_error_t e;
        const uint8_t *h = parts[to ? 1 : 0];
        size_t hl = lens[to ? 1 : 0];
        uint8_t *hc = gx_test_copy(h, hl);
        bool ok = gx_frame_decode(hc, hl, &f, &e) == 0
                  && f.kind >= GX_N_REGISTER && f.kind < GX_N_LAST
                  && np == 1 + (size_t)kind_has_body(f.kind);
        free(hc);
        gx_netmsg_t in;
        gx_error_t err;
        int rc = recv_wait(s, router, &in, &err, 5000);
        if (rc == 0) {
            cr_assert(ok, "message %u: accepted", it);
            cr_assert_eq(in.f.kind, f.kind, "message %u", it);
            cr_assert_eq(in.has_body, np == 2, "message %u", it);
            if (np == 2) {
                cr_assert_eq(zmq_msg_size(&in.body), lens[k - 1]);
                if (lens[k - 1])
                    cr_assert_arr_eq(zmq_msg_data(&in.body), parts[k - 1],
                                     lens[k - 1], "message %u", it);
            }
        } else {
            cr_assert_eq(rc, 2, "message %u: %d (%s)", it, rc, err.msg);
            cr_assert_not(ok, "message %u: ignored", it);
        }
        got[rc]++;
        gx_netmsg_close(&in);
    }
    // The mix reached both outcomes.
    cr_assert(got[0] > 0 && got[2] > 0, "%u good, %u ignored", got[0], got[2]);
    msgpack_sbuffer_destroy(&good);
}

Test(net, a_router_survives_random_messages)
{
    net_t n;
    net_open(&n, false, "good", 4, 0);
    void *raw = zmq_socket(n.ctx, ZMQ_DEALER);
    cr_assert_not_null(raw);
    cr_assert_eq(zmq_connect(raw, n.ep), 0);
    fuzz(raw, NULL, 0, n.router, true, 0x1234567,
         (unsigned)gx_test_scaled(4000, 4));
    expect_good(n.dealer, NULL, 0, n.router, true);
    close_quietly(raw);
    net_close(&n);
}

Test(net, a_dealer_survives_random_messages)
{
    net_t n;
    net_open(&n, false, "dealer", 6, 0);
    void *raw = zmq_socket(n.ctx, ZMQ_ROUTER);
    cr_assert_not_null(raw);
    int one = 1;
    zmq_setsockopt(raw, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    char ep[160];
    snprintf(ep, sizeof ep, "%s-raw", n.ep);
    cr_assert_eq(zmq_bind(raw, ep), 0);
    void *d = net_socket(n.ctx, ZMQ_DEALER, "dealer", 6);
    cr_assert_eq(zmq_connect(d, ep), 0);
    // Wait until the plain ROUTER can route to it.
    double t0 = gx_test_now();
    while (zmq_send(raw, "dealer", 6, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        cr_assert(gx_test_now() - t0 < 5, "the dealer never connected");
        zmq_poll(NULL, 0, 1);
    }
    msgpack_sbuffer good;
    gx_frame_t g = hdr_of(GX_N_BEAT, 0, 0, 0);
    encode(&g, &good);
    cr_assert_eq(zmq_send(raw, good.data, good.size, 0), (int)good.size);
    msgpack_sbuffer_destroy(&good);
    expect(d, false, 0, "the first beat");
    fuzz(raw, "dealer", 6, d, false, 0x7654321,
         (unsigned)gx_test_scaled(4000, 4));
    close_quietly(d);
    close_quietly(raw);
    net_close(&n);
}

Test(net, recv_after_the_context_is_gone_says_eterm)
{
    net_t n;
    net_open(&n, false, NULL, 0, 0);
    zmq_ctx_shutdown(n.ctx);
    gx_netmsg_t in;
    gx_error_t err = { 0 };
    errno = 0;
    cr_assert_eq(gx_net_recv(n.router, true, &in, &err), -1);
    cr_assert_eq(errno, ETERM);
    cr_assert(err.msg[0] != '\0');
    gx_netmsg_close(&in);
    err.msg[0] = 0;
    errno = 0;
    cr_assert_eq(gx_net_recv(n.dealer, false, &in, &err), -1);
    cr_assert_eq(errno, ETERM);
    cr_assert(err.msg[0] != '\0');
    gx_netmsg_close(&in);
    net_close(&n);
}

// ---- A full link -------------------------------------------------------------

// Sends from `s` (to `to` if a ROUTER) until gx_net_send says 1, each time
// with a fresh body of body_len bytes; the refused body is handed back.
// Returns how many were sent.
static unsigned
fill_link(void *s, const void *to, size_t to_len, size_t body_len,
          zmq_msg_t *refused)
{
    gx_error_t err = { 0 };
    double t0 = gx_test_now();
    for (unsigned i = 0; i < 20000; i++) {
        gx_frame_t h = hdr_of(to ? GX_N_DOWN : GX_N_UP, i, 0, i);
        body_of(refused, body_len, 1000 + i);
        double t = gx_test_now();
        int rc = gx_net_send(s, to, to_len, &h, refused, &err);
        cr_assert(gx_test_now() - t < 0.5, "gx_net_send blocked");
        if (rc == 1) {
            // Untouched: the caller's, with what it held.
            cr_assert_eq(zmq_msg_size(refused), body_len);
            uint8_t *want = malloc(body_len);
            cr_assert_not_null(want);
            fill(want, body_len, 1000 + i);
            cr_assert_arr_eq(zmq_msg_data(refused), want, body_len);
            free(want);
            return i;
        }
        cr_assert_eq(rc, 0, "message %u: %s", i, err.msg);
        zmq_msg_close(refused);
        cr_assert(gx_test_now() - t0 < 20, "the link never filled");
    }
    cr_assert_fail("the link never filled in 20000 messages");
    return 0;
}

// Receives everything waiting (each in order, each intact); returns the
// next index expected.
static unsigned
drain_all(void *s, bool router, unsigned next, size_t body_len, int ms)
{
    gx_netmsg_t in;
    gx_error_t err;
    int rc;
    while ((rc = recv_wait(s, router, &in, &err, ms)) == 0) {
        cr_assert_eq(in.f.b, next);
        assert_body(&in, body_len, 1000 + next);
        gx_netmsg_close(&in);
        next++;
    }
    cr_assert_eq(rc, 1, "%s", err.msg);
    return next;
}

static void
full_link(bool tcp, size_t body_len)
{
    net_t n;
    net_open(&n, tcp, "slow", 4, 1);
    gx_error_t err = { 0 };
    // Connected first, so the link is full because of the peer, not
    // because it is not there yet.
    gx_frame_t h = hdr_of(GX_N_BEAT, 0, 0, 0);
    cr_assert_eq(gx_net_send_hdr(n.dealer, NULL, 0, &h, &err), 0, "%s",
                 err.msg);
    expect(n.router, true, 0, "hello");

    // Dealer to router, the router not reading. (With a HWM of 1 the
    // dealer counts the hello against the link until it hears that it was
    // read: wait for that first.)
    zmq_pollitem_t out = { .socket = n.dealer, .events = ZMQ_POLLOUT };
    cr_assert_eq(zmq_poll(&out, 1, 5000), 1, "the dealer never had room");
    zmq_msg_t kept;
    unsigned sent = fill_link(n.dealer, NULL, 0, body_len, &kept);
    cr_assert(sent >= 1, "not even one message fitted");
    // Read everything; then the kept body goes through, as it was.
    unsigned next = drain_all(n.router, true, 0, body_len, 200);
    cr_assert_eq(next, sent, "%u sent, %u received", sent, next);
    gx_frame_t again = hdr_of(GX_N_UP, sent, 0, sent);
    double t0 = gx_test_now();
    int rc;
    while ((rc = gx_net_send(n.dealer, NULL, 0, &again, &kept, &err)) == 1) {
        cr_assert(gx_test_now() - t0 < 5, "the link stayed full");
        zmq_poll(NULL, 0, 2);
    }
    cr_assert_eq(rc, 0, "%s", err.msg);
    zmq_msg_close(&kept);
    cr_assert_eq(drain_all(n.router, true, sent, body_len, 1000), sent + 1);

    // Router to dealer, the dealer not reading; this time the refused
    // body is closed, never sent.
    sent = fill_link(n.router, "slow", 4, body_len, &kept);
    cr_assert(sent >= 1);
    zmq_msg_close(&kept);
    cr_assert_eq(drain_all(n.dealer, false, 0, body_len, 200), sent);
    net_close(&n);
}

Test(net, a_full_link_says_1_over_inproc)
{
    full_link(false, 100);
}

Test(net, a_full_link_says_1_over_tcp)
{
    full_link(true, 256 << 10);
}

// ---- CURVE -------------------------------------------------------------------

static void *
curve_socket(void *ctx, int type, const gx_curve_t *c, bool server)
{
    gx_error_t err = { 0 };
    void *s = gx_net_socket(ctx, type, "cw", 2, c, server, &err);
    cr_assert_not_null(s, "%s", err.msg);
    return s;
}

Test(net, curve_keys_from_one_secret_talk_and_from_another_do_not,
     .init = auth_setup)
{
    if (!zmq_has("curve")) {
        cr_skip_test("libzmq has no CURVE");
        return;
    }
    gx_curve_t c, other;
    gx_auth_curve("s3cret", 6, &c);
    gx_auth_curve("s3cres", 6, &other);
    void *ctx = zmq_ctx_new();
    void *r = curve_socket(ctx, ZMQ_ROUTER, &c, true);
    cr_assert_eq(zmq_bind(r, "tcp://127.0.0.1:*"), 0);
    char ep[128];
    size_t len = sizeof ep;
    cr_assert_eq(zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &len), 0);
    // A client holding another secret's keys: nothing reaches the server.
    void *bad = curve_socket(ctx, ZMQ_DEALER, &other, false);
    cr_assert_eq(zmq_connect(bad, ep), 0);
    gx_error_t err = { 0 };
    gx_frame_t h = hdr_of(GX_N_REGISTER, 1, 0, 1);
    gx_net_send_hdr(bad, NULL, 0, &h, &err);
    gx_netmsg_t in;
    cr_assert_eq(recv_wait(r, true, &in, &err, 300), 1);
    close_quietly(bad);
    // The right keys: the header arrives.
    void *good = curve_socket(ctx, ZMQ_DEALER, &c, false);
    cr_assert_eq(zmq_connect(good, ep), 0);
    cr_assert_eq(gx_net_send_hdr(good, NULL, 0, &h, &err), 0, "%s", err.msg);
    cr_assert_eq(recv_wait(r, true, &in, &err, 5000), 0, "%s", err.msg);
    assert_frame_eq(&in.f, &h);
    cr_assert_eq(in.id_len, 2);
    gx_netmsg_close(&in);
    close_quietly(good);
    close_quietly(r);
    zmq_ctx_term(ctx);
}

// ---- Seals -----------------------------------------------------------------

// Both ends of one link: the dealer's end writes 1 and accepts 0 (a
// worker toward its master), the router's the other way round.
static void
seals_of(gx_seal_t *w, gx_seal_t *m, uint8_t key_byte)
{
    uint8_t key[32];
    memset(key, key_byte, sizeof key);
    gx_seal_init(w, key, 1, 0);
    gx_seal_init(m, key, 0, 1);
}

// Sends a sealed DATA (body of n bytes from seed) dealer -> router and
// returns it received, unopened.
static void
sealed_up(net_t *n, gx_seal_t *w, size_t len, uint64_t seed, gx_netmsg_t *in)
{
    gx_error_t err;
    gx_frame_t h = hdr_of(GX_N_DATA, 0, 42, 7);
    zmq_msg_t body;
    body_of(&body, len, seed);
    cr_assert_eq(gx_net_send_sealed(n->dealer, NULL, 0, &h, &body, w, NULL,
                                    &err), 0, "%s", err.msg);
    zmq_msg_close(&body);
    cr_assert_eq(recv_wait(n->router, true, in, &err, 5000), 0, "%s", err.msg);
    cr_assert(in->sealed);
    cr_assert(in->has_body);
}

Test(seal, a_sealed_message_opens_once_and_in_order, .init = auth_setup)
{
    net_t n;
    net_open(&n, false, "w", 1, 0);
    gx_seal_t w, m;
    seals_of(&w, &m, 9);
    gx_netmsg_t in[3];
    for (int i = 0; i < 3; i++)
        sealed_up(&n, &w, 1000 + (size_t)i, (uint64_t)i, &in[i]);
    cr_assert_eq(w.sent, 3);
    cr_assert_eq(in[0].from, 1);
    cr_assert_eq(in[2].seq, 2);
    // In order: each opens once; again, it is a replay.
    cr_assert_eq(gx_net_open(&m, &in[0]), GX_OPEN_OK);
    cr_assert_eq(gx_net_open(&m, &in[0]), GX_OPEN_REPLAY);
    // The third before the second: the second was lost.
    cr_assert_eq(gx_net_open(&m, &in[2]), GX_OPEN_GAP);
    cr_assert_eq(gx_net_open(&m, &in[1]), GX_OPEN_OK);
    cr_assert_eq(gx_net_open(&m, &in[2]), GX_OPEN_OK);
    cr_assert_eq(m.heard, 3);
    // The sender's own end does not take its own messages (reflection).
    gx_seal_t again = w;
    again.heard = 0;
    cr_assert_eq(gx_net_open(&again, &in[0]), GX_OPEN_FORGED);
    // Another key: forged.
    gx_seal_t other, ow;
    seals_of(&ow, &other, 10);
    cr_assert_eq(gx_net_open(&other, &in[0]), GX_OPEN_FORGED);
    for (int i = 0; i < 3; i++)
        gx_netmsg_close(&in[i]);
    net_close(&n);
}

// Every byte of the header, the body and the seal counts: one bit changed
// anywhere, and the message is forged. The body's own tag too: a message
// whose body was swapped and whose body tag was copied from another
// message of the link is forged. (The tag is compared whole: a
// change in its last byte is caught like one in its first.)
Test(seal, one_bit_anywhere_is_forged, .init = auth_setup)
{
    net_t n;
    net_open(&n, false, "w", 1, 0);
    gx_seal_t w, m;
    seals_of(&w, &m, 3);
    gx_netmsg_t in;
    sealed_up(&n, &w, 300, 5, &in);
    gx_seal_t fresh = m;
    cr_assert_eq(gx_net_open(&fresh, &in), GX_OPEN_OK);
    struct { uint8_t *p; size_t n; const char *what; } parts[] = {
        { zmq_msg_data(&in.hdr), zmq_msg_size(&in.hdr), "header" },
        { zmq_msg_data(&in.body), zmq_msg_size(&in.body), "body" },
        { in.tag, sizeof in.tag, "tag" },
        { in.body_tag, sizeof in.body_tag, "body's tag" },
        { (uint8_t *)&in.seq, sizeof in.seq, "sequence number" },
    };
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
        for (size_t i = 0; i < parts[k].n; i++) {
            uint8_t bit = (uint8_t)(1u << (i % 8));
            parts[k].p[i] ^= bit;
            fresh = m;
            gx_open_t v = gx_net_open(&fresh, &in);
            parts[k].p[i] ^= bit;
            cr_assert_eq(v, GX_OPEN_FORGED, "%s byte %zu: %d", parts[k].what,
                         i, (int)v);
        }
    // The body of another message of this link (same length), under this
    // message's header and tags: forged.
    gx_netmsg_t other;
    sealed_up(&n, &w, 300, 6, &other);
    uint8_t *keep = gx_test_copy(zmq_msg_data(&in.body), 300);
    memcpy(zmq_msg_data(&in.body), zmq_msg_data(&other.body), 300);
    fresh = m;
    cr_assert_eq(gx_net_open(&fresh, &in), GX_OPEN_FORGED);
    memcpy(zmq_msg_data(&in.body), keep, 300);
    free(keep);
    gx_netmsg_close(&other);
    // A sequence number changed is never taken as the next one: forged.
    in.seq ^= 1;
    fresh = m;
    cr_assert_eq(gx_net_open(&fresh, &in), GX_OPEN_FORGED);
    in.seq ^= 1;
    // Another claimed sender: forged.
    in.from = 2;
    fresh = m;
    fresh.peer = 2;
    cr_assert_eq(gx_net_open(&fresh, &in), GX_OPEN_FORGED);
    in.from = 1;
    fresh = m;
    cr_assert_eq(gx_net_open(&fresh, &in), GX_OPEN_OK);
    gx_netmsg_close(&in);
    net_close(&n);
}

Test(seal, unsealed_and_full_links_spend_nothing, .init = auth_setup)
{
    net_t n;
    net_open(&n, false, "w", 1, 0);
    gx_seal_t w, m;
    seals_of(&w, &m, 4);
    gx_error_t err;
    gx_frame_t h = hdr_of(GX_N_BEAT, 0, 0, 0);
    cr_assert_eq(gx_net_send_hdr(n.dealer, NULL, 0, &h, &err), 0);
    gx_netmsg_t in;
    cr_assert_eq(recv_wait(n.router, true, &in, &err, 5000), 0, "%s", err.msg);
    cr_assert_not(in.sealed);
    cr_assert_eq(gx_net_open(&m, &in), GX_OPEN_FORGED);
    cr_assert_eq(m.heard, 0);
    gx_netmsg_close(&in);
    // A link to nobody: the send fails and no sequence number is spent.
    void *lone = zmq_socket(n.ctx, ZMQ_DEALER);
    int hwm = 1;
    zmq_setsockopt(lone, ZMQ_SNDHWM, &hwm, sizeof hwm);
    cr_assert_eq(zmq_connect(lone, "inproc://nobody-there"), 0);
    int rc;
    uint64_t sent = 0;
    while ((rc = gx_net_send_sealed(lone, NULL, 0, &h, NULL, &w, NULL, &err))
           == 0)
        sent++;
    cr_assert_eq(rc, 1);
    cr_assert_eq(w.sent, sent);
    close_quietly(lone);
    net_close(&n);
}

Test(seal, keys_and_proofs_depend_on_their_inputs, .init = auth_setup)
{
    const char *secret = "a-secret-of-24-bytes!!!!";
    uint8_t a[32], b[32];
    gx_auth_peer_key(secret, 24, 77, 1, 2, a);
    gx_auth_peer_key(secret, 24, 77, 2, 1, b);
    cr_assert_arr_eq(a, b, 32, "one key per pair, either way round");
    gx_auth_peer_key(secret, 24, 78, 1, 2, b);
    cr_assert_arr_neq(a, b, 32, "another run, another key");
    gx_auth_peer_key(secret, 24, 77, 1, 3, b);
    cr_assert_arr_neq(a, b, 32, "another pair, another key");
    gx_auth_peer_key(secret, 23, 77, 1, 2, b);
    cr_assert_arr_neq(a, b, 32, "another secret, another key");
}
