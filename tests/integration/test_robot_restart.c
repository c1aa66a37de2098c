/* test_robot_restart.c - porthole-robot restarts ICE on the same session
 * when the viewer's path dies or the viewer asks, and notices a viewer that
 * is gone without a word within seconds, not the ~25 s of rtpbin's RTCP
 * timeout.
 *
 * Each test starts its own porthole-cloud and porthole-robot inside the
 * loopback-only network namespace; viewers are real WebRTC receivers
 * (tests/support/rtcpeer.c). A path is cut with an nftables rule in this
 * namespace (dropping the viewer's ICE port both ways); the tests that need
 * one skip when nft is missing or not permitted. One test runs a viewer in a
 * child process (this program again, with --child-viewer) so that it can be
 * killed with SIGKILL. Under PORTHOLE_SLOW (the ASan variant) waits are
 * three times longer; timing bounds here are upper bounds with a margin,
 * never performance assertions. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "robotfix.h"
#include "rtcpeer.h"
#include "wsclient.h"

#define NFT_TABLE "porthole_restart_test"
#define API_PORT 8000
/* The robot's policy (src/robot/session.h): a restart after 2 s of silence,
 * the session ends after 7 s. Noticed "in under 10 s" is the requirement. */
#define GONE_BOUND_MS 10000

/* ---- cutting a path: nftables in this test's own namespace ---- */

static bool nft_ok;

/* Runs an nft script; returns true when nft accepted it. */
static bool nft(const char *script)
{
    FILE *f = popen("nft -f - 2>&1", "w");
    if (!f)
        return false;
    fputs(script, f);
    return pclose(f) == 0;
}

static void nft_clear(void)
{
    nft("table inet " NFT_TABLE "\ndelete table inet " NFT_TABLE "\n");
}

/* Drops every UDP packet from and to addr:port (loopback packets pass the
 * output hook both ways). */
static void cut_path(const char *addr, unsigned port)
{
    char script[512];
    snprintf(script, sizeof script,
             "table inet " NFT_TABLE " {\n"
             "    chain out {\n"
             "        type filter hook output priority 0; policy accept;\n"
             "        ip saddr %s udp sport %u drop\n"
             "        ip daddr %s udp dport %u drop\n"
             "    }\n"
             "}\n",
             addr, port, addr, port);
    if (!nft(script))
        fail_msg("nft refused the rule that cuts %s:%u", addr, port);
}

/* The viewer's local end of the ICE pair in use ("host/udp ADDR:PORT -> ..."). */
static void viewer_end(struct rtcpeer *v, char *addr, size_t len, unsigned *port)
{
    char path[256];
    if (!rtcpeer_ice_path(v, path, sizeof path, robotfix_wait(3000)))
        fail_msg("the viewer knows no ICE pair");
    char a[64];
    if (sscanf(path, "%*[^ ] %63[0-9.]:%u", a, port) != 2)
        fail_msg("cannot read the viewer's end of the ICE path '%s'", path);
    snprintf(addr, len, "%s", a);
    fprintf(stderr, "ICE path in use: %s\n", path);
}

static int setup(void **state)
{
    nft_clear();
    return robotfix_setup(state);
}

static int teardown(void **state)
{
    nft_clear();
    return robotfix_teardown(state);
}

static void skip_without_nft(void)
{
    if (!nft_ok) {
        fprintf(stderr, "SKIPPED: nft is missing or not permitted in this namespace\n");
        skip();
    }
}

/* Waits until v decoded n more frames than it had; fails with how far it got. */
static void expect_more_frames(struct robotfix *fx, struct rtcpeer *v, uint64_t n, int timeout_ms,
                               const char *after)
{
    uint64_t from = rtcpeer_frames(v);
    if (!rtcpeer_wait_frames(v, from + n, timeout_ms))
        fail_msg("%llu of %llu frames within %d ms %s (offers %u, re-answers %u, restart "
                 "requests %u, session-errors %u, robot alive %d)",
                 (unsigned long long)(rtcpeer_frames(v) - from), (unsigned long long)n,
                 timeout_ms, after, rtcpeer_count(v, "webrtc-offer"), rtcpeer_reanswers(v),
                 rtcpeer_restart_requests(v), rtcpeer_count(v, "session-error"),
                 harness_proc_alive(&fx->robot));
}

/* ---- restarts ---- */

static void test_a_viewer_asking_gets_an_ice_restart_on_the_same_session(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    const char *sid = rtcpeer_session_id(v);
    assert_non_null(sid);

    assert_true(rtcpeer_request_restart(v));
    json_decref(rtcpeer_take(v, "webrtc-offer", 0)); /* the first one */
    json_t *offer = rtcpeer_take(v, "webrtc-offer", robotfix_wait(5000));
    if (!offer)
        fail_msg("no new offer after ice-restart-request");
    harness_assert_str(offer, "sessionId", sid);
    json_decref(offer);
    expect_more_frames(fx, v, 30, robotfix_wait(10000), "after the restart");
    assert_int_equal(rtcpeer_reanswers(v), 1);
    assert_int_equal(rtcpeer_count(v, "session-created"), 1);
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
    assert_int_equal(rtcpeer_count(v, "session-closed"), 0);
    assert_true(harness_proc_alive(&fx->robot));
}

