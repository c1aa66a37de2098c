/* router_request.c - robot requests: a client's call of a robot's REST API,
 * routed to the robot and its answer back to that asker only (router.h). */
#include "cloud/router_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/log.h"

/* A robot request waiting for its answer. It is indexed by token in the
 * router's table and sits on three lists: its robot's (to fail it when the
 * robot goes), its asker's (to forget it when the asker goes), and the
 * router's deadline order (to time it out). */
struct request {
    char token[IDS_TOKEN_LEN + 1];   /* the requestId the robot sees */
    struct peer *robot;
    struct asker *asker;
    json_t *request_id;              /* the WebSocket asker's requestId; NULL for HTTP */
    int64_t deadline_ms;
    struct list robot_node;          /* on robot->requests */
    struct list asker_node;          /* on asker->requests */
    struct list deadline_node;       /* on r->deadlines */
};

/* ---- answers ---- */

/* Answers asker a: robot-response on its WebSocket, or tx->http_answer.
 * body is borrowed (NULL: null); request_id is the WebSocket asker's. */
static void answer_asker(struct router *r, struct asker *a, json_t *request_id,
                         const char *robot_id, unsigned status, json_t *body)
{
    if (!body)
        body = json_null();
    if (a->peer) {
        router__send_msg(r, a->peer, "robot-response",
                         json_pack("{s:O, s:s, s:i, s:O}", "requestId", request_id, "robotId",
                                   robot_id, "status", (int)status, "body", body));
        return;
    }
    struct outbuf *b = outbuf_take_string(
        json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER));
    if (!b) {
        log_error("out of memory encoding an answer from robot %s", robot_id);
        status = 500;
        if (!(b = outbuf_new("{\"detail\":\"out of memory\"}", 26)))
            return; /* the transport's own timeout ends the request */
    }
    (a->remote ? r->cfg.cluster->tx : r->tx)->http_answer(a->http, status, b);
    outbuf_unref(b);
}

