/* test_router_auth.c - the router with identities (router_auth.c through
 * router.h), driven with real tokens: a token policy (auth_jwt) with an
 * HS256 secret, tokens minted by token_mint, a recording fake transport.
 * Admission and its refusals, what a viewer may see, scopes, the caller
 * told to robots, robot id takeover, expiry, grace and refresh, sessions
 * per identity, and protected mode's address check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cloud/auth.h"
#include "cloud/auth_jwt.h"
#include "cloud/codec_json.h"
#include "cloud/router.h"
#include "cloud/token_mint.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "routerfake.h"

#define SECRET "porthole-router-auth-test-secret-0123456789"
#define GRACE_S 5

/* The router's fixture, and the policy and the keys tokens are minted with. */
struct fixture {
    struct routerfake rf;
    const struct auth *auth;
    struct keyset *mint_keys;
};

/* A router on policy auth (taken: freed with the fixture) whose peers come
 * from addr. */
static struct fixture *fixture_new(const struct auth *auth, const char *addr)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->auth = auth;
    char err[200];
    f->mint_keys = keyset_load(&(struct keyset_source){.secret = SECRET}, err, sizeof err);
    assert_non_null(f->mint_keys);
    const struct router_config cfg = {.max_client_sessions = 8, .max_robot_sessions = 8,
                                      .request_timeout_s = 10, .max_pending_requests = 8,
                                      .max_robot_pending = 2, .max_sessions_per_identity = 2,
                                      .token_grace_s = GRACE_S};
    routerfake_init(&f->rf, &cfg, auth, addr, 1000000);
    return f;
}

static int setup(void **state)
{
    struct auth_jwt_config ac = {.keys = {.secret = SECRET}};
    token_config_defaults(&ac.token);
    ac.token.leeway_s = 0;
    char err[200];
    const struct auth *auth = auth_jwt_new(&ac, err, sizeof err);
    assert_non_null(auth);
    *state = fixture_new(auth, "198.51.100.7");
    return 0;
}

static int setup_loopback_only(void **state)
{
    *state = fixture_new(&auth_open_loopback, "192.0.2.9");
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    routerfake_clear(&f->rf);
    auth_free(f->auth);
    keyset_free(f->mint_keys);
    free(f);
    return 0;
}

/* ---- tokens ---- */

static char *mint(struct fixture *f, enum token_role role, const char *sub, const char *robot_id,
                  const char *robots, enum token_scope scope, int64_t ttl_s)
{
    struct token_config cfg;
    token_config_defaults(&cfg);
    const struct token_mint_request req = {.role = role, .sub = sub, .robot_id = robot_id,
                                           .robots = robots, .scope = scope, .ttl_s = ttl_s};
    char *tok = NULL, why[200];
    if (token_mint(f->mint_keys, &cfg, &req, clock_wall_ms() / 1000, &tok, why, sizeof why) !=
        TOKEN_OK)
        fail_msg("mint: %s", why);
    return tok;
}

static char *robot_token(struct fixture *f, const char *robot_id)
{
    return mint(f, TOKEN_ROLE_ROBOT, NULL, robot_id, NULL, TOKEN_SCOPE_NONE, 3600);
}

static char *viewer_token(struct fixture *f, const char *sub, const char *robots,
                          enum token_scope scope)
{
    return mint(f, TOKEN_ROLE_VIEWER, sub, NULL, robots, scope, 3600);
}

/* ---- messages ---- */

