/* test_camera_realsense.c - the librealsense2 backend (camera_realsense*.c)
 * through camera.h, on a .bag that librealsense's recorder wrote from a
 * software device fed with the simulated scene (tests/support/rsbag.c):
 * every frameset holds the four streams of one instant, the depth frames
 * are bit for bit the recorded ones, the description is the recording's,
 * and what a recording cannot do (set options, reset) is refused clearly.
 *
 * Without librealsense2 at configure time it prints "SKIPPED:
 * librealsense2 not installed (see docs/CAMERAS.md)" and exits 77. */
#include <stdio.h>

#ifndef PORTHOLE_HAVE_REALSENSE

int main(void)
{
    printf("SKIPPED: librealsense2 not installed (see docs/CAMERAS.md)\n");
    return 77;
}

#else

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "robot/camera.h"
#include "rsbag.h"

#define W 424
#define H 240
#define WANT_SETS 20

static char bag_dir[64], bag_path[128], spec[160];

/* What the capture thread saw, checked on the test's thread. */
struct seen {
    pthread_mutex_t lock;
    int sets, complete, depth_exact, depth_wrong, same_instant;
    const uint16_t *depth_want;
};

static void on_frames(void *user, const struct cam_frameset *set)
{
    struct seen *s = user;
    unsigned streams = 0;
    bool exact = false, same = true;
    for (size_t i = 0; i < set->count; i++) {
        const struct cam_frame *f = &set->frames[i];
        streams |= CAM_MASK(f->stream);
        same &= f->number == set->frames[0].number &&
                f->capture_mono_us == set->frames[0].capture_mono_us;
        if (f->stream == CAM_DEPTH && f->format == CAM_FORMAT_Z16 && f->width == W &&
            f->height == H) {
            exact = true;
            for (int y = 0; y < H && exact; y++)
                exact = memcmp(f->data + (size_t)y * f->stride, s->depth_want + (size_t)y * W,
                               2 * W) == 0;
        }
    }
    pthread_mutex_lock(&s->lock);
    s->sets++;
    s->complete += streams == CAM_MASK_ALL;
    s->same_instant += same;
    if (streams & CAM_MASK(CAM_DEPTH)) {
        s->depth_exact += exact;
        s->depth_wrong += !exact;
    }
    pthread_mutex_unlock(&s->lock);
}

static int sets_seen(struct seen *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->sets;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static void test_framesets_hold_every_stream_and_the_recorded_depth(void **state)
{
    (void)state;
    char err[256];
    struct camera *cam = camera_new(spec, NULL, err, sizeof err);
    if (!cam)
        fail_msg("camera_new(%s): %s", spec, err);
    const struct cam_mode *m = camera_mode(cam);
    assert_int_equal(m->width, W);
    assert_int_equal(m->height, H);
    assert_int_equal(m->fps, 30);
    assert_int_equal(camera_streams(cam), CAM_MASK_ALL);

    uint16_t *want = malloc(sizeof *want * W * H);
    assert_non_null(want);
    assert_int_equal(rsbag_render_depth(W, H, want), 0);
    struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .depth_want = want};
    assert_int_equal(camera_start(cam, CAM_MASK_ALL, on_frames, &s, err, sizeof err), 0);
    for (int i = 0; i < 200 && sets_seen(&s) < WANT_SETS; i++)
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    camera_stop(cam);
    fprintf(stderr, "%d framesets, %d with all four streams, %d exact depth, %d wrong\n", s.sets,
            s.complete, s.depth_exact, s.depth_wrong);
    assert_true(s.sets >= WANT_SETS); /* more than the recording holds: it loops */
    assert_int_equal(s.complete, s.sets);
    assert_int_equal(s.same_instant, s.sets);
    assert_int_equal(s.depth_wrong, 0);
    assert_int_equal(s.depth_exact, s.sets);
    free(want);
    camera_free(cam);
}

