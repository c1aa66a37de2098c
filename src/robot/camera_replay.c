/* camera_replay.c - the replay backend, "replay:DIR": plays a recording
 * made with --record, or a TUM RGB-D dataset, as a camera.
 *
 * It advertises only the streams the directory holds, reports the
 * recorded device identity, mode, depth scale and intrinsics (TUM's when
 * there is no sidecar: rgbd_dir.h), and gives every depth value exactly
 * as recorded. open checks the whole directory (every listed file exists,
 * is a PNG of the recording's size and of its stream's kind) and decodes
 * the first frame of each stream, so that bad input fails at start.
 *
 * Frames of the streams' lists are grouped into framesets by timestamp
 * (within half a frame period, at most 20 ms, as TUM's associate.py
 * pairs colour and depth). Playback keeps the recorded timing: it starts
 * when a stream is first wanted, then runs on the monotonic clock whether
 * or not streams are wanted (like a camera), skipping framesets it is too
 * late for, and loops: each loop lasts the recording plus one frame
 * period. A frame carries its recorded capture time, plus one loop length
 * per completed loop, as capture_wall_us (so the first loop's point cloud
 * reports the recorded times); capture_mono_us is the replay's clock. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "robot/camera_backend.h"
#include "robot/pngio.h"
#include "robot/rgbd_dir.h"

/* The widest gap between frames of one frameset (TUM's associate.py). */
#define REPLAY_MAX_SKEW_US 20000

static const enum cam_format replay_formats[CAM_NSTREAMS] = {
    [CAM_COLOR] = CAM_FORMAT_RGB8,
    [CAM_DEPTH] = CAM_FORMAT_Z16,
    [CAM_INFRARED1] = CAM_FORMAT_Y8,
    [CAM_INFRARED2] = CAM_FORMAT_Y8,
};

/* One frameset: an index into each stream's list, or -1. */
struct replay_group {
    int64_t t_us; /* the earliest stamp of its frames */
    long idx[CAM_NSTREAMS];
};

struct replay {
    char dir[2048];
    struct rgbd_list lists[CAM_NSTREAMS];
    struct replay_group *groups;
    size_t ngroups;
    int64_t loop_us; /* one loop: the recording plus one frame period */
    uint8_t *buf[CAM_NSTREAMS];

    pthread_t thread;
    pthread_mutex_t lock; /* guards stopping; the condition wakes the thread to stop */
    pthread_cond_t cond;
    bool stopping;
    uint64_t number;
    uint64_t bad_frames; /* capture thread only */
};

/* snprintf into err (paths make gcc fear truncation; a cut line is fine). */
static void replay_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void replay_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void replay_free(struct replay *rp)
{
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        rgbd_list_clear(&rp->lists[s]);
        free(rp->buf[s]);
    }
    free(rp->groups);
    free(rp);
}

/* ---- opening: lists, checks, framesets ---- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The median gap between stamps of list l (n >= 2), in us; 0 otherwise. */
static int64_t replay_median_gap(const struct rgbd_list *l)
{
    if (l->n < 2)
        return 0;
    int64_t *gaps = malloc((l->n - 1) * sizeof *gaps);
    if (!gaps)
        return 0;
    for (size_t i = 1; i < l->n; i++)
        gaps[i - 1] = l->stamp_us[i] - l->stamp_us[i - 1];
    qsort(gaps, l->n - 1, sizeof *gaps, cmp_i64);
    int64_t m = gaps[(l->n - 1) / 2];
    free(gaps);
    return m;
}

/* Checks every listed file of stream s: a PNG of the mode's size that
 * reads as the stream's format. Without a known mode (no sidecar) the first
 * file sets it. Returns 0, or -1 with a reason in err. */
static int replay_check_files(struct replay *rp, enum cam_stream s, struct cam_mode *mode,
                              char *err, size_t errlen)
{
    const struct rgbd_list *l = &rp->lists[s];
    for (size_t i = 0; i < l->n; i++) {
        char path[4096], why[512];
        snprintf(path, sizeof path, "%s/%s", rp->dir, l->file[i]);
        struct pngio_info in;
        if (pngio_probe(path, &in, why, sizeof why) != 0) {
            replay_errf(err, errlen, "%s (listed in %s)", why, rgbd_list_name(s));
            return -1;
        }
        if (pngio_check(&in, replay_formats[s], why, sizeof why) != 0) {
            replay_errf(err, errlen, "%s/%s is %s", rp->dir, l->file[i], why);
            return -1;
        }
        if (mode->width == 0) {
            mode->width = in.width;
            mode->height = in.height;
        }
        if (in.width != mode->width || in.height != mode->height) {
            replay_errf(err, errlen, "%s/%s is %dx%d; the recording's frames are %dx%d", rp->dir,
                        l->file[i], in.width, in.height, mode->width, mode->height);
            return -1;
        }
    }
    return 0;
}