static void sendf(struct fixture *f, int conn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sendf(struct fixture *f, int conn, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    routerfake_send(&f->rf, conn, buf, strlen(buf));
}

static json_t *next_msg(struct fixture *f, int conn, const char *type)
{
    return routerfake_next(&f->rf, conn, type);
}

static void expect_msg(struct fixture *f, int conn, const char *type)
{
    json_decref(next_msg(f, conn, type));
}

static void expect_nothing(struct fixture *f, int conn) { routerfake_expect_nothing(&f->rf, conn); }

/* The next message must be error unauthorized with this reason. */
static void expect_refused(struct fixture *f, int conn, const char *reason)
{
    json_t *e = next_msg(f, conn, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "unauthorized");
    assert_string_equal(json_string_value(json_object_get(e, "reason")), reason);
    assert_non_null(json_string_value(json_object_get(e, "message")));
    json_decref(e);
}

/* Registers robot robot_id on conn with a token for it. */
static void register_robot(struct fixture *f, int conn, const char *robot_id)
{
    char *tok = robot_token(f, robot_id);
    sendf(f, conn, "{\"type\":\"robot-register\",\"robotId\":\"%s\",\"token\":\"%s\"}", robot_id,
          tok);
    free(tok);
    expect_msg(f, conn, "registered");
}

/* Registers a viewer on conn with a fresh token; returns available-robots. */
static json_t *register_viewer(struct fixture *f, int conn, const char *sub, const char *robots,
                               enum token_scope scope)
{
    char *tok = viewer_token(f, sub, robots, scope);
    sendf(f, conn, "{\"type\":\"client-register\",\"token\":\"%s\"}", tok);
    free(tok);
    return next_msg(f, conn, "available-robots");
}

/* The robot ids of an available-robots message, comma-joined (static). */
static const char *listed_ids(json_t *list)
{
    static char out[256];
    out[0] = '\0';
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(list, "robots"), i, r) {
        strcat(out, i ? "," : "");
        strcat(out, json_string_value(json_object_get(r, "robotId")));
    }
    return out;
}

static uint64_t refusals(struct fixture *f, const char *reason)
{
    for (const struct router_error_count *e = router_refusal_counts(f->rf.r); e->code; e++)
        if (strcmp(e->code, reason) == 0)
            return e->count;
    fail_msg("no refusal counter %s", reason);
    return 0;
}

enum { ROBOT = 0, OTHER_ROBOT = 1, VIEWER = 2, OTHER_VIEWER = 3, THIRD = 4 };

/* ---- admission ---- */

static void test_robot_registers_under_its_tokens_robot_id(void **state)
{
    struct fixture *f = *state;
    register_robot(f, ROBOT, "lab-1");
    assert_int_equal(f->rf.conns[ROBOT].auth_failures, 0);
}

static void test_robot_token_for_another_id_is_refused_wrong_robot(void **state)
{
    struct fixture *f = *state;
    char *tok = robot_token(f, "lab-1");
    sendf(f, ROBOT, "{\"type\":\"robot-register\",\"robotId\":\"lab-2\",\"token\":\"%s\"}", tok);
    free(tok);
    expect_refused(f, ROBOT, "wrong-robot");
    assert_int_equal(f->rf.conns[ROBOT].auth_failures, 1);
    assert_int_equal(refusals(f, "wrong-robot"), 1);
}

static void test_viewer_token_cannot_register_a_robot(void **state)
{
    struct fixture *f = *state;
    char *tok = viewer_token(f, "alice", "*", TOKEN_SCOPE_ADMIN);
    sendf(f, ROBOT, "{\"type\":\"robot-register\",\"robotId\":\"lab-1\",\"token\":\"%s\"}", tok);
    free(tok);
    expect_refused(f, ROBOT, "wrong-role");
}

static void test_robot_token_cannot_register_a_viewer(void **state)
{
    struct fixture *f = *state;
    char *tok = robot_token(f, "lab-1");
    sendf(f, VIEWER, "{\"type\":\"client-register\",\"token\":\"%s\"}", tok);
    free(tok);
    expect_refused(f, VIEWER, "wrong-role");
}

static void test_registration_without_a_token_is_refused_and_may_be_retried(void **state)
{
    struct fixture *f = *state;
    sendf(f, VIEWER, "{\"type\":\"client-register\",\"clientId\":\"v1\"}");
    expect_refused(f, VIEWER, "token-missing");
    sendf(f, VIEWER, "{\"type\":\"client-register\",\"clientId\":\"v1\",\"token\":\"x.y.z\"}");
    expect_refused(f, VIEWER, "malformed-token");
    json_decref(register_viewer(f, VIEWER, "alice", "*", TOKEN_SCOPE_WATCH));
    assert_int_equal(f->rf.conns[VIEWER].auth_failures, 2);
    assert_int_equal(refusals(f, "token-missing"), 1);
    assert_int_equal(refusals(f, "malformed-token"), 1);
}

static void test_protected_mode_refuses_registration_from_other_addresses(void **state)
{
    struct fixture *f = *state;
    sendf(f, ROBOT, "{\"type\":\"robot-register\",\"robotId\":\"lab-1\"}");
    expect_refused(f, ROBOT, AUTH_REFUSED_LOOPBACK_ONLY);
    assert_int_equal(refusals(f, AUTH_REFUSED_LOOPBACK_ONLY), 1);
}

/* ---- what a viewer sees ---- */

