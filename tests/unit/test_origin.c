/* test_origin.c - unit tests of the --allowed-origins list: parsing, and
 * the Origin check against the Host header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cloud/origin.h"

static struct origin_list *list;
static char err[160];

static void parse_ok(const char *text)
{
    origin_list_free(list);
    list = NULL;
    if (origin_list_parse(text, &list, err, sizeof err) != 0)
        fail_msg("'%s' refused: %s", text, err);
}

static int teardown(void **state)
{
    (void)state;
    origin_list_free(list);
    list = NULL;
    return 0;
}

static void test_requests_without_origin_always_pass(void **state)
{
    (void)state;
    parse_ok("");
    assert_true(origin_allowed(list, NULL, "cloud.example.com"));
    assert_true(origin_allowed(list, NULL, NULL));
    assert_false(origin_allowed(list, "https://cloud.example.com", "cloud.example.com"));
}

static void test_self_is_the_host_header_with_its_port(void **state)
{
    (void)state;
    parse_ok("self");
    assert_true(origin_allowed(list, "http://127.0.0.1:3001", "127.0.0.1:3001"));
    assert_true(origin_allowed(list, "https://Cloud.Example.com", "cloud.example.COM"));
    assert_true(origin_allowed(list, "https://cloud.example.com", "cloud.example.com:443"));
    assert_true(origin_allowed(list, "http://cloud.example.com", "cloud.example.com:80"));
    assert_true(origin_allowed(list, "http://[::1]:3001", "[::1]:3001"));
    assert_false(origin_allowed(list, "http://127.0.0.1:8080", "127.0.0.1:3001"));
    assert_false(origin_allowed(list, "https://evil.example", "cloud.example.com"));
    assert_false(
        origin_allowed(list, "https://cloud.example.com.evil.example", "cloud.example.com"));
    assert_false(origin_allowed(list, "https://cloud.example.com", NULL));
    assert_false(origin_allowed(list, "https://cloud.example.com", "cloud.example.com:8443"));
}

static void test_loopback_is_any_page_of_this_machine(void **state)
{
    (void)state;
    parse_ok("loopback");
    assert_true(origin_allowed(list, "http://localhost:5173", "cloud.example.com"));
    assert_true(origin_allowed(list, "http://127.0.0.1:8080", "127.0.0.1:3001"));
    assert_true(origin_allowed(list, "http://127.9.9.9", "x"));
    assert_true(origin_allowed(list, "http://[::1]:8080", "x"));
    assert_false(origin_allowed(list, "http://localhost.evil.example", "x"));
    assert_false(origin_allowed(list, "http://128.0.0.1", "x"));
    assert_false(origin_allowed(list, "http://[::2]", "x"));
}

static void test_listed_origins_match_exactly_after_normalizing(void **state)
{
    (void)state;
    parse_ok("https://Viewer.Example.com, http://lab.example:8080/, https://x.example:443");
    assert_true(origin_allowed(list, "https://viewer.example.com", "cloud"));
    assert_true(origin_allowed(list, "https://viewer.example.com:443", "cloud"));
    assert_true(origin_allowed(list, "http://lab.example:8080", "cloud"));
    assert_true(origin_allowed(list, "https://x.example", "cloud"));
    assert_false(origin_allowed(list, "http://viewer.example.com", "cloud"));
    assert_false(origin_allowed(list, "https://viewer.example.com:8443", "cloud"));
    assert_false(origin_allowed(list, "http://lab.example", "cloud"));
    /* Not self unless listed. */
    assert_false(origin_allowed(list, "https://cloud", "cloud"));
}

static void test_star_allows_every_origin_even_null(void **state)
{
    (void)state;
    parse_ok("*");
    assert_true(origin_allowed(list, "https://anything.example", "cloud"));
    assert_true(origin_allowed(list, "null", "cloud"));
}

static void test_null_and_malformed_origins_are_refused(void **state)
{
    (void)state;
    parse_ok("self,loopback");
    const char *bad[] = {"null", "", "127.0.0.1:3001", "http://", "http://127.0.0.1:3001/path",
                         "http://user@127.0.0.1:3001", "http://127.0.0.1:99999",
                         "http://127.0.0.1:", "http://127.0.0.1 :3001", "1http://127.0.0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (origin_allowed(list, bad[i], "127.0.0.1:3001"))
            fail_msg("Origin '%s' was allowed", bad[i]);
}

static void test_bad_items_are_refused_naming_the_item(void **state)
{
    (void)state;
    const char *bad[] = {"viewer.example.com", "https://x.example/app", "https://x.example:0",
                         "self,,loopback", "ftp//x", "https://x.example:70000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct origin_list *l = (struct origin_list *)1;
        if (origin_list_parse(bad[i], &l, err, sizeof err) != -1)
            fail_msg("'%s' was accepted", bad[i]);
        assert_null(l);
        assert_true(strlen(err) > 0);
    }
    struct origin_list *l;
    assert_int_equal(origin_list_parse("https://a.example,  nope", &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "'nope'"));
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_requests_without_origin_always_pass),
        T(test_self_is_the_host_header_with_its_port),
        T(test_loopback_is_any_page_of_this_machine),
        T(test_listed_origins_match_exactly_after_normalizing),
        T(test_star_allows_every_origin_even_null),
        T(test_null_and_malformed_origins_are_refused),
        T(test_bad_items_are_refused_naming_the_item),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
