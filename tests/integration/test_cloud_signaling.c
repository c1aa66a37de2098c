/* test_cloud_signaling.c - porthole-cloud's signaling as docs/PROTOCOL.md
 * describes it: registering, presence, sessions and their relays, isolation
 * between sessions, id ownership, session limits and cleanup. Each test
 * runs against its own fresh server. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "wsclient.h"

#define WAIT HARNESS_WAIT_MS

static struct harness_fixture fx_default = {.args = NULL};
static const char *const client_limit_args[] = {"--max-client-sessions", "2", NULL};
static struct harness_fixture fx_client_limit = {.args = client_limit_args};
static const char *const robot_limit_args[] = {"--max-robot-sessions", "2", NULL};
static struct harness_fixture fx_robot_limit = {.args = robot_limit_args};
static const char *const small_queue_args[] = {"--max-queue", "4k", NULL};
static struct harness_fixture fx_small_queue = {.args = small_queue_args};

/* ---- helpers ---- */

/* The next message on c must be exactly the text want, byte for byte. */
static void expect_text(struct wsc *c, const char *want)
{
    struct wsc_msg m;
    enum wsc_event e = wsc_recv(c, WAIT, &m);
    if (e != WSC_MESSAGE)
        fail_msg("expected the message %s, got event %d", want, (int)e);
    if (m.opcode != WSC_OP_TEXT || m.len != strlen(want) || memcmp(m.data, want, m.len) != 0) {
        print_error("expected: %s\n     got: %s\n", want, m.data);
        wsc_msg_free(&m);
        fail();
    }
    wsc_msg_free(&m);
}

/* Sends text on from and checks that to receives exactly that text. */
static void relay(struct wsc *from, struct wsc *to, const char *text)
{
    assert_int_equal(wsc_send_text(from, text), 0);
    expect_text(to, text);
}

