/* robot_api.c - the REST API's sessions, who may touch them, and robot-request. */
#include "robot/robot_api.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "robot/sink_rest.h"
#include "robot/sink_whep.h"

/* ---- who may touch a session ---- */

/* True when caller may see s: see robot_api.h. */
static bool may_touch(const struct api_caller *caller, const struct session *s)
{
    if (!caller || !caller->sub || caller->admin)
        return true;
    const char *owner = session_client_id(s);
    return owner && caller->client_id && strcmp(owner, caller->client_id) == 0;
}

/* The session id names, when caller may touch it; else NULL. */
static struct session *find_for(struct session_set *set, const struct api_caller *caller,
                                const char *id)
{
    struct session *s = session_set_find(set, id);
    return s && may_touch(caller, s) ? s : NULL;
}

/* The owner of a session caller opens (NULL for the robot's own port). */
static const struct session_owner *owner_of(const struct api_caller *caller,
                                            struct session_owner *buf)
{
    if (!caller)
        return NULL;
    *buf = (struct session_owner){.client_id = caller->client_id, .sub = caller->sub};
    return buf;
}

/* ---- struct api_sessions ---- */

struct visit {
    const struct api_caller *caller;
    json_t *list;        /* list: the statuses */
    size_t n;            /* close_all: how many */
};

static void append_status(struct session *s, void *user)
{
    struct visit *v = user;
    if (may_touch(v->caller, s))
        json_array_append_new(v->list, session_status(s));
}

static json_t *api_list(void *user, const struct api_caller *caller)
{
    struct visit v = {.caller = caller, .list = json_array()};
    session_set_foreach(user, append_status, &v);
    return v.list;
}

static json_t *api_get(void *user, const struct api_caller *caller, const char *id)
{
    struct session *s = find_for(user, caller, id);
    return s ? session_status(s) : NULL;
}

static int api_close(void *user, const struct api_caller *caller, const char *id)
{
    struct session *s = find_for(user, caller, id);
    if (!s)
        return -1;
    session_end(s, true, "closed through the REST API");
    return 0;
}

static void close_visible(struct session *s, void *user)
{
    struct visit *v = user;
    if (!may_touch(v->caller, s))
        return;
    session_end(s, true, "closed through the REST API");
    v->n++;
}

static size_t api_close_all(void *user, const struct api_caller *caller)
{
    if (!caller || !caller->sub || caller->admin)
        return session_set_end_all(user, "closed through the REST API");
    struct visit v = {.caller = caller};
    session_set_foreach(user, close_visible, &v);
    return v.n;
}

static int api_open(void *user, const struct api_caller *caller, const enum cam_stream *streams,
                    size_t n, api_reply_fn reply, void *ctx, char *err, size_t errlen)
{
    struct session_owner buf;
    return sink_rest_open(user, owner_of(caller, &buf), streams, n, reply, ctx, err, errlen);
}

/* 404 for a session caller may not touch, worded as for one that does not
 * exist (sink_rest.c's words). */
static int hidden(char *err, size_t errlen, const char *id)
{
    snprintf(err, errlen, "no session '%.64s' on this robot", id);
    return 404;
}

static int api_answer(void *user, const struct api_caller *caller, const char *id,
                      const char *sdp, char *err, size_t errlen)
{
    if (session_set_find(user, id) && !find_for(user, caller, id))
        return hidden(err, errlen, id);
    return sink_rest_answer(user, id, sdp, err, errlen);
}

static int api_candidate(void *user, const struct api_caller *caller, const char *id,
                         const char *candidate, int mline, const char *mid, char *err,
                         size_t errlen)
{
    if (session_set_find(user, id) && !find_for(user, caller, id))
        return hidden(err, errlen, id);
    return sink_rest_candidate(user, id, candidate, mline, mid, err, errlen);
}

static int api_whep_open(void *user, const struct api_caller *caller,
                         const enum cam_stream *streams, size_t n, const char *offer,
                         api_reply_fn reply, void *ctx, char *err, size_t errlen)
{
    return sink_whep_open(user, caller, streams, n, offer, reply, ctx, err, errlen);
}

static int api_whep_patch(void *user, const struct api_caller *caller, const char *id,
                          const char *if_match, const char *frag, size_t len, json_t **answer,
                          char *err, size_t errlen)
{
    return sink_whep_patch(user, caller, id, if_match, frag, len, answer, err, errlen);
}

static int api_whep_delete(void *user, const struct api_caller *caller, const char *id,
                           char *err, size_t errlen)
{
    return sink_whep_delete(user, caller, id, err, errlen);
}

