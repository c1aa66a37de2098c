/* test_cluster_media.c - porthole-robot's video across porthole-cloud
 * instances on one real Redis (cluster.h): a robot registered on instance
 * A streams to a C viewer (tests/support/rtcpeer.c) that signals through
 * instance B; the session keeps streaming through a 30 s Redis outage;
 * and a robot behind HAProxy whose instance is killed (SIGKILL) registers
 * again on another within 35 s, its viewers seeing it unavailable and then
 * available, and streams again.
 *
 * Under PORTHOLE_SLOW (the ASan variant) waits are three times longer; the
 * assertions are the same. CLUSTER_OUTAGE_S shortens the outage for a
 * quick local run. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "clusterfix.h"
#include "harness.h"
#include "robotfix.h"
#include "rtcpeer.h"

#define A 0
#define B 1
#define C 2

static struct clusterfix fx;
static struct proc robot;
static struct rtcpeer *viewers[4];

static int setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    memset(&robot, 0, sizeof robot);
    memset(viewers, 0, sizeof viewers);
    if (clusterfix_redis_start(&fx) != 0)
        return -1;
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        if (clusterfix_cloud_start(&fx, i, NULL) != 0 ||
            !clusterfix_wait_body(fx.clouds[i].port, "/health", "\"status\":\"ok\"", 5000)) {
            clusterfix_stop(&fx);
            return -1;
        }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof viewers / sizeof viewers[0]; i++)
        rtcpeer_free(viewers[i]);
    int st = harness_proc_stop(&robot, 10000);
    if (st != 0)
        fprintf(stderr, "porthole-robot exited with %d\n", st);
    return clusterfix_stop(&fx) == 0 && st == 0 ? 0 : -1;
}

/* Starts porthole-robot as robot_id with its signaling on port. */
static void start_robot(const char *robot_id, int port)
{
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", port);
    const char *args[] = {"--cloud-url", url, "--robot-id", robot_id, "--ice-allow",
                          "127.0.0.1", "--reconnect-min", "0.1", "--reconnect-max", "1",
                          "--log-level", "warn", NULL};
    assert_int_equal(harness_start_robot(&robot, args), 0);
}

/* Waits until robot_id is registered on some instance; returns which. */
static int home_of(const char *robot_id, int timeout_ms)
{
    char needle[96];
    snprintf(needle, sizeof needle, "\"robotId\":\"%s\"", robot_id);
    /* /robots lists every instance's robots; /health counts its own. */
    int any = fx.clouds[A].pid ? A : B;
    assert_true(clusterfix_wait_body(fx.clouds[any].port, "/robots", needle, timeout_ms));
    for (int tries = 0; tries < 50; tries++) {
        for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
            if (fx.clouds[i].pid &&
                clusterfix_wait_body(fx.clouds[i].port, "/health", "\"robots\":1", 0))
                return i;
        usleep(100 * 1000);
    }
    fail_msg("robot %s is listed but no instance counts it", robot_id);
    return -1;
}

static struct rtcpeer *viewer_on(int slot, int port, const char *robot_id)
{
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", port);
    return viewers[slot] = rtcpeer_new(url, robot_id, "color");
}

static void expect_frames(struct rtcpeer *v, uint64_t n, int timeout_ms)
{
    if (!rtcpeer_wait_frames(v, n, robotfix_wait(timeout_ms)))
        fail_msg("viewer decoded %llu frames, expected %llu (session %s, offer %d, "
                 "connected %d)", (unsigned long long)rtcpeer_frames(v),
                 (unsigned long long)n, rtcpeer_session_id(v) ? rtcpeer_session_id(v) : "none",
                 rtcpeer_has_offer(v), rtcpeer_connected(v));
}

static void test_video_between_instances(void **state)
{
    (void)state;
    start_robot("media-a", fx.clouds[A].port);
    assert_int_equal(home_of("media-a", robotfix_wait(10000)), A);
    struct rtcpeer *v = viewer_on(0, fx.clouds[B].port, "media-a");
    expect_frames(v, 30, 10000);
    struct rtcpeer_video vi;
    rtcpeer_video(v, &vi);
    assert_int_equal(vi.width, 640);
    assert_int_equal(vi.height, 480);
}

static void test_video_keeps_streaming_through_redis_outage(void **state)
{
    (void)state;
    start_robot("media-outage", fx.clouds[A].port);
    home_of("media-outage", robotfix_wait(10000));
    struct rtcpeer *v = viewer_on(0, fx.clouds[B].port, "media-outage");
    expect_frames(v, 30, 10000);
    clusterfix_redis_kill(&fx);
    const char *quick = getenv("CLUSTER_OUTAGE_S");
    int outage_ms = (quick ? atoi(quick) : 30) * 1000;
    uint64_t before = rtcpeer_frames(v);
    rtcpeer_run_for(outage_ms);
    uint64_t during = rtcpeer_frames(v) - before;
    fprintf(stderr, "%llu frames decoded during %d s without Redis\n",
            (unsigned long long)during, outage_ms / 1000);
    /* At least a frame a second: the session never stopped. */
    assert_true(during >= (uint64_t)outage_ms / 1000);
    assert_int_equal(clusterfix_redis_restart(&fx), 0);
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        assert_true(clusterfix_wait_body(fx.clouds[i].port, "/health", "\"status\":\"ok\"",
                                         10000));
    before = rtcpeer_frames(v);
    expect_frames(v, before + 30, 10000);
    assert_int_equal(rtcpeer_count(v, "session-closed"), 0);
    assert_false(rtcpeer_ws_closed(v));
}

static void test_robot_behind_haproxy_survives_its_instance(void **state)
{
    (void)state;
    if (!clusterfix_available(true))
        skip();
    assert_int_equal(clusterfix_haproxy_start(&fx), 0);
    start_robot("media-lb", fx.lb_port);
    int home = home_of("media-lb", robotfix_wait(10000));
    int other = home == A ? B : A;
    struct rtcpeer *v = viewer_on(0, fx.clouds[other].port, "media-lb");
    expect_frames(v, 30, 10000);
    kill(fx.clouds[home].pid, SIGKILL);
    waitpid(fx.clouds[home].pid, NULL, 0);
    fx.clouds[home].pid = 0;
    /* Unavailable (its instance's presence expired), then available again
     * through HAProxy on a surviving instance: within 35 s. */
    json_t *gone = rtcpeer_take(v, "robot-unavailable", robotfix_wait(35000));
    assert_non_null(gone);
    json_decref(gone);
    json_t *back = rtcpeer_take(v, "robot-available", robotfix_wait(35000));
    assert_non_null(back);
    json_decref(back);
    int again = home_of("media-lb", robotfix_wait(5000));
    assert_int_not_equal(again, home);
    fprintf(stderr, "robot moved from instance %d to %d\n", home, again);
    /* A new session streams. */
    struct rtcpeer *v2 = viewer_on(1, fx.clouds[other].port, "media-lb");
    expect_frames(v2, 30, 10000);
}

int main(void)
{
    if (!clusterfix_available(false)) {
        printf("SKIPPED: redis-server is not installed\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_video_between_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_video_keeps_streaming_through_redis_outage, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_robot_behind_haproxy_survives_its_instance, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
