/* test_jscan.c - the zero-allocation JSON scanner: what it accepts,
 * refuses and is unsure of, what it extracts, and that every verdict it
 * gives agrees with jansson's json_loadb(JSON_REJECT_DUPLICATES), the
 * parser it stands in for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../support/testrng.h"
#include <jansson.h>

#include "cloud/jscan.h"

/* Scans a copy of exactly len bytes, so that ASan sees any read past the
 * end, and checks a sure verdict against jansson's. */
static enum jscan_result scan_n(const char *text, size_t len, struct jscan_field *f, size_t n)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    enum jscan_result rc = jscan_object(copy, len, f, n);
    free(copy);
    /* Again on the caller's text, so that the fields point into it. */
    assert_int_equal(jscan_object(text, len, f, n), rc);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    bool jansson_object = root && json_is_object(root);
    if (rc == JSCAN_OK && !jansson_object)
        fail_msg("jscan accepts what jansson refuses (%s): %.*s", root ? "not an object" : jerr.text,
                 (int)len, text);
    if (rc == JSCAN_INVALID && jansson_object)
        fail_msg("jscan refuses what jansson accepts: %.*s", (int)len, text);
    json_decref(root);
    return rc;
}

static enum jscan_result scan(const char *text)
{
    return scan_n(text, strlen(text), NULL, 0);
}

/* Strings are scanned eight bytes at a time: every byte that ends a plain
 * run (the closing quote, an escape, a control character, UTF-8, bytes that
 * are not UTF-8), at every offset from a run's start and so at every
 * position within a word and across a word's end, gives the verdict it gives
 * alone, and the value's length is exact. */
static void test_special_bytes_at_every_offset_of_a_string(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        enum jscan_result rc;
    } specials[] = {
        {"", JSCAN_OK},          {"\\n", JSCAN_OK},    {"\\u00e9", JSCAN_OK},
        {"\xc3\xa9", JSCAN_OK},  {"\x7f", JSCAN_OK},     {"\x1f", JSCAN_INVALID},
        {"\x01", JSCAN_INVALID}, {"\xff", JSCAN_INVALID}, {"\xc3", JSCAN_INVALID},
        {"\\x", JSCAN_INVALID},  {"\t", JSCAN_INVALID},
    };
    for (size_t k = 0; k < sizeof specials / sizeof specials[0]; k++) {
        for (size_t before = 0; before < 40; before++) {
            for (size_t after = 0; after < 12; after += 11) {
                char text[128], value[96];
                size_t n = (size_t)snprintf(value, sizeof value, "%.*s%s%.*s", (int)before,
                                            "abcdefghijklmnopqrstuvwxyz0123456789ABCD",
                                            specials[k].bytes, (int)after, "EFGHIJKLMNO");
                size_t len = (size_t)snprintf(text, sizeof text, "{\"v\":\"%s\",\"w\":1}", value);
                struct jscan_field f[] = {{.name = "v", .parent = JSCAN_ROOT},
                                          {.name = "w", .parent = JSCAN_ROOT}};
                enum jscan_result rc = scan_n(text, len, f, 2);
                if (rc != specials[k].rc)
                    fail_msg("verdict %d, expected %d: %s", rc, specials[k].rc, text);
                if (rc == JSCAN_OK) {
                    assert_int_equal(f[0].kind, JSCAN_STRING);
                    assert_int_equal(f[0].len, n);
                    assert_int_equal(f[1].kind, JSCAN_INTEGER);
                }
            }
        }
    }
}

