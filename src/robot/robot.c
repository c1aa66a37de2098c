/* robot.c - porthole-robot's sessions and signaling messages. */
#include "robot.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "api.h"
#include "api_http.h"
#include "media.h"
#include "peer.h"
#include "signaling.h"

#include <gst/sdp/sdp.h>

#define MAX_LOCAL_ADDRS 16
/* An offer made for the REST API waits for ICE gathering to complete, so
 * that it carries the robot's candidates (the API has no trickle towards
 * the viewer); past this it goes with the candidates it has. */
#define OFFER_GATHER_MAX_MS 3000

/* Who opened a session: the cloud (create-session) or the REST API. Both
 * are the same object with the same encoders; only where the robot's offer
 * and candidates go differs. */
enum session_origin { ORIGIN_CLOUD, ORIGIN_API };

struct session {
    struct robot *r;
    char *id;
    char *client_id;
    enum session_origin origin;
    struct peer *peer;
    guint timeout;  /* closes a session that does not connect in time */
    bool connected;
    bool orphan;    /* the cloud that opened it shut down: it no longer knows it */
    gint64 opened_us;
    /* ORIGIN_API, until the offer is answered: */
    api_reply_fn offer_reply;
    void *offer_ctx;
    char *offer_sdp;        /* the offer, once webrtcbin has made it */
    GPtrArray *candidates;  /* "mline\tcandidate:..." gathered so far */
    bool gathered;
    guint gather_timer;
};

struct robot {
    const struct robot_config *cfg;
    struct camera *cam;
    GMainContext *ctx;
    char robot_id[96];
    struct media *media;
    struct signaling *sig;
    GHashTable *sessions; /* id -> struct session * (owned) */
    guint telemetry_timer;
    json_t *device_info;
    struct api *api;
    struct api_http *http;
    char local_addrs[MAX_LOCAL_ADDRS][46];
    size_t nlocal;
    gint64 started_us;
};

/* ---- sending ---- */

static void send_msg(struct robot *r, json_t *msg)
{
    signaling_send(r->sig, msg);
    json_decref(msg);
}

static void send_session_error(struct robot *r, const char *sid, const char *code,
                               const char *reason)
{
    log_warn("session %s: %s: %s", sid, code, reason);
    send_msg(r, json_pack("{s:s, s:s, s:s, s:s}", "type", "session-error", "sessionId", sid,
                          "code", code, "error", reason));
}

/* Reports a session's error: to the cloud for its sessions, to the log
 * for every one (a REST client asks GET /api/webrtc/sessions/{id}). */
static void session_error(struct robot *r, struct session *s, const char *code,
                          const char *reason)
{
    if (s->origin == ORIGIN_CLOUD && !s->orphan)
        send_session_error(r, s->id, code, reason);
    else
        log_warn("session %s: %s: %s", s->id, code, reason);
}

/* ---- session lifetime ---- */

/* Answers a REST offer still waiting, with an error: the session ended. */
static void session_fail_offer(struct session *s, const char *why)
{
    if (!s->offer_reply)
        return;
    api_reply_fn reply = s->offer_reply;
    s->offer_reply = NULL;
    reply(s->offer_ctx, 503, api_error_body("session %s ended before its offer was ready: %s",
                                            s->id, why));
}

static void session_free(gpointer data)
{
    struct session *s = data;
    session_fail_offer(s, "the robot is shutting down");
    if (s->timeout)
        g_source_remove(s->timeout);
    if (s->gather_timer)
        g_source_remove(s->gather_timer);
    g_free(s->offer_sdp);
    if (s->candidates)
        g_ptr_array_unref(s->candidates);
    peer_free(s->peer);
    g_free(s->id);
    g_free(s->client_id);
    g_free(s);
}

/* Ends a session: tells the cloud (tell) and frees the peer. */
static void session_end(struct robot *r, struct session *s, bool tell, const char *why)
{
    log_info("session %s: closed (%s)", s->id, why);
    session_fail_offer(s, why);
    if (tell && !s->orphan && s->origin == ORIGIN_CLOUD)
        send_msg(r, json_pack("{s:s, s:s}", "type", "close-session", "sessionId", s->id));
    g_hash_table_remove(r->sessions, s->id); /* frees s */
    /* A peer's teardown frees megabytes of buffers across the arenas of
     * many threads; hand them back to the system so that a long-running
     * robot's memory follows its sessions instead of its peak. */
    malloc_trim(0);
}

