/* test_robot_realsense.c - porthole-robot's librealsense2 backend end to
 * end: a RealSense .bag written by librealsense's own recorder from a
 * librealsense software device fed with the simulated scene
 * (tests/support/rsbag.c), replayed with --camera realsense-file:BAG.
 * Real WebRTC viewers (rtcpeer.c) decode its color, depth and infrared
 * video; the REST API reports the recording's identity, intrinsics,
 * extrinsics, depth scale and recorded options; the point cloud summary
 * equals, number for number, the one computed here from the same
 * rendered depth with the bag's depth scale (0.0005 m, not the
 * simulator's 0.001). --list answers whether or not a camera is attached.
 *
 * Without librealsense2 at configure time the test is still registered:
 * it prints "SKIPPED: librealsense2 not installed (see docs/CAMERAS.md)"
 * and exits 77, which CTest shows as skipped, never as passed.
 *
 * Each test starts its own porthole-cloud and porthole-robot inside the
 * loopback-only network namespace, the robot with --api-port 8000. Under
 * PORTHOLE_SLOW (the ASan variant) waits are three times longer; the
 * assertions are the same. */
#include <stdio.h>

#ifndef PORTHOLE_HAVE_REALSENSE

int main(void)
{
    printf("SKIPPED: librealsense2 not installed (see docs/CAMERAS.md)\n");
    return 77;
}

#else

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "robot/pointcloud.h"
#include "robot/sim_scene.h"
#include "robotfix.h"
#include "rsbag.h"
#include "rtcpeer.h"

#define API_PORT 8000
#define BAG_W 640
#define BAG_H 480
#define BAG_FPS 30
#define BAG_FRAMES 15
#define CHROMA_COLOURFUL 12.0 /* the simulated scene's colours (test_robot_media.c) */

static char bag_dir[64], bag_path[128], camera_spec[160];
static const char *const rs_robot_args[] = {"--camera", camera_spec, "--api-port", "8000", NULL};
static const struct robotfix_config rs_config = {.robot_args = rs_robot_args};

#define RS_TEST(fn) \
    cmocka_unit_test_prestate_setup_teardown(fn, robotfix_setup, robotfix_teardown, \
                                             (void *)&rs_config)

/* One request to the robot's API, which must answer want_status; returns
 * the JSON body (the caller owns it). */
#define api(method, path, body, want) api_((method), (path), (body), (want), __FILE__, __LINE__)
static json_t *api_(const char *method, const char *path, const char *body, int want,
                    const char *file, int line)
{
    struct http_response r;
    if (http_request(API_PORT, method, path, NULL, body, robotfix_wait(5000), &r) != 0) {
        print_error("%s %s: no response from the robot's API\n", method, path);
        _fail(file, line);
    }
    json_t *j = json_loadb(r.body, r.body_len, JSON_DECODE_ANY, NULL);
    if (r.status != want || !j) {
        print_error("%s %s: status %d (expected %d), body %.600s\n", method, path, r.status,
                    want, r.body);
        http_response_free(&r);
        json_decref(j);
        _fail(file, line);
    }
    http_response_free(&r);
    return j;
}

static const char *dev(const char *rest)
{
    static char buf[4][256];
    static unsigned next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "/api/devices/%s%s", RSBAG_SERIAL, rest);
    return b;
}

static double num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        fail_msg("'%s' is not a number", key);
    return json_number_value(v);
}

/* A viewer of one stream, answered automatically; waits for 30 frames. */
static struct rtcpeer_video watch(struct robotfix *fx, const char *stream)
{
    char streams[64];
    snprintf(streams, sizeof streams, "[\"%s\"]", stream);
    struct rtcpeer *v = robotfix_viewer(fx, &(struct rtcpeer_opts){.stream_types_json = streams});
    robotfix_expect_frames(fx, v, 30, robotfix_wait(15000));
    struct rtcpeer_video vi;
    rtcpeer_video(v, &vi);
    fprintf(stderr, "%s: %dx%d, luma %.1f chroma %.1f detail %.1f, %llu frames\n", stream,
            vi.width, vi.height, vi.luma, vi.chroma, vi.detail, (unsigned long long)vi.frames);
    robotfix_drop_viewer(fx, v);
    return vi;
}

