/* router.c - registration, presence, sessions, relaying and robot requests (router.h). */
#include "cloud/router.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/fastrelay.h"
#include "cloud/protocol.h"
#include "common/clock.h"
#include "common/hmap.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/utf8.h"

struct session;
struct request;

/* Who waits for robot answers: a WebSocket client (peer) or an HTTP client
 * of the proxy (http, the transport's handle). */
struct asker {
    struct peer *peer;
    void *http;
    struct request *requests;    /* pending, linked through asker_prev/next */
    unsigned nrequests;
};

struct http_asker {
    struct asker asker;
    char name[80];               /* "http:<addr>": the clientId robots see */
};

/* A robot request waiting for its answer. It is indexed by token in the
 * router's table and linked into three lists: its robot's (to fail it when
 * the robot goes), its asker's (to forget it when the asker goes), and the
 * router's deadline order (to time it out). */
struct request {
    char token[IDS_TOKEN_LEN + 1];   /* the requestId the robot sees */
    struct peer *robot;
    struct asker *asker;
    json_t *request_id;              /* the WebSocket asker's requestId; NULL for HTTP */
    int64_t deadline_ms;
    struct request *robot_prev, *robot_next;
    struct request *asker_prev, *asker_next;
    struct request *older, *newer;
};

struct peer {
    void *conn;
    const struct codec *codec;   /* how this peer's messages are framed */
    enum role role;
    char *id;                    /* robotId or clientId once registered */
    json_t *device_info;         /* robots: as registered */
    int64_t connected_at_ms;     /* wall clock, at registration */
    struct session *sessions;    /* this peer's sessions, linked by role */
    unsigned nsessions;
    struct asker asker;          /* clients: the robot requests this peer asked */
    struct request *requests;    /* robots: the requests this robot is to answer */
    /* Token bucket: `tokens` refill at rate_limit per second up to twice that. */
    double tokens;
    int64_t refilled_ms;
    int64_t window_ms;           /* start of the current one-second window */
    unsigned dropped;            /* messages dropped in that window */
    bool rate_error_sent;        /* one rate-limited error per window */
    bool closing;                /* asked the transport to close: ignore input */
    char remote_addr[64];
    char label[PROTO_NAME_MAX + 80]; /* for logs: role, id and address */
};

/* A session belongs to one robot peer and one client peer and is linked
 * into both peers' lists, so that either side's close finds it in O(1). */
struct session {
    char id[IDS_TOKEN_LEN + 1];
    struct peer *robot, *client;
    struct session *robot_prev, *robot_next;
    struct session *client_prev, *client_next;
};

/* Counted error codes, in the order of PROTOCOL.md's table. */
enum { ERROR_CODES = 16 };
static const char *const counted_codes[] = {
    "invalid-json", "invalid-message", "unknown-type", "invalid-field",
    "not-registered", "wrong-role", "already-registered", "robot-id-in-use",
    "client-id-in-use", "unknown-session", "rate-limited", "unauthorized",
    "robot-not-found", "session-limit", "internal", NULL,
};

struct router {
    struct router_config cfg;
    const struct transport *tx;
    const struct auth *auth;
    struct registry *reg;
    struct hmap *requests;       /* token -> struct request, every robot connection */
    struct request *oldest, *newest; /* pending requests by deadline */
    size_t peers;
    struct router_stats stats;
    struct router_error_count errors[ERROR_CODES];
};

/* ---- sending ---- */

static void send_buf(struct router *r, struct peer *p, struct outbuf *b)
{
    if (r->tx->send(p->conn, b) == 0)
        r->stats.messages_out++;
}

/* Encodes type + body (reference stolen) and queues it for p. */
static void send_msg(struct router *r, struct peer *p, const char *type, json_t *body)
{
    struct outbuf *b = body ? p->codec->encode(type, body) : NULL;
    json_decref(body);
    if (!b) {
        log_error("out of memory encoding %s for %s", type, p->label);
        return;
    }
    send_buf(r, p, b);
    outbuf_unref(b);
}

static void count_error(struct router *r, const char *code)
{
    for (int i = 0; i < ERROR_CODES && r->errors[i].code; i++) {
        if (strcmp(r->errors[i].code, code) == 0) {
            r->errors[i].count++;
            return;
        }
    }
}

