/* router_presence.c - who is online, as the router tells it: the robots
 * list (router_robots_json, available-robots) and the robot-available and
 * robot-unavailable broadcasts to every client (router_internal.h), each
 * limited to the robots the asker's token lets it see. */
#include "cloud/router_internal.h"

#include <stdbool.h>

#include "common/clock.h"
#include "common/log.h"

/* The robot's entry of lists and of robot-available. Its deviceInfo is
 * kept as text and parsed here, for as long as one message is built. */
static json_t *entry_json(const char *id, const char *device_info, int64_t connected_at_ms)
{
    char at[32];
    clock_iso8601(connected_at_ms, at, sizeof(at));
    json_t *info = json_loads(device_info, JSON_REJECT_DUPLICATES, NULL);
    return info ? json_pack("{s:s, s:o, s:s}", "robotId", id, "deviceInfo", info,
                            "connectedAt", at)
                : NULL;
}

static json_t *robot_json(const struct peer *robot, bool with_sessions)
{
    json_t *j = entry_json(robot->id, robot->device_info, robot->connected_at_ms);
    if (j && with_sessions)
        json_object_set_new(j, "sessions", json_integer(robot->nsessions));
    return j;
}

struct robots_ctx {
    json_t *list;
    const struct token_claims *viewer;
    bool with_sessions;
    bool failed;
};

static bool append_robot(void *record, void *arg)
{
    struct robots_ctx *ctx = arg;
    const struct peer *robot = record;
    if (!router__may_see(ctx->viewer, robot->id))
        return true;
    if (json_array_append_new(ctx->list, robot_json(robot, ctx->with_sessions)) != 0) {
        ctx->failed = true;
        return false;
    }
    return true;
}

/* A robot of another instance; its sessions live there, and their count
 * is the one that instance last published (cluster.h). */
static bool append_remote(const struct router_remote_robot *robot, void *arg)
{
    struct robots_ctx *ctx = arg;
    if (!router__may_see(ctx->viewer, robot->id))
        return true;
    json_t *j = entry_json(robot->id, robot->device_info, robot->connected_at_ms);
    if (j && ctx->with_sessions)
        json_object_set_new(j, "sessions", json_integer(robot->sessions));
    if (json_array_append_new(ctx->list, j) != 0) {
        ctx->failed = true;
        return false;
    }
    return true;
}

static json_t *robots_list(const struct router *r, const struct token_claims *viewer,
                           bool with_sessions)
{
    struct robots_ctx ctx = {.list = json_array(), .viewer = viewer,
                             .with_sessions = with_sessions};
    if (!ctx.list)
        return NULL;
    registry_foreach(r->reg, REG_ROBOT, append_robot, &ctx);
    const struct router_cluster *cl = r->cfg.cluster;
    if (cl && !ctx.failed)
        cl->foreach_robot(cl->self, append_remote, &ctx);
    if (ctx.failed) {
        json_decref(ctx.list);
        return NULL;
    }
    return ctx.list;
}

json_t *router_robots_json(const struct router *r, const struct token_claims *viewer)
{
    return robots_list(r, viewer, true);
}

/* A broadcast is encoded once per codec in use, not once per client, and
 * goes only to the clients that may see its robot. */
enum { BROADCAST_CODECS = 4 };

struct broadcast_ctx {
    struct router *r;
    const char *robot_id;
    const char *type;
    json_t *body;
    const struct codec *codecs[BROADCAST_CODECS];
    struct outbuf *bufs[BROADCAST_CODECS];
};

static bool send_to_client(void *record, void *arg)
{
    struct broadcast_ctx *ctx = arg;
    struct peer *client = record;
    if (!router__may_see(client->claims, ctx->robot_id))
        return true;
    int i = 0;
    while (i < BROADCAST_CODECS && ctx->codecs[i] && ctx->codecs[i] != client->codec)
        i++;
    if (i == BROADCAST_CODECS) { /* more codecs than slots: encode for this one */
        router__send_msg(ctx->r, client, ctx->type, json_incref(ctx->body));
        return true;
    }
    if (!ctx->codecs[i]) {
        ctx->codecs[i] = client->codec;
        ctx->bufs[i] = client->codec->encode(ctx->type, ctx->body);
    }
    if (ctx->bufs[i])
        router__send_buf(ctx->r, client, ctx->bufs[i]);
    return true;
}

/* Queues the message for every registered client that may see robot_id;
 * takes body's reference. */
static void broadcast_to_clients(struct router *r, const char *robot_id, const char *type,
                                 json_t *body)
{
    if (!body) {
        log_error("out of memory building %s broadcast", type);
        return;
    }
    struct broadcast_ctx ctx = {.r = r, .robot_id = robot_id, .type = type, .body = body};
    registry_foreach(r->reg, REG_CLIENT, send_to_client, &ctx);
    for (int i = 0; i < BROADCAST_CODECS; i++)
        outbuf_unref(ctx.bufs[i]);
    json_decref(body);
}

void router__announce_robot(struct router *r, const struct peer *robot, bool available)
{
    if (available)
        broadcast_to_clients(r, robot->id, "robot-available", robot_json(robot, false));
    else
        broadcast_to_clients(r, robot->id, "robot-unavailable",
                             json_pack("{s:s}", "robotId", robot->id));
}

void router__send_robot_list(struct router *r, struct peer *client)
{
    json_t *robots = robots_list(r, client->claims, false);
    /* With the ICE servers, so that a viewer that offers (create-session's
     * offer) can build its peer connection before it asks for a session. */
    router__send_msg(r, client, "available-robots",
                     router__with_ice_servers(r, client,
                                              robots ? json_pack("{s:s, s:o}", "clientId",
                                                                 client->id, "robots", robots)
                                                     : NULL));
}

void router_remote_robot(struct router *r, const struct router_remote_robot *robot,
                         bool available)
{
    if (available)
        broadcast_to_clients(r, robot->id, "robot-available",
                             entry_json(robot->id, robot->device_info, robot->connected_at_ms));
    else
        broadcast_to_clients(r, robot->id, "robot-unavailable",
                             json_pack("{s:s}", "robotId", robot->id));
}
