/* test_protocol.c - unit tests of inbound message validation (docs/PROTOCOL.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cloud/protocol.h"

/* A well-formed session id: 22 characters of base64url. */
#define SID "q1w2e3r4t5y6u7i8o9p0-_"
#define SDP "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
#define CANDIDATE "candidate:1 1 UDP 2122252543 192.168.1.2 54321 typ host"

static struct proto_error err;

/* ---- message builders ---------------------------------------------------- */

/* A valid example of each message type, as in PROTOCOL.md. */
static json_t *valid_message(enum msg_type type)
{
    switch (type) {
    case MSG_ROBOT_REGISTER:
        return json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "robot-register", "robotId",
                         "robot-123", "deviceInfo", "name", "Intel RealSense D435", "serial",
                         "123");
    case MSG_CLIENT_REGISTER:
        return json_pack("{s:s, s:s}", "type", "client-register", "clientId", "viewer-7");
    case MSG_CREATE_SESSION:
        return json_pack("{s:s, s:s, s:[s, s], s:s, s:s}", "type", "create-session", "robotId",
                         "robot-123", "streamTypes", "color", "depth", "deviceId", "dev-1",
                         "requestId", "r1");
    case MSG_WEBRTC_OFFER:
        return json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "webrtc-offer", "sessionId", SID,
                         "offer", "type", "offer", "sdp", SDP);
    case MSG_WEBRTC_ANSWER:
        return json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "webrtc-answer", "sessionId", SID,
                         "answer", "type", "answer", "sdp", SDP);
    case MSG_ICE_CANDIDATE:
        return json_pack("{s:s, s:s, s:{s:s, s:s, s:i}}", "type", "ice-candidate", "sessionId",
                         SID, "candidate", "candidate", CANDIDATE, "sdpMid", "0",
                         "sdpMLineIndex", 0);
    case MSG_SWITCH_STREAM_TYPE:
        return json_pack("{s:s, s:s, s:[s]}", "type", "switch-stream-type", "sessionId", SID,
                         "streamTypes", "depth");
    case MSG_STREAM_TYPE_SWITCHED:
        return json_pack("{s:s, s:s, s:[s]}", "type", "stream-type-switched", "sessionId", SID,
                         "streamTypes", "depth");
    case MSG_STREAM_TYPE_SWITCH_ERROR:
        return json_pack("{s:s, s:s, s:s}", "type", "stream-type-switch-error", "sessionId",
                         SID, "error", "depth is not supported");
    case MSG_SESSION_ERROR:
        return json_pack("{s:s, s:s, s:s}", "type", "session-error", "sessionId", SID, "error",
                         "camera failed");
    case MSG_CLOSE_SESSION:
        return json_pack("{s:s, s:s}", "type", "close-session", "sessionId", SID);
    case MSG_ROBOT_REQUEST:
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:i}}", "type", "robot-request",
                         "requestId", "q1", "robotId", "robot-123", "method", "PUT", "path",
                         "/api/devices/123/sensors/123-sensor-0/options/exposure", "body",
                         "value", 8000);
    case MSG_ICE_RESTART_REQUEST:
        return json_pack("{s:s, s:s, s:s}", "type", "ice-restart-request", "sessionId", SID,
                         "reason", "video-stalled");
    case MSG_ROBOT_RESPONSE:
        return json_pack("{s:s, s:s, s:i, s:{s:s, s:i}}", "type", "robot-response",
                         "requestId", "AAAAAAAAAAAAAAAAAAAAAA", "status", 200, "body",
                         "option_id", "exposure", "current_value", 8000);
    case MSG_REFRESH_TOKEN:
        return json_pack("{s:s, s:s}", "type", "refresh-token", "token", "aaa.bbb.ccc");
    default:
        fail_msg("no example for type %d", (int)type);
    }
    return NULL;
}

/* Returns msg without field. */
static json_t *without(json_t *msg, const char *field)
{
    assert_int_equal(json_object_del(msg, field), 0);
    return msg;
}

/* Returns msg with field set to value (stolen). */
static json_t *with(json_t *msg, const char *field, json_t *value)
{
    assert_non_null(value);
    assert_int_equal(json_object_set_new(msg, field, value), 0);
    return msg;
}

/* A JSON string of n copies of c. */
static json_t *string_of(char c, size_t n)
{
    char buf[256];
    assert_true(n < sizeof buf);
    memset(buf, c, n);
    buf[n] = '\0';
    return json_string(buf);
}

/* A JSON array of n distinct stream type names. */
static json_t *stream_types(size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "type-%zu", i);
        json_array_append_new(arr, json_string(name));
    }
    return arr;
}

/* ---- assertions ---------------------------------------------------------- */

/* Validates msg (released here) as sent by sender; fills err. */
static enum msg_type validate(json_t *msg, enum role sender, char *type, size_t typelen)
{
    assert_non_null(msg);
    const char *t = json_string_value(json_object_get(msg, "type"));
    assert_non_null(t);
    snprintf(type, typelen, "%s", t);
    memset(&err, 0, sizeof err);
    enum msg_type got = protocol_validate(msg, type, sender, &err);
    json_decref(msg);
    return got;
}

static void assert_valid(json_t *msg, enum role sender, enum msg_type expected)
{
    char type[64];
    enum msg_type got = validate(msg, sender, type, sizeof type);
    if (got != expected)
        fail_msg("%s: expected type %d, got %d (%s: %s)", type, (int)expected, (int)got,
                 err.code ? err.code : "(no code)", err.message);
}

/* Asserts msg is refused with code and a message starting with "<type>: ". */
static void assert_refused(json_t *msg, enum role sender, const char *code)
{
    char type[64], prefix[80];
    enum msg_type got = validate(msg, sender, type, sizeof type);
    assert_int_equal(got, MSG_INVALID);
    assert_non_null(err.code);
    assert_string_equal(err.code, code);
    snprintf(prefix, sizeof prefix, "%s: ", type);
    if (strncmp(err.message, prefix, strlen(prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", err.message, prefix);
}

/* Asserts msg is refused with invalid-field and a message that reads
 * "<type>: '<field>' ...". */
static void assert_invalid_field(json_t *msg, enum role sender, const char *field)
{
    char type[64], prefix[160];
    enum msg_type got = validate(msg, sender, type, sizeof type);
    assert_int_equal(got, MSG_INVALID);
    assert_non_null(err.code);
    assert_string_equal(err.code, "invalid-field");
    snprintf(prefix, sizeof prefix, "%s: '%s'", type, field);
    if (strncmp(err.message, prefix, strlen(prefix)) != 0)
        fail_msg("message '%s' does not start with \"%s\"", err.message, prefix);
}

/* ---- every type: a valid example passes ---------------------------------- */

static void test_robot_register_is_valid_before_registration(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_ROBOT_REGISTER), ROLE_NONE, MSG_ROBOT_REGISTER);
}

static void test_client_register_is_valid_before_registration(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_CLIENT_REGISTER), ROLE_NONE, MSG_CLIENT_REGISTER);
}

static void test_create_session_is_valid_from_client(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_CREATE_SESSION), ROLE_CLIENT, MSG_CREATE_SESSION);
}

static void test_webrtc_offer_is_valid_from_robot(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_WEBRTC_OFFER), ROLE_ROBOT, MSG_WEBRTC_OFFER);
}

static void test_webrtc_answer_is_valid_from_client(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_WEBRTC_ANSWER), ROLE_CLIENT, MSG_WEBRTC_ANSWER);
}

