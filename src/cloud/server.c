/* server.c - libwebsockets glue: listening, HTTP routes (and the robot API
 * proxy), WebSocket connections with reassembly, limits and bounded send
 * queues, and the timer that times robot requests out. */
#include "cloud/server.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <libwebsockets.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cloud/auth.h"
#include "cloud/codec.h"
#include "cloud/http_static.h"
#include "cloud/outbuf.h"
#include "cloud/registry.h"
#include "cloud/router.h"
#include "cloud/status.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/utf8.h"

static_assert(LWS_PRE <= OUTBUF_HEADROOM, "outbuf headroom must fit the lws frame header");

/* Close codes of RFC 6455 section 7.4.1, as this server uses them. */
enum {
    CLOSE_UNSUPPORTED_DATA = 1003, /* binary frame */
    CLOSE_POLICY = 1008,           /* send queue overflow, rate abuse */
    CLOSE_TOO_BIG = 1009,          /* message over --max-message */
};

/* Send queues start small and double up to this many messages; the byte
 * limit (--max-queue) is the real bound. */
#define QUEUE_INITIAL 4
#define QUEUE_MAX_MESSAGES 65536

/* Messages written per writeable callback at most. */
#define WRITE_BATCH 16

/* Bytes of the frames of several queued messages written with one send()
 * (conn_writeable). Also lws's cap on one send() (tx_packet_size): at 0 it
 * would be the 1 KB receive chunk, and a 3 KB SDP would leave in three
 * sends, each after a writeable callback. */
#define WRITE_COALESCE_BYTES 65536

/* Seconds an HTTP request waiting for a robot may outlive
 * --request-timeout before lws drops it: the router answers 504 at the
 * timeout, so this is only a backstop. (lws's other limit on a held
 * request, "ah excessive hold", is --http-timeout + 360 s, beyond the
 * largest --request-timeout of 300 s.) */
#define API_WAIT_GRACE_SECS 5

/* Where an HTTP request of the robot API proxy is. */
enum api_state {
    API_NONE = 0,  /* not a proxied request, or answered */
    API_BODY,      /* reading the request body */
    API_WAITING,   /* handed to the router: the answer comes by tx_http_answer */
};

/* Per-connection state, allocated and zeroed by lws as the protocol's
 * per-session data. One struct serves both HTTP transactions and
 * WebSocket connections; `peer` is set only for WebSockets. */
struct conn {
    struct lws *wsi;
    struct peer *peer;
    /* Reassembly of a fragmented message; NULL until needed. */
    char *rx;
    size_t rx_len, rx_cap;
    /* Ring of queued messages, and their payload bytes. */
    struct outbuf **q;
    unsigned q_head, q_count, q_cap;
    size_t q_bytes;
    /* Set when the connection must close, once its queue is flushed. */
    int close_code;
    /* When a frame last confirmed the peer alive to lws (monotonic ms,
     * truncated: only differences are used). */
    uint32_t confirmed_ms;
    const char *close_reason;
    /* HTTP: the response of the current transaction. It is decided
     * anywhere (this connection's callback, a robot's message, the timer)
     * and written from the writeable callback in two steps: headers, then
     * body. lws frees and zeroes this struct between the transactions of
     * a keep-alive connection (HTTP_DROP_PROTOCOL comes first). */
    bool http_replying;         /* a response is set and not yet written */
    bool http_headers_sent;
    bool http_close;            /* close the connection after it */
    unsigned http_status;
    const char *http_type;      /* static */
    const char *http_allow;     /* the Allow header of a 405 (static), or NULL */
    struct outbuf *http_body;   /* NULL: a response without a body (204, 304) */
    /* HTTP: a request of the robot API proxy; the body goes into rx. */
    enum api_state api;
    const char *api_method;     /* static */
    char *api_robot;            /* robot id from the URL */
    char *api_path;             /* "/api/...[?query]", re-encoded */
    struct http_asker *asker;   /* from the first proxied request on */
};

struct server {
    struct cloud_config cfg;
    char web_root[PATH_MAX];   /* canonical */
    struct lws_context *ctx;
    struct lws_protocols protocols[2];
    lws_retry_bo_t keepalive;
    uint32_t confirm_every_ms; /* see conn_confirm_alive() */
    struct registry reg;
    struct router *router;
    struct transport tx;
    struct server_stats stats;
    size_t conns;              /* open WebSocket connections */
    size_t queued;             /* messages queued over all connections */
    size_t http_replies;       /* HTTP responses set and not yet written */
    lws_sorted_usec_list_t tick; /* calls router_tick() at the next deadline */
    int64_t tick_at;           /* when it is due (monotonic ms); 0: not scheduled */
    bool stopping;             /* shutting down: drop new sends */
    unsigned char *wbuf;       /* LWS_PRE + WRITE_COALESCE_BYTES: frames of one write */
    int64_t started_ms;
};

