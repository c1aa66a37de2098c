/* test_robot_cameras.c - porthole-robot streams cameras GStreamer reads
 * (--camera gst:PIPELINE, a file the test makes, rtsp://...) to real WebRTC
 * receivers (tests/support/rtcpeer.c), at the source's own size and in the
 * source's colour; a camera without depth refuses depth over signaling
 * and REST; an RTSP camera that drops and comes back resumes on the same
 * session; and every bad source stops the robot at start with one line.
 *
 * The RTSP camera is tests/support/rtspserve.c (gst-rtsp-server) serving
 * H.264 on 127.0.0.1:RTSP_PORT inside the test's loopback-only namespace. Under
 * PORTHOLE_SLOW (the ASan variant) waits are three times longer; the
 * assertions are the same. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>

#include "harness.h"
#include "robotfix.h"
#include "rtcpeer.h"
#include "wsclient.h"

#define RTSP_PORT 8554
#define API_PORT 8000

/* Mean U and V of solid colours after BT.601 coding (red: U 90, V 240;
 * green: U 54, V 34; blue: U 240, V 110), with room for coding noise. */
#define HIGH 190.0
#define LOW 120.0

static struct rtcpeer *viewer(struct robotfix *fx, const char *streams_json)
{
    return robotfix_viewer(fx, &(struct rtcpeer_opts){.stream_types_json = streams_json});
}

static void expect_size(struct rtcpeer *v, int w, int h)
{
    struct rtcpeer_video vi;
    rtcpeer_video(v, &vi);
    assert_int_equal(vi.width, w);
    assert_int_equal(vi.height, h);
}

/* The last frame's mean U and V are in the given ranges. */
static void expect_hue(struct rtcpeer *v, double umin, double umax, double vmin, double vmax,
                       const char *what)
{
    struct rtcpeer_video vi;
    rtcpeer_video(v, &vi);
    fprintf(stderr, "%s: luma %.1f U %.1f V %.1f\n", what, vi.luma, vi.u, vi.v);
    if (vi.u < umin || vi.u > umax || vi.v < vmin || vi.v > vmax)
        fail_msg("%s: mean U %.1f, V %.1f; want U in %.0f..%.0f, V in %.0f..%.0f", what, vi.u,
                 vi.v, umin, umax, vmin, vmax);
}

/* The camera state telemetry reports, waiting up to timeout_ms for want. */
static bool wait_camera_state(struct rtcpeer *v, const char *want, int timeout_ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while (g_get_monotonic_time() < until) {
        json_t *t = rtcpeer_wait_telemetry(v, 1500);
        const char *st = json_string_value(json_object_get(json_object_get(t, "camera"), "state"));
        if (st && strcmp(st, want) == 0)
            return true;
    }
    return false;
}

/* ---- a test pattern ---- */

static const char *const red_args[] = {
    "--camera",
    "gst:videotestsrc is-live=true pattern=solid-color foreground-color=0xffff0000 ! "
    "video/x-raw,width=320,height=240,framerate=15/1",
    NULL};
static const struct robotfix_config red_config = {.robot_args = red_args};

static void test_a_test_pattern_streams_in_its_colour_at_its_own_size(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "[\"color\"]");
    robotfix_expect_frames(fx, v, 20, robotfix_wait(10000));
    expect_size(v, 320, 240);
    expect_hue(v, 0, LOW, HIGH, 255, "red pattern");
    assert_true(wait_camera_state(v, "streaming", robotfix_wait(5000)));
}

static void test_depth_and_infrared_are_refused_and_color_still_streams(void **state)
{
    struct robotfix *fx = *state;
    static const char *const wanted[] = {"[\"depth\"]", "[\"infrared-1\"]",
                                         "[\"color\",\"depth\"]"};
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
        struct rtcpeer *v = viewer(fx, wanted[i]);
        json_t *e = rtcpeer_take(v, "session-error", robotfix_wait(5000));
        if (!e)
            fail_msg("%s: no session-error", wanted[i]);
        harness_assert_str(e, "code", "stream-unavailable");
        const char *error = json_string_value(json_object_get(e, "error"));
        fprintf(stderr, "%s: %s\n", wanted[i], error);
        assert_non_null(strstr(error, "has no "));
        assert_non_null(strstr(error, "it offers: color"));
        json_decref(e);
        robotfix_drop_viewer(fx, v);
    }
    struct rtcpeer *ok = viewer(fx, "[\"color\"]");
    robotfix_expect_frames(fx, ok, 20, robotfix_wait(10000));
}

