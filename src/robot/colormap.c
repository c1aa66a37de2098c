/* colormap.c - the depth colormaps (jet, turbo, gray), with a lookup
 * table for millimetre depth rebuilt when the settings change. */
#include "robot/colormap.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const double colormap_stops[][4] = {
    {0, 0, 0, 143},       {0.125, 0, 0, 255}, {0.375, 0, 255, 255},
    {0.625, 255, 255, 0}, {0.875, 255, 0, 0}, {1, 128, 0, 0},
};
#define COLORMAP_NSTOPS (sizeof colormap_stops / sizeof colormap_stops[0])

static const char *const colormap_names[] = {
    [COLORMAP_JET] = "jet", [COLORMAP_TURBO] = "turbo", [COLORMAP_GRAY] = "gray"};

int colormap_ramp_parse(const char *name)
{
    for (int i = 0; name && i < (int)(sizeof colormap_names / sizeof colormap_names[0]); i++)
        if (strcmp(name, colormap_names[i]) == 0)
            return i;
    return -1;
}

const char *colormap_ramp_name(enum colormap_ramp r)
{
    return (unsigned)r <= COLORMAP_GRAY ? colormap_names[r] : "?";
}

static uint8_t colormap_byte(double v)
{
    return (uint8_t)lround(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void colormap_jet(double t, uint8_t out[3])
{
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

/* Turbo's polynomial approximation (Mikhailov, 2019), t in 0..1. */
static void colormap_turbo(double t, uint8_t out[3])
{
    double r = 34.61 + t * (1172.33 - t * (10793.56 - t * (33300.12 - t * (38394.49 - t * 14825.05))));
    double g = 23.31 + t * (557.33 + t * (1225.33 - t * (3574.96 - t * (1073.77 + t * 707.56))));
    double b = 27.2 + t * (3211.1 - t * (15327.97 - t * (27814.0 - t * (22569.18 - t * 6838.66))));
    out[0] = colormap_byte(r), out[1] = colormap_byte(g), out[2] = colormap_byte(b);
}

void colormap_color_with(const struct colormap_settings *s, double d_m, uint8_t out[3])
{
    if (!(d_m > 0)) { /* also NaN */
        out[0] = out[1] = out[2] = 0;
        return;
    }
    double t = (d_m - s->near_m) / (s->far_m - s->near_m);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    switch (s->ramp) {
    case COLORMAP_TURBO:
        colormap_turbo(t, out);
        break;
    case COLORMAP_GRAY:
        /* White near, never quite black far: black stays "no data". */
        out[0] = out[1] = out[2] = colormap_byte(255 - 235 * t);
        break;
    default:
        colormap_jet(t, out);
        break;
    }
}

void colormap_color(double d_m, uint8_t out[3])
{
    static const struct colormap_settings def = {COLORMAP_JET, COLORMAP_NEAR_M, COLORMAP_FAR_M};
    colormap_color_with(&def, d_m, out);
}

/* The robot's settings and the table for them. The table covers the one
 * depth scale cameras use (millimetres); any other scale is computed per
 * pixel. lock guards all three; the table is rebuilt by the first
 * colorization after a change (on the capture thread, about 2 ms). */
#define COLORMAP_LUT_SCALE 0.001
static pthread_mutex_t colormap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct colormap_settings colormap_now = {COLORMAP_JET, COLORMAP_NEAR_M, COLORMAP_FAR_M};
static uint8_t colormap_lut[65536][3];
static int colormap_lut_stale = 1;

int colormap_configure(const struct colormap_settings *s, char *err, size_t errlen)
{
    if ((unsigned)s->ramp > COLORMAP_GRAY) {
        snprintf(err, errlen, "unknown colormap: use jet, turbo or gray");
        return -1;
    }
    if (!(s->near_m >= COLORMAP_MIN_M && s->far_m <= COLORMAP_MAX_M &&
          s->far_m - s->near_m >= COLORMAP_MIN_SPAN_M)) {
        snprintf(err, errlen, "the depth range must lie within %.2f..%.0f m with far at least "
                 "%.2f m beyond near (got %g..%g m)", COLORMAP_MIN_M, COLORMAP_MAX_M,
                 COLORMAP_MIN_SPAN_M, s->near_m, s->far_m);
        return -1;
    }
    pthread_mutex_lock(&colormap_lock);
    colormap_now = *s;
    colormap_lut_stale = 1;
    pthread_mutex_unlock(&colormap_lock);
    return 0;
}

void colormap_current(struct colormap_settings *out)
{
    pthread_mutex_lock(&colormap_lock);
    *out = colormap_now;
    pthread_mutex_unlock(&colormap_lock);
}

void colormap_depth_to_rgb(const uint16_t *z, size_t z_stride, int width, int height,
                           double depth_scale, uint8_t *rgb, size_t rgb_stride)
{
    const int use_lut = fabs(depth_scale - COLORMAP_LUT_SCALE) < 1e-12;
    pthread_mutex_lock(&colormap_lock);
    struct colormap_settings s = colormap_now;
    if (use_lut && colormap_lut_stale) {
        for (int v = 0; v < 65536; v++)
            colormap_color_with(&s, v * COLORMAP_LUT_SCALE, colormap_lut[v]);
        colormap_lut_stale = 0;
    }
    /* Held through the frame: a change waits for it, never tears it. */
    for (int y = 0; y < height; y++) {
        const uint16_t *zr = (const uint16_t *)((const uint8_t *)z + (size_t)y * z_stride);
        uint8_t *out = rgb + (size_t)y * rgb_stride;
        for (int x = 0; x < width; x++) {
            if (use_lut) {
                const uint8_t *c = colormap_lut[zr[x]];
                out[3 * x] = c[0], out[3 * x + 1] = c[1], out[3 * x + 2] = c[2];
            } else {
                colormap_color_with(&s, zr[x] * depth_scale, &out[3 * x]);
            }
        }
    }
    pthread_mutex_unlock(&colormap_lock);
}
