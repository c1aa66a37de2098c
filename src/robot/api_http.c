/* api_http.c - the REST API over HTTP, on libsoup's SoupServer. */
#include "robot/api_http.h"

#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "robot/whep_http.h"

struct api_http {
    struct api *api;
    SoupServer *server;
    struct httpguard guard; /* its strings are ours */
    size_t max_body;
    unsigned port;
    GList *waiting; /* struct pending * whose reply has not come yet */
};

/* One request until its reply has gone out. */
struct pending {
    struct api_http *h;      /* NULL once the server is gone */
    SoupServerMessage *msg;  /* a reference; NULL once the client is gone */
    bool in_handler;         /* on_request is still running */
    bool answered;           /* on_reply ran while in_handler */
    bool whep;               /* a WHEP request: answered in WHEP's form (whep_http.h) */
    gulong finished_id, disconnected_id;
};

static void respond(SoupServerMessage *msg, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    soup_server_message_set_status(msg, (guint)status, NULL);
    SoupMessageHeaders *hdr = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(hdr, "Cache-Control", "no-store");
    if (status == 405) {
        /* The methods of that resource (api.c puts them in the body). */
        const char *allow = json_string_value(json_object_get(body, "allow"));
        soup_message_headers_replace(hdr, "Allow", allow ? allow : "GET, POST, PUT, DELETE");
    }
    json_decref(body);
    if (text) {
        size_t len = strlen(text);
        soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text, len);
    } else {
        soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_STATIC,
                                         "{\"detail\":\"out of memory\"}", 26);
    }
}

/* Lets go of the message: no signal of it reaches p afterwards. */
static SoupServerMessage *release(struct pending *p)
{
    SoupServerMessage *msg = p->msg;
    if (msg) {
        g_signal_handler_disconnect(msg, p->finished_id);
        g_signal_handler_disconnect(msg, p->disconnected_id);
        p->msg = NULL;
    }
    return msg;
}

static void on_gone(SoupServerMessage *msg, gpointer data)
{
    struct pending *p = data;
    (void)msg;
    /* The client went away before its reply: drop the message now; the
     * reply, when it comes, finds p->msg NULL. */
    log_debug("api: a client left before its reply");
    g_object_unref(release(p));
}

/* The reply to p's request, in its form. */
static void respond_to(struct pending *p, SoupServerMessage *msg, int status, json_t *body)
{
    if (p->whep)
        whep_http_respond(msg, g_uri_get_path(soup_server_message_get_uri(msg)), "/api/whep",
                          status, body);
    else
        respond(msg, status, body);
}

static void on_reply(void *ctx, int status, json_t *body)
{
    struct pending *p = ctx;
    if (p->in_handler) {
        /* Answered at once: on_request sends it when the handler returns. */
        respond_to(p, p->msg, status, body);
        p->answered = true;
        return;
    }
    if (p->h)
        p->h->waiting = g_list_remove(p->h->waiting, p);
    SoupServerMessage *msg = release(p);
    if (!msg) {
        log_debug("api: reply %d for a client that is gone: dropped", status);
        json_decref(body);
    } else {
        respond_to(p, msg, status, body);
        soup_server_message_unpause(msg);
        g_object_unref(msg);
    }
    g_free(p);
}

/* A request under /api/whep: WHEP's media types become the JSON form the
 * route table answers (api_whep.c), with the query kept (?streams=). */
