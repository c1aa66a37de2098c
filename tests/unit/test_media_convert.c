/* test_media_convert.c - unit tests of the shared I420 conversion: the same
 * bytes as videoconvert (what each encoder ran before), strides, sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "robot/media_convert.h"

#define W 64
#define H 48

/* videoconvert's I420 of a packed frame of format ("RGB", "GRAY8"). */
static GstBuffer *reference(const char *format, const uint8_t *packed, size_t size)
{
    char *desc = g_strdup_printf("appsrc name=s caps=video/x-raw,format=%s,width=%d,height=%d,"
                                 "framerate=30/1 ! videoconvert ! video/x-raw,format=I420 ! "
                                 "appsink name=k",
                                 format, W, H);
    GstElement *p = gst_parse_launch(desc, NULL);
    g_free(desc);
    assert_non_null(p);
    GstElement *s = gst_bin_get_by_name(GST_BIN(p), "s");
    GstElement *k = gst_bin_get_by_name(GST_BIN(p), "k");
    gst_element_set_state(p, GST_STATE_PLAYING);
    gst_app_src_push_buffer(GST_APP_SRC(s), gst_buffer_new_memdup(packed, size));
    GstSample *sample = gst_app_sink_pull_sample(GST_APP_SINK(k));
    assert_non_null(sample);
    GstBuffer *out = gst_buffer_ref(gst_sample_get_buffer(sample));
    gst_sample_unref(sample);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(s);
    gst_object_unref(k);
    gst_object_unref(p);
    return out;
}

static void assert_same_bytes(GstBuffer *a, GstBuffer *b)
{
    GstMapInfo ma, mb;
    assert_true(gst_buffer_map(a, &ma, GST_MAP_READ));
    assert_true(gst_buffer_map(b, &mb, GST_MAP_READ));
    assert_int_equal(ma.size, mb.size);
    assert_memory_equal(ma.data, mb.data, ma.size);
    gst_buffer_unmap(a, &ma);
    gst_buffer_unmap(b, &mb);
}

/* A camera frame with padded rows (stride > width * bpp) converts to what
 * videoconvert makes of the same pixels packed. */
static void check_format(enum cam_format cf, const char *format, int bpp)
{
    size_t row = (size_t)W * (size_t)bpp, stride = row + 12;
    uint8_t *padded = malloc(stride * H), *packed = malloc(row * H);
    for (int y = 0; y < H; y++)
        for (size_t x = 0; x < stride; x++)
            padded[(size_t)y * stride + x] = (uint8_t)(x * 7 + (size_t)y * 13 + x * (size_t)y);
    for (int y = 0; y < H; y++)
        memcpy(packed + (size_t)y * row, padded + (size_t)y * stride, row);
    struct media_convert *c = media_convert_new(W, H);
    struct cam_frame f = {.format = cf, .width = W, .height = H, .stride = stride, .data = padded};
    GstBuffer *mine = media_convert_frame(c, &f, 0.001);
    assert_non_null(mine);
    GstBuffer *ref = reference(format, packed, row * H);
    assert_same_bytes(mine, ref);
    gst_buffer_unref(mine);
    /* Again, with the converter made: the same bytes. */
    mine = media_convert_frame(c, &f, 0.001);
    assert_same_bytes(mine, ref);
    gst_buffer_unref(mine);
    gst_buffer_unref(ref);
    media_convert_free(c);
    free(padded);
    free(packed);
}

static void test_rgb_matches_videoconvert(void **state)
{
    (void)state;
    check_format(CAM_FORMAT_RGB8, "RGB", 3);
}

static void test_gray_matches_videoconvert(void **state)
{
    (void)state;
    check_format(CAM_FORMAT_Y8, "GRAY8", 1);
}

static void test_depth_and_bad_sizes(void **state)
{
    (void)state;
    struct media_convert *c = media_convert_new(W, H);
    uint16_t *z = calloc((size_t)W * H, sizeof *z);
    for (int i = 0; i < W * H; i++)
        z[i] = (uint16_t)(i * 3);
    struct cam_frame f = {.format = CAM_FORMAT_Z16, .width = W, .height = H,
                          .stride = W * sizeof *z, .data = (const uint8_t *)z};
    GstBuffer *b = media_convert_frame(c, &f, 0.001);
    assert_non_null(b);
    assert_int_equal(gst_buffer_get_size(b), W * H * 3 / 2);
    gst_buffer_unref(b);
    f.width = W / 2; /* not the converter's size: refused, not overrun */
    assert_null(media_convert_frame(c, &f, 0.001));
    GstCaps *caps = media_convert_caps(c, 30);
    GstCaps *want = gst_caps_from_string("video/x-raw,format=I420,width=64,height=48,"
                                         "framerate=30/1");
    assert_true(gst_caps_is_equal(caps, want));
    gst_caps_unref(caps);
    gst_caps_unref(want);
    media_convert_free(c);
    media_convert_free(NULL);
    free(z);
}

int main(void)
{
    gst_init(NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rgb_matches_videoconvert),
        cmocka_unit_test(test_gray_matches_videoconvert),
        cmocka_unit_test(test_depth_and_bad_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
