/* sim_scene.c - ray-casts the simulated camera's scene: floor and sky are
 * precomputed per pixel at create, moving objects are intersected per
 * frame only inside their projected screen rectangles. */
#include "robot/sim_scene.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SIM_PI 3.14159265358979323846
#define SIM_LUT_SIZE 1024 /* linear color quantisation before the tone LUT */
#define SIM_AMBIENT 0.25f
#define SIM_CHECKER_M 0.5f
#define SIM_DOT_CELL 4 /* pixels per dot cell of the projector pattern */
#define SIM_DOT_SUB 4     /* pattern samples per pixel: dots move by quarter pixels */
#define SIM_DOT_MARGIN 64 /* pixels of pattern beyond each side, for disparity */
#define SIM_MAX_OBJECTS (SIM_MAX_SPHERES + SIM_MAX_BOXES)

struct sim_scene {
    int w, h;
    float f, ppx, ppy;
    float *colu;        /* per column: camera x of the ray direction */
    float *rowy, *rowz; /* per row: world y and z of the ray direction */
    float *bg_t;        /* per pixel: camera Z of the floor, INFINITY for sky */
    uint16_t *bg_rgb;   /* per pixel, 3 channels: linear color index */
    float *bg_ir;       /* per pixel: infrared shading 0..1 */
    uint8_t *dots;      /* projector pattern 0..255: SIM_DOT_SUB samples per pixel,
                         * SIM_DOT_MARGIN pixels wider on each side */
    int dots_w;         /* samples per row of dots */
    /* Scratch for one row: disparity in pixels (0 = no depth), dot level,
     * infrared shading. */
    float *disp, *dotl, *irv;
    uint8_t lut[SIM_LUT_SIZE];
};

/* One object prepared for a frame. Ray directions d are scaled so that
 * camera Z = 1, hence the ray parameter t is the depth itself. */
struct sim_prep {
    bool box;
    int x0, x1, y0, y1; /* screen rectangle, inclusive; empty when y0 > y1 */
    float c[3];         /* centre, world */
    float o[3];         /* sphere: camera origin - centre; box: the same in box axes */
    float cc;           /* sphere: |o|^2 - r^2 */
    float inv_r;
    float half[3];
    float cy, sy;       /* box: cos and sin of yaw */
    float albedo[3], ir_albedo;
};

/* The light: from above, behind and left of the camera, so the faces the
 * camera sees are lit. Normalised (-0.3, 0.9, -0.35). */
static const float sim_light[3] = {-0.30f / 1.0173f, 0.90f / 1.0173f, -0.35f / 1.0173f};

double sim_scene_focal(int width)
{
    return (width / 2.0) / tan(SIM_HFOV_DEG / 2.0 * SIM_PI / 180.0);
}

void sim_scene_camera_to_world(const double cam[3], double world[3])
{
    double p = SIM_CAMERA_PITCH_DEG * SIM_PI / 180.0, cp = cos(p), sp = sin(p);
    /* Camera axes in world: x = (1,0,0), y (down) = (0,-cp,-sp), z = (0,-sp,cp). */
    world[0] = cam[0];
    world[1] = SIM_CAMERA_HEIGHT_M - cam[1] * cp - cam[2] * sp;
    world[2] = -cam[1] * sp + cam[2] * cp;
}

void sim_scene_world_to_camera(const double world[3], double cam[3])
{
    double p = SIM_CAMERA_PITCH_DEG * SIM_PI / 180.0, cp = cos(p), sp = sin(p);
    double ry = world[1] - SIM_CAMERA_HEIGHT_M, rz = world[2];
    cam[0] = world[0];
    cam[1] = -ry * cp - rz * sp;
    cam[2] = -ry * sp + rz * cp;
}

static void sim_sphere_set(struct sim_sphere *s, double x, double y, double z, double r,
                           uint8_t cr, uint8_t cg, uint8_t cb)
{
    s->center[0] = x, s->center[1] = y, s->center[2] = z;
    s->radius = r;
    s->rgb[0] = cr, s->rgb[1] = cg, s->rgb[2] = cb;
}

static void sim_box_set(struct sim_box *b, double x, double y, double z, double hx, double hy,
                        double hz, double yaw, uint8_t cr, uint8_t cg, uint8_t cb)
{
    b->center[0] = x, b->center[1] = y, b->center[2] = z;
    b->half[0] = hx, b->half[1] = hy, b->half[2] = hz;
    b->yaw = yaw;
    b->rgb[0] = cr, b->rgb[1] = cg, b->rgb[2] = cb;
}

