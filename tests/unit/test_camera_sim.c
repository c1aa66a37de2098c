/* test_camera_sim.c - unit tests of the camera interface over the simulated
 * backend: scene geometry, options, describe, capture thread, marker. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "robot/camera.h"
#include "robot/marker.h"
#include "robot/sim_scene.h"

#define W 640
#define H 480
#define PI 3.14159265358979323846

/* ---- the renderer against analytic geometry ---- */

static uint16_t *render_depth(const struct sim_objects *objs)
{
    struct sim_scene *s = sim_scene_new(W, H);
    uint16_t *depth = malloc((size_t)W * H * sizeof *depth);
    assert_non_null(s);
    assert_non_null(depth);
    struct sim_render r = {.depth = depth, .depth_stride = W * sizeof *depth};
    sim_scene_render(s, objs, &r);
    sim_scene_free(s);
    return depth;
}

/* Camera Z where the ray of row y meets the floor, or 0 for none. */
static double floor_z(int y)
{
    double p = SIM_CAMERA_PITCH_DEG * PI / 180, v = (y - H / 2.0) / sim_scene_focal(W);
    double den = v * cos(p) + sin(p);
    return den > 0 ? SIM_CAMERA_HEIGHT_M / den : 0;
}

static void test_depth_matches_floor_geometry(void **state)
{
    (void)state;
    struct sim_objects none = {0};
    uint16_t *depth = render_depth(&none);
    static const int rows[] = {200, 260, 300, 400, 479};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        double z = floor_z(rows[i]);
        assert_true(z > 0 && z < SIM_MAX_DEPTH_M);
        for (int x = 0; x < W; x += 97) /* Z is the same along a row: it is not ray length */
            assert_true(fabs(depth[rows[i] * W + x] - z * 1000) <= 1.0);
    }
    free(depth);
}

static void test_depth_is_zero_for_sky_and_beyond_ten_metres(void **state)
{
    (void)state;
    struct sim_objects none = {0};
    uint16_t *depth = render_depth(&none);
    for (int x = 0; x < W; x++)
        assert_int_equal(depth[x], 0); /* top row: sky */
    int y = 0;
    while (floor_z(y) == 0 || floor_z(y) > SIM_MAX_DEPTH_M)
        y++;
    assert_true(y > 1);
    assert_int_equal(depth[(y - 1) * W + W / 2], 0); /* floor, but beyond 10 m */
    assert_int_not_equal(depth[y * W + W / 2], 0);
    free(depth);
}

static void test_depth_at_sphere_centre_is_centre_z_minus_radius(void **state)
{
    (void)state;
    struct sim_objects objs = {.nspheres = 1};
    double cam[3] = {0, 0, 3.0};
    sim_scene_camera_to_world(cam, objs.spheres[0].center);
    objs.spheres[0].radius = 0.4;
    uint16_t *depth = render_depth(&objs);
    assert_true(abs((int)depth[H / 2 * W + W / 2] - 2600) <= 1);
    free(depth);
}

/* Off the axis the ray through a pixel meets the sphere where the
 * quadratic says; depth is that point's camera Z. */
static void test_depth_matches_off_axis_sphere(void **state)
{
    (void)state;
    struct sim_objects objs = {.nspheres = 1};
    double c[3] = {0.6, -0.3, 3.5}, r = 0.5, f = sim_scene_focal(W);
    sim_scene_camera_to_world(c, objs.spheres[0].center);
    objs.spheres[0].radius = r;
    uint16_t *depth = render_depth(&objs);
    int px = (int)lround(W / 2.0 + f * c[0] / c[2]), py = (int)lround(H / 2.0 + f * c[1] / c[2]);
    double d[3] = {(px - W / 2.0) / f, (py - H / 2.0) / f, 1};
    double a = d[0] * d[0] + d[1] * d[1] + 1, b = -(d[0] * c[0] + d[1] * c[1] + d[2] * c[2]);
    double cc = c[0] * c[0] + c[1] * c[1] + c[2] * c[2] - r * r;
    double t = (-b - sqrt(b * b - a * cc)) / a;
    assert_true(fabs(depth[py * W + px] - t * 1000) <= 2.0);
    assert_true(fabs(t - (c[2] - r)) < 0.05); /* and roughly centre Z minus radius */
    free(depth);
}