static bool is_base64url(const char *s, size_t len)
{
    if (!s || strlen(s) != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

static void expect_session_closed(struct wsc *c, const char *sid, const char *reason)
{
    json_t *m = harness_expect_next(c, "session-closed");
    harness_assert_str(m, "sessionId", sid);
    harness_assert_str(m, "reason", reason);
    json_decref(m);
}

/* A robot "r", a client and one session between them. */
struct pair {
    struct wsc *robot, *client;
    char *sid;
};

static void open_pair(int port, struct pair *p, const char *robot_id, const char *client_id)
{
    p->robot = harness_robot(port, robot_id, NULL);
    p->client = harness_client(port, client_id, NULL);
    p->sid = harness_open_session(p->client, p->robot, robot_id);
}

static void close_pair(struct pair *p)
{
    wsc_close(p->client);
    wsc_close(p->robot);
    free(p->sid);
}

/* ---- registering and presence ---- */

static void test_robot_register_is_answered_with_registered(void **state)
{
    int port = harness_port(state);
    struct wsc *c = wsc_connect(port, "/ws", WAIT);
    assert_non_null(c);
    assert_int_equal(wsc_send_text(c, "{\"type\":\"robot-register\",\"robotId\":\"robot-123\","
                                      "\"deviceInfo\":{\"name\":\"Intel RealSense D435\","
                                      "\"serial\":\"123\"}}"),
                     0);
    json_t *m = harness_expect_next(c, "registered");
    harness_assert_str(m, "robotId", "robot-123");
    json_decref(m);
    harness_expect_silence(c);
    wsc_close(c);
}

static void test_robot_ids_use_the_whole_name_alphabet(void **state)
{
    int port = harness_port(state);
    const char *id64 = "AZaz09._:@-AZaz09._:@-AZaz09._:@-AZaz09._:@-AZaz09._:@-AZaz09._:";
    assert_int_equal(strlen(id64), 64);
    struct wsc *a = harness_robot(port, id64, NULL);
    struct wsc *b = harness_robot(port, "x", NULL);
    wsc_close(a);
    wsc_close(b);
}

static void test_client_register_lists_online_robots(void **state)
{
    int port = harness_port(state);
    const char *info = "{\"name\":\"demo\",\"nested\":{\"a\":[1,2,3]}}";
    struct wsc *robot = harness_robot(port, "robot-1", info);
    json_t *avail = NULL;
    struct wsc *client = harness_client(port, "viewer-7", &avail);
    harness_assert_str(avail, "clientId", "viewer-7");
    json_t *robots = json_object_get(avail, "robots");
    assert_int_equal(json_array_size(robots), 1);
    json_t *r = json_array_get(robots, 0);
    harness_assert_str(r, "robotId", "robot-1");
    json_t *want = json_loads(info, 0, NULL);
    assert_true(json_equal(json_object_get(r, "deviceInfo"), want));
    assert_true(harness_is_recent_iso8601(json_string_value(json_object_get(r, "connectedAt")),
                                          60));
    json_decref(want);
    json_decref(avail);
    wsc_close(client);
    wsc_close(robot);
}

static void test_client_register_without_robots_lists_none(void **state)
{
    int port = harness_port(state);
    json_t *avail = NULL;
    struct wsc *client = harness_client(port, "viewer-1", &avail);
    assert_int_equal(json_array_size(json_object_get(avail, "robots")), 0);
    json_decref(avail);
    wsc_close(client);
}

static void test_client_without_id_gets_distinct_generated_ids(void **state)
{
    int port = harness_port(state);
    json_t *a1 = NULL, *a2 = NULL;
    struct wsc *c1 = harness_client(port, NULL, &a1);
    struct wsc *c2 = harness_client(port, NULL, &a2);
    const char *id1 = json_string_value(json_object_get(a1, "clientId"));
    const char *id2 = json_string_value(json_object_get(a2, "clientId"));
    assert_non_null(id1);
    assert_non_null(id2);
    assert_true(strncmp(id1, "client-", 7) == 0);
    assert_true(strncmp(id2, "client-", 7) == 0);
    assert_true(strlen(id1) > 7 && strlen(id1) <= 64);
    assert_string_not_equal(id1, id2);
    json_decref(a1);
    json_decref(a2);
    wsc_close(c1);
    wsc_close(c2);
}

static void test_robot_available_is_broadcast_to_registered_clients_only(void **state)
{
    int port = harness_port(state);
    struct wsc *c1 = harness_client(port, "viewer-1", NULL);
    struct wsc *c2 = harness_client(port, "viewer-2", NULL);
    struct wsc *other_robot = harness_robot(port, "robot-0", NULL);
    struct wsc *anonymous = wsc_connect(port, "/ws", WAIT);
    assert_non_null(anonymous);
    struct wsc *clients[] = {c1, c2};
    for (int i = 0; i < 2; i++) {
        json_t *m = harness_expect_next(clients[i], "robot-available");
        harness_assert_str(m, "robotId", "robot-0");
        json_decref(m);
    }

    struct wsc *robot = harness_robot(port, "robot-1", "{\"name\":\"demo\"}");
    for (int i = 0; i < 2; i++) {
        json_t *m = harness_expect_next(clients[i], "robot-available");
        harness_assert_str(m, "robotId", "robot-1");
        harness_assert_str(json_object_get(m, "deviceInfo"), "name", "demo");
        assert_true(harness_is_recent_iso8601(
            json_string_value(json_object_get(m, "connectedAt")), 60));
        json_decref(m);
    }
    harness_expect_silence(anonymous);
    harness_expect_silence(other_robot);
    wsc_close(robot);
    wsc_close(anonymous);
    wsc_close(other_robot);
    wsc_close(c1);
    wsc_close(c2);
}

static void test_robot_unavailable_is_sent_when_the_robot_disconnects(void **state)
{
    int port = harness_port(state);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    json_t *m = harness_expect_next(client, "robot-available");
    json_decref(m);
    wsc_close(robot);
    m = harness_expect_next(client, "robot-unavailable");
    harness_assert_str(m, "robotId", "robot-1");
    json_decref(m);
    wsc_close(client);
}

static void test_robot_unavailable_is_sent_when_the_robot_vanishes_without_close(void **state)
{
    int port = harness_port(state);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    json_decref(harness_expect_next(client, "robot-available"));
    wsc_abort(robot); /* TCP close without a WebSocket close frame */
    json_t *m = harness_expect_next(client, "robot-unavailable");
    harness_assert_str(m, "robotId", "robot-1");
    json_decref(m);
    harness_wait_count(port, "robots", 0, WAIT);
    wsc_close(client);
}

/* ---- sessions ---- */

static void test_create_session_notifies_client_and_robot(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, "viewer-7", NULL);
    assert_int_equal(wsc_send_text(client, "{\"type\":\"create-session\",\"robotId\":\"robot-1\","
                                           "\"streamTypes\":[\"color\",\"depth\"],"
                                           "\"requestId\":\"req-42\"}"),
                     0);
    json_t *created = harness_expect_next(client, "session-created");
    harness_assert_str(created, "robotId", "robot-1");
    harness_assert_str(created, "requestId", "req-42");
    const char *sid = json_string_value(json_object_get(created, "sessionId"));
    assert_true(is_base64url(sid, 22));

    json_t *cs = harness_expect_next(robot, "create-session");
    harness_assert_str(cs, "sessionId", sid);
    harness_assert_str(cs, "clientId", "viewer-7");
    json_t *device = json_object_get(cs, "deviceId");
    assert_non_null(device); /* present, and null */
    assert_true(json_is_null(device));
    json_t *want = json_pack("[s,s]", "color", "depth");
    assert_true(json_equal(json_object_get(cs, "streamTypes"), want));
    json_decref(want);
    json_decref(cs);
    json_decref(created);
    wsc_close(client);
    wsc_close(robot);
}

static void test_create_session_passes_device_id_to_the_robot(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, NULL, NULL);
    assert_int_equal(wsc_send_text(client, "{\"type\":\"create-session\",\"robotId\":\"robot-1\","
                                           "\"streamTypes\":[\"infrared-1\"],"
                                           "\"deviceId\":\"cam-2\"}"),
                     0);
    json_t *created = harness_expect_next(client, "session-created");
    assert_null(json_object_get(created, "requestId"));
    json_t *cs = harness_expect_next(robot, "create-session");
    harness_assert_str(cs, "deviceId", "cam-2");
    harness_assert_str(cs, "sessionId", json_string_value(json_object_get(created, "sessionId")));
    json_decref(cs);
    json_decref(created);
    wsc_close(client);
    wsc_close(robot);
}

