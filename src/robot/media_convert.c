/* media_convert.c - a camera frame turned once into the encoders' I420. */
#include "robot/media_convert.h"

#include <gst/video/video.h>
#include <stdbool.h>
#include <stdlib.h>

#include "robot/colormap.h"

/* One GstVideoConverter per input layout (format and stride); a camera
 * keeps its layout, so each is made once. */
struct layout {
    GstVideoFormat format;
    size_t stride;
    GstVideoInfo info;
    GstVideoConverter *conv;
};

#define LAYOUTS 3 /* RGB, GRAY8, and the colour-mapped depth's RGB */

/* The I420 frames out at once (media_convert.h): the one being converted,
 * and for each encoder of the stream the two its appsrc queues and the one
 * it encodes. */
#define MAX_BLOCKS MEDIA_CONVERT_MAX_FRAMES

/* The frames' memory: blocks of one I420 frame, reused. A block comes back
 * when the last GstMemory wrapping it is freed, on whichever thread drops
 * it: each encoder's appsrc copies the buffer to stamp its own pipeline's
 * time, and the copies share the memory, so the buffer is not the unit
 * that comes back (a GstBufferPool discards a buffer whose memory a copy
 * still shares, and then allocates a new one per frame). The store lives
 * while the converter or any block out needs it. */
struct block {
    struct store *store;
    /* the frame follows, at BLOCK_HEAD bytes from the block's start */
};

/* The frame starts a cache line past the header, with malloc's alignment. */
#define BLOCK_HEAD 64

struct store {
    gint refs;       /* atomic: the converter's, and one per block out */
    size_t size;     /* of a frame */
    GMutex lock;
    int nblocks;     /* under lock: made so far, at most MAX_BLOCKS */
    int nfree;       /* under lock */
    struct block *free_blocks[MAX_BLOCKS]; /* under lock */
};

struct media_convert {
    int width, height;
    GstVideoInfo out; /* I420, width x height */
    struct layout layouts[LAYOUTS];
    uint8_t *rgb;     /* Z16 colour-mapped, width * 3 * height */
    struct store *store;
};

static void store_unref(struct store *st)
{
    if (!g_atomic_int_dec_and_test(&st->refs))
        return;
    /* Every block is back: each one out held a reference. */
    for (int i = 0; i < st->nfree; i++)
        free(st->free_blocks[i]);
    g_mutex_clear(&st->lock);
    g_free(st);
}

/* Any thread: the last GstMemory of a block's frame is freed. */
static void block_return(gpointer data)
{
    struct block *b = data;
    struct store *st = b->store;
    g_mutex_lock(&st->lock);
    st->free_blocks[st->nfree++] = b;
    g_mutex_unlock(&st->lock);
    store_unref(st);
}

/* The capture thread: a free block wrapped as a buffer, or NULL when
 * MAX_BLOCKS are out or memory is short. */
static GstBuffer *store_take(struct store *st)
{
    struct block *b = NULL;
    g_mutex_lock(&st->lock);
    if (st->nfree > 0) {
        b = st->free_blocks[--st->nfree];
    } else if (st->nblocks < MAX_BLOCKS && (b = malloc(BLOCK_HEAD + st->size))) {
        b->store = st;
        st->nblocks++;
    }
    g_mutex_unlock(&st->lock);
    if (!b)
        return NULL;
    g_atomic_int_inc(&st->refs);
    return gst_buffer_new_wrapped_full(0, (uint8_t *)b + BLOCK_HEAD, st->size, 0, st->size, b,
                                       block_return);
}

struct media_convert *media_convert_new(int width, int height)
{
    struct media_convert *c = g_new0(struct media_convert, 1);
    c->width = width;
    c->height = height;
    /* The defaults videoconvert fixates for RGB in, I420 out (BT.601 at
     * these sizes), so that the encoders see what they saw before. */
    gst_video_info_set_format(&c->out, GST_VIDEO_FORMAT_I420, (guint)width, (guint)height);
    c->store = g_new0(struct store, 1);
    c->store->refs = 1;
    c->store->size = c->out.size;
    g_mutex_init(&c->store->lock);
    return c;
}

