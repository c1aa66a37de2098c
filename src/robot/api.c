/* api.c - the robot's REST API: the table of endpoints, matching a path
 * against it, the method check, and the API's lifetime. The resources
 * themselves are in api_device.c, api_streams.c and api_webrtc.c. */
#include "robot/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "robot/api_internal.h"
#include "robot/errtext.h"

#define API_MAX_SEGMENTS 8
#define API_SEGMENT_MAX 64

struct api_route {
    const char *method;
    const char *path; /* "/api/...": a {name} segment matches any id */
    api_handler_fn handler;
};

#define DEVICE "/api/devices/{device}"
#define SENSOR DEVICE "/sensors/{sensor}"

/* The endpoints of docs/API.md, in its order: one row per method and
 * path. The rows of one path, in order, are what its 405 allows. */
static const struct api_route api_routes[] = {
    {.method = "GET", .path = "/api/devices", .handler = api_device_list},
    {.method = "GET", .path = DEVICE, .handler = api_device_get},
    {.method = "POST", .path = DEVICE "/hw_reset", .handler = api_device_reset},
    {.method = "GET", .path = DEVICE "/sensors", .handler = api_sensor_list},
    {.method = "GET", .path = SENSOR, .handler = api_sensor_get},
    {.method = "GET", .path = SENSOR "/options", .handler = api_option_list},
    {.method = "GET", .path = SENSOR "/options/{option}", .handler = api_option_get},
    {.method = "PUT", .path = SENSOR "/options/{option}", .handler = api_option_put},
    {.method = "POST", .path = DEVICE "/stream/start", .handler = api_stream_start},
    {.method = "POST", .path = DEVICE "/stream/stop", .handler = api_stream_stop},
    {.method = "GET", .path = DEVICE "/stream/status", .handler = api_stream_status},
    {.method = "POST", .path = DEVICE "/point_cloud/activate", .handler = api_pc_activate},
    {.method = "POST", .path = DEVICE "/point_cloud/deactivate", .handler = api_pc_deactivate},
    {.method = "GET", .path = DEVICE "/point_cloud/status", .handler = api_pc_status},
    {.method = "POST", .path = "/api/webrtc/offer", .handler = api_webrtc_offer},
    {.method = "POST", .path = "/api/webrtc/answer", .handler = api_webrtc_answer},
    {.method = "POST", .path = "/api/webrtc/ice-candidates", .handler = api_webrtc_candidate},
    {.method = "GET", .path = "/api/webrtc/sessions", .handler = api_session_list},
    {.method = "GET", .path = "/api/webrtc/sessions/{session}", .handler = api_session_get},
    {.method = "DELETE", .path = "/api/webrtc/sessions/{session}", .handler = api_session_close},
    {.method = "DELETE", .path = "/api/webrtc/sessions", .handler = api_session_close_all},
    {.method = "POST", .path = "/api/whep", .handler = api_whep_offer},
    {.method = "POST", .path = "/api/whep/{session}", .handler = api_whep_trickle},
    {.method = "DELETE", .path = "/api/whep/{session}", .handler = api_whep_delete},
};

#undef SENSOR
#undef DEVICE

#define API_NROUTES (sizeof api_routes / sizeof api_routes[0])

/* What each {name} of a path must be, checked before the method (a path
 * below an unknown device is a 404 whatever the method). A session is
 * looked up by its handlers, after the method check. */
static const struct api_param {
    const char *name;
    api_resolve_fn resolve;
} api_params[] = {
    {.name = "{device}", .resolve = api_device_resolve},
    {.name = "{sensor}", .resolve = api_sensor_resolve},
    {.name = "{option}", .resolve = api_option_resolve},
};

json_t *api_error_body(const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return json_pack("{s:s}", "detail", text);
}

/* ---- lifetime ---- */

struct api *api_new(struct camera *cam, struct media *media, const struct api_sessions *sessions,
                    void *user)
{
    struct api *api = g_new0(struct api, 1);
    api->cam = cam;
    api->media = media;
    api->ops = *sessions;
    api->user = user;
    json_t *d = camera_describe(cam, false);
    api->sensors = json_incref(json_object_get(d, "sensors"));
    json_decref(d);
    g_mutex_init(&api->lock);
    media_set_observer(media, api_stream_on_frames, api);
    return api;
}

