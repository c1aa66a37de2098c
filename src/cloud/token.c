/* token.c - JWT verification (JWS compact form) and the claims Porthole reads from it. */
#include "cloud/token.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/b64url.h"
#include "cloud/protocol.h"
#include "common/ids.h"
#include "common/utf8.h"

/* The last second of year 9999: later NumericDates are refused as nonsense. */
#define TOKEN_DATE_MAX 253402300799.0

static const struct {
    const char *code;
    const char *text;
} errors[TOKEN_ERR_COUNT] = {
    [TOKEN_OK] = {"ok", "the token is valid"},
    [TOKEN_ERR_MISSING] = {"token-missing", "a token is required"},
    [TOKEN_ERR_TOO_LARGE] = {"token-too-large", "the token is too large"},
    [TOKEN_ERR_MALFORMED] = {"malformed-token", "the token is not a well-formed JWT"},
    [TOKEN_ERR_BAD_ALGORITHM] = {"bad-algorithm", "the token's algorithm is not accepted"},
    [TOKEN_ERR_UNKNOWN_KEY] = {"unknown-key", "the token names a key that is not configured"},
    [TOKEN_ERR_BAD_SIGNATURE] = {"bad-signature", "the token's signature does not verify"},
    [TOKEN_ERR_EXPIRED] = {"token-expired", "the token has expired"},
    [TOKEN_ERR_NOT_YET_VALID] = {"token-not-yet-valid", "the token is not valid yet"},
    [TOKEN_ERR_WRONG_ISSUER] = {"wrong-issuer", "the token was issued by another issuer"},
    [TOKEN_ERR_WRONG_AUDIENCE] = {"wrong-audience", "the token is meant for another audience"},
    [TOKEN_ERR_MISSING_CLAIM] = {"missing-claim", "the token lacks a required claim"},
    [TOKEN_ERR_INVALID_CLAIM] = {"invalid-claim", "the token has an invalid claim"},
    [TOKEN_ERR_WRONG_ROLE] = {"wrong-role", "the token is for another role"},
    [TOKEN_ERR_WRONG_ROBOT] = {"wrong-robot", "the token is for another robot id"},
    [TOKEN_ERR_ROBOT_NOT_ALLOWED] = {"robot-not-allowed", "the token does not allow this robot"},
    [TOKEN_ERR_INSUFFICIENT_SCOPE] = {"insufficient-scope", "the token's scope is too small"},
    [TOKEN_ERR_INTERNAL] = {"internal-error", "the token could not be checked (internal error)"},
};

const char *token_error_code(enum token_error e)
{
    return e >= TOKEN_OK && e < TOKEN_ERR_COUNT ? errors[e].code : errors[TOKEN_ERR_INTERNAL].code;
}

const char *token_error_text(enum token_error e)
{
    return e >= TOKEN_OK && e < TOKEN_ERR_COUNT ? errors[e].text : errors[TOKEN_ERR_INTERNAL].text;
}

/* Writes "text: detail" into why (when there is one) and returns e. The
 * detail names claims and segments; callers never pass token bytes. */
__attribute__((format(printf, 4, 5)))
static enum token_error refuse(char *why, size_t whylen, enum token_error e, const char *fmt, ...)
{
    if (!why || whylen == 0)
        return e;
    int n = snprintf(why, whylen, "%s", token_error_text(e));
    if (fmt && n >= 0 && (size_t)n + 2 < whylen) {
        memcpy(why + n, ": ", 3);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why + n + 2, whylen - (size_t)n - 2, fmt, ap);
        va_end(ap);
    }
    return e;
}

/* ---- roles, scopes, patterns ---------------------------------------------- */

static const char *const role_names[] = {
    [TOKEN_ROLE_ROBOT] = "robot",
    [TOKEN_ROLE_VIEWER] = "viewer",
};

static const char *const scope_names[] = {
    [TOKEN_SCOPE_WATCH] = "watch",
    [TOKEN_SCOPE_CONTROL] = "control",
    [TOKEN_SCOPE_ADMIN] = "admin",
};

const char *token_role_name(enum token_role role)
{
    return role == TOKEN_ROLE_ROBOT || role == TOKEN_ROLE_VIEWER ? role_names[role] : "none";
}

const char *token_scope_name(enum token_scope scope)
{
    return scope >= TOKEN_SCOPE_WATCH && scope <= TOKEN_SCOPE_ADMIN ? scope_names[scope] : "none";
}

