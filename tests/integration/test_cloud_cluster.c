/* test_cloud_cluster.c - three porthole-cloud instances on one real Redis
 * (cluster.h): a robot and a viewer on different instances share sessions
 * and robot requests, presence events reach every instance's clients once,
 * tokens decide what a viewer may see and do wherever it and the robot are,
 * ownership holds across instances, a killed instance's robots come back
 * elsewhere, a Redis outage degrades to local service and recovers without
 * lost or repeated events, and HAProxy in front of the three works without
 * stickiness. Each test gets a fresh Redis and fresh instances. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clusterfix.h"
#include "harness.h"
#include "wsclient.h"

#define WAIT HARNESS_WAIT_MS
#define A 0
#define B 1
#define C 2

static struct clusterfix fx;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int setup(void **state)
{
    (void)state;
    return clusterfix_start(&fx, NULL);
}

/* Redis only: the workers tests start their own porthole-cloud. */
static int setup_redis(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    return clusterfix_redis_start(&fx);
}

#define SECRET "cluster-test-secret-0123456789-abcdefghijklmnop"

/* Three instances that need tokens, all with the same secret. */
static int setup_auth(void **state)
{
    (void)state;
    static const char *const args[] = {"--auth-secret", SECRET, NULL};
    return clusterfix_start(&fx, args);
}

static int teardown(void **state)
{
    (void)state;
    wsc_abort_all();
    return clusterfix_stop(&fx);
}

static int port(int i)
{
    return fx.clouds[i].port;
}

/* ---- helpers ---- */

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

static void relay(struct wsc *from, struct wsc *to, const char *text)
{
    assert_int_equal(wsc_send_text(from, text), 0);
    expect_text(to, text);
}

/* The next message on c is robot-available (available) or
 * robot-unavailable for robot_id. */
static void expect_presence(struct wsc *c, const char *robot_id, bool available, int wait_ms)
{
    const char *type = available ? "robot-available" : "robot-unavailable";
    json_t *m = wsc_expect_type(c, type, wait_ms);
    if (!m)
        fail_msg("no %s for %s: %s", type, robot_id, wsc_last_text(c));
    harness_assert_str(m, "robotId", robot_id);
    json_decref(m);
}

/* A client on instance i that has seen robot_id listed (the robot
 * registered elsewhere just before: its presence may be on its way). */
static struct wsc *client_seeing(int i, const char *client_id, const char *robot_id)
{
    char needle[96];
    snprintf(needle, sizeof needle, "\"robotId\":\"%s\"", robot_id);
    assert_true(clusterfix_wait_body(port(i), "/robots", needle, WAIT));
    return harness_client(port(i), client_id, NULL);
}

/* Tries to register robot_id on port: the connection when registered,
 * NULL when refused with robot-id-in-use or not reachable. */
static struct wsc *try_robot(int p, const char *robot_id)
{
    struct wsc *c = wsc_connect(p, "/ws", 1000);
    if (!c)
        return NULL;
    wsc_sendf(c, "{\"type\":\"robot-register\",\"robotId\":\"%s\",\"deviceInfo\":{}}",
              robot_id);
    json_t *m = wsc_recv_json(c, WAIT);
    const char *type = json_string_value(json_object_get(m, "type"));
    bool ok = type && strcmp(type, "registered") == 0;
    if (!ok && type && strcmp(type, "error") == 0)
        assert_string_equal(json_string_value(json_object_get(m, "code")), "robot-id-in-use");
    json_decref(m);
    if (!ok)
        wsc_close(c);
    return ok ? c : NULL;
}

static void offer_text(char *buf, size_t len, const char *sid, const char *type,
                       const char *kind)
{
    snprintf(buf, len, "{\"type\":\"%s\",\"sessionId\":\"%s\",\"%s\":{\"type\":\"%s\","
             "\"sdp\":\"v=0\\r\\no=- 1 1 IN IP4 127.0.0.1\\r\\n\"}}", type, sid, kind, kind);
}

static void candidate_text(char *buf, size_t len, const char *sid, int i)
{
    snprintf(buf, len, "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\",\"candidate\":"
             "{\"candidate\":\"candidate:%d 1 udp 2122260223 127.0.0.1 5%04d typ host\","
             "\"sdpMid\":\"0\",\"sdpMLineIndex\":0}}", sid, i, i);
}

/* redis-cli's answer to a command on the fixture's Redis (first line,
 * malloc'd). */
