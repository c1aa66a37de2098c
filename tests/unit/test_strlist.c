/* test_strlist.c - walking comma-separated lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/strlist.h"

/* Joins the items of list as "[a][b]" into out. Returns the item count. */
static int walk(const char *list, char *out, size_t outlen)
{
    const char *cursor = list;
    struct strlist_item it;
    int n = 0;
    out[0] = '\0';
    while (strlist_next(&cursor, &it)) {
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, "[%.*s]", (int)it.len, it.ptr);
        n++;
    }
    return n;
}

static void test_items_are_trimmed(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(walk(" a , b,c ", out, sizeof out), 3);
    assert_string_equal(out, "[a][b][c]");
}

static void test_single_item(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(walk("127.0.0.1", out, sizeof out), 1);
    assert_string_equal(out, "[127.0.0.1]");
}

static void test_empty_items_are_returned(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(walk("a,,b,", out, sizeof out), 4);
    assert_string_equal(out, "[a][][b][]");
    assert_int_equal(walk("", out, sizeof out), 1);
    assert_string_equal(out, "[]");
    assert_int_equal(walk("  ", out, sizeof out), 1);
    assert_string_equal(out, "[]");
}

static void test_null_cursor_ends_the_walk(void **state)
{
    (void)state;
    const char *cursor = NULL;
    struct strlist_item it = {"x", 1};
    assert_false(strlist_next(&cursor, &it));
    assert_string_equal(it.ptr, "x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items_are_trimmed),
        cmocka_unit_test(test_single_item),
        cmocka_unit_test(test_empty_items_are_returned),
        cmocka_unit_test(test_null_cursor_ends_the_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
