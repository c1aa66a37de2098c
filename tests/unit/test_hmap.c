/* test_hmap.c - unit tests of the SipHash-keyed hash map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/hmap.h"

/* SipHash-2-4 reference outputs (little-endian bytes) for key 00..0f and
 * message 00 01 02 ... of length i, from the SipHash paper's vector table. */
static const uint8_t sip_vectors[64][8] = {
    {0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72}, {0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74},
    {0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d}, {0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85},
    {0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf}, {0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18},
    {0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb}, {0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab},
    {0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93}, {0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e},
    {0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a}, {0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4},
    {0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75}, {0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14},
    {0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7}, {0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1},
    {0xdb, 0x9b, 0xc2, 0x57, 0x7f, 0xcc, 0x2a, 0x3f}, {0x94, 0x47, 0xbe, 0x2c, 0xf5, 0xe9, 0x9a, 0x69},
    {0x9c, 0xd3, 0x8d, 0x96, 0xf0, 0xb3, 0xc1, 0x4b}, {0xbd, 0x61, 0x79, 0xa7, 0x1d, 0xc9, 0x6d, 0xbb},
    {0x98, 0xee, 0xa2, 0x1a, 0xf2, 0x5c, 0xd6, 0xbe}, {0xc7, 0x67, 0x3b, 0x2e, 0xb0, 0xcb, 0xf2, 0xd0},
    {0x88, 0x3e, 0xa3, 0xe3, 0x95, 0x67, 0x53, 0x93}, {0xc8, 0xce, 0x5c, 0xcd, 0x8c, 0x03, 0x0c, 0xa8},
    {0x94, 0xaf, 0x49, 0xf6, 0xc6, 0x50, 0xad, 0xb8}, {0xea, 0xb8, 0x85, 0x8a, 0xde, 0x92, 0xe1, 0xbc},
    {0xf3, 0x15, 0xbb, 0x5b, 0xb8, 0x35, 0xd8, 0x17}, {0xad, 0xcf, 0x6b, 0x07, 0x63, 0x61, 0x2e, 0x2f},
    {0xa5, 0xc9, 0x1d, 0xa7, 0xac, 0xaa, 0x4d, 0xde}, {0x71, 0x65, 0x95, 0x87, 0x66, 0x50, 0xa2, 0xa6},
    {0x28, 0xef, 0x49, 0x5c, 0x53, 0xa3, 0x87, 0xad}, {0x42, 0xc3, 0x41, 0xd8, 0xfa, 0x92, 0xd8, 0x32},
    {0xce, 0x7c, 0xf2, 0x72, 0x2f, 0x51, 0x27, 0x71}, {0xe3, 0x78, 0x59, 0xf9, 0x46, 0x23, 0xf3, 0xa7},
    {0x38, 0x12, 0x05, 0xbb, 0x1a, 0xb0, 0xe0, 0x12}, {0xae, 0x97, 0xa1, 0x0f, 0xd4, 0x34, 0xe0, 0x15},
    {0xb4, 0xa3, 0x15, 0x08, 0xbe, 0xff, 0x4d, 0x31}, {0x81, 0x39, 0x62, 0x29, 0xf0, 0x90, 0x79, 0x02},
    {0x4d, 0x0c, 0xf4, 0x9e, 0xe5, 0xd4, 0xdc, 0xca}, {0x5c, 0x73, 0x33, 0x6a, 0x76, 0xd8, 0xbf, 0x9a},
    {0xd0, 0xa7, 0x04, 0x53, 0x6b, 0xa9, 0x3e, 0x0e}, {0x92, 0x59, 0x58, 0xfc, 0xd6, 0x42, 0x0c, 0xad},
    {0xa9, 0x15, 0xc2, 0x9b, 0xc8, 0x06, 0x73, 0x18}, {0x95, 0x2b, 0x79, 0xf3, 0xbc, 0x0a, 0xa6, 0xd4},
    {0xf2, 0x1d, 0xf2, 0xe4, 0x1d, 0x45, 0x35, 0xf9}, {0x87, 0x57, 0x75, 0x19, 0x04, 0x8f, 0x53, 0xa9},
    {0x10, 0xa5, 0x6c, 0xf5, 0xdf, 0xcd, 0x9a, 0xdb}, {0xeb, 0x75, 0x09, 0x5c, 0xcd, 0x98, 0x6c, 0xd0},
    {0x51, 0xa9, 0xcb, 0x9e, 0xcb, 0xa3, 0x12, 0xe6}, {0x96, 0xaf, 0xad, 0xfc, 0x2c, 0xe6, 0x66, 0xc7},
    {0x72, 0xfe, 0x52, 0x97, 0x5a, 0x43, 0x64, 0xee}, {0x5a, 0x16, 0x45, 0xb2, 0x76, 0xd5, 0x92, 0xa1},
    {0xb2, 0x74, 0xcb, 0x8e, 0xbf, 0x87, 0x87, 0x0a}, {0x6f, 0x9b, 0xb4, 0x20, 0x3d, 0xe7, 0xb3, 0x81},
    {0xea, 0xec, 0xb2, 0xa3, 0x0b, 0x22, 0xa8, 0x7f}, {0x99, 0x24, 0xa4, 0x3c, 0xc1, 0x31, 0x57, 0x24},
    {0xbd, 0x83, 0x8d, 0x3a, 0xaf, 0xbf, 0x8d, 0xb7}, {0x0b, 0x1a, 0x2a, 0x32, 0x65, 0xd5, 0x1a, 0xea},
    {0x13, 0x50, 0x79, 0xa3, 0x23, 0x1c, 0xe6, 0x60}, {0x93, 0x2b, 0x28, 0x46, 0xe4, 0xd7, 0x06, 0x66},
    {0xe1, 0x91, 0x5f, 0x5c, 0xb1, 0xec, 0xa4, 0x6c}, {0xf3, 0x25, 0x96, 0x5c, 0xa1, 0x6d, 0x62, 0x9f},
    {0x57, 0x5f, 0xf2, 0x8e, 0x60, 0x38, 0x1b, 0xe5}, {0x72, 0x45, 0x06, 0xeb, 0x4c, 0x32, 0x8a, 0x95},
};