static char *redis_cli(const char *command)
{
    char cmd[256], line[256] = "";
    snprintf(cmd, sizeof cmd, "redis-cli -p %d %s 2>&1", fx.redis_port, command);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(line, sizeof line, p))
        line[0] = '\0';
    pclose(p);
    line[strcspn(line, "\n")] = '\0';
    return strdup(line);
}

/* ---- tests ---- */

static void test_presence_keys_hold_the_registration(void **state)
{
    (void)state;
    struct wsc *robot = harness_robot(port(A), "r-key", "{\"model\":\"sim\"}");
    struct wsc *client = harness_client(port(B), "c-key", NULL);
    usleep(200 * 1000);
    const char *checks[][2] = {
        {"HGET porthole:robot:r-key inst", "A"},
        {"HGET porthole:robot:r-key info", "{\"model\":\"sim\"}"},
        {"HGET porthole:robot:r-key conn", "127.0.0.1"},
        {"HGET porthole:clients:B c-key", "127.0.0.1"},
        {"EXISTS porthole:inst:C", "1"},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        char *got = redis_cli(checks[i][0]);
        if (strcmp(got, checks[i][1]) != 0)
            fail_msg("redis-cli %s: '%s', expected '%s'", checks[i][0], got, checks[i][1]);
        free(got);
    }
    char *ttl = redis_cli("TTL porthole:robot:r-key");
    assert_true(atoi(ttl) > 0 && atoi(ttl) <= 15);
    free(ttl);
    ttl = redis_cli("TTL porthole:clients:B");
    assert_true(atoi(ttl) > 0 && atoi(ttl) <= 15);
    free(ttl);
    /* Gone with its connection: the key is deleted, not left to expire. */
    wsc_close(robot);
    wsc_close(client);
    usleep(300 * 1000);
    char *gone = redis_cli("EXISTS porthole:robot:r-key");
    assert_string_equal(gone, "0");
    free(gone);
    gone = redis_cli("HEXISTS porthole:clients:B c-key");
    assert_string_equal(gone, "0");
    free(gone);
}


static void test_session_between_instances(void **state)
{
    (void)state;
    struct wsc *robot = harness_robot(port(A), "r-across", NULL);
    struct wsc *client = client_seeing(B, "c-across", "r-across");
    char *sid = harness_open_session(client, robot, "r-across");
    char text[512];
    offer_text(text, sizeof text, sid, "webrtc-offer", "offer");
    relay(robot, client, text);
    offer_text(text, sizeof text, sid, "webrtc-answer", "answer");
    relay(client, robot, text);
    for (int i = 0; i < 5; i++) {
        candidate_text(text, sizeof text, sid, i);
        relay(robot, client, text);
        relay(client, robot, text);
    }
    wsc_sendf(client, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}", sid);
    json_t *m = harness_expect_next(robot, "session-closed");
    harness_assert_str(m, "reason", "closed-by-client");
    json_decref(m);
    m = harness_expect_next(client, "session-closed");
    harness_assert_str(m, "sessionId", sid);
    json_decref(m);
    /* The session is gone everywhere: a late candidate finds nothing. */
    candidate_text(text, sizeof text, sid, 9);
    wsc_send_text(client, text);
    json_decref(harness_expect_error(client, "unknown-session", "ice-candidate"));
    harness_expect_silence(robot);
    free(sid);
}

