/* test_fdlimit.c - the open-file limit fitted to the server's need
 * (fdlimit.h): raised from below, lowered from above, capped at the hard
 * limit, and left alone when it fits. Runs in its own process, so the
 * limits it sets are its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "cloud/fdlimit.h"

static uint64_t soft_limit(void)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    return rl.rlim_cur;
}

static uint64_t hard_limit(void)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    return rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : rl.rlim_max;
}

static void set_soft(uint64_t n)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = (rlim_t)n;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

static void test_the_need_counts_both_transports_and_the_reserve(void **state)
{
    (void)state;
    assert_int_equal(fdlimit_need(10000, 10000), 20000 + FDLIMIT_RESERVE);
    assert_int_equal(fdlimit_need(100, 0), 100 + FDLIMIT_RESERVE);
    assert_int_equal(fdlimit_need(-1, -1), FDLIMIT_RESERVE);
}

static void test_a_limit_above_the_need_is_lowered(void **state)
{
    (void)state;
    if (hard_limit() < 4000)
        skip();
    set_soft(4000);
    struct fdlimit_change ch;
    assert_int_equal(fdlimit_fit(2000, &ch), 0);
    assert_int_equal(ch.before, 4000);
    assert_int_equal(ch.after, 2000);
    assert_false(ch.capped);
    assert_int_equal(soft_limit(), 2000);
}

static void test_a_limit_below_the_need_is_raised(void **state)
{
    (void)state;
    if (hard_limit() < 3000)
        skip();
    set_soft(1100);
    struct fdlimit_change ch;
    assert_int_equal(fdlimit_fit(3000, &ch), 0);
    assert_int_equal(ch.before, 1100);
    assert_int_equal(ch.after, 3000);
    assert_int_equal(soft_limit(), 3000);
    /* Fitting again changes nothing. */
    assert_int_equal(fdlimit_fit(3000, &ch), 0);
    assert_int_equal(ch.before, 3000);
    assert_int_equal(ch.after, 3000);
}

static void test_a_need_above_the_hard_limit_stops_there(void **state)
{
    (void)state;
    uint64_t hard = hard_limit();
    if (hard == UINT64_MAX || hard < 1100)
        skip(); /* no finite hard limit to stop at */
    set_soft(1100);
    struct fdlimit_change ch;
    assert_int_equal(fdlimit_fit(hard + 1000, &ch), 0);
    assert_true(ch.capped);
    assert_int_equal(ch.hard, hard);
    assert_int_equal(ch.after, hard);
    assert_int_equal(soft_limit(), hard);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_need_counts_both_transports_and_the_reserve),
        cmocka_unit_test(test_a_limit_above_the_need_is_lowered),
        cmocka_unit_test(test_a_limit_below_the_need_is_raised),
        cmocka_unit_test(test_a_need_above_the_hard_limit_stops_there),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
