/* test_cloud_bad_input.c - porthole-cloud against bad and abusive peers:
 * every row of the "Errors" and "Limits and closing codes" tables of
 * docs/PROTOCOL.md, bad command-line flags, and proof after each abuse
 * that the server still serves (/health and a whole session). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "wsclient.h"

#define WAIT HARNESS_WAIT_MS

static struct harness_fixture fx_default = {.args = NULL};
static const char *const small_args[] = {"--max-message", "4k", NULL};
static struct harness_fixture fx_small = {.args = small_args};
static const char *const rate_args[] = {"--rate-limit", "20", NULL};
static struct harness_fixture fx_rate = {.args = rate_args};
static const char *const ping_args[] = {"--ping-interval", "1", NULL};
static struct harness_fixture fx_ping = {.args = ping_args};
static const char *const queue_args[] = {"--max-queue", "256k", "--rate-limit", "0", NULL};
static struct harness_fixture fx_queue = {.args = queue_args};
static const char *const conn_args[] = {"--max-connections", "2", NULL};
static struct harness_fixture fx_conns = {.args = conn_args};

/* ---- helpers ---- */

/* Sends text on c; the reply must be an error with code and request_type
 * (NULL: none), and when field is not NULL its message must name it. */
static void expect_refused(struct wsc *c, const char *text, const char *code,
                           const char *request_type, const char *field)
{
    if (wsc_send_text(c, text) != 0)
        fail_msg("cannot send %s", text);
    json_t *m = wsc_recv_json(c, WAIT);
    if (!m)
        fail_msg("no reply to %s", text);
    const char *type = json_string_value(json_object_get(m, "type"));
    const char *got = json_string_value(json_object_get(m, "code"));
    const char *msg = json_string_value(json_object_get(m, "message"));
    const char *rt = json_string_value(json_object_get(m, "requestType"));
    bool ok = type && strcmp(type, "error") == 0 && got && strcmp(got, code) == 0 && msg &&
              *msg && (request_type ? rt && strcmp(rt, request_type) == 0
                                    : !json_object_get(m, "requestType")) &&
              (!field || strstr(msg, field));
    if (!ok) {
        print_error("sent:     %.300s\nexpected: error '%s' (requestType %s%s%s)\ngot:      %s\n",
                    text, code, request_type ? request_type : "absent",
                    field ? ", message naming " : "", field ? field : "", wsc_last_text(c));
        json_decref(m);
        fail();
    }
    json_decref(m);
}

#define expect_invalid_field(c, text, request_type, field) \
    expect_refused((c), (text), "invalid-field", (request_type), (field))

/* A registered client still gets answers: create-session for a robot that
 * is not online is answered with session-error robot-not-found. */
static void expect_client_served(struct wsc *client)
{
    assert_int_equal(wsc_send_text(client, "{\"type\":\"create-session\",\"robotId\":\"nobody\","
                                           "\"streamTypes\":[\"color\"],\"requestId\":\"probe\"}"),
                     0);
    json_t *m = harness_expect_next(client, "session-error");
    harness_assert_str(m, "code", "robot-not-found");
    harness_assert_str(m, "requestId", "probe");
    json_decref(m);
}

/* An unregistered connection still gets answers: it can register. */
static void expect_unregistered_served(struct wsc *c)
{
    assert_int_equal(wsc_send_text(c, "{\"type\":\"client-register\"}"), 0);
    json_t *m = harness_expect_next(c, "available-robots");
    json_decref(m);
}

static struct wsc *connect_ws(int port)
{
    struct wsc *c = wsc_connect(port, "/ws", WAIT);
    if (!c)
        fail_msg("cannot open a WebSocket on port %d", port);
    return c;
}