static void whep_request(struct api_http *h, struct pending *p, SoupServerMessage *msg,
                         const char *method, const char *path, const char *body, size_t len)
{
    p->whep = true;
    if (strcmp(method, "OPTIONS") == 0) {
        whep_http_options(msg, path);
        p->answered = true;
        return;
    }
    SoupMessageHeaders *hdr = soup_server_message_get_request_headers(msg);
    bool bad;
    if (!whep_http_api_method(method, path)) {
        on_reply(p, 405, json_object());
        return;
    }
    json_t *j = whep_http_body(method, body, len,
                               soup_message_headers_get_one(hdr, "If-Match"), &bad);
    if (bad) {
        on_reply(p, 400, api_error_body("the body is not UTF-8 text"));
        return;
    }
    const char *query = g_uri_get_query(soup_server_message_get_uri(msg));
    char *full = g_strdup_printf("%s%s%s", path, query ? "?" : "", query ? query : "");
    api_handle_json(h->api, NULL, whep_http_api_method(method, path), full, j, on_reply, p);
    g_free(full);
    json_decref(j);
}

static void on_request(SoupServer *server, SoupServerMessage *msg, const char *path,
                       GHashTable *query, gpointer data)
{
    struct api_http *h = data;
    (void)server;
    (void)query;
    const char *method = soup_server_message_get_method(msg);
    SoupMessageBody *body = soup_server_message_get_request_body(msg);
    GBytes *bytes = soup_message_body_flatten(body);
    gsize len = 0;
    const char *bytes_ptr = g_bytes_get_data(bytes, &len);
    log_debug("api: %s %s from %s (%zu bytes)", method, path,
              soup_server_message_get_remote_host(msg), (size_t)len);

    struct pending *p = g_new0(struct pending, 1);
    p->h = h;
    p->msg = g_object_ref(msg);
    p->in_handler = true;
    p->finished_id = g_signal_connect(msg, "finished", G_CALLBACK(on_gone), p);
    p->disconnected_id = g_signal_connect(msg, "disconnected", G_CALLBACK(on_gone), p);
    if (whep_http_path(path))
        whep_request(h, p, msg, method, path, len ? bytes_ptr : NULL, len);
    else
        api_handle_text(h->api, method, path, len ? bytes_ptr : NULL, len, on_reply, p);
    g_bytes_unref(bytes);
    p->in_handler = false;
    if (p->answered) {
        g_object_unref(release(p));
        g_free(p);
        return;
    }
    /* The reply comes later (an offer waiting for its candidates). */
    h->waiting = g_list_prepend(h->waiting, p);
    soup_server_message_pause(msg);
}

/* The headers httpguard.c counts: a request with two of them could be
 * framed or addressed one way here and another way by a proxy. */
struct header_counts {
    unsigned host, content_length;
};

static void count_header(const char *name, const char *value, gpointer data)
{
    struct header_counts *n = data;
    (void)value;
    if (g_ascii_strcasecmp(name, "Host") == 0)
        n->host++;
    else if (g_ascii_strcasecmp(name, "Content-Length") == 0)
        n->content_length++;
}

/* Answers a CORS preflight of an allowed origin: 204, what may follow. */
static void answer_preflight(SoupServerMessage *msg, SoupMessageHeaders *req)
{
    SoupMessageHeaders *hdr = soup_server_message_get_response_headers(msg);
    soup_server_message_set_status(msg, 204, NULL);
    soup_message_headers_replace(hdr, "Access-Control-Allow-Methods",
                                 "GET, POST, PUT, PATCH, DELETE");
    soup_message_headers_replace(hdr, "Access-Control-Allow-Headers",
                                 "Content-Type, Authorization, If-Match");
    soup_message_headers_replace(hdr, "Access-Control-Max-Age", "600");
    /* Chromium's Private Network Access asks before a public page may
     * reach a private address; an allowed origin is allowed that too. */
    if (soup_message_headers_get_one(req, "Access-Control-Request-Private-Network"))
        soup_message_headers_replace(hdr, "Access-Control-Allow-Private-Network", "true");
    soup_message_headers_replace(hdr, "Cache-Control", "no-store");
}

/* Answers 400 and closes the connection at once: the request's framing
 * cannot be trusted, so neither can anything after its headers (libsoup
 * would otherwise wait for a body of the length it chose). The
 * connection is taken from libsoup and written to directly: a short
 * response into an empty socket buffer. */
