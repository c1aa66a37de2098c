/* test_token.c - JWT verification, claims and minting (token.c,
 * token_mint.c): every refusal, the questions the cloud asks, and tokens
 * made by an independent implementation (Node's crypto, see
 * token-vectors.mjs) verified with PEM and JWKS keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "../support/testrng.h"
#include "token_test.h"

#include "cloud/token.h"
#include "cloud/token_mint.h"

#define NOW 1800000000LL /* 2027-01-15 */

static char why[512];

/* A verifier of TOKEN_TEST_SECRET with the default configuration, or cfg. */
static struct token_verifier *verifier_with(const struct token_config *cfg)
{
    char err[256];
    struct keyset *ks =
        keyset_load(&(struct keyset_source){.secret = TOKEN_TEST_SECRET}, err, sizeof err);
    assert_non_null(ks);
    struct token_config defaults;
    token_config_defaults(&defaults);
    struct token_verifier *v = token_verifier_new(cfg ? cfg : &defaults, ks);
    assert_non_null(v);
    return v;
}

static int setup(void **state)
{
    *state = verifier_with(NULL);
    memset(why, 0, sizeof why);
    return 0;
}

static int teardown(void **state)
{
    token_verifier_free(*state);
    return 0;
}

/* Verifies token at now; keeps why; frees the claims. TOKEN_TEST_DEBUG=1
 * in the environment prints each verdict and its text. */
static enum token_error check_at(struct token_verifier *v, const char *token, int64_t now)
{
    struct token_claims *c = NULL;
    enum token_error e = token_verify(v, token, strlen(token), now, &c, why, sizeof why);
    if (e == TOKEN_OK)
        assert_non_null(c);
    else
        assert_null(c);
    if (getenv("TOKEN_TEST_DEBUG"))
        fprintf(stderr, "  %s: %s\n", token_error_code(e), why);
    token_claims_free(c);
    return e;
}

/* Signs payload with TOKEN_TEST_SECRET under a plain HS256 header and verifies it at NOW. */
static enum token_error check_payload(void **state, const char *payload)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload);
    enum token_error e = check_at(*state, tok, NOW);
    free(tok);
    return e;
}

/* header.payload.signature with the given signature bytes (an empty
 * signature segment when siglen is 0). Free the result. */
static char *token_with_signature(const char *header, const char *payload,
                                  const unsigned char *sig, size_t siglen)
{
    char *tok = token_test_append_b64(NULL, header, strlen(header));
    tok = token_test_append(tok, ".");
    tok = token_test_append_b64(tok, payload, strlen(payload));
    tok = token_test_append(tok, ".");
    return token_test_append_b64(tok, sig, siglen);
}

/* Verifies a signed payload and returns its claims (the caller frees). */
static struct token_claims *claims_of(void **state, const char *payload)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"}", payload);
    struct token_claims *c = NULL;
    enum token_error e = token_verify(*state, tok, strlen(tok), NOW, &c, why, sizeof why);
    free(tok);
    if (e != TOKEN_OK)
        fail_msg("refused: %s (%s)", token_error_code(e), why);
    return c;
}

#define VIEWER(extra)                                                                    \
    "{\"sub\":\"alice\",\"role\":\"viewer\",\"robots\":[\"lab-*\",\"dock-?\"],"            \
    "\"scope\":\"watch\",\"iat\":1800000000,\"exp\":1800003600" extra "}"
#define ROBOT(extra)                                                                     \
    "{\"sub\":\"unit-7\",\"role\":\"robot\",\"robot_id\":\"lab-7\",\"iat\":1800000000,"   \
    "\"exp\":1800003600" extra "}"

#define assert_refused(e, code) assert_string_equal(token_error_code(e), code)

/* ---- a valid token -------------------------------------------------------- */

static void test_valid_viewer_token_gives_its_claims(void **state)
{
    struct token_claims *c = claims_of(state, VIEWER(",\"jti\":\"j-1\""));
    assert_int_equal(c->role, TOKEN_ROLE_VIEWER);
    assert_string_equal(c->sub, "alice");
    assert_int_equal(c->scope, TOKEN_SCOPE_WATCH);
    assert_int_equal(c->n_robots, 2);
    assert_string_equal(c->robots[0], "lab-*");
    assert_string_equal(c->robots[1], "dock-?");
    assert_null(c->robot_id);
    assert_int_equal(c->exp, 1800003600);
    assert_int_equal(c->iat, 1800000000);
    assert_string_equal(c->jti, "j-1");
    token_claims_free(c);
}

static void test_valid_robot_token_gives_its_claims(void **state)
{
    struct token_claims *c = claims_of(state, ROBOT(""));
    assert_int_equal(c->role, TOKEN_ROLE_ROBOT);
    assert_string_equal(c->sub, "unit-7");
    assert_string_equal(c->robot_id, "lab-7");
    assert_int_equal(c->n_robots, 0);
    assert_null(c->jti);
    token_claims_free(c);
}

/* ---- time ----------------------------------------------------------------- */

static void test_expired_token_is_refused(void **state)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"}", ROBOT(""));
    assert_refused(check_at(*state, tok, 1800003600 + 31), "token-expired");
    free(tok);
}

static void test_expired_within_clock_skew_is_accepted(void **state)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"}", ROBOT(""));
    assert_int_equal(check_at(*state, tok, 1800003600 + 29), TOKEN_OK);
    free(tok);
}

static void test_clock_skew_is_configurable(void **state)
{
    (void)state;
    struct token_config cfg;
    token_config_defaults(&cfg);
    cfg.leeway_s = 0;
    struct token_verifier *v = verifier_with(&cfg);
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"}", ROBOT(""));
    assert_int_equal(check_at(v, tok, 1800003599), TOKEN_OK);
    assert_refused(check_at(v, tok, 1800003600), "token-expired");
    free(tok);
    token_verifier_free(v);
}

static void test_token_before_nbf_is_not_yet_valid(void **state)
{
    assert_refused(check_payload(state, ROBOT(",\"nbf\":1800000100")), "token-not-yet-valid");
}

