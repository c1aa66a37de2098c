/* test_marker.c - unit tests of the capture-time marker: round trips,
 * robustness to coding noise, and refusing images without a marker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "robot/marker.h"

/* A colourful background so the marker is not read off a blank image. */
static uint8_t *make_image(int w, int h)
{
    uint8_t *img = malloc((size_t)w * h * 3);
    assert_non_null(img);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = &img[((size_t)y * w + x) * 3];
            p[0] = (uint8_t)(x * 7 + y), p[1] = (uint8_t)(y * 3), p[2] = (uint8_t)(x ^ y);
        }
    return img;
}

static void test_marker_block_size_is_width_over_40_at_least_4(void **state)
{
    (void)state;
    assert_int_equal(marker_block_size(640), 16);
    assert_int_equal(marker_block_size(1280), 32);
    assert_int_equal(marker_block_size(424), 10);
    assert_int_equal(marker_block_size(100), 4);
}

static void test_marker_round_trips_at_every_width(void **state)
{
    (void)state;
    static const int widths[] = {640, 1280, 424, 160};
    static const uint32_t values[] = {0, 0xffffffffu, 0x12345678u, 0x80000001u};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        int w = widths[i], h = 64;
        uint8_t *img = make_image(w, h);
        for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
            uint32_t got = 0;
            marker_stamp_rgb(img, w, h, (size_t)w * 3, values[k]);
            assert_true(marker_read_rgb(img, w, h, (size_t)w * 3, &got));
            assert_int_equal(got, values[k]);
        }
        free(img);
    }
}

/* A stand-in for lossy coding: 3x3 box blur, then noise of +-40 levels. */
static void degrade(uint8_t *img, int w, int h)
{
    size_t n = (size_t)w * h * 3;
    uint8_t *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, img, n);
    uint32_t seed = 12345;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                int sum = 0, cnt = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int xx = x + dx, yy = y + dy;
                        if (xx >= 0 && yy >= 0 && xx < w && yy < h) {
                            sum += copy[((size_t)yy * w + xx) * 3 + c];
                            cnt++;
                        }
                    }
                seed = seed * 1103515245u + 12345u;
                int v = sum / cnt + (int)((seed >> 16) % 81) - 40;
                img[((size_t)y * w + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    free(copy);
}

static void test_marker_survives_blur_and_noise(void **state)
{
    (void)state;
    int w = 640, h = 48;
    uint8_t *img = make_image(w, h);
    uint32_t got = 0;
    marker_stamp_rgb(img, w, h, (size_t)w * 3, 0xa5c3e1f0u);
    degrade(img, w, h);
    assert_true(marker_read_rgb(img, w, h, (size_t)w * 3, &got));
    assert_int_equal(got, 0xa5c3e1f0u);
    free(img);
}

/* Limited-range luma (16..235) as an I420 encoder produces it. */
static void test_marker_reads_from_limited_range_luma(void **state)
{
    (void)state;
    int w = 424, h = 40;
    size_t stride = (size_t)w + 8;
    uint8_t *img = make_image(w, h), *luma = calloc(stride * h, 1);
    assert_non_null(luma);
    marker_stamp_rgb(img, w, h, (size_t)w * 3, 987654321u);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = &img[((size_t)y * w + x) * 3];
            luma[y * stride + x] = (uint8_t)(16 + (66 * p[0] + 129 * p[1] + 25 * p[2]) / 256);
        }
    uint32_t got = 0;
    assert_true(marker_read_luma(luma, w, h, stride, &got));
    assert_int_equal(got, 987654321u);
    free(img);
    free(luma);
}

static void test_marker_missing_start_pattern_reads_false(void **state)
{
    (void)state;
    int w = 640, h = 32;
    uint8_t *img = calloc((size_t)w * h * 3, 1);
    assert_non_null(img);
    uint32_t got = 0;
    assert_false(marker_read_rgb(img, w, h, (size_t)w * 3, &got)); /* all black */
    memset(img, 128, (size_t)w * h * 3);
    assert_false(marker_read_rgb(img, w, h, (size_t)w * 3, &got)); /* all gray */
    /* A stamped marker with its first block blacked out. */
    marker_stamp_rgb(img, w, h, (size_t)w * 3, 0xffffffffu);
    for (int y = 0; y < 16; y++)
        memset(&img[(size_t)y * w * 3], 0, 16 * 3);
    assert_false(marker_read_rgb(img, w, h, (size_t)w * 3, &got));
    free(img);
}

static void test_marker_too_small_image_reads_false(void **state)
{
    (void)state;
    int w = 120, h = 8; /* 34 blocks of 4 need 136 pixels */
    uint8_t img[120 * 8 * 3];
    memset(img, 0, sizeof img);
    marker_stamp_rgb(img, w, h, (size_t)w * 3, 42);
    uint32_t got = 0;
    assert_false(marker_read_rgb(img, w, h, (size_t)w * 3, &got));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marker_block_size_is_width_over_40_at_least_4),
        cmocka_unit_test(test_marker_round_trips_at_every_width),
        cmocka_unit_test(test_marker_survives_blur_and_noise),
        cmocka_unit_test(test_marker_reads_from_limited_range_luma),
        cmocka_unit_test(test_marker_missing_start_pattern_reads_false),
        cmocka_unit_test(test_marker_too_small_image_reads_false),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
