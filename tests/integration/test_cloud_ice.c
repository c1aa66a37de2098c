/* test_cloud_ice.c - STUN and TURN servers handed out by porthole-cloud:
 * in `registered` to robots, in `session-created` to clients and in
 * `create-session` to robots, and at GET /api/ice-servers, with TURN REST
 * credentials (coturn's use-auth-secret scheme) checked here against
 * OpenSSL's HMAC-SHA1; bad settings refused at start, the secret never
 * printed. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"
#include "wsclient.h"

#define SECRET "lab-turn-secret-6d1f0c"
#define TTL 600

static const char *const ice_args[] = {
    "--stun-urls", "stun:198.51.100.1:3478",
    "--turn-urls", "turn:198.51.100.1:3478?transport=udp,turns:198.51.100.1:443?transport=tcp",
    "--turn-secret", SECRET, "--turn-ttl", "600", NULL};

/* Checks one server list: a STUN entry, then a TURN entry whose username
 * is "<expiry>:<peer_id>" with expiry now + TTL (give or take 30 s) and
 * whose credential is base64(HMAC-SHA1(SECRET, username)). */
static void check_servers(const json_t *servers, const char *peer_id)
{
    assert_true(json_is_array(servers));
    assert_int_equal(json_array_size(servers), 2);
    const json_t *stun = json_array_get(servers, 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(stun, "urls"), 0)),
                        "stun:198.51.100.1:3478");
    assert_null(json_object_get(stun, "credential"));
    const json_t *turn = json_array_get(servers, 1);
    assert_int_equal(json_array_size(json_object_get(turn, "urls")), 2);
    const char *user = json_string_value(json_object_get(turn, "username"));
    const char *cred = json_string_value(json_object_get(turn, "credential"));
    assert_non_null(user);
    assert_non_null(cred);
    char *colon = strchr(user, ':');
    assert_non_null(colon);
    if (peer_id)
        assert_string_equal(colon + 1, peer_id);
    long long expiry = strtoll(user, NULL, 10);
    long long want = (long long)time(NULL) + TTL;
    assert_true(expiry > want - 30 && expiry <= want + 1);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    assert_non_null(HMAC(EVP_sha1(), SECRET, (int)strlen(SECRET), (const unsigned char *)user,
                         strlen(user), mac, &maclen));
    char b64[64];
    EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
    assert_string_equal(cred, b64);
}

static void test_robot_gets_ice_servers_when_registered(void **state)
{
    int port = harness_port(state);
    const char *id = harness_name("robot");
    struct wsc *c = wsc_connect(port, "/ws", HARNESS_WAIT_MS);
    assert_non_null(c);
    assert_int_equal(wsc_sendf(c, "{\"type\":\"robot-register\",\"robotId\":\"%s\"}", id), 0);
    json_t *reg = harness_expect_next(c, "registered");
    check_servers(json_object_get(reg, "iceServers"), id);
    assert_int_equal(json_integer_value(json_object_get(reg, "iceServersTtl")), TTL);
    json_decref(reg);
    wsc_close(c);
}

static void test_session_hands_servers_to_both_sides(void **state)
{
    int port = harness_port(state);
    const char *robot_id = harness_name("robot");
    struct wsc *robot = harness_robot(port, robot_id, NULL);
    json_t *avail = NULL;
    struct wsc *client = harness_client(port, NULL, &avail);
    const char *client_id = json_string_value(json_object_get(avail, "clientId"));
    /* Already with the robot list: a viewer that offers builds its peer
     * connection before it asks for a session. */
    check_servers(json_object_get(avail, "iceServers"), client_id);
    assert_int_equal(json_integer_value(json_object_get(avail, "iceServersTtl")), TTL);
    assert_int_equal(wsc_sendf(client, "{\"type\":\"create-session\",\"robotId\":\"%s\","
                                       "\"streamTypes\":[\"color\"]}", robot_id), 0);
    json_t *created = harness_expect_next(client, "session-created");
    check_servers(json_object_get(created, "iceServers"), client_id);
    assert_int_equal(json_integer_value(json_object_get(created, "iceServersTtl")), TTL);
    json_t *order = harness_expect_next(robot, "create-session");
    check_servers(json_object_get(order, "iceServers"), robot_id);
    assert_int_equal(json_integer_value(json_object_get(order, "iceServersTtl")), TTL);
    json_decref(created);
    json_decref(order);
    json_decref(avail);
    wsc_close(client);
    wsc_close(robot);
}

static void test_http_clients_get_servers(void **state)
{
    int port = harness_port(state);
    struct http_response r;
    assert_int_equal(http_get(port, "/api/ice-servers", &r), 0);
    assert_int_equal(r.status, 200);
    json_t *body = json_loads(r.body, 0, NULL);
    assert_non_null(body);
    check_servers(json_object_get(body, "iceServers"), NULL);
    const char *user = json_string_value(
        json_object_get(json_array_get(json_object_get(body, "iceServers"), 1), "username"));
    assert_non_null(strstr(user, ":http-"));
    assert_int_equal(json_integer_value(json_object_get(body, "ttl")), TTL);
    json_decref(body);
    http_response_free(&r);

    assert_int_equal(http_request(port, "POST", "/api/ice-servers", NULL, "{}", 3000, &r), 0);
    assert_int_equal(r.status, 405);
    http_response_free(&r);
}

/* A page of another origin that --allowed-origins lets in (the default
 * "loopback" here) may read the servers: its origin, and only its, is
 * named back; its preflight is answered before any token is asked for. A
 * page the list does not allow gets 403 and no CORS header. */
