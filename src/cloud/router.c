/* router.c - peers, registration and relaying (router.h); sessions are in
 * router_session.c, the robots list and its broadcasts in
 * router_presence.c, robot requests in router_request.c, identities in
 * router_auth.c. */
#include "cloud/router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/protocol.h"
#include "cloud/router_internal.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/utf8.h"

/* Counted error codes, in the order of PROTOCOL.md's table. */
static const char *const counted_codes[ROUTER_ERROR_CODES] = {
    "invalid-json", "invalid-message", "unknown-type", "invalid-field",
    "not-registered", "wrong-role", "already-registered", "robot-id-in-use",
    "client-id-in-use", "unknown-session", "rate-limited", "unauthorized",
    "robot-not-found", "session-limit", "internal", "token-expired", NULL,
};

/* ---- sending ---- */

void router__send_buf(struct router *r, struct peer *p, struct outbuf *b)
{
    if (router__tx(r, p)->send(p->conn, b) == 0)
        r->stats.messages_out++;
}

void router__send_msg(struct router *r, struct peer *p, const char *type, json_t *body)
{
    struct outbuf *b = body ? p->codec->encode(type, body) : NULL;
    json_decref(body);
    if (!b) {
        log_error("out of memory encoding %s for %s", type, router_peer_label(p));
        return;
    }
    router__send_buf(r, p, b);
    outbuf_unref(b);
}

void router__count_error(struct router *r, const char *code)
{
    for (int i = 0; i < ROUTER_ERROR_CODES && r->errors[i].code; i++) {
        if (strcmp(r->errors[i].code, code) == 0) {
            r->errors[i].count++;
            return;
        }
    }
}

json_t *router__request_id(json_t *msg)
{
    json_t *id = json_object_get(msg, "requestId");
    return json_is_string(id) && json_string_length(id) <= PROTO_REQUEST_ID_MAX ? id : NULL;
}

void router__send_error(struct router *r, struct peer *p, const char *code, const char *text,
                        const char *request_type, json_t *msg, json_t *extra)
{
    router__count_error(r, code);
    /* The text may quote the peer's bytes, cut to a length: keep it valid
     * UTF-8, or the reply itself could not be encoded. */
    char message[256];
    snprintf(message, sizeof(message), "%s", text);
    utf8_scrub(message);
    log_debug("%s: error %s: %s", router_peer_label(p), code, message);
    json_t *body = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (body && request_type && *request_type && strlen(request_type) <= PROTO_NAME_MAX)
        json_object_set_new(body, "requestType", json_string(request_type));
    if (body && router__request_id(msg))
        json_object_set(body, "requestId", router__request_id(msg));
    if (body && extra)
        json_object_update(body, extra);
    json_decref(extra);
    router__send_msg(r, p, "error", body);
}

static void send_error(struct router *r, struct peer *p, const char *code, const char *text,
                       const char *request_type, json_t *msg)
{
    router__send_error(r, p, code, text, request_type, msg, NULL);
}

void router__close_peer(struct router *r, struct peer *p, const char *reason)
{
    p->closing = true;
    router__tx(r, p)->close(p->conn, ROUTER_CLOSE_POLICY, reason);
}

/* ---- registration ---- */

/* Completes p's registration as role under p->id (in the registry). */
static void enroll(struct peer *p, enum role role)
{
    p->role = role;
    p->label_role = (unsigned char)role;
    p->connected_at_ms = clock_wall_ms();
    log_info("%s %s registered from %s", protocol_role_name(role), p->id, p->remote_addr);
}

/* Re-registration of the same role and id is confirmed (idempotent);
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

/* Undoes the identity fields of a registration that did not complete. */
static void forget_registration(struct router *r, struct peer *p)
{
    free(p->id);
    free(p->device_info);
    p->id = NULL;
    p->device_info = NULL;
    router__forget_identity(r, p);
}

