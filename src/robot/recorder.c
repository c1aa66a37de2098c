/* recorder.c - framesets to PNG files on a writer thread, through a
 * bounded queue that drops when full. */
#include "robot/recorder.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "robot/pngio.h"
#include "robot/rgbd_dir.h"

/* zlib level of every PNG: the fastest, which still halves depth. */
#define RECORDER_PNG_LEVEL 1

/* One queued frameset; frames[i].data points into buf[i], rows packed. */
struct rec_slot {
    struct cam_frameset set;
    uint8_t *buf[CAM_NSTREAMS];
    size_t cap[CAM_NSTREAMS];
};

struct recorder {
    char dir[2048];
    struct rgbd_meta meta;
    struct recorder_limits limits;

    pthread_t thread;
    pthread_mutex_t lock; /* guards the queue, the stats and stopping */
    pthread_cond_t cond;  /* signals a queued frameset or stopping */
    struct rec_slot slots[RECORDER_QUEUE];
    size_t head, count;   /* the queue: slots[head], ... count of them */
    bool stopping;
    struct recorder_stats stats;
    char stop_reason[256];

    /* The writer thread's own. */
    FILE *lists[CAM_NSTREAMS], *assoc;
    int64_t last_stamp[CAM_NSTREAMS];
    int64_t first_us;
};

const char *recorder_state_name(enum recorder_state s)
{
    switch (s) {
    case RECORDER_RECORDING: return "recording";
    case RECORDER_LIMIT: return "limit";
    case RECORDER_FAILED: return "failed";
    }
    return "unknown";
}

const char *recorder_dir(const struct recorder *rec)
{
    return rec->dir;
}

/* snprintf into err; paths are long, and a cut message is still a message. */
static void rec_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void rec_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- the capture thread ---- */

/* Copies f into slot buffer i, rows packed. Returns false when out of memory. */
static bool rec_copy_frame(struct rec_slot *slot, size_t i, const struct cam_frame *f)
{
    size_t row = pngio_bpp(f->format) * (size_t)f->width, size = row * (size_t)f->height;
    if (slot->cap[i] < size) {
        uint8_t *b = realloc(slot->buf[i], size);
        if (!b)
            return false;
        slot->buf[i] = b;
        slot->cap[i] = size;
    }
    for (int y = 0; y < f->height; y++)
        memcpy(slot->buf[i] + (size_t)y * row, f->data + (size_t)y * f->stride, row);
    slot->set.frames[i] = *f;
    slot->set.frames[i].stride = row;
    slot->set.frames[i].data = slot->buf[i];
    return true;
}

void recorder_push(void *user, const struct cam_frameset *set)
{
    struct recorder *rec = user;
    if (set->count == 0)
        return;
    pthread_mutex_lock(&rec->lock);
    if (rec->stats.state != RECORDER_RECORDING || rec->stopping) {
        pthread_mutex_unlock(&rec->lock);
        return;
    }
    if (rec->count == RECORDER_QUEUE) {
        rec->stats.dropped++;
        pthread_mutex_unlock(&rec->lock);
        return;
    }
    /* The slot after the queue's end is the capture thread's alone until
     * it is counted in; the writer reads only counted slots. */
    struct rec_slot *slot = &rec->slots[(rec->head + rec->count) % RECORDER_QUEUE];
    pthread_mutex_unlock(&rec->lock);

    bool ok = true;
    slot->set.count = 0;
    for (size_t i = 0; ok && i < set->count && i < CAM_NSTREAMS; i++)
        ok = rec_copy_frame(slot, i, &set->frames[i]);
    slot->set.count = ok ? set->count : 0;

    pthread_mutex_lock(&rec->lock);
    if (ok) {
        rec->count++;
        pthread_cond_signal(&rec->cond);
    } else {
        rec->stats.dropped++;
    }
    pthread_mutex_unlock(&rec->lock);
}

/* ---- the writer thread ---- */

/* Opens (the first time) stream s's list and folder. Returns the list, or
 * NULL with a reason in err. */
