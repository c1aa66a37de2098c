/* camera_bench.c - porthole-robot's CPU per camera source, with one viewer
 * of color at 640x480 and 30 fps.
 *
 * Usage: camera_bench [--window SECONDS] [--replay]
 * For each source (the simulator; a webcam-sized GStreamer source: a
 * moving test pattern in YUY2, the raw format of a USB webcam, converted
 * to RGB as a real one is; with --replay, a recording of the simulator
 * replayed when the robot has a "replay:" backend) it starts
 * porthole-cloud ($PORTHOLE_CLOUD) and porthole-robot ($PORTHOLE_ROBOT) and
 * one C viewer (tests/support/rtcpeer.c), waits for 30 decoded frames and
 * 2 s more, then measures the robot's CPU (utime + stime from /proc) and
 * the viewer's decoded frame rate over the window (default 10 s). One JSON
 * line per source on stdout:
 *   {"bench":"camera-cpu","source":"sim","spec":"sim","cpu_pct_of_core":..,
 *    "viewer_fps":..,"window_s":..}
 * or the same with "error". Run it inside a network namespace with only
 * lo (bench/run.sh does, through tests/netns-run.sh). Asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <gst/gst.h>

#include "cloud-load/procstat.h"
#include "harness.h"
#include "rtcpeer.h"

#define GST_WEBCAM                                                                           \
    "gst:videotestsrc is-live=true pattern=smpte horizontal-speed=4 ! "                      \
    "video/x-raw,format=YUY2,width=640,height=480,framerate=30/1"

static void emit_error(const char *source, const char *spec, const char *error)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "bench", "camera-cpu", "source", source,
                          "spec", spec, "error", error);
    char *text = json_dumps(j, JSON_COMPACT);
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    json_decref(j);
}

/* Starts a robot on cloud with spec and extra args (NULL-terminated, may
 * be NULL), waits until it is listed. Returns 0, or -1 (nothing left). */
static int start_robot(struct cloud *cloud, struct proc *robot, const char *id, const char *spec,
                       const char *const *extra)
{
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", cloud->port);
    const char *args[32] = {"--cloud-url", url, "--robot-id", id, "--ice-allow", "127.0.0.1",
                            "--camera", spec, "--width", "640", "--height", "480", "--fps", "30",
                            "--api-port", "0", "--log-level", "warn"};
    size_t n = 18;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    if (harness_start_robot(robot, args) != 0)
        return -1;
    if (!harness_robot_listed(cloud->port, id, 20000)) {
        harness_proc_kill(robot);
        return -1;
    }
    return 0;
}

/* One source: cloud, robot, one viewer, the measured window. */
static void bench_source(const char *source, const char *spec, const char *const *extra,
                         int window_s)
{
    struct cloud cloud = {0};
    struct proc robot = {0};
    if (harness_start(&cloud, NULL) != 0) {
        emit_error(source, spec, "porthole-cloud did not start");
        return;
    }
    const char *id = harness_name("bench-camera");
    if (start_robot(&cloud, &robot, id, spec, extra) != 0) {
        emit_error(source, spec, "porthole-robot did not start or register (see stderr)");
        harness_stop(&cloud);
        return;
    }
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", cloud.port);
    struct rtcpeer *v = rtcpeer_new(url, id, "color");
    if (!rtcpeer_wait_frames(v, 30, 20000)) {
        emit_error(source, spec, "no video within 20 s");
    } else {
        rtcpeer_run_for(2000);
        int64_t cpu0 = procstat_cpu_us(robot.pid), t0 = g_get_monotonic_time();
        uint64_t f0 = rtcpeer_frames(v);
        rtcpeer_run_for(window_s * 1000);
        int64_t cpu1 = procstat_cpu_us(robot.pid), t1 = g_get_monotonic_time();
        uint64_t f1 = rtcpeer_frames(v);
        double secs = (double)(t1 - t0) / 1e6;
        struct rtcpeer_video vi;
        rtcpeer_video(v, &vi);
        json_t *j = json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:i, s:i}", "bench", "camera-cpu",
                              "source", source, "spec", spec, "cpu_pct_of_core",
                              100.0 * (double)(cpu1 - cpu0) / (double)(t1 - t0), "viewer_fps",
                              (double)(f1 - f0) / secs, "window_s", secs, "width", vi.width,
                              "height", vi.height);
        char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(4));
        printf("%s\n", text);
        fflush(stdout);
        fprintf(stderr, "camera_bench: %s\n", text);
        free(text);
        json_decref(j);
    }
    rtcpeer_free(v);
    harness_proc_stop(&robot, 10000);
    harness_stop(&cloud);
}

