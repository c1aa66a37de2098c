/* test_cloud_api.c - a robot's REST API through porthole-cloud, as
 * docs/PROTOCOL.md ("Robot API through the cloud") describes it: the
 * robot-request / robot-response messages on the WebSocket and the HTTP
 * proxy /api/robots/{robotId}/..., routing by the cloud's tokens, the
 * statuses the cloud produces (503, 504, 429, 400, 405, 413), limits, and
 * askers that go away. The robot is played by a WebSocket client of the
 * test (support/wsclient.c) that answers the robot-requests it receives.
 * Each test runs against its own fresh server. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"
#include "wsclient.h"

#define WAIT HARNESS_WAIT_MS
#define TOKEN_LEN 22 /* the cloud's requestId for the robot: 128 bits, base64url */

static struct harness_fixture fx_default = {.args = NULL};
static const char *const short_timeout_args[] = {"--request-timeout", "1", NULL};
static struct harness_fixture fx_short_timeout = {.args = short_timeout_args};
static const char *const limit_args[] = {"--max-pending-requests", "2", NULL};
static struct harness_fixture fx_limit = {.args = limit_args};
static const char *const small_message_args[] = {"--max-message", "2048", NULL};
static struct harness_fixture fx_small_message = {.args = small_message_args};
/* --http-timeout (for a request to arrive) shorter than a robot's answer. */
static const char *const slow_robot_args[] = {"--http-timeout", "1", "--request-timeout", "6",
                                              NULL};
static struct harness_fixture fx_slow_robot = {.args = slow_robot_args};

/* ---- the fake robot and its clients ---- */