/* Writes into buf a webrtc-offer or -answer for sid whose SDP is about
 * sdp_bytes long (a realistic SDP is 2 to 6 KB). */
static void big_description(char *buf, size_t buflen, const char *type, const char *desc,
                            const char *sid, size_t sdp_bytes)
{
    int n = snprintf(buf, buflen, "{\"type\":\"%s\",\"sessionId\":\"%s\",\"%s\":{\"type\":\"%s\","
                     "\"sdp\":\"v=0\\r\\n", type, sid, desc, desc);
    size_t at = (size_t)n;
    for (int line = 0; at + 80 < buflen && at < (size_t)n + sdp_bytes; line++)
        at += (size_t)snprintf(buf + at, buflen - at,
                               "a=candidate:%d 1 udp 2122260223 127.0.0.1 %d typ host\\r\\n",
                               line, 50000 + line);
    snprintf(buf + at, buflen - at, "\"}}");
}

static void test_large_sdps_are_relayed_byte_for_byte(void **state)
{
    /* Bigger than the server's 1 KiB receive chunk: reassembled, still exact. */
    int port = harness_port(state);
    struct pair p;
    open_pair(port, &p, "robot-1", "viewer-1");
    static char offer[8192], answer[8192];
    big_description(offer, sizeof offer, "webrtc-offer", "offer", p.sid, 6000);
    big_description(answer, sizeof answer, "webrtc-answer", "answer", p.sid, 3000);
    relay(p.robot, p.client, offer);
    relay(p.client, p.robot, answer);
    close_pair(&p);
}

static void test_fragmented_offer_is_reassembled_and_relayed(void **state)
{
    int port = harness_port(state);
    struct pair p;
    open_pair(port, &p, "robot-1", "viewer-1");
    static char offer[8192];
    big_description(offer, sizeof offer, "webrtc-offer", "offer", p.sid, 4000);
    size_t len = strlen(offer), third = len / 3;
    assert_int_equal(wsc_send_frame(p.robot, WSC_OP_TEXT, false, offer, third), 0);
    assert_int_equal(wsc_send_frame(p.robot, WSC_OP_CONT, false, offer + third, third), 0);
    assert_int_equal(wsc_send_frame(p.robot, WSC_OP_CONT, true, offer + 2 * third,
                                    len - 2 * third), 0);
    expect_text(p.client, offer);
    close_pair(&p);
}

static void test_offer_is_relayed_to_the_client_byte_for_byte(void **state)
{
    struct pair p;
    open_pair(harness_port(state), &p, "robot-1", "viewer-1");
    char text[1024];
    snprintf(text, sizeof text,
             "{ \"type\" : \"webrtc-offer\",\"sessionId\":\"%s\" ,\"offer\":{\"type\":\"offer\","
             "\"sdp\":\"v=0\\r\\no=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\n\"},"
             "\"extra\":[1,2.50,{\"x\":null}],\"note\":\"\\u00e9t\\u00e9 \xc3\xa9\"}",
             p.sid);
    relay(p.robot, p.client, text);
    harness_expect_silence(p.robot);
    close_pair(&p);
}

static void test_answer_is_relayed_to_the_robot_byte_for_byte(void **state)
{
    struct pair p;
    open_pair(harness_port(state), &p, "robot-1", "viewer-1");
    char text[1024];
    snprintf(text, sizeof text,
             "{\"sessionId\":\"%s\",\"type\":\"webrtc-answer\",\"answer\":{\"sdp\":\"v=0\\r\\n"
             "a=group:BUNDLE 0\\r\\n\",\"type\":\"answer\"},\"clientExtra\":true}",
             p.sid);
    relay(p.client, p.robot, text);
    harness_expect_silence(p.client);
    close_pair(&p);
}

