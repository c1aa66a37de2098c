/* camera_realsense.c - the librealsense2 backend: "realsense[:SERIAL]"
 * opens a connected RealSense (the first, or the one with that serial),
 * "realsense-file:PATH.bag" replays a recording through librealsense's
 * playback device. Maps the device's identity, sensors, profiles,
 * intrinsics, extrinsics, depth scale and options onto struct camera;
 * camera_realsense_capture.c streams it.
 *
 * Streams: color RGB8, depth Z16, infrared 1 and 2 Y8, all at the one
 * mode the robot runs (a device opens at the requested mode; a recording
 * at the mode it was recorded in). A stream the device lacks at that mode
 * is not offered. Options: the device's own, with its ranges, at most
 * CAM_MAX_OPTIONS (the common ones first); a recording's are read-only
 * (librealsense replays their recorded values). */
#include "robot/camera_realsense.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* The robot's streams as librealsense names them; index -1 is any. */
static const struct {
    rs2_stream type;
    int index;
    rs2_format format;
    enum cam_format cam_format;
} rs_streams[CAM_NSTREAMS] = {
    [CAM_COLOR] = {RS2_STREAM_COLOR, -1, RS2_FORMAT_RGB8, CAM_FORMAT_RGB8},
    [CAM_DEPTH] = {RS2_STREAM_DEPTH, -1, RS2_FORMAT_Z16, CAM_FORMAT_Z16},
    [CAM_INFRARED1] = {RS2_STREAM_INFRARED, 1, RS2_FORMAT_Y8, CAM_FORMAT_Y8},
    [CAM_INFRARED2] = {RS2_STREAM_INFRARED, 2, RS2_FORMAT_Y8, CAM_FORMAT_Y8},
};

/* Options listed first, so that a device with more than CAM_MAX_OPTIONS
 * keeps the ones people reach for. */
static const rs2_option rs_common_options[] = {
    RS2_OPTION_EXPOSURE,        RS2_OPTION_GAIN,          RS2_OPTION_ENABLE_AUTO_EXPOSURE,
    RS2_OPTION_LASER_POWER,     RS2_OPTION_EMITTER_ENABLED, RS2_OPTION_VISUAL_PRESET,
    RS2_OPTION_DEPTH_UNITS,     RS2_OPTION_BRIGHTNESS,    RS2_OPTION_CONTRAST,
    RS2_OPTION_WHITE_BALANCE,   RS2_OPTION_ENABLE_AUTO_WHITE_BALANCE,
};

const char *rs_error_text(rs2_error *e, char *buf, size_t len)
{
    snprintf(buf, len, "%s: %s", rs2_get_failed_function(e), rs2_get_error_message(e));
    rs2_free_error(e);
    return buf;
}

/* Fails open with librealsense's error, naming what was being done. */
static int rs_fail(rs2_error *e, const char *what, char *err, size_t errlen)
{
    char buf[256];
    snprintf(err, errlen, "%s: %s", what, rs_error_text(e, buf, sizeof buf));
    return -1;
}

static void rs_info(const rs2_device *dev, rs2_camera_info info, char *out, size_t len)
{
    rs2_error *e = NULL;
    out[0] = '\0';
    if (rs2_supports_device_info(dev, info, &e) && !e) {
        const char *v = rs2_get_device_info(dev, info, &e);
        if (!e && v)
            snprintf(out, len, "%s", v);
    }
    if (e)
        rs2_free_error(e);
}

/* ---- the device ---- */

/* The device with serial (NULL: the first) from ctx's list. Returns NULL
 * with err naming what is connected. */
