/* ws_conn.c - a WebSocket connection: reassembly and limits on receive,
 * its send queue written in batches, and closing. */
#include "cloud/ws_conn.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cloud/codec_json.h"
#include "cloud/edge.h"
#include "cloud/eio.h"
#include "cloud/sendq.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/utf8.h"

/* A lone message is written in place: lws puts its frame header into the
 * outbuf's headroom. */
static_assert(LWS_PRE <= OUTBUF_HEADROOM, "outbuf headroom must fit the lws frame header");

/* Close codes of RFC 6455 section 7.4.1, as this server uses them. */
enum {
    CLOSE_UNSUPPORTED_DATA = 1003, /* binary frame */
    CLOSE_INVALID_PAYLOAD = 1007,  /* text that is not UTF-8 */
    CLOSE_POLICY = 1008,           /* send queue overflow, rate abuse */
    CLOSE_TOO_BIG = 1009,          /* message over --max-message */
};

/* Messages written per writeable callback at most. */
#define WRITE_BATCH 16

/* ---- send queue ---- */

/* Empties c's send queue, keeping the count over all connections. */
static void queue_clear(struct server *srv, struct conn *c)
{
    srv->queued -= sendq_count(&c->ws.q);
    sendq_clear(&c->ws.q);
}

/* Seconds a closing connection may take to flush its queue and close
 * frame before it is dropped: a peer that stopped reading never makes the
 * socket writeable again. */
#define CLOSE_FLUSH_SECS 3

/* Closes c with code. What is queued still goes out first, then the close
 * frame, within CLOSE_FLUSH_SECS. With drop_queue (the peer does not read,
 * so nothing would get through) the connection is dropped at once. */
static void ws_close(struct server *srv, struct conn *c, int code, const char *reason,
                     bool drop_queue)
{
    if (c->ws.close_code)
        return;
    c->ws.close_code = code;
    c->ws.close_reason = reason;
    if (code == CLOSE_POLICY)
        srv->stats.closed_policy++;
    if (drop_queue) {
        queue_clear(srv, c);
        /* Async: we may be inside another connection's callback. */
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        return;
    }
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, CLOSE_FLUSH_SECS);
    lws_callback_on_writable(c->wsi);
}

/* Puts c on srv->flush (epoll: ws_conn_flush writes it before the loop
 * next waits for events). False when the list cannot grow: POLLOUT then. */
static bool flush_list(struct server *srv, struct conn *c)
{
    if (srv->flush_len == srv->flush_cap) {
        size_t cap = srv->flush_cap ? srv->flush_cap * 2 : 64;
        struct conn **f = realloc(srv->flush, cap * sizeof(*f));
        if (!f)
            return false;
        srv->flush = f;
        srv->flush_cap = cap;
    }
    srv->flush[srv->flush_len++] = c;
    c->ws.flush_listed = true;
    return true;
}

