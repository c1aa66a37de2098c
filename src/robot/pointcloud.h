/* pointcloud.h - depth frames to 3-D points: pinhole deprojection of a Z16
 * frame, as librealsense's rs2_deproject_pixel_to_point does for a camera
 * without distortion, summarised into what the REST API reports.
 *
 * Pure functions: no state, no threads. */
#ifndef PORTHOLE_ROBOT_POINTCLOUD_H
#define PORTHOLE_ROBOT_POINTCLOUD_H

#include <stddef.h>
#include <stdint.h>

#include "robot/camera.h"

/* A point cloud's summary, in metres in the camera's frame (x right,
 * y down, z forward). Bounds are meaningful only when points > 0. */
struct pointcloud_stats {
    size_t points;     /* pixels sampled with depth (non-zero) */
    size_t sampled;    /* pixels sampled */
    double min[3], max[3];
    double mean_z;
};

/* The point of pixel (u, v) at depth z metres. */
void pointcloud_deproject(const struct cam_intrinsics *in, double u, double v, double z,
                          double out[3]);

/* Deprojects every step-th pixel of every step-th row of depth (a Z16
 * frame whose units are depth_scale metres; step >= 1) and summarises. */
void pointcloud_measure(const struct cam_frame *depth, const struct cam_intrinsics *in,
                        double depth_scale, int step, struct pointcloud_stats *out);

#endif
