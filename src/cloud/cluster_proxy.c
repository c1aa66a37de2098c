/* cluster_proxy.c - the stand-ins of other instances' clients, on the
 * robot's instance (cluster.h): made on a client's first forwarded
 * message (router_remote_open), fed its next ones, sending back through
 * Redis, and closed from the loop (never inside a router call) when the
 * client goes, its instance dies, or the router closes it. The deferred
 * closes of answered HTTP askers (cluster_http.c) run on the same timer. */
#include "cloud/cluster_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/token.h"
#include "common/clock.h"
#include "common/log.h"

enum { FIELD_MAX = 160 };

static void proxy_free(struct cl_proxy *p)
{
    free(p->inst);
    free(p->client);
    free(p);
}

static void on_close_timer(lws_sorted_usec_list_t *sul)
{
    struct cluster *cl = lws_container_of(sul, struct cluster, close_timer);
    struct list *n;
    while ((n = list_first(&cl->closing))) {
        struct cl_proxy *p = list_entry(n, struct cl_proxy, close_node);
        list_remove(&p->close_node);
        hmap_remove(cl->proxies, p->key, strlen(p->key));
        router_peer_closed(cl->router, p->peer);
        proxy_free(p);
    }
    cl__http_reap(cl);
}

void cl__schedule_close(struct cluster *cl)
{
    if (cl->ctx)
        lws_sul_schedule(cl->ctx, 0, &cl->close_timer, on_close_timer, 1);
}

bool cl__claims_parse(const char *text, struct token_claims **out)
{
    json_t *j = json_loads(text, 0, NULL);
    char why[120];
    enum token_error e = j ? token_claims_from_json(j, out, why, sizeof why) : TOKEN_ERR_INTERNAL;
    json_decref(j);
    if (e != TOKEN_OK) {
        log_warn("cluster: unusable claims from another instance; message dropped");
        *out = NULL;
        return false;
    }
    return true;
}

void cl__close_proxy_later(struct cluster *cl, struct cl_proxy *p)
{
    if (p->closing)
        return;
    p->closing = true;
    list_insert_head(&cl->closing, &p->close_node);
    cl__schedule_close(cl);
}

static void close_now(struct cluster *cl, void *value, void *arg)
{
    (void)arg;
    struct cl_proxy *p = value;
    if (p->closing)
        list_remove(&p->close_node);
    hmap_remove(cl->proxies, p->key, strlen(p->key));
    router_peer_closed(cl->router, p->peer);
    proxy_free(p);
}

void cl__close_all_proxies(struct cluster *cl)
{
    cl__each(cl->proxies, close_now, cl, NULL);
}

int cl__proxy_send(void *conn, struct outbuf *buf)
{
    struct cl_proxy *p = conn;
    if (p->closing)
        return -1;
    char header[300];
    snprintf(header, sizeof header, "deliver %s %s\n", p->cl->inst, p->client);
    return cl__send_to_inst(p->cl, p->inst, header, (const char *)outbuf_payload(buf), buf->len)
               ? 0
               : -1;
}

void cl__proxy_close(void *conn, int code, const char *reason)
{
    struct cl_proxy *p = conn;
    (void)code;
    if (p->closing)
        return;
    log_info("cluster: closing client %s of %s (%s)", p->client, p->inst, reason);
    char header[300];
    snprintf(header, sizeof header, "close %s %s\n", p->cl->inst, p->client);
    cl__send_to_inst(p->cl, p->inst, header, "", 0);
    cl__close_proxy_later(p->cl, p);
}

/* The stand-in of inst's client id, made on its first message. */
static struct cl_proxy *proxy_for(struct cluster *cl, const char *inst, const char *id,
                                  const char *claims_json)
{
    char key[2 * FIELD_MAX + 2];
    snprintf(key, sizeof key, "%s\n%s", inst, id);
    struct cl_proxy *p = hmap_get(cl->proxies, key, strlen(key));
    if (p)
        return p->closing ? NULL : p;
    struct token_claims *claims = NULL;
    if (*claims_json && !cl__claims_parse(claims_json, &claims))
        return NULL;
    p = calloc(1, sizeof(*p) + strlen(key) + 1);
    if (!p || !(p->inst = strdup(inst)) || !(p->client = strdup(id))) {
        token_claims_free(claims);
        if (p)
            proxy_free(p);
        return NULL;
    }
    p->cl = cl;
    strcpy(p->key, key);
    list_init(&p->close_node);
    if (hmap_put(cl->proxies, p->key, strlen(p->key), p) != 0 ||
        !(p->peer = router_remote_open(cl->router, p, id, claims, inst, clock_mono_ms()))) {
        hmap_remove(cl->proxies, p->key, strlen(p->key));
        proxy_free(p);
        return NULL;
    }
    cl__know_inst(cl, inst);
    return p;
}

void cl__on_fwd(struct cluster *cl, const char *inst, const char *id, char *body,
                   size_t len)
{
    char *nl = memchr(body, '\n', len);
    if (!nl)
        return;
    *nl = '\0';
    struct cl_proxy *p = proxy_for(cl, inst, id, body);
    size_t skip = (size_t)(nl + 1 - body);
    if (p)
        router_peer_message(cl->router, p->peer, nl + 1, len - skip, clock_mono_ms());
}

void cl__on_gone(struct cluster *cl, const char *inst, const char *id)
{
    char key[2 * FIELD_MAX + 2];
    snprintf(key, sizeof key, "%s\n%s", inst, id);
    struct cl_proxy *p = hmap_get(cl->proxies, key, strlen(key));
    if (p)
        cl__close_proxy_later(cl, p);
}

