/* camera.c - the camera interface: picks a backend by the prefix of a
 * camera spec and keeps what every backend shares (identity, streams,
 * state, options, the stream mask, describe). */
#include "robot/camera.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "robot/camera_backend.h"

/* A backend the build left out: listed by --help and --version, refused by
 * camera_new with the reason. */
#ifndef PORTHOLE_HAVE_REALSENSE
static const struct camera_ops camera_realsense_absent = {
    .name = "realsense",
    .arg = CAM_ARG_OPTIONAL,
    .usage = "realsense[:SERIAL]",
    .unavailable = "not compiled: librealsense2 not found",
};
static const struct camera_ops camera_realsense_file_absent = {
    .name = "realsense-file",
    .arg = CAM_ARG_REQUIRED,
    .usage = "realsense-file:PATH.bag",
    .unavailable = "not compiled: librealsense2 not found",
};
#endif

/* Every backend, one row each: the one list of their names, spec syntax
 * and modes. The first is the default. */
static const struct camera_ops *const camera_backends[] = {
    &camera_sim_ops,
    &camera_gst_ops,
    &camera_v4l2_ops,
    &camera_rtsp_ops,
    &camera_rtsps_ops,
    &camera_replay_ops,
#ifdef PORTHOLE_HAVE_REALSENSE
    &camera_realsense_ops,
    &camera_realsense_file_ops,
#else
    &camera_realsense_absent,
    &camera_realsense_file_absent,
#endif
};

#define CAMERA_NBACKENDS (sizeof camera_backends / sizeof camera_backends[0])

/* The compiled-in backends' names, NULL-terminated, and the text of all of
 * them, filled once. */
static const char *camera_names[CAMERA_NBACKENDS + 1];
static char camera_text[512];
static pthread_once_t camera_names_once = PTHREAD_ONCE_INIT;

static const char *const cam_stream_names[CAM_NSTREAMS] = {"color", "depth", "infrared-1",
                                                           "infrared-2"};

const char *cam_stream_name(enum cam_stream s)
{
    return (unsigned)s < CAM_NSTREAMS ? cam_stream_names[s] : "unknown";
}

int cam_stream_parse(const char *name)
{
    for (int s = 0; name && s < CAM_NSTREAMS; s++)
        if (strcmp(name, cam_stream_names[s]) == 0)
            return s;
    return -1;
}

const char *cam_format_name(enum cam_format f)
{
    switch (f) {
    case CAM_FORMAT_RGB8: return "RGB8";
    case CAM_FORMAT_Z16: return "Z16";
    case CAM_FORMAT_Y8: return "Y8";
    }
    return "unknown";
}

/* Appends to buf at *len, never past cap; buf stays NUL-terminated. */
static void camera_append(char *buf, size_t cap, size_t *len, const char *fmt, const char *s)
{
    if (*len >= cap)
        return;
    int n = snprintf(buf + *len, cap - *len, fmt, s);
    if (n > 0)
        *len += (size_t)n;
}

const char *cam_state_name(enum cam_state s)
{
    switch (s) {
    case CAM_STATE_STREAMING: return "streaming";
    case CAM_STATE_RECONNECTING: return "reconnecting";
    }
    return "unknown";
}

static void camera_names_fill(void)
{
    size_t n = 0, len = 0;
    for (size_t i = 0; i < CAMERA_NBACKENDS; i++) {
        const struct camera_ops *ops = camera_backends[i];
        if (!ops->unavailable)
            camera_names[n++] = ops->name;
        camera_append(camera_text, sizeof camera_text, &len, i ? ", %s" : "%s",
                      ops->usage ? ops->usage : ops->name);
        if (ops->unavailable)
            camera_append(camera_text, sizeof camera_text, &len, " (%s)", ops->unavailable);
    }
}

const char *const *camera_backend_names(void)
{
    pthread_once(&camera_names_once, camera_names_fill);
    return camera_names;
}

const char *camera_backends_text(void)
{
    pthread_once(&camera_names_once, camera_names_fill);
    return camera_text;
}

