/* test_robot_replay.c - recording and replay end to end (--record DIR,
 * --camera replay:DIR): porthole-robot records the simulator for 3 s while
 * its REST API holds colour and depth and reports the point cloud; a
 * second robot replays that recording (recording it again, and streaming
 * it to a viewer whose telemetry reports the recording); then every
 * replayed depth frame must be the recorded one bit for bit, and the point
 * cloud's bounds reported live and in replay must be those of the
 * recorded frame of the same capture time. A TUM RGB-D directory written
 * by the test replays in TUM's units and intrinsics. Bad input (a missing or empty
 * directory, --record into a directory in use) stops the robot at start
 * with one line and exit status 1.
 *
 * Each robot runs in the loopback-only namespace with --api-port 8000 (the
 * fixture of robotfix.h). Under PORTHOLE_SLOW (ASan) waits are longer and
 * the simulator renders fewer frames and the replay may skip frames it is
 * late for; the assertions are the same. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "robot/pngio.h"
#include "robot/pointcloud.h"
#include "robot/rgbd_dir.h"
#include "robotfix.h"

#define API_PORT 8000
#define RECORD_MS 3000 /* three times that under PORTHOLE_SLOW */
/* The robot's point cloud samples every 4th pixel (api_internal.h). */
#define PC_STEP 4
#define MAX_SAMPLES 400

static char base[64];           /* the test's temporary directory */
static char live_dir[128], replay_dir[128], replay_spec[160], tum_dir[128], tum_spec[160];

static const char *live_args[] = {"--api-port", "8000", "--record", live_dir, NULL};
static const char *replay_args[] = {"--api-port", "8000", "--camera", replay_spec,
                                    "--record",   replay_dir, NULL};
static const struct robotfix_config live_config = {.robot_args = live_args};
static const struct robotfix_config replay_config = {.robot_args = replay_args};
static const char *tum_args[] = {"--api-port", "8000", "--camera", tum_spec, NULL};
static const struct robotfix_config tum_config = {.robot_args = tum_args};

/* A point cloud status as the robot reported it. */
struct sample {
    int64_t ms;     /* capture_time_ms */
    double b[6];    /* bounds min xyz, max xyz */
};
static struct sample live_samples[MAX_SAMPLES], replay_samples[MAX_SAMPLES];
static size_t nlive, nreplay;
static char live_serial[32];

/* ---- HTTP ---- */

/* One request to the robot's API, answered want_status with a JSON body
 * (the caller owns it). */
static json_t *api(const char *method, const char *path, const char *body, int want_status)
{
    struct http_response r;
    if (http_request(API_PORT, method, path, NULL, body, robotfix_wait(5000), &r) != 0)
        fail_msg("%s %s: no response from the robot's API", method, path);
    if (r.status != want_status) {
        print_error("%s %s: status %d, expected %d; body: %.600s\n", method, path, r.status,
                    want_status, r.body);
        http_response_free(&r);
        fail();
    }
    json_t *j = json_loadb(r.body, r.body_len, JSON_DECODE_ANY, NULL);
    http_response_free(&r);
    assert_non_null(j);
    return j;
}

static const char *devpath(const char *serial, const char *rest)
{
    static char p[256];
    snprintf(p, sizeof p, "/api/devices/%s%s", serial, rest);
    return p;
}

/* The device's serial (its device_id). */
static void read_serial(char *out, size_t len)
{
    json_t *list = api("GET", "/api/devices/", NULL, 200);
    const char *id = json_string_value(json_object_get(json_array_get(list, 0), "device_id"));
    assert_non_null(id);
    snprintf(out, len, "%s", id);
    json_decref(list);
}