static const char *const red_api_args[] = {
    "--camera",
    "gst:videotestsrc is-live=true pattern=solid-color foreground-color=0xffff0000 ! "
    "video/x-raw,width=320,height=240,framerate=15/1",
    "--api-port", "8000", NULL};
static const struct robotfix_config red_api_config = {.robot_args = red_api_args};

/* A REST call: its status, and the body parsed into *body (the caller
 * frees it) when body is not NULL. */
static int api_call(const char *method, const char *path, const char *request, json_t **body)
{
    struct http_response r;
    if (http_request(API_PORT, method, path, NULL, request, robotfix_wait(5000), &r) != 0)
        fail_msg("%s %s: no response", method, path);
    int status = r.status;
    fprintf(stderr, "%s %s: %d %s\n", method, path, status, r.body);
    if (body)
        *body = json_loads(r.body, 0, NULL);
    http_response_free(&r);
    return status;
}

static void test_rest_offers_only_color_and_refuses_depth_features(void **state)
{
    (void)state;
    json_t *devices = NULL;
    assert_int_equal(api_call("GET", "/api/devices", NULL, &devices), 200);
    json_t *dev = json_array_get(devices, 0);
    char *streams = json_dumps(json_object_get(dev, "streams"), JSON_COMPACT);
    assert_string_equal(streams, "[\"color\"]");
    free(streams);
    harness_assert_str(dev, "state", "streaming");
    char path[128];
    snprintf(path, sizeof path, "/api/devices/%s/point_cloud/activate",
             json_string_value(json_object_get(dev, "device_id")));
    json_t *e = NULL;
    assert_int_equal(api_call("POST", path, "", &e), 409);
    const char *detail = json_string_value(json_object_get(e, "detail"));
    assert_non_null(detail);
    assert_non_null(strstr(detail, "has no depth stream"));
    json_decref(e);
    assert_int_equal(api_call("POST", "/api/webrtc/offer", "{\"stream_types\":[\"depth\"]}", &e),
                     422);
    detail = json_string_value(json_object_get(e, "detail"));
    assert_non_null(detail);
    assert_non_null(strstr(detail, "has no depth stream; it offers: color"));
    json_decref(e);
    json_decref(devices);
}

/* ---- a file the test makes ---- */

static char file_spec[512];
static const char *file_args[] = {"--camera", file_spec, NULL};
static const struct robotfix_config file_config = {.robot_args = file_args};

/* Writes 2 s of blue (30 frames at 15 fps, 320x240, Motion JPEG in AVI)
 * into a fresh temporary directory and points file_spec at it. */
static int make_file(void **state)
{
    static char dir[] = "/tmp/porthole-cameras-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "setup: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    char *loc = g_strdup_printf("location=%s/blue.avi", dir);
    const char *argv[] = {"gst-launch-1.0", "-q", "videotestsrc", "num-buffers=30",
                          "pattern=solid-color", "foreground-color=0xff0000ff", "!",
                          "video/x-raw,width=320,height=240,framerate=15/1", "!", "jpegenc", "!",
                          "avimux", "!", "filesink", loc, NULL};
    gint status = -1;
    GError *gerr = NULL;
    gboolean ran = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                NULL, NULL, &status, &gerr);
    g_free(loc);
    if (!ran || !g_spawn_check_wait_status(status, NULL)) {
        fprintf(stderr, "setup: gst-launch-1.0 could not make the file: %s\n",
                gerr ? gerr->message : "it failed");
        g_clear_error(&gerr);
        return -1;
    }
    snprintf(file_spec, sizeof file_spec, "gst:filesrc location=%s/blue.avi ! decodebin", dir);
    return robotfix_setup(state);
}

static void test_a_file_plays_in_its_colour_and_loops(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "[\"color\"]");
    /* 45 frames of a 30-frame file: it played through and started again. */
    robotfix_expect_frames(fx, v, 45, robotfix_wait(15000));
    expect_size(v, 320, 240);
    expect_hue(v, HIGH, 255, 0, LOW + 10, "blue file");
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
}