static void test_accepts_well_formed_objects(void **state)
{
    (void)state;
    static const char *const valid[] = {
        "{}", " \t\r\n{ } \n", "{\"a\":1}", "{\"a\":[]}", "{\"a\":[1,2,[3,{}],{\"b\":null}]}",
        "{\"a\":true,\"b\":false,\"c\":null}", "{\"\":\"\"}", "{\"a\" : \"b\" , \"c\" : [ ] }",
        "{\"a\":{\"a\":{\"a\":{}}}}", "{\"x\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
        "{\"x\":\"\\u0041\\u00e9\\u20AC\\uD834\\uDD1E\"}", "{\"x\":\"\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\"}",
        "{\"\xc3\xa9\":1}", "{\"x\":\"\x7f\"}",
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        if (scan(valid[i]) != JSCAN_OK)
            fail_msg("refused: %s", valid[i]);
}

static void test_refuses_malformed_text(void **state)
{
    (void)state;
    static const char *const invalid[] = {
        "", " ", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,\"a\":1}", "{\"a\" 1}",
        "{\"a\":1 \"b\":2}", "{a:1}", "{'a':1}", "{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":[1 2]}",
        "{\"a\":tru}", "{\"a\":truex}", "{\"a\":True}", "{\"a\":nul}", "{\"a\":NaN}",
        "{\"a\":1}}", "{\"a\":[}", "{\"a\":{]}", "{\"a\":\"x}", "{\"a\":\"\\\"}",
        "{} x", "{}{}", "{}\f", "\xef\xbb\xbf{}",
    };
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        if (scan(invalid[i]) != JSCAN_INVALID)
            fail_msg("accepted: %s", invalid[i]);
}

static void test_refuses_values_other_than_an_object(void **state)
{
    (void)state;
    static const char *const others[] = {"[]", "[{}]", "\"x\"", "1", "null", "true"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        assert_int_equal(scan(others[i]), JSCAN_INVALID);
}

static void test_refuses_nul_bytes_anywhere(void **state)
{
    (void)state;
    assert_int_equal(scan_n("{\"a\":\"x\0y\"}", 11, NULL, 0), JSCAN_INVALID);
    assert_int_equal(scan_n("{\0\"a\":1}", 8, NULL, 0), JSCAN_INVALID);
    assert_int_equal(scan_n("{\"a\":1}\0", 8, NULL, 0), JSCAN_INVALID);
    assert_int_equal(scan_n("{\"a\":1,\0\"b\":2}", 14, NULL, 0), JSCAN_INVALID);
}

static void test_nul_after_a_number_or_literal_is_unsure(void **state)
{
    (void)state;
    /* jansson skips one NUL byte that follows a number or a literal (it
     * ungets the byte that ends the token, and a NUL in its look-ahead
     * buffer reads as "nothing buffered"): not decided here. */
    assert_int_equal(scan_n("{\"a\":1\0}", 8, NULL, 0), JSCAN_UNSURE);
    assert_int_equal(scan_n("{\"a\":true\0}", 11, NULL, 0), JSCAN_UNSURE);
    assert_int_equal(scan_n("{\"a\":[null\0]}", 13, NULL, 0), JSCAN_UNSURE);
    assert_int_equal(scan_n("{\"a\":-2.5e1\0\0}", 15, NULL, 0), JSCAN_UNSURE);
}

static void test_refuses_control_characters_in_strings(void **state)
{
    (void)state;
    char text[16];
    for (int c = 1; c < 0x20; c++) {
        snprintf(text, sizeof(text), "{\"a\":\"%c\"}", c);
        assert_int_equal(scan(text), JSCAN_INVALID);
    }
}

static void test_utf8_edge_cases(void **state)
{
    (void)state;
    /* The smallest and largest of each length, and what RFC 3629 forbids. */
    static const char *const good[] = {
        "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
        "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
    };
    static const char *const bad[] = {
        "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80",
        "\xed\xbf\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
        "\xff", "\xfe", "\xc3", "\xe2\x82", "\xf0\x9d\x84", "\xc3\x28", "\xe2\x28\xa1",
    };
    char text[32];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "{\"a\":\"x%sy\"}", good[i]);
        assert_int_equal(scan(text), JSCAN_OK);
        snprintf(text, sizeof(text), "{\"%s\":0}", good[i]);
        assert_int_equal(scan(text), JSCAN_OK);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "{\"a\":\"x%sy\"}", bad[i]);
        if (scan(text) != JSCAN_INVALID)
            fail_msg("accepted bad UTF-8 #%zu in a value", i);
        snprintf(text, sizeof(text), "{\"%s\":0}", bad[i]);
        if (scan(text) != JSCAN_INVALID)
            fail_msg("accepted bad UTF-8 #%zu in a name", i);
        snprintf(text, sizeof(text), "{\"a\":%s}", bad[i]);
        assert_int_equal(scan(text), JSCAN_INVALID);
        /* Cut at the end of the input, inside the sequence. */
        snprintf(text, sizeof(text), "{\"a\":\"%s", bad[i]);
        assert_int_equal(scan(text), JSCAN_INVALID);
    }
}

