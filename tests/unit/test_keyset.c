/* test_keyset.c - token keys (keyset.c) and base64url (b64url.c): the
 * HS256 secret, PEM and JWKS public keys, what loading refuses, and a
 * SIGHUP reload that keeps the old keys when the new ones fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "token_test.h"

#include "cloud/b64url.h"
#include "cloud/keyset.h"
#include "cloud/token.h"

static char err[512];

/* Loads src; fails the test when it does not load. */
static struct keyset *load_ok(const struct keyset_source *src)
{
    struct keyset *ks = keyset_load(src, err, sizeof err);
    if (!ks)
        fail_msg("refused: %s", err);
    return ks;
}

/* Loads src and asserts it is refused with err naming what. */
static void assert_refused_naming(const struct keyset_source *src, const char *what)
{
    struct keyset *ks = keyset_load(src, err, sizeof err);
    if (ks) {
        keyset_free(ks);
        fail_msg("loaded, expected a refusal naming \"%s\"", what);
    }
    if (!strstr(err, what))
        fail_msg("error \"%s\" does not name \"%s\"", err, what);
}

/* Loads text written to a temporary public-key file. */
static struct keyset *load_public_text(const char *text)
{
    char *path = token_test_temp_file(text);
    struct keyset *ks = keyset_load(&(struct keyset_source){.jwks_file = path}, err, sizeof err);
    token_test_unlink(path);
    return ks;
}

static void assert_public_refused(const char *text, const char *what)
{
    struct keyset *ks = load_public_text(text);
    if (ks) {
        keyset_free(ks);
        fail_msg("loaded, expected a refusal naming \"%s\"", what);
    }
    if (!strstr(err, what))
        fail_msg("error \"%s\" does not name \"%s\"", err, what);
}

/* The PEM text of a fresh key (public, or private with private = true). */
static char *pem_of(EVP_PKEY *pkey, bool private)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    if (private)
        assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
    else
        assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    char *text = strndup(data, (size_t)len);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return text;
}

/* The fixture JWKS with one member of its key kid changed by edit. */
static char *jwks_edited(const char *kid, const char *member, json_t *value)
{
    json_t *root = json_load_file(token_test_fixture("keys.jwks"), 0, NULL);
    assert_non_null(root);
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(root, "keys"), i, k) {
        const char *id = json_string_value(json_object_get(k, "kid"));
        if (id && strcmp(id, kid) == 0) {
            if (value)
                json_object_set_new(k, member, value);
            else
                json_object_del(k, member);
        }
    }
    char *text = json_dumps(root, 0);
    json_decref(root);
    return text;
}

/* ---- base64url ------------------------------------------------------------ */

static void test_b64url_decodes_rfc4648_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } vec[] = {{.in = "", .out = ""}, {.in = "Zg", .out = "f"}, {.in = "Zm8", .out = "fo"},
               {.in = "Zm9v", .out = "foo"}, {.in = "Zm9vYg", .out = "foob"},
               {.in = "Zm9vYmE", .out = "fooba"}, {.in = "Zm9vYmFy", .out = "foobar"},
               {.in = "-_8", .out = "\xfb\xff"}};
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        unsigned char out[16];
        size_t n = 99;
        assert_int_equal(b64url_decode(vec[i].in, strlen(vec[i].in), out, &n), 0);
        assert_int_equal(n, strlen(vec[i].out));
        assert_memory_equal(out, vec[i].out, n);
    }
}

static void test_b64url_round_trips_every_length(void **state)
{
    (void)state;
    unsigned char in[64], out[64 + 3];
    char text[B64URL_ENCODED_LEN(64) + 3];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)(i * 37 + 251);
    for (size_t n = 0; n <= sizeof in; n++) {
        size_t len = b64url_encode(in, n, text);
        assert_int_equal(len, B64URL_ENCODED_LEN(n));
        assert_int_equal(strlen(text), len);
        assert_null(strpbrk(text, "+/="));
        size_t got;
        assert_int_equal(b64url_decode(text, len, out, &got), 0);
        assert_int_equal(got, n);
        assert_memory_equal(out, in, n);
    }
}

static void test_b64url_refuses_padding_other_alphabets_and_bad_lengths(void **state)
{
    (void)state;
    static const char *const bad[] = {"Zg==", "Zm9v+A", "Zm9v/A", "Zm 9v", "Zm9v\n", "Z",
                                      "Zm9vY", "Zh", "Zm9", "Zm-", "Zm9vYR"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char out[16];
        size_t n;
        if (b64url_valid(bad[i], strlen(bad[i])) ||
            b64url_decode(bad[i], strlen(bad[i]), out, &n) == 0)
            fail_msg("\"%s\" was accepted", bad[i]);
    }
}

