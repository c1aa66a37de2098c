/* keyset.c - token signature keys: an HS256 secret, PEM and JWKS public keys, over OpenSSL 3. */
#include "cloud/keyset.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "cloud/jwk.h"

struct key {
    enum keyset_alg alg;
    char *kid;              /* NULL: the key has no kid and matches any */
    EVP_PKEY *pkey;         /* public keys */
    unsigned char *secret;  /* HS256 */
    size_t secret_len;
    const char *origin;     /* "secret", "PEM", "JWKS": for keyset_describe */
};

struct keyset {
    size_t n, skipped;
    struct key keys[KEYSET_KEYS_MAX];
};

static const char *const alg_names[] = {
    [KEYSET_ALG_HS256] = "HS256",
    [KEYSET_ALG_RS256] = "RS256",
    [KEYSET_ALG_ES256] = "ES256",
    [KEYSET_ALG_EDDSA] = "EdDSA",
};

const char *keyset_alg_name(enum keyset_alg alg)
{
    if (alg <= KEYSET_ALG_NONE || alg > KEYSET_ALG_EDDSA)
        return "none";
    return alg_names[alg];
}

enum keyset_alg keyset_alg_parse(const char *name)
{
    for (int a = KEYSET_ALG_HS256; name && a <= KEYSET_ALG_EDDSA; a++) {
        if (strcmp(name, alg_names[a]) == 0)
            return (enum keyset_alg)a;
    }
    return KEYSET_ALG_NONE;
}

/* Writes a reason into err and returns -1; OpenSSL's error queue is
 * cleared so that no failure leaks into a later, unrelated call. */
__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    ERR_clear_error();
    return -1;
}

/* ---- files ---------------------------------------------------------------- */

/* Reads a whole regular file of at most KEYSET_FILE_MAX bytes into a new
 * NUL-terminated buffer. O_NONBLOCK: a FIFO given by mistake is refused,
 * not waited on. Returns 0, or -1 with err set. */