static void test_nbf_within_clock_skew_is_accepted(void **state)
{
    assert_int_equal(check_payload(state, ROBOT(",\"nbf\":1800000020")), TOKEN_OK);
}

static void test_token_issued_in_the_future_is_not_yet_valid(void **state)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"}", ROBOT(""));
    assert_refused(check_at(*state, tok, 1800000000 - 120), "token-not-yet-valid");
    free(tok);
}

static void test_token_without_exp_is_refused(void **state)
{
    assert_refused(check_payload(state, "{\"sub\":\"a\",\"role\":\"robot\",\"robot_id\":\"x\"}"),
                   "missing-claim");
}

static void test_exp_that_is_not_a_number_is_refused(void **state)
{
    assert_refused(check_payload(state, "{\"sub\":\"a\",\"role\":\"robot\",\"robot_id\":\"x\","
                                        "\"exp\":\"1800003600\"}"),
                   "invalid-claim");
}

static void test_fractional_exp_is_accepted(void **state)
{
    assert_int_equal(check_payload(state, "{\"sub\":\"a\",\"role\":\"robot\",\"robot_id\":\"x\","
                                          "\"exp\":1800003600.5}"),
                     TOKEN_OK);
}

/* ---- algorithms ----------------------------------------------------------- */

static void test_alg_none_without_signature_is_refused(void **state)
{
    char *tok = token_with_signature("{\"alg\":\"none\"}", ROBOT(""), NULL, 0);
    assert_refused(check_at(*state, tok, NOW), "bad-algorithm");
    free(tok);
}

static void test_alg_none_with_a_signature_is_refused(void **state)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"none\"}", ROBOT(""));
    assert_refused(check_at(*state, tok, NOW), "bad-algorithm");
    free(tok);
}

static void test_algorithms_outside_the_four_are_refused(void **state)
{
    static const char *const headers[] = {
        "{\"alg\":\"HS512\"}", "{\"alg\":\"hs256\"}", "{\"alg\":\"PS256\"}",
        "{\"alg\":\"NONE\"}", "{\"alg\":\"\"}",
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, headers[i], ROBOT(""));
        assert_refused(check_at(*state, tok, NOW), "bad-algorithm");
        free(tok);
    }
}

static void test_header_without_alg_is_malformed(void **state)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"typ\":\"JWT\"}", ROBOT(""));
    assert_refused(check_at(*state, tok, NOW), "malformed-token");
    free(tok);
}

static void test_header_with_crit_is_refused(void **state)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
                                      ROBOT(""));
    assert_refused(check_at(*state, tok, NOW), "malformed-token");
    free(tok);
}

/* The classic forgery: HS256 with the server's RSA public key (PEM text)
 * as the HMAC secret. The RSA key is for RS256 only. */
static void test_hs256_token_against_an_rsa_key_is_refused(void **state)
{
    (void)state;
    FILE *f = fopen(token_test_fixture("rsa.pem"), "r");
    assert_non_null(f);
    char pem[4096];
    size_t n = fread(pem, 1, sizeof pem - 1, f);
    fclose(f);
    pem[n] = '\0';
    char err[256];
    struct keyset *ks = keyset_load(
        &(struct keyset_source){.jwks_file = token_test_fixture("rsa.pem")}, err, sizeof err);
    assert_non_null(ks);
    struct token_config cfg;
    token_config_defaults(&cfg);
    struct token_verifier *v = token_verifier_new(&cfg, ks);
    char *tok = token_test_sign_hs256(pem, "{\"alg\":\"HS256\"}", ROBOT(""));
    assert_refused(check_at(v, tok, NOW), "bad-algorithm");
    free(tok);
    token_verifier_free(v);
}

static void test_rs256_token_against_a_secret_is_refused(void **state)
{
    unsigned char junk[256];
    memset(junk, 0x5a, sizeof junk);
    char *tok = token_with_signature("{\"alg\":\"RS256\"}", ROBOT(""), junk, sizeof junk);
    assert_refused(check_at(*state, tok, NOW), "bad-algorithm");
    free(tok);
}

/* ---- signatures ----------------------------------------------------------- */

static void test_changed_signature_is_refused(void **state)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"}", ROBOT(""));
    char *last = tok + strlen(tok) - 2; /* not the last: its low bits are unused */
    *last = *last == 'A' ? 'B' : 'A';
    assert_refused(check_at(*state, tok, NOW), "bad-signature");
    free(tok);
}

static void test_token_of_another_secret_is_refused(void **state)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_OTHER_SECRET, "{\"alg\":\"HS256\"}", ROBOT(""));
    assert_refused(check_at(*state, tok, NOW), "bad-signature");
    free(tok);
}

static void test_payload_changed_after_signing_is_refused(void **state)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"}", ROBOT(""));
    char *other = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"}",
                                        "{\"sub\":\"x\",\"role\":\"robot\",\"robot_id\":\"lab-8\","
                                        "\"exp\":1800003600}");
    /* other's header and payload with tok's signature. */
    char *sig = strrchr(tok, '.');
    strcpy(strrchr(other, '.'), sig);
    assert_refused(check_at(*state, other, NOW), "bad-signature");
    free(tok);
    free(other);
}

static void test_short_signature_is_refused(void **state)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"}", ROBOT(""));
    strrchr(tok, '.')[5] = '\0';
    assert_refused(check_at(*state, tok, NOW), "bad-signature");
    free(tok);
}

/* ---- issuer and audience -------------------------------------------------- */

static struct token_verifier *verifier_iss_aud(const char *iss, const char *aud)
{
    struct token_config cfg;
    token_config_defaults(&cfg);
    cfg.issuer = iss;
    cfg.audience = aud;
    return verifier_with(&cfg);
}

static enum token_error check_with(struct token_verifier *v, const char *payload)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"}", payload);
    enum token_error e = check_at(v, tok, NOW);
    free(tok);
    token_verifier_free(v);
    return e;
}

static void test_wrong_audience_is_refused(void **state)
{
    (void)state;
    assert_refused(check_with(verifier_iss_aud(NULL, "porthole"), ROBOT(",\"aud\":\"other\"")),
                   "wrong-audience");
}