static void test_ice_candidate_is_valid_from_robot(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_ICE_CANDIDATE), ROLE_ROBOT, MSG_ICE_CANDIDATE);
}

static void test_ice_candidate_is_valid_from_client(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_ICE_CANDIDATE), ROLE_CLIENT, MSG_ICE_CANDIDATE);
}

static void test_switch_stream_type_is_valid_from_client(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_SWITCH_STREAM_TYPE), ROLE_CLIENT, MSG_SWITCH_STREAM_TYPE);
}

static void test_stream_type_switched_is_valid_from_robot(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_STREAM_TYPE_SWITCHED), ROLE_ROBOT, MSG_STREAM_TYPE_SWITCHED);
}

static void test_stream_type_switch_error_is_valid_from_robot(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_STREAM_TYPE_SWITCH_ERROR), ROLE_ROBOT,
                 MSG_STREAM_TYPE_SWITCH_ERROR);
}

static void test_session_error_is_valid_from_robot(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_SESSION_ERROR), ROLE_ROBOT, MSG_SESSION_ERROR);
}

static void test_close_session_is_valid_from_client(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_CLOSE_SESSION), ROLE_CLIENT, MSG_CLOSE_SESSION);
}

static void test_close_session_is_valid_from_robot(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_CLOSE_SESSION), ROLE_ROBOT, MSG_CLOSE_SESSION);
}

static void test_message_parsed_from_text_is_valid(void **state)
{
    (void)state;
    json_t *msg = json_loads("{\"type\":\"create-session\",\"robotId\":\"robot-123\","
                             "\"streamTypes\":[\"color\"]}", 0, NULL);
    assert_valid(msg, ROLE_CLIENT, MSG_CREATE_SESSION);
}

static void test_unknown_fields_are_ignored(void **state)
{
    (void)state;
    json_t *msg = with(valid_message(MSG_WEBRTC_OFFER), "extra", json_pack("{s:i}", "x", 1));
    assert_valid(msg, ROLE_ROBOT, MSG_WEBRTC_OFFER);
}

/* ---- robot-register ------------------------------------------------------ */

static void test_robot_register_without_device_info_is_valid(void **state)
{
    (void)state;
    json_t *msg = without(valid_message(MSG_ROBOT_REGISTER), "deviceInfo");
    assert_valid(msg, ROLE_NONE, MSG_ROBOT_REGISTER);
}

static void test_robot_register_requires_robot_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_ROBOT_REGISTER), "robotId"), ROLE_NONE,
                         "robotId");
}

static void test_robot_register_refuses_numeric_robot_id(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_REGISTER), "robotId", json_integer(123)),
                         ROLE_NONE, "robotId");
}

static void test_robot_register_accepts_64_character_robot_id(void **state)
{
    (void)state;
    json_t *msg = with(valid_message(MSG_ROBOT_REGISTER), "robotId", string_of('r', 64));
    assert_valid(msg, ROLE_NONE, MSG_ROBOT_REGISTER);
}

static void test_robot_register_refuses_65_character_robot_id(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_REGISTER), "robotId", string_of('r', 65)),
                         ROLE_NONE, "robotId");
}

static void test_robot_register_refuses_robot_id_with_space(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_REGISTER), "robotId", json_string("a b")),
                         ROLE_NONE, "robotId");
}

static void test_robot_register_refuses_non_ascii_robot_id(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_ROBOT_REGISTER), "robotId", json_string("\xc3\xa9")), ROLE_NONE,
        "robotId");
}

static void test_robot_register_refuses_empty_robot_id(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_REGISTER), "robotId", json_string("")),
                         ROLE_NONE, "robotId");
}

static void test_robot_register_refuses_robot_id_with_embedded_nul(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_ROBOT_REGISTER), "robotId", json_stringn("ab\0cd", 5)),
        ROLE_NONE, "robotId");
}

static void test_robot_register_accepts_every_name_character(void **state)
{
    (void)state;
    json_t *msg = with(valid_message(MSG_ROBOT_REGISTER), "robotId",
                       json_string("AZaz09._:@-"));
    assert_valid(msg, ROLE_NONE, MSG_ROBOT_REGISTER);
}

static void test_robot_register_refuses_device_info_string(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_ROBOT_REGISTER), "deviceInfo", json_string("D435")), ROLE_NONE,
        "deviceInfo");
}

static void test_robot_register_refuses_device_info_array(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_REGISTER), "deviceInfo", json_array()),
                         ROLE_NONE, "deviceInfo");
}

/* A deviceInfo {"blob":"xxx..."} whose compact JSON is exactly bytes long. */
static json_t *device_info_of_size(size_t bytes)
{
    size_t n = bytes - strlen("{\"blob\":\"\"}");
    char *text = malloc(n + 1);
    memset(text, 'x', n);
    text[n] = '\0';
    json_t *info = json_pack("{s:s}", "blob", text);
    free(text);
    return info;
}

static void test_robot_register_accepts_device_info_of_8_kib(void **state)
{
    (void)state;
    assert_valid(with(valid_message(MSG_ROBOT_REGISTER), "deviceInfo", device_info_of_size(8192)),
                 ROLE_NONE, MSG_ROBOT_REGISTER);
}

static void test_robot_register_refuses_device_info_over_8_kib(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_ROBOT_REGISTER), "deviceInfo", device_info_of_size(8193)),
        ROLE_NONE, "deviceInfo");
}

/* ---- client-register ----------------------------------------------------- */

static void test_client_register_without_client_id_is_valid(void **state)
{
    (void)state;
    json_t *msg = without(valid_message(MSG_CLIENT_REGISTER), "clientId");
    assert_valid(msg, ROLE_NONE, MSG_CLIENT_REGISTER);
}

static void test_client_register_refuses_numeric_client_id(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CLIENT_REGISTER), "clientId", json_integer(7)),
                         ROLE_NONE, "clientId");
}

static void test_client_register_refuses_client_id_with_space(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_CLIENT_REGISTER), "clientId", json_string("a b")), ROLE_NONE,
        "clientId");
}

static void test_client_register_refuses_65_character_client_id(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_CLIENT_REGISTER), "clientId", string_of('c', 65)), ROLE_NONE,
        "clientId");
}

/* ---- tokens -------------------------------------------------------------- */

static void test_register_messages_accept_a_token(void **state)
{
    (void)state;
    assert_valid(with(valid_message(MSG_ROBOT_REGISTER), "token", json_string("a.b.c")),
                 ROLE_NONE, MSG_ROBOT_REGISTER);
    assert_valid(with(valid_message(MSG_CLIENT_REGISTER), "token", json_string("a.b.c")),
                 ROLE_NONE, MSG_CLIENT_REGISTER);
}

static void test_register_messages_refuse_a_token_that_is_not_a_string(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_REGISTER), "token", json_integer(1)),
                         ROLE_NONE, "token");
    assert_invalid_field(with(valid_message(MSG_CLIENT_REGISTER), "token", json_string("")),
                         ROLE_NONE, "token");
}

static void test_refresh_token_needs_a_token_and_a_registered_peer(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_REFRESH_TOKEN), ROLE_ROBOT, MSG_REFRESH_TOKEN);
    assert_valid(valid_message(MSG_REFRESH_TOKEN), ROLE_CLIENT, MSG_REFRESH_TOKEN);
    assert_invalid_field(without(valid_message(MSG_REFRESH_TOKEN), "token"), ROLE_CLIENT,
                         "token");
    assert_refused(valid_message(MSG_REFRESH_TOKEN), ROLE_NONE, "not-registered");
}

