/* api.c - the robot's REST resources: routing, validation and JSON shapes. */
#include "robot/api.h"

#include <glib.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "robot/pointcloud.h"

#define API_MAX_SEGMENTS 8
#define API_SEGMENT_MAX 64
#define API_MAX_CONFIGS 8
/* The point cloud is summarised from every 4th pixel of every 4th row:
 * 19,200 points at 640x480, a few tens of microseconds per frame. */
#define API_PC_DECIMATION 4

struct api {
    struct camera *cam;
    struct media *media;
    struct api_sessions ops;
    void *user;
    json_t *sensors;         /* camera_describe(full)'s sensors, without options */

    /* Main thread. */
    unsigned held;           /* streams started with stream/start */
    json_t *configs;         /* the accepted stream/start configs, or NULL */
    const char *align_to;    /* a cam_stream_name, or NULL */
    bool pc_active;
    gint64 pc_since_us;

    /* The capture thread writes these, the main thread reads them. */
    GMutex lock;
    gint64 run_start_us;     /* monotonic: first frameset of the current run */
    gint64 last_frame_us;
    gint64 win_start_us;
    unsigned win_frames;
    double fps;
    uint64_t pc_frames;
    int64_t pc_capture_wall_us;
    struct pointcloud_stats pc;
};

/* A frameset arriving more than this after the previous one starts a new
 * streaming run (its duration restarts). */
#define API_RUN_GAP_US (1000 * 1000)

json_t *api_error_body(const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return json_pack("{s:s}", "detail", text);
}

/* ---- the capture thread ---- */

static void api_on_frames(void *user, const struct cam_frameset *set)
{
    struct api *api = user;
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&api->lock);
    if (api->last_frame_us == 0 || now - api->last_frame_us > API_RUN_GAP_US) {
        api->run_start_us = now;
        api->win_start_us = now;
        api->win_frames = 0;
        api->fps = 0;
    }
    api->last_frame_us = now;
    api->win_frames++;
    if (now - api->win_start_us >= 1000 * 1000) {
        api->fps = api->win_frames * 1e6 / (double)(now - api->win_start_us);
        api->win_start_us = now;
        api->win_frames = 0;
    }
    bool pc = api->pc_active;
    g_mutex_unlock(&api->lock);
    if (!pc)
        return;
    for (size_t i = 0; i < set->count; i++) {
        const struct cam_frame *f = &set->frames[i];
        if (f->stream != CAM_DEPTH)
            continue;
        struct pointcloud_stats st;
        pointcloud_measure(f, camera_intrinsics(api->cam, CAM_DEPTH),
                           camera_depth_scale(api->cam), API_PC_DECIMATION, &st);
        g_mutex_lock(&api->lock);
        /* Deactivated while measuring: the status was reset, keep it so. */
        if (api->pc_active) {
            api->pc = st;
            api->pc_frames++;
            api->pc_capture_wall_us = f->capture_wall_us;
        }
        g_mutex_unlock(&api->lock);
    }
}

/* ---- lifetime ---- */

struct api *api_new(struct camera *cam, struct media *media, const struct api_sessions *sessions,
                    void *user)
{
    struct api *api = g_new0(struct api, 1);
    api->cam = cam;
    api->media = media;
    api->ops = *sessions;
    api->user = user;
    json_t *d = camera_describe(cam, false);
    api->sensors = json_incref(json_object_get(d, "sensors"));
    json_decref(d);
    g_mutex_init(&api->lock);
    media_set_observer(media, api_on_frames, api);
    return api;
}

void api_free(struct api *api)
{
    if (!api)
        return;
    media_set_observer(api->media, NULL, NULL);
    media_hold_streams(api->media, 0);
    json_decref(api->configs);
    json_decref(api->sensors);
    g_mutex_clear(&api->lock);
    g_free(api);
}

/* ---- helpers ---- */

static void api_update_hold(struct api *api)
{
    unsigned mask = api->held;
    if (api->pc_active)
        mask |= CAM_MASK(CAM_DEPTH);
    media_hold_streams(api->media, mask);
}

static json_t *stream_names(unsigned mask)
{
    json_t *arr = json_array();
    for (int s = 0; s < CAM_NSTREAMS; s++)
        if (mask & CAM_MASK(s))
            json_array_append_new(arr, json_string(cam_stream_name((enum cam_stream)s)));
    return arr;
}

/* "color, depth" for a mask, for messages. */
static const char *mask_text(unsigned mask, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int s = 0; s < CAM_NSTREAMS; s++)
        if ((mask & CAM_MASK(s)) && n < len)
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
                                  cam_stream_name((enum cam_stream)s));
    return buf;
}

