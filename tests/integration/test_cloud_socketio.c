/* test_cloud_socketio.c - porthole-cloud against bad Socket.IO peers
 * (docs/PROTOCOL.md, "Socket.IO peers"): malformed Engine.IO and
 * Socket.IO packets, unknown namespaces, oversize payloads, bad and closed
 * sessions ids, binary attachments, over WebSocket and long-polling; each
 * gets the documented answer, and the cloud still serves afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "wsclient.h"

#define WAIT HARNESS_WAIT_MS
#define WS_PATH "/socket.io/?EIO=4&transport=websocket"
#define POLL_PATH "/socket.io/?EIO=4&transport=polling"

static struct harness_fixture fx_default = {.args = NULL};
static const char *const small_args[] = {"--max-message", "4k", NULL};
static struct harness_fixture fx_small = {.args = small_args};
static const char *const none_args[] = {"--sio-max-sessions", "0", NULL};
static const char *const rate_args[] = {"--rate-limit", "20", NULL};
static struct harness_fixture fx_rate = {.args = rate_args};
static const char *const reg_args[] = {"--register-timeout", "1", NULL};
static struct harness_fixture fx_reg = {.args = reg_args};
static struct harness_fixture fx_none = {.args = none_args};

/* ---- helpers ---- */

/* The next text message of c, which must start with prefix; returned
 * (free it), or the test fails. */
static char *expect_text(struct wsc *c, const char *prefix)
{
    struct wsc_msg m;
    if (wsc_recv(c, WAIT, &m) != WSC_MESSAGE || m.opcode != WSC_OP_TEXT)
        fail_msg("expected a text message starting with %s, got event %d", prefix, m.event);
    if (strncmp(m.data, prefix, strlen(prefix)) != 0)
        fail_msg("expected a message starting with %s, got %.300s", prefix, m.data);
    return m.data;
}

/* A WebSocket Socket.IO peer, CONNECTed to "/" unless connect is false. */
static struct wsc *sio_ws(int port, bool connect)
{
    struct wsc *c = wsc_connect(port, WS_PATH, WAIT);
    assert_non_null(c);
    char *open = expect_text(c, "0{\"sid\":");
    assert_non_null(strstr(open, "\"upgrades\":[]"));
    assert_non_null(strstr(open, "\"pingInterval\":25000"));
    assert_non_null(strstr(open, "\"pingTimeout\":20000"));
    free(open);
    if (connect) {
        assert_int_equal(wsc_send_text(c, "40"), 0);
        free(expect_text(c, "40{\"sid\":\""));
    }
    return c;
}

/* c is closed with code after sending text. */
static void expect_ws_close(struct wsc *c, const char *text, int code)
{
    if (text)
        assert_int_equal(wsc_send_text(c, text), 0);
    int got = wsc_expect_close(c, WAIT);
    if (got != code)
        fail_msg("after %s: expected close %d, got %d", text ? text : "(frame)", code, got);
    wsc_close(c);
}

/* An HTTP request whose answer must be status with body (exactly, when
 * body is not NULL). */
static void expect_http(int port, const char *method, const char *path, const char *body,
                        int status, const char *want)
{
    struct http_response r;
    assert_int_equal(http_request(port, method, path, NULL, body, WAIT, &r), 0);
    if (r.status != status || (want && strcmp(r.body, want) != 0))
        fail_msg("%s %s: expected %d %s, got %d %.300s", method, path, status, want ? want : "",
                 r.status, r.body);
    http_response_free(&r);
}

