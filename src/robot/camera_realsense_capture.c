/* camera_realsense_capture.c - the librealsense2 backend's capture thread:
 * runs an rs2 pipeline at the camera's mode (its syncer matches frames by
 * timestamp into framesets), hands each frameset's wanted streams to the
 * robot, and recovers a device that was unplugged or reset.
 *
 * Recovery: librealsense's devices-changed callback marks the device
 * removed, or no frameset comes for RS_STALL_MS; the thread then drops
 * the pipeline and the device, sets the camera "reconnecting" (viewers
 * see it in telemetry and the REST API), and retries with a backoff of
 * RS_RETRY_MIN_MS to RS_RETRY_MAX_MS: find the device with the same
 * serial, start a pipeline on it. The first frameset after that sets the
 * camera "streaming" again; encoders carry on from there.
 *
 * Every stream the camera has is streamed while started; cam->mask only
 * selects what is handed on (a RealSense restarts its streams slowly, so
 * switching a viewer's stream does not restart the device). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "robot/camera_realsense.h"

#define RS_WAIT_MS 250
#define RS_STALL_MS 3000
#define RS_RETRY_MIN_MS 500
#define RS_RETRY_MAX_MS 5000

static void rs_pipe_stop(struct rs_camera *rs)
{
    if (!rs->pipe)
        return;
    rs2_error *e = NULL;
    rs2_pipeline_stop(rs->pipe, &e);
    if (e)
        rs2_free_error(e); /* an unplugged device cannot stop; it is gone anyway */
    rs2_delete_pipeline(rs->pipe);
    rs->pipe = NULL;
}

/* Starts a pipeline on the device (or the recording, looping) with every
 * stream of the camera at its mode. Returns 0, or -1 with err. */
static int rs_pipe_start(struct camera *cam, char *err, size_t errlen)
{
    struct rs_camera *rs = cam->impl;
    rs2_error *e = NULL;
    char buf[256];
    rs2_config *cfg = rs2_create_config(&e);
    if (!e && rs->is_file)
        rs2_config_enable_device_from_file_repeat_option(cfg, rs->path, 1, &e);
    else if (!e)
        rs2_config_enable_device(cfg, rs->serial, &e);
    for (int s = 0; s < CAM_NSTREAMS && !e; s++)
        if (cam->streams & CAM_MASK(s))
            rs2_config_enable_stream(cfg, rs->types[s], rs->indexes[s], cam->mode.width,
                                     cam->mode.height, rs->formats[s], cam->mode.fps, &e);
    if (!e)
        rs->pipe = rs2_create_pipeline(rs->ctx, &e);
    rs2_pipeline_profile *prof = NULL;
    if (!e)
        prof = rs2_pipeline_start_with_config(rs->pipe, cfg, &e);
    if (prof)
        rs2_delete_pipeline_profile(prof);
    if (cfg)
        rs2_delete_config(cfg);
    if (e) {
        snprintf(err, errlen, "cannot start the camera's streams: %s",
                 rs_error_text(e, buf, sizeof buf));
        if (rs->pipe)
            rs2_delete_pipeline(rs->pipe);
        rs->pipe = NULL;
        return -1;
    }
    return 0;
}

/* Which of the camera's streams frame f is, or -1. */
static int rs_frame_stream(const struct rs_camera *rs, const struct camera *cam,
                           const rs2_frame *f)
{
    rs2_error *e = NULL;
    const rs2_stream_profile *p = rs2_get_frame_stream_profile(f, &e);
    rs2_stream type;
    rs2_format fmt;
    int index, uid, fps;
    if (!e)
        rs2_get_stream_profile_data(p, &type, &fmt, &index, &uid, &fps, &e);
    if (e) {
        rs2_free_error(e);
        return -1;
    }
    for (int s = 0; s < CAM_NSTREAMS; s++)
        if ((cam->streams & CAM_MASK(s)) && rs->types[s] == type && rs->indexes[s] == index &&
            rs->formats[s] == fmt)
            return s;
    return -1;
}

/* Adds frame f to set when it is a wanted stream at the camera's mode.
 * Returns true when set now refers to f's pixels. */
static bool rs_frame_add(struct rs_camera *rs, struct camera *cam, unsigned mask,
                         const rs2_frame *f, struct cam_frameset *set,
                         const struct cam_frame *stamp)
{
    int s = rs_frame_stream(rs, cam, f);
    if (s < 0 || !(mask & CAM_MASK(s)))
        return false;
    for (size_t i = 0; i < set->count; i++)
        if (set->frames[i].stream == (enum cam_stream)s)
            return false;
    rs2_error *e = NULL;
    int w = rs2_get_frame_width(f, &e);
    int h = e ? 0 : rs2_get_frame_height(f, &e);
    int stride = e ? 0 : rs2_get_frame_stride_in_bytes(f, &e);
    const void *data = e ? NULL : rs2_get_frame_data(f, &e);
    if (e) {
        rs2_free_error(e);
        return false;
    }
    enum cam_format fmt = cam->stream_format[s];
    int bpp = fmt == CAM_FORMAT_RGB8 ? 3 : fmt == CAM_FORMAT_Z16 ? 2 : 1;
    if (w != cam->mode.width || h != cam->mode.height || stride < w * bpp || !data)
        return false;
    struct cam_frame *out = &set->frames[set->count++];
    *out = *stamp;
    out->stream = (enum cam_stream)s;
    out->format = cam->stream_format[s];
    out->width = w;
    out->height = h;
    out->stride = (size_t)stride;
    out->data = data;
    return true;
}

