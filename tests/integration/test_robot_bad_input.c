/* test_robot_bad_input.c - porthole-robot refuses hostile or broken input
 * from viewers (answers, candidates, stream types, a flood of sessions)
 * with the documented session-error codes, keeps running, and still
 * streams to a well-behaved viewer afterwards.
 *
 * Each test starts its own porthole-cloud and porthole-robot inside the
 * loopback-only network namespace. Viewers are real WebRTC receivers
 * (tests/support/rtcpeer.c) where media matters, the blocking wsclient
 * where it does not. Under PORTHOLE_SLOW (the ASan variant) waits are three
 * times longer; the assertions are the same.
 *
 * Only what needs the live robot is here: every refusal text of an answer,
 * and the filtering of the answer's candidates, are specified by
 * tests/unit/test_sdp_answer.c; the allow-list's effect on packets by
 * test_robot_api.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "harness.h"
#include "robotfix.h"
#include "rtcpeer.h"

/* A viewer of streams (JSON text), answered by the test when manual. */
static struct rtcpeer *viewer_opts(struct robotfix *fx, const char *streams_json, bool manual)
{
    return robotfix_viewer(
        fx, &(struct rtcpeer_opts){.stream_types_json = streams_json, .manual_answer = manual});
}

/* v keeps decoding: 30 more frames. */
static void expect_still_streaming(struct robotfix *fx, struct rtcpeer *v)
{
    robotfix_expect_frames(fx, v, rtcpeer_frames(v) + 30, robotfix_wait(10000));
}

/* The robot runs and a fresh viewer gets 30 frames. */
static void expect_robot_serves(struct robotfix *fx)
{
    assert_true(harness_proc_alive(&fx->robot));
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
}

/* The next session-error of v, which must carry v's session id, one of
 * the codes (NULL-terminated) and a reason: exactly reason unless NULL. */
static void expect_session_error(struct rtcpeer *v, const char *const *codes, const char *reason,
                                 const char *what)
{
    json_t *e = rtcpeer_take(v, "session-error", robotfix_wait(3000));
    if (!e) {
        json_t *other = rtcpeer_take(v, "error", 0);
        char *text = other ? json_dumps(other, JSON_COMPACT) : NULL;
        fail_msg("%s: no session-error within %d ms (cloud error: %s)", what,
                 robotfix_wait(3000), text ? text : "none");
    }
    harness_assert_str(e, "sessionId", rtcpeer_session_id(v));
    const char *code = json_string_value(json_object_get(e, "code"));
    bool ok = false;
    for (size_t i = 0; codes[i]; i++)
        ok = ok || (code && strcmp(code, codes[i]) == 0);
    if (!ok)
        fail_msg("%s: session-error code '%s' (%s)", what, code ? code : "(none)",
                 json_string_value(json_object_get(e, "error")));
    const char *error = json_string_value(json_object_get(e, "error"));
    assert_non_null(error);
    if (reason && strcmp(error, reason) != 0)
        fail_msg("%s: reason \"%s\", want \"%s\"", what, error, reason);
    json_decref(e);
}

/* Sends a webrtc-answer whose sdp is the len bytes at sdp (which may hold
 * NULs) for v's session. */
static void send_answer(struct rtcpeer *v, const char *sdp, size_t len)
{
    json_t *s = json_stringn(sdp, len);
    assert_non_null(s);
    assert_true(rtcpeer_send_json(v, json_pack("{s:s, s:s, s:{s:s, s:o}}", "type",
                                               "webrtc-answer", "sessionId",
                                               rtcpeer_session_id(v), "answer", "type", "answer",
                                               "sdp", s)));
}

/* ---- answers ---- */

