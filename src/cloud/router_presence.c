/* router_presence.c - who is online, as the router tells it: the robots
 * list (router_robots_json, available-robots) and the robot-available and
 * robot-unavailable broadcasts to every client (router_internal.h). */
#include "cloud/router_internal.h"

#include <stdbool.h>

#include "common/clock.h"
#include "common/log.h"

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

struct robots_ctx {
    json_t *list;
    bool with_sessions;
    bool failed;
};

static bool append_robot(void *record, void *arg)
{
    struct robots_ctx *ctx = arg;
    if (json_array_append_new(ctx->list, robot_json(record, ctx->with_sessions)) != 0) {
        ctx->failed = true;
        return false;
    }
    return true;
}

static json_t *robots_list(const struct router *r, bool with_sessions)
{
    struct robots_ctx ctx = {json_array(), with_sessions, false};
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

void router__announce_robot(struct router *r, const struct peer *robot, bool available)
{
    if (available)
        broadcast_to_clients(r, "robot-available", robot_json(robot, false));
    else
        broadcast_to_clients(r, "robot-unavailable", json_pack("{s:s}", "robotId", robot->id));
}

void router__send_robot_list(struct router *r, struct peer *client)
{
    json_t *robots = robots_list(r, false);
    router__send_msg(r, client, "available-robots",
                     robots ? json_pack("{s:s, s:o}", "clientId", client->id, "robots", robots)
                            : NULL);
}
