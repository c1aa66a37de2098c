/* camera_gst.c - a color-only camera from any GStreamer source: "gst:PIPELINE",
 * and the short forms "v4l2:/dev/videoN" (a USB webcam) and "rtsp://..."
 * (an IP camera).
 *
 * The source is completed into
 *   SOURCE ! videoconvert ! videoscale ! video/x-raw,format=RGB ! appsink
 * (one buffer, dropping older ones, synchronised to the clock so that a file
 * plays in real time). open() plays it until the first frame and takes the
 * size and rate from the negotiated caps (a source that does not say its
 * rate gets the robot's --fps as nominal rate); the robot's --width,
 * --height and --fps do not apply. Intrinsics are not known: color gets
 * fx = fy = width (about 53 degrees across) and the principal point at the
 * centre, with model "none".
 *
 * When the source fails, ends, or gives no frame for GSTCAM_STALL_S, the
 * capture thread marks the camera "reconnecting", tears the pipeline down
 * and builds it again with backoff (0.5 s doubling to 10 s), fixed to the
 * first size so that the encoders downstream carry on; viewers' sessions
 * stay open and their video resumes. A source that ends and can seek (a
 * file) plays again from its start instead: files loop. A source nobody
 * has watched for GSTCAM_IDLE_S is stopped, and started again (without
 * backoff) for the next viewer, who waits for the source's start-up.
 *
 * Threads: open and close on the caller's thread; the pipeline is owned by
 * the capture thread between start and stop. */
#include <ctype.h>
#include <errno.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "robot/backoff.h"
#include "robot/camera_backend.h"

#define GSTCAM_FIRST_FRAME_S 10 /* open, and each rebuild, waits this long for a frame */
#define GSTCAM_STALL_S 5        /* a running source silent this long is rebuilt */
#define GSTCAM_IDLE_S 10        /* a source nobody watches this long is stopped */
#define GSTCAM_POLL_MS 100
#define GSTCAM_MAX_SIDE 8192

struct gstcam {
    char *source;          /* the pipeline up to the source's raw video */
    char label[96];        /* for messages: the spec, without an URL's credentials */
    int fix_width, fix_height; /* 0 until the first negotiation; then rebuilds keep it */
    int nominal_fps;       /* used when the caps carry no rate */
    GstElement *pipeline;  /* NULL while lost */
    GstAppSink *sink;
    pthread_t thread;
    atomic_bool stopping;
    uint64_t number;
};

static int64_t gstcam_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t gstcam_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* 64-bit FNV-1a of s: a stable serial per spec. */
static uint64_t gstcam_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Copies text into out, replacing the user:password of a URL
 * ("rtsp://user:pw@host") with "***", and control characters with '?'. */