/* The loop's stop request. A signal handler can only reach static storage;
 * this is the one place the server keeps any. */
static volatile sig_atomic_t stop_requested;
static struct lws_context *signal_ctx;

/* ---- send queue ---- */

static void queue_clear(struct server *srv, struct conn *c)
{
    while (c->q_count) {
        outbuf_unref(c->q[c->q_head]);
        c->q_head = (c->q_head + 1) % c->q_cap;
        c->q_count--;
        srv->queued--;
    }
    free(c->q);
    c->q = NULL;
    c->q_cap = c->q_head = 0;
    c->q_bytes = 0;
}

/* Seconds a closing connection may take to flush its queue and close
 * frame before it is dropped: a peer that stopped reading never makes the
 * socket writeable again. */
#define CLOSE_FLUSH_SECS 3

/* Closes c with code. What is queued still goes out first, then the close
 * frame, within CLOSE_FLUSH_SECS. With drop_queue (the peer does not read,
 * so nothing would get through) the connection is dropped at once. */
static void conn_close(struct server *srv, struct conn *c, int code, const char *reason,
                       bool drop_queue)
{
    if (c->close_code)
        return;
    c->close_code = code;
    c->close_reason = reason;
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

static bool queue_grow(struct conn *c)
{
    unsigned cap = c->q_cap ? c->q_cap * 2 : QUEUE_INITIAL;
    if (cap > QUEUE_MAX_MESSAGES)
        return false;
    struct outbuf **q = malloc(cap * sizeof(*q));
    if (!q)
        return false;
    for (unsigned i = 0; i < c->q_count; i++)
        q[i] = c->q[(c->q_head + i) % c->q_cap];
    free(c->q);
    c->q = q;
    c->q_cap = cap;
    c->q_head = 0;
    return true;
}

/* transport.send: queue a reference to b, or drop a peer that does not
 * read fast enough (its queue would pass --max-queue). */
static int tx_send(void *conn, struct outbuf *b)
{
    struct conn *c = conn;
    struct server *srv = lws_context_user(lws_get_context(c->wsi));
    if (srv->stopping || c->close_code)
        return -1;
    /* An empty queue takes any one message (a robot list can be large);
     * past that, --max-queue bounds what a peer leaves unread. */
    if ((c->q_count && c->q_bytes + b->len > (size_t)srv->cfg.max_queue) ||
        (c->q_count == c->q_cap && !queue_grow(c))) {
        log_warn("%s: send queue full (%zu bytes queued); closing with 1008",
                 router_peer_label(c->peer), c->q_bytes);
        conn_close(srv, c, CLOSE_POLICY, "send queue full: peer is not reading", true);
        return -1;
    }
    c->q[(c->q_head + c->q_count) % c->q_cap] = outbuf_ref(b);
    c->q_count++;
    c->q_bytes += b->len;
    srv->queued++;
    lws_callback_on_writable(c->wsi);
    return 0;
}

static void tx_close(void *conn, int code, const char *reason)
{
    struct conn *c = conn;
    conn_close(lws_context_user(lws_get_context(c->wsi)), c, code, reason, false);
}

/* Removes the oldest queued message and returns it (the caller's
 * reference). The queue must not be empty. */
static struct outbuf *queue_pop(struct server *srv, struct conn *c)
{
    struct outbuf *b = c->q[c->q_head];
    c->q_head = (c->q_head + 1) % c->q_cap;
    c->q_count--;
    c->q_bytes -= b->len;
    srv->queued--;
    return b;
}

/* Writes the header of an unmasked, final text frame of len payload bytes
 * (RFC 6455 section 5.2) at h. Returns its length: 2, 4 or 10 bytes. */
static size_t frame_header(unsigned char *h, size_t len)
{
    h[0] = 0x81; /* FIN, text */
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

/* Writes queued messages, at most WRITE_BATCH per callback so that one
 * busy peer cannot starve the others. A lone message goes out in place
 * (lws writes its frame header into the outbuf's headroom). Several are
 * framed here, one after another, into srv->wbuf and written with one
 * lws_write(LWS_WRITE_RAW): one send() and one TCP segment instead of one
 * each. That is allowed because this server uses no WebSocket extension
 * (permessage-deflate would have to frame) and speaks only HTTP/1.1 (no
 * WebSocket over HTTP/2), and every frame is complete: what the socket
 * does not take, lws buffers whole and sends first next time, before any
 * frame of its own (ping, pong, close). Writing stops when lws had to
 * buffer (lws_partial_buffered: a flag test, where lws_send_pipe_choked
 * cost a poll() per write). Returns -1 to close the connection. */
static int conn_writeable(struct server *srv, struct conn *c)
{
    if (!c->q_count) {
        if (!c->close_code)
            return 0;
        size_t n = strlen(c->close_reason);
        lws_close_reason(c->wsi, (enum lws_close_status)c->close_code,
                         (unsigned char *)(uintptr_t)c->close_reason, n);
        return -1;
    }
    int k = 0;
    while (k < WRITE_BATCH && c->q_count) {
        int n;
        if (c->q_count == 1 || c->q[c->q_head]->len > WRITE_COALESCE_BYTES - 10) {
            struct outbuf *b = queue_pop(srv, c);
            n = lws_write(c->wsi, outbuf_payload(b), b->len, LWS_WRITE_TEXT);
            outbuf_unref(b);
            k++;
        } else {
            unsigned char *out = srv->wbuf + LWS_PRE;
            size_t used = 0;
            while (k < WRITE_BATCH && c->q_count) {
                size_t len = c->q[c->q_head]->len;
                if (used + 10 + len > WRITE_COALESCE_BYTES)
                    break;
                struct outbuf *b = queue_pop(srv, c);
                used += frame_header(out + used, len);
                memcpy(out + used, outbuf_payload(b), len);
                used += len;
                outbuf_unref(b);
                k++;
            }
            n = lws_write(c->wsi, out, used, LWS_WRITE_RAW);
        }
        if (n < 0)
            return -1;
        if (lws_partial_buffered(c->wsi))
            break;
    }
    if (c->q_count || c->close_code)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* The peer's address as text into out (len bytes). An IPv4 peer of a
 * dual-stack socket reads "::ffff:192.0.2.7"; it is shown as 192.0.2.7,
 * the address people know it by. */
static void peer_address(struct lws *wsi, char *out, size_t len)
{
    if (!lws_get_peer_simple(wsi, out, len))
        snprintf(out, len, "?");
    if (strncmp(out, "::ffff:", 7) == 0 && strchr(out + 7, '.'))
        memmove(out, out + 7, strlen(out + 7) + 1);
}

/* ---- time ---- */

static void on_tick(lws_sorted_usec_list_t *sul);

/* Makes sure the timer fires at the router's next deadline. Called after
 * anything that may add a robot request; a timer already due earlier
 * stays (it reschedules itself when it fires). */
static void schedule_tick(struct server *srv)
{
    int64_t next = router_next_deadline(srv->router);
    if (next < 0 || (srv->tick_at && srv->tick_at <= next))
        return;
    int64_t delay = next - clock_mono_ms();
    srv->tick_at = next;
    lws_sul_schedule(srv->ctx, 0, &srv->tick, on_tick,
                     (delay > 0 ? delay : 0) * LWS_US_PER_MS);
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    struct server *srv = lws_container_of(sul, struct server, tick);
    srv->tick_at = 0;
    router_tick(srv->router, clock_mono_ms());
    schedule_tick(srv);
}

/* ---- receive ---- */

/* Appends a fragment to c's reassembly buffer, which the caller has
 * checked stays within max. Returns false when memory is out. */
static bool rx_append(struct conn *c, const void *in, size_t len, size_t max)
{
    if (c->rx_len + len > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap : 4096;
        while (cap < c->rx_len + len)
            cap *= 2;
        if (cap > max)
            cap = max;
        char *rx = realloc(c->rx, cap);
        if (!rx)
            return false;
        c->rx = rx;
        c->rx_cap = cap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    return true;
}

static void rx_release(struct conn *c)
{
    free(c->rx);
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
}

/* Tells lws that c's peer is alive: any frame proves it, not only a pong,
 * so a busy peer whose client library answers pings late is not dropped.
 * lws_validity_confirmed() re-inserts the connection's timer into a sorted
 * list of every connection's timer (O(connections): 60% of server time
 * with 15,000 idle clients held, /tmp/perf-cloud.md), so it is called at
 * most once per confirm_every_ms (a second; a quarter of --ping-interval
 * when that is shorter): a peer is then dropped at most that much before
 * 2 x --ping-interval of silence. */
static void conn_confirm_alive(struct server *srv, struct conn *c, int64_t now)
{
    if ((uint32_t)now - c->confirmed_ms < srv->confirm_every_ms)
        return;
    c->confirmed_ms = (uint32_t)now;
    lws_validity_confirmed(c->wsi);
}

/* Returns -1 to close the connection (after lws_close_reason). */
static int conn_receive(struct server *srv, struct conn *c, const char *in, size_t len)
{
    if (c->close_code)
        return 0; /* closing: ignore the rest */
    size_t max = (size_t)srv->cfg.max_message;
    if (lws_frame_is_binary(c->wsi)) {
        srv->stats.closed_binary++;
        lws_close_reason(c->wsi, (enum lws_close_status)CLOSE_UNSUPPORTED_DATA,
                         (unsigned char *)"binary frames are not accepted", 30);
        return -1;
    }
    bool first = lws_is_first_fragment(c->wsi), last = lws_is_final_fragment(c->wsi);
    size_t announced = lws_remaining_packet_payload(c->wsi);
    if (c->rx_len + len + announced > max) {
        srv->stats.closed_too_big++;
        log_info("%s: message over %zu bytes; closing with 1009", router_peer_label(c->peer),
                 max);
        lws_close_reason(c->wsi, (enum lws_close_status)CLOSE_TOO_BIG,
                         (unsigned char *)"message too big", 15);
        return -1;
    }
    int64_t now = clock_mono_ms();
    conn_confirm_alive(srv, c, now);
    if (first && last && c->rx_len == 0) { /* the common case: no copy */
        router_peer_message(srv->router, c->peer, in, len, now);
        schedule_tick(srv);
        return 0;
    }
    if (!rx_append(c, in, len, max)) {
        log_error("%s: out of memory reassembling a message; closing",
                  router_peer_label(c->peer));
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
                         (unsigned char *)"out of memory", 13);
        return -1;
    }
    if (last) {
        router_peer_message(srv->router, c->peer, c->rx, c->rx_len, now);
        schedule_tick(srv);
        /* Fragmented messages are rare (large SDPs): hold no buffer between
         * them, so that idle connections stay small. */
        rx_release(c);
    }
    return 0;
}

/* ---- HTTP responses ---- */

/* Sets the response of c's transaction and asks for the writeable
 * callback, which writes it. body (reference stolen) is the payload, or
 * NULL for a response without one (204, 304). A second response for the
 * same transaction is dropped: the first decision stands. */
static void http_reply(struct conn *c, unsigned status, const char *type, struct outbuf *body)
{
    struct server *srv = lws_context_user(lws_get_context(c->wsi));
    if (c->http_replying) {
        outbuf_unref(body);
        return;
    }
    c->http_replying = true;
    c->http_status = status;
    c->http_type = type;
    c->http_body = body;
    srv->http_replies++;
    lws_callback_on_writable(c->wsi);
}

/* Replies with status and a body from a serializer (reference stolen);
 * NULL means the serializer ran out of memory: 500. */
static void http_respond(struct conn *c, unsigned status, const char *type, struct outbuf *body)
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
    http_reply(c, status, type, body);
}

/* {"<key>": message} as JSON, or NULL when out of memory. */
static struct outbuf *json_message(const char *key, const char *message)
{
    json_t *j = json_pack("{s:s}", key, message);
    struct outbuf *b = j ? outbuf_take_string(json_dumps(j, JSON_COMPACT)) : NULL;
    json_decref(j);
    return b;
}

/* The static routes' errors: {"error": message}. */
static int http_error(struct conn *c, unsigned status, const char *message)
{
    http_respond(c, status, "application/json", json_message("error", message));
    return 0;
}

/* The robot API's errors: {"detail": message}, as the robots' own. */
static int api_error(struct conn *c, unsigned status, const char *message)
{
    http_respond(c, status, "application/json", json_message("detail", message));
    return 0;
}

static int api_error_allow(struct conn *c, const char *allow)
{
    char m[96];
    snprintf(m, sizeof(m), "this resource accepts %s only", allow);
    c->http_allow = allow;
    return api_error(c, HTTP_STATUS_METHOD_NOT_ALLOWED, m);
}

/* Writes the headers of c's response. Returns 0, or -1 to close. */
static int http_write_headers(struct conn *c)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start;
    unsigned char *end = hdr + sizeof(hdr) - 1;
    struct lws *wsi = c->wsi;
#define ADD(name, value) \
    lws_add_http_header_by_name(wsi, (const unsigned char *)(name), \
                                (const unsigned char *)(value), (int)strlen(value), &p, end)
    int fail = c->http_body ? lws_add_http_common_headers(wsi, c->http_status, c->http_type,
                                                          c->http_body->len, &p, end)
                            : lws_add_http_header_status(wsi, c->http_status, &p, end);
    fail = fail || ADD("cache-control:", "no-store") || ADD("x-content-type-options:", "nosniff") ||
           (c->http_allow && ADD("allow:", c->http_allow)) ||
           (c->http_close && ADD("connection:", "close")) ||
           lws_finalize_write_http_header(wsi, start, &p, end);
#undef ADD
    return fail ? -1 : 0;
}

/* The writeable callback of an HTTP connection: headers, and in the next
 * callback the body, then the end of the transaction. Returns -1 to close. */
static int http_writeable(struct server *srv, struct conn *c)
{
    if (!c->http_replying)
        return 0;
    if (!c->http_headers_sent) {
        if (http_write_headers(c) != 0)
            return -1;
        c->http_headers_sent = true;
        if (c->http_body) {
            lws_callback_on_writable(c->wsi);
            return 0;
        }
    } else {
        struct outbuf *b = c->http_body;
        c->http_body = NULL;
        int n = lws_write(c->wsi, outbuf_payload(b), b->len, LWS_WRITE_HTTP_FINAL);
        outbuf_unref(b);
        if (n < 0)
            return -1;
    }
    c->http_replying = false;
    srv->http_replies--;
    if (c->http_close)
        return -1; /* lws flushes what it buffered before it closes */
    /* c is freed (and zeroed for the next transaction) in there. */
    return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

/* Releases what an HTTP transaction holds: its response, and its proxied
 * request (the router forgets it: a late answer is dropped). Safe to call
 * twice. */
static void http_release(struct server *srv, struct conn *c)
{
    if (c->http_replying) {
        c->http_replying = false;
        srv->http_replies--;
    }
    outbuf_unref(c->http_body);
    c->http_body = NULL;
    router_http_closed(srv->router, c->asker);
    c->asker = NULL;
    free(c->api_robot);
    free(c->api_path);
    c->api_robot = c->api_path = NULL;
    c->api = API_NONE;
    rx_release(c);
}

/* ---- the robot API proxy ---- */

static const char api_methods[] = "GET, POST, PUT, DELETE";

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
    json_t *body = NULL;
    if (c->rx_len) {
        json_error_t jerr;
        body = json_loadb(c->rx, c->rx_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (!body) {
            char m[200];
            snprintf(m, sizeof(m), "malformed JSON at line %d, column %d: %s", jerr.line,
                     jerr.column, jerr.text);
            utf8_scrub(m); /* jansson quotes the input */
            c->api = API_NONE;
            rx_release(c);
            return api_error(c, HTTP_STATUS_BAD_REQUEST, m);
        }
    }
    rx_release(c);
    if (!c->asker) {
        char addr[64] = "?";
        peer_address(c->wsi, addr, sizeof(addr));
        c->asker = router_http_open(srv->router, c, addr);
    }
    if (!c->asker) {
        json_decref(body);
        c->api = API_NONE;
        return api_error(c, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
    }
    /* lws's own timeout (--http-timeout, for the request to arrive) would
     * cut a request that legitimately waits for its robot: the router
     * answers by --request-timeout, this is the backstop. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK,
                    (int)srv->cfg.request_timeout + API_WAIT_GRACE_SECS);
    c->api = API_WAITING;
    struct robot_request req = {c->api_robot, c->api_method, c->api_path, body};
    router_http_request(srv->router, c->asker, &req, clock_mono_ms());
    json_decref(body);
    schedule_tick(srv);
    return 0;
}

/* One piece of a proxied request's body. Returns -1 to close. */
static int api_body(struct server *srv, struct conn *c, const void *in, size_t len)
{
    size_t max = (size_t)srv->cfg.max_message;
    if (c->rx_len + len > max) {
        /* Content-Length was checked; this is for bodies that lied. */
        c->api = API_NONE;
        rx_release(c);
        char m[96];
        snprintf(m, sizeof(m), "the request body is larger than %zu bytes", max);
        return api_error(c, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, m);
    }
    if (len && !rx_append(c, in, len, max)) {
        c->api = API_NONE;
        rx_release(c);
        return api_error(c, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
    }
    return 0;
}

/* transport.http_answer: the router's answer to c's proxied request. */
static void tx_http_answer(void *http, unsigned status, struct outbuf *body)
{
    struct conn *c = http;
    struct server *srv = lws_context_user(lws_get_context(c->wsi));
    if (srv->stopping)
        return; /* every connection is being closed */
    c->api = API_NONE;
    if (status < 200) {
        char m[120];
        snprintf(m, sizeof(m), "the robot answered with status %u, which HTTP cannot carry "
                 "as a final response", status);
        api_error(c, HTTP_STATUS_BAD_GATEWAY, m);
    } else if (status == 204 || status == 304) {
        http_reply(c, status, NULL, NULL); /* these have no body */
    } else {
        http_reply(c, status, "application/json", outbuf_ref(body));
    }
}

/* METHOD /api/robots/{robotId}/{rest}[?query] and GET /api/robots.
 * Returns the HTTP callback's answer. */
static int api_request(struct server *srv, struct conn *c, const char *uri)
{
    int index;
    const char *method = api_method(c->wsi, &index);
    if (strcmp(uri, "/api/robots") == 0 || strcmp(uri, "/api/robots/") == 0) {
        if (index != LWSHUMETH_GET)
            return api_error_allow(c, "GET");
        http_respond(c, HTTP_STATUS_OK, "application/json", status_robots(srv->router));
        return 0;
    }
    const char *id = strncmp(uri, "/api/robots/", 12) == 0 ? uri + 12 : NULL;
    const char *slash = id ? strchr(id, '/') : NULL;
    if (!slash)
        return api_error(c, HTTP_STATUS_NOT_FOUND, "no such resource: GET /api/robots lists "
                         "the robots, /api/robots/{robotId}/{path} reaches a robot's API");
    if (!method)
        return api_error_allow(c, api_methods);
    /* Body framing. lws reads a body of Content-Length bytes, and for
     * POST and PUT without one it waits for the connection to end, which
     * HTTP/1.1 does not mean (no length, no body): such a request is
     * served with an empty body and the connection then closed. */
    if (lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        c->http_close = true;
        return api_error(c, HTTP_STATUS_LENGTH_REQUIRED,
                         "send the body with a Content-Length (chunked request bodies are "
                         "not supported)");
    }
    long long length = -1;
    char cl[32];
    if (lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        char *endp;
        if (lws_hdr_copy(c->wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 ||
            (length = strtoll(cl, &endp, 10)) < 0 || endp == cl || *endp)
            return api_error(c, HTTP_STATUS_BAD_REQUEST, "the Content-Length is not a number");
    }
    if (length > srv->cfg.max_message) {
        char m[96];
        snprintf(m, sizeof(m), "the request body is larger than %ld bytes", srv->cfg.max_message);
        return api_error(c, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, m);
    }
    c->api_method = method;
    c->api_robot = strndup(id, (size_t)(slash - id));
    c->api_path = api_robot_path(c->wsi, slash + 1);
    if (!c->api_robot || !c->api_path)
        return api_error(c, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
    if (length < 0 && (index == LWSHUMETH_POST || index == LWSHUMETH_PUT))
        c->http_close = true;
    /* lws delivers HTTP_BODY and HTTP_BODY_COMPLETION for a body, and for
     * a POST with Content-Length: 0; the rest is served now. */
    if (length > 0 || (length == 0 && index == LWSHUMETH_POST)) {
        c->api = API_BODY;
        return 0;
    }
    return api_dispatch(srv, c);
}

/* ---- HTTP routes ---- */

/* The robot API, static files, /health, /robots or /metrics. Returns -1
 * to close. */
static int http_request(struct server *srv, struct conn *c, const char *uri)
{
    srv->stats.http_requests++;
    if (strncmp(uri, "/api/", 5) == 0)
        return api_request(srv, c, uri);
    if (lws_hdr_total_length(c->wsi, WSI_TOKEN_GET_URI) <= 0)
        return http_error(c, HTTP_STATUS_METHOD_NOT_ALLOWED, "only GET is supported");
    /* `uri` arrives percent-decoded and normalized by lws ("." and ".."
     * segments collapsed, a trailing %00 dropped, an inner one refused);
     * http_static_resolve() checks again, and confines it to the root. */
    int64_t now = clock_mono_ms();
    if (strcmp(uri, "/health") == 0) {
        http_respond(c, HTTP_STATUS_OK, "application/json",
                     status_health(srv->router, srv->started_ms, now));
        return 0;
    }
    if (strcmp(uri, "/robots") == 0) {
        http_respond(c, HTTP_STATUS_OK, "application/json", status_robots(srv->router));
        return 0;
    }
    if (strcmp(uri, "/metrics") == 0) {
        http_respond(c, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8",
                     status_metrics(srv->router, &srv->stats, srv->started_ms, now));
        return 0;
    }
    char path[PATH_MAX];
    if (http_static_resolve(srv->web_root, uri, path, sizeof(path)) != 0)
        return http_error(c, HTTP_STATUS_NOT_FOUND, "not found");
    /* > 0: sent whole and completed by lws; 0: lws goes on sending. */
    return lws_serve_http_file(c->wsi, path, http_static_mime(path), NULL, 0) < 0 ? -1 : 0;
}

/* Only /ws upgrades, and only below --max-connections. Returns the
 * callback's answer: 0 to proceed, 1 after sending a refusal. */
static int confirm_upgrade(struct server *srv, struct lws *wsi)
{
    char uri[64];
    int n = lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    unsigned status = 0;
    if (n <= 0 || strcmp(uri, "/ws") != 0)
        status = HTTP_STATUS_NOT_FOUND;
    else if (srv->conns >= (size_t)srv->cfg.max_connections)
        status = HTTP_STATUS_SERVICE_UNAVAILABLE;
    if (!status)
        return 0;
    srv->stats.connections_refused++;
    log_info("WebSocket upgrade refused with %u (%s)", status,
             status == HTTP_STATUS_NOT_FOUND ? "path is not /ws" : "connection limit");
    lws_return_http_status(wsi, status, NULL);
    return 1;
}

/* ---- the callback ---- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct server *srv = lws_context_user(lws_get_context(wsi));
    struct conn *c = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(srv, wsi);

    case LWS_CALLBACK_ESTABLISHED: {
        memset(c, 0, sizeof(*c));
        c->wsi = wsi;
        /* lws confirmed the connection at the upgrade; the first frame
         * confirms again. */
        c->confirmed_ms = (uint32_t)clock_mono_ms() - srv->confirm_every_ms;
        char addr[64] = "?";
        peer_address(wsi, addr, sizeof(addr));
        c->peer = router_peer_open(srv->router, c, &codec_json, addr, clock_mono_ms());
        if (!c->peer)
            return -1;
        srv->conns++;
        srv->stats.connections_total++;
        log_debug("WebSocket connection from %s", addr);
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        return c->peer ? conn_receive(srv, c, in, len) : -1;

    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c->peer ? conn_writeable(srv, c) : -1;

    case LWS_CALLBACK_CLOSED:
        if (c->peer) {
            router_peer_closed(srv->router, c->peer);
            c->peer = NULL;
            srv->conns--;
        }
        queue_clear(srv, c);
        rx_release(c);
        return 0;

    case LWS_CALLBACK_HTTP:
        c->wsi = wsi;
        return http_request(srv, c, in ? in : "/");

    case LWS_CALLBACK_HTTP_BODY:
        return c && c->api == API_BODY ? api_body(srv, c, in, len) : 0;

    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return c && c->api == API_BODY ? api_dispatch(srv, c) : 0;

    case LWS_CALLBACK_HTTP_WRITEABLE:
        return c ? http_writeable(srv, c) : 0;

    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;

    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        /* A client that hangs up while its robot request waits ends here:
         * the router forgets the request. */
        if (c)
            http_release(srv, c);
        return 0;

    default:
        return 0;
    }
}

/* ---- lifecycle ---- */

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (signal_ctx)
        lws_cancel_service(signal_ctx);
}

/* Routes libwebsockets' own log lines into ours: warnings and errors only. */
static void lws_log_bridge(int level, const char *line)
{
    size_t n = strcspn(line, "\n");
    log_msg(level == LLL_ERR ? LOGL_ERROR : LOGL_WARN, "lws: %.*s", (int)n, line);
}

/* Binds a throwaway socket where libwebsockets will listen, so that a port
 * in use or an address this host does not have is reported at once with
 * its reason (libwebsockets would wait quietly for the address to appear).
 * Returns 0, or -1 after logging. */
static int probe_listen(const char *bind_addr, long port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    if (*bind_addr && inet_pton(AF_INET, bind_addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        len = sizeof(*v4);
    } else {
        /* An IPv6 literal, or all interfaces (lws listens dual-stack). */
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        v6->sin6_addr = in6addr_any;
        if (*bind_addr)
            inet_pton(AF_INET6, bind_addr, &v6->sin6_addr);
        len = sizeof(*v6);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 && ss.ss_family == AF_INET6 && !*bind_addr) {
        /* No IPv6 on this host: lws falls back to IPv4 too. */
        memset(&ss, 0, sizeof(ss));
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        len = sizeof(*v4);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0) {
        log_error("cannot listen on %s port %ld: %s", *bind_addr ? bind_addr : "all interfaces",
                  port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

struct server *server_new(const struct cloud_config *cfg)
{
    struct server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        log_error("out of memory");
        return NULL;
    }
    srv->cfg = *cfg;
    srv->started_ms = clock_mono_ms();
    if (probe_listen(cfg->bind, cfg->port) != 0) {
        free(srv);
        return NULL;
    }
    if (!realpath(cfg->web_root, srv->web_root)) {
        log_error("web root '%s': %s", cfg->web_root, strerror(errno));
        free(srv);
        return NULL;
    }
    srv->wbuf = malloc(LWS_PRE + WRITE_COALESCE_BYTES);
    if (!srv->wbuf || registry_mem_new(&srv->reg) != 0) {
        log_error("out of memory");
        free(srv->wbuf);
        free(srv);
        return NULL;
    }
    srv->tx = (struct transport){.send = tx_send, .close = tx_close,
                                 .http_answer = tx_http_answer};
    struct router_config rcfg = {
        .max_client_sessions = (unsigned)cfg->max_client_sessions,
        .max_robot_sessions = (unsigned)cfg->max_robot_sessions,
        .rate_limit = (unsigned)cfg->rate_limit,
        .request_timeout_s = (unsigned)cfg->request_timeout,
        .max_pending_requests = (unsigned)cfg->max_pending_requests,
    };
    srv->router = router_new(&rcfg, &srv->tx, &auth_open, &srv->reg);
    if (!srv->router) {
        log_error("out of memory");
        server_free(srv);
        return NULL;
    }

    srv->protocols[0] = (struct lws_protocols){
        .name = "porthole",
        .callback = callback,
        .per_session_data_size = sizeof(struct conn),
        /* The receive chunk, not a message limit: lws holds one such buffer
         * per connection, so it sets most of an idle peer's cost (measured:
         * 5.7 KB per registered client at 4096, 3.0 KB at 1024). Messages
         * up to it (ICE candidates, control) go to the router without a
         * copy; larger ones (SDPs) are reassembled with one copy. */
        .rx_buffer_size = 1024,
        /* A cap on one send(), not a buffer: idle connections cost the same. */
        .tx_packet_size = WRITE_COALESCE_BYTES,
    };
    /* Ping after N idle seconds; hang up when nothing valid (a pong or a
     * message) arrived for 2N. */
    srv->keepalive = (lws_retry_bo_t){
        .secs_since_valid_ping = (uint16_t)cfg->ping_interval,
        .secs_since_valid_hangup = (uint16_t)(2 * cfg->ping_interval),
    };
    srv->confirm_every_ms = cfg->ping_interval >= 4 ? 1000 : (uint32_t)cfg->ping_interval * 250;

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = (int)cfg->port;
    info.iface = cfg->bind && *cfg->bind ? cfg->bind : NULL;
    info.protocols = srv->protocols;
    info.user = srv;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.retry_and_idle_policy = &srv->keepalive;
    info.timeout_secs = (unsigned)cfg->http_timeout;
    info.timeout_secs_ah_idle = (unsigned)cfg->http_timeout;
    info.keepalive_timeout = (int)cfg->http_timeout;
    info.vhost_name = "porthole";
    bool tls = *cfg->tls_cert;
    if (tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
        /* Offer HTTP/1.1 only: over h2, Chromium tunnels WebSockets in
         * HTTP/2 streams (RFC 8441), which this server does not need. */
        info.alpn = "http/1.1";
    }
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        log_error("cannot start the server on %s:%ld%s", info.iface ? info.iface : "*",
                  cfg->port, tls ? " (is the TLS certificate or key unreadable or invalid?)" : "");
        server_free(srv);
        return NULL;
    }
    /* The URL a person can open: all interfaces include localhost. */
    const char *host = info.iface ? info.iface : "localhost";
    bool v6 = strchr(host, ':') != NULL;
    log_info("porthole-cloud %s listening on %s, port %ld: open %s://%s%s%s:%ld/ "
             "(WebSocket /ws, web root %s)",
             PORTHOLE_VERSION, info.iface ? info.iface : "all interfaces", cfg->port,
             tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", cfg->port,
             srv->web_root);
    return srv;
}

int server_run(struct server *srv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR at once */
    sigemptyset(&sa.sa_mask);
    signal_ctx = srv->ctx;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    while (!stop_requested)
        if (lws_service(srv->ctx, 0) < 0)
            break;

    log_info("shutting down: ending %zu sessions", registry_count(&srv->reg, REG_SESSION));
    router_shutdown(srv->router);
    /* Let session-closed messages and the 503s of pending robot requests
     * reach the peers, within a second. */
    int64_t deadline = clock_mono_ms() + 1000;
    while ((srv->queued || srv->http_replies) && clock_mono_ms() < deadline)
        if (lws_service(srv->ctx, 50) < 0)
            break;
    srv->stopping = true;
    return 0;
}

void server_free(struct server *srv)
{
    if (!srv)
        return;
    srv->stopping = true;
    if (srv->ctx) {
        lws_sul_cancel(&srv->tick);
        lws_context_destroy(srv->ctx); /* CLOSED callbacks free every peer */
    }
    signal_ctx = NULL;
    router_free(srv->router);
    registry_free(&srv->reg);
    free(srv->wbuf);
    free(srv);
}
