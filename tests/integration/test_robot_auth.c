/* test_robot_auth.c - porthole-robot's side of identity and access
 * (issue #13), against a test that plays porthole-cloud: the token in
 * robot-register, read again from --token-file at every connect and never
 * logged; refresh-token when the cloud says token-expired; a refused
 * registration retried with backoff, logged once; the caller of relayed
 * calls deciding which sessions a DELETE may end; and the sessions one
 * viewer may hold (--max-sessions-per-viewer).
 *
 * The fake cloud is a WebSocket listener of tests/support/wsclient.h on a
 * free loopback port; each test starts its own porthole-robot inside the
 * loopback-only network namespace, with its log in a file the test reads.
 * Under PORTHOLE_SLOW (the ASan variant) waits are three times longer; the
 * assertions are the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>

#include "harness.h"
#include "robotfix.h"

/* Tokens as the robot sees them: opaque. Their common part must never
 * appear in the robot's log. */
#define SECRET "U2VjcmV0UGFydA"
#define TOKEN_1 "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyb2JvdC0xIn0." SECRET "1"
#define TOKEN_2 "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyb2JvdC0xIn0." SECRET "2"
#define TOKEN_3 "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyb2JvdC0xIn0." SECRET "3"

/* One test's world: the fake cloud, the robot, its token file and log. */
struct world {
    int listen_fd;
    int port;
    struct proc robot;
    struct wsc *link;      /* the robot's current connection */
    char robot_id[48];
    char dir[64];
    char token_file[96];
    char log_file[96];
};

static struct world w;

static void write_token(const char *token)
{
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s.new", w.token_file);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", token);
    fclose(f);
    assert_int_equal(chmod(tmp, 0600), 0);
    assert_int_equal(rename(tmp, w.token_file), 0); /* as a rotation tool would */
}

/* The robot's log so far (g_free). */
static char *robot_log(void)
{
    char *text = NULL;
    if (!g_file_get_contents(w.log_file, &text, NULL, NULL))
        return g_strdup("");
    return text;
}

/* How many lines of the robot's log hold needle. */
static int log_count(const char *needle)
{
    char *text = robot_log();
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    g_free(text);
    return n;
}

/* Starts the robot against the fake cloud with the standard flags and
 * extra (NULL-terminated, may be NULL); its stderr goes to the log file. */
