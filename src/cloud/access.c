/* access.c - who may reach porthole-cloud (access.h): protected mode at
 * the upgrade and the request, Bearer tokens of HTTP requests and the
 * routes they guard, SIGHUP's key reload, the start-up notice. */
#include "cloud/access.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cloud/auth.h"
#include "cloud/edge.h"
#include "cloud/http_reply.h"
#include "cloud/router.h"
#include "cloud/status.h"
#include "cloud/token.h"
#include "common/clock.h"
#include "common/log.h"

/* The reply to a peer refused for its address in protected mode. */
#define LOOPBACK_ONLY_TEXT \
    "porthole-cloud runs without authentication (protected mode) and serves loopback " \
    "clients only; its operator can configure tokens (docs/SECURITY.md)"

bool access_upgrade_allowed(struct server *srv, struct lws *wsi)
{
    char addr[64];
    conn_peer_address(wsi, addr, sizeof(addr));
    if (auth_peer_allowed(srv->auth, addr))
        return true;
    srv->stats.connections_refused++;
    router_count_refusal(srv->router, AUTH_REFUSED_LOOPBACK_ONLY, addr);
    lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, LOOPBACK_ONLY_TEXT);
    return false;
}

bool access_http_allowed(struct server *srv, struct conn *c)
{
    char addr[64];
    conn_peer_address(c->wsi, addr, sizeof(addr));
    if (auth_peer_allowed(srv->auth, addr))
        return true;
    router_count_refusal(srv->router, AUTH_REFUSED_LOOPBACK_ONLY, addr);
    http_reply_message(c, HTTP_STATUS_FORBIDDEN, "error", LOOPBACK_ONLY_TEXT);
    return false;
}

/* Verifies the request's "Authorization: Bearer <token>" and keeps its
 * claims in c->http->caller. Returns TOKEN_OK (also for a policy without
 * identities: no claims then), TOKEN_ERR_MISSING, or the refusal. Sets
 * *admin when the token is --metrics-token or an admin's. */
static enum token_error http_identify(struct server *srv, struct conn *c, bool *admin)
{
    *admin = false;
    int n = lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    char *h = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (!h || lws_hdr_copy(c->wsi, h, n + 1, WSI_TOKEN_HTTP_AUTHORIZATION) < 0 ||
        strncasecmp(h, "Bearer ", 7) != 0) {
        free(h);
        return router_auth_required(srv->router) ? TOKEN_ERR_MISSING : TOKEN_OK;
    }
    const char *token = h + 7 + strspn(h + 7, " ");
    size_t len = strlen(token), mlen = strlen(srv->cfg.metrics_token);
    if (mlen && len == mlen && CRYPTO_memcmp(token, srv->cfg.metrics_token, len) == 0) {
        *admin = true;
        OPENSSL_cleanse(h, (size_t)n);
        free(h);
        return TOKEN_OK;
    }
    char addr[64];
    conn_peer_address(c->wsi, addr, sizeof(addr));
    token_claims_free(c->http->caller);
    c->http->caller = NULL;
    enum token_error e = router_http_authenticate(srv->router, token, len, addr,
                                                  &c->http->caller);
    OPENSSL_cleanse(h, (size_t)n);
    free(h);
    *admin = c->http->caller && token_has_scope(c->http->caller, TOKEN_SCOPE_ADMIN) == TOKEN_OK;
    return e;
}

/* Answers 401 (no valid token) with the refusal code as "reason". A
 * refused token was counted by the router; a missing one is counted here,
 * where it is known to be required. */