static void test_viewer_lists_only_the_robots_its_token_allows(void **state)
{
    struct fixture *f = *state;
    register_robot(f, ROBOT, "lab-1");
    register_robot(f, OTHER_ROBOT, "dock-12");
    register_robot(f, THIRD, "dock-3");
    json_t *list = register_viewer(f, VIEWER, "alice", "lab-*,dock-?", TOKEN_SCOPE_WATCH);
    /* Registry order is unspecified: compare as a set. */
    const char *ids = listed_ids(list);
    assert_true(strstr(ids, "lab-1") && strstr(ids, "dock-3") && !strstr(ids, "dock-12"));
    json_decref(list);
    json_t *robots = router_robots_json(f->rf.r, NULL);
    assert_int_equal(json_array_size(robots), 3); /* without a viewer: all */
    json_decref(robots);
}

static void test_viewer_gets_broadcasts_only_for_allowed_robots(void **state)
{
    struct fixture *f = *state;
    json_decref(register_viewer(f, VIEWER, "alice", "lab-*", TOKEN_SCOPE_WATCH));
    json_decref(register_viewer(f, OTHER_VIEWER, "bob", "*", TOKEN_SCOPE_WATCH));
    register_robot(f, ROBOT, "dock-1");
    expect_nothing(f, VIEWER);
    expect_msg(f, OTHER_VIEWER, "robot-available");
    register_robot(f, OTHER_ROBOT, "lab-1");
    expect_msg(f, VIEWER, "robot-available");
    expect_msg(f, OTHER_VIEWER, "robot-available");
    router_peer_closed(f->rf.r, f->rf.conns[ROBOT].peer);
    f->rf.conns[ROBOT].peer = NULL;
    expect_nothing(f, VIEWER);
    expect_msg(f, OTHER_VIEWER, "robot-unavailable");
}

static void test_session_with_an_invisible_robot_is_answered_like_an_offline_one(void **state)
{
    struct fixture *f = *state;
    register_robot(f, ROBOT, "dock-1");
    json_decref(register_viewer(f, VIEWER, "alice", "lab-*", TOKEN_SCOPE_ADMIN));
    sendf(f, VIEWER, "{\"type\":\"create-session\",\"robotId\":\"dock-1\",\"streamTypes\":"
                     "[\"color\"],\"requestId\":\"q\"}");
    json_t *hidden = next_msg(f, VIEWER, "session-error");
    sendf(f, VIEWER, "{\"type\":\"create-session\",\"robotId\":\"dock-2\",\"streamTypes\":"
                     "[\"color\"],\"requestId\":\"q\"}");
    json_t *offline = next_msg(f, VIEWER, "session-error");
    /* Identical but for the id in the sentence. */
    json_object_set_new(hidden, "error", json_string("-"));
    json_object_set_new(offline, "error", json_string("-"));
    assert_true(json_equal(hidden, offline));
    assert_string_equal(json_string_value(json_object_get(hidden, "code")), "robot-not-found");
    json_decref(hidden);
    json_decref(offline);
    expect_nothing(f, ROBOT);
}

/* ---- robot requests ---- */

static void ask(struct fixture *f, int conn, const char *robot_id, const char *rid)
{
    sendf(f, conn, "{\"type\":\"robot-request\",\"requestId\":\"%s\",\"robotId\":\"%s\","
                   "\"method\":\"GET\",\"path\":\"/api/devices/\"}", rid, robot_id);
}

static json_t *expect_answer(struct fixture *f, int conn, int status)
{
    json_t *m = next_msg(f, conn, "robot-response");
    assert_int_equal(json_integer_value(json_object_get(m, "status")), status);
    return m;
}

static void test_robot_request_needs_the_control_scope(void **state)
{
    struct fixture *f = *state;
    register_robot(f, ROBOT, "lab-1");
    json_decref(register_viewer(f, VIEWER, "alice", "lab-*", TOKEN_SCOPE_WATCH));
    ask(f, VIEWER, "lab-1", "q1");
    json_decref(expect_answer(f, VIEWER, 403));
    expect_nothing(f, ROBOT);
    assert_int_equal(refusals(f, "insufficient-scope"), 1);
}