json_t *router__with_ice_servers(struct router *r, const struct peer *p, json_t *body)
{
    /* The credentials expire by themselves (--turn-ttl); a new set goes
     * out with every registration and session, so long-lived robots never
     * hold stale ones, and iceServersTtl tells a viewer when to fetch new
     * ones before an ICE restart gathers again. Only registered peers get
     * here, and with a policy that needs tokens only authenticated peers
     * register. */
    if (!body || ice_servers_empty(r->cfg.ice))
        return body;
    json_t *servers = ice_servers_json(r->cfg.ice, p->id, clock_wall_ms() / 1000);
    if (!servers || json_object_set_new(body, "iceServers", servers) < 0 ||
        json_object_set_new(body, "iceServersTtl",
                            json_integer((json_int_t)ice_servers_ttl(r->cfg.ice))) < 0)
        log_warn("%s: out of memory: no iceServers sent", router_peer_label(p));
    return body;
}

/* Everything a registered peer holds in the router ends: its sessions
 * (the other sides get peer-disconnected), the requests it asked
 * (forgotten) or was to answer (503), its registration (clients are told
 * robot-unavailable), its identity. `why` is for the log. Afterwards p is
 * an unregistered peer that holds nothing. */
static void detach_peer(struct router *r, struct peer *p, const char *why)
{
    router__end_peer_sessions(r, p);
    router__forget_asker(r, &p->asker);
    router__fail_robot_requests(r, p);
    if (p->role == ROLE_ROBOT) {
        /* Remove the entry only if it is ours: a store must never lose
         * another connection's registration. */
        if (registry_find(r->reg, REG_ROBOT, p->id) == p) {
            registry_remove(r->reg, REG_ROBOT, p->id);
            if (r->cfg.cluster)
                r->cfg.cluster->robot_down(r->cfg.cluster->self, p->id);
        }
        log_info("robot %s %s", p->id, why);
        router__announce_robot(r, p, false);
    } else if (p->role == ROLE_CLIENT) {
        if (registry_find(r->reg, REG_CLIENT, p->id) == p) {
            registry_remove(r->reg, REG_CLIENT, p->id);
            if (r->cfg.cluster)
                r->cfg.cluster->client_down(r->cfg.cluster->self, p->id);
        }
        log_info("client %s %s", p->id, why);
    }
    forget_registration(r, p);
    p->role = ROLE_NONE;
}

/* Detaches p and asks its transport to close it (1008 with reason, which
 * the log repeats). */
static void drop_peer(struct router *r, struct peer *p, const char *reason)
{
    detach_peer(r, p, reason);
    router__close_peer(r, p, reason);
}

/* Registers p as robot id, taking the id over from a live holder when the
 * policy verified p's token for it (a robot that rebooted behind a NAT
 * must not wait for its dead connection's ping timeout). Returns 0, 1
 * when the id is held and cannot be taken, -1 when out of memory. */
static int claim_robot_id(struct router *r, struct peer *p, const char *id)
{
    int rc = registry_add(r->reg, REG_ROBOT, p->id, p);
    if (rc != 1 || !p->claims)
        return rc;
    struct peer *old = registry_find(r->reg, REG_ROBOT, id);
    if (!old || old == p)
        return 1;
    log_warn("robot %s: taken over by a newer connection from %s with a valid token; closing "
             "the one from %s", id, p->remote_addr, old->remote_addr);
    drop_peer(r, old, "replaced by a newer connection");
    return registry_add(r->reg, REG_ROBOT, p->id, p);
}

/* Undoes a registration whose id could not be claimed (rc from the
 * registry: -1 out of memory, 1 held by another live connection) and
 * tells the peer why. */
static void refuse_claim(struct router *r, struct peer *p, int rc, enum role role, const char *id,
                         const char *type, json_t *msg)
{
    forget_registration(r, p);
    if (rc < 0) {
        send_error(r, p, "internal", "out of memory", type, msg);
        return;
    }
    char m[160];
    snprintf(m, sizeof(m), "%s id '%s' is held by another live connection",
             role == ROLE_ROBOT ? "robot" : "client", id);
    send_error(r, p, role == ROLE_ROBOT ? "robot-id-in-use" : "client-id-in-use", m, type, msg);
}