/* The request's requestId, when it is a short string: echoed in replies. */
static json_t *request_id(json_t *msg)
{
    json_t *id = json_object_get(msg, "requestId");
    return json_is_string(id) && json_string_length(id) <= PROTO_REQUEST_ID_MAX ? id : NULL;
}

static void send_error(struct router *r, struct peer *p, const char *code, const char *text,
                       const char *request_type, json_t *msg)
{
    count_error(r, code);
    /* The text may quote the peer's bytes, cut to a length: keep it valid
     * UTF-8, or the reply itself could not be encoded. */
    char message[256];
    snprintf(message, sizeof(message), "%s", text);
    utf8_scrub(message);
    log_debug("%s: error %s: %s", p->label, code, message);
    json_t *body = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (body && request_type && *request_type && strlen(request_type) <= PROTO_NAME_MAX)
        json_object_set_new(body, "requestType", json_string(request_type));
    if (body && request_id(msg))
        json_object_set(body, "requestId", request_id(msg));
    send_msg(r, p, "error", body);
}

/* A create-session that cannot be served: viewers wait for session-error. */
static void send_session_refusal(struct router *r, struct peer *p, const char *code,
                                 const char *message, json_t *msg)
{
    count_error(r, code);
    json_t *body = json_pack("{s:s, s:s}", "code", code, "error", message);
    if (body && request_id(msg))
        json_object_set(body, "requestId", request_id(msg));
    send_msg(r, p, "session-error", body);
}

/* ---- presence ---- */

static json_t *robot_json(const struct peer *robot, bool with_sessions)
{
    char at[32];
    clock_iso8601(robot->connected_at_ms, at, sizeof(at));
    json_t *j = json_pack("{s:s, s:O, s:s}", "robotId", robot->id, "deviceInfo",
                          robot->device_info, "connectedAt", at);
    if (j && with_sessions)
        json_object_set_new(j, "sessions", json_integer(robot->nsessions));
    return j;
}

struct list_ctx {
    json_t *list;
    bool with_sessions;
    bool failed;
};

static bool append_robot(void *record, void *arg)
{
    struct list_ctx *ctx = arg;
    if (json_array_append_new(ctx->list, robot_json(record, ctx->with_sessions)) != 0) {
        ctx->failed = true;
        return false;
    }
    return true;
}

static json_t *robots_list(const struct router *r, bool with_sessions)
{
    struct list_ctx ctx = {json_array(), with_sessions, false};
    if (!ctx.list)
        return NULL;
    registry_foreach(r->reg, REG_ROBOT, append_robot, &ctx);
    if (ctx.failed) {
        json_decref(ctx.list);
        return NULL;
    }
    return ctx.list;
}

json_t *router_robots_json(const struct router *r)
{
    return robots_list(r, true);
}

/* A broadcast is encoded once per codec in use, not once per client. */
enum { BROADCAST_CODECS = 4 };

struct broadcast_ctx {
    struct router *r;
    const char *type;
    json_t *body;
    const struct codec *codecs[BROADCAST_CODECS];
    struct outbuf *bufs[BROADCAST_CODECS];
};

static bool send_to_client(void *record, void *arg)
{
    struct broadcast_ctx *ctx = arg;
    struct peer *client = record;
    int i = 0;
    while (i < BROADCAST_CODECS && ctx->codecs[i] && ctx->codecs[i] != client->codec)
        i++;
    if (i == BROADCAST_CODECS) { /* more codecs than slots: encode for this one */
        send_msg(ctx->r, client, ctx->type, json_incref(ctx->body));
        return true;
    }
    if (!ctx->codecs[i]) {
        ctx->codecs[i] = client->codec;
        ctx->bufs[i] = client->codec->encode(ctx->type, ctx->body);
    }
    if (ctx->bufs[i])
        send_buf(ctx->r, client, ctx->bufs[i]);
    return true;
}

/* Queues the message for every registered client; takes body's reference. */
static void broadcast_to_clients(struct router *r, const char *type, json_t *body)
{
    if (!body) {
        log_error("out of memory building %s broadcast", type);
        return;
    }
    struct broadcast_ctx ctx = {.r = r, .type = type, .body = body};
    registry_foreach(r->reg, REG_CLIENT, send_to_client, &ctx);
    for (int i = 0; i < BROADCAST_CODECS; i++)
        outbuf_unref(ctx.bufs[i]);
    json_decref(body);
}

/* ---- sessions ---- */

