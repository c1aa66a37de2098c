/* camera_backend.h - what camera.c and the camera backends share: the ops
 * struct a backend implements and the device state camera.c keeps for it.
 * Private to src/robot/camera*.c; the rest of the robot sees camera.h. */
#ifndef PORTHOLE_ROBOT_CAMERA_BACKEND_H
#define PORTHOLE_ROBOT_CAMERA_BACKEND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "robot/camera.h"

#define CAM_MAX_OPTIONS 32
#define CAM_MAX_SENSORS 4

/* A backend: one file, one instance of this struct, one row in camera.c's
 * table. All calls come from the thread that calls the camera_* function. */
struct camera_ops {
    const char *name;
    /* What it can capture; camera_new opens it only in one of these. */
    struct cam_modes modes;
    /* Fills cam's identity, capabilities, intrinsics and option table for
     * mode (never NULL, and one of modes) and sets cam->impl. Returns 0,
     * or -1 with a reason in err; on -1 nothing is left to free and close
     * is not called. */
    int (*open)(struct camera *cam, const struct cam_mode *mode, char *err, size_t errlen);
    /* Frees cam->impl. Called after stop. */
    void (*close)(struct camera *cam);
    /* Starts the capture thread, which reads cam->mask before each frameset
     * and hands framesets to cam->fn(cam->user, set). Returns 0, or -1 with
     * a reason in err. */
    int (*start)(struct camera *cam, char *err, size_t errlen);
    /* Joins the capture thread; cam->fn is not called after it returns. */
    void (*stop)(struct camera *cam);
};

extern const struct camera_ops camera_sim_ops;

/* The device as camera.c describes it. The backend fills everything above
 * "Owned by camera.c" in open and leaves it unchanged until close. */
struct camera {
    const struct camera_ops *ops;
    void *impl; /* the backend's own state */

    char name[64], serial[32], firmware[32];
    char product_id[8], usb_type[8], physical_port[32];
    struct cam_mode mode;
    double depth_scale;
    struct cam_intrinsics intrinsics[CAM_NSTREAMS];
    struct cam_extrinsics extrinsics[CAM_NSTREAMS]; /* depth -> stream; identity before open */

    /* Capabilities, for camera_describe (the modes are ops->modes). */
    const char *sensor_names[CAM_MAX_SENSORS];
    size_t nsensors;
    int stream_sensor[CAM_NSTREAMS];
    enum cam_format stream_format[CAM_NSTREAMS];
    const struct cam_option_desc *options; /* noptions <= CAM_MAX_OPTIONS */
    size_t noptions;

    /* Owned by camera.c. */
    pthread_mutex_t option_lock; /* guards option_values */
    double option_values[CAM_MAX_OPTIONS];
    atomic_uint mask;            /* streams wanted; read by the capture thread */
    cam_frames_fn fn;
    void *user;
    bool started;
};

/* Copies the current option values, in the order of cam->options, into
 * out[0 .. cam->noptions - 1]. Safe from any thread. */
void camera_options_snapshot(const struct camera *cam, double *out);

#endif