static FILE *rec_list(struct recorder *rec, enum cam_stream s, char *err, size_t errlen)
{
    if (rec->lists[s])
        return rec->lists[s];
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", rec->dir, rgbd_subdir(s));
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        rec_errf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", rec->dir, rgbd_list_name(s));
    FILE *f = fopen(path, "w");
    if (!f || fputs(rgbd_list_header(s), f) < 0) {
        rec_errf(err, errlen, "%s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    rec->lists[s] = f;
    return f;
}

/* Writes frame f and its list line; stamp and name are set for the
 * associations. Returns the PNG's size, or -1 with a reason in err. */
static long rec_write_frame(struct recorder *rec, const struct cam_frame *f, char *stamp,
                            char *name, size_t namelen, char *err, size_t errlen)
{
    FILE *list = rec_list(rec, f->stream, err, errlen);
    if (!list)
        return -1;
    int64_t us = f->capture_wall_us;
    if (rec->last_stamp[f->stream] && us <= rec->last_stamp[f->stream])
        us = rec->last_stamp[f->stream] + 1;
    rec->last_stamp[f->stream] = us;
    rgbd_stamp(us, stamp, 32);
    snprintf(name, namelen, "%s/%s.png", rgbd_subdir(f->stream), stamp);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", rec->dir, name);
    long size = pngio_write(path, f, RECORDER_PNG_LEVEL, err, errlen);
    if (size < 0)
        return -1;
    /* The line goes after the file is complete, and is flushed, so a list
     * never names a partial file, even after a crash. */
    if (fprintf(list, "%s %s\n", stamp, name) < 0 || fflush(list) != 0) {
        rec_errf(err, errlen, "%s/%s: %s", rec->dir, rgbd_list_name(f->stream), strerror(errno));
        return -1;
    }
    return size;
}

/* Writes one frameset. Returns 0, or -1 with a reason in err. */
static int rec_write_set(struct recorder *rec, const struct cam_frameset *set, int64_t *bytes,
                         char *err, size_t errlen)
{
    char stamps[CAM_NSTREAMS][32], names[CAM_NSTREAMS][64];
    bool has[CAM_NSTREAMS] = {false};
    for (size_t i = 0; i < set->count; i++) {
        const struct cam_frame *f = &set->frames[i];
        if ((unsigned)f->stream >= CAM_NSTREAMS || has[f->stream])
            continue;
        long size = rec_write_frame(rec, f, stamps[f->stream], names[f->stream],
                                    sizeof names[0], err, errlen);
        if (size < 0)
            return -1;
        *bytes += size;
        has[f->stream] = true;
        pthread_mutex_lock(&rec->lock);
        rec->stats.frames[f->stream]++;
        pthread_mutex_unlock(&rec->lock);
    }
    if (has[CAM_COLOR] && has[CAM_DEPTH]) {
        if (!rec->assoc) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", rec->dir, RGBD_ASSOCIATIONS);
            rec->assoc = fopen(path, "w");
        }
        if (!rec->assoc || fprintf(rec->assoc, "%s %s %s %s\n", stamps[CAM_COLOR],
                                   names[CAM_COLOR], stamps[CAM_DEPTH], names[CAM_DEPTH]) < 0 ||
            fflush(rec->assoc) != 0) {
            rec_errf(err, errlen, "%s/%s: %s", rec->dir, RGBD_ASSOCIATIONS, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Stops recording for good (under the lock), logging why once. */
static void rec_stop_locked(struct recorder *rec, enum recorder_state state, const char *why)
{
    if (rec->stats.state != RECORDER_RECORDING)
        return;
    rec->stats.state = state;
    snprintf(rec->stop_reason, sizeof rec->stop_reason, "%s", why);
    if (state == RECORDER_FAILED)
        log_error("recording to %s stopped: %s", rec->dir, why);
    else
        log_warn("recording to %s stopped: %s", rec->dir, why);
}

/* Writes the frameset of slot (unless recording already stopped) and
 * checks the limits. */
static void rec_write_slot(struct recorder *rec, struct rec_slot *slot)
{
    pthread_mutex_lock(&rec->lock);
    bool recording = rec->stats.state == RECORDER_RECORDING;
    pthread_mutex_unlock(&rec->lock);
    if (!recording || slot->set.count == 0)
        return;
    int64_t t = slot->set.frames[0].capture_wall_us;
    if (!rec->first_us)
        rec->first_us = t;
    int64_t bytes = 0;
    char err[512] = "";
    int rc = rec_write_set(rec, &slot->set, &bytes, err, sizeof err);
    pthread_mutex_lock(&rec->lock);
    rec->stats.bytes += bytes;
    if (rc != 0) {
        rec_stop_locked(rec, RECORDER_FAILED, err);
    } else {
        rec->stats.framesets++;
        rec->stats.seconds = (double)(t - rec->first_us) / 1e6;
        char why[128];
        if (rec->stats.bytes >= rec->limits.max_bytes) {
            snprintf(why, sizeof why, "reached --record-max-mb (%lld MiB)",
                     (long long)(rec->limits.max_bytes >> 20));
            rec_stop_locked(rec, RECORDER_LIMIT, why);
        } else if (t - rec->first_us >= rec->limits.max_seconds * 1000000) {
            snprintf(why, sizeof why, "reached --record-max-seconds (%lld s)",
                     (long long)rec->limits.max_seconds);
            rec_stop_locked(rec, RECORDER_LIMIT, why);
        }
    }
    pthread_mutex_unlock(&rec->lock);
}

/* The writer: takes framesets off the queue until stopping and empty. */
static void *rec_thread(void *arg)
{
    struct recorder *rec = arg;
    pthread_mutex_lock(&rec->lock);
    for (;;) {
        while (rec->count == 0 && !rec->stopping)
            pthread_cond_wait(&rec->cond, &rec->lock);
        if (rec->count == 0)
            break;
        struct rec_slot *slot = &rec->slots[rec->head];
        pthread_mutex_unlock(&rec->lock);
        rec_write_slot(rec, slot);
        pthread_mutex_lock(&rec->lock);
        rec->head = (rec->head + 1) % RECORDER_QUEUE;
        rec->count--;
    }
    pthread_mutex_unlock(&rec->lock);
    return NULL;
}

/* ---- lifetime ---- */

/* Creates dir, or accepts it when it exists and is empty. */
static int rec_make_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0755) == 0)
        return 0;
    if (errno != EEXIST) {
        rec_errf(err, errlen, "--record %s: cannot create the directory: %s", dir,
                 strerror(errno));
        return -1;
    }
    DIR *d = opendir(dir);
    if (!d) {
        rec_errf(err, errlen, "--record %s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    if (!empty) {
        rec_errf(err, errlen, "--record %s: the directory is not empty (a recording never "
                 "overwrites another; name a new or empty directory)", dir);
        return -1;
    }
    return 0;
}

/* The sidecar's view of cam. */
static void rec_meta(const struct camera *cam, struct rgbd_meta *m)
{
    *m = (struct rgbd_meta){.mode = *camera_mode(cam), .depth_scale = camera_depth_scale(cam)};
    snprintf(m->name, sizeof m->name, "%s", camera_name(cam));
    snprintf(m->serial, sizeof m->serial, "%s", camera_serial(cam));
    snprintf(m->firmware, sizeof m->firmware, "%s", camera_firmware(cam));
    json_t *d = camera_describe(cam, false);
    const char *pid = json_string_value(json_object_get(d, "productId"));
    const char *usb = json_string_value(json_object_get(d, "usbType"));
    snprintf(m->product_id, sizeof m->product_id, "%s", pid ? pid : "");
    snprintf(m->usb_type, sizeof m->usb_type, "%s", usb ? usb : "");
    json_decref(d);
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        const struct cam_intrinsics *in = camera_intrinsics(cam, (enum cam_stream)s);
        if (in && in->width > 0) {
            m->intrinsics[s] = *in;
            m->has_intrinsics[s] = true;
        }
    }
}

struct recorder *recorder_new(const char *dir, const struct camera *cam,
                              const struct recorder_limits *limits, char *err, size_t errlen)
{
    if (!dir || !*dir || strlen(dir) >= sizeof ((struct recorder *)0)->dir) {
        rec_errf(err, errlen, "--record: the directory name is empty or too long");
        return NULL;
    }
    if (rec_make_dir(dir, err, errlen) != 0)
        return NULL;
    struct recorder *rec = calloc(1, sizeof *rec);
    if (!rec) {
        rec_errf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(rec->dir, sizeof rec->dir, "%s", dir);
    rec->limits = *limits;
    rec_meta(cam, &rec->meta);
    char why[512];
    if (rgbd_meta_write(dir, &rec->meta, NULL, why, sizeof why) != 0) {
        rec_errf(err, errlen, "--record %s", why);
        free(rec);
        return NULL;
    }
    pthread_mutex_init(&rec->lock, NULL);
    pthread_cond_init(&rec->cond, NULL);
    int rc = pthread_create(&rec->thread, NULL, rec_thread, rec);
    if (rc != 0) {
        rec_errf(err, errlen, "--record: cannot start the writer thread: %s", strerror(rc));
        pthread_cond_destroy(&rec->cond);
        pthread_mutex_destroy(&rec->lock);
        free(rec);
        return NULL;
    }
    log_info("recording to %s (at most %lld s, %lld MiB)", dir, (long long)limits->max_seconds,
             (long long)(limits->max_bytes >> 20));
    return rec;
}

void recorder_stats(struct recorder *rec, struct recorder_stats *out)
{
    pthread_mutex_lock(&rec->lock);
    *out = rec->stats;
    pthread_mutex_unlock(&rec->lock);
}

/* The sidecar's "recorded" member: what this recording holds. */
static json_t *rec_summary(struct recorder *rec)
{
    const struct recorder_stats *st = &rec->stats;
    json_t *frames = json_object();
    for (int s = 0; s < CAM_NSTREAMS; s++)
        if (st->frames[s])
            json_object_set_new(frames, cam_stream_name((enum cam_stream)s),
                                json_integer((json_int_t)st->frames[s]));
    json_t *j = json_pack("{s:I,s:o,s:I,s:I,s:f,s:s}", "framesets", (json_int_t)st->framesets,
                          "frames", frames, "dropped", (json_int_t)st->dropped, "bytes",
                          (json_int_t)st->bytes, "seconds", st->seconds, "state",
                          recorder_state_name(st->state));
    if (j && rec->stop_reason[0])
        json_object_set_new(j, "stopReason", json_string(rec->stop_reason));
    return j;
}

void recorder_free(struct recorder *rec)
{
    if (!rec)
        return;
    pthread_mutex_lock(&rec->lock);
    rec->stopping = true;
    pthread_cond_signal(&rec->cond);
    pthread_mutex_unlock(&rec->lock);
    pthread_join(rec->thread, NULL);
    for (int s = 0; s < CAM_NSTREAMS; s++)
        if (rec->lists[s])
            fclose(rec->lists[s]);
    if (rec->assoc)
        fclose(rec->assoc);
    json_t *summary = rec_summary(rec);
    char err[512];
    if (rgbd_meta_write(rec->dir, &rec->meta, summary, err, sizeof err) != 0)
        log_error("recording: %s", err);
    json_decref(summary);
    log_info("recording to %s ended: %llu framesets, %llu dropped, %lld bytes", rec->dir,
             (unsigned long long)rec->stats.framesets, (unsigned long long)rec->stats.dropped,
             (long long)rec->stats.bytes);
    for (size_t i = 0; i < RECORDER_QUEUE; i++)
        for (int s = 0; s < CAM_NSTREAMS; s++)
            free(rec->slots[i].buf[s]);
    pthread_cond_destroy(&rec->cond);
    pthread_mutex_destroy(&rec->lock);
    free(rec);
}