static void link_session(struct session *s)
{
    s->robot_next = s->robot->sessions;
    if (s->robot_next)
        s->robot_next->robot_prev = s;
    s->robot->sessions = s;
    s->robot->nsessions++;

    s->client_next = s->client->sessions;
    if (s->client_next)
        s->client_next->client_prev = s;
    s->client->sessions = s;
    s->client->nsessions++;
}

static void unlink_session(struct session *s)
{
    if (s->robot_prev)
        s->robot_prev->robot_next = s->robot_next;
    else
        s->robot->sessions = s->robot_next;
    if (s->robot_next)
        s->robot_next->robot_prev = s->robot_prev;
    s->robot->nsessions--;

    if (s->client_prev)
        s->client_prev->client_next = s->client_next;
    else
        s->client->sessions = s->client_next;
    if (s->client_next)
        s->client_next->client_prev = s->client_prev;
    s->client->nsessions--;
}

static void send_session_closed(struct router *r, struct peer *p, const char *sid,
                                const char *reason)
{
    send_msg(r, p, "session-closed", json_pack("{s:s, s:s}", "sessionId", sid, "reason", reason));
}

/* Ends s, tells the peers named by notify_robot/notify_client, frees s. */
static void end_session(struct router *r, struct session *s, const char *reason,
                        bool notify_robot, bool notify_client)
{
    log_info("session %s closed (%s): robot %s, client %s", s->id, reason, s->robot->id,
             s->client->id);
    if (notify_robot)
        send_session_closed(r, s->robot, s->id, reason);
    if (notify_client)
        send_session_closed(r, s->client, s->id, reason);
    registry_remove(r->reg, REG_SESSION, s->id);
    unlink_session(s);
    r->stats.sessions_closed++;
    free(s);
}

/* ---- handlers ---- */

static void set_label(struct peer *p)
{
    snprintf(p->label, sizeof(p->label), "%s %s (%s)", protocol_role_name(p->role), p->id,
             p->remote_addr);
}

/* Re-registration of the same role and id is answered again (idempotent);
 * any other second registration is refused. Returns true when handled. */
static bool refuse_reregistration(struct router *r, struct peer *p, enum role role,
                                  const char *id, json_t *msg, const char *type)
{
    if (p->role == ROLE_NONE)
        return false;
    if (p->role == role && id && strcmp(id, p->id) == 0)
        return false;
    char m[160];
    snprintf(m, sizeof(m), "this connection is already registered as %s '%s'",
             protocol_role_name(p->role), p->id);
    send_error(r, p, "already-registered", m, type, msg);
    return true;
}

static bool admitted(struct router *r, struct peer *p, enum role role, const char *id,
                     json_t *msg, const char *type)
{
    struct auth_request req = {role, id, msg, p->remote_addr};
    char reason[160] = "registration refused";
    if (r->auth->admit(r->auth, &req, reason, sizeof(reason)))
        return true;
    log_warn("%s: %s '%s' refused by auth policy %s: %s", p->remote_addr,
             protocol_role_name(role), id, r->auth->name, reason);
    send_error(r, p, "unauthorized", reason, type, msg);
    return false;
}

/* Undoes the identity fields of a registration that did not complete. */
static void forget_identity(struct peer *p)
{
    free(p->id);
    json_decref(p->device_info);
    p->id = NULL;
    p->device_info = NULL;
}

static void on_robot_register(struct router *r, struct peer *p, json_t *msg, const char *type)
{
    const char *id = json_string_value(json_object_get(msg, "robotId"));
    if (refuse_reregistration(r, p, ROLE_ROBOT, id, msg, type))
        return;
    if (p->role == ROLE_ROBOT) { /* same id again: confirm */
        send_msg(r, p, "registered", json_pack("{s:s}", "robotId", p->id));
        return;
    }
    if (!admitted(r, p, ROLE_ROBOT, id, msg, type))
        return;
    json_t *info = json_object_get(msg, "deviceInfo");
    p->id = strdup(id);
    p->device_info = info ? json_incref(info) : json_object();
    int rc = p->id && p->device_info ? registry_add(r->reg, REG_ROBOT, p->id, p) : -1;
    if (rc != 0) {
        forget_identity(p);
        if (rc < 0) {
            send_error(r, p, "internal", "out of memory", type, msg);
            return;
        }
        char m[160];
        snprintf(m, sizeof(m), "robot id '%s' is held by another live connection", id);
        send_error(r, p, "robot-id-in-use", m, type, msg);
        log_warn("%s: robot id '%s' is in use; registration refused", p->remote_addr, id);
        return;
    }
    p->role = ROLE_ROBOT;
    p->connected_at_ms = clock_wall_ms();
    set_label(p);
    log_info("robot %s registered from %s", p->id, p->remote_addr);
    send_msg(r, p, "registered", json_pack("{s:s}", "robotId", p->id));
    broadcast_to_clients(r, "robot-available", robot_json(p, false));
}

