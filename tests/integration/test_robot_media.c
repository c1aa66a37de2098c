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
#include "rtcpeer.h"

/* Chroma energy (mean |U-128| + |V-128|) of the pictures. The simulated
 * color scene and the jet-colormapped depth measure well above 20; gray
 * infrared has U = V = 128, give or take coding noise. */
#define CHROMA_COLOURFUL 12.0
#define CHROMA_GRAY 2.0

#define MAX_VIEWERS 8

struct fixture {
    struct cloud cloud;
    struct proc robot;
    char url[64];
    char robot_id[48];
    struct rtcpeer *viewers[MAX_VIEWERS]; /* freed by teardown, also after a failure */
};

static int slow(void)
{
    const char *s = getenv("PORTHOLE_SLOW");
    return s && *s && strcmp(s, "0") != 0 ? 3 : 1;
}

/* A wait of ms, stretched under PORTHOLE_SLOW. */
#define WAIT(ms) ((ms) * slow())

static int setup(void **state)
{
    static struct fixture fx;
    memset(&fx, 0, sizeof fx);
    if (harness_start(&fx.cloud, NULL) < 0)
        return -1;
    snprintf(fx.url, sizeof fx.url, "ws://127.0.0.1:%d/ws", fx.cloud.port);
    snprintf(fx.robot_id, sizeof fx.robot_id, "%s", harness_name("robot-media"));
    const char *args[] = {"--cloud-url", fx.url, "--robot-id", fx.robot_id, "--ice-allow",
                          "127.0.0.1", "--reconnect-min", "0.1", "--reconnect-max", "1",
                          "--log-level", "info", NULL};
    if (harness_start_robot(&fx.robot, args) < 0 ||
        !harness_robot_listed(fx.cloud.port, fx.robot_id, WAIT(10000))) {
        fprintf(stderr, "setup: porthole-robot did not register at the cloud\n");
        harness_proc_kill(&fx.robot);
        harness_kill(&fx.cloud);
        return -1;
    }
    *state = &fx;
    return 0;
}

/* Frees the viewers, then stops the robot (SIGTERM must make it exit 0)
 * and the cloud. */
static int teardown(void **state)
{
    struct fixture *fx = *state;
    for (int i = 0; i < MAX_VIEWERS; i++) {
        rtcpeer_free(fx->viewers[i]);
        fx->viewers[i] = NULL;
    }
    int robot = harness_proc_stop(&fx->robot, 10000);
    int cloud = harness_stop(&fx->cloud);
    if (robot != 0)
        fprintf(stderr, "teardown: porthole-robot exited with status %d after SIGTERM\n", robot);
    if (cloud != 0)
        fprintf(stderr, "teardown: porthole-cloud exited with status %d\n", cloud);
    return robot == 0 && cloud == 0 ? 0 : -1;
}

static struct rtcpeer *viewer(struct fixture *fx, const char *stream_type)
{
    for (int i = 0; i < MAX_VIEWERS; i++) {
        if (!fx->viewers[i]) {
            fx->viewers[i] = rtcpeer_new(fx->url, fx->robot_id, stream_type);
            return fx->viewers[i];
        }
    }
    fail_msg("too many viewers in one test");
    return NULL;
}

static void drop_viewer(struct fixture *fx, struct rtcpeer *v)
{
    for (int i = 0; i < MAX_VIEWERS; i++)
        if (fx->viewers[i] == v)
            fx->viewers[i] = NULL;
    rtcpeer_free(v);
}

/* Waits until v decoded n frames in total; fails the test saying how far
 * the session got otherwise. */
static void expect_frames(struct fixture *fx, struct rtcpeer *v, uint64_t n, int timeout_ms)
{
    if (rtcpeer_wait_frames(v, n, timeout_ms))
        return;
    fail_msg("%llu of %llu frames within %d ms (registered %d, session %s, offer %d, "
             "connected %d, session-errors %u, robot alive %d)",
             (unsigned long long)rtcpeer_frames(v), (unsigned long long)n, timeout_ms,
             rtcpeer_registered(v), rtcpeer_session_id(v) ? rtcpeer_session_id(v) : "none",
             rtcpeer_has_offer(v), rtcpeer_connected(v), rtcpeer_count(v, "session-error"),
             harness_proc_alive(&fx->robot));
}

static json_int_t telemetry_int(json_t *t, const char *path)
{
    /* path: "encoders" or "streams.color.viewers" */
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = t;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
        cur = json_object_get(cur, tok);
    if (!json_is_integer(cur))
        fail_msg("telemetry has no integer '%s'", path);
    return json_integer_value(cur);
}