static void test_ice_candidates_are_relayed_in_order_both_ways(void **state)
{
    struct pair p;
    open_pair(harness_port(state), &p, "robot-1", "viewer-1");
    char text[512];
    for (int i = 0; i < 10; i++) {
        snprintf(text, sizeof text,
                 "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\",\"candidate\":{\"candidate\":"
                 "\"candidate:%d 1 udp 2122260223 10.0.0.%d 5%04d typ host\",\"sdpMid\":\"0\","
                 "\"sdpMLineIndex\":0}}",
                 p.sid, i, i, i);
        assert_int_equal(wsc_send_text(p.robot, text), 0);
    }
    for (int i = 0; i < 10; i++) {
        snprintf(text, sizeof text,
                 "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\",\"candidate\":{\"candidate\":"
                 "\"candidate:%d 1 udp 2122260223 192.168.1.%d 6%04d typ host\"}}",
                 p.sid, 100 + i, i, i);
        assert_int_equal(wsc_send_text(p.client, text), 0);
    }
    for (int i = 0; i < 10; i++) {
        snprintf(text, sizeof text,
                 "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\",\"candidate\":{\"candidate\":"
                 "\"candidate:%d 1 udp 2122260223 10.0.0.%d 5%04d typ host\",\"sdpMid\":\"0\","
                 "\"sdpMLineIndex\":0}}",
                 p.sid, i, i, i);
        expect_text(p.client, text);
    }
    for (int i = 0; i < 10; i++) {
        snprintf(text, sizeof text,
                 "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\",\"candidate\":{\"candidate\":"
                 "\"candidate:%d 1 udp 2122260223 192.168.1.%d 6%04d typ host\"}}",
                 p.sid, 100 + i, i, i);
        expect_text(p.robot, text);
    }
    /* end of candidates, both ways */
    snprintf(text, sizeof text, "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\",\"candidate\":null}",
             p.sid);
    relay(p.robot, p.client, text);
    relay(p.client, p.robot, text);
    close_pair(&p);
}

static void test_switch_stream_type_is_relayed_to_the_robot(void **state)
{
    struct pair p;
    open_pair(harness_port(state), &p, "robot-1", "viewer-1");
    char text[256];
    snprintf(text, sizeof text,
             "{\"type\":\"switch-stream-type\",\"sessionId\":\"%s\","
             "\"streamTypes\":[\"depth\",\"infrared-1\"]}", p.sid);
    relay(p.client, p.robot, text);
    snprintf(text, sizeof text,
             "{\"type\":\"stream-type-switched\",\"sessionId\":\"%s\","
             "\"streamTypes\":[\"depth\",\"infrared-1\"]}", p.sid);
    relay(p.robot, p.client, text);
    close_pair(&p);
}

static void test_robot_session_replies_reach_only_their_client(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *mine = harness_client(port, "viewer-mine", NULL);
    struct wsc *other = harness_client(port, "viewer-other", NULL);
    char *sid = harness_open_session(mine, robot, "robot-1");
    char *other_sid = harness_open_session(other, robot, "robot-1");
    assert_string_not_equal(sid, other_sid);

    char text[256];
    snprintf(text, sizeof text,
             "{\"type\":\"stream-type-switched\",\"sessionId\":\"%s\",\"streamTypes\":[\"depth\"]}",
             sid);
    relay(robot, mine, text);
    harness_expect_silence(other);
    snprintf(text, sizeof text,
             "{\"type\":\"stream-type-switch-error\",\"sessionId\":\"%s\","
             "\"error\":\"no such stream: infrared-9\"}", sid);
    relay(robot, mine, text);
    harness_expect_silence(other);
    snprintf(text, sizeof text,
             "{\"type\":\"session-error\",\"sessionId\":\"%s\",\"error\":\"camera busy\"}", sid);
    relay(robot, mine, text);
    harness_expect_silence(other);

    /* a session-error does not end the session */
    snprintf(text, sizeof text,
             "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\","
             "\"sdp\":\"v=0 again\"}}", sid);
    relay(robot, mine, text);
    harness_expect_silence(other);
    harness_wait_count(port, "sessions", 2, 0);

    free(sid);
    free(other_sid);
    wsc_close(mine);
    wsc_close(other);
    wsc_close(robot);
}

static void test_two_sessions_of_one_client_are_routed_to_their_robots(void **state)
{
    int port = harness_port(state);
    struct wsc *r1 = harness_robot(port, "robot-1", NULL);
    struct wsc *r2 = harness_robot(port, "robot-2", NULL);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    char *s1 = harness_open_session(client, r1, "robot-1");
    char *s2 = harness_open_session(client, r2, "robot-2");
    char text[256];
    snprintf(text, sizeof text,
             "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\","
             "\"sdp\":\"for robot 2\"}}", s2);
    relay(client, r2, text);
    harness_expect_silence(r1);
    snprintf(text, sizeof text,
             "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\","
             "\"sdp\":\"for robot 1\"}}", s1);
    relay(client, r1, text);
    harness_expect_silence(r2);
    free(s1);
    free(s2);
    wsc_close(client);
    wsc_close(r1);
    wsc_close(r2);
}