static void test_robot_request_between_instances(void **state)
{
    (void)state;
    struct wsc *robot = harness_robot(port(A), "r-api", NULL);
    struct wsc *client = client_seeing(C, "c-api", "r-api");
    wsc_sendf(client, "{\"type\":\"robot-request\",\"requestId\":\"q1\",\"robotId\":\"r-api\","
              "\"method\":\"GET\",\"path\":\"/api/devices\"}");
    json_t *q = harness_expect_next(robot, "robot-request");
    harness_assert_str(q, "path", "/api/devices");
    harness_assert_str(q, "clientId", "c-api");
    wsc_sendf(robot, "{\"type\":\"robot-response\",\"requestId\":\"%s\",\"status\":200,"
              "\"body\":{\"devices\":[]}}", json_string_value(json_object_get(q, "requestId")));
    json_decref(q);
    json_t *r = harness_expect_next(client, "robot-response");
    harness_assert_str(r, "requestId", "q1");
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 200);
    assert_true(json_is_array(json_object_get(json_object_get(r, "body"), "devices")));
    json_decref(r);
    /* The same over the HTTP proxy of a third instance. */
    struct wsc *h = http_send(port(B), "GET", "/api/robots/r-api/devices", NULL, NULL,
                              false, WAIT);
    assert_non_null(h);
    q = harness_expect_next(robot, "robot-request");
    harness_assert_str(q, "method", "GET");
    harness_assert_str(q, "path", "/api/devices");
    wsc_sendf(robot, "{\"type\":\"robot-response\",\"requestId\":\"%s\",\"status\":201,"
              "\"body\":{\"via\":\"http\"}}", json_string_value(json_object_get(q, "requestId")));
    json_decref(q);
    struct http_response resp;
    assert_int_equal(http_recv(h, "GET", WAIT, &resp), 0);
    assert_int_equal(resp.status, 201);
    assert_non_null(strstr(resp.body, "\"via\":\"http\""));
    http_response_free(&resp);
    wsc_abort(h);
    /* A robot that never was: the answer of an offline robot, at once. */
    wsc_sendf(client, "{\"type\":\"robot-request\",\"requestId\":\"q2\",\"robotId\":\"nobody\","
              "\"method\":\"GET\",\"path\":\"/api/devices\"}");
    r = harness_expect_next(client, "robot-response");
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 503);
    json_decref(r);
}

static void test_presence_reaches_every_instance_once(void **state)
{
    (void)state;
    struct wsc *clients[CLUSTERFIX_INSTANCES];
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        clients[i] = harness_client(port(i), harness_name("viewer"), NULL);
    struct wsc *robot = harness_robot(port(A), "r-once", NULL);
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        expect_presence(clients[i], "r-once", true, WAIT);
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        harness_expect_silence(clients[i]);
    wsc_close(robot);
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        expect_presence(clients[i], "r-once", false, WAIT);
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        harness_expect_silence(clients[i]);
    /* A late client of any instance gets the list without it. */
    json_t *avail;
    struct wsc *late = harness_client(port(C), "c-late", &avail);
    assert_int_equal(json_array_size(json_object_get(avail, "robots")), 0);
    json_decref(avail);
    wsc_close(late);
}

static void test_ownership_holds_across_instances(void **state)
{
    (void)state;
    struct wsc *robot = harness_robot(port(A), "r-own", NULL);
    struct wsc *owner = client_seeing(B, "c-owner", "r-own");
    char *sid = harness_open_session(owner, robot, "r-own");
    /* Another client, on another instance or on the robot's own. */
    struct wsc *intruders[] = {harness_client(port(C), "c-intruder", NULL),
                               harness_client(port(A), "c-intruder-a", NULL),
                               harness_client(port(B), "c-intruder-b", NULL)};
    char text[512];
    for (size_t i = 0; i < 3; i++) {
        offer_text(text, sizeof text, sid, "webrtc-answer", "answer");
        wsc_send_text(intruders[i], text);
        json_decref(harness_expect_error(intruders[i], "unknown-session", "webrtc-answer"));
        candidate_text(text, sizeof text, sid, 1);
        wsc_send_text(intruders[i], text);
        json_decref(harness_expect_error(intruders[i], "unknown-session", "ice-candidate"));
        wsc_sendf(intruders[i], "{\"type\":\"close-session\",\"sessionId\":\"%s\"}", sid);
        json_decref(harness_expect_error(intruders[i], "unknown-session", "close-session"));
    }
    /* A robot of another instance cannot inject into the session. */
    struct wsc *other = harness_robot(port(B), "r-other", NULL);
    offer_text(text, sizeof text, sid, "webrtc-offer", "offer");
    wsc_send_text(other, text);
    json_decref(harness_expect_error(other, "unknown-session", "webrtc-offer"));
    expect_presence(owner, "r-other", true, WAIT);
    /* The robot id is one over every instance. */
    assert_null(try_robot(port(C), "r-own"));
    /* Nothing reached the session's two peers, which still talk. */
    harness_expect_silence(robot);
    offer_text(text, sizeof text, sid, "webrtc-offer", "offer");
    relay(robot, owner, text);
    free(sid);
}

