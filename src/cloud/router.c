/* router.c - peers, registration, sessions and relaying (router.h); the
 * robots list and its broadcasts are in router_presence.c, robot requests
 * in router_request.c. */
#include "cloud/router.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/protocol.h"
#include "cloud/router_internal.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/utf8.h"

/* A session belongs to one robot peer and one client peer and sits on
 * both peers' lists, so that either side's close finds it in O(1). */
struct session {
    char id[IDS_TOKEN_LEN + 1];
    struct peer *robot, *client;
    struct list robot_node;      /* on robot->sessions */
    struct list client_node;     /* on client->sessions */
};

/* Counted error codes, in the order of PROTOCOL.md's table. */
static const char *const counted_codes[ROUTER_ERROR_CODES] = {
    "invalid-json", "invalid-message", "unknown-type", "invalid-field",
    "not-registered", "wrong-role", "already-registered", "robot-id-in-use",
    "client-id-in-use", "unknown-session", "rate-limited", "unauthorized",
    "robot-not-found", "session-limit", "internal", NULL,
};

/* ---- sending ---- */

void router__send_buf(struct router *r, struct peer *p, struct outbuf *b)
{
    if (r->tx->send(p->conn, b) == 0)
        r->stats.messages_out++;
}

void router__send_msg(struct router *r, struct peer *p, const char *type, json_t *body)
{
    struct outbuf *b = body ? p->codec->encode(type, body) : NULL;
    json_decref(body);
    if (!b) {
        log_error("out of memory encoding %s for %s", type, p->label);
        return;
    }
    router__send_buf(r, p, b);
    outbuf_unref(b);
}

