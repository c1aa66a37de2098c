/* edge.c - a connection's way in: its client's address, the per-address
 * limits and bans, the Origin check, HTTP framing, the request and
 * registration deadlines, HSTS and the TLS policy. */
#include "cloud/edge.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/forwarded.h"
#include "cloud/http_reply.h"
#include "cloud/iplimit.h"
#include "cloud/origin.h"
#include "cloud/tls_policy.h"
#include "cloud/ws_conn.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/netlist.h"

struct edge {
    struct server *srv;
    struct iplimit *limits;
    struct netlist exempt, proxies;
    struct origin_list *origins;
    char hsts[32];                /* "max-age=N", or "" for none */
    int64_t register_ms, http_ms; /* --register-timeout, --http-timeout */
    /* WebSockets waiting to register, in the order of their deadlines
     * (the timeout is the same for all): slots numbered head..tail-1
     * (wrapping), slot n at ring[n % cap], cap a power of two so that the
     * order survives the numbers wrapping. A connection holds its slot's
     * number and its deadline (conn.ws, in what was padding), so its close
     * empties its slot at once; the ring costs 8 bytes per connection
     * opened within the last --register-timeout, nothing per idle one. */
    struct conn **ring;           /* NULL in a slot: closed before its deadline */
    uint32_t cap, head, tail;
    lws_sorted_usec_list_t sul;   /* fires at the first of those deadlines */
    bool sul_armed;
    int64_t logged_ms;            /* when a refusal was last logged */
    unsigned unlogged;            /* refusals since, not logged */
};

/* One TCP connection, from accept to destroy (the wsi's opaque data). */
struct edge_conn {
    struct iplimit_entry *counted; /* the address this connection counts against, or NULL */
    struct netlist_addr client;    /* the client: socket peer, or X-Forwarded-For behind a proxy */
    int64_t request_from_ms;       /* when the current request may have begun */
    uint8_t refused;               /* enum iplimit_verdict decided at accept */
    bool proxied;                  /* the socket peer is a trusted proxy */
    bool accounted;                /* proxied: client is counted (or exempt) */
    bool in_request;               /* a request's headers arrived; its transaction goes on */
    bool close_banned;             /* the wsi's timer is to close this banned WebSocket */
};

/* Refusal codes of the JSON bodies, by verdict. */
static const char *const verdict_code[] = {
    [IPLIMIT_TOO_MANY] = "too-many-connections",
    [IPLIMIT_TOO_FAST] = "too-many-new-connections",
    [IPLIMIT_BANNED] = "banned",
};

static struct edge_conn *record(struct lws *wsi)
{
    return lws_get_opaque_user_data(wsi);
}

/* The socket peer of wsi (an IPv4-mapped address as IPv4); zeroed when
 * unknown. */
static struct netlist_addr peer_of(struct lws *wsi)
{
    char text[64];
    struct netlist_addr a;
    if (!lws_get_peer_simple(wsi, text, sizeof text) ||
        netlist_addr_parse(text, strlen(text), &a) != 0)
        memset(&a, 0, sizeof a);
    return a;
}

/* The client of wsi as text into out (NETLIST_ADDR_TEXT bytes): from the
 * record, or the socket peer of an exempt connection (which has none). */
static void client_text(struct lws *wsi, const struct edge_conn *ec, char *out)
{
    struct netlist_addr a = ec ? ec->client : peer_of(wsi);
    netlist_addr_format(&a, out, NETLIST_ADDR_TEXT);
}

/* Logs a refusal, at most one line a second: a flood of refused
 * connections must not become a flood of log lines. */