/* One side sends close-session: both sides get session-closed with reason,
 * and the session is gone. */
static void close_from_one_side(int port, bool by_robot, const char *reason)
{
    struct pair p;
    open_pair(port, &p, "robot-1", "viewer-1");
    struct wsc *closer = by_robot ? p.robot : p.client, *other = by_robot ? p.client : p.robot;
    assert_int_equal(wsc_sendf(closer, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}",
                               p.sid), 0);
    expect_session_closed(closer, p.sid, reason);
    expect_session_closed(other, p.sid, reason);
    harness_wait_count(port, "sessions", 0, WAIT);
    close_pair(&p);
}

static void test_close_session_by_client_notifies_both_sides(void **state)
{
    close_from_one_side(harness_port(state), false, "closed-by-client");
}

static void test_close_session_by_robot_notifies_both_sides(void **state)
{
    close_from_one_side(harness_port(state), true, "closed-by-robot");
}

static void test_closed_session_relays_nothing(void **state)
{
    struct pair p;
    open_pair(harness_port(state), &p, "robot-1", "viewer-1");
    assert_int_equal(wsc_sendf(p.client, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}",
                               p.sid), 0);
    expect_session_closed(p.client, p.sid, "closed-by-client");
    expect_session_closed(p.robot, p.sid, "closed-by-client");
    assert_int_equal(wsc_sendf(p.robot, "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\","
                                        "\"candidate\":null}", p.sid), 0);
    json_decref(harness_expect_error(p.robot, "unknown-session", "ice-candidate"));
    assert_int_equal(wsc_sendf(p.client, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}",
                               p.sid), 0);
    json_decref(harness_expect_error(p.client, "unknown-session", "close-session"));
    harness_expect_silence(p.client);
    harness_expect_silence(p.robot);
    close_pair(&p);
}

/* ---- cleanup on disconnect ---- */

static void test_client_disconnect_closes_its_sessions_for_the_robot(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    char *s1 = harness_open_session(client, robot, "robot-1");
    char *s2 = harness_open_session(client, robot, "robot-1");
    harness_wait_count(port, "sessions", 2, 0);
    wsc_close(client);
    /* both sessions end, in either order */
    json_t *a = harness_expect_next(robot, "session-closed");
    json_t *b = harness_expect_next(robot, "session-closed");
    harness_assert_str(a, "reason", "peer-disconnected");
    harness_assert_str(b, "reason", "peer-disconnected");
    const char *ia = json_string_value(json_object_get(a, "sessionId"));
    const char *ib = json_string_value(json_object_get(b, "sessionId"));
    assert_true(ia && ib);
    assert_true((strcmp(ia, s1) == 0 && strcmp(ib, s2) == 0) ||
                (strcmp(ia, s2) == 0 && strcmp(ib, s1) == 0));
    harness_wait_count(port, "sessions", 0, WAIT);
    harness_wait_count(port, "clients", 0, WAIT);
    json_decref(a);
    json_decref(b);
    free(s1);
    free(s2);
    wsc_close(robot);
}


/* The intruder sends each fmt (with the pair's session id) and must get
 * error unknown-session naming types[i]; the pair hears nothing, and
 * their session still relays. */
static void expect_injections_refused(int port, struct pair *p, struct wsc *intruder,
                                      const char *const *fmt, const char *const *types,
                                      size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(wsc_sendf(intruder, fmt[i], p->sid), 0);
        json_decref(harness_expect_error(intruder, "unknown-session", types[i]));
    }
    harness_expect_silence(p->robot);
    harness_expect_silence(p->client);
    char text[256];
    snprintf(text, sizeof text, "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\","
                                "\"candidate\":null}", p->sid);
    relay(p->robot, p->client, text);
    harness_wait_count(port, "sessions", 1, 0);
}
static void test_robot_disconnect_closes_its_sessions_for_the_client(void **state)
{
    int port = harness_port(state);
    struct pair p;
    open_pair(port, &p, "robot-1", "viewer-1");
    wsc_abort(p.robot); /* vanishes without a close frame */
    p.robot = NULL;
    /* session-closed and robot-unavailable, in either order */
    bool closed = false, unavailable = false;
    for (int i = 0; i < 2; i++) {
        json_t *m = wsc_recv_json(p.client, WAIT);
        if (!m)
            fail_msg("expected session-closed and robot-unavailable");
        const char *t = json_string_value(json_object_get(m, "type"));
        if (t && strcmp(t, "session-closed") == 0 && !closed) {
            harness_assert_str(m, "sessionId", p.sid);
            harness_assert_str(m, "reason", "peer-disconnected");
            closed = true;
        } else if (t && strcmp(t, "robot-unavailable") == 0 && !unavailable) {
            harness_assert_str(m, "robotId", "robot-1");
            unavailable = true;
        } else {
            fail_msg("unexpected message: %s", wsc_last_text(p.client));
        }
        json_decref(m);
    }
    harness_wait_count(port, "sessions", 0, WAIT);
    harness_wait_count(port, "robots", 0, WAIT);
    close_pair(&p);
}