static void test_killed_instance_robots_come_back(void **state)
{
    (void)state;
    struct wsc *robot = harness_robot(port(A), "r-phoenix", NULL);
    struct wsc *viewer = client_seeing(B, "c-watcher", "r-phoenix");
    char *sid = harness_open_session(viewer, robot, "r-phoenix");
    long t0 = now_ms();
    kill(fx.clouds[A].pid, SIGKILL);
    waitpid(fx.clouds[A].pid, NULL, 0);
    fx.clouds[A].pid = 0;
    wsc_abort(robot);
    /* The robot keeps trying B and C, as porthole-robot does. */
    struct wsc *again = NULL;
    for (int i = 0; !again && now_ms() - t0 < 35000; i++) {
        again = try_robot(port(i % 2 ? C : B), "r-phoenix");
        if (!again)
            usleep(500 * 1000);
    }
    if (!again)
        fail_msg("robot not registered again on B or C within 35 s");
    fprintf(stderr, "robot registered again %ld ms after the kill\n", now_ms() - t0);
    /* The viewer saw the session end and the robot go, then come back. */
    json_t *m = harness_expect_next(viewer, "session-closed");
    harness_assert_str(m, "sessionId", sid);
    harness_assert_str(m, "reason", "peer-disconnected");
    json_decref(m);
    expect_presence(viewer, "r-phoenix", false, WAIT);
    expect_presence(viewer, "r-phoenix", true, WAIT);
    harness_expect_silence(viewer);
    free(sid);
}

static void test_redis_outage_degrades_and_recovers(void **state)
{
    (void)state;
    struct wsc *robot = harness_robot(port(A), "r-steady", NULL);
    struct wsc *viewer = client_seeing(B, "c-steady", "r-steady");
    char *sid = harness_open_session(viewer, robot, "r-steady");
    clusterfix_redis_kill(&fx);
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        assert_true(clusterfix_wait_body(port(i), "/health", "\"status\":\"degraded\"", 5000));
    /* Local service goes on: a viewer of A opens a session with the robot. */
    struct wsc *local = harness_client(port(A), "c-local", NULL);
    char *local_sid = harness_open_session(local, robot, "r-steady");
    /* 30 s without Redis; every instance retries meanwhile. */
    const char *slow = getenv("CLUSTER_OUTAGE_S");
    sleep(slow ? (unsigned)atoi(slow) : 30);
    assert_int_equal(clusterfix_redis_restart(&fx), 0);
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        assert_true(clusterfix_wait_body(port(i), "/health", "\"status\":\"ok\"", 10000));
    /* No registration lost: the robot is listed everywhere; no event
     * repeated or invented: the viewer heard nothing. */
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        assert_true(clusterfix_wait_body(port(i), "/robots", "\"robotId\":\"r-steady\"", WAIT));
    harness_expect_silence(viewer);
    /* The new Redis, empty at first, holds the registrations again. */
    char *key = redis_cli("HGET porthole:robot:r-steady inst");
    assert_string_equal(key, "A");
    free(key);
    key = redis_cli("HGET porthole:clients:B c-steady");
    assert_string_equal(key, "127.0.0.1");
    free(key);
    /* The session opened before the outage still carries signaling. */
    char text[512];
    candidate_text(text, sizeof text, sid, 3);
    relay(viewer, robot, text);
    relay(robot, viewer, text);
    /* And new cross-instance sessions open. */
    struct wsc *fresh = harness_client(port(C), "c-fresh", NULL);
    char *fresh_sid = harness_open_session(fresh, robot, "r-steady");
    free(fresh_sid);
    free(local_sid);
    free(sid);
}

static void test_haproxy_in_front_of_three(void **state)
{
    (void)state;
    if (!clusterfix_available(true))
        skip();
    assert_int_equal(clusterfix_haproxy_start(&fx), 0);
    int lb = fx.lb_port;
    assert_true(clusterfix_wait_body(lb, "/health", "\"status\":\"ok\"", 5000));
    /* Round robin: the robot and the viewers land on different instances;
     * every viewer reaches the robot all the same. */
    struct wsc *robot = harness_robot(lb, "r-lb", NULL);
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        assert_true(clusterfix_wait_body(port(i), "/robots", "\"robotId\":\"r-lb\"", WAIT));
    for (int i = 0; i < 4; i++) {
        char id[32];
        snprintf(id, sizeof id, "c-lb-%d", i);
        struct wsc *viewer = harness_client(lb, id, NULL);
        char *sid = harness_open_session(viewer, robot, "r-lb");
        char text[512];
        offer_text(text, sizeof text, sid, "webrtc-offer", "offer");
        relay(robot, viewer, text);
        offer_text(text, sizeof text, sid, "webrtc-answer", "answer");
        relay(viewer, robot, text);
        wsc_close(viewer);
        json_t *m = harness_expect_next(robot, "session-closed");
        harness_assert_str(m, "reason", "peer-disconnected");
        json_decref(m);
        free(sid);
    }
    /* An instance that stops leaves the pool: /health keeps answering. */
    assert_int_equal(harness_stop(&fx.clouds[C]), 0);
    for (int i = 0; i < 6; i++)
        assert_true(clusterfix_wait_body(lb, "/health", "\"status\":\"ok\"", 3000));
}

