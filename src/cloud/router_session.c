/* router_session.c - sessions (router_internal.h): creating one for a
 * client and a robot, finding the other side of one for relaying, ending
 * them, and the audit line every session leaves when it ends. */
#include "cloud/router_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"

/* The stream types a session carried: the names of create-session and of
 * every switch-stream-type after it, each once, comma-separated; at most
 * as many bytes as one full streamTypes list (later names are left out). */
#define SESSION_STREAMS_MAX (PROTO_STREAM_TYPES_MAX * (PROTO_STREAM_TYPE_MAX + 1))

/* A session belongs to one robot peer and one client peer and sits on
 * both peers' lists, so that either side's close finds it in O(1). */
/* Who makes the offers of a session. A client's create-session that
 * carried an offer makes it OFFERER_CLIENT_UNANSWERED until the robot
 * answers it (then OFFERER_CLIENT) or, a robot that does not know the
 * field, makes its own offer (then OFFERER_ROBOT: the client rolls its
 * offer back and answers). */
enum offerer { OFFERER_ROBOT, OFFERER_CLIENT_UNANSWERED, OFFERER_CLIENT };

struct session {
    char id[IDS_TOKEN_LEN + 1];
    struct peer *robot, *client;
    struct list robot_node;      /* on robot->sessions */
    struct list client_node;     /* on client->sessions */
    struct identity *identity;   /* the client's, with identities; else NULL */
    int64_t started_ms;          /* wall clock */
    enum offerer offerer;        /* who offers (router__session_may_relay) */
    char streams[SESSION_STREAMS_MAX];
};

/* Other instances list the robot's session count (/robots). */
static void sessions_changed(struct router *r, const struct peer *robot)
{
    const struct router_cluster *cl = r->cfg.cluster;
    if (cl && cl->robot_sessions)
        cl->robot_sessions(cl->self, robot->id, robot->nsessions);
}

static void link_session(struct router *r, struct session *s)
{
    list_insert_head(&s->robot->sessions, &s->robot_node);
    s->robot->nsessions++;
    list_insert_head(&s->client->sessions, &s->client_node);
    s->client->nsessions++;
    sessions_changed(r, s->robot);
}

static void unlink_session(struct router *r, struct session *s)
{
    list_remove(&s->robot_node);
    s->robot->nsessions--;
    list_remove(&s->client_node);
    s->client->nsessions--;
    sessions_changed(r, s->robot);
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

/* True when the comma-separated list holds the n bytes at name. */
static bool listed(const char *list, const char *name, size_t n)
{
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && memcmp(p, name, n) == 0)
            return true;
        p += len;
        if (*p)
            p++;
    }
    return false;
}

/* Adds the names of the streamTypes array to s->streams, each once. */
static void note_streams(struct session *s, json_t *types)
{
    size_t i;
    json_t *v;
    json_array_foreach(types, i, v) {
        const char *name = json_string_value(v);
        size_t n = name ? strlen(name) : 0, used = strlen(s->streams);
        if (!n || listed(s->streams, name, n) || used + n + 2 > sizeof(s->streams))
            continue;
        snprintf(s->streams + used, sizeof(s->streams) - used, "%s%s", used ? "," : "", name);
    }
}

/* The audit line of a session that ends: who (the client's sub and id),
 * which robot, which streams, from where, when and why. JSON text on the
 * log stream, at info level; never a token. */
