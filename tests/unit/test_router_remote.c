/* test_router_remote.c - the router's side of several instances
 * (router.h, "several instances"), without Redis: two routers, A (the
 * robot's) and B (the viewer's), joined by a fake cluster that queues
 * what B forwards and what A sends B's clients' stand-ins, and delivers
 * it when the test pumps, as Redis would, later. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cloud/codec_json.h"
#include "cloud/router.h"

#define MAX_MSGS 64
#define MAX_QUEUE 64

struct conn {
    struct peer *peer;
    char *msgs[MAX_MSGS];
    size_t nmsgs, read;
    int close_code;
};

/* One message in flight between the two routers. */
struct flight {
    bool to_a;              /* a forward to A; else a delivery to B */
    char client[64];
    char *text;
};

struct world {
    struct registry reg_a, reg_b;
    struct router *a, *b;
    struct transport tx, remote_tx;
    struct router_cluster cl_a, cl_b;
    struct router_config cfg_a, cfg_b;
    struct conn robot, viewer, other, stand_in;
    bool stand_in_open;
    bool robot_elsewhere;   /* what B's cluster says of "r1" */
    char sid[64];           /* the session B's viewer opened on A */
    unsigned r1_sessions;   /* what A's router last told its cluster of r1 */
    unsigned r1_remote_sessions; /* what B's cluster says r1 has on A */
    struct flight q[MAX_QUEUE];
    size_t nq;
};

static struct world *W;

static int conn_send(void *conn, struct outbuf *b)
{
    struct conn *c = conn;
    if (c->nmsgs == MAX_MSGS)
        return -1;
    c->msgs[c->nmsgs++] = strndup((const char *)outbuf_payload(b), b->len);
    return 0;
}

static void conn_close(void *conn, int code, const char *reason)
{
    (void)reason;
    ((struct conn *)conn)->close_code = code;
}

static void enqueue(bool to_a, const char *client, const char *text, size_t len)
{
    assert_true(W->nq < MAX_QUEUE);
    struct flight *f = &W->q[W->nq++];
    f->to_a = to_a;
    snprintf(f->client, sizeof f->client, "%s", client);
    f->text = strndup(text, len);
}

/* A's stand-in of B's viewer: what A sends it goes to B, later. */
static int stand_in_send(void *conn, struct outbuf *b)
{
    (void)conn;
    enqueue(false, "viewer", (const char *)outbuf_payload(b), b->len);
    return 0;
}

static void stand_in_close(void *conn, int code, const char *reason)
{
    conn_close(conn, code, reason);
}

/* ---- the fake cluster ---- */

static void nop_robot_up(void *self, const char *id, const char *info, int64_t at,
                         const char *addr, bool take_over)
{
    (void)self, (void)id, (void)info, (void)at, (void)addr, (void)take_over;
}
static void nop_id(void *self, const char *id) { (void)self, (void)id; }
static void nop_client_up(void *self, const char *id, const char *addr)
{
    (void)self, (void)id, (void)addr;
}
static bool never(void *self) { (void)self; return false; }
static bool none_elsewhere(void *self, const char *id) { (void)self, (void)id; return false; }

static bool b_elsewhere(void *self, const char *id)
{
    (void)self;
    return W->robot_elsewhere && strcmp(id, "r1") == 0;
}

/* B knows r1 is on A, and the sessions its viewer opened there (the real
 * cluster learns them from session-created deliveries). */
static bool b_forward(void *self, const char *client, const struct token_claims *claims,
                      const char *robot_id, const char *sid, const char *text, size_t len)
{
    (void)self, (void)claims;
    bool known = robot_id ? strcmp(robot_id, "r1") == 0
                          : strcmp(client, "viewer") == 0 && W->sid[0] && strcmp(sid, W->sid) == 0;
    if (known)
        enqueue(true, client, text, len);
    return known;
}

static bool a_forward(void *self, const char *client, const struct token_claims *claims,
                      const char *robot_id, const char *sid, const char *text, size_t len)
{
    (void)self, (void)client, (void)claims, (void)robot_id, (void)sid, (void)text, (void)len;
    return false;
}

static void b_foreach(void *self, router_remote_visit_fn fn, void *arg)
{
    (void)self;
    const struct router_remote_robot r1 = {.id = "r1", .device_info = "{\"model\":\"sim\"}",
                                           .connected_at_ms = 1700000000000,
                                           .sessions = W->r1_remote_sessions};
    fn(&r1, arg);
}

static void a_robot_sessions(void *self, const char *id, unsigned n)
{
    (void)self;
    assert_string_equal(id, "r1");
    W->r1_sessions = n;
}

static void no_robots(void *self, router_remote_visit_fn fn, void *arg)
{
    (void)self, (void)fn, (void)arg;
}

