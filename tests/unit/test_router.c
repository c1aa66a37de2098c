/* test_router.c - the signaling logic through a recording fake transport:
 * registration, presence, sessions, relaying, isolation, rate limits, and
 * robot requests (routing by token, timeouts, limits, both kinds of asker). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cloud/codec_json.h"
#include "cloud/router.h"
#include "common/ids.h"
#include "common/log.h"
#include "routerfake.h"

static int setup_with(void **state, unsigned rate_limit, unsigned max_client_sessions)
{
    struct routerfake *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    const struct router_config cfg = {.max_client_sessions = max_client_sessions,
                                      .max_robot_sessions = 4, .rate_limit = rate_limit,
                                      .request_timeout_s = 2, .max_pending_requests = 3};
    routerfake_init(f, &cfg, &auth_open, "127.0.0.1", 1000);
    *state = f;
    return 0;
}

static int setup(void **state) { return setup_with(state, 0, 3); }
static int setup_rate_limited(void **state) { return setup_with(state, 10, 3); }

static int teardown(void **state)
{
    routerfake_clear(*state);
    free(*state);
    return 0;
}

static void send_text(struct routerfake *f, int conn, const char *text)
{
    routerfake_send(f, conn, text, strlen(text));
}

static void sendf(struct routerfake *f, int conn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sendf(struct routerfake *f, int conn, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    send_text(f, conn, buf);
}

static void expect_msg(struct routerfake *f, int conn, const char *type)
{
    json_decref(routerfake_next(f, conn, type));
}

static void expect_error(struct routerfake *f, int conn, const char *type, const char *code)
{
    json_t *j = routerfake_next(f, conn, type);
    assert_string_equal(json_string_value(json_object_get(j, "code")), code);
    json_decref(j);
}

/* Connection roles in most tests. */
enum { ROBOT = 0, CLIENT = 1, OTHER_CLIENT = 2, OTHER_ROBOT = 3, FRESH = 4 };

static void register_pair(struct routerfake *f)
{
    send_text(f, ROBOT, "{\"type\":\"robot-register\",\"robotId\":\"r1\",\"deviceInfo\":{\"name\":\"sim\"}}");
    expect_msg(f, ROBOT, "registered");
    send_text(f, CLIENT, "{\"type\":\"client-register\",\"clientId\":\"c1\"}");
    expect_msg(f, CLIENT, "available-robots");
}

/* Opens a session r1 <- c1 and returns its id (static storage). */
static const char *open_session(struct routerfake *f)
{
    static char sid[IDS_TOKEN_LEN + 1];
    send_text(f, CLIENT, "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"color\"],\"requestId\":\"q1\"}");
    json_t *created = routerfake_next(f, CLIENT, "session-created");
    snprintf(sid, sizeof(sid), "%s", json_string_value(json_object_get(created, "sessionId")));
    json_decref(created);
    expect_msg(f, ROBOT, "create-session");
    return sid;
}

/* The log label is made from role, id and address when asked for (the
 * peer keeps no copy): the address until it registers, then role and id,
 * and two labels may be used in one log line. */
static void test_peer_label_names_address_then_role_and_id(void **state)
{
    struct routerfake *f = *state;
    assert_string_equal(router_peer_label(f->conns[ROBOT].peer), "127.0.0.1");
    register_pair(f);
    const char *robot = router_peer_label(f->conns[ROBOT].peer);
    const char *client = router_peer_label(f->conns[CLIENT].peer);
    assert_string_equal(robot, "robot r1 (127.0.0.1)");
    assert_string_equal(client, "client c1 (127.0.0.1)");
    assert_string_equal(router_peer_label(NULL), "?");
}

static void test_robot_register_is_confirmed_and_announced(void **state)
{
    struct routerfake *f = *state;
    send_text(f, CLIENT, "{\"type\":\"client-register\"}");
    json_t *list = routerfake_next(f, CLIENT, "available-robots");
    assert_int_equal(json_array_size(json_object_get(list, "robots")), 0);
    assert_true(strncmp(json_string_value(json_object_get(list, "clientId")), "client-", 7) == 0);
    json_decref(list);

    send_text(f, ROBOT, "{\"type\":\"robot-register\",\"robotId\":\"r1\",\"deviceInfo\":{\"name\":\"sim\"}}");
    json_t *reg = routerfake_next(f, ROBOT, "registered");
    assert_string_equal(json_string_value(json_object_get(reg, "robotId")), "r1");
    json_decref(reg);
    json_t *avail = routerfake_next(f, CLIENT, "robot-available");
    assert_string_equal(json_string_value(json_object_get(avail, "robotId")), "r1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(avail, "deviceInfo"), "name")), "sim");
    assert_non_null(json_string_value(json_object_get(avail, "connectedAt")));
    json_decref(avail);
    routerfake_expect_nothing(f, FRESH); /* unregistered peers get no broadcasts */
}

static void test_client_register_lists_robots_online(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, OTHER_CLIENT, "{\"type\":\"client-register\",\"clientId\":\"c2\"}");
    json_t *list = routerfake_next(f, OTHER_CLIENT, "available-robots");
    json_t *robots = json_object_get(list, "robots");
    assert_int_equal(json_array_size(robots), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(robots, 0), "robotId")), "r1");
    assert_string_equal(json_string_value(json_object_get(list, "clientId")), "c2");
    json_decref(list);
}

static void test_robot_id_takeover_is_refused(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, OTHER_ROBOT, "{\"type\":\"robot-register\",\"robotId\":\"r1\"}");
    expect_error(f, OTHER_ROBOT, "error", "robot-id-in-use");
    routerfake_expect_nothing(f, CLIENT); /* no second robot-available */
    /* The holder still owns the id: a session reaches it. */
    open_session(f);
    routerfake_expect_nothing(f, OTHER_ROBOT);
}

static void test_robot_disconnect_removes_only_its_registration(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, OTHER_ROBOT, "{\"type\":\"robot-register\",\"robotId\":\"r1\"}");
    expect_error(f, OTHER_ROBOT, "error", "robot-id-in-use");
    routerfake_disconnect(f, OTHER_ROBOT); /* the refused one leaves: r1 stays */
    routerfake_expect_nothing(f, CLIENT);
    json_t *robots = router_robots_json(f->r, NULL);
    assert_int_equal(json_array_size(robots), 1);
    json_decref(robots);

    routerfake_disconnect(f, ROBOT);
    json_t *gone = routerfake_next(f, CLIENT, "robot-unavailable");
    assert_string_equal(json_string_value(json_object_get(gone, "robotId")), "r1");
    json_decref(gone);
    /* Now the id is free again. */
    send_text(f, FRESH, "{\"type\":\"robot-register\",\"robotId\":\"r1\"}");
    expect_msg(f, FRESH, "registered");
}