/* A printable copy of user text for an error message. */
static const char *quote(const char *s, char *buf, size_t len)
{
    size_t n = 0;
    for (; s && *s && n + 4 < len && n < 64; s++)
        buf[n++] = (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ? '?' : *s;
    if (s && *s && n + 4 < len) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

/* ---- devices ---- */

static bool api_is_device(const struct api *api, const char *id)
{
    return strcmp(id, camera_serial(api->cam)) == 0;
}

static json_t *api_unknown_device(const struct api *api, const char *id)
{
    char q[80];
    return api_error_body("no device '%s' on this robot; it has '%s' (%s)", quote(id, q, sizeof q),
                          camera_serial(api->cam), camera_name(api->cam));
}

static json_t *device_info(struct api *api)
{
    json_t *names = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(api->sensors, i, s)
        json_array_append(names, json_object_get(s, "name"));
    json_t *d = camera_describe(api->cam, false);
    json_t *info = json_pack(
        "{s:s, s:s, s:s, s:s, s:O, s:O, s:O, s:o, s:b}", "device_id", camera_serial(api->cam),
        "name", camera_name(api->cam), "serial_number", camera_serial(api->cam),
        "firmware_version", camera_firmware(api->cam), "physical_port",
        json_object_get(d, "physicalPort"), "usb_type", json_object_get(d, "usbType"),
        "product_id", json_object_get(d, "productId"), "sensors", names, "is_streaming",
        media_captured_streams(api->media) != 0);
    json_decref(d);
    return info;
}

/* ---- sensors and options ---- */

static void sensor_id(const struct api *api, size_t i, char *buf, size_t len)
{
    snprintf(buf, len, "%s-sensor-%zu", camera_serial(api->cam), i);
}

/* Returns the sensor index for id, or -1. */
static int api_find_sensor(const struct api *api, const char *id)
{
    char want[96];
    for (size_t i = 0; i < json_array_size(api->sensors); i++) {
        sensor_id(api, i, want, sizeof want);
        if (strcmp(want, id) == 0)
            return (int)i;
    }
    return -1;
}

static json_t *api_unknown_sensor(const struct api *api, const char *id)
{
    GString *known = g_string_new(NULL);
    char sid[96], q[80];
    for (size_t i = 0; i < json_array_size(api->sensors); i++) {
        sensor_id(api, i, sid, sizeof sid);
        g_string_append_printf(known, "%s%s (%s)", i ? ", " : "", sid,
                               json_string_value(json_object_get(
                                   json_array_get(api->sensors, i), "name")));
    }
    json_t *body = api_error_body("no sensor '%s' on device '%s'; it has %s",
                                  quote(id, q, sizeof q), camera_serial(api->cam), known->str);
    g_string_free(known, TRUE);
    return body;
}

static json_t *option_info(const struct api *api, const struct cam_option_desc *o)
{
    double value = o->def;
    camera_get_option(api->cam, o->id, &value);
    return json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:s, s:b}", "option_id", o->id,
                     "name", o->name, "description", o->description, "current_value", value,
                     "default_value", o->def, "min_value", o->min, "max_value", o->max, "step",
                     o->step, "units", o->units, "read_only", o->read_only);
}

static json_t *sensor_options(const struct api *api, int sensor)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < camera_option_count(api->cam); i++) {
        const struct cam_option_desc *o = camera_option(api->cam, i);
        if (o->sensor == sensor)
            json_array_append_new(arr, option_info(api, o));
    }
    return arr;
}

static const struct cam_option_desc *api_find_option(const struct api *api, int sensor,
                                                     const char *id)
{
    for (size_t i = 0; i < camera_option_count(api->cam); i++) {
        const struct cam_option_desc *o = camera_option(api->cam, i);
        if (o->sensor == sensor && strcmp(o->id, id) == 0)
            return o;
    }
    return NULL;
}

static json_t *api_unknown_option(const struct api *api, int sensor, const char *sid,
                                  const char *id)
{
    GString *known = g_string_new(NULL);
    for (size_t i = 0; i < camera_option_count(api->cam); i++) {
        const struct cam_option_desc *o = camera_option(api->cam, i);
        if (o->sensor == sensor)
            g_string_append_printf(known, "%s%s", known->len ? ", " : "", o->id);
    }
    char q[80];
    json_t *body = api_error_body("no option '%s' on sensor '%s'; it has: %s",
                                  quote(id, q, sizeof q), sid, known->str);
    g_string_free(known, TRUE);
    return body;
}

