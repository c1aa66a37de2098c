/* test_netlist.c - unit tests of address lists: parsing IPv4/IPv6
 * addresses and networks, membership as an allow-list and as a set, single
 * addresses, local addresses (candidate lines: test_candidate.c). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "common/netlist.h"

static struct netlist list;
static char err[256];

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("'%s' does not contain '%s'", haystack, needle);
}

static void parse_ok(const char *text)
{
    if (netlist_parse(text, &list, err, sizeof err) != 0)
        fail_msg("'%s' was refused: %s", text != NULL ? text : "(null)", err);
}

/* ---- parsing ---- */

static void test_null_and_empty_give_an_empty_list_that_allows_all(void **state)
{
    (void)state;
    parse_ok(NULL);
    assert_int_equal(list.count, 0);
    assert_true(netlist_allows(&list, "192.0.2.1"));
    assert_true(netlist_allows(&list, "2001:db8::1"));
    assert_true(netlist_allows(&list, "abc.local"));
    parse_ok("");
    assert_int_equal(list.count, 0);
}

static void test_single_ipv4_address_is_a_host_entry(void **state)
{
    (void)state;
    parse_ok("192.168.1.5");
    assert_int_equal(list.count, 1);
    assert_int_equal(list.entries[0].family, AF_INET);
    assert_int_equal(list.entries[0].prefix, 32);
    assert_true(netlist_allows(&list, "192.168.1.5"));
    assert_false(netlist_allows(&list, "192.168.1.6"));
    assert_false(netlist_allows(&list, "::1"));
}

static void test_ipv4_cidr_covers_its_network_only(void **state)
{
    (void)state;
    parse_ok("10.0.0.0/8");
    assert_true(netlist_allows(&list, "10.0.0.1"));
    assert_true(netlist_allows(&list, "10.255.255.255"));
    assert_false(netlist_allows(&list, "11.0.0.1"));
    assert_false(netlist_allows(&list, "9.255.255.255"));
    parse_ok("192.168.4.0/22");
    assert_true(netlist_allows(&list, "192.168.7.200"));
    assert_false(netlist_allows(&list, "192.168.8.1"));
}

static void test_host_bits_in_a_cidr_are_masked(void **state)
{
    (void)state;
    parse_ok("192.168.1.77/24");
    uint8_t want[4] = {192, 168, 1, 0};
    assert_memory_equal(list.entries[0].addr, want, 4);
    assert_true(netlist_allows(&list, "192.168.1.1"));
    parse_ok("fd12:3456::abcd/16");
    assert_true(netlist_allows(&list, "fd12::1"));
    assert_false(netlist_allows(&list, "fd13::1"));
}

static void test_ipv6_addresses_and_networks(void **state)
{
    (void)state;
    parse_ok("::1, fd00::/8, 2001:db8:1::/48");
    assert_int_equal(list.count, 3);
    assert_int_equal(list.entries[0].family, AF_INET6);
    assert_int_equal(list.entries[0].prefix, 128);
    assert_true(netlist_allows(&list, "::1"));
    assert_true(netlist_allows(&list, "fd00:1234::5"));
    assert_true(netlist_allows(&list, "fdff:ffff::1"));
    assert_false(netlist_allows(&list, "fe80::1"));
    assert_true(netlist_allows(&list, "2001:db8:1:ffff::1"));
    assert_false(netlist_allows(&list, "2001:db8:2::1"));
    assert_false(netlist_allows(&list, "127.0.0.1"));
}

static void test_ipv6_zone_in_a_candidate_address_is_ignored(void **state)
{
    (void)state;
    parse_ok("fe80::/10");
    assert_true(netlist_allows(&list, "fe80::1%eth0"));
}

static void test_loopback_is_allowed_only_when_listed(void **state)
{
    (void)state;
    parse_ok("127.0.0.0/8,::1");
    assert_true(netlist_allows(&list, "127.0.0.1"));
    assert_true(netlist_allows(&list, "127.1.2.3"));
    assert_true(netlist_allows(&list, "::1"));
    parse_ok("192.168.0.0/16");
    assert_false(netlist_allows(&list, "127.0.0.1"));
    assert_false(netlist_allows(&list, "::1"));
}