static void start_robot(const char *const *extra)
{
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", w.port);
    const char *args[40] = {"--cloud-url", url, "--robot-id", w.robot_id, "--ice-allow",
                            "127.0.0.1", "--reconnect-min", "0.2", "--reconnect-max", "1",
                            "--log-level", "info"};
    size_t n = 12;
    for (size_t i = 0; extra && extra[i] && n < 39; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    /* The child inherits stderr: point it at the log file around the spawn. */
    fflush(stderr);
    int saved = dup(2);
    FILE *log = fopen(w.log_file, "a");
    assert_non_null(log);
    dup2(fileno(log), 2);
    int rc = harness_start_robot(&w.robot, args);
    dup2(saved, 2);
    close(saved);
    fclose(log);
    assert_int_equal(rc, 0);
}

/* Accepts the robot's next connection and returns its first message,
 * which must be robot-register for our id (the caller owns it). */
static json_t *accept_register(void)
{
    wsc_close(w.link);
    w.link = wsc_accept(w.listen_fd, robotfix_wait(10000), NULL);
    if (!w.link)
        fail_msg("the robot did not connect to the fake cloud");
    json_t *reg = wsc_expect_type(w.link, "robot-register", robotfix_wait(5000));
    if (!reg)
        fail_msg("no robot-register (last: %s)", wsc_last_text(w.link));
    harness_assert_str(reg, "robotId", w.robot_id);
    return reg;
}

/* Accepts the robot and registers it, as a cloud that took its token. */
static void accept_and_register(void)
{
    json_decref(accept_register());
    assert_int_equal(wsc_send_json(w.link, json_pack("{s:s, s:s}", "type", "registered",
                                                     "robotId", w.robot_id)),
                     0);
}

static int setup(void **state)
{
    (void)state;
    memset(&w, 0, sizeof w);
    snprintf(w.robot_id, sizeof w.robot_id, "%s", harness_name("auth-robot"));
    snprintf(w.dir, sizeof w.dir, "/tmp/test_robot_auth.XXXXXX");
    if (!mkdtemp(w.dir))
        return -1;
    snprintf(w.token_file, sizeof w.token_file, "%s/robot.jwt", w.dir);
    snprintf(w.log_file, sizeof w.log_file, "%s/robot.log", w.dir);
    w.listen_fd = wsc_listen(&w.port);
    return w.listen_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    wsc_close(w.link);
    w.link = NULL;
    wsc_abort_all();
    int robot = harness_proc_stop(&w.robot, 10000);
    close(w.listen_fd);
    char *log = robot_log();
    if (robot != 0)
        fprintf(stderr, "teardown: porthole-robot exited with status %d; its log:\n%s", robot,
                log);
    g_free(log);
    unlink(w.token_file);
    unlink(w.log_file);
    rmdir(w.dir);
    return robot == 0 ? 0 : -1;
}

/* ---- the robot's token ---- */

static void test_the_token_goes_in_robot_register_and_is_read_again_at_reconnect(void **state)
{
    (void)state;
    write_token(TOKEN_1);
    start_robot((const char *const[]){"--token-file", w.token_file, NULL});
    json_t *reg = accept_register();
    harness_assert_str(reg, "token", TOKEN_1);
    assert_true(json_is_object(json_object_get(reg, "deviceInfo")));
    json_decref(reg);

    /* Rotated on disk, then the link drops: the new one goes, no restart. */
    write_token(TOKEN_2);
    reg = accept_register();
    harness_assert_str(reg, "token", TOKEN_2);
    json_decref(reg);

    /* The file went: the robot still registers, without a token (the
     * cloud refuses it), and says why. */
    unlink(w.token_file);
    reg = accept_register();
    assert_null(json_object_get(reg, "token"));
    json_decref(reg);
    assert_true(log_count("cannot open") >= 1);

    /* Never in the log. */
    assert_int_equal(log_count(SECRET), 0);
    assert_int_equal(log_count("eyJ"), 0);
}

static void test_a_token_file_others_may_read_is_warned_about(void **state)
{
    (void)state;
    write_token(TOKEN_1);
    assert_int_equal(chmod(w.token_file, 0644), 0);
    start_robot((const char *const[]){"--token-file", w.token_file, NULL});
    json_t *reg = accept_register();
    harness_assert_str(reg, "token", TOKEN_1);
    json_decref(reg);
    if (log_count("readable by its group or by others") != 1) {
        char *log = robot_log();
        fail_msg("no warning about the file's mode in:\n%s", log);
    }
}

static void test_the_token_may_come_from_the_environment(void **state)
{
    (void)state;
    setenv("ROBOT_TOKEN", TOKEN_3, 1);
    start_robot(NULL);
    unsetenv("ROBOT_TOKEN");
    json_t *reg = accept_register();
    harness_assert_str(reg, "token", TOKEN_3);
    json_decref(reg);
    assert_int_equal(log_count(SECRET), 0);
    assert_int_equal(log_count("registers with a token from ROBOT_TOKEN"), 1);
}

static void test_without_a_token_robot_register_has_none(void **state)
{
    (void)state;
    start_robot(NULL);
    json_t *reg = accept_register();
    assert_null(json_object_get(reg, "token"));
    json_decref(reg);
}

static void test_token_expired_is_answered_with_refresh_token(void **state)
{
    (void)state;
    write_token(TOKEN_1);
    start_robot((const char *const[]){"--token-file", w.token_file, NULL});
    accept_and_register();

    /* A rotated file: the fresh token goes at once. */
    write_token(TOKEN_2);
    assert_int_equal(wsc_send_json(w.link, json_pack("{s:s, s:s, s:s, s:i}", "type", "error",
                                                     "code", "token-expired", "message",
                                                     "the token expired", "graceSeconds", 30)),
                     0);
    json_t *r = wsc_expect_type(w.link, "refresh-token", robotfix_wait(3000));
    if (!r)
        fail_msg("no refresh-token after token-expired (last: %s)", wsc_last_text(w.link));
    harness_assert_str(r, "token", TOKEN_2);
    json_decref(r);
    assert_int_equal(wsc_send_json(w.link, json_pack("{s:s, s:i}", "type", "token-refreshed",
                                                     "expiresAt", 2000000000)),
                     0);

    /* Expired again while the file still holds the token sent: nothing,
     * until the file changes within the grace period. */
    assert_int_equal(wsc_send_json(w.link, json_pack("{s:s, s:s, s:s, s:i}", "type", "error",
                                                     "code", "token-expired", "message",
                                                     "the token expired", "graceSeconds", 20)),
                     0);
    assert_true(wsc_expect_silence(w.link, 1500));
    write_token(TOKEN_3);
    r = wsc_expect_type(w.link, "refresh-token", robotfix_wait(4000));
    if (!r)
        fail_msg("the token written during the grace period was not sent");
    harness_assert_str(r, "token", TOKEN_3);
    json_decref(r);

    /* A refused refresh leaves the link to the cloud: no reconnect. */
    assert_int_equal(wsc_send_json(w.link, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type",
                                                     "error", "code", "unauthorized", "reason",
                                                     "bad-signature", "message", "refused",
                                                     "requestType", "refresh-token")),
                     0);
    assert_true(wsc_expect_silence(w.link, 1000));
    assert_int_equal(log_count("the cloud refused the fresh token: bad-signature"), 1);
    assert_int_equal(log_count(SECRET), 0);
    assert_int_equal(log_count("eyJ"), 0);
}