static void test_missing_audience_is_refused_when_one_is_configured(void **state)
{
    (void)state;
    assert_refused(check_with(verifier_iss_aud(NULL, "porthole"), ROBOT("")), "wrong-audience");
}

static void test_audience_array_naming_us_is_accepted(void **state)
{
    (void)state;
    assert_int_equal(check_with(verifier_iss_aud(NULL, "porthole"),
                                ROBOT(",\"aud\":[\"other\",\"porthole\"]")),
                     TOKEN_OK);
}

static void test_audience_array_not_naming_us_is_refused(void **state)
{
    (void)state;
    assert_refused(check_with(verifier_iss_aud(NULL, "porthole"),
                              ROBOT(",\"aud\":[\"other\",7,\"porthole-2\"]")),
                   "wrong-audience");
}

static void test_audience_is_refused_when_none_is_configured(void **state)
{
    assert_refused(check_payload(state, ROBOT(",\"aud\":\"somewhere\"")), "wrong-audience");
}

static void test_wrong_issuer_is_refused(void **state)
{
    (void)state;
    assert_refused(check_with(verifier_iss_aud("https://id.example", NULL),
                              ROBOT(",\"iss\":\"https://evil.example\"")),
                   "wrong-issuer");
}

static void test_missing_issuer_is_refused_when_one_is_configured(void **state)
{
    (void)state;
    assert_refused(check_with(verifier_iss_aud("https://id.example", NULL), ROBOT("")),
                   "wrong-issuer");
}

static void test_right_issuer_and_audience_are_accepted(void **state)
{
    (void)state;
    assert_int_equal(check_with(verifier_iss_aud("https://id.example", "porthole"),
                                ROBOT(",\"iss\":\"https://id.example\",\"aud\":\"porthole\"")),
                     TOKEN_OK);
}

/* ---- roles ---------------------------------------------------------------- */

static void test_viewer_token_cannot_register_a_robot(void **state)
{
    struct token_claims *c = claims_of(state, VIEWER(""));
    assert_refused(token_may_register(c, "lab-1"), "wrong-role");
    token_claims_free(c);
}

static void test_robot_token_for_another_id_cannot_register(void **state)
{
    struct token_claims *c = claims_of(state, ROBOT(""));
    assert_refused(token_may_register(c, "lab-8"), "wrong-robot");
    assert_refused(token_may_register(c, "lab-7x"), "wrong-robot");
    assert_refused(token_may_register(c, "lab-"), "wrong-robot");
    token_claims_free(c);
}

static void test_robot_token_registers_its_own_id(void **state)
{
    struct token_claims *c = claims_of(state, ROBOT(""));
    assert_int_equal(token_may_register(c, "lab-7"), TOKEN_OK);
    token_claims_free(c);
}

static void test_robot_token_is_not_a_viewer(void **state)
{
    struct token_claims *c = claims_of(state, ROBOT(""));
    assert_refused(token_may_see(c, "lab-7"), "wrong-role");
    assert_refused(token_has_scope(c, TOKEN_SCOPE_WATCH), "wrong-role");
    token_claims_free(c);
}

static void test_robot_id_is_taken_literally_not_as_a_pattern(void **state)
{
    assert_refused(check_payload(state, "{\"sub\":\"a\",\"role\":\"robot\",\"robot_id\":\"lab-*\","
                                        "\"exp\":1800003600}"),
                   "invalid-claim");
}

static void test_unknown_role_is_refused(void **state)
{
    assert_refused(check_payload(state, "{\"sub\":\"a\",\"role\":\"admin\",\"robot_id\":\"x\","
                                        "\"exp\":1800003600}"),
                   "invalid-claim");
}

static void test_missing_role_is_refused(void **state)
{
    assert_refused(check_payload(state, "{\"sub\":\"a\",\"robot_id\":\"x\",\"exp\":1800003600}"),
                   "missing-claim");
}

static void test_robot_without_robot_id_is_refused(void **state)
{
    assert_refused(check_payload(state, "{\"sub\":\"a\",\"role\":\"robot\",\"exp\":1800003600}"),
                   "missing-claim");
}

static void test_viewer_without_robots_or_scope_is_refused(void **state)
{
    assert_refused(check_payload(state, "{\"sub\":\"a\",\"role\":\"viewer\",\"scope\":\"watch\","
                                        "\"exp\":1800003600}"),
                   "missing-claim");
    assert_refused(check_payload(state, "{\"sub\":\"a\",\"role\":\"viewer\",\"robots\":[\"x\"],"
                                        "\"exp\":1800003600}"),
                   "missing-claim");
}

static void test_token_without_sub_is_refused(void **state)
{
    assert_refused(check_payload(state, "{\"role\":\"robot\",\"robot_id\":\"x\",\"exp\":1800003600}"),
                   "missing-claim");
}

static void test_sub_with_control_characters_is_refused(void **state)
{
    assert_refused(check_payload(state, "{\"sub\":\"a\\nb\",\"role\":\"robot\",\"robot_id\":\"x\","
                                        "\"exp\":1800003600}"),
                   "invalid-claim");
}

/* ---- scopes --------------------------------------------------------------- */

static void test_each_scope_implies_the_ones_before_it(void **state)
{
    (void)state;
    struct token_claims c = {.role = TOKEN_ROLE_VIEWER, .scope = TOKEN_SCOPE_CONTROL};
    assert_int_equal(token_has_scope(&c, TOKEN_SCOPE_WATCH), TOKEN_OK);
    assert_int_equal(token_has_scope(&c, TOKEN_SCOPE_CONTROL), TOKEN_OK);
    assert_refused(token_has_scope(&c, TOKEN_SCOPE_ADMIN), "insufficient-scope");
    c.scope = TOKEN_SCOPE_WATCH;
    assert_refused(token_has_scope(&c, TOKEN_SCOPE_CONTROL), "insufficient-scope");
    c.scope = TOKEN_SCOPE_ADMIN;
    assert_int_equal(token_has_scope(&c, TOKEN_SCOPE_CONTROL), TOKEN_OK);
}