/* A string of n copies of ch (malloc'd). */
static char *repeat(char ch, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* ---- errors: JSON and envelope ---- */

static void test_malformed_json_is_invalid_json_with_line_and_column(void **state)
{
    struct wsc *c = connect_ws(harness_port(state));
    assert_int_equal(wsc_send_text(c, "{\"type\": \"client-register\",\n  oops}"), 0);
    json_t *m = harness_expect_error(c, "invalid-json", NULL);
    const char *msg = json_string_value(json_object_get(m, "message"));
    if (!strcasestr(msg, "line") || !strcasestr(msg, "col"))
        fail_msg("invalid-json message gives no line and column: %s", msg);
    assert_non_null(strchr(msg, '2')); /* the error is on line 2 */
    assert_null(json_object_get(m, "requestId"));
    json_decref(m);
    expect_unregistered_served(c);
    wsc_close(c);
}

static void test_other_unparsable_texts_are_invalid_json(void **state)
{
    struct wsc *c = connect_ws(harness_port(state));
    const char *texts[] = {"", " ", "{", "{\"type\":\"client-register\"} trailing",
                           "{'type':'client-register'}", "{\"type\":\"x\",}", "nul"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        expect_refused(c, texts[i], "invalid-json", NULL, NULL);
    expect_unregistered_served(c);
    wsc_close(c);
}

static void test_deeply_nested_json_is_refused_and_harmless(void **state)
{
    int port = harness_port(state);
    struct wsc *c = connect_ws(port);
    char *deep = repeat('[', 30000);
    assert_int_equal(wsc_send_text(c, deep), 0);
    free(deep);
    json_t *m = harness_expect_next(c, "error");
    const char *code = json_string_value(json_object_get(m, "code"));
    assert_non_null(code);
    if (strcmp(code, "invalid-json") != 0 && strcmp(code, "invalid-message") != 0)
        fail_msg("30000 '[' got error code %s", code);
    json_decref(m);
    expect_unregistered_served(c);
    wsc_close(c);
    harness_check_alive(port);
}

static void test_non_object_json_is_invalid_message(void **state)
{
    struct wsc *c = connect_ws(harness_port(state));
    const char *texts[] = {"[1]", "\"x\"", "3", "null", "true", "[{\"type\":\"client-register\"}]"};
    int wrong = 0;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        assert_int_equal(wsc_send_text(c, texts[i]), 0);
        json_t *m = harness_expect_next(c, "error");
        const char *code = json_string_value(json_object_get(m, "code"));
        if (!code || strcmp(code, "invalid-message") != 0) {
            print_error("%s: expected invalid-message, got %s\n", texts[i], wsc_last_text(c));
            wrong++;
        }
        json_decref(m);
    }
    expect_unregistered_served(c);
    wsc_close(c);
    assert_int_equal(wrong, 0);
}

static void test_object_without_string_type_is_invalid_message(void **state)
{
    struct wsc *c = connect_ws(harness_port(state));
    const char *texts[] = {"{}", "{\"robotId\":\"r1\"}", "{\"type\":3}", "{\"type\":null}",
                           "{\"type\":[\"client-register\"]}", "{\"type\":{}}", "{\"Type\":\"client-register\"}"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        expect_refused(c, texts[i], "invalid-message", NULL, NULL);
    expect_unregistered_served(c);
    wsc_close(c);
}

static void test_unknown_type_is_unknown_type_with_request_type(void **state)
{
    struct wsc *c = connect_ws(harness_port(state));
    expect_refused(c, "{\"type\":\"fly\"}", "unknown-type", "fly", NULL);
    expect_refused(c, "{\"type\":\"Robot-Register\",\"robotId\":\"r1\"}", "unknown-type",
                   "Robot-Register", NULL);
    /* a type too long to echo (over 64 bytes) is reported without requestType */
    char *long_type = repeat('t', 100);
    char text[160];
    snprintf(text, sizeof text, "{\"type\":\"%s\"}", long_type);
    free(long_type);
    expect_refused(c, text, "unknown-type", NULL, NULL);
    expect_unregistered_served(c);
    expect_refused(c, "{\"type\":\"teleport\",\"sessionId\":\"x\"}", "unknown-type", "teleport",
                   NULL);
    expect_client_served(c);
    wsc_close(c);
}

static void test_errors_echo_the_request_id(void **state)
{
    struct wsc *c = connect_ws(harness_port(state));
    assert_int_equal(wsc_send_text(c, "{\"type\":\"client-register\",\"clientId\":5,"
                                      "\"requestId\":\"abc-1\"}"), 0);
    json_t *m = harness_expect_error(c, "invalid-field", "client-register");
    harness_assert_str(m, "requestId", "abc-1");
    json_decref(m);
    assert_int_equal(wsc_send_text(c, "{\"type\":\"create-session\",\"robotId\":\"r1\","
                                      "\"streamTypes\":[\"color\"],\"requestId\":\"abc-2\"}"),
                     0);
    m = harness_expect_error(c, "not-registered", "create-session");
    harness_assert_str(m, "requestId", "abc-2");
    json_decref(m);
    wsc_close(c);
}

/* ---- errors: fields ---- */

static void test_robot_register_with_bad_fields_is_invalid_field(void **state)
{
    struct wsc *c = connect_ws(harness_port(state));
    char *id65 = repeat('r', 65);
    char text[256];
    const char *bad_ids[] = {"42", "null", "\"\"", "\"a b\"", "\"robot/1\"", "\"r\\u00e9\"",
                             "[\"r1\"]", "{}", "true"};
    expect_invalid_field(c, "{\"type\":\"robot-register\"}", "robot-register", "robotId");
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        snprintf(text, sizeof text, "{\"type\":\"robot-register\",\"robotId\":%s}", bad_ids[i]);
        expect_invalid_field(c, text, "robot-register", "robotId");
    }
    snprintf(text, sizeof text, "{\"type\":\"robot-register\",\"robotId\":\"%s\"}", id65);
    expect_invalid_field(c, text, "robot-register", "robotId");
    const char *bad_info[] = {"\"x\"", "[1]", "5", "true"};
    for (size_t i = 0; i < sizeof bad_info / sizeof bad_info[0]; i++) {
        snprintf(text, sizeof text,
                 "{\"type\":\"robot-register\",\"robotId\":\"r1\",\"deviceInfo\":%s}", bad_info[i]);
        expect_invalid_field(c, text, "robot-register", "deviceInfo");
    }
    free(id65);
    /* none of these registered it: a valid registration now works */
    assert_int_equal(wsc_send_text(c, "{\"type\":\"robot-register\",\"robotId\":\"r1\"}"), 0);
    json_t *m = harness_expect_next(c, "registered");
    harness_assert_str(m, "robotId", "r1");
    json_decref(m);
    wsc_close(c);
}

static void test_client_register_with_bad_fields_is_invalid_field(void **state)
{
    struct wsc *c = connect_ws(harness_port(state));
    char *id65 = repeat('c', 65);
    char text[256];
    const char *bad_ids[] = {"42", "\"\"", "\"a b\"", "\"viewer#1\"", "[\"v\"]", "{}"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        snprintf(text, sizeof text, "{\"type\":\"client-register\",\"clientId\":%s}", bad_ids[i]);
        expect_invalid_field(c, text, "client-register", "clientId");
    }
    snprintf(text, sizeof text, "{\"type\":\"client-register\",\"clientId\":\"%s\"}", id65);
    expect_invalid_field(c, text, "client-register", "clientId");
    free(id65);
    assert_int_equal(wsc_send_text(c, "{\"type\":\"client-register\",\"clientId\":\"v1\"}"), 0);
    json_t *m = harness_expect_next(c, "available-robots");
    harness_assert_str(m, "clientId", "v1");
    json_decref(m);
    wsc_close(c);
}

static void test_create_session_with_bad_fields_is_invalid_field(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "r1", NULL);
    struct wsc *client = harness_client(port, "v1", NULL);
    char *long65 = repeat('r', 65);
    char *long33 = repeat('s', 33);
    char text[512];
    struct { const char *fields; const char *field; } cases[] = {
        {"\"streamTypes\":[\"color\"]", "robotId"},
        {"\"robotId\":5,\"streamTypes\":[\"color\"]", "robotId"},
        {"\"robotId\":\"a b\",\"streamTypes\":[\"color\"]", "robotId"},
        {"\"robotId\":null,\"streamTypes\":[\"color\"]", "robotId"},
        {"\"robotId\":\"r1\"", "streamTypes"},
        {"\"robotId\":\"r1\",\"streamTypes\":\"color\"", "streamTypes"},
        {"\"robotId\":\"r1\",\"streamTypes\":{}", "streamTypes"},
        {"\"robotId\":\"r1\",\"streamTypes\":[]", "streamTypes"},
        {"\"robotId\":\"r1\",\"streamTypes\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]",
         "streamTypes"},
        {"\"robotId\":\"r1\",\"streamTypes\":[1]", "streamTypes"},
        {"\"robotId\":\"r1\",\"streamTypes\":[\"color\",null]", "streamTypes"},
        {"\"robotId\":\"r1\",\"streamTypes\":[\"\"]", "streamTypes"},
        {"\"robotId\":\"r1\",\"streamTypes\":[\"a b\"]", "streamTypes"},
        {"\"robotId\":\"r1\",\"streamTypes\":[\"color\"],\"deviceId\":5", "deviceId"},
        {"\"robotId\":\"r1\",\"streamTypes\":[\"color\"],\"deviceId\":{}", "deviceId"},
        {"\"robotId\":\"r1\",\"streamTypes\":[\"color\"],\"requestId\":5", "requestId"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "{\"type\":\"create-session\",%s}", cases[i].fields);
        expect_invalid_field(client, text, "create-session", cases[i].field);
    }
    snprintf(text, sizeof text,
             "{\"type\":\"create-session\",\"robotId\":\"%s\",\"streamTypes\":[\"color\"]}", long65);
    expect_invalid_field(client, text, "create-session", "robotId");
    snprintf(text, sizeof text,
             "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"%s\"]}", long33);
    expect_invalid_field(client, text, "create-session", "streamTypes");
    snprintf(text, sizeof text,
             "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"color\"],"
             "\"requestId\":\"%s\"}", long65);
    expect_invalid_field(client, text, "create-session", "requestId");
    /* the requestId of a refused create-session is echoed */
    assert_int_equal(wsc_send_text(client, "{\"type\":\"create-session\",\"robotId\":\"r1\","
                                           "\"streamTypes\":[],\"requestId\":\"r-7\"}"), 0);
    json_t *m = harness_expect_error(client, "invalid-field", "create-session");
    harness_assert_str(m, "requestId", "r-7");
    json_decref(m);
    harness_expect_silence(robot);

    /* the limits themselves are accepted: 8 types, 32 characters */
    long33[32] = '\0';
    snprintf(text, sizeof text,
             "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"%s\",\"b\",\"c\","
             "\"d\",\"e\",\"f\",\"g\",\"h\"]}", long33);
    assert_int_equal(wsc_send_text(client, text), 0);
    m = harness_expect_next(client, "session-created");
    json_decref(m);
    m = harness_expect_next(robot, "create-session");
    assert_int_equal(json_array_size(json_object_get(m, "streamTypes")), 8);
    json_decref(m);
    free(long65);
    free(long33);
    wsc_close(client);
    wsc_close(robot);
}