static void log_refusal(struct edge *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_refusal(struct edge *e, const char *fmt, ...)
{
    int64_t now = clock_mono_ms();
    if (e->logged_ms && now - e->logged_ms < 1000) {
        e->unlogged++;
        return;
    }
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (e->unlogged)
        log_warn("%s (and %u more refusals not logged in the last second)", line, e->unlogged);
    else
        log_warn("%s", line);
    e->logged_ms = now;
    e->unlogged = 0;
}

/* Counts a per-address refusal in the server's stats. */
static void count_verdict(struct server *srv, enum iplimit_verdict v)
{
    if (v == IPLIMIT_TOO_MANY)
        srv->stats.refused_too_many++;
    else if (v == IPLIMIT_TOO_FAST)
        srv->stats.refused_too_fast++;
    else if (v == IPLIMIT_BANNED)
        srv->stats.refused_banned++;
}

/* ---- lifecycle ---- */

static void on_register_deadline(lws_sorted_usec_list_t *sul);

struct edge *edge_new(struct server *srv)
{
    const struct cloud_config *cfg = &srv->cfg;
    struct edge *e = calloc(1, sizeof *e);
    if (!e) {
        log_error("out of memory");
        return NULL;
    }
    e->srv = srv;
    e->register_ms = cfg->register_timeout * 1000;
    e->http_ms = cfg->http_timeout * 1000;
    if (cfg->hsts_max_age > 0)
        snprintf(e->hsts, sizeof e->hsts, "max-age=%ld", cfg->hsts_max_age);
    char err[200];
    if (netlist_parse(cfg->limit_exempt, &e->exempt, err, sizeof err) != 0 ||
        netlist_parse(cfg->trusted_proxies, &e->proxies, err, sizeof err) != 0 ||
        origin_list_parse(cfg->allowed_origins, &e->origins, err, sizeof err) != 0) {
        log_error("%s", err);
        edge_free(e);
        return NULL;
    }
    const struct iplimit_config lc = {
        .max_connections = (unsigned)cfg->max_connections_per_ip,
        .max_new_per_second = (unsigned)cfg->max_new_connections_per_ip,
        .max_auth_failures = (unsigned)cfg->max_auth_failures_per_ip,
        .ban_seconds = (unsigned)cfg->auth_ban_seconds,
        .exempt = &e->exempt,
    };
    if (!(e->limits = iplimit_new(&lc))) {
        log_error("out of memory");
        edge_free(e);
        return NULL;
    }
    return e;
}

void edge_stop(struct edge *e)
{
    if (e && e->sul_armed) {
        lws_sul_cancel(&e->sul);
        e->sul_armed = false;
    }
}

void edge_free(struct edge *e)
{
    if (!e)
        return;
    iplimit_free(e->limits);
    origin_list_free(e->origins);
    free(e->ring);
    free(e);
}

int edge_accepted(struct server *srv, struct lws *wsi)
{
    struct edge *e = srv->edge;
    struct netlist_addr peer = peer_of(wsi);
    bool proxied = netlist_contains(&e->proxies, &peer);
    /* An exempt peer has nothing to count or ban, and its address is the
     * socket's: no record, no memory on the connections that local tools
     * and benchmarks hold by thousands. */
    if (!proxied && iplimit_exempt(e->limits, &peer))
        return 0;
    struct edge_conn *ec = calloc(1, sizeof *ec);
    if (!ec)
        return -1;
    int64_t now = clock_mono_ms();
    ec->request_from_ms = now;
    ec->client = peer;
    ec->proxied = proxied; /* then its clients are counted at their requests */
    if (!proxied) {
        enum iplimit_verdict v = iplimit_connect(e->limits, &peer, now, &ec->counted);
        if (v != IPLIMIT_OK) {
            ec->refused = (uint8_t)v;
            count_verdict(srv, v);
            char addr[NETLIST_ADDR_TEXT];
            netlist_addr_format(&peer, addr, sizeof addr);
            log_refusal(e, "connection from %s refused: %s", addr, iplimit_reason(v));
        }
    }
    lws_set_opaque_user_data(wsi, ec);
    return 0;
}

void edge_destroyed(struct server *srv, struct lws *wsi)
{
    struct edge_conn *ec = record(wsi);
    if (!ec)
        return;
    lws_set_opaque_user_data(wsi, NULL);
    iplimit_disconnect(srv->edge->limits, ec->counted, clock_mono_ms());
    free(ec);
}

void edge_transaction_start(struct server *srv, struct lws *wsi)
{
    (void)srv;
    struct edge_conn *ec = record(wsi);
    /* lws also binds the protocol when it dispatches a request (headers
     * complete, before LWS_CALLBACK_HTTP): only a bind after a request
     * ends the transaction. */
    if (!ec || !ec->in_request)
        return;
    ec->in_request = false;
    ec->request_from_ms = clock_mono_ms();
}

/* ---- requests ---- */

/* A copy of header h, or NULL when absent (or out of memory). */
static char *header_dup(struct lws *wsi, enum lws_token_indexes h)
{
    int len = lws_hdr_total_length(wsi, h);
    char *s = len > 0 ? malloc((size_t)len + 1) : NULL;
    if (s && lws_hdr_copy(wsi, s, len + 1, h) < 0) {
        free(s);
        s = NULL;
    }
    return s;
}

/* Who the client of wsi's current request is (ec: its record, NULL for
 * an exempt peer), and whether it may go on. Behind a trusted proxy the client comes from X-Forwarded-For and is
 * counted here (again when a kept-alive proxy connection carries another
 * client's request). Returns IPLIMIT_OK or the refusal. */
static enum iplimit_verdict admit(struct server *srv, struct lws *wsi, struct edge_conn *ec)
{
    struct edge *e = srv->edge;
    if (!ec)
        return IPLIMIT_OK; /* exempt */
    if (ec->refused)
        return ec->refused;
    int64_t now = clock_mono_ms();
    if (ec->proxied) {
        /* Out of memory reads as no header: the proxy is the client. */
        char *xff = header_dup(wsi, WSI_TOKEN_X_FORWARDED_FOR);
        struct netlist_addr peer = peer_of(wsi), client;
        forwarded_client(&peer, xff, &e->proxies, &client);
        free(xff);
        if (!ec->accounted || memcmp(&client, &ec->client, sizeof client) != 0) {
            iplimit_disconnect(e->limits, ec->counted, now);
            ec->counted = NULL;
            ec->accounted = false;
            ec->client = client;
            enum iplimit_verdict v = iplimit_connect(e->limits, &client, now, &ec->counted);
            if (v != IPLIMIT_OK)
                return v;
            ec->accounted = true;
        }
    }
    return iplimit_banned(e->limits, &ec->client, now) ? IPLIMIT_BANNED : IPLIMIT_OK;
}

/* The request's framing is ambiguous: a second Content-Length (lws keeps
 * the first and joins the values with a comma), Content-Length with
 * Transfer-Encoding, or a Content-Length that is not 1*DIGIT. A proxy in
 * front may frame such a request otherwise than lws (request
 * smuggling). Returns the reason, or NULL when the framing is clear. */
static const char *bad_framing(struct lws *wsi)
{
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    if (total <= 0)
        return NULL;
    if (total != lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, 0))
        return "two Content-Length headers";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
        return "Content-Length together with Transfer-Encoding";
    char cl[24];
    if (total >= (int)sizeof cl ||
        lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return "a Content-Length that is not a number";
    for (const char *p = cl; *p; p++)
        if (*p < '0' || *p > '9')
            return "a Content-Length that is not a number";
    return NULL;
}

/* True when wsi's request has no Origin or an allowed one. */
static bool origin_ok(struct server *srv, struct lws *wsi, const struct edge_conn *ec)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
        return true;
    char *origin = header_dup(wsi, WSI_TOKEN_ORIGIN), *host = header_dup(wsi, WSI_TOKEN_HOST);
    bool ok = origin && origin_allowed(srv->edge->origins, origin, host);
    if (!ok) {
        srv->stats.refused_origin++;
        for (char *p = origin; p && *p; p++) /* it goes into a log line */
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                *p = '?';
        char addr[NETLIST_ADDR_TEXT];
        client_text(wsi, ec, addr);
        log_refusal(srv->edge, "request from %s refused: Origin '%.80s' is not allowed "
                    "(--allowed-origins)", addr, origin ? origin : "?");
    }
    free(origin);
    free(host);
    return ok;
}

