/* robot.c - porthole-robot's brain: signaling messages in, telemetry, lifecycle. */
#include "robot/robot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "robot/api.h"
#include "robot/api_http.h"
#include "robot/credential.h"
#include "robot/depth_config.h"
#include "robot/depth_hub.h"
#include "robot/iceconf.h"
#include "robot/media.h"
#include "robot/peer.h"
#include "robot/recorder.h"
#include "robot/registration.h"
#include "robot/robot_api.h"
#include "robot/session.h"
#include "robot/signaling.h"
#include "robot/sink_cloud.h"
#include "robot/stream_types.h"

#define MAX_LOCAL_ADDRS 16

struct robot {
    const struct robot_config *cfg;
    struct camera *cam;
    GMainContext *ctx;
    char robot_id[96];
    struct media *media;
    struct signaling *sig;
    struct credential *token;        /* ROBOT_TOKEN or --token-file */
    struct registration *reg;
    struct session_set *sessions;
    struct depth_hub *depth;         /* every session's depth channels */
    guint telemetry_timer;
    json_t *device_info;
    struct api *api;
    struct api_http *http;
    struct recorder *rec; /* --record, or NULL */
    struct media_tap *rec_tap; /* feeds it every captured frameset */
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

/* Refuses a create-session: the error, then the close. */
static void refuse_session(struct robot *r, const char *sid, const char *code, const char *why)
{
    sink_cloud_send_error(r->sig, sid, code, why);
    sink_cloud_send_close(r->sig, sid);
}

/* The session a cloud message names (its sessionId in *sid_out), or NULL:
 * the cloud speaks only for the sessions it opened. */
static struct session *find_session(struct robot *r, json_t *msg, const char **sid_out)
{
    const char *sid = json_string_value(json_object_get(msg, "sessionId"));
    *sid_out = sid;
    struct session *s = sid ? session_set_find(r->sessions, sid) : NULL;
    return s && sink_cloud_owns(s) ? s : NULL;
}

/* ---- incoming messages ---- */

/* Reads streamTypes: an array of 1..PEER_MAX_TRACKS distinct known names
 * of streams the camera has. Returns the count, or -1 with a reason in err
 * and the session-error code in *code ("unknown-stream-type", or
 * "stream-unavailable" for a stream this camera lacks, e.g. depth from a
 * webcam). */
static int parse_streams(struct robot *r, json_t *msg, enum cam_stream *out, const char **code,
                         char *err, size_t errlen)
{
    *code = "unknown-stream-type";
    int n = stream_types_parse(json_object_get(msg, "streamTypes"), STREAM_TYPES_MESSAGE, out,
                               PEER_MAX_TRACKS, err, errlen);
    if (n < 0)
        return -1;
    unsigned mask = 0;
    for (int i = 0; i < n; i++)
        mask |= CAM_MASK(out[i]);
    *code = "stream-unavailable";
    return camera_check_streams(r->cam, mask, err, errlen) != 0 ? -1 : n;
}

/* Takes the STUN/TURN servers the cloud sent with msg (registered,
 * create-session), if any, for the sessions opened from now on. The TURN
 * credentials are fresh in every create-session, so they never expire
 * under a long-lived robot; they are never logged. */
static void take_ice_servers(struct robot *r, json_t *msg)
{
    json_t *servers = json_object_get(msg, "iceServers");
    if (!servers)
        return;
    struct iceconf ic = {0};
    char err[160];
    if (iceconf_from_json(&ic, servers, err, sizeof err) < 0) {
        log_warn("cloud sent unusable iceServers (%s): ignored", err);
        return;
    }
    char *turn = iceconf_turn_list(&ic);
    session_set_cloud_ice(r->sessions, ic.stun, turn);
    log_debug("ICE servers from the cloud: %s STUN, %zu TURN%s", ic.stun ? "a" : "no", ic.nturn,
              ic.skipped ? " (some URLs unusable here were skipped)" : "");
    free(turn);
    iceconf_clear(&ic);
}

/* Reads create-session's "depth": absent, null or false asks for none (0);
 * true for the defaults, or an object of settings, clamped (1); -1 with a
 * reason in err for anything else. */
static int parse_depth(struct robot *r, json_t *msg, struct depth_request *out, char *err,
                       size_t errlen)
{
    json_t *d = json_object_get(msg, "depth");
    if (!d || json_is_null(d) || json_is_false(d))
        return 0;
    int fps = camera_mode(r->cam)->fps;
    depth_request_default(out, fps);
    if (json_is_true(d))
        return 1;
    return depth_request_apply(d, fps, out, err, errlen) < 0 ? -1 : 1;
}

static void handle_create_session(struct robot *r, json_t *msg)
{
    const char *sid = json_string_value(json_object_get(msg, "sessionId"));
    const char *client = json_string_value(json_object_get(msg, "clientId"));
    if (!sid || !ids_valid_name(sid, 64)) {
        log_warn("create-session without a valid sessionId: ignored");
        return;
    }
    if (session_set_find(r->sessions, sid)) {
        log_warn("session %s: create-session for an existing session: ignored", sid);
        return;
    }
    char err[256];
    enum cam_stream streams[PEER_MAX_TRACKS];
    const char *code = "internal";
    int n = parse_streams(r, msg, streams, &code, err, sizeof err);
    if (n < 0) {
        refuse_session(r, sid, code, err);
        return;
    }
    code = "internal";
    /* deviceId names the camera by serial; null or absent means this
     * robot's one camera. */
    json_t *device = json_object_get(msg, "deviceId");
    if (device && !json_is_null(device) &&
        (!json_is_string(device) || strcmp(json_string_value(device), camera_serial(r->cam)) != 0)) {
        snprintf(err, sizeof err, "no device '%.64s' on this robot; it has %s (%s)",
                 json_is_string(device) ? json_string_value(device) : "(not a string)",
                 camera_serial(r->cam), camera_name(r->cam));
        refuse_session(r, sid, "unknown-device", err);
        return;
    }
    /* With auth, the cloud names the caller; its sub is the viewer the
     * session counts against (--max-sessions-per-viewer). */
    struct api_caller caller;
    if (robot_api_caller(msg, &caller, err, sizeof err) < 0) {
        refuse_session(r, sid, "internal", err);
        return;
    }
    struct session_owner owner = {.client_id = client ? client : "", .sub = caller.sub};
    struct depth_request depth;
    int wants_depth = parse_depth(r, msg, &depth, err, sizeof err);
    if (wants_depth < 0) {
        refuse_session(r, sid, "invalid-depth", err);
        return;
    }
    const char *offer = NULL;
    if (sink_cloud_read_offer(msg, session_set_params(r->sessions), (size_t)n, &offer, err,
                              sizeof err) < 0) {
        refuse_session(r, sid, "invalid-offer", err);
        return;
    }
    take_ice_servers(r, msg);
    if (session_open_depth(r->sessions, sid, &owner, streams, (size_t)n,
                           wants_depth ? &depth : NULL, sink_cloud_new(r->sig, offer), &code,
                           err, sizeof err) == NULL)
        refuse_session(r, sid, code, err);
}

/* The viewer's new offer in a session that answered its first one: an ICE
 * restart (PROTOCOL.md, "What porthole-robot sends and expects"). */
static void handle_offer(struct robot *r, json_t *msg)
{
    const char *sid;
    struct session *s = find_session(r, msg, &sid);
    if (!s) {
        log_info("webrtc-offer for unknown session %s: ignored", sid ? sid : "(none)");
        return;
    }
    const char *sdp = sink_cloud_description(msg, "offer");
    char err[256];
    if (!sdp) {
        sink_cloud_send_error(r->sig, session_id(s), "invalid-offer",
                              "'offer' must be an object {type:\"offer\", sdp:string}");
        return;
    }
    if (session_restart_ice_offer(s, sdp, err, sizeof err) < 0)
        sink_cloud_send_error(r->sig, session_id(s), "invalid-offer", err);
}

static void handle_answer(struct robot *r, json_t *msg)
{
    const char *sid;
    struct session *s = find_session(r, msg, &sid);
    if (!s) {
        log_info("webrtc-answer for unknown session %s: ignored", sid ? sid : "(none)");
        return;
    }
    const char *sdp = sink_cloud_description(msg, "answer");
    char err[256];
    if (!sdp) {
        sink_cloud_send_error(r->sig, session_id(s), "invalid-answer",
                           "'answer' must be an object {type:\"answer\", sdp:string}");
        return;
    }
    if (peer_set_answer(session_peer(s), sdp, err, sizeof err) < 0)
        sink_cloud_send_error(r->sig, session_id(s), "invalid-answer", err);
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
        sink_cloud_send_error(r->sig, session_id(s), "invalid-candidate",
                           "'candidate' must be null or an object with a string 'candidate'");
        return;
    }
    int mline = json_is_integer(idx) && json_integer_value(idx) >= 0 &&
                        json_integer_value(idx) < 64 ? (int)json_integer_value(idx) : -1;
    /* A refused one (its address, the cap) is counted and logged by the
     * peer's gate; the viewer is not told. */
    if (peer_add_candidate(session_peer(s), line, mline, mid, err, sizeof err) < 0)
        sink_cloud_send_error(r->sig, session_id(s), "invalid-candidate", err);
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
    const char *code;
    int n = parse_streams(r, msg, streams, &code, err, sizeof err);
    if (n >= 0 && peer_switch(session_peer(s), streams, (size_t)n, err, sizeof err) == 0) {
        log_info("session %s: switched to %s%s", session_id(s), cam_stream_name(streams[0]),
                 n > 1 ? ", ..." : "");
        send_msg(r, json_pack("{s:s, s:s, s:O}", "type", "stream-type-switched", "sessionId",
                              session_id(s), "streamTypes", json_object_get(msg, "streamTypes")));
        return;
    }
    log_warn("session %s: switch refused: %s", session_id(s), err);
    send_msg(r, json_pack("{s:s, s:s, s:s}", "type", "stream-type-switch-error", "sessionId",
                          session_id(s), "error", err));
}

