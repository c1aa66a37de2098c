/* camera.h - the camera interface: open a backend, describe it, start and
 * stop its streams, receive frames, read and change options.
 *
 * A backend (the simulator, a GStreamer pipeline, librealsense2, a
 * recording) is a struct camera_ops in its own file; camera.c picks one by
 * the prefix of a camera spec, "BACKEND[:ARG]". The rest of the robot sees
 * only this header.
 *
 * Threads: camera_new/free/start/stop/set_streams/describe are called
 * from the robot's main thread. Frames are delivered on the backend's own
 * capture thread. Options may be read and set from any thread. */
#ifndef PORTHOLE_ROBOT_CAMERA_H
#define PORTHOLE_ROBOT_CAMERA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The streams of a RealSense-like depth camera. Names on the wire are
 * "color", "depth", "infrared-1", "infrared-2". */
enum cam_stream { CAM_COLOR = 0, CAM_DEPTH, CAM_INFRARED1, CAM_INFRARED2, CAM_NSTREAMS };
#define CAM_MASK(s) (1u << (s))
#define CAM_MASK_ALL ((1u << CAM_NSTREAMS) - 1)

const char *cam_stream_name(enum cam_stream s);
/* Returns the stream for a wire name, or -1 for an unknown name. */
int cam_stream_parse(const char *name);

enum cam_format {
    CAM_FORMAT_RGB8, /* 3 bytes per pixel, R G B */
    CAM_FORMAT_Z16,  /* uint16 per pixel, native endian; depth in units of depth_scale metres; 0 = no data */
    CAM_FORMAT_Y8,   /* 1 byte per pixel, gray */
};
const char *cam_format_name(enum cam_format f); /* "RGB8", "Z16", "Y8" */

/* One image. data is valid only during the frames callback. */
struct cam_frame {
    enum cam_stream stream;
    enum cam_format format;
    int width, height;
    size_t stride;               /* bytes per row */
    uint64_t number;             /* 1, 2, 3 ... since camera_start */
    int64_t capture_wall_us;     /* CLOCK_REALTIME at capture, microseconds */
    int64_t capture_mono_us;     /* CLOCK_MONOTONIC at capture, microseconds */
    const uint8_t *data;
};

/* The frames captured at one instant: one per requested stream. */
struct cam_frameset {
    size_t count;
    struct cam_frame frames[CAM_NSTREAMS];
};

/* Called on the capture thread for each frameset; must not block for long
 * (it delays the next capture) and must not call camera_* functions other
 * than the option getters and setters. */
typedef void (*cam_frames_fn)(void *user, const struct cam_frameset *set);

/* Resolution and rate, shared by every stream of the device. */
struct cam_mode {
    int width, height, fps;
};

/* The modes a backend supports: every resolution at every rate. */
struct cam_modes {
    const int (*resolutions)[2]; /* {width, height} */
    size_t nresolutions;
    const int *rates;            /* frames per second */
    size_t nrates;
};

/* Pinhole intrinsics in pixels, as librealsense reports them. */
struct cam_intrinsics {
    int width, height;
    double ppx, ppy, fx, fy;
    const char *model; /* "none" or "brown-conrady" */
    double coeffs[5];
};

/* One option: ids are snake_case ("exposure", "gain", "laser_power",
 * "emitter_enabled", ...). Each belongs to one sensor (index into the
 * sensors of camera_describe). */
/* A rigid transform from the depth stream's frame to another stream's:
 * p_stream = rotation * p_depth + translation, rotation ROW-major (note:
 * librealsense's rs2_extrinsics is column-major; its backend transposes),
 * translation in metres. known: the device says so (a backend that cannot
 * tell leaves identity, not known, and describe() omits it). */
struct cam_extrinsics {
    bool known;
    double rotation[9];
    double translation[3];
};

struct cam_option_desc {
    const char *id, *name, *description, *units;
    double min, max, step, def;
    bool read_only;
    int sensor;
};

struct camera;

/* What a device is doing, for telemetry and the REST API. */
enum cam_state {
    CAM_STATE_STREAMING,    /* frames flow (or would, when a stream is wanted) */
    CAM_STATE_RECONNECTING, /* the source was lost; the backend retries with backoff */
};
const char *cam_state_name(enum cam_state s); /* "streaming", "reconnecting" */

/* Opens the camera a spec names, "BACKEND[:ARG]": "sim", "gst:PIPELINE",
 * "v4l2:/dev/video0", "rtsp://host/path" (a URL scheme names its backend
 * and is the argument whole), "replay:DIR", "realsense[:SERIAL]",
 * "realsense-file:PATH.bag". mode is the requested mode: a backend with
 * fixed modes opens only one of them (NULL: its first resolution at 30
 * fps); a backend whose source decides ignores it, and camera_mode() then
 * tells what the source delivers. Returns NULL with a one-line reason in
 * err: an unknown backend (names the known ones), an argument missing or
 * not taken, a backend not compiled in (says why), an unsupported mode
 * (names the supported ones), or the backend's own failure (a missing
 * device, a pipeline that does not build or gives no frame in time). May
 * block for a few seconds while a source starts. */
struct camera *camera_new(const char *spec, const struct cam_mode *mode, char *err, size_t errlen);

/* Stops the camera if started and frees it. NULL is a no-op. */
void camera_free(struct camera *cam);

/* Writes one line per device the backend of spec could open ("SERIAL
 * NAME firmware F usb U port P" for realsense) to out, opening none.
 * Returns how many (0: none connected), or -1 with a one-line reason in
 * err (a bad spec, or a backend that cannot list devices). Any thread. */