/* Holds colour and depth through stream/start and turns the point cloud on. */
static void start_streams(const char *serial)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"configs\":[{\"sensor_id\":\"%s-sensor-0\",\"stream_type\":\"depth\","
             "\"format\":\"z16\",\"resolution\":{\"width\":640,\"height\":480},\"framerate\":30},"
             "{\"sensor_id\":\"%s-sensor-1\",\"stream_type\":\"color\",\"format\":\"rgb8\","
             "\"resolution\":{\"width\":640,\"height\":480},\"framerate\":30}]}",
             serial, serial);
    json_decref(api("POST", devpath(serial, "/stream/start"), body, 200));
    json_decref(api("POST", devpath(serial, "/point_cloud/activate"), NULL, 200));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls the point cloud for ms milliseconds, keeping each new frame's
 * bounds in out. */
static size_t poll_point_cloud(const char *serial, int ms, struct sample *out)
{
    size_t n = 0;
    int64_t end = now_ms() + ms;
    while (now_ms() < end && n < MAX_SAMPLES) {
        json_t *st = api("GET", devpath(serial, "/point_cloud/status"), NULL, 200);
        json_t *bounds = json_object_get(st, "bounds");
        json_t *t = json_object_get(st, "capture_time_ms");
        if (bounds && json_is_integer(t) && (n == 0 || out[n - 1].ms != json_integer_value(t))) {
            struct sample *s = &out[n++];
            s->ms = json_integer_value(t);
            for (int i = 0; i < 3; i++) {
                s->b[i] = json_number_value(json_array_get(json_object_get(bounds, "min"), i));
                s->b[3 + i] = json_number_value(json_array_get(json_object_get(bounds, "max"), i));
            }
        }
        json_decref(st);
        usleep(20000);
    }
    return n;
}

/* ---- the tests ---- */

static void test_the_simulator_is_recorded_for_three_seconds(void **state)
{
    (void)state;
    read_serial(live_serial, sizeof live_serial);
    start_streams(live_serial);
    nlive = poll_point_cloud(live_serial, robotfix_wait(RECORD_MS), live_samples);
    assert_true(nlive >= 5);
    /* The robot says it records (telemetry carries the same figures). */
    assert_true(access(live_dir, F_OK) == 0);
}

static void test_the_recording_replays_as_the_recorded_camera(void **state)
{
    char serial[32];
    read_serial(serial, sizeof serial);
    assert_string_equal(serial, live_serial);
    json_t *d = api("GET", devpath(serial, ""), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(d, "name")),
                        "Intel RealSense D435 (simulated)");
    json_decref(d);
    /* Only what was recorded: colour and depth, no infrared. */
    json_t *sensors = api("GET", devpath(serial, "/sensors/"), NULL, 200);
    char *text = json_dumps(sensors, JSON_COMPACT);
    assert_non_null(strstr(text, "depth"));
    assert_non_null(strstr(text, "color"));
    assert_null(strstr(text, "infrared"));
    free(text);
    json_decref(sensors);
    start_streams(serial);
    nreplay = poll_point_cloud(serial, robotfix_wait(RECORD_MS), replay_samples);
    assert_true(nreplay >= 5);

    /* A viewer watches the replay over WebRTC, and its telemetry tells how
     * this robot's own recording (--record) goes. */
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 10, robotfix_wait(15000));
    json_t *t = rtcpeer_wait_telemetry(v, robotfix_wait(5000));
    assert_non_null(t);
    json_t *rec = json_object_get(t, "recording");
    assert_string_equal(json_string_value(json_object_get(rec, "state")), "recording");
    assert_string_equal(json_string_value(json_object_get(rec, "dir")), replay_dir);
    assert_true(robotfix_telemetry_int(t, "recording.framesets") > 0);
    assert_true(robotfix_telemetry_int(t, "recording.dropped") >= 0);
}

/* The length of one loop of a replay of l: the recording and one frame
 * period (docs/CAMERAS.md). */
static int64_t loop_us(const struct rgbd_list *l, int fps)
{
    return l->stamp_us[l->n - 1] - l->stamp_us[0] + 1000000 / fps;
}

/* The recorded depth frame of dir whose capture time, in any loop, is ms
 * (the point cloud reports milliseconds), deprojected as the robot does.
 * Returns false when the recording has no frame of that time. */
