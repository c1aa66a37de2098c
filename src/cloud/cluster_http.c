/* cluster_http.c - HTTP robot requests between instances (cluster.h): a
 * GET /api/robots/{id}/... that reached the instance of the viewer goes
 * to the robot's instance, which asks the robot and sends the answer back.
 *
 *   http <i> <token>\n<claims JSON or empty>\n{"robotId","method","path","body"}
 *   answer <i> <token> <status>\n<body>
 *
 * The asker's side keeps token -> instance (cl->http_out) so that a
 * request whose robot's instance dies is answered 503 at once; the robot's
 * side keeps one router asker per request until it is answered. */
#include "cloud/cluster_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/token.h"
#include "common/clock.h"
#include "common/log.h"

/* ---- the asker's instance ---- */

bool cl__forward_http(void *self, const char *token, const char *robot_id, const char *method,
                      const char *path, json_t *body, const struct token_claims *caller)
{
    struct cluster *cl = self;
    const struct cl_remote *e = hmap_get(cl->remotes, robot_id, strlen(robot_id));
    if (cl->state != CL_UP || !e || strlen(token) >= sizeof(((struct cl_http_out *)0)->token))
        return false;
    char *claims = cl__claims_text(caller);
    json_t *j = json_pack("{s:s, s:s, s:s, s:O}", "robotId", robot_id, "method", method, "path",
                          path, "body", body ? body : json_null());
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    size_t n = strlen(e->inst);
    struct cl_http_out *o = calloc(1, sizeof(*o) + n + 1);
    bool sent = false;
    if (text && o) {
        snprintf(o->token, sizeof o->token, "%s", token);
        memcpy(o->inst, e->inst, n + 1);
        size_t hl = strlen(cl->inst) + strlen(token) + (claims ? strlen(claims) : 0) + 16;
        char *header = malloc(hl);
        if (header) {
            snprintf(header, hl, "http %s %s\n%s\n", cl->inst, token, claims ? claims : "");
            sent = cl__send_to_inst(cl, e->inst, header, text, strlen(text)) &&
                   hmap_put(cl->http_out, o->token, strlen(o->token), o) == 0;
        }
        free(header);
    }
    if (!sent)
        free(o);
    free(text);
    free(claims);
    return sent;
}

void cl__forget_http(void *self, const char *token)
{
    struct cluster *cl = self;
    free(hmap_remove(cl->http_out, token, strlen(token)));
}

void cl__on_answer(struct cluster *cl, const char *token, unsigned status, const char *body,
                   size_t len)
{
    struct cl_http_out *o = hmap_remove(cl->http_out, token, strlen(token));
    if (!o)
        return;
    free(o);
    router_http_remote_answer(cl->router, token, status, body, len);
}

struct dead_out {
    const char *inst;
    char *tokens[128];
    size_t n;
};

static bool collect_out(const void *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    struct cl_http_out *o = value;
    struct dead_out *d = arg;
    if (strcmp(o->inst, d->inst) == 0 && d->n < 128)
        d->tokens[d->n++] = o->token;
    return d->n < 128;
}

void cl__http_inst_dead(struct cluster *cl, const char *inst)
{
    static const char detail[] = "{\"detail\":\"the robot's cloud instance went away\"}";
    for (;;) {
        struct dead_out d = {.inst = inst};
        hmap_foreach(cl->http_out, collect_out, &d);
        for (size_t i = 0; i < d.n; i++) {
            char token[32];
            snprintf(token, sizeof token, "%s", d.tokens[i]);
            cl__on_answer(cl, token, 503, detail, sizeof detail - 1);
        }
        if (d.n < 128)
            return;
    }
}

/* ---- the robot's instance ---- */

static void http_free(struct cl_http *h)
{
    list_remove(&h->close_node);
    router_http_closed(h->cl->router, h->asker);
    free(h);
}

void cl__http_reap(struct cluster *cl)
{
    struct list *n;
    while ((n = list_first(&cl->closing_http)))
        http_free(list_entry(n, struct cl_http, close_node));
}

void cl__close_all_http(struct cluster *cl)
{
    cl__http_reap(cl);
    struct list *n;
    while ((n = list_first(&cl->open_http)))
        http_free(list_entry(n, struct cl_http, close_node));
}

/* The router's answer: back to the asker's instance; the asker is closed
 * from the loop, never inside the router's call. */
void cl__http_answer(void *http, unsigned status, struct outbuf *body)
{
    struct cl_http *h = http;
    if (h->answered)
        return;
    h->answered = true;
    char header[320];
    snprintf(header, sizeof header, "answer %s %s %u\n", h->cl->inst, h->token, status);
    cl__send_to_inst(h->cl, h->inst, header, (const char *)outbuf_payload(body), body->len);
    list_remove(&h->close_node);
    list_insert_head(&h->cl->closing_http, &h->close_node);
    cl__schedule_close(h->cl);
}

void cl__on_http(struct cluster *cl, const char *inst, const char *token, char *body,
                 size_t len)
{
    char *nl = memchr(body, '\n', len);
    if (!nl || strlen(token) >= sizeof(((struct cl_http *)0)->token))
        return;
    *nl = '\0';
    struct token_claims *caller = NULL;
    if (*body && !cl__claims_parse(body, &caller))
        return;
    json_t *j = json_loads(nl + 1, 0, NULL);
    size_t n = strlen(inst);
    struct cl_http *h = j ? calloc(1, sizeof(*h) + n + 1) : NULL;
    if (h) {
        h->cl = cl;
        snprintf(h->token, sizeof h->token, "%s", token);
        memcpy(h->inst, inst, n + 1);
        list_init(&h->close_node);
        h->asker = router_remote_http_open(cl->router, h, inst);
    }
    if (h && h->asker) {
        list_insert_head(&cl->open_http, &h->close_node);
        const struct robot_request req = {
            .robot_id = json_string_value(json_object_get(j, "robotId")),
            .method = json_string_value(json_object_get(j, "method")),
            .path = json_string_value(json_object_get(j, "path")),
            .body = json_object_get(j, "body"),
            .caller = caller,
        };
        router_http_request(cl->router, h->asker, &req, clock_mono_ms());
        cl__know_inst(cl, inst);
    } else {
        free(h);
        log_warn("cluster: an HTTP request from %s was dropped (malformed or out of memory)",
                 inst);
    }
    json_decref(j);
    token_claims_free(caller);
}