/* Why a request may not go on (ec: the connection's record, NULL for an
 * exempt peer): fills status, code and message. Returns false when it
 * may. */
static bool refusal(struct server *srv, struct lws *wsi, struct edge_conn *ec, bool check_origin,
                    unsigned *status, const char **code, const char **message)
{
    const char *framing = bad_framing(wsi);
    if (framing) {
        srv->stats.refused_framing++;
        char addr[NETLIST_ADDR_TEXT];
        client_text(wsi, ec, addr);
        log_refusal(srv->edge, "request from %s refused: %s", addr, framing);
        *status = HTTP_STATUS_BAD_REQUEST;
        *code = "bad-framing";
        *message = "ambiguous request framing: send one Content-Length and no Transfer-Encoding";
        return true;
    }
    enum iplimit_verdict v = admit(srv, wsi, ec);
    if (v != IPLIMIT_OK) {
        if (ec && !ec->refused) { /* decided at accept: counted and logged then */
            count_verdict(srv, v);
            char addr[NETLIST_ADDR_TEXT];
            client_text(wsi, ec, addr);
            log_refusal(srv->edge, "request from %s refused: %s", addr, iplimit_reason(v));
        }
        *status = v == IPLIMIT_BANNED ? HTTP_STATUS_FORBIDDEN : 429;
        *code = verdict_code[v];
        *message = iplimit_reason(v);
        return true;
    }
    if (check_origin && !origin_ok(srv, wsi, ec)) {
        *status = HTTP_STATUS_FORBIDDEN;
        *code = "origin-not-allowed";
        *message = "this page's origin may not use this cloud (see --allowed-origins)";
        return true;
    }
    return false;
}