/* The backend a spec names: its name is the text before the first ':'
 * (the whole spec without one), and a CAM_ARG_URL backend's name is
 * followed by "://". Sets *arg to the argument (NULL when none). */
static const struct camera_ops *camera_backend_find(const char *spec, const char **arg)
{
    *arg = NULL;
    if (!spec)
        return NULL;
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    for (size_t i = 0; i < CAMERA_NBACKENDS; i++) {
        const struct camera_ops *ops = camera_backends[i];
        if (strlen(ops->name) != n || strncmp(ops->name, spec, n) != 0)
            continue;
        if (ops->arg == CAM_ARG_URL)
            *arg = colon ? spec : NULL;
        else
            *arg = colon ? colon + 1 : NULL;
        return ops;
    }
    return NULL;
}

const struct cam_modes *camera_backend_modes(const char *spec)
{
    const char *arg;
    const struct camera_ops *ops = camera_backend_find(spec, &arg);
    return ops ? &ops->modes : NULL;
}

/* True when arg (NULL: none) suits ops: none for CAM_ARG_NONE, a non-empty
 * one when required (for CAM_ARG_URL, "NAME://" and more), either when
 * optional (but not empty). */
static bool camera_arg_ok(const struct camera_ops *ops, const char *arg)
{
    size_t n = strlen(ops->name);
    switch (ops->arg) {
    case CAM_ARG_NONE: return !arg;
    case CAM_ARG_OPTIONAL: return !arg || arg[0];
    case CAM_ARG_REQUIRED: return arg && arg[0];
    case CAM_ARG_URL: return arg && strncmp(arg + n, "://", 3) == 0 && arg[n + 3];
    }
    return false;
}

/* Copies at most 48 bytes of text into out with control characters as '?'. */
static void camera_printable(const char *text, size_t n, char out[64])
{
    snprintf(out, 64, "%.*s", (int)(n > 48 ? 48 : n), text);
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
}

/* The spec's backend, checked: known, compiled in, and an argument exactly
 * when it takes one. Returns NULL with err filled; err never shows an
 * URL's argument (it may hold a password). */
static const struct camera_ops *camera_spec_resolve(const char *spec, const char **arg,
                                                    char *err, size_t errlen)
{
    const struct camera_ops *ops = camera_backend_find(spec, arg);
    char shown[64];
    if (!ops) {
        camera_printable(spec ? spec : "(null)", spec ? strcspn(spec, ":") : 6, shown);
        snprintf(err, errlen, "unknown camera backend '%s' (known: %s)", shown,
                 camera_backends_text());
        return NULL;
    }
    if (ops->unavailable) {
        snprintf(err, errlen, "camera backend '%s' is %s", ops->name, ops->unavailable);
        return NULL;
    }
    if (!camera_arg_ok(ops, *arg)) {
        if (ops->arg == CAM_ARG_URL)
            snprintf(shown, sizeof shown, "%s:...", ops->name);
        else
            camera_printable(spec, strlen(spec), shown);
        snprintf(err, errlen, "camera '%s' is not of the form %s", shown, ops->usage);
        return NULL;
    }
    return ops;
}

int camera_spec_check(const char *spec, char *err, size_t errlen)
{
    const char *arg;
    return camera_spec_resolve(spec, &arg, err, errlen) ? 0 : -1;
}

int camera_list_devices(const char *spec, FILE *out, char *err, size_t errlen)
{
    const char *arg;
    const struct camera_ops *ops = camera_spec_resolve(spec, &arg, err, errlen);
    if (!ops)
        return -1;
    if (!ops->list) {
        snprintf(err, errlen, "camera backend '%s' has no devices to list", ops->name);
        return -1;
    }
    return ops->list(out, err, errlen);
}

/* Returns 0 when mode is one of modes' resolutions and rates, or -1 with a
 * reason naming the supported ones in err. */