static void test_space_separated_scope_counts_its_highest_word(void **state)
{
    (void)state;
    assert_int_equal(token_scope_parse("watch"), TOKEN_SCOPE_WATCH);
    assert_int_equal(token_scope_parse("watch control"), TOKEN_SCOPE_CONTROL);
    assert_int_equal(token_scope_parse("admin  watch"), TOKEN_SCOPE_ADMIN);
}

static void test_unknown_scope_words_are_refused(void **state)
{
    assert_int_equal(token_scope_parse("openid watch"), TOKEN_SCOPE_NONE);
    assert_int_equal(token_scope_parse("Watch"), TOKEN_SCOPE_NONE);
    assert_int_equal(token_scope_parse(""), TOKEN_SCOPE_NONE);
    assert_refused(check_payload(state, "{\"sub\":\"a\",\"role\":\"viewer\",\"robots\":[\"x\"],"
                                        "\"scope\":\"watch superuser\",\"exp\":1800003600}"),
                   "invalid-claim");
    assert_refused(check_payload(state, "{\"sub\":\"a\",\"role\":\"viewer\",\"robots\":[\"x\"],"
                                        "\"scope\":[\"watch\"],\"exp\":1800003600}"),
                   "invalid-claim");
}

/* ---- robots and patterns -------------------------------------------------- */

static void test_glob_star_matches_any_run_and_question_mark_one_character(void **state)
{
    (void)state;
    assert_true(token_glob_match("lab-*", "lab-1"));
    assert_true(token_glob_match("lab-*", "lab-"));
    assert_true(token_glob_match("lab-*", "lab-12.north"));
    assert_false(token_glob_match("lab-*", "lab"));
    assert_false(token_glob_match("lab-*", "xlab-1"));
    assert_true(token_glob_match("dock-?", "dock-1"));
    assert_false(token_glob_match("dock-?", "dock-12"));
    assert_false(token_glob_match("dock-?", "dock-"));
    assert_true(token_glob_match("*", "anything"));
    assert_true(token_glob_match("*-7", "lab-7"));
    assert_true(token_glob_match("a*b*c", "aXXbYYc"));
    assert_false(token_glob_match("a*b*c", "aXXbYY"));
    assert_true(token_glob_match("lab-7", "lab-7"));
    assert_false(token_glob_match("lab-7", "lab-70"));
}

static void test_glob_has_no_path_or_class_semantics(void **state)
{
    (void)state;
    assert_false(token_glob_match("lab.*", "labx1"));
    assert_true(token_glob_match("lab.*", "lab.1"));
    assert_true(token_glob_match("*", "a/b"));
    assert_false(token_glob_match("[ab]", "a"));
}

static void test_glob_worst_case_is_fast(void **state)
{
    (void)state;
    char name[65];
    memset(name, 'a', 64);
    name[64] = '\0';
    clock_t t0 = clock();
    for (int i = 0; i < 1000; i++)
        assert_false(token_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", name));
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
}

static void test_viewer_sees_only_matching_robots(void **state)
{
    struct token_claims *c = claims_of(state, VIEWER(""));
    assert_int_equal(token_may_see(c, "lab-3"), TOKEN_OK);
    assert_int_equal(token_may_see(c, "dock-9"), TOKEN_OK);
    assert_refused(token_may_see(c, "dock-10"), "robot-not-allowed");
    assert_refused(token_may_see(c, "office-1"), "robot-not-allowed");
    token_claims_free(c);
}

static void test_single_string_robots_is_one_pattern(void **state)
{
    struct token_claims *c = claims_of(state, "{\"sub\":\"a\",\"role\":\"viewer\",\"robots\":"
                                              "\"lab-*\",\"scope\":\"watch\",\"exp\":1800003600}");
    assert_int_equal(c->n_robots, 1);
    assert_int_equal(token_may_see(c, "lab-1"), TOKEN_OK);
    token_claims_free(c);
}

static void test_empty_robots_sees_nothing(void **state)
{
    struct token_claims *c = claims_of(state, "{\"sub\":\"a\",\"role\":\"viewer\",\"robots\":[],"
                                              "\"scope\":\"admin\",\"exp\":1800003600}");
    assert_refused(token_may_see(c, "lab-1"), "robot-not-allowed");
    assert_int_equal(token_has_scope(c, TOKEN_SCOPE_ADMIN), TOKEN_OK);
    token_claims_free(c);
}

static void test_patterns_outside_the_id_syntax_are_refused(void **state)
{
    static const char *const bad[] = {
        "[\"lab-[12]\"]", "[\"lab 1\"]", "[\"\"]", "[7]", "{\"a\":1}",
        "[\"lab/\\u0000x\"]",
        "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]", /* 65 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char payload[512];
        snprintf(payload, sizeof payload,
                 "{\"sub\":\"a\",\"role\":\"viewer\",\"robots\":%s,\"scope\":\"watch\","
                 "\"exp\":1800003600}", bad[i]);
        enum token_error e = check_payload(state, payload);
        if (e != TOKEN_ERR_INVALID_CLAIM && e != TOKEN_ERR_MALFORMED)
            fail_msg("robots %s: %s", bad[i], token_error_code(e));
    }
}

static void test_too_many_robots_are_refused(void **state)
{
    char payload[2048] = "{\"sub\":\"a\",\"role\":\"viewer\",\"scope\":\"watch\","
                         "\"exp\":1800003600,\"robots\":[";
    for (int i = 0; i <= TOKEN_ROBOTS_MAX; i++)
        snprintf(payload + strlen(payload), sizeof payload - strlen(payload), "%s\"r%d\"",
                 i ? "," : "", i);
    strcat(payload, "]}");
    assert_refused(check_payload(state, payload), "invalid-claim");
}

/* ---- malformed tokens ----------------------------------------------------- */

static void test_malformed_base64_is_refused(void **state)
{
    char *good = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"}", ROBOT(""));
    char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
    /* A character outside base64url in each segment in turn, padding,
     * and a length that no base64 has. */
    char *cases[] = {strdup(good), strdup(good), strdup(good), NULL, NULL};
    cases[0][3] = '+';
    cases[1][dot1 - good + 4] = '/';
    cases[2][dot2 - good + 1] = '=';
    size_t n = 3;
    char buf[4096];
    snprintf(buf, sizeof buf, "%.*s=.%s", (int)(dot1 - good), good, dot1 + 1);
    cases[n++] = strdup(buf);
    /* A payload of 1 modulo 4 characters. */
    int pad = (int)((5 - (size_t)(dot2 - dot1 - 1) % 4) % 4);
    snprintf(buf, sizeof buf, "%.*s%.*s%s", (int)(dot2 - good), good, pad, "AAAA", dot2);
    cases[n++] = strdup(buf);
    for (size_t i = 0; i < n; i++) {
        if (check_at(*state, cases[i], NOW) != TOKEN_ERR_MALFORMED)
            fail_msg("case %zu was not refused as malformed", i);
        free(cases[i]);
    }
    free(good);
}

static void test_non_canonical_base64_is_refused(void **state)
{
    /* "e30" is "{}"; "e31" decodes to the same bytes with nonzero unused bits. */
    assert_refused(check_at(*state, "e31.e30.AAAA", NOW), "malformed-token");
}

static void test_malformed_json_in_header_is_refused(void **state)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"", ROBOT(""));
    assert_refused(check_at(*state, tok, NOW), "malformed-token");
    free(tok);
}

