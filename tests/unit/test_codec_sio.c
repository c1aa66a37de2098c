/* test_codec_sio.c - the Socket.IO wire codec (codec_sio.h): decoding,
 * encoding, the round trip with the native codec, and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cloud/codec_json.h"
#include "cloud/codec_sio.h"
#include "cloud/protocol.h"

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
    free(sio);
    json_decref(back);
    json_decref(m);
}

/* ---- the fast path agrees with the full path ---- */

#define SID "q1w2e3r4t5y6u7i8o9p0-_"

/* The full path's verdict: decode, then protocol_validate. */
static bool full_accepts(const char *m, size_t len, enum role sender, enum msg_type *t,
                         char *sid)
{
    struct codec_error err;
    const char *type;
    json_t *msg = codec_sio.decode(m, len, &type, &err);
    if (!msg)
        return false;
    struct proto_error perr;
    *t = protocol_validate(msg, type, sender, &perr);
    const char *s = json_string_value(json_object_get(msg, "sessionId"));
    if (s)
        snprintf(sid, IDS_TOKEN_LEN + 1, "%s", s);
    json_decref(msg);
    return *t != MSG_INVALID;
}

static unsigned fast_accepted; /* mutants the fast path took */

/* Fast accepts only what the full path accepts, with the same reading. */
static bool agree(const char *m, size_t len, enum role sender)
{
    struct codec_fast_msg f;
    if (!codec_sio.fast_relay(m, len, sender, &f))
        return true;
    fast_accepted++;
    enum msg_type t;
    char sid[IDS_TOKEN_LEN + 1] = "";
    if (!full_accepts(m, len, sender, &t, sid))
        return false;
    return t == f.type && strcmp(sid, f.session_id) == 0;
}

static const char *const hot[] = {
    "42[\"webrtc-offer\",{\"sessionId\":\"" SID "\",\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\"}}]",
    "42[\"webrtc-answer\",{\"sessionId\":\"" SID "\",\"answer\":{\"type\":\"answer\",\"sdp\":\"v=0\"}}]",
    "42[\"ice-candidate\",{\"sessionId\":\"" SID "\",\"candidate\":{\"candidate\":\"candidate:1 1 udp 1 "
    "127.0.0.1 5 typ host\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}}]",
    "42[\"ice-candidate\",{\"type\":\"other\",\"sessionId\":\"" SID "\",\"candidate\":null}]",
};

static void test_fast_path_takes_the_hot_messages(void **state)
{
    (void)state;
    struct codec_fast_msg f;
    assert_true(codec_sio.fast_relay(hot[0], strlen(hot[0]), ROLE_ROBOT, &f));
    assert_int_equal(f.type, MSG_WEBRTC_OFFER);
    assert_string_equal(f.session_id, SID);
    assert_true(codec_sio.fast_relay(hot[1], strlen(hot[1]), ROLE_CLIENT, &f));
    assert_true(codec_sio.fast_relay(hot[2], strlen(hot[2]), ROLE_CLIENT, &f));
    assert_true(codec_sio.fast_relay(hot[3], strlen(hot[3]), ROLE_ROBOT, &f));
    /* A client offers too (a session whose create-session carried its
     * offer: the router holds each session to one direction). */
    assert_true(codec_sio.fast_relay(hot[0], strlen(hot[0]), ROLE_CLIENT, &f));
    /* Declined: the wrong sender, whitespace, an escape in the name,
     * another type, a second argument. */
    assert_false(codec_sio.fast_relay(hot[0], strlen(hot[0]), ROLE_NONE, &f));
    const char *declined[] = {
        "42[ \"webrtc-offer\",{\"sessionId\":\"" SID "\"}]",
        "42[\"webrtc\\u002doffer\",{}]",
        "42[\"create-session\",{\"robotId\":\"r\",\"streamTypes\":[\"color\"]}]",
        "42[\"ice-candidate\",{\"sessionId\":\"" SID "\",\"candidate\":null},{}]",
        "42[\"ice-candidate\",{\"sessionId\":\"" SID "\",\"candidate\":null}",
    };
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++)
        assert_false(codec_sio.fast_relay(declined[i], strlen(declined[i]), ROLE_ROBOT, &f));
}

/* 100,000 mutations (flipped bytes, cuts, duplicated runs) of the hot
 * messages from both roles: the fast path never accepts what the full
 * path refuses, and reads the same type and sessionId. */
static void test_fast_path_agrees_with_the_full_path(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    char buf[512];
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const char *src = hot[x % 4];
        size_t len = strlen(src);
        memcpy(buf, src, len);
        for (int k = 0; k < 1 + (int)(x >> 60) % 3; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = (size_t)(x >> 8) % len;
            switch ((x >> 40) % 3) {
            case 0: buf[at] = (char)(x >> 48); break;
            case 1: len = at + 1; break;
            default:
                if (len + 8 < sizeof buf) {
                    memmove(buf + at + 8, buf + at, len - at);
                    len += 8;
                }
                break;
            }
        }
        for (int r = ROLE_ROBOT; r <= ROLE_CLIENT; r++)
            if (!agree(buf, len, (enum role)r))
                fail_msg("the fast path accepts what the full path refuses: %.*s", (int)len,
                         buf);
    }
    /* Many mutants stay valid (a byte flipped inside an SDP or a
     * candidate line): the check above was exercised. */
    print_message("fast path took %u of 200000 mutants\n", fast_accepted);
    assert_true(fast_accepted > 1000);
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
        cmocka_unit_test(test_fast_path_takes_the_hot_messages),
        cmocka_unit_test(test_fast_path_agrees_with_the_full_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
