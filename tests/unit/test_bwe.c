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
                               .packets_recv = (unsigned)(20 * (1 - loss_pct / 100)),
                               .delay_gradient_us = sent > link_kbps * 1.02 ? 8000 : 0};
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
    /* 30% over five loss windows: 15% off each time. */
    double est = run(&b, &now, 80, 10000, 30);
    assert_true(est < 1000);
    assert_true(b.loss_drops >= 6 && b.loss_drops <= 8);
}

static void test_ignores_bad_reports(void **state)
{
    (void)state;
    struct bwe b;
    bwe_init(&b, 100, 2000, 1000);
    struct bwe_report r = {.now_ms = 5000, .recv_kbps = 10, .sent_kbps = 10, .loss_pct = 150,
                           .packets_sent = 10, .delay_gradient_us = 100000};
    /* (two delay windows of overuse, below) */
    assert_true(bwe_update(&b, &r) == 1000); /* loss over 100% */
    r.loss_pct = 0;
    r.packets_sent = 0;
    assert_true(bwe_update(&b, &r) == 1000); /* no packets */
    r.packets_sent = 10;
    r.recv_kbps = -1;
    assert_true(bwe_update(&b, &r) == 1000);
    assert_int_equal(b.reports, 0);
    r.recv_kbps = 500;
    r.sent_kbps = 500;
    double est = 0;
    for (int i = 0; i < 8; i++, r.now_ms += 100) /* two delay windows' worth */
        est = bwe_update(&b, &r);
    assert_true(est < 1000); /* valid overuses count */
    r.now_ms = 4000;         /* out of order */
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
    assert_int_equal(bwe_pick_layer(&b, rates, NULL, 4, now), 3);
    b.delay_kbps = 600; /* a drop */
    assert_int_equal(bwe_pick_layer(&b, rates, NULL, 4, now += 100), 1);
    /* Room for the next layer (1000 * 1.15) must last BWE_UP_HOLD_MS. */
    b.delay_kbps = 1200;
    assert_int_equal(bwe_pick_layer(&b, rates, NULL, 4, now += 100), 1);
    b.delay_kbps = 1200;
    assert_int_equal(bwe_pick_layer(&b, rates, NULL, 4, now += BWE_UP_HOLD_MS - 100), 1);
    b.delay_kbps = 1200;
    assert_int_equal(bwe_pick_layer(&b, rates, NULL, 4, now += 100), 2);
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
    bwe_pick_layer(&b, rates, NULL, 3, now);
    assert_int_equal(bwe_pick_layer(&b, rates, NULL, 3, now += BWE_UP_HOLD_MS), 1);
    b.delay_kbps = 400; /* the step up did not hold (400 < 0.9 * 500) */
    assert_int_equal(bwe_pick_layer(&b, rates, NULL, 3, now += 500), 0);
    assert_int_equal(b.up_hold_ms, 2 * BWE_UP_HOLD_MS);
    b.delay_kbps = 600;
    bwe_pick_layer(&b, rates, NULL, 3, now += 100);
    assert_int_equal(bwe_pick_layer(&b, rates, NULL, 3, now += BWE_UP_HOLD_MS), 0); /* not yet */
    assert_int_equal(bwe_pick_layer(&b, rates, NULL, 3, now += BWE_UP_HOLD_MS), 1);
}

/* Simulates a viewer on the ladder rates[] behind a link of link_kbps for
 * secs seconds (reports every 100 ms: what arrives is min(sent, link), a
 * queue builds above it); returns the layer changes. */
static unsigned ride(struct bwe *b, const double *rates, const bool *costly, int n,
                     int64_t *now, int secs, double link_kbps)
{
    unsigned changes = 0;
    int last = b->layer >= n ? n - 1 : b->layer;
    double padding = 0;
    for (int i = 0; i < secs * 10; i++) {
        double sent = rates[last] + padding;
        struct bwe_report r = {.now_ms = *now += 100, .sent_kbps = sent,
                               .recv_kbps = sent < link_kbps ? sent : link_kbps,
                               .packets_sent = 20, .packets_recv = 20,
                               .delay_gradient_us = sent > link_kbps * 1.02 ? 8000 : 0};
        bwe_update(b, &r);
        int l = bwe_pick_layer(b, rates, costly, n, *now);
        padding = bwe_probe(b, rates, costly, n, *now);
        changes += l != last;
        last = l;
    }
    return changes;
}