static void test_escapes(void **state)
{
    (void)state;
    static const char *const good[] = {
        "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0001", "\\u00FF", "\\uffff",
        "\\uD800\\uDC00", "\\udbff\\udfff", "\\uFEFF",
    };
    static const char *const bad[] = {
        "\\", "\\a", "\\x41", "\\U0041", "\\u", "\\u12", "\\u12G4", "\\u0000", "\\uD800",
        "\\uDC00", "\\uDFFF", "\\uD800x", "\\uD800\\n", "\\uD800\\u0041", "\\uD800\\uD800",
        "\\uDC00\\uD800", "\\'", "\\0",
    };
    char text[48];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "{\"a\":\"%s\"}", good[i]);
        if (scan(text) != JSCAN_OK)
            fail_msg("refused escape %s", good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "{\"a\":\"%s\"}", bad[i]);
        if (scan(text) != JSCAN_INVALID)
            fail_msg("accepted escape %s", bad[i]);
    }
}

static void test_numbers(void **state)
{
    (void)state;
    static const char *const good[] = {
        "0", "-0", "1", "-1", "10", "123456789012345678", "-123456789012345678", "0.0", "1.5",
        "-0.25", "1e5", "1E5", "1e+5", "1e-5", "1.5e-300", "1e-400", "0e0", "9.99e299",
        "0.000000000000000000000000000000000000001",
    };
    static const char *const bad[] = {
        "01", "-01", "00", "-", "+1", "1.", ".5", "1.e5", "1e", "1e+", "1e-", "--1", "0x10",
        "1.5.2", "1e5e5", "- 1", "Infinity", "-Infinity",
    };
    /* Past what the scanner decides: jansson refuses some of these (too big
     * integer, real overflow) and takes others. */
    static const char *const unsure[] = {
        "1234567890123456789", "9223372036854775807", "9223372036854775808",
        "-9223372036854775809", "1e400", "1e301", "-1e999", "1.5e300", "0.1e00000000400",
    };
    char text[96];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "{\"n\":%s}", good[i]);
        if (scan(text) != JSCAN_OK)
            fail_msg("refused number %s", good[i]);
        snprintf(text, sizeof(text), "{\"n\":[%s,%s]}", good[i], good[i]);
        assert_int_equal(scan(text), JSCAN_OK);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "{\"n\":%s}", bad[i]);
        if (scan(text) != JSCAN_INVALID)
            fail_msg("accepted number %s", bad[i]);
    }
    for (size_t i = 0; i < sizeof(unsure) / sizeof(unsure[0]); i++) {
        snprintf(text, sizeof(text), "{\"n\":%s}", unsure[i]);
        if (scan(text) != JSCAN_UNSURE)
            fail_msg("decided on number %s", unsure[i]);
    }
}

static void test_number_kinds_and_text(void **state)
{
    (void)state;
    struct jscan_field f[] = {{.name = "i", .parent = JSCAN_ROOT},
                              {.name = "r", .parent = JSCAN_ROOT}};
    const char *text = "{\"i\":-42,\"r\":2.5e3}";
    assert_int_equal(scan_n(text, strlen(text), f, 2), JSCAN_OK);
    assert_int_equal(f[0].kind, JSCAN_INTEGER);
    assert_int_equal(f[0].len, 3);
    assert_memory_equal(f[0].value, "-42", 3);
    assert_int_equal(f[1].kind, JSCAN_REAL);
    assert_memory_equal(f[1].value, "2.5e3", 5);
}