static void test_client_id_takeover_is_refused(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, OTHER_CLIENT, "{\"type\":\"client-register\",\"clientId\":\"c1\"}");
    expect_error(f, OTHER_CLIENT, "error", "client-id-in-use");
}

static void test_second_registration_under_other_identity_is_refused(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, ROBOT, "{\"type\":\"robot-register\",\"robotId\":\"r2\"}");
    expect_error(f, ROBOT, "error", "already-registered");
    send_text(f, ROBOT, "{\"type\":\"client-register\"}");
    expect_error(f, ROBOT, "error", "already-registered");
    /* The same identity again is confirmed, not refused. */
    send_text(f, ROBOT, "{\"type\":\"robot-register\",\"robotId\":\"r1\"}");
    expect_msg(f, ROBOT, "registered");
}

static void test_full_session_is_relayed_byte_for_byte(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    const char *sid = open_session(f);

    char offer[256];
    snprintf(offer, sizeof(offer),
             "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"},\"extra\":  1}",
             sid);
    send_text(f, ROBOT, offer);
    assert_string_equal(routerfake_next_raw(f, CLIENT), offer);

    char answer[256];
    snprintf(answer, sizeof(answer),
             "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\",\"sdp\":\"v=0\"}}",
             sid);
    send_text(f, CLIENT, answer);
    assert_string_equal(routerfake_next_raw(f, ROBOT), answer);

    for (int i = 0; i < 10; i++) {
        char cand[256];
        snprintf(cand, sizeof(cand),
                 "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\",\"candidate\":{\"candidate\":\"candidate:%d 1 udp 1 127.0.0.1 %d typ host\",\"sdpMLineIndex\":0}}",
                 sid, i, 5000 + i);
        send_text(f, ROBOT, cand);
        assert_string_equal(routerfake_next_raw(f, CLIENT), cand);
        send_text(f, CLIENT, cand);
        assert_string_equal(routerfake_next_raw(f, ROBOT), cand);
    }
    sendf(f, CLIENT, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}", sid);
    json_t *a = routerfake_next(f, CLIENT, "session-closed");
    json_t *b = routerfake_next(f, ROBOT, "session-closed");
    assert_string_equal(json_string_value(json_object_get(a, "reason")), "closed-by-client");
    assert_string_equal(json_string_value(json_object_get(b, "sessionId")), sid);
    json_decref(a);
    json_decref(b);
    struct router_stats st;
    router_stats(f->r, &st);
    assert_int_equal(st.sessions, 0);
    assert_int_equal(st.messages_relayed, 22);
}

static void test_session_created_echoes_request_and_tells_robot(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, CLIENT, "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"depth\"],\"requestId\":\"q7\",\"deviceId\":\"d1\"}");
    json_t *created = routerfake_next(f, CLIENT, "session-created");
    assert_string_equal(json_string_value(json_object_get(created, "requestId")), "q7");
    assert_string_equal(json_string_value(json_object_get(created, "robotId")), "r1");
    const char *sid = json_string_value(json_object_get(created, "sessionId"));
    assert_int_equal(strlen(sid), IDS_TOKEN_LEN);
    json_t *req = routerfake_next(f, ROBOT, "create-session");
    assert_string_equal(json_string_value(json_object_get(req, "sessionId")), sid);
    assert_string_equal(json_string_value(json_object_get(req, "clientId")), "c1");
    assert_string_equal(json_string_value(json_object_get(req, "deviceId")), "d1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(req, "streamTypes"), 0)), "depth");
    json_decref(req);
    json_decref(created);
}

static void test_create_session_hands_the_depth_request_to_the_robot(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, CLIENT, "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"color\"],"
                         "\"depth\":{\"rate\":1000,\"decimation\":2,\"color\":true}}");
    expect_msg(f, CLIENT, "session-created");
    json_t *req = routerfake_next(f, ROBOT, "create-session");
    json_t *depth = json_object_get(req, "depth");
    assert_int_equal(json_integer_value(json_object_get(depth, "rate")), 1000); /* the robot clamps */
    assert_true(json_is_true(json_object_get(depth, "color")));
    json_decref(req);
    send_text(f, CLIENT, "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"color\"]}");
    expect_msg(f, CLIENT, "session-created");
    req = routerfake_next(f, ROBOT, "create-session");
    assert_null(json_object_get(req, "depth")); /* none asked, none sent */
    json_decref(req);
}

static void test_robot_replies_reach_only_that_sessions_client(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, OTHER_CLIENT, "{\"type\":\"client-register\",\"clientId\":\"c2\"}");
    expect_msg(f, OTHER_CLIENT, "available-robots");
    const char *sid = open_session(f);
    sendf(f, ROBOT, "{\"type\":\"session-error\",\"sessionId\":\"%s\",\"error\":\"no such stream\"}", sid);
    expect_msg(f, CLIENT, "session-error");
    sendf(f, ROBOT, "{\"type\":\"stream-type-switched\",\"sessionId\":\"%s\",\"streamTypes\":[\"depth\"]}", sid);
    expect_msg(f, CLIENT, "stream-type-switched");
    sendf(f, ROBOT, "{\"type\":\"stream-type-switch-error\",\"sessionId\":\"%s\",\"error\":\"busy\"}", sid);
    expect_msg(f, CLIENT, "stream-type-switch-error");
    routerfake_expect_nothing(f, OTHER_CLIENT);
}

/* Opens a session r1 <- c1 whose client offers; returns its id (static). */
static const char *open_offering_session(struct routerfake *f)
{
    static char sid[IDS_TOKEN_LEN + 1];
    send_text(f, CLIENT, "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"color\"],"
                         "\"requestId\":\"q1\",\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0 viewer\"}}");
    json_t *created = routerfake_next(f, CLIENT, "session-created");
    snprintf(sid, sizeof(sid), "%s", json_string_value(json_object_get(created, "sessionId")));
    json_decref(created);
    json_t *order = routerfake_next(f, ROBOT, "create-session");
    json_t *offer = json_object_get(order, "offer");
    assert_string_equal(json_string_value(json_object_get(offer, "type")), "offer");
    assert_string_equal(json_string_value(json_object_get(offer, "sdp")), "v=0 viewer");
    json_decref(order);
    return sid;
}

static void test_viewer_offer_reaches_the_robot_and_its_answer_the_viewer(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    const char *sid = open_offering_session(f);
    sendf(f, ROBOT, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\",\"sdp\":\"v=0 robot\"}}", sid);
    json_t *answer = routerfake_next(f, CLIENT, "webrtc-answer");
    assert_string_equal(json_string_value(json_object_get(json_object_get(answer, "answer"), "sdp")),
                        "v=0 robot");
    json_decref(answer);
    /* An ICE restart: the viewer offers again. */
    sendf(f, CLIENT, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0 again\"}}", sid);
    expect_msg(f, ROBOT, "webrtc-offer");
    routerfake_expect_nothing(f, CLIENT);
}