static const char *sensor_type(json_t *sensor)
{
    json_t *streams = json_object_get(sensor, "streams");
    size_t i;
    json_t *st;
    json_array_foreach(streams, i, st) {
        const char *type = json_string_value(json_object_get(st, "type"));
        if (strcmp(type, "depth") == 0)
            return "depth_sensor";
        if (strcmp(type, "color") == 0)
            return "color_sensor";
    }
    return "sensor";
}

static json_t *sensor_info(const struct api *api, int i)
{
    json_t *sensor = json_array_get(api->sensors, (size_t)i);
    json_t *profiles = json_array();
    size_t k;
    json_t *st;
    json_array_foreach(json_object_get(sensor, "streams"), k, st)
        json_array_append_new(profiles,
                              json_pack("{s:O, s:O, s:O, s:[O]}", "stream_type",
                                        json_object_get(st, "type"), "resolutions",
                                        json_object_get(st, "resolutions"), "fps",
                                        json_object_get(st, "fps"), "formats",
                                        json_object_get(st, "format")));
    char sid[96];
    sensor_id(api, (size_t)i, sid, sizeof sid);
    return json_pack("{s:s, s:O, s:s, s:o, s:o}", "sensor_id", sid, "name",
                     json_object_get(sensor, "name"), "type", sensor_type(sensor),
                     "supported_stream_profiles", profiles, "options",
                     sensor_options(api, i));
}

/* PUT .../options/{id} {"value": x}. */
static int put_option(struct api *api, const struct cam_option_desc *o, json_t *body,
                      json_t **out)
{
    if (!json_is_object(body)) {
        *out = api_error_body("the body must be a JSON object {\"value\": <number>}; got %s",
                              body ? json_kind(body) : "no body");
        return 422;
    }
    json_t *v = json_object_get(body, "value");
    double value;
    if (json_is_number(v)) {
        value = json_number_value(v);
    } else if (json_is_boolean(v)) {
        value = json_is_true(v) ? 1 : 0;
    } else {
        *out = api_error_body("'value' must be a number; got %s", v ? json_kind(v) : "nothing");
        return 422;
    }
    if (o->read_only) {
        *out = api_error_body("option '%s' is read-only", o->id);
        return 409;
    }
    char err[512];
    if (camera_set_option(api->cam, o->id, value, err, sizeof err) != 0) {
        *out = api_error_body("%s must be between %g and %g (step %g); got %g", o->id, o->min,
                              o->max, o->step, value);
        return 422;
    }
    log_info("api: option %s set to %g", o->id, value);
    *out = option_info(api, o);
    return 200;
}

/* ---- streams ---- */

static json_t *stream_status(struct api *api)
{
    unsigned mask = media_captured_streams(api->media);
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&api->lock);
    bool live = api->last_frame_us && now - api->last_frame_us <= API_RUN_GAP_US;
    double fps = live ? api->fps : 0;
    double duration = live ? (double)(now - api->run_start_us) / 1e6 : 0;
    g_mutex_unlock(&api->lock);
    json_t *st = json_pack("{s:s, s:b, s:o, s:f, s:f, s:o, s:i, s:{s:i, s:i}}", "device_id",
                           camera_serial(api->cam), "is_streaming", mask != 0, "active_streams",
                           stream_names(mask), "framerate", fps, "duration", duration,
                           "started_by_api", stream_names(api->held), "configured_framerate",
                           camera_mode(api->cam)->fps, "resolution", "width",
                           camera_mode(api->cam)->width, "height", camera_mode(api->cam)->height);
    json_object_set(st, "configs", api->configs ? api->configs : json_null());
    json_object_set_new(st, "align_to", api->align_to ? json_string(api->align_to) : json_null());
    return st;
}

/* Parses a stream type of the wire ("color") or librealsense's name for
 * the first infrared imager ("infrared"). */
static int api_parse_stream(const char *name)
{
    if (name && strcmp(name, "infrared") == 0)
        return CAM_INFRARED1;
    return cam_stream_parse(name);
}

/* True when the array arr holds the integer v. */
static bool int_in(json_t *arr, json_int_t v)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
        if (json_integer_value(x) == v)
            return true;
    return false;
}

static bool resolution_in(json_t *arr, json_int_t w, json_int_t h)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
        if (json_integer_value(json_array_get(x, 0)) == w &&
            json_integer_value(json_array_get(x, 1)) == h)
            return true;
    return false;
}

/* Checks one entry of stream/start's configs against the sensors; returns
 * its stream, or -1 with *status and *out set. */
