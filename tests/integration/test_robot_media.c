/* test_robot_media.c - porthole-robot streams decodable video of each stream
 * type to real WebRTC receivers (tests/support/rtcpeer.c), shares one
 * encoder between viewers of a stream, switches streams without
 * renegotiation and runs an encoder only while someone watches.
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

/* Chroma energy (mean |U-128| + |V-128|) of the pictures. The simulated
 * color scene and the jet-colormapped depth measure well above 20; gray
 * infrared has U = V = 128, give or take coding noise. */
#define CHROMA_COLOURFUL 12.0
#define CHROMA_GRAY 2.0

/* A viewer of one stream type, answered automatically. */
static struct rtcpeer *viewer(struct robotfix *fx, const char *stream_type)
{
    char streams[64];
    snprintf(streams, sizeof streams, "[\"%s\"]", stream_type);
    return robotfix_viewer(fx, &(struct rtcpeer_opts){.stream_types_json = streams});
}


static json_t *expect_telemetry(struct rtcpeer *v)
{
    json_t *t = rtcpeer_wait_telemetry(v, robotfix_wait(5000));
    if (!t)
        fail_msg("no telemetry on the data channel within %d ms", robotfix_wait(5000));
    return t;
}

/* ---- one stream type per session ---- */

static void test_color_is_640x480_colourful_and_time_stamped(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "color");
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    struct rtcpeer_video vi;
    rtcpeer_video(v, &vi);
    assert_int_equal(vi.width, 640);
    assert_int_equal(vi.height, 480);
    fprintf(stderr, "color: luma %.1f chroma %.1f, %llu of %llu frames marked, latency %lld ms\n",
            vi.luma, vi.chroma, (unsigned long long)vi.marked_frames,
            (unsigned long long)vi.frames, (long long)vi.latency_ms);
    if (vi.chroma < CHROMA_COLOURFUL)
        fail_msg("color chroma energy %.1f, expected >= %.1f", vi.chroma, CHROMA_COLOURFUL);
    /* The capture-time marker reads back, and says "just now". */
    if (vi.marked_frames < vi.frames / 2)
        fail_msg("only %llu of %llu color frames carried a readable marker",
                 (unsigned long long)vi.marked_frames, (unsigned long long)vi.frames);
    if (vi.latency_ms < -100 || vi.latency_ms > robotfix_wait(3000))
        fail_msg("the marker says the frame was captured %lld ms ago", (long long)vi.latency_ms);
}

static void test_depth_is_640x480_and_colourful(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "depth");
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    struct rtcpeer_video vi;
    rtcpeer_video(v, &vi);
    fprintf(stderr, "depth: luma %.1f chroma %.1f\n", vi.luma, vi.chroma);
    assert_int_equal(vi.width, 640);
    assert_int_equal(vi.height, 480);
    if (vi.chroma < CHROMA_COLOURFUL)
        fail_msg("depth chroma energy %.1f, expected >= %.1f (jet colormap)", vi.chroma,
                 CHROMA_COLOURFUL);
}

static void test_infrared_is_640x480_and_gray(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "infrared-1");
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    struct rtcpeer_video vi;
    rtcpeer_video(v, &vi);
    fprintf(stderr, "infrared-1: luma %.1f chroma %.1f\n", vi.luma, vi.chroma);
    assert_int_equal(vi.width, 640);
    assert_int_equal(vi.height, 480);
    if (vi.chroma > CHROMA_GRAY)
        fail_msg("infrared chroma energy %.1f, expected <= %.1f (gray)", vi.chroma, CHROMA_GRAY);
    /* Gray, but not blank. */
    assert_true(vi.luma > 10.0 && vi.luma < 245.0);
}

/* ---- sharing ---- */

static void test_three_viewers_of_a_stream_share_one_encoder(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v[3];
    for (int i = 0; i < 3; i++)
        v[i] = viewer(fx, "color");
    for (int i = 0; i < 3; i++)
        robotfix_expect_frames(fx, v[i], 30, robotfix_wait(15000));
    /* All three are subscribed now: the next telemetry must say so. */
    json_t *t = expect_telemetry(v[0]);
    assert_int_equal(robotfix_telemetry_int(t, "streams.color.viewers"), 3);
    assert_int_equal(robotfix_telemetry_int(t, "encoders"), 1);
    assert_int_equal(robotfix_telemetry_int(t, "sessions"), 3);
    assert_null(json_object_get(json_object_get(t, "streams"), "depth"));
}

/* ---- switching ---- */

