/* test_robot_resilience.c - porthole-robot keeps streaming when the cloud
 * dies, registers again when it comes back, and does not grow (threads,
 * GStreamer elements, memory) over many viewer sessions.
 *
 * Each test starts its own porthole-cloud and porthole-robot inside the
 * loopback-only network namespace; viewers are real WebRTC receivers
 * (tests/support/rtcpeer.c). Under PORTHOLE_SLOW (the ASan variant) waits
 * are three times longer; the assertions are the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "robotfix.h"
#include "rtcpeer.h"

/* Over 50 sessions opened and closed, measured against the state after the
 * first ten (caches, the DTLS certificate, the encoder's buffers and the
 * allocator's arenas are warm by then), each time the lowest of a few
 * samples: */
#define CYCLES 50
#define WARM_CYCLES 10
#define MAX_THREAD_GROWTH 3          /* libnice/GLib worker threads come and go */
#define MAX_RSS_GROWTH_KB (10 * 1024) /* allocator slack (about 1 MB seen), not leaks */
/* and the GStreamer element count must be exactly the same. Under ASan the
 * robot keeps up to 256 MB of freed memory in quarantine (ASan's default
 * quarantine_size_mb), so the RSS bound allows that much more there; the
 * ASan robot's LeakSanitizer check at exit (teardown wants status 0) is
 * what catches leaks in that variant. */
#if defined(__SANITIZE_ADDRESS__)
#define ASAN_QUARANTINE_KB (256 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_QUARANTINE_KB (256 * 1024)
#endif
#endif
#ifndef ASAN_QUARANTINE_KB
#define ASAN_QUARANTINE_KB 0
#endif

static bool is_registered(void *user)
{
    return rtcpeer_registered(user) || rtcpeer_ws_closed(user);
}

/* True when the list of available-robots m names robot_id. */
static bool lists_robot(json_t *m, const char *robot_id)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(m, "robots"), i, r) {
        const char *id = json_string_value(json_object_get(r, "robotId"));
        if (id && strcmp(id, robot_id) == 0)
            return true;
    }
    return false;
}

/* ---- the cloud goes away ---- */

static void test_streaming_survives_the_cloud_being_killed(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));

    harness_kill(&fx->cloud); /* SIGKILL: no goodbye to anyone */
    /* Frames keep coming, every second, for three seconds with no cloud. */
    uint64_t last = rtcpeer_frames(v);
    for (int s = 0; s < 3; s++) {
        rtcpeer_run_for(1000);
        uint64_t now = rtcpeer_frames(v);
        if (now <= last)
            fail_msg("no frame decoded in second %d after the cloud died (%llu frames)", s + 1,
                     (unsigned long long)now);
        last = now;
    }
    assert_true(rtcpeer_ws_closed(v));
    assert_true(harness_proc_alive(&fx->robot));
}

static void test_robot_registers_again_when_the_cloud_returns(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 10, robotfix_wait(10000));
    int port = fx->cloud.port;
    harness_kill(&fx->cloud);
    rtcpeer_run_for(1500); /* the robot notices and starts retrying */

    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    const char *args[] = {"--port", portstr, NULL};
    assert_int_equal(harness_start(&fx->cloud, args), 0);
    assert_int_equal(fx->cloud.port, port);

    /* --reconnect-max 1: the robot is back within a few seconds. A client
     * registering now sees it at once or is told when it arrives. */
    struct rtcpeer *watcher = /* registers only, opens no session */
        robotfix_viewer(fx, &(struct rtcpeer_opts){.stream_types_json = NULL});
    assert_true(rtcpeer_run_until(is_registered, watcher, robotfix_wait(3000)));
    assert_true(rtcpeer_registered(watcher));
    json_t *avail = rtcpeer_take(watcher, "available-robots", 0);
    assert_non_null(avail);
    bool listed = lists_robot(avail, fx->robot_id);
    json_decref(avail);
    while (!listed) {
        json_t *m = rtcpeer_take(watcher, "robot-available", robotfix_wait(5000));
        if (!m)
            fail_msg("the robot did not register again within %d ms of the cloud's restart",
                     robotfix_wait(5000) + robotfix_wait(3000));
        const char *id = json_string_value(json_object_get(m, "robotId"));
        listed = id && strcmp(id, fx->robot_id) == 0;
        json_decref(m);
    }

    /* And it serves new sessions. */
    struct rtcpeer *v2 = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v2, 30, robotfix_wait(10000));
    assert_true(harness_proc_alive(&fx->robot));
}

static void test_sigterm_closes_the_sessions_and_exits_zero(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 10, robotfix_wait(10000));
    kill(fx->robot.pid, SIGTERM);
    json_t *closed = rtcpeer_take(v, "session-closed", robotfix_wait(5000));
    if (!closed)
        fail_msg("no session-closed after SIGTERM to the robot");
    harness_assert_str(closed, "reason", "closed-by-robot");
    json_decref(closed);
    assert_int_equal(harness_proc_wait_exit(&fx->robot, robotfix_wait(5000)), 0);
}

