/* test_cloud_cluster_robots.c - robots of several porthole-cloud instances
 * on one real Redis (cluster.h): a robot with a valid token takes its id
 * over from another instance as it would on one instance (the old
 * connection closed with the same reason, viewers everywhere told
 * robot-unavailable then robot-available, the presence key moved), and
 * /robots shows a remote robot's open sessions as its own instance does,
 * and one id registered without a token on two instances at once ends
 * with one holder.
 * Each test gets a fresh Redis and fresh instances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clusterfix.h"
#include "harness.h"
#include "wsclient.h"

#define WAIT HARNESS_WAIT_MS
#define A 0
#define B 1
#define C 2
#define SECRET "cluster-test-secret-0123456789-abcdefghijklmnop"

static struct clusterfix fx;

static int setup(void **state)
{
    (void)state;
    return clusterfix_start(&fx, NULL);
}

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

static struct wsc *viewer(int p, const char *sub)
{
    char *token = MINT("--role", "viewer", "--sub", sub, "--robots", "r-*", "--scope", "control");
    struct wsc *c = wsc_connect(p, "/ws", WAIT);
    assert_non_null(c);
    wsc_sendf(c, "{\"type\":\"client-register\",\"token\":\"%s\"}", token);
    free(token);
    json_decref(harness_expect_next(c, "available-robots"));
    return c;
}

/* A robot registered as robot_id with token on instance i. */
static struct wsc *robot_with(int i, const char *robot_id, const char *token)
{
    struct wsc *c = wsc_connect(port(i), "/ws", WAIT);
    assert_non_null(c);
    wsc_sendf(c, "{\"type\":\"robot-register\",\"robotId\":\"%s\",\"deviceInfo\":{\"n\":%d},"
              "\"token\":\"%s\"}", robot_id, i, token);
    json_decref(harness_expect_next(c, "registered"));
    return c;
}

/* The types of the messages c receives within ms, in order, each followed
 * by a space ("robot-unavailable robot-available "), into out. */
static void collect_types(struct wsc *c, int ms, char *out, size_t len)
{
    int64_t end = wsc_now_ms() + ms;
    size_t n = 0;
    out[0] = '\0';
    for (int64_t left; (left = end - wsc_now_ms()) > 0;) {
        json_t *m = wsc_recv_json(c, (int)left);
        if (!m)
            break;
        const char *type = json_string_value(json_object_get(m, "type"));
        n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s ", type ? type : "?");
        json_decref(m);
    }
}

/* redis-cli's answer to a command on the fixture's Redis (first line). */
static void redis_cli(const char *command, char *line, size_t len)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "redis-cli -p %d %s 2>&1", fx.redis_port, command);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(line, (int)len, p))
        line[0] = '\0';
    pclose(p);
    line[strcspn(line, "\n")] = '\0';
}

/* Polls /robots of instance i until it lists robot_id with n sessions. */
static bool robots_show_sessions(int i, const char *robot_id, int n)
{
    char needle[128];
    snprintf(needle, sizeof needle, "\"robotId\":\"%s\"", robot_id);
    int64_t end = wsc_now_ms() + WAIT;
    do {
        struct http_response r;
        if (http_get(port(i), "/robots", &r) == 0) {
            json_t *list = json_loads(r.body, 0, NULL);
            http_response_free(&r);
            size_t k;
            json_t *e;
            json_array_foreach(list, k, e) {
                const char *id = json_string_value(json_object_get(e, "robotId"));
                if (id && strcmp(id, robot_id) == 0 &&
                    json_integer_value(json_object_get(e, "sessions")) == n) {
                    json_decref(list);
                    return true;
                }
            }
            json_decref(list);
        }
        usleep(100 * 1000);
    } while (wsc_now_ms() < end);
    return false;
}

/* ---- tests ---- */

static void test_valid_token_takes_over_a_robot_of_another_instance(void **state)
{
    (void)state;
    struct wsc *viewers[CLUSTERFIX_INSTANCES];
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++) {
        char sub[16];
        snprintf(sub, sizeof sub, "viewer-%d", i);
        viewers[i] = viewer(port(i), sub);
    }
    char *token = MINT("--role", "robot", "--robot-id", "r-take");
    struct wsc *old = robot_with(A, "r-take", token);
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++) {
        json_t *m = wsc_expect_type(viewers[i], "robot-available", WAIT);
        assert_non_null(m);
        json_decref(m);
    }
    /* A viewer of C in a session with the robot on A. */
    char *sid = harness_open_session(viewers[C], old, "r-take");

    struct wsc *fresh = robot_with(B, "r-take", token);
    free(token);
    /* The old connection is closed as a local takeover closes it. */
    assert_int_equal(wsc_expect_close(old, WAIT), 1008);
    assert_string_equal(wsc_close_reason(old), "replaced by a newer connection");
    /* Every instance's viewers: the old robot went, the new one came,
     * once each; C's session with the old one ended. */
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++) {
        char types[512];
        collect_types(viewers[i], 1500, types, sizeof types);
        const char *want = i == C ? "robot-unavailable robot-available session-closed "
                                  : "robot-unavailable robot-available ";
        if (i == C && strcmp(types, want) != 0)
            want = "session-closed robot-unavailable robot-available ";
        if (strcmp(types, want) != 0)
            fail_msg("viewer of instance %d got: %s", i, types);
    }
    /* The presence key names B. */
    char inst[64];
    redis_cli("HGET porthole:robot:r-take inst", inst, sizeof inst);
    assert_string_equal(inst, "B");
    /* The new robot serves a viewer of A (across instances). */
    char *sid2 = harness_open_session(viewers[A], fresh, "r-take");
    free(sid2);
    free(sid);
}