static int check_config(struct api *api, json_t *c, size_t idx, int *status, json_t **out)
{
    char q[80];
    *status = 422;
    if (!json_is_object(c)) {
        *out = api_error_body("configs[%zu] must be an object; got %s", idx, json_kind(c));
        return -1;
    }
    const char *sid = json_string_value(json_object_get(c, "sensor_id"));
    const char *type = json_string_value(json_object_get(c, "stream_type"));
    const char *format = json_string_value(json_object_get(c, "format"));
    json_t *res = json_object_get(c, "resolution");
    json_t *w = json_object_get(res, "width"), *h = json_object_get(res, "height");
    json_t *fps = json_object_get(c, "framerate");
    if (!sid || !type || !format || !json_is_integer(w) || !json_is_integer(h) ||
        !json_is_integer(fps)) {
        *out = api_error_body("configs[%zu] must have sensor_id, stream_type and format "
                              "(strings), resolution {width, height} and framerate (integers)",
                              idx);
        return -1;
    }
    int sensor = api_find_sensor(api, sid);
    if (sensor < 0) {
        *status = 404;
        *out = api_unknown_sensor(api, sid);
        return -1;
    }
    json_t *sj = json_array_get(api->sensors, (size_t)sensor);
    int stream = api_parse_stream(type);
    json_t *profile = NULL;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(sj, "streams"), i, p)
        if (stream >= 0 && strcmp(json_string_value(json_object_get(p, "type")),
                                  cam_stream_name((enum cam_stream)stream)) == 0)
            profile = p;
    if (!profile) {
        GString *known = g_string_new(NULL);
        json_array_foreach(json_object_get(sj, "streams"), i, p)
            g_string_append_printf(known, "%s%s", i ? ", " : "",
                                   json_string_value(json_object_get(p, "type")));
        *out = api_error_body("configs[%zu]: sensor '%s' (%s) has no stream '%s'; it has %s", idx,
                              sid, json_string_value(json_object_get(sj, "name")),
                              quote(type, q, sizeof q), known->str);
        g_string_free(known, TRUE);
        return -1;
    }
    const char *fmt = json_string_value(json_object_get(profile, "format"));
    if (g_ascii_strcasecmp(format, fmt) != 0) {
        *out = api_error_body("configs[%zu]: format '%s' is not available for %s (it has %s)", idx,
                              quote(format, q, sizeof q), cam_stream_name((enum cam_stream)stream),
                              fmt);
        return -1;
    }
    json_t *resolutions = json_object_get(profile, "resolutions");
    json_t *rates = json_object_get(profile, "fps");
    if (!resolution_in(resolutions, json_integer_value(w), json_integer_value(h)) ||
        !int_in(rates, json_integer_value(fps))) {
        char *r = json_dumps(resolutions, JSON_COMPACT), *f = json_dumps(rates, JSON_COMPACT);
        *out = api_error_body("configs[%zu]: %s at %" JSON_INTEGER_FORMAT "x%" JSON_INTEGER_FORMAT
                              " and %" JSON_INTEGER_FORMAT " fps is not supported (resolutions "
                              "%s, fps %s)", idx, cam_stream_name((enum cam_stream)stream),
                              json_integer_value(w), json_integer_value(h),
                              json_integer_value(fps), r ? r : "?", f ? f : "?");
        free(r);
        free(f);
        return -1;
    }
    const struct cam_mode *mode = camera_mode(api->cam);
    if (json_integer_value(w) != mode->width || json_integer_value(h) != mode->height ||
        json_integer_value(fps) != mode->fps) {
        *status = 409;
        *out = api_error_body("configs[%zu]: the camera runs at %dx%d and %d fps, shared by every "
                              "stream and viewer; the mode is chosen at start-up (porthole-robot "
                              "--width --height --fps), not at run time", idx, mode->width,
                              mode->height, mode->fps);
        return -1;
    }
    return stream;
}

