/* api_proxy.c - the /api/robots/{robotId}/... proxy: HTTP requests to
 * robot requests of the router, and its answers back to HTTP. */
#include "cloud/api_proxy.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/edge.h"
#include "cloud/http_reply.h"
#include "cloud/ice_servers.h"
#include "cloud/outbuf.h"
#include "cloud/protocol.h"
#include "cloud/whep_proxy.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/utf8.h"

/* Seconds an HTTP request waiting for a robot may outlive
 * --request-timeout before lws drops it: the router answers 504 at the
 * timeout, so this is only a backstop. (lws's other limit on a held
 * request, "ah excessive hold", is --http-timeout + 360 s, beyond the
 * largest --request-timeout of 300 s.) */
#define API_WAIT_GRACE_SECS 5

static const char api_methods[] = "GET, POST, PUT, DELETE";

/* The robot API's errors: {"detail": message}, as the robots' own. */
static int api_error(struct conn *c, unsigned status, const char *message)
{
    return http_reply_message(c, status, "detail", message);
}

static int api_error_allow(struct conn *c, const char *allow)
{
    char m[96];
    snprintf(m, sizeof(m), "this resource accepts %s only", allow);
    c->http->allow = allow;
    return api_error(c, HTTP_STATUS_METHOD_NOT_ALLOWED, m);
}

/* Appends s to f, percent-encoding every byte outside unreserved and the
 * characters in keep. */
static void put_encoded(FILE *f, const char *s, const char *keep)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p) || strchr(keep, *p))
            fputc(*p, f);
        else
            fprintf(f, "%%%02X", *p);
    }
}

/* The robot's path for the proxied URL: "/api/" + rest + "?" + query.
 * lws hands both over percent-decoded ("+" read as a space, the query
 * split at "&" and ";"), so they are encoded again, canonically: the robot
 * gets printable ASCII, and "a%26b" stays one value. Returns a malloc'd
 * string (of any length: the router checks it), or NULL when out of
 * memory. */
static char *api_robot_path(struct lws *wsi, const char *rest)
{
    char *out = NULL, *frag = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    if (!f)
        return NULL;
    fputs("/api/", f);
    put_encoded(f, rest, "/!$'()*,:@;=");
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    bool first = true;
    if (total > 0 && (frag = malloc((size_t)total + 1))) {
        /* Fragments never outnumber the bytes of the query. */
        for (int i = 0; i <= total; i++) {
            int n = lws_hdr_copy_fragment(wsi, frag, total + 1, WSI_TOKEN_HTTP_URI_ARGS, i);
            if (n < 0)
                break;
            if (n == 0)
                continue;
            fputc(first ? '?' : '&', f);
            first = false;
            char *eq = strchr(frag, '=');
            if (eq)
                *eq = '\0';
            put_encoded(f, frag, "/?!$'()*,:@");
            if (eq) {
                fputc('=', f);
                put_encoded(f, eq + 1, "/?!$'()*,:@");
            }
        }
    }
    bool oom = total > 0 && !frag;
    free(frag);
    if (fclose(f) != 0 || oom) {
        free(out);
        return NULL;
    }
    return out;
}

/* The HTTP method of the transaction as robot-request names it, or NULL
 * for the others. */
static const char *api_method(struct lws *wsi, int *index)
{
    char *uri;
    int len;
    *index = lws_http_get_uri_and_method(wsi, &uri, &len);
    switch (*index) {
    case LWSHUMETH_GET: return "GET";
    case LWSHUMETH_POST: return "POST";
    case LWSHUMETH_PUT: return "PUT";
    case LWSHUMETH_DELETE: return "DELETE";
    default: return NULL;
    }
}

/* The request is complete (body in c->rx): parse the body and hand the
 * request to the router. Returns -1 to close. */
