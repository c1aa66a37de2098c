/* server.c - libwebsockets glue: the protocol callback and the HTTP routes
 * it serves, the timer that times robot requests out, and the server's
 * lifecycle (listen probe, context, signals, shutdown). A connection's way
 * in (limits, origins, deadlines, TLS policy) is edge.c, a WebSocket
 * connection ws_conn.c (its queue sendq.c), an HTTP response
 * http_reply.c, the robot API proxy api_proxy.c; conn.h holds the state
 * they share. */
#include "cloud/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cloud/access.h"
#include "cloud/api_proxy.h"
#include "cloud/auth.h"
#include "cloud/cluster.h"
#include "cloud/conn.h"
#include "cloud/cors.h"
#include "cloud/edge.h"
#include "cloud/eio.h"
#include "cloud/eio_poll.h"
#include "cloud/event_loop.h"
#include "cloud/fdlimit.h"
#include "cloud/http_reply.h"
#include "cloud/http_static.h"
#include "cloud/listen_share.h"
#include "cloud/redis_lws.h"
#include "cloud/ice_servers.h"
#include "cloud/registry.h"
#include "cloud/router.h"
#include "cloud/status.h"
#include "cloud/ws_conn.h"
#include "common/clock.h"
#include "common/log.h"

/* The loop's stop and reload (SIGHUP) requests. A signal handler can only
 * reach static storage; this is the one place the server keeps any. */
static volatile sig_atomic_t stop_requested, reload_requested;
static struct lws_context *signal_ctx;

/* ---- time ---- */

static void on_tick(lws_sorted_usec_list_t *sul);

/* A timer already due earlier than the router's next deadline stays (it
 * reschedules itself when it fires). */
void server_schedule_tick(struct server *srv)
{
    int64_t next = router_next_deadline(srv->router);
    if (next < 0 || (srv->tick_at && srv->tick_at <= next))
        return;
    int64_t delay = next - clock_mono_ms();
    srv->tick_at = next;
    lws_sul_schedule(srv->ctx, 0, &srv->tick, on_tick,
                     (delay > 0 ? delay : 0) * LWS_US_PER_MS);
}

/* From the keepalive scan, for every HTTP connection: a request that waits
 * for an answer from elsewhere (a Socket.IO GET for its session's packets,
 * a robot API or WHEP call for its robot) whose client has shut its side
 * (a FIN: POLLRDHUP, over TLS too) is closed, and the release functions
 * then end the Socket.IO session or forget the robot request, as for a
 * reset. libwebsockets does not read a connection whose request is
 * unanswered, so nothing else would see the FIN before the answer (the
 * next ping, or --request-timeout). One poll() per waiting request a
 * second. */