static rs2_device *rs_find(rs2_context *ctx, const char *serial, char *err, size_t errlen)
{
    rs2_error *e = NULL;
    rs2_device_list *list = rs2_query_devices(ctx, &e);
    if (e) {
        rs_fail(e, "cannot list RealSense devices", err, errlen);
        return NULL;
    }
    int n = rs2_get_device_count(list, &e);
    char seen[160] = "";
    size_t used = 0;
    rs2_device *found = NULL;
    for (int i = 0; !e && i < n && !found; i++) {
        rs2_device *d = rs2_create_device(list, i, &e);
        if (e)
            break;
        char s[32];
        rs_info(d, RS2_CAMERA_INFO_SERIAL_NUMBER, s, sizeof s);
        if (!serial || strcmp(s, serial) == 0) {
            found = d;
        } else {
            if (used < sizeof seen)
                used += (size_t)snprintf(seen + used, sizeof seen - used, "%s%s",
                                         used ? ", " : "", s);
            rs2_delete_device(d);
        }
    }
    rs2_delete_device_list(list);
    if (e) {
        rs_fail(e, "cannot open a RealSense device", err, errlen);
        return NULL;
    }
    if (!found && serial)
        snprintf(err, errlen, "no RealSense device with serial %s (connected: %s)", serial,
                 used ? seen : "none");
    else if (!found)
        snprintf(err, errlen, "no RealSense device connected (is it plugged in, and may this "
                 "user open it? see docs/CAMERAS.md)");
    return found;
}

/* Takes dev and its sensors as rs's. Returns 0, or -1 with err. */
static int rs_take(struct rs_camera *rs, rs2_device *dev, char *err, size_t errlen)
{
    rs2_error *e = NULL;
    rs2_sensor_list *list = rs2_query_sensors(dev, &e);
    if (e)
        return rs_fail(e, "cannot list the device's sensors", err, errlen);
    int n = rs2_get_sensors_count(list, &e);
    rs2_sensor *sensors[CAM_MAX_SENSORS] = {0};
    for (int i = 0; !e && i < n && i < CAM_MAX_SENSORS; i++)
        sensors[i] = rs2_create_sensor(list, i, &e);
    if (e) {
        for (int i = 0; i < CAM_MAX_SENSORS; i++)
            if (sensors[i])
                rs2_delete_sensor(sensors[i]);
        rs2_delete_sensor_list(list);
        return rs_fail(e, "cannot open the device's sensors", err, errlen);
    }
    pthread_mutex_lock(&rs->lock);
    rs->dev = dev;
    rs->sensor_list = list;
    memcpy(rs->sensors, sensors, sizeof sensors);
    pthread_mutex_unlock(&rs->lock);
    return 0;
}

void rs_detach(struct rs_camera *rs)
{
    pthread_mutex_lock(&rs->lock);
    for (int i = 0; i < CAM_MAX_SENSORS; i++) {
        if (rs->sensors[i])
            rs2_delete_sensor(rs->sensors[i]);
        rs->sensors[i] = NULL;
    }
    if (rs->sensor_list)
        rs2_delete_sensor_list(rs->sensor_list);
    if (rs->dev)
        rs2_delete_device(rs->dev);
    rs->sensor_list = NULL;
    rs->dev = NULL;
    pthread_mutex_unlock(&rs->lock);
}

int rs_attach(struct rs_camera *rs)
{
    char err[256];
    rs2_device *dev = rs_find(rs->ctx, rs->serial, err, sizeof err);
    if (!dev)
        return -1;
    rs_detach(rs);
    if (rs_take(rs, dev, err, sizeof err) != 0) {
        rs2_delete_device(dev);
        log_warn("camera: %s", err);
        return -1;
    }
    return 0;
}

/* librealsense's thread: notes that our device went away; the capture
 * thread does the rest. */
static void rs_on_devices_changed(rs2_device_list *removed, rs2_device_list *added, void *user)
{
    struct rs_camera *rs = user;
    rs2_error *e = NULL;
    pthread_mutex_lock(&rs->lock);
    if (rs->dev && rs2_device_list_contains(removed, rs->dev, &e) && !e)
        atomic_store(&rs->removed, true);
    pthread_mutex_unlock(&rs->lock);
    if (e)
        rs2_free_error(e);
    rs2_delete_device_list(removed);
    rs2_delete_device_list(added);
}

/* ---- streams, modes, intrinsics, extrinsics ---- */

static const char *rs_model_name(rs2_distortion d)
{
    switch (d) {
    case RS2_DISTORTION_NONE: return "none";
    case RS2_DISTORTION_MODIFIED_BROWN_CONRADY: return "modified-brown-conrady";
    case RS2_DISTORTION_INVERSE_BROWN_CONRADY: return "inverse-brown-conrady";
    case RS2_DISTORTION_FTHETA: return "ftheta";
    case RS2_DISTORTION_BROWN_CONRADY: return "brown-conrady";
    case RS2_DISTORTION_KANNALA_BRANDT4: return "kannala-brandt4";
    default: return "unknown";
    }
}