static void test_malformed_json_in_signed_payload_is_refused(void **state)
{
    assert_refused(check_payload(state, "{\"sub\":\"a\",\"role\":"), "malformed-token");
    assert_refused(check_payload(state, "[\"not\",\"an\",\"object\"]"), "malformed-token");
    assert_refused(check_payload(state, "{\"sub\":\"a\"} trailing"), "malformed-token");
}

static void test_duplicate_claims_are_refused(void **state)
{
    assert_refused(check_payload(state, ROBOT(",\"robot_id\":\"lab-8\"")), "malformed-token");
}

static void test_wrong_number_of_segments_is_refused(void **state)
{
    static const char *const bad[] = {"", ".", "..", "abc", "e30.e30", "e30.e30.e30.e30",
                                      ".e30.AAAA", "e30..AAAA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum token_error e = check_at(*state, bad[i], NOW);
        if (e != TOKEN_ERR_MALFORMED && !(i == 0 && e == TOKEN_ERR_MISSING))
            fail_msg("\"%s\": %s", bad[i], token_error_code(e));
    }
}

static void test_nul_inside_the_token_is_refused(void **state)
{
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"}", ROBOT(""));
    size_t len = strlen(tok);
    tok[len / 2] = '\0';
    struct token_claims *c = NULL;
    assert_refused(token_verify(*state, tok, len, NOW, &c, why, sizeof why), "malformed-token");
    assert_null(c);
    free(tok);
}

static void test_100_kb_token_is_refused_before_parsing(void **state)
{
    size_t len = 100 * 1024;
    char *tok = malloc(len + 1);
    memset(tok, 'A', len);
    tok[len] = '\0';
    tok[10] = tok[20] = '.';
    assert_refused(check_at(*state, tok, NOW), "token-too-large");
    free(tok);
}

static void test_token_size_limit_is_configurable(void **state)
{
    (void)state;
    char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\"}", ROBOT(""));
    struct token_config cfg;
    token_config_defaults(&cfg);
    cfg.max_len = strlen(tok) - 1;
    struct token_verifier *v = verifier_with(&cfg);
    assert_refused(check_at(v, tok, NOW), "token-too-large");
    token_verifier_free(v);
    cfg.max_len = strlen(tok);
    v = verifier_with(&cfg);
    assert_int_equal(check_at(v, tok, NOW), TOKEN_OK);
    token_verifier_free(v);
    free(tok);
}

static void test_missing_token_is_refused(void **state)
{
    struct token_claims *c = NULL;
    assert_refused(token_verify(*state, NULL, 0, NOW, &c, why, sizeof why), "token-missing");
}

static void test_refusal_texts_never_quote_the_token(void **state)
{
    static const char *const payloads[] = {
        ROBOT(",\"aud\":\"zzsecretaudzz\""), "{\"zzsecretzz\":", ROBOT(",\"nbf\":1900000000"),
        "{\"sub\":\"zzsecretzz\",\"role\":\"zzrolezz\",\"exp\":1800003600}",
    };
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        char *tok = token_test_sign_hs256(TOKEN_TEST_SECRET, "{\"alg\":\"HS256\",\"kid\":\"zzkidzz\"}",
                                          payloads[i]);
        assert_int_not_equal(check_at(*state, tok, NOW), TOKEN_OK);
        assert_true(strlen(why) > 0);
        assert_null(strstr(why, "zz"));
        assert_null(strstr(why, strchr(tok, '.') + 1));
        free(tok);
    }
}

static void test_every_error_has_a_code_and_a_text(void **state)
{
    (void)state;
    for (int e = TOKEN_OK; e < TOKEN_ERR_COUNT; e++) {
        assert_non_null(token_error_code(e));
        assert_non_null(token_error_text(e));
        for (int f = TOKEN_OK; f < e; f++)
            assert_string_not_equal(token_error_code(e), token_error_code(f));
    }
    assert_string_equal(token_error_code(TOKEN_ERR_COUNT), "internal-error");
}

/* ---- minting -------------------------------------------------------------- */

static struct keyset *secret_keys(void)
{
    char err[256];
    struct keyset *ks = keyset_load(&(struct keyset_source){.secret = TOKEN_TEST_SECRET}, err, sizeof err);
    assert_non_null(ks);
    return ks;
}

static void test_minted_viewer_token_verifies_with_its_claims(void **state)
{
    struct keyset *ks = secret_keys();
    struct token_mint_request req = {.role = TOKEN_ROLE_VIEWER, .robots = "lab-*, dock-1",
                                     .scope = TOKEN_SCOPE_CONTROL, .ttl_s = 3600};
    char *tok = NULL;
    assert_int_equal(token_mint(ks, token_verifier_config(*state), &req, NOW, &tok, why,
                                sizeof why), TOKEN_OK);
    struct token_claims *c = NULL;
    assert_int_equal(token_verify(*state, tok, strlen(tok), NOW + 60, &c, why, sizeof why),
                     TOKEN_OK);
    assert_string_equal(c->sub, "viewer");
    assert_int_equal(c->n_robots, 2);
    assert_string_equal(c->robots[1], "dock-1");
    assert_int_equal(c->scope, TOKEN_SCOPE_CONTROL);
    assert_int_equal(c->exp - c->iat, 3600);
    assert_non_null(c->jti);
    token_claims_free(c);
    assert_refused(check_at(*state, tok, NOW + 3600 + 30), "token-expired");
    free(tok);
    keyset_free(ks);
}