static char *replace_first(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    assert_non_null(at);
    return g_strdup_printf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

/* Broken answers through the cloud: the robot checks them against the
 * offer its peer remembers (its m-lines and their kinds), answers each with
 * a session-error naming the reason, keeps the session, and the corrected
 * answer still applies. */
static void test_broken_answers_are_refused_and_a_good_one_still_works(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = viewer_opts(fx, "[\"color\"]", true);
    assert_true(rtcpeer_wait_offer(v, robotfix_wait(5000)));
    assert_true(rtcpeer_answer(v));
    const char *good = rtcpeer_wait_answer_sdp(v, robotfix_wait(5000));
    assert_non_null(good);
    assert_non_null(strstr(good, "m=video"));
    assert_non_null(strstr(good, "m=application"));

    struct bad {
        const char *what;
        char *sdp;
        const char *reason;
    } bad[8];
    size_t n = 0;
#define BAD(w, s, r) (bad[n].what = (w), bad[n].sdp = (s), bad[n].reason = (r), n++)
    BAD("not SDP at all", g_strdup("hello, this is not an SDP answer"),
        "the answer is not SDP: it must start with 'v=0'");
    /* The video m-line only: the offer also had the data channel. */
    const char *app = strstr(good, "m=application");
    BAD("one m-line fewer than offered", g_strndup(good, (size_t)(app - good)),
        "the answer has 1 m-lines; the offer had 2");
    BAD("m=audio instead of m=video", replace_first(good, "m=video", "m=audio"),
        "m-line 0 of the answer is 'audio'; the offer had 'video'");
    {
        /* A big message crosses the cloud and the robot's link whole. */
        GString *big = g_string_new("v=0\r\no=- 1 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
        while (big->len < 60 * 1024)
            g_string_append(big, "a=x-junk:0123456789abcdef0123456789abcdef0123456789abcdef\r\n");
        BAD("a 60 KB answer", g_string_free(big, FALSE), "the answer has 0 m-lines; the offer had 2");
    }
    {
        /* "v=0", then 2000 pseudo-random characters: controls and non-ASCII
         * code points (valid UTF-8, as a WebSocket text frame must be),
         * through the JSON of the cloud and of the robot. */
        GString *g = g_string_new("v=0\r\n");
        uint32_t x = 12345;
        for (int i = 0; i < 2000; i++) {
            x = x * 1103515245u + 12345u;
            gunichar c = 1 + (x >> 8) % 0x7fe;
            g_string_append_unichar(g, c);
        }
        BAD("binary garbage", g_string_free(g, FALSE), "the answer has 0 m-lines; the offer had 2");
    }
#undef BAD

    static const char *const refusals[] = {"invalid-answer", NULL};
    for (size_t i = 0; i < n; i++) {
        send_answer(v, bad[i].sdp, strlen(bad[i].sdp));
        expect_session_error(v, refusals, bad[i].reason, bad[i].what);
        g_free(bad[i].sdp);
        bad[i].sdp = NULL;
    }
    /* The good answer cut by a NUL after its first line never reaches the
     * robot: the cloud refuses "\u0000" in any JSON text (invalid-json). */
    size_t glen = strlen(good);
    char *nul = g_malloc(glen + 1);
    memcpy(nul, good, glen + 1);
    nul[5] = '\0';
    send_answer(v, nul, glen);
    g_free(nul);
    json_t *e = rtcpeer_take(v, "error", robotfix_wait(3000));
    assert_non_null(e);
    harness_assert_str(e, "code", "invalid-json");
    json_decref(e);

    assert_true(harness_proc_alive(&fx->robot));
    /* Nothing closed the session: the good answer still applies. */
    assert_int_equal(rtcpeer_count(v, "session-closed"), 0);
    assert_true(rtcpeer_send_answer(v));
    robotfix_expect_frames(fx, v, 30, robotfix_wait(10000));
    assert_int_equal(rtcpeer_count(v, "session-error"), n);
}

static void test_a_second_answer_is_refused_and_the_first_stays(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 10, robotfix_wait(10000));
    const char *good = rtcpeer_wait_answer_sdp(v, 0);
    assert_non_null(good);
    send_answer(v, good, strlen(good));
    static const char *const refusals[] = {"invalid-answer", NULL};
    expect_session_error(v, refusals, "an answer was already applied to this session",
                         "a second answer");
    expect_still_streaming(fx, v);
}

/* ---- candidates ---- */

static void test_candidates_for_unknown_sessions_are_refused_by_the_cloud(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 10, robotfix_wait(10000));
    const char *bogus[] = {"AAAAAAAAAAAAAAAAAAAAAA", "no-such-session", "zzzzzzzzzzzzzzzzzzzzz_"};
    for (size_t i = 0; i < 3; i++) {
        assert_true(rtcpeer_send_json(
            v, json_pack("{s:s, s:s, s:{s:s, s:i}}", "type", "ice-candidate", "sessionId",
                         bogus[i], "candidate", "candidate",
                         "candidate:1 1 UDP 2122260223 127.0.0.1 40000 typ host",
                         "sdpMLineIndex", 0)));
        json_t *e = rtcpeer_take(v, "error", robotfix_wait(3000));
        if (!e)
            fail_msg("no error for a candidate of session '%s'", bogus[i]);
        const char *code = json_string_value(json_object_get(e, "code"));
        /* A well-formed id is unknown; a malformed one is an invalid field. */
        if (!code || (strcmp(code, "unknown-session") != 0 && strcmp(code, "invalid-field") != 0))
            fail_msg("candidate for session '%s': error code %s", bogus[i], code ? code : "none");
        if (i == 0)
            assert_string_equal(code, "unknown-session");
        json_decref(e);
    }
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
    expect_still_streaming(fx, v);
    assert_true(harness_proc_alive(&fx->robot));
}

