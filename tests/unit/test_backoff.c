/* test_backoff.c - unit tests of the reconnect schedule: exponential
 * ceilings with a cap, full jitter, reset, determinism per seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "robot/backoff.h"

static void test_ceilings_double_from_initial_to_the_cap_and_stay(void **state)
{
    (void)state;
    struct backoff b;
    backoff_init(&b, 0.5, 30, 42);
    const double want[] = {0.5, 1, 2, 4, 8, 16, 30, 30, 30};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_float_equal(backoff_ceiling(&b), want[i], 1e-12);
        backoff_next(&b);
    }
    for (int i = 0; i < 5000; i++)
        backoff_next(&b);
    assert_float_equal(backoff_ceiling(&b), 30, 1e-12);
}

static void test_every_delay_is_within_zero_and_its_ceiling(void **state)
{
    (void)state;
    struct backoff b;
    backoff_init(&b, 0.01, 5, 7);
    for (int i = 0; i < 10000; i++) {
        double ceiling = backoff_ceiling(&b);
        double d = backoff_next(&b);
        assert_true(d >= 0.0);
        assert_true(d <= ceiling);
    }
}

static void test_delays_are_jittered_with_mean_near_half_the_ceiling(void **state)
{
    (void)state;
    struct backoff b;
    backoff_init(&b, 1, 1, 12345); /* a constant ceiling of 1 s */
    const int n = 20000;
    double sum = 0, lo = 1, hi = 0;
    for (int i = 0; i < n; i++) {
        double d = backoff_next(&b);
        sum += d;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    assert_float_equal(sum / n, 0.5, 0.02);
    assert_true(lo < 0.01); /* the whole range is used */
    assert_true(hi > 0.99);
}

static void test_robots_with_different_seeds_do_not_retry_together(void **state)
{
    (void)state;
    struct backoff a, b;
    backoff_init(&a, 1, 1, 1);
    backoff_init(&b, 1, 1, 2);
    int same = 0;
    for (int i = 0; i < 100; i++)
        same += backoff_next(&a) == backoff_next(&b);
    assert_true(same < 5);
}

static void test_reset_starts_the_schedule_over(void **state)
{
    (void)state;
    struct backoff b;
    backoff_init(&b, 0.25, 10, 3);
    for (int i = 0; i < 6; i++)
        backoff_next(&b);
    assert_float_equal(backoff_ceiling(&b), 10, 1e-12);
    backoff_reset(&b);
    assert_int_equal(b.attempt, 0);
    assert_float_equal(backoff_ceiling(&b), 0.25, 1e-12);
    assert_true(backoff_next(&b) <= 0.25);
    assert_float_equal(backoff_ceiling(&b), 0.5, 1e-12);
}

static void test_same_seed_gives_the_same_sequence(void **state)
{
    (void)state;
    struct backoff a, b;
    backoff_init(&a, 0.5, 30, 0xDEADBEEF);
    backoff_init(&b, 0.5, 30, 0xDEADBEEF);
    for (int i = 0; i < 100; i++)
        assert_true(backoff_next(&a) == backoff_next(&b));
}

static void test_seed_zero_is_replaced_and_still_random(void **state)
{
    (void)state;
    struct backoff b;
    backoff_init(&b, 1, 1, 0);
    assert_true(b.rng != 0);
    double first = backoff_next(&b);
    int differ = 0;
    for (int i = 0; i < 50; i++)
        differ += backoff_next(&b) != first;
    assert_true(differ > 45);
}

static void test_cap_equal_to_initial_keeps_a_flat_ceiling(void **state)
{
    (void)state;
    struct backoff b;
    backoff_init(&b, 2, 2, 9);
    for (int i = 0; i < 10; i++) {
        assert_float_equal(backoff_ceiling(&b), 2, 1e-12);
        assert_true(backoff_next(&b) <= 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ceilings_double_from_initial_to_the_cap_and_stay),
        cmocka_unit_test(test_every_delay_is_within_zero_and_its_ceiling),
        cmocka_unit_test(test_delays_are_jittered_with_mean_near_half_the_ceiling),
        cmocka_unit_test(test_robots_with_different_seeds_do_not_retry_together),
        cmocka_unit_test(test_reset_starts_the_schedule_over),
        cmocka_unit_test(test_same_seed_gives_the_same_sequence),
        cmocka_unit_test(test_seed_zero_is_replaced_and_still_random),
        cmocka_unit_test(test_cap_equal_to_initial_keeps_a_flat_ceiling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