static int camera_mode_check(const struct cam_modes *modes, const struct cam_mode *mode,
                             char *err, size_t errlen)
{
    bool res_ok = false, fps_ok = false;
    for (size_t i = 0; i < modes->nresolutions; i++)
        if (modes->resolutions[i][0] == mode->width && modes->resolutions[i][1] == mode->height)
            res_ok = true;
    for (size_t i = 0; i < modes->nrates; i++)
        if (modes->rates[i] == mode->fps)
            fps_ok = true;
    if (res_ok && fps_ok)
        return 0;
    char res[128] = "", fps[64] = "";
    size_t rl = 0, fl = 0;
    for (size_t i = 0; i < modes->nresolutions; i++) {
        char one[32];
        snprintf(one, sizeof one, "%dx%d", modes->resolutions[i][0], modes->resolutions[i][1]);
        camera_append(res, sizeof res, &rl, i ? ", %s" : "%s", one);
    }
    for (size_t i = 0; i < modes->nrates; i++) {
        char one[16];
        snprintf(one, sizeof one, "%d", modes->rates[i]);
        camera_append(fps, sizeof fps, &fl, i ? ", %s" : "%s", one);
    }
    snprintf(err, errlen, "unsupported camera mode %dx%d at %d fps (resolutions: %s; fps: %s)",
             mode->width, mode->height, mode->fps, res, fps);
    return -1;
}

static void camera_option_refresh(const struct camera *cam, size_t i);

/* A NULL mode means the backend's first resolution at 30 fps. */
struct camera *camera_new(const char *spec, const struct cam_mode *mode, char *err, size_t errlen)
{
    const char *arg;
    const struct camera_ops *ops = camera_spec_resolve(spec, &arg, err, errlen);
    if (!ops)
        return NULL;
    bool fixed = ops->modes.nresolutions > 0;
    struct cam_mode def = {fixed ? ops->modes.resolutions[0][0] : 640,
                           fixed ? ops->modes.resolutions[0][1] : 480, 30};
    if (!mode)
        mode = &def;
    if (fixed && camera_mode_check(&ops->modes, mode, err, errlen) != 0)
        return NULL;
    struct camera *cam = calloc(1, sizeof *cam);
    if (!cam) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    cam->ops = ops;
    for (int s = 0; s < CAM_NSTREAMS; s++)
    {
        cam->extrinsics[s] = (struct cam_extrinsics){.rotation = {1, 0, 0, 0, 1, 0, 0, 0, 1}};
        cam->intrinsics[s].model = "none";
    }
    pthread_mutex_init(&cam->state_lock, NULL);
    if (ops->open(cam, arg, mode, err, errlen) != 0) {
        pthread_mutex_destroy(&cam->state_lock);
        free(cam);
        return NULL;
    }
    cam->streams &= CAM_MASK_ALL;
    cam->own_resolution[0][0] = cam->mode.width;
    cam->own_resolution[0][1] = cam->mode.height;
    cam->own_rate[0] = cam->mode.fps;
    cam->own_modes = (struct cam_modes){.resolutions = cam->own_resolution, .nresolutions = 1,
                                        .rates = cam->own_rate, .nrates = 1};
    pthread_mutex_init(&cam->option_lock, NULL);
    for (size_t i = 0; i < cam->noptions && i < CAM_MAX_OPTIONS; i++) {
        cam->option_values[i] = cam->options[i].def;
        camera_option_refresh(cam, i);
    }
    atomic_init(&cam->mask, 0u);
    return cam;
}

void camera_free(struct camera *cam)
{
    if (!cam)
        return;
    camera_stop(cam);
    cam->ops->close(cam);
    pthread_mutex_destroy(&cam->option_lock);
    pthread_mutex_destroy(&cam->state_lock);
    free(cam);
}

const char *camera_name(const struct camera *cam)
{
    return cam->name;
}

const char *camera_serial(const struct camera *cam)
{
    return cam->serial;
}

const char *camera_firmware(const struct camera *cam)
{
    return cam->firmware;
}

