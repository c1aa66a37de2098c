/* test_camera_gst.c - camera specs ("BACKEND[:ARG]") and the GStreamer
 * camera (camera_gst.c) driven directly: known and unknown backends,
 * arguments required or refused, the mode taken from the negotiated caps,
 * color-only capabilities, frames of the colour the pipeline makes, and a
 * clear one-line refusal of every bad source. No network, no robot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <gst/gst.h>

#include "robot/camera.h"

/* A red picture at 160x120, 15 fps, live so that it paces itself. */
#define RED_PIPELINE                                                                       \
    "gst:videotestsrc is-live=true pattern=solid-color foreground-color=0xffff0000 ! "    \
    "video/x-raw,width=160,height=120,framerate=15/1"

static void expect_spec_error(const char *spec, const char *needle)
{
    char err[512] = "";
    if (camera_spec_check(spec, err, sizeof err) == 0)
        fail_msg("camera_spec_check accepted '%s'", spec);
    if (!strstr(err, needle))
        fail_msg("'%s': error \"%s\" lacks \"%s\"", spec, err, needle);
    assert_null(strchr(err, '\n'));
}

static void test_specs_name_a_backend_and_its_argument(void **state)
{
    (void)state;
    static const char *const good[] = {"sim", "gst:videotestsrc", "v4l2:/dev/video0",
                                       "rtsp://127.0.0.1:8554/cam", "rtsps://cam.example/x",
                                       "gst:a:b:c"};
    char err[512];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (camera_spec_check(good[i], err, sizeof err) != 0)
            fail_msg("'%s' refused: %s", good[i], err);
    expect_spec_error("webcam", "unknown camera backend 'webcam' (known: sim, gst:PIPELINE");
    expect_spec_error("sim:x", "is not of the form sim");
    expect_spec_error("gst", "is not of the form gst:PIPELINE");
    expect_spec_error("gst:", "is not of the form gst:PIPELINE");
    expect_spec_error("v4l2", "is not of the form v4l2:DEVICE");
    expect_spec_error("rtsp:", "is not of the form rtsp://URL");
    expect_spec_error("rtsp://", "is not of the form rtsp://URL");
    expect_spec_error("", "unknown camera backend ''");
    expect_spec_error(NULL, "unknown camera backend");
}

static void test_every_backend_is_listed_compiled_or_not(void **state)
{
    (void)state;
    const char *text = camera_backends_text();
    assert_non_null(strstr(text, "sim, gst:PIPELINE, v4l2:DEVICE, rtsp://URL"));
    assert_non_null(strstr(text, "realsense[:SERIAL]"));
    const char *const *names = camera_backend_names();
    assert_string_equal(names[0], "sim");
    assert_string_equal(names[1], "gst");
    /* A source-decided backend has no fixed modes; sim's are known. */
    assert_int_equal(camera_backend_modes("gst:videotestsrc")->nresolutions, 0);
    assert_int_equal(camera_backend_modes("rtsp://h/p")->nresolutions, 0);
    assert_int_equal(camera_backend_modes("sim")->nresolutions, 3);
}

struct got {
    int frames;
    int width, height;
    unsigned r, g, b;
    unsigned streams_seen;
};