static void count_error(struct router *r, const char *code)
{
    for (int i = 0; i < ROUTER_ERROR_CODES && r->errors[i].code; i++) {
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
    router__send_msg(r, p, "error", body);
}

/* A create-session that cannot be served: viewers wait for session-error. */
static void send_session_refusal(struct router *r, struct peer *p, const char *code,
                                 const char *message, json_t *msg)
{
    count_error(r, code);
    json_t *body = json_pack("{s:s, s:s}", "code", code, "error", message);
    if (body && request_id(msg))
        json_object_set(body, "requestId", request_id(msg));
    router__send_msg(r, p, "session-error", body);
}

/* ---- sessions ---- */

static void link_session(struct session *s)
{
    list_insert_head(&s->robot->sessions, &s->robot_node);
    s->robot->nsessions++;
    list_insert_head(&s->client->sessions, &s->client_node);
    s->client->nsessions++;
}

static void unlink_session(struct session *s)
{
    list_remove(&s->robot_node);
    s->robot->nsessions--;
    list_remove(&s->client_node);
    s->client->nsessions--;
}

/* p's newest session, or NULL. A registered peer's role never changes, so
 * it says which of the session's nodes p's list holds. */
static struct session *newest_session(const struct peer *p)
{
    struct list *n = list_first(&p->sessions);
    if (!n)
        return NULL;
    return p->role == ROLE_ROBOT ? list_entry(n, struct session, robot_node)
                                 : list_entry(n, struct session, client_node);
}

static void send_session_closed(struct router *r, struct peer *p, const char *sid,
                                const char *reason)
{
    router__send_msg(r, p, "session-closed",
                     json_pack("{s:s, s:s}", "sessionId", sid, "reason", reason));
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

/* Completes p's registration as role under p->id (in the registry). */
static void enroll(struct peer *p, enum role role)
{
    p->role = role;
    p->connected_at_ms = clock_wall_ms();
    snprintf(p->label, sizeof(p->label), "%s %s (%s)", protocol_role_name(role), p->id,
             p->remote_addr);
    log_info("%s %s registered from %s", protocol_role_name(role), p->id, p->remote_addr);
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

/* Adds "iceServers" (the deployment's STUN/TURN servers, with TURN
 * credentials minted now for p) to body, when any are configured. The
 * credentials expire by themselves (--turn-ttl); a new set goes out with
 * every registration and session, so long-lived robots never hold stale
 * ones. Returns body. */
static json_t *with_ice_servers(struct router *r, const struct peer *p, json_t *body)
{
    if (!body || ice_servers_empty(r->cfg.ice))
        return body;
    json_t *servers = ice_servers_json(r->cfg.ice, p->id, clock_wall_ms() / 1000);
    if (!servers || json_object_set_new(body, "iceServers", servers) < 0)
        log_warn("%s: out of memory: no iceServers sent", p->label);
    return body;
}

static void on_robot_register(struct router *r, struct peer *p, json_t *msg, const char *type)
{
    const char *id = json_string_value(json_object_get(msg, "robotId"));
    if (refuse_reregistration(r, p, ROLE_ROBOT, id, msg, type))
        return;
    if (p->role == ROLE_ROBOT) { /* same id again: confirm */
        router__send_msg(r, p, "registered",
                         with_ice_servers(r, p, json_pack("{s:s}", "robotId", p->id)));
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
    enroll(p, ROLE_ROBOT);
    router__send_msg(r, p, "registered",
                     with_ice_servers(r, p, json_pack("{s:s}", "robotId", p->id)));
    router__announce_robot(r, p, true);
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
        enroll(p, ROLE_CLIENT);
    }
    router__send_robot_list(r, p);
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
    router__send_msg(r, client, "session-created", with_ice_servers(r, client, created));

    json_t *device = json_object_get(msg, "deviceId");
    json_t *order = json_pack("{s:s, s:s, s:O, s:O}", "sessionId", s->id, "clientId", client->id,
                              "deviceId", device ? device : json_null(), "streamTypes",
                              json_object_get(msg, "streamTypes"));
    router__send_msg(r, robot, "create-session", with_ice_servers(r, robot, order));
}

/* The peer at the other end of s from p, or NULL when p is not one of its
 * two peers (s may be NULL too). */
static struct peer *other_side(const struct session *s, const struct peer *p)
{
    if (!s || (s->robot != p && s->client != p))
        return NULL;
    return p == s->robot ? s->client : s->robot;
}

/* Queues b for to and counts a relayed message; takes b's reference. */
static void relay_buf(struct router *r, struct peer *to, struct outbuf *b)
{
    router__send_buf(r, to, b);
    outbuf_unref(b);
    r->stats.messages_relayed++;
}

/* Messages about an existing session: the sender must be one of its two
 * peers; everything else is refused without saying whether the id exists. */
static void on_session_message(struct router *r, struct peer *p, enum msg_type t, json_t *msg,
                               const char *type, const char *data, size_t len)
{
    const char *sid = json_string_value(json_object_get(msg, "sessionId"));
    struct session *s = registry_find(r->reg, REG_SESSION, sid);
    struct peer *to = other_side(s, p);
    if (!to) {
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
    struct outbuf *b = to->codec == p->codec ? p->codec->relay(data, len)
                                             : to->codec->encode(type, msg);
    if (!b) {
        send_error(r, p, "internal", "out of memory", type, msg);
        return;
    }
    relay_buf(r, to, b);
}

/* The hot path of webrtc-offer, webrtc-answer and ice-candidate: checked
 * from the text by the peer's codec (codec->fast_relay, when it has one)
 * and relayed as it came, without a jansson tree. Returns true when the
 * message was relayed; false, having done nothing, for everything that
 * needs the full path: codecs without a fast check, other types, messages
 * the fast check declines, errors (unknown-session), peers of another
 * codec (re-encoding needs the tree), out of memory. The full path then
 * gives the same answer it always did. */
static bool relay_fast(struct router *r, struct peer *p, const char *data, size_t len)
{
    struct codec_fast_msg m;
    if (!p->codec->fast_relay || !p->codec->fast_relay(data, len, p->role, &m))
        return false;
    struct peer *to = other_side(registry_find(r->reg, REG_SESSION, m.session_id), p);
    if (!to || to->codec != p->codec)
        return false;
    struct outbuf *b = p->codec->relay(data, len);
    if (!b)
        return false;
    relay_buf(r, to, b);
    return true;
}

/* ---- rate limiting ---- */

/* Returns true when the message may be processed. Over the budget it is
 * dropped, reported once per second, and a peer that keeps going past
 * another rate_limit drops in one second is closed. */
static bool within_rate(struct router *r, struct peer *p, int64_t now_ms)
{
    switch (ratelimit_take(&p->rate, now_ms)) {
    case RATELIMIT_PASS:
        return true;
    case RATELIMIT_DROP_FIRST: {
        char m[120];
        snprintf(m, sizeof(m), "more than %u messages per second: messages are being dropped",
                 p->rate.rate);
        send_error(r, p, "rate-limited", m, NULL, NULL);
        return false;
    }
    case RATELIMIT_DROP:
        count_error(r, "rate-limited");
        return false;
    case RATELIMIT_CLOSE:
        log_warn("%s: closed with 1008: still sending after %u messages were dropped in one "
                 "second", p->label, p->rate.dropped - 1);
        p->closing = true;
        r->tx->close(p->conn, ROUTER_CLOSE_POLICY, "rate limit exceeded");
        return false;
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
    list_init(&r->deadlines);
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
    list_init(&p->sessions);
    list_init(&p->requests);
    p->asker.peer = p;
    list_init(&p->asker.requests);
    ratelimit_init(&p->rate, r->cfg.rate_limit, now_ms);
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
        router__on_robot_request(r, p, msg, now_ms);
        break;
    case MSG_ROBOT_RESPONSE:
        router__on_robot_response(r, p, msg);
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
    struct session *s;
    while ((s = newest_session(p))) {
        bool robot_left = s->robot == p;
        end_session(r, s, "peer-disconnected", !robot_left, robot_left);
    }
    router__forget_asker(r, &p->asker);
    router__fail_robot_requests(r, p);
    if (p->role == ROLE_ROBOT) {
        /* Remove the entry only if it is ours: ids are never shared, but
         * a store must never lose another connection's registration. */
        if (registry_find(r->reg, REG_ROBOT, p->id) == p)
            registry_remove(r->reg, REG_ROBOT, p->id);
        log_info("robot %s disconnected", p->id);
        router__announce_robot(r, p, false);
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
    router__fail_all_requests(r);
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

bool router_peer_registered(const struct peer *p)
{
    return p->role != ROLE_NONE;
}

const struct router_error_count *router_error_counts(const struct router *r)
{
    return r->errors;
}