static void send_candidate(struct rtcpeer *v, const char *line, int mline)
{
    assert_true(rtcpeer_send_json(
        v, json_pack("{s:s, s:s, s:{s:s, s:i}}", "type", "ice-candidate", "sessionId",
                     rtcpeer_session_id(v), "candidate", "candidate", line, "sdpMLineIndex",
                     mline)));
}

static void test_malformed_candidates_are_refused_and_the_session_streams(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 10, robotfix_wait(10000));
    static const char *const invalid[] = {"invalid-candidate", NULL};

    send_candidate(v, "this is not a candidate", 0);
    expect_session_error(v, invalid, NULL, "not a candidate line");
    send_candidate(v, "candidate:1 1 UDP 2122260223 127.0.0.1 40000 typ host", 7);
    expect_session_error(v, invalid, NULL, "sdpMLineIndex out of range");
    /* A port beyond 65535 is malformed too; refused or dropped, it must not
     * disturb the session. */
    send_candidate(v, "candidate:1 1 UDP 2122260223 127.0.0.1 99999999 typ host", 0);
    expect_still_streaming(fx, v);
    json_t *e;
    while ((e = rtcpeer_take(v, "session-error", 0)) != NULL) {
        harness_assert_str(e, "code", "invalid-candidate");
        json_decref(e);
    }
    assert_int_equal(rtcpeer_count(v, "session-closed"), 0);
    assert_true(harness_proc_alive(&fx->robot));
}

static void test_candidates_outside_the_allow_list_are_dropped_quietly(void **state)
{
    struct robotfix *fx = *state;
    struct rtcpeer *v = robotfix_viewer(fx, NULL);
    robotfix_expect_frames(fx, v, 10, robotfix_wait(10000));
    send_candidate(v, "candidate:1 1 UDP 2122260223 10.1.2.3 40000 typ host", 0);
    send_candidate(v, "candidate:2 1 UDP 1686052607 203.0.113.9 40001 typ srflx raddr 10.1.2.3 "
                      "rport 40000", 0);
    /* Dropped with a log line at the robot: no session-error, no close. */
    rtcpeer_run_for(robotfix_wait(500));
    assert_int_equal(rtcpeer_count(v, "session-error"), 0);
    assert_int_equal(rtcpeer_count(v, "session-closed"), 0);
    expect_still_streaming(fx, v);
}

/* ---- the candidate gate ---- */

/* No ICE allow-list (the default; the fixture's --ice-allow is undone),
 * a cap of 4 remote candidates per session, and the REST API to read a
 * session's counts. */
static const char *const gate_robot_args[] = {"--ice-allow", "", "--max-remote-candidates", "4",
                                              "--api-port", "8000", NULL};
