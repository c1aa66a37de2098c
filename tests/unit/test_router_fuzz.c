/* test_router_fuzz.c - hostile input to the signaling logic: mutations of
 * valid messages (byte flips, truncations, splices, duplicated keys, deep
 * nesting) from robots, clients and unregistered peers.
 *
 * The property: every message is answered (a reply, an error or a relay:
 * nothing is dropped silently, except a robot-response whose requestId is
 * not pending, which the protocol drops and counts), no session and no
 * robot answer ever reaches a third connection, and, under the -asan
 * variant, nothing crashes or leaks.
 * A second test holds the router's fast path (codec_json.fast_relay:
 * fastrelay.c, jscan.c) to the full one: on the same mutated messages,
 * from every role, the fast check never accepts what codec_json +
 * protocol_validate refuse, and
 * extracts the same type and sessionId when it accepts.
 * Deterministic: a fixed seed, so a failure reproduces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../support/testrng.h"

#include "cloud/codec_json.h"
#include "cloud/jscan.h"
#include "cloud/router.h"
#include "common/ids.h"
#include "common/log.h"

#define ROUNDS 300000

struct sink {
    struct peer *peer;
    unsigned long long received;
    unsigned long long about_sessions; /* messages naming a sessionId */
    char sid[IDS_TOKEN_LEN + 1];       /* the last session created for it */
    unsigned long long robot_responses; /* robot-response messages received */
    char token[IDS_TOKEN_LEN + 1];     /* the last robot-request token it was sent */
};

static int sink_send(void *conn, struct outbuf *b)
{
    struct sink *s = conn;
    s->received++;
    const char *p = (const char *)outbuf_payload(b);
    if (memmem(p, b->len, "\"robot-response\"", 16))
        s->robot_responses++;
    const char *tok = memmem(p, b->len, "\"robot-request\",\"requestId\":\"", 29);
    if (tok && (size_t)(tok - p) + 29 + IDS_TOKEN_LEN <= b->len)
        memcpy(s->token, tok + 29, IDS_TOKEN_LEN);
    const char *at = memmem(p, b->len, "\"sessionId\":\"", 13);
    if (!at)
        return 0;
    s->about_sessions++;
    if (memmem(p, b->len, "\"session-created\"", 17) &&
        (size_t)(at - p) + 13 + IDS_TOKEN_LEN <= b->len)
        memcpy(s->sid, at + 13, IDS_TOKEN_LEN);
    return 0;
}

static void sink_close(void *conn, int code, const char *reason)
{
    (void)conn;
    fail_msg("unexpected close %d (%s): the rate limit is off", code, reason);
}

/* Deterministic, so that a failing mutation can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static size_t rnd_below(size_t n) { return testrng_below(&rng_state, n); }

static const char *const corpus[] = {
    "{\"type\":\"robot-register\",\"robotId\":\"r1\",\"deviceInfo\":{\"name\":\"D435\",\"s\":[1,2.5e3,true,null]}}",
    "{\"type\":\"client-register\",\"clientId\":\"c1\"}",
    "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"color\",\"depth\"],\"requestId\":\"q\",\"deviceId\":\"d\"}",
    "{\"type\":\"webrtc-offer\",\"sessionId\":\"SID\",\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\"}}",
    "{\"type\":\"webrtc-answer\",\"sessionId\":\"SID\",\"answer\":{\"type\":\"answer\",\"sdp\":\"v=0\\u0041\"}}",
    "{\"type\":\"ice-candidate\",\"sessionId\":\"SID\",\"candidate\":{\"candidate\":\"candidate:1 1 udp 1 127.0.0.1 9 typ host\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}}",
    "{\"type\":\"ice-candidate\",\"sessionId\":\"SID\",\"candidate\":null}",
    "{\"type\":\"switch-stream-type\",\"sessionId\":\"SID\",\"streamTypes\":[\"infrared-1\"]}",
    "{\"type\":\"stream-type-switched\",\"sessionId\":\"SID\",\"streamTypes\":[\"depth\"]}",
    "{\"type\":\"stream-type-switch-error\",\"sessionId\":\"SID\",\"error\":\"no\"}",
    "{\"type\":\"session-error\",\"sessionId\":\"SID\",\"error\":\"boom\"}",
    "{\"type\":\"close-session\",\"sessionId\":\"SID\"}",
    "{\"type\":\"robot-request\",\"requestId\":\"q\",\"robotId\":\"r1\",\"method\":\"PUT\",\"path\":\"/api/devices/1/options/exposure?x=1\",\"body\":{\"value\":[1,{\"a\":null}]}}",
    "{\"type\":\"robot-response\",\"requestId\":\"TOK\",\"status\":200,\"body\":{\"current_value\":8000}}",
};

static const char *const splices[] = {
    "\"", "{", "}", "[", "]", ",", ":", "\\", "\\u0000", "\\ud800", "null", "1e999",
    "-0", "\"type\":\"close-session\",", "\"sessionId\":\"AAAAAAAAAAAAAAAAAAAAAA\",",
    "[[[[[[[[[[[[[[[[", "\xff", "\xc3\xa9", " ", "\"robotId\":\"r1\",",
};

/* Builds one input from the corpus into buf: the session and request
 * placeholders are filled with live ids, then up to three mutations are
 * applied. */
