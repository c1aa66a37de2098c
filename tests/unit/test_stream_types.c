/* test_stream_types.c - unit tests of the streamTypes parser: what each
 * dialect (robot messages, the REST API) accepts, and its exact words for
 * what it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "robot/stream_types.h"

#define MAX 4 /* as PEER_MAX_TRACKS */
#define HAS "this robot has color, depth, infrared-1 and infrared-2"
#define LONG50 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define MSG STREAM_TYPES_MESSAGE
#define REST STREAM_TYPES_REST

struct stream_types_case {
    enum stream_types_dialect dialect;
    const char *json;               /* the value; NULL: no value at all */
    int n;                          /* the result: a count, or -1 */
    enum cam_stream want[MAX];      /* when n > 0 */
    const char *err;                /* when n < 0: the whole text */
};

static const struct stream_types_case cases[] = {
    /* Accepted, in the order given. */
    {.dialect = MSG, .json = "[\"color\"]", .n = 1, .want = {CAM_COLOR}},
    {.dialect = REST, .json = "[\"color\"]", .n = 1, .want = {CAM_COLOR}},
    {.dialect = MSG, .json = "[\"depth\", \"color\"]", .n = 2, .want = {CAM_DEPTH, CAM_COLOR}},
    {.dialect = MSG, .json = "[\"infrared-2\", \"infrared-1\", \"depth\", \"color\"]", .n = 4,
     .want = {CAM_INFRARED2, CAM_INFRARED1, CAM_DEPTH, CAM_COLOR}},
    {.dialect = REST, .json = "[\"infrared\", \"depth\"]", .n = 2,
     .want = {CAM_INFRARED1, CAM_DEPTH}},

    /* Not an array of 1..max. */
    {.dialect = MSG, .json = NULL, .n = -1,
     .err = "'streamTypes' must be an array of 1 to 4 stream types"},
    {.dialect = MSG, .json = "\"color\"", .n = -1,
     .err = "'streamTypes' must be an array of 1 to 4 stream types"},
    {.dialect = MSG, .json = "[]", .n = -1,
     .err = "'streamTypes' must be an array of 1 to 4 stream types"},
    {.dialect = MSG, .json = "[\"color\", \"depth\", \"infrared-1\", \"infrared-2\", \"color\"]",
     .n = -1, .err = "'streamTypes' must be an array of 1 to 4 stream types"},
    {.dialect = REST, .json = "{}", .n = -1,
     .err = "'stream_types' must be an array of 1 to 4 of color, depth, infrared-1, infrared-2"},
    {.dialect = REST, .json = "[]", .n = -1,
     .err = "'stream_types' must be an array of 1 to 4 of color, depth, infrared-1, infrared-2"},

    /* Unknown names: messages show the name as sent (40 bytes at most),
     * the REST API a printable copy or the kind of a non-string. */
    {.dialect = MSG, .json = "[\"bogus\"]", .n = -1, .err = "unknown stream type 'bogus': " HAS},
    {.dialect = MSG, .json = "[\"infrared\"]", .n = -1,
     .err = "unknown stream type 'infrared': " HAS},
    {.dialect = MSG, .json = "[\"Color\"]", .n = -1, .err = "unknown stream type 'Color': " HAS},
    {.dialect = MSG, .json = "[\"color\", 3]", .n = -1,
     .err = "unknown stream type '(not a string)': " HAS},
    {.dialect = MSG, .json = "[\"" LONG50 "\"]", .n = -1,
     .err = "unknown stream type 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': " HAS},
    {.dialect = REST, .json = "[\"bogus\"]", .n = -1, .err = "unknown stream type 'bogus': " HAS},
    {.dialect = REST, .json = "[3]", .n = -1, .err = "unknown stream type 'a number': " HAS},
    {.dialect = REST, .json = "[null]", .n = -1, .err = "unknown stream type 'null': " HAS},
    {.dialect = REST, .json = "[{}]", .n = -1, .err = "unknown stream type 'an object': " HAS},
    {.dialect = REST, .json = "[\"a\\u0001b\"]", .n = -1, .err = "unknown stream type 'a?b': " HAS},
    {.dialect = REST, .json = "[\"" LONG50 LONG50 "\"]", .n = -1,
     .err = "unknown stream type '" LONG50 "aaaaaaaaaaaaaa...': " HAS},

    /* A stream twice, by its wire name. */
    {.dialect = MSG, .json = "[\"color\", \"depth\", \"color\"]", .n = -1,
     .err = "stream type 'color' is listed twice"},
    {.dialect = REST, .json = "[\"infrared\", \"infrared-1\"]", .n = -1,
     .err = "stream type 'infrared-1' is listed twice"},
};