/* ---- create-session ------------------------------------------------------ */

static void test_create_session_without_optional_fields_is_valid(void **state)
{
    (void)state;
    json_t *msg = without(without(valid_message(MSG_CREATE_SESSION), "deviceId"), "requestId");
    assert_valid(msg, ROLE_CLIENT, MSG_CREATE_SESSION);
}

static void test_create_session_requires_robot_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_CREATE_SESSION), "robotId"), ROLE_CLIENT,
                         "robotId");
}

static void test_create_session_refuses_robot_id_with_space(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CREATE_SESSION), "robotId", json_string("a b")),
                         ROLE_CLIENT, "robotId");
}

static void test_create_session_requires_stream_types(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_CREATE_SESSION), "streamTypes"), ROLE_CLIENT,
                         "streamTypes");
}

static void test_create_session_takes_a_depth_request(void **state)
{
    (void)state;
    assert_valid(with(valid_message(MSG_CREATE_SESSION), "depth", json_true()), ROLE_CLIENT,
                 MSG_CREATE_SESSION);
    assert_valid(with(valid_message(MSG_CREATE_SESSION), "depth", json_null()), ROLE_CLIENT,
                 MSG_CREATE_SESSION);
    assert_valid(with(valid_message(MSG_CREATE_SESSION), "depth",
                      json_pack("{s:i, s:i, s:b}", "rate", 1000, "decimation", 0, "color", 1)),
                 ROLE_CLIENT, MSG_CREATE_SESSION);
}

static void test_create_session_refuses_a_depth_that_is_not_an_object(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CREATE_SESSION), "depth", json_string("yes")),
                         ROLE_CLIENT, "depth");
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_invalid_field(with(valid_message(MSG_CREATE_SESSION), "depth",
                              json_pack("{s:s}", "note", big)),
                         ROLE_CLIENT, "depth");
}

/* The viewer's offer (the robot answers it): an object {type:"offer",
 * sdp} of at most PROTO_OFFER_SDP_MAX bytes of SDP; absent or null is none. */
static json_t *offer_of(const char *type, json_t *sdp)
{
    json_t *o = json_object();
    if (type)
        json_object_set_new(o, "type", json_string(type));
    if (sdp)
        json_object_set_new(o, "sdp", sdp);
    return o;
}

static void test_create_session_takes_a_viewer_offer(void **state)
{
    (void)state;
    assert_valid(with(valid_message(MSG_CREATE_SESSION), "offer",
                      offer_of("offer", json_string("v=0\r\n"))),
                 ROLE_CLIENT, MSG_CREATE_SESSION);
    assert_valid(with(valid_message(MSG_CREATE_SESSION), "offer", json_null()), ROLE_CLIENT,
                 MSG_CREATE_SESSION);
}

static void test_create_session_refuses_a_malformed_offer(void **state)
{
    (void)state;
    json_t *bad[] = {
        json_string("v=0"),                          /* not an object */
        offer_of("answer", json_string("v=0")),      /* not an offer */
        offer_of(NULL, json_string("v=0")),          /* no type */
        offer_of("offer", NULL),                     /* no sdp */
        offer_of("offer", json_integer(1)),          /* sdp not a string */
        offer_of("offer", json_string("")),          /* empty sdp */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_invalid_field(with(valid_message(MSG_CREATE_SESSION), "offer", bad[i]),
                             ROLE_CLIENT, "offer");
}

static void test_create_session_refuses_an_oversized_offer(void **state)
{
    (void)state;
    char *sdp = malloc(PROTO_OFFER_SDP_MAX + 2);
    assert_non_null(sdp);
    memset(sdp, 'a', PROTO_OFFER_SDP_MAX);
    sdp[PROTO_OFFER_SDP_MAX] = '\0';
    assert_valid(with(valid_message(MSG_CREATE_SESSION), "offer",
                      offer_of("offer", json_string(sdp))),
                 ROLE_CLIENT, MSG_CREATE_SESSION);
    sdp[PROTO_OFFER_SDP_MAX] = 'a';
    sdp[PROTO_OFFER_SDP_MAX + 1] = '\0';
    assert_invalid_field(with(valid_message(MSG_CREATE_SESSION), "offer",
                              offer_of("offer", json_string(sdp))),
                         ROLE_CLIENT, "offer.sdp");
    free(sdp);
}

static void test_create_session_refuses_stream_types_string(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_CREATE_SESSION), "streamTypes", json_string("color")),
        ROLE_CLIENT, "streamTypes");
}

static void test_create_session_refuses_zero_stream_types(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CREATE_SESSION), "streamTypes", stream_types(0)),
                         ROLE_CLIENT, "streamTypes");
}

static void test_create_session_accepts_one_stream_type(void **state)
{
    (void)state;
    json_t *msg = with(valid_message(MSG_CREATE_SESSION), "streamTypes", stream_types(1));
    assert_valid(msg, ROLE_CLIENT, MSG_CREATE_SESSION);
}

static void test_create_session_accepts_eight_stream_types(void **state)
{
    (void)state;
    json_t *msg = with(valid_message(MSG_CREATE_SESSION), "streamTypes", stream_types(8));
    assert_valid(msg, ROLE_CLIENT, MSG_CREATE_SESSION);
}

static void test_create_session_refuses_nine_stream_types(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CREATE_SESSION), "streamTypes", stream_types(9)),
                         ROLE_CLIENT, "streamTypes");
}

static void test_create_session_accepts_32_character_stream_type(void **state)
{
    (void)state;
    json_t *msg = with(valid_message(MSG_CREATE_SESSION), "streamTypes",
                       json_pack("[o]", string_of('s', 32)));
    assert_valid(msg, ROLE_CLIENT, MSG_CREATE_SESSION);
}

static void test_create_session_refuses_33_character_stream_type(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CREATE_SESSION), "streamTypes",
                              json_pack("[o]", string_of('s', 33))),
                         ROLE_CLIENT, "streamTypes[0]");
}

static void test_create_session_refuses_numeric_stream_type_entry(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CREATE_SESSION), "streamTypes",
                              json_pack("[s, i]", "color", 2)),
                         ROLE_CLIENT, "streamTypes[1]");
}

static void test_create_session_refuses_empty_stream_type_entry(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CREATE_SESSION), "streamTypes",
                              json_pack("[s]", "")),
                         ROLE_CLIENT, "streamTypes[0]");
}

static void test_create_session_refuses_numeric_device_id(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CREATE_SESSION), "deviceId", json_integer(1)),
                         ROLE_CLIENT, "deviceId");
}

static void test_create_session_refuses_numeric_request_id(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CREATE_SESSION), "requestId", json_integer(1)),
                         ROLE_CLIENT, "requestId");
}

static void test_create_session_accepts_64_byte_request_id(void **state)
{
    (void)state;
    json_t *msg = with(valid_message(MSG_CREATE_SESSION), "requestId", string_of('q', 64));
    assert_valid(msg, ROLE_CLIENT, MSG_CREATE_SESSION);
}

static void test_create_session_refuses_65_byte_request_id(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_CREATE_SESSION), "requestId", string_of('q', 65)), ROLE_CLIENT,
        "requestId");
}

/* ---- sessionId syntax (shared by every session message) ------------------ */

