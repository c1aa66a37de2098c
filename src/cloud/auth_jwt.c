/* auth_jwt.c - the token policy (auth_jwt.h): JWTs verified by token.h
 * with keys of keyset.h, claims as the peer's identity. */
#include "cloud/auth_jwt.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jwt_state {
    struct auth auth;            /* the seam handed out; state points back here */
    struct token_verifier *verifier;
    char *secret;                /* copies of the key source, for reload */
    char *secret_file;
    char *jwks_file;
};

static struct keyset_source source_of(const struct jwt_state *s)
{
    return (struct keyset_source){
        .secret = s->secret, .secret_file = s->secret_file, .jwks_file = s->jwks_file};
}

static enum token_error jwt_admit(const struct auth *self, const struct auth_request *req,
                                  struct token_claims **claims, char *why, size_t whylen)
{
    const struct jwt_state *s = self->state;
    *claims = NULL;
    if (!req->token) {
        snprintf(why, whylen, "%s", token_error_text(TOKEN_ERR_MISSING));
        return TOKEN_ERR_MISSING;
    }
    struct token_claims *c = NULL;
    enum token_error e = token_verify(s->verifier, req->token, req->token_len, req->now_s, &c,
                                      why, whylen);
    if (e != TOKEN_OK)
        return e;
    if (req->role == ROLE_ROBOT)
        e = token_may_register(c, req->robot_id);
    else if (req->role == ROLE_CLIENT && c->role != TOKEN_ROLE_VIEWER)
        e = TOKEN_ERR_WRONG_ROLE;
    if (e != TOKEN_OK) {
        snprintf(why, whylen, "%s", token_error_text(e));
        token_claims_free(c);
        return e;
    }
    *claims = c;
    return TOKEN_OK;
}

static int jwt_reload(const struct auth *self, char *err, size_t errlen)
{
    struct jwt_state *s = self->state;
    const struct keyset_source src = source_of(s);
    return token_verifier_reload(s->verifier, &src, err, errlen);
}

static void jwt_describe(const struct auth *self, char *out, size_t outlen)
{
    const struct jwt_state *s = self->state;
    const struct token_config *cfg = token_verifier_config(s->verifier);
    char keys[200];
    keyset_describe(token_verifier_keys(s->verifier), keys, sizeof(keys));
    snprintf(out, outlen, "tokens required (%s; issuer %s, audience %s, clock skew %u s)", keys,
             cfg->issuer ? cfg->issuer : "not checked",
             cfg->audience ? cfg->audience : "none", cfg->leeway_s);
}

static void free_secret(char *secret)
{
    if (secret)
        OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
}

static void jwt_free(const struct auth *self)
{
    struct jwt_state *s = self->state;
    token_verifier_free(s->verifier);
    free_secret(s->secret);
    free(s->secret_file);
    free(s->jwks_file);
    free(s);
}

/* strdup of an optional string: NULL and "" stay NULL. Sets *oom. */
static char *copy_opt(const char *v, bool *oom)
{
    if (!v || !*v)
        return NULL;
    char *c = strdup(v);
    if (!c)
        *oom = true;
    return c;
}

const struct auth *auth_jwt_new(const struct auth_jwt_config *cfg, char *err, size_t errlen)
{
    struct jwt_state *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    bool oom = false;
    s->secret = copy_opt(cfg->keys.secret, &oom);
    s->secret_file = copy_opt(cfg->keys.secret_file, &oom);
    s->jwks_file = copy_opt(cfg->keys.jwks_file, &oom);
    s->auth = (struct auth){
        .name = "jwt",
        .needs_token = true,
        .admit = jwt_admit,
        .reload = jwt_reload,
        .describe = jwt_describe,
        .free = jwt_free,
        .state = s,
    };
    if (oom) {
        snprintf(err, errlen, "out of memory");
        jwt_free(&s->auth);
        return NULL;
    }
    const struct keyset_source src = source_of(s);
    struct keyset *keys = keyset_load(&src, err, errlen);
    if (!keys) {
        jwt_free(&s->auth);
        return NULL;
    }
    if (!(s->verifier = token_verifier_new(&cfg->token, keys))) {
        snprintf(err, errlen, "the token settings are out of range (clock skew at most %d s) "
                 "or memory ran out", TOKEN_LEEWAY_LIMIT);
        jwt_free(&s->auth);
        return NULL;
    }
    return &s->auth;
}