static int stream_start(struct api *api, json_t *body, json_t **out)
{
    if (api->held) {
        char names[64];
        *out = api_error_body("streams %s were already started with stream/start; POST "
                              "stream/stop first", mask_text(api->held, names, sizeof names));
        return 409;
    }
    json_t *configs = json_object_get(body, "configs");
    if (!json_is_object(body) || !json_is_array(configs) || json_array_size(configs) < 1 ||
        json_array_size(configs) > API_MAX_CONFIGS) {
        *out = api_error_body("the body must be {\"configs\": [1 to %d stream configs], "
                              "\"align_to\"?: stream type}", API_MAX_CONFIGS);
        return 422;
    }
    unsigned mask = 0;
    size_t i;
    json_t *c;
    json_array_foreach(configs, i, c) {
        int status;
        int s = check_config(api, c, i, &status, out);
        if (s < 0)
            return status;
        if (mask & CAM_MASK(s)) {
            *out = api_error_body("configs[%zu]: stream '%s' is configured twice", i,
                                  cam_stream_name((enum cam_stream)s));
            return 422;
        }
        mask |= CAM_MASK(s);
    }
    json_t *align = json_object_get(body, "align_to");
    const char *align_to = NULL;
    if (align && !json_is_null(align)) {
        int s = api_parse_stream(json_string_value(align));
        if (s < 0 || !(mask & CAM_MASK(s))) {
            char q[80];
            *out = api_error_body("align_to must be one of the configured streams; got '%s'",
                                  json_is_string(align) ? quote(json_string_value(align), q,
                                                                sizeof q) : json_kind(align));
            return 422;
        }
        align_to = cam_stream_name((enum cam_stream)s);
    }
    api->held = mask;
    api->configs = json_incref(configs);
    api->align_to = align_to;
    api_update_hold(api);
    char names[64];
    log_info("api: streams %s started", mask_text(mask, names, sizeof names));
    *out = stream_status(api);
    return 200;
}

static int stream_stop(struct api *api, json_t **out)
{
    if (!api->held) {
        *out = api_error_body("no streams were started with stream/start (viewers' sessions "
                              "keep their own streams; close them with DELETE "
                              "/api/webrtc/sessions)");
        return 409;
    }
    api->held = 0;
    json_decref(api->configs);
    api->configs = NULL;
    api->align_to = NULL;
    api_update_hold(api);
    log_info("api: streams stopped");
    *out = stream_status(api);
    return 200;
}

/* ---- point cloud ---- */

static json_t *pc_status(struct api *api)
{
    g_mutex_lock(&api->lock);
    struct pointcloud_stats st = api->pc;
    uint64_t frames = api->pc_frames;
    int64_t wall = api->pc_capture_wall_us;
    g_mutex_unlock(&api->lock);
    json_t *body = json_pack("{s:s, s:b, s:i, s:I, s:I, s:I}", "device_id",
                             camera_serial(api->cam), "is_active", api->pc_active, "decimation",
                             API_PC_DECIMATION, "frames", (json_int_t)frames, "points",
                             (json_int_t)st.points, "sampled", (json_int_t)st.sampled);
    if (api->pc_active && st.points) {
        json_object_set_new(body, "bounds",
                            json_pack("{s:[f,f,f], s:[f,f,f]}", "min", st.min[0], st.min[1],
                                      st.min[2], "max", st.max[0], st.max[1], st.max[2]));
        json_object_set_new(body, "mean_depth", json_real(st.mean_z));
        json_object_set_new(body, "capture_time_ms", json_integer(wall / 1000));
    }
    return body;
}

static int pc_set(struct api *api, bool on, json_t **out)
{
    if (on != api->pc_active) {
        g_mutex_lock(&api->lock);
        api->pc_active = on;
        api->pc_frames = 0;
        memset(&api->pc, 0, sizeof api->pc);
        g_mutex_unlock(&api->lock);
        api->pc_since_us = g_get_monotonic_time();
        api_update_hold(api);
        log_info("api: point cloud %s", on ? "activated" : "deactivated");
    }
    *out = pc_status(api);
    return 200;
}

/* ---- WebRTC ---- */

static int webrtc_offer(struct api *api, json_t *body, api_reply_fn reply, void *ctx,
                        json_t **out)
{
    char q[80], err[256];
    if (!json_is_object(body)) {
        *out = api_error_body("the body must be {\"device_id\": string, \"stream_types\": "
                              "[stream types]}; got %s", body ? json_kind(body) : "no body");
        return 422;
    }
    json_t *dev = json_object_get(body, "device_id");
    if (dev && !json_is_null(dev)) {
        if (!json_is_string(dev)) {
            *out = api_error_body("'device_id' must be a string; got %s", json_kind(dev));
            return 422;
        }
        if (!api_is_device(api, json_string_value(dev))) {
            *out = api_unknown_device(api, json_string_value(dev));
            return 404;
        }
    }
    enum cam_stream streams[PEER_MAX_TRACKS] = {CAM_COLOR};
    size_t n = 1;
    json_t *types = json_object_get(body, "stream_types");
    if (types && !json_is_null(types)) {
        if (!json_is_array(types) || json_array_size(types) < 1 ||
            json_array_size(types) > PEER_MAX_TRACKS) {
            *out = api_error_body("'stream_types' must be an array of 1 to %d of color, depth, "
                                  "infrared-1, infrared-2", PEER_MAX_TRACKS);
            return 422;
        }
        n = json_array_size(types);
        for (size_t i = 0; i < n; i++) {
            json_t *t = json_array_get(types, i);
            int s = api_parse_stream(json_string_value(t));
            if (s < 0) {
                *out = api_error_body("unknown stream type '%s': this robot has color, depth, "
                                      "infrared-1 and infrared-2",
                                      json_is_string(t) ? quote(json_string_value(t), q, sizeof q)
                                                        : json_kind(t));
                return 422;
            }
            for (size_t k = 0; k < i; k++) {
                if (streams[k] == (enum cam_stream)s) {
                    *out = api_error_body("stream type '%s' is listed twice",
                                          cam_stream_name((enum cam_stream)s));
                    return 422;
                }
            }
            streams[i] = (enum cam_stream)s;
        }
    }
    int status = api->ops.open(api->user, streams, n, reply, ctx, err, sizeof err);
    if (status != 0) {
        *out = api_error_body("%s", err);
        return status;
    }
    return 0; /* answered later */
}