void media_convert_free(struct media_convert *c)
{
    if (!c)
        return;
    for (int i = 0; i < LAYOUTS; i++)
        if (c->layouts[i].conv)
            gst_video_converter_free(c->layouts[i].conv);
    free(c->rgb);
    store_unref(c->store); /* frames still out keep it until they come back */
    g_free(c);
}

GstCaps *media_convert_caps(const struct media_convert *c, int fps)
{
    /* What videoconvert negotiated when each encoder converted (no
     * colorimetry field: the encoders take GstVideoInfo's defaults for
     * the size, BT.601, as the conversion does). */
    return gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width",
                               G_TYPE_INT, c->width, "height", G_TYPE_INT, c->height,
                               "framerate", GST_TYPE_FRACTION, fps, 1, NULL);
}

/* The converter for frames of format and stride, made on first use. */
static struct layout *layout_for(struct media_convert *c, GstVideoFormat format, size_t stride)
{
    struct layout *free_slot = NULL;
    for (int i = 0; i < LAYOUTS; i++) {
        struct layout *l = &c->layouts[i];
        if (l->conv && l->format == format && l->stride == stride)
            return l;
        if (l->conv && l->format == format) { /* another stride: replace */
            gst_video_converter_free(l->conv);
            l->conv = NULL;
        }
        if (!l->conv && !free_slot)
            free_slot = l;
    }
    if (!free_slot)
        return NULL;
    struct layout *l = free_slot;
    gst_video_info_set_format(&l->info, format, (guint)c->width, (guint)c->height);
    l->info.stride[0] = (gint)stride;
    l->info.size = stride * (size_t)c->height;
    GstVideoInfo out = c->out;
    l->conv = gst_video_converter_new(&l->info, &out,
                                      gst_structure_new("GstVideoConverter",
                                                        GST_VIDEO_CONVERTER_OPT_THREADS,
                                                        G_TYPE_UINT, 1u, NULL));
    l->format = format;
    l->stride = stride;
    return l->conv ? l : NULL;
}

GstBuffer *media_convert_frame(struct media_convert *c, const struct cam_frame *f,
                               double depth_scale)
{
    if (f->width != c->width || f->height != c->height)
        return NULL;
    const uint8_t *src = f->data;
    size_t stride = f->stride;
    GstVideoFormat format = f->format == CAM_FORMAT_Y8 ? GST_VIDEO_FORMAT_GRAY8
                                                       : GST_VIDEO_FORMAT_RGB;
    if (f->format == CAM_FORMAT_Z16) {
        stride = (size_t)c->width * 3;
        if (!c->rgb && !(c->rgb = malloc(stride * (size_t)c->height)))
            return NULL;
        colormap_depth_to_rgb((const uint16_t *)f->data, f->stride, c->width, c->height,
                              depth_scale, c->rgb, stride);
        src = c->rgb;
    }
    struct layout *l = layout_for(c, format, stride);
    if (!l)
        return NULL;
    /* The camera's memory, wrapped without a copy: it is valid for the
     * duration of the capture callback, and the conversion ends in it. */
    GstBuffer *in = gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, (gpointer)src,
                                                l->info.size, 0, l->info.size, NULL, NULL);
    GstBuffer *out = store_take(c->store);
    GstVideoFrame vin, vout;
    bool ok = false;
    if (in && out && gst_video_frame_map(&vin, &l->info, in, GST_MAP_READ)) {
        if (gst_video_frame_map(&vout, &c->out, out, GST_MAP_WRITE)) {
            gst_video_converter_frame(l->conv, &vin, &vout);
            gst_video_frame_unmap(&vout);
            ok = true;
        }
        gst_video_frame_unmap(&vin);
    }
    if (in)
        gst_buffer_unref(in);
    if (!ok && out) {
        gst_buffer_unref(out);
        out = NULL;
    }
    return out;
}