static void test_robots_shows_a_remote_robots_sessions(void **state)
{
    (void)state;
    struct wsc *robot = harness_robot(port(A), "r-count", NULL);
    assert_true(clusterfix_wait_body(port(B), "/robots", "\"robotId\":\"r-count\"", WAIT));
    struct wsc *client = harness_client(port(B), "c-count", NULL);
    char *s1 = harness_open_session(client, robot, "r-count");
    char *s2 = harness_open_session(client, robot, "r-count");
    /* Its own instance, and the others (from the published count). */
    assert_true(robots_show_sessions(A, "r-count", 2));
    assert_true(robots_show_sessions(B, "r-count", 2));
    assert_true(robots_show_sessions(C, "r-count", 2));
    char n[32];
    redis_cli("HGET porthole:robot:r-count sessions", n, sizeof n);
    assert_string_equal(n, "2");
    wsc_sendf(client, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}", s1);
    assert_true(robots_show_sessions(C, "r-count", 1));
    assert_true(robots_show_sessions(B, "r-count", 1));
    /* An instance that comes later learns the count with the roster. */
    assert_int_equal(harness_stop(&fx.clouds[C]), 0);
    assert_int_equal(clusterfix_cloud_start(&fx, C, NULL), 0);
    assert_true(robots_show_sessions(C, "r-count", 1));
    free(s1);
    free(s2);
}

/* What robot connection c heard within ms: 1 when it was refused with
 * robot-id-in-use (at once, or after registered when another instance's
 * claim won), 0 when it was registered and nothing else came, -1 else. */
static int race_outcome(struct wsc *c, int ms)
{
    int64_t end = wsc_now_ms() + ms;
    bool registered = false, refused = false;
    for (int64_t left; (left = end - wsc_now_ms()) > 0;) {
        json_t *m = wsc_recv_json(c, (int)left);
        if (!m)
            break;
        const char *type = json_string_value(json_object_get(m, "type"));
        const char *code = json_string_value(json_object_get(m, "code"));
        if (type && strcmp(type, "registered") == 0)
            registered = true;
        else if (type && strcmp(type, "error") == 0 && code &&
                 strcmp(code, "robot-id-in-use") == 0)
            refused = true;
        json_decref(m);
    }
    return refused ? 1 : registered ? 0 : -1;
}

/* Two robots registering one id without a token on two instances at the
 * same moment: each instance's own check may see the id free, but exactly
 * one keeps it (the store's claim decides), the other is told
 * robot-id-in-use, and every instance, the loser's too, lists the robot
 * that kept it. */
static void test_one_id_registered_on_two_instances_at_once_has_one_holder(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        char id[32], inst[32], cmd[64], needle[64];
        snprintf(id, sizeof id, "r-race-%d", round);
        struct wsc *ra = wsc_connect(port(A), "/ws", WAIT), *rb = wsc_connect(port(B), "/ws", WAIT);
        assert_non_null(ra);
        assert_non_null(rb);
        wsc_sendf(ra, "{\"type\":\"robot-register\",\"robotId\":\"%s\",\"deviceInfo\":{}}", id);
        wsc_sendf(rb, "{\"type\":\"robot-register\",\"robotId\":\"%s\",\"deviceInfo\":{}}", id);
        int a = race_outcome(ra, 1500), b = race_outcome(rb, 1500);
        print_message("round %d: A %s, B %s\n", round, a == 1 ? "refused" : "kept",
                      b == 1 ? "refused" : "kept");
        assert_true((a == 0 && b == 1) || (a == 1 && b == 0));
        snprintf(cmd, sizeof cmd, "HGET porthole:robot:%s inst", id);
        redis_cli(cmd, inst, sizeof inst);
        assert_string_equal(inst, a == 0 ? "A" : "B");
        snprintf(needle, sizeof needle, "\"robotId\":\"%s\"", id);
        for (int i = A; i <= C; i++)
            assert_true(clusterfix_wait_body(port(i), "/robots", needle, WAIT));
        wsc_close(ra);
        wsc_close(rb);
    }
}

int main(void)
{
    if (!clusterfix_available(false)) {
        printf("SKIPPED: redis-server is not installed\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_token_takes_over_a_robot_of_another_instance,
                                        setup_auth, teardown),
        cmocka_unit_test_setup_teardown(test_robots_shows_a_remote_robots_sessions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_one_id_registered_on_two_instances_at_once_has_one_holder, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
