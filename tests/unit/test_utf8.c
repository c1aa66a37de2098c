/* test_utf8.c - UTF-8 validation and scrubbing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/utf8.h"

static bool valid(const char *s) { return utf8_valid(s, strlen(s)); }

static void test_ascii_and_multibyte_text_is_valid(void **state)
{
    (void)state;
    assert_true(valid(""));
    assert_true(valid("robot-1"));
    assert_true(valid("caf\xc3\xa9"));              /* é */
    assert_true(valid("\xe2\x82\xac"));             /* € */
    assert_true(valid("\xf0\x9f\xa4\x96"));         /* U+1F916 */
    assert_true(valid("\xf4\x8f\xbf\xbf"));         /* U+10FFFF */
}

static void test_malformed_sequences_are_invalid(void **state)
{
    (void)state;
    assert_false(valid("\x80"));                    /* lone continuation */
    assert_false(valid("\xc3"));                    /* cut after the lead */
    assert_false(valid("\xe2\x82"));                /* cut in the middle */
    assert_false(valid("\xc0\xaf"));                /* overlong '/' */
    assert_false(valid("\xe0\x80\xaf"));            /* overlong, 3 bytes */
    assert_false(valid("\xed\xa0\x80"));            /* surrogate U+D800 */
    assert_false(valid("\xf4\x90\x80\x80"));        /* above U+10FFFF */
    assert_false(valid("\xff"));
}

static void test_embedded_nul_counts_as_text(void **state)
{
    (void)state;
    assert_true(utf8_valid("a\0b", 3));
}

static void test_scrub_replaces_only_the_bad_bytes(void **state)
{
    (void)state;
    char s[] = "ok \xc3\xa9 \xff cut\xe2\x82";
    assert_int_equal(utf8_scrub(s), 3);
    assert_string_equal(s, "ok \xc3\xa9 ? cut??");
    assert_true(valid(s));
}

static void test_scrub_leaves_valid_text_alone(void **state)
{
    (void)state;
    char s[] = "unknown message type '\xf0\x9f\xa4\x96'";
    assert_int_equal(utf8_scrub(s), 0);
    assert_string_equal(s, "unknown message type '\xf0\x9f\xa4\x96'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_and_multibyte_text_is_valid),
        cmocka_unit_test(test_malformed_sequences_are_invalid),
        cmocka_unit_test(test_embedded_nul_counts_as_text),
        cmocka_unit_test(test_scrub_replaces_only_the_bad_bytes),
        cmocka_unit_test(test_scrub_leaves_valid_text_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