void sim_scene_objects_at(double t, struct sim_objects *out)
{
    const double w = 2 * SIM_PI;
    memset(out, 0, sizeof *out);
    out->nspheres = 3;
    out->nboxes = 2;
    /* Red: orbits (0, 3) at 0.9 m every 9 s, bouncing gently. */
    sim_sphere_set(&out->spheres[0], 0.9 * sin(w * t / 9), 0.35 + 0.15 * (1 - cos(w * t / 2.3)),
                   3.0 + 0.9 * cos(w * t / 9), 0.35, 220, 40, 40);
    /* Green: a smaller, higher orbit the other way every 6 s. */
    sim_sphere_set(&out->spheres[1], -0.5 * sin(w * t / 6), 0.95 + 0.15 * sin(w * t / 3.1),
                   3.0 + 0.5 * cos(w * t / 6), 0.25, 40, 200, 70);
    /* Blue: rolls from side to side at the back every 14 s. */
    sim_sphere_set(&out->spheres[2], 1.4 * sin(w * t / 14), 0.45, 4.7, 0.45, 50, 90, 230);
    /* Yellow cube: turns every 7 s while sliding to and fro on the left. */
    sim_box_set(&out->boxes[0], -1.45, 0.3, 2.2 + 0.3 * sin(w * t / 11), 0.3, 0.3, 0.3,
                w * t / 7, 230, 200, 40);
    /* Magenta pillar on the right, turning the other way. */
    sim_box_set(&out->boxes[1], 1.6, 0.55, 3.4 + 0.5 * sin(w * t / 13), 0.2, 0.55, 0.2,
                -w * t / 10, 200, 60, 200);
}

static float sim_clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static uint16_t sim_color_index(float v)
{
    return (uint16_t)sim_clampf(v * (SIM_LUT_SIZE - 1) + 0.5f, 0, SIM_LUT_SIZE - 1);
}

/* Floor or sky as seen through pixel (x, y): fills the background tables. */
static void sim_scene_background(struct sim_scene *s, int x, int y)
{
    size_t i = (size_t)y * s->w + x;
    float dx = s->colu[x], dy = s->rowy[y], dz = s->rowz[y];
    float len = sqrtf(dx * dx + dy * dy + dz * dz);
    float sky[3] = {0.55f, 0.70f, 0.90f};
    float elev = -dy / len; /* sine of the angle below the horizon, negative above */
    if (elev <= 0) {
        float k = sim_clampf(-elev * 2.5f, 0, 1);
        float top[3] = {0.25f, 0.40f, 0.78f};
        for (int c = 0; c < 3; c++)
            s->bg_rgb[3 * i + c] = sim_color_index(sky[c] + (top[c] - sky[c]) * k);
        s->bg_t[i] = INFINITY;
        s->bg_ir[i] = 0.02f;
        return;
    }
    float t = (float)SIM_CAMERA_HEIGHT_M / -dy;
    float wx = t * dx, wz = t * dz;
    int cell = (int)floorf(wx / SIM_CHECKER_M) + (int)floorf(wz / SIM_CHECKER_M);
    static const float light_tile[3] = {0.85f, 0.84f, 0.78f}, dark_tile[3] = {0.22f, 0.28f, 0.34f};
    const float *alb = (cell & 1) ? dark_tile : light_tile;
    float shade = SIM_AMBIENT + (1 - SIM_AMBIENT) * sim_light[1];
    float fog = sim_clampf((t - 5.0f) / 14.0f, 0, 0.85f);
    for (int c = 0; c < 3; c++)
        s->bg_rgb[3 * i + c] = sim_color_index(alb[c] * shade * (1 - fog) + sky[c] * fog);
    s->bg_t[i] = t;
    float ir_alb = (cell & 1) ? 0.45f : 0.7f;
    s->bg_ir[i] = ir_alb * (0.25f + 0.75f * elev) * (1 - fog);
}

static inline uint32_t sim_hash(int32_t x, int32_t y)
{
    uint32_t h = (uint32_t)x * 0x8da6b343u ^ (uint32_t)y * 0xd8163841u;
    h ^= h >> 13;
    h *= 0x9e3779b1u;
    h ^= h >> 16;
    return h;
}

/* The projector's dot pattern at projector column xp, row y: 0..1. Each
 * SIM_DOT_CELL square cell holds one dot (5 in 8 cells) at a pseudo-random
 * place, about two pixels across. */