int edge_confirm_upgrade(struct server *srv, struct lws *wsi)
{
    struct edge_conn *ec = record(wsi);
    unsigned status;
    const char *code, *message;
    if (ec)
        ec->in_request = true;
    if (!refusal(srv, wsi, ec, true, &status, &code, &message))
        return 0;
    srv->stats.connections_refused++;
    http_reply_now(wsi, status, code, message);
    return -1;
}

/* True when the request on wsi comes with a body: a Content-Length above
 * 0, or a POST or PUT without one (lws then reads until the peer closes). */
static bool expects_body(struct lws *wsi)
{
    char cl[24];
    if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
        return strtoll(cl, NULL, 10) > 0;
    return lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 ||
           lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) > 0;
}

bool edge_http_request(struct server *srv, struct conn *c, const char *uri)
{
    struct edge_conn *ec = record(c->wsi);
    if (ec)
        ec->in_request = true;
    unsigned status;
    const char *code, *message;
    bool check_origin = strncmp(uri, "/api/", 5) == 0 || strncmp(uri, "/socket.io", 10) == 0;
    if (refusal(srv, c->wsi, ec, check_origin, &status, &code, &message)) {
        http_reply_refuse(c, status, code, message);
        return false;
    }
    if (expects_body(c->wsi)) {
        /* An exempt peer has no record of when its request began: its
         * body gets --http-timeout from the end of its headers (which lws
         * bounds by --http-timeout too). */
        int64_t now = clock_mono_ms();
        int64_t left = (ec ? ec->request_from_ms : now) + srv->edge->http_ms - now;
        c->http->body_deadline = true;
        lws_set_timer_usecs(c->wsi, (left > 0 ? left : 1) * LWS_US_PER_MS);
    }
    return true;
}

void edge_body_complete(struct server *srv, struct conn *c)
{
    (void)srv;
    /* libwebsockets 4.1 cannot cancel a wsi's timer (a cancel fires it at
     * once): it is left to fire, and finds nothing to do. */
    c->http->body_deadline = false;
}

int edge_timer(struct server *srv, struct lws *wsi, struct conn *c)
{
    struct edge_conn *ec = record(wsi);
    if (ec && ec->close_banned) {
        ec->close_banned = false;
        if (c && (c->ws.peer || conn_is_sio_ws(c)))
            ws_conn_close(c, ROUTER_CLOSE_POLICY, "too many failed authentications");
        return 0;
    }
    if (!c || c->ws.peer || conn_is_sio_ws(c) || !c->http || !c->http->body_deadline)
        return 0;
    c->http->body_deadline = false;
    srv->stats.closed_http_timeout++;
    char addr[NETLIST_ADDR_TEXT];
    client_text(wsi, ec, addr);
    log_refusal(srv->edge, "request from %s closed: its body did not arrive within "
                "--http-timeout (%lds)", addr, srv->cfg.http_timeout);
    return -1;
}

void edge_client_address(struct lws *wsi, char *out, size_t len)
{
    const struct edge_conn *ec = record(wsi);
    struct netlist_addr a = ec ? ec->client : peer_of(wsi);
    netlist_addr_format(&a, out, len);
}

/* ---- registration deadline ---- */

/* True when the truncated monotonic time t is at or before now. */
static bool due(uint32_t t, int64_t now)
{
    return (int32_t)((uint32_t)now - t) >= 0;
}

static void arm(struct edge *e)
{
    while (e->head != e->tail && !e->ring[e->head % e->cap])
        e->head++; /* slots of connections that closed */
    if (e->head == e->tail || e->sul_armed)
        return;
    const struct conn *c = e->ring[e->head % e->cap];
    int64_t delay = (int32_t)(c->ws.register_by_ms - (uint32_t)clock_mono_ms());
    e->sul_armed = true;
    lws_sul_schedule(e->srv->ctx, 0, &e->sul, on_register_deadline,
                     (delay > 0 ? delay : 0) * LWS_US_PER_MS);
}