/* Sends {"type":type,<body>} on from for each of the n bodies (each holds
 * one %s, filled with sid): every reply must be invalid-field naming field.
 * The caller checks afterwards that the peer received none of them. */
static void expect_relay_refusals(struct wsc *from, const char *sid, const char *type,
                                  const char *const *bodies, size_t n, const char *field)
{
    for (size_t i = 0; i < n; i++) {
        char text[512];
        snprintf(text, sizeof text, "{\"type\":\"%s\",%s}", type, bodies[i]);
        char *filled = NULL;
        assert_true(asprintf(&filled, text, sid) > 0);
        expect_invalid_field(from, filled, type, field);
        free(filled);
    }
}

/* After refused messages, the peer at `to` has heard nothing: its next
 * message is a valid description sent by `from`, and the session remains.
 * Frees sid and closes both connections. */
static void expect_session_intact(int port, struct wsc *from, struct wsc *to, char *sid,
                                  const char *type, const char *desc)
{
    assert_int_equal(wsc_sendf(from, "{\"type\":\"%s\",\"sessionId\":\"%s\",\"%s\":"
                                     "{\"type\":\"%s\",\"sdp\":\"v=0 valid\"}}",
                               type, sid, desc, desc), 0);
    json_t *m = harness_expect_next(to, type);
    harness_assert_str(json_object_get(m, desc), "sdp", "v=0 valid");
    json_decref(m);
    harness_wait_count(port, "sessions", 1, 0);
    free(sid);
    wsc_close(from);
    wsc_close(to);
}

static void test_robot_relay_messages_with_bad_fields_are_invalid_field(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "r1", NULL);
    struct wsc *client = harness_client(port, "v1", NULL);
    char *sid = harness_open_session(client, robot, "r1");

    /* (each body takes the session id once; where the test is about a
     * missing or ill-typed sessionId, the id goes into an ignored field) */
    const char *bad_sid[] = {"\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\"},\"x\":\"%s\"",
                             "\"sessionId\":5,\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\"},\"x\":\"%s\"",
                             "\"sessionId\":null,\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\"},\"x\":\"%s\""};
    expect_relay_refusals(robot, sid, "webrtc-offer", bad_sid, 3, "sessionId");
    const char *bad_offer[] = {"\"sessionId\":\"%s\"",
                               "\"sessionId\":\"%s\",\"offer\":\"v=0\"",
                               "\"sessionId\":\"%s\",\"offer\":null",
                               "\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\"}",
                               "\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\",\"sdp\":5}"};
    expect_relay_refusals(robot, sid, "webrtc-offer", bad_offer, 5, "offer");
    const char *bad_ice[] = {"\"sessionId\":\"%s\"",
                             "\"sessionId\":\"%s\",\"candidate\":\"candidate:1\"",
                             "\"sessionId\":\"%s\",\"candidate\":5",
                             "\"sessionId\":\"%s\",\"candidate\":{}",
                             "\"sessionId\":\"%s\",\"candidate\":{\"candidate\":5}"};
    expect_relay_refusals(robot, sid, "ice-candidate", bad_ice, 5, "candidate");
    const char *bad_switched[] = {"\"sessionId\":\"%s\"",
                                  "\"sessionId\":\"%s\",\"streamTypes\":[]",
                                  "\"sessionId\":\"%s\",\"streamTypes\":\"depth\""};
    expect_relay_refusals(robot, sid, "stream-type-switched", bad_switched, 3, "streamTypes");
    const char *bad_error[] = {"\"sessionId\":\"%s\"", "\"sessionId\":\"%s\",\"error\":5",
                               "\"sessionId\":\"%s\",\"error\":{}"};
    expect_relay_refusals(robot, sid, "stream-type-switch-error", bad_error, 3, "error");
    expect_relay_refusals(robot, sid, "session-error", bad_error, 3, "error");
    const char *bad_close[] = {"\"x\":\"%s\"", "\"sessionId\":7,\"x\":\"%s\""};
    expect_relay_refusals(robot, sid, "close-session", bad_close, 2, "sessionId");

    /* the client got none of that: its next message is the valid offer */
    expect_session_intact(port, robot, client, sid, "webrtc-offer", "offer");
}

