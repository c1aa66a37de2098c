/* colormap.c - the jet depth colormap, with a lookup table for millimetre
 * depth built once. */
#include "robot/colormap.h"

#include <math.h>
#include <pthread.h>

static const double colormap_stops[][4] = {
    {0, 0, 0, 143},       {0.125, 0, 0, 255}, {0.375, 0, 255, 255},
    {0.625, 255, 255, 0}, {0.875, 255, 0, 0}, {1, 128, 0, 0},
};
#define COLORMAP_NSTOPS (sizeof colormap_stops / sizeof colormap_stops[0])

void colormap_color(double d_m, uint8_t out[3])
{
    if (!(d_m > 0)) { /* also NaN */
        out[0] = out[1] = out[2] = 0;
        return;
    }
    double t = (d_m - COLORMAP_NEAR_M) / (COLORMAP_FAR_M - COLORMAP_NEAR_M);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    for (size_t i = 1; i < COLORMAP_NSTOPS; i++) {
        const double *a = colormap_stops[i - 1], *b = colormap_stops[i];
        if (t <= b[0]) {
            double f = (t - a[0]) / (b[0] - a[0]);
            for (int c = 0; c < 3; c++)
                out[c] = (uint8_t)lround(a[c + 1] + (b[c + 1] - a[c + 1]) * f);
            return;
        }
    }
    out[0] = 128, out[1] = out[2] = 0;
}

/* The table covers the one depth scale cameras use (millimetres); any other
 * scale is computed per pixel. */
#define COLORMAP_LUT_SCALE 0.001
static uint8_t colormap_lut[65536][3];
static pthread_once_t colormap_lut_once = PTHREAD_ONCE_INIT;

static void colormap_lut_build(void)
{
    for (int z = 0; z < 65536; z++)
        colormap_color(z * COLORMAP_LUT_SCALE, colormap_lut[z]);
}

void colormap_depth_to_rgb(const uint16_t *z, size_t z_stride, int width, int height,
                           double depth_scale, uint8_t *rgb, size_t rgb_stride)
{
    const int use_lut = fabs(depth_scale - COLORMAP_LUT_SCALE) < 1e-12;
    if (use_lut)
        pthread_once(&colormap_lut_once, colormap_lut_build);
    for (int y = 0; y < height; y++) {
        const uint16_t *zr = (const uint16_t *)((const uint8_t *)z + (size_t)y * z_stride);
        uint8_t *out = rgb + (size_t)y * rgb_stride;
        for (int x = 0; x < width; x++) {
            if (use_lut) {
                const uint8_t *c = colormap_lut[zr[x]];
                out[3 * x] = c[0], out[3 * x + 1] = c[1], out[3 * x + 2] = c[2];
            } else {
                colormap_color(zr[x] * depth_scale, &out[3 * x]);
            }
        }
    }
}
