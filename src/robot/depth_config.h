/* depth_config.h - what a viewer may ask of the depth channel, and the
 * JSON the channel's control side speaks (docs/PROTOCOL.md, "Depth
 * channel"): requests clamped to what the camera can do, colormap
 * settings, and the calibration message.
 *
 * Pure: no threads, no state; any thread. */
#ifndef PORTHOLE_ROBOT_DEPTH_CONFIG_H
#define PORTHOLE_ROBOT_DEPTH_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "robot/camera.h"
#include "robot/colormap.h"

#define DEPTH_DEFAULT_RATE 15
#define DEPTH_DEFAULT_DECIMATION 2
#define DEPTH_MIN_RATE 1
#define DEPTH_MAX_DECIMATION 16 /* DEPTH_PACK_MAX_DECIMATION */

/* A depth channel's settings. note says what was clamped in the request
 * that made them ("" when nothing was). */
struct depth_request {
    int rate;        /* frames per second, DEPTH_MIN_RATE..camera fps */
    int decimation;  /* 1..DEPTH_MAX_DECIMATION */
    bool color;      /* aligned colour per sample */
    char note[256];
};

/* The defaults for a camera capturing at camera_fps. */
void depth_request_default(struct depth_request *out, int camera_fps);

/* Applies a request object {rate?, decimation?, color?} (create-session's
 * "depth" or a "depth-config" message; other members are ignored) onto
 * *inout: numbers are rounded and clamped to the ranges above, each clamp
 * explained in inout->note ("rate 1000 is more than the camera's 30 fps:
 * using 30"). Returns 0, or -1 with a sentence in err (not an object, a
 * member of the wrong type), leaving *inout unchanged. */
int depth_request_apply(const json_t *obj, int camera_fps, struct depth_request *inout,
                        char *err, size_t errlen);

/* {"type":"depth-config","rate","decimation","color","codec":"delta-lz4",
 *  "chunkBytes", "message"?}: the settings in force (message: the note). */
json_t *depth_request_json(const struct depth_request *r);

/* Applies a "depth-colormap" message {colormap?, near?, far?} onto *inout.
 * Returns 0, or -1 with a sentence in err (wrong types, unknown colormap);
 * the range itself is checked by colormap_configure. */
int depth_colormap_apply(const json_t *obj, struct colormap_settings *inout, char *err,
                         size_t errlen);

/* {"type":"depth-colormap","colormap","near","far"}. */
json_t *depth_colormap_json(const struct colormap_settings *s);

/* The calibration message: {"type":"depth-calibration","version":1,
 * "units":"metres","depthScale","sampleUnit":0.001,"depthStream":"depth",
 * "streams":{name:{width,height,ppx,ppy,fx,fy,model,coeffs}...},
 * "extrinsics":{name:{"from":"depth","rotation":[9],"translation":[3]}...}}. */
json_t *depth_calibration_json(const struct camera *cam);

/* {"type":"depth-error","code","message"}. */
json_t *depth_error_json(const char *code, const char *message);

#endif