static gboolean on_session_timeout(gpointer data)
{
    struct session *s = data;
    s->timeout = 0;
    char reason[128];
    snprintf(reason, sizeof reason, "the viewer did not connect within %ld s",
             s->r->cfg->session_timeout_s);
    session_error(s->r, s, "timeout", reason);
    session_end(s->r, s, true, "timeout");
    return G_SOURCE_REMOVE;
}

static struct session *find_session(struct robot *r, json_t *msg, const char **sid_out)
{
    const char *sid = json_string_value(json_object_get(msg, "sessionId"));
    *sid_out = sid;
    struct session *s = sid ? g_hash_table_lookup(r->sessions, sid) : NULL;
    /* The cloud speaks only for the sessions it opened. */
    return s && s->origin == ORIGIN_CLOUD ? s : NULL;
}

/* ---- peer callbacks (main thread) ---- */

/* Sends a REST session's offer with the candidates gathered so far. */
static void session_finish_offer(struct session *s)
{
    if (!s->offer_reply || !s->offer_sdp)
        return;
    if (s->gather_timer) {
        g_source_remove(s->gather_timer);
        s->gather_timer = 0;
    }
    GstSDPMessage *sdp = NULL;
    char *text = NULL;
    if (gst_sdp_message_new_from_text(s->offer_sdp, &sdp) == GST_SDP_OK) {
        for (guint i = 0; i < s->candidates->len; i++) {
            const char *c = g_ptr_array_index(s->candidates, i);
            guint mline = (guint)strtoul(c, NULL, 10);
            const char *line = strchr(c, '\t') + 1;
            if (mline < gst_sdp_message_medias_len(sdp) && g_str_has_prefix(line, "candidate:"))
                gst_sdp_media_add_attribute((GstSDPMedia *)gst_sdp_message_get_media(sdp, mline),
                                            "candidate", line + strlen("candidate:"));
        }
        if (s->gathered)
            for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++)
                gst_sdp_media_add_attribute((GstSDPMedia *)gst_sdp_message_get_media(sdp, i),
                                            "end-of-candidates", NULL);
        text = gst_sdp_message_as_text(sdp);
        gst_sdp_message_free(sdp);
    }
    api_reply_fn reply = s->offer_reply;
    s->offer_reply = NULL;
    log_info("session %s: offer with %u candidate(s) for the REST API%s", s->id,
             s->candidates->len, s->gathered ? "" : " (gathering not complete)");
    reply(s->offer_ctx, 200, json_pack("{s:s, s:s, s:s}", "session_id", s->id, "sdp",
                                       text ? text : s->offer_sdp, "type", "offer"));
    g_free(text);
}

static gboolean on_gather_timeout(gpointer data)
{
    struct session *s = data;
    s->gather_timer = 0;
    session_finish_offer(s);
    return G_SOURCE_REMOVE;
}

static void on_peer_offer(void *user, struct peer *p, const char *sdp)
{
    struct robot *r = user;
    log_debug("session %s: offer ready (%zu bytes)", peer_session_id(p), strlen(sdp));
    struct session *s = g_hash_table_lookup(r->sessions, peer_session_id(p));
    if (s && s->origin == ORIGIN_API) {
        s->offer_sdp = g_strdup(sdp);
        if (s->gathered)
            session_finish_offer(s);
        else
            s->gather_timer = g_timeout_add(OFFER_GATHER_MAX_MS, on_gather_timeout, s);
        return;
    }
    send_msg(r, json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "webrtc-offer", "sessionId",
                          peer_session_id(p), "offer", "type", "offer", "sdp", sdp));
}

static void on_peer_candidate(void *user, struct peer *p, unsigned mline, const char *mid,
                              const char *candidate)
{
    struct robot *r = user;
    struct session *s = g_hash_table_lookup(r->sessions, peer_session_id(p));
    if (s && s->origin == ORIGIN_API) {
        if (!candidate) {
            s->gathered = true;
            session_finish_offer(s);
        } else if (s->offer_reply) {
            g_ptr_array_add(s->candidates, g_strdup_printf("%u\t%s", mline, candidate));
        }
        return;
    }
    json_t *c = json_null();
    if (candidate) {
        c = json_pack("{s:s, s:i}", "candidate", candidate, "sdpMLineIndex", (int)mline);
        if (mid)
            json_object_set_new(c, "sdpMid", json_string(mid));
    }
    send_msg(r, json_pack("{s:s, s:s, s:o}", "type", "ice-candidate", "sessionId",
                          peer_session_id(p), "candidate", c));
}

