/* test_ratelimit.c - a connection's message budget (cloud/ratelimit.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cloud/ratelimit.h"

static void test_no_limit_always_passes(void **state)
{
    (void)state;
    struct ratelimit rl;
    ratelimit_init(&rl, 0, 0);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(ratelimit_take(&rl, 0), RATELIMIT_PASS);
}

static void test_burst_of_twice_the_rate_then_drops_reported_once(void **state)
{
    (void)state;
    struct ratelimit rl;
    ratelimit_init(&rl, 10, 5000);
    for (int i = 0; i < 20; i++)
        assert_int_equal(ratelimit_take(&rl, 5000), RATELIMIT_PASS);
    assert_int_equal(ratelimit_take(&rl, 5000), RATELIMIT_DROP_FIRST);
    for (int i = 0; i < 9; i++)
        assert_int_equal(ratelimit_take(&rl, 5000), RATELIMIT_DROP);
}

static void test_more_drops_than_the_rate_in_a_window_closes(void **state)
{
    (void)state;
    struct ratelimit rl;
    ratelimit_init(&rl, 10, 0);
    for (int i = 0; i < 20; i++)
        ratelimit_take(&rl, 0);
    for (int i = 0; i < 10; i++)
        assert_int_not_equal(ratelimit_take(&rl, 0), RATELIMIT_CLOSE);
    assert_int_equal(ratelimit_take(&rl, 0), RATELIMIT_CLOSE);
    assert_int_equal(rl.dropped - 1, 10);
}

static void test_tokens_refill_with_time_up_to_the_burst(void **state)
{
    (void)state;
    struct ratelimit rl;
    ratelimit_init(&rl, 10, 0);
    for (int i = 0; i < 20; i++)
        ratelimit_take(&rl, 0);
    assert_int_equal(ratelimit_take(&rl, 0), RATELIMIT_DROP_FIRST);
    /* 100 ms: one token; a new window after a second reports again. */
    assert_int_equal(ratelimit_take(&rl, 100), RATELIMIT_PASS);
    assert_int_equal(ratelimit_take(&rl, 100), RATELIMIT_DROP);
    /* An hour idle refills only the burst of 20. */
    for (int i = 0; i < 20; i++)
        assert_int_equal(ratelimit_take(&rl, 3600000), RATELIMIT_PASS);
    assert_int_equal(ratelimit_take(&rl, 3600000), RATELIMIT_DROP_FIRST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_limit_always_passes),
        cmocka_unit_test(test_burst_of_twice_the_rate_then_drops_reported_once),
        cmocka_unit_test(test_more_drops_than_the_rate_in_a_window_closes),
        cmocka_unit_test(test_tokens_refill_with_time_up_to_the_burst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
