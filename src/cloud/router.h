/* router.h - the signaling logic of porthole-cloud: registration, presence
 * broadcasts, sessions, relaying between the two peers of a session, and
 * robot requests (a client's call of a robot's REST API, routed to the
 * robot and its answer back to that client only).
 *
 * The router knows nothing of sockets. The server hands it each peer's
 * complete text messages and its closes; the router answers through a
 * `struct transport` (queue a buffer for a connection, close a connection,
 * answer an HTTP client). Everything runs on the one event-loop thread; no
 * call blocks. Time comes in as arguments (now_ms, monotonic), never read
 * here, so that tests can drive it.
 *
 * Robot requests. Each one waits in a table under a token the cloud
 * chooses (128 random bits, the requestId the robot sees): the token finds
 * the request, and the request names the one robot connection that may
 * answer it and the one asker that gets the answer. An answer whose token
 * is not pending on the connection it came from is dropped and counted.
 * A request ends exactly once: answered by the robot, 504 when the robot
 * does not answer within request_timeout_s (router_tick), 503 when the
 * robot's connection closes, 503 at router_shutdown, or forgotten without
 * an answer when its asker goes away.
 *
 * Askers are of two kinds. A WebSocket client asks with robot-request and
 * is answered with robot-response on its connection (tx->send). An HTTP
 * client of the proxy (GET /api/robots/{id}/...) is an `http_asker`, a
 * handle the server opens for it: it asks with router_http_request() and
 * is answered through tx->http_answer. Both kinds share the table, the
 * timeout and the per-asker limit. */
#ifndef PORTHOLE_CLOUD_ROUTER_H
#define PORTHOLE_CLOUD_ROUTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cloud/auth.h"
#include "cloud/codec.h"
#include "cloud/ice_servers.h"
#include "cloud/outbuf.h"
#include "cloud/registry.h"

/* WebSocket close code for policy violations (RFC 6455, 7.4.1). */
#define ROUTER_CLOSE_POLICY 1008

struct router_config {
    unsigned max_client_sessions; /* open sessions per client connection */
    unsigned max_robot_sessions;  /* open sessions per robot connection */
    unsigned rate_limit;          /* messages per second per connection, bursts of 2x; 0: none */
    unsigned request_timeout_s;   /* a robot request unanswered this long gets 504 (>= 1) */
    unsigned max_pending_requests;/* robot requests pending per asker; more get 429 (>= 1) */
    /* STUN/TURN servers handed out (borrowed; outlives the router): in
     * `registered` to robots, in `session-created` to clients and in
     * `create-session` to robots, each with fresh TURN credentials. NULL
     * or empty: no iceServers field is sent. */
    const struct ice_servers *ice;
};

struct transport {
    /* Queues buf for the connection; the transport takes its own reference.
     * Returns 0, or -1 when the message was dropped (connection closing). */
    int (*send)(void *conn, struct outbuf *buf);
    /* Starts closing the connection with a WebSocket close code and reason;
     * router_peer_closed() follows once it is gone. */
    void (*close)(void *conn, int code, const char *reason);
    /* Answers an HTTP client's robot request (see router_http_request):
     * the HTTP status and the body, JSON text (the transport takes its own
     * reference). May be NULL when router_http_open() is never used. */
    void (*http_answer)(void *http, unsigned status, struct outbuf *body);
    /* Told of every authentication the connection failed (a missing,
     * invalid or unfitting token at registration or refresh), with the
     * refusal code, so that the server can count failures per source
     * address. May be NULL. */
    void (*auth_failed)(void *conn, const char *reason);
};

struct router;
struct peer;
struct http_asker;

/* Counters for /health and /metrics. */
struct router_stats {
    size_t peers, robots, clients, sessions;
    uint64_t messages_in, messages_out, messages_relayed;
    uint64_t sessions_created, sessions_closed;
    /* Robot requests. Every forwarded request ends as exactly one of
     * answered, timed_out, failed or abandoned, or is still pending. */
    size_t robot_requests_pending;
    uint64_t robot_requests_forwarded;  /* sent on to a robot */
    uint64_t robot_requests_answered;   /* the robot's answer reached the asker */
    uint64_t robot_requests_timed_out;  /* 504 */
    uint64_t robot_requests_failed;     /* 503: the robot went offline, or shutdown */
    uint64_t robot_requests_abandoned;  /* the asker went away first */
    uint64_t robot_requests_refused;    /* never forwarded: 503 not connected, 429 */
    uint64_t robot_responses_dropped;   /* unknown, expired or duplicate token */
};

