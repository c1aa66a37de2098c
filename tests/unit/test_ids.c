/* test_ids.c - unit tests of random tokens and peer-chosen name syntax. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/hmap.h"
#include "common/ids.h"

static bool is_base64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

static void test_ids_token_is_22_base64url_characters(void **state)
{
    (void)state;
    char tok[IDS_TOKEN_LEN + 1];
    memset(tok, 'x', sizeof tok);
    assert_int_equal(ids_token(tok), 0);
    assert_int_equal(strlen(tok), 22);
    for (size_t i = 0; i < IDS_TOKEN_LEN; i++)
        assert_true(is_base64url_char(tok[i]));
}

/* 128 bits make 21 full base64 digits and one of 2 bits, so the last
 * character is always one of A, Q, g, w (low 4 bits zero). */
static void test_ids_token_last_character_carries_two_bits(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        char tok[IDS_TOKEN_LEN + 1];
        assert_int_equal(ids_token(tok), 0);
        assert_non_null(strchr("AQgw", tok[IDS_TOKEN_LEN - 1]));
    }
}

static void test_ids_10k_tokens_are_distinct(void **state)
{
    (void)state;
    enum { N = 10000 };
    char (*toks)[IDS_TOKEN_LEN + 1] = calloc(N, sizeof *toks);
    struct hmap *seen = hmap_new();
    assert_non_null(toks);
    assert_non_null(seen);
    for (int i = 0; i < N; i++) {
        assert_int_equal(ids_token(toks[i]), 0);
        assert_int_equal(hmap_put(seen, toks[i], IDS_TOKEN_LEN, toks[i]), 0);
    }
    assert_int_equal(hmap_count(seen), N);
    hmap_free(seen);
    free(toks);
}

static void test_ids_random_bytes_fills_large_buffers(void **state)
{
    (void)state;
    /* 64 KiB: more than one getrandom call may return; the odds of all
     * of it staying zero are nil. */
    enum { N = 65536 };
    uint8_t *buf = calloc(1, N);
    assert_non_null(buf);
    assert_int_equal(ids_random_bytes(buf, N), 0);
    size_t zeros = 0;
    for (size_t i = 0; i < N; i++)
        zeros += buf[i] == 0;
    assert_true(zeros < N / 64);
    free(buf);
}

static void test_ids_valid_name_accepts_allowed_characters(void **state)
{
    (void)state;
    assert_true(ids_valid_name("robot-1", 64));
    assert_true(ids_valid_name("a", 1));
    assert_true(ids_valid_name("Lab_2.arm:left@site-A", 64));
    assert_true(ids_valid_name("0123456789", 10));
}

static void test_ids_valid_name_refuses_empty(void **state)
{
    (void)state;
    assert_false(ids_valid_name("", 64));
    assert_false(ids_valid_name(NULL, 64));
}

static void test_ids_valid_name_refuses_longer_than_max(void **state)
{
    (void)state;
    assert_true(ids_valid_name("abcd", 4));
    assert_false(ids_valid_name("abcde", 4));
}

static void test_ids_valid_name_refuses_space(void **state)
{
    (void)state;
    assert_false(ids_valid_name("robot 1", 64));
    assert_false(ids_valid_name(" robot", 64));
    assert_false(ids_valid_name("robot\t", 64));
}

static void test_ids_valid_name_refuses_slash(void **state)
{
    (void)state;
    assert_false(ids_valid_name("robots/1", 64));
    assert_false(ids_valid_name("..\\x", 64));
}

static void test_ids_valid_name_refuses_unicode(void **state)
{
    (void)state;
    assert_false(ids_valid_name("robot-\xc3\xa9", 64)); /* e acute in UTF-8 */
    assert_false(ids_valid_name("\xe2\x80\x8b", 64));   /* zero-width space */
}

static void test_ids_valid_name_refuses_quotes(void **state)
{
    (void)state;
    assert_false(ids_valid_name("robot\"1", 64));
    assert_false(ids_valid_name("robot'1", 64));
    assert_false(ids_valid_name("<script>", 64));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_token_is_22_base64url_characters),
        cmocka_unit_test(test_ids_token_last_character_carries_two_bits),
        cmocka_unit_test(test_ids_10k_tokens_are_distinct),
        cmocka_unit_test(test_ids_random_bytes_fills_large_buffers),
        cmocka_unit_test(test_ids_valid_name_accepts_allowed_characters),
        cmocka_unit_test(test_ids_valid_name_refuses_empty),
        cmocka_unit_test(test_ids_valid_name_refuses_longer_than_max),
        cmocka_unit_test(test_ids_valid_name_refuses_space),
        cmocka_unit_test(test_ids_valid_name_refuses_slash),
        cmocka_unit_test(test_ids_valid_name_refuses_unicode),
        cmocka_unit_test(test_ids_valid_name_refuses_quotes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