enum token_role token_role_parse(const char *name)
{
    for (int r = TOKEN_ROLE_ROBOT; name && r <= TOKEN_ROLE_VIEWER; r++) {
        if (strcmp(name, role_names[r]) == 0)
            return (enum token_role)r;
    }
    return TOKEN_ROLE_NONE;
}

/* One scope word of len bytes, or TOKEN_SCOPE_NONE. */
static enum token_scope scope_word(const char *w, size_t len)
{
    for (int s = TOKEN_SCOPE_WATCH; s <= TOKEN_SCOPE_ADMIN; s++) {
        if (strlen(scope_names[s]) == len && memcmp(w, scope_names[s], len) == 0)
            return (enum token_scope)s;
    }
    return TOKEN_SCOPE_NONE;
}

enum token_scope token_scope_parse(const char *text)
{
    enum token_scope best = TOKEN_SCOPE_NONE;
    for (const char *p = text; p && *p;) {
        size_t len = strcspn(p, " ");
        if (len > 0) {
            enum token_scope s = scope_word(p, len);
            if (s == TOKEN_SCOPE_NONE)
                return TOKEN_SCOPE_NONE;
            if (s > best)
                best = s;
        }
        p += len + (p[len] == ' ');
    }
    return best;
}

/* Backtracks only to the last '*', so the cost is at most the product of
 * the two lengths (64 x 64 here), never exponential. */
bool token_glob_match(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '?' || (*p != '*' && *p == *s)) {
            p++;
            s++;
        } else if (*p == '*') {
            star = p++;
            resume = s;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* A robot id with '*' and '?' allowed: the name syntax of protocol.h. */
static bool valid_pattern(const char *s)
{
    char probe[TOKEN_PATTERN_MAX + 2];
    size_t len = strnlen(s, TOKEN_PATTERN_MAX + 1);
    if (len > TOKEN_PATTERN_MAX)
        return false;
    for (size_t i = 0; i <= len; i++)
        probe[i] = s[i] == '*' || s[i] == '?' ? 'x' : s[i];
    return ids_valid_name(probe, TOKEN_PATTERN_MAX);
}

/* ---- the questions -------------------------------------------------------- */

enum token_error token_may_register(const struct token_claims *c, const char *robot_id)
{
    if (c->role != TOKEN_ROLE_ROBOT)
        return TOKEN_ERR_WRONG_ROLE;
    if (!robot_id || !c->robot_id || strcmp(robot_id, c->robot_id) != 0)
        return TOKEN_ERR_WRONG_ROBOT;
    return TOKEN_OK;
}

enum token_error token_may_see(const struct token_claims *c, const char *robot_id)
{
    if (c->role != TOKEN_ROLE_VIEWER)
        return TOKEN_ERR_WRONG_ROLE;
    for (size_t i = 0; robot_id && i < c->n_robots; i++) {
        if (token_glob_match(c->robots[i], robot_id))
            return TOKEN_OK;
    }
    return TOKEN_ERR_ROBOT_NOT_ALLOWED;
}

enum token_error token_has_scope(const struct token_claims *c, enum token_scope scope)
{
    if (c->role != TOKEN_ROLE_VIEWER)
        return TOKEN_ERR_WRONG_ROLE;
    return c->scope >= scope ? TOKEN_OK : TOKEN_ERR_INSUFFICIENT_SCOPE;
}

void token_claims_free(struct token_claims *c)
{
    free(c);
}

/* ---- claims --------------------------------------------------------------- */

/* Reads the NumericDate claim name (RFC 7519 section 2: seconds, may have
 * a fraction, which is dropped). Returns 0 when absent (*out = 0), 1 when
 * present, -1 when not a number in 1..year 9999. */
static int numeric_date(json_t *payload, const char *name, int64_t *out)
{
    json_t *v = json_object_get(payload, name);
    *out = 0;
    if (!v)
        return 0;
    double d = json_number_value(v);
    if (!json_is_number(v) || !(d >= 1.0 && d <= TOKEN_DATE_MAX))
        return -1;
    *out = (int64_t)d;
    return 1;
}

/* Reads the optional string claim name: valid UTF-8, 1..max bytes, no
 * NUL and no control characters (it reaches logs and other peers).
 * Returns 0 when absent (*out NULL), 1 when present, -1 when invalid. */
static int text_claim(json_t *payload, const char *name, size_t max, const char **out)
{
    json_t *v = json_object_get(payload, name);
    const char *s = json_string_value(v);
    size_t len = s ? json_string_length(v) : 0;
    *out = NULL;
    if (!v)
        return 0;
    if (!s || len == 0 || len > max || strlen(s) != len || !utf8_valid(s, len))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return -1;
    }
    *out = s;
    return 1;
}