/* Which of the robot's streams profile p is, or -1. */
static int rs_stream_of(const rs2_stream_profile *p, int *w, int *h, int *fps)
{
    rs2_error *e = NULL;
    rs2_stream type;
    rs2_format format;
    int index, uid;
    if (!rs2_stream_profile_is(p, RS2_EXTENSION_VIDEO_PROFILE, &e) || e) {
        if (e)
            rs2_free_error(e);
        return -1;
    }
    rs2_get_stream_profile_data(p, &type, &format, &index, &uid, fps, &e);
    if (!e)
        rs2_get_video_stream_resolution(p, w, h, &e);
    if (e) {
        rs2_free_error(e);
        return -1;
    }
    for (int s = 0; s < CAM_NSTREAMS; s++)
        if (rs_streams[s].type == type && rs_streams[s].format == format &&
            (rs_streams[s].index < 0 || rs_streams[s].index == index))
            return s;
    return -1;
}

/* Adds w x h at fps to the modes a device offers for its reference stream. */
static void rs_add_mode(struct rs_camera *rs, struct camera *cam, int w, int h, int fps)
{
    struct cam_modes *m = &cam->device_modes;
    size_t i;
    for (i = 0; i < m->nresolutions; i++)
        if (rs->modes_res[i][0] == w && rs->modes_res[i][1] == h)
            break;
    if (i == m->nresolutions && i < RS_MAX_MODES) {
        rs->modes_res[i][0] = w;
        rs->modes_res[i][1] = h;
        m->nresolutions++;
    }
    for (i = 0; i < m->nrates; i++)
        if (rs->modes_fps[i] == fps)
            break;
    if (i == m->nrates && i < RS_MAX_MODES)
        rs->modes_fps[m->nrates++] = fps;
}

/* The profiles chosen for each stream, kept while open inspects them. */
struct rs_choice {
    rs2_stream_profile_list *lists[CAM_MAX_SENSORS];
    const rs2_stream_profile *prof[CAM_NSTREAMS];
};

/* Looks through every sensor's profiles: records the device's modes (those
 * of depth, else color), and picks for each stream the profile at mode
 * (a recording: at the first mode its depth, or else color, stream has). */
static int rs_choose(struct rs_camera *rs, struct camera *cam, struct rs_choice *c,
                     char *err, size_t errlen)
{
    rs2_error *e = NULL;
    int ref = -1;
    struct cam_mode ref_mode = cam->mode;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t si = 0; si < cam->nsensors; si++) {
            if (!c->lists[si]) {
                c->lists[si] = rs2_get_stream_profiles(rs->sensors[si], &e);
                if (e)
                    return rs_fail(e, "cannot list a sensor's profiles", err, errlen);
            }
            int n = rs2_get_stream_profiles_count(c->lists[si], &e);
            for (int k = 0; !e && k < n; k++) {
                const rs2_stream_profile *p = rs2_get_stream_profile(c->lists[si], k, &e);
                int w, h, fps, s = e ? -1 : rs_stream_of(p, &w, &h, &fps);
                if (s < 0)
                    continue;
                if (pass == 0) { /* the reference stream and its first mode */
                    if (ref != CAM_DEPTH && (s == CAM_DEPTH || (s == CAM_COLOR && ref < 0))) {
                        ref = s;
                        ref_mode = (struct cam_mode){w, h, fps};
                    }
                    continue;
                }
                if (s == ref)
                    rs_add_mode(rs, cam, w, h, fps);
                if (!c->prof[s] && w == cam->mode.width && h == cam->mode.height &&
                    fps == cam->mode.fps) {
                    c->prof[s] = p;
                    cam->stream_sensor[s] = (int)si;
                }
            }
            if (e)
                return rs_fail(e, "cannot read a profile", err, errlen);
        }
        if (ref < 0) {
            snprintf(err, errlen, "the device has no RGB8 color or Z16 depth stream");
            return -1;
        }
        if (rs->is_file) /* a recording plays at the mode it was made in */
            cam->mode = ref_mode;
    }
    if (!c->prof[ref]) {
        char modes[160] = "";
        size_t len = 0;
        for (size_t i = 0; i < cam->device_modes.nresolutions && len < sizeof modes; i++)
            len += (size_t)snprintf(modes + len, sizeof modes - len, "%s%dx%d", i ? ", " : "",
                                    rs->modes_res[i][0], rs->modes_res[i][1]);
        snprintf(err, errlen, "unsupported camera mode %dx%d at %d fps for this %s (%s: %s)",
                 cam->mode.width, cam->mode.height, cam->mode.fps, cam_stream_name(ref),
                 cam_stream_name(ref), modes);
        return -1;
    }
    return 0;
}

