/* test_codec_sio.c - the Socket.IO wire codec (codec_sio.h): decoding,
 * encoding, the round trip with the native codec, and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cloud/codec_json.h"
#include "cloud/codec_sio.h"

/* Decodes text; returns the fields (the test frees them) with *type. */
static json_t *decode_ok(const char *text, const char **type)
{
    struct codec_error err = {0};
    json_t *m = codec_sio.decode(text, strlen(text), type, &err);
    if (!m)
        fail_msg("decode(%s) refused: %s %s", text, err.code, err.message);
    return m;
}

static void expect_refused(const char *text, size_t len, const char *code)
{
    struct codec_error err = {0};
    const char *type = NULL;
    json_t *m = codec_sio.decode(text, len, &type, &err);
    if (m) {
        json_decref(m);
        fail_msg("decode(%.*s) accepted", (int)len, text);
    }
    assert_string_equal(err.code, code);
    assert_true(err.message[0] != 0);
}

/* The text of an encoded message (NUL-terminated copy). */
static char *encode_text(const char *type, json_t *body)
{
    struct outbuf *b = codec_sio.encode(type, body);
    assert_non_null(b);
    char *s = strndup((const char *)outbuf_payload(b), b->len);
    outbuf_unref(b);
    return s;
}

static void test_event_decodes_to_its_fields_with_type(void **state)
{
    (void)state;
    const char *type;
    json_t *m = decode_ok("42[\"create-session\",{\"robotId\":\"r1\",\"streamTypes\":[\"color\"]}]",
                          &type);
    assert_string_equal(type, "create-session");
    assert_string_equal(json_string_value(json_object_get(m, "type")), "create-session");
    assert_string_equal(json_string_value(json_object_get(m, "robotId")), "r1");
    json_decref(m);
}

static void test_event_without_argument_has_no_fields(void **state)
{
    (void)state;
    const char *type;
    json_t *m = decode_ok("42[\"robot-register\"]", &type);
    assert_string_equal(type, "robot-register");
    assert_int_equal(json_object_size(m), 1);
    json_decref(m);
}

static void test_event_name_wins_over_a_type_field(void **state)
{
    (void)state;
    const char *type;
    json_t *m = decode_ok("42[\"webrtc-offer\",{\"type\":\"other\",\"sessionId\":\"s\"}]", &type);
    assert_string_equal(type, "webrtc-offer");
    json_decref(m);
}

static void test_malformed_input_is_refused(void **state)
{
    (void)state;
    expect_refused("", 0, "invalid-message");
    expect_refused("4", 1, "invalid-message");
    expect_refused("2[\"x\"]", 6, "invalid-message");
    expect_refused("43[\"x\"]", 7, "invalid-message");
    expect_refused("42", 2, "invalid-message");
    expect_refused("42[", 3, "invalid-json");
    expect_refused("42[\"x\",{}", 9, "invalid-json");
    expect_refused("42{\"type\":\"x\"}", 14, "invalid-message");
    expect_refused("42[]", 4, "invalid-message");
    expect_refused("42[1,{}]", 8, "invalid-message");
    expect_refused("42[\"\",{}]", 9, "invalid-message");
    expect_refused("42[\"x\",[1]]", 11, "invalid-message");
    expect_refused("42[\"x\",\"y\"]", 11, "invalid-message");
    expect_refused("42[\"x\",{},{}]", 13, "invalid-message");
    expect_refused("42[\"x\",{\"a\":1,\"a\":2}]", 21, "invalid-json");
    expect_refused("42[\"x\",{\"a\":\"\xff\"}]", 17, "invalid-json");
    /* Never reads past len: the closing bracket is outside. */
    expect_refused("42[\"x\",{}]", 9, "invalid-json");
    /* An embedded NUL. */
    expect_refused("42[\"x\0\",{}]", 10, "invalid-json");
}

static void test_encode_puts_type_first_and_drops_the_type_field(void **state)
{
    (void)state;
    json_t *body = json_pack("{s:s, s:s, s:{s:s}}", "type", "webrtc-offer", "sessionId", "S",
                             "offer", "sdp", "v=0");
    char *s = encode_text("webrtc-offer", body);
    assert_string_equal(s, "42[\"webrtc-offer\",{\"sessionId\":\"S\",\"offer\":{\"sdp\":\"v=0\"}}]");
    free(s);
    /* body is unchanged: a broadcast encodes it again for other codecs. */
    assert_non_null(json_object_get(body, "type"));
    json_decref(body);
}

static void test_available_robots_is_a_bare_array(void **state)
{
    (void)state;
    json_t *body = json_pack("{s:s, s:[{s:s}]}", "clientId", "c1", "robots", "robotId", "r1");
    char *s = encode_text("available-robots", body);
    assert_string_equal(s, "42[\"available-robots\",[{\"robotId\":\"r1\"}]]");
    free(s);
    json_decref(body);
}

/* Native -> (type, fields) -> Socket.IO -> (type, fields) -> native gives
 * the message back, and the relay forwards the bytes as they are. */
static void test_round_trip_with_the_native_codec(void **state)
{
    (void)state;
    const char *native = "{\"type\":\"ice-candidate\",\"sessionId\":\"S\",\"candidate\":"
                         "{\"candidate\":\"candidate:1 1 udp 1 127.0.0.1 5 typ host\","
                         "\"sdpMid\":\"0\",\"sdpMLineIndex\":0}}";
    struct codec_error err;
    const char *type;
    json_t *m = codec_json.decode(native, strlen(native), &type, &err);
    assert_non_null(m);
    char *sio = encode_text(type, m);
    json_t *back = decode_ok(sio, &type);
    assert_true(json_equal(m, back));
    struct outbuf *b = codec_json.encode(type, back);
    assert_non_null(b);
    assert_int_equal(b->len, strlen(native));
    assert_memory_equal(outbuf_payload(b), native, b->len);
    outbuf_unref(b);
    b = codec_sio.relay(sio, strlen(sio));
    assert_memory_equal(outbuf_payload(b), sio, strlen(sio));
    outbuf_unref(b);
    assert_null(codec_sio.fast_relay);
    free(sio);
    json_decref(back);
    json_decref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_decodes_to_its_fields_with_type),
        cmocka_unit_test(test_event_without_argument_has_no_fields),
        cmocka_unit_test(test_event_name_wins_over_a_type_field),
        cmocka_unit_test(test_malformed_input_is_refused),
        cmocka_unit_test(test_encode_puts_type_first_and_drops_the_type_field),
        cmocka_unit_test(test_available_robots_is_a_bare_array),
        cmocka_unit_test(test_round_trip_with_the_native_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