/* ---- an RTSP camera ---- */

static pid_t rtsp_pid;

/* Starts rtspserve with a green picture on RTSP_PORT and waits until it
 * says "ready" (it listens). Returns 0 or -1. */
static int rtsp_start(void)
{
    const char *server = getenv("PORTHOLE_RTSPSERVE");
    char port[8];
    snprintf(port, sizeof port, "%d", RTSP_PORT);
    int out[2];
    if (!server || pipe(out) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(server, server, port, "/cam",
              "( videotestsrc is-live=true pattern=solid-color foreground-color=0xff00ff00 ! "
              "video/x-raw,width=320,height=240,framerate=15/1 ! x264enc tune=zerolatency "
              "speed-preset=ultrafast key-int-max=15 ! rtph264pay name=pay0 pt=96 "
              "config-interval=-1 )",
              (char *)NULL);
        _exit(127);
    }
    rtsp_pid = pid;
    close(out[1]);
    char line[16] = "";
    struct pollfd pfd = {.fd = out[0], .events = POLLIN};
    ssize_t n = poll(&pfd, 1, robotfix_wait(10000)) == 1 ? read(out[0], line, sizeof line - 1) : -1;
    close(out[0]);
    if (n < 5 || strncmp(line, "ready", 5) != 0) {
        fprintf(stderr, "rtspserve did not listen on %d\n", RTSP_PORT);
        return -1;
    }
    return 0;
}

static void rtsp_kill(void)
{
    if (rtsp_pid > 0) {
        kill(rtsp_pid, SIGKILL);
        waitpid(rtsp_pid, NULL, 0);
        rtsp_pid = 0;
    }
}

static const char *const rtsp_args[] = {"--camera", "rtsp://127.0.0.1:8554/cam", NULL};
static const struct robotfix_config rtsp_config = {.robot_args = rtsp_args};

static int rtsp_setup(void **state)
{
    if (!getenv("PORTHOLE_RTSPSERVE"))
        return 0; /* the test says SKIPPED */
    if (rtsp_start() != 0) {
        rtsp_kill();
        return -1;
    }
    if (robotfix_setup(state) != 0) {
        rtsp_kill();
        return -1;
    }
    return 0;
}

static int rtsp_teardown(void **state)
{
    if (!getenv("PORTHOLE_RTSPSERVE"))
        return 0;
    int rc = robotfix_teardown(state);
    rtsp_kill();
    return rc;
}

static void test_an_rtsp_camera_that_drops_resumes_on_the_same_session(void **state)
{
    if (!getenv("PORTHOLE_RTSPSERVE")) {
        printf("SKIPPED: gst-rtsp-server (libgstrtspserver-1.0-dev) was not found at build "
               "time\n");
        skip();
    }
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer(fx, "[\"color\"]");
    robotfix_expect_frames(fx, v, 20, robotfix_wait(15000));
    expect_size(v, 320, 240);
    expect_hue(v, 0, LOW, 0, LOW, "green rtsp");
    const char *sid = rtcpeer_session_id(v);

    rtsp_kill(); /* the camera drops */
    if (!wait_camera_state(v, "reconnecting", robotfix_wait(20000)))
        fail_msg("telemetry never said the camera was reconnecting");
    uint64_t before = rtcpeer_frames(v);
    assert_int_equal(rtsp_start(), 0); /* and comes back */
    robotfix_expect_frames(fx, v, before + 20, robotfix_wait(40000));
    assert_true(wait_camera_state(v, "streaming", robotfix_wait(5000)));
    expect_hue(v, 0, LOW, 0, LOW, "green rtsp again");
    assert_string_equal(rtcpeer_session_id(v), sid);
    assert_int_equal(rtcpeer_count(v, "session-created"), 1);
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
    assert_int_equal(rtcpeer_count(v, "session-closed"), 0);
}

/* ---- bad sources: the robot stops at start with one line ---- */

/* Runs porthole-robot with --camera spec (and no cloud: it exits before
 * dialling) and wants exit status want and one stderr line holding
 * needle. */