static void on_client_register(struct router *r, struct peer *p, json_t *msg, const char *type)
{
    const char *wanted = json_string_value(json_object_get(msg, "clientId"));
    if (p->role == ROLE_CLIENT && !wanted)
        wanted = p->id; /* re-register without an id: same client */
    if (refuse_reregistration(r, p, ROLE_CLIENT, wanted, msg, type))
        return;
    if (p->role == ROLE_NONE) {
        char generated[8 + IDS_TOKEN_LEN];
        if (!wanted) {
            char token[IDS_TOKEN_LEN + 1];
            if (ids_token(token) != 0) {
                send_error(r, p, "internal", "no randomness available", type, msg);
                return;
            }
            snprintf(generated, sizeof(generated), "client-%.*s", 12, token);
            wanted = generated;
        }
        if (!admitted(r, p, ROLE_CLIENT, wanted, msg, type))
            return;
        if (!(p->id = strdup(wanted))) {
            send_error(r, p, "internal", "out of memory", type, msg);
            return;
        }
        int rc = registry_add(r->reg, REG_CLIENT, p->id, p);
        if (rc != 0) {
            forget_identity(p);
            if (rc < 0) {
                send_error(r, p, "internal", "out of memory", type, msg);
                return;
            }
            char m[160];
            snprintf(m, sizeof(m), "client id '%s' is held by another live connection", wanted);
            send_error(r, p, "client-id-in-use", m, type, msg);
            return;
        }
        p->role = ROLE_CLIENT;
        p->connected_at_ms = clock_wall_ms();
        set_label(p);
        log_info("client %s registered from %s", p->id, p->remote_addr);
    }
    json_t *robots = robots_list(r, false);
    send_msg(r, p, "available-robots",
             robots ? json_pack("{s:s, s:o}", "clientId", p->id, "robots", robots) : NULL);
}

static void on_create_session(struct router *r, struct peer *client, json_t *msg)
{
    const char *robot_id = json_string_value(json_object_get(msg, "robotId"));
    struct peer *robot = registry_find(r->reg, REG_ROBOT, robot_id);
    char m[160];
    if (!robot) {
        snprintf(m, sizeof(m), "robot '%s' is not online", robot_id);
        send_session_refusal(r, client, "robot-not-found", m, msg);
        return;
    }
    if (client->nsessions >= r->cfg.max_client_sessions) {
        snprintf(m, sizeof(m), "this client has %u open sessions, the limit", client->nsessions);
        send_session_refusal(r, client, "session-limit", m, msg);
        return;
    }
    if (robot->nsessions >= r->cfg.max_robot_sessions) {
        snprintf(m, sizeof(m), "robot '%s' has %u open sessions, the limit", robot_id,
                 robot->nsessions);
        send_session_refusal(r, client, "session-limit", m, msg);
        return;
    }
    struct session *s = calloc(1, sizeof(*s));
    int rc = 1;
    /* A collision of 128 random bits means a broken RNG; retry a little. */
    for (int tries = 0; s && rc == 1 && tries < 3; tries++)
        rc = ids_token(s->id) == 0 ? registry_add(r->reg, REG_SESSION, s->id, s) : -1;
    if (!s || rc != 0) {
        free(s);
        send_session_refusal(r, client, "internal", "could not allocate a session", msg);
        return;
    }
    s->robot = robot;
    s->client = client;
    link_session(s);
    r->stats.sessions_created++;
    log_info("session %s created: client %s -> robot %s", s->id, client->id, robot->id);

    json_t *created = json_pack("{s:s, s:s}", "sessionId", s->id, "robotId", robot->id);
    if (created && request_id(msg))
        json_object_set(created, "requestId", request_id(msg));
    send_msg(r, client, "session-created", created);

    json_t *device = json_object_get(msg, "deviceId");
    send_msg(r, robot, "create-session",
             json_pack("{s:s, s:s, s:O, s:O}", "sessionId", s->id, "clientId", client->id,
                       "deviceId", device ? device : json_null(), "streamTypes",
                       json_object_get(msg, "streamTypes")));
}

