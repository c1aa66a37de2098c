/* test_cloud_auth.c - identity and access of the real porthole-cloud over
 * real WebSockets and HTTP: tokens of every role and scope (made by
 * `porthole-cloud token` and by Node's crypto), what each may register,
 * see and do, robot id takeover, expiry, grace and refresh, key rotation
 * by SIGHUP with sessions open, the guarded HTTP routes, protected mode
 * (a peer from a non-loopback address of this private namespace is
 * refused), and the refusal to start on a public address without auth. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "wsclient.h"

#define SECRET "integration-test-secret-of-porthole-0123456789"
#define OTHER_SECRET "another-secret-nobody-configured-0123456789ab"
#define METRICS_TOKEN "metrics-scraper-token-5f2c"
#define WAIT HARNESS_WAIT_MS

/* ---- tokens ---- */

/* `porthole-cloud token --auth-secret secret ARGS...`: the token it prints
 * (malloc'd, without the newline). Fails the test unless it exits 0. */
static char *mint_with(const char *secret, const char *const *args)
{
    const char *argv[32] = {"token", "--auth-secret", secret};
    size_t n = 3;
    for (size_t i = 0; args[i] && n + 1 < 32; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = harness_run(argv, 5000, &out, &err);
    if (rc != 0)
        fail_msg("porthole-cloud token exited %d: %s", rc, err);
    free(err);
    out[strcspn(out, "\n")] = '\0';
    return out;
}

#define MINT(...) mint_with(SECRET, (const char *const[]){__VA_ARGS__, NULL})

static char *robot_token(const char *robot_id)
{
    return MINT("--role", "robot", "--robot-id", robot_id);
}

static char *viewer_token(const char *sub, const char *robots, const char *scope)
{
    return MINT("--role", "viewer", "--sub", sub, "--robots", robots, "--scope", scope);
}

/* Runs `node jwt-node.mjs ARGS...` and returns what it printed (trimmed,
 * malloc'd); fails the test unless it exits 0. */
static char *node_jwt(const char *const *args)
{
    int po[2];
    assert_int_equal(pipe(po), 0);
    const char *argv[16] = {"node", PORTHOLE_TESTS_DIR "/integration/jwt-node.mjs"};
    size_t n = 2;
    for (size_t i = 0; args[i] && n + 1 < 16; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        close(po[0]);
        execvp("node", (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    char *out = calloc(1, 16384);
    size_t len = 0;
    ssize_t r;
    while ((r = read(po[0], out + len, 16383 - len)) > 0)
        len += (size_t)r;
    close(po[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("node jwt-node.mjs %s failed (status %d)", args[0], status);
    out[strcspn(out, "\n")] = '\0';
    return out;
}

/* ---- protocol steps ---- */

/* The next message on c must be error unauthorized with this reason. */
static void expect_unauthorized(struct wsc *c, const char *reason, const char *request_type)
{
    json_t *e = harness_expect_error(c, "unauthorized", request_type);
    harness_assert_str(e, "reason", reason);
    json_decref(e);
}

static void send_robot_register(struct wsc *c, const char *robot_id, const char *token)
{
    assert_int_equal(wsc_sendf(c, "{\"type\":\"robot-register\",\"robotId\":\"%s\","
                                  "\"token\":\"%s\"}", robot_id, token), 0);
}

/* A robot registered as robot_id with a token minted for it. */
static struct wsc *robot_with_token(int port, const char *robot_id)
{
    struct wsc *c = wsc_connect(port, "/ws", WAIT);
    assert_non_null(c);
    char *tok = robot_token(robot_id);
    send_robot_register(c, robot_id, tok);
    free(tok);
    json_decref(harness_expect_next(c, "registered"));
    return c;
}

/* A viewer registered with token; its available-robots in *list (or
 * dropped when list is NULL). */
static struct wsc *viewer_with(int port, const char *token, json_t **list)
{
    struct wsc *c = wsc_connect(port, "/ws", WAIT);
    assert_non_null(c);
    assert_int_equal(wsc_sendf(c, "{\"type\":\"client-register\",\"token\":\"%s\"}", token), 0);
    json_t *l = harness_expect_next(c, "available-robots");
    if (list)
        *list = l;
    else
        json_decref(l);
    return c;
}

static struct wsc *viewer(int port, const char *robots, const char *scope, json_t **list)
{
    char *tok = viewer_token("alice", robots, scope);
    struct wsc *c = viewer_with(port, tok, list);
    free(tok);
    return c;
}

/* True when the available-robots (or /robots array) j names robot_id. */
static bool lists(json_t *j, const char *robot_id)
{
    json_t *arr = json_is_array(j) ? j : json_object_get(j, "robots");
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r)
        if (strcmp(json_string_value(json_object_get(r, "robotId")), robot_id) == 0)
            return true;
    return false;
}

/* GET path with "Authorization: Bearer token" (none when NULL). */
static void get_as(int port, const char *path, const char *token, struct http_response *resp)
{
    char hdr[8192] = "";
    if (token)
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
    assert_int_equal(http_request(port, "GET", path, hdr, NULL, WAIT, resp), 0);
}

static int status_as(int port, const char *path, const char *token)
{
    struct http_response resp;
    get_as(port, path, token, &resp);
    int status = resp.status;
    http_response_free(&resp);
    return status;
}

/* GET path as token; the body must be JSON. */
static json_t *json_as(int port, const char *path, const char *token, int want_status)
{
    struct http_response resp;
    get_as(port, path, token, &resp);
    assert_int_equal(resp.status, want_status);
    json_t *j = json_loads(resp.body, JSON_DECODE_ANY, NULL);
    if (!j)
        fail_msg("%s: not JSON: %s", path, resp.body);
    http_response_free(&resp);
    return j;
}

/* ---- fixtures ---- */

static const char *const secret_args[] = {
    "--auth-secret", SECRET, "--auth-clock-skew", "0", "--token-grace", "1",
    "--metrics-token", METRICS_TOKEN, "--stun-urls", "stun:198.51.100.1:3478", NULL};
static struct harness_fixture fx_secret = {.args = secret_args};

#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, harness_setup, harness_teardown, \
                                                       &fx_secret)

/* ---- registration ---- */

static void test_robot_registers_with_a_token_for_its_id(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = robot_with_token(port, "lab-1");
    json_t *robots = json_as(port, "/robots", METRICS_TOKEN, 200);
    json_decref(robots);
    wsc_close(robot);
}

static void test_robot_token_for_another_id_is_refused(void **state)
{
    int port = harness_port(state);
    struct wsc *c = wsc_connect(port, "/ws", WAIT);
    char *tok = robot_token("lab-1");
    send_robot_register(c, "lab-2", tok);
    free(tok);
    expect_unauthorized(c, "wrong-robot", "robot-register");
    wsc_close(c);
}

static void test_viewer_token_cannot_register_a_robot(void **state)
{
    int port = harness_port(state);
    struct wsc *c = wsc_connect(port, "/ws", WAIT);
    char *tok = viewer_token("alice", "*", "admin");
    send_robot_register(c, "lab-1", tok);
    free(tok);
    expect_unauthorized(c, "wrong-role", "robot-register");
    wsc_close(c);
}

static void test_missing_and_forged_tokens_are_refused_on_a_connection_that_stays(void **state)
{
    int port = harness_port(state);
    struct wsc *c = wsc_connect(port, "/ws", WAIT);
    assert_int_equal(wsc_send_text(c, "{\"type\":\"client-register\"}"), 0);
    expect_unauthorized(c, "token-missing", "client-register");
    char *forged = mint_with(OTHER_SECRET, (const char *const[]){
        "--role", "viewer", "--robots", "*", "--scope", "admin", NULL});
    assert_int_equal(wsc_sendf(c, "{\"type\":\"client-register\",\"token\":\"%s\"}", forged), 0);
    free(forged);
    expect_unauthorized(c, "bad-signature", "client-register");
    /* Not registered: nothing else is served... */
    assert_int_equal(wsc_send_text(c, "{\"type\":\"create-session\",\"robotId\":\"r\","
                                      "\"streamTypes\":[\"color\"]}"), 0);
    json_decref(harness_expect_error(c, "not-registered", "create-session"));
    /* ...until a valid token comes. */
    char *tok = viewer_token("alice", "*", "watch");
    assert_int_equal(wsc_sendf(c, "{\"type\":\"client-register\",\"token\":\"%s\"}", tok), 0);
    free(tok);
    json_decref(harness_expect_next(c, "available-robots"));
    wsc_close(c);
}

static void test_expired_token_made_by_node_is_refused(void **state)
{
    int port = harness_port(state);
    char dir[] = "/tmp/porthole-auth-XXXXXX";
    assert_non_null(mkdtemp(dir));
    free(node_jwt((const char *const[]){"keys", dir, NULL}));
    /* Node signs with the cloud's secret: one valid token, one expired. */
    char path[256];
    snprintf(path, sizeof path, "%s/hs256.secret", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(SECRET, f);
    assert_int_equal(fclose(f), 0);
    const char *claims = "{\"sub\":\"alice\",\"role\":\"viewer\",\"robots\":[\"*\"],"
                         "\"scope\":\"watch\"}";
    char *expired = node_jwt((const char *const[]){"sign", dir, "HS256", claims, "-60", NULL});
    char *valid = node_jwt((const char *const[]){"sign", dir, "HS256", claims, NULL});
    struct wsc *c = wsc_connect(port, "/ws", WAIT);
    assert_int_equal(wsc_sendf(c, "{\"type\":\"client-register\",\"token\":\"%s\"}", expired), 0);
    expect_unauthorized(c, "token-expired", "client-register");
    assert_int_equal(wsc_sendf(c, "{\"type\":\"client-register\",\"token\":\"%s\"}", valid), 0);
    json_decref(harness_expect_next(c, "available-robots"));
    free(expired);
    free(valid);
    wsc_close(c);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- what viewers see and do ---- */

static void test_glob_patterns_choose_the_robots_a_viewer_sees(void **state)
{
    int port = harness_port(state);
    struct wsc *lab = robot_with_token(port, "lab-1");
    struct wsc *dock = robot_with_token(port, "dock-12");
    json_t *list;
    struct wsc *v = viewer(port, "lab-*,dock-?", "watch", &list);
    assert_true(lists(list, "lab-1"));
    assert_false(lists(list, "dock-12"));
    json_decref(list);
    /* Broadcasts follow the same patterns. */
    struct wsc *dock3 = robot_with_token(port, "dock-3");
    json_t *avail = harness_expect_next(v, "robot-available");
    harness_assert_str(avail, "robotId", "dock-3");
    json_decref(avail);
    wsc_close(dock);
    harness_expect_silence(v); /* dock-12 was never visible: no robot-unavailable */
    wsc_close(dock3);
    json_t *gone = harness_expect_next(v, "robot-unavailable");
    harness_assert_str(gone, "robotId", "dock-3");
    json_decref(gone);
    wsc_close(v);
    wsc_close(lab);
}

static void test_invisible_robots_are_indistinguishable_from_offline_ones(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = robot_with_token(port, "dock-1");
    struct wsc *v = viewer(port, "lab-*", "control", NULL);
    const char *ids[2] = {"dock-1", "dock-2"}; /* invisible, offline */
    json_t *session[2], *request[2], *http[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(wsc_sendf(v, "{\"type\":\"create-session\",\"robotId\":\"%s\","
                                      "\"streamTypes\":[\"color\"],\"requestId\":\"s\"}", ids[i]), 0);
        session[i] = harness_expect_next(v, "session-error");
        json_object_del(session[i], "error"); /* its sentence names the id */
        assert_int_equal(wsc_sendf(v, "{\"type\":\"robot-request\",\"requestId\":\"q\","
                                      "\"robotId\":\"%s\",\"method\":\"GET\",\"path\":\"/api/x\"}",
                                   ids[i]), 0);
        request[i] = harness_expect_next(v, "robot-response");
        json_object_del(request[i], "robotId");
        json_object_del(request[i], "body");
        char path[64], *tok = viewer_token("alice", "lab-*", "control");
        snprintf(path, sizeof path, "/api/robots/%s/x", ids[i]);
        struct http_response resp;
        get_as(port, path, tok, &resp);
        free(tok);
        http[i] = json_pack("{s:i}", "status", resp.status);
        http_response_free(&resp);
    }
    assert_true(json_equal(session[0], session[1]));
    assert_true(json_equal(request[0], request[1]));
    assert_true(json_equal(http[0], http[1]));
    assert_int_equal(json_integer_value(json_object_get(http[0], "status")), 503);
    for (int i = 0; i < 2; i++) {
        json_decref(session[i]);
        json_decref(request[i]);
        json_decref(http[i]);
    }
    harness_expect_silence(robot); /* nothing reached it */
    wsc_close(v);
    wsc_close(robot);
}

/* The robot answers the next robot-request on robot with 200 {"ok":true}
 * and returns that request (the caller frees it). */
static json_t *answer_next_request(struct wsc *robot)
{
    json_t *req = harness_expect_next(robot, "robot-request");
    assert_int_equal(wsc_sendf(robot, "{\"type\":\"robot-response\",\"requestId\":\"%s\","
                                      "\"status\":200,\"body\":{\"ok\":true}}",
                               json_string_value(json_object_get(req, "requestId"))), 0);
    return req;
}

static void test_watch_viewer_watches_but_cannot_call_the_api(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = robot_with_token(port, "lab-1");
    struct wsc *v = viewer(port, "lab-*", "watch", NULL);
    char *sid = harness_open_session(v, robot, "lab-1");
    free(sid);
    assert_int_equal(wsc_send_text(v, "{\"type\":\"robot-request\",\"requestId\":\"q\",\"robotId\":"
                                      "\"lab-1\",\"method\":\"GET\",\"path\":\"/api/devices/\"}"), 0);
    json_t *r = harness_expect_next(v, "robot-response");
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 403);
    json_decref(r);
    harness_expect_silence(robot);
    wsc_close(v);
    wsc_close(robot);
}

static void test_control_viewer_calls_the_api_and_the_robot_learns_the_caller(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = robot_with_token(port, "lab-1");
    struct wsc *v = viewer(port, "lab-1", "control", NULL);
    assert_int_equal(wsc_send_text(v, "{\"type\":\"robot-request\",\"requestId\":\"q\",\"robotId\":"
                                      "\"lab-1\",\"method\":\"GET\",\"path\":\"/api/devices/\"}"), 0);
    json_t *req = answer_next_request(robot);
    json_t *caller = json_object_get(req, "caller");
    harness_assert_str(caller, "sub", "alice");
    harness_assert_str(caller, "scope", "control");
    assert_non_null(json_string_value(json_object_get(caller, "clientId")));
    json_decref(req);
    json_t *r = harness_expect_next(v, "robot-response");
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 200);
    json_decref(r);
    wsc_close(v);
    wsc_close(robot);
}

/* ---- HTTP ---- */

static void test_robot_lists_over_http_need_a_token_and_show_only_allowed_robots(void **state)
{
    int port = harness_port(state);
    struct wsc *lab = robot_with_token(port, "lab-1");
    struct wsc *dock = robot_with_token(port, "dock-1");
    char *tok = viewer_token("alice", "lab-*", "watch");
    const char *paths[] = {"/robots", "/api/robots"};
    for (int i = 0; i < 2; i++) {
        json_t *refused = json_as(port, paths[i], NULL, 401);
        harness_assert_str(refused, "reason", "token-missing");
        json_decref(refused);
        json_decref(json_as(port, paths[i], "not.a.token", 401));
        json_t *list = json_as(port, paths[i], tok, 200);
        assert_true(lists(list, "lab-1"));
        assert_false(lists(list, "dock-1"));
        json_decref(list);
    }
    free(tok);
    wsc_close(dock);
    wsc_close(lab);
}

static void test_http_proxy_needs_a_token_with_the_control_scope(void **state)
{
    int port = harness_port(state);
    struct wsc *robot = robot_with_token(port, "lab-1");
    char *watch = viewer_token("alice", "lab-*", "watch");
    char *control = viewer_token("alice", "lab-*", "control");
    assert_int_equal(status_as(port, "/api/robots/lab-1/devices/", NULL), 401);
    assert_int_equal(status_as(port, "/api/robots/lab-1/devices/", watch), 403);
    char hdr[4096];
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", control);
    struct wsc *h = http_send(port, "GET", "/api/robots/lab-1/devices/", hdr, NULL, false, WAIT);
    assert_non_null(h);
    json_t *req = answer_next_request(robot);
    harness_assert_str(json_object_get(req, "caller"), "scope", "control");
    json_decref(req);
    struct http_response resp;
    assert_int_equal(http_recv(h, "GET", WAIT, &resp), 0);
    assert_int_equal(resp.status, 200);
    http_response_free(&resp);
    wsc_abort(h);
    free(watch);
    free(control);
    wsc_close(robot);
}

static void test_metrics_need_an_admin_token_or_the_metrics_token(void **state)
{
    int port = harness_port(state);
    char *watch = viewer_token("alice", "*", "watch");
    char *admin = viewer_token("root", "*", "admin");
    assert_int_equal(status_as(port, "/metrics", NULL), 401);
    assert_int_equal(status_as(port, "/metrics", "forged.token.here"), 401);
    assert_int_equal(status_as(port, "/metrics", watch), 403);
    assert_int_equal(status_as(port, "/metrics", admin), 200);
    assert_int_equal(status_as(port, "/metrics", METRICS_TOKEN), 200);
    free(watch);
    free(admin);
}

static void test_health_shows_its_details_only_to_admins(void **state)
{
    int port = harness_port(state);
    char *watch = viewer_token("alice", "*", "watch");
    json_t *plain = json_as(port, "/health", watch, 200);
    harness_assert_str(plain, "status", "ok");
    assert_int_equal(json_object_size(plain), 1);
    json_decref(plain);
    json_t *full = json_as(port, "/health", METRICS_TOKEN, 200);
    assert_true(json_is_integer(json_object_get(full, "robots")));
    json_decref(full);
    free(watch);
}

/* The value of the metrics line that starts with name (-1 when absent). */
static long long metric(int port, const char *name)
{
    struct http_response resp;
    get_as(port, "/metrics", METRICS_TOKEN, &resp);
    assert_int_equal(resp.status, 200);
    const char *at = strstr(resp.body, name);
    long long v = at ? strtoll(at + strlen(name), NULL, 10) : -1;
    http_response_free(&resp);
    return v;
}

static void test_refusals_are_counted_in_metrics_by_reason(void **state)
{
    int port = harness_port(state);
    const char *name = "porthole_auth_refusals_total{reason=\"wrong-robot\"} ";
    assert_int_equal(metric(port, name), 0);
    struct wsc *c = wsc_connect(port, "/ws", WAIT);
    char *tok = robot_token("lab-1");
    for (int i = 0; i < 3; i++) {
        send_robot_register(c, "lab-2", tok);
        expect_unauthorized(c, "wrong-robot", "robot-register");
    }
    free(tok);
    assert_int_equal(metric(port, name), 3);
    assert_int_equal(status_as(port, "/robots", NULL), 401);
    assert_int_equal(metric(port, "porthole_auth_refusals_total{reason=\"token-missing\"} "), 1);
    wsc_close(c);
}

static void test_ice_servers_go_only_to_authenticated_peers(void **state)
{
    int port = harness_port(state);
    assert_int_equal(status_as(port, "/api/ice-servers", NULL), 401);
    char *tok = robot_token("lab-9"); /* any role */
    json_t *j = json_as(port, "/api/ice-servers", tok, 200);
    assert_true(json_is_array(json_object_get(j, "iceServers")));
    json_decref(j);
    free(tok);
}

/* ---- takeover ---- */

static void test_valid_token_takes_over_a_live_robot_id(void **state)
{
    int port = harness_port(state);
    struct wsc *old = robot_with_token(port, "lab-1");
    struct wsc *v = viewer(port, "*", "watch", NULL);
    char *sid = harness_open_session(v, old, "lab-1");
    struct wsc *fresh = robot_with_token(port, "lab-1");
    assert_int_equal(wsc_expect_close(old, WAIT), 1008);
    json_t *closed = harness_expect_next(v, "session-closed");
    harness_assert_str(closed, "sessionId", sid);
    harness_assert_str(closed, "reason", "peer-disconnected");
    json_decref(closed);
    json_decref(harness_expect_next(v, "robot-unavailable"));
    json_decref(harness_expect_next(v, "robot-available"));
    free(sid);
    sid = harness_open_session(v, fresh, "lab-1"); /* the id leads to the new one */
    free(sid);
    wsc_close(old);
    wsc_close(v);
    wsc_close(fresh);
}

static void test_takeover_without_a_valid_token_is_refused(void **state)
{
    int port = harness_port(state);
    struct wsc *holder = robot_with_token(port, "lab-1");
    struct wsc *c = wsc_connect(port, "/ws", WAIT);
    assert_int_equal(wsc_send_text(c, "{\"type\":\"robot-register\",\"robotId\":\"lab-1\"}"), 0);
    expect_unauthorized(c, "token-missing", "robot-register");
    char *tok = robot_token("lab-2");
    send_robot_register(c, "lab-1", tok);
    free(tok);
    expect_unauthorized(c, "wrong-robot", "robot-register");
    harness_expect_silence(holder);
    struct wsc *v = viewer(port, "*", "watch", NULL);
    char *sid = harness_open_session(v, holder, "lab-1");
    free(sid);
    wsc_close(v);
    wsc_close(c);
    wsc_close(holder);
}

/* ---- expiry ---- */

/* A viewer whose token lives two seconds. */
static struct wsc *short_lived_viewer(int port, const char *sub)
{
    char *tok = MINT("--role", "viewer", "--sub", sub, "--robots", "*", "--ttl", "2s");
    struct wsc *c = viewer_with(port, tok, NULL);
    free(tok);
    return c;
}

static void test_expired_connection_is_told_then_closed_after_the_grace(void **state)
{
    int port = harness_port(state);
    struct wsc *v = short_lived_viewer(port, "alice");
    json_t *e = wsc_expect_type(v, "error", 4000);
    assert_non_null(e);
    harness_assert_str(e, "code", "token-expired");
    assert_int_equal(json_integer_value(json_object_get(e, "graceSeconds")), 1);
    json_decref(e);
    int64_t told = wsc_now_ms();
    assert_int_equal(wsc_expect_close(v, 3000), 1008);
    assert_true(wsc_now_ms() - told >= 800);
    wsc_close(v);
}

static void test_refresh_token_keeps_an_expiring_connection_open(void **state)
{
    int port = harness_port(state);
    struct wsc *v = short_lived_viewer(port, "alice");
    json_t *e = wsc_expect_type(v, "error", 4000);
    assert_non_null(e);
    json_decref(e);
    char *tok = viewer_token("alice", "*", "watch");
    assert_int_equal(wsc_sendf(v, "{\"type\":\"refresh-token\",\"token\":\"%s\"}", tok), 0);
    free(tok);
    json_t *ok = harness_expect_next(v, "token-refreshed");
    assert_true(json_integer_value(json_object_get(ok, "expiresAt")) > (json_int_t)time(NULL));
    json_decref(ok);
    assert_true(wsc_expect_silence(v, 1500)); /* past the grace: still open */
    wsc_close(v);
}

static void test_refresh_with_another_identity_is_refused(void **state)
{
    int port = harness_port(state);
    struct wsc *v = short_lived_viewer(port, "alice");
    char *tok = viewer_token("mallory", "*", "admin");
    assert_int_equal(wsc_sendf(v, "{\"type\":\"refresh-token\",\"token\":\"%s\"}", tok), 0);
    free(tok);
    expect_unauthorized(v, "wrong-subject", "refresh-token");
    json_t *e = wsc_expect_type(v, "error", 4000);
    harness_assert_str(e, "code", "token-expired");
    json_decref(e);
    assert_int_equal(wsc_expect_close(v, 3000), 1008);
    wsc_close(v);
}

/* ---- key rotation ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* A cloud verifying with the secret in a file; *path is that file. */
static void start_with_secret_file(struct cloud *cloud, char *path)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, SECRET "\n");
    const char *args[] = {"--auth-secret-file", path, NULL};
    assert_int_equal(harness_start(cloud, args), 0);
}

/* Registers a viewer with token on a fresh connection and returns the
 * reply's type ("available-robots" or "error"), checking an error's reason. */
static void expect_registration(int port, const char *token, const char *reason)
{
    struct wsc *c = wsc_connect(port, "/ws", WAIT);
    assert_int_equal(wsc_sendf(c, "{\"type\":\"client-register\",\"token\":\"%s\"}", token), 0);
    if (reason)
        expect_unauthorized(c, reason, "client-register");
    else
        json_decref(harness_expect_next(c, "available-robots"));
    wsc_close(c);
}

static void test_sighup_rotates_the_secret_with_sessions_open(void **state)
{
    (void)state;
    char path[] = "/tmp/porthole-secret-XXXXXX";
    struct cloud cloud;
    start_with_secret_file(&cloud, path);
    struct wsc *robot = robot_with_token(cloud.port, "lab-1");
    struct wsc *v = viewer(cloud.port, "*", "watch", NULL);
    char *sid = harness_open_session(v, robot, "lab-1");
    char *old_tok = viewer_token("alice", "*", "watch");
    char *new_tok = mint_with(OTHER_SECRET, (const char *const[]){
        "--role", "viewer", "--robots", "*", NULL});

    write_file(path, OTHER_SECRET "\n");
    assert_int_equal(kill(cloud.pid, SIGHUP), 0);
    int64_t deadline = wsc_now_ms() + WAIT;
    bool rotated = false;
    while (!rotated && wsc_now_ms() < deadline) { /* the signal is handled on the loop */
        struct wsc *c = wsc_connect(cloud.port, "/ws", WAIT);
        wsc_sendf(c, "{\"type\":\"client-register\",\"token\":\"%s\"}", new_tok);
        json_t *m = wsc_recv_json(c, WAIT);
        rotated = m && strcmp(json_string_value(json_object_get(m, "type")), "available-robots") == 0;
        json_decref(m);
        wsc_close(c);
    }
    assert_true(rotated);
    expect_registration(cloud.port, old_tok, "bad-signature");
    /* The session opened under the old key still relays. */
    assert_int_equal(wsc_sendf(robot, "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\","
                                      "\"candidate\":null}", sid), 0);
    json_decref(harness_expect_next(v, "ice-candidate"));
    free(sid);
    free(old_tok);
    free(new_tok);
    wsc_close(v);
    wsc_close(robot);
    assert_int_equal(harness_stop(&cloud), 0);
    unlink(path);
}

static void test_sighup_with_a_bad_key_file_keeps_the_old_keys(void **state)
{
    (void)state;
    char path[] = "/tmp/porthole-secret-XXXXXX";
    struct cloud cloud;
    start_with_secret_file(&cloud, path);
    write_file(path, "short\n"); /* under the 32 bytes a secret needs */
    assert_int_equal(kill(cloud.pid, SIGHUP), 0);
    usleep(300 * 1000);
    char *tok = viewer_token("alice", "*", "watch");
    expect_registration(cloud.port, tok, NULL);
    free(tok);
    assert_int_equal(harness_stop(&cloud), 0);
    unlink(path);
}

/* ---- tokens made by Node ---- */

static void test_tokens_made_by_node_with_a_jwks_are_accepted(void **state)
{
    (void)state;
    char dir[] = "/tmp/porthole-jwks-XXXXXX";
    assert_non_null(mkdtemp(dir));
    free(node_jwt((const char *const[]){"keys", dir, NULL}));
    char jwks[256];
    snprintf(jwks, sizeof jwks, "%s/keys.jwks", dir);
    struct cloud cloud;
    const char *args[] = {"--auth-jwks", jwks, NULL};
    assert_int_equal(harness_start(&cloud, args), 0);
    char *robot_tok = node_jwt((const char *const[]){
        "sign", dir, "EdDSA", "{\"sub\":\"robot-7\",\"role\":\"robot\",\"robot_id\":\"lab-7\"}",
        NULL});
    char *viewer_tok = node_jwt((const char *const[]){
        "sign", dir, "ES256",
        "{\"sub\":\"bob\",\"role\":\"viewer\",\"robots\":\"lab-?\",\"scope\":\"watch control\"}",
        NULL});
    struct wsc *robot = wsc_connect(cloud.port, "/ws", WAIT);
    send_robot_register(robot, "lab-7", robot_tok);
    json_decref(harness_expect_next(robot, "registered"));
    json_t *list;
    struct wsc *v = viewer_with(cloud.port, viewer_tok, &list);
    assert_true(lists(list, "lab-7"));
    json_decref(list);
    /* An HS256 token cannot pass for one of these public keys. */
    char *hs = MINT("--role", "viewer", "--robots", "*");
    expect_registration(cloud.port, hs, "bad-algorithm");
    free(hs);
    free(robot_tok);
    free(viewer_tok);
    wsc_close(v);
    wsc_close(robot);
    assert_int_equal(harness_stop(&cloud), 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- protected mode ---- */

#define OTHER_ADDR "192.0.2.1" /* TEST-NET-1, added to lo of this private namespace */

/* Adds OTHER_ADDR to lo, only inside a private network namespace (one
 * whose only interface is lo, as tests/netns-run.sh makes). */
static void add_other_address(void)
{
    FILE *p = popen("ip -o link show | cut -d: -f2 | tr -d ' '", "r");
    assert_non_null(p);
    char buf[256] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    pclose(p);
    buf[n] = '\0';
    if (strcmp(buf, "lo\n") != 0)
        fail_msg("not in a private network namespace (interfaces: %s): run under "
                 "tests/netns-run.sh", buf);
    int rc = system("ip addr add " OTHER_ADDR "/32 dev lo 2>/dev/null; "
                    "ip -o addr show dev lo | grep -q " OTHER_ADDR);
    assert_int_equal(rc, 0);
}

/* Sends request from OTHER_ADDR to OTHER_ADDR:port and returns the HTTP
 * status of the response (0 when none). */
static int status_from_other_address(int port, const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, OTHER_ADDR, &sa.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    sa.sin_port = htons((uint16_t)port);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(wsc_raw_send(fd, request, strlen(request), WAIT), 0);
    char buf[512] = "";
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    ssize_t got = poll(&pfd, 1, WAIT) == 1 ? read(fd, buf, sizeof buf - 1) : -1;
    close(fd);
    int status = 0;
    if (got > 0)
        sscanf(buf, "HTTP/1.%*d %d", &status);
    return status;
}

static const char upgrade_request[] =
    "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
static const char health_request[] = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

static void test_protected_mode_serves_only_loopback_peers(void **state)
{
    (void)state;
    add_other_address();
    struct cloud cloud;
    const char *args[] = {"--bind", "", NULL}; /* every interface, no auth */
    assert_int_equal(harness_start(&cloud, args), 0);
    assert_int_equal(status_from_other_address(cloud.port, upgrade_request), 403);
    assert_int_equal(status_from_other_address(cloud.port, health_request), 403);
    /* Loopback peers are served as ever, without tokens. */
    struct wsc *robot = harness_robot(cloud.port, "r1", NULL);
    json_t *h = harness_health(cloud.port);
    assert_int_equal(json_integer_value(json_object_get(h, "robots")), 1);
    json_decref(h);
    wsc_close(robot);
    assert_int_equal(harness_stop(&cloud), 0);
}

static void test_insecure_open_serves_other_addresses(void **state)
{
    (void)state;
    add_other_address();
    struct cloud cloud;
    const char *args[] = {"--bind", "", "--insecure-open", NULL};
    assert_int_equal(harness_start(&cloud, args), 0);
    assert_int_equal(status_from_other_address(cloud.port, upgrade_request), 101);
    assert_int_equal(status_from_other_address(cloud.port, health_request), 200);
    assert_int_equal(harness_stop(&cloud), 0);
}

static void test_public_bind_without_auth_refuses_to_start(void **state)
{
    (void)state;
    const char *args[] = {"--bind", OTHER_ADDR, "--port", "3001", NULL};
    char *err = NULL;
    assert_int_equal(harness_run(args, 5000, NULL, &err), 2);
    assert_non_null(strstr(err, "--insecure-open"));
    assert_non_null(strstr(err, "--auth-secret"));
    free(err);
}

static void test_token_command_needs_the_secret(void **state)
{
    (void)state;
    const char *args[] = {"token", "--role", "viewer", NULL};
    char *out = NULL, *err = NULL;
    assert_int_equal(harness_run(args, 5000, &out, &err), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "--auth-secret"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_robot_registers_with_a_token_for_its_id),
        T(test_robot_token_for_another_id_is_refused),
        T(test_viewer_token_cannot_register_a_robot),
        T(test_missing_and_forged_tokens_are_refused_on_a_connection_that_stays),
        T(test_expired_token_made_by_node_is_refused),
        T(test_glob_patterns_choose_the_robots_a_viewer_sees),
        T(test_invisible_robots_are_indistinguishable_from_offline_ones),
        T(test_watch_viewer_watches_but_cannot_call_the_api),
        T(test_control_viewer_calls_the_api_and_the_robot_learns_the_caller),
        T(test_robot_lists_over_http_need_a_token_and_show_only_allowed_robots),
        T(test_http_proxy_needs_a_token_with_the_control_scope),
        T(test_metrics_need_an_admin_token_or_the_metrics_token),
        T(test_health_shows_its_details_only_to_admins),
        T(test_refusals_are_counted_in_metrics_by_reason),
        T(test_ice_servers_go_only_to_authenticated_peers),
        T(test_valid_token_takes_over_a_live_robot_id),
        T(test_takeover_without_a_valid_token_is_refused),
        T(test_expired_connection_is_told_then_closed_after_the_grace),
        T(test_refresh_token_keeps_an_expiring_connection_open),
        T(test_refresh_with_another_identity_is_refused),
        cmocka_unit_test(test_sighup_rotates_the_secret_with_sessions_open),
        cmocka_unit_test(test_sighup_with_a_bad_key_file_keeps_the_old_keys),
        cmocka_unit_test(test_tokens_made_by_node_with_a_jwks_are_accepted),
        cmocka_unit_test(test_protected_mode_serves_only_loopback_peers),
        cmocka_unit_test(test_insecure_open_serves_other_addresses),
        cmocka_unit_test(test_public_bind_without_auth_refuses_to_start),
        cmocka_unit_test(test_token_command_needs_the_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