static bool recorded_bounds(const char *dir, const struct rgbd_list *l, const struct rgbd_meta *m,
                            int64_t ms, int64_t loop, double b[6])
{
    for (size_t i = 0; i < l->n; i++) {
        int64_t k = (ms * 1000 - l->stamp_us[i]) / loop;
        if (k < 0 || (l->stamp_us[i] + k * loop) / 1000 != ms)
            continue;
        static uint16_t depth[640 * 480];
        char path[512], err[512];
        snprintf(path, sizeof path, "%s/%s", dir, l->file[i]);
        if (pngio_read(path, CAM_FORMAT_Z16, 640, 480, (uint8_t *)depth, err, sizeof err) != 0)
            fail_msg("%s", err);
        struct cam_frame f = {.stream = CAM_DEPTH, .format = CAM_FORMAT_Z16, .width = 640,
                              .height = 480, .stride = 1280, .data = (uint8_t *)depth};
        struct pointcloud_stats st;
        pointcloud_measure(&f, &m->intrinsics[CAM_DEPTH], m->depth_scale, PC_STEP, &st);
        memcpy(b, st.min, sizeof st.min);
        memcpy(b + 3, st.max, sizeof st.max);
        return true;
    }
    return false;
}

/* Every sample must be the bounds of the recorded frame of its time;
 * returns how many were checked. */
static size_t check_samples(const char *dir, const struct sample *s, size_t n,
                            const struct rgbd_list *l, const struct rgbd_meta *m, const char *what)
{
    size_t checked = 0;
    int64_t loop = loop_us(l, m->mode.fps ? m->mode.fps : RGBD_TUM_FPS);
    for (size_t i = 0; i < n; i++) {
        double want[6];
        if (!recorded_bounds(dir, l, m, s[i].ms, loop, want))
            continue;
        for (int k = 0; k < 6; k++)
            if (s[i].b[k] != want[k])
                fail_msg("%s point cloud at %lld ms: bound %d is %.17g; the recorded frame "
                         "gives %.17g", what, (long long)s[i].ms, k, s[i].b[k], want[k]);
        checked++;
    }
    return checked;
}

static void test_replayed_depth_and_point_cloud_equal_the_live_run(void **state)
{
    (void)state;
    struct rgbd_meta meta;
    struct rgbd_list live, rep;
    char err[512];
    assert_int_equal(rgbd_meta_read(live_dir, &meta, err, sizeof err), 0);
    assert_int_equal(rgbd_list_read(live_dir, CAM_DEPTH, &live, err, sizeof err), 0);
    assert_int_equal(rgbd_list_read(replay_dir, CAM_DEPTH, &rep, err, sizeof err), 0);
    /* 3 s at 30 fps; far fewer under ASan or load, never a handful. */
    assert_true(live.n >= 10);
    assert_true(rep.n >= 10);

    /* Each replayed frame carries its recorded capture time plus one loop
     * (the recording and one frame period) per loop completed. */
    int64_t loop = loop_us(&live, meta.mode.fps);
    static uint16_t a[640 * 480], b[640 * 480];
    size_t same = 0;
    for (size_t i = 0; i < rep.n; i++) {
        int64_t t = rep.stamp_us[i];
        while (t > live.stamp_us[live.n - 1])
            t -= loop;
        size_t j = 0;
        while (j < live.n && live.stamp_us[j] != t)
            j++;
        if (j == live.n)
            fail_msg("replayed depth %s has no recorded frame at its time", rep.file[i]);
        char pa[512], pb[512];
        snprintf(pa, sizeof pa, "%s/%s", live_dir, live.file[j]);
        snprintf(pb, sizeof pb, "%s/%s", replay_dir, rep.file[i]);
        if (pngio_read(pa, CAM_FORMAT_Z16, 640, 480, (uint8_t *)a, err, sizeof err) != 0 ||
            pngio_read(pb, CAM_FORMAT_Z16, 640, 480, (uint8_t *)b, err, sizeof err) != 0)
            fail_msg("%s", err);
        if (memcmp(a, b, sizeof a) != 0)
            fail_msg("replayed depth %s differs from recorded %s", rep.file[i], live.file[j]);
        same++;
    }
    assert_int_equal(same, rep.n);

    /* The point cloud, live and replayed, is the recorded frame's. */
    size_t lc = check_samples(live_dir, live_samples, nlive, &live, &meta, "live");
    size_t rc = check_samples(live_dir, replay_samples, nreplay, &live, &meta, "replayed");
    print_message("%zu depth frames replayed bit for bit; point cloud bounds checked: %zu live, "
                  "%zu replayed\n", same, lc, rc);
    assert_true(lc >= 3);
    assert_true(rc >= 3);
    for (size_t i = 0; i < nlive; i++)
        for (size_t k = 0; k < nreplay; k++)
            if (live_samples[i].ms == replay_samples[k].ms)
                assert_memory_equal(live_samples[i].b, replay_samples[k].b, sizeof(double) * 6);
    rgbd_list_clear(&live);
    rgbd_list_clear(&rep);
}

