/* camera_sim.c - the simulated RealSense D435: renders sim_scene on its own
 * capture thread at the mode's rate.
 *
 * Options (id: sensor, range, default):
 *   exposure        Stereo Module  1..165000 us, 8500   infrared brightness
 *   gain            Stereo Module  16..248, 16          infrared brightness
 *   laser_power     Stereo Module  0..360 mW step 30, 150  dot intensity
 *   emitter_enabled Stereo Module  0..1, 1              0 removes the dots
 *   depth_units     Stereo Module  0.001 m, read-only
 *   color_exposure  RGB Camera     1..10000 (100 us), 156  color brightness
 *   color_gain      RGB Camera     0..128, 64           color brightness
 *   brightness      RGB Camera     -64..64, 0           added to color
 *   contrast        RGB Camera     0..100, 50           color contrast
 * Exposure and gain are linear: twice the exposure, twice the light. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "robot/camera_backend.h"
#include "robot/marker.h"
#include "robot/sim_scene.h"

enum {
    SIM_OPT_EXPOSURE,
    SIM_OPT_GAIN,
    SIM_OPT_LASER_POWER,
    SIM_OPT_EMITTER,
    SIM_OPT_DEPTH_UNITS,
    SIM_OPT_COLOR_EXPOSURE,
    SIM_OPT_COLOR_GAIN,
    SIM_OPT_BRIGHTNESS,
    SIM_OPT_CONTRAST,
    SIM_NOPTIONS
};

/* In the order of the enum above. */
static const struct cam_option_desc sim_options[SIM_NOPTIONS] = {
    {"exposure", "Exposure", "Depth sensor exposure time", "microseconds", 1, 165000, 1, 8500,
     false, 0},
    {"gain", "Gain", "Depth sensor analog gain", "", 16, 248, 1, 16, false, 0},
    {"laser_power", "Laser Power", "Power of the infrared dot projector", "milliwatts", 0, 360,
     30, 150, false, 0},
    {"emitter_enabled", "Emitter Enabled", "Infrared dot projector on (1) or off (0)", "", 0, 1,
     1, 1, false, 0},
    {"depth_units", "Depth Units", "Metres per unit of a depth (Z16) value", "metres", 0.000001,
     0.01, 0.000001, 0.001, true, 0},
    {"color_exposure", "Exposure", "Color sensor exposure time", "100 microseconds", 1, 10000, 1,
     156, false, 1},
    {"color_gain", "Gain", "Color sensor gain", "", 0, 128, 1, 64, false, 1},
    {"brightness", "Brightness", "Offset added to color values", "", -64, 64, 1, 0, false, 1},
    {"contrast", "Contrast", "Color contrast, 50 leaves it unchanged", "percent", 0, 100, 1, 50,
     false, 1},
};

static const int sim_resolutions[][2] = {{640, 480}, {1280, 720}, {424, 240}};
static const int sim_rates[] = {6, 15, 30, 60};

struct sim_camera {
    struct sim_scene *scene;
    uint8_t *rgb, *ir[2];
    uint16_t *depth;
    pthread_t thread;
    pthread_mutex_t lock; /* guards stopping; the condition wakes the thread to stop */
    pthread_cond_t cond;
    bool stopping;
    uint64_t number;
};

