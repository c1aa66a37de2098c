/* api_webrtc.c - the REST API's WebRTC sessions: the offer, the answer,
 * remote candidates, and listing and closing sessions, all through the
 * struct api_sessions that robot.c implements. */
#include "robot/api_internal.h"

#include <string.h>

#include "robot/errtext.h"
#include "robot/stream_types.h"

/* POST /api/webrtc/offer {"device_id"?, "stream_types"?}: absent or null
 * fields mean this robot's camera and its color stream. */
int api_webrtc_offer(struct api_request *rq, json_t **out)
{
    struct api *api = rq->api;
    json_t *body = rq->body;
    char err[256];
    if (!json_is_object(body)) {
        *out = api_error_body("the body must be {\"device_id\": string, \"stream_types\": "
                              "[stream types]}; got %s", body ? errtext_kind(body) : "no body");
        return 422;
    }
    json_t *dev = json_object_get(body, "device_id");
    if (dev && !json_is_null(dev)) {
        if (!json_is_string(dev)) {
            *out = api_error_body("'device_id' must be a string; got %s", errtext_kind(dev));
            return 422;
        }
        if (!api_device_is(api, json_string_value(dev))) {
            *out = api_device_unknown(api, json_string_value(dev));
            return 404;
        }
    }
    enum cam_stream streams[PEER_MAX_TRACKS] = {CAM_COLOR};
    int n = 1;
    json_t *types = json_object_get(body, "stream_types");
    if (types && !json_is_null(types)) {
        n = stream_types_parse(types, STREAM_TYPES_REST, streams, PEER_MAX_TRACKS, err,
                               sizeof err);
        if (n < 0) {
            *out = api_error_body("%s", err);
            return 422;
        }
    }
    unsigned mask = 0;
    for (int i = 0; i < n; i++)
        mask |= CAM_MASK(streams[i]);
    if (camera_check_streams(api->cam, mask, err, sizeof err) != 0) {
        *out = api_error_body("%s", err);
        return 422;
    }
    int status = api->ops.open(api->user, rq->caller, streams, (size_t)n, rq->reply, rq->ctx,
                               err, sizeof err);
    if (status != 0) {
        *out = api_error_body("%s", err);
        return status;
    }
    return 0; /* answered later */
}

/* Reads the session_id field; on failure sets *out and returns NULL. */
static const char *body_session(json_t *body, json_t **out)
{
    if (!json_is_object(body)) {
        *out = api_error_body("the body must be a JSON object with 'session_id'; got %s",
                              body ? errtext_kind(body) : "no body");
        return NULL;
    }
    const char *sid = json_string_value(json_object_get(body, "session_id"));
    if (!sid) {
        *out = api_error_body("'session_id' (a string) is required");
        return NULL;
    }
    return sid;
}

int api_webrtc_answer(struct api_request *rq, json_t **out)
{
    struct api *api = rq->api;
    json_t *body = rq->body;
    const char *sid = body_session(body, out);
    if (!sid)
        return 422;
    const char *type = json_string_value(json_object_get(body, "type"));
    const char *sdp = json_string_value(json_object_get(body, "sdp"));
    if (!type || strcmp(type, "answer") != 0 || !sdp) {
        *out = api_error_body("the body must be {\"session_id\", \"sdp\": string, \"type\": "
                              "\"answer\"}");
        return 422;
    }
    char err[256];
    int status = api->ops.answer(api->user, rq->caller, sid, sdp, err, sizeof err);
    *out = status == 200 ? json_pack("{s:s, s:s}", "session_id", sid, "status", "answer applied")
                         : api_error_body("%s", err);
    return status;
}

int api_webrtc_candidate(struct api_request *rq, json_t **out)
{
    struct api *api = rq->api;
    json_t *body = rq->body;
    const char *sid = body_session(body, out);
    if (!sid)
        return 422;
    json_t *c = json_object_get(body, "candidate");
    json_t *mid = json_object_get(body, "sdpMid");
    json_t *idx = json_object_get(body, "sdpMLineIndex");
    /* A browser's RTCIceCandidate.toJSON() may come whole. */
    if (json_is_object(c)) {
        mid = json_object_get(c, "sdpMid");
        idx = json_object_get(c, "sdpMLineIndex");
        c = json_object_get(c, "candidate");
    }
    if (!json_is_string(c) && !json_is_null(c)) {
        *out = api_error_body("'candidate' must be a candidate line (\"candidate:...\"), \"\" or "
                              "null for the end of candidates");
        return 422;
    }
    if ((mid && !json_is_null(mid) && !json_is_string(mid)) ||
        (idx && !json_is_null(idx) &&
         (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
          json_integer_value(idx) > 63))) {
        *out = api_error_body("'sdpMid' must be a string and 'sdpMLineIndex' an integer 0..63");
        return 422;
    }
    char err[256];
    int status = api->ops.candidate(api->user, rq->caller, sid,
                                    json_is_string(c) ? json_string_value(c) : "",
                                    json_is_integer(idx) ? (int)json_integer_value(idx) : -1,
                                    json_string_value(mid), err, sizeof err);
    *out = status == 200 ? json_pack("{s:s, s:s}", "session_id", sid, "status",
                                     "candidate added")
                         : api_error_body("%s", err);
    return status;
}

int api_session_list(struct api_request *rq, json_t **out)
{
    *out = rq->api->ops.list(rq->api->user, rq->caller);
    return 200;
}

int api_session_close_all(struct api_request *rq, json_t **out)
{
    size_t n = rq->api->ops.close_all(rq->api->user, rq->caller);
    *out = json_pack("{s:I}", "closed", (json_int_t)n);
    return 200;
}

/* The status of session {id}, or NULL with the 404 in *out. */
static json_t *session_status(struct api_request *rq, json_t **out)
{
    json_t *status = rq->api->ops.get(rq->api->user, rq->caller, rq->arg[0]);
    if (!status) {
        char q[80];
        *out = api_error_body("no session '%s' on this robot",
                              errtext_quote(rq->arg[0], q, sizeof q));
    }
    return status;
}

int api_session_get(struct api_request *rq, json_t **out)
{
    json_t *status = session_status(rq, out);
    if (!status)
        return 404;
    *out = status;
    return 200;
}

int api_session_close(struct api_request *rq, json_t **out)
{
    json_t *status = session_status(rq, out);
    if (!status)
        return 404;
    json_decref(status);
    rq->api->ops.close(rq->api->user, rq->caller, rq->arg[0]);
    *out = json_pack("{s:s, s:s}", "session_id", rq->arg[0], "status", "closed");
    return 200;
}
