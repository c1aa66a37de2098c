/* conn.h - private to porthole-cloud's libwebsockets glue (server.c,
 * ws_conn.c, http_reply.c, api_proxy.c, whep_proxy.c, edge.c, eio.c,
 * eio_poll.c): the server context, the per-connection state they share,
 * and the few helpers they call across those files. Nothing
 * else includes it; server.h is the glue's public contract.
 *
 * Everything here runs on the one lws event-loop thread. */
#ifndef PORTHOLE_CLOUD_CONN_H
#define PORTHOLE_CLOUD_CONN_H

#include <libwebsockets.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cloud/config.h"
#include "cloud/outbuf.h"
#include "cloud/registry.h"
#include "cloud/router.h"
#include "cloud/sendq.h"
#include "cloud/status.h"

/* Bytes of the frames of several queued messages written with one send()
 * (ws_conn_writeable, into server.wbuf). Also lws's cap on one send()
 * (tx_packet_size): at 0 it would be the receive chunk (--ws-rx-chunk), and a 3 KB
 * SDP would leave in three sends, each after a writeable callback. */
#define WRITE_COALESCE_BYTES 65536

struct eio;
struct eio_session;

/* What a router peer's transport handle (the `conn` of router_peer_open)
 * points to: a native WebSocket's struct conn, or a Socket.IO peer's
 * struct eio_session (eio.h), which outlives the WebSockets and HTTP
 * requests that carry it. Both start with a pointer to their link, and
 * server.c's struct transport calls through it. */
struct conn_link {
    int (*send)(void *h, struct outbuf *b);                /* transport.send */
    void (*close)(void *h, int code, const char *reason);  /* transport.close */
    void (*auth_failed)(void *h, const char *reason);      /* transport.auth_failed */
};

/* Where an HTTP request of the robot API proxy is. */
enum api_state {
    API_NONE = 0,  /* not a proxied request, or answered */
    API_BODY,      /* reading the request body */
    API_WAITING,   /* handed to the router: the answer comes by api_proxy_answer */
};

/* The WebSocket part of a connection (server.c). */
struct ws_conn {
    struct peer *peer;        /* set from ESTABLISHED to CLOSED; NULL on Socket.IO */
    /* A Socket.IO WebSocket (sio): the Engine.IO session it carries or
     * probes, until either goes (eio.h). */
    struct eio_session *eio;
    struct sendq q;           /* messages not yet written */
    /* Set when the connection must close, once its queue is flushed. */
    uint16_t close_code;
    /* On srv->flush: written before the loop next waits (epoll). */
    bool flush_listed;
    /* The number of this connection's slot among the edge's connections
     * waiting to register (edge_ws_opened); fills padding. */
    uint32_t register_seq;
    const char *close_reason; /* static */
    /* When a frame last confirmed the peer alive to lws (monotonic ms,
     * truncated: only differences are used). */
    uint32_t confirmed_ms;
    /* When it must have registered (monotonic ms, truncated likewise). */
    uint32_t register_by_ms;
};

/* The HTTP part: the response of the current transaction (http_reply.c)
 * and, for the robot API proxy, its request (api_proxy.c). Allocated per
 * transaction (see struct conn), so that WebSockets, the many, do not
 * carry it. The response
 * is decided anywhere (this connection's callback, a robot's message, the
 * timer) and written from the writeable callback in two steps: headers,
 * then body. */
struct http_conn {
    bool replying;            /* a response is set and not yet written */
    bool headers_sent;
    bool close;               /* close the connection after it */
    /* The edge armed the wsi's timer for this request's body: when it
     * fires before the body is whole, the connection is closed (edge.h).
     * Per transaction, like all of this struct: a timer left over from an
     * earlier request finds it false. */
    bool body_deadline;
    unsigned status;
    const char *type;         /* static */
    const char *allow;        /* the Allow header of a 405 (static), or NULL */
    char *headers;            /* more response headers, "name:value\n" each (malloc'd; WHEP) */
    struct outbuf *body;      /* NULL: a response without a body (204, 304) */
    enum api_state api;
    bool eio_post;            /* a /socket.io/ POST: its body is Engine.IO packets */
    const char *api_method;   /* static */
    char *api_robot;          /* robot id from the URL */
    char *api_path;           /* "/api/...[?query]", re-encoded */
    struct http_asker *asker; /* from the first proxied request on */
    bool whep;                /* the proxied request is WHEP's (whep_proxy.h) */
    /* The verified claims of the request's Bearer token (server.c), NULL
     * without one; freed with the transaction. */
    struct token_claims *caller;
    /* A long-polling request of /socket.io/ (eio_poll.c): the session whose
     * GET waits here or whose POST body is read, until either ends. */
    struct eio_session *eio;
};