static void on_peer_state(void *user, struct peer *p, enum peer_state st)
{
    struct robot *r = user;
    struct session *s = g_hash_table_lookup(r->sessions, peer_session_id(p));
    if (!s)
        return;
    log_info("session %s: %s", s->id, peer_state_name(st));
    if (st == PEER_CONNECTED && !s->connected) {
        s->connected = true;
        if (s->timeout) {
            g_source_remove(s->timeout);
            s->timeout = 0;
        }
    } else if (st == PEER_FAILED) {
        session_error(r, s, "connection-failed", "the WebRTC connection failed");
        session_end(r, s, true, "connection failed");
    } else if (st == PEER_CLOSED) {
        session_end(r, s, true, "connection closed");
    }
}

static void on_peer_error(void *user, struct peer *p, const char *code, const char *reason)
{
    struct robot *r = user;
    struct session *s = g_hash_table_lookup(r->sessions, peer_session_id(p));
    if (!s)
        return;
    session_error(r, s, code, reason);
    /* A refused answer leaves the offer standing: the viewer may answer
     * again. Anything else leaves nothing to save. */
    if (strcmp(code, "answer-rejected") != 0)
        session_end(r, s, true, code);
}

static void on_peer_viewer_gone(void *user, struct peer *p, const char *why)
{
    struct robot *r = user;
    struct session *s = g_hash_table_lookup(r->sessions, peer_session_id(p));
    if (s)
        session_end(r, s, true, why);
}

static const struct peer_callbacks peer_cb = {
    .on_offer = on_peer_offer,
    .on_candidate = on_peer_candidate,
    .on_state = on_peer_state,
    .on_error = on_peer_error,
    .on_viewer_gone = on_peer_viewer_gone,
};

/* ---- the REST API's sessions (api.h) ---- */

static struct session *session_open(struct robot *r, const char *sid, const char *client,
                                    enum session_origin origin, const enum cam_stream *streams,
                                    size_t nstreams, const char **code, char *err,
                                    size_t errlen);

static json_t *session_status(struct session *s)
{
    json_t *types = json_array(), *frames = json_array();
    bool streaming = false;
    for (size_t i = 0; i < peer_track_count(s->peer); i++) {
        uint64_t n = peer_track_frames(s->peer, i);
        json_array_append_new(types,
                              json_string(cam_stream_name(peer_track_stream(s->peer, i))));
        json_array_append_new(frames, json_integer((json_int_t)n));
        streaming |= n > 0;
    }
    return json_pack("{s:s, s:s, s:b, s:b, s:o, s:{s:s, s:s, s:s, s:f, s:o, s:b}}", "session_id",
                     s->id, "device_id", camera_serial(s->r->cam), "connected", s->connected,
                     "streaming", s->connected && streaming, "stream_types", types, "stats",
                     "state", peer_state_name(peer_state(s->peer)), "origin",
                     s->origin == ORIGIN_CLOUD ? "cloud" : "api", "client_id", s->client_id,
                     "age_seconds", (double)(g_get_monotonic_time() - s->opened_us) / 1e6,
                     "frames_sent", frames, "orphan", s->orphan);
}

static json_t *api_list(void *user)
{
    struct robot *r = user;
    json_t *arr = json_array();
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->sessions);
    while (g_hash_table_iter_next(&it, &key, &value))
        json_array_append_new(arr, session_status(value));
    return arr;
}

static json_t *api_get(void *user, const char *id)
{
    struct robot *r = user;
    struct session *s = g_hash_table_lookup(r->sessions, id);
    return s ? session_status(s) : NULL;
}

static int api_close(void *user, const char *id)
{
    struct robot *r = user;
    struct session *s = g_hash_table_lookup(r->sessions, id);
    if (!s)
        return -1;
    session_end(r, s, true, "closed through the REST API");
    return 0;
}

static size_t api_close_all(void *user)
{
    struct robot *r = user;
    size_t n = 0;
    GHashTableIter it;
    gpointer key, value;
    /* session_end removes from the table: take one at a time. */
    while (n < 100000) {
        g_hash_table_iter_init(&it, r->sessions);
        if (!g_hash_table_iter_next(&it, &key, &value))
            break;
        session_end(r, value, true, "closed through the REST API");
        n++;
    }
    return n;
}

static int api_open(void *user, const enum cam_stream *streams, size_t n, api_reply_fn reply,
                    void *ctx, char *err, size_t errlen)
{
    struct robot *r = user;
    char sid[IDS_TOKEN_LEN + 1];
    if (ids_token(sid) != 0) {
        snprintf(err, errlen, "no randomness for a session id");
        return 503;
    }
    const char *code = "internal";
    struct session *s = session_open(r, sid, "api", ORIGIN_API, streams, n, &code, err, errlen);
    if (!s)
        return strcmp(code, "session-limit") == 0 ? 503 : 500;
    s->offer_reply = reply;
    s->offer_ctx = ctx;
    return 0;
}

