/* server.c - libwebsockets glue: listening, HTTP routes, WebSocket
 * connections with reassembly, limits and bounded send queues. */
#include "cloud/server.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <libwebsockets.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
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
    const char *close_reason;
    /* HTTP: a response body waiting for the writeable callback. */
    struct outbuf *http_body;
};

struct server {
    struct cloud_config cfg;
    char web_root[PATH_MAX];   /* canonical */
    struct lws_context *ctx;
    struct lws_protocols protocols[2];
    lws_retry_bo_t keepalive;
    struct registry reg;
    struct router *router;
    struct transport tx;
    struct server_stats stats;
    size_t conns;              /* open WebSocket connections */
    size_t queued;             /* messages queued over all connections */
    bool stopping;             /* shutting down: drop new sends */
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

/* Writes queued messages: one, then more while the socket still takes
 * them whole (lws_send_pipe_choked: nothing buffered in lws, socket
 * writeable), at most WRITE_BATCH per callback so one busy peer cannot
 * starve the others. Batching cut server CPU per relayed message from
 * 12.3 to 10 µs (bench/README.md). Returns -1 to close the connection. */
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
    for (int k = 0; k < WRITE_BATCH && c->q_count; k++) {
        if (k && lws_send_pipe_choked(c->wsi))
            break;
        struct outbuf *b = c->q[c->q_head];
        c->q_head = (c->q_head + 1) % c->q_cap;
        c->q_count--;
        c->q_bytes -= b->len;
        srv->queued--;
        int n = lws_write(c->wsi, outbuf_payload(b), b->len, LWS_WRITE_TEXT);
        outbuf_unref(b);
        if (n < 0)
            return -1;
    }
    if (c->q_count || c->close_code)
        lws_callback_on_writable(c->wsi);
    return 0;
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
    /* Any frame proves the peer alive, not only a pong: a busy peer whose
     * client library answers pings late is not dropped. */
    lws_validity_confirmed(c->wsi);
    if (first && last && c->rx_len == 0) { /* the common case: no copy */
        router_peer_message(srv->router, c->peer, in, len, clock_mono_ms());
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
        router_peer_message(srv->router, c->peer, c->rx, c->rx_len, clock_mono_ms());
        /* Fragmented messages are rare (large SDPs): hold no buffer between
         * them, so that idle connections stay small. */
        rx_release(c);
    }
    return 0;
}

/* ---- HTTP ---- */

/* Sends status, headers and body (reference stolen) as one response; the
 * body goes out from the writeable callback. Returns -1 to close. */
static int http_respond(struct conn *c, unsigned status, const char *type, struct outbuf *body)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start;
    unsigned char *end = hdr + sizeof(hdr) - 1;
    if (!body) {
        status = HTTP_STATUS_INTERNAL_SERVER_ERROR;
        if (!(body = outbuf_new("{\"error\":\"out of memory\"}", 25)))
            return -1;
        type = "application/json";
    }
    if (lws_add_http_common_headers(c->wsi, status, type, body->len, &p, end) ||
        lws_add_http_header_by_name(c->wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_add_http_header_by_name(c->wsi, (const unsigned char *)"x-content-type-options:",
                                    (const unsigned char *)"nosniff", 7, &p, end) ||
        lws_finalize_write_http_header(c->wsi, start, &p, end)) {
        outbuf_unref(body);
        return -1;
    }
    c->http_body = body;
    lws_callback_on_writable(c->wsi);
    return 0;
}

static int http_error(struct conn *c, unsigned status, const char *message)
{
    json_t *j = json_pack("{s:s}", "error", message);
    struct outbuf *b = j ? outbuf_take_string(json_dumps(j, JSON_COMPACT)) : NULL;
    json_decref(j);
    return http_respond(c, status, "application/json", b);
}

/* Static file, /health, /robots or /metrics. Returns -1 to close. */
static int http_request(struct server *srv, struct conn *c, const char *uri)
{
    srv->stats.http_requests++;
    if (lws_hdr_total_length(c->wsi, WSI_TOKEN_GET_URI) <= 0)
        return http_error(c, HTTP_STATUS_METHOD_NOT_ALLOWED, "only GET is supported");
    /* `uri` arrives percent-decoded and normalized by lws ("." and ".."
     * segments collapsed, a trailing %00 dropped, an inner one refused);
     * http_static_resolve() checks again, and confines it to the root. */
    int64_t now = clock_mono_ms();
    if (strcmp(uri, "/health") == 0)
        return http_respond(c, HTTP_STATUS_OK, "application/json",
                            status_health(srv->router, srv->started_ms, now));
    if (strcmp(uri, "/robots") == 0)
        return http_respond(c, HTTP_STATUS_OK, "application/json", status_robots(srv->router));
    if (strcmp(uri, "/metrics") == 0)
        return http_respond(c, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8",
                            status_metrics(srv->router, &srv->stats, srv->started_ms, now));
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
        char addr[64] = "?";
        lws_get_peer_simple(wsi, addr, sizeof(addr));
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

    case LWS_CALLBACK_HTTP_WRITEABLE: {
        struct outbuf *b = c->http_body;
        if (!b)
            return 0;
        c->http_body = NULL;
        int n = lws_write(wsi, outbuf_payload(b), b->len, LWS_WRITE_HTTP_FINAL);
        outbuf_unref(b);
        if (n < 0)
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;

    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c) {
            outbuf_unref(c->http_body);
            c->http_body = NULL;
        }
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

struct server *server_create(const struct cloud_config *cfg)
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
    if (registry_mem_create(&srv->reg) != 0) {
        log_error("out of memory");
        free(srv);
        return NULL;
    }
    srv->tx = (struct transport){.send = tx_send, .close = tx_close};
    struct router_config rcfg = {
        .max_client_sessions = (unsigned)cfg->max_client_sessions,
        .max_robot_sessions = (unsigned)cfg->max_robot_sessions,
        .rate_limit = (unsigned)cfg->rate_limit,
    };
    srv->router = router_create(&rcfg, &srv->tx, &auth_open, &srv->reg);
    if (!srv->router) {
        log_error("out of memory");
        server_destroy(srv);
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
    };
    /* Ping after N idle seconds; hang up when nothing valid (a pong or a
     * message) arrived for 2N. */
    srv->keepalive = (lws_retry_bo_t){
        .secs_since_valid_ping = (uint16_t)cfg->ping_interval,
        .secs_since_valid_hangup = (uint16_t)(2 * cfg->ping_interval),
    };

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
        server_destroy(srv);
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
    /* Let session-closed messages reach the peers, within a second. */
    int64_t deadline = clock_mono_ms() + 1000;
    while (srv->queued && clock_mono_ms() < deadline)
        if (lws_service(srv->ctx, 50) < 0)
            break;
    srv->stopping = true;
    return 0;
}

void server_destroy(struct server *srv)
{
    if (!srv)
        return;
    srv->stopping = true;
    if (srv->ctx)
        lws_context_destroy(srv->ctx); /* CLOSED callbacks free every peer */
    signal_ctx = NULL;
    router_destroy(srv->router);
    registry_destroy(&srv->reg);
    free(srv);
}