static int read_file(const char *what, const char *path, char **out, size_t *outlen, char *err,
                     size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return fail(err, errlen, "%s %s: %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > KEYSET_FILE_MAX) {
        close(fd);
        return fail(err, errlen, "%s %s: not a regular file of at most %d bytes", what, path,
                    KEYSET_FILE_MAX);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t len = 0;
    while (buf && len < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (!buf || len != (size_t)st.st_size) {
        free(buf);
        return fail(err, errlen, "%s %s: could not read it", what, path);
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

static void free_file(char *buf, size_t len)
{
    if (buf)
        OPENSSL_cleanse(buf, len);
    free(buf);
}

/* ---- adding keys ---------------------------------------------------------- */

static struct key *next_slot(struct keyset *ks, char *err, size_t errlen)
{
    if (ks->n == KEYSET_KEYS_MAX) {
        fail(err, errlen, "more than %d keys", KEYSET_KEYS_MAX);
        return NULL;
    }
    return &ks->keys[ks->n];
}

static int add_secret(struct keyset *ks, const char *bytes, size_t len, char *err, size_t errlen)
{
    if (len < KEYSET_SECRET_MIN)
        return fail(err, errlen,
                    "the HS256 secret is %zu bytes; it must be at least %d (for example "
                    "`openssl rand -base64 48`)", len, KEYSET_SECRET_MIN);
    if (len > KEYSET_SECRET_MAX)
        return fail(err, errlen, "the HS256 secret is longer than %d bytes", KEYSET_SECRET_MAX);
    struct key *k = next_slot(ks, err, errlen);
    if (!k)
        return -1;
    k->secret = malloc(len);
    if (!k->secret)
        return fail(err, errlen, "out of memory");
    memcpy(k->secret, bytes, len);
    k->secret_len = len;
    k->alg = KEYSET_ALG_HS256;
    k->origin = "secret";
    ks->n++;
    return 0;
}

/* The one algorithm a public key may verify, after the checks that keep
 * weak or odd keys out. Returns KEYSET_ALG_NONE with err set otherwise. */
static enum keyset_alg pkey_alg(EVP_PKEY *pkey, char *err, size_t errlen)
{
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        int bits = EVP_PKEY_get_bits(pkey);
        if (bits < KEYSET_RSA_BITS_MIN || bits > KEYSET_RSA_BITS_MAX) {
            fail(err, errlen, "an RSA key of %d bits (%d to %d accepted)", bits,
                 KEYSET_RSA_BITS_MIN, KEYSET_RSA_BITS_MAX);
            return KEYSET_ALG_NONE;
        }
        return KEYSET_ALG_RS256;
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64] = "";
        if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                            sizeof group, NULL) ||
            (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
            fail(err, errlen, "an EC key on a curve other than P-256");
            return KEYSET_ALG_NONE;
        }
        return KEYSET_ALG_ES256;
    }
    if (EVP_PKEY_is_a(pkey, "ED25519"))
        return KEYSET_ALG_EDDSA;
    fail(err, errlen, "a key of type %s (RSA, EC P-256 and Ed25519 accepted)",
         EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "unknown");
    return KEYSET_ALG_NONE;
}

/* Checks pkey (an EC point on its curve, an RSA modulus of a sane size)
 * and adds it under kid (copied; NULL for none). Takes pkey in all cases. */
static int add_pkey(struct keyset *ks, EVP_PKEY *pkey, const char *kid, const char *origin,
                    char *err, size_t errlen)
{
    enum keyset_alg alg = pkey_alg(pkey, err, errlen);
    if (alg == KEYSET_ALG_NONE) {
        EVP_PKEY_free(pkey);
        return -1;
    }
    EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = check && EVP_PKEY_public_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (!ok) {
        EVP_PKEY_free(pkey);
        return fail(err, errlen, "a %s public key that fails OpenSSL's key check",
                    keyset_alg_name(alg));
    }
    struct key *k = next_slot(ks, err, errlen);
    char *kid_copy = kid ? strdup(kid) : NULL;
    if (!k || (kid && !kid_copy)) {
        EVP_PKEY_free(pkey);
        free(kid_copy);
        return k ? fail(err, errlen, "out of memory") : -1;
    }
    *k = (struct key){.alg = alg, .kid = kid_copy, .pkey = pkey, .origin = origin};
    ks->n++;
    ERR_clear_error();
    return 0;
}

/* ---- PEM ------------------------------------------------------------------ */

static int load_pem(struct keyset *ks, const char *text, size_t len, const char *path, char *err,
                    size_t errlen)
{
    if (strstr(text, "PRIVATE KEY-----"))
        return fail(err, errlen, "%s holds a private key; give porthole-cloud the public key "
                    "only (`openssl pkey -pubout`)", path);
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    if (!bio)
        return fail(err, errlen, "out of memory");
    size_t before = ks->n;
    int rc = 0;
    EVP_PKEY *pkey;
    while (rc == 0 && (pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) != NULL) {
        char why[160];
        rc = add_pkey(ks, pkey, NULL, "PEM", why, sizeof why);
        if (rc != 0)
            fail(err, errlen, "%s: %s", path, why);
    }
    BIO_free(bio);
    ERR_clear_error();
    if (rc == 0 && ks->n == before)
        return fail(err, errlen, "%s: no \"-----BEGIN PUBLIC KEY-----\" block", path);
    return rc;
}

/* ---- JWKS ----------------------------------------------------------------- */

/* Adds one JWK, or counts it as skipped. Returns 0, or -1 with err set. */
static int add_jwk(struct keyset *ks, json_t *jwk, char *err, size_t errlen)
{
    struct jwk_key k;
    int r = jwk_parse(jwk, &k, err, errlen);
    if (r == JWK_SKIPPED)
        ks->skipped++;
    if (r != JWK_KEY)
        return r == JWK_SKIPPED ? 0 : -1;
    return add_pkey(ks, k.pkey, k.kid, "JWKS", err, errlen);
}

static int load_jwks(struct keyset *ks, const char *text, size_t len, const char *path, char *err,
                     size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(err, errlen, "%s: not JSON (line %d: %s)", path, jerr.line, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(err, errlen, "%s: not a JWK Set (a JSON object)", path);
    }
    json_t *keys = json_object_get(root, "keys");
    int rc = 0;
    char why[200];
    if (keys && !json_is_array(keys)) {
        rc = fail(err, errlen, "%s: \"keys\" is not an array", path);
    } else if (keys) {
        size_t i;
        json_t *jwk;
        json_array_foreach(keys, i, jwk) {
            if (add_jwk(ks, jwk, why, sizeof why) != 0) {
                rc = fail(err, errlen, "%s: key %zu: %s", path, i, why);
                break;
            }
        }
    } else if (add_jwk(ks, root, why, sizeof why) != 0) {
        rc = fail(err, errlen, "%s: %s", path, why);
    }
    json_decref(root);
    return rc;
}

static int load_public(struct keyset *ks, const char *path, char *err, size_t errlen)
{
    char *text;
    size_t len;
    if (read_file("public-key file", path, &text, &len, err, errlen) != 0)
        return -1;
    size_t i = strspn(text, " \t\r\n");
    int rc = text[i] == '{' ? load_jwks(ks, text, len, path, err, errlen)
                            : load_pem(ks, text, len, path, err, errlen);
    free_file(text, len);
    return rc;
}

static int load_secret_file(struct keyset *ks, const char *path, char *err, size_t errlen)
{
    char *text;
    size_t size;
    if (read_file("secret file", path, &text, &size, err, errlen) != 0)
        return -1;
    size_t len = size;
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len > 0 && text[len - 1] == '\r')
        len--;
    char why[160];
    int rc = add_secret(ks, text, len, why, sizeof why);
    if (rc != 0)
        fail(err, errlen, "%s: %s", path, why);
    free_file(text, size);
    return rc;
}