static bool no_http(void *self, const char *token, const char *robot_id, const char *method,
                    const char *path, json_t *body, const struct token_claims *caller)
{
    (void)self, (void)token, (void)robot_id, (void)method, (void)path, (void)body, (void)caller;
    return false;
}
static void nop_forget(void *self, const char *token) { (void)self, (void)token; }

/* Delivers everything in flight (and what that produces), in order. */
static void pump(void)
{
    for (size_t i = 0; i < W->nq; i++) {
        struct flight *f = &W->q[i];
        if (f->to_a) {
            if (!W->stand_in_open) {
                W->stand_in.peer = router_remote_open(W->a, &W->stand_in, f->client, NULL, "B",
                                                      1000);
                assert_non_null(W->stand_in.peer);
                W->stand_in_open = true;
            }
            router_peer_message(W->a, W->stand_in.peer, f->text, strlen(f->text), 1000);
        } else {
            json_t *m = json_loads(f->text, 0, NULL);
            const char *type = json_string_value(json_object_get(m, "type"));
            if (type && strcmp(type, "session-created") == 0)
                snprintf(W->sid, sizeof W->sid, "%s",
                         json_string_value(json_object_get(m, "sessionId")));
            json_decref(m);
            router_deliver(W->b, f->client, f->text, strlen(f->text));
        }
        free(f->text);
    }
    W->nq = 0;
}

static int setup(void **state)
{
    W = calloc(1, sizeof *W);
    assert_non_null(W);
    W->tx = (struct transport){.send = conn_send, .close = conn_close};
    W->remote_tx = (struct transport){.send = stand_in_send, .close = stand_in_close};
    const struct router_cluster base = {
        .robot_up = nop_robot_up, .robot_down = nop_id, .client_up = nop_client_up,
        .client_down = nop_id, .degraded = never, .forward_http = no_http,
        .forget_http = nop_forget, .tx = &W->remote_tx};
    W->cl_a = base;
    W->cl_a.robot_elsewhere = none_elsewhere;
    W->cl_a.forward = a_forward;
    W->cl_a.foreach_robot = no_robots;
    W->cl_a.robot_sessions = a_robot_sessions;
    W->cl_b = base;
    W->cl_b.robot_elsewhere = b_elsewhere;
    W->cl_b.forward = b_forward;
    W->cl_b.foreach_robot = b_foreach;
    const struct router_config cfg = {.max_client_sessions = 4, .max_robot_sessions = 4,
                                      .request_timeout_s = 2, .max_pending_requests = 3};
    W->cfg_a = cfg;
    W->cfg_a.cluster = &W->cl_a;
    W->cfg_b = cfg;
    W->cfg_b.cluster = &W->cl_b;
    assert_int_equal(registry_mem_new(&W->reg_a), 0);
    assert_int_equal(registry_mem_new(&W->reg_b), 0);
    W->a = router_new(&W->cfg_a, &W->tx, &auth_open, &W->reg_a);
    W->b = router_new(&W->cfg_b, &W->tx, &auth_open, &W->reg_b);
    W->robot.peer = router_peer_open(W->a, &W->robot, &codec_json, "127.0.0.1", 1000);
    W->viewer.peer = router_peer_open(W->b, &W->viewer, &codec_json, "127.0.0.1", 1000);
    W->other.peer = router_peer_open(W->b, &W->other, &codec_json, "127.0.0.1", 1000);
    *state = W;
    return 0;
}

static void free_msgs(struct conn *c)
{
    for (size_t i = 0; i < c->nmsgs; i++)
        free(c->msgs[i]);
}

static int teardown(void **state)
{
    (void)state;
    if (W->stand_in_open)
        router_peer_closed(W->a, W->stand_in.peer);
    router_peer_closed(W->a, W->robot.peer);
    router_peer_closed(W->b, W->viewer.peer);
    router_peer_closed(W->b, W->other.peer);
    pump();
    router_free(W->a);
    router_free(W->b);
    registry_free(&W->reg_a);
    registry_free(&W->reg_b);
    free_msgs(&W->robot);
    free_msgs(&W->viewer);
    free_msgs(&W->other);
    free_msgs(&W->stand_in);
    free(W);
    return 0;
}

static void say(struct router *r, struct conn *c, const char *text)
{
    router_peer_message(r, c->peer, text, strlen(text), 1000);
}

/* The next message c got, which must contain want. */
static void expect(struct conn *c, const char *want)
{
    if (c->read >= c->nmsgs)
        fail_msg("expected a message with %s, got none", want);
    const char *m = c->msgs[c->read++];
    if (!strstr(m, want))
        fail_msg("expected a message with %s, got %s", want, m);
}

static void expect_none(struct conn *c)
{
    if (c->read < c->nmsgs)
        fail_msg("expected nothing, got %s", c->msgs[c->read]);
}