static void test_session_id_of_22_characters_is_valid(void **state)
{
    (void)state;
    json_t *msg = with(valid_message(MSG_CLOSE_SESSION), "sessionId", string_of('A', 22));
    assert_valid(msg, ROLE_CLIENT, MSG_CLOSE_SESSION);
}

static void test_session_id_of_21_characters_is_refused(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CLOSE_SESSION), "sessionId", string_of('A', 21)),
                         ROLE_CLIENT, "sessionId");
}

static void test_session_id_of_23_characters_is_refused(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CLOSE_SESSION), "sessionId", string_of('A', 23)),
                         ROLE_CLIENT, "sessionId");
}

static void test_session_id_with_slash_is_refused(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CLOSE_SESSION), "sessionId",
                              json_string("q1w2e3r4t5y6u7i8o9p0/_")),
                         ROLE_CLIENT, "sessionId");
}

static void test_session_id_with_plus_is_refused(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CLOSE_SESSION), "sessionId",
                              json_string("q1w2e3r4t5y6u7i8o9p0+_")),
                         ROLE_CLIENT, "sessionId");
}

static void test_numeric_session_id_is_refused(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CLOSE_SESSION), "sessionId", json_integer(42)),
                         ROLE_CLIENT, "sessionId");
}

static void test_null_session_id_is_refused(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CLOSE_SESSION), "sessionId", json_null()),
                         ROLE_ROBOT, "sessionId");
}

/* PROTOCOL.md: a sessionId is 22 characters of base64url (A-Z a-z 0-9 - _),
 * which excludes the . : @ that peer-chosen names may use. */
static void test_session_id_with_non_base64url_character_is_refused(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CLOSE_SESSION), "sessionId",
                              json_string("q1w2e3r4t5y6u7i8o9p0.@")),
                         ROLE_CLIENT, "sessionId");
}

/* json_string_length counts 22 but the C string stops at the NUL, and
 * check_session_id (unlike check_name) does not compare the two. */
static void test_session_id_with_embedded_nul_is_refused(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_CLOSE_SESSION), "sessionId",
                              json_stringn("q1w2e3r4t5y6u7i8o9p0-\0", 22)),
                         ROLE_CLIENT, "sessionId");
}

/* ---- webrtc-offer / webrtc-answer ---------------------------------------- */

static void test_webrtc_offer_requires_session_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_WEBRTC_OFFER), "sessionId"), ROLE_ROBOT,
                         "sessionId");
}

static void test_webrtc_offer_requires_offer(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_WEBRTC_OFFER), "offer"), ROLE_ROBOT,
                         "offer");
}

static void test_webrtc_offer_refuses_offer_string(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_WEBRTC_OFFER), "offer", json_string(SDP)),
                         ROLE_ROBOT, "offer");
}

static void test_webrtc_offer_refuses_offer_of_type_answer(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_WEBRTC_OFFER), "offer",
                              json_pack("{s:s, s:s}", "type", "answer", "sdp", SDP)),
                         ROLE_ROBOT, "offer");
}

static void test_webrtc_offer_refuses_empty_sdp(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_WEBRTC_OFFER), "offer",
                              json_pack("{s:s, s:s}", "type", "offer", "sdp", "")),
                         ROLE_ROBOT, "offer");
}

static void test_webrtc_offer_refuses_missing_sdp(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_WEBRTC_OFFER), "offer",
                              json_pack("{s:s}", "type", "offer")),
                         ROLE_ROBOT, "offer");
}

static void test_webrtc_answer_requires_session_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_WEBRTC_ANSWER), "sessionId"), ROLE_CLIENT,
                         "sessionId");
}

static void test_webrtc_answer_requires_answer(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_WEBRTC_ANSWER), "answer"), ROLE_CLIENT,
                         "answer");
}

static void test_webrtc_answer_refuses_answer_of_type_offer(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_WEBRTC_ANSWER), "answer",
                              json_pack("{s:s, s:s}", "type", "offer", "sdp", SDP)),
                         ROLE_CLIENT, "answer");
}

static void test_webrtc_answer_refuses_empty_sdp(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_WEBRTC_ANSWER), "answer",
                              json_pack("{s:s, s:s}", "type", "answer", "sdp", "")),
                         ROLE_CLIENT, "answer");
}

/* ---- ice-candidate ------------------------------------------------------- */

static void test_ice_candidate_null_is_valid(void **state)
{
    (void)state;
    json_t *msg = with(valid_message(MSG_ICE_CANDIDATE), "candidate", json_null());
    assert_valid(msg, ROLE_ROBOT, MSG_ICE_CANDIDATE);
}

static void test_ice_candidate_with_only_candidate_string_is_valid(void **state)
{
    (void)state;
    json_t *msg = with(valid_message(MSG_ICE_CANDIDATE), "candidate",
                       json_pack("{s:s}", "candidate", CANDIDATE));
    assert_valid(msg, ROLE_CLIENT, MSG_ICE_CANDIDATE);
}

static void test_ice_candidate_accepts_null_sdp_mid_and_sdp_mline_index(void **state)
{
    (void)state;
    json_t *msg = with(valid_message(MSG_ICE_CANDIDATE), "candidate",
                       json_pack("{s:s, s:n, s:n}", "candidate", CANDIDATE, "sdpMid",
                                 "sdpMLineIndex"));
    assert_valid(msg, ROLE_CLIENT, MSG_ICE_CANDIDATE);
}

static void test_ice_candidate_requires_session_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_ICE_CANDIDATE), "sessionId"), ROLE_CLIENT,
                         "sessionId");
}

static void test_ice_candidate_requires_candidate(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_ICE_CANDIDATE), "candidate"), ROLE_CLIENT,
                         "candidate");
}

static void test_ice_candidate_refuses_candidate_string(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_ICE_CANDIDATE), "candidate", json_string(CANDIDATE)),
        ROLE_CLIENT, "candidate");
}

static void test_ice_candidate_refuses_object_without_candidate_string(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ICE_CANDIDATE), "candidate",
                              json_pack("{s:s, s:i}", "sdpMid", "0", "sdpMLineIndex", 0)),
                         ROLE_CLIENT, "candidate");
}

static void test_ice_candidate_refuses_numeric_sdp_mid(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ICE_CANDIDATE), "candidate",
                              json_pack("{s:s, s:i}", "candidate", CANDIDATE, "sdpMid", 0)),
                         ROLE_CLIENT, "candidate");
}

static void test_ice_candidate_refuses_negative_sdp_mline_index(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_ICE_CANDIDATE), "candidate",
             json_pack("{s:s, s:i}", "candidate", CANDIDATE, "sdpMLineIndex", -1)),
        ROLE_CLIENT, "candidate");
}

static void test_ice_candidate_refuses_fractional_sdp_mline_index(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_ICE_CANDIDATE), "candidate",
             json_pack("{s:s, s:f}", "candidate", CANDIDATE, "sdpMLineIndex", 1.5)),
        ROLE_CLIENT, "candidate");
}

static void test_ice_candidate_refuses_string_sdp_mline_index(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_ICE_CANDIDATE), "candidate",
             json_pack("{s:s, s:s}", "candidate", CANDIDATE, "sdpMLineIndex", "0")),
        ROLE_CLIENT, "candidate");
}

/* ---- stream type switching ----------------------------------------------- */

static void test_switch_stream_type_requires_session_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_SWITCH_STREAM_TYPE), "sessionId"),
                         ROLE_CLIENT, "sessionId");
}

static void test_switch_stream_type_requires_stream_types(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_SWITCH_STREAM_TYPE), "streamTypes"),
                         ROLE_CLIENT, "streamTypes");
}

