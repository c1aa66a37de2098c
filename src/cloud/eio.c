/* eio.c - Socket.IO peers: Engine.IO sessions, their packets and pings,
 * and their WebSocket transport (eio.h). */
#include "cloud/eio.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cloud/codec_sio.h"
#include "cloud/edge.h"
#include "cloud/eio_packet.h"
#include "cloud/http_reply.h"
#include "cloud/router.h"
#include "cloud/ws_conn.h"
#include "common/clock.h"
#include "common/hmap.h"
#include "common/list.h"
#include "common/log.h"

struct eio {
    struct server *srv;
    struct hmap *by_sid;
    struct list sessions;
    size_t count;
    bool stopping;
};

/* WebSocket close codes (RFC 6455, 7.4.1) as sessions end. */
enum {
    CLOSE_NORMAL = 1000,
    CLOSE_PROTOCOL = 1002,    /* a malformed Engine.IO or Socket.IO packet */
    CLOSE_UNSUPPORTED = 1003, /* binary attachments */
};

/* A closing polling session keeps its last packets (the router's error,
 * DISCONNECT) this long for the client's next GET. */
#define CLOSE_GRACE_MS 2000

static void on_timer(lws_sorted_usec_list_t *sul);

/* ---- the router's link ---- */

static int link_send(void *h, struct outbuf *b)
{
    return eio_session_send(h, b);
}

/* Queues a constant packet; returns eio_session_send()'s answer. */
static int send_text(struct eio_session *s, const char *text, size_t len)
{
    struct outbuf *b = outbuf_new(text, len);
    if (!b)
        return -1;
    int rc = eio_session_send(s, b);
    outbuf_unref(b);
    return rc;
}

/* The router closes a peer for policy (rate abuse, refused token, a robot
 * taken over): the client is told DISCONNECT ("41", Socket.IO's "io server
 * disconnect"), so it does not reconnect on its own, as after a native
 * close. */
static void link_close(void *h, int code, const char *reason)
{
    struct eio_session *s = h;
    if (s->transport == EIO_WEBSOCKET || s->closing) {
        send_text(s, "41", 2);
    } else { /* queued, not flushed: a waiting GET gets it with the close packet */
        struct outbuf *b = outbuf_new("41", 2);
        if (b && sendq_push(&s->q, b, SIZE_MAX) != 0)
            sendq_clear(&s->q);
        outbuf_unref(b);
    }
    eio_session_close(s, code, reason);
}

/* Failed authentications count against the address of the connection
 * that carried them: the WebSocket, or the POST being read. */
static void link_auth_failed(void *h, const char *reason)
{
    struct eio_session *s = h;
    struct conn *c = s->transport == EIO_WEBSOCKET ? s->ws : s->post;
    if (c)
        edge_auth_failed(c, reason);
}

const struct conn_link eio_ws_link = {.send = NULL, .close = NULL, .auth_failed = NULL};

static const struct conn_link eio_link = {
    .send = link_send, .close = link_close, .auth_failed = link_auth_failed};

/* ---- the table ---- */

struct eio *eio_new(struct server *srv)
{
    struct eio *e = calloc(1, sizeof(*e));
    if (!e || !(e->by_sid = hmap_new())) {
        free(e);
        return NULL;
    }
    e->srv = srv;
    list_init(&e->sessions);
    return e;
}

size_t eio_count(const struct eio *e)
{
    return e ? e->count : 0;
}

struct eio_session *eio_lookup(struct eio *e, const char *sid, size_t len)
{
    return len == IDS_TOKEN_LEN ? hmap_get(e->by_sid, sid, len) : NULL;
}

static void schedule(struct eio_session *s, int64_t at, int64_t now)
{
    if (s->srv->eio->stopping)
        return;
    int64_t delay = at > now ? at - now : 0;
    lws_sul_schedule(s->srv->ctx, 0, &s->timer, on_timer, delay * LWS_US_PER_MS);
}

/* The Bearer token of wsi's request, or NULL. */
static char *bearer_token(struct lws *wsi)
{
    char hdr[8192];
    int n = lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n <= 7 || strncasecmp(hdr, "Bearer ", 7) != 0)
        return NULL;
    return strdup(hdr + 7);
}

