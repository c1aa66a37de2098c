/* test_auth.c - the authentication policies (auth.h): the open ones and
 * protected mode's loopback check, and the token policy's admission of
 * each role, its refusals, and its key reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "token_test.h"

#include "cloud/auth.h"
#include "cloud/auth_jwt.h"
#include "cloud/token_mint.h"

/* ---- the open policies ---- */

static void test_loopback_addresses_are_recognized(void **state)
{
    (void)state;
    assert_true(auth_is_loopback("127.0.0.1"));
    assert_true(auth_is_loopback("127.255.0.9"));
    assert_true(auth_is_loopback("::1"));
    assert_true(auth_is_loopback("::ffff:127.0.0.1"));
    assert_false(auth_is_loopback("192.0.2.1"));
    assert_false(auth_is_loopback("::ffff:192.0.2.1"));
    assert_false(auth_is_loopback("::"));
    assert_false(auth_is_loopback("128.0.0.1"));
    assert_false(auth_is_loopback("localhost"));
    assert_false(auth_is_loopback("?"));
    assert_false(auth_is_loopback(NULL));
}

static void test_protected_mode_serves_only_loopback_peers(void **state)
{
    (void)state;
    assert_true(auth_peer_allowed(&auth_open_loopback, "127.0.0.1"));
    assert_false(auth_peer_allowed(&auth_open_loopback, "203.0.113.5"));
    assert_true(auth_peer_allowed(&auth_open, "203.0.113.5"));
}

static void test_open_policies_admit_without_identities(void **state)
{
    (void)state;
    struct auth_request req = {.role = ROLE_ROBOT, .robot_id = "r1", .remote_addr = "127.0.0.1"};
    struct token_claims *c = (struct token_claims *)&req; /* must be overwritten */
    char why[64];
    assert_int_equal(auth_open.admit(&auth_open, &req, &c, why, sizeof why), TOKEN_OK);
    assert_null(c);
    assert_false(auth_open.needs_token);
    assert_int_equal(auth_reload(&auth_open, why, sizeof why), 0);
    auth_free(&auth_open); /* static: nothing happens */
}

/* ---- the token policy ---- */

static const struct auth *jwt_policy(const char *secret_file)
{
    struct auth_jwt_config ac = {.keys = {.secret_file = secret_file}};
    token_config_defaults(&ac.token);
    char err[200];
    const struct auth *a = auth_jwt_new(&ac, err, sizeof err);
    if (!a)
        fail_msg("auth_jwt_new: %s", err);
    return a;
}

static char *mint(const char *secret, enum token_role role, const char *robot_id)
{
    char err[200];
    struct keyset *ks = keyset_load(&(struct keyset_source){.secret = secret}, err, sizeof err);
    assert_non_null(ks);
    struct token_config cfg;
    token_config_defaults(&cfg);
    struct token_mint_request req = {.role = role, .robot_id = robot_id,
                                     .robots = role == TOKEN_ROLE_VIEWER ? "*" : NULL,
                                     .ttl_s = 600};
    char *tok = NULL;
    assert_int_equal(token_mint(ks, &cfg, &req, time(NULL), &tok, err, sizeof err), TOKEN_OK);
    keyset_free(ks);
    return tok;
}

static enum token_error admit(const struct auth *a, enum role role, const char *robot_id,
                              const char *token)
{
    struct auth_request req = {.role = role, .robot_id = robot_id, .token = token,
                               .token_len = token ? strlen(token) : 0,
                               .remote_addr = "198.51.100.1", .now_s = time(NULL)};
    struct token_claims *c = NULL;
    char why[200] = "";
    enum token_error e = a->admit(a, &req, &c, why, sizeof why);
    assert_true(e == TOKEN_OK ? c != NULL : c == NULL && *why);
    token_claims_free(c);
    return e;
}

static void test_token_policy_admits_each_role_where_it_belongs(void **state)
{
    (void)state;
    char *file = token_test_temp_file(TOKEN_TEST_SECRET);
    const struct auth *a = jwt_policy(file);
    assert_true(a->needs_token);
    char *robot = mint(TOKEN_TEST_SECRET, TOKEN_ROLE_ROBOT, "r1");
    char *viewer = mint(TOKEN_TEST_SECRET, TOKEN_ROLE_VIEWER, NULL);
    assert_int_equal(admit(a, ROLE_ROBOT, "r1", robot), TOKEN_OK);
    assert_int_equal(admit(a, ROLE_ROBOT, "r2", robot), TOKEN_ERR_WRONG_ROBOT);
    assert_int_equal(admit(a, ROLE_ROBOT, "r1", viewer), TOKEN_ERR_WRONG_ROLE);
    assert_int_equal(admit(a, ROLE_CLIENT, NULL, viewer), TOKEN_OK);
    assert_int_equal(admit(a, ROLE_CLIENT, NULL, robot), TOKEN_ERR_WRONG_ROLE);
    assert_int_equal(admit(a, ROLE_NONE, NULL, robot), TOKEN_OK); /* HTTP: any role */
    assert_int_equal(admit(a, ROLE_CLIENT, NULL, NULL), TOKEN_ERR_MISSING);
    free(robot);
    free(viewer);
    auth_free(a);
    token_test_unlink(file);
}

static void test_token_policy_reload_switches_keys_and_keeps_them_on_failure(void **state)
{
    (void)state;
    char *file = token_test_temp_file(TOKEN_TEST_SECRET);
    const struct auth *a = jwt_policy(file);
    char *old_tok = mint(TOKEN_TEST_SECRET, TOKEN_ROLE_VIEWER, NULL);
    char *new_tok = mint(TOKEN_TEST_OTHER_SECRET, TOKEN_ROLE_VIEWER, NULL);
    char err[200];
    FILE *f = fopen(file, "w");
    fputs("too short", f);
    fclose(f);
    assert_int_equal(auth_reload(a, err, sizeof err), -1);
    assert_non_null(strstr(err, "32"));
    assert_int_equal(admit(a, ROLE_CLIENT, NULL, old_tok), TOKEN_OK);
    f = fopen(file, "w");
    fputs(TOKEN_TEST_OTHER_SECRET, f);
    fclose(f);
    assert_int_equal(auth_reload(a, err, sizeof err), 0);
    assert_int_equal(admit(a, ROLE_CLIENT, NULL, old_tok), TOKEN_ERR_BAD_SIGNATURE);
    assert_int_equal(admit(a, ROLE_CLIENT, NULL, new_tok), TOKEN_OK);
    char desc[300];
    auth_describe(a, desc, sizeof desc);
    assert_non_null(strstr(desc, "HS256"));
    assert_null(strstr(desc, TOKEN_TEST_OTHER_SECRET));
    free(old_tok);
    free(new_tok);
    auth_free(a);
    token_test_unlink(file);
}

static void test_token_policy_refuses_keys_that_do_not_load(void **state)
{
    (void)state;
    struct auth_jwt_config ac = {.keys = {.secret = "short"}};
    token_config_defaults(&ac.token);
    char err[200] = "";
    assert_null(auth_jwt_new(&ac, err, sizeof err));
    assert_non_null(strstr(err, "32"));
    assert_null(strstr(err, "short"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_addresses_are_recognized),
        cmocka_unit_test(test_protected_mode_serves_only_loopback_peers),
        cmocka_unit_test(test_open_policies_admit_without_identities),
        cmocka_unit_test(test_token_policy_admits_each_role_where_it_belongs),
        cmocka_unit_test(test_token_policy_reload_switches_keys_and_keeps_them_on_failure),
        cmocka_unit_test(test_token_policy_refuses_keys_that_do_not_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