static void test_switch_stream_type_refuses_nine_stream_types(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_SWITCH_STREAM_TYPE), "streamTypes", stream_types(9)),
        ROLE_CLIENT, "streamTypes");
}

static void test_stream_type_switched_requires_session_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_STREAM_TYPE_SWITCHED), "sessionId"),
                         ROLE_ROBOT, "sessionId");
}

static void test_stream_type_switched_requires_stream_types(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_STREAM_TYPE_SWITCHED), "streamTypes"),
                         ROLE_ROBOT, "streamTypes");
}

static void test_stream_type_switched_refuses_empty_stream_types(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_STREAM_TYPE_SWITCHED), "streamTypes", stream_types(0)),
        ROLE_ROBOT, "streamTypes");
}

static void test_stream_type_switch_error_requires_session_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_STREAM_TYPE_SWITCH_ERROR), "sessionId"),
                         ROLE_ROBOT, "sessionId");
}

static void test_stream_type_switch_error_requires_error(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_STREAM_TYPE_SWITCH_ERROR), "error"),
                         ROLE_ROBOT, "error");
}

static void test_stream_type_switch_error_refuses_numeric_error(void **state)
{
    (void)state;
    assert_invalid_field(
        with(valid_message(MSG_STREAM_TYPE_SWITCH_ERROR), "error", json_integer(500)),
        ROLE_ROBOT, "error");
}

/* ---- session-error / close-session --------------------------------------- */

static void test_session_error_requires_session_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_SESSION_ERROR), "sessionId"), ROLE_ROBOT,
                         "sessionId");
}

static void test_session_error_requires_error(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_SESSION_ERROR), "error"), ROLE_ROBOT,
                         "error");
}

static void test_session_error_refuses_object_error(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_SESSION_ERROR), "error", json_object()),
                         ROLE_ROBOT, "error");
}

static void test_close_session_requires_session_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_CLOSE_SESSION), "sessionId"), ROLE_ROBOT,
                         "sessionId");
}

/* ---- robot-request ------------------------------------------------------- */

/* A path of exactly n bytes: "/api/" then 'a's. */
static json_t *api_path_of(size_t n)
{
    char *buf = malloc(n + 1);
    assert_non_null(buf);
    memcpy(buf, "/api/", 5);
    memset(buf + 5, 'a', n - 5);
    buf[n] = '\0';
    json_t *j = json_string(buf);
    free(buf);
    return j;
}

static void test_robot_request_is_valid_from_client(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_ROBOT_REQUEST), ROLE_CLIENT, MSG_ROBOT_REQUEST);
}

static void test_robot_request_without_body_is_valid(void **state)
{
    (void)state;
    assert_valid(without(valid_message(MSG_ROBOT_REQUEST), "body"), ROLE_CLIENT,
                 MSG_ROBOT_REQUEST);
}

static void test_robot_request_body_may_be_any_json_value(void **state)
{
    (void)state;
    json_t *bodies[] = {json_null(), json_integer(7), json_string("x"), json_pack("[i,i]", 1, 2),
                        json_true(), json_real(2.5)};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        assert_valid(with(valid_message(MSG_ROBOT_REQUEST), "body", bodies[i]), ROLE_CLIENT,
                     MSG_ROBOT_REQUEST);
}

static void test_robot_request_accepts_each_method(void **state)
{
    (void)state;
    const char *methods[] = {"GET", "POST", "PUT", "DELETE"};
    for (size_t i = 0; i < 4; i++)
        assert_valid(with(valid_message(MSG_ROBOT_REQUEST), "method", json_string(methods[i])),
                     ROLE_CLIENT, MSG_ROBOT_REQUEST);
}

static void test_robot_request_refuses_other_methods(void **state)
{
    (void)state;
    const char *methods[] = {"PATCH", "HEAD", "OPTIONS", "get", "Put", "", "GET "};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        assert_invalid_field(with(valid_message(MSG_ROBOT_REQUEST), "method",
                                  json_string(methods[i])), ROLE_CLIENT, "method");
}

static void test_robot_request_requires_method(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_ROBOT_REQUEST), "method"), ROLE_CLIENT,
                         "method");
}

static void test_robot_request_refuses_numeric_method(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_REQUEST), "method", json_integer(1)),
                         ROLE_CLIENT, "method");
}

static void test_robot_request_requires_request_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_ROBOT_REQUEST), "requestId"), ROLE_CLIENT,
                         "requestId");
}

static void test_robot_request_refuses_numeric_request_id(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_REQUEST), "requestId", json_integer(1)),
                         ROLE_CLIENT, "requestId");
}

static void test_robot_request_accepts_64_byte_request_id(void **state)
{
    (void)state;
    assert_valid(with(valid_message(MSG_ROBOT_REQUEST), "requestId", string_of('r', 64)),
                 ROLE_CLIENT, MSG_ROBOT_REQUEST);
}

static void test_robot_request_refuses_65_byte_request_id(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_REQUEST), "requestId", string_of('r', 65)),
                         ROLE_CLIENT, "requestId");
}

static void test_robot_request_requires_robot_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_ROBOT_REQUEST), "robotId"), ROLE_CLIENT,
                         "robotId");
}

static void test_robot_request_refuses_robot_id_with_slash(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_REQUEST), "robotId", json_string("r/1")),
                         ROLE_CLIENT, "robotId");
}

static void test_robot_request_requires_path(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_ROBOT_REQUEST), "path"), ROLE_CLIENT, "path");
}

static void test_robot_request_accepts_path_with_query(void **state)
{
    (void)state;
    assert_valid(with(valid_message(MSG_ROBOT_REQUEST), "path",
                      json_string("/api/devices/?fields=name,serial&x=%20y")),
                 ROLE_CLIENT, MSG_ROBOT_REQUEST);
}

static void test_robot_request_accepts_shortest_path(void **state)
{
    (void)state;
    assert_valid(with(valid_message(MSG_ROBOT_REQUEST), "path", json_string("/api/")),
                 ROLE_CLIENT, MSG_ROBOT_REQUEST);
}

static void test_robot_request_refuses_path_outside_api(void **state)
{
    (void)state;
    const char *paths[] = {"/api", "/apix/devices", "api/devices", "/API/devices", "/",
                           "", "/health", "//api/devices", "http://x/api/"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        assert_invalid_field(with(valid_message(MSG_ROBOT_REQUEST), "path",
                                  json_string(paths[i])), ROLE_CLIENT, "path");
}

static void test_robot_request_refuses_path_with_space_or_control(void **state)
{
    (void)state;
    const char *paths[] = {"/api/a b", "/api/a\tb", "/api/a\r\nHost: x", "/api/\x7f",
                           "/api/caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        assert_invalid_field(with(valid_message(MSG_ROBOT_REQUEST), "path",
                                  json_string(paths[i])), ROLE_CLIENT, "path");
}

static void test_robot_request_refuses_path_with_embedded_nul(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_REQUEST), "path",
                              json_stringn("/api/a\0b", 8)), ROLE_CLIENT, "path");
}

static void test_robot_request_accepts_1024_byte_path(void **state)
{
    (void)state;
    assert_valid(with(valid_message(MSG_ROBOT_REQUEST), "path", api_path_of(1024)), ROLE_CLIENT,
                 MSG_ROBOT_REQUEST);
}

static void test_robot_request_refuses_1025_byte_path(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_REQUEST), "path", api_path_of(1025)),
                         ROLE_CLIENT, "path");
}

