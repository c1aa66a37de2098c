/* api_whep.c - the REST API's WHEP resource in its JSON form: POST
 * /api/whep?streams=... {"sdp"}, POST /api/whep/{session} {"sdpfrag",
 * "if_match"?} (WHEP's PATCH: robot-request carries GET, POST, PUT and
 * DELETE only; 204, or 200 {"sdpfrag", "etag"} for an ICE restart),
 * DELETE /api/whep/{session}; the HTTP transports
 * (whep_http.c, the cloud's whep_proxy.c) translate WHEP's own media types
 * and methods to and from it. Through struct api_sessions. */
#include "robot/api_internal.h"

#include <string.h>

#include "robot/errtext.h"
#include "robot/stream_types.h"

/* The value of parameter name in query (percent-decoded into buf), or NULL. */
static const char *query_param(const char *query, const char *name, char *buf, size_t len)
{
    size_t nlen = strlen(name);
    for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, nlen) != 0 || p[nlen] != '=')
            continue;
        const char *v = p + nlen + 1;
        size_t o = 0;
        for (; *v && *v != '&' && o + 1 < len; v++) {
            int hi, lo;
            if (*v == '%' && (hi = g_ascii_xdigit_value(v[1])) >= 0 &&
                (lo = g_ascii_xdigit_value(v[2])) >= 0) {
                buf[o++] = (char)(hi * 16 + lo);
                v += 2;
            } else {
                buf[o++] = *v;
            }
        }
        buf[o] = '\0';
        return buf;
    }
    return NULL;
}

/* ?streams=a,b into streams; 1 (color) without it. Returns n, or -1 with
 * the 400 in *out. */
static int query_streams(const char *query, enum cam_stream *streams, json_t **out)
{
    char buf[256], err[256];
    const char *v = query_param(query, "streams", buf, sizeof buf);
    if (!v) {
        streams[0] = CAM_COLOR;
        return 1;
    }
    json_t *names = json_array();
    gchar **parts = g_strsplit(v, ",", 0);
    for (gchar **p = parts; *p; p++)
        json_array_append_new(names, json_string(*p));
    g_strfreev(parts);
    int n = stream_types_parse(names, STREAM_TYPES_REST, streams, PEER_MAX_TRACKS, err,
                               sizeof err);
    json_decref(names);
    if (n < 0)
        *out = api_error_body("?streams=: %s", err);
    return n;
}

int api_whep_offer(struct api_request *rq, json_t **out)
{
    struct api *api = rq->api;
    const char *sdp = json_string_value(json_object_get(rq->body, "sdp"));
    if (!sdp) {
        *out = api_error_body("the body must be {\"sdp\": the viewer's SDP offer}; got %s",
                              rq->body ? errtext_kind(rq->body) : "no body");
        return 422;
    }
    enum cam_stream streams[PEER_MAX_TRACKS];
    int n = query_streams(rq->query, streams, out);
    if (n < 0)
        return 400;
    char err[256];
    int status = api->ops.whep_open(api->user, rq->caller, streams, (size_t)n, sdp, rq->reply,
                                    rq->ctx, err, sizeof err);
    if (status != 0) {
        *out = api_error_body("%s", err);
        return status;
    }
    return 0; /* answered later */
}

int api_whep_trickle(struct api_request *rq, json_t **out)
{
    struct api *api = rq->api;
    json_t *frag = json_object_get(rq->body, "sdpfrag");
    json_t *match = json_object_get(rq->body, "if_match");
    if (!json_is_string(frag) || (match && !json_is_string(match))) {
        *out = api_error_body("the body must be {\"sdpfrag\": an SDP fragment (RFC 8840), "
                              "\"if_match\"?: string}");
        return 422;
    }
    char err[256];
    json_t *answer = NULL;
    int status = api->ops.whep_patch(api->user, rq->caller, rq->arg[0], json_string_value(match),
                                     json_string_value(frag), json_string_length(frag), &answer,
                                     err, sizeof err);
    if (status == 200 && answer)
        *out = answer; /* an ICE restart: {"sdpfrag", "etag"} */
    else
        *out = status == 204 ? json_object() : api_error_body("%s", err);
    return status;
}

int api_whep_delete(struct api_request *rq, json_t **out)
{
    struct api *api = rq->api;
    char err[256];
    int status = api->ops.whep_delete(api->user, rq->caller, rq->arg[0], err, sizeof err);
    *out = status == 200 ? json_pack("{s:s, s:s}", "session_id", rq->arg[0], "status", "closed")
                         : api_error_body("%s", err);
    return status;
}