/* Bytes being reassembled: a fragmented WebSocket message, or the body of
 * a proxied HTTP request. NULL until needed. */
struct rxbuf {
    char *data;
    size_t len, cap;
};

/* Per-connection state, allocated and zeroed by lws as the protocol's
 * per-session data; `ws.peer` is set only on WebSockets. lws frees and
 * zeroes it between the transactions of a keep-alive HTTP connection
 * (HTTP_DROP_PROTOCOL comes first), and ESTABLISHED zeroes it again.
 *
 * `http` is allocated by server.c when an HTTP request is handed to the
 * server (LWS_CALLBACK_HTTP) and freed at HTTP_DROP_PROTOCOL or
 * CLOSED_HTTP, after the release functions: every HTTP callback after
 * LWS_CALLBACK_HTTP may use it; anything that may run on a WebSocket
 * checks it for NULL. An idle WebSocket is what issue #16 counts: its
 * struct conn is 128 bytes of heap, not 224 with the HTTP part inline. */
struct conn {
    /* First: see struct conn_link. A native WebSocket's link (ws_conn.c);
     * &eio_ws_link on a Socket.IO WebSocket (conn_is_sio_ws), which is
     * never a router handle itself (its session is). */
    const struct conn_link *link;
    struct lws *wsi;
    struct rxbuf rx;
    struct ws_conn ws;
    struct http_conn *http;   /* NULL on WebSockets and between transactions */
};

struct server {
    struct cloud_config cfg;
    char web_root[PATH_MAX];   /* canonical */
    char three_dir[PATH_MAX];  /* canonical, or "" when it does not exist */
    struct lws_context *ctx;
    struct event_loop *loop;   /* what runs ctx (--event-loop) */
    /* With epoll: WebSockets given messages since the loop last waited,
     * written before it waits again (ws_conn_flush); entries of connections closed since are
     * NULL. With poll (write_at_end false), POLLOUT instead. */
    bool write_at_end;
    struct conn **flush;
    size_t flush_len, flush_cap;
    /* porthole, then porthole-redis (with Redis) and porthole-listen
     * (with --workers) when used, then the end. */
    struct lws_protocols protocols[4];
    struct cluster *cluster;   /* --store redis://: the other instances; else NULL */
    lws_retry_bo_t keepalive;  /* lws's own keepalive: off (ws_conn_keepalive instead) */
    /* The keepalive scan's period: a second, a quarter of --ping-interval
     * when that is shorter (a silent peer is dropped within 2 x
     * --ping-interval plus this). */
    uint32_t confirm_every_ms;
    lws_sorted_usec_list_t keepalive_scan; /* server.c: ws_conn_keepalive on every WebSocket */
    struct registry reg;
    struct router *router;
    const struct auth *auth;   /* who may connect and register (cloud_config_auth) */
    lws_sorted_usec_list_t open_warning; /* --insecure-open: the hourly warning */
    struct ice_servers *ice;   /* STUN/TURN handed out (--stun-urls, --turn-urls) */
    struct edge *edge;         /* limits, origins, deadlines, TLS policy (edge.h) */
    struct eio *eio;           /* Socket.IO's Engine.IO sessions (eio.h) */
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

/* Marks a Socket.IO WebSocket (eio.c); its operations are never called. */
extern const struct conn_link eio_ws_link;

static inline bool conn_is_sio_ws(const struct conn *c)
{
    return c->link == &eio_ws_link;
}

/* The server a connection belongs to. */
static inline struct server *conn_server(const struct conn *c)
{
    return lws_context_user(lws_get_context(c->wsi));
}

/* Makes sure the timer fires at the router's next deadline. Called after
 * anything that may add a robot request. */
void server_schedule_tick(struct server *srv);

/* The client's address as text into out (len bytes): the socket peer, or
 * behind a trusted proxy the X-Forwarded-For client (edge.h); "?" when
 * unknown. */
void conn_peer_address(struct lws *wsi, char *out, size_t len);

/* Appends len bytes to c->rx; the caller has checked that it stays within
 * max. Returns false when out of memory (c->rx is unchanged). */
bool conn_rx_append(struct conn *c, const void *in, size_t len, size_t max);

/* Frees c->rx; it is empty again. Safe twice. */
void conn_rx_release(struct conn *c);

#endif
