/* rsbag.h - writes a RealSense .bag of the simulated scene with
 * librealsense's own recorder: a librealsense software device (two sensors,
 * color RGB8, depth Z16, infrared 1 and 2 Y8, options, extrinsics) fed
 * with frames rendered by src/robot/sim_scene.c, recorded by
 * rs2_create_record_device_ex. The tests replay it through the robot's
 * realsense-file backend. Built only with librealsense2.
 *
 * Every frame shows the scene at the same instant (sim_scene_objects_at
 * of RSBAG_SCENE_T), so what the robot measures in any frame of the
 * replay is known exactly (rsbag_render renders it again). */
#ifndef PORTHOLE_TESTS_RSBAG_H
#define PORTHOLE_TESTS_RSBAG_H

#include <stddef.h>
#include <stdint.h>

/* The identity and calibration the software device reports, which the
 * robot must then report: deliberately unlike the simulated camera's. */
#define RSBAG_NAME "Intel RealSense D435 (porthole software device)"
#define RSBAG_SERIAL "918273645501"
#define RSBAG_FIRMWARE "5.15.1.55"
#define RSBAG_PRODUCT_ID "0B07"
#define RSBAG_DEPTH_SCALE 0.0005f  /* metres per Z16 unit (the sim's is 0.001) */
#define RSBAG_BASELINE_M 0.050f    /* infrared 1 to infrared 2 */
#define RSBAG_COLOR_TX_M 0.015f    /* depth to color translation along x */
#define RSBAG_LASER_POWER 210.0f   /* option values recorded in the file */
#define RSBAG_EXPOSURE 12000.0f
#define RSBAG_SCENE_T 2.0          /* seconds: the instant every frame shows */

struct rsbag_spec {
    const char *path; /* the .bag to write (overwritten) */
    int width, height, fps;
    int frames;       /* framesets recorded */
};

/* Writes spec->path. Returns 0, or -1 with a one-line reason in err (a
 * librealsense error names the call that failed). Blocking; not
 * thread-safe (one recording at a time). */
int rsbag_write(const struct rsbag_spec *spec, char *err, size_t errlen);

/* Renders the depth frame every recorded frame holds (Z16 in units of
 * RSBAG_DEPTH_SCALE) into out (width * height values). Returns 0, or -1
 * when out of memory. */
int rsbag_render_depth(int width, int height, uint16_t *out);

#endif