static void on_message(void *user, json_t *msg)
{
    struct robot *r = user;
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (strcmp(type, "create-session") == 0) {
        handle_create_session(r, msg);
    } else if (strcmp(type, "webrtc-answer") == 0) {
        handle_answer(r, msg);
    } else if (strcmp(type, "webrtc-offer") == 0) {
        handle_offer(r, msg);
    } else if (strcmp(type, "ice-candidate") == 0) {
        handle_candidate(r, msg);
    } else if (strcmp(type, "switch-stream-type") == 0) {
        handle_switch(r, msg);
    } else if (strcmp(type, "ice-restart-request") == 0) {
        const char *sid;
        struct session *s = find_session(r, msg, &sid);
        const char *why = json_string_value(json_object_get(msg, "reason"));
        if (s)
            session_restart_ice(s, why && strcmp(why, "video-stalled") == 0);
        else
            log_info("ice-restart-request for unknown session %s: ignored", sid ? sid : "(none)");
    } else if (strcmp(type, "session-closed") == 0 || strcmp(type, "close-session") == 0) {
        const char *sid;
        struct session *s = find_session(r, msg, &sid);
        const char *reason = json_string_value(json_object_get(msg, "reason"));
        if (s && reason && strcmp(reason, "server-shutdown") == 0) {
            /* The cloud is going away, not the viewer: the peer needs no
             * signaling to keep streaming. It ends when the viewer closes
             * its connection or stops answering. */
            session_set_orphan(s);
            log_info("session %s: the cloud shut down; the session keeps streaming",
                     session_id(s));
        } else if (s) {
            session_end(s, false, reason ? reason : type);
        }
    } else if (strcmp(type, "robot-request") == 0) {
        robot_api_serve(r->api, r->sig, r->cfg->cloud_api, msg);
    } else if (strcmp(type, "registered") == 0) {
        take_ice_servers(r, msg);
        registration_handle(r->reg, msg);
    } else if (registration_handle(r->reg, msg)) {
        /* the cloud's word on the registration or the token */
    } else if (strcmp(type, "error") == 0) {
        const char *code = json_string_value(json_object_get(msg, "code"));
        const char *text = json_string_value(json_object_get(msg, "message"));
        log_warn("cloud error %s: %s", code ? code : "?", text ? text : "");
    } else {
        log_debug("message '%s' ignored", type);
    }
}