static const struct robotfix_config gate_config = {.robot_args = gate_robot_args};

/* The stats of session sid, from the robot's own API (the caller owns it). */
static json_t *session_stats(const char *sid)
{
    char path[128];
    snprintf(path, sizeof path, "/api/webrtc/sessions/%s", sid);
    struct http_response r;
    assert_int_equal(http_request(8000, "GET", path, NULL, NULL, robotfix_wait(5000), &r), 0);
    if (r.status != 200)
        fail_msg("GET %s: %d %s", path, r.status, r.body);
    json_t *s = json_loads(r.body, 0, NULL);
    http_response_free(&r);
    json_t *stats = json_incref(json_object_get(s, "stats"));
    json_decref(s);
    assert_non_null(stats);
    return stats;
}

#define CAND(addr, port) "candidate:1 1 udp 2122260223 " addr " " #port " typ host"

/* Every remote candidate passes one gate: loopback, link-local, multicast,
 * broadcast, unspecified and IPv4-mapped addresses are refused without an
 * allow-list that names them, so are candidates past the cap; lines the
 * old check and libnice read differently are malformed. Refusals are
 * quiet (the viewer is not told) and counted; the session streams on. */
static void test_special_addresses_and_candidates_past_the_cap_are_refused(void **state)
{
    struct robotfix *fx = *state;
    struct wsc *c = harness_client(fx->cloud.port, NULL, NULL);
    assert_int_equal(wsc_sendf(c, "{\"type\":\"create-session\",\"robotId\":\"%s\","
                                  "\"streamTypes\":[\"color\"],\"requestId\":\"g1\"}",
                               fx->robot_id),
                     0);
    json_t *created = wsc_expect_type(c, "session-created", robotfix_wait(3000));
    assert_non_null(created);
    char *sid = g_strdup(json_string_value(json_object_get(created, "sessionId")));
    json_decref(created);
    json_decref(wsc_expect_type(c, "webrtc-offer", robotfix_wait(5000)));

    static const char *const refused[] = {
        CAND("127.0.0.1", 40000), CAND("127.0.0.2", 40001), CAND("::1", 40002),
        CAND("169.254.169.254", 40003), CAND("224.0.0.251", 5353),
        CAND("255.255.255.255", 40004), CAND("0.0.0.0", 40005), CAND("::ffff:127.0.0.1", 40006),
        CAND("fe80::1", 40007), CAND("ff02::fb", 5353),
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(wsc_sendf(c, "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\","
                                      "\"candidate\":{\"candidate\":\"%s\",\"sdpMLineIndex\":0}}",
                                   sid, refused[i]),
                         0);
    /* Differential lines: each an invalid-candidate with the grammar's words. */
    static const struct {
        const char *line, *words;
    } malformed[] = {
        {"candidate:1 1 udp 2122260223 127.1 40000 typ host", "the address '127.1'"},
        {"candidate:1 1 udp 2122260223 0177.0.0.1 40000 typ host", "the address '0177.0.0.1'"},
        {"candidate:1 1 udp 2122260223 10.0.0.1 40000 TYP host", "'typ'"},
        {"candidate:1  1 udp 2122260223 10.0.0.1 40000 typ host", "exactly one space"},
        {"candidate:1 1 udp 2122260223 10.0.0.1 040000 typ host", "the port '040000'"},
        {"candidate:1 1 udp 2122260223 10.0.0.1 40000 typ host\\r\\n", "printable"},
        {"candidate:1 1 udp 2122260223 10.0.0.1 40000 typ host x", "'x' has no value"},
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        assert_int_equal(wsc_sendf(c, "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\","
                                      "\"candidate\":{\"candidate\":\"%s\",\"sdpMLineIndex\":0}}",
                                   sid, malformed[i].line),
                         0);
        json_t *e = wsc_expect_type(c, "session-error", robotfix_wait(3000));
        if (!e)
            fail_msg("no session-error for '%s'", malformed[i].line);
        harness_assert_str(e, "code", "invalid-candidate");
        const char *why = json_string_value(json_object_get(e, "error"));
        if (!why || !strstr(why, "malformed ICE candidate: ") || !strstr(why, malformed[i].words))
            fail_msg("'%s': reason '%s'", malformed[i].line, why ? why : "");
        json_decref(e);
    }
    /* Ordinary addresses up to the cap of 4, then refused. */
    for (int i = 0; i < 6; i++)
        assert_int_equal(wsc_sendf(c, "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\","
                                      "\"candidate\":{\"candidate\":\"candidate:%d 1 UDP "
                                      "2122260223 10.1.2.%d 40000 typ host\",\"sdpMLineIndex\":0}}",
                                   sid, i + 2, i + 3),
                         0);
    rtcpeer_run_for(robotfix_wait(500));
    json_t *stats = session_stats(sid);
    assert_int_equal(json_integer_value(json_object_get(stats, "remote_candidates")), 4);
    assert_int_equal(json_integer_value(json_object_get(stats, "candidates_refused")),
                     10 + 7 + 2);
    json_decref(stats);
    /* Refused quietly: no error but for the malformed, no close. */
    assert_true(wsc_expect_silence(c, 300));
    g_free(sid);
    wsc_close(c);
    assert_true(harness_proc_alive(&fx->robot));
}

/* ---- stream types ---- */

static bool finished_or_refused(void *user)
{
    struct rtcpeer *v = user;
    return rtcpeer_count(v, "session-closed") > 0 || rtcpeer_count(v, "error") > 0 ||
           rtcpeer_ws_closed(v);
}

static void test_unknown_stream_types_are_refused(void **state)
{
    struct robotfix *fx = *state;
    const char *robot_refuses[] = {
        "[\"thermal\"]",
        "[\"color\",\"color\"]",
        "[\"color\",\"depth\",\"infrared-1\",\"infrared-2\",\"extra\"]",
        "[\"color\",\"depth\",\"infrared-1\",\"infrared-2\",\"color\"]",
    };
    static const char *const unknown[] = {"unknown-stream-type", NULL};
    for (size_t i = 0; i < sizeof robot_refuses / sizeof robot_refuses[0]; i++) {
        struct rtcpeer *v = viewer_opts(fx, robot_refuses[i], false);
        json_t *created = rtcpeer_take(v, "session-created", robotfix_wait(5000));
        if (!created)
            fail_msg("%s: no session-created", robot_refuses[i]);
        json_decref(created);
        expect_session_error(v, unknown, NULL, robot_refuses[i]);
        /* The robot closes the session it cannot serve. */
        json_t *closed = rtcpeer_take(v, "session-closed", robotfix_wait(3000));
        if (!closed)
            fail_msg("%s: the robot did not close the session", robot_refuses[i]);
        harness_assert_str(closed, "reason", "closed-by-robot");
        json_decref(closed);
        assert_int_equal(rtcpeer_count(v, "webrtc-offer"), 0);
    }
    /* An empty list never reaches the robot: the cloud refuses it. */
    struct rtcpeer *v = viewer_opts(fx, "[]", false);
    assert_true(rtcpeer_run_until(finished_or_refused, v, robotfix_wait(5000)));
    json_t *e = rtcpeer_take(v, "error", 0);
    assert_non_null(e);
    harness_assert_str(e, "code", "invalid-field");
    json_decref(e);
    assert_int_equal(rtcpeer_count(v, "session-created"), 0);

    for (int i = 0; i < ROBOTFIX_MAX_VIEWERS; i++)
        robotfix_drop_viewer(fx, fx->viewers[i]);
    expect_robot_serves(fx);
}

static void test_an_unknown_device_is_refused_and_the_serial_accepted(void **state)
{
    struct robotfix *fx = *state;
    static const char *const unknown[] = {"unknown-device", NULL};
    struct rtcpeer *v = robotfix_viewer(
        fx, &(struct rtcpeer_opts){.stream_types_json = "[\"color\"]", .device_id = "000000000000"});
    expect_session_error(v, unknown, NULL, "deviceId 000000000000");
    json_t *closed = rtcpeer_take(v, "session-closed", robotfix_wait(3000));
    assert_non_null(closed);
    harness_assert_str(closed, "reason", "closed-by-robot");
    json_decref(closed);
    assert_int_equal(rtcpeer_count(v, "webrtc-offer"), 0);

    /* The camera's own serial (from robot-register's deviceInfo) is fine. */
    struct rtcpeer *watcher = robotfix_viewer(fx, &(struct rtcpeer_opts){.stream_types_json = NULL});
    json_t *avail = rtcpeer_take(watcher, "available-robots", robotfix_wait(5000));
    assert_non_null(avail);
    const char *serial = NULL;
    size_t i;
    json_t *robot;
    json_array_foreach(json_object_get(avail, "robots"), i, robot) {
        if (strcmp(json_string_value(json_object_get(robot, "robotId")), fx->robot_id) == 0)
            serial = json_string_value(json_object_get(json_object_get(robot, "deviceInfo"), "serial"));
    }
    assert_non_null(serial);
    struct rtcpeer *ok = robotfix_viewer(
        fx, &(struct rtcpeer_opts){.stream_types_json = "[\"color\"]", .device_id = serial});
    robotfix_expect_frames(fx, ok, 30, robotfix_wait(10000));
    json_decref(avail);
}

/* ---- a viewer that never answers ---- */

static const char *const timeout_robot_args[] = {"--session-timeout", "2", NULL};
static const struct robotfix_config timeout_config = {.robot_args = timeout_robot_args};

static void test_an_unanswered_session_times_out(void **state)
{
    struct robotfix *fx = *state;
    /* Before the session exists: the robot's timer starts later than this. */
    int64_t start = wsc_now_ms();
    struct rtcpeer *v = viewer_opts(fx, "[\"color\"]", true);
    /* The offer comes first, unless the machine is so loaded that making
     * it takes longer than the timeout: the same outcome, so the offer is
     * not required. */
    static const char *const timeout[] = {"timeout", NULL};
    int wait = robotfix_wait(5000) + 2000 + robotfix_wait(3000);
    json_t *e = rtcpeer_take(v, "session-error", wait);
    if (!e)
        fail_msg("no session-error within %d ms of the request", wait);
    const char *code = json_string_value(json_object_get(e, "code"));
    assert_non_null(code);
    assert_string_equal(code, timeout[0]);
    json_decref(e);
    /* --session-timeout 2: never earlier than that (timers fire late under
     * load, never early, so only this bound is asserted). */
    assert_true(wsc_now_ms() - start >= 1950);
    json_t *closed = rtcpeer_take(v, "session-closed", robotfix_wait(3000));
    assert_non_null(closed);
    harness_assert_str(closed, "reason", "closed-by-robot");
    json_decref(closed);
    expect_robot_serves(fx);
}

/* ---- a flood of sessions ---- */

#define FLOOD 100
#define ROBOT_MAX_SESSIONS 8

static const char *const flood_cloud_args[] = {"--max-client-sessions", "200",
                                               "--max-robot-sessions", "200", "--rate-limit",
                                               "1000", NULL};
static const char *const flood_robot_args[] = {"--max-sessions", "8", NULL};
static const struct robotfix_config flood_config = {.cloud_args = flood_cloud_args,
                                                    .robot_args = flood_robot_args};

static void test_a_flood_of_sessions_hits_the_robot_limit_and_recovers(void **state)
{
    struct robotfix *fx = *state;
    struct wsc *c = harness_client(fx->cloud.port, NULL, NULL);
    for (int i = 0; i < FLOOD; i++)
        assert_int_equal(wsc_sendf(c, "{\"type\":\"create-session\",\"robotId\":\"%s\","
                                      "\"streamTypes\":[\"color\"],\"requestId\":\"r%d\"}",
                                   fx->robot_id, i),
                         0);
    /* Every session is either offered or refused for the limit (and then
     * closed by the robot). */
    GHashTable *offered = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int created = 0, limited = 0, closed = 0, other_errors = 0;
    int64_t deadline = wsc_now_ms() + robotfix_wait(20000);
    while ((created < FLOOD || (int)g_hash_table_size(offered) + limited < FLOOD ||
            closed < limited) &&
           wsc_now_ms() < deadline) {
        json_t *m = wsc_recv_json(c, (int)(deadline - wsc_now_ms()));
        if (!m)
            break;
        const char *type = json_string_value(json_object_get(m, "type"));
        const char *sid = json_string_value(json_object_get(m, "sessionId"));
        const char *code = json_string_value(json_object_get(m, "code"));
        if (strcmp(type, "session-created") == 0) {
            created++;
        } else if (strcmp(type, "webrtc-offer") == 0 && sid) {
            g_hash_table_add(offered, g_strdup(sid));
        } else if (strcmp(type, "session-error") == 0) {
            if (code && strcmp(code, "session-limit") == 0 && sid)
                limited++;
            else
                other_errors++, fprintf(stderr, "unexpected: %s\n", wsc_last_text(c));
        } else if (strcmp(type, "session-closed") == 0) {
            closed++;
        } else if (strcmp(type, "error") == 0) {
            other_errors++;
            fprintf(stderr, "unexpected: %s\n", wsc_last_text(c));
        }
        json_decref(m);
    }
    fprintf(stderr, "flood: %d created, %u offered, %d refused for the limit, %d closed\n",
            created, g_hash_table_size(offered), limited, closed);
    assert_int_equal(created, FLOOD);
    assert_int_equal(other_errors, 0);
    assert_int_equal(g_hash_table_size(offered), ROBOT_MAX_SESSIONS);
    assert_int_equal(limited, FLOOD - ROBOT_MAX_SESSIONS);
    assert_int_equal(closed, FLOOD - ROBOT_MAX_SESSIONS);
    assert_true(harness_proc_alive(&fx->robot));

    /* The viewer gives up on the sessions it got; the robot is free again. */
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, offered);
    while (g_hash_table_iter_next(&it, &key, NULL))
        assert_int_equal(wsc_sendf(c, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}",
                                   (const char *)key),
                         0);
    int n = 0;
    while (n < ROBOT_MAX_SESSIONS) {
        json_t *m = wsc_expect_type(c, "session-closed", robotfix_wait(3000));
        if (!m)
            fail_msg("%d of %d sessions closed", n, ROBOT_MAX_SESSIONS);
        assert_true(g_hash_table_contains(offered,
                                          json_string_value(json_object_get(m, "sessionId"))));
        json_decref(m);
        n++;
    }
    g_hash_table_destroy(offered);
    wsc_close(c);
    harness_wait_count(fx->cloud.port, "sessions", 0, robotfix_wait(3000));
    expect_robot_serves(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_broken_answers_are_refused_and_a_good_one_still_works,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_a_second_answer_is_refused_and_the_first_stays,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_setup_teardown(
            test_candidates_for_unknown_sessions_are_refused_by_the_cloud, robotfix_setup,
            robotfix_teardown),
        cmocka_unit_test_setup_teardown(
            test_malformed_candidates_are_refused_and_the_session_streams, robotfix_setup,
            robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_candidates_outside_the_allow_list_are_dropped_quietly,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_prestate_setup_teardown(
            test_special_addresses_and_candidates_past_the_cap_are_refused, robotfix_setup,
            robotfix_teardown, (void *)&gate_config),
        cmocka_unit_test_setup_teardown(test_unknown_stream_types_are_refused, robotfix_setup,
                                        robotfix_teardown),
        cmocka_unit_test_setup_teardown(test_an_unknown_device_is_refused_and_the_serial_accepted,
                                        robotfix_setup, robotfix_teardown),
        cmocka_unit_test_prestate_setup_teardown(test_an_unanswered_session_times_out,
                                                 robotfix_setup, robotfix_teardown,
                                                 (void *)&timeout_config),
        cmocka_unit_test_prestate_setup_teardown(
            test_a_flood_of_sessions_hits_the_robot_limit_and_recovers, robotfix_setup,
            robotfix_teardown, (void *)&flood_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
