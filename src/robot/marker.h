/* marker.h - a machine-readable capture-time stamp drawn into color frames.
 *
 * The marker is a row of MARKER_BLOCKS square blocks at the top-left corner
 * of the image, each block `marker_block_size(width)` pixels wide and high:
 * a start pattern (white, black), then 32 bits, most significant first,
 * white = 1 and black = 0. The 32 bits are the capture time in milliseconds
 * of CLOCK_REALTIME, modulo 2^32 (a browser on the same machine compares it
 * with Date.now()). Blocks are large enough to survive lossy video coding. */
#ifndef PORTHOLE_ROBOT_MARKER_H
#define PORTHOLE_ROBOT_MARKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MARKER_BITS 32
#define MARKER_BLOCKS (2 + MARKER_BITS)

/* Block edge in pixels for an image of this width: width / 40, at least 4. */
int marker_block_size(int width);

/* Draws the marker into an RGB8 image. */
void marker_stamp_rgb(uint8_t *rgb, int width, int height, size_t stride, uint32_t ms);

/* Reads the marker back from an RGB8 image (sampling each block's centre
 * area, threshold at mid-gray). Returns false when the start pattern is not
 * there. */
bool marker_read_rgb(const uint8_t *rgb, int width, int height, size_t stride, uint32_t *ms);

/* Same from an 8-bit luma plane (the Y of I420). */
bool marker_read_luma(const uint8_t *y, int width, int height, size_t stride, uint32_t *ms);

#endif