/* Groups the lists' frames into framesets: the earliest frame not yet
 * taken opens one, and each other stream joins with its next frame when
 * that is within skew of it. Returns 0, or -1 (out of memory). */
static int replay_group(struct replay *rp, int64_t skew)
{
    size_t total = 0, pos[CAM_NSTREAMS] = {0};
    for (int s = 0; s < CAM_NSTREAMS; s++)
        total += rp->lists[s].n;
    rp->groups = calloc(total, sizeof *rp->groups);
    if (!rp->groups)
        return -1;
    for (;;) {
        int first = -1;
        for (int s = 0; s < CAM_NSTREAMS; s++)
            if (pos[s] < rp->lists[s].n &&
                (first < 0 || rp->lists[s].stamp_us[pos[s]] <
                                  rp->lists[first].stamp_us[pos[first]]))
                first = s;
        if (first < 0)
            break;
        struct replay_group *g = &rp->groups[rp->ngroups++];
        g->t_us = rp->lists[first].stamp_us[pos[first]];
        for (int s = 0; s < CAM_NSTREAMS; s++) {
            g->idx[s] = -1;
            if (pos[s] < rp->lists[s].n && rp->lists[s].stamp_us[pos[s]] - g->t_us <= skew)
                g->idx[s] = (long)pos[s]++;
        }
    }
    return 0;
}

/* Decodes frame i of stream s into the stream's buffer. Returns 0, or -1
 * with a reason in err. */
static int replay_decode(struct replay *rp, const struct cam_mode *m, enum cam_stream s,
                         size_t i, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", rp->dir, rp->lists[s].file[i]);
    return pngio_read(path, replay_formats[s], m->width, m->height, rp->buf[s], err, errlen);
}

/* Reads the lists, checks their files and sets cam's mode and streams.
 * Returns 0, or -1 with a reason in err. */
static int replay_load(struct camera *cam, struct replay *rp, const struct rgbd_meta *meta,
                       bool sidecar, char *err, size_t errlen)
{
    char why[512];
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        if (rgbd_list_read(rp->dir, (enum cam_stream)s, &rp->lists[s], why, sizeof why) != 0) {
            replay_errf(err, errlen, "%s/%s", rp->dir, why);
            return -1;
        }
        if (rp->lists[s].n)
            cam->streams |= CAM_MASK(s);
    }
    if (!cam->streams) {
        replay_errf(err, errlen, "%s holds no recording: rgb.txt, depth.txt, ir1.txt and ir2.txt "
                    "list no frames (record one with --record DIR, or give a TUM RGB-D dataset)",
                    rp->dir);
        return -1;
    }
    if ((cam->streams & CAM_MASK(CAM_DEPTH)) && !(meta->depth_scale > 0)) {
        replay_errf(err, errlen, "%s/%s: depthScale must be above 0 for a recording with depth",
                    rp->dir, RGBD_SIDECAR);
        return -1;
    }
    cam->mode = sidecar ? meta->mode : (struct cam_mode){0};
    for (int s = 0; s < CAM_NSTREAMS; s++)
        if (replay_check_files(rp, (enum cam_stream)s, &cam->mode, err, errlen) != 0)
            return -1;
    /* The longest list paces the recording when there is no sidecar. */
    int primary = CAM_DEPTH;
    for (int s = 0; s < CAM_NSTREAMS; s++)
        if (rp->lists[s].n > rp->lists[primary].n)
            primary = s;
    int64_t gap = replay_median_gap(&rp->lists[primary]);
    if (!sidecar)
        cam->mode.fps = gap > 0 ? (int)((1000000 + gap / 2) / gap) : RGBD_TUM_FPS;
    if (cam->mode.fps < 1)
        cam->mode.fps = 1;
    if (cam->mode.fps > 1000)
        cam->mode.fps = 1000;
    int64_t period = 1000000 / cam->mode.fps;
    int64_t skew = period / 2 < REPLAY_MAX_SKEW_US ? period / 2 : REPLAY_MAX_SKEW_US;
    if (replay_group(rp, skew) != 0) {
        replay_errf(err, errlen, "out of memory");
        return -1;
    }
    rp->loop_us = rp->groups[rp->ngroups - 1].t_us - rp->groups[0].t_us + period;
    size_t n = (size_t)cam->mode.width * (size_t)cam->mode.height;
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        if (!rp->lists[s].n)
            continue;
        rp->buf[s] = malloc(n * pngio_bpp(replay_formats[s]));
        if (!rp->buf[s]) {
            replay_errf(err, errlen, "out of memory for %dx%d frames", cam->mode.width,
                        cam->mode.height);
            return -1;
        }
        /* A file whose header is fine may still be cut short or corrupt:
         * the first of each stream is decoded whole now. */
        if (replay_decode(rp, &cam->mode, (enum cam_stream)s, 0, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* 12 digits from the directory's name, for a dataset without a serial. */
static void replay_serial(const char *dir, char *out, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *c = dir; *c; c++) {
        h ^= (uint8_t)*c;
        h *= 0x100000001b3ull;
    }
    snprintf(out, len, "%012llu", (unsigned long long)(h % 1000000000000ull));
}

/* Identity, intrinsics and capabilities from meta. */
static void replay_describe(struct camera *cam, const struct rgbd_meta *meta, bool sidecar,
                            const char *dir)
{
    snprintf(cam->name, sizeof cam->name, "%s", meta->name);
    if (meta->serial[0])
        snprintf(cam->serial, sizeof cam->serial, "%s", meta->serial);
    else
        replay_serial(dir, cam->serial, sizeof cam->serial);
    snprintf(cam->firmware, sizeof cam->firmware, "%s", meta->firmware[0] ? meta->firmware : "none");
    snprintf(cam->product_id, sizeof cam->product_id, "%s", meta->product_id);
    snprintf(cam->usb_type, sizeof cam->usb_type, "%s", meta->usb_type);
    snprintf(cam->physical_port, sizeof cam->physical_port, "replay");
    cam->depth_scale = (cam->streams & CAM_MASK(CAM_DEPTH)) ? meta->depth_scale : 0;
    /* TUM's pinhole is for 640x480; another size scales it. */
    double kx = sidecar ? 1 : cam->mode.width / 640.0, ky = sidecar ? 1 : cam->mode.height / 480.0;
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        if (!(cam->streams & CAM_MASK(s)) || !meta->has_intrinsics[s])
            continue;
        struct cam_intrinsics in = meta->intrinsics[s];
        in.fx *= kx;
        in.ppx *= kx;
        in.fy *= ky;
        in.ppy *= ky;
        in.width = cam->mode.width;
        in.height = cam->mode.height;
        cam->intrinsics[s] = in;
    }
    bool stereo = cam->streams & (CAM_MASK(CAM_DEPTH) | CAM_MASK(CAM_INFRARED1) |
                                  CAM_MASK(CAM_INFRARED2));
    cam->nsensors = 0;
    if (stereo)
        cam->sensor_names[cam->nsensors++] = "Stereo Module";
    if (cam->streams & CAM_MASK(CAM_COLOR))
        cam->sensor_names[cam->nsensors++] = "RGB Camera";
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        cam->stream_format[s] = replay_formats[s];
        cam->stream_sensor[s] = s == CAM_COLOR ? (int)cam->nsensors - 1 : 0;
    }
    cam->options = NULL;
    cam->noptions = 0;
}