static json_t *expect_telemetry(struct rtcpeer *v)
{
    json_t *t = rtcpeer_wait_telemetry(v, WAIT(5000));
    if (!t)
        fail_msg("no telemetry on the data channel within %d ms", WAIT(5000));
    return t;
}

/* ---- one stream type per session ---- */

static void test_color_is_640x480_colourful_and_time_stamped(void **state)
{
    struct fixture *fx = *state;
    struct rtcpeer *v = viewer(fx, "color");
    expect_frames(fx, v, 30, WAIT(10000));
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
    if (vi.latency_ms < -100 || vi.latency_ms > WAIT(3000))
        fail_msg("the marker says the frame was captured %lld ms ago", (long long)vi.latency_ms);
}

static void test_depth_is_640x480_and_colourful(void **state)
{
    struct fixture *fx = *state;
    struct rtcpeer *v = viewer(fx, "depth");
    expect_frames(fx, v, 30, WAIT(10000));
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
    struct fixture *fx = *state;
    struct rtcpeer *v = viewer(fx, "infrared-1");
    expect_frames(fx, v, 30, WAIT(10000));
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
    struct fixture *fx = *state;
    struct rtcpeer *v[3];
    for (int i = 0; i < 3; i++)
        v[i] = viewer(fx, "color");
    for (int i = 0; i < 3; i++)
        expect_frames(fx, v[i], 30, WAIT(15000));
    /* All three are subscribed now: the next telemetry must say so. */
    json_t *t = expect_telemetry(v[0]);
    assert_int_equal(telemetry_int(t, "streams.color.viewers"), 3);
    assert_int_equal(telemetry_int(t, "encoders"), 1);
    assert_int_equal(telemetry_int(t, "sessions"), 3);
    assert_null(json_object_get(json_object_get(t, "streams"), "depth"));
}

/* ---- switching ---- */

/* Switches v to type, expects the reply, then 30 more frames. */
static void switch_and_watch(struct fixture *fx, struct rtcpeer *v, const char *type)
{
    assert_true(rtcpeer_switch(v, type));
    json_t *m = rtcpeer_take(v, "stream-type-switched", WAIT(3000));
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
    expect_frames(fx, v, before + 30, WAIT(10000));
}

static void test_switch_changes_the_picture_on_the_same_track(void **state)
{
    struct fixture *fx = *state;
    struct rtcpeer *v = viewer(fx, "color");
    expect_frames(fx, v, 30, WAIT(10000));
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

    /* Same track all along: one offer, no renegotiation, no errors. */
    assert_int_equal(rtcpeer_count(v, "webrtc-offer"), 1);
    assert_int_equal(rtcpeer_count(v, "stream-type-switch-error"), 0);
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
    /* And the robot agrees about what the track carries now. */
    json_t *t = expect_telemetry(v);
    json_t *track = json_array_get(json_object_get(t, "tracks"), 0);
    assert_non_null(track);
    harness_assert_str(track, "streamType", "depth");
    assert_int_equal(telemetry_int(t, "encoders"), 1);
}

/* ---- encoder lifetime ---- */

static void test_an_encoder_runs_only_while_watched(void **state)
{
    struct fixture *fx = *state;
    struct rtcpeer *a = viewer(fx, "color");
    struct rtcpeer *b = viewer(fx, "depth");
    expect_frames(fx, a, 10, WAIT(10000));
    expect_frames(fx, b, 10, WAIT(10000));
    json_t *t = expect_telemetry(a);
    assert_int_equal(telemetry_int(t, "encoders"), 2);

    /* Both viewers leave. */
    struct rtcpeer *both[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        assert_true(rtcpeer_close(both[i]));
        json_t *closed = rtcpeer_take(both[i], "session-closed", WAIT(3000));
        assert_non_null(closed);
        json_decref(closed);
        drop_viewer(fx, both[i]);
    }

    /* A new viewer of color finds exactly its own encoder running. */
    struct rtcpeer *c = viewer(fx, "color");
    expect_frames(fx, c, 10, WAIT(10000));
    t = expect_telemetry(c);
    assert_int_equal(telemetry_int(t, "encoders"), 1);
    assert_int_equal(telemetry_int(t, "sessions"), 1);
    assert_int_equal(telemetry_int(t, "streams.color.viewers"), 1);
    assert_null(json_object_get(json_object_get(t, "streams"), "depth"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_color_is_640x480_colourful_and_time_stamped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_depth_is_640x480_and_colourful, setup, teardown),
        cmocka_unit_test_setup_teardown(test_infrared_is_640x480_and_gray, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_viewers_of_a_stream_share_one_encoder, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_switch_changes_the_picture_on_the_same_track, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_an_encoder_runs_only_while_watched, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