/* The claims as found, pointing into the payload, before they are copied. */
struct found {
    enum token_role role;
    enum token_scope scope;
    int64_t exp, nbf, iat;
    const char *sub, *robot_id, *jti;
    size_t n_robots;
    const char *robots[TOKEN_ROBOTS_MAX];
};

/* Reads "robots" (an array, or a single string) into f. */
static enum token_error read_robots(json_t *payload, struct found *f, char *why, size_t whylen)
{
    json_t *v = json_object_get(payload, "robots");
    if (!v)
        return refuse(why, whylen, TOKEN_ERR_MISSING_CLAIM, "a viewer token needs \"robots\"");
    if (json_is_string(v)) {
        f->n_robots = 1;
        f->robots[0] = json_string_value(v);
        if (strlen(f->robots[0]) != json_string_length(v) || !valid_pattern(f->robots[0]))
            goto bad;
        return TOKEN_OK;
    }
    if (!json_is_array(v) || json_array_size(v) > TOKEN_ROBOTS_MAX)
        goto bad;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        const char *s = json_string_value(e);
        if (!s || strlen(s) != json_string_length(e) || !valid_pattern(s))
            goto bad;
        f->robots[f->n_robots++] = s;
    }
    return TOKEN_OK;
bad:
    return refuse(why, whylen, TOKEN_ERR_INVALID_CLAIM,
                  "\"robots\" must be up to %d robot ids or patterns ('*' and '?' wildcards)",
                  TOKEN_ROBOTS_MAX);
}

/* Reads the role-specific claims: robot_id for robots, robots and scope
 * for viewers. */
static enum token_error read_role(json_t *payload, struct found *f, char *why, size_t whylen)
{
    const char *role = json_string_value(json_object_get(payload, "role"));
    if (!json_object_get(payload, "role"))
        return refuse(why, whylen, TOKEN_ERR_MISSING_CLAIM, "\"role\"");
    f->role = token_role_parse(role);
    if (f->role == TOKEN_ROLE_ROBOT) {
        json_t *v = json_object_get(payload, "robot_id");
        const char *id = json_string_value(v);
        if (!v)
            return refuse(why, whylen, TOKEN_ERR_MISSING_CLAIM, "a robot token needs \"robot_id\"");
        if (!id || strlen(id) != json_string_length(v) || !ids_valid_name(id, PROTO_NAME_MAX))
            return refuse(why, whylen, TOKEN_ERR_INVALID_CLAIM,
                          "\"robot_id\" must be 1 to %d characters of [A-Za-z0-9._:@-]",
                          PROTO_NAME_MAX);
        f->robot_id = id;
        return TOKEN_OK;
    }
    if (f->role != TOKEN_ROLE_VIEWER)
        return refuse(why, whylen, TOKEN_ERR_INVALID_CLAIM, "\"role\" must be robot or viewer");
    enum token_error e = read_robots(payload, f, why, whylen);
    if (e != TOKEN_OK)
        return e;
    json_t *scope = json_object_get(payload, "scope");
    if (!scope)
        return refuse(why, whylen, TOKEN_ERR_MISSING_CLAIM, "a viewer token needs \"scope\"");
    const char *text = json_string_value(scope);
    f->scope = text && strlen(text) == json_string_length(scope) ? token_scope_parse(text)
                                                                      : TOKEN_SCOPE_NONE;
    if (f->scope == TOKEN_SCOPE_NONE)
        return refuse(why, whylen, TOKEN_ERR_INVALID_CLAIM,
                      "\"scope\" must be watch, control or admin (space-separated)");
    return TOKEN_OK;
}