/* 64-bit FNV-1a: a stable, dependency-free hash for the serial number. */
static uint64_t sim_fnv1a(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* 12 digits, like a D435's serial, the same on every run on this host:
 * robot ids derive from it. From /etc/machine-id, else the host name. */
static void sim_serial(char *out, size_t outlen)
{
    char buf[256] = "";
    size_t n = 0;
    FILE *f = fopen("/etc/machine-id", "r");
    if (f) {
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
            n--;
    }
    if (n == 0) {
        if (gethostname(buf, sizeof buf - 1) != 0)
            snprintf(buf, sizeof buf, "porthole");
        buf[sizeof buf - 1] = '\0';
        n = strlen(buf);
    }
    snprintf(out, outlen, "%012llu",
             (unsigned long long)(sim_fnv1a(buf, n) % 1000000000000ull));
}

static void sim_camera_free(struct sim_camera *sc)
{
    sim_scene_free(sc->scene);
    free(sc->rgb);
    free(sc->depth);
    free(sc->ir[0]);
    free(sc->ir[1]);
    free(sc);
}

static int sim_open(struct camera *cam, const char *arg, const struct cam_mode *mode, char *err,
                    size_t errlen)
{
    (void)arg; /* CAM_ARG_NONE: always NULL */
    cam->mode = *mode;
    cam->streams = CAM_MASK_ALL;

    snprintf(cam->name, sizeof cam->name, "Intel RealSense D435 (simulated)");
    sim_serial(cam->serial, sizeof cam->serial);
    snprintf(cam->firmware, sizeof cam->firmware, "5.16.0.1");
    snprintf(cam->product_id, sizeof cam->product_id, "0B07");
    snprintf(cam->usb_type, sizeof cam->usb_type, "3.2");
    snprintf(cam->physical_port, sizeof cam->physical_port, "sim");
    cam->depth_scale = 0.001;
    cam->sensor_names[0] = "Stereo Module";
    cam->sensor_names[1] = "RGB Camera";
    cam->nsensors = 2;
    cam->stream_sensor[CAM_COLOR] = 1;
    cam->stream_sensor[CAM_DEPTH] = cam->stream_sensor[CAM_INFRARED1] =
        cam->stream_sensor[CAM_INFRARED2] = 0;
    cam->stream_format[CAM_COLOR] = CAM_FORMAT_RGB8;
    cam->stream_format[CAM_DEPTH] = CAM_FORMAT_Z16;
    cam->stream_format[CAM_INFRARED1] = cam->stream_format[CAM_INFRARED2] = CAM_FORMAT_Y8;
    cam->options = sim_options;
    cam->noptions = SIM_NOPTIONS;

    /* Every stream is rendered from the one viewpoint of the scene, so the
     * color and depth intrinsics are the same (a real D435 has an RGB
     * camera beside the left imager and would need an extrinsic). */
    double f = sim_scene_focal(mode->width);
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        struct cam_intrinsics *in = &cam->intrinsics[s];
        in->width = mode->width;
        in->height = mode->height;
        in->ppx = mode->width / 2.0;
        in->ppy = mode->height / 2.0;
        in->fx = in->fy = f;
        in->model = "brown-conrady";
    }
    /* Colour and the left imager share the depth viewpoint (identity); the
     * right imager sits SIM_BASELINE_M to the right, so a depth point is
     * that much further left in its frame. */
    cam->extrinsics[CAM_INFRARED2].translation[0] = -SIM_BASELINE_M;

    struct sim_camera *sc = calloc(1, sizeof *sc);
    size_t n = (size_t)mode->width * mode->height;
    if (sc) {
        sc->scene = sim_scene_new(mode->width, mode->height);
        sc->rgb = malloc(3 * n);
        sc->depth = malloc(n * sizeof *sc->depth);
        sc->ir[0] = malloc(n);
        sc->ir[1] = malloc(n);
    }
    if (!sc || !sc->scene || !sc->rgb || !sc->depth || !sc->ir[0] || !sc->ir[1]) {
        if (sc)
            sim_camera_free(sc);
        snprintf(err, errlen, "out of memory for a %dx%d simulated camera", mode->width,
                 mode->height);
        return -1;
    }
    cam->impl = sc;
    return 0;
}

static void sim_close(struct camera *cam)
{
    sim_camera_free(cam->impl);
    cam->impl = NULL;
}

static int64_t sim_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static void sim_frame(struct cam_frameset *set, enum cam_stream s, enum cam_format fmt,
                      const struct cam_mode *m, size_t bpp, const void *data,
                      const struct cam_frame *stamp)
{
    struct cam_frame *f = &set->frames[set->count++];
    *f = *stamp;
    f->stream = s;
    f->format = fmt;
    f->width = m->width;
    f->height = m->height;
    f->stride = bpp * (size_t)m->width;
    f->data = data;
}