struct eio_session *eio_session_new(struct server *srv, struct lws *wsi,
                                    enum eio_transport t, bool *full)
{
    struct eio *e = srv->eio;
    *full = e->count >= (size_t)srv->cfg.sio_max_sessions;
    if (*full)
        return NULL;
    struct eio_session *s = calloc(1, sizeof(*s));
    if (!s || ids_token(s->sid) != 0) {
        free(s);
        return NULL;
    }
    int64_t now = clock_mono_ms();
    char addr[64] = "?";
    conn_peer_address(wsi, addr, sizeof addr);
    s->link = &eio_link;
    s->srv = srv;
    s->transport = t;
    s->token = bearer_token(wsi);
    s->peer = router_peer_open(srv->router, s, &codec_sio, addr, now);
    if (!s->peer || hmap_put(e->by_sid, s->sid, IDS_TOKEN_LEN, s) != 0) {
        if (s->peer)
            router_peer_closed(srv->router, s->peer);
        free(s->token);
        free(s);
        return NULL;
    }
    list_insert_tail(&e->sessions, &s->node);
    e->count++;
    srv->stats.connections_total++;
    s->ping_at = now + srv->cfg.sio_ping_interval;
    s->register_by = now + srv->cfg.register_timeout * 1000;
    schedule(s, s->ping_at < s->register_by ? s->ping_at : s->register_by, now);
    log_debug("Socket.IO session %.6s... from %s (%s)", s->sid, addr,
              t == EIO_POLLING ? "polling" : "websocket");
    return s;
}

struct outbuf *eio_open_packet(const struct eio_session *s)
{
    const struct cloud_config *cfg = &s->srv->cfg;
    json_t *j = json_pack("{s:s, s:[], s:I, s:I, s:I}", "sid", s->sid, "upgrades",
                          "pingInterval", (json_int_t)cfg->sio_ping_interval, "pingTimeout",
                          (json_int_t)cfg->sio_ping_timeout, "maxPayload",
                          (json_int_t)cfg->max_message);
    if (j && s->transport == EIO_POLLING)
        json_array_append_new(json_object_get(j, "upgrades"), json_string("websocket"));
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    struct outbuf *b = text ? outbuf_new(NULL, strlen(text) + 1) : NULL;
    if (b) {
        outbuf_payload(b)[0] = '0';
        memcpy(outbuf_payload(b) + 1, text, b->len - 1);
    }
    free(text);
    return b;
}

/* Unlinks s from its table, its WebSocket (closed with s's code) and its
 * requests (a waiting GET gets what is queued and the close packet),
 * closes its router peer and frees it. */
static void teardown(struct eio_session *s)
{
    struct server *srv = s->srv;
    struct eio *e = srv->eio;
    s->closing = true;
    if (!e->stopping)
        eio_session_flush_poll(s);
    lws_sul_cancel(&s->timer); /* after the flush, which may schedule it */
    hmap_remove(e->by_sid, s->sid, IDS_TOKEN_LEN);
    list_remove(&s->node);
    e->count--;
    if (s->ws) {
        s->ws->ws.eio = NULL;
        if (!e->stopping)
            ws_conn_close(s->ws, s->close_code ? s->close_code : CLOSE_NORMAL,
                          s->close_reason ? s->close_reason : "session closed");
    }
    if (s->poll)
        s->poll->http->eio = NULL;
    if (s->answered)
        s->answered->http->eio = NULL;
    if (s->post)
        s->post->http->eio = NULL;
    struct peer *p = s->peer;
    s->peer = NULL;
    router_peer_closed(srv->router, p);
    sendq_clear(&s->q);
    free(s->token);
    free(s);
}

void eio_stop(struct eio *e)
{
    if (!e)
        return;
    e->stopping = true;
    struct list *pos;
    list_foreach(pos, &e->sessions)
        lws_sul_cancel(&list_entry(pos, struct eio_session, node)->timer);
}

void eio_free(struct eio *e)
{
    if (!e)
        return;
    e->stopping = true;
    while (!list_empty(&e->sessions)) {
        struct eio_session *s = list_entry(e->sessions.next, struct eio_session, node);
        s->ws = s->poll = s->post = s->answered = NULL; /* gone with the lws context */
        teardown(s);
    }
    hmap_free(e->by_sid);
    free(e);
}

void eio_session_close(struct eio_session *s, int code, const char *reason)
{
    if (s->closing)
        return;
    int64_t now = clock_mono_ms();
    s->closing = true;
    s->close_code = code;
    s->close_reason = reason;
    s->close_by = now + CLOSE_GRACE_MS;
    log_debug("%s: Socket.IO session closing (%d %s)", router_peer_label(s->peer), code, reason);
    eio_session_flush_poll(s);
    schedule(s, now, now);
}

/* ---- sending ---- */