static const uint8_t sip_key[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static uint64_t le64(const uint8_t b[8])
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static uint64_t sip_of_length(size_t len)
{
    uint8_t msg[64];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)i;
    return hmap_siphash(sip_key, msg, len);
}

static void test_siphash_empty_message_matches_reference(void **state)
{
    (void)state;
    assert_true(hmap_siphash(sip_key, NULL, 0) == 0x726fdb47dd0e0e31ULL);
}

static void test_siphash_boundary_lengths_match_reference(void **state)
{
    (void)state;
    /* Spelled out: a tail of 1 and 7 bytes, one exact word, a word plus the
     * longest tail, and the longest vector. */
    assert_true(sip_of_length(1) == 0x74f839c593dc67fdULL);
    assert_true(sip_of_length(7) == 0xab0200f58b01d137ULL);
    assert_true(sip_of_length(8) == 0x93f5f5799a932462ULL);
    assert_true(sip_of_length(15) == 0xa129ca6149be45e5ULL);
    assert_true(sip_of_length(63) == 0x958a324ceb064572ULL);
}

static void test_siphash_all_64_reference_vectors_match(void **state)
{
    (void)state;
    for (size_t len = 0; len < 64; len++) {
        uint64_t want = le64(sip_vectors[len]);
        uint64_t got = sip_of_length(len);
        if (got != want)
            fail_msg("length %zu: got %016llx, want %016llx", len, (unsigned long long)got,
                     (unsigned long long)want);
    }
}

static int map_setup(void **state)
{
    *state = hmap_new();
    return *state == NULL ? -1 : 0;
}

static int map_teardown(void **state)
{
    hmap_free(*state);
    return 0;
}

static void test_hmap_get_returns_value_put(void **state)
{
    struct hmap *m = *state;
    int a = 1, b = 2;
    assert_int_equal(hmap_put(m, "alpha", 5, &a), 0);
    assert_int_equal(hmap_put(m, "beta", 4, &b), 0);
    assert_ptr_equal(hmap_get(m, "alpha", 5), &a);
    assert_ptr_equal(hmap_get(m, "beta", 4), &b);
    assert_int_equal(hmap_count(m), 2);
}