static void test_minted_robot_token_is_for_its_robot_id(void **state)
{
    struct keyset *ks = secret_keys();
    struct token_mint_request req = {.role = TOKEN_ROLE_ROBOT, .robot_id = "lab-7", .ttl_s = 60};
    char *tok = NULL;
    assert_int_equal(token_mint(ks, token_verifier_config(*state), &req, NOW, &tok, why,
                                sizeof why), TOKEN_OK);
    struct token_claims *c = NULL;
    assert_int_equal(token_verify(*state, tok, strlen(tok), NOW, &c, why, sizeof why), TOKEN_OK);
    assert_string_equal(c->sub, "lab-7");
    assert_int_equal(token_may_register(c, "lab-7"), TOKEN_OK);
    assert_refused(token_may_register(c, "lab-8"), "wrong-robot");
    token_claims_free(c);
    free(tok);
    keyset_free(ks);
}

static void test_minted_token_carries_configured_issuer_and_audience(void **state)
{
    (void)state;
    struct token_verifier *v = verifier_iss_aud("porthole-cloud", "porthole");
    struct keyset *ks = secret_keys();
    struct token_mint_request req = {.role = TOKEN_ROLE_ROBOT, .robot_id = "r1", .sub = "me",
                                     .ttl_s = 60};
    char *tok = NULL;
    assert_int_equal(token_mint(ks, token_verifier_config(v), &req, NOW, &tok, why, sizeof why),
                     TOKEN_OK);
    assert_int_equal(check_at(v, tok, NOW), TOKEN_OK);
    free(tok);
    keyset_free(ks);
    token_verifier_free(v);
}

static void test_mint_refuses_what_verification_would_refuse(void **state)
{
    struct keyset *ks = secret_keys();
    const struct token_mint_request bad[] = {
        {.role = TOKEN_ROLE_ROBOT, .ttl_s = 60},                          /* no robot id */
        {.role = TOKEN_ROLE_ROBOT, .robot_id = "lab 7", .ttl_s = 60},     /* bad id */
        {.role = TOKEN_ROLE_VIEWER, .ttl_s = 60},                         /* no robots */
        {.role = TOKEN_ROLE_VIEWER, .robots = "lab-[1]", .ttl_s = 60},    /* bad pattern */
        {.role = TOKEN_ROLE_VIEWER, .robots = "x", .ttl_s = 0},           /* no lifetime */
        {.role = TOKEN_ROLE_NONE, .robot_id = "x", .ttl_s = 60},          /* no role */
        {.role = TOKEN_ROLE_ROBOT, .robot_id = "x", .sub = "a\tb", .ttl_s = 60},
        {.role = TOKEN_ROLE_ROBOT, .robot_id = "x", .sub = "\xff", .ttl_s = 60},
        {.role = TOKEN_ROLE_ROBOT, .robot_id = "x", .robots = "lab-*", .ttl_s = 60},
        {.role = TOKEN_ROLE_VIEWER, .robot_id = "x", .robots = "lab-*", .ttl_s = 60},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *tok = NULL;
        enum token_error e = token_mint(ks, token_verifier_config(*state), &bad[i], NOW, &tok,
                                        why, sizeof why);
        if (e == TOKEN_OK || tok)
            fail_msg("request %zu was minted", i);
        assert_true(strlen(why) > 0);
    }
    keyset_free(ks);
}

static void test_mint_needs_an_hs256_secret(void **state)
{
    char err[256];
    struct keyset *ks = keyset_load(
        &(struct keyset_source){.jwks_file = token_test_fixture("ed25519.pem")}, err, sizeof err);
    assert_non_null(ks);
    struct token_mint_request req = {.role = TOKEN_ROLE_ROBOT, .robot_id = "x", .ttl_s = 60};
    char *tok = NULL;
    assert_refused(token_mint(ks, token_verifier_config(*state), &req, NOW, &tok, why, sizeof why),
                   "bad-algorithm");
    assert_null(tok);
    assert_non_null(strstr(why, "--auth-secret"));
    keyset_free(ks);
}

static void test_ttl_parses_seconds_minutes_hours_days(void **state)
{
    (void)state;
    int64_t s = 0;
    assert_int_equal(token_ttl_parse("30s", &s), 0);
    assert_int_equal(s, 30);
    assert_int_equal(token_ttl_parse("15m", &s), 0);
    assert_int_equal(s, 900);
    assert_int_equal(token_ttl_parse("1h", &s), 0);
    assert_int_equal(s, 3600);
    assert_int_equal(token_ttl_parse("7d", &s), 0);
    assert_int_equal(s, 7 * 86400);
    assert_int_equal(token_ttl_parse("90", &s), 0);
    assert_int_equal(s, 90);
    assert_int_equal(token_ttl_parse("3650d", &s), 0);
}

static void test_ttl_refuses_bad_or_unbounded_values(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "0", "0s", "-1h", "1w", "1hh", "h", " 1h", "1h ",
                                      "3651d", "99999999999", "1.5h", "+5m", NULL};
    int64_t s = 42;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (token_ttl_parse(bad[i], &s) != -1)
            fail_msg("\"%s\" was accepted", bad[i] ? bad[i] : "(null)");
    }
    assert_int_equal(s, 42);
}

/* ---- tokens made by Node's crypto (token-vectors.mjs) --------------------- */

/* Verifies the named vector of vectors.json with the keys and the issuer
 * and audience it names, and checks the code and the claims it expects. */