static void test_depth_matches_box_front_face(void **state)
{
    (void)state;
    struct sim_objects objs = {.nboxes = 1};
    double cam[3] = {0, 0, 3.0};
    struct sim_box *b = &objs.boxes[0];
    sim_scene_camera_to_world(cam, b->center);
    b->half[0] = b->half[1] = b->half[2] = 0.3;
    uint16_t *depth = render_depth(&objs);
    /* The centre ray goes down at the pitch angle and meets the face z = cz - 0.3. */
    double z = (b->center[2] - 0.3) / cos(SIM_CAMERA_PITCH_DEG * PI / 180);
    assert_true(fabs(depth[H / 2 * W + W / 2] - z * 1000) <= 1.0);
    free(depth);
}

/* ---- the camera interface ---- */

static struct camera *open_sim(void)
{
    char err[256] = "";
    struct cam_mode m = {W, H, 30};
    struct camera *cam = camera_new("sim", &m, err, sizeof err);
    if (!cam)
        fail_msg("camera_new: %s", err);
    return cam;
}

static void test_unknown_backend_names_the_known_ones(void **state)
{
    (void)state;
    char err[256] = "";
    struct cam_mode m = {W, H, 30};
    assert_null(camera_new("realsense9", &m, err, sizeof err));
    assert_non_null(strstr(err, "realsense9"));
    assert_non_null(strstr(err, "sim"));
}

static void test_unsupported_mode_names_the_supported_ones(void **state)
{
    (void)state;
    char err[256] = "";
    struct cam_mode bad_size = {800, 600, 30}, bad_rate = {640, 480, 25};
    assert_null(camera_new("sim", &bad_size, err, sizeof err));
    assert_non_null(strstr(err, "800x600"));
    assert_non_null(strstr(err, "1280x720"));
    assert_null(camera_new("sim", &bad_rate, err, sizeof err));
    assert_non_null(strstr(err, "6, 15, 30, 60"));
}

static void test_backend_names_and_modes_are_known_before_opening(void **state)
{
    (void)state;
    const char *const *names = camera_backend_names();
    assert_string_equal(names[0], "sim");
    assert_null(camera_backend_modes("realsense9"));
    assert_null(camera_backend_modes(NULL));
    const struct cam_modes *m = camera_backend_modes("sim");
    assert_non_null(m);
    assert_int_equal(m->nresolutions, 3);
    assert_int_equal(m->resolutions[1][0], 1280);
    assert_int_equal(m->resolutions[1][1], 720);
    assert_int_equal(m->nrates, 4);
    assert_int_equal(m->rates[0], 6);
    assert_int_equal(m->rates[3], 60);
}

static void test_every_supported_resolution_opens(void **state)
{
    (void)state;
    static const struct cam_mode modes[] = {{640, 480, 6}, {1280, 720, 15}, {424, 240, 60}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char err[256] = "";
        struct camera *cam = camera_new("sim", &modes[i], err, sizeof err);
        assert_non_null(cam);
        assert_int_equal(camera_mode(cam)->width, modes[i].width);
        const struct cam_intrinsics *in = camera_intrinsics(cam, CAM_DEPTH);
        assert_int_equal(in->height, modes[i].height);
        double hfov = 2 * atan(in->width / 2.0 / in->fx) * 180 / PI;
        assert_true(fabs(hfov - 69.0) < 0.01);
        assert_true(in->fx == in->fy);
        camera_free(cam);
    }
}

static void test_identity_is_a_simulated_d435_with_stable_serial(void **state)
{
    (void)state;
    struct camera *a = open_sim(), *b = open_sim();
    assert_string_equal(camera_name(a), "Intel RealSense D435 (simulated)");
    assert_string_equal(camera_firmware(a), "5.16.0.1");
    assert_int_equal(strlen(camera_serial(a)), 12);
    assert_int_equal(strspn(camera_serial(a), "0123456789"), 12);
    assert_string_equal(camera_serial(a), camera_serial(b));
    assert_true(camera_depth_scale(a) == 0.001);
    camera_free(a);
    camera_free(b);
}