static void close_if_hung_up(struct conn *c)
{
    if (c->http->replying || !(c->http->api == API_WAITING || eio_poll_waiting(c)))
        return;
    struct pollfd pfd = {.fd = lws_get_socket_fd(c->wsi), .events = POLLRDHUP};
    if (pfd.fd < 0 || poll(&pfd, 1, 0) != 1 || !(pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
        return;
    log_debug("an HTTP client shut its connection while its request waited; closing it");
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

/* Every confirm_every_ms: the keepalive of every WebSocket, in one walk
 * of lws's connections (O(connections) a second, where lws's own timers
 * cost that per registration and per ping). */
static void on_keepalive_scan(lws_sorted_usec_list_t *sul)
{
    struct server *srv = lws_container_of(sul, struct server, keepalive_scan);
    struct lws_vhost *vh = lws_get_vhost_by_name(srv->ctx, "porthole");
    /* The vhost's copy of the protocol: lws compares pointers. */
    lws_callback_all_protocol_vhost_args(vh, lws_vhost_name_to_protocol(vh, "porthole"),
                                         LWS_CALLBACK_USER, NULL, 0);
    lws_sul_schedule(srv->ctx, 0, &srv->keepalive_scan, on_keepalive_scan,
                     (lws_usec_t)srv->confirm_every_ms * LWS_US_PER_MS);
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    struct server *srv = lws_container_of(sul, struct server, tick);
    srv->tick_at = 0;
    router_tick(srv->router, clock_mono_ms());
    server_schedule_tick(srv);
}

/* ---- what WebSocket and HTTP connections share ---- */

void conn_peer_address(struct lws *wsi, char *out, size_t len)
{
    edge_client_address(wsi, out, len);
}

bool conn_rx_append(struct conn *c, const void *in, size_t len, size_t max)
{
    struct rxbuf *rx = &c->rx;
    if (rx->len + len > rx->cap) {
        size_t cap = rx->cap ? rx->cap : 4096;
        while (cap < rx->len + len)
            cap *= 2;
        if (cap > max)
            cap = max;
        char *data = realloc(rx->data, cap);
        if (!data)
            return false;
        rx->data = data;
        rx->cap = cap;
    }
    memcpy(rx->data + rx->len, in, len);
    rx->len += len;
    return true;
}

void conn_rx_release(struct conn *c)
{
    free(c->rx.data);
    c->rx.data = NULL;
    c->rx.len = c->rx.cap = 0;
}

/* ---- HTTP routes ---- */

/* The robot API, static files, /health, /robots or /metrics. Returns -1
 * to close. */
static int http_request(struct server *srv, struct conn *c, const char *uri)
{
    srv->stats.http_requests++;
    if (!edge_http_request(srv, c, uri))
        return 0; /* refused: the response is set */
    if (!access_http_allowed(srv, c))
        return 0;
    bool api = strncmp(uri, "/api/", 5) == 0;
    if ((api || eio_poll_path(uri)) && cors_request(c))
        return 0; /* a preflight, answered */
    if (eio_poll_path(uri))
        return eio_poll_request(srv, c);
    if (api)
        return access_api_identified(srv, c) ? api_proxy_request(srv, c, uri) : 0;
    if (lws_hdr_total_length(c->wsi, WSI_TOKEN_GET_URI) <= 0)
        return http_reply_message(c, HTTP_STATUS_METHOD_NOT_ALLOWED, "error",
                                  "only GET is supported");
    /* `uri` arrives percent-decoded and normalized by lws ("." and ".."
     * segments collapsed, a trailing %00 dropped, an inner one refused);
     * http_static_resolve() checks again, and confines it to the root. */
    if (strcmp(uri, "/health") == 0 || strcmp(uri, "/robots") == 0 ||
        strcmp(uri, "/metrics") == 0)
        return access_status_request(srv, c, uri);
    char path[PATH_MAX];
    /* three.js for the 3D tab, from its npm package: only build/ and
     * examples/jsm/, confined to the package like the web root. */
    const char *root = srv->web_root;
    if (strncmp(uri, "/vendor/three/", 14) == 0) {
        uri += 13;
        if (!srv->three_dir[0] || (strncmp(uri, "/build/", 7) != 0 &&
                                   strncmp(uri, "/examples/jsm/", 14) != 0))
            return http_reply_message(c, HTTP_STATUS_NOT_FOUND, "error", "not found");
        root = srv->three_dir;
    }
    if (http_static_resolve(root, uri, path, sizeof(path)) != 0)
        return http_reply_message(c, HTTP_STATUS_NOT_FOUND, "error", "not found");
    char extra[96] = "";
    const char *hsts = edge_hsts(srv, c->wsi);
    if (hsts)
        snprintf(extra, sizeof extra, "strict-transport-security: %s\r\n", hsts);
    /* > 0: sent whole and completed by lws; 0: lws goes on sending. */
    return lws_serve_http_file(c->wsi, path, http_static_mime(path), hsts ? extra : NULL,
                               (int)strlen(extra)) < 0
               ? -1
               : 0;
}

/* Only /ws and /socket.io/ upgrades, only those the edge lets in, and only below
 * --max-connections. Returns the callback's answer: 0 to proceed, 1 after
 * sending a refusal, -1 to close after the edge's refusal. */
static int confirm_upgrade(struct server *srv, struct lws *wsi)
{
    if (edge_confirm_upgrade(srv, wsi) != 0)
        return -1;
    char uri[64];
    int n = lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    unsigned status = 0;
    if (!access_upgrade_allowed(srv, wsi))
        return 1;
    bool sio = n > 0 && eio_poll_path(uri);
    if (n <= 0 || (strcmp(uri, "/ws") != 0 && !sio))
        status = HTTP_STATUS_NOT_FOUND;
    else if (srv->conns >= (size_t)srv->cfg.max_connections)
        status = HTTP_STATUS_SERVICE_UNAVAILABLE;
    if (!status)
        return sio ? eio_poll_upgrade_check(srv, wsi) : 0;
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
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        return edge_accepted(srv, wsi);

    case LWS_CALLBACK_WSI_DESTROY:
        edge_destroyed(srv, wsi);
        return 0;

    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        return edge_tls_setup(srv, user);

    case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
        edge_transaction_start(srv, wsi);
        return 0;

    case LWS_CALLBACK_TIMER:
        if (c && (c->ws.peer || conn_is_sio_ws(c)) && ws_conn_timer(c))
            return -1; /* the close frame, then the close */
        return edge_timer(srv, wsi, c);

    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(srv, wsi);

    case LWS_CALLBACK_ESTABLISHED:
        return eio_poll_is_upgrade(wsi) ? eio_ws_open(srv, c, wsi) : ws_conn_open(srv, c, wsi);

    case LWS_CALLBACK_RECEIVE:
        return c->ws.peer || conn_is_sio_ws(c) ? ws_conn_receive(srv, c, in, len) : -1;

    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c->ws.peer || conn_is_sio_ws(c) ? ws_conn_writeable(srv, c) : -1;

    case LWS_CALLBACK_RECEIVE_PONG:
        if (c && (c->ws.peer || conn_is_sio_ws(c)))
            ws_conn_pong(c);
        return 0;

    case LWS_CALLBACK_USER: /* on_keepalive_scan(), for every connection */
        if (c && (c->ws.peer || conn_is_sio_ws(c)))
            ws_conn_keepalive(srv, c, clock_mono_ms());
        else if (c && c->http)
            close_if_hung_up(c);
        return 0;

    case LWS_CALLBACK_CLOSED:
        ws_conn_closed(srv, c);
        return 0;

    case LWS_CALLBACK_HTTP:
        c->wsi = wsi;
        if (!c->http && !(c->http = calloc(1, sizeof(*c->http)))) {
            log_error("out of memory: closing an HTTP connection");
            return -1;
        }
        return http_request(srv, c, in ? in : "/");

    case LWS_CALLBACK_HTTP_BODY:
        if (!c || !c->http)
            return 0;
        if (c->http->eio_post)
            return eio_poll_body(srv, c, in, len);
        return api_proxy_body(srv, c, in, len);

    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!c || !c->http)
            return 0;
        edge_body_complete(srv, c);
        if (c->http->eio_post)
            return eio_poll_body_complete(srv, c);
        return api_proxy_body_complete(srv, c);

    case LWS_CALLBACK_HTTP_WRITEABLE:
        return c && c->http ? http_reply_writeable(srv, c) : 0;

    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;

    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        /* A client that hangs up while its robot request waits ends here:
         * the router forgets the request. */
        if (c && c->http) {
            eio_poll_release(srv, c);
            http_reply_release(srv, c);
            api_proxy_release(srv, c);
            access_release(c);
            free(c->http);
            c->http = NULL;
        }
        if (c)
            conn_rx_release(c); /* a request body; a WebSocket's is released at CLOSED */
        return 0;

    default:
        return 0;
    }
}

/* ---- lifecycle ---- */

/* The router's transport: each peer's handle starts with its link, a
 * native WebSocket's (ws_conn.c) or a Socket.IO session's (eio.c). */
static int link_send(void *h, struct outbuf *b)
{
    return (*(const struct conn_link *const *)h)->send(h, b);
}

static void link_close(void *h, int code, const char *reason)
{
    (*(const struct conn_link *const *)h)->close(h, code, reason);
}

static void link_auth_failed(void *h, const char *reason)
{
    (*(const struct conn_link *const *)h)->auth_failed(h, reason);
}

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_requested = 1;
    else
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
static int probe_listen(const char *bind_addr, long port, bool share)
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
    if (fd >= 0 && share)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
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

/* Creates srv's lws context, listening, with the porthole protocol and
 * the keepalive, timeout and TLS settings of srv->cfg. Returns 0, or -1
 * after logging. */
static int context_new(struct server *srv)
{
    const struct cloud_config *cfg = &srv->cfg;
    srv->protocols[0] = (struct lws_protocols){
        .name = "porthole",
        .callback = callback,
        .per_session_data_size = sizeof(struct conn),
        /* --ws-rx-chunk, the receive chunk, not a message limit: lws
         * allocates it (+ LWS_PRE + 4 bytes) per WebSocket at ESTABLISHED
         * and keeps it for the connection's life, and reads at most that
         * much (+ LWS_PRE) from the socket per wakeup. It is the largest
         * share of an idle connection that this server can choose, and
         * the two cannot be had apart in lws 4.1: 1024 (the default)
         * costs about 2.7 KB per idle registered client, 256 about 1.9 KB
         * but a quarter more CPU per relayed message, where messages queue
         * up in the socket (docs/PERFORMANCE.md, "Memory per idle
         * connection"). Messages up to it that arrive in one read (most
         * ICE candidates, control) go to the router without a copy; the
         * rest are reassembled with one copy. */
        .rx_buffer_size = (size_t)cfg->ws_rx_chunk,
        /* A cap on one send(), not a buffer: idle connections cost the same. */
        .tx_packet_size = WRITE_COALESCE_BYTES,
    };
    int np = 1;
    if (srv->cluster)
        srv->protocols[np++] = REDIS_LWS_PROTOCOL;
    if (cfg->listen_share)
        srv->protocols[np++] = LISTEN_SHARE_PROTOCOL;
    /* Ping after N idle seconds; hang up when nothing valid (a pong or a
     * message) arrived for 2N: ws_conn_keepalive() from a scan, not lws's
     * per-connection timers (ws_conn.c says why). An explicit policy
     * without a hangup time turns lws's off (without one lws uses its
     * default, which has them). */
    srv->keepalive = (lws_retry_bo_t){.secs_since_valid_ping = 0,
                                      .secs_since_valid_hangup = 0};
    srv->confirm_every_ms = cfg->ping_interval >= 4 ? 1000 : (uint32_t)cfg->ping_interval * 250;

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = (int)cfg->port;
    info.iface = cfg->bind && *cfg->bind ? cfg->bind : NULL;
    info.protocols = srv->protocols;
    info.user = srv;
    /* No LWS_SERVER_OPTION_VALIDATE_UTF8: ws_conn.c checks every whole
     * text message itself, at a fraction of the cost (closing with 1007). */
    info.options = 0;
    /* --workers: the port is listen_share.c's, shared with SO_REUSEPORT. */
    if (cfg->listen_share)
        info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    /* An IPv4 address on a dual-stack vhost: lws 4.1 leaves the IPv6
     * address unset and listens on every interface. IPv4 alone binds it. */
    struct in_addr v4;
    if (info.iface && inet_pton(AF_INET, info.iface, &v4) == 1)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
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
    event_loop_prepare(srv->loop, &info);
    srv->ctx = lws_create_context(&info);
    if (srv->ctx && cfg->listen_share &&
        listen_share_start(lws_get_vhost_by_name(srv->ctx, "porthole"), cfg->bind,
                           cfg->port) != 0) {
        event_loop_destroy_context(srv->loop, srv->ctx);
        srv->ctx = NULL;
        return -1;
    }
    if (!srv->ctx) {
        log_error("cannot start the server on %s:%ld%s", info.iface ? info.iface : "*",
                  cfg->port, tls ? " (is the TLS certificate or key unreadable or invalid?)" : "");
        return -1;
    }
    /* The URL a person can open: all interfaces include localhost. */
    const char *host = info.iface ? info.iface : "localhost";
    bool v6 = strchr(host, ':') != NULL;
    log_info("porthole-cloud %s listening on %s, port %ld: open %s://%s%s%s:%ld/ "
             "(WebSocket /ws, Socket.IO /socket.io/, web root %s)",
             PORTHOLE_VERSION, info.iface ? info.iface : "all interfaces", cfg->port,
             tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", cfg->port,
             srv->web_root);
    return 0;
}

/* The soft open-file limit set to what cfg may hold (fdlimit.h says why
 * both ways matter with libwebsockets), before lws sizes its tables. */
static void fit_open_files(const struct cloud_config *cfg)
{
    uint64_t need = fdlimit_need(cfg->max_connections, cfg->sio_max_sessions);
    struct fdlimit_change ch;
    if (fdlimit_fit(need, &ch) != 0) {
        log_warn("open files: cannot set the limit to %llu: %s", (unsigned long long)need,
                 strerror(errno));
        return;
    }
    if (ch.capped)
        log_info("open files: at most %llu, the hard limit (--max-connections %ld, "
                 "--sio-max-sessions %ld and %d more would need %llu): connections past it "
                 "are refused", (unsigned long long)ch.after, cfg->max_connections,
                 cfg->sio_max_sessions, FDLIMIT_RESERVE, (unsigned long long)need);
    else if (ch.after != ch.before)
        log_info("open files: limit set from %llu to %llu (--max-connections %ld, "
                 "--sio-max-sessions %ld and %d more)", (unsigned long long)ch.before,
                 (unsigned long long)ch.after, cfg->max_connections, cfg->sio_max_sessions,
                 FDLIMIT_RESERVE);
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
    if (probe_listen(cfg->bind, cfg->port, cfg->listen_share) != 0) {
        free(srv);
        return NULL;
    }
    if (!realpath(cfg->web_root, srv->web_root)) {
        log_error("web root '%s': %s", cfg->web_root, strerror(errno));
        free(srv);
        return NULL;
    }
    if (cfg->three_dir && *cfg->three_dir && !realpath(cfg->three_dir, srv->three_dir)) {
        log_warn("--three-dir '%s': %s: the viewer's 3D tab will say three.js is missing "
                 "(run npm ci)", cfg->three_dir, strerror(errno));
        srv->three_dir[0] = '\0';
    }
    srv->wbuf = malloc(LWS_PRE + WRITE_COALESCE_BYTES);
    if (!srv->wbuf || registry_mem_new(&srv->reg) != 0) {
        log_error("out of memory");
        free(srv->wbuf);
        free(srv);
        return NULL;
    }
    char err[256];
    if (!(srv->ice = cloud_config_ice_servers(cfg, err, sizeof err))) {
        log_error("%s", err);
        server_free(srv);
        return NULL;
    }
    if (!ice_servers_empty(srv->ice))
        log_info("handing out %s servers to robots and viewers",
                 ice_servers_has_turn(srv->ice) ? "STUN and TURN" : "STUN");
    if (!(srv->edge = edge_new(srv)) || !(srv->eio = eio_new(srv))) {
        server_free(srv);
        return NULL;
    }
    if (!(srv->auth = cloud_config_auth(cfg, err, sizeof err))) {
        log_error("authentication: %s", err);
        server_free(srv);
        return NULL;
    }
    srv->tx = (struct transport){.send = link_send, .close = link_close,
                                 .http_answer = api_proxy_answer,
                                 .auth_failed = link_auth_failed};
    struct router_config rcfg = {
        .max_client_sessions = (unsigned)cfg->max_client_sessions,
        .max_robot_sessions = (unsigned)cfg->max_robot_sessions,
        .rate_limit = (unsigned)cfg->rate_limit,
        .request_timeout_s = (unsigned)cfg->request_timeout,
        .max_pending_requests = (unsigned)cfg->max_pending_requests,
        .max_robot_pending = (unsigned)cfg->max_robot_pending,
        .max_sessions_per_identity = (unsigned)cfg->max_sessions_per_identity,
        .token_grace_s = (unsigned)cfg->token_grace,
        .ice = srv->ice,
    };
    if (strcmp(cfg->store, "memory") != 0) {
        const struct cluster_config ccfg = {.url = cfg->store, .instance_id = cfg->instance_id,
                                            .ttl_s = (unsigned)cfg->presence_ttl};
        if (!(srv->cluster = cluster_new(&ccfg))) {
            server_free(srv);
            return NULL;
        }
        rcfg.cluster = cluster_seam(srv->cluster);
    }
    srv->router = router_new(&rcfg, &srv->tx, srv->auth, &srv->reg);
    if (!srv->router) {
        log_error("out of memory");
        server_free(srv);
        return NULL;
    }
    fit_open_files(cfg);
    if (!(srv->loop = event_loop_new(cfg->event_loop)) || context_new(srv) != 0) {
        server_free(srv);
        return NULL;
    }
    lws_sul_schedule(srv->ctx, 0, &srv->keepalive_scan, on_keepalive_scan,
                     (lws_usec_t)srv->confirm_every_ms * LWS_US_PER_MS);
    srv->write_at_end = event_loop_on_iteration_end(srv->loop, ws_conn_flush, srv);
    if (srv->cluster)
        cluster_start(srv->cluster, srv->ctx, lws_get_vhost_by_name(srv->ctx, "porthole"),
                      srv->router);
    access_announce(srv);
    return srv;
}

int server_run(struct server *srv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    /* No SA_RESTART: poll() returns EINTR at once; libuv's epoll restarts,
     * and lws_cancel_service() wakes it. */
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    signal_ctx = srv->ctx;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    while (!stop_requested) {
        if (reload_requested) {
            reload_requested = 0;
            access_reload(srv);
        }
        if (event_loop_run_once(srv->loop, srv->ctx, false) < 0)
            break;
    }

    log_info("shutting down: ending %zu sessions", registry_count(&srv->reg, REG_SESSION));
    router_shutdown(srv->router);
    cluster_leave(srv->cluster);
    /* Let session-closed messages and the 503s of pending robot requests
     * reach the peers (and the store), within a second. */
    int64_t deadline = clock_mono_ms() + 1000;
    while ((srv->queued || srv->http_replies || cluster_busy(srv->cluster)) &&
           clock_mono_ms() < deadline)
        if (event_loop_run_once(srv->loop, srv->ctx, true) < 0)
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
        lws_sul_cancel(&srv->keepalive_scan);
        edge_stop(srv->edge);
        access_stop(srv);
        eio_stop(srv->eio);
        cluster_stop(srv->cluster);
        event_loop_destroy_context(srv->loop, srv->ctx); /* CLOSED callbacks free every peer */
    }
    event_loop_free(srv->loop);
    eio_free(srv->eio); /* polling sessions' peers, before the router goes */
    signal_ctx = NULL;
    router_free(srv->router);
    cluster_free(srv->cluster);
    auth_free(srv->auth);
    registry_free(&srv->reg);
    ice_servers_free(srv->ice);
    edge_free(srv->edge);
    free(srv->flush);
    free(srv->wbuf);
    free(srv);
}
