/* test_depth_config.c - what a viewer may ask of the depth channel:
 * defaults, clamping with a sentence per clamp, refusals of wrong types,
 * colormap requests, and the calibration message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "robot/camera.h"
#include "robot/depth_config.h"

static struct depth_request apply_ok(const char *json, int fps)
{
    struct depth_request r;
    depth_request_default(&r, fps);
    json_t *o = json_loads(json, 0, NULL);
    char err[256];
    assert_int_equal(depth_request_apply(o, fps, &r, err, sizeof err), 0);
    json_decref(o);
    return r;
}

static void test_defaults_follow_the_camera_rate(void **state)
{
    (void)state;
    struct depth_request r;
    depth_request_default(&r, 30);
    assert_int_equal(r.rate, 15);
    assert_int_equal(r.decimation, 2);
    assert_false(r.color);
    depth_request_default(&r, 6);
    assert_int_equal(r.rate, 6);
}

static void test_absurd_values_are_clamped_and_explained(void **state)
{
    (void)state;
    struct depth_request r = apply_ok("{\"rate\":1000,\"decimation\":0,\"color\":true}", 30);
    assert_int_equal(r.rate, 30);
    assert_int_equal(r.decimation, 1);
    assert_true(r.color);
    assert_non_null(strstr(r.note, "rate 1000 is above the most, 30: using 30"));
    assert_non_null(strstr(r.note, "decimation 0 is below the least, 1: using 1"));
    r = apply_ok("{\"rate\":-5,\"decimation\":1e300}", 15);
    assert_int_equal(r.rate, 1);
    assert_int_equal(r.decimation, 16);
    r = apply_ok("{\"rate\":7.4,\"decimation\":3}", 30);
    assert_int_equal(r.rate, 7);
    assert_int_equal(r.decimation, 3);
    assert_string_equal(r.note, "");
    r = apply_ok("{\"unknown\":1}", 30); /* other members are ignored */
    assert_int_equal(r.rate, 15);
}

static void test_wrong_types_are_refused_and_leave_the_settings(void **state)
{
    (void)state;
    const char *bad[] = {"{\"rate\":\"fast\"}", "{\"decimation\":null}", "{\"color\":1}", "[1]",
                         "7"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct depth_request r;
        depth_request_default(&r, 30);
        json_t *o = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        char err[256] = "";
        assert_int_equal(depth_request_apply(o, 30, &r, err, sizeof err), -1);
        assert_non_null(strstr(err, "depth"));
        assert_int_equal(r.rate, 15);
        json_decref(o);
    }
}

static void test_the_settings_in_force_say_what_was_clamped(void **state)
{
    (void)state;
    struct depth_request r = apply_ok("{\"rate\":99}", 30);
    json_t *j = depth_request_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "depth-config");
    assert_int_equal(json_integer_value(json_object_get(j, "rate")), 30);
    assert_string_equal(json_string_value(json_object_get(j, "codec")), "delta-lz4");
    assert_non_null(strstr(json_string_value(json_object_get(j, "message")), "rate 99"));
    json_decref(j);
}

static void test_colormap_requests(void **state)
{
    (void)state;
    struct colormap_settings s = {COLORMAP_JET, 0.3, 6};
    char err[160];
    json_t *o = json_loads("{\"colormap\":\"gray\",\"far\":3}", 0, NULL);
    assert_int_equal(depth_colormap_apply(o, &s, err, sizeof err), 0);
    assert_int_equal(s.ramp, COLORMAP_GRAY);
    assert_float_equal(s.near_m, 0.3, 0);
    assert_float_equal(s.far_m, 3, 0);
    json_decref(o);
    o = json_loads("{\"colormap\":\"rainbow\"}", 0, NULL);
    assert_int_equal(depth_colormap_apply(o, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "turbo"));
    json_decref(o);
    o = json_loads("{\"near\":\"x\"}", 0, NULL);
    assert_int_equal(depth_colormap_apply(o, &s, err, sizeof err), -1);
    json_decref(o);
}

static void test_calibration_names_every_stream_and_the_extrinsics(void **state)
{
    (void)state;
    char err[128];
    struct camera *cam = camera_new("sim", &(struct cam_mode){640, 480, 30}, err, sizeof err);
    assert_non_null(cam);
    json_t *c = depth_calibration_json(cam);
    assert_string_equal(json_string_value(json_object_get(c, "units")), "metres");
    json_t *streams = json_object_get(c, "streams"), *ext = json_object_get(c, "extrinsics");
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        assert_non_null(json_object_get(streams, cam_stream_name(s)));
        assert_non_null(json_object_get(ext, cam_stream_name(s)));
    }
    json_t *ir2 = json_object_get(json_object_get(ext, "infrared-2"), "translation");
    assert_float_equal(json_real_value(json_array_get(ir2, 0)), -0.050, 1e-12);
    json_t *col = json_object_get(json_object_get(ext, "color"), "rotation");
    assert_float_equal(json_real_value(json_array_get(col, 0)), 1, 0);
    assert_float_equal(json_real_value(json_array_get(col, 1)), 0, 0);
    json_decref(c);
    camera_free(cam);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_follow_the_camera_rate),
        cmocka_unit_test(test_absurd_values_are_clamped_and_explained),
        cmocka_unit_test(test_wrong_types_are_refused_and_leave_the_settings),
        cmocka_unit_test(test_the_settings_in_force_say_what_was_clamped),
        cmocka_unit_test(test_colormap_requests),
        cmocka_unit_test(test_calibration_names_every_stream_and_the_extrinsics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