static void test_robot_request_tells_the_robot_its_caller(void **state)
{
    struct fixture *f = *state;
    register_robot(f, ROBOT, "lab-1");
    char *tok = viewer_token(f, "alice", "lab-1", TOKEN_SCOPE_CONTROL);
    sendf(f, VIEWER, "{\"type\":\"client-register\",\"clientId\":\"v7\",\"token\":\"%s\"}", tok);
    free(tok);
    expect_msg(f, VIEWER, "available-robots");
    ask(f, VIEWER, "lab-1", "q1");
    json_t *fwd = next_msg(f, ROBOT, "robot-request");
    json_t *caller = json_object_get(fwd, "caller");
    assert_string_equal(json_string_value(json_object_get(caller, "sub")), "alice");
    assert_string_equal(json_string_value(json_object_get(caller, "scope")), "control");
    assert_string_equal(json_string_value(json_object_get(caller, "clientId")), "v7");
    json_decref(fwd);
}

static void test_robot_request_for_an_invisible_robot_is_503_like_an_offline_one(void **state)
{
    struct fixture *f = *state;
    register_robot(f, ROBOT, "dock-1");
    json_decref(register_viewer(f, VIEWER, "alice", "lab-*", TOKEN_SCOPE_CONTROL));
    ask(f, VIEWER, "dock-1", "q1");
    json_t *hidden = expect_answer(f, VIEWER, 503);
    assert_string_equal(json_string_value(json_object_get(json_object_get(hidden, "body"),
                                                          "detail")),
                        "robot 'dock-1' is not connected");
    json_decref(hidden);
    expect_nothing(f, ROBOT);
}

static void test_http_request_needs_a_caller_and_the_control_scope(void **state)
{
    struct fixture *f = *state;
    register_robot(f, ROBOT, "lab-1");
    struct routerfake_http h = {0};
    struct http_asker *a = router_http_open(f->rf.r, &h, "198.51.100.9");
    struct robot_request req = {.robot_id = "lab-1", .method = "GET", .path = "/api/devices/"};
    router_http_request(f->rf.r, a, &req, f->rf.now);
    assert_int_equal(h.status, 401);
    struct token_claims *watch = NULL;
    char *tok = viewer_token(f, "alice", "lab-*", TOKEN_SCOPE_WATCH);
    assert_int_equal(router_http_authenticate(f->rf.r, tok, strlen(tok), "198.51.100.9", &watch),
                     TOKEN_OK);
    free(tok);
    req.caller = watch;
    router_http_request(f->rf.r, a, &req, f->rf.now);
    assert_int_equal(h.status, 403);
    assert_int_equal(h.calls, 2);
    expect_nothing(f, ROBOT);
    token_claims_free(watch);
    router_http_closed(f->rf.r, a);
    free(h.body);
}

static void test_requests_to_one_robot_are_shed_past_max_robot_pending(void **state)
{
    struct fixture *f = *state;
    register_robot(f, ROBOT, "lab-1");
    json_decref(register_viewer(f, VIEWER, "alice", "*", TOKEN_SCOPE_CONTROL));
    json_decref(register_viewer(f, OTHER_VIEWER, "bob", "*", TOKEN_SCOPE_CONTROL));
    ask(f, VIEWER, "lab-1", "a1");
    ask(f, OTHER_VIEWER, "lab-1", "b1");
    expect_msg(f, ROBOT, "robot-request");
    expect_msg(f, ROBOT, "robot-request");
    ask(f, VIEWER, "lab-1", "a2"); /* the robot's third: shed */
    json_t *shed = expect_answer(f, VIEWER, 429);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(shed, "body"),
                                                             "detail")), "lab-1"));
    json_decref(shed);
    expect_nothing(f, ROBOT);
}

/* ---- takeover ---- */