static void test_client_relay_messages_with_bad_fields_are_invalid_field(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "r1", NULL);
    struct wsc *client = harness_client(port, "v1", NULL);
    char *sid = harness_open_session(client, robot, "r1");

    const char *bad_answer[] = {"\"sessionId\":\"%s\"",
                                "\"sessionId\":\"%s\",\"answer\":\"v=0\"",
                                "\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\"}",
                                "\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\",\"sdp\":[]}"};
    expect_relay_refusals(client, sid, "webrtc-answer", bad_answer, 4, "answer");
    const char *bad_answer_sid[] = {"\"answer\":{\"type\":\"answer\",\"sdp\":\"v=0\"},\"x\":\"%s\"",
                                    "\"sessionId\":[],\"answer\":{\"type\":\"answer\",\"sdp\":\"v=0\"},\"x\":\"%s\""};
    expect_relay_refusals(client, sid, "webrtc-answer", bad_answer_sid, 2, "sessionId");
    const char *bad_ice[] = {"\"sessionId\":\"%s\"",
                             "\"sessionId\":\"%s\",\"candidate\":[]",
                             "\"sessionId\":\"%s\",\"candidate\":{\"sdpMid\":\"0\"}"};
    expect_relay_refusals(client, sid, "ice-candidate", bad_ice, 3, "candidate");
    const char *bad_switch[] = {"\"sessionId\":\"%s\"",
                                "\"sessionId\":\"%s\",\"streamTypes\":[]",
                                ("\"sessionId\":\"%s\",\"streamTypes\":[\"a\",\"b\",\"c\",\"d\","
                                 "\"e\",\"f\",\"g\",\"h\",\"i\"]"),
                                "\"sessionId\":\"%s\",\"streamTypes\":[\"bad type\"]"};
    expect_relay_refusals(client, sid, "switch-stream-type", bad_switch, 4, "streamTypes");
    const char *bad_close[] = {"\"x\":\"%s\"", "\"sessionId\":{},\"x\":\"%s\""};
    expect_relay_refusals(client, sid, "close-session", bad_close, 2, "sessionId");

    expect_session_intact(port, client, robot, sid, "webrtc-answer", "answer");
}

static void test_malformed_session_id_is_refused(void **state)
{
    /* A sessionId that cannot be one (wrong length or alphabet) is refused;
     * PROTOCOL.md allows invalid-field (bad syntax) or unknown-session. */
    int port = harness_port(state);
    struct wsc *client = harness_client(port, "v1", NULL);
    const char *ids[] = {"abc", "", "AAAAAAAAAAAAAAAAAAAAA+", "AAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        assert_int_equal(wsc_sendf(client, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}",
                                   ids[i]), 0);
        json_t *m = harness_expect_next(client, "error");
        const char *code = json_string_value(json_object_get(m, "code"));
        if (!code || (strcmp(code, "invalid-field") != 0 && strcmp(code, "unknown-session") != 0))
            fail_msg("sessionId '%s': %s", ids[i], wsc_last_text(client));
        harness_assert_str(m, "requestType", "close-session");
        json_decref(m);
    }
    expect_client_served(client);
    wsc_close(client);
}

/* ---- errors: roles and registration ---- */

static void test_messages_before_registering_are_not_registered(void **state)
{
    struct wsc *c = connect_ws(harness_port(state));
    const char *sid = "AAAAAAAAAAAAAAAAAAAAAA";
    char text[256];
    expect_refused(c, "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"color\"]}",
                   "not-registered", "create-session", NULL);
    snprintf(text, sizeof text, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":"
                                "{\"type\":\"offer\",\"sdp\":\"v=0\"}}", sid);
    expect_refused(c, text, "not-registered", "webrtc-offer", NULL);
    snprintf(text, sizeof text, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":"
                                "{\"type\":\"answer\",\"sdp\":\"v=0\"}}", sid);
    expect_refused(c, text, "not-registered", "webrtc-answer", NULL);
    snprintf(text, sizeof text, "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\","
                                "\"candidate\":null}", sid);
    expect_refused(c, text, "not-registered", "ice-candidate", NULL);
    snprintf(text, sizeof text, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}", sid);
    expect_refused(c, text, "not-registered", "close-session", NULL);
    snprintf(text, sizeof text, "{\"type\":\"switch-stream-type\",\"sessionId\":\"%s\","
                                "\"streamTypes\":[\"depth\"]}", sid);
    expect_refused(c, text, "not-registered", "switch-stream-type", NULL);
    snprintf(text, sizeof text, "{\"type\":\"session-error\",\"sessionId\":\"%s\","
                                "\"error\":\"x\"}", sid);
    expect_refused(c, text, "not-registered", "session-error", NULL);
    expect_unregistered_served(c);
    wsc_close(c);
}

