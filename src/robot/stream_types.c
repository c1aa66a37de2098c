/* stream_types.c - a JSON list of stream type names read into enum
 * cam_stream, worded in the REST API's dialect or the robot messages'. */
#include "robot/stream_types.h"

#include <stdio.h>
#include <string.h>

#include "robot/errtext.h"

int stream_types_parse_name(const char *name, enum stream_types_dialect dialect)
{
    if (dialect == STREAM_TYPES_REST && name && strcmp(name, "infrared") == 0)
        return CAM_INFRARED1;
    return cam_stream_parse(name);
}

/* The error for an element that is not a known name. The message dialect
 * shows at most 40 bytes of the name as sent; the REST API a printable
 * copy, or the kind of a value that is not a string. */
static void stream_types_unknown(const json_t *t, enum stream_types_dialect dialect, char *err,
                                 size_t errlen)
{
    const char *name = json_string_value(t);
    if (dialect == STREAM_TYPES_MESSAGE) {
        snprintf(err, errlen, "unknown stream type '%.40s': this robot has color, depth, "
                 "infrared-1 and infrared-2", name ? name : "(not a string)");
        return;
    }
    char q[80];
    snprintf(err, errlen, "unknown stream type '%s': this robot has color, depth, infrared-1 "
             "and infrared-2", name ? errtext_quote(name, q, sizeof q) : errtext_kind(t));
}

int stream_types_parse(const json_t *v, enum stream_types_dialect dialect, enum cam_stream *out,
                       size_t max, char *err, size_t errlen)
{
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > max) {
        if (dialect == STREAM_TYPES_MESSAGE)
            snprintf(err, errlen, "'streamTypes' must be an array of 1 to %d stream types",
                     (int)max);
        else
            snprintf(err, errlen, "'stream_types' must be an array of 1 to %d of color, depth, "
                     "infrared-1, infrared-2", (int)max);
        return -1;
    }
    size_t n = json_array_size(v);
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(v, i);
        int s = stream_types_parse_name(json_string_value(t), dialect);
        if (s < 0) {
            stream_types_unknown(t, dialect, err, errlen);
            return -1;
        }
        for (size_t k = 0; k < i; k++) {
            if (out[k] == (enum cam_stream)s) {
                snprintf(err, errlen, "stream type '%s' is listed twice",
                         cam_stream_name((enum cam_stream)s));
                return -1;
            }
        }
        out[i] = (enum cam_stream)s;
    }
    return (int)n;
}