static void expect_start_error(const char *spec, int want, const char *needle)
{
    const char *robot = getenv("PORTHOLE_ROBOT");
    assert_non_null(robot);
    char limit[16];
    snprintf(limit, sizeof limit, "%d", robotfix_wait(40));
    const char *argv[] = {"timeout", "-k", "5", limit, robot, "--camera", spec,
                          "--api-port", "0", "--cloud-url", "ws://127.0.0.1:9/ws",
                          "--log-format", "text", NULL};
    gchar *err = NULL;
    gint status = -1;
    GError *gerr = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, NULL, &err, &status, &gerr))
        fail_msg("cannot run %s: %s", robot, gerr ? gerr->message : "?");
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    /* One line, not counting LeakSanitizer's or GStreamer's own chatter. */
    gchar *first = g_strdup(err);
    char *nl = strchr(first, '\n');
    if (nl)
        *nl = '\0';
    fprintf(stderr, "%s -> %d: %s\n", spec, code, first);
    if (code != want || !strstr(first, needle))
        fail_msg("'%s': exit %d (want %d), stderr \"%s\" (want \"%s\")", spec, code, want, err,
                 needle);
    g_free(first);
    g_free(err);
}

static void test_a_missing_device_or_file_stops_the_robot_at_start(void **state)
{
    (void)state;
    expect_start_error("v4l2:/dev/video-porthole-none", 1,
                       "camera: v4l2: /dev/video-porthole-none: No such file or directory");
    expect_start_error("gst:filesrc location=/nonexistent/cam.avi ! decodebin", 1,
                       "/nonexistent/cam.avi");
    expect_start_error("rtsp://127.0.0.1:9/none", 1, "camera: rtsp://127.0.0.1:9/none: ");
}

static void test_a_pipeline_that_does_not_build_stops_the_robot_at_start(void **state)
{
    (void)state;
    expect_start_error("gst:nosuchelement", 1, "the pipeline does not build: no element");
    expect_start_error("gst:videotestsrc ! ! videoconvert", 1, "the pipeline does not build");
    expect_start_error("gst:", 2, "--camera: camera 'gst:' is not of the form gst:PIPELINE");
    expect_start_error("webcam", 2, "--camera: unknown camera backend 'webcam' (known: sim");
}

static void test_a_pipeline_without_frames_stops_the_robot_at_start(void **state)
{
    (void)state;
    expect_start_error("gst:videotestsrc num-buffers=0", 1,
                       "the source ended before its first frame");
    expect_start_error("gst:videotestsrc is-live=true ! valve drop=true", 1,
                       "no frame within 10 s");
}

static void test_an_unsupported_mode_stops_the_robot_at_start(void **state)
{
    (void)state;
    expect_start_error("gst:audiotestsrc", 1, "the pipeline does not build");
    expect_start_error("gst:videotestsrc ! video/x-raw,width=9000,height=8", 1,
                       "unsupported frame size 9000x8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(
            test_a_test_pattern_streams_in_its_colour_at_its_own_size, robotfix_setup,
            robotfix_teardown, (void *)&red_config),
        cmocka_unit_test_prestate_setup_teardown(
            test_depth_and_infrared_are_refused_and_color_still_streams, robotfix_setup,
            robotfix_teardown, (void *)&red_config),
        cmocka_unit_test_prestate_setup_teardown(
            test_rest_offers_only_color_and_refuses_depth_features, robotfix_setup,
            robotfix_teardown, (void *)&red_api_config),
        cmocka_unit_test_prestate_setup_teardown(test_a_file_plays_in_its_colour_and_loops,
                                                 make_file, robotfix_teardown,
                                                 (void *)&file_config),
        cmocka_unit_test_prestate_setup_teardown(
            test_an_rtsp_camera_that_drops_resumes_on_the_same_session, rtsp_setup,
            rtsp_teardown, (void *)&rtsp_config),
        cmocka_unit_test(test_a_missing_device_or_file_stops_the_robot_at_start),
        cmocka_unit_test(test_a_pipeline_that_does_not_build_stops_the_robot_at_start),
        cmocka_unit_test(test_a_pipeline_without_frames_stops_the_robot_at_start),
        cmocka_unit_test(test_an_unsupported_mode_stops_the_robot_at_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