const struct cam_mode *camera_mode(const struct camera *cam)
{
    return &cam->mode;
}

double camera_depth_scale(const struct camera *cam)
{
    return cam->depth_scale;
}

const struct cam_intrinsics *camera_intrinsics(const struct camera *cam, enum cam_stream s)
{
    return (unsigned)s < CAM_NSTREAMS ? &cam->intrinsics[s] : NULL;
}

const struct cam_extrinsics *camera_extrinsics(const struct camera *cam, enum cam_stream s)
{
    return (unsigned)s < CAM_NSTREAMS ? &cam->extrinsics[s] : NULL;
}

unsigned camera_streams(const struct camera *cam)
{
    return cam->streams;
}

int camera_check_streams(const struct camera *cam, unsigned mask, char *err, size_t errlen)
{
    unsigned missing = mask & ~cam->streams;
    if (!missing)
        return 0;
    int s = 0;
    while (!(missing & CAM_MASK(s)))
        s++;
    char has[64] = "";
    size_t len = 0;
    for (int k = 0; k < CAM_NSTREAMS; k++)
        if (cam->streams & CAM_MASK(k))
            camera_append(has, sizeof has, &len, len ? ", %s" : "%s", cam_stream_name(k));
    snprintf(err, errlen, "this camera (%s) has no %s stream; it offers: %s", cam->ops->name,
             cam_stream_name(s), has);
    return -1;
}

/* The lock is the one mutable part of a const camera. */
static pthread_mutex_t *camera_state_lock(const struct camera *cam)
{
    return (pthread_mutex_t *)&cam->state_lock;
}

enum cam_state camera_state(const struct camera *cam, char *reason, size_t len)
{
    pthread_mutex_lock(camera_state_lock(cam));
    enum cam_state st = cam->state;
    if (reason && len)
        snprintf(reason, len, "%s", cam->state_reason);
    pthread_mutex_unlock(camera_state_lock(cam));
    return st;
}

void camera_set_state(struct camera *cam, enum cam_state state, const char *reason)
{
    pthread_mutex_lock(&cam->state_lock);
    bool changed = cam->state != state;
    cam->state = state;
    snprintf(cam->state_reason, sizeof cam->state_reason, "%s", reason ? reason : "");
    pthread_mutex_unlock(&cam->state_lock);
    if (changed && state == CAM_STATE_STREAMING)
        log_info("camera: %s", cam_state_name(state));
    else if (changed)
        log_warn("camera: %s: %s", cam_state_name(state), reason ? reason : "");
}

static json_t *camera_describe_intrinsics(const struct cam_intrinsics *in)
{
    json_t *coeffs = json_array();
    for (int i = 0; i < 5; i++)
        json_array_append_new(coeffs, json_real(in->coeffs[i]));
    return json_pack("{s:i,s:i,s:f,s:f,s:f,s:f,s:s,s:o}", "width", in->width, "height",
                     in->height, "ppx", in->ppx, "ppy", in->ppy, "fx", in->fx, "fy", in->fy,
                     "model", in->model, "coeffs", coeffs);
}

/* The modes a device reports: its backend's fixed ones, or the one its
 * source delivers. */
static const struct cam_modes *camera_modes_of(const struct camera *cam)
{
    if (cam->ops->modes.nresolutions)
        return &cam->ops->modes;
    return cam->device_modes.nresolutions ? &cam->device_modes : &cam->own_modes;
}

static json_t *camera_describe_sensor(const struct camera *cam, size_t sensor)
{
    json_t *streams = json_array();
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        if (cam->stream_sensor[s] != (int)sensor || !(cam->streams & CAM_MASK(s)))
            continue;
        const struct cam_modes *modes = camera_modes_of(cam);
        json_t *res = json_array(), *fps = json_array();
        for (size_t i = 0; i < modes->nresolutions; i++)
            json_array_append_new(res, json_pack("[i,i]", modes->resolutions[i][0],
                                                 modes->resolutions[i][1]));
        for (size_t i = 0; i < modes->nrates; i++)
            json_array_append_new(fps, json_integer(modes->rates[i]));
        json_array_append_new(streams, json_pack("{s:s,s:s,s:o,s:o}", "type", cam_stream_name(s),
                                                 "format", cam_format_name(cam->stream_format[s]),
                                                 "resolutions", res, "fps", fps));
    }
    return json_pack("{s:s,s:o}", "name", cam->sensor_names[sensor], "streams", streams);
}

