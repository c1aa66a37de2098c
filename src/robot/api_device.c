/* api_device.c - the REST API's devices, sensors and options: the
 * camera's identity, its sensors' stream profiles, reading and changing
 * options, and the hardware reset. */
#include "robot/api_internal.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "robot/errtext.h"

/* ---- devices ---- */

bool api_device_is(const struct api *api, const char *id)
{
    return strcmp(id, camera_serial(api->cam)) == 0;
}

json_t *api_device_unknown(const struct api *api, const char *id)
{
    char q[80];
    return api_error_body("no device '%s' on this robot; it has '%s' (%s)",
                          errtext_quote(id, q, sizeof q), camera_serial(api->cam),
                          camera_name(api->cam));
}

int api_device_resolve(struct api_request *rq, const char *seg, json_t **out)
{
    if (api_device_is(rq->api, seg))
        return 0;
    *out = api_device_unknown(rq->api, seg);
    return 404;
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
    /* Calibration, as the device reports it: metres per depth unit, the
     * pinhole intrinsics of color and depth, and (a RealSense) where each
     * stream's camera sits relative to depth. */
    json_object_set(info, "depth_scale", json_object_get(d, "depthScale"));
    json_object_set(info, "intrinsics", json_object_get(d, "intrinsics"));
    if (json_object_get(d, "extrinsics"))
        json_object_set(info, "extrinsics", json_object_get(d, "extrinsics"));
    json_object_set(info, "streams", json_object_get(d, "streams"));
    char reason[160];
    enum cam_state st = camera_state(api->cam, reason, sizeof reason);
    json_object_set_new(info, "state", json_string(cam_state_name(st)));
    json_object_set_new(info, "state_reason", reason[0] ? json_string(reason) : json_null());
    json_decref(d);
    return info;
}

int api_device_list(struct api_request *rq, json_t **out)
{
    *out = json_pack("[o]", device_info(rq->api));
    return 200;
}

int api_device_get(struct api_request *rq, json_t **out)
{
    *out = device_info(rq->api);
    return 200;
}

int api_device_reset(struct api_request *rq, json_t **out)
{
    char err[256];
    /* A real device resets its hardware and comes back by itself (the
     * backend's capture thread recovers it as after an unplug). */
    if (camera_has_hw_reset(rq->api->cam)) {
        if (camera_hw_reset(rq->api->cam, err, sizeof err) != 0) {
            *out = api_error_body("the camera did not reset: %s", err);
            return 503;
        }
        log_info("api: hardware reset: the camera re-enumerates");
        *out = json_pack("{s:s, s:s}", "device_id", camera_serial(rq->api->cam), "message",
                         "device reset: reconnecting");
        return 200;
    }
    if (media_restart_camera(rq->api->media, err, sizeof err) != 0) {
        *out = api_error_body("the camera did not restart: %s", err);
        return 503;
    }
    log_info("api: hardware reset: capture restarted");
    *out = json_pack("{s:s, s:s}", "device_id", camera_serial(rq->api->cam), "message",
                     "device reset: capture restarted");
    return 200;
}

/* ---- sensors ---- */

static void sensor_id(const struct api *api, size_t i, char *buf, size_t len)
{
    snprintf(buf, len, "%s-sensor-%zu", camera_serial(api->cam), i);
}

int api_sensor_find(const struct api *api, const char *id)
{
    char want[96];
    for (size_t i = 0; i < json_array_size(api->sensors); i++) {
        sensor_id(api, i, want, sizeof want);
        if (strcmp(want, id) == 0)
            return (int)i;
    }
    return -1;
}

json_t *api_sensor_unknown(const struct api *api, const char *id)
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
                                  errtext_quote(id, q, sizeof q), camera_serial(api->cam),
                                  known->str);
    g_string_free(known, TRUE);
    return body;
}

int api_sensor_resolve(struct api_request *rq, const char *seg, json_t **out)
{
    rq->sensor = api_sensor_find(rq->api, seg);
    rq->sensor_id = seg;
    if (rq->sensor >= 0)
        return 0;
    *out = api_sensor_unknown(rq->api, seg);
    return 404;
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

int api_sensor_list(struct api_request *rq, json_t **out)
{
    *out = json_array();
    for (size_t i = 0; i < json_array_size(rq->api->sensors); i++)
        json_array_append_new(*out, sensor_info(rq->api, (int)i));
    return 200;
}

int api_sensor_get(struct api_request *rq, json_t **out)
{
    *out = sensor_info(rq->api, rq->sensor);
    return 200;
}

/* ---- options ---- */

int api_option_resolve(struct api_request *rq, const char *seg, json_t **out)
{
    const struct camera *cam = rq->api->cam;
    for (size_t i = 0; i < camera_option_count(cam); i++) {
        const struct cam_option_desc *o = camera_option(cam, i);
        if (o->sensor == rq->sensor && strcmp(o->id, seg) == 0) {
            rq->option = o;
            return 0;
        }
    }
    GString *known = g_string_new(NULL);
    for (size_t i = 0; i < camera_option_count(cam); i++) {
        const struct cam_option_desc *o = camera_option(cam, i);
        if (o->sensor == rq->sensor)
            g_string_append_printf(known, "%s%s", known->len ? ", " : "", o->id);
    }
    char q[80];
    *out = api_error_body("no option '%s' on sensor '%s'; it has: %s",
                          errtext_quote(seg, q, sizeof q), rq->sensor_id, known->str);
    g_string_free(known, TRUE);
    return 404;
}

int api_option_list(struct api_request *rq, json_t **out)
{
    *out = sensor_options(rq->api, rq->sensor);
    return 200;
}

int api_option_get(struct api_request *rq, json_t **out)
{
    *out = option_info(rq->api, rq->option);
    return 200;
}

/* PUT .../options/{id} {"value": x}. */
int api_option_put(struct api_request *rq, json_t **out)
{
    const struct cam_option_desc *o = rq->option;
    json_t *body = rq->body;
    if (!json_is_object(body)) {
        *out = api_error_body("the body must be a JSON object {\"value\": <number>}; got %s",
                              body ? errtext_kind(body) : "no body");
        return 422;
    }
    json_t *v = json_object_get(body, "value");
    double value;
    if (json_is_number(v)) {
        value = json_number_value(v);
    } else if (json_is_boolean(v)) {
        value = json_is_true(v) ? 1 : 0;
    } else {
        *out = api_error_body("'value' must be a number; got %s",
                              v ? errtext_kind(v) : "nothing");
        return 422;
    }
    if (o->read_only) {
        *out = api_error_body("option '%s' is read-only", o->id);
        return 409;
    }
    char err[512];
    int rc = camera_set_option(rq->api->cam, o->id, value, err, sizeof err);
    if (rc == -2) { /* a valid value the device refused, or a device unplugged */
        *out = api_error_body("%s", err);
        return 503;
    }
    if (rc != 0) {
        *out = api_error_body("%s must be between %g and %g (step %g); got %g", o->id, o->min,
                              o->max, o->step, value);
        return 422;
    }
    log_info("api: option %s set to %g", o->id, value);
    *out = option_info(rq->api, o);
    return 200;
}