int eio_session_send(struct eio_session *s, struct outbuf *b)
{
    struct server *srv = s->srv;
    if (s->closing || !s->peer || srv->stopping)
        return -1;
    if (s->transport == EIO_WEBSOCKET)
        return s->ws ? ws_conn_send(s->ws, b) : -1;
    if (sendq_push(&s->q, b, (size_t)srv->cfg.max_queue) != 0) {
        log_warn("%s: polling queue full (%zu bytes queued); ending the Socket.IO session",
                 router_peer_label(s->peer), sendq_bytes(&s->q));
        srv->stats.closed_policy++;
        sendq_clear(&s->q);
        eio_session_close(s, ROUTER_CLOSE_POLICY, "send queue full: peer is not reading");
        return -1;
    }
    eio_session_flush_poll(s);
    return 0;
}

/* The polling payload: the queued packets separated by the record
 * separator 0x1e, and the close packet "1" when the session is closing.
 * Returns NULL when out of memory (the queue is then left as it was). */
static struct outbuf *poll_payload(struct eio_session *s)
{
    unsigned n = sendq_count(&s->q);
    size_t total = sendq_bytes(&s->q) + (n ? n - 1 : 0) + (s->closing ? 1 + (n > 0) : 0);
    struct outbuf *out = outbuf_new(NULL, total);
    if (!out)
        return NULL;
    unsigned char *p = outbuf_payload(out);
    struct outbuf *b;
    for (unsigned i = 0; (b = sendq_pop(&s->q)); i++) {
        if (i)
            *p++ = 0x1e;
        memcpy(p, outbuf_payload(b), b->len);
        p += b->len;
        outbuf_unref(b);
    }
    if (s->closing) {
        if (n)
            *p++ = 0x1e;
        *p++ = '1';
    }
    return out;
}

void eio_session_flush_poll(struct eio_session *s)
{
    struct conn *c = s->poll;
    if (!c || (!sendq_count(&s->q) && !s->closing))
        return;
    s->poll = NULL;
    /* One answer watched at a time: a client that polled again before the
     * last answer was all written (on another connection) gives up the
     * watch on that one, which must then no longer point here. */
    if (s->answered && s->answered != c)
        s->answered->http->eio = NULL;
    s->answered = c; /* c->http->eio stays s until the response is written */
    http_reply_respond(c, HTTP_STATUS_OK, "text/plain; charset=UTF-8", poll_payload(s));
    if (s->closing)
        schedule(s, 0, 0); /* delivered: the teardown need not wait */
}

/* Answers a waiting GET with a noop, so that the client's poll ends (an
 * upgrade is under way). */
static void poll_release_noop(struct eio_session *s)
{
    struct conn *c = s->poll;
    if (!c)
        return;
    s->poll = NULL;
    c->http->eio = NULL;
    http_reply_respond(c, HTTP_STATUS_OK, "text/plain; charset=UTF-8", outbuf_new("6", 1));
}

/* ---- the timer: pings, pong and registration deadlines, teardown ---- */

static void on_timer(lws_sorted_usec_list_t *sul)
{
    struct eio_session *s = lws_container_of(sul, struct eio_session, timer);
    const struct cloud_config *cfg = &s->srv->cfg;
    int64_t now = clock_mono_ms();
    if (s->closing) {
        if (s->transport == EIO_POLLING && sendq_count(&s->q) && now < s->close_by)
            schedule(s, s->close_by, now);
        else
            teardown(s);
        return;
    }
    if (!router_peer_registered(s->peer) && now >= s->register_by) {
        log_info("%s: Socket.IO peer did not register within %lds; closing",
                 router_peer_label(s->peer), cfg->register_timeout);
        link_close(s, ROUTER_CLOSE_POLICY, "registration timeout");
        return;
    }
    if (s->awaiting_pong && now >= s->pong_by) {
        log_info("%s: no Engine.IO pong within %ld ms; closing", router_peer_label(s->peer),
                 cfg->sio_ping_timeout);
        eio_session_close(s, CLOSE_NORMAL, "ping timeout");
        return;
    }
    if (now >= s->ping_at) {
        send_text(s, "2", 1);
        s->awaiting_pong = true;
        s->pong_by = now + cfg->sio_ping_timeout;
        s->ping_at = now + cfg->sio_ping_interval;
    }
    int64_t next = s->ping_at;
    if (s->awaiting_pong && s->pong_by < next)
        next = s->pong_by;
    if (!router_peer_registered(s->peer) && s->register_by < next)
        next = s->register_by;
    schedule(s, next, now);
}

/* ---- packets from the peer ---- */

/* A malformed packet: logged, and the session ends. Returns false. */
static bool malformed(struct eio_session *s, const char *what)
{
    log_info("%s: %s; ending the Socket.IO session", router_peer_label(s->peer), what);
    eio_session_close(s, CLOSE_PROTOCOL, what);
    return false;
}