/* ---- the HS256 secret ----------------------------------------------------- */

static void test_secret_shorter_than_32_bytes_is_refused(void **state)
{
    (void)state;
    assert_refused_naming(&(struct keyset_source){.secret = "0123456789abcdef0123456789abcde"},
                          "at least 32");
    assert_null(strstr(err, "0123456789abcdef"));
}

static void test_secret_of_32_bytes_is_accepted(void **state)
{
    (void)state;
    struct keyset *ks = load_ok(&(struct keyset_source){.secret = "0123456789abcdef0123456789abcdef"});
    assert_int_equal(keyset_count(ks), 1);
    assert_true(keyset_has_alg(ks, KEYSET_ALG_HS256));
    assert_false(keyset_has_alg(ks, KEYSET_ALG_RS256));
    keyset_free(ks);
}

static void test_secret_file_loses_one_trailing_newline(void **state)
{
    (void)state;
    char *path = token_test_temp_file(TOKEN_TEST_SECRET "\n");
    struct keyset *from_file = load_ok(&(struct keyset_source){.secret_file = path});
    struct keyset *from_value = load_ok(&(struct keyset_source){.secret = TOKEN_TEST_SECRET});
    unsigned char a[32], b[32];
    assert_int_equal(keyset_sign_hs256(from_file, (const unsigned char *)"x", 1, a), 0);
    assert_int_equal(keyset_sign_hs256(from_value, (const unsigned char *)"x", 1, b), 0);
    assert_memory_equal(a, b, 32);
    keyset_free(from_file);
    keyset_free(from_value);
    token_test_unlink(path);
}

static void test_short_secret_file_is_refused_with_its_path(void **state)
{
    (void)state;
    char *path = token_test_temp_file("short\n");
    assert_refused_naming(&(struct keyset_source){.secret_file = path}, path);
    assert_non_null(strstr(err, "at least 32"));
    token_test_unlink(path);
}

static void test_secret_given_twice_is_refused(void **state)
{
    (void)state;
    assert_refused_naming(&(struct keyset_source){.secret = TOKEN_TEST_SECRET,
                                                  .secret_file = "/nonexistent"},
                          "--auth-secret-file");
}

static void test_no_source_is_refused(void **state)
{
    (void)state;
    assert_refused_naming(&(struct keyset_source){0}, "no key configured");
}

static void test_missing_or_odd_files_are_refused_with_their_path(void **state)
{
    (void)state;
    assert_refused_naming(&(struct keyset_source){.jwks_file = "/nonexistent/keys.jwks"},
                          "/nonexistent/keys.jwks");
    assert_refused_naming(&(struct keyset_source){.jwks_file = "/tmp"}, "not a regular file");
}

/* ---- PEM ------------------------------------------------------------------ */

static void test_pem_keys_load_with_their_algorithm(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        enum keyset_alg alg;
    } cases[] = {{.file = "rsa.pem", .alg = KEYSET_ALG_RS256},
                 {.file = "ec.pem", .alg = KEYSET_ALG_ES256},
                 {.file = "ed25519.pem", .alg = KEYSET_ALG_EDDSA}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct keyset *ks = load_ok(
            &(struct keyset_source){.jwks_file = token_test_fixture(cases[i].file)});
        assert_int_equal(keyset_count(ks), 1);
        assert_true(keyset_has_alg(ks, cases[i].alg));
        assert_false(keyset_has_alg(ks, KEYSET_ALG_HS256));
        keyset_free(ks);
    }
}

static void test_several_pem_keys_in_one_file_all_load(void **state)
{
    (void)state;
    char *a = pem_of(EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), false);
    char *b = pem_of(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), false);
    char both[4096];
    snprintf(both, sizeof both, "%s%s", a, b);
    struct keyset *ks = load_public_text(both);
    assert_non_null(ks);
    assert_int_equal(keyset_count(ks), 2);
    keyset_free(ks);
    free(a);
    free(b);
}

static void test_pem_private_key_is_refused(void **state)
{
    (void)state;
    char *pem = pem_of(EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), true);
    assert_public_refused(pem, "private key");
    free(pem);
}

static void test_pem_without_public_key_is_refused(void **state)
{
    (void)state;
    assert_public_refused("not a key\n", "PUBLIC KEY");
}

static void test_weak_or_unsupported_pem_keys_are_refused(void **state)
{
    (void)state;
    char *rsa1024 = pem_of(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024), false);
    assert_public_refused(rsa1024, "RSA key of 1024 bits");
    char *p384 = pem_of(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"), false);
    assert_public_refused(p384, "P-256");
    char *x25519 = pem_of(EVP_PKEY_Q_keygen(NULL, NULL, "X25519"), false);
    assert_public_refused(x25519, "X25519");
    free(rsa1024);
    free(p384);
    free(x25519);
}