/* The offering side of a session is fixed: the robot, or the client whose
 * create-session carried an offer; the wrong way is refused, not forwarded. */
static void test_offers_and_answers_go_one_way_per_session(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    const char *sid = open_offering_session(f);
    sendf(f, CLIENT, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\",\"sdp\":\"x\"}}", sid);
    expect_error(f, CLIENT, "error", "wrong-role");
    sendf(f, ROBOT, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\",\"sdp\":\"x\"}}", sid);
    expect_msg(f, CLIENT, "webrtc-answer");
    /* Answered: the robot offers no more in this session. */
    sendf(f, ROBOT, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\",\"sdp\":\"x\"}}", sid);
    expect_error(f, ROBOT, "error", "wrong-role");
    sendf(f, CLIENT, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\",\"sdp\":\"x\"}}", sid);
    expect_error(f, CLIENT, "error", "wrong-role");
    routerfake_expect_nothing(f, CLIENT);
    routerfake_expect_nothing(f, ROBOT);

    const char *plain = open_session(f); /* the robot offers */
    sendf(f, CLIENT, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\",\"sdp\":\"x\"}}", plain);
    expect_error(f, CLIENT, "error", "wrong-role");
    sendf(f, ROBOT, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\",\"sdp\":\"x\"}}", plain);
    expect_error(f, ROBOT, "error", "wrong-role");
    routerfake_expect_nothing(f, CLIENT);
    routerfake_expect_nothing(f, ROBOT);
}

/* An older robot ignores create-session's offer and offers itself: the
 * session becomes one where the robot offers (the client rolls back and
 * answers). Once the robot answered, it may not offer any more. */
static void test_a_robot_that_offers_instead_of_answering_turns_the_session(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    const char *sid = open_offering_session(f);
    sendf(f, CLIENT, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\",\"sdp\":\"x\"}}", sid);
    expect_error(f, CLIENT, "error", "wrong-role"); /* not answered yet */
    sendf(f, ROBOT, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0 robot\"}}", sid);
    expect_msg(f, CLIENT, "webrtc-offer");
    sendf(f, CLIENT, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\",\"sdp\":\"x\"}}", sid);
    expect_msg(f, ROBOT, "webrtc-answer");
    sendf(f, ROBOT, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\",\"sdp\":\"x\"}}", sid);
    expect_error(f, ROBOT, "error", "wrong-role");
    routerfake_expect_nothing(f, CLIENT);
}

static void test_malformed_viewer_offer_opens_no_session(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, CLIENT, "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"color\"],"
                         "\"requestId\":\"q1\",\"offer\":{\"type\":\"answer\",\"sdp\":\"v=0\"}}");
    expect_error(f, CLIENT, "error", "invalid-field");
    routerfake_expect_nothing(f, ROBOT);
    routerfake_expect_nothing(f, CLIENT);
}

static void test_foreign_session_messages_are_refused_and_not_forwarded(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, OTHER_CLIENT, "{\"type\":\"client-register\",\"clientId\":\"c2\"}");
    expect_msg(f, OTHER_CLIENT, "available-robots");
    send_text(f, OTHER_ROBOT, "{\"type\":\"robot-register\",\"robotId\":\"r2\"}");
    expect_msg(f, OTHER_ROBOT, "registered");
    expect_msg(f, CLIENT, "robot-available");
    expect_msg(f, OTHER_CLIENT, "robot-available");
    const char *sid = open_session(f);

    sendf(f, OTHER_CLIENT, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\",\"sdp\":\"x\"}}", sid);
    expect_error(f, OTHER_CLIENT, "error", "unknown-session");
    sendf(f, OTHER_CLIENT, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}", sid);
    expect_error(f, OTHER_CLIENT, "error", "unknown-session");
    sendf(f, OTHER_ROBOT, "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\",\"candidate\":null}", sid);
    expect_error(f, OTHER_ROBOT, "error", "unknown-session");
    sendf(f, OTHER_ROBOT, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\",\"sdp\":\"x\"}}", sid);
    expect_error(f, OTHER_ROBOT, "error", "unknown-session");
    sendf(f, OTHER_CLIENT, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\",\"sdp\":\"x\"}}", sid);
    expect_error(f, OTHER_CLIENT, "error", "unknown-session");
    sendf(f, OTHER_ROBOT, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\",\"sdp\":\"x\"}}", sid);
    expect_error(f, OTHER_ROBOT, "error", "unknown-session");
    routerfake_expect_nothing(f, ROBOT);
    routerfake_expect_nothing(f, CLIENT);
    /* The session is intact. */
    sendf(f, ROBOT, "{\"type\":\"ice-candidate\",\"sessionId\":\"%s\",\"candidate\":null}", sid);
    expect_msg(f, CLIENT, "ice-candidate");
}

static void test_unknown_session_id_gets_the_same_refusal(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, CLIENT, "{\"type\":\"close-session\",\"sessionId\":\"AAAAAAAAAAAAAAAAAAAAAA\"}");
    expect_error(f, CLIENT, "error", "unknown-session");
}

static void test_client_disconnect_closes_its_sessions_for_the_robot(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    const char *sid = open_session(f);
    routerfake_disconnect(f, CLIENT);
    json_t *closed = routerfake_next(f, ROBOT, "session-closed");
    assert_string_equal(json_string_value(json_object_get(closed, "sessionId")), sid);
    assert_string_equal(json_string_value(json_object_get(closed, "reason")), "peer-disconnected");
    json_decref(closed);
    struct router_stats st;
    router_stats(f->r, &st);
    assert_int_equal(st.sessions, 0);
    assert_int_equal(st.clients, 0);
}

static void test_robot_disconnect_closes_its_sessions_for_the_clients(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    open_session(f);
    open_session(f);
    routerfake_disconnect(f, ROBOT);
    for (int i = 0; i < 2; i++) {
        json_t *closed = routerfake_next(f, CLIENT, "session-closed");
        assert_string_equal(json_string_value(json_object_get(closed, "reason")), "peer-disconnected");
        json_decref(closed);
    }
    expect_msg(f, CLIENT, "robot-unavailable");
    routerfake_expect_nothing(f, CLIENT);
}

static void test_create_session_for_unknown_robot_is_a_session_error(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, CLIENT, "{\"type\":\"create-session\",\"robotId\":\"nope\",\"streamTypes\":[\"color\"],\"requestId\":\"q9\"}");
    json_t *e = routerfake_next(f, CLIENT, "session-error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "robot-not-found");
    assert_string_equal(json_string_value(json_object_get(e, "requestId")), "q9");
    assert_non_null(strstr(json_string_value(json_object_get(e, "error")), "nope"));
    json_decref(e);
}

