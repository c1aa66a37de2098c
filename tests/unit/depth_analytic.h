/* depth_analytic.h - the simulator's floor and spheres intersected in
 * double precision, for tests that check metric depth against geometry
 * (test_depth_pack.c, depth_fixture_tool.c). Boxes are left out: a pixel
 * whose nearest floor-or-sphere hit disagrees with the rendered depth is
 * a box or an edge, and callers skip it. */
#ifndef PORTHOLE_TESTS_DEPTH_ANALYTIC_H
#define PORTHOLE_TESTS_DEPTH_ANALYTIC_H

#include <math.h>

#include "robot/sim_scene.h"

enum analytic_hit { HIT_NONE = -2, HIT_FLOOR = -1 }; /* >= 0: sphere index */

/* The depth (camera Z, metres) of the first floor or sphere hit along the
 * ray of pixel (x, y) of a width x height sim camera at scene time t, and
 * what was hit. Returns 0 when nothing within SIM_MAX_DEPTH_M is hit. */
static inline double analytic_depth(int width, int height, double x, double y, double t,
                                    int *what)
{
    double f = sim_scene_focal(width);
    double dc[3] = {(x - width / 2.0) / f, (y - height / 2.0) / f, 1}, dw[3], o[3];
    double zero[3] = {0, 0, 0};
    sim_scene_camera_to_world(zero, o);
    sim_scene_camera_to_world(dc, dw);
    for (int k = 0; k < 3; k++)
        dw[k] -= o[k]; /* a direction: scaled so that camera Z = 1 */
    double best = INFINITY;
    *what = HIT_NONE;
    if (dw[1] < 0) {
        best = -o[1] / dw[1];
        *what = HIT_FLOOR;
    }
    struct sim_objects objs;
    sim_scene_objects_at(t, &objs);
    for (int i = 0; i < objs.nspheres; i++) {
        const struct sim_sphere *s = &objs.spheres[i];
        double oc[3] = {o[0] - s->center[0], o[1] - s->center[1], o[2] - s->center[2]};
        double a = dw[0] * dw[0] + dw[1] * dw[1] + dw[2] * dw[2];
        double b = 2 * (oc[0] * dw[0] + oc[1] * dw[1] + oc[2] * dw[2]);
        double c = oc[0] * oc[0] + oc[1] * oc[1] + oc[2] * oc[2] - s->radius * s->radius;
        double disc = b * b - 4 * a * c;
        if (disc < 0)
            continue;
        double tt = (-b - sqrt(disc)) / (2 * a);
        if (tt > 0 && tt < best) {
            best = tt;
            *what = i;
        }
    }
    if (!(best <= SIM_MAX_DEPTH_M)) {
        *what = HIT_NONE;
        return 0;
    }
    return best;
}

#endif
