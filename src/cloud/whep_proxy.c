/* whep_proxy.c - WHEP per robot on porthole-cloud, over the robot API
 * proxy: checks, the JSON form for the robot, the answer in WHEP's form. */
#include "cloud/whep_proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cloud/http_reply.h"
#include "cloud/ice_servers.h"
#include "cloud/protocol.h"
#include "cloud/token.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/utf8.h"

#define SDP_TYPE "application/sdp"
#define FRAG_TYPE "application/trickle-ice-sdpfrag"

bool whep_proxy_path(const char *rest)
{
    if (strncmp(rest, "whep", 4) != 0)
        return false;
    return rest[4] == '\0' || (rest[4] == '/' && rest[5] != '\0' && !strchr(rest + 5, '/'));
}

static int whep_error(struct conn *c, unsigned status, const char *message)
{
    return http_reply_message(c, status, "detail", message);
}

/* True when the request's Content-Type is type (parameters allowed). */
static bool content_type_is(struct lws *wsi, const char *type)
{
    char ct[128];
    if (lws_hdr_copy(wsi, ct, sizeof ct, WSI_TOKEN_HTTP_CONTENT_TYPE) <= 0)
        return false;
    size_t n = strlen(type);
    const char *p = ct + strspn(ct, " \t");
    if (strncasecmp(p, type, n) != 0)
        return false;
    p += n + strspn(p + n, " \t");
    return *p == '\0' || *p == ';';
}

/* One Link header per URL of each ICE server (draft-ietf-wish-whep, as
 * WHIP's RFC 9725 section 4.6). Returns false when out of memory. */
static bool link_headers(struct server *srv, struct conn *c)
{
    char token[IDS_TOKEN_LEN + 1], id[32];
    if (ids_token(token) != 0)
        return false;
    snprintf(id, sizeof id, "whep-%.12s", token);
    json_t *servers = ice_servers_json(srv->ice, id, clock_wall_ms() / 1000);
    if (!servers)
        return false;
    bool ok = true;
    size_t i, k;
    json_t *server, *url;
    json_array_foreach(servers, i, server) {
        const char *user = json_string_value(json_object_get(server, "username"));
        const char *cred = json_string_value(json_object_get(server, "credential"));
        json_array_foreach(json_object_get(server, "urls"), k, url) {
            char v[1024];
            const char *u = json_string_value(url);
            int n = user && cred
                        ? snprintf(v, sizeof v, "<%s>; rel=\"ice-server\"; username=\"%s\"; "
                                   "credential=\"%s\"; credential-type=\"password\"",
                                   u ? u : "", user, cred)
                        : snprintf(v, sizeof v, "<%s>; rel=\"ice-server\"", u ? u : "");
            ok = ok && n > 0 && (size_t)n < sizeof v && http_reply_header(c, "link", v);
        }
    }
    json_decref(servers);
    return ok;
}