/* ---- the keyset ----------------------------------------------------------- */

struct keyset *keyset_load(const struct keyset_source *src, char *err, size_t errlen)
{
    if (!src->secret && !src->secret_file && !src->jwks_file) {
        fail(err, errlen, "no key configured (--auth-secret, --auth-secret-file, --auth-jwks)");
        return NULL;
    }
    if (src->secret && src->secret_file) {
        fail(err, errlen, "give the HS256 secret once: --auth-secret or --auth-secret-file");
        return NULL;
    }
    struct keyset *ks = calloc(1, sizeof *ks);
    if (!ks) {
        fail(err, errlen, "out of memory");
        return NULL;
    }
    int rc = 0;
    if (src->secret)
        rc = add_secret(ks, src->secret, strlen(src->secret), err, errlen);
    if (rc == 0 && src->secret_file)
        rc = load_secret_file(ks, src->secret_file, err, errlen);
    if (rc == 0 && src->jwks_file)
        rc = load_public(ks, src->jwks_file, err, errlen);
    if (rc == 0 && ks->n == 0)
        rc = fail(err, errlen, "%s: no usable key (%zu skipped: not for signatures, or not "
                  "RS256, ES256 or EdDSA)", src->jwks_file ? src->jwks_file : "keys",
                  ks->skipped);
    if (rc != 0) {
        keyset_free(ks);
        return NULL;
    }
    return ks;
}

int keyset_reload(struct keyset **slot, const struct keyset_source *src, char *err,
                  size_t errlen)
{
    struct keyset *fresh = keyset_load(src, err, errlen);
    if (!fresh)
        return -1;
    keyset_free(*slot);
    *slot = fresh;
    return 0;
}

void keyset_free(struct keyset *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++) {
        struct key *k = &ks->keys[i];
        if (k->secret)
            OPENSSL_cleanse(k->secret, k->secret_len);
        free(k->secret);
        free(k->kid);
        EVP_PKEY_free(k->pkey);
    }
    free(ks);
}

size_t keyset_count(const struct keyset *ks)
{
    return ks->n;
}

size_t keyset_skipped(const struct keyset *ks)
{
    return ks->skipped;
}

bool keyset_has_alg(const struct keyset *ks, enum keyset_alg alg)
{
    for (size_t i = 0; i < ks->n; i++) {
        if (ks->keys[i].alg == alg)
            return true;
    }
    return false;
}