static void test_valid_token_takes_over_a_live_robot_id(void **state)
{
    struct fixture *f = *state;
    register_robot(f, ROBOT, "lab-1");
    json_decref(register_viewer(f, VIEWER, "alice", "*", TOKEN_SCOPE_CONTROL));
    sendf(f, VIEWER, "{\"type\":\"create-session\",\"robotId\":\"lab-1\",\"streamTypes\":"
                     "[\"color\"]}");
    expect_msg(f, VIEWER, "session-created");
    expect_msg(f, ROBOT, "create-session");
    ask(f, VIEWER, "lab-1", "q1");
    expect_msg(f, ROBOT, "robot-request");

    register_robot(f, OTHER_ROBOT, "lab-1");
    assert_int_equal(f->rf.conns[ROBOT].close_code, ROUTER_CLOSE_POLICY);
    assert_string_equal(f->rf.conns[ROBOT].close_reason, "replaced by a newer connection");
    json_t *closed = next_msg(f, VIEWER, "session-closed");
    assert_string_equal(json_string_value(json_object_get(closed, "reason")), "peer-disconnected");
    json_decref(closed);
    json_decref(expect_answer(f, VIEWER, 503));
    expect_msg(f, VIEWER, "robot-unavailable");
    expect_msg(f, VIEWER, "robot-available");
    /* The id now leads to the new connection. */
    sendf(f, VIEWER, "{\"type\":\"create-session\",\"robotId\":\"lab-1\",\"streamTypes\":"
                     "[\"color\"]}");
    expect_msg(f, VIEWER, "session-created");
    expect_msg(f, OTHER_ROBOT, "create-session");
    /* The old connection's close comes later and changes nothing. */
    router_peer_closed(f->rf.r, f->rf.conns[ROBOT].peer);
    f->rf.conns[ROBOT].peer = NULL;
    expect_nothing(f, VIEWER);
}

static void test_invalid_token_does_not_disturb_the_holder(void **state)
{
    struct fixture *f = *state;
    register_robot(f, ROBOT, "lab-1");
    char *tok = robot_token(f, "lab-2");
    sendf(f, OTHER_ROBOT, "{\"type\":\"robot-register\",\"robotId\":\"lab-1\",\"token\":\"%s\"}",
          tok);
    free(tok);
    expect_refused(f, OTHER_ROBOT, "wrong-robot");
    assert_int_equal(f->rf.conns[ROBOT].close_code, 0);
}

/* ---- expiry ---- */

/* Registers a viewer whose token lives one second. */
static void register_short_lived_viewer(struct fixture *f, int conn, const char *sub)
{
    char *tok = mint(f, TOKEN_ROLE_VIEWER, sub, NULL, "*", TOKEN_SCOPE_WATCH, 1);
    sendf(f, conn, "{\"type\":\"client-register\",\"token\":\"%s\"}", tok);
    free(tok);
    expect_msg(f, conn, "available-robots");
    assert_true(router_next_deadline(f->rf.r) > f->rf.now);
    assert_true(router_next_deadline(f->rf.r) <= f->rf.now + 1000);
}

static void test_expired_token_is_told_then_closed_after_the_grace(void **state)
{
    struct fixture *f = *state;
    register_short_lived_viewer(f, VIEWER, "alice");
    f->rf.now += 1001;
    router_tick(f->rf.r, f->rf.now);
    json_t *e = next_msg(f, VIEWER, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "token-expired");
    assert_int_equal(json_integer_value(json_object_get(e, "graceSeconds")), GRACE_S);
    json_decref(e);
    assert_int_equal(f->rf.conns[VIEWER].close_code, 0);
    assert_int_equal(router_next_deadline(f->rf.r), f->rf.now + GRACE_S * 1000);
    f->rf.now += GRACE_S * 1000;
    router_tick(f->rf.r, f->rf.now);
    assert_int_equal(f->rf.conns[VIEWER].close_code, ROUTER_CLOSE_POLICY);
    assert_string_equal(f->rf.conns[VIEWER].close_reason, "token expired");
    assert_int_equal(router_next_deadline(f->rf.r), -1);
}

static void test_refresh_token_keeps_the_connection(void **state)
{
    struct fixture *f = *state;
    register_short_lived_viewer(f, VIEWER, "alice");
    f->rf.now += 1001;
    router_tick(f->rf.r, f->rf.now);
    expect_msg(f, VIEWER, "error");
    char *tok = viewer_token(f, "alice", "*", TOKEN_SCOPE_WATCH);
    sendf(f, VIEWER, "{\"type\":\"refresh-token\",\"token\":\"%s\"}", tok);
    free(tok);
    json_t *ok = next_msg(f, VIEWER, "token-refreshed");
    assert_true(json_integer_value(json_object_get(ok, "expiresAt")) >=
                clock_wall_ms() / 1000 + 3599);
    json_decref(ok);
    f->rf.now += GRACE_S * 1000;
    router_tick(f->rf.r, f->rf.now);
    assert_int_equal(f->rf.conns[VIEWER].close_code, 0);
    expect_nothing(f, VIEWER);
}

