/* router.h - the signaling logic of porthole-cloud: registration, presence
 * broadcasts, sessions, and relaying between the two peers of a session.
 *
 * The router knows nothing of sockets. The server hands it each peer's
 * complete text messages and its closes; the router answers through a
 * `struct transport` (queue a buffer for a connection, close a connection).
 * Everything runs on the one event-loop thread; no call blocks. */
#ifndef PORTHOLE_CLOUD_ROUTER_H
#define PORTHOLE_CLOUD_ROUTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cloud/auth.h"
#include "cloud/codec.h"
#include "cloud/outbuf.h"
#include "cloud/registry.h"

/* WebSocket close code for policy violations (RFC 6455, 7.4.1). */
#define ROUTER_CLOSE_POLICY 1008

struct router_config {
    unsigned max_client_sessions; /* open sessions per client connection */
    unsigned max_robot_sessions;  /* open sessions per robot connection */
    unsigned rate_limit;          /* messages per second per connection, bursts of 2x; 0: none */
};

struct transport {
    /* Queues buf for the connection; the transport takes its own reference.
     * Returns 0, or -1 when the message was dropped (connection closing). */
    int (*send)(void *conn, struct outbuf *buf);
    /* Starts closing the connection with a WebSocket close code and reason;
     * router_peer_closed() follows once it is gone. */
    void (*close)(void *conn, int code, const char *reason);
};

struct router;
struct peer;

/* Counters for /health and /metrics. */
struct router_stats {
    size_t peers, robots, clients, sessions;
    uint64_t messages_in, messages_out, messages_relayed;
    uint64_t sessions_created, sessions_closed;
};

/* Error codes counted for /metrics, with their counts (NULL-terminated). */
struct router_error_count {
    const char *code;
    uint64_t count;
};

/* Creates a router. cfg, tx and auth are borrowed and must outlive it;
 * reg is borrowed too and must be empty. Returns NULL when out of memory. */
struct router *router_create(const struct router_config *cfg, const struct transport *tx,
                             const struct auth *auth, struct registry *reg);

/* Frees the router. Every peer must have been closed before. */
void router_destroy(struct router *r);

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
 * (clients get robot-unavailable), and p is freed. */
void router_peer_closed(struct router *r, struct peer *p);

/* A short name of the peer for logs: "robot r1 (203.0.113.7)",
 * "client c1 (...)", or the address before it registers. Valid until the
 * peer is closed or registers. */
const char *router_peer_label(const struct peer *p);

/* Ends every session with reason server-shutdown, telling both sides. */
void router_shutdown(struct router *r);

void router_stats(const struct router *r, struct router_stats *out);
const struct router_error_count *router_error_counts(const struct router *r);

/* The robots online now, as /robots shows them:
 * [{"robotId","deviceInfo","connectedAt","sessions"}]. New reference, or
 * NULL when out of memory. */
json_t *router_robots_json(const struct router *r);

#endif
