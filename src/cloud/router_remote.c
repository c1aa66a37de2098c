/* router_remote.c - the router's side of several instances (router.h,
 * "several instances"): forwarding a local client's message to the
 * instance of its robot or session, the stand-ins of other instances'
 * clients, deliveries to local clients, and other instances' robots in
 * broadcasts. */
#include "cloud/router_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/codec_json.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"

bool router__forward(struct router *r, struct peer *p, const char *robot_id, const char *sid,
                     const char *type, json_t *msg, const char *data, size_t len)
{
    const struct router_cluster *cl = r->cfg.cluster;
    if (!cl || p->remote || p->role != ROLE_CLIENT)
        return false;
    /* The instances speak native JSON: other codecs' messages are
     * re-encoded, native ones go as they came. */
    struct outbuf *b = NULL;
    if (!data || p->codec != &codec_json) {
        if (!(b = codec_json.encode(type, msg)))
            return false;
        data = (const char *)outbuf_payload(b);
        len = b->len;
    }
    bool sent = cl->forward(cl->self, p->id, p->claims, robot_id, sid, data, len);
    outbuf_unref(b);
    return sent;
}

struct peer *router_remote_open(struct router *r, void *conn, const char *client_id,
                                struct token_claims *claims, const char *via, int64_t now_ms)
{
    char addr[64];
    snprintf(addr, sizeof(addr), "via %s", via ? via : "?");
    struct peer *p = router_peer_open(r, conn, &codec_json, addr, now_ms);
    if (!p || !(p->id = strdup(client_id))) {
        token_claims_free(claims);
        if (p) {
            r->peers--;
            free(p);
        }
        return NULL;
    }
    p->remote = true;
    p->role = ROLE_CLIENT;
    p->label_role = ROLE_CLIENT;
    p->connected_at_ms = clock_wall_ms();
    /* The claims decide what the stand-in may see and do here; their
     * expiry and refresh-token are the client's own instance's business
     * (its close ends this stand-in), so no expiry is scheduled here. */
    p->claims = claims;
    return p;
}

bool router_deliver(struct router *r, const char *client_id, const char *text, size_t len)
{
    struct peer *p = registry_find(r->reg, REG_CLIENT, client_id);
    if (!p || p->closing)
        return false;
    struct outbuf *b = NULL;
    if (p->codec == &codec_json) {
        b = outbuf_new(text, len);
    } else {
        struct codec_error cerr;
        const char *type = NULL;
        json_t *msg = codec_json.decode(text, len, &type, &cerr);
        b = msg ? p->codec->encode(type, msg) : NULL;
        json_decref(msg);
    }
    if (!b) {
        log_warn("%s: a message from another instance was dropped (out of memory or "
                 "not JSON)", router_peer_label(p));
        return false;
    }
    router__send_buf(r, p, b);
    outbuf_unref(b);
    return true;
}

void router_close_client(struct router *r, const char *client_id)
{
    struct peer *p = registry_find(r->reg, REG_CLIENT, client_id);
    if (p && !p->closing)
        router__close_peer(r, p, "closed by another instance");
}

bool router_degraded(const struct router *r)
{
    const struct router_cluster *cl = r->cfg.cluster;
    return cl && cl->degraded(cl->self);
}

/* ---- HTTP robot requests between instances ---- */

bool router__forward_http(struct router *r, struct http_asker *h,
                          const struct robot_request *req)
{
    const struct router_cluster *cl = r->cfg.cluster;
    if (!cl || h->asker.remote || h->fwd_token[0])
        return false;
    char *token = h->fwd_token;
    if (ids_token(token) != 0 || hmap_put(r->forwarded, token, IDS_TOKEN_LEN, h) != 0) {
        token[0] = '\0';
        return false;
    }
    if (!cl->forward_http(cl->self, token, req->robot_id, req->method, req->path, req->body,
                          req->caller)) {
        hmap_remove(r->forwarded, token, IDS_TOKEN_LEN);
        token[0] = '\0';
        return false;
    }
    r->stats.robot_requests_forwarded++;
    return true;
}

void router__forget_forwarded(struct router *r, struct http_asker *h)
{
    if (!h->fwd_token[0])
        return;
    hmap_remove(r->forwarded, h->fwd_token, IDS_TOKEN_LEN);
    r->stats.robot_requests_abandoned++;
    r->cfg.cluster->forget_http(r->cfg.cluster->self, h->fwd_token);
    h->fwd_token[0] = '\0';
}

struct http_asker *router_remote_http_open(struct router *r, void *http, const char *via)
{
    char name[96];
    snprintf(name, sizeof name, "via %s", via ? via : "?");
    struct http_asker *h = router_http_open(r, http, name);
    if (h)
        h->asker.remote = true;
    return h;
}

void router_http_remote_answer(struct router *r, const char *token, unsigned status,
                               const char *body, size_t len)
{
    struct http_asker *h = strlen(token) == IDS_TOKEN_LEN
                               ? hmap_remove(r->forwarded, token, IDS_TOKEN_LEN)
                               : NULL;
    if (!h)
        return;
    h->fwd_token[0] = '\0';
    struct outbuf *b = outbuf_new(body, len);
    if (!b) {
        log_error("out of memory: an answer from another instance was dropped");
        return;
    }
    r->stats.robot_requests_answered++;
    r->tx->http_answer(h->asker.http, status, b);
    outbuf_unref(b);
}
