/* test_colormap.c - unit tests of the depth colormap: stops, clamping, no data. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "robot/colormap.h"

/* Depth in metres at position t of the ramp. */
static double depth_at(double t)
{
    return COLORMAP_NEAR_M + t * (COLORMAP_FAR_M - COLORMAP_NEAR_M);
}

static void assert_rgb(const uint8_t c[3], int r, int g, int b)
{
    assert_int_equal(c[0], r);
    assert_int_equal(c[1], g);
    assert_int_equal(c[2], b);
}

static void test_colormap_no_data_is_black(void **state)
{
    (void)state;
    uint8_t c[3] = {1, 2, 3};
    colormap_color(0, c);
    assert_rgb(c, 0, 0, 0);
    colormap_color(-1, c);
    assert_rgb(c, 0, 0, 0);
    colormap_color(NAN, c);
    assert_rgb(c, 0, 0, 0);
}

static void test_colormap_hits_every_stop(void **state)
{
    (void)state;
    static const int stops[][4] = {{0, 0, 0, 143},     {125, 0, 0, 255}, {375, 0, 255, 255},
                                   {625, 255, 255, 0}, {875, 255, 0, 0}, {1000, 128, 0, 0}};
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        uint8_t c[3];
        colormap_color(depth_at(stops[i][0] / 1000.0), c);
        assert_rgb(c, stops[i][1], stops[i][2], stops[i][3]);
    }
}

static void test_colormap_interpolates_between_stops(void **state)
{
    (void)state;
    uint8_t c[3];
    colormap_color(depth_at(0.25), c); /* halfway from (0,0,255) to (0,255,255) */
    assert_rgb(c, 0, 128, 255);
    colormap_color(depth_at(0.5), c); /* halfway from (0,255,255) to (255,255,0) */
    assert_rgb(c, 128, 255, 128);
}

static void test_colormap_clamps_outside_near_and_far(void **state)
{
    (void)state;
    uint8_t c[3];
    colormap_color(0.05, c);
    assert_rgb(c, 0, 0, 143);
    colormap_color(25.0, c);
    assert_rgb(c, 128, 0, 0);
}

static void test_colormap_depth_image_matches_single_colors(void **state)
{
    (void)state;
    enum { W = 7, H = 3, ZSTRIDE = 9, RSTRIDE = 3 * W + 5 };
    uint16_t z[H * ZSTRIDE];
    uint8_t rgb[H * RSTRIDE];
    for (int i = 0; i < H * ZSTRIDE; i++)
        z[i] = (uint16_t)(i * 347 % 9000);
    z[0] = 0;
    z[1] = 65535;
    colormap_depth_to_rgb(z, ZSTRIDE * sizeof z[0], W, H, 0.001, rgb, RSTRIDE);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t want[3];
            colormap_color(z[y * ZSTRIDE + x] * 0.001, want);
            assert_memory_equal(&rgb[y * RSTRIDE + 3 * x], want, 3);
        }
}

static void test_colormap_depth_image_honours_other_scales(void **state)
{
    (void)state;
    uint16_t z[2] = {30000, 3000}; /* 3 m and 0.3 m at 0.1 mm per unit */
    uint8_t rgb[6], want[3];
    colormap_depth_to_rgb(z, sizeof z, 2, 1, 0.0001, rgb, sizeof rgb);
    colormap_color(3.0, want);
    assert_memory_equal(rgb, want, 3);
    colormap_color(0.3, want);
    assert_memory_equal(rgb + 3, want, 3);
}

static void test_colormap_settings_change_the_picture_and_come_back(void **state)
{
    (void)state;
    uint16_t z[3] = {500, 2250, 4000};
    uint8_t rgb[9], want[3];
    struct colormap_settings gray = {COLORMAP_GRAY, 0.5, 4.0}, def;
    char err[160];
    colormap_current(&def);
    assert_int_equal(def.ramp, COLORMAP_JET);
    assert_int_equal(colormap_configure(&gray, err, sizeof err), 0);
    colormap_depth_to_rgb(z, sizeof z, 3, 1, 0.001, rgb, sizeof rgb);
    assert_int_equal(rgb[0], 255);               /* near: white */
    assert_int_equal(rgb[6], 20);                /* far: dark, never black (no data) */
    assert_true(rgb[3] == rgb[4] && rgb[4] == rgb[5]);
    struct colormap_settings turbo = {COLORMAP_TURBO, 0.5, 4.0};
    assert_int_equal(colormap_configure(&turbo, err, sizeof err), 0);
    colormap_depth_to_rgb(z, sizeof z, 3, 1, 0.001, rgb, sizeof rgb);
    colormap_color_with(&turbo, 0.5, want);
    assert_memory_equal(rgb, want, 3);
    colormap_color_with(&turbo, 1.375, want);    /* a quarter: blue */
    assert_true(want[2] > want[0]);
    colormap_color_with(&turbo, 3.6, want);      /* near the end: red */
    assert_true(want[0] > want[2]);
    assert_int_equal(colormap_configure(&def, err, sizeof err), 0);
    colormap_depth_to_rgb(z, sizeof z, 3, 1, 0.001, rgb, sizeof rgb);
    colormap_color(0.5, want);
    assert_memory_equal(rgb, want, 3);
}

static void test_colormap_refuses_absurd_settings(void **state)
{
    (void)state;
    char err[160];
    struct colormap_settings bad[] = {
        {COLORMAP_JET, 5, 1}, {COLORMAP_JET, 0, 1}, {COLORMAP_JET, 1, 1000}, {COLORMAP_JET, 1, 1.01},
        {(enum colormap_ramp)7, 1, 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(colormap_configure(&bad[i], err, sizeof err), -1);
        assert_true(strlen(err) > 10);
    }
    assert_int_equal(colormap_ramp_parse("turbo"), COLORMAP_TURBO);
    assert_int_equal(colormap_ramp_parse("rainbow"), -1);
    assert_int_equal(colormap_ramp_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colormap_no_data_is_black),
        cmocka_unit_test(test_colormap_hits_every_stop),
        cmocka_unit_test(test_colormap_interpolates_between_stops),
        cmocka_unit_test(test_colormap_clamps_outside_near_and_far),
        cmocka_unit_test(test_colormap_depth_image_matches_single_colors),
        cmocka_unit_test(test_colormap_depth_image_honours_other_scales),
        cmocka_unit_test(test_colormap_settings_change_the_picture_and_come_back),
        cmocka_unit_test(test_colormap_refuses_absurd_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