/* The REST session id names, for a request about its what ("answer",
 * "candidates"); NULL with *status and err set when there is none or the
 * cloud opened it (its signaling comes from there). */
static struct session *api_session(struct robot *r, const char *id, const char *what,
                                   int *status, char *err, size_t errlen)
{
    struct session *s = g_hash_table_lookup(r->sessions, id);
    if (!s) {
        snprintf(err, errlen, "no session '%.64s' on this robot", id);
        *status = 404;
        return NULL;
    }
    if (s->origin != ORIGIN_API) {
        snprintf(err, errlen, "session %s was opened through the cloud; its %s come%s from "
                 "there", s->id, what, strcmp(what, "answer") == 0 ? "s" : "");
        *status = 409;
        return NULL;
    }
    return s;
}

static int api_answer(void *user, const char *id, const char *sdp, char *err, size_t errlen)
{
    int status;
    struct session *s = api_session(user, id, "answer", &status, err, errlen);
    if (!s)
        return status;
    if (s->offer_reply) {
        snprintf(err, errlen, "session %s has no offer yet", s->id);
        return 409;
    }
    return peer_set_answer(s->peer, sdp, err, errlen) == 0 ? 200 : 422;
}

static int api_candidate(void *user, const char *id, const char *candidate, int mline,
                         const char *mid, char *err, size_t errlen)
{
    int status;
    struct session *s = api_session(user, id, "candidates", &status, err, errlen);
    if (!s)
        return status;
    int rc = peer_add_candidate(s->peer, candidate, mline, mid, err, errlen);
    if (rc == 1)
        log_info("session %s: remote candidate outside the ICE allow-list dropped: %.120s", s->id,
                 candidate);
    return rc < 0 ? 422 : 200;
}

static const struct api_sessions api_sessions_ops = {
    .list = api_list,
    .get = api_get,
    .close = api_close,
    .close_all = api_close_all,
    .open = api_open,
    .answer = api_answer,
    .candidate = api_candidate,
};

/* ---- robot-request: the REST API through the cloud ---- */

/* porthole-cloud closes a link whose message exceeds its --max-message
 * (64 KiB by default), which would fail every request pending on it; an
 * answer larger than this is replaced by an error. */
#define ROBOT_RESPONSE_MAX (60 * 1024)

struct cloud_request {
    struct robot *r;
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
    send_msg(q->r, msg);
    g_free(q);
}

static void handle_robot_request(struct robot *r, json_t *msg)
{
    const char *id = json_string_value(json_object_get(msg, "requestId"));
    const char *method = json_string_value(json_object_get(msg, "method"));
    const char *path = json_string_value(json_object_get(msg, "path"));
    const char *client = json_string_value(json_object_get(msg, "clientId"));
    if (!id || strlen(id) > 64) {
        log_warn("robot-request without a valid requestId: ignored");
        return;
    }
    struct cloud_request *q = g_new0(struct cloud_request, 1);
    q->r = r;
    snprintf(q->id, sizeof q->id, "%s", id);
    if (!r->cfg->cloud_api) {
        on_cloud_reply(q, 403, api_error_body("this robot does not serve its API through the "
                                              "cloud (porthole-robot --cloud-api off)"));
        return;
    }
    if (!method || !path) {
        on_cloud_reply(q, 400, api_error_body("robot-request needs 'method' and 'path' strings"));
        return;
    }
    log_debug("api: %s %s from %s through the cloud", method, path, client ? client : "?");
    api_handle_json(r->api, method, path, json_object_get(msg, "body"), on_cloud_reply, q);
}

/* ---- incoming messages ---- */

/* Reads streamTypes: an array of 1..PEER_MAX_TRACKS distinct known names.
 * Returns the count, or -1 with a reason in err. */
static int parse_streams(json_t *msg, enum cam_stream *out, char *err, size_t errlen)
{
    json_t *arr = json_object_get(msg, "streamTypes");
    if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > PEER_MAX_TRACKS) {
        snprintf(err, errlen, "'streamTypes' must be an array of 1 to %d stream types",
                 PEER_MAX_TRACKS);
        return -1;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *name = json_string_value(v);
        int st = name ? cam_stream_parse(name) : -1;
        if (st < 0) {
            snprintf(err, errlen, "unknown stream type '%.40s': this robot has color, depth, "
                     "infrared-1 and infrared-2", name ? name : "(not a string)");
            return -1;
        }
        for (size_t k = 0; k < i; k++) {
            if (out[k] == (enum cam_stream)st) {
                snprintf(err, errlen, "stream type '%s' is listed twice", name);
                return -1;
            }
        }
        out[i] = (enum cam_stream)st;
    }
    return (int)json_array_size(arr);
}