static void test_a_refused_registration_is_retried_with_backoff_and_logged_once(void **state)
{
    (void)state;
    write_token(TOKEN_1);
    start_robot((const char *const[]){"--token-file", w.token_file, NULL});
    /* The first connection may take a while (the sanitizer build starts
     * slowly); the 3 s window starts there. */
    w.link = wsc_accept(w.listen_fd, robotfix_wait(10000), NULL);
    assert_non_null(w.link);
    int64_t start = wsc_now_ms();
    int attempts = 0;
    while (w.link && wsc_now_ms() - start < 3000) {
        json_t *reg = wsc_expect_type(w.link, "robot-register", robotfix_wait(5000));
        assert_non_null(reg);
        json_decref(reg);
        attempts++;
        assert_int_equal(wsc_send_json(w.link, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type",
                                                         "error", "code", "unauthorized",
                                                         "reason", "token-expired", "message",
                                                         "the robot's token has expired",
                                                         "requestType", "robot-register")),
                         0);
        /* The robot closes the link itself, to retry after a delay. */
        int code = wsc_expect_close(w.link, robotfix_wait(3000));
        if (code != 1000)
            fail_msg("attempt %d: the robot did not close the refused link (%d)", attempts,
                     code);
        wsc_close(w.link);
        w.link = wsc_accept(w.listen_fd, robotfix_wait(3000), NULL);
    }
    /* Backoff from 0.2 s doubling to 1 s, with full jitter: a few attempts
     * in 3 s, never a tight loop. */
    fprintf(stderr, "refused registrations: %d attempts in 3 s\n", attempts);
    assert_true(attempts >= 2);
    assert_true(attempts <= 20);
    assert_int_equal(log_count("the cloud refused the registration: token-expired"), 1);
    assert_true(harness_proc_alive(&w.robot));
    /* A fresh token and a cloud that takes it: registered. */
    write_token(TOKEN_2);
    json_t *reg = accept_register();
    harness_assert_str(reg, "token", TOKEN_2);
    json_decref(reg);
}