static void register_both(void)
{
    say(W->a, &W->robot, "{\"type\":\"robot-register\",\"robotId\":\"r1\"}");
    expect(&W->robot, "\"registered\"");
    say(W->b, &W->viewer, "{\"type\":\"client-register\",\"clientId\":\"viewer\"}");
    expect(&W->viewer, "\"available-robots\"");
    say(W->b, &W->other, "{\"type\":\"client-register\",\"clientId\":\"other\"}");
    expect(&W->other, "\"available-robots\"");
}

static void open_session(void)
{
    say(W->b, &W->viewer,
        "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"color\"]}");
    expect_none(&W->viewer); /* forwarded: nothing until A answers */
    pump();
    expect(&W->robot, "\"create-session\"");
    expect(&W->viewer, "\"session-created\"");
    assert_true(W->sid[0]);
}

static void test_other_instances_robots_are_listed(void **state)
{
    (void)state;
    say(W->b, &W->viewer, "{\"type\":\"client-register\",\"clientId\":\"viewer\"}");
    expect(&W->viewer, "\"robotId\":\"r1\",\"deviceInfo\":{\"model\":\"sim\"}");
}

static void test_session_with_a_robot_of_another_instance(void **state)
{
    (void)state;
    register_both();
    open_session();
    char text[256];
    snprintf(text, sizeof text, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":"
             "{\"type\":\"offer\",\"sdp\":\"v=0\"}}", W->sid);
    say(W->a, &W->robot, text);
    pump();
    expect(&W->viewer, text); /* byte for byte */
    snprintf(text, sizeof text, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":"
             "{\"type\":\"answer\",\"sdp\":\"v=0\"}}", W->sid);
    say(W->b, &W->viewer, text);
    pump();
    expect(&W->robot, text);
}

static void test_another_client_cannot_use_a_remote_session(void **state)
{
    (void)state;
    register_both();
    open_session();
    char text[256];
    snprintf(text, sizeof text, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}", W->sid);
    say(W->b, &W->other, text);
    expect(&W->other, "\"unknown-session\"");
    pump();
    expect_none(&W->robot);
}

static void test_robot_request_waits_on_the_robots_instance(void **state)
{
    (void)state;
    register_both();
    say(W->b, &W->viewer, "{\"type\":\"robot-request\",\"requestId\":\"q1\",\"robotId\":\"r1\","
                          "\"method\":\"GET\",\"path\":\"/api/devices\"}");
    pump();
    assert_true(W->robot.read < W->robot.nmsgs);
    json_t *q = json_loads(W->robot.msgs[W->robot.read++], 0, NULL);
    assert_string_equal(json_string_value(json_object_get(q, "clientId")), "viewer");
    char text[256];
    snprintf(text, sizeof text, "{\"type\":\"robot-response\",\"requestId\":\"%s\","
             "\"status\":200,\"body\":{}}", json_string_value(json_object_get(q, "requestId")));
    json_decref(q);
    say(W->a, &W->robot, text);
    pump();
    expect(&W->viewer, "\"requestId\":\"q1\"");
}

static void test_robot_id_held_on_another_instance_is_refused(void **state)
{
    (void)state;
    W->robot_elsewhere = true;
    struct conn c = {0};
    c.peer = router_peer_open(W->b, &c, &codec_json, "127.0.0.1", 1000);
    say(W->b, &c, "{\"type\":\"robot-register\",\"robotId\":\"r1\"}");
    expect(&c, "\"robot-id-in-use\"");
    router_peer_closed(W->b, c.peer);
    free_msgs(&c);
}

static void test_deliveries_reach_only_registered_clients(void **state)
{
    (void)state;
    assert_false(router_deliver(W->b, "viewer", "{\"type\":\"x\"}", 12));
    register_both();
    assert_true(router_deliver(W->b, "viewer", "{\"type\":\"x\"}", 12));
    expect(&W->viewer, "{\"type\":\"x\"}");
}

static void test_robot_session_count_reaches_the_cluster(void **state)
{
    (void)state;
    register_both();
    open_session();
    assert_int_equal(W->r1_sessions, 1);
    char text[160];
    snprintf(text, sizeof text, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}", W->sid);
    say(W->b, &W->viewer, text);
    pump();
    assert_int_equal(W->r1_sessions, 0);
}

static void test_remote_robot_lists_its_instances_session_count(void **state)
{
    (void)state;
    W->r1_remote_sessions = 3;
    json_t *list = router_robots_json(W->b, NULL);
    assert_int_equal(json_array_size(list), 1);
    json_t *r1 = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(r1, "robotId")), "r1");
    assert_int_equal(json_integer_value(json_object_get(r1, "sessions")), 3);
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_other_instances_robots_are_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_with_a_robot_of_another_instance, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_another_client_cannot_use_a_remote_session, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_robot_request_waits_on_the_robots_instance, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_robot_id_held_on_another_instance_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_deliveries_reach_only_registered_clients, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_robot_session_count_reaches_the_cluster, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_remote_robot_lists_its_instances_session_count,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