static void on_robot_register(struct router *r, struct peer *p, json_t *msg, const char *type,
                              int64_t now_ms)
{
    const char *id = json_string_value(json_object_get(msg, "robotId"));
    if (refuse_reregistration(r, p, ROLE_ROBOT, id, msg, type))
        return;
    if (p->role == ROLE_ROBOT) { /* same id again: confirm */
        router__send_msg(r, p, "registered",
                         router__with_ice_servers(r, p, json_pack("{s:s}", "robotId", p->id)));
        return;
    }
    struct token_claims *claims;
    if (!router__admit(r, p, ROLE_ROBOT, id, msg, type, &claims))
        return;
    router__set_identity(r, p, claims, now_ms);
    /* Kept as compact text (at most PROTO_DEVICE_INFO_MAX bytes, checked
     * by protocol.c): a parsed tree of the same text can be many times
     * larger, and the cloud only ever sends it on. */
    json_t *info = json_object_get(msg, "deviceInfo");
    p->id = strdup(id);
    p->device_info = info ? json_dumps(info, JSON_COMPACT | JSON_PRESERVE_ORDER) : strdup("{}");
    int rc = p->id && p->device_info ? claim_robot_id(r, p, id) : -1;
    /* One robot id over every instance: with a verified token the id is
     * taken over from another instance's live holder, as claim_robot_id
     * does here; without one the holder keeps it until it goes (or its
     * instance dies and its presence expires) and the robot retries. */
    bool take_over = false;
    if (rc == 0 && r->cfg.cluster &&
        r->cfg.cluster->robot_elsewhere(r->cfg.cluster->self, id)) {
        take_over = p->claims != NULL;
        if (!take_over) {
            registry_remove(r->reg, REG_ROBOT, p->id);
            rc = 1;
        }
    }
    if (rc != 0) {
        refuse_claim(r, p, rc, ROLE_ROBOT, id, type, msg);
        log_warn("%s: robot id '%s' is in use; registration refused", p->remote_addr, id);
        return;
    }
    enroll(p, ROLE_ROBOT);
    if (take_over)
        log_warn("robot %s: taken over from another instance by a newer connection from %s "
                 "with a valid token", id, p->remote_addr);
    router__send_msg(r, p, "registered",
                     router__with_ice_servers(r, p, json_pack("{s:s}", "robotId", p->id)));
    /* First: a takeover tells local clients the old robot went. */
    if (r->cfg.cluster)
        r->cfg.cluster->robot_up(r->cfg.cluster->self, p->id, p->device_info,
                                 p->connected_at_ms, p->remote_addr, take_over);
    router__announce_robot(r, p, true);
}

void router_robot_taken_over(struct router *r, const char *robot_id, const char *by)
{
    struct peer *old = registry_find(r->reg, REG_ROBOT, robot_id);
    if (!old)
        return;
    log_warn("robot %s: taken over by a newer connection on instance %s with a valid token; "
             "closing the one from %s", robot_id, by, old->remote_addr);
    drop_peer(r, old, "replaced by a newer connection");
}

void router_robot_id_held_elsewhere(struct router *r, const char *robot_id, const char *by)
{
    struct peer *p = registry_find(r->reg, REG_ROBOT, robot_id);
    if (!p)
        return;
    log_warn("robot %s: registered on instance %s at the same moment, which keeps the id; "
             "refusing the connection from %s", robot_id, by, p->remote_addr);
    char m[160];
    snprintf(m, sizeof(m), "robot id '%s' is held by another live connection", robot_id);
    send_error(r, p, "robot-id-in-use", m, "robot-register", NULL);
    drop_peer(r, p, "its id is held by another instance");
}

/* A clientId for a client that gave none: "client-" and 12 random
 * characters, into out (at least 20 bytes). Returns 0 or -1. */