static void test_session_limit_per_client(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    for (int i = 0; i < 3; i++)
        open_session(f);
    send_text(f, CLIENT, "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"color\"]}");
    expect_error(f, CLIENT, "session-error", "session-limit");
    routerfake_expect_nothing(f, ROBOT);
}

static void test_invalid_input_gets_errors_and_the_connection_keeps_working(void **state)
{
    struct routerfake *f = *state;
    send_text(f, FRESH, "{not json");
    json_t *e = routerfake_next(f, FRESH, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "invalid-json");
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "column"));
    json_decref(e);
    send_text(f, FRESH, "[1,2]");
    expect_error(f, FRESH, "error", "invalid-message");
    send_text(f, FRESH, "{\"type\":7}");
    expect_error(f, FRESH, "error", "invalid-message");
    send_text(f, FRESH, "{\"type\":\"teleport\"}");
    expect_error(f, FRESH, "error", "unknown-type");
    send_text(f, FRESH, "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"color\"]}");
    expect_error(f, FRESH, "error", "not-registered");
    send_text(f, FRESH, "{\"type\":\"robot-register\",\"robotId\":\"bad id\"}");
    e = routerfake_next(f, FRESH, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "invalid-field");
    assert_string_equal(json_string_value(json_object_get(e, "requestType")), "robot-register");
    json_decref(e);
    send_text(f, FRESH, "{\"type\":\"robot-register\",\"robotId\":\"r9\",\"robotId\":\"r8\"}");
    expect_error(f, FRESH, "error", "invalid-json"); /* duplicate keys */
    send_text(f, FRESH, "{\"type\":\"robot-register\",\"robotId\":\"r9\"}");
    expect_msg(f, FRESH, "registered");
    send_text(f, FRESH, "{\"type\":\"switch-stream-type\",\"sessionId\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"streamTypes\":[\"color\"]}");
    expect_error(f, FRESH, "error", "wrong-role");
}

static void test_unknown_type_cut_inside_a_character_is_still_answered(void **state)
{
    struct routerfake *f = *state;
    /* 63 ASCII bytes, then a 4-byte character: the quote in the error is cut
     * at 64 bytes, inside it. The reply must still be valid JSON text. */
    char msg[200];
    snprintf(msg, sizeof(msg), "{\"type\":\"%s\xf0\x9f\xa4\x96\"}",
             "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk");
    send_text(f, FRESH, msg);
    json_t *e = routerfake_next(f, FRESH, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "unknown-type");
    json_decref(e);
}

static void test_errors_echo_request_id(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, CLIENT, "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[],\"requestId\":\"q3\"}");
    json_t *e = routerfake_next(f, CLIENT, "error");
    assert_string_equal(json_string_value(json_object_get(e, "requestId")), "q3");
    json_decref(e);
}

static void test_rate_limit_drops_then_closes(void **state)
{
    struct routerfake *f = *state;
    /* Budget: 10/s, bursts of 20. */
    for (int i = 0; i < 20; i++)
        send_text(f, FRESH, "{\"type\":\"teleport\"}");
    for (int i = 0; i < 20; i++)
        expect_error(f, FRESH, "error", "unknown-type");
    send_text(f, FRESH, "{\"type\":\"teleport\"}");
    expect_error(f, FRESH, "error", "rate-limited");
    for (int i = 0; i < 5; i++)
        send_text(f, FRESH, "{\"type\":\"teleport\"}");
    routerfake_expect_nothing(f, FRESH); /* reported once per second */
    assert_int_equal(f->conns[FRESH].close_code, 0);
    for (int i = 0; i < 10; i++)
        send_text(f, FRESH, "{\"type\":\"teleport\"}");
    assert_int_equal(f->conns[FRESH].close_code, ROUTER_CLOSE_POLICY);
}

static void test_rate_limit_refills_with_time(void **state)
{
    struct routerfake *f = *state;
    for (int i = 0; i < 21; i++)
        send_text(f, FRESH, "{\"type\":\"teleport\"}");
    f->conns[FRESH].read = f->conns[FRESH].nmsgs;
    f->now += 1000; /* ten more tokens */
    for (int i = 0; i < 10; i++)
        send_text(f, FRESH, "{\"type\":\"teleport\"}");
    for (int i = 0; i < 10; i++)
        expect_error(f, FRESH, "error", "unknown-type");
    assert_int_equal(f->conns[FRESH].close_code, 0);
}


/* ---- robot requests ---- */

static struct router_stats stats_of(struct routerfake *f)
{
    struct router_stats st;
    router_stats(f->r, &st);
    return st;
}

/* Client conn asks r1 for GET /api/devices/ under request id rid. */
static void ask(struct routerfake *f, int conn, const char *rid)
{
    sendf(f, conn, "{\"type\":\"robot-request\",\"requestId\":\"%s\",\"robotId\":\"r1\","
                   "\"method\":\"GET\",\"path\":\"/api/devices/\"}", rid);
}

/* The robot's next message must be a robot-request; returns its token
 * (static storage, one per slot). */
static const char *expect_forwarded(struct routerfake *f, int robot, int slot)
{
    static char tokens[4][IDS_TOKEN_LEN + 1];
    json_t *m = routerfake_next(f, robot, "robot-request");
    const char *t = json_string_value(json_object_get(m, "requestId"));
    assert_non_null(t);
    assert_int_equal(strlen(t), IDS_TOKEN_LEN);
    snprintf(tokens[slot], sizeof(tokens[slot]), "%s", t);
    json_decref(m);
    return tokens[slot];
}

static void answer(struct routerfake *f, int robot, const char *token, int status, const char *body)
{
    sendf(f, robot, "{\"type\":\"robot-response\",\"requestId\":\"%s\",\"status\":%d,\"body\":%s}",
          token, status, body);
}

/* The next message of conn must be robot-response {requestId: rid, status}; returns it. */
static json_t *expect_answer(struct routerfake *f, int conn, const char *rid, int status)
{
    json_t *m = routerfake_next(f, conn, "robot-response");
    assert_string_equal(json_string_value(json_object_get(m, "requestId")), rid);
    assert_string_equal(json_string_value(json_object_get(m, "robotId")), "r1");
    assert_int_equal(json_integer_value(json_object_get(m, "status")), status);
    return m;
}

static void expect_detail(json_t *m, const char *want)
{
    const char *d = json_string_value(json_object_get(json_object_get(m, "body"), "detail"));
    assert_non_null(d);
    assert_string_equal(d, want);
    json_decref(m);
}