static void test_the_recording_streams_decodable_video(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer_video color = watch(fx, "color");
    assert_int_equal(color.width, BAG_W);
    assert_int_equal(color.height, BAG_H);
    if (color.chroma < CHROMA_COLOURFUL)
        fail_msg("color chroma %.1f: not the simulated scene's colours", color.chroma);
    struct rtcpeer_video depth = watch(fx, "depth");
    assert_int_equal(depth.width, BAG_W);
    if (depth.chroma < CHROMA_COLOURFUL)
        fail_msg("depth chroma %.1f: the colormap shows no depth", depth.chroma);
    struct rtcpeer_video ir = watch(fx, "infrared-2");
    assert_int_equal(ir.width, BAG_W);
    if (ir.luma < 5)
        fail_msg("infrared-2 luma %.1f: a black picture", ir.luma);
}

static void expect_translation(json_t *extr, const char *stream, double x)
{
    json_t *t = json_object_get(json_object_get(extr, stream), "translation");
    if (json_array_size(t) != 3)
        fail_msg("no extrinsics for %s", stream);
    double got = json_number_value(json_array_get(t, 0));
    if (fabs(got - x) > 1e-6)
        fail_msg("%s sits %.6f m from depth along x; the recording says %.6f", stream, got, x);
}

static void test_device_info_is_the_recordings(void **state)
{
    (void)state;
    json_t *list = api("GET", "/api/devices/", NULL, 200);
    json_t *d = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(d, "device_id")), RSBAG_SERIAL);
    assert_string_equal(json_string_value(json_object_get(d, "name")), RSBAG_NAME);
    assert_string_equal(json_string_value(json_object_get(d, "firmware_version")), RSBAG_FIRMWARE);
    assert_string_equal(json_string_value(json_object_get(d, "product_id")), RSBAG_PRODUCT_ID);
    json_t *sensors = json_object_get(d, "sensors");
    assert_string_equal(json_string_value(json_array_get(sensors, 0)), "Stereo Module");
    assert_string_equal(json_string_value(json_array_get(sensors, 1)), "RGB Camera");
    json_decref(list);

    json_t *info = api("GET", dev(""), NULL, 200);
    double scale = num(info, "depth_scale");
    if (fabs(scale - RSBAG_DEPTH_SCALE) > 1e-9)
        fail_msg("depth scale %g, the recording's is %g", scale, (double)RSBAG_DEPTH_SCALE);
    json_t *in = json_object_get(json_object_get(info, "intrinsics"), "depth");
    assert_int_equal((int)num(in, "width"), BAG_W);
    assert_true(fabs(num(in, "fx") - (float)sim_scene_focal(BAG_W)) < 1e-3);
    assert_true(fabs(num(in, "ppx") - BAG_W / 2.0) < 1e-6);
    assert_string_equal(json_string_value(json_object_get(in, "model")), "brown-conrady");
    json_t *extr = json_object_get(info, "extrinsics");
    expect_translation(extr, "color", RSBAG_COLOR_TX_M);
    expect_translation(extr, "infrared-1", 0);
    expect_translation(extr, "infrared-2", -RSBAG_BASELINE_M);
    json_decref(info);
}

static const char *option_path(const char *option)
{
    static char b[256];
    snprintf(b, sizeof b, "/api/devices/%s/sensors/%s-sensor-0/options/%s", RSBAG_SERIAL,
             RSBAG_SERIAL, option);
    return b;
}

/* librealsense replays a recording's options as read-only values. */
static void test_options_are_the_recorded_values_and_read_only(void **state)
{
    (void)state;
    json_t *o = api("GET", option_path("laser_power"), NULL, 200);
    assert_true(num(o, "current_value") == RSBAG_LASER_POWER);
    assert_true(json_is_true(json_object_get(o, "read_only")));
    json_decref(o);
    o = api("GET", option_path("exposure"), NULL, 200);
    assert_true(num(o, "current_value") == RSBAG_EXPOSURE);
    json_decref(o);
    o = api("GET", option_path("depth_units"), NULL, 200);
    assert_true(fabs(num(o, "current_value") - RSBAG_DEPTH_SCALE) < 1e-9);
    json_decref(o);
    o = api("PUT", option_path("laser_power"), "{\"value\": 150}", 409);
    assert_non_null(strstr(json_string_value(json_object_get(o, "detail")), "read-only"));
    json_decref(o);
}

static bool pc_ready(json_t *st)
{
    return json_integer_value(json_object_get(st, "frames")) > 0;
}

static void expect_close(const char *what, double got, double want)
{
    if (fabs(got - want) > 1e-6 * (1 + fabs(want)))
        fail_msg("%s: the robot measured %.9f, the recorded depth gives %.9f", what, got, want);
}