/* {"color":{"rotation":[9],"translation":[3]},...} from depth, or NULL
 * when the backend knows none. */
static json_t *camera_describe_extrinsics(const struct camera *cam)
{
    json_t *all = NULL;
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        const struct cam_extrinsics *x = &cam->extrinsics[s];
        if (!x->known || !(cam->streams & CAM_MASK(s)))
            continue;
        json_t *rot = json_array(), *tr = json_array();
        for (int k = 0; k < 9; k++)
            json_array_append_new(rot, json_real(x->rotation[k]));
        for (int k = 0; k < 3; k++)
            json_array_append_new(tr, json_real(x->translation[k]));
        if (!all)
            all = json_object();
        json_object_set_new(all, cam_stream_name(s),
                            json_pack("{s:o,s:o}", "rotation", rot, "translation", tr));
    }
    return all;
}

static json_t *camera_describe_options(const struct camera *cam)
{
    double values[CAM_MAX_OPTIONS];
    for (size_t i = 0; i < cam->noptions; i++)
        camera_option_refresh(cam, i);
    camera_options_snapshot(cam, values);
    json_t *arr = json_array();
    for (size_t i = 0; i < cam->noptions; i++) {
        const struct cam_option_desc *o = &cam->options[i];
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:f,s:f,s:f,s:b,s:i}", "id", o->id, "name",
                           o->name, "description", o->description, "units", o->units, "min",
                           o->min, "max", o->max, "step", o->step, "default", o->def, "value",
                           values[i], "readOnly", o->read_only, "sensor", o->sensor));
    }
    return arr;
}

json_t *camera_describe(const struct camera *cam, bool full)
{
    json_t *streams = json_array(), *sensors = json_array();
    json_t *intr = json_object();
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        if (!(cam->streams & CAM_MASK(s)))
            continue;
        json_array_append_new(streams, json_string(cam_stream_name(s)));
        if (s == CAM_COLOR || s == CAM_DEPTH)
            json_object_set_new(intr, cam_stream_name(s),
                                camera_describe_intrinsics(&cam->intrinsics[s]));
    }
    for (size_t i = 0; i < cam->nsensors; i++)
        json_array_append_new(sensors, camera_describe_sensor(cam, i));
    json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:f,s:i,s:i,s:i,s:o,s:o,s:o}", "name",
                          cam->name, "serial", cam->serial, "firmwareVersion", cam->firmware,
                          "productId", cam->product_id, "usbType", cam->usb_type,
                          "physicalPort", cam->physical_port, "depthScale", cam->depth_scale,
                          "width", cam->mode.width, "height", cam->mode.height, "fps",
                          cam->mode.fps, "streams", streams, "sensors", sensors, "intrinsics",
                          intr);
    json_t *extr = camera_describe_extrinsics(cam);
    if (d && extr)
        json_object_set_new(d, "extrinsics", extr);
    else
        json_decref(extr);
    if (d && full)
        json_object_set_new(d, "options", camera_describe_options(cam));
    return d;
}

int camera_start(struct camera *cam, unsigned mask, cam_frames_fn fn, void *user, char *err,
                 size_t errlen)
{
    if (cam->started) {
        snprintf(err, errlen, "camera already started");
        return -1;
    }
    if (!fn) {
        snprintf(err, errlen, "camera_start needs a frames callback");
        return -1;
    }
    cam->fn = fn;
    cam->user = user;
    atomic_store(&cam->mask, mask & cam->streams);
    if (cam->ops->start(cam, err, errlen) != 0)
        return -1;
    cam->started = true;
    return 0;
}

