/* rsbag.c - a RealSense .bag of the simulated scene, written by
 * librealsense's recorder from a librealsense software device. */
#include "rsbag.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librealsense2/rs.h>
/* rs_internal.h names this struct without "struct" (it is written for
 * C++); the typedef makes it valid C. */
typedef struct rs2_software_device_destruction_callback rs2_software_device_destruction_callback;
#include <librealsense2/h/rs_internal.h>

#include "robot/sim_scene.h"

enum { RSBAG_COLOR, RSBAG_DEPTH, RSBAG_IR1, RSBAG_IR2, RSBAG_NSTREAMS };

struct rsbag {
    const struct rsbag_spec *spec;
    char *err;
    size_t errlen;
    bool failed;
    rs2_device *dev, *rec;
    rs2_sensor *stereo, *rgb;         /* the software sensors (ours to delete) */
    rs2_stream_profile *prof[RSBAG_NSTREAMS]; /* owned by their sensors */
    rs2_sensor_list *rec_sensors;
    rs2_sensor *rec_sensor[2];
    bool started[2];
    struct sim_scene *scene;
    uint8_t *rgb_px, *ir_px[2];
    uint16_t *depth_px;
};

/* Records the first failure: the call that failed and librealsense's
 * message. Returns true when e held an error (and frees it). */
static bool rsbag_failed(struct rsbag *b, rs2_error *e, const char *what)
{
    if (!e)
        return false;
    if (!b->failed)
        snprintf(b->err, b->errlen, "%s: %s(%s): %s", what, rs2_get_failed_function(e),
                 rs2_get_failed_args(e), rs2_get_error_message(e));
    b->failed = true;
    rs2_free_error(e);
    return true;
}

static rs2_intrinsics rsbag_intrinsics(const struct rsbag_spec *s)
{
    float f = (float)sim_scene_focal(s->width);
    return (rs2_intrinsics){.width = s->width, .height = s->height,
                            .ppx = s->width / 2.0f, .ppy = s->height / 2.0f,
                            .fx = f, .fy = f, .model = RS2_DISTORTION_BROWN_CONRADY};
}

static rs2_stream_profile *rsbag_add_stream(struct rsbag *b, rs2_sensor *sensor,
                                            rs2_stream type, int index, int uid,
                                            rs2_format fmt, int bpp)
{
    rs2_error *e = NULL;
    const struct rsbag_spec *s = b->spec;
    rs2_video_stream vs = {.type = type, .index = index, .uid = uid, .width = s->width,
                           .height = s->height, .fps = s->fps, .bpp = bpp, .fmt = fmt,
                           .intrinsics = rsbag_intrinsics(s)};
    rs2_stream_profile *p = rs2_software_sensor_add_video_stream_ex(sensor, vs, 1, &e);
    rsbag_failed(b, e, "add a video stream");
    return p;
}

/* A writable option with its range, set to value. */
static void rsbag_option(struct rsbag *b, rs2_sensor *sensor, rs2_option opt, float min,
                         float max, float step, float def, float value)
{
    rs2_error *e = NULL;
    rs2_software_sensor_add_option(sensor, opt, min, max, step, def, 1, &e);
    if (rsbag_failed(b, e, "add an option"))
        return;
    rs2_set_option((const rs2_options *)sensor, opt, value, &e);
    rsbag_failed(b, e, "set an option");
}

static void rsbag_extrinsics(struct rsbag *b, int to, float tx)
{
    rs2_error *e = NULL;
    rs2_extrinsics x = {.rotation = {1, 0, 0, 0, 1, 0, 0, 0, 1}, .translation = {tx, 0, 0}};
    rs2_register_extrinsics(b->prof[RSBAG_DEPTH], b->prof[to], x, &e);
    rsbag_failed(b, e, "register extrinsics");
}