static void test_prefix_zero_covers_the_whole_family(void **state)
{
    (void)state;
    parse_ok("0.0.0.0/0");
    assert_true(netlist_allows(&list, "203.0.113.9"));
    assert_false(netlist_allows(&list, "2001:db8::1"));
    parse_ok("::/0");
    assert_true(netlist_allows(&list, "2001:db8::1"));
    assert_false(netlist_allows(&list, "203.0.113.9"));
}

static void test_spaces_around_items_are_allowed(void **state)
{
    (void)state;
    parse_ok("  10.1.2.3 ,\t192.168.0.0/16  ");
    assert_int_equal(list.count, 2);
    assert_true(netlist_allows(&list, "10.1.2.3"));
}

static void test_names_are_never_inside_a_non_empty_list(void **state)
{
    (void)state;
    parse_ok("0.0.0.0/0,::/0");
    assert_false(netlist_allows(&list, "3f2a9c1e-1111-2222-3333-444455556666.local"));
    assert_false(netlist_allows(&list, "example.com"));
    assert_false(netlist_allows(&list, ""));
    assert_false(netlist_allows(&list, NULL));
}

static void test_bad_items_are_refused_naming_the_item(void **state)
{
    (void)state;
    const struct {
        const char *text, *needle;
    } bad[] = {
        {"10.0.0.1,banana", "'banana' is not an IPv4 or IPv6 address"},
        {"300.1.1.1", "'300.1.1.1' is not an IPv4 or IPv6 address"},
        {"10.0.0.0/33", "'10.0.0.0/33': prefix length must be 0..32"},
        {"fd00::/129", "'fd00::/129': prefix length must be 0..128"},
        {"10.0.0.0/", "prefix length must be 0..32"},
        {"10.0.0.0/-1", "prefix length must be 0..32"},
        {"10.0.0.0/8x", "prefix length must be 0..32"},
        {"10.0.0.0/0008", "prefix length"},
        {"/8", "is not an IPv4 or IPv6 address"},
        {"10.0.0.1,,10.0.0.2", "empty item"},
        {"10.0.0.1,", "empty item"},
        {"fe80::1%eth0", "is not an IPv4 or IPv6 address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        list.count = 99;
        if (netlist_parse(bad[i].text, &list, err, sizeof err) != -1)
            fail_msg("'%s' was accepted", bad[i].text);
        assert_contains(err, bad[i].needle);
        assert_int_equal(list.count, 0);
    }
}

static void test_more_than_sixteen_items_are_refused(void **state)
{
    (void)state;
    char text[512] = "";
    for (int i = 1; i <= NETLIST_MAX; i++) {
        char item[24];
        snprintf(item, sizeof item, "%s10.0.0.%d", i > 1 ? "," : "", i);
        strcat(text, item);
    }
    parse_ok(text);
    assert_int_equal(list.count, NETLIST_MAX);
    strcat(text, ",10.0.0.17");
    assert_int_equal(netlist_parse(text, &list, err, sizeof err), -1);
    assert_contains(err, "too many items (max 16)");
    assert_contains(err, "10.0.0.17");
}

/* ---- local addresses ---- */

static void test_local_addresses_include_loopback_when_listed(void **state)
{
    (void)state;
    char out[8][46];
    parse_ok("127.0.0.0/8");
    size_t n = netlist_local_addresses(&list, out, 8);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++)
        assert_true(netlist_allows(&list, out[i]));
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= strcmp(out[i], "127.0.0.1") == 0;
    assert_true(found);
}

static void test_local_addresses_of_empty_list_or_foreign_net_are_none(void **state)
{
    (void)state;
    char out[8][46];
    parse_ok(NULL);
    assert_int_equal(netlist_local_addresses(&list, out, 8), 0);
    parse_ok("198.51.100.0/24"); /* TEST-NET-2: on no real interface */
    assert_int_equal(netlist_local_addresses(&list, out, 8), 0);
    parse_ok("127.0.0.0/8");
    assert_int_equal(netlist_local_addresses(&list, out, 0), 0);
}

/* ---- single addresses and sets ---- */