static int replay_open(struct camera *cam, const char *arg, const struct cam_mode *mode,
                       char *err, size_t errlen)
{
    (void)mode; /* the recording decides */
    struct stat st;
    if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode)) {
        replay_errf(err, errlen, "replay:%s: %s", arg,
                    stat(arg, &st) != 0 ? strerror(errno) : "not a directory");
        return -1;
    }
    struct replay *rp = calloc(1, sizeof *rp);
    if (!rp || strlen(arg) >= sizeof rp->dir) {
        replay_errf(err, errlen, "replay:%s: %s", arg, rp ? "path too long" : "out of memory");
        free(rp);
        return -1;
    }
    snprintf(rp->dir, sizeof rp->dir, "%s", arg);
    struct rgbd_meta meta;
    char why[768];
    int rc = rgbd_meta_read(rp->dir, &meta, why, sizeof why);
    if (rc < 0 || replay_load(cam, rp, &meta, rc == 0, why, sizeof why) != 0) {
        replay_errf(err, errlen, "replay: %s%s%s", rc < 0 ? rp->dir : "", rc < 0 ? "/" : "", why);
        replay_free(rp);
        return -1;
    }
    replay_describe(cam, &meta, rc == 0, rp->dir);
    cam->impl = rp;
    log_info("replay: %s, %zu framesets over %.3f s at %d fps, %dx%d%s", rp->dir, rp->ngroups,
             (double)rp->loop_us / 1e6, cam->mode.fps, cam->mode.width, cam->mode.height,
             rc == 0 ? "" : " (no porthole.json: TUM depth scale and intrinsics)");
    return 0;
}

static void replay_close(struct camera *cam)
{
    replay_free(cam->impl);
    cam->impl = NULL;
}

/* ---- the capture thread ---- */