static void on_open(void *user)
{
    struct robot *r = user;
    registration_on_open(r->reg);
}

static void orphan_session(struct session *s, void *user)
{
    (void)user;
    session_set_orphan(s);
}

static void on_close(void *user)
{
    struct robot *r = user;
    registration_on_close(r->reg);
    /* The cloud forgets a robot's sessions when its link closes; ours keep
     * streaming peer to peer, but no longer exist for signaling. */
    session_set_foreach(r->sessions, orphan_session, NULL);
    if (session_set_count(r->sessions))
        log_info("%zu session(s) keep streaming while the cloud is unreachable",
                 session_set_count(r->sessions));
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

/* The encoders' figures, per running stream. */
static json_t *streams_json(struct robot *r)
{
    json_t *streams = json_object();
    for (int st = 0; st < CAM_NSTREAMS; st++) {
        struct media_stream_stats ms;
        media_stats(r->media, (enum cam_stream)st, &ms);
        if (!ms.running)
            continue;
        json_object_set_new(streams, cam_stream_name((enum cam_stream)st),
                            json_pack("{s:I, s:I, s:f, s:f, s:i, s:i, s:i, s:i}", "frames",
                                      (json_int_t)ms.frames, "keyframes", (json_int_t)ms.keyframes,
                                      "fps", ms.fps, "bitrateKbps", ms.bitrate_kbps,
                                      "targetKbps", ms.target_kbps, "layers", ms.layers,
                                      "spatialLayers", ms.spatial_layers,
                                      "viewers", (int)ms.viewers));
    }
    return streams;
}

static void count_elements(struct session *s, void *elements)
{
    *(unsigned *)elements += peer_element_count(session_peer(s));
}

/* What every session's telemetry message shares (streams is stolen). */
/* --record's progress: {dir, state, framesets, dropped, bytes, seconds}. */
static json_t *recording_json(struct recorder *rec)
{
    struct recorder_stats st;
    recorder_stats(rec, &st);
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:f}", "dir", recorder_dir(rec), "state",
                     recorder_state_name(st.state), "framesets", (json_int_t)st.framesets,
                     "dropped", (json_int_t)st.dropped, "bytes", (json_int_t)st.bytes,
                     "seconds", st.seconds);
}

