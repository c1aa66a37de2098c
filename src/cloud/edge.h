/* edge.h - what happens to a connection of porthole-cloud before the
 * router sees a message: who the client is (the socket peer, or the
 * X-Forwarded-For client behind a trusted proxy), the per-address limits
 * (iplimit.h) and bans, the Origin check (origin.h), unambiguous HTTP
 * framing, the deadline of a whole HTTP request, the deadline for a
 * WebSocket to register, HSTS, and the TLS policy (tls_policy.h).
 *
 * Private to the libwebsockets glue (server.c, ws_conn.c, http_reply.c,
 * api_proxy.c), like conn.h. Everything runs on the lws event-loop
 * thread.
 *
 * Per TCP connection the edge keeps a small record (struct edge_conn in
 * edge.c) as the wsi's opaque user data, from edge_accepted() to
 * edge_destroyed(): unlike the per-session data it lives across the
 * transactions of a kept-alive connection and through the upgrade. A
 * connection from an exempt address (--limit-exempt, not a trusted
 * proxy) has none: nothing is counted or banned, its address is the
 * socket's, and so local tools and benchmarks holding thousands of
 * connections pay nothing for the edge.
 *
 * Refusals. Decided at accept (the socket peer over its limits, or
 * banned) or at a request; answered at the connection's first request
 * (an upgrade or any HTTP request) with a one-line JSON body
 * {"error":"<sentence>","code":"<code>"} and the connection closed:
 *   429 too-many-connections, too-many-new-connections
 *   403 banned, origin-not-allowed
 *   400 bad-framing (two Content-Length headers, Content-Length with
 *       Transfer-Encoding, a Content-Length that is not a number)
 * Each is counted in struct server_stats and logged (at most one line a
 * second, with the count of those not logged). */
#ifndef PORTHOLE_CLOUD_EDGE_H
#define PORTHOLE_CLOUD_EDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "cloud/conn.h"

struct edge;

/* The server's edge for srv->cfg: the address lists, the origins, the
 * limits. srv is borrowed (for its context, stats and router) and
 * outlives the edge. Returns NULL after logging why (out of memory; the
 * lists were checked by cloud_config_parse). */
struct edge *edge_new(struct server *srv);

/* Stops the edge's timer (the registration deadlines): call before the
 * lws context is destroyed, which owns the timer's list. NULL is allowed. */
void edge_stop(struct edge *e);

/* Frees the edge. Call after the lws context is destroyed (every
 * connection's record is freed by then) and after edge_stop(). NULL is
 * allowed. */
void edge_free(struct edge *e);

/* ---- the life of a TCP connection ---- */

/* LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED: a connection was
 * accepted. Counts it against the socket peer's address (unless the peer
 * is a trusted proxy: its clients are counted at their requests), and
 * remembers a refusal to answer at the first request. Returns 0, or -1
 * (out of memory) to drop it. */
int edge_accepted(struct server *srv, struct lws *wsi);

/* LWS_CALLBACK_WSI_DESTROY: frees the connection's record and uncounts
 * it. Safe on any wsi (the listening socket has no record). */
void edge_destroyed(struct server *srv, struct lws *wsi);

/* LWS_CALLBACK_HTTP_BIND_PROTOCOL: after a request, its transaction
 * ended on a kept-alive connection and the next request may begin: its
 * deadline counts from now (the first request's from the accept). */
void edge_transaction_start(struct server *srv, struct lws *wsi);

/* ---- requests ---- */

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE, before anything else: framing, the
 * client's limits and ban, the Origin. Returns 0 to go on, or -1 after
 * writing the refusal (the connection is then closed). */
int edge_confirm_upgrade(struct server *srv, struct lws *wsi);

/* LWS_CALLBACK_HTTP, before routing: framing, the client's limits and
 * ban, and for the robot API (uri under /api/) the Origin. Returns true
 * to go on; false when the refusal is set as c's response (then closed).
 * A request with a body gets its deadline: the body must arrive within
 * --http-timeout of the request's start (see edge_transaction_start;
 * for an exempt peer, which has no record, of the end of its headers). */
bool edge_http_request(struct server *srv, struct conn *c, const char *uri);

/* LWS_CALLBACK_HTTP_BODY_COMPLETION, or the request is taken as whole
 * (handed to the router): its deadline no longer applies. */
void edge_body_complete(struct server *srv, struct conn *c);

/* LWS_CALLBACK_TIMER (c: the per-session data, may be NULL): a request
 * body's deadline passed (returns -1 to close the connection: the
 * request is dropped unanswered), or a banned WebSocket is to be closed
 * (edge_auth_failed). Returns 0 otherwise. */
int edge_timer(struct server *srv, struct lws *wsi, struct conn *c);

/* The client's address as text into out (len bytes): the X-Forwarded-For
 * client behind a trusted proxy, else the socket peer; "?" when unknown. */
void edge_client_address(struct lws *wsi, char *out, size_t len);

/* ---- WebSockets ---- */

/* After ws_conn_open(): c must register within --register-timeout, or it
 * is closed with 1008 "registration timeout" (router_peer_registered()
 * is asked at the deadline). */
void edge_ws_opened(struct server *srv, struct conn *c);

/* LWS_CALLBACK_CLOSED: forgets c's deadline. Safe on a connection that
 * never opened. */
void edge_ws_closed(struct server *srv, struct conn *c);

/* ---- the router's hook ---- */

/* transport.auth_failed: the peer of connection `conn` (a struct conn *,
 * WebSocket or HTTP) presented credentials that were refused (a
 * registration, a refresh-token, a Bearer token); reason is the refusal
 * code, for the log. Counts a failed authentication against its client's
 * address; when that bans the address (more than
 * --max-auth-failures-per-ip within a minute), the connection is closed:
 * a WebSocket with 1008 "too many failed authentications", once the
 * current callback has returned (so the refusal the router queues after
 * or before this call still goes out first); an HTTP connection after
 * its response. Addresses in --limit-exempt are never banned. */
void edge_auth_failed(void *conn, const char *reason);

/* ---- TLS ---- */

/* The value of the Strict-Transport-Security header for a response on
 * wsi ("max-age=N"), or NULL: not TLS, or --hsts-max-age 0. */
const char *edge_hsts(struct server *srv, struct lws *wsi);

/* LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: applies
 * --tls-min-version and --tls-ciphers to the server's SSL_CTX. Returns 0,
 * or -1 after logging (the server then does not start). */
int edge_tls_setup(struct server *srv, void *ssl_ctx);

#endif
