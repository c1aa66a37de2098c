/* router_internal.h - what the router's three files share: the router's
 * and peers' internals and the few calls between the files. Private to
 * src/cloud/router*.c; everything else sees router.h, whose contract this
 * keeps (one event-loop thread, time comes in as arguments).
 *
 * router.c owns peers, registration, sessions and relaying;
 * router_presence.c the robots list and the availability broadcasts;
 * router_request.c robot requests (the token table, the per-robot,
 * per-asker and deadline lists, and every answer). Functions here carry
 * the prefix router__ so that they never pass for router.h's API. */
#ifndef PORTHOLE_CLOUD_ROUTER_INTERNAL_H
#define PORTHOLE_CLOUD_ROUTER_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cloud/protocol.h"
#include "cloud/ratelimit.h"
#include "cloud/router.h"
#include "common/hmap.h"
#include "common/list.h"

/* Who waits for robot answers: a WebSocket client (peer) or an HTTP client
 * of the proxy (http, the transport's handle); exactly one is set. */
struct asker {
    struct peer *peer;
    void *http;
    struct list requests;        /* pending struct request, newest first */
    unsigned nrequests;
};

struct peer {
    void *conn;
    const struct codec *codec;   /* how this peer's messages are framed */
    enum role role;
    char *id;                    /* robotId or clientId once registered */
    json_t *device_info;         /* robots: as registered */
    int64_t connected_at_ms;     /* wall clock, at registration */
    /* This peer's sessions, newest first, through the session's robot_node
     * for a robot and its client_node for a client (router.c). */
    struct list sessions;
    unsigned nsessions;
    struct asker asker;          /* clients: the robot requests this peer asked */
    struct list requests;        /* robots: the requests this robot is to answer */
    struct ratelimit rate;       /* rate_limit messages per second, bursts of 2x */
    bool closing;                /* asked the transport to close: ignore input */
    char remote_addr[64];
    char label[PROTO_NAME_MAX + 80]; /* for logs: role, id and address */
};

/* Counted error codes: the size of router.c's table, NULL-terminated. */
enum { ROUTER_ERROR_CODES = 16 };

struct router {
    struct router_config cfg;
    const struct transport *tx;
    const struct auth *auth;
    struct registry *reg;
    struct hmap *requests;       /* token -> struct request, every robot connection */
    struct list deadlines;       /* pending requests, earliest deadline first */
    size_t peers;
    struct router_stats stats;
    struct router_error_count errors[ROUTER_ERROR_CODES];
};

/* ---- router.c, for the other two ---- */

/* Queues b for p (the transport takes its own reference) and counts it. */
void router__send_buf(struct router *r, struct peer *p, struct outbuf *b);

/* Encodes type + body (reference stolen; NULL means out of memory, logged)
 * with p's codec and queues it for p. */
void router__send_msg(struct router *r, struct peer *p, const char *type, json_t *body);

/* ---- router_presence.c, for router.c ---- */

/* Tells every registered client that robot (registered) came online
 * (robot-available with its robotId, deviceInfo and connectedAt) or went
 * away (robot-unavailable). Encoded once per codec in use. */
void router__announce_robot(struct router *r, const struct peer *robot, bool available);

/* Sends client (registered) available-robots: its clientId and the robots
 * online now. */
void router__send_robot_list(struct router *r, struct peer *client);

/* ---- router_request.c, for router.c ---- */

/* A valid robot-request from client (protocol_validate passed): forwarded
 * to its robot, or answered at once (503, 429, 500). msg is borrowed. */
void router__on_robot_request(struct router *r, struct peer *client, json_t *msg,
                              int64_t now_ms);

/* A valid robot-response from robot: handed to the asker when its token is
 * pending on this robot's connection, otherwise dropped and counted. */
void router__on_robot_response(struct router *r, struct peer *robot, json_t *msg);

/* Forgets every request a asked, without answering: a is going away. */
void router__forget_asker(struct router *r, struct asker *a);

/* Answers 503 to every request robot was to answer: it went offline. */
void router__fail_robot_requests(struct router *r, struct peer *robot);

/* Answers 503 to every pending request: the router shuts down. */
void router__fail_all_requests(struct router *r);

#endif