static int64_t replay_now_us(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Decodes and delivers the wanted streams of group g of loop k. */
static void replay_deliver(struct camera *cam, const struct replay_group *g, int64_t k,
                           unsigned mask)
{
    struct replay *rp = cam->impl;
    const struct cam_mode *m = &cam->mode;
    struct cam_frameset set = {0};
    int64_t mono = replay_now_us(CLOCK_MONOTONIC);
    bool counted = false;
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        if (g->idx[s] < 0 || !(mask & CAM_MASK(s)))
            continue;
        char err[512];
        if (replay_decode(rp, m, (enum cam_stream)s, (size_t)g->idx[s], err, sizeof err) != 0) {
            if (rp->bad_frames++ == 0)
                log_warn("replay: %s (such frames are skipped; logged once)", err);
            continue;
        }
        if (!counted) {
            rp->number++;
            counted = true;
        }
        struct cam_frame *f = &set.frames[set.count++];
        *f = (struct cam_frame){
            .stream = (enum cam_stream)s,
            .format = replay_formats[s],
            .width = m->width,
            .height = m->height,
            .stride = pngio_bpp(replay_formats[s]) * (size_t)m->width,
            .number = rp->number,
            .capture_wall_us = rp->lists[s].stamp_us[g->idx[s]] + k * rp->loop_us,
            .capture_mono_us = mono,
            .data = rp->buf[s],
        };
    }
    if (set.count)
        cam->fn(cam->user, &set);
}

/* Waits on the condition until the monotonic time deadline_us or stop.
 * Returns false when stopping. Called with rp->lock held. */
static bool replay_wait(struct replay *rp, int64_t deadline_us)
{
    struct timespec ts = {(time_t)(deadline_us / 1000000), (long)(deadline_us % 1000000) * 1000};
    while (!rp->stopping && pthread_cond_timedwait(&rp->cond, &rp->lock, &ts) != ETIMEDOUT)
        ;
    return !rp->stopping;
}

/* The capture thread: idles until a stream is wanted, then plays the
 * framesets at their recorded offsets from the start, looping. When it is
 * late it skips to the latest frameset due rather than bursting. */
static void *replay_thread(void *arg)
{
    struct camera *cam = arg;
    struct replay *rp = cam->impl;
    const int64_t period = 1000000 / cam->mode.fps;
    int64_t start = 0, k = 0;
    size_t pos = 0;
    pthread_mutex_lock(&rp->lock);
    while (!rp->stopping) {
        pthread_mutex_unlock(&rp->lock);
        unsigned mask = atomic_load(&cam->mask);
        int64_t now = replay_now_us(CLOCK_MONOTONIC), due;
        if (!start && !mask) {
            due = now + period;
        } else {
            if (!start)
                start = now;
            /* Skip what is already past the next frameset's time. */
            for (;;) {
                size_t next = pos + 1 == rp->ngroups ? 0 : pos + 1;
                int64_t nk = next == 0 ? k + 1 : k;
                int64_t t = start + nk * rp->loop_us + rp->groups[next].t_us - rp->groups[0].t_us;
                if (t > now)
                    break;
                pos = next;
                k = nk;
            }
            int64_t t = start + k * rp->loop_us + rp->groups[pos].t_us - rp->groups[0].t_us;
            if (t <= now) {
                replay_deliver(cam, &rp->groups[pos], k, mask);
                if (++pos == rp->ngroups) {
                    pos = 0;
                    k++;
                }
                t = start + k * rp->loop_us + rp->groups[pos].t_us - rp->groups[0].t_us;
            }
            due = t;
        }
        pthread_mutex_lock(&rp->lock);
        if (!replay_wait(rp, due))
            break;
    }
    pthread_mutex_unlock(&rp->lock);
    return NULL;
}

static int replay_start(struct camera *cam, char *err, size_t errlen)
{
    struct replay *rp = cam->impl;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rp->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&rp->lock, NULL);
    rp->stopping = false;
    rp->number = 0;
    int rc = pthread_create(&rp->thread, NULL, replay_thread, cam);
    if (rc != 0) {
        pthread_cond_destroy(&rp->cond);
        pthread_mutex_destroy(&rp->lock);
        snprintf(err, errlen, "cannot start the replay thread: %s", strerror(rc));
        return -1;
    }
    return 0;
}

static void replay_stop(struct camera *cam)
{
    struct replay *rp = cam->impl;
    pthread_mutex_lock(&rp->lock);
    rp->stopping = true;
    pthread_cond_signal(&rp->cond);
    pthread_mutex_unlock(&rp->lock);
    pthread_join(rp->thread, NULL);
    pthread_cond_destroy(&rp->cond);
    pthread_mutex_destroy(&rp->lock);
}

const struct camera_ops camera_replay_ops = {
    .name = "replay",
    .arg = CAM_ARG_REQUIRED,
    .usage = "replay:DIR",
    .modes = {.nresolutions = 0}, /* the recording decides */
    .open = replay_open,
    .close = replay_close,
    .start = replay_start,
    .stop = replay_stop,
};