static void audit_session(const struct session *s, const char *reason)
{
    if (!log_enabled(LOGL_INFO))
        return;
    int64_t end = clock_wall_ms();
    char start_iso[32], end_iso[32];
    clock_iso8601(s->started_ms, start_iso, sizeof(start_iso));
    clock_iso8601(end, end_iso, sizeof(end_iso));
    const struct token_claims *who = s->client->claims;
    json_t *streams = json_array();
    char names[SESSION_STREAMS_MAX];
    snprintf(names, sizeof(names), "%s", s->streams);
    for (char *save = NULL, *t = strtok_r(names, ",", &save); t && streams;
         t = strtok_r(NULL, ",", &save))
        json_array_append_new(streams, json_string(t));
    json_t *j = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:o*, s:s, s:s, s:I, s:s}",
                          "event", "session", "sessionId", s->id, "clientId", s->client->id,
                          "sub", who ? who->sub : NULL,
                          "scope", who ? token_scope_name(who->scope) : NULL,
                          "from", s->client->remote_addr, "robotId", s->robot->id,
                          "robotFrom", s->robot->remote_addr, "streams", streams,
                          "start", start_iso, "end", end_iso, "durationMs",
                          (json_int_t)(end - s->started_ms), "reason", reason);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        log_info("%s", text);
    else
        log_error("out of memory writing the audit line of session %s", s->id);
    free(text);
    json_decref(j);
}

static void send_session_closed(struct router *r, struct peer *p, const char *sid,
                                const char *reason)
{
    router__send_msg(r, p, "session-closed",
                     json_pack("{s:s, s:s}", "sessionId", sid, "reason", reason));
}

void router__end_session(struct router *r, struct session *s, const char *reason,
                         bool notify_robot, bool notify_client)
{
    log_info("session %s closed (%s): robot %s, client %s", s->id, reason, s->robot->id,
             s->client->id);
    audit_session(s, reason);
    if (notify_robot)
        send_session_closed(r, s->robot, s->id, reason);
    if (notify_client)
        send_session_closed(r, s->client, s->id, reason);
    registry_remove(r->reg, REG_SESSION, s->id);
    unlink_session(r, s);
    router__identity_release(r, s->identity);
    r->stats.sessions_closed++;
    free(s);
}

void router__end_peer_sessions(struct router *r, struct peer *p)
{
    struct session *s;
    while ((s = newest_session(p))) {
        bool robot_left = s->robot == p;
        router__end_session(r, s, "peer-disconnected", !robot_left, robot_left);
    }
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

void router__end_all_sessions(struct router *r)
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
        router__end_session(r, ctx.list[i], "server-shutdown", true, true);
    free(ctx.list);
}

struct session *router__find_session(struct router *r, const char *sid)
{
    return registry_find(r->reg, REG_SESSION, sid);
}

struct peer *router__other_side(const struct session *s, const struct peer *p)
{
    if (!s || (s->robot != p && s->client != p))
        return NULL;
    return p == s->robot ? s->client : s->robot;
}

bool router__is_robot_of(const struct session *s, const struct peer *p)
{
    return s->robot == p;
}

bool router__session_may_relay(struct session *s, const struct peer *p, enum msg_type t)
{
    if (t != MSG_WEBRTC_OFFER && t != MSG_WEBRTC_ANSWER)
        return true;
    bool robot = p == s->robot, offer = t == MSG_WEBRTC_OFFER;
    switch (s->offerer) {
    case OFFERER_ROBOT:
        return robot == offer;
    case OFFERER_CLIENT_UNANSWERED: /* only the robot speaks: answer or offer */
        if (robot)
            s->offerer = offer ? OFFERER_ROBOT : OFFERER_CLIENT;
        return robot;
    case OFFERER_CLIENT:
        return robot != offer;
    }
    return false;
}

void router__session_switched(struct session *s, json_t *msg)
{
    note_streams(s, json_object_get(msg, "streamTypes"));
}

/* ---- creating ---- */

/* A create-session that cannot be served: viewers wait for session-error. */
static void send_session_refusal(struct router *r, struct peer *p, const char *code,
                                 const char *message, json_t *msg)
{
    router__count_error(r, code);
    json_t *body = json_pack("{s:s, s:s}", "code", code, "error", message);
    json_t *rid = router__request_id(msg);
    if (body && rid)
        json_object_set(body, "requestId", rid);
    router__send_msg(r, p, "session-error", body);
}

/* Checks the limits of a new session of client with robot. Returns NULL
 * when it may open, with *identity set (the client's record, which
 * counts the session from now on; NULL without identities), or the
 * refusal's code with its text in m. */
