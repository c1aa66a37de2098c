/* stream_types.h - a JSON list of stream type names read into enum
 * cam_stream: the one parser behind the REST API's "stream_types" (POST
 * /api/webrtc/offer) and the robot messages' "streamTypes"
 * (webrtc-offer-request and switch-stream-type from the cloud).
 *
 * Both refuse anything but an array of 1..max distinct known names. They
 * word their errors as their clients (and the tests) know them, and the
 * REST API also takes librealsense's "infrared", so each caller names its
 * dialect. Pure functions; any thread. */
#ifndef PORTHOLE_ROBOT_STREAM_TYPES_H
#define PORTHOLE_ROBOT_STREAM_TYPES_H

#include <jansson.h>
#include <stddef.h>

#include "robot/camera.h"

enum stream_types_dialect {
    /* Robot messages: the field is 'streamTypes'; the wire names only
     * ("color", "depth", "infrared-1", "infrared-2"). */
    STREAM_TYPES_MESSAGE,
    /* The REST API: the field is 'stream_types'; "infrared" is also taken
     * for infrared-1, as librealsense names it. */
    STREAM_TYPES_REST,
};

/* The stream name stands for in dialect, or -1 (a NULL name gives -1). */
int stream_types_parse_name(const char *name, enum stream_types_dialect dialect);

/* Reads v, which must be an array of 1..max distinct stream type names,
 * into out[0..n-1] (out has room for max). Returns n, or -1 with one line
 * in err: v is not such an array (a NULL v included), an element is not a
 * known name, or two elements name the same stream. */
int stream_types_parse(const json_t *v, enum stream_types_dialect dialect, enum cam_stream *out,
                       size_t max, char *err, size_t errlen);

#endif