/* Binary data (a Socket.IO BINARY_EVENT or BINARY_ACK, or an Engine.IO
 * binary packet) is refused: the peer is told why in an `error` event,
 * then the session ends (the attachments that follow could not be read). */
static bool binary_refused(struct eio_session *s)
{
    static const char msg[] = "42[\"error\",{\"code\":\"binary-not-supported\",\"message\":"
                              "\"binary attachments are not accepted: send JSON only\"}]";
    log_info("%s: binary attachment refused; ending the Socket.IO session",
             router_peer_label(s->peer));
    send_text(s, msg, sizeof msg - 1);
    eio_session_close(s, CLOSE_UNSUPPORTED, "binary attachments are not accepted");
    return false;
}

/* 44[/ns,]{"message": text}: Socket.IO's CONNECT_ERROR. */
static void connect_error(struct eio_session *s, const char *ns, size_t nslen, const char *text)
{
    json_t *j = json_pack("{s:s}", "message", text);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    char buf[320];
    int n = body ? snprintf(buf, sizeof buf, "44%.*s%s%s", (int)(nslen > 100 ? 100 : nslen),
                            ns, nslen ? "," : "", body)
                 : -1;
    free(body);
    if (n > 0 && (size_t)n < sizeof buf)
        send_text(s, buf, (size_t)n);
}

/* CONNECT to the default namespace, with an optional auth object whose
 * "token" (a string) stands for the registration's token. */
static bool on_connect(struct eio_session *s, const char *data, size_t len)
{
    if (s->connected)
        return true; /* a repeated CONNECT changes nothing */
    json_t *auth = NULL;
    if (len) {
        auth = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
        json_t *token = json_object_get(auth, "token");
        if (!json_is_object(auth) || (token && !json_is_string(token))) {
            json_decref(auth);
            connect_error(s, "", 0, "the CONNECT payload must be a JSON object whose "
                          "\"token\", if any, is a string");
            return true;
        }
        if (token) {
            free(s->token);
            s->token = strdup(json_string_value(token));
        }
        json_decref(auth);
    }
    char sid[IDS_TOKEN_LEN + 1], buf[64];
    if (ids_token(sid) != 0)
        return malformed(s, "no randomness for a Socket.IO id");
    int n = snprintf(buf, sizeof buf, "40{\"sid\":\"%s\"}", sid);
    s->connected = true;
    send_text(s, buf, (size_t)n);
    return true;
}

/* Hands the router one EVENT as "42[...]" (text, len). A viewer's or
 * robot's registration without a token of its own carries the session's
 * (CONNECT's auth.token, else the Bearer token), as a native peer would
 * put it in the message. */
static void deliver(struct eio_session *s, const char *text, size_t len, int64_t now)
{
    struct server *srv = s->srv;
    struct outbuf *with_token = NULL;
    if (s->token && !router_peer_registered(s->peer)) {
        with_token = eio_with_token(text, len, s->token);
        if (with_token) {
            text = (const char *)outbuf_payload(with_token);
            len = with_token->len;
        }
    }
    router_peer_message(srv->router, s->peer, text, len, now);
    outbuf_unref(with_token);
    server_schedule_tick(srv);
}

/* An EVENT (pkt, len: the whole Engine.IO packet; in: as read). */
static bool on_event(struct eio_session *s, const char *pkt, size_t len,
                     const struct eio_in_packet *in, int64_t now)
{
    if (!s->connected) {
        connect_error(s, "", 0, "send CONNECT (40) before any event");
        return true;
    }
    if (!in->has_ack) {
        deliver(s, pkt, len, now); /* "42[...]" as it came: no copy */
        return true;
    }
    char *text = malloc(in->len + 2);
    if (!text)
        return malformed(s, "out of memory");
    text[0] = '4';
    text[1] = '2';
    memcpy(text + 2, in->data, in->len);
    deliver(s, text, in->len + 2, now);
    free(text);
    /* After the router has answered (an `error` event, if any, is queued
     * first): the acknowledgement says the cloud handled the message. */
    char buf[24];
    int n = snprintf(buf, sizeof buf, "43%lu[]", in->ack);
    send_text(s, buf, (size_t)n);
    return true;
}