/* Reads the session_id field; on failure sets *out and returns NULL. */
static const char *body_session(json_t *body, json_t **out)
{
    if (!json_is_object(body)) {
        *out = api_error_body("the body must be a JSON object with 'session_id'; got %s",
                              body ? json_kind(body) : "no body");
        return NULL;
    }
    const char *sid = json_string_value(json_object_get(body, "session_id"));
    if (!sid) {
        *out = api_error_body("'session_id' (a string) is required");
        return NULL;
    }
    return sid;
}

static int webrtc_answer(struct api *api, json_t *body, json_t **out)
{
    const char *sid = body_session(body, out);
    if (!sid)
        return 422;
    const char *type = json_string_value(json_object_get(body, "type"));
    const char *sdp = json_string_value(json_object_get(body, "sdp"));
    if (!type || strcmp(type, "answer") != 0 || !sdp) {
        *out = api_error_body("the body must be {\"session_id\", \"sdp\": string, \"type\": "
                              "\"answer\"}");
        return 422;
    }
    char err[256];
    int status = api->ops.answer(api->user, sid, sdp, err, sizeof err);
    *out = status == 200 ? json_pack("{s:s, s:s}", "session_id", sid, "status", "answer applied")
                         : api_error_body("%s", err);
    return status;
}

static int webrtc_candidate(struct api *api, json_t *body, json_t **out)
{
    const char *sid = body_session(body, out);
    if (!sid)
        return 422;
    json_t *c = json_object_get(body, "candidate");
    json_t *mid = json_object_get(body, "sdpMid");
    json_t *idx = json_object_get(body, "sdpMLineIndex");
    /* A browser's RTCIceCandidate.toJSON() may come whole. */
    if (json_is_object(c)) {
        mid = json_object_get(c, "sdpMid");
        idx = json_object_get(c, "sdpMLineIndex");
        c = json_object_get(c, "candidate");
    }
    if (!json_is_string(c) && !json_is_null(c)) {
        *out = api_error_body("'candidate' must be a candidate line (\"candidate:...\"), \"\" or "
                              "null for the end of candidates");
        return 422;
    }
    if ((mid && !json_is_null(mid) && !json_is_string(mid)) ||
        (idx && !json_is_null(idx) &&
         (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
          json_integer_value(idx) > 63))) {
        *out = api_error_body("'sdpMid' must be a string and 'sdpMLineIndex' an integer 0..63");
        return 422;
    }
    char err[256];
    int status = api->ops.candidate(api->user, sid, json_is_string(c) ? json_string_value(c) : "",
                                    json_is_integer(idx) ? (int)json_integer_value(idx) : -1,
                                    json_string_value(mid), err, sizeof err);
    *out = status == 200 ? json_pack("{s:s, s:s}", "session_id", sid, "status",
                                     "candidate added")
                         : api_error_body("%s", err);
    return status;
}

/* ---- routing ---- */

struct route_ctx {
    const char *method;
    const char *path;      /* without the query */
    const char *seg[API_MAX_SEGMENTS];
    size_t nseg;
};

/* Answers 405 unless the method is one of allowed ("GET", "GET,PUT"...). */
static bool method_ok(const struct route_ctx *rc, const char *allowed, int *status, json_t **out)
{
    const char *p = allowed;
    size_t n = strlen(rc->method);
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, rc->method, n) == 0)
            return true;
        p += len + (end ? 1 : 0);
    }
    *status = 405;
    *out = api_error_body("%s is not allowed on %s; use %s", rc->method, rc->path, allowed);
    /* The same list as an HTTP Allow header writes it: api_http.c sends
     * it as that header, and a client through the cloud has no headers. */
    GString *allow = g_string_new(NULL);
    for (p = allowed; *p; p++) {
        if (*p == ',')
            g_string_append(allow, ", ");
        else
            g_string_append_c(allow, *p);
    }
    json_object_set_new(*out, "allow", json_string(allow->str));
    g_string_free(allow, TRUE);
    return false;
}