/* ---- relayed calls and their caller ---- */

/* Sends robot-request id (caller_json: the caller object as JSON text, or
 * NULL for a cloud without auth) and returns its robot-response, whose
 * status must be want (the caller owns it). */
#define request(id, method, path, body, client, caller, want) \
    request_((id), (method), (path), (body), (client), (caller), (want), __FILE__, __LINE__)
static json_t *request_(const char *id, const char *method, const char *path, json_t *body,
                        const char *client, const char *caller_json, int want,
                        const char *file, int line)
{
    json_t *q = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "robot-request", "requestId", id,
                          "method", method, "path", path, "clientId", client);
    if (body)
        json_object_set_new(q, "body", body);
    if (caller_json)
        json_object_set_new(q, "caller", json_loads(caller_json, 0, NULL));
    assert_int_equal(wsc_send_json(w.link, q), 0);
    int64_t deadline = wsc_now_ms() + robotfix_wait(8000);
    for (;;) {
        int left = (int)(deadline - wsc_now_ms());
        json_t *r = left > 0 ? wsc_expect_type(w.link, "robot-response", left) : NULL;
        if (!r) {
            print_error("no robot-response to %s %s (last: %s)\n", method, path,
                        wsc_last_text(w.link));
            _fail(file, line);
        }
        const char *rid = json_string_value(json_object_get(r, "requestId"));
        if (!rid || strcmp(rid, id) != 0) {
            json_decref(r);
            continue;
        }
        int status = (int)json_integer_value(json_object_get(r, "status"));
        if (status != want) {
            char *text = json_dumps(r, JSON_COMPACT);
            print_error("%s %s: status %d, want %d: %s\n", method, path, status, want, text);
            free(text);
            json_decref(r);
            _fail(file, line);
        }
        return r;
    }
}

#define ALICE "{\"sub\":\"alice\",\"scope\":\"control\",\"clientId\":\"c-alice\"}"
#define ALICE2 "{\"sub\":\"alice\",\"scope\":\"control\",\"clientId\":\"c-alice-2\"}"
#define BOB "{\"sub\":\"bob\",\"scope\":\"control\",\"clientId\":\"c-bob\"}"
#define ROOT "{\"sub\":\"root\",\"scope\":\"admin\",\"clientId\":\"c-root\"}"

/* POST /api/webrtc/offer through the fake cloud for caller; returns the
 * session id (g_free). */
static char *rest_offer(const char *id, const char *client, const char *caller)
{
    json_t *r = request(id, "POST", "/api/webrtc/offer",
                        json_pack("{s:[s]}", "stream_types", "color"), client, caller, 200);
    const char *sid = json_string_value(json_object_get(json_object_get(r, "body"),
                                                        "session_id"));
    assert_non_null(sid);
    char *out = g_strdup(sid);
    json_decref(r);
    return out;
}

/* create-session from the fake cloud for client (caller: NULL or JSON);
 * the robot must answer with webrtc-offer. */
static void create_session(const char *sid, const char *client, const char *caller)
{
    json_t *m = json_pack("{s:s, s:s, s:s, s:[s]}", "type", "create-session", "sessionId", sid,
                          "clientId", client, "streamTypes", "color");
    if (caller)
        json_object_set_new(m, "caller", json_loads(caller, 0, NULL));
    assert_int_equal(wsc_send_json(w.link, m), 0);
}