/* Fills streams, formats, intrinsics, extrinsics and the depth scale from
 * the chosen profiles. */
static int rs_streams_fill(struct rs_camera *rs, struct camera *cam, struct rs_choice *c,
                           char *err, size_t errlen)
{
    rs2_error *e = NULL;
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        if (!c->prof[s])
            continue;
        cam->streams |= CAM_MASK(s);
        cam->stream_format[s] = rs_streams[s].cam_format;
        int uid, fps;
        rs2_get_stream_profile_data(c->prof[s], &rs->types[s], &rs->formats[s], &rs->indexes[s],
                                    &uid, &fps, &e);
        rs2_intrinsics in;
        if (!e)
            rs2_get_video_stream_intrinsics(c->prof[s], &in, &e);
        if (e)
            return rs_fail(e, "cannot read intrinsics", err, errlen);
        cam->intrinsics[s] = (struct cam_intrinsics){
            .width = in.width, .height = in.height, .ppx = in.ppx, .ppy = in.ppy,
            .fx = in.fx, .fy = in.fy, .model = rs_model_name(in.model)};
        for (int k = 0; k < 5; k++)
            cam->intrinsics[s].coeffs[k] = in.coeffs[k];
        if (c->prof[CAM_DEPTH]) {
            rs2_extrinsics x;
            rs2_get_extrinsics(c->prof[CAM_DEPTH], c->prof[s], &x, &e);
            if (e) { /* not every pair is calibrated */
                rs2_free_error(e);
                e = NULL;
                continue;
            }
            cam->extrinsics[s].known = true;
            /* rs2_extrinsics is column-major; the seam is row-major. */
            for (int r = 0; r < 3; r++)
                for (int k = 0; k < 3; k++)
                    cam->extrinsics[s].rotation[3 * r + k] = x.rotation[3 * k + r];
            for (int k = 0; k < 3; k++)
                cam->extrinsics[s].translation[k] = x.translation[k];
        }
    }
    if (c->prof[CAM_DEPTH]) {
        rs2_sensor *ds = rs->sensors[cam->stream_sensor[CAM_DEPTH]];
        if (rs2_is_sensor_extendable_to(ds, RS2_EXTENSION_DEPTH_SENSOR, &e) && !e)
            cam->depth_scale = rs2_get_depth_scale(ds, &e);
        if (e)
            return rs_fail(e, "cannot read the depth scale", err, errlen);
        if (!(cam->depth_scale > 0)) {
            snprintf(err, errlen, "the device reports no depth scale");
            return -1;
        }
    }
    return 0;
}

/* ---- options ---- */

/* "Laser Power" -> "laser_power", with prefix. */
static void rs_option_id(const char *name, const char *prefix, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "%s", prefix);
    for (const char *p = name; *p && n + 1 < len; p++)
        out[n++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_';
    out[n < len ? n : len - 1] = '\0';
}

static bool rs_option_taken(const struct camera *cam, const char *id)
{
    for (size_t i = 0; i < cam->noptions; i++)
        if (strcmp(cam->options[i].id, id) == 0)
            return true;
    return false;
}

