/* pointcloud.c - pinhole deprojection of depth frames. */
#include "robot/pointcloud.h"

#include <string.h>

void pointcloud_deproject(const struct cam_intrinsics *in, double u, double v, double z,
                          double out[3])
{
    out[0] = (u - in->ppx) / in->fx * z;
    out[1] = (v - in->ppy) / in->fy * z;
    out[2] = z;
}

void pointcloud_measure(const struct cam_frame *depth, const struct cam_intrinsics *in,
                        double depth_scale, int step, struct pointcloud_stats *out)
{
    memset(out, 0, sizeof *out);
    if (step < 1)
        step = 1;
    double sum_z = 0;
    for (int v = 0; v < depth->height; v += step) {
        const uint16_t *row = (const uint16_t *)(depth->data + (size_t)v * depth->stride);
        for (int u = 0; u < depth->width; u += step) {
            out->sampled++;
            if (row[u] == 0)
                continue;
            double p[3];
            pointcloud_deproject(in, u, v, row[u] * depth_scale, p);
            for (int k = 0; k < 3; k++) {
                if (out->points == 0 || p[k] < out->min[k])
                    out->min[k] = p[k];
                if (out->points == 0 || p[k] > out->max[k])
                    out->max[k] = p[k];
            }
            out->points++;
            sum_z += p[2];
        }
    }
    if (out->points)
        out->mean_z = sum_z / (double)out->points;
}