static void test_stream_names_round_trip(void **state)
{
    (void)state;
    for (int s = 0; s < CAM_NSTREAMS; s++)
        assert_int_equal(cam_stream_parse(cam_stream_name(s)), s);
    assert_int_equal(cam_stream_parse("infrared-3"), -1);
    assert_string_equal(cam_stream_name(CAM_INFRARED2), "infrared-2");
    assert_string_equal(cam_format_name(CAM_FORMAT_Z16), "Z16");
}

static void test_option_set_then_get_returns_value(void **state)
{
    (void)state;
    struct camera *cam = open_sim();
    char err[256] = "";
    double v = 0;
    assert_int_equal(camera_get_option(cam, "laser_power", &v), 0);
    assert_true(v == 150);
    assert_int_equal(camera_set_option(cam, "laser_power", 240, err, sizeof err), 0);
    assert_int_equal(camera_get_option(cam, "laser_power", &v), 0);
    assert_true(v == 240);
    assert_int_equal(camera_set_option(cam, "brightness", -20, err, sizeof err), 0);
    assert_int_equal(camera_get_option(cam, "brightness", &v), 0);
    assert_true(v == -20);
    camera_free(cam);
}

static void test_option_out_of_range_names_range_and_step(void **state)
{
    (void)state;
    struct camera *cam = open_sim();
    char err[256] = "";
    double v = 0;
    assert_int_equal(camera_set_option(cam, "gain", 300, err, sizeof err), -1);
    assert_non_null(strstr(err, "16..248"));
    assert_int_equal(camera_set_option(cam, "laser_power", 100, err, sizeof err), -1);
    assert_non_null(strstr(err, "steps of 30"));
    assert_int_equal(camera_set_option(cam, "exposure", NAN, err, sizeof err), -1);
    assert_int_equal(camera_get_option(cam, "laser_power", &v), 0);
    assert_true(v == 150); /* unchanged */
    camera_free(cam);
}

static void test_read_only_option_refuses_set(void **state)
{
    (void)state;
    struct camera *cam = open_sim();
    char err[256] = "";
    assert_int_equal(camera_set_option(cam, "depth_units", 0.001, err, sizeof err), -1);
    assert_non_null(strstr(err, "read-only"));
    camera_free(cam);
}

static void test_unknown_option_lists_valid_ids(void **state)
{
    (void)state;
    struct camera *cam = open_sim();
    char err[512] = "";
    double v;
    assert_int_equal(camera_get_option(cam, "shutter", &v), -1);
    assert_int_equal(camera_set_option(cam, "shutter", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "shutter"));
    for (size_t i = 0; i < camera_option_count(cam); i++)
        assert_non_null(strstr(err, camera_option(cam, i)->id));
    assert_null(camera_option(cam, camera_option_count(cam)));
    camera_free(cam);
}