/* Opens a session and its peer; the offer follows through on_peer_offer.
 * Returns it, or NULL with *code (a session-error code) and err filled. */
static struct session *session_open(struct robot *r, const char *sid, const char *client,
                                    enum session_origin origin, const enum cam_stream *streams,
                                    size_t nstreams, const char **code, char *err,
                                    size_t errlen)
{
    if (g_hash_table_size(r->sessions) >= (guint)r->cfg->max_sessions) {
        *code = "session-limit";
        snprintf(err, errlen, "this robot serves at most %ld sessions at once",
                 r->cfg->max_sessions);
        return NULL;
    }
    struct peer_params pp = {
        .session_id = sid,
        .stun_server = r->cfg->stun_server,
        .turn_servers = r->cfg->turn_servers,
        .allow = &r->cfg->allow,
        .local_addrs = (const char(*)[46])r->local_addrs,
        .nlocal = r->nlocal,
        .max_sdp = (size_t)r->cfg->max_message,
        .context = r->ctx,
        .nstreams = nstreams,
    };
    memcpy(pp.streams, streams, nstreams * sizeof *streams);
    struct session *s = g_new0(struct session, 1);
    s->r = r;
    s->id = g_strdup(sid);
    s->client_id = g_strdup(client);
    s->origin = origin;
    s->opened_us = g_get_monotonic_time();
    if (origin == ORIGIN_API)
        s->candidates = g_ptr_array_new_with_free_func(g_free);
    g_hash_table_insert(r->sessions, s->id, s);
    s->peer = peer_new(r->media, &pp, &peer_cb, r, err, errlen);
    if (!s->peer) {
        *code = "internal";
        g_hash_table_remove(r->sessions, sid);
        return NULL;
    }
    /* Not g_timeout_add_seconds: that one may fire up to a second early. */
    s->timeout = g_timeout_add((guint)r->cfg->session_timeout_s * 1000, on_session_timeout, s);
    GString *names = g_string_new(NULL);
    for (size_t i = 0; i < nstreams; i++)
        g_string_append_printf(names, "%s%s", i ? "," : "", cam_stream_name(streams[i]));
    log_info("session %s: opened for %s %s (%s)", s->id,
             origin == ORIGIN_CLOUD ? "client" : "REST client", s->client_id, names->str);
    g_string_free(names, TRUE);
    return s;
}

static void handle_create_session(struct robot *r, json_t *msg)
{
    const char *sid = json_string_value(json_object_get(msg, "sessionId"));
    const char *client = json_string_value(json_object_get(msg, "clientId"));
    if (!sid || !ids_valid_name(sid, 64)) {
        log_warn("create-session without a valid sessionId: ignored");
        return;
    }
    if (g_hash_table_contains(r->sessions, sid)) {
        log_warn("session %s: create-session for an existing session: ignored", sid);
        return;
    }
    char err[256];
    enum cam_stream streams[PEER_MAX_TRACKS];
    const char *code = "internal";
    int n = parse_streams(msg, streams, err, sizeof err);
    if (n < 0) {
        send_session_error(r, sid, "unknown-stream-type", err);
        send_msg(r, json_pack("{s:s, s:s}", "type", "close-session", "sessionId", sid));
        return;
    }
    /* deviceId names the camera by serial; null or absent means this
     * robot's one camera. */
    json_t *device = json_object_get(msg, "deviceId");
    if (device && !json_is_null(device) &&
        (!json_is_string(device) || strcmp(json_string_value(device), camera_serial(r->cam)) != 0)) {
        snprintf(err, sizeof err, "no device '%.64s' on this robot; it has %s (%s)",
                 json_is_string(device) ? json_string_value(device) : "(not a string)",
                 camera_serial(r->cam), camera_name(r->cam));
        send_session_error(r, sid, "unknown-device", err);
        send_msg(r, json_pack("{s:s, s:s}", "type", "close-session", "sessionId", sid));
        return;
    }
    if (session_open(r, sid, client ? client : "", ORIGIN_CLOUD, streams, (size_t)n, &code,
                     err, sizeof err) == NULL) {
        send_session_error(r, sid, code, err);
        send_msg(r, json_pack("{s:s, s:s}", "type", "close-session", "sessionId", sid));
    }
}

