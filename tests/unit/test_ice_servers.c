/* test_ice_servers.c - STUN/TURN URL checks and TURN REST credentials. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cloud/ice_servers.h"
#include "common/iceurl.h"

static struct ice_servers *make(const char *stun, const char *turn, const char *secret, long ttl,
                                char *err, size_t errlen)
{
    struct ice_servers_config cfg = {
        .stun_urls = stun, .turn_urls = turn, .turn_secret = secret, .turn_ttl_s = ttl};
    err[0] = '\0';
    return ice_servers_new(&cfg, err, errlen);
}

/* The expected values come from `openssl dgst -sha1 -hmac KEY -binary | base64`,
 * an implementation independent of this module. */
static void test_credential_matches_openssl_cli(void **state)
{
    (void)state;
    char out[ICE_SERVERS_CREDENTIAL_LEN + 1];
    assert_int_equal(ice_servers_credential("north-pole-secret", "1700003600:robot-1", out), 0);
    assert_string_equal(out, "iP79sSe0/zwSZhXRbxw3c39gZOM=");
    assert_int_equal(ice_servers_credential("k", "", out), 0);
    assert_string_equal(out, "OoSiGO5mZSCbtw6EUl3YN2RaGWU=");
}

static void test_json_carries_expiring_username_and_credential(void **state)
{
    (void)state;
    char err[256];
    struct ice_servers *s = make("stun:stun.example.com:3478",
                                 "turn:turn.example.com:3478?transport=udp, turns:turn.example.com:443?transport=tcp",
                                 "north-pole-secret", 3600, err, sizeof err);
    assert_non_null(s);
    json_t *arr = ice_servers_json(s, "robot-1", 1700000000);
    assert_non_null(arr);
    assert_int_equal(json_array_size(arr), 2);
    json_t *stun = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(stun, "urls"), 0)),
                        "stun:stun.example.com:3478");
    assert_null(json_object_get(stun, "username"));
    json_t *turn = json_array_get(arr, 1);
    assert_int_equal(json_array_size(json_object_get(turn, "urls")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(turn, "urls"), 1)),
                        "turns:turn.example.com:443?transport=tcp");
    assert_string_equal(json_string_value(json_object_get(turn, "username")), "1700003600:robot-1");
    assert_string_equal(json_string_value(json_object_get(turn, "credential")),
                        "iP79sSe0/zwSZhXRbxw3c39gZOM=");
    json_decref(arr);
    ice_servers_free(s);
}

static void test_empty_configuration_gives_empty_array(void **state)
{
    (void)state;
    char err[256];
    struct ice_servers *s = make("", NULL, "", 3600, err, sizeof err);
    assert_non_null(s);
    assert_true(ice_servers_empty(s));
    assert_false(ice_servers_has_turn(s));
    json_t *arr = ice_servers_json(s, "c1", 0);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    ice_servers_free(s);
}

static void test_stun_only_needs_no_secret(void **state)
{
    (void)state;
    char err[256];
    struct ice_servers *s = make("stun:192.0.2.1,stuns:[2001:db8::1]:5349", "", NULL, 3600, err,
                                 sizeof err);
    assert_non_null(s);
    assert_false(ice_servers_empty(s));
    json_t *arr = ice_servers_json(s, "c1", 0);
    assert_int_equal(json_array_size(arr), 1);
    assert_int_equal(json_array_size(json_object_get(json_array_get(arr, 0), "urls")), 2);
    json_decref(arr);
    ice_servers_free(s);
}

struct bad_case {
    const char *stun, *turn, *secret;
    long ttl;
    const char *expect; /* the error text, whole */
};

static void test_bad_configurations_are_refused_with_reason(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {.stun = "turn:x", .expect = "--stun-urls: 'turn:x' must start with stun: or stuns:"},
        {.stun = "http:x", .expect = "--stun-urls: 'http:x' must start with stun:, stuns:, turn: or turns:"},
        {.turn = "stun:x", .secret = "s", .ttl = 3600, .expect = "--turn-urls: 'stun:x' must start with turn: or turns:"},
        {.stun = "stun://x", .expect = "--stun-urls: 'stun://x' has '//' after the scheme (RFC 7064/7065 form is scheme:host[:port])"},
        {.stun = "stun:x:0", .expect = "--stun-urls: 'stun:x:0' port must be 1..65535"},
        {.stun = "stun:x:65536", .expect = "--stun-urls: 'stun:x:65536' port must be 1..65535"},
        {.stun = "stun:x:", .expect = "--stun-urls: 'stun:x:' has an empty port"},
        {.stun = "stun:x?transport=udp", .expect = "--stun-urls: 'stun:x?transport=udp' must not have a query (only turn: URLs take ?transport=)"},
        {.stun = "stun:-bad.example", .expect = "--stun-urls: 'stun:-bad.example' has no valid host (a DNS name, an IPv4 address or [IPv6])"},
        {.stun = "stun:a b", .expect = "--stun-urls: 'stun:a b' has no valid host (a DNS name, an IPv4 address or [IPv6])"},
        {.stun = "stun:[::1", .expect = "--stun-urls: 'stun:[::1' has an unterminated IPv6 address"},
        {.stun = "stun:[zz]:1", .expect = "--stun-urls: 'stun:[zz]:1' has no valid host (a DNS name, an IPv4 address or [IPv6])"},
        {.turn = "turn:u:p@x", .secret = "s", .ttl = 3600, .expect = "--turn-urls: 'turn:u:p@x' must not carry user info (user@host)"},
        {.turn = "turn:x?transport=sctp", .secret = "s", .ttl = 3600, .expect = "--turn-urls: 'turn:x?transport=sctp' query must be ?transport=udp or ?transport=tcp"},
        {.turn = "turn:x", .secret = "", .ttl = 3600, .expect = "--turn-urls needs --turn-secret (the TURN server's static-auth-secret)"},
        {.turn = "", .secret = "s", .ttl = 3600, .expect = "--turn-secret is set but --turn-urls is empty"},
        {.turn = "turn:x", .secret = "s", .ttl = 19, .expect = "--turn-ttl: 19 s is shorter than 20 s"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256];
        struct ice_servers *s = make(cases[i].stun, cases[i].turn, cases[i].secret, cases[i].ttl,
                                     err, sizeof err);
        if (s || strcmp(err, cases[i].expect) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, s ? "(accepted)" : err, cases[i].expect);
    }
}

static void test_too_many_and_too_long_urls_are_refused(void **state)
{
    (void)state;
    char list[4096] = "", err[256];
    for (int i = 0; i <= ICE_SERVERS_MAX_URLS; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%sstun:h%d", i ? "," : "", i);
    assert_null(make(list, "", NULL, 3600, err, sizeof err));
    assert_string_equal(err, "--stun-urls: more than 16 URLs");
    char longurl[ICEURL_MAX + 16] = "stun:";
    memset(longurl + 5, 'a', ICEURL_MAX);
    longurl[5 + ICEURL_MAX] = '\0';
    assert_null(make(longurl, "", NULL, 3600, err, sizeof err));
    assert_string_equal(err, "--stun-urls: a URL is longer than 255 bytes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credential_matches_openssl_cli),
        cmocka_unit_test(test_json_carries_expiring_username_and_credential),
        cmocka_unit_test(test_empty_configuration_gives_empty_array),
        cmocka_unit_test(test_stun_only_needs_no_secret),
        cmocka_unit_test(test_bad_configurations_are_refused_with_reason),
        cmocka_unit_test(test_too_many_and_too_long_urls_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