/* ---- a TUM RGB-D directory ---- */

#define TUM_T0 1305031102175304LL
#define TUM_FRAMES 15

/* Writes a TUM-layout directory into tum_dir: colour and depth 640x480,
 * depth 8 ms after colour as in TUM's unsynchronised streams, depth in
 * TUM's units (5000 a metre) on a slanted plane with a hole. */
static int write_tum(void)
{
    char path[256], line[128], err[256];
    static uint16_t depth[640 * 480];
    static uint8_t rgb[640 * 480 * 3];
    snprintf(path, sizeof path, "%s/rgb", tum_dir);
    if (mkdir(tum_dir, 0755) != 0 || mkdir(path, 0755) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/depth", tum_dir);
    if (mkdir(path, 0755) != 0)
        return -1;
    char rgb_txt[256], depth_txt[256];
    snprintf(rgb_txt, sizeof rgb_txt, "%s/rgb.txt", tum_dir);
    snprintf(depth_txt, sizeof depth_txt, "%s/depth.txt", tum_dir);
    FILE *fr = fopen(rgb_txt, "w"), *fd = fopen(depth_txt, "w");
    if (!fr || !fd)
        return -1;
    fputs("# color images\n# file: 'rgbd_dataset_porthole_test.bag'\n# timestamp filename\n", fr);
    fputs("# depth maps\n# file: 'rgbd_dataset_porthole_test.bag'\n# timestamp filename\n", fd);
    for (int i = 0; i < TUM_FRAMES; i++) {
        for (int y = 0; y < 480; y++)
            for (int x = 0; x < 640; x++)
                depth[y * 640 + x] = (x > 300 && x < 340 && y > 200 && y < 260)
                                         ? 0
                                         : (uint16_t)(5000 + 20 * x + 10 * y + 250 * i);
        memset(rgb, 20 * i, sizeof rgb);
        char sc[32], sd[32], name[64];
        rgbd_stamp(TUM_T0 + i * 33333, sc, sizeof sc);
        rgbd_stamp(TUM_T0 + i * 33333 + 8000, sd, sizeof sd);
        struct cam_frame c = {.stream = CAM_COLOR, .format = CAM_FORMAT_RGB8, .width = 640,
                              .height = 480, .stride = 1920, .data = rgb};
        struct cam_frame d = {.stream = CAM_DEPTH, .format = CAM_FORMAT_Z16, .width = 640,
                              .height = 480, .stride = 1280, .data = (uint8_t *)depth};
        snprintf(name, sizeof name, "rgb/%s.png", sc);
        snprintf(path, sizeof path, "%s/%s", tum_dir, name);
        if (pngio_write(path, &c, 1, err, sizeof err) < 0)
            return -1;
        snprintf(line, sizeof line, "%s %s\n", sc, name);
        fputs(line, fr);
        snprintf(name, sizeof name, "depth/%s.png", sd);
        snprintf(path, sizeof path, "%s/%s", tum_dir, name);
        if (pngio_write(path, &d, 1, err, sizeof err) < 0)
            return -1;
        snprintf(line, sizeof line, "%s %s\n", sd, name);
        fputs(line, fd);
    }
    fclose(fr);
    fclose(fd);
    return 0;
}

static void test_a_tum_directory_replays_in_tum_units(void **state)
{
    (void)state;
    char serial[32];
    read_serial(serial, sizeof serial);
    json_t *d = api("GET", devpath(serial, ""), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(d, "name")), "TUM RGB-D dataset");
    json_decref(d);
    start_streams(serial);
    struct sample s[MAX_SAMPLES];
    size_t n = poll_point_cloud(serial, robotfix_wait(1500), s);
    /* Every bound is the file's depth at 1/5000 m a unit through TUM's
     * pinhole (525, 319.5, 239.5), as the test computes it. */
    struct rgbd_meta meta;
    struct rgbd_list l;
    char err[256];
    assert_int_equal(rgbd_meta_read(tum_dir, &meta, err, sizeof err), 1);
    assert_true(meta.depth_scale == 1.0 / 5000);
    assert_int_equal(rgbd_list_read(tum_dir, CAM_DEPTH, &l, err, sizeof err), 0);
    size_t checked = check_samples(tum_dir, s, n, &l, &meta, "TUM replay");
    assert_true(checked >= 3);
    rgbd_list_clear(&l);
}