static void check_vector(const char *name)
{
    json_error_t jerr;
    json_t *root = json_load_file(token_test_fixture("vectors.json"), 0, &jerr);
    if (!root)
        fail_msg("%s: %s", token_test_fixture("vectors.json"), jerr.text);
    json_t *vec = NULL, *v;
    size_t i;
    json_array_foreach(json_object_get(root, "vectors"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
            vec = v;
    }
    assert_non_null(vec);
    json_t *keys = json_object_get(vec, "keys");
    const char *secret_file = json_string_value(json_object_get(keys, "secret_file"));
    const char *jwks_file = json_string_value(json_object_get(keys, "jwks_file"));
    char secret_path[1024] = "", jwks_path[1024] = "";
    if (secret_file)
        snprintf(secret_path, sizeof secret_path, "%s", token_test_fixture(secret_file));
    if (jwks_file)
        snprintf(jwks_path, sizeof jwks_path, "%s", token_test_fixture(jwks_file));
    char err[256];
    struct keyset *ks = keyset_load(&(struct keyset_source){
        .secret_file = secret_file ? secret_path : NULL, .jwks_file = jwks_file ? jwks_path : NULL},
        err, sizeof err);
    if (!ks)
        fail_msg("%s: %s", name, err);
    struct token_config cfg;
    token_config_defaults(&cfg);
    cfg.issuer = json_string_value(json_object_get(vec, "issuer"));
    cfg.audience = json_string_value(json_object_get(vec, "audience"));
    struct token_verifier *ver = token_verifier_new(&cfg, ks);
    const char *tok = json_string_value(json_object_get(vec, "token"));
    struct token_claims *c = NULL;
    enum token_error e = token_verify(ver, tok, strlen(tok),
                                      json_integer_value(json_object_get(root, "now")), &c, why,
                                      sizeof why);
    if (strcmp(token_error_code(e), json_string_value(json_object_get(vec, "expect"))) != 0)
        fail_msg("%s: got %s (%s)", name, token_error_code(e), why);
    json_t *want = json_object_get(vec, "claims");
    if (e == TOKEN_OK) {
        assert_string_equal(c->sub, json_string_value(json_object_get(want, "sub")));
        assert_string_equal(token_role_name(c->role),
                            json_string_value(json_object_get(want, "role")));
        assert_int_equal(c->exp, json_integer_value(json_object_get(want, "exp")));
        assert_string_equal(c->jti, json_string_value(json_object_get(want, "jti")));
        if (c->role == TOKEN_ROLE_ROBOT)
            assert_string_equal(c->robot_id, json_string_value(json_object_get(want, "robot_id")));
        else
            assert_int_equal(c->n_robots, json_array_size(json_object_get(want, "robots")));
    }
    token_claims_free(c);
    token_verifier_free(ver);
    json_decref(root);
}

#define VECTOR_TEST(fn, name)       \
    static void fn(void **state)    \
    {                               \
        (void)state;                \
        check_vector(name);         \
    }

VECTOR_TEST(test_node_hs256_viewer_verifies, "hs256-viewer")
VECTOR_TEST(test_node_rs256_robot_verifies_with_pem, "rs256-robot-pem")
VECTOR_TEST(test_node_rs256_robot_verifies_with_jwks, "rs256-robot-jwks")
VECTOR_TEST(test_node_es256_viewer_verifies_with_pem, "es256-viewer-pem")
VECTOR_TEST(test_node_es256_viewer_verifies_with_jwks, "es256-viewer-jwks")
VECTOR_TEST(test_node_eddsa_robot_verifies_with_pem, "eddsa-robot-pem")
VECTOR_TEST(test_node_eddsa_robot_verifies_with_jwks, "eddsa-robot-jwks")
VECTOR_TEST(test_node_eddsa_viewer_with_issuer_and_audience_array, "eddsa-viewer-iss-aud")
VECTOR_TEST(test_node_es256_der_signature_is_refused, "es256-der-signature")
VECTOR_TEST(test_node_eddsa_token_of_another_key_is_refused, "eddsa-other-key")
VECTOR_TEST(test_node_eddsa_unknown_kid_is_refused, "eddsa-unknown-kid")
VECTOR_TEST(test_node_rs256_token_against_a_secret_is_refused, "rs256-against-secret")
VECTOR_TEST(test_node_hs256_with_public_key_as_secret_is_refused,
            "hs256-with-public-key-as-secret")
VECTOR_TEST(test_node_alg_none_is_refused, "none-algorithm")
VECTOR_TEST(test_node_expired_eddsa_token_is_refused, "eddsa-expired")

/* Every change to a valid token (a character replaced, deleted or
 * inserted, a cut, a segment doubled) is refused, for each algorithm, and
 * none crashes or leaks (the ASan variant runs this too). */
static void test_mutated_tokens_are_all_refused(void **state)
{
    (void)state;
    static const char *const names[] = {"hs256-viewer", "rs256-robot-jwks", "es256-viewer-jwks",
                                        "eddsa-robot-jwks"};
    static const char alphabet[] = "AZaz09-_.=+/ {}\"\\\x01\xff";
    json_t *root = json_load_file(token_test_fixture("vectors.json"), 0, NULL);
    assert_non_null(root);
    char secret_path[1024], jwks_path[1024], err[256];
    snprintf(secret_path, sizeof secret_path, "%s", token_test_fixture("hs256.secret"));
    snprintf(jwks_path, sizeof jwks_path, "%s", token_test_fixture("keys.jwks"));
    struct keyset *ks = keyset_load(
        &(struct keyset_source){.secret_file = secret_path, .jwks_file = jwks_path}, err,
        sizeof err);
    assert_non_null(ks);
    struct token_config cfg;
    token_config_defaults(&cfg);
    struct token_verifier *v = token_verifier_new(&cfg, ks);
    int64_t now = json_integer_value(json_object_get(root, "now"));
    uint64_t rng = 0x70c3e2a1u;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *orig = NULL;
        size_t k;
        json_t *vec;
        json_array_foreach(json_object_get(root, "vectors"), k, vec) {
            if (strcmp(json_string_value(json_object_get(vec, "name")), names[i]) == 0)
                orig = json_string_value(json_object_get(vec, "token"));
        }
        assert_non_null(orig);
        size_t len = strlen(orig);
        assert_int_equal(check_at(v, orig, now), TOKEN_OK);
        char *m = malloc(2 * len + 2);
        for (int round = 0; round < 1500; round++) {
            size_t at = testrng_below(&rng, len), mlen = len;
            char c = alphabet[testrng_below(&rng, sizeof alphabet - 1)];
            memcpy(m, orig, len);
            switch (testrng_below(&rng, 5)) {
            case 0: m[at] = c; break;                                       /* replace */
            case 1: memmove(m + at, m + at + 1, len - at - 1); mlen--; break; /* delete */
            case 2: memmove(m + at + 1, m + at, len - at); m[at] = c; mlen++; break;
            case 3: mlen = at; break;                                         /* cut */
            default: memcpy(m + len, orig, at); mlen = len + at; break;       /* append */
            }
            m[mlen] = '\0';
            if (mlen == len && memcmp(m, orig, len) == 0)
                continue;
            struct token_claims *c2 = NULL;
            enum token_error e = token_verify(v, m, mlen, now, &c2, why, sizeof why);
            if (e == TOKEN_OK)
                fail_msg("%s: mutation %d verified", names[i], round);
            assert_null(c2);
        }
        free(m);
    }
    token_verifier_free(v);
    json_decref(root);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_valid_viewer_token_gives_its_claims),
        T(test_valid_robot_token_gives_its_claims),
        T(test_expired_token_is_refused),
        T(test_expired_within_clock_skew_is_accepted),
        T(test_clock_skew_is_configurable),
        T(test_token_before_nbf_is_not_yet_valid),
        T(test_nbf_within_clock_skew_is_accepted),
        T(test_token_issued_in_the_future_is_not_yet_valid),
        T(test_token_without_exp_is_refused),
        T(test_exp_that_is_not_a_number_is_refused),
        T(test_fractional_exp_is_accepted),
        T(test_alg_none_without_signature_is_refused),
        T(test_alg_none_with_a_signature_is_refused),
        T(test_algorithms_outside_the_four_are_refused),
        T(test_header_without_alg_is_malformed),
        T(test_header_with_crit_is_refused),
        T(test_hs256_token_against_an_rsa_key_is_refused),
        T(test_rs256_token_against_a_secret_is_refused),
        T(test_changed_signature_is_refused),
        T(test_token_of_another_secret_is_refused),
        T(test_payload_changed_after_signing_is_refused),
        T(test_short_signature_is_refused),
        T(test_wrong_audience_is_refused),
        T(test_missing_audience_is_refused_when_one_is_configured),
        T(test_audience_array_naming_us_is_accepted),
        T(test_audience_array_not_naming_us_is_refused),
        T(test_audience_is_refused_when_none_is_configured),
        T(test_wrong_issuer_is_refused),
        T(test_missing_issuer_is_refused_when_one_is_configured),
        T(test_right_issuer_and_audience_are_accepted),
        T(test_viewer_token_cannot_register_a_robot),
        T(test_robot_token_for_another_id_cannot_register),
        T(test_robot_token_registers_its_own_id),
        T(test_robot_token_is_not_a_viewer),
        T(test_robot_id_is_taken_literally_not_as_a_pattern),
        T(test_unknown_role_is_refused),
        T(test_missing_role_is_refused),
        T(test_robot_without_robot_id_is_refused),
        T(test_viewer_without_robots_or_scope_is_refused),
        T(test_token_without_sub_is_refused),
        T(test_sub_with_control_characters_is_refused),
        T(test_each_scope_implies_the_ones_before_it),
        T(test_space_separated_scope_counts_its_highest_word),
        T(test_unknown_scope_words_are_refused),
        T(test_glob_star_matches_any_run_and_question_mark_one_character),
        T(test_glob_has_no_path_or_class_semantics),
        T(test_glob_worst_case_is_fast),
        T(test_viewer_sees_only_matching_robots),
        T(test_single_string_robots_is_one_pattern),
        T(test_empty_robots_sees_nothing),
        T(test_patterns_outside_the_id_syntax_are_refused),
        T(test_too_many_robots_are_refused),
        T(test_malformed_base64_is_refused),
        T(test_non_canonical_base64_is_refused),
        T(test_malformed_json_in_header_is_refused),
        T(test_malformed_json_in_signed_payload_is_refused),
        T(test_duplicate_claims_are_refused),
        T(test_wrong_number_of_segments_is_refused),
        T(test_nul_inside_the_token_is_refused),
        T(test_100_kb_token_is_refused_before_parsing),
        T(test_token_size_limit_is_configurable),
        T(test_missing_token_is_refused),
        T(test_refusal_texts_never_quote_the_token),
        T(test_every_error_has_a_code_and_a_text),
        T(test_mutated_tokens_are_all_refused),
        T(test_minted_viewer_token_verifies_with_its_claims),
        T(test_minted_robot_token_is_for_its_robot_id),
        T(test_minted_token_carries_configured_issuer_and_audience),
        T(test_mint_refuses_what_verification_would_refuse),
        T(test_mint_needs_an_hs256_secret),
        T(test_ttl_parses_seconds_minutes_hours_days),
        T(test_ttl_refuses_bad_or_unbounded_values),
        T(test_node_hs256_viewer_verifies),
        T(test_node_rs256_robot_verifies_with_pem),
        T(test_node_rs256_robot_verifies_with_jwks),
        T(test_node_es256_viewer_verifies_with_pem),
        T(test_node_es256_viewer_verifies_with_jwks),
        T(test_node_eddsa_robot_verifies_with_pem),
        T(test_node_eddsa_robot_verifies_with_jwks),
        T(test_node_eddsa_viewer_with_issuer_and_audience_array),
        T(test_node_es256_der_signature_is_refused),
        T(test_node_eddsa_token_of_another_key_is_refused),
        T(test_node_eddsa_unknown_kid_is_refused),
        T(test_node_rs256_token_against_a_secret_is_refused),
        T(test_node_hs256_with_public_key_as_secret_is_refused),
        T(test_node_alg_none_is_refused),
        T(test_node_expired_eddsa_token_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