static void test_robot_request_refuses_numeric_path(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_REQUEST), "path", json_integer(5)),
                         ROLE_CLIENT, "path");
}

static void test_robot_may_not_send_robot_request(void **state)
{
    (void)state;
    assert_refused(valid_message(MSG_ROBOT_REQUEST), ROLE_ROBOT, "wrong-role");
}

/* ---- robot-response ------------------------------------------------------ */

static void test_robot_response_is_valid_from_robot(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_ROBOT_RESPONSE), ROLE_ROBOT, MSG_ROBOT_RESPONSE);
}

static void test_robot_response_without_body_is_valid(void **state)
{
    (void)state;
    assert_valid(without(valid_message(MSG_ROBOT_RESPONSE), "body"), ROLE_ROBOT,
                 MSG_ROBOT_RESPONSE);
}

static void test_robot_response_accepts_status_100_and_599(void **state)
{
    (void)state;
    assert_valid(with(valid_message(MSG_ROBOT_RESPONSE), "status", json_integer(100)),
                 ROLE_ROBOT, MSG_ROBOT_RESPONSE);
    assert_valid(with(valid_message(MSG_ROBOT_RESPONSE), "status", json_integer(599)),
                 ROLE_ROBOT, MSG_ROBOT_RESPONSE);
}

static void test_robot_response_refuses_status_out_of_range(void **state)
{
    (void)state;
    long bad[] = {99, 600, 0, -200, 20000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_invalid_field(with(valid_message(MSG_ROBOT_RESPONSE), "status",
                                  json_integer(bad[i])), ROLE_ROBOT, "status");
}

static void test_robot_response_refuses_status_that_is_not_an_integer(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_RESPONSE), "status", json_string("200")),
                         ROLE_ROBOT, "status");
    assert_invalid_field(with(valid_message(MSG_ROBOT_RESPONSE), "status", json_real(200.0)),
                         ROLE_ROBOT, "status");
}

static void test_robot_response_requires_status(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_ROBOT_RESPONSE), "status"), ROLE_ROBOT,
                         "status");
}

static void test_robot_response_requires_request_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_ROBOT_RESPONSE), "requestId"), ROLE_ROBOT,
                         "requestId");
}

static void test_robot_response_refuses_numeric_request_id(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ROBOT_RESPONSE), "requestId", json_integer(3)),
                         ROLE_ROBOT, "requestId");
}

static void test_client_may_not_send_robot_response(void **state)
{
    (void)state;
    assert_refused(valid_message(MSG_ROBOT_RESPONSE), ROLE_CLIENT, "wrong-role");
}

static void test_valid_method_and_api_path_helpers(void **state)
{
    (void)state;
    assert_true(protocol_valid_method("DELETE"));
    assert_false(protocol_valid_method("PATCH"));
    assert_false(protocol_valid_method(NULL));
    assert_true(protocol_valid_api_path("/api/devices/", 13));
    assert_false(protocol_valid_api_path("/api/devices/", 4)); /* only "/api" of it */
    assert_false(protocol_valid_api_path(NULL, 0));
}

/* ---- unknown types ------------------------------------------------------- */

static void test_unknown_type_is_refused_with_unknown_type(void **state)
{
    (void)state;
    json_t *msg = json_pack("{s:s}", "type", "teleport");
    memset(&err, 0, sizeof err);
    assert_int_equal(protocol_validate(msg, "teleport", ROLE_CLIENT, &err), MSG_INVALID);
    json_decref(msg);
    assert_string_equal(err.code, "unknown-type");
    assert_non_null(strstr(err.message, "teleport"));
}

static void test_unknown_type_is_refused_before_registration(void **state)
{
    (void)state;
    json_t *msg = json_pack("{s:s}", "type", "teleport");
    memset(&err, 0, sizeof err);
    assert_int_equal(protocol_validate(msg, "teleport", ROLE_NONE, &err), MSG_INVALID);
    json_decref(msg);
    assert_string_equal(err.code, "unknown-type");
}

static void test_type_names_are_case_sensitive(void **state)
{
    (void)state;
    json_t *msg = with(valid_message(MSG_CLOSE_SESSION), "type", json_string("Close-Session"));
    memset(&err, 0, sizeof err);
    assert_int_equal(protocol_validate(msg, "Close-Session", ROLE_CLIENT, &err), MSG_INVALID);
    json_decref(msg);
    assert_string_equal(err.code, "unknown-type");
}

static void test_server_to_peer_type_is_unknown_when_sent_by_peer(void **state)
{
    (void)state;
    json_t *msg = json_pack("{s:s, s:s}", "type", "session-created", "sessionId", SID);
    memset(&err, 0, sizeof err);
    assert_int_equal(protocol_validate(msg, "session-created", ROLE_CLIENT, &err),
                     MSG_INVALID);
    json_decref(msg);
    assert_string_equal(err.code, "unknown-type");
}

static void test_long_unknown_type_gives_bounded_message(void **state)
{
    (void)state;
    char type[1024];
    memset(type, 'x', sizeof type - 1);
    type[sizeof type - 1] = '\0';
    json_t *msg = json_pack("{s:s}", "type", type);
    memset(&err, 0, sizeof err);
    assert_int_equal(protocol_validate(msg, type, ROLE_CLIENT, &err), MSG_INVALID);
    json_decref(msg);
    assert_string_equal(err.code, "unknown-type");
    assert_true(strnlen(err.message, sizeof err.message) < sizeof err.message);
}

/* ---- roles --------------------------------------------------------------- */

static void test_unregistered_peer_may_send_only_register_messages(void **state)
{
    (void)state;
    for (int t = MSG_CREATE_SESSION; t < MSG__COUNT; t++)
        assert_refused(valid_message((enum msg_type)t), ROLE_NONE, "not-registered");
}

static void test_role_is_checked_before_fields_for_unregistered_peer(void **state)
{
    (void)state;
    assert_refused(json_pack("{s:s}", "type", "create-session"), ROLE_NONE, "not-registered");
}

/* Either side may offer (the robot, or a client whose create-session
 * carried an offer); the router holds each session to one direction. */
static void test_client_may_send_webrtc_offer(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_WEBRTC_OFFER), ROLE_CLIENT, MSG_WEBRTC_OFFER);
}

static void test_client_may_not_send_stream_type_switched(void **state)
{
    (void)state;
    assert_refused(valid_message(MSG_STREAM_TYPE_SWITCHED), ROLE_CLIENT, "wrong-role");
}

static void test_client_may_not_send_stream_type_switch_error(void **state)
{
    (void)state;
    assert_refused(valid_message(MSG_STREAM_TYPE_SWITCH_ERROR), ROLE_CLIENT, "wrong-role");
}

static void test_client_may_not_send_session_error(void **state)
{
    (void)state;
    assert_refused(valid_message(MSG_SESSION_ERROR), ROLE_CLIENT, "wrong-role");
}

static void test_robot_may_not_send_create_session(void **state)
{
    (void)state;
    assert_refused(valid_message(MSG_CREATE_SESSION), ROLE_ROBOT, "wrong-role");
}

static void test_robot_may_send_webrtc_answer(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_WEBRTC_ANSWER), ROLE_ROBOT, MSG_WEBRTC_ANSWER);
}

static void test_unregistered_may_not_send_webrtc_offer(void **state)
{
    (void)state;
    assert_refused(valid_message(MSG_WEBRTC_OFFER), ROLE_NONE, "not-registered");
}