static const char *session_refused(struct router *r, struct peer *client, struct peer *robot,
                                   struct identity **identity, char *m, size_t mlen)
{
    *identity = NULL;
    if (client->nsessions >= r->cfg.max_client_sessions) {
        snprintf(m, mlen, "this client has %u open sessions, the limit", client->nsessions);
        return "session-limit";
    }
    if (robot->nsessions >= r->cfg.max_robot_sessions) {
        snprintf(m, mlen, "robot '%s' has %u open sessions, the limit", robot->id,
                 robot->nsessions);
        return "session-limit";
    }
    if (!client->claims)
        return NULL;
    switch (router__identity_take(r, client->claims->sub, identity)) {
    case 0:
        return NULL;
    case 1:
        snprintf(m, mlen, "'%.64s' has %u open sessions over all its connections, the limit",
                 client->claims->sub, r->cfg.max_sessions_per_identity);
        return "session-limit";
    default:
        snprintf(m, mlen, "out of memory");
        return "internal";
    }
}

void router__on_create_session(struct router *r, struct peer *client, json_t *msg)
{
    const char *robot_id = json_string_value(json_object_get(msg, "robotId"));
    struct peer *robot = registry_find(r->reg, REG_ROBOT, robot_id);
    char m[160];
    /* A robot of another instance: the session lives there. */
    if (!robot && router__may_see(client->claims, robot_id) &&
        router__forward(r, client, robot_id, NULL, "create-session", msg, NULL, 0))
        return;
    /* A robot this viewer may not see gets the answer of an offline one. */
    if (!robot || !router__may_see(client->claims, robot_id)) {
        snprintf(m, sizeof(m), "robot '%s' is not online", robot_id);
        send_session_refusal(r, client, "robot-not-found", m, msg);
        return;
    }
    struct identity *identity;
    const char *code = session_refused(r, client, robot, &identity, m, sizeof(m));
    if (code) {
        send_session_refusal(r, client, code, m, msg);
        return;
    }
    struct session *s = calloc(1, sizeof(*s));
    int rc = 1;
    /* A collision of 128 random bits means a broken RNG; retry a little. */
    for (int tries = 0; s && rc == 1 && tries < 3; tries++)
        rc = ids_token(s->id) == 0 ? registry_add(r->reg, REG_SESSION, s->id, s) : -1;
    if (!s || rc != 0) {
        free(s);
        router__identity_release(r, identity);
        send_session_refusal(r, client, "internal", "could not allocate a session", msg);
        return;
    }
    s->robot = robot;
    s->client = client;
    s->identity = identity;
    s->started_ms = clock_wall_ms();
    json_t *offer = json_object_get(msg, "offer"); /* checked: absent, null or an offer */
    s->offerer = offer && !json_is_null(offer) ? OFFERER_CLIENT_UNANSWERED : OFFERER_ROBOT;
    note_streams(s, json_object_get(msg, "streamTypes"));
    link_session(r, s);
    r->stats.sessions_created++;
    log_info("session %s created: client %s -> robot %s", s->id, client->id, robot->id);

    json_t *created = json_pack("{s:s, s:s}", "sessionId", s->id, "robotId", robot->id);
    json_t *rid = router__request_id(msg);
    if (created && rid)
        json_object_set(created, "requestId", rid);
    router__send_msg(r, client, "session-created", router__with_ice_servers(r, client, created));

    json_t *device = json_object_get(msg, "deviceId");
    json_t *order = json_pack("{s:s, s:s, s:O, s:O}", "sessionId", s->id, "clientId", client->id,
                              "deviceId", device ? device : json_null(), "streamTypes",
                              json_object_get(msg, "streamTypes"));
    json_t *depth = json_object_get(msg, "depth");
    if (order && depth && !json_is_null(depth)) /* metric depth channels (PROTOCOL.md) */
        json_object_set(order, "depth", depth);
    if (order && s->offerer != OFFERER_ROBOT) /* the robot answers it (PROTOCOL.md) */
        json_object_set(order, "offer", offer);
    router__send_msg(r, robot, "create-session", router__with_ice_servers(r, robot, order));
}