static void test_robot_request_is_forwarded_under_a_token_and_answered_to_its_asker(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, OTHER_CLIENT, "{\"type\":\"client-register\",\"clientId\":\"c2\"}");
    expect_msg(f, OTHER_CLIENT, "available-robots");
    send_text(f, CLIENT, "{\"type\":\"robot-request\",\"requestId\":\"q1\",\"robotId\":\"r1\","
                         "\"method\":\"PUT\",\"path\":\"/api/devices/123/sensors/123-sensor-0/options/exposure\","
                         "\"body\":{\"value\":8000}}");
    json_t *fwd = routerfake_next(f, ROBOT, "robot-request");
    const char *token = json_string_value(json_object_get(fwd, "requestId"));
    assert_int_equal(strlen(token), IDS_TOKEN_LEN);
    assert_string_equal(json_string_value(json_object_get(fwd, "method")), "PUT");
    assert_string_equal(json_string_value(json_object_get(fwd, "path")),
                        "/api/devices/123/sensors/123-sensor-0/options/exposure");
    assert_string_equal(json_string_value(json_object_get(fwd, "clientId")), "c1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(fwd, "body"), "value")),
                     8000);
    assert_null(json_object_get(fwd, "robotId"));
    routerfake_expect_nothing(f, CLIENT);
    answer(f, ROBOT, token, 200, "{\"option_id\":\"exposure\",\"current_value\":8000}");
    json_decref(fwd);
    json_t *m = expect_answer(f, CLIENT, "q1", 200);
    json_t *want = json_pack("{s:s, s:i}", "option_id", "exposure", "current_value", 8000);
    assert_true(json_equal(json_object_get(m, "body"), want));
    json_decref(want);
    json_decref(m);
    routerfake_expect_nothing(f, OTHER_CLIENT);
    routerfake_expect_nothing(f, ROBOT);
    struct router_stats st = stats_of(f);
    assert_int_equal(st.robot_requests_forwarded, 1);
    assert_int_equal(st.robot_requests_answered, 1);
    assert_int_equal(st.robot_requests_pending, 0);
}

static void test_robot_request_without_body_reaches_the_robot_with_null(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    ask(f, CLIENT, "q1");
    json_t *fwd = routerfake_next(f, ROBOT, "robot-request");
    json_t *body = json_object_get(fwd, "body");
    assert_non_null(body);
    assert_true(json_is_null(body));
    answer(f, ROBOT, json_string_value(json_object_get(fwd, "requestId")), 404, "null");
    json_decref(fwd);
    json_t *m = expect_answer(f, CLIENT, "q1", 404);
    assert_true(json_is_null(json_object_get(m, "body")));
    json_decref(m);
}

static void test_answers_go_to_their_own_askers_when_interleaved(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, OTHER_CLIENT, "{\"type\":\"client-register\",\"clientId\":\"c2\"}");
    expect_msg(f, OTHER_CLIENT, "available-robots");
    ask(f, CLIENT, "same");
    const char *t1 = expect_forwarded(f, ROBOT, 0);
    ask(f, OTHER_CLIENT, "same"); /* the same requestId: tokens keep them apart */
    const char *t2 = expect_forwarded(f, ROBOT, 1);
    assert_string_not_equal(t1, t2);
    answer(f, ROBOT, t2, 202, "\"for c2\"");
    answer(f, ROBOT, t1, 201, "\"for c1\"");
    json_t *m = expect_answer(f, CLIENT, "same", 201);
    assert_string_equal(json_string_value(json_object_get(m, "body")), "for c1");
    json_decref(m);
    m = expect_answer(f, OTHER_CLIENT, "same", 202);
    assert_string_equal(json_string_value(json_object_get(m, "body")), "for c2");
    json_decref(m);
    routerfake_expect_nothing(f, CLIENT);
    routerfake_expect_nothing(f, OTHER_CLIENT);
}

static void test_answer_from_another_robot_connection_is_dropped(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, OTHER_ROBOT, "{\"type\":\"robot-register\",\"robotId\":\"r2\"}");
    expect_msg(f, OTHER_ROBOT, "registered");
    expect_msg(f, CLIENT, "robot-available");
    ask(f, CLIENT, "q1");
    const char *token = expect_forwarded(f, ROBOT, 0);
    answer(f, OTHER_ROBOT, token, 200, "\"forged\"");
    routerfake_expect_nothing(f, CLIENT);
    routerfake_expect_nothing(f, OTHER_ROBOT); /* dropped silently */
    assert_int_equal(stats_of(f).robot_responses_dropped, 1);
    answer(f, ROBOT, token, 200, "\"real\"");
    json_t *m = expect_answer(f, CLIENT, "q1", 200);
    assert_string_equal(json_string_value(json_object_get(m, "body")), "real");
    json_decref(m);
}

static void test_unknown_and_duplicate_answers_are_dropped(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    ask(f, CLIENT, "q1");
    const char *token = expect_forwarded(f, ROBOT, 0);
    answer(f, ROBOT, "AAAAAAAAAAAAAAAAAAAAAA", 200, "1");
    answer(f, ROBOT, "q1", 200, "2"); /* the asker's id means nothing to the cloud */
    routerfake_expect_nothing(f, CLIENT);
    answer(f, ROBOT, token, 200, "3");
    json_decref(expect_answer(f, CLIENT, "q1", 200));
    answer(f, ROBOT, token, 200, "4");
    routerfake_expect_nothing(f, CLIENT);
    routerfake_expect_nothing(f, ROBOT);
    assert_int_equal(stats_of(f).robot_responses_dropped, 3);
    assert_int_equal(stats_of(f).robot_requests_answered, 1);
}

static void test_robot_request_to_an_offline_robot_is_503(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, CLIENT, "{\"type\":\"robot-request\",\"requestId\":\"q1\",\"robotId\":\"gone\","
                         "\"method\":\"GET\",\"path\":\"/api/devices/\"}");
    json_t *m = routerfake_next(f, CLIENT, "robot-response");
    assert_string_equal(json_string_value(json_object_get(m, "robotId")), "gone");
    assert_int_equal(json_integer_value(json_object_get(m, "status")), 503);
    expect_detail(m, "robot 'gone' is not connected");
    routerfake_expect_nothing(f, ROBOT);
    assert_int_equal(stats_of(f).robot_requests_refused, 1);
}

static void test_requests_past_the_limit_are_429_and_the_limit_is_per_asker(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, OTHER_CLIENT, "{\"type\":\"client-register\",\"clientId\":\"c2\"}");
    expect_msg(f, OTHER_CLIENT, "available-robots");
    for (int i = 0; i < 3; i++) {
        ask(f, CLIENT, "q");
        expect_forwarded(f, ROBOT, i);
    }
    ask(f, CLIENT, "q4");
    expect_detail(expect_answer(f, CLIENT, "q4", 429),
                  "at most 3 robot requests may be pending per connection");
    routerfake_expect_nothing(f, ROBOT);
    ask(f, OTHER_CLIENT, "other"); /* another connection has its own budget */
    expect_forwarded(f, ROBOT, 3);
    routerfake_expect_nothing(f, OTHER_CLIENT);
    ask(f, CLIENT, "q5");
    json_decref(expect_answer(f, CLIENT, "q5", 429));
    assert_int_equal(stats_of(f).robot_requests_refused, 2);
    assert_int_equal(stats_of(f).robot_requests_pending, 4);
}

