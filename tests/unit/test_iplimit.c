/* test_iplimit.c - unit tests of the per-address accounting: the
 * connection cap, the new-connection bucket, failed authentications and
 * bans, exempt addresses, IPv6 /64s, and forgetting idle addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cloud/iplimit.h"

static struct netlist exempt;
static struct iplimit *lim;

static struct netlist_addr addr(const char *text)
{
    struct netlist_addr a;
    assert_int_equal(netlist_addr_parse(text, strlen(text), &a), 0);
    return a;
}

/* A limit of 3 open, 5 new per second, 4 failures a minute, bans of 60 s;
 * 127.0.0.0/8 and ::1 exempt. */
static int setup(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(netlist_parse("127.0.0.0/8,::1", &exempt, err, sizeof err), 0);
    const struct iplimit_config cfg = {
        .max_connections = 3,
        .max_new_per_second = 5,
        .max_auth_failures = 4,
        .ban_seconds = 60,
        .exempt = &exempt,
    };
    lim = iplimit_new(&cfg);
    return lim ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    iplimit_free(lim);
    lim = NULL;
    return 0;
}

static enum iplimit_verdict connect_at(const char *text, int64_t now, struct iplimit_entry **e)
{
    struct netlist_addr a = addr(text);
    return iplimit_connect(lim, &a, now, e);
}

static void test_connections_past_the_cap_are_refused_until_one_closes(void **state)
{
    (void)state;
    struct iplimit_entry *e[3], *x;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(connect_at("192.0.2.1", 1000, &e[i]), IPLIMIT_OK);
        assert_non_null(e[i]);
    }
    assert_int_equal(connect_at("192.0.2.1", 1000, &x), IPLIMIT_TOO_MANY);
    assert_null(x);
    /* Another address is not affected. */
    assert_int_equal(connect_at("192.0.2.2", 1000, &x), IPLIMIT_OK);
    iplimit_disconnect(lim, x, 1000);
    iplimit_disconnect(lim, e[0], 1000);
    assert_int_equal(connect_at("192.0.2.1", 1000, &x), IPLIMIT_OK);
    assert_ptr_equal(x, e[1]); /* one entry per address */
}

static void test_new_connections_are_a_bucket_refilled_per_second(void **state)
{
    (void)state;
    struct iplimit_entry *e;
    /* Five at once (each closed again, so the cap does not interfere). */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(connect_at("198.51.100.7", 5000, &e), IPLIMIT_OK);
        iplimit_disconnect(lim, e, 5000);
    }
    assert_int_equal(connect_at("198.51.100.7", 5000, &e), IPLIMIT_TOO_FAST);
    /* A refused attempt spends nothing: 200 ms later one more is due. */
    assert_int_equal(connect_at("198.51.100.7", 5199, &e), IPLIMIT_TOO_FAST);
    assert_int_equal(connect_at("198.51.100.7", 5200, &e), IPLIMIT_OK);
    iplimit_disconnect(lim, e, 5200);
    assert_int_equal(connect_at("198.51.100.7", 5200, &e), IPLIMIT_TOO_FAST);
    /* After a second the whole burst is back, never more. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(connect_at("198.51.100.7", 60000, &e), IPLIMIT_OK);
        iplimit_disconnect(lim, e, 60000);
    }
    assert_int_equal(connect_at("198.51.100.7", 60000, &e), IPLIMIT_TOO_FAST);
}

static void test_failures_over_the_limit_ban_the_address_for_ban_seconds(void **state)
{
    (void)state;
    struct netlist_addr a = addr("203.0.113.9"), b = addr("203.0.113.10");
    struct iplimit_entry *e;
    for (int i = 0; i < 4; i++)
        assert_false(iplimit_auth_failure(lim, &a, 1000 + i));
    assert_false(iplimit_banned(lim, &a, 1004));
    assert_true(iplimit_auth_failure(lim, &a, 1005)); /* the fifth */
    assert_true(iplimit_banned(lim, &a, 1005));
    assert_int_equal(iplimit_connect(lim, &a, 2000, &e), IPLIMIT_BANNED);
    assert_null(e);
    assert_true(iplimit_auth_failure(lim, &a, 2000)); /* still banned */
    /* Others still sign in. */
    assert_int_equal(iplimit_connect(lim, &b, 2000, &e), IPLIMIT_OK);
    assert_false(iplimit_banned(lim, &b, 2000));
    /* The ban ends 60 s after it began, with a fresh count. */
    assert_true(iplimit_banned(lim, &a, 61004));
    assert_false(iplimit_banned(lim, &a, 61005));
    assert_int_equal(iplimit_connect(lim, &a, 61005, &e), IPLIMIT_OK);
    assert_false(iplimit_auth_failure(lim, &a, 61006));
}

static void test_failures_spread_over_minutes_never_ban(void **state)
{
    (void)state;
    struct netlist_addr a = addr("203.0.113.20");
    int64_t t = 0;
    for (int i = 0; i < 20; i++, t += 16000) /* four a minute, a minute apart */
        assert_false(iplimit_auth_failure(lim, &a, t));
    assert_false(iplimit_banned(lim, &a, t));
}

