/* keyset.h - the keys that porthole-cloud accepts token signatures from:
 * an HS256 shared secret, and public keys (RS256, ES256, EdDSA) from a
 * PEM file or a JWKS file (RFC 7517).
 *
 * Why OpenSSL 3 and jansson, not libjwt: Debian 12's libjwt 1.10.2 has no
 * EdDSA (Ed25519) and cannot read a JWKS, and two half stacks (libjwt for
 * three algorithms, OpenSSL for the rest) would be worse than one. So every
 * algorithm is verified here with OpenSSL's EVP interface (HMAC with a
 * constant-time compare, EVP_DigestVerify for the rest), JWKs become keys
 * with EVP_PKEY_fromdata / EVP_PKEY_new_raw_public_key, PEM keys are read
 * with PEM_read_bio_PUBKEY, and JSON is jansson's.
 *
 * The algorithm is pinned by the key, never by the token: each key has
 * exactly one algorithm (a secret is HS256 only, an RSA key RS256 only, a
 * P-256 key ES256 only, an Ed25519 key EdDSA only), and keyset_verify()
 * tries only keys of the algorithm the token names. So an HS256 token is
 * never checked against a public key (the classic "public key as HMAC
 * secret" forgery), nor an RS256 token against a secret.
 *
 * A keyset is immutable once loaded, so one can be shared by readers; a
 * reload builds a new one and swaps it in only when it loaded whole
 * (keyset_reload). Loading reads files: do it at start-up or on SIGHUP on
 * the event loop, not per connection. */
#ifndef PORTHOLE_CLOUD_KEYSET_H
#define PORTHOLE_CLOUD_KEYSET_H

#include <stdbool.h>
#include <stddef.h>

/* The JWS algorithms Porthole accepts (RFC 7518 section 3.1, RFC 8037). */
enum keyset_alg {
    KEYSET_ALG_NONE = 0, /* not an algorithm: an unknown or refused "alg" */
    KEYSET_ALG_HS256,
    KEYSET_ALG_RS256,
    KEYSET_ALG_ES256,
    KEYSET_ALG_EDDSA,
};

#define KEYSET_SECRET_MIN 32       /* bytes: an HS256 secret as long as its hash (RFC 7518 3.2) */
#define KEYSET_SECRET_MAX 1024     /* bytes */
#define KEYSET_FILE_MAX (1 << 20)  /* bytes of a secret, PEM or JWKS file */
#define KEYSET_KEYS_MAX 64         /* keys in one keyset */
#define KEYSET_KID_MAX 256         /* bytes of a "kid" */
#define KEYSET_RSA_BITS_MIN 2048
#define KEYSET_RSA_BITS_MAX 8192

/* Where the keys come from; every field may be NULL, at least one must not.
 * A secret is taken as its bytes (a file's content loses one trailing
 * newline, so `echo ... > file` works). The public-key file is a JWKS when
 * its first non-blank character is '{' (a {"keys":[...]} set or a single
 * JWK), else PEM ("-----BEGIN PUBLIC KEY-----" blocks, one key each). */
struct keyset_source {
    const char *secret;      /* --auth-secret / AUTH_SECRET: the secret itself */
    const char *secret_file; /* --auth-secret-file: a file holding it */
    const char *jwks_file;   /* --auth-jwks: a JWKS or PEM public-key file */
};

struct keyset; /* opaque */

/* Loads every key src names. Returns a new keyset, or NULL with a reason in
 * err (never the secret itself): a secret shorter than KEYSET_SECRET_MIN,
 * both a secret and a secret file, an unreadable file, a JWKS that is not
 * JSON, a JWK of a supported type with missing or malformed members or a
 * private part ("d"), an RSA key outside KEYSET_RSA_BITS_MIN..MAX, an EC
 * point not on P-256, a PEM file with no public key, or no usable key at
 * all. JWKs that are not for signatures ("use" other than "sig", "key_ops"
 * without "verify") or of a type or curve Porthole does not verify (oct,
 * P-384, X25519, RS512...) are skipped, as RFC 7517 section 5 asks, and
 * counted in keyset_skipped(). The caller frees it with keyset_free. */
struct keyset *keyset_load(const struct keyset_source *src, char *err, size_t errlen);

/* Loads src and, only if that succeeds, frees *slot and stores the new set
 * there. On failure *slot is untouched (the old keys stay in force) and err
 * says why. Returns 0 or -1. For SIGHUP: never leaves the cloud keyless. */
int keyset_reload(struct keyset **slot, const struct keyset_source *src, char *err,
                  size_t errlen);

/* Frees ks and wipes its secrets. NULL is allowed. */
void keyset_free(struct keyset *ks);

/* Keys loaded, and JWKs skipped as not usable (see keyset_load). */
size_t keyset_count(const struct keyset *ks);
size_t keyset_skipped(const struct keyset *ks);

/* True when ks holds at least one key of this algorithm. */
bool keyset_has_alg(const struct keyset *ks, enum keyset_alg alg);

/* Writes a one-line summary for the start-up log, e.g. "3 keys: HS256
 * secret, EdDSA kid=k1, RS256 (PEM); 1 skipped". Never the key material. */
void keyset_describe(const struct keyset *ks, char *out, size_t outlen);

/* The JOSE name of alg ("HS256", "RS256", "ES256", "EdDSA"), and the
 * algorithm of a JOSE name (exact, case-sensitive match; KEYSET_ALG_NONE
 * for "none" and every name not listed). */
const char *keyset_alg_name(enum keyset_alg alg);
enum keyset_alg keyset_alg_parse(const char *name);

enum keyset_verdict {
    KEYSET_VERIFIED = 0,    /* a key of alg (and kid) verified the signature */
    KEYSET_NO_ALG,          /* no key of this algorithm */
    KEYSET_NO_KID,          /* keys of alg exist, none with this kid and none without a kid */
    KEYSET_BAD_SIGNATURE,   /* candidate keys exist; none verified sig */
    KEYSET_FAILED,          /* OpenSSL failed (out of memory) */
};

/* Checks sig (the decoded JWS signature) over the len bytes at data with
 * the keys of algorithm alg. kid selects: NULL tries every key of alg;
 * otherwise keys whose kid equals it and keys that have no kid (a secret,
 * a PEM key) are tried. ES256 signatures are the 64-byte r||s of RFC 7518
 * section 3.4 (a DER signature is refused); HS256 compares in constant
 * time. */
enum keyset_verdict keyset_verify(const struct keyset *ks, enum keyset_alg alg, const char *kid,
                                  const unsigned char *data, size_t len,
                                  const unsigned char *sig, size_t siglen);

/* Writes HMAC-SHA256 of data under the first HS256 secret of ks into
 * mac. Returns 0, or -1 when ks has no secret or OpenSSL failed. */
int keyset_sign_hs256(const struct keyset *ks, const unsigned char *data, size_t len,
                      unsigned char mac[32]);

#endif