static void test_hmap_get_of_absent_key_is_null(void **state)
{
    struct hmap *m = *state;
    int a = 1;
    assert_null(hmap_get(m, "alpha", 5));
    assert_int_equal(hmap_put(m, "alpha", 5, &a), 0);
    assert_null(hmap_get(m, "alph", 4));
    assert_null(hmap_get(m, "alphaa", 6));
}

static void test_hmap_duplicate_put_returns_1_and_keeps_first_value(void **state)
{
    struct hmap *m = *state;
    int a = 1, b = 2;
    char copy[] = "robot-1";
    assert_int_equal(hmap_put(m, "robot-1", 7, &a), 0);
    assert_int_equal(hmap_put(m, copy, 7, &b), 1);
    assert_ptr_equal(hmap_get(m, "robot-1", 7), &a);
    assert_int_equal(hmap_count(m), 1);
}

static void test_hmap_put_refuses_null_value(void **state)
{
    struct hmap *m = *state;
    assert_int_equal(hmap_put(m, "k", 1, NULL), -1);
    assert_int_equal(hmap_count(m), 0);
}

static void test_hmap_remove_returns_value_and_forgets_key(void **state)
{
    struct hmap *m = *state;
    int a = 1;
    assert_int_equal(hmap_put(m, "alpha", 5, &a), 0);
    assert_ptr_equal(hmap_remove(m, "alpha", 5), &a);
    assert_null(hmap_get(m, "alpha", 5));
    assert_null(hmap_remove(m, "alpha", 5));
    assert_int_equal(hmap_count(m), 0);
}

static void test_hmap_remove_of_absent_key_is_null(void **state)
{
    struct hmap *m = *state;
    int a = 1;
    assert_int_equal(hmap_put(m, "alpha", 5, &a), 0);
    assert_null(hmap_remove(m, "beta", 4));
    assert_int_equal(hmap_count(m), 1);
}

/* Small map, many keys: probe runs overlap, so removing from the middle of
 * a run must leave every other key of the run reachable. */
static void test_hmap_remove_keeps_colliding_entries_reachable(void **state)
{
    struct hmap *m = *state;
    enum { N = 6 };
    char keys[N][16];
    int vals[N];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        vals[i] = i;
        assert_int_equal(hmap_put(m, keys[i], strlen(keys[i]), &vals[i]), 0);
    }
    for (int r = 0; r < N; r++) {
        assert_ptr_equal(hmap_remove(m, keys[r], strlen(keys[r])), &vals[r]);
        for (int i = 0; i < N; i++) {
            void *want = i <= r ? NULL : &vals[i];
            assert_ptr_equal(hmap_get(m, keys[i], strlen(keys[i])), want);
        }
    }
}

static void test_hmap_100k_inserts_and_removes_keep_lookups_right(void **state)
{
    struct hmap *m = *state;
    enum { N = 100000 };
    char (*keys)[16] = calloc(N, sizeof *keys);
    int *vals = calloc(N, sizeof *vals);
    assert_non_null(keys);
    assert_non_null(vals);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "key-%d", i);
        vals[i] = i;
        assert_int_equal(hmap_put(m, keys[i], strlen(keys[i]), &vals[i]), 0);
    }
    assert_int_equal(hmap_count(m), N);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(hmap_get(m, keys[i], strlen(keys[i])), &vals[i]);

    /* Remove the even keys, then check all; then the odd ones, so the map
     * shrinks through every size back down. */
    for (int i = 0; i < N; i += 2)
        assert_ptr_equal(hmap_remove(m, keys[i], strlen(keys[i])), &vals[i]);
    assert_int_equal(hmap_count(m), N / 2);
    for (int i = 0; i < N; i++) {
        void *want = i % 2 == 0 ? NULL : &vals[i];
        assert_ptr_equal(hmap_get(m, keys[i], strlen(keys[i])), want);
    }
    for (int i = 1; i < N; i += 2) {
        assert_ptr_equal(hmap_remove(m, keys[i], strlen(keys[i])), &vals[i]);
        if (i % 9999 == 0) {
            for (int j = 1; j < N; j += 2) {
                void *want = j <= i ? NULL : &vals[j];
                assert_ptr_equal(hmap_get(m, keys[j], strlen(keys[j])), want);
            }
        }
    }
    assert_int_equal(hmap_count(m), 0);

    /* And it still works after shrinking. */
    assert_int_equal(hmap_put(m, keys[7], strlen(keys[7]), &vals[7]), 0);
    assert_ptr_equal(hmap_get(m, keys[7], strlen(keys[7])), &vals[7]);
    free(keys);
    free(vals);
}

