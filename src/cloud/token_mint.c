/* token_mint.c - HS256 tokens for `porthole-cloud token`. */
#include "cloud/token_mint.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/b64url.h"
#include "common/ids.h"
#include "common/utf8.h"

int token_ttl_parse(const char *text, int64_t *seconds)
{
    size_t digits = text ? strspn(text, "0123456789") : 0;
    if (digits == 0 || digits > 10)
        return -1;
    int64_t n = strtoll(text, NULL, 10), unit = 1;
    const char *rest = text + digits;
    if (*rest != '\0') {
        static const struct {
            char c;
            int64_t s;
        } units[] = {{.c = 's', .s = 1}, {.c = 'm', .s = 60}, {.c = 'h', .s = 3600},
                     {.c = 'd', .s = 86400}};
        unit = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (rest[0] == units[i].c && rest[1] == '\0')
                unit = units[i].s;
        }
    }
    /* n < 10^10 and unit <= 86400: the product fits in 64 bits. */
    if (unit == 0 || n < 1 || n * unit > TOKEN_TTL_MAX)
        return -1;
    *seconds = n * unit;
    return 0;
}

__attribute__((format(printf, 4, 5)))
static enum token_error mint_fail(char *why, size_t whylen, enum token_error e, const char *fmt,
                                  ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return e;
}

/* Splits list at commas and spaces into a new JSON array of strings. */
static json_t *robots_array(const char *list)
{
    json_t *arr = json_array();
    for (const char *p = list; arr && *p;) {
        size_t len = strcspn(p, ", ");
        if (len > 0 && json_array_append_new(arr, json_stringn(p, len)) != 0) {
            json_decref(arr);
            return NULL;
        }
        p += len + (p[len] != '\0');
    }
    return arr;
}

/* The payload of req: claims in the order people read them. */
static json_t *mint_payload(const struct token_config *cfg, const struct token_mint_request *req,
                            int64_t now_s)
{
    char jti[IDS_TOKEN_LEN + 1];
    if (ids_token(jti) != 0)
        return NULL;
    const char *sub = req->sub ? req->sub
                      : req->role == TOKEN_ROLE_ROBOT && req->robot_id ? req->robot_id
                                                                       : "viewer";
    json_t *p = json_object();
    int rc = !p;
    if (!rc && cfg->issuer)
        rc |= json_object_set_new(p, "iss", json_string(cfg->issuer));
    if (!rc && cfg->audience)
        rc |= json_object_set_new(p, "aud", json_string(cfg->audience));
    if (!rc) {
        rc |= json_object_set_new(p, "sub", json_string(sub));
        rc |= json_object_set_new(p, "role", json_string(token_role_name(req->role)));
    }
    if (!rc && req->role == TOKEN_ROLE_ROBOT && req->robot_id)
        rc |= json_object_set_new(p, "robot_id", json_string(req->robot_id));
    if (!rc && req->role == TOKEN_ROLE_VIEWER) {
        enum token_scope scope = req->scope ? req->scope : TOKEN_SCOPE_WATCH;
        if (req->robots)
            rc |= json_object_set_new(p, "robots", robots_array(req->robots));
        rc |= json_object_set_new(p, "scope", json_string(token_scope_name(scope)));
    }
    if (!rc) {
        rc |= json_object_set_new(p, "iat", json_integer(now_s));
        rc |= json_object_set_new(p, "exp", json_integer(now_s + req->ttl_s));
        rc |= json_object_set_new(p, "jti", json_string(jti));
    }
    if (rc) {
        json_decref(p);
        return NULL;
    }
    return p;
}

/* Writes header.payload.signature into a new string. */
static enum token_error mint_sign(const struct keyset *ks, json_t *payload, char **out)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char *ps = json_dumps(payload, JSON_COMPACT);
    size_t hl = sizeof header - 1, pl = ps ? strlen(ps) : 0;
    /* Each b64url_encode needs 3 bytes beyond its output (see b64url.h). */
    char *tok = ps ? malloc(B64URL_ENCODED_LEN(hl) + B64URL_ENCODED_LEN(pl) +
                            B64URL_ENCODED_LEN(32) + 8)
                   : NULL;
    if (!tok) {
        free(ps);
        return TOKEN_ERR_INTERNAL;
    }
    size_t n = b64url_encode((const unsigned char *)header, hl, tok);
    tok[n++] = '.';
    n += b64url_encode((const unsigned char *)ps, pl, tok + n);
    free(ps);
    unsigned char mac[32];
    if (keyset_sign_hs256(ks, (const unsigned char *)tok, n, mac) != 0) {
        free(tok);
        return TOKEN_ERR_INTERNAL;
    }
    tok[n++] = '.';
    b64url_encode(mac, sizeof mac, tok + n);
    *out = tok;
    return TOKEN_OK;
}

enum token_error token_mint(const struct keyset *ks, const struct token_config *cfg,
                            const struct token_mint_request *req, int64_t now_s, char **out,
                            char *why, size_t whylen)
{
    *out = NULL;
    if (!keyset_has_alg(ks, KEYSET_ALG_HS256))
        return mint_fail(why, whylen, TOKEN_ERR_BAD_ALGORITHM,
                         "minting needs an HS256 secret (--auth-secret or --auth-secret-file)");
    if (req->ttl_s < 1 || req->ttl_s > TOKEN_TTL_MAX)
        return mint_fail(why, whylen, TOKEN_ERR_INVALID_CLAIM,
                         "the lifetime must be 1 s to %lld days", TOKEN_TTL_MAX / 86400);
    if (req->role != TOKEN_ROLE_ROBOT && req->role != TOKEN_ROLE_VIEWER)
        return mint_fail(why, whylen, TOKEN_ERR_INVALID_CLAIM, "the role must be robot or viewer");
    if (req->role == TOKEN_ROLE_ROBOT && (req->robots || req->scope))
        return mint_fail(why, whylen, TOKEN_ERR_INVALID_CLAIM,
                         "robots and scope are for viewers; a robot token has one robot id");
    if (req->role == TOKEN_ROLE_VIEWER && req->robot_id)
        return mint_fail(why, whylen, TOKEN_ERR_INVALID_CLAIM,
                         "a robot id is for robot tokens; a viewer token has robots");
    const char *texts[] = {req->sub, req->robot_id, req->robots};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (texts[i] && !utf8_valid(texts[i], strlen(texts[i])))
            return mint_fail(why, whylen, TOKEN_ERR_INVALID_CLAIM, "a value is not UTF-8 text");
    }
    json_t *payload = mint_payload(cfg, req, now_s);
    if (!payload)
        return mint_fail(why, whylen, TOKEN_ERR_INTERNAL, "out of memory, or no randomness for jti");
    /* What token_verify would refuse is not signed. */
    struct token_claims *claims = NULL;
    enum token_error e = token_claims_from_json(payload, &claims, why, whylen);
    token_claims_free(claims);
    if (e == TOKEN_OK)
        e = mint_sign(ks, payload, out);
    json_decref(payload);
    if (e == TOKEN_ERR_INTERNAL)
        return mint_fail(why, whylen, e, "out of memory or OpenSSL failed");
    if (e == TOKEN_OK && strlen(*out) > cfg->max_len) {
        free(*out);
        *out = NULL;
        return mint_fail(why, whylen, TOKEN_ERR_TOO_LARGE,
                         "the token would be longer than %zu bytes", cfg->max_len);
    }
    return e;
}
