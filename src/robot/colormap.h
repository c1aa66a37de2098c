/* colormap.h - the fixed colormap that turns depth into a picture.
 *
 * Depth d (metres) from COLORMAP_NEAR_M to COLORMAP_FAR_M maps linearly
 * onto the "jet" ramp: blue (near) - cyan - green - yellow - red (far),
 * piecewise linear through 5 stops:
 *   t = 0     (0,0,143)   t = 0.125 (0,0,255)   t = 0.375 (0,255,255)
 *   t = 0.625 (255,255,0) t = 0.875 (255,0,0)   t = 1     (128,0,0)
 * Depth below NEAR clamps to t = 0, beyond FAR to t = 1; 0 (no data) is
 * black. The viewer's legend draws the same ramp (web/colormap.js). */
#ifndef PORTHOLE_ROBOT_COLORMAP_H
#define PORTHOLE_ROBOT_COLORMAP_H

#include <stddef.h>
#include <stdint.h>

#define COLORMAP_NEAR_M 0.3
#define COLORMAP_FAR_M 6.0

/* The colour of depth d metres (d <= 0 means no data) as out[0..2] = R,G,B. */
void colormap_color(double d_m, uint8_t out[3]);

/* Colorizes a Z16 image (units of depth_scale metres) into RGB8. Uses a
 * lookup table built on first use; safe to call from any thread. */
void colormap_depth_to_rgb(const uint16_t *z, size_t z_stride, int width, int height,
                           double depth_scale, uint8_t *rgb, size_t rgb_stride);

#endif