/* Error codes counted for /metrics, with their counts (NULL-terminated). */
struct router_error_count {
    const char *code;
    uint64_t count;
};

/* Creates a router. cfg, tx and auth are borrowed and must outlive it;
 * reg is borrowed too and must be empty. Returns NULL when out of memory. */
struct router *router_new(const struct router_config *cfg, const struct transport *tx,
                             const struct auth *auth, struct registry *reg);

/* Frees the router. Every peer must have been closed before. */
void router_free(struct router *r);

/* A new connection. conn is the transport's handle, passed back to tx;
 * codec (borrowed, static) frames this peer's messages: peers of different
 * codecs can share a session, and relays between them are re-encoded,
 * while relays within one codec forward the bytes unchanged. remote_addr
 * (copied) is for logs. Returns the peer, or NULL when out of memory (the
 * caller then closes the connection). */
struct peer *router_peer_open(struct router *r, void *conn, const struct codec *codec,
                              const char *remote_addr, int64_t now_ms);

/* One complete text message from a peer (not NUL-terminated). Replies,
 * relays and errors go out through tx before it returns. */
void router_peer_message(struct router *r, struct peer *p, const char *data, size_t len,
                         int64_t now_ms);

/* The peer's connection is gone: its sessions end (the other sides get
 * session-closed, reason peer-disconnected), its registration is removed
 * (clients get robot-unavailable), the robot requests it was to answer get
 * 503, those it asked are forgotten, and p is freed. */
void router_peer_closed(struct router *r, struct peer *p);

/* A short name of the peer for logs: "robot r1 (203.0.113.7)",
 * "client c1 (...)", or the address before it registers. Valid until the
 * peer is closed or registers. */
const char *router_peer_label(const struct peer *p);

/* True once the peer has registered (as a robot or a client). */
bool router_peer_registered(const struct peer *p);

/* Ends every session with reason server-shutdown, telling both sides, and
 * answers every pending robot request with 503. */
void router_shutdown(struct router *r);

/* ---- robot requests over HTTP ---- */

/* A robot request as the HTTP proxy hands it over. Strings are borrowed
 * for the call; body is borrowed too (NULL means JSON null). */
struct robot_request {
    const char *robot_id;
    const char *method;     /* GET, POST, PUT or DELETE */
    const char *path;       /* "/api/...[?query]", as protocol_valid_api_path() wants */
    json_t *body;
};

/* A new asker for an HTTP client. http is the transport's handle, passed
 * back to tx->http_answer; remote_addr (copied) names the asker to the
 * robot ("http:<addr>", the request's clientId) and in logs. Returns NULL
 * when out of memory. Release with router_http_closed(). */
struct http_asker *router_http_open(struct router *r, void *http, const char *remote_addr);

/* Asks req->robot_id on behalf of a. The answer comes through
 * tx->http_answer(http, status, body) exactly once, unless a is closed
 * first:
 *  - before this returns, when the request cannot be forwarded: 400 for a
 *    robot id, method or path the protocol refuses, 503 when the robot is
 *    not connected, 429 past max_pending_requests, 500 out of memory;
 *  - later, from router_peer_message() (the robot's status and body),
 *    router_tick() (504), router_peer_closed() (503: the robot went away)
 *    or router_shutdown() (503).
 * Answers the cloud produces carry {"detail":"<sentence>"}. */
void router_http_request(struct router *r, struct http_asker *a, const struct robot_request *req,
                         int64_t now_ms);

/* The HTTP client is gone, or its transaction is over: forgets what it
 * still has pending (a late answer from the robot is then dropped) and
 * frees a. tx->http_answer is never called for a after this. NULL is
 * allowed. */
void router_http_closed(struct router *r, struct http_asker *a);

/* ---- time ---- */

/* Answers 504 to every robot request whose deadline is at or before
 * now_ms. Returns the next deadline, or -1 when nothing is pending. */
int64_t router_tick(struct router *r, int64_t now_ms);

/* The earliest deadline of a pending robot request (monotonic ms), or -1
 * when none is pending: when the caller should next call router_tick(). */
int64_t router_next_deadline(const struct router *r);

void router_stats(const struct router *r, struct router_stats *out);
const struct router_error_count *router_error_counts(const struct router *r);

/* The robots online now, as /robots shows them:
 * [{"robotId","deviceInfo","connectedAt","sessions"}]. New reference, or
 * NULL when out of memory. */
json_t *router_robots_json(const struct router *r);

#endif