/* Messages about an existing session: the sender must be one of its two
 * peers; everything else is refused without saying whether the id exists. */
static void on_session_message(struct router *r, struct peer *p, enum msg_type t, json_t *msg,
                               const char *type, const char *data, size_t len)
{
    const char *sid = json_string_value(json_object_get(msg, "sessionId"));
    struct session *s = registry_find(r->reg, REG_SESSION, sid);
    if (!s || (s->robot != p && s->client != p)) {
        char m[160];
        snprintf(m, sizeof(m), "%s: no session '%s' belongs to this connection", type, sid);
        send_error(r, p, "unknown-session", m, type, msg);
        return;
    }
    if (t == MSG_CLOSE_SESSION) {
        end_session(r, s, p == s->robot ? "closed-by-robot" : "closed-by-client", true, true);
        return;
    }
    /* Same framing on both sides: forward the bytes as they came. */
    struct peer *to = p == s->robot ? s->client : s->robot;
    struct outbuf *b = to->codec == p->codec ? p->codec->relay(data, len)
                                             : to->codec->encode(type, msg);
    if (!b) {
        send_error(r, p, "internal", "out of memory", type, msg);
        return;
    }
    send_buf(r, to, b);
    outbuf_unref(b);
    r->stats.messages_relayed++;
}

/* The hot path of webrtc-offer, webrtc-answer and ice-candidate: checked
 * from the text (fastrelay.h) and relayed as it came, without a jansson
 * tree. Returns true when the message was relayed; false, having done
 * nothing, for everything that needs the full path: other types, messages
 * the fast check declines, errors (unknown-session), peers of another
 * codec (re-encoding needs the tree), out of memory. The full path then
 * gives the same answer it always did. */
static bool relay_fast(struct router *r, struct peer *p, const char *data, size_t len)
{
    struct fastrelay_msg m;
    /* fastrelay reads native JSON: other codecs frame messages differently. */
    if (p->codec != &codec_json || !fastrelay_check(data, len, p->role, &m))
        return false;
    struct session *s = registry_find(r->reg, REG_SESSION, m.session_id);
    if (!s || (s->robot != p && s->client != p))
        return false;
    struct peer *to = p == s->robot ? s->client : s->robot;
    if (to->codec != p->codec)
        return false;
    struct outbuf *b = p->codec->relay(data, len);
    if (!b)
        return false;
    send_buf(r, to, b);
    outbuf_unref(b);
    r->stats.messages_relayed++;
    return true;
}

/* ---- robot requests ---- */

/* Answers asker a: robot-response on its WebSocket, or tx->http_answer.
 * body is borrowed (NULL: null); request_id is the WebSocket asker's. */