/* The stream types of the tracks in telemetry t, joined with commas. */
static void telemetry_tracks(json_t *t, char *out, size_t outlen)
{
    out[0] = '\0';
    size_t i;
    json_t *track;
    json_array_foreach(json_object_get(t, "tracks"), i, track) {
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, "%s%s", i ? "," : "",
                 json_string_value(json_object_get(track, "streamType")));
    }
}

/* Waits for telemetry whose tracks read want (telemetry comes each second,
 * and a switch shows from the next one). */
static void expect_tracks(struct rtcpeer *v, const char *want)
{
    char got[128] = "";
    for (int i = 0; i < 5; i++) {
        json_t *t = expect_telemetry(v);
        telemetry_tracks(t, got, sizeof got);
        if (strcmp(got, want) == 0)
            return;
        rtcpeer_run_for(robotfix_wait(1000));
    }
    fail_msg("telemetry tracks are '%s', expected '%s'", got, want);
}


/* Switches v to type, expects the reply, then 30 more frames. */
static void switch_and_watch(struct robotfix *fx, struct rtcpeer *v, const char *type)
{
    assert_true(rtcpeer_switch(v, type));
    json_t *m = rtcpeer_take(v, "stream-type-switched", robotfix_wait(3000));
    if (!m) {
        json_t *e = rtcpeer_take(v, "stream-type-switch-error", 0);
        fail_msg("no stream-type-switched for %s (switch error: %s)", type,
                 e ? json_string_value(json_object_get(e, "error")) : "none");
    }
    harness_assert_str(m, "sessionId", rtcpeer_session_id(v));
    json_t *types = json_object_get(m, "streamTypes");
    assert_int_equal(json_array_size(types), 1);
    assert_string_equal(json_string_value(json_array_get(types, 0)), type);
    json_decref(m);
    uint64_t before = rtcpeer_frames(v);
    robotfix_expect_frames(fx, v, before + 30, robotfix_wait(10000));
}

static void test_switch_changes_the_picture_on_the_same_track(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "color");
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    struct rtcpeer_video vi;
    rtcpeer_video(v, &vi);
    assert_true(vi.chroma >= CHROMA_COLOURFUL);

    switch_and_watch(fx, v, "infrared-1");
    rtcpeer_video(v, &vi);
    fprintf(stderr, "after switch to infrared-1: chroma %.1f\n", vi.chroma);
    if (vi.chroma > CHROMA_GRAY)
        fail_msg("after switching to infrared-1 the chroma energy is %.1f (not gray)",
                 vi.chroma);
    assert_int_equal(vi.width, 640);

    switch_and_watch(fx, v, "depth");
    rtcpeer_video(v, &vi);
    fprintf(stderr, "after switch to depth: chroma %.1f\n", vi.chroma);
    if (vi.chroma < CHROMA_COLOURFUL)
        fail_msg("after switching to depth the chroma energy is %.1f (not colourful)",
                 vi.chroma);

    /* Same track all along: one offer, no renegotiation, no errors. An
     * ICE restart is no renegotiation: the robot begins one when it hears
     * nothing from the viewer for 2 s, which a viewer starved by the ASan
     * suite on two cores can be (seen in CI). */
    assert_int_equal(rtcpeer_count(v, "webrtc-offer") - rtcpeer_ice_restarts(v), 1);
    assert_int_equal(rtcpeer_count(v, "stream-type-switch-error"), 0);
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
    /* And the robot agrees about what the track carries now, and stops
     * the encoders it left (they stop after the reply, and telemetry
     * comes once a second: a few messages may still count them). */
    expect_tracks(v, "depth");
    json_int_t encoders = -1;
    for (int i = 0; i < 5 && encoders != 1; i++) {
        json_t *t = expect_telemetry(v);
        encoders = robotfix_telemetry_int(t, "encoders");
    }
    assert_int_equal(encoders, 1);
}

/* ---- encoder lifetime ---- */

static void test_an_encoder_runs_only_while_watched(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *a = viewer(fx, "color");
    struct rtcpeer *b = viewer(fx, "depth");
    robotfix_expect_frames(fx, a, 10, robotfix_wait(10000));
    robotfix_expect_frames(fx, b, 10, robotfix_wait(10000));
    json_t *t = expect_telemetry(a);
    assert_int_equal(robotfix_telemetry_int(t, "encoders"), 2);

    /* Both viewers leave. */
    struct rtcpeer *both[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        assert_true(rtcpeer_close(both[i]));
        json_t *closed = rtcpeer_take(both[i], "session-closed", robotfix_wait(3000));
        assert_non_null(closed);
        json_decref(closed);
        robotfix_drop_viewer(fx, both[i]);
    }

    /* A new viewer of color finds exactly its own encoder running. */
    struct rtcpeer *c = viewer(fx, "color");
    robotfix_expect_frames(fx, c, 10, robotfix_wait(10000));
    t = expect_telemetry(c);
    assert_int_equal(robotfix_telemetry_int(t, "encoders"), 1);
    assert_int_equal(robotfix_telemetry_int(t, "sessions"), 1);
    assert_int_equal(robotfix_telemetry_int(t, "streams.color.viewers"), 1);
    assert_null(json_object_get(json_object_get(t, "streams"), "depth"));
}