static int http_unauthorized(struct server *srv, struct conn *c, enum token_error e,
                             const char *key)
{
    if (e == TOKEN_ERR_MISSING) {
        char addr[64];
        conn_peer_address(c->wsi, addr, sizeof(addr));
        router_count_refusal(srv->router, token_error_code(e), addr);
    } else {
        /* A presented token that fails counts against the address, as a
         * refused registration does (--max-auth-failures-per-ip). */
        edge_auth_failed(c, token_error_code(e));
    }
    json_t *j = json_pack("{s:s, s:s}", key, e == TOKEN_ERR_MISSING
                          ? "a token is required: send Authorization: Bearer <token>"
                          : token_error_text(e), "reason", token_error_code(e));
    http_reply_respond(c, HTTP_STATUS_UNAUTHORIZED, "application/json",
                       j ? outbuf_take_string(json_dumps(j, JSON_COMPACT)) : NULL);
    json_decref(j);
    return 0;
}

bool access_api_identified(struct server *srv, struct conn *c)
{
    bool admin;
    enum token_error e = http_identify(srv, c, &admin);
    if (!router_auth_required(srv->router) || e == TOKEN_OK)
        return true;
    http_unauthorized(srv, c, e, "detail");
    return false;
}

int access_status_request(struct server *srv, struct conn *c, const char *uri)
{
    bool admin;
    enum token_error e = http_identify(srv, c, &admin);
    bool auth = router_auth_required(srv->router);
    bool details = admin || (!auth && !*srv->cfg.metrics_token);
    int64_t now = clock_mono_ms();
    if (strcmp(uri, "/health") == 0) {
        http_reply_respond(c, HTTP_STATUS_OK, "application/json",
                           status_health(srv->router, srv->started_ms, now, details));
        return 0;
    }
    if (strcmp(uri, "/robots") == 0) {
        if (auth && e != TOKEN_OK)
            return http_unauthorized(srv, c, e, "error");
        http_reply_respond(c, HTTP_STATUS_OK, "application/json",
                           status_robots(srv->router, c->http->caller));
        return 0;
    }
    if (!details && c->http->caller)
        return http_reply_message(c, HTTP_STATUS_FORBIDDEN, "error",
                                  "/metrics needs a token with the admin scope");
    if (!details)
        return http_unauthorized(srv, c, e == TOKEN_OK ? TOKEN_ERR_MISSING : e, "error");
    http_reply_respond(c, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8",
                       status_metrics(srv->router, &srv->stats, srv->started_ms, now));
    return 0;
}

/* SIGHUP: the policy re-reads its keys; on failure the old ones stay in
 * force. Open connections and sessions are untouched either way. */
void access_reload(struct server *srv)
{
    char err[256], desc[320];
    if (auth_reload(srv->auth, err, sizeof(err)) != 0) {
        log_error("SIGHUP: the keys were not reloaded, the old ones stay in force: %s", err);
        return;
    }
    auth_describe(srv->auth, desc, sizeof(desc));
    log_info("SIGHUP: %s%s", srv->auth->reload ? "keys reloaded: " : "nothing to reload: ",
             desc);
}

/* --insecure-open: the warning at start, repeated every hour. */
static void warn_insecure_open(lws_sorted_usec_list_t *sul)
{
    struct server *srv = lws_container_of(sul, struct server, open_warning);
    log_warn("--insecure-open: porthole-cloud serves every address WITHOUT authentication: "
             "anyone who reaches it can register robots, watch them and call their API");
    lws_sul_schedule(srv->ctx, 0, &srv->open_warning, warn_insecure_open,
                     3600 * LWS_US_PER_SEC);
}

void access_announce(struct server *srv)
{
    char desc[320];
    auth_describe(srv->auth, desc, sizeof(desc));
    if (srv->auth->loopback_only)
        log_info("protected mode: no --auth-* configured, so only loopback peers are served; "
                 "configure tokens or --insecure-open to serve others (docs/SECURITY.md)");
    else if (!srv->auth->needs_token)
        warn_insecure_open(&srv->open_warning);
    else
        log_info("authentication: %s", desc);
}

void access_stop(struct server *srv)
{
    lws_sul_cancel(&srv->open_warning);
}

void access_release(struct conn *c)
{
    token_claims_free(c->http->caller);
    c->http->caller = NULL;
}