/* Answers a with a status the cloud produces: {"detail": "<sentence>"}. */
static void answer_detail(struct router *r, struct asker *a, json_t *request_id,
                          const char *robot_id, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void answer_detail(struct router *r, struct asker *a, json_t *request_id,
                          const char *robot_id, unsigned status, const char *fmt, ...)
{
    char detail[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    json_t *body = json_pack("{s:s}", "detail", detail);
    answer_asker(r, a, request_id, robot_id, status, body);
    json_decref(body);
}

/* ---- the table and the lists ---- */

/* Puts q (already in the table) on its robot's, its asker's and the
 * deadline list. Deadlines are now + one timeout, so a new request is
 * almost always the latest; walking back from the end keeps the order
 * right if a caller's clock ever steps back. */
static void link_request(struct router *r, struct request *q)
{
    list_insert_head(&q->robot->requests, &q->robot_node);
    q->robot->npending++;
    list_insert_head(&q->asker->requests, &q->asker_node);
    q->asker->nrequests++;
    struct list *before = r->deadlines.prev;
    while (before != &r->deadlines &&
           list_entry(before, struct request, deadline_node)->deadline_ms > q->deadline_ms)
        before = before->prev;
    list_insert_after(before, &q->deadline_node);
    r->stats.robot_requests_pending++;
}

/* Takes q out of the table and every list; the caller frees it. */
static void unlink_request(struct router *r, struct request *q)
{
    hmap_remove(r->requests, q->token, IDS_TOKEN_LEN);
    list_remove(&q->robot_node);
    q->robot->npending--;
    list_remove(&q->asker_node);
    q->asker->nrequests--;
    list_remove(&q->deadline_node);
    r->stats.robot_requests_pending--;
}

static void free_request(struct request *q)
{
    json_decref(q->request_id);
    free(q);
}

/* Ends q with the cloud's own answer (503, 504) and frees it. */
static void fail_request(struct router *r, struct request *q, unsigned status,
                         const char *detail)
{
    unlink_request(r, q);
    log_info("robot request %s from %s to robot %s: %u (%s)", q->token,
             q->asker->peer ? router_peer_label(q->asker->peer) : "HTTP", q->robot->id, status, detail);
    answer_detail(r, q->asker, q->request_id, q->robot->id, status, "%s", detail);
    free_request(q);
}

/* The pending request with the earliest deadline, or NULL. */
static struct request *earliest(const struct router *r)
{
    struct list *n = list_first(&r->deadlines);
    return n ? list_entry(n, struct request, deadline_node) : NULL;
}

void router__forget_asker(struct router *r, struct asker *a)
{
    struct list *n;
    while ((n = list_first(&a->requests))) {
        struct request *q = list_entry(n, struct request, asker_node);
        unlink_request(r, q);
        r->stats.robot_requests_abandoned++;
        free_request(q);
    }
}

void router__fail_robot_requests(struct router *r, struct peer *robot)
{
    struct list *n;
    while ((n = list_first(&robot->requests))) {
        char detail[PROTO_NAME_MAX + 48];
        snprintf(detail, sizeof(detail), "robot '%s' went offline before answering", robot->id);
        r->stats.robot_requests_failed++;
        fail_request(r, list_entry(n, struct request, robot_node), 503, detail);
    }
}

void router__fail_all_requests(struct router *r)
{
    struct request *q;
    while ((q = earliest(r))) {
        r->stats.robot_requests_failed++;
        fail_request(r, q, 503, "porthole-cloud is shutting down");
    }
}

/* ---- asking ---- */

/* Who asks, as start_request() needs it: the asker, the name the robot
 * sees (clientId), the WebSocket asker's requestId (NULL for HTTP) and the
 * caller's verified claims (NULL without identities). */
struct asking {
    struct asker *asker;
    const char *name;
    json_t *request_id;
    const struct token_claims *caller;
    bool watch; /* the watch scope suffices (WHEP) */
};

/* Answers a request that cannot be forwarded. Returns true when it did:
 * the robot is not connected, or not visible to the caller (the same
 * answer, so that a viewer cannot tell the two apart), the caller's scope
 * is below control, or a limit is reached (per asker, per robot). */
static bool refused_at_once(struct router *r, const struct asking *w, const char *robot_id,
                            const struct peer *robot)
{
    struct asker *a = w->asker;
    if (!robot || !router__may_see(w->caller, robot_id)) {
        r->stats.robot_requests_refused++;
        answer_detail(r, a, w->request_id, robot_id, 503, "robot '%s' is not connected",
                      robot_id);
        return true;
    }
    if (w->caller && token_has_scope(w->caller, w->watch ? TOKEN_SCOPE_WATCH
                                                         : TOKEN_SCOPE_CONTROL) != TOKEN_OK) {
        r->stats.robot_requests_refused++;
        router__count_refusal(r, token_error_code(TOKEN_ERR_INSUFFICIENT_SCOPE));
        answer_detail(r, a, w->request_id, robot_id, 403, "%s needs a token with the %s scope "
                      "(this one has %s)", w->watch ? "watching a robot" : "calling a robot's API",
                      w->watch ? "watch" : "control", token_scope_name(w->caller->scope));
        return true;
    }
    if (a->nrequests >= r->cfg.max_pending_requests) {
        r->stats.robot_requests_refused++;
        answer_detail(r, a, w->request_id, robot_id, 429,
                      "at most %u robot requests may be pending per connection",
                      r->cfg.max_pending_requests);
        return true;
    }
    if (r->cfg.max_robot_pending && robot->npending >= r->cfg.max_robot_pending) {
        /* Shed here rather than let the robot drown in answers. */
        r->stats.robot_requests_refused++;
        answer_detail(r, a, w->request_id, robot_id, 429, "robot '%s' already has %u requests "
                      "pending; try again later", robot_id, robot->npending);
        return true;
    }
    return false;
}

/* Forwards a request of w->asker to robot_id, or answers it at once when
 * it cannot be forwarded. The fields are valid (protocol.c); body is
 * borrowed. */
static void start_request(struct router *r, const struct asking *w, const char *robot_id,
                          const char *method, const char *path, json_t *body, int64_t now_ms)
{
    struct peer *robot = registry_find(r->reg, REG_ROBOT, robot_id);
    if (refused_at_once(r, w, robot_id, robot))
        return;
    struct asker *a = w->asker;
    struct request *q = calloc(1, sizeof(*q));
    int rc = 1;
    /* A collision of 128 random bits means a broken RNG; retry a little. */
    for (int tries = 0; q && rc == 1 && tries < 3; tries++)
        rc = ids_token(q->token) == 0 ? hmap_put(r->requests, q->token, IDS_TOKEN_LEN, q) : -1;
    if (!q || rc != 0) {
        free(q);
        r->stats.robot_requests_refused++;
        answer_detail(r, a, w->request_id, robot_id, 500, "porthole-cloud could not allocate "
                      "a request (out of memory or randomness)");
        return;
    }
    q->robot = robot;
    q->asker = a;
    q->request_id = w->request_id ? json_incref(w->request_id) : NULL;
    q->deadline_ms = now_ms + (int64_t)r->cfg.request_timeout_s * 1000;
    link_request(r, q);
    r->stats.robot_requests_forwarded++;
    log_debug("robot request %s: %s %s %s -> robot %s", q->token, w->name, method, path,
              robot->id);
    json_t *order = json_pack("{s:s, s:s, s:s, s:O, s:s}", "requestId", q->token, "method",
                              method, "path", path, "body", body ? body : json_null(),
                              "clientId", w->name);
    /* The robot learns who asks, so that it can decide for itself. */
    if (order && w->caller)
        json_object_set_new(order, "caller", router__caller_json(w->caller, w->name));
    /* When this send fails the robot's connection is closing: its close
     * answers the request with 503. */
    router__send_msg(r, robot, "robot-request", order);
}

void router__on_robot_request(struct router *r, struct peer *client, json_t *msg,
                              int64_t now_ms)
{
    const char *robot_id = json_string_value(json_object_get(msg, "robotId"));
    /* A robot of another instance: the request waits there. */
    if (!registry_find(r->reg, REG_ROBOT, robot_id) &&
        router__may_see(client->claims, robot_id) &&
        router__forward(r, client, robot_id, NULL, "robot-request", msg, NULL, 0))
        return;
    const struct asking w = {.asker = &client->asker, .name = client->id,
                             .request_id = json_object_get(msg, "requestId"),
                             .caller = client->claims};
    start_request(r, &w, json_string_value(json_object_get(msg, "robotId")),
                  json_string_value(json_object_get(msg, "method")),
                  json_string_value(json_object_get(msg, "path")),
                  json_object_get(msg, "body"), now_ms);
}

/* The robot's answer goes to the asker of the request its token names,
 * and only when that request is pending on this very robot connection.
 * Anything else is dropped without a reply: the robot has nobody to tell
 * (the asker may be gone, the request expired or already answered). */
void router__on_robot_response(struct router *r, struct peer *robot, json_t *msg)
{
    json_t *token = json_object_get(msg, "requestId");
    struct request *q = json_string_length(token) == IDS_TOKEN_LEN
                            ? hmap_get(r->requests, json_string_value(token), IDS_TOKEN_LEN)
                            : NULL;
    if (!q || q->robot != robot) {
        r->stats.robot_responses_dropped++;
        log_debug("%s: dropped a robot-response whose requestId is not pending on this "
                  "connection (unknown, expired or already answered)", router_peer_label(robot));
        return;
    }
    unlink_request(r, q);
    r->stats.robot_requests_answered++;
    answer_asker(r, q->asker, q->request_id, robot->id,
                 (unsigned)json_integer_value(json_object_get(msg, "status")),
                 json_object_get(msg, "body"));
    free_request(q);
}

bool router__answers_pending(struct router *r, struct peer *robot, const char *data,
                             size_t len)
{
    /* Most of a robot's messages are not answers: a scan for the type's
     * name spares them a decode. */
    static const char name[] = "\"robot-response\"";
    if (!memmem(data, len, name, sizeof(name) - 1))
        return false;
    struct codec_error cerr;
    const char *type = NULL;
    json_t *msg = robot->codec->decode(data, len, &type, &cerr);
    json_t *token = msg && strcmp(type, "robot-response") == 0
                        ? json_object_get(msg, "requestId") : NULL;
    const struct request *q = json_string_length(token) == IDS_TOKEN_LEN
                                  ? hmap_get(r->requests, json_string_value(token), IDS_TOKEN_LEN)
                                  : NULL;
    json_decref(msg);
    return q && q->robot == robot;
}

/* ---- public: HTTP askers and time ---- */

struct http_asker *router_http_open(struct router *r, void *http, const char *remote_addr)
{
    (void)r;
    struct http_asker *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->asker.http = http;
    list_init(&h->asker.requests);
    snprintf(h->name, sizeof(h->name), "http:%s", remote_addr ? remote_addr : "?");
    return h;
}

/* router_http_request and router_http_watch; watch: the watch scope
 * suffices. */
static void http_request(struct router *r, struct http_asker *h, const struct robot_request *req,
                         bool watch, int64_t now_ms)
{
    const char *id = req->robot_id;
    /* The same rules as robot-request's, with 400 for robot-request's
     * invalid-field: the id and the path come from a URL. */
    const char *bad = NULL;
    if (!id || !ids_valid_name(id, PROTO_NAME_MAX))
        bad = "the robot id must be 1 to 64 characters of A-Z a-z 0-9 . _ : @ -";
    else if (!protocol_valid_method(req->method))
        bad = "the method must be GET, POST, PUT or DELETE";
    else if (!req->path || !protocol_valid_api_path(req->path, strlen(req->path)))
        bad = "the robot's path must be at most 1024 bytes of printable ASCII";
    if (bad) {
        r->stats.robot_requests_refused++;
        answer_detail(r, &h->asker, NULL, "?", 400, "%s", bad);
        return;
    }
    if (r->auth->needs_token && !req->caller) {
        r->stats.robot_requests_refused++;
        answer_detail(r, &h->asker, NULL, id, 401, "a token is required "
                      "(Authorization: Bearer <token>)");
        return;
    }
    /* A robot of another instance: the request waits there. */
    if (!registry_find(r->reg, REG_ROBOT, id) && router__may_see(req->caller, id) &&
        router__forward_http(r, h, req))
        return;
    const struct asking w = {.asker = &h->asker, .name = h->name, .caller = req->caller,
                             .watch = watch};
    start_request(r, &w, id, req->method, req->path, req->body, now_ms);
}

void router_http_request(struct router *r, struct http_asker *h, const struct robot_request *req,
                         int64_t now_ms)
{
    http_request(r, h, req, false, now_ms);
}

void router_http_watch(struct router *r, struct http_asker *h, const struct robot_request *req,
                       int64_t now_ms)
{
    http_request(r, h, req, true, now_ms);
}

void router_http_closed(struct router *r, struct http_asker *h)
{
    if (!h)
        return;
    router__forget_asker(r, &h->asker);
    router__forget_forwarded(r, h);
    free(h);
}

int64_t router_tick(struct router *r, int64_t now_ms)
{
    struct request *q;
    while ((q = earliest(r)) && q->deadline_ms <= now_ms) {
        char detail[PROTO_NAME_MAX + 48];
        snprintf(detail, sizeof(detail), "robot '%s' did not answer within %u s", q->robot->id,
                 r->cfg.request_timeout_s);
        r->stats.robot_requests_timed_out++;
        fail_request(r, q, 504, detail);
    }
    router__expiry_tick(r, now_ms);
    return router_next_deadline(r);
}

int64_t router_next_deadline(const struct router *r)
{
    const struct request *q = earliest(r);
    int64_t request = q ? q->deadline_ms : -1, expiry = router__next_expiry(r);
    if (request < 0 || (expiry >= 0 && expiry < request))
        return expiry;
    return request;
}