static int generate_client_id(char *out, size_t outlen)
{
    char token[IDS_TOKEN_LEN + 1];
    if (ids_token(token) != 0)
        return -1;
    snprintf(out, outlen, "client-%.*s", 12, token);
    return 0;
}

static void on_client_register(struct router *r, struct peer *p, json_t *msg, const char *type,
                               int64_t now_ms)
{
    const char *wanted = json_string_value(json_object_get(msg, "clientId"));
    if (p->role == ROLE_CLIENT && !wanted)
        wanted = p->id; /* re-register without an id: same client */
    if (refuse_reregistration(r, p, ROLE_CLIENT, wanted, msg, type))
        return;
    if (p->role == ROLE_CLIENT) {
        /* The list goes out once per connection: a repeated
         * client-register is confirmed in a few bytes, so that it cannot
         * make the cloud queue the whole list again. */
        router__send_msg(r, p, "registered", json_pack("{s:s}", "clientId", p->id));
        return;
    }
    char generated[8 + IDS_TOKEN_LEN];
    if (!wanted && generate_client_id(generated, sizeof(generated)) != 0) {
        send_error(r, p, "internal", "no randomness available", type, msg);
        return;
    }
    if (!wanted)
        wanted = generated;
    struct token_claims *claims;
    if (!router__admit(r, p, ROLE_CLIENT, NULL, msg, type, &claims))
        return;
    router__set_identity(r, p, claims, now_ms);
    int rc = (p->id = strdup(wanted)) ? registry_add(r->reg, REG_CLIENT, p->id, p) : -1;
    if (rc != 0) {
        refuse_claim(r, p, rc, ROLE_CLIENT, wanted, type, msg);
        return;
    }
    enroll(p, ROLE_CLIENT);
    if (r->cfg.cluster)
        r->cfg.cluster->client_up(r->cfg.cluster->self, p->id, p->remote_addr);
    router__send_robot_list(r, p);
}

/* ---- relaying ---- */

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
    struct session *s = router__find_session(r, sid);
    struct peer *to = router__other_side(s, p);
    if (!to && !s && router__forward(r, p, NULL, sid, type, msg, data, len))
        return;
    if (!to) {
        char m[160];
        snprintf(m, sizeof(m), "%s: no session '%s' belongs to this connection", type, sid);
        send_error(r, p, "unknown-session", m, type, msg);
        return;
    }
    if (!router__session_may_relay(s, p, t)) {
        char m[200];
        snprintf(m, sizeof(m), "%s: not the %s's to send in session '%s' now: one side offers, "
                 "the other answers (PROTOCOL.md, Sessions)", type,
                 router__is_robot_of(s, p) ? "robot" : "client", sid);
        send_error(r, p, "wrong-role", m, type, msg);
        return;
    }
    if (t == MSG_CLOSE_SESSION) {
        router__end_session(r, s, router__is_robot_of(s, p) ? "closed-by-robot"
                                                            : "closed-by-client", true, true);
        return;
    }
    if (t == MSG_SWITCH_STREAM_TYPE)
        router__session_switched(s, msg);
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
    struct session *s = router__find_session(r, m.session_id);
    struct peer *to = router__other_side(s, p);
    if (!to || to->codec != p->codec || !router__session_may_relay(s, p, m.type))
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
 * another rate_limit drops in one second is closed; except a registered
 * robot, which is never closed for its volume: much of what a robot sends
 * is what viewers made it send (offers and candidates of the sessions they
 * open), so closing it would let viewers take a robot offline. */
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
        router__count_error(r, "rate-limited");
        return false;
    case RATELIMIT_CLOSE:
        router__count_error(r, "rate-limited");
        if (p->role == ROLE_ROBOT)
            return false;
        log_warn("%s: closed with 1008: still sending after %u messages were dropped in one "
                 "second", router_peer_label(p), p->rate.dropped - 1);
        router__close_peer(r, p, "rate limit exceeded");
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
    r->requests = hmap_new();
    r->identities = hmap_new();
    r->forwarded = hmap_new();
    if (!r->requests || !r->identities || !r->forwarded) {
        router_free(r);
        return NULL;
    }
    list_init(&r->deadlines);
    list_init(&r->expiries);
    for (int i = 0; counted_codes[i]; i++)
        r->errors[i].code = counted_codes[i];
    router__init_refusals(r);
    return r;
}