static void gstcam_redact(const char *text, char *out, size_t len)
{
    const char *scheme = strstr(text, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
    if (at && (!slash || at < slash))
        snprintf(out, len, "%.*s***%s", (int)(scheme + 3 - text), text, at);
    else
        snprintf(out, len, "%s", text);
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
}

/* ---- building and playing the pipeline ---- */

/* The first error, warning or end of stream waiting on bus, as text in
 * reason; false when there is none. */
static bool gstcam_bus_failure(GstBus *bus, char *reason, size_t len)
{
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
    if (!msg)
        return false;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
        snprintf(reason, len, "the source ended");
    } else {
        GError *gerr = NULL;
        gst_message_parse_error(msg, &gerr, NULL);
        char text[200];
        gstcam_redact(gerr ? gerr->message : "unknown error", text, sizeof text);
        snprintf(reason, len, "%s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), text);
        g_clear_error(&gerr);
    }
    gst_message_unref(msg);
    return true;
}

static void gstcam_teardown(struct gstcam *g)
{
    if (!g->pipeline)
        return;
    gst_element_set_state(g->pipeline, GST_STATE_NULL);
    gst_object_unref(g->sink);
    gst_object_unref(g->pipeline);
    g->pipeline = NULL;
    g->sink = NULL;
}

/* Reads the size and rate of sample's caps into mode. Returns 0, or -1
 * with a reason. */
static int gstcam_caps_mode(struct gstcam *g, GstSample *sample, struct cam_mode *mode,
                            char *err, size_t errlen)
{
    GstVideoInfo info;
    GstCaps *caps = gst_sample_get_caps(sample);
    if (!caps || !gst_video_info_from_caps(&info, caps)) {
        snprintf(err, errlen, "%s: the source's frames carry no video caps", g->label);
        return -1;
    }
    if (info.width < 2 || info.height < 2 || info.width > GSTCAM_MAX_SIDE ||
        info.height > GSTCAM_MAX_SIDE) {
        snprintf(err, errlen, "%s: unsupported frame size %dx%d (2..%d per side)", g->label,
                 info.width, info.height, GSTCAM_MAX_SIDE);
        return -1;
    }
    mode->width = info.width;
    mode->height = info.height;
    mode->fps = g->nominal_fps;
    if (info.fps_n > 0 && info.fps_d > 0) {
        int fps = (int)((info.fps_n + info.fps_d / 2) / info.fps_d);
        mode->fps = fps < 1 ? 1 : fps > 1000 ? 1000 : fps;
    }
    return 0;
}

/* Builds and plays the pipeline and waits for its first frame (returning
 * early when stopping is set). On success fills mode (when not NULL) and
 * returns 0 with the pipeline playing; else -1 with a reason and nothing
 * left. */
static int gstcam_play(struct gstcam *g, struct cam_mode *mode, char *err, size_t errlen)
{
    char size[64] = "";
    if (g->fix_width)
        snprintf(size, sizeof size, ",width=%d,height=%d", g->fix_width, g->fix_height);
    gchar *desc = g_strdup_printf("%s ! videoconvert ! videoscale ! video/x-raw,format=RGB%s ! "
                                  "appsink name=porthole_sink max-buffers=1 drop=true "
                                  "sync=true enable-last-sample=false",
                                  g->source, size);
    GError *gerr = NULL;
    GstElement *p = gst_parse_launch_full(desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &gerr);
    g_free(desc);
    if (!p) {
        char text[200];
        gstcam_redact(gerr ? gerr->message : "unknown error", text, sizeof text);
        snprintf(err, errlen, "%s: the pipeline does not build: %s", g->label, text);
        g_clear_error(&gerr);
        return -1;
    }
    g_clear_error(&gerr);
    g->pipeline = p;
    g->sink = GST_APP_SINK(gst_bin_get_by_name(GST_BIN(p), "porthole_sink"));
    GstBus *bus = gst_element_get_bus(p);
    char reason[256] = "";
    if (gst_element_set_state(p, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE &&
        !gstcam_bus_failure(bus, reason, sizeof reason))
        snprintf(reason, sizeof reason, "it does not start");
    GstSample *sample = NULL;
    int64_t deadline = gstcam_mono_us() + (int64_t)GSTCAM_FIRST_FRAME_S * 1000000;
    while (!reason[0] && !sample && !atomic_load(&g->stopping)) {
        sample = gst_app_sink_try_pull_sample(g->sink, GSTCAM_POLL_MS * GST_MSECOND);
        if (!sample && gstcam_bus_failure(bus, reason, sizeof reason) &&
            strcmp(reason, "the source ended") == 0)
            snprintf(reason, sizeof reason, "the source ended before its first frame");
        else if (!sample && !reason[0] && gstcam_mono_us() > deadline)
            snprintf(reason, sizeof reason, "no frame within %d s", GSTCAM_FIRST_FRAME_S);
    }
    gst_object_unref(bus);
    int rc = -1;
    struct cam_mode m;
    if (sample && gstcam_caps_mode(g, sample, &m, err, errlen) == 0) {
        if (mode)
            *mode = m;
        rc = 0;
    } else if (!sample) {
        snprintf(err, errlen, "%s: %s", g->label, reason[0] ? reason : "stopped");
    }
    if (sample)
        gst_sample_unref(sample);
    if (rc != 0)
        gstcam_teardown(g);
    return rc;
}

/* ---- the capture thread ---- */

/* Sleeps s seconds, or less when stopping. */
static void gstcam_nap(struct gstcam *g, double s)
{
    int64_t until = gstcam_mono_us() + (int64_t)(s * 1e6);
    while (!atomic_load(&g->stopping) && gstcam_mono_us() < until)
        g_usleep(GSTCAM_POLL_MS * 1000 / 2);
}

/* Hands sample to cam->fn as a color frame. Returns false, with a reason,
 * when the source changed its size since open (the first pipeline is not
 * fixed to a size; the rebuilt one scales to the first). */
static bool gstcam_deliver(struct camera *cam, GstSample *sample, char *reason, size_t len)
{
    struct gstcam *g = cam->impl;
    GstVideoInfo info;
    GstVideoFrame vf;
    if (!gst_video_info_from_caps(&info, gst_sample_get_caps(sample)))
        return true;
    if (info.width != cam->mode.width || info.height != cam->mode.height) {
        snprintf(reason, len, "the source changed its size to %dx%d", info.width, info.height);
        return false;
    }
    if (!gst_video_frame_map(&vf, &info, gst_sample_get_buffer(sample), GST_MAP_READ))
        return true;
    struct cam_frameset set = {.count = 1};
    set.frames[0] = (struct cam_frame){
        .stream = CAM_COLOR,
        .format = CAM_FORMAT_RGB8,
        .width = info.width,
        .height = info.height,
        .stride = (size_t)GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 0),
        .number = ++g->number,
        .capture_wall_us = gstcam_wall_us(),
        .capture_mono_us = gstcam_mono_us(),
        .data = GST_VIDEO_FRAME_PLANE_DATA(&vf, 0),
    };
    cam->fn(cam->user, &set);
    gst_video_frame_unmap(&vf);
    return true;
}

/* Rebuilds a lost pipeline after the next backoff delay. */
static void gstcam_reconnect(struct camera *cam, struct backoff *bo)
{
    struct gstcam *g = cam->impl;
    gstcam_nap(g, backoff_next(bo));
    if (atomic_load(&g->stopping))
        return;
    char err[300];
    if (gstcam_play(g, NULL, err, sizeof err) != 0) {
        camera_set_state(cam, CAM_STATE_RECONNECTING, err);
        return;
    }
    backoff_reset(bo);
    camera_set_state(cam, CAM_STATE_STREAMING, NULL);
}

/* Pulls one sample (waiting up to GSTCAM_POLL_MS) and hands it on when
 * color is wanted; loops a file that ended. Returns false, with a reason,
 * when the pipeline failed, ended for good, changed size or gave no frame
 * for GSTCAM_STALL_S. *last is the time of the last frame. */
static bool gstcam_pull(struct camera *cam, int64_t *last, char *reason, size_t len)
{
    struct gstcam *g = cam->impl;
    GstSample *sample = gst_app_sink_try_pull_sample(g->sink, GSTCAM_POLL_MS * GST_MSECOND);
    GstBus *bus = gst_element_get_bus(g->pipeline);
    bool failed = gstcam_bus_failure(bus, reason, len);
    gst_object_unref(bus);
    /* A file ends: play it again from the start, seamlessly when it can
     * seek (a live source cannot, and is rebuilt). */
    if (failed && strcmp(reason, "the source ended") == 0 &&
        gst_element_seek_simple(g->pipeline, GST_FORMAT_TIME,
                                GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT, 0)) {
        log_debug("camera: %s: looped", g->label);
        failed = false;
        *last = gstcam_mono_us();
    }
    int64_t now = gstcam_mono_us();
    if (sample) {
        *last = now;
        if ((atomic_load(&cam->mask) & CAM_MASK(CAM_COLOR)) &&
            !gstcam_deliver(cam, sample, reason, len))
            failed = true;
        gst_sample_unref(sample);
    } else if (!failed && now - *last > (int64_t)GSTCAM_STALL_S * 1000000) {
        snprintf(reason, len, "no frame for %d s", GSTCAM_STALL_S);
        failed = true;
    }
    return !failed;
}

/* The capture thread: pulls frames; rebuilds a lost pipeline with backoff;
 * stops the pipeline after GSTCAM_IDLE_S without anyone wanting color and
 * starts it again, at once, when someone does. */
static void *gstcam_thread(void *arg)
{
    struct camera *cam = arg;
    struct gstcam *g = cam->impl;
    struct backoff bo;
    backoff_init(&bo, 0.5, 10, gstcam_hash(g->label) ^ (uint64_t)gstcam_mono_us());
    int64_t last = gstcam_mono_us(), wanted_at = last;
    bool idle = false;
    while (!atomic_load(&g->stopping)) {
        bool wanted = atomic_load(&cam->mask) & CAM_MASK(CAM_COLOR);
        char reason[256] = "";
        if (!g->pipeline && idle && !wanted) {
            gstcam_nap(g, GSTCAM_POLL_MS / 2000.0);
            continue;
        }
        if (!g->pipeline) {
            if (idle) {
                idle = false;
                log_debug("camera: %s: wanted again: starting", g->label);
                if (gstcam_play(g, NULL, reason, sizeof reason) != 0)
                    camera_set_state(cam, CAM_STATE_RECONNECTING, reason);
            } else {
                gstcam_reconnect(cam, &bo);
            }
            last = wanted_at = gstcam_mono_us();
            continue;
        }
        if (!gstcam_pull(cam, &last, reason, sizeof reason)) {
            char text[400];
            snprintf(text, sizeof text, "%s: %s", g->label, reason);
            camera_set_state(cam, CAM_STATE_RECONNECTING, text);
            gstcam_teardown(g);
            continue;
        }
        int64_t now = gstcam_mono_us();
        if (wanted) {
            wanted_at = now;
        } else if (now - wanted_at > (int64_t)GSTCAM_IDLE_S * 1000000) {
            log_debug("camera: %s: not watched for %d s: stopped", g->label, GSTCAM_IDLE_S);
            gstcam_teardown(g);
            idle = true;
        }
    }
    return NULL;
}

/* ---- the ops ---- */

/* Fills what every GStreamer camera shares, once g->source and the mode
 * are known. */
static void gstcam_describe(struct camera *cam, const char *kind, const char *spec)
{
    struct gstcam *g = cam->impl;
    snprintf(cam->name, sizeof cam->name, "%s", kind);
    snprintf(cam->serial, sizeof cam->serial, "%012llx",
             (unsigned long long)(gstcam_hash(spec) & 0xffffffffffffull));
    snprintf(cam->firmware, sizeof cam->firmware, "GStreamer %u.%u.%u", GST_VERSION_MAJOR,
             GST_VERSION_MINOR, GST_VERSION_MICRO);
    snprintf(cam->physical_port, sizeof cam->physical_port, "%.31s", g->label);
    cam->streams = CAM_MASK(CAM_COLOR);
    cam->sensor_names[0] = "RGB Camera";
    cam->nsensors = 1;
    cam->stream_sensor[CAM_COLOR] = 0;
    cam->stream_format[CAM_COLOR] = CAM_FORMAT_RGB8;
    cam->depth_scale = 0;
    struct cam_intrinsics *in = &cam->intrinsics[CAM_COLOR];
    in->width = cam->mode.width;
    in->height = cam->mode.height;
    in->ppx = cam->mode.width / 2.0;
    in->ppy = cam->mode.height / 2.0;
    in->fx = in->fy = cam->mode.width;
    in->model = "none";
}

/* Opens a camera whose source is the pipeline text source (taken). */
static int gstcam_open_source(struct camera *cam, char *source, const char *kind,
                              const char *spec, const struct cam_mode *mode, char *err,
                              size_t errlen)
{
    struct gstcam *g = calloc(1, sizeof *g);
    if (!g) {
        g_free(source);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    g->source = source;
    gstcam_redact(spec, g->label, sizeof g->label);
    g->nominal_fps = mode->fps > 0 ? mode->fps : 30;
    atomic_init(&g->stopping, false);
    if (!gst_is_initialized())
        gst_init(NULL, NULL);
    if (gstcam_play(g, &cam->mode, err, errlen) != 0) {
        g_free(g->source);
        free(g);
        return -1;
    }
    g->fix_width = cam->mode.width;
    g->fix_height = cam->mode.height;
    cam->impl = g;
    gstcam_describe(cam, kind, spec);
    log_info("camera: %s gives %dx%d at %d fps", g->label, cam->mode.width, cam->mode.height,
             cam->mode.fps);
    return 0;
}

static int gstcam_open_gst(struct camera *cam, const char *arg, const struct cam_mode *mode,
                           char *err, size_t errlen)
{
    while (isspace((unsigned char)*arg))
        arg++;
    if (!*arg) {
        snprintf(err, errlen, "camera 'gst:' needs a pipeline, e.g. gst:'videotestsrc'");
        return -1;
    }
    char spec[512];
    snprintf(spec, sizeof spec, "gst:%s", arg);
    return gstcam_open_source(cam, g_strdup(arg), "GStreamer source", spec, mode, err, errlen);
}

/* True when s is made only of characters safe inside a quoted pipeline
 * value: printable, no quotes or backslashes. */
static bool gstcam_quotable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '"' || *s == '\\' || *s == '\'')
            return false;
    return true;
}

