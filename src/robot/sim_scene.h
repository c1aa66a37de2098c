/* sim_scene.h - the simulated camera's world: a checkered floor with
 * spheres and boxes on periodic paths, ray-cast analytically from a fixed
 * camera into color, depth and two infrared images.
 *
 * Pure: no threads, no clocks, no options; time and gains are arguments.
 *
 * World coordinates in metres: x right, y up, z forward (level), the floor
 * is y = 0. The camera (the left infrared imager, origin of depth) sits at
 * (0, SIM_CAMERA_HEIGHT_M, 0) looking along +z, pitched down by
 * SIM_CAMERA_PITCH_DEG. Camera coordinates are RealSense's: x right, y down,
 * z along the optical axis. Pixel (x, y) looks along camera direction
 * ((x - ppx) / f, (y - ppy) / f, 1) with ppx = width / 2, ppy = height / 2
 * and f = sim_scene_focal(width). */
#ifndef PORTHOLE_ROBOT_SIM_SCENE_H
#define PORTHOLE_ROBOT_SIM_SCENE_H

#include <stddef.h>
#include <stdint.h>

#define SIM_CAMERA_HEIGHT_M 1.5
#define SIM_CAMERA_PITCH_DEG 15.0
#define SIM_HFOV_DEG 69.0
#define SIM_BASELINE_M 0.050 /* IR-1 to IR-2; the projector sits halfway */
#define SIM_MAX_DEPTH_M 10.0 /* farther surfaces have depth 0 */

#define SIM_MAX_SPHERES 4
#define SIM_MAX_BOXES 4

struct sim_sphere {
    double center[3]; /* world */
    double radius;
    uint8_t rgb[3];   /* albedo */
};

/* A box standing upright, turned by yaw radians about the vertical axis. */
struct sim_box {
    double center[3]; /* world */
    double half[3];   /* half extents along its own x, y, z */
    double yaw;
    uint8_t rgb[3];
};

struct sim_objects {
    int nspheres, nboxes;
    struct sim_sphere spheres[SIM_MAX_SPHERES];
    struct sim_box boxes[SIM_MAX_BOXES];
};

/* What to render and how bright. A NULL buffer is not rendered (and its
 * shading is skipped). Strides are in bytes. */
struct sim_render {
    uint8_t *rgb;        /* RGB8 */
    size_t rgb_stride;
    uint16_t *depth;     /* Z16, millimetres of camera Z */
    size_t depth_stride;
    uint8_t *ir[2];      /* Y8: [0] left imager (same view as depth), [1] right */
    size_t ir_stride;
    float color_gain;    /* multiplies the linear color; 1 = nominal */
    float brightness;    /* added to 8-bit color values, -64..64 */
    float contrast;      /* percent, 50 = unchanged */
    float ir_gain;       /* multiplies infrared shading; 1 = nominal */
    float dot_power;     /* projector dot intensity; 0 = emitter off, 1 = nominal */
};

struct sim_scene;

/* Focal length in pixels (fx = fy) for SIM_HFOV_DEG across width pixels. */
double sim_scene_focal(int width);

/* The default moving objects at time t seconds (any t; motion is periodic
 * and continuous): three spheres and two boxes 1.5 to 5 m away. */
void sim_scene_objects_at(double t, struct sim_objects *out);

/* Precomputes rays and the static floor and sky for width x height. Returns
 * NULL when out of memory or the size is not positive. */
struct sim_scene *sim_scene_new(int width, int height);
void sim_scene_free(struct sim_scene *s);

/* Renders objs into the buffers of r, which must be width x height. Uses
 * scratch space in s: one render at a time per scene. */
void sim_scene_render(struct sim_scene *s, const struct sim_objects *objs,
                      const struct sim_render *r);

/* Conversions between camera and world coordinates (metres). */
void sim_scene_camera_to_world(const double cam[3], double world[3]);
void sim_scene_world_to_camera(const double world[3], double cam[3]);

#endif