static void test_allowed_pages_of_other_origins_may_read_them(void **state)
{
    int port = harness_port(state);
    struct http_response r;
    assert_int_equal(http_request(port, "GET", "/api/ice-servers",
                                  "Origin: http://localhost:8080\r\n", NULL, 3000, &r), 0);
    assert_int_equal(r.status, 200);
    char *acao = http_header(&r, "access-control-allow-origin");
    assert_non_null(acao);
    assert_string_equal(acao, "http://localhost:8080");
    free(acao);
    char *expose = http_header(&r, "access-control-expose-headers");
    assert_non_null(expose);
    assert_non_null(strstr(expose, "location"));
    free(expose);
    assert_null(http_header(&r, "access-control-allow-credentials"));
    http_response_free(&r);

    assert_int_equal(http_request(port, "OPTIONS", "/api/ice-servers",
                                  "Origin: http://localhost:8080\r\n"
                                  "Access-Control-Request-Method: GET\r\n"
                                  "Access-Control-Request-Headers: authorization\r\n",
                                  NULL, 3000, &r), 0);
    assert_int_equal(r.status, 204);
    char *methods = http_header(&r, "access-control-allow-methods");
    char *headers = http_header(&r, "access-control-allow-headers");
    assert_non_null(methods);
    assert_non_null(headers);
    assert_non_null(strstr(methods, "GET"));
    assert_non_null(strstr(headers, "authorization"));
    free(methods);
    free(headers);
    http_response_free(&r);

    assert_int_equal(http_request(port, "GET", "/api/ice-servers",
                                  "Origin: https://evil.example\r\n", NULL, 3000, &r), 0);
    assert_int_equal(r.status, 403);
    assert_null(http_header(&r, "access-control-allow-origin"));
    http_response_free(&r);

    /* Without Origin nothing of CORS is said. */
    assert_int_equal(http_get(port, "/api/ice-servers", &r), 0);
    assert_null(http_header(&r, "access-control-allow-origin"));
    http_response_free(&r);
}

static void test_without_servers_nothing_is_added(void **state)
{
    int port = harness_port(state);
    const char *id = harness_name("robot");
    struct wsc *c = wsc_connect(port, "/ws", HARNESS_WAIT_MS);
    assert_non_null(c);
    assert_int_equal(wsc_sendf(c, "{\"type\":\"robot-register\",\"robotId\":\"%s\"}", id), 0);
    json_t *reg = harness_expect_next(c, "registered");
    assert_null(json_object_get(reg, "iceServers"));
    assert_null(json_object_get(reg, "iceServersTtl"));
    json_decref(reg);
    wsc_close(c);
    struct http_response r;
    assert_int_equal(http_get(port, "/api/ice-servers", &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"iceServers\":[]"));
    http_response_free(&r);
}

struct bad_start {
    const char *args[8];
    const char *expect; /* in stderr */
};

static void test_bad_settings_are_refused_at_start(void **state)
{
    (void)state;
    static const struct bad_start cases[] = {
        {.args = {"--turn-urls", "turn:198.51.100.1", NULL},
         .expect = "--turn-urls needs --turn-secret"},
        {.args = {"--stun-urls", "stun://198.51.100.1", NULL}, .expect = "'stun://198.51.100.1'"},
        {.args = {"--turn-urls", "turn:h:99999", "--turn-secret", SECRET, NULL},
         .expect = "port must be 1..65535"},
        {.args = {"--turn-ttl", "10", NULL}, .expect = "--turn-ttl"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL, *err = NULL;
        int code = harness_run(cases[i].args, 5000, &out, &err);
        if (code != 2 || !strstr(err, cases[i].expect))
            fail_msg("case %zu: exit %d, stderr '%s', want 2 and '%s'", i, code, err,
                     cases[i].expect);
        assert_null(strstr(err, SECRET));
        free(out);
        free(err);
    }
}

static void test_help_never_prints_the_secret(void **state)
{
    (void)state;
    /* --help shows defaults; a secret must never appear there, even when
     * the environment sets it (opts.h: secret options say only "set"). */
    const char *const argv[] = {"--help", NULL};
    char *out = NULL, *err = NULL;
    setenv("TURN_SECRET", SECRET, 1);
    int code = harness_run(argv, 5000, &out, &err);
    unsetenv("TURN_SECRET");
    assert_int_equal(code, 0);
    assert_non_null(strstr(out, "--turn-secret"));
    assert_null(strstr(out, SECRET));
    free(out);
    free(err);
}

int main(void)
{
    static struct harness_fixture with = {.args = ice_args};
    static struct harness_fixture without = {.args = NULL};
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_robot_gets_ice_servers_when_registered,
                                                 harness_setup, harness_teardown, &with),
        cmocka_unit_test_prestate_setup_teardown(test_session_hands_servers_to_both_sides,
                                                 harness_setup, harness_teardown, &with),
        cmocka_unit_test_prestate_setup_teardown(test_http_clients_get_servers, harness_setup,
                                                 harness_teardown, &with),
        cmocka_unit_test_prestate_setup_teardown(test_allowed_pages_of_other_origins_may_read_them,
                                                 harness_setup, harness_teardown, &with),
        cmocka_unit_test_prestate_setup_teardown(test_without_servers_nothing_is_added,
                                                 harness_setup, harness_teardown, &without),
        cmocka_unit_test(test_bad_settings_are_refused_at_start),
        cmocka_unit_test(test_help_never_prints_the_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
