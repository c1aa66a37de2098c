/* test_media_convert.c - unit tests of the shared I420 conversion: the same
 * bytes as videoconvert (what each encoder ran before), strides, sizes, and
 * the frames' memory reused, bounded, and freed after the converter. */
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

/* A frame of W x H RGB for the memory tests. */
static struct cam_frame rgb_frame(uint8_t *pixels)
{
    return (struct cam_frame){.format = CAM_FORMAT_RGB8, .width = W, .height = H,
                              .stride = W * 3, .data = pixels};
}

static const void *frame_memory(GstBuffer *b)
{
    GstMapInfo map;
    assert_true(gst_buffer_map(b, &map, GST_MAP_READ));
    const void *p = map.data;
    gst_buffer_unmap(b, &map);
    return p;
}

/* A frame freed downstream gives its memory to the next frame: one block
 * for a whole stream of frames, not one allocation per frame. */
static void test_frame_memory_is_reused(void **state)
{
    (void)state;
    static uint8_t pixels[W * H * 3];
    struct cam_frame f = rgb_frame(pixels);
    struct media_convert *c = media_convert_new(W, H);
    GstBuffer *b = media_convert_frame(c, &f, 0.001);
    const void *first = frame_memory(b);
    gst_buffer_unref(b);
    for (int i = 0; i < 10; i++) {
        b = media_convert_frame(c, &f, 0.001);
        assert_ptr_equal(frame_memory(b), first);
        gst_buffer_unref(b);
    }
    media_convert_free(c);
}

/* appsrc copies a buffer to stamp its time; the copy shares the memory,
 * which comes back only when the copy is freed too. */
static void test_memory_comes_back_when_every_copy_is_freed(void **state)
{
    (void)state;
    static uint8_t pixels[W * H * 3];
    struct cam_frame f = rgb_frame(pixels);
    struct media_convert *c = media_convert_new(W, H);
    GstBuffer *a = media_convert_frame(c, &f, 0.001);
    const void *pa = frame_memory(a);
    GstBuffer *copy = gst_buffer_copy(a);
    gst_buffer_unref(a);
    GstBuffer *b = media_convert_frame(c, &f, 0.001);
    const void *pb = frame_memory(b);
    assert_ptr_not_equal(pb, pa); /* the copy still reads pa */
    assert_ptr_equal(frame_memory(copy), pa);
    gst_buffer_unref(copy);
    gst_buffer_unref(b);
    /* Both blocks are back: two frames at once need no third. */
    a = media_convert_frame(c, &f, 0.001);
    b = media_convert_frame(c, &f, 0.001);
    assert_true((frame_memory(a) == pa && frame_memory(b) == pb) ||
                (frame_memory(a) == pb && frame_memory(b) == pa));
    gst_buffer_unref(a);
    gst_buffer_unref(b);
    media_convert_free(c);
}

/* Encoders that hold every frame do not make the converter allocate
 * without bound: past MEDIA_CONVERT_MAX_FRAMES a frame is dropped. */
static void test_frames_held_downstream_are_bounded(void **state)
{
    (void)state;
    static uint8_t pixels[W * H * 3];
    struct cam_frame f = rgb_frame(pixels);
    struct media_convert *c = media_convert_new(W, H);
    GstBuffer *held[MEDIA_CONVERT_MAX_FRAMES];
    for (int i = 0; i < MEDIA_CONVERT_MAX_FRAMES; i++)
        assert_non_null(held[i] = media_convert_frame(c, &f, 0.001));
    assert_null(media_convert_frame(c, &f, 0.001));
    gst_buffer_unref(held[0]);
    assert_non_null(held[0] = media_convert_frame(c, &f, 0.001));
    for (int i = 0; i < MEDIA_CONVERT_MAX_FRAMES; i++)
        gst_buffer_unref(held[i]);
    media_convert_free(c);
}

/* A frame still queued in an encoder when the converter is freed stays
 * valid; its memory is freed with it (ASan and LSan check both). */
static void test_frames_outlive_the_converter(void **state)
{
    (void)state;
    static uint8_t pixels[W * H * 3];
    memset(pixels, 200, sizeof pixels);
    struct cam_frame f = rgb_frame(pixels);
    struct media_convert *c = media_convert_new(W, H);
    GstBuffer *b = media_convert_frame(c, &f, 0.001);
    GstBuffer *spare = media_convert_frame(c, &f, 0.001);
    gst_buffer_unref(spare); /* a block on the free list at the end too */
    media_convert_free(c);
    GstMapInfo map;
    assert_true(gst_buffer_map(b, &map, GST_MAP_READ));
    assert_int_equal(map.size, W * H * 3 / 2);
    assert_int_not_equal(map.data[0], 0); /* the luma of a light grey */
    gst_buffer_unmap(b, &map);
    gst_buffer_unref(b);
}

int main(void)
{
    gst_init(NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rgb_matches_videoconvert),
        cmocka_unit_test(test_gray_matches_videoconvert),
        cmocka_unit_test(test_depth_and_bad_sizes),
        cmocka_unit_test(test_frame_memory_is_reused),
        cmocka_unit_test(test_memory_comes_back_when_every_copy_is_freed),
        cmocka_unit_test(test_frames_held_downstream_are_bounded),
        cmocka_unit_test(test_frames_outlive_the_converter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