static void test_client_sending_robot_messages_is_wrong_role(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "r1", NULL);
    struct wsc *client = harness_client(port, "v1", NULL);
    char *sid = harness_open_session(client, robot, "r1");
    char text[256];
    snprintf(text, sizeof text, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":"
                                "{\"type\":\"offer\",\"sdp\":\"v=0\"}}", sid);
    expect_refused(client, text, "wrong-role", "webrtc-offer", NULL);
    snprintf(text, sizeof text, "{\"type\":\"stream-type-switched\",\"sessionId\":\"%s\","
                                "\"streamTypes\":[\"depth\"]}", sid);
    expect_refused(client, text, "wrong-role", "stream-type-switched", NULL);
    snprintf(text, sizeof text, "{\"type\":\"stream-type-switch-error\",\"sessionId\":\"%s\","
                                "\"error\":\"x\"}", sid);
    expect_refused(client, text, "wrong-role", "stream-type-switch-error", NULL);
    snprintf(text, sizeof text, "{\"type\":\"session-error\",\"sessionId\":\"%s\","
                                "\"error\":\"x\"}", sid);
    expect_refused(client, text, "wrong-role", "session-error", NULL);
    harness_expect_silence(robot);
    expect_client_served(client);
    free(sid);
    wsc_close(client);
    wsc_close(robot);
}

static void test_robot_sending_client_messages_is_wrong_role(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "r1", NULL);
    struct wsc *client = harness_client(port, "v1", NULL);
    char *sid = harness_open_session(client, robot, "r1");
    char text[256];
    expect_refused(robot, "{\"type\":\"create-session\",\"robotId\":\"r1\","
                          "\"streamTypes\":[\"color\"]}", "wrong-role", "create-session", NULL);
    snprintf(text, sizeof text, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":"
                                "{\"type\":\"answer\",\"sdp\":\"v=0\"}}", sid);
    expect_refused(robot, text, "wrong-role", "webrtc-answer", NULL);
    snprintf(text, sizeof text, "{\"type\":\"switch-stream-type\",\"sessionId\":\"%s\","
                                "\"streamTypes\":[\"depth\"]}", sid);
    expect_refused(robot, text, "wrong-role", "switch-stream-type", NULL);
    harness_expect_silence(client);
    /* the robot still relays */
    snprintf(text, sizeof text, "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\","
                                "\"candidate\":null}", sid);
    assert_int_equal(wsc_send_text(robot, text), 0);
    json_decref(harness_expect_next(client, "ice-candidate"));
    free(sid);
    wsc_close(client);
    wsc_close(robot);
}

static void test_registering_again_under_another_id_or_role_is_already_registered(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "r1", NULL);
    expect_refused(robot, "{\"type\":\"robot-register\",\"robotId\":\"r2\"}", "already-registered",
                   "robot-register", NULL);
    expect_refused(robot, "{\"type\":\"client-register\",\"clientId\":\"v9\"}",
                   "already-registered", "client-register", NULL);
    struct wsc *client = harness_client(port, "v1", NULL);
    expect_refused(client, "{\"type\":\"client-register\",\"clientId\":\"v2\"}",
                   "already-registered", "client-register", NULL);
    expect_refused(client, "{\"type\":\"robot-register\",\"robotId\":\"r3\"}",
                   "already-registered", "robot-register", NULL);
    /* still one robot r1, one client v1, and they work together */
    json_t *h = harness_health(port);
    assert_int_equal(json_integer_value(json_object_get(h, "robots")), 1);
    assert_int_equal(json_integer_value(json_object_get(h, "clients")), 1);
    json_decref(h);
    char *sid = harness_open_session(client, robot, "r1");
    free(sid);
    wsc_close(client);
    wsc_close(robot);
}

/* ---- limits and closing codes ---- */

static void test_message_over_max_message_is_closed_1009(void **state)
{
    int port = harness_port(state);
    struct wsc *c = connect_ws(port);
    char *pad = repeat('x', 5000);
    assert_int_equal(wsc_sendf(c, "{\"type\":\"client-register\",\"pad\":\"%s\"}", pad), 0);
    free(pad);
    assert_int_equal(wsc_expect_close(c, WAIT), 1009);
    wsc_close(c);
    harness_check_alive(port);
}

static void test_fragmented_message_over_max_message_is_closed_1009(void **state)
{
    int port = harness_port(state);
    struct wsc *c = connect_ws(port);
    char *chunk = repeat('y', 1000);
    assert_int_equal(wsc_send_frame(c, WSC_OP_TEXT, false, "{\"pad\":\"", 8), 0);
    for (int i = 0; i < 5; i++)
        if (wsc_send_frame(c, WSC_OP_CONT, false, chunk, 1000) != 0)
            break; /* the server may close before the last fragment */
    wsc_send_frame(c, WSC_OP_CONT, true, "\"}", 2);
    free(chunk);
    assert_int_equal(wsc_expect_close(c, WAIT), 1009);
    wsc_close(c);
    harness_check_alive(port);
}

static void test_message_under_max_message_is_served(void **state)
{
    int port = harness_port(state);
    struct wsc *c = connect_ws(port);
    char *pad = repeat('x', 3900);
    assert_int_equal(wsc_sendf(c, "{\"type\":\"client-register\",\"pad\":\"%s\"}", pad), 0);
    free(pad);
    json_decref(harness_expect_next(c, "available-robots"));
    wsc_close(c);
}

static void test_fragmented_message_is_reassembled(void **state)
{
    int port = harness_port(state);
    struct wsc *c = connect_ws(port);
    const char *parts[] = {"{\"type\":\"client-", "register\",\"clientId\"", ":\"frag-1\"}"};
    assert_int_equal(wsc_send_frame(c, WSC_OP_TEXT, false, parts[0], strlen(parts[0])), 0);
    assert_int_equal(wsc_send_frame(c, WSC_OP_CONT, false, parts[1], strlen(parts[1])), 0);
    assert_int_equal(wsc_send_frame(c, WSC_OP_CONT, true, parts[2], strlen(parts[2])), 0);
    json_t *m = harness_expect_next(c, "available-robots");
    harness_assert_str(m, "clientId", "frag-1");
    json_decref(m);
    wsc_close(c);
}

static void test_ping_between_fragments_is_answered_and_message_completes(void **state)
{
    int port = harness_port(state);
    struct wsc *c = connect_ws(port);
    const char *a = "{\"type\":\"client-register\",", *b = "\"clientId\":\"frag-2\"}";
    assert_int_equal(wsc_send_frame(c, WSC_OP_TEXT, false, a, strlen(a)), 0);
    assert_int_equal(wsc_send_frame(c, WSC_OP_PING, true, "p1", 2), 0);
    assert_int_equal(wsc_send_frame(c, WSC_OP_CONT, true, b, strlen(b)), 0);
    json_t *m = harness_expect_next(c, "available-robots");
    harness_assert_str(m, "clientId", "frag-2");
    json_decref(m);
    wsc_close(c);
}