/* Copies the found claims into one allocation. */
static struct token_claims *claims_copy(const struct found *f)
{
    const char *strs[3] = {f->sub, f->robot_id, f->jti};
    size_t size = sizeof(struct token_claims) + f->n_robots * sizeof(char *);
    for (size_t i = 0; i < 3; i++)
        size += strs[i] ? strlen(strs[i]) + 1 : 0;
    for (size_t i = 0; i < f->n_robots; i++)
        size += strlen(f->robots[i]) + 1;
    struct token_claims *c = malloc(size);
    if (!c)
        return NULL;
    *c = (struct token_claims){.role = f->role, .scope = f->scope, .exp = f->exp,
                               .nbf = f->nbf, .iat = f->iat, .n_robots = f->n_robots};
    char *at = (char *)&c->robots[c->n_robots];
    const char **dst[3] = {&c->sub, &c->robot_id, &c->jti};
    for (size_t i = 0; i < 3; i++) {
        if (strs[i]) {
            *dst[i] = strcpy(at, strs[i]);
            at += strlen(at) + 1;
        }
    }
    for (size_t i = 0; i < c->n_robots; i++) {
        c->robots[i] = strcpy(at, f->robots[i]);
        at += strlen(at) + 1;
    }
    return c;
}

enum token_error token_claims_from_json(json_t *payload, struct token_claims **out, char *why,
                                        size_t whylen)
{
    struct found f = {.role = TOKEN_ROLE_NONE};
    *out = NULL;
    int has_exp = numeric_date(payload, "exp", &f.exp);
    if (has_exp < 0 || numeric_date(payload, "nbf", &f.nbf) < 0 ||
        numeric_date(payload, "iat", &f.iat) < 0)
        return refuse(why, whylen, TOKEN_ERR_INVALID_CLAIM,
                      "\"exp\", \"nbf\" and \"iat\" must be NumericDates (seconds)");
    if (has_exp == 0)
        return refuse(why, whylen, TOKEN_ERR_MISSING_CLAIM, "\"exp\" (every token expires)");
    int has_sub = text_claim(payload, "sub", TOKEN_SUB_MAX, &f.sub);
    if (has_sub == 0)
        return refuse(why, whylen, TOKEN_ERR_MISSING_CLAIM, "\"sub\"");
    if (has_sub < 0)
        return refuse(why, whylen, TOKEN_ERR_INVALID_CLAIM,
                      "\"sub\" must be 1 to %d bytes of text", TOKEN_SUB_MAX);
    if (text_claim(payload, "jti", TOKEN_JTI_MAX, &f.jti) < 0)
        return refuse(why, whylen, TOKEN_ERR_INVALID_CLAIM,
                      "\"jti\" must be 1 to %d bytes of text", TOKEN_JTI_MAX);
    enum token_error e = read_role(payload, &f, why, whylen);
    if (e != TOKEN_OK)
        return e;
    *out = claims_copy(&f);
    return *out ? TOKEN_OK : refuse(why, whylen, TOKEN_ERR_INTERNAL, "out of memory");
}

/* ---- the verifier --------------------------------------------------------- */

struct token_verifier {
    struct token_config cfg; /* issuer and audience point at the copies below */
    char *issuer, *audience;
    struct keyset *keys;
};

void token_config_defaults(struct token_config *cfg)
{
    *cfg = (struct token_config){.leeway_s = TOKEN_LEEWAY_DEFAULT,
                                 .max_len = TOKEN_MAX_LEN_DEFAULT};
}

struct token_verifier *token_verifier_new(const struct token_config *cfg, struct keyset *keys)
{
    struct token_verifier *v = NULL;
    if (keys && cfg->leeway_s <= TOKEN_LEEWAY_LIMIT && cfg->max_len >= 1 &&
        cfg->max_len <= TOKEN_MAX_LEN_LIMIT)
        v = calloc(1, sizeof *v);
    if (!v) {
        keyset_free(keys);
        return NULL;
    }
    v->cfg = *cfg;
    v->keys = keys;
    v->issuer = cfg->issuer ? strdup(cfg->issuer) : NULL;
    v->audience = cfg->audience ? strdup(cfg->audience) : NULL;
    v->cfg.issuer = v->issuer;
    v->cfg.audience = v->audience;
    if ((cfg->issuer && !v->issuer) || (cfg->audience && !v->audience)) {
        token_verifier_free(v);
        return NULL;
    }
    return v;
}

void token_verifier_free(struct token_verifier *v)
{
    if (!v)
        return;
    keyset_free(v->keys);
    free(v->issuer);
    free(v->audience);
    free(v);
}

int token_verifier_reload(struct token_verifier *v, const struct keyset_source *src, char *err,
                          size_t errlen)
{
    return keyset_reload(&v->keys, src, err, errlen);
}

const struct keyset *token_verifier_keys(const struct token_verifier *v)
{
    return v->keys;
}

const struct token_config *token_verifier_config(const struct token_verifier *v)
{
    return &v->cfg;
}

/* ---- verification --------------------------------------------------------- */