/* Two restarts at once: the second waits for the first (SESSION_RETRY_MS),
 * and the video never stops. */
static void test_a_second_request_during_a_restart_is_ignored(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    assert_true(rtcpeer_request_restart(v));
    assert_true(rtcpeer_request_restart(v));
    expect_more_frames(fx, v, 30, robotfix_wait(10000), "after two restart requests");
    rtcpeer_run_for(500);
    assert_int_equal(rtcpeer_count(v, "webrtc-offer"), 2);
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
}

/* "video-stalled" while the robot is sending frames: the path is the
 * suspect, so it restarts (a camera stall would be declined). */
static void test_a_stalled_viewer_gets_a_restart_while_frames_are_sent(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    assert_true(rtcpeer_send_json(v, json_pack("{s:s, s:s, s:s}", "type", "ice-restart-request",
                                               "sessionId", rtcpeer_session_id(v), "reason",
                                               "video-stalled")));
    if (!rtcpeer_wait_count(v, "webrtc-offer", 2, robotfix_wait(5000)))
        fail_msg("no new offer after a video-stalled request");
    expect_more_frames(fx, v, 30, robotfix_wait(10000), "after the restart");
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
}

/* Restarts are bounded: SESSION_MAX_RESTARTS (5) in a minute, one every
 * SESSION_RETRY_MS (3 s) at most; one more ends the session, saying why. */
static void test_restarts_beyond_the_budget_end_the_session(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    for (unsigned i = 2; i <= 6; i++) {
        assert_true(rtcpeer_request_restart(v));
        if (!rtcpeer_wait_count(v, "webrtc-offer", i, robotfix_wait(5000)))
            fail_msg("restart %u: no new offer", i - 1);
        rtcpeer_run_for(3100); /* past SESSION_RETRY_MS */
    }
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
    assert_true(rtcpeer_request_restart(v));
    json_t *err = rtcpeer_take(v, "session-error", robotfix_wait(5000));
    if (!err)
        fail_msg("a sixth restart within a minute did not end the session");
    harness_assert_str(err, "code", "connection-failed");
    const char *text = json_string_value(json_object_get(err, "error"));
    assert_non_null(text);
    assert_non_null(strstr(text, "ICE restarts"));
    json_decref(err);
    json_t *closed = rtcpeer_take(v, "session-closed", robotfix_wait(3000));
    assert_non_null(closed);
    harness_assert_str(closed, "reason", "closed-by-robot");
    json_decref(closed);
    assert_int_equal(rtcpeer_count(v, "webrtc-offer"), 6);
}

static const char *const two_address_robot_args[] = {"--ice-allow", "127.0.0.1,127.0.0.2",
                                                     NULL};
static const struct robotfix_config two_address_config = {.robot_args = two_address_robot_args};

/* The viewer gathers on two addresses; the pair in use is cut. Nothing
 * makes libnice leave a selected pair by itself: only an ICE restart
 * (the robot's, after two silent seconds) finds the other address. */
static void test_a_dead_path_is_restarted_and_video_resumes(void **state)
{
    skip_without_nft();
    struct robotfix *fx = *state;
    struct rtcpeer_opts o = {.stream_types_json = "[\"color\"]",
                             .extra_ice_address = "127.0.0.2"};
    struct rtcpeer *v = robotfix_viewer(fx, &o);
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    char addr[64];
    unsigned port;
    viewer_end(v, addr, sizeof addr, &port);
    cut_path(addr, port);
    int64_t cut_ms = wsc_now_ms();
    /* Frames in flight drain; then, after the restart, new ones arrive. */
    rtcpeer_run_for(300);
    expect_more_frames(fx, v, 30, robotfix_wait(15000), "after the path was cut");
    fprintf(stderr, "video back %lld ms after the cut (offers %u)\n",
            (long long)(wsc_now_ms() - cut_ms), rtcpeer_count(v, "webrtc-offer"));
    assert_true(rtcpeer_count(v, "webrtc-offer") >= 2);
    assert_true(rtcpeer_reanswers(v) >= 1);
    assert_int_equal(rtcpeer_count(v, "session-created"), 1);
    assert_int_equal(rtcpeer_count(v, "session-closed"), 0);
    char again[64];
    unsigned port2;
    viewer_end(v, again, sizeof again, &port2);
    assert_true(strcmp(again, addr) != 0 || port2 != port);
}

/* ---- a viewer that is gone ---- */

/* The viewer's WebSocket stays open, so the cloud says nothing: only the
 * robot's own watch can end the session. */