static void test_binary_frame_is_closed_1003(void **state)
{
    int port = harness_port(state);
    struct wsc *c = connect_ws(port);
    const char *msg = "{\"type\":\"client-register\"}";
    assert_int_equal(wsc_send_frame(c, WSC_OP_BINARY, true, msg, strlen(msg)), 0);
    assert_int_equal(wsc_expect_close(c, WAIT), 1003);
    wsc_close(c);
    harness_check_alive(port);
}

static void test_binary_frame_from_a_registered_robot_is_closed_1003(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "r1", NULL);
    const unsigned char bytes[] = {0x00, 0xff, 0x10, 0x80};
    assert_int_equal(wsc_send_frame(robot, WSC_OP_BINARY, true, bytes, sizeof bytes), 0);
    assert_int_equal(wsc_expect_close(robot, WAIT), 1003);
    wsc_close(robot);
    harness_wait_count(port, "robots", 0, WAIT);
    harness_check_alive(port);
}

static void test_invalid_utf8_text_is_closed_1007(void **state)
{
    int port = harness_port(state);
    const char *bad[] = {
        "{\"type\":\"client-register\",\"clientId\":\"\xff\xfe\"}", /* never valid bytes */
        "{\"type\":\"x\",\"v\":\"\xc0\xaf\"}",                       /* overlong '/' */
        "{\"type\":\"x\",\"v\":\"\xed\xa0\x80\"}",                   /* UTF-16 surrogate */
        "{\"type\":\"x\",\"v\":\"\xc3\"}",                           /* truncated sequence */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct wsc *c = connect_ws(port);
        assert_int_equal(wsc_send_text(c, bad[i]), 0);
        int code = wsc_expect_close(c, WAIT);
        if (code != 1007)
            fail_msg("invalid UTF-8 case %zu: close code %d, expected 1007", i, code);
        wsc_close(c);
    }
    /* ... and counted. */
    struct http_response r;
    assert_int_equal(http_get(port, "/metrics", &r), 0);
    assert_int_equal(r.status, 200);
    if (!strstr(r.body, "porthole_closes_total{code=\"1007\"} 4\n"))
        fail_msg("/metrics does not count the four 1007 closes");
    http_response_free(&r);
    harness_check_alive(port);
}

static void test_utf8_split_across_fragments_is_accepted(void **state)
{
    int port = harness_port(state);
    struct wsc *c = connect_ws(port);
    /* "é" is C3 A9: the fragment boundary falls inside it */
    const char *a = "{\"type\":\"client-register\",\"note\":\"caf\xc3";
    const char *b = "\xa9\",\"clientId\":\"utf8-split\"}";
    assert_int_equal(wsc_send_frame(c, WSC_OP_TEXT, false, a, strlen(a)), 0);
    assert_int_equal(wsc_send_frame(c, WSC_OP_CONT, true, b, strlen(b)), 0);
    json_t *m = harness_expect_next(c, "available-robots");
    harness_assert_str(m, "clientId", "utf8-split");
    json_decref(m);
    wsc_close(c);
}

static void test_burst_within_twice_the_rate_is_served(void **state)
{
    int port = harness_port(state);
    struct wsc *client = harness_client(port, "v1", NULL);
    for (int i = 0; i < 30; i++) /* under the burst of 40 for --rate-limit 20 */
        assert_int_equal(wsc_send_text(client, "{\"type\":\"create-session\",\"robotId\":\"nobody\","
                                               "\"streamTypes\":[\"color\"]}"), 0);
    for (int i = 0; i < 30; i++) {
        json_t *m = harness_expect_next(client, "session-error");
        harness_assert_str(m, "code", "robot-not-found");
        json_decref(m);
    }
    wsc_close(client);
}

/* Sends 200 create-session messages for an absent robot, gap_us apart,
 * then reads until the connection closes. Every reply must be
 * robot-not-found or rate-limited; the flood must be cut short by 1008.
 * With told, the rate-limited error must also have arrived: a peer that
 * floods without pause is still sending when the server closes, so the
 * kernel may reset the connection and drop replies already sent. */
static void flood(int port, int gap_us, bool told)
{
    struct wsc *client = harness_client(port, "v1", NULL);
    for (int i = 0; i < 200; i++) {
        if (wsc_send_text(client, "{\"type\":\"create-session\",\"robotId\":\"nobody\","
                                  "\"streamTypes\":[\"color\"]}") != 0)
            break; /* closed by the server: fine */
        if (gap_us)
            usleep((useconds_t)gap_us);
    }
    int replies = 0, limited = 0, code = -2;
    int64_t deadline = wsc_now_ms() + 5000;
    while (wsc_now_ms() < deadline) {
        struct wsc_msg m;
        enum wsc_event e = wsc_recv(client, (int)(deadline - wsc_now_ms()), &m);
        if (e == WSC_MESSAGE) {
            json_t *j = json_loads(m.data, 0, NULL);
            const char *c = json_string_value(json_object_get(j, "code"));
            if (c && strcmp(c, "rate-limited") == 0)
                limited++;
            else if (c && strcmp(c, "robot-not-found") == 0)
                replies++;
            else
                fail_msg("unexpected reply to the flood: %s", m.data);
            json_decref(j);
            wsc_msg_free(&m);
            continue;
        }
        code = e == WSC_CLOSE ? m.close_code : e == WSC_EOF ? -1 : -2;
        break;
    }
    print_message("flood: %d served, %d rate-limited errors, close %d\n", replies, limited, code);
    assert_true(replies <= 60);  /* about the burst of 40, not the whole flood */
    assert_true(limited <= 3);   /* at most once per second */
    if (told) {
        assert_int_equal(code, 1008);
        assert_true(limited >= 1); /* the peer is told before it is closed */
    } else {
        assert_true(code == 1008 || code == -1); /* closed, or reset while sending */
    }
    wsc_close(client);
    harness_check_alive(port);
}