static void test_an_answer_frees_a_place_under_the_limit(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    char first[IDS_TOKEN_LEN + 1];
    for (int i = 0; i < 3; i++) {
        ask(f, CLIENT, "q");
        const char *t = expect_forwarded(f, ROBOT, 0);
        if (i == 0)
            snprintf(first, sizeof(first), "%s", t);
    }
    answer(f, ROBOT, first, 200, "1");
    json_decref(expect_answer(f, CLIENT, "q", 200));
    ask(f, CLIENT, "again");
    expect_forwarded(f, ROBOT, 0);
    routerfake_expect_nothing(f, CLIENT);
}

static void test_unanswered_request_times_out_with_504_and_a_late_answer_is_dropped(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    ask(f, CLIENT, "q1");
    const char *token = expect_forwarded(f, ROBOT, 0);
    assert_true(router_next_deadline(f->r) == f->now + 2000);
    assert_true(router_tick(f->r, f->now + 1999) == f->now + 2000);
    routerfake_expect_nothing(f, CLIENT);
    assert_true(router_tick(f->r, f->now + 2000) == -1);
    expect_detail(expect_answer(f, CLIENT, "q1", 504), "robot 'r1' did not answer within 2 s");
    answer(f, ROBOT, token, 200, "1");
    routerfake_expect_nothing(f, CLIENT);
    struct router_stats st = stats_of(f);
    assert_int_equal(st.robot_requests_timed_out, 1);
    assert_int_equal(st.robot_responses_dropped, 1);
    assert_int_equal(router_next_deadline(f->r), -1);
}

static void test_requests_time_out_in_deadline_order(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    ask(f, CLIENT, "early");
    expect_forwarded(f, ROBOT, 0);
    f->now += 1500;
    ask(f, CLIENT, "late");
    expect_forwarded(f, ROBOT, 1);
    assert_true(router_tick(f->r, f->now + 500) == f->now + 2000);
    json_decref(expect_answer(f, CLIENT, "early", 504));
    routerfake_expect_nothing(f, CLIENT);
    assert_true(router_tick(f->r, f->now + 2000) == -1);
    json_decref(expect_answer(f, CLIENT, "late", 504));
}

static void test_robot_disconnect_answers_pending_requests_503(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    ask(f, CLIENT, "q1");
    ask(f, CLIENT, "q2");
    routerfake_disconnect(f, ROBOT);
    /* both answered, in any order, before robot-unavailable */
    for (int i = 0; i < 2; i++) {
        json_t *m = routerfake_next(f, CLIENT, "robot-response");
        assert_int_equal(json_integer_value(json_object_get(m, "status")), 503);
        expect_detail(m, "robot 'r1' went offline before answering");
    }
    expect_msg(f, CLIENT, "robot-unavailable");
    assert_int_equal(stats_of(f).robot_requests_failed, 2);
    assert_int_equal(router_next_deadline(f->r), -1);
}

static void test_asker_disconnect_forgets_its_requests(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    ask(f, CLIENT, "q1");
    const char *token = expect_forwarded(f, ROBOT, 0);
    routerfake_disconnect(f, CLIENT);
    assert_int_equal(stats_of(f).robot_requests_abandoned, 1);
    assert_int_equal(stats_of(f).robot_requests_pending, 0);
    answer(f, ROBOT, token, 200, "1");
    assert_int_equal(stats_of(f).robot_responses_dropped, 1);
    assert_int_equal(router_tick(f->r, f->now + 10000), -1);
}

static void test_robot_response_from_a_client_is_wrong_role(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, CLIENT, "{\"type\":\"robot-response\",\"requestId\":\"AAAAAAAAAAAAAAAAAAAAAA\","
                         "\"status\":200}");
    expect_error(f, CLIENT, "error", "wrong-role");
    send_text(f, ROBOT, "{\"type\":\"robot-request\",\"requestId\":\"x\",\"robotId\":\"r1\","
                        "\"method\":\"GET\",\"path\":\"/api/\"}");
    expect_error(f, ROBOT, "error", "wrong-role");
}

static void test_shutdown_answers_pending_requests_503(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    ask(f, CLIENT, "q1");
    expect_forwarded(f, ROBOT, 0);
    router_shutdown(f->r);
    expect_detail(expect_answer(f, CLIENT, "q1", 503), "porthole-cloud is shutting down");
    assert_int_equal(router_next_deadline(f->r), -1);
}

static void test_http_asker_gets_the_robots_answer(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    struct routerfake_http h = {0};
    struct http_asker *a = router_http_open(f->r, &h, "192.0.2.9");
    assert_non_null(a);
    json_t *body = json_pack("{s:i}", "value", 5);
    struct robot_request req = {"r1", "PUT", "/api/devices/1/sensors/?x=1", body, NULL};
    router_http_request(f->r, a, &req, f->now);
    json_decref(body);
    assert_int_equal(h.calls, 0);
    json_t *fwd = routerfake_next(f, ROBOT, "robot-request");
    assert_string_equal(json_string_value(json_object_get(fwd, "clientId")), "http:192.0.2.9");
    assert_string_equal(json_string_value(json_object_get(fwd, "path")),
                        "/api/devices/1/sensors/?x=1");
    answer(f, ROBOT, json_string_value(json_object_get(fwd, "requestId")), 422,
           "{\"detail\":\"no\"}");
    json_decref(fwd);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.status, 422);
    assert_string_equal(h.body, "{\"detail\":\"no\"}");
    routerfake_expect_nothing(f, CLIENT);
    router_http_closed(f->r, a);
    free(h.body);
}

static void test_http_asker_is_answered_at_once_when_the_request_cannot_go(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    struct routerfake_http h = {0};
    struct http_asker *a = router_http_open(f->r, &h, "192.0.2.9");
    struct robot_request offline = {"r9", "GET", "/api/devices/", NULL, NULL};
    router_http_request(f->r, a, &offline, f->now);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.status, 503);
    assert_string_equal(h.body, "{\"detail\":\"robot 'r9' is not connected\"}");
    struct robot_request bad_id = {"r 1", "GET", "/api/devices/", NULL, NULL};
    router_http_request(f->r, a, &bad_id, f->now);
    assert_int_equal(h.calls, 2);
    assert_int_equal(h.status, 400);
    struct robot_request bad_path = {"r1", "GET", "/api/a b", NULL, NULL};
    router_http_request(f->r, a, &bad_path, f->now);
    assert_int_equal(h.status, 400);
    struct robot_request bad_method = {"r1", "PATCH", "/api/a", NULL, NULL};
    router_http_request(f->r, a, &bad_method, f->now);
    assert_int_equal(h.calls, 4);
    assert_int_equal(h.status, 400);
    routerfake_expect_nothing(f, ROBOT);
    router_http_closed(f->r, a);
    free(h.body);
}