/* ---- several streams in one session ---- */

static void test_two_streams_in_one_session_switch_together(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(
        fx, &(struct rtcpeer_opts){.stream_types_json = "[\"color\",\"depth\"]"});
    /* Two tracks at 30 fps each. */
    robotfix_expect_frames(fx, v, 60, robotfix_wait(10000));
    assert_int_equal(rtcpeer_count(v, "webrtc-offer"), 1);
    expect_tracks(v, "color,depth");
    json_t *t = expect_telemetry(v);
    assert_int_equal(robotfix_telemetry_int(t, "encoders"), 2);
    /* Both tracks carry frames, not just one of them. */
    for (size_t i = 0; i < 2; i++) {
        json_t *track = json_array_get(json_object_get(t, "tracks"), i);
        assert_true(json_integer_value(json_object_get(track, "framesSent")) > 0);
    }

    /* Switch both at once: depth's encoder goes, infrared-1's comes. */
    json_t *sw = json_pack("{s:s, s:s, s:[s,s]}", "type", "switch-stream-type", "sessionId",
                           rtcpeer_session_id(v), "streamTypes", "infrared-1", "color");
    assert_true(rtcpeer_send_json(v, sw)); /* takes sw */
    json_t *m = rtcpeer_take(v, "stream-type-switched", robotfix_wait(10000));
    assert_non_null(m);
    assert_int_equal(json_array_size(json_object_get(m, "streamTypes")), 2);
    json_decref(m);
    robotfix_expect_frames(fx, v, rtcpeer_frames(v) + 60, robotfix_wait(10000));
    expect_tracks(v, "infrared-1,color");
    t = expect_telemetry(v);
    assert_int_equal(robotfix_telemetry_int(t, "encoders"), 2);
    assert_null(json_object_get(json_object_get(t, "streams"), "depth"));

    /* A switch must name a stream for every track. */
    sw = json_pack("{s:s, s:s, s:[s]}", "type", "switch-stream-type", "sessionId",
                   rtcpeer_session_id(v), "streamTypes", "depth");
    assert_true(rtcpeer_send_json(v, sw)); /* takes sw */
    json_t *e = rtcpeer_take(v, "stream-type-switch-error", robotfix_wait(3000));
    assert_non_null(e);
    assert_non_null(strstr(json_string_value(json_object_get(e, "error")), "2 streams"));
    json_decref(e);
    robotfix_expect_frames(fx, v, rtcpeer_frames(v) + 30, robotfix_wait(10000));
}

/* ---- H.264 ---- */

static const char *const h264_robot_args[] = {"--codec", "h264", NULL};
static const struct robotfix_config h264_config = {.robot_args = h264_robot_args};

static void test_h264_streams_and_switches(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "color");
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    struct rtcpeer_video vi;
    rtcpeer_video(v, &vi);
    fprintf(stderr, "h264 color: chroma %.1f\n", vi.chroma);
    assert_int_equal(vi.width, 640);
    assert_int_equal(vi.height, 480);
    assert_true(vi.chroma >= CHROMA_COLOURFUL);
    json_t *t = expect_telemetry(v);
    harness_assert_str(t, "codec", "h264");

    /* SPS and PPS travel with every keyframe, so a switch decodes at once. */
    switch_and_watch(fx, v, "infrared-1");
    rtcpeer_video(v, &vi);
    fprintf(stderr, "h264 after switch to infrared-1: chroma %.1f\n", vi.chroma);
    if (vi.chroma > CHROMA_GRAY)
        fail_msg("after switching to infrared-1 the chroma energy is %.1f (not gray)",
                 vi.chroma);
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_color_is_640x480_colourful_and_time_stamped,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_depth_is_640x480_and_colourful, robotfix_setup,
                                        robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_infrared_is_640x480_and_gray, robotfix_setup,
                                        robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_three_viewers_of_a_stream_share_one_encoder,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_switch_changes_the_picture_on_the_same_track,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_an_encoder_runs_only_while_watched, robotfix_setup,
                                        robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_two_streams_in_one_session_switch_together,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_prestate_setup_teardown(test_h264_streams_and_switches, robotfix_setup,
                                                 robotfix_teardown, (void *)&h264_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