static int route_device(struct api *api, const struct route_ctx *rc, json_t *body, json_t **out)
{
    int st = 200;
    const char *const *seg = rc->seg; /* seg[0] "devices", seg[1] the device */
    if (!api_is_device(api, seg[1])) {
        *out = api_unknown_device(api, seg[1]);
        return 404;
    }
    if (rc->nseg == 2) {
        if (!method_ok(rc, "GET", &st, out))
            return st;
        *out = device_info(api);
        return 200;
    }
    if (rc->nseg == 3 && strcmp(seg[2], "hw_reset") == 0) {
        if (!method_ok(rc, "POST", &st, out))
            return st;
        char err[256];
        if (media_restart_camera(api->media, err, sizeof err) != 0) {
            *out = api_error_body("the camera did not restart: %s", err);
            return 503;
        }
        log_info("api: hardware reset: capture restarted");
        *out = json_pack("{s:s, s:s}", "device_id", camera_serial(api->cam), "message",
                         "device reset: capture restarted");
        return 200;
    }
    if (strcmp(seg[2], "sensors") == 0) {
        if (rc->nseg == 3) {
            if (!method_ok(rc, "GET", &st, out))
                return st;
            *out = json_array();
            for (size_t i = 0; i < json_array_size(api->sensors); i++)
                json_array_append_new(*out, sensor_info(api, (int)i));
            return 200;
        }
        int sensor = api_find_sensor(api, seg[3]);
        if (sensor < 0) {
            *out = api_unknown_sensor(api, seg[3]);
            return 404;
        }
        if (rc->nseg == 4) {
            if (!method_ok(rc, "GET", &st, out))
                return st;
            *out = sensor_info(api, sensor);
            return 200;
        }
        if (strcmp(seg[4], "options") == 0 && rc->nseg == 5) {
            if (!method_ok(rc, "GET", &st, out))
                return st;
            *out = sensor_options(api, sensor);
            return 200;
        }
        if (strcmp(seg[4], "options") == 0 && rc->nseg == 6) {
            const struct cam_option_desc *o = api_find_option(api, sensor, seg[5]);
            if (!o) {
                *out = api_unknown_option(api, sensor, seg[3], seg[5]);
                return 404;
            }
            if (!method_ok(rc, "GET,PUT", &st, out))
                return st;
            if (strcmp(rc->method, "PUT") == 0)
                return put_option(api, o, body, out);
            *out = option_info(api, o);
            return 200;
        }
    }
    if (rc->nseg == 4 && strcmp(seg[2], "stream") == 0) {
        if (strcmp(seg[3], "status") == 0) {
            if (!method_ok(rc, "GET", &st, out))
                return st;
            *out = stream_status(api);
            return 200;
        }
        if (strcmp(seg[3], "start") == 0 || strcmp(seg[3], "stop") == 0) {
            if (!method_ok(rc, "POST", &st, out))
                return st;
            return seg[3][2] == 'a' ? stream_start(api, body, out) : stream_stop(api, out);
        }
    }
    if (rc->nseg == 4 && strcmp(seg[2], "point_cloud") == 0) {
        if (strcmp(seg[3], "status") == 0) {
            if (!method_ok(rc, "GET", &st, out))
                return st;
            *out = pc_status(api);
            return 200;
        }
        if (strcmp(seg[3], "activate") == 0 || strcmp(seg[3], "deactivate") == 0) {
            if (!method_ok(rc, "POST", &st, out))
                return st;
            return pc_set(api, seg[3][0] == 'a', out);
        }
    }
    return -1;
}

