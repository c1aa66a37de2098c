/* router_auth.c - the peers' identities (router_internal.h): admission
 * through the auth policy, refusals (answered, counted, logged once per
 * connection, never the token), token expiry with its grace and
 * refresh-token, what a viewer may see, sessions per identity, and the
 * HTTP side's authentication (router.h). */
#include "cloud/router_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"

/* Refusal reasons of the router's own, after the token.h codes. */
static const char *const extra_refusals[] = {AUTH_REFUSED_LOOPBACK_ONLY, "wrong-subject"};

void router__init_refusals(struct router *r)
{
    int n = 0;
    for (int e = TOKEN_OK + 1; e < TOKEN_ERR_COUNT; e++)
        r->refusals[n++].code = token_error_code((enum token_error)e);
    for (size_t i = 0; i < sizeof(extra_refusals) / sizeof(extra_refusals[0]); i++)
        r->refusals[n++].code = extra_refusals[i];
    r->refusals[n].code = NULL;
}

void router__count_refusal(struct router *r, const char *code)
{
    for (int i = 0; i < ROUTER_REFUSAL_CODES && r->refusals[i].code; i++) {
        if (strcmp(r->refusals[i].code, code) == 0) {
            r->refusals[i].count++;
            return;
        }
    }
}

/* Answers p `error unauthorized` with reason (a refusal code) and text,
 * counts it, tells the transport, and logs it with the peer's address the
 * first time for this connection (later ones at debug level). */
static void refuse(struct router *r, struct peer *p, const char *reason, const char *text,
                   const char *type, json_t *msg)
{
    router__count_refusal(r, reason);
    if (!p->refusal_logged) {
        p->refusal_logged = true;
        log_warn("%s: %s refused (%s): %s", p->remote_addr, type, reason, text);
    } else {
        log_debug("%s: %s refused again (%s)", p->remote_addr, type, reason);
    }
    if (r->tx->auth_failed)
        r->tx->auth_failed(p->conn, reason);
    router__send_error(r, p, "unauthorized", text, type, msg,
                       json_pack("{s:s}", "reason", reason));
}

bool router__admit(struct router *r, struct peer *p, enum role role, const char *robot_id,
                   json_t *msg, const char *type, struct token_claims **claims)
{
    *claims = NULL;
    if (!auth_peer_allowed(r->auth, p->remote_addr)) {
        refuse(r, p, AUTH_REFUSED_LOOPBACK_ONLY, "porthole-cloud runs without authentication "
               "and serves loopback peers only", type, msg);
        return false;
    }
    json_t *token = json_object_get(msg, "token");
    const struct auth_request req = {
        .role = role,
        .robot_id = robot_id,
        .token = json_string_value(token),
        .token_len = json_string_length(token),
        .remote_addr = p->remote_addr,
        .now_s = clock_wall_ms() / 1000,
    };
    char why[200] = "";
    enum token_error e = r->auth->admit(r->auth, &req, claims, why, sizeof(why));
    if (e == TOKEN_OK)
        return true;
    refuse(r, p, token_error_code(e), *why ? why : token_error_text(e), type, msg);
    return false;
}

/* ---- expiry ---- */

/* Puts p on r->expiries at deadline_ms (monotonic), keeping the order.
 * Tokens of one deployment mostly share a lifetime, so a new deadline is
 * almost always the latest: the walk from the end is short. */
static void schedule_expiry(struct router *r, struct peer *p, int64_t deadline_ms)
{
    list_remove(&p->expiry_node);
    p->expiry_ms = deadline_ms;
    struct list *before = r->expiries.prev;
    while (before != &r->expiries &&
           list_entry(before, struct peer, expiry_node)->expiry_ms > deadline_ms)
        before = before->prev;
    list_insert_after(before, &p->expiry_node);
}

/* The monotonic time at which a token with this exp (Unix seconds)
 * expires, seen from now_ms. */
static int64_t expiry_deadline(int64_t exp_s, int64_t now_ms)
{
    int64_t left = exp_s * 1000 - clock_wall_ms();
    return now_ms + (left > 0 ? left : 0);
}

void router__set_identity(struct router *r, struct peer *p, struct token_claims *claims,
                          int64_t now_ms)
{
    router__forget_identity(r, p);
    p->claims = claims;
    if (claims)
        schedule_expiry(r, p, expiry_deadline(claims->exp, now_ms));
}

void router__forget_identity(struct router *r, struct peer *p)
{
    (void)r;
    list_remove(&p->expiry_node);
    p->in_grace = false;
    token_claims_free(p->claims);
    p->claims = NULL;
}

int64_t router__next_expiry(const struct router *r)
{
    struct list *n = list_first(&r->expiries);
    return n ? list_entry(n, struct peer, expiry_node)->expiry_ms : -1;
}

/* A peer whose token expired is told so and given token_grace_s to send
 * refresh-token; one whose grace ended is closed. */