static void test_exempt_addresses_are_never_counted_or_banned(void **state)
{
    (void)state;
    struct iplimit_entry *e;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(connect_at("127.0.0.1", 1000, &e), IPLIMIT_OK);
        assert_null(e);
        assert_int_equal(connect_at("::1", 1000, &e), IPLIMIT_OK);
        assert_null(e);
    }
    struct netlist_addr lo = addr("127.0.0.5");
    for (int i = 0; i < 100; i++)
        assert_false(iplimit_auth_failure(lim, &lo, 1000));
    assert_false(iplimit_banned(lim, &lo, 1000));
    assert_int_equal(iplimit_count(lim), 0);
}

static void test_ipv6_addresses_count_per_slash_64(void **state)
{
    (void)state;
    struct iplimit_entry *e;
    assert_int_equal(connect_at("2001:db8:1:2::1", 1000, &e), IPLIMIT_OK);
    assert_int_equal(connect_at("2001:db8:1:2::2", 1000, &e), IPLIMIT_OK);
    assert_int_equal(connect_at("2001:db8:1:2:ffff::3", 1000, &e), IPLIMIT_OK);
    assert_int_equal(connect_at("2001:db8:1:2:abcd::4", 1000, &e), IPLIMIT_TOO_MANY);
    /* The next /64 is another address. */
    assert_int_equal(connect_at("2001:db8:1:3::1", 1000, &e), IPLIMIT_OK);
    assert_int_equal(iplimit_count(lim), 2);
}

static void test_idle_addresses_are_forgotten_and_busy_ones_kept(void **state)
{
    (void)state;
    struct iplimit_entry *open, *e;
    assert_int_equal(connect_at("192.0.2.50", 1000, &open), IPLIMIT_OK);
    for (int i = 0; i < 200; i++) {
        char text[32];
        snprintf(text, sizeof text, "10.0.%d.%d", i / 250, i % 250 + 1);
        assert_int_equal(connect_at(text, 1000, &e), IPLIMIT_OK);
        iplimit_disconnect(lim, e, 1000);
    }
    struct netlist_addr failed = addr("192.0.2.51");
    iplimit_auth_failure(lim, &failed, 1000);
    assert_int_equal(iplimit_count(lim), 202);
    /* Two seconds on: buckets are full, only the open connection and the
     * failure window remain. */
    assert_int_equal(connect_at("192.0.2.52", 3000, &e), IPLIMIT_OK);
    iplimit_disconnect(lim, e, 3000);
    assert_int_equal(iplimit_count(lim), 3);
    /* After the failure window, only the open connection's address. */
    assert_int_equal(connect_at("192.0.2.53", 62000, &e), IPLIMIT_OK);
    iplimit_disconnect(lim, e, 62000);
    assert_int_equal(iplimit_count(lim), 2);
    iplimit_disconnect(lim, open, 62000);
    iplimit_disconnect(lim, NULL, 62000); /* nothing to undo */
}

static void test_a_ban_is_remembered_while_idle(void **state)
{
    (void)state;
    struct netlist_addr a = addr("198.51.100.99");
    for (int i = 0; i < 5; i++)
        iplimit_auth_failure(lim, &a, 1000);
    struct iplimit_entry *e;
    /* Sweeps run meanwhile (other addresses connect): the ban stays. */
    for (int64_t t = 2000; t < 60000; t += 5000) {
        assert_int_equal(connect_at("192.0.2.77", t, &e), IPLIMIT_OK);
        iplimit_disconnect(lim, e, t);
        assert_true(iplimit_banned(lim, &a, t));
    }
    assert_int_equal(connect_at("192.0.2.77", 61001, &e), IPLIMIT_OK);
    iplimit_disconnect(lim, e, 61001);
    assert_false(iplimit_banned(lim, &a, 61001));
}

static void test_zero_limits_mean_no_limit(void **state)
{
    (void)state;
    const struct iplimit_config cfg = {.ban_seconds = 60};
    struct iplimit *open = iplimit_new(&cfg);
    assert_non_null(open);
    struct netlist_addr a = addr("192.0.2.1");
    struct iplimit_entry *e;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(iplimit_connect(open, &a, 1000, &e), IPLIMIT_OK);
    for (int i = 0; i < 1000; i++)
        assert_false(iplimit_auth_failure(open, &a, 1000));
    iplimit_free(open);
}

static void test_every_refusal_has_a_reason(void **state)
{
    (void)state;
    assert_string_equal(iplimit_reason(IPLIMIT_OK), "");
    assert_non_null(strstr(iplimit_reason(IPLIMIT_TOO_MANY), "too many connections"));
    assert_non_null(strstr(iplimit_reason(IPLIMIT_TOO_FAST), "new connections"));
    assert_non_null(strstr(iplimit_reason(IPLIMIT_BANNED), "failed authentications"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_connections_past_the_cap_are_refused_until_one_closes),
        T(test_new_connections_are_a_bucket_refilled_per_second),
        T(test_failures_over_the_limit_ban_the_address_for_ban_seconds),
        T(test_failures_spread_over_minutes_never_ban),
        T(test_exempt_addresses_are_never_counted_or_banned),
        T(test_ipv6_addresses_count_per_slash_64),
        T(test_idle_addresses_are_forgotten_and_busy_ones_kept),
        T(test_a_ban_is_remembered_while_idle),
        T(test_zero_limits_mean_no_limit),
        T(test_every_refusal_has_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
