/* token_bench.c - what verifying one token costs porthole-cloud (token.c):
 * the whole token_verify() of a viewer token (size check, base64url, both
 * JSON parses, the signature, every claim), per algorithm, on one core.
 *
 * This is the cost paid once per connection (and per refresh-token). HS256
 * is an HMAC; EdDSA and RS256 are public-key verifications of tokens as an
 * identity provider would sign them. Times are CPU time of this process
 * (CLOCK_PROCESS_CPUTIME_ID), steadier than wall time on a shared machine.
 * Prints one JSON line per algorithm on stdout and a sentence on stderr.
 * Usage: token_bench [VERIFICATIONS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cloud/b64url.h"
#include "cloud/keyset.h"
#include "cloud/token.h"
#include "cloud/token_mint.h"

#define NOW 1800000000LL
#define SECRET "token-bench-secret-0123456789abcdef0123456789"

static const char payload[] =
    "{\"sub\":\"alice@example.org\",\"role\":\"viewer\",\"robots\":[\"lab-*\",\"dock-?\"],"
    "\"scope\":\"watch control\",\"iat\":1800000000,\"exp\":1800003600,\"jti\":\"b-1\"}";

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "token_bench: %s\n", what);
    exit(1);
}

/* A token for payload signed by pkey (Ed25519 or RSA) under header alg. */
static char *sign_with(EVP_PKEY *pkey, const char *alg)
{
    char header[64];
    snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    size_t hl = strlen(header), pl = strlen(payload);
    char *tok = malloc(B64URL_ENCODED_LEN(hl) + B64URL_ENCODED_LEN(pl) + B64URL_ENCODED_LEN(512) + 16);
    size_t n = b64url_encode((const unsigned char *)header, hl, tok);
    tok[n++] = '.';
    n += b64url_encode((const unsigned char *)payload, pl, tok + n);
    unsigned char sig[512];
    size_t siglen = sizeof sig;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = strcmp(alg, "EdDSA") == 0 ? NULL : EVP_sha256();
    if (!ctx || EVP_DigestSignInit(ctx, NULL, md, NULL, pkey) != 1 ||
        EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)tok, n) != 1)
        die("signing failed");
    EVP_MD_CTX_free(ctx);
    tok[n++] = '.';
    b64url_encode(sig, siglen, tok + n);
    return tok;
}

/* A verifier of pkey's public half, loaded from a PEM file as in production. */
static struct token_verifier *verifier_of(EVP_PKEY *pkey)
{
    char path[] = "/tmp/porthole-token-bench-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f || PEM_write_PUBKEY(f, pkey) != 1)
        die("cannot write a PEM file");
    fclose(f);
    char err[256];
    struct keyset *ks = keyset_load(&(struct keyset_source){.jwks_file = path}, err, sizeof err);
    unlink(path);
    if (!ks)
        die(err);
    struct token_config cfg;
    token_config_defaults(&cfg);
    return token_verifier_new(&cfg, ks);
}

static void run(const char *alg, struct token_verifier *v, const char *tok, long n)
{
    size_t len = strlen(tok);
    struct token_claims *c = NULL;
    for (int i = 0; i < 100; i++) { /* warm up */
        if (token_verify(v, tok, len, NOW, &c, NULL, 0) != TOKEN_OK)
            die("the bench token does not verify");
        token_claims_free(c);
    }
    double t0 = cpu_s();
    for (long i = 0; i < n; i++) {
        if (token_verify(v, tok, len, NOW, &c, NULL, 0) != TOKEN_OK)
            die("the bench token does not verify");
        token_claims_free(c);
    }
    double us = (cpu_s() - t0) * 1e6 / (double)n;
    printf("{\"bench\":\"token\",\"alg\":\"%s\",\"token_bytes\":%zu,\"verifications\":%ld,"
           "\"us_per_verify\":%.2f}\n", alg, len, n, us);
    fprintf(stderr, "token_bench: %-5s %.2f us per verification (%zu-byte token, %ld runs)\n",
            alg, us, len, n);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    if (n < 1) {
        fprintf(stderr, "usage: token_bench [VERIFICATIONS] (> 0)\n");
        return 2;
    }
    char err[256];
    struct token_config cfg;
    token_config_defaults(&cfg);

    /* HS256: a token as `porthole-cloud token` mints it. */
    struct keyset *ks = keyset_load(&(struct keyset_source){.secret = SECRET}, err, sizeof err);
    struct token_verifier *v = token_verifier_new(&cfg, ks);
    char *tok = NULL;
    struct token_mint_request req = {.role = TOKEN_ROLE_VIEWER, .robots = "lab-*,dock-?",
                                     .scope = TOKEN_SCOPE_CONTROL, .sub = "alice@example.org",
                                     .ttl_s = 3600};
    if (!v || token_mint(token_verifier_keys(v), &cfg, &req, NOW, &tok, err, sizeof err) != TOKEN_OK)
        die("minting failed");
    run("HS256", v, tok, n);
    free(tok);
    token_verifier_free(v);

    static const struct {
        const char *alg, *type;
        size_t bits;
    } pk[] = {{.alg = "EdDSA", .type = "ED25519"}, {.alg = "RS256", .type = "RSA", .bits = 2048}};
    for (size_t i = 0; i < sizeof pk / sizeof pk[0]; i++) {
        EVP_PKEY *pkey = pk[i].bits ? EVP_PKEY_Q_keygen(NULL, NULL, pk[i].type, pk[i].bits)
                                    : EVP_PKEY_Q_keygen(NULL, NULL, pk[i].type);
        if (!pkey)
            die("key generation failed");
        v = verifier_of(pkey);
        tok = sign_with(pkey, pk[i].alg);
        run(pk[i].alg, v, tok, n);
        free(tok);
        token_verifier_free(v);
        EVP_PKEY_free(pkey);
    }
    return 0;
}