static void test_describe_has_the_documented_fields_under_4k(void **state)
{
    (void)state;
    struct camera *cam = open_sim();
    json_t *d = camera_describe(cam, false);
    assert_non_null(d);
    char *s = json_dumps(d, JSON_COMPACT);
    assert_true(strlen(s) < 4096);
    free(s);
    static const char *const keys[] = {"name", "serial", "firmwareVersion", "productId",
                                       "usbType", "physicalPort", "depthScale", "width",
                                       "height", "fps", "streams", "sensors", "intrinsics"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_non_null(json_object_get(d, keys[i]));
    assert_null(json_object_get(d, "options"));
    assert_string_equal(json_string_value(json_object_get(d, "productId")), "0B07");
    assert_int_equal(json_array_size(json_object_get(d, "streams")), 4);
    json_t *sensors = json_object_get(d, "sensors");
    assert_int_equal(json_array_size(sensors), 2);
    json_t *stereo = json_array_get(sensors, 0);
    assert_string_equal(json_string_value(json_object_get(stereo, "name")), "Stereo Module");
    json_t *depth = json_array_get(json_object_get(stereo, "streams"), 0);
    assert_string_equal(json_string_value(json_object_get(depth, "type")), "depth");
    assert_string_equal(json_string_value(json_object_get(depth, "format")), "Z16");
    assert_int_equal(json_array_size(json_object_get(depth, "resolutions")), 3);
    json_t *ci = json_object_get(json_object_get(d, "intrinsics"), "color");
    assert_string_equal(json_string_value(json_object_get(ci, "model")), "brown-conrady");
    assert_int_equal(json_array_size(json_object_get(ci, "coeffs")), 5);
    json_decref(d);
    camera_free(cam);
}

static void test_full_describe_lists_options_with_values(void **state)
{
    (void)state;
    struct camera *cam = open_sim();
    char err[256];
    assert_int_equal(camera_set_option(cam, "gain", 32, err, sizeof err), 0);
    json_t *d = camera_describe(cam, true);
    json_t *opts = json_object_get(d, "options");
    assert_int_equal(json_array_size(opts), camera_option_count(cam));
    bool found = false;
    for (size_t i = 0; i < json_array_size(opts); i++) {
        json_t *o = json_array_get(opts, i);
        if (strcmp(json_string_value(json_object_get(o, "id")), "gain") == 0) {
            assert_true(json_number_value(json_object_get(o, "value")) == 32);
            assert_true(json_number_value(json_object_get(o, "default")) == 16);
            assert_false(json_is_true(json_object_get(o, "readOnly")));
            found = true;
        }
    }
    assert_true(found);
    json_decref(d);
    camera_free(cam);
}

/* ---- the capture thread ---- */

struct sink {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int framesets;
    unsigned last_mask;
    uint64_t last_number;
    int64_t last_mono;
    bool numbers_ok, stamps_ok, marker_ok;
    int want;              /* stream to copy, -1 for none */
    uint8_t *copy;         /* the latest frame of that stream */
    size_t copy_len;
};

static void sink_init(struct sink *k, int want)
{
    memset(k, 0, sizeof *k);
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->cond, NULL);
    k->numbers_ok = k->stamps_ok = k->marker_ok = true;
    k->want = want;
}

static void sink_free(struct sink *k)
{
    pthread_mutex_destroy(&k->lock);
    pthread_cond_destroy(&k->cond);
    free(k->copy);
}

static void sink_frames(void *user, const struct cam_frameset *set)
{
    struct sink *k = user;
    pthread_mutex_lock(&k->lock);
    unsigned mask = 0;
    for (size_t i = 0; i < set->count; i++) {
        const struct cam_frame *f = &set->frames[i];
        mask |= CAM_MASK(f->stream);
        if (f->number != k->last_number + 1 || f->capture_mono_us <= k->last_mono)
            k->numbers_ok = false;
        if (f->number != set->frames[0].number ||
            f->capture_wall_us != set->frames[0].capture_wall_us)
            k->stamps_ok = false;
        if (f->stream == CAM_COLOR) {
            uint32_t ms = 0;
            if (!marker_read_rgb(f->data, f->width, f->height, f->stride, &ms) ||
                ms != (uint32_t)(f->capture_wall_us / 1000))
                k->marker_ok = false;
        }
        if ((int)f->stream == k->want) {
            size_t len = f->stride * f->height;
            if (!k->copy)
                k->copy = malloc(len);
            memcpy(k->copy, f->data, len);
            k->copy_len = len;
        }
    }
    k->last_number = set->frames[0].number;
    k->last_mono = set->frames[0].capture_mono_us;
    k->last_mask = mask;
    k->framesets++;
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
}