static int route_webrtc(struct api *api, const struct route_ctx *rc, json_t *body,
                        api_reply_fn reply, void *ctx, json_t **out)
{
    int st = 200;
    const char *const *seg = rc->seg; /* seg[0] "webrtc" */
    if (rc->nseg == 2 && strcmp(seg[1], "offer") == 0) {
        if (!method_ok(rc, "POST", &st, out))
            return st;
        return webrtc_offer(api, body, reply, ctx, out);
    }
    if (rc->nseg == 2 && strcmp(seg[1], "answer") == 0) {
        if (!method_ok(rc, "POST", &st, out))
            return st;
        return webrtc_answer(api, body, out);
    }
    if (rc->nseg == 2 && strcmp(seg[1], "ice-candidates") == 0) {
        if (!method_ok(rc, "POST", &st, out))
            return st;
        return webrtc_candidate(api, body, out);
    }
    if (rc->nseg == 2 && strcmp(seg[1], "sessions") == 0) {
        if (!method_ok(rc, "GET,DELETE", &st, out))
            return st;
        if (strcmp(rc->method, "GET") == 0) {
            *out = api->ops.list(api->user);
        } else {
            size_t n = api->ops.close_all(api->user);
            *out = json_pack("{s:I}", "closed", (json_int_t)n);
        }
        return 200;
    }
    if (rc->nseg == 3 && strcmp(seg[1], "sessions") == 0) {
        if (!method_ok(rc, "GET,DELETE", &st, out))
            return st;
        char q[80];
        json_t *status = api->ops.get(api->user, seg[2]);
        if (!status) {
            *out = api_error_body("no session '%s' on this robot", quote(seg[2], q, sizeof q));
            return 404;
        }
        if (strcmp(rc->method, "GET") == 0) {
            *out = status;
            return 200;
        }
        json_decref(status);
        api->ops.close(api->user, seg[2]);
        *out = json_pack("{s:s, s:s}", "session_id", seg[2], "status", "closed");
        return 200;
    }
    return -1;
}

/* A path segment: 1..64 characters of A-Z a-z 0-9 . _ - (every id of the
 * API has that syntax, so nothing needs percent-decoding). */
static bool segment_ok(const char *s, size_t len)
{
    if (len == 0 || len > API_SEGMENT_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!g_ascii_isalnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

void api_handle_json(struct api *api, const char *method, const char *path, json_t *body,
                     api_reply_fn reply, void *ctx)
{
    json_t *out = NULL;
    int status = -1;
    char q[80];
    char buf[API_MAX_SEGMENTS * (API_SEGMENT_MAX + 1) + 8];
    struct route_ctx rc = {.method = method ? method : ""};
    if (json_is_null(body))
        body = NULL;

    /* The path without its query, split into segments after "/api/". */
    size_t plen = path ? strcspn(path, "?") : 0;
    if (!path || plen < 5 || strncmp(path, "/api/", 5) != 0 || plen >= sizeof buf) {
        reply(ctx, 404, api_error_body("no resource at '%s' (paths begin with /api/; see "
                                       "docs/API.md)", quote(path ? path : "", q, sizeof q)));
        return;
    }
    memcpy(buf, path, plen);
    buf[plen] = '\0';
    rc.path = buf;
    char *segs = g_strndup(path + 5, plen - 5);
    size_t slen = strlen(segs);
    if (slen && segs[slen - 1] == '/')
        segs[--slen] = '\0'; /* "/api/devices/" is "/api/devices" */
    char *cursor = segs;
    bool bad = slen == 0;
    while (!bad && cursor) {
        char *slash = strchr(cursor, '/');
        size_t len = slash ? (size_t)(slash - cursor) : strlen(cursor);
        if (rc.nseg == API_MAX_SEGMENTS || !segment_ok(cursor, len)) {
            bad = true;
            break;
        }
        cursor[len] = '\0';
        rc.seg[rc.nseg++] = cursor;
        cursor = slash ? slash + 1 : NULL;
    }
    if (!bad && strcmp(rc.seg[0], "devices") == 0) {
        if (rc.nseg == 1) {
            if (method_ok(&rc, "GET", &status, &out)) {
                out = json_pack("[o]", device_info(api));
                status = 200;
            }
        } else {
            status = route_device(api, &rc, body, &out);
        }
    } else if (!bad && strcmp(rc.seg[0], "webrtc") == 0) {
        status = route_webrtc(api, &rc, body, reply, ctx, &out);
        if (status == 0) { /* the offer is answered later */
            g_free(segs);
            return;
        }
    }
    if (status < 0) {
        json_decref(out);
        status = 404;
        out = api_error_body("no resource at '%s' (see docs/API.md)", quote(buf, q, sizeof q));
    }
    g_free(segs);
    reply(ctx, status, out);
}

void api_handle_text(struct api *api, const char *method, const char *path, const char *body,
                     size_t body_len, api_reply_fn reply, void *ctx)
{
    json_t *j = NULL;
    if (body_len) {
        json_error_t jerr;
        j = json_loadb(body, body_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
            reply(ctx, 400, api_error_body("malformed JSON at line %d, column %d (byte %d): %s",
                                           jerr.line, jerr.column, jerr.position, jerr.text));
            return;
        }
    }
    api_handle_json(api, method, path, j, reply, ctx);
    json_decref(j);
}