/* n arrays, then n objects: {"a":[[...{"b":{"b":...}}...]]}. */
static char *nested(int n)
{
    char *t = malloc((size_t)n * 12 + 16);
    assert_non_null(t);
    size_t len = 0;
    len += (size_t)sprintf(t, "{\"a\":");
    for (int i = 0; i < n - 1; i++)
        len += (size_t)sprintf(t + len, "[");
    len += (size_t)sprintf(t + len, "0");
    for (int i = 0; i < n - 1; i++)
        len += (size_t)sprintf(t + len, "]");
    sprintf(t + len, "}");
    return t;
}

static void test_depth_limit(void **state)
{
    (void)state;
    char *at_limit = nested(JSCAN_MAX_DEPTH);
    char *beyond = nested(JSCAN_MAX_DEPTH + 1);
    char *far_beyond = nested(3000); /* also past jansson's own limit (2048) */
    assert_int_equal(scan(at_limit), JSCAN_OK);
    assert_int_equal(scan(beyond), JSCAN_UNSURE);
    assert_int_equal(scan(far_beyond), JSCAN_UNSURE);
    free(at_limit);
    free(beyond);
    free(far_beyond);
    /* Unbalanced nesting is refused, not unsure, when within the limit. */
    assert_int_equal(scan("{\"a\":[[[[]]]}"), JSCAN_INVALID);
    assert_int_equal(scan("{\"a\":[[[[]]]]]}"), JSCAN_INVALID);
}

static void test_refuses_duplicate_names_at_any_level(void **state)
{
    (void)state;
    assert_int_equal(scan("{\"a\":1,\"a\":1}"), JSCAN_INVALID);
    assert_int_equal(scan("{\"type\":\"x\",\"b\":2,\"type\":\"x\"}"), JSCAN_INVALID);
    assert_int_equal(scan("{\"o\":{\"k\":1,\"k\":2}}"), JSCAN_INVALID);
    assert_int_equal(scan("{\"o\":[{\"k\":1},{\"k\":1,\"j\":0,\"k\":3}]}"), JSCAN_INVALID);
    assert_int_equal(scan("{\"\":1,\"\":2}"), JSCAN_INVALID);
}

static void test_same_name_in_different_objects_is_no_duplicate(void **state)
{
    (void)state;
    assert_int_equal(scan("{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":2}}"), JSCAN_OK);
    assert_int_equal(scan("{\"o\":[{\"k\":1},{\"k\":2}],\"k\":3}"), JSCAN_OK);
    assert_int_equal(scan("{\"ab\":1,\"a\":2,\"b\":3,\"abc\":4}"), JSCAN_OK);
}

static void test_escaped_names_are_unsure(void **state)
{
    (void)state;
    /* "\u0061" is "a" to jansson's duplicate check: not decided here. */
    assert_int_equal(scan("{\"a\":1,\"\\u0061\":1}"), JSCAN_UNSURE);
    assert_int_equal(scan("{\"\\u0074ype\":\"x\"}"), JSCAN_UNSURE);
}

static void test_many_names_are_unsure(void **state)
{
    (void)state;
    char text[2048];
    size_t len = (size_t)sprintf(text, "{");
    for (int i = 0; i <= JSCAN_MAX_KEYS; i++)
        len += (size_t)sprintf(text + len, "%s\"k%d\":%d", i ? "," : "", i, i);
    sprintf(text + len, "}");
    assert_int_equal(scan(text), JSCAN_UNSURE);
}