/* ---- isolation ---- */

static void test_relay_rejects_foreign_client_in_a_session(void **state)
{
    int port = harness_port(state);
    struct pair p;
    open_pair(port, &p, "robot-1", "viewer-1");
    struct wsc *intruder = harness_client(port, "intruder", NULL);
    const char *fmt[] = {
        ("{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\","
         "\"sdp\":\"evil\"}}"),
        "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\",\"candidate\":{\"candidate\":\"evil\"}}",
        "{\"type\":\"switch-stream-type\",\"sessionId\":\"%s\",\"streamTypes\":[\"depth\"]}",
        "{\"type\":\"close-session\",\"sessionId\":\"%s\"}",
    };
    const char *types[] = {"webrtc-answer", "ice-candidate", "switch-stream-type",
                           "close-session"};
    expect_injections_refused(port, &p, intruder, fmt, types, 4);
    wsc_close(intruder);
    close_pair(&p);
}

static void test_relay_rejects_foreign_robot_in_a_session(void **state)
{
    int port = harness_port(state);
    struct pair p;
    open_pair(port, &p, "robot-1", "viewer-1");
    struct wsc *intruder = harness_robot(port, "robot-evil", NULL);
    json_t *announced = harness_expect_next(p.client, "robot-available");
    harness_assert_str(announced, "robotId", "robot-evil");
    json_decref(announced);
    const char *fmt[] = {
        ("{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\","
         "\"sdp\":\"evil\"}}"),
        "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\",\"candidate\":{\"candidate\":\"evil\"}}",
        "{\"type\":\"stream-type-switched\",\"sessionId\":\"%s\",\"streamTypes\":[\"depth\"]}",
        "{\"type\":\"stream-type-switch-error\",\"sessionId\":\"%s\",\"error\":\"evil\"}",
        "{\"type\":\"session-error\",\"sessionId\":\"%s\",\"error\":\"evil\"}",
        "{\"type\":\"close-session\",\"sessionId\":\"%s\"}",
    };
    const char *types[] = {"webrtc-offer", "ice-candidate", "stream-type-switched",
                           "stream-type-switch-error", "session-error", "close-session"};
    expect_injections_refused(port, &p, intruder, fmt, types, 6);
    wsc_close(intruder);
    close_pair(&p);
}

static void test_unknown_session_id_is_refused(void **state)
{
    int port = harness_port(state);
    struct pair p;
    open_pair(port, &p, "robot-1", "viewer-1");
    const char *bogus = "AAAAAAAAAAAAAAAAAAAAAA";
    assert_int_equal(wsc_sendf(p.client, "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\","
                                         "\"candidate\":null,\"requestId\":\"q1\"}", bogus), 0);
    json_t *e = harness_expect_error(p.client, "unknown-session", "ice-candidate");
    harness_assert_str(e, "requestId", "q1");
    json_decref(e);
    assert_int_equal(wsc_sendf(p.robot, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\","
                                        "\"offer\":{\"type\":\"offer\",\"sdp\":\"x\"}}", bogus), 0);
    json_decref(harness_expect_error(p.robot, "unknown-session", "webrtc-offer"));
    harness_expect_silence(p.client);
    harness_expect_silence(p.robot);
    close_pair(&p);
}

/* ---- id ownership ---- */

static void test_robot_id_takeover_is_refused_and_the_holder_keeps_working(void **state)
{
    int port = harness_port(state);
    struct wsc *holder = harness_robot(port, "robot-1", NULL);
    struct wsc *thief = wsc_connect(port, "/ws", WAIT);
    assert_non_null(thief);
    assert_int_equal(wsc_send_text(thief, "{\"type\":\"robot-register\",\"robotId\":\"robot-1\"}"),
                     0);
    json_decref(harness_expect_error(thief, "robot-id-in-use", "robot-register"));
    harness_expect_silence(holder);

    struct wsc *client = harness_client(port, "viewer-1", NULL);
    char *sid = harness_open_session(client, holder, "robot-1");
    harness_expect_silence(thief);
    free(sid);
    wsc_close(client);
    wsc_close(thief);
    wsc_close(holder);
}

static void test_robot_id_is_free_again_after_the_holder_leaves(void **state)
{
    int port = harness_port(state);
    struct wsc *holder = harness_robot(port, "robot-1", NULL);
    wsc_close(holder);
    harness_wait_count(port, "robots", 0, WAIT);
    struct wsc *again = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, NULL, NULL);
    char *sid = harness_open_session(client, again, "robot-1");
    free(sid);
    wsc_close(client);
    wsc_close(again);
}