static bool is_token(const char *s)
{
    if (!s || strlen(s) != TOKEN_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

/* The robot's next message must be robot-request {method, path} under a
 * token of the cloud's; returns it (the caller owns it). */
static json_t *expect_request(struct wsc *robot, const char *method, const char *path)
{
    json_t *m = harness_expect_next(robot, "robot-request");
    const char *token = json_string_value(json_object_get(m, "requestId"));
    if (!is_token(token))
        fail_msg("the robot's requestId is not a token of the cloud: %s", wsc_last_text(robot));
    harness_assert_str(m, "method", method);
    harness_assert_str(m, "path", path);
    if (!json_object_get(m, "body"))
        fail_msg("robot-request without a body field (null expected): %s", wsc_last_text(robot));
    return m;
}

static const char *token_of(json_t *request)
{
    return json_string_value(json_object_get(request, "requestId"));
}

/* The robot answers token with status and body (JSON text). */
static void robot_answer(struct wsc *robot, const char *token, int status, const char *body)
{
    assert_int_equal(wsc_sendf(robot, "{\"type\":\"robot-response\",\"requestId\":\"%s\","
                                      "\"status\":%d,\"body\":%s}", token, status, body), 0);
}

/* A client asks robot_id: method path, body (JSON text, or NULL for none). */
static void client_ask(struct wsc *client, const char *rid, const char *robot_id,
                       const char *method, const char *path, const char *body)
{
    if (body)
        assert_int_equal(wsc_sendf(client, "{\"type\":\"robot-request\",\"requestId\":\"%s\","
                                           "\"robotId\":\"%s\",\"method\":\"%s\",\"path\":\"%s\","
                                           "\"body\":%s}", rid, robot_id, method, path, body), 0);
    else
        assert_int_equal(wsc_sendf(client, "{\"type\":\"robot-request\",\"requestId\":\"%s\","
                                           "\"robotId\":\"%s\",\"method\":\"%s\",\"path\":\"%s\"}",
                                   rid, robot_id, method, path), 0);
}

/* The client's next message must be robot-response {requestId: rid,
 * robotId, status}; returns it (the caller owns it). */
static json_t *expect_response(struct wsc *client, const char *rid, const char *robot_id,
                               int status)
{
    json_t *m = harness_expect_next(client, "robot-response");
    harness_assert_str(m, "requestId", rid);
    harness_assert_str(m, "robotId", robot_id);
    json_t *st = json_object_get(m, "status");
    if (!json_is_integer(st) || json_integer_value(st) != status)
        fail_msg("expected status %d: %s", status, wsc_last_text(client));
    return m;
}

/* body must be exactly {"detail": want}; releases m. */
static void expect_detail(json_t *m, const char *want)
{
    json_t *body = json_object_get(m, "body");
    const char *d = json_string_value(json_object_get(body, "detail"));
    if (!json_is_object(body) || json_object_size(body) != 1 || !d || strcmp(d, want) != 0) {
        char *text = json_dumps(m, JSON_COMPACT);
        print_error("expected body {\"detail\":\"%s\"} in %s\n", want, text ? text : "?");
        free(text);
        json_decref(m);
        fail();
    }
    json_decref(m);
}

/* j's field key must equal the JSON text want. */
static void assert_json_field(const json_t *j, const char *key, const char *want)
{
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    assert_non_null(w);
    json_t *got = json_object_get(j, key);
    if (!got || !json_equal(got, w)) {
        char *text = json_dumps(j, JSON_COMPACT);
        print_error("field '%s' is not %s in %s\n", key, want, text ? text : "?");
        free(text);
        json_decref(w);
        fail();
    }
    json_decref(w);
}

/* ---- HTTP ---- */

/* Starts method path (with a JSON body, or none) without waiting. */
static struct wsc *http_start(int port, const char *method, const char *path, const char *body)
{
    struct wsc *h = http_send(port, method, path,
                              body ? "Content-Type: application/json\r\n" : NULL, body, false,
                              WAIT);
    if (!h)
        fail_msg("%s %s: cannot send", method, path);
    return h;
}

/* Reads the response of h (then closed): its status must be status. */
static void http_finish(struct wsc *h, const char *method, int status, struct http_response *r)
{
    int rc = http_recv(h, method, WAIT, r);
    wsc_abort(h);
    if (rc != 0)
        fail_msg("%s: no HTTP response", method);
    if (r->status != status) {
        print_error("HTTP %d, expected %d: %s\n", r->status, status, r->body);
        http_response_free(r);
        fail();
    }
}

static void assert_header(const struct http_response *r, const char *name, const char *want)
{
    char *v = http_header(r, name);
    if (!v || strcasecmp(v, want) != 0) {
        print_error("header %s is '%s', expected '%s'\n", name, v ? v : "(none)", want);
        free(v);
        fail();
    }
    free(v);
}

/* The body must be JSON equal to want, served as the API serves it. */
static void assert_json_body(struct http_response *r, const char *want)
{
    assert_header(r, "Content-Type", "application/json");
    assert_header(r, "Cache-Control", "no-store");
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    json_t *got = json_loads(r->body, JSON_DECODE_ANY, NULL);
    assert_non_null(w);
    if (!got || !json_equal(got, w)) {
        print_error("body %s, expected %s\n", r->body, want);
        json_decref(w);
        json_decref(got);
        fail();
    }
    json_decref(w);
    json_decref(got);
}

/* The body must be {"detail": <starts with prefix>}. */
static void assert_http_detail(struct http_response *r, const char *prefix)
{
    assert_header(r, "Content-Type", "application/json");
    json_t *j = json_loads(r->body, 0, NULL);
    const char *d = json_string_value(json_object_get(j, "detail"));
    if (!d || strncmp(d, prefix, strlen(prefix)) != 0) {
        print_error("body %s, expected {\"detail\":\"%s...\"}\n", r->body, prefix);
        json_decref(j);
        fail();
    }
    json_decref(j);
}

/* Sends method path (body or none) and checks status and the detail. */
static void http_expect_detail(int port, const char *method, const char *path, const char *body,
                               int status, const char *prefix)
{
    struct http_response r;
    http_finish(http_start(port, method, path, body), method, status, &r);
    assert_http_detail(&r, prefix);
    http_response_free(&r);
}

/* ---- /metrics ---- */

/* The value of the sample named exactly name, or -1. */
static long metric(int port, const char *name)
{
    struct http_response r;
    if (http_get(port, "/metrics", &r) != 0 || r.status != 200)
        fail_msg("GET /metrics failed");
    long v = -1;
    size_t n = strlen(name);
    for (const char *line = r.body; line && *line;) {
        if (strncmp(line, name, n) == 0 && line[n] == ' ') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
        const char *eol = strchr(line, '\n');
        line = eol ? eol + 1 : NULL;
    }
    http_response_free(&r);
    return v;
}

static void wait_metric(int port, const char *name, long want, int timeout_ms)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    long got;
    while ((got = metric(port, name)) != want && wsc_now_ms() < deadline) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (got != want)
        fail_msg("%s is %ld, expected %ld within %d ms", name, got, want, timeout_ms);
}

/* ---- WebSocket round trips ---- */

static void test_ws_round_trip_keeps_status_and_body_and_echoes_request_id(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-123", NULL);
    struct wsc *client = harness_client(port, "viewer-7", NULL);
    const char *path = "/api/devices/123/sensors/123-sensor-0/options/exposure";
    client_ask(client, "q1", "robot-123", "PUT", path, "{\"value\":8000}");
    json_t *req = expect_request(robot, "PUT", path);
    assert_string_not_equal(token_of(req), "q1");
    harness_assert_str(req, "clientId", "viewer-7");
    assert_json_field(req, "body", "{\"value\":8000}");
    const char *answer = "{\"detail\":\"exposure must be between 1 and 165000 (step 1); got 999999\","
                         "\"nested\":[1,2.5,true,null,{\"k\":\"\\u00e9\"}]}";
    robot_answer(robot, token_of(req), 422, answer);
    json_decref(req);
    json_t *m = expect_response(client, "q1", "robot-123", 422);
    assert_json_field(m, "body", answer);
    json_decref(m);

    /* without a body: the robot sees null, and the answer may be an array */
    client_ask(client, "q2", "robot-123", "GET", "/api/devices/", NULL);
    req = expect_request(robot, "GET", "/api/devices/");
    assert_true(json_is_null(json_object_get(req, "body")));
    robot_answer(robot, token_of(req), 200, "[{\"device_id\":\"123\"}]");
    json_decref(req);
    m = expect_response(client, "q2", "robot-123", 200);
    assert_json_field(m, "body", "[{\"device_id\":\"123\"}]");
    json_decref(m);

    /* an answer without a body arrives with body null */
    client_ask(client, "q3", "robot-123", "DELETE", "/api/devices/123", NULL);
    req = expect_request(robot, "DELETE", "/api/devices/123");
    assert_int_equal(wsc_sendf(robot, "{\"type\":\"robot-response\",\"requestId\":\"%s\","
                                      "\"status\":204}", token_of(req)), 0);
    json_decref(req);
    m = expect_response(client, "q3", "robot-123", 204);
    assert_json_field(m, "body", "null");
    json_decref(m);
    harness_expect_silence(robot);
    harness_expect_silence(client);
    wsc_close(client);
    wsc_close(robot);
}

static void test_answers_reach_only_their_asker_when_askers_interleave(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *a = harness_client(port, "viewer-a", NULL);
    struct wsc *b = harness_client(port, "viewer-b", NULL);
    struct wsc *bystander = harness_client(port, "viewer-c", NULL);
    /* the same requestIds on both connections: only the cloud's tokens
     * tell the requests apart */
    client_ask(a, "q1", "robot-1", "GET", "/api/devices/a1", NULL);
    client_ask(b, "q1", "robot-1", "GET", "/api/devices/b1", NULL);
    struct wsc *h = http_start(port, "GET", "/api/robots/robot-1/devices/h1", NULL);
    client_ask(a, "q2", "robot-1", "GET", "/api/devices/a2", NULL);
    client_ask(b, "q2", "robot-1", "GET", "/api/devices/b2", NULL);
    const char *paths[] = {"/api/devices/a1", "/api/devices/b1", "/api/devices/h1",
                           "/api/devices/a2", "/api/devices/b2"};
    const char *askers[] = {"viewer-a", "viewer-b", "http:127.0.0.1", "viewer-a", "viewer-b"};
    json_t *reqs[5] = {NULL};
    for (int i = 0; i < 5; i++) {
        /* the HTTP request may overtake or trail the WebSocket ones */
        json_t *m = harness_expect_next(robot, "robot-request");
        const char *path = json_string_value(json_object_get(m, "path"));
        int at = -1;
        for (int k = 0; k < 5; k++)
            if (path && strcmp(path, paths[k]) == 0)
                at = k;
        if (at < 0 || reqs[at] != NULL)
            fail_msg("unexpected or repeated request: %s", wsc_last_text(robot));
        reqs[at] = m;
        harness_assert_str(m, "clientId", askers[at]);
    }
    /* answer in reverse, each body naming the path it answers */
    for (int i = 4; i >= 0; i--) {
        char body[96];
        snprintf(body, sizeof body, "{\"path\":\"%s\"}", paths[i]);
        robot_answer(robot, token_of(reqs[i]), 200 + i, body);
    }
    struct { struct wsc *c; int first, second; } want[] = {{a, 3, 0}, {b, 4, 1}};
    for (int w = 0; w < 2; w++) {
        int order[] = {want[w].first, want[w].second};
        for (int k = 0; k < 2; k++) {
            int i = order[k];
            json_t *m = expect_response(want[w].c, i < 2 ? "q1" : "q2", "robot-1", 200 + i);
            harness_assert_str(json_object_get(m, "body"), "path", paths[i]);
            json_decref(m);
        }
        harness_expect_silence(want[w].c);
    }
    struct http_response r;
    http_finish(h, "GET", 202, &r);
    assert_json_body(&r, "{\"path\":\"/api/devices/h1\"}");
    http_response_free(&r);
    harness_expect_silence(bystander);
    for (int i = 0; i < 5; i++)
        json_decref(reqs[i]);
    wsc_close(a);
    wsc_close(b);
    wsc_close(bystander);
    wsc_close(robot);
}

static void test_answers_with_foreign_unknown_or_used_tokens_are_dropped(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *other = harness_robot(port, "robot-2", NULL);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    client_ask(client, "q1", "robot-1", "GET", "/api/devices/", NULL);
    json_t *req = expect_request(robot, "GET", "/api/devices/");
    /* another robot connection cannot answer robot-1's request */
    robot_answer(other, token_of(req), 200, "\"forged\"");
    /* nor can robot-1 answer what is not pending on it */
    robot_answer(robot, "AAAAAAAAAAAAAAAAAAAAAA", 200, "\"unknown\"");
    robot_answer(robot, "q1", 200, "\"the asker's id\"");
    harness_expect_silence(client);
    harness_expect_silence(other); /* dropped silently: no error back */
    wait_metric(port, "porthole_robot_responses_dropped_total", 3, WAIT);
    robot_answer(robot, token_of(req), 200, "\"real\"");
    json_t *m = expect_response(client, "q1", "robot-1", 200);
    assert_json_field(m, "body", "\"real\"");
    json_decref(m);
    robot_answer(robot, token_of(req), 200, "\"again\""); /* already answered */
    harness_expect_silence(client);
    harness_expect_silence(robot);
    wait_metric(port, "porthole_robot_responses_dropped_total", 4, WAIT);
    assert_int_equal(metric(port, "porthole_robot_requests_answered_total"), 1);
    json_decref(req);
    wsc_close(client);
    wsc_close(other);
    wsc_close(robot);
}

/* ---- statuses the cloud produces ---- */

static void test_ws_request_to_an_offline_robot_is_503(void **state)
{
    int port = harness_port(state);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    client_ask(client, "q1", "robot-9", "GET", "/api/devices/", NULL);
    expect_detail(expect_response(client, "q1", "robot-9", 503),
                  "robot 'robot-9' is not connected");
    assert_int_equal(metric(port, "porthole_robot_requests_refused_total"), 1);
    assert_int_equal(metric(port, "porthole_robot_requests_forwarded_total"), 0);
    wsc_close(client);
}

static void test_http_request_to_an_offline_robot_is_503(void **state)
{
    int port = harness_port(state);
    struct http_response r;
    http_finish(http_start(port, "GET", "/api/robots/robot-9/devices/", NULL), "GET", 503, &r);
    assert_json_body(&r, "{\"detail\":\"robot 'robot-9' is not connected\"}");
    http_response_free(&r);
}

static void test_robot_going_offline_answers_pending_requests_503(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    client_ask(client, "q1", "robot-1", "GET", "/api/devices/", NULL);
    json_decref(expect_request(robot, "GET", "/api/devices/"));
    struct wsc *h = http_start(port, "PUT", "/api/robots/robot-1/devices/1", "{\"a\":1}");
    json_decref(expect_request(robot, "PUT", "/api/devices/1"));
    wsc_abort(robot); /* gone without a close frame */
    expect_detail(expect_response(client, "q1", "robot-1", 503),
                  "robot 'robot-1' went offline before answering");
    json_t *m = harness_expect_next(client, "robot-unavailable");
    json_decref(m);
    struct http_response r;
    http_finish(h, "PUT", 503, &r);
    assert_json_body(&r, "{\"detail\":\"robot 'robot-1' went offline before answering\"}");
    http_response_free(&r);
    assert_int_equal(metric(port, "porthole_robot_requests_failed_total"), 2);
    assert_int_equal(metric(port, "porthole_robot_requests_pending"), 0);
    wsc_close(client);
}

static void test_unanswered_requests_get_504_after_the_request_timeout(void **state)
{
    int port = harness_port(state); /* --request-timeout 1 */
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    int64_t start = wsc_now_ms();
    client_ask(client, "q1", "robot-1", "GET", "/api/devices/", NULL);
    struct wsc *h = http_start(port, "GET", "/api/robots/robot-1/devices/2", NULL);
    json_t *r1 = expect_request(robot, "GET", "/api/devices/");
    json_t *r2 = expect_request(robot, "GET", "/api/devices/2");
    expect_detail(expect_response(client, "q1", "robot-1", 504),
                  "robot 'robot-1' did not answer within 1 s");
    int64_t waited = wsc_now_ms() - start;
    if (waited < 900 || waited > 3000)
        fail_msg("504 after %lld ms, expected about 1000", (long long)waited);
    struct http_response r;
    http_finish(h, "GET", 504, &r);
    assert_json_body(&r, "{\"detail\":\"robot 'robot-1' did not answer within 1 s\"}");
    http_response_free(&r);
    /* the answers come too late: dropped */
    robot_answer(robot, token_of(r1), 200, "1");
    robot_answer(robot, token_of(r2), 200, "2");
    harness_expect_silence(client);
    wait_metric(port, "porthole_robot_responses_dropped_total", 2, WAIT);
    assert_int_equal(metric(port, "porthole_robot_requests_timed_out_total"), 2);
    json_decref(r1);
    json_decref(r2);
    wsc_close(client);
    wsc_close(robot);
}

static void test_http_request_waits_for_its_robot_past_the_http_timeout(void **state)
{
    int port = harness_port(state); /* --http-timeout 1 --request-timeout 6 */
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    /* one without a body, one whose body lws reads first */
    struct wsc *get = http_start(port, "GET", "/api/robots/robot-1/devices/", NULL);
    json_t *r1 = expect_request(robot, "GET", "/api/devices/");
    struct wsc *put = http_start(port, "PUT", "/api/robots/robot-1/devices/1", "{\"v\":1}");
    json_t *r2 = expect_request(robot, "PUT", "/api/devices/1");
    assert_true(wsc_expect_silence(robot, 2500)); /* the robot is slow: 2.5 s */
    robot_answer(robot, token_of(r1), 200, "[\"slow but there\"]");
    robot_answer(robot, token_of(r2), 200, "{\"v\":1}");
    json_decref(r1);
    json_decref(r2);
    struct http_response r;
    http_finish(get, "GET", 200, &r);
    assert_json_body(&r, "[\"slow but there\"]");
    http_response_free(&r);
    http_finish(put, "PUT", 200, &r);
    assert_json_body(&r, "{\"v\":1}");
    http_response_free(&r);
    wsc_close(robot);
}

static void test_requests_past_max_pending_requests_get_429(void **state)
{
    int port = harness_port(state); /* --max-pending-requests 2 */
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    struct wsc *other = harness_client(port, "viewer-2", NULL);
    client_ask(client, "q1", "robot-1", "GET", "/api/a", NULL);
    client_ask(client, "q2", "robot-1", "GET", "/api/b", NULL);
    client_ask(client, "q3", "robot-1", "GET", "/api/c", NULL);
    expect_detail(expect_response(client, "q3", "robot-1", 429),
                  "at most 2 robot requests may be pending per connection");
    json_t *ra = expect_request(robot, "GET", "/api/a");
    json_t *rb = expect_request(robot, "GET", "/api/b");
    harness_expect_silence(robot); /* the third never reached it */
    /* the limit is per connection */
    client_ask(other, "o1", "robot-1", "GET", "/api/o", NULL);
    json_t *ro = expect_request(robot, "GET", "/api/o");
    /* an answer frees a place */
    robot_answer(robot, token_of(ra), 200, "\"a\"");
    json_decref(expect_response(client, "q1", "robot-1", 200));
    client_ask(client, "q4", "robot-1", "GET", "/api/d", NULL);
    json_t *rd = expect_request(robot, "GET", "/api/d");
    harness_expect_silence(client);
    assert_int_equal(metric(port, "porthole_robot_requests_pending"), 3);
    json_decref(ra);
    json_decref(rb);
    json_decref(ro);
    json_decref(rd);
    wsc_close(other);
    wsc_close(client);
    wsc_close(robot);
}

/* ---- askers that go away ---- */

static void test_ws_asker_closing_first_makes_the_late_answer_dropped(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    client_ask(client, "q1", "robot-1", "GET", "/api/devices/", NULL);
    json_t *req = expect_request(robot, "GET", "/api/devices/");
    wsc_abort(client);
    wait_metric(port, "porthole_robot_requests_abandoned_total", 1, WAIT);
    assert_int_equal(metric(port, "porthole_robot_requests_pending"), 0);
    robot_answer(robot, token_of(req), 200, "\"nobody listens\"");
    wait_metric(port, "porthole_robot_responses_dropped_total", 1, WAIT);
    json_decref(req);
    /* the robot and the cloud go on serving */
    struct wsc *again = harness_client(port, "viewer-2", NULL);
    client_ask(again, "q2", "robot-1", "GET", "/api/devices/", NULL);
    req = expect_request(robot, "GET", "/api/devices/");
    robot_answer(robot, token_of(req), 200, "\"fine\"");
    json_decref(req);
    json_decref(expect_response(again, "q2", "robot-1", 200));
    harness_check_alive(port);
    wsc_close(again);
    wsc_close(robot);
}

static void test_http_client_hanging_up_while_waiting_is_forgotten(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *h = http_start(port, "PUT", "/api/robots/robot-1/devices/1", "{\"v\":1}");
    json_t *req = expect_request(robot, "PUT", "/api/devices/1");
    wsc_abort(h); /* the HTTP client hangs up */
    wait_metric(port, "porthole_robot_requests_abandoned_total", 1, WAIT);
    assert_int_equal(metric(port, "porthole_robot_requests_pending"), 0);
    robot_answer(robot, token_of(req), 200, "\"too late\"");
    wait_metric(port, "porthole_robot_responses_dropped_total", 1, WAIT);
    json_decref(req);
    /* the next HTTP client is served */
    h = http_start(port, "GET", "/api/robots/robot-1/devices/", NULL);
    req = expect_request(robot, "GET", "/api/devices/");
    robot_answer(robot, token_of(req), 200, "[]");
    json_decref(req);
    struct http_response r;
    http_finish(h, "GET", 200, &r);
    assert_json_body(&r, "[]");
    http_response_free(&r);
    harness_check_alive(port);
    wsc_close(robot);
}

/* The same with a GET (no body) whose client only shuts its side (a FIN,
 * the socket still open: no reset): libwebsockets does not read such a
 * connection while its request waits, so only the server's scan of
 * waiting requests sees it, within a second or two, not at the request
 * timeout (10 s, past WAIT). */
static void test_http_client_sending_a_fin_while_waiting_is_forgotten(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *h = http_start(port, "GET", "/api/robots/robot-1/devices/1", NULL);
    json_t *req = expect_request(robot, "GET", "/api/devices/1");
    assert_int_equal(shutdown(wsc_fd(h), SHUT_WR), 0);
    wait_metric(port, "porthole_robot_requests_abandoned_total", 1, WAIT);
    assert_int_equal(metric(port, "porthole_robot_requests_pending"), 0);
    wsc_abort(h);
    robot_answer(robot, token_of(req), 200, "\"too late\"");
    wait_metric(port, "porthole_robot_responses_dropped_total", 1, WAIT);
    json_decref(req);
    harness_check_alive(port);
    wsc_close(robot);
}

static void test_shutdown_answers_pending_requests_503(void **state)
{
    struct harness_fixture *fx = *state;
    int port = fx->cloud.port;
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    client_ask(client, "q1", "robot-1", "GET", "/api/devices/", NULL);
    json_decref(expect_request(robot, "GET", "/api/devices/"));
    struct wsc *h = http_start(port, "GET", "/api/robots/robot-1/devices/x", NULL);
    json_decref(expect_request(robot, "GET", "/api/devices/x"));
    assert_int_equal(kill(fx->cloud.pid, SIGTERM), 0);
    expect_detail(expect_response(client, "q1", "robot-1", 503), "porthole-cloud is shutting down");
    struct http_response r;
    http_finish(h, "GET", 503, &r);
    assert_json_body(&r, "{\"detail\":\"porthole-cloud is shutting down\"}");
    http_response_free(&r);
    assert_int_equal(harness_wait_exit(&fx->cloud, 5000), 0);
    wsc_abort(client);
    wsc_abort(robot);
}

/* ---- invalid input ---- */

static void expect_invalid_field(struct wsc *client, const char *text, const char *field,
                                 const char *rid)
{
    assert_int_equal(wsc_send_text(client, text), 0);
    json_t *e = harness_expect_error(client, "invalid-field", "robot-request");
    char want[64];
    snprintf(want, sizeof want, "'%s'", field);
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (!strstr(msg, want))
        fail_msg("the message does not name %s: %s", want, msg);
    if (rid)
        harness_assert_str(e, "requestId", rid);
    else
        assert_null(json_object_get(e, "requestId"));
    json_decref(e);
}

static void test_invalid_robot_request_fields_are_invalid_field(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    const char *head = "{\"type\":\"robot-request\",\"robotId\":\"robot-1\",";
    char text[2048];
    snprintf(text, sizeof text, "%s\"requestId\":\"r1\",\"method\":\"PATCH\",\"path\":\"/api/x\"}",
             head);
    expect_invalid_field(client, text, "method", "r1");
    snprintf(text, sizeof text, "%s\"requestId\":\"r2\",\"method\":\"GET\",\"path\":\"devices/\"}",
             head);
    expect_invalid_field(client, text, "path", "r2");
    snprintf(text, sizeof text, "%s\"requestId\":\"r3\",\"method\":\"GET\",\"path\":\"/api/a b\"}",
             head);
    expect_invalid_field(client, text, "path", "r3");
    char long_path[1100];
    memcpy(long_path, "/api/", 5);
    memset(long_path + 5, 'x', 1020); /* 1025 bytes */
    long_path[1025] = '\0';
    snprintf(text, sizeof text, "%s\"requestId\":\"r4\",\"method\":\"GET\",\"path\":\"%s\"}", head,
             long_path);
    expect_invalid_field(client, text, "path", "r4");
    snprintf(text, sizeof text, "%s\"method\":\"GET\",\"path\":\"/api/x\"}", head);
    expect_invalid_field(client, text, "requestId", NULL);
    expect_invalid_field(client, "{\"type\":\"robot-request\",\"requestId\":\"r6\","
                                 "\"robotId\":\"robot 1\",\"method\":\"GET\",\"path\":\"/api/x\"}",
                         "robotId", "r6");
    expect_invalid_field(client, "{\"type\":\"robot-request\",\"requestId\":\"r7\","
                                 "\"robotId\":\"robot-1\",\"method\":\"GET\"}", "path", "r7");
    /* a path of exactly 1024 bytes is fine */
    long_path[1024] = '\0';
    client_ask(client, "ok", "robot-1", "GET", long_path, NULL);
    json_t *req = expect_request(robot, "GET", long_path);
    robot_answer(robot, token_of(req), 200, "null");
    json_decref(req);
    json_decref(expect_response(client, "ok", "robot-1", 200));
    harness_expect_silence(robot);
    wsc_close(client);
    wsc_close(robot);
}

static void test_robot_messages_from_the_wrong_role_are_refused(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    struct wsc *anon = wsc_connect(port, "/ws", WAIT);
    assert_non_null(anon);
    assert_int_equal(wsc_send_text(client, "{\"type\":\"robot-response\",\"requestId\":"
                                           "\"AAAAAAAAAAAAAAAAAAAAAA\",\"status\":200}"), 0);
    json_decref(harness_expect_error(client, "wrong-role", "robot-response"));
    client_ask(robot, "r1", "robot-1", "GET", "/api/x", NULL);
    json_decref(harness_expect_error(robot, "wrong-role", "robot-request"));
    client_ask(anon, "r2", "robot-1", "GET", "/api/x", NULL);
    json_decref(harness_expect_error(anon, "not-registered", "robot-request"));
    harness_expect_silence(robot);
    harness_expect_silence(client);
    wsc_close(anon);
    wsc_close(client);
    wsc_close(robot);
}

static void test_robot_response_with_a_bad_status_is_invalid_field_to_the_robot(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    client_ask(client, "q1", "robot-1", "GET", "/api/x", NULL);
    json_t *req = expect_request(robot, "GET", "/api/x");
    robot_answer(robot, token_of(req), 700, "null");
    json_decref(harness_expect_error(robot, "invalid-field", "robot-response"));
    harness_expect_silence(client);
    /* the request is still pending: a corrected answer goes through */
    robot_answer(robot, token_of(req), 200, "\"ok\"");
    json_decref(req);
    json_decref(expect_response(client, "q1", "robot-1", 200));
    wsc_close(client);
    wsc_close(robot);
}

/* ---- the HTTP proxy ---- */

static void test_http_get_with_a_query_is_proxied(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *h = http_start(port, "GET", "/api/robots/robot-1/devices/?fields=name,serial&q=a%20b",
                               NULL);
    json_t *req = expect_request(robot, "GET", "/api/devices/?fields=name,serial&q=a%20b");
    harness_assert_str(req, "clientId", "http:127.0.0.1");
    assert_true(json_is_null(json_object_get(req, "body")));
    robot_answer(robot, token_of(req), 200, "[{\"device_id\":\"123\",\"name\":\"D435\"}]");
    json_decref(req);
    struct http_response r;
    http_finish(h, "GET", 200, &r);
    assert_json_body(&r, "[{\"device_id\":\"123\",\"name\":\"D435\"}]");
    http_response_free(&r);
    wsc_close(robot);
}

static void test_http_put_with_a_json_body_is_proxied(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    const char *rest = "/devices/123/sensors/123-sensor-0/options/exposure";
    char url[160], path[160];
    snprintf(url, sizeof url, "/api/robots/robot-1%s", rest);
    snprintf(path, sizeof path, "/api%s", rest);
    struct wsc *h = http_start(port, "PUT", url, "{\"value\": 8000}");
    json_t *req = expect_request(robot, "PUT", path);
    assert_json_field(req, "body", "{\"value\":8000}");
    robot_answer(robot, token_of(req), 200, "{\"option_id\":\"exposure\",\"current_value\":8000}");
    json_decref(req);
    struct http_response r;
    http_finish(h, "PUT", 200, &r);
    assert_json_body(&r, "{\"option_id\":\"exposure\",\"current_value\":8000}");
    http_response_free(&r);

    /* the robot's error status and body come through as they are */
    h = http_start(port, "PUT", url, "{\"value\":999999}");
    req = expect_request(robot, "PUT", path);
    robot_answer(robot, token_of(req), 422,
                 "{\"detail\":\"exposure must be between 1 and 165000 (step 1); got 999999\"}");
    json_decref(req);
    http_finish(h, "PUT", 422, &r);
    assert_json_body(&r, "{\"detail\":\"exposure must be between 1 and 165000 (step 1); got 999999\"}");
    http_response_free(&r);
    wsc_close(robot);
}

static void test_http_post_and_delete_are_proxied(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *h = http_start(port, "POST", "/api/robots/robot-1/devices/1/reset", "[1,2]");
    json_t *req = expect_request(robot, "POST", "/api/devices/1/reset");
    assert_json_field(req, "body", "[1,2]");
    robot_answer(robot, token_of(req), 201, "{\"reset\":true}");
    json_decref(req);
    struct http_response r;
    http_finish(h, "POST", 201, &r);
    assert_json_body(&r, "{\"reset\":true}");
    http_response_free(&r);

    h = http_start(port, "POST", "/api/robots/robot-1/devices/1/reset", ""); /* empty: null */
    req = expect_request(robot, "POST", "/api/devices/1/reset");
    assert_true(json_is_null(json_object_get(req, "body")));
    robot_answer(robot, token_of(req), 200, "null");
    json_decref(req);
    http_finish(h, "POST", 200, &r);
    assert_json_body(&r, "null");
    http_response_free(&r);

    h = http_start(port, "DELETE", "/api/robots/robot-1/devices/1", NULL);
    req = expect_request(robot, "DELETE", "/api/devices/1");
    robot_answer(robot, token_of(req), 404, "{\"detail\":\"no device '1'\"}");
    json_decref(req);
    http_finish(h, "DELETE", 404, &r);
    assert_json_body(&r, "{\"detail\":\"no device '1'\"}");
    http_response_free(&r);
    wsc_close(robot);
}

static void test_http_statuses_without_a_body(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *h = http_start(port, "DELETE", "/api/robots/robot-1/x", NULL);
    json_t *req = expect_request(robot, "DELETE", "/api/x");
    robot_answer(robot, token_of(req), 204, "null");
    json_decref(req);
    struct http_response r;
    http_finish(h, "DELETE", 204, &r);
    assert_int_equal(r.body_len, 0);
    http_response_free(&r);
    /* 1xx cannot end an HTTP exchange: the cloud says so with 502 */
    h = http_start(port, "GET", "/api/robots/robot-1/x", NULL);
    req = expect_request(robot, "GET", "/api/x");
    robot_answer(robot, token_of(req), 101, "null");
    json_decref(req);
    http_finish(h, "GET", 502, &r);
    assert_http_detail(&r, "the robot answered with status 101");
    http_response_free(&r);
    wsc_close(robot);
}

static void test_keep_alive_connection_serves_requests_one_after_another(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *h = http_send(port, "GET", "/api/robots/robot-1/a", NULL, NULL, true, WAIT);
    assert_non_null(h);
    struct http_response r;
    for (int round = 0; round < 2; round++) {
        json_t *req = expect_request(robot, round ? "PUT" : "GET", round ? "/api/b" : "/api/a");
        robot_answer(robot, token_of(req), 200 + round, round ? "\"b\"" : "\"a\"");
        json_decref(req);
        assert_int_equal(http_recv(h, "GET", WAIT, &r), 0);
        assert_int_equal(r.status, 200 + round);
        assert_json_body(&r, round ? "\"b\"" : "\"a\"");
        http_response_free(&r);
        /* a plain route between two proxied requests, same connection */
        assert_int_equal(http_send_again(h, port, "GET", "/api/robots", NULL, NULL, true, WAIT), 0);
        assert_int_equal(http_recv(h, "GET", WAIT, &r), 0);
        assert_int_equal(r.status, 200);
        http_response_free(&r);
        if (!round)
            assert_int_equal(http_send_again(h, port, "PUT", "/api/robots/robot-1/b", NULL,
                                             "{\"x\":1}", true, WAIT), 0);
    }
    wsc_abort(h);
    harness_expect_silence(robot);
    wsc_close(robot);
}

static void test_http_malformed_json_is_400_with_line_and_column(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    http_expect_detail(port, "PUT", "/api/robots/robot-1/devices/1", "{\"value\": 8000,\n  oops}",
                       400, "malformed JSON at line 2, column ");
    http_expect_detail(port, "POST", "/api/robots/robot-1/devices/1", "{\"a\":1,\"a\":2}", 400,
                       "malformed JSON at line 1, column ");
    http_expect_detail(port, "PUT", "/api/robots/robot-1/devices/1", " ", 400,
                       "malformed JSON at line ");
    harness_expect_silence(robot);
    wsc_close(robot);
}

static void test_http_body_over_max_message_is_413(void **state)
{
    int port = harness_port(state); /* --max-message 2048 */
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    char body[3000];
    snprintf(body, sizeof body, "{\"v\":\"%0*d\"}", 2100, 7);
    http_expect_detail(port, "PUT", "/api/robots/robot-1/x", body, 413,
                       "the request body is larger than 2048 bytes");
    harness_expect_silence(robot);
    /* at the limit it goes through */
    snprintf(body, sizeof body, "{\"v\":\"%0*d\"}", 2048 - 8, 7);
    assert_int_equal(strlen(body), 2048);
    struct wsc *h = http_start(port, "PUT", "/api/robots/robot-1/x", body);
    json_t *req = expect_request(robot, "PUT", "/api/x");
    robot_answer(robot, token_of(req), 200, "\"ok\"");
    json_decref(req);
    struct http_response r;
    http_finish(h, "PUT", 200, &r);
    http_response_free(&r);
    wsc_close(robot);
}

static void test_http_other_methods_are_405_with_allow(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    const char *methods[] = {"PATCH", "OPTIONS", "HEAD"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        struct http_response r;
        http_finish(http_start(port, methods[i], "/api/robots/robot-1/devices/",
                               strcmp(methods[i], "PATCH") == 0 ? "{}" : NULL),
                    methods[i], 405, &r);
        assert_header(&r, "Allow", "GET, POST, PUT, DELETE");
        if (strcmp(methods[i], "HEAD") != 0)
            assert_http_detail(&r, "this resource accepts GET, POST, PUT, DELETE only");
        http_response_free(&r);
    }
    struct http_response r;
    http_finish(http_start(port, "POST", "/api/robots", "{}"), "POST", 405, &r);
    assert_header(&r, "Allow", "GET");
    http_response_free(&r);
    harness_expect_silence(robot);
    wsc_close(robot);
}

static void test_http_invalid_robot_id_is_400(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    const char *detail = "the robot id must be 1 to 64 characters of A-Z a-z 0-9 . _ : @ -";
    http_expect_detail(port, "GET", "/api/robots/bad%20id/devices/", NULL, 400, detail);
    http_expect_detail(port, "GET", "/api/robots/r%C3%A9/devices/", NULL, 400, detail);
    char url[128];
    snprintf(url, sizeof url, "/api/robots/%065d/devices/", 1);
    http_expect_detail(port, "GET", url, NULL, 400, detail);
    harness_expect_silence(robot);
    wsc_close(robot);
}

static void test_http_api_paths_that_name_no_robot_resource_are_404(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    http_expect_detail(port, "GET", "/api/robots/robot-1", NULL, 404, "no such resource");
    http_expect_detail(port, "GET", "/api/other", NULL, 404, "no such resource");
    harness_expect_silence(robot);
    wsc_close(robot);
}

static void test_get_api_robots_lists_the_robots_as_robots_does(void **state)
{
    int port = harness_port(state);
    struct http_response r;
    assert_int_equal(http_get(port, "/api/robots", &r), 0);
    assert_int_equal(r.status, 200);
    assert_json_body(&r, "[]");
    http_response_free(&r);
    struct wsc *robot = harness_robot(port, "robot-1", "{\"name\":\"D435\",\"serial\":\"123\"}");
    struct http_response plain;
    assert_int_equal(http_get(port, "/api/robots", &r), 0);
    assert_int_equal(http_get(port, "/robots", &plain), 0);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Cache-Control", "no-store");
    json_t *a = json_loads(r.body, 0, NULL), *b = json_loads(plain.body, 0, NULL);
    assert_true(json_is_array(a) && json_array_size(a) == 1);
    assert_true(json_equal(a, b));
    harness_assert_str(json_array_get(a, 0), "robotId", "robot-1");
    json_decref(a);
    json_decref(b);
    http_response_free(&r);
    http_response_free(&plain);
    wsc_close(robot);
}

static void test_metrics_account_for_every_forwarded_request(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = harness_robot(port, "robot-1", NULL);
    struct wsc *client = harness_client(port, "viewer-1", NULL);
    for (int i = 0; i < 3; i++)
        client_ask(client, "q", "robot-1", "GET", "/api/x", NULL);
    json_t *reqs[3];
    for (int i = 0; i < 3; i++)
        reqs[i] = expect_request(robot, "GET", "/api/x");
    robot_answer(robot, token_of(reqs[0]), 200, "0");
    json_decref(expect_response(client, "q", "robot-1", 200));
    client_ask(client, "off", "robot-2", "GET", "/api/x", NULL);
    json_decref(expect_response(client, "off", "robot-2", 503));
    assert_int_equal(metric(port, "porthole_robot_requests_forwarded_total"), 3);
    assert_int_equal(metric(port, "porthole_robot_requests_answered_total"), 1);
    assert_int_equal(metric(port, "porthole_robot_requests_refused_total"), 1);
    assert_int_equal(metric(port, "porthole_robot_requests_pending"), 2);
    wsc_close(client);
    wait_metric(port, "porthole_robot_requests_abandoned_total", 2, WAIT);
    assert_int_equal(metric(port, "porthole_robot_requests_pending"), 0);
    assert_int_equal(metric(port, "porthole_robot_requests_timed_out_total"), 0);
    assert_int_equal(metric(port, "porthole_robot_responses_dropped_total"), 0);
    for (int i = 0; i < 3; i++)
        json_decref(reqs[i]);
    wsc_close(robot);
}

#define T(f) cmocka_unit_test_prestate_setup_teardown(f, harness_setup, harness_teardown, &fx_default)
#define T_WITH(f, fx) \
    cmocka_unit_test_prestate_setup_teardown(f, harness_setup, harness_teardown, &fx)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ws_round_trip_keeps_status_and_body_and_echoes_request_id),
        T(test_answers_reach_only_their_asker_when_askers_interleave),
        T(test_answers_with_foreign_unknown_or_used_tokens_are_dropped),
        T(test_ws_request_to_an_offline_robot_is_503),
        T(test_http_request_to_an_offline_robot_is_503),
        T(test_robot_going_offline_answers_pending_requests_503),
        T_WITH(test_unanswered_requests_get_504_after_the_request_timeout, fx_short_timeout),
        T_WITH(test_http_request_waits_for_its_robot_past_the_http_timeout, fx_slow_robot),
        T_WITH(test_requests_past_max_pending_requests_get_429, fx_limit),
        T(test_ws_asker_closing_first_makes_the_late_answer_dropped),
        T(test_http_client_hanging_up_while_waiting_is_forgotten),
        T(test_http_client_sending_a_fin_while_waiting_is_forgotten),
        T(test_shutdown_answers_pending_requests_503),
        T(test_invalid_robot_request_fields_are_invalid_field),
        T(test_robot_messages_from_the_wrong_role_are_refused),
        T(test_robot_response_with_a_bad_status_is_invalid_field_to_the_robot),
        T(test_http_get_with_a_query_is_proxied),
        T(test_http_put_with_a_json_body_is_proxied),
        T(test_http_post_and_delete_are_proxied),
        T(test_http_statuses_without_a_body),
        T(test_keep_alive_connection_serves_requests_one_after_another),
        T(test_http_malformed_json_is_400_with_line_and_column),
        T_WITH(test_http_body_over_max_message_is_413, fx_small_message),
        T(test_http_other_methods_are_405_with_allow),
        T(test_http_invalid_robot_id_is_400),
        T(test_http_api_paths_that_name_no_robot_resource_are_404),
        T(test_get_api_robots_lists_the_robots_as_robots_does),
        T(test_metrics_account_for_every_forwarded_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