/* Runs porthole-robot with args; returns its exit status and its output
 * (stdout and stderr, malloc'd) in *out. */
static int run_robot(const char *args, char **out)
{
    const char *bin = getenv("PORTHOLE_ROBOT");
    assert_non_null(bin);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' --api-port 0 --cloud-url ws://127.0.0.1:1/ws %s 2>&1", bin,
             args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 65536, n = 0;
    *out = calloc(cap, 1);
    size_t got;
    while ((got = fread(*out + n, 1, cap - 1 - n, p)) > 0)
        n += got;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The robot must exit 1 with a line that holds want. */
static void expect_start_error(const char *args, const char *want)
{
    char *out;
    int rc = run_robot(args, &out);
    if (rc != 1 || !strstr(out, want))
        fail_msg("porthole-robot %s: exit %d, expected 1 and '%s'; it printed: %s", args, rc,
                 want, out);
    free(out);
}

static void test_bad_recordings_stop_the_robot_at_start(void **state)
{
    (void)state;
    char args[512], empty[128];
    expect_start_error("--camera replay:/nonexistent/recording",
                       "replay:/nonexistent/recording: No such file or directory");
    snprintf(empty, sizeof empty, "%s/empty", base);
    assert_int_equal(mkdir(empty, 0755), 0);
    snprintf(args, sizeof args, "--camera replay:%s", empty);
    expect_start_error(args, "holds no recording");
    /* A recording is never written over. */
    snprintf(args, sizeof args, "--record %s", live_dir);
    expect_start_error(args, "is not empty");
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    snprintf(base, sizeof base, "/tmp/porthole-replay-XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(live_dir, sizeof live_dir, "%s/live", base);
    snprintf(replay_dir, sizeof replay_dir, "%s/replay", base);
    snprintf(replay_spec, sizeof replay_spec, "replay:%s", live_dir);
    snprintf(tum_dir, sizeof tum_dir, "%s/tum", base);
    snprintf(tum_spec, sizeof tum_spec, "replay:%s", tum_dir);
    if (write_tum() != 0) {
        perror("writing the TUM directory");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_the_simulator_is_recorded_for_three_seconds,
                                                 robotfix_setup, robotfix_teardown,
                                                 (void *)&live_config),
        cmocka_unit_test_prestate_setup_teardown(test_the_recording_replays_as_the_recorded_camera,
                                                 robotfix_setup, robotfix_teardown,
                                                 (void *)&replay_config),
        cmocka_unit_test(test_replayed_depth_and_point_cloud_equal_the_live_run),
        cmocka_unit_test_prestate_setup_teardown(test_a_tum_directory_replays_in_tum_units,
                                                 robotfix_setup, robotfix_teardown,
                                                 (void *)&tum_config),
        cmocka_unit_test(test_bad_recordings_stop_the_robot_at_start),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (!failed)
        nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return failed;
}
