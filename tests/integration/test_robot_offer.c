/* test_robot_offer.c - a C viewer that makes the offer (rtcpeer's
 * viewer_offers, docs/PROTOCOL.md "The viewer offers"): porthole-robot
 * answers it, the video decodes, telemetry arrives on the application
 * m-line, switch-stream-type works, the robot never offers, and the
 * viewer's own ICE restart (a new offer with new credentials) is answered
 * while the video goes on. With twcc the offer carries the TWCC header
 * extension and the robot gets transport-wide feedback (bandwidth.reports).
 *
 * Each test starts its own porthole-cloud and porthole-robot ($PORTHOLE_CLOUD,
 * $PORTHOLE_ROBOT) inside the loopback-only network namespace. Under
 * PORTHOLE_SLOW (the ASan variant) waits are three times longer; the
 * assertions are the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "robotfix.h"
#include "rtcpeer.h"

/* As test_robot_media.c: the colour scene is colourful, infrared gray. */
#define CHROMA_COLOURFUL 12.0
#define CHROMA_GRAY 2.0

static struct rtcpeer *offering_viewer(struct robotfix *fx, const char *streams_json)
{
    return robotfix_viewer(fx, &(struct rtcpeer_opts){.stream_types_json = streams_json,
                                                      .viewer_offers = true});
}

/* The robot answered once and never offered. */
static void expect_answered_not_offered(struct rtcpeer *v, unsigned answers)
{
    assert_true(rtcpeer_has_offer(v)); /* viewer_offers: the answer arrived */
    assert_int_equal(rtcpeer_count(v, "webrtc-answer"), answers);
    assert_int_equal(rtcpeer_count(v, "webrtc-offer"), 0);
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
    assert_int_equal(rtcpeer_count(v, "error"), 0);
}

static void test_an_offering_viewer_gets_video_telemetry_and_switches(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = offering_viewer(fx, "[\"color\"]");
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    struct rtcpeer_video vi;
    rtcpeer_video(v, &vi);
    assert_int_equal(vi.width, 640);
    assert_int_equal(vi.height, 480);
    if (vi.chroma < CHROMA_COLOURFUL)
        fail_msg("color is not colourful: chroma %.1f", vi.chroma);
    json_t *t = rtcpeer_wait_telemetry(v, robotfix_wait(5000));
    if (!t)
        fail_msg("no telemetry on the data channel within %d ms", robotfix_wait(5000));
    assert_int_equal(robotfix_telemetry_int(t, "encoders"), 1);

    assert_true(rtcpeer_switch(v, "infrared-1"));
    json_t *m = rtcpeer_take(v, "stream-type-switched", robotfix_wait(3000));
    if (!m)
        fail_msg("no stream-type-switched for infrared-1");
    json_decref(m);
    robotfix_expect_frames(fx, v, rtcpeer_frames(v) + 30, robotfix_wait(10000));
    rtcpeer_video(v, &vi);
    if (vi.chroma > CHROMA_GRAY)
        fail_msg("after switching to infrared-1 the chroma energy is %.1f (not gray)",
                 vi.chroma);
    expect_answered_not_offered(v, 1);
    assert_false(rtcpeer_answer(v)); /* nothing to answer in this mode */
}

/* bandwidth.reports of the robot's telemetry after up to n messages, once
 * it is above zero. */
static json_int_t twcc_reports(struct rtcpeer *v, int n)
{
    json_int_t reports = 0;
    for (int i = 0; i < n && reports == 0; i++) {
        json_t *t = rtcpeer_wait_telemetry(v, robotfix_wait(5000));
        if (!t)
            fail_msg("no telemetry within %d ms", robotfix_wait(5000));
        json_t *b = json_object_get(t, "bandwidth");
        reports = json_integer_value(json_object_get(b, "reports"));
    }
    return reports;
}

/* twcc: the robot estimates this viewer's bandwidth from its TWCC feedback,
 * as with Chromium; without it, no feedback comes (the control). */
static void test_an_offering_viewer_with_twcc_sends_feedback(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, &(struct rtcpeer_opts){
                                                .stream_types_json = "[\"color\"]",
                                                .viewer_offers = true, .twcc = true});
    struct rtcpeer *plain = offering_viewer(fx, "[\"color\"]");
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    robotfix_expect_frames(fx, plain, 30, robotfix_wait(10000));
    json_int_t with = twcc_reports(v, 4);
    json_int_t without = twcc_reports(plain, 2);
    fprintf(stderr, "TWCC reports: %lld with twcc, %lld without\n", (long long)with,
            (long long)without);
    if (with <= 0)
        fail_msg("the robot got no TWCC feedback from a viewer that offered with twcc");
    assert_int_equal(without, 0);
}

/* Two stream types: two video m-lines in the offer, both decode. */
static void test_an_offering_viewer_of_two_streams_gets_both(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = offering_viewer(fx, "[\"color\",\"depth\"]");
    robotfix_expect_frames(fx, v, 60, robotfix_wait(10000));
    json_t *t = rtcpeer_wait_telemetry(v, robotfix_wait(5000));
    if (!t)
        fail_msg("no telemetry within %d ms", robotfix_wait(5000));
    assert_int_equal(json_array_size(json_object_get(t, "tracks")), 2);
    expect_answered_not_offered(v, 1);
}

/* The viewer restarts ICE itself: a new webrtc-offer, the robot's answer
 * carries new ICE credentials, and the video goes on. */
static void test_an_offering_viewer_restarts_ice_by_offering(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = offering_viewer(fx, "[\"color\"]");
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    json_t *first = rtcpeer_take(v, "webrtc-answer", 0);
    assert_non_null(first);
    assert_true(rtcpeer_request_restart(v));
    assert_false(rtcpeer_request_restart(v)); /* one at a time */
    json_t *again = rtcpeer_take(v, "webrtc-answer", robotfix_wait(5000));
    if (!again)
        fail_msg("the robot did not answer the restart offer");
    const char *a = json_string_value(json_object_get(json_object_get(first, "answer"), "sdp"));
    const char *b = json_string_value(json_object_get(json_object_get(again, "answer"), "sdp"));
    assert_non_null(a);
    assert_non_null(b);
    const char *ua = strstr(a, "a=ice-ufrag:"), *ub = strstr(b, "a=ice-ufrag:");
    assert_non_null(ua);
    assert_non_null(ub);
    if (strncmp(ua, ub, strcspn(ua, "\r\n")) == 0)
        fail_msg("the robot's answer to the restart offer kept its ICE credentials");
    json_decref(first);
    json_decref(again);
    rtcpeer_run_for(robotfix_wait(500));
    assert_int_equal(rtcpeer_reanswers(v), 1);
    assert_int_equal(rtcpeer_ice_restarts(v), 1);
    robotfix_expect_frames(fx, v, rtcpeer_frames(v) + 60, robotfix_wait(10000));
    expect_answered_not_offered(v, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_an_offering_viewer_gets_video_telemetry_and_switches,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_an_offering_viewer_with_twcc_sends_feedback,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_an_offering_viewer_of_two_streams_gets_both,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_an_offering_viewer_restarts_ice_by_offering,
                                        robotfix_setup, robotfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
