/* test_httpguard.c - unit tests of the REST API's header checks
 * (src/robot/httpguard.c): framing, Host on a loopback API (DNS
 * rebinding), Origin, the Bearer token, Content-Type, their order, and
 * that a refusal names what is wrong without echoing more than it must. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "robot/httpguard.h"

#define TOKEN "0123456789abcdef-token"

static const struct httpguard loopback = {.loopback = true};
static const struct httpguard open_net = {.loopback = false, .token = TOKEN};
static const struct httpguard with_origins = {
    .loopback = true, .origins = "https://ops.example.com, http://localhost:3000"};
static const struct httpguard loopback_token = {.loopback = true, .token = TOKEN};

/* A plain GET from curl on the robot itself. */
static struct httpguard_request get(void)
{
    return (struct httpguard_request){.method = "GET", .host = "127.0.0.1:8000",
                                      .host_count = 1};
}

/* A JSON POST. */
static struct httpguard_request post(void)
{
    struct httpguard_request rq = get();
    rq.method = "POST";
    rq.content_length_count = 1;
    rq.content_type = "application/json";
    rq.has_body = true;
    return rq;
}

#define EXPECT(g, rq, status, needle)                                                     \
    do {                                                                                  \
        struct httpguard_request rq_ = (rq);                                              \
        char d_[320] = "";                                                                \
        int s_ = httpguard_check((g), &rq_, d_, sizeof d_);                               \
        if (s_ != (status) || !strstr(d_, (needle)))                                      \
            fail_msg("line %d: status %d \"%s\", want %d with \"%s\"", __LINE__, s_, d_,   \
                     (status), (needle));                                                 \
    } while (0)

static void test_plain_requests_pass(void **state)
{
    (void)state;
    EXPECT(&loopback, get(), 0, "");
    EXPECT(&loopback, post(), 0, "");
    struct httpguard_request rq = post();
    rq.content_type = "Application/JSON; charset=utf-8";
    EXPECT(&loopback, rq, 0, "");
    rq.has_body = false; /* Content-Length: 0, any type */
    rq.content_type = "text/plain";
    EXPECT(&loopback, rq, 0, "");
}

static void test_duplicate_framing_headers_are_400(void **state)
{
    (void)state;
    struct httpguard_request rq = post();
    rq.content_length_count = 2;
    EXPECT(&loopback, rq, 400, "2 Content-Length headers");
    rq = get();
    rq.host_count = 2;
    EXPECT(&loopback, rq, 400, "2 Host headers; exactly one");
    rq = get();
    rq.host = NULL;
    rq.host_count = 0;
    EXPECT(&loopback, rq, 400, "0 Host headers");
    /* Before anything else, even a good token. */
    rq = post();
    rq.content_length_count = 3;
    rq.authorization = "Bearer " TOKEN;
    EXPECT(&open_net, rq, 400, "3 Content-Length");
}

static void test_a_loopback_api_answers_only_loopback_names(void **state)
{
    (void)state;
    static const char *const ok[] = {"127.0.0.1", "127.0.0.1:8000", "localhost",
                                     "LOCALHOST:80", "[::1]", "[::1]:8000", "localhost:1"};
    static const char *const bad[] = {"evil.example", "evil.example:8000", "127.0.0.2",
                                      "127.0.0.1.evil.example", "localhost.evil.example",
                                      "localhost:", "localhost:123456", "localhost:80x",
                                      "[::1]:", "::1", "0.0.0.0:8000", "", "localhost."};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct httpguard_request rq = get();
        rq.host = ok[i];
        EXPECT(&loopback, rq, 0, "");
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct httpguard_request rq = get();
        rq.host = bad[i];
        EXPECT(&loopback, rq, 403, "answers only Host 127.0.0.1, localhost or [::1]");
    }
    /* Beyond loopback any name reaches it (the token guards it). */
    struct httpguard_request rq = get();
    rq.host = "robot-7.lan:8000";
    rq.authorization = "Bearer " TOKEN;
    EXPECT(&open_net, rq, 0, "");
}

static void test_origins_are_refused_unless_allowed(void **state)
{
    (void)state;
    struct httpguard_request rq = post();
    rq.origin = "https://evil.example";
    EXPECT(&loopback, rq, 403, "Origin 'https://evil.example' is not in --api-allowed-origins");
    rq.origin = "null";
    EXPECT(&loopback, rq, 403, "Origin 'null'");
    rq.origin = "https://evil.example";
    EXPECT(&with_origins, rq, 403, "evil.example");
    rq.origin = "https://ops.example.com";
    EXPECT(&with_origins, rq, 0, "");
    rq.origin = "HTTP://LOCALHOST:3000";
    EXPECT(&with_origins, rq, 0, "");
    rq.origin = "http://localhost:30000";
    EXPECT(&with_origins, rq, 403, "Origin");
    assert_true(httpguard_origin_allowed(&with_origins, "http://localhost:3000"));
    assert_false(httpguard_origin_allowed(&with_origins, NULL));
    assert_false(httpguard_origin_allowed(&loopback, "http://localhost:3000"));
    /* A DNS-rebound page fails on Host before Origin. */
    rq.host = "evil.example:8000";
    EXPECT(&with_origins, rq, 403, "Host");
}