void camera_set_streams(struct camera *cam, unsigned mask)
{
    atomic_store(&cam->mask, mask & cam->streams);
}

void camera_stop(struct camera *cam)
{
    if (!cam->started)
        return;
    cam->ops->stop(cam);
    cam->started = false;
}

size_t camera_option_count(const struct camera *cam)
{
    return cam->noptions;
}

const struct cam_option_desc *camera_option(const struct camera *cam, size_t i)
{
    return i < cam->noptions ? &cam->options[i] : NULL;
}

static int camera_option_find(const struct camera *cam, const char *id)
{
    for (size_t i = 0; id && i < cam->noptions; i++)
        if (strcmp(cam->options[i].id, id) == 0)
            return (int)i;
    return -1;
}

/* The lock is the one mutable part of a const camera: readers of options
 * take it too. */
static pthread_mutex_t *camera_option_lock(const struct camera *cam)
{
    return (pthread_mutex_t *)&cam->option_lock;
}

void camera_options_snapshot(const struct camera *cam, double *out)
{
    pthread_mutex_lock(camera_option_lock(cam));
    memcpy(out, cam->option_values, cam->noptions * sizeof *out);
    pthread_mutex_unlock(camera_option_lock(cam));
}

/* Takes option i's value from the device when the backend can read it. */
static void camera_option_refresh(const struct camera *cam, size_t i)
{
    double v;
    if (!cam->ops->get_option || cam->ops->get_option(cam, i, &v) != 0)
        return;
    pthread_mutex_lock(camera_option_lock(cam));
    ((struct camera *)cam)->option_values[i] = v;
    pthread_mutex_unlock(camera_option_lock(cam));
}

int camera_get_option(const struct camera *cam, const char *id, double *value)
{
    int i = camera_option_find(cam, id);
    if (i < 0)
        return -1;
    camera_option_refresh(cam, (size_t)i);
    pthread_mutex_lock(camera_option_lock(cam));
    *value = cam->option_values[i];
    pthread_mutex_unlock(camera_option_lock(cam));
    return 0;
}

int camera_set_option(struct camera *cam, const char *id, double value, char *err, size_t errlen)
{
    int i = camera_option_find(cam, id);
    if (i < 0) {
        char valid[512] = "";
        size_t len = 0;
        for (size_t k = 0; k < cam->noptions; k++)
            camera_append(valid, sizeof valid, &len, k ? ", %s" : "%s", cam->options[k].id);
        snprintf(err, errlen, "unknown option '%s' (valid: %s)", id ? id : "(null)", valid);
        return -1;
    }
    const struct cam_option_desc *o = &cam->options[i];
    if (o->read_only) {
        snprintf(err, errlen, "option '%s' is read-only", o->id);
        return -1;
    }
    /* Steps are checked with a tolerance so that 0.1-style steps survive
     * their decimal round trip through JSON. */
    double k = o->step > 0 ? (value - o->min) / o->step : 0;
    if (!isfinite(value) || value < o->min || value > o->max ||
        fabs(k - nearbyint(k)) > 1e-6) {
        snprintf(err, errlen, "option '%s' must be %g..%g in steps of %g (got %g)", o->id, o->min,
                 o->max, o->step, value);
        return -1;
    }
    if (cam->ops->set_option && cam->ops->set_option(cam, (size_t)i, value, err, errlen) != 0)
        return -2;
    pthread_mutex_lock(&cam->option_lock);
    cam->option_values[i] = value;
    pthread_mutex_unlock(&cam->option_lock);
    return 0;
}

bool camera_has_hw_reset(const struct camera *cam)
{
    return cam->ops->hw_reset != NULL;
}

int camera_hw_reset(struct camera *cam, char *err, size_t errlen)
{
    if (!cam->ops->hw_reset) {
        snprintf(err, errlen, "camera backend '%s' has no hardware reset", cam->ops->name);
        return -1;
    }
    return cam->ops->hw_reset(cam, err, errlen);
}