static size_t make_input(char *buf, size_t cap, const char *sid, const char *token)
{
    const char *base = corpus[rnd_below(sizeof(corpus) / sizeof(corpus[0]))];
    size_t len = 0;
    for (const char *p = base; *p && len + IDS_TOKEN_LEN + 1 < cap; p++) {
        if (strncmp(p, "SID", 3) == 0 || strncmp(p, "TOK", 3) == 0) {
            memcpy(buf + len, *p == 'S' ? sid : token, IDS_TOKEN_LEN);
            len += IDS_TOKEN_LEN;
            p += 2;
        } else {
            buf[len++] = *p;
        }
    }
    int mutations = (int)rnd_below(4);
    for (int m = 0; m < mutations && len > 0; m++) {
        size_t at = rnd_below(len);
        switch (rnd_below(4)) {
        case 0: /* flip a byte */
            buf[at] = (char)(buf[at] ^ (1 << rnd_below(8)));
            break;
        case 1: /* truncate */
            len = at;
            break;
        case 2: { /* splice a token in */
            const char *s = splices[rnd_below(sizeof(splices) / sizeof(splices[0]))];
            size_t n = strlen(s);
            if (len + n < cap) {
                memmove(buf + at + n, buf + at, len - at);
                memcpy(buf + at, s, n);
                len += n;
            }
            break;
        }
        default: /* duplicate a stretch */ {
            size_t n = rnd_below(len - at) + 1;
            if (len + n < cap) {
                memmove(buf + at + n, buf + at, len - at);
                len += n;
            }
            break;
        }
        }
    }
    return len;
}

static void test_every_hostile_message_is_answered_and_isolated(void **state)
{
    (void)state;
    struct registry reg;
    assert_int_equal(registry_mem_new(&reg), 0);
    struct transport tx = {.send = sink_send, .close = sink_close};
    struct router_config cfg = {.max_client_sessions = 4, .max_robot_sessions = 8, .rate_limit = 0,
                                .request_timeout_s = 10, .max_pending_requests = 16};
    struct router *r = router_new(&cfg, &tx, &auth_open, &reg);
    assert_non_null(r);

    /* 0: robot, 1: client, 2: another client (the bystander), 3: unregistered */
    struct sink peers[4];
    memset(peers, 0, sizeof(peers));
    for (int i = 0; i < 4; i++)
        peers[i].peer = router_peer_open(r, &peers[i], &codec_json, "127.0.0.1", 0);
    const char *setup[] = {
        "{\"type\":\"robot-register\",\"robotId\":\"r1\"}",
        "{\"type\":\"client-register\",\"clientId\":\"c1\"}",
        "{\"type\":\"client-register\",\"clientId\":\"c2\"}",
    };
    for (int i = 0; i < 3; i++)
        router_peer_message(r, peers[i].peer, setup[i], strlen(setup[i]), 0);
    const char *create = "{\"type\":\"create-session\",\"robotId\":\"r1\",\"streamTypes\":[\"color\"]}";
    router_peer_message(r, peers[1].peer, create, strlen(create), 0);
    assert_true(peers[1].sid[0] != '\0');

    memset(peers[0].token, 'A', IDS_TOKEN_LEN); /* until a request is forwarded */
    char buf[1024];
    for (long round = 0; round < ROUNDS; round++) {
        int from = (int)rnd_below(4);
        if (from == 2)
            from = 1; /* the bystander only listens */
        size_t len = make_input(buf, sizeof(buf), peers[1].sid, peers[0].token);
        unsigned long long out_before = 0;
        for (int i = 0; i < 4; i++)
            out_before += peers[i].received;
        struct router_stats before;
        router_stats(r, &before);
        router_peer_message(r, peers[from].peer, buf, len, 0);
        unsigned long long out_after = 0;
        for (int i = 0; i < 4; i++)
            out_after += peers[i].received;
        struct router_stats after;
        router_stats(r, &after);
        if (out_after == out_before &&
            after.robot_responses_dropped == before.robot_responses_dropped)
            fail_msg("round %ld: no answer to %.*s", round, (int)len, buf);
        if (peers[2].robot_responses != 0)
            fail_msg("round %ld: a third connection got a robot's answer after %.*s", round,
                     (int)len, buf);
        /* Keep the client under its pending limit: time passes. */
        if (after.robot_requests_pending >= 16)
            router_tick(r, 1000000 + round);
        /* The bystander may hear presence, never anything about a session. */
        if (peers[2].about_sessions != 0)
            fail_msg("round %ld: a third connection heard about a session after %.*s", round,
                     (int)len, buf);
        /* Keep a session open for the next rounds. */
        struct router_stats st;
        router_stats(r, &st);
        if (st.sessions == 0) {
            peers[1].sid[0] = '\0';
            router_peer_message(r, peers[1].peer, create, strlen(create), 0);
            if (!peers[1].sid[0])
                fail_msg("round %ld: no new session", round);
        }
        if (round % 1000 == 999) /* sometimes a fresh session to attack */
            router_peer_message(r, peers[1].peer, create, strlen(create), 0);
    }
    /* The corpus reached the robot-request path for real, not only errors. */
    struct router_stats st;
    router_stats(r, &st);
    assert_true(st.robot_requests_answered > 0);
    for (int i = 0; i < 4; i++)
        router_peer_closed(r, peers[i].peer);
    router_stats(r, &st);
    assert_int_equal(st.peers, 0);
    assert_int_equal(st.sessions, 0);
    router_free(r);
    registry_free(&reg);
}