static json_t *telemetry_base(struct robot *r, json_t *streams)
{
    unsigned elements = media_element_count(r->media);
    session_set_foreach(r->sessions, count_elements, &elements);
    long threads, rss_kb;
    read_proc_status(&threads, &rss_kb);
    char reason[160];
    enum cam_state cs = camera_state(r->cam, reason, sizeof reason);
    json_t *camera = json_pack("{s:s}", "state", cam_state_name(cs));
    if (reason[0])
        json_object_set_new(camera, "reason", json_string(reason));
    json_t *base = json_pack(
        "{s:s, s:I, s:f, s:o, s:i, s:i, s:s, s:f, s:{s:o, s:o}, s:{s:i, s:i, s:i}}", "type",
        "telemetry", "time", (json_int_t)clock_wall_ms(), "uptimeSeconds",
        (double)(g_get_monotonic_time() - r->started_us) / 1e6, "streams", streams, "encoders",
        (int)media_encoder_count(r->media), "sessions", (int)session_set_count(r->sessions),
        "codec", r->cfg->codec, "depthScale", camera_depth_scale(r->cam), "intrinsics", "color",
        intrinsics_json(camera_intrinsics(r->cam, CAM_COLOR)), "depth",
        intrinsics_json(camera_intrinsics(r->cam, CAM_DEPTH)), "process", "threads", (int)threads,
        "rssKb", (int)rss_kb, "elements", (int)elements);
    json_object_set_new(base, "camera", camera);
    if (r->rec)
        json_object_set_new(base, "recording", recording_json(r->rec));
    return base;
}

