/* jwk.h - one JSON Web Key (RFC 7517) as an OpenSSL public key.
 *
 * Reads the public members of the three key types Porthole verifies with:
 * RSA (n, e; RFC 7518 section 6.3), EC P-256 (x, y; section 6.2) and OKP
 * Ed25519 (x; RFC 8037 section 2). Keys that are not for signatures ("use"
 * other than "sig", "key_ops" without "verify"), whose "alg" is not the one
 * Porthole pins to their type (RS256, ES256, EdDSA), or of another type or
 * curve are skipped, as RFC 7517 section 5 asks. Pure: no I/O, no state;
 * keyset.c applies the key-strength checks shared with PEM keys. */
#ifndef PORTHOLE_CLOUD_JWK_H
#define PORTHOLE_CLOUD_JWK_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cloud/keyset.h"

enum jwk_result { JWK_INVALID = -1, JWK_SKIPPED = 0, JWK_KEY = 1 };

struct jwk_key {
    EVP_PKEY *pkey;        /* the caller's to free */
    enum keyset_alg alg;   /* the one algorithm the key may verify */
    const char *kid;       /* NULL when absent; points into the JSON */
};

/* Reads jwk. Returns JWK_KEY with *out filled; JWK_SKIPPED (not usable by
 * Porthole, see above); or JWK_INVALID with a reason in err: no "kty", a
 * "kid" that is not a string of 1..KEYSET_KID_MAX bytes, a private part
 * ("d"), a missing or malformed member, coordinates of the wrong size, a
 * point not on P-256, an RSA modulus over KEYSET_RSA_BITS_MAX. */
enum jwk_result jwk_parse(json_t *jwk, struct jwk_key *out, char *err, size_t errlen);

#endif