void api_free(struct api *api)
{
    if (!api)
        return;
    media_set_observer(api->media, NULL, NULL);
    media_hold_streams(api->media, 0);
    json_decref(api->configs);
    json_decref(api->sensors);
    g_mutex_clear(&api->lock);
    g_free(api);
}

/* ---- matching a path against the table ---- */

/* A request's path: without its query, split into segments after "/api/". */
struct route_path {
    const char *seg[API_MAX_SEGMENTS];
    size_t nseg;
};

/* Segment i of a route's path after "/api/" and its length; NULL past the
 * end. */
static const char *route_seg(const struct api_route *r, size_t i, size_t *len)
{
    const char *p = r->path + 5;
    for (; i > 0; i--) {
        p = strchr(p, '/');
        if (!p)
            return NULL;
        p++;
    }
    *len = strcspn(p, "/");
    return p;
}

static size_t route_nseg(const struct api_route *r)
{
    size_t n = 1;
    for (const char *p = r->path + 5; (p = strchr(p, '/')) != NULL; p++)
        n++;
    return n;
}

/* How many leading segments of rp route r matches. */
static size_t route_prefix(const struct api_route *r, const struct route_path *rp)
{
    size_t i = 0, len;
    const char *pat;
    for (; i < rp->nseg && (pat = route_seg(r, i, &len)) != NULL; i++) {
        bool param = pat[0] == '{';
        if (!param && (strlen(rp->seg[i]) != len || strncmp(pat, rp->seg[i], len) != 0))
            break;
    }
    return i;
}

static api_resolve_fn param_resolver(const char *pat, size_t len)
{
    for (size_t k = 0; k < sizeof api_params / sizeof api_params[0]; k++)
        if (strlen(api_params[k].name) == len && strncmp(api_params[k].name, pat, len) == 0)
            return api_params[k].resolve;
    return NULL;
}

/* Checks the path's {...} segments in order. Segment i is checked when a
 * route matches the path up to it and either goes on past it or ends where
 * the path ends: an unknown device is a 404 on any path below it, an
 * unknown option only on the option's own path. Returns 0, or 404 with
 * *out. */
static int route_resolve(struct api_request *rq, const struct route_path *rp, json_t **out)
{
    for (size_t i = 0; i < rp->nseg; i++) {
        api_resolve_fn fn = NULL;
        for (size_t r = 0; r < API_NROUTES && !fn; r++) {
            size_t n = route_nseg(&api_routes[r]), len = 0;
            const char *pat = route_seg(&api_routes[r], i, &len);
            if (pat && (n > i + 1 || n == rp->nseg) && route_prefix(&api_routes[r], rp) > i)
                fn = param_resolver(pat, len);
        }
        int status = fn ? fn(rq, rp->seg[i], out) : 0;
        if (status)
            return status;
    }
    return 0;
}

/* The body of a 405: the methods the path allows as the text says them
 * ("GET,PUT") and as an HTTP Allow header lists them ("GET, PUT"), which
 * api_http.c sends as that header (a client through the cloud has none). */
static json_t *method_not_allowed(const char *method, const char *path, const char *allowed)
{
    json_t *out = api_error_body("%s is not allowed on %s; use %s", method, path, allowed);
    GString *allow = g_string_new(NULL);
    for (const char *p = allowed; *p; p++) {
        if (*p == ',')
            g_string_append(allow, ", ");
        else
            g_string_append_c(allow, *p);
    }
    json_object_set_new(out, "allow", json_string(allow->str));
    g_string_free(allow, TRUE);
    return out;
}

/* Answers a request whose path is split: resolves its ids, finds its
 * route and method, and runs the handler. Returns the status with *out,
 * 0 when the handler answers later, or -1 when no route has this path. */