static void handle_answer(struct robot *r, json_t *msg)
{
    const char *sid;
    struct session *s = find_session(r, msg, &sid);
    if (!s) {
        log_info("webrtc-answer for unknown session %s: ignored", sid ? sid : "(none)");
        return;
    }
    json_t *answer = json_object_get(msg, "answer");
    const char *type = json_string_value(json_object_get(answer, "type"));
    const char *sdp = json_string_value(json_object_get(answer, "sdp"));
    char err[256];
    if (!type || strcmp(type, "answer") != 0 || !sdp) {
        send_session_error(r, s->id, "invalid-answer",
                           "'answer' must be an object {type:\"answer\", sdp:string}");
        return;
    }
    if (peer_set_answer(s->peer, sdp, err, sizeof err) < 0)
        send_session_error(r, s->id, "invalid-answer", err);
}

static void handle_candidate(struct robot *r, json_t *msg)
{
    const char *sid;
    struct session *s = find_session(r, msg, &sid);
    if (!s) {
        log_info("ice-candidate for unknown session %s: ignored", sid ? sid : "(none)");
        return;
    }
    json_t *c = json_object_get(msg, "candidate");
    if (json_is_null(c))
        return; /* end of candidates */
    const char *line = json_string_value(json_object_get(c, "candidate"));
    json_t *idx = json_object_get(c, "sdpMLineIndex");
    const char *mid = json_string_value(json_object_get(c, "sdpMid"));
    char err[256];
    if (!line) {
        send_session_error(r, s->id, "invalid-candidate",
                           "'candidate' must be null or an object with a string 'candidate'");
        return;
    }
    int mline = json_is_integer(idx) && json_integer_value(idx) >= 0 &&
                        json_integer_value(idx) < 64 ? (int)json_integer_value(idx) : -1;
    int rc = peer_add_candidate(s->peer, line, mline, mid, err, sizeof err);
    if (rc < 0)
        send_session_error(r, s->id, "invalid-candidate", err);
    else if (rc == 1)
        log_info("session %s: remote candidate outside the ICE allow-list dropped: %.120s", s->id,
                 line);
}

static void handle_switch(struct robot *r, json_t *msg)
{
    const char *sid;
    struct session *s = find_session(r, msg, &sid);
    if (!s) {
        log_info("switch-stream-type for unknown session %s: ignored", sid ? sid : "(none)");
        return;
    }
    enum cam_stream streams[PEER_MAX_TRACKS];
    char err[256];
    int n = parse_streams(msg, streams, err, sizeof err);
    if (n >= 0 && peer_switch(s->peer, streams, (size_t)n, err, sizeof err) == 0) {
        log_info("session %s: switched to %s%s", s->id, cam_stream_name(streams[0]),
                 n > 1 ? ", ..." : "");
        send_msg(r, json_pack("{s:s, s:s, s:O}", "type", "stream-type-switched", "sessionId",
                              s->id, "streamTypes", json_object_get(msg, "streamTypes")));
        return;
    }
    log_warn("session %s: switch refused: %s", s->id, err);
    send_msg(r, json_pack("{s:s, s:s, s:s}", "type", "stream-type-switch-error", "sessionId",
                          s->id, "error", err));
}

static void on_message(void *user, json_t *msg)
{
    struct robot *r = user;
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (strcmp(type, "create-session") == 0) {
        handle_create_session(r, msg);
    } else if (strcmp(type, "webrtc-answer") == 0) {
        handle_answer(r, msg);
    } else if (strcmp(type, "ice-candidate") == 0) {
        handle_candidate(r, msg);
    } else if (strcmp(type, "switch-stream-type") == 0) {
        handle_switch(r, msg);
    } else if (strcmp(type, "session-closed") == 0 || strcmp(type, "close-session") == 0) {
        const char *sid;
        struct session *s = find_session(r, msg, &sid);
        const char *reason = json_string_value(json_object_get(msg, "reason"));
        if (s && reason && strcmp(reason, "server-shutdown") == 0) {
            /* The cloud is going away, not the viewer: the peer needs no
             * signaling to keep streaming. It ends when the viewer closes
             * its connection or stops answering. */
            s->orphan = true;
            log_info("session %s: the cloud shut down; the session keeps streaming", s->id);
        } else if (s) {
            session_end(r, s, false, reason ? reason : type);
        }
    } else if (strcmp(type, "robot-request") == 0) {
        handle_robot_request(r, msg);
    } else if (strcmp(type, "registered") == 0) {
        log_info("registered as %s", r->robot_id);
        signaling_registered(r->sig);
    } else if (strcmp(type, "error") == 0) {
        const char *code = json_string_value(json_object_get(msg, "code"));
        const char *text = json_string_value(json_object_get(msg, "message"));
        log_warn("cloud error %s: %s", code ? code : "?", text ? text : "");
        /* After a network blip the cloud may still hold our previous
         * connection (until its ping timeout): retry with backoff. */
        if (code && strcmp(code, "robot-id-in-use") == 0)
            signaling_reconnect(r->sig, "robot id held by another connection");
    } else {
        log_debug("message '%s' ignored", type);
    }
}