/* Closes every connection whose deadline passed without registering. */
static void on_register_deadline(lws_sorted_usec_list_t *sul)
{
    struct edge *e = lws_container_of(sul, struct edge, sul);
    struct server *srv = e->srv;
    e->sul_armed = false;
    int64_t now = clock_mono_ms();
    while (e->head != e->tail) {
        struct conn *c = e->ring[e->head % e->cap];
        if (c && !due(c->ws.register_by_ms, now))
            break;
        e->ring[e->head % e->cap] = NULL;
        e->head++;
        if (!c || !c->ws.peer || router_peer_registered(c->ws.peer))
            continue;
        srv->stats.closed_register_timeout++;
        log_refusal(e, "%s: did not register within --register-timeout (%lds); closing with 1008",
                    router_peer_label(c->ws.peer), srv->cfg.register_timeout);
        ws_conn_close(c, ROUTER_CLOSE_POLICY, "registration timeout");
    }
    if (e->head == e->tail && e->cap > 1024) { /* a burst is over: give its room back */
        free(e->ring);
        e->ring = NULL;
        e->cap = 0;
    }
    arm(e);
}

/* Makes room for one more slot. Returns false when out of memory. */
static bool ring_grow(struct edge *e)
{
    if (e->tail - e->head < e->cap)
        return true;
    uint32_t cap = e->cap ? e->cap * 2 : 64;
    struct conn **ring = malloc((size_t)cap * sizeof *ring);
    if (!ring)
        return false;
    for (uint32_t n = e->head; n != e->tail; n++)
        ring[n % cap] = e->ring[n % e->cap];
    free(e->ring);
    e->ring = ring;
    e->cap = cap;
    return true;
}

void edge_ws_opened(struct server *srv, struct conn *c)
{
    struct edge *e = srv->edge;
    if (!ring_grow(e)) {
        log_error("%s: out of memory; its registration is not timed",
                  router_peer_label(c->ws.peer));
        return;
    }
    c->ws.register_seq = e->tail;
    c->ws.register_by_ms = (uint32_t)(clock_mono_ms() + e->register_ms);
    e->ring[e->tail % e->cap] = c;
    e->tail++;
    arm(e);
}

void edge_ws_closed(struct server *srv, struct conn *c)
{
    struct edge *e = srv->edge;
    uint32_t n = c->ws.register_seq;
    /* A connection that never opened has a zero number: the pointer
     * comparison keeps it from emptying another's slot. */
    if (e->cap && n - e->head < e->tail - e->head && e->ring[n % e->cap] == c)
        e->ring[n % e->cap] = NULL;
}

/* ---- the router's hook ---- */

void edge_auth_failed(void *conn, const char *reason)
{
    struct conn *c = conn;
    struct server *srv = conn_server(c);
    struct edge *e = srv->edge;
    struct edge_conn *ec = record(c->wsi);
    if (!ec)
        return;
    int64_t now = clock_mono_ms();
    bool was = iplimit_banned(e->limits, &ec->client, now);
    if (!iplimit_auth_failure(e->limits, &ec->client, now))
        return;
    if (!was) {
        char addr[NETLIST_ADDR_TEXT];
        netlist_addr_format(&ec->client, addr, sizeof addr);
        srv->stats.auth_bans++;
        log_warn("%s banned for %lds: more than %ld failed authentications in a minute "
                 "(the last: %s)", addr, srv->cfg.auth_ban_seconds,
                 srv->cfg.max_auth_failures_per_ip, reason ? reason : "?");
    }
    if (c->ws.peer || conn_is_sio_ws(c)) {
        /* Closed from the timer: the router may queue its refusal after
         * this call, and a closing connection takes no more messages. */
        ec->close_banned = true;
        lws_set_timer_usecs(c->wsi, 1);
    } else if (c->http) {
        c->http->close = true;
    }
}

/* ---- TLS ---- */

const char *edge_hsts(struct server *srv, struct lws *wsi)
{
    return srv->edge && srv->edge->hsts[0] && lws_is_ssl(wsi) ? srv->edge->hsts : NULL;
}

int edge_tls_setup(struct server *srv, void *ssl_ctx)
{
    char err[200];
    if (tls_policy_apply(ssl_ctx, srv->cfg.tls_ciphers, srv->cfg.tls_min_version, err,
                         sizeof err) != 0) {
        log_error("TLS: %s", err);
        return -1;
    }
    return 0;
}