static int route(struct api_request *rq, const struct route_path *rp, json_t **out)
{
    int status = route_resolve(rq, rp, out);
    if (status)
        return status;
    const struct api_route *found = NULL;
    GString *allowed = g_string_new(NULL);
    for (size_t r = 0; r < API_NROUTES; r++) {
        const struct api_route *rt = &api_routes[r];
        if (route_nseg(rt) != rp->nseg || route_prefix(rt, rp) != rp->nseg)
            continue;
        g_string_append_printf(allowed, "%s%s", allowed->len ? "," : "", rt->method);
        if (!found && strcmp(rt->method, rq->method) == 0)
            found = rt;
    }
    if (found) {
        size_t len = 0; /* the path's {...} values, for the handler */
        for (size_t i = 0; i < rp->nseg && rq->nargs < API_MAX_ARGS; i++)
            if (route_seg(found, i, &len)[0] == '{')
                rq->arg[rq->nargs++] = rp->seg[i];
        status = found->handler(rq, out);
    } else if (allowed->len) {
        *out = method_not_allowed(rq->method, rq->path, allowed->str);
        status = 405;
    } else {
        status = -1;
    }
    g_string_free(allowed, TRUE);
    return status;
}

/* A path segment: 1..64 characters of A-Z a-z 0-9 . _ - (every id of the
 * API has that syntax, so nothing needs percent-decoding). */
static bool segment_ok(const char *s, size_t len)
{
    if (len == 0 || len > API_SEGMENT_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!g_ascii_isalnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

/* Splits segs (the path after "/api/", modified in place) into rp's
 * segments. "/api/devices/" is "/api/devices". Returns false when there
 * are none, too many, or one is not a segment_ok. */
static bool route_split(char *segs, struct route_path *rp)
{
    size_t slen = strlen(segs);
    if (slen && segs[slen - 1] == '/')
        segs[--slen] = '\0';
    if (slen == 0)
        return false;
    for (char *cursor = segs; cursor;) {
        char *slash = strchr(cursor, '/');
        size_t len = slash ? (size_t)(slash - cursor) : strlen(cursor);
        if (rp->nseg == API_MAX_SEGMENTS || !segment_ok(cursor, len))
            return false;
        cursor[len] = '\0';
        rp->seg[rp->nseg++] = cursor;
        cursor = slash ? slash + 1 : NULL;
    }
    return true;
}

void api_handle_json(struct api *api, const struct api_caller *caller, const char *method,
                     const char *path, json_t *body, api_reply_fn reply, void *ctx)
{
    char q[80];
    char buf[API_MAX_SEGMENTS * (API_SEGMENT_MAX + 1) + 8], segs[sizeof buf];
    /* The path without its query. */
    size_t plen = path ? strcspn(path, "?") : 0;
    if (!path || plen < 5 || strncmp(path, "/api/", 5) != 0 || plen >= sizeof buf) {
        reply(ctx, 404, api_error_body("no resource at '%s' (paths begin with /api/; see "
                                       "docs/API.md)",
                                       errtext_quote(path ? path : "", q, sizeof q)));
        return;
    }
    memcpy(buf, path, plen);
    buf[plen] = '\0';
    memcpy(segs, path + 5, plen - 5);
    segs[plen - 5] = '\0';
    struct route_path rp = {.nseg = 0};
    struct api_request rq = {
        .api = api,
        .caller = caller,
        .method = method ? method : "",
        .path = buf,
        .query = path[plen] == '?' ? path + plen + 1 : "",
        .body = json_is_null(body) ? NULL : body,
        .sensor = -1,
        .reply = reply,
        .ctx = ctx,
    };
    json_t *out = NULL;
    int status = route_split(segs, &rp) ? route(&rq, &rp, &out) : -1;
    if (status == 0)
        return; /* the handler answers later */
    if (status < 0) {
        json_decref(out);
        status = 404;
        out = api_error_body("no resource at '%s' (see docs/API.md)",
                             errtext_quote(buf, q, sizeof q));
    }
    reply(ctx, status, out);
}

void api_handle_text(struct api *api, const char *method, const char *path, const char *body,
                     size_t body_len, api_reply_fn reply, void *ctx)
{
    json_t *j = NULL;
    if (body_len) {
        json_error_t jerr;
        j = json_loadb(body, body_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
            reply(ctx, 400, api_error_body("malformed JSON at line %d, column %d (byte %d): %s",
                                           jerr.line, jerr.column, jerr.position, jerr.text));
            return;
        }
    }
    api_handle_json(api, NULL, method, path, j, reply, ctx);
    json_decref(j);
}