static void expect_offer(const char *sid)
{
    json_t *o = wsc_expect_type(w.link, "webrtc-offer", robotfix_wait(5000));
    if (!o)
        fail_msg("no webrtc-offer for %s (last: %s)", sid, wsc_last_text(w.link));
    harness_assert_str(o, "sessionId", sid);
    json_decref(o);
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The session ids the list in robot-response r holds, sorted, joined by ','. */
static char *listed(json_t *r)
{
    GPtrArray *ids = g_ptr_array_new();
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(r, "body"), i, s)
        g_ptr_array_add(ids, (gpointer)json_string_value(json_object_get(s, "session_id")));
    g_ptr_array_sort(ids, by_text);
    g_ptr_array_add(ids, NULL);
    char *text = g_strjoinv(",", (char **)ids->pdata);
    g_ptr_array_free(ids, TRUE);
    json_decref(r);
    return text;
}

static void test_a_relayed_delete_ends_only_the_callers_own_sessions(void **state)
{
    (void)state;
    start_robot(NULL);
    accept_and_register();
    char *a = rest_offer("q1", "c-alice", ALICE);
    char *b = rest_offer("q2", "c-bob", BOB);
    create_session("cloud-alice", "c-alice", ALICE);
    expect_offer("cloud-alice");

    /* Bob sees and ends only his own: alice's are unknown to him. */
    char *path_a = g_strdup_printf("/api/webrtc/sessions/%s", a);
    char *path_b = g_strdup_printf("/api/webrtc/sessions/%s", b);
    json_t *r = request("d1", "DELETE", path_a, NULL, "c-bob", BOB, 404);
    char *want = g_strdup_printf("no session '%s' on this robot", a);
    harness_assert_str(json_object_get(r, "body"), "detail", want);
    g_free(want);
    json_decref(r);
    json_decref(request("d2", "DELETE", "/api/webrtc/sessions/cloud-alice", NULL, "c-bob", BOB,
                        404));
    json_decref(request("d3", "GET", path_a, NULL, "c-bob", BOB, 404));
    json_decref(request("d4", "POST", "/api/webrtc/answer",
                        json_pack("{s:s, s:s, s:s}", "session_id", a, "type", "answer", "sdp",
                                  "v=0"),
                        "c-bob", BOB, 404));
    char *bobs = listed(request("d5", "GET", "/api/webrtc/sessions", NULL, "c-bob", BOB, 200));
    assert_string_equal(bobs, b);
    g_free(bobs);
    /* Another connection of alice's (another clientId) is another client. */
    json_decref(request("d6", "DELETE", path_a, NULL, "c-alice-2", ALICE2, 404));

    /* Alice ends hers; the admin sees and ends anyone's. */
    r = request("d7", "DELETE", path_a, NULL, "c-alice", ALICE, 200);
    harness_assert_str(json_object_get(r, "body"), "status", "closed");
    json_decref(r);
    char *all = listed(request("d8", "GET", "/api/webrtc/sessions", NULL, "c-root", ROOT, 200));
    char *want_all = g_strdup_printf("%s,cloud-alice", b);
    if (strcmp(b, "cloud-alice") > 0) {
        g_free(want_all);
        want_all = g_strdup_printf("cloud-alice,%s", b);
    }
    assert_string_equal(all, want_all);
    g_free(all);
    g_free(want_all);
    json_decref(request("d9", "DELETE", path_b, NULL, "c-root", ROOT, 200));
    /* DELETE /api/webrtc/sessions ends only the caller's own. */
    r = request("d10", "DELETE", "/api/webrtc/sessions", NULL, "c-bob", BOB, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "body"), "closed")),
                     0);
    json_decref(r);
    r = request("d11", "DELETE", "/api/webrtc/sessions", NULL, "c-alice", ALICE, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "body"), "closed")),
                     1);
    json_decref(r);
    char *left = listed(request("d12", "GET", "/api/webrtc/sessions", NULL, "c-root", ROOT, 200));
    assert_string_equal(left, "");
    g_free(left);

    /* Without auth (no caller) the cloud's calls see every session, as
     * before. */
    char *c = rest_offer("q3", "c-carol", NULL);
    char *path_c = g_strdup_printf("/api/webrtc/sessions/%s", c);
    json_decref(request("d13", "DELETE", path_c, NULL, "c-dave", NULL, 200));
    /* A caller the robot cannot read is refused. */
    r = request("d14", "GET", "/api/webrtc/sessions", NULL, "c-x",
                "{\"sub\":\"x\",\"scope\":\"root\"}", 400);
    json_decref(r);
    g_free(path_a);
    g_free(path_b);
    g_free(path_c);
    g_free(a);
    g_free(b);
    g_free(c);
}