/* Waits until the sink has seen n framesets in all, for at most 10 s. */
static bool sink_wait(struct sink *k, int n)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&k->lock);
    int rc = 0;
    while (k->framesets < n && rc == 0)
        rc = pthread_cond_timedwait(&k->cond, &k->lock, &deadline);
    bool ok = k->framesets >= n;
    pthread_mutex_unlock(&k->lock);
    return ok;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_start_delivers_numbered_framesets_of_all_streams(void **state)
{
    (void)state;
    struct camera *cam = open_sim();
    struct sink k;
    sink_init(&k, -1);
    char err[256] = "";
    assert_int_equal(camera_start(cam, CAM_MASK_ALL, sink_frames, &k, err, sizeof err), 0);
    assert_true(sink_wait(&k, 10));
    camera_stop(cam);
    pthread_mutex_lock(&k.lock);
    int seen = k.framesets;
    assert_true(k.numbers_ok);
    assert_true(k.stamps_ok);
    assert_int_equal(k.last_mask, CAM_MASK_ALL);
    pthread_mutex_unlock(&k.lock);
    sleep_ms(100);
    assert_int_equal(k.framesets, seen); /* nothing after stop */
    camera_free(cam);
    sink_free(&k);
}

static void test_marker_in_color_frames_decodes_to_capture_time(void **state)
{
    (void)state;
    struct camera *cam = open_sim();
    struct sink k;
    sink_init(&k, -1);
    char err[256] = "";
    assert_int_equal(camera_start(cam, CAM_MASK(CAM_COLOR), sink_frames, &k, err, sizeof err), 0);
    assert_true(sink_wait(&k, 3));
    camera_stop(cam);
    assert_true(k.marker_ok);
    camera_free(cam);
    sink_free(&k);
}

static void test_set_streams_changes_which_frames_arrive(void **state)
{
    (void)state;
    struct camera *cam = open_sim();
    struct sink k;
    sink_init(&k, -1);
    char err[256] = "";
    assert_int_equal(camera_start(cam, CAM_MASK(CAM_DEPTH), sink_frames, &k, err, sizeof err), 0);
    assert_true(sink_wait(&k, 2));
    assert_int_equal(k.last_mask, CAM_MASK(CAM_DEPTH));
    unsigned next = CAM_MASK(CAM_COLOR) | CAM_MASK(CAM_INFRARED2);
    camera_set_streams(cam, next);
    pthread_mutex_lock(&k.lock);
    int now = k.framesets;
    pthread_mutex_unlock(&k.lock);
    assert_true(sink_wait(&k, now + 2)); /* the first may have started before the change */
    assert_int_equal(k.last_mask, next);
    camera_set_streams(cam, 0);
    sleep_ms(150); /* let a frameset in flight land */
    pthread_mutex_lock(&k.lock);
    now = k.framesets;
    pthread_mutex_unlock(&k.lock);
    sleep_ms(200);
    assert_int_equal(k.framesets, now); /* an empty mask captures nothing */
    camera_set_streams(cam, CAM_MASK(CAM_INFRARED1));
    assert_true(sink_wait(&k, now + 1));
    assert_true(k.numbers_ok); /* numbering carries on across the pause */
    camera_stop(cam);
    camera_free(cam);
    sink_free(&k);
}

/* Starts cam on one stream, copies its first frame and stops. The caller frees. */
static uint8_t *grab(struct camera *cam, enum cam_stream s)
{
    struct sink k;
    sink_init(&k, (int)s);
    char err[256] = "";
    assert_int_equal(camera_start(cam, CAM_MASK(s), sink_frames, &k, err, sizeof err), 0);
    assert_true(sink_wait(&k, 1));
    camera_stop(cam);
    uint8_t *copy = k.copy;
    k.copy = NULL;
    sink_free(&k);
    return copy;
}

/* Mean absolute difference of horizontal neighbours in the lower half:
 * dots make an infrared image rough. */
static double roughness(const uint8_t *y8)
{
    double sum = 0;
    for (int y = H / 2; y < H; y++)
        for (int x = 0; x + 1 < W; x++)
            sum += abs(y8[y * W + x + 1] - y8[y * W + x]);
    return sum / ((H / 2) * (W - 1));
}

static void test_ir_dots_disappear_when_emitter_disabled(void **state)
{
    (void)state;
    struct camera *cam = open_sim();
    char err[256];
    uint8_t *on = grab(cam, CAM_INFRARED1);
    assert_int_equal(camera_set_option(cam, "emitter_enabled", 0, err, sizeof err), 0);
    uint8_t *off = grab(cam, CAM_INFRARED1);
    double r_on = roughness(on), r_off = roughness(off);
    assert_true(r_on > 3 * r_off);
    free(on);
    free(off);
    camera_free(cam);
}