static float sim_dot(float xp, int y)
{
    /* floor by hand: floorf is a library call on baseline x86-64. */
    float q = xp * (1.0f / SIM_DOT_CELL);
    int cx = (int)q;
    cx -= q < (float)cx;
    float cxf = (float)cx;
    int cy = y / SIM_DOT_CELL;
    uint32_t h = sim_hash(cx, cy);
    if ((h & 7u) < 3)
        return 0;
    float ox = 0.5f + (SIM_DOT_CELL - 1) * (float)((h >> 8) & 255u) * (1.0f / 255);
    float oy = 0.5f + (SIM_DOT_CELL - 1) * (float)((h >> 16) & 255u) * (1.0f / 255);
    float dx = xp - (cxf * SIM_DOT_CELL + ox), dy = (float)(y - cy * SIM_DOT_CELL) - oy;
    float d2 = dx * dx + dy * dy;
    return d2 < 1.0f ? 1.0f - d2 : 0;
}

struct sim_scene *sim_scene_new(int width, int height)
{
    if (width <= 0 || height <= 0)
        return NULL;
    struct sim_scene *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    size_t n = (size_t)width * height;
    s->w = width;
    s->h = height;
    s->f = (float)sim_scene_focal(width);
    s->ppx = width / 2.0f;
    s->ppy = height / 2.0f;
    s->colu = malloc(width * sizeof *s->colu);
    s->rowy = malloc(height * sizeof *s->rowy);
    s->rowz = malloc(height * sizeof *s->rowz);
    s->bg_t = malloc(n * sizeof *s->bg_t);
    s->bg_rgb = malloc(3 * n * sizeof *s->bg_rgb);
    s->bg_ir = malloc(n * sizeof *s->bg_ir);
    s->dots_w = (width + 2 * SIM_DOT_MARGIN) * SIM_DOT_SUB;
    s->dots = malloc((size_t)s->dots_w * height);
    s->disp = malloc(width * sizeof *s->disp);
    s->dotl = malloc(width * sizeof *s->dotl);
    s->irv = malloc(width * sizeof *s->irv);
    if (!s->colu || !s->rowy || !s->rowz || !s->bg_t || !s->bg_rgb || !s->bg_ir || !s->dots ||
        !s->disp || !s->dotl || !s->irv) {
        sim_scene_free(s);
        return NULL;
    }
    /* Ray directions are separable: camera x per column; world y and z
     * depend on the row only (the camera only pitches). */
    double p = SIM_CAMERA_PITCH_DEG * SIM_PI / 180.0, cp = cos(p), sp = sin(p);
    for (int x = 0; x < width; x++)
        s->colu[x] = (float)((x - width / 2.0) / s->f);
    for (int y = 0; y < height; y++) {
        double v = (y - height / 2.0) / s->f;
        s->rowy[y] = (float)(-v * cp - sp);
        s->rowz[y] = (float)(-v * sp + cp);
    }
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            sim_scene_background(s, x, y);
    /* The pattern is sampled once here: per pixel it would cost a hash and
     * a floor for each infrared image. */
    for (int y = 0; y < height; y++)
        for (int i = 0; i < s->dots_w; i++) {
            float xp = (float)i / SIM_DOT_SUB - SIM_DOT_MARGIN;
            s->dots[(size_t)y * s->dots_w + i] = (uint8_t)(sim_dot(xp, y) * 255.0f + 0.5f);
        }
    return s;
}

void sim_scene_free(struct sim_scene *s)
{
    if (!s)
        return;
    free(s->colu);
    free(s->rowy);
    free(s->rowz);
    free(s->bg_t);
    free(s->bg_rgb);
    free(s->bg_ir);
    free(s->dots);
    free(s->disp);
    free(s->dotl);
    free(s->irv);
    free(s);
}

/* Sets p's screen rectangle from a bounding sphere (world centre c, radius
 * r): the projection of its camera-space bounding box, which is
 * conservative. Anything reaching behind the camera gets the whole screen. */
