/* whep_http.c - WHEP's media types on the robot's HTTP API, to and from
 * the JSON form of api_whep.c. */
#include "robot/whep_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHEP_BASE "/api/whep"
#define SDP_TYPE "application/sdp"
#define FRAG_TYPE "application/trickle-ice-sdpfrag"

bool whep_http_path(const char *path)
{
    size_t n = sizeof WHEP_BASE - 1;
    return path && strncmp(path, WHEP_BASE, n) == 0 &&
           (path[n] == '\0' || path[n] == '/' || path[n] == '?');
}

/* True when path names one session: /api/whep/{id}. */
static bool session_path(const char *path)
{
    return whep_http_path(path) && path[sizeof WHEP_BASE - 1] == '/' &&
           path[sizeof WHEP_BASE] != '\0';
}

const char *whep_http_body_type(const char *method, const char *path)
{
    (void)method; /* a wrong method gets its 405 after the guard */
    if (!whep_http_path(path))
        return NULL;
    return session_path(path) ? FRAG_TYPE : SDP_TYPE;
}

json_t *whep_http_body(const char *method, const char *body, size_t len, const char *if_match,
                       bool *bad)
{
    *bad = false;
    bool post = strcmp(method, "POST") == 0, patch = strcmp(method, "PATCH") == 0;
    if (!post && !patch)
        return NULL;
    json_t *text = json_stringn(body ? body : "", len);
    if (!text || memchr(body ? body : "", '\0', len)) {
        json_decref(text);
        *bad = true;
        return NULL;
    }
    json_t *j = json_object();
    json_object_set_new(j, post ? "sdp" : "sdpfrag", text);
    if (patch && if_match)
        json_object_set_new(j, "if_match", json_string(if_match));
    return j;
}

const char *whep_http_api_method(const char *method, const char *path)
{
    bool session = session_path(path);
    if (strcmp(method, "POST") == 0 && !session)
        return "POST";
    if (strcmp(method, "PATCH") == 0 && session)
        return "POST";
    if (strcmp(method, "DELETE") == 0 && session)
        return "DELETE";
    return NULL;
}

void whep_http_respond(SoupServerMessage *msg, const char *path, const char *location_base,
                       int status, json_t *body)
{
    SoupMessageHeaders *hdr = soup_server_message_get_response_headers(msg);
    soup_server_message_set_status(msg, (guint)status, NULL);
    soup_message_headers_replace(hdr, "Cache-Control", "no-store");
    const char *sdp = json_string_value(json_object_get(body, "sdp"));
    const char *id = json_string_value(json_object_get(body, "session_id"));
    if (status == 201 && sdp && id) {
        char *loc = g_strdup_printf("%s/%s", location_base, id);
        soup_message_headers_replace(hdr, "Location", loc);
        g_free(loc);
        const char *etag = json_string_value(json_object_get(body, "etag"));
        if (etag)
            soup_message_headers_replace(hdr, "ETag", etag);
        soup_message_headers_replace(hdr, "Accept-Patch", FRAG_TYPE);
        soup_server_message_set_response(msg, SDP_TYPE, SOUP_MEMORY_COPY, sdp, strlen(sdp));
    } else if (status == 200 && json_is_string(json_object_get(body, "sdpfrag"))) {
        /* An ICE restart: the robot's new credentials and candidates. */
        const char *frag = json_string_value(json_object_get(body, "sdpfrag"));
        const char *etag = json_string_value(json_object_get(body, "etag"));
        if (etag)
            soup_message_headers_replace(hdr, "ETag", etag);
        soup_server_message_set_response(msg, FRAG_TYPE, SOUP_MEMORY_COPY, frag, strlen(frag));
    } else if (status == 204) {
        soup_server_message_set_response(msg, NULL, SOUP_MEMORY_STATIC, NULL, 0);
    } else {
        if (status == 405) {
            const char *allow = session_path(path) ? "OPTIONS, PATCH, DELETE" : "OPTIONS, POST";
            soup_message_headers_replace(hdr, "Allow", allow);
            json_decref(body);
            body = json_pack("{s:s, s:s}", "detail", "this WHEP resource takes other methods",
                             "allow", allow);
        }
        char *text = json_dumps(body, JSON_COMPACT);
        if (text)
            soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text,
                                             strlen(text));
    }
    json_decref(body);
}

void whep_http_options(SoupServerMessage *msg, const char *path)
{
    SoupMessageHeaders *hdr = soup_server_message_get_response_headers(msg);
    soup_server_message_set_status(msg, 204, NULL);
    soup_message_headers_replace(hdr, "Cache-Control", "no-store");
    if (session_path(path)) {
        soup_message_headers_replace(hdr, "Allow", "OPTIONS, PATCH, DELETE");
        soup_message_headers_replace(hdr, "Accept-Patch", FRAG_TYPE);
    } else {
        soup_message_headers_replace(hdr, "Allow", "OPTIONS, POST");
        soup_message_headers_replace(hdr, "Accept-Post", SDP_TYPE);
    }
}