static void test_client_id_takeover_is_refused_and_the_holder_keeps_working(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *holder = harness_client(port, "viewer-1", NULL);
    struct wsc *thief = wsc_connect(port, "/ws", WAIT);
    assert_non_null(thief);
    assert_int_equal(wsc_send_text(thief, "{\"type\":\"client-register\",\"clientId\":\"viewer-1\"}"),
                     0);
    json_decref(harness_expect_error(thief, "client-id-in-use", "client-register"));
    char *sid = harness_open_session(holder, robot, "robot-1");
    harness_expect_silence(thief);
    free(sid);
    wsc_close(thief);
    wsc_close(holder);
    wsc_close(robot);
}

static void test_client_id_is_free_again_after_the_holder_leaves(void **state)
{
    int port = harness_port(state);
    struct wsc *holder = harness_client(port, "viewer-1", NULL);
    wsc_close(holder);
    harness_wait_count(port, "clients", 0, WAIT);
    struct wsc *again = harness_client(port, "viewer-1", NULL);
    wsc_close(again);
}

/* ---- create-session failures and limits ---- */

static void test_session_for_an_unknown_robot_is_robot_not_found(void **state)
{
    int port = harness_port(state);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    assert_int_equal(wsc_send_text(client, "{\"type\":\"create-session\",\"robotId\":\"ghost\","
                                           "\"streamTypes\":[\"color\"],\"requestId\":\"r1\"}"),
                     0);
    json_t *m = harness_expect_next(client, "session-error");
    harness_assert_str(m, "code", "robot-not-found");
    harness_assert_str(m, "requestId", "r1");
    const char *err = json_string_value(json_object_get(m, "error"));
    assert_non_null(err);
    assert_non_null(strstr(err, "ghost"));
    json_decref(m);
    harness_wait_count(port, "sessions", 0, 0);
    wsc_close(client);
}

static void test_client_session_limit_is_session_limit(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    char *s1 = harness_open_session(client, robot, "robot-1");
    char *s2 = harness_open_session(client, robot, "robot-1");
    assert_int_equal(wsc_send_text(client, "{\"type\":\"create-session\",\"robotId\":\"robot-1\","
                                           "\"streamTypes\":[\"color\"],\"requestId\":\"third\"}"),
                     0);
    json_t *m = harness_expect_next(client, "session-error");
    harness_assert_str(m, "code", "session-limit");
    harness_assert_str(m, "requestId", "third");
    json_decref(m);
    harness_expect_silence(robot);
    harness_wait_count(port, "sessions", 2, 0);

    /* another client is not limited by this one */
    struct wsc *other = harness_client(port, "viewer-2", NULL);
    char *s3 = harness_open_session(other, robot, "robot-1");

    /* closing one frees a slot */
    assert_int_equal(wsc_sendf(client, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}", s1),
                     0);
    expect_session_closed(client, s1, "closed-by-client");
    expect_session_closed(robot, s1, "closed-by-client");
    char *s4 = harness_open_session(client, robot, "robot-1");
    free(s1);
    free(s2);
    free(s3);
    free(s4);
    wsc_close(other);
    wsc_close(client);
    wsc_close(robot);
}

static void test_robot_session_limit_is_session_limit(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *c1 = harness_client(port, NULL, NULL);
    struct wsc *c2 = harness_client(port, NULL, NULL);
    struct wsc *c3 = harness_client(port, NULL, NULL);
    char *s1 = harness_open_session(c1, robot, "robot-1");
    char *s2 = harness_open_session(c2, robot, "robot-1");
    assert_int_equal(wsc_send_text(c3, "{\"type\":\"create-session\",\"robotId\":\"robot-1\","
                                       "\"streamTypes\":[\"color\"],\"requestId\":\"r3\"}"),
                     0);
    json_t *m = harness_expect_next(c3, "session-error");
    harness_assert_str(m, "code", "session-limit");
    harness_assert_str(m, "requestId", "r3");
    json_decref(m);
    harness_expect_silence(robot);
    wsc_close(c1);
    expect_session_closed(robot, s1, "peer-disconnected");
    char *s3 = harness_open_session(c3, robot, "robot-1");
    free(s1);
    free(s2);
    free(s3);
    wsc_close(c2);
    wsc_close(c3);
    wsc_close(robot);
}

static void test_session_ids_are_22_char_base64url_and_distinct(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *c1 = harness_client(port, NULL, NULL);
    struct wsc *c2 = harness_client(port, NULL, NULL);
    char *ids[20];
    for (int i = 0; i < 20; i++) {
        ids[i] = harness_open_session(i % 2 ? c2 : c1, robot, "robot-1");
        if (!is_base64url(ids[i], 22))
            fail_msg("session id '%s' is not 22 characters of base64url", ids[i]);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    }
    harness_wait_count(port, "sessions", 20, 0);
    for (int i = 0; i < 20; i++)
        free(ids[i]);
    wsc_close(c1);
    wsc_close(c2);
    harness_wait_count(port, "sessions", 0, WAIT);
    wsc_close(robot);
}