/* The full path's verdict on a message from sender: its msg_type and
 * sessionId (copied to sid), or MSG_INVALID. */
static enum msg_type full_verdict(const char *data, size_t len, enum role sender,
                                  char sid[IDS_TOKEN_LEN + 1])
{
    struct codec_error cerr;
    struct proto_error perr;
    const char *type = NULL;
    json_t *msg = codec_json.decode(data, len, &type, &cerr);
    if (!msg)
        return MSG_INVALID;
    enum msg_type t = protocol_validate(msg, type, sender, &perr);
    const char *s = json_string_value(json_object_get(msg, "sessionId"));
    snprintf(sid, IDS_TOKEN_LEN + 1, "%s", s ? s : "");
    json_decref(msg);
    return t;
}

static void test_fast_relay_check_agrees_with_the_full_path(void **state)
{
    (void)state;
    rng_state = 0x9e3779b97f4a7c15ULL;
    char sid[IDS_TOKEN_LEN + 1], token[IDS_TOKEN_LEN + 1];
    assert_int_equal(ids_token(sid), 0);
    assert_int_equal(ids_token(token), 0);
    unsigned long long hot_full = 0, hot_fast = 0, scans[3] = {0};
    char buf[1024];
    for (long round = 0; round < ROUNDS; round++) {
        size_t len = make_input(buf, sizeof(buf), sid, token);
        /* The scanner alone: a sure verdict is jansson's verdict. */
        json_error_t jerr;
        json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        struct jscan_field f[2] = {{.name = "type", .parent = JSCAN_ROOT},
                                   {.name = "sessionId", .parent = JSCAN_ROOT}};
        enum jscan_result rc = jscan_object(buf, len, f, 2);
        scans[rc]++;
        bool object = root && json_is_object(root);
        if ((rc == JSCAN_OK) != object && rc != JSCAN_UNSURE)
            fail_msg("round %ld: jscan says %d, jansson %s: %.*s", round, rc,
                     object ? "accepts" : "refuses", (int)len, buf);
        for (int i = 0; rc == JSCAN_OK && i < 2; i++) {
            json_t *v = json_object_get(root, f[i].name);
            if ((f[i].kind == JSCAN_STRING) != json_is_string(v) ||
                (json_is_string(v) && !f[i].escaped &&
                 (json_string_length(v) != f[i].len ||
                  memcmp(json_string_value(v), f[i].value, f[i].len) != 0)))
                fail_msg("round %ld: jscan and jansson disagree on '%s': %.*s", round, f[i].name,
                         (int)len, buf);
        }
        json_decref(root);
        /* The fast check against codec + protocol, from every role. */
        for (int role = ROLE_NONE; role <= ROLE_CLIENT; role++) {
            char full_sid[IDS_TOKEN_LEN + 1];
            enum msg_type full = full_verdict(buf, len, (enum role)role, full_sid);
            struct codec_fast_msg fast;
            bool ok = codec_json.fast_relay(buf, len, (enum role)role, &fast);
            if (full == MSG_WEBRTC_OFFER || full == MSG_WEBRTC_ANSWER || full == MSG_ICE_CANDIDATE)
                hot_full++;
            if (!ok)
                continue;
            hot_fast++;
            if (full != fast.type || strcmp(full_sid, fast.session_id) != 0)
                fail_msg("round %ld, from a %s: fast path says %s '%s', full path %s '%s': %.*s",
                         round, protocol_role_name((enum role)role),
                         protocol_type_name(fast.type), fast.session_id,
                         full == MSG_INVALID ? "invalid" : protocol_type_name(full), full_sid,
                         (int)len, buf);
        }
    }
    print_message("%d mutated messages: jscan %llu ok, %llu invalid, %llu unsure; hot types the "
                  "full path accepts: %llu (x roles), the fast path takes %llu of them\n",
                  ROUNDS, scans[JSCAN_OK], scans[JSCAN_INVALID], scans[JSCAN_UNSURE], hot_full,
                  hot_fast);
    /* The fast path is exercised for real, and takes most hot messages. */
    assert_true(hot_fast > hot_full / 2);
}

int main(void)
{
    log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, "test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_hostile_message_is_answered_and_isolated),
        cmocka_unit_test(test_fast_relay_check_agrees_with_the_full_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
