/* api.h - the robot's REST resources (docs/API.md): devices, sensors,
 * options, streams, point cloud and WebRTC sessions, as JSON in and out.
 *
 * This module is the API's meaning, not its transport: api_http.c serves it
 * over HTTP on --api-port, and robot.c serves the very same requests when
 * they arrive from porthole-cloud as robot-request messages. Each request
 * is answered exactly once through a reply callback, at once for most
 * resources and later for POST /api/webrtc/offer (the offer waits for ICE
 * gathering so that it carries the robot's candidates).
 *
 * Every error is a status (400, 404, 405, 409, 413, 422 or 503) and a body
 * {"detail": "..."} saying specifically what is wrong: the valid range, the
 * valid names, or where the JSON is malformed. A 405's body also has
 * "allow": the methods the resource takes, as an HTTP Allow header lists
 * them ("GET, PUT").
 *
 * Sessions belong to robot.c; the API reaches them through struct
 * api_sessions, so that sessions opened here and those opened through the
 * cloud are one kind of object. Main thread only. */
#ifndef PORTHOLE_ROBOT_API_H
#define PORTHOLE_ROBOT_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "robot/camera.h"
#include "robot/media.h"
#include "robot/peer.h"

/* Answers one request: status and a JSON body (stolen; never NULL). */
typedef void (*api_reply_fn)(void *ctx, int status, json_t *body);

/* Who asks, for a call porthole-cloud relayed (robot-request): the cloud's
 * account of its caller. NULL for the robot's own HTTP port (guarded by
 * httpguard.h instead). The strings are borrowed for the call. */
struct api_caller {
    const char *client_id;  /* the asker's clientId at the cloud ("" when not given) */
    const char *sub;        /* its token's subject; NULL when the cloud runs without auth */
    bool admin;             /* its token's scope is admin */
};

/* What robot.c does for the API's /api/webrtc resources, on behalf of
 * caller (NULL: the robot's own port). A session the caller may not touch
 * (robot_api.h says which) is, to it, a session that does not exist.
 * Errors come back as an HTTP status and a sentence in err. */
struct api_sessions {
    /* A new array of WebRTCStatus objects, one per session caller sees. */
    json_t *(*list)(void *user, const struct api_caller *caller);
    /* A new WebRTCStatus object, or NULL when caller sees no session of that id. */
    json_t *(*get)(void *user, const struct api_caller *caller, const char *id);
    /* Closes one session; returns 0, or -1 when caller sees none of that id. */
    int (*close)(void *user, const struct api_caller *caller, const char *id);
    /* Closes every session caller sees; returns how many. */
    size_t (*close_all)(void *user, const struct api_caller *caller);
    /* Opens a session for caller on streams[0..n-1]. Returns 0 and later
     * calls reply(ctx, 200, {session_id, sdp, type:"offer"}) (or an error
     * status), or returns an HTTP status with err filled and never calls
     * reply. */
    int (*open)(void *user, const struct api_caller *caller, const enum cam_stream *streams,
                size_t n, api_reply_fn reply, void *ctx, char *err, size_t errlen);
    /* Applies an answer: returns 200, or a status with err filled. */
    int (*answer)(void *user, const struct api_caller *caller, const char *id, const char *sdp,
                  char *err, size_t errlen);
    /* Adds a remote candidate ("" ends them): returns 200, or a status with
     * err filled. */
    int (*candidate)(void *user, const struct api_caller *caller, const char *id,
                     const char *candidate, int mline, const char *mid, char *err,
                     size_t errlen);
    /* WHEP (sink_whep.h has the statuses): opens a session answering the
     * viewer's offer, and returns 0 and later calls reply(ctx, 201,
     * {session_id, sdp, type:"answer", etag}), or returns a status with err
     * filled; adds the candidates of an SDP fragment (204), or restarts ICE
     * (200, *answer {sdpfrag, etag}, a new reference); ends a WHEP session
     * (200). */
    int (*whep_open)(void *user, const struct api_caller *caller, const enum cam_stream *streams,
                     size_t n, const char *offer, api_reply_fn reply, void *ctx, char *err,
                     size_t errlen);
    int (*whep_patch)(void *user, const struct api_caller *caller, const char *id,
                      const char *if_match, const char *frag, size_t len, json_t **answer,
                      char *err, size_t errlen);
    int (*whep_delete)(void *user, const struct api_caller *caller, const char *id, char *err,
                       size_t errlen);
};

struct api;

/* cam and media are borrowed and must outlive the API; sessions is copied,
 * user is passed to it. */
struct api *api_new(struct camera *cam, struct media *media, const struct api_sessions *sessions,
                    void *user);

/* Stops what the API started (held streams, point cloud) and frees it. */
void api_free(struct api *api);

/* Handles one request whose body is raw bytes (HTTP): body_len 0 means no
 * body; otherwise it must be JSON, and malformed JSON gets 400 with the
 * line and column. path may carry a query string, which only POST
 * /api/whep reads (?streams=). */
void api_handle_text(struct api *api, const char *method, const char *path, const char *body,
                     size_t body_len, api_reply_fn reply, void *ctx);

/* The same with a parsed body (borrowed; NULL or JSON null: no body), as
 * robot-request carries it, on behalf of caller (borrowed for the call;
 * NULL: the robot's own port). */
void api_handle_json(struct api *api, const struct api_caller *caller, const char *method,
                     const char *path, json_t *body, api_reply_fn reply, void *ctx);

/* A new {"detail": text} object: the body of every error. */
json_t *api_error_body(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