static void test_point_cloud_equals_the_recorded_depth(void **state)
{
    (void)state;
    json_decref(api("POST", dev("/point_cloud/activate"), NULL, 200));
    int64_t deadline = wsc_now_ms() + robotfix_wait(10000);
    json_t *st = api("GET", dev("/point_cloud/status"), NULL, 200);
    while (!pc_ready(st) && wsc_now_ms() < deadline) {
        json_decref(st);
        rtcpeer_run_for(100);
        st = api("GET", dev("/point_cloud/status"), NULL, 200);
    }
    char *text = json_dumps(st, JSON_COMPACT);
    fprintf(stderr, "point cloud: %s\n", text);
    free(text);
    if (!pc_ready(st))
        fail_msg("no point cloud frame within %d ms", robotfix_wait(10000));

    /* The same summary, from the depth the recording holds. */
    uint16_t *depth = malloc(sizeof *depth * BAG_W * BAG_H);
    assert_non_null(depth);
    assert_int_equal(rsbag_render_depth(BAG_W, BAG_H, depth), 0);
    struct cam_frame f = {.stream = CAM_DEPTH, .format = CAM_FORMAT_Z16, .width = BAG_W,
                          .height = BAG_H, .stride = 2 * BAG_W, .data = (const uint8_t *)depth};
    float fl = (float)sim_scene_focal(BAG_W);
    struct cam_intrinsics in = {.width = BAG_W, .height = BAG_H, .ppx = BAG_W / 2.0,
                                .ppy = BAG_H / 2.0, .fx = fl, .fy = fl, .model = "brown-conrady"};
    struct pointcloud_stats want;
    int step = (int)json_integer_value(json_object_get(st, "decimation"));
    assert_true(step >= 1);
    pointcloud_measure(&f, &in, RSBAG_DEPTH_SCALE, step, &want);
    free(depth);

    assert_int_equal(json_integer_value(json_object_get(st, "sampled")), (json_int_t)want.sampled);
    assert_int_equal(json_integer_value(json_object_get(st, "points")), (json_int_t)want.points);
    expect_close("mean depth", num(st, "mean_depth"), want.mean_z);
    json_t *b = json_object_get(st, "bounds");
    static const char *const axis[3] = {"x", "y", "z"};
    for (int k = 0; k < 3; k++) {
        char what[32];
        snprintf(what, sizeof what, "min %s", axis[k]);
        expect_close(what, json_number_value(json_array_get(json_object_get(b, "min"), k)),
                     want.min[k]);
        snprintf(what, sizeof what, "max %s", axis[k]);
        expect_close(what, json_number_value(json_array_get(json_object_get(b, "max"), k)),
                     want.max[k]);
    }
    /* The nearest object of the scene is 1.5 m away: with the simulator's
     * depth scale the same values would read 0.75 m. */
    assert_true(want.min[2] > 1.0);
    json_decref(st);
}

/* porthole-robot --camera realsense --list: without a camera attached
 * (CI, the development machine) it says so and exits 1; with one it
 * prints a line per camera and exits 0. */
static void test_list_names_the_connected_cameras_or_none(void **state)
{
    (void)state;
    const char *robot = getenv("PORTHOLE_ROBOT");
    assert_non_null(robot);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' --camera realsense --list 2>&1", robot);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    fprintf(stderr, "--list (exit %d): %s", code, out);
    if (code == 1) {
        assert_non_null(strstr(out, "no realsense device found"));
    } else {
        assert_int_equal(code, 0);
        assert_non_null(strstr(out, "firmware"));
    }
}

int main(void)
{
    snprintf(bag_dir, sizeof bag_dir, "/tmp/porthole-rsbag-XXXXXX");
    if (!mkdtemp(bag_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(bag_path, sizeof bag_path, "%s/scene.bag", bag_dir);
    snprintf(camera_spec, sizeof camera_spec, "realsense-file:%s", bag_path);
    char err[512];
    struct rsbag_spec spec = {.path = bag_path, .width = BAG_W, .height = BAG_H,
                              .fps = BAG_FPS, .frames = BAG_FRAMES};
    if (rsbag_write(&spec, err, sizeof err) != 0) {
        fprintf(stderr, "cannot write the recording: %s\n", err);
        rmdir(bag_dir);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        RS_TEST(test_the_recording_streams_decodable_video),
        RS_TEST(test_device_info_is_the_recordings),
        RS_TEST(test_options_are_the_recorded_values_and_read_only),
        RS_TEST(test_point_cloud_equals_the_recorded_depth),
        cmocka_unit_test(test_list_names_the_connected_cameras_or_none),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(bag_path);
    rmdir(bag_dir);
    return failed;
}

#endif
