/* fuzz_token.c - libFuzzer entry: the token a robot or viewer presents,
 * the first thing the cloud reads of a peer that has not authenticated.
 * The first byte picks how the rest is used:
 *   even: a compact token as it came (header.payload.signature, all the
 *         fuzzer's own), which is mostly refused before its signature;
 *   odd:  a header and a payload separated by a NUL byte, which the
 *         harness encodes and signs with the verifier's own secret, so that
 *         every check behind the signature (alg, kid, crit, the claims,
 *         times, issuer, audience, the robots patterns) sees every input.
 * A refusal must name an error and return no claims; accepted claims must
 * hold what token.h promises, and each of a viewer's patterns must match
 * its own text (token_glob_match is run on them and on a robot id).
 * Sanitizers catch the rest. Build and run: make fuzz (tests/fuzz/run.sh). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/b64url.h"
#include "cloud/token.h"

#define SECRET "porthole-fuzz-secret-0123456789abcdef"
#define NOW 1800000000
#define LEEWAY 30

static void check(bool ok)
{
    if (!ok)
        abort();
}

static struct token_verifier *verifier(void)
{
    static struct token_verifier *v; /* the process's, for every input */
    if (!v) {
        char err[256];
        struct keyset *ks = keyset_load(&(struct keyset_source){.secret = SECRET}, err, sizeof err);
        struct token_config cfg;
        token_config_defaults(&cfg);
        cfg.issuer = "iss-x";
        cfg.audience = "aud-x";
        cfg.leeway_s = LEEWAY;
        v = ks ? token_verifier_new(&cfg, ks) : NULL;
        check(v != NULL);
    }
    return v;
}

/* "b64(header).b64(payload).b64(HMAC)" as a new string, or NULL when the
 * parts are over the verifier's size limit anyway. */
static char *sign(const struct token_verifier *v, const uint8_t *h, size_t hlen,
                  const uint8_t *p, size_t plen)
{
    size_t max = B64URL_ENCODED_LEN(hlen) + B64URL_ENCODED_LEN(plen) + 64;
    if (max > 2 * TOKEN_MAX_LEN_DEFAULT)
        return NULL;
    char *t = malloc(max + 8);
    check(t != NULL);
    size_t n = b64url_encode(h, hlen, t);
    t[n++] = '.';
    n += b64url_encode(p, plen, t + n);
    unsigned char mac[32];
    check(keyset_sign_hs256(token_verifier_keys(v), (const unsigned char *)t, n, mac) == 0);
    t[n++] = '.';
    b64url_encode(mac, sizeof mac, t + n);
    return t;
}

static void check_claims(const struct token_claims *c)
{
    check(c->sub && c->sub[0] && strlen(c->sub) <= TOKEN_SUB_MAX);
    check(c->exp + LEEWAY >= NOW);
    check(!c->jti || strlen(c->jti) <= TOKEN_JTI_MAX);
    if (c->role == TOKEN_ROLE_ROBOT) {
        check(c->robot_id && c->n_robots == 0 && c->scope == TOKEN_SCOPE_NONE);
        check(token_may_register(c, c->robot_id) == TOKEN_OK);
        check(token_may_see(c, c->robot_id) == TOKEN_ERR_WRONG_ROLE);
        return;
    }
    check(c->role == TOKEN_ROLE_VIEWER);
    check(!c->robot_id && c->n_robots <= TOKEN_ROBOTS_MAX);
    check(c->scope >= TOKEN_SCOPE_WATCH && c->scope <= TOKEN_SCOPE_ADMIN);
    check(token_has_scope(c, TOKEN_SCOPE_WATCH) == TOKEN_OK);
    for (size_t i = 0; i < c->n_robots; i++) {
        check(strlen(c->robots[i]) <= TOKEN_PATTERN_MAX);
        check(token_glob_match(c->robots[i], c->robots[i]));
    }
    enum token_error e = token_may_see(c, "robot-1");
    check(e == TOKEN_OK || e == TOKEN_ERR_ROBOT_NOT_ALLOWED);
    check(token_may_register(c, "robot-1") == TOKEN_ERR_WRONG_ROLE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct token_verifier *v = verifier();
    char *signed_token = NULL;
    const char *token = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] & 1) {
        const uint8_t *nul = memchr(data + 1, 0, size - 1);
        if (!nul)
            return 0;
        signed_token = sign(v, data + 1, (size_t)(nul - data - 1), nul + 1,
                            size - (size_t)(nul + 1 - data));
        if (!signed_token)
            return 0;
        token = signed_token;
        len = strlen(signed_token);
    }
    struct token_claims *c = (struct token_claims *)1; /* must be overwritten */
    char why[256];
    enum token_error e = token_verify(v, token, len, NOW, &c, why, sizeof why);
    check(e < TOKEN_ERR_COUNT && token_error_code(e) && token_error_text(e));
    if (e == TOKEN_OK) {
        check(c != NULL);
        check_claims(c);
        token_claims_free(c);
    } else {
        check(c == NULL);
    }
    free(signed_token);
    return 0;
}