static void test_every_truncation_is_refused(void **state)
{
    (void)state;
    const char *text = "{\"type\":\"ice-candidate\",\"sessionId\":\"AAAAAAAAAAAAAAAAAAAAAA\","
                       "\"candidate\":{\"candidate\":\"candidate:1 \\u00e9 \xc3\xa9\",\"sdpMid\":"
                       "\"0\",\"sdpMLineIndex\":0,\"x\":[true,false,null,-1.5e3]}}";
    size_t len = strlen(text);
    assert_int_equal(scan_n(text, len, NULL, 0), JSCAN_OK);
    for (size_t cut = 0; cut < len; cut++)
        if (scan_n(text, cut, NULL, 0) != JSCAN_INVALID)
            fail_msg("accepted the first %zu bytes", cut);
}

static void test_extracts_named_members(void **state)
{
    (void)state;
    struct jscan_field f[] = {
        {.name = "type", .parent = JSCAN_ROOT},      /* 0 */
        {.name = "sessionId", .parent = JSCAN_ROOT}, /* 1 */
        {.name = "candidate", .parent = JSCAN_ROOT}, /* 2 */
        {.name = "candidate", .parent = 2},          /* 3 */
        {.name = "sdpMid", .parent = 2},             /* 4 */
        {.name = "missing", .parent = JSCAN_ROOT},   /* 5 */
        {.name = "sdp", .parent = 2},                /* 6 */
        {.name = "list", .parent = JSCAN_ROOT},      /* 7 */
    };
    const char *text = "{ \"list\" : [{\"type\":\"no\"}], \"type\":\"ice-candidate\","
                       "\"candidate\":{\"x\":{\"sdpMid\":\"deeper\"},\"candidate\":\"c\\n1\","
                       "\"sdpMid\":null},\"sessionId\":\"S\"}";
    assert_int_equal(scan_n(text, strlen(text), f, 8), JSCAN_OK);
    assert_true(jscan_string_is(&f[0], "ice-candidate"));
    assert_true(jscan_string_is(&f[1], "S"));
    assert_int_equal(f[2].kind, JSCAN_OBJECT);
    assert_int_equal(f[2].value[0], '{');
    assert_int_equal(f[2].value[f[2].len - 1], '}');
    assert_int_equal(f[3].kind, JSCAN_STRING);
    assert_true(f[3].escaped);
    assert_int_equal(f[3].len, 4);
    assert_false(jscan_string_is(&f[3], "c\n1"));
    assert_int_equal(f[4].kind, JSCAN_NULL); /* the one in "candidate", not in "x" */
    assert_int_equal(f[5].kind, JSCAN_ABSENT);
    assert_int_equal(f[6].kind, JSCAN_ABSENT);
    assert_int_equal(f[7].kind, JSCAN_ARRAY);
    assert_int_equal(f[7].len, strlen("[{\"type\":\"no\"}]"));
}

static void test_members_of_a_non_object_are_absent(void **state)
{
    (void)state;
    struct jscan_field f[] = {{.name = "offer", .parent = JSCAN_ROOT},
                              {.name = "type", .parent = 0}};
    const char *text = "{\"offer\":[{\"type\":\"offer\"}]}";
    assert_int_equal(scan_n(text, strlen(text), f, 2), JSCAN_OK);
    assert_int_equal(f[0].kind, JSCAN_ARRAY);
    assert_int_equal(f[1].kind, JSCAN_ABSENT);
}

/* ---- random documents against jansson ---- */

static uint64_t rng = 0x243f6a8885a308d3ULL;
static uint64_t rnd(void) { return testrng_next(&rng); }
static size_t below(size_t n) { return testrng_below(&rng, n); }

static void put(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n < cap) {
        memcpy(buf + *len, s, n);
        *len += n;
    }
}