/* The software device: identity, two sensors, four streams, options. */
static void rsbag_device(struct rsbag *b)
{
    rs2_error *e = NULL;
    b->dev = rs2_create_software_device(&e);
    if (rsbag_failed(b, e, "create a software device"))
        return;
    static const struct { rs2_camera_info info; const char *val; } infos[] = {
        {RS2_CAMERA_INFO_NAME, RSBAG_NAME},
        {RS2_CAMERA_INFO_SERIAL_NUMBER, RSBAG_SERIAL},
        {RS2_CAMERA_INFO_FIRMWARE_VERSION, RSBAG_FIRMWARE},
        {RS2_CAMERA_INFO_PRODUCT_ID, RSBAG_PRODUCT_ID},
        {RS2_CAMERA_INFO_USB_TYPE_DESCRIPTOR, "3.2"},
        {RS2_CAMERA_INFO_PHYSICAL_PORT, "software"},
        {RS2_CAMERA_INFO_PRODUCT_LINE, "D400"},
    };
    for (size_t i = 0; i < sizeof infos / sizeof infos[0] && !b->failed; i++) {
        rs2_software_device_register_info(b->dev, infos[i].info, infos[i].val, &e);
        rsbag_failed(b, e, "register device info");
    }
    b->stereo = rs2_software_device_add_sensor(b->dev, "Stereo Module", &e);
    if (rsbag_failed(b, e, "add the stereo sensor"))
        return;
    b->rgb = rs2_software_device_add_sensor(b->dev, "RGB Camera", &e);
    if (rsbag_failed(b, e, "add the color sensor"))
        return;
    b->prof[RSBAG_DEPTH] =
        rsbag_add_stream(b, b->stereo, RS2_STREAM_DEPTH, 0, 1, RS2_FORMAT_Z16, 2);
    b->prof[RSBAG_IR1] =
        rsbag_add_stream(b, b->stereo, RS2_STREAM_INFRARED, 1, 2, RS2_FORMAT_Y8, 1);
    b->prof[RSBAG_IR2] =
        rsbag_add_stream(b, b->stereo, RS2_STREAM_INFRARED, 2, 3, RS2_FORMAT_Y8, 1);
    b->prof[RSBAG_COLOR] =
        rsbag_add_stream(b, b->rgb, RS2_STREAM_COLOR, 0, 4, RS2_FORMAT_RGB8, 3);
    if (b->failed)
        return;
    /* DEPTH_UNITS makes the stereo sensor a depth sensor (rs2_get_depth_scale). */
    rs2_software_sensor_add_read_only_option(b->stereo, RS2_OPTION_DEPTH_UNITS,
                                             RSBAG_DEPTH_SCALE, &e);
    rsbag_failed(b, e, "add depth units");
    rs2_software_sensor_add_read_only_option(b->stereo, RS2_OPTION_STEREO_BASELINE,
                                             RSBAG_BASELINE_M * 1000, &e);
    rsbag_failed(b, e, "add the stereo baseline");
    rsbag_option(b, b->stereo, RS2_OPTION_EXPOSURE, 1, 165000, 1, 8500, RSBAG_EXPOSURE);
    rsbag_option(b, b->stereo, RS2_OPTION_GAIN, 16, 248, 1, 16, 16);
    rsbag_option(b, b->stereo, RS2_OPTION_LASER_POWER, 0, 360, 30, 150, RSBAG_LASER_POWER);
    rsbag_option(b, b->stereo, RS2_OPTION_EMITTER_ENABLED, 0, 2, 1, 1, 1);
    rsbag_option(b, b->stereo, RS2_OPTION_VISUAL_PRESET, 0, 5, 1, 0, 0);
    rsbag_option(b, b->rgb, RS2_OPTION_EXPOSURE, 1, 10000, 1, 156, 156);
    rsbag_option(b, b->rgb, RS2_OPTION_GAIN, 0, 128, 1, 64, 64);
    rsbag_option(b, b->rgb, RS2_OPTION_BRIGHTNESS, -64, 64, 1, 0, 0);
    rs2_software_device_create_matcher(b->dev, RS2_MATCHER_DEFAULT, &e);
    rsbag_failed(b, e, "create a matcher");
    if (b->failed)
        return;
    rsbag_extrinsics(b, RSBAG_IR1, 0);
    rsbag_extrinsics(b, RSBAG_IR2, -RSBAG_BASELINE_M);
    rsbag_extrinsics(b, RSBAG_COLOR, RSBAG_COLOR_TX_M);
}