/* ---- JWKS ----------------------------------------------------------------- */

static void test_jwks_loads_signature_keys_and_skips_the_rest(void **state)
{
    (void)state;
    struct keyset *ks = load_ok(&(struct keyset_source){.jwks_file = token_test_fixture("keys.jwks")});
    assert_int_equal(keyset_count(ks), 3);
    assert_int_equal(keyset_skipped(ks), 2);
    assert_true(keyset_has_alg(ks, KEYSET_ALG_RS256));
    assert_true(keyset_has_alg(ks, KEYSET_ALG_ES256));
    assert_true(keyset_has_alg(ks, KEYSET_ALG_EDDSA));
    char line[256];
    keyset_describe(ks, line, sizeof line);
    assert_string_equal(line, "3 keys: RS256 kid=rsa-1, ES256 kid=ec-1, EdDSA kid=ed-1; 2 skipped");
    keyset_free(ks);
}

static void test_single_jwk_is_a_set_of_one(void **state)
{
    (void)state;
    json_t *root = json_load_file(token_test_fixture("keys.jwks"), 0, NULL);
    char *one = json_dumps(json_array_get(json_object_get(root, "keys"), 2), 0);
    struct keyset *ks = load_public_text(one);
    assert_non_null(ks);
    assert_true(keyset_has_alg(ks, KEYSET_ALG_EDDSA));
    keyset_free(ks);
    free(one);
    json_decref(root);
}

static void test_jwks_with_a_private_key_is_refused(void **state)
{
    (void)state;
    char *text = jwks_edited("ed-1", "d", json_string("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"));
    assert_public_refused(text, "private key");
    free(text);
}

static void test_jwks_that_is_not_json_is_refused(void **state)
{
    (void)state;
    assert_public_refused("{\"keys\": [", "not JSON");
    assert_public_refused("{\"keys\": {}}", "not an array");
    assert_public_refused("{\"keys\": [], \"keys\": []}", "not JSON");
}

static void test_jwks_without_usable_keys_is_refused(void **state)
{
    (void)state;
    assert_public_refused("{\"keys\": []}", "no usable key");
    assert_public_refused("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}", "1 skipped");
}

static void test_jwk_point_not_on_p256_is_refused(void **state)
{
    (void)state;
    json_t *root = json_load_file(token_test_fixture("keys.jwks"), 0, NULL);
    const char *x = json_string_value(json_object_get(json_array_get(json_object_get(root, "keys"), 1), "x"));
    char *text = jwks_edited("ec-1", "y", json_string(x)); /* (x, x) is not on the curve */
    json_decref(root);
    assert_public_refused(text, "key 1");
    free(text);
}

static void test_jwk_members_of_wrong_size_or_syntax_are_refused(void **state)
{
    (void)state;
    char *text = jwks_edited("ed-1", "x", json_string("AAAA"));
    assert_public_refused(text, "32 bytes");
    free(text);
    text = jwks_edited("rsa-1", "n", json_string("not base64!"));
    assert_public_refused(text, "\"n\"");
    free(text);
    text = jwks_edited("ec-1", "y", NULL);
    assert_public_refused(text, "\"y\" is missing");
    free(text);
    text = jwks_edited("ec-1", "kid", json_integer(7));
    assert_public_refused(text, "kid");
    free(text);
}

static void test_jwk_for_another_use_or_algorithm_is_skipped(void **state)
{
    (void)state;
    char *text = jwks_edited("rsa-1", "alg", json_string("RS512"));
    struct keyset *ks = load_public_text(text);
    assert_non_null(ks);
    assert_false(keyset_has_alg(ks, KEYSET_ALG_RS256));
    assert_int_equal(keyset_skipped(ks), 3);
    keyset_free(ks);
    free(text);
    text = jwks_edited("ec-1", "key_ops", json_pack("[s]", "encrypt"));
    ks = load_public_text(text);
    assert_non_null(ks);
    assert_false(keyset_has_alg(ks, KEYSET_ALG_ES256));
    keyset_free(ks);
    free(text);
}

static void test_secret_and_public_keys_together(void **state)
{
    (void)state;
    struct keyset *ks = load_ok(&(struct keyset_source){
        .secret = TOKEN_TEST_SECRET, .jwks_file = token_test_fixture("ed25519.pem")});
    char line[256];
    keyset_describe(ks, line, sizeof line);
    assert_string_equal(line, "2 keys: HS256 (secret), EdDSA (PEM)");
    assert_null(strstr(line, TOKEN_TEST_SECRET));
    keyset_free(ks);
}

/* ---- reload --------------------------------------------------------------- */

