/* eio_poll.c - Socket.IO's HTTP side: query, errors, long-polling GET and
 * POST, and the upgrade check (eio_poll.h). */
#include "cloud/eio_poll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/edge.h"
#include "cloud/eio.h"
#include "cloud/eio_packet.h"
#include "cloud/http_reply.h"
#include "common/clock.h"
#include "common/log.h"

static const char *const error_text[] = {
    [EIO_ERR_TRANSPORT] = "Transport unknown",
    [EIO_ERR_SID] = "Session ID unknown",
    [EIO_ERR_HANDSHAKE_METHOD] = "Bad handshake method",
    [EIO_ERR_BAD_REQUEST] = "Bad request",
    [EIO_ERR_FORBIDDEN] = "Forbidden",
    [EIO_ERR_VERSION] = "Unsupported protocol version",
};

/* The query of a request to /socket.io/. */
struct eio_query {
    bool websocket;                /* transport=websocket (else polling) */
    bool has_sid;
    char sid[IDS_TOKEN_LEN + 2];   /* one more: a longer sid is unknown */
};

bool eio_poll_path(const char *uri)
{
    return strcmp(uri, "/socket.io/") == 0 || strcmp(uri, "/socket.io") == 0;
}

/* Reads wsi's query into q. Returns -1 with *err for an EIO other than 4
 * or a transport other than polling and websocket. */
static int parse_query(struct lws *wsi, struct eio_query *q, enum eio_error *err)
{
    char buf[96];
    const char *v = lws_get_urlarg_by_name(wsi, "EIO=", buf, sizeof buf);
    if (!v || strcmp(v, "4") != 0) {
        *err = EIO_ERR_VERSION;
        return -1;
    }
    v = lws_get_urlarg_by_name(wsi, "transport=", buf, sizeof buf);
    if (!v || (strcmp(v, "polling") != 0 && strcmp(v, "websocket") != 0)) {
        *err = EIO_ERR_TRANSPORT;
        return -1;
    }
    q->websocket = strcmp(v, "websocket") == 0;
    v = lws_get_urlarg_by_name(wsi, "sid=", buf, sizeof buf);
    q->has_sid = v != NULL;
    snprintf(q->sid, sizeof q->sid, "%s", v ? v : "");
    return 0;
}

/* {"code":N,"message":"..."}, or NULL when out of memory. */
static struct outbuf *error_body(enum eio_error e, const char *message)
{
    char buf[160];
    int n = snprintf(buf, sizeof buf, "{\"code\":%d,\"message\":\"%s\"}", (int)e,
                     message ? message : error_text[e]);
    return outbuf_new(buf, (size_t)n);
}

static unsigned error_status(enum eio_error e)
{
    return e == EIO_ERR_FORBIDDEN ? HTTP_STATUS_FORBIDDEN : HTTP_STATUS_BAD_REQUEST;
}

/* Answers c's request with the error (status by error_status unless
 * status is not 0). Returns 0. */
static int reply_error(struct conn *c, enum eio_error e, unsigned status, const char *message)
{
    http_reply_respond(c, status ? status : error_status(e), "application/json",
                       error_body(e, message));
    return 0;
}

static int reply_text(struct conn *c, const char *type, const char *text)
{
    http_reply_respond(c, HTTP_STATUS_OK, type, outbuf_new(text, strlen(text)));
    return 0;
}

/* A new session for a handshake GET: the open packet. */
static int handshake(struct server *srv, struct conn *c)
{
    bool full;
    struct eio_session *s = eio_session_new(srv, c->wsi, EIO_POLLING, &full);
    if (!s) {
        if (!full)
            return reply_error(c, EIO_ERR_BAD_REQUEST, HTTP_STATUS_INTERNAL_SERVER_ERROR,
                               "out of memory");
        srv->stats.connections_refused++;
        return reply_error(c, EIO_ERR_FORBIDDEN, HTTP_STATUS_SERVICE_UNAVAILABLE,
                           "too many Socket.IO sessions (--sio-max-sessions)");
    }
    http_reply_respond(c, HTTP_STATUS_OK, "text/plain; charset=UTF-8", eio_open_packet(s));
    return 0;
}

/* A POST's framing: a Content-Length within --max-message. Returns 0, or
 * -1 after answering (and ending the session when the body is too big). */
