/* test_pointcloud.c - deprojection of depth frames: single pixels against
 * the pinhole formula, and whole frames of a plane, of holes and of the
 * simulated scene against what they must give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "robot/camera.h"
#include "robot/pointcloud.h"

static const struct cam_intrinsics intr = {
    .width = 64, .height = 48, .ppx = 32, .ppy = 24, .fx = 50, .fy = 50, .model = "none",
};

/* A Z16 frame of w x h, every pixel mm (0: no depth). Free data. */
static struct cam_frame plane(int w, int h, uint16_t mm)
{
    uint16_t *d = malloc((size_t)w * h * sizeof *d);
    for (int i = 0; i < w * h; i++)
        d[i] = mm;
    return (struct cam_frame){.stream = CAM_DEPTH, .format = CAM_FORMAT_Z16, .width = w,
                              .height = h, .stride = (size_t)w * 2, .data = (uint8_t *)d};
}

static void test_principal_point_is_on_the_axis(void **state)
{
    (void)state;
    double p[3];
    pointcloud_deproject(&intr, 32, 24, 2.0, p);
    assert_float_equal(p[0], 0, 1e-12);
    assert_float_equal(p[1], 0, 1e-12);
    assert_float_equal(p[2], 2.0, 1e-12);
    /* 50 px right of the centre at f = 50 px: 45 degrees, x = z. */
    pointcloud_deproject(&intr, 82, 24, 2.0, p);
    assert_float_equal(p[0], 2.0, 1e-12);
    pointcloud_deproject(&intr, 32, 0, 1.0, p);
    assert_float_equal(p[1], -24.0 / 50, 1e-12);
}

static void test_a_plane_gives_its_depth_and_the_frustum_bounds(void **state)
{
    (void)state;
    struct cam_frame f = plane(64, 48, 1500);
    struct pointcloud_stats st;
    pointcloud_measure(&f, &intr, 0.001, 1, &st);
    assert_int_equal(st.sampled, 64 * 48);
    assert_int_equal(st.points, 64 * 48);
    assert_float_equal(st.mean_z, 1.5, 1e-9);
    assert_float_equal(st.min[2], 1.5, 1e-9);
    assert_float_equal(st.max[2], 1.5, 1e-9);
    assert_float_equal(st.min[0], -32.0 / 50 * 1.5, 1e-9);
    assert_float_equal(st.max[0], 31.0 / 50 * 1.5, 1e-9);
    assert_float_equal(st.min[1], -24.0 / 50 * 1.5, 1e-9);
    free((void *)f.data);
}

static void test_holes_are_not_points_and_decimation_samples_fewer(void **state)
{
    (void)state;
    struct cam_frame f = plane(64, 48, 0);
    uint16_t *d = (uint16_t *)f.data;
    d[0] = 1000;           /* sampled at every step */
    d[5 * 64 + 7] = 3000;  /* not on the grid of step 4 */
    struct pointcloud_stats st;
    pointcloud_measure(&f, &intr, 0.001, 1, &st);
    assert_int_equal(st.points, 2);
    assert_float_equal(st.mean_z, 2.0, 1e-9);
    pointcloud_measure(&f, &intr, 0.001, 4, &st);
    assert_int_equal(st.sampled, 16 * 12);
    assert_int_equal(st.points, 1);
    assert_float_equal(st.max[2], 1.0, 1e-9);
    /* A step below 1 is taken as 1. */
    pointcloud_measure(&f, &intr, 0.001, 0, &st);
    assert_int_equal(st.sampled, 64 * 48);
    free((void *)f.data);
}

static void test_empty_frame_has_no_points(void **state)
{
    (void)state;
    struct cam_frame f = plane(8, 8, 0);
    struct pointcloud_stats st;
    pointcloud_measure(&f, &intr, 0.001, 2, &st);
    assert_int_equal(st.points, 0);
    assert_int_equal(st.sampled, 16);
    assert_float_equal(st.mean_z, 0, 0);
    free((void *)f.data);
}

/* The simulated camera's depth, through the camera interface: points in
 * front of the camera within its depth range. */
struct sim_capture {
    struct pointcloud_stats st;
    const struct camera *cam;
    int got;
};

static void on_frames(void *user, const struct cam_frameset *set)
{
    struct sim_capture *c = user;
    for (size_t i = 0; i < set->count; i++)
        if (set->frames[i].stream == CAM_DEPTH && c->got == 0) {
            pointcloud_measure(&set->frames[i], camera_intrinsics(c->cam, CAM_DEPTH),
                               camera_depth_scale(c->cam), 4, &c->st);
            c->got = 1;
        }
}

static void test_simulated_scene_is_in_front_of_the_camera(void **state)
{
    (void)state;
    char err[256];
    struct cam_mode mode = {640, 480, 30};
    struct camera *cam = camera_new("sim", &mode, err, sizeof err);
    assert_non_null(cam);
    struct sim_capture c = {.cam = cam};
    assert_int_equal(camera_start(cam, CAM_MASK(CAM_DEPTH), on_frames, &c, err, sizeof err), 0);
    for (int i = 0; i < 200 && !__atomic_load_n(&c.got, __ATOMIC_ACQUIRE); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    camera_stop(cam);
    assert_int_equal(c.got, 1);
    assert_int_equal(c.st.sampled, 160 * 120);
    assert_true(c.st.points > c.st.sampled / 2);
    assert_true(c.st.min[2] > 0.1);
    assert_true(c.st.max[2] < 20);
    assert_true(c.st.mean_z > c.st.min[2] && c.st.mean_z < c.st.max[2]);
    assert_true(c.st.min[0] < 0 && c.st.max[0] > 0);
    camera_free(cam);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_principal_point_is_on_the_axis),
        cmocka_unit_test(test_a_plane_gives_its_depth_and_the_frustum_bounds),
        cmocka_unit_test(test_holes_are_not_points_and_decimation_samples_fewer),
        cmocka_unit_test(test_empty_frame_has_no_points),
        cmocka_unit_test(test_simulated_scene_is_in_front_of_the_camera),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
