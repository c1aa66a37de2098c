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
 * timeout, the per-asker limit and the per-robot limit (a robot with
 * max_robot_pending requests waiting gets no more: they are shed with 429,
 * so that a robot is never made to answer more than it can).
 *
 * Identity. The router asks its `struct auth` at every registration and
 * token refresh; a policy with tokens (auth->needs_token) returns the
 * peer's verified claims, which the router keeps on the peer until it
 * closes (or refreshes them). With claims, a viewer sees only the robots
 * its token allows: others are left out of every list and broadcast, and
 * create-session or robot-request for them get exactly the answer for a
 * robot that is offline. robot-request needs the control scope and tells
 * the robot its caller. A token's expiry is a deadline like a request's
 * (router_tick): the peer is told `token-expired` and closed after
 * token_grace_s unless it sent refresh-token. A robot presenting a valid
 * token for an id another connection holds takes the id over: the old
 * connection is closed and its sessions end as if it had disconnected. */
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
#include "cloud/token.h"

/* WebSocket close code for policy violations (RFC 6455, 7.4.1). */
#define ROUTER_CLOSE_POLICY 1008

struct router_config {
    unsigned max_client_sessions; /* open sessions per client connection */
    unsigned max_robot_sessions;  /* open sessions per robot connection */
    unsigned rate_limit;          /* messages per second per connection, bursts of 2x; 0: none */
    unsigned request_timeout_s;   /* a robot request unanswered this long gets 504 (>= 1) */
    unsigned max_pending_requests;/* robot requests pending per asker; more get 429 (>= 1) */
    unsigned max_robot_pending;   /* robot requests pending per robot; more get 429 (0: none) */
    /* Open sessions per identity (the token's sub) over all its
     * connections; 0: no limit. Only with a policy that has identities. */
    unsigned max_sessions_per_identity;
    unsigned token_grace_s;       /* after token-expired, seconds before the close */
    /* STUN/TURN servers handed out (borrowed; outlives the router): in
     * `registered` to robots, in `session-created` to clients and in
     * `create-session` to robots, each with fresh TURN credentials. NULL
     * or empty: no iceServers field is sent. */
    const struct ice_servers *ice;
    /* Other cloud instances (see "Several instances" below; borrowed,
     * outlives the router). NULL: this instance is alone, and nothing of
     * this section is ever called. */
    const struct router_cluster *cluster;
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
struct router_cluster;

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

/* Error codes counted for /metrics, with their counts (NULL-terminated).
 * The same shape lists authentication refusals by reason. */
struct router_error_count {
    const char *code;
    uint64_t count;
};

/* Creates a router. cfg, tx and auth are borrowed and must outlive it
 * (auth's keys may be reloaded meanwhile); reg is borrowed too and must be
 * empty. Returns NULL when out of memory. */
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

/* ---- identity over HTTP ---- */

/* Authenticates an HTTP request that presented token (len bytes; NULL:
 * none) from remote_addr with the router's policy, counting and logging a
 * refusal (never the token). Returns TOKEN_OK with *claims (NULL for a
 * policy without identities; the caller frees them), or the refusal. */
enum token_error router_http_authenticate(struct router *r, const char *token, size_t len,
                                          const char *remote_addr,
                                          struct token_claims **claims);

/* Counts and logs a refusal the server decided by itself (reason: a code
 * such as AUTH_REFUSED_LOOPBACK_ONLY) for remote_addr. */
void router_count_refusal(struct router *r, const char *reason, const char *remote_addr);

/* True when the router's policy needs tokens (auth->needs_token). */
bool router_auth_required(const struct router *r);

/* A short name of the peer for logs: "robot r1 (203.0.113.7)",
 * "client c1 (...)", or the address before it registers. Made when asked
 * for, into static storage that the second call after this one reuses
 * (so one log line may name two peers): the event-loop thread only, and
 * only for the line at hand. */
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
    /* The Bearer token's claims (router_http_authenticate), NULL without
     * one. With a policy that needs tokens, NULL is answered 401, a robot
     * the claims may not see 503 as if offline, a scope below control 403. */
    const struct token_claims *caller;
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
 *    robot id, method or path the protocol refuses, 401 without a caller
 *    when tokens are needed, 503 when the robot is not connected (or not
 *    visible to the caller), 403 below the control scope, 429 past
 *    max_pending_requests or max_robot_pending, 500 out of memory;
 *  - later, from router_peer_message() (the robot's status and body),
 *    router_tick() (504), router_peer_closed() (503: the robot went away)
 *    or router_shutdown() (503).
 * Answers the cloud produces carry {"detail":"<sentence>"}. */
void router_http_request(struct router *r, struct http_asker *a, const struct robot_request *req,
                         int64_t now_ms);

/* router_http_request() for a request that only watches (WHEP,
 * whep_proxy.h): the watch scope suffices where control is needed
 * otherwise. Everything else is the same. */
void router_http_watch(struct router *r, struct http_asker *a, const struct robot_request *req,
                       int64_t now_ms);

/* The HTTP client is gone, or its transaction is over: forgets what it
 * still has pending (a late answer from the robot is then dropped) and
 * frees a. tx->http_answer is never called for a after this. NULL is
 * allowed. */
void router_http_closed(struct router *r, struct http_asker *a);

/* ---- time ---- */

/* Answers 504 to every robot request whose deadline is at or before
 * now_ms; tells every peer whose token expired by now_ms (token-expired)
 * and closes those whose grace ended. Returns the next deadline, or -1
 * when nothing is pending. */
int64_t router_tick(struct router *r, int64_t now_ms);

/* The earliest deadline (monotonic ms) of a pending robot request or a
 * token, or -1 when there is none: when the caller should next call
 * router_tick(). */
int64_t router_next_deadline(const struct router *r);

void router_stats(const struct router *r, struct router_stats *out);
const struct router_error_count *router_error_counts(const struct router *r);

/* Authentication refusals by reason (the token.h codes and
 * AUTH_REFUSED_LOOPBACK_ONLY, "wrong-subject"), NULL-terminated. */
const struct router_error_count *router_refusal_counts(const struct router *r);

/* The robots online now that viewer may see (NULL: all of them, for a
 * cloud without identities), as /robots shows them:
 * [{"robotId","deviceInfo","connectedAt","sessions"}]. New reference, or
 * NULL when out of memory. */
json_t *router_robots_json(const struct router *r, const struct token_claims *viewer);

/* ---- several instances ----
 *
 * With a cluster (cluster.h, on Redis), every peer stays on the instance
 * its connection landed on, and each session and each robot request lives
 * on its robot's instance. A client's message about a robot or a session
 * of another instance is forwarded there (cluster->forward) and handled
 * by that instance's router for a stand-in of the client, a remote peer
 * (router_remote_open) whose sends go back through cluster->tx to the
 * client's instance, which writes them to the client (router_deliver).
 * Ownership is checked where the session lives, exactly as for local
 * peers: a remote peer is one client of one instance. */

/* A robot registered on another instance, as lists show it. */
struct router_remote_robot {
    const char *id;
    const char *device_info;   /* compact JSON text */
    int64_t connected_at_ms;   /* wall clock */
    unsigned sessions;         /* open sessions there, as last heard */
};

typedef bool (*router_remote_visit_fn)(const struct router_remote_robot *robot, void *arg);

/* What the router asks of the other instances. Every call is on the loop
 * thread and never blocks; while the store is unreachable they do what
 * they can locally (forward returns false, so the client gets the answer
 * for an offline robot or an unknown session). */
struct router_cluster {
    void *self;
    /* Presence of this instance's registered peers (robots carry their
     * deviceInfo text and wall-clock registration time; addr is the
     * peer's address, for people). take_over: the id was registered on
     * another instance (robot_elsewhere) and this connection's token was
     * verified for it: the store moves the id here atomically, the other
     * instance closes its connection (router_robot_taken_over) and local
     * clients hear robot-unavailable for the old one first. */
    void (*robot_up)(void *self, const char *id, const char *device_info,
                     int64_t connected_at_ms, const char *addr, bool take_over);
    void (*robot_down)(void *self, const char *id);
    /* The number of open sessions of local robot id changed (the other
     * instances' /robots shows it; batched, not a store write per call). */
    void (*robot_sessions)(void *self, const char *id, unsigned n);
    void (*client_up)(void *self, const char *id, const char *addr);
    void (*client_down)(void *self, const char *id);
    /* True when robot_id is registered on another live instance. */
    bool (*robot_elsewhere)(void *self, const char *robot_id);
    /* Forwards the native-JSON text of a message of local client
     * client_id (with its claims, NULL without identities) to the
     * instance of robot_id, or, when robot_id is NULL, to the instance of
     * the client's session sid. Returns false, having sent nothing, when
     * neither is known there or the store is unreachable. */
    bool (*forward)(void *self, const char *client_id, const struct token_claims *claims,
                    const char *robot_id, const char *sid, const char *text, size_t len);
    /* Visits the robots of the other instances until fn returns false. */
    void (*foreach_robot)(void *self, router_remote_visit_fn fn, void *arg);
    /* Forwards an HTTP client's robot request (router_http_request) to
     * robot_id's instance; its answer comes back to
     * router_http_remote_answer() under token. Returns false, having sent
     * nothing, when the robot is not known there or the store is
     * unreachable. forget_http: the asker went away first. */
    bool (*forward_http)(void *self, const char *token, const char *robot_id,
                         const char *method, const char *path, json_t *body,
                         const struct token_claims *caller);
    void (*forget_http)(void *self, const char *token);
    /* True while the store is unreachable: local-only service. */
    bool (*degraded)(void *self);
    /* The transport of remote peers (its conn is router_remote_open's). */
    const struct transport *tx;
};

/* A stand-in for client client_id of another instance, registered (but not
 * in the registry: broadcasts reach the client through its own instance),
 * with claims (taken; NULL without identities; their expiry is enforced by
 * the client's own instance, not here). conn goes back to
 * cluster->tx; via (copied) names the instance in logs. Messages go in
 * with router_peer_message() and it ends with router_peer_closed(), as a
 * local peer. Returns NULL when out of memory (claims are freed). */
struct peer *router_remote_open(struct router *r, void *conn, const char *client_id,
                                struct token_claims *claims, const char *via, int64_t now_ms);

/* Writes the native-JSON text of a message from another instance to the
 * local registered client client_id (re-encoded for its codec). Returns
 * false when there is no such client (the message is dropped). */
bool router_deliver(struct router *r, const char *client_id, const char *text, size_t len);

/* An HTTP asker for a request forwarded by another instance (via names
 * it); answered through cluster->tx->http_answer(http, ...). Release with
 * router_http_closed() once answered. NULL when out of memory. */
struct http_asker *router_remote_http_open(struct router *r, void *http, const char *via);

/* The answer of the robot's instance to an HTTP request this instance
 * forwarded under token: handed to its asker (tx->http_answer) unless it
 * went away. */
void router_http_remote_answer(struct router *r, const char *token, unsigned status,
                               const char *body, size_t len);

/* Closes local client client_id (1008): the instance that held its
 * stand-in closed it (rate limit, token expiry). */
void router_close_client(struct router *r, const char *client_id);

/* Tells every local client that may see it that a robot of another
 * instance came online or went away. */
void router_remote_robot(struct router *r, const struct router_remote_robot *robot,
                         bool available);

/* Local robot robot_id was taken over by a connection on instance by
 * (whose token was verified there): it is closed as a local takeover
 * closes the older connection ("replaced by a newer connection"). Nothing
 * happens when no such robot is registered here. */
void router_robot_taken_over(struct router *r, const char *robot_id, const char *by);

/* Local robot robot_id, registered here without a token, lost the id to
 * instance by, which registered it at the same moment (the store's claim
 * decides): it gets robot-id-in-use, as a refused registration does, and
 * is closed; local clients that heard robot-available hear
 * robot-unavailable. Nothing happens when no such robot is registered. */
void router_robot_id_held_elsewhere(struct router *r, const char *robot_id, const char *by);

/* True while the cluster's store is unreachable (/health "degraded"). */
bool router_degraded(const struct router *r);

#endif