int64_t router__expiry_tick(struct router *r, int64_t now_ms)
{
    struct list *n;
    while ((n = list_first(&r->expiries))) {
        struct peer *p = list_entry(n, struct peer, expiry_node);
        if (p->expiry_ms > now_ms)
            break;
        list_remove(n);
        if (p->in_grace) {
            log_warn("%s: token expired and not refreshed within %u s: closing with 1008",
                     router_peer_label(p), r->cfg.token_grace_s);
            router__close_peer(r, p, "token expired");
            continue;
        }
        p->in_grace = true;
        schedule_expiry(r, p, now_ms + (int64_t)r->cfg.token_grace_s * 1000);
        log_info("%s: token expired; closing in %u s unless refreshed", router_peer_label(p),
                 r->cfg.token_grace_s);
        char m[160];
        snprintf(m, sizeof(m), "the token has expired: send refresh-token with a new one "
                 "within %u s, or the connection closes", r->cfg.token_grace_s);
        router__send_error(r, p, "token-expired", m, NULL, NULL,
                           json_pack("{s:I}", "graceSeconds", (json_int_t)r->cfg.token_grace_s));
    }
    return router__next_expiry(r);
}

void router__on_refresh_token(struct router *r, struct peer *p, json_t *msg, int64_t now_ms)
{
    static const char type[] = "refresh-token";
    if (!r->auth->needs_token) { /* nothing expires: confirm */
        router__send_msg(r, p, "token-refreshed", json_object());
        return;
    }
    struct token_claims *c;
    if (!router__admit(r, p, p->role, p->role == ROLE_ROBOT ? p->id : NULL, msg, type, &c))
        return;
    /* The same identity: a robot token for the same id (admit checked
     * it), a viewer token for the same sub. */
    if (p->role == ROLE_CLIENT && p->claims && strcmp(c->sub, p->claims->sub) != 0) {
        token_claims_free(c);
        refuse(r, p, "wrong-subject", "the new token is for another subject (sub) than the "
               "connection's", type, msg);
        return;
    }
    router__set_identity(r, p, c, now_ms);
    log_info("%s: token refreshed, expires at %lld", router_peer_label(p), (long long)c->exp);
    router__send_msg(r, p, "token-refreshed", json_pack("{s:I}", "expiresAt",
                                                        (json_int_t)c->exp));
}

/* ---- what a viewer may do ---- */

bool router__may_see(const struct token_claims *claims, const char *robot_id)
{
    return !claims || token_may_see(claims, robot_id) == TOKEN_OK;
}

json_t *router__caller_json(const struct token_claims *claims, const char *client_id)
{
    if (!claims)
        return NULL;
    return json_pack("{s:s, s:s, s:s}", "sub", claims->sub, "scope",
                     claims->role == TOKEN_ROLE_VIEWER ? token_scope_name(claims->scope)
                                                       : token_role_name(claims->role),
                     "clientId", client_id);
}

int router__identity_take(struct router *r, const char *sub, struct identity **out)
{
    size_t len = strlen(sub);
    struct identity *id = hmap_get(r->identities, sub, len);
    *out = NULL;
    if (id && r->cfg.max_sessions_per_identity &&
        id->sessions >= r->cfg.max_sessions_per_identity)
        return 1;
    if (!id) {
        if (!(id = calloc(1, sizeof(*id) + len + 1)))
            return -1;
        memcpy(id->sub, sub, len + 1);
        if (hmap_put(r->identities, id->sub, len, id) != 0) {
            free(id);
            return -1;
        }
    }
    id->sessions++;
    *out = id;
    return 0;
}

void router__identity_release(struct router *r, struct identity *id)
{
    if (!id || --id->sessions)
        return;
    hmap_remove(r->identities, id->sub, strlen(id->sub));
    free(id);
}

/* ---- public ---- */

enum token_error router_http_authenticate(struct router *r, const char *token, size_t len,
                                          const char *remote_addr,
                                          struct token_claims **claims)
{
    const struct auth_request req = {
        .role = ROLE_NONE,
        .token = token,
        .token_len = token ? len : 0,
        .remote_addr = remote_addr,
        .now_s = clock_wall_ms() / 1000,
    };
    char why[200] = "";
    enum token_error e = r->auth->admit(r->auth, &req, claims, why, sizeof(why));
    if (e != TOKEN_OK) {
        router__count_refusal(r, token_error_code(e));
        log_warn("%s: HTTP request refused (%s): %s", remote_addr ? remote_addr : "?",
                 token_error_code(e), *why ? why : token_error_text(e));
    }
    return e;
}

void router_count_refusal(struct router *r, const char *reason, const char *remote_addr)
{
    router__count_refusal(r, reason);
    log_warn("%s: refused (%s)", remote_addr ? remote_addr : "?", reason);
}

bool router_auth_required(const struct router *r)
{
    return r->auth->needs_token;
}

const struct router_error_count *router_refusal_counts(const struct router *r)
{
    return r->refusals;
}