static void sim_prep_bounds(const struct sim_scene *s, struct sim_prep *p, const double c[3],
                            double r)
{
    double pc[3];
    sim_scene_world_to_camera(c, pc);
    p->x0 = 0, p->x1 = s->w - 1, p->y0 = 0, p->y1 = s->h - 1;
    if (pc[2] - r < 0.05)
        return;
    double zs[2] = {pc[2] - r, pc[2] + r};
    double umin = INFINITY, umax = -INFINITY, vmin = INFINITY, vmax = -INFINITY;
    for (int k = 0; k < 2; k++)
        for (int sg = -1; sg <= 1; sg += 2) {
            double u = (pc[0] + sg * r) / zs[k], v = (pc[1] + sg * r) / zs[k];
            umin = fmin(umin, u), umax = fmax(umax, u);
            vmin = fmin(vmin, v), vmax = fmax(vmax, v);
        }
    double x0 = floor(s->ppx + s->f * umin) - 1, x1 = ceil(s->ppx + s->f * umax) + 1;
    double y0 = floor(s->ppy + s->f * vmin) - 1, y1 = ceil(s->ppy + s->f * vmax) + 1;
    if (x1 < 0 || y1 < 0 || x0 > s->w - 1 || y0 > s->h - 1) {
        p->y0 = 1, p->y1 = 0; /* off screen */
        return;
    }
    p->x0 = (int)fmax(x0, 0), p->x1 = (int)fmin(x1, s->w - 1);
    p->y0 = (int)fmax(y0, 0), p->y1 = (int)fmin(y1, s->h - 1);
}

static void sim_prep_albedo(struct sim_prep *p, const uint8_t rgb[3])
{
    for (int c = 0; c < 3; c++)
        p->albedo[c] = rgb[c] / 255.0f;
    /* Near infrared sees paint as lighter and flatter than visible light. */
    p->ir_albedo = 0.35f + 0.4f * (0.3f * p->albedo[0] + 0.59f * p->albedo[1] +
                                   0.11f * p->albedo[2]);
}

static int sim_prepare(const struct sim_scene *s, const struct sim_objects *objs,
                       struct sim_prep *prep)
{
    int n = 0;
    for (int i = 0; i < objs->nspheres && i < SIM_MAX_SPHERES; i++) {
        const struct sim_sphere *sp = &objs->spheres[i];
        struct sim_prep *p = &prep[n++];
        memset(p, 0, sizeof *p);
        for (int k = 0; k < 3; k++)
            p->c[k] = (float)sp->center[k];
        p->o[0] = -p->c[0];
        p->o[1] = (float)SIM_CAMERA_HEIGHT_M - p->c[1];
        p->o[2] = -p->c[2];
        p->cc = p->o[0] * p->o[0] + p->o[1] * p->o[1] + p->o[2] * p->o[2] -
                (float)(sp->radius * sp->radius);
        p->inv_r = (float)(1.0 / sp->radius);
        sim_prep_albedo(p, sp->rgb);
        sim_prep_bounds(s, p, sp->center, sp->radius);
    }
    for (int i = 0; i < objs->nboxes && i < SIM_MAX_BOXES; i++) {
        const struct sim_box *b = &objs->boxes[i];
        struct sim_prep *p = &prep[n++];
        memset(p, 0, sizeof *p);
        p->box = true;
        for (int k = 0; k < 3; k++) {
            p->c[k] = (float)b->center[k];
            p->half[k] = (float)b->half[k];
        }
        p->cy = (float)cos(b->yaw);
        p->sy = (float)sin(b->yaw);
        float rel[3] = {-p->c[0], (float)SIM_CAMERA_HEIGHT_M - p->c[1], -p->c[2]};
        p->o[0] = p->cy * rel[0] - p->sy * rel[2];
        p->o[1] = rel[1];
        p->o[2] = p->sy * rel[0] + p->cy * rel[2];
        sim_prep_albedo(p, b->rgb);
        sim_prep_bounds(s, p, b->center,
                        sqrt(b->half[0] * b->half[0] + b->half[1] * b->half[1] +
                             b->half[2] * b->half[2]));
    }
    return n;
}

/* Ray parameter (= camera Z) of the first hit, or INFINITY. a = |d|^2. */
static inline float sim_hit_sphere(const struct sim_prep *p, float dx, float dy, float dz,
                                   float a)
{
    float b = dx * p->o[0] + dy * p->o[1] + dz * p->o[2];
    float disc = b * b - a * p->cc;
    if (disc < 0)
        return INFINITY;
    float t = (-b - sqrtf(disc)) / a;
    return t > 1e-4f ? t : INFINITY;
}