/* ---- many sessions ---- */

struct usage {
    long threads;   /* /proc/PID/status of the robot */
    long rss_kb;
    long elements;  /* telemetry: GStreamer elements in all robot pipelines */
    long tel_threads;
    long sessions;
};

/* Reads the robot's /proc/PID/status and one fresh telemetry message of v. */
static void measure_once(struct robotfix *fx, struct rtcpeer *v, struct usage *u)
{
    json_t *t = rtcpeer_wait_telemetry(v, robotfix_wait(5000));
    assert_non_null(t);
    json_t *proc = json_object_get(t, "process");
    assert_true(json_is_integer(json_object_get(proc, "elements")));
    u->elements = (long)json_integer_value(json_object_get(proc, "elements"));
    u->tel_threads = (long)json_integer_value(json_object_get(proc, "threads"));
    u->sessions = (long)json_integer_value(json_object_get(t, "sessions"));

    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)fx->robot.pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    u->threads = u->rss_kb = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Threads:", 8) == 0)
            u->threads = strtol(line + 8, NULL, 10);
        else if (strncmp(line, "VmRSS:", 6) == 0)
            u->rss_kb = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    assert_true(u->threads > 0 && u->rss_kb > 0);
}

/* Samples once a second for MEASURE_SAMPLES seconds and keeps the lowest
 * threads and RSS: a leak stays, while a burst (frames queued during a
 * session's start, a thread finishing) comes and goes. */
#define MEASURE_SAMPLES 4
static void measure(struct robotfix *fx, struct rtcpeer *v, struct usage *u)
{
    measure_once(fx, v, u);
    for (int i = 1; i < MEASURE_SAMPLES; i++) {
        struct usage next;
        measure_once(fx, v, &next);
        if (next.threads < u->threads)
            u->threads = next.threads;
        if (next.rss_kb < u->rss_kb)
            u->rss_kb = next.rss_kb;
        u->elements = next.elements;
        u->sessions = next.sessions;
    }
}

/* One viewer session: opened until a frame is decoded, then closed by the
 * viewer (close-session, session-closed). */
static void one_cycle(struct robotfix *fx, int i)
{
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    if (!rtcpeer_wait_frames(v, 1, robotfix_wait(10000)))
        fail_msg("cycle %d: no frame within %d ms (offer %d, connected %d, session-errors %u)",
                 i, robotfix_wait(10000), rtcpeer_has_offer(v), rtcpeer_connected(v),
                 rtcpeer_count(v, "session-error"));
    assert_true(rtcpeer_close(v));
    json_t *closed = rtcpeer_take(v, "session-closed", robotfix_wait(3000));
    if (!closed)
        fail_msg("cycle %d: no session-closed", i);
    harness_assert_str(closed, "reason", "closed-by-client");
    json_decref(closed);
    robotfix_drop_viewer(fx, v);
}

static void test_fifty_sessions_leave_no_growth(void **state)
{
    struct robotfix *fx = *state;
    for (int i = 0; i < WARM_CYCLES; i++)
        one_cycle(fx, i);
    struct rtcpeer *probe = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, probe, 1, robotfix_wait(10000));
    struct usage base;
    measure(fx, probe, &base);
    assert_true(rtcpeer_close(probe));
    json_decref(rtcpeer_take(probe, "session-closed", robotfix_wait(3000)));
    robotfix_drop_viewer(fx, probe);

    for (int i = WARM_CYCLES; i < CYCLES; i++)
        one_cycle(fx, i);

    probe = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, probe, 1, robotfix_wait(10000));
    rtcpeer_run_for(1500); /* let sessions closed last finish tearing down */
    struct usage end;
    measure(fx, probe, &end);
    fprintf(stderr, "after %d sessions: threads %ld -> %ld, RSS %ld -> %ld kB, elements %ld -> %ld\n",
            CYCLES, base.threads, end.threads, base.rss_kb, end.rss_kb, base.elements,
            end.elements);
    assert_int_equal(end.sessions, 1); /* nothing left over from the cycles */
    assert_int_equal(end.elements, base.elements);
    if (end.threads > base.threads + MAX_THREAD_GROWTH)
        fail_msg("robot threads grew from %ld to %ld over %d sessions", base.threads,
                 end.threads, CYCLES);
    if (end.rss_kb > base.rss_kb + MAX_RSS_GROWTH_KB + ASAN_QUARANTINE_KB)
        fail_msg("robot RSS grew from %ld to %ld kB over %d sessions", base.rss_kb, end.rss_kb,
                 CYCLES);
    assert_true(harness_proc_alive(&fx->robot));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_streaming_survives_the_cloud_being_killed,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_robot_registers_again_when_the_cloud_returns,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_closes_the_sessions_and_exits_zero,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_fifty_sessions_leave_no_growth, robotfix_setup,
                                        robotfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