static void test_refresh_for_another_subject_is_refused_and_the_deadline_stands(void **state)
{
    struct fixture *f = *state;
    register_short_lived_viewer(f, VIEWER, "alice");
    int64_t deadline = router_next_deadline(f->rf.r);
    char *tok = viewer_token(f, "mallory", "*", TOKEN_SCOPE_ADMIN);
    sendf(f, VIEWER, "{\"type\":\"refresh-token\",\"token\":\"%s\"}", tok);
    free(tok);
    expect_refused(f, VIEWER, "wrong-subject");
    assert_int_equal(router_next_deadline(f->rf.r), deadline);
    sendf(f, VIEWER, "{\"type\":\"refresh-token\",\"token\":\"not-a-token\"}");
    expect_refused(f, VIEWER, "malformed-token");
    assert_int_equal(router_next_deadline(f->rf.r), deadline);
}

static void test_robot_refresh_must_be_for_the_same_robot_id(void **state)
{
    struct fixture *f = *state;
    register_robot(f, ROBOT, "lab-1");
    char *other = robot_token(f, "lab-2"), *same = robot_token(f, "lab-1");
    sendf(f, ROBOT, "{\"type\":\"refresh-token\",\"token\":\"%s\"}", other);
    expect_refused(f, ROBOT, "wrong-robot");
    sendf(f, ROBOT, "{\"type\":\"refresh-token\",\"token\":\"%s\"}", same);
    expect_msg(f, ROBOT, "token-refreshed");
    free(other);
    free(same);
}

/* ---- sessions per identity ---- */

static void test_sessions_per_identity_are_limited_over_its_connections(void **state)
{
    struct fixture *f = *state;
    register_robot(f, ROBOT, "lab-1");
    json_decref(register_viewer(f, VIEWER, "alice", "*", TOKEN_SCOPE_WATCH));
    json_decref(register_viewer(f, OTHER_VIEWER, "alice", "*", TOKEN_SCOPE_WATCH));
    json_decref(register_viewer(f, THIRD, "bob", "*", TOKEN_SCOPE_WATCH));
    const char *open = "{\"type\":\"create-session\",\"robotId\":\"lab-1\",\"streamTypes\":"
                       "[\"color\"]}";
    sendf(f, VIEWER, "%s", open);
    expect_msg(f, VIEWER, "session-created");
    sendf(f, OTHER_VIEWER, "%s", open);
    expect_msg(f, OTHER_VIEWER, "session-created");
    sendf(f, OTHER_VIEWER, "%s", open); /* alice's third */
    json_t *e = next_msg(f, OTHER_VIEWER, "session-error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "session-limit");
    json_decref(e);
    sendf(f, THIRD, "%s", open); /* bob has his own count */
    expect_msg(f, THIRD, "session-created");
    /* Closing one of alice's frees a place. */
    router_peer_closed(f->rf.r, f->rf.conns[VIEWER].peer);
    f->rf.conns[VIEWER].peer = NULL;
    sendf(f, OTHER_VIEWER, "%s", open);
    expect_msg(f, OTHER_VIEWER, "session-created");
}

int main(void)
{
    log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, "test");
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_robot_registers_under_its_tokens_robot_id),
        T(test_robot_token_for_another_id_is_refused_wrong_robot),
        T(test_viewer_token_cannot_register_a_robot),
        T(test_robot_token_cannot_register_a_viewer),
        T(test_registration_without_a_token_is_refused_and_may_be_retried),
        cmocka_unit_test_setup_teardown(test_protected_mode_refuses_registration_from_other_addresses,
                                        setup_loopback_only, teardown),
        T(test_viewer_lists_only_the_robots_its_token_allows),
        T(test_viewer_gets_broadcasts_only_for_allowed_robots),
        T(test_session_with_an_invisible_robot_is_answered_like_an_offline_one),
        T(test_robot_request_needs_the_control_scope),
        T(test_robot_request_tells_the_robot_its_caller),
        T(test_robot_request_for_an_invisible_robot_is_503_like_an_offline_one),
        T(test_http_request_needs_a_caller_and_the_control_scope),
        T(test_requests_to_one_robot_are_shed_past_max_robot_pending),
        T(test_valid_token_takes_over_a_live_robot_id),
        T(test_invalid_token_does_not_disturb_the_holder),
        T(test_expired_token_is_told_then_closed_after_the_grace),
        T(test_refresh_token_keeps_the_connection),
        T(test_refresh_for_another_subject_is_refused_and_the_deadline_stands),
        T(test_robot_refresh_must_be_for_the_same_robot_id),
        T(test_sessions_per_identity_are_limited_over_its_connections),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