static void refuse_and_close(SoupServerMessage *msg, const char *detail)
{
    json_t *body = api_error_body("%s", detail);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char *response = g_strdup_printf("HTTP/1.1 400 Bad Request\r\nServer: porthole-robot\r\n"
                                     "Connection: close\r\nCache-Control: no-store\r\n"
                                     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                                     "\r\n%s", text ? strlen(text) : 0, text ? text : "");
    free(text);
    GIOStream *io = soup_server_message_steal_connection(msg);
    if (io) {
        GOutputStream *out = g_io_stream_get_output_stream(io);
        g_output_stream_write_all(out, response, strlen(response), NULL, NULL, NULL);
        g_io_stream_close(io, NULL, NULL);
        g_object_unref(io);
    }
    g_free(response);
}

/* Passes msg through the guard; on a refusal answers it and returns
 * false. */
static bool guard_request(struct api_http *h, SoupServerMessage *msg, SoupEncoding enc,
                          goffset length)
{
    SoupMessageHeaders *hdr = soup_server_message_get_request_headers(msg);
    struct header_counts n = {0, 0};
    soup_message_headers_foreach(hdr, count_header, &n);
    struct httpguard_request rq = {
        .method = soup_server_message_get_method(msg),
        .host = soup_message_headers_get_one(hdr, "Host"),
        .host_count = n.host,
        .content_length_count = n.content_length,
        .origin = soup_message_headers_get_one(hdr, "Origin"),
        .authorization = soup_message_headers_get_one(hdr, "Authorization"),
        .content_type = soup_message_headers_get_one(hdr, "Content-Type"),
        .has_body = enc == SOUP_ENCODING_CHUNKED || enc == SOUP_ENCODING_EOF ||
                    (enc == SOUP_ENCODING_CONTENT_LENGTH && length > 0),
        .body_type = whep_http_body_type(soup_server_message_get_method(msg),
                                         g_uri_get_path(soup_server_message_get_uri(msg))),
    };
    char detail[320];
    int status = httpguard_check(&h->guard, &rq, detail, sizeof detail);
    SoupMessageHeaders *out = soup_server_message_get_response_headers(msg);
    if (status == 0) {
        if (!rq.origin)
            return true;
        /* An allowed origin: the browser may read what it gets. */
        soup_message_headers_replace(out, "Access-Control-Allow-Origin", rq.origin);
        soup_message_headers_replace(out, "Vary", "Origin");
        /* A WHEP player reads where its session is (and its ETag). */
        soup_message_headers_replace(out, "Access-Control-Expose-Headers",
                                     "Location, ETag, Accept-Patch, Accept-Post");
        if (strcmp(rq.method, "OPTIONS") != 0)
            return true;
        soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
        answer_preflight(msg, hdr);
        return false;
    }
    log_debug("api: %s %s refused (%d): %s", rq.method,
              g_uri_get_path(soup_server_message_get_uri(msg)), status, detail);
    if (status == 400) {
        refuse_and_close(msg, detail);
        return false;
    }
    soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
    if (status == 401)
        soup_message_headers_replace(out, "WWW-Authenticate", "Bearer");
    respond(msg, status, api_error_body("%s", detail));
    return false;
}

/* Runs when the headers are in, before the body is read: the guard's
 * checks (httpguard.h), then bodies that are too large or of unknown
 * length. */