static void test_robot_may_not_send_switch_stream_type(void **state)
{
    (void)state;
    assert_refused(valid_message(MSG_SWITCH_STREAM_TYPE), ROLE_ROBOT, "wrong-role");
}

static void test_robot_may_not_send_ice_restart_request(void **state)
{
    (void)state;
    assert_refused(valid_message(MSG_ICE_RESTART_REQUEST), ROLE_ROBOT, "wrong-role");
}

static void test_client_may_send_ice_restart_request(void **state)
{
    (void)state;
    assert_valid(valid_message(MSG_ICE_RESTART_REQUEST), ROLE_CLIENT, MSG_ICE_RESTART_REQUEST);
}

static void test_ice_restart_request_reason_must_be_a_short_string(void **state)
{
    (void)state;
    assert_invalid_field(with(valid_message(MSG_ICE_RESTART_REQUEST), "reason", json_integer(1)),
                         ROLE_CLIENT, "reason");
    assert_valid(without(valid_message(MSG_ICE_RESTART_REQUEST), "reason"), ROLE_CLIENT,
                 MSG_ICE_RESTART_REQUEST);
}

static void test_ice_restart_request_needs_a_session_id(void **state)
{
    (void)state;
    assert_invalid_field(without(valid_message(MSG_ICE_RESTART_REQUEST), "sessionId"),
                         ROLE_CLIENT, "sessionId");
}

static void test_wrong_role_is_reported_before_fields(void **state)
{
    (void)state;
    assert_refused(json_pack("{s:s}", "type", "stream-type-switched"), ROLE_CLIENT, "wrong-role");
}

/* ---- names and classification -------------------------------------------- */

static void test_type_name_matches_wire_name(void **state)
{
    (void)state;
    for (int t = 0; t < MSG__COUNT; t++) {
        json_t *msg = valid_message((enum msg_type)t);
        assert_string_equal(protocol_type_name((enum msg_type)t),
                            json_string_value(json_object_get(msg, "type")));
        json_decref(msg);
    }
}

static void test_type_name_of_invalid_is_empty(void **state)
{
    (void)state;
    assert_string_equal(protocol_type_name(MSG_INVALID), "");
    assert_string_equal(protocol_type_name(MSG__COUNT), "");
}

static void test_session_messages_are_those_with_session_id(void **state)
{
    (void)state;
    for (int t = 0; t < MSG__COUNT; t++) {
        json_t *msg = valid_message((enum msg_type)t);
        bool has_sid = json_object_get(msg, "sessionId") != NULL;
        json_decref(msg);
        assert_int_equal(protocol_is_session_message((enum msg_type)t), has_sid);
    }
    assert_false(protocol_is_session_message(MSG_INVALID));
}