void ws_conn_flush(void *server)
{
    struct server *srv = server;
    /* ws_conn_writeable() sends nothing new to another connection, so the
     * list does not grow while it is walked; a failed write closes its
     * connection asynchronously (we are outside lws's callbacks). */
    for (size_t i = 0; i < srv->flush_len; i++) {
        struct conn *c = srv->flush[i];
        if (!c)
            continue;
        c->ws.flush_listed = false;
        /* lws still holds part of an earlier write: the socket is full, and
         * lws already waits for POLLOUT. Writing now would move the queue
         * into lws's unbounded buffer, past --max-queue's check. */
        if (lws_partial_buffered(c->wsi)) {
            lws_callback_on_writable(c->wsi);
            continue;
        }
        if (!srv->stopping && ws_conn_writeable(srv, c) < 0)
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
    srv->flush_len = 0;
}

/* A peer that does not read fast enough is dropped: see sendq_push() for
 * the overflow rule. */
int ws_conn_send(void *conn, struct outbuf *b)
{
    struct conn *c = conn;
    struct server *srv = conn_server(c);
    if (srv->stopping || c->ws.close_code)
        return -1;
    if (sendq_push(&c->ws.q, b, (size_t)srv->cfg.max_queue) != 0) {
        log_warn("%s: send queue full (%zu bytes queued); closing with 1008",
                 router_peer_label(c->ws.peer), sendq_bytes(&c->ws.q));
        ws_close(srv, c, CLOSE_POLICY, "send queue full: peer is not reading", true);
        return -1;
    }
    srv->queued++;
    if (c->ws.flush_listed)
        return 0;
    if (srv->write_at_end && flush_list(srv, c))
        return 0;
    lws_callback_on_writable(c->wsi);
    return 0;
}

void ws_conn_close(void *conn, int code, const char *reason)
{
    struct conn *c = conn;
    ws_close(conn_server(c), c, code, reason, false);
}

/* Writes queued messages, at most WRITE_BATCH per callback so that one
 * busy peer cannot starve the others. A lone message goes out in place
 * (lws writes its frame header into the outbuf's headroom). Several are
 * framed one after another into srv->wbuf (sendq_pop_frames) and written
 * with one lws_write(LWS_WRITE_RAW): one send() and one TCP segment
 * instead of one each. That is allowed because this server uses no
 * WebSocket extension (permessage-deflate would have to frame) and speaks
 * only HTTP/1.1 (no WebSocket over HTTP/2), and every frame is complete:
 * what the socket does not take, lws buffers whole and sends first next
 * time, before any frame of its own (ping, pong, close). Writing stops
 * when lws had to buffer (lws_partial_buffered: a flag test, where
 * lws_send_pipe_choked cost a poll() per write). Returns -1 to close the
 * connection. */
int ws_conn_writeable(struct server *srv, struct conn *c)
{
    struct sendq *q = &c->ws.q;
    if (!sendq_count(q)) {
        /* Closing, queue flushed: the close frame goes from the timer
         * (ws_conn_timer says why). */
        if (c->ws.close_code)
            lws_set_timer_usecs(c->wsi, 1);
        return 0;
    }
    unsigned k = 0;
    while (k < WRITE_BATCH && sendq_count(q)) {
        int n;
        if (sendq_count(q) == 1 ||
            sendq_peek(q)->len > WRITE_COALESCE_BYTES - SENDQ_FRAME_HEADER_MAX) {
            struct outbuf *b = sendq_pop(q);
            srv->queued--;
            n = lws_write(c->wsi, outbuf_payload(b), b->len, LWS_WRITE_TEXT);
            outbuf_unref(b);
            k++;
        } else {
            unsigned char *out = srv->wbuf + LWS_PRE;
            unsigned popped;
            size_t used = sendq_pop_frames(q, out, WRITE_COALESCE_BYTES, WRITE_BATCH - k, &popped);
            srv->queued -= popped;
            k += popped;
            n = lws_write(c->wsi, out, used, LWS_WRITE_RAW);
        }
        if (n < 0)
            return -1;
        if (lws_partial_buffered(c->wsi))
            break;
    }
    if (sendq_count(q) || c->ws.close_code)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* ---- receive ---- */

/* A whole text message: to the router, or on a Socket.IO WebSocket to its
 * Engine.IO session. */
static void deliver(struct server *srv, struct conn *c, const char *data, size_t len,
                    int64_t now)
{
    /* Checked here, on the whole message, rather than by lws as frames
     * come (LWS_SERVER_OPTION_VALIDATE_UTF8): lws's check walks every byte
     * through a state machine (4% of the server's CPU per relayed message
     * in S3), utf8_valid takes ASCII eight bytes at a time. */
    if (!utf8_valid(data, len)) {
        srv->stats.closed_invalid_utf8++;
        log_info("%s: text that is not UTF-8; closing with 1007", router_peer_label(c->ws.peer));
        ws_close(srv, c, CLOSE_INVALID_PAYLOAD, "invalid UTF-8", false);
        return;
    }
    if (conn_is_sio_ws(c)) {
        eio_ws_message(srv, c, data, len);
        return;
    }
    router_peer_message(srv->router, c->ws.peer, data, len, now);
    server_schedule_tick(srv);
}

/* Marks c's peer alive: any frame proves it, not only a pong, so a busy
 * peer whose client library answers pings late is not dropped. The
 * keepalive is the server's own (ws_conn_keepalive), not lws's: lws keeps
 * a timer per connection in one list sorted by time and re-inserts it on
 * every confirmation by walking the list from its head, past every other
 * connection's (O(connections): 74% of the server's time registering
 * 15,000 clients); a timestamp costs nothing. */
static void conn_confirm_alive(struct conn *c, int64_t now)
{
    c->ws.confirmed_ms = (uint32_t)now;
}

/* The close frame is set and the connection closed from its timer, never
 * from a socket event: lws 4.1 as Debian builds it (_DEBUG) closes a
 * connection a second time right after a close that a socket event
 * returned on the libuv loop (--event-loop epoll), and that second close
 * drops the connection before the close frame is written. A timer's close
 * is made once, on either loop. */
bool ws_conn_timer(struct conn *c)
{
    if (!c->ws.close_code || sendq_count(&c->ws.q))
        return false;
    lws_close_reason(c->wsi, (enum lws_close_status)c->ws.close_code,
                     (unsigned char *)(uintptr_t)c->ws.close_reason,
                     strlen(c->ws.close_reason));
    return true;
}

void ws_conn_pong(struct conn *c)
{
    conn_confirm_alive(c, clock_mono_ms());
}

void ws_conn_keepalive(struct server *srv, struct conn *c, int64_t now)
{
    if (c->ws.close_code)
        return; /* closing: CLOSE_FLUSH_SECS bounds it */
    uint32_t idle = (uint32_t)now - c->ws.confirmed_ms;
    uint32_t ping_ms = (uint32_t)srv->cfg.ping_interval * 1000;
    if (idle >= 2 * ping_ms) {
        log_debug("%s: nothing received for %u ms (2 x --ping-interval); hanging up",
                 c->ws.peer ? router_peer_label(c->ws.peer) : "Socket.IO WebSocket", idle);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        return;
    }
    /* A ping per scan while the peer is silent: a live one answers the
     * first. Only between whole frames: when lws holds the rest of one,
     * the next scan tries again. One byte of payload, because lws hands
     * an empty pong to no callback (ws_conn_pong). */
    if (idle >= ping_ms && !lws_partial_buffered(c->wsi)) {
        unsigned char buf[LWS_PRE + 1];
        buf[LWS_PRE] = 'k';
        if (lws_write(c->wsi, buf + LWS_PRE, 1, LWS_WRITE_PING) < 0)
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
}

int ws_conn_receive(struct server *srv, struct conn *c, const char *in, size_t len)
{
    if (c->ws.close_code)
        return 0; /* closing: ignore the rest */
    size_t max = (size_t)srv->cfg.max_message;
    if (lws_frame_is_binary(c->wsi)) {
        srv->stats.closed_binary++;
        ws_close(srv, c, CLOSE_UNSUPPORTED_DATA, "binary frames are not accepted", false);
        return 0;
    }
    bool first = lws_is_first_fragment(c->wsi), last = lws_is_final_fragment(c->wsi);
    size_t announced = lws_remaining_packet_payload(c->wsi);
    if (c->rx.len + len + announced > max) {
        srv->stats.closed_too_big++;
        log_info("%s: message over %zu bytes; closing with 1009", router_peer_label(c->ws.peer),
                 max);
        ws_close(srv, c, CLOSE_TOO_BIG, "message too big", false);
        return 0;
    }
    int64_t now = clock_mono_ms();
    conn_confirm_alive(c, now);
    if (first && last && c->rx.len == 0) { /* the common case: no copy */
        deliver(srv, c, in, len, now);
        return 0;
    }
    if (!conn_rx_append(c, in, len, max)) {
        log_error("%s: out of memory reassembling a message; closing",
                  router_peer_label(c->ws.peer));
        conn_rx_release(c);
        ws_close(srv, c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory", false);
        return 0;
    }
    if (last) {
        deliver(srv, c, c->rx.data, c->rx.len, now);
        /* Fragmented messages are rare (large SDPs): hold no buffer between
         * them, so that idle connections stay small. */
        conn_rx_release(c);
    }
    return 0;
}

/* ---- open and closed ---- */

static const struct conn_link ws_link = {
    .send = ws_conn_send, .close = ws_conn_close, .auth_failed = edge_auth_failed};

int ws_conn_open(struct server *srv, struct conn *c, struct lws *wsi)
{
    memset(c, 0, sizeof(*c));
    c->link = &ws_link;
    c->wsi = wsi;
    conn_confirm_alive(c, clock_mono_ms()); /* the upgrade counts */
    char addr[64] = "?";
    conn_peer_address(wsi, addr, sizeof(addr));
    c->ws.peer = router_peer_open(srv->router, c, &codec_json, addr, clock_mono_ms());
    if (!c->ws.peer)
        return -1;
    edge_ws_opened(srv, c);
    srv->conns++;
    srv->stats.connections_total++;
    log_debug("WebSocket connection from %s", addr);
    return 0;
}

void ws_conn_closed(struct server *srv, struct conn *c)
{
    edge_ws_closed(srv, c);
    if (c->ws.peer) {
        router_peer_closed(srv->router, c->ws.peer);
        c->ws.peer = NULL;
        srv->conns--;
    }
    if (conn_is_sio_ws(c)) {
        eio_ws_closed(srv, c);
        c->link = NULL;
        srv->conns--;
    }
    if (c->ws.flush_listed) {
        for (size_t i = 0; i < srv->flush_len; i++)
            if (srv->flush[i] == c)
                srv->flush[i] = NULL;
        c->ws.flush_listed = false;
    }
    queue_clear(srv, c);
    conn_rx_release(c);
}