static void on_open(void *user)
{
    struct robot *r = user;
    send_msg(r, json_pack("{s:s, s:s, s:O}", "type", "robot-register", "robotId", r->robot_id,
                          "deviceInfo", r->device_info));
}

static void on_close(void *user)
{
    struct robot *r = user;
    /* The cloud forgets a robot's sessions when its link closes; ours keep
     * streaming peer to peer, but no longer exist for signaling. */
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->sessions);
    while (g_hash_table_iter_next(&it, &key, &value))
        ((struct session *)value)->orphan = true;
    if (g_hash_table_size(r->sessions))
        log_info("%u session(s) keep streaming while the cloud is unreachable",
                 g_hash_table_size(r->sessions));
}

static const struct signaling_callbacks sig_cb = {
    .on_open = on_open,
    .on_message = on_message,
    .on_close = on_close,
};

/* ---- telemetry ---- */

static void read_proc_status(long *threads, long *rss_kb)
{
    *threads = *rss_kb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Threads:", 8) == 0)
            *threads = strtol(line + 8, NULL, 10);
        else if (strncmp(line, "VmRSS:", 6) == 0)
            *rss_kb = strtol(line + 6, NULL, 10);
    }
    fclose(f);
}

static json_t *intrinsics_json(const struct cam_intrinsics *in)
{
    return json_pack("{s:i, s:i, s:f, s:f, s:f, s:f, s:s, s:[f,f,f,f,f]}", "width", in->width,
                     "height", in->height, "ppx", in->ppx, "ppy", in->ppy, "fx", in->fx, "fy",
                     in->fy, "model", in->model, "coeffs", in->coeffs[0], in->coeffs[1],
                     in->coeffs[2], in->coeffs[3], in->coeffs[4]);
}

static gboolean on_telemetry(gpointer data)
{
    struct robot *r = data;
    json_t *streams = json_object();
    for (int st = 0; st < CAM_NSTREAMS; st++) {
        struct media_stream_stats ms;
        media_stats(r->media, (enum cam_stream)st, &ms);
        if (!ms.running)
            continue;
        json_object_set_new(streams, cam_stream_name((enum cam_stream)st),
                            json_pack("{s:I, s:I, s:f, s:f, s:i}", "frames", (json_int_t)ms.frames,
                                      "keyframes", (json_int_t)ms.keyframes, "fps", ms.fps,
                                      "bitrateKbps", ms.bitrate_kbps, "viewers", (int)ms.viewers));
    }
    if (g_hash_table_size(r->sessions) == 0) {
        json_decref(streams);
        return G_SOURCE_CONTINUE;
    }
    unsigned elements = media_element_count(r->media);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->sessions);
    while (g_hash_table_iter_next(&it, &key, &value))
        elements += peer_element_count(((struct session *)value)->peer);
    long threads, rss_kb;
    read_proc_status(&threads, &rss_kb);
    json_t *base = json_pack(
        "{s:s, s:I, s:f, s:o, s:i, s:i, s:s, s:f, s:{s:o, s:o}, s:{s:i, s:i, s:i}}", "type",
        "telemetry", "time", (json_int_t)clock_wall_ms(), "uptimeSeconds",
        (double)(g_get_monotonic_time() - r->started_us) / 1e6, "streams", streams, "encoders",
        (int)media_encoder_count(r->media), "sessions", (int)g_hash_table_size(r->sessions),
        "codec", r->cfg->codec, "depthScale", camera_depth_scale(r->cam), "intrinsics", "color",
        intrinsics_json(camera_intrinsics(r->cam, CAM_COLOR)), "depth",
        intrinsics_json(camera_intrinsics(r->cam, CAM_DEPTH)), "process", "threads", (int)threads,
        "rssKb", (int)rss_kb, "elements", (int)elements);
    g_hash_table_iter_init(&it, r->sessions);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        struct session *s = value;
        json_t *tracks = json_array();
        for (size_t i = 0; i < peer_track_count(s->peer); i++)
            json_array_append_new(tracks,
                                  json_pack("{s:s, s:I}", "streamType",
                                            cam_stream_name(peer_track_stream(s->peer, i)),
                                            "framesSent",
                                            (json_int_t)peer_track_frames(s->peer, i)));
        json_object_set_new(base, "sessionId", json_string(s->id));
        json_object_set_new(base, "tracks", tracks);
        char *text = json_dumps(base, JSON_COMPACT);
        if (text)
            peer_send_telemetry(s->peer, text);
        free(text);
    }
    json_decref(base);
    return G_SOURCE_CONTINUE;
}