/* Adds option opt of sensor si when the sensor has it and there is room. */
static void rs_option_add(struct rs_camera *rs, struct camera *cam, size_t si, rs2_option opt)
{
    rs2_error *e = NULL;
    const rs2_options *o = (const rs2_options *)rs->sensors[si];
    size_t i = cam->noptions;
    if (i >= CAM_MAX_OPTIONS || !rs2_supports_option(o, opt, &e) || e)
        goto out;
    for (size_t k = 0; k < i; k++)
        if (rs->option_ids[k] == opt && rs->options[k].sensor == (int)si)
            goto out;
    float min, max, step, def;
    rs2_get_option_range(o, opt, &min, &max, &step, &def, &e);
    if (e)
        goto out;
    int ro = rs2_is_option_read_only(o, opt, &e);
    if (e)
        goto out;
    const char *name = rs2_option_to_string(opt);
    const char *desc = rs2_get_option_description(o, opt, &e);
    if (e)
        goto out;
    char *id = rs->option_text[i][0];
    rs_option_id(name, "", id, sizeof rs->option_text[i][0]);
    if (rs_option_taken(cam, id)) /* the same option on another sensor */
        rs_option_id(name, cam->stream_sensor[CAM_COLOR] == (int)si ? "color_" : "sensor_", id,
                     sizeof rs->option_text[i][0]);
    snprintf(rs->option_text[i][1], sizeof rs->option_text[i][1], "%s", name);
    snprintf(rs->option_text[i][2], sizeof rs->option_text[i][2], "%s", desc ? desc : "");
    const char *units = opt == RS2_OPTION_LASER_POWER   ? "milliwatts"
                        : opt == RS2_OPTION_DEPTH_UNITS ? "metres"
                        : opt == RS2_OPTION_EXPOSURE && (int)si == cam->stream_sensor[CAM_DEPTH]
                            ? "microseconds"
                            : "";
    rs->options[i] = (struct cam_option_desc){
        .id = id, .name = rs->option_text[i][1], .description = rs->option_text[i][2],
        .units = units, .min = min, .max = max, .step = step, .def = def,
        .read_only = ro != 0, .sensor = (int)si};
    rs->option_ids[i] = opt;
    cam->noptions++;
out:
    if (e)
        rs2_free_error(e);
}

/* The common options of every sensor first, then the rest until full. */
static void rs_options_fill(struct rs_camera *rs, struct camera *cam)
{
    cam->options = rs->options;
    for (size_t si = 0; si < cam->nsensors; si++)
        for (size_t k = 0; k < sizeof rs_common_options / sizeof rs_common_options[0]; k++)
            rs_option_add(rs, cam, si, rs_common_options[k]);
    for (size_t si = 0; si < cam->nsensors; si++)
        for (int opt = 0; opt < RS2_OPTION_COUNT; opt++)
            rs_option_add(rs, cam, si, (rs2_option)opt);
}

static int rs_set_option(struct camera *cam, size_t i, double value, char *err, size_t errlen)
{
    struct rs_camera *rs = cam->impl;
    rs2_error *e = NULL;
    int rc = 0;
    pthread_mutex_lock(&rs->lock);
    rs2_sensor *s = rs->sensors[rs->options[i].sensor];
    if (!s) {
        snprintf(err, errlen, "the camera is disconnected; try again when it is back");
        rc = -1;
    } else {
        rs2_set_option((const rs2_options *)s, rs->option_ids[i], (float)value, &e);
        if (e) {
            char buf[200];
            snprintf(err, errlen, "the camera refused %s = %g: %s", rs->options[i].id, value,
                     rs_error_text(e, buf, sizeof buf));
            rc = -1;
        }
    }
    pthread_mutex_unlock(&rs->lock);
    return rc;
}