static void on_frames(void *user, const struct cam_frameset *set)
{
    struct got *got = user;
    for (size_t i = 0; i < set->count; i++) {
        const struct cam_frame *f = &set->frames[i];
        got->streams_seen |= CAM_MASK(f->stream);
        const uint8_t *px = f->data + (size_t)(f->height / 2) * f->stride + (size_t)f->width / 2 * 3;
        got->r = px[0];
        got->g = px[1];
        got->b = px[2];
        got->width = f->width;
        got->height = f->height;
        got->frames++;
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_a_test_pattern_gives_color_frames_of_its_caps(void **state)
{
    (void)state;
    char err[512] = "";
    struct cam_mode asked = {640, 480, 30};
    struct camera *cam = camera_new(RED_PIPELINE, &asked, err, sizeof err);
    if (!cam)
        fail_msg("camera_new: %s", err);
    assert_int_equal(camera_mode(cam)->width, 160);
    assert_int_equal(camera_mode(cam)->height, 120);
    assert_int_equal(camera_mode(cam)->fps, 15);
    assert_int_equal(camera_streams(cam), CAM_MASK(CAM_COLOR));
    assert_true(camera_depth_scale(cam) == 0);
    assert_string_equal(camera_intrinsics(cam, CAM_COLOR)->model, "none");
    assert_true(camera_intrinsics(cam, CAM_COLOR)->fx == 160);
    assert_string_equal(camera_intrinsics(cam, CAM_DEPTH)->model, "none");

    json_t *d = camera_describe(cam, true);
    char *text = json_dumps(d, JSON_COMPACT);
    assert_non_null(strstr(text, "\"streams\":[\"color\"]"));
    assert_null(strstr(text, "\"depth\""));
    assert_non_null(strstr(text, "\"resolutions\":[[160,120]],\"fps\":[15]"));
    free(text);
    json_decref(d);

    assert_int_equal(camera_check_streams(cam, CAM_MASK(CAM_COLOR), err, sizeof err), 0);
    assert_int_equal(camera_check_streams(cam, CAM_MASK(CAM_DEPTH), err, sizeof err), -1);
    assert_string_equal(err, "this camera (gst) has no depth stream; it offers: color");

    /* Asking for every stream captures the one it has. */
    struct got got = {0};
    assert_int_equal(camera_start(cam, CAM_MASK_ALL, on_frames, &got, err, sizeof err), 0);
    for (int i = 0; i < 100 && got.frames < 5; i++)
        sleep_ms(50);
    camera_stop(cam);
    assert_true(got.frames >= 5);
    assert_int_equal(got.streams_seen, CAM_MASK(CAM_COLOR));
    assert_int_equal(got.width, 160);
    assert_true(got.r > 240 && got.g < 15 && got.b < 15);
    assert_int_equal(camera_state(cam, NULL, 0), CAM_STATE_STREAMING);
    camera_free(cam);
}

static void test_no_frames_are_made_while_no_stream_is_wanted(void **state)
{
    (void)state;
    char err[512] = "";
    struct camera *cam = camera_new(RED_PIPELINE, NULL, err, sizeof err);
    assert_non_null(cam);
    struct got got = {0};
    assert_int_equal(camera_start(cam, 0, on_frames, &got, err, sizeof err), 0);
    sleep_ms(300);
    assert_int_equal(got.frames, 0);
    camera_set_streams(cam, CAM_MASK(CAM_COLOR));
    for (int i = 0; i < 100 && got.frames < 2; i++)
        sleep_ms(50);
    camera_free(cam); /* stops it */
    assert_true(got.frames >= 2);
}

static void test_an_unwatched_source_stops_and_starts_again_when_wanted(void **state)
{
    (void)state;
    char err[512] = "";
    struct camera *cam = camera_new(RED_PIPELINE, NULL, err, sizeof err);
    assert_non_null(cam);
    struct got got = {0};
    assert_int_equal(camera_start(cam, 0, on_frames, &got, err, sizeof err), 0);
    sleep_ms(11500); /* past the 10 s after which an unwatched source stops */
    assert_int_equal(got.frames, 0);
    camera_set_streams(cam, CAM_MASK(CAM_COLOR));
    for (int i = 0; i < 200 && got.frames < 3; i++)
        sleep_ms(50);
    assert_true(got.frames >= 3);
    assert_true(got.r > 240 && got.g < 15 && got.b < 15);
    assert_int_equal(camera_state(cam, NULL, 0), CAM_STATE_STREAMING);
    camera_free(cam);
}

/* Each bad source: camera_new fails with one line naming the problem. */
static void expect_open_error(const char *spec, const char *needle)
{
    char err[512] = "";
    struct camera *cam = camera_new(spec, NULL, err, sizeof err);
    if (cam) {
        camera_free(cam);
        fail_msg("'%s' opened", spec);
    }
    if (!strstr(err, needle))
        fail_msg("'%s': error \"%s\" lacks \"%s\"", spec, err, needle);
    assert_null(strchr(err, '\n'));
}

static void test_bad_sources_are_refused_with_one_line(void **state)
{
    (void)state;
    expect_open_error("gst:nosuchelement", "the pipeline does not build: no element \"nosuchelement\"");
    expect_open_error("gst:videotestsrc ! (", "the pipeline does not build");
    expect_open_error("gst:audiotestsrc", "the pipeline does not build");
    expect_open_error("gst:videotestsrc num-buffers=0", "the source ended before its first frame");
    expect_open_error("gst:filesrc location=/nonexistent/porthole.avi ! decodebin",
                      "/nonexistent/porthole.avi");
    expect_open_error("gst:videotestsrc ! video/x-raw,width=9000,height=8",
                      "unsupported frame size 9000x8");
    expect_open_error("v4l2:/dev/porthole-no-such-video", "No such file or directory");
    expect_open_error("v4l2:/etc/hostname", "is not a video device");
    expect_open_error("v4l2:/dev/video0 ! fakesrc", "is not a device path");
    expect_open_error("rtsp://127.0.0.1:9/none\"", "is not an URL");
    expect_open_error("rtsp://user:secret@127.0.0.1:9/none\"", "rtsp://***@127.0.0.1");
}

static void test_credentials_of_an_url_never_show(void **state)
{
    (void)state;
    char err[512] = "";
    /* Port 9 on loopback refuses at once. */
    assert_null(camera_new("rtsp://user:secret@127.0.0.1:9/cam", NULL, err, sizeof err));
    assert_null(strstr(err, "secret"));
    assert_non_null(strstr(err, "rtsp://***@127.0.0.1:9/cam"));
}

int main(void)
{
    gst_init(NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_specs_name_a_backend_and_its_argument),
        cmocka_unit_test(test_every_backend_is_listed_compiled_or_not),
        cmocka_unit_test(test_a_test_pattern_gives_color_frames_of_its_caps),
        cmocka_unit_test(test_no_frames_are_made_while_no_stream_is_wanted),
        cmocka_unit_test(test_an_unwatched_source_stops_and_starts_again_when_wanted),
        cmocka_unit_test(test_bad_sources_are_refused_with_one_line),
        cmocka_unit_test(test_credentials_of_an_url_never_show),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gst_deinit();
    return rc;
}