static int api_dispatch(struct server *srv, struct conn *c)
{
    struct http_conn *h = c->http;
    json_t *body = NULL;
    bool bad = false;
    if (h->whep && !(body = whep_proxy_body(c, h->api_method, &bad)) && bad) {
        h->api = API_NONE;
        conn_rx_release(c);
        return api_error(c, HTTP_STATUS_BAD_REQUEST, "the body is not UTF-8 text");
    } else if (c->rx.len && !h->whep) {
        json_error_t jerr;
        body = json_loadb(c->rx.data, c->rx.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (!body) {
            char m[200];
            snprintf(m, sizeof(m), "malformed JSON at line %d, column %d: %s", jerr.line,
                     jerr.column, jerr.text);
            utf8_scrub(m); /* jansson quotes the input */
            h->api = API_NONE;
            conn_rx_release(c);
            return api_error(c, HTTP_STATUS_BAD_REQUEST, m);
        }
    }
    conn_rx_release(c);
    if (!h->asker) {
        char addr[64] = "?";
        conn_peer_address(c->wsi, addr, sizeof(addr));
        h->asker = router_http_open(srv->router, c, addr);
    }
    if (!h->asker) {
        json_decref(body);
        h->api = API_NONE;
        return api_error(c, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
    }
    /* The request is whole (a POST without Content-Length is taken as
     * having none): the edge's deadline for its arrival ends here. lws's
     * own timeout (--http-timeout) would cut a request that legitimately
     * waits for its robot: the router answers by --request-timeout, this
     * is the backstop. */
    edge_body_complete(srv, c);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK,
                    (int)srv->cfg.request_timeout + API_WAIT_GRACE_SECS);
    h->api = API_WAITING;
    struct robot_request req = {.robot_id = h->api_robot, .method = h->api_method,
                                .path = h->api_path, .body = body, .caller = h->caller};
    if (h->whep)
        router_http_watch(srv->router, h->asker, &req, clock_mono_ms());
    else
        router_http_request(srv->router, h->asker, &req, clock_mono_ms());
    json_decref(body);
    server_schedule_tick(srv);
    return 0;
}

int api_proxy_body(struct server *srv, struct conn *c, const void *in, size_t len)
{
    if (c->http->api != API_BODY)
        return 0;
    size_t max = (size_t)srv->cfg.max_message;
    if (c->rx.len + len > max) {
        /* Content-Length was checked; this is for bodies that lied. */
        c->http->api = API_NONE;
        conn_rx_release(c);
        char m[96];
        snprintf(m, sizeof(m), "the request body is larger than %zu bytes", max);
        return api_error(c, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, m);
    }
    if (len && !conn_rx_append(c, in, len, max)) {
        c->http->api = API_NONE;
        conn_rx_release(c);
        return api_error(c, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
    }
    return 0;
}

int api_proxy_body_complete(struct server *srv, struct conn *c)
{
    return c->http->api == API_BODY ? api_dispatch(srv, c) : 0;
}

void api_proxy_answer(void *http, unsigned status, struct outbuf *body)
{
    struct conn *c = http;
    if (conn_server(c)->stopping)
        return; /* every connection is being closed */
    c->http->api = API_NONE;
    if (c->http->whep) {
        whep_proxy_answer(c, status, body);
    } else if (status < 200) {
        char m[120];
        snprintf(m, sizeof(m), "the robot answered with status %u, which HTTP cannot carry "
                 "as a final response", status);
        api_error(c, HTTP_STATUS_BAD_GATEWAY, m);
    } else if (status == 204 || status == 304) {
        http_reply_set(c, status, NULL, NULL); /* these have no body */
    } else {
        http_reply_set(c, status, "application/json", outbuf_ref(body));
    }
}

/* Checks the framing of a proxied request's body. Returns its
 * Content-Length, -1 when there is none, or -2 after answering an error. */
static long long api_body_length(struct server *srv, struct conn *c)
{
    /* lws reads a body of Content-Length bytes, and for POST and PUT
     * without one it waits for the connection to end, which HTTP/1.1 does
     * not mean (no length, no body): such a request is served with an
     * empty body and the connection then closed (see api_proxy_request). */
    if (lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        c->http->close = true;
        api_error(c, HTTP_STATUS_LENGTH_REQUIRED,
                  "send the body with a Content-Length (chunked request bodies are "
                  "not supported)");
        return -2;
    }
    long long length = -1;
    char cl[32];
    if (lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        char *endp;
        if (lws_hdr_copy(c->wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 ||
            (length = strtoll(cl, &endp, 10)) < 0 || endp == cl || *endp) {
            api_error(c, HTTP_STATUS_BAD_REQUEST, "the Content-Length is not a number");
            return -2;
        }
    }
    if (length > srv->cfg.max_message) {
        char m[96];
        snprintf(m, sizeof(m), "the request body is larger than %ld bytes", srv->cfg.max_message);
        api_error(c, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, m);
        return -2;
    }
    return length;
}

/* GET /api/ice-servers: the deployment's STUN/TURN servers for an HTTP
 * client (a WHEP player, a script), with TURN credentials minted for a
 * fresh id "http-<random>". {"iceServers": [...], "ttl": seconds}. */
static int ice_servers_reply(struct server *srv, struct conn *c)
{
    char token[IDS_TOKEN_LEN + 1], id[32];
    if (ids_token(token) != 0)
        return api_error(c, HTTP_STATUS_INTERNAL_SERVER_ERROR, "no randomness available");
    snprintf(id, sizeof id, "http-%.12s", token);
    json_t *servers = ice_servers_json(srv->ice, id, clock_wall_ms() / 1000);
    json_t *body = servers ? json_pack("{s:o, s:I}", "iceServers", servers, "ttl",
                                       (json_int_t)ice_servers_ttl(srv->ice))
                           : NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return api_error(c, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
    struct outbuf *b = outbuf_new(text, strlen(text));
    free(text);
    if (!b)
        return api_error(c, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
    http_reply_respond(c, HTTP_STATUS_OK, "application/json", b);
    return 0;
}

int api_proxy_request(struct server *srv, struct conn *c, const char *uri)
{
    struct http_conn *h = c->http;
    int index;
    const char *method = api_method(c->wsi, &index);
    if (strcmp(uri, "/api/ice-servers") == 0) {
        if (index != LWSHUMETH_GET)
            return api_error_allow(c, "GET");
        return ice_servers_reply(srv, c);
    }
    if (strcmp(uri, "/api/robots") == 0 || strcmp(uri, "/api/robots/") == 0) {
        if (index != LWSHUMETH_GET)
            return api_error_allow(c, "GET");
        http_reply_respond(c, HTTP_STATUS_OK, "application/json",
                           status_robots(srv->router, h->caller));
        return 0;
    }
    const char *id = strncmp(uri, "/api/robots/", 12) == 0 ? uri + 12 : NULL;
    const char *slash = id ? strchr(id, '/') : NULL;
    if (!slash)
        return api_error(c, HTTP_STATUS_NOT_FOUND, "no such resource: GET /api/robots lists "
                         "the robots, /api/robots/{robotId}/{path} reaches a robot's API");
    bool whep = whep_proxy_path(slash + 1);
    if (!method && !whep)
        return api_error_allow(c, api_methods);
    long long length = api_body_length(srv, c);
    if (length == -2)
        return 0;
    if (whep) {
        char robot[PROTO_NAME_MAX + 2];
        snprintf(robot, sizeof robot, "%.*s", (int)(slash - id), id);
        if (whep_proxy_check(srv, c, index, robot, slash + 1, length, &method))
            return 0;
    }
    h->api_method = method;
    h->api_robot = strndup(id, (size_t)(slash - id));
    h->api_path = api_robot_path(c->wsi, slash + 1);
    if (!h->api_robot || !h->api_path)
        return api_error(c, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
    if (length < 0 &&
        (index == LWSHUMETH_POST || index == LWSHUMETH_PUT || index == LWSHUMETH_PATCH))
        h->close = true;
    /* lws delivers HTTP_BODY and HTTP_BODY_COMPLETION for a body, and for
     * a POST with Content-Length: 0; the rest is served now. */
    if (length > 0 || (length == 0 && index == LWSHUMETH_POST)) {
        h->api = API_BODY;
        return 0;
    }
    return api_dispatch(srv, c);
}

void api_proxy_release(struct server *srv, struct conn *c)
{
    struct http_conn *h = c->http;
    router_http_closed(srv->router, h->asker);
    h->asker = NULL;
    free(h->api_robot);
    free(h->api_path);
    h->api_robot = h->api_path = NULL;
    h->api = API_NONE;
    h->whep = false;
    conn_rx_release(c);
}