/* The worker processes of the master (its children but redis-server). */
static size_t workers_of(pid_t master, pid_t *out, size_t max)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)master, (int)master);
    FILE *f = fopen(path, "r");
    size_t n = 0, len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[len] = '\0';
    for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t && n < max;
         t = strtok_r(NULL, " \n", &save)) {
        char comm[64] = "";
        snprintf(path, sizeof path, "/proc/%s/comm", t);
        FILE *c = fopen(path, "r");
        if (c) {
            if (!fgets(comm, sizeof comm, c))
                comm[0] = '\0';
            fclose(c);
        }
        if (!strstr(comm, "redis"))
            out[n++] = (pid_t)atoi(t);
    }
    return n;
}

/* Viewers land on either worker (the kernel spreads connections); every
 * one reaches the robot, wherever it landed. */
static void sessions_through_workers(int p, const char *robot_id)
{
    struct wsc *robot = harness_robot(p, robot_id, NULL);
    char needle[96];
    snprintf(needle, sizeof needle, "\"robotId\":\"%s\"", robot_id);
    for (int i = 0; i < 8; i++) {
        /* The robot's worker may not have told the viewer's yet: the
         * viewer waits for it as a page does, list or robot-available. */
        json_t *list;
        struct wsc *viewer = harness_client(p, harness_name("wv"), &list);
        char *listed = json_dumps(list, JSON_COMPACT);
        if (!listed || !strstr(listed, needle))
            expect_presence(viewer, robot_id, true, WAIT);
        free(listed);
        json_decref(list);
        char *sid = harness_open_session(viewer, robot, robot_id);
        char text[512];
        offer_text(text, sizeof text, sid, "webrtc-offer", "offer");
        relay(robot, viewer, text);
        wsc_close(viewer);
        json_decref(harness_expect_next(robot, "session-closed"));
        free(sid);
    }
    wsc_close(robot);
}

static void workers_case(const char *const *args)
{
    assert_int_equal(harness_start(&fx.clouds[A], args), 0);
    pid_t w[8];
    for (int i = 0; i < 50 && workers_of(fx.clouds[A].pid, w, 8) < 2; i++)
        usleep(100 * 1000);
    assert_int_equal(workers_of(fx.clouds[A].pid, w, 8), 2);
    sessions_through_workers(port(A), harness_name("wr"));
    /* SIGHUP: both replaced, one at a time; the port answers throughout. */
    kill(fx.clouds[A].pid, SIGHUP);
    long until = now_ms() + 20000;
    pid_t now[8];
    size_t n;
    int polls = 0;
    do {
        assert_true(clusterfix_wait_body(port(A), "/health", "\"status\"", 1000));
        polls++;
        n = workers_of(fx.clouds[A].pid, now, 8);
    } while (now_ms() < until &&
             !(n == 2 && now[0] != w[0] && now[0] != w[1] && now[1] != w[0] && now[1] != w[1]));
    assert_int_equal(n, 2);
    assert_true(now[0] != w[0] && now[0] != w[1] && now[1] != w[0] && now[1] != w[1]);
    fprintf(stderr, "workers %d %d replaced by %d %d; /health answered %d times meanwhile\n",
                    (int)w[0], (int)w[1], (int)now[0], (int)now[1], polls);
    sessions_through_workers(port(A), harness_name("wr"));
}

static void test_workers_share_the_port_through_redis(void **state)
{
    (void)state;
    const char *args[] = {"--workers", "2", "--store", fx.store, "--instance-id", "W", NULL};
    workers_case(args);
}

static void test_workers_without_store_share_a_private_redis(void **state)
{
    (void)state;
    const char *args[] = {"--workers", "2", NULL};
    workers_case(args);
}

