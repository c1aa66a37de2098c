/* camera_backend.h - what camera.c and the camera backends share: the ops
 * struct a backend implements and the device state camera.c keeps for it.
 * Private to src/robot/camera*.c; the rest of the robot sees camera.h. */
#ifndef PORTHOLE_ROBOT_CAMERA_BACKEND_H
#define PORTHOLE_ROBOT_CAMERA_BACKEND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "robot/camera.h"

#define CAM_MAX_OPTIONS 32
#define CAM_MAX_SENSORS 4

/* Whether a backend takes an argument after its name in the camera spec
 * "BACKEND[:ARG]" (see camera_new). */
enum cam_arg {
    CAM_ARG_NONE,     /* "sim": a ':' after the name is an error */
    CAM_ARG_OPTIONAL, /* "realsense" or "realsense:SERIAL" */
    CAM_ARG_REQUIRED, /* "gst:PIPELINE", "v4l2:/dev/video0", "replay:DIR" */
    CAM_ARG_URL,      /* "rtsp://...": the name is a URL scheme and open gets the whole URL */
};

/* A backend: one file, one instance of this struct, one row in camera.c's
 * table. All calls come from the thread that calls the camera_* function. */
struct camera_ops {
    const char *name;  /* the spec's prefix: "sim", "gst", "rtsp", "realsense-file" */
    enum cam_arg arg;
    const char *usage; /* the spec as --help shows it: "gst:PIPELINE", "realsense[:SERIAL]" */
    /* Non-NULL for a backend listed but not compiled in: why, e.g. "not
     * compiled: librealsense2 not found". camera_new refuses it with that
     * reason; open and the other operations may be NULL. */
    const char *unavailable;
    /* Fixed modes: camera_new opens it only in one of these. With
     * nresolutions 0 the source decides (a GStreamer pipeline's negotiated
     * caps): camera_new passes the robot's requested mode along unchecked
     * and open sets cam->mode to what the source delivers. */
    struct cam_modes modes;
    /* Fills cam's identity, streams, capabilities, intrinsics, mode and
     * option table and sets cam->impl. arg is the text after "NAME:" (never
     * empty), the whole spec for CAM_ARG_URL, or NULL when the spec has no
     * argument. mode is never NULL: one of modes, or the requested mode for
     * a backend whose source decides. Returns 0, or -1 with a one-line
     * reason in err; on -1 nothing is left to free and close is not called.
     * It may block for a bounded time (a pipeline's first frame). */
    int (*open)(struct camera *cam, const char *arg, const struct cam_mode *mode, char *err,
                size_t errlen);
    /* Frees cam->impl. Called after stop. */
    void (*close)(struct camera *cam);
    /* Starts the capture thread, which reads cam->mask before each frameset
     * and hands framesets to cam->fn(cam->user, set), each frame one of
     * cam->streams. Returns 0, or -1 with a reason in err. */
    int (*start)(struct camera *cam, char *err, size_t errlen);
    /* Joins the capture thread; cam->fn is not called after it returns. */
    void (*stop)(struct camera *cam);

    /* The rest are optional (NULL). */
    /* Applies option i of cam->options, already checked against its
     * range, to the device; camera.c records the value when it returns 0.
     * Returns 0, or -1 with a one-line reason. Any thread. Without it an
     * option is a value camera.c keeps (the simulator reads them). */
    int (*set_option)(struct camera *cam, size_t i, double value, char *err, size_t errlen);
    /* Reads option i's current value from the device. Returns 0, or -1
     * when the device cannot say now (camera.c then reports the last value
     * it knew). Any thread. */
    int (*get_option)(const struct camera *cam, size_t i, double *value);
    /* Resets the device's hardware; the capture thread recovers from the
     * re-enumeration by itself. Returns 0, or -1 with a reason. Main thread. */
    int (*hw_reset)(struct camera *cam, char *err, size_t errlen);
    /* Writes one line per device the backend could open to out, without
     * opening any. Returns how many, or -1 with a reason. Any thread. */
    int (*list)(FILE *out, char *err, size_t errlen);
};

/* The backends, one row each in camera.c's table. */
extern const struct camera_ops camera_sim_ops;   /* camera_sim.c */
extern const struct camera_ops camera_gst_ops;   /* camera_gst.c: gst:PIPELINE */
extern const struct camera_ops camera_v4l2_ops;  /* camera_gst.c: v4l2:DEVICE */
extern const struct camera_ops camera_rtsp_ops;  /* camera_gst.c: rtsp://URL */
extern const struct camera_ops camera_rtsps_ops; /* camera_gst.c: rtsps://URL */
extern const struct camera_ops camera_replay_ops; /* camera_replay.c: replay:DIR */
#ifdef PORTHOLE_HAVE_REALSENSE
/* camera_realsense.c: realsense[:SERIAL] and realsense-file:PATH.bag */
extern const struct camera_ops camera_realsense_ops, camera_realsense_file_ops;
#endif

/* The device as camera.c describes it. The backend fills everything above
 * "Owned by camera.c" in open and leaves it unchanged until close. */
struct camera {
    const struct camera_ops *ops;
    void *impl; /* the backend's own state */

    char name[64], serial[32], firmware[32];
    char product_id[8], usb_type[8], physical_port[32];
    struct cam_mode mode;
    unsigned streams;   /* CAM_MASK bits of the streams the device has; at least one */
    double depth_scale; /* 0 without a depth stream */
    struct cam_intrinsics intrinsics[CAM_NSTREAMS]; /* model "none" when unknown */
    struct cam_extrinsics extrinsics[CAM_NSTREAMS]; /* depth -> stream; identity, not known, before open */
    /* The modes the device offers when the source decides and knows them
     * (a RealSense's depth profiles; nresolutions 0: only cam->mode). */
    struct cam_modes device_modes;

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
    struct cam_modes own_modes; /* describe's modes when the source decides: mode */
    int own_resolution[1][2], own_rate[1];
    pthread_mutex_t state_lock; /* guards state and state_reason */
    enum cam_state state;
    char state_reason[160];
};

/* Copies the current option values, in the order of cam->options, into
 * out[0 .. cam->noptions - 1]. Safe from any thread. */
void camera_options_snapshot(const struct camera *cam, double *out);

/* Records the device's state and why (NULL: no reason), logged once per
 * change. The backend calls it from its capture thread when its source is
 * lost and when frames flow again. Safe from any thread. */
void camera_set_state(struct camera *cam, enum cam_state state, const char *reason);

#endif
