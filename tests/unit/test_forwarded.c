/* test_forwarded.c - unit tests of the client address behind trusted
 * proxies (X-Forwarded-For). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cloud/forwarded.h"

static struct netlist trusted; /* 10.0.0.0/8 and fd00::/8: the proxies */

static int setup(void **state)
{
    (void)state;
    char err[128];
    return netlist_parse("10.0.0.0/8,fd00::/8", &trusted, err, sizeof err);
}

/* The client forwarded_client() finds, as text; from_xff says where from. */
static const char *client_of(const char *peer, const char *xff, bool *from_xff)
{
    static char text[NETLIST_ADDR_TEXT];
    struct netlist_addr p, c;
    assert_int_equal(netlist_addr_parse(peer, strlen(peer), &p), 0);
    *from_xff = forwarded_client(&p, xff, &trusted, &c);
    netlist_addr_format(&c, text, sizeof text);
    return text;
}

static void test_untrusted_peer_is_the_client_whatever_it_claims(void **state)
{
    (void)state;
    bool x;
    assert_string_equal(client_of("192.0.2.7", "203.0.113.1", &x), "192.0.2.7");
    assert_false(x);
    assert_string_equal(client_of("192.0.2.7", "10.0.0.1, 203.0.113.1", &x), "192.0.2.7");
    assert_false(x);
}

static void test_trusted_peer_without_header_is_the_client(void **state)
{
    (void)state;
    bool x;
    assert_string_equal(client_of("10.1.1.1", NULL, &x), "10.1.1.1");
    assert_false(x);
    assert_string_equal(client_of("10.1.1.1", "", &x), "10.1.1.1");
    assert_false(x);
}

static void test_rightmost_untrusted_entry_is_the_client(void **state)
{
    (void)state;
    bool x;
    assert_string_equal(client_of("10.1.1.1", "203.0.113.5", &x), "203.0.113.5");
    assert_true(x);
    /* The client forged "198.51.100.1"; the proxies appended the rest. */
    assert_string_equal(client_of("10.1.1.1", "198.51.100.1, 203.0.113.5, 10.2.2.2", &x),
                        "203.0.113.5");
    assert_true(x);
    /* Several headers joined by lws: "a, b" or "a,b". */
    assert_string_equal(client_of("10.1.1.1", "198.51.100.1,203.0.113.5", &x), "203.0.113.5");
}

static void test_all_trusted_entries_give_the_leftmost(void **state)
{
    (void)state;
    bool x;
    assert_string_equal(client_of("10.1.1.1", "10.3.3.3, 10.2.2.2", &x), "10.3.3.3");
    assert_true(x);
}

static void test_a_garbage_entry_ends_the_chain_of_trust(void **state)
{
    (void)state;
    bool x;
    assert_string_equal(client_of("10.1.1.1", "203.0.113.5, unknown, 10.2.2.2", &x), "10.2.2.2");
    assert_true(x);
    assert_string_equal(client_of("10.1.1.1", "203.0.113.5, nonsense", &x), "10.1.1.1");
    assert_false(x);
    assert_string_equal(client_of("10.1.1.1", "203.0.113.5,", &x), "10.1.1.1");
    assert_false(x);
}

static void test_ports_brackets_and_v4_mapped_forms_are_read(void **state)
{
    (void)state;
    bool x;
    assert_string_equal(client_of("10.1.1.1", "203.0.113.5:4711", &x), "203.0.113.5");
    assert_string_equal(client_of("10.1.1.1", "[2001:db8::5]:443", &x), "2001:db8::5");
    assert_string_equal(client_of("10.1.1.1", "[2001:db8::6]", &x), "2001:db8::6");
    assert_string_equal(client_of("10.1.1.1", "2001:db8::7", &x), "2001:db8::7");
    assert_string_equal(client_of("::ffff:10.1.1.1", "::ffff:203.0.113.8", &x), "203.0.113.8");
    assert_string_equal(client_of("fd00::1", "  203.0.113.9  ", &x), "203.0.113.9");
    /* Malformed brackets and ports end the chain. */
    assert_string_equal(client_of("10.1.1.1", "[2001:db8::5", &x), "10.1.1.1");
    assert_string_equal(client_of("10.1.1.1", "[2001:db8::5]x", &x), "10.1.1.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untrusted_peer_is_the_client_whatever_it_claims),
        cmocka_unit_test(test_trusted_peer_without_header_is_the_client),
        cmocka_unit_test(test_rightmost_untrusted_entry_is_the_client),
        cmocka_unit_test(test_all_trusted_entries_give_the_leftmost),
        cmocka_unit_test(test_a_garbage_entry_ends_the_chain_of_trust),
        cmocka_unit_test(test_ports_brackets_and_v4_mapped_forms_are_read),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