static void test_the_bearer_token_is_required_when_set(void **state)
{
    (void)state;
    struct httpguard_request rq = get();
    EXPECT(&loopback_token, rq, 401, "'Authorization: Bearer <token>'");
    rq.authorization = "Basic dXNlcjpwYXNz";
    EXPECT(&loopback_token, rq, 401, "needs");
    rq.authorization = "Bearer ";
    EXPECT(&loopback_token, rq, 401, "needs");
    rq.authorization = "Bearer " TOKEN "x";
    EXPECT(&loopback_token, rq, 401, "not this API's");
    rq.authorization = "Bearer " "0123456789abcdef-tokeN";
    EXPECT(&loopback_token, rq, 401, "not this API's");
    rq.authorization = "Bearer 0123";
    EXPECT(&loopback_token, rq, 401, "not this API's");
    rq.authorization = "bearer " TOKEN;
    EXPECT(&loopback_token, rq, 0, "");
    rq.authorization = "Bearer " TOKEN;
    EXPECT(&open_net, rq, 0, "");
    /* Never echoed. */
    char d[320];
    rq.authorization = "Bearer wrong-token-value";
    assert_int_equal(httpguard_check(&open_net, &rq, d, sizeof d), 401);
    assert_null(strstr(d, "wrong-token-value"));
    assert_null(strstr(d, TOKEN));
}

static void test_a_preflight_from_an_allowed_origin_needs_no_token(void **state)
{
    (void)state;
    struct httpguard g = with_origins;
    g.token = TOKEN;
    struct httpguard_request rq = get();
    rq.method = "OPTIONS";
    rq.origin = "https://ops.example.com";
    EXPECT(&g, rq, 0, "");
    rq.origin = NULL;
    EXPECT(&g, rq, 401, "Bearer");
    rq.method = "GET";
    rq.origin = "https://ops.example.com";
    EXPECT(&g, rq, 401, "Bearer");
}

static void test_a_body_must_be_json(void **state)
{
    (void)state;
    static const char *const bad[] = {"text/plain", "application/x-www-form-urlencoded",
                                      "multipart/form-data; boundary=x", "application/jsonp",
                                      "application/json-seq", "json", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct httpguard_request rq = post();
        rq.content_type = bad[i];
        EXPECT(&loopback, rq, 415, "'Content-Type: application/json'");
    }
    struct httpguard_request rq = post();
    rq.content_type = NULL;
    EXPECT(&loopback, rq, 415, "(got none)");
    rq.content_type = "text/plain;charset=UTF-8";
    EXPECT(&loopback, rq, 415, "(got 'text/plain;charset=UTF-8')");
    /* A token check comes first. */
    EXPECT(&loopback_token, rq, 401, "Bearer");
}

static void test_a_whep_body_must_be_of_its_resources_type(void **state)
{
    (void)state;
    struct httpguard_request rq = post();
    rq.body_type = "application/sdp";
    rq.content_type = "application/sdp";
    EXPECT(&loopback, rq, 0, "");
    rq.content_type = "application/json";
    EXPECT(&loopback, rq, 415, "this resource takes a body of type application/sdp (got "
                               "'application/json')");
    rq.body_type = "application/trickle-ice-sdpfrag";
    rq.content_type = "application/trickle-ice-sdpfrag; charset=utf-8";
    EXPECT(&loopback, rq, 0, "");
    rq.content_type = NULL;
    EXPECT(&loopback, rq, 415, "(got none)");
}

static void test_quoted_headers_are_cut_and_printable(void **state)
{
    (void)state;
    char host[200];
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    host[5] = '\n';
    struct httpguard_request rq = get();
    rq.host = host;
    char d[320];
    assert_int_equal(httpguard_check(&loopback, &rq, d, sizeof d), 403);
    assert_null(strchr(d, '\n'));
    assert_non_null(strstr(d, "hhhhh?hhh"));
    assert_non_null(strstr(d, "...'"));
    char small[16];
    assert_int_equal(httpguard_check(&loopback, &rq, small, sizeof small), 403);
    assert_int_equal(strlen(small), sizeof small - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_requests_pass),
        cmocka_unit_test(test_duplicate_framing_headers_are_400),
        cmocka_unit_test(test_a_loopback_api_answers_only_loopback_names),
        cmocka_unit_test(test_origins_are_refused_unless_allowed),
        cmocka_unit_test(test_the_bearer_token_is_required_when_set),
        cmocka_unit_test(test_a_preflight_from_an_allowed_origin_needs_no_token),
        cmocka_unit_test(test_a_body_must_be_json),
        cmocka_unit_test(test_a_whep_body_must_be_of_its_resources_type),
        cmocka_unit_test(test_quoted_headers_are_cut_and_printable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