/* Sends base, completed with s's own id and tracks, on s's data channel. */
static void send_telemetry(struct session *s, void *base)
{
    struct peer *p = session_peer(s);
    json_t *tracks = json_array();
    for (size_t i = 0; i < peer_track_count(p); i++)
        json_array_append_new(tracks, json_pack("{s:s, s:I, s:I, s:i}", "streamType",
                                                cam_stream_name(peer_track_stream(p, i)),
                                                "framesSent", (json_int_t)peer_track_frames(p, i),
                                                "framesSkipped",
                                                (json_int_t)peer_track_skipped(p, i),
                                                "layer", peer_track_layer(p, i)));
    json_object_set_new(base, "sessionId", json_string(session_id(s)));
    json_object_set_new(base, "tracks", tracks);
    struct peer_bandwidth bw;
    peer_bandwidth(p, &bw);
    json_object_set_new(base, "bandwidth",
                        json_pack("{s:f, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
                                  "estimateKbps", bw.estimate_kbps, "layer", bw.layer,
                                  "reports", (int)bw.reports, "ups", (int)bw.ups, "downs",
                                  (int)bw.downs, "rtxSent", (int)bw.rtx_sent, "rtxDropped",
                                  (int)bw.rtx_dropped, "probes", (int)bw.probes,
                                  "probesPassed", (int)bw.probe_successes));
    struct depth_link_stats ds;
    if (peer_depth(p)) {
        depth_link_stats(peer_depth(p), &ds);
        json_object_set_new(base, "depth", json_pack("{s:I, s:I, s:I}", "framesSent",
                                                     (json_int_t)ds.frames, "bytesSent",
                                                     (json_int_t)ds.bytes, "skipped",
                                                     (json_int_t)ds.skipped));
    } else {
        json_object_del(base, "depth");
    }
    char *text = json_dumps(base, JSON_COMPACT);
    if (text)
        peer_send_telemetry(p, text);
    free(text);
}

static gboolean on_telemetry(gpointer data)
{
    struct robot *r = data;
    /* Read every second even without sessions: the windows roll over. */
    json_t *streams = streams_json(r);
    if (session_set_count(r->sessions) == 0) {
        json_decref(streams);
        return G_SOURCE_CONTINUE;
    }
    json_t *base = telemetry_base(r, streams);
    session_set_foreach(r->sessions, send_telemetry, base);
    json_decref(base);
    return G_SOURCE_CONTINUE;
}

/* ---- lifetime ---- */

/* The session table, with every session's limits and peer settings. */
static struct session_set *new_session_set(struct robot *r)
{
    const struct robot_config *cfg = r->cfg;
    struct session_set_params sp = {
        .media = r->media,
        .cam = r->cam,
        .max_sessions = (size_t)cfg->max_sessions,
        .max_per_viewer = (size_t)cfg->max_sessions_per_viewer,
        .timeout_s = cfg->session_timeout_s,
        .peer = {
            .stun_server = cfg->stun_server,
            .turn_servers = cfg->turn_servers,
            .allow = &cfg->allow,
            .max_remote_candidates = (size_t)cfg->max_remote_candidates,
            .local_addrs = (const char(*)[46])r->local_addrs,
            .nlocal = r->nlocal,
            .max_sdp = (size_t)cfg->max_message,
            .context = r->ctx,
            .depth_hub = r->depth,
        },
    };
    return session_set_new(&sp);
}

/* The REST API on its own port, when it has one: its token read now.
 * Returns 0, or -1 with err. */