static int post_length(struct server *srv, struct conn *c, struct eio_session *s)
{
    char cl[24];
    long long length = -1;
    if (lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) <= 0 &&
        lws_hdr_copy(c->wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
        length = strtoll(cl, NULL, 10);
    if (length <= 0) {
        c->http->close = true;
        reply_error(c, EIO_ERR_BAD_REQUEST, 0, "a POST needs a Content-Length and a body");
        return -1;
    }
    if (length > srv->cfg.max_message) {
        c->http->close = true;
        log_info("%s: Socket.IO POST of %lld bytes, over maxPayload; ending the session",
                 router_peer_label(s->peer), length);
        eio_session_close(s, 1009, "payload too large");
        reply_error(c, EIO_ERR_BAD_REQUEST, HTTP_STATUS_REQ_ENTITY_TOO_LARGE,
                    "Payload too large (maxPayload)");
        return -1;
    }
    return 0;
}

int eio_poll_request(struct server *srv, struct conn *c)
{
    struct lws *wsi = c->wsi;
    bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    struct eio_query q;
    enum eio_error err;
    if (parse_query(wsi, &q, &err) != 0)
        return reply_error(c, err, 0, NULL);
    if (q.websocket) /* over plain HTTP: not an upgrade */
        return reply_error(c, EIO_ERR_BAD_REQUEST, 0, NULL);
    if (!q.has_sid)
        return get ? handshake(srv, c) : reply_error(c, EIO_ERR_HANDSHAKE_METHOD, 0, NULL);
    struct eio_session *s = eio_lookup(srv->eio, q.sid, strlen(q.sid));
    if (!s || (s->closing && !get))
        return reply_error(c, EIO_ERR_SID, 0, NULL);
    if (s->transport != EIO_POLLING || (!get && !post))
        return reply_error(c, EIO_ERR_BAD_REQUEST, 0, NULL);
    if ((get && s->poll) || (post && s->post)) {
        log_info("%s: overlapping Socket.IO %s requests; ending the session",
                 router_peer_label(s->peer), get ? "GET" : "POST");
        eio_session_close(s, 1002, "overlapping polling requests");
        return reply_error(c, EIO_ERR_BAD_REQUEST, 0, NULL);
    }
    c->http->eio = s;
    if (get) {
        s->poll = c;
        /* Held until a packet comes: the next ping at the latest. */
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
        eio_session_flush_poll(s);
        return 0;
    }
    if (post_length(srv, c, s) != 0) {
        c->http->eio = NULL;
        return 0;
    }
    s->post = c;
    c->http->eio_post = true;
    return 0;
}

int eio_poll_body(struct server *srv, struct conn *c, const void *in, size_t len)
{
    size_t max = (size_t)srv->cfg.max_message;
    if (!c->http->eio_post || c->http->replying)
        return 0;
    if (c->rx.len + len > max || !conn_rx_append(c, in, len, max)) {
        /* Content-Length was checked: a body that lied, or no memory. */
        struct eio_session *s = c->http->eio;
        if (s)
            eio_session_close(s, 1009, "payload too large");
        conn_rx_release(c);
        c->http->close = true;
        return reply_error(c, EIO_ERR_BAD_REQUEST, HTTP_STATUS_REQ_ENTITY_TOO_LARGE,
                           "Payload too large (maxPayload)");
    }
    return 0;
}

int eio_poll_body_complete(struct server *srv, struct conn *c)
{
    (void)srv;
    struct eio_session *s = c->http->eio;
    c->http->eio_post = false;
    if (c->http->replying) {
        conn_rx_release(c);
        return 0;
    }
    if (!s) { /* the session ended while the body came */
        conn_rx_release(c);
        return reply_error(c, EIO_ERR_SID, 0, NULL);
    }
    s->post = NULL;
    c->http->eio = NULL;
    int64_t now = clock_mono_ms();
    bool ok = true;
    const char *pos = c->rx.data, *end = pos + c->rx.len, *pkt;
    size_t len;
    while (ok && eio_payload_next(&pos, end, &pkt, &len))
        ok = eio_session_input(s, pkt, len, now);
    conn_rx_release(c);
    return ok ? reply_text(c, "text/html", "ok") : reply_error(c, EIO_ERR_BAD_REQUEST, 0, NULL);
}

void eio_poll_release(struct server *srv, struct conn *c)
{
    struct eio_session *s = c->http->eio;
    c->http->eio = NULL;
    c->http->eio_post = false;
    if (!s)
        return;
    if (s->poll == c && srv->stopping) {
        s->poll = NULL; /* every session ends with the server */
    } else if (s->poll == c) {
        s->poll = NULL;
        /* A GET still waiting for packets lost its connection: the client
         * went away without a close packet. Engine.IO's server ends the
         * session then ("poll connection closed prematurely"), which frees
         * the peer at once instead of after its pings time out. Seen at
         * once for a reset; a FIN within a second (server.c's scan of
         * waiting requests: libwebsockets does not read a connection whose
         * request is unanswered). A GET the server ends itself is answered first, and
         * so no longer waiting (an upgrade's noop, the session's close). */
        log_info("%s: Socket.IO polling connection closed while its GET waited; ending the "
                 "session", router_peer_label(s->peer));
        eio_session_close(s, 1006 /* abnormal: the transport was lost */,
                          "poll connection closed prematurely");
    }
    if (s->post == c)
        s->post = NULL;
    if (s->answered == c) {
        s->answered = NULL;
        /* The connection ended before the response with the session's
         * packets was all written: they are lost, and Engine.IO has no
         * retransmission. Engine.IO's own server ends the session then
         * ("poll connection closed prematurely"); so does this one, rather
         * than leave the peer present until its pings time out. */
        if (c->http->replying) {
            log_info("%s: Socket.IO polling connection closed before its packets were "
                     "written; ending the session", router_peer_label(s->peer));
            eio_session_close(s, 1006 /* abnormal: the transport was lost */,
                              "poll connection closed prematurely");
        }
    }
}

bool eio_poll_waiting(const struct conn *c)
{
    const struct eio_session *s = c->http ? c->http->eio : NULL;
    return s && s->poll == c;
}

/* Writes the error as the whole response on wsi at once (an upgrade
 * cannot wait for the writeable callback). Returns -1 (close). */
static int write_error_now(struct lws *wsi, enum eio_error e, unsigned status,
                           const char *message)
{
    unsigned char buf[LWS_PRE + 768], *start = buf + LWS_PRE, *p = start;
    unsigned char *end = buf + sizeof(buf) - 1;
    struct outbuf *b = error_body(e, message);
    if (b && !lws_add_http_common_headers(wsi, status ? status : error_status(e),
                                          "application/json", b->len, &p, end) &&
        !lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
                                     (const unsigned char *)"close", 5, &p, end) &&
        !lws_finalize_http_header(wsi, &p, end) && (size_t)(end - p) > b->len) {
        memcpy(p, outbuf_payload(b), b->len);
        p += b->len;
        lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP);
    }
    outbuf_unref(b);
    return -1;
}