/* A new polling session's sid (into sid, 64 bytes), CONNECTed. */
static void poll_session(int port, char *sid)
{
    struct http_response r;
    assert_int_equal(http_request(port, "GET", POLL_PATH, NULL, NULL, WAIT, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(r.body[0] == '0');
    assert_non_null(strstr(r.body, "\"upgrades\":[\"websocket\"]"));
    const char *p = strstr(r.body, "\"sid\":\"");
    assert_non_null(p);
    assert_int_equal(sscanf(p + 7, "%63[^\"]", sid), 1);
    http_response_free(&r);
    char path[160];
    snprintf(path, sizeof path, POLL_PATH "&sid=%s", sid);
    expect_http(port, "POST", path, "40", 200, "ok");
    assert_int_equal(http_request(port, "GET", path, NULL, NULL, WAIT, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(strncmp(r.body, "40{\"sid\":", 9) == 0);
    http_response_free(&r);
}

/* A new polling session (its GET path into path, 160 bytes) with a GET
 * held waiting for packets; returned (release it). */
static struct wsc *held_poll(int port, char *path)
{
    char sid[64];
    poll_session(port, sid);
    snprintf(path, 160, POLL_PATH "&sid=%s", sid);
    struct wsc *held = http_send(port, "GET", path, NULL, NULL, false, WAIT);
    assert_non_null(held);
    usleep(200 * 1000); /* the GET is held */
    return held;
}

/* ---- Engine.IO ---- */

static void test_malformed_engine_io_packets_close_1002(void **state)
{
    int port = harness_port(state);
    expect_ws_close(sio_ws(port, false), "x", 1002);
    expect_ws_close(sio_ws(port, false), "", 1002);
    expect_ws_close(sio_ws(port, true), "7hello", 1002);
    expect_ws_close(sio_ws(port, true), "42[\"x\",\"\xc0\xaf\"]", 1007); /* not UTF-8 */
    harness_check_alive(port);
}

static void test_bad_query_gets_engine_io_errors(void **state)
{
    int port = harness_port(state);
    expect_http(port, "GET", "/socket.io/?EIO=3&transport=polling", NULL, 400,
                "{\"code\":5,\"message\":\"Unsupported protocol version\"}");
    expect_http(port, "GET", "/socket.io/?transport=polling", NULL, 400,
                "{\"code\":5,\"message\":\"Unsupported protocol version\"}");
    expect_http(port, "GET", "/socket.io/?EIO=4&transport=carrier-pigeon", NULL, 400,
                "{\"code\":0,\"message\":\"Transport unknown\"}");
    expect_http(port, "POST", POLL_PATH, "40", 400,
                "{\"code\":2,\"message\":\"Bad handshake method\"}");
    expect_http(port, "GET", WS_PATH, NULL, 400, "{\"code\":3,\"message\":\"Bad request\"}");
    int status = 0;
    struct wsc *c = wsc_connect_status(port, "/socket.io/?EIO=5&transport=websocket", WAIT,
                                       &status);
    assert_null(c);
    assert_int_equal(status, 400);
    harness_check_alive(port);
}

static void test_bad_sid_is_session_id_unknown(void **state)
{
    int port = harness_port(state);
    const char *unknown = "{\"code\":1,\"message\":\"Session ID unknown\"}";
    expect_http(port, "GET", POLL_PATH "&sid=AAAAAAAAAAAAAAAAAAAAAA", NULL, 400, unknown);
    expect_http(port, "GET", POLL_PATH "&sid=x", NULL, 400, unknown);
    expect_http(port, "POST", POLL_PATH "&sid=AAAAAAAAAAAAAAAAAAAAAA", "40", 400, unknown);
    int status = 0;
    assert_null(wsc_connect_status(port, WS_PATH "&sid=AAAAAAAAAAAAAAAAAAAAAA", WAIT, &status));
    assert_int_equal(status, 400);
    harness_check_alive(port);
}

static void test_polling_a_closed_session_is_session_id_unknown(void **state)
{
    int port = harness_port(state);
    char sid[64], path[160];
    poll_session(port, sid);
    snprintf(path, sizeof path, POLL_PATH "&sid=%s", sid);
    expect_http(port, "POST", path, "1", 200, "ok"); /* Engine.IO close */
    const char *unknown = "{\"code\":1,\"message\":\"Session ID unknown\"}";
    struct http_response r;
    /* The session may still hand its last GET the close packet. */
    assert_int_equal(http_request(port, "GET", path, NULL, NULL, WAIT, &r), 0);
    assert_true(r.status == 400 || (r.status == 200 && strcmp(r.body, "1") == 0));
    http_response_free(&r);
    expect_http(port, "GET", path, NULL, 400, unknown);
    expect_http(port, "POST", path, "42[\"client-register\",{}]", 400, unknown);
    int status = 0;
    char ws[200];
    snprintf(ws, sizeof ws, WS_PATH "&sid=%s", sid);
    assert_null(wsc_connect_status(port, ws, WAIT, &status));
    assert_int_equal(status, 400);
    harness_check_alive(port);
}

static void test_malformed_packet_in_a_post_ends_the_session(void **state)
{
    int port = harness_port(state);
    char sid[64], path[160];
    poll_session(port, sid);
    snprintf(path, sizeof path, POLL_PATH "&sid=%s", sid);
    expect_http(port, "POST", path, "3\x1e" "9nonsense", 400,
                "{\"code\":3,\"message\":\"Bad request\"}");
    struct http_response r;
    assert_int_equal(http_request(port, "GET", path, NULL, NULL, WAIT, &r), 0);
    assert_true(r.status == 400 || (r.status == 200 && strcmp(r.body, "1") == 0));
    http_response_free(&r);
    harness_check_alive(port);
}

static void test_overlapping_polls_end_the_session(void **state)
{
    int port = harness_port(state);
    char path[160];
    struct wsc *first = held_poll(port, path);
    expect_http(port, "GET", path, NULL, 400, "{\"code\":3,\"message\":\"Bad request\"}");
    struct http_response r;
    assert_int_equal(http_recv(first, "GET", WAIT, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "1"); /* the close packet */
    http_response_free(&r);
    wsc_close(first);
    harness_check_alive(port);
}

/* After its GET's connection ended (what says how): the session is gone.
 * A closing session may still hand one GET its close packet; the next is
 * "Session ID unknown". */
static void expect_poll_session_gone(int port, const char *path, const char *after)
{
    const char *unknown = "{\"code\":1,\"message\":\"Session ID unknown\"}";
    struct http_response r;
    assert_int_equal(http_request(port, "GET", path, NULL, NULL, WAIT, &r), 0);
    if (!((r.status == 400 && strcmp(r.body, unknown) == 0) ||
          (r.status == 200 && strcmp(r.body, "1") == 0)))
        fail_msg("GET after %s: expected Session ID unknown or the close packet, got %d %.300s",
                 after, r.status, r.body);
    http_response_free(&r);
    expect_http(port, "GET", path, NULL, 400, unknown);
    harness_check_alive(port);
}

/* A client whose connection is reset while its GET waits is gone: the
 * session ends at once (Engine.IO: "poll connection closed prematurely"),
 * not after its pings time out (25 + 20 s, far past WAIT: without the
 * close the next GET below would be held and time out, or overlap). */
static void test_hanging_up_a_waiting_poll_ends_the_session(void **state)
{
    int port = harness_port(state);
    char path[160];
    struct wsc *first = held_poll(port, path);
    /* A reset (a client that closes with data unread, or a host that
     * answers for a connection its client no longer has). A FIN: the next
     * test. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(setsockopt(wsc_fd(first), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    wsc_abort(first);
    usleep(300 * 1000); /* the hang-up is seen */
    expect_poll_session_gone(port, path, "the hang-up");
}

/* A client that shuts its side (a FIN, its socket still open: no reset)
 * while its GET waits is gone too. libwebsockets does not read such a
 * connection, so only the server's scan sees it, within a second or two;
 * without it nothing would happen before the next ping (25 s), or the
 * registration timeout (10 s), far past WAIT. */
static void test_a_fin_on_a_waiting_poll_ends_the_session(void **state)
{
    int port = harness_port(state);
    char path[160];
    struct wsc *first = held_poll(port, path);
    assert_int_equal(shutdown(wsc_fd(first), SHUT_WR), 0);
    /* The server closes the connection: end of stream (or a reset). */
    struct pollfd pfd = {.fd = wsc_fd(first), .events = POLLIN};
    if (poll(&pfd, 1, WAIT) != 1)
        fail_msg("the server kept a GET open %d ms after its client's FIN", WAIT);
    char b;
    assert_true(recv(wsc_fd(first), &b, 1, 0) <= 0);
    wsc_abort(first);
    /* ... and the session with it: no overlap rule at work here, since
     * the first GET is gone. */
    expect_poll_session_gone(port, path, "the FIN");
}

/* ---- Socket.IO ---- */

static void test_unknown_namespace_is_connect_error(void **state)
{
    int port = harness_port(state);
    struct wsc *c = sio_ws(port, false);
    assert_int_equal(wsc_send_text(c, "40/admin,"), 0);
    char *m = expect_text(c, "44/admin,");
    assert_string_equal(m, "44/admin,{\"message\":\"Invalid namespace\"}");
    free(m);
    assert_int_equal(wsc_send_text(c, "40/admin,{\"token\":\"x\"}"), 0);
    free(expect_text(c, "44/admin,{\"message\":\"Invalid namespace\"}"));
    /* The default namespace still connects on the same session. */
    assert_int_equal(wsc_send_text(c, "40"), 0);
    free(expect_text(c, "40{\"sid\":"));
    wsc_close(c);
    harness_check_alive(port);
}

static void test_malformed_socket_io_packets(void **state)
{
    int port = harness_port(state);
    struct wsc *c = sio_ws(port, false);
    /* An event before CONNECT. */
    assert_int_equal(wsc_send_text(c, "42[\"client-register\",{}]"), 0);
    free(expect_text(c, "44{\"message\":\"send CONNECT (40) before any event\"}"));
    /* A CONNECT payload that is not an object. */
    assert_int_equal(wsc_send_text(c, "40[1]"), 0);
    free(expect_text(c, "44{\"message\":"));
    assert_int_equal(wsc_send_text(c, "40"), 0);
    free(expect_text(c, "40{\"sid\":"));
    /* EVENT data the codec refuses: answered with error events. */
    assert_int_equal(wsc_send_text(c, "42[\"client-register\",{"), 0);
    free(expect_text(c, "42[\"error\",{\"code\":\"invalid-json\""));
    assert_int_equal(wsc_send_text(c, "42{\"type\":\"client-register\"}"), 0);
    free(expect_text(c, "42[\"error\",{\"code\":\"invalid-message\""));
    assert_int_equal(wsc_send_text(c, "42[\"\",{}]"), 0);
    free(expect_text(c, "42[\"error\",{\"code\":\"invalid-message\""));
    assert_int_equal(wsc_send_text(c, "42[\"client-register\",1,2]"), 0);
    free(expect_text(c, "42[\"error\",{\"code\":\"invalid-message\""));
    assert_int_equal(wsc_send_text(c, "42[\"client-register\",{\"a\":1,\"a\":2}]"), 0);
    free(expect_text(c, "42[\"error\",{\"code\":\"invalid-json\""));
    assert_int_equal(wsc_send_text(c, "42[\"nope\",{}]"), 0);
    free(expect_text(c, "42[\"error\",{\"code\":\"unknown-type\""));
    /* With an ack id: the error, then the ack. */
    assert_int_equal(wsc_send_text(c, "4217[\"nope\",{}]"), 0);
    free(expect_text(c, "42[\"error\",{\"code\":\"unknown-type\""));
    char *ack = expect_text(c, "4317");
    assert_string_equal(ack, "4317[]");
    free(ack);
    /* Still a working peer. */
    assert_int_equal(wsc_send_text(c, "421[\"client-register\",{\"clientId\":\"sio-bad\"}]"), 0);
    free(expect_text(c, "42[\"available-robots\",["));
    free(expect_text(c, "431[]"));
    /* An unknown Socket.IO packet type ends the session. */
    expect_ws_close(c, "49", 1002);
    expect_ws_close(sio_ws(port, true), "42123456789012[\"x\"]", 1002);
    harness_check_alive(port);
}

static void test_binary_attachments_are_refused(void **state)
{
    int port = harness_port(state);
    struct wsc *c = sio_ws(port, true);
    assert_int_equal(wsc_send_text(c, "451-[\"webrtc-offer\",{\"_placeholder\":true,\"num\":0}]"),
                     0);
    free(expect_text(c, "42[\"error\",{\"code\":\"binary-not-supported\""));
    expect_ws_close(c, NULL, 1003);
    c = sio_ws(port, true);
    assert_int_equal(wsc_send_frame(c, WSC_OP_BINARY, true, "\x04\x01", 2), 0);
    expect_ws_close(c, NULL, 1003);
    /* Over polling: an Engine.IO binary packet (base64). */
    char sid[64], path[160];
    poll_session(port, sid);
    snprintf(path, sizeof path, POLL_PATH "&sid=%s", sid);
    expect_http(port, "POST", path, "bAQID", 400, "{\"code\":3,\"message\":\"Bad request\"}");
    struct http_response r;
    assert_int_equal(http_request(port, "GET", path, NULL, NULL, WAIT, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "binary-not-supported"));
    http_response_free(&r);
    harness_check_alive(port);
}

static void test_oversize_payload(void **state)
{
    int port = harness_port(state);
    char big[5000];
    memset(big, 'a', sizeof big);
    memcpy(big, "42[\"x\",{\"y\":\"", 13);
    big[sizeof big - 1] = 0;
    struct wsc *c = sio_ws(port, true);
    expect_ws_close(c, big, 1009);
    char sid[64], path[160];
    poll_session(port, sid);
    snprintf(path, sizeof path, POLL_PATH "&sid=%s", sid);
    expect_http(port, "POST", path, big, 413, NULL);
    expect_http(port, "GET", path, NULL, 400, NULL); /* the session ended */
    harness_check_alive(port);
}

static void test_no_sessions_with_sio_max_sessions_0(void **state)
{
    int port = harness_port(state);
    expect_http(port, "GET", POLL_PATH, NULL, 503, NULL);
    int status = 0;
    assert_null(wsc_connect_status(port, WS_PATH, WAIT, &status));
    assert_int_equal(status, 503);
    harness_check_alive(port);
}

/* ---- the native protocol's limits hold ---- */

/* 200 create-session events 2 ms apart against --rate-limit 20: served
 * up to about the burst, told rate-limited, then DISCONNECT and 1008, as
 * a native peer (test_cloud_bad_input's flood). */
static void test_rate_limit_holds_for_socket_io_peers(void **state)
{
    int port = harness_port(state);
    struct wsc *c = sio_ws(port, true);
    assert_int_equal(wsc_send_text(c, "42[\"client-register\",{\"clientId\":\"flood\"}]"), 0);
    free(expect_text(c, "42[\"available-robots\",[]]"));
    for (int i = 0; i < 200; i++) {
        if (wsc_send_text(c, "42[\"create-session\",{\"robotId\":\"nobody\","
                             "\"streamTypes\":[\"color\"]}]") != 0)
            break;
        usleep(2000);
    }
    int served = 0, limited = 0, code = -2;
    bool disconnect = false;
    int64_t deadline = wsc_now_ms() + 5000;
    while (wsc_now_ms() < deadline) {
        struct wsc_msg m;
        enum wsc_event e = wsc_recv(c, (int)(deadline - wsc_now_ms()), &m);
        if (e != WSC_MESSAGE) {
            code = e == WSC_CLOSE ? m.close_code : -1;
            break;
        }
        if (strstr(m.data, "\"rate-limited\""))
            limited++;
        else if (strstr(m.data, "\"robot-not-found\""))
            served++;
        else if (strcmp(m.data, "41") == 0)
            disconnect = true;
        else if (strcmp(m.data, "2") != 0)
            fail_msg("unexpected reply to the flood: %s", m.data);
        wsc_msg_free(&m);
    }
    print_message("flood: %d served, %d rate-limited, close %d\n", served, limited, code);
    assert_true(served <= 100); /* the burst of 40 and what 20/s adds, not all 200 */
    assert_true(limited >= 1 && limited <= 3);
    assert_true(disconnect);
    assert_int_equal(code, 1008);
    wsc_close(c);
    harness_check_alive(port);
}

/* A session that does not register within --register-timeout gets
 * DISCONNECT and is closed with 1008; over polling, its next GET gets the
 * close packet and then the session is unknown. */
static void test_registration_timeout_holds_for_socket_io_peers(void **state)
{
    int port = harness_port(state);
    struct wsc *c = sio_ws(port, true);
    struct wsc_msg m;
    assert_int_equal(wsc_recv(c, 3000, &m), WSC_MESSAGE);
    assert_string_equal(m.data, "41");
    wsc_msg_free(&m);
    assert_int_equal(wsc_expect_close(c, WAIT), 1008);
    wsc_close(c);
    char sid[64], path[160];
    poll_session(port, sid);
    snprintf(path, sizeof path, POLL_PATH "&sid=%s", sid);
    struct http_response r;
    assert_int_equal(http_request(port, "GET", path, NULL, NULL, 3000, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "41\x1e" "1");
    http_response_free(&r);
    expect_http(port, "GET", path, NULL, 400, "{\"code\":1,\"message\":\"Session ID unknown\"}");
    harness_check_alive(port);
}

#define T(f) cmocka_unit_test_prestate_setup_teardown(f, harness_setup, harness_teardown, &fx_default)
#define T_WITH(f, fx) cmocka_unit_test_prestate_setup_teardown(f, harness_setup, harness_teardown, &fx)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_malformed_engine_io_packets_close_1002),
        T(test_bad_query_gets_engine_io_errors),
        T(test_bad_sid_is_session_id_unknown),
        T(test_polling_a_closed_session_is_session_id_unknown),
        T(test_malformed_packet_in_a_post_ends_the_session),
        T(test_overlapping_polls_end_the_session),
        T(test_hanging_up_a_waiting_poll_ends_the_session),
        T(test_a_fin_on_a_waiting_poll_ends_the_session),
        T(test_unknown_namespace_is_connect_error),
        T(test_malformed_socket_io_packets),
        T(test_binary_attachments_are_refused),
        T_WITH(test_oversize_payload, fx_small),
        T_WITH(test_no_sessions_with_sio_max_sessions_0, fx_none),
        T_WITH(test_rate_limit_holds_for_socket_io_peers, fx_rate),
        T_WITH(test_registration_timeout_holds_for_socket_io_peers, fx_reg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