static const char *const per_viewer_args[] = {"--max-sessions-per-viewer", "2", "--api-port",
                                              "8000", NULL};

/* The next session-error must be for sid with code session-limit and a
 * reason holding needle. */
static void expect_limit(const char *sid, const char *needle)
{
    json_t *e = wsc_expect_type(w.link, "session-error", robotfix_wait(3000));
    if (!e)
        fail_msg("no session-error for %s (last: %s)", sid, wsc_last_text(w.link));
    harness_assert_str(e, "sessionId", sid);
    harness_assert_str(e, "code", "session-limit");
    const char *why = json_string_value(json_object_get(e, "error"));
    if (!why || !strstr(why, needle))
        fail_msg("session-error reason '%s' does not say '%s'", why ? why : "", needle);
    json_decref(e);
}

static void test_each_viewer_holds_at_most_max_sessions_per_viewer(void **state)
{
    (void)state;
    start_robot(per_viewer_args);
    accept_and_register();
    /* With auth, by subject, whatever connection it uses. */
    create_session("s-1", "c-alice", ALICE);
    expect_offer("s-1");
    create_session("s-2", "c-alice-2", ALICE2);
    expect_offer("s-2");
    create_session("s-3", "c-alice", ALICE);
    expect_limit("s-3", "this viewer already has 2 sessions");
    json_t *r = request("o1", "POST", "/api/webrtc/offer",
                        json_pack("{s:[s]}", "stream_types", "color"), "c-alice-2", ALICE2, 503);
    if (!strstr(json_string_value(json_object_get(json_object_get(r, "body"), "detail")),
                "this viewer already has 2 sessions"))
        fail_msg("the REST refusal does not name the viewer's limit");
    json_decref(r);
    /* Another viewer is not affected. */
    create_session("s-4", "c-bob", BOB);
    expect_offer("s-4");
    /* Without auth, by clientId. */
    create_session("s-5", "c-carol", NULL);
    expect_offer("s-5");
    create_session("s-6", "c-carol", NULL);
    expect_offer("s-6");
    create_session("s-7", "c-carol", NULL);
    expect_limit("s-7", "this viewer already has 2");
    /* The robot's own port counts against no viewer. */
    struct http_response h;
    assert_int_equal(http_request(8000, "POST", "/api/webrtc/offer",
                                  NULL, "{\"stream_types\": [\"depth\"]}", robotfix_wait(8000),
                                  &h),
                     0);
    assert_int_equal(h.status, 200);
    http_response_free(&h);
    /* Ending one frees a place. */
    json_decref(request("o2", "DELETE", "/api/webrtc/sessions/s-1", NULL, "c-alice", ALICE, 200));
    create_session("s-8", "c-alice", ALICE);
    expect_offer("s-8");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_the_token_goes_in_robot_register_and_is_read_again_at_reconnect),
        T(test_a_token_file_others_may_read_is_warned_about),
        T(test_the_token_may_come_from_the_environment),
        T(test_without_a_token_robot_register_has_none),
        T(test_token_expired_is_answered_with_refresh_token),
        T(test_a_refused_registration_is_retried_with_backoff_and_logged_once),
        T(test_a_relayed_delete_ends_only_the_callers_own_sessions),
        T(test_each_viewer_holds_at_most_max_sessions_per_viewer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