int eio_poll_upgrade_check(struct server *srv, struct lws *wsi)
{
    struct eio_query q;
    enum eio_error err;
    if (parse_query(wsi, &q, &err) != 0)
        return write_error_now(wsi, err, 0, NULL);
    if (!q.websocket)
        return write_error_now(wsi, EIO_ERR_BAD_REQUEST, 0, NULL);
    if (q.has_sid) {
        struct eio_session *s = eio_lookup(srv->eio, q.sid, strlen(q.sid));
        if (!s || s->closing)
            return write_error_now(wsi, EIO_ERR_SID, 0, NULL);
        if (s->transport != EIO_POLLING || s->ws)
            return write_error_now(wsi, EIO_ERR_BAD_REQUEST, 0, NULL);
        return 0;
    }
    if (eio_count(srv->eio) >= (size_t)srv->cfg.sio_max_sessions) {
        srv->stats.connections_refused++;
        return write_error_now(wsi, EIO_ERR_FORBIDDEN, HTTP_STATUS_SERVICE_UNAVAILABLE,
                               "too many Socket.IO sessions (--sio-max-sessions)");
    }
    return 0;
}

bool eio_poll_is_upgrade(struct lws *wsi)
{
    char uri[16];
    return lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) > 0 && eio_poll_path(uri);
}