static void answer_asker(struct router *r, struct asker *a, json_t *request_id,
                         const char *robot_id, unsigned status, json_t *body)
{
    if (!body)
        body = json_null();
    if (a->peer) {
        send_msg(r, a->peer, "robot-response",
                 json_pack("{s:O, s:s, s:i, s:O}", "requestId", request_id, "robotId", robot_id,
                           "status", (int)status, "body", body));
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
    r->tx->http_answer(a->http, status, b);
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

static void link_request(struct router *r, struct request *q)
{
    q->robot_next = q->robot->requests;
    if (q->robot_next)
        q->robot_next->robot_prev = q;
    q->robot->requests = q;
    q->asker_next = q->asker->requests;
    if (q->asker_next)
        q->asker_next->asker_prev = q;
    q->asker->requests = q;
    q->asker->nrequests++;
    /* Deadlines are now + one timeout, so a new request is almost always
     * the newest; walking back keeps the order right if a caller's clock
     * ever steps back. */
    struct request *before = r->newest;
    while (before && before->deadline_ms > q->deadline_ms)
        before = before->older;
    q->older = before;
    q->newer = before ? before->newer : r->oldest;
    if (q->newer)
        q->newer->older = q;
    else
        r->newest = q;
    if (before)
        before->newer = q;
    else
        r->oldest = q;
    r->stats.robot_requests_pending++;
}

/* Takes q out of the table and every list; the caller frees it. */
static void unlink_request(struct router *r, struct request *q)
{
    hmap_remove(r->requests, q->token, IDS_TOKEN_LEN);
    if (q->robot_prev)
        q->robot_prev->robot_next = q->robot_next;
    else
        q->robot->requests = q->robot_next;
    if (q->robot_next)
        q->robot_next->robot_prev = q->robot_prev;
    if (q->asker_prev)
        q->asker_prev->asker_next = q->asker_next;
    else
        q->asker->requests = q->asker_next;
    if (q->asker_next)
        q->asker_next->asker_prev = q->asker_prev;
    q->asker->nrequests--;
    if (q->older)
        q->older->newer = q->newer;
    else
        r->oldest = q->newer;
    if (q->newer)
        q->newer->older = q->older;
    else
        r->newest = q->older;
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
             q->asker->peer ? q->asker->peer->label : "HTTP", q->robot->id, status, detail);
    answer_detail(r, q->asker, q->request_id, q->robot->id, status, "%s", detail);
    free_request(q);
}

/* Forgets every request of a without answering: a is going away. */
static void forget_asker(struct router *r, struct asker *a)
{
    while (a->requests) {
        struct request *q = a->requests;
        unlink_request(r, q);
        r->stats.robot_requests_abandoned++;
        free_request(q);
    }
}

/* Forwards a request of asker a (named asker_name to the robot) to
 * robot_id, or answers a at once when it cannot be forwarded. The fields
 * are valid (protocol.c); body and request_id are borrowed. */
static void start_request(struct router *r, struct asker *a, const char *asker_name,
                          json_t *request_id, const char *robot_id, const char *method,
                          const char *path, json_t *body, int64_t now_ms)
{
    struct peer *robot = registry_find(r->reg, REG_ROBOT, robot_id);
    if (!robot) {
        r->stats.robot_requests_refused++;
        answer_detail(r, a, request_id, robot_id, 503, "robot '%s' is not connected", robot_id);
        return;
    }
    if (a->nrequests >= r->cfg.max_pending_requests) {
        r->stats.robot_requests_refused++;
        answer_detail(r, a, request_id, robot_id, 429,
                      "at most %u robot requests may be pending per connection",
                      r->cfg.max_pending_requests);
        return;
    }
    struct request *q = calloc(1, sizeof(*q));
    int rc = 1;
    /* A collision of 128 random bits means a broken RNG; retry a little. */
    for (int tries = 0; q && rc == 1 && tries < 3; tries++)
        rc = ids_token(q->token) == 0 ? hmap_put(r->requests, q->token, IDS_TOKEN_LEN, q) : -1;
    if (!q || rc != 0) {
        free(q);
        r->stats.robot_requests_refused++;
        answer_detail(r, a, request_id, robot_id, 500, "porthole-cloud could not allocate "
                      "a request (out of memory or randomness)");
        return;
    }
    q->robot = robot;
    q->asker = a;
    q->request_id = request_id ? json_incref(request_id) : NULL;
    q->deadline_ms = now_ms + (int64_t)r->cfg.request_timeout_s * 1000;
    link_request(r, q);
    r->stats.robot_requests_forwarded++;
    log_debug("robot request %s: %s %s %s -> robot %s", q->token, asker_name, method, path,
              robot->id);
    /* When this send fails the robot's connection is closing: its close
     * answers the request with 503. */
    send_msg(r, robot, "robot-request",
             json_pack("{s:s, s:s, s:s, s:O, s:s}", "requestId", q->token, "method", method,
                       "path", path, "body", body ? body : json_null(), "clientId", asker_name));
}

static void on_robot_request(struct router *r, struct peer *client, json_t *msg, int64_t now_ms)
{
    start_request(r, &client->asker, client->id, json_object_get(msg, "requestId"),
                  json_string_value(json_object_get(msg, "robotId")),
                  json_string_value(json_object_get(msg, "method")),
                  json_string_value(json_object_get(msg, "path")),
                  json_object_get(msg, "body"), now_ms);
}

/* The robot's answer goes to the asker of the request its token names,
 * and only when that request is pending on this very robot connection.
 * Anything else is dropped without a reply: the robot has nobody to tell
 * (the asker may be gone, the request expired or already answered). */
static void on_robot_response(struct router *r, struct peer *robot, json_t *msg)
{
    json_t *token = json_object_get(msg, "requestId");
    struct request *q = json_string_length(token) == IDS_TOKEN_LEN
                            ? hmap_get(r->requests, json_string_value(token), IDS_TOKEN_LEN)
                            : NULL;
    if (!q || q->robot != robot) {
        r->stats.robot_responses_dropped++;
        log_debug("%s: dropped a robot-response whose requestId is not pending on this "
                  "connection (unknown, expired or already answered)", robot->label);
        return;
    }
    unlink_request(r, q);
    r->stats.robot_requests_answered++;
    answer_asker(r, q->asker, q->request_id, robot->id,
                 (unsigned)json_integer_value(json_object_get(msg, "status")),
                 json_object_get(msg, "body"));
    free_request(q);
}

/* ---- rate limiting ---- */

/* Returns true when the message may be processed. Over the budget it is
 * dropped, reported once per second, and a peer that keeps going past
 * another rate_limit drops in one second is closed. */
static bool within_rate(struct router *r, struct peer *p, int64_t now_ms)
{
    unsigned rate = r->cfg.rate_limit;
    if (rate == 0)
        return true;
    double cap = 2.0 * rate;
    p->tokens += (double)(now_ms - p->refilled_ms) * rate / 1000.0;
    if (p->tokens > cap)
        p->tokens = cap;
    p->refilled_ms = now_ms;
    if (now_ms - p->window_ms >= 1000) {
        p->window_ms = now_ms;
        p->dropped = 0;
        p->rate_error_sent = false;
    }
    if (p->tokens >= 1.0) {
        p->tokens -= 1.0;
        return true;
    }
    if (++p->dropped > rate) {
        log_warn("%s: closed with 1008: still sending after %u messages were dropped in one "
                 "second", p->label, p->dropped - 1);
        p->closing = true;
        r->tx->close(p->conn, ROUTER_CLOSE_POLICY, "rate limit exceeded");
        return false;
    }
    if (!p->rate_error_sent) {
        p->rate_error_sent = true;
        char m[120];
        snprintf(m, sizeof(m), "more than %u messages per second: messages are being dropped",
                 rate);
        send_error(r, p, "rate-limited", m, NULL, NULL);
    } else {
        count_error(r, "rate-limited");
    }
    return false;
}

/* ---- public ---- */

struct router *router_new(const struct router_config *cfg, const struct transport *tx,
                             const struct auth *auth, struct registry *reg)
{
    struct router *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->cfg = *cfg;
    r->tx = tx;
    r->auth = auth;
    r->reg = reg;
    if (!(r->requests = hmap_new())) {
        free(r);
        return NULL;
    }
    for (int i = 0; counted_codes[i]; i++)
        r->errors[i].code = counted_codes[i];
    return r;
}

void router_free(struct router *r)
{
    if (!r)
        return;
    hmap_free(r->requests);
    free(r);
}

struct peer *router_peer_open(struct router *r, void *conn, const struct codec *codec,
                              const char *remote_addr, int64_t now_ms)
{
    struct peer *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->conn = conn;
    p->codec = codec;
    p->asker.peer = p;
    p->tokens = 2.0 * r->cfg.rate_limit;
    p->refilled_ms = now_ms;
    p->window_ms = now_ms;
    snprintf(p->remote_addr, sizeof(p->remote_addr), "%s", remote_addr ? remote_addr : "?");
    snprintf(p->label, sizeof(p->label), "%s", p->remote_addr);
    r->peers++;
    return p;
}

void router_peer_message(struct router *r, struct peer *p, const char *data, size_t len,
                         int64_t now_ms)
{
    r->stats.messages_in++;
    if (p->closing || !within_rate(r, p, now_ms))
        return;

    if (relay_fast(r, p, data, len))
        return;
    struct codec_error cerr;
    const char *type = NULL;
    json_t *msg = p->codec->decode(data, len, &type, &cerr);
    if (!msg) {
        send_error(r, p, cerr.code, cerr.message, NULL, NULL);
        return;
    }
    struct proto_error perr;
    enum msg_type t = protocol_validate(msg, type, p->role, &perr);
    if (t == MSG_INVALID) {
        send_error(r, p, perr.code, perr.message, type, msg);
        json_decref(msg);
        return;
    }
    switch (t) {
    case MSG_ROBOT_REGISTER:
        on_robot_register(r, p, msg, type);
        break;
    case MSG_CLIENT_REGISTER:
        on_client_register(r, p, msg, type);
        break;
    case MSG_CREATE_SESSION:
        on_create_session(r, p, msg);
        break;
    case MSG_ROBOT_REQUEST:
        on_robot_request(r, p, msg, now_ms);
        break;
    case MSG_ROBOT_RESPONSE:
        on_robot_response(r, p, msg);
        break;
    default:
        on_session_message(r, p, t, msg, type, data, len);
        break;
    }
    json_decref(msg);
}

void router_peer_closed(struct router *r, struct peer *p)
{
    if (!p)
        return;
    while (p->sessions) {
        struct session *s = p->sessions;
        bool robot_left = s->robot == p;
        end_session(r, s, "peer-disconnected", !robot_left, robot_left);
    }
    forget_asker(r, &p->asker);
    while (p->requests) {
        char detail[PROTO_NAME_MAX + 48];
        snprintf(detail, sizeof(detail), "robot '%s' went offline before answering", p->id);
        r->stats.robot_requests_failed++;
        fail_request(r, p->requests, 503, detail);
    }
    if (p->role == ROLE_ROBOT) {
        /* Remove the entry only if it is ours: ids are never shared, but
         * a store must never lose another connection's registration. */
        if (registry_find(r->reg, REG_ROBOT, p->id) == p)
            registry_remove(r->reg, REG_ROBOT, p->id);
        log_info("robot %s disconnected", p->id);
        broadcast_to_clients(r, "robot-unavailable", json_pack("{s:s}", "robotId", p->id));
    } else if (p->role == ROLE_CLIENT) {
        if (registry_find(r->reg, REG_CLIENT, p->id) == p)
            registry_remove(r->reg, REG_CLIENT, p->id);
        log_info("client %s disconnected", p->id);
    }
    r->peers--;
    free(p->id);
    json_decref(p->device_info);
    free(p);
}

struct collect_ctx {
    struct session **list;
    size_t n;
};

static bool collect_session(void *record, void *arg)
{
    struct collect_ctx *ctx = arg;
    ctx->list[ctx->n++] = record;
    return true;
}

void router_shutdown(struct router *r)
{
    size_t n = registry_count(r->reg, REG_SESSION);
    struct collect_ctx ctx = {n ? calloc(n, sizeof(*ctx.list)) : NULL, 0};
    if (n && !ctx.list) {
        log_error("out of memory at shutdown; sessions end without notice");
        return;
    }
    /* Collect first: the store may not change while it is being visited. */
    registry_foreach(r->reg, REG_SESSION, collect_session, &ctx);
    for (size_t i = 0; i < ctx.n; i++)
        end_session(r, ctx.list[i], "server-shutdown", true, true);
    free(ctx.list);
    while (r->oldest) {
        r->stats.robot_requests_failed++;
        fail_request(r, r->oldest, 503, "porthole-cloud is shutting down");
    }
}

struct http_asker *router_http_open(struct router *r, void *http, const char *remote_addr)
{
    (void)r;
    struct http_asker *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->asker.http = http;
    snprintf(h->name, sizeof(h->name), "http:%s", remote_addr ? remote_addr : "?");
    return h;
}

void router_http_request(struct router *r, struct http_asker *h, const struct robot_request *req,
                         int64_t now_ms)
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
    start_request(r, &h->asker, h->name, NULL, id, req->method, req->path, req->body, now_ms);
}