void router_free(struct router *r)
{
    if (!r)
        return;
    hmap_free(r->requests);
    hmap_free(r->identities);
    hmap_free(r->forwarded);
    free(r);
}

struct peer *router_peer_open(struct router *r, void *conn, const struct codec *codec,
                              const char *remote_addr, int64_t now_ms)
{
    if (!remote_addr)
        remote_addr = "?";
    size_t alen = strlen(remote_addr);
    size_t size = offsetof(struct peer, remote_addr) + alen + 1;
    struct peer *p = calloc(1, size > sizeof(*p) ? size : sizeof(*p));
    if (!p)
        return NULL;
    p->conn = conn;
    p->codec = codec;
    list_init(&p->sessions);
    list_init(&p->requests);
    list_init(&p->expiry_node);
    p->asker.peer = p;
    list_init(&p->asker.requests);
    ratelimit_init(&p->rate, r->cfg.rate_limit, now_ms);
    memcpy(p->remote_addr, remote_addr, alen + 1);
    r->peers++;
    return p;
}

/* Handles a message that passed the codec and protocol_validate(). */
static void dispatch(struct router *r, struct peer *p, enum msg_type t, json_t *msg,
                     const char *type, const char *data, size_t len, int64_t now_ms)
{
    switch (t) {
    case MSG_ROBOT_REGISTER:
        on_robot_register(r, p, msg, type, now_ms);
        break;
    case MSG_CLIENT_REGISTER:
        on_client_register(r, p, msg, type, now_ms);
        break;
    case MSG_CREATE_SESSION:
        router__on_create_session(r, p, msg);
        break;
    case MSG_ROBOT_REQUEST:
        router__on_robot_request(r, p, msg, now_ms);
        break;
    case MSG_ROBOT_RESPONSE:
        router__on_robot_response(r, p, msg);
        break;
    case MSG_REFRESH_TOKEN:
        router__on_refresh_token(r, p, msg, now_ms);
        break;
    default:
        on_session_message(r, p, t, msg, type, data, len);
        break;
    }
}

void router_peer_message(struct router *r, struct peer *p, const char *data, size_t len,
                         int64_t now_ms)
{
    r->stats.messages_in++;
    if (p->closing)
        return;
    /* A robot's answers to pending requests are never rate-limited: there
     * are never more of them than requests the cloud chose to forward. */
    bool exempt = p->role == ROLE_ROBOT && p->npending &&
                  router__answers_pending(r, p, data, len);
    if (!exempt && !within_rate(r, p, now_ms))
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
    if (t == MSG_INVALID)
        send_error(r, p, perr.code, perr.message, type, msg);
    else
        dispatch(r, p, t, msg, type, data, len, now_ms);
    json_decref(msg);
}

void router_peer_closed(struct router *r, struct peer *p)
{
    if (!p)
        return;
    detach_peer(r, p, "disconnected");
    r->peers--;
    free(p);
}

void router_shutdown(struct router *r)
{
    router__end_all_sessions(r);
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
    /* Two buffers, so that a log line may name two peers. */
    static char label[2][PROTO_NAME_MAX + 80];
    static unsigned next;
    if (!p)
        return "?";
    if (p->label_role == ROLE_NONE)
        return p->remote_addr;
    char *out = label[next++ & 1];
    snprintf(out, sizeof(label[0]), "%s %s (%s)", protocol_role_name(p->label_role),
             p->id ? p->id : "?", p->remote_addr);
    return out;
}

bool router_peer_registered(const struct peer *p)
{
    return p->role != ROLE_NONE;
}

const struct router_error_count *router_error_counts(const struct router *r)
{
    return r->errors;
}