/* Decodes a base64url segment that must hold a JSON object. NULL if not. */
static json_t *segment_json(const char *s, size_t len)
{
    unsigned char *buf = malloc(B64URL_DECODED_MAX(len));
    size_t n;
    json_t *j = NULL;
    if (buf && b64url_decode(s, len, buf, &n) == 0)
        j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* Reads the header's alg and kid (kid points into header). */
static enum token_error check_header(const struct token_verifier *v, json_t *header,
                                     enum keyset_alg *alg, const char **kid, char *why,
                                     size_t whylen)
{
    if (json_object_get(header, "crit"))
        return refuse(why, whylen, TOKEN_ERR_MALFORMED, "the header has \"crit\" extensions");
    json_t *kidv = json_object_get(header, "kid");
    *kid = json_string_value(kidv);
    if (kidv && (!*kid || strlen(*kid) != json_string_length(kidv) || **kid == '\0' ||
                 strlen(*kid) > KEYSET_KID_MAX))
        return refuse(why, whylen, TOKEN_ERR_MALFORMED, "\"kid\" is not a short string");
    const char *name = json_string_value(json_object_get(header, "alg"));
    if (!name)
        return refuse(why, whylen, TOKEN_ERR_MALFORMED, "the header has no \"alg\"");
    *alg = keyset_alg_parse(name);
    if (*alg == KEYSET_ALG_NONE)
        return refuse(why, whylen, TOKEN_ERR_BAD_ALGORITHM,
                      "only HS256, RS256, ES256 and EdDSA are accepted");
    if (!keyset_has_alg(v->keys, *alg))
        return refuse(why, whylen, TOKEN_ERR_BAD_ALGORITHM, "no configured key is for %s",
                      keyset_alg_name(*alg));
    return TOKEN_OK;
}

/* Splits token into its three segments and checks each is base64url.
 * The signature may be empty here: then "none" is refused by name (as
 * bad-algorithm) and any other algorithm as a bad signature. */
static enum token_error split(const char *token, size_t len, const char *seg[3],
                              size_t seglen[3], char *why, size_t whylen)
{
    static const char *const names[3] = {"header", "payload", "signature"};
    const char *p = token, *end = token + len;
    for (int i = 0; i < 3; i++) {
        const char *dot = i < 2 ? memchr(p, '.', (size_t)(end - p)) : end;
        if (!dot)
            return refuse(why, whylen, TOKEN_ERR_MALFORMED, "not three dot-separated segments");
        seg[i] = p;
        seglen[i] = (size_t)(dot - p);
        p = dot + (i < 2);
    }
    for (int i = 0; i < 3; i++) {
        if ((seglen[i] == 0 && i < 2) || !b64url_valid(seg[i], seglen[i]))
            return refuse(why, whylen, TOKEN_ERR_MALFORMED, "the %s segment is not base64url",
                          names[i]);
    }
    return TOKEN_OK;
}

static enum token_error check_signature(const struct token_verifier *v, enum keyset_alg alg,
                                        const char *kid, const char *token, const char *sig,
                                        size_t siglen, char *why, size_t whylen)
{
    unsigned char *raw = malloc(B64URL_DECODED_MAX(siglen));
    size_t rawlen = 0;
    if (!raw || b64url_decode(sig, siglen, raw, &rawlen) != 0) {
        free(raw);
        return refuse(why, whylen, TOKEN_ERR_INTERNAL, "out of memory");
    }
    /* The signing input is the ASCII "header.payload" (RFC 7515, 5.2). */
    enum keyset_verdict verdict = keyset_verify(v->keys, alg, kid, (const unsigned char *)token,
                                                (size_t)(sig - 1 - token), raw, rawlen);
    free(raw);
    switch (verdict) {
    case KEYSET_VERIFIED:
        return TOKEN_OK;
    case KEYSET_NO_ALG:
        return refuse(why, whylen, TOKEN_ERR_BAD_ALGORITHM, "no configured key is for %s",
                      keyset_alg_name(alg));
    case KEYSET_NO_KID:
        return refuse(why, whylen, TOKEN_ERR_UNKNOWN_KEY, "no %s key has the token's kid",
                      keyset_alg_name(alg));
    case KEYSET_BAD_SIGNATURE:
        return refuse(why, whylen, TOKEN_ERR_BAD_SIGNATURE, "checked with the %s keys",
                      keyset_alg_name(alg));
    case KEYSET_FAILED:
        break;
    }
    return refuse(why, whylen, TOKEN_ERR_INTERNAL, "OpenSSL failed");
}

static enum token_error check_times(const struct token_verifier *v, json_t *payload,
                                    int64_t now, char *why, size_t whylen)
{
    int64_t exp, nbf, iat, leeway = v->cfg.leeway_s;
    int has_exp = numeric_date(payload, "exp", &exp);
    if (has_exp < 0 || numeric_date(payload, "nbf", &nbf) < 0 ||
        numeric_date(payload, "iat", &iat) < 0)
        return refuse(why, whylen, TOKEN_ERR_INVALID_CLAIM,
                      "\"exp\", \"nbf\" and \"iat\" must be NumericDates (seconds)");
    if (has_exp == 0)
        return refuse(why, whylen, TOKEN_ERR_MISSING_CLAIM, "\"exp\" (every token expires)");
    if (now >= exp + leeway)
        return refuse(why, whylen, TOKEN_ERR_EXPIRED, "%lld s ago",
                      (long long)(now - exp));
    if (nbf && nbf > now + leeway)
        return refuse(why, whylen, TOKEN_ERR_NOT_YET_VALID, "\"nbf\" is %lld s ahead",
                      (long long)(nbf - now));
    if (iat && iat > now + leeway)
        return refuse(why, whylen, TOKEN_ERR_NOT_YET_VALID, "\"iat\" is %lld s ahead",
                      (long long)(iat - now));
    return TOKEN_OK;
}

/* True when aud (a string or an array of strings) names want. */
static bool audience_names(json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    size_t i;
    json_t *e;
    json_array_foreach(aud, i, e) {
        if (json_is_string(e) && strcmp(json_string_value(e), want) == 0)
            return true;
    }
    return false;
}

static enum token_error check_iss_aud(const struct token_verifier *v, json_t *payload,
                                      char *why, size_t whylen)
{
    if (v->issuer) {
        const char *iss = json_string_value(json_object_get(payload, "iss"));
        if (!iss || strcmp(iss, v->issuer) != 0)
            return refuse(why, whylen, TOKEN_ERR_WRONG_ISSUER, "expected \"%s\"", v->issuer);
    }
    json_t *aud = json_object_get(payload, "aud");
    if (!v->audience && aud)
        return refuse(why, whylen, TOKEN_ERR_WRONG_AUDIENCE,
                      "the token names an audience and none is configured (--auth-audience)");
    if (v->audience && (!aud || !audience_names(aud, v->audience)))
        return refuse(why, whylen, TOKEN_ERR_WRONG_AUDIENCE, "expected \"%s\"", v->audience);
    return TOKEN_OK;
}

enum token_error token_verify(const struct token_verifier *v, const char *token, size_t len,
                              int64_t now_s, struct token_claims **out, char *why,
                              size_t whylen)
{
    *out = NULL;
    if (why && whylen)
        why[0] = '\0';
    if (!token || len == 0)
        return refuse(why, whylen, TOKEN_ERR_MISSING, NULL);
    if (len > v->cfg.max_len)
        return refuse(why, whylen, TOKEN_ERR_TOO_LARGE, "%zu bytes, at most %zu accepted", len,
                      v->cfg.max_len);
    const char *seg[3];
    size_t seglen[3];
    enum token_error e = split(token, len, seg, seglen, why, whylen);
    if (e != TOKEN_OK)
        return e;
    json_t *header = segment_json(seg[0], seglen[0]);
    if (!header)
        return refuse(why, whylen, TOKEN_ERR_MALFORMED, "the header is not a JSON object");
    enum keyset_alg alg = KEYSET_ALG_NONE;
    const char *kid = NULL;
    e = check_header(v, header, &alg, &kid, why, whylen);
    if (e == TOKEN_OK)
        e = check_signature(v, alg, kid, token, seg[2], seglen[2], why, whylen);
    json_decref(header);
    if (e != TOKEN_OK)
        return e;
    /* Signed: only now is the payload parsed. */
    json_t *payload = segment_json(seg[1], seglen[1]);
    if (!payload)
        return refuse(why, whylen, TOKEN_ERR_MALFORMED, "the payload is not a JSON object");
    e = check_times(v, payload, now_s, why, whylen);
    if (e == TOKEN_OK)
        e = check_iss_aud(v, payload, why, whylen);
    if (e == TOKEN_OK)
        e = token_claims_from_json(payload, out, why, whylen);
    json_decref(payload);
    return e;
}