static void test_role_names(void **state)
{
    (void)state;
    assert_string_equal(protocol_role_name(ROLE_ROBOT), "robot");
    assert_string_equal(protocol_role_name(ROLE_CLIENT), "client");
    assert_non_null(protocol_role_name(ROLE_NONE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_robot_register_is_valid_before_registration),
        cmocka_unit_test(test_client_register_is_valid_before_registration),
        cmocka_unit_test(test_create_session_is_valid_from_client),
        cmocka_unit_test(test_webrtc_offer_is_valid_from_robot),
        cmocka_unit_test(test_webrtc_answer_is_valid_from_client),
        cmocka_unit_test(test_ice_candidate_is_valid_from_robot),
        cmocka_unit_test(test_ice_candidate_is_valid_from_client),
        cmocka_unit_test(test_switch_stream_type_is_valid_from_client),
        cmocka_unit_test(test_stream_type_switched_is_valid_from_robot),
        cmocka_unit_test(test_stream_type_switch_error_is_valid_from_robot),
        cmocka_unit_test(test_session_error_is_valid_from_robot),
        cmocka_unit_test(test_close_session_is_valid_from_client),
        cmocka_unit_test(test_close_session_is_valid_from_robot),
        cmocka_unit_test(test_message_parsed_from_text_is_valid),
        cmocka_unit_test(test_unknown_fields_are_ignored),

        cmocka_unit_test(test_robot_register_without_device_info_is_valid),
        cmocka_unit_test(test_robot_register_requires_robot_id),
        cmocka_unit_test(test_robot_register_refuses_numeric_robot_id),
        cmocka_unit_test(test_robot_register_accepts_64_character_robot_id),
        cmocka_unit_test(test_robot_register_refuses_65_character_robot_id),
        cmocka_unit_test(test_robot_register_refuses_robot_id_with_space),
        cmocka_unit_test(test_robot_register_refuses_non_ascii_robot_id),
        cmocka_unit_test(test_robot_register_refuses_empty_robot_id),
        cmocka_unit_test(test_robot_register_refuses_robot_id_with_embedded_nul),
        cmocka_unit_test(test_robot_register_accepts_every_name_character),
        cmocka_unit_test(test_robot_register_refuses_device_info_string),
        cmocka_unit_test(test_robot_register_refuses_device_info_array),
        cmocka_unit_test(test_robot_register_accepts_device_info_of_8_kib),
        cmocka_unit_test(test_robot_register_refuses_device_info_over_8_kib),

        cmocka_unit_test(test_client_register_without_client_id_is_valid),
        cmocka_unit_test(test_client_register_refuses_numeric_client_id),
        cmocka_unit_test(test_client_register_refuses_client_id_with_space),
        cmocka_unit_test(test_client_register_refuses_65_character_client_id),
        cmocka_unit_test(test_register_messages_accept_a_token),
        cmocka_unit_test(test_register_messages_refuse_a_token_that_is_not_a_string),
        cmocka_unit_test(test_refresh_token_needs_a_token_and_a_registered_peer),

        cmocka_unit_test(test_create_session_without_optional_fields_is_valid),
        cmocka_unit_test(test_create_session_requires_robot_id),
        cmocka_unit_test(test_create_session_refuses_robot_id_with_space),
        cmocka_unit_test(test_create_session_requires_stream_types),
        cmocka_unit_test(test_create_session_refuses_stream_types_string),
        cmocka_unit_test(test_create_session_takes_a_depth_request),
        cmocka_unit_test(test_create_session_refuses_a_depth_that_is_not_an_object),
        cmocka_unit_test(test_create_session_takes_a_viewer_offer),
        cmocka_unit_test(test_create_session_refuses_a_malformed_offer),
        cmocka_unit_test(test_create_session_refuses_an_oversized_offer),
        cmocka_unit_test(test_create_session_refuses_zero_stream_types),
        cmocka_unit_test(test_create_session_accepts_one_stream_type),
        cmocka_unit_test(test_create_session_accepts_eight_stream_types),
        cmocka_unit_test(test_create_session_refuses_nine_stream_types),
        cmocka_unit_test(test_create_session_accepts_32_character_stream_type),
        cmocka_unit_test(test_create_session_refuses_33_character_stream_type),
        cmocka_unit_test(test_create_session_refuses_numeric_stream_type_entry),
        cmocka_unit_test(test_create_session_refuses_empty_stream_type_entry),
        cmocka_unit_test(test_create_session_refuses_numeric_device_id),
        cmocka_unit_test(test_create_session_refuses_numeric_request_id),
        cmocka_unit_test(test_create_session_accepts_64_byte_request_id),
        cmocka_unit_test(test_create_session_refuses_65_byte_request_id),

        cmocka_unit_test(test_session_id_of_22_characters_is_valid),
        cmocka_unit_test(test_session_id_of_21_characters_is_refused),
        cmocka_unit_test(test_session_id_of_23_characters_is_refused),
        cmocka_unit_test(test_session_id_with_slash_is_refused),
        cmocka_unit_test(test_session_id_with_plus_is_refused),
        cmocka_unit_test(test_numeric_session_id_is_refused),
        cmocka_unit_test(test_null_session_id_is_refused),
        cmocka_unit_test(test_session_id_with_non_base64url_character_is_refused),
        cmocka_unit_test(test_session_id_with_embedded_nul_is_refused),

        cmocka_unit_test(test_webrtc_offer_requires_session_id),
        cmocka_unit_test(test_webrtc_offer_requires_offer),
        cmocka_unit_test(test_webrtc_offer_refuses_offer_string),
        cmocka_unit_test(test_webrtc_offer_refuses_offer_of_type_answer),
        cmocka_unit_test(test_webrtc_offer_refuses_empty_sdp),
        cmocka_unit_test(test_webrtc_offer_refuses_missing_sdp),
        cmocka_unit_test(test_webrtc_answer_requires_session_id),
        cmocka_unit_test(test_webrtc_answer_requires_answer),
        cmocka_unit_test(test_webrtc_answer_refuses_answer_of_type_offer),
        cmocka_unit_test(test_webrtc_answer_refuses_empty_sdp),

        cmocka_unit_test(test_ice_candidate_null_is_valid),
        cmocka_unit_test(test_ice_candidate_with_only_candidate_string_is_valid),
        cmocka_unit_test(test_ice_candidate_accepts_null_sdp_mid_and_sdp_mline_index),
        cmocka_unit_test(test_ice_candidate_requires_session_id),
        cmocka_unit_test(test_ice_candidate_requires_candidate),
        cmocka_unit_test(test_ice_candidate_refuses_candidate_string),
        cmocka_unit_test(test_ice_candidate_refuses_object_without_candidate_string),
        cmocka_unit_test(test_ice_candidate_refuses_numeric_sdp_mid),
        cmocka_unit_test(test_ice_candidate_refuses_negative_sdp_mline_index),
        cmocka_unit_test(test_ice_candidate_refuses_fractional_sdp_mline_index),
        cmocka_unit_test(test_ice_candidate_refuses_string_sdp_mline_index),

        cmocka_unit_test(test_switch_stream_type_requires_session_id),
        cmocka_unit_test(test_switch_stream_type_requires_stream_types),
        cmocka_unit_test(test_switch_stream_type_refuses_nine_stream_types),
        cmocka_unit_test(test_stream_type_switched_requires_session_id),
        cmocka_unit_test(test_stream_type_switched_requires_stream_types),
        cmocka_unit_test(test_stream_type_switched_refuses_empty_stream_types),
        cmocka_unit_test(test_stream_type_switch_error_requires_session_id),
        cmocka_unit_test(test_stream_type_switch_error_requires_error),
        cmocka_unit_test(test_stream_type_switch_error_refuses_numeric_error),

        cmocka_unit_test(test_session_error_requires_session_id),
        cmocka_unit_test(test_session_error_requires_error),
        cmocka_unit_test(test_session_error_refuses_object_error),
        cmocka_unit_test(test_close_session_requires_session_id),

        cmocka_unit_test(test_robot_request_is_valid_from_client),
        cmocka_unit_test(test_robot_request_without_body_is_valid),
        cmocka_unit_test(test_robot_request_body_may_be_any_json_value),
        cmocka_unit_test(test_robot_request_accepts_each_method),
        cmocka_unit_test(test_robot_request_refuses_other_methods),
        cmocka_unit_test(test_robot_request_requires_method),
        cmocka_unit_test(test_robot_request_refuses_numeric_method),
        cmocka_unit_test(test_robot_request_requires_request_id),
        cmocka_unit_test(test_robot_request_refuses_numeric_request_id),
        cmocka_unit_test(test_robot_request_accepts_64_byte_request_id),
        cmocka_unit_test(test_robot_request_refuses_65_byte_request_id),
        cmocka_unit_test(test_robot_request_requires_robot_id),
        cmocka_unit_test(test_robot_request_refuses_robot_id_with_slash),
        cmocka_unit_test(test_robot_request_requires_path),
        cmocka_unit_test(test_robot_request_accepts_path_with_query),
        cmocka_unit_test(test_robot_request_accepts_shortest_path),
        cmocka_unit_test(test_robot_request_refuses_path_outside_api),
        cmocka_unit_test(test_robot_request_refuses_path_with_space_or_control),
        cmocka_unit_test(test_robot_request_refuses_path_with_embedded_nul),
        cmocka_unit_test(test_robot_request_accepts_1024_byte_path),
        cmocka_unit_test(test_robot_request_refuses_1025_byte_path),
        cmocka_unit_test(test_robot_request_refuses_numeric_path),
        cmocka_unit_test(test_robot_may_not_send_robot_request),

        cmocka_unit_test(test_robot_response_is_valid_from_robot),
        cmocka_unit_test(test_robot_response_without_body_is_valid),
        cmocka_unit_test(test_robot_response_accepts_status_100_and_599),
        cmocka_unit_test(test_robot_response_refuses_status_out_of_range),
        cmocka_unit_test(test_robot_response_refuses_status_that_is_not_an_integer),
        cmocka_unit_test(test_robot_response_requires_status),
        cmocka_unit_test(test_robot_response_requires_request_id),
        cmocka_unit_test(test_robot_response_refuses_numeric_request_id),
        cmocka_unit_test(test_client_may_not_send_robot_response),
        cmocka_unit_test(test_valid_method_and_api_path_helpers),

        cmocka_unit_test(test_unknown_type_is_refused_with_unknown_type),
        cmocka_unit_test(test_unknown_type_is_refused_before_registration),
        cmocka_unit_test(test_type_names_are_case_sensitive),
        cmocka_unit_test(test_server_to_peer_type_is_unknown_when_sent_by_peer),
        cmocka_unit_test(test_long_unknown_type_gives_bounded_message),

        cmocka_unit_test(test_unregistered_peer_may_send_only_register_messages),
        cmocka_unit_test(test_role_is_checked_before_fields_for_unregistered_peer),
        cmocka_unit_test(test_client_may_send_webrtc_offer),
        cmocka_unit_test(test_client_may_not_send_stream_type_switched),
        cmocka_unit_test(test_client_may_not_send_stream_type_switch_error),
        cmocka_unit_test(test_client_may_not_send_session_error),
        cmocka_unit_test(test_robot_may_not_send_create_session),
        cmocka_unit_test(test_robot_may_send_webrtc_answer),
        cmocka_unit_test(test_unregistered_may_not_send_webrtc_offer),
        cmocka_unit_test(test_robot_may_not_send_switch_stream_type),
        cmocka_unit_test(test_robot_may_not_send_ice_restart_request),
        cmocka_unit_test(test_client_may_send_ice_restart_request),
        cmocka_unit_test(test_ice_restart_request_needs_a_session_id),
        cmocka_unit_test(test_ice_restart_request_reason_must_be_a_short_string),
        cmocka_unit_test(test_wrong_role_is_reported_before_fields),

        cmocka_unit_test(test_type_name_matches_wire_name),
        cmocka_unit_test(test_type_name_of_invalid_is_empty),
        cmocka_unit_test(test_session_messages_are_those_with_session_id),
        cmocka_unit_test(test_role_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