static void test_only_wanted_streams_are_handed_on(void **state)
{
    (void)state;
    char err[256];
    struct camera *cam = camera_new(spec, NULL, err, sizeof err);
    assert_non_null(cam);
    uint16_t *want = calloc((size_t)W * H, sizeof *want);
    assert_non_null(want);
    struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .depth_want = want};
    assert_int_equal(camera_start(cam, CAM_MASK(CAM_COLOR), on_frames, &s, err, sizeof err), 0);
    for (int i = 0; i < 200 && sets_seen(&s) < 5; i++)
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    camera_stop(cam);
    assert_true(s.sets >= 5);
    assert_int_equal(s.complete, 0);
    assert_int_equal(s.depth_exact + s.depth_wrong, 0); /* no depth frame was handed on */
    free(want);
    camera_free(cam);
}

static void test_the_description_is_the_recordings(void **state)
{
    (void)state;
    char err[256];
    struct camera *cam = camera_new(spec, NULL, err, sizeof err);
    assert_non_null(cam);
    assert_string_equal(camera_name(cam), RSBAG_NAME);
    assert_string_equal(camera_serial(cam), RSBAG_SERIAL);
    assert_string_equal(camera_firmware(cam), RSBAG_FIRMWARE);
    assert_true(camera_depth_scale(cam) == RSBAG_DEPTH_SCALE);
    json_t *d = camera_describe(cam, true);
    json_t *sensors = json_object_get(d, "sensors");
    assert_int_equal(json_array_size(sensors), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(sensors, 0), "name")),
                        "Stereo Module");
    json_t *res = json_object_get(
        json_array_get(json_object_get(json_array_get(sensors, 0), "streams"), 0),
        "resolutions");
    assert_int_equal(json_integer_value(json_array_get(json_array_get(res, 0), 0)), W);
    json_t *ir2 = json_object_get(json_object_get(d, "extrinsics"), "infrared-2");
    double tx = json_number_value(json_array_get(json_object_get(ir2, "translation"), 0));
    assert_true(tx < -0.0499 && tx > -0.0501);
    json_decref(d);

    double v;
    assert_int_equal(camera_get_option(cam, "laser_power", &v), 0);
    assert_true(v == RSBAG_LASER_POWER);
    assert_int_equal(camera_set_option(cam, "laser_power", 150, err, sizeof err), -1);
    assert_non_null(strstr(err, "read-only"));
    assert_false(camera_has_hw_reset(cam));
    assert_int_equal(camera_hw_reset(cam, err, sizeof err), -1);
    assert_non_null(strstr(err, "no hardware reset"));
    camera_free(cam);
}

static void test_bad_recordings_are_refused_with_one_line(void **state)
{
    (void)state;
    char err[256];
    assert_null(camera_new("realsense-file:/nonexistent/x.bag", NULL, err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
    char path[160];
    snprintf(path, sizeof path, "%s/not-a.bag", bag_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("this is not a rosbag\n", f);
    fclose(f);
    char bad[200];
    snprintf(bad, sizeof bad, "realsense-file:%s", path);
    assert_null(camera_new(bad, NULL, err, sizeof err));
    assert_non_null(strstr(err, "not a RealSense recording"));
    assert_null(strchr(err, '\n'));
    unlink(path);
}

int main(void)
{
    snprintf(bag_dir, sizeof bag_dir, "/tmp/porthole-rsunit-XXXXXX");
    if (!mkdtemp(bag_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(bag_path, sizeof bag_path, "%s/scene.bag", bag_dir);
    snprintf(spec, sizeof spec, "realsense-file:%s", bag_path);
    char err[512];
    struct rsbag_spec bag = {.path = bag_path, .width = W, .height = H, .fps = 30, .frames = 10};
    if (rsbag_write(&bag, err, sizeof err) != 0) {
        fprintf(stderr, "cannot write the recording: %s\n", err);
        rmdir(bag_dir);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framesets_hold_every_stream_and_the_recorded_depth),
        cmocka_unit_test(test_only_wanted_streams_are_handed_on),
        cmocka_unit_test(test_the_description_is_the_recordings),
        cmocka_unit_test(test_bad_recordings_are_refused_with_one_line),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(bag_path);
    rmdir(bag_dir);
    return failed;
}

#endif
