/* media_convert.h - a camera frame turned once into the encoders' I420.
 *
 * Every encoder of a stream (the full size and, for viewers on slow
 * links, the half size) takes the same I420 frame of the camera's size:
 * the colour conversion runs once per frame here, on the capture thread,
 * and each encoder pipeline only scales (or passes the frame through).
 * Before, each encoder converted the same RGB frame itself, so a second
 * size cost a second full-size conversion.
 *
 * Formats: RGB8 and Y8 frames are converted directly from the camera's
 * memory (no copy of the RGB frame first); Z16 is colour-mapped to RGB
 * (colormap.h) into a scratch frame first, then converted.
 *
 * Memory: a frame's memory comes back to the converter when the last
 * buffer sharing it is freed (each encoder's appsrc copies the buffer to
 * stamp its pipeline's time), and the next frame reuses it: a converter
 * allocates at most MEDIA_CONVERT_MAX_FRAMES frames in its life, not one
 * per frame. A new block per frame (460,800 bytes at 640x480, 30 times a
 * second) would be a fresh mapping with its page faults each time, since
 * main.c fixes malloc's mmap threshold at 128 KiB (docs/PERFORMANCE.md,
 * issue #15). When that many are still held downstream the frame is
 * dropped, as a full encoder queue drops it.
 *
 * Threads: one converter belongs to one thread (the capture thread);
 * new and free on the main thread while the capture does not use it. */
#ifndef PORTHOLE_ROBOT_MEDIA_CONVERT_H
#define PORTHOLE_ROBOT_MEDIA_CONVERT_H

#include <gst/gst.h>

#include "robot/camera.h"

struct media_convert;

/* The most frames of one converter alive at once (see Memory above). */
#define MEDIA_CONVERT_MAX_FRAMES 8

/* For frames of width x height (even sizes; the camera's mode). */
struct media_convert *media_convert_new(int width, int height);
void media_convert_free(struct media_convert *c); /* NULL is a no-op */

/* The caps of what media_convert_frame returns (I420 at the camera's
 * size and rate fps). The caller owns them. */
GstCaps *media_convert_caps(const struct media_convert *c, int fps);

/* A new I420 buffer of frame f (its size must be the converter's), or
 * NULL: a frame of another size, out of memory, or MEDIA_CONVERT_MAX_FRAMES
 * frames still held downstream. The caller owns the buffer; its memory
 * goes back to the converter when the last buffer sharing it is freed, on
 * any thread, also after media_convert_free. depth_scale maps Z16 to
 * colours (colormap.h). */
GstBuffer *media_convert_frame(struct media_convert *c, const struct cam_frame *f,
                               double depth_scale);

#endif