static void test_paced_flood_is_rate_limited_then_closed_1008(void **state)
{
    flood(harness_port(state), 2000, true); /* 500 messages/s against --rate-limit 20 */
}

static void test_burst_flood_is_rate_limited_then_closed_1008(void **state)
{
    flood(harness_port(state), 0, false); /* all 200 at once */
}

static void test_silent_peer_is_dropped_and_a_ponging_peer_stays(void **state)
{
    int port = harness_port(state);
    struct wsc *dead = harness_client(port, "dead", NULL);
    struct wsc *live = harness_client(port, "live", NULL);
    wsc_set_auto_pong(dead, false);
    int64_t start = wsc_now_ms(), dropped_at = -1;
    /* pump both for 4.5 s: 2 x --ping-interval 1, plus slack */
    while (wsc_now_ms() - start < 4500) {
        if (dropped_at < 0) {
            struct wsc_msg m;
            enum wsc_event e = wsc_recv(dead, 50, &m);
            if (e == WSC_CLOSE || e == WSC_EOF)
                dropped_at = wsc_now_ms() - start;
            else if (e == WSC_MESSAGE)
                fail_msg("the silent peer got a message: %s", m.data);
            wsc_msg_free(&m);
        }
        if (!wsc_expect_silence(live, 50))
            fail_msg("the live peer got something");
    }
    print_message("silent peer dropped after %lld ms; it saw %u pings, the live one %u\n",
                  (long long)dropped_at, wsc_pings_received(dead), wsc_pings_received(live));
    assert_true(dropped_at >= 0);
    assert_true(dropped_at >= 1000); /* not before one interval */
    assert_true(wsc_pings_received(live) >= 2);
    assert_true(wsc_pings_received(dead) >= 1);
    expect_client_served(live);
    harness_wait_count(port, "clients", 1, 0);
    wsc_close(dead);
    wsc_close(live);
}

static void test_peer_that_sends_but_never_pongs_is_kept(void **state)
{
    /* "has not answered with a pong (or sent anything)": traffic counts */
    int port = harness_port(state);
    struct wsc *c = harness_client(port, "chatty", NULL);
    wsc_set_auto_pong(c, false);
    int64_t start = wsc_now_ms();
    while (wsc_now_ms() - start < 3500) {
        expect_client_served(c);
        assert_true(wsc_expect_silence(c, 400));
    }
    expect_client_served(c);
    wsc_close(c);
}

static void test_peer_that_does_not_read_is_closed_past_max_queue(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "r1", NULL);
    struct wsc *sloth = harness_client(port, "sloth", NULL);
    char *sid = harness_open_session(sloth, robot, "r1");
    char *sdp = repeat('s', 60000);
    char *offer = NULL;
    assert_true(asprintf(&offer, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":"
                                 "{\"type\":\"offer\",\"sdp\":\"%s\"}}", sid, sdp) > 0);
    free(sdp);
    /* 30 MB: more than the kernel buffers between the server and the
     * sloth can hold, so the server's own queue must pass 256 KiB. */
    int sent = 0;
    bool robot_told = false;
    for (; sent < 500 && !robot_told; sent++) {
        if (wsc_send_text(robot, offer) != 0)
            break;
        struct wsc_msg m; /* the robot reads its own side */
        if (wsc_recv(robot, 0, &m) == WSC_MESSAGE && strstr(m.data, "\"session-closed\""))
            robot_told = strstr(m.data, "\"peer-disconnected\"") != NULL;
        wsc_msg_free(&m);
    }
    free(offer);
    harness_wait_count(port, "clients", 0, 5000);
    /* the sloth's connection ends: 1008 if the close frame got through,
     * or a TCP close when the queue could not be flushed first */
    int code = wsc_expect_close(sloth, 10000);
    print_message("sloth: %d offers sent, close %d\n", sent, code);
    assert_true(code == 1008 || code == -1);
    wsc_close(sloth);
    if (!robot_told) {
        json_t *m = wsc_expect_type(robot, "session-closed", WAIT);
        assert_non_null(m);
        harness_assert_str(m, "reason", "peer-disconnected");
        json_decref(m);
    }
    free(sid);
    wsc_close(robot);
    harness_check_alive(port);
}

/* The soft and hard "Max open files" of process pid (/proc/PID/limits). */
static void open_file_limits(pid_t pid, unsigned long long *soft, unsigned long long *hard)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = sscanf(line, "Max open files %llu %llu", soft, hard) == 2;
    fclose(f);
    if (!found)
        fail_msg("no numeric \"Max open files\" in %s", path);
}

/* The server fits its open-file limit to what it may hold (fdlimit.h):
 * here --max-connections 2, the default --sio-max-sessions 10000 and the
 * reserve, 11,026, or the hard limit when that is lower. */
static void test_the_open_file_limit_fits_the_connection_limits(void **state)
{
    struct harness_fixture *fx = *state;
    unsigned long long soft, hard;
    open_file_limits(fx->cloud.pid, &soft, &hard);
    unsigned long long need = 2 + 10000 + 1024;
    assert_int_equal(soft, need < hard ? need : hard);
    harness_check_alive(fx->cloud.port);
}

static void test_upgrades_past_max_connections_get_503(void **state)
{
    int port = harness_port(state);
    struct wsc *a = harness_client(port, "v1", NULL);
    struct wsc *b = harness_robot(port, "r1", NULL);
    int status = 0;
    struct wsc *c = wsc_connect_status(port, "/ws", WAIT, &status);
    assert_null(c);
    assert_int_equal(status, 503);
    json_t *h = harness_health(port); /* plain HTTP still works at the limit */
    harness_assert_str(h, "status", "ok");
    json_decref(h);
    wsc_close(a);
    harness_wait_count(port, "clients", 0, WAIT);
    struct wsc *d = harness_client(port, "v2", NULL);
    char *sid = harness_open_session(d, b, "r1");
    free(sid);
    wsc_close(d);
    wsc_close(b);
}

/* ---- command line ---- */