/* Renders the streams in mask at the given capture instant and delivers them. */
static void sim_capture(struct camera *cam, unsigned mask, const struct timespec *wall,
                        const struct timespec *mono)
{
    struct sim_camera *sc = cam->impl;
    const struct cam_mode *m = &cam->mode;
    double opt[CAM_MAX_OPTIONS];
    camera_options_snapshot(cam, opt);

    struct sim_render r = {
        .rgb = (mask & CAM_MASK(CAM_COLOR)) ? sc->rgb : NULL,
        .rgb_stride = 3 * (size_t)m->width,
        .depth = (mask & CAM_MASK(CAM_DEPTH)) ? sc->depth : NULL,
        .depth_stride = 2 * (size_t)m->width,
        .ir = {(mask & CAM_MASK(CAM_INFRARED1)) ? sc->ir[0] : NULL,
               (mask & CAM_MASK(CAM_INFRARED2)) ? sc->ir[1] : NULL},
        .ir_stride = (size_t)m->width,
        .color_gain = (float)(opt[SIM_OPT_COLOR_EXPOSURE] / 156.0 * opt[SIM_OPT_COLOR_GAIN] / 64.0),
        .brightness = (float)opt[SIM_OPT_BRIGHTNESS],
        .contrast = (float)opt[SIM_OPT_CONTRAST],
        .ir_gain = (float)(opt[SIM_OPT_EXPOSURE] / 8500.0 * opt[SIM_OPT_GAIN] / 16.0),
        .dot_power = opt[SIM_OPT_EMITTER] != 0 ? (float)(opt[SIM_OPT_LASER_POWER] / 150.0) : 0,
    };
    /* Scene time is the monotonic capture time, so motion stays continuous
     * across stops and skipped ticks. */
    struct sim_objects objs;
    sim_scene_objects_at(sim_ns(mono) / 1e9, &objs);
    sim_scene_render(sc->scene, &objs, &r);

    struct cam_frame stamp = {
        .number = ++sc->number,
        .capture_wall_us = sim_ns(wall) / 1000,
        .capture_mono_us = sim_ns(mono) / 1000,
    };
    struct cam_frameset set = {0};
    if (r.rgb) {
        marker_stamp_rgb(sc->rgb, m->width, m->height, r.rgb_stride,
                         (uint32_t)((uint64_t)(stamp.capture_wall_us / 1000) & 0xffffffffu));
        sim_frame(&set, CAM_COLOR, CAM_FORMAT_RGB8, m, 3, sc->rgb, &stamp);
    }
    if (r.depth)
        sim_frame(&set, CAM_DEPTH, CAM_FORMAT_Z16, m, 2, sc->depth, &stamp);
    if (r.ir[0])
        sim_frame(&set, CAM_INFRARED1, CAM_FORMAT_Y8, m, 1, sc->ir[0], &stamp);
    if (r.ir[1])
        sim_frame(&set, CAM_INFRARED2, CAM_FORMAT_Y8, m, 1, sc->ir[1], &stamp);
    cam->fn(cam->user, &set);
}

/* The capture thread. Ticks at absolute monotonic deadlines, so the rate
 * does not drift with render time; a late tick skips the deadlines it
 * missed instead of bursting to catch up. Waiting on the condition (whose
 * clock is CLOCK_MONOTONIC) rather than clock_nanosleep lets stop wake it
 * at once. With an empty mask it keeps ticking without rendering. */
static void *sim_thread(void *arg)
{
    struct camera *cam = arg;
    struct sim_camera *sc = cam->impl;
    const int64_t period = 1000000000 / cam->mode.fps;
    struct timespec mono, wall;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    int64_t next = sim_ns(&mono);

    pthread_mutex_lock(&sc->lock);
    while (!sc->stopping) {
        pthread_mutex_unlock(&sc->lock);
        unsigned mask = atomic_load(&cam->mask);
        if (mask) {
            clock_gettime(CLOCK_REALTIME, &wall);
            clock_gettime(CLOCK_MONOTONIC, &mono);
            sim_capture(cam, mask, &wall, &mono);
        }
        clock_gettime(CLOCK_MONOTONIC, &mono);
        int64_t now = sim_ns(&mono);
        next += period;
        if (next <= now)
            next += ((now - next) / period + 1) * period;
        struct timespec deadline = {(time_t)(next / 1000000000), (long)(next % 1000000000)};
        pthread_mutex_lock(&sc->lock);
        while (!sc->stopping &&
               pthread_cond_timedwait(&sc->cond, &sc->lock, &deadline) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&sc->lock);
    return NULL;
}

static int sim_start(struct camera *cam, char *err, size_t errlen)
{
    struct sim_camera *sc = cam->impl;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sc->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&sc->lock, NULL);
    sc->stopping = false;
    sc->number = 0;
    int rc = pthread_create(&sc->thread, NULL, sim_thread, cam);
    if (rc != 0) {
        pthread_cond_destroy(&sc->cond);
        pthread_mutex_destroy(&sc->lock);
        snprintf(err, errlen, "cannot start the capture thread: %s", strerror(rc));
        return -1;
    }
    return 0;
}

static void sim_stop(struct camera *cam)
{
    struct sim_camera *sc = cam->impl;
    pthread_mutex_lock(&sc->lock);
    sc->stopping = true;
    pthread_cond_signal(&sc->cond);
    pthread_mutex_unlock(&sc->lock);
    pthread_join(sc->thread, NULL);
    pthread_cond_destroy(&sc->cond);
    pthread_mutex_destroy(&sc->lock);
}

const struct camera_ops camera_sim_ops = {
    .name = "sim",
    .arg = CAM_ARG_NONE,
    .usage = "sim",
    .modes = {.resolutions = sim_resolutions,
              .nresolutions = sizeof sim_resolutions / sizeof sim_resolutions[0],
              .rates = sim_rates,
              .nrates = sizeof sim_rates / sizeof sim_rates[0]},
    .open = sim_open,
    .close = sim_close,
    .start = sim_start,
    .stop = sim_stop,
};
