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

/* ASCII is checked eight bytes at a time: a sequence, good or bad, at any
 * offset of a long ASCII run (inside a word, across two, in the tail
 * after the last whole word) gets the verdict it gets alone. */
static void test_sequences_at_every_offset_of_an_ascii_run(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        bool valid;
    } seqs[] = {
        {"\xc3\xa9", true}, {"\xe2\x82\xac", true}, {"\xf0\x9d\x84\x9e", true},
        {"\xff", false},     {"\xc0\xaf", false},      {"\xed\xa0\x80", false},
        {"\xc3", false},     {"\x80", false},          {"\xf4\x90\x80\x80", false},
    };
    char buf[64];
    for (size_t k = 0; k < sizeof seqs / sizeof seqs[0]; k++) {
        size_t n = strlen(seqs[k].bytes);
        for (size_t at = 0; at + n <= 40; at++) {
            for (size_t len = at + n; len <= 40; len += 7) {
                memset(buf, 'a', sizeof buf);
                memcpy(buf + at, seqs[k].bytes, n);
                if (utf8_valid(buf, len) != seqs[k].valid)
                    fail_msg("sequence %zu at %zu of %zu bytes: expected %s", k, at, len,
                             seqs[k].valid ? "valid" : "invalid");
            }
        }
    }
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
        cmocka_unit_test(test_sequences_at_every_offset_of_an_ascii_run),
        cmocka_unit_test(test_embedded_nul_counts_as_text),
        cmocka_unit_test(test_scrub_replaces_only_the_bad_bytes),
        cmocka_unit_test(test_scrub_leaves_valid_text_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
