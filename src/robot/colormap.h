/* colormap.h - the colormap that turns depth into a picture.
 *
 * Depth d (metres) from near to far maps linearly onto a ramp; the default
 * is "jet" from COLORMAP_NEAR_M to COLORMAP_FAR_M: blue (near) - cyan -
 * green - yellow - red (far), piecewise linear through 5 stops:
 *   t = 0     (0,0,143)   t = 0.125 (0,0,255)   t = 0.375 (0,255,255)
 *   t = 0.625 (255,255,0) t = 0.875 (255,0,0)   t = 1     (128,0,0)
 * "turbo" is Google's Turbo (its published polynomial approximation) and
 * "gray" runs from white (near) to black (far). Depth below near clamps to
 * t = 0, beyond far to t = 1; 0 (no data) is black. The viewer's legend
 * draws the same ramps (web/colormap.js).
 *
 * The settings are the robot's: the depth video is encoded once for every
 * viewer, so a change shows to all of them from the next frame. */
#ifndef PORTHOLE_ROBOT_COLORMAP_H
#define PORTHOLE_ROBOT_COLORMAP_H

#include <stddef.h>
#include <stdint.h>

#define COLORMAP_NEAR_M 0.3
#define COLORMAP_FAR_M 6.0
#define COLORMAP_MIN_M 0.05  /* settable range limits, and the least span */
#define COLORMAP_MAX_M 65.0
#define COLORMAP_MIN_SPAN_M 0.05

enum colormap_ramp { COLORMAP_JET, COLORMAP_TURBO, COLORMAP_GRAY };

struct colormap_settings {
    enum colormap_ramp ramp;
    double near_m, far_m;
};

/* The ramp for a name ("jet", "turbo", "gray"), or -1. */
int colormap_ramp_parse(const char *name);
const char *colormap_ramp_name(enum colormap_ramp r);

/* The colour of depth d metres (d <= 0 means no data) as out[0..2] = R,G,B,
 * with the default settings (jet, 0.3 to 6 m). */
void colormap_color(double d_m, uint8_t out[3]);

/* The same with the given settings. */
void colormap_color_with(const struct colormap_settings *s, double d_m, uint8_t out[3]);

/* Changes the robot's settings: returns 0, or -1 with a sentence in err
 * (near and far within COLORMAP_MIN_M..COLORMAP_MAX_M, far - near at least
 * COLORMAP_MIN_SPAN_M). Any thread. */
int colormap_configure(const struct colormap_settings *s, char *err, size_t errlen);

/* The robot's current settings. Any thread. */
void colormap_current(struct colormap_settings *out);

/* Colorizes a Z16 image (units of depth_scale metres) into RGB8 with the
 * robot's current settings. Uses a lookup table rebuilt after each change;
 * safe to call from any thread. */
void colormap_depth_to_rgb(const uint16_t *z, size_t z_stride, int width, int height,
                           double depth_scale, uint8_t *rgb, size_t rgb_stride);

#endif