int camera_list_devices(const char *spec, FILE *out, char *err, size_t errlen);

/* Checks a spec's syntax without opening anything: a known backend,
 * compiled in, with an argument exactly when it takes one. Returns 0, or
 * -1 with a one-line reason in err (as camera_new's). Any thread. */
int camera_spec_check(const char *spec, char *err, size_t errlen);

/* Names of the compiled-in backends, NULL-terminated ({"sim", "gst", ...}),
 * in the order of camera.c's table of backends, which is the one list of
 * them. Any thread. */
const char *const *camera_backend_names(void);

/* Every backend of the table as the robot's --help and --version show
 * them, one line: "sim, gst:PIPELINE, v4l2:DEVICE, rtsp://URL,
 * realsense[:SERIAL] (not compiled: librealsense2 not found)". Static
 * text; any thread. */
const char *camera_backends_text(void);

/* The modes of the backend a spec names (or a bare backend name), known
 * before any camera is open (the robot's configuration validates and
 * documents --width, --height and --fps with them), or NULL when no
 * backend has that name. nresolutions 0 means the source decides. Static
 * data; any thread. */
const struct cam_modes *camera_backend_modes(const char *spec);

/* Device identity, valid until camera_free. */
const char *camera_name(const struct camera *cam);     /* "Intel RealSense D435 (simulated)" */
const char *camera_serial(const struct camera *cam);   /* digits, stable per host */
const char *camera_firmware(const struct camera *cam); /* "5.16.0.1" */
const struct cam_mode *camera_mode(const struct camera *cam);
double camera_depth_scale(const struct camera *cam);   /* metres per Z16 unit: 0.001; 0 without depth */
/* model "none" and zero focal lengths for a stream the device lacks. */
const struct cam_intrinsics *camera_intrinsics(const struct camera *cam, enum cam_stream s);
/* From depth to stream s (identity for depth itself and unless the backend
 * says otherwise). Valid until camera_free; any thread. */
const struct cam_extrinsics *camera_extrinsics(const struct camera *cam, enum cam_stream s);

/* The streams the device has, CAM_MASK bits: CAM_MASK_ALL for a depth
 * camera, CAM_MASK(CAM_COLOR) for a webcam. Valid until camera_free. */
unsigned camera_streams(const struct camera *cam);

/* Returns 0 when the device has every stream in mask, or -1 with one line
 * in err naming the first missing one and the streams it has ("this camera
 * (gst) has no depth stream; it offers: color"). */
int camera_check_streams(const struct camera *cam, unsigned mask, char *err, size_t errlen);

/* The device's state and, when not streaming, why (into reason, which may
 * be NULL). Any thread. */
enum cam_state camera_state(const struct camera *cam, char *reason, size_t len);

/* A new JSON object describing the device (the caller owns it):
 *   {"name","serial","firmwareVersion","productId","usbType","physicalPort",
 *    "depthScale","width","height","fps",
 *    "streams":["color","depth","infrared-1","infrared-2"] (only those it has),
 *    "sensors":[{"name":"Stereo Module","streams":[{"type","format","resolutions":[[w,h]...],"fps":[...]}...]},
 *               {"name":"RGB Camera",...}],
 *    "intrinsics":{"color":{width,height,ppx,ppy,fx,fy,model,coeffs},"depth":{...}}}
 * (intrinsics of the color and depth streams it has; "sensors" as reported),
 * and with full also "options":[{id,name,description,units,min,max,step,default,value,readOnly,sensor}].
 * Without full it stays under 4 KiB of compact JSON (it goes into
 * robot-register's deviceInfo, capped at 8 KiB by the cloud). */
json_t *camera_describe(const struct camera *cam, bool full);

/* Starts capturing the streams in mask (CAM_MASK bits, limited to
 * camera_streams; 0 is allowed and captures nothing until set_streams) at the mode's rate, calling fn(user,
 * set) on the capture thread. Returns 0, or -1 with a reason in err. */
int camera_start(struct camera *cam, unsigned mask, cam_frames_fn fn, void *user, char *err,
                 size_t errlen);

/* Changes which streams are captured (limited to camera_streams); takes
 * effect from the next frameset. A stream nobody needs costs nothing. */
void camera_set_streams(struct camera *cam, unsigned mask);

/* Stops the capture thread and waits for it; after it returns fn is not
 * called again. No-op when not started. */
void camera_stop(struct camera *cam);

/* Whether the backend resets real hardware (a RealSense). */
bool camera_has_hw_reset(const struct camera *cam);

/* Resets the device's hardware: it drops off USB and comes back, and the
 * capture recovers by itself as after an unplug (state "reconnecting",
 * then "streaming"). Returns 0, or -1 with a reason in err (no hardware
 * reset for this backend, or the device refused). Main thread. */
int camera_hw_reset(struct camera *cam, char *err, size_t errlen);

/* Options. Index-based listing, id-based access. A backend that talks to
 * a device (a RealSense) applies a value there and reports the device's
 * current value; the others keep the value. */
size_t camera_option_count(const struct camera *cam);
const struct cam_option_desc *camera_option(const struct camera *cam, size_t i);
/* Returns 0 and the value, or -1 when no option has that id. */
int camera_get_option(const struct camera *cam, const char *id, double *value);
/* Returns 0, or -1 with a reason in err: unknown id (names the valid ones),
 * read-only, or out of range (names the range and step); or -2 when the
 * device refused a valid value or is disconnected (err says which). */
int camera_set_option(struct camera *cam, const char *id, double value, char *err, size_t errlen);

#endif