__attribute__((format(printf, 4, 5)))
static void append(char *out, size_t outlen, size_t *at, const char *fmt, ...)
{
    if (*at >= outlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(out + *at, outlen - *at, fmt, ap);
    va_end(ap);
    *at = w < 0 ? outlen : *at + (size_t)w;
}

void keyset_describe(const struct keyset *ks, char *out, size_t outlen)
{
    size_t at = 0;
    if (outlen == 0)
        return;
    out[0] = '\0';
    append(out, outlen, &at, "%zu key%s:", ks->n, ks->n == 1 ? "" : "s");
    for (size_t i = 0; i < ks->n; i++) {
        const struct key *k = &ks->keys[i];
        /* The kid is the operator's own configuration, not peer input. */
        if (k->kid)
            append(out, outlen, &at, "%s %s kid=%.64s", i ? "," : "", keyset_alg_name(k->alg),
                   k->kid);
        else
            append(out, outlen, &at, "%s %s (%s)", i ? "," : "", keyset_alg_name(k->alg),
                   k->origin);
    }
    if (ks->skipped)
        append(out, outlen, &at, "; %zu skipped", ks->skipped);
}

/* ---- signatures ----------------------------------------------------------- */

/* Returns 1 when sig verifies, 0 when it does not, -1 when OpenSSL failed. */
static int verify_hs256(const struct key *k, const unsigned char *data, size_t len,
                        const unsigned char *sig, size_t siglen)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    if (!HMAC(EVP_sha256(), k->secret, (int)k->secret_len, data, len, mac, &maclen) ||
        maclen != 32)
        return -1;
    return siglen == 32 && CRYPTO_memcmp(mac, sig, 32) == 0;
}

/* A JOSE ES256 signature is r||s, 32 bytes each; OpenSSL verifies the DER
 * form (SEQUENCE of two INTEGERs). Returns the DER length, 0 on failure. */
static size_t es256_to_der(const unsigned char *sig, unsigned char *der, size_t max)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return 0;
    }
    int n = i2d_ECDSA_SIG(es, NULL);
    unsigned char *p = der;
    size_t len = n > 0 && (size_t)n <= max ? (size_t)i2d_ECDSA_SIG(es, &p) : 0;
    ECDSA_SIG_free(es);
    return len;
}

static int verify_pkey(const struct key *k, const unsigned char *data, size_t len,
                       const unsigned char *sig, size_t siglen)
{
    unsigned char der[80];
    if (k->alg == KEYSET_ALG_ES256) {
        if (siglen != 64)
            return 0;
        siglen = es256_to_der(sig, der, sizeof der);
        if (siglen == 0)
            return -1;
        sig = der;
    } else if (k->alg == KEYSET_ALG_EDDSA && siglen != 64) {
        return 0;
    }
    /* Ed25519 hashes internally: no digest, one-shot EVP_DigestVerify. */
    const EVP_MD *md = k->alg == KEYSET_ALG_EDDSA ? NULL : EVP_sha256();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -1;
    if (ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, k->pkey) == 1)
        rc = EVP_DigestVerify(ctx, sig, siglen, data, len) == 1; /* <0: malformed sig: no */
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

enum keyset_verdict keyset_verify(const struct keyset *ks, enum keyset_alg alg, const char *kid,
                                  const unsigned char *data, size_t len,
                                  const unsigned char *sig, size_t siglen)
{
    bool any_alg = false, any_candidate = false;
    for (size_t i = 0; i < ks->n; i++) {
        const struct key *k = &ks->keys[i];
        if (k->alg != alg)
            continue;
        any_alg = true;
        if (kid && k->kid && strcmp(kid, k->kid) != 0)
            continue;
        any_candidate = true;
        int ok = alg == KEYSET_ALG_HS256 ? verify_hs256(k, data, len, sig, siglen)
                                         : verify_pkey(k, data, len, sig, siglen);
        if (ok < 0)
            return KEYSET_FAILED;
        if (ok)
            return KEYSET_VERIFIED;
    }
    if (!any_alg)
        return KEYSET_NO_ALG;
    return any_candidate ? KEYSET_BAD_SIGNATURE : KEYSET_NO_KID;
}

int keyset_sign_hs256(const struct keyset *ks, const unsigned char *data, size_t len,
                      unsigned char mac[32])
{
    for (size_t i = 0; i < ks->n; i++) {
        const struct key *k = &ks->keys[i];
        unsigned maclen = 0;
        if (k->alg != KEYSET_ALG_HS256)
            continue;
        if (!HMAC(EVP_sha256(), k->secret, (int)k->secret_len, data, len, mac, &maclen) ||
            maclen != 32)
            return -1;
        return 0;
    }
    return -1;
}