static int gstcam_open_v4l2(struct camera *cam, const char *arg, const struct cam_mode *mode,
                            char *err, size_t errlen)
{
    struct stat st;
    if (!gstcam_quotable(arg)) {
        snprintf(err, errlen, "v4l2: '%.64s' is not a device path (e.g. /dev/video0)", arg);
        return -1;
    }
    if (stat(arg, &st) != 0) {
        snprintf(err, errlen, "v4l2: %s: %s", arg, strerror(errno));
        return -1;
    }
    if (!S_ISCHR(st.st_mode)) {
        snprintf(err, errlen, "v4l2: %s is not a video device", arg);
        return -1;
    }
    char spec[300];
    snprintf(spec, sizeof spec, "v4l2:%s", arg);
    return gstcam_open_source(cam, g_strdup_printf("v4l2src device=\"%s\" ! decodebin", arg),
                              "V4L2 camera", spec, mode, err, errlen);
}

static int gstcam_open_rtsp(struct camera *cam, const char *arg, const struct cam_mode *mode,
                            char *err, size_t errlen)
{
    char label[96];
    gstcam_redact(arg, label, sizeof label);
    if (!gstcam_quotable(arg) || strlen(arg) > 2000) {
        snprintf(err, errlen, "rtsp: '%s' is not an URL (no spaces, quotes or backslashes)",
                 label);
        return -1;
    }
    /* Timeouts of 3 s instead of 20: a dead camera is noticed, and torn
     * down, quickly. Only the video of the camera is taken. */
    return gstcam_open_source(cam,
                              g_strdup_printf("rtspsrc location=\"%s\" latency=100 "
                                              "tcp-timeout=3000000 timeout=3000000 ! "
                                              "application/x-rtp,media=video ! decodebin",
                                              arg),
                              "RTSP camera", arg, mode, err, errlen);
}