/* True when porthole-robot --version lists a backend whose usage starts
 * with prefix ("replay:"). */
static bool robot_has_backend(const char *prefix)
{
    const char *robot = getenv("PORTHOLE_ROBOT");
    const char *argv[] = {robot ? robot : "porthole-robot", "--version", NULL};
    gchar *out = NULL;
    gint status = 0;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                      NULL, &status, NULL))
        return false;
    /* "camera backends: sim, gst:PIPELINE, ..., replay:DIR (not compiled: ...)" */
    char needle[64];
    snprintf(needle, sizeof needle, " %s", prefix);
    const char *at = strstr(out, needle);
    size_t item = at ? strcspn(at + 1, ",\n") : 0;
    const char *nc = at ? strstr(at, "(not compiled") : NULL;
    bool ok = at && (!nc || nc > at + 1 + item);
    g_free(out);
    return ok;
}

/* The replay hook: records the simulator with --record DIR for 4 s (one
 * viewer, so that every requested stream flows), then benches replay:DIR.
 * Owned by the replay backend's flags (docs/CAMERAS.md, "Recording and
 * replay"); reports an error line when the build has no replay backend. */
static void bench_replay(int window_s)
{
    if (!robot_has_backend("replay:")) {
        emit_error("replay", "replay:DIR", "this porthole-robot has no replay: backend");
        return;
    }
    char dir[] = "/tmp/porthole-bench-replay-XXXXXX";
    if (!mkdtemp(dir)) {
        emit_error("replay", "replay:DIR", "mkdtemp failed");
        return;
    }
    struct cloud cloud = {0};
    struct proc robot = {0};
    const char *extra[] = {"--record", dir, NULL};
    const char *id = harness_name("bench-record");
    if (harness_start(&cloud, NULL) == 0 && start_robot(&cloud, &robot, id, "sim", extra) == 0) {
        char url[64];
        snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", cloud.port);
        struct rtcpeer *v = rtcpeer_new(url, id, "color");
        rtcpeer_wait_frames(v, 30, 20000);
        rtcpeer_run_for(4000);
        rtcpeer_free(v);
        harness_proc_stop(&robot, 10000);
    }
    harness_stop(&cloud);
    char spec[96];
    snprintf(spec, sizeof spec, "replay:%s", dir);
    bench_source("replay", spec, NULL, window_s);
    char *rm[] = {"rm", "-rf", dir, NULL};
    g_spawn_sync(NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
}

int main(int argc, char **argv)
{
    int window_s = 10;
    bool replay = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--window") == 0 && i + 1 < argc)
            window_s = atoi(argv[++i]);
        else if (strcmp(argv[i], "--replay") == 0)
            replay = true;
        else {
            fprintf(stderr, "usage: camera_bench [--window SECONDS] [--replay]\n");
            return 2;
        }
    }
    if (window_s < 1 || window_s > 600)
        window_s = 10;
    gst_init(NULL, NULL);
    bench_source("sim", "sim", NULL, window_s);
    bench_source("gst-webcam", GST_WEBCAM, NULL, window_s);
    if (replay)
        bench_replay(window_s);
    return 0;
}