bool eio_session_input(struct eio_session *s, const char *pkt, size_t len, int64_t now)
{
    if (s->closing)
        return true; /* ending: the rest is not read */
    struct eio_in_packet in;
    eio_packet_parse(pkt, len, &in);
    switch (in.kind) {
    case EIO_IN_MALFORMED:
        return malformed(s, in.error);
    case EIO_IN_CLOSE:
        eio_session_close(s, CLOSE_NORMAL, "closed by the client");
        sendq_clear(&s->q);
        return true;
    case EIO_IN_PING: {
        char buf[EIO_PING_PAYLOAD_MAX + 1];
        buf[0] = '3';
        memcpy(buf + 1, in.data, in.len);
        send_text(s, buf, in.len + 1);
        return true;
    }
    case EIO_IN_PONG:
        s->awaiting_pong = false;
        return true;
    case EIO_IN_NOOP:
    case EIO_IN_ACK: /* the cloud never asks for acknowledgements */
        return true;
    case EIO_IN_BINARY:
        return binary_refused(s);
    case EIO_IN_CONNECT:
        return on_connect(s, in.data, in.len);
    case EIO_IN_BAD_NAMESPACE:
        connect_error(s, in.ns, in.nslen, "Invalid namespace");
        return true;
    case EIO_IN_DISCONNECT:
        eio_session_close(s, CLOSE_NORMAL, "disconnected by the client");
        sendq_clear(&s->q);
        return true;
    case EIO_IN_EVENT:
        return on_event(s, pkt, len, &in, now);
    }
    return malformed(s, "malformed Engine.IO packet");
}

/* ---- the WebSocket transport ---- */

int eio_ws_open(struct server *srv, struct conn *c, struct lws *wsi)
{
    memset(c, 0, sizeof(*c));
    c->wsi = wsi;
    c->ws.confirmed_ms = (uint32_t)clock_mono_ms() - srv->confirm_every_ms;
    char buf[64];
    const char *sid = lws_get_urlarg_by_name(wsi, "sid=", buf, sizeof buf);
    struct eio_session *s;
    if (sid) {
        /* The probe of an upgrade: checked at the upgrade, and again now. */
        s = eio_lookup(srv->eio, sid, strlen(sid));
        if (!s || s->closing || s->transport != EIO_POLLING || s->ws)
            return -1;
    } else {
        bool full;
        s = eio_session_new(srv, wsi, EIO_WEBSOCKET, &full);
        if (!s)
            return -1;
    }
    c->link = &eio_ws_link;
    c->ws.eio = s;
    s->ws = c;
    srv->conns++;
    if (!sid) {
        struct outbuf *open = eio_open_packet(s);
        if (!open || ws_conn_send(c, open) != 0) {
            outbuf_unref(open);
            return -1;
        }
        outbuf_unref(open);
    }
    return 0;
}

/* Moves what waits for the polling transport to the WebSocket, which is
 * the session's transport from now on. */
static void upgrade(struct eio_session *s)
{
    s->transport = EIO_WEBSOCKET;
    poll_release_noop(s);
    struct outbuf *b;
    while ((b = sendq_pop(&s->q))) {
        ws_conn_send(s->ws, b);
        outbuf_unref(b);
    }
    sendq_clear(&s->q);
    log_debug("%s: Socket.IO session upgraded to WebSocket", router_peer_label(s->peer));
}

void eio_ws_message(struct server *srv, struct conn *c, const char *data, size_t len)
{
    (void)srv;
    struct eio_session *s = c->ws.eio;
    if (!s)
        return; /* its session is gone: this WebSocket is closing */
    if (s->ws == c && s->transport == EIO_POLLING && !s->closing) {
        /* Probing: "2probe" -> "3probe", then "5" upgrades. */
        if (len == 6 && memcmp(data, "2probe", 6) == 0) {
            struct outbuf *b = outbuf_new("3probe", 6);
            if (b)
                ws_conn_send(c, b);
            outbuf_unref(b);
            poll_release_noop(s);
        } else if (len == 1 && data[0] == '5') {
            upgrade(s);
        } else if (!(len == 1 && data[0] == '6')) {
            log_info("%s: unexpected packet while probing the upgrade; closing the WebSocket",
                     router_peer_label(s->peer));
            s->ws = NULL;
            c->ws.eio = NULL;
            ws_conn_close(c, CLOSE_PROTOCOL, "expected 2probe or 5 during the upgrade");
        }
        return;
    }
    eio_session_input(s, data, len, clock_mono_ms());
}

void eio_ws_closed(struct server *srv, struct conn *c)
{
    (void)srv;
    struct eio_session *s = c->ws.eio;
    c->ws.eio = NULL;
    if (!s || s->ws != c)
        return;
    s->ws = NULL;
    if (s->transport == EIO_WEBSOCKET)
        teardown(s); /* the peer's transport is gone */
}