static void test_closed_http_asker_is_never_answered(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    struct routerfake_http h = {0};
    struct http_asker *a = router_http_open(f->r, &h, "192.0.2.9");
    struct robot_request req = {"r1", "GET", "/api/devices/", NULL, NULL};
    router_http_request(f->r, a, &req, f->now);
    const char *token = expect_forwarded(f, ROBOT, 0);
    router_http_closed(f->r, a);
    answer(f, ROBOT, token, 200, "1");
    assert_int_equal(router_tick(f->r, f->now + 10000), -1);
    assert_int_equal(h.calls, 0);
    struct router_stats st = stats_of(f);
    assert_int_equal(st.robot_requests_abandoned, 1);
    assert_int_equal(st.robot_responses_dropped, 1);
}

static void test_http_asker_times_out_with_504(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    struct routerfake_http h = {0};
    struct http_asker *a = router_http_open(f->r, &h, "192.0.2.9");
    struct robot_request req = {"r1", "DELETE", "/api/x", NULL, NULL};
    router_http_request(f->r, a, &req, f->now);
    expect_forwarded(f, ROBOT, 0);
    router_tick(f->r, f->now + 2000);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.status, 504);
    assert_string_equal(h.body, "{\"detail\":\"robot 'r1' did not answer within 2 s\"}");
    router_http_closed(f->r, a);
    free(h.body);
}

/* ---- hardening ---- */

static void test_repeated_client_register_is_confirmed_without_the_list(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    send_text(f, CLIENT, "{\"type\":\"client-register\",\"clientId\":\"c1\"}");
    assert_string_equal(routerfake_next_raw(f, CLIENT), "{\"type\":\"registered\",\"clientId\":\"c1\"}");
    send_text(f, CLIENT, "{\"type\":\"client-register\"}");
    expect_msg(f, CLIENT, "registered");
    routerfake_expect_nothing(f, CLIENT);
}

static void test_robot_answers_to_pending_requests_are_never_rate_limited(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    ask(f, CLIENT, "q1");
    ask(f, CLIENT, "q2");
    const char *t1 = expect_forwarded(f, ROBOT, 0), *t2 = expect_forwarded(f, ROBOT, 1);
    for (int i = 0; i < 40; i++) /* the robot spends its budget and more */
        send_text(f, ROBOT, "{\"type\":\"teleport\"}");
    f->conns[ROBOT].read = f->conns[ROBOT].nmsgs;
    answer(f, ROBOT, t1, 200, "{}");
    answer(f, ROBOT, t2, 200, "{}");
    json_decref(expect_answer(f, CLIENT, "q1", 200));
    json_decref(expect_answer(f, CLIENT, "q2", 200));
    /* An answer to nothing pending is an ordinary message: dropped. */
    answer(f, ROBOT, t1, 200, "{}");
    routerfake_expect_nothing(f, ROBOT);
}

static void test_robot_is_never_closed_for_its_rate(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    for (int i = 0; i < 200; i++)
        send_text(f, ROBOT, "{\"type\":\"teleport\"}");
    assert_int_equal(f->conns[ROBOT].close_code, 0);
    /* Its excess was dropped all the same, and it was told once. */
    size_t limited = 0;
    for (size_t i = 0; i < f->conns[ROBOT].nmsgs; i++)
        limited += strstr(f->conns[ROBOT].msgs[i], "rate-limited") != NULL;
    assert_int_equal(limited, 1);
}

/* Runs fn with the log at info level and stderr in a temporary file;
 * returns what was logged (malloc'd). */
static char *captured_log(struct routerfake *f, void (*fn)(struct routerfake *f))
{
    char path[] = "/tmp/porthole-router-log-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    assert_true(fd >= 0 && saved >= 0);
    unlink(path);
    log_setup(LOGL_INFO, LOG_FORMAT_TEXT, "test");
    dup2(fd, 2);
    fn(f);
    dup2(saved, 2);
    close(saved);
    log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, "test");
    off_t n = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)n + 1);
    assert_true(text && pread(fd, text, (size_t)n, 0) == n);
    close(fd);
    return text;
}

static void open_switch_and_close(struct routerfake *f)
{
    const char *sid = open_session(f);
    sendf(f, CLIENT, "{\"type\":\"switch-stream-type\",\"sessionId\":\"%s\","
                     "\"streamTypes\":[\"depth\"]}", sid);
    sendf(f, CLIENT, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}", sid);
}

static void test_every_session_end_leaves_one_audit_line(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    char *log = captured_log(f, open_switch_and_close);
    const char *line = strstr(log, "{\"event\":\"session\"");
    assert_non_null(line);
    assert_null(strstr(line + 1, "{\"event\":\"session\""));
    json_t *j = json_loadb(line, strcspn(line, "\n"), 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "robotId")), "r1");
    assert_string_equal(json_string_value(json_object_get(j, "clientId")), "c1");
    assert_string_equal(json_string_value(json_object_get(j, "from")), "127.0.0.1");
    assert_string_equal(json_string_value(json_object_get(j, "reason")), "closed-by-client");
    json_t *streams = json_object_get(j, "streams");
    assert_int_equal(json_array_size(streams), 2);
    assert_string_equal(json_string_value(json_array_get(streams, 0)), "color");
    assert_string_equal(json_string_value(json_array_get(streams, 1)), "depth");
    assert_true(json_is_integer(json_object_get(j, "durationMs")));
    assert_non_null(json_string_value(json_object_get(j, "start")));
    assert_non_null(json_string_value(json_object_get(j, "end")));
    assert_true(json_is_null(json_object_get(j, "sub"))); /* no identities here */
    json_decref(j);
    free(log);
}

static void test_shutdown_tells_both_sides(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    open_session(f);
    router_shutdown(f->r);
    json_t *a = routerfake_next(f, CLIENT, "session-closed");
    assert_string_equal(json_string_value(json_object_get(a, "reason")), "server-shutdown");
    json_decref(a);
    expect_msg(f, ROBOT, "session-closed");
}

static void test_robots_json_counts_sessions(void **state)
{
    struct routerfake *f = *state;
    register_pair(f);
    open_session(f);
    open_session(f);
    json_t *robots = router_robots_json(f->r, NULL);
    json_t *r1 = json_array_get(robots, 0);
    assert_string_equal(json_string_value(json_object_get(r1, "robotId")), "r1");
    assert_int_equal(json_integer_value(json_object_get(r1, "sessions")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r1, "deviceInfo"), "name")), "sim");
    json_decref(robots);
}