static void test_an_unreachable_viewer_ends_the_session(void **state)
{
    skip_without_nft();
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    char addr[64];
    unsigned port;
    viewer_end(v, addr, sizeof addr, &port);
    cut_path(addr, port);
    int64_t cut_ms = wsc_now_ms();
    json_t *closed = rtcpeer_take(v, "session-closed", robotfix_wait(GONE_BOUND_MS));
    if (!closed)
        fail_msg("the session still runs %d ms after its path was cut",
                 robotfix_wait(GONE_BOUND_MS));
    fprintf(stderr, "session closed %lld ms after the cut\n", (long long)(wsc_now_ms() - cut_ms));
    harness_assert_str(closed, "reason", "closed-by-robot");
    json_decref(closed);
    json_t *err = rtcpeer_take(v, "session-error", 0);
    assert_non_null(err);
    harness_assert_str(err, "code", "viewer-unreachable");
    json_decref(err);
    assert_true(harness_proc_alive(&fx->robot));
}

/* A viewer in a child process: this program run with --child-viewer URL
 * ROBOT. It prints "streaming" once 30 frames are decoded, then keeps
 * decoding until it is killed (or its parent dies). */
static int child_viewer(const char *url, const char *robot_id)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct rtcpeer *v = rtcpeer_new(url, robot_id, "color");
    if (!rtcpeer_wait_frames(v, 30, robotfix_wait(15000))) {
        printf("no video\n");
        return 1;
    }
    printf("streaming %s\n", rtcpeer_session_id(v));
    fflush(stdout);
    for (;;)
        rtcpeer_run_for(1000);
}

static pid_t child_pid;

static pid_t start_child_viewer(struct robotfix *fx, int *out_fd)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl("/proc/self/exe", "test_robot_restart", "--child-viewer", fx->url, fx->robot_id,
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    *out_fd = fds[0];
    child_pid = pid;
    return pid;
}

/* Reads one line from fd within timeout_ms into buf; false on timeout/EOF. */
static bool read_line(int fd, char *buf, size_t len, int timeout_ms)
{
    size_t n = 0;
    int64_t deadline = wsc_now_ms() + timeout_ms;
    while (n + 1 < len) {
        int left = (int)(deadline - wsc_now_ms());
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            return false;
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0)
            return false;
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
    return true;
}

/* True when the robot's REST API lists a session named sid. */
static bool robot_lists_session(const char *sid)
{
    struct http_response resp;
    if (http_get(API_PORT, "/api/webrtc/sessions", &resp) < 0)
        fail_msg("the robot's REST API does not answer");
    bool found = resp.status == 200 && resp.body && strstr(resp.body, sid) != NULL;
    http_response_free(&resp);
    return found;
}

static const char *const api_robot_args[] = {"--api-port", "8000", NULL};
static const struct robotfix_config api_config = {.robot_args = api_robot_args};

/* The cloud goes first (the robot keeps the session as an orphan, and no
 * one is left to tell it anything), then the viewer dies without a word:
 * no RTCP BYE, no close, no data-channel close. */
static void test_a_killed_viewer_is_noticed_without_signaling(void **state)
{
    struct robotfix *fx = *state;
    int fd;
    pid_t pid = start_child_viewer(fx, &fd);
    char line[128];
    if (!read_line(fd, line, sizeof line, robotfix_wait(20000)) ||
        strncmp(line, "streaming ", 10) != 0)
        fail_msg("the child viewer did not stream ('%s')", line);
    const char *sid = line + 10;
    assert_true(robot_lists_session(sid));

    harness_kill(&fx->cloud);
    /* Video keeps flowing peer to peer: the session outlives the cloud. */
    rtcpeer_run_for(1000);
    assert_true(robot_lists_session(sid));

    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    child_pid = 0;
    close(fd);
    int64_t killed_ms = wsc_now_ms();
    int bound = robotfix_wait(GONE_BOUND_MS);
    while (robot_lists_session(sid)) {
        if (wsc_now_ms() - killed_ms > bound)
            fail_msg("the robot still serves session %s %d ms after its viewer was killed", sid,
                     bound);
        rtcpeer_run_for(200);
    }
    fprintf(stderr, "the robot ended the session %lld ms after its viewer was killed\n",
            (long long)(wsc_now_ms() - killed_ms));
    assert_true(harness_proc_alive(&fx->robot));
}

static int child_teardown(void **state)
{
    if (child_pid > 0) {
        kill(child_pid, SIGKILL);
        waitpid(child_pid, NULL, 0);
        child_pid = 0;
    }
    return teardown(state);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--child-viewer") == 0)
        return child_viewer(argv[2], argv[3]);
    nft_ok = system("command -v nft >/dev/null 2>&1") == 0 &&
             nft("table inet " NFT_TABLE "\ndelete table inet " NFT_TABLE "\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_viewer_asking_gets_an_ice_restart_on_the_same_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_second_request_during_a_restart_is_ignored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_stalled_viewer_gets_a_restart_while_frames_are_sent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_restarts_beyond_the_budget_end_the_session, setup,
                                        teardown),
        cmocka_unit_test_prestate_setup_teardown(test_a_dead_path_is_restarted_and_video_resumes,
                                                 setup, teardown, (void *)&two_address_config),
        cmocka_unit_test_setup_teardown(test_an_unreachable_viewer_ends_the_session, setup,
                                        teardown),
        cmocka_unit_test_prestate_setup_teardown(test_a_killed_viewer_is_noticed_without_signaling,
                                                 setup, child_teardown, (void *)&api_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
