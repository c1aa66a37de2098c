/* api_streams.c - the REST API's streams and point cloud: starting and
 * holding streams without a viewer, their status and frame rate, and the
 * point cloud summarised from depth frames on the capture thread. */
#include "robot/api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "robot/errtext.h"
#include "robot/stream_types.h"

#define API_MAX_CONFIGS 8

/* ---- the capture thread ---- */

void api_stream_on_frames(void *user, const struct cam_frameset *set)
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

/* ---- helpers ---- */

/* Holds what stream/start started and what the point cloud needs. */
static void update_hold(struct api *api)
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

int api_stream_status(struct api_request *rq, json_t **out)
{
    *out = stream_status(rq->api);
    return 200;
}

/* The profile of sensor sj for stream type, or NULL with *out set (422). */
static json_t *config_profile(json_t *sj, const char *sid, const char *type, size_t idx,
                              int *stream, json_t **out)
{
    *stream = stream_types_parse_name(type, STREAM_TYPES_REST);
    json_t *profile = NULL;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(sj, "streams"), i, p)
        if (*stream >= 0 && strcmp(json_string_value(json_object_get(p, "type")),
                                   cam_stream_name((enum cam_stream)*stream)) == 0)
            profile = p;
    if (profile)
        return profile;
    GString *known = g_string_new(NULL);
    json_array_foreach(json_object_get(sj, "streams"), i, p)
        g_string_append_printf(known, "%s%s", i ? ", " : "",
                               json_string_value(json_object_get(p, "type")));
    char q[80];
    *out = api_error_body("configs[%zu]: sensor '%s' (%s) has no stream '%s'; it has %s", idx,
                          sid, json_string_value(json_object_get(sj, "name")),
                          errtext_quote(type, q, sizeof q), known->str);
    g_string_free(known, TRUE);
    return NULL;
}

/* Checks one entry of stream/start's configs against the sensors; returns
 * its stream, or -1 with *status and *out set. */
static int check_config(struct api *api, json_t *c, size_t idx, int *status, json_t **out)
{
    char q[80];
    *status = 422;
    if (!json_is_object(c)) {
        *out = api_error_body("configs[%zu] must be an object; got %s", idx, errtext_kind(c));
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
    int sensor = api_sensor_find(api, sid);
    if (sensor < 0) {
        *status = 404;
        *out = api_sensor_unknown(api, sid);
        return -1;
    }
    int stream;
    json_t *profile = config_profile(json_array_get(api->sensors, (size_t)sensor), sid, type, idx,
                                     &stream, out);
    if (!profile)
        return -1;
    const char *name = cam_stream_name((enum cam_stream)stream);
    const char *fmt = json_string_value(json_object_get(profile, "format"));
    if (g_ascii_strcasecmp(format, fmt) != 0) {
        *out = api_error_body("configs[%zu]: format '%s' is not available for %s (it has %s)", idx,
                              errtext_quote(format, q, sizeof q), name, fmt);
        return -1;
    }
    json_t *resolutions = json_object_get(profile, "resolutions");
    json_t *rates = json_object_get(profile, "fps");
    if (!resolution_in(resolutions, json_integer_value(w), json_integer_value(h)) ||
        !int_in(rates, json_integer_value(fps))) {
        char *r = json_dumps(resolutions, JSON_COMPACT), *f = json_dumps(rates, JSON_COMPACT);
        *out = api_error_body("configs[%zu]: %s at %" JSON_INTEGER_FORMAT "x%" JSON_INTEGER_FORMAT
                              " and %" JSON_INTEGER_FORMAT " fps is not supported (resolutions "
                              "%s, fps %s)", idx, name, json_integer_value(w),
                              json_integer_value(h), json_integer_value(fps), r ? r : "?",
                              f ? f : "?");
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

/* Reads align_to (absent or null: none) against the configured streams;
 * returns 0, or 422 with *out set. */
static int check_align(json_t *body, unsigned mask, const char **align_to, json_t **out)
{
    json_t *align = json_object_get(body, "align_to");
    *align_to = NULL;
    if (!align || json_is_null(align))
        return 0;
    int s = stream_types_parse_name(json_string_value(align), STREAM_TYPES_REST);
    if (s < 0 || !(mask & CAM_MASK(s))) {
        char q[80];
        *out = api_error_body("align_to must be one of the configured streams; got '%s'",
                              json_is_string(align) ? errtext_quote(json_string_value(align), q,
                                                                    sizeof q)
                                                    : errtext_kind(align));
        return 422;
    }
    *align_to = cam_stream_name((enum cam_stream)s);
    return 0;
}

int api_stream_start(struct api_request *rq, json_t **out)
{
    struct api *api = rq->api;
    json_t *body = rq->body;
    char names[64];
    if (api->held) {
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
    const char *align_to;
    int status = check_align(body, mask, &align_to, out);
    if (status)
        return status;
    api->held = mask;
    api->configs = json_incref(configs);
    api->align_to = align_to;
    update_hold(api);
    log_info("api: streams %s started", mask_text(mask, names, sizeof names));
    *out = stream_status(api);
    return 200;
}

int api_stream_stop(struct api_request *rq, json_t **out)
{
    struct api *api = rq->api;
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
    update_hold(api);
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
        update_hold(api);
        log_info("api: point cloud %s", on ? "activated" : "deactivated");
    }
    *out = pc_status(api);
    return 200;
}

int api_pc_activate(struct api_request *rq, json_t **out)
{
    char err[160];
    if (camera_check_streams(rq->api->cam, CAM_MASK(CAM_DEPTH), err, sizeof err) != 0) {
        *out = api_error_body("%s; the point cloud needs depth", err);
        return 409;
    }
    return pc_set(rq->api, true, out);
}

int api_pc_deactivate(struct api_request *rq, json_t **out)
{
    return pc_set(rq->api, false, out);
}

int api_pc_status(struct api_request *rq, json_t **out)
{
    *out = pc_status(rq->api);
    return 200;
}