/* `porthole-cloud token --auth-secret SECRET ARGS...`, malloc'd. */
static char *mint(const char *const *args)
{
    const char *argv[32] = {"token", "--auth-secret", SECRET};
    size_t n = 3;
    for (size_t i = 0; args[i] && n + 1 < 32; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    if (harness_run(argv, 5000, &out, &err) != 0)
        fail_msg("porthole-cloud token failed: %s", err);
    free(err);
    out[strcspn(out, "\n")] = '\0';
    return out;
}

#define MINT(...) mint((const char *const[]){__VA_ARGS__, NULL})

static struct wsc *viewer_with(int p, const char *sub, const char *robots, const char *scope)
{
    char *token = MINT("--role", "viewer", "--sub", sub, "--robots", robots, "--scope", scope);
    struct wsc *c = wsc_connect(p, "/ws", WAIT);
    assert_non_null(c);
    wsc_sendf(c, "{\"type\":\"client-register\",\"token\":\"%s\"}", token);
    free(token);
    json_decref(harness_expect_next(c, "available-robots"));
    return c;
}

static void test_tokens_decide_across_instances(void **state)
{
    (void)state;
    char *rt = MINT("--role", "robot", "--robot-id", "r-tok");
    struct wsc *robot = wsc_connect(port(A), "/ws", WAIT);
    wsc_sendf(robot, "{\"type\":\"robot-register\",\"robotId\":\"r-tok\",\"token\":\"%s\"}",
              rt);
    free(rt);
    json_decref(harness_expect_next(robot, "registered"));
    /* Every instance knows the robot before the viewers come. */
    for (int i = B; i <= C; i++)
        assert_true(clusterfix_wait_body(port(i), "/health", "\"status\":\"ok\"", WAIT));
    usleep(300 * 1000);
    /* A viewer whose token does not name the robot: offline for it. */
    struct wsc *alice = viewer_with(port(B), "alice", "other-*", "control");
    wsc_sendf(alice, "{\"type\":\"create-session\",\"robotId\":\"r-tok\","
              "\"streamTypes\":[\"color\"]}");
    json_t *m = harness_expect_next(alice, "session-error");
    harness_assert_str(m, "code", "robot-not-found");
    json_decref(m);
    wsc_sendf(alice, "{\"type\":\"robot-request\",\"requestId\":\"a1\",\"robotId\":\"r-tok\","
              "\"method\":\"GET\",\"path\":\"/api/devices\"}");
    m = harness_expect_next(alice, "robot-response");
    assert_int_equal(json_integer_value(json_object_get(m, "status")), 503);
    json_decref(m);
    /* Watch scope: a session yes, the robot's API no (decided on A, from
     * the claims B forwarded). */
    struct wsc *bob = viewer_with(port(C), "bob", "r-*", "watch");
    char *sid = harness_open_session(bob, robot, "r-tok");
    free(sid);
    wsc_sendf(bob, "{\"type\":\"robot-request\",\"requestId\":\"b1\",\"robotId\":\"r-tok\","
              "\"method\":\"GET\",\"path\":\"/api/devices\"}");
    m = harness_expect_next(bob, "robot-response");
    assert_int_equal(json_integer_value(json_object_get(m, "status")), 403);
    json_decref(m);
    /* Control scope: the robot learns who asks, across instances. */
    struct wsc *carol = viewer_with(port(B), "carol", "r-tok", "control");
    wsc_sendf(carol, "{\"type\":\"robot-request\",\"requestId\":\"c1\",\"robotId\":\"r-tok\","
              "\"method\":\"GET\",\"path\":\"/api/devices\"}");
    json_t *q = harness_expect_next(robot, "robot-request");
    json_t *caller = json_object_get(q, "caller");
    harness_assert_str(caller, "sub", "carol");
    harness_assert_str(caller, "scope", "control");
    json_decref(q);
    harness_expect_silence(alice);
}

int main(void)
{
    if (!clusterfix_available(false)) {
        printf("SKIPPED: redis-server is not installed\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_presence_keys_hold_the_registration, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_between_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robot_request_between_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_presence_reaches_every_instance_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ownership_holds_across_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_decide_across_instances, setup_auth,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_haproxy_in_front_of_three, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_instance_robots_come_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_outage_degrades_and_recovers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_workers_share_the_port_through_redis, setup_redis,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_workers_without_store_share_a_private_redis,
                                        setup_redis, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