static int start_http(struct robot *r, char *err, size_t errlen)
{
    const struct robot_config *cfg = r->cfg;
    if (cfg->api_port <= 0)
        return 0;
    struct credential *c = credential_new(cfg->api_token, cfg->api_token_file,
                                          "--api-token-file");
    char why[256];
    const char *token = credential_get(c, why, sizeof why);
    if (!token && why[0]) {
        snprintf(err, errlen, "%s", why);
        credential_free(c);
        return -1;
    }
    if (token && strlen(token) < 16) {
        snprintf(err, errlen, "--api-token-file: %s holds a token of %zu characters; at least "
                 "16 are required", cfg->api_token_file, strlen(token));
        credential_free(c);
        return -1;
    }
    struct api_http_params hp = {
        .bind = cfg->api_bind,
        .port = (unsigned)cfg->api_port,
        .max_body = (size_t)cfg->api_max_body,
        .guard = {.loopback = cfg->api_loopback, .origins = cfg->api_allowed_origins,
                  .token = token},
    };
    r->http = api_http_new(r->api, &hp, err, errlen);
    credential_free(c);
    return r->http ? 0 : -1;
}

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
                              .min_bitrate_kbps = (int)MIN(cfg->min_bitrate_kbps,
                                                           cfg->bitrate_kbps),
                              .temporal_layers = (int)cfg->temporal_layers,
                              .spatial_layer = cfg->spatial_layer,
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
    if (cfg->record) {
        struct recorder_limits lim = {.max_seconds = cfg->record_max_seconds,
                                      .max_bytes = (int64_t)cfg->record_max_mb << 20};
        r->rec = recorder_new(cfg->record, cam, &lim, err, errlen);
        if (!r->rec) {
            media_free(r->media);
            g_free(r);
            return NULL;
        }
        /* A tap of no streams of its own: it records what is captured. */
        r->rec_tap = media_tap_add(r->media, 0, recorder_push, r->rec);
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
    /* A camera without depth (a webcam, an RTSP camera) has no metric
     * depth to send: every depth request is answered with why. */
    char no_depth[160] = "";
    if (cfg->no_depth_channel)
        snprintf(no_depth, sizeof no_depth,
                 "metric depth is turned off on this robot (--no-depth-channel)");
    else if (!(camera_streams(cam) & CAM_MASK(CAM_DEPTH)))
        snprintf(no_depth, sizeof no_depth,
                 "this robot's camera (%s) has no depth stream", camera_name(cam));
    r->depth = depth_hub_new(r->media, cam, r->ctx, no_depth[0] ? no_depth : NULL);
    r->sessions = new_session_set(r);
    r->api = api_new(cam, r->media, &robot_api_sessions, r->sessions);
    if (start_http(r, err, errlen) < 0) {
        api_free(r->api);
        session_set_free(r->sessions);
        depth_hub_free(r->depth);
        json_decref(r->device_info);
        media_tap_remove(r->rec_tap);
        recorder_free(r->rec);
        media_free(r->media);
        g_free(r);
        return NULL;
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
    r->token = credential_new(cfg->token, cfg->token_file, "--token-file");
    r->reg = registration_new(r->sig, r->robot_id, r->device_info, r->token);
    r->telemetry_timer = g_timeout_add_seconds(1, on_telemetry, r);
    return r;
}

void robot_start(struct robot *r)
{
    log_info("robot %s: %s, serial %s, %dx%d at %d fps, %s", r->robot_id, camera_name(r->cam),
             camera_serial(r->cam), camera_mode(r->cam)->width, camera_mode(r->cam)->height,
             camera_mode(r->cam)->fps, r->cfg->codec);
    if (credential_configured(r->token))
        log_info("registers with a token from %s", r->cfg->token_file ? r->cfg->token_file
                                                                      : "ROBOT_TOKEN");
    signaling_start(r->sig);
}

void robot_free(struct robot *r)
{
    if (!r)
        return;
    if (r->telemetry_timer)
        g_source_remove(r->telemetry_timer);
    /* Sessions first: the cloud hears of their close, and a REST offer still
     * waiting is answered (503), while the signaling link and the HTTP
     * server can still carry it. */
    session_set_free(r->sessions);
    depth_hub_free(r->depth);
    api_http_free(r->http);
    api_free(r->api);
    registration_free(r->reg);
    signaling_free(r->sig);
    credential_free(r->token);
    /* The recorder leaves before the camera stops: it writes what it has
     * queued and completes its sidecar. */
    media_tap_remove(r->rec_tap);
    recorder_free(r->rec);
    media_free(r->media);
    json_decref(r->device_info);
    g_free(r);
}