/* OPTIONS: 204 with what the resource takes and the ICE servers. */
static int answer_options(struct server *srv, struct conn *c, bool session)
{
    if (!link_headers(srv, c))
        return whep_error(c, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory or randomness");
    if (session) {
        http_reply_header(c, "allow", "OPTIONS, PATCH, DELETE");
        http_reply_header(c, "accept-patch", FRAG_TYPE);
    } else {
        http_reply_header(c, "allow", "OPTIONS, POST");
        http_reply_header(c, "accept-post", SDP_TYPE);
    }
    http_reply_set(c, HTTP_STATUS_NO_CONTENT, NULL, NULL);
    return 1;
}

/* The robot-request method for a WHEP method on the resource, or NULL. */
static const char *robot_method(int index, bool session)
{
    if (index == LWSHUMETH_POST && !session)
        return "POST";
    if (index == LWSHUMETH_PATCH && session)
        return "POST"; /* robot-request has no PATCH: api_whep.c's JSON form */
    if (index == LWSHUMETH_DELETE && session)
        return "DELETE";
    return NULL;
}

int whep_proxy_check(struct server *srv, struct conn *c, int method_index, const char *robot_id,
                     const char *rest, long long length, const char **method)
{
    bool session = rest[4] == '/';
    const struct token_claims *caller = c->http->caller;
    if (!ids_valid_name(robot_id, PROTO_NAME_MAX) ||
        !registry_find(&srv->reg, REG_ROBOT, robot_id) ||
        (caller && token_may_see(caller, robot_id) != TOKEN_OK)) {
        char m[160];
        snprintf(m, sizeof m, "no robot '%.64s' is connected", robot_id);
        utf8_scrub(m);
        whep_error(c, HTTP_STATUS_NOT_FOUND, m);
        return 1;
    }
    if (method_index == LWSHUMETH_OPTIONS)
        return answer_options(srv, c, session);
    *method = robot_method(method_index, session);
    if (!*method) {
        c->http->allow = session ? "OPTIONS, PATCH, DELETE" : "OPTIONS, POST";
        whep_error(c, HTTP_STATUS_METHOD_NOT_ALLOWED,
                   session ? "a WHEP session takes PATCH (trickled candidates) and DELETE"
                           : "the WHEP endpoint takes POST (an SDP offer)");
        return 1;
    }
    const char *type = method_index == LWSHUMETH_POST    ? SDP_TYPE
                       : method_index == LWSHUMETH_PATCH ? FRAG_TYPE
                                                          : NULL;
    if (type && !content_type_is(c->wsi, type)) {
        char m[128];
        snprintf(m, sizeof m, "send the body as Content-Type: %s", type);
        whep_error(c, HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE, m);
        return 1;
    }
    long long max = srv->cfg.max_message / 3;
    if (length > max) {
        char m[128];
        snprintf(m, sizeof m, "the body is %lld bytes; a WHEP request may have %lld at most",
                 length, max);
        whep_error(c, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, m);
        return 1;
    }
    c->http->whep = true;
    return 0;
}

json_t *whep_proxy_body(struct conn *c, const char *method, bool *bad)
{
    *bad = false;
    if (strcmp(method, "DELETE") == 0)
        return NULL;
    const char *data = c->rx.data ? c->rx.data : "";
    size_t len = c->rx.len;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)data[i];
        if ((ch < 0x20 && ch != '\r' && ch != '\n' && ch != '\t') || ch == 0x7f) {
            *bad = true;
            return NULL;
        }
    }
    json_t *text = json_stringn(data, len); /* NULL: not UTF-8 */
    if (!text) {
        *bad = true;
        return NULL;
    }
    /* api_path is "/api/whep[?query]" or "/api/whep/{sessionId}". */
    bool session = c->http->api_path[strlen("/api/whep")] == '/';
    json_t *body = json_object();
    json_object_set_new(body, session ? "sdpfrag" : "sdp", text);
    char match[128];
    if (session && lws_hdr_copy(c->wsi, match, sizeof match, WSI_TOKEN_HTTP_IF_MATCH) > 0)
        json_object_set_new(body, "if_match", json_string(match));
    return body;
}

void whep_proxy_answer(struct conn *c, unsigned status, struct outbuf *body)
{
    json_t *j = body ? json_loadb((const char *)outbuf_payload(body), body->len, 0, NULL) : NULL;
    const char *sdp = json_string_value(json_object_get(j, "sdp"));
    const char *sid = json_string_value(json_object_get(j, "session_id"));
    const char *etag = json_string_value(json_object_get(j, "etag"));
    if (status == 201 && sdp && sid && ids_valid_name(sid, PROTO_NAME_MAX)) {
        char loc[200];
        snprintf(loc, sizeof loc, "/api/robots/%s/whep/%s", c->http->api_robot, sid);
        http_reply_header(c, "location", loc);
        if (etag && strlen(etag) < 80 && !strpbrk(etag, "\r\n"))
            http_reply_header(c, "etag", etag);
        http_reply_header(c, "accept-patch", FRAG_TYPE);
        http_reply_respond(c, status, SDP_TYPE, outbuf_new(sdp, strlen(sdp)));
    } else if (status == 200 && json_is_string(json_object_get(j, "sdpfrag"))) {
        /* An ICE restart: the robot's new credentials and candidates. */
        const char *frag = json_string_value(json_object_get(j, "sdpfrag"));
        if (etag && strlen(etag) < 80 && !strpbrk(etag, "\r\n"))
            http_reply_header(c, "etag", etag);
        http_reply_respond(c, status, FRAG_TYPE, outbuf_new(frag, strlen(frag)));
    } else if (status == 204 || status == 304) {
        http_reply_set(c, status, NULL, NULL);
    } else if (status < 200 || status == 201) {
        whep_error(c, HTTP_STATUS_BAD_GATEWAY, "the robot's answer is not a WHEP answer");
    } else {
        http_reply_set(c, status, "application/json", outbuf_ref(body));
    }
    json_decref(j);
}