static int rs_get_option(const struct camera *cam, size_t i, double *value)
{
    struct rs_camera *rs = cam->impl;
    rs2_error *e = NULL;
    int rc = -1;
    pthread_mutex_lock(&rs->lock);
    rs2_sensor *s = rs->sensors[rs->options[i].sensor];
    if (s) {
        float v = rs2_get_option((const rs2_options *)s, rs->option_ids[i], &e);
        if (!e) {
            *value = v;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&rs->lock);
    if (e)
        rs2_free_error(e);
    return rc;
}

/* ---- open, close, reset, list ---- */

static void rs_free(struct rs_camera *rs)
{
    rs_detach(rs);
    if (rs->ctx)
        rs2_delete_context(rs->ctx);
    pthread_mutex_destroy(&rs->lock);
    free(rs);
}

/* Identity, sensors, streams and options of the device rs holds. */
static int rs_describe_device(struct rs_camera *rs, struct camera *cam, char *err, size_t errlen)
{
    rs2_error *e = NULL;
    rs_info(rs->dev, RS2_CAMERA_INFO_NAME, cam->name, sizeof cam->name);
    rs_info(rs->dev, RS2_CAMERA_INFO_SERIAL_NUMBER, cam->serial, sizeof cam->serial);
    rs_info(rs->dev, RS2_CAMERA_INFO_FIRMWARE_VERSION, cam->firmware, sizeof cam->firmware);
    rs_info(rs->dev, RS2_CAMERA_INFO_PRODUCT_ID, cam->product_id, sizeof cam->product_id);
    rs_info(rs->dev, RS2_CAMERA_INFO_USB_TYPE_DESCRIPTOR, cam->usb_type, sizeof cam->usb_type);
    rs_info(rs->dev, RS2_CAMERA_INFO_PHYSICAL_PORT, cam->physical_port,
            sizeof cam->physical_port);
    if (!cam->serial[0]) {
        snprintf(err, errlen, "the device reports no serial number");
        return -1;
    }
    snprintf(rs->serial, sizeof rs->serial, "%s", cam->serial);
    for (int i = 0; i < CAM_MAX_SENSORS && rs->sensors[i]; i++) {
        const char *n = rs2_get_sensor_info(rs->sensors[i], RS2_CAMERA_INFO_NAME, &e);
        if (e)
            return rs_fail(e, "cannot name a sensor", err, errlen);
        snprintf(rs->sensor_names[i], sizeof rs->sensor_names[i], "%s", n);
        cam->sensor_names[i] = rs->sensor_names[i];
        cam->nsensors = (size_t)i + 1;
    }
    for (int s = 0; s < CAM_NSTREAMS; s++)
        cam->stream_sensor[s] = -1;
    cam->device_modes = (struct cam_modes){.resolutions = (const int(*)[2])rs->modes_res,
                                           .rates = rs->modes_fps};
    struct rs_choice c = {0};
    int rc = rs_choose(rs, cam, &c, err, errlen);
    if (rc == 0)
        rc = rs_streams_fill(rs, cam, &c, err, errlen);
    for (size_t i = 0; i < CAM_MAX_SENSORS; i++)
        if (c.lists[i])
            rs2_delete_stream_profiles_list(c.lists[i]);
    if (rc == 0)
        rs_options_fill(rs, cam);
    return rc;
}

static int rs_open(struct camera *cam, const char *arg, const struct cam_mode *mode,
                   bool is_file, char *err, size_t errlen)
{
    struct rs_camera *rs = calloc(1, sizeof *rs);
    if (!rs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&rs->lock, NULL);
    rs->is_file = is_file;
    cam->mode = *mode;
    rs2_error *e = NULL;
    rs->ctx = rs2_create_context(RS2_API_VERSION, &e);
    rs2_device *dev = NULL;
    if (e) {
        rs_fail(e, "cannot start librealsense", err, errlen);
    } else if (is_file) {
        FILE *f = fopen(arg, "rb");
        if (!f) {
            snprintf(err, errlen, "cannot read the recording %s: %s", arg, strerror(errno));
        } else {
            fclose(f);
            snprintf(rs->path, sizeof rs->path, "%s", arg);
            dev = rs2_context_add_device(rs->ctx, arg, &e);
            if (e)
                rs_fail(e, "not a RealSense recording", err, errlen);
        }
    } else {
        dev = rs_find(rs->ctx, arg, err, errlen);
    }
    if (!dev || rs_take(rs, dev, err, errlen) != 0) {
        if (dev)
            rs2_delete_device(dev);
        rs_free(rs);
        return -1;
    }
    if (rs_describe_device(rs, cam, err, errlen) != 0) {
        rs_free(rs);
        return -1;
    }
    if (!is_file) {
        rs2_set_devices_changed_callback(rs->ctx, rs_on_devices_changed, rs, &e);
        if (e) {
            rs_fail(e, "cannot watch for unplugging", err, errlen);
            rs_free(rs);
            return -1;
        }
    }
    cam->impl = rs;
    log_info("camera: %s %s, serial %s, firmware %s, usb %s, %dx%d at %d fps, depth scale %g m, "
             "%zu options", is_file ? "recording of" : "RealSense", cam->name, cam->serial,
             cam->firmware, cam->usb_type[0] ? cam->usb_type : "?", cam->mode.width,
             cam->mode.height, cam->mode.fps, cam->depth_scale, cam->noptions);
    return 0;
}

static int rs_open_device(struct camera *cam, const char *arg, const struct cam_mode *mode,
                          char *err, size_t errlen)
{
    return rs_open(cam, arg, mode, false, err, errlen);
}

static int rs_open_file(struct camera *cam, const char *arg, const struct cam_mode *mode,
                        char *err, size_t errlen)
{
    return rs_open(cam, arg, mode, true, err, errlen);
}

static void rs_close(struct camera *cam)
{
    rs_free(cam->impl);
    cam->impl = NULL;
}

/* The device disconnects and re-enumerates; the capture thread sees it go
 * and come back, as after an unplug. */
static int rs_hw_reset(struct camera *cam, char *err, size_t errlen)
{
    struct rs_camera *rs = cam->impl;
    rs2_error *e = NULL;
    int rc = 0;
    pthread_mutex_lock(&rs->lock);
    if (!rs->dev) {
        snprintf(err, errlen, "the camera is disconnected");
        rc = -1;
    } else {
        rs2_hardware_reset(rs->dev, &e);
        if (e) {
            rs_fail(e, "hardware reset failed", err, errlen);
            rc = -1;
        }
    }
    pthread_mutex_unlock(&rs->lock);
    return rc;
}

static int rs_list(FILE *out, char *err, size_t errlen)
{
    rs2_error *e = NULL;
    rs2_context *ctx = rs2_create_context(RS2_API_VERSION, &e);
    if (e)
        return rs_fail(e, "cannot start librealsense", err, errlen);
    rs2_device_list *list = rs2_query_devices(ctx, &e);
    int n = e ? 0 : rs2_get_device_count(list, &e);
    for (int i = 0; !e && i < n; i++) {
        rs2_device *d = rs2_create_device(list, i, &e);
        if (e)
            break;
        char serial[32], name[64], fw[32], usb[8], port[128];
        rs_info(d, RS2_CAMERA_INFO_SERIAL_NUMBER, serial, sizeof serial);
        rs_info(d, RS2_CAMERA_INFO_NAME, name, sizeof name);
        rs_info(d, RS2_CAMERA_INFO_FIRMWARE_VERSION, fw, sizeof fw);
        rs_info(d, RS2_CAMERA_INFO_USB_TYPE_DESCRIPTOR, usb, sizeof usb);
        rs_info(d, RS2_CAMERA_INFO_PHYSICAL_PORT, port, sizeof port);
        fprintf(out, "%s  %s  firmware %s  usb %s  port %s\n", serial, name, fw,
                usb[0] ? usb : "?", port[0] ? port : "?");
        rs2_delete_device(d);
    }
    if (list)
        rs2_delete_device_list(list);
    rs2_delete_context(ctx);
    if (e)
        return rs_fail(e, "cannot list RealSense devices", err, errlen);
    return n;
}

const struct camera_ops camera_realsense_ops = {
    .name = "realsense",
    .arg = CAM_ARG_OPTIONAL,
    .usage = "realsense[:SERIAL]",
    .open = rs_open_device,
    .close = rs_close,
    .start = rs_capture_start,
    .stop = rs_capture_stop,
    .set_option = rs_set_option,
    .get_option = rs_get_option,
    .hw_reset = rs_hw_reset,
    .list = rs_list,
};

const struct camera_ops camera_realsense_file_ops = {
    .name = "realsense-file",
    .arg = CAM_ARG_REQUIRED,
    .usage = "realsense-file:PATH.bag",
    .open = rs_open_file,
    .close = rs_close,
    .start = rs_capture_start,
    .stop = rs_capture_stop,
    .set_option = rs_set_option,
    .get_option = rs_get_option,
};