static void test_laser_power_scales_dots(void **state)
{
    (void)state;
    struct camera *cam = open_sim();
    char err[256];
    assert_int_equal(camera_set_option(cam, "laser_power", 30, err, sizeof err), 0);
    uint8_t *low = grab(cam, CAM_INFRARED2);
    assert_int_equal(camera_set_option(cam, "laser_power", 300, err, sizeof err), 0);
    uint8_t *high = grab(cam, CAM_INFRARED2);
    assert_true(roughness(high) > 2 * roughness(low));
    free(low);
    free(high);
    camera_free(cam);
}

/* Mean of the lower half of an RGB8 image, away from the marker. */
static double mean_rgb(const uint8_t *rgb)
{
    double sum = 0;
    for (size_t i = (size_t)W * (H / 2) * 3; i < (size_t)W * H * 3; i++)
        sum += rgb[i];
    return sum / ((size_t)W * (H / 2) * 3);
}

static void test_color_exposure_brightens_color(void **state)
{
    (void)state;
    struct camera *cam = open_sim();
    char err[256];
    uint8_t *dim = grab(cam, CAM_COLOR);
    assert_int_equal(camera_set_option(cam, "color_exposure", 312, err, sizeof err), 0);
    uint8_t *bright = grab(cam, CAM_COLOR);
    assert_true(mean_rgb(bright) > 1.3 * mean_rgb(dim));
    free(dim);
    free(bright);
    camera_free(cam);
}

static void test_start_twice_fails_and_stop_when_idle_is_noop(void **state)
{
    (void)state;
    struct camera *cam = open_sim();
    struct sink k;
    sink_init(&k, -1);
    char err[256] = "";
    camera_stop(cam);
    assert_int_equal(camera_start(cam, 0, sink_frames, &k, err, sizeof err), 0);
    assert_int_equal(camera_start(cam, 0, sink_frames, &k, err, sizeof err), -1);
    assert_non_null(strstr(err, "already"));
    camera_free(cam); /* stops it */
    assert_int_equal(k.framesets, 0);
    sink_free(&k);
    camera_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_matches_floor_geometry),
        cmocka_unit_test(test_depth_is_zero_for_sky_and_beyond_ten_metres),
        cmocka_unit_test(test_depth_at_sphere_centre_is_centre_z_minus_radius),
        cmocka_unit_test(test_depth_matches_off_axis_sphere),
        cmocka_unit_test(test_depth_matches_box_front_face),
        cmocka_unit_test(test_unknown_backend_names_the_known_ones),
        cmocka_unit_test(test_backend_names_and_modes_are_known_before_opening),
        cmocka_unit_test(test_unsupported_mode_names_the_supported_ones),
        cmocka_unit_test(test_every_supported_resolution_opens),
        cmocka_unit_test(test_identity_is_a_simulated_d435_with_stable_serial),
        cmocka_unit_test(test_stream_names_round_trip),
        cmocka_unit_test(test_option_set_then_get_returns_value),
        cmocka_unit_test(test_option_out_of_range_names_range_and_step),
        cmocka_unit_test(test_read_only_option_refuses_set),
        cmocka_unit_test(test_unknown_option_lists_valid_ids),
        cmocka_unit_test(test_describe_has_the_documented_fields_under_4k),
        cmocka_unit_test(test_full_describe_lists_options_with_values),
        cmocka_unit_test(test_start_delivers_numbered_framesets_of_all_streams),
        cmocka_unit_test(test_marker_in_color_frames_decodes_to_capture_time),
        cmocka_unit_test(test_set_streams_changes_which_frames_arrive),
        cmocka_unit_test(test_ir_dots_disappear_when_emitter_disabled),
        cmocka_unit_test(test_laser_power_scales_dots),
        cmocka_unit_test(test_color_exposure_brightens_color),
        cmocka_unit_test(test_start_twice_fails_and_stop_when_idle_is_noop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