static void test_slow_link_settles_on_a_layer(void **state)
{
    (void)state;
    const double rates[] = {250, 500, 1000, 2000};
    struct bwe b;
    int64_t now = 0;
    bwe_init(&b, 100, 2000, 2000);
    unsigned changes = ride(&b, rates, NULL, 4, &now, 60, 600);
    print_message("layer %d, estimate %.0f, %u changes, %u ups\n", b.layer, bwe_estimate(&b),
                  changes, b.ups);
    assert_int_equal(b.layer, 1); /* 500 kbit/s: the one that fits */
    /* The first drop, then a probe up and back every BWE_UP_HOLD_MAX_MS at
     * most once the backoff has grown: not a flutter. */
    assert_true(b.ups <= 8);
    assert_true(changes <= 2 * b.ups + 2);
}

/* The ladder of media.h: half size at 7.5, 15, 30 fps, full at 15, 30;
 * the step to the full size starts a second encoder (costly). */
static const double ladder_kbps[] = {75, 135, 300, 900, 2000};
static const bool ladder_costly[] = {false, false, false, true, false};

static void test_climbs_when_the_link_opens(void **state)
{
    (void)state;
    struct bwe b;
    int64_t now = 0;
    bwe_init(&b, 50, 2000, 2000);
    unsigned changes = ride(&b, ladder_kbps, ladder_costly, 5, &now, 60, 600);
    assert_int_equal(b.layer, 2);
    /* The full size is probed with padding, not by stepping up to it: the
     * layer stays (the first drop only); the probes fail and back off. */
    print_message("%u changes, %u probes in 60 s behind 600 kbit/s\n", changes, b.probes);
    assert_int_equal(changes, 1);
    assert_true(b.probes >= 3 && b.probes <= 60 / (BWE_UP_HOLD_COSTLY_MAX_MS / 1000) + 4);
    assert_int_equal(b.probe_successes, 0);
    /* The link opens: a probe succeeds and the top is reached in 15 s. */
    ride(&b, ladder_kbps, ladder_costly, 5, &now, 15, 5000);
    print_message("after 15 s at 5 Mbit/s: layer %d, %u probes\n", b.layer, b.probes);
    assert_int_equal(b.layer, 4);
    assert_true(b.probe_successes >= 1);
}

static void test_a_link_between_two_rungs_is_probed_with_padding(void **state)
{
    (void)state;
    struct bwe b;
    int64_t now = 0;
    bwe_init(&b, 50, 2000, 2000);
    /* 1.5 Mbit/s: full size at 15 fps fits, at 30 fps does not. The step
     * to 30 fps is tried with padding, which fails, and never with the
     * media: one step down (from the start at the top), none up. */
    unsigned changes = ride(&b, ladder_kbps, ladder_costly, 5, &now, 60, 1500);
    print_message("behind 1.5 Mbit/s: layer %d, %u changes, %u ups, %u probes\n", b.layer, changes,
                  b.ups, b.probes);
    assert_int_equal(b.layer, 3);
    assert_int_equal(b.ups, 0);
    assert_true(b.probes >= 3);
    assert_int_equal(b.probe_successes, 0);
    /* The link opens: a probe carries the top rate and the step follows. */
    ride(&b, ladder_kbps, ladder_costly, 5, &now, 15, 5000);
    assert_int_equal(b.layer, 4);
    assert_true(b.probe_successes >= 1);

    /* Without padding (no RTX), the step itself is the probe, as before. */
    bwe_init(&b, 50, 2000, 2000);
    b.no_padding = true;
    ride(&b, ladder_kbps, ladder_costly, 5, &now, 60, 1500);
    assert_true(b.ups >= 1);
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
        cmocka_unit_test(test_climbs_when_the_link_opens),
        cmocka_unit_test(test_a_link_between_two_rungs_is_probed_with_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