static void gen_string(char *buf, size_t cap, size_t *len)
{
    static const char *const parts[] = {
        "a", "type", "k", "\\n", "\\u0041", "\\uD83D\\uDE00", "\\u0000", "\\uDC00", "\xc3\xa9",
        "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xed\xa0\x80", "\xc0\xaf", "\x7f", " ", "\\\"", "\\/",
    };
    put(buf, cap, len, "\"");
    size_t n = below(4);
    for (size_t i = 0; i < n; i++)
        put(buf, cap, len, parts[below(rnd() % 4 ? 3 : sizeof(parts) / sizeof(parts[0]))]);
    put(buf, cap, len, "\"");
}

static void gen_value(char *buf, size_t cap, size_t *len, int depth)
{
    static const char *const scalars[] = {
        "0", "-0", "17", "-3.25", "1e3", "2E-7", "123456789012345678", "99999999999999999999",
        "1e400", "true", "false", "null",
    };
    size_t pick = depth > 36 ? 2 + below(2) : below(5);
    if (pick == 0 || pick == 1) {
        bool object = pick == 0;
        put(buf, cap, len, object ? "{" : "[");
        size_t n = below(5);
        for (size_t i = 0; i < n; i++) {
            if (i)
                put(buf, cap, len, ",");
            if (object) {
                gen_string(buf, cap, len);
                put(buf, cap, len, below(8) ? ":" : " : ");
            }
            gen_value(buf, cap, len, depth + 1);
        }
        put(buf, cap, len, object ? "}" : "]");
    } else if (pick == 2) {
        gen_string(buf, cap, len);
    } else {
        put(buf, cap, len, scalars[below(sizeof(scalars) / sizeof(scalars[0]))]);
    }
}

static void test_random_documents_agree_with_jansson(void **state)
{
    (void)state;
    char buf[8192];
    unsigned long counts[3] = {0};
    for (int round = 0; round < 200000; round++) {
        size_t len = 0;
        put(buf, sizeof(buf), &len, "{");
        size_t n = below(6);
        for (size_t i = 0; i < n; i++) {
            if (i)
                put(buf, sizeof(buf), &len, ",");
            gen_string(buf, sizeof(buf), &len);
            put(buf, sizeof(buf), &len, ":");
            gen_value(buf, sizeof(buf), &len, 1);
        }
        put(buf, sizeof(buf), &len, "}");
        /* Sometimes one byte changed, dropped or cut. */
        if (len && below(3) == 0) {
            size_t at = below(len);
            switch (below(3)) {
            case 0: buf[at] = (char)below(256); break;
            case 1: memmove(buf + at, buf + at + 1, len - at - 1); len--; break;
            default: len = at; break;
            }
        }
        counts[scan_n(buf, len, NULL, 0)]++; /* scan_n fails on any disagreement */
    }
    print_message("jscan on 200000 random documents: %lu ok, %lu invalid, %lu unsure\n",
                  counts[JSCAN_OK], counts[JSCAN_INVALID], counts[JSCAN_UNSURE]);
    assert_true(counts[JSCAN_OK] > 10000 && counts[JSCAN_INVALID] > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_well_formed_objects),
        cmocka_unit_test(test_special_bytes_at_every_offset_of_a_string),
        cmocka_unit_test(test_refuses_malformed_text),
        cmocka_unit_test(test_refuses_values_other_than_an_object),
        cmocka_unit_test(test_refuses_nul_bytes_anywhere),
        cmocka_unit_test(test_nul_after_a_number_or_literal_is_unsure),
        cmocka_unit_test(test_refuses_control_characters_in_strings),
        cmocka_unit_test(test_utf8_edge_cases),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_number_kinds_and_text),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_refuses_duplicate_names_at_any_level),
        cmocka_unit_test(test_same_name_in_different_objects_is_no_duplicate),
        cmocka_unit_test(test_escaped_names_are_unsure),
        cmocka_unit_test(test_many_names_are_unsure),
        cmocka_unit_test(test_every_truncation_is_refused),
        cmocka_unit_test(test_extracts_named_members),
        cmocka_unit_test(test_members_of_a_non_object_are_absent),
        cmocka_unit_test(test_random_documents_agree_with_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