const struct api_sessions robot_api_sessions = {
    .list = api_list,
    .get = api_get,
    .close = api_close,
    .close_all = api_close_all,
    .open = api_open,
    .answer = api_answer,
    .candidate = api_candidate,
    .whep_open = api_whep_open,
    .whep_patch = api_whep_patch,
    .whep_delete = api_whep_delete,
};

/* ---- robot-request: the REST API through the cloud ---- */

int robot_api_caller(json_t *msg, struct api_caller *out, char *err, size_t errlen)
{
    const char *client = json_string_value(json_object_get(msg, "clientId"));
    *out = (struct api_caller){.client_id = client ? client : ""};
    json_t *c = json_object_get(msg, "caller");
    if (!c)
        return 0; /* the cloud runs without auth */
    const char *sub = json_string_value(json_object_get(c, "sub"));
    const char *scope = json_string_value(json_object_get(c, "scope"));
    json_t *cid = json_object_get(c, "clientId");
    bool scope_ok = scope && (strcmp(scope, "watch") == 0 || strcmp(scope, "control") == 0 ||
                              strcmp(scope, "admin") == 0);
    if (!json_is_object(c) || !sub || !scope_ok || (cid && !json_is_string(cid))) {
        snprintf(err, errlen, "'caller' must be {\"sub\": string, \"scope\": \"watch\", "
                 "\"control\" or \"admin\", \"clientId\": string}");
        return -1;
    }
    out->sub = sub;
    out->admin = strcmp(scope, "admin") == 0;
    if (cid)
        out->client_id = json_string_value(cid);
    return 0;
}

/* porthole-cloud closes a link whose message exceeds its --max-message
 * (64 KiB by default), which would fail every request pending on it; an
 * answer larger than this is replaced by an error. */
#define ROBOT_RESPONSE_MAX (60 * 1024)

struct cloud_request {
    struct signaling *sig;
    char id[72];
};

static void on_cloud_reply(void *ctx, int status, json_t *body)
{
    struct cloud_request *q = ctx;
    json_t *msg = json_pack("{s:s, s:s, s:i, s:o}", "type", "robot-response", "requestId", q->id,
                            "status", status, "body", body);
    size_t size = msg ? json_dumpb(msg, NULL, 0, JSON_COMPACT) : 0;
    if (size > ROBOT_RESPONSE_MAX) {
        log_warn("api: answer of %zu bytes is too large for the cloud link", size);
        json_decref(msg);
        msg = json_pack("{s:s, s:s, s:i, s:o}", "type", "robot-response", "requestId", q->id,
                        "status", 500, "body",
                        api_error_body("the answer (%zu bytes) is larger than the %d bytes the "
                                       "cloud link carries; use the robot's own API port",
                                       size, ROBOT_RESPONSE_MAX));
    }
    signaling_send(q->sig, msg);
    json_decref(msg);
    g_free(q);
}

void robot_api_serve(struct api *api, struct signaling *sig, bool enabled, json_t *msg)
{
    const char *id = json_string_value(json_object_get(msg, "requestId"));
    const char *method = json_string_value(json_object_get(msg, "method"));
    const char *path = json_string_value(json_object_get(msg, "path"));
    if (!id || strlen(id) > 64) {
        log_warn("robot-request without a valid requestId: ignored");
        return;
    }
    struct cloud_request *q = g_new0(struct cloud_request, 1);
    q->sig = sig;
    snprintf(q->id, sizeof q->id, "%s", id);
    if (!enabled) {
        on_cloud_reply(q, 403, api_error_body("this robot does not serve its API through the "
                                              "cloud (porthole-robot --cloud-api off)"));
        return;
    }
    if (!method || !path) {
        on_cloud_reply(q, 400, api_error_body("robot-request needs 'method' and 'path' strings"));
        return;
    }
    struct api_caller caller;
    char err[160];
    if (robot_api_caller(msg, &caller, err, sizeof err) < 0) {
        log_warn("api: robot-request %s %s refused: %s", method, path, err);
        on_cloud_reply(q, 400, api_error_body("%s", err));
        return;
    }
    log_debug("api: %s %s from %s%s%s through the cloud", method, path,
              caller.client_id[0] ? caller.client_id : "?", caller.sub ? " sub " : "",
              caller.sub ? caller.sub : "");
    api_handle_json(api, &caller, method, path, json_object_get(msg, "body"), on_cloud_reply, q);
}
