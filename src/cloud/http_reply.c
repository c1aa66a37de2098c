/* http_reply.c - setting and writing the response of an HTTP transaction. */
#include "cloud/http_reply.h"

#include <jansson.h>
#include <string.h>

void http_reply_set(struct conn *c, unsigned status, const char *type, struct outbuf *body)
{
    struct http_conn *h = &c->http;
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

/* Writes the headers of c's response. Returns 0, or -1 to close. */
static int write_headers(struct conn *c)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start;
    unsigned char *end = hdr + sizeof(hdr) - 1;
    struct lws *wsi = c->wsi;
    const struct http_conn *h = &c->http;
#define ADD(name, value) \
    lws_add_http_header_by_name(wsi, (const unsigned char *)(name), \
                                (const unsigned char *)(value), (int)strlen(value), &p, end)
    int fail = h->body ? lws_add_http_common_headers(wsi, h->status, h->type, h->body->len, &p,
                                                     end)
                       : lws_add_http_header_status(wsi, h->status, &p, end);
    fail = fail || ADD("cache-control:", "no-store") || ADD("x-content-type-options:", "nosniff") ||
           (h->allow && ADD("allow:", h->allow)) || (h->close && ADD("connection:", "close")) ||
           lws_finalize_write_http_header(wsi, start, &p, end);
#undef ADD
    return fail ? -1 : 0;
}

int http_reply_writeable(struct server *srv, struct conn *c)
{
    struct http_conn *h = &c->http;
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
    struct http_conn *h = &c->http;
    if (h->replying) {
        h->replying = false;
        srv->http_replies--;
    }
    outbuf_unref(h->body);
    h->body = NULL;
}
