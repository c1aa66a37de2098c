/* http_reply.c - setting and writing the response of an HTTP transaction. */
#include "cloud/http_reply.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/edge.h"

void http_reply_set(struct conn *c, unsigned status, const char *type, struct outbuf *body)
{
    struct http_conn *h = c->http;
    if (h->replying) {
        outbuf_unref(body);
        return;
    }
    h->replying = true;
    h->status = status;
    h->type = type;
    h->body = body;
    conn_server(c)->http_replies++;
    lws_callback_on_writable(c->wsi);
}

bool http_reply_header(struct conn *c, const char *name, const char *value)
{
    struct http_conn *h = c->http;
    size_t old = h->headers ? strlen(h->headers) : 0;
    size_t add = strlen(name) + strlen(value) + 3;
    char *more = realloc(h->headers, old + add);
    if (!more)
        return false;
    snprintf(more + old, add, "%s:%s\n", name, value);
    h->headers = more;
    return true;
}

/* Adds the headers of http_reply_header(). Returns 0, or non-zero when
 * they did not fit. */
static int more_headers(struct lws *wsi, const char *lines, unsigned char **p, unsigned char *end)
{
    char name[64];
    for (const char *line = lines; line && *line;) {
        const char *colon = strchr(line, ':'), *nl = strchr(line, '\n');
        if (!colon || !nl || (size_t)(colon - line) + 2 > sizeof name)
            return 1;
        memcpy(name, line, (size_t)(colon - line) + 1);
        name[colon - line + 1] = '\0';
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                        (const unsigned char *)colon + 1, (int)(nl - colon - 1),
                                        p, end))
            return 1;
        line = nl + 1;
    }
    return 0;
}

void http_reply_respond(struct conn *c, unsigned status, const char *type, struct outbuf *body)
{
    if (!body) {
        status = HTTP_STATUS_INTERNAL_SERVER_ERROR;
        type = "application/json";
        if (!(body = outbuf_new("{\"error\":\"out of memory\"}", 25))) {
            /* Nothing can be said: drop the connection (async: we may be
             * inside another connection's callback). */
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
            return;
        }
    }
    http_reply_set(c, status, type, body);
}

/* {"<key>": message} as JSON, or NULL when out of memory. */
static struct outbuf *json_message(const char *key, const char *message)
{
    json_t *j = json_pack("{s:s}", key, message);
    struct outbuf *b = j ? outbuf_take_string(json_dumps(j, JSON_COMPACT)) : NULL;
    json_decref(j);
    return b;
}

int http_reply_message(struct conn *c, unsigned status, const char *key, const char *message)
{
    http_reply_respond(c, status, "application/json", json_message(key, message));
    return 0;
}

/* {"error": message, "code": code} as JSON, or NULL when out of memory. */
static struct outbuf *json_refusal(const char *code, const char *message)
{
    json_t *j = json_pack("{s:s, s:s}", "error", message, "code", code);
    struct outbuf *b = j ? outbuf_take_string(json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER))
                         : NULL;
    json_decref(j);
    return b;
}

int http_reply_refuse(struct conn *c, unsigned status, const char *code, const char *message)
{
    c->http->close = true;
    http_reply_respond(c, status, "application/json", json_refusal(code, message));
    return 0;
}

/* Adds the headers every response of this server carries. Returns 0, or
 * non-zero when they did not fit. */
static int common_headers(struct lws *wsi, bool close, unsigned char **p, unsigned char *end)
{
#define ADD(name, value) \
    lws_add_http_header_by_name(wsi, (const unsigned char *)(name), \
                                (const unsigned char *)(value), (int)strlen(value), p, end)
    const char *hsts = edge_hsts(lws_context_user(lws_get_context(wsi)), wsi);
    return ADD("cache-control:", "no-store") || ADD("x-content-type-options:", "nosniff") ||
           (close && ADD("connection:", "close")) ||
           (hsts && ADD("strict-transport-security:", hsts));
#undef ADD
}

int http_reply_now(struct lws *wsi, unsigned status, const char *code, const char *message)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start;
    unsigned char *end = buf + sizeof(buf) - 1;
    struct outbuf *b = json_refusal(code, message);
    int rc = -1;
    if (b && b->len < 512 &&
        !lws_add_http_common_headers(wsi, status, "application/json", b->len, &p, end) &&
        !common_headers(wsi, true, &p, end) && !lws_finalize_http_header(wsi, &p, end) &&
        (size_t)(end - p) > b->len) {
        memcpy(p, outbuf_payload(b), b->len);
        p += b->len;
        rc = lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP) < 0 ? -1 : 0;
    }
    outbuf_unref(b);
    return rc;
}

/* Writes the headers of c's response. Returns 0, or -1 to close. */
static int write_headers(struct conn *c)
{
    unsigned char hdr[LWS_PRE + 4096], *start = hdr + LWS_PRE, *p = start;
    unsigned char *end = hdr + sizeof(hdr) - 1;
    struct lws *wsi = c->wsi;
    const struct http_conn *h = c->http;
    int fail = h->body ? lws_add_http_common_headers(wsi, h->status, h->type, h->body->len, &p,
                                                     end)
                       : lws_add_http_header_status(wsi, h->status, &p, end);
    fail = fail || common_headers(wsi, h->close, &p, end) ||
           (h->allow && lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
                                                    (const unsigned char *)h->allow,
                                                    (int)strlen(h->allow), &p, end)) ||
           more_headers(wsi, h->headers, &p, end) ||
           lws_finalize_write_http_header(wsi, start, &p, end);
    return fail ? -1 : 0;
}

int http_reply_writeable(struct server *srv, struct conn *c)
{
    struct http_conn *h = c->http;
    if (!h->replying)
        return 0;
    if (!h->headers_sent) {
        if (write_headers(c) != 0)
            return -1;
        h->headers_sent = true;
        if (h->body) {
            lws_callback_on_writable(c->wsi);
            return 0;
        }
    } else {
        struct outbuf *b = h->body;
        h->body = NULL;
        int n = lws_write(c->wsi, outbuf_payload(b), b->len, LWS_WRITE_HTTP_FINAL);
        outbuf_unref(b);
        if (n < 0)
            return -1;
    }
    h->replying = false;
    srv->http_replies--;
    if (h->close)
        return -1; /* lws flushes what it buffered before it closes */
    /* c is freed (and zeroed for the next transaction) in there. */
    return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

void http_reply_release(struct server *srv, struct conn *c)
{
    struct http_conn *h = c->http;
    if (h->replying) {
        h->replying = false;
        srv->http_replies--;
    }
    outbuf_unref(h->body);
    h->body = NULL;
    free(h->headers);
    h->headers = NULL;
}