static struct netlist_addr addr_of(const char *text)
{
    struct netlist_addr a;
    assert_int_equal(netlist_addr_parse(text, strlen(text), &a), 0);
    return a;
}

static void test_empty_list_contains_nothing(void **state)
{
    (void)state;
    parse_ok("");
    struct netlist_addr a = addr_of("127.0.0.1");
    assert_false(netlist_contains(&list, &a));
    assert_false(netlist_contains(NULL, &a));
}

static void test_contains_matches_networks_of_either_family(void **state)
{
    (void)state;
    parse_ok("127.0.0.0/8,::1,10.1.0.0/16");
    struct netlist_addr in[] = {addr_of("127.0.0.2"), addr_of("::1"), addr_of("10.1.255.3")};
    struct netlist_addr out[] = {addr_of("128.0.0.1"), addr_of("::2"), addr_of("10.2.0.1")};
    for (size_t i = 0; i < 3; i++) {
        assert_true(netlist_contains(&list, &in[i]));
        assert_false(netlist_contains(&list, &out[i]));
    }
}

static void test_addr_parse_turns_v4_mapped_into_ipv4(void **state)
{
    (void)state;
    struct netlist_addr a = addr_of("::ffff:192.0.2.7");
    assert_int_equal(a.family, AF_INET);
    char text[NETLIST_ADDR_TEXT];
    netlist_addr_format(&a, text, sizeof text);
    assert_string_equal(text, "192.0.2.7");
    parse_ok("192.0.2.0/24");
    assert_true(netlist_contains(&list, &a));
    a = addr_of("2001:DB8::0001");
    netlist_addr_format(&a, text, sizeof text);
    assert_string_equal(text, "2001:db8::1");
}

static void test_addr_parse_refuses_what_is_not_a_bare_literal(void **state)
{
    (void)state;
    const char *bad[] = {"", "localhost", "1.2.3", "1.2.3.4:80", "[::1]", "fe80::1%eth0",
                         "1.2.3.4 ", "::1/128", "256.1.1.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct netlist_addr a;
        if (netlist_addr_parse(bad[i], strlen(bad[i]), &a) != -1)
            fail_msg("'%s' parsed as an address", bad[i]);
        assert_int_equal(a.family, 0);
    }
    struct netlist_addr zero = {0};
    char text[NETLIST_ADDR_TEXT];
    netlist_addr_format(&zero, text, sizeof text);
    assert_string_equal(text, "?");
    /* Only len bytes are read: "10.0.0.1" inside a longer text. */
    struct netlist_addr a;
    assert_int_equal(netlist_addr_parse("10.0.0.1, 10.0.0.2", 8, &a), 0);
    netlist_addr_format(&a, text, sizeof text);
    assert_string_equal(text, "10.0.0.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_and_empty_give_an_empty_list_that_allows_all),
        cmocka_unit_test(test_single_ipv4_address_is_a_host_entry),
        cmocka_unit_test(test_ipv4_cidr_covers_its_network_only),
        cmocka_unit_test(test_host_bits_in_a_cidr_are_masked),
        cmocka_unit_test(test_ipv6_addresses_and_networks),
        cmocka_unit_test(test_ipv6_zone_in_a_candidate_address_is_ignored),
        cmocka_unit_test(test_loopback_is_allowed_only_when_listed),
        cmocka_unit_test(test_prefix_zero_covers_the_whole_family),
        cmocka_unit_test(test_spaces_around_items_are_allowed),
        cmocka_unit_test(test_names_are_never_inside_a_non_empty_list),
        cmocka_unit_test(test_bad_items_are_refused_naming_the_item),
        cmocka_unit_test(test_more_than_sixteen_items_are_refused),
        cmocka_unit_test(test_local_addresses_include_loopback_when_listed),
        cmocka_unit_test(test_local_addresses_of_empty_list_or_foreign_net_are_none),
        cmocka_unit_test(test_empty_list_contains_nothing),
        cmocka_unit_test(test_contains_matches_networks_of_either_family),
        cmocka_unit_test(test_addr_parse_turns_v4_mapped_into_ipv4),
        cmocka_unit_test(test_addr_parse_refuses_what_is_not_a_bare_literal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
