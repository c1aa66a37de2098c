/* test_bwe.c - unit tests of the bandwidth estimator and the layer choice:
 * synthetic TWCC reports of a link that queues, loses or opens up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "robot/bwe.h"

/* Reports every 100 ms of a viewer that receives min(sent, link) kbit/s;
 * a link slower than what is sent builds a queue (a positive gradient). */
static double run(struct bwe *b, int64_t *now, int reports, double link_kbps, double loss_pct)
{
    double est = bwe_estimate(b);
    for (int i = 0; i < reports; i++) {
        *now += 100;
        double sent = est;
        struct bwe_report r = {.now_ms = *now, .sent_kbps = sent,
                               .recv_kbps = sent < link_kbps ? sent : link_kbps,
                               .loss_pct = loss_pct, .packets_sent = 20,
                               .delay_gradient_us = sent > link_kbps * 1.02 ? 2000 : 0};
        est = bwe_update(b, &r);
    }
    return est;
}

static void test_starts_clamped(void **state)
{
    (void)state;
    struct bwe b;
    bwe_init(&b, 100, 2000, 5000);
    assert_true(bwe_estimate(&b) == 2000);
    bwe_init(&b, 100, 2000, 10);
    assert_true(bwe_estimate(&b) == 100);
}

static void test_converges_under_a_slow_link(void **state)
{
    (void)state;
    struct bwe b;
    int64_t now = 1000;
    bwe_init(&b, 100, 2000, 2000);
    double est = run(&b, &now, 300, 600, 0); /* 30 s behind 600 kbit/s */
    assert_true(b.overuses > 0);
    /* Below the link most of the time, never far above it. */
    assert_true(est <= 600 * 1.2);
    assert_true(est >= 600 * 0.6);
}

static void test_grows_when_the_link_opens(void **state)
{
    (void)state;
    struct bwe b;
    int64_t now = 1000;
    bwe_init(&b, 100, 2000, 2000);
    run(&b, &now, 200, 600, 0);
    double est = run(&b, &now, 300, 5000, 0); /* 30 s with room */
    assert_true(est == 2000); /* back at the ceiling */
}

static void test_loss(void **state)
{
    (void)state;
    struct bwe b;
    int64_t now = 1000;
    bwe_init(&b, 100, 2000, 2000);
    /* 5% holds: between the two thresholds. */
    assert_true(run(&b, &now, 100, 10000, 5) == 2000);
    assert_int_equal(b.loss_drops, 0);
    /* 30% halves and more. */
    double est = run(&b, &now, 10, 10000, 30);
    assert_true(est < 1000);
    assert_true(b.loss_drops == 10);
}

static void test_ignores_bad_reports(void **state)
{
    (void)state;
    struct bwe b;
    bwe_init(&b, 100, 2000, 1000);
    struct bwe_report r = {.now_ms = 5000, .recv_kbps = 10, .sent_kbps = 10, .loss_pct = 150,
                           .packets_sent = 10, .delay_gradient_us = 100000};
    assert_true(bwe_update(&b, &r) == 1000); /* loss over 100% */
    r.loss_pct = 0;
    r.packets_sent = 0;
    assert_true(bwe_update(&b, &r) == 1000); /* no packets */
    r.packets_sent = 10;
    r.recv_kbps = -1;
    assert_true(bwe_update(&b, &r) == 1000);
    assert_int_equal(b.reports, 0);
    r.recv_kbps = 500;
    assert_true(bwe_update(&b, &r) < 1000); /* a valid overuse counts */
    r.now_ms = 4000;                         /* out of order */
    double before = bwe_estimate(&b);
    assert_true(bwe_update(&b, &r) == before);
}

static void test_layers_step_down_at_once_and_up_slowly(void **state)
{
    (void)state;
    const double rates[] = {250, 500, 1000, 2000};
    struct bwe b;
    bwe_init(&b, 100, 2000, 2000);
    int64_t now = 0;
    assert_int_equal(bwe_pick_layer(&b, rates, 4, now), 3);
    b.delay_kbps = 600; /* a drop */
    assert_int_equal(bwe_pick_layer(&b, rates, 4, now += 100), 1);
    /* Room for the next layer (1000 * 1.15) must last BWE_UP_HOLD_MS. */
    b.delay_kbps = 1200;
    assert_int_equal(bwe_pick_layer(&b, rates, 4, now += 100), 1);
    b.delay_kbps = 1200;
    assert_int_equal(bwe_pick_layer(&b, rates, 4, now += BWE_UP_HOLD_MS - 100), 1);
    b.delay_kbps = 1200;
    assert_int_equal(bwe_pick_layer(&b, rates, 4, now += 100), 2);
    assert_int_equal(b.ups, 1);
}

static void test_failed_step_up_backs_off(void **state)
{
    (void)state;
    const double rates[] = {250, 500, 1000};
    struct bwe b;
    bwe_init(&b, 100, 2000, 2000);
    b.layer = 0;
    b.delay_kbps = b.loss_kbps = 600;
    int64_t now = 0;
    bwe_pick_layer(&b, rates, 3, now);
    assert_int_equal(bwe_pick_layer(&b, rates, 3, now += BWE_UP_HOLD_MS), 1);
    b.delay_kbps = 400; /* the step up did not hold */
    assert_int_equal(bwe_pick_layer(&b, rates, 3, now += 500), 0);
    assert_int_equal(b.up_hold_ms, 2 * BWE_UP_HOLD_MS);
    b.delay_kbps = 600;
    bwe_pick_layer(&b, rates, 3, now += 100);
    assert_int_equal(bwe_pick_layer(&b, rates, 3, now += BWE_UP_HOLD_MS), 0); /* not yet */
    assert_int_equal(bwe_pick_layer(&b, rates, 3, now += BWE_UP_HOLD_MS), 1);
}

static void test_slow_link_settles_on_a_layer(void **state)
{
    (void)state;
    const double rates[] = {250, 500, 1000, 2000};
    struct bwe b;
    int64_t now = 0;
    bwe_init(&b, 100, 2000, 2000);
    unsigned changes = 0;
    int last = 3;
    for (int i = 0; i < 600; i++) { /* 60 s behind 600 kbit/s */
        double sent = rates[b.layer < 3 ? b.layer : 3];
        struct bwe_report r = {.now_ms = now += 100, .sent_kbps = sent,
                               .recv_kbps = sent < 600 ? sent : 600, .packets_sent = 20,
                               .delay_gradient_us = sent > 612 ? 2000 : 0};
        bwe_update(&b, &r);
        int l = bwe_pick_layer(&b, rates, 4, now);
        changes += l != last;
        last = l;
    }
    assert_int_equal(last, 1);  /* 500 kbit/s: the one that fits */
    assert_true(changes <= 12); /* a few probes up, backing off, not a flutter */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts_clamped),
        cmocka_unit_test(test_converges_under_a_slow_link),
        cmocka_unit_test(test_grows_when_the_link_opens),
        cmocka_unit_test(test_loss),
        cmocka_unit_test(test_ignores_bad_reports),
        cmocka_unit_test(test_layers_step_down_at_once_and_up_slowly),
        cmocka_unit_test(test_failed_step_up_backs_off),
        cmocka_unit_test(test_slow_link_settles_on_a_layer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