void router_http_closed(struct router *r, struct http_asker *h)
{
    if (!h)
        return;
    forget_asker(r, &h->asker);
    free(h);
}

int64_t router_tick(struct router *r, int64_t now_ms)
{
    while (r->oldest && r->oldest->deadline_ms <= now_ms) {
        struct request *q = r->oldest;
        char detail[PROTO_NAME_MAX + 48];
        snprintf(detail, sizeof(detail), "robot '%s' did not answer within %u s", q->robot->id,
                 r->cfg.request_timeout_s);
        r->stats.robot_requests_timed_out++;
        fail_request(r, q, 504, detail);
    }
    return router_next_deadline(r);
}

int64_t router_next_deadline(const struct router *r)
{
    return r->oldest ? r->oldest->deadline_ms : -1;
}

void router_stats(const struct router *r, struct router_stats *out)
{
    *out = r->stats;
    out->peers = r->peers;
    out->robots = registry_count(r->reg, REG_ROBOT);
    out->clients = registry_count(r->reg, REG_CLIENT);
    out->sessions = registry_count(r->reg, REG_SESSION);
}

const char *router_peer_label(const struct peer *p)
{
    return p ? p->label : "?";
}

const struct router_error_count *router_error_counts(const struct router *r)
{
    return r->errors;
}