static bool count_visits(const void *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    int *seen = arg;
    seen[*(int *)value]++;
    return true;
}

static void test_hmap_foreach_visits_each_entry_exactly_once(void **state)
{
    struct hmap *m = *state;
    enum { N = 1000 };
    static char keys[N][16];
    static int vals[N];
    int seen[N] = {0};
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "id%d", i);
        vals[i] = i;
        assert_int_equal(hmap_put(m, keys[i], strlen(keys[i]), &vals[i]), 0);
    }
    for (int i = 0; i < N; i += 3)
        assert_non_null(hmap_remove(m, keys[i], strlen(keys[i])));
    hmap_foreach(m, count_visits, seen);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], i % 3 == 0 ? 0 : 1);
}

static bool stop_after_first(const void *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    (void)value;
    (*(int *)arg)++;
    return false;
}

static void test_hmap_foreach_stops_when_visitor_returns_false(void **state)
{
    struct hmap *m = *state;
    int a = 1, b = 2, c = 3, calls = 0;
    assert_int_equal(hmap_put(m, "a", 1, &a), 0);
    assert_int_equal(hmap_put(m, "b", 1, &b), 0);
    assert_int_equal(hmap_put(m, "c", 1, &c), 0);
    hmap_foreach(m, stop_after_first, &calls);
    assert_int_equal(calls, 1);
}

static void test_hmap_keys_with_embedded_nul_and_lengths_are_distinct(void **state)
{
    struct hmap *m = *state;
    static const char k1[] = {'a', '\0', 'b'};
    static const char k2[] = {'a', '\0', 'c'};
    static const char k3[] = {'a', '\0'};
    static const char k4[] = {'a'};
    int v[5] = {0};
    assert_int_equal(hmap_put(m, k1, sizeof k1, &v[0]), 0);
    assert_int_equal(hmap_put(m, k2, sizeof k2, &v[1]), 0);
    assert_int_equal(hmap_put(m, k3, sizeof k3, &v[2]), 0);
    assert_int_equal(hmap_put(m, k4, sizeof k4, &v[3]), 0);
    assert_int_equal(hmap_put(m, "", 0, &v[4]), 0);
    assert_int_equal(hmap_count(m), 5);
    assert_ptr_equal(hmap_get(m, k1, sizeof k1), &v[0]);
    assert_ptr_equal(hmap_get(m, k2, sizeof k2), &v[1]);
    assert_ptr_equal(hmap_get(m, k3, sizeof k3), &v[2]);
    assert_ptr_equal(hmap_get(m, k4, sizeof k4), &v[3]);
    assert_ptr_equal(hmap_get(m, "", 0), &v[4]);
}

static void test_hmap_release_accepts_null(void **state)
{
    (void)state;
    hmap_free(NULL);
}

#define MAP_TEST(f) cmocka_unit_test_setup_teardown(f, map_setup, map_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_empty_message_matches_reference),
        cmocka_unit_test(test_siphash_boundary_lengths_match_reference),
        cmocka_unit_test(test_siphash_all_64_reference_vectors_match),
        MAP_TEST(test_hmap_get_returns_value_put),
        MAP_TEST(test_hmap_get_of_absent_key_is_null),
        MAP_TEST(test_hmap_duplicate_put_returns_1_and_keeps_first_value),
        MAP_TEST(test_hmap_put_refuses_null_value),
        MAP_TEST(test_hmap_remove_returns_value_and_forgets_key),
        MAP_TEST(test_hmap_remove_of_absent_key_is_null),
        MAP_TEST(test_hmap_remove_keeps_colliding_entries_reachable),
        MAP_TEST(test_hmap_100k_inserts_and_removes_keep_lookups_right),
        MAP_TEST(test_hmap_foreach_visits_each_entry_exactly_once),
        MAP_TEST(test_hmap_foreach_stops_when_visitor_returns_false),
        MAP_TEST(test_hmap_keys_with_embedded_nul_and_lengths_are_distinct),
        cmocka_unit_test(test_hmap_release_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