static void rsbag_on_frame(rs2_frame *f, void *user)
{
    (void)user;
    rs2_release_frame(f);
}

/* Wraps the device in a recorder and starts every stream of its sensors. */
static void rsbag_record(struct rsbag *b)
{
    rs2_error *e = NULL;
    b->rec = rs2_create_record_device_ex(b->dev, b->spec->path, 1, &e);
    if (rsbag_failed(b, e, "create the record device"))
        return;
    b->rec_sensors = rs2_query_sensors(b->rec, &e);
    if (rsbag_failed(b, e, "query the recorder's sensors"))
        return;
    for (int i = 0; i < 2 && !b->failed; i++) {
        b->rec_sensor[i] = rs2_create_sensor(b->rec_sensors, i, &e);
        if (rsbag_failed(b, e, "get a recorder sensor"))
            return;
        rs2_stream_profile_list *pl = rs2_get_stream_profiles(b->rec_sensor[i], &e);
        if (rsbag_failed(b, e, "list profiles"))
            return;
        int n = rs2_get_stream_profiles_count(pl, &e);
        const rs2_stream_profile *ps[RSBAG_NSTREAMS];
        for (int k = 0; k < n && k < RSBAG_NSTREAMS && !e; k++)
            ps[k] = rs2_get_stream_profile(pl, k, &e);
        if (!rsbag_failed(b, e, "get profiles"))
            rs2_open_multiple(b->rec_sensor[i], ps, n < RSBAG_NSTREAMS ? n : RSBAG_NSTREAMS, &e);
        rs2_delete_stream_profiles_list(pl);
        if (rsbag_failed(b, e, "open a recorder sensor"))
            return;
        rs2_start(b->rec_sensor[i], rsbag_on_frame, NULL, &e);
        if (rsbag_failed(b, e, "start a recorder sensor"))
            return;
        b->started[i] = true;
    }
}

static void rsbag_feed(struct rsbag *b, rs2_sensor *sensor, int stream, const void *px,
                       size_t size, int bpp, int number, double ts_ms)
{
    rs2_error *e = NULL;
    void *copy = malloc(size);
    if (!copy) {
        snprintf(b->err, b->errlen, "out of memory");
        b->failed = true;
        return;
    }
    memcpy(copy, px, size);
    rs2_software_video_frame f = {
        .pixels = copy, .deleter = free, .stride = b->spec->width * bpp, .bpp = bpp,
        .timestamp = ts_ms, .domain = RS2_TIMESTAMP_DOMAIN_HARDWARE_CLOCK,
        .frame_number = number, .profile = b->prof[stream],
        .depth_units = stream == RSBAG_DEPTH ? RSBAG_DEPTH_SCALE : 0,
    };
    rs2_software_sensor_on_video_frame(sensor, f, &e);
    rsbag_failed(b, e, "feed a frame");
}

static void rsbag_sleep_until(const struct timespec *start, double ms)
{
    long long ns = (long long)start->tv_sec * 1000000000 + start->tv_nsec + (long long)(ms * 1e6);
    struct timespec t = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) != 0)
        ;
}

/* Renders the scene once and feeds it as every frameset, paced at the
 * frame rate: the recorder stamps frames with their arrival time, which
 * playback reproduces. */