/* ---- lifetime ---- */

struct robot *robot_new(const struct robot_config *cfg, struct camera *cam, GMainContext *ctx,
                        char *err, size_t errlen)
{
    struct robot *r = g_new0(struct robot, 1);
    r->cfg = cfg;
    r->cam = cam;
    r->ctx = ctx;
    r->started_us = g_get_monotonic_time();
    if (cfg->robot_id)
        snprintf(r->robot_id, sizeof r->robot_id, "%s", cfg->robot_id);
    else
        snprintf(r->robot_id, sizeof r->robot_id, "robot-%s", camera_serial(cam));

    struct media_params mp = {.bitrate_kbps = (int)cfg->bitrate_kbps,
                              .track_queue_bytes = 2 * 1024 * 1024};
    if (media_codec_parse(cfg->codec, &mp.codec) < 0) {
        snprintf(err, errlen, "unknown codec '%s'", cfg->codec);
        g_free(r);
        return NULL;
    }
    r->media = media_new(cam, &mp, err, errlen);
    if (!r->media) {
        g_free(r);
        return NULL;
    }
    r->nlocal = netlist_local_addresses(&cfg->allow, r->local_addrs, MAX_LOCAL_ADDRS);
    if (cfg->allow.count && r->nlocal == 0)
        log_warn("no local address is on the ICE allow-list '%s': sessions cannot connect",
                 cfg->ice_allow);
    for (size_t i = 0; i < r->nlocal; i++)
        log_info("ICE gathers on %s", r->local_addrs[i]);

    r->device_info = camera_describe(cam, false);
    json_object_set_new(r->device_info, "codec", json_string(cfg->codec));
    json_object_set_new(r->device_info, "robotVersion", json_string(PORTHOLE_VERSION));
    r->sessions = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, session_free);
    r->api = api_new(cam, r->media, &api_sessions_ops, r);
    if (cfg->api_port > 0) {
        r->http = api_http_new(r->api, cfg->api_bind, (unsigned)cfg->api_port,
                               (size_t)cfg->api_max_body, err, errlen);
        if (!r->http) {
            api_free(r->api);
            g_hash_table_destroy(r->sessions);
            json_decref(r->device_info);
            media_free(r->media);
            g_free(r);
            return NULL;
        }
    }

    struct signaling_params sp = {
        .url = cfg->cloud_url,
        .backoff_initial_s = cfg->backoff_initial_s,
        .backoff_max_s = cfg->backoff_max_s,
        .ping_interval_s = (unsigned)cfg->ping_interval_s,
        .max_message = (size_t)cfg->max_message,
        .tls_insecure = cfg->tls_insecure,
    };
    r->sig = signaling_new(&sp, &sig_cb, r);
    r->telemetry_timer = g_timeout_add_seconds(1, on_telemetry, r);
    return r;
}

void robot_start(struct robot *r)
{
    log_info("robot %s: %s, serial %s, %dx%d at %d fps, %s", r->robot_id, camera_name(r->cam),
             camera_serial(r->cam), camera_mode(r->cam)->width, camera_mode(r->cam)->height,
             camera_mode(r->cam)->fps, r->cfg->codec);
    signaling_start(r->sig);
}

void robot_free(struct robot *r)
{
    if (!r)
        return;
    if (r->telemetry_timer)
        g_source_remove(r->telemetry_timer);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->sessions);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        struct session *s = value;
        if (!s->orphan && s->origin == ORIGIN_CLOUD)
            send_msg(r, json_pack("{s:s, s:s}", "type", "close-session", "sessionId", s->id));
    }
    /* Sessions first: a REST offer still waiting is answered (503) while
     * the HTTP server and the signaling link can still carry the answer. */
    g_hash_table_destroy(r->sessions);
    api_http_free(r->http);
    api_free(r->api);
    signaling_free(r->sig);
    media_free(r->media);
    json_decref(r->device_info);
    g_free(r);
}