/* ---- shutdown ---- */

static void test_shutdown_closes_sessions_with_server_shutdown_and_exits_zero(void **state)
{
    struct harness_fixture *fx = *state;
    struct pair p;
    open_pair(fx->cloud.port, &p, "robot-1", "viewer-1");
    assert_int_equal(kill(fx->cloud.pid, SIGTERM), 0);
    json_t *m = wsc_expect_type(p.client, "session-closed", WAIT);
    assert_non_null(m);
    harness_assert_str(m, "sessionId", p.sid);
    harness_assert_str(m, "reason", "server-shutdown");
    json_decref(m);
    m = wsc_expect_type(p.robot, "session-closed", WAIT);
    assert_non_null(m);
    harness_assert_str(m, "reason", "server-shutdown");
    json_decref(m);
    assert_true(wsc_expect_close(p.client, WAIT) != -2);
    assert_true(wsc_expect_close(p.robot, WAIT) != -2);
    assert_int_equal(harness_wait_exit(&fx->cloud, 5000), 0);
    close_pair(&p);
}

static void test_robot_list_larger_than_max_queue_still_arrives(void **state)
{
    /* Ten robots with 600-byte device infos make a list over 6 KB, more
     * than --max-queue 4k: one message alone may pass the queue limit. */
    int port = harness_port(state);
    char info[700], id[16];
    snprintf(info, sizeof info, "{\"name\":\"%0600d\"}", 7);
    struct wsc *robots[10];
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "robot-%d", i);
        robots[i] = harness_robot(port, id, info);
    }
    json_t *list = NULL;
    struct wsc *client = harness_client(port, "viewer-1", &list);
    assert_int_equal(json_array_size(json_object_get(list, "robots")), 10);
    json_decref(list);
    wsc_close(client);
    for (int i = 0; i < 10; i++)
        wsc_close(robots[i]);
}

#define T(f) cmocka_unit_test_prestate_setup_teardown(f, harness_setup, harness_teardown, &fx_default)
#define T_WITH(f, fx) cmocka_unit_test_prestate_setup_teardown(f, harness_setup, harness_teardown, &fx)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_WITH(test_robot_list_larger_than_max_queue_still_arrives, fx_small_queue),
        T(test_robot_register_is_answered_with_registered),
        T(test_robot_ids_use_the_whole_name_alphabet),
        T(test_client_register_lists_online_robots),
        T(test_client_register_without_robots_lists_none),
        T(test_client_without_id_gets_distinct_generated_ids),
        T(test_robot_available_is_broadcast_to_registered_clients_only),
        T(test_robot_unavailable_is_sent_when_the_robot_disconnects),
        T(test_robot_unavailable_is_sent_when_the_robot_vanishes_without_close),
        T(test_create_session_notifies_client_and_robot),
        T(test_create_session_passes_device_id_to_the_robot),
        T(test_offer_is_relayed_to_the_client_byte_for_byte),
        T(test_large_sdps_are_relayed_byte_for_byte),
        T(test_fragmented_offer_is_reassembled_and_relayed),
        T(test_answer_is_relayed_to_the_robot_byte_for_byte),
        T(test_ice_candidates_are_relayed_in_order_both_ways),
        T(test_switch_stream_type_is_relayed_to_the_robot),
        T(test_robot_session_replies_reach_only_their_client),
        T(test_two_sessions_of_one_client_are_routed_to_their_robots),
        T(test_close_session_by_client_notifies_both_sides),
        T(test_close_session_by_robot_notifies_both_sides),
        T(test_closed_session_relays_nothing),
        T(test_client_disconnect_closes_its_sessions_for_the_robot),
        T(test_robot_disconnect_closes_its_sessions_for_the_client),
        T(test_relay_rejects_foreign_client_in_a_session),
        T(test_relay_rejects_foreign_robot_in_a_session),
        T(test_unknown_session_id_is_refused),
        T(test_robot_id_takeover_is_refused_and_the_holder_keeps_working),
        T(test_robot_id_is_free_again_after_the_holder_leaves),
        T(test_client_id_takeover_is_refused_and_the_holder_keeps_working),
        T(test_client_id_is_free_again_after_the_holder_leaves),
        T(test_session_for_an_unknown_robot_is_robot_not_found),
        T_WITH(test_client_session_limit_is_session_limit, fx_client_limit),
        T_WITH(test_robot_session_limit_is_session_limit, fx_robot_limit),
        T(test_session_ids_are_22_char_base64url_and_distinct),
        T(test_shutdown_closes_sessions_with_server_shutdown_and_exits_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