static void test_each_case_gives_its_streams_or_its_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct stream_types_case *c = &cases[i];
        json_t *v = NULL;
        if (c->json) {
            json_error_t jerr;
            v = json_loads(c->json, JSON_DECODE_ANY, &jerr);
            if (!v)
                fail_msg("case %zu: bad test JSON %s: %s", i, c->json, jerr.text);
        }
        enum cam_stream out[MAX];
        char err[256] = "";
        int n = stream_types_parse(v, c->dialect, out, MAX, err, sizeof err);
        if (n != c->n)
            fail_msg("case %zu (%s): got %d (%s), want %d", i, c->json ? c->json : "NULL", n,
                     err, c->n);
        for (int k = 0; k < n; k++)
            if (out[k] != c->want[k])
                fail_msg("case %zu: stream %d is %s, want %s", i, k, cam_stream_name(out[k]),
                         cam_stream_name(c->want[k]));
        if (n < 0 && strcmp(err, c->err) != 0)
            fail_msg("case %zu: error\n  '%s'\nwant\n  '%s'", i, err, c->err);
        json_decref(v);
    }
}

static void test_max_bounds_the_list(void **state)
{
    (void)state;
    json_t *v = json_loads("[\"color\", \"depth\"]", 0, NULL);
    enum cam_stream out[2];
    char err[256];
    assert_int_equal(stream_types_parse(v, STREAM_TYPES_MESSAGE, out, 1, err, sizeof err), -1);
    assert_string_equal(err, "'streamTypes' must be an array of 1 to 1 stream types");
    assert_int_equal(stream_types_parse(v, STREAM_TYPES_MESSAGE, out, 2, err, sizeof err), 2);
    json_decref(v);
}

static void test_one_name_in_each_dialect(void **state)
{
    (void)state;
    assert_int_equal(stream_types_parse_name("depth", STREAM_TYPES_MESSAGE), CAM_DEPTH);
    assert_int_equal(stream_types_parse_name("infrared-2", STREAM_TYPES_REST), CAM_INFRARED2);
    assert_int_equal(stream_types_parse_name("infrared", STREAM_TYPES_REST), CAM_INFRARED1);
    assert_int_equal(stream_types_parse_name("infrared", STREAM_TYPES_MESSAGE), -1);
    assert_int_equal(stream_types_parse_name("", STREAM_TYPES_REST), -1);
    assert_int_equal(stream_types_parse_name(NULL, STREAM_TYPES_REST), -1);
    assert_int_equal(stream_types_parse_name(NULL, STREAM_TYPES_MESSAGE), -1);
}

static void test_a_short_error_buffer_is_truncated_not_overrun(void **state)
{
    (void)state;
    json_t *v = json_loads("[\"bogus\"]", 0, NULL);
    enum cam_stream out[MAX];
    char err[12];
    memset(err, 'x', sizeof err);
    assert_int_equal(stream_types_parse(v, STREAM_TYPES_REST, out, MAX, err, 8), -1);
    assert_string_equal(err, "unknown");
    assert_int_equal(err[8], 'x');
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_case_gives_its_streams_or_its_error),
        cmocka_unit_test(test_max_bounds_the_list),
        cmocka_unit_test(test_one_name_in_each_dialect),
        cmocka_unit_test(test_a_short_error_buffer_is_truncated_not_overrun),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