static void on_early(SoupServer *server, SoupServerMessage *msg, const char *path,
                     GHashTable *query, gpointer data)
{
    struct api_http *h = data;
    (void)server;
    (void)path;
    (void)query;
    SoupMessageHeaders *hdr = soup_server_message_get_request_headers(msg);
    SoupEncoding enc = soup_message_headers_get_encoding(hdr);
    goffset n = soup_message_headers_get_content_length(hdr);
    if (!guard_request(h, msg, enc, n))
        return;
    /* A refused body still arrives (unless the client asked Expect:
     * 100-continue); it is read and thrown away, never kept. */
    SoupMessageBody *body = soup_server_message_get_request_body(msg);
    if (enc == SOUP_ENCODING_CHUNKED || enc == SOUP_ENCODING_EOF) {
        soup_message_body_set_accumulate(body, FALSE);
        respond(msg, 411, api_error_body("a request body needs a Content-Length (chunked bodies "
                                         "are not accepted)"));
        return;
    }
    if (enc == SOUP_ENCODING_CONTENT_LENGTH && n > (goffset)h->max_body) {
        soup_message_body_set_accumulate(body, FALSE);
        respond(msg, 413, api_error_body("the request body is %lld bytes; at most %zu are "
                                         "accepted (--api-max-body)", (long long)n, h->max_body));
    }
}

/* Frees h before it served anything. */
static void api_http_drop(struct api_http *h)
{
    g_object_unref(h->server);
    g_free((char *)h->guard.origins);
    g_free((char *)h->guard.token);
    g_free(h);
}

struct api_http *api_http_new(struct api *api, const struct api_http_params *params, char *err,
                              size_t errlen)
{
    struct api_http *h = g_new0(struct api_http, 1);
    const char *bind = params->bind;
    unsigned port = params->port;
    h->api = api;
    h->max_body = params->max_body;
    h->guard = (struct httpguard){.loopback = params->guard.loopback,
                                  .origins = g_strdup(params->guard.origins),
                                  .token = g_strdup(params->guard.token)};
    h->server = soup_server_new("server-header", "porthole-robot", NULL);
    /* One path for both: libsoup keeps a path's early and normal handler
     * in one entry, and a path with only an early one answers 500. The
     * default entry (every other path) bounds bodies too: without it a
     * body sent to "/x" was read into memory whatever its size. */
    soup_server_add_early_handler(h->server, "/api", on_early, h, NULL);
    soup_server_add_handler(h->server, "/api", on_request, h, NULL);
    soup_server_add_early_handler(h->server, NULL, on_early, h, NULL);
    soup_server_add_handler(h->server, NULL, on_request, h, NULL);

    GError *gerr = NULL;
    gboolean ok;
    if (!bind || bind[0] == '\0') {
        ok = soup_server_listen_all(h->server, port, 0, &gerr);
    } else {
        GInetAddress *ia = g_inet_address_new_from_string(bind);
        if (!ia) {
            snprintf(err, errlen, "'%s' is not an IP address", bind);
            api_http_drop(h);
            return NULL;
        }
        GSocketAddress *sa = g_inet_socket_address_new(ia, (guint16)port);
        ok = soup_server_listen(h->server, sa, 0, &gerr);
        g_object_unref(sa);
        g_object_unref(ia);
    }
    if (!ok) {
        snprintf(err, errlen, "REST API cannot listen on %s:%u: %s (choose --api-port, or 0 for "
                 "no API)", bind && bind[0] ? bind : "*", port, gerr->message);
        g_error_free(gerr);
        api_http_drop(h);
        return NULL;
    }
    GSList *uris = soup_server_get_uris(h->server);
    if (uris) {
        h->port = (unsigned)g_uri_get_port(uris->data);
        char *text = g_uri_to_string(uris->data);
        log_info("REST API on %sapi/%s", text, h->guard.token ? " (Bearer token required)" : "");
        g_free(text);
    }
    g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
    return h;
}

unsigned api_http_port(const struct api_http *h)
{
    return h->port;
}

void api_http_free(struct api_http *h)
{
    if (!h)
        return;
    /* Requests still waiting answer when their session ends (robot.c);
     * any left now only lose their server. */
    for (GList *l = h->waiting; l; l = l->next)
        ((struct pending *)l->data)->h = NULL;
    g_list_free(h->waiting);
    soup_server_disconnect(h->server);
    api_http_drop(h);
}