static int64_t rs_now_us(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Hands the wanted frames of fs (a composite frameset, or one frame) to
 * the robot. Releases fs. */
static void rs_deliver(struct rs_camera *rs, struct camera *cam, rs2_frame *fs)
{
    rs2_error *e = NULL;
    unsigned mask = atomic_load(&cam->mask);
    struct cam_frame stamp = {.number = ++rs->number,
                              .capture_wall_us = rs_now_us(CLOCK_REALTIME),
                              .capture_mono_us = rs_now_us(CLOCK_MONOTONIC)};
    struct cam_frameset set = {0};
    rs2_frame *held[CAM_NSTREAMS];
    int nheld = 0;
    int composite = rs2_is_frame_extendable_to(fs, RS2_EXTENSION_COMPOSITE_FRAME, &e);
    int n = e ? 0 : composite ? rs2_embedded_frames_count(fs, &e) : 1;
    for (int i = 0; !e && i < n && mask; i++) {
        rs2_frame *f = composite ? rs2_extract_frame(fs, i, &e) : fs;
        if (e)
            break;
        bool used = rs_frame_add(rs, cam, mask, f, &set, &stamp);
        if (composite && used && nheld < CAM_NSTREAMS)
            held[nheld++] = f;
        else if (composite)
            rs2_release_frame(f);
    }
    if (e)
        rs2_free_error(e);
    else if (set.count)
        cam->fn(cam->user, &set);
    for (int i = 0; i < nheld; i++)
        rs2_release_frame(held[i]);
    rs2_release_frame(fs);
}

static bool rs_stopping(struct rs_camera *rs)
{
    pthread_mutex_lock(&rs->wake_lock);
    bool stop = rs->stopping;
    pthread_mutex_unlock(&rs->wake_lock);
    return stop;
}

/* Sleeps ms, or less when stop wakes it. */
static void rs_sleep(struct rs_camera *rs, int ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long long ns = (long long)t.tv_nsec + (long long)ms * 1000000;
    t.tv_sec += (time_t)(ns / 1000000000);
    t.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&rs->wake_lock);
    while (!rs->stopping && pthread_cond_timedwait(&rs->wake, &rs->wake_lock, &t) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&rs->wake_lock);
}

/* Tries to bring the device back: attach it by serial, start a pipeline.
 * Returns 0, or -1 with the reason in why. */
static int rs_reconnect(struct camera *cam, char *why, size_t len)
{
    struct rs_camera *rs = cam->impl;
    if (!rs->is_file && !rs->dev && rs_attach(rs) != 0) {
        snprintf(why, len, "RealSense %s is not connected; waiting for it", rs->serial);
        return -1;
    }
    return rs_pipe_start(cam, why, len);
}

/* Drops the pipeline (and the device, which may be gone) after a loss. */
static void rs_lost(struct camera *cam, const char *why)
{
    struct rs_camera *rs = cam->impl;
    rs_pipe_stop(rs);
    if (!rs->is_file)
        rs_detach(rs);
    camera_set_state(cam, CAM_STATE_RECONNECTING, why);
}

static void *rs_thread(void *arg)
{
    struct camera *cam = arg;
    struct rs_camera *rs = cam->impl;
    int retry_ms = RS_RETRY_MIN_MS, idle_ms = 0;
    char why[256];
    while (!rs_stopping(rs)) {
        if (!rs->pipe) {
            if (rs_reconnect(cam, why, sizeof why) != 0) {
                camera_set_state(cam, CAM_STATE_RECONNECTING, why);
                rs_sleep(rs, retry_ms);
                retry_ms = retry_ms * 2 > RS_RETRY_MAX_MS ? RS_RETRY_MAX_MS : retry_ms * 2;
                continue;
            }
            log_info("camera: RealSense %s streaming again", rs->serial);
            idle_ms = 0;
        }
        rs2_error *e = NULL;
        rs2_frame *fs = NULL;
        int got = rs2_pipeline_try_wait_for_frames(rs->pipe, &fs, RS_WAIT_MS, &e);
        why[0] = '\0';
        if (e) {
            rs_error_text(e, why, sizeof why);
        } else if (got && fs) {
            idle_ms = 0;
            retry_ms = RS_RETRY_MIN_MS;
            camera_set_state(cam, CAM_STATE_STREAMING, NULL);
            rs_deliver(rs, cam, fs);
        } else if ((idle_ms += RS_WAIT_MS) >= RS_STALL_MS) {
            snprintf(why, sizeof why, "no frames from RealSense %s for %d s", rs->serial,
                     RS_STALL_MS / 1000);
        }
        if (atomic_exchange(&rs->removed, false))
            snprintf(why, sizeof why, "RealSense %s was unplugged", rs->serial);
        if (why[0])
            rs_lost(cam, why);
    }
    rs_pipe_stop(rs);
    return NULL;
}

int rs_capture_start(struct camera *cam, char *err, size_t errlen)
{
    struct rs_camera *rs = cam->impl;
    if (!rs->pipe && rs_reconnect(cam, err, errlen) != 0)
        return -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rs->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&rs->wake_lock, NULL);
    rs->stopping = false;
    rs->number = 0;
    int rc = pthread_create(&rs->thread, NULL, rs_thread, cam);
    if (rc != 0) {
        rs_pipe_stop(rs);
        pthread_cond_destroy(&rs->wake);
        pthread_mutex_destroy(&rs->wake_lock);
        snprintf(err, errlen, "cannot start the capture thread: %s", strerror(rc));
        return -1;
    }
    return 0;
}

void rs_capture_stop(struct camera *cam)
{
    struct rs_camera *rs = cam->impl;
    pthread_mutex_lock(&rs->wake_lock);
    rs->stopping = true;
    pthread_cond_signal(&rs->wake);
    pthread_mutex_unlock(&rs->wake_lock);
    pthread_join(rs->thread, NULL);
    pthread_cond_destroy(&rs->wake);
    pthread_mutex_destroy(&rs->wake_lock);
}