static void rsbag_frames(struct rsbag *b)
{
    const struct rsbag_spec *s = b->spec;
    size_t n = (size_t)s->width * s->height;
    b->scene = sim_scene_new(s->width, s->height);
    b->rgb_px = malloc(3 * n);
    b->depth_px = malloc(2 * n);
    b->ir_px[0] = malloc(n);
    b->ir_px[1] = malloc(n);
    if (!b->scene || !b->rgb_px || !b->depth_px || !b->ir_px[0] || !b->ir_px[1]) {
        snprintf(b->err, b->errlen, "out of memory for %dx%d frames", s->width, s->height);
        b->failed = true;
        return;
    }
    struct sim_objects objs;
    sim_scene_objects_at(RSBAG_SCENE_T, &objs);
    struct sim_render r = {
        .rgb = b->rgb_px, .rgb_stride = 3 * (size_t)s->width,
        .depth = b->depth_px, .depth_stride = 2 * (size_t)s->width,
        .ir = {b->ir_px[0], b->ir_px[1]}, .ir_stride = (size_t)s->width,
        .color_gain = 1, .contrast = 50, .ir_gain = 1, .dot_power = 1,
    };
    sim_scene_render(b->scene, &objs, &r);
    for (size_t i = 0; i < n; i++) /* millimetres to RSBAG_DEPTH_SCALE units */
        b->depth_px[i] = (uint16_t)(b->depth_px[i] * (0.001 / RSBAG_DEPTH_SCALE) + 0.5);

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    double period = 1000.0 / s->fps;
    for (int i = 0; i < s->frames && !b->failed; i++) {
        double ts = 1000.0 + i * period;
        rsbag_feed(b, b->stereo, RSBAG_DEPTH, b->depth_px, 2 * n, 2, i + 1, ts);
        rsbag_feed(b, b->stereo, RSBAG_IR1, b->ir_px[0], n, 1, i + 1, ts);
        rsbag_feed(b, b->stereo, RSBAG_IR2, b->ir_px[1], n, 1, i + 1, ts);
        rsbag_feed(b, b->rgb, RSBAG_COLOR, b->rgb_px, 3 * n, 3, i + 1, ts);
        rsbag_sleep_until(&start, (i + 1) * period);
    }
}

static void rsbag_close(struct rsbag *b)
{
    rs2_error *e = NULL;
    for (int i = 0; i < 2; i++) {
        if (b->started[i]) {
            rs2_stop(b->rec_sensor[i], &e);
            rsbag_failed(b, e, "stop a recorder sensor");
            rs2_close(b->rec_sensor[i], &e);
            rsbag_failed(b, e, "close a recorder sensor");
        }
        if (b->rec_sensor[i])
            rs2_delete_sensor(b->rec_sensor[i]);
    }
    if (b->rec_sensors)
        rs2_delete_sensor_list(b->rec_sensors);
    /* Deleting the recorder finishes the file. */
    if (b->rec)
        rs2_delete_device(b->rec);
    if (b->stereo) /* the caller owns what rs2_software_device_add_sensor returns */
        rs2_delete_sensor(b->stereo);
    if (b->rgb)
        rs2_delete_sensor(b->rgb);
    if (b->dev)
        rs2_delete_device(b->dev);
    sim_scene_free(b->scene);
    free(b->rgb_px);
    free(b->depth_px);
    free(b->ir_px[0]);
    free(b->ir_px[1]);
}

int rsbag_write(const struct rsbag_spec *spec, char *err, size_t errlen)
{
    if (!spec || !spec->path || spec->width <= 0 || spec->height <= 0 || spec->fps <= 0 ||
        spec->frames <= 0) {
        snprintf(err, errlen, "rsbag_write: a path, a positive size, rate and frame count");
        return -1;
    }
    struct rsbag b = {.spec = spec, .err = err, .errlen = errlen};
    rsbag_device(&b);
    if (!b.failed)
        rsbag_record(&b);
    if (!b.failed)
        rsbag_frames(&b);
    rsbag_close(&b);
    return b.failed ? -1 : 0;
}

int rsbag_render_depth(int width, int height, uint16_t *out)
{
    struct sim_scene *scene = sim_scene_new(width, height);
    if (!scene)
        return -1;
    struct sim_objects objs;
    sim_scene_objects_at(RSBAG_SCENE_T, &objs);
    struct sim_render r = {.depth = out, .depth_stride = 2 * (size_t)width, .color_gain = 1,
                           .contrast = 50, .ir_gain = 1, .dot_power = 1};
    sim_scene_render(scene, &objs, &r);
    sim_scene_free(scene);
    size_t n = (size_t)width * height;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint16_t)(out[i] * (0.001 / RSBAG_DEPTH_SCALE) + 0.5);
    return 0;
}