/* Slab test in the box's own axes (a yaw rotation of the world). */
static inline float sim_hit_box(const struct sim_prep *p, float dx, float dy, float dz)
{
    float d[3] = {p->cy * dx - p->sy * dz, dy, p->sy * dx + p->cy * dz};
    float tn = -INFINITY, tf = INFINITY;
    for (int k = 0; k < 3; k++) {
        /* Plain comparisons, not fminf/fmaxf: those are library calls
         * without -ffast-math. A NaN (ray in a slab's plane) compares
         * false and leaves tn and tf as they were. */
        float inv = 1.0f / d[k];
        float t1 = (-p->half[k] - p->o[k]) * inv, t2 = (p->half[k] - p->o[k]) * inv;
        if (t1 > t2) {
            float tmp = t1;
            t1 = t2, t2 = tmp;
        }
        if (t1 > tn)
            tn = t1;
        if (t2 < tf)
            tf = t2;
    }
    if (tn > tf || tn <= 1e-4f)
        return INFINITY;
    return tn;
}

/* World normal of object p at the hit t along d. */
static void sim_normal(const struct sim_prep *p, float t, const float d[3], float n[3])
{
    float q[3] = {t * d[0] - p->c[0], (float)SIM_CAMERA_HEIGHT_M + t * d[1] - p->c[1],
                  t * d[2] - p->c[2]};
    if (!p->box) {
        for (int k = 0; k < 3; k++)
            n[k] = q[k] * p->inv_r;
        return;
    }
    float l[3] = {p->cy * q[0] - p->sy * q[2], q[1], p->sy * q[0] + p->cy * q[2]};
    int axis = 0;
    float best = -1;
    for (int k = 0; k < 3; k++) {
        float r = fabsf(l[k]) / p->half[k];
        if (r > best)
            best = r, axis = k;
    }
    float nl[3] = {0, 0, 0};
    nl[axis] = l[axis] < 0 ? -1.0f : 1.0f;
    n[0] = p->cy * nl[0] + p->sy * nl[2];
    n[1] = nl[1];
    n[2] = -p->sy * nl[0] + p->cy * nl[2];
}

static void sim_build_lut(struct sim_scene *s, const struct sim_render *r)
{
    float k = r->contrast / 50.0f;
    for (int i = 0; i < SIM_LUT_SIZE; i++) {
        float v = (float)i / (SIM_LUT_SIZE - 1) * 255.0f * r->color_gain;
        v = (v - 128.0f) * k + 128.0f + r->brightness;
        s->lut[i] = (uint8_t)sim_clampf(v + 0.5f, 0, 255);
    }
}

/* The pattern (0..255) at projector column xp of a row of s->dots. */
static inline float sim_dot_at(const uint8_t *dots_row, int dots_w, float xp)
{
    int i = (int)((xp + SIM_DOT_MARGIN) * SIM_DOT_SUB + 0.5f);
    i = i < 0 ? 0 : i >= dots_w ? dots_w - 1 : i;
    return dots_row[i];
}

/* Fills the row scratch for pixel x: disparity and dot level from depth z
 * (0 = none), and the infrared shading. */
static inline void sim_ir_scratch(struct sim_scene *s, int x, float z, float ir,
                                  const struct sim_render *r)
{
    if (z > 0) {
        /* Dots fade with the square of distance beyond 1.6 m as the
         * projector's light spreads; dotl scales the 0..255 pattern. */
        float inv = 1.0f / z, k = 1.6f * inv;
        s->disp[x] = s->f * (float)SIM_BASELINE_M * inv;
        s->dotl[x] = r->dot_power * (150.0f / 255.0f) * (k < 1 ? k * k : 1);
    } else {
        s->disp[x] = 0;
        s->dotl[x] = 0;
    }
    s->irv[x] = ir;
}

/* Writes both infrared rows from the row scratch. The projector sits
 * between the imagers, so a dot lands half a disparity left of its
 * projector column in IR-1 and half a disparity right in IR-2; IR-2 sees
 * the whole row shifted left by the disparity, found by one fixed-point
 * step from the depth at its own column. Locals instead of s-> fields:
 * byte stores may alias anything, which would force reloads. */