/* A second wire codec, as a Socket.IO one will be: the same JSON object
 * behind a one-byte tag. */
static json_t *tagged_decode(const char *data, size_t len, const char **type,
                             struct codec_error *err)
{
    if (len < 1 || data[0] != 'T') {
        err->code = "invalid-message";
        snprintf(err->message, sizeof(err->message), "untagged");
        return NULL;
    }
    return codec_json.decode(data + 1, len - 1, type, err);
}

static struct outbuf *tagged_encode(const char *type, json_t *body)
{
    struct outbuf *plain = codec_json.encode(type, body);
    if (!plain)
        return NULL;
    char *text = malloc(plain->len + 2);
    if (!text) {
        outbuf_unref(plain);
        return NULL;
    }
    text[0] = 'T';
    memcpy(text + 1, outbuf_payload(plain), plain->len);
    text[plain->len + 1] = '\0';
    outbuf_unref(plain);
    return outbuf_take_string(text);
}

static struct outbuf *tagged_relay(const char *data, size_t len)
{
    return outbuf_new(data, len);
}

/* No fast_relay: its peers' messages take the router's full path. */
static const struct codec tagged_codec = {
    .name = "tagged",
    .decode = tagged_decode,
    .encode = tagged_encode,
    .relay = tagged_relay,
    .fast_relay = NULL,
};

enum { TAGGED_CLIENT = 5 };

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void use_tagged_codec(struct routerfake *f, int conn)
{
    router_peer_closed(f->r, f->conns[conn].peer);
    f->conns[conn].peer = router_peer_open(f->r, &f->conns[conn], &tagged_codec, "127.0.0.1", f->now);
    assert_non_null(f->conns[conn].peer);
}

static void test_peers_of_different_codecs_share_a_session(void **state)
{
    struct routerfake *f = *state;
    use_tagged_codec(f, TAGGED_CLIENT);
    send_text(f, CLIENT, "{\"type\":\"client-register\",\"clientId\":\"c1\"}");
    expect_msg(f, CLIENT, "available-robots");
    send_text(f, TAGGED_CLIENT, "T{\"type\":\"client-register\",\"clientId\":\"t1\"}");
    const char *raw = routerfake_next_raw(f, TAGGED_CLIENT);
    assert_true(starts_with(raw, "T{\"type\":\"available-robots\""));

    /* One broadcast, framed for each client's codec. */
    send_text(f, ROBOT, "{\"type\":\"robot-register\",\"robotId\":\"r1\"}");
    expect_msg(f, ROBOT, "registered");
    expect_msg(f, CLIENT, "robot-available");
    assert_true(starts_with(routerfake_next_raw(f, TAGGED_CLIENT), "T{\"type\":\"robot-available\""));

    send_text(f, TAGGED_CLIENT, "T{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"color\"]}");
    raw = routerfake_next_raw(f, TAGGED_CLIENT);
    json_t *created = json_loads(raw + 1, 0, NULL);
    assert_non_null(created);
    char sid[IDS_TOKEN_LEN + 1];
    snprintf(sid, sizeof(sid), "%s", json_string_value(json_object_get(created, "sessionId")));
    json_decref(created);
    expect_msg(f, ROBOT, "create-session");

    /* Across codecs the relay is re-encoded, with the same fields. */
    sendf(f, ROBOT, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\",\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\"}}", sid);
    raw = routerfake_next_raw(f, TAGGED_CLIENT);
    assert_int_equal(raw[0], 'T');
    json_t *offer = json_loads(raw + 1, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(offer, "type")), "webrtc-offer");
    assert_string_equal(json_string_value(json_object_get(offer, "sessionId")), sid);
    assert_string_equal(json_string_value(json_object_get(json_object_get(offer, "offer"), "sdp")), "v=0");
    json_decref(offer);
    sendf(f, TAGGED_CLIENT, "T{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\",\"answer\":{\"type\":\"answer\",\"sdp\":\"v=1\"}}", sid);
    json_t *answer = routerfake_next(f, ROBOT, "webrtc-answer"); /* plain JSON for the robot */
    assert_string_equal(json_string_value(json_object_get(json_object_get(answer, "answer"), "sdp")), "v=1");
    json_decref(answer);
    routerfake_expect_nothing(f, CLIENT);
}

int main(void)
{
    log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, "test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_robot_register_is_confirmed_and_announced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_register_lists_robots_online, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robot_id_takeover_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robot_disconnect_removes_only_its_registration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_id_takeover_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_registration_under_other_identity_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_session_is_relayed_byte_for_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_created_echoes_request_and_tells_robot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_session_hands_the_depth_request_to_the_robot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robot_replies_reach_only_that_sessions_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_session_messages_are_refused_and_not_forwarded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_session_id_gets_the_same_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_disconnect_closes_its_sessions_for_the_robot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robot_disconnect_closes_its_sessions_for_the_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_session_for_unknown_robot_is_a_session_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_limit_per_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_input_gets_errors_and_the_connection_keeps_working, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_label_names_address_then_role_and_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_echo_request_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_type_cut_inside_a_character_is_still_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_drops_then_closes, setup_rate_limited, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_refills_with_time, setup_rate_limited, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_client_register_is_confirmed_without_the_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robot_answers_to_pending_requests_are_never_rate_limited, setup_rate_limited, teardown),
        cmocka_unit_test_setup_teardown(test_robot_is_never_closed_for_its_rate, setup_rate_limited, teardown),
        cmocka_unit_test_setup_teardown(test_every_session_end_leaves_one_audit_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_tells_both_sides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robot_request_is_forwarded_under_a_token_and_answered_to_its_asker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robot_request_without_body_reaches_the_robot_with_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answers_go_to_their_own_askers_when_interleaved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_from_another_robot_connection_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_duplicate_answers_are_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robot_request_to_an_offline_robot_is_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_past_the_limit_are_429_and_the_limit_is_per_asker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_answer_frees_a_place_under_the_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unanswered_request_times_out_with_504_and_a_late_answer_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_time_out_in_deadline_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robot_disconnect_answers_pending_requests_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asker_disconnect_forgets_its_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robot_response_from_a_client_is_wrong_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_answers_pending_requests_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_asker_gets_the_robots_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_asker_is_answered_at_once_when_the_request_cannot_go, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_http_asker_is_never_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_asker_times_out_with_504, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robots_json_counts_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peers_of_different_codecs_share_a_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_viewer_offer_reaches_the_robot_and_its_answer_the_viewer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offers_and_answers_go_one_way_per_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_viewer_offer_opens_no_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_robot_that_offers_instead_of_answering_turns_the_session, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
