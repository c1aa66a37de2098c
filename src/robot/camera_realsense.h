/* camera_realsense.h - what the two files of the librealsense2 backend
 * share: the device state (camera_realsense.c opens the device and maps
 * its identity, streams and options; camera_realsense_capture.c runs the
 * capture thread and recovers a device that was unplugged). Private to
 * src/robot/camera_realsense*.c; the robot sees the backend only as
 * camera_realsense_ops and camera_realsense_file_ops (camera_backend.h).
 *
 * Threads: open, close, start and stop run on the robot's main thread;
 * the capture thread (one per started camera) owns the pipeline;
 * librealsense calls rs_on_devices_changed on a thread of its own; options
 * are set from any thread. lock guards dev and sensors, which the capture
 * thread replaces after a replug. */
#ifndef PORTHOLE_ROBOT_CAMERA_REALSENSE_H
#define PORTHOLE_ROBOT_CAMERA_REALSENSE_H

#include <librealsense2/h/rs_config.h>
#include <librealsense2/h/rs_pipeline.h>
#include <librealsense2/rs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "robot/camera_backend.h"

#define RS_MAX_MODES 24

struct rs_camera {
    rs2_context *ctx;
    bool is_file;
    char path[4096];   /* the .bag of realsense-file */
    char serial[32];   /* the device's serial: the one a replug must have */

    pthread_mutex_t lock;  /* guards dev and sensors */
    rs2_device *dev;       /* NULL while unplugged */
    rs2_sensor_list *sensor_list;
    rs2_sensor *sensors[CAM_MAX_SENSORS];
    atomic_bool removed;   /* set by the devices-changed callback */

    /* What open found, for camera_describe and the pipeline. */
    char sensor_names[CAM_MAX_SENSORS][64];
    rs2_stream types[CAM_NSTREAMS];
    rs2_format formats[CAM_NSTREAMS];
    int indexes[CAM_NSTREAMS];
    int modes_res[RS_MAX_MODES][2], modes_fps[RS_MAX_MODES];

    struct cam_option_desc options[CAM_MAX_OPTIONS];
    rs2_option option_ids[CAM_MAX_OPTIONS];
    char option_text[CAM_MAX_OPTIONS][3][96]; /* id, name, description */

    /* The capture thread. */
    pthread_t thread;
    pthread_mutex_t wake_lock; /* guards stopping; wake interrupts its waits */
    pthread_cond_t wake;
    bool stopping;
    rs2_pipeline *pipe;
    uint64_t number;
};

/* Formats librealsense's error e as "function: message" into buf, frees
 * it, and returns buf. */
const char *rs_error_text(rs2_error *e, char *buf, size_t len);

/* Finds the connected device with serial rs->serial and takes it and its
 * sensors as rs->dev (under rs->lock). Returns 0, or -1 when it is not
 * connected. Any thread but librealsense's. */
int rs_attach(struct rs_camera *rs);

/* Drops rs->dev and its sensors (under rs->lock). */
void rs_detach(struct rs_camera *rs);

/* The ops' start and stop (camera_realsense_capture.c). */
int rs_capture_start(struct camera *cam, char *err, size_t errlen);
void rs_capture_stop(struct camera *cam);

#endif