static void gstcam_close(struct camera *cam)
{
    struct gstcam *g = cam->impl;
    gstcam_teardown(g);
    g_free(g->source);
    free(g);
}

static int gstcam_start(struct camera *cam, char *err, size_t errlen)
{
    struct gstcam *g = cam->impl;
    atomic_store(&g->stopping, false);
    g->number = 0;
    int rc = pthread_create(&g->thread, NULL, gstcam_thread, cam);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the capture thread: %s", strerror(rc));
        return -1;
    }
    return 0;
}

static void gstcam_stop(struct camera *cam)
{
    struct gstcam *g = cam->impl;
    atomic_store(&g->stopping, true);
    pthread_join(g->thread, NULL);
}

const struct camera_ops camera_gst_ops = {
    .name = "gst",
    .arg = CAM_ARG_REQUIRED,
    .usage = "gst:PIPELINE",
    .open = gstcam_open_gst,
    .close = gstcam_close,
    .start = gstcam_start,
    .stop = gstcam_stop,
};

const struct camera_ops camera_v4l2_ops = {
    .name = "v4l2",
    .arg = CAM_ARG_REQUIRED,
    .usage = "v4l2:DEVICE",
    .open = gstcam_open_v4l2,
    .close = gstcam_close,
    .start = gstcam_start,
    .stop = gstcam_stop,
};

const struct camera_ops camera_rtsp_ops = {
    .name = "rtsp",
    .arg = CAM_ARG_URL,
    .usage = "rtsp://URL",
    .open = gstcam_open_rtsp,
    .close = gstcam_close,
    .start = gstcam_start,
    .stop = gstcam_stop,
};

const struct camera_ops camera_rtsps_ops = {
    .name = "rtsps",
    .arg = CAM_ARG_URL,
    .usage = "rtsps://URL",
    .open = gstcam_open_rtsp,
    .close = gstcam_close,
    .start = gstcam_start,
    .stop = gstcam_stop,
};
