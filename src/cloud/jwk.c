/* jwk.c - JSON Web Keys (RSA, EC P-256, Ed25519) to OpenSSL public keys. */
#include "cloud/jwk.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "cloud/b64url.h"

/* Writes a reason into err and returns -1 (JWK_INVALID). */
__attribute__((format(printf, 3, 4)))
static int jwk_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    ERR_clear_error();
    return JWK_INVALID;
}

/* Decodes the base64url member name of jwk into out, at most max bytes;
 * out holds max + 3 bytes (the decoder's padding). Returns the decoded
 * length, or -1 with err set. */
static long jwk_bytes(json_t *jwk, const char *name, unsigned char *out, size_t max, char *err,
                      size_t errlen)
{
    json_t *v = json_object_get(jwk, name);
    const char *s = json_string_value(v);
    size_t len = s ? json_string_length(v) : 0;
    size_t got;
    if (!s)
        return jwk_fail(err, errlen, "member \"%s\" is missing", name);
    if (len == 0 || B64URL_DECODED_MAX(len) > max + 3 || b64url_decode(s, len, out, &got) != 0 ||
        got > max)
        return jwk_fail(err, errlen, "member \"%s\" is not base64url of at most %zu bytes", name, max);
    return (long)got;
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM *params)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static EVP_PKEY *jwk_rsa(json_t *jwk, char *err, size_t errlen)
{
    unsigned char n[KEYSET_RSA_BITS_MAX / 8 + 3], e[8 + 3];
    long nlen = jwk_bytes(jwk, "n", n, sizeof n - 3, err, errlen);
    long elen = nlen < 0 ? -1 : jwk_bytes(jwk, "e", e, sizeof e - 3, err, errlen);
    if (elen < 0)
        return NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;
    if (bn && be && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL)
        pkey = pkey_fromdata("RSA", params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    if (!pkey)
        jwk_fail(err, errlen, "an RSA key OpenSSL refused");
    return pkey;
}

static EVP_PKEY *jwk_ec(json_t *jwk, char *err, size_t errlen)
{
    unsigned char x[32 + 3], y[32 + 3];
    long xlen = jwk_bytes(jwk, "x", x, 32, err, errlen);
    long ylen = xlen < 0 ? -1 : jwk_bytes(jwk, "y", y, 32, err, errlen);
    if (ylen < 0)
        return NULL;
    if (xlen != 32 || ylen != 32) {
        jwk_fail(err, errlen, "P-256 coordinates \"x\" and \"y\" must be 32 bytes each");
        return NULL;
    }
    unsigned char point[65] = {0x04}; /* uncompressed: 04 || x || y (SEC 1, 2.3.3) */
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    char group[] = "P-256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *pkey = pkey_fromdata("EC", params);
    if (!pkey)
        jwk_fail(err, errlen, "a P-256 point that is not on the curve");
    return pkey;
}

static EVP_PKEY *jwk_okp(json_t *jwk, char *err, size_t errlen)
{
    unsigned char x[32 + 3];
    long xlen = jwk_bytes(jwk, "x", x, 32, err, errlen);
    if (xlen < 0)
        return NULL;
    EVP_PKEY *pkey = xlen == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32)
                                : NULL;
    if (!pkey)
        jwk_fail(err, errlen, "an Ed25519 key \"x\" must be 32 bytes");
    return pkey;
}

/* True when the optional string member name of jwk is absent or equals want. */
static bool member_absent_or(json_t *jwk, const char *name, const char *want)
{
    json_t *v = json_object_get(jwk, name);
    return !v || (json_is_string(v) && strcmp(json_string_value(v), want) == 0);
}

/* Whether a JWK is for verifying signatures with an algorithm Porthole
 * knows. Returns the algorithm, or KEYSET_ALG_NONE to skip the key. */
static enum keyset_alg jwk_usable(json_t *jwk, const char *kty)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    enum keyset_alg alg = KEYSET_ALG_NONE;
    if (strcmp(kty, "RSA") == 0)
        alg = KEYSET_ALG_RS256;
    else if (strcmp(kty, "EC") == 0 && crv && strcmp(crv, "P-256") == 0)
        alg = KEYSET_ALG_ES256;
    else if (strcmp(kty, "OKP") == 0 && crv && strcmp(crv, "Ed25519") == 0)
        alg = KEYSET_ALG_EDDSA;
    if (alg == KEYSET_ALG_NONE || !member_absent_or(jwk, "use", "sig") ||
        !member_absent_or(jwk, "alg", keyset_alg_name(alg)))
        return KEYSET_ALG_NONE;
    json_t *ops = json_object_get(jwk, "key_ops");
    if (ops) {
        size_t i;
        json_t *op;
        bool verify = false;
        json_array_foreach(ops, i, op) {
            if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0)
                verify = true;
        }
        if (!verify)
            return KEYSET_ALG_NONE;
    }
    return alg;
}

enum jwk_result jwk_parse(json_t *jwk, struct jwk_key *out, char *err, size_t errlen)
{
    *out = (struct jwk_key){.alg = KEYSET_ALG_NONE};
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    if (!json_is_object(jwk) || !kty)
        return jwk_fail(err, errlen, "a key without a \"kty\" string");
    json_t *kidv = json_object_get(jwk, "kid");
    const char *kid = json_string_value(kidv);
    if (kidv && (!kid || strlen(kid) != json_string_length(kidv) || kid[0] == '\0' ||
                 strlen(kid) > KEYSET_KID_MAX))
        return jwk_fail(err, errlen, "a \"kid\" that is not a string of 1 to %d bytes",
                        KEYSET_KID_MAX);
    enum keyset_alg alg = jwk_usable(jwk, kty);
    if (alg == KEYSET_ALG_NONE)
        return JWK_SKIPPED;
    if (json_object_get(jwk, "d"))
        return jwk_fail(err, errlen, "a private key (member \"d\"); give porthole-cloud the "
                        "public keys only");
    EVP_PKEY *pkey = alg == KEYSET_ALG_RS256   ? jwk_rsa(jwk, err, errlen)
                     : alg == KEYSET_ALG_ES256 ? jwk_ec(jwk, err, errlen)
                                               : jwk_okp(jwk, err, errlen);
    if (!pkey)
        return JWK_INVALID;
    *out = (struct jwk_key){.pkey = pkey, .alg = alg, .kid = kid};
    return JWK_KEY;
}