static void sim_ir_rows(const struct sim_scene *s, int y, const struct sim_render *r)
{
    const int w = s->w;
    const float *disp = s->disp, *dotl = s->dotl, *irv = s->irv;
    const float gain = r->ir_gain * 255.0f;
    const bool dots = r->dot_power > 0;
    const int dw = s->dots_w;
    const uint8_t *pat = s->dots + (size_t)y * dw;
    if (r->ir[0]) {
        uint8_t *row = r->ir[0] + (size_t)y * r->ir_stride;
        for (int x = 0; x < w; x++) {
            float v = irv[x] * gain;
            if (dots && dotl[x] > 0)
                v += sim_dot_at(pat, dw, (float)x - 0.5f * disp[x]) * dotl[x];
            row[x] = (uint8_t)sim_clampf(v + 0.5f, 0, 255);
        }
    }
    if (r->ir[1]) {
        uint8_t *row = r->ir[1] + (size_t)y * r->ir_stride;
        for (int x = 0; x < w; x++) {
            int xl = x;
            if (disp[x] > 0) {
                int x1 = x + (int)(disp[x] + 0.5f);
                if (x1 < w && disp[x1] > 0)
                    x1 = x + (int)(disp[x1] + 0.5f);
                xl = x1 < w ? x1 : w - 1;
            }
            float v = irv[xl] * gain;
            if (dots && dotl[xl] > 0)
                v += sim_dot_at(pat, dw, (float)x + 0.5f * disp[xl]) * dotl[xl];
            row[x] = (uint8_t)sim_clampf(v + 0.5f, 0, 255);
        }
    }
}

void sim_scene_render(struct sim_scene *s, const struct sim_objects *objs,
                      const struct sim_render *r)
{
    struct sim_prep prep[SIM_MAX_OBJECTS];
    const int nobj = sim_prepare(s, objs, prep), w = s->w;
    const bool want_ir = r->ir[0] || r->ir[1], want_rgb = r->rgb != NULL;
    const float maxz = (float)SIM_MAX_DEPTH_M;
    const float *colu = s->colu, *bg_t = s->bg_t, *bg_ir = s->bg_ir;
    const uint16_t *bg_rgb = s->bg_rgb;
    const uint8_t *lut = s->lut;
    if (want_rgb)
        sim_build_lut(s, r);
    for (int y = 0; y < s->h; y++) {
        const float dy = s->rowy[y], dz = s->rowz[y];
        const struct sim_prep *act[SIM_MAX_OBJECTS];
        int nact = 0;
        for (int k = 0; k < nobj; k++)
            if (y >= prep[k].y0 && y <= prep[k].y1)
                act[nact++] = &prep[k];
        uint8_t *rgb = want_rgb ? r->rgb + (size_t)y * r->rgb_stride : NULL;
        uint16_t *depth = r->depth ? (uint16_t *)((uint8_t *)r->depth + (size_t)y * r->depth_stride)
                                   : NULL;
        const size_t base = (size_t)y * w;
        for (int x = 0; x < w; x++) {
            const float dx = colu[x];
            const float a = dx * dx + dy * dy + dz * dz;
            float t = bg_t[base + x];
            const struct sim_prep *hit = NULL;
            for (int k = 0; k < nact; k++) {
                const struct sim_prep *p = act[k];
                if (x < p->x0 || x > p->x1)
                    continue;
                float tt = p->box ? sim_hit_box(p, dx, dy, dz) : sim_hit_sphere(p, dx, dy, dz, a);
                if (tt < t)
                    t = tt, hit = p;
            }
            const float z = t <= maxz ? t : 0;
            if (depth)
                depth[x] = (uint16_t)(z * 1000.0f + 0.5f);
            if (!hit) {
                if (rgb) {
                    const uint16_t *c = &bg_rgb[3 * (base + x)];
                    rgb[3 * x] = lut[c[0]];
                    rgb[3 * x + 1] = lut[c[1]];
                    rgb[3 * x + 2] = lut[c[2]];
                }
                if (want_ir)
                    sim_ir_scratch(s, x, z, bg_ir[base + x], r);
                continue;
            }
            if (!rgb && !want_ir)
                continue;
            float d[3] = {dx, dy, dz}, n[3];
            sim_normal(hit, t, d, n);
            if (rgb) {
                float lam = sim_clampf(n[0] * sim_light[0] + n[1] * sim_light[1] +
                                           n[2] * sim_light[2], 0, 1);
                float shade = SIM_AMBIENT + (1 - SIM_AMBIENT) * lam;
                for (int c = 0; c < 3; c++)
                    rgb[3 * x + c] = lut[sim_color_index(hit->albedo[c] * shade)];
            }
            if (want_ir) {
                float facing =
                    sim_clampf(-(n[0] * dx + n[1] * dy + n[2] * dz) / sqrtf(a), 0, 1);
                sim_ir_scratch(s, x, z, hit->ir_albedo * (0.25f + 0.75f * facing), r);
            }
        }
        if (want_ir)
            sim_ir_rows(s, y, r);
    }
}
