/* test_iceconf.c - the cloud's RTCIceServer list into webrtcbin URIs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "robot/iceconf.h"

static int parse(struct iceconf *c, const char *text, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    assert_non_null(v);
    memset(c, 0, sizeof(*c));
    err[0] = '\0';
    int rc = iceconf_from_json(c, v, err, errlen);
    json_decref(v);
    return rc;
}

static void test_stun_and_turn_become_webrtcbin_uris(void **state)
{
    (void)state;
    struct iceconf c;
    char err[160];
    assert_int_equal(parse(&c, "[{\"urls\":[\"stun:198.51.100.2:3478\"]},"
                               "{\"urls\":[\"turn:turn.example.com?transport=udp\","
                               "\"turn:turn.example.com:3478?transport=tcp\","
                               "\"turns:[2001:db8::5]:443?transport=tcp\"],"
                               "\"username\":\"1700003600:robot-1\",\"credential\":\"a+b/c=\"}]",
                           err, sizeof err), 0);
    assert_string_equal(c.stun, "stun://198.51.100.2:3478");
    assert_int_equal(c.nturn, 3);
    /* ':' '+' '/' '=' are percent-encoded: webrtcbin splits user:pass at the first ':'. */
    assert_string_equal(c.turn[0], "turn://1700003600%3Arobot-1:a%2Bb%2Fc%3D@turn.example.com:3478");
    assert_string_equal(c.turn[1],
                        "turn://1700003600%3Arobot-1:a%2Bb%2Fc%3D@turn.example.com:3478?transport=tcp");
    assert_string_equal(c.turn[2],
                        "turns://1700003600%3Arobot-1:a%2Bb%2Fc%3D@[2001:db8::5]:443?transport=tcp");
    char *list = iceconf_turn_list(&c);
    assert_non_null(list);
    assert_non_null(strstr(list, "3478,turn://"));
    free(list);
    assert_int_equal(c.skipped, 0);
    iceconf_clear(&c);
    assert_null(c.stun);
}

static void test_unusable_urls_are_skipped_and_counted(void **state)
{
    (void)state;
    struct iceconf c;
    char err[160];
    /* stuns: (webrtcbin has no STUN over TLS), TURN without credentials,
     * a bad URL, a non-string URL, a second STUN server (one is used). */
    assert_int_equal(parse(&c, "[{\"urls\":\"stuns:x\"},{\"urls\":[\"turn:x\"]},"
                               "{\"urls\":[\"http://x\", 5, \"stun:a\", \"stun:b\"]}]",
                           err, sizeof err), 0);
    assert_string_equal(c.stun, "stun://a:3478");
    assert_int_equal(c.nturn, 0);
    assert_int_equal(c.skipped, 4);
    assert_null(iceconf_turn_list(&c));
    iceconf_clear(&c);
}

static void test_malformed_lists_are_refused(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "{}", "[1]", "[{\"urls\":1}]", "[{\"urls\":[\"turn:x\"],\"username\":5,\"credential\":\"p\"}]",
        "[{}]",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct iceconf c;
        char err[160];
        if (parse(&c, cases[i], err, sizeof err) == 0)
            fail_msg("accepted %s", cases[i]);
        assert_true(strlen(err) > 0);
        assert_null(c.stun);
        assert_int_equal(c.nturn, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stun_and_turn_become_webrtcbin_uris),
        cmocka_unit_test(test_unusable_urls_are_skipped_and_counted),
        cmocka_unit_test(test_malformed_lists_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