static enum token_error verify_hs(struct token_verifier *v, const char *secret)
{
    char *tok = token_test_sign_hs256(secret, "{\"alg\":\"HS256\"}",
                                      "{\"sub\":\"a\",\"role\":\"robot\",\"robot_id\":\"r\","
                                      "\"exp\":1800003600}");
    struct token_claims *c = NULL;
    enum token_error e = token_verify(v, tok, strlen(tok), 1800000000, &c, NULL, 0);
    token_claims_free(c);
    free(tok);
    return e;
}

static struct token_verifier *verifier_of(const char *secret)
{
    struct token_config cfg;
    token_config_defaults(&cfg);
    return token_verifier_new(&cfg, load_ok(&(struct keyset_source){.secret = secret}));
}

static void test_reload_that_fails_keeps_the_old_keys(void **state)
{
    (void)state;
    struct token_verifier *v = verifier_of(TOKEN_TEST_SECRET);
    assert_int_equal(token_verifier_reload(v, &(struct keyset_source){.secret = "short"}, err,
                                           sizeof err), -1);
    assert_non_null(strstr(err, "at least 32"));
    assert_int_equal(verify_hs(v, TOKEN_TEST_SECRET), TOKEN_OK);
    assert_int_equal(token_verifier_reload(
                         v, &(struct keyset_source){.jwks_file = "/nonexistent.jwks"}, err,
                         sizeof err), -1);
    assert_int_equal(verify_hs(v, TOKEN_TEST_SECRET), TOKEN_OK);
    token_verifier_free(v);
}

static void test_reload_rotates_to_the_new_keys(void **state)
{
    (void)state;
    struct token_verifier *v = verifier_of(TOKEN_TEST_SECRET);
    assert_int_equal(token_verifier_reload(
                         v, &(struct keyset_source){.secret = TOKEN_TEST_OTHER_SECRET}, err,
                         sizeof err), 0);
    assert_int_equal(verify_hs(v, TOKEN_TEST_OTHER_SECRET), TOKEN_OK);
    assert_int_equal(verify_hs(v, TOKEN_TEST_SECRET), TOKEN_ERR_BAD_SIGNATURE);
    token_verifier_free(v);
}

static void test_alg_names_round_trip_and_none_is_not_one(void **state)
{
    (void)state;
    for (int a = KEYSET_ALG_HS256; a <= KEYSET_ALG_EDDSA; a++)
        assert_int_equal(keyset_alg_parse(keyset_alg_name(a)), a);
    assert_int_equal(keyset_alg_parse("none"), KEYSET_ALG_NONE);
    assert_int_equal(keyset_alg_parse("eddsa"), KEYSET_ALG_NONE);
    assert_int_equal(keyset_alg_parse(NULL), KEYSET_ALG_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_decodes_rfc4648_vectors),
        cmocka_unit_test(test_b64url_round_trips_every_length),
        cmocka_unit_test(test_b64url_refuses_padding_other_alphabets_and_bad_lengths),
        cmocka_unit_test(test_secret_shorter_than_32_bytes_is_refused),
        cmocka_unit_test(test_secret_of_32_bytes_is_accepted),
        cmocka_unit_test(test_secret_file_loses_one_trailing_newline),
        cmocka_unit_test(test_short_secret_file_is_refused_with_its_path),
        cmocka_unit_test(test_secret_given_twice_is_refused),
        cmocka_unit_test(test_no_source_is_refused),
        cmocka_unit_test(test_missing_or_odd_files_are_refused_with_their_path),
        cmocka_unit_test(test_pem_keys_load_with_their_algorithm),
        cmocka_unit_test(test_several_pem_keys_in_one_file_all_load),
        cmocka_unit_test(test_pem_private_key_is_refused),
        cmocka_unit_test(test_pem_without_public_key_is_refused),
        cmocka_unit_test(test_weak_or_unsupported_pem_keys_are_refused),
        cmocka_unit_test(test_jwks_loads_signature_keys_and_skips_the_rest),
        cmocka_unit_test(test_single_jwk_is_a_set_of_one),
        cmocka_unit_test(test_jwks_with_a_private_key_is_refused),
        cmocka_unit_test(test_jwks_that_is_not_json_is_refused),
        cmocka_unit_test(test_jwks_without_usable_keys_is_refused),
        cmocka_unit_test(test_jwk_point_not_on_p256_is_refused),
        cmocka_unit_test(test_jwk_members_of_wrong_size_or_syntax_are_refused),
        cmocka_unit_test(test_jwk_for_another_use_or_algorithm_is_skipped),
        cmocka_unit_test(test_secret_and_public_keys_together),
        cmocka_unit_test(test_reload_that_fails_keeps_the_old_keys),
        cmocka_unit_test(test_reload_rotates_to_the_new_keys),
        cmocka_unit_test(test_alg_names_round_trip_and_none_is_not_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