static void expect_bad_flag(const char *const *args, const char *mention)
{
    char *out = NULL, *err = NULL;
    int code = harness_run(args, 5000, &out, &err);
    size_t len = strlen(err);
    bool one_line = len > 1 && err[len - 1] == '\n' && strchr(err, '\n') == err + len - 1;
    if (code != 2 || !one_line || !strstr(err, mention))
        fail_msg("%s %s: exit %d, stderr '%s' (expected exit 2 and one line naming %s)", args[0],
                 args[1] ? args[1] : "", code, err, mention);
    free(out);
    free(err);
}

static void test_bad_flags_exit_2_with_one_line_on_stderr(void **state)
{
    (void)state;
    const char *const a1[] = {"--port", "70000", NULL};
    const char *const a2[] = {"--bogus", NULL};
    const char *const a3[] = {"--log-level", "loud", NULL};
    const char *const a4[] = {"--max-message", "lots", NULL};
    const char *const a5[] = {"--rate-limit", "-1", NULL};
    const char *const a6[] = {"--ping-interval", NULL};
    expect_bad_flag(a1, "port");
    expect_bad_flag(a2, "bogus");
    expect_bad_flag(a3, "log-level");
    expect_bad_flag(a4, "max-message");
    expect_bad_flag(a5, "rate-limit");
    expect_bad_flag(a6, "ping-interval");
    const char *const a7[] = {"--bind", "eth0", NULL};
    const char *const a8[] = {"--tls-cert", "/etc/hostname", NULL};
    expect_bad_flag(a7, "bind");
    expect_bad_flag(a8, "tls-key");
}

/* Runs the server with args; it must exit 1 at once, saying why. */
static void expect_cannot_listen(const char *const *args, const char *reason)
{
    char *out = NULL, *err = NULL;
    int code = harness_run(args, 5000, &out, &err);
    if (code != 1 || !strstr(err, reason))
        fail_msg("expected exit 1 mentioning '%s', got %d: %s", reason, code, err);
    free(out);
    free(err);
}

static void test_port_in_use_exits_1_at_once(void **state)
{
    char port[16];
    snprintf(port, sizeof port, "%d", harness_port(state)); /* the fixture's server holds it */
    const char *const args[] = {"--bind", "127.0.0.1", "--port", port, NULL};
    expect_cannot_listen(args, "Address already in use");
}

static void test_address_not_on_this_host_exits_1_at_once(void **state)
{
    (void)state;
    /* 192.0.2.1 (TEST-NET-1) is not an address of this network namespace:
     * only bind(2) is tried, nothing is sent. (--insecure-open: without
     * it a non-loopback --bind without authentication is refused first.) */
    const char *const args[] = {"--bind", "192.0.2.1", "--port", "3001", "--insecure-open",
                                NULL};
    expect_cannot_listen(args, "Cannot assign requested address");
}

static void test_help_exits_0_and_lists_the_flags(void **state)
{
    (void)state;
    const char *const args[] = {"--help", NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(harness_run(args, 5000, &out, &err), 0);
    const char *flags[] = {"--port", "--bind", "--web-root", "--max-message", "--max-queue",
                           "--max-connections", "--max-client-sessions", "--max-robot-sessions",
                           "--rate-limit", "--ping-interval", "--http-timeout", "--log-level",
                           "--log-format"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (!strstr(out, flags[i]))
            fail_msg("--help does not mention %s", flags[i]);
    free(out);
    free(err);
}

#define T(f) cmocka_unit_test_prestate_setup_teardown(f, harness_setup, harness_teardown, &fx_default)
#define T_WITH(f, fx) cmocka_unit_test_prestate_setup_teardown(f, harness_setup, harness_teardown, &fx)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_port_in_use_exits_1_at_once),
        cmocka_unit_test(test_address_not_on_this_host_exits_1_at_once),
        T(test_malformed_json_is_invalid_json_with_line_and_column),
        T(test_other_unparsable_texts_are_invalid_json),
        T(test_deeply_nested_json_is_refused_and_harmless),
        T(test_non_object_json_is_invalid_message),
        T(test_object_without_string_type_is_invalid_message),
        T(test_unknown_type_is_unknown_type_with_request_type),
        T(test_errors_echo_the_request_id),
        T(test_robot_register_with_bad_fields_is_invalid_field),
        T(test_client_register_with_bad_fields_is_invalid_field),
        T(test_create_session_with_bad_fields_is_invalid_field),
        T(test_robot_relay_messages_with_bad_fields_are_invalid_field),
        T(test_client_relay_messages_with_bad_fields_are_invalid_field),
        T(test_malformed_session_id_is_refused),
        T(test_messages_before_registering_are_not_registered),
        T(test_client_sending_robot_messages_is_wrong_role),
        T(test_robot_sending_client_messages_is_wrong_role),
        T(test_registering_again_under_another_id_or_role_is_already_registered),
        T_WITH(test_message_over_max_message_is_closed_1009, fx_small),
        T_WITH(test_fragmented_message_over_max_message_is_closed_1009, fx_small),
        T_WITH(test_message_under_max_message_is_served, fx_small),
        T(test_fragmented_message_is_reassembled),
        T(test_ping_between_fragments_is_answered_and_message_completes),
        T(test_binary_frame_is_closed_1003),
        T(test_binary_frame_from_a_registered_robot_is_closed_1003),
        T(test_invalid_utf8_text_is_closed_1007),
        T(test_utf8_split_across_fragments_is_accepted),
        T_WITH(test_burst_within_twice_the_rate_is_served, fx_rate),
        T_WITH(test_paced_flood_is_rate_limited_then_closed_1008, fx_rate),
        T_WITH(test_burst_flood_is_rate_limited_then_closed_1008, fx_rate),
        T_WITH(test_silent_peer_is_dropped_and_a_ponging_peer_stays, fx_ping),
        T_WITH(test_peer_that_sends_but_never_pongs_is_kept, fx_ping),
        T_WITH(test_peer_that_does_not_read_is_closed_past_max_queue, fx_queue),
        T_WITH(test_upgrades_past_max_connections_get_503, fx_conns),
        T_WITH(test_the_open_file_limit_fits_the_connection_limits, fx_conns),
        cmocka_unit_test(test_bad_flags_exit_2_with_one_line_on_stderr),
        cmocka_unit_test(test_help_exits_0_and_lists_the_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
